// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: races between vCPUs, the host mm and memslot updates.
 *
 * - The owner is killed while its vCPUs fault (exit_mmap() racing the
 *   fault path and the notifier's ->release): every kill is a clean death
 *   and the module's references come back.
 * - A memslot is deleted or moved under a running vCPU: the vCPU exits to
 *   userspace as MMIO for the old range, promptly.
 * - A second invalidation of a page whose first is still flushing does
 *   not return before the vCPU TLBs are flushed (nested_zap_flush).
 * - A slot move never lets a vCPU exit as MMIO on a gfn in both ranges.
 * - Two vCPUs fault the same pages at once: one consistent mapping.
 * - The host replaces a page again and again under two reading vCPUs: no
 *   read ever returns a page older than the last replacement that
 *   finished before the read started.
 * - The host replaces a page of a PRE_FAULT run after the run took its
 *   pages and before it installs them: the run maps none of them, and
 *   the guest reads the new page (pre_fault_run_invalidate).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define GPA_BASE	0x40000000ULL
#define GPA_MOVED	0x80000000ULL

FIXTURE(race) {
	int vm;
	int vcpu[2];
	struct s2mmu_run *run[2];
	char *mem;
	size_t size;
};

FIXTURE_VARIANT(race) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(race, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(race, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(race)
{
	int i;

	self->mem = NULL;
	self->size = 0;
	self->vm = s2mmu_create_vm(variant->type);
	ASSERT_LE(0, self->vm) TH_LOG("CREATE_VM: %s", strerror(-self->vm));
	for (i = 0; i < 2; i++) {
		self->vcpu[i] = s2mmu_create_vcpu(self->vm, i);
		ASSERT_LE(0, self->vcpu[i]);
		self->run[i] = s2mmu_map_run(self->vcpu[i]);
		ASSERT_NE(NULL, self->run[i]);
	}
}

#define RUN_DELAY	S2MMU_KNOB("test_fault_run_delay_ms")

FIXTURE_TEARDOWN(race)
{
	int i;

	/* A test that failed while holding runs must not slow the next. */
	if (s2mmu_have_knob(RUN_DELAY))
		s2mmu_set_knob(RUN_DELAY, 0);

	S2MMU_EXPECT_INVARIANTS(self->vm);
	for (i = 0; i < 2; i++) {
		s2mmu_unmap_run(self->run[i]);
		close(self->vcpu[i]);
	}
	close(self->vm);
	if (self->mem)
		munmap(self->mem, self->size);
}

#define KILL_SLOT_SIZE	(64UL << 20)

struct toucher {
	int vcpu;
	struct s2mmu_run *run;
	char *mem;
};

static void *touch_forever(void *arg)
{
	struct toucher *t = arg;

	for (;;)
		s2mmu_guest_touch(t->vcpu, t->run, GPA_BASE, KILL_SLOT_SIZE,
				  true, 0, 1ULL << 40);
	return NULL;
}

/* Invalidations racing the faults and the exit: zap a part again and again. */
static void *dontneed_forever(void *arg)
{
	struct toucher *t = arg;

	for (;;) {
		madvise(t->mem + (4UL << 20), 1UL << 20, MADV_DONTNEED);
		usleep(500);
	}
	return NULL;
}

/* The child of exit_mmap_kill: a VM whose vCPUs fault until it is killed. */
static void kill_child(unsigned long type, int ready)
{
	struct toucher t[2];
	pthread_t th[3];
	char *mem;
	int vm, i;

	vm = s2mmu_create_vm(type);
	if (vm < 0)
		_exit(10);
	mem = mmap(NULL, KILL_SLOT_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		_exit(11);
	if (s2mmu_set_region(vm, 0, 0, GPA_BASE, KILL_SLOT_SIZE,
			     (unsigned long)mem))
		_exit(12);
	for (i = 0; i < 2; i++) {
		t[i].vcpu = s2mmu_create_vcpu(vm, i);
		if (t[i].vcpu < 0)
			_exit(13);
		t[i].run = s2mmu_map_run(t[i].vcpu);
		if (!t[i].run)
			_exit(14);
		t[i].mem = mem;
		if (pthread_create(&th[i], NULL, touch_forever, &t[i]))
			_exit(15);
	}
	if (pthread_create(&th[2], NULL, dontneed_forever, &t[0]))
		_exit(16);
	if (write(ready, "r", 1) != 1)
		_exit(17);
	for (;;)
		pause();
}

/*
 * The owner is SIGKILLed 0-20 ms after its vCPUs started faulting, 100
 * times per VM type (S2MMU_RACE_KILLS: fewer on the slow targets): the
 * vCPU threads die inside RUN with
 * faults and invalidations in flight, exit_mmap() runs ->release, then
 * the files' release destroys the VM.
 */
TEST_F_TIMEOUT(race, exit_mmap_kill, 300)
{
	long before, now = -1;
	unsigned int seed = getpid();
	long long t0 = s2mmu_now_ms(), deadline;
	int kills = s2mmu_env_ull("S2MMU_RACE_KILLS", 100);
	int i, status, ready[2];
	char c;
	pid_t pid;

	/*
	 * Only this test's VM may be alive when the baseline is taken: a VM of
	 * an earlier, killed test may still be tearing down.
	 */
	ASSERT_EQ(1, s2mmu_wait_nr_vms(1, 30000));
	before = s2mmu_module_refcnt();
	for (i = 0; i < kills; i++) {
		ASSERT_EQ(0, pipe(ready));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(ready[0]);
			kill_child(variant->type, ready[1]);
		}
		close(ready[1]);
		ASSERT_EQ(1, read(ready[0], &c, 1)) TH_LOG("child %d failed", i);
		close(ready[0]);
		usleep(rand_r(&seed) % 20001);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status))
			TH_LOG("iteration %d: exit status %d", i, WEXITSTATUS(status));
		ASSERT_EQ(SIGKILL, WTERMSIG(status));
	}
	TH_LOG("%d kills in %lld ms", i, s2mmu_now_ms() - t0);

	if (before < 0)
		SKIP(return, "no /sys/module/s2mmu/refcnt");
	/* VM teardown may finish in a deferred fput: allow it a moment. */
	deadline = s2mmu_now_ms() + 5000;
	while (s2mmu_now_ms() < deadline) {
		now = s2mmu_module_refcnt();
		if (now == before)
			break;
		usleep(10000);
	}
	EXPECT_EQ(before, now);
}

struct runner {
	int vcpu;
	struct s2mmu_run *run;
	__u64 gpa, len;
	bool write;
	int ret;
	__u32 exit_reason;
	__u64 mmio_gpa;
};

static void *run_until_exit(void *arg)
{
	struct runner *r = arg;

	r->ret = s2mmu_guest_touch(r->vcpu, r->run, r->gpa, r->len, r->write,
				   0, 1ULL << 50);
	r->exit_reason = r->run->exit_reason;
	r->mmio_gpa = r->run->mmio.gpa;
	return NULL;
}

struct watchdog {
	pthread_t target;
	int pipe[2];
	int ms;
	bool fired;
};

/* Interrupt @target unless told to stand down within @ms. */
static void *watchdog(void *arg)
{
	struct watchdog *w = arg;
	struct pollfd pfd = { .fd = w->pipe[0], .events = POLLIN };

	if (poll(&pfd, 1, w->ms) == 0) {
		w->fired = true;
		pthread_kill(w->target, SIGUSR1);
	}
	return NULL;
}

static void on_sigusr1(int sig)
{
}

/*
 * Wait until the vCPU is inside RUN: RUN writes the exit reason of its run
 * page first thing, so the caller poisons it before starting the runner.
 */
static bool wait_running(struct s2mmu_run *run)
{
	long long deadline = s2mmu_now_ms() + 10000;

	while (s2mmu_now_ms() < deadline) {
		if (__atomic_load_n(&run->exit_reason, __ATOMIC_SEQ_CST) != 0xdead)
			return true;
		usleep(500);
	}
	return false;
}

/*
 * Delete (or move) the slot a vCPU is running TOUCH loops on.  The vCPU
 * must leave with an MMIO exit inside the old range, and the update must
 * not wait for the run to end (a watchdog interrupts the run after 5 s;
 * if it had to, the update waited for the vCPU).
 */
TEST_F_TIMEOUT(race, slot_update_while_running, 120)
{
	const size_t n = 16;
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct s2mmu_translation t;
	unsigned int seed = getpid();
	struct watchdog w;
	struct runner r;
	pthread_t th, wd;
	bool move;
	char buf[PG];
	int iter, ret;
	size_t i;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	self->mem = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->size = n * PG;
	for (i = 0; i < n; i++)
		s2mmu_fill_page(self->mem + i * PG, i);

	for (iter = 0; iter < 8; iter++) {
		move = iter & 1;
		ASSERT_EQ(0, s2mmu_set_region(self->vm, 3, 0, GPA_BASE, n * PG,
					      (unsigned long)self->mem));
		memset(&r, 0, sizeof(r));
		r.vcpu = self->vcpu[0];
		r.run = self->run[0];
		r.gpa = GPA_BASE;
		r.len = n * PG;
		r.write = iter & 2;
		r.run->exit_reason = 0xdead;
		ASSERT_EQ(0, pthread_create(&th, NULL, run_until_exit, &r));
		if (!wait_running(r.run)) {
			pthread_join(th, NULL);
			ASSERT_TRUE(false)
				TH_LOG("iteration %d: RUN ended early: %d, exit %u, flags %#llx",
				       iter, r.ret, r.exit_reason,
				       (unsigned long long)r.run->memory_fault.flags);
		}
		usleep(rand_r(&seed) % 5000);

		memset(&w, 0, sizeof(w));
		w.target = th;
		w.ms = 5000;
		ASSERT_EQ(0, pipe(w.pipe));
		ASSERT_EQ(0, pthread_create(&wd, NULL, watchdog, &w));
		ret = move ? s2mmu_set_region(self->vm, 3, 0, GPA_MOVED, n * PG,
					      (unsigned long)self->mem) :
			     s2mmu_delete_region(self->vm, 3);
		EXPECT_EQ(0, ret);
		ASSERT_EQ(1, write(w.pipe[1], "x", 1));
		pthread_join(wd, NULL);
		pthread_join(th, NULL);
		close(w.pipe[0]);
		close(w.pipe[1]);

		EXPECT_FALSE(w.fired)
			TH_LOG("iteration %d: the slot update waited for RUN", iter);
		EXPECT_EQ(S2MMU_EXIT_MMIO, r.ret) TH_LOG("iteration %d", iter);
		EXPECT_EQ(S2MMU_EXIT_MMIO, r.exit_reason);
		EXPECT_LE(GPA_BASE, r.mmio_gpa);
		EXPECT_GT(GPA_BASE + n * PG, r.mmio_gpa);
		for (i = 0; i < n; i++) {
			ASSERT_EQ(0, s2mmu_translate(self->vcpu[0],
						     GPA_BASE + i * PG, &t));
			EXPECT_EQ(0, t.present);
		}
		if (move) {
			EXPECT_EQ(S2MMU_EXIT_DONE,
				  s2mmu_guest_read(self->vcpu[1], self->run[1],
						   GPA_MOVED + 5 * PG, buf, PG));
			EXPECT_TRUE(s2mmu_check_page(buf, 5));
			EXPECT_EQ(0, s2mmu_delete_region(self->vm, 3));
		}
		EXPECT_EQ(S2MMU_EXIT_MMIO,
			  s2mmu_guest_read(self->vcpu[1], self->run[1],
					   GPA_BASE + 5 * PG, buf, 8));
		/* The host memory is what it was (TOUCH writes store back). */
		for (i = 0; i < n; i++)
			EXPECT_TRUE(s2mmu_check_page(self->mem + i * PG, i));
	}
}

/*
 * Two invalidations of one page X: the first (MADV_DONTNEED in a thread)
 * zaps X and drops mmu_lock, then waits 400 ms before its TLB flush (the
 * test flavour's test_flush_delay_ms); the second (MADV_DONTNEED here)
 * finds nothing left to zap.  When it returns, the host has freed X, so a
 * vCPU that had X in its TLB must not read it any more: its next read
 * sees the fresh zero page, never X's old contents.  Without the fix the
 * second MADV_DONTNEED returned at once and the vCPU read X through its
 * TLB while the first was still waiting.
 */
#define FLUSH_DELAY	S2MMU_KNOB("test_flush_delay_ms")

static void *dontneed_page(void *arg)
{
	madvise(arg, PG, MADV_DONTNEED);
	return NULL;
}

TEST_F_TIMEOUT(race, nested_zap_flush, 60)
{
	long long t0, t2;
	char buf[PG];
	pthread_t th;
	int iter;
	size_t i;

	if (!s2mmu_have_knob(FLUSH_DELAY))
		SKIP(return, "needs the test flavour (test_flush_delay_ms)");
	self->mem = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->size = PG;
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, PG,
				      (unsigned long)self->mem));

	for (iter = 0; iter < 3; iter++) {
		memset(self->mem, 0xaa, PG);
		/* vCPU 0 reads X: its TLB holds X from now on. */
		ASSERT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_read(self->vcpu[0], self->run[0],
					   GPA_BASE, buf, PG));
		ASSERT_EQ((char)0xaa, buf[PG - 1]);

		ASSERT_EQ(0, s2mmu_set_knob(FLUSH_DELAY, 400));
		t0 = s2mmu_now_ms();
		ASSERT_EQ(0, pthread_create(&th, NULL, dontneed_page,
					    self->mem));
		usleep(100 * 1000);	/* the first is in its flush delay */
		ASSERT_EQ(0, madvise(self->mem, PG, MADV_DONTNEED));
		t2 = s2mmu_now_ms() - t0;
		/* X is freed.  Read it through the same vCPU. */
		memset(buf, 0x55, sizeof(buf));
		EXPECT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_read(self->vcpu[0], self->run[0],
					   GPA_BASE, buf, PG));
		pthread_join(th, NULL);
		ASSERT_EQ(0, s2mmu_set_knob(FLUSH_DELAY, 0));
		for (i = 0; i < PG; i++)
			if (buf[i])
				break;
		/* Read through the TLB: the page the host freed. */
		EXPECT_EQ(PG, i)
			TH_LOG("iter %d: read %#x at %zu; 2nd DONTNEED took %lld ms",
			       iter, (unsigned char)buf[i], i, t2);
	}
}

