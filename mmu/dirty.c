// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging: S2MMU_MEM_LOG_DIRTY_PAGES, S2MMU_GET_DIRTY_LOG and
 * S2MMU_CLEAR_DIRTY_LOG, with KVM's semantics, in one of two modes chosen
 * per VM (S2MMU_CAP_DIRTY_LOG_MODE):
 *
 * - write-protection (the default): a logged slot's leaves are read-only;
 *   a write fault marks its page in the slot's bitmap, under mmu_lock for
 *   read, and maps it writable at 4 KiB.  A harvest takes the marks and
 *   write-protects their pages again, under mmu_lock for write.
 * - Dirty-bit harvesting (like EPT A/D with PML): after a first write
 *   fault maps a page writable with Dirty clear, the vCPU walker sets
 *   Dirty as hardware does; a harvest syncs the Dirty bits into the
 *   bitmap and clears those it takes, then flushes the vCPU TLBs (a TLB
 *   entry allows writes only while its leaf is dirty).
 *
 * Either way, while a slot logs it is mapped by 4 KiB leaves only: its
 * huge leaves are split when logging starts (or at the first write when
 * eager splitting is off), and it may map huge again once logging stops.
 * Why no write is lost to a harvest: Documentation/locking.rst ("Dirty
 * logging").  Writes by the host to the slot's memory are not logged, as
 * in KVM.
 */
#include <linux/bitmap.h>
#include <linux/compat.h>
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "s2mmu.h"

#ifdef S2MMU_PROVE_MMU
/*
 * Test flavour only: the next write fault that marks a page dirty waits
 * this long (one shot) between marking it and installing its writable
 * leaf, under mmu_lock for read, so a selftest can run a harvest inside
 * the window (dirty_log_test race_harvest).
 */
static unsigned int test_dirty_mark_delay_ms;
module_param(test_dirty_mark_delay_ms, uint, 0600);
MODULE_PARM_DESC(test_dirty_mark_delay_ms,
		 "TEST ONLY: one write fault waits (ms) between its dirty mark and its install");

static void s2mmu_dirty_test_delay(void)
{
	unsigned int delay = xchg(&test_dirty_mark_delay_ms, 0);

	if (unlikely(delay))
		mdelay(delay);
}
#else
static inline void s2mmu_dirty_test_delay(void)
{
}
#endif

#define S2MMU_DIRTY_LOG_MANUAL_CAPS	(S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE | \
					 S2MMU_DIRTY_LOG_INITIALLY_SET)
#define S2MMU_DIRTY_LOG_MODES		(S2MMU_DIRTY_LOG_MODE_WRPROT | \
					 S2MMU_DIRTY_LOG_MODE_DBIT)

/**
 * s2mmu_dirty_log_init() - a new VM's dirty logging defaults.
 * @vm: the VM being built.
 *
 * Write-protection mode, eager splitting on, no manual protect.
 */
void s2mmu_dirty_log_init(struct s2mmu_vm *vm)
{
	vm->dirty_log_mode = S2MMU_DIRTY_LOG_MODE_WRPROT;
	vm->dirty_log_eager_split = true;
}

/*
 * The engine's change hook, in front of the NX record's (mmu/nx.c): in
 * Dirty-bit mode a leaf's Dirty bit is the only record of the writes
 * since the last harvest, so a dirty leaf of a logged slot that goes away
 * (a zap by the host or a slot update, a replacement) marks its pages in
 * the bitmap first.  Changes that keep the leaf's page (Dirty cleared by
 * a harvest, rights removed, Accessed/Dirty set) never look the slot up:
 * only removals do, and they run under mmu_lock (or at the tree's
 * destroy, with no slot left), which a slot's bitmap outlives
 * (s2mmu_dirty_log_stop(), and a deleted slot has no leaf left once its
 * withdrawal's zap took mmu_lock).
 */
