// SPDX-License-Identifier: GPL-2.0
/*
 * The table engine's two ways through a tree: a recursive visitor walk
 * (leaf, table-pre and table-post callbacks) for operations that run to
 * completion, and a pre-order iterator for operations that must be able
 * to stop, drop their locks and resume (zaps that yield).
 *
 * Both read entries with READ_ONCE() under rcu_read_lock(): table pages
 * unlinked from the tree are freed only after a grace period, so a walk
 * that raced with an unlink reads stale (frozen) entries, never freed
 * memory.
 */
#include <linux/kernel.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>

#include "pgtable_internal.h"

static int pt_walk_table(struct s2mmu_pgtable *pgt,
			 struct s2mmu_walker *walker, u64 *table,
			 unsigned int level, u64 start, u64 end,
			 struct s2mmu_walk_ctx *outer);

static int pt_visit(struct s2mmu_pgtable *pgt, struct s2mmu_walker *walker,
		    u64 *ptep, u64 addr, unsigned int level, u64 start,
		    u64 end, struct s2mmu_walk_ctx *outer)
{
	const struct s2mmu_pgtable_ops *ops = pgt->ops;
	u64 size = s2mmu_pt_level_size(level);
	struct s2mmu_walk_ctx ctx = {
		.pgt = pgt,
		.ptep = ptep,
		.old = READ_ONCE(*ptep),
		.addr = addr,
		.start = outer->start,
		.end = outer->end,
		.level = level,
		.arg = walker->arg,
	};
	bool table = ops->is_table(ctx.old, level);
	bool visited = false;
	int ret = 0;

	if (table && (walker->flags & S2MMU_WALK_TABLE_PRE)) {
		ctx.visit = S2MMU_WALK_TABLE_PRE;
		ret = walker->cb(&ctx);
		visited = true;
	} else if (!table && (walker->flags & S2MMU_WALK_LEAF)) {
		ctx.visit = S2MMU_WALK_LEAF;
		ret = walker->cb(&ctx);
		visited = true;
	}

	/* The visitor may have installed or removed a table here. */
	if (visited) {
		ctx.old = READ_ONCE(*ptep);
		table = ops->is_table(ctx.old, level);
	}
	if (ret || !table)
		return ret;

	ret = pt_walk_table(pgt, walker, pt_table_va(pgt, ctx.old), level - 1,
			    max(start, addr), min(end, addr + size), &ctx);
	if (ret)
		return ret;

	if (walker->flags & S2MMU_WALK_TABLE_POST) {
		ctx.visit = S2MMU_WALK_TABLE_POST;
		ctx.old = READ_ONCE(*ptep);
		ret = walker->cb(&ctx);
	}
	return ret;
}

/* Visit the entries of @table (at @level) that overlap [start, end). */
static int pt_walk_table(struct s2mmu_pgtable *pgt,
			 struct s2mmu_walker *walker, u64 *table,
			 unsigned int level, u64 start, u64 end,
			 struct s2mmu_walk_ctx *outer)
{
	u64 size = s2mmu_pt_level_size(level);
	u64 addr = start & ~(size - 1);
	unsigned int idx;
	int ret;

