// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's stage-2 MMU: how the VM uses the table engine (mmu/pgtable.c)
 * under its locks.  Faults install with mmu_lock held for read (cmpxchg,
 * losers retry); zaps hold it for write, claim their TLB flush under it
 * and flush after dropping it (s2mmu_mmu_flush_claim()); the vCPU walker
 * and S2MMU_TRANSLATE walk locklessly under RCU, and so does aging;
 * NX huge page recovery holds it for read and unlinks recorded tables
 * with cmpxchg.  The rules and the races they close:
 * Documentation/locking.rst.
 */
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>

#include "s2mmu.h"
#include "s2mmu_trace.h"

#ifdef S2MMU_PROVE_MMU
/*
 * Test flavour only: busy-wait this long between dropping mmu_lock and
 * flushing the vCPU TLBs after a zap, so a selftest can run a second
 * invalidation of the same page inside the window (race_test
 * nested_zap_flush).
 */
static unsigned int test_flush_delay_ms;
module_param(test_flush_delay_ms, uint, 0600);
MODULE_PARM_DESC(test_flush_delay_ms,
		 "TEST ONLY: delay (ms) before the TLB flush that follows a zap");

/*
 * Bench and test flavour only: age under mmu_lock for read, as before
 * aging went lockless, so make bench compares both in one boot.
 */
static bool test_age_locked;
module_param(test_age_locked, bool, 0600);
MODULE_PARM_DESC(test_age_locked,
		 "TEST ONLY: aging takes mmu_lock for read (the old path)");

/*
 * Bench and test flavour only: NX huge page recovery holds mmu_lock for
 * write, as KVM's did before 6.18, so make bench measures what the read
 * lock buys the faults racing it, in one boot.
 */
static bool test_nx_recovery_locked;
module_param(test_nx_recovery_locked, bool, 0600);
MODULE_PARM_DESC(test_nx_recovery_locked,
		 "TEST ONLY: NX huge page recovery takes mmu_lock for write (the old path)");
#else
static const unsigned int test_flush_delay_ms;
static const bool test_age_locked;
static const bool test_nx_recovery_locked;
#endif

/**
 * s2mmu_mmu_init() - create the VM's stage-2 table in its format.
 * @vm: the VM, with @cfg set.
 *
 * Return: 0 or -ENOMEM.
 */
int s2mmu_mmu_init(struct s2mmu_vm *vm)
{
	int ret;

	vm->age_stat = alloc_percpu(struct s2mmu_age_stat);
	if (!vm->age_stat)
		return -ENOMEM;
	ret = s2mmu_pgtable_init(&vm->pgt, vm->cfg.ops->pgt_ops,
				 vm->cfg.gpa_bits);
	if (ret) {
		free_percpu(vm->age_stat);
		vm->age_stat = NULL;
		return ret;
	}
	s2mmu_nx_init(vm);
	return ret;
}

/**
 * s2mmu_mmu_destroy() - free the VM's stage-2 table.
 * @vm: the VM; no walker, fault or notifier callback can run any more.
 */
void s2mmu_mmu_destroy(struct s2mmu_vm *vm)
{
	s2mmu_pgtable_destroy(&vm->pgt);
	s2mmu_nx_destroy(vm);
	free_percpu(vm->age_stat);
	vm->age_stat = NULL;
}

/* Guest frames the tree can map: clamp a gfn range to it, in bytes. */
static bool s2mmu_gfn_range_to_gpa(struct s2mmu_vm *vm, u64 start, u64 end,
				   u64 *gpa_start, u64 *gpa_end)
{
	u64 max_gfn = s2mmu_vm_config_max_gpa(&vm->cfg) >> PAGE_SHIFT;

	end = min(end, max_gfn);
	if (start >= end)
		return false;
	*gpa_start = start << PAGE_SHIFT;
	*gpa_end = end << PAGE_SHIFT;
	return true;
}

/**
 * s2mmu_mmu_walk() - the vCPU's hardware-like walk for one access.
 * @vm: the VM.
 * @gpa: guest physical address.
 * @access: S2MMU_ACCESS_* needed.
 * @res: on success, the host frame and the access the entry allows.
 * @wc: the vCPU's walk cache (the table of its last leaf), emptied at
 *      the start of every guest-mode burst and by every TLB flush.
 *
 * Sets Accessed, and Dirty on a write, with cmpxchg as hardware would.
 *
 * Context: rcu_read_lock() held (guest mode), the section @wc was filled
 * in; never sleeps.
 * Return: 0, or -EFAULT for a missing or insufficient entry.
 */
