// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu module entry: the /dev/s2mmu misc device and its system ioctls,
 * and the VM file descriptor with its ioctls (the top of the layering:
 * Documentation/index.rst).
 */
#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/stringify.h>
#include <linux/uaccess.h>

#include "s2mmu.h"

/*
 * /sys/class/misc/s2mmu/: module-wide counters that must return to zero
 * once every VM is gone (the tests check they do).
 */
static ssize_t vms_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&s2mmu_nr_vms));
}
static DEVICE_ATTR_RO(vms);

static ssize_t table_pages_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&s2mmu_table_pages_allocated));
}
static DEVICE_ATTR_RO(table_pages);

static struct attribute *s2mmu_dev_attrs[] = {
	&dev_attr_vms.attr,
	&dev_attr_table_pages.attr,
	NULL,
};
ATTRIBUTE_GROUPS(s2mmu_dev);

static int s2mmu_vm_release(struct inode *inode, struct file *file)
{
	s2mmu_vm_put(file->private_data);
	return 0;
}

static long s2mmu_vm_ioctl_set_memory_region(struct s2mmu_vm *vm,
					     void __user *argp)
{
	struct s2mmu_memory_region mem;

	if (copy_from_user(&mem, argp, sizeof(mem)))
		return -EFAULT;
	/* Only the second version names a guest_memfd. */
	if (mem.flags & S2MMU_MEM_GUEST_MEMFD)
		return -EINVAL;
	return s2mmu_set_memory_region(vm, &mem, NULL, 0, 0);
}

static long s2mmu_vm_ioctl_set_memory_region2(struct s2mmu_vm *vm,
					      void __user *argp)
{
	struct s2mmu_memory_region2 m2;
	struct s2mmu_memory_region mem;
	struct file *file = NULL;
	u64 size = 0;
	long ret;

	if (copy_from_user(&m2, argp, sizeof(m2)))
		return -EFAULT;
	if (m2.pad1 || memchr_inv(m2.pad2, 0, sizeof(m2.pad2)))
		return -EINVAL;
	mem = (struct s2mmu_memory_region) {
		.slot			= m2.slot,
		.flags			= m2.flags,
		.guest_phys_addr	= m2.guest_phys_addr,
		.memory_size		= m2.memory_size,
		.userspace_addr		= m2.userspace_addr,
	};
	/* The request's own errors before the fd's, as KVM. */
	ret = s2mmu_memslot_check(&mem, s2mmu_vm_config_max_gpa(&vm->cfg));
	if (ret)
		return ret;
	if ((m2.flags & S2MMU_MEM_GUEST_MEMFD) && m2.memory_size) {
		file = s2mmu_gmem_fget(vm, m2.guest_memfd, &size);
		if (IS_ERR(file))
			return PTR_ERR(file);
	}
	ret = s2mmu_set_memory_region(vm, &mem,
				      file ? file->private_data : NULL,
				      m2.guest_memfd_offset, size);
	if (file)
		fput(file);
	return ret;
}

static long s2mmu_vm_ioctl_set_memory_attributes(struct s2mmu_vm *vm,
						 void __user *argp)
{
	struct s2mmu_memory_attributes attrs;

	if (copy_from_user(&attrs, argp, sizeof(attrs)))
		return -EFAULT;
	return s2mmu_set_memory_attributes(vm, &attrs);
}

static long s2mmu_vm_ioctl_create_guest_memfd(struct s2mmu_vm *vm,
					      void __user *argp)
{
	struct s2mmu_create_guest_memfd args;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	return s2mmu_gmem_create(vm, &args);
}

/**
 * s2mmu_check_extension() - S2MMU_CHECK_EXTENSION.
 * @vm: the VM for the VM fd's ioctl, NULL on /dev/s2mmu (where a
 *      capability some VM type has is reported).
 * @cap: the capability (S2MMU_CAP_*).
 *
 * %S2MMU_CAP_ARM64_MTE is 1 where %S2MMU_VM_ARM64_MTE would be accepted:
 * on /dev/s2mmu of an arm64 host with MTE (6.2+), and on the fd of an
 * arm64 stage-2 VM of such a host, whether MTE is enabled yet or not.
 *
 * Return: 0 for an unknown or unsupported capability, else its answer.
 */