static void s2mmu_dirty_pgt_change(struct s2mmu_pgtable *pgt, u64 gpa,
				   unsigned int level, u64 old, u64 new)
{
	struct s2mmu_vm *vm = container_of(pgt, struct s2mmu_vm, pgt);
	const struct s2mmu_pgtable_ops *ops = pgt->ops;
	struct s2mmu_memslot *slot;
	unsigned long *bitmap;
	u64 gfn, first, end;

	if (vm->pgt_change_next)
		vm->pgt_change_next(pgt, gpa, level, old, new);
	if (READ_ONCE(vm->dirty_log_mode) != S2MMU_DIRTY_LOG_MODE_DBIT ||
	    !READ_ONCE(vm->nr_dirty_slots) ||
	    level > S2MMU_PT_MAX_LEAF_LEVEL || !ops->is_leaf(old, level) ||
	    !(ops->leaf_prot(old, level) & S2MMU_PROT_DIRTY))
		return;
	if (ops->is_leaf(new, level) &&
	    ops->leaf_pa(new, level) == ops->leaf_pa(old, level))
		return;
	gfn = gpa >> PAGE_SHIFT;
	slot = mtree_load(&vm->gfn_tree, gfn);
	bitmap = slot ? READ_ONCE(slot->dirty_bitmap) : NULL;
	if (!bitmap)
		return;
	end = min(gfn + (s2mmu_pt_level_size(level) >> PAGE_SHIFT),
		  slot->base_gfn + slot->npages);
	first = max(gfn, slot->base_gfn);
	for (gfn = first; gfn < end; gfn++)
		set_bit(gfn - slot->base_gfn, bitmap);
	if (end > first)
		atomic64_add(end - first, &vm->stat.dirty_log_dbit_pages);
}

/**
 * s2mmu_dirty_log_hook() - install dirty logging's change hook.
 * @vm: the VM, its table initialised (s2mmu_mmu_init()), not yet used.
 */
void s2mmu_dirty_log_hook(struct s2mmu_vm *vm)
{
	vm->pgt_change_next = vm->pgt.change;
	vm->pgt.change = s2mmu_dirty_pgt_change;
}

/**
 * s2mmu_dirty_bitmap_alloc() - a dirty bitmap for a slot starting to log.
 * @vm: the VM.
 * @npages: the slot's pages.
 *
 * With %S2MMU_DIRTY_LOG_INITIALLY_SET every page starts dirty, as KVM.
 *
 * Context: under vm->slots_lock; sleeps.
 * Return: the bitmap, or NULL when out of memory.
 */
unsigned long *s2mmu_dirty_bitmap_alloc(struct s2mmu_vm *vm, u64 npages)
{
	unsigned long *bitmap;

	lockdep_assert_held(&vm->slots_lock);
	bitmap = kvcalloc(BITS_TO_LONGS(npages), sizeof(long),
			  GFP_KERNEL_ACCOUNT);
	if (bitmap && (vm->dirty_log_manual & S2MMU_DIRTY_LOG_INITIALLY_SET))
		bitmap_set(bitmap, 0, npages);
	return bitmap;
}

/**
 * s2mmu_dirty_bitmap_free() - free a dirty bitmap no fault can reach.
 * @bitmap: the bitmap, or NULL.
 */
void s2mmu_dirty_bitmap_free(unsigned long *bitmap)
{
	kvfree(bitmap);
}

/* The slot's guest physical range, in bytes. */
static void s2mmu_dirty_slot_range(const struct s2mmu_memslot *slot, u64 *gs,
				   u64 *ge)
{
	*gs = slot->base_gfn << PAGE_SHIFT;
	*ge = (slot->base_gfn + slot->npages) << PAGE_SHIFT;
}

/*
 * Split the slot's huge leaves down to 4 KiB, under mmu_lock for write,
 * refilling the table cache outside the lock as often as it runs dry.
 * The range goes in chunks of as many 2 MiB regions as one full cache
 * can split, each walked until it is done, so a pass never walks again
 * what an earlier one split (the cost stays linear in the slot's size)
 * and the lock is dropped between chunks, letting faults and
 * invalidations in.  A split keeps every translation as it was (no flush
 * is owed when the lock drops).  Out of memory, the leaves left huge are
 * write-protected by the caller and split at their first write instead.
 * Returns with mmu_lock held.
 */
