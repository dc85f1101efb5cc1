/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s2mmu stage-2 page-table engine and entry format interface.
 *
 * One arch-neutral engine walks trees of 4 KiB table pages holding 512
 * 64-bit entries.  Everything it knows about the bits of an entry comes
 * from a struct s2mmu_pgtable_ops supplied by a format (arch-x86/tdp.c,
 * arch-arm64/stage2.c); the only encoding the engine assumes is that an
 * all-zero entry is empty, so a freshly zeroed table page is empty.
 *
 * Levels are numbered by the size an entry maps: an entry at level L
 * covers 2^(12 + 9 * L) bytes, so level 0 holds 4 KiB pages, level 1
 * 2 MiB and level 2 1 GiB leaves; the root table holds the entries of
 * level (levels - 1).  Tables are accounted by the level of the entries
 * they hold.
 *
 * See Documentation/pgtable.rst for the design and the locking and RCU
 * rules.
 */
#ifndef _S2MMU_PGTABLE_H
#define _S2MMU_PGTABLE_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#define S2MMU_PT_PAGE_SHIFT	12
#define S2MMU_PT_LEVEL_BITS	9
#define S2MMU_PT_ENTRIES	BIT(S2MMU_PT_LEVEL_BITS)
#define S2MMU_PT_TABLE_SIZE	(S2MMU_PT_ENTRIES * sizeof(u64))
#define S2MMU_PT_MAX_LEVELS	5
/* Highest level a leaf may sit at in either format: 1 GiB. */
#define S2MMU_PT_MAX_LEAF_LEVEL	2

/**
 * s2mmu_pt_level_shift() - log2 of the bytes one entry at @level maps.
 * @level: 0 for 4 KiB entries, up to S2MMU_PT_MAX_LEVELS - 1.
 *
 * Return: 12 + 9 * @level.
 */
static inline unsigned int s2mmu_pt_level_shift(unsigned int level)
{
	return S2MMU_PT_PAGE_SHIFT + S2MMU_PT_LEVEL_BITS * level;
}

/**
 * s2mmu_pt_level_size() - bytes one entry at @level maps.
 * @level: the level.
 *
 * Return: 2^(12 + 9 * @level).
 */
static inline u64 s2mmu_pt_level_size(unsigned int level)
{
	return 1ULL << s2mmu_pt_level_shift(level);
}

/*
 * Format-neutral permissions and attributes of a leaf.  Formats encode
 * each of them in their own bits; decoding an encoded leaf gives back
 * exactly what was encoded.
 */
#define S2MMU_PROT_R		BIT(0)	/* readable */
#define S2MMU_PROT_W		BIT(1)	/* writable (requires R) */
#define S2MMU_PROT_X		BIT(2)	/* executable */
#define S2MMU_PROT_DEVICE	BIT(3)	/* device memory, else normal WB */
#define S2MMU_PROT_ACCESSED	BIT(4)	/* Accessed (x86 A, arm64 AF) */
#define S2MMU_PROT_DIRTY	BIT(5)	/* Dirty (x86 D, arm64 software) */
#define S2MMU_PROT_RWX		(S2MMU_PROT_R | S2MMU_PROT_W | S2MMU_PROT_X)
#define S2MMU_PROT_ALL		(S2MMU_PROT_RWX | S2MMU_PROT_DEVICE | \
				 S2MMU_PROT_ACCESSED | S2MMU_PROT_DIRTY)

