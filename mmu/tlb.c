// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPUs' software TLBs, their requests, guest mode and the TLB
 * shootdown.  A leaf of the MMU: it calls nothing else in s2mmu, so it
 * is built and tested under UML (tests/kunit/tlb_test.c).
 *
 * Owns vcpu->mode, vcpu->requests, vcpu->tlb, vcpu->tlb_huge and
 * vcpu->walk_cache.  The handshake between s2mmu_flush_remote_tlbs() and
 * a vCPU entering guest mode, and why a vCPU's TLB never outlives a flush
 * that has returned, is in Documentation/locking.rst ("TLB shootdown");
 * why its walk cache never outlives a burst, in "The walk cache".
 */
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/math.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/string.h>

#include "s2mmu.h"
#include "s2mmu_trace.h"

#ifdef S2MMU_KUNIT
/*
 * KUnit (tests/kunit/tlb_test.c, invalidate_test.c): called when a flush
 * starts, and on every turn of the wait for a vCPU in guest mode, where
 * the test plays that vCPU.
 */
void (*s2mmu_tlb_test_flush_hook)(struct s2mmu_vm *vm);
void (*s2mmu_tlb_test_wait_hook)(struct s2mmu_vcpu *vcpu);
#endif

/**
 * s2mmu_tlb_flush_local() - empty one vCPU's software TLB.
 * @vcpu: the vCPU; called by its own task (guest mode or not).
 */
void s2mmu_tlb_flush_local(struct s2mmu_vcpu *vcpu)
{
	memset(vcpu->tlb, 0, sizeof(vcpu->tlb));
	memset(vcpu->tlb_huge, 0, sizeof(vcpu->tlb_huge));
	/* Its paging-structure cache with it, as hardware flushes do. */
	vcpu->walk_cache.table = NULL;
	vcpu->stat.tlb_flushes++;
}

/**
 * s2mmu_vcpu_enter_guest() - start a guest-mode burst.
 * @vcpu: the vCPU, called by its own task.
 *
 * Disables preemption, enters an RCU read section (table pages stay
 * allocated while it walks them), empties the walk cache (a table page
 * it names may be gone since the last burst), publishes guest mode with a full
 * barrier and then checks the requests: either a flusher sees the vCPU in
 * guest mode and waits for it, or the vCPU sees the flusher's request and
 * flushes before its first translation.
 *
 * Then the aging generation: when aging cleared Accessed bits since the
 * vCPU last emptied its TLB, it empties it again, so its accesses walk
 * the tables and set Accessed where aging cleared it; aging needs no
 * shootdown (Documentation/locking.rst, "Aging").
 */
void s2mmu_vcpu_enter_guest(struct s2mmu_vcpu *vcpu)
	__acquires(RCU)
{
	unsigned long age_gen;

	preempt_disable();
	rcu_read_lock();
	/*
	 * The walk cache points at a table page, which lives until an RCU
	 * grace period after its unlink, not until the flush the unlink
	 * owes: one cached in an earlier burst may be freed by now, before
	 * its flush is even requested.  Start each burst without it.
	 */
	vcpu->walk_cache.table = NULL;
	/* Pairs with the barrier in s2mmu_flush_remote_tlbs(). */
	smp_store_mb(vcpu->mode, S2MMU_IN_GUEST_MODE);
	s2mmu_vcpu_check_requests(vcpu);
	/* Walks after the load see the clears: pairs with the ager's bump. */
	age_gen = atomic_long_read_acquire(&vcpu->vm->age_gen);
	if (unlikely(age_gen != vcpu->age_gen)) {
		s2mmu_tlb_flush_local(vcpu);
		vcpu->age_gen = age_gen;
	}
}

/**
 * s2mmu_vcpu_exit_guest() - end a guest-mode burst.
 * @vcpu: the vCPU, in guest mode, called by its own task.
 */
void s2mmu_vcpu_exit_guest(struct s2mmu_vcpu *vcpu)
	__releases(RCU)
{
	/* Guest memory accesses complete before a flusher sees us leave. */
	smp_store_release(&vcpu->mode, S2MMU_OUTSIDE_GUEST_MODE);
	rcu_read_unlock();
	preempt_enable();
}

/**
 * s2mmu_flush_remote_tlbs() - flush every vCPU's software TLB.
 * @vm: the VM.
 *
 * Sets %S2MMU_REQ_TLB_FLUSH on every vCPU and waits until each is either
 * outside guest mode or has flushed and cleared the request.  Returns
 * once no vCPU can use a translation it cached before the call.
 *
 * Context: any; never sleeps: a vCPU in guest mode acknowledges within
 * one burst.  vCPUs live until their VM is destroyed, so vm->vcpus is
 * walked without locks.
 */
void s2mmu_flush_remote_tlbs(struct s2mmu_vm *vm)
{
	bool waited = false;
	unsigned int i, n;

	S2MMU_TEST_HOOK(s2mmu_tlb_test_flush_hook, vm);
	/* vcpus[0..n) are initialised; pairs with s2mmu_vcpu_create(). */
	n = smp_load_acquire(&vm->nr_vcpus);
	trace_s2mmu_remote_tlb_flush(n);
	for (i = 0; i < n; i++)
		set_bit(S2MMU_REQ_TLB_FLUSH, &vm->vcpus[i]->requests);
	/* Pairs with smp_store_mb() in s2mmu_vcpu_enter_guest(). */
	smp_mb__after_atomic();
	for (i = 0; i < n; i++) {
		struct s2mmu_vcpu *vcpu = vm->vcpus[i];

		/* Acquire: the vCPU's accesses happen before we go on. */
		while (smp_load_acquire(&vcpu->mode) == S2MMU_IN_GUEST_MODE &&
		       test_bit_acquire(S2MMU_REQ_TLB_FLUSH, &vcpu->requests)) {
			S2MMU_TEST_HOOK(s2mmu_tlb_test_wait_hook, vcpu);
			waited = true;
			cpu_relax();
		}
	}
	atomic64_inc(&vm->stat.remote_tlb_flush_requests);
	if (waited)
		atomic64_inc(&vm->stat.remote_tlb_flush);
}

/**
 * s2mmu_tlb_fill() - cache a translation a table walk found.
 * @vcpu: the vCPU, in guest mode, called by its own task.
 * @gfn: the guest frame walked.
 * @res: what the walk found; a huge leaf is cached as one entry, as a
 *       hardware TLB does, so a sweep over it walks once.
 *
 * Only translations walked in the current guest-mode burst may be
 * cached: a flush request is checked at the start of every burst.
 */
void s2mmu_tlb_fill(struct s2mmu_vcpu *vcpu, u64 gfn,
		    const struct s2mmu_walk_result *res)
{
	unsigned int order;
	struct s2mmu_tlb_entry *e;

	order = s2mmu_pt_level_shift(min_t(unsigned int, res->level,
					   S2MMU_PT_MAX_LEAF_LEVEL)) - PAGE_SHIFT;
	e = s2mmu_tlb_slot(vcpu, gfn, order);
	e->gfn = round_down(gfn, 1ULL << order);
	e->pfn = res->pfn - (gfn - e->gfn);
	e->order = order;
	/* A write walk set Dirty; a read walk only allows reads and fetches. */
	e->access = res->access;
	e->valid = true;
}
