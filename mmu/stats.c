// SPDX-License-Identifier: GPL-2.0
/*
 * The statistics of a VM and of a vCPU, in the two description tables
 * below: what the binary stats fds (mmu/stats_fd.c) and the debugfs
 * counter files (mmu/debugfs.c) read.  Adding a statistic is one line in
 * a table (and its counter in struct s2mmu_vm_stat or struct
 * s2mmu_vcpu_stat).
 *
 * The file is laid out as KVM's: the header, the id string (name_size
 * bytes), the descriptors (each a struct s2mmu_stats_desc and a name of
 * name_size bytes), then the values, __u64 each, in table order.  Only
 * the values change; each read loads them afresh without a lock (see
 * "Statistics" in Documentation/locking.rst).
 *
 * This file sits below mmu/vm.c (Documentation/index.rst): it reads a VM
 * it is given and never holds or drops a reference.
 */
#include <linux/fs.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "s2mmu.h"

/* The longest statistic, in values: the histograms. */
#define S2MMU_STAT_MAX_SIZE	S2MMU_STAT_HIST_BUCKETS

/**
 * struct s2mmu_stat_def - one statistic.
 * @name: its name, shorter than %S2MMU_STATS_NAME_SIZE.
 * @flags: S2MMU_STATS_TYPE_* | S2MMU_STATS_UNIT_* | S2MMU_STATS_BASE_*.
 * @exponent: the values are in units of base^@exponent.
 * @size: number of values.
 * @arg: for @read: an offset in the statistics structure, or a level.
 * @read: loads the @size values of statistic @d of @obj (a VM or a vCPU)
 *        into @val.  Never sleeps, takes no lock.
 */
struct s2mmu_stat_def {
	const char *name;
	u32 flags;
	s16 exponent;
	u16 size;
	u32 arg;
	void (*read)(void *obj, const struct s2mmu_stat_def *d, u64 *val);
};

/* An atomic64_t of struct s2mmu_vm_stat, at offset d->arg. */
static void s2mmu_stat_vm_atomic(void *obj, const struct s2mmu_stat_def *d,
				 u64 *val)
{
	struct s2mmu_vm *vm = obj;

	*val = atomic64_read((atomic64_t *)((char *)&vm->stat + d->arg));
}

/* A per-CPU u64 of struct s2mmu_age_stat, at offset d->arg, summed. */
static void s2mmu_stat_vm_age(void *obj, const struct s2mmu_stat_def *d,
			      u64 *val)
{
	struct s2mmu_vm *vm = obj;
	int cpu;

	*val = 0;
	for_each_possible_cpu(cpu) {
		char *st = (char *)per_cpu_ptr(vm->age_stat, cpu);

		*val += READ_ONCE(*(u64 *)(st + d->arg));
	}
}

/* Leaves at level d->arg, from the table engine's count. */
static void s2mmu_stat_vm_leaves(void *obj, const struct s2mmu_stat_def *d,
				 u64 *val)
{
	struct s2mmu_vm *vm = obj;

	*val = s2mmu_pgtable_nr_leaves(&vm->pgt, d->arg);
}

static void s2mmu_stat_vm_tables(void *obj, const struct s2mmu_stat_def *d,
				 u64 *val)
{
	struct s2mmu_vm *vm = obj;

	*val = s2mmu_pgtable_nr_tables(&vm->pgt);
}

/* d->size u64s of struct s2mmu_vcpu_stat from offset d->arg. */
static void s2mmu_stat_vcpu_u64(void *obj, const struct s2mmu_stat_def *d,
				u64 *val)
{
	struct s2mmu_vcpu *vcpu = obj;
	u64 *p = (u64 *)((char *)&vcpu->stat + d->arg);
	unsigned int i;

	for (i = 0; i < d->size; i++)
		val[i] = READ_ONCE(p[i]);
}

#define S2MMU_STAT(n, type, unit, exp, sz, a, fn)			\
	{								\
		.name = n,						\
		.flags = S2MMU_STATS_TYPE_##type |			\
			 S2MMU_STATS_UNIT_##unit | S2MMU_STATS_BASE_POW10, \
		.exponent = exp, .size = sz, .arg = a, .read = fn,	\
	}
