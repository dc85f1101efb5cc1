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
 * address width in bits 8-15 (0 picks the type's default), flags from
 * bit 24, all other bits zero.
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

/*
 * S2MMU_VM_DISABLE_NX_HUGE_PAGES: the NX huge page mitigation (module
 * parameter nx_huge_pages) never applies to this VM, as KVM's
 * KVM_CAP_VM_DISABLE_NX_HUGE_PAGES.  x86 TDP VMs only (-EINVAL for other
 * types); needs CAP_SYS_BOOT (-EPERM).
 */
#define S2MMU_VM_DISABLE_NX_HUGE_PAGES	(1UL << 24)

/*
 * S2MMU_VM_ARM64_MTE: the guest has the Memory Tagging Extension, as a
 * KVM VM with KVM_CAP_ARM_MTE: every page is given clean allocation
 * tags the first time it is mapped into stage 2, memory slots must be
 * over VMAs that allow tags (VM_MTE_ALLOWED: anonymous or shmem/memfd
 * memory, not hugetlb, not PFNMAP), the guest loads and stores tags
 * (S2MMU_OP_LOAD_TAGS, S2MMU_OP_STORE_TAGS), and the VMM copies them with
 * S2MMU_ARM64_MTE_COPY_TAGS.  arm64 stage-2 VMs on an arm64 host whose
 * CPUs have MTE and whose kernel serialises tag initialisation (6.2 and
 * later) only: -EINVAL elsewhere.  S2MMU_ENABLE_CAP(S2MMU_CAP_ARM64_MTE)
 * does the same for a VM created without it, before its first vCPU and
 * its first memory slot.
 */
#define S2MMU_VM_ARM64_MTE		(1UL << 25)

/* System ioctls, on /dev/s2mmu. */
#define S2MMU_GET_API_VERSION	_IO(S2MMUIO, 0x00)
#define S2MMU_CREATE_VM		_IO(S2MMUIO, 0x01)

/*
 * S2MMU_CHECK_EXTENSION (argument: a capability number), on /dev/s2mmu
 * and on the VM fd, as KVM_CHECK_EXTENSION: 0 when the capability is
 * unknown or not supported, a positive value when it is (on the VM fd the
 * answer may depend on the VM type).  Capabilities that exist in KVM have
 * KVM's number; s2mmu's own start at 1000.  Only those answering > 0 are
 * implemented; the others are reserved with KVM's number.
 */
#define S2MMU_CHECK_EXTENSION	_IO(S2MMUIO, 0x03)

#define S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2	168	/* KVM's */
#define S2MMU_CAP_BINARY_STATS_FD		203	/* KVM's */
#define S2MMU_CAP_ARM64_MTE			205	/* KVM_CAP_ARM_MTE */
#define S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES	220	/* KVM's */
#define S2MMU_CAP_USER_MEMORY2			231	/* KVM's */
#define S2MMU_CAP_MEMORY_ATTRIBUTES		233	/* KVM's */
#define S2MMU_CAP_GUEST_MEMFD			234	/* KVM's */
/* s2mmu's own: how dirty pages are tracked (args[0]: one mode). */
#define S2MMU_CAP_DIRTY_LOG_MODE		1000
/* s2mmu's own: split huge leaves when logging is enabled (args[0]: 0/1). */
#define S2MMU_CAP_DIRTY_LOG_EAGER_SPLIT		1001
/*
 * s2mmu's own: a guest read fault mapped at 4 KiB also maps up to args[0]
 * frames after it that the host maps already, not marked Accessed
 * (0: off, the default; CHECK_EXTENSION answers the most allowed).
 */
#define S2MMU_CAP_FAULT_AROUND			1002

/* S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2 options, KVM's values. */
#define S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE	(1U << 0)
#define S2MMU_DIRTY_LOG_INITIALLY_SET		(1U << 1)

/* S2MMU_CAP_DIRTY_LOG_MODE modes; CHECK_EXTENSION returns the mask. */
#define S2MMU_DIRTY_LOG_MODE_WRPROT	(1U << 0)	/* write-protection (default) */
#define S2MMU_DIRTY_LOG_MODE_DBIT	(1U << 1)	/* Dirty-bit harvesting */

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
	__u32 nr_slots;		/* memory slots in use */
	__u64 max_gpa;		/* first guest physical address not mappable */
	/* cumulative counts since the VM was created */
	__u64 stat_invalidations;	/* invalidate_range_start callbacks */
	__u64 stat_zaps;		/* zaps that removed entries */
	__u64 stat_remote_tlb_flushes;	/* TLB shootdowns of all vCPUs */
	__u64 stat_table_pages;		/* stage-2 table pages now in use */
	/* version 2: binaries built before it pass S2MMU_VM_INFO_SIZE_V1 */
	__u32 flags;			/* S2MMU_VM_INFO_* */
	__u32 pad;
	__u64 stat_nx_lpage_splits;	/* possible NX huge pages now recorded */
	__u64 stat_nx_lpage_recoveries;	/* of them, unlinked by recovery */
};

