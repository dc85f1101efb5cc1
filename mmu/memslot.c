// SPDX-License-Identifier: GPL-2.0
/*
 * Memory slots: guest physical ranges backed by the VM owner's memory.
 *
 * Three indexes, each for its readers:
 *
 * - vm->slot_ids (xarray, slot id -> slot): S2MMU_SET_MEMORY_REGION only,
 *   under vm->slots_lock.
 * - vm->gfn_tree (maple tree, gfn range -> slot): the fault path and the
 *   vCPU walker.  Lookups are O(log n) under RCU and never wait for a
 *   writer; the slot they return stays allocated until the reader leaves
 *   its vm->srcu read section.
 * - vm->hva_tree (interval tree over host virtual ranges; slots may
 *   alias): the notifier callbacks.  It changes only while no callback is
 *   reading it: a callback counts itself in vm->mn_active under
 *   vm->mn_lock before it reads the tree (an invalidation from
 *   invalidate_range_start to invalidate_range_end), and a writer waits
 *   for the count to drop to zero and changes the tree under vm->mn_lock.
 *
 * The order in which a slot enters and leaves the three indexes is what
 * keeps the secondary MMU coherent across slot changes; it, the slot
 * generation and the invalid stand-in of a move or delete are in
 * Documentation/locking.rst ("Memory slots").  A change of
 * S2MMU_MEM_READONLY or of the size or host address is refused (as KVM).
 * S2MMU_MEM_LOG_DIRTY_PAGES may be toggled on a live slot: the one change
 * made in place (the slot's dirty bitmap, mmu/dirty.c); a move keeps the
 * bitmap, as KVM.
 */
#include <linux/delay.h>
#include <linux/interval_tree_generic.h>
#include <linux/maple_tree.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "s2mmu.h"

#define S2MMU_SLOT_FLAGS	(S2MMU_MEM_READONLY | S2MMU_MEM_LOG_DIRTY_PAGES)

static unsigned long slot_hva_last(struct s2mmu_memslot *slot)
{
	return slot->userspace_addr + (slot->npages << PAGE_SHIFT) - 1;
}

#define slot_hva_start(slot)	((slot)->userspace_addr)

INTERVAL_TREE_DEFINE(struct s2mmu_memslot, hva_node, unsigned long,
		     hva_subtree_last, slot_hva_start, slot_hva_last, static,
		     s2mmu_hva_tree)

/**
 * s2mmu_memslots_init() - set up a VM's memory slot indexes.
 * @vm: the VM being created.
 */
void s2mmu_memslots_init(struct s2mmu_vm *vm)
{
	mutex_init(&vm->slots_lock);
	xa_init(&vm->slot_ids);
	mt_init_flags(&vm->gfn_tree, MT_FLAGS_USE_RCU);
	mt_init_flags(&vm->mem_attrs, MT_FLAGS_USE_RCU);
	vm->hva_tree = RB_ROOT_CACHED;
	spin_lock_init(&vm->mn_lock);
	init_waitqueue_head(&vm->mn_wait);
}

/* Free a slot no reader can reach any more, and its dirty bitmap. */
static void s2mmu_memslot_free(struct s2mmu_memslot *slot)
{
	s2mmu_dirty_bitmap_free(slot->dirty_bitmap);
	kfree(slot);
}

/**
 * s2mmu_memslots_destroy() - free every slot of a VM being destroyed.
 * @vm: the VM; its notifier is unregistered and no vCPU is left.
 */
void s2mmu_memslots_destroy(struct s2mmu_vm *vm)
{
	struct s2mmu_memslot *slot;
	unsigned long id;

	/* The change hook of the tree's destroy looks no slot up. */
	WRITE_ONCE(vm->nr_dirty_slots, 0);
	xa_for_each(&vm->slot_ids, id, slot)
		s2mmu_memslot_free(slot);
	xa_destroy(&vm->slot_ids);
	/* No reader is left: free the nodes now rather than after RCU. */
	mt_clear_in_rcu(&vm->gfn_tree);
	mtree_destroy(&vm->gfn_tree);
	mtree_destroy(&vm->mem_attrs);
}

