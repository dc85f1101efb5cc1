// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the stage-2 table engine (mmu/pgtable.c, mmu/walk.c)
 * and both entry formats (arch-x86/tdp.c, arch-arm64/stage2.c).
 *
 * Every engine case runs once per format and geometry (parameterised),
 * so both formats go through the same cases.  Leaf physical addresses
 * are never dereferenced by the engine, so tests map made-up ones.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/prandom.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "s2mmu_pgtable.h"
#include "../../mmu/pgtable_internal.h"

#define SZ_4K_ULL	BIT_ULL(12)
#define SZ_2M_ULL	BIT_ULL(21)
#define SZ_1G_ULL	BIT_ULL(30)
#define SZ_512G_ULL	BIT_ULL(39)

#define PROT_RW		(S2MMU_PROT_R | S2MMU_PROT_W)
#define PROT_RWXA	(S2MMU_PROT_RWX | S2MMU_PROT_ACCESSED)

struct pt_fmt {
	const char *name;
	const struct s2mmu_pgtable_ops *ops;
	unsigned int gpa_bits;
};

static const struct pt_fmt pt_fmts[] = {
	{ "x86_tdp 48-bit",	&s2mmu_x86_tdp_ops,	48 },
	{ "x86_tdp 57-bit",	&s2mmu_x86_tdp_ops,	57 },
	{ "arm64_s2 40-bit",	&s2mmu_arm64_s2_ops,	40 },
	{ "arm64_s2 48-bit",	&s2mmu_arm64_s2_ops,	48 },
	{ "arm64_s2 36-bit",	&s2mmu_arm64_s2_ops,	36 },
};

static void pt_fmt_desc(const struct pt_fmt *f, char *desc)
{
	strscpy(desc, f->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pt_fmt, pt_fmts, pt_fmt_desc);

/* One tree, its table page cache and how many pages went into the cache. */
struct pt_env {
	struct s2mmu_pgtable pgt;
	struct s2mmu_table_cache cache;
	struct s2mmu_pt_op op;
	unsigned long pages_in;
	const struct pt_fmt *fmt;
};

static void pt_env_release(void *data)
{
	struct pt_env *env = data;

	if (env->pgt.root)
		s2mmu_pgtable_destroy(&env->pgt);
	s2mmu_table_cache_free(&env->cache);
}

static struct pt_env *pt_env_new(struct kunit *test)
{
	const struct pt_fmt *fmt = test->param_value;
	struct pt_env *env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, env);
	env->fmt = fmt;
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_init(&env->pgt, fmt->ops,
						 fmt->gpa_bits), 0);
	s2mmu_table_cache_init(&env->cache);
	env->op.cache = &env->cache;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, pt_env_release,
							env), 0);
	return env;
}

static void pt_topup(struct kunit *test, struct pt_env *env)
{
	int before = env->cache.nobjs;

	KUNIT_ASSERT_EQ(test,
			s2mmu_table_cache_topup(&env->cache,
						S2MMU_TABLE_CACHE_CAPACITY), 0);
	env->pages_in += env->cache.nobjs - before;
}

/* Map, topping the cache up as often as the engine runs dry. */
static int pt_map(struct kunit *test, struct pt_env *env, u64 gpa, u64 pa,
		  u64 size, unsigned int level, u32 prot)
{
	int ret;

	do {
		pt_topup(test, env);
		ret = s2mmu_pgtable_map(&env->pgt, gpa, pa, size, level, prot,
					&env->op);
	} while (ret == -ENOMEM);
	return ret;
}

static int pt_split(struct kunit *test, struct pt_env *env, u64 start,
		    u64 end, unsigned int level)
{
	int ret;

	do {
		pt_topup(test, env);
		ret = s2mmu_pgtable_split(&env->pgt, start, end, level,
					  &env->op);
	} while (ret == -ENOMEM);
	return ret;
}

static unsigned long pt_nr(struct pt_env *env, unsigned int level)
{
	return atomic_long_read(&env->pgt.tables[level]);
}

/* Highest level a leaf can use in this geometry. */
static unsigned int pt_max_leaf(struct pt_env *env)
{
	return min(S2MMU_PT_MAX_LEAF_LEVEL, env->pgt.levels - 1);
}

/* Expect @gpa to translate to @pa at @level with @prot. */
static void pt_expect_map(struct kunit *test, struct pt_env *env, u64 gpa,
			  u64 pa, unsigned int level, u32 prot)
{
	struct s2mmu_pt_info info;
	int ret = s2mmu_pgtable_lookup(&env->pgt, gpa, 0, &info);

	KUNIT_EXPECT_EQ_MSG(test, ret, 0, "gpa %#llx", gpa);
	if (ret)
		return;
	KUNIT_EXPECT_EQ_MSG(test, info.level, level, "gpa %#llx", gpa);
	KUNIT_EXPECT_EQ_MSG(test, info.pa, pa, "gpa %#llx", gpa);
	KUNIT_EXPECT_EQ_MSG(test, info.prot, prot, "gpa %#llx", gpa);
}

static void pt_expect_unmapped(struct kunit *test, struct pt_env *env,
			       u64 gpa)
{
	struct s2mmu_pt_info info;

	KUNIT_EXPECT_EQ_MSG(test, s2mmu_pgtable_lookup(&env->pgt, gpa, 0, &info),
			    -ENOENT, "gpa %#llx", gpa);
}

/*
 * Tree consistency: walk everything, count tables per level and leaves,
 * check no frozen entry is left, and compare with the accounting.
 */
struct pt_census {
	unsigned long tables[S2MMU_PT_MAX_LEVELS];
	unsigned long leaves[S2MMU_PT_MAX_LEVELS];
	unsigned long frozen;
	unsigned long bad;
};

static int pt_census_cb(struct s2mmu_walk_ctx *ctx)
{
	const struct s2mmu_pgtable_ops *ops = ctx->pgt->ops;
	struct pt_census *c = ctx->arg;

	if (ctx->visit == S2MMU_WALK_TABLE_PRE) {
		c->tables[ctx->level - 1]++;
	} else if (ctx->old == ops->frozen_pte) {
		c->frozen++;
	} else if (ops->is_leaf(ctx->old, ctx->level)) {
		c->leaves[ctx->level]++;
		if (ctx->level > S2MMU_PT_MAX_LEAF_LEVEL)
			c->bad++;
	} else if (ctx->old) {
		c->bad++;
	}
	return 0;
}

