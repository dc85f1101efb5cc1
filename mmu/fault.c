// SPDX-License-Identifier: GPL-2.0
/*
 * The stage-2 fault path.
 *
 *  1. Find the slot (under vm->srcu, held by the caller); a write to a
 *     read-only slot is refused.
 *  2. Top up the vCPU's table page cache: nothing is allocated later.
 *  3. Snapshot vm->mmu_invalidate_seq.
 *  4. Resolve hva -> page with GUP, fast path first.  A write fault asks
 *     for write access (breaking COW); a read fault on a writable slot maps
 *     writable only if the host PTE already is, else read-only, and a later
 *     write faults again.  No long-term pin: the reference is dropped once
 *     the entry is installed, the notifier keeps the entry coherent.
 *  5. Read the host mapping level (THP, hugetlb) from the host page tables
 *     and clip it to what the slot's alignment allows.
 *  6. Under mmu_lock for read: retry if an invalidation in progress covers
 *     the frame or the sequence moved since step 3 (the page from step 4
 *     may already be unmapped by the host); else install with cmpxchg, so
 *     vCPUs fault in parallel.
 */
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pgtable.h>
#include <linux/sched/signal.h>

#include "s2mmu.h"
#include "s2mmu_compat.h"

/**
 * s2mmu_host_walk() - what the host page tables map at a user address.
 * @mm: the mm.
 * @hva: the address.
 * @host: filled: present, level (0: 4 KiB, 1: PMD, 2: PUD), the pfn of the
 *        4 KiB page at @hva, and whether the mapping is writable.
 *
 * A lockless walk like GUP-fast's, with interrupts off so page table pages
 * cannot be freed under it.  The fault path uses the level as a hint,
 * validated by the invalidation sequence; CHECK_INVARIANTS calls it with
 * mmu_lock held for write, when no mapped address can change.
 */
void s2mmu_host_walk(struct mm_struct *mm, unsigned long hva,
		     struct s2mmu_host_map *host)
{
	unsigned long flags;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;
	pte_t pte;

	memset(host, 0, sizeof(*host));
	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (pud_none(pud) || !pud_present(pud))
		goto out;
	if (pud_leaf(pud)) {
		host->present = true;
		host->level = 2;
		host->writable = pud_write(pud);
		host->pfn = pud_pfn(pud) + ((hva & ~PUD_MASK) >> PAGE_SHIFT);
		goto out;
	}
	pmd = pmdp_get_lockless(pmd_offset(&pud, hva));
	if (pmd_none(pmd) || !pmd_present(pmd))
		goto out;
	if (pmd_leaf(pmd)) {
		host->present = true;
		host->level = 1;
		host->writable = pmd_write(pmd);
		host->pfn = pmd_pfn(pmd) + ((hva & ~PMD_MASK) >> PAGE_SHIFT);
		goto out;
	}
	/* 64-bit: page table pages are in the direct map. */
	pte = ptep_get_lockless(pte_offset_kernel(&pmd, hva));
	if (pte_present(pte)) {
		host->present = true;
		host->writable = pte_write(pte);
		host->pfn = pte_pfn(pte);
	}
out:
	local_irq_restore(flags);
}

/* Largest level <= @level whose aligned block lies in @slot at @gfn. */
static int s2mmu_slot_level(struct s2mmu_memslot *slot, u64 gfn,
			    unsigned long hva, int level)
{
	for (; level > 0; level--) {
		u64 npages = 1ULL << (level * 9);
		u64 base = gfn & ~(npages - 1);

		if (((hva >> PAGE_SHIFT) & (npages - 1)) != (gfn & (npages - 1)))
			continue;
		if (base >= slot->base_gfn &&
		    base + npages <= slot->base_gfn + slot->npages)
			break;
	}
	return level;
}

#ifdef S2MMU_PROVE_MMU
/*
 * Test-only fault injection (the test flavour only): while set, every
 * table cache top-up of the fault path fails as a failed allocation
 * would, so the selftests can check that -ENOMEM fails S2MMU_RUN and
 * S2MMU_PRE_FAULT_MEMORY instead of being reported as a guest exit.
 */
static bool test_fail_table_topup;
module_param(test_fail_table_topup, bool, 0600);
MODULE_PARM_DESC(test_fail_table_topup,
		 "TEST ONLY: stage-2 faults fail their table cache top-up (-ENOMEM)");

