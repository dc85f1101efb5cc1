// SPDX-License-Identifier: GPL-2.0
/*
 * The VM object: creation, the VM file descriptor and teardown.
 *
 * A VM is created by S2MMU_CREATE_VM on /dev/s2mmu.  It pins the creating
 * mm with mmgrab() and registers an mmu_notifier on it; its file
 * descriptor is installed only once the VM is fully built, so userspace
 * never sees a half-made VM.  The VM is destroyed when its last reference
 * (the VM fd, later also vCPU fds) is dropped: the notifier is
 * unregistered (which waits for running callbacks) and the mm is dropped.
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

static void s2mmu_vm_destroy(struct s2mmu_vm *vm)
{
	/* ->release zaps everything if exit_mmap() has not yet. */
	s2mmu_notifier_unregister(vm);
	s2mmu_vcpus_destroy(vm);
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

static int s2mmu_vm_release(struct inode *inode, struct file *file)
{
	s2mmu_vm_put(file->private_data);
	return 0;
}

static long s2mmu_vm_get_info(struct s2mmu_vm *vm, void __user *argp)
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

static long s2mmu_vm_ioctl_set_memory_region(struct s2mmu_vm *vm,
					     void __user *argp)
{
	struct s2mmu_memory_region mem;

	if (copy_from_user(&mem, argp, sizeof(mem)))
		return -EFAULT;
	return s2mmu_set_memory_region(vm, &mem);
}

/**
 * s2mmu_vm_ioctl() - VM ioctls, on a VM file descriptor.
 * @file: the VM file.
 * @cmd: the ioctl.
 * @arg: its argument, a user pointer for the structure-taking ioctls.
 *
 * Only tasks of the mm that created the VM may use it: any other task
 * (a forked child, a process the fd was passed to) gets -EIO, as in KVM.
 *
 * Return: 0 or a positive value on success; -EIO from a foreign mm,
 * -ENOTTY for an unknown ioctl, or another negative errno.
 */
static long s2mmu_vm_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct s2mmu_vm *vm = file->private_data;
	void __user *argp = (void __user *)arg;

	if (vm->mm != current->mm)
		return -EIO;

	switch (cmd) {
	case S2MMU_GET_VM_INFO:
		return s2mmu_vm_get_info(vm, argp);
	case S2MMU_SET_MEMORY_REGION:
		return s2mmu_vm_ioctl_set_memory_region(vm, argp);
	case S2MMU_CREATE_VCPU:
		return s2mmu_vcpu_create(vm, arg);
	case S2MMU_CHECK_INVARIANTS:
		return s2mmu_check_invariants(vm, argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations s2mmu_vm_fops = {
	.owner		= THIS_MODULE,
	.release	= s2mmu_vm_release,
	.unlocked_ioctl	= s2mmu_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/**
 * s2mmu_vm_create() - handle S2MMU_CREATE_VM.
 * @arg: the VM type and address width, see s2mmu_parse_vm_type().
 *
 * Return: a new VM file descriptor (O_CLOEXEC), -EINVAL for a bad @arg,
 * -EIO when the caller has no mm (a kernel thread), -ENOMEM, or the error
 * from registering the notifier or allocating the fd.
 */
int s2mmu_vm_create(unsigned long arg)
{
	struct s2mmu_vm_config cfg;
	struct s2mmu_vm *vm;
	struct file *file;
	int fd, ret;

	ret = s2mmu_parse_vm_type(arg, &cfg);
	if (ret)
		return ret;
	if (!current->mm)
		return -EIO;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	vm->cfg = cfg;
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

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_notifier;
	}
	file = anon_inode_getfile("s2mmu-vm", &s2mmu_vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_fd;
	}
	/* From here the file owns the VM's reference. */
	atomic_inc(&s2mmu_nr_vms);
	fd_install(fd, file);
	return fd;

err_fd:
	put_unused_fd(fd);
err_notifier:
	s2mmu_notifier_unregister(vm);
err_mm:
	mmdrop(vm->mm);
	s2mmu_mmu_destroy(vm);
err_srcu:
	cleanup_srcu_struct(&vm->srcu);
err_free:
	s2mmu_memslots_destroy(vm);
	kfree(vm);
	return ret;
}
