// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the software TLB and the shootdown handshake
 * (mmu/tlb.c), with real vCPU objects of a test VM and no file.
 *
 * UML runs one CPU, and a vCPU in guest mode has preemption disabled, so
 * a flusher and a vCPU in guest mode never run at once there: where the
 * flusher would wait for a vCPU, s2mmu_tlb_test_wait_hook plays the vCPU
 * on the flusher's turn of the wait.  A kthread vCPU then runs bursts
 * against real zaps, as S2MMU_RUN does.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/kthread.h>
#include <linux/percpu.h>
#include <linux/sched.h>

#include "s2mmu_kunit.h"

#define H	S2MMU_KUNIT_HVA
#define GFN	0x100ULL

static struct s2mmu_vm *tlb_vm(struct kunit *test, struct s2mmu_vcpu **vcpu)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, S2MMU_VM_X86_TDP);

	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 1, 0, GFN, 512, H), 0);
	*vcpu = s2mmu_kunit_vcpu_add(test, vm);
	return vm;
}

/* Lookups hit only inside the cached leaf, for the rights it allowed. */
static void tlb_fill_lookup_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm(test, &vcpu);
	struct s2mmu_walk_result res = {
		.pfn	= 0x5000 + 0x13,
		.access	= S2MMU_ACCESS_R | S2MMU_ACCESS_X,
		.level	= 1,
	};
	u64 misses, pfn = 0;

	KUNIT_EXPECT_NOT_NULL(test, vm);
	misses = vcpu->stat.tlb_misses;
	KUNIT_EXPECT_FALSE(test, s2mmu_tlb_lookup(vcpu, 0x213, S2MMU_ACCESS_R,
						  &pfn));
	KUNIT_EXPECT_EQ(test, vcpu->stat.tlb_misses, misses + 1);

	/* A 2 MiB leaf at gfn 0x200 is one entry covering 512 frames. */
	s2mmu_tlb_fill(vcpu, 0x213, &res);
	KUNIT_EXPECT_TRUE(test, s2mmu_tlb_lookup(vcpu, 0x213, S2MMU_ACCESS_R,
						 &pfn));
	KUNIT_EXPECT_EQ(test, pfn, 0x5013);
	KUNIT_EXPECT_TRUE(test, s2mmu_tlb_lookup(vcpu, 0x200, S2MMU_ACCESS_X,
						 &pfn));
	KUNIT_EXPECT_EQ(test, pfn, 0x5000);
	KUNIT_EXPECT_TRUE(test, s2mmu_tlb_lookup(vcpu, 0x3ff, S2MMU_ACCESS_R,
						 &pfn));
	KUNIT_EXPECT_EQ(test, pfn, 0x51ff);
	KUNIT_EXPECT_FALSE(test, s2mmu_tlb_lookup(vcpu, 0x400, S2MMU_ACCESS_R,
						  &pfn));
	/* A read walk's entry does not allow writes: those walk again. */
	KUNIT_EXPECT_FALSE(test, s2mmu_tlb_lookup(vcpu, 0x213, S2MMU_ACCESS_W,
						  &pfn));

	/* A 4 KiB entry beside it; a local flush empties both. */
	res.level = 0;
	res.pfn = 0x7777;
	res.access = S2MMU_ACCESS_R | S2MMU_ACCESS_W;
	s2mmu_tlb_fill(vcpu, 0x401, &res);
	KUNIT_EXPECT_TRUE(test, s2mmu_tlb_lookup(vcpu, 0x401, S2MMU_ACCESS_W,
						 &pfn));
	KUNIT_EXPECT_EQ(test, pfn, 0x7777);
	KUNIT_EXPECT_FALSE(test, s2mmu_tlb_lookup(vcpu, 0x402, S2MMU_ACCESS_R,
						  &pfn));
	s2mmu_tlb_flush_local(vcpu);
	KUNIT_EXPECT_FALSE(test, s2mmu_tlb_lookup(vcpu, 0x401, S2MMU_ACCESS_R,
						  &pfn));
	KUNIT_EXPECT_FALSE(test, s2mmu_tlb_lookup(vcpu, 0x213, S2MMU_ACCESS_R,
						  &pfn));
}

