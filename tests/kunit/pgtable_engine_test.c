// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the stage-2 table engine (mmu/pgtable.c, mmu/walk.c):
 * the deterministic cases, and the suite of every engine case (the others
 * live in pgtable_count_test.c, pgtable_race_test.c and
 * pgtable_model_test.c).
 */
#include <kunit/test.h>
#include <linux/rcupdate.h>

#include "pgtable_kunit.h"

/* ---- map and lookup --------------------------------------------------- */

static void pt_map_lookup_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	u64 top = 1ULL << env->pgt.gpa_bits;
	unsigned int level, l;

	/* One 4K page: one table per level below the root. */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 0x5000, 0xabc000, SZ_4K_ULL,
				     0, PROT_RWXA), 0);
	for (l = 0; l + 1 < env->pgt.levels; l++)
		KUNIT_EXPECT_EQ(test, pt_nr(env, l), 1);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_tables(&env->pgt),
			env->pgt.levels);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_bytes(&env->pgt),
			env->pgt.levels * PAGE_SIZE);
	pt_expect_map(test, env, 0x5000, 0xabc000, 0, PROT_RWXA);
	pt_expect_map(test, env, 0x5fff, 0xabcfff, 0, PROT_RWXA);
	pt_expect_unmapped(test, env, 0x4fff);
	pt_expect_unmapped(test, env, 0x6000);
	KUNIT_EXPECT_FALSE(test, env->op.flush);

	for (level = 0; level <= pt_max_leaf(env); level++) {
		u64 size = s2mmu_pt_level_size(level);
		/*
		 * The last entry of the address space (for 4K) and one in the
		 * middle, a different 1G region for each level.
		 */
		u64 gpas[] = {
			top - size - level * SZ_1G_ULL,
			top / 2 + 3 * size + level * SZ_1G_ULL,
		};
		u32 prot = S2MMU_PROT_R | (level ? S2MMU_PROT_X : 0);
		unsigned int i;

		for (i = 0; i < ARRAY_SIZE(gpas); i++) {
			u64 gpa = gpas[i], pa = 7 * size;

			KUNIT_ASSERT_EQ(test, pt_map(test, env, gpa, pa, size,
						     level, prot), 0);
			pt_expect_map(test, env, gpa, pa, level, prot);
			pt_expect_map(test, env, gpa + size / 2, pa + size / 2,
				      level, prot);
			pt_expect_map(test, env, gpa + size - 1, pa + size - 1,
				      level, prot);
			pt_expect_unmapped(test, env, gpa - 1);
			if (gpa + size < top)
				pt_expect_unmapped(test, env, gpa + size);
			/* mapping it again is a no-op */
			KUNIT_EXPECT_EQ(test, pt_map(test, env, gpa, pa, size,
						     level, prot), 0);
			KUNIT_EXPECT_FALSE(test, env->op.flush);
		}
	}

	/* Bad arguments. */
	KUNIT_EXPECT_EQ(test, pt_map(test, env, 0x1800, 0, SZ_4K_ULL, 0,
				     S2MMU_PROT_R), -EINVAL);
	KUNIT_EXPECT_EQ(test, pt_map(test, env, 0, 0x800, SZ_4K_ULL, 0,
				     S2MMU_PROT_R), -EINVAL);
	KUNIT_EXPECT_EQ(test, pt_map(test, env, top, 0, SZ_4K_ULL, 0,
				     S2MMU_PROT_R), -EINVAL);
	KUNIT_EXPECT_EQ(test, pt_map(test, env, 0, 0, SZ_4K_ULL, 0,
				     S2MMU_PROT_W), -EINVAL);
	KUNIT_EXPECT_EQ(test, pt_map(test, env, 0, 0, SZ_4K_ULL, 3,
				     S2MMU_PROT_R), -EINVAL);
	KUNIT_EXPECT_EQ(test, pt_map(test, env, 0, 0, 0, 0, S2MMU_PROT_R),
			-EINVAL);

	/* Replacing a leaf by another translation needs a flush. */
	KUNIT_EXPECT_EQ(test, pt_map(test, env, 0x5000, 0xdef000, SZ_4K_ULL,
				     0, S2MMU_PROT_R), 0);
	KUNIT_EXPECT_TRUE(test, env->op.flush);
	pt_expect_map(test, env, 0x5000, 0xdef000, 0, S2MMU_PROT_R);

	/* A table at the target level: collapse first. */
	if (env->pgt.levels > 2) {
		env->op.flush = false;
		KUNIT_EXPECT_EQ(test, pt_map(test, env, 0, 0, SZ_2M_ULL, 1,
					     S2MMU_PROT_R), -EEXIST);
		KUNIT_EXPECT_EQ(test, s2mmu_pgtable_collapse(&env->pgt, 0x5000, 1,
							     &env->op), 0);
		KUNIT_EXPECT_TRUE(test, env->op.flush);
		pt_expect_unmapped(test, env, 0x5000);
		KUNIT_EXPECT_EQ(test, pt_map(test, env, 0, 0, SZ_2M_ULL, 1,
					     S2MMU_PROT_R), 0);
		pt_expect_map(test, env, 0x5000, 0x5000, 1, S2MMU_PROT_R);
	}

	{
		struct pt_census c;

		pt_census(test, env, &c);
	}
	pt_expect_no_leak(test, env);
}