static void pt_census(struct kunit *test, struct pt_env *env,
		      struct pt_census *c)
{
	struct s2mmu_walker walker = {
		.cb = pt_census_cb,
		.arg = c,
		.flags = S2MMU_WALK_LEAF | S2MMU_WALK_TABLE_PRE,
	};
	unsigned int l;

	memset(c, 0, sizeof(*c));
	c->tables[env->pgt.levels - 1] = 1;	/* the root */
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_walk(&env->pgt, 0,
						 1ULL << env->pgt.gpa_bits,
						 &walker), 0);
	KUNIT_EXPECT_EQ(test, c->frozen, 0);
	KUNIT_EXPECT_EQ(test, c->bad, 0);
	for (l = 0; l < S2MMU_PT_MAX_LEVELS; l++) {
		KUNIT_EXPECT_EQ_MSG(test, c->tables[l], pt_nr(env, l),
				    "tables at level %u", l);
		KUNIT_EXPECT_EQ_MSG(test, c->leaves[l],
				    s2mmu_pgtable_nr_leaves(&env->pgt, l),
				    "leaves at level %u", l);
	}
}

/*
 * No table page leaked: every page taken from the cache is in the tree or
 * was freed after a grace period.
 */
static void pt_expect_no_leak(struct kunit *test, struct pt_env *env)
{
	unsigned long used = env->pages_in - env->cache.nobjs;

	rcu_barrier();
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->pgt.rcu_pending), 0);
	KUNIT_EXPECT_EQ(test, used,
			s2mmu_pgtable_nr_tables(&env->pgt) - 1 +
			atomic_long_read(&env->pgt.tables_freed));
}

/* ---- formats ---------------------------------------------------------- */

static bool pt_prot_valid(u32 prot)
{
	return !(prot & S2MMU_PROT_W) || (prot & S2MMU_PROT_R);
}

static void pt_format_roundtrip_test(struct kunit *test)
{
	const struct pt_fmt *fmt = test->param_value;
	const struct s2mmu_pgtable_ops *ops = fmt->ops;
	u64 pa_top = 1ULL << ops->pa_bits;
	struct rnd_state rnd;
	unsigned int level, i;
	u32 prot, set, clear;

	prandom_seed_state(&rnd, 1);
	KUNIT_EXPECT_FALSE(test, ops->is_present(0));
	KUNIT_EXPECT_NE(test, ops->frozen_pte, 0);
	KUNIT_EXPECT_FALSE(test, ops->is_present(ops->frozen_pte));
	for (level = 0; level < S2MMU_PT_MAX_LEVELS; level++) {
		KUNIT_EXPECT_FALSE(test, ops->is_leaf(0, level));
		KUNIT_EXPECT_FALSE(test, ops->is_table(0, level));
		KUNIT_EXPECT_FALSE(test, ops->is_leaf(ops->frozen_pte, level));
		KUNIT_EXPECT_FALSE(test, ops->is_table(ops->frozen_pte, level));
	}

	/* Tables: every address bit, at every level that can hold one. */
	for (i = 12; i < ops->pa_bits; i++) {
		u64 pa = 1ULL << i;

		for (level = 1; level < S2MMU_PT_MAX_LEVELS; level++) {
			u64 pte = ops->make_table(pa);

			KUNIT_EXPECT_TRUE(test, ops->is_present(pte));
			KUNIT_EXPECT_TRUE(test, ops->is_table(pte, level));
			KUNIT_EXPECT_FALSE(test, ops->is_leaf(pte, level));
			KUNIT_EXPECT_EQ(test, ops->table_pa(pte), pa);
		}
	}
	KUNIT_EXPECT_EQ(test, ops->table_pa(ops->make_table(pa_top - SZ_4K_ULL)),
			pa_top - SZ_4K_ULL);

	for (level = 0; level <= S2MMU_PT_MAX_LEAF_LEVEL; level++) {
		u64 lsize = s2mmu_pt_level_size(level);

		for (prot = 0; prot <= S2MMU_PROT_ALL; prot++) {
			u64 pa, pte;

			if (!pt_prot_valid(prot))
				continue;
			pa = ((u64)prandom_u32_state(&rnd) << 32 |
			      prandom_u32_state(&rnd)) & (pa_top - 1) &
			     ~(lsize - 1);
			pte = ops->make_leaf(pa, level, prot);
			KUNIT_EXPECT_TRUE(test, ops->is_present(pte));
			KUNIT_EXPECT_TRUE(test, ops->is_leaf(pte, level));
			KUNIT_EXPECT_FALSE(test, ops->is_table(pte, level));
			KUNIT_EXPECT_NE(test, pte, ops->frozen_pte);
			KUNIT_EXPECT_EQ(test, ops->leaf_pa(pte, level), pa);
			KUNIT_EXPECT_EQ(test, ops->leaf_prot(pte, level), prot);

			/* the highest frame */
			pte = ops->make_leaf(pa_top - lsize, level, prot);
			KUNIT_EXPECT_EQ(test, ops->leaf_pa(pte, level),
					pa_top - lsize);

			/* updates change only the bits asked for */
			pte = ops->make_leaf(pa, level, prot);
			for (set = 0; set <= S2MMU_PROT_ALL; set++) {
				clear = prandom_u32_state(&rnd) & S2MMU_PROT_ALL;
				clear &= ~S2MMU_PROT_DEVICE;
				if (set & S2MMU_PROT_DEVICE)
					continue;
				KUNIT_EXPECT_EQ(test,
						ops->leaf_update(pte, level, set, clear),
						ops->make_leaf(pa, level,
							       (prot & ~clear) | set));
			}

			if (!level)
				continue;
			for (i = 0; i < S2MMU_PT_ENTRIES; i += 73) {
				u64 child = ops->split_leaf(pte, level, i);

				KUNIT_EXPECT_EQ(test, child,
						ops->make_leaf(pa + i * (lsize >> 9),
							       level - 1, prot));
			}
			KUNIT_EXPECT_EQ(test, ops->split_leaf(pte, level, 511),
					ops->make_leaf(pa + 511 * (lsize >> 9),
						       level - 1, prot));
		}
	}
}

