// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu ioctl fuzzer: a bounded, seeded random walk over every ioctl of
 * /dev/s2mmu, the VM fd and the vCPU fds, with mostly valid arguments
 * (slots over a few host buffers that the fuzzer itself munmaps, remaps,
 * mprotects and madvises as it goes; runs with random access lists;
 * pre-faults; translations; invariant checks; vCPU creation) and some
 * raw random ioctl numbers and sizes.
 *
 * Asserted: every call returns one of the results documented for that
 * ioctl (and what a model of the slots predicts where the documentation
 * is exact: overlaps, immutable slot fields, vCPU ids, exits in or out of
 * slots), CHECK_INVARIANTS returns 0 periodically and at the end, the VM
 * still works afterwards, and the module's VM count returns to where it
 * started once everything is closed.
 *
 * Seed: S2MMU_SEED (default fixed, logged); iterations per VM type:
 * S2MMU_FUZZ_ITERATIONS (default 10000).
 */
#define _GNU_SOURCE
#include <stdarg.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define NBUF		3
#define BUF_PAGES	64
#define DATA_PAGES	4
#define NR_SLOT_IDS	9	/* ids 0..7 and S2MMU_MAX_MEMSLOTS - 1 */
#define MAX_FUZZ_VCPUS	8
#define GPA_BASE	0x40000000ULL
#define MAX_ERRNO	160

#define DEFAULT_SEED	0xf0220001ULL
#define DEFAULT_ITERS	10000

/* Kernel addresses on both targets: never user memory. */
#define KERNEL_PTR	0xffff888000000000ULL

enum kind {
	K_API, K_CREATE_VM, K_VM_INFO, K_SET_REGION, K_CREATE_VCPU,
	K_CHECK_INV, K_RUN, K_PRE_FAULT, K_TRANSLATE, K_RAW, K_HOST,
	NR_KINDS
};

static const char * const kind_names[NR_KINDS] = {
	"GET_API_VERSION", "CREATE_VM", "GET_VM_INFO", "SET_MEMORY_REGION",
	"CREATE_VCPU", "CHECK_INVARIANTS", "RUN", "PRE_FAULT_MEMORY",
	"TRANSLATE", "raw ioctl", "host mm op",
};

struct slot_model {
	bool used;
	__u32 flags;
	__u64 gpa, size, hva;
};

struct fuzz {
	int dev, vm;
	unsigned long type;
	__u64 max_gpa;
	int vcpu[S2MMU_MAX_VCPUS];
	struct s2mmu_run *run[S2MMU_MAX_VCPUS];
	int nr_vcpus;
	__u64 created;			/* vCPU ids created */
	char *buf[NBUF];
	char *data;			/* DATA_PAGES valid pages */
	char *hole;			/* one unmapped page */
	char *pnone;			/* one PROT_NONE page */
	char *edge;			/* last 8 bytes before an unmapped page */
	char *runs;			/* where the run pages are mapped */
	struct slot_model slot[NR_SLOT_IDS];
	__u64 rng;
	long iters;
	long hist[NR_KINDS][MAX_ERRNO + 1];
	long calls[NR_KINDS];
	long unexpected;
	long invariant_checks;
	long exits[S2MMU_EXIT_INTR + 1];
	char first[256];
};

static void unexpected(struct fuzz *f, const char *fmt, ...)
{
	va_list ap;

	f->unexpected++;
	if (f->first[0])
		return;
	va_start(ap, fmt);
	vsnprintf(f->first, sizeof(f->first), fmt, ap);
	va_end(ap);
}

static __u64 rnd(struct fuzz *f, __u64 n)
{
	return s2mmu_rand_below(&f->rng, n);
}

/* Percent chance. */
static bool chance(struct fuzz *f, int pct)
{
	return rnd(f, 100) < (__u64)pct;
}

static __u32 slot_id(int i)
{
	return i < NR_SLOT_IDS - 1 ? i : S2MMU_MAX_MEMSLOTS - 1;
}

/* Record @ret/@err of a call of @k; false (and counted) if not in @ok. */
static bool account(struct fuzz *f, enum kind k, long ret, int err,
		    const int *ok, int nr_ok)
{
	int e = ret < 0 ? err : 0, i;

	f->calls[k]++;
	f->hist[k][e > MAX_ERRNO ? MAX_ERRNO : e]++;
	if (!e)
		return true;
	for (i = 0; i < nr_ok; i++)
		if (ok[i] == e)
			return true;
	unexpected(f, "%s: unexpected errno %d (%s) at iteration %ld",
		   kind_names[k], e, strerror(e), f->iters);
	return false;
}