/* An atomic event count of struct s2mmu_vm_stat. */
#define S2MMU_VM_STAT(n, type, field)					\
	S2MMU_STAT(n, type, NONE, 0, 1,					\
		   offsetof(struct s2mmu_vm_stat, field), s2mmu_stat_vm_atomic)
/* An aging count, per CPU. */
#define S2MMU_AGE_STAT(n, field)					\
	S2MMU_STAT(n, CUMULATIVE, NONE, 0, 1,				\
		   offsetof(struct s2mmu_age_stat, field), s2mmu_stat_vm_age)
/* A count of struct s2mmu_vcpu_stat. */
#define S2MMU_VCPU_STAT(n, field)					\
	S2MMU_STAT(n, CUMULATIVE, NONE, 0, 1,				\
		   offsetof(struct s2mmu_vcpu_stat, field), s2mmu_stat_vcpu_u64)

/* The VM's statistics: KVM's names where the meaning is KVM's. */
static const struct s2mmu_stat_def s2mmu_vm_stats[] = {
	S2MMU_VM_STAT("remote_tlb_flush", CUMULATIVE, remote_tlb_flush),
	S2MMU_VM_STAT("remote_tlb_flush_requests", CUMULATIVE,
		      remote_tlb_flush_requests),
	S2MMU_STAT("pages_4k", INSTANT, NONE, 0, 1, 0, s2mmu_stat_vm_leaves),
	S2MMU_STAT("pages_2m", INSTANT, NONE, 0, 1, 1, s2mmu_stat_vm_leaves),
	S2MMU_STAT("pages_1g", INSTANT, NONE, 0, 1, 2, s2mmu_stat_vm_leaves),
	S2MMU_VM_STAT("nx_lpage_splits", INSTANT, nx_lpage_splits),
	S2MMU_VM_STAT("nx_lpage_recoveries", CUMULATIVE, nx_lpage_recoveries),
	S2MMU_VM_STAT("invalidations", CUMULATIVE, invalidations),
	S2MMU_VM_STAT("zaps", CUMULATIVE, zaps),
	S2MMU_STAT("table_pages", INSTANT, NONE, 0, 1, 0, s2mmu_stat_vm_tables),
	S2MMU_AGE_STAT("age_calls", calls),
	S2MMU_AGE_STAT("age_young", young),
	S2MMU_AGE_STAT("age_races", races),
	S2MMU_VM_STAT("dirty_log_wp_faults", CUMULATIVE, dirty_log_wp_faults),
	S2MMU_VM_STAT("dirty_log_dbit_pages", CUMULATIVE,
		      dirty_log_dbit_pages),
	S2MMU_VM_STAT("dirty_log_harvests", CUMULATIVE, dirty_log_harvests),
	S2MMU_VM_STAT("dirty_log_reprotected", CUMULATIVE,
		      dirty_log_reprotected),
	S2MMU_VM_STAT("mte_pages_sanitised", CUMULATIVE, mte_pages_sanitised),
};

/* A vCPU's statistics. */
static const struct s2mmu_stat_def s2mmu_vcpu_stats[] = {
	S2MMU_VCPU_STAT("pf_taken", pf_taken),
	S2MMU_VCPU_STAT("pf_fixed", pf_fixed),
	S2MMU_VCPU_STAT("pf_spurious", pf_spurious),
	S2MMU_VCPU_STAT("fault_retries", fault_retries),
	S2MMU_VCPU_STAT("tlb_flush", tlb_flushes),
	S2MMU_VCPU_STAT("tlb_misses", tlb_misses),
	S2MMU_VCPU_STAT("walk_cache_hits", walk_cache_hits),
	S2MMU_VCPU_STAT("pf_prefetched", pf_prefetched),
	S2MMU_STAT("fault_latency_hist", LOG_HIST, SECONDS, -9,
		   S2MMU_STAT_HIST_BUCKETS,
		   offsetof(struct s2mmu_vcpu_stat, fault_latency_hist),
		   s2mmu_stat_vcpu_u64),
};

