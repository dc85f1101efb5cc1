// SPDX-License-Identifier: GPL-2.0
/*
 * The fixture of the stage-2 table engine's KUnit files: one tree per
 * format and geometry, with a table page cache, and the checks shared by
 * the cases (tests/kunit/pgtable_kunit.h).
 */
#include <kunit/test.h>
#include <linux/rcupdate.h>
#include <linux/string.h>

#include "pgtable_kunit.h"

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

/**
 * pt_fmt_gen_params() - KUnit parameter generator: every format and geometry.
 * @prev: the previous parameter, NULL for the first.
 * @desc: filled with the name of the next one.
 *
 * Return: the next &struct pt_fmt of pt_fmts[], NULL after the last.
 */
const void *pt_fmt_gen_params(const void *prev, char *desc)
{
	const struct pt_fmt *f = prev ? (const struct pt_fmt *)prev + 1 :
					pt_fmts;

	if (f >= pt_fmts + ARRAY_SIZE(pt_fmts))
		return NULL;
	pt_fmt_desc(f, desc);
	return f;
}

static void pt_env_release(void *data)
{
	struct pt_env *env = data;

	if (env->pgt.root)
		s2mmu_pgtable_destroy(&env->pgt);
	s2mmu_table_cache_free(&env->cache);
}

/**
 * pt_env_new() - a tree of the test's format and geometry, with a cache.
 * @test: the test; its parameter is the &struct pt_fmt.
 *
 * Everything is released when the test ends.
 *
 * Return: the environment (the test fails if it cannot be set up).
 */
struct pt_env *pt_env_new(struct kunit *test)
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

/**
 * pt_topup() - fill the environment's table page cache.
 * @test: the test.
 * @env: the environment; @env->pages_in counts the pages added.
 */
void pt_topup(struct kunit *test, struct pt_env *env)
{
	int before = env->cache.nobjs;

	KUNIT_ASSERT_EQ(test,
			s2mmu_table_cache_topup(&env->cache,
						S2MMU_TABLE_CACHE_CAPACITY), 0);
	env->pages_in += env->cache.nobjs - before;
}

/**
 * pt_map() - map, topping the cache up as often as the engine runs dry.
 * @test: the test.
 * @env: the environment.
 * @gpa: as for s2mmu_pgtable_map().
 * @pa: as for s2mmu_pgtable_map().
 * @size: as for s2mmu_pgtable_map().
 * @level: as for s2mmu_pgtable_map().
 * @prot: as for s2mmu_pgtable_map().
 *
 * Return: what s2mmu_pgtable_map() returned last.
 */
int pt_map(struct kunit *test, struct pt_env *env, u64 gpa, u64 pa,
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

/**
 * pt_split() - split, topping the cache up as often as the engine runs dry.
 * @test: the test.
 * @env: the environment.
 * @start: as for s2mmu_pgtable_split().
 * @end: as for s2mmu_pgtable_split().
 * @level: as for s2mmu_pgtable_split().
 *
 * Return: what s2mmu_pgtable_split() returned last.
 */
int pt_split(struct kunit *test, struct pt_env *env, u64 start, u64 end,
	     unsigned int level)
{
	int ret;

	do {
		pt_topup(test, env);
		ret = s2mmu_pgtable_split(&env->pgt, start, end, level,
					  &env->op);
	} while (ret == -ENOMEM);
	return ret;
}

/**
 * pt_nr() - table pages the tree accounts at a level.
 * @env: the environment.
 * @level: level of the entries the tables hold.
 *
 * Return: @env->pgt.tables[@level].
 */
unsigned long pt_nr(struct pt_env *env, unsigned int level)
{
	return atomic_long_read(&env->pgt.tables[level]);
}

/**
 * pt_max_leaf() - highest level a leaf can use in this geometry.
 * @env: the environment.
 *
 * Return: the level.
 */
unsigned int pt_max_leaf(struct pt_env *env)
{
	return min(S2MMU_PT_MAX_LEAF_LEVEL, env->pgt.levels - 1);
}

/**
 * pt_expect_map() - expect a translation.
 * @test: the test.
 * @env: the environment.
 * @gpa: the guest physical address looked up.
 * @pa: the physical address it must translate to.
 * @level: the level of the leaf that must map it.
 * @prot: the S2MMU_PROT_* the leaf must have.
 */
void pt_expect_map(struct kunit *test, struct pt_env *env, u64 gpa, u64 pa,
		   unsigned int level, u32 prot)
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

/**
 * pt_expect_unmapped() - expect no translation.
 * @test: the test.
 * @env: the environment.
 * @gpa: the guest physical address looked up.
 */
void pt_expect_unmapped(struct kunit *test, struct pt_env *env, u64 gpa)
{
	struct s2mmu_pt_info info;

	KUNIT_EXPECT_EQ_MSG(test, s2mmu_pgtable_lookup(&env->pgt, gpa, 0, &info),
			    -ENOENT, "gpa %#llx", gpa);
}

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

/**
 * pt_census() - recount the tree by walking it and check the accounting.
 * @test: the test.
 * @env: the environment; no operation may be in flight.
 * @c: filled with the counts.
 *
 * Expects no frozen or malformed entry, and the tables and leaves counted
 * per level to be what the engine accounts.
 */
void pt_census(struct kunit *test, struct pt_env *env, struct pt_census *c)
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

/**
 * pt_expect_no_leak() - expect every table page accounted for.
 * @test: the test.
 * @env: the environment.
 *
 * Every page taken from the cache is in the tree or was freed after a
 * grace period (waited for here).
 */
void pt_expect_no_leak(struct kunit *test, struct pt_env *env)
{
	unsigned long used = env->pages_in - env->cache.nobjs;

	rcu_barrier();
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->pgt.rcu_pending), 0);
	KUNIT_EXPECT_EQ(test, used,
			s2mmu_pgtable_nr_tables(&env->pgt) - 1 +
			atomic_long_read(&env->pgt.tables_freed));
}