/* flags: the NX huge page mitigation applies to this VM now. */
#define S2MMU_VM_INFO_NX_HUGE_PAGES	(1U << 0)

/*
 * The ioctl number carries the structure's size: the first version's
 * number (S2MMU_GET_VM_INFO_V1) keeps working and fills the fields up to
 * stat_table_pages.
 */
#define S2MMU_VM_INFO_SIZE_V1	56
#define S2MMU_GET_VM_INFO	_IOR(S2MMUIO, 0x10, struct s2mmu_vm_info)
#define S2MMU_GET_VM_INFO_V1	_IOC(_IOC_READ, S2MMUIO, 0x10, S2MMU_VM_INFO_SIZE_V1)

/*
 * S2MMU_SET_MEMORY_REGION: create, move, change the flags of, or delete
 * (memory_size 0) memory slot @slot, mapping guest physical
 * [guest_phys_addr, guest_phys_addr + memory_size) to the caller's
 * virtual [userspace_addr, userspace_addr + memory_size).  Semantics and
 * validation as KVM_SET_USER_MEMORY_REGION.
 */
struct s2mmu_memory_region {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;	/* bytes; 0 deletes the slot */
	__u64 userspace_addr;	/* start of the backing host memory */
};

#define S2MMU_MEM_LOG_DIRTY_PAGES	(1U << 0)
#define S2MMU_MEM_READONLY		(1U << 1)

#define S2MMU_MAX_MEMSLOTS		32764

#define S2MMU_SET_MEMORY_REGION	_IOW(S2MMUIO, 0x11, struct s2mmu_memory_region)

/*
 * Guest-private memory, as KVM's guest_memfd (Documentation/uapi.rst,
 * "Guest-private memory").
 *
 * S2MMU_CREATE_GUEST_MEMFD (VM fd; KVM_CREATE_GUEST_MEMFD's layout): a new
 * file (O_RDWR | O_CLOEXEC) of @size bytes (page aligned, non-zero) whose
 * memory the module allocates and owns; it is bound to the VM that
 * created it.  flags and reserved must be zero.  The file cannot be read,
 * written or mapped; fstat() reports its size; fallocate() takes
 * FALLOC_FL_KEEP_SIZE (allocate) and FALLOC_FL_KEEP_SIZE |
 * FALLOC_FL_PUNCH_HOLE (free, and unmap from the guest).
 */
struct s2mmu_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};

#define S2MMU_CREATE_GUEST_MEMFD	_IOWR(S2MMUIO, 0x1b, struct s2mmu_create_guest_memfd)

/*
 * S2MMU_SET_MEMORY_REGION2: S2MMU_SET_MEMORY_REGION with the layout of
 * kvm_userspace_memory_region2.  With S2MMU_MEM_GUEST_MEMFD the slot's
 * private frames come from @guest_memfd (an fd this VM created) at
 * @guest_memfd_offset (page aligned; the slot must fit in the file, and
 * no other slot may be bound to any of its range); its shared frames
 * still come from @userspace_addr.  Such a slot cannot be read-only or
 * log dirty pages, and cannot be changed, only deleted (as KVM).  The
 * padding must be zero.  S2MMU_SET_MEMORY_REGION refuses the flag.
 */
struct s2mmu_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};

#define S2MMU_MEM_GUEST_MEMFD		(1U << 2)

#define S2MMU_SET_MEMORY_REGION2	_IOW(S2MMUIO, 0x19, struct s2mmu_memory_region2)

/*
 * S2MMU_SET_MEMORY_ATTRIBUTES (KVM_SET_MEMORY_ATTRIBUTES' layout): set the
 * attributes of guest physical [address, address + size) (page aligned,
 * non-empty, inside the VM's address space) to @attributes, which
 * S2MMU_CHECK_EXTENSION(S2MMU_CAP_MEMORY_ATTRIBUTES) lists; flags must be
 * zero.  A frame with S2MMU_MEMORY_ATTRIBUTE_PRIVATE is mapped from its
 * slot's guest_memfd, any other from the slot's host memory; every change
 * unmaps the range from stage 2 first.
 */