static void s2mmu_dirty_split(struct s2mmu_vm *vm, u64 gs, u64 ge)
	__acquires(&vm->mmu_lock)
{
	const u64 chunk = S2MMU_TABLE_CACHE_CAPACITY * s2mmu_pt_level_size(1);
	struct s2mmu_table_cache *cache;
	struct s2mmu_pt_op op = {
		.mmu_lock	= &vm->mmu_lock,
	};
	u64 cs, ce;
	int ret;

	cache = kmalloc(sizeof(*cache), GFP_KERNEL_ACCOUNT);
	if (!cache) {
		write_lock(&vm->mmu_lock);
		return;
	}
	s2mmu_table_cache_init(cache);
	op.cache = cache;
	for (cs = gs; ; cs = ce) {
		ce = min(ge, cs + chunk);
		for (;;) {
			ret = s2mmu_table_cache_topup(cache,
						      S2MMU_TABLE_CACHE_CAPACITY);
			write_lock(&vm->mmu_lock);
			if (ret)
				goto out;
			ret = s2mmu_pgtable_split(&vm->pgt, cs, ce, 0, &op);
			if (ret != -ENOMEM && ret != -EAGAIN)
				break;
			write_unlock(&vm->mmu_lock);
			cond_resched();
		}
		if (ce >= ge)
			break;
		write_unlock(&vm->mmu_lock);
		cond_resched();
	}
out:
	s2mmu_table_cache_free(cache);
	kfree(cache);
}

/* Remove @clear from every leaf of [gs, ge).  mmu_lock held for write. */
static void s2mmu_dirty_protect_range(struct s2mmu_vm *vm, u64 gs, u64 ge,
				      u32 clear, struct s2mmu_pt_op *op)
	__must_hold(&vm->mmu_lock)
{
	/* Only a lockless walker's short-lived freeze can make it retry. */
	while (s2mmu_pgtable_update_prot(&vm->pgt, gs, ge, 0, clear, op) ==
	       -EAGAIN)
		cpu_relax();
}

/* Drop mmu_lock (write), flushing what the caller's changes owe. */
static void s2mmu_dirty_unlock_flush(struct s2mmu_vm *vm,
				     struct s2mmu_pt_op *op)
	__releases(&vm->mmu_lock)
{
	bool flush = s2mmu_mmu_flush_claim(vm, op->flush);

	write_unlock(&vm->mmu_lock);
	if (flush)
		s2mmu_mmu_flush_finish(vm);
}

/**
 * s2mmu_dirty_log_start() - a slot starts logging dirty pages.
 * @vm: the VM.
 * @slot: the slot, published; @slot->dirty_bitmap is NULL.
 * @bitmap: its new bitmap (s2mmu_dirty_bitmap_alloc()).
 *
 * Publishes the bitmap (faults from now on map the slot's pages at 4 KiB
 * and, in write-protection mode, writable only for a write, which marks
 * the page), waits for the faults that may not have seen it, then splits
 * the slot's huge leaves (with eager splitting) and removes write and
 * Dirty from every leaf, and flushes the vCPU TLBs: from then on a write
 * either faults or, in Dirty-bit mode, sets Dirty again.
 *
 * Context: under vm->slots_lock; sleeps.
 */
void s2mmu_dirty_log_start(struct s2mmu_vm *vm, struct s2mmu_memslot *slot,
			   unsigned long *bitmap)
{
	struct s2mmu_pt_op op = { .mmu_lock = &vm->mmu_lock };
	u64 gs, ge;

	lockdep_assert_held(&vm->slots_lock);
	/* The bitmap's initial bits before the pointer. */
	smp_store_release(&slot->dirty_bitmap, bitmap);
	WRITE_ONCE(slot->flags, slot->flags | S2MMU_MEM_LOG_DIRTY_PAGES);
	vm->nr_dirty_slots++;
	/* No fault that found no bitmap is left to install after us. */
	synchronize_srcu(&vm->srcu);

	/*
	 * Protect first, so the split copies clean read-only leaves (a split
	 * of a dirty huge leaf would mark all its pages in Dirty-bit mode).
	 */
	s2mmu_dirty_slot_range(slot, &gs, &ge);
	write_lock(&vm->mmu_lock);
	s2mmu_dirty_protect_range(vm, gs, ge, S2MMU_PROT_W | S2MMU_PROT_DIRTY,
				  &op);
	if (vm->dirty_log_eager_split) {
		/* Flush before the split may drop the lock. */
		s2mmu_dirty_unlock_flush(vm, &op);
		op.flush = false;
		s2mmu_dirty_split(vm, gs, ge);
	}
	s2mmu_dirty_unlock_flush(vm, &op);
}

