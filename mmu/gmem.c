// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-private memory: s2mmu's guest_memfd.
 *
 * A guest_memfd is a file of the module's own pseudo filesystem, one
 * inode each, whose pages the module allocates and owns: they are in no
 * process's address space, not on the LRU, and neither swapped nor
 * migrated.  A slot created with S2MMU_MEM_GUEST_MEMFD is bound to a
 * range of it; the fault path maps a private frame (memory attribute
 * S2MMU_MEMORY_ATTRIBUTE_PRIVATE) of such a slot from the page at the
 * slot's offset.
 *
 * Locking: vm->slots_lock -> gmem->lock -> vm->mmu_lock.  gmem->lock
 * protects @pages and @bindings.  A punch or the release brackets its
 * zap with the gfn-space invalidation (mmu/invalidate.c) and frees the
 * pages only after the zap's TLB flush, before the invalidation ends, so
 * a fault that got a page before retries under mmu_lock.  A fault takes
 * a page only while its slot is still bound (checked under gmem->lock).
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/xarray.h>

#include "s2mmu.h"

/* Zap what @gmem's bindings map of file pages [start, end), and flush. */
static void s2mmu_gmem_invalidate_begin(struct s2mmu_gmem *gmem, pgoff_t start,
					pgoff_t end)
{
	struct s2mmu_vm *vm = gmem->vm;
	struct s2mmu_memslot *slot;
	bool flush = false;

	lockdep_assert_held(&gmem->lock);
	write_lock(&vm->mmu_lock);
	s2mmu_mmu_invalidate_begin(vm);
	list_for_each_entry(slot, &gmem->bindings, gmem_link) {
		pgoff_t s = max_t(pgoff_t, start, slot->gmem_pgoff);
		pgoff_t e = min_t(pgoff_t, end,
				  slot->gmem_pgoff + slot->npages);
		/* The gfn of file page 0 in this binding's terms. */
		u64 gfn = slot->base_gfn - slot->gmem_pgoff;

		if (s >= e)
			continue;
		flush = s2mmu_mmu_invalidate_range_add(vm, gfn + s, gfn + e,
						       S2MMU_ZAP_MAY_YIELD,
						       flush);
	}
	flush = s2mmu_mmu_flush_claim(vm, flush);
	write_unlock(&vm->mmu_lock);
	if (flush)
		s2mmu_mmu_flush_finish(vm);
}

static void s2mmu_gmem_invalidate_end(struct s2mmu_gmem *gmem)
{
	write_lock(&gmem->vm->mmu_lock);
	s2mmu_mmu_invalidate_end(gmem->vm);
	write_unlock(&gmem->vm->mmu_lock);
}

/* Free the pages of [start, end); under gmem->lock, after the zap. */
static void s2mmu_gmem_free_range(struct s2mmu_gmem *gmem, pgoff_t start,
				  pgoff_t end)
{
	unsigned long index, n = 0;
	struct page *page;

	/* Only gmem->lock is held (a mutex): a large file may take long. */
	xa_for_each_range(&gmem->pages, index, page, start, end - 1) {
		xa_erase(&gmem->pages, index);
		put_page(page);
		if (!(++n % 512))
			cond_resched();
	}
}

long s2mmu_gmem_punch_hole(struct s2mmu_gmem *gmem, pgoff_t start,
			   pgoff_t end)
{
	mutex_lock(&gmem->lock);
	s2mmu_gmem_invalidate_begin(gmem, start, end);
	s2mmu_gmem_free_range(gmem, start, end);
	s2mmu_gmem_invalidate_end(gmem);
	mutex_unlock(&gmem->lock);
	return 0;
}

/* The page at @index, allocated if absent; under gmem->lock. */
static struct page *s2mmu_gmem_page_locked(struct s2mmu_gmem *gmem,
					   pgoff_t index)
{
	struct page *page = xa_load(&gmem->pages, index);
	int ret;

	if (page)
		return page;
	page = alloc_page(GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT);
	if (!page)
		return ERR_PTR(-ENOMEM);
	ret = xa_err(xa_store(&gmem->pages, index, page, GFP_KERNEL_ACCOUNT));
	if (ret) {
		put_page(page);
		return ERR_PTR(ret);
	}
	return page;
}

long s2mmu_gmem_allocate(struct s2mmu_gmem *gmem, pgoff_t start, pgoff_t end)
{
	long ret = 0;
	pgoff_t i;

	for (i = start; i < end && !ret; i++) {
		if (fatal_signal_pending(current))
			return -EINTR;
		mutex_lock(&gmem->lock);
		ret = PTR_ERR_OR_ZERO(s2mmu_gmem_page_locked(gmem, i));
		mutex_unlock(&gmem->lock);
		cond_resched();
	}
	return ret;
}

/**
 * s2mmu_gmem_bind() - bind @slot to @gmem's pages from @offset.
 * @gmem: a guest_memfd of the slot's VM, vm->slots_lock held.
 * @slot: the new slot, not yet published.
 * @offset: byte offset of the slot's first frame in the file.
 * @size: the file's size.
 *
 * Return: 0, or -EINVAL for an unaligned offset, a slot that does not
 * fit in the file, or a range another slot is bound to (as KVM).
 */
