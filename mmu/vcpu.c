// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: the software "CPU" whose guest accesses go through the stage-2
 * tables, with a software TLB, and S2MMU_RUN.
 *
 * Guest mode.  A vCPU executes guest accesses in short bursts with
 * preemption disabled and inside rcu_read_lock(), after publishing
 * vcpu->mode = S2MMU_IN_GUEST_MODE.  Within a burst it translates through
 * its TLB, or on a miss walks the tables locklessly (setting Accessed and
 * Dirty with cmpxchg as hardware does), and touches guest memory through
 * the kernel's direct map.  It polls vcpu->requests before every page it
 * touches.  A stage-2 fault ends the burst; the fault is resolved outside
 * guest mode, where sleeping is allowed.
 *
 * TLB shootdown.  s2mmu_flush_remote_tlbs() sets S2MMU_REQ_TLB_FLUSH on
 * every vCPU and waits until each one is either outside guest mode or has
 * flushed and cleared the request.  A vCPU entering guest mode publishes
 * its mode with a full barrier and then checks its requests, so either the
 * flusher sees it in guest mode and waits, or the vCPU sees the request
 * and flushes before its first translation.  Guest memory is therefore
 * never touched through a translation that an invalidation removed once
 * that invalidation's flush has returned.
 *
 * vCPUs live until their VM is destroyed (a vCPU fd holds a VM
 * reference), so the flusher may walk vm->vcpus without locks.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>

#include "s2mmu.h"

/* Guest frames, host frames and stage-2 leaves share the 4 KiB unit. */
static_assert(PAGE_SHIFT == S2MMU_PT_PAGE_SHIFT);

/* TOUCH accesses a vCPU makes per guest-mode burst before it yields. */
#define S2MMU_BURST_TOUCHES	512

/* The S2MMU_ACCESS_* a (checked) guest access needs. */
static unsigned int s2mmu_op_access(const struct s2mmu_access *a)
{
	switch (a->op) {
	case S2MMU_OP_WRITE:
		return S2MMU_ACCESS_W;
	case S2MMU_OP_EXEC:
		return S2MMU_ACCESS_X;
	case S2MMU_OP_TOUCH:
		if (a->flags & S2MMU_ACCESS_F_WRITE)
			return S2MMU_ACCESS_W;
		return S2MMU_ACCESS_R;
	default:
		return S2MMU_ACCESS_R;
	}
}

static void s2mmu_tlb_flush_local(struct s2mmu_vcpu *vcpu)
{
	memset(vcpu->tlb, 0, sizeof(vcpu->tlb));
	memset(vcpu->tlb_huge, 0, sizeof(vcpu->tlb_huge));
	vcpu->stat.tlb_flushes++;
}

/*
 * In guest mode: act on requests; the flush is acknowledged by the clear.
 *
 * The barrier after the clear orders the load that saw the request (and
 * the clear) before every later load of the vCPU, the table walks that
 * refill the TLB in particular: without it a weakly ordered CPU may
 * satisfy the next walk before the request load, read an entry the
 * flusher had already zapped, and cache it after acknowledging.  Pairs
 * with the flusher's zap-then-set_bit (the zap's xchg is fully ordered)
 * and its acquire load of the bit, as kvm_check_request()'s
 * smp_mb__after_atomic() does in KVM.  See Documentation/locking.rst.
 */
static void s2mmu_vcpu_check_requests(struct s2mmu_vcpu *vcpu)
{
	if (test_bit(S2MMU_REQ_TLB_FLUSH, &vcpu->requests)) {
		s2mmu_tlb_flush_local(vcpu);
		clear_bit_unlock(S2MMU_REQ_TLB_FLUSH, &vcpu->requests);
		/* Later walks after the request load: see above. */
		smp_mb__after_atomic();
	}
}

static void s2mmu_vcpu_enter_guest(struct s2mmu_vcpu *vcpu)
	__acquires(RCU)
{
	preempt_disable();
	rcu_read_lock();
	/* Pairs with the barrier in s2mmu_flush_remote_tlbs(). */
	smp_store_mb(vcpu->mode, S2MMU_IN_GUEST_MODE);
	s2mmu_vcpu_check_requests(vcpu);
}

