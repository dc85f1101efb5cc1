// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for NX huge pages (mmu/nx.c, the install and recovery in
 * mmu/mmu.c, the x86 TDP hooks): exec faults split huge leaves and
 * record the tables, a read fault does not collapse a recorded table,
 * zaps forget records, and recovery under mmu_lock for read never yields
 * with a TLB flush pending (the seed of issue 11).
 *
 * Faults are played as the fault path hands them to the install (levels
 * already chosen), with made-up host frames the engine never touches.
 */
#include <kunit/test.h>

#include "s2mmu_kunit.h"

#define H		S2MMU_KUNIT_HVA
#define BASE_GFN	0x200ULL	/* three 2 MiB regions from here */
#define NR_REGIONS	3
#define PFN_BASE	0x40000ULL
#define R		S2MMU_ACCESS_R
#define X		S2MMU_ACCESS_X

static u64 nx_region(unsigned int i)
{
	return BASE_GFN + i * S2MMU_PT_ENTRIES;
}

/*
 * The pages of region @i a vCPU executes and reads: apart in the TLB,
 * which is direct-mapped by gfn modulo S2MMU_TLB_ENTRIES.
 */
static u64 nx_gfn(unsigned int i, bool exec)
{
	return nx_region(i) + 16 * i + (exec ? 1 : 2);
}

static void nx_restore(void *data)
{
	WRITE_ONCE(s2mmu_x86_nx_huge_pages, (int)(long)data);
	WRITE_ONCE(s2mmu_mmu_test_nx_yield_hook, NULL);
	WRITE_ONCE(s2mmu_mmu_test_nx_force_yield, false);
}

/* An x86 TDP VM with the mitigation forced on for the test's length. */
static struct s2mmu_vm *nx_vm(struct kunit *test, unsigned long flags)
{
	void *old = (void *)(long)READ_ONCE(s2mmu_x86_nx_huge_pages);
	struct s2mmu_vm *vm;

	KUNIT_ASSERT_EQ(test,
			kunit_add_action_or_reset(test, nx_restore, old), 0);
	WRITE_ONCE(s2mmu_x86_nx_huge_pages, 1);
	vm = s2mmu_kunit_vm_create(test, S2MMU_VM_X86_TDP | flags);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 1, 0, BASE_GFN,
						   NR_REGIONS * S2MMU_PT_ENTRIES,
						   H + (BASE_GFN << PAGE_SHIFT)),
			0);
	return vm;
}

/*
 * A fault of @access at @gfn whose host (and slot) allow a leaf of
 * @req_level, with the level the x86 type's hook picks, installed and
 * flushed as mmu/fault.c does.  Returns the level installed.
 */
static int nx_fault(struct kunit *test, struct s2mmu_vm *vm, u64 gfn,
		    unsigned int access, int req_level)
{
	struct s2mmu_fault f = {
		.gfn		= gfn,
		.access		= access,
		.req_level	= req_level,
		.map_writable	= true,
	};
	struct s2mmu_table_cache cache;
	bool flush;
	int ret;

	f.level = vm->cfg.ops->fault_level(vm, &f, req_level);
	f.pfn = PFN_BASE + (gfn & ~((1ULL << (f.level * 9)) - 1));
	s2mmu_table_cache_init(&cache);
	ret = s2mmu_table_cache_topup(&cache, vm->pgt.levels);
	if (!ret) {
		read_lock(&vm->mmu_lock);
		ret = s2mmu_mmu_install(vm, &cache, &f);
		flush = f.flush && s2mmu_mmu_flush_claim(vm, true);
		read_unlock(&vm->mmu_lock);
		if (flush)
			s2mmu_mmu_flush_finish(vm);
	}
	s2mmu_table_cache_free(&cache);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "fault gfn %#llx", gfn);
	return f.level;
}

static struct s2mmu_translation nx_translate(struct kunit *test,
					     struct s2mmu_vm *vm, u64 gfn)
{
	struct s2mmu_translation t = { .gpa = gfn << PAGE_SHIFT };

	KUNIT_ASSERT_EQ(test, s2mmu_mmu_translate(vm, &t), 0);
	return t;
}

static long nx_splits(struct s2mmu_vm *vm)
{
	return atomic64_read(&vm->stat.nx_lpage_splits);
}

