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
	/*
	 * A leaf over a private frame must be a 4 KiB one on the frame's
	 * guest_memfd page (a punch or a close frees the page only after
	 * zapping the leaf under mmu_lock, which is held); a huge leaf over
	 * one, shared or not, is wrong.
	 */
	if (s2mmu_gfn_range_has_private(c->vm, gfn, gfn + npages)) {
		u64 pfn = level ? 0 : s2mmu_gmem_peek_pfn(slot, gfn);

		if (!pfn || pfn != ops->leaf_pa(pte, level) >> PAGE_SHIFT)
			c->res->bad_private++;
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

/*
 * Count the tables per level of the entries they hold, the root included.
 * A walk that does not descend into 4 KiB tables: one step per entry of a
 * table above the last level, so it stays short under mmu_lock even for a
 * large tree (512 steps per GiB of 4 KiB mappings).
 */
static void s2mmu_count_tables(struct s2mmu_check *c)
{
	struct s2mmu_pgtable *pgt = &c->vm->pgt;
	struct s2mmu_pt_iter it;

	rcu_read_lock();
	for (s2mmu_pt_iter_start(&it, pgt, 0, s2mmu_vm_config_max_gpa(&c->vm->cfg),
				 1); it.valid; s2mmu_pt_iter_next(&it))
		if (pgt->ops->is_table(it.old, it.level))
			c->tables[it.level - 1]++;
	rcu_read_unlock();
	c->tables[pgt->levels - 1]++;
}

/*
 * Check every leaf, yielding mmu_lock (write) as a zap does: each leaf is
 * checked with the lock held, which is what makes the check exact, and
 * the walk resumes where it stood.
 */
static void s2mmu_check_leaves(struct s2mmu_check *c)
	__must_hold(&c->vm->mmu_lock)
{
	struct s2mmu_pgtable *pgt = &c->vm->pgt;
	struct s2mmu_pt_op op = {
		.mmu_lock	= &c->vm->mmu_lock,
		.may_yield	= true,
	};
	struct s2mmu_pt_iter it;

	rcu_read_lock();
	for (s2mmu_pt_iter_start(&it, pgt, 0, s2mmu_vm_config_max_gpa(&c->vm->cfg),
				 0); it.valid; s2mmu_pt_iter_next(&it)) {
		if (s2mmu_pt_iter_cond_resched(&it, &op))
			continue;
		if (pgt->ops->is_leaf(it.old, it.level))
			s2mmu_check_leaf(c, it.addr, it.old, it.level);
	}
	rcu_read_unlock();
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

/*
 * An idle vCPU's TLB entries must all be backed by the tables.  A vCPU
 * with a flush request, or any vCPU while a zapper or collapsing fault
 * has a claimed flush still pending (its request may not be set yet), is
 * about to flush: its TLB is not held against it.
 */
static void s2mmu_check_tlb(struct s2mmu_check *c, struct s2mmu_vcpu *vcpu)
	__must_hold(&c->vm->mmu_lock)
{
	unsigned int i;

	/*
	 * The claim first, with acquire: s2mmu_mmu_flush_finish() sets the
	 * requests before it releases the claim, so a claim seen gone means
	 * the request is visible.  (The other order could miss both.)
	 */
	if (atomic_read_acquire(&c->vm->tlb_flush_pending) ||
	    test_bit(S2MMU_REQ_TLB_FLUSH, &vcpu->requests))
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
 * and vm->mmu_lock for write (yielding it during the leaf walk, as a zap
 * does), then each vCPU mutex in turn (trylock).  Sleeps.
 * Return: 0 when every invariant holds, -EUCLEAN when one does not (the
 * counts say which), -EFAULT when @argp cannot be written.
 */
int s2mmu_check_invariants(struct s2mmu_vm *vm, void __user *argp)
{
	struct s2mmu_invariants res = { };
	struct s2mmu_check c = { .vm = vm, .res = &res };
	unsigned int i, n;
	int idx, ret;

	idx = srcu_read_lock(&vm->srcu);
	mmap_read_lock(vm->mm);
	write_lock(&vm->mmu_lock);

	/* Counted without a break, so the counts are of one instant. */
	s2mmu_count_tables(&c);
	for (i = 0; i < vm->pgt.levels; i++) {
		res.tables += c.tables[i];
		if (c.tables[i] != atomic_long_read(&vm->pgt.tables[i]))
			res.bad_accounting++;
	}
	s2mmu_check_leaves(&c);

	write_unlock(&vm->mmu_lock);
	mmap_read_unlock(vm->mm);
	srcu_read_unlock(&vm->srcu, idx);

	/*
	 * One idle vCPU at a time: its mutex keeps it out of guest mode, and
	 * mmu_lock (write) keeps zaps and collapsing faults (which change
	 * tables under the read lock) from changing the tables under the
	 * check.
	 */
	n = smp_load_acquire(&vm->nr_vcpus);
	for (i = 0; i < n; i++) {
		struct s2mmu_vcpu *vcpu = vm->vcpus[i];

		if (!mutex_trylock(&vcpu->mutex)) {
			res.vcpus_skipped++;
			continue;
		}
		write_lock(&vm->mmu_lock);
		s2mmu_check_tlb(&c, vcpu);
		write_unlock(&vm->mmu_lock);
		mutex_unlock(&vcpu->mutex);
	}

	ret = s2mmu_invariants_broken(&res) ? -EUCLEAN : 0;
	if (copy_to_user(argp, &res, sizeof(res)))
		return -EFAULT;
	return ret;
}
