// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU file descriptor: S2MMU_CREATE_VCPU, the vCPU ioctls and the
 * mmap()able run page.  What a vCPU does in S2MMU_RUN is in mmu/run.c;
 * its software TLB and the shootdown in mmu/tlb.c.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "s2mmu.h"

static long s2mmu_vcpu_ioctl_run(struct s2mmu_vcpu *vcpu, unsigned long arg)
{
	struct s2mmu_run *run;
	long ret;

	if (!arg)
		return s2mmu_vcpu_run(vcpu, vcpu->run);

	run = kmalloc(sizeof(*run), GFP_KERNEL);
	if (!run)
		return -ENOMEM;
	ret = -EFAULT;
	if (copy_from_user(run, (void __user *)arg, sizeof(*run)))
		goto out;
	ret = s2mmu_vcpu_run(vcpu, run);
	if (ret != -EFAULT && ret != -EINVAL &&
	    copy_to_user((void __user *)arg, run, sizeof(*run)))
		ret = -EFAULT;
out:
	kfree(run);
	return ret;
}

static long s2mmu_vcpu_ioctl_translate(struct s2mmu_vcpu *vcpu,
				       void __user *argp)
{
	struct s2mmu_translation t;
	int ret;

	if (copy_from_user(&t, argp, sizeof(t)))
		return -EFAULT;
	if (memchr_inv(t.pad, 0, sizeof(t.pad)))
		return -EINVAL;
	ret = s2mmu_mmu_translate(vcpu->vm, &t);
	if (ret)
		return ret;
	if (!capable(CAP_SYS_ADMIN))
		t.hpa = 0;
	return copy_to_user(argp, &t, sizeof(t)) ? -EFAULT : 0;
}

static long s2mmu_vcpu_ioctl_pre_fault(struct s2mmu_vcpu *vcpu,
				       void __user *argp)
{
	struct s2mmu_pre_fault_memory r;
	long ret;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (r.flags || memchr_inv(r.padding, 0, sizeof(r.padding)))
		return -EINVAL;
	if (!PAGE_ALIGNED(r.gpa) || !PAGE_ALIGNED(r.size) ||
	    r.gpa + r.size < r.gpa)
		return -EINVAL;
	ret = s2mmu_pre_fault(vcpu, &r.gpa, &r.size);
	if (copy_to_user(argp, &r, sizeof(r)))
		return -EFAULT;
	return ret;
}

/**
 * s2mmu_vcpu_ioctl() - vCPU ioctls: S2MMU_RUN, S2MMU_PRE_FAULT_MEMORY,
 * S2MMU_TRANSLATE, S2MMU_GET_STATS_FD.
 * @file: the vCPU file.
 * @cmd: the ioctl.
 * @arg: its argument.
 *
 * Only the VM's mm may use a vCPU (-EIO otherwise).  S2MMU_RUN and
 * S2MMU_PRE_FAULT_MEMORY run one at a time per vCPU (a second caller waits,
 * as in KVM); S2MMU_TRANSLATE only reads the VM's tables and
 * S2MMU_GET_STATS_FD opens a stats fd: neither waits.
 *
 * Return: 0 (for S2MMU_RUN: the exit is in the run structure), -EINTR
 * when a signal stopped S2MMU_RUN (exit reason S2MMU_EXIT_INTR) or a
 * fatal signal interrupted the wait for the vCPU, -EINVAL, -EFAULT,
 * -ENOTTY or another negative errno.
 */
static long s2mmu_vcpu_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct s2mmu_vcpu *vcpu = file->private_data;
	long ret;

	if (vcpu->vm->mm != current->mm)
		return -EIO;

	switch (cmd) {
	case S2MMU_TRANSLATE:
		return s2mmu_vcpu_ioctl_translate(vcpu, (void __user *)arg);
	case S2MMU_GET_STATS_FD:
		return s2mmu_vcpu_stats_fd(vcpu, arg);
	case S2MMU_RUN:
	case S2MMU_PRE_FAULT_MEMORY:
		break;
	default:
		return -ENOTTY;
	}

	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	if (cmd == S2MMU_RUN)
		ret = s2mmu_vcpu_ioctl_run(vcpu, arg);
	else
		ret = s2mmu_vcpu_ioctl_pre_fault(vcpu, (void __user *)arg);
	mutex_unlock(&vcpu->mutex);
	return ret;
}

