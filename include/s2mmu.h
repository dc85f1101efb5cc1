/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s2mmu internal interfaces shared by mmu/, notifier/ and the arch formats.
 *
 * Locking and lifetime rules are written next to each field and, as a
 * whole, in Documentation/locking.rst.
 */
#ifndef _S2MMU_H
#define _S2MMU_H

#include <linux/bitops.h>
#include <linux/maple_tree.h>
#include <linux/math.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <linux/s2mmu.h>

#include "s2mmu_pgtable.h"

struct mm_struct;
struct page;
struct s2mmu_fault;
struct s2mmu_vm;

/*
 * Test hooks, KUnit builds only: a test sets a hook to play another
 * thread at a point where threads race on real hardware (KUnit under UML
 * runs on one CPU and does not preempt the kernel there).  Elsewhere the
 * call compiles away and the hook variable need not exist.
 */
#ifdef S2MMU_KUNIT
#define S2MMU_TEST_HOOK(hook, ...)					\
	do {								\
		typeof(hook) __hook = READ_ONCE(hook);			\
									\
		if (__hook)						\
			__hook(__VA_ARGS__);				\
	} while (0)
#else
#define S2MMU_TEST_HOOK(...) do { } while (0)
#endif

/**
 * struct s2mmu_vm_ops - what a VM type does its own way, chosen at VM
 * creation by s2mmu_vm_ops_select() (as DAMON selects its operations).
 * Each arch folder owns its type's instance (arch-x86/vm.c,
 * arch-arm64/vm.c); the engine and the VM layer never test the type.
 * @name: type name for messages.
 * @type: the S2MMU_VM_* value selecting it.
 * @pgt_ops: the stage-2 entry format; it also decides which address widths
 *           the type accepts (its @levels).
 * @default_gpa_bits: address width when S2MMU_CREATE_VM gives none.
 * @fault_level: optional: the largest leaf level the type allows for a
 *               fault, given @level, the largest the host mapping and the
 *               slot allow (e.g. 4 KiB for an exec fault under the NX
 *               huge page mitigation).  Called outside mmu_lock; may not
 *               sleep.
 * @prepare_page: optional: prepare the host page of @f (f->page, f->pfn,
 *                f->level) before its leaf is installed (e.g. initialise
 *                allocation tags).  Called under mmu_lock for read after
 *                the invalidation retry check; may not sleep.  An error
 *                fails the fault.
 * @prepare_memory_region: optional: check the host memory of a slot
 *                         being created, moved or changed (as KVM's
 *                         kvm_arch_prepare_memory_region()), before
 *                         anything is changed.  Called without the VM's
 *                         locks; takes the mm's mmap_lock.  An error
 *                         fails S2MMU_SET_MEMORY_REGION.
 * @mte_supported: optional: the host can run MTE guests of this type
 *                 (%S2MMU_VM_ARM64_MTE).  Never sleeps.
 * @nx_huge_pages: optional: the NX huge page mitigation applies to @vm
 *                 now: huge leaves are installed non-executable, tables
 *                 an exec fault links where @fault_level refused a huge
 *                 leaf are recorded, and the recovery worker runs (see
 *                 Documentation/locking.rst, "NX huge pages").  Read
 *                 under mmu_lock by the install and without locks by the
 *                 hooks and the worker; a change of its answer is
 *                 followed by a zap of the whole VM (mmu/vm.c).  Never
 *                 sleeps.
 */
struct s2mmu_vm_ops {
	const char *name;
	u32 type;
	const struct s2mmu_pgtable_ops *pgt_ops;
	u32 default_gpa_bits;
	int (*fault_level)(struct s2mmu_vm *vm, const struct s2mmu_fault *f,
			   int level);
	int (*prepare_page)(struct s2mmu_vm *vm, struct s2mmu_fault *f);
	int (*prepare_memory_region)(struct s2mmu_vm *vm,
				     const struct s2mmu_memory_region *mem);
	bool (*mte_supported)(void);
	bool (*nx_huge_pages)(struct s2mmu_vm *vm);
};

extern const struct s2mmu_vm_ops s2mmu_x86_tdp_vm_ops;
extern const struct s2mmu_vm_ops s2mmu_arm64_s2_vm_ops;

/*
 * arch-arm64/mte.c: allocation tags (MTE VMs).  Real on arm64 kernels
 * with CONFIG_ARM64_MTE and try_page_mte_tagging() (6.2+); elsewhere
 * s2mmu_arm64_mte_supported() is false, so no MTE VM exists and the tag
 * accessors are never called (they return 0).  The tag accessors take a
 * kernel (direct map) address of a page the caller holds.
 */
bool s2mmu_arm64_mte_supported(void);
int s2mmu_arm64_mte_prepare_page(struct s2mmu_vm *vm, struct s2mmu_fault *f);
int s2mmu_arm64_mte_prepare_memory_region(struct s2mmu_vm *vm,
					  const struct s2mmu_memory_region *mem);
void s2mmu_arm64_mte_load_tags(const void *va, u8 *tags, unsigned int n);
void s2mmu_arm64_mte_store_tags(void *va, const u8 *tags, unsigned int n);
bool s2mmu_arm64_mte_page_tagged(struct page *page);
void s2mmu_arm64_mte_set_page_tags(struct page *page, const u8 *tags);

/*
 * arch-x86/vm.c: the nx_huge_pages module parameter's state (the
 * parameter itself is mmu/vm.c's, which applies a change to every VM):
 * S2MMU_X86_NX_AUTO until set, then whether the mitigation is on; and
 * whether "never" was set, after which it cannot be turned on again.
 * Written under mmu/vm.c's VM list mutex, read with READ_ONCE().
 */
#define S2MMU_X86_NX_AUTO	(-1)
extern int s2mmu_x86_nx_huge_pages;
extern bool s2mmu_x86_nx_huge_pages_never;
bool s2mmu_x86_nx_huge_pages_on(void);
int s2mmu_x86_nx_huge_pages_parse(const char *val, bool *on, bool *never);