static long s2mmu_check_extension(struct s2mmu_vm *vm, unsigned long cap)
{
	switch (cap) {
	case S2MMU_CAP_BINARY_STATS_FD:
	case S2MMU_CAP_USER_MEMORY2:
	case S2MMU_CAP_GUEST_MEMFD:
		return 1;
	case S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES:
		/* x86 TDP VMs only: the only type with the mitigation. */
		return !vm || vm->cfg.ops->nx_huge_pages;
	case S2MMU_CAP_MEMORY_ATTRIBUTES:
		return S2MMU_MEMORY_ATTRIBUTE_PRIVATE;
	case S2MMU_CAP_ARM64_MTE:
		return s2mmu_vm_type_mte_supported(vm ? vm->cfg.ops : NULL);
	case S2MMU_CAP_FAULT_AROUND:
		return S2MMU_FAULT_AROUND_MAX;
	default:
		return s2mmu_dirty_log_check_extension(vm, cap);
	}
}

/*
 * S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES by S2MMU_ENABLE_CAP, with KVM's
 * rules: CAP_SYS_BOOT (-EPERM), args all zero and no vCPU created yet
 * (-EINVAL), a VM type with the mitigation (else an unknown cap).
 */
static long s2mmu_vm_disable_nx_huge_pages(struct s2mmu_vm *vm,
					   const struct s2mmu_enable_cap *cap)
{
	long ret = -EINVAL;

	if (!vm->cfg.ops->nx_huge_pages)
		return -EINVAL;
	if (!capable(CAP_SYS_BOOT))
		return -EPERM;
	if (cap->args[0] || cap->args[1] || cap->args[2] || cap->args[3])
		return -EINVAL;
	mutex_lock(&vm->lock);
	/* No vCPU, so no fault has installed a leaf under the mitigation. */
	if (!vm->nr_vcpus) {
		WRITE_ONCE(vm->cfg.nx_huge_pages_disabled, true);
		ret = 0;
	}
	mutex_unlock(&vm->lock);
	return ret;
}

/*
 * S2MMU_CAP_ARM64_MTE by S2MMU_ENABLE_CAP: the VM becomes an MTE VM, as
 * if created with %S2MMU_VM_ARM64_MTE.  KVM's rules (kvm_vm_ioctl_
 * enable_cap(): -EINVAL without MTE or once a vCPU was created, 0 again
 * for a VM that has it already) plus one: no slot may exist, because an
 * MTE VM's slots must pass the VM_MTE_ALLOWED check that one registered
 * before went without.  The checks apply whether MTE is on already or
 * not, as in KVM.
 *
 * Both locks, vm->lock (vCPU creation) outside vm->slots_lock (slot
 * registration, which checks cfg.mte under it), make the check and the
 * store one step against both: a vCPU or slot created after it sees
 * cfg.mte set, by the mutex's release/acquire.  Every other reader of
 * cfg.mte without these locks (the fault path and its prepare_page hook,
 * the tag ops of S2MMU_RUN) runs on a vCPU of the VM, created after this
 * store or after the last chance of it; COPY_TAGS reads it under
 * vm->slots_lock.  So no reader can see it change.
 */
static long s2mmu_vm_enable_mte(struct s2mmu_vm *vm,
				const struct s2mmu_enable_cap *cap)
{
	long ret = -EINVAL;

	if (cap->args[0] || cap->args[1] || cap->args[2] || cap->args[3])
		return -EINVAL;
	/* A type and host without MTE: arm64 stage 2 on an MTE host only. */
	if (!s2mmu_vm_type_mte_supported(vm->cfg.ops))
		return -EINVAL;
	mutex_lock(&vm->lock);
	mutex_lock(&vm->slots_lock);
	if (!vm->nr_vcpus && !vm->nr_slots) {
		WRITE_ONCE(vm->cfg.mte, true);
		ret = 0;
	}
	mutex_unlock(&vm->slots_lock);
	mutex_unlock(&vm->lock);
	return ret;
}

/*
 * S2MMU_CAP_FAULT_AROUND by S2MMU_ENABLE_CAP: args[0] frames, up to
 * %S2MMU_FAULT_AROUND_MAX, the other args zero (-EINVAL).  Allowed at any
 * time: the fault path reads it once per fault.
 */
static long s2mmu_vm_fault_around(struct s2mmu_vm *vm,
				  const struct s2mmu_enable_cap *cap)
{
	if (cap->args[0] > S2MMU_FAULT_AROUND_MAX || cap->args[1] ||
	    cap->args[2] || cap->args[3])
		return -EINVAL;
	WRITE_ONCE(vm->cfg.fault_around, cap->args[0]);
	return 0;
}

