// SPDX-License-Identifier: GPL-2.0
/*
 * The guest-mode executor: S2MMU_RUN's guest accesses, run in short
 * bursts of guest mode (mmu/tlb.c), translated through the software TLB
 * or a lockless table walk (mmu/mmu.c), with stage-2 faults resolved
 * outside guest mode (mmu/fault.c).  Also the vCPU object itself.
 *
 * Within a burst a vCPU runs with preemption disabled inside
 * rcu_read_lock(), polls its requests before every page it touches, and
 * touches guest memory through the kernel's direct map.  A stage-2 fault
 * ends the burst.  The rules are in Documentation/locking.rst.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/sysfs.h>
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
	case S2MMU_OP_STORE_TAGS:	/* a tag store is a write for stage 2 */
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

#ifdef S2MMU_PROVE_MMU
/*
 * Test flavour only: guest instruction fetches served by a stage-2 leaf
 * above 4 KiB (through the TLB or a walk) on a VM the NX huge page
 * mitigation applies to at that moment.  The rule is that this never
 * happens; nx_test's storm reads it after racing exec faults against
 * recovery and host THP splits and collapses, and writes 0 to reset it.
 * One count for the module: the selftests run one at a time.
 */
static atomic_long_t test_nx_huge_exec = ATOMIC_LONG_INIT(0);

static int s2mmu_test_nx_huge_exec_set(const char *val,
				       const struct kernel_param *kp)
{
	long v;
	int ret = kstrtol(val, 0, &v);

	if (ret)
		return ret;
	if (v)
		return -EINVAL;
	atomic_long_set(&test_nx_huge_exec, 0);
	return 0;
}

static int s2mmu_test_nx_huge_exec_get(char *buf,
				       const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&test_nx_huge_exec));
}

static const struct kernel_param_ops s2mmu_test_nx_huge_exec_ops = {
	.set = s2mmu_test_nx_huge_exec_set,
	.get = s2mmu_test_nx_huge_exec_get,
};
module_param_cb(test_nx_huge_exec, &s2mmu_test_nx_huge_exec_ops, NULL, 0600);
MODULE_PARM_DESC(test_nx_huge_exec,
		 "TEST ONLY: exec accesses served by a huge leaf under the NX huge page mitigation (write 0 to reset)");

/*
 * The order of the TLB entry s2mmu_tlb_lookup() just hit for @gfn and
 * @access: it tries the orders smallest first, and so does this.
 */
static unsigned int s2mmu_vcpu_tlb_hit_order(struct s2mmu_vcpu *vcpu,
					     u64 gfn, unsigned int access)
{
	unsigned int level, order = 0;

	for (level = 0; level <= S2MMU_PT_MAX_LEAF_LEVEL; level++) {
		order = s2mmu_pt_level_shift(level) - PAGE_SHIFT;
		if (s2mmu_tlb_hit(s2mmu_tlb_slot(vcpu, gfn, order), gfn,
				  order, access))
			break;
	}
	return order;
}

/* Count an instruction fetch through a huge leaf under the mitigation. */
static void s2mmu_vcpu_prove_nx(struct s2mmu_vcpu *vcpu, bool huge)
{
	if (huge && s2mmu_vm_nx_huge_pages(vcpu->vm))
		atomic_long_inc(&test_nx_huge_exec);
}

/* After a TLB hit for @access at @gfn. */
static void s2mmu_vcpu_prove_nx_tlb(struct s2mmu_vcpu *vcpu, u64 gfn,
				    unsigned int access)
{
	if (access & S2MMU_ACCESS_X)
		s2mmu_vcpu_prove_nx(vcpu, s2mmu_vcpu_tlb_hit_order(vcpu, gfn,
								   access));
}

/* After a walk for @access found a leaf of @level. */
static void s2mmu_vcpu_prove_nx_walk(struct s2mmu_vcpu *vcpu,
				     unsigned int access, unsigned int level)
{
	if (access & S2MMU_ACCESS_X)
		s2mmu_vcpu_prove_nx(vcpu, level > 0);
}
#else
static inline void s2mmu_vcpu_prove_nx_tlb(struct s2mmu_vcpu *vcpu, u64 gfn,
					   unsigned int access)
{
}

static inline void s2mmu_vcpu_prove_nx_walk(struct s2mmu_vcpu *vcpu,
					    unsigned int access,
					    unsigned int level)
{
}
#endif

/**
 * s2mmu_vcpu_translate() - a guest-mode translation: the TLB, else a
 * lockless table walk that fills it.
 * @vcpu: the vCPU, in guest mode, called by its own task.
 * @gpa: the guest physical address.
 * @access: S2MMU_ACCESS_* the access needs.
 * @pfn: on success, the host page frame backing @gpa.
 *
 * Return: 0, or -EFAULT when the stage-2 tables do not allow the access
 * (a stage-2 fault).
 */
