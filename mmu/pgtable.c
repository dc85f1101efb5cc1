// SPDX-License-Identifier: GPL-2.0
/*
 * The stage-2 table engine: format-neutral operations on a tree of table
 * pages, built on the walker and iterator in walk.c.
 *
 * Every change of an entry goes through one writer, pt_set_entry(), and is
 * atomic (cmpxchg, or xchg for an exclusive owner), even for a caller
 * holding mmu_lock for write, because lockless walkers set Accessed and
 * Dirty bits with cmpxchg under RCU only.  The writer also decides whether
 * the change owes a TLB flush, keeps the leaf and table counts and calls
 * the tree's change hook, so no operation has rules of its own for them.
 * Callers holding mmu_lock for read race with each other: the loser of a
 * cmpxchg re-reads the entry and either carries on (someone linked the
 * table it wanted) or returns -EAGAIN for the caller to retry.  An entry being rebuilt holds the
 * format's frozen value; whoever meets it returns -EAGAIN (lookups and
 * aging treat it as not present).
 *
 * Table pages come from a caller-filled struct s2mmu_table_cache; the
 * engine never allocates while the caller holds a spinning lock.  Unlinked
 * table pages are frozen entry by entry, so a racing installer that still
 * sees the old table fails its cmpxchg, and are freed after an RCU grace
 * period.
 */
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/string.h>

#include "pgtable_internal.h"
#include "s2mmu_trace.h"

#ifdef S2MMU_KUNIT
void (*s2mmu_pt_test_race_hook)(struct s2mmu_pgtable *pgt);
/*
 * KUnit: called while this thread holds an entry frozen (@held), and on
 * every turn of a wait for an entry another thread holds frozen.
 */
void (*s2mmu_pt_test_frozen_hook)(struct s2mmu_pgtable *pgt, bool held);

static void pt_frozen_window(struct s2mmu_pgtable *pgt, bool held)
{
	void (*hook)(struct s2mmu_pgtable *pgt, bool held) =
		READ_ONCE(s2mmu_pt_test_frozen_hook);

	if (hook)
		hook(pgt, held);
}
#else
static inline void pt_frozen_window(struct s2mmu_pgtable *pgt, bool held)
{
}
#endif

/**
 * s2mmu_table_cache_init() - make an empty table page cache.
 * @cache: the cache.
 */
void s2mmu_table_cache_init(struct s2mmu_table_cache *cache)
{
	cache->nobjs = 0;
}

/*
 * Table pages allocated by every tree and cache of the module: cached,
 * linked and waiting for RCU alike.  Zero again once every VM is gone.
 */
atomic_long_t s2mmu_table_pages_allocated = ATOMIC_LONG_INIT(0);

static void *pt_alloc_page(void)
{
	void *page = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

	if (page)
		atomic_long_inc(&s2mmu_table_pages_allocated);
	return page;
}

static void pt_free_page(struct page *page)
{
	__free_page(page);
	atomic_long_dec(&s2mmu_table_pages_allocated);
}

/**
 * s2mmu_table_cache_topup() - fill a table page cache before taking locks.
 * @cache: the cache.
 * @min: pages the coming operation needs at least; at most
 *       %S2MMU_TABLE_CACHE_CAPACITY.
 *
 * Allocates zeroed pages with GFP_KERNEL_ACCOUNT (may sleep) until the
 * cache is full; stops early, without error, once an allocation fails
 * with @min pages held.
 *
 * Return: 0, -EINVAL if @min exceeds the capacity, or -ENOMEM.
 */
int s2mmu_table_cache_topup(struct s2mmu_table_cache *cache, int min)
{
	if (min > S2MMU_TABLE_CACHE_CAPACITY)
		return -EINVAL;
	if (cache->nobjs >= min)
		return 0;
	while (cache->nobjs < S2MMU_TABLE_CACHE_CAPACITY) {
		void *page = pt_alloc_page();

		if (!page)
			return cache->nobjs >= min ? 0 : -ENOMEM;
		cache->objs[cache->nobjs++] = page;
	}
	return 0;
}

/**
 * s2mmu_table_cache_free() - free the pages left in a table page cache.
 * @cache: the cache; empty afterwards.
 */
void s2mmu_table_cache_free(struct s2mmu_table_cache *cache)
{
	while (cache->nobjs)
		pt_free_page(virt_to_page(cache->objs[--cache->nobjs]));
}

static u64 *pt_cache_pop(struct s2mmu_pt_op *op)
{
	if (!op || !op->cache || !op->cache->nobjs)
		return NULL;
	return op->cache->objs[--op->cache->nobjs];
}

/* Give back a page popped but not linked; it must be zeroed again. */
static void pt_cache_push(struct s2mmu_pt_op *op, u64 *table)
{
	memset(table, 0, S2MMU_PT_TABLE_SIZE);
	op->cache->objs[op->cache->nobjs++] = table;
}

static void pt_free_rcu_cb(struct rcu_head *head)
{
	struct page *page = container_of(head, struct page, rcu_head);
	struct s2mmu_pgtable *pgt = (struct s2mmu_pgtable *)page_private(page);

	set_page_private(page, 0);
	pt_free_page(page);
	atomic_long_inc(&pgt->tables_freed);
	atomic_long_dec(&pgt->rcu_pending);
}

/* Free an unlinked table page once every current RCU reader is done. */
static void pt_free_table_rcu(struct s2mmu_pgtable *pgt, u64 *table)
{
	struct page *page = virt_to_page(table);

	set_page_private(page, (unsigned long)pgt);
	atomic_long_inc(&pgt->rcu_pending);
	call_rcu(&page->rcu_head, pt_free_rcu_cb);
}

/* Add @n to the count of leaves at @level. */
static void pt_count_leaves(struct s2mmu_pgtable *pgt, unsigned int level,
			    long n)
{
	if (!WARN_ON_ONCE(level > S2MMU_PT_MAX_LEAF_LEVEL))
		atomic_long_add(n, &pgt->leaves[level]);
}

/*
 * Tell the change hook about a change; for a split, also about the smaller
 * leaves that appeared with the table (the ones its linker wrote: the
 * split of @old, as split_leaf() is a pure function).
 */
static void pt_call_change(struct s2mmu_pgtable *pgt, u64 gpa,
			   unsigned int level, u64 old, u64 new, bool split)
{
	u64 size;
	unsigned int i;

	pgt->change(pgt, gpa, level, old, new);
	if (!split)
		return;
	size = s2mmu_pt_level_size(level - 1);
	for (i = 0; i < S2MMU_PT_ENTRIES; i++)
		pgt->change(pgt, gpa + i * size, level - 1, 0,
			    pgt->ops->split_leaf(old, level, i));
}

/*
 * Account the change of the entry of @level mapping @gpa from @old to @new
 * (they differ), after it was written.
 */
static void pt_entry_changed(struct s2mmu_pgtable *pgt, u64 gpa,
			     unsigned int level, u64 old, u64 new,
			     struct s2mmu_pt_op *op)
{
	const struct s2mmu_pgtable_ops *ops = pgt->ops;
	const struct s2mmu_pt_bits *b = &ops->bits;
	bool was_leaf = pt_bits_is_leaf(b, old, level);
	bool is_leaf = pt_bits_is_leaf(b, new, level);
	bool split = false;

