/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the table engine's walker (mmu/walk.c) and its
 * operations (mmu/pgtable.c).  Not for use outside the engine.
 */
#ifndef _S2MMU_PGTABLE_INTERNAL_H
#define _S2MMU_PGTABLE_INTERNAL_H

#include <linux/io.h>

#include "s2mmu_pgtable.h"

/* Index of the entry mapping @addr in a table of @level entries. */
static inline unsigned int pt_index(u64 addr, unsigned int level)
{
	return (addr >> s2mmu_pt_level_shift(level)) & (S2MMU_PT_ENTRIES - 1);
}

/* The table page a table entry points to. */
static inline u64 *pt_table_va(const struct s2mmu_pgtable *pgt, u64 pte)
{
	return phys_to_virt(pgt->ops->table_pa(pte));
}

static inline u64 pt_max_addr(const struct s2mmu_pgtable *pgt)
{
	return 1ULL << pgt->gpa_bits;
}

/* [start, end) is a non-empty range inside the tree's address space. */
static inline bool pt_range_ok(const struct s2mmu_pgtable *pgt, u64 start,
			       u64 end)
{
	return start < end && end <= pt_max_addr(pgt);
}

static inline bool pt_is_frozen(const struct s2mmu_pgtable *pgt, u64 pte)
{
	return pte == pgt->ops->frozen_pte;
}

/*
 * The format's decoding as data (struct s2mmu_pt_bits), for the lookup:
 * the same answers as @is_table, @is_leaf, @table_pa, @leaf_pa and
 * @leaf_prot, with no indirect call.
 */
static __always_inline bool pt_bits_is_table(const struct s2mmu_pt_bits *b,
					     u64 pte, unsigned int level)
{
	return level && (pte & b->table_mask) == b->table;
}

static __always_inline bool pt_bits_is_leaf(const struct s2mmu_pt_bits *b,
					    u64 pte, unsigned int level)
{
	if (!level)
		return (pte & b->page_mask) == b->page;
	return level <= S2MMU_PT_MAX_LEAF_LEVEL &&
	       (pte & b->block_mask) == b->block;
}

static __always_inline u64 pt_bits_table_pa(const struct s2mmu_pt_bits *b,
					    u64 pte)
{
	return pte & b->oa_mask;
}

static __always_inline u64 pt_bits_leaf_pa(const struct s2mmu_pt_bits *b,
					   u64 pte, unsigned int level)
{
	return pte & b->oa_mask & ~(s2mmu_pt_level_size(level) - 1);
}

static __always_inline u32 pt_bits_leaf_prot(const struct s2mmu_pt_bits *b,
					     u64 pte)
{
	u32 prot = 0;

	if (pte & b->r)
		prot |= S2MMU_PROT_R;
	if (pte & b->w)
		prot |= S2MMU_PROT_W;
	if ((pte & b->x_mask) == b->x)
		prot |= S2MMU_PROT_X;
	if ((pte & b->device_mask) == b->device)
		prot |= S2MMU_PROT_DEVICE;
	if (pte & b->accessed)
		prot |= S2MMU_PROT_ACCESSED;
	if (pte & b->dirty)
		prot |= S2MMU_PROT_DIRTY;
	return prot;
}

/* Rights and attributes whose removal from a leaf a TLB must not keep. */
#define PT_PROT_FLUSH_LOST	(S2MMU_PROT_RWX | S2MMU_PROT_DIRTY)

/**
 * pt_change_needs_flush() - must TLBs forget what they cached of an entry?
 * @ops: the entry format.
 * @level: level of the entry.
 * @old: its value before the change.
 * @new: its value after the change.
 *
 * A flush is owed when what a TLB (or a paging-structure cache) may hold
 * of @old is wrong for @new: a present leaf removed or frozen, its output
 * address or memory type changed, one of its rights or its Dirty bit
 * cleared (a cached dirty entry would let writes go unrecorded), or a
 * table unlinked or replaced.  Setting Accessed or Dirty, widening rights,
 * filling an empty or frozen entry, and splitting a leaf into a table
 * repeating its translation owe none.  Clearing Accessed owes none either:
 * a stale TLB entry only makes the page look older than it is.
 *
 * Return: true if the caller must flush before relying on the change.
 */
static inline bool pt_change_needs_flush(const struct s2mmu_pgtable_ops *ops,
					 unsigned int level, u64 old, u64 new)
{
	const struct s2mmu_pt_bits *b = &ops->bits;
	u32 old_prot, new_prot;

	if (pt_bits_is_table(b, old, level))
		return !pt_bits_is_table(b, new, level) ||
		       pt_bits_table_pa(b, new) != pt_bits_table_pa(b, old);
	if (!pt_bits_is_leaf(b, old, level) || pt_bits_is_table(b, new, level))
		return false;
	if (!pt_bits_is_leaf(b, new, level) ||
	    pt_bits_leaf_pa(b, new, level) != pt_bits_leaf_pa(b, old, level))
		return true;
	old_prot = pt_bits_leaf_prot(b, old);
	new_prot = pt_bits_leaf_prot(b, new);
	return (old_prot & ~new_prot & PT_PROT_FLUSH_LOST) ||
	       ((old_prot ^ new_prot) & S2MMU_PROT_DEVICE);
}

#ifdef S2MMU_KUNIT
/*
 * KUnit under UML runs on one CPU and never preempts the kernel inside an
 * operation, so racing threads would not meet there.  A test sets this
 * hook to play the other thread: it is called between reading an entry
 * and changing it, where installers race on real hardware.
 */
extern void (*s2mmu_pt_test_race_hook)(struct s2mmu_pgtable *pgt);
/* See mmu/pgtable.c: a thread holds, or waits for, a frozen entry. */
extern void (*s2mmu_pt_test_frozen_hook)(struct s2mmu_pgtable *pgt, bool held);

static inline void pt_race_window(struct s2mmu_pgtable *pgt)
{
	void (*hook)(struct s2mmu_pgtable *pgt) =
		READ_ONCE(s2mmu_pt_test_race_hook);

	if (hook)
		hook(pgt);
}
#else
static inline void pt_race_window(struct s2mmu_pgtable *pgt)
{
}
#endif

#endif /* _S2MMU_PGTABLE_INTERNAL_H */
