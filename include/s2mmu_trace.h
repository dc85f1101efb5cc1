/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s2mmu's tracepoints, system "s2mmu" (Documentation/trace.rst lists
 * them with their fields).  KVM-shaped: the names, fields and formats of
 * kvm_mmu_spte_requested, kvm_tdp_mmu_spte_changed, kvm_unmap_hva_range,
 * kvm_age_hva and kvm_test_age_hva, so scripts written for KVM's events
 * carry over.  mmu/trace.c is the one unit that defines them
 * (CREATE_TRACE_POINTS); every other file includes this header for the
 * trace_s2mmu_*() calls, which cost one static branch while the event is
 * disabled: their arguments are plain values and everything derived from
 * them is computed in TP_fast_assign(), i.e. only when the event fires.
 *
 * pfn and entry values (which hold host frame numbers) are recorded:
 * tracefs is readable by root only.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM s2mmu

#if !defined(_S2MMU_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _S2MMU_TRACE_H

#include <linux/tracepoint.h>
#include <linux/types.h>

/* Frame numbers count the 4 KiB pages of the stage-2 formats. */
#define S2MMU_TRACE_PAGE_SHIFT		12
/* The frames of a leaf of @level below its first one. */
#define S2MMU_TRACE_LEVEL_MASK(level)	((1ULL << ((level) * 9)) - 1)

/*
 * A fault asks for a leaf: @gfn, the faulting guest frame; @pfn, the host
 * frame of the first page of the leaf wanted (aligned to @level); @level,
 * the leaf level (0: 4 KiB, 1: 2 MiB, 2: 1 GiB).  The record holds the
 * host frame of @gfn itself, as KVM's.
 */
TRACE_EVENT(s2mmu_spte_requested,
	    TP_PROTO(u64 gfn, u64 pfn, int level),
	    TP_ARGS(gfn, pfn, level),
	    TP_STRUCT__entry(__field(u64, gfn)
			     __field(u64, pfn)
			     __field(u8, level)),
	    TP_fast_assign(__entry->gfn = gfn;
			   __entry->pfn = pfn + (gfn & S2MMU_TRACE_LEVEL_MASK(level));
			   __entry->level = level;),
	    TP_printk("gfn %llx pfn %llx level %d",
		      __entry->gfn,
		      __entry->pfn,
		      __entry->level)
);

/*
 * The one writer of entries changed one (mmu/pgtable.c pt_set_entry()):
 * any change but an update of Accessed/Dirty only.  @gpa: first guest
 * address the entry maps; @level: its level; @old, @new: the raw entries.
 */
TRACE_EVENT(s2mmu_spte_changed,
	    TP_PROTO(u64 gpa, unsigned int level, u64 old, u64 new),
	    TP_ARGS(gpa, level, old, new),
	    TP_STRUCT__entry(__field(u64, gfn)
			     __field(u64, old_spte)
			     __field(u64, new_spte)
			     __field(u8, level)),
	    TP_fast_assign(__entry->gfn = gpa >> S2MMU_TRACE_PAGE_SHIFT;
			   __entry->old_spte = old;
			   __entry->new_spte = new;
			   __entry->level = level;),
	    TP_printk("gfn %llx level %d old_spte %llx new_spte %llx",
		      __entry->gfn,
		      __entry->level,
		      __entry->old_spte,
		      __entry->new_spte)
);

/* invalidate_range_start on the VM's mm: host range [start, end). */
TRACE_EVENT(s2mmu_unmap_hva_range,
	    TP_PROTO(unsigned long start, unsigned long end),
	    TP_ARGS(start, end),
	    TP_STRUCT__entry(__field(unsigned long, start)
			     __field(unsigned long, end)),
	    TP_fast_assign(__entry->start = start;
			   __entry->end = end;),
	    TP_printk("mmu notifier unmap range: %#016lx -- %#016lx",
		      __entry->start,
		      __entry->end)
);

/*
 * clear_young / clear_flush_young on [start, end) (@clear set; the
 * condition is evaluated only while the event is enabled).
 */
