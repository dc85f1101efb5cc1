// SPDX-License-Identifier: GPL-2.0
/*
 * Memory attributes in guest frame space: the frames
 * S2MMU_SET_MEMORY_ATTRIBUTES made private, as ranges in a maple tree
 * (vm->mem_attrs: gfn range -> xa_mk_value(attributes); a frame not in
 * the tree is shared).
 *
 * A change is an invalidation (mmu/invalidate.c): it begins, zaps the
 * range and flushes under mmu_lock, changes the tree outside it (the
 * store allocates), and ends.  A fault reads the tree after it snapshot
 * the invalidation sequence, so one that read the old attribute retries
 * under mmu_lock.  Changes are serialised by vm->slots_lock; readers take
 * RCU only (mtree_load()).
 */
#include <linux/delay.h>
#include <linux/maple_tree.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/xarray.h>

#include "s2mmu.h"

#ifdef S2MMU_PROVE_MMU
/*
 * Test-only: an attribute change sleeps this long between its zap and
 * its store, the invalidation in progress, so gmem_test can run a fault
 * inside it (the fault must retry, not map a huge leaf over the range).
 */
static unsigned int test_attr_change_delay_ms;
module_param(test_attr_change_delay_ms, uint, 0600);
MODULE_PARM_DESC(test_attr_change_delay_ms,
		 "TEST ONLY: attribute changes sleep this long mid-invalidation");

static void s2mmu_test_attr_delay(void)
{
	unsigned int ms = READ_ONCE(test_attr_change_delay_ms);

	if (ms)
		msleep(ms);
}
#else
static inline void s2mmu_test_attr_delay(void)
{
}
#endif

/**
 * s2mmu_gfn_is_private() - is a frame private now?
 * @vm: the VM.
 * @gfn: the frame.
 *
 * Context: any; the answer is checked by the fault's retry under mmu_lock.
 * Return: true when its attributes have S2MMU_MEMORY_ATTRIBUTE_PRIVATE.
 */
bool s2mmu_gfn_is_private(struct s2mmu_vm *vm, u64 gfn)
{
	void *entry;

	if (likely(mtree_empty(&vm->mem_attrs)))
		return false;
	entry = mtree_load(&vm->mem_attrs, gfn);
	return entry && (xa_to_value(entry) & S2MMU_MEMORY_ATTRIBUTE_PRIVATE);
}

/**
 * s2mmu_gfn_range_has_private() - is any frame of a range private now?
 * @vm: the VM.
 * @start: the first frame.
 * @end: the frame after the last.
 *
 * The fault path asks it of the range a huge leaf would map: a shared
 * leaf must not cover a private frame (and private leaves are 4 KiB).
 *
 * Context: any (RCU inside); checked as s2mmu_gfn_is_private() is.
 * Return: true when a frame of [start, end) is private.
 */
bool s2mmu_gfn_range_has_private(struct s2mmu_vm *vm, u64 start, u64 end)
{
	unsigned long index = start;

	if (likely(mtree_empty(&vm->mem_attrs)))
		return false;
	/* Only PRIVATE is stored: any entry is a private range. */
	return mt_find(&vm->mem_attrs, &index, end - 1);
}

/**
 * s2mmu_set_memory_attributes() - S2MMU_SET_MEMORY_ATTRIBUTES.
 * @vm: the VM.
 * @attrs: the request, copied from userspace.
 *
 * Return: 0; -EINVAL for non-zero flags, unknown attributes, an empty,
 * unaligned or wrapping range or one past the VM's address space;
 * -ENOMEM (the attributes are then unchanged, the range unmapped).
 */
int s2mmu_set_memory_attributes(struct s2mmu_vm *vm,
				const struct s2mmu_memory_attributes *attrs)
{
	u64 end = attrs->address + attrs->size;
	u64 start_gfn, end_gfn;
	bool flush;
	int ret;

	if (attrs->flags || attrs->attributes & ~S2MMU_MEMORY_ATTRIBUTE_PRIVATE)
		return -EINVAL;
	if (!attrs->size || !PAGE_ALIGNED(attrs->address | attrs->size) ||
	    end < attrs->address || end > s2mmu_vm_config_max_gpa(&vm->cfg))
		return -EINVAL;
	start_gfn = attrs->address >> PAGE_SHIFT;
	end_gfn = end >> PAGE_SHIFT;

	mutex_lock(&vm->slots_lock);
	write_lock(&vm->mmu_lock);
	s2mmu_mmu_invalidate_begin(vm);
	flush = s2mmu_mmu_invalidate_range_add(vm, start_gfn, end_gfn,
					       S2MMU_ZAP_MAY_YIELD, false);
	flush = s2mmu_mmu_flush_claim(vm, flush);
	write_unlock(&vm->mmu_lock);
	if (flush)
		s2mmu_mmu_flush_finish(vm);
	s2mmu_test_attr_delay();

	ret = mtree_store_range(&vm->mem_attrs, start_gfn, end_gfn - 1,
				attrs->attributes ?
				xa_mk_value(attrs->attributes) : NULL,
				GFP_KERNEL_ACCOUNT);

	/*
	 * The store before the sequence bump: a fault that reads the new
	 * sequence reads the new attributes (its smp_rmb() pairs).
	 */
	smp_wmb();
	write_lock(&vm->mmu_lock);
	s2mmu_mmu_invalidate_end(vm);
	write_unlock(&vm->mmu_lock);
	mutex_unlock(&vm->slots_lock);
	return ret;
}
