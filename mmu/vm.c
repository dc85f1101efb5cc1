// SPDX-License-Identifier: GPL-2.0
/*
 * The VM object: building it, its statistics and its teardown.  The VM
 * file descriptor and its ioctls are in mmu/main.c.
 *
 * A VM pins the creating mm with mmgrab() and registers an mmu_notifier
 * on it.  It is destroyed when its last reference (the VM fd, vCPU fds)
 * is dropped: the notifier is unregistered (which waits for running
 * callbacks), then the vCPUs, slots and tables are freed and the mm is
 * dropped.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "s2mmu.h"

/* VMs alive (built and not yet destroyed), for the sysfs counters. */
atomic_t s2mmu_nr_vms = ATOMIC_INIT(0);

static void s2mmu_vm_destroy(struct s2mmu_vm *vm)
{
	/* ->release zaps everything if exit_mmap() has not yet. */
	unsigned int i;

	s2mmu_notifier_unregister(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		s2mmu_vcpu_free(vm->vcpus[i]);
	s2mmu_memslots_destroy(vm);
	s2mmu_mmu_destroy(vm);
	cleanup_srcu_struct(&vm->srcu);
	mmdrop(vm->mm);
	kfree(vm);
	atomic_dec(&s2mmu_nr_vms);
}

/**
 * s2mmu_vm_put() - drop a reference to a VM, destroying it on the last.
 * @vm: the VM.
 *
 * Context: process context; may sleep (the last put waits for notifier
 * callbacks to finish).
 */
void s2mmu_vm_put(struct s2mmu_vm *vm)
{
	if (refcount_dec_and_test(&vm->users))
		s2mmu_vm_destroy(vm);
}

/**
 * s2mmu_vm_get_info() - S2MMU_GET_VM_INFO.
 * @vm: the VM.
 * @argp: user pointer to a struct s2mmu_vm_info, filled in.
 *
 * Return: 0 or -EFAULT.
 */
long s2mmu_vm_get_info(struct s2mmu_vm *vm, void __user *argp)
{
	struct s2mmu_vm_info info = {
		.type		= vm->cfg.type,
		.gpa_bits	= vm->cfg.gpa_bits,
		.levels		= vm->cfg.levels,
		.nr_slots	= READ_ONCE(vm->nr_slots),
		.max_gpa	= s2mmu_vm_config_max_gpa(&vm->cfg),
		.stat_invalidations = atomic64_read(&vm->stat.invalidations),
		.stat_zaps	= atomic64_read(&vm->stat.zaps),
		.stat_remote_tlb_flushes =
			atomic64_read(&vm->stat.remote_tlb_flushes),
		.stat_table_pages = s2mmu_pgtable_nr_tables(&vm->pgt),
	};

	if (copy_to_user(argp, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

/**
 * s2mmu_vm_alloc() - build a VM for the current mm.
 * @cfg: the parsed S2MMU_CREATE_VM argument.
 *
 * Context: process context with an mm; takes the mm's mmap_lock.
 * Return: the VM with one reference, or an ERR_PTR: -ENOMEM, or the error
 * from registering the notifier.
 */
struct s2mmu_vm *s2mmu_vm_alloc(const struct s2mmu_vm_config *cfg)
{
	struct s2mmu_vm *vm;
	int ret;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	vm->cfg = *cfg;
	refcount_set(&vm->users, 1);
	mutex_init(&vm->lock);
	rwlock_init(&vm->mmu_lock);
	s2mmu_memslots_init(vm);
	ret = init_srcu_struct(&vm->srcu);
	if (ret)
		goto err_free;
	ret = s2mmu_mmu_init(vm);
	if (ret)
		goto err_srcu;
	mmgrab(current->mm);
	vm->mm = current->mm;

	ret = s2mmu_notifier_register(vm);
	if (ret)
		goto err_mm;
	atomic_inc(&s2mmu_nr_vms);
	return vm;

err_mm:
	mmdrop(vm->mm);
	s2mmu_mmu_destroy(vm);
err_srcu:
	cleanup_srcu_struct(&vm->srcu);
err_free:
	s2mmu_memslots_destroy(vm);
	kfree(vm);
	return ERR_PTR(ret);
}
