// SPDX-License-Identifier: GPL-2.0
/*
 * Invalidations in guest frame space: the bookkeeping a fault checks
 * before it installs a leaf (KVM's mmu_invalidate_*), and the zap.
 *
 * An invalidation counts itself in vm->mmu_invalidate_in_progress,
 * widens [vm->mmu_invalidate_range_start, vm->mmu_invalidate_range_end)
 * over each gfn range it invalidates (the union over all the
 * invalidations in progress; it restarts empty when the first of a new
 * batch begins) and zaps it.  Its end bumps vm->mmu_invalidate_seq.  A
 * fault retries while a frame it maps is in the range, or when the
 * sequence moved since it looked up the page.  The CPU0/CPU1 table is in
 * Documentation/locking.rst ("Faults against invalidations").
 *
 * Callers translate their own address space to gfn ranges first: the
 * notifier glue from host virtual addresses (notifier/hva.c).
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
	/* WRITE_ONCE: s2mmu_mmu_invalidate_retry_unsafe() reads locklessly. */
	WRITE_ONCE(vm->mmu_invalidate_in_progress,
		   vm->mmu_invalidate_in_progress + 1);
	if (vm->mmu_invalidate_in_progress == 1) {
		WRITE_ONCE(vm->mmu_invalidate_range_start, U64_MAX);
		WRITE_ONCE(vm->mmu_invalidate_range_end, 0);
	}
}

/**
 * s2mmu_mmu_invalidate_range_add() - widen the range in progress over a
 * gfn range, and zap it.
 * @vm: the VM.
 * @start: first guest frame.
 * @end: first guest frame past the range.
 * @yield: whether the zap may drop mmu_lock to reschedule (see
 *         s2mmu_mmu_zap_gfn_range_locked()).
 * @flush: a flush is already pending (an earlier range's zap).
 *
 * The frames join the range before they are zapped, so a fault that takes
 * mmu_lock while the zap yields retries on any frame already zapped;
 * frames not reached yet are still mapped by the host (the core mm
 * changes its page tables only after invalidate_range_start returns) and
 * are zapped when the walk gets to them.  The zap flushes the vCPU TLBs
 * before every yield with a flush pending.
 *
 * Context: mmu_lock held for write, after s2mmu_mmu_invalidate_begin();
 * sleeps unless @yield is S2MMU_ZAP_NO_YIELD.
 * Return: true when the caller must flush the vCPU TLBs.
 */
bool s2mmu_mmu_invalidate_range_add(struct s2mmu_vm *vm, u64 start, u64 end,
				    enum s2mmu_zap_yield yield, bool flush)
	__must_hold(&vm->mmu_lock)
{
	lockdep_assert_held_write(&vm->mmu_lock);
	WRITE_ONCE(vm->mmu_invalidate_range_start,
		   min(vm->mmu_invalidate_range_start, start));
	WRITE_ONCE(vm->mmu_invalidate_range_end,
		   max(vm->mmu_invalidate_range_end, end));
	return s2mmu_mmu_zap_gfn_range_locked(vm, start, end, yield, flush);
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
	WRITE_ONCE(vm->mmu_invalidate_seq, vm->mmu_invalidate_seq + 1);
	if (!WARN_ON_ONCE(!vm->mmu_invalidate_in_progress))
		WRITE_ONCE(vm->mmu_invalidate_in_progress,
			   vm->mmu_invalidate_in_progress - 1);
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
	return s2mmu_mmu_invalidate_retry_range(vm, gfn, gfn + 1, seq);
}

/**
 * s2mmu_mmu_invalidate_retry_range() - s2mmu_mmu_invalidate_retry() for
 * a fault that maps the frames [start, end) with one leaf.
 * @vm: the VM.
 * @start: the leaf's first frame.
 * @end: the frame after its last.
 * @seq: vm->mmu_invalidate_seq as read before the fault looked up the page.
 *
 * A huge leaf needs the whole range: an attribute change of one of its
 * frames in progress (zapped, the new attribute maybe not yet visible to
 * the fault) must make a huge shared fault retry, even though the frame
 * it faulted on is outside the change.
 *
 * Context: mmu_lock held (read or write).
 * Return: true while an invalidation in progress overlaps [start, end),
 * or when one ended since @seq was read; false otherwise.
 */
bool s2mmu_mmu_invalidate_retry_range(struct s2mmu_vm *vm, u64 start, u64 end,
				      unsigned long seq)
	__must_hold(&vm->mmu_lock)
{
	lockdep_assert_held(&vm->mmu_lock);
	if (vm->mmu_invalidate_in_progress &&
	    start < vm->mmu_invalidate_range_end &&
	    end > vm->mmu_invalidate_range_start)
		return true;
	return vm->mmu_invalidate_seq != seq;
}

/**
 * s2mmu_mmu_invalidate_retry_unsafe() - s2mmu_mmu_invalidate_retry()
 * without mmu_lock, as a cheap early test.
 * @vm: the VM.
 * @gfn: the guest frame the fault maps.
 * @seq: vm->mmu_invalidate_seq as read before the fault looked up the page.
 *
 * The fault path calls it before GUP: while a long invalidation covers the
 * frame, looking the page up again would only be thrown away.  Racy both
 * ways (hence "unsafe"): it may miss an invalidation that just began, or
 * see one that just ended; the check under mmu_lock is what decides.
 *
 * Context: any; reads the bookkeeping with READ_ONCE().
 * Return: true when the fault should retry without looking up the page.
 */
bool s2mmu_mmu_invalidate_retry_unsafe(struct s2mmu_vm *vm, u64 gfn,
				       unsigned long seq)
{
	if (unlikely(READ_ONCE(vm->mmu_invalidate_in_progress)) &&
	    gfn >= READ_ONCE(vm->mmu_invalidate_range_start) &&
	    gfn < READ_ONCE(vm->mmu_invalidate_range_end))
		return true;
	return READ_ONCE(vm->mmu_invalidate_seq) != seq;
}
