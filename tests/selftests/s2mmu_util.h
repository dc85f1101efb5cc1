/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the s2mmu selftests (userspace).
 */
#ifndef _S2MMU_UTIL_H
#define _S2MMU_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/s2mmu.h>

#define S2MMU_DEV	"/dev/s2mmu"

/* Where the test initramfs keeps the module, for unload/reload tests. */
#define S2MMU_KO	"/lib/modules/s2mmu.ko"

static inline int s2mmu_open(void)
{
	return open(S2MMU_DEV, O_RDWR | O_CLOEXEC);
}

/* Create a VM of @type on a fresh /dev/s2mmu fd; -errno on failure. */
static inline int s2mmu_create_vm(unsigned long type)
{
	int dev = s2mmu_open();
	int vm;

	if (dev < 0)
		return -errno;
	vm = ioctl(dev, S2MMU_CREATE_VM, type);
	if (vm < 0)
		vm = -errno;
	close(dev);
	return vm;
}

/* The module's reference count from sysfs, or -1 when not loaded. */
static inline long s2mmu_module_refcnt(void)
{
	char buf[32] = "";
	long n = -1;
	int fd = open("/sys/module/s2mmu/refcnt", O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		n = strtol(buf, NULL, 10);
	close(fd);
	return n;
}

static inline int s2mmu_delete_module(void)
{
	return syscall(__NR_delete_module, "s2mmu", O_NONBLOCK);
}

static inline int s2mmu_load_module(void)
{
	int fd = open(S2MMU_KO, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = syscall(__NR_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

#endif /* _S2MMU_UTIL_H */
