// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: NX huge pages on x86 TDP VMs, a port of KVM's
 * nx_huge_pages_test flow.  With nx_huge_pages forced on, over a slot of
 * three 2 MiB regions backed by THP (and hugetlb when pages can be
 * reserved): reads map 2 MiB leaves, an exec splits its region and counts
 * a split, and recovery at ratio 1 every 100 ms makes the regions huge
 * again.  Recovery is held off (ratio 0) until the step that waits for
 * it, so a slow (TCG) run cannot see it early.  Also the per-VM opt-out,
 * exec of 4 KiB-mapped memory, toggling the parameter while a vCPU runs,
 * and the first version of S2MMU_GET_VM_INFO; and nx_storm, recovery
 * racing exec and read faults while the host splits and collapses THPs
 * (S2MMU_NX_STORM_SECONDS, default 3).  The harness unloads the
 * module after the tests, with recovery workers armed until the last VM
 * closed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define HPAGE		S2MMU_PMD_SIZE
#define NR_HPAGES	3
#define GPA_BASE	0x40000000ULL
#define PERIOD_MS	100
#define DEFAULT_SEED	0x5eed2026ULL

#define NX_PARAM	"/sys/module/s2mmu/parameters/nx_huge_pages"
#define RATIO_PARAM	"/sys/module/s2mmu/parameters/nx_huge_pages_recovery_ratio"
#define PERIOD_PARAM	"/sys/module/s2mmu/parameters/nx_huge_pages_recovery_period_ms"
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

/* nx_huge_pages reads Y, N or never. */
static char nx_param(void)
{
	char buf[16] = "";
	int fd = open(NX_PARAM, O_RDONLY);

	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return buf[0];
}

/* Put back the NX parameters a test changed ('Y'/'N'; -1: unread). */
static void nx_params_restore(char nx, long ratio, long period)
{
	if (nx == 'Y' || nx == 'N')
		s2mmu_write_str(NX_PARAM, nx == 'Y' ? "Y" : "N");
	if (ratio >= 0)
		s2mmu_set_knob(RATIO_PARAM, ratio);
	if (period >= 0)
		s2mmu_set_knob(PERIOD_PARAM, period);
}

FIXTURE(nx) {
	int vm;
	int vcpu;
	struct s2mmu_run *run;
	char *mem;
	size_t size;
	bool hugetlb;
	long old_ratio, old_period, old_nr_hugepages;
	char old_nx;
};

FIXTURE_VARIANT(nx) {
	bool hugetlb;
	bool small;		/* 4 KiB host pages */
	unsigned long flags;	/* S2MMU_CREATE_VM flags */
};

FIXTURE_VARIANT_ADD(nx, thp) {
};

FIXTURE_VARIANT_ADD(nx, hugetlb) {
	.hugetlb = true,
};

FIXTURE_VARIANT_ADD(nx, small) {
	.small = true,
};

FIXTURE_VARIANT_ADD(nx, opt_out) {
	.flags = S2MMU_VM_DISABLE_NX_HUGE_PAGES,
};

/* Host memory for the slot: THP, hugetlb or small pages; NULL to skip. */
static char *nx_mem(struct __test_metadata *_metadata,
		    struct _test_data_nx *self, const struct _fixture_variant_nx *variant)
{
	size_t size = NR_HPAGES * HPAGE;
	char *p;

	if (variant->hugetlb) {
		self->old_nr_hugepages = s2mmu_read_long(NR_HUGEPAGES);
		if (self->old_nr_hugepages < NR_HPAGES)
			s2mmu_set_knob(NR_HUGEPAGES, NR_HPAGES);
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		self->hugetlb = true;
	} else {
		p = s2mmu_alloc_aligned(size, HPAGE);
		if (!p)
			return NULL;
		madvise(p, size, variant->small ? MADV_NOHUGEPAGE :
						  MADV_HUGEPAGE);
	}
	memset(p, 0xc3, size);
	self->size = size;
	return p;
}

FIXTURE_SETUP(nx)
{
	self->vm = -1;
	self->vcpu = -1;
	self->old_nr_hugepages = -1;
	self->old_nx = nx_param();
	if (!self->old_nx)
		SKIP(return, "no nx_huge_pages parameter");
	if (self->old_nx == 'n')
		SKIP(return, "nx_huge_pages is never");
	self->old_ratio = s2mmu_read_long(RATIO_PARAM);
	self->old_period = s2mmu_read_long(PERIOD_PARAM);
	ASSERT_EQ(0, s2mmu_write_str(NX_PARAM, "force"));
	/* Recovery waits for the test's step (ratio 1) that wants it. */
	ASSERT_EQ(0, s2mmu_set_knob(RATIO_PARAM, 0));
	ASSERT_EQ(0, s2mmu_set_knob(PERIOD_PARAM, PERIOD_MS));
	if (!variant->hugetlb && !variant->small && !s2mmu_thp_available())
		SKIP(return, "THP not available");
	self->mem = nx_mem(_metadata, self, variant);
	if (!self->mem)
		SKIP(return, "no %s memory", variant->hugetlb ? "hugetlb" : "THP");
	s2mmu_setup_guest(_metadata, S2MMU_VM_X86_TDP | variant->flags,
			  self->mem, GPA_BASE, self->size, &self->vm,
			  &self->vcpu, &self->run);
}