#define ACCOUNT(f, k, ret, err, ...) ({					\
	static const int __ok[] = { 0, ##__VA_ARGS__ };			\
	account(f, k, ret, err, __ok, ARRAY_SIZE(__ok));		\
})

/* A pointer that the kernel cannot use for a structure. */
static void *bad_ptr(struct fuzz *f)
{
	switch (rnd(f, 6)) {
	case 0:
		return NULL;
	case 1:
		return f->edge;
	case 2:
		return (void *)8UL;
	case 3:
		return (void *)(unsigned long)KERNEL_PTR;
	case 4:
		return f->hole;
	default:
		return f->pnone;
	}
}

static int slot_of(struct fuzz *f, __u64 gpa)
{
	int i;

	for (i = 0; i < NR_SLOT_IDS; i++)
		if (f->slot[i].used && gpa >= f->slot[i].gpa &&
		    gpa - f->slot[i].gpa < f->slot[i].size)
			return i;
	return -1;
}

static bool overlaps_other(struct fuzz *f, int self, __u64 gpa, __u64 size)
{
	int i;

	for (i = 0; i < NR_SLOT_IDS; i++)
		if (i != self && f->slot[i].used &&
		    gpa < f->slot[i].gpa + f->slot[i].size &&
		    f->slot[i].gpa < gpa + size)
			return true;
	return false;
}

/* A guest address: mostly in or around a slot. */
static __u64 rand_gpa(struct fuzz *f)
{
	int i = rnd(f, NR_SLOT_IDS);

	if (chance(f, 10))
		return rnd(f, 2) ? rnd(f, f->max_gpa) : f->max_gpa - PG;
	if (chance(f, 5))
		return rnd(f, 2) ? f->max_gpa + rnd(f, 1 << 20) : -1ULL - rnd(f, PG);
	if (f->slot[i].used)
		return f->slot[i].gpa + rnd(f, f->slot[i].size + 2 * PG) - PG;
	return GPA_BASE + rnd(f, 4 * BUF_PAGES) * PG + (chance(f, 20) ? rnd(f, PG) : 0);
}

static void fuzz_api(struct fuzz *f)
{
	unsigned long arg = chance(f, 70) ? 0 : s2mmu_rand64(&f->rng);
	int ret = ioctl(f->dev, S2MMU_GET_API_VERSION, arg);

	if (ACCOUNT(f, K_API, ret, errno, EINVAL) && arg == 0 &&
	    ret != S2MMU_API_VERSION)
		unexpected(f, "GET_API_VERSION returned %d", ret);
	if (ret < 0 && arg == 0)
		unexpected(f, "GET_API_VERSION(0) failed");
}