/**
 * s2mmu_dirty_log_stop() - a slot stops logging dirty pages.
 * @vm: the VM.
 * @slot: the slot, published and logging.
 *
 * Withdraws the bitmap, zaps the slot's range so later faults may map it
 * huge again, and frees the bitmap once no fault (vm->srcu) nor change
 * hook (mmu_lock, which the zap takes) can be marking it.
 *
 * Context: under vm->slots_lock; sleeps.
 */
void s2mmu_dirty_log_stop(struct s2mmu_vm *vm, struct s2mmu_memslot *slot)
{
	unsigned long *bitmap = slot->dirty_bitmap;

	lockdep_assert_held(&vm->slots_lock);
	WRITE_ONCE(slot->dirty_bitmap, NULL);
	WRITE_ONCE(slot->flags, slot->flags & ~S2MMU_MEM_LOG_DIRTY_PAGES);
	vm->nr_dirty_slots--;
	synchronize_srcu(&vm->srcu);
	s2mmu_mmu_zap_gfn_range(vm, slot->base_gfn,
				slot->base_gfn + slot->npages);
	s2mmu_dirty_bitmap_free(bitmap);
}

/**
 * s2mmu_dirty_mark() - a write fault marks its page dirty.
 * @vm: the VM.
 * @f: the fault, in a slot logging in write-protection mode, about to
 *     install a writable leaf.
 *
 * Under mmu_lock for read, after the invalidation retry check and before
 * the install: a harvest (mmu_lock for write) thus sees either neither
 * the mark nor the writable leaf, or both, and protects the leaf again
 * when it takes the mark.
 *
 * Context: mmu_lock held for read; never sleeps.
 */
void s2mmu_dirty_mark(struct s2mmu_vm *vm, struct s2mmu_fault *f)
	__must_hold(&vm->mmu_lock)
{
	lockdep_assert_held_read(&vm->mmu_lock);
	set_bit(f->gfn - f->slot->base_gfn, f->dirty_bitmap);
	atomic64_inc(&vm->stat.dirty_log_wp_faults);
	s2mmu_dirty_test_delay();
}

/*
 * Clean the pages of @mask (bit i: page @first + i of @slot): protect
 * them again, so their next write is seen.  mmu_lock held for write.
 */
static void s2mmu_dirty_reprotect(struct s2mmu_vm *vm,
				  struct s2mmu_memslot *slot, u64 first,
				  unsigned long mask, struct s2mmu_pt_op *op)
	__must_hold(&vm->mmu_lock)
{
	u32 clear = vm->dirty_log_mode == S2MMU_DIRTY_LOG_MODE_DBIT ?
		    S2MMU_PROT_DIRTY : S2MMU_PROT_W;
	unsigned int start, end;
	unsigned long rest;
	u64 gpa;

	atomic64_add(hweight_long(mask), &vm->stat.dirty_log_reprotected);
	while (mask) {
		/* One run of consecutive bits at a time. */
		start = __ffs(mask);
		rest = ~mask & (~0UL << start);
		end = rest ? __ffs(rest) : BITS_PER_LONG;
		gpa = (slot->base_gfn + first + start) << PAGE_SHIFT;
		s2mmu_dirty_protect_range(vm, gpa,
					  gpa + ((u64)(end - start) << PAGE_SHIFT),
					  clear, op);
		if (end == BITS_PER_LONG)
			break;
		mask &= ~0UL << end;
	}
}

/*
 * Dirty-bit mode: fold the Dirty bits of the slot's pages [@first,
 * @first + @npages) into its bitmap; @first is a multiple of
 * BITS_PER_LONG.  A CLEAR syncs only the range it cleans, so a VMM that
 * clears a large slot in chunks does not walk the whole slot per chunk.
 */