static void s2mmu_vcpu_exit_guest(struct s2mmu_vcpu *vcpu)
	__releases(RCU)
{
	/* Guest memory accesses complete before a flusher sees us leave. */
	smp_store_release(&vcpu->mode, S2MMU_OUTSIDE_GUEST_MODE);
	rcu_read_unlock();
	preempt_enable();
}

/**
 * s2mmu_flush_remote_tlbs() - flush every vCPU's software TLB.
 * @vm: the VM.
 *
 * Returns once no vCPU can use a translation it cached before the call.
 * Never sleeps: a vCPU in guest mode acknowledges within one burst.
 */
void s2mmu_flush_remote_tlbs(struct s2mmu_vm *vm)
{
	unsigned int i, n;

	/* vcpus[0..n) are initialised; pairs with s2mmu_vcpu_create(). */
	n = smp_load_acquire(&vm->nr_vcpus);
	for (i = 0; i < n; i++)
		set_bit(S2MMU_REQ_TLB_FLUSH, &vm->vcpus[i]->requests);
	/* Pairs with smp_store_mb() in s2mmu_vcpu_enter_guest(). */
	smp_mb__after_atomic();
	for (i = 0; i < n; i++) {
		struct s2mmu_vcpu *vcpu = vm->vcpus[i];

		/* Acquire: the vCPU's accesses happen before we go on. */
		while (smp_load_acquire(&vcpu->mode) == S2MMU_IN_GUEST_MODE &&
		       test_bit_acquire(S2MMU_REQ_TLB_FLUSH, &vcpu->requests))
			cpu_relax();
	}
	atomic64_inc(&vm->stat.remote_tlb_flushes);
}

/*
 * The TLB entry that may hold the translation of @gfn by a leaf of
 * 2^@order pages: 4 KiB entries by gfn, huge ones by leaf number.
 */
static struct s2mmu_tlb_entry *s2mmu_tlb_slot(struct s2mmu_vcpu *vcpu,
					      u64 gfn, unsigned int order)
{
	if (!order)
		return &vcpu->tlb[gfn % S2MMU_TLB_ENTRIES];
	return &vcpu->tlb_huge[(gfn >> order) % S2MMU_TLB_HUGE_ENTRIES];
}

/* Does @e translate @gfn, for @access? */
static bool s2mmu_tlb_hit(const struct s2mmu_tlb_entry *e, u64 gfn,
			  unsigned int order, unsigned int access)
{
	return e->valid && e->order == order &&
	       e->gfn == round_down(gfn, 1ULL << order) &&
	       (e->access & access) == access;
}

/*
 * In guest mode: the host page frame backing @gpa for @access, from the
 * TLB or a lockless table walk.  A huge leaf is cached as one entry, as a
 * hardware TLB does, so a sweep over it walks once.  Return: 0, or
 * -EFAULT when the stage-2 tables do not allow the access (a stage-2
 * fault).
 */
static int s2mmu_vcpu_translate(struct s2mmu_vcpu *vcpu, u64 gpa,
				unsigned int access, u64 *pfn)
{
	u64 gfn = gpa >> PAGE_SHIFT;
	struct s2mmu_walk_result res;
	struct s2mmu_tlb_entry *e;
	unsigned int level, order;

	for (level = 0; level <= S2MMU_PT_MAX_LEAF_LEVEL; level++) {
		order = s2mmu_pt_level_shift(level) - PAGE_SHIFT;
		e = s2mmu_tlb_slot(vcpu, gfn, order);
		if (s2mmu_tlb_hit(e, gfn, order, access)) {
			*pfn = e->pfn + (gfn - e->gfn);
			return 0;
		}
	}
	vcpu->stat.tlb_misses++;
	if (s2mmu_mmu_walk(vcpu->vm, gpa, access, &res))
		return -EFAULT;
	order = s2mmu_pt_level_shift(min_t(unsigned int, res.level,
					   S2MMU_PT_MAX_LEAF_LEVEL)) - PAGE_SHIFT;
	e = s2mmu_tlb_slot(vcpu, gfn, order);
	e->gfn = round_down(gfn, 1ULL << order);
	e->pfn = res.pfn - (gfn - e->gfn);
	e->order = order;
	/* A write walk set Dirty; a read walk only allows reads and fetches. */
	e->access = res.access;
	e->valid = true;
	*pfn = res.pfn;
	return 0;
}

