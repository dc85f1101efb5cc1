/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The s2mmu selftests' helpers: libs2mmu (tools/lib/libs2mmu.h: device, VM,
 * vCPU, slot, run, translate, invariants; linked into every selftest by
 * tests/selftests/Makefile) and, here, what only the tests need: module
 * unload/reload, test knobs, capabilities, data patterns, random numbers,
 * MGLRU aging, a swap device of a test's own and the kselftest-harness
 * assertions.
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
#include <sys/swap.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/s2mmu.h>

#include "libs2mmu.h"

/* Where the test initramfs keeps the module, for unload/reload tests. */
#define S2MMU_KO	"/lib/modules/s2mmu.ko"

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

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif

/* The module's reference count from sysfs, or -1 when not loaded. */
static inline long s2mmu_module_refcnt(void)
{
	return s2mmu_read_long("/sys/module/s2mmu/refcnt");
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

/*
 * A swap device of a test's own: a zram device added for it (zram is
 * loaded with modprobe when it is not yet: the test initramfs carries the
 * module, see tests/qemu/run.sh), made swap and swapped on at the
 * highest priority, so what the test pages out goes there.  The other
 * tests run without swap, so s2mmu_swap_off() undoes exactly what
 * s2mmu_swap_on() did; call it from a FIXTURE_TEARDOWN_PARENT(), which
 * runs after a failed assertion or a crash of the test too.
 */
#define S2MMU_ZRAM_CONTROL	"/sys/class/zram-control"

struct s2mmu_swap {
	int zram;		/* the zram device's number; -1: none */
	bool loaded;		/* zram was loaded for it */
	bool on;		/* swapped on */
	char dev[32];		/* /dev/zramN */
};

/* Undo s2mmu_swap_on(), also a partial one; 0, or -1 if a step failed. */
static inline int s2mmu_swap_off(struct s2mmu_swap *s)
{
	char val[16];
	int ret = 0;

	if (s->on) {
		if (swapoff(s->dev))
			ret = -1;
		s->on = false;
	}
	if (s->zram >= 0) {
		/* Resets the device (frees its memory) and removes it. */
		snprintf(val, sizeof(val), "%d", s->zram);
		if (s2mmu_write_str(S2MMU_ZRAM_CONTROL "/hot_remove", val))
			ret = -1;
		s->zram = -1;
	}
	if (s->loaded) {
		if (system("modprobe -r zram >/dev/null 2>&1"))
			ret = -1;
		s->loaded = false;
	}
	return ret;
}

/*
 * Swap of @size bytes ("16M": zram's disksize syntax).  0, or -1 with
 * the reason (for a SKIP) in @why and nothing left behind.
 */
static inline int s2mmu_swap_on(struct s2mmu_swap *s, const char *size,
				char *why, size_t len)
{
	char path[64], cmd[96];
	long id;
	int ret;

	*s = (struct s2mmu_swap){ .zram = -1 };
	if (geteuid() != 0) {
		snprintf(why, len, "a swap device needs root");
		return -1;
	}
	if (access(S2MMU_ZRAM_CONTROL, F_OK)) {
		/* No device of its own: the only one is added below. */
		if (system("modprobe zram num_devices=0 >/dev/null 2>&1") ||
		    access(S2MMU_ZRAM_CONTROL, F_OK)) {
			snprintf(why, len, "no zram (modprobe zram failed)");
			return -1;
		}
		s->loaded = true;
	}
	id = s2mmu_read_long(S2MMU_ZRAM_CONTROL "/hot_add");
	if (id < 0) {
		snprintf(why, len, "zram: no device added (hot_add)");
		goto fail;
	}
	s->zram = id;
	snprintf(s->dev, sizeof(s->dev), "/dev/zram%ld", id);
	snprintf(path, sizeof(path), "/sys/block/zram%ld/disksize", id);
	ret = s2mmu_write_str(path, size);
	if (ret) {
		snprintf(why, len, "%s: %s", path, strerror(-ret));
		goto fail;
	}
	snprintf(cmd, sizeof(cmd), "mkswap %s >/dev/null 2>&1", s->dev);
	if (system(cmd)) {
		snprintf(why, len, "%s failed", cmd);
		goto fail;
	}
	if (swapon(s->dev, SWAP_FLAG_PREFER | SWAP_FLAG_PRIO_MASK)) {
		snprintf(why, len, "swapon %s: %s", s->dev, strerror(errno));
		goto fail;
	}
	s->on = true;
	return 0;
fail:
	s2mmu_swap_off(s);
	return -1;
}

/* zram device @zram's orig_data_size (bytes stored), or -1. */
static inline long s2mmu_zram_stored(int zram)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/block/zram%d/mm_stat", zram);
	return s2mmu_read_long(path);
}

#endif /* _S2MMU_UTIL_H */