/**
 * s2mmu_memslot_max_level() - the largest leaf a slot allows at a frame.
 * @slot: the slot.
 * @gfn: a guest frame in @slot.
 * @hva: its host address.
 * @level: the largest level wanted (what the host maps).
 *
 * A leaf at level L maps an aligned block of 2^(9 L) frames to as many
 * contiguous host pages: it is allowed only when the block lies wholly in
 * @slot and @gfn and @hva are equally aligned within it.
 *
 * Return: the largest level <= @level allowed (0 at worst).
 */
int s2mmu_memslot_max_level(const struct s2mmu_memslot *slot, u64 gfn,
			    unsigned long hva, int level)
{
	for (; level > 0; level--) {
		u64 npages = 1ULL << (level * S2MMU_PT_LEVEL_BITS);
		u64 base = gfn & ~(npages - 1);

		if (((hva >> PAGE_SHIFT) & (npages - 1)) != (gfn & (npages - 1)))
			continue;
		if (base >= slot->base_gfn &&
		    base + npages <= slot->base_gfn + slot->npages)
			break;
	}
	return level;
}

/**
 * s2mmu_gfn_to_memslot() - the slot holding a guest frame.
 * @vm: the VM.
 * @gfn: guest frame number.
 *
 * Context: inside an srcu_read_lock(&vm->srcu) section, which keeps the
 * returned slot allocated.
 * Return: the slot, or NULL when @gfn is in no slot.
 */
struct s2mmu_memslot *s2mmu_gfn_to_memslot(struct s2mmu_vm *vm, u64 gfn)
{
	return mtree_load(&vm->gfn_tree, gfn);
}

/**
 * s2mmu_gfn_to_memslot_cached() - s2mmu_gfn_to_memslot() through a slot
 * cache.
 * @vm: the VM.
 * @c: the caller's cache of its last slot.
 * @gfn: guest frame number.
 *
 * The cache is trusted only while vm->slots_gen is the generation it was
 * filled at.  The generation is loaded with acquire before the tree, and
 * writers bump it with release after changing the tree, so a reader that
 * sees the new generation also sees the new tree: it cannot cache a
 * withdrawn slot under the new generation.  Writers bump it once more
 * after the withdrawal's grace period, which retires any entry cached
 * meanwhile whatever the order it was filled in (see
 * Documentation/locking.rst, "Memory slot generation").
 *
 * Context: inside vm->srcu.
 * Return: the slot holding @gfn (possibly a moving slot's stand-in,
 * flagged %S2MMU_SLOT_INVALID), or NULL.
 */
struct s2mmu_memslot *s2mmu_gfn_to_memslot_cached(struct s2mmu_vm *vm,
						  struct s2mmu_slot_cache *c,
						  u64 gfn)
{
	/* Pairs with the release in s2mmu_slots_gen_bump(). */
	unsigned long gen = smp_load_acquire(&vm->slots_gen);
	struct s2mmu_memslot *slot = c->slot;

	if (slot && c->gen == gen && gfn >= slot->base_gfn &&
	    gfn < slot->base_gfn + slot->npages)
		return slot;
	slot = s2mmu_gfn_to_memslot(vm, gfn);
	if (slot) {
		c->slot = slot;
		c->gen = gen;
	}
	return slot;
}

/* Publish a change of the gfn tree to slot caches; pairs with the above. */
static void s2mmu_slots_gen_bump(struct s2mmu_vm *vm)
{
	/* The tree change is visible before the new generation. */
	smp_store_release(&vm->slots_gen, vm->slots_gen + 1);
}

#ifdef S2MMU_KUNIT
/*
 * KUnit plays a reader here: inside the grace period of a slot's
 * withdrawal, before synchronize_srcu().
 */
void (*s2mmu_memslot_test_grace_hook)(struct s2mmu_vm *vm,
				      struct s2mmu_memslot *slot);
#endif

#ifdef S2MMU_PROVE_MMU
/*
 * Test flavour only: sleep this long in the middle of a slot move, while
 * the old range is gone and the new one not yet there, so a selftest can
 * check that vCPUs wait rather than exit (race_test move_waits_no_mmio).
 */
static unsigned int test_memslot_move_delay_ms;
module_param(test_memslot_move_delay_ms, uint, 0600);
MODULE_PARM_DESC(test_memslot_move_delay_ms,
		 "TEST ONLY: delay (ms) in the middle of a memory slot move");
