// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 TDP VM type: what an S2MMU_VM_X86_TDP VM does differently from
 * other VM types.  The engine and the VM layer reach it only through
 * s2mmu_x86_tdp_vm_ops (selected by s2mmu_vm_ops_select()).
 */
#include "s2mmu.h"

const struct s2mmu_vm_ops s2mmu_x86_tdp_vm_ops = {
	.name			= "x86_tdp",
	.type			= S2MMU_VM_X86_TDP,
	.pgt_ops		= &s2mmu_x86_tdp_ops,
	/* 4-level EPT; 57 bits asks for 5 levels. */
	.default_gpa_bits	= 48,
};