static void pt_map_straddle_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	u64 gpa, pa = 0x100000000ULL;
	unsigned int l;
	struct pt_census c;

	/* 16 pages across a 2M boundary that is also a 1G boundary */
	gpa = SZ_1G_ULL - 8 * SZ_4K_ULL;
	KUNIT_ASSERT_EQ(test, pt_map(test, env, gpa, pa, 16 * SZ_4K_ULL, 0,
				     PROT_RW), 0);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 0), 2);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 1), 2);
	for (l = 0; l < 16; l++)
		pt_expect_map(test, env, gpa + l * SZ_4K_ULL,
			      pa + l * SZ_4K_ULL, 0, PROT_RW);
	pt_expect_unmapped(test, env, gpa - SZ_4K_ULL);
	pt_expect_unmapped(test, env, gpa + 16 * SZ_4K_ULL);

	/* 2M leaves across a 512G boundary (when the tree has one) */
	if (env->pgt.gpa_bits > 39) {
		gpa = SZ_512G_ULL - 4 * SZ_2M_ULL;
		KUNIT_ASSERT_EQ(test, pt_map(test, env, gpa, pa, 8 * SZ_2M_ULL,
					     1, S2MMU_PROT_RWX), 0);
		KUNIT_EXPECT_EQ(test, pt_nr(env, 1), 4);
		KUNIT_EXPECT_EQ(test, pt_nr(env, 2), 2);
		for (l = 0; l < 8; l++)
			pt_expect_map(test, env, gpa + l * SZ_2M_ULL + 0x1234,
				      pa + l * SZ_2M_ULL + 0x1234, 1,
				      S2MMU_PROT_RWX);
		pt_expect_unmapped(test, env, gpa - 1);
		pt_expect_unmapped(test, env, gpa + 8 * SZ_2M_ULL);
	}

	/* The worst case estimate covers a map into an empty tree. */
	{
		struct pt_env *e2 = pt_env_new(test);
		unsigned long before;

		pt_topup(test, e2);
		before = e2->cache.nobjs;
		gpa = SZ_1G_ULL - 3 * SZ_2M_ULL;
		KUNIT_ASSERT_EQ(test, s2mmu_pgtable_map(&e2->pgt, gpa, 0,
							5 * SZ_2M_ULL, 0,
							S2MMU_PROT_R, &e2->op), 0);
		KUNIT_EXPECT_EQ(test, before - e2->cache.nobjs,
				s2mmu_pgtable_map_tables_needed(&e2->pgt, gpa,
								5 * SZ_2M_ULL,
								0));
	}
	pt_census(test, env, &c);
	KUNIT_EXPECT_EQ(test, c.leaves[0], 16);
	pt_expect_no_leak(test, env);
}

/* s2mmu_pgtable_map_run(), topping the cache up as often as it runs dry. */
static int pt_map_run(struct kunit *test, struct pt_env *env, u64 gpa,
		      const u64 *pfns, unsigned int n, u32 prot,
		      unsigned int *kept)
{
	int ret;

	env->op.flush = false;
	do {
		pt_topup(test, env);
		ret = s2mmu_pgtable_map_run(&env->pgt, gpa, pfns, n, prot,
					    &env->op, kept);
	} while (ret == -ENOMEM);
	return ret;
}

/* The leaves of @level in the tree, counted by walking it. */
static unsigned long pt_leaves(struct kunit *test, struct pt_env *env,
			       unsigned int level)
{
	struct pt_census c;

	pt_census(test, env, &c);
	return c.leaves[level];
}

/*
 * A run of 4 KiB leaves with scattered frames, as PRE_FAULT maps them
 * after a fault: its bounds, what it keeps and replaces, where it stops,
 * and that it maps only into a leaf table that exists (no table linked,
 * no huge leaf split).
 */