	if (was_leaf != is_leaf)
		pt_count_leaves(pgt, level, is_leaf ? 1 : -1);
	if (!was_leaf || !is_leaf) {
		bool was_table = pt_bits_is_table(b, old, level);
		bool is_table = pt_bits_is_table(b, new, level);

		if (was_table != is_table)
			atomic_long_add(is_table ? 1 : -1,
					&pgt->tables[level - 1]);
		/*
		 * A table linked over a huge leaf is its split: 512 smaller
		 * leaves, written before the table was linked (pt_link_table()).
		 */
		split = was_leaf && is_table;
		if (split)
			pt_count_leaves(pgt, level - 1, S2MMU_PT_ENTRIES);
	}
	if (op && !op->flush && pt_change_needs_flush(ops, level, old, new))
		op->flush = true;
	if (pgt->change)
		pt_call_change(pgt, gpa, level, old, new, split);
}

/* pt_set_entry() modes */
#define PT_SET_RACE	0	/* cmpxchg: others may change the entry */
#define PT_SET_OWNER	BIT(0)	/* xchg: only Accessed/Dirty may change */
/*
 * With either: the change only sets or clears Accessed/Dirty of a leaf,
 * so counts are unchanged and no flush is owed; only a change hook needs
 * to hear of it.  The vCPU walker's hot path.
 */
#define PT_SET_AD	BIT(1)

/**
 * pt_set_entry() - change a stage-2 entry: the only writer of entries.
 * @pgt: the tree.
 * @ptep: the entry.
 * @old: in: the value the caller read; out: the value replaced, or on
 *       failure the value found instead (so a retry needs no re-read).
 * @new: the new value.
 * @gpa: first guest physical address the entry maps.
 * @level: level of the entry.
 * @mode: %PT_SET_RACE: write only if the entry still holds *@old
 *        (cmpxchg), for every caller that may race with another writer.
 *        %PT_SET_OWNER: write unconditionally (xchg), for the one owner
 *        of an entry nobody else may change but for Accessed/Dirty
 *        (mmu_lock held for write, a frozen entry, a detached table); the
 *        value replaced is accounted, whatever it was.  Either may add
 *        %PT_SET_AD when only Accessed/Dirty of a leaf change.
 * @op: the operation, or NULL: @op->flush is set when the change owes a
 *      TLB flush (see pt_change_needs_flush()).
 *
 * Every write of an entry of a tree, by any operation, goes through here;
 * nothing else in the engine stores to an entry of a linked or detached
 * table (only pt_link_table() fills a table page before linking it).  On
 * success the change is accounted: @pgt->leaves and @pgt->tables follow
 * it, a flush owed is reported, and @pgt->change is called if set; every
 * change but an Accessed/Dirty-only one (%PT_SET_AD) is traced
 * (s2mmu_spte_changed).
 *
 * Context: any engine context: mmu_lock held for read or write, or only
 * rcu_read_lock() (lockless Accessed/Dirty updates); never sleeps.
 *
 * Return: true if the entry was written.
 */
static bool pt_set_entry(struct s2mmu_pgtable *pgt, u64 *ptep, u64 *old,
			 u64 new, u64 gpa, unsigned int level,
			 unsigned int mode, struct s2mmu_pt_op *op)
{
	u64 prev;

	if (mode & PT_SET_OWNER) {
		prev = xchg(ptep, new);
	} else {
		pt_race_window(pgt);
		prev = cmpxchg64(ptep, *old, new);
		if (prev != *old) {
			*old = prev;
			return false;
		}
	}
	*old = prev;
	if (prev == new)
		return true;
	if (!(mode & PT_SET_AD)) {
		trace_s2mmu_spte_changed(gpa, level, prev, new);
		pt_entry_changed(pgt, gpa, level, prev, new, op);
	} else if (pgt->change) {
		pt_entry_changed(pgt, gpa, level, prev, new, op);
	}
	return true;
}

/*
 * Tear down a table (holding @level entries) already unlinked from the
 * tree: freeze every entry, so an installer still looking at the table
 * fails its cmpxchg, tear down the tables below, and free the page after
 * a grace period.  Returns the entries frozen, those of the tables below
 * included.  Zaps unlink only tables with no table below (see
 * pt_zap_entry()), so for them that is one table page: 512 entries.
 */
static unsigned long pt_free_unlinked(struct s2mmu_pgtable *pgt, u64 *table,
				      unsigned int level, u64 gpa,
				      struct s2mmu_pt_op *op)
{
	const struct s2mmu_pgtable_ops *ops = pgt->ops;
	u64 size = s2mmu_pt_level_size(level);
	unsigned long n = S2MMU_PT_ENTRIES;
	unsigned int i;

	for (i = 0; i < S2MMU_PT_ENTRIES; i++) {
		u64 addr = gpa + i * size, old;

		/*
		 * Racing writers may still cmpxchg here: take what is left.
		 * An entry another thread holds frozen (a collapse or split
		 * under the read lock that found this table before it was
		 * detached) gets that thread's final value, which could be an
		 * empty entry an installer fills in a table about to be freed:
		 * wait for it, and take that too.  Frozen entries are held
		 * without sleeping and waits only go down the tree, so the
		 * wait ends.
		 */
		for (;;) {
			pt_set_entry(pgt, &table[i], &old, ops->frozen_pte,
				     addr, level, PT_SET_OWNER, op);
			if (!pt_is_frozen(pgt, old))
				break;
			pt_frozen_window(pgt, false);
			cpu_relax();
		}
		if (ops->is_table(old, level))
			n += pt_free_unlinked(pgt, pt_table_va(pgt, old),
					      level - 1, addr, op);
	}
	pt_free_table_rcu(pgt, table);
	return n;
}

/* Record one step of an operation that removed @n entries. */
static void pt_op_step(struct s2mmu_pt_op *op, unsigned long n)
{
	op->nr_zapped++;
	op->max_step = max(op->max_step, n);
}

/*
 * Replace the table entry *@ptep (which was @old, at @level, mapping from
 * @gpa) by @new and tear down the table it pointed to.  The entry is
 * frozen meanwhile.  This is the only place tables are detached; their
 * leaves leave the counts as pt_free_unlinked() freezes them.  Returns
 * the entries torn down, or -EAGAIN.
 */
static long pt_replace_table(struct s2mmu_pgtable *pgt, u64 *ptep, u64 old,
			     u64 gpa, unsigned int level, u64 new,
			     struct s2mmu_pt_op *op)
{
	u64 table_pte = old;
	unsigned long n;

	if (!pt_set_entry(pgt, ptep, &old, pgt->ops->frozen_pte, gpa, level,
			  PT_SET_RACE, op))
		return -EAGAIN;
	pt_frozen_window(pgt, true);
	n = pt_free_unlinked(pgt, pt_table_va(pgt, table_pte), level - 1, gpa,
			     op);
	/*
	 * Nobody else changes a frozen entry; a thread tearing down the
	 * table holding it waits for this value (pt_free_unlinked()).
	 */
	pt_set_entry(pgt, ptep, &old, new, gpa, level, PT_SET_OWNER, op);
	return n;
}

/*
 * Does the table a table entry at @level points to hold a table itself?
 * Then unlinking it would tear down more than one table page at once.
 */