/*
 * A slot moves while a vCPU reads a guest address inside both its old
 * and its new range.  The move sleeps 300 ms with the old range gone and
 * the new one not yet in place (the test flavour's
 * test_memslot_move_delay_ms); reads started meanwhile must wait for the
 * move and read the right page, never exit as MMIO (KVM marks the old
 * slot invalid for the same reason).
 */
#define MOVE_DELAY	S2MMU_KNOB("test_memslot_move_delay_ms")

struct mover_reader {
	int vcpu;
	struct s2mmu_run *run;
	bool stop;
	bool moving;
	long reads, during, mmio, bad;
	__u64 gpa;
};

static void *read_in_both(void *arg)
{
	struct mover_reader *m = arg;
	char buf[64];

	while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
		bool during = __atomic_load_n(&m->moving, __ATOMIC_RELAXED);
		int ret = s2mmu_guest_read(m->vcpu, m->run, m->gpa, buf,
					   sizeof(buf));

		m->reads++;
		if (during)
			m->during++;
		if (ret == S2MMU_EXIT_MMIO)
			m->mmio++;
		else if (ret != S2MMU_EXIT_DONE || (buf[0] != 2 && buf[0] != 0))
			m->bad++;
	}
	return NULL;
}

TEST_F_TIMEOUT(race, move_waits_no_mmio, 60)
{
	struct mover_reader m = { };
	pthread_t th;
	int iter;
	size_t i;

	if (!s2mmu_have_knob(MOVE_DELAY))
		SKIP(return, "needs the test flavour (test_memslot_move_delay_ms)");
	self->size = 4 * PG;
	self->mem = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	for (i = 0; i < 4; i++)
		memset(self->mem + i * PG, i, PG);
	m.vcpu = self->vcpu[0];
	m.run = self->run[0];
	/* Page 2 of the slot at GPA_BASE; page 0 once it is at + 2 pages. */
	m.gpa = GPA_BASE + 2 * PG;
	ASSERT_EQ(0, s2mmu_set_knob(MOVE_DELAY, 300));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, self->size,
				      (unsigned long)self->mem));
	ASSERT_EQ(0, pthread_create(&th, NULL, read_in_both, &m));
	for (iter = 0; iter < 4; iter++) {
		usleep(20 * 1000);
		__atomic_store_n(&m.moving, true, __ATOMIC_RELAXED);
		EXPECT_EQ(0, s2mmu_set_region(self->vm, 0, 0,
					      iter & 1 ? GPA_BASE :
					      GPA_BASE + 2 * PG, self->size,
					      (unsigned long)self->mem));
		__atomic_store_n(&m.moving, false, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&m.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	ASSERT_EQ(0, s2mmu_set_knob(MOVE_DELAY, 0));
	EXPECT_EQ(0, m.mmio)
		TH_LOG("%ld of %ld reads exited as MMIO during slot moves",
		       m.mmio, m.reads);
	EXPECT_EQ(0, m.bad);
	/* Not vacuous: reads ran inside the moves. */
	EXPECT_LE(4, m.during) TH_LOG("%ld reads during the moves", m.during);
}

struct faulter {
	int vcpu;
	struct s2mmu_run *run;
	pthread_barrier_t *barrier;
	__u32 op;		/* S2MMU_OP_READ or S2MMU_OP_TOUCH (write) */
	size_t npages;
	char *buf;
	int ret;
};

static void *fault_all(void *arg)
{
	struct faulter *f = arg;

	pthread_barrier_wait(f->barrier);
	if (f->op == S2MMU_OP_TOUCH)
		f->ret = s2mmu_guest_touch(f->vcpu, f->run, GPA_BASE,
					   f->npages * PG, true, 0, 0);
	else
		f->ret = s2mmu_guest_read(f->vcpu, f->run, GPA_BASE, f->buf,
					  f->npages * PG);
	return NULL;
}

/* Both vCPUs do @op over the whole slot at the same moment. */
static bool run_both(int *vcpu, struct s2mmu_run **run, __u32 op,
		     size_t npages, char *buf0, char *buf1)
{
	pthread_barrier_t barrier;
	struct faulter f[2];
	pthread_t th[2];
	int i;

	pthread_barrier_init(&barrier, NULL, 2);
	for (i = 0; i < 2; i++) {
		f[i].vcpu = vcpu[i];
		f[i].run = run[i];
		f[i].barrier = &barrier;
		f[i].op = op;
		f[i].npages = npages;
		f[i].buf = i ? buf1 : buf0;
		f[i].ret = -1;
		pthread_create(&th[i], NULL, fault_all, &f[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	return f[0].ret == S2MMU_EXIT_DONE && f[1].ret == S2MMU_EXIT_DONE;
}

/*
 * Two vCPUs take the same faults at once, on fresh memory (write faults
 * allocating the pages, or read faults mapping the zero page): they end
 * up with one mapping, the host's page.
 */
TEST_F_TIMEOUT(race, concurrent_faults, 90)
{
	const size_t n = 256;
	char *buf0 = malloc(n * PG), *buf1 = malloc(n * PG);
	struct s2mmu_translation t0, t1;
	int round;
	__u64 pfn;
	size_t i;

	ASSERT_NE(NULL, buf0);
	ASSERT_NE(NULL, buf1);
	self->mem = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->size = n * PG;
	/* No khugepaged collapse (an invalidation) between the checks. */
	ASSERT_EQ(0, madvise(self->mem, n * PG, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, n * PG,
				      (unsigned long)self->mem));

	for (round = 0; round < 4; round++) {
		bool write = !(round & 1);

		/* Fresh memory for the race. */
		ASSERT_EQ(0, madvise(self->mem, n * PG, MADV_DONTNEED));
		ASSERT_TRUE(run_both(self->vcpu, self->run,
				     write ? S2MMU_OP_TOUCH : S2MMU_OP_READ,
				     n, buf0, buf1));
		if (!write) {
			for (i = 0; i < n * PG; i++)
				if (buf0[i] || buf1[i])
					break;
			EXPECT_EQ(n * PG, i) TH_LOG("fresh memory not zero");
		}
		/*
		 * The host writes its pages; if either vCPU mapped a page
		 * other than the host's, it reads stale data below.
		 */
		for (i = 0; i < n; i++)
			s2mmu_fill_page(self->mem + i * PG, round * 1000 + i);
		ASSERT_TRUE(run_both(self->vcpu, self->run, S2MMU_OP_READ, n,
				     buf0, buf1));
		EXPECT_EQ(0, memcmp(buf0, self->mem, n * PG)) TH_LOG("round %d", round);
		EXPECT_EQ(0, memcmp(buf1, self->mem, n * PG)) TH_LOG("round %d", round);

		for (i = 0; i < n; i++) {
			ASSERT_EQ(0, s2mmu_translate(self->vcpu[0],
						     GPA_BASE + i * PG, &t0));
			ASSERT_EQ(0, s2mmu_translate(self->vcpu[1],
						     GPA_BASE + i * PG, &t1));
			EXPECT_EQ(1, t0.present);
			EXPECT_EQ(1, t1.present);
			EXPECT_EQ(t0.hpa, t1.hpa);
			if (write) {
				EXPECT_EQ(1, t0.writable);
				EXPECT_EQ(1, t0.dirty);
			}
			pfn = s2mmu_pagemap_pfn(self->mem + i * PG);
			if (pfn && t0.hpa)
				EXPECT_EQ(pfn * PG, t0.hpa) TH_LOG("page %zu", i);
		}
	}
	free(buf0);
	free(buf1);
}

struct reader {
	int vcpu;
	struct s2mmu_run *run;
	__u64 *published;
	int *stop;
	long reads, faults, stale, torn, errors;
};

static void *read_generations(void *arg)
{
	struct reader *r = arg;
	__u64 page[PG / sizeof(__u64)];
	unsigned int i;
	__u64 g;
	int ret;

	while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE)) {
		g = __atomic_load_n(r->published, __ATOMIC_ACQUIRE);
		ret = s2mmu_guest_read(r->vcpu, r->run, GPA_BASE, page, PG);
		if (ret == S2MMU_EXIT_MEMORY_FAULT &&
		    r->run->memory_fault.flags == S2MMU_MEMORY_FAULT_NOT_MAPPED) {
			/* Caught between unmap and map of the host page. */
			r->faults++;
			continue;
		}
		if (ret != S2MMU_EXIT_DONE) {
			r->errors++;
			continue;
		}
		r->reads++;
		if (page[0] < g)
			r->stale++;
		for (i = 1; i < ARRAY_SIZE(page); i++)
			if (page[i] != page[0])
				break;
		if (i != ARRAY_SIZE(page))
			r->torn++;
	}
	return NULL;
}

/*
 * The host replaces the slot's page with mremap() of a filled page, over
 * and over, while two vCPUs read it.  A read that starts after a
 * replacement returned must never see an older page, and never a page
 * whose contents change under the copy (a freed and reused frame).
 */
TEST_F_TIMEOUT(race, replace_while_reading, 90)
{
	__u64 published = 0, gen;
	struct reader r[2];
	pthread_t th[2];
	long long t0;
	int stop = 0, i;
	__u64 *tmp;
	size_t k;

	self->mem = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->size = PG;
	memset(self->mem, 0, PG);
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, PG,
				      (unsigned long)self->mem));

	for (i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].vcpu = self->vcpu[i];
		r[i].run = self->run[i];
		r[i].published = &published;
		r[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, read_generations, &r[i]));
	}
	t0 = s2mmu_now_ms();
	for (gen = 1; gen <= 2000 && s2mmu_now_ms() - t0 < 5000; gen++) {
		tmp = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, tmp);
		for (k = 0; k < PG / sizeof(*tmp); k++)
			tmp[k] = gen;
		ASSERT_EQ(self->mem, mremap(tmp, PG, PG,
					    MREMAP_MAYMOVE | MREMAP_FIXED,
					    self->mem));
		__atomic_store_n(&published, gen, __ATOMIC_RELEASE);
		/* Every so often, let the readers map the new page. */
		if (!(gen % 16))
			usleep(1000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		TH_LOG("vCPU %d: %ld reads, %ld transient faults", i, r[i].reads,
		       r[i].faults);
		EXPECT_EQ(0, r[i].stale);
		EXPECT_EQ(0, r[i].torn);
		EXPECT_EQ(0, r[i].errors);
		EXPECT_LT(0, r[i].reads);
	}
	TH_LOG("%llu replacements", (unsigned long long)gen - 1);
}