/* Known encodings: the bit positions are the architecture's. */
static void pt_x86_tdp_golden_test(struct kunit *test)
{
	const struct s2mmu_pgtable_ops *ops = &s2mmu_x86_tdp_ops;
	u32 all = S2MMU_PROT_RWX | S2MMU_PROT_ACCESSED | S2MMU_PROT_DIRTY;

	/* R W X, WB (6 << 3), ignore PAT, A, D, software present */
	KUNIT_EXPECT_EQ(test, ops->make_leaf(0x1000, 0, all), 0x1b77ULL);
	/* + large page */
	KUNIT_EXPECT_EQ(test, ops->make_leaf(0x200000, 1, all), 0x200bf7ULL);
	KUNIT_EXPECT_EQ(test, ops->make_leaf(0x40000000, 2, S2MMU_PROT_R |
					     S2MMU_PROT_DEVICE),
			0x400008c1ULL);
	KUNIT_EXPECT_EQ(test, ops->make_table(0x5000), 0x5807ULL);
	KUNIT_EXPECT_EQ(test, ops->make_leaf(0xffffffffff000ULL, 0, 0),
			0xffffffffff870ULL);
	KUNIT_EXPECT_EQ(test, ops->levels(48), 4);
	KUNIT_EXPECT_EQ(test, ops->levels(57), 5);
	KUNIT_EXPECT_EQ(test, ops->levels(40), -EINVAL);
	KUNIT_EXPECT_EQ(test, ops->levels(52), -EINVAL);
}

static void pt_arm64_s2_golden_test(struct kunit *test)
{
	const struct s2mmu_pgtable_ops *ops = &s2mmu_arm64_s2_ops;
	unsigned int bits;

	/* page: valid, page, MemAttr 0xf, S2AP RW, SH IS, AF, XN */
	KUNIT_EXPECT_EQ(test, ops->make_leaf(0x1000, 0, PROT_RW |
					     S2MMU_PROT_ACCESSED),
			0x00400000000017ffULL);
	/* 2M block: valid, Device-nGnRE, S2AP RW, SH IS, executable */
	KUNIT_EXPECT_EQ(test, ops->make_leaf(0x200000, 1, S2MMU_PROT_RWX |
					     S2MMU_PROT_DEVICE),
			0x2003c5ULL);
	/* 1G block, software dirty */
	KUNIT_EXPECT_EQ(test, ops->make_leaf(0x40000000, 2, S2MMU_PROT_RWX |
					     S2MMU_PROT_ACCESSED |
					     S2MMU_PROT_DIRTY),
			0x00800000400007fdULL);
	KUNIT_EXPECT_EQ(test, ops->make_table(0x5000), 0x5003ULL);
	/* a block descriptor at architectural level 3 is reserved */
	KUNIT_EXPECT_FALSE(test, ops->is_leaf(0x2003c5ULL, 0));
	/* no 512G blocks */
	KUNIT_EXPECT_FALSE(test, ops->is_leaf(0x2003c5ULL, 3));

	for (bits = 0; bits < 64; bits++) {
		int levels = ops->levels(bits);

		if (bits < 32 || bits > 48) {
			KUNIT_EXPECT_EQ(test, levels, -EINVAL);
			KUNIT_EXPECT_EQ(test, s2mmu_arm64_s2_start_level(bits),
					-EINVAL);
			continue;
		}
		KUNIT_EXPECT_EQ(test, levels, DIV_ROUND_UP(bits - 12, 9));
		KUNIT_EXPECT_EQ(test, s2mmu_arm64_s2_start_level(bits),
				bits >= 40 ? 0 : 1);
	}
}

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

/* ---- RCU -------------------------------------------------------------- */

struct pt_reader {
	u64 *table;
	u64 expect;
	u64 frozen;
	struct completion holding;
	bool stop;
	unsigned long bad;
	unsigned long reads;
	struct completion done;
};

static int pt_reader_fn(void *data)
{
	struct pt_reader *r = data;

	rcu_read_lock();
	complete(&r->holding);
	while (!READ_ONCE(r->stop)) {
		u64 pte = READ_ONCE(r->table[5]);

		if (pte != r->expect && pte != r->frozen)
			r->bad++;
		r->reads++;
		/*
		 * A preemption point: UML only preempts the kernel there, and
		 * a preemptible RCU reader may be preempted.
		 */
		preempt_disable();
		preempt_enable();
		cpu_relax();
	}
	rcu_read_unlock();
	complete(&r->done);
	return 0;
}

static int pt_leaf_ptep_cb(struct s2mmu_walk_ctx *ctx)
{
	u64 **ptep = ctx->arg;

	if (ctx->level == 0) {
		*ptep = ctx->ptep;
		return 1;
	}
	return 0;
}

static void pt_rcu_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	struct pt_reader *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	u64 *ptep = NULL;
	struct s2mmu_walker walker = {
		.cb = pt_leaf_ptep_cb, .arg = &ptep, .flags = S2MMU_WALK_LEAF,
	};
	struct task_struct *task;
	long freed;

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, 0, 0x7000000, SZ_2M_ULL, 0,
				     PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_walk(&env->pgt, 5 * SZ_4K_ULL,
						 SZ_4K_ULL, &walker), 1);
	KUNIT_ASSERT_NOT_NULL(test, ptep);
	r->table = ptep - 5;
	r->expect = READ_ONCE(*ptep);
	r->frozen = env->pgt.ops->frozen_pte;
	init_completion(&r->holding);
	init_completion(&r->done);

	task = kthread_run(pt_reader_fn, r, "s2mmu-rcu-reader");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	wait_for_completion(&r->holding);

	/* Unlink every table below the root while the reader holds RCU. */
	freed = atomic_long_read(&env->pgt.tables_freed);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_zap(&env->pgt, 0,
						1ULL << env->pgt.gpa_bits,
						S2MMU_ZAP_TABLES, &env->op), 0);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 0), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->pgt.rcu_pending),
			env->pgt.levels - 1);
	msleep(50);
	/* still there, still not freed: the reader has not finished */
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->pgt.tables_freed), freed);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->pgt.rcu_pending),
			env->pgt.levels - 1);
	KUNIT_EXPECT_EQ(test, READ_ONCE(r->table[5]), r->frozen);

	WRITE_ONCE(r->stop, true);
	wait_for_completion(&r->done);
	KUNIT_EXPECT_EQ(test, r->bad, 0);
	KUNIT_EXPECT_GT(test, r->reads, 0);
	synchronize_rcu();
	rcu_barrier();
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->pgt.rcu_pending), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->pgt.tables_freed),
			freed + env->pgt.levels - 1);
	pt_expect_no_leak(test, env);
}