#else
static const unsigned int test_memslot_move_delay_ms;
#endif

/**
 * s2mmu_mn_reader_begin() - count a notifier callback as a reader of the
 * hva tree.
 * @vm: the VM.
 *
 * Memory slot updates wait until no reader is counted.  Never sleeps.
 */
void s2mmu_mn_reader_begin(struct s2mmu_vm *vm)
{
	spin_lock(&vm->mn_lock);
	vm->mn_active++;
	spin_unlock(&vm->mn_lock);
}

/**
 * s2mmu_mn_reader_end() - end what s2mmu_mn_reader_begin() began.
 * @vm: the VM.
 */
void s2mmu_mn_reader_end(struct s2mmu_vm *vm)
{
	bool wake;

	spin_lock(&vm->mn_lock);
	wake = !--vm->mn_active;
	spin_unlock(&vm->mn_lock);
	if (wake)
		wake_up_all(&vm->mn_wait);
}

/*
 * Take vm->mn_lock with no notifier reader active.  A stream of
 * invalidations can delay a memslot update, as in KVM, and with it the
 * vCPUs faulting on a slot being moved or deleted; they wait killably.
 * Aging callbacks are not counted (s2mmu_hva_to_gfn_ranges()), so they
 * never delay it.  Faults elsewhere are never delayed.
 */
static void s2mmu_hva_tree_lock(struct s2mmu_vm *vm)
	__acquires(&vm->mn_lock)
{
	for (;;) {
		spin_lock(&vm->mn_lock);
		if (!vm->mn_active)
			return;
		spin_unlock(&vm->mn_lock);
		wait_event(vm->mn_wait, !READ_ONCE(vm->mn_active));
	}
}

/* The guest frames @slot maps at the part of [@start, @end) it overlaps. */
static struct s2mmu_gfn_range s2mmu_slot_gfns(struct s2mmu_memslot *slot,
					      unsigned long start,
					      unsigned long end)
{
	unsigned long hs = max(start, slot->userspace_addr);
	unsigned long he = min(end - 1, slot_hva_last(slot));

	return (struct s2mmu_gfn_range) {
		.start	= slot->base_gfn +
			  ((hs - slot->userspace_addr) >> PAGE_SHIFT),
		.end	= slot->base_gfn +
			  ((he - slot->userspace_addr) >> PAGE_SHIFT) + 1,
	};
}

/**
 * s2mmu_for_each_hva_slot() - call @fn for each slot overlapping a host
 * virtual range, with the guest frame range the overlap covers.
 * @vm: the VM.
 * @start: first host virtual address.
 * @end: first host virtual address past the range.
 * @fn: callback; its return values are ORed together.
 * @data: passed to @fn.
 *
 * Context: between s2mmu_mn_reader_begin() and s2mmu_mn_reader_end().
 * Return: the OR of @fn's return values (0 when no slot overlaps).
 */
int s2mmu_for_each_hva_slot(struct s2mmu_vm *vm, unsigned long start,
			    unsigned long end,
			    int (*fn)(struct s2mmu_vm *vm,
				      struct s2mmu_memslot *slot,
				      u64 gfn_start, u64 gfn_end, void *data),
			    void *data)
{
	struct s2mmu_memslot *slot;
	int ret = 0;

	if (start >= end)
		return 0;
	for (slot = s2mmu_hva_tree_iter_first(&vm->hva_tree, start, end - 1);
	     slot; slot = s2mmu_hva_tree_iter_next(slot, start, end - 1)) {
		struct s2mmu_gfn_range r = s2mmu_slot_gfns(slot, start, end);

		ret |= fn(vm, slot, r.start, r.end, data);
	}
	return ret;
}

/**
 * s2mmu_hva_range_in_slots() - does any slot overlap a host virtual range?
 * @vm: the VM.
 * @start: first host virtual address.
 * @end: first host virtual address past the range.
 *
 * An invalidation begins (and ends) only when one does, as KVM's: churn of
 * unrelated host memory must not make every fault retry.  Between
 * s2mmu_mn_reader_begin() and s2mmu_mn_reader_end() the hva tree cannot
 * change, so the answer at an invalidation's start and at its end is the
 * same and the two stay paired.
 *
 * Context: between s2mmu_mn_reader_begin() and s2mmu_mn_reader_end().
 * Return: true when at least one slot maps part of [@start, @end).
 */
