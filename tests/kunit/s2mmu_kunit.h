/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the KUnit suites that need a VM (tests/kunit/vm.c).
 */
#ifndef _S2MMU_KUNIT_H
#define _S2MMU_KUNIT_H

#include <kunit/test.h>
#include <linux/atomic.h>

#include "s2mmu.h"

/* Host virtual addresses the suites give their slots: a user range. */
#define S2MMU_KUNIT_HVA		0x40000000UL

/* Test hooks in the sources (S2MMU_KUNIT builds only; one test at a time). */
extern void (*s2mmu_tlb_test_flush_hook)(struct s2mmu_vm *vm);
extern void (*s2mmu_tlb_test_wait_hook)(struct s2mmu_vcpu *vcpu);
extern void (*s2mmu_memslot_test_grace_hook)(struct s2mmu_vm *vm,
					     struct s2mmu_memslot *slot);
extern void (*s2mmu_mmu_test_collapse_hook)(struct s2mmu_vm *vm);
extern bool s2mmu_mmu_test_nx_force_yield;
extern void (*s2mmu_mmu_test_nx_yield_hook)(struct s2mmu_vm *vm);

struct s2mmu_vm *s2mmu_kunit_vm_create(struct kunit *test, unsigned long type);
int s2mmu_kunit_set_slot(struct s2mmu_vm *vm, u32 id, u32 flags, u64 gfn,
			 u64 npages, unsigned long hva);
void s2mmu_kunit_map(struct kunit *test, struct s2mmu_vm *vm, u64 gfn);
bool s2mmu_kunit_mapped(struct s2mmu_vm *vm, u64 gfn);
struct s2mmu_vcpu *s2mmu_kunit_vcpu_add(struct kunit *test,
					struct s2mmu_vm *vm);
int s2mmu_kunit_translate(struct s2mmu_vcpu *vcpu, u64 gfn,
			  unsigned int access, u64 *pfn);
int s2mmu_kunit_burst(struct s2mmu_vcpu *vcpu, u64 gfn, unsigned int access,
		      u64 *pfn);

/* Remote TLB flushes a VM has done (mmu/tlb.c counts every one). */
static inline long s2mmu_kunit_flushes(struct s2mmu_vm *vm)
{
	return atomic64_read(&vm->stat.remote_tlb_flush_requests);
}

#endif /* _S2MMU_KUNIT_H */
