// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's mmu_notifier on its owning mm: registration and the callback
 * table, nothing else.  Each callback hands its host range to
 * notifier/hva.c, which translates it into gfn ranges once.
 *
 * invalidate_range_start zaps what the range maps (yielding mmu_lock only
 * for a blockable range) and returns once no vCPU TLB holds it;
 * invalidate_range_end lets faults on it proceed; release (exit_mmap, or
 * unregister) zaps everything; the aging callbacks report and clear
 * Accessed.  Why that is coherent: Documentation/locking.rst.
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
	s2mmu_invalidate_range_start(mn_to_vm(mn), range->start, range->end,
				     s2mmu_mn_zap_yield(range),
				     !READ_ONCE(test_skip_zap));
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

static int s2mmu_mn_clear_flush_young(struct mmu_notifier *mn,
				      struct mm_struct *mm,
				      unsigned long start, unsigned long end)
{
	/*
	 * No shootdown: a vCPU's TLB is emptied at its next guest entry
	 * after aging cleared a bit (vm->age_gen), which is as soon as mm
	 * needs to see the page's next access (Documentation/locking.rst,
	 * "Aging").
	 */
	return s2mmu_age_hva_range(mn_to_vm(mn), start, end, true);
}

static int s2mmu_mn_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
				unsigned long start, unsigned long end)
{
	return s2mmu_age_hva_range(mn_to_vm(mn), start, end, true);
}

static int s2mmu_mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long address)
{
	return s2mmu_age_hva_range(mn_to_vm(mn), address, address + 1, false);
}

/* ->release may sleep (exit_mmap(), mmu_notifier_unregister()). */
static void s2mmu_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	s2mmu_release_mm(mn_to_vm(mn));
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
