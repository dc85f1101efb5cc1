// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu module entry: the /dev/s2mmu misc device and its system ioctls.
 */
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/stringify.h>

#include "s2mmu.h"

/* VMs alive (created and not yet destroyed), for the sysfs counters. */
atomic_t s2mmu_nr_vms = ATOMIC_INIT(0);

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
	.groups	= s2mmu_dev_groups,
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
/*
 * S2MMU_VERSION is the VERSION file at the top of the tree, passed as
 * KCFLAGS by the top Makefile and dkms.conf (Kbuild itself does not set
 * it, so the check and test builds carry no version).
 */
#ifdef S2MMU_VERSION
MODULE_VERSION(__stringify(S2MMU_VERSION));
#endif