static unsigned int tlb_waits;
static bool tlb_wait_saw_entry;
static bool tlb_wait_ack;

/*
 * The vCPU's side while the flusher waits: note that the vCPU still had
 * its entry (the flusher has not returned), then acknowledge the request
 * from guest mode, or leave guest mode without acknowledging.
 */
static void tlb_wait_hook(struct s2mmu_vcpu *vcpu)
{
	u64 pfn;

	tlb_waits++;
	tlb_wait_saw_entry = s2mmu_tlb_lookup(vcpu, GFN, S2MMU_ACCESS_R, &pfn);
	if (tlb_wait_ack)
		s2mmu_vcpu_check_requests(vcpu);
	else
		s2mmu_vcpu_exit_guest(vcpu);
}

static void tlb_hook_clear(void *data)
{
	WRITE_ONCE(s2mmu_tlb_test_wait_hook, NULL);
}

/* A test VM whose vCPU has GFN in its TLB, outside guest mode. */
static struct s2mmu_vm *tlb_vm_cached(struct kunit *test,
				      struct s2mmu_vcpu **vcpu)
{
	struct s2mmu_vm *vm = tlb_vm(test, vcpu);
	u64 pfn;

	s2mmu_kunit_map(test, vm, GFN);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_burst(*vcpu, GFN, S2MMU_ACCESS_R,
						&pfn), 0);
	KUNIT_EXPECT_EQ(test, pfn, 0x1000 + GFN);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tlb_hook_clear,
							NULL), 0);
	return vm;
}

/*
 * With the vCPU in guest mode, flush (acknowledging from the wait hook,
 * or leaving guest mode there when !@ack).  Returns in guest mode when
 * @ack.
 */
static void tlb_flush_from_guest(struct s2mmu_vm *vm,
				 struct s2mmu_vcpu *vcpu, bool ack)
{
	tlb_waits = 0;
	tlb_wait_saw_entry = false;
	tlb_wait_ack = ack;
	s2mmu_vcpu_enter_guest(vcpu);
	WRITE_ONCE(s2mmu_tlb_test_wait_hook, tlb_wait_hook);
	s2mmu_flush_remote_tlbs(vm);
	WRITE_ONCE(s2mmu_tlb_test_wait_hook, NULL);
}

/*
 * A vCPU outside guest mode is not waited for; the request it finds when
 * it next enters guest mode flushes its TLB before its first translation.
 */
static void tlb_flush_outside_guest_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm_cached(test, &vcpu);
	u64 flushes, pfn;
	bool hit;

	tlb_waits = 0;
	WRITE_ONCE(s2mmu_tlb_test_wait_hook, tlb_wait_hook);
	s2mmu_flush_remote_tlbs(vm);
	WRITE_ONCE(s2mmu_tlb_test_wait_hook, NULL);
	KUNIT_EXPECT_EQ(test, tlb_waits, 0);
	KUNIT_EXPECT_TRUE(test, test_bit(S2MMU_REQ_TLB_FLUSH, &vcpu->requests));

	flushes = vcpu->stat.tlb_flushes;
	s2mmu_vcpu_enter_guest(vcpu);
	hit = s2mmu_tlb_lookup(vcpu, GFN, S2MMU_ACCESS_R, &pfn);
	s2mmu_vcpu_exit_guest(vcpu);
	/* Not inside guest mode: a failing expectation may sleep. */
	KUNIT_EXPECT_FALSE(test, hit);
	KUNIT_EXPECT_EQ(test, vcpu->stat.tlb_flushes, flushes + 1);
	KUNIT_EXPECT_FALSE(test, test_bit(S2MMU_REQ_TLB_FLUSH, &vcpu->requests));
}

/*
 * A vCPU in guest mode is waited for until it acknowledges: the flush
 * returns only once its TLB is empty.
 */
