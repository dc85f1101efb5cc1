// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the invalidation bookkeeping (mmu/invalidate.c, and
 * notifier/hva.c which drives it from host ranges):
 * what the notifier's invalidate_range_start/end record under mmu_lock,
 * and the fault path's decision to retry.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/kthread.h>

#include "s2mmu_kunit.h"

#define P	PAGE_SIZE
#define H	S2MMU_KUNIT_HVA

/*
 * Slot 1: gfn 0x100, 16 pages at H.  Slot 2: gfn 0x800, 16 pages at
 * H + 64P.  Slot 3: gfn 0x2000, 16 pages at H (aliasing slot 1).
 */
static struct s2mmu_vm *invalidate_vm(struct kunit *test)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, S2MMU_VM_X86_TDP);

	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 1, 0, 0x100, 16, H), 0);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 2, 0, 0x800, 16,
						   H + 64 * P), 0);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 3, 0, 0x2000, 16, H),
			0);
	return vm;
}

/*
 * invalidate_range_start (notifier/hva.c), yielding as told.
 * Return: whether it flushed the vCPU TLBs (mmu/tlb.c counts flushes).
 */
static bool inv_start_yield(struct s2mmu_vm *vm, unsigned long start,
			    unsigned long end, enum s2mmu_zap_yield yield)
{
	long flushes = s2mmu_kunit_flushes(vm);

	s2mmu_invalidate_range_start(vm, start, end, yield, true);
	return s2mmu_kunit_flushes(vm) != flushes;
}

/* ... for a non-blockable range: the zap never yields. */
static bool inv_start(struct s2mmu_vm *vm, unsigned long start,
		      unsigned long end)
{
	return inv_start_yield(vm, start, end, S2MMU_ZAP_NO_YIELD);
}

/* invalidate_range_end of the same range. */
static void inv_end(struct s2mmu_vm *vm, unsigned long start,
		    unsigned long end)
{
	s2mmu_invalidate_range_end(vm, start, end);
}

static bool retry(struct s2mmu_vm *vm, u64 gfn, unsigned long seq)
{
	bool ret;

	read_lock(&vm->mmu_lock);
	ret = s2mmu_mmu_invalidate_retry(vm, gfn, seq);
	read_unlock(&vm->mmu_lock);
	return ret;
}

#define EXPECT_RANGE(test, vm, s, e) do {				\
	struct s2mmu_vm *__vm = (vm);					\
	struct kunit *__test = (test);					\
									\
	KUNIT_EXPECT_EQ(__test, __vm->mmu_invalidate_range_start, (u64)(s)); \
	KUNIT_EXPECT_EQ(__test, __vm->mmu_invalidate_range_end, (u64)(e)); \
} while (0)

/* The count follows start/end; every end bumps the sequence. */
static void invalidate_count_seq_test(struct kunit *test)
{
	struct s2mmu_vm *vm = invalidate_vm(test);
	unsigned long seq = vm->mmu_invalidate_seq;

	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 0);
	inv_start(vm, H, H + P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 1);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_seq, seq);
	inv_start(vm, H + 64 * P, H + 65 * P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 2);
	KUNIT_EXPECT_EQ(test, vm->mn_active, 2);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_seq, seq);
	inv_end(vm, H, H + P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 1);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_seq, seq + 1);
	inv_end(vm, H + 64 * P, H + 65 * P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 0);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_seq, seq + 2);
	KUNIT_EXPECT_EQ(test, vm->mn_active, 0);

	/*
	 * A range no slot backs (the VMM's heap churn) is not an
	 * invalidation at all: no count, no bump, so no fault retries; it
	 * is still counted as an hva tree reader until its end.
	 */
	inv_start(vm, H + 32 * P, H + 48 * P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 0);
	KUNIT_EXPECT_EQ(test, vm->mn_active, 1);
	inv_end(vm, H + 32 * P, H + 48 * P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 0);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_seq, seq + 2);
	KUNIT_EXPECT_EQ(test, vm->mn_active, 0);
	/* Just past slot 1's end and just before slot 2's start: neither. */
	inv_start(vm, H + 16 * P, H + 64 * P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 0);
	inv_end(vm, H + 16 * P, H + 64 * P);
	/* One byte of slot 2 is enough. */
	inv_start(vm, H + 64 * P - 1, H + 64 * P + 1);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 1);
	inv_end(vm, H + 64 * P - 1, H + 64 * P + 1);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_seq, seq + 3);
}