int s2mmu_mmu_walk(struct s2mmu_vm *vm, u64 gpa, unsigned int access,
		   struct s2mmu_walk_result *res,
		   struct s2mmu_pt_walk_cache *wc)
	__must_hold(RCU)
{
	unsigned int flags = S2MMU_LOOKUP_MKYOUNG;
	u32 need = S2MMU_PROT_ACCESSED;
	struct s2mmu_pt_info info;
	int tries;

	if (gpa >= s2mmu_vm_config_max_gpa(&vm->cfg))
		return -EFAULT;
	if (access & S2MMU_ACCESS_R)
		need |= S2MMU_PROT_R;
	if (access & S2MMU_ACCESS_X)
		need |= S2MMU_PROT_X;
	if (access & S2MMU_ACCESS_W) {
		flags |= S2MMU_LOOKUP_MKDIRTY;
		need |= S2MMU_PROT_W | S2MMU_PROT_DIRTY;
	}
	/*
	 * Like hardware, never complete an access without its Accessed (and
	 * for a write Dirty) bit set: if a racing update made our cmpxchg
	 * lose, walk again.  A missing permission is a fault.
	 */
	for (tries = 0; tries < 8; tries++) {
		if (s2mmu_pgtable_lookup_cached(&vm->pgt, gpa, flags, &info,
						wc))
			return -EFAULT;
		if ((info.prot & need & S2MMU_PROT_RWX) !=
		    (need & S2MMU_PROT_RWX))
			return -EFAULT;
		if ((info.prot & need) == need)
			break;
	}
	if (tries == 8)
		return -EFAULT;

	res->pfn = info.pa >> PAGE_SHIFT;
	res->level = info.level;
	res->cached = info.cached;
	res->access = 0;
	if (info.prot & S2MMU_PROT_R)
		res->access |= S2MMU_ACCESS_R;
	if (info.prot & S2MMU_PROT_X)
		res->access |= S2MMU_ACCESS_X;
	/* A TLB entry allows writes only once the walk has set Dirty. */
	if ((info.prot & S2MMU_PROT_W) && (info.prot & S2MMU_PROT_DIRTY))
		res->access |= S2MMU_ACCESS_W;
	return 0;
}

#ifdef S2MMU_KUNIT
/* KUnit plays a racing vCPU here, between a collapse and the map. */
void (*s2mmu_mmu_test_collapse_hook)(struct s2mmu_vm *vm);
#endif

/* Does the leaf mapping @gpa already give @pa with at least @prot? */
static bool s2mmu_mmu_leaf_covers(struct s2mmu_vm *vm, u64 gpa, u64 pa,
				  unsigned int level, u32 prot)
{
	struct s2mmu_pt_info info;

	if (s2mmu_pgtable_lookup(&vm->pgt, gpa, 0, &info))
		return false;
	return info.level == level && info.pa == pa &&
	       (info.prot & prot) == prot;
}

/*
 * Record the tables an exec fault linked above its leaf where the NX huge
 * page mitigation refused the huge leaf (levels up to f->req_level).
 */
static void s2mmu_mmu_nx_record(struct s2mmu_vm *vm,
				const struct s2mmu_fault *f,
				const struct s2mmu_pt_op *op, int lvl)
{
	for (lvl++; lvl <= f->req_level; lvl++)
		if (op->linked[lvl])
			s2mmu_nx_record(vm, f->gfn << PAGE_SHIFT, lvl,
					op->linked[lvl]);
}

/* A leaf's rights: huge leaves are not executable under the mitigation. */
static u32 s2mmu_mmu_leaf_prot(const struct s2mmu_fault *f, int lvl, bool nx)
{
	u32 prot = S2MMU_PROT_R | S2MMU_PROT_X;

	if (f->map_writable)
		prot |= S2MMU_PROT_W;
	if (nx && lvl)
		prot &= ~S2MMU_PROT_X;
	return prot;
}