/* ---- concurrency ------------------------------------------------------ */

#define PT_RACERS	3
#define PT_RACE_OPS	3000
#define PT_RACE_PAGES	2048	/* 8M window across a 1G boundary */
#define PT_RACE_BASE	(SZ_1G_ULL - 2 * SZ_2M_ULL)

struct pt_racer {
	struct s2mmu_pgtable *pgt;
	struct s2mmu_table_cache cache;
	bool mixed;
	unsigned long pages_in;
	unsigned long retries;
	unsigned long errors;
	u32 seed;
	struct completion *go;
	struct completion done;
};

static u64 pt_race_pa(u64 gpa)
{
	return gpa + 0x10000000000ULL;
}

/* Run @fn until it stops failing with -EAGAIN (or -ENOMEM: top up). */
static int pt_race_retry(struct pt_racer *r,
			 int (*fn)(struct pt_racer *r, u64 gpa, u64 size,
				   struct s2mmu_pt_op *op),
			 u64 gpa, u64 size)
{
	struct s2mmu_pt_op op = { .cache = &r->cache, .shared = true };
	int ret;

	do {
		int before = r->cache.nobjs;

		if (s2mmu_table_cache_topup(&r->cache, 8))
			return -ENOMEM;
		r->pages_in += r->cache.nobjs - before;
		ret = fn(r, gpa, size, &op);
		if (ret == -EAGAIN)
			r->retries++;
	} while (ret == -EAGAIN || ret == -ENOMEM);
	return ret;
}

static int pt_race_map_4k(struct pt_racer *r, u64 gpa, u64 size,
			  struct s2mmu_pt_op *op)
{
	return s2mmu_pgtable_map(r->pgt, gpa, pt_race_pa(gpa), size, 0,
				 PROT_RW, op);
}

static int pt_race_map_2m(struct pt_racer *r, u64 gpa, u64 size,
			  struct s2mmu_pt_op *op)
{
	int ret = s2mmu_pgtable_map(r->pgt, gpa, pt_race_pa(gpa), size, 1,
				    PROT_RW, op);

	if (ret != -EEXIST)
		return ret;
	ret = s2mmu_pgtable_collapse(r->pgt, gpa, 1, op);
	return ret ? ret : -EAGAIN;
}

static int pt_race_zap(struct pt_racer *r, u64 gpa, u64 size,
		       struct s2mmu_pt_op *op)
{
	return s2mmu_pgtable_zap(r->pgt, gpa, gpa + size,
				 (gpa >> 12) & 1 ? S2MMU_ZAP_TABLES :
				 S2MMU_ZAP_LEAVES, op);
}

static int pt_racer_fn(void *data)
{
	struct pt_racer *r = data;
	struct s2mmu_pt_op op = { .cache = &r->cache, .shared = true };
	struct rnd_state rnd;
	unsigned int i;

	prandom_seed_state(&rnd, r->seed);
	wait_for_completion(r->go);
	for (i = 0; i < PT_RACE_OPS; i++) {
		u64 page = prandom_u32_state(&rnd) % PT_RACE_PAGES;
		u64 n = 1 + prandom_u32_state(&rnd) % 8;
		u32 kind = r->mixed ? prandom_u32_state(&rnd) % 10 : 0;
		u64 gpa = PT_RACE_BASE + page * SZ_4K_ULL;
		struct s2mmu_pt_info info;
		int ret;

		n = min(n, PT_RACE_PAGES - page);
		if (kind < 7) {
			ret = pt_race_retry(r, pt_race_map_4k, gpa,
					    n * SZ_4K_ULL);
		} else if (kind == 7) {
			ret = pt_race_retry(r, pt_race_map_2m,
					    round_down(gpa, SZ_2M_ULL),
					    SZ_2M_ULL);
		} else if (kind == 8) {
			ret = pt_race_retry(r, pt_race_zap, gpa,
					    n * n * SZ_4K_ULL);
		} else {
			ret = 0;
		}
		if (ret)
			r->errors++;

		/* lockless readers and agers run alongside */
		if (i % 4 == 0 || kind == 9) {
			s2mmu_pgtable_lookup(r->pgt, gpa, S2MMU_LOOKUP_MKDIRTY,
					     &info);
			s2mmu_pgtable_age(r->pgt, PT_RACE_BASE, gpa + SZ_4K_ULL,
					  true, &op);
		}
	}
	complete(&r->done);
	return 0;
}