static void pt_map_run_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	u64 gpa = SZ_1G_ULL + 100 * SZ_4K_ULL, pfns[8], big[3];
	u64 over = 1ULL << (env->pgt.ops->pa_bits - 12);
	unsigned int i, kept;

	for (i = 0; i < 8; i++)
		pfns[i] = 0x1000 + 7 * i;
	/* Bounds: none, past the end of the leaf table, unaligned, W w/o R. */
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa, pfns, 0, PROT_RW,
					 &kept), -EINVAL);
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, SZ_2M_ULL - 4 * SZ_4K_ULL,
					 pfns, 5, PROT_RW, &kept), -EINVAL);
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa + 8, pfns, 1, PROT_RW,
					 &kept), -EINVAL);
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa, pfns, 1,
					 S2MMU_PROT_W, &kept), -EINVAL);
	KUNIT_EXPECT_EQ(test, pt_leaves(test, env, 0), 0);

	/* No leaf table there yet: nothing is linked, nothing mapped. */
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa, pfns, 8, PROT_RW,
					 &kept), -EAGAIN);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 0), 0);

	/* After a fault's leaf: every leaf its own frame. */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, gpa, pfns[0] << 12, SZ_4K_ULL,
				     0, PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, pt_map_run(test, env, gpa, pfns, 8, PROT_RW,
					 &kept), 8);
	KUNIT_EXPECT_EQ(test, kept, 1);
	KUNIT_EXPECT_EQ(test, pt_leaves(test, env, 0), 8);
	for (i = 0; i < 8; i++)
		pt_expect_map(test, env, gpa + i * SZ_4K_ULL, pfns[i] << 12, 0,
			      PROT_RW);
	pt_expect_unmapped(test, env, gpa - SZ_4K_ULL);
	pt_expect_unmapped(test, env, gpa + 8 * SZ_4K_ULL);

	/* Again, and read-only: all kept, nothing to flush. */
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa, pfns, 8, PROT_RW,
					 &kept), 8);
	KUNIT_EXPECT_EQ(test, kept, 8);
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa, pfns, 8,
					 S2MMU_PROT_R, &kept), 8);
	KUNIT_EXPECT_EQ(test, kept, 8);
	KUNIT_EXPECT_FALSE(test, env->op.flush);
	pt_expect_map(test, env, gpa, pfns[0] << 12, 0, PROT_RW);

	/* One frame changed: that leaf is replaced, and the change flushed. */
	pfns[3] = 0x9999;
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa, pfns, 8, PROT_RW,
					 &kept), 8);
	KUNIT_EXPECT_EQ(test, kept, 7);
	KUNIT_EXPECT_TRUE(test, env->op.flush);
	pt_expect_map(test, env, gpa + 3 * SZ_4K_ULL, 0x9999ULL << 12, 0,
		      PROT_RW);

	/* A frame the format cannot address stops the run before it. */
	pfns[5] = over;
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa + 16 * SZ_4K_ULL,
					 pfns, 8, PROT_RW, &kept), 5);
	pt_expect_unmapped(test, env, gpa + 21 * SZ_4K_ULL);
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa + 32 * SZ_4K_ULL,
					 &pfns[5], 1, PROT_RW, &kept),
			-EOVERFLOW);
	KUNIT_EXPECT_EQ(test, pt_leaves(test, env, 0), 8 + 5);

	/* Read-only leaves made writable: replaced, no flush owed. */
	for (i = 0; i < 3; i++)
		big[i] = 0x7000 + i;
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa + 40 * SZ_4K_ULL, big,
					 3, S2MMU_PROT_R, &kept), 3);
	pt_expect_map(test, env, gpa + 41 * SZ_4K_ULL, big[1] << 12, 0,
		      S2MMU_PROT_R);
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, gpa + 40 * SZ_4K_ULL, big,
					 3, PROT_RW, &kept), 3);
	KUNIT_EXPECT_EQ(test, kept, 0);
	KUNIT_EXPECT_FALSE(test, env->op.flush);
	pt_expect_map(test, env, gpa + 41 * SZ_4K_ULL, big[1] << 12, 0,
		      PROT_RW);

	/* Inside a huge leaf: nothing mapped, the leaf stays whole. */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 2 * SZ_1G_ULL, 0x40000000ULL,
				     SZ_2M_ULL, 1, PROT_RW), 0);
	KUNIT_EXPECT_EQ(test, pt_map_run(test, env, 2 * SZ_1G_ULL +
					 10 * SZ_4K_ULL, big, 3, PROT_RW,
					 &kept), -EAGAIN);
	KUNIT_EXPECT_EQ(test, pt_leaves(test, env, 1), 1);
	pt_expect_map(test, env, 2 * SZ_1G_ULL + 10 * SZ_4K_ULL,
		      0x40000000ULL + 10 * SZ_4K_ULL, 1, PROT_RW);
	pt_expect_no_leak(test, env);
}

/* ---- split ------------------------------------------------------------ */

static void pt_split_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	u32 prot = S2MMU_PROT_RWX | S2MMU_PROT_ACCESSED | S2MMU_PROT_DIRTY;
	unsigned int top = pt_max_leaf(env);
	u64 gpa = 3 * SZ_1G_ULL, pa = 5 * SZ_1G_ULL;
	u64 size = s2mmu_pt_level_size(top), off;
	struct pt_census c;

	KUNIT_ASSERT_EQ(test, pt_map(test, env, gpa, pa, size, top, prot), 0);
	/* one level at a time, then straight to 4K */
	KUNIT_ASSERT_EQ(test, pt_split(test, env, gpa, gpa + size, top - 1), 0);
	KUNIT_EXPECT_FALSE(test, env->op.flush);
	KUNIT_EXPECT_EQ(test, pt_nr(env, top - 1), 1);
	for (off = 0; off < size; off += s2mmu_pt_level_size(top - 1))
		pt_expect_map(test, env, gpa + off + 0x123, pa + off + 0x123,
			      top - 1, prot);

	KUNIT_ASSERT_EQ(test, pt_split(test, env, gpa, gpa + size, 0), 0);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 0), size / SZ_2M_ULL);
	for (off = 0; off < size; off += SZ_4K_ULL)
		pt_expect_map(test, env, gpa + off, pa + off, 0, prot);
	pt_expect_unmapped(test, env, gpa - 1);
	pt_expect_unmapped(test, env, gpa + size);

	/* A split of part of a range leaves the rest huge. */
	if (top == 2) {
		u64 g2 = 9 * SZ_1G_ULL;

		KUNIT_ASSERT_EQ(test, pt_map(test, env, g2, pa, SZ_1G_ULL, 2,
					     prot), 0);
		KUNIT_ASSERT_EQ(test, pt_split(test, env, g2 + SZ_2M_ULL + 5,
					       g2 + SZ_2M_ULL + 6, 0), 0);
		pt_expect_map(test, env, g2, pa, 1, prot);
		pt_expect_map(test, env, g2 + SZ_2M_ULL + SZ_4K_ULL,
			      pa + SZ_2M_ULL + SZ_4K_ULL, 0, prot);
		pt_expect_map(test, env, g2 + 2 * SZ_2M_ULL,
			      pa + 2 * SZ_2M_ULL, 1, prot);
	}
	/* Mapping 4K inside a huge leaf splits it on the way. */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 0, 0, SZ_2M_ULL, 1, prot), 0);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 0x3000, 0x3000, SZ_4K_ULL, 0,
				     S2MMU_PROT_R), 0);
	KUNIT_EXPECT_TRUE(test, env->op.flush);
	pt_expect_map(test, env, 0x2000, 0x2000, 0, prot);
	pt_expect_map(test, env, 0x3000, 0x3000, 0, S2MMU_PROT_R);
	pt_expect_map(test, env, 0x1ff000, 0x1ff000, 0, prot);

	pt_census(test, env, &c);
	pt_expect_no_leak(test, env);
}