/**
 * s2mmu_mmu_install() - install the leaf a fault resolved.
 * @vm: the VM.
 * @cache: table pages for missing tables.
 * @f: the fault: @f->gfn, the faulting guest frame; @f->pfn, the host
 *     frame of the first page of the leaf (aligned to @f->level);
 *     @f->level, in: the leaf level wanted, out: the level installed, one
 *     lower when a 1 GiB leaf would have had to tear down a table of
 *     tables (see below); @f->map_writable, map writable; @f->flush, set
 *     when an existing translation was removed (a table of small leaves
 *     collapsed for a huge one, or a racing fault's leaf replaced): the
 *     caller claims the flush before dropping mmu_lock; @f->req_level,
 *     the level the host and the slot allow (see below).
 *
 * Under the NX huge page mitigation (s2mmu_vm_nx_huge_pages()) huge
 * leaves are installed non-executable, and when the VM type refused a
 * huge leaf (@f->level below @f->req_level: an exec fault) the tables the
 * map links above the leaf are recorded as possible NX huge pages
 * (mmu/nx.c).  A fault never collapses a recorded table: it maps the next
 * level down instead, so the region stays mapped small until recovery
 * unlinks the table (as KVM's disallowed_hugepage_adjust()).
 *
 * A leaf that already maps the frame with at least these rights (another
 * vCPU's fault) is kept (@f->spurious is set): it was installed under the same invalidation
 * protocol, so it is as current as ours.  A huge leaf replaces a table of
 * small leaves only when that table holds no table itself, so a fault
 * tears down at most one table page (512 entries) under the read lock;
 * over a table of tables the fault maps the next level down instead.
 *
 * Context: mmu_lock held for read.
 * Return: 0, -EAGAIN when another thread changed the entry first (the
 * fault retries), -ENOMEM when @cache ran dry, or -EOVERFLOW when @pfn is
 * beyond the output address width of the VM's format.
 */
int s2mmu_mmu_install(struct s2mmu_vm *vm, struct s2mmu_table_cache *cache,
		      struct s2mmu_fault *f)
	__must_hold(&vm->mmu_lock)
{
	struct s2mmu_pt_op op = {
		.cache		= cache,
		.mmu_lock	= &vm->mmu_lock,
		.shared		= true,
	};
	bool nx = s2mmu_vm_nx_huge_pages(vm);
	int lvl = f->level;
	u64 size = s2mmu_pt_level_size(lvl);
	u64 gpa = (f->gfn << PAGE_SHIFT) & ~(size - 1);
	u64 pa = f->pfn << PAGE_SHIFT;
	u32 prot = s2mmu_mmu_leaf_prot(f, lvl, nx);
	int ret;

	lockdep_assert_held_read(&vm->mmu_lock);
	trace_s2mmu_spte_requested(f->gfn, f->pfn, f->level);
	if (s2mmu_mmu_leaf_covers(vm, gpa, pa, lvl, prot)) {
		f->spurious = true;
		return 0;
	}
	/* Host memory the format cannot address: no guest exit can fix it. */
	if (pa + size > (1ULL << vm->pgt.ops->pa_bits))
		return -EOVERFLOW;
	for (;;) {
		ret = s2mmu_pgtable_map(&vm->pgt, gpa, pa, size, lvl, prot,
					&op);
		if (ret != -EEXIST)
			break;
		/* Small leaves where a huge one goes: unlink their table. */
		if (nx && s2mmu_nx_recorded(vm, gpa, lvl))
			ret = -EBUSY;	/* a possible NX huge page: keep it */
		else
			ret = s2mmu_pgtable_collapse(&vm->pgt, gpa, lvl, &op);
		if (ret == -EBUSY) {
			/* A table of tables: map one level down instead. */
			u64 off = ((f->gfn << PAGE_SHIFT) - gpa) &
				  ~(s2mmu_pt_level_size(lvl - 1) - 1);

			lvl--;
			size = s2mmu_pt_level_size(lvl);
			gpa += off;
			pa += off;
			prot = s2mmu_mmu_leaf_prot(f, lvl, nx);
			continue;
		}
		S2MMU_TEST_HOOK(s2mmu_mmu_test_collapse_hook, vm);
		if (!ret)
			ret = s2mmu_pgtable_map(&vm->pgt, gpa, pa, size, lvl,
						prot, &op);
		/*
		 * Another vCPU linked a table there again between the
		 * collapse and the map: a race like any other, so retry.
		 */
		if (ret == -EEXIST)
			ret = -EAGAIN;
		break;
	}
	if (!ret && nx && f->level < f->req_level)
		s2mmu_mmu_nx_record(vm, f, &op, lvl);
	f->level = lvl;
	f->flush |= op.flush;
	return ret;
}