static void fuzz_create_vm(struct fuzz *f)
{
	static const unsigned long good[] = {
		S2MMU_VM_X86_TDP, S2MMU_VM_ARM64_S2,
		S2MMU_VM_X86_TDP | S2MMU_VM_GPA_BITS(57),
		S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(32),
	};
	unsigned long arg = chance(f, 50) ? good[rnd(f, ARRAY_SIZE(good))] :
			    s2mmu_rand64(&f->rng) >> rnd(f, 64);
	bool valid = false;
	unsigned int i;
	int fd;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		valid |= arg == good[i];
	fd = ioctl(f->dev, S2MMU_CREATE_VM, arg);
	ACCOUNT(f, K_CREATE_VM, fd, errno, EINVAL, ENOMEM, EMFILE);
	if (valid && fd < 0)
		unexpected(f, "CREATE_VM(%#lx): %s", arg, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void fuzz_vm_info(struct fuzz *f)
{
	struct s2mmu_vm_info info;
	bool bad = chance(f, 10);
	int ret, i, n = 0;

	ret = ioctl(f->vm, S2MMU_GET_VM_INFO, bad ? bad_ptr(f) : &info);
	if (!ACCOUNT(f, K_VM_INFO, ret, errno, EFAULT))
		return;
	if (bad || ret < 0) {
		if (!bad || !ret)
			unexpected(f, "GET_VM_INFO: ret %d with bad %d", ret, bad);
		return;
	}
	for (i = 0; i < NR_SLOT_IDS; i++)
		n += f->slot[i].used;
	if (info.type != (f->type & S2MMU_VM_TYPE_MASK) || info.nr_slots != n ||
	    info.max_gpa != f->max_gpa)
		unexpected(f, "GET_VM_INFO: type %u nr_slots %u (model %d)",
			   info.type, info.nr_slots, n);
}

static void fuzz_set_region(struct fuzz *f)
{
	int idx = rnd(f, NR_SLOT_IDS), other, ret, err;
	struct slot_model *m = &f->slot[idx];
	struct s2mmu_memory_region r = { .slot = slot_id(idx) };
	bool bad = chance(f, 3), wild = false, del;
	__u64 npages = 1 + rnd(f, BUF_PAGES / 2);
	char *b = f->buf[rnd(f, NBUF)];

	if (m->used && chance(f, 40)) {
		/* A move (or a no-op, or a flag change) of the existing slot. */
		r.flags = m->flags;
		r.memory_size = m->size;
		r.userspace_addr = m->hva;
		r.guest_phys_addr = chance(f, 80) ?
			GPA_BASE + rnd(f, 4 * BUF_PAGES) * PG : m->gpa;
	} else {
		r.guest_phys_addr = GPA_BASE + rnd(f, 4 * BUF_PAGES) * PG;
		r.memory_size = chance(f, 25) ? 0 : npages * PG;
		r.userspace_addr = (unsigned long)b +
				   rnd(f, BUF_PAGES - npages + 1) * PG;
		r.flags = chance(f, 15) ? S2MMU_MEM_READONLY : 0;
	}
	if (chance(f, 5)) {
		r.flags ^= 1U << rnd(f, 32);
		wild = true;
	}
	if (chance(f, 3)) {
		r.guest_phys_addr += rnd(f, 2) ? rnd(f, PG) : f->max_gpa;
		wild = true;
	}
	if (chance(f, 3)) {
		r.memory_size += rnd(f, 2) ? rnd(f, PG) : -2 * PG;
		wild = true;
	}
	if (chance(f, 3)) {
		r.userspace_addr = rnd(f, 2) ? KERNEL_PTR :
				   r.userspace_addr + 1 + rnd(f, PG - 1);
		wild = true;
	}
	if (chance(f, 2)) {
		r.slot = S2MMU_MAX_MEMSLOTS + rnd(f, 1U << 31);
		wild = true;
	}
	ret = ioctl(f->vm, S2MMU_SET_MEMORY_REGION, bad ? bad_ptr(f) : &r);
	err = errno;
	if (!ACCOUNT(f, K_SET_REGION, ret, err, EINVAL, EEXIST, EFAULT, ENOMEM))
		return;
	if (bad) {
		if (ret == 0 || err != EFAULT)
			unexpected(f, "SET_MEMORY_REGION with a bad pointer: %d/%d",
				   ret, err);
		return;
	}
	if (ret < 0 && err == EFAULT)
		unexpected(f, "SET_MEMORY_REGION: EFAULT with a good pointer");
	if (ret < 0 && err == EEXIST &&
	    !overlaps_other(f, idx, r.guest_phys_addr, r.memory_size))
		unexpected(f, "SET_MEMORY_REGION: EEXIST without an overlap");
	if (ret < 0)
		return;
	if (wild && r.slot != slot_id(idx)) {
		unexpected(f, "SET_MEMORY_REGION accepted slot %u", r.slot);
		return;
	}
	del = r.memory_size == 0;
	if (del && !m->used)
		unexpected(f, "deleted slot %u that did not exist", r.slot);
	if (!del && m->used && (m->size != r.memory_size ||
				m->hva != r.userspace_addr ||
				m->flags != r.flags))
		unexpected(f, "slot %u: size, hva or flags changed", r.slot);
	if (!del && overlaps_other(f, idx, r.guest_phys_addr, r.memory_size))
		unexpected(f, "slot %u accepted over another slot", r.slot);
	if (!del && (r.guest_phys_addr % PG || r.memory_size % PG ||
		     r.userspace_addr % PG || r.flags & ~S2MMU_MEM_READONLY ||
		     r.guest_phys_addr + r.memory_size > f->max_gpa))
		unexpected(f, "slot %u accepted with bad fields", r.slot);
	m->used = !del;
	m->gpa = r.guest_phys_addr;
	m->size = r.memory_size;
	m->hva = r.userspace_addr;
	m->flags = r.flags;
	other = slot_of(f, r.guest_phys_addr);
	if (!del && other != idx)
		unexpected(f, "model confusion at slot %u", r.slot);
}

static void fuzz_create_vcpu(struct fuzz *f)
{
	unsigned long id = chance(f, 85) ? rnd(f, MAX_FUZZ_VCPUS) :
			   chance(f, 50) ? rnd(f, S2MMU_MAX_VCPUS) :
			   S2MMU_MAX_VCPUS + (s2mmu_rand64(&f->rng) >> rnd(f, 64));
	int fd = ioctl(f->vm, S2MMU_CREATE_VCPU, id), err = errno;

	if (!ACCOUNT(f, K_CREATE_VCPU, fd, err, EINVAL, EEXIST, ENOMEM, EMFILE))
		return;
	if (id >= S2MMU_MAX_VCPUS) {
		if (fd >= 0 || err != EINVAL)
			unexpected(f, "CREATE_VCPU(%lu): %d/%d", id, fd, err);
		if (fd >= 0)
			close(fd);
		return;
	}
	if ((f->created >> id) & 1) {
		if (fd >= 0 || err != EEXIST)
			unexpected(f, "CREATE_VCPU(%lu) twice: %d/%d", id, fd, err);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (fd < 0) {
		unexpected(f, "CREATE_VCPU(%lu): %s", id, strerror(err));
		return;
	}
	f->created |= 1ULL << id;
	f->vcpu[f->nr_vcpus] = fd;
	/*
	 * Every other vCPU runs through its mmapped run page, at a fixed
	 * place: an mmap() anywhere could land in a hole the fuzzer made in
	 * its buffers, and be remapped or aliased by a slot.
	 */
	if (!(id & 1)) {
		void *p = mmap(f->runs + id * PG, PG, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, fd, 0);

		f->run[f->nr_vcpus] = p == MAP_FAILED ? NULL : p;
	}
	f->nr_vcpus++;
}

static void fuzz_check_inv(struct fuzz *f)
{
	struct s2mmu_invariants inv;
	bool bad = chance(f, 20);
	int ret;

	ret = ioctl(f->vm, S2MMU_CHECK_INVARIANTS, bad ? bad_ptr(f) : &inv);
	if (!ACCOUNT(f, K_CHECK_INV, ret, errno, EFAULT))
		return;
	if (bad ? !ret : ret)
		unexpected(f, "CHECK_INVARIANTS: ret %d with bad pointer %d", ret,
			   bad);
	if (!bad)
		f->invariant_checks++;
}

static void rand_access(struct fuzz *f, struct s2mmu_access *a)
{
	memset(a, 0, sizeof(*a));
	a->gpa = rand_gpa(f);
	a->len = chance(f, 5) ? 0 : 1 + rnd(f, 3 * PG);
	a->op = rnd(f, 4);
	if (a->op == S2MMU_OP_TOUCH) {
		a->flags = chance(f, 50) ? S2MMU_ACCESS_F_WRITE : 0;
		a->stride = chance(f, 50) ? 0 : 1 + rnd(f, 2 * PG);
		a->repeat = rnd(f, 4);
	} else {
		a->uaddr = (unsigned long)f->data + rnd(f, PG);
	}
	/* Now and then, something wrong. */
	switch (chance(f, 8) ? rnd(f, 7) : 7) {
	case 0:
		a->op = 4 + rnd(f, 100);
		break;
	case 1:
		a->flags |= 1U << rnd(f, 32);
		break;
	case 2:
		a->uaddr = (unsigned long)bad_ptr(f);
		break;
	case 3:
		a->len = -1ULL - rnd(f, 1ULL << 40);
		break;
	case 4:
		a->stride = 1 + rnd(f, PG);
		break;
	case 5:
		a->len = 1ULL << (40 + rnd(f, 23));
		break;
	case 6:
		a->gpa = -1ULL - rnd(f, 2 * PG);
		break;
	default:
		break;
	}
}

static void check_exit(struct fuzz *f, struct s2mmu_run *r,
		       const struct s2mmu_access *a, __u32 nr)
{
	const struct s2mmu_access *x;
	__u64 flags, cause;
	int s;

	if (r->exit_reason == S2MMU_EXIT_DONE) {
		if (r->done != nr)
			unexpected(f, "RUN: DONE with done %llu of %u",
				   (unsigned long long)r->done, nr);
		return;
	}
	if (r->done >= nr) {
		unexpected(f, "RUN: exit %u with done %llu of %u",
			   r->exit_reason, (unsigned long long)r->done, nr);
		return;
	}
	x = &a[r->done];
	switch (r->exit_reason) {
	case S2MMU_EXIT_MMIO:
		if (r->mmio.gpa < x->gpa || r->mmio.gpa - x->gpa >= x->len ||
		    slot_of(f, r->mmio.gpa) >= 0)
			unexpected(f, "RUN: MMIO at %#llx (access %#llx+%#llx)",
				   (unsigned long long)r->mmio.gpa,
				   (unsigned long long)x->gpa,
				   (unsigned long long)x->len);
		break;
	case S2MMU_EXIT_MEMORY_FAULT:
		flags = r->memory_fault.flags;
		cause = flags & ~(S2MMU_MEMORY_FAULT_WRITE |
				  S2MMU_MEMORY_FAULT_EXEC);
		s = slot_of(f, r->memory_fault.gpa);
		if (s < 0 || r->memory_fault.size != PG ||
		    (cause != S2MMU_MEMORY_FAULT_NOT_MAPPED &&
		     cause != S2MMU_MEMORY_FAULT_READONLY) ||
		    (cause == S2MMU_MEMORY_FAULT_READONLY &&
		     !(f->slot[s].flags & S2MMU_MEM_READONLY)))
			unexpected(f, "RUN: memory fault at %#llx flags %#llx",
				   (unsigned long long)r->memory_fault.gpa,
				   (unsigned long long)flags);
		break;
	default:
		unexpected(f, "RUN: exit reason %u", r->exit_reason);
	}
}

static void fuzz_run(struct fuzz *f)
{
	struct s2mmu_access a[6];
	struct s2mmu_run local, *r;
	__u32 nr = 1 + rnd(f, ARRAY_SIZE(a)), i;
	int v, ret, err;
	bool bad_run = false, bad_list = chance(f, 3);

	if (!f->nr_vcpus)
		return;
	v = rnd(f, f->nr_vcpus);
	for (i = 0; i < nr; i++)
		rand_access(f, &a[i]);
	r = f->run[v];
	if (!r || chance(f, 20)) {
		memset(&local, 0, sizeof(local));
		r = &local;
	}
	r->accesses = bad_list ? (unsigned long)bad_ptr(f) : (unsigned long)a;
	r->nr_accesses = chance(f, 2) ? S2MMU_MAX_ACCESSES + rnd(f, 100) : nr;
	r->flags = chance(f, 2) ? 1U << rnd(f, 32) : 0;
	if (r == &local && chance(f, 5))
		bad_run = true;
	/* (A NULL argument is not a bad pointer: it means the run page.) */
	ret = ioctl(f->vcpu[v], S2MMU_RUN,
		    r == &local ? (bad_run ? (void *)f->hole : (void *)r) : NULL);
	err = errno;
	if (!ACCOUNT(f, K_RUN, ret, err, EINVAL, EFAULT))
		return;
	if (bad_run && ret == 0)
		unexpected(f, "RUN accepted a bad run pointer");
	if (ret == 0 && !bad_run) {
		check_exit(f, r, a, nr);
		if (r->exit_reason <= S2MMU_EXIT_INTR)
			f->exits[r->exit_reason]++;
	}
}

static void fuzz_pre_fault(struct fuzz *f)
{
	struct s2mmu_pre_fault_memory pf;
	bool bad = chance(f, 5);
	int v, ret, err;

	if (!f->nr_vcpus)
		return;
	v = rnd(f, f->nr_vcpus);
	memset(&pf, 0, sizeof(pf));
	pf.gpa = rand_gpa(f) & ~(PG - 1);
	pf.size = rnd(f, 8) * PG;
	if (chance(f, 5))
		pf.gpa |= 1 + rnd(f, PG - 1);
	if (chance(f, 3))
		pf.flags = 1ULL << rnd(f, 64);
	if (chance(f, 3))
		pf.padding[rnd(f, 5)] = 1;
	ret = ioctl(f->vcpu[v], S2MMU_PRE_FAULT_MEMORY, bad ? bad_ptr(f) : &pf);
	err = errno;
	if (!ACCOUNT(f, K_PRE_FAULT, ret, err, EINVAL, EFAULT, ENOENT, ENOMEM,
		     EAGAIN))
		return;
	if (bad && (ret == 0 || err != EFAULT))
		unexpected(f, "PRE_FAULT_MEMORY with a bad pointer: %d/%d", ret,
			   err);
	if (!bad && ret < 0 && err == ENOENT && slot_of(f, pf.gpa) >= 0)
		unexpected(f, "PRE_FAULT_MEMORY: ENOENT at %#llx, in a slot",
			   (unsigned long long)pf.gpa);
}

static void fuzz_translate(struct fuzz *f)
{
	struct s2mmu_translation t;
	bool bad = chance(f, 5);
	int v, ret, err;

	if (!f->nr_vcpus)
		return;
	v = rnd(f, f->nr_vcpus);
	memset(&t, 0, sizeof(t));
	t.gpa = rand_gpa(f);
	ret = ioctl(f->vcpu[v], S2MMU_TRANSLATE, bad ? bad_ptr(f) : &t);
	err = errno;
	if (!ACCOUNT(f, K_TRANSLATE, ret, err, EINVAL, EFAULT))
		return;
	if (bad) {
		if (ret == 0 || err != EFAULT)
			unexpected(f, "TRANSLATE with a bad pointer: %d/%d", ret,
				   err);
		return;
	}
	if (t.gpa >= f->max_gpa ? !ret : ret)
		unexpected(f, "TRANSLATE(%#llx): %d/%d",
			   (unsigned long long)t.gpa, ret, err);
	if (ret == 0 && t.present && slot_of(f, t.gpa) < 0)
		unexpected(f, "TRANSLATE(%#llx): present outside every slot",
			   (unsigned long long)t.gpa);
}

static bool known_cmd(unsigned int cmd, int which)
{
	static const unsigned int dev[] = {
		S2MMU_GET_API_VERSION, S2MMU_CREATE_VM,
	};
	static const unsigned int vm[] = {
		S2MMU_GET_VM_INFO, S2MMU_SET_MEMORY_REGION, S2MMU_CREATE_VCPU,
		S2MMU_CHECK_INVARIANTS,
	};
	static const unsigned int vcpu[] = {
		S2MMU_RUN, S2MMU_PRE_FAULT_MEMORY, S2MMU_TRANSLATE,
	};
	const unsigned int *l = which == 0 ? dev : which == 1 ? vm : vcpu;
	unsigned int n = which == 0 ? ARRAY_SIZE(dev) :
			 which == 1 ? ARRAY_SIZE(vm) : ARRAY_SIZE(vcpu), i;

	for (i = 0; i < n; i++)
		if (l[i] == cmd)
			return true;
	return false;
}

static void fuzz_raw(struct fuzz *f)
{
	static const unsigned int types[] = { S2MMUIO, S2MMUIO, 0xAE, 0xB9 };
	int which = rnd(f, f->nr_vcpus ? 3 : 2), fd, ret;
	unsigned int cmd;
	unsigned long arg;

	cmd = _IOC(rnd(f, 4), types[rnd(f, ARRAY_SIZE(types))], rnd(f, 0x40),
		   chance(f, 50) ? rnd(f, 128) : rnd(f, _IOC_SIZEMASK + 1));
	if (known_cmd(cmd, which))
		return;
	fd = which == 0 ? f->dev : which == 1 ? f->vm :
	     f->vcpu[rnd(f, f->nr_vcpus)];
	arg = chance(f, 50) ? (unsigned long)f->data : s2mmu_rand64(&f->rng);
	ret = ioctl(fd, cmd, arg);
	if (ACCOUNT(f, K_RAW, ret, errno, ENOTTY) && ret >= 0)
		unexpected(f, "raw ioctl %#x on fd kind %d returned %d", cmd,
			   which, ret);
}

/* The host changes the buffers under the slots. */
static void fuzz_host(struct fuzz *f)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_COLD, MADV_PAGEOUT, MADV_HUGEPAGE,
		MADV_NOHUGEPAGE, MADV_WILLNEED,
	};
	static const int prot[] = {
		PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC,
	};
	__u64 n = 1 + rnd(f, 8);
	char *b = f->buf[rnd(f, NBUF)] + rnd(f, BUF_PAGES - n + 1) * PG;
	void *p;
	int ret = 0;

	switch (rnd(f, 5)) {
	case 0:
		ret = munmap(b, n * PG);
		break;
	case 1:
		p = mmap(b, n * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		ret = p == b ? 0 : -1;
		if (!ret)
			memset(b, 0x5a, n * PG);
		break;
	case 2:
		ret = mprotect(b, n * PG, prot[rnd(f, ARRAY_SIZE(prot))]);
		/* ENOMEM: part of the range is a hole. */
		if (ret && errno == ENOMEM)
			ret = 0;
		break;
	default:
		ret = madvise(b, n * PG, advice[rnd(f, ARRAY_SIZE(advice))]);
		if (ret && (errno == ENOMEM || errno == EINVAL))
			ret = 0;
		break;
	}
	ACCOUNT(f, K_HOST, ret, errno);
}

/* CHECK_INVARIANTS must pass at any point of the walk. */
static void periodic_check(struct fuzz *f)
{
	struct s2mmu_invariants inv;
	int ret = s2mmu_check_invariants(f->vm, &inv);

	f->invariant_checks++;
	if (ret)
		unexpected(f, "CHECK_INVARIANTS at %ld: %d (%llu %llu %llu %llu %llu %llu %llu)",
			   f->iters, ret, (unsigned long long)inv.no_slot,
			   (unsigned long long)inv.host_unmapped,
			   (unsigned long long)inv.bad_pfn,
			   (unsigned long long)inv.bad_write,
			   (unsigned long long)inv.bad_huge,
			   (unsigned long long)inv.bad_accounting,
			   (unsigned long long)inv.stale_tlb);
}

FIXTURE(fuzz) {
	struct fuzz *f;
	long vms_before;
};

FIXTURE_VARIANT(fuzz) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(fuzz, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(fuzz, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(fuzz)
{
	struct s2mmu_vm_info info;
	struct fuzz *f;
	char *area;
	int i;

	self->vms_before = s2mmu_nr_vms();
	f = calloc(1, sizeof(*f));
	ASSERT_NE(NULL, f);
	self->f = f;
	f->vm = -1;
	f->type = variant->type;
	f->dev = s2mmu_open();
	ASSERT_LE(0, f->dev);
	for (i = 0; i < NBUF; i++) {
		f->buf[i] = mmap(NULL, BUF_PAGES * PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, f->buf[i]);
		memset(f->buf[i], i + 1, BUF_PAGES * PG);
	}
	/* data pages, then a hole, then a PROT_NONE page. */
	area = mmap(NULL, (DATA_PAGES + 2) * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	f->data = area;
	f->hole = area + DATA_PAGES * PG;
	f->pnone = f->hole + PG;
	f->edge = f->hole - 8;
	ASSERT_EQ(0, munmap(f->hole, PG));
	ASSERT_EQ(0, mprotect(f->pnone, PG, PROT_NONE));

	f->runs = mmap(NULL, S2MMU_MAX_VCPUS * PG, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, f->runs);

	f->vm = ioctl(f->dev, S2MMU_CREATE_VM, variant->type);
	ASSERT_LE(0, f->vm);
	ASSERT_EQ(0, s2mmu_vm_info(f->vm, &info));
	f->max_gpa = info.max_gpa;
}

FIXTURE_TEARDOWN(fuzz)
{
	struct fuzz *f = self->f;
	int i;

	if (!f)
		return;
	S2MMU_EXPECT_INVARIANTS(f->vm);
	for (i = 0; i < f->nr_vcpus; i++) {
		s2mmu_unmap_run(f->run[i]);
		close(f->vcpu[i]);
	}
	if (f->vm >= 0)
		close(f->vm);
	if (f->dev >= 0)
		close(f->dev);
	for (i = 0; i < NBUF; i++)
		munmap(f->buf[i], BUF_PAGES * PG);
	munmap(f->data, (DATA_PAGES + 2) * PG);
	munmap(f->runs, S2MMU_MAX_VCPUS * PG);
	free(f);
	/* Every VM the fuzzer made, and its own, is gone. */
	if (self->vms_before >= 0)
		EXPECT_EQ(self->vms_before,
			  s2mmu_wait_nr_vms(self->vms_before, 5000));
}

static void print_histogram(struct __test_metadata *_metadata, struct fuzz *f)
{
	char line[512];
	int k, e, n;

	for (k = 0; k < NR_KINDS; k++) {
		n = snprintf(line, sizeof(line), "%-18s %6ld calls:",
			     kind_names[k], f->calls[k]);
		for (e = 0; e <= MAX_ERRNO && n < (int)sizeof(line) - 40; e++)
			if (f->hist[k][e])
				n += snprintf(line + n, sizeof(line) - n, " %s %ld",
					      e ? strerrorname_np(e) : "ok",
					      f->hist[k][e]);
		TH_LOG("%s", line);
	}
}

TEST_F_TIMEOUT(fuzz, random_ioctls, 600)
{
	struct fuzz *f = self->f;
	struct s2mmu_invariants inv;
	unsigned long long seed = s2mmu_seed(DEFAULT_SEED);
	long iters = s2mmu_env_ull("S2MMU_FUZZ_ITERATIONS", DEFAULT_ITERS);
	char *mem, page[PG];
	long long t0 = s2mmu_now_ms();
	int ret, vcpu;

	f->rng = seed ^ (variant->type << 32);
	TH_LOG("seed %#llx (S2MMU_SEED overrides), %ld iterations", seed,
	       iters);
	for (f->iters = 0; f->iters < iters; f->iters++) {
		switch (rnd(f, 24)) {
		case 0:
			fuzz_api(f);
			break;
		case 1:
			fuzz_create_vm(f);
			break;
		case 2:
			fuzz_vm_info(f);
			break;
		case 3 ... 6:
			fuzz_set_region(f);
			break;
		case 7:
			fuzz_create_vcpu(f);
			break;
		case 8:
			fuzz_check_inv(f);
			break;
		case 9 ... 15:
			fuzz_run(f);
			break;
		case 16:
			fuzz_pre_fault(f);
			break;
		case 17:
			fuzz_translate(f);
			break;
		case 18 ... 19:
			fuzz_raw(f);
			break;
		default:
			fuzz_host(f);
			break;
		}
		if (f->iters % 500 == 499)
			periodic_check(f);
	}
	TH_LOG("%ld iterations in %lld ms, %ld vCPUs, %ld invariant checks",
	       f->iters, s2mmu_now_ms() - t0, (long)f->nr_vcpus,
	       f->invariant_checks);
	print_histogram(_metadata, f);
	TH_LOG("RUN exits: %ld done, %ld mmio, %ld memory fault",
	       f->exits[S2MMU_EXIT_DONE], f->exits[S2MMU_EXIT_MMIO],
	       f->exits[S2MMU_EXIT_MEMORY_FAULT]);
	EXPECT_EQ(0, f->unexpected) TH_LOG("first: %s", f->first);
	ASSERT_EQ(0, s2mmu_check_invariants(f->vm, &inv));

	/* The VM still works: a fresh slot, a vCPU, a write and a read. */
	mem = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	for (ret = 0; ret < NR_SLOT_IDS; ret++)
		if (f->slot[ret].used)
			ASSERT_EQ(0, s2mmu_delete_region(f->vm, slot_id(ret)));
	ASSERT_EQ(0, s2mmu_set_region(f->vm, 5, 0, GPA_BASE, 4 * PG,
				      (unsigned long)mem));
	vcpu = f->nr_vcpus ? f->vcpu[0] : s2mmu_create_vcpu(f->vm, 63);
	ASSERT_LE(0, vcpu);
	struct s2mmu_run r = { 0 };
	struct s2mmu_access a = {
		.gpa = GPA_BASE + PG, .len = PG, .uaddr = (unsigned long)page,
		.op = S2MMU_OP_WRITE,
	};

	s2mmu_fill_page(page, 4242);
	r.accesses = (unsigned long)&a;
	r.nr_accesses = 1;
	ASSERT_EQ(0, ioctl(vcpu, S2MMU_RUN, &r));
	ASSERT_EQ(S2MMU_EXIT_DONE, r.exit_reason);
	EXPECT_TRUE(s2mmu_check_page(mem + PG, 4242));
	s2mmu_fill_page(mem + 2 * PG, 4343);
	a.gpa = GPA_BASE + 2 * PG;
	a.op = S2MMU_OP_READ;
	ASSERT_EQ(0, ioctl(vcpu, S2MMU_RUN, &r));
	ASSERT_EQ(S2MMU_EXIT_DONE, r.exit_reason);
	EXPECT_TRUE(s2mmu_check_page(page, 4343));
	EXPECT_EQ(0, s2mmu_delete_region(f->vm, 5));
	if (!f->nr_vcpus)
		close(vcpu);
	munmap(mem, 4 * PG);
}

TEST_HARNESS_MAIN
