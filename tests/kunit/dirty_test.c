// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of s2mmu_pgtable_collect_dirty(), the engine side of the
 * Dirty-bit dirty logging mode: the pages of exactly the leaves a walker
 * dirtied are reported, a huge leaf for each of its pages inside the
 * range, relative to the range's start; clearing Dirty (as a harvest
 * does) owes a flush and hides them from the next collection, and a new
 * write is seen again.  Run for every format and geometry.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>

#include "pgtable_kunit.h"

#define DIRTY_BASE	SZ_1G_ULL		/* the "slot": 4 MiB from here */
#define DIRTY_PAGES	1024
#define DIRTY_PA	0x40000000ULL
#define MID		(256 * SZ_4K_ULL)	/* 1 MiB in from each end */

/* Write at @gpa as the vCPU walker does (Accessed and Dirty). */
static void dirty_write(struct kunit *test, struct pt_env *env, u64 gpa)
{
	struct s2mmu_pt_info info;

	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_lookup(&env->pgt, gpa,
						   S2MMU_LOOKUP_MKDIRTY,
						   &info), 0);
	KUNIT_EXPECT_TRUE(test, info.prot & S2MMU_PROT_DIRTY);
}

static void dirty_collect_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	unsigned long *bm = kunit_kcalloc(test, BITS_TO_LONGS(DIRTY_PAGES),
					  sizeof(long), GFP_KERNEL);
	struct s2mmu_pt_op op = { .shared = false };
	u64 end = DIRTY_BASE + DIRTY_PAGES * SZ_4K_ULL;

	KUNIT_ASSERT_NOT_NULL(test, bm);
	/* The first 2 MiB as 4 KiB leaves, the second as one 2 MiB leaf. */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, DIRTY_BASE, DIRTY_PA, SZ_2M_ULL,
				     0, PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, DIRTY_BASE + SZ_2M_ULL,
				     DIRTY_PA + SZ_2M_ULL, SZ_2M_ULL, 1,
				     PROT_RW), 0);

	/* Clean: nothing reported; reads do not dirty. */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_collect_dirty(&env->pgt, DIRTY_BASE,
							  end, bm), 0);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(bm, DIRTY_PAGES));

	dirty_write(test, env, DIRTY_BASE + 3 * SZ_4K_ULL);
	dirty_write(test, env, DIRTY_BASE + 511 * SZ_4K_ULL + 8);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_collect_dirty(&env->pgt, DIRTY_BASE,
							  end, bm), 2);
	KUNIT_EXPECT_TRUE(test, test_bit(3, bm));
	KUNIT_EXPECT_TRUE(test, test_bit(511, bm));
	KUNIT_EXPECT_EQ(test, bitmap_weight(bm, DIRTY_PAGES), 2);

	/* A dirty huge leaf: each of its pages inside the range. */
	dirty_write(test, env, DIRTY_BASE + SZ_2M_ULL + 5 * SZ_4K_ULL);
	bitmap_zero(bm, DIRTY_PAGES);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_collect_dirty(&env->pgt,
							  DIRTY_BASE + MID,
							  end - MID, bm),
			1 + 256);
	KUNIT_EXPECT_EQ(test, bitmap_weight(bm, DIRTY_PAGES), 1 + 256);
	/* Relative to the range's start: page 3 is outside, 511 is bit 255. */
	KUNIT_EXPECT_TRUE(test, test_bit(255, bm));
	KUNIT_EXPECT_TRUE(test, test_bit(256, bm));
	KUNIT_EXPECT_TRUE(test, test_bit(511, bm));
	KUNIT_EXPECT_FALSE(test, test_bit(512, bm));

	/* A harvest clears Dirty: that owes a flush, and hides the pages. */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_update_prot(&env->pgt, DIRTY_BASE,
							end, 0, S2MMU_PROT_DIRTY,
							&op), 0);
	KUNIT_EXPECT_TRUE(test, op.flush);
	bitmap_zero(bm, DIRTY_PAGES);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_collect_dirty(&env->pgt, DIRTY_BASE,
							  end, bm), 0);
	/* The leaves stay writable: the next write is seen again. */
	dirty_write(test, env, DIRTY_BASE + 3 * SZ_4K_ULL);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_collect_dirty(&env->pgt, DIRTY_BASE,
							  end, bm), 1);
	KUNIT_EXPECT_TRUE(test, test_bit(3, bm));

	/* Outside the tree: nothing. */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_collect_dirty(&env->pgt, end, end,
							  bm), 0);
}

static struct kunit_case dirty_cases[] = {
	PT_FMT_CASE(dirty_collect_test),
	{}
};

static struct kunit_suite dirty_suite = {
	.name		= "s2mmu_dirty",
	.test_cases	= dirty_cases,
};

kunit_test_suites(&dirty_suite);
