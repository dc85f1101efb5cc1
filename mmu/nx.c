// SPDX-License-Identifier: GPL-2.0
/*
 * The record of possible NX huge pages: the tables exec faults linked
 * where the VM type's NX huge page mitigation (arch-x86/vm.c) refused a
 * huge leaf.  The install (mmu/mmu.c) records them, oldest first;
 * recovery (s2mmu_mmu_recover_nx_huge_pages()) unlinks them from the
 * head of the list, so a later non-exec fault maps the region huge again.
 *
 * The record follows the tables through the engine's change hook: a
 * recorded table unlinked by anything (a zap, a collapse, recovery, the
 * tree's destroy) leaves the record at once, so nx_lpage_splits counts
 * exactly the recorded tables still linked.  Locking and the race with a
 * fault that collapses a table before it is recorded:
 * Documentation/locking.rst ("NX huge pages").
 */
#include <linux/slab.h>
#include <linux/xarray.h>

#include "s2mmu.h"

#define S2MMU_NX_GFP	(GFP_NOWAIT | __GFP_ACCOUNT | __GFP_NOWARN)

/* Index of the record of the table held by the entry of @level at @gpa. */
static unsigned long s2mmu_nx_key(u64 gpa, unsigned int level)
{
	/* @gpa is aligned to 2 MiB at least: its low frame bits are free. */
	return (unsigned long)(gpa >> PAGE_SHIFT) | level;
}

/* Drop @p from the record.  Under the xa_lock of vm->nx_index. */
static void s2mmu_nx_drop_locked(struct s2mmu_vm *vm, unsigned long key,
				 struct s2mmu_nx_page *p)
{
	__xa_erase(&vm->nx_index, key);
	list_del(&p->link);
	atomic64_dec(&vm->stat.nx_lpage_splits);
	kfree(p);
}

/*
 * The engine's change hook: a table unlinked from an entry of level 1 or
 * 2 (the levels recorded) leaves the record.  Every other change returns at once.
 */
static void s2mmu_nx_pgt_change(struct s2mmu_pgtable *pgt, u64 gpa,
				unsigned int level, u64 old, u64 new)
{
	const struct s2mmu_pgtable_ops *ops = pgt->ops;

	if (!level || level > S2MMU_PT_MAX_LEAF_LEVEL ||
	    !ops->is_table(old, level) || ops->is_table(new, level))
		return;
	s2mmu_nx_forget(container_of(pgt, struct s2mmu_vm, pgt), gpa, level,
			ops->table_pa(old));
}

/**
 * s2mmu_nx_init() - set up a VM's record of possible NX huge pages.
 * @vm: the VM, its table just initialised (s2mmu_pgtable_init()).
 *
 * Installs the change hook on the VM's table for VM types with the
 * mitigation (whether it is on now or not: it can be turned on later).
 */
void s2mmu_nx_init(struct s2mmu_vm *vm)
{
	xa_init(&vm->nx_index);
	INIT_LIST_HEAD(&vm->nx_pages);
	if (vm->cfg.ops->nx_huge_pages && !vm->cfg.nx_huge_pages_disabled)
		vm->pgt.change = s2mmu_nx_pgt_change;
}

/**
 * s2mmu_nx_destroy() - free what is left of the record.
 * @vm: the VM, its table destroyed (which unlinked, and so forgot, every
 *      recorded table).
 */
void s2mmu_nx_destroy(struct s2mmu_vm *vm)
{
	struct s2mmu_nx_page *p, *tmp;

	WARN_ON_ONCE(!list_empty(&vm->nx_pages));
	list_for_each_entry_safe(p, tmp, &vm->nx_pages, link)
		kfree(p);
	INIT_LIST_HEAD(&vm->nx_pages);
	xa_destroy(&vm->nx_index);
}

/**
 * s2mmu_nx_recorded() - is the table at an entry a possible NX huge page?
 * @vm: the VM.
 * @gpa: a guest physical address the entry maps.
 * @level: level of the entry.
 *
 * Context: mmu_lock held for read (the fault's install); the answer is of
 * one instant, like the entry it is about.
 * Return: true when the table the entry holds is recorded.
 */
