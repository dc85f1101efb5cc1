// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu_bench: s2mmu side by side with the in-tree software secondary MMU
 * (lib/test_hmm.c, "dmirror"), the GUP floor (tests/bench/gup_floor.c)
 * and the host process itself, in one boot of the bench kernel.
 *
 * Every measurement runs in a fresh child process, so no VM, dmirror
 * mirror or mmu_notifier subscription of one measurement is left on the
 * mm of the next (a subscription, once made, stays on an mm for its
 * lifetime).  The repetitions of a case interleave its variants (subject,
 * baseline, subject, ...) so that TCG's drift hits both alike.
 *
 * Output: one line per measurement,
 *
 *   BENCH <case> <mem> <variant> <rep> <seconds> [key=value ...]
 *
 * which scripts/bench.sh turns into the table, JSON, CSV and plots
 * (tests/bench/report.py).  Documentation/bench.rst describes the cases.
 *
 * Usage: s2mmu_bench [-r REPS] [-m MIB] [CASE...]; cases: populate fault
 * steady munmap aging slots parallel tables nx dirty scale scale4k
 * footprint (default: all).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libs2mmu.h"
#include "test_hmm_uapi.h"
#include "gup_floor.h"

#define KIB		1024ULL
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define PAGE		4096ULL
#define PMD		(2 * MIB)
#define GPA_BASE	(4 * GIB)
#define NR_RESULTS	13
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define DMIRROR_DEV	"/dev/hmm_dmirror0"
#define DMIRROR_CHUNK	PMD

enum mem_kind { MEM_4K, MEM_THP };
static const char * const mem_name[] = { "4k", "thp" };

static unsigned long long mem_size = GIB;
static int reps = 5;

/*
 * The memory of a session (one child process running several variants in
 * turn), populated by the host on first use (populated()).
 */
static char *shared_mem;

