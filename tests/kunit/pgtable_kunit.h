/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the KUnit files of the stage-2 table engine (mmu/pgtable.c,
 * mmu/walk.c) and both entry formats:
 *
 * - pgtable_fmt_test.c: the formats (suite s2mmu_pgtable_format);
 * - pgtable_engine_test.c: deterministic engine cases, and the suite
 *   s2mmu_pgtable of every engine case;
 * - pgtable_count_test.c: leaf counts, the change hook, flushes owed;
 * - pgtable_race_test.c: RCU, racing kthreads and the race hook;
 * - pgtable_model_test.c: random operations against a model;
 * - pgtable_kunit.c: the fixture declared here.
 *
 * Every engine case runs once per format and geometry (parameterised),
 * so both formats go through the same cases.  Leaf physical addresses
 * are never dereferenced by the engine, so tests map made-up ones.
 */
#ifndef _S2MMU_PGTABLE_KUNIT_H
#define _S2MMU_PGTABLE_KUNIT_H

#include <kunit/test.h>
#include <linux/bits.h>

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

/* A case run once for every format and geometry of pt_fmts[]. */
#define PT_FMT_CASE(test_name) \
	KUNIT_CASE_PARAM(test_name, pt_fmt_gen_params)

/* One tree, its table page cache and how many pages went into the cache. */
struct pt_env {
	struct s2mmu_pgtable pgt;
	struct s2mmu_table_cache cache;
	struct s2mmu_pt_op op;
	unsigned long pages_in;
	const struct pt_fmt *fmt;
};

/* What pt_census() counted by walking the tree. */
struct pt_census {
	unsigned long tables[S2MMU_PT_MAX_LEVELS];
	unsigned long leaves[S2MMU_PT_MAX_LEVELS];
	unsigned long frozen;
	unsigned long bad;
};

const void *pt_fmt_gen_params(const void *prev, char *desc);
struct pt_env *pt_env_new(struct kunit *test);
void pt_topup(struct kunit *test, struct pt_env *env);
int pt_map(struct kunit *test, struct pt_env *env, u64 gpa, u64 pa,
	   u64 size, unsigned int level, u32 prot);
int pt_split(struct kunit *test, struct pt_env *env, u64 start, u64 end,
	     unsigned int level);
unsigned long pt_nr(struct pt_env *env, unsigned int level);
unsigned int pt_max_leaf(struct pt_env *env);
void pt_expect_map(struct kunit *test, struct pt_env *env, u64 gpa, u64 pa,
		   unsigned int level, u32 prot);
void pt_expect_unmapped(struct kunit *test, struct pt_env *env, u64 gpa);
void pt_census(struct kunit *test, struct pt_env *env, struct pt_census *c);
void pt_expect_no_leak(struct kunit *test, struct pt_env *env);

/* Cases of the s2mmu_pgtable suite kept in other files. */
void pt_leaf_count_test(struct kunit *test);
void pt_change_hook_test(struct kunit *test);
void pt_rcu_test(struct kunit *test);
void pt_concurrent_map_test(struct kunit *test);
void pt_concurrent_mixed_test(struct kunit *test);
void pt_lost_race_test(struct kunit *test);
void pt_nested_collapse_test(struct kunit *test);
void pt_map_split_after_test(struct kunit *test);
void pt_random_model_test(struct kunit *test);

#endif /* _S2MMU_PGTABLE_KUNIT_H */