static bool pt_table_has_tables(struct s2mmu_pgtable *pgt, u64 pte,
				unsigned int level)
{
	const u64 *table = pt_table_va(pgt, pte);
	unsigned int i;

	if (level == 1)
		return false;	/* it holds 4 KiB entries: never tables */
	for (i = 0; i < S2MMU_PT_ENTRIES; i++)
		if (pgt->ops->is_table(READ_ONCE(table[i]), level - 1))
			return true;
	return false;
}

/*
 * Link a table below the entry of @ctx (at level > 0), which is empty or
 * a huge leaf: an empty table, or one of leaves repeating the huge leaf's
 * translation.  Returns 0 when the entry is a table afterwards (linked by
 * us or by a racing installer).
 */
static int pt_link_table(struct s2mmu_walk_ctx *ctx, struct s2mmu_pt_op *op)
{
	struct s2mmu_pgtable *pgt = ctx->pgt;
	const struct s2mmu_pgtable_ops *ops = pgt->ops;
	unsigned int level = ctx->level;
	u64 old = ctx->old;
	u64 *table;
	unsigned int i;

	for (;;) {
		bool leaf;

		if (pt_is_frozen(pgt, old))
			return -EAGAIN;
		if (ops->is_table(old, level))
			return 0;
		leaf = ops->is_leaf(old, level);
		if (ops->is_present(old) && !leaf)
			return -EINVAL;

		table = pt_cache_pop(op);
		if (!table)
			return -ENOMEM;
		if (leaf) {
			for (i = 0; i < S2MMU_PT_ENTRIES; i++)
				table[i] = ops->split_leaf(old, level, i);
		}
		if (pt_set_entry(pgt, ctx->ptep, &old,
				 ops->make_table(virt_to_phys(table)),
				 ctx->addr, level, PT_SET_RACE, op)) {
			op->linked[level] = virt_to_phys(table);
			return 0;
		}

		/* Lost a race: look again at what is there now (in @old). */
		pt_cache_push(op, table);
		if (op->shared && !ops->is_table(old, level))
			return -EAGAIN;
	}
}

struct pt_map_args {
	u64 gpa;
	u64 pa;
	unsigned int level;
	u32 prot;
	struct s2mmu_pt_op *op;
};

static int pt_map_leaf(struct s2mmu_walk_ctx *ctx, struct pt_map_args *m)
{
	struct s2mmu_pgtable *pgt = ctx->pgt;
	const struct s2mmu_pt_bits *b = &pgt->ops->bits;
	unsigned int level = ctx->level;
	u64 pa = m->pa + (ctx->addr - m->gpa);
	u64 new = pgt->ops->make_leaf(pa, level, m->prot);
	u64 old = ctx->old;
	u32 keep = S2MMU_PROT_RWX | S2MMU_PROT_DEVICE;

	for (;;) {
		if (pt_is_frozen(pgt, old))
			return -EAGAIN;
		if (pt_bits_is_table(b, old, level))
			return -EEXIST;
		/* Same translation and rights: keep its Accessed/Dirty. */
		if (pt_bits_is_leaf(b, old, level) &&
		    pt_bits_leaf_pa(b, old, level) == pa &&
		    (pt_bits_leaf_prot(b, old) & keep) == (m->prot & keep))
			return 0;
		if (pt_set_entry(pgt, ctx->ptep, &old, new, ctx->addr, level,
				 PT_SET_RACE, m->op))
			return 0;
		if (m->op->shared)
			return -EAGAIN;
	}
}

static int pt_map_cb(struct s2mmu_walk_ctx *ctx)
{
	struct pt_map_args *m = ctx->arg;

	/*
	 * Below the leaves' level: a racing thread split a leaf this map
	 * had just installed (the walker reads the entry again and walks
	 * into the table).  The split kept its translation: done here.
	 */
	if (ctx->level < m->level)
		return 0;
	if (ctx->level == m->level) {
		if (ctx->visit == S2MMU_WALK_TABLE_PRE)
			return -EEXIST;
		return pt_map_leaf(ctx, m);
	}
	if (ctx->visit != S2MMU_WALK_LEAF)
		return 0;
	return pt_link_table(ctx, m->op);
}

/*
 * A map of one leaf, the fault's: one descent from the root, linking the
 * tables missing on the way (as pt_map_cb() does from the visitor walk),
 * then the leaf.  Context: rcu_read_lock() held.
 */
static int pt_map_one(struct s2mmu_pgtable *pgt, struct pt_map_args *m)
{
	const struct s2mmu_pt_bits *b = &pgt->ops->bits;
	struct s2mmu_walk_ctx ctx = { .pgt = pgt, .arg = m };
	unsigned int level = pgt->levels - 1;
	u64 *table = pgt->root;
	int ret;

	for (;;) {
		ctx.ptep = &table[pt_index(m->gpa, level)];
		ctx.old = READ_ONCE(*ctx.ptep);
		ctx.level = level;
		ctx.addr = round_down(m->gpa, s2mmu_pt_level_size(level));
		if (level == m->level)
			return pt_bits_is_table(b, ctx.old, level) ? -EEXIST :
			       pt_map_leaf(&ctx, m);
		if (!pt_bits_is_table(b, ctx.old, level)) {
			ret = pt_link_table(&ctx, m->op);
			if (ret)
				return ret;
			ctx.old = READ_ONCE(*ctx.ptep);
			/* Unlinked again meanwhile (shared lock): retry. */
			if (!pt_bits_is_table(b, ctx.old, level))
				return -EAGAIN;
		}
		table = pt_table_va(pgt, ctx.old);
		level--;
	}
}

/*
 * The table of 4 KiB entries holding @gpa's, or NULL where the tables
 * above do not reach it (a missing table, a huge leaf).  Context:
 * rcu_read_lock() held.
 */
static u64 *pt_leaf_table(struct s2mmu_pgtable *pgt, u64 gpa)
{
	const struct s2mmu_pt_bits *b = &pgt->ops->bits;
	u64 *table = pgt->root;
	unsigned int level;

	for (level = pgt->levels - 1; level > 0; level--) {
		u64 pte = READ_ONCE(table[pt_index(gpa, level)]);

		if (!pt_bits_is_table(b, pte, level))
			return NULL;
		table = pt_table_va(pgt, pte);
	}
	return table;
}

static bool pt_aligned(u64 x, unsigned int level)
{
	return !(x & (s2mmu_pt_level_size(level) - 1));
}

/**
 * s2mmu_pgtable_map() - map a range with leaves of one level.
 * @pgt: the tree.
 * @gpa: first guest physical address, aligned to the level.
 * @pa: physical address @gpa maps to, aligned to the level.
 * @size: bytes, a multiple of the level size.
 * @level: level of the leaves: 0 (4K), 1 (2M) or 2 (1G).
 * @prot: S2MMU_PROT_* of the leaves (W needs R).
 * @op: the table page cache, lock mode; @op->flush is set if an existing
 *      translation changed.
 *
 * Links missing tables (from @op->cache) and splits huge leaves found
 * above @level on the way down.  An existing leaf with the same address
 * and rights is kept with its Accessed/Dirty bits; another leaf is
 * replaced.  A table already at @level is left alone: collapse it first.
 * The operation is not all-or-nothing: on error, the part already done
 * stays, and retrying the same call after fixing the cause is safe.
 *
 * Return: 0; -EINVAL for bad arguments; -ENOMEM when the cache ran dry;
 * -EEXIST if a table sits at @level; -EAGAIN after losing a race with
 * another installer under a shared lock or meeting a frozen entry.
 */
