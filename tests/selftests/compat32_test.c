// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: 32-bit (compat) callers, as a 32-bit VMM on a 64-bit
 * host calls s2mmu.  The tests are a 32-bit build of this file
 * (.compat32_test.i386, built by tests/selftests/Makefile on x86_64);
 * the native build of it, compat32_test, runs that one, or skips when
 * there is none or the kernel runs no 32-bit programs.
 *
 * - get: S2MMU_GET_DIRTY_LOG with garbage in the upper half of the
 *   union holding the bitmap pointer (only the 32-bit pointer in its low
 *   half counts, as in KVM), into a bitmap sized in 32-bit longs and
 *   ending at an unmapped page: exactly the pages the vCPU wrote, and
 *   no byte past the caller's bitmap written.
 * - clear: S2MMU_CLEAR_DIRTY_LOG the same way (no byte read past the
 *   bitmap), on the whole slot and on its last, partial, word.
 * - u64_pointers: the __u64 pointer fields (the run structure's
 *   accesses, an access's uaddr, a slot's userspace_addr) are taken
 *   whole: zero-extended they work, with garbage in the upper half
 *   they fail.
 */
#include <stdint.h>

#if __SIZEOF_POINTER__ == 4
#include <assert.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define GPA_BASE	0x40000000ULL
/* 80 % 64 <= 32: the bitmap's last 64-bit word is half outside it. */
#define NPAGES		80
#define SIZE		(NPAGES * PG)
/* Sized as KVM's selftests size it, bitmap_zalloc(): in unsigned longs. */
#define LONG_BITS	(8 * sizeof(long))
#define BM_BYTES(n)	(((n) + LONG_BITS - 1) / LONG_BITS * sizeof(long))
/* What a caller's compiler may leave in the union's upper half. */
#define GARBAGE		0xdeadbeef00000000ULL

/* The layouts are those of a 64-bit caller (the ioctl numbers say so). */
static_assert(sizeof(long) == 4, "a 32-bit build");
static_assert(sizeof(struct s2mmu_dirty_log) == 16, "dirty_log");
static_assert(offsetof(struct s2mmu_dirty_log, padding2) == 8, "dirty_log");
static_assert(sizeof(struct s2mmu_clear_dirty_log) == 24, "clear_dirty_log");
static_assert(offsetof(struct s2mmu_clear_dirty_log, padding2) == 16,
	      "clear_dirty_log");
static_assert(sizeof(struct s2mmu_memory_region) == 32, "memory_region");
static_assert(sizeof(struct s2mmu_access) == 48, "access");
static_assert(sizeof(struct s2mmu_run) == 128, "run");
static_assert(sizeof(struct s2mmu_arm64_copy_mte_tags) == 48, "mte tags");
static_assert(sizeof(struct s2mmu_vm_info) == 80, "vm_info");
static_assert(sizeof(struct s2mmu_enable_cap) == 104, "enable_cap");

/* Pages the vCPU writes, first and last of each 32-bit word among them. */
static const unsigned int written[] = { 0, 5, 31, 32, 33, 63, 64, 79 };

static bool test_bit32(const unsigned long *b, unsigned int i)
{
	return b[i / LONG_BITS] & (1UL << (i % LONG_BITS));
}

static void set_bit32(unsigned long *b, unsigned int i)
{
	b[i / LONG_BITS] |= 1UL << (i % LONG_BITS);
}

/*
 * @bytes ending where an unmapped page starts, so the kernel's copy of a
 * byte more faults; the mapping (two pages) in *@map.
 */
static void *guarded(struct __test_metadata *_metadata, size_t bytes,
		     char **map)
{
	*map = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, *map);
	ASSERT_EQ(0, mprotect(*map + PG, PG, PROT_NONE));
	return *map + PG - bytes;
}

/* GET into @bm with garbage in the union's upper half. */
static int get_log(int vm, unsigned long *bm)
{
	struct s2mmu_dirty_log l = { .slot = 0 };

	l.padding2 = GARBAGE;
	l.dirty_bitmap = bm;
	if (l.padding2 >> 32 != GARBAGE >> 32)
		return -EINVAL;		/* the garbage is not where it should be */
	return ioctl(vm, S2MMU_GET_DIRTY_LOG, &l) ? -errno : 0;
}