/*
 * One invalidation over a host range two slots alias: the range in
 * progress is the hull of both slots' frames, unaligned host ends rounded
 * out to whole frames; a fault retries inside it, and outside it only
 * when the sequence moved.
 */
static void invalidate_range_union_test(struct kunit *test)
{
	struct s2mmu_vm *vm = invalidate_vm(test);
	unsigned long seq = vm->mmu_invalidate_seq;

	inv_start(vm, H + P + 100, H + 3 * P - 100);
	EXPECT_RANGE(test, vm, 0x101, 0x2003);
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x100, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x101, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x102, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x800, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x2002, seq));
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x2003, seq));
	KUNIT_EXPECT_FALSE(test, retry(vm, U64_MAX, seq));
	inv_end(vm, H + P + 100, H + 3 * P - 100);

	/* Over: a fault that read the sequence before the end retries... */
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x101, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x100, seq));
	/* ...one that read it after does not, the range left as it was. */
	seq = vm->mmu_invalidate_seq;
	EXPECT_RANGE(test, vm, 0x101, 0x2003);
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x101, seq));
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x2002, seq));
}

/*
 * Nested invalidations widen the range to the hull of all of them; it
 * holds until the last ends, and the next batch starts from empty.
 */
static void invalidate_nested_test(struct kunit *test)
{
	struct s2mmu_vm *vm = invalidate_vm(test);
	unsigned long seq = vm->mmu_invalidate_seq;

	inv_start(vm, H + 68 * P, H + 69 * P);
	EXPECT_RANGE(test, vm, 0x804, 0x805);
	inv_start(vm, H + 10 * P, H + 11 * P);
	EXPECT_RANGE(test, vm, 0x10a, 0x200b);
	/* Nothing backs this one: not counted, the range stays. */
	inv_start(vm, H + 32 * P, H + 33 * P);
	EXPECT_RANGE(test, vm, 0x10a, 0x200b);
	/* Inside the hull, and the second slot's frames: both covered. */
	inv_start(vm, H + 79 * P, H + 80 * P);
	EXPECT_RANGE(test, vm, 0x10a, 0x200b);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 3);

	inv_end(vm, H + 68 * P, H + 69 * P);
	inv_end(vm, H + 32 * P, H + 33 * P);
	inv_end(vm, H + 79 * P, H + 80 * P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 1);
	EXPECT_RANGE(test, vm, 0x10a, 0x200b);
	seq = vm->mmu_invalidate_seq;
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x10a, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x804, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x200a, seq));
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x109, seq));
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x200b, seq));
	inv_end(vm, H + 10 * P, H + 11 * P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 0);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_seq, seq + 1);
	seq = vm->mmu_invalidate_seq;
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x10a, seq));

	/* A new batch starts from empty, not from the old hull. */
	inv_start(vm, H + 64 * P, H + 65 * P);
	EXPECT_RANGE(test, vm, 0x800, 0x801);
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x10a, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x800, seq));
	inv_end(vm, H + 64 * P, H + 65 * P);

	/* And one over nothing changes nothing: no frame retries. */
	seq = vm->mmu_invalidate_seq;
	inv_start(vm, H + 32 * P, H + 33 * P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 0);
	KUNIT_EXPECT_FALSE(test, retry(vm, 0, seq));
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x800, seq));
	KUNIT_EXPECT_FALSE(test, retry(vm, U64_MAX, seq));
	inv_end(vm, H + 32 * P, H + 33 * P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_seq, seq);
}