/* A read maps huge and non-executable; an exec splits it and records. */
static void nx_split_record_test(struct kunit *test)
{
	struct s2mmu_vm *vm = nx_vm(test, 0);
	u64 a = nx_region(0), b = nx_region(1);
	struct s2mmu_translation t;

	KUNIT_EXPECT_EQ(test, nx_fault(test, vm, a + 1, R, 1), 1);
	t = nx_translate(test, vm, a + 1);
	KUNIT_EXPECT_EQ(test, t.level, 1);
	KUNIT_EXPECT_FALSE(test, t.executable);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 0);

	/* Exec inside the huge leaf: 4 KiB under the split, recorded. */
	KUNIT_EXPECT_EQ(test, nx_fault(test, vm, a + 1, X, 1), 0);
	t = nx_translate(test, vm, a + 1);
	KUNIT_EXPECT_EQ(test, t.level, 0);
	KUNIT_EXPECT_TRUE(test, t.executable);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 1);
	KUNIT_EXPECT_TRUE(test, s2mmu_nx_recorded(vm, a << PAGE_SHIFT, 1));
	/* A second exec in the same table records nothing more. */
	KUNIT_EXPECT_EQ(test, nx_fault(test, vm, a + 7, X, 1), 0);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 1);

	/* A read wanting the huge leaf back keeps the recorded table. */
	KUNIT_EXPECT_EQ(test, nx_fault(test, vm, a + 5, R, 1), 0);
	KUNIT_EXPECT_EQ(test, nx_translate(test, vm, a + 5).level, 0);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 1);

	/* Exec where the host maps 4 KiB: no huge page refused, no split. */
	KUNIT_EXPECT_EQ(test, nx_fault(test, vm, b + 3, X, 0), 0);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 1);
	KUNIT_EXPECT_FALSE(test, s2mmu_nx_recorded(vm, b << PAGE_SHIFT, 1));

	/* An exec fault that creates the table (nothing mapped) records it. */
	KUNIT_EXPECT_EQ(test, nx_fault(test, vm, nx_region(2), X, 1), 0);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 2);

	/* Any unlink forgets: a zap of the first region. */
	s2mmu_mmu_zap_gfn_range(vm, a, a + S2MMU_PT_ENTRIES);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 1);
	KUNIT_EXPECT_FALSE(test, s2mmu_nx_recorded(vm, a << PAGE_SHIFT, 1));
	KUNIT_EXPECT_EQ(test, nx_fault(test, vm, a + 5, R, 1), 1);
}

/* The opt-out: no split, huge leaves stay executable, no hook. */
static void nx_disabled_vm_test(struct kunit *test)
{
	struct s2mmu_vm *vm = nx_vm(test, S2MMU_VM_DISABLE_NX_HUGE_PAGES);
	u64 a = nx_region(0);

	KUNIT_EXPECT_FALSE(test, s2mmu_vm_nx_huge_pages(vm));
	KUNIT_EXPECT_NULL(test, vm->pgt.change);
	KUNIT_EXPECT_EQ(test, nx_fault(test, vm, a + 1, X, 1), 1);
	KUNIT_EXPECT_TRUE(test, nx_translate(test, vm, a + 1).executable);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 0);
}

static struct {
	struct kunit *test;
	unsigned int yields;
	unsigned int stale;
	unsigned int checked;
} nx_yield;

/* Does @vcpu's TLB still translate @gfn, with no flush coming? */
static bool nx_tlb_holds(struct s2mmu_vcpu *vcpu, u64 gfn)
{
	u64 pfn;

	return !test_bit(S2MMU_REQ_TLB_FLUSH, &vcpu->requests) &&
	       s2mmu_tlb_lookup(vcpu, gfn, R, &pfn);
}

/* Count the translations recovery removed that a vCPU TLB still holds. */
static unsigned int nx_count_stale(struct s2mmu_vm *vm)
{
	unsigned int i, v, exec, stale = 0;

	for (i = 0; i < NR_REGIONS; i++) {
		for (exec = 0; exec < 2; exec++) {
			u64 gfn = nx_gfn(i, exec);

			if (s2mmu_kunit_mapped(vm, gfn))
				continue;
			nx_yield.checked++;
			for (v = 0; v < vm->nr_vcpus; v++)
				stale += nx_tlb_holds(vm->vcpus[v], gfn);
		}
	}
	return stale;
}

/* At recovery's yield, mmu_lock dropped: nothing zapped may be cached. */
static void nx_yield_hook(struct s2mmu_vm *vm)
{
	nx_yield.yields++;
	nx_yield.stale += nx_count_stale(vm);
}

/*
 * The seed's rule: recovery unlinks a table (a flush owed), then yields
 * before the next one.  When mmu_lock is dropped no vCPU TLB may still
 * hold a translation of the unlinked table; without the flush before the
 * yield (s2mmu_mmu_nx_yield()) both vCPUs still do.
 */