/**
 * struct s2mmu_pt_bits - what the lockless lookup reads of an entry, as
 *			  data: masks and values instead of calls.
 * @table_mask: with @table: an entry above level 0 is a table when
 *              (pte & @table_mask) == @table.
 * @table: see @table_mask.
 * @page_mask: with @page: a level 0 entry is a leaf (a page).
 * @page: see @page_mask.
 * @block_mask: with @block: an entry at levels 1 to
 *              %S2MMU_PT_MAX_LEAF_LEVEL is a leaf (a block).
 * @block: see @block_mask.
 * @oa_mask: the output address bits of a page; a leaf at level L uses
 *           those from bit 12 + 9 * L up, a table entry all of them.
 * @r: the bit that gives %S2MMU_PROT_R.
 * @w: the bit that gives %S2MMU_PROT_W.
 * @x_mask: with @x: %S2MMU_PROT_X when (pte & @x_mask) == @x (arm64's
 *          XN clear, x86's X set).
 * @x: see @x_mask.
 * @device_mask: with @device: %S2MMU_PROT_DEVICE when the memory type
 *               field (pte & @device_mask) equals @device.
 * @device: see @device_mask.
 * @accessed: the bit that gives %S2MMU_PROT_ACCESSED.
 * @dirty: the bit that gives %S2MMU_PROT_DIRTY.
 *
 * Describes exactly what the format's @is_table, @is_leaf, @table_pa,
 * @leaf_pa and @leaf_prot compute (tests/kunit/pgtable_fmt_test.c checks
 * it against them).  The vCPU's walk runs for every TLB miss: with the
 * bits as data it makes no indirect call per level (Debian's kernels
 * build indirect calls as retpolines).
 */
struct s2mmu_pt_bits {
	u64 table_mask, table;
	u64 page_mask, page;
	u64 block_mask, block;
	u64 oa_mask;
	u64 r, w;
	u64 x_mask, x;
	u64 device_mask, device;
	u64 accessed, dirty;
};

/**
 * struct s2mmu_pgtable_ops - an entry format: all bit knowledge lives here.
 * @name: format name for messages and test names.
 * @pa_bits: output (host physical) address width the format encodes.
 * @frozen_pte: the placeholder written to an entry while it is being
 *              changed; never present, never zero.  Whoever finds it must
 *              retry later.
 * @levels: number of levels for a guest physical address width, or
 *          -EINVAL when the format cannot translate that width.
 * @is_present: @pte is a table or a leaf (not empty, not frozen).
 * @is_table: @pte at @level points to a table of level - 1 entries.
 * @is_leaf: @pte at @level maps memory.
 * @make_table: entry pointing to the table page at physical @pa.
 * @table_pa: physical address of the table a table entry points to.
 * @make_leaf: leaf at @level mapping physical @pa (aligned to the level)
 *             with S2MMU_PROT_* @prot.
 * @leaf_pa: physical address a leaf at @level maps.
 * @leaf_prot: S2MMU_PROT_* of a leaf at @level.
 * @leaf_update: @pte, a leaf at @level, with the S2MMU_PROT_* bits in
 *               @clear removed and those in @set added; every other field
 *               is kept.  %S2MMU_PROT_DEVICE is not changed this way.
 * @split_leaf: the @index-th (0..511) level - 1 leaf of the huge leaf
 *              @pte at @level: same permissions and attributes, mapping
 *              the @index-th part of the huge leaf's memory.
 * @bits: the decoding of @is_table, @is_leaf, @table_pa, @leaf_pa and
 *        @leaf_prot as data, for the lookup.
 *
 * All callbacks are pure functions of their arguments.
 */
struct s2mmu_pgtable_ops {
	const char *name;
	unsigned int pa_bits;
	u64 frozen_pte;
	int (*levels)(unsigned int gpa_bits);
	bool (*is_present)(u64 pte);
	bool (*is_table)(u64 pte, unsigned int level);
	bool (*is_leaf)(u64 pte, unsigned int level);
	u64 (*make_table)(u64 pa);
	u64 (*table_pa)(u64 pte);
	u64 (*make_leaf)(u64 pa, unsigned int level, u32 prot);
	u64 (*leaf_pa)(u64 pte, unsigned int level);
	u32 (*leaf_prot)(u64 pte, unsigned int level);
	u64 (*leaf_update)(u64 pte, unsigned int level, u32 set, u32 clear);
	u64 (*split_leaf)(u64 pte, unsigned int level, unsigned int index);
	struct s2mmu_pt_bits bits;
};

