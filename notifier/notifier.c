// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's mmu_notifier on its owning mm, and the invalidation sequence.
 *
 * invalidate_range_start: when a slot maps part of the range, under
 * mmu_lock (write) count the invalidation in
 * vm->mmu_invalidate_in_progress, widen [vm->mmu_invalidate_range_start,
 * vm->mmu_invalidate_range_end) over the guest frames every overlapping
 * slot maps at the range, and zap those frames (this bookkeeping is in
 * notifier/invalidate.c); then flush every vCPU's TLB before returning,
 * also when another zapper's flush is still pending.  For a blockable
 * range the zap may drop mmu_lock to reschedule, flushing first when a
 * flush is pending.
 * From then on, until the matching invalidate_range_end, a fault on those
 * frames retries.
 *
 * invalidate_range_end: if the start began an invalidation, under mmu_lock
 * (write) bump vm->mmu_invalidate_seq and drop the count; a fault that
 * snapshotted the sequence before then retries, since the page it looked
 * up may be the old one.
 *
 * release (exit_mmap, or unregister): mark the mm released so no fault
 * installs anything afterwards, zap everything (yielding mmu_lock as it
 * goes) and flush; the root table stays valid, so a walker or fault that
 * still holds it is safe.
 *
 * Aging: clear_flush_young, clear_young and test_young report and clear
 * the Accessed bit of the stage-2 leaves mapping the range.
 */
#include <linux/mmu_notifier.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>

#include "s2mmu.h"

#ifdef S2MMU_PROVE_MMU
/*
 * Test flavour only: make invalidate_range_start skip its zap, so the
 * selftests can prove S2MMU_CHECK_INVARIANTS detects the stale entries
 * that result.  Root only; never set it on a VM that runs.
 */
static bool test_skip_zap;
module_param(test_skip_zap, bool, 0600);
MODULE_PARM_DESC(test_skip_zap,
		 "TEST ONLY: invalidations do not zap (breaks coherence)");

/*
 * Test flavour only: blockable invalidations yield mmu_lock at every
 * opportunity instead of only when a reschedule is due, so the selftests
 * exercise the yielding zap (faults interleaving with it) on an idle
 * machine.
 */
static bool test_zap_yield;
module_param(test_zap_yield, bool, 0600);
MODULE_PARM_DESC(test_zap_yield,
		 "TEST ONLY: blockable invalidations yield mmu_lock as often as they can");
#else
static const bool test_skip_zap;
static const bool test_zap_yield;
#endif

/*
 * A blockable range may sleep, so its zap may yield mmu_lock to let
 * faults and other invalidations in, as KVM's does; a non-blockable one
 * (the OOM reaper) must not.
 */
static enum s2mmu_zap_yield
s2mmu_mn_zap_yield(const struct mmu_notifier_range *range)
{
	if (!mmu_notifier_range_blockable(range))
		return S2MMU_ZAP_NO_YIELD;
	if (unlikely(READ_ONCE(test_zap_yield)))
		return S2MMU_ZAP_FORCE_YIELD;
	return S2MMU_ZAP_MAY_YIELD;
}

static struct s2mmu_vm *mn_to_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct s2mmu_vm, mn);
}

static int s2mmu_mn_invalidate_range_start(struct mmu_notifier *mn,
					   const struct mmu_notifier_range *range)
{
	struct s2mmu_vm *vm = mn_to_vm(mn);

	if (s2mmu_invalidate_range_start(vm, range->start, range->end,
					 s2mmu_mn_zap_yield(range),
					 !READ_ONCE(test_skip_zap)))
		atomic64_inc(&vm->stat.invalidations);
	/*
	 * A non-blockable range never sleeps above (no yield), so it
	 * needs no -EAGAIN.
	 */
	return 0;
}

static void s2mmu_mn_invalidate_range_end(struct mmu_notifier *mn,
					  const struct mmu_notifier_range *range)
{
	s2mmu_invalidate_range_end(mn_to_vm(mn), range->start, range->end);
}