/**
 * s2mmu_vm_ioctl_enable_cap() - S2MMU_ENABLE_CAP, on a VM file descriptor.
 * @vm: the VM.
 * @argp: user pointer to a struct s2mmu_enable_cap.
 *
 * %S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES and %S2MMU_CAP_ARM64_MTE before the
 * first vCPU (MTE: and before the first slot), %S2MMU_CAP_FAULT_AROUND
 * at any time, the dirty log capabilities (s2mmu_dirty_log_enable_cap()).
 * flags and pad must be zero.
 *
 * Return: 0; -EFAULT; -EPERM (NX without CAP_SYS_BOOT); -EINVAL for
 * non-zero flags, pad or args, an unknown capability, one the VM type or
 * host does not have, or a vCPU (MTE: or a slot) that already exists.
 */
static long s2mmu_vm_ioctl_enable_cap(struct s2mmu_vm *vm, void __user *argp)
{
	struct s2mmu_enable_cap cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags || memchr_inv(cap.pad, 0, sizeof(cap.pad)))
		return -EINVAL;
	if (cap.cap == S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES)
		return s2mmu_vm_disable_nx_huge_pages(vm, &cap);
	if (cap.cap == S2MMU_CAP_ARM64_MTE)
		return s2mmu_vm_enable_mte(vm, &cap);
	if (cap.cap == S2MMU_CAP_FAULT_AROUND)
		return s2mmu_vm_fault_around(vm, &cap);
	return s2mmu_dirty_log_enable_cap(vm, &cap);
}

/*
 * The bitmap pointer of a dirty log request, whose union of a pointer and
 * padding2 is 64 bits for every caller.  A 32-bit (compat) caller's
 * pointer is 32 bits, in the union's first four bytes, and nothing makes
 * it clear the other four: they are ignored, so the pointer is never read
 * as a 64-bit value with garbage in its upper half.  A 64-bit caller's is
 * taken whole.
 */
static void __user *s2mmu_dirty_log_uptr(void __user *ptr, const __u64 *raw)
{
	compat_uptr_t uptr;

	if (!in_compat_syscall())
		return ptr;
	/* The first four bytes, whatever the byte order. */
	memcpy(&uptr, raw, sizeof(uptr));
	return compat_ptr(uptr);
}

/**
 * s2mmu_vm_ioctl_get_dirty_log() - S2MMU_GET_DIRTY_LOG, from any caller.
 * @vm: the VM.
 * @argp: the caller's struct s2mmu_dirty_log.
 *
 * The structure has one layout for 64-bit and 32-bit callers; a 32-bit
 * caller's bitmap pointer is the union's first four bytes only, see
 * s2mmu_dirty_log_uptr(), and its bitmap is of 32-bit words, see
 * s2mmu_dirty_log_get().
 *
 * Return: as s2mmu_dirty_log_get(); -EFAULT when @argp cannot be read.
 */
static long s2mmu_vm_ioctl_get_dirty_log(struct s2mmu_vm *vm,
					 void __user *argp)
{
	struct s2mmu_dirty_log log;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	log.dirty_bitmap = s2mmu_dirty_log_uptr(log.dirty_bitmap,
						&log.padding2);
	return s2mmu_dirty_log_get(vm, &log);
}

/**
 * s2mmu_vm_ioctl_clear_dirty_log() - S2MMU_CLEAR_DIRTY_LOG, from any caller.
 * @vm: the VM.
 * @argp: the caller's struct s2mmu_clear_dirty_log.
 *
 * As s2mmu_vm_ioctl_get_dirty_log() for a 32-bit caller's pointer and
 * bitmap (s2mmu_dirty_log_clear()).
 *
 * Return: as s2mmu_dirty_log_clear(); -EFAULT when @argp cannot be read.
 */
