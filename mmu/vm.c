// SPDX-License-Identifier: GPL-2.0
/*
 * The VM object: building it, its statistics and its teardown.  The VM
 * file descriptor and its ioctls are in mmu/main.c.
 *
 * A VM pins the creating mm with mmgrab() and registers an mmu_notifier
 * on it.  It is destroyed when its last reference (the VM fd, vCPU fds)
 * is dropped: the notifier is unregistered (which waits for running
 * callbacks), then the vCPUs, slots and tables are freed and the mm is
 * dropped.
 *
 * The VMs alive are listed here, so the nx_huge_pages module parameter,
 * whose state arch-x86/vm.c keeps, applies a change to every VM (a zap of
 * everything), and each VM's NX huge page recovery worker is armed here.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "s2mmu.h"

/* VMs alive (built and not yet destroyed), for the sysfs counters. */
atomic_t s2mmu_nr_vms = ATOMIC_INIT(0);

#ifdef S2MMU_PROVE_MMU
/*
 * Test flavour only (make bench's footprint case): what a VM and a vCPU
 * allocate at rest, as the allocator rounds it: the objects' slab sizes,
 * their per-CPU parts and their pages.  Read-only.
 */
static int s2mmu_test_footprint_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf,
			  "vm_slab=%zu vm_percpu=%zu vm_pages=1 vcpu_slab=%zu vcpu_pages=2 tlb=%zu walk_cache=%zu table_cache_max=%d\n",
			  kmalloc_size_roundup(sizeof(struct s2mmu_vm)),
			  sizeof(struct srcu_data) +
			  sizeof(struct s2mmu_age_stat),
			  kmalloc_size_roundup(sizeof(struct s2mmu_vcpu)),
			  sizeof(((struct s2mmu_vcpu *)NULL)->tlb) +
			  sizeof(((struct s2mmu_vcpu *)NULL)->tlb_huge),
			  sizeof(struct s2mmu_pt_walk_cache),
			  S2MMU_TABLE_CACHE_CAPACITY);
}

static const struct kernel_param_ops s2mmu_test_footprint_ops = {
	.get = s2mmu_test_footprint_get,
};
module_param_cb(test_footprint, &s2mmu_test_footprint_ops, NULL, 0400);
MODULE_PARM_DESC(test_footprint,
		 "TEST ONLY: bytes a VM and a vCPU allocate at rest (read-only)");
#endif

/*
 * Every VM built and not yet being destroyed, on vm->vm_link.  The mutex
 * also serialises the changes of the NX huge page parameters; it is
 * taken outside every VM lock (a parameter change zaps each VM under it).
 */
static LIST_HEAD(s2mmu_vm_list);
static DEFINE_MUTEX(s2mmu_vm_list_lock);

static unsigned int s2mmu_nx_recovery_ratio = 60;
static unsigned int s2mmu_nx_recovery_period_ms;

/*
 * Does recovery run for @vm now, and how often (@ratio: the share of the
 * recorded tables each run unlinks)?  A period of 0 derives one from the
 * ratio, as KVM does: an hour's worth of runs recovers everything, never
 * more often than once a second.
 */
static bool s2mmu_nx_recovery_period(struct s2mmu_vm *vm, unsigned int *ms,
				     unsigned int *ratio)
{
	*ratio = READ_ONCE(s2mmu_nx_recovery_ratio);
	if (!*ratio || !s2mmu_vm_nx_huge_pages(vm))
		return false;
	*ms = READ_ONCE(s2mmu_nx_recovery_period_ms);
	if (!*ms)
		*ms = 60 * 60 * 1000 / min(*ratio, 3600U);
	return true;
}

/* (Re)arm @vm's recovery worker one period from now, if it runs. */
static void s2mmu_nx_recovery_arm(struct s2mmu_vm *vm)
{
	unsigned int ms, ratio;

	if (s2mmu_nx_recovery_period(vm, &ms, &ratio))
		mod_delayed_work(system_unbound_wq, &vm->nx_recovery,
				 msecs_to_jiffies(ms));
}

/*
 * The recovery worker: every period, unlink the oldest 1/ratio of the
 * recorded tables (at least one).  It re-arms itself while recovery runs;
 * a parameter change re-arms it otherwise.
 */
static void s2mmu_nx_recovery_work(struct work_struct *work)
{
	struct s2mmu_vm *vm = container_of(to_delayed_work(work),
					   struct s2mmu_vm, nx_recovery);
	unsigned int ms, ratio;
	u64 splits;

	if (!s2mmu_nx_recovery_period(vm, &ms, &ratio))
		return;
	splits = atomic64_read(&vm->stat.nx_lpage_splits);
	if (splits)
		s2mmu_mmu_recover_nx_huge_pages(vm, DIV_ROUND_UP(splits, ratio));
	queue_delayed_work(system_unbound_wq, &vm->nx_recovery,
			   msecs_to_jiffies(ms));
}

