// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs: /sys/kernel/debug/s2mmu/<pid>-<fd>/, one directory per VM, as
 * KVM's: the VM's counters, one file each, and "tables", a dump of the
 * stage-2 leaves.  Everything is read-only and readable by root only
 * (files 0400; debugfs itself is mounted 0700).  Layout and formats:
 * Documentation/trace.rst.
 *
 * Lifetime: the directory is made when the VM fd is (mmu/main.c) and
 * removed first thing when the VM is destroyed (s2mmu_vm_destroy()).
 * debugfs_remove_recursive() waits for any read in progress to return
 * and makes later reads of a file still open fail with -EIO, so no file
 * reaches a freed VM.  The readers take no VM lock: counters are atomic
 * or read with READ_ONCE(), and the dump walks the tables under RCU like
 * S2MMU_TRANSLATE (Documentation/locking.rst).
 *
 * The counter files are the single-valued statistics of mmu/stats.c's
 * tables, under the names the binary stats fds give them; the vCPUs'
 * are summed over the VM's vCPUs, as in KVM's debugfs.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "s2mmu.h"

/* /sys/kernel/debug/s2mmu, or NULL/an error when debugfs is unavailable. */
static struct dentry *s2mmu_debugfs_dir;

/* One counter file's data: the file's VM and statistic (mmu/stats.c). */
struct s2mmu_debugfs_counter {
	struct s2mmu_vm *vm;
	unsigned int id;
};