static void nx_recovery_flush_before_yield_test(struct kunit *test)
{
	struct s2mmu_vm *vm = nx_vm(test, 0);
	struct s2mmu_vcpu *vcpus[2];
	unsigned int i, v;
	u64 pfn;

	for (v = 0; v < ARRAY_SIZE(vcpus); v++)
		vcpus[v] = s2mmu_kunit_vcpu_add(test, vm);
	for (i = 0; i < NR_REGIONS; i++) {
		KUNIT_ASSERT_EQ(test, nx_fault(test, vm, nx_region(i), R, 1), 1);
		KUNIT_ASSERT_EQ(test, nx_fault(test, vm, nx_gfn(i, true), X, 1),
				0);
	}
	KUNIT_ASSERT_EQ(test, nx_splits(vm), NR_REGIONS);
	/* Both vCPUs cache an exec'd page and a split one of each region. */
	for (v = 0; v < ARRAY_SIZE(vcpus); v++) {
		s2mmu_vcpu_check_requests(vcpus[v]);
		for (i = 0; i < NR_REGIONS; i++) {
			struct s2mmu_vcpu *c = vcpus[v];

			KUNIT_ASSERT_EQ(test, s2mmu_kunit_burst(c, nx_gfn(i, true),
								R | X, &pfn), 0);
			KUNIT_ASSERT_EQ(test, s2mmu_kunit_burst(c, nx_gfn(i, false),
								R, &pfn), 0);
		}
	}
	for (v = 0; v < ARRAY_SIZE(vcpus); v++)
		for (i = 0; i < NR_REGIONS; i++)
			KUNIT_ASSERT_TRUE(test, nx_tlb_holds(vcpus[v],
							     nx_gfn(i, true)) &&
				nx_tlb_holds(vcpus[v], nx_gfn(i, false)));

	memset(&nx_yield, 0, sizeof(nx_yield));
	nx_yield.test = test;
	WRITE_ONCE(s2mmu_mmu_test_nx_force_yield, true);
	WRITE_ONCE(s2mmu_mmu_test_nx_yield_hook, nx_yield_hook);
	KUNIT_EXPECT_EQ(test, s2mmu_mmu_recover_nx_huge_pages(vm, NR_REGIONS),
			NR_REGIONS);
	WRITE_ONCE(s2mmu_mmu_test_nx_yield_hook, NULL);

	/* It yielded between the tables: after the first, then the second. */
	KUNIT_EXPECT_EQ(test, nx_yield.yields, NR_REGIONS - 1);
	KUNIT_EXPECT_EQ(test, nx_yield.checked, 2 * (1 + 2));
	KUNIT_EXPECT_EQ(test, nx_yield.stale, 0);
	/* And it returned only after flushing the last one. */
	KUNIT_EXPECT_EQ(test, nx_count_stale(vm), 0);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&vm->stat.nx_lpage_recoveries),
			NR_REGIONS);

	/* The regions map huge again. */
	for (i = 0; i < NR_REGIONS; i++)
		KUNIT_EXPECT_EQ(test, nx_fault(test, vm, nx_region(i) + 5, R, 1),
				1);
}

/*
 * Recovery takes the oldest first, and leaves a table a racing fault put
 * in place of the recorded one alone (the record is then dropped).
 */
static void nx_recovery_order_test(struct kunit *test)
{
	struct s2mmu_vm *vm = nx_vm(test, 0);
	struct s2mmu_nx_page p;
	unsigned int i;

	for (i = 0; i < NR_REGIONS; i++)
		nx_fault(test, vm, nx_region(i) + 1, X, 1);
	KUNIT_ASSERT_TRUE(test, s2mmu_nx_oldest(vm, &p));
	KUNIT_EXPECT_EQ(test, p.gpa, nx_region(0) << PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, p.level, 1);
	/* Peeking moved it to the tail: the second is the oldest now. */
	KUNIT_ASSERT_TRUE(test, s2mmu_nx_oldest(vm, &p));
	KUNIT_EXPECT_EQ(test, p.gpa, nx_region(1) << PAGE_SHIFT);

	/* One recovery takes region 2, then 0. */
	KUNIT_EXPECT_EQ(test, s2mmu_mmu_recover_nx_huge_pages(vm, 1), 1);
	KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, nx_region(2) + 1));
	KUNIT_EXPECT_TRUE(test, s2mmu_kunit_mapped(vm, nx_region(0) + 1));
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 2);

	/* A record whose table went unseen is dropped, nothing unlinked. */
	s2mmu_nx_record(vm, nx_region(2) << PAGE_SHIFT, 1, 0x1234000);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 2);
	KUNIT_EXPECT_EQ(test, s2mmu_mmu_recover_nx_huge_pages(vm, 10), 2);
	KUNIT_EXPECT_EQ(test, nx_splits(vm), 0);
}

static struct kunit_case nx_cases[] = {
	KUNIT_CASE(nx_split_record_test),
	KUNIT_CASE(nx_disabled_vm_test),
	KUNIT_CASE(nx_recovery_flush_before_yield_test),
	KUNIT_CASE(nx_recovery_order_test),
	{}
};

static struct kunit_suite nx_suite = {
	.name = "s2mmu_nx",
	.test_cases = nx_cases,
};

kunit_test_suites(&nx_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for s2mmu's NX huge pages");
