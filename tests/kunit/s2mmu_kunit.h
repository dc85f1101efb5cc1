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

extern atomic_long_t s2mmu_kunit_remote_flushes;
/* Called by every s2mmu_flush_remote_tlbs() while set (one test at a time). */
extern void (*s2mmu_kunit_flush_hook)(struct s2mmu_vm *vm);
/* Test hooks in the sources (S2MMU_KUNIT builds only). */
extern void (*s2mmu_memslot_test_grace_hook)(struct s2mmu_vm *vm,
					     struct s2mmu_memslot *slot);
extern void (*s2mmu_mmu_test_collapse_hook)(struct s2mmu_vm *vm);

struct s2mmu_vm *s2mmu_kunit_vm_create(struct kunit *test, unsigned long type);
int s2mmu_kunit_set_slot(struct s2mmu_vm *vm, u32 id, u32 flags, u64 gfn,
			 u64 npages, unsigned long hva);
void s2mmu_kunit_map(struct kunit *test, struct s2mmu_vm *vm, u64 gfn);
bool s2mmu_kunit_mapped(struct s2mmu_vm *vm, u64 gfn);

#endif /* _S2MMU_KUNIT_H */
