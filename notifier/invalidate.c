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

	vm->mmu_invalidate_range_start = min(vm->mmu_invalidate_range_start,
					     gfn_start);
	vm->mmu_invalidate_range_end = max(vm->mmu_invalidate_range_end,
					   gfn_end);
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
