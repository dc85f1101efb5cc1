/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * s2mmu: a KVM-style secondary MMU driven from userspace.
 *
 * The ioctl ABI.  Conventions follow KVM: /dev/s2mmu answers system
 * ioctls; S2MMU_CREATE_VM returns an anon-inode VM fd answering VM ioctls.
 * All structure fields are fixed width; padding is explicit and must be
 * zero; unknown flags are rejected with -EINVAL.  See
 * Documentation/uapi.rst.
 */
#ifndef _UAPI_LINUX_S2MMU_H
#define _UAPI_LINUX_S2MMU_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Bumped on incompatible changes only; new ioctls are probed by -ENOTTY. */
#define S2MMU_API_VERSION	1

#define S2MMUIO			0xB8

/*
 * S2MMU_CREATE_VM argument: the VM type in bits 0-7, the guest physical
 * address width in bits 8-15 (0 picks the type's default), all other
 * bits zero.
 *
 * S2MMU_VM_X86_TDP: x86 TDP (EPT) format; 48 (4-level, default) or 57
 * (5-level) address bits.
 * S2MMU_VM_ARM64_S2: arm64 stage-2 format, 4 KiB granule; 32 to 48 address
 * bits (default 40).
 */
#define S2MMU_VM_X86_TDP		1
#define S2MMU_VM_ARM64_S2		2
#define S2MMU_VM_TYPE_MASK		0xffUL
#define S2MMU_VM_GPA_BITS_SHIFT		8
#define S2MMU_VM_GPA_BITS_MASK		(0xffUL << S2MMU_VM_GPA_BITS_SHIFT)
#define S2MMU_VM_GPA_BITS(n)		((unsigned long)(n) << S2MMU_VM_GPA_BITS_SHIFT)

/* System ioctls, on /dev/s2mmu. */
#define S2MMU_GET_API_VERSION	_IO(S2MMUIO, 0x00)
#define S2MMU_CREATE_VM		_IO(S2MMUIO, 0x01)

/*
 * VM ioctls, on the VM fd.
 *
 * S2MMU_GET_VM_INFO reports what the VM was created with; it is the
 * cheapest VM ioctl and the one tests use to probe ownership (-EIO from
 * a process whose mm is not the VM's).
 */
struct s2mmu_vm_info {
	__u32 type;		/* S2MMU_VM_X86_TDP or S2MMU_VM_ARM64_S2 */
	__u32 gpa_bits;		/* guest physical address width */
	__u32 levels;		/* stage-2 table levels walked */
	__u32 pad;		/* written as zero */
	__u64 max_gpa;		/* first guest physical address not mappable */
};

#define S2MMU_GET_VM_INFO	_IOR(S2MMUIO, 0x10, struct s2mmu_vm_info)

#endif /* _UAPI_LINUX_S2MMU_H */