int s2mmu_pgtable_map(struct s2mmu_pgtable *pgt, u64 gpa, u64 pa, u64 size,
		      unsigned int level, u32 prot, struct s2mmu_pt_op *op)
{
	struct pt_map_args m = {
		.gpa = gpa, .pa = pa, .level = level, .prot = prot, .op = op,
	};
	struct s2mmu_walker walker = {
		.cb = pt_map_cb,
		.arg = &m,
		.flags = S2MMU_WALK_LEAF | S2MMU_WALK_TABLE_PRE,
	};

	if (level > S2MMU_PT_MAX_LEAF_LEVEL || level >= pgt->levels ||
	    !pt_aligned(gpa, level) || !pt_aligned(pa, level) ||
	    !pt_aligned(size, level) || !size || gpa + size < gpa ||
	    !pt_range_ok(pgt, gpa, gpa + size) ||
	    pa + size < pa || pa + size > (1ULL << pgt->ops->pa_bits) ||
	    (prot & ~S2MMU_PROT_ALL) ||
	    ((prot & S2MMU_PROT_W) && !(prot & S2MMU_PROT_R)))
		return -EINVAL;

	if (size == s2mmu_pt_level_size(level)) {
		int ret;

		rcu_read_lock();
		ret = pt_map_one(pgt, &m);
		rcu_read_unlock();
		return ret;
	}
	return s2mmu_pgtable_walk(pgt, gpa, size, &walker);
}

/**
 * s2mmu_pgtable_map_run() - map a run of 4 KiB frames, one leaf table's.
 * @pgt: the tree.
 * @gpa: guest physical address of the first leaf, 4 KiB aligned.
 * @pfns: the host frame of each leaf.
 * @n: leaves, from 1 up to those left in @gpa's leaf table.
 * @prot: S2MMU_PROT_* of the leaves (W needs R).
 * @op: the lock mode; @op->flush is set if an existing translation
 *      changed.  No table page is taken from @op->cache.
 * @kept: out: how many of the leaves mapped were there already.
 *
 * The fault path's batch (a run after a fault, mmu/fault.c): one descent
 * from the root to the leaf table, then each leaf in turn.  The run maps
 * into a leaf table that exists (the fault before it linked it): where
 * none does, or a huge leaf maps the range, it maps nothing, so it never
 * links a table nor splits a huge leaf.  A leaf that already maps its
 * frame with at least @prot is kept with its Accessed/Dirty bits (and
 * counted in @kept); another leaf is replaced.  It stops at the first
 * leaf it cannot set (a frame beyond the format's output range, or a
 * race lost under the shared lock): the leaves before it stay mapped.
 *
 * Return: the number of leaves mapped from the first (> 0); or, when not
 * even the first: -EINVAL for bad arguments, -EAGAIN when no leaf table
 * reaches @gpa or a race was lost, -EOVERFLOW for a frame the format
 * cannot address.
 */
int s2mmu_pgtable_map_run(struct s2mmu_pgtable *pgt, u64 gpa, const u64 *pfns,
			  unsigned int n, u32 prot, struct s2mmu_pt_op *op,
			  unsigned int *kept)
{
	const struct s2mmu_pgtable_ops *ops = pgt->ops;
	struct pt_map_args m = { .gpa = gpa, .level = 0, .prot = prot,
				 .op = op };
	struct s2mmu_walk_ctx ctx = { .pgt = pgt, .arg = &m, .level = 0 };
	u64 *table, max_pa = 1ULL << ops->pa_bits;
	unsigned int i, first;
	int ret = 0;

	*kept = 0;
	first = pt_index(gpa, 0);
	if (!n || n > S2MMU_PT_ENTRIES - first || !pt_aligned(gpa, 0) ||
	    !pt_range_ok(pgt, gpa, gpa + (u64)n * PAGE_SIZE) ||
	    (prot & ~S2MMU_PROT_ALL) ||
	    ((prot & S2MMU_PROT_W) && !(prot & S2MMU_PROT_R)))
		return -EINVAL;

	rcu_read_lock();
	table = pt_leaf_table(pgt, gpa);
	if (!table)
		ret = -EAGAIN;
	for (i = 0; !ret && i < n; i++) {
		u64 pa = pfns[i] << PAGE_SHIFT;

		if (pa >= max_pa || pa + PAGE_SIZE > max_pa) {
			ret = -EOVERFLOW;
			break;
		}
		ctx.ptep = &table[first + i];
		ctx.old = READ_ONCE(*ctx.ptep);
		ctx.addr = gpa + ((u64)i << PAGE_SHIFT);
		if (pt_bits_is_leaf(&ops->bits, ctx.old, 0) &&
		    pt_bits_leaf_pa(&ops->bits, ctx.old, 0) == pa &&
		    (pt_bits_leaf_prot(&ops->bits, ctx.old) & prot) == prot) {
			(*kept)++;
			continue;
		}
		m.gpa = ctx.addr;
		m.pa = pa;
		ret = pt_map_leaf(&ctx, &m);
		if (ret)
			break;
	}
	rcu_read_unlock();
	return i ? i : ret;
}

/**
 * s2mmu_pgtable_map_tables_needed() - table pages a map may consume.
 * @pgt: the tree.
 * @gpa: first guest physical address of the map.
 * @size: bytes mapped (non-zero).
 * @level: level of the leaves.
 *
 * The worst case, with no table present yet (or every huge leaf on the way
 * to be split): one table per level-sized block of the range at each
 * level from @level up to below the root.
 *
 * Return: the number of table pages.
 */
unsigned int s2mmu_pgtable_map_tables_needed(struct s2mmu_pgtable *pgt,
					     u64 gpa, u64 size,
					     unsigned int level)
{
	u64 last = gpa + size - 1;
	unsigned int l, n = 0;

	for (l = level; l + 1 < pgt->levels; l++) {
		unsigned int shift = s2mmu_pt_level_shift(l + 1);

		n += (last >> shift) - (gpa >> shift) + 1;
	}
	return n;
}

struct pt_split_args {
	unsigned int level;
	struct s2mmu_pt_op *op;
};

static int pt_split_cb(struct s2mmu_walk_ctx *ctx)
{
	struct pt_split_args *s = ctx->arg;

	if (ctx->level <= s->level)
		return 0;
	if (pt_is_frozen(ctx->pgt, ctx->old))
		return -EAGAIN;
	if (!ctx->pgt->ops->is_leaf(ctx->old, ctx->level))
		return 0;
	return pt_link_table(ctx, s->op);
}

/**
 * s2mmu_pgtable_split() - split huge leaves down to a level.
 * @pgt: the tree.
 * @start: first guest physical address of the range.
 * @end: end of the range (exclusive).
 * @level: split every leaf above this level that overlaps the range until
 *         the range is mapped by leaves of @level or below.
 * @op: the table page cache and lock mode.
 *
 * Each new table repeats the huge leaf's translation, permissions and
 * attributes, so no TLB flush is needed.  Leaves of a split that lie
 * outside the range are split no further.
 *
 * Return: 0, -EINVAL, -ENOMEM when the cache ran dry, or -EAGAIN.
 */