/*
 * Describe the guest exit for the access of @len bytes at @gpa (within
 * one page) that @err stopped: -ENOENT (no slot: MMIO), -EROFS,
 * -EHWPOISON or -EFAULT (memory fault).
 */
static void s2mmu_vcpu_set_exit(struct s2mmu_run *run, u64 gpa, u64 len,
				unsigned int access, int err)
{
	if (err == -ENOENT) {
		run->exit_reason = S2MMU_EXIT_MMIO;
		run->mmio.gpa = gpa;
		run->mmio.len = len;
		run->mmio.is_write = !!(access & S2MMU_ACCESS_W);
		run->mmio.pad = 0;
		return;
	}
	run->exit_reason = S2MMU_EXIT_MEMORY_FAULT;
	run->memory_fault.gpa = gpa & PAGE_MASK;
	run->memory_fault.size = PAGE_SIZE;
	run->memory_fault.flags = 0;
	if (access & S2MMU_ACCESS_W)
		run->memory_fault.flags |= S2MMU_MEMORY_FAULT_WRITE;
	if (access & S2MMU_ACCESS_X)
		run->memory_fault.flags |= S2MMU_MEMORY_FAULT_EXEC;
	if (err == -EROFS)
		run->memory_fault.flags |= S2MMU_MEMORY_FAULT_READONLY;
	else if (err == -EHWPOISON)
		run->memory_fault.flags |= S2MMU_MEMORY_FAULT_HWPOISON;
	else
		run->memory_fault.flags |= S2MMU_MEMORY_FAULT_NOT_MAPPED;
}

/*
 * In guest mode: read @len bytes of guest memory at @src, mapping host
 * page @pfn, into @dst.  Return: 0, or -EHWPOISON.
 *
 * An uncorrectable memory error in a page the host has not yet found
 * bad would be a machine check with no recovery point in a plain copy:
 * the machine-check-safe copy turns it into a short copy, and the page
 * is queued for memory_failure(), which unmaps it from the host and so
 * from stage 2 (as copy_mc_user_highpage() does).  It never sleeps.
 *
 * That copy is "rep movsb" on most x86 CPUs, which does not read an
 * aligned 8-byte word as one access (under QEMU TCG it reads byte by
 * byte, and a guest read saw a word torn by a concurrent host store),
 * while a guest's loads of words are atomic.  So a read of more than one
 * byte probes the range with it and then copies with memcpy(), which
 * reads the lines the probe just brought into the cache.  Without an
 * arch machine-check-safe copy (arm64) it is memcpy() alone.
 */
static int s2mmu_vcpu_read_guest(void *dst, const void *src, size_t len,
				 u64 pfn)
{
	if (IS_ENABLED(CONFIG_ARCH_HAS_COPY_MC) &&
	    unlikely(copy_mc_to_kernel(dst, src, len))) {
		memory_failure_queue(pfn, 0);
		return -EHWPOISON;
	}
	if (len > 1 || !IS_ENABLED(CONFIG_ARCH_HAS_COPY_MC))
		memcpy(dst, src, len);
	return 0;
}

/*
 * In guest mode: copy one page's worth of a READ/EXEC/WRITE access.
 * Return: the bytes copied, -EFAULT for a stage-2 fault, or -EHWPOISON
 * when reading the guest's page hit poison.
 */
static long s2mmu_vcpu_copy_step(struct s2mmu_vcpu *vcpu,
				 const struct s2mmu_access *a, u64 pos)
{
	u64 gpa = a->gpa + pos;
	u64 chunk = min_t(u64, PAGE_SIZE - offset_in_page(gpa), a->len - pos);
	unsigned int access = s2mmu_op_access(a);
	long ret = chunk;
	u64 pfn;
	u8 *va;

	if (s2mmu_vcpu_translate(vcpu, gpa, access, &pfn))
		return -EFAULT;
	va = kmap_local_pfn(pfn);
	if (a->op == S2MMU_OP_WRITE)
		memcpy(va + offset_in_page(gpa), vcpu->bounce, chunk);
	else if (s2mmu_vcpu_read_guest(vcpu->bounce, va + offset_in_page(gpa),
				       chunk, pfn))
		ret = -EHWPOISON;
	kunmap_local(va);
	return ret;
}

/*
 * In guest mode: TOUCH one byte (read, or read and store it back).  The
 * load is a one-byte machine-check-safe copy.  Return: 0, -EFAULT for a
 * stage-2 fault, or -EHWPOISON when the load hit poison.
 */
