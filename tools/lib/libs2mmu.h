/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libs2mmu: the small user library of s2mmu's VMMs and tests (the demo,
 * the selftests, the bench and mirror-all), as KVM selftests'
 * lib/kvm_util.c.  One function an ioctl or a common step of one:
 * open /dev/s2mmu, create a VM and its vCPUs, set memory slots, run
 * guest accesses, translate, read a VM's counts, check its invariants.
 *
 * Conventions: a function returning int returns 0 (or an fd, or an exit
 * reason) on success and -errno on failure (s2mmu_open() returns -1, as
 * open()), with errno left as the failed call set it, so a caller may
 * print strerror(-ret) or call s2mmu_die().  Nothing here exits but
 * s2mmu_die().
 *
 * The ioctl wrappers are inline here: S2MMU_RUN is the bench's inner
 * loop, and the compiler keeps seeing what they store through their
 * pointer arguments; the rest is in libs2mmu.c, to link (the selftests'
 * Makefile builds it for every test program).  Built with the uAPI
 * header on the include path: -I<tree>/include/uapi, or the installed
 * <linux/s2mmu.h>.
 */
#ifndef _S2MMU_LIB_H
#define _S2MMU_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/s2mmu.h>

#define S2MMU_DEV	"/dev/s2mmu"

/* Guest and host page size: every target kernel uses 4 KiB pages. */
#define S2MMU_PAGE_SIZE	4096UL
#define S2MMU_PMD_SIZE	(2UL << 20)

/* An fd of /dev/s2mmu (O_CLOEXEC), or -1 with errno set, as open(). */
static inline int s2mmu_open(void)
{
	return open(S2MMU_DEV, O_RDWR | O_CLOEXEC);
}

/* S2MMU_GET_API_VERSION on @dev; the version or -errno. */
static inline int s2mmu_api_version(int dev)
{
	int v = ioctl(dev, S2MMU_GET_API_VERSION, 0);

	return v < 0 ? -errno : v;
}

/* S2MMU_CREATE_VM of @type on @dev; the VM fd or -errno. */
static inline int s2mmu_dev_create_vm(int dev, unsigned long type)
{
	int vm = ioctl(dev, S2MMU_CREATE_VM, type);

	return vm < 0 ? -errno : vm;
}

/* The same on a /dev/s2mmu fd of its own, closed again. */
static inline int s2mmu_create_vm(unsigned long type)
{
	int dev = s2mmu_open();
	int vm, err;

	if (dev < 0)
		return -errno;
	vm = s2mmu_dev_create_vm(dev, type);
	err = errno;
	close(dev);
	errno = err;
	return vm;
}

/*
 * S2MMU_CHECK_EXTENSION on @fd (/dev/s2mmu or a VM fd): the answer (0:
 * not supported), or -errno.
 */
static inline int s2mmu_check_extension(int fd, unsigned long cap)
{
	int ret = ioctl(fd, S2MMU_CHECK_EXTENSION, cap);

	return ret < 0 ? -errno : ret;
}

/* S2MMU_ENABLE_CAP of @cap with @flags and @args[0]; 0 or -errno. */
static inline int s2mmu_enable_cap(int vm, __u32 cap, __u32 flags,
				   __u64 arg0)
{
	struct s2mmu_enable_cap c = {
		.cap = cap, .flags = flags, .args = { arg0 },
	};

	return ioctl(vm, S2MMU_ENABLE_CAP, &c) ? -errno : 0;
}

/* S2MMU_GET_VM_INFO; 0 or -errno. */
static inline int s2mmu_vm_info(int vm, struct s2mmu_vm_info *info)
{
	return ioctl(vm, S2MMU_GET_VM_INFO, info) ? -errno : 0;
}

/* S2MMU_SET_MEMORY_REGION; 0 or -errno.  Deleting is a size of 0. */
static inline int s2mmu_set_region(int vm, __u32 slot, __u32 flags, __u64 gpa,
				   __u64 size, __u64 uaddr)
{
	struct s2mmu_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = uaddr,
	};

	return ioctl(vm, S2MMU_SET_MEMORY_REGION, &r) ? -errno : 0;
}

static inline int s2mmu_delete_region(int vm, __u32 slot)
{
	return s2mmu_set_region(vm, slot, 0, 0, 0, 0);
}

/* S2MMU_CREATE_GUEST_MEMFD; the guest_memfd or -errno. */
static inline int s2mmu_create_guest_memfd(int vm, __u64 size, __u64 flags)
{
	struct s2mmu_create_guest_memfd g = { .size = size, .flags = flags };
	int fd = ioctl(vm, S2MMU_CREATE_GUEST_MEMFD, &g);

	return fd < 0 ? -errno : fd;
}

/*
 * S2MMU_SET_MEMORY_REGION2; 0 or -errno.  With S2MMU_MEM_GUEST_MEMFD the
 * private frames come from @gmem at byte offset @off.
 */
static inline int s2mmu_set_region2(int vm, __u32 slot, __u32 flags,
				    __u64 gpa, __u64 size, __u64 uaddr,
				    int gmem, __u64 off)
{
	struct s2mmu_memory_region2 r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = uaddr,
		.guest_memfd_offset = off,
		.guest_memfd = gmem,
	};

	return ioctl(vm, S2MMU_SET_MEMORY_REGION2, &r) ? -errno : 0;
}

/* S2MMU_SET_MEMORY_ATTRIBUTES of [gpa, gpa + size); 0 or -errno. */
static inline int s2mmu_set_memory_attributes(int vm, __u64 gpa, __u64 size,
					      __u64 attrs)
{
	struct s2mmu_memory_attributes a = {
		.address = gpa,
		.size = size,
		.attributes = attrs,
	};

	return ioctl(vm, S2MMU_SET_MEMORY_ATTRIBUTES, &a) ? -errno : 0;
}