int s2mmu_pgtable_split(struct s2mmu_pgtable *pgt, u64 start, u64 end,
			unsigned int level, struct s2mmu_pt_op *op)
{
	struct pt_split_args s = { .level = level, .op = op };
	struct s2mmu_walker walker = {
		.cb = pt_split_cb,
		.arg = &s,
		.flags = S2MMU_WALK_LEAF,
	};

	if (!pt_range_ok(pgt, start, end))
		return -EINVAL;
	return s2mmu_pgtable_walk(pgt, start, end - start, &walker);
}

/*
 * Walk down to the entry of @level mapping @gpa: 0 with *@ptep and *@old
 * set, -ENOENT when an entry above it is no table, -EAGAIN when one is
 * frozen.  Context: rcu_read_lock() held.
 */
static int pt_descend(struct s2mmu_pgtable *pgt, u64 gpa, unsigned int level,
		      u64 **ptep, u64 *old)
{
	unsigned int l = pgt->levels - 1;
	u64 *table = pgt->root;

	for (;;) {
		*ptep = &table[pt_index(gpa, l)];
		*old = READ_ONCE(**ptep);
		if (l == level)
			return 0;
		if (pt_is_frozen(pgt, *old))
			return -EAGAIN;
		if (!pgt->ops->is_table(*old, l))
			return -ENOENT;
		table = pt_table_va(pgt, *old);
		l--;
	}
}

/*
 * Unlink the table held by the entry of @level mapping @gpa, leaving the
 * entry empty: any table when @table_pa is NULL (collapse), or only the
 * table at *@table_pa (unlink).  The entry is replaced with cmpxchg from
 * the value read, so a table a racing thread replaced is left alone.
 * @none is returned when the entry holds no (such) table.
 */
static int pt_unlink_at(struct s2mmu_pgtable *pgt, u64 gpa, unsigned int level,
			const u64 *table_pa, int none, struct s2mmu_pt_op *op)
{
	const struct s2mmu_pgtable_ops *ops = pgt->ops;
	u64 *ptep, old;
	long n;
	int ret;

	if (!level || level >= pgt->levels || gpa >= pt_max_addr(pgt))
		return -EINVAL;

	rcu_read_lock();
	ret = pt_descend(pgt, gpa, level, &ptep, &old);
	if (ret == -ENOENT || (!ret && !ops->is_table(old, level))) {
		ret = pt_is_frozen(pgt, old) ? -EAGAIN : none;
	} else if (!ret && table_pa && ops->table_pa(old) != *table_pa) {
		ret = none;
	} else if (!ret && pt_table_has_tables(pgt, old, level)) {
		/* More than one table page: not in one step. */
		ret = -EBUSY;
	} else if (!ret) {
		n = pt_replace_table(pgt, ptep, old,
				     round_down(gpa, s2mmu_pt_level_size(level)),
				     level, 0, op);
		ret = n < 0 ? n : 0;
	}
	rcu_read_unlock();
	return ret;
}

/**
 * s2mmu_pgtable_table_pa() - the table an entry holds.
 * @pgt: the tree.
 * @gpa: a guest physical address the entry maps.
 * @level: level of the entry (1 or above).
 *
 * Context: any; takes rcu_read_lock() itself.  The answer is of one
 * instant: only the caller's locks keep it true.
 * Return: the physical address of the table the entry of @level mapping
 * @gpa points at, or 0 when it holds no table (or is frozen).
 */
u64 s2mmu_pgtable_table_pa(struct s2mmu_pgtable *pgt, u64 gpa,
			   unsigned int level)
{
	u64 *ptep, old, pa = 0;

	if (!level || level >= pgt->levels || gpa >= pt_max_addr(pgt))
		return 0;
	rcu_read_lock();
	if (!pt_descend(pgt, gpa, level, &ptep, &old) &&
	    pgt->ops->is_table(old, level))
		pa = pgt->ops->table_pa(old);
	rcu_read_unlock();
	return pa;
}

/**
 * s2mmu_pgtable_collapse() - remove the table at a level so a huge leaf
 *			      can be mapped there.
 * @pgt: the tree.
 * @gpa: a guest physical address the huge leaf will map.
 * @level: level of the future leaf (1 or 2).
 * @op: lock mode; @op->flush is set when a table was removed.
 *
 * Unlinks the table held by the entry of @level mapping @gpa, leaving the
 * entry empty.  Nothing to do if there is no table there.  A table that
 * holds tables itself is left alone (-EBUSY): tearing it down would free
 * up to 512 table pages in one step; zap it, or map smaller leaves.
 *
 * Return: 0, -EINVAL, -EBUSY for a table of tables, or -EAGAIN if the
 * entry is frozen or changed under a shared lock.
 */
int s2mmu_pgtable_collapse(struct s2mmu_pgtable *pgt, u64 gpa,
			   unsigned int level, struct s2mmu_pt_op *op)
{
	return pt_unlink_at(pgt, gpa, level, NULL, 0, op);
}

/**
 * s2mmu_pgtable_unlink_table() - remove one given table from the tree.
 * @pgt: the tree.
 * @gpa: a guest physical address the table maps.
 * @level: level of the entry pointing at the table (1 or above).
 * @table_pa: physical address of the table (as reported in @op->linked
 *            by the map that linked it).
 * @op: lock mode; @op->flush is set when the table was removed.
 *
 * Unlinks the table only if the entry of @level mapping @gpa still points
 * at @table_pa, with cmpxchg from that value, so under a shared lock it
 * never removes a table a racing thread linked in its place; the entry is
 * left empty and the table torn down as a collapse does.  One step: a
 * table that holds tables itself is left alone (-EBUSY).
 *
 * Context: mmu_lock held for read or write; takes rcu_read_lock() itself;
 * never sleeps.
 * Return: 0, -ENOENT when the entry no longer points at the table,
 * -EINVAL, -EBUSY for a table of tables, or -EAGAIN if the entry is frozen
 * or changed meanwhile.
 */
int s2mmu_pgtable_unlink_table(struct s2mmu_pgtable *pgt, u64 gpa,
			       unsigned int level, u64 table_pa,
			       struct s2mmu_pt_op *op)
{
	return pt_unlink_at(pgt, gpa, level, &table_pa, -ENOENT, op);
}

/* Zap the leaf the iterator stands on; false if it changed meanwhile. */
static bool pt_zap_leaf(struct s2mmu_pt_iter *it, struct s2mmu_pt_op *op)
{
	/* exclusive: only Accessed/Dirty change meanwhile */
	unsigned int mode = op->shared ? PT_SET_RACE : PT_SET_OWNER;

	if (!pt_set_entry(it->pgt, it->ptep, &it->old, 0, it->addr, it->level,
			  mode, op))
		return false;
	it->old = 0;
	pt_op_step(op, 1);
	return true;
}

/*
 * Zap the entry the iterator stands on; -EAGAIN if it is frozen.  A table
 * wholly inside the range (S2MMU_ZAP_TABLES) is unlinked only when no
 * table hangs below it, so one step tears down at most one table page;
 * otherwise the iterator descends into it and *@deferred is set: the
 * caller makes another pass, by when its tables below are gone.
 */
static int pt_zap_entry(struct s2mmu_pt_iter *it, unsigned int mode,
			struct s2mmu_pt_op *op, bool *deferred)
{
	struct s2mmu_pgtable *pgt = it->pgt;
	const struct s2mmu_pgtable_ops *ops = pgt->ops;
	u64 size = s2mmu_pt_level_size(it->level);

