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
 *
 * Only an invalidation of host memory some slot maps is counted at all:
 * unrelated churn in the VMM's address space (malloc, munmap of other
 * memory) leaves faults alone.
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

struct s2mmu_invalidate_ctx {
	enum s2mmu_zap_yield yield;
	bool flush;
};

static int s2mmu_mmu_invalidate_slot(struct s2mmu_vm *vm,
				     struct s2mmu_memslot *slot,
				     u64 gfn_start, u64 gfn_end, void *data)
	__must_hold(&vm->mmu_lock)
{
	struct s2mmu_invalidate_ctx *ctx = data;

	WRITE_ONCE(vm->mmu_invalidate_range_start,
		   min(vm->mmu_invalidate_range_start, gfn_start));
	WRITE_ONCE(vm->mmu_invalidate_range_end,
		   max(vm->mmu_invalidate_range_end, gfn_end));
	/* A flush left pending by an earlier slot travels along. */
	ctx->flush = s2mmu_mmu_zap_gfn_range_locked(vm, gfn_start, gfn_end,
						    ctx->yield, ctx->flush);
	return 0;
}

/**
 * s2mmu_mmu_invalidate_hva_range() - widen the range in progress over the
 * guest frames a host range backs, and zap them.
 * @vm: the VM.
 * @start: first host virtual address.
 * @end: first host virtual address past the range.
 * @yield: whether the zap may drop mmu_lock to reschedule: only for a
 *         blockable notifier range (see s2mmu_mmu_zap_gfn_range_locked()).
 *
 * Each slot's frames join the range before they are zapped, so a fault
 * that takes mmu_lock while the zap yields retries on any frame already
 * zapped; frames not reached yet are still mapped by the host (the core
 * mm changes its page tables only after invalidate_range_start returns)
 * and are zapped when the walk gets to them.  The zap flushes the vCPU
 * TLBs before every yield with a flush pending.
 *
 * Context: mmu_lock held for write, after s2mmu_mmu_invalidate_begin(),
 * between s2mmu_mn_reader_begin() and s2mmu_mn_reader_end(); sleeps
 * unless @yield is S2MMU_ZAP_NO_YIELD.
 * Return: true when the caller must flush the vCPU TLBs.
 */
bool s2mmu_mmu_invalidate_hva_range(struct s2mmu_vm *vm, unsigned long start,
				    unsigned long end,
				    enum s2mmu_zap_yield yield)
	__must_hold(&vm->mmu_lock)
{
	struct s2mmu_invalidate_ctx ctx = { .yield = yield };

	s2mmu_for_each_hva_slot(vm, start, end, s2mmu_mmu_invalidate_slot,
				&ctx);
	return ctx.flush;
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
 * s2mmu_invalidate_range_start() - what invalidate_range_start does.
 * @vm: the VM.
 * @start: first host virtual address.
 * @end: first host virtual address past the range.
 * @yield: whether the zap may drop mmu_lock (a blockable range only).
 * @zap: zap the range (false only for the test flavour's test_skip_zap).
 *
 * Counts the callback as an hva tree reader (until
 * s2mmu_invalidate_range_end()).  When a slot maps part of the range:
 * begins an invalidation, widens the range in progress and zaps, all under
 * mmu_lock (write); then, after dropping it, flushes the vCPU TLBs if this
 * zap removed anything *or another zapper's flush is still pending*.  The
 * second case is the nested zap: an earlier invalidation of the same page
 * zapped it and dropped mmu_lock but has not finished its flush; this one
 * finds nothing left to zap, yet the host frees the page as soon as it
 * returns, so it must not return before some flush that started after the
 * zap has finished (see s2mmu_mmu_flush_claim()).
 *
 * Context: process context, or atomic for a non-blockable range (then
 * @yield must be S2MMU_ZAP_NO_YIELD; the TLB flush only spins).
 * Return: true when an invalidation was begun (a slot overlaps).
 */
bool s2mmu_invalidate_range_start(struct s2mmu_vm *vm, unsigned long start,
				  unsigned long end, enum s2mmu_zap_yield yield,
				  bool zap)
{
	bool flush = false;

	s2mmu_mn_reader_begin(vm);
	if (!s2mmu_hva_range_in_slots(vm, start, end))
		return false;
	write_lock(&vm->mmu_lock);
	s2mmu_mmu_invalidate_begin(vm);
	if (zap)
		flush = s2mmu_mmu_invalidate_hva_range(vm, start, end, yield);
	flush = s2mmu_mmu_flush_claim(vm, flush);
	write_unlock(&vm->mmu_lock);
	if (flush)
		s2mmu_mmu_flush_finish(vm);
	return true;
}

/**
 * s2mmu_invalidate_range_end() - what invalidate_range_end does.
 * @vm: the VM.
 * @start: first host virtual address, as given to the start.
 * @end: first host virtual address past the range.
 *
 * Ends the invalidation s2mmu_invalidate_range_start() began, if it began
 * one: the hva tree has not changed since (this callback is still counted
 * as its reader), so the same slots overlap.  Then stops counting.
 *
 * Context: process context or atomic; never sleeps.
 */
void s2mmu_invalidate_range_end(struct s2mmu_vm *vm, unsigned long start,
				unsigned long end)
{
	if (s2mmu_hva_range_in_slots(vm, start, end)) {
		write_lock(&vm->mmu_lock);
		s2mmu_mmu_invalidate_end(vm);
		write_unlock(&vm->mmu_lock);
	}
	s2mmu_mn_reader_end(vm);
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