/* With no invalidation ever, only a sequence change makes a fault retry. */
static void invalidate_retry_seq_test(struct kunit *test)
{
	struct s2mmu_vm *vm = invalidate_vm(test);
	unsigned long seq = vm->mmu_invalidate_seq;

	KUNIT_EXPECT_FALSE(test, retry(vm, 0, seq));
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x100, seq));
	KUNIT_EXPECT_FALSE(test, retry(vm, U64_MAX, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x100, seq - 1));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x100, seq + 1));

	/* An invalidation of other frames, started and ended meanwhile. */
	inv_start(vm, H + 64 * P, H + 65 * P);
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x100, seq));
	inv_end(vm, H + 64 * P, H + 65 * P);
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x100, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x5000, seq));
}

static bool retry_range(struct s2mmu_vm *vm, u64 start, u64 end,
			unsigned long seq)
{
	bool ret;

	read_lock(&vm->mmu_lock);
	ret = s2mmu_mmu_invalidate_retry_range(vm, start, end, seq);
	read_unlock(&vm->mmu_lock);
	return ret;
}

/*
 * A huge leaf's fault checks its whole range against the invalidation in
 * progress: one frame of the range is enough, the faulting frame need not
 * be in it (an attribute change beside it, mmu/attr.c).
 */
static void invalidate_retry_range_test(struct kunit *test)
{
	struct s2mmu_vm *vm = invalidate_vm(test);
	unsigned long seq = vm->mmu_invalidate_seq;

	inv_start(vm, H + 5 * P, H + 6 * P);		/* gfn 0x105, 0x2005 */
	EXPECT_RANGE(test, vm, 0x105, 0x2006);
	KUNIT_EXPECT_TRUE(test, retry_range(vm, 0x000, 0x200, seq));
	KUNIT_EXPECT_TRUE(test, retry_range(vm, 0x105, 0x106, seq));
	KUNIT_EXPECT_TRUE(test, retry_range(vm, 0x2005, 0x2200, seq));
	KUNIT_EXPECT_FALSE(test, retry_range(vm, 0x000, 0x105, seq));
	KUNIT_EXPECT_FALSE(test, retry_range(vm, 0x2006, 0x2200, seq));
	/* The one-frame check is the range check of that frame. */
	KUNIT_EXPECT_FALSE(test, retry(vm, 0x104, seq));
	KUNIT_EXPECT_TRUE(test, retry(vm, 0x105, seq));
	inv_end(vm, H + 5 * P, H + 6 * P);
	KUNIT_EXPECT_TRUE(test, retry_range(vm, 0x000, 0x105, seq));
	KUNIT_EXPECT_FALSE(test, retry_range(vm, 0x000, 0x200,
					     vm->mmu_invalidate_seq));
}

/* The frames in the range are zapped, and only they; a flush is asked. */
static void invalidate_zaps_test(struct kunit *test)
{
	struct s2mmu_vm *vm = invalidate_vm(test);

	s2mmu_kunit_map(test, vm, 0x100);
	s2mmu_kunit_map(test, vm, 0x101);
	s2mmu_kunit_map(test, vm, 0x2001);
	s2mmu_kunit_map(test, vm, 0x2002);
	s2mmu_kunit_map(test, vm, 0x800);

	KUNIT_EXPECT_TRUE(test, inv_start(vm, H + P, H + 2 * P));
	KUNIT_EXPECT_TRUE(test, s2mmu_kunit_mapped(vm, 0x100));
	KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, 0x101));
	KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, 0x2001));
	KUNIT_EXPECT_TRUE(test, s2mmu_kunit_mapped(vm, 0x2002));
	/* In the hull but not in the host range: kept. */
	KUNIT_EXPECT_TRUE(test, s2mmu_kunit_mapped(vm, 0x800));
	inv_end(vm, H + P, H + 2 * P);

	/* Nothing mapped there any more: no flush needed. */
	KUNIT_EXPECT_FALSE(test, inv_start(vm, H + P, H + 2 * P));
	inv_end(vm, H + P, H + 2 * P);
	/* Nor where no slot is. */
	KUNIT_EXPECT_FALSE(test, inv_start(vm, H + 32 * P, H + 64 * P));
	inv_end(vm, H + 32 * P, H + 64 * P);
	KUNIT_EXPECT_TRUE(test, s2mmu_kunit_mapped(vm, 0x800));
	KUNIT_EXPECT_TRUE(test, s2mmu_kunit_mapped(vm, 0x100));
}