int s2mmu_vcpu_translate(struct s2mmu_vcpu *vcpu, u64 gpa,
			 unsigned int access, u64 *pfn)
{
	u64 gfn = gpa >> PAGE_SHIFT;
	struct s2mmu_walk_result res;

	if (s2mmu_tlb_lookup(vcpu, gfn, access, pfn)) {
		s2mmu_vcpu_prove_nx_tlb(vcpu, gfn, access);
		return 0;
	}
	if (s2mmu_mmu_walk(vcpu->vm, gpa, access, &res, &vcpu->walk_cache))
		return -EFAULT;
	vcpu->stat.walk_cache_hits += res.cached;
	s2mmu_vcpu_prove_nx_walk(vcpu, access, res.level);
	s2mmu_tlb_fill(vcpu, gfn, &res);
	*pfn = res.pfn;
	return 0;
}

/*
 * Describe the guest exit for the access of @len bytes at @gpa (within
 * one page) that @err stopped: -ENOENT (no slot: MMIO), -EROFS,
 * -EHWPOISON or -EFAULT (memory fault).
 */
static void s2mmu_vcpu_set_exit(struct s2mmu_run *run, u64 gpa, u64 len,
				unsigned int access, int err, bool private)
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
	else if (private)
		run->memory_fault.flags |= S2MMU_MEMORY_FAULT_PRIVATE;
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

/* Is @a an MTE tag access (one user byte per 16-byte granule)? */
static bool s2mmu_op_tags(const struct s2mmu_access *a)
{
	return a->op == S2MMU_OP_LOAD_TAGS || a->op == S2MMU_OP_STORE_TAGS;
}

/* Bytes of the user buffer that guest bytes [0, @pos) of @a go with. */
static u64 s2mmu_access_ubytes(const struct s2mmu_access *a, u64 pos)
{
	return s2mmu_op_tags(a) ? pos / S2MMU_MTE_GRANULE_SIZE : pos;
}

/*
 * In guest mode: copy one page's worth of a READ/EXEC/WRITE access, or
 * load or store the tags of its granules (LOAD_TAGS/STORE_TAGS: the
 * bounce buffer holds one tag per granule).
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
	if (a->op == S2MMU_OP_LOAD_TAGS)
		s2mmu_arm64_mte_load_tags(va + offset_in_page(gpa),
					  vcpu->bounce,
					  chunk / S2MMU_MTE_GRANULE_SIZE);
	else if (a->op == S2MMU_OP_STORE_TAGS)
		s2mmu_arm64_mte_store_tags(va + offset_in_page(gpa),
					   vcpu->bounce,
					   chunk / S2MMU_MTE_GRANULE_SIZE);
	else if (a->op == S2MMU_OP_WRITE)
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
	bool private = false;
	int ret = err;

	if (err == -EFAULT)
		ret = s2mmu_fault(vcpu, gpa, access, &private);

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
		s2mmu_vcpu_set_exit(run, gpa, len, access, ret, private);
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

	bool store = a->op == S2MMU_OP_WRITE || a->op == S2MMU_OP_STORE_TAGS;

	while (pos < a->len) {
		u64 gpa = a->gpa + pos;
		u64 chunk = min_t(u64, PAGE_SIZE - offset_in_page(gpa),
				  a->len - pos);
		u64 uoff = s2mmu_access_ubytes(a, pos);
		u64 ulen = s2mmu_access_ubytes(a, chunk);

		if (signal_pending(current)) {
			run->exit_reason = S2MMU_EXIT_INTR;
			return -EINTR;
		}
		/* Guest mode cannot take host page faults: bounce the data. */
		if (store && copy_from_user(vcpu->bounce, ubuf + uoff, ulen))
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
		if (!store && copy_to_user(ubuf + uoff, vcpu->bounce, ulen))
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
 * copying access, a tag access not aligned to the 16-byte granule, or a
 * range that wraps.  (Whether the VM takes tag accesses is the caller's
 * check.)
 */
