// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: what must not grow with the size of a VM or with the
 * VMM's unrelated memory traffic.
 *
 * - unrelated_churn: host memory churn outside every slot (mmap, touch,
 *   munmap of other memory, as a VMM's heap does) is not an invalidation
 *   of the VM: a vCPU populating its memory meanwhile retries a handful
 *   of faults at most, not one per few churns.
 * - large_zaps: a VM with S2MMU_SCALE_2M_GIB GiB (default 64, at least 6)
 *   mapped at 2 MiB over the huge zero page and S2MMU_SCALE_4K_MIB MiB
 *   (default 256, a table of 128 tables;
 *   `make scale` maps 8 GiB) at 4 KiB over the zero page is checked
 *   (CHECK_INVARIANTS), has the 4 KiB slot deleted and is closed with the
 *   rest mapped: every one of these walks or zaps the whole tree, and must yield as it goes (the
 *   harness fails the boot on any soft lockup, RCU stall or "scheduling
 *   while atomic" in the log).
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define GPA_BASE	0x40000000ULL

FIXTURE(scale) {
	int vm;
	int vcpu;
	struct s2mmu_run *run;
};

FIXTURE_VARIANT(scale) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(scale, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(scale, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(48),
};

FIXTURE_SETUP(scale)
{
	self->run = NULL;
	self->vcpu = -1;
	self->vm = s2mmu_create_vm(variant->type);
	ASSERT_LE(0, self->vm) TH_LOG("CREATE_VM: %s", strerror(-self->vm));
	self->vcpu = s2mmu_create_vcpu(self->vm, 0);
	ASSERT_LE(0, self->vcpu);
	self->run = s2mmu_map_run(self->vcpu);
	ASSERT_NE(NULL, self->run);
}

FIXTURE_TEARDOWN(scale)
{
	if (self->vm >= 0)
		S2MMU_EXPECT_INVARIANTS(self->vm);
	s2mmu_unmap_run(self->run);
	if (self->vcpu >= 0)
		close(self->vcpu);
	if (self->vm >= 0)
		close(self->vm);
}

struct churner {
	bool stop;
	long iterations;
};

/* A VMM's heap: map, touch and unmap one page of unrelated memory. */
static void *churn(void *arg)
{
	struct churner *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			break;
		p[0] = 1;
		munmap(p, PG);
		__atomic_add_fetch(&c->iterations, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

#define CHURN_SIZE	(8UL << 20)

TEST_F_TIMEOUT(scale, unrelated_churn, 120)
{
	struct churner c = { };
	__u64 retries, faults;
	long before, during = 0;
	int rounds;
	pthread_t th;
	char *mem;

	mem = s2mmu_alloc_aligned(CHURN_SIZE, S2MMU_PMD_SIZE);
	ASSERT_NE(NULL, mem);
	/* 4 KiB faults: 2048 of them. */
	ASSERT_EQ(0, madvise(mem, CHURN_SIZE, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, CHURN_SIZE,
				      (unsigned long)mem));
	ASSERT_EQ(0, pthread_create(&th, NULL, churn, &c));
	while (__atomic_load_n(&c.iterations, __ATOMIC_RELAXED) < 50)
		usleep(1000);

	retries = self->run->stat_fault_retries;
	faults = self->run->stat_faults;
	before = __atomic_load_n(&c.iterations, __ATOMIC_RELAXED);
	/* Populate again and again until 100 churns ran meanwhile. */
	for (rounds = 1;; rounds++) {
		EXPECT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE,
					    CHURN_SIZE, true, 0, 1));
		during = __atomic_load_n(&c.iterations, __ATOMIC_RELAXED) -
			 before;
		if (during >= 100 || rounds == 50)
			break;
		ASSERT_EQ(0, madvise(mem, CHURN_SIZE, MADV_DONTNEED));
	}
	__atomic_store_n(&c.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	retries = self->run->stat_fault_retries - retries;
	faults = self->run->stat_faults - faults;
	TH_LOG("%llu faults in %d rounds, %llu retries, %ld churns meanwhile",
	       (unsigned long long)faults, rounds,
	       (unsigned long long)retries, during);
	EXPECT_EQ(rounds * (CHURN_SIZE / PG), faults);
	/* Not vacuous: the churn ran while the vCPU faulted. */
	EXPECT_LE(100, during);
	/*
	 * Unrelated churn costs no retries: a handful at most, from the
	 * host's own work, however much churn (one retry per few churns
	 * before).
	 */
	EXPECT_GE(5, retries);
	ASSERT_EQ(0, s2mmu_delete_region(self->vm, 0));
	munmap(mem, CHURN_SIZE);
}

/* PRE_FAULT [gpa, gpa + size) in one go (it returns in pieces). */
static int pre_fault_all(int vcpu, __u64 gpa, __u64 size)
{
	struct s2mmu_pre_fault_memory r = { .gpa = gpa, .size = size };
	int ret;

	while (r.size) {
		ret = s2mmu_pre_fault(vcpu, &r);
		if (ret && ret != -EINTR && ret != -EAGAIN)
			return ret;
	}
	return 0;
}

TEST_F_TIMEOUT(scale, large_zaps, 900)
{
	unsigned long long mib4k = s2mmu_env_ull("S2MMU_SCALE_4K_MIB", 256);
	/* At least 6 GiB: the check below translates GPA_BASE + 5 GiB. */
	unsigned long long gib2m = s2mmu_env_ull("S2MMU_SCALE_2M_GIB", 64);
	__u64 huge_size = (gib2m < 6 ? 6 : gib2m) << 30;
	__u64 size4k = mib4k << 20, gpa4k = GPA_BASE + huge_size;
	struct s2mmu_invariants inv;
	struct s2mmu_translation t;
	long long t0, t1, t2, t3, t4;
	struct s2mmu_vm_info info;
	char *huge, *small;
	int ret;

	huge = s2mmu_alloc_aligned(huge_size, 1UL << 30);
	ASSERT_NE(NULL, huge);
	small = s2mmu_alloc_aligned(size4k, S2MMU_PMD_SIZE);
	ASSERT_NE(NULL, small);
	ASSERT_EQ(0, madvise(small, size4k, MADV_NOHUGEPAGE));
	if (madvise(huge, huge_size, MADV_HUGEPAGE))
		SKIP(return, "no THP: %s", strerror(errno));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, S2MMU_MEM_READONLY,
				      GPA_BASE, huge_size,
				      (unsigned long)huge));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, S2MMU_MEM_READONLY, gpa4k,
				      size4k, (unsigned long)small));

	t0 = s2mmu_now_ms();
	ASSERT_EQ(0, pre_fault_all(self->vcpu, GPA_BASE, huge_size));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + (5ULL << 30), &t));
	ASSERT_EQ(1, t.present);
	if (t.level != 1)
		SKIP(return, "the huge zero page is not used (level %u)",
		     t.level);
	t1 = s2mmu_now_ms();
	ASSERT_EQ(0, pre_fault_all(self->vcpu, gpa4k, size4k));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, gpa4k + size4k - PG, &t));
	ASSERT_EQ(1, t.present);
	ASSERT_EQ(0, t.level);
	t2 = s2mmu_now_ms();

	ret = s2mmu_check_invariants(self->vm, &inv);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(huge_size / S2MMU_PMD_SIZE + size4k / PG, inv.leaves);
	ASSERT_EQ(0, s2mmu_vm_info(self->vm, &info));
	t3 = s2mmu_now_ms();

	ASSERT_EQ(0, s2mmu_delete_region(self->vm, 1));
	t4 = s2mmu_now_ms();
	TH_LOG("mapped: %llu GiB at 2 MiB %lld ms, %llu MiB at 4 KiB %lld ms",
	       huge_size >> 30, t1 - t0, mib4k, t2 - t1);
	TH_LOG("%llu table pages; invariants %lld ms; 4 KiB slot deleted in %lld ms",
	       (unsigned long long)info.stat_table_pages, t3 - t2, t4 - t3);

	/*
	 * The VM goes with the 64 GiB still mapped: ->release (at the
	 * file's release, via unregister) and the destroy walk it all.
	 */
	s2mmu_unmap_run(self->run);
	self->run = NULL;
	close(self->vcpu);
	self->vcpu = -1;
	close(self->vm);
	self->vm = -1;
	munmap(huge, huge_size);
	munmap(small, size4k);
}

TEST_HARNESS_MAIN
