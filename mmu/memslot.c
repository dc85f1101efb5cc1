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
 * Ordering is what keeps the secondary MMU coherent:
 *
 * - A new slot enters the hva tree before the gfn tree.  Once the fault
 *   path can find it, every invalidation not yet finished saw it, so no
 *   invalidation can run without zapping (and without blocking faults on)
 *   the new slot's range.
 * - A slot leaves the gfn tree first; after synchronize_srcu() no fault
 *   still uses it, its range is zapped and the vCPU TLBs flushed, and
 *   only then does it leave the hva tree and get freed.
 *
 * A move is a delete and a create with the same id; a flag change of
 * S2MMU_MEM_READONLY or of the size or host address is refused (as KVM).
 */
#include <linux/interval_tree_generic.h>
#include <linux/maple_tree.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "s2mmu.h"

#define S2MMU_SLOT_FLAGS	S2MMU_MEM_READONLY

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
	vm->hva_tree = RB_ROOT_CACHED;
	spin_lock_init(&vm->mn_lock);
	init_waitqueue_head(&vm->mn_wait);
}

/**
 * s2mmu_memslots_destroy() - free every slot of a VM being destroyed.
 * @vm: the VM; its notifier is unregistered and no vCPU is left.
 */
void s2mmu_memslots_destroy(struct s2mmu_vm *vm)
{
	struct s2mmu_memslot *slot;
	unsigned long id;

	xa_for_each(&vm->slot_ids, id, slot)
		kfree(slot);
	xa_destroy(&vm->slot_ids);
	/* No reader is left: free the nodes now rather than after RCU. */
	mt_clear_in_rcu(&vm->gfn_tree);
	mtree_destroy(&vm->gfn_tree);
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
 * invalidations can delay a memslot update (as in KVM), never a fault.
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
		unsigned long hs = max(start, slot->userspace_addr);
		unsigned long he = min(end - 1, slot_hva_last(slot));

		ret |= fn(vm, slot,
			  slot->base_gfn + ((hs - slot->userspace_addr) >> PAGE_SHIFT),
			  slot->base_gfn + ((he - slot->userspace_addr) >> PAGE_SHIFT) + 1,
			  data);
	}
	return ret;
}

/* Publish a new slot: hva tree first, then the gfn tree (see above). */
static int s2mmu_memslot_publish(struct s2mmu_vm *vm,
				 struct s2mmu_memslot *slot)
{
	int ret;

	s2mmu_hva_tree_lock(vm);
	s2mmu_hva_tree_insert(slot, &vm->hva_tree);
	spin_unlock(&vm->mn_lock);

	ret = mtree_insert_range(&vm->gfn_tree, slot->base_gfn,
				 slot->base_gfn + slot->npages - 1, slot,
				 GFP_KERNEL_ACCOUNT);
	if (ret) {
		s2mmu_hva_tree_lock(vm);
		s2mmu_hva_tree_remove(slot, &vm->hva_tree);
		spin_unlock(&vm->mn_lock);
		return ret;
	}
	WRITE_ONCE(vm->slots_gen, vm->slots_gen + 1);
	return 0;
}

/* Withdraw a slot: gfn tree, wait for its users, zap, then hva tree. */
static void s2mmu_memslot_withdraw(struct s2mmu_vm *vm,
				   struct s2mmu_memslot *slot)
{
	mtree_erase(&vm->gfn_tree, slot->base_gfn);
	/* vCPUs compare the generation before using a cached slot. */
	WRITE_ONCE(vm->slots_gen, vm->slots_gen + 1);
	synchronize_srcu(&vm->srcu);

	s2mmu_mmu_zap_gfn_range(vm, slot->base_gfn,
				slot->base_gfn + slot->npages);

	s2mmu_hva_tree_lock(vm);
	s2mmu_hva_tree_remove(slot, &vm->hva_tree);
	spin_unlock(&vm->mn_lock);
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
	if (mem->flags & ~S2MMU_SLOT_FLAGS)
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
 *
 * Create, move (new guest_phys_addr), change flags, or delete
 * (memory_size 0) a slot.  Deleting or moving zaps the old range's
 * mappings and flushes every vCPU's TLB before returning.
 *
 * Context: process context of the VM's mm; takes vm->slots_lock.
 * Return: 0; -EINVAL for a bad request (alignment, flags, slot id, a guest
 * range that wraps or exceeds the VM's address space, a host range that is
 * not a user range), for deleting a slot that does not exist, or for
 * changing an existing slot's size, host address or read-only flag;
 * -EEXIST when the guest range overlaps another slot; -ENOMEM.
 */
int s2mmu_set_memory_region(struct s2mmu_vm *vm,
			    const struct s2mmu_memory_region *mem)
{
	struct s2mmu_memslot *old, *new;
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
	old = xa_load(&vm->slot_ids, mem->slot);

	if (!npages) {
		ret = -EINVAL;
		if (!old)
			goto out;
		s2mmu_memslot_withdraw(vm, old);
		xa_erase(&vm->slot_ids, mem->slot);
		WRITE_ONCE(vm->nr_slots, vm->nr_slots - 1);
		kfree(old);
		ret = 0;
		goto out;
	}

	if (old) {
		ret = -EINVAL;
		if (old->npages != npages ||
		    old->userspace_addr != mem->userspace_addr ||
		    ((old->flags ^ mem->flags) & S2MMU_MEM_READONLY))
			goto out;
		/* Only the read-only flag exists, so nothing else changes. */
		ret = 0;
		if (old->base_gfn == base_gfn)
			goto out;
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

	ret = -EEXIST;
	if (s2mmu_gfn_range_used(vm, base_gfn, npages, old))
		goto free;

	if (old) {
		/* A move: the old range goes first; it may overlap the new. */
		s2mmu_memslot_withdraw(vm, old);
		ret = s2mmu_memslot_publish(vm, new);
		if (ret)
			goto restore;
		xa_store(&vm->slot_ids, mem->slot, new, GFP_KERNEL_ACCOUNT);
		kfree(old);
		goto out;
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
	goto out;

restore:
	/* The old slot's range is still free: put it back as it was. */
	if (s2mmu_memslot_publish(vm, old)) {
		xa_erase(&vm->slot_ids, mem->slot);
		WRITE_ONCE(vm->nr_slots, vm->nr_slots - 1);
		kfree(old);
	}
free:
	kfree(new);
out:
	mutex_unlock(&vm->slots_lock);
	return ret;
}