/**
 * s2mmu_mmu_install_run() - install the 4 KiB leaves of a fault's run.
 * @vm: the VM.
 * @f: the run: @f->gfn, its first guest frame; @f->map_writable, map the
 *     leaves writable; @f->flush, set as by s2mmu_mmu_install().
 * @pfns: the host frame of each leaf.
 * @n: leaves, all in @f->gfn's leaf table.
 * @kept: out: how many of them were mapped already (another vCPU's
 *        faults, or an earlier PRE_FAULT): as s2mmu_mmu_install()'s
 *        spurious fault, each is kept with its Accessed/Dirty bits.
 *
 * 4 KiB leaves only, into the leaf table the fault before the run linked
 * (s2mmu_pgtable_map_run()): no table is linked, no huge leaf split or
 * collapsed, and no NX huge page bookkeeping (a small leaf is executable
 * under the mitigation too).
 *
 * Context: mmu_lock held for read, after the retry check of the run.
 * Return: the leaves installed from the first (> 0); -EAGAIN (no leaf
 * table there any more, or a race lost) or -EOVERFLOW when not even the
 * first was.
 */
int s2mmu_mmu_install_run(struct s2mmu_vm *vm, struct s2mmu_fault *f,
			  const u64 *pfns, unsigned int n, unsigned int *kept)
	__must_hold(&vm->mmu_lock)
{
	struct s2mmu_pt_op op = {
		.mmu_lock	= &vm->mmu_lock,
		.shared		= true,
	};
	unsigned int i;
	int ret;

	lockdep_assert_held_read(&vm->mmu_lock);
	for (i = 0; i < n; i++)
		trace_s2mmu_spte_requested(f->gfn + i, pfns[i], 0);
	ret = s2mmu_pgtable_map_run(&vm->pgt, f->gfn << PAGE_SHIFT, pfns, n,
				    s2mmu_mmu_leaf_prot(f, 0, false), &op,
				    kept);
	f->flush |= op.flush;
	return ret;
}

static void s2mmu_mmu_flush_cb(void *arg)
{
	s2mmu_flush_remote_tlbs(arg);
}

/**
 * s2mmu_mmu_flush_claim() - decide, before dropping mmu_lock, whether the
 * caller must flush the vCPU TLBs after dropping it.
 * @vm: the VM.
 * @flush: the caller's own change needs a flush (it removed or narrowed a
 *         translation a vCPU TLB may hold).
 *
 * A translation removed under mmu_lock is gone for good only once a TLB
 * flush started after the removal has finished.  Flushing after the lock
 * is dropped leaves a window in which another zapper of the same page
 * finds nothing to zap; if it returned at once, the host would free the
 * page while a vCPU still reaches it through its TLB.  So every flush is
 * claimed here, under the lock, in @vm->tlb_flush_pending, and a caller
 * that sees a claimed flush still pending claims (and does) one as well:
 * its own flush starts after the earlier removal, so when it returns no
 * vCPU holds that translation either.  The host mm closes the same window
 * with mm_tlb_flush_nested().
 *
 * Context: mmu_lock held (read or write).
 * Return: true when the caller must call s2mmu_mmu_flush_finish() once it
 * has dropped mmu_lock.
 */
bool s2mmu_mmu_flush_claim(struct s2mmu_vm *vm, bool flush)
	__must_hold(&vm->mmu_lock)
{
	lockdep_assert_held(&vm->mmu_lock);
	if (!flush && !atomic_read(&vm->tlb_flush_pending))
		return false;
	atomic_inc(&vm->tlb_flush_pending);
	return true;
}

/**
 * s2mmu_mmu_flush_finish() - flush the vCPU TLBs for a claimed flush.
 * @vm: the VM.
 *
 * Releases the claim only once the flush is done (with release ordering),
 * so a zapper that reads @vm->tlb_flush_pending as zero under mmu_lock
 * knows every earlier removal has been flushed.
 *
 * Context: after s2mmu_mmu_flush_claim() returned true, mmu_lock dropped;
 * never sleeps.
 */
