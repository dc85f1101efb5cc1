/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s2mmu internal interfaces shared by mmu/, notifier/ and the arch formats.
 *
 * Locking and lifetime rules are written next to each field and, as a
 * whole, in Documentation/locking.rst.
 */
#ifndef _S2MMU_H
#define _S2MMU_H

#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/types.h>

#include <linux/s2mmu.h>

struct mm_struct;

/**
 * struct s2mmu_vm_config - what a VM was created with, parsed from the
 * S2MMU_CREATE_VM argument by s2mmu_parse_vm_type().
 * @type: %S2MMU_VM_X86_TDP or %S2MMU_VM_ARM64_S2.
 * @gpa_bits: guest physical address width.
 * @levels: number of stage-2 table levels covering @gpa_bits with 4 KiB
 *          tables of 512 entries.
 */
struct s2mmu_vm_config {
	u32 type;
	u32 gpa_bits;
	u32 levels;
};

int s2mmu_parse_vm_type(unsigned long arg, struct s2mmu_vm_config *cfg);
u64 s2mmu_vm_config_max_gpa(const struct s2mmu_vm_config *cfg);

/**
 * struct s2mmu_vm - one VM: a secondary MMU for the mm that created it.
 * @mn: mmu_notifier registered on @mm for the VM's whole life.
 * @mm: the owning mm, pinned with mmgrab() (not mmget(): the VM must not
 *      keep the address space alive).  Constant after creation.  Only
 *      tasks whose current->mm is @mm may issue VM ioctls.
 * @cfg: creation parameters; constant after creation.
 * @users: references: one per open VM fd (and, later, one per vCPU).
 *         The VM is destroyed when it drops to zero.
 * @lock: serialises VM ioctls that change VM state against each other and
 *        against ->release.  Never taken inside a notifier callback other
 *        than ->release (which may sleep).
 * @mm_released: set under @lock by ->release when the owning mm is torn
 *               down (exit_mmap); no mapping may be created afterwards.
 */
struct s2mmu_vm {
	struct mmu_notifier mn;
	struct mm_struct *mm;
	struct s2mmu_vm_config cfg;
	refcount_t users;
	struct mutex lock;	/* protects mm_released; see above */
	bool mm_released;
};

int s2mmu_vm_create(unsigned long arg);
void s2mmu_vm_put(struct s2mmu_vm *vm);

int s2mmu_notifier_register(struct s2mmu_vm *vm);
void s2mmu_notifier_unregister(struct s2mmu_vm *vm);

#endif /* _S2MMU_H */