static int s2mmu_vcpu_touch_step(struct s2mmu_vcpu *vcpu,
				 const struct s2mmu_access *a, u64 pos)
{
	u64 gpa = a->gpa + pos;
	unsigned int access = s2mmu_op_access(a);
	u64 pfn;
	u8 *va, v;
	int ret;

	if (s2mmu_vcpu_translate(vcpu, gpa, access, &pfn))
		return -EFAULT;
	va = kmap_local_pfn(pfn);
	ret = s2mmu_vcpu_read_guest(&v, va + offset_in_page(gpa), 1, pfn);
	if (!ret && (access & S2MMU_ACCESS_W))
		WRITE_ONCE(va[offset_in_page(gpa)], v);
	kunmap_local(va);
	return ret;
}

/*
 * Outside guest mode: handle what stopped the access at @gpa in guest
 * mode, @err: -EFAULT, a stage-2 fault, is resolved here; -EHWPOISON,
 * poison hit by a read, ends the access.  Return: 0 to retry the access;
 * -EAGAIN to retry it after leaving vm->srcu (a slot move); for a guest
 * exit, its error with the exit filled in: -ENOENT (MMIO),
 * -EFAULT, -EROFS, -EHWPOISON (memory fault), -EINTR (S2MMU_EXIT_INTR);
 * any other error (-ENOMEM, -EOVERFLOW) is the host's, not the guest's:
 * it fails S2MMU_RUN with no exit.
 */
static int s2mmu_vcpu_handle_fault(struct s2mmu_vcpu *vcpu,
				   struct s2mmu_run *run, u64 gpa, u64 len,
				   unsigned int access, int err)
{
	int ret = err;

	if (err == -EFAULT)
		ret = s2mmu_fault(vcpu, gpa, access);

	switch (ret) {
	case 0:
		return 0;
	case -EAGAIN:
		/* The slot is being moved: retry outside vm->srcu. */
		return ret;
	case -EINTR:
		run->exit_reason = S2MMU_EXIT_INTR;
		return ret;
	case -ENOENT:
	case -EFAULT:
	case -EROFS:
	case -EHWPOISON:
		s2mmu_vcpu_set_exit(run, gpa, len, access, ret);
		return ret;
	default:
		return ret;
	}
}

static int s2mmu_vcpu_run_copy(struct s2mmu_vcpu *vcpu,
			       const struct s2mmu_access *a,
			       struct s2mmu_run *run)
{
	void __user *ubuf = u64_to_user_ptr(a->uaddr);
	unsigned int access = s2mmu_op_access(a);
	struct s2mmu_vm *vm = vcpu->vm;
	int ret, idx;
	u64 pos = 0;
	long done;

	while (pos < a->len) {
		u64 gpa = a->gpa + pos;
		u64 chunk = min_t(u64, PAGE_SIZE - offset_in_page(gpa),
				  a->len - pos);

		if (signal_pending(current)) {
			run->exit_reason = S2MMU_EXIT_INTR;
			return -EINTR;
		}
		/* Guest mode cannot take host page faults: bounce the data. */
		if (a->op == S2MMU_OP_WRITE &&
		    copy_from_user(vcpu->bounce, ubuf + pos, chunk))
			return -EFAULT;
		/* Slots stay put for one page; updates wait at most that. */
		idx = srcu_read_lock(&vm->srcu);
		for (;;) {
			s2mmu_vcpu_enter_guest(vcpu);
			done = s2mmu_vcpu_copy_step(vcpu, a, pos);
			s2mmu_vcpu_exit_guest(vcpu);
			if (done >= 0)
				break;
			ret = s2mmu_vcpu_handle_fault(vcpu, run, gpa, chunk,
						      access, done);
			if (ret == -EAGAIN) {
				/* A slot move waits for this section. */
				srcu_read_unlock(&vm->srcu, idx);
				if (signal_pending(current)) {
					run->exit_reason = S2MMU_EXIT_INTR;
					return -EINTR;
				}
				cond_resched();
				idx = srcu_read_lock(&vm->srcu);
				continue;
			}
			if (ret) {
				srcu_read_unlock(&vm->srcu, idx);
				return ret;
			}
		}
		srcu_read_unlock(&vm->srcu, idx);
		if (a->op != S2MMU_OP_WRITE &&
		    copy_to_user(ubuf + pos, vcpu->bounce, chunk))
			return -EFAULT;
		pos += chunk;
		cond_resched();
	}
	return 0;
}