static void tlb_flush_waits_for_guest_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm_cached(test, &vcpu);
	u64 pfn;
	bool hit;

	tlb_flush_from_guest(vm, vcpu, true);
	hit = s2mmu_tlb_lookup(vcpu, GFN, S2MMU_ACCESS_R, &pfn);
	s2mmu_vcpu_exit_guest(vcpu);

	KUNIT_EXPECT_EQ(test, tlb_waits, 1);
	KUNIT_EXPECT_TRUE(test, tlb_wait_saw_entry);
	KUNIT_EXPECT_FALSE(test, hit);
	KUNIT_EXPECT_FALSE(test, test_bit(S2MMU_REQ_TLB_FLUSH, &vcpu->requests));
}

/*
 * A vCPU that leaves guest mode without acknowledging ends the wait; the
 * request stays and its next guest-mode burst flushes first.
 */
static void tlb_flush_exit_unacked_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm_cached(test, &vcpu);
	u64 pfn;
	bool hit;

	/* The hook leaves guest mode for the vCPU. */
	tlb_flush_from_guest(vm, vcpu, false);
	KUNIT_EXPECT_EQ(test, tlb_waits, 1);
	KUNIT_EXPECT_EQ(test, READ_ONCE(vcpu->mode), S2MMU_OUTSIDE_GUEST_MODE);
	KUNIT_EXPECT_TRUE(test, test_bit(S2MMU_REQ_TLB_FLUSH, &vcpu->requests));

	s2mmu_vcpu_enter_guest(vcpu);
	hit = s2mmu_tlb_lookup(vcpu, GFN, S2MMU_ACCESS_R, &pfn);
	s2mmu_vcpu_exit_guest(vcpu);
	/* Not inside guest mode: a failing expectation may sleep. */
	KUNIT_EXPECT_FALSE(test, hit);
}

/*
 * A zap with a vCPU in guest mode holding the translation: the zap's
 * flush waits for the vCPU, which then misses and finds no entry.
 */
static void tlb_zap_waits_for_guest_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm_cached(test, &vcpu);
	u64 pfn;
	int ret;

	tlb_waits = 0;
	tlb_wait_ack = true;
	s2mmu_vcpu_enter_guest(vcpu);
	WRITE_ONCE(s2mmu_tlb_test_wait_hook, tlb_wait_hook);
	/* A non-blockable invalidation; the vCPU plays along in the hook. */
	s2mmu_invalidate_range_start(vm, H, H + PAGE_SIZE, S2MMU_ZAP_NO_YIELD,
				     true);
	WRITE_ONCE(s2mmu_tlb_test_wait_hook, NULL);
	ret = s2mmu_kunit_translate(vcpu, GFN, S2MMU_ACCESS_R, &pfn);
	s2mmu_vcpu_exit_guest(vcpu);
	s2mmu_invalidate_range_end(vm, H, H + PAGE_SIZE);

	KUNIT_EXPECT_GE(test, tlb_waits, 1);
	KUNIT_EXPECT_EQ(test, ret, -EFAULT);
	KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, GFN));
}

/* A VM's aging counts, summed over the CPUs. */
static struct s2mmu_age_stat tlb_age_stat(struct s2mmu_vm *vm)
{
	struct s2mmu_age_stat sum = {};
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct s2mmu_age_stat *s = per_cpu_ptr(vm->age_stat, cpu);

		sum.calls += s->calls;
		sum.young += s->young;
		sum.races += s->races;
	}
	return sum;
}

static bool tlb_accessed(struct s2mmu_vm *vm, u64 gfn)
{
	struct s2mmu_pt_info info;

	return !s2mmu_pgtable_lookup(&vm->pgt, gfn << PAGE_SHIFT, 0, &info) &&
	       (info.prot & S2MMU_PROT_ACCESSED);
}