void s2mmu_mmu_flush_finish(struct s2mmu_vm *vm)
{
	unsigned int delay = READ_ONCE(test_flush_delay_ms);

	if (unlikely(delay))
		mdelay(delay);
	s2mmu_flush_remote_tlbs(vm);
	/* The flush is done before the claim is seen to go. */
	smp_mb__before_atomic();
	atomic_dec(&vm->tlb_flush_pending);
}

/**
 * s2mmu_mmu_zap_gfn_range_locked() - remove the leaves mapping a gfn range.
 * @vm: the VM.
 * @start: first guest frame.
 * @end: first guest frame past the range (clamped to the VM's space).
 * @yield: S2MMU_ZAP_NO_YIELD, or S2MMU_ZAP_MAY_YIELD to drop mmu_lock
 *         when a reschedule is due (S2MMU_ZAP_FORCE_YIELD: at every
 *         opportunity, for tests).  A zap flushes the vCPU TLBs before it
 *         yields with a flush pending.
 * @flush: the caller already has a TLB flush pending.
 *
 * Context: mmu_lock held for write.  With S2MMU_ZAP_NO_YIELD never sleeps
 * (callable from non-blockable notifier ranges); otherwise may drop and
 * retake mmu_lock and sleep.
 * Return: true when the caller must flush the vCPU TLBs (the flush
 * pending on entry included, unless a yield flushed it).
 */
bool s2mmu_mmu_zap_gfn_range_locked(struct s2mmu_vm *vm, u64 start, u64 end,
				    enum s2mmu_zap_yield yield, bool flush)
	__must_hold(&vm->mmu_lock)
{
	struct s2mmu_pt_op op = {
		.mmu_lock	= &vm->mmu_lock,
		.may_yield	= yield != S2MMU_ZAP_NO_YIELD,
		.force_yield	= yield == S2MMU_ZAP_FORCE_YIELD,
		.flush		= flush,
		.flush_tlbs	= s2mmu_mmu_flush_cb,
		.flush_arg	= vm,
	};
	u64 gs, ge;

	lockdep_assert_held_write(&vm->mmu_lock);
	if (!s2mmu_gfn_range_to_gpa(vm, start, end, &gs, &ge))
		return flush;
	s2mmu_pgtable_zap(&vm->pgt, gs, ge, S2MMU_ZAP_LEAVES, &op);
	if (op.nr_zapped)
		atomic64_inc(&vm->stat.zaps);
	return op.flush;
}

/**
 * s2mmu_mmu_zap_gfn_range() - remove every entry (leaves and the tables
 * wholly inside the range) of a gfn range, and flush.
 * @vm: the VM.
 * @start: first guest frame.
 * @end: first guest frame past the range.
 *
 * May yield mid-way; it flushes before yielding, and after dropping
 * mmu_lock at the end it flushes whatever it or another zapper left
 * pending, so it returns only once no vCPU TLB holds a translation of the
 * range.
 *
 * Context: process context; takes mmu_lock for write; sleeps.
 */
void s2mmu_mmu_zap_gfn_range(struct s2mmu_vm *vm, u64 start, u64 end)
{
	struct s2mmu_pt_op op = {
		.mmu_lock	= &vm->mmu_lock,
		.may_yield	= true,
		.flush_tlbs	= s2mmu_mmu_flush_cb,
		.flush_arg	= vm,
	};
	u64 gs, ge;

	if (!s2mmu_gfn_range_to_gpa(vm, start, end, &gs, &ge))
		return;
	bool flush;

	/* The engine takes RCU itself and drops it when it yields. */
	write_lock(&vm->mmu_lock);
	s2mmu_pgtable_zap(&vm->pgt, gs, ge, S2MMU_ZAP_TABLES, &op);
	flush = s2mmu_mmu_flush_claim(vm, op.flush);
	write_unlock(&vm->mmu_lock);
	if (op.nr_zapped)
		atomic64_inc(&vm->stat.zaps);
	if (flush)
		s2mmu_mmu_flush_finish(vm);
}

