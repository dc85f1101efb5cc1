/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the s2mmu selftests (userspace).
 */
#ifndef _S2MMU_UTIL_H
#define _S2MMU_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
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

/* Guest and host page size: every target kernel uses 4 KiB pages. */
#define S2MMU_PAGE_SIZE	4096UL
#define S2MMU_PMD_SIZE	(2UL << 20)

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif

static inline int s2mmu_vm_info(int vm, struct s2mmu_vm_info *info)
{
	return ioctl(vm, S2MMU_GET_VM_INFO, info) ? -errno : 0;
}

/* S2MMU_SET_MEMORY_REGION; 0 or -errno. */
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

/* Anonymous read-write memory aligned to @align; NULL on failure. */
static inline void *s2mmu_alloc_aligned(size_t size, size_t align)
{
	char *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + size, p + align - a);
	return a;
}

/*
 * The page frame backing @addr from /proc/self/pagemap, or 0 when it is
 * not present or the frame is hidden (not CAP_SYS_ADMIN).
 */
static inline __u64 s2mmu_pagemap_pfn(const void *addr)
{
	__u64 ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t off = (uintptr_t)addr / S2MMU_PAGE_SIZE * sizeof(ent);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), off) != sizeof(ent))
		ent = 0;
	close(fd);
	if (!(ent & (1ULL << 63)))
		return 0;
	return ent & ((1ULL << 55) - 1);
}

/* Monotonic time in milliseconds. */
static inline long long s2mmu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Read a small sysfs/procfs file as a number; -1 when it cannot be read. */
static inline long s2mmu_read_long(const char *path)
{
	char buf[64] = "";
	long n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		n = strtol(buf, NULL, 10);
	close(fd);
	return n;
}

/* The module's reference count from sysfs, or -1 when not loaded. */
static inline long s2mmu_module_refcnt(void)
{
	return s2mmu_read_long("/sys/module/s2mmu/refcnt");
}

/* Write @val to a sysfs/procfs file; 0 or -errno. */
static inline int s2mmu_write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? n : 0;
}

/*
 * Test-only knobs of the module's test flavour (built with
 * S2MMU_PROVE_MMU: scripts/build-module.sh --prove), module parameters
 * named test_*.  The module users install has none: tests using one skip.
 */
#define S2MMU_KNOB(name)	"/sys/module/s2mmu/parameters/" name

static inline bool s2mmu_have_knob(const char *path)
{
	return access(path, W_OK) == 0;
}

/* Transparent huge pages can be had (always, or with MADV_HUGEPAGE). */
static inline bool s2mmu_thp_available(void)
{
	char buf[128] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);

	if (fd < 0)
		return false;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return strstr(buf, "[always]") || strstr(buf, "[madvise]");
}

/* Drop capability @cap from the effective set; 0 or -1. */
static inline int s2mmu_drop_cap(int cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	return syscall(SYS_capset, &h, d);
}

/* Set a numeric knob; 0 or -errno. */
static inline int s2mmu_set_knob(const char *path, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	return s2mmu_write_str(path, buf);
}

/* Fill a page with a pattern derived from @seed, and check one. */
static inline void s2mmu_fill_page(void *page, __u64 seed)
{
	__u64 *p = page;
	unsigned int i;

	for (i = 0; i < S2MMU_PAGE_SIZE / sizeof(*p); i++)
		p[i] = seed * 0x9e3779b97f4a7c15ULL + i;
}

static inline bool s2mmu_check_page(const void *page, __u64 seed)
{
	const __u64 *p = page;
	unsigned int i;

	for (i = 0; i < S2MMU_PAGE_SIZE / sizeof(*p); i++)
		if (p[i] != seed * 0x9e3779b97f4a7c15ULL + i)
			return false;
	return true;
}

/* S2MMU_CHECK_INVARIANTS into @inv; 0, or -errno (-EUCLEAN: violations). */
static inline int s2mmu_check_invariants(int vm, struct s2mmu_invariants *inv)
{
	memset(inv, 0, sizeof(*inv));
	return ioctl(vm, S2MMU_CHECK_INVARIANTS, inv) ? -errno : 0;
}