/* A hardware-like walk: set Accessed. */
static void tlb_mkyoung(struct s2mmu_vm *vm, u64 gfn)
{
	struct s2mmu_pt_info info;

	s2mmu_pgtable_lookup(&vm->pgt, gfn << PAGE_SHIFT, S2MMU_LOOKUP_MKYOUNG,
			     &info);
}

/*
 * Aging clears Accessed with no shootdown: the vCPU's next guest entry
 * sees the aging generation move and drops its TLB, so its next access
 * walks the tables and sets Accessed again; without aging it keeps its
 * TLB.
 */
static void tlb_age_gen_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm(test, &vcpu);
	struct s2mmu_age_stat st;
	u64 misses, flushes, pfn;

	s2mmu_kunit_map(test, vm, GFN);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_burst(vcpu, GFN, S2MMU_ACCESS_R, &pfn), 0);
	KUNIT_EXPECT_TRUE(test, tlb_accessed(vm, GFN));

	flushes = s2mmu_kunit_flushes(vm);
	KUNIT_EXPECT_EQ(test, s2mmu_age_hva_range(vm, H, H + PAGE_SIZE, true),
			1);
	KUNIT_EXPECT_FALSE(test, tlb_accessed(vm, GFN));
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_flushes(vm), flushes);
	/* Old now: found not young, and nothing to clear. */
	KUNIT_EXPECT_EQ(test, s2mmu_age_hva_range(vm, H, H + PAGE_SIZE, false),
			0);

	misses = vcpu->stat.tlb_misses;
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_burst(vcpu, GFN, S2MMU_ACCESS_R, &pfn), 0);
	KUNIT_EXPECT_EQ(test, vcpu->stat.tlb_misses, misses + 1);
	KUNIT_EXPECT_TRUE(test, tlb_accessed(vm, GFN));

	/* No aging since: the TLB is kept. */
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_burst(vcpu, GFN, S2MMU_ACCESS_R, &pfn), 0);
	KUNIT_EXPECT_EQ(test, vcpu->stat.tlb_misses, misses + 1);
	/* test_young clears nothing, so it moves no generation either. */
	KUNIT_EXPECT_EQ(test, s2mmu_age_hva_range(vm, H, H + PAGE_SIZE, false),
			1);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_burst(vcpu, GFN, S2MMU_ACCESS_R, &pfn), 0);
	KUNIT_EXPECT_EQ(test, vcpu->stat.tlb_misses, misses + 1);

	st = tlb_age_stat(vm);
	KUNIT_EXPECT_EQ(test, st.calls, 3);
	KUNIT_EXPECT_EQ(test, st.young, 2);
	KUNIT_EXPECT_EQ(test, st.races, 0);
}

/* More aliases of one host page than one lookup takes: the counted walk. */
static void tlb_age_many_aliases_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm(test, &vcpu);
	unsigned int i, n = 12;

	/* Slot 1 maps GFN at H; slots 2.. alias the same host page. */
	for (i = 2; i < n; i++)
		KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, i, 0, 0x10000 * i,
							   1, H), 0);
	for (i = 2; i < n; i++)
		s2mmu_kunit_map(test, vm, 0x10000 * i);
	s2mmu_kunit_map(test, vm, GFN);
	/* Faults map old leaves. */
	KUNIT_EXPECT_EQ(test, s2mmu_age_hva_range(vm, H, H + 1, false), 0);
	for (i = 2; i < n; i += 3)
		tlb_mkyoung(vm, 0x10000 * i);
	KUNIT_EXPECT_EQ(test, s2mmu_age_hva_range(vm, H, H + 1, false), 1);
	KUNIT_EXPECT_EQ(test, s2mmu_age_hva_range(vm, H, H + 1, true), 1);
	for (i = 2; i < n; i++)
		KUNIT_EXPECT_FALSE(test, tlb_accessed(vm, 0x10000 * i));
	KUNIT_EXPECT_EQ(test, s2mmu_age_hva_range(vm, H, H + 1, true), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(vm->mn_active), 0);
}