int s2mmu_gmem_bind(struct s2mmu_gmem *gmem, struct s2mmu_memslot *slot,
		    u64 offset, u64 size)
{
	u64 bytes = slot->npages << PAGE_SHIFT;
	struct s2mmu_memslot *other;
	pgoff_t start;
	int ret = -EINVAL;

	lockdep_assert_held(&gmem->vm->slots_lock);
	if (!PAGE_ALIGNED(offset) || offset + bytes < offset ||
	    offset + bytes > size)
		return -EINVAL;
	start = offset >> PAGE_SHIFT;
	mutex_lock(&gmem->lock);
	list_for_each_entry(other, &gmem->bindings, gmem_link)
		if (start < other->gmem_pgoff + other->npages &&
		    other->gmem_pgoff < start + slot->npages)
			goto unlock;
	slot->gmem = gmem;
	slot->gmem_pgoff = start;
	list_add(&slot->gmem_link, &gmem->bindings);
	ret = 0;
unlock:
	mutex_unlock(&gmem->lock);
	return ret;
}

/**
 * s2mmu_gmem_unbind() - undo s2mmu_gmem_bind() for a slot no reader can
 * reach any more (after its withdraw and retire).
 * @slot: the slot; vm->slots_lock held.  A no-op when its guest_memfd
 *        was closed first (the release unbound it).
 */
void s2mmu_gmem_unbind(struct s2mmu_memslot *slot)
{
	struct s2mmu_gmem *gmem = slot->gmem;

	if (!gmem)
		return;
	mutex_lock(&gmem->lock);
	list_del_init(&slot->gmem_link);
	WRITE_ONCE(slot->gmem, NULL);
	mutex_unlock(&gmem->lock);
}

/**
 * s2mmu_gmem_get_page() - the guest_memfd page backing a private frame.
 * @slot: the frame's slot, inside vm->srcu.
 * @gfn: the frame.
 *
 * Allocates the page (zeroed) if absent, as KVM's guest_memfd does.
 *
 * Return: the page, with a reference; ERR_PTR(-EFAULT) when the slot has
 * no guest_memfd (never had one, or it was closed); ERR_PTR(-EHWPOISON)
 * for a page memory failure marked (as kvm_gmem_get_pfn(): the VMM
 * punches it); ERR_PTR(-ENOMEM); ERR_PTR(-EINTR) on a fatal signal.
 */
struct page *s2mmu_gmem_get_page(struct s2mmu_memslot *slot, u64 gfn)
{
	struct s2mmu_gmem *gmem = READ_ONCE(slot->gmem);
	struct page *page = ERR_PTR(-EFAULT);

	if (!gmem)
		return page;
	if (mutex_lock_killable(&gmem->lock))
		return ERR_PTR(-EINTR);
	/* Still bound: the release unbinds under this lock. */
	if (READ_ONCE(slot->gmem) == gmem) {
		page = s2mmu_gmem_page_locked(gmem, slot->gmem_pgoff +
					      (gfn - slot->base_gfn));
		if (!IS_ERR(page) && PageHWPoison(page))
			page = ERR_PTR(-EHWPOISON);
		if (!IS_ERR(page))
			get_page(page);
	}
	mutex_unlock(&gmem->lock);
	return page;
}

/**
 * s2mmu_gmem_alloc() - a guest_memfd's state, bound to @vm.
 * @vm: the VM; the caller holds the reference the state keeps.
 *
 * Return: the state, or NULL when out of memory.
 */
struct s2mmu_gmem *s2mmu_gmem_alloc(struct s2mmu_vm *vm)
{
	struct s2mmu_gmem *gmem = kzalloc(sizeof(*gmem), GFP_KERNEL_ACCOUNT);

	if (!gmem)
		return NULL;
	gmem->vm = vm;
	mutex_init(&gmem->lock);
	xa_init(&gmem->pages);
	INIT_LIST_HEAD(&gmem->bindings);
	return gmem;
}

/**
 * s2mmu_gmem_destroy() - the guest_memfd's last close: unbind every slot
 * (its private frames then exit as memory faults), zap what they map,
 * free the pages and the state.  The caller drops the VM reference.
 * @gmem: the state.
 *
 * Context: process context; takes vm->slots_lock; sleeps.
 */
void s2mmu_gmem_destroy(struct s2mmu_gmem *gmem)
{
	struct s2mmu_vm *vm = gmem->vm;
	struct s2mmu_memslot *slot, *tmp;

	mutex_lock(&vm->slots_lock);
	mutex_lock(&gmem->lock);
	s2mmu_gmem_invalidate_begin(gmem, 0, ULONG_MAX);
	list_for_each_entry_safe(slot, tmp, &gmem->bindings, gmem_link) {
		WRITE_ONCE(slot->gmem, NULL);
		list_del_init(&slot->gmem_link);
	}
	s2mmu_gmem_free_range(gmem, 0, ULONG_MAX);
	s2mmu_gmem_invalidate_end(gmem);
	mutex_unlock(&gmem->lock);
	mutex_unlock(&vm->slots_lock);
	/* Faults dereference slot->gmem inside vm->srcu. */
	synchronize_srcu(&vm->srcu);
	xa_destroy(&gmem->pages);
	kfree(gmem);
}

/**
 * s2mmu_gmem_peek_pfn() - the frame of the guest_memfd page backing a
 * private frame, without allocating or locking.
 * @slot: the frame's slot, inside vm->srcu.
 * @gfn: the frame.
 *
 * Context: RCU or mmu_lock; CHECK_INVARIANTS.
 * Return: the page frame, or 0 when there is none.
 */
u64 s2mmu_gmem_peek_pfn(struct s2mmu_memslot *slot, u64 gfn)
{
	struct s2mmu_gmem *gmem = READ_ONCE(slot->gmem);
	struct page *page;

	if (!gmem)
		return 0;
	page = xa_load(&gmem->pages, slot->gmem_pgoff + (gfn - slot->base_gfn));
	return page ? page_to_pfn(page) : 0;
}