int s2mmu_access_check(const struct s2mmu_access *a)
{
	if (a->op > S2MMU_OP_MAP_GPA_RANGE)
		return -EINVAL;
	if (a->op == S2MMU_OP_MAP_GPA_RANGE)
		return (a->flags & ~S2MMU_ACCESS_F_PRIVATE) || !a->len ||
		       !PAGE_ALIGNED(a->gpa | a->len) ||
		       a->gpa + a->len < a->gpa ||
		       a->uaddr || a->stride || a->repeat ? -EINVAL : 0;
	if (a->flags & ~S2MMU_ACCESS_F_WRITE)
		return -EINVAL;
	if (a->gpa + a->len < a->gpa)
		return -EINVAL;
	if (a->op == S2MMU_OP_TOUCH)
		return a->uaddr ? -EINVAL : 0;
	if (a->flags || a->stride || a->repeat)
		return -EINVAL;
	if (s2mmu_op_tags(a) &&
	    !IS_ALIGNED(a->gpa | a->len, S2MMU_MTE_GRANULE_SIZE))
		return -EINVAL;
	if (a->uaddr + s2mmu_access_ubytes(a, a->len) < a->uaddr)
		return -EINVAL;
	return 0;
}

/**
 * s2mmu_vcpu_run() - S2MMU_RUN: execute run->accesses[] from the first.
 * @vcpu: the vCPU, its mutex held.
 * @run: the run structure (the mmap()ed page or a kernel copy).
 *
 * Fills the exit in @run: S2MMU_EXIT_DONE when every access completed,
 * else the guest exit that stopped it (MMIO, memory fault, signal).
 *
 * Context: process context of the VM's mm; sleeps.
 * Return: 0 (a guest exit included), -EINTR for S2MMU_EXIT_INTR, -EINVAL
 * for a bad run structure or access (a tag access on a VM without MTE
 * among them), -EFAULT for a bad user pointer, or a
 * host error (-ENOMEM, -EOVERFLOW) with no exit.
 */
int s2mmu_vcpu_run(struct s2mmu_vcpu *vcpu, struct s2mmu_run *run)
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
		/* Only an MTE guest has tag instructions. */
		if (s2mmu_op_tags(&a) && !vcpu->vm->cfg.mte) {
			ret = -EINVAL;
			break;
		}
		/* The guest asks the VMM to convert: always an exit. */
		if (a.op == S2MMU_OP_MAP_GPA_RANGE) {
			run->exit_reason = S2MMU_EXIT_HYPERCALL;
			run->hypercall.nr = S2MMU_HC_MAP_GPA_RANGE;
			run->hypercall.args[0] = a.gpa;
			run->hypercall.args[1] = a.len >> PAGE_SHIFT;
			run->hypercall.args[2] =
				(a.flags & S2MMU_ACCESS_F_PRIVATE ?
				 S2MMU_MAP_GPA_RANGE_ENCRYPTED :
				 S2MMU_MAP_GPA_RANGE_DECRYPTED) |
				S2MMU_MAP_GPA_RANGE_PAGE_SZ_4K;
			run->hypercall.ret = 0;
			break;
		}
		if (a.op != S2MMU_OP_TOUCH &&
		    !access_ok(u64_to_user_ptr(a.uaddr),
			       s2mmu_access_ubytes(&a, a.len))) {
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
	if (!ret && run->exit_reason == S2MMU_EXIT_DONE)
		run->done = nr;

	run->stat_faults = vcpu->stat.pf_fixed + vcpu->stat.pf_spurious;
	run->stat_fault_retries = vcpu->stat.fault_retries;
	run->stat_tlb_flushes = vcpu->stat.tlb_flushes;
	run->stat_tlb_misses = vcpu->stat.tlb_misses;
	/* A guest exit is a successful return of S2MMU_RUN. */
	if (run->exit_reason != S2MMU_EXIT_DONE)
		return run->exit_reason == S2MMU_EXIT_INTR ? -EINTR : 0;
	return ret;
}

/**
 * s2mmu_vcpu_alloc() - a new vCPU object, not yet part of its VM.
 * @vm: its VM.
 * @id: its id.
 *
 * Return: the vCPU, or NULL when out of memory.
 */
struct s2mmu_vcpu *s2mmu_vcpu_alloc(struct s2mmu_vm *vm, unsigned int id)
{
	struct s2mmu_vcpu *vcpu;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return NULL;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->bounce = (void *)__get_free_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->bounce) {
		s2mmu_vcpu_free(vcpu);
		return NULL;
	}
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->stats_pid = task_pid_nr(current);
	/* Its TLB is empty: nothing aged yet can hide in it. */
	vcpu->age_gen = atomic_long_read(&vm->age_gen);
	mutex_init(&vcpu->mutex);
	s2mmu_table_cache_init(&vcpu->cache);
	return vcpu;
}

/**
 * s2mmu_vcpu_free() - free a vCPU object.
 * @vcpu: the vCPU: never published in its VM, or its VM is being
 *        destroyed (no vCPU fd open, no flusher left).
 */
void s2mmu_vcpu_free(struct s2mmu_vcpu *vcpu)
{
	s2mmu_table_cache_free(&vcpu->cache);
	free_page((unsigned long)vcpu->bounce);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
}
