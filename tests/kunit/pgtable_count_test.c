// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of what the engine's one writer of entries (pt_set_entry())
 * keeps: the per-level leaf counts, the change hook, and the TLB flushes
 * it reports as owed.
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "pgtable_kunit.h"

/* Expect the engine's leaf counts, and a recount of the tree to agree. */
static void pt_expect_leaves(struct kunit *test, struct pt_env *env,
			     unsigned long n4k, unsigned long n2m,
			     unsigned long n1g)
{
	struct pt_census c;

	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_leaves(&env->pgt, 0), n4k);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_leaves(&env->pgt, 1), n2m);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_leaves(&env->pgt, 2), n1g);
	pt_census(test, env, &c);
	KUNIT_EXPECT_EQ(test, c.leaves[0], n4k);
	KUNIT_EXPECT_EQ(test, c.leaves[1], n2m);
	KUNIT_EXPECT_EQ(test, c.leaves[2], n1g);
}

/**
 * pt_leaf_count_test() - the leaf counts stay exact through every operation.
 * @test: the test; its parameter is the &struct pt_fmt.
 *
 * Collapse, zapping tables and destroy drop tables full of leaves at once;
 * the counts must follow those leaves too.
 */
void pt_leaf_count_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	u64 base = SZ_1G_ULL, big = 2 * SZ_1G_ULL, huge = 3 * SZ_1G_ULL;
	struct s2mmu_pt_info info;
	unsigned int l;

	/* map: 3 4K pages, 2 2M and 2 1G leaves */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, base, 0, 3 * SZ_4K_ULL, 0,
				     PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, base + SZ_2M_ULL, 0,
				     2 * SZ_2M_ULL, 1, PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, big, 0, 2 * SZ_1G_ULL, 2,
				     PROT_RW), 0);
	pt_expect_leaves(test, env, 3, 2, 2);
	/* mapping the same again changes nothing; another translation neither */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, base, 0, 3 * SZ_4K_ULL, 0,
				     PROT_RW), 0);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, base, SZ_1G_ULL, SZ_4K_ULL, 0,
				     S2MMU_PROT_R), 0);
	pt_expect_leaves(test, env, 3, 2, 2);

	/* split 1G -> 2M, then one of those 2M -> 4K */
	KUNIT_ASSERT_EQ(test, pt_split(test, env, huge, huge + 1, 1), 0);
	pt_expect_leaves(test, env, 3, 2 + 512, 1);
	KUNIT_ASSERT_EQ(test, pt_split(test, env, huge, huge + 1, 0), 0);
	pt_expect_leaves(test, env, 3 + 512, 2 + 511, 1);

	/* permissions, Dirty and aging change no count */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_wrprotect(&env->pgt, 0, huge + SZ_1G_ULL,
						      &env->op), 0);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_update_prot(&env->pgt, 0,
							huge + SZ_1G_ULL,
							S2MMU_PROT_W, 0,
							&env->op), 0);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_lookup(&env->pgt, huge,
						   S2MMU_LOOKUP_MKDIRTY,
						   &info), 0);
	KUNIT_EXPECT_TRUE(test, s2mmu_pgtable_age(&env->pgt, 0,
						  huge + SZ_1G_ULL, true,
						  &env->op));
	pt_expect_leaves(test, env, 3 + 512, 2 + 511, 1);

	/* collapse: the table of 512 4K leaves goes at once, a 2M leaf comes */
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_collapse(&env->pgt, huge, 1,
						     &env->op), 0);
	pt_expect_leaves(test, env, 3, 2 + 511, 1);
	KUNIT_ASSERT_EQ(test, pt_map(test, env, huge, 0, SZ_2M_ULL, 1,
				     PROT_RW), 0);
	pt_expect_leaves(test, env, 3, 2 + 512, 1);

	/* zap leaves only: a 4K page, two 2M leaves */
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_zap(&env->pgt, base, base + 1,
						S2MMU_ZAP_LEAVES, &env->op), 0);
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_zap(&env->pgt, huge,
						huge + 2 * SZ_2M_ULL,
						S2MMU_ZAP_LEAVES, &env->op), 0);
	pt_expect_leaves(test, env, 2, 2 + 510, 1);

	/* zap tables: [1G, 2G) goes as tables with their leaves in them */
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_zap(&env->pgt, base,
						base + SZ_1G_ULL,
						S2MMU_ZAP_TABLES, &env->op), 0);
	pt_expect_leaves(test, env, 0, 510, 1);
	KUNIT_EXPECT_EQ(test, pt_nr(env, 0), 0);

	/* destroy: the rest goes with the tree */
	s2mmu_pgtable_destroy(&env->pgt);
	for (l = 0; l <= S2MMU_PT_MAX_LEAF_LEVEL; l++)
		KUNIT_EXPECT_EQ_MSG(test, s2mmu_pgtable_nr_leaves(&env->pgt, l),
				    0, "level %u", l);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_tables(&env->pgt), 0);
}