struct s2mmu_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};

#define S2MMU_MEMORY_ATTRIBUTE_PRIVATE	(1ULL << 3)

#define S2MMU_SET_MEMORY_ATTRIBUTES	_IOW(S2MMUIO, 0x1a, struct s2mmu_memory_attributes)

/*
 * S2MMU_CHECK_INVARIANTS (debug): under the VM's locks, check every
 * present stage-2 leaf against the host page tables of the VM's mm at the
 * slot's host address (a private frame's: against its guest_memfd page),
 * the table-page accounting, and the idle vCPUs' TLBs.  Returns 0, or
 * -EUCLEAN when any count of violations is non-zero; the structure is
 * filled in both cases.
 */
struct s2mmu_invariants {
	__u64 leaves;		/* present leaves checked */
	__u64 tables;		/* table pages found by the walk (root included) */
	__u64 no_slot;		/* leaf outside (or running past) its slot */
	__u64 host_unmapped;	/* leaf whose host address is not mapped */
	__u64 bad_pfn;		/* leaf mapping another page than the host */
	__u64 bad_write;	/* writable leaf over a read-only host mapping */
	__u64 bad_huge;		/* leaf larger than the host mapping */
	__u64 bad_accounting;	/* table counts that differ from the walk */
	__u64 stale_tlb;	/* vCPU TLB entries the tables do not back */
	__u64 vcpus_skipped;	/* vCPUs running, so their TLBs not checked */
	/* a private leaf that is huge or not on its guest_memfd page (or
	 * has none), or a shared huge leaf over a private frame
	 */
	__u64 bad_private;
	__u64 padding[5];
};

#define S2MMU_CHECK_INVARIANTS	_IOR(S2MMUIO, 0x13, struct s2mmu_invariants)

/*
 * S2MMU_GET_STATS_FD (argument 0; on the VM fd and on the vCPU fd): a
 * read-only file descriptor (O_CLOEXEC) holding the VM's or the vCPU's
 * statistics in KVM's binary stats format, byte for byte: a struct
 * s2mmu_stats_header at offset 0, the id string (name_size bytes,
 * "s2mmu-<pid>" or "s2mmu-<pid>/vcpu-<id>", NUL padded) at id_offset,
 * num_desc descriptors of sizeof(struct s2mmu_stats_desc) + name_size
 * bytes each at desc_offset, and the values (__u64 each, desc->size of
 * them per statistic) at data_offset + desc->offset.  Read it with
 * pread() (or read(), which follows the file position); everything but
 * the values is constant for the life of the fd.  The fd keeps the VM
 * alive: it can be read after the VM and vCPU fds are closed, and by
 * whoever it is passed to.  See Documentation/uapi.rst for the list.
 */
#define S2MMU_STATS_NAME_SIZE		48

#define S2MMU_STATS_TYPE_SHIFT		0
#define S2MMU_STATS_TYPE_MASK		(0xF << S2MMU_STATS_TYPE_SHIFT)
#define S2MMU_STATS_TYPE_CUMULATIVE	(0x0 << S2MMU_STATS_TYPE_SHIFT)
#define S2MMU_STATS_TYPE_INSTANT	(0x1 << S2MMU_STATS_TYPE_SHIFT)
#define S2MMU_STATS_TYPE_PEAK		(0x2 << S2MMU_STATS_TYPE_SHIFT)
#define S2MMU_STATS_TYPE_LINEAR_HIST	(0x3 << S2MMU_STATS_TYPE_SHIFT)
#define S2MMU_STATS_TYPE_LOG_HIST	(0x4 << S2MMU_STATS_TYPE_SHIFT)
#define S2MMU_STATS_TYPE_MAX		S2MMU_STATS_TYPE_LOG_HIST

#define S2MMU_STATS_UNIT_SHIFT		4
#define S2MMU_STATS_UNIT_MASK		(0xF << S2MMU_STATS_UNIT_SHIFT)
#define S2MMU_STATS_UNIT_NONE		(0x0 << S2MMU_STATS_UNIT_SHIFT)
#define S2MMU_STATS_UNIT_BYTES		(0x1 << S2MMU_STATS_UNIT_SHIFT)
#define S2MMU_STATS_UNIT_SECONDS	(0x2 << S2MMU_STATS_UNIT_SHIFT)
#define S2MMU_STATS_UNIT_CYCLES		(0x3 << S2MMU_STATS_UNIT_SHIFT)
#define S2MMU_STATS_UNIT_BOOLEAN	(0x4 << S2MMU_STATS_UNIT_SHIFT)
#define S2MMU_STATS_UNIT_MAX		S2MMU_STATS_UNIT_BOOLEAN

