// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the stage-2 entry formats (arch-x86/tdp.c,
 * arch-arm64/stage2.c): every field round-trips, known encodings.
 */
#include <kunit/test.h>

#include "pgtable_kunit.h"

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

/* The lookup's data decoding against the format's calls, for one entry. */
static void pt_bits_check(struct kunit *test, const struct s2mmu_pgtable_ops *ops,
			  u64 pte)
{
	const struct s2mmu_pt_bits *b = &ops->bits;
	unsigned int level;

	for (level = 0; level < S2MMU_PT_MAX_LEVELS; level++) {
		bool table = ops->is_table(pte, level);
		bool leaf = ops->is_leaf(pte, level);

		KUNIT_EXPECT_EQ_MSG(test, pt_bits_is_table(b, pte, level), table,
				    "pte %#llx level %u", pte, level);
		KUNIT_EXPECT_EQ_MSG(test, pt_bits_is_leaf(b, pte, level), leaf,
				    "pte %#llx level %u", pte, level);
		if (table)
			KUNIT_EXPECT_EQ_MSG(test, pt_bits_table_pa(b, pte),
					    ops->table_pa(pte),
					    "pte %#llx level %u", pte, level);
		if (!leaf)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, pt_bits_leaf_pa(b, pte, level),
				    ops->leaf_pa(pte, level),
				    "pte %#llx level %u", pte, level);
		KUNIT_EXPECT_EQ_MSG(test, pt_bits_leaf_prot(b, pte),
				    ops->leaf_prot(pte, level),
				    "pte %#llx level %u", pte, level);
	}
}

/*
 * struct s2mmu_pt_bits describes the format exactly: the lookup's data
 * decoding gives the calls' answers for every entry the engine writes
 * and for random ones (every bit pattern the tree could hold).
 */
static void pt_format_bits_test(struct kunit *test)
{
	const struct pt_fmt *fmt = test->param_value;
	const struct s2mmu_pgtable_ops *ops = fmt->ops;
	u64 pa_top = 1ULL << ops->pa_bits;
	struct rnd_state rnd;
	unsigned int level, i;
	u32 prot;

	prandom_seed_state(&rnd, 2);
	pt_bits_check(test, ops, 0);
	pt_bits_check(test, ops, ops->frozen_pte);
	for (i = 12; i < ops->pa_bits; i++)
		pt_bits_check(test, ops, ops->make_table(1ULL << i));
	for (level = 0; level <= S2MMU_PT_MAX_LEAF_LEVEL; level++) {
		u64 lsize = s2mmu_pt_level_size(level);

		for (prot = 0; prot <= S2MMU_PROT_ALL; prot++) {
			u64 pa = ((u64)prandom_u32_state(&rnd) << 32 |
				  prandom_u32_state(&rnd)) & (pa_top - 1) &
				 ~(lsize - 1);

			if (!pt_prot_valid(prot))
				continue;
			pt_bits_check(test, ops, ops->make_leaf(pa, level, prot));
			pt_bits_check(test, ops, ops->make_leaf(pa_top - lsize,
								level, prot));
		}
	}
	for (i = 0; i < 4096; i++)
		pt_bits_check(test, ops, (u64)prandom_u32_state(&rnd) << 32 |
					 prandom_u32_state(&rnd));
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

static struct kunit_case pt_format_cases[] = {
	PT_FMT_CASE(pt_format_roundtrip_test),
	PT_FMT_CASE(pt_format_bits_test),
	KUNIT_CASE(pt_x86_tdp_golden_test),
	KUNIT_CASE(pt_arm64_s2_golden_test),
	{}
};

static struct kunit_suite pt_format_suite = {
	.name = "s2mmu_pgtable_format",
	.test_cases = pt_format_cases,
};

kunit_test_suites(&pt_format_suite);
