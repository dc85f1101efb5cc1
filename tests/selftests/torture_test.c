// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu torture: vCPUs read and write guest memory while a mutator
 * thread changes the host mm under them in every way it can, and every
 * guest read is checked against an exact model of what it may return.
 *
 * The model.  Every page of the slots' host memory holds 8-byte words,
 * each the value of one "generation": a globally unique number written by
 * the host (a stamp), by the guest (S2MMU_OP_WRITE of a whole page), or 0
 * for a page the host replaced with a fresh one (munmap + mmap,
 * MADV_DONTNEED, a THP split).  Every change of a page is an event with a
 * begin and an end on one global sequence counter: the begin is taken
 * before the change starts, the end once it has completed (the syscall
 * or the RUN returned).  A read takes r0 before it starts and r1 after it
 * returned.  A word of value w is legal iff some event E of that page
 * with value w, not a failed guest write, began before r1 and no landed
 * event C of the page began after E ended and ended before r0 (C would
 * have overwritten every word of E before the read started).  Anything
 * else is a stale read (the value was superseded before the read
 * started), a forbidden one (a guest write that exited with a fault and
 * must not have landed) or a bogus one (no such value ever belonged to
 * the page: a wrong or reused frame).
 *
 * The check has no false positives: every event is recorded before its
 * first store and ended after its last, and events are dropped from the
 * per-page history only once superseded before the start of every read
 * in flight.  It cannot pass vacuously: reads, host read-backs of guest
 * writes and mutator operations are counted and must reach minimums.
 *
 * Read-only phases (mprotect) are published with their sequence window:
 * a guest write whose whole RUN falls inside one must exit with a memory
 * fault, and never lands.
 *
 * storm_yielding_zaps runs the same storm for half as long with the
 * module's test_zap_yield set: invalidations drop mmu_lock mid-zap at
 * every opportunity, letting faults in between.
 *
 * Seed: S2MMU_SEED (default fixed, logged).  Duration per VM type:
 * S2MMU_TORTURE_SECONDS (default 12; `make torture` runs it longer).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define WORDS		(PG / sizeof(__u64))
#define HALF		512UL		/* pages per slot: 2 MiB */
#define NPAGES		(3 * HALF)	/* slots 0, 1 (moves), 2 (THP) */
#define NSPLIT		(2 * HALF)	/* VMA-splitting ops stay below */
#define GPA_SLOT0	0x40000000ULL
#define GPA_SLOT2	0x100000000ULL
#define GPA_SLOT1_A	0x80000000ULL
#define GPA_SLOT1_B	0xc0000000ULL
#define NR_VCPUS	2
#define MAX_EV		64
#define SEQ_INF		(~0ULL)
#define RO_HIST		16

#define ZAP_YIELD	"/sys/module/s2mmu/parameters/test_zap_yield"
#define DEFAULT_SEED	0x5eed2025ULL
#define DEFAULT_SECONDS	12

enum ev_state { EV_INFLIGHT, EV_LANDED, EV_FAILED };

struct ev {
	__u64 val;
	__u64 b, e;
	int state;
};

struct page_hist {
	pthread_mutex_t lock;
	unsigned int n;
	struct ev ev[MAX_EV];
};

/* A read-only phase: pages [lo, hi) are PROT_READ from seq @from to @to. */
struct ro_window {
	unsigned long lo, hi;
	__u64 from, to;
};

enum mop {
	MOP_STAMP, MOP_REMAP, MOP_MREMAP, MOP_DONTNEED, MOP_MPROTECT,
	MOP_PAGEOUT, MOP_COLD, MOP_MIGRATE, MOP_COMPACT, MOP_KSM,
	MOP_COLLAPSE, MOP_SPLIT, MOP_SLOT_MOVE, MOP_SLOT_RECREATE, MOP_AGE,
	NR_MOPS
};

static const char * const mop_names[NR_MOPS] = {
	"stamp", "munmap+mmap", "mremap-away-back", "dontneed", "mprotect-ro",
	"pageout", "cold", "move_pages", "compact", "ksm-merge",
	"thp-collapse", "thp-split", "slot-move", "slot-recreate",
	"mglru-age",
};

struct stats {
	long reads, host_reads, writes, write_faults, faults, mmio;
	long raced, stale, bogus, forbidden, ro_landed, unexpected;
};

struct torture {
	char *mem;
	char *away;
	int vm;
	__u64 seq, gen;
	__u64 active[NR_VCPUS + 1];
	__u64 slot1_gpa;
	int stop;
	pthread_mutex_t ro_lock;
	struct ro_window ro[RO_HIST];
	unsigned int ro_next;
	__u64 ro_aim;		/* open read-only range: lo << 32 | n, or 0 */
	long ro_write_faults;	/* guest write faults, all vCPUs */
	struct page_hist pages[NPAGES];
	__u64 seed;
	long ops[NR_MOPS], ops_failed[NR_MOPS], ops_skipped[NR_MOPS];
	long ksm_merged;
	long long last_compact_ms, last_age_ms;
	bool numa, ksm, thp, mglru;
	char first_error[256];
};

struct vcpu_thread {
	struct torture *t;
	int idx, fd;
	struct s2mmu_run *run;
	__u64 rng;
	struct stats st;
	__u64 *buf;
};