static void s2mmu_dirty_sync(struct s2mmu_vm *vm, struct s2mmu_memslot *slot,
			     u64 first, u64 npages)
	__must_hold(&vm->mmu_lock)
{
	unsigned long found;
	u64 gs, ge;

	if (vm->dirty_log_mode != S2MMU_DIRTY_LOG_MODE_DBIT || !npages)
		return;
	gs = (slot->base_gfn + first) << PAGE_SHIFT;
	ge = gs + (npages << PAGE_SHIFT);
	found = s2mmu_pgtable_collect_dirty(&vm->pgt, gs, ge,
					    slot->dirty_bitmap +
					    first / BITS_PER_LONG);
	atomic64_add(found, &vm->stat.dirty_log_dbit_pages);
}

/*
 * The caller's bitmaps are arrays of its unsigned longs: 64-bit words
 * from a 64-bit caller, rounded up to 64 bits as in KVM; 32-bit words
 * from a 32-bit (compat) caller, and then rounded up to 32 bits only, so
 * a buffer it sized in its own longs is never overrun by a GET nor
 * overread by a CLEAR (KVM rounds to the kernel's longs for both).  Bit
 * i is in word i / 32 either way: on a little-endian kernel that is the
 * same bytes, on a big-endian one the halves of each long swap.
 */
static unsigned long s2mmu_dirty_user_bytes(u64 nbits)
{
	if (in_compat_syscall())
		return DIV_ROUND_UP(nbits, 32) * sizeof(u32);
	return BITS_TO_LONGS(nbits) * sizeof(long);
}

/* From the kernel's longs to the caller's words, or back. */
static void s2mmu_dirty_user_order(unsigned long *buf, u64 nbits)
{
#ifdef __BIG_ENDIAN
	unsigned long i;

	if (!in_compat_syscall())
		return;
	for (i = 0; i < BITS_TO_LONGS(nbits); i++)
		buf[i] = ror64(buf[i], 32);
#endif
}

/* Copy the @nbits bits of @buf (longs, changed) to the caller's @ubuf. */
static int s2mmu_dirty_bitmap_to_user(void __user *ubuf, unsigned long *buf,
				      u64 nbits)
{
	s2mmu_dirty_user_order(buf, nbits);
	if (copy_to_user(ubuf, buf, s2mmu_dirty_user_bytes(nbits)))
		return -EFAULT;
	return 0;
}

/* Copy @nbits bits from the caller's @ubuf to @buf (longs). */
static int s2mmu_dirty_bitmap_from_user(unsigned long *buf,
					const void __user *ubuf, u64 nbits)
{
	if (!nbits)
		return 0;
	/* A 32-bit caller's bitmap may end half way into the last long. */
	buf[BITS_TO_LONGS(nbits) - 1] = 0;
	if (copy_from_user(buf, ubuf, s2mmu_dirty_user_bytes(nbits)))
		return -EFAULT;
	s2mmu_dirty_user_order(buf, nbits);
	return 0;
}

/*
 * The slot a GET or CLEAR names: KVM's slot id encoding (address space in
 * bits 16-31; s2mmu has one).  -EINVAL for an id out of range, -ENOENT
 * for no slot or one that does not log.  Under vm->slots_lock.
 */
static int s2mmu_dirty_log_slot(struct s2mmu_vm *vm, u32 id,
				struct s2mmu_memslot **slotp)
{
	struct s2mmu_memslot *slot;

	if ((id >> 16) || (u16)id >= S2MMU_MAX_MEMSLOTS)
		return -EINVAL;
	slot = xa_load(&vm->slot_ids, id);
	if (!slot || !slot->dirty_bitmap)
		return -ENOENT;
	*slotp = slot;
	return 0;
}

/**
 * s2mmu_dirty_log_get() - S2MMU_GET_DIRTY_LOG.
 * @vm: the VM.
 * @log: the request, copied from userspace.
 *
 * Copies the slot's dirty bitmap to @log->dirty_bitmap (one bit per page,
 * rounded up to 64 bits, to 32 for a 32-bit caller: see
 * s2mmu_dirty_user_bytes()).  Without manual protect, as KVM's
 * kvm_get_dirty_log_protect(): the bits are taken, their pages protected
 * again, and the vCPU TLBs flushed before the copy, so a write the
 * harvest did not report faults (or sets Dirty) again and is in the next
 * one.  With %S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE the bitmap is only
 * copied; S2MMU_CLEAR_DIRTY_LOG cleans.  In Dirty-bit mode the Dirty bits
 * are folded into the bitmap first.
 *
 * Context: takes vm->slots_lock, then mmu_lock for write; sleeps.
 * Return: 0; -EINVAL for a slot id out of range or non-zero padding;
 * -ENOENT for a slot that does not exist or does not log; -ENOMEM;
 * -EFAULT.
 */
