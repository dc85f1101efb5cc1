// SPDX-License-Identifier: GPL-2.0
/*
 * The stage-2 fault path.  A struct s2mmu_fault carries what each step
 * found down to the next (slot -> host page -> level -> install); no step
 * calls back up.  Why the order below is safe against invalidations is
 * in Documentation/locking.rst ("Faults against invalidations").
 *
 *  1. the slot (under vm->srcu, held by the caller);
 *  2. table pages for the install, allocated now, never under mmu_lock;
 *  3. the invalidation sequence, then the page by GUP, fast path first,
 *     with no long-term pin (mmu/host.c);
 *  4. the leaf level: the host mapping's, clipped by the slot's alignment
 *     (the level requested) and then by the VM type (vm_ops->fault_level);
 *  5. under mmu_lock for read: the retry check, the VM type's
 *     vm_ops->prepare_page (arm64 MTE VMs: the tags of a page mapped for
 *     the first time, arch-arm64/mte.c), and the install with cmpxchg
 *     (mmu/mmu.c), so vCPUs fault in parallel.
 */
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>

#include "s2mmu.h"
#include "s2mmu_trace.h"

#ifdef S2MMU_PROVE_MMU
/*
 * Test-only fault injection (the test flavour only): while set, every
 * table cache top-up of the fault path fails as a failed allocation
 * would, so the selftests can check that -ENOMEM fails S2MMU_RUN and
 * S2MMU_PRE_FAULT_MEMORY instead of being reported as a guest exit.
 */
static bool test_fail_table_topup;
module_param(test_fail_table_topup, bool, 0600);
MODULE_PARM_DESC(test_fail_table_topup,
		 "TEST ONLY: stage-2 faults fail their table cache top-up (-ENOMEM)");

/*
 * Test-only: a fault on a guest_memfd slot sleeps this long after it
 * took its page and before mmu_lock, so gmem_test can punch, convert or
 * close in between (the fault must then retry, not map the freed page or
 * a leaf of the wrong kind).
 */
static unsigned int test_gmem_fault_delay_ms;
module_param(test_gmem_fault_delay_ms, uint, 0600);
MODULE_PARM_DESC(test_gmem_fault_delay_ms,
		 "TEST ONLY: faults on guest_memfd slots sleep this long before mmu_lock");

/*
 * Test-only: a run (s2mmu_map_run(): PRE_FAULT's, or fault-around's)
 * sleeps this long after it took its pages and before mmu_lock, so
 * race_test can invalidate one of them in between (the run must then map
 * none of them).
 */
static unsigned int test_fault_run_delay_ms;
module_param(test_fault_run_delay_ms, uint, 0600);
MODULE_PARM_DESC(test_fault_run_delay_ms,
		 "TEST ONLY: fault runs sleep this long before mmu_lock");

static void s2mmu_test_run_delay(void)
{
	unsigned int ms = READ_ONCE(test_fault_run_delay_ms);

	if (ms)
		msleep(ms);
}

static void s2mmu_test_gmem_delay(const struct s2mmu_fault *f)
{
	unsigned int ms = READ_ONCE(test_gmem_fault_delay_ms);

	if (ms && (f->slot->flags & S2MMU_MEM_GUEST_MEMFD))
		msleep(ms);
}

/* The fault path's table cache top-up result @ret, or the injected one. */
static int s2mmu_topup_result(int ret)
{
	return READ_ONCE(test_fail_table_topup) ? -ENOMEM : ret;
}
#else
static inline int s2mmu_topup_result(int ret)
{
	return ret;
}

static inline void s2mmu_test_gmem_delay(const struct s2mmu_fault *f)
{
}

static inline void s2mmu_test_run_delay(void)
{
}
#endif