#define S2MMU_STATS_DESC_SIZE	(sizeof(struct s2mmu_stats_desc) + \
				 S2MMU_STATS_NAME_SIZE)

/* Where a read is: the user buffer, the file offset, what is left. */
struct s2mmu_stats_cursor {
	char __user *buf;
	loff_t pos;
	size_t left;
};

/*
 * Copy what the read wants of the file bytes [@start, @start + @len),
 * held at @src.  The parts are visited in file order, so the read's
 * position is at or past @start whenever it is inside them.
 */
static int s2mmu_stats_copy(struct s2mmu_stats_cursor *c, loff_t start,
			    const void *src, size_t len)
{
	size_t off, n;

	if (!c->left || c->pos < start || c->pos >= start + (loff_t)len)
		return 0;
	off = c->pos - start;
	n = min(len - off, c->left);
	if (copy_to_user(c->buf, (const char *)src + off, n))
		return -EFAULT;
	c->buf += n;
	c->pos += n;
	c->left -= n;
	return 0;
}

/**
 * s2mmu_stats_read() - read() of a stats fd (mmu/stats_fd.c).
 * @file: the stats fd; its private data is a struct s2mmu_stats_file.
 * @buf: the user buffer.
 * @size: its size.
 * @ppos: the file position (pread()'s offset).
 *
 * Context: process context; takes no lock.
 * Return: the bytes copied, 0 past the end, -EINVAL for a negative
 * offset, or -EFAULT when nothing could be copied.
 */
ssize_t s2mmu_stats_read(struct file *file, char __user *buf, size_t size,
			 loff_t *ppos)
{
	struct s2mmu_stats_file *sf = file->private_data;
	struct s2mmu_stats_header h = {
		.name_size	= S2MMU_STATS_NAME_SIZE,
		.num_desc	= sf->nr_defs,
		.id_offset	= sizeof(h),
		.desc_offset	= sizeof(h) + S2MMU_STATS_NAME_SIZE,
	};
	struct s2mmu_stats_cursor c = { .buf = buf, .pos = *ppos };
	u64 val[S2MMU_STAT_MAX_SIZE];
	loff_t end, off;
	unsigned int i;
	int ret = 0;

	h.data_offset = h.desc_offset + sf->nr_defs * S2MMU_STATS_DESC_SIZE;
	end = h.data_offset + sf->nr_values * sizeof(u64);
	if (c.pos < 0)
		return -EINVAL;
	if (c.pos >= end)
		return 0;
	c.left = min_t(u64, size, end - c.pos);
	size = c.left;

	ret = s2mmu_stats_copy(&c, 0, &h, sizeof(h));
	if (!ret)
		ret = s2mmu_stats_copy(&c, h.id_offset, sf->id, sizeof(sf->id));
	off = 0;
	for (i = 0; !ret && i < sf->nr_defs; i++) {
		const struct s2mmu_stat_def *d = &sf->defs[i];
		union {
			struct s2mmu_stats_desc desc;
			char bytes[S2MMU_STATS_DESC_SIZE];
		} u = { .desc = {
			.flags		= d->flags,
			.exponent	= d->exponent,
			.size		= d->size,
			.offset		= off,
		} };

		strscpy_pad(u.bytes + sizeof(u.desc), d->name,
			    S2MMU_STATS_NAME_SIZE);
		ret = s2mmu_stats_copy(&c, h.desc_offset +
				       i * S2MMU_STATS_DESC_SIZE,
				       &u, sizeof(u));
		off += d->size * sizeof(u64);
	}
	off = h.data_offset;
	for (i = 0; !ret && c.left && i < sf->nr_defs; i++) {
		const struct s2mmu_stat_def *d = &sf->defs[i];
		size_t len = d->size * sizeof(u64);

		if (c.pos < off + (loff_t)len) {
			d->read(sf->obj, d, val);
			ret = s2mmu_stats_copy(&c, off, val, len);
		}
		off += len;
	}
	if (ret && c.left == size)
		return ret;
	*ppos = c.pos;
	return size - c.left;
}

static unsigned int s2mmu_stats_nr_values(const struct s2mmu_stat_def *defs,
					  unsigned int nr)
{
	unsigned int i, n = 0;

	for (i = 0; i < nr; i++)
		n += defs[i].size;
	return n;
}

