// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the stage-2 table engine under concurrency: RCU keeps
 * unlinked tables alive for readers, installer kthreads race with
 * cmpxchg, and the race hook replays lost races deterministically.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/prandom.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>

#include "pgtable_kunit.h"

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

/**
 * pt_rcu_test() - a reader under RCU keeps an unlinked table from being freed.
 * @test: the test; its parameter is the &struct pt_fmt.
 */
void pt_rcu_test(struct kunit *test)
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

/**
 * pt_concurrent_map_test() - installers racing with cmpxchg on overlapping
 *			      ranges.
 * @test: the test; its parameter is the &struct pt_fmt.
 */
void pt_concurrent_map_test(struct kunit *test)
{
	pt_race(test, false);
}

/**
 * pt_concurrent_mixed_test() - installers, 2M mappers collapsing tables,
 *				zappers, agers and walkers racing.
 * @test: the test; its parameter is the &struct pt_fmt.
 */
void pt_concurrent_mixed_test(struct kunit *test)
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

/**
 * pt_lost_race_test() - every operation losing a race to every rival, at
 *			 every window, through the race hook.
 * @test: the test; its parameter is the &struct pt_fmt.
 */
void pt_lost_race_test(struct kunit *test)
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

/*
 * Nested collapses under the read lock: Y collapses a 1 GiB block whose
 * table T held no table when Y looked, X links a 4 KiB table P into T
 * meanwhile, and Z starts collapsing P's 2 MiB entry (frozen) before Y
 * detaches T.  Y's teardown of T must wait for Z's final value of that
 * entry and take it: left as Z's empty entry in a detached table, an
 * installer still walking T could link a table there that nobody frees.
 */
/*
 * A range map of 2 MiB leaves while a racing thread splits the first
 * leaf right after the map installed it (played from the change hook,
 * which runs just after the write): the visitor walk reads the entry
 * again, finds the split's table and walks into it.  The map must leave
 * the split's 4 KiB leaves alone; a map that treated them as entries
 * above its level linked "tables" at level 0.
 */
#define SPLIT_GPA	(5 * SZ_1G_ULL)
#define SPLIT_PA	0x200000000ULL

static struct {
	struct s2mmu_table_cache cache;
	bool fired;
	int ret;
} pt_split_after;

static void pt_split_after_hook(struct s2mmu_pgtable *pgt, u64 gpa,
				unsigned int level, u64 old, u64 new)
{
	struct s2mmu_pt_op op = { .cache = &pt_split_after.cache };

	if (pt_split_after.fired || level != 1 || gpa != SPLIT_GPA ||
	    !pgt->ops->is_leaf(new, 1))
		return;
	pt_split_after.fired = true;
	pt_split_after.ret = s2mmu_pgtable_split(pgt, gpa, gpa + SZ_2M_ULL, 0,
						 &op);
}

void pt_map_split_after_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	struct pt_census c;
	u64 off;

	pt_topup(test, env);
	memset(&pt_split_after, 0, sizeof(pt_split_after));
	s2mmu_table_cache_init(&pt_split_after.cache);
	KUNIT_ASSERT_EQ(test, s2mmu_table_cache_topup(&pt_split_after.cache,
						      env->pgt.levels), 0);
	env->pgt.change = pt_split_after_hook;
	KUNIT_EXPECT_EQ(test, pt_map(test, env, SPLIT_GPA, SPLIT_PA,
				     2 * SZ_2M_ULL, 1, PROT_RW), 0);
	env->pgt.change = NULL;
	s2mmu_table_cache_free(&pt_split_after.cache);

	KUNIT_EXPECT_TRUE(test, pt_split_after.fired);
	KUNIT_EXPECT_EQ(test, pt_split_after.ret, 0);
	for (off = 0; off < SZ_2M_ULL; off += 73 * SZ_4K_ULL)
		pt_expect_map(test, env, SPLIT_GPA + off, SPLIT_PA + off, 0,
			      PROT_RW);
	pt_expect_map(test, env, SPLIT_GPA + SZ_2M_ULL + SZ_4K_ULL,
		      SPLIT_PA + SZ_2M_ULL + SZ_4K_ULL, 1, PROT_RW);
	pt_census(test, env, &c);
	KUNIT_EXPECT_EQ(test, c.bad, 0);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_leaves(&env->pgt, 0), 512);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_leaves(&env->pgt, 1), 1);
}

#define NEST_GPA	(3 * SZ_1G_ULL + 7 * SZ_2M_ULL)

static struct {
	struct kunit *test;
	struct pt_env *env;
	struct task_struct *z;
	int z_ret;
	int x_ret;
	bool z_frozen, z_done, y_waited, x_saw_z;
} pt_nest;