/* Step 1: the slot of f->gfn, its host address, and what it allows. */
static int s2mmu_fault_slot(struct s2mmu_vcpu *vcpu, struct s2mmu_fault *f)
{
	struct s2mmu_memslot *slot;

	slot = s2mmu_gfn_to_memslot_cached(vcpu->vm, &vcpu->slot_cache, f->gfn);
	if (!slot)
		return -ENOENT;
	/* A slot being moved: wait for the move, outside vm->srcu. */
	if (slot->flags & S2MMU_SLOT_INVALID)
		return -EAGAIN;
	/* A private frame's write is refused as private (KVM's order). */
	if ((f->access & S2MMU_ACCESS_W) && (slot->flags & S2MMU_MEM_READONLY) &&
	    !s2mmu_gfn_is_private(vcpu->vm, f->gfn))
		return -EROFS;
	f->slot = slot;
	f->hva = slot->userspace_addr +
		 ((f->gfn - slot->base_gfn) << PAGE_SHIFT);
	/*
	 * Dirty logging (mmu/dirty.c): the bitmap, published with release,
	 * is read once; it stays allocated until we leave vm->srcu, and the
	 * mode cannot change while the slot logs.
	 */
	f->dirty_bitmap = smp_load_acquire(&slot->dirty_bitmap);
	f->dirty_logged = f->dirty_bitmap;
	if (READ_ONCE(vcpu->vm->dirty_log_mode) != S2MMU_DIRTY_LOG_MODE_WRPROT)
		f->dirty_bitmap = NULL;
	return 0;
}

/*
 * The largest level up to @level whose leaf over @gfn covers no private
 * frame: a shared leaf maps host memory only (KVM's mixed-attribute huge
 * page rule).  Read after the sequence; the install rechecks the range.
 */
static int s2mmu_fault_attr_level(struct s2mmu_vm *vm, u64 gfn, int level)
{
	for (; level > 0; level--) {
		u64 n = 1ULL << (level * S2MMU_PT_LEVEL_BITS);
		u64 start = gfn & ~(n - 1);

		if (!s2mmu_gfn_range_has_private(vm, start, start + n))
			break;
	}
	return level;
}

/*
 * Steps 4 and 5: the page (with a reference), whether it may be mapped
 * writable, and the largest leaf the host mapping, the slot's alignment
 * and the VM type allow; f->pfn is the leaf's first frame.
 */
static int s2mmu_fault_host(struct s2mmu_vm *vm, struct s2mmu_fault *f)
{
	const struct s2mmu_vm_ops *ops = vm->cfg.ops;
	struct s2mmu_host_map host;
	int ret, level;

	/*
	 * A private frame: the guest_memfd page at the slot's offset, 4 KiB
	 * (as KVM 6.12's guest_memfd), writable (such slots are never
	 * read-only or logged); the module's own pages can hold tags.
	 */
	if (f->private) {
		f->page = s2mmu_gmem_get_page(f->slot, f->gfn);
		if (IS_ERR(f->page)) {
			ret = PTR_ERR(f->page);
			f->page = NULL;
			return ret;
		}
		f->map_writable = true;
		f->vm_flags = VM_MTE_ALLOWED;
		f->req_level = 0;
		f->level = 0;
		f->pfn = page_to_pfn(f->page);
		return 0;
	}

	ret = s2mmu_host_get_page(f->hva, f->access & S2MMU_ACCESS_W,
				  !(f->slot->flags & S2MMU_MEM_READONLY),
				  &f->page, &f->map_writable);
	if (ret)
		return ret;
	/* Write-protection logging: writable only for a write, which marks. */
	if (f->dirty_bitmap && !(f->access & S2MMU_ACCESS_W))
		f->map_writable = false;
	/* MTE VMs map only memory that can hold tags: prepare_page checks. */
	f->vm_flags = 0;
	if (vm->cfg.mte) {
		ret = s2mmu_host_vma_flags(f->hva, &f->vm_flags);
		if (ret) {
			put_page(f->page);
			f->page = NULL;
			return ret;
		}
	}
	s2mmu_host_walk(vm->mm, f->hva, &host);
	level = min_t(int, host.level, S2MMU_PT_MAX_LEAF_LEVEL);
	/* A logged slot is mapped 4 KiB, so each page is tracked alone. */
	if (f->dirty_logged)
		level = 0;
	level = s2mmu_memslot_max_level(f->slot, f->gfn, f->hva, level);
	f->req_level = s2mmu_fault_attr_level(vm, f->gfn, level);
	f->level = f->req_level;
	if (ops->fault_level)
		f->level = min(f->level, ops->fault_level(vm, f, f->req_level));
	f->pfn = page_to_pfn(f->page) -
		 (f->gfn & ((1ULL << (f->level * S2MMU_PT_LEVEL_BITS)) - 1));
	return 0;
}