/* ---- zap -------------------------------------------------------------- */

static void pt_zap_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	u64 base = SZ_1G_ULL, i;
	unsigned long t0;
	struct pt_census c;

	/* 4 huge 2M leaves, then 4M of 4K pages */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, base, base, 4 * SZ_2M_ULL, 1,
				     PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, base + 4 * SZ_2M_ULL,
				     base + 4 * SZ_2M_ULL, 2 * SZ_2M_ULL, 0,
				     PROT_RW), 0);
	t0 = pt_nr(env, 0);
	KUNIT_EXPECT_EQ(test, t0, 2);

	/* Nothing mapped there: no flush. */
	env->op.flush = false;
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, 0, SZ_1G_ULL,
						S2MMU_ZAP_LEAVES, &env->op), 0);
	KUNIT_EXPECT_FALSE(test, env->op.flush);

	/* Part of a huge leaf: the whole leaf goes, its neighbours stay. */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, base + SZ_2M_ULL + 5,
						base + SZ_2M_ULL + 0x3000,
						S2MMU_ZAP_LEAVES, &env->op), 0);
	KUNIT_EXPECT_TRUE(test, env->op.flush);
	pt_expect_map(test, env, base + SZ_2M_ULL - 1, base + SZ_2M_ULL - 1,
		      1, PROT_RW);
	pt_expect_unmapped(test, env, base + SZ_2M_ULL);
	pt_expect_unmapped(test, env, base + 2 * SZ_2M_ULL - 1);
	pt_expect_map(test, env, base + 2 * SZ_2M_ULL, base + 2 * SZ_2M_ULL,
		      1, PROT_RW);

	/* Unaligned ends: pages 1..3 of the 4K run, rounded outwards. */
	base += 4 * SZ_2M_ULL;
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, base + 0x1800,
						base + 0x3001,
						S2MMU_ZAP_LEAVES, &env->op), 0);
	pt_expect_map(test, env, base, base, 0, PROT_RW);
	for (i = 1; i <= 3; i++)
		pt_expect_unmapped(test, env, base + i * SZ_4K_ULL);
	pt_expect_map(test, env, base + 4 * SZ_4K_ULL, base + 4 * SZ_4K_ULL,
		      0, PROT_RW);

	/* Leaves only: a whole 2M of 4K pages, its table stays. */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, base,
						base + SZ_2M_ULL,
						S2MMU_ZAP_LEAVES, &env->op), 0);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 0), t0);
	for (i = 0; i < SZ_2M_ULL; i += SZ_4K_ULL)
		pt_expect_unmapped(test, env, base + i);
	pt_expect_map(test, env, base + SZ_2M_ULL, base + SZ_2M_ULL, 0,
		      PROT_RW);

	/* Tables too: a range covering one whole table and part of another. */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, base,
						base + SZ_2M_ULL + SZ_4K_ULL,
						S2MMU_ZAP_TABLES, &env->op), 0);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 0), t0 - 1);
	pt_expect_unmapped(test, env, base + SZ_2M_ULL);
	pt_expect_map(test, env, base + SZ_2M_ULL + SZ_4K_ULL,
		      base + SZ_2M_ULL + SZ_4K_ULL, 0, PROT_RW);
	{
		struct s2mmu_pt_info info;

		KUNIT_EXPECT_EQ(test, s2mmu_pgtable_lookup(&env->pgt, base, 0,
							   &info), -ENOENT);
		KUNIT_EXPECT_EQ(test, info.level, 1);
	}

	pt_census(test, env, &c);
	KUNIT_EXPECT_EQ(test, c.leaves[1], 3);
	KUNIT_EXPECT_EQ(test, c.leaves[0], 511);

	/* Zap everything: only the root is left, then nothing. */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, 0,
						1ULL << env->pgt.gpa_bits,
						S2MMU_ZAP_TABLES, &env->op), 0);
	for (i = 0; i + 1 < env->pgt.levels; i++)
		KUNIT_EXPECT_EQ(test, pt_nr(env, i), 0);
	KUNIT_EXPECT_EQ(test, pt_nr(env, env->pgt.levels - 1), 1);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_bytes(&env->pgt), PAGE_SIZE);
	pt_census(test, env, &c);
	pt_expect_no_leak(test, env);

	s2mmu_pgtable_destroy(&env->pgt);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_tables(&env->pgt), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->pgt.rcu_pending), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->pgt.tables_freed),
			env->pages_in - env->cache.nobjs + 1);
}