/* What the change hook saw, by kind of change. */
enum pt_change_kind {
	PT_CH_MAP,		/* empty -> leaf */
	PT_CH_UNMAP,		/* leaf -> empty */
	PT_CH_UPDATE,		/* leaf -> leaf */
	PT_CH_LINK,		/* empty -> table */
	PT_CH_SPLIT,		/* leaf -> table */
	PT_CH_FREEZE,		/* anything -> frozen */
	PT_CH_THAW,		/* frozen -> anything */
	PT_CH_OTHER,		/* anything else: none expected */
	PT_CH_NR
};

struct pt_change_log {
	unsigned long kinds[PT_CH_NR];
	unsigned long owed;	/* changes owing a flush */
	long leaves[S2MMU_PT_MAX_LEAF_LEVEL + 1];	/* leaves seen come - go */
	unsigned long bad;	/* gpa not aligned to the level */
};

static struct pt_change_log *pt_log;

static enum pt_change_kind pt_change_kind(const struct s2mmu_pgtable_ops *ops,
					  unsigned int level, u64 old, u64 new)
{
	bool was_leaf = ops->is_leaf(old, level);

	if (new == ops->frozen_pte)
		return PT_CH_FREEZE;
	if (old == ops->frozen_pte)
		return PT_CH_THAW;
	if (ops->is_table(new, level))
		return was_leaf ? PT_CH_SPLIT : old ? PT_CH_OTHER : PT_CH_LINK;
	if (ops->is_leaf(new, level))
		return was_leaf ? PT_CH_UPDATE : old ? PT_CH_OTHER : PT_CH_MAP;
	return was_leaf && !new ? PT_CH_UNMAP : PT_CH_OTHER;
}

static void pt_change_hook(struct s2mmu_pgtable *pgt, u64 gpa,
			   unsigned int level, u64 old, u64 new)
{
	const struct s2mmu_pgtable_ops *ops = pgt->ops;

	pt_log->kinds[pt_change_kind(ops, level, old, new)]++;
	if (pt_change_needs_flush(ops, level, old, new))
		pt_log->owed++;
	if (gpa & (s2mmu_pt_level_size(level) - 1))
		pt_log->bad++;
	if (level > S2MMU_PT_MAX_LEAF_LEVEL)
		return;
	pt_log->leaves[level] += ops->is_leaf(new, level);
	pt_log->leaves[level] -= ops->is_leaf(old, level);
}

/* Expect the hook calls of each kind since the last check, then reset. */
static void pt_expect_changes(struct kunit *test, struct pt_env *env,
			      const unsigned long *kinds, unsigned long owed)
{
	unsigned int k, l;

	for (k = 0; k < PT_CH_NR; k++)
		KUNIT_EXPECT_EQ_MSG(test, pt_log->kinds[k], kinds[k],
				    "change kind %u", k);
	KUNIT_EXPECT_EQ(test, pt_log->owed, owed);
	KUNIT_EXPECT_EQ(test, pt_log->bad, 0);
	/* The hook saw every leaf come and go: its counts are the engine's. */
	for (l = 0; l <= S2MMU_PT_MAX_LEAF_LEVEL; l++)
		KUNIT_EXPECT_EQ_MSG(test, pt_log->leaves[l],
				    (long)s2mmu_pgtable_nr_leaves(&env->pgt, l),
				    "level %u", l);
	memset(pt_log->kinds, 0, sizeof(pt_log->kinds));
	pt_log->owed = 0;
}

/* Kinds of change expected, by index; the others zero. */
#define PT_CHANGES(...)	((const unsigned long [PT_CH_NR]) { __VA_ARGS__ })

/* Change the rights of the 4K leaf at @gpa: one update, a flush @owed? */
static void pt_expect_update(struct kunit *test, struct pt_env *env, u64 gpa,
			     u32 set, u32 clear, bool owed)
{
	env->op.flush = false;
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_update_prot(&env->pgt, gpa,
							gpa + SZ_4K_ULL, set,
							clear, &env->op), 0);
	KUNIT_EXPECT_EQ(test, env->op.flush, owed);
	pt_expect_changes(test, env, PT_CHANGES([PT_CH_UPDATE] = 1), owed);
}