/* Re-arm every VM's worker after a parameter changed.  Under the mutex. */
static void s2mmu_nx_recovery_arm_all(void)
{
	struct s2mmu_vm *vm;

	lockdep_assert_held(&s2mmu_vm_list_lock);
	list_for_each_entry(vm, &s2mmu_vm_list, vm_link)
		s2mmu_nx_recovery_arm(vm);
}

/*
 * nx_huge_pages: "off", "force", "auto", "never" or a boolean, read back
 * as Y/N or "never", as KVM's.  "never" only while no VM exists, and for
 * good (-EPERM afterwards).  A change zaps every VM it applies to, so the
 * new policy holds for every leaf: huge leaves mapped executable before
 * it was turned on, or tables recorded before it was turned off.
 */
static int s2mmu_nx_huge_pages_set(const char *val,
				   const struct kernel_param *kp)
{
	bool on, never, was;
	struct s2mmu_vm *vm;
	u64 end;
	int ret;

	ret = s2mmu_x86_nx_huge_pages_parse(val, &on, &never);
	if (ret)
		return ret;
	mutex_lock(&s2mmu_vm_list_lock);
	if (READ_ONCE(s2mmu_x86_nx_huge_pages_never)) {
		ret = -EPERM;
	} else if (never && !list_empty(&s2mmu_vm_list)) {
		ret = -EBUSY;
	} else {
		was = s2mmu_x86_nx_huge_pages_on();
		WRITE_ONCE(s2mmu_x86_nx_huge_pages, on);
		WRITE_ONCE(s2mmu_x86_nx_huge_pages_never, never);
		list_for_each_entry(vm, &s2mmu_vm_list, vm_link) {
			if (on == was || !vm->cfg.ops->nx_huge_pages ||
			    vm->cfg.nx_huge_pages_disabled)
				continue;
			end = s2mmu_vm_config_max_gpa(&vm->cfg) >> PAGE_SHIFT;
			s2mmu_mmu_zap_gfn_range(vm, 0, end);
		}
		s2mmu_nx_recovery_arm_all();
	}
	mutex_unlock(&s2mmu_vm_list_lock);
	return ret;
}

static int s2mmu_nx_huge_pages_get(char *buf, const struct kernel_param *kp)
{
	if (READ_ONCE(s2mmu_x86_nx_huge_pages_never))
		return sysfs_emit(buf, "never\n");
	return sysfs_emit(buf, "%c\n", s2mmu_x86_nx_huge_pages_on() ? 'Y' : 'N');
}

static const struct kernel_param_ops s2mmu_nx_huge_pages_ops = {
	.set = s2mmu_nx_huge_pages_set,
	.get = s2mmu_nx_huge_pages_get,
};
module_param_cb(nx_huge_pages, &s2mmu_nx_huge_pages_ops, NULL, 0644);
MODULE_PARM_DESC(nx_huge_pages,
		 "x86 TDP VMs: map exec faults 4 KiB and huge pages non-executable (off/force/auto/never; auto: on with the iTLB multihit erratum)");

/* The recovery parameters: unsigned ints that re-arm the workers. */
static int s2mmu_nx_recovery_param_set(const char *val,
				       const struct kernel_param *kp)
{
	int ret;

	mutex_lock(&s2mmu_vm_list_lock);
	ret = param_set_uint(val, kp);
	if (!ret)
		s2mmu_nx_recovery_arm_all();
	mutex_unlock(&s2mmu_vm_list_lock);
	return ret;
}

static const struct kernel_param_ops s2mmu_nx_recovery_param_ops = {
	.set = s2mmu_nx_recovery_param_set,
	.get = param_get_uint,
};
module_param_cb(nx_huge_pages_recovery_ratio, &s2mmu_nx_recovery_param_ops,
		&s2mmu_nx_recovery_ratio, 0644);
MODULE_PARM_DESC(nx_huge_pages_recovery_ratio,
		 "Each recovery run unlinks 1/ratio of the possible NX huge pages (0: no recovery)");
module_param_cb(nx_huge_pages_recovery_period_ms,
		&s2mmu_nx_recovery_param_ops, &s2mmu_nx_recovery_period_ms,
		0644);
MODULE_PARM_DESC(nx_huge_pages_recovery_period_ms,
		 "Milliseconds between recovery runs (0: derived from the ratio)");

