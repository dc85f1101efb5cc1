// SPDX-License-Identifier: GPL-2.0
/*
 * The invalidation bookkeeping shared by the notifier callbacks
 * (notifier/notifier.c) and the fault path (mmu/fault.c), kept apart from
 * the mmu_notifier glue so it can be tested without an mm.
 *
 * An invalidation counts itself in vm->mmu_invalidate_in_progress, widens
 * [vm->mmu_invalidate_range_start, vm->mmu_invalidate_range_end) over the
 * guest frames every slot maps at its host range (the union over all the
 * invalidations in progress; it restarts empty when the first of a new
 * batch begins) and zaps them.  Its end bumps vm->mmu_invalidate_seq.  A
 * fault retries while a frame it maps is in the range, or when the
 * sequence moved since it looked up the page.
 */
#include <linux/lockdep.h>
#include <linux/minmax.h>

#include "s2mmu.h"

/**
 * s2mmu_mmu_invalidate_begin() - count an invalidation in progress.
 * @vm: the VM.
 *
 * The first of a batch (none in progress before) empties the range.
 *
 * Context: mmu_lock held for write.
 */
void s2mmu_mmu_invalidate_begin(struct s2mmu_vm *vm)
	__must_hold(&vm->mmu_lock)
{
	if (++vm->mmu_invalidate_in_progress == 1) {
		vm->mmu_invalidate_range_start = U64_MAX;
		vm->mmu_invalidate_range_end = 0;
	}
}

static int s2mmu_mmu_invalidate_slot(struct s2mmu_vm *vm,
				     struct s2mmu_memslot *slot,
				     u64 gfn_start, u64 gfn_end, void *data)
	__must_hold(&vm->mmu_lock)
{
	vm->mmu_invalidate_range_start = min(vm->mmu_invalidate_range_start,
					     gfn_start);
	vm->mmu_invalidate_range_end = max(vm->mmu_invalidate_range_end,
					   gfn_end);
	return s2mmu_mmu_zap_gfn_range_locked(vm, gfn_start, gfn_end);
}

/**
 * s2mmu_mmu_invalidate_hva_range() - widen the range in progress over the
 * guest frames a host range backs, and zap them.
 * @vm: the VM.
 * @start: first host virtual address.
 * @end: first host virtual address past the range.
 *
 * Never yields.
 *
 * Context: mmu_lock held for write, after s2mmu_mmu_invalidate_begin(),
 * between s2mmu_mn_reader_begin() and s2mmu_mn_reader_end().
 * Return: true when the caller must flush the vCPU TLBs.
 */
bool s2mmu_mmu_invalidate_hva_range(struct s2mmu_vm *vm, unsigned long start,
				    unsigned long end)
	__must_hold(&vm->mmu_lock)
{
	return s2mmu_for_each_hva_slot(vm, start, end,
				       s2mmu_mmu_invalidate_slot, NULL);
}

/**
 * s2mmu_mmu_invalidate_end() - end what s2mmu_mmu_invalidate_begin()
 * began: bump the sequence and drop the count.
 * @vm: the VM.
 *
 * The range is left as it is; the next batch's first begin empties it.
 *
 * Context: mmu_lock held for write.
 */
void s2mmu_mmu_invalidate_end(struct s2mmu_vm *vm)
	__must_hold(&vm->mmu_lock)
{
	vm->mmu_invalidate_seq++;
	if (!WARN_ON_ONCE(!vm->mmu_invalidate_in_progress))
		vm->mmu_invalidate_in_progress--;
}

/**
 * s2mmu_mmu_invalidate_retry() - must a fault on a frame start over?
 * @vm: the VM.
 * @gfn: the guest frame the fault maps.
 * @seq: vm->mmu_invalidate_seq as read before the fault looked up the page.
 *
 * Context: mmu_lock held (read or write).
 * Return: true while an invalidation in progress covers @gfn, or when one
 * ended since @seq was read; false otherwise.
 */
bool s2mmu_mmu_invalidate_retry(struct s2mmu_vm *vm, u64 gfn,
				unsigned long seq)
	__must_hold(&vm->mmu_lock)
{
	lockdep_assert_held(&vm->mmu_lock);
	if (vm->mmu_invalidate_in_progress &&
	    gfn >= vm->mmu_invalidate_range_start &&
	    gfn < vm->mmu_invalidate_range_end)
		return true;
	return vm->mmu_invalidate_seq != seq;
}