/**
 * struct s2mmu_vm_config - what a VM was created with, parsed from the
 * S2MMU_CREATE_VM argument by s2mmu_parse_vm_type().
 * @ops: the VM type's operations.
 * @type: %S2MMU_VM_X86_TDP or %S2MMU_VM_ARM64_S2.
 * @gpa_bits: guest physical address width.
 * @levels: number of stage-2 table levels covering @gpa_bits with 4 KiB
 *          tables of 512 entries.
 * @nx_huge_pages_disabled: %S2MMU_VM_DISABLE_NX_HUGE_PAGES: the NX huge
 *                          page mitigation never applies to this VM.  Set
 *                          at creation, or by S2MMU_ENABLE_CAP before the
 *                          first vCPU (under vm->lock), when no leaf can
 *                          exist yet; never cleared.
 * @mte: %S2MMU_VM_ARM64_MTE: the guest sees allocation tags
 *       (arch-arm64/mte.c).  Set at creation, or by S2MMU_ENABLE_CAP
 *       while no vCPU and no slot exists (under vm->lock and
 *       vm->slots_lock); never cleared.  Read locklessly only by paths
 *       that need a vCPU or a slot (Documentation/locking.rst, "MTE tags").
 * @fault_around: %S2MMU_CAP_FAULT_AROUND: how many frames after its own a
 *                guest read fault maps (0: none).  Written by
 *                S2MMU_ENABLE_CAP at any time with WRITE_ONCE(), read by
 *                the fault path with READ_ONCE(): any value is safe at
 *                any time, it only sizes a PRE_FAULT-like run.
 */
struct s2mmu_vm_config {
	const struct s2mmu_vm_ops *ops;
	u32 type;
	u32 gpa_bits;
	u32 levels;
	bool nx_huge_pages_disabled;
	bool mte;
	u32 fault_around;
};

/* The most frames S2MMU_CAP_FAULT_AROUND maps after a fault's own. */
#define S2MMU_FAULT_AROUND_MAX	31

const struct s2mmu_vm_ops *s2mmu_vm_ops_select(u32 type);
bool s2mmu_vm_type_mte_supported(const struct s2mmu_vm_ops *ops);
int s2mmu_parse_vm_type(unsigned long arg, struct s2mmu_vm_config *cfg);
u64 s2mmu_vm_config_max_gpa(const struct s2mmu_vm_config *cfg);

/* Access kinds a guest access needs from a stage-2 entry. */
#define S2MMU_ACCESS_R		BIT(0)
#define S2MMU_ACCESS_W		BIT(1)
#define S2MMU_ACCESS_X		BIT(2)

/**
 * struct s2mmu_memslot - one memory slot.  Immutable once published; a
 * move or delete replaces or withdraws it (see mmu/memslot.c).
 * @id: the slot id userspace chose.
 * @flags: S2MMU_MEM_* flags.
 * @base_gfn: first guest frame.
 * @npages: number of 4 KiB guest frames.
 * @userspace_addr: host virtual address of @base_gfn.
 * @dirty_bitmap: while the slot logs dirty pages
 *                (%S2MMU_MEM_LOG_DIRTY_PAGES), one bit per page, set by
 *                faults (set_bit(), under mmu_lock for read) and harvested
 *                under mmu_lock for write (mmu/dirty.c); NULL otherwise.
 *                The one field that changes on a published slot: set and
 *                cleared under vm->slots_lock (store-release, with @flags),
 *                read by faults with load-acquire inside vm->srcu; freed
 *                only after a grace period of vm->srcu.
 * @hva_node: node in vm->hva_tree.
 * @hva_subtree_last: interval tree augmentation.
 * @gmem: %S2MMU_MEM_GUEST_MEMFD: the guest_memfd its private frames come
 *        from.  Set before the slot is published; cleared under
 *        gmem->lock by the slot's deletion or the guest_memfd's release
 *        (the other field that changes on a published slot); read with
 *        READ_ONCE() inside vm->srcu and rechecked under gmem->lock.
 * @gmem_pgoff: the file page of @base_gfn.
 * @gmem_link: entry in gmem->bindings, under gmem->lock.
 */
struct s2mmu_memslot {
	u32 id;
	u32 flags;
	u64 base_gfn;
	u64 npages;
	unsigned long userspace_addr;
	unsigned long *dirty_bitmap;
	struct rb_node hva_node;
	unsigned long hva_subtree_last;
	struct s2mmu_gmem *gmem;
	u64 gmem_pgoff;
	struct list_head gmem_link;
};

/*
 * Internal slot flag, beside the S2MMU_MEM_* ones: the stand-in a slot
 * being moved leaves in the gfn tree.  A fault that finds it retries
 * outside its SRCU section instead of exiting to userspace as MMIO.
 */
#define S2MMU_SLOT_INVALID	BIT(31)

/**
 * struct s2mmu_slot_cache - one reader's last memory slot.
 * @slot: the slot, valid while @gen == vm->slots_gen.
 * @gen: the memory slot generation @slot was looked up at.
 *
 * Owned by one thread (a vCPU's, under its mutex).
 */
struct s2mmu_slot_cache {
	struct s2mmu_memslot *slot;
	unsigned long gen;
};

/*
 * Statistics.  Every counter of a VM or vCPU lives in the structures
 * below (the table engine's page and leaf counts are read from vm->pgt):
 * struct s2mmu_vm_stat and struct s2mmu_age_stat per VM, struct
 * s2mmu_vcpu_stat per vCPU.  mmu/stats.c's two description tables (one
 * line per statistic) publish all of them through S2MMU_GET_STATS_FD;
 * S2MMU_GET_VM_INFO and S2MMU_RUN copy the ones their uAPI has stat_*
 * fields for.  Readers never lock: they load each value once (atomic64
 * reads, READ_ONCE() of the vCPU's, a sum over the CPUs for aging).
 */