static long s2mmu_vm_ioctl_clear_dirty_log(struct s2mmu_vm *vm,
					   void __user *argp)
{
	struct s2mmu_clear_dirty_log log;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	log.dirty_bitmap = s2mmu_dirty_log_uptr(log.dirty_bitmap,
						&log.padding2);
	return s2mmu_dirty_log_clear(vm, &log);
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
	case S2MMU_GET_VM_INFO_V1:
		return s2mmu_vm_get_info(vm, argp, _IOC_SIZE(cmd));
	case S2MMU_SET_MEMORY_REGION:
		return s2mmu_vm_ioctl_set_memory_region(vm, argp);
	case S2MMU_SET_MEMORY_REGION2:
		return s2mmu_vm_ioctl_set_memory_region2(vm, argp);
	case S2MMU_SET_MEMORY_ATTRIBUTES:
		return s2mmu_vm_ioctl_set_memory_attributes(vm, argp);
	case S2MMU_CREATE_GUEST_MEMFD:
		return s2mmu_vm_ioctl_create_guest_memfd(vm, argp);
	case S2MMU_CREATE_VCPU:
		return s2mmu_vcpu_create(vm, arg);
	case S2MMU_CHECK_INVARIANTS:
		return s2mmu_check_invariants(vm, argp);
	case S2MMU_GET_STATS_FD:
		return s2mmu_vm_stats_fd(vm, arg);
	case S2MMU_CHECK_EXTENSION:
		return s2mmu_check_extension(vm, arg);
	case S2MMU_ENABLE_CAP:
		return s2mmu_vm_ioctl_enable_cap(vm, argp);
	case S2MMU_GET_DIRTY_LOG:
		return s2mmu_vm_ioctl_get_dirty_log(vm, argp);
	case S2MMU_CLEAR_DIRTY_LOG:
		return s2mmu_vm_ioctl_clear_dirty_log(vm, argp);
	case S2MMU_ARM64_MTE_COPY_TAGS:
		return s2mmu_arm64_mte_copy_tags(vm, argp);
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
 * Return: a new VM file descriptor (O_CLOEXEC), -EINVAL for a bad @arg
 * (%S2MMU_VM_ARM64_MTE on a host or VM type without MTE included),
 * -EPERM for %S2MMU_VM_DISABLE_NX_HUGE_PAGES without CAP_SYS_BOOT, -EIO
 * when the caller has no mm (a kernel thread), -ENOMEM, or the error
 * from registering the notifier or allocating the fd.
 */
static int s2mmu_vm_create(unsigned long arg)
{
	struct s2mmu_vm_config cfg;
	struct s2mmu_vm *vm;
	struct file *file;
	int fd, ret;

	ret = s2mmu_parse_vm_type(arg, &cfg);
	if (ret)
		return ret;
	/* The mitigation protects the host: opting out is the admin's call. */
	if (cfg.nx_huge_pages_disabled && !capable(CAP_SYS_BOOT))
		return -EPERM;
	if (!current->mm)
		return -EIO;

	vm = s2mmu_vm_alloc(&cfg);
	if (IS_ERR(vm))
		return PTR_ERR(vm);

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
	s2mmu_debugfs_vm_create(vm, fd);
	/* From here the file owns the VM's reference. */
	fd_install(fd, file);
	return fd;

err_fd:
	put_unused_fd(fd);
err_notifier:
	s2mmu_vm_put(vm);
	return ret;
}

/**
 * s2mmu_dev_ioctl() - system ioctls on /dev/s2mmu.
 * @file: the opened device.
 * @cmd: %S2MMU_GET_API_VERSION, %S2MMU_CREATE_VM or %S2MMU_CHECK_EXTENSION.
 * @arg: for %S2MMU_CREATE_VM, the VM type and address width (see
 *       s2mmu_parse_vm_type()); must be 0 for %S2MMU_GET_API_VERSION; the
 *       capability for %S2MMU_CHECK_EXTENSION.
 *
 * Return: %S2MMU_API_VERSION, a new VM file descriptor, a capability's
 * answer (0: not supported), -EINVAL for a bad argument, -ENOTTY for an
 * unknown ioctl, or another negative errno.
 */
static long s2mmu_dev_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	switch (cmd) {
	case S2MMU_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return S2MMU_API_VERSION;
	case S2MMU_CREATE_VM:
		return s2mmu_vm_create(arg);
	case S2MMU_CHECK_EXTENSION:
		return s2mmu_check_extension(NULL, arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations s2mmu_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= s2mmu_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice s2mmu_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "s2mmu",
	.fops	= &s2mmu_dev_fops,
	.mode	= 0660,
	.groups	= s2mmu_dev_groups,
};

static int __init s2mmu_init(void)
{
	int ret;

	ret = s2mmu_gmem_init();
	if (ret)
		return ret;
	s2mmu_debugfs_init();
	ret = misc_register(&s2mmu_dev);
	if (ret) {
		s2mmu_debugfs_exit();
		s2mmu_gmem_exit();
	}
	return ret;
}

static void __exit s2mmu_exit(void)
{
	misc_deregister(&s2mmu_dev);
	s2mmu_debugfs_exit();
	s2mmu_gmem_exit();
}

module_init(s2mmu_init);
module_exit(s2mmu_exit);

MODULE_DESCRIPTION("KVM-style secondary MMU driven from userspace");
MODULE_AUTHOR("The s2mmu developers");
MODULE_LICENSE("GPL");
/*
 * S2MMU_VERSION is the VERSION file at the top of the tree, passed as
 * KCFLAGS by the top Makefile and dkms.conf (Kbuild itself does not set
 * it, so the check and test builds carry no version).
 */
#ifdef S2MMU_VERSION
MODULE_VERSION(__stringify(S2MMU_VERSION));
#endif