/**
 * s2mmu_vcpu_mmap() - mmap() of a vCPU fd: its run page.
 * @file: the vCPU file.
 * @vma: the new mapping.
 *
 * One page at offset 0, shared.  A private mapping is refused: the run
 * page is shared with the kernel by definition, and remap_pfn_range() of
 * a copy-on-write mapping (VM_MAYWRITE without VM_SHARED) records the
 * pfn in vm_pgoff, which /proc/PID/maps prints as the mapping's offset:
 * the page's host physical address, which only CAP_SYS_ADMIN may see.
 *
 * Return: 0, or -EINVAL for another offset or size or a private mapping.
 */
static int s2mmu_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct s2mmu_vcpu *vcpu = file->private_data;

	if (vma->vm_pgoff || vma_pages(vma) != 1)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/*
	 * A PFN mapping of the kernel's run page (VM_IO | VM_PFNMAP, never
	 * grown by mremap nor dumped): neither GUP nor GUP-fast takes it, so
	 * a memory slot over it cannot map it into a guest.  The page lives
	 * until the VM is destroyed, which this mapping's file reference
	 * delays past munmap.  Shared, so vm_pgoff stays 0.
	 */
	return remap_pfn_range(vma, vma->vm_start,
			       page_to_pfn(virt_to_page(vcpu->run)), PAGE_SIZE,
			       vma->vm_page_prot);
}

static int s2mmu_vcpu_release(struct inode *inode, struct file *file)
{
	struct s2mmu_vcpu *vcpu = file->private_data;

	s2mmu_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations s2mmu_vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= s2mmu_vcpu_release,
	.unlocked_ioctl	= s2mmu_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= s2mmu_vcpu_mmap,
	.llseek		= noop_llseek,
};

/**
 * s2mmu_vcpu_create() - handle S2MMU_CREATE_VCPU.
 * @vm: the VM.
 * @id: vCPU id, below %S2MMU_MAX_VCPUS and unused in this VM.
 *
 * The vCPU lives until the VM is destroyed; its fd holds a VM reference.
 *
 * Return: the vCPU fd, -EINVAL for a bad id, -EEXIST for a used one,
 * -ENOMEM, or an fd allocation error.
 */
int s2mmu_vcpu_create(struct s2mmu_vm *vm, unsigned long id)
{
	struct s2mmu_vcpu *vcpu;
	struct file *file;
	int fd, ret;

	if (id >= S2MMU_MAX_VCPUS)
		return -EINVAL;

	vcpu = s2mmu_vcpu_alloc(vm, id);
	if (!vcpu)
		return -ENOMEM;

	mutex_lock(&vm->lock);
	ret = -EEXIST;
	if (vm->vcpu_ids & BIT_ULL(id))
		goto err_unlock;
	ret = get_unused_fd_flags(O_CLOEXEC);
	if (ret < 0)
		goto err_unlock;
	fd = ret;
	refcount_inc(&vm->users);
	file = anon_inode_getfile("s2mmu-vcpu", &s2mmu_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		put_unused_fd(fd);
		refcount_dec(&vm->users);
		goto err_unlock;
	}
	vm->vcpu_ids |= BIT_ULL(id);
	vm->vcpus[vm->nr_vcpus] = vcpu;
	/* Flushers read vcpus[] up to nr_vcpus without the lock. */
	smp_store_release(&vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	fd_install(fd, file);
	return fd;

err_unlock:
	mutex_unlock(&vm->lock);
	s2mmu_vcpu_free(vcpu);
	return ret;
}