/**
 * s2mmu_mmu_age_gfn_range() - test, and optionally clear, Accessed over a
 * gfn range, without mmu_lock.
 * @vm: the VM.
 * @start: first guest frame.
 * @end: first guest frame past the range.
 * @clear: clear the Accessed bits found set.
 *
 * The walk runs under RCU only and clears with one cmpxchg per leaf (a
 * lost one counts as young), so aging never waits for faults or zaps nor
 * makes them wait.  When it cleared a bit it bumps vm->age_gen: a vCPU
 * drops its TLB at its next guest entry that sees the new generation, so
 * its next access to the page walks the tables and sets Accessed again,
 * without a shootdown (Documentation/locking.rst, "Aging").
 *
 * Context: any, atomic included; never sleeps.
 * Return: 1 if any leaf in the range had Accessed set, else 0.
 */
int s2mmu_mmu_age_gfn_range(struct s2mmu_vm *vm, u64 start, u64 end,
			    bool clear)
{
	struct s2mmu_pt_op op = { .shared = true };
	u64 gs, ge;
	bool young;

	if (!s2mmu_gfn_range_to_gpa(vm, start, end, &gs, &ge))
		return 0;
	if (unlikely(READ_ONCE(test_age_locked))) {
		read_lock(&vm->mmu_lock);
		young = s2mmu_pgtable_age(&vm->pgt, gs, ge, clear, &op);
		read_unlock(&vm->mmu_lock);
	} else {
		young = s2mmu_pgtable_age(&vm->pgt, gs, ge, clear, &op);
	}
	if (young)
		this_cpu_inc(vm->age_stat->young);
	if (op.nr_races)
		this_cpu_add(vm->age_stat->races, op.nr_races);
	if (op.flush) {
		/*
		 * The clears before the generation; pairs with the vCPU's
		 * acquire.  Moved by every call that cleared a bit: a vCPU
		 * that emptied its TLB at the current generation may cache
		 * the page again, and coalescing the moves safely would need
		 * to know that no vCPU did.
		 */
		smp_mb__before_atomic();
		atomic_long_inc(&vm->age_gen);
	}
	return young;
}

/**
 * s2mmu_mmu_translate() - S2MMU_TRANSLATE: what the tables hold for t->gpa.
 * @vm: the VM.
 * @t: in: gpa; out: the rest, hpa included (the caller hides it from
 *     unprivileged users).
 *
 * Return: 0, or -EINVAL for a gpa outside the VM's address space.
 */
int s2mmu_mmu_translate(struct s2mmu_vm *vm, struct s2mmu_translation *t)
{
	struct s2mmu_pt_info info;
	u64 gpa = t->gpa;

	if (gpa >= s2mmu_vm_config_max_gpa(&vm->cfg))
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->gpa = gpa;
	if (s2mmu_pgtable_lookup(&vm->pgt, gpa, 0, &info))
		return 0;
	t->present = 1;
	t->hpa = info.pa;
	t->level = info.level;
	t->writable = !!(info.prot & S2MMU_PROT_W);
	t->executable = !!(info.prot & S2MMU_PROT_X);
	t->accessed = !!(info.prot & S2MMU_PROT_ACCESSED);
	t->dirty = !!(info.prot & S2MMU_PROT_DIRTY);
	return 0;
}

#ifdef S2MMU_KUNIT
/*
 * KUnit: recovery yields after every table when set, and the hook runs
 * at the yield, with mmu_lock dropped, before rescheduling.
 */
bool s2mmu_mmu_test_nx_force_yield;
void (*s2mmu_mmu_test_nx_yield_hook)(struct s2mmu_vm *vm);
#define s2mmu_mmu_nx_force_yield()	READ_ONCE(s2mmu_mmu_test_nx_force_yield)
#else
#define s2mmu_mmu_nx_force_yield()	false
#endif

/*
 * Drop mmu_lock (read) to reschedule, flushing first what recovery has
 * unlinked so far: a yield never leaves a flush pending (the seed of
 * issue 11: a zap that yielded with an earlier step's flush still owed
 * released the lock with stale TLB entries).
 */
static void s2mmu_mmu_nx_lock(struct s2mmu_vm *vm, bool excl)
	__acquires(&vm->mmu_lock)
{
	if (excl)
		write_lock(&vm->mmu_lock);
	else
		read_lock(&vm->mmu_lock);
}