/*
 * A zap of a large tree removes at most one table page's worth of
 * entries (512) per iterator step, so it can yield often enough: a 1 GiB
 * region of 4 KiB leaves (a table of 512 tables) goes bottom-up, its 4 KiB
 * tables first and the emptied table above them in a later pass, never
 * as one 262,656-entry subtree.
 */
static void pt_zap_step_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	u64 base = SZ_1G_ULL, off;
	struct s2mmu_pt_op op = { };
	struct pt_census c;
	unsigned int l;

	if (1ULL << env->pgt.gpa_bits < 4 * SZ_1G_ULL)
		kunit_skip(test, "address space too small");
	for (off = 0; off < SZ_1G_ULL; off += 16 * SZ_2M_ULL)
		KUNIT_ASSERT_EQ(test, pt_map(test, env, base + off, base + off,
					     16 * SZ_2M_ULL, 0, PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, pt_nr(env, 0), 512);
	/* Huge leaves beside it. */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 3 * SZ_1G_ULL, 3 * SZ_1G_ULL,
				     8 * SZ_2M_ULL, 1, PROT_RW), 0);
	if (pt_max_leaf(env) >= 2)
		KUNIT_ASSERT_EQ(test, pt_map(test, env, 2 * SZ_1G_ULL,
					     2 * SZ_1G_ULL, SZ_1G_ULL, 2,
					     PROT_RW), 0);

	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, 0,
						1ULL << env->pgt.gpa_bits,
						S2MMU_ZAP_TABLES, &op), 0);
	KUNIT_EXPECT_LE_MSG(test, op.max_step, S2MMU_PT_ENTRIES,
			    "one zap step tore down %lu entries", op.max_step);
	KUNIT_EXPECT_TRUE(test, op.flush);
	for (l = 0; l + 1 < env->pgt.levels; l++)
		KUNIT_EXPECT_EQ_MSG(test, pt_nr(env, l), 0, "level %u", l);
	pt_census(test, env, &c);
	for (l = 0; l < S2MMU_PT_MAX_LEVELS; l++)
		KUNIT_EXPECT_EQ(test, c.leaves[l], 0);
	pt_expect_no_leak(test, env);

	/* Leaves only over the same: one leaf per step. */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, base, base, 16 * SZ_2M_ULL, 0,
				     PROT_RW), 0);
	memset(&op, 0, sizeof(op));
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, 0,
						1ULL << env->pgt.gpa_bits,
						S2MMU_ZAP_LEAVES, &op), 0);
	KUNIT_EXPECT_EQ(test, op.max_step, 1);
	KUNIT_EXPECT_EQ(test, op.nr_zapped, 16 * 512);
}

static int pt_flushes;

static void pt_count_flush(void *arg)
{
	pt_flushes++;
}

static void pt_zap_yield_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	u64 size = 8 * SZ_2M_ULL;
	DEFINE_RWLOCK(lock);
	struct s2mmu_pt_op op = {
		.mmu_lock = &lock, .may_yield = true, .force_yield = true,
	};
	struct pt_census c;

	KUNIT_ASSERT_EQ(test, pt_map(test, env, 0, 0, size, 0, PROT_RW), 0);

	/* A flush already pending: never yields. */
	op.flush = true;
	write_lock(&lock);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, 0, size / 2,
						S2MMU_ZAP_LEAVES, &op), 0);
	write_unlock(&lock);
	KUNIT_EXPECT_EQ(test, op.nr_yields, 0);
	KUNIT_EXPECT_EQ(test, op.nr_zapped, 4 * 512);

	/* The zap's own flush blocks yields without a flush callback. */
	op.flush = false;
	op.nr_zapped = 0;
	write_lock(&lock);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, size / 2,
						3 * size / 4,
						S2MMU_ZAP_LEAVES, &op), 0);
	write_unlock(&lock);
	KUNIT_EXPECT_EQ(test, op.nr_yields, 0);
	KUNIT_EXPECT_EQ(test, op.nr_zapped, 2 * 512);
	KUNIT_EXPECT_TRUE(test, op.flush);

	/* With a callback: flush, then yield, after each entry. */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 0, 0, size, 0, PROT_RW), 0);
	op.flush = false;
	op.flush_tlbs = pt_count_flush;
	op.nr_zapped = 0;
	pt_flushes = 0;
	read_lock(&lock);
	op.shared = true;
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, 0, size,
						S2MMU_ZAP_LEAVES, &op), 0);
	read_unlock(&lock);
	/* once per entry after the first: only forward progress counts */
	KUNIT_EXPECT_EQ(test, op.nr_yields, 8 * 512 - 1);
	KUNIT_EXPECT_EQ(test, pt_flushes, op.nr_yields);
	KUNIT_EXPECT_EQ(test, op.nr_zapped, 8 * 512);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 0), 8);

	/* Whole tables: one yield per level 1 entry after the first. */
	op.nr_yields = 0;
	op.nr_zapped = 0;
	op.shared = false;
	write_lock(&lock);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, 0, size,
						S2MMU_ZAP_TABLES, &op), 0);
	write_unlock(&lock);
	KUNIT_EXPECT_EQ(test, op.nr_yields, 7);
	/* the 8 emptied leaf tables, each removed whole */
	KUNIT_EXPECT_EQ(test, op.nr_zapped, 8);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 0), 0);
	pt_expect_unmapped(test, env, 0);
	pt_expect_unmapped(test, env, size - 1);
	pt_census(test, env, &c);
	KUNIT_EXPECT_EQ(test, c.leaves[0], 0);
	pt_expect_no_leak(test, env);
}

