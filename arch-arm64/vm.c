// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 stage-2 VM type: what an S2MMU_VM_ARM64_S2 VM does
 * differently from other VM types.  The engine and the VM layer reach it
 * only through s2mmu_arm64_s2_vm_ops (selected by s2mmu_vm_ops_select()).
 */
#include "s2mmu.h"

const struct s2mmu_vm_ops s2mmu_arm64_s2_vm_ops = {
	.name			= "arm64_s2",
	.type			= S2MMU_VM_ARM64_S2,
	.pgt_ops		= &s2mmu_arm64_s2_ops,
	/* KVM's default IPA size on arm64. */
	.default_gpa_bits	= 40,
	/* MTE VMs: tags initialised before a page is first mapped. */
	.prepare_page		= s2mmu_arm64_mte_prepare_page,
	.prepare_memory_region	= s2mmu_arm64_mte_prepare_memory_region,
	.mte_supported		= s2mmu_arm64_mte_supported,
};