	for (;;) {
		u64 old = it->old;
		long n;

		if (pt_is_frozen(pgt, old))
			return -EAGAIN;
		if (!ops->is_present(old))
			return 0;
		if (!ops->is_table(old, it->level)) {
			if (pt_zap_leaf(it, op))
				return 0;
			continue;	/* changed: @it->old is what is there */
		}
		if (!(mode & S2MMU_ZAP_TABLES) || it->addr < it->start ||
		    it->addr + size > it->end)
			return 0;	/* only whole tables inside the range */
		if (pt_table_has_tables(pgt, old, it->level)) {
			*deferred = true;
			return 0;	/* descend: its tables go first */
		}
		n = pt_replace_table(pgt, it->ptep, old, it->addr, it->level, 0,
				     op);
		if (n >= 0) {
			it->old = 0;
			pt_op_step(op, n);
			return 0;
		}
		it->old = READ_ONCE(*it->ptep);
	}
}

/**
 * s2mmu_pgtable_zap() - remove the translations of a range.
 * @pgt: the tree.
 * @start: first guest physical address; rounded down to 4 KiB.
 * @end: end of the range (exclusive); rounded up to 4 KiB.
 * @mode: %S2MMU_ZAP_LEAVES removes every leaf that overlaps the range (a
 *        huge leaf as a whole) and keeps tables; %S2MMU_ZAP_TABLES also
 *        unlinks every table whose whole span lies inside the range.  The
 *        root table is never removed.
 * @op: lock mode and yielding: with @op->may_yield the loop may drop the
 *      lock to reschedule, only after forward progress and only with no
 *      flush pending (see s2mmu_pt_iter_cond_resched()).  @op->flush is
 *      set when anything was removed, and @op->nr_zapped counts it.
 *
 * Every step removes at most one table page's worth of entries (512): a
 * leaf, or a table with no table below it.  Tables of tables are removed
 * in later passes, bottom-up (at most one pass per level), so neither a
 * huge tree nor a huge range holds the lock or RCU for long between two
 * chances to yield.
 *
 * Context: takes rcu_read_lock() itself.  With @op->may_yield the caller
 * holds @op->mmu_lock and nothing else (not rcu_read_lock() either): a
 * yield drops both and may sleep.
 *
 * Return: 0, -EINVAL, or -EAGAIN on a frozen entry (shared lock only).
 */
int s2mmu_pgtable_zap(struct s2mmu_pgtable *pgt, u64 start, u64 end,
		      unsigned int mode, struct s2mmu_pt_op *op)
{
	unsigned int passes = 0;
	struct s2mmu_pt_iter it;
	bool deferred;
	int ret = 0;

	start = round_down(start, 1ULL << S2MMU_PT_PAGE_SHIFT);
	end = round_up(end, 1ULL << S2MMU_PT_PAGE_SHIFT);
	if (!pt_range_ok(pgt, start, end))
		return -EINVAL;

	rcu_read_lock();
	do {
		deferred = false;
		for (s2mmu_pt_iter_start(&it, pgt, start, end, 0); it.valid;
		     s2mmu_pt_iter_next(&it)) {
			if (s2mmu_pt_iter_cond_resched(&it, op))
				continue;
			ret = pt_zap_entry(&it, mode, op, &deferred);
			if (ret)
				break;
		}
	} while (!ret && deferred && ++passes < pgt->levels);
	rcu_read_unlock();
	return ret;
}

struct pt_prot_args {
	u32 set;
	u32 clear;
	struct s2mmu_pt_op *op;
};

static int pt_prot_cb(struct s2mmu_walk_ctx *ctx)
{
	struct pt_prot_args *p = ctx->arg;
	struct s2mmu_pgtable *pgt = ctx->pgt;
	const struct s2mmu_pgtable_ops *ops = pgt->ops;
	u64 old = ctx->old;

	for (;;) {
		u64 new;

		if (pt_is_frozen(pgt, old))
			return -EAGAIN;
		if (!ops->is_leaf(old, ctx->level))
			return 0;
		new = ops->leaf_update(old, ctx->level, p->set, p->clear);
		if (new == old)
			return 0;
		if (pt_set_entry(pgt, ctx->ptep, &old, new, ctx->addr,
				 ctx->level, PT_SET_RACE, p->op))
			return 0;
	}
}

/**
 * s2mmu_pgtable_update_prot() - change permissions of the leaves of a range.
 * @pgt: the tree.
 * @start: first guest physical address.
 * @end: end of the range (exclusive).
 * @set: S2MMU_PROT_* to add (not %S2MMU_PROT_DEVICE).
 * @clear: S2MMU_PROT_* to remove (not %S2MMU_PROT_DEVICE).
 * @op: lock mode; @op->flush is set when a right (or Dirty) was removed.
 *
 * Every leaf overlapping the range is changed, a huge leaf as a whole.
 *
 * Return: 0, -EINVAL, or -EAGAIN on a frozen entry.
 */
int s2mmu_pgtable_update_prot(struct s2mmu_pgtable *pgt, u64 start, u64 end,
			      u32 set, u32 clear, struct s2mmu_pt_op *op)
{
	struct pt_prot_args p = { .set = set, .clear = clear, .op = op };
	struct s2mmu_walker walker = {
		.cb = pt_prot_cb,
		.arg = &p,
		.flags = S2MMU_WALK_LEAF,
	};

	if (((set | clear) & ~(S2MMU_PROT_ALL & ~S2MMU_PROT_DEVICE)) ||
	    !pt_range_ok(pgt, start, end))
		return -EINVAL;
	return s2mmu_pgtable_walk(pgt, start, end - start, &walker);
}

/**
 * s2mmu_pgtable_wrprotect() - remove write permission from a range.
 * @pgt: the tree.
 * @start: first guest physical address.
 * @end: end of the range (exclusive).
 * @op: lock mode; @op->flush is set when a writable leaf was changed.
 *
 * Return: 0, -EINVAL, or -EAGAIN on a frozen entry.
 */
int s2mmu_pgtable_wrprotect(struct s2mmu_pgtable *pgt, u64 start, u64 end,
			    struct s2mmu_pt_op *op)
{
	return s2mmu_pgtable_update_prot(pgt, start, end, 0, S2MMU_PROT_W, op);
}

struct pt_age_args {
	bool clear;
	bool young;
	struct s2mmu_pt_op *op;
};

/*
 * Age the entry *@ptep, last read as @old, at @level, mapping from @gpa:
 * note whether it is a young leaf and, if asked, clear its Accessed bit
 * with one cmpxchg.  Losing that cmpxchg means something changed the
 * entry since it was read (a vCPU walker setting Accessed or Dirty, a zap,
 * a split): it counts as young, is not retried, and nothing is written
 * back, so aging can never restore a stale value or lose Dirty.  Frozen
 * and empty entries and tables are not young.  Return: true if young.
 */