/* The fault path's table cache top-up result @ret, or the injected one. */
static int s2mmu_topup_result(int ret)
{
	return READ_ONCE(test_fail_table_topup) ? -ENOMEM : ret;
}
#else
static inline int s2mmu_topup_result(int ret)
{
	return ret;
}
#endif

/*
 * hva -> page.  Return 0 with a page reference and *writable, -EFAULT when
 * the host has no (suitable) mapping, -EHWPOISON, or -EINTR when a fatal
 * signal interrupted the host fault.
 *
 * The slow path faults the page in only within a VMA of the VM's mm (the
 * caller's): an hva that no VMA covers, such as a slot whose memory was
 * unmapped, is not mapped, and GUP is not asked about it.  GUP would
 * refuse it too, but warns with a stack dump ("GUP no longer grows the
 * stack") when it lies just below a VM_GROWSDOWN VMA; older kernels grew
 * the stack over the slot instead.  The VMA stays put under mmap_lock
 * until GUP has the page, unless GUP drops the lock to wait and retries.
 */
static int s2mmu_hva_to_page(unsigned long hva, bool write, bool may_write,
			     struct page **page, bool *writable)
{
	unsigned int flags = FOLL_HWPOISON;
	struct mm_struct *mm = current->mm;
	int locked = 1;
	long n;

	*writable = write;
	if (write)
		flags |= FOLL_WRITE;
	/* Map writable on a read fault only if the host PTE already is. */
	if (!write && may_write && get_user_page_fast_only(hva, FOLL_WRITE, page)) {
		*writable = true;
		return 0;
	}
	if (get_user_page_fast_only(hva, write ? FOLL_WRITE : 0, page))
		return 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	if (!vma_lookup(mm, hva)) {
		mmap_read_unlock(mm);
		return -EFAULT;
	}
	n = s2mmu_get_user_pages_locked(mm, hva, 1, flags, page, &locked);
	if (locked)
		mmap_read_unlock(mm);
	if (n == 1)
		return 0;
	if (n == -EHWPOISON)
		return -EHWPOISON;
	if (fatal_signal_pending(current))
		return -EINTR;
	return -EFAULT;
}

/**
 * s2mmu_map_gfn() - resolve a stage-2 fault on one guest frame.
 * @vcpu: the faulting vCPU (its table page cache is used).
 * @gfn: the guest frame.
 * @access: S2MMU_ACCESS_R/W/X needed.
 * @level: if not NULL, set to the level of the installed leaf.
 *
 * Context: process context of the VM's mm, inside vm->srcu; sleeps.
 * Return: 0 once a leaf allowing @access maps @gfn (retry the access);
 * -ENOENT when @gfn is in no slot; -EAGAIN while its slot is being moved
 * (the caller leaves vm->srcu, so the move can finish, and retries);
 * -EROFS for a write to a read-only slot; -EFAULT when the host memory
 * cannot be mapped; -EHWPOISON; -EINTR when a signal is pending; -ENOMEM;
 * -EOVERFLOW for a host frame the stage-2 format cannot address.
 */