/**
 * struct s2mmu_vm_stat - VM-wide event counts (atomic: updated from vCPUs
 * and notifier callbacks concurrently).
 * @remote_tlb_flush_requests: s2mmu_flush_remote_tlbs() calls.
 * @remote_tlb_flush: of them, those that found a vCPU in guest mode and
 *                    waited for its acknowledgment (KVM's: a kick was
 *                    sent).
 * @invalidations: invalidate_range_start callbacks that overlapped a slot.
 * @zaps: zaps that removed at least one entry.
 * @nx_lpage_splits: tables recorded as possible NX huge pages and still
 *                   linked (an instant count, as KVM's): changed under
 *                   the xa_lock of vm->nx_index.
 * @nx_lpage_recoveries: recorded tables the recovery worker unlinked.
 * @dirty_log_wp_faults: write faults on write-protected pages of logged
 *                       slots that marked the page dirty and restored
 *                       write (write-protection mode).
 * @dirty_log_dbit_pages: pages found dirty by their Dirty bit when a
 *                        harvest synced them (Dirty-bit mode).
 * @dirty_log_harvests: S2MMU_GET_DIRTY_LOG and S2MMU_CLEAR_DIRTY_LOG calls
 *                      that succeeded.
 * @dirty_log_reprotected: pages a harvest cleaned and protected again.
 * @mte_pages_sanitised: pages whose allocation tags an MTE VM's fault
 *                       cleared before mapping them (arch-arm64/mte.c).
 */
struct s2mmu_vm_stat {
	atomic64_t remote_tlb_flush_requests;
	atomic64_t remote_tlb_flush;
	atomic64_t invalidations;
	atomic64_t zaps;
	atomic64_t nx_lpage_splits;
	atomic64_t nx_lpage_recoveries;
	atomic64_t dirty_log_wp_faults;
	atomic64_t dirty_log_dbit_pages;
	atomic64_t dirty_log_harvests;
	atomic64_t dirty_log_reprotected;
	atomic64_t mte_pages_sanitised;
};

/**
 * struct s2mmu_nx_page - a possible NX huge page: a table an exec fault
 * linked (created, or split from a huge leaf) where the NX huge page
 * mitigation refused the huge leaf the host mapping and the slot allow.
 * Recovery unlinks it so a later non-exec fault can map the region huge
 * again.  Owned by mmu/nx.c, under the xa_lock of vm->nx_index.
 * @link: in vm->nx_pages, oldest first.
 * @gpa: first guest physical address the table maps.
 * @table_pa: physical address of the table page.
 * @level: level of the entry pointing at the table (1: a 2 MiB region,
 *         2: 1 GiB).
 */
struct s2mmu_nx_page {
	struct list_head link;
	u64 gpa;
	u64 table_pa;
	unsigned int level;
};

/**
 * struct s2mmu_age_stat - aging counts, per CPU (aging callbacks run
 * often, concurrently and in atomic context: no shared cache line).
 * @calls: clear_young, clear_flush_young and test_young callbacks.
 * @young: gfn ranges found young.
 * @races: Accessed clears that lost their cmpxchg (counted as young).
 */
struct s2mmu_age_stat {
	u64 calls;
	u64 young;
	u64 races;
};

/**
 * struct s2mmu_gfn_range - a range of guest frames.
 * @start: first frame.
 * @end: first frame past the range.
 */
struct s2mmu_gfn_range {
	u64 start;
	u64 end;
};

/* Buckets of the fault latency histogram, as KVM's log histograms. */
#define S2MMU_STAT_HIST_BUCKETS	32

/**
 * struct s2mmu_vcpu_stat - one vCPU's event counts, written only by the
 * vCPU's task (under its mutex, or in guest mode: plain increments);
 * read by S2MMU_RUN and, with READ_ONCE() and no lock, by its stats fds
 * (a 64-bit load is never torn).
 * @pf_taken: stage-2 faults taken (s2mmu_map_gfn() calls).
 * @pf_fixed: of them, those that installed a leaf.
 * @pf_spurious: of them, those that found the access already mapped (a
 *               racing fault's leaf, a pre-fault of mapped memory).
 * @fault_retries: fault attempts that started over (an invalidation, a
 *                 racing fault, a slot being moved).
 * @tlb_flushes: software TLB flushes (acknowledged requests).
 * @tlb_misses: translations that walked the tables.
 * @walk_cache_hits: of them, the walks that found their leaf starting
 *                   from the walk cache (the table of the last leaf
 *                   walked) instead of the root.
 * @pf_prefetched: frames a guest read fault mapped beyond its own
 *                 (%S2MMU_CAP_FAULT_AROUND) that were not mapped yet.
 * @fault_latency_hist: log2 histogram of the time s2mmu_map_gfn() took,
 *                      in ns (local_clock() twice per fault, always:
 *                      tens of ns against the microseconds of a fault).
 */
struct s2mmu_vcpu_stat {
	u64 pf_taken;
	u64 pf_fixed;
	u64 pf_spurious;
	u64 fault_retries;
	u64 tlb_flushes;
	u64 tlb_misses;
	u64 walk_cache_hits;
	u64 pf_prefetched;
	u64 fault_latency_hist[S2MMU_STAT_HIST_BUCKETS];
};

struct s2mmu_vcpu;
struct s2mmu_debugfs_counter;