/* Step 6, under mmu_lock for read: check the sequence, then install. */
static int s2mmu_fault_install(struct s2mmu_vcpu *vcpu, struct s2mmu_fault *f)
	__must_hold(&vcpu->vm->mmu_lock)
{
	const struct s2mmu_vm_ops *ops = vcpu->vm->cfg.ops;
	struct s2mmu_vm *vm = vcpu->vm;
	u64 npages, start;
	int ret;

	if (vm->mm_released)
		return -EFAULT;
	/* The whole leaf: an attribute change may be in progress beside. */
	npages = 1ULL << (f->level * S2MMU_PT_LEVEL_BITS);
	start = f->gfn & ~(npages - 1);
	if (s2mmu_mmu_invalidate_retry_range(vm, start, start + npages,
					     f->mmu_seq))
		return -EAGAIN;
	/*
	 * Mark before installing, under the same mmu_lock (read) section:
	 * a harvest (write) sees the mark only with the writable leaf, and
	 * protects it again (Documentation/locking.rst, "Dirty logging").
	 */
	if (f->dirty_bitmap && f->map_writable)
		s2mmu_dirty_mark(vm, f);
	if (ops->prepare_page) {
		ret = ops->prepare_page(vm, f);
		if (ret)
			return ret;
	}
	return s2mmu_mmu_install(vm, &vcpu->cache, f);
}

/* Steps 2 to 5, once the slot is known: until the install sticks. */
static int s2mmu_map_slot_gfn(struct s2mmu_vcpu *vcpu, struct s2mmu_fault *f)
{
	struct s2mmu_vm *vm = vcpu->vm;
	bool flush;
	int ret;

	for (;;) {
		if (signal_pending(current))
			return -EINTR;
		ret = s2mmu_table_cache_topup(&vcpu->cache, vm->pgt.levels);
		ret = s2mmu_topup_result(ret);
		if (ret)
			return ret;

		f->mmu_seq = READ_ONCE(vm->mmu_invalidate_seq);
		/* The sequence is read before the page; pairs with mmu_lock. */
		smp_rmb();
		/*
		 * While an invalidation covers the frame, a page looked up
		 * now would be thrown away under mmu_lock: wait it out
		 * without GUP.
		 */
		if (s2mmu_mmu_invalidate_retry_unsafe(vm, f->gfn, f->mmu_seq)) {
			trace_s2mmu_fault_retry(f->gfn, f->mmu_seq, false);
			vcpu->stat.fault_retries++;
			cond_resched();
			continue;
		}
		/* After the sequence: a conversion since makes it retry. */
		f->private = s2mmu_gfn_is_private(vm, f->gfn);
		ret = s2mmu_fault_host(vm, f);
		if (ret)
			return ret;
		s2mmu_test_gmem_delay(f);

		f->flush = false;
		f->spurious = false;
		read_lock(&vm->mmu_lock);
		ret = s2mmu_fault_install(vcpu, f);
		/* A collapse removed small leaves: claimed as a zap's flush. */
		flush = f->flush && s2mmu_mmu_flush_claim(vm, true);
		read_unlock(&vm->mmu_lock);
		if (flush)
			s2mmu_mmu_flush_finish(vm);

		/* The guest may write through a writable entry at any time. */
		if (!ret && f->map_writable && !f->private)
			set_page_dirty_lock(f->page);
		put_page(f->page);
		f->page = NULL;
		if (ret != -EAGAIN)
			break;
		trace_s2mmu_fault_retry(f->gfn, f->mmu_seq, true);
		vcpu->stat.fault_retries++;
		cond_resched();
	}
	return ret;
}

/* The log2 histogram's bucket of @ns (as KVM_STATS_LOG_HIST_UPDATE()). */
static unsigned int s2mmu_fault_hist_bucket(u64 ns)
{
	return min_t(unsigned int, fls64(ns), S2MMU_STAT_HIST_BUCKETS - 1);
}

/*
 * Account a fault that took @ns: its outcome, and its latency in the log2
 * histogram (bucket 0 for 0 ns, bucket i for [2^(i-1), 2^i) ns, the last
 * for everything longer).
 */