/* ---- permissions and aging -------------------------------------------- */

/* Short forms for the permission and aging tests, on 4K page numbers. */
static int pt_wrprot(struct pt_env *env, u64 base, u64 first, u64 end)
{
	return s2mmu_pgtable_wrprotect(&env->pgt, base + first * SZ_4K_ULL,
				       base + end * SZ_4K_ULL, &env->op);
}

static int pt_prot(struct pt_env *env, u64 start, u64 end, u32 set,
		   u32 clear)
{
	return s2mmu_pgtable_update_prot(&env->pgt, start, end, set, clear,
					 &env->op);
}

static bool pt_age(struct pt_env *env, u64 start, u64 end, bool clear)
{
	return s2mmu_pgtable_age(&env->pgt, start, end, clear, &env->op);
}

static u32 pt_touch(struct kunit *test, struct pt_env *env, u64 gpa,
		    unsigned int flags)
{
	struct s2mmu_pt_info info;

	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_lookup(&env->pgt, gpa, flags,
						   &info), 0);
	return info.prot;
}

static void pt_wrprotect_age_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	u64 base = 0x40000000, huge = base + SZ_2M_ULL, i;
	u32 rx = S2MMU_PROT_R | S2MMU_PROT_X;
	u32 rwad = PROT_RW | S2MMU_PROT_ACCESSED | S2MMU_PROT_DIRTY;

	KUNIT_ASSERT_EQ(test, pt_map(test, env, base, base, 16 * SZ_4K_ULL, 0,
				     PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, huge, huge, SZ_2M_ULL, 1,
				     S2MMU_PROT_RWX), 0);

	/* write-protect pages 4..7 */
	env->op.flush = false;
	KUNIT_EXPECT_EQ(test, pt_wrprot(env, base, 4, 8), 0);
	KUNIT_EXPECT_TRUE(test, env->op.flush);
	for (i = 0; i < 16; i++)
		pt_expect_map(test, env, base + i * SZ_4K_ULL,
			      base + i * SZ_4K_ULL, 0,
			      (i >= 4 && i < 8) ? S2MMU_PROT_R : PROT_RW);
	env->op.flush = false;
	KUNIT_EXPECT_EQ(test, pt_wrprot(env, base, 4, 8), 0);
	KUNIT_EXPECT_FALSE(test, env->op.flush);
	/* part of a huge leaf: the whole leaf */
	KUNIT_EXPECT_EQ(test, pt_wrprot(env, huge, 1, 2), 0);
	pt_expect_map(test, env, huge, huge, 1, rx);
	/* taking X away, then giving it back */
	KUNIT_EXPECT_EQ(test, pt_prot(env, huge, huge + SZ_2M_ULL, 0,
				      S2MMU_PROT_X), 0);
	pt_expect_map(test, env, huge, huge, 1, S2MMU_PROT_R);
	KUNIT_EXPECT_EQ(test, pt_prot(env, huge, huge + SZ_2M_ULL,
				      S2MMU_PROT_X, 0), 0);
	pt_expect_map(test, env, huge, huge, 1, rx);
	KUNIT_EXPECT_EQ(test, pt_prot(env, base, base + SZ_4K_ULL,
				      S2MMU_PROT_DEVICE, 0), -EINVAL);

	/* Aging: nothing is young yet. */
	KUNIT_EXPECT_FALSE(test, pt_age(env, base, huge + SZ_2M_ULL, false));
	/* a read marks page 2 young, a write page 3 young and dirty */
	KUNIT_EXPECT_EQ(test, pt_touch(test, env, base + 2 * SZ_4K_ULL,
				       S2MMU_LOOKUP_MKYOUNG),
			PROT_RW | S2MMU_PROT_ACCESSED);
	KUNIT_EXPECT_EQ(test, pt_touch(test, env, base + 3 * SZ_4K_ULL,
				       S2MMU_LOOKUP_MKDIRTY), rwad);
	/* a write walk over a read-only page sets no Dirty */
	KUNIT_EXPECT_EQ(test, pt_touch(test, env, base + 5 * SZ_4K_ULL,
				       S2MMU_LOOKUP_MKDIRTY),
			S2MMU_PROT_R | S2MMU_PROT_ACCESSED);

	KUNIT_EXPECT_TRUE(test, pt_age(env, base, base + 16 * SZ_4K_ULL,
				       false));
	KUNIT_EXPECT_FALSE(test, pt_age(env, base, base + 2 * SZ_4K_ULL,
					false));
	KUNIT_EXPECT_TRUE(test, pt_age(env, base + 3 * SZ_4K_ULL,
				       base + 4 * SZ_4K_ULL, false));
	/* clearing: reports young once, keeps Dirty */
	env->op.flush = false;
	KUNIT_EXPECT_TRUE(test, pt_age(env, base, base + 16 * SZ_4K_ULL,
				       true));
	KUNIT_EXPECT_TRUE(test, env->op.flush);
	KUNIT_EXPECT_FALSE(test, pt_age(env, base, base + 16 * SZ_4K_ULL,
					true));
	pt_expect_map(test, env, base + 3 * SZ_4K_ULL, base + 3 * SZ_4K_ULL,
		      0, PROT_RW | S2MMU_PROT_DIRTY);
	/* clearing Dirty (dirty logging) */
	KUNIT_EXPECT_EQ(test, pt_prot(env, base, base + 16 * SZ_4K_ULL, 0,
				      S2MMU_PROT_DIRTY), 0);
	pt_expect_map(test, env, base + 3 * SZ_4K_ULL, base + 3 * SZ_4K_ULL,
		      0, PROT_RW);
	/* the huge leaf: young as a whole */
	KUNIT_EXPECT_EQ(test, pt_touch(test, env, huge + 0x5000,
				       S2MMU_LOOKUP_MKYOUNG),
			rx | S2MMU_PROT_ACCESSED);
	KUNIT_EXPECT_TRUE(test, pt_age(env, huge + SZ_2M_ULL - 1,
				       huge + SZ_2M_ULL, false));
}