/**
 * struct s2mmu_vm - one VM: a secondary MMU for the mm that created it.
 *
 * Lifetime (see Documentation/locking.rst):
 * @mn: mmu_notifier registered on @mm for the VM's whole life.
 * @mm: the owning mm, pinned with mmgrab() (not mmget(): the VM must not
 *      keep the address space alive).  Constant after creation.  Only
 *      tasks whose current->mm is @mm may issue VM or vCPU ioctls.
 * @cfg: creation parameters; constant after creation.
 * @users: references: one per open VM fd and one per open vCPU fd.  The
 *         VM is destroyed when it drops to zero.
 *
 * VM state:
 * @lock: mutex serialising vCPU creation (@vcpus, @nr_vcpus, @vcpu_ids).
 * @vcpus: vCPUs, never removed before the VM is destroyed; readers
 *         without @lock load @nr_vcpus with acquire first.
 * @nr_vcpus: number of entries in @vcpus; written under @lock with release.
 * @vcpu_ids: bitmap of used vCPU ids, under @lock.
 *
 * Memory slots (mmu/memslot.c):
 * @slots_lock: mutex serialising memslot updates; outside @mmu_lock.
 * @srcu: readers of @gfn_tree hold it while they use a slot; a withdrawn
 *        slot is freed only after synchronize_srcu().
 * @slot_ids: slot id -> slot, under @slots_lock.
 * @gfn_tree: gfn range -> slot; RCU readers, writers under @slots_lock.
 * @mem_attrs: gfn range -> xa_mk_value(S2MMU_MEMORY_ATTRIBUTE_*), the
 *             private ranges (mmu/attr.c); RCU readers, writers under
 *             @slots_lock inside an invalidation bracket.
 * @hva_tree: host range -> slots, read by invalidations counted in
 *            @mn_active, or under @mn_lock (aging); changed under
 *            @mn_lock with @mn_active zero.
 * @mn_lock: spinlock protecting @mn_active and changes of @hva_tree.
 * @mn_active: notifier callbacks currently reading @hva_tree.
 * @mn_wait: memslot writers wait here for @mn_active to drop to zero.
 * @slots_gen: bumped (under @slots_lock, with release) whenever the gfn
 *             tree changes, and again after the grace period of a
 *             withdrawal; slot caches load it with acquire and compare
 *             it (see s2mmu_gfn_to_memslot_cached()).
 * @nr_slots: number of slots, under @slots_lock (read locklessly for
 *            S2MMU_GET_VM_INFO).
 *
 * Dirty logging (mmu/dirty.c), all under @slots_lock:
 * @dirty_log_manual: the S2MMU_DIRTY_LOG_* options of
 *                    S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled.
 * @dirty_log_mode: S2MMU_DIRTY_LOG_MODE_WRPROT or _DBIT; changed only
 *                  while no slot logs (@nr_dirty_slots 0), so a fault
 *                  that found a slot's bitmap reads it unchanged.
 * @dirty_log_eager_split: split huge leaves when a slot starts logging.
 * @nr_dirty_slots: slots logging dirty pages now (read locklessly by the
 *                  change hook; zeroed when the slots are destroyed).
 * @pgt_change_next: the table's change hook before dirty logging's
 *                   (the NX record's, or NULL), which calls it first.
 *
 * Stage-2 tables (mmu/mmu.c):
 * @mmu_lock: rwlock: faults and NX recovery take it for read and change
 *            entries with cmpxchg; zaps and the invalidation bookkeeping
 *            below take it for write; aging takes it not at all.
 * @pgt: the stage-2 page table.
 * @mmu_invalidate_seq: bumped by every invalidate_range_end, under
 *                      @mmu_lock (write); faults snapshot it locklessly.
 * @mmu_invalidate_in_progress: invalidations between start and end,
 *                              under @mmu_lock.
 * @mmu_invalidate_range_start: first gfn of the union of the ranges of the
 *                              invalidations in progress, under @mmu_lock.
 * @mmu_invalidate_range_end: first gfn past it.
 * @mm_released: set under @mmu_lock (write) by ->release when the owning
 *               mm is torn down; no entry is installed afterwards.
 * @tlb_flush_pending: zappers between removing entries (under @mmu_lock)
 *                     and the end of the TLB flush that makes the removal
 *                     final (after dropping it).  Incremented under
 *                     @mmu_lock, decremented (release) once the flush is
 *                     done.  A zapper that finds it non-zero under
 *                     @mmu_lock flushes too before it returns, even when it
 *                     removed nothing itself: see s2mmu_mmu_flush_claim().
 * @age_gen: the aging generation: moved (after the clears, fully
 *           ordered) whenever aging cleared an Accessed bit; a vCPU
 *           entering guest mode loads it with acquire and drops its TLB
 *           when it moved (see s2mmu_vcpu_enter_guest()).
 * @nx_index: the recorded possible NX huge pages (struct s2mmu_nx_page)
 *            by s2mmu_nx_key(); its xa_lock also protects @nx_pages and
 *            the records (mmu/nx.c).  Taken inside @mmu_lock (either
 *            mode) or with no lock (the tree's destroy); takes nothing.
 * @nx_pages: the records, oldest first: recovery takes from the head.
 *
 * @nx_recovery: the NX huge page recovery worker (mmu/vm.c); armed while
 *               the mitigation applies, cancelled before the VM is torn
 *               down.
 * @vm_link: in mmu/vm.c's list of VMs, under its mutex.
 * @stats_pid: pid of the creating task, for the stats fd's id string;
 *             constant.
 * @stat: event counts.
 * @age_stat: aging counts, per CPU.
 * @debugfs_dentry: the VM's debugfs directory, or NULL (mmu/debugfs.c);
 *                  set before the VM fd is installed, removed first when
 *                  the VM is destroyed.
 * @debugfs_counters: the data of its counter files, freed with it.
 */
struct s2mmu_vm {
	struct mmu_notifier mn;
	struct mm_struct *mm;
	struct s2mmu_vm_config cfg;
	refcount_t users;

	struct mutex lock;		/* vCPU creation */
	struct s2mmu_vcpu *vcpus[S2MMU_MAX_VCPUS];
	unsigned int nr_vcpus;
	u64 vcpu_ids;

	struct mutex slots_lock;	/* memslot updates */
	struct srcu_struct srcu;
	struct xarray slot_ids;
	struct maple_tree gfn_tree;
	struct maple_tree mem_attrs;
	struct rb_root_cached hva_tree;
	spinlock_t mn_lock;		/* mn_active, hva_tree changes */
	long mn_active;
	wait_queue_head_t mn_wait;
	unsigned long slots_gen;
	unsigned int nr_slots;

	u32 dirty_log_manual;
	u32 dirty_log_mode;
	bool dirty_log_eager_split;
	unsigned int nr_dirty_slots;
	void (*pgt_change_next)(struct s2mmu_pgtable *pgt, u64 gpa,
				unsigned int level, u64 old, u64 new);

	rwlock_t mmu_lock;		/* stage-2 tables, invalidation state */
	struct s2mmu_pgtable pgt;
	unsigned long mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	u64 mmu_invalidate_range_start;
	u64 mmu_invalidate_range_end;
	bool mm_released;
	atomic_t tlb_flush_pending;
	atomic_long_t age_gen;
	struct xarray nx_index;
	struct list_head nx_pages;

	struct delayed_work nx_recovery;
	struct list_head vm_link;