static void s2mmu_fault_account(struct s2mmu_vcpu *vcpu,
				const struct s2mmu_fault *f, int ret, u64 ns)
{
	struct s2mmu_vcpu_stat *st = &vcpu->stat;

	if (!ret && f->spurious)
		st->pf_spurious++;
	else if (!ret)
		st->pf_fixed++;
	st->fault_latency_hist[s2mmu_fault_hist_bucket(ns)]++;
}

/* The time from @start, as a fault's latency (see s2mmu_map_gfn()). */
static u64 s2mmu_fault_ns(u64 start)
{
	u64 end = local_clock();

	return end > start ? end - start : 0;
}

/**
 * s2mmu_map_gfn() - resolve a stage-2 fault on one guest frame.
 * @vcpu: the faulting vCPU (its table page cache is used).
 * @f: in: gfn and access (S2MMU_ACCESS_R/W/X); out on success: the slot,
 *     host address and frame, and the level of the installed leaf.
 *
 * Context: process context of the VM's mm, inside vm->srcu; sleeps.
 * Return: 0 once a leaf allowing the access maps the frame (retry the
 * access); -ENOENT when it is in no slot; -EAGAIN while its slot is being
 * moved (the caller leaves vm->srcu, so the move can finish, and
 * retries); -EROFS for a write to a read-only slot; -EFAULT when the host
 * memory cannot be mapped; -EHWPOISON; -EINTR when a signal is pending;
 * -ENOMEM; -EOVERFLOW for a host frame the stage-2 format cannot address.
 * Every call counts as a fault taken in the vCPU's statistics.
 */
int s2mmu_map_gfn(struct s2mmu_vcpu *vcpu, struct s2mmu_fault *f)
{
	/*
	 * local_clock(), not ktime_get_ns(): where the clocksource is not
	 * the TSC (QEMU TCG marks it unsynchronised in the test kernels,
	 * which then run on the HPET) a ktime read is an MMIO read that the
	 * emulator's device model serves.  local_clock() reads the CPU's
	 * counter.  A fault that slept may end on another CPU, whose clock
	 * may be a little behind: count that as 0 ns.
	 */
	u64 start = local_clock();
	int ret;

	vcpu->stat.pf_taken++;
	ret = s2mmu_fault_slot(vcpu, f);
	if (!ret)
		ret = s2mmu_map_slot_gfn(vcpu, f);
	s2mmu_fault_account(vcpu, f, ret, s2mmu_fault_ns(start));
	return ret;
}

/*
 * The most frames one run maps (its page array is on the stack): a
 * PRE_FAULT's, or a fault-around's after its fault.
 */
#define S2MMU_FAULT_RUN_MAX	(S2MMU_FAULT_AROUND_MAX + 1)

/*
 * How many frames after @first a run may cover, up to @max: those in the
 * same slot and the same stage-2 leaf table as @first, which
 * s2mmu_map_gfn() has just mapped with a 4 KiB leaf.  0 where a run does
 * not apply: a private frame, dirty logging (each page is marked alone),
 * an MTE VM (each page's VMA and tags are checked alone, by
 * prepare_page), and @first the last frame of its leaf table (the next
 * table's memory may be a THP's, to be mapped huge by its own fault).
 */
static unsigned int s2mmu_map_run_len(struct s2mmu_vm *vm,
				      const struct s2mmu_fault *first, u64 max)
{
	const struct s2mmu_memslot *slot = first->slot;
	u64 gfn = first->gfn + 1;

	if (first->level || first->private || first->dirty_logged ||
	    vm->cfg.mte || !(gfn % S2MMU_PT_ENTRIES))
		return 0;
	max = min_t(u64, max, S2MMU_FAULT_RUN_MAX);
	max = min(max, slot->base_gfn + slot->npages - gfn);
	return min_t(u64, max, S2MMU_PT_ENTRIES - (gfn % S2MMU_PT_ENTRIES));
}

/*
 * Account a run of @mapped leaves, @kept of them found mapped, that took
 * @ns: each frame is a fault taken, fixed or spurious, and counts once in
 * the latency histogram, at the run's time per frame.
 */
