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

/* Atomically replace @old by @new; false if the entry no longer is @old. */
static inline bool pt_try_set(u64 *ptep, u64 old, u64 new)
{
	return cmpxchg64(ptep, old, new) == old;
}

#ifdef S2MMU_KUNIT
/*
 * KUnit under UML runs on one CPU and never preempts the kernel inside an
 * operation, so racing threads would not meet there.  A test sets this
 * hook to play the other thread: it is called between reading an entry
 * and changing it, where installers race on real hardware.
 */
extern void (*s2mmu_pt_test_race_hook)(struct s2mmu_pgtable *pgt);

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
