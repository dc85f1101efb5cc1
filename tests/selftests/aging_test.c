// SPDX-License-Identifier: GPL-2.0
/*
 * Aging through the host's own page aging: MGLRU (6.12 calls the
 * secondary MMUs' clear_young from its page-table walk) and page_idle
 * (where the kernel has CONFIG_IDLE_PAGE_TRACKING; Debian's do not).
 *
 * A vCPU keeps some pages of a slot young while the host ages the whole
 * slot: the guest-touched pages must be reported young and the untouched
 * ones old, so the vCPU's TLB must not hide its accesses after aging
 * cleared Accessed.  Aging runs without mmu_lock; the kernel log check of
 * the harness catches a sleep in atomic context on the aging path.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define AGE_PAGES	512	/* 2 MiB at 4 KiB: enough for MGLRU's walk */
#define AGE_TOUCHED	32	/* first pages the vCPU keeps touching */
#define AGE_GPA		0x100000000ULL
#define PAGE_IDLE	"/sys/kernel/mm/page_idle/bitmap"

FIXTURE(aging) {
	int vm, vcpu;
	struct s2mmu_run *run;
	char *mem;
};

FIXTURE_VARIANT(aging) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(aging, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(aging, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(aging)
{
	size_t i;

	self->mem = mmap(NULL, AGE_PAGES * S2MMU_PAGE_SIZE,
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	/* 4 KiB leaves (before the first touch), one TLB entry per page. */
	ASSERT_EQ(0, madvise(self->mem, AGE_PAGES * S2MMU_PAGE_SIZE,
			     MADV_NOHUGEPAGE));
	for (i = 0; i < AGE_PAGES; i++)
		s2mmu_fill_page(self->mem + i * S2MMU_PAGE_SIZE, i);
	s2mmu_setup_guest(_metadata, variant->type, self->mem, AGE_GPA,
			  AGE_PAGES * S2MMU_PAGE_SIZE, &self->vm, &self->vcpu,
			  &self->run);
	/* Every page mapped, and young. */
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, AGE_GPA,
				       AGE_PAGES * S2MMU_PAGE_SIZE, false, 0, 1));
}

FIXTURE_TEARDOWN(aging)
{
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, AGE_PAGES * S2MMU_PAGE_SIZE);
}

/* How many of pages [first, first + n) the stage-2 tables hold young. */
static int nr_accessed(int vcpu, unsigned int first, unsigned int n)
{
	struct s2mmu_translation t;
	unsigned int i;
	int young = 0;

	for (i = first; i < first + n; i++) {
		if (s2mmu_translate(vcpu, AGE_GPA + i * S2MMU_PAGE_SIZE, &t) ||
		    !t.present)
			return -1;
		young += t.accessed;
	}
	return young;
}

/* Kernel release at least major.minor? */
static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma, mi;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * Host aging clears every page's Accessed bit in stage 2; after the vCPU
 * touches the first pages again (through its TLB, which the aging must
 * have made it drop), exactly those are young.
 */
TEST_F(aging, mglru)
{
	int n;

	if (!kernel_at_least(6, 12))
		SKIP(return, "MGLRU calls secondary MMUs from 6.12 on");
	if (!s2mmu_have_mglru())
		SKIP(return, "no %s (MGLRU or debugfs missing)", S2MMU_LRU_GEN);
	ASSERT_EQ(AGE_PAGES, nr_accessed(self->vcpu, 0, AGE_PAGES));

	n = s2mmu_mglru_age();
	ASSERT_LT(0, n) TH_LOG("MGLRU aging: %s", strerror(-n));
	ASSERT_EQ(0, nr_accessed(self->vcpu, 0, AGE_PAGES))
		TH_LOG("MGLRU's walk did not age the slot through clear_young");

	/* The vCPU keeps the first pages young. */
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, AGE_GPA,
				       AGE_TOUCHED * S2MMU_PAGE_SIZE, false, 0,
				       4));
	EXPECT_EQ(AGE_TOUCHED, nr_accessed(self->vcpu, 0, AGE_TOUCHED));
	EXPECT_EQ(0, nr_accessed(self->vcpu, AGE_TOUCHED,
				 AGE_PAGES - AGE_TOUCHED));

	/* Again: the touched pages were cached in the vCPU's TLB by now. */
	ASSERT_LT(0, s2mmu_mglru_age());
	ASSERT_EQ(0, nr_accessed(self->vcpu, 0, AGE_PAGES));
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, AGE_GPA,
				       AGE_TOUCHED * S2MMU_PAGE_SIZE, false, 0,
				       4));
	EXPECT_EQ(AGE_TOUCHED, nr_accessed(self->vcpu, 0, AGE_TOUCHED));
	S2MMU_EXPECT_INVARIANTS(self->vm);
}

/* Set (or read) the idle bits of the pages of [mem, mem + n pages). */
static int page_idle(const char *mem, unsigned int n, bool set, bool *idle)
{
	unsigned int i;
	int fd, ret = 0;

	fd = open(PAGE_IDLE, set ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return -errno;
	for (i = 0; i < n && !ret; i++) {
		__u64 pfn = s2mmu_pagemap_pfn(mem + i * S2MMU_PAGE_SIZE);
		off_t off = pfn / 64 * 8;
		__u64 bits = 0;

		if (!pfn) {
			ret = -EPERM;
			break;
		}
		if (set) {
			bits = 1ULL << (pfn % 64);
			if (pwrite(fd, &bits, 8, off) != 8)
				ret = -errno;
		} else {
			if (pread(fd, &bits, 8, off) != 8)
				ret = -errno;
			idle[i] = bits & (1ULL << (pfn % 64));
		}
	}
	close(fd);
	return ret;
}

/*
 * page_idle: mark every page idle (the rmap walk clears Accessed in
 * stage 2 too), let the vCPU touch the first pages, then read the bits:
 * the host sees exactly the guest-touched pages as accessed.
 */
TEST_F(aging, page_idle)
{
	bool idle[AGE_PAGES];
	unsigned int i;

	if (access(PAGE_IDLE, R_OK | W_OK))
		SKIP(return, "no page_idle (CONFIG_IDLE_PAGE_TRACKING)");
	/* The host's own PTEs must not report the pages young either. */
	ASSERT_EQ(0, page_idle(self->mem, AGE_PAGES, true, NULL));
	ASSERT_EQ(0, nr_accessed(self->vcpu, 0, AGE_PAGES));
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, AGE_GPA,
				       AGE_TOUCHED * S2MMU_PAGE_SIZE, false, 0,
				       4));
	ASSERT_EQ(0, page_idle(self->mem, AGE_PAGES, false, idle));
	for (i = 0; i < AGE_PAGES; i++)
		EXPECT_EQ(i >= AGE_TOUCHED, idle[i]) TH_LOG("page %u", i);
}

TEST_HARNESS_MAIN
