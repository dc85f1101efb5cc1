// SPDX-License-Identifier: GPL-2.0
/*
 * The binary stats fds (S2MMU_GET_STATS_FD on a VM or vCPU fd): KVM's
 * binary stats format, emitted byte by byte by s2mmu_stats_read()
 * (mmu/stats.c) from the statistics' description tables.
 *
 * The file is laid out as KVM's: the header, the id string (name_size
 * bytes), the descriptors (each a struct s2mmu_stats_desc and a name of
 * name_size bytes), then the values, __u64 each, in table order.
 *
 * A stats fd holds a reference to its VM (vm->users), so it reads a live
 * VM (and vCPU: vCPUs live as long as their VM) after the VM and vCPU fds
 * are closed, as KVM's does.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>

#include "s2mmu.h"

static int s2mmu_stats_release(struct inode *inode, struct file *file)
{
	struct s2mmu_stats_file *sf = file->private_data;

	s2mmu_vm_put(sf->vm);
	kfree(sf);
	return 0;
}

static const struct file_operations s2mmu_stats_fops = {
	.owner		= THIS_MODULE,
	.read		= s2mmu_stats_read,
	.release	= s2mmu_stats_release,
	.llseek		= noop_llseek,
};

/*
 * A new stats fd over @vm's statistics, or @vcpu's when not NULL.  The
 * caller holds a reference to @vm (its open VM or vCPU fd); the fd takes
 * its own.
 */
static int s2mmu_stats_fd(struct s2mmu_vm *vm, struct s2mmu_vcpu *vcpu)
{
	struct s2mmu_stats_file *sf;
	struct file *file;
	int fd, ret;

	sf = kzalloc(sizeof(*sf), GFP_KERNEL_ACCOUNT);
	if (!sf)
		return -ENOMEM;
	sf->vm = vm;
	s2mmu_stats_file_init(sf, vcpu);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_free;
	}
	file = anon_inode_getfile("s2mmu-stats", &s2mmu_stats_fops, sf,
				  O_RDONLY);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_fd;
	}
	file->f_mode |= FMODE_PREAD;
	refcount_inc(&vm->users);
	fd_install(fd, file);
	return fd;

err_fd:
	put_unused_fd(fd);
err_free:
	kfree(sf);
	return ret;
}

/**
 * s2mmu_vm_stats_fd() - S2MMU_GET_STATS_FD on a VM fd.
 * @vm: the VM; the caller's open VM fd holds a reference.
 * @arg: the ioctl argument, must be 0.
 *
 * The fd (read-only, O_CLOEXEC) reads the VM's statistics in KVM's binary
 * stats format (Documentation/uapi.rst); its id is "s2mmu-<pid>" with the
 * pid of the task that created the VM.  It holds a reference to the VM.
 *
 * Return: the fd, -EINVAL for a non-zero @arg, -ENOMEM, or an fd
 * allocation error.
 */
int s2mmu_vm_stats_fd(struct s2mmu_vm *vm, unsigned long arg)
{
	if (arg)
		return -EINVAL;
	return s2mmu_stats_fd(vm, NULL);
}

/**
 * s2mmu_vcpu_stats_fd() - S2MMU_GET_STATS_FD on a vCPU fd.
 * @vcpu: the vCPU; the caller's open vCPU fd holds a VM reference.
 * @arg: the ioctl argument, must be 0.
 *
 * As s2mmu_vm_stats_fd(), for the vCPU's statistics; the id is
 * "s2mmu-<pid>/vcpu-<id>" with the pid of the task that created the vCPU.
 *
 * Return: the fd, -EINVAL for a non-zero @arg, -ENOMEM, or an fd
 * allocation error.
 */
int s2mmu_vcpu_stats_fd(struct s2mmu_vcpu *vcpu, unsigned long arg)
{
	if (arg)
		return -EINVAL;
	return s2mmu_stats_fd(vcpu->vm, vcpu);
}