static void s2mmu_mmu_nx_unlock(struct s2mmu_vm *vm, bool excl)
	__releases(&vm->mmu_lock)
{
	if (excl)
		write_unlock(&vm->mmu_lock);
	else
		read_unlock(&vm->mmu_lock);
}

static void s2mmu_mmu_nx_yield(struct s2mmu_vm *vm, struct s2mmu_pt_op *op)
	__must_hold(&vm->mmu_lock)
{
	bool flush = s2mmu_mmu_flush_claim(vm, op->flush);

	op->flush = false;
	s2mmu_mmu_nx_unlock(vm, !op->shared);
	if (flush)
		s2mmu_mmu_flush_finish(vm);
	S2MMU_TEST_HOOK(s2mmu_mmu_test_nx_yield_hook, vm);
	cond_resched();
	s2mmu_mmu_nx_lock(vm, !op->shared);
}

/**
 * s2mmu_mmu_recover_nx_huge_pages() - unlink the oldest recorded possible
 * NX huge pages.
 * @vm: the VM.
 * @nr: how many records to take (the worker's DIV_ROUND_UP(splits,
 *      ratio)).
 *
 * Holds mmu_lock for read, so vCPU faults go on meanwhile: each table is
 * unlinked only if its parent entry still points at it, with cmpxchg
 * (s2mmu_pgtable_unlink_table()); a table a racing fault replaced or is
 * changing is left for a later turn, and one that holds tables waits at
 * the tail for them to go first.  Between tables it yields when a
 * reschedule or a writer is due, and only after flushing what it has
 * unlinked; it flushes once more after dropping the lock at the end, so
 * it returns only once no vCPU TLB holds a translation it removed.  The
 * test flavour's test_nx_recovery_locked takes mmu_lock for write instead
 * (KVM's path before 6.18), so make bench can compare the two.
 *
 * A table in a slot that logs dirty pages is not unlinked but only
 * dropped from the record (as KVM): the slot maps 4 KiB anyway while it
 * logs, so unlinking would only make its pages fault again.
 *
 * Context: process context; takes vm->srcu, and mmu_lock for read; sleeps.
 * Return: the tables unlinked.
 */
unsigned long s2mmu_mmu_recover_nx_huge_pages(struct s2mmu_vm *vm,
					      unsigned long nr)
{
	/* The test flavour's write-locked variant, for make bench only. */
	bool excl = READ_ONCE(test_nx_recovery_locked);
	struct s2mmu_pt_op op = {
		.mmu_lock	= &vm->mmu_lock,
		.shared		= !excl,
	};
	struct s2mmu_memslot *slot;
	unsigned long done = 0;
	struct s2mmu_nx_page p;
	int ret, idx;
	bool flush;

	idx = srcu_read_lock(&vm->srcu);
	s2mmu_mmu_nx_lock(vm, excl);
	while (nr-- && s2mmu_nx_oldest(vm, &p)) {
		/* The slot's lookup, as s2mmu_gfn_to_memslot() (a layer up). */
		slot = mtree_load(&vm->gfn_tree, p.gpa >> PAGE_SHIFT);
		if (slot && READ_ONCE(slot->dirty_bitmap)) {
			s2mmu_nx_forget(vm, p.gpa, p.level, p.table_pa);
			continue;
		}
		ret = s2mmu_pgtable_unlink_table(&vm->pgt, p.gpa, p.level,
						 p.table_pa, &op);
		/* Unlinked: the change hook dropped the record. */
		if (!ret) {
			trace_s2mmu_nx_recovered(p.gpa, p.level);
			done++;
		} else if (ret == -ENOENT) {
			s2mmu_nx_forget(vm, p.gpa, p.level, p.table_pa);
		}
		if (nr && (s2mmu_mmu_nx_force_yield() || need_resched() ||
			   rwlock_needbreak(&vm->mmu_lock)))
			s2mmu_mmu_nx_yield(vm, &op);
	}
	flush = s2mmu_mmu_flush_claim(vm, op.flush);
	s2mmu_mmu_nx_unlock(vm, excl);
	srcu_read_unlock(&vm->srcu, idx);
	if (flush)
		s2mmu_mmu_flush_finish(vm);
	atomic64_add(done, &vm->stat.nx_lpage_recoveries);
	return done;
}