bool s2mmu_hva_range_in_slots(struct s2mmu_vm *vm, unsigned long start,
			      unsigned long end)
{
	return start < end &&
	       s2mmu_hva_tree_iter_first(&vm->hva_tree, start, end - 1);
}

/**
 * s2mmu_hva_to_gfn_ranges() - the gfn ranges slots map at a host range,
 * for a caller not counted as a reader of the hva tree.
 * @vm: the VM.
 * @start: first host virtual address.
 * @end: first host virtual address past the range.
 * @ranges: filled with up to @max ranges, one per overlapping slot.
 * @max: capacity of @ranges.
 *
 * The aging callbacks' lookup: they must neither sleep nor make memory
 * slot updates wait for them, so instead of counting themselves in
 * vm->mn_active they read the tree under vm->mn_lock, which its writers
 * hold only to insert or erase one slot and readers only for this
 * lookup.  The ranges are plain numbers: a slot deleted after the lookup
 * only makes the caller age frames it no longer maps, which is harmless.
 *
 * Context: any, atomic included; never sleeps.
 * Return: the number of ranges, or -E2BIG when more than @max slots
 * overlap (the caller counts itself as a reader instead).
 */
int s2mmu_hva_to_gfn_ranges(struct s2mmu_vm *vm, unsigned long start,
			    unsigned long end, struct s2mmu_gfn_range *ranges,
			    int max)
{
	struct s2mmu_memslot *slot;
	int n = 0;

	if (start >= end)
		return 0;
	spin_lock(&vm->mn_lock);
	for (slot = s2mmu_hva_tree_iter_first(&vm->hva_tree, start, end - 1);
	     slot; slot = s2mmu_hva_tree_iter_next(slot, start, end - 1)) {
		if (n == max) {
			n = -E2BIG;
			break;
		}
		ranges[n++] = s2mmu_slot_gfns(slot, start, end);
	}
	spin_unlock(&vm->mn_lock);
	return n;
}

/* Publish a new slot: hva tree first, then the gfn tree (see above). */
static int s2mmu_memslot_publish(struct s2mmu_vm *vm,
				 struct s2mmu_memslot *slot)
{
	int ret;

	s2mmu_hva_tree_lock(vm);
	s2mmu_hva_tree_insert(slot, &vm->hva_tree);
	spin_unlock(&vm->mn_lock);

	/*
	 * A store, not an insert: a move replaces its stand-in (see
	 * s2mmu_memslot_move()) where the ranges overlap, so a gfn in both
	 * is never without a slot.  Callers checked the range is free
	 * otherwise.
	 */
	ret = mtree_store_range(&vm->gfn_tree, slot->base_gfn,
				slot->base_gfn + slot->npages - 1, slot,
				GFP_KERNEL_ACCOUNT);
	if (ret) {
		s2mmu_hva_tree_lock(vm);
		s2mmu_hva_tree_remove(slot, &vm->hva_tree);
		spin_unlock(&vm->mn_lock);
		return ret;
	}
	s2mmu_slots_gen_bump(vm);
	return 0;
}

/*
 * Store @slot (or NULL) over [first, last] of the gfn tree.  For the
 * stores that must not fail: a maple tree in RCU mode allocates on every
 * write, erases included, and a failed one would leave a freed slot in
 * the tree.
 */
static void s2mmu_gfn_tree_set(struct s2mmu_vm *vm, u64 first, u64 last,
			       struct s2mmu_memslot *slot)
{
	if (first <= last)
		WARN_ON(mtree_store_range(&vm->gfn_tree, first, last, slot,
					  GFP_KERNEL_ACCOUNT | __GFP_NOFAIL));
}

/*
 * Take a slot out of use, as KVM's KVM_MEMSLOT_INVALID: a copy flagged
 * %S2MMU_SLOT_INVALID replaces it in the gfn tree (a fault finding it
 * waits, rather than exiting as MMIO); wait for its users; zap its range
 * and flush; take it out of the hva tree.  Returns the stand-in, which
 * s2mmu_memslot_retire() removes once the slot's successor (if any) is
 * in place.
 *
 * The stand-in cannot fail (__GFP_NOFAIL, a small object, as the gfn
 * tree's own stores): the zap below must find a slot for the range, or
 * the Dirty-bit logging change hook could not mark the dirty leaves it
 * removes (mmu/dirty.c), and the pages written since the last harvest
 * would never be reported.
 */