int s2mmu_dirty_log_get(struct s2mmu_vm *vm, struct s2mmu_dirty_log *log)
{
	struct s2mmu_pt_op op = { .mmu_lock = &vm->mmu_lock };
	struct s2mmu_memslot *slot;
	unsigned long *buf = NULL;
	unsigned long i, n = 0;
	u64 nbits = 0;
	int ret;

	if (log->padding1)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	ret = s2mmu_dirty_log_slot(vm, log->slot, &slot);
	if (ret)
		goto out;
	nbits = slot->npages;
	n = BITS_TO_LONGS(nbits);
	ret = -ENOMEM;
	buf = kvcalloc(n, sizeof(long), GFP_KERNEL_ACCOUNT);
	if (!buf)
		goto out;

	write_lock(&vm->mmu_lock);
	s2mmu_dirty_sync(vm, slot, 0, slot->npages);
	for (i = 0; i < n; i++) {
		unsigned long *word = &slot->dirty_bitmap[i];

		if (vm->dirty_log_manual & S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE) {
			buf[i] = READ_ONCE(*word);
			continue;
		}
		if (!READ_ONCE(*word))
			continue;
		/* Atomic, as the faults' set_bit(). */
		buf[i] = xchg(word, 0);
		s2mmu_dirty_reprotect(vm, slot, i * BITS_PER_LONG, buf[i], &op);
	}
	s2mmu_dirty_unlock_flush(vm, &op);
	atomic64_inc(&vm->stat.dirty_log_harvests);
	ret = 0;
out:
	mutex_unlock(&vm->slots_lock);
	if (!ret)
		ret = s2mmu_dirty_bitmap_to_user(log->dirty_bitmap, buf, nbits);
	kvfree(buf);
	return ret;
}

/**
 * s2mmu_dirty_log_clear() - S2MMU_CLEAR_DIRTY_LOG.
 * @vm: the VM.
 * @log: the request, copied from userspace.
 *
 * As KVM's kvm_clear_dirty_log_protect(): for each bit set in the user
 * bitmap (bit i: page @log->first_page + i; @log->num_pages bits rounded
 * up to 64, to 32 for a 32-bit caller: see s2mmu_dirty_user_bytes()), if
 * the page is marked dirty, the mark is cleared and the page protected
 * again; the vCPU TLBs are flushed before the call returns.  Only with
 * manual protect enabled.
 *
 * Context: takes vm->slots_lock, then mmu_lock for write; sleeps.
 * Return: 0; -EINVAL without manual protect, for a slot id out of range,
 * a @first_page not a multiple of 64, a range past the slot's end, or a
 * @num_pages not a multiple of 64 for a range that does not end at the
 * slot's end; -ENOENT for a slot that does not exist or does not log;
 * -ENOMEM; -EFAULT.
 */
int s2mmu_dirty_log_clear(struct s2mmu_vm *vm,
			  struct s2mmu_clear_dirty_log *log)
{
	struct s2mmu_pt_op op = { .mmu_lock = &vm->mmu_lock };
	struct s2mmu_memslot *slot;
	unsigned long *buf = NULL;
	unsigned long i, n, first;
	int ret;

