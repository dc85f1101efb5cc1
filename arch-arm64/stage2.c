// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 stage-2 descriptor format, 4 KiB granule, no concatenated
 * root tables.
 *
 * Bits of a descriptor (VMSAv8-64 stage 2, without FEAT_S2FWB):
 *
 *   0      valid
 *   1      at levels 1-3 (architectural): table or page (1) vs block (0);
 *          our level 0 is the architectural level 3, where only pages
 *          (1) exist
 *   2-5    leaf MemAttr: 0b1111 normal, inner and outer write-back;
 *          0b0001 Device-nGnRE
 *   6-7    leaf S2AP: bit 6 read, bit 7 write
 *   8-9    leaf SH: 0b11 inner shareable
 *   10     leaf AF, the access flag
 *   12-47  output address of the page, block or next table
 *   54     leaf XN[1]: no execution at any exception level
 *   55     leaf software Dirty: set by the software walker on a write
 *   56     software: with no other bit (and bit 0 clear), the frozen
 *          ("locked") placeholder
 *
 * Architectural levels count from the root (start level) down to 3; this
 * engine counts by the size an entry maps, so architectural level =
 * 3 - engine level, and the start level is 4 - levels.
 *
 * Only this file knows these positions.  No asm/ header is used so every
 * host arch builds it.
 */
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/kernel.h>

#include "s2mmu_pgtable.h"

#define S2_VALID		BIT_ULL(0)
#define S2_TYPE_TABLE		BIT_ULL(1)	/* table, or page at level 3 */
#define S2_MEMATTR_SHIFT	2
#define S2_MEMATTR_MASK		GENMASK_ULL(5, 2)
#define S2_MEMATTR_NORMAL_WB	0xfULL
#define S2_MEMATTR_DEVICE_NGNRE	0x1ULL
#define S2_S2AP_R		BIT_ULL(6)
#define S2_S2AP_W		BIT_ULL(7)
#define S2_SH_MASK		GENMASK_ULL(9, 8)
#define S2_SH_IS		(3ULL << 8)
#define S2_AF			BIT_ULL(10)
#define S2_OA_MASK		GENMASK_ULL(47, 12)
#define S2_XN			BIT_ULL(54)
#define S2_SW_DIRTY		BIT_ULL(55)
#define S2_FROZEN		BIT_ULL(56)

/* Largest and smallest IPA sizes this format translates. */
#define S2_MIN_IPA_BITS		32
#define S2_MAX_IPA_BITS		48

static u64 s2_oa_mask(unsigned int level)
{
	return S2_OA_MASK & ~(s2mmu_pt_level_size(level) - 1);
}

static int s2_levels(unsigned int ipa_bits)
{
	if (ipa_bits < S2_MIN_IPA_BITS || ipa_bits > S2_MAX_IPA_BITS)
		return -EINVAL;
	return DIV_ROUND_UP(ipa_bits - S2MMU_PT_PAGE_SHIFT, S2MMU_PT_LEVEL_BITS);
}

/**
 * s2mmu_arm64_s2_start_level() - architectural stage-2 start level.
 * @ipa_bits: IPA size, 32 to 48.
 *
 * With a 4 KiB granule and no concatenated root tables the walk starts at
 * level 4 - levels, levels = DIV_ROUND_UP(@ipa_bits - 12, 9): level 0 for
 * 40 to 48 bits, level 1 for 32 to 39 bits.
 *
 * Return: the start level, or -EINVAL for an unsupported size.
 */
int s2mmu_arm64_s2_start_level(unsigned int ipa_bits)
{
	int levels = s2_levels(ipa_bits);

	return levels < 0 ? levels : 4 - levels;
}

static bool s2_is_present(u64 pte)
{
	return pte & S2_VALID;
}

static bool s2_is_table(u64 pte, unsigned int level)
{
	return (pte & S2_VALID) && (pte & S2_TYPE_TABLE) && level > 0;
}

static bool s2_is_leaf(u64 pte, unsigned int level)
{
	if (!(pte & S2_VALID))
		return false;
	if (level == 0)
		return pte & S2_TYPE_TABLE;
	return !(pte & S2_TYPE_TABLE) && level <= S2MMU_PT_MAX_LEAF_LEVEL;
}

static u64 s2_make_table(u64 pa)
{
	return (pa & S2_OA_MASK) | S2_TYPE_TABLE | S2_VALID;
}

static u64 s2_table_pa(u64 pte)
{
	return pte & S2_OA_MASK;
}