extern const struct s2mmu_pgtable_ops s2mmu_x86_tdp_ops;
extern const struct s2mmu_pgtable_ops s2mmu_arm64_s2_ops;

int s2mmu_arm64_s2_start_level(unsigned int ipa_bits);

/**
 * struct s2mmu_pgtable - one stage-2 tree.
 * @ops: the entry format.
 * @root: the root table; allocated by s2mmu_pgtable_init() and kept until
 *        s2mmu_pgtable_destroy(), so walkers never find it missing.
 * @root_pa: physical address of @root.
 * @gpa_bits: guest physical address width; the tree maps [0, 2^gpa_bits).
 * @levels: number of levels; root entries are at level @levels - 1.
 * @tables: table pages in the tree per level of the entries they hold
 *          (the root included).  Changed when a table is linked or
 *          unlinked, so exact whenever no operation is in flight.
 * @leaves: leaves in the tree per level: 4 KiB, 2 MiB and 1 GiB.  Kept by
 *          the engine's one writer of entries with every change, so exact
 *          whenever no operation is in flight; read it with
 *          s2mmu_pgtable_nr_leaves().
 * @change: optional hook, NULL by default: called by the one writer after
 *          every change of an entry (see below).  Set it after
 *          s2mmu_pgtable_init() and before the tree is used; never change
 *          it while the tree is in use.
 * @rcu_pending: unlinked table pages waiting for an RCU grace period.
 * @tables_freed: table pages freed after their grace period (statistics
 *                and tests).
 *
 * @change is called with the guest physical address the entry maps (the
 * first of its block), its level, and its value before (old) and after
 * (new) the change; either may be empty, a table, a leaf or the format's
 * frozen value.  A huge leaf split into a table is reported as that change
 * and then as each of the 512 smaller leaves appearing (old 0).  Tables
 * torn down report every entry they held being frozen.  Context: any the
 * engine runs in: mmu_lock held for read or write, or only
 * rcu_read_lock() (lockless Accessed/Dirty updates, aging, destroy); the
 * hook must not sleep nor take mmu_lock.  Under a shared lock calls for
 * different entries, and racing calls for one entry, come in any order.
 */
struct s2mmu_pgtable {
	const struct s2mmu_pgtable_ops *ops;
	u64 *root;
	u64 root_pa;
	unsigned int gpa_bits;
	unsigned int levels;
	atomic_long_t tables[S2MMU_PT_MAX_LEVELS];
	atomic_long_t leaves[S2MMU_PT_MAX_LEAF_LEVEL + 1];
	void (*change)(struct s2mmu_pgtable *pgt, u64 gpa, unsigned int level,
		       u64 old, u64 new);
	atomic_long_t rcu_pending;
	atomic_long_t tables_freed;
};

int s2mmu_pgtable_init(struct s2mmu_pgtable *pgt,
		       const struct s2mmu_pgtable_ops *ops,
		       unsigned int gpa_bits);
void s2mmu_pgtable_destroy(struct s2mmu_pgtable *pgt);
unsigned long s2mmu_pgtable_nr_tables(struct s2mmu_pgtable *pgt);
unsigned long s2mmu_pgtable_nr_leaves(struct s2mmu_pgtable *pgt,
				      unsigned int level);
unsigned long s2mmu_pgtable_bytes(struct s2mmu_pgtable *pgt);

/* Capacity of a table page cache: enough for a few worst-case faults. */
#define S2MMU_TABLE_CACHE_CAPACITY	40

/**
 * struct s2mmu_table_cache - table pages a caller sets aside before locking.
 * @nobjs: pages held in @objs.
 * @objs: zeroed table pages.
 *
 * Filled with s2mmu_table_cache_topup() where sleeping is allowed; the engine
 * only takes pages from it (and gives back those it did not link), so it
 * never allocates under mmu_lock.  Owned by one thread at a time.
 */