/* ---- frozen entries, walker and iterator ------------------------------ */

static int pt_find_cb(struct s2mmu_walk_ctx *ctx)
{
	u64 **ptep = ctx->arg;

	if (ctx->level == 1) {
		*ptep = ctx->ptep;
		return 1;
	}
	return 0;
}

static void pt_frozen_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	const struct s2mmu_pgtable_ops *ops = env->pgt.ops;
	u64 *ptep = NULL, saved;
	struct s2mmu_walker walker = {
		.cb = pt_find_cb, .arg = &ptep, .flags = S2MMU_WALK_TABLE_PRE,
	};
	struct s2mmu_pt_info info;

	KUNIT_ASSERT_EQ(test, pt_map(test, env, 0x200000, 0x200000, SZ_4K_ULL,
				     0, PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_walk(&env->pgt, 0x200000,
						 SZ_4K_ULL, &walker), 1);
	KUNIT_ASSERT_NOT_NULL(test, ptep);

	/* Freeze the level 1 entry as a concurrent changer would. */
	saved = READ_ONCE(*ptep);
	WRITE_ONCE(*ptep, ops->frozen_pte);
	KUNIT_EXPECT_EQ(test, pt_map(test, env, 0x201000, 0x201000, SZ_4K_ULL,
				     0, PROT_RW), -EAGAIN);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_lookup(&env->pgt, 0x200000, 0,
						   &info), -EAGAIN);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, 0, SZ_1G_ULL,
						S2MMU_ZAP_LEAVES, &env->op),
			-EAGAIN);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_collapse(&env->pgt, 0x200000, 1,
						     &env->op), -EAGAIN);
	KUNIT_EXPECT_EQ(test, pt_split(test, env, 0x200000, 0x400000, 0),
			-EAGAIN);
	KUNIT_EXPECT_FALSE(test, s2mmu_pgtable_age(&env->pgt, 0, SZ_1G_ULL,
						   true, &env->op));
	WRITE_ONCE(*ptep, saved);

	/* Thawed: everyone gets through on retry. */
	KUNIT_EXPECT_EQ(test, pt_map(test, env, 0x201000, 0x201000, SZ_4K_ULL,
				     0, PROT_RW), 0);
	pt_expect_map(test, env, 0x201000, 0x201000, 0, PROT_RW);
	pt_expect_no_leak(test, env);
}

/*
 * A map reports the tables it linked (created or split); unlinking a given
 * table removes it only while its parent entry still points at it.
 */
static void pt_unlink_table_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	u64 made, split, upper;

	memset(env->op.linked, 0, sizeof(env->op.linked));
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 0x201000, 0x201000, SZ_4K_ULL,
				     0, PROT_RW), 0);
	made = env->op.linked[1];
	upper = env->op.linked[2];
	KUNIT_EXPECT_NE(test, made, 0);
	KUNIT_EXPECT_NE(test, upper, 0);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_table_pa(&env->pgt, 0x2ff000, 1),
			made);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_table_pa(&env->pgt, 0x200000, 2),
			upper);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_table_pa(&env->pgt, 0x400000, 1),
			0);

	/* A huge leaf split by a 4 KiB map: the split's table. */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 0x400000, 0x400000, SZ_2M_ULL,
				     1, S2MMU_PROT_R), 0);
	memset(env->op.linked, 0, sizeof(env->op.linked));
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 0x401000, 0x401000, SZ_4K_ULL,
				     0, S2MMU_PROT_R | S2MMU_PROT_X), 0);
	split = env->op.linked[1];
	KUNIT_EXPECT_NE(test, split, 0);
	KUNIT_EXPECT_NE(test, split, made);
	KUNIT_EXPECT_EQ(test, env->op.linked[2], 0);

	/* Not the table the entry holds: left alone. */
	env->op.flush = false;
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_unlink_table(&env->pgt, 0x200000,
							 1, split, &env->op),
			-ENOENT);
	KUNIT_EXPECT_FALSE(test, env->op.flush);
	pt_expect_map(test, env, 0x201000, 0x201000, 0, PROT_RW);
	/* A table of tables is not torn down in one step. */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_unlink_table(&env->pgt, 0x200000,
							 2, upper, &env->op),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_unlink_table(&env->pgt, 0x200000,
							 0, made, &env->op),
			-EINVAL);

	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_unlink_table(&env->pgt, 0x200000,
							 1, made, &env->op), 0);
	KUNIT_EXPECT_TRUE(test, env->op.flush);
	pt_expect_unmapped(test, env, 0x201000);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_table_pa(&env->pgt, 0x200000, 1),
			0);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_unlink_table(&env->pgt, 0x200000,
							 1, made, &env->op),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_unlink_table(&env->pgt, 0x4ff000,
							 1, split, &env->op), 0);
	pt_expect_unmapped(test, env, 0x401000);
	pt_expect_no_leak(test, env);
}