static struct s2mmu_memslot *s2mmu_memslot_withdraw(struct s2mmu_vm *vm,
						    struct s2mmu_memslot *slot)
{
	u64 last = slot->base_gfn + slot->npages - 1;
	struct s2mmu_memslot *stand_in;

	stand_in = kmemdup(slot, sizeof(*slot),
			   GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
	stand_in->flags |= S2MMU_SLOT_INVALID;
	s2mmu_gfn_tree_set(vm, slot->base_gfn, last, stand_in);
	/* Release: a reader seeing the new generation sees the new tree. */
	s2mmu_slots_gen_bump(vm);
	S2MMU_TEST_HOOK(s2mmu_memslot_test_grace_hook, vm, slot);
	synchronize_srcu(&vm->srcu);
	/*
	 * No reader is inside a section that could have found @slot; one
	 * that cached it under the new generation anyway (however its loads
	 * were ordered) drops it now.
	 */
	s2mmu_slots_gen_bump(vm);

	s2mmu_mmu_zap_gfn_range(vm, slot->base_gfn, last + 1);

	s2mmu_hva_tree_lock(vm);
	s2mmu_hva_tree_remove(slot, &vm->hva_tree);
	spin_unlock(&vm->mn_lock);
	return stand_in;
}

/*
 * Remove what is left of the stand-in of a slot that covered
 * [first, last] (@now, its successor or the slot put back, was stored
 * over part of it; NULL: none), then free it after a grace period.
 */
static void s2mmu_memslot_retire(struct s2mmu_vm *vm,
				 struct s2mmu_memslot *stand_in, u64 first,
				 u64 last, struct s2mmu_memslot *now)
{
	u64 now_last;

	if (!now) {
		s2mmu_gfn_tree_set(vm, first, last, NULL);
	} else {
		now_last = now->base_gfn + now->npages - 1;
		if (first < now->base_gfn)
			s2mmu_gfn_tree_set(vm, first,
					   min(last, now->base_gfn - 1), NULL);
		if (last > now_last)
			s2mmu_gfn_tree_set(vm, max(first, now_last + 1), last,
					   NULL);
	}
	s2mmu_slots_gen_bump(vm);
	/* Readers may still hold the stand-in. */
	synchronize_srcu(&vm->srcu);
	kfree(stand_in);
}

/*
 * Move @old to @new's guest range: withdraw it behind a stand-in, then
 * publish @new over the stand-in (one tree store where the ranges
 * overlap, so a gfn in both always finds a slot), then retire what is
 * left of the stand-in.  On error @old is put back, unless even that
 * fails: then *@lost is set and the slot is gone.
 */
static int s2mmu_memslot_move(struct s2mmu_vm *vm, struct s2mmu_memslot *old,
			      struct s2mmu_memslot *new, bool *lost)
{
	struct s2mmu_memslot *stand_in, *now = new;
	unsigned int delay;
	int ret;

	stand_in = s2mmu_memslot_withdraw(vm, old);
	delay = READ_ONCE(test_memslot_move_delay_ms);
	if (unlikely(delay))
		msleep(delay);

	ret = s2mmu_memslot_publish(vm, new);
	if (ret) {
		*lost = s2mmu_memslot_publish(vm, old) != 0;
		now = *lost ? NULL : old;
	}
	s2mmu_memslot_retire(vm, stand_in, old->base_gfn,
			     old->base_gfn + old->npages - 1, now);
	return ret;
}

/* Is any slot other than @self in [start, start + npages)? */
static bool s2mmu_gfn_range_used(struct s2mmu_vm *vm, u64 start, u64 npages,
				 struct s2mmu_memslot *self)
{
	unsigned long index = start, last = start + npages - 1;
	struct s2mmu_memslot *slot;