/*
 * What a fault getting mmu_lock while the zap yields would see: every
 * frame of slots 1 and 2 already zapped must be inside the range in
 * progress, or the fault could install the page the host is about to
 * unmap.  Runs at each yield's flush, with mmu_lock held.
 */
static unsigned long yield_checks, yield_exposed;
static unsigned long yield_seq;

static void yield_hook(struct s2mmu_vm *vm)
{
	u64 i, gfn;

	yield_checks++;
	for (i = 0; i < 32; i++) {
		gfn = (i < 16 ? 0x100 : 0x800 - 16) + i;
		if (!s2mmu_kunit_mapped(vm, gfn) &&
		    !s2mmu_mmu_invalidate_retry(vm, gfn, yield_seq))
			yield_exposed++;
	}
}

static void yield_hook_clear(void *data)
{
	WRITE_ONCE(s2mmu_tlb_test_flush_hook, NULL);
}

/*
 * A zap over several slots that yields mmu_lock at every opportunity (a
 * blockable range): it zaps the same frames, a fault getting the lock
 * meanwhile retries on every frame already zapped, and the flush one
 * slot's zap leaves pending is never lost at the next slot -- it is done
 * before a yield or returned to the caller.
 */
static void invalidate_yield_test(struct kunit *test)
{
	struct s2mmu_vm *vm = invalidate_vm(test);
	long flushes;
	s64 zaps;
	u64 i;

	for (i = 0; i < 16; i++) {
		s2mmu_kunit_map(test, vm, 0x100 + i);
		s2mmu_kunit_map(test, vm, 0x800 + i);
	}
	yield_checks = 0;
	yield_exposed = 0;
	yield_seq = vm->mmu_invalidate_seq;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, yield_hook_clear,
							NULL), 0);
	WRITE_ONCE(s2mmu_tlb_test_flush_hook, yield_hook);
	flushes = s2mmu_kunit_flushes(vm);
	inv_start_yield(vm, H, H + 80 * P, S2MMU_ZAP_FORCE_YIELD);
	flushes = s2mmu_kunit_flushes(vm) - flushes;
	WRITE_ONCE(s2mmu_tlb_test_flush_hook, NULL);
	/* Forced yields with zapped leaves behind them: flushed first. */
	KUNIT_EXPECT_GT(test, flushes, 0);
	KUNIT_EXPECT_GT(test, yield_checks, 0);
	KUNIT_EXPECT_EQ(test, yield_exposed, 0);
	for (i = 0; i < 16; i++) {
		KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, 0x100 + i));
		KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, 0x800 + i));
	}
	EXPECT_RANGE(test, vm, 0x100, 0x2010);
	inv_end(vm, H, H + 80 * P);

	/*
	 * One leaf, on slot 1's last frame: its flush is still pending when
	 * the walk moves on to slot 2 (the last slot visited: it starts
	 * highest), where nothing is mapped.  Slot 2's zap yields, so it
	 * must flush first.
	 */
	s2mmu_kunit_map(test, vm, 0x10f);
	zaps = atomic64_read(&vm->stat.zaps);
	flushes = s2mmu_kunit_flushes(vm);
	inv_start_yield(vm, H, H + 80 * P, S2MMU_ZAP_FORCE_YIELD);
	flushes = s2mmu_kunit_flushes(vm) - flushes;
	/*
	 * Exactly one: before slot 2's first yield.  None after dropping
	 * mmu_lock: nothing was zapped since, so none was left pending.
	 */
	KUNIT_EXPECT_EQ(test, flushes, 1);
	KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, 0x10f));
	/* One slot's zap removed something; the yielding others did not. */
	KUNIT_EXPECT_EQ(test, atomic64_read(&vm->stat.zaps) - zaps, 1);
	inv_end(vm, H, H + 80 * P);
}

