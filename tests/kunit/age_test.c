// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of lockless aging (s2mmu_pgtable_age() without mmu_lock):
 * each case lets aging read a young leaf, then, in the engine's race
 * window between that read and aging's cmpxchg, plays another thread
 * that changes the entry (a vCPU walker setting Dirty, a zap, a split, a
 * zap and a new install).  Aging must count the leaf young, write
 * nothing back, and leave the other thread's entry exactly as it made it.
 * Run for every format and geometry.
 */
#include <kunit/test.h>
#include <linux/kernel.h>

#include "pgtable_kunit.h"

#define AGE_GPA		(SZ_1G_ULL + 5 * SZ_2M_ULL)
#define AGE_PA		0x40000000ULL
#define AGE_PA2		0x7f000000ULL

enum age_rival { RIVAL_WALK_DIRTY, RIVAL_ZAP, RIVAL_SPLIT, RIVAL_REMAP };

static struct {
	struct kunit *test;
	struct pt_env *env;
	enum age_rival rival;
	unsigned int calls;
} age_race;

/* The rival thread, played once inside aging's read-to-cmpxchg window. */
static void age_race_hook(struct s2mmu_pgtable *pgt)
{
	struct pt_env *env = age_race.env;
	struct kunit *test = age_race.test;
	struct s2mmu_pt_info info;

	/* The rival's own writes go through the same window. */
	WRITE_ONCE(s2mmu_pt_test_race_hook, NULL);
	age_race.calls++;
	switch (age_race.rival) {
	case RIVAL_WALK_DIRTY:
		KUNIT_EXPECT_EQ(test, s2mmu_pgtable_lookup(pgt, AGE_GPA,
							   S2MMU_LOOKUP_MKDIRTY,
							   &info), 0);
		break;
	case RIVAL_ZAP:
		KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(pgt, AGE_GPA,
							AGE_GPA + SZ_4K_ULL,
							S2MMU_ZAP_LEAVES,
							&env->op), 0);
		break;
	case RIVAL_SPLIT:
		/* Inside aging's RCU section: the cache was filled before. */
		KUNIT_EXPECT_EQ(test, s2mmu_pgtable_split(pgt, AGE_GPA,
							  AGE_GPA + SZ_2M_ULL,
							  0, &env->op), 0);
		break;
	case RIVAL_REMAP:
		KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(pgt, AGE_GPA,
							AGE_GPA + SZ_4K_ULL,
							S2MMU_ZAP_LEAVES,
							&env->op), 0);
		KUNIT_EXPECT_EQ(test, s2mmu_pgtable_map(pgt, AGE_GPA, AGE_PA2,
							SZ_4K_ULL, 0,
							PROT_RW |
							S2MMU_PROT_ACCESSED,
							&env->op), 0);
		break;
	}
}

static void age_hook_clear(void *data)
{
	WRITE_ONCE(s2mmu_pt_test_race_hook, NULL);
}

/*
 * Map a young leaf at AGE_GPA (@level), age [AGE_GPA, AGE_GPA + @len)
 * with clear while @rival changes the entry, and check aging's report.
 */
static struct pt_env *age_with_rival(struct kunit *test,
				     enum age_rival rival,
				     unsigned int level, u64 len)
{
	struct pt_env *env = pt_env_new(test);
	u64 size = s2mmu_pt_level_size(level);
	struct s2mmu_pt_op op = { .shared = true };

	KUNIT_ASSERT_EQ(test, pt_map(test, env, round_down(AGE_GPA, size),
				     AGE_PA, size, level,
				     PROT_RW | S2MMU_PROT_ACCESSED), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, age_hook_clear,
							NULL), 0);
	age_race.test = test;
	age_race.env = env;
	age_race.rival = rival;
	age_race.calls = 0;
	pt_topup(test, env);
	WRITE_ONCE(s2mmu_pt_test_race_hook, age_race_hook);
	KUNIT_EXPECT_TRUE(test, s2mmu_pgtable_age(&env->pgt, AGE_GPA,
						  AGE_GPA + len, true, &op));
	WRITE_ONCE(s2mmu_pt_test_race_hook, NULL);
	KUNIT_EXPECT_EQ(test, age_race.calls, 1);
	/* The lost clear is young, not retried, and nothing was written. */
	KUNIT_EXPECT_EQ(test, op.nr_races, 1);
	KUNIT_EXPECT_FALSE(test, op.flush);
	return env;
}

/* A vCPU's write walk sets Dirty meanwhile: Dirty stays, and Accessed. */
static void age_vs_walker_dirty_test(struct kunit *test)
{
	unsigned int len;

	for (len = 1; len <= SZ_2M_ULL; len *= 512) {
		struct pt_env *env = age_with_rival(test, RIVAL_WALK_DIRTY, 0,
						    len);

		pt_expect_map(test, env, AGE_GPA, AGE_PA, 0,
			      PROT_RW | S2MMU_PROT_ACCESSED |
			      S2MMU_PROT_DIRTY);
	}
}