FIXTURE_TEARDOWN(nx)
{
	if (self->vm >= 0)
		s2mmu_teardown_guest(_metadata, self->vm, self->vcpu,
				     self->run, self->mem, self->size);
	else if (self->mem)
		munmap(self->mem, self->size);
	if (self->old_nr_hugepages >= 0)
		s2mmu_set_knob(NR_HUGEPAGES, self->old_nr_hugepages);
	nx_params_restore(self->old_nx, self->old_ratio, self->old_period);
}

static __u64 hpage(int i)
{
	return GPA_BASE + (__u64)(i - 1) * HPAGE;
}

static int nx_access(struct _test_data_nx *self, __u32 op, __u64 gpa)
{
	char buf[64];

	return s2mmu_vcpu_access(self->vcpu, self->run, op, gpa, buf,
				 sizeof(buf));
}

/* 2 MiB leaves mapping the slot, from S2MMU_TRANSLATE of each region. */
static int pages_2m(struct _test_data_nx *self)
{
	struct s2mmu_translation t;
	int i, n = 0;

	for (i = 1; i <= NR_HPAGES; i++)
		if (!s2mmu_translate(self->vcpu, hpage(i), &t) && t.present &&
		    t.level == 1)
			n++;
	return n;
}

static struct s2mmu_vm_info nx_info(struct __test_metadata *_metadata,
				    struct _test_data_nx *self)
{
	struct s2mmu_vm_info info;

	EXPECT_EQ(0, s2mmu_vm_info(self->vm, &info));
	return info;
}

#define EXPECT_NX(m, s)							\
	do {								\
		struct s2mmu_vm_info __i = nx_info(_metadata, self);	\
									\
		EXPECT_EQ(m, pages_2m(self));				\
		EXPECT_EQ(s, __i.stat_nx_lpage_splits);			\
	} while (0)

/* The host maps the slot with 2 MiB pages (THP may not have given one). */
static bool host_huge(struct _test_data_nx *self)
{
	struct s2mmu_translation t;
	int i;

	for (i = 1; i <= NR_HPAGES; i++) {
		if (nx_access(self, S2MMU_OP_READ, hpage(i)) != S2MMU_EXIT_DONE ||
		    s2mmu_translate(self->vcpu, hpage(i), &t) || t.level != 1)
			return false;
	}
	/* Start from nothing mapped. */
	return s2mmu_delete_region(self->vm, 0) == 0 &&
	       s2mmu_set_region(self->vm, 0, 0, GPA_BASE, self->size,
				(unsigned long)self->mem) == 0;
}

/*
 * Wait up to 50 periods for recovery to empty the record and finish the
 * pass that did: a record leaves as its table is unlinked, but the pass
 * counts its recoveries only after its TLB flush, and until that flush a
 * vCPU may still reach the old 4 KiB leaves through its TLB.
 */
static bool recovered(struct __test_metadata *_metadata,
		      struct _test_data_nx *self, __u64 want)
{
	long long end = s2mmu_now_ms() + 50 * PERIOD_MS;

	do {
		struct s2mmu_vm_info i = nx_info(_metadata, self);

		if (!i.stat_nx_lpage_splits &&
		    i.stat_nx_lpage_recoveries >= want)
			return true;
		usleep(PERIOD_MS * 1000 / 4);
	} while (s2mmu_now_ms() < end);
	return false;
}

/* KVM's nx_huge_pages_test flow, or its opt-out and 4 KiB variants. */
TEST_F_TIMEOUT(nx, flow, 30)
{
	bool nx = !variant->flags;
	struct s2mmu_translation t;
	struct s2mmu_vm_info info;

	if (!variant->small && !host_huge(self))
		SKIP(return, "the host did not map the slot huge");
	info = nx_info(_metadata, self);
	EXPECT_EQ(nx, !!(info.flags & S2MMU_VM_INFO_NX_HUGE_PAGES));
	if (variant->small) {
		/* Exec of 4 KiB-mapped memory never counts a split. */
		EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_EXEC, hpage(1)));
		EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_EXEC, hpage(2) + PG));
		EXPECT_NX(0, 0);
		ASSERT_EQ(0, s2mmu_translate(self->vcpu, hpage(1), &t));
		EXPECT_EQ(0, t.level);
		EXPECT_EQ(1, t.executable);
		return;
	}

	EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_READ, hpage(1)));
	EXPECT_NX(1, 0);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, hpage(1), &t));
	EXPECT_EQ(!nx, t.executable);
	EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_READ, hpage(2)));
	EXPECT_NX(2, 0);
	EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_EXEC, hpage(1)));
	if (!nx) {
		/* Opted out: nothing splits, huge leaves execute. */
		EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_EXEC, hpage(3)));
		EXPECT_NX(3, 0);
		return;
	}
	EXPECT_NX(1, 1);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, hpage(1), &t));
	EXPECT_EQ(0, t.level);
	EXPECT_EQ(1, t.executable);
	EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_EXEC, hpage(3)));
	EXPECT_NX(1, 2);
	/* A read does not make a recorded region huge again. */
	EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_READ, hpage(1) + PG));
	EXPECT_NX(1, 2);
	/*
	 * Page 1's split left all of it mapped 4 KiB, so that read hit a
	 * leaf; region 3's table holds only the exec's leaf, and a read of
	 * its next page faults, wanting 2 MiB: it must map one level down
	 * rather than collapse the recorded table.
	 */
	EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_READ, hpage(3) + PG));
	EXPECT_NX(1, 2);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, hpage(3) + PG, &t));
	EXPECT_EQ(0, t.level);

	/* Recovery at ratio 1 unlinks both recorded tables. */
	ASSERT_EQ(0, s2mmu_set_knob(RATIO_PARAM, 1));
	EXPECT_TRUE(recovered(_metadata, self, 2));
	EXPECT_NX(1, 0);
	EXPECT_LE(2, nx_info(_metadata, self).stat_nx_lpage_recoveries);
	EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_READ, hpage(3)));
	EXPECT_NX(2, 0);
	EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_READ, hpage(1)));
	EXPECT_NX(3, 0);
}