static void s2mmu_fault_account_run(struct s2mmu_vcpu *vcpu,
				    unsigned int mapped, unsigned int kept,
				    u64 ns)
{
	struct s2mmu_vcpu_stat *st = &vcpu->stat;

	st->pf_taken += mapped;
	st->pf_spurious += kept;
	st->pf_fixed += mapped - kept;
	st->fault_latency_hist[s2mmu_fault_hist_bucket(div_u64(ns, mapped))] +=
		mapped;
}

/*
 * A run: once s2mmu_map_gfn() has mapped @first with a 4 KiB leaf, map
 * up to @max frames after it into the same leaf table with one
 * GUP-fast call, one mmu_lock section, one retry check over the whole
 * run and one descent (a fault per frame costs each of these per frame,
 * and a slot lookup, a table cache top-up and a host walk besides).
 *
 * The protocol is the fault's, over a range and under @first's own
 * invalidation sequence: @first's snapshot was read before its page and
 * its host walk, which found @first mapped at 4 KiB; the run's pages are
 * looked up after, and under mmu_lock a run that any invalidation since
 * that snapshot may have touched maps nothing.  So the host mapping is
 * as @first's fault saw it, and where the slot's guest and host
 * addresses are aligned alike at 2 MiB the leaf table's memory is one
 * host PTE table's, never a THP's.  The run never links a table nor
 * splits a huge leaf (s2mmu_pgtable_map_run()).
 *
 * Only memory the host maps already is taken (GUP-fast, no host fault):
 * where the run stops, the caller goes on with a fault, which handles
 * everything else (COW, swap, errors).  A writable slot's run takes
 * writable pages only (FOLL_WRITE), so each frame is mapped writable
 * exactly where a fault would map it so.
 *
 * PRE_FAULT_MEMORY maps its range in runs, and counts each frame as a
 * fault taken.  A guest read fault of a VM with %S2MMU_CAP_FAULT_AROUND
 * (@prefetch) maps the frames after its own the same way but read-only,
 * so no page the guest may never touch is dirtied, and counts them in
 * pf_prefetched only: they are not faults the guest took.  Every run's
 * leaves are installed without Accessed, as every fault's are (the vCPU
 * walker sets it on an access), so aging sees only what the guest uses.
 *
 * Context: inside vm->srcu, the section in which @first was mapped (its
 * slot is still valid); sleeps.
 * Return: the number of frames mapped after @first (0: none; the caller
 * faults the next one).
 */
static unsigned int s2mmu_map_run(struct s2mmu_vcpu *vcpu,
				  const struct s2mmu_fault *first, u64 max,
				  bool prefetch)
{
	struct s2mmu_vm *vm = vcpu->vm;
	struct page *pages[S2MMU_FAULT_RUN_MAX];
	u64 pfns[S2MMU_FAULT_RUN_MAX];
	struct s2mmu_fault f = {
		.gfn		= first->gfn + 1,
		.access		= S2MMU_ACCESS_R,
		.slot		= first->slot,
		.hva		= first->hva + PAGE_SIZE,
		.mmu_seq	= first->mmu_seq,
		.map_writable	= !prefetch &&
				  !(first->slot->flags & S2MMU_MEM_READONLY),
	};
	unsigned int n, i, kept = 0;
	u64 start = local_clock();
	bool flush;
	int got, ret;

	n = s2mmu_map_run_len(vm, first, max);
	if (!n || s2mmu_gfn_range_has_private(vm, f.gfn, f.gfn + n))
		return 0;
	got = get_user_pages_fast_only(f.hva, n,
				       f.map_writable ? FOLL_WRITE : 0, pages);
	if (got <= 0)
		return 0;
	for (i = 0; i < got; i++)
		pfns[i] = page_to_pfn(pages[i]);
	s2mmu_test_run_delay();

	read_lock(&vm->mmu_lock);
	if (vm->mm_released)
		ret = -EFAULT;
	else if (s2mmu_mmu_invalidate_retry_range(vm, f.gfn, f.gfn + got,
						  f.mmu_seq))
		ret = -EAGAIN;
	else
		ret = s2mmu_mmu_install_run(vm, &f, pfns, got, &kept);
	flush = f.flush && s2mmu_mmu_flush_claim(vm, true);
	read_unlock(&vm->mmu_lock);
	if (flush)
		s2mmu_mmu_flush_finish(vm);

	n = ret > 0 ? ret : 0;
	for (i = 0; i < got; i++) {
		/* As a fault's: the guest may write through a writable leaf. */
		if (i < n && f.map_writable)
			set_page_dirty_lock(pages[i]);
		put_page(pages[i]);
	}
	/* The frame after @first is faulted anew: a fault started over. */
	if (ret == -EAGAIN) {
		trace_s2mmu_fault_retry(f.gfn, f.mmu_seq, true);
		vcpu->stat.fault_retries++;
	}
	if (n && prefetch)
		vcpu->stat.pf_prefetched += n - kept;
	else if (n)
		s2mmu_fault_account_run(vcpu, n, kept, s2mmu_fault_ns(start));
	return n;
}