/* CLEAR [@first, @first + @num) from @bm, with the same garbage. */
static int clear_log(int vm, __u64 first, __u32 num, unsigned long *bm)
{
	struct s2mmu_clear_dirty_log l = {
		.slot = 0, .first_page = first, .num_pages = num,
	};

	l.padding2 = GARBAGE;
	l.dirty_bitmap = bm;
	if (l.padding2 >> 32 != GARBAGE >> 32)
		return -EINVAL;
	return ioctl(vm, S2MMU_CLEAR_DIRTY_LOG, &l) ? -errno : 0;
}

FIXTURE(compat) {
	int vm, vcpu;
	struct s2mmu_run *run;
	char *mem, *map;
	unsigned long *bm;
};

FIXTURE_SETUP(compat)
{
	self->mem = s2mmu_mmap_filled(_metadata, NPAGES);
	s2mmu_setup_guest(_metadata, S2MMU_VM_X86_TDP, NULL, 0, 0, &self->vm,
			  &self->vcpu, &self->run);
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, S2MMU_MEM_LOG_DIRTY_PAGES,
				      GPA_BASE, SIZE,
				      (unsigned long)self->mem));
	self->bm = guarded(_metadata, BM_BYTES(NPAGES), &self->map);
}

FIXTURE_TEARDOWN(compat)
{
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, SIZE);
	munmap(self->map, 2 * PG);
}

/* The vCPU writes @n pages, one S2MMU_RUN. */
static void guest_write(struct __test_metadata *_metadata, int vcpu,
			struct s2mmu_run *run, const unsigned int *pages,
			unsigned int n)
{
	static __u64 val[NPAGES];
	struct s2mmu_access a[NPAGES];
	unsigned int i;

	for (i = 0; i < n; i++) {
		val[i] = pages[i] + 1;
		a[i] = (struct s2mmu_access) {
			.gpa = GPA_BASE + pages[i] * PG,
			.len = sizeof(val[i]),
			.uaddr = (uintptr_t)&val[i],
			.op = S2MMU_OP_WRITE,
		};
	}
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_vcpu_run(vcpu, run, a, n));
}

/* *@bm holds exactly the @n pages of @pages (and nothing past NPAGES). */
static void expect_pages(struct __test_metadata *_metadata,
			 const unsigned long *bm, const unsigned int *pages,
			 unsigned int n)
{
	unsigned long want[BM_BYTES(NPAGES) / sizeof(long)] = { 0 };
	unsigned int i;

	for (i = 0; i < n; i++)
		set_bit32(want, pages[i]);
	for (i = 0; i < BM_BYTES(NPAGES) * 8; i++)
		EXPECT_EQ(test_bit32(want, i), test_bit32(bm, i))
			TH_LOG("page %u", i);
}

TEST_F(compat, get)
{
	static const unsigned int again[] = { 1, 32, 78 };

	guest_write(_metadata, self->vcpu, self->run, written,
		    ARRAY_SIZE(written));
	memset(self->bm, 0xa5, BM_BYTES(NPAGES));
	ASSERT_EQ(0, get_log(self->vm, self->bm));
	expect_pages(_metadata, self->bm, written, ARRAY_SIZE(written));

	/* The harvest protected them again: only the new writes now. */
	guest_write(_metadata, self->vcpu, self->run, again,
		    ARRAY_SIZE(again));
	ASSERT_EQ(0, get_log(self->vm, self->bm));
	expect_pages(_metadata, self->bm, again, ARRAY_SIZE(again));
	ASSERT_EQ(0, get_log(self->vm, self->bm));
	expect_pages(_metadata, self->bm, NULL, 0);
}

