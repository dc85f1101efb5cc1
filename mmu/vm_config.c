// SPDX-License-Identifier: GPL-2.0
/*
 * VM types and the S2MMU_CREATE_VM argument: the argument selects the
 * type's struct s2mmu_vm_ops (arch-x86/vm.c, arch-arm64/vm.c), whose
 * entry format validates the address width.
 *
 * Pure functions with no kernel state, so KUnit tests them directly.
 */
#include <linux/errno.h>
#include <linux/kernel.h>

#include "s2mmu.h"

/* The VM types, as damon_select_ops() picks a struct damon_operations. */
static const struct s2mmu_vm_ops *const s2mmu_vm_types[] = {
	&s2mmu_x86_tdp_vm_ops,
	&s2mmu_arm64_s2_vm_ops,
};

/**
 * s2mmu_vm_ops_select() - the operations of a VM type.
 * @type: an S2MMU_VM_* type.
 *
 * Return: the type's operations, or NULL for an unknown type.
 */
const struct s2mmu_vm_ops *s2mmu_vm_ops_select(u32 type)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(s2mmu_vm_types); i++)
		if (s2mmu_vm_types[i]->type == type)
			return s2mmu_vm_types[i];
	return NULL;
}

/**
 * s2mmu_vm_type_mte_supported() - can this host run MTE guests?
 * @ops: a VM type's operations, or NULL for "any VM type".
 *
 * The one test behind %S2MMU_VM_ARM64_MTE at creation and
 * %S2MMU_CAP_ARM64_MTE (S2MMU_CHECK_EXTENSION, S2MMU_ENABLE_CAP): the
 * type's &struct s2mmu_vm_ops.mte_supported (arm64 stage 2 on an MTE
 * host, 6.2+).
 *
 * Return: true if @ops (or, for NULL, some VM type) can have MTE guests.
 */
bool s2mmu_vm_type_mte_supported(const struct s2mmu_vm_ops *ops)
{
	unsigned int i;

	if (ops)
		return ops->mte_supported && ops->mte_supported();
	for (i = 0; i < ARRAY_SIZE(s2mmu_vm_types); i++)
		if (s2mmu_vm_type_mte_supported(s2mmu_vm_types[i]))
			return true;
	return false;
}

/**
 * s2mmu_parse_vm_type() - validate and decode an S2MMU_CREATE_VM argument.
 * @arg: the ioctl argument: type in bits 0-7, address width in bits 8-15,
 *       flags from bit 24.
 * @cfg: filled on success.
 *
 * The type's entry format decides which widths it translates: the x86
 * TDP format takes 48 (4-level) or 57 (5-level) address bits; the arm64
 * stage-2 format, 4 KiB granule, takes 32 to 48 bits and walks from the
 * start level those bits imply (no concatenated root tables).  A width of
 * 0 asks for the type's default.  %S2MMU_VM_DISABLE_NX_HUGE_PAGES is taken
 * by types with the NX huge page mitigation only (the caller checks the
 * capability it needs); %S2MMU_VM_ARM64_MTE by types whose
 * s2mmu_vm_type_mte_supported() says the host can (arm64 stage 2 on an
 * MTE host, 6.2+).
 *
 * Return: 0, or -EINVAL for an unknown type, an unsupported width, a flag
 * the type does not take or any other bit set.
 */
int s2mmu_parse_vm_type(unsigned long arg, struct s2mmu_vm_config *cfg)
{
	u32 type = arg & S2MMU_VM_TYPE_MASK;
	u32 bits = (arg & S2MMU_VM_GPA_BITS_MASK) >> S2MMU_VM_GPA_BITS_SHIFT;
	const struct s2mmu_vm_ops *ops;
	int levels;

	if (arg & ~(S2MMU_VM_TYPE_MASK | S2MMU_VM_GPA_BITS_MASK |
		    S2MMU_VM_DISABLE_NX_HUGE_PAGES | S2MMU_VM_ARM64_MTE))
		return -EINVAL;
	ops = s2mmu_vm_ops_select(type);
	if (!ops)
		return -EINVAL;
	/* Only a type with the mitigation can opt out of it. */
	if ((arg & S2MMU_VM_DISABLE_NX_HUGE_PAGES) && !ops->nx_huge_pages)
		return -EINVAL;
	/* MTE: arm64 stage-2 VMs on a host that has it (and 6.2+). */
	if ((arg & S2MMU_VM_ARM64_MTE) && !s2mmu_vm_type_mte_supported(ops))
		return -EINVAL;
	if (!bits)
		bits = ops->default_gpa_bits;
	levels = ops->pgt_ops->levels(bits);
	if (levels < 0)
		return -EINVAL;

	cfg->ops = ops;
	cfg->type = type;
	cfg->gpa_bits = bits;
	cfg->levels = levels;
	cfg->nx_huge_pages_disabled = !!(arg & S2MMU_VM_DISABLE_NX_HUGE_PAGES);
	cfg->mte = !!(arg & S2MMU_VM_ARM64_MTE);
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