static void pt_race(struct kunit *test, bool mixed)
{
	struct pt_env *env = pt_env_new(test);
	struct pt_racer *r = kunit_kcalloc(test, PT_RACERS, sizeof(*r),
					   GFP_KERNEL);
	unsigned long used = 0, retries = 0, i;
	struct completion go;
	struct pt_census c;

	KUNIT_ASSERT_NOT_NULL(test, r);
	init_completion(&go);
	for (i = 0; i < PT_RACERS; i++) {
		struct task_struct *task;

		r[i].pgt = &env->pgt;
		/* the same sequence for every installer: they collide */
		r[i].seed = mixed ? 100 + i : 100;
		r[i].mixed = mixed;
		r[i].go = &go;
		s2mmu_table_cache_init(&r[i].cache);
		init_completion(&r[i].done);
		task = kthread_run(pt_racer_fn, &r[i], "s2mmu-racer/%lu", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	}
	complete_all(&go);
	for (i = 0; i < PT_RACERS; i++) {
		wait_for_completion(&r[i].done);
		KUNIT_EXPECT_EQ(test, r[i].errors, 0);
		used += r[i].pages_in - r[i].cache.nobjs;
		retries += r[i].retries;
		s2mmu_table_cache_free(&r[i].cache);
	}
	kunit_info(test, "%lu -EAGAIN retries", retries);

	/* Consistent: every mapped page translates as all racers wanted. */
	for (i = 0; i < PT_RACE_PAGES; i++) {
		u64 gpa = PT_RACE_BASE + i * SZ_4K_ULL;
		struct s2mmu_pt_info info;
		int ret = s2mmu_pgtable_lookup(&env->pgt, gpa, 0, &info);

		if (ret == -ENOENT)
			continue;
		KUNIT_ASSERT_EQ(test, ret, 0);
		KUNIT_EXPECT_EQ(test, info.pa, pt_race_pa(gpa));
		KUNIT_EXPECT_LE(test, info.level, 1);
		KUNIT_EXPECT_EQ(test, info.prot & S2MMU_PROT_RWX, PROT_RW);
	}
	pt_census(test, env, &c);
	KUNIT_EXPECT_EQ(test, c.leaves[2], 0);
	/* No leak: pages taken from the caches are in the tree or freed. */
	rcu_barrier();
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->pgt.rcu_pending), 0);
	KUNIT_EXPECT_EQ(test, used, s2mmu_pgtable_nr_tables(&env->pgt) - 1 +
			atomic_long_read(&env->pgt.tables_freed));
	if (mixed)
		return;
	KUNIT_EXPECT_GT(test, c.leaves[0], PT_RACE_PAGES / 2);
	/* 8M over a 1G boundary: 4 + 4 leaf tables, 2 level-1 tables */
	KUNIT_EXPECT_EQ(test, pt_nr(env, 0), 4);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 1), 2);
}

/* Installers racing with cmpxchg on overlapping ranges. */
static void pt_concurrent_map_test(struct kunit *test)
{
	pt_race(test, false);
}

/* Installers, 2M mappers collapsing tables, zappers, agers and walkers. */
static void pt_concurrent_mixed_test(struct kunit *test)
{
	pt_race(test, true);
}

/*
 * Lost races, deterministically: the engine calls the race hook between
 * reading an entry and changing it; the hook plays another thread that
 * gets there first, once, at the n-th such window of the operation.
 */
enum pt_rival {
	RIVAL_SAME_MAP,		/* maps the same translation */
	RIVAL_OTHER_MAP,	/* maps another translation */
	RIVAL_ZAP_ALL,		/* unlinks every table */
	RIVAL_WRITE_WALK,	/* sets Accessed and Dirty */
	RIVAL_MAP_NEIGHBOUR,	/* maps the next page */
	RIVAL_NR
};

enum pt_victim {
	VICTIM_MAP,		/* maps a 4K page into an empty tree */
	VICTIM_ZAP,		/* zaps it (shared) */
	VICTIM_WRPROTECT,	/* write-protects it */
	VICTIM_AGE,		/* clears its Accessed bit */
	VICTIM_COLLAPSE,	/* removes its level 0 table (shared) */
	VICTIM_WRITE_WALK,	/* sets its Accessed and Dirty bits */
	VICTIM_NR
};

struct pt_rival_ctx {
	struct pt_env *env;
	enum pt_rival rival;
	unsigned int fire_at;
	unsigned int windows;
	bool fired;
	int ret;
};

static struct pt_rival_ctx *pt_rival;

#define RACE_GPA	(SZ_1G_ULL + 5 * SZ_4K_ULL)
#define RACE_PA		0x123456000ULL

static void pt_rival_hook(struct s2mmu_pgtable *pgt)
{
	struct pt_rival_ctx *rc = pt_rival;
	struct s2mmu_pt_op op = { .cache = &rc->env->cache, .shared = true };
	struct s2mmu_pt_info info;

	if (++rc->windows != rc->fire_at)
		return;
	/* Once; the rival itself runs without the hook. */
	WRITE_ONCE(s2mmu_pt_test_race_hook, NULL);
	rc->fired = true;
	switch (rc->rival) {
	case RIVAL_SAME_MAP:
		rc->ret = s2mmu_pgtable_map(pgt, RACE_GPA, RACE_PA, SZ_4K_ULL,
					    0, PROT_RW, &op);
		break;
	case RIVAL_OTHER_MAP:
		rc->ret = s2mmu_pgtable_map(pgt, RACE_GPA, RACE_PA + SZ_2M_ULL,
					    SZ_4K_ULL, 0, S2MMU_PROT_R, &op);
		break;
	case RIVAL_ZAP_ALL:
		rc->ret = s2mmu_pgtable_zap(pgt, 0, 1ULL << pgt->gpa_bits,
					    S2MMU_ZAP_TABLES, &op);
		break;
	case RIVAL_WRITE_WALK:
		rc->ret = s2mmu_pgtable_lookup(pgt, RACE_GPA,
					       S2MMU_LOOKUP_MKDIRTY, &info);
		if (rc->ret == -ENOENT)
			rc->ret = 0;
		break;
	case RIVAL_MAP_NEIGHBOUR:
		rc->ret = s2mmu_pgtable_map(pgt, RACE_GPA + SZ_4K_ULL,
					    RACE_PA + SZ_4K_ULL, SZ_4K_ULL, 0,
					    PROT_RW, &op);
		break;
	default:
		break;
	}
}