static bool pt_age_entry(struct s2mmu_pgtable *pgt, u64 *ptep, u64 old,
			 unsigned int level, u64 gpa, struct pt_age_args *a)
{
	const struct s2mmu_pgtable_ops *ops = pgt->ops;

	if (!ops->is_leaf(old, level) ||
	    !(ops->leaf_prot(old, level) & S2MMU_PROT_ACCESSED))
		return false;
	a->young = true;
	if (!a->clear)
		return true;
	if (pt_set_entry(pgt, ptep, &old,
			 ops->leaf_update(old, level, 0, S2MMU_PROT_ACCESSED),
			 gpa, level, PT_SET_RACE | PT_SET_AD, a->op))
		/*
		 * Owed to no translation (see pt_change_needs_flush()) but
		 * reported: the caller makes the vCPU TLBs notice the next
		 * access.
		 */
		a->op->flush = true;
	else
		a->op->nr_races++;
	return true;
}

static int pt_age_cb(struct s2mmu_walk_ctx *ctx)
{
	struct pt_age_args *a = ctx->arg;

	if (pt_age_entry(ctx->pgt, ctx->ptep, ctx->old, ctx->level, ctx->addr,
			 a) && !a->clear)
		return 1;	/* one is enough: stop the walk */
	return 0;
}

/* The single-page case: one descent, no walk context. */
static void pt_age_page(struct s2mmu_pgtable *pgt, u64 gpa,
			struct pt_age_args *a)
{
	const struct s2mmu_pgtable_ops *ops = pgt->ops;
	unsigned int level = pgt->levels - 1;
	u64 *table = pgt->root;

	rcu_read_lock();
	for (;;) {
		u64 *ptep = &table[pt_index(gpa, level)];
		u64 pte = READ_ONCE(*ptep);

		if (!ops->is_table(pte, level)) {
			pt_age_entry(pgt, ptep, pte, level,
				     round_down(gpa, s2mmu_pt_level_size(level)),
				     a);
			break;
		}
		table = pt_table_va(pgt, pte);
		level--;
	}
	rcu_read_unlock();
}

/**
 * s2mmu_pgtable_age() - test, and optionally clear, Accessed over a range.
 * @pgt: the tree.
 * @start: first guest physical address.
 * @end: end of the range (exclusive).
 * @clear: clear Accessed in every leaf overlapping the range.
 * @op: @op->flush is set when a bit was cleared; @op->nr_races counts the
 *      clears lost to a concurrent change (reported young).
 *
 * Lockless: needs no mmu_lock, only rcu_read_lock() (it takes it), and
 * changes nothing but Accessed, with one cmpxchg per leaf (see
 * pt_age_entry()).  A range within one page takes a direct descent.
 *
 * Context: any, atomic included (MGLRU ages under the host PTE lock);
 * never sleeps.
 * Return: true if any leaf overlapping the range had Accessed set.
 */
bool s2mmu_pgtable_age(struct s2mmu_pgtable *pgt, u64 start, u64 end,
		       bool clear, struct s2mmu_pt_op *op)
{
	struct pt_age_args a = { .clear = clear, .op = op };
	struct s2mmu_walker walker = {
		.cb = pt_age_cb,
		.arg = &a,
		.flags = S2MMU_WALK_LEAF,
	};

	if (!pt_range_ok(pgt, start, end))
		return false;
	if ((start >> S2MMU_PT_PAGE_SHIFT) == ((end - 1) >> S2MMU_PT_PAGE_SHIFT))
		pt_age_page(pgt, start, &a);
	else
		s2mmu_pgtable_walk(pgt, start, end - start, &walker);
	return a.young;
}

struct pt_dirty_args {
	unsigned long *bitmap;
	unsigned long found;
};

static int pt_dirty_cb(struct s2mmu_walk_ctx *ctx)
{
	const struct s2mmu_pgtable_ops *ops = ctx->pgt->ops;
	struct pt_dirty_args *d = ctx->arg;
	u64 first, last, pfn;

	if (!ops->is_leaf(ctx->old, ctx->level) ||
	    !(ops->leaf_prot(ctx->old, ctx->level) & S2MMU_PROT_DIRTY))
		return 0;
	first = max(ctx->addr, ctx->start);
	last = min(ctx->addr + s2mmu_pt_level_size(ctx->level), ctx->end);
	for (pfn = first >> S2MMU_PT_PAGE_SHIFT;
	     pfn < last >> S2MMU_PT_PAGE_SHIFT; pfn++) {
		set_bit(pfn - (ctx->start >> S2MMU_PT_PAGE_SHIFT), d->bitmap);
		d->found++;
	}
	return 0;
}

/**
 * s2mmu_pgtable_collect_dirty() - report the pages of a range whose leaf
 * has Dirty set.
 * @pgt: the tree.
 * @start: first guest physical address, page aligned.
 * @end: end of the range (exclusive), page aligned.
 * @bitmap: bit i is set (set_bit()) for page @start + i * 4 KiB when the
 *          leaf mapping it is dirty; other bits are left alone.
 *
 * Writes no entry: the caller clears Dirty of the pages it harvests with
 * s2mmu_pgtable_update_prot(), which owes a TLB flush (a TLB entry allows
 * writes only while its leaf is dirty).  Dirty bits the vCPU walker sets
 * meanwhile are seen by the next call.
 *
 * Context: rcu_read_lock() taken; mmu_lock as the caller needs.
 * Return: the number of pages reported.
 */
unsigned long s2mmu_pgtable_collect_dirty(struct s2mmu_pgtable *pgt,
					  u64 start, u64 end,
					  unsigned long *bitmap)
{
	struct pt_dirty_args d = { .bitmap = bitmap };
	struct s2mmu_walker walker = {
		.cb = pt_dirty_cb,
		.arg = &d,
		.flags = S2MMU_WALK_LEAF,
	};

	if (!pt_range_ok(pgt, start, end))
		return 0;
	s2mmu_pgtable_walk(pgt, start, end - start, &walker);
	return d.found;
}

/* The walk cache's tag for a table of @level entries mapping @gpa. */
static inline u64 pt_walk_cache_tag(u64 gpa, unsigned int level)
{
	return gpa >> s2mmu_pt_level_shift(level + 1);
}

/*
 * The lookup, from @table (entries of @level) down.  The descent and the
 * leaf's decoding read the format's bits as data (struct s2mmu_pt_bits):
 * no indirect call but for an Accessed/Dirty update.  On success, with
 * @wc, the table the leaf was found in is cached.  Context: rcu_read_lock()
 * held.
 */
static int pt_lookup(struct s2mmu_pgtable *pgt, u64 gpa, unsigned int flags,
		     struct s2mmu_pt_info *info, u64 *table,
		     unsigned int level, struct s2mmu_pt_walk_cache *wc)
{
	const struct s2mmu_pt_bits *b = &pgt->ops->bits;

	for (;;) {
		u64 *ptep = &table[pt_index(gpa, level)];
		u64 pte = READ_ONCE(*ptep);
		u32 prot, set = 0;

		if (pt_is_frozen(pgt, pte))
			return -EAGAIN;
		if (pt_bits_is_table(b, pte, level)) {
			table = phys_to_virt(pt_bits_table_pa(b, pte));
			level--;
			continue;
		}
		info->level = level;
		if (!pt_bits_is_leaf(b, pte, level))
			return -ENOENT;

		prot = pt_bits_leaf_prot(b, pte);
		if (flags & (S2MMU_LOOKUP_MKYOUNG | S2MMU_LOOKUP_MKDIRTY))
			set |= S2MMU_PROT_ACCESSED;
		if ((flags & S2MMU_LOOKUP_MKDIRTY) && (prot & S2MMU_PROT_W))
			set |= S2MMU_PROT_DIRTY;
		if (set & ~prot) {
			u64 new = pgt->ops->leaf_update(pte, level, set, 0);
			u64 gpa_leaf = round_down(gpa,
						  s2mmu_pt_level_size(level));

			/* No op: setting Accessed/Dirty owes no flush. */
			if (!pt_set_entry(pgt, ptep, &pte, new, gpa_leaf,
					  level, PT_SET_RACE | PT_SET_AD,
					  NULL))
				continue;	/* changed meanwhile: read again */
			pte = new;
			prot |= set;
		}

		info->pa = pt_bits_leaf_pa(b, pte, level) +
			   (gpa & (s2mmu_pt_level_size(level) - 1));
		info->prot = prot;
		info->pte = pte;
		if (wc) {
			wc->table = table;
			wc->level = level;
			wc->tag = pt_walk_cache_tag(gpa, level);
		}
		return 0;
	}
}

