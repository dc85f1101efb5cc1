// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of a stage-2 fault: the page behind a user address (GUP)
 * and the level the host maps it at.  A leaf of the MMU: it calls nothing
 * else in s2mmu.
 */
#include <linux/mm.h>
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

/**
 * s2mmu_host_get_page() - the page the current mm maps at a user address.
 * @hva: the address.
 * @write: the access writes: ask for write access (breaking COW).
 * @may_write: the mapping may be made writable: on a read, report
 *             *@writable when the host PTE already is.
 * @page: the page, with a reference (no long-term pin: the notifier keeps
 *        the stage-2 entry coherent).
 * @writable: whether the stage-2 entry may map @page writable.
 *
 * The slow path faults the page in only within a VMA of the VM's mm (the
 * caller's): an hva that no VMA covers, such as a slot whose memory was
 * unmapped, is not mapped, and GUP is not asked about it.  GUP would
 * refuse it too, but warns with a stack dump ("GUP no longer grows the
 * stack") when it lies just below a VM_GROWSDOWN VMA; older kernels grew
 * the stack over the slot instead.  The VMA stays put under mmap_lock
 * until GUP has the page, unless GUP drops the lock to wait and retries.
 *
 * Context: process context of the VM's mm; sleeps.
 * Return: 0, -EFAULT when the host has no (suitable) mapping, -EHWPOISON,
 * or -EINTR when a fatal signal interrupted the host fault.
 */
int s2mmu_host_get_page(unsigned long hva, bool write, bool may_write,
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
 * s2mmu_host_vma_flags() - the flags of the current mm's VMA at an address.
 * @hva: the user address.
 * @vm_flags: out: the VMA's vm_flags, 0 when no VMA covers @hva.
 *
 * For the fault path of VM types whose prepare_page depends on the kind
 * of host memory (MTE VMs: VM_MTE_ALLOWED).  Read after the fault's
 * invalidation sequence: a VMA change that matters unmaps the page, and
 * the retry check under mmu_lock sees that invalidation.
 *
 * Context: process context of the VM's mm; sleeps (mmap_lock).
 * Return: 0, or -EINTR when a fatal signal interrupted the wait.
 */
int s2mmu_host_vma_flags(unsigned long hva, unsigned long *vm_flags)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, hva);
	*vm_flags = vma ? vma->vm_flags : 0;
	mmap_read_unlock(mm);
	return 0;
}