	pid_t stats_pid;
	struct s2mmu_vm_stat stat;
	struct s2mmu_age_stat __percpu *age_stat;

	struct dentry *debugfs_dentry;
	struct s2mmu_debugfs_counter *debugfs_counters;
};

/* vcpu->mode */
#define S2MMU_OUTSIDE_GUEST_MODE	0
#define S2MMU_IN_GUEST_MODE		1

/* vcpu->requests bits */
#define S2MMU_REQ_TLB_FLUSH		0

#define S2MMU_TLB_ENTRIES		64
#define S2MMU_TLB_HUGE_ENTRIES		16

/**
 * struct s2mmu_tlb_entry - one software TLB entry: the translation of one
 * stage-2 leaf, 4 KiB or huge.
 * @gfn: first guest frame of the leaf.
 * @pfn: host frame @gfn translates to; the leaf's frames are contiguous.
 * @access: S2MMU_ACCESS_* the cached walk allowed (W only once Dirty set).
 * @order: the leaf covers 2^@order pages (0, or 9 and 18 for 2 MiB and
 *         1 GiB leaves).
 * @valid: entry in use.
 */
struct s2mmu_tlb_entry {
	u64 gfn;
	u64 pfn;
	u32 access;
	u8 order;
	bool valid;
};

/**
 * struct s2mmu_vcpu - one vCPU.
 * @vm: its VM (the vCPU fd holds a reference).
 * @id: vCPU id.
 * @mutex: held by the task inside S2MMU_RUN or S2MMU_PRE_FAULT_MEMORY;
 *         another caller waits (killable).
 * @mode: S2MMU_IN_GUEST_MODE while touching guest memory; written by the
 *        vCPU task, read by TLB flushers.
 * @requests: S2MMU_REQ_* bits, set by flushers, cleared by the vCPU.
 * @run: the run structure page, mmap()able.
 * @bounce: a page bouncing data between guest memory and the caller.
 * @tlb: the software TLB's 4 KiB entries, direct-mapped by gfn; touched
 *       only by the vCPU task in guest mode.
 * @tlb_huge: its entries for 2 MiB and 1 GiB leaves, direct-mapped by the
 *            leaf's number (gfn >> order); same rule.
 * @walk_cache: the table of the leaf its last walk found, for the next
 *              TLB miss nearby (a paging-structure cache); valid only
 *              inside one guest-mode burst (its RCU read section):
 *              emptied when a burst starts and by every TLB flush.  vCPU
 *              task only; used only in guest mode.
 * @age_gen: the vm->age_gen its TLB was last emptied at; vCPU task only.
 * @slot_cache: last memslot used.
 * @cache: table pages for the fault path, filled before mmu_lock.
 * @stats_pid: pid of the creating task, for the stats fd's id string;
 *             constant.
 * @stat: event counts.
 */
struct s2mmu_vcpu {
	struct s2mmu_vm *vm;
	unsigned int id;
	struct mutex mutex;		/* one task in RUN/PRE_FAULT */
	int mode;
	unsigned long requests;
	struct s2mmu_run *run;
	void *bounce;
	struct s2mmu_tlb_entry tlb[S2MMU_TLB_ENTRIES];
	struct s2mmu_tlb_entry tlb_huge[S2MMU_TLB_HUGE_ENTRIES];
	struct s2mmu_pt_walk_cache walk_cache;
	unsigned long age_gen;
	struct s2mmu_slot_cache slot_cache;
	struct s2mmu_table_cache cache;
	pid_t stats_pid;
	struct s2mmu_vcpu_stat stat;
};

/**
 * struct s2mmu_walk_result - a successful lockless stage-2 walk.
 * @pfn: host frame of the 4 KiB page at the walked address.
 * @access: S2MMU_ACCESS_* the entry allows and the walk accounted for
 *          (W only when Dirty was set).
 * @level: level of the leaf: 0 (4 KiB), 1 (2 MiB) or 2 (1 GiB).
 * @cached: the walk started from the vCPU's walk cache.
 */
struct s2mmu_walk_result {
	u64 pfn;
	u32 access;
	unsigned int level;
	bool cached;
};

/**
 * struct s2mmu_host_map - the host's mapping of one user address.
 * @present: mapped.
 * @level: 0 (PTE), 1 (PMD leaf) or 2 (PUD leaf).
 * @writable: the host mapping allows writes.
 * @pfn: host frame of the 4 KiB page at the address.
 */
struct s2mmu_host_map {
	bool present;
	int level;
	bool writable;
	u64 pfn;
};

/**
 * struct s2mmu_fault - one stage-2 fault, handed down the fault path
 * (mmu/fault.c) to the install (mmu/mmu.c) and the VM type's hooks, so no
 * layer calls back up for what an earlier step found.
 * @gfn: the faulting guest frame.
 * @access: S2MMU_ACCESS_* the access needs.
 * @slot: its memory slot (valid inside the caller's vm->srcu section).
 * @hva: host virtual address of @gfn.
 * @mmu_seq: vm->mmu_invalidate_seq read before the page was looked up.
 * @page: the host page of @gfn, with a reference, while the fault holds
 *        it.
 * @pfn: host frame of the first page of the leaf (aligned to @level).
 * @level: the leaf's level: the largest allowed before the install, the
 *         one installed after it.
 * @req_level: the largest level the host mapping and the slot allow, set
 *             before the VM type's @fault_level clipped @level: when the
 *             type refused a huge leaf (an exec fault under the NX huge
 *             page mitigation), the install records the tables it links
 *             above the leaf up to @req_level as possible NX huge pages.
 * @map_writable: the leaf may be writable.
 * @flush: the install removed a translation (a collapse): a flush is owed.
 * @spurious: the install found a leaf already allowing the access.
 * @dirty_bitmap: the slot's dirty bitmap when it logs dirty pages in
 *                write-protection mode (a writable leaf is installed only
 *                by a write fault, which marks the page under mmu_lock);
 *                NULL otherwise.
 * @dirty_logged: the slot logs dirty pages (either mode): 4 KiB leaves only.
 * @vm_flags: MTE VMs only: the flags of the VMA @hva was in when @page
 *            was looked up (under the mmap_lock, after @mmu_seq was
 *            read), for the VM type's @prepare_page; 0 for other VMs.
 */