struct nx_runner {
	int vcpu;
	bool stop;
	unsigned long runs, bad;
};

/* A second vCPU reading and executing the slot while the test toggles. */
static void *nx_run(void *arg)
{
	struct nx_runner *r = arg;
	struct s2mmu_run *run = s2mmu_map_run(r->vcpu);
	char buf[64];
	int i = 0;

	if (!run) {
		r->bad++;
		return NULL;
	}
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		__u64 gpa = GPA_BASE + (i % NR_HPAGES) * HPAGE + (i % 7) * PG;

		if (s2mmu_vcpu_access(r->vcpu, run, i & 1 ? S2MMU_OP_EXEC :
				      S2MMU_OP_READ, gpa, buf,
				      sizeof(buf)) != S2MMU_EXIT_DONE ||
		    buf[0] != (char)0xc3)
			r->bad++;
		r->runs++;
		i++;
	}
	s2mmu_unmap_run(run);
	return NULL;
}

/* nx_huge_pages changes while a vCPU runs: each change zaps the VM. */
TEST_F_TIMEOUT(nx, toggle, 30)
{
	struct nx_runner r = { 0 };
	struct s2mmu_translation t;
	struct s2mmu_vm_info info;
	pthread_t th;
	int i;

	if (variant->hugetlb || variant->small || variant->flags)
		SKIP(return, "THP variant only");
	if (!host_huge(self))
		SKIP(return, "the host did not map the slot huge");

	ASSERT_EQ(0, s2mmu_write_str(NX_PARAM, "off"));
	info = nx_info(_metadata, self);
	EXPECT_EQ(0, info.flags & S2MMU_VM_INFO_NX_HUGE_PAGES);
	EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_EXEC, hpage(1)));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, hpage(1), &t));
	EXPECT_EQ(1, t.level);
	EXPECT_EQ(1, t.executable);
	EXPECT_NX(1, 0);

	/* On again: the executable huge leaf is zapped, exec splits. */
	ASSERT_EQ(0, s2mmu_write_str(NX_PARAM, "force"));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, hpage(1), &t));
	EXPECT_EQ(0, t.present);
	EXPECT_EQ(S2MMU_EXIT_DONE, nx_access(self, S2MMU_OP_EXEC, hpage(1)));
	EXPECT_NX(0, 1);
	/* Off: the recorded table goes with the zap. */
	ASSERT_EQ(0, s2mmu_write_str(NX_PARAM, "N"));
	EXPECT_NX(0, 0);
	/* "never" only while no VM exists. */
	EXPECT_EQ(-EBUSY, s2mmu_write_str(NX_PARAM, "never"));
	EXPECT_EQ(-EINVAL, s2mmu_write_str(NX_PARAM, "sometimes"));

	r.vcpu = s2mmu_create_vcpu(self->vm, 1);
	ASSERT_LE(0, r.vcpu);
	ASSERT_EQ(0, s2mmu_set_knob(RATIO_PARAM, 1));
	ASSERT_EQ(0, pthread_create(&th, NULL, nx_run, &r));
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, s2mmu_write_str(NX_PARAM, i & 1 ? "off" : "force"));
		usleep(10000);
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	close(r.vcpu);
	EXPECT_LT(0, r.runs);
	EXPECT_EQ(0, r.bad);
	S2MMU_EXPECT_INVARIANTS(self->vm);
}

/*
 * The recovery-racing-faults storm.  Two vCPUs alternately execute and
 * read random pages of a 64 MiB THP slot while recovery runs every 10 ms
 * at ratio 1 and the host splits and collapses the memory under them
 * (MADV_COLLAPSE, MADV_DONTNEED or munmap + mmap of one page, re-touched,
 * and stamps in place).  The host is the only writer, so torture_test's
 * oracle reduces to this: every change of a page is an event with a
 * begin and an end on one global sequence, a read takes r0 before it
 * starts and r1 after it returned, and a word of value w is legal iff an
 * event of that page with value w began before r1 and no event of the
 * page began after it ended and ended before r0.  Anything else is stale
 * (a superseded value) or bogus (never the page's: a wrong frame).
 *
 * At the end, and every half second with both vCPUs parked outside
 * S2MMU_RUN, S2MMU_CHECK_INVARIANTS must be clean; the test flavour's
 * test_nx_huge_exec must still read 0: no instruction fetch was ever
 * served by a leaf above 4 KiB while the mitigation was on.  Duration:
 * S2MMU_NX_STORM_SECONDS (default 3); seed: S2MMU_SEED.
 */