/* The leaf is zapped meanwhile: aging does not bring it back. */
static void age_vs_zap_test(struct kunit *test)
{
	struct pt_env *env = age_with_rival(test, RIVAL_ZAP, 0, 1);

	pt_expect_unmapped(test, env, AGE_GPA);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_leaves(&env->pgt, 0), 0);
}

/* A huge leaf is split meanwhile: aging does not write it over the table. */
static void age_vs_split_test(struct kunit *test)
{
	struct pt_env *env = age_with_rival(test, RIVAL_SPLIT, 1, 1);
	u64 off = AGE_GPA & (SZ_2M_ULL - 1);

	pt_expect_map(test, env, AGE_GPA, AGE_PA + off, 0,
		      PROT_RW | S2MMU_PROT_ACCESSED);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_leaves(&env->pgt, 0),
			S2MMU_PT_ENTRIES);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_leaves(&env->pgt, 1), 0);
}

/* Zapped and mapped to another page meanwhile: the new leaf stays. */
static void age_vs_remap_test(struct kunit *test)
{
	struct pt_env *env = age_with_rival(test, RIVAL_REMAP, 0, 1);

	pt_expect_map(test, env, AGE_GPA, AGE_PA2, 0,
		      PROT_RW | S2MMU_PROT_ACCESSED);
}

/*
 * Without a rival: one clear per young leaf, the single-page descent and
 * the range walk agree, test_young changes nothing, and an old or empty
 * entry is not young.
 */
static void age_clear_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	struct s2mmu_pt_op op = { .shared = true };
	u64 gpa2 = AGE_GPA + SZ_4K_ULL;

	KUNIT_ASSERT_EQ(test, pt_map(test, env, AGE_GPA, AGE_PA, SZ_4K_ULL, 0,
				     PROT_RW | S2MMU_PROT_ACCESSED), 0);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, gpa2, AGE_PA2, SZ_4K_ULL, 0,
				     PROT_RW | S2MMU_PROT_ACCESSED |
				     S2MMU_PROT_DIRTY), 0);

	KUNIT_EXPECT_TRUE(test, s2mmu_pgtable_age(&env->pgt, AGE_GPA,
						  AGE_GPA + 1, false, &op));
	KUNIT_EXPECT_FALSE(test, op.flush);
	pt_expect_map(test, env, AGE_GPA, AGE_PA, 0,
		      PROT_RW | S2MMU_PROT_ACCESSED);

	/* One page, the direct descent. */
	KUNIT_EXPECT_TRUE(test, s2mmu_pgtable_age(&env->pgt, AGE_GPA + 8,
						  AGE_GPA + 9, true, &op));
	KUNIT_EXPECT_TRUE(test, op.flush);
	pt_expect_map(test, env, AGE_GPA, AGE_PA, 0, PROT_RW);
	pt_expect_map(test, env, gpa2, AGE_PA2, 0,
		      PROT_RW | S2MMU_PROT_ACCESSED | S2MMU_PROT_DIRTY);
	op.flush = false;
	KUNIT_EXPECT_FALSE(test, s2mmu_pgtable_age(&env->pgt, AGE_GPA,
						   AGE_GPA + SZ_4K_ULL, true,
						   &op));
	KUNIT_EXPECT_FALSE(test, op.flush);

	/* A range: the walk clears the other leaf and keeps its Dirty. */
	KUNIT_EXPECT_TRUE(test, s2mmu_pgtable_age(&env->pgt, AGE_GPA,
						  AGE_GPA + SZ_2M_ULL, true,
						  &op));
	pt_expect_map(test, env, gpa2, AGE_PA2, 0,
		      PROT_RW | S2MMU_PROT_DIRTY);
	KUNIT_EXPECT_FALSE(test, s2mmu_pgtable_age(&env->pgt, AGE_GPA,
						   AGE_GPA + SZ_2M_ULL, false,
						   &op));
	/* Nothing mapped there. */
	KUNIT_EXPECT_FALSE(test, s2mmu_pgtable_age(&env->pgt, SZ_4K_ULL,
						   2 * SZ_4K_ULL, true, &op));
	KUNIT_EXPECT_EQ(test, op.nr_races, 0);
}

static struct kunit_case age_cases[] = {
	PT_FMT_CASE(age_clear_test),
	PT_FMT_CASE(age_vs_walker_dirty_test),
	PT_FMT_CASE(age_vs_zap_test),
	PT_FMT_CASE(age_vs_split_test),
	PT_FMT_CASE(age_vs_remap_test),
	{}
};

static struct kunit_suite age_suite = {
	.name		= "s2mmu_age",
	.test_cases	= age_cases,
};

kunit_test_suites(&age_suite);