/**
 * s2mmu_pgtable_lookup() - translate one guest physical address.
 * @pgt: the tree.
 * @gpa: the address.
 * @flags: S2MMU_LOOKUP_MKYOUNG sets Accessed, S2MMU_LOOKUP_MKDIRTY also
 *         Dirty if the leaf is writable, as a hardware walker does.
 * @info: filled with the leaf's level, the translated address, its
 *        S2MMU_PROT_* (after the update) and the entry; on -ENOENT only
 *        @info->level, the level of the empty entry met.
 *
 * Lockless: runs under rcu_read_lock() (it takes it) and updates bits
 * with cmpxchg.
 *
 * Return: 0, -ENOENT if not mapped, -EINVAL for an address outside the
 * tree, -EAGAIN on a frozen entry.
 */
int s2mmu_pgtable_lookup(struct s2mmu_pgtable *pgt, u64 gpa,
			 unsigned int flags, struct s2mmu_pt_info *info)
{
	int ret;

	if (gpa >= pt_max_addr(pgt))
		return -EINVAL;
	info->cached = false;
	rcu_read_lock();
	ret = pt_lookup(pgt, gpa, flags, info, pgt->root, pgt->levels - 1,
			NULL);
	rcu_read_unlock();
	return ret;
}

/**
 * s2mmu_pgtable_lookup_cached() - s2mmu_pgtable_lookup() through a walk
 *				   cache.
 * @pgt: the tree.
 * @gpa: the address.
 * @flags: as for s2mmu_pgtable_lookup().
 * @info: as for s2mmu_pgtable_lookup(); @info->cached tells whether the
 *        walk started from @wc.
 * @wc: the caller's walk cache: used when it holds the table mapping
 *      @gpa, refilled after every successful lookup.
 *
 * Context: the rcu_read_lock() section @wc was filled in (see &struct
 * s2mmu_pt_walk_cache); never sleeps.
 * Return: as s2mmu_pgtable_lookup().
 */
int s2mmu_pgtable_lookup_cached(struct s2mmu_pgtable *pgt, u64 gpa,
				unsigned int flags, struct s2mmu_pt_info *info,
				struct s2mmu_pt_walk_cache *wc)
	__must_hold(RCU)
{
	u64 *table = pgt->root;
	unsigned int level = pgt->levels - 1;

	if (gpa >= pt_max_addr(pgt))
		return -EINVAL;
	info->cached = wc->table &&
		       pt_walk_cache_tag(gpa, wc->level) == wc->tag;
	if (info->cached) {
		table = wc->table;
		level = wc->level;
	}
	return pt_lookup(pgt, gpa, flags, info, table, level, wc);
}

/**
 * s2mmu_pgtable_init() - create an empty tree.
 * @pgt: the tree to set up.
 * @ops: its entry format.
 * @gpa_bits: guest physical address width.
 *
 * May sleep: allocates the root table.
 *
 * Return: 0, -EINVAL if the format cannot translate @gpa_bits, -ENOMEM.
 */
int s2mmu_pgtable_init(struct s2mmu_pgtable *pgt,
		       const struct s2mmu_pgtable_ops *ops,
		       unsigned int gpa_bits)
{
	int levels = ops->levels(gpa_bits);

	if (levels < 1 || levels > S2MMU_PT_MAX_LEVELS)
		return -EINVAL;

	memset(pgt, 0, sizeof(*pgt));
	pgt->root = pt_alloc_page();
	if (!pgt->root)
		return -ENOMEM;
	pgt->ops = ops;
	pgt->root_pa = virt_to_phys(pgt->root);
	pgt->gpa_bits = gpa_bits;
	pgt->levels = levels;
	atomic_long_set(&pgt->tables[levels - 1], 1);
	return 0;
}

/**
 * s2mmu_pgtable_destroy() - free a tree.
 * @pgt: the tree; no operation may run on it any more.
 *
 * Lockless walkers may still be inside (under RCU): every page is freed
 * after a grace period.  Reschedules as it goes, and waits for those frees
 * (rcu_barrier()), so it sleeps.
 */
void s2mmu_pgtable_destroy(struct s2mmu_pgtable *pgt)
{
	/* No lock: nothing else uses the tree; yield RCU as it goes. */
	struct s2mmu_pt_op op = { .may_yield = true };

	if (!pgt->root)
		return;
	s2mmu_pgtable_zap(pgt, 0, pt_max_addr(pgt), S2MMU_ZAP_TABLES, &op);
	atomic_long_dec(&pgt->tables[pgt->levels - 1]);
	pt_free_table_rcu(pgt, pgt->root);
	pgt->root = NULL;
	rcu_barrier();
}

/**
 * s2mmu_pgtable_nr_tables() - table pages in the tree, the root included.
 * @pgt: the tree.
 *
 * Return: the sum of @pgt->tables over all levels.
 */
unsigned long s2mmu_pgtable_nr_tables(struct s2mmu_pgtable *pgt)
{
	unsigned long n = 0;
	unsigned int l;

	for (l = 0; l < S2MMU_PT_MAX_LEVELS; l++)
		n += atomic_long_read(&pgt->tables[l]);
	return n;
}

/**
 * s2mmu_pgtable_nr_leaves() - leaves in the tree at a level.
 * @pgt: the tree.
 * @level: 0 (4 KiB), 1 (2 MiB) or 2 (1 GiB).
 *
 * Exact whenever no operation is in flight; while operations race under a
 * shared lock it may lag behind by their changes in flight.
 *
 * Context: any; lockless.
 *
 * Return: the count, 0 for a level with no leaves.
 */
unsigned long s2mmu_pgtable_nr_leaves(struct s2mmu_pgtable *pgt,
				      unsigned int level)
{
	if (level > S2MMU_PT_MAX_LEAF_LEVEL)
		return 0;
	/*
	 * A split accounts its leaves just after a collapse under the read
	 * lock may have frozen some of them.
	 */
	return max(atomic_long_read(&pgt->leaves[level]), 0L);
}

/**
 * s2mmu_pgtable_bytes() - memory used by the tree's table pages.
 * @pgt: the tree.
 *
 * Return: s2mmu_pgtable_nr_tables() pages of PAGE_SIZE bytes.
 */
unsigned long s2mmu_pgtable_bytes(struct s2mmu_pgtable *pgt)
{
	return s2mmu_pgtable_nr_tables(pgt) * PAGE_SIZE;
}
