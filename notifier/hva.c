// SPDX-License-Identifier: GPL-2.0
/*
 * The notifier callbacks' work, in host virtual address space: each
 * callback's hva range is translated, once, into the gfn ranges of the
 * slots that map it (vm->hva_tree, read as a counted notifier reader), and
 * everything below works in gfn space (mmu/invalidate.c, mmu/mmu.c).
 * Kept apart from the mmu_notifier registration (notifier/notifier.c) so
 * KUnit drives it without an mm.
 *
 * Only an invalidation of host memory some slot maps is counted at all:
 * unrelated churn in the VMM's address space (malloc, munmap of other
 * memory) leaves faults alone.  The protocol is in
 * Documentation/locking.rst.
 */
#include <linux/lockdep.h>
#include <linux/percpu.h>

#include "s2mmu.h"
#include "s2mmu_trace.h"

struct s2mmu_hva_invalidate {
	enum s2mmu_zap_yield yield;
	bool flush;
};

static int s2mmu_hva_invalidate_slot(struct s2mmu_vm *vm,
				     struct s2mmu_memslot *slot,
				     u64 gfn_start, u64 gfn_end, void *data)
	__must_hold(&vm->mmu_lock)
{
	struct s2mmu_hva_invalidate *ctx = data;

	/* A flush left pending by an earlier slot travels along. */
	ctx->flush = s2mmu_mmu_invalidate_range_add(vm, gfn_start, gfn_end,
						    ctx->yield, ctx->flush);
	return 0;
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

	trace_s2mmu_unmap_hva_range(start, end);
	s2mmu_mn_reader_begin(vm);
	if (!s2mmu_hva_range_in_slots(vm, start, end))
		return false;
	write_lock(&vm->mmu_lock);
	s2mmu_mmu_invalidate_begin(vm);
	if (zap) {
		struct s2mmu_hva_invalidate ctx = { .yield = yield };

		s2mmu_for_each_hva_slot(vm, start, end, s2mmu_hva_invalidate_slot,
					&ctx);
		flush = ctx.flush;
	}
	flush = s2mmu_mmu_flush_claim(vm, flush);
	write_unlock(&vm->mmu_lock);
	if (flush)
		s2mmu_mmu_flush_finish(vm);
	atomic64_inc(&vm->stat.invalidations);
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

struct s2mmu_hva_age {
	bool clear;
};

static int s2mmu_hva_age_slot(struct s2mmu_vm *vm, struct s2mmu_memslot *slot,
			      u64 gfn_start, u64 gfn_end, void *data)
{
	struct s2mmu_hva_age *ctx = data;

	return s2mmu_mmu_age_gfn_range(vm, gfn_start, gfn_end, ctx->clear);
}

/* Slots one aging lookup takes at once (aliases of one host page). */
#define S2MMU_AGE_RANGES	8

/**
 * s2mmu_age_hva_range() - test, and optionally clear, Accessed on the
 * stage-2 leaves mapping a host range.
 * @vm: the VM.
 * @start: first host virtual address.
 * @end: first host virtual address past the range.
 * @clear: clear the Accessed bits found set.
 *
 * Takes no mmu_lock and is not counted as an hva tree reader: the slots'
 * gfn ranges are looked up under vm->mn_lock, then aged under RCU alone
 * (s2mmu_mmu_age_gfn_range()).  Only a host range more than
 * %S2MMU_AGE_RANGES slots alias falls back to the counted walk.
 *
 * Context: any (MGLRU calls it under the host PTE lock); never sleeps.
 * Return: 1 if any leaf mapping the range was young, else 0.
 */
int s2mmu_age_hva_range(struct s2mmu_vm *vm, unsigned long start,
			unsigned long end, bool clear)
{
	struct s2mmu_gfn_range r[S2MMU_AGE_RANGES];
	struct s2mmu_hva_age ctx = { .clear = clear };
	int i, n, young = 0;

	this_cpu_inc(vm->age_stat->calls);
	trace_s2mmu_age_hva(start, end, clear);
	trace_s2mmu_test_age_hva(start, clear);
	n = s2mmu_hva_to_gfn_ranges(vm, start, end, r, ARRAY_SIZE(r));
	if (n >= 0) {
		for (i = 0; i < n; i++)
			young |= s2mmu_mmu_age_gfn_range(vm, r[i].start,
							 r[i].end, clear);
		return young;
	}
	s2mmu_mn_reader_begin(vm);
	young = s2mmu_for_each_hva_slot(vm, start, end, s2mmu_hva_age_slot,
					&ctx);
	s2mmu_mn_reader_end(vm);
	return young;
}

/**
 * s2mmu_release_mm() - the owning mm is going away: unmap everything.
 * @vm: the VM.
 *
 * Marks the mm released under mmu_lock, so no fault installs anything
 * afterwards, zaps the whole space and flushes.  The root table stays
 * valid, so a walker or fault that still holds it is safe.
 *
 * Context: process context (exit_mmap(), mmu_notifier_unregister());
 * sleeps: the zap yields mmu_lock as it goes.
 */
void s2mmu_release_mm(struct s2mmu_vm *vm)
{
	bool flush;

	write_lock(&vm->mmu_lock);
	vm->mm_released = true;
	flush = s2mmu_mmu_zap_gfn_range_locked(vm, 0, U64_MAX,
					       S2MMU_ZAP_MAY_YIELD, false);
	flush = s2mmu_mmu_flush_claim(vm, flush);
	write_unlock(&vm->mmu_lock);
	if (flush)
		s2mmu_mmu_flush_finish(vm);
}