/* The lockless pre-check follows the locked one, from either side. */
static void invalidate_retry_unsafe_test(struct kunit *test)
{
	struct s2mmu_vm *vm = invalidate_vm(test);
	unsigned long seq = vm->mmu_invalidate_seq;

	KUNIT_EXPECT_FALSE(test, s2mmu_mmu_invalidate_retry_unsafe(vm, 0x101,
								   seq));
	inv_start(vm, H + P, H + 2 * P);
	KUNIT_EXPECT_TRUE(test, s2mmu_mmu_invalidate_retry_unsafe(vm, 0x101,
								  seq));
	KUNIT_EXPECT_TRUE(test, s2mmu_mmu_invalidate_retry_unsafe(vm, 0x2001,
								  seq));
	KUNIT_EXPECT_FALSE(test, s2mmu_mmu_invalidate_retry_unsafe(vm, 0x100,
								   seq));
	KUNIT_EXPECT_FALSE(test, s2mmu_mmu_invalidate_retry_unsafe(vm, 0x2002,
								   seq));
	inv_end(vm, H + P, H + 2 * P);
	KUNIT_EXPECT_TRUE(test, s2mmu_mmu_invalidate_retry_unsafe(vm, 0x100,
								  seq));
	seq = vm->mmu_invalidate_seq;
	KUNIT_EXPECT_FALSE(test, s2mmu_mmu_invalidate_retry_unsafe(vm, 0x101,
								   seq));
}

/*
 * Two invalidations of one page X, the second starting while the first
 * has zapped X and dropped mmu_lock but not yet flushed the vCPU TLBs (a
 * kthread held at the flush by the hook).  The second finds nothing to
 * zap; it must still not return while a vCPU TLB can hold X, for the
 * host frees X as soon as it returns.  The stand-in flush clears the
 * vCPU TLB entry this test keeps for X.
 */
struct nested_zap {
	struct s2mmu_vm *vm;
	struct task_struct *first;
	struct completion at_flush;
	struct completion go;
	struct completion done;
	bool tlb_holds_x;
};

static struct nested_zap *nested_zap;

static void nested_zap_flush_hook(struct s2mmu_vm *vm)
{
	struct nested_zap *nz = nested_zap;

	if (current == nz->first) {
		complete(&nz->at_flush);
		wait_for_completion(&nz->go);
	}
	WRITE_ONCE(nz->tlb_holds_x, false);
}

static int nested_zap_first(void *data)
{
	struct nested_zap *nz = data;

	s2mmu_invalidate_range_start(nz->vm, H + P, H + 2 * P,
				     S2MMU_ZAP_NO_YIELD, true);
	complete(&nz->done);
	return 0;
}

static void invalidate_nested_zap_waits_for_flush(struct kunit *test)
{
	struct s2mmu_vm *vm = invalidate_vm(test);
	struct nested_zap *nz;
	bool held;

	nz = kunit_kzalloc(test, sizeof(*nz), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, nz);
	nz->vm = vm;
	init_completion(&nz->at_flush);
	init_completion(&nz->go);
	init_completion(&nz->done);
	s2mmu_kunit_map(test, vm, 0x101);
	nz->tlb_holds_x = true;		/* a vCPU read X through its TLB */
	nested_zap = nz;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, yield_hook_clear,
							NULL), 0);
	WRITE_ONCE(s2mmu_tlb_test_flush_hook, nested_zap_flush_hook);

	nz->first = kthread_create(nested_zap_first, nz, "s2mmu-zap1");
	KUNIT_ASSERT_FALSE(test, IS_ERR(nz->first));
	wake_up_process(nz->first);
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&nz->at_flush,
							  10 * HZ), 0);
	/* The first zapper is between its zap and its flush. */
	KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, 0x101));
	KUNIT_EXPECT_TRUE(test, READ_ONCE(nz->tlb_holds_x));

	s2mmu_invalidate_range_start(vm, H + P, H + 2 * P, S2MMU_ZAP_MAY_YIELD,
				     true);
	held = READ_ONCE(nz->tlb_holds_x);
	KUNIT_EXPECT_FALSE_MSG(test, held,
			       "the second invalidation returned while a vCPU TLB still held X");

	complete(&nz->go);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&nz->done, 10 * HZ),
			0);
	WRITE_ONCE(s2mmu_tlb_test_flush_hook, NULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&vm->tlb_flush_pending), 0);
	inv_end(vm, H + P, H + 2 * P);
	inv_end(vm, H + P, H + 2 * P);
	KUNIT_EXPECT_EQ(test, vm->mmu_invalidate_in_progress, 0);
}