/* The global sequence: fenced so it orders the memory accesses around it. */
static __u64 seq_next(struct torture *t)
{
	__u64 s;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	s = __atomic_fetch_add(&t->seq, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return s;
}

static __u64 gen_next(struct torture *t)
{
	return __atomic_add_fetch(&t->gen, 1, __ATOMIC_SEQ_CST);
}

static void note_error(struct torture *t, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;

	pthread_mutex_lock(&lock);
	if (!t->first_error[0]) {
		va_start(ap, fmt);
		vsnprintf(t->first_error, sizeof(t->first_error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&lock);
}

static __u64 min_active(struct torture *t)
{
	__u64 m = SEQ_INF, a;
	int i;

	for (i = 0; i <= NR_VCPUS; i++) {
		a = __atomic_load_n(&t->active[i], __ATOMIC_SEQ_CST);
		if (a < m)
			m = a;
	}
	return m;
}

/* Under ph->lock: is @e overwritten by a landed event ended before @r0? */
static bool superseded(struct page_hist *ph, const struct ev *e, __u64 r0)
{
	unsigned int i;

	if (e->state == EV_INFLIGHT)
		return false;
	for (i = 0; i < ph->n; i++) {
		const struct ev *c = &ph->ev[i];

		if (c != e && c->state == EV_LANDED && c->b > e->e && c->e < r0)
			return true;
	}
	return false;
}

/* Under ph->lock: drop events no read in flight or to come can return. */
static void evict(struct torture *t, struct page_hist *ph)
{
	__u64 m = min_active(t);
	unsigned int i, j = 0;

	for (i = 0; i < ph->n; i++) {
		struct ev *e = &ph->ev[i];
		bool drop = e->state == EV_FAILED ? e->e < m :
			    superseded(ph, e, m);

		if (!drop)
			ph->ev[j++] = *e;
	}
	ph->n = j;
}

/* Record that page @p is about to take value @val; returns the event id. */
static __u64 ev_begin(struct torture *t, unsigned long p, __u64 val)
{
	struct page_hist *ph = &t->pages[p];
	__u64 b;

	for (;;) {
		pthread_mutex_lock(&ph->lock);
		if (ph->n == MAX_EV)
			evict(t, ph);
		if (ph->n < MAX_EV)
			break;
		pthread_mutex_unlock(&ph->lock);
		sched_yield();
	}
	b = seq_next(t);
	ph->ev[ph->n].val = val;
	ph->ev[ph->n].b = b;
	ph->ev[ph->n].e = SEQ_INF;
	ph->ev[ph->n].state = EV_INFLIGHT;
	ph->n++;
	pthread_mutex_unlock(&ph->lock);
	return b;
}

/* The change begun as @id has completed; @landed: it may have written. */
static __u64 ev_end(struct torture *t, unsigned long p, __u64 id, bool landed)
{
	struct page_hist *ph = &t->pages[p];
	__u64 e = seq_next(t);
	unsigned int i;

	pthread_mutex_lock(&ph->lock);
	for (i = 0; i < ph->n; i++) {
		if (ph->ev[i].b == id) {
			ph->ev[i].e = e;
			ph->ev[i].state = landed ? EV_LANDED : EV_FAILED;
			break;
		}
	}
	pthread_mutex_unlock(&ph->lock);
	return e;
}

enum verdict { V_OK, V_RACED, V_STALE, V_FORBIDDEN, V_BOGUS };

/* Under ph->lock: may a read over [r0, r1] return @w on this page? */
static enum verdict judge(struct page_hist *ph, __u64 w, __u64 r0, __u64 r1)
{
	enum verdict v = V_BOGUS;
	__u64 latest_b = 0, latest_val = 0;
	bool found_latest = false;
	unsigned int i;

	for (i = 0; i < ph->n; i++) {
		const struct ev *e = &ph->ev[i];

		if (e->state == EV_LANDED && e->b >= latest_b) {
			latest_b = e->b;
			latest_val = e->val;
			found_latest = true;
		}
	}
	for (i = 0; i < ph->n; i++) {
		const struct ev *e = &ph->ev[i];

		if (e->val != w)
			continue;
		if (e->state == EV_FAILED) {
			if (v == V_BOGUS)
				v = V_FORBIDDEN;
			continue;
		}
		if (e->b > r1)
			continue;
		if (superseded(ph, e, r0)) {
			v = V_STALE;
			continue;
		}
		return found_latest && latest_val == w ? V_OK : V_RACED;
	}
	return v;
}

static bool legal(enum verdict v)
{
	return v == V_OK || v == V_RACED;
}

/* Check a page image read over [r0, r1]; updates @st. */
static void check_page(struct torture *t, struct stats *st, unsigned long p,
		       const __u64 *img, __u64 r0, __u64 r1, const char *who)
{
	struct page_hist *ph = &t->pages[p];
	enum verdict worst = V_OK, v;
	__u64 bad = 0;
	unsigned int i;

	pthread_mutex_lock(&ph->lock);
	for (i = 0; i < WORDS; i++) {
		if (i && img[i] == img[i - 1])
			continue;
		v = judge(ph, img[i], r0, r1);
		if (v > worst) {
			worst = v;
			bad = img[i];
		}
	}
	pthread_mutex_unlock(&ph->lock);
	switch (worst) {
	case V_OK:
		break;
	case V_RACED:
		st->raced++;
		break;
	case V_STALE:
		st->stale++;
		note_error(t, "%s: stale value %#llx in page %lu (read %llu..%llu)",
			   who, (unsigned long long)bad, p,
			   (unsigned long long)r0, (unsigned long long)r1);
		break;
	case V_FORBIDDEN:
		st->forbidden++;
		note_error(t, "%s: page %lu holds %#llx, a guest write that faulted",
			   who, p, (unsigned long long)bad);
		break;
	case V_BOGUS:
		st->bogus++;
		note_error(t, "%s: page %lu holds %#llx, never written there",
			   who, p, (unsigned long long)bad);
		break;
	}
}

static __u64 gpa_of(struct torture *t, unsigned long p)
{
	if (p < HALF)
		return GPA_SLOT0 + p * PG;
	if (p >= NSPLIT)
		return GPA_SLOT2 + (p - NSPLIT) * PG;
	return __atomic_load_n(&t->slot1_gpa, __ATOMIC_SEQ_CST) +
	       (p - HALF) * PG;
}

/* Was [b, e] wholly inside a read-only phase covering page @p? */
static bool inside_ro(struct torture *t, unsigned long p, __u64 b, __u64 e)
{
	bool in = false;
	unsigned int i;

	pthread_mutex_lock(&t->ro_lock);
	for (i = 0; i < RO_HIST; i++) {
		struct ro_window *w = &t->ro[i];

		if (w->from && p >= w->lo && p < w->hi && b > w->from &&
		    e < w->to)
			in = true;
	}
	pthread_mutex_unlock(&t->ro_lock);
	return in;
}

/*
 * A read is in flight from now on: announce a lower bound of its r0
 * before taking r0, so no event it may return is evicted under it.
 */
static void set_active(struct torture *t, int idx)
{
	__u64 now = __atomic_load_n(&t->seq, __ATOMIC_SEQ_CST);

	__atomic_store_n(&t->active[idx], now, __ATOMIC_SEQ_CST);
}

static void fill(__u64 *buf, __u64 val)
{
	unsigned int i;

	for (i = 0; i < WORDS; i++)
		buf[i] = val;
}

/* Read page @p through the host mapping, without faulting on a hole. */
static bool host_read(struct torture *t, unsigned long p, __u64 *buf)
{
	struct iovec local = { .iov_base = buf, .iov_len = PG };
	struct iovec remote = { .iov_base = t->mem + p * PG, .iov_len = PG };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == PG;
}

static void guest_read(struct vcpu_thread *v, unsigned long p)
{
	struct torture *t = v->t;
	__u64 r0, r1;
	int ret;

	set_active(t, v->idx);
	r0 = seq_next(t);
	ret = s2mmu_guest_read(v->fd, v->run, gpa_of(t, p), v->buf, PG);
	r1 = seq_next(t);
	if (ret == S2MMU_EXIT_DONE) {
		v->st.reads++;
		check_page(t, &v->st, p, v->buf, r0, r1, "guest read");
	} else if (ret == S2MMU_EXIT_MMIO) {
		v->st.mmio++;
	} else if (ret == S2MMU_EXIT_MEMORY_FAULT &&
		   v->run->memory_fault.flags == S2MMU_MEMORY_FAULT_NOT_MAPPED) {
		v->st.faults++;
	} else {
		v->st.unexpected++;
		note_error(t, "guest read of page %lu: ret %d flags %#llx", p,
			   ret, (unsigned long long)v->run->memory_fault.flags);
	}
	__atomic_store_n(&t->active[v->idx], SEQ_INF, __ATOMIC_SEQ_CST);
}

static void guest_write(struct vcpu_thread *v, unsigned long p)
{
	struct torture *t = v->t;
	__u64 val = gen_next(t), id, e, r0, r1;
	bool landed;
	int ret;

	fill(v->buf, val);
	id = ev_begin(t, p, val);
	ret = s2mmu_guest_write(v->fd, v->run, gpa_of(t, p), v->buf, PG);
	landed = ret == S2MMU_EXIT_DONE;
	e = ev_end(t, p, id, landed);
	if (ret == S2MMU_EXIT_MMIO) {
		v->st.mmio++;
		return;
	}
	if (ret == S2MMU_EXIT_MEMORY_FAULT &&
	    v->run->memory_fault.flags == (S2MMU_MEMORY_FAULT_NOT_MAPPED |
					   S2MMU_MEMORY_FAULT_WRITE)) {
		v->st.write_faults++;
		__atomic_add_fetch(&t->ro_write_faults, 1, __ATOMIC_RELAXED);
		return;
	}
	if (!landed) {
		v->st.unexpected++;
		note_error(t, "guest write of page %lu: ret %d flags %#llx", p,
			   ret, (unsigned long long)v->run->memory_fault.flags);
		return;
	}
	v->st.writes++;
	if (inside_ro(t, p, id, e)) {
		v->st.ro_landed++;
		note_error(t, "guest write to page %lu landed in a read-only phase",
			   p);
	}
	/* The host sees it, unless the page was replaced since. */
	set_active(t, v->idx);
	r0 = seq_next(t);
	if (host_read(t, p, v->buf)) {
		r1 = seq_next(t);
		v->st.host_reads++;
		check_page(t, &v->st, p, v->buf, r0, r1, "host read-back");
	}
	__atomic_store_n(&t->active[v->idx], SEQ_INF, __ATOMIC_SEQ_CST);
}

static void *vcpu_main(void *arg)
{
	struct vcpu_thread *v = arg;
	struct torture *t = v->t;
	unsigned long p;

	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		__u64 aim = __atomic_load_n(&t->ro_aim, __ATOMIC_RELAXED);

		/* Half the time, write where a read-only phase is open. */
		if (aim && s2mmu_rand_below(&v->rng, 2)) {
			guest_write(v, (aim >> 32) +
				    s2mmu_rand_below(&v->rng, aim & 0xffffffff));
			continue;
		}
		p = s2mmu_rand_below(&v->rng, NPAGES);
		if (s2mmu_rand_below(&v->rng, 10) < 7)
			guest_read(v, p);
		else
			guest_write(v, p);
	}
	return NULL;
}

/* The host writes a new stamp over pages [p, p + n) in place. */
static void host_stamp(struct torture *t, unsigned long p, unsigned long n,
		       __u64 val)
{
	__u64 ids[16];
	unsigned long i;

	for (i = 0; i < n; i++)
		ids[i] = ev_begin(t, p + i, val);
	for (i = 0; i < n; i++)
		fill((__u64 *)(t->mem + (p + i) * PG), val);
	for (i = 0; i < n; i++)
		ev_end(t, p + i, ids[i], true);
}

/* Pages [p, p + n) become fresh zero pages through @fn; its result. */
static int host_zero(struct torture *t, unsigned long p, unsigned long n,
		     int (*fn)(struct torture *t, char *a, size_t len))
{
	__u64 ids[16];
	unsigned long i;
	int ret;

	for (i = 0; i < n; i++)
		ids[i] = ev_begin(t, p + i, 0);
	ret = fn(t, t->mem + p * PG, n * PG);
	for (i = 0; i < n; i++)
		ev_end(t, p + i, ids[i], true);
	return ret;
}

static int do_dontneed(struct torture *t, char *a, size_t len)
{
	return madvise(a, len, MADV_DONTNEED);
}

static int do_remap(struct torture *t, char *a, size_t len)
{
	void *q;

	if (munmap(a, len))
		return -1;
	q = mmap(a, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (q != a) {
		/* Someone took the hole: the model is lost, stop. */
		note_error(t, "mmap at %p after munmap: %p (%s)", a, q,
			   strerror(errno));
		return -1;
	}
	return 0;
}

static int do_mremap(struct torture *t, char *a, size_t len)
{
	void *q = mremap(a, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, t->away);

	if (q != t->away)
		return -1;
	usleep(200);
	q = mremap(t->away, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, a);
	if (q != a) {
		note_error(t, "mremap back to %p: %s", a, strerror(errno));
		return -1;
	}
	/* Keep the scratch range reserved. */
	mmap(t->away, 16 * PG, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	return 0;
}

#define KSM_DIR	"/sys/kernel/mm/ksm/"

/* Identical stamps on [p, p + n), MADV_MERGEABLE, ksmd for a moment. */
static int do_ksm(struct torture *t, unsigned long p, unsigned long n)
{
	long run = s2mmu_read_long(KSM_DIR "run"), full, shared;
	long long deadline;
	char val[32];
	int ret;

	host_stamp(t, p, n, gen_next(t));
	ret = madvise(t->mem + p * PG, n * PG, MADV_MERGEABLE);
	if (ret)
		return ret;
	full = s2mmu_read_long(KSM_DIR "full_scans");
	s2mmu_write_str(KSM_DIR "run", "1");
	deadline = s2mmu_now_ms() + 300;
	while (s2mmu_now_ms() < deadline &&
	       s2mmu_read_long(KSM_DIR "full_scans") < full + 2)
		usleep(5000);
	shared = s2mmu_read_long(KSM_DIR "pages_shared");
	if (shared > 0)
		t->ksm_merged++;
	snprintf(val, sizeof(val), "%ld", run < 0 ? 0 : run);
	s2mmu_write_str(KSM_DIR "run", val);
	return 0;
}

static int do_move_pages(struct torture *t, unsigned long p, unsigned long n)
{
	void *addrs[16];
	int nodes[16], status[16];
	unsigned long i;
	int target = s2mmu_rand_below(&t->seed, 2);

	for (i = 0; i < n; i++) {
		addrs[i] = t->mem + (p + i) * PG;
		nodes[i] = target;
	}
	return syscall(__NR_move_pages, 0, n, addrs, nodes, status, 0) < 0 ?
	       -1 : 0;
}

static int do_mprotect(struct torture *t, unsigned long p, unsigned long n)
{
	struct ro_window *w;
	unsigned int slot;
	long long t0;
	long faults;
	__u64 from;

	if (mprotect(t->mem + p * PG, n * PG, PROT_READ))
		return -1;
	from = seq_next(t);
	pthread_mutex_lock(&t->ro_lock);
	slot = t->ro_next++ % RO_HIST;
	w = &t->ro[slot];
	w->lo = p;
	w->hi = p + n;
	w->from = from;
	w->to = SEQ_INF;
	pthread_mutex_unlock(&t->ro_lock);
	/*
	 * Let the vCPUs aim writes at the range, and keep it read-only
	 * until one of them faulted (at most 50 ms): on a slow kernel
	 * random writes seldom hit a short phase, and the storm must see
	 * write faults.
	 */
	faults = __atomic_load_n(&t->ro_write_faults, __ATOMIC_RELAXED);
	__atomic_store_n(&t->ro_aim, (__u64)p << 32 | n, __ATOMIC_RELAXED);
	usleep(500 + s2mmu_rand_below(&t->seed, 2000));
	t0 = s2mmu_now_ms();
	while (__atomic_load_n(&t->ro_write_faults, __ATOMIC_RELAXED) ==
	       faults && s2mmu_now_ms() - t0 < 50)
		usleep(200);
	__atomic_store_n(&t->ro_aim, 0, __ATOMIC_RELAXED);
	pthread_mutex_lock(&t->ro_lock);
	w->to = seq_next(t);
	pthread_mutex_unlock(&t->ro_lock);
	return mprotect(t->mem + p * PG, n * PG, PROT_READ | PROT_WRITE);
}

static int set_slot1(struct torture *t, __u64 gpa)
{
	int ret = s2mmu_set_region(t->vm, 1, 0, gpa, HALF * PG,
				   (unsigned long)(t->mem + HALF * PG));

	if (!ret)
		__atomic_store_n(&t->slot1_gpa, gpa, __ATOMIC_SEQ_CST);
	return ret;
}

static void mutate(struct torture *t, enum mop op)
{
	unsigned long n = 1 + s2mmu_rand_below(&t->seed, 16);
	unsigned long p = s2mmu_rand_below(&t->seed, NPAGES - n + 1);
	/* THP ops: any slot; collapse succeeds where no VMA was split. */
	unsigned long chunk = s2mmu_rand_below(&t->seed, 3) * HALF;
	/* Ops that split VMAs keep off the THP slot. */
	unsigned long ps = s2mmu_rand_below(&t->seed, NSPLIT - n + 1);
	int ret = 0;

	switch (op) {
	case MOP_STAMP:
		host_stamp(t, p, n, gen_next(t));
		break;
	case MOP_REMAP:
		ret = host_zero(t, ps, n, do_remap);
		if (!ret)
			host_stamp(t, ps, n, gen_next(t));
		break;
	case MOP_MREMAP:
		ret = do_mremap(t, t->mem + ps * PG, n * PG);
		break;
	case MOP_DONTNEED:
		ret = host_zero(t, p, n, do_dontneed);
		break;
	case MOP_MPROTECT:
		ret = do_mprotect(t, ps, n);
		break;
	case MOP_PAGEOUT:
		ret = madvise(t->mem + p * PG, n * PG, MADV_PAGEOUT);
		break;
	case MOP_COLD:
		ret = madvise(t->mem + p * PG, n * PG, MADV_COLD);
		break;
	case MOP_AGE:
		/* Lockless aging racing everything: at most ten a second. */
		if (!t->mglru) {
			t->ops_skipped[op]++;
			return;
		}
		if (s2mmu_now_ms() - t->last_age_ms < 100) {
			host_stamp(t, p, n, gen_next(t));
			return;
		}
		t->last_age_ms = s2mmu_now_ms();
		ret = s2mmu_mglru_age() > 0 ? 0 : -1;
		break;
	case MOP_MIGRATE:
		if (!t->numa) {
			t->ops_skipped[op]++;
			return;
		}
		ret = do_move_pages(t, p, n);
		break;
	case MOP_COMPACT:
		/* Compaction is slow under TCG: at most one a second. */
		if (s2mmu_now_ms() - t->last_compact_ms < 1000) {
			host_stamp(t, p, n, gen_next(t));
			return;
		}
		t->last_compact_ms = s2mmu_now_ms();
		ret = s2mmu_write_str("/proc/sys/vm/compact_memory", "1");
		break;
	case MOP_KSM:
		if (!t->ksm) {
			t->ops_skipped[op]++;
			return;
		}
		ret = do_ksm(t, ps, n < 2 ? 2 : n > 4 ? 4 : n);
		break;
	case MOP_COLLAPSE:
		if (!t->thp) {
			t->ops_skipped[op]++;
			return;
		}
		ret = madvise(t->mem + chunk * PG, HALF * PG, MADV_COLLAPSE);
		break;
	case MOP_SPLIT:
		/* Punch one 4 KiB hole into what may be a THP. */
		p = chunk + s2mmu_rand_below(&t->seed, HALF);
		ret = host_zero(t, p, 1, do_dontneed);
		break;
	case MOP_SLOT_MOVE:
		ret = set_slot1(t, __atomic_load_n(&t->slot1_gpa,
						   __ATOMIC_SEQ_CST) ==
				   GPA_SLOT1_A ? GPA_SLOT1_B : GPA_SLOT1_A);
		if (ret)
			note_error(t, "slot move: %s", strerror(-ret));
		break;
	case MOP_SLOT_RECREATE:
		ret = s2mmu_delete_region(t->vm, 1);
		if (ret) {
			note_error(t, "slot delete: %s", strerror(-ret));
			break;
		}
		usleep(s2mmu_rand_below(&t->seed, 1000));
		ret = set_slot1(t, s2mmu_rand_below(&t->seed, 2) ?
				GPA_SLOT1_A : GPA_SLOT1_B);
		if (ret)
			note_error(t, "slot re-create: %s", strerror(-ret));
		break;
	default:
		break;
	}
	t->ops[op]++;
	if (ret)
		t->ops_failed[op]++;
}

FIXTURE(torture) {
	struct torture *t;
	int vcpu[NR_VCPUS];
	struct s2mmu_run *run[NR_VCPUS];
	long ksm_sleep, ksm_pages, ksm_run;
	long zap_yield;		/* test_zap_yield to restore, or -1 */
};

FIXTURE_VARIANT(torture) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(torture, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(torture, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(torture)
{
	struct torture *t;
	unsigned long p;
	int i;

	for (i = 0; i < NR_VCPUS; i++) {
		self->vcpu[i] = -1;
		self->run[i] = NULL;
	}
	self->zap_yield = -1;
	self->ksm_run = s2mmu_read_long(KSM_DIR "run");
	self->ksm_sleep = s2mmu_read_long(KSM_DIR "sleep_millisecs");
	self->ksm_pages = s2mmu_read_long(KSM_DIR "pages_to_scan");
	t = calloc(1, sizeof(*t));
	ASSERT_NE(NULL, t);
	self->t = t;
	t->vm = -1;
	pthread_mutex_init(&t->ro_lock, NULL);
	for (p = 0; p < NPAGES; p++)
		pthread_mutex_init(&t->pages[p].lock, NULL);
	for (i = 0; i <= NR_VCPUS; i++)
		t->active[i] = SEQ_INF;
	t->seq = 1;

	t->mem = s2mmu_alloc_aligned(NPAGES * PG, S2MMU_PMD_SIZE);
	ASSERT_NE(NULL, t->mem);
	t->away = mmap(NULL, 16 * PG, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, t->away);
	madvise(t->mem, NPAGES * PG, MADV_HUGEPAGE);
	/* The initial stamps: one event per page, landed at sequence 0. */
	for (p = 0; p < NPAGES; p++) {
		__u64 val = gen_next(t);

		fill((__u64 *)(t->mem + p * PG), val);
		t->pages[p].ev[0].val = val;
		t->pages[p].ev[0].state = EV_LANDED;
		t->pages[p].n = 1;
	}
	/* MADV_COLLAPSE (6.1+) of the THP slot, populated. */
	t->thp = !madvise(t->mem + NSPLIT * PG, HALF * PG, MADV_COLLAPSE);
	if (!t->thp)
		TH_LOG("MADV_COLLAPSE: %s: no THP collapse", strerror(errno));
	t->numa = !access("/sys/devices/system/node/node1", F_OK);
	t->ksm = geteuid() == 0 && !access(KSM_DIR "run", W_OK);
	t->mglru = s2mmu_have_mglru();
	if (t->ksm) {
		s2mmu_write_str(KSM_DIR "sleep_millisecs", "0");
		s2mmu_write_str(KSM_DIR "pages_to_scan", "2000");
	}

	t->vm = s2mmu_create_vm(variant->type);
	ASSERT_LE(0, t->vm) TH_LOG("CREATE_VM: %s", strerror(-t->vm));
	ASSERT_EQ(0, s2mmu_set_region(t->vm, 0, 0, GPA_SLOT0, HALF * PG,
				      (unsigned long)t->mem));
	ASSERT_EQ(0, set_slot1(t, GPA_SLOT1_A));
	ASSERT_EQ(0, s2mmu_set_region(t->vm, 2, 0, GPA_SLOT2, HALF * PG,
				      (unsigned long)(t->mem + NSPLIT * PG)));
	for (i = 0; i < NR_VCPUS; i++) {
		self->vcpu[i] = s2mmu_create_vcpu(t->vm, i);
		ASSERT_LE(0, self->vcpu[i]);
		self->run[i] = s2mmu_map_run(self->vcpu[i]);
		ASSERT_NE(NULL, self->run[i]);
	}
}

static void restore_long(const char *path, long v)
{
	char val[32];

	if (v < 0)
		return;
	snprintf(val, sizeof(val), "%ld", v);
	s2mmu_write_str(path, val);
}

FIXTURE_TEARDOWN(torture)
{
	struct torture *t = self->t;
	int i;

	if (t && t->ksm) {
		restore_long(KSM_DIR "run", self->ksm_run);
		restore_long(KSM_DIR "sleep_millisecs", self->ksm_sleep);
		restore_long(KSM_DIR "pages_to_scan", self->ksm_pages);
	}
	restore_long(ZAP_YIELD, self->zap_yield);
	if (!t)
		return;
	S2MMU_EXPECT_INVARIANTS(t->vm);
	for (i = 0; i < NR_VCPUS; i++) {
		s2mmu_unmap_run(self->run[i]);
		if (self->vcpu[i] >= 0)
			close(self->vcpu[i]);
	}
	if (t->vm >= 0)
		close(t->vm);
	munmap(t->mem, NPAGES * PG);
	munmap(t->away, 16 * PG);
	free(t);
}

/* After the storm, with nothing in flight: every page is exactly current. */
static long final_check(struct torture *t, struct vcpu_thread *v)
{
	long bad = 0;
	unsigned long p;
	__u64 r;
	int ret;

	for (p = 0; p < NPAGES; p++) {
		struct stats st = { 0 };

		ret = s2mmu_guest_read(v->fd, v->run, gpa_of(t, p), v->buf, PG);
		if (ret != S2MMU_EXIT_DONE) {
			note_error(t, "final read of page %lu: %d", p, ret);
			bad++;
			continue;
		}
		r = seq_next(t);
		check_page(t, &st, p, v->buf, r, r, "final guest read");
		if (!host_read(t, p, v->buf + 0)) {
			bad++;
			continue;
		}
		check_page(t, &st, p, v->buf, r, r, "final host read");
		/* A value an overlapping change left behind is not "raced". */
		bad += st.stale + st.bogus + st.forbidden;
	}
	return bad;
}

/* An op kind that has neither run nor been skipped yet, or -1. */
static int storm_missing_op(struct torture *t)
{
	int op;

	for (op = 0; op < NR_MOPS; op++)
		if (!t->ops[op] && !t->ops_skipped[op])
			return op;
	return -1;
}

/* The storm over @t's VM of @type, for @seconds, and its checks. */
static void storm(struct __test_metadata *_metadata, struct torture *t,
		  const int *vcpu, struct s2mmu_run *const *run,
		  unsigned long type, unsigned long long seconds)
{
	struct vcpu_thread v[NR_VCPUS];
	unsigned long long seed;
	pthread_t th[NR_VCPUS];
	struct stats sum = { 0 };
	struct timespec ts;
	long long t0, end;
	long min_reads;
	int i, op;

	if (seconds < 1)
		seconds = 1;
	if (seconds > 3000)
		seconds = 3000;
	seed = s2mmu_seed(DEFAULT_SEED) ^ type;
	t->seed = seed;
	TH_LOG("seed %#llx (S2MMU_SEED overrides), %llu s, %d vCPUs, %lu pages",
	       s2mmu_seed(DEFAULT_SEED), seconds, NR_VCPUS, NPAGES);
	TH_LOG("numa %d, ksm %d, thp %d, mglru %d", t->numa, t->ksm, t->thp,
	       t->mglru);

	for (i = 0; i < NR_VCPUS; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].t = t;
		v[i].idx = i;
		v[i].fd = vcpu[i];
		v[i].run = run[i];
		v[i].rng = seed * 31 + i + 1;
		v[i].buf = aligned_alloc(PG, PG);
		ASSERT_NE(NULL, v[i].buf);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, vcpu_main, &v[i]));
	}

	/*
	 * Random ops for @seconds; then, on a machine so loaded that some op
	 * kind has not run yet, the missing ones in turn, for up to twice
	 * as long again: the checks below require every kind to have run,
	 * and a slow machine must not make the storm vacuous (nor fail it).
	 */
	t0 = s2mmu_now_ms();
	end = t0 + seconds * 1000;
	while (!t->first_error[0]) {
		long long now = s2mmu_now_ms();

		if (now < end) {
			op = s2mmu_rand_below(&t->seed, NR_MOPS);
		} else {
			op = storm_missing_op(t);
			if (op < 0 || now >= end + 2 * seconds * 1000)
				break;
		}
		mutate(t, op);
		usleep(s2mmu_rand_below(&t->seed, 2000));
	}
	__atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NR_VCPUS; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 60;
		ASSERT_EQ(0, pthread_timedjoin_np(th[i], NULL, &ts))
			TH_LOG("vCPU %d did not stop: hung in RUN?", i);
	}

	for (i = 0; i < NR_VCPUS; i++) {
		TH_LOG("vCPU %d: %ld reads checked (%ld raced a change), %ld writes",
		       i, v[i].st.reads, v[i].st.raced, v[i].st.writes);
		TH_LOG("vCPU %d: %ld host read-backs, faults: %ld write %ld read, %ld mmio",
		       i, v[i].st.host_reads, v[i].st.write_faults,
		       v[i].st.faults, v[i].st.mmio);
		sum.reads += v[i].st.reads;
		sum.host_reads += v[i].st.host_reads;
		sum.writes += v[i].st.writes;
		sum.write_faults += v[i].st.write_faults;
		sum.raced += v[i].st.raced;
		sum.stale += v[i].st.stale;
		sum.bogus += v[i].st.bogus;
		sum.forbidden += v[i].st.forbidden;
		sum.ro_landed += v[i].st.ro_landed;
		sum.unexpected += v[i].st.unexpected;
	}
	for (op = 0; op < NR_MOPS; op++)
		TH_LOG("op %-16s %6ld done, %ld failed, %ld skipped",
		       mop_names[op], t->ops[op], t->ops_failed[op],
		       t->ops_skipped[op]);
	TH_LOG("accesses checked %ld (guest reads %ld, host read-backs %ld)",
	       sum.reads + sum.host_reads, sum.reads, sum.host_reads);
	TH_LOG("stale %ld, bogus %ld, forbidden %ld, ro-landed %ld, unexpected exits %ld",
	       sum.stale, sum.bogus, sum.forbidden, sum.ro_landed,
	       sum.unexpected);
	TH_LOG("ksm merges seen %ld", t->ksm_merged);
	if (t->first_error[0])
		TH_LOG("first error: %s", t->first_error);

	EXPECT_EQ(0, sum.stale);
	EXPECT_EQ(0, sum.bogus);
	EXPECT_EQ(0, sum.forbidden);
	EXPECT_EQ(0, sum.ro_landed);
	EXPECT_EQ(0, sum.unexpected);
	EXPECT_EQ(0, t->first_error[0]);
	/* Not vacuous: enough checked accesses, and every op kind ran. */
	min_reads = 200 * seconds;
	EXPECT_LE(min_reads, sum.reads);
	EXPECT_LT(0, sum.host_reads);
	EXPECT_LT(0, sum.writes);
	EXPECT_LT(0, sum.write_faults);
	for (op = 0; op < NR_MOPS; op++) {
		const char *name = mop_names[op] ? mop_names[op] : "?";

		if (!t->ops_skipped[op])
			EXPECT_LT(0, t->ops[op]) TH_LOG("op %s never ran", name);
	}

	/* Quiescent: the guest and the host see the latest value everywhere. */
	EXPECT_EQ(0, final_check(t, &v[0])) TH_LOG("%s", t->first_error);
	for (i = 0; i < NR_VCPUS; i++)
		free(v[i].buf);
}

TEST_F_TIMEOUT(torture, storm, 3600)
{
	storm(_metadata, self->t, self->vcpu, self->run, variant->type,
	      s2mmu_env_ull("S2MMU_TORTURE_SECONDS", DEFAULT_SECONDS));
}

/*
 * The same storm, half as long, with the module's test-only
 * test_zap_yield set: every blockable invalidation's zap drops mmu_lock
 * at every opportunity, so faults and other invalidations run in the
 * middle of it.  Nothing stale may come of it either.
 */
TEST_F_TIMEOUT(torture, storm_yielding_zaps, 3600)
{
	if (geteuid() != 0 || access(ZAP_YIELD, W_OK))
		SKIP(return, "needs root and " ZAP_YIELD);
	/* Off by default (it reads "N"); the teardown turns it off again. */
	self->zap_yield = 0;
	ASSERT_EQ(0, s2mmu_write_str(ZAP_YIELD, "1"));
	storm(_metadata, self->t, self->vcpu, self->run, variant->type,
	      s2mmu_env_ull("S2MMU_TORTURE_SECONDS", DEFAULT_SECONDS) / 2);
}

/*
 * The checker itself, on a synthetic history: it flags what it must and
 * nothing else (so a clean storm means something).
 */
TEST(model_self_check)
{
	static struct page_hist ph;
	struct ev *e = ph.ev;

	/* Stamp 7 landed over [10, 20]; zero page (DONTNEED) over [30, 40]. */
	e[0] = (struct ev){ .val = 5, .b = 0, .e = 0, .state = EV_LANDED };
	e[1] = (struct ev){ .val = 7, .b = 10, .e = 20, .state = EV_LANDED };
	e[2] = (struct ev){ .val = 0, .b = 30, .e = 40, .state = EV_LANDED };
	/* A guest write of 9 that faulted; one of 11 still in flight. */
	e[3] = (struct ev){ .val = 9, .b = 50, .e = 60, .state = EV_FAILED };
	e[4] = (struct ev){ .val = 11, .b = 70, .e = SEQ_INF,
			    .state = EV_INFLIGHT };
	ph.n = 5;

	EXPECT_TRUE(legal(judge(&ph, 5, 1, 2)));
	EXPECT_TRUE(legal(judge(&ph, 5, 15, 25)));	/* 7 in progress */
	EXPECT_EQ(V_STALE, judge(&ph, 5, 21, 25));	/* 7 completed */
	EXPECT_TRUE(legal(judge(&ph, 7, 12, 13)));	/* 7 being written */
	EXPECT_TRUE(legal(judge(&ph, 7, 35, 45)));	/* zapped meanwhile */
	EXPECT_EQ(V_STALE, judge(&ph, 7, 41, 45));
	EXPECT_EQ(V_STALE, judge(&ph, 5, 41, 45));
	EXPECT_TRUE(legal(judge(&ph, 0, 41, 45)));
	EXPECT_EQ(V_BOGUS, judge(&ph, 0, 1, 2));	/* zero not begun */
	EXPECT_EQ(V_FORBIDDEN, judge(&ph, 9, 61, 65));
	EXPECT_TRUE(legal(judge(&ph, 11, 71, 72)));
	EXPECT_TRUE(legal(judge(&ph, 0, 71, 72)));	/* 11 may fail */
	EXPECT_EQ(V_BOGUS, judge(&ph, 11, 60, 65));	/* before its begin */
	EXPECT_EQ(V_BOGUS, judge(&ph, 12345, 0, 100));
}

TEST_HARNESS_MAIN
