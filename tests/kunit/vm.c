// SPDX-License-Identifier: GPL-2.0
/*
 * A VM for the KUnit suites: memory slots and a real stage-2 table, set
 * up as mmu/vm.c does, with no mm and no notifier; vCPUs only when a
 * suite adds them (s2mmu_kunit_vcpu_add()).  The TLB flush is mmu/tlb.c's
 * own: a suite that must see or hold a flush sets
 * s2mmu_tlb_test_flush_hook.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/srcu.h>

#include "s2mmu_kunit.h"

static void s2mmu_kunit_vm_destroy(void *data)
{
	struct s2mmu_vm *vm = data;
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		s2mmu_vcpu_free(vm->vcpus[i]);
	s2mmu_memslots_destroy(vm);
	s2mmu_mmu_destroy(vm);
	cleanup_srcu_struct(&vm->srcu);
	kfree(vm);
}

/**
 * s2mmu_kunit_vm_create() - a VM destroyed when the test ends.
 * @test: the test; fails (and ends) if the VM cannot be created.
 * @type: the S2MMU_CREATE_VM argument.
 *
 * Return: the VM.
 */
struct s2mmu_vm *s2mmu_kunit_vm_create(struct kunit *test, unsigned long type)
{
	struct s2mmu_vm *vm;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vm);
	if (s2mmu_parse_vm_type(type, &vm->cfg)) {
		kfree(vm);
		KUNIT_FAIL_AND_ABORT(test, "bad VM type %#lx", type);
	}
	mutex_init(&vm->lock);
	rwlock_init(&vm->mmu_lock);
	s2mmu_memslots_init(vm);
	s2mmu_dirty_log_init(vm);
	if (init_srcu_struct(&vm->srcu)) {
		kfree(vm);
		KUNIT_FAIL_AND_ABORT(test, "init_srcu_struct failed");
	}
	if (s2mmu_mmu_init(vm)) {
		cleanup_srcu_struct(&vm->srcu);
		kfree(vm);
		KUNIT_FAIL_AND_ABORT(test, "s2mmu_mmu_init failed");
	}
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							s2mmu_kunit_vm_destroy,
							vm), 0);
	return vm;
}

/**
 * s2mmu_kunit_set_slot() - S2MMU_SET_MEMORY_REGION in pages.
 * @vm: the VM.
 * @id: slot id.
 * @flags: S2MMU_MEM_* flags.
 * @gfn: first guest frame.
 * @npages: size in pages; 0 deletes the slot.
 * @hva: host virtual address of @gfn.
 *
 * Return: what s2mmu_set_memory_region() returns.
 */
int s2mmu_kunit_set_slot(struct s2mmu_vm *vm, u32 id, u32 flags, u64 gfn,
			 u64 npages, unsigned long hva)
{
	struct s2mmu_memory_region mem = {
		.slot			= id,
		.flags			= flags,
		.guest_phys_addr	= gfn << PAGE_SHIFT,
		.memory_size		= npages << PAGE_SHIFT,
		.userspace_addr		= hva,
	};

	return s2mmu_set_memory_region(vm, &mem, NULL, 0, 0);
}

/**
 * s2mmu_kunit_map() - install a writable 4 KiB leaf for a guest frame, as
 * a fault would (the host frame is never touched).
 * @test: the test; fails (and ends) if the leaf cannot be installed.
 * @vm: the VM.
 * @gfn: the guest frame.
 */
void s2mmu_kunit_map(struct kunit *test, struct s2mmu_vm *vm, u64 gfn)
{
	struct s2mmu_fault f = {
		.gfn		= gfn,
		.pfn		= 0x1000 + gfn,
		.map_writable	= true,
	};
	struct s2mmu_table_cache cache;
	int ret;

	s2mmu_table_cache_init(&cache);
	ret = s2mmu_table_cache_topup(&cache, vm->pgt.levels);
	if (!ret) {
		read_lock(&vm->mmu_lock);
		ret = s2mmu_mmu_install(vm, &cache, &f);
		read_unlock(&vm->mmu_lock);
	}
	s2mmu_table_cache_free(&cache);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "install gfn %#llx", gfn);
	KUNIT_ASSERT_TRUE(test, s2mmu_kunit_mapped(vm, gfn));
}

/**
 * s2mmu_kunit_mapped() - is a guest frame mapped by a leaf?
 * @vm: the VM.
 * @gfn: the guest frame.
 *
 * Return: true when the stage-2 table maps @gfn.
 */
bool s2mmu_kunit_mapped(struct s2mmu_vm *vm, u64 gfn)
{
	struct s2mmu_pt_info info;
	int ret;

	rcu_read_lock();
	ret = s2mmu_pgtable_lookup(&vm->pgt, gfn << PAGE_SHIFT, 0, &info);
	rcu_read_unlock();
	return !ret;
}

/**
 * s2mmu_kunit_vcpu_add() - give a test VM a vCPU, as S2MMU_CREATE_VCPU
 * does but without a file.
 * @test: the test; fails (and ends) when out of memory or vCPUs.
 * @vm: a VM from s2mmu_kunit_vm_create() (frees its vCPUs at the end).
 *
 * Return: the vCPU, outside guest mode with an empty TLB.
 */
struct s2mmu_vcpu *s2mmu_kunit_vcpu_add(struct kunit *test,
					struct s2mmu_vm *vm)
{
	struct s2mmu_vcpu *vcpu;

	KUNIT_ASSERT_LT(test, vm->nr_vcpus, S2MMU_MAX_VCPUS);
	vcpu = s2mmu_vcpu_alloc(vm, vm->nr_vcpus);
	KUNIT_ASSERT_NOT_NULL(test, vcpu);
	mutex_lock(&vm->lock);
	vm->vcpus[vm->nr_vcpus] = vcpu;
	/* Flushers read vcpus[] up to nr_vcpus without the lock. */
	smp_store_release(&vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	return vcpu;
}

/**
 * s2mmu_kunit_translate() - mmu/run.c's guest-mode translation of a frame.
 * @vcpu: the vCPU, in guest mode.
 * @gfn: the guest frame.
 * @access: S2MMU_ACCESS_* needed.
 * @pfn: out: the host frame.
 *
 * Return: 0, or -EFAULT when the walk finds no entry allowing @access.
 */
int s2mmu_kunit_translate(struct s2mmu_vcpu *vcpu, u64 gfn,
			  unsigned int access, u64 *pfn)
{
	return s2mmu_vcpu_translate(vcpu, gfn << PAGE_SHIFT, access, pfn);
}

/**
 * s2mmu_kunit_burst() - one guest-mode burst translating one frame.
 * @vcpu: the vCPU, outside guest mode.
 * @gfn: the guest frame.
 * @access: S2MMU_ACCESS_* needed.
 * @pfn: out: the host frame.
 *
 * Return: as s2mmu_kunit_translate().
 */
int s2mmu_kunit_burst(struct s2mmu_vcpu *vcpu, u64 gfn, unsigned int access,
		      u64 *pfn)
{
	int ret;

	s2mmu_vcpu_enter_guest(vcpu);
	ret = s2mmu_kunit_translate(vcpu, gfn, access, pfn);
	s2mmu_vcpu_exit_guest(vcpu);
	return ret;
}