static u64 s2_prot_bits(u32 prot)
{
	u64 pte = 0;

	if (prot & S2MMU_PROT_R)
		pte |= S2_S2AP_R;
	if (prot & S2MMU_PROT_W)
		pte |= S2_S2AP_W;
	if (!(prot & S2MMU_PROT_X))
		pte |= S2_XN;
	if (prot & S2MMU_PROT_ACCESSED)
		pte |= S2_AF;
	if (prot & S2MMU_PROT_DIRTY)
		pte |= S2_SW_DIRTY;
	return pte;
}

static u64 s2_make_leaf(u64 pa, unsigned int level, u32 prot)
{
	u64 attr = (prot & S2MMU_PROT_DEVICE) ? S2_MEMATTR_DEVICE_NGNRE :
						S2_MEMATTR_NORMAL_WB;
	u64 pte = (pa & s2_oa_mask(level)) | S2_VALID | S2_SH_IS |
		  (attr << S2_MEMATTR_SHIFT) | s2_prot_bits(prot);

	if (level == 0)
		pte |= S2_TYPE_TABLE;	/* page descriptor */
	return pte;
}

static u64 s2_leaf_pa(u64 pte, unsigned int level)
{
	return pte & s2_oa_mask(level);
}

static u32 s2_leaf_prot(u64 pte, unsigned int level)
{
	u32 prot = 0;

	if (pte & S2_S2AP_R)
		prot |= S2MMU_PROT_R;
	if (pte & S2_S2AP_W)
		prot |= S2MMU_PROT_W;
	if (!(pte & S2_XN))
		prot |= S2MMU_PROT_X;
	if (((pte & S2_MEMATTR_MASK) >> S2_MEMATTR_SHIFT) ==
	    S2_MEMATTR_DEVICE_NGNRE)
		prot |= S2MMU_PROT_DEVICE;
	if (pte & S2_AF)
		prot |= S2MMU_PROT_ACCESSED;
	if (pte & S2_SW_DIRTY)
		prot |= S2MMU_PROT_DIRTY;
	return prot;
}

static u64 s2_leaf_update(u64 pte, unsigned int level, u32 set, u32 clear)
{
	u64 mask = S2_S2AP_R | S2_S2AP_W | S2_XN | S2_AF | S2_SW_DIRTY;
	u32 prot = (s2_leaf_prot(pte, level) & ~clear) | set;

	return (pte & ~mask) | (s2_prot_bits(prot) & mask);
}

static u64 s2_split_leaf(u64 pte, unsigned int level, unsigned int index)
{
	u64 oa = s2_leaf_pa(pte, level) +
		 (u64)index * s2mmu_pt_level_size(level - 1);
	u64 child = (pte & ~S2_OA_MASK) | oa;

	if (level - 1 == 0)
		child |= S2_TYPE_TABLE;	/* block -> page descriptor */
	return child;
}

const struct s2mmu_pgtable_ops s2mmu_arm64_s2_ops = {
	.name		= "arm64_s2",
	.pa_bits	= 48,
	.frozen_pte	= S2_FROZEN,
	.levels		= s2_levels,
	.is_present	= s2_is_present,
	.is_table	= s2_is_table,
	.is_leaf	= s2_is_leaf,
	.make_table	= s2_make_table,
	.table_pa	= s2_table_pa,
	.make_leaf	= s2_make_leaf,
	.leaf_pa	= s2_leaf_pa,
	.leaf_prot	= s2_leaf_prot,
	.leaf_update	= s2_leaf_update,
	.split_leaf	= s2_split_leaf,
	.bits = {
		.table_mask	= S2_VALID | S2_TYPE_TABLE,
		.table		= S2_VALID | S2_TYPE_TABLE,
		.page_mask	= S2_VALID | S2_TYPE_TABLE,
		.page		= S2_VALID | S2_TYPE_TABLE,
		.block_mask	= S2_VALID | S2_TYPE_TABLE,
		.block		= S2_VALID,
		.oa_mask	= S2_OA_MASK,
		.r		= S2_S2AP_R,
		.w		= S2_S2AP_W,
		.x_mask		= S2_XN,
		.x		= 0,
		.device_mask	= S2_MEMATTR_MASK,
		.device		= S2_MEMATTR_DEVICE_NGNRE << S2_MEMATTR_SHIFT,
		.accessed	= S2_AF,
		.dirty		= S2_SW_DIRTY,
	},
};