static int s2mmu_vcpu_run_touch(struct s2mmu_vcpu *vcpu,
				const struct s2mmu_access *a,
				struct s2mmu_run *run)
{
	unsigned int access = s2mmu_op_access(a);
	u64 stride = a->stride ?: PAGE_SIZE;
	u64 repeat = a->repeat ?: 1;
	struct s2mmu_vm *vm = vcpu->vm;
	u64 pos = 0, pass = 0;
	int ret, idx;

	if (!a->len)
		return 0;
	while (pass < repeat) {
		unsigned int n;
		int fault = 0;

		if (signal_pending(current)) {
			run->exit_reason = S2MMU_EXIT_INTR;
			return -EINTR;
		}
		idx = srcu_read_lock(&vm->srcu);
		s2mmu_vcpu_enter_guest(vcpu);
		for (n = 0; n < S2MMU_BURST_TOUCHES && pass < repeat; n++) {
			s2mmu_vcpu_check_requests(vcpu);
			fault = s2mmu_vcpu_touch_step(vcpu, a, pos);
			if (fault)
				break;
			pos += stride;
			if (pos >= a->len) {
				pos = 0;
				pass++;
			}
		}
		s2mmu_vcpu_exit_guest(vcpu);
		ret = 0;
		if (fault)
			ret = s2mmu_vcpu_handle_fault(vcpu, run, a->gpa + pos, 1,
						      access, fault);
		srcu_read_unlock(&vm->srcu, idx);
		/* -EAGAIN: a slot move, which waited for that section. */
		if (ret && ret != -EAGAIN)
			return ret;
		cond_resched();
	}
	return 0;
}

/**
 * s2mmu_access_check() - validate one guest access of an S2MMU_RUN list.
 * @a: the access, copied from userspace.
 *
 * Return: 0, or -EINVAL for an unknown op or flag, a TOUCH-only field on a
 * copying access, or a range that wraps.
 */
int s2mmu_access_check(const struct s2mmu_access *a)
{
	if (a->op > S2MMU_OP_TOUCH)
		return -EINVAL;
	if (a->flags & ~S2MMU_ACCESS_F_WRITE)
		return -EINVAL;
	if (a->gpa + a->len < a->gpa)
		return -EINVAL;
	if (a->op == S2MMU_OP_TOUCH)
		return a->uaddr ? -EINVAL : 0;
	if (a->flags || a->stride || a->repeat)
		return -EINVAL;
	if (a->uaddr + a->len < a->uaddr)
		return -EINVAL;
	return 0;
}

/* Execute run->accesses[] from the first; fills run's exit. */
static int s2mmu_vcpu_run(struct s2mmu_vcpu *vcpu, struct s2mmu_run *run)
{
	/* The run page is shared with userspace: read the inputs once. */
	struct s2mmu_access __user *list =
		u64_to_user_ptr(READ_ONCE(run->accesses));
	u32 nr = READ_ONCE(run->nr_accesses);
	struct s2mmu_access a;
	int ret = 0;
	u32 i;

	if (READ_ONCE(run->flags) || nr > S2MMU_MAX_ACCESSES)
		return -EINVAL;

	run->exit_reason = S2MMU_EXIT_DONE;
	run->pad = 0;
	memset(run->padding, 0, sizeof(run->padding));
	for (i = 0; i < nr; i++) {
		run->done = i;
		if (copy_from_user(&a, &list[i], sizeof(a))) {
			ret = -EFAULT;
			break;
		}
		ret = s2mmu_access_check(&a);
		if (ret)
			break;
		if (a.op != S2MMU_OP_TOUCH &&
		    !access_ok(u64_to_user_ptr(a.uaddr), a.len)) {
			ret = -EFAULT;
			break;
		}
		if (a.op == S2MMU_OP_TOUCH)
			ret = s2mmu_vcpu_run_touch(vcpu, &a, run);
		else
			ret = s2mmu_vcpu_run_copy(vcpu, &a, run);
		if (ret)
			break;
	}
	if (!ret)
		run->done = nr;

	run->stat_faults = vcpu->stat.faults;
	run->stat_fault_retries = vcpu->stat.fault_retries;
	run->stat_tlb_flushes = vcpu->stat.tlb_flushes;
	run->stat_tlb_misses = vcpu->stat.tlb_misses;
	/* A guest exit is a successful return of S2MMU_RUN. */
	if (run->exit_reason != S2MMU_EXIT_DONE)
		return run->exit_reason == S2MMU_EXIT_INTR ? -EINTR : 0;
	return ret;
}

