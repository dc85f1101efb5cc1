// SPDX-License-Identifier: GPL-2.0
/*
 * S2MMU_CHECK_INVARIANTS must find what it is there to find.
 *
 * Every other selftest calls it before teardown and expects 0; here the
 * module's test-only fault injection (parameter test_skip_zap: the
 * notifier forgets to zap) creates exactly the stale entries the checker
 * exists for, and each kind must be reported, then cleared by a zap.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		4096UL
#define GPA_BASE	0x40000000ULL
#define SKIP_ZAP	"/sys/module/s2mmu/parameters/test_skip_zap"

FIXTURE(inv) {
	int vm, vcpu;
	struct s2mmu_run *run;
	char *mem;
	size_t size;
};

FIXTURE_VARIANT(inv) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(inv, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(inv, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

static void set_skip_zap(bool on)
{
	s2mmu_write_str(SKIP_ZAP, on ? "1" : "0");
}

FIXTURE_SETUP(inv)
{
	self->mem = NULL;
	s2mmu_setup_guest(_metadata, variant->type, NULL, 0, 0, &self->vm,
			  &self->vcpu, &self->run);
}

FIXTURE_TEARDOWN(inv)
{
	set_skip_zap(false);
	/* Deleting the slot zaps whatever the injection left behind. */
	if (self->mem)
		s2mmu_delete_region(self->vm, 0);
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, self->size);
}

/*
 * @n pages of host memory (aligned to @align; THP wanted if more than a
 * page) behind slot 0 of @vm, written by the guest.  NULL on failure.
 */
static char *map_and_touch(int vm, int vcpu, struct s2mmu_run *run,
			   size_t n, size_t align)
{
	char *mem = s2mmu_alloc_aligned(n * PG, align);

	if (!mem)
		return NULL;
	madvise(mem, n * PG, align > PG ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(mem, 0x11, n * PG);
	if (s2mmu_set_region(vm, 0, 0, GPA_BASE, n * PG, (unsigned long)mem) ||
	    s2mmu_guest_touch(vcpu, run, GPA_BASE, n * PG, true, 0, 0) !=
	    S2MMU_EXIT_DONE) {
		munmap(mem, n * PG);
		return NULL;
	}
	return mem;
}

#define MAP_AND_TOUCH(n, align) do {					\
	size_t __n = (n);						\
									\
	self->size = __n * PG;						\
	self->mem = map_and_touch(self->vm, self->vcpu, self->run,	\
				  __n, (align));			\
	ASSERT_NE(NULL, self->mem);					\
} while (0)

static bool can_inject(void)
{
	return geteuid() == 0 && access(SKIP_ZAP, W_OK) == 0;
}

/* A coherent VM checks clean, and the walk sees its leaves and tables. */
TEST_F(inv, clean)
{
	struct s2mmu_invariants inv;

	MAP_AND_TOUCH(16, PG);
	ASSERT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(16, inv.leaves);
	/* Root plus one table per lower level at least. */
	EXPECT_LE(2, inv.tables);
	EXPECT_EQ(0, inv.vcpus_skipped);

	/* munmap with the notifier working: the leaves are gone. */
	ASSERT_EQ(0, munmap(self->mem + 4 * PG, 4 * PG));
	ASSERT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(12, inv.leaves);
	ASSERT_EQ(0, s2mmu_delete_region(self->vm, 0));
	ASSERT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(0, inv.leaves);
	munmap(self->mem, self->size);
	self->mem = NULL;
}

/* Unmapped under a leaf: host_unmapped. */
TEST_F(inv, detects_unmapped)
{
	struct s2mmu_invariants inv;

	if (!can_inject())
		SKIP(return, "needs root and " SKIP_ZAP);
	MAP_AND_TOUCH(16, PG);
	set_skip_zap(true);
	ASSERT_EQ(0, munmap(self->mem + 2 * PG, 3 * PG));
	set_skip_zap(false);
	EXPECT_EQ(-EUCLEAN, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(3, inv.host_unmapped);
	EXPECT_EQ(16, inv.leaves);
	EXPECT_EQ(0, inv.bad_pfn);
	/* A zap of the slot's range repairs it. */
	ASSERT_EQ(0, s2mmu_delete_region(self->vm, 0));
	EXPECT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
}

/*
 * Another page under a leaf: bad_pfn.  The new page is populated before
 * the old one is freed (mremap over it), so it cannot be the same frame
 * coming straight back from the allocator.
 */
TEST_F(inv, detects_other_page)
{
	struct s2mmu_invariants inv;
	char *tmp;

	if (!can_inject())
		SKIP(return, "needs root and " SKIP_ZAP);
	MAP_AND_TOUCH(16, PG);
	tmp = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, tmp);
	memset(tmp, 0x22, PG);
	set_skip_zap(true);
	ASSERT_EQ(self->mem + 5 * PG,
		  mremap(tmp, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED,
			 self->mem + 5 * PG));
	set_skip_zap(false);
	EXPECT_EQ(-EUCLEAN, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(1, inv.bad_pfn);
	EXPECT_EQ(0, inv.host_unmapped);
}

/* A writable leaf over a read-only host mapping: bad_write. */
TEST_F(inv, detects_write_permission)
{
	struct s2mmu_invariants inv;

	if (!can_inject())
		SKIP(return, "needs root and " SKIP_ZAP);
	MAP_AND_TOUCH(16, PG);
	set_skip_zap(true);
	ASSERT_EQ(0, mprotect(self->mem, 8 * PG, PROT_READ));
	set_skip_zap(false);
	EXPECT_EQ(-EUCLEAN, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(8, inv.bad_write);
	EXPECT_EQ(0, inv.bad_pfn);
}

/* A 2 MiB leaf over a host PMD split into PTEs: bad_huge. */
TEST_F(inv, detects_huge_over_small)
{
	struct s2mmu_invariants inv;
	struct s2mmu_translation t;
	size_t n = 512;

	if (!can_inject())
		SKIP(return, "needs root and " SKIP_ZAP);
	MAP_AND_TOUCH(n, n * PG);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE, &t));
	if (t.level != 1)
		SKIP(return, "no 2 MiB mapping (THP unavailable)");
	set_skip_zap(true);
	/* Dropping one 4 KiB page splits the host PMD. */
	ASSERT_EQ(0, madvise(self->mem + 100 * PG, PG, MADV_DONTNEED));
	set_skip_zap(false);
	EXPECT_EQ(-EUCLEAN, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(1, inv.bad_huge);
	EXPECT_EQ(1, inv.leaves);
}

TEST_HARNESS_MAIN