static int s2mmu_debugfs_counter_get(void *data, u64 *val)
{
	struct s2mmu_debugfs_counter *c = data;

	*val = s2mmu_stats_counter(c->vm, c->id);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(s2mmu_debugfs_counter_fops,
			 s2mmu_debugfs_counter_get, NULL, "%llu\n");

/*
 * "tables": one line per present leaf, in guest address order.  The seq
 * position is the guest frame the next search starts at, so every read
 * (and every restart after the buffer grew) walks down from the root to
 * the next leaf under RCU, holding nothing between two calls.
 */
struct s2mmu_debugfs_leaf {
	struct s2mmu_vm *vm;
	u64 gpa;		/* search from here */
	u64 addr;		/* the leaf found: first address, level, prot */
	unsigned int level;
	u32 prot;
};

static int s2mmu_debugfs_leaf_cb(struct s2mmu_walk_ctx *ctx)
{
	struct s2mmu_debugfs_leaf *l = ctx->arg;
	const struct s2mmu_pgtable_ops *ops = ctx->pgt->ops;

	/* A huge leaf starting before the cursor was shown already. */
	if (ctx->addr < l->gpa || !ops->is_leaf(ctx->old, ctx->level))
		return 0;
	l->addr = ctx->addr;
	l->level = ctx->level;
	l->prot = ops->leaf_prot(ctx->old, ctx->level);
	return 1;
}

/* The first leaf starting at frame *@pos or later, or NULL. */
static void *s2mmu_debugfs_tables_find(struct seq_file *m, loff_t *pos)
{
	struct s2mmu_debugfs_leaf *l = m->private;
	struct s2mmu_vm *vm = l->vm;
	u64 max = s2mmu_vm_config_max_gpa(&vm->cfg);
	struct s2mmu_walker walker = {
		.cb	= s2mmu_debugfs_leaf_cb,
		.arg	= l,
		.flags	= S2MMU_WALK_LEAF,
	};

	if (*pos < 0 || *pos >= (max >> PAGE_SHIFT))
		return NULL;
	l->gpa = (u64)*pos << PAGE_SHIFT;
	if (s2mmu_pgtable_walk(&vm->pgt, l->gpa, max - l->gpa, &walker) != 1)
		return NULL;
	return l;
}

static void *s2mmu_debugfs_tables_start(struct seq_file *m, loff_t *pos)
{
	return s2mmu_debugfs_tables_find(m, pos);
}

static void *s2mmu_debugfs_tables_next(struct seq_file *m, void *v,
				       loff_t *pos)
{
	struct s2mmu_debugfs_leaf *l = v;

	*pos = (l->addr + s2mmu_pt_level_size(l->level)) >> PAGE_SHIFT;
	return s2mmu_debugfs_tables_find(m, pos);
}

static void s2mmu_debugfs_tables_stop(struct seq_file *m, void *v)
{
}

static int s2mmu_debugfs_tables_show(struct seq_file *m, void *v)
{
	static const char * const sizes[] = { "4K", "2M", "1G", "512G" };
	struct s2mmu_debugfs_leaf *l = v;
	u64 size = s2mmu_pt_level_size(l->level);

	seq_printf(m, "%016llx-%016llx %u %-4s %c%c%c %c%c\n",
		   l->addr, l->addr + size, l->level,
		   l->level < ARRAY_SIZE(sizes) ? sizes[l->level] : "?",
		   l->prot & S2MMU_PROT_R ? 'r' : '-',
		   l->prot & S2MMU_PROT_W ? 'w' : '-',
		   l->prot & S2MMU_PROT_X ? 'x' : '-',
		   l->prot & S2MMU_PROT_ACCESSED ? 'A' : '-',
		   l->prot & S2MMU_PROT_DIRTY ? 'D' : '-');
	return 0;
}

static const struct seq_operations s2mmu_debugfs_tables_sops = {
	.start	= s2mmu_debugfs_tables_start,
	.next	= s2mmu_debugfs_tables_next,
	.stop	= s2mmu_debugfs_tables_stop,
	.show	= s2mmu_debugfs_tables_show,
};

static int s2mmu_debugfs_tables_open(struct inode *inode, struct file *file)
{
	struct s2mmu_debugfs_leaf *l;

	l = __seq_open_private(file, &s2mmu_debugfs_tables_sops, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->vm = inode->i_private;
	return 0;
}

static const struct file_operations s2mmu_debugfs_tables_fops = {
	.owner		= THIS_MODULE,
	.open		= s2mmu_debugfs_tables_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= seq_release_private,
};

/**
 * s2mmu_debugfs_vm_create() - make a VM's debugfs directory.
 * @vm: the VM, built, before its fd is installed.
 * @fd: the number of the VM fd about to be installed.
 *
 * Named "<pid>-<fd>" after the creating task and the VM fd, as KVM's.
 * Failing is not fatal, as in KVM: a name already taken (the fd number
 * of a VM whose vCPU fds keep it alive after its VM fd closed), no
 * memory or no debugfs leaves the VM without a directory (warned once
 * per collision, rate-limited).
 *
 * Context: process context; sleeps.
 */
void s2mmu_debugfs_vm_create(struct s2mmu_vm *vm, int fd)
{
	unsigned int i, nr = s2mmu_stats_nr_counters();
	struct s2mmu_debugfs_counter *c;
	struct dentry *dir, *dent;
	const char *stat;
	char name[32];

	if (IS_ERR_OR_NULL(s2mmu_debugfs_dir))
		return;
	snprintf(name, sizeof(name), "%d-%d", task_pid_nr(current), fd);
	dent = debugfs_lookup(name, s2mmu_debugfs_dir);
	if (dent) {
		pr_warn_ratelimited("s2mmu: debugfs: duplicate directory %s\n",
				    name);
		dput(dent);
		return;
	}
	c = kcalloc(nr, sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return;
	dir = debugfs_create_dir(name, s2mmu_debugfs_dir);
	if (IS_ERR(dir)) {
		kfree(c);
		return;
	}
	for (i = 0; i < nr; i++) {
		stat = s2mmu_stats_counter_name(i);
		if (!stat)
			continue;	/* a histogram: the stats fd has it */
		c[i].vm = vm;
		c[i].id = i;
		debugfs_create_file_unsafe(stat, 0400, dir, &c[i],
					   &s2mmu_debugfs_counter_fops);
	}
	debugfs_create_file("tables", 0400, dir, vm,
			    &s2mmu_debugfs_tables_fops);
	vm->debugfs_dentry = dir;
	vm->debugfs_counters = c;
}

/**
 * s2mmu_debugfs_vm_remove() - remove a VM's debugfs directory, if any.
 * @vm: the VM being destroyed, before anything is torn down.
 *
 * Returns once no read of its files is in progress; a file still open
 * reads -EIO from then on.
 *
 * Context: process context; sleeps.
 */
void s2mmu_debugfs_vm_remove(struct s2mmu_vm *vm)
{
	debugfs_remove_recursive(vm->debugfs_dentry);
	vm->debugfs_dentry = NULL;
	kfree(vm->debugfs_counters);
	vm->debugfs_counters = NULL;
}

/**
 * s2mmu_debugfs_init() - make /sys/kernel/debug/s2mmu.
 *
 * Without debugfs VMs simply get no directory.
 */
void s2mmu_debugfs_init(void)
{
	s2mmu_debugfs_dir = debugfs_create_dir("s2mmu", NULL);
}

/**
 * s2mmu_debugfs_exit() - remove /sys/kernel/debug/s2mmu.
 *
 * Context: module exit: no VM is left.
 */
void s2mmu_debugfs_exit(void)
{
	debugfs_remove_recursive(s2mmu_debugfs_dir);
	s2mmu_debugfs_dir = NULL;
}