TRACE_EVENT_CONDITION(s2mmu_age_hva,
		      TP_PROTO(unsigned long start, unsigned long end, bool clear),
		      TP_ARGS(start, end, clear),
		      TP_CONDITION(clear),
		      TP_STRUCT__entry(__field(unsigned long, start)
				       __field(unsigned long, end)),
		      TP_fast_assign(__entry->start = start;
				     __entry->end = end;),
		      TP_printk("mmu notifier age hva: %#016lx -- %#016lx",
				__entry->start,
				__entry->end)
);

/* test_young on the page at @hva (@clear clear). */
TRACE_EVENT_CONDITION(s2mmu_test_age_hva,
		      TP_PROTO(unsigned long hva, bool clear),
		      TP_ARGS(hva, clear),
		      TP_CONDITION(!clear),
		      TP_STRUCT__entry(__field(unsigned long, hva)),
		      TP_fast_assign(__entry->hva = hva;),
		      TP_printk("mmu notifier test age hva: %#016lx",
				__entry->hva)
);

/*
 * A fault starts over (mmu/fault.c): @gfn; @seq, the invalidation
 * sequence it had read; @locked, false when the lockless pre-check saw an
 * invalidation in progress (before GUP), true when the check under
 * mmu_lock or the install failed (an invalidation, a racing fault).
 */
TRACE_EVENT(s2mmu_fault_retry,
	    TP_PROTO(u64 gfn, unsigned long seq, bool locked),
	    TP_ARGS(gfn, seq, locked),
	    TP_STRUCT__entry(__field(u64, gfn)
			     __field(unsigned long, seq)
			     __field(bool, locked)),
	    TP_fast_assign(__entry->gfn = gfn;
			   __entry->seq = seq;
			   __entry->locked = locked;),
	    TP_printk("gfn %llx seq %lu %s",
		      __entry->gfn,
		      __entry->seq,
		      __entry->locked ? "install" : "precheck")
);

/* A remote TLB flush of the VM's @nr_vcpus vCPUs (mmu/tlb.c). */
TRACE_EVENT(s2mmu_remote_tlb_flush,
	    TP_PROTO(unsigned int nr_vcpus),
	    TP_ARGS(nr_vcpus),
	    TP_STRUCT__entry(__field(unsigned int, nr_vcpus)),
	    TP_fast_assign(__entry->nr_vcpus = nr_vcpus;),
	    TP_printk("vcpus %u",
		      __entry->nr_vcpus)
);

/*
 * NX huge page recovery unlinked one recorded table
 * (s2mmu_mmu_recover_nx_huge_pages()): @gpa, the first guest address it
 * mapped; @level, the level of the entry that held it (1: 2 MiB, 2: 1 GiB).
 */
TRACE_EVENT(s2mmu_nx_recovered,
	    TP_PROTO(u64 gpa, unsigned int level),
	    TP_ARGS(gpa, level),
	    TP_STRUCT__entry(__field(u64, gfn)
			     __field(u8, level)),
	    TP_fast_assign(__entry->gfn = gpa >> S2MMU_TRACE_PAGE_SHIFT;
			   __entry->level = level;),
	    TP_printk("gfn %llx level %d",
		      __entry->gfn,
		      __entry->level)
);

/* An MTE VM's fault cleared the tags of @cleared of the @nr pages of a leaf. */
TRACE_EVENT(s2mmu_mte_sanitised,
	    TP_PROTO(u64 gfn, unsigned long nr, unsigned long cleared),
	    TP_ARGS(gfn, nr, cleared),
	    TP_STRUCT__entry(__field(u64, gfn)
			     __field(unsigned long, nr)
			     __field(unsigned long, cleared)),
	    TP_fast_assign(__entry->gfn = gfn;
			   __entry->nr = nr;
			   __entry->cleared = cleared;),
	    TP_printk("gfn %llx pages %lu cleared %lu",
		      __entry->gfn, __entry->nr, __entry->cleared)
);

#endif /* _S2MMU_TRACE_H */

/*
 * Out of the kernel tree: define_trace.h includes "./s2mmu_trace.h" from
 * the include path, on which Kbuild (and the KUnit graft) put include/.
 */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE s2mmu_trace
#include <trace/define_trace.h>