static int pt_victim_run(struct pt_env *env, enum pt_victim victim)
{
	struct s2mmu_pt_op op = { .cache = &env->cache, .shared = true };
	struct s2mmu_pgtable *pgt = &env->pgt;
	struct s2mmu_pt_info info;
	int ret;

	switch (victim) {
	case VICTIM_MAP:
		return s2mmu_pgtable_map(pgt, RACE_GPA, RACE_PA, SZ_4K_ULL, 0,
					 PROT_RW, &op);
	case VICTIM_ZAP:
		return s2mmu_pgtable_zap(pgt, RACE_GPA, RACE_GPA + SZ_4K_ULL,
					 S2MMU_ZAP_LEAVES, &op);
	case VICTIM_WRPROTECT:
		return s2mmu_pgtable_wrprotect(pgt, RACE_GPA,
					       RACE_GPA + SZ_4K_ULL, &op);
	case VICTIM_AGE:
		s2mmu_pgtable_age(pgt, RACE_GPA, RACE_GPA + SZ_4K_ULL, true,
				  &op);
		return 0;
	case VICTIM_COLLAPSE:
		return s2mmu_pgtable_collapse(pgt, RACE_GPA, 1, &op);
	case VICTIM_WRITE_WALK:
		ret = s2mmu_pgtable_lookup(pgt, RACE_GPA, S2MMU_LOOKUP_MKDIRTY,
					   &info);
		return ret == -ENOENT ? 0 : ret;
	default:
		return -EINVAL;
	}
}

/* What RACE_GPA must translate to after the victim won its retries. */
static void pt_victim_check(struct kunit *test, struct pt_env *env,
			    enum pt_victim victim, enum pt_rival rival)
{
	struct s2mmu_pt_info info;
	int ret = s2mmu_pgtable_lookup(&env->pgt, RACE_GPA, 0, &info);
	bool gone = rival == RIVAL_ZAP_ALL;

	switch (victim) {
	case VICTIM_MAP:
		/* the victim's translation, whoever came first */
		KUNIT_ASSERT_EQ(test, ret, 0);
		KUNIT_EXPECT_EQ(test, info.pa, RACE_PA);
		KUNIT_EXPECT_EQ(test, info.prot & S2MMU_PROT_RWX, PROT_RW);
		break;
	case VICTIM_ZAP:
	case VICTIM_COLLAPSE:
		KUNIT_EXPECT_EQ(test, ret, -ENOENT);
		break;
	case VICTIM_WRPROTECT:
		if (gone) {
			KUNIT_EXPECT_EQ(test, ret, -ENOENT);
			break;
		}
		KUNIT_ASSERT_EQ(test, ret, 0);
		KUNIT_EXPECT_FALSE(test, info.prot & S2MMU_PROT_W);
		if (rival == RIVAL_WRITE_WALK)
			KUNIT_EXPECT_TRUE(test, info.prot & S2MMU_PROT_DIRTY);
		break;
	case VICTIM_AGE:
		if (gone) {
			KUNIT_EXPECT_EQ(test, ret, -ENOENT);
			break;
		}
		KUNIT_ASSERT_EQ(test, ret, 0);
		KUNIT_EXPECT_FALSE(test, info.prot & S2MMU_PROT_ACCESSED);
		break;
	case VICTIM_WRITE_WALK:
		if (gone) {
			KUNIT_EXPECT_EQ(test, ret, -ENOENT);
			break;
		}
		KUNIT_ASSERT_EQ(test, ret, 0);
		KUNIT_EXPECT_TRUE(test, info.prot & S2MMU_PROT_ACCESSED);
		break;
	default:
		break;
	}
}

static void pt_lost_race_test(struct kunit *test)
{
	struct pt_rival_ctx *rc = kunit_kzalloc(test, sizeof(*rc), GFP_KERNEL);
	unsigned int victim, rival, fired = 0, lost = 0;

	KUNIT_ASSERT_NOT_NULL(test, rc);
	pt_rival = rc;
	for (victim = 0; victim < VICTIM_NR; victim++) {
		for (rival = 0; rival < RIVAL_NR; rival++) {
			for (rc->fire_at = 1; ; rc->fire_at++) {
				struct pt_env *env = pt_env_new(test);
				struct pt_census c;
				int ret, tries = 0;

				pt_topup(test, env);
				if (victim != VICTIM_MAP)
					KUNIT_ASSERT_EQ(test,
							pt_map(test, env, RACE_GPA,
							       RACE_PA, SZ_4K_ULL,
							       0, PROT_RW), 0);
				rc->env = env;
				rc->rival = rival;
				rc->windows = 0;
				rc->fired = false;
				rc->ret = 0;
				WRITE_ONCE(s2mmu_pt_test_race_hook,
					   pt_rival_hook);
				do {
					ret = pt_victim_run(env, victim);
					if (ret == -EAGAIN)
						lost++;
				} while (ret == -EAGAIN && ++tries < 4);
				WRITE_ONCE(s2mmu_pt_test_race_hook, NULL);

				KUNIT_EXPECT_EQ_MSG(test, ret, 0,
						    "victim %u rival %u window %u",
						    victim, rival, rc->fire_at);
				KUNIT_EXPECT_EQ_MSG(test, rc->ret, 0,
						    "victim %u rival %u window %u",
						    victim, rival, rc->fire_at);
				/* a rival that never ran changed nothing */
				pt_victim_check(test, env, victim,
						rc->fired ? rival : RIVAL_NR);
				pt_census(test, env, &c);
				pt_expect_no_leak(test, env);
				if (!rc->fired)
					break;
				fired++;
			}
		}
	}
	pt_rival = NULL;
	kunit_info(test, "%u lost races in %u windows", lost, fired);
	KUNIT_EXPECT_GT(test, lost, 0);
	KUNIT_EXPECT_GT(test, fired, VICTIM_NR * RIVAL_NR);
}

/* ---- random operations against a reference model ------------------- */

/*
 * The model: gfn -> (pfn, level of the leaf, S2MMU_PROT_*), over a window
 * of 32 2M blocks across a 1G boundary.
 */
#define RM_BLOCKS	32
#define RM_PAGES	(RM_BLOCKS * 512)
#define RM_BASE		(SZ_1G_ULL - (RM_BLOCKS / 2) * SZ_2M_ULL)
#define RM_OPS		10000

struct rm_model {
	struct xarray xa;
};

static void *rm_val(u64 pfn, unsigned int level, u32 prot)
{
	return xa_mk_value((unsigned long)(pfn << 8 | level << 6 | prot));
}