/**
 * s2mmu_stats_file_init() - describe a new stats fd's statistics.
 * @sf: the stats fd's data; @sf->vm is set by the caller.
 * @vcpu: the vCPU whose statistics the fd reads, or NULL for the VM's.
 *
 * Sets @sf's object, description table and id string: "s2mmu-<pid>" or
 * "s2mmu-<pid>/vcpu-<id>", with the pid of the task that created the VM
 * or the vCPU.
 */
void s2mmu_stats_file_init(struct s2mmu_stats_file *sf,
			   struct s2mmu_vcpu *vcpu)
{
	if (vcpu) {
		sf->obj = vcpu;
		sf->defs = s2mmu_vcpu_stats;
		sf->nr_defs = ARRAY_SIZE(s2mmu_vcpu_stats);
		snprintf(sf->id, sizeof(sf->id), "s2mmu-%d/vcpu-%u",
			 vcpu->stats_pid, vcpu->id);
	} else {
		sf->obj = sf->vm;
		sf->defs = s2mmu_vm_stats;
		sf->nr_defs = ARRAY_SIZE(s2mmu_vm_stats);
		snprintf(sf->id, sizeof(sf->id), "s2mmu-%d",
			 sf->vm->stats_pid);
	}
	sf->nr_values = s2mmu_stats_nr_values(sf->defs, sf->nr_defs);
}

/**
 * s2mmu_stats_nr_counters() - the number of counter indexes.
 *
 * Indexes 0 to the return value - 1 name the VM's statistics, then the
 * vCPUs', for s2mmu_stats_counter_name() and s2mmu_stats_counter().
 */
unsigned int s2mmu_stats_nr_counters(void)
{
	return ARRAY_SIZE(s2mmu_vm_stats) + ARRAY_SIZE(s2mmu_vcpu_stats);
}

/* The statistic of counter index @i, and whether it is a vCPU's. */
static const struct s2mmu_stat_def *s2mmu_stats_counter_def(unsigned int i,
							    bool *vcpu)
{
	*vcpu = i >= ARRAY_SIZE(s2mmu_vm_stats);
	if (!*vcpu)
		return &s2mmu_vm_stats[i];
	i -= ARRAY_SIZE(s2mmu_vm_stats);
	return i < ARRAY_SIZE(s2mmu_vcpu_stats) ? &s2mmu_vcpu_stats[i] : NULL;
}

/**
 * s2mmu_stats_counter_name() - the name of a single-valued statistic.
 * @i: a counter index (s2mmu_stats_nr_counters()).
 *
 * Return: the statistic's name, as its stats fd names it, or NULL when
 * @i is out of range or names a histogram (not one value).
 */
const char *s2mmu_stats_counter_name(unsigned int i)
{
	const struct s2mmu_stat_def *d;
	bool vcpu;

	d = s2mmu_stats_counter_def(i, &vcpu);
	return d && d->size == 1 ? d->name : NULL;
}

/**
 * s2mmu_stats_counter() - the current value of a single-valued statistic.
 * @vm: the VM.
 * @i: a counter index with a name (s2mmu_stats_counter_name()).
 *
 * A vCPU statistic is summed over the VM's vCPUs, read while their tasks
 * may be updating them (as KVM's debugfs sums its vCPUs').
 *
 * Context: any; takes no lock.
 * Return: the value, 0 for an index without a name.
 */
u64 s2mmu_stats_counter(struct s2mmu_vm *vm, unsigned int i)
{
	const struct s2mmu_stat_def *d;
	unsigned int v, n;
	u64 val, sum = 0;
	bool vcpu;

	d = s2mmu_stats_counter_def(i, &vcpu);
	if (!d || d->size != 1)
		return 0;
	if (!vcpu) {
		d->read(vm, d, &val);
		return val;
	}
	/* vcpus[0..n) are initialised; pairs with s2mmu_vcpu_create(). */
	n = smp_load_acquire(&vm->nr_vcpus);
	for (v = 0; v < n; v++) {
		d->read(vm->vcpus[v], d, &val);
		sum += val;
	}
	return sum;
}
