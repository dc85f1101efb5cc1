// SPDX-License-Identifier: GPL-2.0
/*
 * S2MMU_CHECK_INVARIANTS: the promise to users, checked.
 *
 * With the slot set pinned by SRCU, the owner's mmap_lock held for read and
 * mmu_lock held for write, every present stage-2 leaf must agree
 * with the host page tables at the slot's host address:
 *
 * - the host maps the address (else an invalidation was missed);
 * - the same page frame (else the guest would see another page);
 * - not writable unless the host mapping is (else a guest write would
 *   bypass COW, KSM or write protection);
 * - not larger than the host mapping (else part of the block could be
 *   remapped by the host without the leaf changing).
 *
 * Why holding mmu_lock for write makes this exact: a host PTE of a mapped
 * address only changes between invalidate_range_start and _end, and
 * _start zaps the leaf under mmu_lock (write) before the host touches the
 * PTE, while faults cannot reinstall it until _end.  So a leaf present
 * while we hold the lock is over a host PTE that is stable until we drop
 * it.
 *
 * The check also recounts the table pages against the engine's per-level
 * accounting, and checks each idle vCPU's TLB against the tables (a vCPU
 * with a flush pending will flush before its next translation, so its
 * TLB is not held against it).
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>

#include "s2mmu.h"

struct s2mmu_check {
	struct s2mmu_vm *vm;
	struct s2mmu_invariants *res;
	unsigned long tables[S2MMU_PT_MAX_LEVELS];
};

static void s2mmu_check_leaf(struct s2mmu_check *c, u64 gpa, u64 pte,
			     unsigned int level)
{
	const struct s2mmu_pgtable_ops *ops = c->vm->pgt.ops;
	u64 npages = 1ULL << (level * S2MMU_PT_LEVEL_BITS);
	u64 gfn = gpa >> PAGE_SHIFT;
	struct s2mmu_host_map host;
	struct s2mmu_memslot *slot;
	unsigned long hva;

	c->res->leaves++;
	slot = s2mmu_gfn_to_memslot(c->vm, gfn);
	if (!slot || gfn + npages > slot->base_gfn + slot->npages) {
		c->res->no_slot++;
		return;
	}
	hva = slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
	s2mmu_host_walk(c->vm->mm, hva, &host);
	if (!host.present) {
		c->res->host_unmapped++;
		return;
	}
	if (host.pfn != ops->leaf_pa(pte, level) >> PAGE_SHIFT)
		c->res->bad_pfn++;
	if ((ops->leaf_prot(pte, level) & S2MMU_PROT_W) && !host.writable)
		c->res->bad_write++;
	if (host.level < level)
		c->res->bad_huge++;
}

static int s2mmu_check_visit(struct s2mmu_walk_ctx *ctx)
{
	struct s2mmu_check *c = ctx->arg;
	const struct s2mmu_pgtable_ops *ops = ctx->pgt->ops;

	if (ctx->visit == S2MMU_WALK_TABLE_PRE) {
		/* The table below this entry holds entries of level - 1. */
		c->tables[ctx->level - 1]++;
		return 0;
	}
	if (ops->is_leaf(ctx->old, ctx->level))
		s2mmu_check_leaf(c, ctx->addr, ctx->old, ctx->level);
	return 0;
}

/*
 * Is the translation TLB entry @e caches still in the tables: every page
 * it covers maps the same host frame with at least its access?  A huge
 * entry is checked with one lookup while a leaf at least as large holds
 * it, page by page otherwise (a split leaf keeps the translation).
 * Context: mmu_lock held; lockless lookups, never sleeps.
 */
static bool s2mmu_tlb_entry_backed(struct s2mmu_pgtable *pgt,
				   const struct s2mmu_tlb_entry *e)
{
	u64 i, nr = 1ULL << e->order;
	struct s2mmu_pt_info info;
	u32 need = 0;

	if (e->access & S2MMU_ACCESS_R)
		need |= S2MMU_PROT_R;
	if (e->access & S2MMU_ACCESS_X)
		need |= S2MMU_PROT_X;
	if (e->access & S2MMU_ACCESS_W)
		need |= S2MMU_PROT_W | S2MMU_PROT_DIRTY;
	for (i = 0; i < nr; i++) {
		if (s2mmu_pgtable_lookup(pgt, (e->gfn + i) << PAGE_SHIFT, 0,
					 &info) ||
		    info.pa >> PAGE_SHIFT != e->pfn + i ||
		    (info.prot & need) != need)
			return false;
		if (!i && s2mmu_pt_level_shift(info.level) - PAGE_SHIFT >=
			  e->order)
			return true;
	}
	return true;
}