struct s2mmu_table_cache {
	int nobjs;
	void *objs[S2MMU_TABLE_CACHE_CAPACITY];
};

extern atomic_long_t s2mmu_table_pages_allocated;

void s2mmu_table_cache_init(struct s2mmu_table_cache *cache);
int s2mmu_table_cache_topup(struct s2mmu_table_cache *cache, int min);
void s2mmu_table_cache_free(struct s2mmu_table_cache *cache);

/**
 * struct s2mmu_pt_op - how the caller runs an operation, and what it needs.
 * @cache: table pages for operations that link tables (map, split).
 * @mmu_lock: the lock the caller holds, for yielding; NULL: none (a
 *            yield then only leaves RCU to reschedule).
 * @shared: @mmu_lock is held for read (or only rcu_read_lock() is held):
 *          other threads may change entries concurrently.  Exclusive
 *          (write) holders still change entries atomically, because
 *          lockless walkers set Accessed/Dirty bits.
 * @may_yield: zap loops may drop @mmu_lock (and RCU) to reschedule; the
 *             caller may sleep.
 * @force_yield: for tests: yield at every opportunity, as if a reschedule
 *               were always due.
 * @flush: in: the caller already has a TLB flush pending; out: set when
 *         the operation changed a translation a TLB may hold, so the
 *         caller must flush before relying on the change.  Never cleared
 *         by the engine, except after calling @flush_tlbs.
 * @flush_tlbs: optional: flush now.  Lets a zap yield with a flush
 *              pending (flushing first); without it, a zap never yields
 *              while @flush is set.
 * @flush_arg: argument of @flush_tlbs.
 * @nr_yields: out: how many times the operation yielded.
 * @nr_zapped: out: entries a zap removed (leaves and whole tables), so a
 *             caller can tell what it removed apart from a flush it
 *             already had pending.
 * @max_step: out: the most entries one step of a zap tore down (a leaf
 *            counts 1, an unlinked table the entries of every table page
 *            it took along); a zap keeps it at most 512.
 * @nr_races: out: lockless changes that lost their cmpxchg and were not
 *            retried (aging: counted as young).
 * @linked: out: per level of the entry holding it, the physical address
 *          of the last table this operation linked there (map, split:
 *          a missing table created, or a huge leaf split), else left as
 *          the caller set it (0).  For a map of one leaf that is every
 *          table the map linked.
 */
struct s2mmu_pt_op {
	struct s2mmu_table_cache *cache;
	rwlock_t *mmu_lock;
	bool shared;
	bool may_yield;
	bool force_yield;
	bool flush;
	void (*flush_tlbs)(void *arg);
	void *flush_arg;
	unsigned long nr_yields;
	unsigned long nr_zapped;
	unsigned long max_step;
	unsigned long nr_races;
	u64 linked[S2MMU_PT_MAX_LEVELS];
};

/* Visits a walker makes, and walker flags. */
#define S2MMU_WALK_LEAF		BIT(0)	/* every entry that is not a table */
#define S2MMU_WALK_TABLE_PRE	BIT(1)	/* a table entry, before its children */
#define S2MMU_WALK_TABLE_POST	BIT(2)	/* a table entry, after its children */

/**
 * struct s2mmu_walk_ctx - what a visitor sees.
 * @pgt: the tree.
 * @ptep: the entry.
 * @old: the value of the entry read just before the visit.
 * @addr: first guest physical address the entry maps.
 * @start: start of the walked range.
 * @end: end (exclusive) of the walked range.
 * @level: level of the entry.
 * @visit: S2MMU_WALK_LEAF, _TABLE_PRE or _TABLE_POST.
 * @arg: the walker's argument.
 */