/**
 * s2mmu_fault() - handle a stage-2 fault a vCPU took at @gpa.
 * @vcpu: the vCPU.
 * @gpa: the guest physical address.
 * @access: S2MMU_ACCESS_R/W/X needed.
 * @private: out: the frame was private when the fault looked.
 *
 * In a VM with %S2MMU_CAP_FAULT_AROUND, a read fault mapped with a 4 KiB
 * leaf also maps the frames after it that the host maps already, up to
 * the capability's count, in the same leaf table (s2mmu_map_run()).
 *
 * Return: as s2mmu_map_gfn(); -EFAULT for a private frame also when its
 * slot has no guest_memfd (S2MMU_MEMORY_FAULT_PRIVATE).
 */
int s2mmu_fault(struct s2mmu_vcpu *vcpu, u64 gpa, unsigned int access,
		bool *private)
{
	struct s2mmu_fault f = {
		.gfn	= gpa >> PAGE_SHIFT,
		.access	= access,
	};
	int ret = s2mmu_map_gfn(vcpu, &f);
	u32 around = READ_ONCE(vcpu->vm->cfg.fault_around);

	/* Fault-around: reads only, as a write or exec says nothing of next. */
	if (!ret && around && access == S2MMU_ACCESS_R)
		s2mmu_map_run(vcpu, &f, around, true);
	*private = f.private;
	return ret;
}

/**
 * s2mmu_pre_fault() - map a guest physical range as read faults would.
 * @vcpu: the vCPU whose table cache is used.
 * @gpa: in: start of the range; out: first address not yet mapped.
 * @size: in: length; out: what remains.
 *
 * As KVM_PRE_FAULT_MEMORY: stops at the first error or pending signal,
 * and reports success if anything was mapped; the caller calls again for
 * the rest and then sees the error.
 *
 * Return: 0 when some (or all) of the range was mapped; otherwise -EINTR
 * for a pending signal, -ENOENT for an address in no slot, -EFAULT,
 * -EHWPOISON or -ENOMEM from the fault.
 */
long s2mmu_pre_fault(struct s2mmu_vcpu *vcpu, u64 *gpa, u64 *size)
{
	struct s2mmu_vm *vm = vcpu->vm;
	bool progress = false;
	int idx, ret = 0;

	while (*size) {
		struct s2mmu_fault f = {
			.gfn	= *gpa >> PAGE_SHIFT,
			.access	= S2MMU_ACCESS_R,
		};
		u64 next;

		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		idx = srcu_read_lock(&vm->srcu);
		ret = s2mmu_map_gfn(vcpu, &f);
		if (ret) {
			srcu_read_unlock(&vm->srcu, idx);
			if (ret != -EAGAIN)
				break;
			/* Its slot is being moved: let the move finish. */
			cond_resched();
			continue;
		}
		/* Skip what the installed leaf covers. */
		next = ((f.gfn >> (f.level * 9)) + 1) <<
		       (f.level * 9 + PAGE_SHIFT);
		next = min(next - *gpa, *size);
		/* A 4 KiB leaf: the frames after it, in one run. */
		next += (u64)s2mmu_map_run(vcpu, &f,
					   (*size - next) >> PAGE_SHIFT,
					   false) << PAGE_SHIFT;
		srcu_read_unlock(&vm->srcu, idx);
		*gpa += next;
		*size -= next;
		progress = true;
		cond_resched();
	}
	return progress ? 0 : ret;
}