static bool rm_get(struct rm_model *m, u64 page, u64 *pfn,
		   unsigned int *level, u32 *prot)
{
	void *v = xa_load(&m->xa, page);
	unsigned long x;

	if (!v)
		return false;
	x = xa_to_value(v);
	*pfn = x >> 8;
	*level = (x >> 6) & 3;
	*prot = x & 0x3f;
	return true;
}

static void rm_set(struct kunit *test, struct rm_model *m, u64 page, u64 pfn,
		   unsigned int level, u32 prot)
{
	void *old = xa_store(&m->xa, page, rm_val(pfn, level, prot),
			     GFP_KERNEL);

	KUNIT_ASSERT_FALSE(test, xa_is_err(old));
}

/* Pages [first, last] widened to whole huge leaves at both ends. */
static void rm_widen(struct rm_model *m, u64 *first, u64 *last)
{
	unsigned int level;
	u64 pfn;
	u32 prot;

	if (rm_get(m, *first, &pfn, &level, &prot) && level)
		*first = round_down(*first, 512);
	if (rm_get(m, *last, &pfn, &level, &prot) && level)
		*last = round_down(*last, 512) + 511;
}

static u32 rm_rand_prot(struct rnd_state *rnd)
{
	u32 prot = prandom_u32_state(rnd) & S2MMU_PROT_ALL;

	if (prot & S2MMU_PROT_W)
		prot |= S2MMU_PROT_R;
	return prot;
}

static void rm_check(struct kunit *test, struct pt_env *env,
		     struct rm_model *m)
{
	unsigned long mapped = 0, i;
	struct pt_census c;

	for (i = 0; i < RM_PAGES; i++) {
		u64 gpa = RM_BASE + i * SZ_4K_ULL, pfn;
		struct s2mmu_pt_info info;
		unsigned int level;
		u32 prot;
		int ret = s2mmu_pgtable_lookup(&env->pgt, gpa, 0, &info);

		if (!rm_get(m, i, &pfn, &level, &prot)) {
			KUNIT_ASSERT_EQ_MSG(test, ret, -ENOENT, "page %lu", i);
			continue;
		}
		mapped++;
		KUNIT_ASSERT_EQ_MSG(test, ret, 0, "page %lu", i);
		KUNIT_ASSERT_EQ_MSG(test, info.pa, pfn << 12, "page %lu", i);
		KUNIT_ASSERT_EQ_MSG(test, info.level, level, "page %lu", i);
		KUNIT_ASSERT_EQ_MSG(test, info.prot, prot, "page %lu", i);
	}
	/* and nothing outside the window */
	pt_census(test, env, &c);
	KUNIT_ASSERT_EQ(test, c.leaves[0] + 512 * c.leaves[1], mapped);
	KUNIT_ASSERT_EQ(test, c.leaves[2], 0);
}

struct rm_state {
	struct kunit *test;
	struct pt_env *env;
	struct rm_model *m;
	struct rnd_state rnd;
	u64 first, last;	/* pages of the window */
	u64 start, end;		/* the same as guest physical addresses */
};

static void rm_map_4k(struct rm_state *st)
{
	struct rm_model *m = st->m;
	u32 keep = S2MMU_PROT_RWX | S2MMU_PROT_DEVICE;
	u32 prot = rm_rand_prot(&st->rnd), p;
	u64 pfn = prandom_u32_state(&st->rnd) & 0xffffff, i, f;
	unsigned int level;

	KUNIT_ASSERT_EQ(st->test, pt_map(st->test, st->env, st->start,
					 pfn << 12, st->end - st->start, 0,
					 prot), 0);
	/* huge leaves on the way were split */
	for (i = round_down(st->first, 512);
	     i <= round_down(st->last, 512) + 511; i++) {
		if (rm_get(m, i, &f, &level, &p) && level)
			rm_set(st->test, m, i, f, 0, p);
	}
	for (i = st->first; i <= st->last; i++) {
		u64 want = pfn + (i - st->first);

		/* the same translation and rights is kept with its A/D */
		if (rm_get(m, i, &f, &level, &p) && f == want &&
		    (p & keep) == (prot & keep))
			continue;
		rm_set(st->test, m, i, want, 0, prot);
	}
}

static void rm_map_2m(struct rm_state *st)
{
	struct kunit *test = st->test;
	struct rm_model *m = st->m;
	u32 keep = S2MMU_PROT_RWX | S2MMU_PROT_DEVICE;
	u64 first = round_down(st->first, 512), i, f;
	u64 start = RM_BASE + first * SZ_4K_ULL;
	u32 prot = rm_rand_prot(&st->rnd), p;
	u64 pfn = (prandom_u32_state(&st->rnd) & 0xffff) << 9;
	unsigned int level;
	int ret;

	ret = pt_map(test, st->env, start, pfn << 12, SZ_2M_ULL, 1, prot);
	if (ret == -EEXIST) {
		/* a table is in the way: there was no huge leaf there */
		KUNIT_ASSERT_FALSE(test, rm_get(m, first, &f, &level, &p) &&
				   level);
		KUNIT_ASSERT_EQ(test,
				s2mmu_pgtable_collapse(&st->env->pgt, start, 1,
						       &st->env->op), 0);
		for (i = first; i < first + 512; i++)
			xa_erase(&m->xa, i);
		ret = pt_map(test, st->env, start, pfn << 12, SZ_2M_ULL, 1,
			     prot);
	}
	KUNIT_ASSERT_EQ(test, ret, 0);
	if (rm_get(m, first, &f, &level, &p) && level && f == pfn &&
	    (p & keep) == (prot & keep))
		return;
	for (i = 0; i < 512; i++)
		rm_set(test, m, first + i, pfn + i, 1, prot);
}