	for (idx = pt_index(addr, level);
	     idx < S2MMU_PT_ENTRIES && addr < end; idx++, addr += size) {
		ret = pt_visit(pgt, walker, &table[idx], addr, level, start,
			       end, outer);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * s2mmu_pgtable_walk() - visit the entries mapping a range.
 * @pgt: the tree.
 * @addr: first guest physical address of the range (any alignment).
 * @size: bytes in the range.
 * @walker: the visitor and which visits it wants.
 *
 * Visits, root first, every entry that maps part of [@addr, @addr + @size):
 * a table entry before (TABLE_PRE) and after (TABLE_POST) the entries of
 * its table, any other entry (empty, frozen or leaf) with LEAF.  After a
 * leaf or table-pre visit the entry is read again and, if it is a table
 * now, walked into: a visitor installs a table by writing it from a LEAF
 * visit.  Runs under rcu_read_lock(); visitors must not sleep.
 *
 * Return: 0, -EINVAL for a range outside the tree, or the first non-zero
 * value a visitor returned.
 */
int s2mmu_pgtable_walk(struct s2mmu_pgtable *pgt, u64 addr, u64 size,
		       struct s2mmu_walker *walker)
{
	struct s2mmu_walk_ctx outer = {
		.start = addr,
		.end = addr + size,
	};
	int ret;

	if (!size || outer.end < addr || !pt_range_ok(pgt, addr, outer.end))
		return -EINVAL;

	rcu_read_lock();
	ret = pt_walk_table(pgt, walker, pgt->root, pgt->levels - 1, addr,
			    outer.end, &outer);
	rcu_read_unlock();
	return ret;
}

/* Make the entry of @level mapping it->pos the current one. */
static void pt_iter_load(struct s2mmu_pt_iter *it, unsigned int level)
{
	it->level = level;
	it->addr = it->pos & ~(s2mmu_pt_level_size(level) - 1);
	it->ptep = &it->tables[level][pt_index(it->pos, level)];
	it->old = READ_ONCE(*it->ptep);
}

/**
 * s2mmu_pt_iter_restart() - walk down again from the root to where the
 *			     iterator stands.
 * @it: the iterator.
 *
 * Used after the caller dropped its locks: any table the iterator had
 * reached may have been unlinked meanwhile.
 */
void s2mmu_pt_iter_restart(struct s2mmu_pt_iter *it)
{
	struct s2mmu_pgtable *pgt = it->pgt;

	it->yielded = false;
	it->valid = it->pos < it->end;
	if (!it->valid)
		return;
	it->tables[pgt->levels - 1] = pgt->root;
	pt_iter_load(it, pgt->levels - 1);
}

/**
 * s2mmu_pt_iter_start() - start iterating over the entries of a range.
 * @it: the iterator.
 * @pgt: the tree.
 * @start: first guest physical address.
 * @end: end of the range (exclusive); clamped to the tree's size.
 * @min_level: do not descend into tables below this level.
 *
 * The caller holds rcu_read_lock() for the whole iteration (yields drop
 * and retake it).  See &struct s2mmu_pt_iter for the loop.
 */
void s2mmu_pt_iter_start(struct s2mmu_pt_iter *it, struct s2mmu_pgtable *pgt,
			 u64 start, u64 end, unsigned int min_level)
{
	memset(it, 0, sizeof(*it));
	it->pgt = pgt;
	it->start = start;
	it->end = min(end, pt_max_addr(pgt));
	it->pos = start;
	it->min_level = min_level;
	/* No yield before the first entry is done. */
	it->yielded_pos = start;
	s2mmu_pt_iter_restart(it);
}

static bool pt_iter_step_down(struct s2mmu_pt_iter *it)
{
	if (it->level <= it->min_level ||
	    !it->pgt->ops->is_table(it->old, it->level))
		return false;
	it->tables[it->level - 1] = pt_table_va(it->pgt, it->old);
	pt_iter_load(it, it->level - 1);
	return true;
}

/* The current entry is done: move to the next one, going up as needed. */
static void pt_iter_step_over(struct s2mmu_pt_iter *it)
{
	unsigned int root = it->pgt->levels - 1;

	it->pos = it->addr + s2mmu_pt_level_size(it->level);
	if (it->pos >= it->end || it->pos <= it->addr) {
		it->valid = false;
		return;
	}
	/* Crossing the end of a table: its parent's next entry is next. */
	while (it->level < root && pt_index(it->pos, it->level) == 0)
		it->level++;
	pt_iter_load(it, it->level);
}

/**
 * s2mmu_pt_iter_next() - advance to the next entry in pre-order.
 * @it: the iterator.
 *
 * Descends into the current entry if it (as of @it->old) is a table above
 * @it->min_level, else moves past it.  After a yield, restarts from the
 * root.
 */
void s2mmu_pt_iter_next(struct s2mmu_pt_iter *it)
{
	if (it->yielded) {
		s2mmu_pt_iter_restart(it);
		return;
	}
	if (pt_iter_step_down(it))
		return;
	pt_iter_step_over(it);
}

/**
 * s2mmu_pt_iter_cond_resched() - yield mmu_lock and RCU if due.
 * @it: the iterator, standing on an entry not yet processed.
 * @op: the operation: the lock held, whether it may yield, flush state.
 *
 * Yields only if @op allows it, a reschedule (or a waiter on the lock) is
 * due, the walk moved forward since the last yield, and no TLB flush is
 * pending (or @op->flush_tlbs flushed it first).  With no @op->mmu_lock
 * (a tree nothing else uses, being destroyed) it only leaves RCU.  After a yield the
 * caller must not use the current entry: it continues the loop, and the
 * next step restarts from the root at the same position.
 *
 * Return: true if it yielded.
 */
bool s2mmu_pt_iter_cond_resched(struct s2mmu_pt_iter *it,
				struct s2mmu_pt_op *op)
	__must_hold(RCU)
{
	if (!op->may_yield)
		return false;
	if (it->pos == it->yielded_pos)
		return false;
	if (!op->force_yield && !need_resched() &&
	    !(op->mmu_lock && rwlock_needbreak(op->mmu_lock)))
		return false;
	/* Without a lock nothing else uses the tree: no TLB to mind. */
	if (op->flush && op->mmu_lock) {
		if (!op->flush_tlbs)
			return false;
		op->flush_tlbs(op->flush_arg);
		op->flush = false;
	}

	rcu_read_unlock();
	if (!op->mmu_lock) {
		cond_resched();
	} else if (op->shared) {
		read_unlock(op->mmu_lock);
		cond_resched();
		read_lock(op->mmu_lock);
	} else {
		write_unlock(op->mmu_lock);
		cond_resched();
		write_lock(op->mmu_lock);
	}
	rcu_read_lock();

	op->nr_yields++;
	it->yielded_pos = it->pos;
	it->yielded = true;
	return true;
}