/*
 * UML does not preempt a spinning kernel thread on its own: ask for a
 * preemption, which (unlike sleeping) is allowed inside the engine's RCU
 * read sections under PREEMPT_RCU.
 */
static void pt_nest_yield(void)
{
	preempt_disable();
	set_tsk_need_resched(current);
	set_preempt_need_resched();
	preempt_enable();
}

/* Wait (a second at most) for the other thread to set @flag. */
static bool pt_nest_spin(bool *flag)
{
	unsigned long end = jiffies + HZ;

	while (!READ_ONCE(*flag) && time_before(jiffies, end))
		pt_nest_yield();
	return READ_ONCE(*flag);
}

static void pt_nest_frozen_hook(struct s2mmu_pgtable *pgt, bool held)
{
	if (held && current == pt_nest.z) {
		/* Z holds P's entry frozen: until Y has met it. */
		WRITE_ONCE(pt_nest.z_frozen, true);
		pt_nest_spin(&pt_nest.y_waited);
	} else if (!held && current != pt_nest.z) {
		/* Y waits for Z's entry: let Z run (no lock held here). */
		WRITE_ONCE(pt_nest.y_waited, true);
		pt_nest_yield();
	}
}

static int pt_nest_z_fn(void *data)
{
	struct s2mmu_pt_op op = { .shared = true };

	pt_nest.z_ret = s2mmu_pgtable_collapse(&pt_nest.env->pgt, NEST_GPA, 1,
					       &op);
	WRITE_ONCE(pt_nest.z_done, true);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

/* Y's window before it freezes T: X links P, then Z freezes P's entry. */
static void pt_nest_race_hook(struct s2mmu_pgtable *pgt)
{
	struct pt_env *env = pt_nest.env;

	/* Expectations may sleep: only record here, inside RCU. */
	WRITE_ONCE(s2mmu_pt_test_race_hook, NULL);
	pt_nest.x_ret = s2mmu_pgtable_map(pgt, NEST_GPA, 0x7000000ULL,
					  SZ_4K_ULL, 0, PROT_RW, &env->op);
	WRITE_ONCE(s2mmu_pt_test_frozen_hook, pt_nest_frozen_hook);
	wake_up_process(pt_nest.z);
	pt_nest.x_saw_z = pt_nest_spin(&pt_nest.z_frozen);
}

static void pt_nest_clear(void *data)
{
	WRITE_ONCE(s2mmu_pt_test_race_hook, NULL);
	WRITE_ONCE(s2mmu_pt_test_frozen_hook, NULL);
}

void pt_nested_collapse_test(struct kunit *test)
{
	struct pt_env *env = pt_env_new(test);
	struct s2mmu_pt_op op = { .shared = true };
	struct pt_census c;
	int ret;

	if (pt_max_leaf(env) < 2)
		kunit_skip(test, "no 1 GiB leaves in this format");
	/* T: a table of 2 MiB entries under the 1 GiB entry, no table in it. */
	KUNIT_ASSERT_EQ(test, pt_map(test, env, round_down(NEST_GPA, SZ_1G_ULL),
				     0x40000000ULL, SZ_2M_ULL, 1, PROT_RW), 0);
	pt_topup(test, env);
	memset(&pt_nest, 0, sizeof(pt_nest));
	pt_nest.test = test;
	pt_nest.env = env;
	pt_nest.z = kthread_create(pt_nest_z_fn, NULL, "s2mmu-nest-z");
	KUNIT_ASSERT_FALSE(test, IS_ERR(pt_nest.z));
	get_task_struct(pt_nest.z);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, pt_nest_clear,
							NULL), 0);

	WRITE_ONCE(s2mmu_pt_test_race_hook, pt_nest_race_hook);
	ret = s2mmu_pgtable_collapse(&env->pgt, NEST_GPA, 2, &op);
	WRITE_ONCE(s2mmu_pt_test_race_hook, NULL);
	KUNIT_EXPECT_TRUE(test, pt_nest_spin(&pt_nest.z_done));
	WRITE_ONCE(s2mmu_pt_test_frozen_hook, NULL);
	kthread_stop(pt_nest.z);
	put_task_struct(pt_nest.z);

	KUNIT_EXPECT_EQ(test, pt_nest.x_ret, 0);
	KUNIT_EXPECT_TRUE_MSG(test, pt_nest.x_saw_z, "Z did not freeze P's entry");
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, pt_nest.z_ret, 0);
	KUNIT_EXPECT_TRUE_MSG(test, pt_nest.y_waited,
			      "the teardown of T did not wait for Z's entry");
	pt_expect_unmapped(test, env, NEST_GPA);
	pt_census(test, env, &c);
	KUNIT_EXPECT_EQ(test, c.bad, 0);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_leaves(&env->pgt, 0), 0);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_nr_leaves(&env->pgt, 1), 0);
}