struct pt_visits {
	unsigned int pre, post, leaf, order_errors;
	u64 last_leaf;
};

static int pt_visit_cb(struct s2mmu_walk_ctx *ctx)
{
	struct pt_visits *v = ctx->arg;

	switch (ctx->visit) {
	case S2MMU_WALK_TABLE_PRE:
		v->pre++;
		break;
	case S2MMU_WALK_TABLE_POST:
		v->post++;
		break;
	default:
		if (ctx->addr < v->last_leaf)
			v->order_errors++;
		v->last_leaf = ctx->addr;
		v->leaf++;
	}
	return 0;
}

static void pt_walk_iter_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	struct pt_visits v = { };
	struct s2mmu_walker walker = {
		.cb = pt_visit_cb, .arg = &v,
		.flags = S2MMU_WALK_LEAF | S2MMU_WALK_TABLE_PRE |
			 S2MMU_WALK_TABLE_POST,
	};
	unsigned int root = env->pgt.levels - 1, n = 0, leaves = 0;
	struct s2mmu_pt_iter it;
	u64 last = 0;

	/* 2 pages in two level-0 tables, and a huge leaf at 4M */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, SZ_2M_ULL - SZ_4K_ULL, 0,
				     2 * SZ_4K_ULL, 0, PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 2 * SZ_2M_ULL, 0, SZ_2M_ULL,
				     1, PROT_RW), 0);

	/* Walk [2M - 4K, 6M + 1): tables on the path, then their entries. */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_walk(&env->pgt, SZ_2M_ULL - SZ_4K_ULL,
						 2 * SZ_2M_ULL + SZ_4K_ULL + 1,
						 &walker), 0);
	/* the level 1 table's path (root - 1 tables) plus 2 level-0 tables */
	KUNIT_EXPECT_EQ(test, v.pre, root - 1 + 2);
	KUNIT_EXPECT_EQ(test, v.post, v.pre);
	/* 1 + 512 level-0 entries, the level-1 entries at 4M and 6M */
	KUNIT_EXPECT_EQ(test, v.leaf, 1 + 512 + 2);
	KUNIT_EXPECT_EQ(test, v.order_errors, 0);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_walk(&env->pgt, 0, 0, &walker),
			-EINVAL);

	/* The iterator: the same entries in pre-order, addresses rising. */
	rcu_read_lock();
	for (s2mmu_pt_iter_start(&it, &env->pgt, SZ_2M_ULL - SZ_4K_ULL,
				 5 * SZ_2M_ULL, 0);
	     it.valid; s2mmu_pt_iter_next(&it)) {
		if (it.level > root)
			v.order_errors++;
		if (env->pgt.ops->is_leaf(it.old, it.level)) {
			if (leaves && it.addr <= last)
				v.order_errors++;
			leaves++;
			last = it.addr;
		}
		n++;
	}
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, v.order_errors, 0);
	KUNIT_EXPECT_EQ(test, leaves, 3);
	/* tables on the path + 1 + 512 + 1 + 1 level 1 entries */
	KUNIT_EXPECT_EQ(test, n, (root - 1) + 2 + 1 + 512 + 2 + 1);
}

static struct kunit_case pt_engine_cases[] = {
	PT_FMT_CASE(pt_map_lookup_test),
	PT_FMT_CASE(pt_map_straddle_test),
	PT_FMT_CASE(pt_map_run_test),
	PT_FMT_CASE(pt_split_test),
	PT_FMT_CASE(pt_zap_test),
	PT_FMT_CASE(pt_zap_step_test),
	PT_FMT_CASE(pt_zap_yield_test),
	PT_FMT_CASE(pt_wrprotect_age_test),
	PT_FMT_CASE(pt_frozen_test),
	PT_FMT_CASE(pt_unlink_table_test),
	PT_FMT_CASE(pt_walk_iter_test),
	PT_FMT_CASE(pt_rcu_test),
	PT_FMT_CASE(pt_concurrent_map_test),
	PT_FMT_CASE(pt_concurrent_mixed_test),
	PT_FMT_CASE(pt_lost_race_test),
	PT_FMT_CASE(pt_map_split_after_test),
	PT_FMT_CASE(pt_nested_collapse_test),
	PT_FMT_CASE(pt_leaf_count_test),
	PT_FMT_CASE(pt_change_hook_test),
	KUNIT_CASE_PARAM_ATTR(pt_random_model_test, pt_fmt_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	{}
};

static struct kunit_suite pt_engine_suite = {
	.name = "s2mmu_pgtable",
	.test_cases = pt_engine_cases,
};

kunit_test_suites(&pt_engine_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for the s2mmu stage-2 table engine");