bool s2mmu_nx_recorded(struct s2mmu_vm *vm, u64 gpa, unsigned int level)
{
	u64 base = round_down(gpa, s2mmu_pt_level_size(level));

	return xa_load(&vm->nx_index, s2mmu_nx_key(base, level));
}

/**
 * s2mmu_nx_record() - record a table as a possible NX huge page.
 * @vm: the VM.
 * @gpa: a guest physical address the table maps.
 * @level: level of the entry holding it (1 or 2).
 * @table_pa: physical address of the table (the install's op->linked[]).
 *
 * The table is added at the tail of @vm->nx_pages and counted in
 * nx_lpage_splits.  Under mmu_lock for read a racing fault may unlink it
 * before it is recorded, when the change hook finds nothing to forget, so
 * it is looked up again once recorded and forgotten if it is gone.  No
 * memory (the allocation cannot sleep here) leaves it unrecorded: the
 * region then stays mapped by small leaves until a zap, which is safe.
 *
 * Context: mmu_lock held for read; never sleeps.
 */
void s2mmu_nx_record(struct s2mmu_vm *vm, u64 gpa, unsigned int level,
		     u64 table_pa)
{
	u64 base = round_down(gpa, s2mmu_pt_level_size(level));
	unsigned long key = s2mmu_nx_key(base, level);
	struct s2mmu_nx_page *p, *old;

	p = kmalloc(sizeof(*p), S2MMU_NX_GFP);
	if (!p)
		return;
	p->gpa = base;
	p->table_pa = table_pa;
	p->level = level;

	xa_lock(&vm->nx_index);
	old = xa_load(&vm->nx_index, key);
	/* The record of a table that left unseen (below): replace it. */
	if (old)
		s2mmu_nx_drop_locked(vm, key, old);
	old = __xa_store(&vm->nx_index, key, p, S2MMU_NX_GFP);
	if (xa_is_err(old)) {
		xa_unlock(&vm->nx_index);
		kfree(p);
		return;
	}
	list_add_tail(&p->link, &vm->nx_pages);
	atomic64_inc(&vm->stat.nx_lpage_splits);
	xa_unlock(&vm->nx_index);

	/*
	 * Unlinked before the store above: its hook ran before it, found
	 * nothing and took the lock first, so this lookup sees the unlink.
	 */
	if (s2mmu_pgtable_table_pa(&vm->pgt, base, level) != table_pa)
		s2mmu_nx_forget(vm, base, level, table_pa);
}

/**
 * s2mmu_nx_forget() - drop the record of a table, if it is recorded.
 * @vm: the VM.
 * @gpa: a guest physical address the table maps.
 * @level: level of the entry that held it.
 * @table_pa: physical address of the table: a record of another table at
 *            the same entry is kept.
 *
 * Context: any the engine runs in (called from its change hook); never
 * sleeps.
 */
void s2mmu_nx_forget(struct s2mmu_vm *vm, u64 gpa, unsigned int level,
		     u64 table_pa)
{
	u64 base = round_down(gpa, s2mmu_pt_level_size(level));
	unsigned long key = s2mmu_nx_key(base, level);
	struct s2mmu_nx_page *p;

	xa_lock(&vm->nx_index);
	p = xa_load(&vm->nx_index, key);
	if (p && p->table_pa == table_pa)
		s2mmu_nx_drop_locked(vm, key, p);
	xa_unlock(&vm->nx_index);
}

/**
 * s2mmu_nx_oldest() - the oldest record, moved to the tail.
 * @vm: the VM.
 * @p: out: a copy of the record (its @link is not valid).
 *
 * Recovery unlinks the table, whose hook then drops the record; a table
 * it could not unlink this time waits at the tail for its next turn.
 *
 * Context: mmu_lock held for read; never sleeps.
 * Return: false when nothing is recorded.
 */
bool s2mmu_nx_oldest(struct s2mmu_vm *vm, struct s2mmu_nx_page *p)
{
	struct s2mmu_nx_page *first;

	xa_lock(&vm->nx_index);
	first = list_first_entry_or_null(&vm->nx_pages, struct s2mmu_nx_page,
					 link);
	if (first) {
		*p = *first;
		list_move_tail(&first->link, &vm->nx_pages);
	}
	xa_unlock(&vm->nx_index);
	return first;
}