/*
 * A huge leaf's install collapses a table of small leaves, and another
 * vCPU links a table there again before the map (the hook plays it): the
 * map finds a table again.  That is a race like any other, so the fault
 * retries (-EAGAIN); it is not an error the guest sees as a memory fault.
 */
static struct s2mmu_table_cache collapse_rival_cache;
/* s2mmu_mmu_install() of a writable leaf, as a fault hands it down. */
static int inv_install(struct s2mmu_vm *vm, struct s2mmu_table_cache *cache,
		       u64 gfn, u64 pfn, int *level, bool writable,
		       bool *flush)
{
	struct s2mmu_fault f = {
		.gfn		= gfn,
		.pfn		= pfn,
		.level		= *level,
		.map_writable	= writable,
	};
	int ret = s2mmu_mmu_install(vm, cache, &f);

	*level = f.level;
	*flush |= f.flush;
	return ret;
}

static int collapse_rival_ret;
static bool collapse_rival_ran;

static void collapse_rival_hook(struct s2mmu_vm *vm)
{
	bool flush = false;
	int level = 0;

	WRITE_ONCE(s2mmu_mmu_test_collapse_hook, NULL);
	collapse_rival_ran = true;
	collapse_rival_ret = inv_install(vm, &collapse_rival_cache,
					 0x201, 0x50201, &level, true,
					 &flush);
}

static void collapse_hook_clear(void *data)
{
	WRITE_ONCE(s2mmu_mmu_test_collapse_hook, NULL);
	s2mmu_table_cache_free(&collapse_rival_cache);
}

static void invalidate_collapse_race_test(struct kunit *test)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, S2MMU_VM_X86_TDP);
	struct s2mmu_table_cache cache;
	struct s2mmu_pt_info info;
	bool flush = false;
	int ret, level;

	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 1, 0, 0x200, 512, H),
			0);
	s2mmu_kunit_map(test, vm, 0x200);
	s2mmu_table_cache_init(&cache);
	s2mmu_table_cache_init(&collapse_rival_cache);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							collapse_hook_clear,
							NULL), 0);
	KUNIT_ASSERT_EQ(test, s2mmu_table_cache_topup(&cache, vm->pgt.levels),
			0);
	KUNIT_ASSERT_EQ(test, s2mmu_table_cache_topup(&collapse_rival_cache,
						      vm->pgt.levels), 0);
	collapse_rival_ran = false;
	WRITE_ONCE(s2mmu_mmu_test_collapse_hook, collapse_rival_hook);

	read_lock(&vm->mmu_lock);
	level = 1;
	ret = inv_install(vm, &cache, 0x200, 0x50000, &level, true,
			  &flush);
	read_unlock(&vm->mmu_lock);
	KUNIT_EXPECT_TRUE(test, collapse_rival_ran);
	KUNIT_EXPECT_EQ(test, collapse_rival_ret, 0);
	KUNIT_EXPECT_EQ(test, ret, -EAGAIN);
	KUNIT_EXPECT_TRUE(test, flush);	/* the collapse removed a leaf */

	/* The retry collapses the rival's table and maps the huge leaf. */
	flush = false;
	level = 1;
	read_lock(&vm->mmu_lock);
	ret = inv_install(vm, &cache, 0x200, 0x50000, &level, true,
			  &flush);
	read_unlock(&vm->mmu_lock);
	s2mmu_table_cache_free(&cache);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, level, 1);
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_lookup(&vm->pgt, 0x201ULL << 12, 0,
						   &info), 0);
	KUNIT_EXPECT_EQ(test, info.level, 1);
	KUNIT_EXPECT_EQ(test, info.pa, 0x50001ULL << 12);

	/* A host frame the format cannot address is a clear error. */
	KUNIT_EXPECT_EQ(test, s2mmu_table_cache_topup(&cache, vm->pgt.levels),
			0);
	level = 0;
	read_lock(&vm->mmu_lock);
	ret = inv_install(vm, &cache, 0x300,
			  1ULL << (vm->pgt.ops->pa_bits - 12), &level,
			  true, &flush);
	read_unlock(&vm->mmu_lock);
	s2mmu_table_cache_free(&cache);
	KUNIT_EXPECT_EQ(test, ret, -EOVERFLOW);
}