#define S2MMU_STATS_BASE_SHIFT		8
#define S2MMU_STATS_BASE_MASK		(0xF << S2MMU_STATS_BASE_SHIFT)
#define S2MMU_STATS_BASE_POW10		(0x0 << S2MMU_STATS_BASE_SHIFT)
#define S2MMU_STATS_BASE_POW2		(0x1 << S2MMU_STATS_BASE_SHIFT)
#define S2MMU_STATS_BASE_MAX		S2MMU_STATS_BASE_POW2

/* As struct kvm_stats_header. */
struct s2mmu_stats_header {
	__u32 flags;		/* 0 */
	__u32 name_size;	/* S2MMU_STATS_NAME_SIZE */
	__u32 num_desc;
	__u32 id_offset;
	__u32 desc_offset;
	__u32 data_offset;
};

/*
 * As struct kvm_stats_desc: a value is its value * base^exponent units
 * (base 10 or 2); a log histogram's bucket 0 counts the value 0, bucket
 * i > 0 the values in [2^(i-1), 2^i), the last one everything above.
 */
struct s2mmu_stats_desc {
	__u32 flags;		/* S2MMU_STATS_TYPE_* | _UNIT_* | _BASE_* */
	__s16 exponent;
	__u16 size;		/* number of __u64 values */
	__u32 offset;		/* of the values, from data_offset */
	__u32 bucket_size;	/* linear histograms only, else 0 */
	char name[];		/* name_size bytes, NUL terminated */
};

#define S2MMU_GET_STATS_FD	_IO(S2MMUIO, 0x17)

/*
 * S2MMU_ENABLE_CAP: turn on a per-VM capability, as KVM_ENABLE_CAP on the
 * VM fd.  flags and pad must be zero, and so must the args a capability
 * does not use; an unknown capability is -EINVAL.
 */
struct s2mmu_enable_cap {
	__u32 cap;
	__u32 flags;
	__u64 args[4];
	__u8 pad[64];
};

#define S2MMU_ENABLE_CAP	_IOW(S2MMUIO, 0x14, struct s2mmu_enable_cap)

/*
 * S2MMU_GET_DIRTY_LOG and S2MMU_CLEAR_DIRTY_LOG, with the layouts and the
 * semantics of KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG: one bit per
 * 4 KiB page of the slot, bit i of the bitmap (64-bit words, bit 0 the
 * least significant) for page first_page + i.  See Documentation/uapi.rst.
 */
#ifdef __KERNEL__
#define __S2MMU_UPTR	void __user *
#else
#define __S2MMU_UPTR	void *		/* headers_install strips __user */
#endif

struct s2mmu_dirty_log {
	__u32 slot;
	__u32 padding1;
	union {
		__S2MMU_UPTR dirty_bitmap;	/* one bit per page */
		__u64 padding2;
	};
};

struct s2mmu_clear_dirty_log {
	__u32 slot;
	__u32 num_pages;
	__u64 first_page;
	union {
		__S2MMU_UPTR dirty_bitmap;	/* one bit per page */
		__u64 padding2;
	};
};

#define S2MMU_GET_DIRTY_LOG	_IOW(S2MMUIO, 0x15, struct s2mmu_dirty_log)
#define S2MMU_CLEAR_DIRTY_LOG	_IOWR(S2MMUIO, 0x16, struct s2mmu_clear_dirty_log)

/*
 * S2MMU_ARM64_MTE_COPY_TAGS (MTE VMs, as KVM_ARM_MTE_COPY_TAGS): copy the
 * allocation tags of guest memory [guest_ipa, guest_ipa + length) to
 * (S2MMU_ARM64_MTE_TAGS_FROM_GUEST) or from (..._TO_GUEST) the buffer at
 * addr, one byte per 16-byte granule (the tag in bits 0-3; on TO_GUEST
 * bits 4-7 are ignored), so length / 16 bytes.  guest_ipa and length
 * are page aligned, length at most INT_MAX; reserved must be zero.  An
 * untagged page reads as tags 0.  Returns the number of guest bytes whose
 * tags were copied (fewer than length when it stopped early), or -EINVAL
 * (bad argument, not an MTE VM), -EFAULT (a page in no slot or not
 * mappable, a read-only slot for TO_GUEST, a bad buffer).
 * addr is a user pointer (void __user * in KVM's structure, same layout).
 */