struct tlb_runner {
	struct s2mmu_vcpu *vcpu;
	struct completion started;
	/* Set once the zap has returned; every later burst must miss. */
	bool zapped;
	unsigned long bursts_after;
	unsigned long stale_hits;
};

/* A vCPU in a kthread running read bursts, as S2MMU_RUN's TOUCH does. */
static int tlb_runner_fn(void *data)
{
	struct tlb_runner *r = data;
	bool started = false;
	u64 pfn;

	while (!kthread_should_stop()) {
		/* Pairs with the release after the zap returned. */
		bool zapped = smp_load_acquire(&r->zapped);
		int ret;

		s2mmu_vcpu_enter_guest(r->vcpu);
		ret = s2mmu_kunit_translate(r->vcpu, GFN, S2MMU_ACCESS_R, &pfn);
		s2mmu_vcpu_exit_guest(r->vcpu);
		if (zapped) {
			r->bursts_after++;
			if (!ret)
				r->stale_hits++;
		}
		if (!started && !ret) {
			started = true;
			complete(&r->started);
		}
		cond_resched();
		usleep_range(50, 100);
	}
	return 0;
}

/*
 * The handshake end to end with a vCPU thread: once the zap of a page
 * returned, no later burst of the vCPU translates it (from its TLB or
 * otherwise).
 */
static void tlb_zap_vcpu_thread_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm(test, &vcpu);
	struct tlb_runner r = { .vcpu = vcpu };
	struct task_struct *task;
	int i;

	s2mmu_kunit_map(test, vm, GFN);
	init_completion(&r.started);
	task = kthread_run(tlb_runner_fn, &r, "s2mmu-kunit-vcpu");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&r.started, HZ));

	s2mmu_mmu_zap_gfn_range(vm, GFN, GFN + 1);
	/* Bursts that see this started after the zap returned. */
	smp_store_release(&r.zapped, true);
	for (i = 0; i < 50 && READ_ONCE(r.bursts_after) < 20; i++)
		msleep(20);
	kthread_stop(task);

	KUNIT_EXPECT_GE(test, r.bursts_after, 20);
	KUNIT_EXPECT_EQ(test, r.stale_hits, 0);
}

/* What a vCPU saw of one translation in guest mode, checked outside it. */
struct tlb_seen {
	int ret;
	u64 pfn;
	u64 hits;
};

static void tlb_see(struct s2mmu_vcpu *vcpu, u64 gfn, struct tlb_seen *t)
{
	u64 hits = vcpu->stat.walk_cache_hits;

	t->ret = s2mmu_kunit_translate(vcpu, gfn, S2MMU_ACCESS_R, &t->pfn);
	t->hits = vcpu->stat.walk_cache_hits - hits;
}

/* The level 0 table mapping @gfn, as a pointer. */
static u64 *tlb_leaf_table(struct s2mmu_vm *vm, u64 gfn)
{
	u64 pa = s2mmu_pgtable_table_pa(&vm->pgt, gfn << PAGE_SHIFT, 1);

	return pa ? phys_to_virt(pa) : NULL;
}

/*
 * A TLB miss next to the last walk starts from the table that walk ended
 * in; a new burst and a local flush each start over from the root.
 */
