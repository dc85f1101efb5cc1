// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 TDP (EPT) entry format.
 *
 * Bits of an entry, as the CPU's EPT walker reads them:
 *
 *   0      R: read access
 *   1      W: write access (never without R: that is a misconfiguration)
 *   2      X: execute access
 *   3-5    leaf memory type: 6 (WB) for normal memory, 0 (UC) for device
 *   6      leaf "ignore PAT": the EPT memory type is final
 *   7      leaf at 2M/1G: large page; must be clear at 4K and in tables
 *   8      Accessed, set by the walker on any access
 *   9      leaf Dirty, set by the walker on a write
 *   11     software "present" marker (ignored by hardware): set in every
 *          table and leaf entry, so an entry with no access rights (an
 *          access-tracked leaf) still counts as present
 *   12-51  physical address of the page, 2M or 1G frame, or table
 *   62     software: with no other bit, the frozen placeholder
 *
 * Only this file knows these positions; the engine sees them through
 * s2mmu_x86_tdp_ops.  No asm/ header is used so every host arch builds it.
 */
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/kernel.h>

#include "s2mmu_pgtable.h"

#define TDP_R			BIT_ULL(0)
#define TDP_W			BIT_ULL(1)
#define TDP_X			BIT_ULL(2)
#define TDP_MT_SHIFT		3
#define TDP_MT_MASK		GENMASK_ULL(5, 3)
#define TDP_MT_UC		0ULL
#define TDP_MT_WB		6ULL
#define TDP_IPAT		BIT_ULL(6)
#define TDP_LARGE		BIT_ULL(7)
#define TDP_A			BIT_ULL(8)
#define TDP_D			BIT_ULL(9)
#define TDP_PRESENT		BIT_ULL(11)
#define TDP_PA_MASK		GENMASK_ULL(51, 12)
#define TDP_FROZEN		BIT_ULL(62)

static u64 tdp_pa_mask(unsigned int level)
{
	return TDP_PA_MASK & ~(s2mmu_pt_level_size(level) - 1);
}

static int tdp_levels(unsigned int gpa_bits)
{
	if (gpa_bits == 48)
		return 4;
	if (gpa_bits == 57)
		return 5;
	return -EINVAL;
}

static bool tdp_is_present(u64 pte)
{
	return pte & TDP_PRESENT;
}

static bool tdp_is_table(u64 pte, unsigned int level)
{
	return (pte & TDP_PRESENT) && level > 0 && !(pte & TDP_LARGE);
}

static bool tdp_is_leaf(u64 pte, unsigned int level)
{
	if (!(pte & TDP_PRESENT))
		return false;
	/* PS in a PML4E or PML5E is reserved: never a leaf there. */
	return level == 0 ||
	       ((pte & TDP_LARGE) && level <= S2MMU_PT_MAX_LEAF_LEVEL);
}

static u64 tdp_make_table(u64 pa)
{
	return (pa & TDP_PA_MASK) | TDP_PRESENT | TDP_R | TDP_W | TDP_X;
}

static u64 tdp_table_pa(u64 pte)
{
	return pte & TDP_PA_MASK;
}

static u64 tdp_prot_bits(u32 prot)
{
	u64 pte = 0;

	if (prot & S2MMU_PROT_R)
		pte |= TDP_R;
	if (prot & S2MMU_PROT_W)
		pte |= TDP_W;
	if (prot & S2MMU_PROT_X)
		pte |= TDP_X;
	if (prot & S2MMU_PROT_ACCESSED)
		pte |= TDP_A;
	if (prot & S2MMU_PROT_DIRTY)
		pte |= TDP_D;
	return pte;
}

static u64 tdp_make_leaf(u64 pa, unsigned int level, u32 prot)
{
	u64 mt = (prot & S2MMU_PROT_DEVICE) ? TDP_MT_UC : TDP_MT_WB;
	u64 pte = (pa & tdp_pa_mask(level)) | TDP_PRESENT | TDP_IPAT |
		  (mt << TDP_MT_SHIFT) | tdp_prot_bits(prot);

	if (level > 0)
		pte |= TDP_LARGE;
	return pte;
}

static u64 tdp_leaf_pa(u64 pte, unsigned int level)
{
	return pte & tdp_pa_mask(level);
}

static u32 tdp_leaf_prot(u64 pte, unsigned int level)
{
	u32 prot = 0;

	if (pte & TDP_R)
		prot |= S2MMU_PROT_R;
	if (pte & TDP_W)
		prot |= S2MMU_PROT_W;
	if (pte & TDP_X)
		prot |= S2MMU_PROT_X;
	if (((pte & TDP_MT_MASK) >> TDP_MT_SHIFT) == TDP_MT_UC)
		prot |= S2MMU_PROT_DEVICE;
	if (pte & TDP_A)
		prot |= S2MMU_PROT_ACCESSED;
	if (pte & TDP_D)
		prot |= S2MMU_PROT_DIRTY;
	return prot;
}

static u64 tdp_leaf_update(u64 pte, unsigned int level, u32 set, u32 clear)
{
	clear &= ~S2MMU_PROT_DEVICE;
	set &= ~S2MMU_PROT_DEVICE;
	return (pte & ~tdp_prot_bits(clear)) | tdp_prot_bits(set);
}

static u64 tdp_split_leaf(u64 pte, unsigned int level, unsigned int index)
{
	u64 pa = tdp_leaf_pa(pte, level) +
		 (u64)index * s2mmu_pt_level_size(level - 1);
	u64 child = (pte & ~TDP_PA_MASK) | pa;

	if (level - 1 == 0)
		child &= ~TDP_LARGE;
	return child;
}

const struct s2mmu_pgtable_ops s2mmu_x86_tdp_ops = {
	.name		= "x86_tdp",
	.pa_bits	= 52,
	.frozen_pte	= TDP_FROZEN,
	.levels		= tdp_levels,
	.is_present	= tdp_is_present,
	.is_table	= tdp_is_table,
	.is_leaf	= tdp_is_leaf,
	.make_table	= tdp_make_table,
	.table_pa	= tdp_table_pa,
	.make_leaf	= tdp_make_leaf,
	.leaf_pa	= tdp_leaf_pa,
	.leaf_prot	= tdp_leaf_prot,
	.leaf_update	= tdp_leaf_update,
	.split_leaf	= tdp_split_leaf,
	.bits = {
		.table_mask	= TDP_PRESENT | TDP_LARGE,
		.table		= TDP_PRESENT,
		.page_mask	= TDP_PRESENT,
		.page		= TDP_PRESENT,
		.block_mask	= TDP_PRESENT | TDP_LARGE,
		.block		= TDP_PRESENT | TDP_LARGE,
		.oa_mask	= TDP_PA_MASK,
		.r		= TDP_R,
		.w		= TDP_W,
		.x_mask		= TDP_X,
		.x		= TDP_X,
		.device_mask	= TDP_MT_MASK,
		.device		= TDP_MT_UC << TDP_MT_SHIFT,
		.accessed	= TDP_A,
		.dirty		= TDP_D,
	},
};