TEST_F(compat, clear)
{
	static const unsigned int cleared[] = { 0, 32, 79 };
	static const unsigned int left[] = { 5, 31, 33, 63, 64 };
	static const unsigned int left2[] = { 5, 31, 33, 63 };
	static const unsigned int left3[] = { 0, 5, 31, 33, 63 };
	struct s2mmu_enable_cap c = {
		.cap = S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args = { S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE },
	};
	unsigned long *tail;
	unsigned int i;
	char *map;

	ASSERT_EQ(0, ioctl(self->vm, S2MMU_ENABLE_CAP, &c));
	guest_write(_metadata, self->vcpu, self->run, written,
		    ARRAY_SIZE(written));
	ASSERT_EQ(0, get_log(self->vm, self->bm));
	expect_pages(_metadata, self->bm, written, ARRAY_SIZE(written));

	/* The whole slot: 80 bits, read from 12 bytes. */
	memset(self->bm, 0, BM_BYTES(NPAGES));
	for (i = 0; i < ARRAY_SIZE(cleared); i++)
		set_bit32(self->bm, cleared[i]);
	ASSERT_EQ(0, clear_log(self->vm, 0, NPAGES, self->bm));
	ASSERT_EQ(0, get_log(self->vm, self->bm));
	expect_pages(_metadata, self->bm, left, ARRAY_SIZE(left));

	/* The last word only, pages 64-79: 16 bits, read from 4 bytes. */
	tail = guarded(_metadata, BM_BYTES(NPAGES - 64), &map);
	tail[0] = 1;
	ASSERT_EQ(0, clear_log(self->vm, 64, NPAGES - 64, tail));
	munmap(map, 2 * PG);
	ASSERT_EQ(0, get_log(self->vm, self->bm));
	expect_pages(_metadata, self->bm, left2, ARRAY_SIZE(left2));

	/* A cleaned page was protected again: its next write shows. */
	guest_write(_metadata, self->vcpu, self->run, cleared, 1);
	ASSERT_EQ(0, get_log(self->vm, self->bm));
	expect_pages(_metadata, self->bm, left3, ARRAY_SIZE(left3));
}

TEST_F(compat, u64_pointers)
{
	__u64 val = 42, got = 0;
	struct s2mmu_access a = {
		.gpa = GPA_BASE,
		.len = sizeof(val),
		.uaddr = (uintptr_t)&val,
		.op = S2MMU_OP_WRITE,
	};

	/* Zero-extended, as libs2mmu stores them: they work. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_vcpu_run(self->vcpu, self->run, &a, 1));
	ASSERT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE, &got,
				   sizeof(got)));
	EXPECT_EQ(42, got);

	/* Garbage in an upper half is part of the address: no such memory. */
	a.uaddr |= GARBAGE;
	EXPECT_EQ(-EFAULT, s2mmu_vcpu_run(self->vcpu, self->run, &a, 1));
	a.uaddr = (uintptr_t)&val;
	self->run->accesses = (uintptr_t)&a | GARBAGE;
	self->run->nr_accesses = 1;
	self->run->flags = 0;
	EXPECT_EQ(-1, ioctl(self->vcpu, S2MMU_RUN, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, GPA_BASE + SIZE, PG,
					    (uintptr_t)self->mem | GARBAGE));
}

TEST_HARNESS_MAIN

#else /* the native build: run the 32-bit one */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kselftest.h"

#define COMPAT32_BINARY	".compat32_test.i386"

/* The one result of a binary that cannot run the tests, as TAP. */
static int skip(const char *why, const char *path)
{
	ksft_print_header();
	ksft_set_plan(1);
	printf("ok 1 compat32 # SKIP %s (%s)\n", why, path);
	return KSFT_PASS;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	ssize_t n;
	char *slash;

	(void)argc;
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n < 0)
		return skip("no /proc/self/exe", strerror(errno));
	path[n] = 0;
	slash = strrchr(path, '/');
	if (!slash ||
	    (size_t)(slash + 1 - path) + sizeof(COMPAT32_BINARY) > sizeof(path))
		return skip("path too long", path);
	memcpy(slash + 1, COMPAT32_BINARY, sizeof(COMPAT32_BINARY));
	fflush(stdout);
	execv(path, argv);
	if (errno == ENOENT)
		return skip("no 32-bit build (x86_64 with a 32-bit libc only)",
			    path);
	if (errno == ENOEXEC)
		return skip("the kernel runs no 32-bit programs",
			    "no IA32_EMULATION, or ia32_emulation=0");
	ksft_print_header();
	ksft_exit_fail_msg("exec %s: %s\n", path, strerror(errno));
}

#endif