static long s2mmu_vcpu_ioctl_run(struct s2mmu_vcpu *vcpu, unsigned long arg)
{
	struct s2mmu_run *run;
	long ret;

	if (!arg)
		return s2mmu_vcpu_run(vcpu, vcpu->run);

	run = kmalloc(sizeof(*run), GFP_KERNEL);
	if (!run)
		return -ENOMEM;
	ret = -EFAULT;
	if (copy_from_user(run, (void __user *)arg, sizeof(*run)))
		goto out;
	ret = s2mmu_vcpu_run(vcpu, run);
	if (ret != -EFAULT && ret != -EINVAL &&
	    copy_to_user((void __user *)arg, run, sizeof(*run)))
		ret = -EFAULT;
out:
	kfree(run);
	return ret;
}

static long s2mmu_vcpu_ioctl_translate(struct s2mmu_vcpu *vcpu,
				       void __user *argp)
{
	struct s2mmu_translation t;
	int ret;

	if (copy_from_user(&t, argp, sizeof(t)))
		return -EFAULT;
	if (memchr_inv(t.pad, 0, sizeof(t.pad)))
		return -EINVAL;
	ret = s2mmu_mmu_translate(vcpu->vm, &t);
	if (ret)
		return ret;
	if (!capable(CAP_SYS_ADMIN))
		t.hpa = 0;
	return copy_to_user(argp, &t, sizeof(t)) ? -EFAULT : 0;
}

static long s2mmu_vcpu_ioctl_pre_fault(struct s2mmu_vcpu *vcpu,
				       void __user *argp)
{
	struct s2mmu_pre_fault_memory r;
	long ret;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (r.flags || memchr_inv(r.padding, 0, sizeof(r.padding)))
		return -EINVAL;
	if (!PAGE_ALIGNED(r.gpa) || !PAGE_ALIGNED(r.size) ||
	    r.gpa + r.size < r.gpa)
		return -EINVAL;
	ret = s2mmu_pre_fault(vcpu, &r.gpa, &r.size);
	if (copy_to_user(argp, &r, sizeof(r)))
		return -EFAULT;
	return ret;
}

/**
 * s2mmu_vcpu_ioctl() - vCPU ioctls: S2MMU_RUN, S2MMU_PRE_FAULT_MEMORY,
 * S2MMU_TRANSLATE.
 * @file: the vCPU file.
 * @cmd: the ioctl.
 * @arg: its argument.
 *
 * Only the VM's mm may use a vCPU (-EIO otherwise).  S2MMU_RUN and
 * S2MMU_PRE_FAULT_MEMORY run one at a time per vCPU (a second caller waits,
 * as in KVM); S2MMU_TRANSLATE only reads the VM's tables and never waits.
 *
 * Return: 0 (for S2MMU_RUN: the exit is in the run structure), -EINTR
 * when a signal stopped S2MMU_RUN (exit reason S2MMU_EXIT_INTR) or a
 * fatal signal interrupted the wait for the vCPU, -EINVAL, -EFAULT,
 * -ENOTTY or another negative errno.
 */
static long s2mmu_vcpu_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct s2mmu_vcpu *vcpu = file->private_data;
	long ret;

	if (vcpu->vm->mm != current->mm)
		return -EIO;

	switch (cmd) {
	case S2MMU_TRANSLATE:
		return s2mmu_vcpu_ioctl_translate(vcpu, (void __user *)arg);
	case S2MMU_RUN:
	case S2MMU_PRE_FAULT_MEMORY:
		break;
	default:
		return -ENOTTY;
	}

	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	if (cmd == S2MMU_RUN)
		ret = s2mmu_vcpu_ioctl_run(vcpu, arg);
	else
		ret = s2mmu_vcpu_ioctl_pre_fault(vcpu, (void __user *)arg);
	mutex_unlock(&vcpu->mutex);
	return ret;
}