	mt_for_each(&vm->gfn_tree, slot, index, last)
		if (slot != self)
			return true;
	return false;
}

/**
 * s2mmu_memslot_check() - validate a memory region request against the
 * VM's limits, as KVM_SET_USER_MEMORY_REGION does.
 * @mem: the request.
 * @max_gpa: first guest physical address the VM cannot map.
 *
 * Checks only what does not depend on the existing slots.
 *
 * Return: 0 or -EINVAL.
 */
int s2mmu_memslot_check(const struct s2mmu_memory_region *mem, u64 max_gpa)
{
	if (mem->slot >= S2MMU_MAX_MEMSLOTS)
		return -EINVAL;
	if (mem->flags & ~(S2MMU_SLOT_FLAGS | S2MMU_MEM_GUEST_MEMFD))
		return -EINVAL;
	/* Private memory is neither read-only nor logged (as KVM). */
	if ((mem->flags & S2MMU_MEM_GUEST_MEMFD) && (mem->flags & S2MMU_SLOT_FLAGS))
		return -EINVAL;
	if (!PAGE_ALIGNED(mem->memory_size) ||
	    !PAGE_ALIGNED(mem->guest_phys_addr) ||
	    !PAGE_ALIGNED(mem->userspace_addr))
		return -EINVAL;
	if (!mem->memory_size)
		return 0;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr ||
	    mem->guest_phys_addr + mem->memory_size > max_gpa)
		return -EINVAL;
	if (mem->userspace_addr + mem->memory_size < mem->userspace_addr ||
	    mem->userspace_addr + mem->memory_size > TASK_SIZE)
		return -EINVAL;
	return 0;
}

/**
 * s2mmu_set_memory_region() - handle S2MMU_SET_MEMORY_REGION.
 * @vm: the VM.
 * @mem: the request, copied from userspace.
 * @gmem: S2MMU_MEM_GUEST_MEMFD: the guest_memfd to bind a new slot to
 *        (the caller holds its file), else NULL.
 * @gmem_offset: the slot's byte offset in it.
 * @gmem_size: its size.
 *
 * Create, move (new guest_phys_addr), change flags, or delete
 * (memory_size 0) a slot.  Deleting or moving zaps the old range's
 * mappings and flushes every vCPU's TLB before returning.
 *
 * Context: process context of the VM's mm; takes vm->slots_lock.
 * Return: 0; -EINVAL for a bad request (alignment, flags, slot id, a guest
 * range that wraps or exceeds the VM's address space, a host range that is
 * not a user range), for deleting a slot that does not exist, or for
 * changing an existing slot's size, host address or read-only flag, or
 * for host memory the VM type refuses (an MTE VM: a VMA that cannot hold
 * tags, or PFNMAP); -EEXIST when the guest range overlaps another slot;
 * -ENOMEM; -EINTR.
 */