/*
 * Every selftest checks its VM's invariants before tearing it down: no
 * stage-2 leaf the host page tables do not back, exact table accounting,
 * no stale vCPU TLB entry.  For fixture teardowns (needs the harness).
 */
#define S2MMU_EXPECT_INVARIANTS(vm) s2mmu_expect_invariants(_metadata, vm)

#ifdef EXPECT_EQ
static inline void s2mmu_expect_invariants(struct __test_metadata *_metadata,
					   int vm)
{
	struct s2mmu_invariants inv;
	int ret;

	if (vm < 0)
		return;
	ret = s2mmu_check_invariants(vm, &inv);
	EXPECT_EQ(0, ret)
		TH_LOG("invariants: %llu leaves; no_slot %llu host_unmapped %llu bad_pfn %llu",
		       (unsigned long long)inv.leaves,
		       (unsigned long long)inv.no_slot,
		       (unsigned long long)inv.host_unmapped,
		       (unsigned long long)inv.bad_pfn);
	EXPECT_EQ(0, inv.bad_write + inv.bad_huge + inv.bad_accounting +
		     inv.stale_tlb)
		TH_LOG("invariants: bad_write %llu bad_huge %llu accounting %llu stale_tlb %llu",
		       (unsigned long long)inv.bad_write,
		       (unsigned long long)inv.bad_huge,
		       (unsigned long long)inv.bad_accounting,
		       (unsigned long long)inv.stale_tlb);
}

/*
 * Fixture helpers.  Most fixtures run once per VM type and drive one
 * guest, kept in the fixture's own fields: a VM, vCPU 0 and its run
 * page, often with host memory behind slot 0.
 */