struct s2mmu_walk_ctx {
	struct s2mmu_pgtable *pgt;
	u64 *ptep;
	u64 old;
	u64 addr;
	u64 start;
	u64 end;
	unsigned int level;
	unsigned int visit;
	void *arg;
};

/**
 * struct s2mmu_walker - a visitor walk.
 * @cb: called for each visit in @flags.  A leaf or table-pre visitor may
 *      change the entry; the walker then re-reads it and descends if it
 *      is (now) a table.  A non-zero return ends the walk with that value.
 * @arg: passed in &struct s2mmu_walk_ctx.
 * @flags: which visits to make.
 */
struct s2mmu_walker {
	int (*cb)(struct s2mmu_walk_ctx *ctx);
	void *arg;
	unsigned int flags;
};

int s2mmu_pgtable_walk(struct s2mmu_pgtable *pgt, u64 addr, u64 size,
		       struct s2mmu_walker *walker);

/**
 * struct s2mmu_pt_iter - pre-order iterator over the entries of a range.
 * @pgt: the tree.
 * @tables: table being walked at each level.
 * @ptep: current entry.
 * @old: its value, as read when the iterator reached it (update it when
 *       changing the entry).
 * @addr: first guest physical address the current entry maps.
 * @pos: where the walk stands: the first address not yet finished.
 * @start: start of the range.
 * @end: end (exclusive) of the range.
 * @level: level of the current entry.
 * @min_level: the iterator does not descend below this level.
 * @yielded_pos: @pos at the last yield, to require forward progress.
 * @yielded: the walk dropped its locks: the next step restarts from the
 *           root at @pos instead of trusting @tables.
 * @valid: false once the range is exhausted.
 *
 * Runs under rcu_read_lock() (and mmu_lock as the operation requires).
 * Unlike the visitor walk it can stop anywhere: after a yield the next
 * step walks down again from the root to @pos.  Use as::
 *
 *	for (s2mmu_pt_iter_start(&it, pgt, start, end, 0); it.valid;
 *	     s2mmu_pt_iter_next(&it)) {
 *		if (s2mmu_pt_iter_cond_resched(&it, op))
 *			continue;
 *		...
 *	}
 */
struct s2mmu_pt_iter {
	struct s2mmu_pgtable *pgt;
	u64 *tables[S2MMU_PT_MAX_LEVELS];
	u64 *ptep;
	u64 old;
	u64 addr;
	u64 pos;
	u64 start;
	u64 end;
	unsigned int level;
	unsigned int min_level;
	u64 yielded_pos;
	bool yielded;
	bool valid;
};

void s2mmu_pt_iter_start(struct s2mmu_pt_iter *it, struct s2mmu_pgtable *pgt,
			 u64 start, u64 end, unsigned int min_level);
void s2mmu_pt_iter_next(struct s2mmu_pt_iter *it);
void s2mmu_pt_iter_restart(struct s2mmu_pt_iter *it);
bool s2mmu_pt_iter_cond_resched(struct s2mmu_pt_iter *it,
				struct s2mmu_pt_op *op);

/* Operations.  Ranges are in bytes of guest physical address space. */
int s2mmu_pgtable_map(struct s2mmu_pgtable *pgt, u64 gpa, u64 pa, u64 size,
		      unsigned int level, u32 prot, struct s2mmu_pt_op *op);
int s2mmu_pgtable_map_run(struct s2mmu_pgtable *pgt, u64 gpa, const u64 *pfns,
			  unsigned int n, u32 prot, struct s2mmu_pt_op *op,
			  unsigned int *kept);
unsigned int s2mmu_pgtable_map_tables_needed(struct s2mmu_pgtable *pgt,
					     u64 gpa, u64 size,
					     unsigned int level);
int s2mmu_pgtable_split(struct s2mmu_pgtable *pgt, u64 start, u64 end,
			unsigned int level, struct s2mmu_pt_op *op);
int s2mmu_pgtable_collapse(struct s2mmu_pgtable *pgt, u64 gpa,
			   unsigned int level, struct s2mmu_pt_op *op);