#define ST_PAGES	(64UL << 20 >> 12)
#define ST_REGIONS	(ST_PAGES / 512)
#define ST_WORDS	(PG / sizeof(__u64))
#define ST_EV		8
#define ST_VCPUS	2
#define ST_INF		(~0ULL)
#define HUGE_EXEC_KNOB	S2MMU_KNOB("test_nx_huge_exec")

struct st_ev {
	__u64 val, b, e;
};

struct st_page {
	pthread_mutex_t lock;
	unsigned int n;
	struct st_ev ev[ST_EV];
};

struct st_stats {
	long reads, execs, faults, stale, bogus, unexpected;
};

struct storm {
	char *mem;
	int vm;
	__u64 seq, gen, seed;
	__u64 active[ST_VCPUS];
	int stop, pause, parked;
	unsigned long hot;	/* the page the host changed last */
	struct st_page *pages;
	long collapses, collapse_failed, dontneeds, remaps, stamps, checks;
	long bad_checks;
	bool collapse_ok;
	char first_error[256];
};

struct st_vcpu {
	struct storm *s;
	int idx, fd;
	struct s2mmu_run *run;
	__u64 rng;
	__u64 buf[ST_WORDS];
	struct st_stats st;
};

static __u64 st_seq(struct storm *s)
{
	__u64 v;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	v = __atomic_fetch_add(&s->seq, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return v;
}

static void st_error(struct storm *s, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;

	pthread_mutex_lock(&lock);
	if (!s->first_error[0]) {
		va_start(ap, fmt);
		vsnprintf(s->first_error, sizeof(s->first_error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&lock);
}

/* Under pg->lock: was @e overwritten by an event ended before @r0? */
static bool st_superseded(const struct st_page *pg, const struct st_ev *e,
			  __u64 r0)
{
	unsigned int i;

	if (e->e == ST_INF)
		return false;
	for (i = 0; i < pg->n; i++)
		if (&pg->ev[i] != e && pg->ev[i].b > e->e && pg->ev[i].e < r0)
			return true;
	return false;
}

/* Under pg->lock: drop the events no read in flight or to come returns. */
static void st_evict(struct storm *s, struct st_page *pg)
{
	__u64 m = ST_INF, a;
	unsigned int i, j = 0;

	for (i = 0; i < ST_VCPUS; i++) {
		a = __atomic_load_n(&s->active[i], __ATOMIC_SEQ_CST);
		if (a < m)
			m = a;
	}
	/* No read in flight: only the newest event can be read. */
	if (m == ST_INF)
		m = __atomic_load_n(&s->seq, __ATOMIC_SEQ_CST);
	for (i = 0; i < pg->n; i++)
		if (!st_superseded(pg, &pg->ev[i], m))
			pg->ev[j++] = pg->ev[i];
	pg->n = j;
}

/* Page @p is about to take value @val; returns the event's begin. */
static __u64 st_begin(struct storm *s, unsigned long p, __u64 val)
{
	struct st_page *pg = &s->pages[p];
	__u64 b;

	for (;;) {
		pthread_mutex_lock(&pg->lock);
		if (pg->n == ST_EV)
			st_evict(s, pg);
		if (pg->n < ST_EV)
			break;
		pthread_mutex_unlock(&pg->lock);
		sched_yield();
	}
	b = st_seq(s);
	pg->ev[pg->n++] = (struct st_ev){ .val = val, .b = b, .e = ST_INF };
	pthread_mutex_unlock(&pg->lock);
	return b;
}

static void st_end(struct storm *s, unsigned long p, __u64 b)
{
	struct st_page *pg = &s->pages[p];
	__u64 e = st_seq(s);
	unsigned int i;

	pthread_mutex_lock(&pg->lock);
	for (i = 0; i < pg->n; i++)
		if (pg->ev[i].b == b)
			pg->ev[i].e = e;
	pthread_mutex_unlock(&pg->lock);
}

/* 0: legal; 1: stale; 2: bogus.  Under pg->lock. */
static int st_judge(const struct st_page *pg, __u64 w, __u64 r0, __u64 r1)
{
	int v = 2;
	unsigned int i;

	for (i = 0; i < pg->n; i++) {
		const struct st_ev *e = &pg->ev[i];

		if (e->val != w || e->b > r1)
			continue;
		if (!st_superseded(pg, e, r0))
			return 0;
		v = 1;
	}
	return v;
}

static void st_check(struct st_vcpu *v, unsigned long p, __u64 r0, __u64 r1)
{
	struct st_page *pg = &v->s->pages[p];
	int worst = 0, j;
	__u64 bad = 0;
	unsigned int i;

	pthread_mutex_lock(&pg->lock);
	for (i = 0; i < ST_WORDS; i++) {
		if (i && v->buf[i] == v->buf[i - 1])
			continue;
		j = st_judge(pg, v->buf[i], r0, r1);
		if (j > worst) {
			worst = j;
			bad = v->buf[i];
		}
	}
	pthread_mutex_unlock(&pg->lock);
	if (worst == 1) {
		v->st.stale++;
		st_error(v->s, "vCPU %d: stale %#llx in page %lu (read %llu..%llu)",
			 v->idx, (unsigned long long)bad, p,
			 (unsigned long long)r0, (unsigned long long)r1);
	} else if (worst == 2) {
		v->st.bogus++;
		st_error(v->s, "vCPU %d: page %lu holds %#llx, never written there",
			 v->idx, p, (unsigned long long)bad);
	}
}

/*
 * A page to access: a quarter of the time the page the host changed
 * last, half the time another of its 2 MiB region, else any: the reads
 * that can be stale are those that follow a change closely.
 */
static unsigned long st_pick(struct st_vcpu *v)
{
	unsigned long hot = __atomic_load_n(&v->s->hot, __ATOMIC_RELAXED);

	switch (s2mmu_rand_below(&v->rng, 4)) {
	case 0:
		return hot;
	case 1:
	case 2:
		return (hot & ~511UL) + s2mmu_rand_below(&v->rng, 512);
	default:
		return s2mmu_rand_below(&v->rng, ST_PAGES);
	}
}

static void *st_vcpu_main(void *arg)
{
	struct st_vcpu *v = arg;
	struct storm *s = v->s;
	unsigned long i, p;
	__u64 r0, r1;
	int ret;

	for (i = 0; !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); i++) {
		__u32 op = i & 1 ? S2MMU_OP_EXEC : S2MMU_OP_READ;

		if (__atomic_load_n(&s->pause, __ATOMIC_ACQUIRE)) {
			__atomic_add_fetch(&s->parked, 1, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&s->pause, __ATOMIC_ACQUIRE))
				usleep(1000);
			__atomic_sub_fetch(&s->parked, 1, __ATOMIC_SEQ_CST);
		}
		p = st_pick(v);
		/* Announce a lower bound of r0 first: see st_evict(). */
		__atomic_store_n(&v->s->active[v->idx],
				 __atomic_load_n(&s->seq, __ATOMIC_SEQ_CST),
				 __ATOMIC_SEQ_CST);
		r0 = st_seq(s);
		ret = s2mmu_vcpu_access(v->fd, v->run, op, GPA_BASE + p * PG,
					v->buf, PG);
		r1 = st_seq(s);
		if (ret == S2MMU_EXIT_DONE) {
			if (op == S2MMU_OP_EXEC)
				v->st.execs++;
			else
				v->st.reads++;
			st_check(v, p, r0, r1);
		} else if (ret == S2MMU_EXIT_MEMORY_FAULT &&
			   !(v->run->memory_fault.flags &
			     ~(S2MMU_MEMORY_FAULT_NOT_MAPPED |
			       S2MMU_MEMORY_FAULT_EXEC))) {
			v->st.faults++;	/* the page is being remapped */
		} else {
			v->st.unexpected++;
			st_error(s, "vCPU %d: access to page %lu: ret %d flags %#llx",
				 v->idx, p, ret,
				 (unsigned long long)v->run->memory_fault.flags);
		}
		__atomic_store_n(&s->active[v->idx], ST_INF, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* The host writes a new value over page @p, in place. */
static void st_stamp(struct storm *s, unsigned long p)
{
	__u64 val = __atomic_add_fetch(&s->gen, 1, __ATOMIC_SEQ_CST);
	__u64 *w = (__u64 *)(s->mem + p * PG), b;
	unsigned int i;

	b = st_begin(s, p, val);
	for (i = 0; i < ST_WORDS; i++)
		__atomic_store_n(&w[i], val, __ATOMIC_RELAXED);
	st_end(s, p, b);
	s->stamps++;
	__atomic_store_n(&s->hot, p, __ATOMIC_RELAXED);
}

/* Page @p becomes a fresh zero page, then is touched again. */
static void st_zap_page(struct storm *s, unsigned long p, bool remap)
{
	char *a = s->mem + p * PG;
	__u64 b = st_begin(s, p, 0);

	__atomic_store_n(&s->hot, p, __ATOMIC_RELAXED);

	if (!remap) {
		if (madvise(a, PG, MADV_DONTNEED))
			st_error(s, "MADV_DONTNEED: %s", strerror(errno));
		s->dontneeds++;
	} else {
		if (munmap(a, PG) ||
		    mmap(a, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE |
			 MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != a)
			st_error(s, "munmap + mmap at %p: %s", a, strerror(errno));
		/* Mergeable with its neighbours again, so it can collapse. */
		madvise(a, PG, MADV_HUGEPAGE);
		s->remaps++;
	}
	st_end(s, p, b);
	st_stamp(s, p);
}

/*
 * Check the VM's invariants, with both vCPUs parked outside S2MMU_RUN
 * (@park) or with their threads gone.
 */
static void st_invariants(struct storm *s, bool park)
{
	struct s2mmu_invariants inv;
	long long deadline = s2mmu_now_ms() + 10000;
	int ret;

	__atomic_store_n(&s->pause, 1, __ATOMIC_SEQ_CST);
	while (park && s2mmu_now_ms() < deadline &&
	       __atomic_load_n(&s->parked, __ATOMIC_SEQ_CST) < ST_VCPUS)
		usleep(1000);
	ret = s2mmu_check_invariants(s->vm, &inv);
	s->checks++;
	if (ret || inv.bad_write || inv.bad_huge || inv.bad_accounting ||
	    inv.stale_tlb) {
		s->bad_checks++;
		st_error(s, "invariants %d: write %llu huge %llu acct %llu tlb %llu",
			 ret, (unsigned long long)inv.bad_write,
			 (unsigned long long)inv.bad_huge,
			 (unsigned long long)inv.bad_accounting,
			 (unsigned long long)inv.stale_tlb);
	}
	__atomic_store_n(&s->pause, 0, __ATOMIC_SEQ_CST);
}

static void st_mutate(struct storm *s)
{
	unsigned long r = s2mmu_rand_below(&s->seed, ST_REGIONS);
	unsigned long p = r * 512 + s2mmu_rand_below(&s->seed, 512);
	int i;

	switch (s2mmu_rand_below(&s->seed, 8)) {
	case 0:
	case 1:
		__atomic_store_n(&s->hot, p, __ATOMIC_RELAXED);
		if (madvise(s->mem + r * HPAGE, HPAGE, MADV_COLLAPSE)) {
			s->collapse_failed++;
		} else {
			s->collapses++;
			s->collapse_ok = true;
		}
		/* A stale 4 KiB leaf would still read the old frames. */
		st_stamp(s, p);
		break;
	case 2:
	case 3:
		st_zap_page(s, p, false);
		break;
	case 4:
		st_zap_page(s, p, true);
		break;
	default:
		for (i = 0; i < 8; i++)
			st_stamp(s, r * 512 + s2mmu_rand_below(&s->seed, 512));
		break;
	}
}

FIXTURE(nx_storm) {
	struct storm s;
	struct st_vcpu v[ST_VCPUS];
	long old_ratio, old_period;
	long long setup_ms;
	char old_nx;
};

FIXTURE_SETUP(nx_storm)
{
	long long t0 = s2mmu_now_ms();
	unsigned long p;
	int i;

	memset(&self->s, 0, sizeof(self->s));
	self->s.vm = -1;
	for (i = 0; i < ST_VCPUS; i++)
		self->v[i].fd = -1;
	self->old_nx = nx_param();
	if (!self->old_nx)
		SKIP(return, "no nx_huge_pages parameter");
	if (self->old_nx == 'n')
		SKIP(return, "nx_huge_pages is never");
	if (!s2mmu_thp_available())
		SKIP(return, "THP not available");
	self->old_ratio = s2mmu_read_long(RATIO_PARAM);
	self->old_period = s2mmu_read_long(PERIOD_PARAM);
	ASSERT_EQ(0, s2mmu_write_str(NX_PARAM, "force"));
	ASSERT_EQ(0, s2mmu_set_knob(RATIO_PARAM, 1));
	ASSERT_EQ(0, s2mmu_set_knob(PERIOD_PARAM, 10));

	self->s.mem = s2mmu_alloc_aligned(ST_PAGES * PG, HPAGE);
	ASSERT_NE(NULL, self->s.mem);
	madvise(self->s.mem, ST_PAGES * PG, MADV_HUGEPAGE);
	self->s.pages = calloc(ST_PAGES, sizeof(*self->s.pages));
	ASSERT_NE(NULL, self->s.pages);
	self->s.seed = s2mmu_seed(DEFAULT_SEED);
	for (p = 0; p < ST_PAGES; p++) {
		pthread_mutex_init(&self->s.pages[p].lock, NULL);
		st_stamp(&self->s, p);
	}
	self->s.stamps = 0;
	self->s.vm = s2mmu_create_vm(S2MMU_VM_X86_TDP);
	ASSERT_LE(0, self->s.vm);
	ASSERT_EQ(0, s2mmu_set_region(self->s.vm, 0, 0, GPA_BASE,
				      ST_PAGES * PG,
				      (unsigned long)self->s.mem));
	for (i = 0; i < ST_VCPUS; i++) {
		struct st_vcpu *v = &self->v[i];

		v->s = &self->s;
		v->idx = i;
		v->rng = self->s.seed * 31 + i + 1;
		v->fd = s2mmu_create_vcpu(self->s.vm, i);
		ASSERT_LE(0, v->fd);
		v->run = s2mmu_map_run(v->fd);
		ASSERT_NE(NULL, v->run);
		self->s.active[i] = ST_INF;
	}
	self->setup_ms = s2mmu_now_ms() - t0;
}

FIXTURE_TEARDOWN(nx_storm)
{
	int i;

	for (i = 0; i < ST_VCPUS; i++) {
		if (self->v[i].run)
			s2mmu_unmap_run(self->v[i].run);
		if (self->v[i].fd >= 0)
			close(self->v[i].fd);
	}
	if (self->s.vm >= 0)
		close(self->s.vm);
	if (self->s.mem)
		munmap(self->s.mem, ST_PAGES * PG);
	free(self->s.pages);
	nx_params_restore(self->old_nx, self->old_ratio, self->old_period);
}

TEST_F_TIMEOUT(nx_storm, recovery_racing_faults, 3600)
{
	unsigned long long seconds = s2mmu_env_ull("S2MMU_NX_STORM_SECONDS", 3);
	bool knob = s2mmu_have_knob(HUGE_EXEC_KNOB);
	struct storm *s = &self->s;
	struct s2mmu_vm_info before, after;
	long long t0, end, next_check;
	struct st_stats sum = { 0 };
	pthread_t th[ST_VCPUS];
	long huge_exec = 0;
	int i;

	if (seconds < 1)
		seconds = 1;
	if (seconds > 3000)
		seconds = 3000;
	if (knob) {
		ASSERT_EQ(0, s2mmu_write_str(HUGE_EXEC_KNOB, "0"));
	} else {
		TH_LOG("no %s (not the test flavour): exec through huge leaves unchecked",
		       HUGE_EXEC_KNOB);
	}
	ASSERT_EQ(0, s2mmu_vm_info(s->vm, &before));
	TH_LOG("seed %#llx, %llu s, %d vCPUs, %lu pages; setup %lld ms",
	       (unsigned long long)s->seed, seconds, ST_VCPUS, ST_PAGES,
	       self->setup_ms);
	for (i = 0; i < ST_VCPUS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, st_vcpu_main,
					    &self->v[i]));
	t0 = s2mmu_now_ms();
	end = t0 + seconds * 1000;
	next_check = t0 + 500;
	while (s2mmu_now_ms() < end && !s->first_error[0]) {
		st_mutate(s);
		if (s2mmu_now_ms() >= next_check) {
			st_invariants(s, true);
			next_check = s2mmu_now_ms() + 500;
		}
		usleep(500);
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < ST_VCPUS; i++) {
		pthread_join(th[i], NULL);
		sum.reads += self->v[i].st.reads;
		sum.execs += self->v[i].st.execs;
		sum.faults += self->v[i].st.faults;
		sum.stale += self->v[i].st.stale;
		sum.bogus += self->v[i].st.bogus;
		sum.unexpected += self->v[i].st.unexpected;
	}
	st_invariants(s, false);
	TH_LOG("storm %lld ms", s2mmu_now_ms() - t0);
	ASSERT_EQ(0, s2mmu_vm_info(s->vm, &after));
	if (knob)
		huge_exec = s2mmu_read_long(HUGE_EXEC_KNOB);
	TH_LOG("reads %ld execs %ld faults %ld stale %ld bogus %ld unexpected %ld",
	       sum.reads, sum.execs, sum.faults, sum.stale, sum.bogus,
	       sum.unexpected);
	TH_LOG("host: collapses %ld (failed %ld) dontneed %ld remap %ld stamps %ld; invariants %ld",
	       s->collapses, s->collapse_failed, s->dontneeds, s->remaps,
	       s->stamps, s->checks);
	TH_LOG("recoveries %llu, splits left %llu, exec through huge leaves %ld",
	       (unsigned long long)(after.stat_nx_lpage_recoveries -
				    before.stat_nx_lpage_recoveries),
	       (unsigned long long)after.stat_nx_lpage_splits, huge_exec);
	EXPECT_EQ(0, s->first_error[0]) TH_LOG("first error: %s", s->first_error);
	EXPECT_EQ(0, sum.stale + sum.bogus + sum.unexpected);
	EXPECT_EQ(0, s->bad_checks);
	EXPECT_EQ(0, huge_exec);
	/* Not vacuous: it ran, split, recovered and changed the host. */
	EXPECT_LE(30 * (long)seconds, sum.reads);
	EXPECT_LE(30 * (long)seconds, sum.execs);
	EXPECT_LT(0, after.stat_nx_lpage_recoveries -
		     before.stat_nx_lpage_recoveries);
	EXPECT_LT(0, s->dontneeds);
	EXPECT_LT(0, s->remaps);
	EXPECT_LE(2, s->checks);
	if (!s->collapse_ok)
		TH_LOG("MADV_COLLAPSE never succeeded (%ld tries)",
		       s->collapse_failed);
}

/*
 * 1,000 VMs (S2MMU_NX_MANY_VMS; 200 on the debug kernel, where KASAN
 * makes each cost 40 ms) created and closed with their recovery workers
 * armed (ratio 1, every millisecond), each with a split recorded so its worker has
 * work, closed at once so most closes meet a pending or running worker;
 * then the module is unloaded at once: a worker that outlived its VM
 * would run freed memory or unloaded code (an oops, or KASAN and
 * kmemleak reports on the debug kernel: the harness fails on any).  The
 * module's references must be back where they were, and it must unload.
 */
#define MANY_VMS	1000	/* S2MMU_NX_MANY_VMS sets it */
#define MANY_THREADS	25

struct nx_many {
	char *mem;
	long per_thread;
	long splits, failed;
};

/* m->per_thread VMs in turn: the destroys' grace periods overlap. */
static void *nx_many_thread(void *arg)
{
	struct nx_many *m = arg;
	struct s2mmu_vm_info info;
	struct s2mmu_run *run;
	int i, vm, vcpu;
	char buf[64];

	for (i = 0; i < m->per_thread; i++) {
		vm = s2mmu_create_vm(S2MMU_VM_X86_TDP);
		if (vm < 0) {
			__atomic_add_fetch(&m->failed, 1, __ATOMIC_RELAXED);
			continue;
		}
		run = NULL;
		vcpu = s2mmu_set_region(vm, 0, 0, GPA_BASE, HPAGE,
					(unsigned long)m->mem) ?:
		       s2mmu_create_vcpu(vm, 0);
		if (vcpu >= 0)
			run = s2mmu_map_run(vcpu);
		/* Huge first, then split by an exec: one table recorded. */
		if (!run ||
		    s2mmu_vcpu_access(vcpu, run, S2MMU_OP_READ, GPA_BASE, buf,
				      sizeof(buf)) != S2MMU_EXIT_DONE ||
		    s2mmu_vcpu_access(vcpu, run, S2MMU_OP_EXEC, GPA_BASE + PG,
				      buf, sizeof(buf)) != S2MMU_EXIT_DONE ||
		    s2mmu_vm_info(vm, &info))
			__atomic_add_fetch(&m->failed, 1, __ATOMIC_RELAXED);
		else
			__atomic_add_fetch(&m->splits, info.stat_nx_lpage_splits,
					   __ATOMIC_RELAXED);
		/* Every tenth lives a few periods: its worker runs. */
		if (i % 10 == 0)
			usleep(3000);
		if (run)
			s2mmu_unmap_run(run);
		if (vcpu >= 0)
			close(vcpu);
		close(vm);
	}
	return NULL;
}

FIXTURE(nx_many) {
};

FIXTURE_SETUP(nx_many)
{
}

FIXTURE_TEARDOWN(nx_many)
{
}

TEST_F_TIMEOUT(nx_many, armed_create_close_unload, 300)
{
	long old_ratio = s2mmu_read_long(RATIO_PARAM);
	long old_period = s2mmu_read_long(PERIOD_PARAM);
	long refs = s2mmu_module_refcnt();
	pthread_t th[MANY_THREADS];
	long vms = s2mmu_env_ull("S2MMU_NX_MANY_VMS", MANY_VMS);
	struct nx_many m = {
		.per_thread = (vms + MANY_THREADS - 1) / MANY_THREADS,
	};
	long long t0 = s2mmu_now_ms();
	char old = nx_param();
	int i;

	if (!old)
		SKIP(return, "no nx_huge_pages parameter");
	if (old == 'n')
		SKIP(return, "nx_huge_pages is never");
	ASSERT_LE(0, refs);
	m.mem = s2mmu_alloc_aligned(HPAGE, HPAGE);
	ASSERT_NE(NULL, m.mem);
	madvise(m.mem, HPAGE, MADV_HUGEPAGE);
	memset(m.mem, 0xc3, HPAGE);
	ASSERT_EQ(0, s2mmu_write_str(NX_PARAM, "force"));
	ASSERT_EQ(0, s2mmu_set_knob(RATIO_PARAM, 1));
	ASSERT_EQ(0, s2mmu_set_knob(PERIOD_PARAM, 1));
	for (i = 0; i < MANY_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, nx_many_thread, &m));
	for (i = 0; i < MANY_THREADS; i++)
		pthread_join(th[i], NULL);
	munmap(m.mem, HPAGE);
	TH_LOG("%ld VMs in %lld ms, %ld splits recorded at close, %ld failed",
	       m.per_thread * MANY_THREADS, s2mmu_now_ms() - t0, m.splits,
	       m.failed);
	EXPECT_EQ(0, m.failed);
	EXPECT_EQ(refs, s2mmu_module_refcnt());
	if (getuid() == 0 && !access(S2MMU_KO, R_OK)) {
		/* Unload right after the last close, then give it time. */
		ASSERT_EQ(0, s2mmu_delete_module())
			TH_LOG("rmmod: %s", strerror(errno));
		usleep(50000);
		ASSERT_EQ(0, s2mmu_load_module())
			TH_LOG("reload: %s", strerror(errno));
	}
	nx_params_restore(old, old_ratio, old_period);
}

/* Who may opt out, and which VM types can. */
TEST(opt_out_rules)
{
	int dev = s2mmu_open(), status;
	pid_t pid;

	ASSERT_LE(0, dev);
	EXPECT_EQ(-1, ioctl(dev, S2MMU_CREATE_VM, S2MMU_VM_ARM64_S2 |
			    S2MMU_VM_DISABLE_NX_HUGE_PAGES));
	EXPECT_EQ(EINVAL, errno);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (s2mmu_drop_cap(CAP_SYS_BOOT))
			_exit(2);
		if (ioctl(dev, S2MMU_CREATE_VM, S2MMU_VM_X86_TDP |
			  S2MMU_VM_DISABLE_NX_HUGE_PAGES) != -1)
			_exit(3);
		_exit(errno == EPERM ? 0 : 4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(dev);
}

/* Binaries built against the first struct s2mmu_vm_info still work. */
TEST(vm_info_v1)
{
	unsigned char buf[sizeof(struct s2mmu_vm_info)];
	struct s2mmu_vm_info *info = (void *)buf;
	int vm = s2mmu_create_vm(S2MMU_VM_X86_TDP);
	size_t i;

	ASSERT_LE(0, vm);
	memset(buf, 0xa5, sizeof(buf));
	ASSERT_EQ(0, ioctl(vm, S2MMU_GET_VM_INFO_V1, buf));
	EXPECT_EQ(S2MMU_VM_X86_TDP, info->type);
	EXPECT_EQ(48, info->gpa_bits);
	for (i = S2MMU_VM_INFO_SIZE_V1; i < sizeof(buf); i++)
		EXPECT_EQ(0xa5, buf[i]);
	close(vm);
}

TEST_HARNESS_MAIN
