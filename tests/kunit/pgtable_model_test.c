// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit test of the stage-2 table engine against a flat reference model:
 * random operations, the tree checked against the model after each.
 */
#include <kunit/test.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "pgtable_kunit.h"

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

/**
 * pt_random_model_test() - random operations checked against the model.
 * @test: the test; its parameter is the &struct pt_fmt.
 */
void pt_random_model_test(struct kunit *test)
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