static void tlb_walk_cache_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm(test, &vcpu);
	struct tlb_seen a, b, c, d, e;
	u64 *cached, *after_flush;

	s2mmu_kunit_map(test, vm, GFN);
	s2mmu_kunit_map(test, vm, GFN + 1);
	s2mmu_kunit_map(test, vm, GFN + 2);
	s2mmu_kunit_map(test, vm, GFN + 3);

	s2mmu_vcpu_enter_guest(vcpu);
	tlb_see(vcpu, GFN, &a);
	cached = vcpu->walk_cache.table;
	tlb_see(vcpu, GFN + 1, &b);
	s2mmu_tlb_flush_local(vcpu);
	after_flush = vcpu->walk_cache.table;
	tlb_see(vcpu, GFN + 2, &c);
	s2mmu_vcpu_exit_guest(vcpu);
	s2mmu_vcpu_enter_guest(vcpu);
	tlb_see(vcpu, GFN + 3, &d);
	/* Not mapped: a fault, not counted; the cache stays. */
	tlb_see(vcpu, GFN + 0x80, &e);
	s2mmu_vcpu_exit_guest(vcpu);

	KUNIT_EXPECT_EQ(test, a.ret, 0);
	KUNIT_EXPECT_EQ(test, a.hits, 0);
	KUNIT_EXPECT_PTR_EQ(test, cached, tlb_leaf_table(vm, GFN));
	KUNIT_EXPECT_EQ(test, vcpu->walk_cache.level, 0);
	KUNIT_EXPECT_EQ(test, b.ret, 0);
	KUNIT_EXPECT_EQ(test, b.pfn, 0x1000 + GFN + 1);
	KUNIT_EXPECT_EQ(test, b.hits, 1);
	KUNIT_EXPECT_NULL(test, after_flush);
	KUNIT_EXPECT_EQ(test, c.ret, 0);
	KUNIT_EXPECT_EQ(test, c.pfn, 0x1000 + GFN + 2);
	KUNIT_EXPECT_EQ(test, c.hits, 0);
	KUNIT_EXPECT_EQ(test, d.ret, 0);
	KUNIT_EXPECT_EQ(test, d.pfn, 0x1000 + GFN + 3);
	KUNIT_EXPECT_EQ(test, d.hits, 0);
	KUNIT_EXPECT_EQ(test, e.ret, -EFAULT);
	KUNIT_EXPECT_EQ(test, e.hits, 0);
	KUNIT_EXPECT_PTR_EQ(test, vcpu->walk_cache.table,
			    tlb_leaf_table(vm, GFN));
}

#define TLB_NEW_PFN	0x9999ULL

/*
 * Under mmu_lock, as a collapse or a zap of a whole table does: unlink
 * the level 0 table mapping GFN (its entries frozen, the page freed after
 * a grace period) and map GFN + 1 to TLB_NEW_PFN through a new table from
 * @cache.  No flush: the caller decides when it is requested.
 */
static void tlb_replace_table(struct s2mmu_vm *vm,
			      struct s2mmu_table_cache *cache, int *ret)
{
	struct s2mmu_pt_op op = { .cache = cache, .mmu_lock = &vm->mmu_lock };

	write_lock(&vm->mmu_lock);
	ret[0] = s2mmu_pgtable_collapse(&vm->pgt, GFN << PAGE_SHIFT, 1, &op);
	ret[1] = s2mmu_pgtable_map(&vm->pgt, (GFN + 1) << PAGE_SHIFT,
				   TLB_NEW_PFN << PAGE_SHIFT, PAGE_SIZE, 0,
				   S2MMU_PROT_R | S2MMU_PROT_W, &op);
	write_unlock(&vm->mmu_lock);
}

/*
 * CPU0 unlinks the table a vCPU in guest mode has in its walk cache and
 * maps the next page through a new one, then flushes; the vCPU
 * acknowledges from guest mode.  Its next miss, in the same burst, must
 * walk from the root: the unlinked table reads frozen.
 */
static void tlb_walk_cache_shootdown_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm_cached(test, &vcpu);
	struct s2mmu_table_cache cache;
	struct tlb_seen a, b;
	int ret[2];

	s2mmu_kunit_map(test, vm, GFN + 1);
	s2mmu_table_cache_init(&cache);
	KUNIT_ASSERT_EQ(test, s2mmu_table_cache_topup(&cache, vm->pgt.levels),
			0);

	s2mmu_vcpu_enter_guest(vcpu);
	s2mmu_tlb_flush_local(vcpu);
	tlb_see(vcpu, GFN, &a);
	tlb_replace_table(vm, &cache, ret);
	tlb_waits = 0;
	tlb_wait_ack = true;
	WRITE_ONCE(s2mmu_tlb_test_wait_hook, tlb_wait_hook);
	s2mmu_flush_remote_tlbs(vm);
	WRITE_ONCE(s2mmu_tlb_test_wait_hook, NULL);
	tlb_see(vcpu, GFN + 1, &b);
	s2mmu_vcpu_exit_guest(vcpu);
	s2mmu_table_cache_free(&cache);

	KUNIT_EXPECT_EQ(test, a.ret, 0);
	KUNIT_EXPECT_EQ(test, ret[0], 0);
	KUNIT_EXPECT_EQ(test, ret[1], 0);
	KUNIT_EXPECT_EQ(test, tlb_waits, 1);
	KUNIT_EXPECT_EQ(test, b.ret, 0);
	KUNIT_EXPECT_EQ(test, b.pfn, TLB_NEW_PFN);
	KUNIT_EXPECT_EQ(test, b.hits, 0);
}