u64 s2mmu_pgtable_table_pa(struct s2mmu_pgtable *pgt, u64 gpa,
			   unsigned int level);
int s2mmu_pgtable_unlink_table(struct s2mmu_pgtable *pgt, u64 gpa,
			       unsigned int level, u64 table_pa,
			       struct s2mmu_pt_op *op);

/* s2mmu_pgtable_zap() modes */
#define S2MMU_ZAP_LEAVES	0	/* remove leaves, keep (empty) tables */
#define S2MMU_ZAP_TABLES	BIT(0)	/* also unlink tables inside the range */

int s2mmu_pgtable_zap(struct s2mmu_pgtable *pgt, u64 start, u64 end,
		      unsigned int mode, struct s2mmu_pt_op *op);
int s2mmu_pgtable_update_prot(struct s2mmu_pgtable *pgt, u64 start, u64 end,
			      u32 set, u32 clear, struct s2mmu_pt_op *op);
int s2mmu_pgtable_wrprotect(struct s2mmu_pgtable *pgt, u64 start, u64 end,
			    struct s2mmu_pt_op *op);
bool s2mmu_pgtable_age(struct s2mmu_pgtable *pgt, u64 start, u64 end,
		       bool clear, struct s2mmu_pt_op *op);
unsigned long s2mmu_pgtable_collect_dirty(struct s2mmu_pgtable *pgt,
					  u64 start, u64 end,
					  unsigned long *bitmap);

/**
 * struct s2mmu_pt_info - result of s2mmu_pgtable_lookup().
 * @level: level of the leaf (or of the empty entry that ended the walk).
 * @pa: physical address the looked-up guest address translates to.
 * @prot: S2MMU_PROT_* of the leaf, after any Accessed/Dirty update.
 * @pte: the leaf entry.
 * @cached: s2mmu_pgtable_lookup_cached() started from its walk cache.
 */
struct s2mmu_pt_info {
	unsigned int level;
	u64 pa;
	u32 prot;
	u64 pte;
	bool cached;
};

/* s2mmu_pgtable_lookup() flags: act like a hardware walker. */
#define S2MMU_LOOKUP_MKYOUNG	BIT(0)	/* set Accessed */
#define S2MMU_LOOKUP_MKDIRTY	BIT(1)	/* set Accessed and, if writable, Dirty */

int s2mmu_pgtable_lookup(struct s2mmu_pgtable *pgt, u64 gpa,
			 unsigned int flags, struct s2mmu_pt_info *info);

/**
 * struct s2mmu_pt_walk_cache - a walker's paging-structure cache: the
 *				table its last lookup found a leaf in.
 * @table: that table, or NULL (empty).
 * @tag: the guest physical address bits above that table's span: a
 *       lookup whose address has the same is answered from @table.
 * @level: level of the entries in @table.
 *
 * Like a hardware MMU's paging-structure caches (Intel's PDE cache), it
 * lets the next lookup near the last one read one entry instead of
 * walking down from the root.  It holds a pointer to a table page, whose
 * life is RCU's: the owner may use it only inside the rcu_read_lock()
 * section it was filled in, so it empties it (@table = NULL) before its
 * next use in a new section (the vCPU: when a burst starts) and whenever
 * it flushes its TLB.  Within the section a table unlinked meanwhile is
 * still allocated, and reads as what it held or as frozen entries, as a
 * walk that started before the unlink would (Documentation/locking.rst,
 * "The walk cache").
 */
struct s2mmu_pt_walk_cache {
	u64 *table;
	u64 tag;
	unsigned int level;
};

int s2mmu_pgtable_lookup_cached(struct s2mmu_pgtable *pgt, u64 gpa,
				unsigned int flags, struct s2mmu_pt_info *info,
				struct s2mmu_pt_walk_cache *wc);

#endif /* _S2MMU_PGTABLE_H */