struct s2mmu_fault {
	u64 gfn;
	unsigned int access;
	struct s2mmu_memslot *slot;
	unsigned long hva;
	unsigned long mmu_seq;
	struct page *page;
	u64 pfn;
	int level;
	int req_level;
	bool map_writable;
	bool flush;
	bool spurious;
	unsigned long *dirty_bitmap;
	bool dirty_logged;
	unsigned long vm_flags;
	bool private;
};

/*
 * The files below are layered (Documentation/index.rst): each calls only
 * files listed before it.
 */

/* mmu/tlb.c: software TLBs, requests, guest mode, shootdown */
void s2mmu_tlb_flush_local(struct s2mmu_vcpu *vcpu);
void s2mmu_vcpu_enter_guest(struct s2mmu_vcpu *vcpu);
void s2mmu_vcpu_exit_guest(struct s2mmu_vcpu *vcpu);
void s2mmu_flush_remote_tlbs(struct s2mmu_vm *vm);
void s2mmu_tlb_fill(struct s2mmu_vcpu *vcpu, u64 gfn,
		    const struct s2mmu_walk_result *res);

/*
 * mmu/tlb.c's hot path, inline: the guest-mode executor checks requests
 * before every touch and looks up the TLB for every access.
 */
/**
 * s2mmu_vcpu_check_requests() - act on a vCPU's requests in guest mode.
 * @vcpu: the vCPU, in guest mode, called by its own task.
 *
 * A TLB flush request is acknowledged by clearing it.  The barrier after
 * the clear orders the load that saw the request (and the clear) before
 * every later load of the vCPU, the table walks that refill the TLB in
 * particular: without it a weakly ordered CPU may satisfy the next walk
 * before the request load, read an entry the flusher had already zapped,
 * and cache it after acknowledging.  Pairs with the flusher's
 * zap-then-set_bit (the zap's xchg is fully ordered) and its acquire load
 * of the bit (Documentation/locking.rst, "TLB shootdown").
 */
static inline void s2mmu_vcpu_check_requests(struct s2mmu_vcpu *vcpu)
{
	if (test_bit(S2MMU_REQ_TLB_FLUSH, &vcpu->requests)) {
		s2mmu_tlb_flush_local(vcpu);
		clear_bit_unlock(S2MMU_REQ_TLB_FLUSH, &vcpu->requests);
		/* Later walks after the request load: see above. */
		smp_mb__after_atomic();
	}
}

/*
 * The TLB entry that may hold the translation of @gfn by a leaf of
 * 2^@order pages: 4 KiB entries by gfn, huge ones by leaf number.
 */
static inline struct s2mmu_tlb_entry *
s2mmu_tlb_slot(struct s2mmu_vcpu *vcpu, u64 gfn, unsigned int order)
{
	if (!order)
		return &vcpu->tlb[gfn % S2MMU_TLB_ENTRIES];
	return &vcpu->tlb_huge[(gfn >> order) % S2MMU_TLB_HUGE_ENTRIES];
}

/* Does @e translate @gfn, for @access? */
static inline bool s2mmu_tlb_hit(const struct s2mmu_tlb_entry *e, u64 gfn,
				 unsigned int order, unsigned int access)
{
	return e->valid && e->order == order &&
	       e->gfn == round_down(gfn, 1ULL << order) &&
	       (e->access & access) == access;
}

/**
 * s2mmu_tlb_lookup() - translate through the vCPU's software TLB.
 * @vcpu: the vCPU, in guest mode, called by its own task.
 * @gfn: the guest frame.
 * @access: S2MMU_ACCESS_* the access needs.
 * @pfn: on a hit, the host frame of @gfn.
 *
 * Return: true on a hit; on a miss the caller walks the tables and calls
 * s2mmu_tlb_fill().
 */
static inline bool s2mmu_tlb_lookup(struct s2mmu_vcpu *vcpu, u64 gfn,
				    unsigned int access, u64 *pfn)
{
	unsigned int level, order;
	struct s2mmu_tlb_entry *e;

	for (level = 0; level <= S2MMU_PT_MAX_LEAF_LEVEL; level++) {
		order = s2mmu_pt_level_shift(level) - PAGE_SHIFT;
		e = s2mmu_tlb_slot(vcpu, gfn, order);
		if (s2mmu_tlb_hit(e, gfn, order, access)) {
			*pfn = e->pfn + (gfn - e->gfn);
			return true;
		}
	}
	vcpu->stat.tlb_misses++;
	return false;
}

/* mmu/host.c: the host's page tables and pages */
void s2mmu_host_walk(struct mm_struct *mm, unsigned long hva,
		     struct s2mmu_host_map *host);
int s2mmu_host_get_page(unsigned long hva, bool write, bool may_write,
			struct page **page, bool *writable);
int s2mmu_host_vma_flags(unsigned long hva, unsigned long *vm_flags);

/* mmu/nx.c: the record of possible NX huge pages */
void s2mmu_nx_init(struct s2mmu_vm *vm);
void s2mmu_nx_destroy(struct s2mmu_vm *vm);
bool s2mmu_nx_recorded(struct s2mmu_vm *vm, u64 gpa, unsigned int level);
void s2mmu_nx_record(struct s2mmu_vm *vm, u64 gpa, unsigned int level,
		     u64 table_pa);
void s2mmu_nx_forget(struct s2mmu_vm *vm, u64 gpa, unsigned int level,
		     u64 table_pa);
bool s2mmu_nx_oldest(struct s2mmu_vm *vm, struct s2mmu_nx_page *p);

/**
 * s2mmu_vm_nx_huge_pages() - does the NX huge page mitigation apply to a
 * VM now?
 * @vm: the VM.
 *
 * Return: the VM type's answer (&struct s2mmu_vm_ops.nx_huge_pages), false
 * for types without the mitigation.
 */
static inline bool s2mmu_vm_nx_huge_pages(struct s2mmu_vm *vm)
{
	const struct s2mmu_vm_ops *ops = vm->cfg.ops;

	return ops->nx_huge_pages && ops->nx_huge_pages(vm);
}