/* S2MMU_CREATE_VCPU; the vCPU fd or -errno. */
static inline int s2mmu_create_vcpu(int vm, unsigned long id)
{
	int fd = ioctl(vm, S2MMU_CREATE_VCPU, id);

	return fd < 0 ? -errno : fd;
}

/* The vCPU's run structure, mmap()ed; NULL on failure (errno set). */
static inline struct s2mmu_run *s2mmu_map_run(int vcpu)
{
	void *p = mmap(NULL, S2MMU_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, vcpu, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline void s2mmu_unmap_run(struct s2mmu_run *run)
{
	if (run)
		munmap(run, S2MMU_PAGE_SIZE);
}

/*
 * S2MMU_RUN on the mmapped run page with @nr accesses.  Return: the exit
 * reason (>= 0) when the ioctl succeeded, else -errno (the exit reason
 * is still in @run, e.g. S2MMU_EXIT_INTR with -EINTR).
 */
static inline int s2mmu_vcpu_run(int vcpu, struct s2mmu_run *run,
				 const struct s2mmu_access *a, __u32 nr)
{
	run->accesses = (unsigned long)a;
	run->nr_accesses = nr;
	run->flags = 0;
	if (ioctl(vcpu, S2MMU_RUN, 0))
		return -errno;
	return run->exit_reason;
}

/* One READ, WRITE or EXEC access of @len bytes at @gpa to/from @buf. */
static inline int s2mmu_vcpu_access(int vcpu, struct s2mmu_run *run, __u32 op,
				    __u64 gpa, void *buf, __u64 len)
{
	struct s2mmu_access a = {
		.gpa = gpa,
		.len = len,
		.uaddr = (unsigned long)buf,
		.op = op,
	};

	return s2mmu_vcpu_run(vcpu, run, &a, 1);
}

static inline int s2mmu_guest_read(int vcpu, struct s2mmu_run *run, __u64 gpa,
				   void *buf, __u64 len)
{
	return s2mmu_vcpu_access(vcpu, run, S2MMU_OP_READ, gpa, buf, len);
}

static inline int s2mmu_guest_write(int vcpu, struct s2mmu_run *run, __u64 gpa,
				    const void *buf, __u64 len)
{
	return s2mmu_vcpu_access(vcpu, run, S2MMU_OP_WRITE, gpa, (void *)buf,
				 len);
}

/* One TOUCH access: every @stride-th byte of [gpa, gpa + len), @repeat times. */
static inline int s2mmu_guest_touch(int vcpu, struct s2mmu_run *run, __u64 gpa,
				    __u64 len, bool write, __u64 stride,
				    __u64 repeat)
{
	struct s2mmu_access a = {
		.gpa = gpa,
		.len = len,
		.op = S2MMU_OP_TOUCH,
		.flags = write ? S2MMU_ACCESS_F_WRITE : 0,
		.stride = stride,
		.repeat = repeat,
	};

	return s2mmu_vcpu_run(vcpu, run, &a, 1);
}

/* S2MMU_TRANSLATE of @gpa into @t; 0 or -errno. */
static inline int s2mmu_translate(int vcpu, __u64 gpa,
				  struct s2mmu_translation *t)
{
	memset(t, 0, sizeof(*t));
	t->gpa = gpa;
	return ioctl(vcpu, S2MMU_TRANSLATE, t) ? -errno : 0;
}

/* S2MMU_PRE_FAULT_MEMORY; 0 or -errno, @r advanced as the module left it. */
static inline int s2mmu_pre_fault(int vcpu, struct s2mmu_pre_fault_memory *r)
{
	return ioctl(vcpu, S2MMU_PRE_FAULT_MEMORY, r) ? -errno : 0;
}

/* S2MMU_CHECK_INVARIANTS into @inv; 0, or -errno (-EUCLEAN: violations). */
static inline int s2mmu_check_invariants(int vm, struct s2mmu_invariants *inv)
{
	memset(inv, 0, sizeof(*inv));
	return ioctl(vm, S2MMU_CHECK_INVARIANTS, inv) ? -errno : 0;
}

/* Every violation S2MMU_CHECK_INVARIANTS counted in @inv. */
__u64 s2mmu_invariants_violations(const struct s2mmu_invariants *inv);

/* Anonymous read-write memory aligned to @align; NULL on failure. */
void *s2mmu_alloc_aligned(size_t size, size_t align);
/*
 * The page frame backing @addr from /proc/self/pagemap, or 0 when it is
 * not present or the frame is hidden (not CAP_SYS_ADMIN).
 */
__u64 s2mmu_pagemap_pfn(const void *addr);
/* @addr's page is out in swap (pagemap's swapped bit, 62). */
bool s2mmu_pagemap_swapped(const void *addr);
/* Transparent huge pages can be had (always, or with MADV_HUGEPAGE). */
bool s2mmu_thp_available(void);

/* Monotonic time in milliseconds. */
long long s2mmu_now_ms(void);
/* Read a small sysfs/procfs file as a number; -1 when it cannot be read. */
long s2mmu_read_long(const char *path);
/* Write @val to a sysfs/procfs file; 0 or -errno. */
int s2mmu_write_str(const char *path, const char *val);
/* An unsigned number from the environment, or @def when unset or bad. */
unsigned long long s2mmu_env_ull(const char *name, unsigned long long def);

/*
 * Print the prefix (s2mmu_set_die_prefix(); none by default), the
 * message and, when errno is set, ": strerror(errno)" on stdout, where
 * the demo's and the bench's runners read them; then _exit(1).
 */
void s2mmu_set_die_prefix(const char *prefix);
void s2mmu_die(const char *fmt, ...);

#endif /* _S2MMU_LIB_H */