struct s2mmu_age_ctx {
	bool clear;
};

static int s2mmu_mn_age_slot(struct s2mmu_vm *vm, struct s2mmu_memslot *slot,
			     u64 gfn_start, u64 gfn_end, void *data)
{
	struct s2mmu_age_ctx *ctx = data;

	return s2mmu_mmu_age_gfn_range(vm, gfn_start, gfn_end, ctx->clear);
}

static int s2mmu_mn_age(struct s2mmu_vm *vm, unsigned long start,
			unsigned long end, bool clear)
{
	struct s2mmu_age_ctx ctx = { .clear = clear };
	int young;

	s2mmu_mn_reader_begin(vm);
	young = s2mmu_for_each_hva_slot(vm, start, end, s2mmu_mn_age_slot, &ctx);
	s2mmu_mn_reader_end(vm);
	return young;
}

static int s2mmu_mn_clear_flush_young(struct mmu_notifier *mn,
				      struct mm_struct *mm,
				      unsigned long start, unsigned long end)
{
	struct s2mmu_vm *vm = mn_to_vm(mn);
	int young = s2mmu_mn_age(vm, start, end, true);

	/* TLB entries would hide the next access from the Accessed bit. */
	if (young)
		s2mmu_flush_remote_tlbs(vm);
	return young;
}

static int s2mmu_mn_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
				unsigned long start, unsigned long end)
{
	return s2mmu_mn_age(mn_to_vm(mn), start, end, true);
}

static int s2mmu_mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long address)
{
	return s2mmu_mn_age(mn_to_vm(mn), address, address + 1, false);
}

static void s2mmu_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct s2mmu_vm *vm = mn_to_vm(mn);

	bool flush;

	/*
	 * ->release may sleep (exit_mmap(), mmu_notifier_unregister()), so
	 * the zap of the whole space yields mmu_lock as it goes; a fault
	 * getting the lock meanwhile sees mm_released and installs nothing.
	 */
	write_lock(&vm->mmu_lock);
	vm->mm_released = true;
	flush = s2mmu_mmu_zap_gfn_range_locked(vm, 0, U64_MAX,
					       S2MMU_ZAP_MAY_YIELD, false);
	flush = s2mmu_mmu_flush_claim(vm, flush);
	write_unlock(&vm->mmu_lock);
	if (flush)
		s2mmu_mmu_flush_finish(vm);
}

static const struct mmu_notifier_ops s2mmu_mn_ops = {
	.release		= s2mmu_mn_release,
	.invalidate_range_start	= s2mmu_mn_invalidate_range_start,
	.invalidate_range_end	= s2mmu_mn_invalidate_range_end,
	.clear_flush_young	= s2mmu_mn_clear_flush_young,
	.clear_young		= s2mmu_mn_clear_young,
	.test_young		= s2mmu_mn_test_young,
};

/**
 * s2mmu_notifier_register() - register the VM's notifier on vm->mm.
 * @vm: a VM whose @mm is set and pinned.
 *
 * Context: process context, current->mm == vm->mm; takes mmap_lock.
 * Return: 0 or the error from mmu_notifier_register().
 */
int s2mmu_notifier_register(struct s2mmu_vm *vm)
{
	vm->mn.ops = &s2mmu_mn_ops;
	return mmu_notifier_register(&vm->mn, vm->mm);
}

/**
 * s2mmu_notifier_unregister() - unregister the VM's notifier.
 * @vm: the VM.
 *
 * Calls ->release if exit_mmap() has not already, and waits for every
 * running callback, so the module may be unloaded once the last VM is
 * gone.
 *
 * Context: process context; sleeps.
 */
void s2mmu_notifier_unregister(struct s2mmu_vm *vm)
{
	mmu_notifier_unregister(&vm->mn, vm->mm);
}