/**
 * pt_change_hook_test() - the change hook sees every change, and a flush is
 *			   owed for removals and narrowing, not for A/D.
 * @test: the test; its parameter is the &struct pt_fmt.
 */
void pt_change_hook_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	unsigned int below_root = env->pgt.levels - 1;
	u64 base = SZ_1G_ULL, page = base + SZ_2M_ULL;
	struct s2mmu_pt_info info;

	pt_log = kunit_kzalloc(test, sizeof(*pt_log), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pt_log);
	env->pgt.change = pt_change_hook;

	/* a 2M leaf: a table linked per level below the root but one */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, base, 0, SZ_2M_ULL, 1,
				     PROT_RW), 0);
	KUNIT_EXPECT_FALSE(test, env->op.flush);
	pt_expect_changes(test, env, PT_CHANGES([PT_CH_MAP] = 1,
						[PT_CH_LINK] = below_root - 1),
			  0);

	/* Accessed and Dirty, set by a walker or an update: no flush owed */
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_lookup(&env->pgt, base,
						   S2MMU_LOOKUP_MKDIRTY,
						   &info), 0);
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_update_prot(&env->pgt, base,
							base + 1,
							S2MMU_PROT_X, 0,
							&env->op), 0);
	KUNIT_EXPECT_FALSE(test, env->op.flush);
	pt_expect_changes(test, env, PT_CHANGES([PT_CH_UPDATE] = 2), 0);

	/* split: no flush owed; the hook sees the 512 leaves appear */
	KUNIT_ASSERT_EQ(test, pt_split(test, env, base, base + 1, 0), 0);
	KUNIT_EXPECT_FALSE(test, env->op.flush);
	pt_expect_changes(test, env, PT_CHANGES([PT_CH_SPLIT] = 1,
						[PT_CH_MAP] = 512), 0);

	/* narrowing owes a flush, widening does not */
	pt_expect_update(test, env, base, 0, S2MMU_PROT_W, true);
	pt_expect_update(test, env, base, S2MMU_PROT_W, 0, false);
	/* clearing Dirty owes one; clearing Accessed owes none */
	pt_expect_update(test, env, base, 0, S2MMU_PROT_DIRTY, true);
	pt_expect_update(test, env, base, 0, S2MMU_PROT_ACCESSED, false);

	/* another translation owes a flush; a new page does not */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, base, SZ_1G_ULL, SZ_4K_ULL, 0,
				     S2MMU_PROT_RWX), 0);
	KUNIT_EXPECT_TRUE(test, env->op.flush);
	pt_expect_changes(test, env, PT_CHANGES([PT_CH_UPDATE] = 1), 1);
	env->op.flush = false;
	KUNIT_ASSERT_EQ(test, pt_map(test, env, page, 0, SZ_4K_ULL, 0,
				     PROT_RW), 0);
	KUNIT_EXPECT_FALSE(test, env->op.flush);
	pt_expect_changes(test, env, PT_CHANGES([PT_CH_MAP] = 1,
						[PT_CH_LINK] = 1), 0);

	/* removing a leaf owes a flush */
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_zap(&env->pgt, page, page + 1,
						S2MMU_ZAP_LEAVES, &env->op), 0);
	KUNIT_EXPECT_TRUE(test, env->op.flush);
	pt_expect_changes(test, env, PT_CHANGES([PT_CH_UNMAP] = 1), 1);
	env->op.flush = false;

	/*
	 * collapse: the table entry is frozen, each of its 512 entries too
	 * (512 leaves), then emptied; the table and its leaves owe flushes.
	 */
	KUNIT_ASSERT_EQ(test, s2mmu_pgtable_collapse(&env->pgt, base, 1,
						     &env->op), 0);
	KUNIT_EXPECT_TRUE(test, env->op.flush);
	pt_expect_changes(test, env, PT_CHANGES([PT_CH_FREEZE] = 1 + 512,
						[PT_CH_THAW] = 1), 1 + 512);
	KUNIT_EXPECT_EQ(test, pt_log->leaves[0], 0);

	/* destroy: every table and leaf left goes by the hook too */
	s2mmu_pgtable_destroy(&env->pgt);
	KUNIT_EXPECT_EQ(test, pt_log->leaves[0], 0);
	KUNIT_EXPECT_EQ(test, pt_log->leaves[1], 0);
	KUNIT_EXPECT_GT(test, pt_log->kinds[PT_CH_FREEZE], 0);
	KUNIT_EXPECT_EQ(test, pt_log->kinds[PT_CH_OTHER], 0);
	pt_log = NULL;
}