	if (log->first_page & 63)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	ret = -EINVAL;
	if (!(vm->dirty_log_manual & S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
		goto out;
	ret = s2mmu_dirty_log_slot(vm, log->slot, &slot);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (log->first_page > slot->npages ||
	    log->num_pages > slot->npages - log->first_page ||
	    (log->num_pages < slot->npages - log->first_page &&
	     (log->num_pages & 63)))
		goto out;
	ret = 0;
	n = BITS_TO_LONGS(log->num_pages);
	if (!n)
		goto out;
	ret = -ENOMEM;
	buf = kvmalloc_array(n, sizeof(long), GFP_KERNEL_ACCOUNT);
	if (!buf)
		goto out;
	ret = s2mmu_dirty_bitmap_from_user(buf, log->dirty_bitmap,
					   log->num_pages);
	if (ret)
		goto out;

	first = log->first_page / BITS_PER_LONG;
	write_lock(&vm->mmu_lock);
	s2mmu_dirty_sync(vm, slot, log->first_page, log->num_pages);
	for (i = 0; i < n; i++) {
		atomic_long_t *word =
			(atomic_long_t *)&slot->dirty_bitmap[first + i];
		unsigned long mask = buf[i];

		if (!mask)
			continue;
		/* Only the pages really marked: bits past the slot never are. */
		mask &= atomic_long_fetch_andnot(mask, word);
		if (mask)
			s2mmu_dirty_reprotect(vm, slot,
					      (first + i) * BITS_PER_LONG, mask,
					      &op);
	}
	s2mmu_dirty_unlock_flush(vm, &op);
	atomic64_inc(&vm->stat.dirty_log_harvests);
	ret = 0;
out:
	mutex_unlock(&vm->slots_lock);
	kvfree(buf);
	return ret;
}

/**
 * s2mmu_dirty_log_check_extension() - the dirty logging capabilities.
 * @vm: the VM, or NULL for /dev/s2mmu.
 * @cap: the capability.
 *
 * Return: for %S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2 the options supported,
 * for %S2MMU_CAP_DIRTY_LOG_MODE the modes, 1 for
 * %S2MMU_CAP_DIRTY_LOG_EAGER_SPLIT; 0 for any other capability.
 */
int s2mmu_dirty_log_check_extension(struct s2mmu_vm *vm, unsigned long cap)
{
	switch (cap) {
	case S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		return S2MMU_DIRTY_LOG_MANUAL_CAPS;
	case S2MMU_CAP_DIRTY_LOG_MODE:
		return S2MMU_DIRTY_LOG_MODES;
	case S2MMU_CAP_DIRTY_LOG_EAGER_SPLIT:
		return 1;
	default:
		return 0;
	}
}

/**
 * s2mmu_dirty_log_enable_cap() - S2MMU_ENABLE_CAP for the dirty logging
 * capabilities.
 * @vm: the VM.
 * @cap: the request; flags and pad already checked zero.
 *
 * %S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2 as KVM: args[0] is a set of
 * options, %S2MMU_DIRTY_LOG_INITIALLY_SET only with
 * %S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE, 0 turns manual protect off.
 * %S2MMU_CAP_DIRTY_LOG_MODE: args[0] one mode, while no slot logs.
 * %S2MMU_CAP_DIRTY_LOG_EAGER_SPLIT: args[0] 0 or 1, for slots that start
 * logging afterwards.
 *
 * Return: 0; -EINVAL for a bad argument or a capability that is not one
 * of these; -EBUSY for a mode change while a slot logs.
 */
int s2mmu_dirty_log_enable_cap(struct s2mmu_vm *vm,
			       const struct s2mmu_enable_cap *cap)
{
	u64 arg = cap->args[0];
	int ret = -EINVAL;

	if (cap->args[1] || cap->args[2] || cap->args[3])
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	switch (cap->cap) {
	case S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		if ((arg & ~S2MMU_DIRTY_LOG_MANUAL_CAPS) ||
		    (arg && !(arg & S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE)))
			break;
		vm->dirty_log_manual = arg;
		ret = 0;
		break;
	case S2MMU_CAP_DIRTY_LOG_MODE:
		if (arg != S2MMU_DIRTY_LOG_MODE_WRPROT &&
		    arg != S2MMU_DIRTY_LOG_MODE_DBIT)
			break;
		ret = -EBUSY;
		if (vm->nr_dirty_slots && arg != vm->dirty_log_mode)
			break;
		vm->dirty_log_mode = arg;
		ret = 0;
		break;
	case S2MMU_CAP_DIRTY_LOG_EAGER_SPLIT:
		if (arg > 1)
			break;
		vm->dirty_log_eager_split = arg;
		ret = 0;
		break;
	}
	mutex_unlock(&vm->slots_lock);
	return ret;
}
