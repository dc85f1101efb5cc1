// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu module entry: the /dev/s2mmu misc device and its system ioctls.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "s2mmu.h"

/**
 * s2mmu_dev_ioctl() - system ioctls on /dev/s2mmu.
 * @file: the opened device.
 * @cmd: %S2MMU_GET_API_VERSION or %S2MMU_CREATE_VM.
 * @arg: for %S2MMU_CREATE_VM, the VM type and address width (see
 *       s2mmu_parse_vm_type()); must be 0 for %S2MMU_GET_API_VERSION.
 *
 * Return: %S2MMU_API_VERSION, a new VM file descriptor, -EINVAL for a bad
 * argument, -ENOTTY for an unknown ioctl, or another negative errno.
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
};

static int __init s2mmu_init(void)
{
	return misc_register(&s2mmu_dev);
}

static void __exit s2mmu_exit(void)
{
	misc_deregister(&s2mmu_dev);
}

module_init(s2mmu_init);
module_exit(s2mmu_exit);

MODULE_DESCRIPTION("KVM-style secondary MMU driven from userspace");
MODULE_AUTHOR("The s2mmu developers");
MODULE_LICENSE("GPL");
