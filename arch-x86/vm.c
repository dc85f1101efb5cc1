// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 TDP VM type: what an S2MMU_VM_X86_TDP VM does differently from
 * other VM types.  The engine and the VM layer reach it only through
 * s2mmu_x86_tdp_vm_ops (selected by s2mmu_vm_ops_select()).
 *
 * The NX huge page mitigation (iTLB multihit, as KVM's): while it applies
 * to a VM, an exec fault maps 4 KiB (fault_level) and huge leaves are
 * installed non-executable (mmu/mmu.c asks nx_huge_pages).  The policy is
 * the nx_huge_pages module parameter (mmu/vm.c), whose state is kept
 * here; Documentation/uapi.rst describes it.
 */
#include <linux/cpu.h>
#include <linux/kernel.h>
#include <linux/string.h>

#if defined(CONFIG_X86) && !defined(CONFIG_UML)
#include <asm/cpufeature.h>
#endif

#include "s2mmu.h"

int s2mmu_x86_nx_huge_pages = S2MMU_X86_NX_AUTO;
bool s2mmu_x86_nx_huge_pages_never;

/*
 * "auto": on where the host CPU has the iTLB multihit erratum and
 * mitigations are not off, as KVM decides.  Elsewhere (arm64 hosts, AMD
 * and QEMU TCG's CPUs, UML) only "force" turns it on, for x86 TDP VMs.
 */
static bool s2mmu_x86_nx_auto(void)
{
#if defined(CONFIG_X86) && !defined(CONFIG_UML)
	return boot_cpu_has_bug(X86_BUG_ITLB_MULTIHIT) && !cpu_mitigations_off();
#else
	return false;
#endif
}

/**
 * s2mmu_x86_nx_huge_pages_on() - is the NX huge page mitigation on?
 *
 * Return: the nx_huge_pages parameter's value, "auto" resolved.
 */
bool s2mmu_x86_nx_huge_pages_on(void)
{
	int on = READ_ONCE(s2mmu_x86_nx_huge_pages);

	return on == S2MMU_X86_NX_AUTO ? s2mmu_x86_nx_auto() : on;
}

/**
 * s2mmu_x86_nx_huge_pages_parse() - parse a value of nx_huge_pages.
 * @val: "off", "force", "auto", "never", or a boolean.
 * @on: out: whether the mitigation is on with @val.
 * @never: out: @val is "never" (off for good).
 *
 * Return: 0, or -EINVAL for anything else.
 */
int s2mmu_x86_nx_huge_pages_parse(const char *val, bool *on, bool *never)
{
	*never = false;
	if (sysfs_streq(val, "off")) {
		*on = false;
	} else if (sysfs_streq(val, "force")) {
		*on = true;
	} else if (sysfs_streq(val, "auto")) {
		*on = s2mmu_x86_nx_auto();
	} else if (sysfs_streq(val, "never")) {
		*on = false;
		*never = true;
	} else if (kstrtobool(val, on)) {
		return -EINVAL;
	}
	return 0;
}

static bool s2mmu_x86_tdp_nx_huge_pages(struct s2mmu_vm *vm)
{
	return !vm->cfg.nx_huge_pages_disabled && s2mmu_x86_nx_huge_pages_on();
}

/* An exec fault under the mitigation maps 4 KiB, whatever the host maps. */
static int s2mmu_x86_tdp_fault_level(struct s2mmu_vm *vm,
				     const struct s2mmu_fault *f, int level)
{
	if (level && (f->access & S2MMU_ACCESS_X) &&
	    s2mmu_x86_tdp_nx_huge_pages(vm))
		return 0;
	return level;
}

const struct s2mmu_vm_ops s2mmu_x86_tdp_vm_ops = {
	.name			= "x86_tdp",
	.type			= S2MMU_VM_X86_TDP,
	.pgt_ops		= &s2mmu_x86_tdp_ops,
	/* 4-level EPT; 57 bits asks for 5 levels. */
	.default_gpa_bits	= 48,
	.fault_level		= s2mmu_x86_tdp_fault_level,
	.nx_huge_pages		= s2mmu_x86_tdp_nx_huge_pages,
};
