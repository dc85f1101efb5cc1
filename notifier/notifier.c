// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's mmu_notifier on its owning mm.
 *
 * ->release runs from exit_mmap() (or from mmu_notifier_unregister() when
 * the VM goes first).  It marks the VM's mm as gone so that no new
 * secondary mapping can be created, and will zap every mapping while
 * keeping the root table valid once tables exist, so a fault racing
 * exit_mmap() stays safe.
 */
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>

#include "s2mmu.h"
#include "s2mmu_compat.h"

static void s2mmu_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct s2mmu_vm *vm = container_of(mn, struct s2mmu_vm, mn);

	mutex_lock(&vm->lock);
	vm->mm_released = true;
	mutex_unlock(&vm->lock);
}

static const struct mmu_notifier_ops s2mmu_mn_ops = {
	.release	= s2mmu_mn_release,
};

/**
 * s2mmu_notifier_register() - register the VM's notifier on vm->mm.
 * @vm: a VM whose @mm is set and pinned.
 *
 * Context: process context, current->mm == vm->mm; takes mmap_lock.
 * Return: 0 or the error from mmu_notifier_register().
 */
int s2mmu_notifier_register(struct s2mmu_vm *vm)
{
	vm->mn.ops = &s2mmu_mn_ops;
	return mmu_notifier_register(&vm->mn, vm->mm);
}

/**
 * s2mmu_notifier_unregister() - unregister the VM's notifier.
 * @vm: the VM.
 *
 * Calls ->release if exit_mmap() has not already, and waits for every
 * running callback, so the module may be unloaded once the last VM is
 * gone.
 *
 * Context: process context; sleeps.
 */
void s2mmu_notifier_unregister(struct s2mmu_vm *vm)
{
	mmu_notifier_unregister(&vm->mn, vm->mm);
}
