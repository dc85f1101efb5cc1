// SPDX-License-Identifier: GPL-2.0
/*
 * Parsing and validation of the S2MMU_CREATE_VM argument.
 *
 * Pure functions with no kernel state, so KUnit tests them directly.
 */
#include <linux/errno.h>
#include <linux/kernel.h>

#include "s2mmu.h"

/* 4 KiB pages, 512 entries per table: 12 bits of page offset, 9 per level. */
#define S2MMU_PAGE_BITS		12
#define S2MMU_LEVEL_BITS	9

/**
 * s2mmu_parse_vm_type() - validate and decode an S2MMU_CREATE_VM argument.
 * @arg: the ioctl argument: type in bits 0-7, address width in bits 8-15.
 * @cfg: filled on success.
 *
 * The x86 TDP format takes 48 (4-level) or 57 (5-level) address bits; the
 * arm64 stage-2 format, 4 KiB granule, takes 32 to 48 bits and walks from
 * the start level those bits imply (no concatenated root tables).
 *
 * Return: 0, or -EINVAL for an unknown type, an unsupported width or any
 * other bit set.
 */
int s2mmu_parse_vm_type(unsigned long arg, struct s2mmu_vm_config *cfg)
{
	u32 type = arg & S2MMU_VM_TYPE_MASK;
	u32 bits = (arg & S2MMU_VM_GPA_BITS_MASK) >> S2MMU_VM_GPA_BITS_SHIFT;

	if (arg & ~(S2MMU_VM_TYPE_MASK | S2MMU_VM_GPA_BITS_MASK))
		return -EINVAL;

	switch (type) {
	case S2MMU_VM_X86_TDP:
		if (!bits)
			bits = 48;
		if (bits != 48 && bits != 57)
			return -EINVAL;
		break;
	case S2MMU_VM_ARM64_S2:
		if (!bits)
			bits = 40;
		if (bits < 32 || bits > 48)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}

	cfg->type = type;
	cfg->gpa_bits = bits;
	cfg->levels = DIV_ROUND_UP(bits - S2MMU_PAGE_BITS, S2MMU_LEVEL_BITS);
	return 0;
}

/**
 * s2mmu_vm_config_max_gpa() - first guest physical address a VM cannot map.
 * @cfg: a configuration filled by s2mmu_parse_vm_type().
 *
 * Return: 2^gpa_bits.
 */
u64 s2mmu_vm_config_max_gpa(const struct s2mmu_vm_config *cfg)
{
	return 1ULL << cfg->gpa_bits;
}