/* mmu/mmu.c: the VM's use of the table engine */
int s2mmu_mmu_init(struct s2mmu_vm *vm);
void s2mmu_mmu_destroy(struct s2mmu_vm *vm);
int s2mmu_mmu_walk(struct s2mmu_vm *vm, u64 gpa, unsigned int access,
		   struct s2mmu_walk_result *res,
		   struct s2mmu_pt_walk_cache *wc);
int s2mmu_mmu_install(struct s2mmu_vm *vm, struct s2mmu_table_cache *cache,
		      struct s2mmu_fault *f);
int s2mmu_mmu_install_run(struct s2mmu_vm *vm, struct s2mmu_fault *f,
			  const u64 *pfns, unsigned int n, unsigned int *kept);
/* How a zap under mmu_lock (write) may yield it. */
enum s2mmu_zap_yield {
	S2MMU_ZAP_NO_YIELD,
	S2MMU_ZAP_MAY_YIELD,
	S2MMU_ZAP_FORCE_YIELD,	/* tests: at every opportunity */
};

bool s2mmu_mmu_zap_gfn_range_locked(struct s2mmu_vm *vm, u64 start, u64 end,
				    enum s2mmu_zap_yield yield, bool flush);
void s2mmu_mmu_zap_gfn_range(struct s2mmu_vm *vm, u64 start, u64 end);
bool s2mmu_mmu_flush_claim(struct s2mmu_vm *vm, bool flush);
void s2mmu_mmu_flush_finish(struct s2mmu_vm *vm);
int s2mmu_mmu_age_gfn_range(struct s2mmu_vm *vm, u64 start, u64 end,
			    bool clear);
int s2mmu_mmu_translate(struct s2mmu_vm *vm, struct s2mmu_translation *t);
unsigned long s2mmu_mmu_recover_nx_huge_pages(struct s2mmu_vm *vm,
					      unsigned long nr);

/* mmu/dirty.c: dirty logging */
void s2mmu_dirty_log_init(struct s2mmu_vm *vm);
void s2mmu_dirty_log_hook(struct s2mmu_vm *vm);
unsigned long *s2mmu_dirty_bitmap_alloc(struct s2mmu_vm *vm, u64 npages);
void s2mmu_dirty_bitmap_free(unsigned long *bitmap);
void s2mmu_dirty_log_start(struct s2mmu_vm *vm, struct s2mmu_memslot *slot,
			   unsigned long *bitmap);
void s2mmu_dirty_log_stop(struct s2mmu_vm *vm, struct s2mmu_memslot *slot);
void s2mmu_dirty_mark(struct s2mmu_vm *vm, struct s2mmu_fault *f);
int s2mmu_dirty_log_get(struct s2mmu_vm *vm, struct s2mmu_dirty_log *log);
int s2mmu_dirty_log_clear(struct s2mmu_vm *vm,
			  struct s2mmu_clear_dirty_log *log);
int s2mmu_dirty_log_check_extension(struct s2mmu_vm *vm, unsigned long cap);
int s2mmu_dirty_log_enable_cap(struct s2mmu_vm *vm,
			       const struct s2mmu_enable_cap *cap);

/* mmu/invalidate.c: invalidations in gfn space */
void s2mmu_mmu_invalidate_begin(struct s2mmu_vm *vm);
bool s2mmu_mmu_invalidate_range_add(struct s2mmu_vm *vm, u64 start, u64 end,
				    enum s2mmu_zap_yield yield, bool flush);
void s2mmu_mmu_invalidate_end(struct s2mmu_vm *vm);
bool s2mmu_mmu_invalidate_retry(struct s2mmu_vm *vm, u64 gfn,
				unsigned long seq);
bool s2mmu_mmu_invalidate_retry_range(struct s2mmu_vm *vm, u64 start, u64 end,
				      unsigned long seq);
bool s2mmu_mmu_invalidate_retry_unsafe(struct s2mmu_vm *vm, u64 gfn,
				       unsigned long seq);

/**
 * struct s2mmu_gmem - one guest_memfd.
 * @vm: the VM that created it, with a reference (vm->users).
 * @lock: protects @pages and @bindings.
 * @pages: page offset -> struct page *, the module's own pages.
 * @bindings: the slots bound to a range of the file (slot->gmem_link).
 */
struct s2mmu_gmem {
	struct s2mmu_vm *vm;
	struct mutex lock;	/* after vm->slots_lock, before mmu_lock */
	struct xarray pages;
	struct list_head bindings;
};

/* mmu/attr.c: memory attributes */
bool s2mmu_gfn_is_private(struct s2mmu_vm *vm, u64 gfn);
bool s2mmu_gfn_range_has_private(struct s2mmu_vm *vm, u64 start, u64 end);
int s2mmu_set_memory_attributes(struct s2mmu_vm *vm,
				const struct s2mmu_memory_attributes *attrs);

/* mmu/gmem.c: guest_memfd memory */
long s2mmu_gmem_punch_hole(struct s2mmu_gmem *gmem, pgoff_t start,
			   pgoff_t end);
long s2mmu_gmem_allocate(struct s2mmu_gmem *gmem, pgoff_t start, pgoff_t end);
int s2mmu_gmem_bind(struct s2mmu_gmem *gmem, struct s2mmu_memslot *slot,
		    u64 offset, u64 size);
void s2mmu_gmem_unbind(struct s2mmu_memslot *slot);
struct page *s2mmu_gmem_get_page(struct s2mmu_memslot *slot, u64 gfn);
u64 s2mmu_gmem_peek_pfn(struct s2mmu_memslot *slot, u64 gfn);
struct s2mmu_gmem *s2mmu_gmem_alloc(struct s2mmu_vm *vm);
void s2mmu_gmem_destroy(struct s2mmu_gmem *gmem);

/* mmu/memslot.c */
void s2mmu_memslots_init(struct s2mmu_vm *vm);
void s2mmu_memslots_destroy(struct s2mmu_vm *vm);
int s2mmu_memslot_check(const struct s2mmu_memory_region *mem, u64 max_gpa);
int s2mmu_set_memory_region(struct s2mmu_vm *vm,
			    const struct s2mmu_memory_region *mem,
			    struct s2mmu_gmem *gmem, u64 gmem_offset,
			    u64 gmem_size);