struct s2mmu_arm64_copy_mte_tags {
	__u64 guest_ipa;
	__u64 length;
	__u64 addr;
	__u64 flags;
	__u64 reserved[2];
};

#define S2MMU_ARM64_MTE_TAGS_TO_GUEST	0
#define S2MMU_ARM64_MTE_TAGS_FROM_GUEST	1

#define S2MMU_ARM64_MTE_COPY_TAGS	_IOR(S2MMUIO, 0x18, struct s2mmu_arm64_copy_mte_tags)

/* S2MMU_CREATE_VCPU (argument: vCPU id, 0..S2MMU_MAX_VCPUS-1) -> vCPU fd. */
#define S2MMU_MAX_VCPUS		64
#define S2MMU_CREATE_VCPU	_IO(S2MMUIO, 0x12)

/*
 * vCPU ioctls.
 *
 * S2MMU_RUN executes a list of guest accesses.  The run structure is
 * either the page mapped by mmap() of the vCPU fd at offset 0 (argument
 * 0), or a struct s2mmu_run passed by pointer (copied in and out).
 *
 * Each access covers [gpa, gpa + len).  READ and EXEC copy guest memory to
 * the caller's buffer at uaddr, WRITE copies from it; TOUCH copies nothing:
 * the guest loads one byte at every stride-th byte of the range (stores it
 * back unchanged with S2MMU_ACCESS_F_WRITE), the whole range repeat times.
 * stride 0 means 4096, repeat 0 means 1.
 *
 * MTE VMs (S2MMU_VM_ARM64_MTE) only, -EINVAL elsewhere: LOAD_TAGS reads
 * the allocation tag of every 16-byte granule of the range, as the
 * guest's LDG would, into one byte per granule at uaddr (len / 16
 * bytes); STORE_TAGS sets them from those bytes (bits 0-3), as STG
 * would, leaving the data alone.  A tag store is a write for stage 2
 * (it needs a writable slot and sets Dirty).  gpa and len must be
 * multiples of 16; flags, stride and repeat zero.
 *
 * MAP_GPA_RANGE is the guest asking to convert [gpa, gpa + len) (page
 * aligned, non-empty) to private (flags S2MMU_ACCESS_F_PRIVATE) or to
 * shared (flags 0), as a guest's KVM_HC_MAP_GPA_RANGE hypercall: it
 * touches no memory and always exits S2MMU_EXIT_HYPERCALL with
 * hypercall.nr S2MMU_HC_MAP_GPA_RANGE, args[0] the gpa, args[1] the
 * number of 4 KiB pages and args[2] S2MMU_MAP_GPA_RANGE_ENCRYPTED or
 * _DECRYPTED (KVM's values).  The VMM converts (S2MMU_SET_MEMORY_ATTRIBUTES)
 * and runs the accesses after it; uaddr, stride and repeat must be zero.
 */
#define S2MMU_OP_READ		0
#define S2MMU_OP_WRITE		1
#define S2MMU_OP_EXEC		2
#define S2MMU_OP_TOUCH		3
#define S2MMU_OP_LOAD_TAGS	4
#define S2MMU_OP_STORE_TAGS	5
#define S2MMU_OP_MAP_GPA_RANGE	6

#define S2MMU_MTE_GRANULE_SIZE	16	/* bytes of memory per allocation tag */

#define S2MMU_ACCESS_F_WRITE	(1U << 0)	/* TOUCH only: write access */
#define S2MMU_ACCESS_F_PRIVATE	(1U << 1)	/* MAP_GPA_RANGE only: to private */

/* S2MMU_EXIT_HYPERCALL of MAP_GPA_RANGE: KVM's numbers. */
#define S2MMU_HC_MAP_GPA_RANGE		12
#define S2MMU_MAP_GPA_RANGE_PAGE_SZ_4K	0
#define S2MMU_MAP_GPA_RANGE_ENCRYPTED	(1U << 4)
#define S2MMU_MAP_GPA_RANGE_DECRYPTED	(0U << 4)

struct s2mmu_access {
	__u64 gpa;
	__u64 len;
	__u64 uaddr;
	__u32 op;
	__u32 flags;
	__u64 stride;
	__u64 repeat;
};