/*
 * CPU0 unlinks the table the vCPU's walk cache named in its last burst;
 * a grace period passes (the vCPU is outside guest mode) and the page is
 * freed, before CPU0 even requests its flush.  The vCPU's next burst
 * must not read the freed page: it walks from the root and finds the new
 * mapping.
 */
static void tlb_walk_cache_freed_table_test(struct kunit *test)
{
	struct s2mmu_vcpu *vcpu;
	struct s2mmu_vm *vm = tlb_vm(test, &vcpu);
	struct s2mmu_table_cache cache;
	unsigned long freed;
	struct tlb_seen a, b;
	int ret[2];

	s2mmu_kunit_map(test, vm, GFN);
	s2mmu_kunit_map(test, vm, GFN + 1);
	s2mmu_table_cache_init(&cache);
	KUNIT_ASSERT_EQ(test, s2mmu_table_cache_topup(&cache, vm->pgt.levels),
			0);

	s2mmu_vcpu_enter_guest(vcpu);
	tlb_see(vcpu, GFN, &a);
	s2mmu_vcpu_exit_guest(vcpu);
	freed = atomic_long_read(&vm->pgt.tables_freed);
	tlb_replace_table(vm, &cache, ret);
	rcu_barrier();
	KUNIT_EXPECT_EQ(test, atomic_long_read(&vm->pgt.tables_freed),
			freed + 1);

	s2mmu_vcpu_enter_guest(vcpu);
	tlb_see(vcpu, GFN + 1, &b);
	s2mmu_vcpu_exit_guest(vcpu);
	s2mmu_table_cache_free(&cache);
	/* The flush CPU0 owes, for the stale TLB entry of GFN. */
	s2mmu_flush_remote_tlbs(vm);

	KUNIT_EXPECT_EQ(test, a.ret, 0);
	KUNIT_EXPECT_EQ(test, ret[0], 0);
	KUNIT_EXPECT_EQ(test, ret[1], 0);
	KUNIT_EXPECT_EQ(test, b.ret, 0);
	KUNIT_EXPECT_EQ(test, b.pfn, TLB_NEW_PFN);
	KUNIT_EXPECT_EQ(test, b.hits, 0);
}

static struct kunit_case tlb_cases[] = {
	KUNIT_CASE(tlb_fill_lookup_test),
	KUNIT_CASE(tlb_flush_outside_guest_test),
	KUNIT_CASE(tlb_flush_waits_for_guest_test),
	KUNIT_CASE(tlb_flush_exit_unacked_test),
	KUNIT_CASE(tlb_zap_waits_for_guest_test),
	KUNIT_CASE(tlb_zap_vcpu_thread_test),
	KUNIT_CASE(tlb_age_gen_test),
	KUNIT_CASE(tlb_age_many_aliases_test),
	KUNIT_CASE(tlb_walk_cache_test),
	KUNIT_CASE(tlb_walk_cache_shootdown_test),
	KUNIT_CASE(tlb_walk_cache_freed_table_test),
	{}
};

static struct kunit_suite tlb_suite = {
	.name		= "s2mmu_tlb",
	.test_cases	= tlb_cases,
};

kunit_test_suites(&tlb_suite);