struct s2mmu_memslot *s2mmu_gfn_to_memslot(struct s2mmu_vm *vm, u64 gfn);
int s2mmu_memslot_max_level(const struct s2mmu_memslot *slot, u64 gfn,
			    unsigned long hva, int level);
struct s2mmu_memslot *s2mmu_gfn_to_memslot_cached(struct s2mmu_vm *vm,
						  struct s2mmu_slot_cache *c,
						  u64 gfn);
void s2mmu_mn_reader_begin(struct s2mmu_vm *vm);
void s2mmu_mn_reader_end(struct s2mmu_vm *vm);
bool s2mmu_hva_range_in_slots(struct s2mmu_vm *vm, unsigned long start,
			      unsigned long end);
int s2mmu_hva_to_gfn_ranges(struct s2mmu_vm *vm, unsigned long start,
			    unsigned long end, struct s2mmu_gfn_range *ranges,
			    int max);
int s2mmu_for_each_hva_slot(struct s2mmu_vm *vm, unsigned long start,
			    unsigned long end,
			    int (*fn)(struct s2mmu_vm *vm,
				      struct s2mmu_memslot *slot,
				      u64 gfn_start, u64 gfn_end, void *data),
			    void *data);

/* mmu/fault.c */
int s2mmu_map_gfn(struct s2mmu_vcpu *vcpu, struct s2mmu_fault *f);
int s2mmu_fault(struct s2mmu_vcpu *vcpu, u64 gpa, unsigned int access,
		bool *private);
long s2mmu_pre_fault(struct s2mmu_vcpu *vcpu, u64 *gpa, u64 *size);

/* mmu/invariants.c */
int s2mmu_check_invariants(struct s2mmu_vm *vm, void __user *argp);

/* arch-arm64/copy_tags.c: S2MMU_ARM64_MTE_COPY_TAGS */
long s2mmu_arm64_mte_copy_tags(struct s2mmu_vm *vm, void __user *argp);

/* mmu/run.c: the guest-mode executor and the vCPU object */
int s2mmu_access_check(const struct s2mmu_access *a);
int s2mmu_vcpu_translate(struct s2mmu_vcpu *vcpu, u64 gpa,
			 unsigned int access, u64 *pfn);
int s2mmu_vcpu_run(struct s2mmu_vcpu *vcpu, struct s2mmu_run *run);
struct s2mmu_vcpu *s2mmu_vcpu_alloc(struct s2mmu_vm *vm, unsigned int id);
void s2mmu_vcpu_free(struct s2mmu_vcpu *vcpu);

/* notifier/hva.c: the notifier callbacks' work, hva -> gfn */
bool s2mmu_invalidate_range_start(struct s2mmu_vm *vm, unsigned long start,
				  unsigned long end, enum s2mmu_zap_yield yield,
				  bool zap);
void s2mmu_invalidate_range_end(struct s2mmu_vm *vm, unsigned long start,
				unsigned long end);
int s2mmu_age_hva_range(struct s2mmu_vm *vm, unsigned long start,
			unsigned long end, bool clear);
void s2mmu_release_mm(struct s2mmu_vm *vm);

/* notifier/notifier.c: the mmu_notifier glue */
int s2mmu_notifier_register(struct s2mmu_vm *vm);
void s2mmu_notifier_unregister(struct s2mmu_vm *vm);

/* mmu/stats.c: the statistics' tables, read */
struct s2mmu_stat_def;

/**
 * struct s2mmu_stats_file - an open stats fd.
 * @vm: the VM, with a reference (vm->users).
 * @obj: what the table's @read functions take: @vm or one of its vCPUs.
 * @defs: the description table.
 * @nr_defs: its length.
 * @nr_values: the values of all its statistics.
 * @id: the id string, NUL padded.
 */
struct s2mmu_stats_file {
	struct s2mmu_vm *vm;
	void *obj;
	const struct s2mmu_stat_def *defs;
	unsigned int nr_defs;
	unsigned int nr_values;
	char id[S2MMU_STATS_NAME_SIZE];
};

void s2mmu_stats_file_init(struct s2mmu_stats_file *sf,
			   struct s2mmu_vcpu *vcpu);
ssize_t s2mmu_stats_read(struct file *file, char __user *buf, size_t size,
			 loff_t *ppos);
unsigned int s2mmu_stats_nr_counters(void);
const char *s2mmu_stats_counter_name(unsigned int i);
u64 s2mmu_stats_counter(struct s2mmu_vm *vm, unsigned int i);

/* mmu/debugfs.c: the per-VM debugfs directory */
void s2mmu_debugfs_vm_create(struct s2mmu_vm *vm, int fd);
void s2mmu_debugfs_vm_remove(struct s2mmu_vm *vm);
void s2mmu_debugfs_init(void);
void s2mmu_debugfs_exit(void);

/* mmu/vm.c: the VM object */
extern atomic_t s2mmu_nr_vms;
struct s2mmu_vm *s2mmu_vm_alloc(const struct s2mmu_vm_config *cfg);
void s2mmu_vm_put(struct s2mmu_vm *vm);
long s2mmu_vm_get_info(struct s2mmu_vm *vm, void __user *argp, size_t size);

/* mmu/gmem_fd.c: the guest_memfd file */
int s2mmu_gmem_create(struct s2mmu_vm *vm,
		      const struct s2mmu_create_guest_memfd *args);
struct file *s2mmu_gmem_fget(struct s2mmu_vm *vm, unsigned int fd, u64 *size);
int s2mmu_gmem_init(void);
void s2mmu_gmem_exit(void);

/* mmu/stats_fd.c: the binary stats fds */
int s2mmu_vm_stats_fd(struct s2mmu_vm *vm, unsigned long arg);
int s2mmu_vcpu_stats_fd(struct s2mmu_vcpu *vcpu, unsigned long arg);

/* mmu/vcpu.c: the vCPU fd */
int s2mmu_vcpu_create(struct s2mmu_vm *vm, unsigned long id);

#endif /* _S2MMU_H */