#define S2MMU_EXIT_DONE		0
#define S2MMU_EXIT_MMIO		1
#define S2MMU_EXIT_MEMORY_FAULT	2
#define S2MMU_EXIT_INTR		3
#define S2MMU_EXIT_HYPERCALL	4

/*
 * memory_fault.flags: the access kind and why it could not be mapped.
 * S2MMU_MEMORY_FAULT_PRIVATE (KVM_MEMORY_EXIT_FLAG_PRIVATE's value): the
 * frame is private (S2MMU_MEMORY_ATTRIBUTE_PRIVATE) and its slot cannot
 * provide it (no guest_memfd, or the guest_memfd is gone): the VMM
 * converts the range to shared, or binds memory, and runs again.
 */
#define S2MMU_MEMORY_FAULT_WRITE	(1ULL << 0)	/* it was a write */
#define S2MMU_MEMORY_FAULT_EXEC		(1ULL << 1)	/* it was a fetch */
#define S2MMU_MEMORY_FAULT_READONLY	(1ULL << 2)	/* write to a read-only slot */
#define S2MMU_MEMORY_FAULT_PRIVATE	(1ULL << 3)	/* a private frame */
#define S2MMU_MEMORY_FAULT_HWPOISON	(1ULL << 4)	/* hardware-poisoned page */
#define S2MMU_MEMORY_FAULT_NOT_MAPPED	(1ULL << 5)	/* hva not mapped / no access */

#define S2MMU_MAX_ACCESSES	4096

struct s2mmu_run {
	/* in */
	__u64 accesses;		/* user pointer to struct s2mmu_access[] */
	__u32 nr_accesses;	/* at most S2MMU_MAX_ACCESSES */
	__u32 flags;		/* must be 0 */
	/* out */
	__u32 exit_reason;	/* S2MMU_EXIT_* */
	__u32 pad;
	__u64 done;		/* accesses completed; the exit is in accesses[done] */
	union {
		/* S2MMU_EXIT_MMIO: no slot at gpa */
		struct {
			__u64 gpa;
			__u64 len;
			__u32 is_write;
			__u32 pad;
		} mmio;
		/* S2MMU_EXIT_MEMORY_FAULT */
		struct {
			__u64 flags;
			__u64 gpa;
			__u64 size;
		} memory_fault;
		/*
		 * S2MMU_EXIT_HYPERCALL: kvm_run's hypercall without its
		 * last field (flags, x86's long mode), to fit.  ret is
		 * not read back.
		 */
		struct {
			__u64 nr;
			__u64 args[6];
			__u64 ret;
		} hypercall;
		__u64 padding[8];
	};
	/* statistics of this vCPU, cumulative */
	__u64 stat_faults;	/* stage-2 faults handled */
	__u64 stat_fault_retries;	/* faults retried after an invalidation raced */
	__u64 stat_tlb_flushes;	/* software TLB flushes */
	__u64 stat_tlb_misses;	/* software TLB misses (stage-2 walks) */
};

#define S2MMU_RUN		_IO(S2MMUIO, 0x20)

/*
 * S2MMU_PRE_FAULT_MEMORY: map [gpa, gpa + size) as a read fault would,
 * without running the guest.  As KVM_PRE_FAULT_MEMORY: on return gpa and
 * size are advanced past what was mapped; -EINTR/-EAGAIN with progress
 * can be retried; -ENOENT for a gpa in no slot, -EFAULT when the host
 * memory cannot be faulted in.
 */
struct s2mmu_pre_fault_memory {
	__u64 gpa;
	__u64 size;
	__u64 flags;		/* must be 0 */
	__u64 padding[5];
};

#define S2MMU_PRE_FAULT_MEMORY	_IOWR(S2MMUIO, 0x21, struct s2mmu_pre_fault_memory)

/*
 * S2MMU_TRANSLATE: what the stage-2 tables hold for gpa.  hpa is reported
 * only to CAP_SYS_ADMIN (0 otherwise).
 */
struct s2mmu_translation {
	__u64 gpa;		/* in */
	__u64 hpa;		/* out: host physical address of gpa */
	__u32 level;		/* out: leaf level: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB */
	__u8 present;
	__u8 writable;
	__u8 executable;
	__u8 accessed;
	__u8 dirty;
	__u8 pad[7];
};

#define S2MMU_TRANSLATE		_IOWR(S2MMUIO, 0x22, struct s2mmu_translation)

#endif /* _UAPI_LINUX_S2MMU_H */