/* @npages of private anonymous memory, page i filled with pattern i. */
static inline char *s2mmu_mmap_filled(struct __test_metadata *_metadata,
				      size_t npages)
{
	char *mem = mmap(NULL, npages * S2MMU_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	ASSERT_NE(MAP_FAILED, mem);
	for (i = 0; i < npages; i++)
		s2mmu_fill_page(mem + i * S2MMU_PAGE_SIZE, i);
	return mem;
}

/*
 * A VM of @type into *@vm; unless @mem is NULL, slot 0 mapping @size
 * bytes of it at @gpa; then vCPU 0 into *@vcpu and its run page into
 * *@run.
 */
static inline void s2mmu_setup_guest(struct __test_metadata *_metadata,
				     unsigned long type, void *mem, __u64 gpa,
				     __u64 size, int *vm, int *vcpu,
				     struct s2mmu_run **run)
{
	*vm = s2mmu_create_vm(type);
	ASSERT_LE(0, *vm) TH_LOG("CREATE_VM: %s", strerror(-*vm));
	if (mem) {
		ASSERT_EQ(0, s2mmu_set_region(*vm, 0, 0, gpa, size,
					      (unsigned long)mem));
	}
	*vcpu = s2mmu_create_vcpu(*vm, 0);
	ASSERT_LE(0, *vcpu);
	*run = s2mmu_map_run(*vcpu);
	ASSERT_NE(NULL, *run);
}

/*
 * The matching teardown: the VM's invariants first, then whatever is
 * still there (a test may have closed the vCPU or VM and set it to -1)
 * and @size bytes of @mem (none when NULL).
 */
static inline void s2mmu_teardown_guest(struct __test_metadata *_metadata,
					int vm, int vcpu, struct s2mmu_run *run,
					void *mem, size_t size)
{
	S2MMU_EXPECT_INVARIANTS(vm);
	s2mmu_unmap_run(run);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	if (mem)
		munmap(mem, size);
}
#endif

/*
 * Helpers of the reliability tests (torture, fuzz, bad input, lifetime).
 */

/* An unsigned number from the environment, or @def when unset or bad. */
static inline unsigned long long s2mmu_env_ull(const char *name,
					       unsigned long long def)
{
	const char *s = getenv(name);
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return def;
	return v;
}

/* The random seed of a test: $S2MMU_SEED when set, else @def. */
static inline unsigned long long s2mmu_seed(unsigned long long def)
{
	return s2mmu_env_ull("S2MMU_SEED", def);
}

/* xorshift64*: a small, fast, reproducible generator; @state never 0. */
static inline __u64 s2mmu_rand64(__u64 *state)
{
	__u64 x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* A random number below @n (n > 0). */
static inline __u64 s2mmu_rand_below(__u64 *state, __u64 n)
{
	return s2mmu_rand64(state) % n;
}

#define S2MMU_SYSFS_VMS		"/sys/class/misc/s2mmu/vms"
#define S2MMU_SYSFS_TABLE_PAGES	"/sys/class/misc/s2mmu/table_pages"

/* Live VMs module-wide, or -1 when the counter cannot be read. */
static inline long s2mmu_nr_vms(void)
{
	return s2mmu_read_long(S2MMU_SYSFS_VMS);
}

/*
 * Wait up to @ms for the live VM count to drop to @want (VM teardown may
 * finish in a deferred fput after close() or exit); the last value read.
 */
static inline long s2mmu_wait_nr_vms(long want, int ms)
{
	long long deadline = s2mmu_now_ms() + ms;
	long n = s2mmu_nr_vms();

	while (n != want && s2mmu_now_ms() < deadline) {
		usleep(10000);
		n = s2mmu_nr_vms();
	}
	return n;
}

/*
 * MGLRU's debugfs interface (Documentation/admin-guide/mm/multigen_lru.rst):
 * the aging and torture tests make the host age its pages with it.
 */
#define S2MMU_LRU_GEN		"/sys/kernel/debug/lru_gen"
#define S2MMU_LRU_GEN_ENABLED	"/sys/kernel/mm/lru_gen/enabled"

/* MGLRU on (it is turned on here when present), its debugfs writable. */
static inline bool s2mmu_have_mglru(void)
{
	if (access(S2MMU_LRU_GEN, W_OK))
		return false;
	s2mmu_write_str(S2MMU_LRU_GEN_ENABLED, "y");
	return true;
}

/*
 * One MGLRU aging pass over every memcg and node: a new generation with a
 * forced page-table walk ("+ memcg node max_gen swappiness force_scan").
 * Return: the number of lruvecs aged, or -errno.  See s2mmu_have_mglru().
 */
static inline int s2mmu_mglru_age(void)
{
	char line[256], cmds[4096] = "";
	int memcg = -1, node = -1, n = 0, fd;
	unsigned long gen, max_gen = 0;
	bool have_gen = false;
	size_t len = 0;
	FILE *f;

	f = fopen(S2MMU_LRU_GEN, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		int id;

		if (sscanf(line, "memcg %d", &id) == 1) {
			memcg = id;
			continue;
		}
		if (sscanf(line, " node %d", &id) == 1) {
			if (have_gen && len < sizeof(cmds) - 64)
				len += snprintf(cmds + len, sizeof(cmds) - len,
						"+ %d %d %lu 200 1\n", memcg,
						node, max_gen);
			node = id;
			have_gen = false;
			continue;
		}
		if (node >= 0 && sscanf(line, " %lu", &gen) == 1) {
			max_gen = have_gen && max_gen > gen ? max_gen : gen;
			have_gen = true;
		}
	}
	fclose(f);
	if (have_gen && len < sizeof(cmds) - 64)
		len += snprintf(cmds + len, sizeof(cmds) - len,
				"+ %d %d %lu 200 1\n", memcg, node, max_gen);

	/*
	 * MGLRU walks an mm only if it ran since its last walk: sleep, so
	 * this task is switched back in.
	 */
	usleep(20000);
	fd = open(S2MMU_LRU_GEN, O_WRONLY);
	if (fd < 0)
		return -errno;
	/* One command per write: an lruvec of another memcg may refuse. */
	for (char *c = strtok(cmds, "\n"); c; c = strtok(NULL, "\n")) {
		if (write(fd, c, strlen(c)) == (ssize_t)strlen(c))
			n++;
	}
	close(fd);
	return n;
}

#endif /* _S2MMU_UTIL_H */