/* What a child measured: r[0] is seconds, the rest case-specific. */
struct result {
	int ok;
	double r[NR_RESULTS];
	char keys[NR_RESULTS][24];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set(struct result *res, int i, const char *key, double v)
{
	snprintf(res->keys[i], sizeof(res->keys[i]), "%s", key);
	res->r[i] = v;
}

/* Anonymous memory aligned to 2 MiB, 4 KiB-only or THP-backed. */
static char *mem_alloc(unsigned long long size, enum mem_kind kind)
{
	char *a = s2mmu_alloc_aligned(size, PMD);

	if (!a)
		s2mmu_die("mmap %llu", size);
	if (madvise(a, size, kind == MEM_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		s2mmu_die("madvise");
	return a;
}

static void host_write(char *p, unsigned long long size)
{
	unsigned long long i;

	for (i = 0; i < size; i += PAGE)
		__atomic_store_n(&p[i], 1, __ATOMIC_RELAXED);
}

static unsigned long host_read(char *p, unsigned long long size, int passes)
{
	unsigned long sum = 0;
	unsigned long long i;

	while (passes--)
		for (i = 0; i < size; i += PAGE)
			sum += __atomic_load_n(&p[i], __ATOMIC_RELAXED);
	return sum;
}

/* A VM with @nslots equal slots over [p, p + size) and @nvcpus vCPUs. */
struct vm {
	int fd, vcpu[2];
	struct s2mmu_run *run[2];
};

static void vm_create(struct vm *vm, char *p, unsigned long long size,
		      unsigned int nslots, int nvcpus)
{
	unsigned long long slot_size = size / nslots;
	int i;

	vm->fd = s2mmu_create_vm(S2MMU_VM_X86_TDP);
	if (vm->fd < 0)
		s2mmu_die("S2MMU_CREATE_VM");
	for (i = 0; i < (int)nslots; i++) {
		if (s2mmu_set_region(vm->fd, i, 0, GPA_BASE + i * slot_size,
				     slot_size, (uintptr_t)p + i * slot_size))
			s2mmu_die("S2MMU_SET_MEMORY_REGION %d", i);
	}
	for (i = 0; i < nvcpus; i++) {
		vm->vcpu[i] = s2mmu_create_vcpu(vm->fd, i);
		if (vm->vcpu[i] < 0)
			s2mmu_die("S2MMU_CREATE_VCPU");
		vm->run[i] = s2mmu_map_run(vm->vcpu[i]);
		if (!vm->run[i])
			s2mmu_die("mmap vcpu");
	}
}

static void vm_destroy(struct vm *vm, int nvcpus)
{
	int i;

	for (i = 0; i < nvcpus; i++) {
		s2mmu_unmap_run(vm->run[i]);
		close(vm->vcpu[i]);
	}
	close(vm->fd);
}

/* The session's memory, populated by the host the first time. */
static char *populated(enum mem_kind kind)
{
	if (!shared_mem) {
		shared_mem = mem_alloc(mem_size, kind);
		host_write(shared_mem, mem_size);
	}
	return shared_mem;
}

static void vm_info(struct vm *vm, struct s2mmu_vm_info *info)
{
	if (s2mmu_vm_info(vm->fd, info))
		s2mmu_die("S2MMU_GET_VM_INFO");
}

/* Run @nr accesses on vCPU @i, resuming after S2MMU_EXIT_INTR. */
static void vm_run(struct vm *vm, int i, struct s2mmu_access *a, unsigned int nr)
{
	struct s2mmu_run *run = vm->run[i];

	while (nr) {
		if (s2mmu_vcpu_run(vm->vcpu[i], run, a, nr) < 0 &&
		    errno != EINTR)
			s2mmu_die("S2MMU_RUN");
		if (run->exit_reason != S2MMU_EXIT_DONE &&
		    run->exit_reason != S2MMU_EXIT_INTR) {
			errno = 0;
			s2mmu_die("S2MMU_RUN exit %u at gpa %#llx",
				  run->exit_reason,
				  (unsigned long long)run->memory_fault.gpa);
		}
		if (run->exit_reason == S2MMU_EXIT_DONE)
			return;
		/* Interrupted: redo the access it stopped in. */
		a += run->done;
		nr -= run->done;
	}
}

static void guest_touch(struct vm *vm, int i, unsigned long long gpa,
			unsigned long long len, bool write, unsigned int repeat)
{
	struct s2mmu_access a = {
		.gpa = gpa, .len = len, .op = S2MMU_OP_TOUCH,
		.flags = write ? S2MMU_ACCESS_F_WRITE : 0,
		.stride = PAGE, .repeat = repeat,
	};

	vm_run(vm, i, &a, 1);
}

static void vcpu_pre_fault(struct vm *vm, int i, unsigned long long gpa,
			   unsigned long long size)
{
	struct s2mmu_pre_fault_memory r = { .gpa = gpa, .size = size };

	while (r.size)
		if (s2mmu_pre_fault(vm->vcpu[i], &r) &&
		    errno != EINTR && errno != EAGAIN)
			s2mmu_die("S2MMU_PRE_FAULT_MEMORY");
}

static void vm_pre_fault(struct vm *vm, unsigned long long gpa,
			 unsigned long long size)
{
	vcpu_pre_fault(vm, 0, gpa, size);
}

static void stats_into(struct result *res, int from, struct s2mmu_run *run)
{
	set(res, from, "faults", run->stat_faults);
	set(res, from + 1, "retries", run->stat_fault_retries);
	set(res, from + 2, "tlb_misses", run->stat_tlb_misses);
	set(res, from + 3, "tlb_flushes", run->stat_tlb_flushes);
}

/*
 * The GUP floor over all of @p: one page reference taken and dropped per
 * fault s2mmu takes (per 4 KiB, per 2 MiB on THP).  Returns seconds.
 */
static double gup_floor_range(char *p, unsigned long long len,
			      unsigned long long stride, bool write)
{
	struct gup_floor_run r = {
		.addr = (uintptr_t)p, .len = len, .stride = stride,
		.flags = write ? GUP_FLOOR_F_WRITE : 0,
	};
	double t;
	int fd;

	fd = open(GUP_FLOOR_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		s2mmu_die("open " GUP_FLOOR_DEV);
	t = now();
	if (ioctl(fd, GUP_FLOOR_RUN, &r))
		s2mmu_die("GUP_FLOOR_RUN");
	t = now() - t;
	close(fd);
	return t;
}

static double gup_floor(char *p, enum mem_kind kind, bool write)
{
	return gup_floor_range(p, mem_size, kind == MEM_THP ? PMD : PAGE,
			       write);
}

/*
 * (1) populate fresh memory: guest write TOUCH vs the host writing it (and
 * vs the GUP floor faulting it in for write).
 */
static void c_populate(const char *var, enum mem_kind kind, struct result *res)
{
	char *p = mem_alloc(mem_size, kind);
	struct s2mmu_vm_info info;
	struct vm vm;
	double t;

	if (!strcmp(var, "host")) {
		t = now();
		host_write(p, mem_size);
		set(res, 0, "sec", now() - t);
		return;
	}
	if (!strcmp(var, "gup-floor")) {
		t = gup_floor(p, kind, true);
		set(res, 0, "sec", t);
		return;
	}
	vm_create(&vm, p, mem_size, 1, 1);
	t = now();
	guest_touch(&vm, 0, GPA_BASE, mem_size, true, 1);
	set(res, 0, "sec", now() - t);
	stats_into(res, 1, vm.run[0]);
	vm_info(&vm, &info);
	set(res, 5, "table_pages", info.stat_table_pages);
}

static void dmirror_read_all(int fd, char *p, char *buf,
			     unsigned long long size, unsigned long *faults)
{
	struct hmm_dmirror_cmd cmd;
	unsigned long long off;

	for (off = 0; off < size; off += DMIRROR_CHUNK) {
		memset(&cmd, 0, sizeof(cmd));
		cmd.addr = (uintptr_t)p + off;
		cmd.ptr = (uintptr_t)buf;
		cmd.npages = DMIRROR_CHUNK / PAGE;
		if (ioctl(fd, HMM_DMIRROR_READ, &cmd))
			s2mmu_die("HMM_DMIRROR_READ");
		*faults += cmd.faults;
	}
}

/*
 * (2) fault host-populated memory in: s2mmu (guest read TOUCH, or
 * PRE_FAULT_MEMORY), dmirror READ, the GUP floor.
 */
static void c_fault(const char *var, enum mem_kind kind, struct result *res)
{
	char *p = populated(kind);
	unsigned long faults = 0;
	struct vm vm;
	double t;
	int fd;

	if (!strncmp(var, "s2mmu-touch", 11) || !strcmp(var, "s2mmu-prefault")) {
		vm_create(&vm, p, mem_size, 1, 1);
		/* s2mmu-touch-fa: each read fault maps the most it may. */
		if (!strcmp(var, "s2mmu-touch-fa") &&
		    s2mmu_enable_cap(vm.fd, S2MMU_CAP_FAULT_AROUND, 0,
				     s2mmu_check_extension(vm.fd,
							   S2MMU_CAP_FAULT_AROUND)))
			s2mmu_die("ENABLE_CAP(FAULT_AROUND)");
		t = now();
		if (strcmp(var, "s2mmu-prefault"))
			guest_touch(&vm, 0, GPA_BASE, mem_size, false, 1);
		else
			vm_pre_fault(&vm, GPA_BASE, mem_size);
		set(res, 0, "sec", now() - t);
		stats_into(res, 1, vm.run[0]);
		/*
		 * PRE_FAULT again over the mapped range: the fault path with
		 * nothing to install (GUP, host walk, locks, page dirtying).
		 */
		t = now();
		vm_pre_fault(&vm, GPA_BASE, mem_size);
		set(res, 5, "again_sec", now() - t);
		vm_destroy(&vm, 1);
	} else if (!strcmp(var, "dmirror")) {
		char *buf = malloc(DMIRROR_CHUNK);

		fd = open(DMIRROR_DEV, O_RDWR | O_CLOEXEC);
		if (fd < 0 || !buf)
			s2mmu_die("open " DMIRROR_DEV);
		t = now();
		dmirror_read_all(fd, p, buf, mem_size, &faults);
		set(res, 0, "sec", now() - t);
		set(res, 1, "faults", faults);
		/* Again, now mirrored: what READ costs without faults. */
		t = now();
		dmirror_read_all(fd, p, buf, mem_size, &faults);
		set(res, 2, "warm_sec", now() - t);
		close(fd);
		free(buf);
	} else {
		set(res, 0, "sec", gup_floor(p, kind, false));
	}
}

#define STEADY_PASSES	4

/* (3) steady state: guest read TOUCH over mapped memory vs the host. */
static void c_steady(const char *var, enum mem_kind kind, struct result *res)
{
	char *p = populated(kind);
	struct s2mmu_run before;
	struct vm vm;
	double t;

	if (!strcmp(var, "host")) {
		t = now();
		host_read(p, mem_size, STEADY_PASSES);
		set(res, 0, "sec", now() - t);
		return;
	}
	vm_create(&vm, p, mem_size, 1, 1);
	guest_touch(&vm, 0, GPA_BASE, mem_size, true, 1);
	before = *vm.run[0];
	t = now();
	guest_touch(&vm, 0, GPA_BASE, mem_size, false, STEADY_PASSES);
	set(res, 0, "sec", now() - t);
	set(res, 1, "faults", vm.run[0]->stat_faults - before.stat_faults);
	set(res, 2, "tlb_misses",
	    vm.run[0]->stat_tlb_misses - before.stat_tlb_misses);
	set(res, 3, "touches", (double)STEADY_PASSES * mem_size / PAGE);
	vm_destroy(&vm, 1);
}

/* (4) munmap of fully mapped memory, with the VM mapping it or without. */
static void c_munmap(const char *var, enum mem_kind kind, struct result *res)
{
	char *p = mem_alloc(mem_size, kind);
	struct s2mmu_vm_info a, b;
	struct vm vm;
	double t;

	host_write(p, mem_size);
	if (!strcmp(var, "host")) {
		t = now();
		munmap(p, mem_size);
		set(res, 0, "sec", now() - t);
		return;
	}
	vm_create(&vm, p, mem_size, 1, 1);
	guest_touch(&vm, 0, GPA_BASE, mem_size, true, 1);
	vm_info(&vm, &a);
	t = now();
	munmap(p, mem_size);
	set(res, 0, "sec", now() - t);
	vm_info(&vm, &b);
	set(res, 1, "invalidations", b.stat_invalidations - a.stat_invalidations);
	set(res, 2, "zaps", b.stat_zaps - a.stat_zaps);
	set(res, 3, "remote_flushes",
	    b.stat_remote_tlb_flushes - a.stat_remote_tlb_flushes);
	set(res, 4, "table_pages_before", a.stat_table_pages);
	set(res, 5, "table_pages_after", b.stat_table_pages);
}

/*
 * (5) aging.  /sys/kernel/mm/page_idle/bitmap: setting a frame's bit walks
 * its rmap and clears Accessed with ptep_clear_young_notify() /
 * pmdp_clear_young_notify(), which call mmu_notifier_clear_young() on
 * every secondary MMU of the mm.  (clear_refs does not: it clears the host
 * PTEs only; MGLRU's page table walk neither.)  The bitmap is written with
 * one bit per mapped folio (head frame only for a THP).
 */
struct ager {
	int fd;
	__u64 *words;	/* bitmap of frames, from base word */
	unsigned long base, nwords;
	int stop;		/* __atomic */
	unsigned long passes;
	double sec;
};

static void ager_init(struct ager *ag, char *p, unsigned long long size,
		      enum mem_kind kind)
{
	unsigned long n = size / PAGE, i, lo = ~0UL, hi = 0;
	__u64 *pfn = malloc(n * sizeof(*pfn));
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (!pfn || pm < 0)
		s2mmu_die("pagemap");
	if (pread(pm, pfn, n * sizeof(*pfn),
		  (uintptr_t)p / PAGE * sizeof(*pfn)) != (ssize_t)(n * sizeof(*pfn)))
		s2mmu_die("pread pagemap");
	close(pm);
	for (i = 0; i < n; i++) {
		if (!(pfn[i] & (1ULL << 63)) || !(pfn[i] & ((1ULL << 55) - 1))) {
			errno = 0;
			s2mmu_die("page %lu not present (or no pfn: not root?)", i);
		}
		pfn[i] &= (1ULL << 55) - 1;
		lo = pfn[i] < lo ? pfn[i] : lo;
		hi = pfn[i] > hi ? pfn[i] : hi;
	}
	if (lo > hi)
		s2mmu_die("empty range");
	ag->base = lo / 64;
	ag->nwords = hi / 64 - ag->base + 1;
	ag->words = calloc(ag->nwords, sizeof(__u64));
	if (!ag->words)
		s2mmu_die("calloc");
	for (i = 0; i < n; i += kind == MEM_THP ? PMD / PAGE : 1)
		ag->words[pfn[i] / 64 - ag->base] |= 1ULL << (pfn[i] % 64);
	free(pfn);
	ag->fd = open("/sys/kernel/mm/page_idle/bitmap", O_RDWR | O_CLOEXEC);
	if (ag->fd < 0)
		s2mmu_die("open page_idle/bitmap");
}

/*
 * One aging pass: mark every frame idle (clear_young everywhere).  Runs of
 * non-zero words are written at once; sysfs takes at most a page per
 * write, so a write may be short.
 */
static void ager_pass(struct ager *ag)
{
	unsigned long i = 0, j;
	ssize_t n;

	while (i < ag->nwords) {
		if (!ag->words[i]) {
			i++;
			continue;
		}
		for (j = i; j < ag->nwords && ag->words[j]; j++)
			;
		n = pwrite(ag->fd, ag->words + i, (j - i) * 8,
			   (ag->base + i) * 8);
		if (n <= 0 || n % 8) {
			errno = n < 0 ? errno : EIO;
			s2mmu_die("pwrite page_idle/bitmap");
		}
		i += n / 8;
	}
}

/* The control of the aging case: the other vCPU busy, but not aging. */
static void *spin_thread(void *arg)
{
	struct ager *ag = arg;

	while (!__atomic_load_n(&ag->stop, __ATOMIC_RELAXED))
		ag->passes++;
	return NULL;
}

static void *ager_thread(void *arg)
{
	struct ager *ag = arg;
	double t = now();

	while (!__atomic_load_n(&ag->stop, __ATOMIC_RELAXED)) {
		ager_pass(ag);
		ag->passes++;
	}
	ag->sec = now() - t;
	return NULL;
}

#define AGING_PASSES	4

/* The aging session's VM, mapping all of its memory, and the ager. */
static struct vm aging_vm;
static struct ager aging;
static bool aging_ready;

/*
 * The module's aging before it went lockless (mmu_lock for read around
 * the walk), through the bench build's test_age_locked: both paths in one
 * boot.
 */
#define AGE_LOCKED_KNOB	"/sys/module/s2mmu/parameters/test_age_locked"

static void set_age_locked(bool locked)
{
	int fd = open(AGE_LOCKED_KNOB, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, locked ? "1" : "0", 1) != 1)
		s2mmu_die("%s", AGE_LOCKED_KNOB);
	close(fd);
}

static void c_aging(const char *var, enum mem_kind kind, struct result *res)
{
	struct s2mmu_translation tr;
	struct vm *vm = &aging_vm;
	struct s2mmu_run before;
	bool locked = !strcmp(var, "s2mmu-aging-locked");
	bool age = locked || !strcmp(var, "s2mmu-aging");
	bool spin = !strcmp(var, "s2mmu-spin");
	pthread_t th;
	double t;

	set_age_locked(locked);

	if (!aging_ready) {
		vm_create(vm, populated(kind), mem_size, 1, 1);
		guest_touch(vm, 0, GPA_BASE, mem_size, true, 1);
		ager_init(&aging, shared_mem, mem_size, kind);
		aging_ready = true;
	}
	if (age) {
		/* Check that an aging pass does reach the stage-2 tables. */
		guest_touch(vm, 0, GPA_BASE, PAGE, false, 1);
		if (s2mmu_translate(vm->vcpu[0], GPA_BASE, &tr))
			s2mmu_die("S2MMU_TRANSLATE");
		set(res, 3, "young_before", tr.accessed);
		ager_pass(&aging);
		if (s2mmu_translate(vm->vcpu[0], GPA_BASE, &tr))
			s2mmu_die("S2MMU_TRANSLATE");
		set(res, 4, "young_after", tr.accessed);
	}
	if (age || spin) {
		aging.stop = 0;
		aging.passes = 0;
		if (pthread_create(&th, NULL, age ? ager_thread : spin_thread,
				   &aging))
			s2mmu_die("pthread_create");
	}
	before = *vm->run[0];
	t = now();
	guest_touch(vm, 0, GPA_BASE, mem_size, false, AGING_PASSES);
	set(res, 0, "sec", now() - t);
	set(res, 5, "tlb_misses",
	    vm->run[0]->stat_tlb_misses - before.stat_tlb_misses);
	set(res, 6, "faults", vm->run[0]->stat_faults - before.stat_faults);
	if (spin) {
		__atomic_store_n(&aging.stop, 1, __ATOMIC_RELAXED);
		pthread_join(th, NULL);
	}
	if (age) {
		__atomic_store_n(&aging.stop, 1, __ATOMIC_RELAXED);
		pthread_join(th, NULL);
		set(res, 1, "aging_passes", aging.passes);
		set(res, 2, "aging_pass_sec",
		    aging.passes ? aging.sec / aging.passes : 0);
	}
	set_age_locked(false);
}

/*
 * (6) memory slots: the memory split into N equal slots, faulted in (then
 * touched again) one page per access in an order that moves to another
 * 1/32768th of the memory at every access: with 32764 slots each access
 * is in another slot than the last (no help from the vCPU's last-slot
 * cache), with one slot all are in the same.  The variant is N.
 */
static void c_slots(const char *var, enum mem_kind kind, struct result *res)
{
	unsigned long long unit = mem_size / 32768, covered, slot_size;
	unsigned long long npages, per_unit, nunits, k, i, u;
	unsigned int nslots = atoi(var), pow2 = 1;
	struct s2mmu_access *a;
	struct vm vm;
	double t;
	int pass;

	(void)kind;
	while (pow2 < nslots)
		pow2 <<= 1;
	slot_size = unit * (32768 / pow2);
	covered = slot_size * nslots;
	populated(kind);
	t = now();
	vm_create(&vm, shared_mem, covered, nslots, 1);
	set(res, 6, "create_sec", now() - t);
	npages = covered / PAGE;
	per_unit = unit / PAGE;
	nunits = covered / unit;
	a = calloc(npages, sizeof(*a));
	if (!a)
		s2mmu_die("calloc");
	k = 0;
	for (i = 0; i < per_unit; i++) {
		for (u = 0; u < nunits; u++) {
			a[k].gpa = GPA_BASE + u * unit + i * PAGE;
			a[k].len = 1;
			a[k].op = S2MMU_OP_TOUCH;
			k++;
		}
	}
	for (pass = 0; pass < 2; pass++) {
		t = now();
		for (i = 0; i < npages; i += S2MMU_MAX_ACCESSES)
			vm_run(&vm, 0, a + i, npages - i < S2MMU_MAX_ACCESSES ?
			       npages - i : S2MMU_MAX_ACCESSES);
		set(res, pass, pass ? "steady_sec" : "sec", now() - t);
	}
	set(res, 2, "pages", npages);
	set(res, 3, "faults", vm.run[0]->stat_faults);
	set(res, 4, "tlb_misses", vm.run[0]->stat_tlb_misses);
	set(res, 5, "slots", nslots);
	free(a);
	vm_destroy(&vm, 1);
}

/* (7) parallel faults: 1 or 2 vCPU threads; the host populating likewise. */
struct worker {
	struct vm *vm;
	int i, nthreads;
	bool prefault;
	char *p;
	pthread_barrier_t *go;
};

static void *s2mmu_worker(void *arg)
{
	struct worker *w = arg;
	unsigned long long part = mem_size / w->nthreads;

	pthread_barrier_wait(w->go);
	if (w->prefault)
		vcpu_pre_fault(w->vm, w->i, GPA_BASE + w->i * part, part);
	else
		guest_touch(w->vm, w->i, GPA_BASE + w->i * part, part, false,
			    1);
	return NULL;
}

static void *host_worker(void *arg)
{
	struct worker *w = arg;
	unsigned long long part = mem_size / w->nthreads;

	pthread_barrier_wait(w->go);
	host_write(w->p + w->i * part, part);
	return NULL;
}

static void *s2mmu_vm_worker(void *arg)
{
	struct worker *w = arg;
	unsigned long long part = mem_size / w->nthreads;

	pthread_barrier_wait(w->go);
	guest_touch(w->vm, 0, GPA_BASE, part, false, 1);
	return NULL;
}

/*
 * "s2mmu-2vm": two VMs of one vCPU each, over a half of the memory each
 * (same process, same mm): what two vCPUs cost when they share no VM
 * state (mmu_lock, the tables' counters), only the mm and the host.
 * "s2mmu-pf-1"/"-2": PRE_FAULT_MEMORY instead of guest TOUCH: the fault
 * path alone, without guest mode and its walks.
 */
static void c_parallel(const char *var, enum mem_kind kind, struct result *res)
{
	/* The thread count ends the name ("s2mmu-1", "s2mmu-2vm"). */
	int n = atoi(strrchr(var, '-') + 1), i;
	bool host = !strncmp(var, "host", 4);
	bool vms = !!strstr(var, "vm");
	pthread_barrier_t go;
	struct worker w[2];
	struct vm vm, vm2[2];
	pthread_t th[2];
	double t;
	char *p;

	/* The host populates fresh memory; s2mmu faults the session's. */
	p = host ? mem_alloc(mem_size, kind) : populated(kind);
	if (vms) {
		for (i = 0; i < n; i++)
			vm_create(&vm2[i], p + i * (mem_size / n), mem_size / n,
				  1, 1);
	} else if (!host) {
		vm_create(&vm, p, mem_size, 1, n);
	}
	pthread_barrier_init(&go, NULL, n + 1);
	for (i = 0; i < n; i++) {
		w[i] = (struct worker) { .vm = vms ? &vm2[i] : &vm, .i = i,
					 .nthreads = n, .p = p, .go = &go,
					 .prefault = !!strstr(var, "pf") };
		if (pthread_create(&th[i], NULL,
				   host ? host_worker :
				   vms ? s2mmu_vm_worker : s2mmu_worker, &w[i]))
			s2mmu_die("pthread_create");
	}
	t = now();
	pthread_barrier_wait(&go);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	set(res, 0, "sec", now() - t);
	if (vms) {
		set(res, 1, "faults", vm2[0].run[0]->stat_faults +
		    vm2[1].run[0]->stat_faults);
		vm_destroy(&vm2[0], 1);
		vm_destroy(&vm2[1], 1);
	} else if (!host) {
		set(res, 1, "faults", vm.run[0]->stat_faults +
		    (n > 1 ? vm.run[1]->stat_faults : 0));
		set(res, 2, "retries", vm.run[0]->stat_fault_retries +
		    (n > 1 ? vm.run[1]->stat_fault_retries : 0));
		vm_destroy(&vm, n);
	}
	pthread_barrier_destroy(&go);
}

/* Table pages the format needs at least: one per 512 entries, per level. */
static unsigned long long table_floor(unsigned long long entries, int leaf,
				      int levels)
{
	unsigned long long pages = 0;
	int l;

	for (l = leaf; l < levels; l++) {
		entries = (entries + 511) / 512;
		pages += entries;
	}
	return pages;
}

static unsigned long long host_anon_huge_kib(char *p)
{
	char line[256], want[32];
	unsigned long long kib = 0;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return 0;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)p);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') > strchr(line, '-'))
			in = !strncmp(line, want, strlen(want));
		if (in && sscanf(line, "AnonHugePages: %llu", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* (8) stage-2 table memory, and how much THP memory is mapped at 2 MiB. */
static void c_tables(const char *var, enum mem_kind kind, struct result *res)
{
	char *p = populated(kind);
	struct s2mmu_vm_info info;
	unsigned long long off, huge = 0;
	int leaf = kind == MEM_THP ? 1 : 0;
	struct vm vm;
	double t;

	(void)var;
	vm_create(&vm, p, mem_size, 1, 1);
	t = now();
	guest_touch(&vm, 0, GPA_BASE, mem_size, false, 1);
	set(res, 0, "sec", now() - t);
	vm_info(&vm, &info);
	for (off = 0; off < mem_size; off += PMD) {
		struct s2mmu_translation tr;

		if (s2mmu_translate(vm.vcpu[0], GPA_BASE + off, &tr))
			s2mmu_die("S2MMU_TRANSLATE");
		huge += tr.present && tr.level >= 1;
	}
	set(res, 1, "table_pages", info.stat_table_pages);
	set(res, 2, "floor_pages",
	    table_floor(mem_size >> (12 + 9 * leaf), leaf, info.levels));
	set(res, 3, "pct_2m", 100.0 * huge / (mem_size / PMD));
	set(res, 4, "host_thp_pct",
	    100.0 * host_anon_huge_kib(p) * KIB / mem_size);
	set(res, 5, "levels", info.levels);
}

/*
 * (9) NX huge page recovery against faults.  One x86 TDP VM with the
 * mitigation forced on: vCPU 1 executes the first page of each 2 MiB
 * region of a THP slot (mem_size / 4, host-populated) every 10 ms, so
 * every pass splits the regions recovery made huge again and recovery
 * always has tables to unlink; vCPU 0 populates fresh memory (mem_size /
 * 8) one write TOUCH per 4 KiB (per 2 MiB on THP) in its own RUN, each
 * timed: the fault latency, with the syscall around it.  Variants: no
 * recovery (ratio 0), recovery at ratio 1 every 10 ms under mmu_lock for
 * read, and the same under mmu_lock for write (the test flavour's
 * test_nx_recovery_locked: KVM's path before 6.18).
 */
#define KNOB_DIR	"/sys/module/s2mmu/parameters/"
#define NX_PERIOD_MS	10
#define NX_EXEC_GPA	(64 * GIB)

static void knob_write(const char *name, const char *val)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), KNOB_DIR "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		s2mmu_die("%s", path);
	close(fd);
}

static char knob_read(const char *name)
{
	char path[128], c = 0;
	int fd;

	snprintf(path, sizeof(path), KNOB_DIR "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, &c, 1) != 1)
		s2mmu_die("%s", path);
	close(fd);
	return c;
}

struct nx_exec {
	struct vm *vm;
	struct s2mmu_access *a;
	unsigned int n;
	int stop;		/* __atomic */
	unsigned long passes;
};

static void *nx_exec_thread(void *arg)
{
	struct nx_exec *x = arg;

	while (!__atomic_load_n(&x->stop, __ATOMIC_RELAXED)) {
		vm_run(x->vm, 1, x->a, x->n);
		x->passes++;
		usleep(NX_PERIOD_MS * 1000);
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void c_nx(const char *var, enum mem_kind kind, struct result *res)
{
	bool recover = strcmp(var, "s2mmu-nx-off");
	bool locked = !strcmp(var, "s2mmu-nx-write");
	unsigned long long pop_size = mem_size / 8, exec_size = mem_size / 4;
	unsigned long long step = kind == MEM_THP ? PMD : PAGE, n, i;
	char *pop = mem_alloc(pop_size, kind);
	char *exec = mem_alloc(exec_size, MEM_THP);
	struct s2mmu_memory_region r = {
		.slot = 1, .guest_phys_addr = NX_EXEC_GPA,
		.memory_size = exec_size, .userspace_addr = (uintptr_t)exec,
	};
	struct s2mmu_vm_info a, b;
	struct nx_exec x = { 0 };
	char old_nx = knob_read("nx_huge_pages");
	char buf[8];
	double *lat, t, sum = 0;
	pthread_t th;
	struct vm vm;

	host_write(exec, exec_size);
	knob_write("nx_huge_pages", "force");
	knob_write("nx_huge_pages_recovery_period_ms", "10");
	knob_write("nx_huge_pages_recovery_ratio", recover ? "1" : "0");
	knob_write("test_nx_recovery_locked", locked ? "1" : "0");
	vm_create(&vm, pop, pop_size, 1, 2);
	if (ioctl(vm.fd, S2MMU_SET_MEMORY_REGION, &r))
		s2mmu_die("S2MMU_SET_MEMORY_REGION 1");

	x.vm = &vm;
	x.n = exec_size / PMD;
	x.a = calloc(x.n, sizeof(*x.a));
	n = pop_size / step;
	lat = calloc(n, sizeof(*lat));
	if (!x.a || !lat)
		s2mmu_die("calloc");
	for (i = 0; i < x.n; i++)
		x.a[i] = (struct s2mmu_access){
			.gpa = NX_EXEC_GPA + i * PMD, .len = sizeof(buf),
			.uaddr = (uintptr_t)buf, .op = S2MMU_OP_EXEC,
		};
	/* Map the slot huge, then split every region once. */
	guest_touch(&vm, 1, NX_EXEC_GPA, exec_size, false, 1);
	vm_run(&vm, 1, x.a, x.n);
	vm_info(&vm, &a);
	if (pthread_create(&th, NULL, nx_exec_thread, &x))
		s2mmu_die("pthread_create");

	for (i = 0; i < n; i++) {
		t = now();
		guest_touch(&vm, 0, GPA_BASE + i * step, PAGE, true, 1);
		lat[i] = now() - t;
		sum += lat[i];
	}
	__atomic_store_n(&x.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	vm_info(&vm, &b);
	qsort(lat, n, sizeof(*lat), cmp_double);
	set(res, 0, "sec", sum);
	set(res, 1, "p50_us", lat[n / 2] * 1e6);
	set(res, 2, "p99_us", lat[n * 99 / 100] * 1e6);
	set(res, 3, "max_us", lat[n - 1] * 1e6);
	set(res, 4, "recoveries",
	    b.stat_nx_lpage_recoveries - a.stat_nx_lpage_recoveries);
	set(res, 5, "splits_start", a.stat_nx_lpage_splits);
	set(res, 6, "exec_passes", x.passes);
	set(res, 7, "faults", n);
	vm_destroy(&vm, 2);
	knob_write("test_nx_recovery_locked", "0");
	knob_write("nx_huge_pages_recovery_ratio", "60");
	knob_write("nx_huge_pages_recovery_period_ms", "0");
	knob_write("nx_huge_pages", old_nx == 'Y' ? "Y" : "N");
	free(lat);
	free(x.a);
}

/*
 * Run one session in a child process: the case's memory (populated by the
 * host when the case shares it), then each variant of @vars in turn,
 * rotated by @rep so that no variant always runs first.  Prints a line per
 * variant; returns the number of failures.
 */
static int session(const char *name, enum mem_kind kind, int rep,
		   void (*fn)(const char *var, enum mem_kind kind,
			      struct result *res),
		   const char * const *vars, int nvars)
{
	struct result res;
	int fds[2], status, i, j, got = 0;
	pid_t pid;

	fflush(stdout);
	if (pipe(fds))
		s2mmu_die("pipe");
	pid = fork();
	if (pid < 0)
		s2mmu_die("fork");
	if (!pid) {
		close(fds[0]);
		for (i = 0; i < nvars; i++) {
			memset(&res, 0, sizeof(res));
			fn(vars[(i + rep) % nvars], kind, &res);
			res.ok = (i + rep) % nvars + 1;
			if (write(fds[1], &res, sizeof(res)) != sizeof(res))
				_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	while (read(fds[0], &res, sizeof(res)) == sizeof(res)) {
		got++;
		printf("BENCH %s %s %s %d %.6f", name, mem_name[kind],
		       vars[res.ok - 1], rep, res.r[0]);
		for (j = 1; j < NR_RESULTS; j++)
			if (res.keys[j][0])
				printf(" %s=%.6g", res.keys[j], res.r[j]);
		printf("\n");
	}
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (got < nvars || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("BENCH-FAIL %s %s rep %d: %d of %d variants\n", name,
		       mem_name[kind], rep, got, nvars);
		return 1;
	}
	return 0;
}

/*
 * (10) dirty logging, in the manner of KVM's dirty_log_perf_test: the
 * memory is mapped writable first, then the vCPU writes every page of it
 * DIRTY_PASSES times, and after each pass (logging on) the VMM takes one
 * S2MMU_GET_DIRTY_LOG, which without manual protect is a whole get and
 * clear: the marks are taken and their pages protected again.  Variants:
 * logging off, write-protection mode, Dirty-bit mode.  "sec" is one
 * write pass, "harvest_sec" one get+clear of the whole memory;
 * "reported_pct" checks every page written was reported.
 */
#define DIRTY_PASSES	4

static void c_dirty(const char *var, enum mem_kind kind, struct result *res)
{
	struct s2mmu_enable_cap cap = { .cap = S2MMU_CAP_DIRTY_LOG_MODE };
	unsigned long long npages = mem_size / PAGE, reported = 0, i;
	bool log = strcmp(var, "s2mmu-nolog") != 0;
	char *p = populated(kind);
	struct s2mmu_dirty_log dl = { .slot = 0 };
	double t, write_sec = 0, get_sec = 0;
	__u64 *bitmap;
	struct vm vm;
	int pass;

	bitmap = calloc((npages + 63) / 64, sizeof(*bitmap));
	if (!bitmap)
		s2mmu_die("calloc");
	dl.dirty_bitmap = bitmap;
	vm_create(&vm, p, mem_size, 1, 1);
	cap.args[0] = strcmp(var, "s2mmu-log-dbit") ?
		      S2MMU_DIRTY_LOG_MODE_WRPROT : S2MMU_DIRTY_LOG_MODE_DBIT;
	if (log && ioctl(vm.fd, S2MMU_ENABLE_CAP, &cap))
		s2mmu_die("S2MMU_ENABLE_CAP");
	guest_touch(&vm, 0, GPA_BASE, mem_size, true, 1);
	if (log && s2mmu_set_region(vm.fd, 0, S2MMU_MEM_LOG_DIRTY_PAGES,
				    GPA_BASE, mem_size, (uintptr_t)p))
		s2mmu_die("S2MMU_SET_MEMORY_REGION (log)");
	for (pass = 0; pass < DIRTY_PASSES; pass++) {
		t = now();
		guest_touch(&vm, 0, GPA_BASE, mem_size, true, 1);
		write_sec += now() - t;
		if (!log)
			continue;
		t = now();
		if (ioctl(vm.fd, S2MMU_GET_DIRTY_LOG, &dl))
			s2mmu_die("S2MMU_GET_DIRTY_LOG");
		get_sec += now() - t;
		for (i = 0; i < (npages + 63) / 64; i++)
			reported += __builtin_popcountll(bitmap[i]);
	}
	set(res, 0, "sec", write_sec / DIRTY_PASSES);
	set(res, 1, "harvest_sec", get_sec / DIRTY_PASSES);
	set(res, 2, "reported_pct",
	    log ? 100.0 * reported / (npages * DIRTY_PASSES) : 0);
	vm_destroy(&vm, 1);
	free(bitmap);
}

/*
 * (11) scale: guest memory from 1 GiB to 1 TiB read over the host's huge
 * zero page (MAP_NORESERVE, MADV_HUGEPAGE; the host read-faults one byte
 * per 2 MiB first), and 1 or 8 GiB at 4 KiB over the 4 KiB zero page.
 * Per variant (its size): PRE_FAULT_MEMORY of all of it ("sec", and per
 * GiB), stage-2 table pages against the format's floor, the host's own
 * page-table memory for the same mapping (VmPTE), then the teardowns:
 * deleting the slot, and (after faulting it all in again) closing the
 * VM, each timed with the worst scheduling latency a SCHED_FIFO thread
 * on the same CPU saw meanwhile (it sleeps 1 ms at a time).
 */
struct lat_probe {
	pthread_t th;
	int stop;
	double max_us;
};

static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		s2mmu_die("sched_setaffinity");
}

static void *lat_probe_fn(void *arg)
{
	struct sched_param sp = { .sched_priority = 1 };
	struct lat_probe *lp = arg;
	struct timespec d = { 0, 1000000 };

	pin_cpu0();
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		s2mmu_die("sched_setscheduler");
	while (!__atomic_load_n(&lp->stop, __ATOMIC_RELAXED)) {
		double t = now(), late;

		nanosleep(&d, NULL);
		late = (now() - t) * 1e6 - 1000;
		if (late > lp->max_us)
			lp->max_us = late;
	}
	return NULL;
}

static void lat_probe_start(struct lat_probe *lp)
{
	__atomic_store_n(&lp->stop, 0, __ATOMIC_RELAXED);
	lp->max_us = 0;
	if (pthread_create(&lp->th, NULL, lat_probe_fn, lp))
		s2mmu_die("pthread_create");
	usleep(20000);
}

static double lat_probe_stop(struct lat_probe *lp)
{
	__atomic_store_n(&lp->stop, 1, __ATOMIC_RELAXED);
	pthread_join(lp->th, NULL);
	return lp->max_us;
}

/* The value of the "@key: N kB" line of @path (a /proc file). */
static long long proc_kib(const char *path, const char *key)
{
	size_t n = strlen(key);
	long long kib = -1;
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		s2mmu_die("%s", path);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':' &&
		    sscanf(line + n + 1, "%lld", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		s2mmu_die("%s: no %s", path, key);
	return kib;
}

static long long vm_pte_kib(void)
{
	return proc_kib("/proc/self/status", "VmPTE");
}

static void c_scale(const char *var, enum mem_kind kind, struct result *res)
{
	unsigned long long size = strtoull(var, NULL, 10) *
				  (strchr(var, 't') ? 1024 * GIB : GIB);
	unsigned long long step = kind == MEM_THP ? PMD : PAGE, off;
	int leaf = kind == MEM_THP ? 1 : 0;
	struct s2mmu_vm_info info;
	struct lat_probe lp;
	unsigned long sum = 0;
	long long pte;
	struct vm vm;
	char *raw, *p;
	double t;

	pin_cpu0();
	raw = mmap(NULL, size + PMD, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		s2mmu_die("mmap %llu", size);
	p = (char *)(((uintptr_t)raw + PMD - 1) & ~(PMD - 1));
	if (madvise(p, size, kind == MEM_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		s2mmu_die("madvise");
	pte = vm_pte_kib();
	t = now();
	for (off = 0; off < size; off += step)
		sum += __atomic_load_n(&p[off], __ATOMIC_RELAXED);
	if (sum)
		s2mmu_die("zero page read %lu", sum);
	set(res, 1, "host_sec", now() - t);
	set(res, 2, "host_pt_pages", (vm_pte_kib() - pte) / 4.0);

	/* The probe's own floor: the same CPU doing nothing. */
	lat_probe_start(&lp);
	usleep(200000);
	set(res, 10, "idle_lat_us", lat_probe_stop(&lp));
	/* The GUP floor over the same mapping: a reference per leaf. */
	set(res, 11, "floor_sec_per_gib",
	    gup_floor_range(p, size, step, false) / (size / GIB));

	vm_create(&vm, p, size, 1, 1);
	t = now();
	vm_pre_fault(&vm, GPA_BASE, size);
	t = now() - t;
	set(res, 0, "sec", t);
	set(res, 3, "sec_per_gib", t / (size / GIB));
	vm_info(&vm, &info);
	set(res, 4, "table_pages", info.stat_table_pages);
	set(res, 5, "floor_pages",
	    table_floor(size >> (12 + 9 * leaf), leaf, info.levels));
	/* Again over what is mapped: the fault path with no install. */
	t = now();
	vm_pre_fault(&vm, GPA_BASE, size);
	set(res, 12, "again_sec_per_gib", (now() - t) / (size / GIB));

	lat_probe_start(&lp);
	t = now();
	if (s2mmu_set_region(vm.fd, 0, 0, GPA_BASE, 0, (uintptr_t)p))
		s2mmu_die("S2MMU_SET_MEMORY_REGION (delete)");
	t = now() - t;
	set(res, 6, "delete_sec_per_gib", t / (size / GIB));
	set(res, 7, "delete_lat_us", lat_probe_stop(&lp));

	/* Closing a VM that maps it all: its teardown, timed the same way. */
	if (s2mmu_set_region(vm.fd, 0, 0, GPA_BASE, size, (uintptr_t)p))
		s2mmu_die("S2MMU_SET_MEMORY_REGION");
	vm_pre_fault(&vm, GPA_BASE, size);
	lat_probe_start(&lp);
	t = now();
	vm_destroy(&vm, 1);
	t = now() - t;
	set(res, 8, "close_sec_per_gib", t / (size / GIB));
	set(res, 9, "close_lat_us", lat_probe_stop(&lp));
	munmap(raw, size + PMD);
}

/*
 * (12) footprint: the memory a VM and a vCPU hold at rest, as the test
 * flavour's test_footprint parameter reports it from the objects' types
 * (the allocator's rounding included): per VM its object, its per-CPU
 * parts on every CPU and its root table page (checked against
 * S2MMU_GET_VM_INFO's table pages of a new VM); per vCPU its object (the
 * software TLB in it) and its run and bounce pages.  A vCPU's table page
 * cache holds up to one page per level once it has faulted (refilled
 * before each fault).  MemFree is no measure of it: allocations served
 * from the per-CPU page lists leave it unchanged.
 */
#define FOOTPRINT_PARAM "/sys/module/s2mmu/parameters/test_footprint"

static unsigned long long footprint_field(const char *line, const char *key)
{
	const char *at = strstr(line, key);

	if (!at || at[strlen(key)] != '=')
		s2mmu_die(FOOTPRINT_PARAM ": no %s", key);
	return strtoull(at + strlen(key) + 1, NULL, 10);
}

static void c_footprint(const char *var, enum mem_kind kind, struct result *res)
{
	/* Per-CPU parts exist for every CPU the kernel counts possible. */
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	struct s2mmu_vm_info info;
	char line[512] = "";
	double t = now();
	struct vm vm;
	FILE *f;

	(void)var;
	(void)kind;
	f = fopen(FOOTPRINT_PARAM, "r");
	if (!f || !fgets(line, sizeof(line), f))
		s2mmu_die(FOOTPRINT_PARAM);
	fclose(f);
	vm.fd = s2mmu_create_vm(S2MMU_VM_X86_TDP);
	if (vm.fd < 0)
		s2mmu_die("S2MMU_CREATE_VM");
	vm_info(&vm, &info);
	close(vm.fd);
	if (info.stat_table_pages != footprint_field(line, "vm_pages"))
		s2mmu_die("a new VM holds %llu table pages",
			  (unsigned long long)info.stat_table_pages);
	set(res, 1, "kib_per_vm",
	    (footprint_field(line, "vm_slab") +
	     ncpus * footprint_field(line, "vm_percpu") +
	     footprint_field(line, "vm_pages") * PAGE) / 1024.0);
	set(res, 2, "kib_per_vcpu",
	    (footprint_field(line, "vcpu_slab") +
	     footprint_field(line, "vcpu_pages") * PAGE) / 1024.0);
	set(res, 3, "kib_vcpu_tlb", footprint_field(line, "tlb") / 1024.0);
	set(res, 4, "kib_vcpu_table_cache",
	    info.levels * PAGE / 1024.0);
	set(res, 0, "sec", now() - t);
}

#define MAX_SESSIONS	4
#define MAX_VARS	5

/*
 * A case: its variants, grouped in sessions.  Variants of one session
 * share a child process and its host-populated memory; those that must
 * start from a fresh mm (populating, munmap) get one each.
 */
struct bench_case {
	const char *name;
	void (*fn)(const char *var, enum mem_kind kind, struct result *res);
	enum { BOTH, ONLY_4K, ONLY_THP } kinds;
	const char *sessions[MAX_SESSIONS][MAX_VARS];
};

static const struct bench_case cases[] = {
	{ "populate", c_populate, BOTH,
	  { { "s2mmu" }, { "host" }, { "gup-floor" } } },
	{ "fault", c_fault, BOTH,
	  { { "s2mmu-touch", "dmirror", "gup-floor", "s2mmu-prefault",
	      "s2mmu-touch-fa" } } },
	{ "steady", c_steady, BOTH, { { "s2mmu", "host" } } },
	{ "munmap", c_munmap, BOTH, { { "s2mmu" }, { "host" } } },
	{ "aging", c_aging, BOTH,
	  { { "s2mmu-aging", "s2mmu", "s2mmu-spin", "s2mmu-aging-locked" } } },
	/* Slots below 2 MiB: THP cannot be mapped huge, so 4 KiB only. */
	{ "slots", c_slots, ONLY_4K, { { "1", "64", "1024", "32764" } } },
	{ "parallel", c_parallel, BOTH,
	  { { "s2mmu-1", "s2mmu-2", "s2mmu-2vm" }, { "s2mmu-pf-1", "s2mmu-pf-2" },
	    { "host-1" }, { "host-2" } } },
	{ "tables", c_tables, BOTH, { { "s2mmu" } } },
	/* The populating vCPU's memory: 4 KiB only (one fault per RUN). */
	{ "nx", c_nx, ONLY_4K,
	  { { "s2mmu-nx-off" }, { "s2mmu-nx-read" }, { "s2mmu-nx-write" } } },
	{ "dirty", c_dirty, BOTH,
	  { { "s2mmu-nolog", "s2mmu-log-wp", "s2mmu-log-dbit" } } },
	/* Its own sizes, not -m: the huge zero page up to 1 TiB... */
	{ "scale", c_scale, ONLY_THP, { { "1g" }, { "64g" }, { "1t" } } },
	/* ...and 4 KiB leaves over the 4 KiB zero page. */
	{ "scale4k", c_scale, ONLY_4K, { { "1g" }, { "8g" } } },
	{ "footprint", c_footprint, ONLY_4K, { { "s2mmu" } } },
};

static int run_case(const struct bench_case *c)
{
	int fails = 0, rep, k, i, n, ns;

	for (ns = 0; ns < MAX_SESSIONS && c->sessions[ns][0]; ns++)
		;
	for (k = MEM_4K; k <= MEM_THP; k++) {
		if ((c->kinds == ONLY_THP && k == MEM_4K) ||
		    (c->kinds == ONLY_4K && k == MEM_THP))
			continue;
		for (rep = 0; rep < reps; rep++) {
			for (i = 0; i < ns; i++) {
				const char * const *v = c->sessions[(i + rep) % ns];

				for (n = 0; n < MAX_VARS && v[n]; n++)
					;
				fails += session(c->name, k, rep, c->fn,
						 v, n);
			}
		}
	}
	return fails;
}

int main(int argc, char **argv)
{
	unsigned int i;
	int opt, fails = 0, any = 0, a;

	/* s2mmu_die(): "BENCH-ERROR <what>: <strerror(errno)>", _exit(1). */
	s2mmu_set_die_prefix("BENCH-ERROR ");
	while ((opt = getopt(argc, argv, "r:m:")) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 'm':
			mem_size = strtoull(optarg, NULL, 0) * MIB;
			break;
		default:
			fprintf(stderr, "usage: %s [-r REPS] [-m MIB] [CASE...]\n",
				argv[0]);
			return 2;
		}
	}
	if (reps < 1 || mem_size < 128 * MIB || mem_size % (64 * MIB)) {
		fprintf(stderr, "need REPS >= 1, MIB >= 128 and a multiple of 64\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("BENCH-CONFIG mib=%llu reps=%d cpus=%ld\n", mem_size / MIB, reps,
	       sysconf(_SC_NPROCESSORS_ONLN));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bool want = optind == argc;

		for (a = optind; a < argc; a++)
			want |= !strcmp(argv[a], cases[i].name);
		if (!want)
			continue;
		any = 1;
		printf("BENCH-CASE %s\n", cases[i].name);
		fails += run_case(&cases[i]);
	}
	if (!any) {
		fprintf(stderr, "no such case\n");
		return 2;
	}
	printf("BENCH-DONE fails=%d\n", fails);
	return fails ? 1 : 0;
}