/**
 * s2mmu_vcpu_mmap() - mmap() of a vCPU fd: its run page.
 * @file: the vCPU file.
 * @vma: the new mapping.
 *
 * One page at offset 0, shared.  A private mapping is refused: the run
 * page is shared with the kernel by definition, and remap_pfn_range() of
 * a copy-on-write mapping (VM_MAYWRITE without VM_SHARED) records the
 * pfn in vm_pgoff, which /proc/PID/maps prints as the mapping's offset:
 * the page's host physical address, which only CAP_SYS_ADMIN may see.
 *
 * Return: 0, or -EINVAL for another offset or size or a private mapping.
 */
static int s2mmu_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct s2mmu_vcpu *vcpu = file->private_data;

	if (vma->vm_pgoff || vma_pages(vma) != 1)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/*
	 * A PFN mapping of the kernel's run page (VM_IO | VM_PFNMAP, never
	 * grown by mremap nor dumped): neither GUP nor GUP-fast takes it, so
	 * a memory slot over it cannot map it into a guest.  The page lives
	 * until the VM is destroyed, which this mapping's file reference
	 * delays past munmap.  Shared, so vm_pgoff stays 0.
	 */
	return remap_pfn_range(vma, vma->vm_start,
			       page_to_pfn(virt_to_page(vcpu->run)), PAGE_SIZE,
			       vma->vm_page_prot);
}

static int s2mmu_vcpu_release(struct inode *inode, struct file *file)
{
	struct s2mmu_vcpu *vcpu = file->private_data;

	s2mmu_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations s2mmu_vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= s2mmu_vcpu_release,
	.unlocked_ioctl	= s2mmu_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= s2mmu_vcpu_mmap,
	.llseek		= noop_llseek,
};

/**
 * s2mmu_vcpu_create() - handle S2MMU_CREATE_VCPU.
 * @vm: the VM.
 * @id: vCPU id, below %S2MMU_MAX_VCPUS and unused in this VM.
 *
 * The vCPU lives until the VM is destroyed; its fd holds a VM reference.
 *
 * Return: the vCPU fd, -EINVAL for a bad id, -EEXIST for a used one,
 * -ENOMEM, or an fd allocation error.
 */
int s2mmu_vcpu_create(struct s2mmu_vm *vm, unsigned long id)
{
	struct s2mmu_vcpu *vcpu;
	struct file *file;
	int fd, ret;

	if (id >= S2MMU_MAX_VCPUS)
		return -EINVAL;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->bounce = (void *)__get_free_page(GFP_KERNEL_ACCOUNT);
	ret = -ENOMEM;
	if (!vcpu->run || !vcpu->bounce)
		goto err_free;
	vcpu->vm = vm;
	vcpu->id = id;
	mutex_init(&vcpu->mutex);
	s2mmu_table_cache_init(&vcpu->cache);

	mutex_lock(&vm->lock);
	ret = -EEXIST;
	if (vm->vcpu_ids & BIT_ULL(id))
		goto err_unlock;
	ret = get_unused_fd_flags(O_CLOEXEC);
	if (ret < 0)
		goto err_unlock;
	fd = ret;
	refcount_inc(&vm->users);
	file = anon_inode_getfile("s2mmu-vcpu", &s2mmu_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		put_unused_fd(fd);
		refcount_dec(&vm->users);
		goto err_unlock;
	}
	vm->vcpu_ids |= BIT_ULL(id);
	vm->vcpus[vm->nr_vcpus] = vcpu;
	/* Flushers read vcpus[] up to nr_vcpus without the lock. */
	smp_store_release(&vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	fd_install(fd, file);
	return fd;

err_unlock:
	mutex_unlock(&vm->lock);
err_free:
	free_page((unsigned long)vcpu->bounce);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
	return ret;
}

/**
 * s2mmu_vcpus_destroy() - free every vCPU of a VM being destroyed.
 * @vm: the VM; no vCPU fd is open any more.
 */
void s2mmu_vcpus_destroy(struct s2mmu_vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct s2mmu_vcpu *vcpu = vm->vcpus[i];

		s2mmu_table_cache_free(&vcpu->cache);
		free_page((unsigned long)vcpu->bounce);
		free_page((unsigned long)vcpu->run);
		kfree(vcpu);
	}
	vm->nr_vcpus = 0;
}