/* An idle vCPU's TLB entries must all be backed by the tables. */
static void s2mmu_check_tlb(struct s2mmu_check *c, struct s2mmu_vcpu *vcpu)
{
	unsigned int i;

	if (test_bit(S2MMU_REQ_TLB_FLUSH, &vcpu->requests))
		return;
	for (i = 0; i < S2MMU_TLB_ENTRIES; i++)
		if (vcpu->tlb[i].valid &&
		    !s2mmu_tlb_entry_backed(&c->vm->pgt, &vcpu->tlb[i]))
			c->res->stale_tlb++;
	for (i = 0; i < S2MMU_TLB_HUGE_ENTRIES; i++)
		if (vcpu->tlb_huge[i].valid &&
		    !s2mmu_tlb_entry_backed(&c->vm->pgt, &vcpu->tlb_huge[i]))
			c->res->stale_tlb++;
}

static bool s2mmu_invariants_broken(const struct s2mmu_invariants *r)
{
	return r->no_slot || r->host_unmapped || r->bad_pfn || r->bad_write ||
	       r->bad_huge || r->bad_accounting || r->stale_tlb;
}

/**
 * s2mmu_check_invariants() - handle S2MMU_CHECK_INVARIANTS.
 * @vm: the VM; the caller's mm is vm->mm.
 * @argp: user pointer to a struct s2mmu_invariants, filled in.
 *
 * Context: process context; takes vm->srcu, the mm's mmap_lock for read
 * and vm->mmu_lock for write, then each vCPU mutex in turn (trylock).
 * Sleeps.
 * Return: 0 when every invariant holds, -EUCLEAN when one does not (the
 * counts say which), -EFAULT when @argp cannot be written.
 */
int s2mmu_check_invariants(struct s2mmu_vm *vm, void __user *argp)
{
	struct s2mmu_walker walker = {
		.cb	= s2mmu_check_visit,
		.flags	= S2MMU_WALK_LEAF | S2MMU_WALK_TABLE_PRE,
	};
	struct s2mmu_invariants res = { };
	struct s2mmu_check c = { .vm = vm, .res = &res };
	unsigned int i, n;
	int idx, ret;

	walker.arg = &c;
	idx = srcu_read_lock(&vm->srcu);
	mmap_read_lock(vm->mm);
	write_lock(&vm->mmu_lock);

	s2mmu_pgtable_walk(&vm->pgt, 0, s2mmu_vm_config_max_gpa(&vm->cfg),
			   &walker);
	c.tables[vm->pgt.levels - 1]++;	/* the root */
	for (i = 0; i < vm->pgt.levels; i++) {
		res.tables += c.tables[i];
		if (c.tables[i] != atomic_long_read(&vm->pgt.tables[i]))
			res.bad_accounting++;
	}

	write_unlock(&vm->mmu_lock);
	mmap_read_unlock(vm->mm);
	srcu_read_unlock(&vm->srcu, idx);

	/*
	 * One idle vCPU at a time: its mutex keeps it out of guest mode, and
	 * mmu_lock (read) keeps zaps from changing the tables under the
	 * check; faults of other vCPUs only add translations.
	 */
	n = smp_load_acquire(&vm->nr_vcpus);
	for (i = 0; i < n; i++) {
		struct s2mmu_vcpu *vcpu = vm->vcpus[i];

		if (!mutex_trylock(&vcpu->mutex)) {
			res.vcpus_skipped++;
			continue;
		}
		read_lock(&vm->mmu_lock);
		s2mmu_check_tlb(&c, vcpu);
		read_unlock(&vm->mmu_lock);
		mutex_unlock(&vcpu->mutex);
	}

	ret = s2mmu_invariants_broken(&res) ? -EUCLEAN : 0;
	if (copy_to_user(argp, &res, sizeof(res)))
		return -EFAULT;
	return ret;
}