#define RUN_PAGES	16

struct pre_faulter {
	int vcpu;
	int ret;
	struct s2mmu_pre_fault_memory pf;
};

static void *pre_fault_all(void *arg)
{
	struct pre_faulter *p = arg;

	p->ret = s2mmu_pre_fault(p->vcpu, &p->pf);
	return NULL;
}

/*
 * A PRE_FAULT run (pages 1-15: page 0 is its own fault) is held by the
 * test flavour for 300 ms after it took its pages; 100 ms in, the host
 * drops page 5 and writes a new one there.  The run must see that
 * invalidation under mmu_lock and map nothing (counted as a retry), so
 * the guest reads the new page and no leaf maps the old one (the
 * invariants check, which compares every leaf with the host's PTE, runs
 * in the teardown too).
 */
TEST_F_TIMEOUT(race, pre_fault_run_invalidate, 60)
{
	struct pre_faulter p = { .vcpu = self->vcpu[0] };
	struct s2mmu_invariants inv;
	char buf[PG];
	pthread_t th;
	int i;

	if (!s2mmu_have_knob(RUN_DELAY))
		SKIP(return, "needs the test flavour (test_fault_run_delay_ms)");
	self->size = RUN_PAGES * PG;
	self->mem = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	ASSERT_EQ(0, madvise(self->mem, self->size, MADV_NOHUGEPAGE));
	for (i = 0; i < RUN_PAGES; i++)
		s2mmu_fill_page(self->mem + i * PG, i);
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, self->size,
				      (unsigned long)self->mem));

	ASSERT_EQ(0, s2mmu_set_knob(RUN_DELAY, 300));
	p.pf.gpa = GPA_BASE;
	p.pf.size = self->size;
	ASSERT_EQ(0, pthread_create(&th, NULL, pre_fault_all, &p));
	usleep(100000);
	ASSERT_EQ(0, madvise(self->mem + 5 * PG, PG, MADV_DONTNEED));
	s2mmu_fill_page(self->mem + 5 * PG, 105);
	pthread_join(th, NULL);
	ASSERT_EQ(0, s2mmu_set_knob(RUN_DELAY, 0));
	ASSERT_EQ(0, p.ret);
	EXPECT_EQ(0, p.pf.size);

	EXPECT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(0, inv.bad_pfn);
	for (i = 0; i < RUN_PAGES; i++) {
		ASSERT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_read(self->vcpu[0], self->run[0],
					   GPA_BASE + i * PG, buf, PG));
		EXPECT_TRUE(s2mmu_check_page(buf, i == 5 ? 105 : i))
			TH_LOG("page %d", i);
	}
	/* The run did meet the invalidation (else the test proved nothing). */
	EXPECT_LE(1, self->run[0]->stat_fault_retries)
		TH_LOG("no run was abandoned: the invalidation missed the window");
}

TEST_HARNESS_MAIN