int s2mmu_map_gfn(struct s2mmu_vcpu *vcpu, u64 gfn, unsigned int access,
		  int *level)
{
	struct s2mmu_vm *vm = vcpu->vm;
	struct s2mmu_host_map host;
	struct s2mmu_memslot *slot;
	unsigned long hva, seq;
	struct page *page;
	bool writable, flush;
	int ret, lvl;
	u64 pfn;

	slot = s2mmu_gfn_to_memslot_cached(vm, &vcpu->slot_cache, gfn);
	if (!slot)
		return -ENOENT;
	/* A slot being moved: wait for the move, outside vm->srcu. */
	if (slot->flags & S2MMU_SLOT_INVALID)
		return -EAGAIN;
	if ((access & S2MMU_ACCESS_W) && (slot->flags & S2MMU_MEM_READONLY))
		return -EROFS;
	hva = slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);

	for (;;) {
		if (signal_pending(current))
			return -EINTR;
		ret = s2mmu_table_cache_topup(&vcpu->cache, vm->pgt.levels);
		ret = s2mmu_topup_result(ret);
		if (ret)
			return ret;

		seq = READ_ONCE(vm->mmu_invalidate_seq);
		/* The sequence is read before the page; pairs with mmu_lock. */
		smp_rmb();
		/*
		 * While an invalidation covers the frame, a page looked up
		 * now would be thrown away under mmu_lock: wait it out
		 * without GUP.
		 */
		if (s2mmu_mmu_invalidate_retry_unsafe(vm, gfn, seq)) {
			vcpu->stat.fault_retries++;
			cond_resched();
			continue;
		}
		ret = s2mmu_hva_to_page(hva, access & S2MMU_ACCESS_W,
					!(slot->flags & S2MMU_MEM_READONLY),
					&page, &writable);
		if (ret)
			return ret;
		s2mmu_host_walk(vm->mm, hva, &host);
		lvl = s2mmu_slot_level(slot, gfn, hva,
				       min_t(int, host.level,
					     S2MMU_PT_MAX_LEAF_LEVEL));
		pfn = page_to_pfn(page) -
		      (gfn & ((1ULL << (lvl * 9)) - 1));

		flush = false;
		read_lock(&vm->mmu_lock);
		if (vm->mm_released) {
			ret = -EFAULT;
		} else if (s2mmu_mmu_invalidate_retry(vm, gfn, seq)) {
			ret = -EAGAIN;
		} else {
			ret = s2mmu_mmu_install(vm, &vcpu->cache, gfn, pfn, &lvl,
						writable, &flush);
		}
		/* A collapse removed small leaves: claimed as a zap's flush. */
		flush = flush && s2mmu_mmu_flush_claim(vm, true);
		read_unlock(&vm->mmu_lock);
		if (flush)
			s2mmu_mmu_flush_finish(vm);

		/* The guest may write through a writable entry at any time. */
		if (!ret && writable)
			set_page_dirty_lock(page);
		put_page(page);
		if (ret != -EAGAIN)
			break;
		vcpu->stat.fault_retries++;
		cond_resched();
	}
	if (!ret) {
		vcpu->stat.faults++;
		if (level)
			*level = lvl;
	}
	return ret;
}

/**
 * s2mmu_fault() - handle a stage-2 fault a vCPU took at @gpa.
 * @vcpu: the vCPU.
 * @gpa: the guest physical address.
 * @access: S2MMU_ACCESS_R/W/X needed.
 *
 * Return: as s2mmu_map_gfn().
 */
int s2mmu_fault(struct s2mmu_vcpu *vcpu, u64 gpa, unsigned int access)
{
	return s2mmu_map_gfn(vcpu, gpa >> PAGE_SHIFT, access, NULL);
}

/**
 * s2mmu_pre_fault() - map a guest physical range as read faults would.
 * @vcpu: the vCPU whose table cache is used.
 * @gpa: in: start of the range; out: first address not yet mapped.
 * @size: in: length; out: what remains.
 *
 * As KVM_PRE_FAULT_MEMORY: stops at the first error or pending signal,
 * and reports success if anything was mapped; the caller calls again for
 * the rest and then sees the error.
 *
 * Return: 0 when some (or all) of the range was mapped; otherwise -EINTR
 * for a pending signal, -ENOENT for an address in no slot, -EFAULT,
 * -EHWPOISON or -ENOMEM from the fault.
 */
long s2mmu_pre_fault(struct s2mmu_vcpu *vcpu, u64 *gpa, u64 *size)
{
	struct s2mmu_vm *vm = vcpu->vm;
	bool progress = false;
	int idx, ret = 0, level;

	while (*size) {
		u64 gfn = *gpa >> PAGE_SHIFT, next;

		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		idx = srcu_read_lock(&vm->srcu);
		ret = s2mmu_map_gfn(vcpu, gfn, S2MMU_ACCESS_R, &level);
		srcu_read_unlock(&vm->srcu, idx);
		if (ret == -EAGAIN) {
			/* Its slot is being moved: let the move finish. */
			cond_resched();
			continue;
		}
		if (ret)
			break;
		/* Skip what the installed leaf covers. */
		next = ((gfn >> (level * 9)) + 1) << (level * 9 + PAGE_SHIFT);
		next = min(next - *gpa, *size);
		*gpa += next;
		*size -= next;
		progress = true;
		cond_resched();
	}
	return progress ? 0 : ret;
}