static void s2mmu_vm_destroy(struct s2mmu_vm *vm)
{
	/* ->release zaps everything if exit_mmap() has not yet. */
	unsigned int i;

	/* No debugfs read reaches the VM once this returns. */
	s2mmu_debugfs_vm_remove(vm);
	/* No parameter change reaches the VM now; its worker stops. */
	mutex_lock(&s2mmu_vm_list_lock);
	list_del(&vm->vm_link);
	mutex_unlock(&s2mmu_vm_list_lock);
	cancel_delayed_work_sync(&vm->nx_recovery);

	s2mmu_notifier_unregister(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		s2mmu_vcpu_free(vm->vcpus[i]);
	s2mmu_memslots_destroy(vm);
	s2mmu_mmu_destroy(vm);
	cleanup_srcu_struct(&vm->srcu);
	mmdrop(vm->mm);
	kfree(vm);
	atomic_dec(&s2mmu_nr_vms);
}

/**
 * s2mmu_vm_put() - drop a reference to a VM, destroying it on the last.
 * @vm: the VM.
 *
 * Context: process context; may sleep (the last put waits for notifier
 * callbacks to finish).
 */
void s2mmu_vm_put(struct s2mmu_vm *vm)
{
	if (refcount_dec_and_test(&vm->users))
		s2mmu_vm_destroy(vm);
}

/**
 * s2mmu_vm_get_info() - S2MMU_GET_VM_INFO.
 * @vm: the VM.
 * @argp: user pointer to a struct s2mmu_vm_info, filled in.
 * @size: the size the caller's ioctl number gives: a binary built against
 *        an older, shorter struct s2mmu_vm_info gets its fields only.
 *
 * Return: 0 or -EFAULT.
 */
long s2mmu_vm_get_info(struct s2mmu_vm *vm, void __user *argp, size_t size)
{
	struct s2mmu_vm_info info = {
		.type		= vm->cfg.type,
		.gpa_bits	= vm->cfg.gpa_bits,
		.levels		= vm->cfg.levels,
		.nr_slots	= READ_ONCE(vm->nr_slots),
		.max_gpa	= s2mmu_vm_config_max_gpa(&vm->cfg),
		.stat_invalidations = atomic64_read(&vm->stat.invalidations),
		.stat_zaps	= atomic64_read(&vm->stat.zaps),
		.stat_remote_tlb_flushes =
			atomic64_read(&vm->stat.remote_tlb_flush_requests),
		.stat_table_pages = s2mmu_pgtable_nr_tables(&vm->pgt),
		.flags		= s2mmu_vm_nx_huge_pages(vm) ?
				  S2MMU_VM_INFO_NX_HUGE_PAGES : 0,
		.stat_nx_lpage_splits =
			atomic64_read(&vm->stat.nx_lpage_splits),
		.stat_nx_lpage_recoveries =
			atomic64_read(&vm->stat.nx_lpage_recoveries),
	};

	if (copy_to_user(argp, &info, min(size, sizeof(info))))
		return -EFAULT;
	return 0;
}

/**
 * s2mmu_vm_alloc() - build a VM for the current mm.
 * @cfg: the parsed S2MMU_CREATE_VM argument.
 *
 * Context: process context with an mm; takes the mm's mmap_lock.
 * Return: the VM with one reference, or an ERR_PTR: -ENOMEM, or the error
 * from registering the notifier.
 */
struct s2mmu_vm *s2mmu_vm_alloc(const struct s2mmu_vm_config *cfg)
{
	struct s2mmu_vm *vm;
	int ret;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	vm->cfg = *cfg;
	vm->stats_pid = task_pid_nr(current);
	refcount_set(&vm->users, 1);
	mutex_init(&vm->lock);
	rwlock_init(&vm->mmu_lock);
	INIT_DELAYED_WORK(&vm->nx_recovery, s2mmu_nx_recovery_work);
	s2mmu_memslots_init(vm);
	s2mmu_dirty_log_init(vm);
	ret = init_srcu_struct(&vm->srcu);
	if (ret)
		goto err_free;
	ret = s2mmu_mmu_init(vm);
	if (ret)
		goto err_srcu;
	s2mmu_dirty_log_hook(vm);
	mmgrab(current->mm);
	vm->mm = current->mm;

	ret = s2mmu_notifier_register(vm);
	if (ret)
		goto err_mm;
	atomic_inc(&s2mmu_nr_vms);

	mutex_lock(&s2mmu_vm_list_lock);
	list_add_tail(&vm->vm_link, &s2mmu_vm_list);
	s2mmu_nx_recovery_arm(vm);
	mutex_unlock(&s2mmu_vm_list_lock);
	return vm;

err_mm:
	mmdrop(vm->mm);
	s2mmu_mmu_destroy(vm);
err_srcu:
	cleanup_srcu_struct(&vm->srcu);
err_free:
	s2mmu_memslots_destroy(vm);
	kfree(vm);
	return ERR_PTR(ret);
}