int s2mmu_set_memory_region(struct s2mmu_vm *vm,
			    const struct s2mmu_memory_region *mem,
			    struct s2mmu_gmem *gmem, u64 gmem_offset,
			    u64 gmem_size)
{
	struct s2mmu_memslot *old, *new;
	unsigned long *bitmap;
	u64 npages = mem->memory_size >> PAGE_SHIFT;
	u64 base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	int ret;

	ret = s2mmu_memslot_check(mem, s2mmu_vm_config_max_gpa(&vm->cfg));
	if (ret)
		return ret;
	if (npages &&
	    !access_ok((void __user *)(unsigned long)mem->userspace_addr,
		       mem->memory_size))
		return -EINVAL;

	mutex_lock(&vm->slots_lock);
	/*
	 * The VM type's say on the host memory (MTE VMs: it takes tags),
	 * under slots_lock: S2MMU_ENABLE_CAP(S2MMU_CAP_ARM64_MTE) sets
	 * cfg.mte under it only while no slot exists, so a slot checked
	 * without MTE here is in the tree before MTE could be enabled.
	 */
	if (npages && vm->cfg.ops->prepare_memory_region) {
		ret = vm->cfg.ops->prepare_memory_region(vm, mem);
		if (ret)
			goto out;
	}
	old = xa_load(&vm->slot_ids, mem->slot);

	if (!npages) {
		ret = -EINVAL;
		if (!old)
			goto out;
		s2mmu_memslot_retire(vm, s2mmu_memslot_withdraw(vm, old),
				     old->base_gfn,
				     old->base_gfn + old->npages - 1, NULL);
		xa_erase(&vm->slot_ids, mem->slot);
		WRITE_ONCE(vm->nr_slots, vm->nr_slots - 1);
		if (old->dirty_bitmap)
			vm->nr_dirty_slots--;
		s2mmu_gmem_unbind(old);
		s2mmu_memslot_free(old);
		ret = 0;
		goto out;
	}

	if (old) {
		ret = -EINVAL;
		/* Private memory slots are immutable: deleted only (KVM). */
		if ((old->flags | mem->flags) & S2MMU_MEM_GUEST_MEMFD)
			goto out;
		if (old->npages != npages ||
		    old->userspace_addr != mem->userspace_addr ||
		    ((old->flags ^ mem->flags) & S2MMU_MEM_READONLY))
			goto out;
		ret = 0;
		if (old->base_gfn == base_gfn) {
			/* Only S2MMU_MEM_LOG_DIRTY_PAGES may change in place. */
			if (!((old->flags ^ mem->flags) &
			      S2MMU_MEM_LOG_DIRTY_PAGES))
				goto out;
			if (old->dirty_bitmap) {
				s2mmu_dirty_log_stop(vm, old);
				goto out;
			}
			bitmap = s2mmu_dirty_bitmap_alloc(vm, npages);
			ret = -ENOMEM;
			if (!bitmap)
				goto out;
			s2mmu_dirty_log_start(vm, old, bitmap);
			ret = 0;
			goto out;
		}
	}

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	ret = -ENOMEM;
	if (!new)
		goto out;
	new->id = mem->slot;
	new->flags = mem->flags;
	new->base_gfn = base_gfn;
	new->npages = npages;
	new->userspace_addr = mem->userspace_addr;

	INIT_LIST_HEAD(&new->gmem_link);

	/* The binding's errors first, as KVM's kvm_gmem_bind() order. */
	if (gmem) {
		ret = s2mmu_gmem_bind(gmem, new, gmem_offset, gmem_size);
		if (ret)
			goto free;
	}
	ret = -EEXIST;
	if (s2mmu_gfn_range_used(vm, base_gfn, npages, old))
		goto free;

	/* Logging: a move keeps the old slot's bitmap, as KVM. */
	if (mem->flags & S2MMU_MEM_LOG_DIRTY_PAGES) {
		if (old && old->dirty_bitmap)
			new->dirty_bitmap = old->dirty_bitmap;
		else
			new->dirty_bitmap = s2mmu_dirty_bitmap_alloc(vm, npages);
		ret = -ENOMEM;
		if (!new->dirty_bitmap)
			goto free;
	}

	if (old) {
		bool lost = false;

		/* A move; the new range may overlap the old. */
		ret = s2mmu_memslot_move(vm, old, new, &lost);
		if (!ret) {
			xa_store(&vm->slot_ids, mem->slot, new,
				 GFP_KERNEL_ACCOUNT);
			vm->nr_dirty_slots += !!new->dirty_bitmap -
					      !!old->dirty_bitmap;
			if (old->dirty_bitmap == new->dirty_bitmap)
				old->dirty_bitmap = NULL;
			s2mmu_memslot_free(old);
			goto out;
		}
		/* The old slot keeps its bitmap (put back or lost below). */
		if (new->dirty_bitmap == old->dirty_bitmap)
			new->dirty_bitmap = NULL;
		if (lost) {
			xa_erase(&vm->slot_ids, mem->slot);
			WRITE_ONCE(vm->nr_slots, vm->nr_slots - 1);
			if (old->dirty_bitmap)
				vm->nr_dirty_slots--;
			s2mmu_memslot_free(old);
		}
		goto free;
	}

	ret = xa_insert(&vm->slot_ids, mem->slot, new, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto free;
	ret = s2mmu_memslot_publish(vm, new);
	if (ret) {
		xa_erase(&vm->slot_ids, mem->slot);
		goto free;
	}
	WRITE_ONCE(vm->nr_slots, vm->nr_slots + 1);
	if (new->dirty_bitmap)
		vm->nr_dirty_slots++;
	goto out;

free:
	s2mmu_gmem_unbind(new);
	s2mmu_memslot_free(new);
out:
	mutex_unlock(&vm->slots_lock);
	return ret;
}
