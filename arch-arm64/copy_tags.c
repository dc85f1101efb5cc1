// SPDX-License-Identifier: GPL-2.0
/*
 * S2MMU_ARM64_MTE_COPY_TAGS: the VMM copies the allocation tags of guest
 * memory to or from a buffer (migration), as KVM_ARM_MTE_COPY_TAGS does.
 * It uses the memory slots (mmu/memslot.c) and the host page lookup
 * (mmu/host.c), and the tag accessors of arch-arm64/mte.c.  Locking:
 * Documentation/locking.rst, "MTE tags".
 */
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "s2mmu.h"

/* Tags per 4 KiB page: one per 16-byte granule. */
#define S2MMU_TAGS_PER_PAGE	(PAGE_SIZE / S2MMU_MTE_GRANULE_SIZE)

/* Copy the tags of one guest page; 0 or -EFAULT. */
static int s2mmu_copy_page_tags(struct s2mmu_vm *vm, u64 gfn, u8 __user *utags,
				bool to_guest, u8 *buf)
	__must_hold(&vm->slots_lock)
{
	struct s2mmu_memslot *slot;
	struct page *page;
	unsigned long hva;
	bool writable;
	int ret;

	slot = s2mmu_gfn_to_memslot(vm, gfn);
	if (!slot || (slot->flags & S2MMU_SLOT_INVALID))
		return -EFAULT;
	if (to_guest && (slot->flags & S2MMU_MEM_READONLY))
		return -EFAULT;
	hva = slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);

	/* The buffer first, so no user fault happens under PG_mte_lock. */
	if (to_guest && copy_from_user(buf, utags, S2MMU_TAGS_PER_PAGE))
		return -EFAULT;
	if (s2mmu_host_get_page(hva, to_guest, false, &page, &writable))
		return -EFAULT;
	ret = -EFAULT;
	/* ZONE_DEVICE memory may have no tags. */
	if (!pfn_to_online_page(page_to_pfn(page)))
		goto out;
	if (to_guest) {
		s2mmu_arm64_mte_set_page_tags(page, buf);
		set_page_dirty_lock(page);
	} else if (s2mmu_arm64_mte_page_tagged(page)) {
		s2mmu_arm64_mte_load_tags(page_address(page), buf,
					  S2MMU_TAGS_PER_PAGE);
	} else {
		/* No tags initialised: the page reads as tags 0. */
		memset(buf, 0, S2MMU_TAGS_PER_PAGE);
	}
	ret = 0;
out:
	put_page(page);
	if (!ret && !to_guest &&
	    copy_to_user(utags, buf, S2MMU_TAGS_PER_PAGE))
		ret = -EFAULT;
	return ret;
}

/**
 * s2mmu_arm64_mte_copy_tags() - handle S2MMU_ARM64_MTE_COPY_TAGS.
 * @vm: the VM.
 * @argp: user pointer to a struct s2mmu_arm64_copy_mte_tags.
 *
 * As KVM_ARM_MTE_COPY_TAGS: page by page, under vm->slots_lock (no slot
 * changes meanwhile), each page looked up through its slot as a fault
 * would (written for TO_GUEST, which needs a writable slot).  TO_GUEST
 * sets the page's tags and PG_mte_tagged, so a later stage-2 mapping
 * keeps them; FROM_GUEST reads an untagged page as zeros.  A page whose
 * tag buffer cannot be read is left untouched (KVM clears its tags).
 *
 * Context: process context of the VM's mm; sleeps.
 * Return: the guest bytes whose tags were copied when any were (the copy
 * stopped at the first failing page); otherwise -EBUSY (TO_GUEST while a
 * slot logs dirty pages, as KVM), -EINVAL (not an MTE VM,
 * unknown flags, non-zero reserved, ipa or length not page aligned,
 * length above INT_MAX), -EFAULT (bad argument pointer or tag buffer, a
 * page in no slot, a read-only slot for TO_GUEST, host memory that cannot
 * be looked up or has no tags), or 0 for length 0.
 */
long s2mmu_arm64_mte_copy_tags(struct s2mmu_vm *vm, void __user *argp)
{
	struct s2mmu_arm64_copy_mte_tags ct;
	u8 buf[S2MMU_TAGS_PER_PAGE];
	u8 __user *utags;
	bool to_guest;
	u64 gfn, left;
	int ret = 0;

	if (copy_from_user(&ct, argp, sizeof(ct)))
		return -EFAULT;
	if (ct.reserved[0] || ct.reserved[1])
		return -EINVAL;
	if (ct.flags & ~S2MMU_ARM64_MTE_TAGS_FROM_GUEST)
		return -EINVAL;
	if (!PAGE_ALIGNED(ct.guest_ipa) || !PAGE_ALIGNED(ct.length))
		return -EINVAL;
	/* The return value must be able to say how much was copied. */
	if (ct.length > INT_MAX)
		return -EINVAL;

	to_guest = !(ct.flags & S2MMU_ARM64_MTE_TAGS_FROM_GUEST);
	utags = u64_to_user_ptr(ct.addr);
	gfn = ct.guest_ipa >> PAGE_SHIFT;
	left = ct.length;

	mutex_lock(&vm->slots_lock);
	/*
	 * cfg.mte under slots_lock: S2MMU_ENABLE_CAP may set it while no
	 * slot exists, and sets it under this lock.
	 */
	if (!vm->cfg.mte) {
		mutex_unlock(&vm->slots_lock);
		return -EINVAL;
	}
	/*
	 * As KVM: tags written while pages are logged would change guest
	 * memory behind the dirty log's back.
	 */
	if (to_guest && vm->nr_dirty_slots) {
		mutex_unlock(&vm->slots_lock);
		return -EBUSY;
	}
	while (left) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		ret = s2mmu_copy_page_tags(vm, gfn, utags, to_guest, buf);
		if (ret)
			break;
		gfn++;
		utags += S2MMU_TAGS_PER_PAGE;
		left -= PAGE_SIZE;
		cond_resched();
	}
	mutex_unlock(&vm->slots_lock);

	if (left != ct.length)
		return ct.length - left;
	return ret;
}