/*
 * A 1 GiB leaf where a table of tables stands (4 KiB pages under a 2 MiB
 * table): the fault does not tear down up to 513 table pages in one step
 * under the read lock; it maps the 2 MiB block instead, collapsing only
 * the one table of 4 KiB leaves there.
 */
static void invalidate_collapse_bounded_test(struct kunit *test)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, S2MMU_VM_X86_TDP);
	u64 base = 0x40000;	/* 1 GiB-aligned gfn */
	struct s2mmu_table_cache cache;
	struct s2mmu_pt_info info;
	bool flush = false;
	int ret, level = 2;

	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 1, 0, base, 1 << 18,
						   H), 0);
	s2mmu_kunit_map(test, vm, base + 0x203);
	s2mmu_kunit_map(test, vm, base + 0x600);
	KUNIT_ASSERT_EQ(test, atomic_long_read(&vm->pgt.tables[0]), 2);
	s2mmu_table_cache_init(&cache);
	KUNIT_ASSERT_EQ(test, s2mmu_table_cache_topup(&cache, vm->pgt.levels),
			0);
	read_lock(&vm->mmu_lock);
	ret = inv_install(vm, &cache, base + 0x205, 0x80000, &level,
			  true, &flush);
	read_unlock(&vm->mmu_lock);
	s2mmu_table_cache_free(&cache);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, level, 1);
	KUNIT_EXPECT_TRUE(test, flush);
	/* The 2 MiB block of the fault, at its offset in the 1 GiB one. */
	KUNIT_EXPECT_EQ(test, s2mmu_pgtable_lookup(&vm->pgt,
						   (base + 0x205) << 12, 0,
						   &info), 0);
	KUNIT_EXPECT_EQ(test, info.level, 1);
	KUNIT_EXPECT_EQ(test, info.pa, (0x80000ULL + 0x205) << 12);
	/* The other 4 KiB table is untouched. */
	KUNIT_EXPECT_EQ(test, atomic_long_read(&vm->pgt.tables[0]), 1);
	KUNIT_EXPECT_TRUE(test, s2mmu_kunit_mapped(vm, base + 0x600));
}

static struct kunit_case invalidate_cases[] = {
	KUNIT_CASE(invalidate_count_seq_test),
	KUNIT_CASE(invalidate_range_union_test),
	KUNIT_CASE(invalidate_nested_test),
	KUNIT_CASE(invalidate_retry_seq_test),
	KUNIT_CASE(invalidate_retry_range_test),
	KUNIT_CASE(invalidate_zaps_test),
	KUNIT_CASE(invalidate_yield_test),
	KUNIT_CASE(invalidate_retry_unsafe_test),
	KUNIT_CASE(invalidate_nested_zap_waits_for_flush),
	KUNIT_CASE(invalidate_collapse_race_test),
	KUNIT_CASE(invalidate_collapse_bounded_test),
	{}
};

static struct kunit_suite invalidate_suite = {
	.name = "s2mmu_invalidate",
	.test_cases = invalidate_cases,
};

kunit_test_suites(&invalidate_suite);