static void rm_zap(struct rm_state *st)
{
	u64 start = st->start + prandom_u32_state(&st->rnd) % 4096;
	u64 end = st->end - prandom_u32_state(&st->rnd) % 4096;
	unsigned int mode = prandom_u32_state(&st->rnd) & 1 ?
			    S2MMU_ZAP_TABLES : S2MMU_ZAP_LEAVES;
	u64 i;

	KUNIT_ASSERT_EQ(st->test, s2mmu_pgtable_zap(&st->env->pgt, start, end,
						    mode, &st->env->op), 0);
	rm_widen(st->m, &st->first, &st->last);
	for (i = st->first; i <= st->last; i++)
		xa_erase(&st->m->xa, i);
}

/* Apply @set/@clear to the model's leaves overlapping the range. */
static bool rm_update(struct rm_state *st, u32 set, u32 clear,
		      unsigned int new_level)
{
	bool young = false;
	unsigned int level;
	u64 i, pfn;
	u32 p;

	rm_widen(st->m, &st->first, &st->last);
	for (i = st->first; i <= st->last; i++) {
		if (!rm_get(st->m, i, &pfn, &level, &p))
			continue;
		young |= !!(p & S2MMU_PROT_ACCESSED);
		rm_set(st->test, st->m, i, pfn, min(level, new_level),
		       (p & ~clear) | set);
	}
	return young;
}

static void rm_wrprotect(struct rm_state *st)
{
	KUNIT_ASSERT_EQ(st->test,
			s2mmu_pgtable_wrprotect(&st->env->pgt, st->start,
						st->end, &st->env->op), 0);
	rm_update(st, 0, S2MMU_PROT_W, 1);
}

static void rm_age(struct rm_state *st)
{
	bool clear = prandom_u32_state(&st->rnd) & 1;
	bool young = rm_update(st, 0, clear ? S2MMU_PROT_ACCESSED : 0, 1);

	KUNIT_ASSERT_EQ(st->test,
			s2mmu_pgtable_age(&st->env->pgt, st->start, st->end,
					  clear, &st->env->op), young);
}

static void rm_split(struct rm_state *st)
{
	KUNIT_ASSERT_EQ(st->test, pt_split(st->test, st->env, st->start,
					   st->end, 0), 0);
	rm_update(st, 0, 0, 0);
}

/* A write walk: Accessed, and Dirty if writable. */
static void rm_write_walk(struct rm_state *st)
{
	struct s2mmu_pt_info info;
	unsigned int level;
	u64 pfn;
	u32 p;
	int ret;

	ret = s2mmu_pgtable_lookup(&st->env->pgt, st->start,
				   S2MMU_LOOKUP_MKDIRTY, &info);
	if (!rm_get(st->m, st->first, &pfn, &level, &p)) {
		KUNIT_ASSERT_EQ(st->test, ret, -ENOENT);
		return;
	}
	KUNIT_ASSERT_EQ(st->test, ret, 0);
	st->last = st->first;
	rm_update(st, S2MMU_PROT_ACCESSED |
		  ((p & S2MMU_PROT_W) ? S2MMU_PROT_DIRTY : 0), 0, 1);
}

static void (*const rm_ops[])(struct rm_state *st) = {
	rm_map_4k, rm_map_4k, rm_map_2m, rm_zap, rm_wrprotect, rm_age,
	rm_split, rm_write_walk,
};

static void pt_random_model_test(struct kunit *test)
{
	struct rm_state *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	struct rm_model *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	unsigned long counts[ARRAY_SIZE(rm_ops)] = { };
	unsigned int n, l;

	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_NOT_NULL(test, m);
	xa_init(&m->xa);
	st->test = test;
	st->env = pt_env_new(test);
	st->m = m;
	prandom_seed_state(&st->rnd, 0x5eed);

	for (n = 0; n < RM_OPS; n++) {
		u32 op = prandom_u32_state(&st->rnd) % ARRAY_SIZE(rm_ops);
		u64 len = 1 + prandom_u32_state(&st->rnd) % 64;

		if (prandom_u32_state(&st->rnd) % 4 == 0)
			len = 1 + prandom_u32_state(&st->rnd) % 1500;
		st->first = prandom_u32_state(&st->rnd) % RM_PAGES;
		st->last = min(st->first + len - 1, (u64)RM_PAGES - 1);
		st->start = RM_BASE + st->first * SZ_4K_ULL;
		st->end = RM_BASE + (st->last + 1) * SZ_4K_ULL;
		counts[op]++;
		rm_ops[op](st);
		if (n % 1000 == 999)
			rm_check(test, st->env, m);
	}
	rm_check(test, st->env, m);
	for (l = 0; l < ARRAY_SIZE(rm_ops); l++)
		KUNIT_EXPECT_GT(test, counts[l], 0);

	/* zap-all returns the accounting to the root alone */
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_zap(&st->env->pgt, 0,
						1ULL << st->env->pgt.gpa_bits,
						S2MMU_ZAP_TABLES,
						&st->env->op), 0);
	for (l = 0; l + 1 < st->env->pgt.levels; l++)
		KUNIT_EXPECT_EQ(test, pt_nr(st->env, l), 0);
	pt_expect_no_leak(test, st->env);
	xa_destroy(&m->xa);
}

static struct kunit_case pt_format_cases[] = {
	KUNIT_CASE_PARAM(pt_format_roundtrip_test, pt_fmt_gen_params),
	KUNIT_CASE(pt_x86_tdp_golden_test),
	KUNIT_CASE(pt_arm64_s2_golden_test),
	{}
};

static struct kunit_suite pt_format_suite = {
	.name = "s2mmu_pgtable_format",
	.test_cases = pt_format_cases,
};

static struct kunit_case pt_engine_cases[] = {
	KUNIT_CASE_PARAM(pt_map_lookup_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_map_straddle_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_split_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_zap_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_zap_step_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_zap_yield_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_wrprotect_age_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_frozen_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_walk_iter_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_rcu_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_concurrent_map_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_concurrent_mixed_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM(pt_lost_race_test, pt_fmt_gen_params),
	KUNIT_CASE_PARAM_ATTR(pt_random_model_test, pt_fmt_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	{}
};

static struct kunit_suite pt_engine_suite = {
	.name = "s2mmu_pgtable",
	.test_cases = pt_engine_cases,
};

kunit_test_suites(&pt_format_suite, &pt_engine_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for the s2mmu stage-2 table engine");
