// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu's tracepoints (include/s2mmu_trace.h, Documentation/trace.rst),
 * checked against a known guest workload through tracefs: n faults of
 * distinct 4 KiB pages give exactly n s2mmu_spte_requested records with
 * those gfns (and a leaf written for each, s2mmu_spte_changed); one munmap
 * of the slot's memory gives one s2mmu_unmap_hva_range covering it (and
 * the zap's s2mmu_remote_tlb_flush); host aging of the slot gives
 * s2mmu_age_hva records over it; a fault inside an invalidation of its
 * page gives s2mmu_fault_retry records; NX huge page recovery of one
 * table gives one s2mmu_nx_recovered.  Where the initramfs has Debian's
 * trace-cmd (the x86_64 targets), the faults are also recorded with
 * "trace-cmd record" and found in "trace-cmd report".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define TR_PAGES	64
#define TR_FAULTS	16	/* pages faulted: every TR_STRIDE-th */
#define TR_STRIDE	3
#define TR_GPA		0x100000000ULL
#define TR_GFN		(TR_GPA / S2MMU_PAGE_SIZE)
#define TRACEFS		"/sys/kernel/tracing"
#define TRACE_CMD	"/usr/bin/trace-cmd"
#define TRACE_DAT	"/tmp/s2mmu-trace.dat"

static int tr_write(const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	return s2mmu_write_str(path, val);
}

/* Empty the trace buffer (an O_TRUNC open of "trace"); 0 or -errno. */
static int tr_clear(void)
{
	int fd = open(TRACEFS "/trace", O_WRONLY | O_TRUNC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* tracefs mounted (mounting it if needed) with s2mmu's events. */
static bool tr_available(void)
{
	if (access(TRACEFS "/trace", W_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	return access(TRACEFS "/events/s2mmu/s2mmu_spte_requested/enable",
		      W_OK) == 0;
}

/*
 * While any event is on, the "record-cmd" option (on by default) hooks
 * the scheduler's sched_switch and sched_wakeup tracepoints to save task
 * names, so turning the first event on or the last one off patches the
 * scheduler's text (text_poke_bp()).  On the x86_64 6.1 kernel under
 * QEMU TCG that patching now and then never ends: the patching CPU waits
 * in an IPI (smp_call_function_many_cond() from text_poke_bp_batch(),
 * from event_enable_write()) for the other CPU, which sits in exc_int3()
 * from the patched site in __schedule(), interrupts off, at every NMI
 * backtrace; both CPUs stay stuck (a soft lockup, then nothing runs).
 * The cases read no task names: record-cmd stays off while their events
 * are on, so only s2mmu's own tracepoints are patched (none of them in
 * code that runs with interrupts off), and is put back afterwards.
 */
static int tr_saved_record_cmd = -1;	/* record-cmd before the case */

static int tr_record_cmd_off(void)
{
	long v = s2mmu_read_long(TRACEFS "/options/record-cmd");

	if (v < 0)
		return 0;	/* no such option: nothing hooks the scheduler */
	if (tr_saved_record_cmd < 0)
		tr_saved_record_cmd = v;
	return v ? tr_write("options/record-cmd", "0") : 0;
}

/* Only once the case's events are off: no probe is registered then. */
static void tr_record_cmd_restore(void)
{
	if (tr_saved_record_cmd > 0)
		tr_write("options/record-cmd", "1");
	tr_saved_record_cmd = -1;
}

/*
 * Turn the s2mmu events in @events (a comma-separated list) on, after
 * emptying the buffer, or off.  Only the events a case reads are turned
 * on: each change patches kernel text, which is slow under TCG.
 */
static int tr_enable(const char *events, bool on)
{
	char list[256], file[128], *e, *save;
	int ret;

	ret = tr_write("tracing_on", "0");
	if (!ret && on)
		ret = tr_record_cmd_off();
	if (!ret && on)
		ret = tr_clear();
	snprintf(list, sizeof(list), "%s", events);
	for (e = strtok_r(list, ",", &save); e && !ret;
	     e = strtok_r(NULL, ",", &save)) {
		snprintf(file, sizeof(file), "events/s2mmu/%s/enable", e);
		ret = tr_write(file, on ? "1" : "0");
	}
	if (!ret && on)
		ret = tr_write("tracing_on", "1");
	if (!on)
		tr_record_cmd_restore();
	return ret;
}

/* The text of the trace buffer (malloc'ed), or NULL. */
static char *tr_read(void)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	fd = open(TRACEFS "/trace", O_RDONLY);
	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb) {
				free(buf);
				close(fd);
				return NULL;
			}
			buf = nb;
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/*
 * The next record of @event in @text from *@pos on: a pointer just past
 * "@event: ", or NULL.  Works on the text of tracefs and of trace-cmd
 * report alike.
 */
static const char *tr_next(const char *text, const char *event,
			   const char **pos)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), " %s: ", event);
	p = strstr(*pos ? *pos : text, key);
	if (!p)
		return NULL;
	*pos = p + strlen(key);
	return *pos;
}

/*
 * Check that the gfns of the s2mmu_spte_requested records of @text are
 * exactly @want[0..n) (each once, in any order), and that every one at
 * level 0.  Returns the number of records, or -1 on a mismatch.
 */
static int tr_check_requested(struct __test_metadata *_metadata,
			      const char *text, const __u64 *want, int n)
{
	bool seen[TR_FAULTS] = { false };
	const char *pos = NULL, *r;
	int nr = 0, i, bad = 0;

	while ((r = tr_next(text, "s2mmu_spte_requested", &pos))) {
		unsigned long long gfn, pfn;
		int level;

		nr++;
		if (sscanf(r, "gfn %llx pfn %llx level %d", &gfn, &pfn,
			   &level) != 3) {
			TH_LOG("unparsable record: %.80s", r);
			bad++;
			continue;
		}
		for (i = 0; i < n; i++)
			if (want[i] == gfn && !seen[i])
				break;
		if (i == n || level != 0) {
			TH_LOG("unexpected request: gfn %llx level %d",
			       gfn, level);
			bad++;
			continue;
		}
		seen[i] = true;
	}
	for (i = 0; i < n; i++)
		if (!seen[i]) {
			TH_LOG("no s2mmu_spte_requested for gfn %llx",
			       (unsigned long long)want[i]);
			bad++;
		}
	return bad ? -1 : nr;
}

FIXTURE(trace) {
	const char *events;	/* turned on by the case */
	int vm, vcpu;
	struct s2mmu_run *run;
	char *mem;
	__u64 gfns[TR_FAULTS];
};

FIXTURE_VARIANT(trace) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(trace, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(trace, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(trace)
{
	size_t size = TR_PAGES * S2MMU_PAGE_SIZE;
	int i;

	self->vm = -1;
	self->vcpu = -1;
	self->mem = NULL;
	self->events = NULL;
	if (!tr_available())
		SKIP(return, "no tracefs with s2mmu events at " TRACEFS);
	self->mem = s2mmu_mmap_filled(_metadata, TR_PAGES);
	/* 4 KiB host pages: one leaf per fault. */
	ASSERT_EQ(0, madvise(self->mem, size, MADV_NOHUGEPAGE));
	s2mmu_setup_guest(_metadata, variant->type, self->mem, TR_GPA, size,
			  &self->vm, &self->vcpu, &self->run);
	for (i = 0; i < TR_FAULTS; i++)
		self->gfns[i] = TR_GFN + (__u64)i * TR_STRIDE;
}

FIXTURE_TEARDOWN(trace)
{
	if (self->events)
		tr_enable(self->events, false);
	if (self->vm < 0) {
		if (self->mem)
			munmap(self->mem, TR_PAGES * S2MMU_PAGE_SIZE);
		return;
	}
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, self->mem ? TR_PAGES * S2MMU_PAGE_SIZE : 0);
}

/* The workload: one read fault on each page of self->gfns. */
static void tr_fault_pages(struct __test_metadata *_metadata,
			   FIXTURE_DATA(trace) * self)
{
	int i;

	for (i = 0; i < TR_FAULTS; i++)
		ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run,
					       self->gfns[i] * S2MMU_PAGE_SIZE,
					       S2MMU_PAGE_SIZE, false, 0, 1));
}

/*
 * n faults of distinct pages: n s2mmu_spte_requested records, exactly
 * those gfns; and for each, the one writer installed a 4 KiB leaf over an
 * empty entry (s2mmu_spte_changed, level 0, old 0).
 */
TEST_F(trace, faults)
{
	const char *pos = NULL, *r;
	bool leaf[TR_FAULTS] = { false };
	char *text;
	int i, nr;

	self->events = "s2mmu_spte_requested,s2mmu_spte_changed";
	ASSERT_EQ(0, tr_enable(self->events, true));
	tr_fault_pages(_metadata, self);
	ASSERT_EQ(0, tr_write("tracing_on", "0"));
	text = tr_read();
	ASSERT_NE(NULL, text);

	nr = tr_check_requested(_metadata, text, self->gfns, TR_FAULTS);
	EXPECT_EQ(TR_FAULTS, nr);

	while ((r = tr_next(text, "s2mmu_spte_changed", &pos))) {
		unsigned long long gfn, old, new;
		int level;

		if (sscanf(r, "gfn %llx level %d old_spte %llx new_spte %llx",
			   &gfn, &level, &old, &new) != 4)
			continue;
		for (i = 0; i < TR_FAULTS; i++)
			if (gfn == self->gfns[i] && level == 0 && !old && new)
				leaf[i] = true;
	}
	for (i = 0; i < TR_FAULTS; i++) {
		EXPECT_TRUE(leaf[i]) TH_LOG("no leaf written for gfn %llx",
					    (unsigned long long)self->gfns[i]);
	}
	free(text);
}

/*
 * One munmap of the slot's memory: one s2mmu_unmap_hva_range over that
 * range (and none other overlapping it), and the zap's remote TLB flush
 * of the VM's one vCPU.
 */
TEST_F(trace, unmap)
{
	unsigned long start = (unsigned long)self->mem;
	unsigned long end = start + TR_PAGES * S2MMU_PAGE_SIZE;
	const char *pos = NULL, *r;
	int overlapping = 0, covering = 0, flushes = 0;
	char *text;

	tr_fault_pages(_metadata, self);
	self->events = "s2mmu_unmap_hva_range,s2mmu_remote_tlb_flush";
	ASSERT_EQ(0, tr_enable(self->events, true));
	ASSERT_EQ(0, munmap(self->mem, TR_PAGES * S2MMU_PAGE_SIZE));
	self->mem = NULL;
	ASSERT_EQ(0, tr_write("tracing_on", "0"));
	text = tr_read();
	ASSERT_NE(NULL, text);

	while ((r = tr_next(text, "s2mmu_unmap_hva_range", &pos))) {
		unsigned long s, e;
		int got = sscanf(r, "mmu notifier unmap range: %lx -- %lx",
				 &s, &e);

		ASSERT_EQ(2, got) TH_LOG("record: %.80s", r);
		if (s < end && e > start) {
			overlapping++;
			covering += s <= start && e >= end;
		}
	}
	EXPECT_EQ(1, overlapping);
	EXPECT_EQ(1, covering);

	pos = NULL;
	while ((r = tr_next(text, "s2mmu_remote_tlb_flush", &pos))) {
		unsigned int n;

		if (sscanf(r, "vcpus %u", &n) == 1 && n == 1)
			flushes++;
	}
	EXPECT_LE(1, flushes) TH_LOG("no remote TLB flush for the zap");
	free(text);
}

#define FLUSH_DELAY	S2MMU_KNOB("test_flush_delay_ms")

/* Pages [0, 2) of the slot: the invalidation the retry test holds open. */
static void *tr_dontneed(void *mem)
{
	madvise(mem, 2 * S2MMU_PAGE_SIZE, MADV_DONTNEED);
	return NULL;
}

/*
 * A fault during an invalidation of its page starts over: page 1 is
 * mapped, page 0 is not; MADV_DONTNEED of both in a thread zaps page 1
 * and, with the test flavour's test_flush_delay_ms, waits 200 ms before
 * its TLB flush, still inside invalidate_range_start.  A read of page 0
 * meanwhile faults and must retry until the invalidation ends: at least
 * one s2mmu_fault_retry for gfn 0, and only then the install.
 */
TEST_F(trace, fault_retry)
{
	long kb = s2mmu_read_long(TRACEFS "/buffer_size_kb");
	const char *pos = NULL, *r;
	char buf[8], old_kb[32];
	int retries = 0;
	pthread_t th;
	char *text;

	if (!s2mmu_have_knob(FLUSH_DELAY))
		SKIP(return, "needs the test flavour (test_flush_delay_ms)");
	ASSERT_LT(0, kb);
	/*
	 * The fault retries as fast as it can while it waits: keep only the
	 * last records (a small buffer overwrites the oldest), so reading
	 * the buffer back stays quick under TCG.
	 */
	snprintf(old_kb, sizeof(old_kb), "%ld", kb);
	ASSERT_EQ(0, tr_write("buffer_size_kb", "16"));
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run,
				       TR_GPA + S2MMU_PAGE_SIZE,
				       S2MMU_PAGE_SIZE, false, 0, 1));
	self->events = "s2mmu_fault_retry";
	ASSERT_EQ(0, tr_enable(self->events, true));
	ASSERT_EQ(0, s2mmu_set_knob(FLUSH_DELAY, 200));
	ASSERT_EQ(0, pthread_create(&th, NULL, tr_dontneed, self->mem));
	usleep(50 * 1000);	/* the zap is in its flush delay */
	EXPECT_EQ(0, s2mmu_guest_read(self->vcpu, self->run, TR_GPA, buf,
				      sizeof(buf)));
	pthread_join(th, NULL);
	ASSERT_EQ(0, s2mmu_set_knob(FLUSH_DELAY, 0));
	ASSERT_EQ(0, tr_write("tracing_on", "0"));
	text = tr_read();
	tr_write("buffer_size_kb", old_kb);
	ASSERT_NE(NULL, text);
	while ((r = tr_next(text, "s2mmu_fault_retry", &pos))) {
		unsigned long long gfn;
		unsigned long seq;
		char where[16];

		if (sscanf(r, "gfn %llx seq %lu %15s", &gfn, &seq, where) == 3 &&
		    gfn == TR_GFN)
			retries++;
	}
	EXPECT_LT(0, retries) TH_LOG("no s2mmu_fault_retry for gfn %llx",
				     (unsigned long long)TR_GFN);
	free(text);
}

/* Kernel release at least major.minor? */
static bool tr_kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma, mi;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * Host aging of the slot: s2mmu_age_hva records inside its host range.
 * 6.12 ages through MGLRU's walk; 6.1's reclaim (MADV_PAGEOUT) checks the
 * references of each page through clear_flush_young (from 6.10 on
 * MADV_PAGEOUT no longer does).
 */
TEST_F(trace, aging)
{
	unsigned long start = (unsigned long)self->mem;
	unsigned long end = start + TR_PAGES * S2MMU_PAGE_SIZE;
	const char *pos = NULL, *r;
	int inside = 0;
	char *text;

	tr_fault_pages(_metadata, self);
	if (tr_kernel_at_least(6, 10) && !s2mmu_have_mglru())
		SKIP(return, "no %s (MGLRU or debugfs missing)", S2MMU_LRU_GEN);
	self->events = "s2mmu_age_hva";
	ASSERT_EQ(0, tr_enable(self->events, true));
	if (tr_kernel_at_least(6, 10)) {
		ASSERT_LT(0, s2mmu_mglru_age());
	} else {
		ASSERT_EQ(0, madvise(self->mem, TR_PAGES * S2MMU_PAGE_SIZE,
				     MADV_PAGEOUT));
	}
	ASSERT_EQ(0, tr_write("tracing_on", "0"));
	text = tr_read();
	ASSERT_NE(NULL, text);

	while ((r = tr_next(text, "s2mmu_age_hva", &pos))) {
		unsigned long s, e;
		int got = sscanf(r, "mmu notifier age hva: %lx -- %lx",
				 &s, &e);

		ASSERT_EQ(2, got) TH_LOG("record: %.80s", r);
		inside += s >= start && e <= end && s < e;
	}
	EXPECT_LT(0, inside) TH_LOG("no s2mmu_age_hva over the slot");
	free(text);
}

#define NX_PARAM	S2MMU_KNOB("nx_huge_pages")
#define RATIO_PARAM	S2MMU_KNOB("nx_huge_pages_recovery_ratio")
#define PERIOD_PARAM	S2MMU_KNOB("nx_huge_pages_recovery_period_ms")

/*
 * NX huge page recovery (x86 TDP): an exec fault in a THP-backed 2 MiB
 * region maps it 4 KiB and records the table; once recovery runs (ratio
 * 1, every 100 ms) it unlinks that table: exactly one s2mmu_nx_recovered,
 * for the region's first gfn at level 1.
 */
TEST(nx_recovered)
{
	long ratio = s2mmu_read_long(RATIO_PARAM);
	long period = s2mmu_read_long(PERIOD_PARAM);
	size_t size = S2MMU_PMD_SIZE;
	const char *pos = NULL, *r;
	struct s2mmu_vm_info info;
	struct s2mmu_run *run;
	int vm, vcpu, nr = 0, ok = 0, i;
	char buf[64], nx[8] = "";
	bool split;
	char *mem, *text;
	int fd;

	if (!tr_available())
		SKIP(return, "no tracefs with s2mmu events at " TRACEFS);
	fd = open(NX_PARAM, O_RDONLY);
	if (fd < 0 || read(fd, nx, sizeof(nx) - 1) <= 0 || nx[0] == 'n') {
		if (fd >= 0)
			close(fd);
		SKIP(return, "nx_huge_pages unavailable or never");
	}
	close(fd);
	if (!s2mmu_thp_available())
		SKIP(return, "no transparent huge pages");
	mem = s2mmu_alloc_aligned(size, S2MMU_PMD_SIZE);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, madvise(mem, size, MADV_HUGEPAGE));
	memset(mem, 0xc3, size);
	ASSERT_EQ(0, s2mmu_write_str(NX_PARAM, "force"));
	ASSERT_EQ(0, s2mmu_set_knob(RATIO_PARAM, 0));
	ASSERT_EQ(0, s2mmu_set_knob(PERIOD_PARAM, 100));
	s2mmu_setup_guest(_metadata, S2MMU_VM_X86_TDP, mem, TR_GPA, size,
			  &vm, &vcpu, &run);
	EXPECT_EQ(0, s2mmu_vcpu_access(vcpu, run, S2MMU_OP_EXEC,
				       TR_GPA + S2MMU_PAGE_SIZE, buf,
				       sizeof(buf)));
	ASSERT_EQ(0, s2mmu_vm_info(vm, &info));
	split = info.stat_nx_lpage_splits == 1;
	if (split) {
		ASSERT_EQ(0, tr_enable("s2mmu_nx_recovered", true));
		ASSERT_EQ(0, s2mmu_set_knob(RATIO_PARAM, 1));
		for (i = 0; i < 100; i++) {
			ASSERT_EQ(0, s2mmu_vm_info(vm, &info));
			if (!info.stat_nx_lpage_splits &&
			    info.stat_nx_lpage_recoveries)
				break;
			usleep(50 * 1000);
		}
		EXPECT_EQ(0, info.stat_nx_lpage_splits);
		ASSERT_EQ(0, tr_enable("s2mmu_nx_recovered", false));
		text = tr_read();
		ASSERT_NE(NULL, text);
		while ((r = tr_next(text, "s2mmu_nx_recovered", &pos))) {
			unsigned long long gfn;
			int level;

			nr++;
			ok += sscanf(r, "gfn %llx level %d", &gfn, &level) == 2 &&
			      gfn == TR_GFN && level == 1;
		}
		EXPECT_EQ(1, nr);
		EXPECT_EQ(1, ok);
		free(text);
	}
	s2mmu_teardown_guest(_metadata, vm, vcpu, run, mem, size);
	s2mmu_write_str(NX_PARAM, nx[0] == 'Y' ? "Y" : "N");
	s2mmu_set_knob(RATIO_PARAM, ratio);
	s2mmu_set_knob(PERIOD_PARAM, period);
	if (!split)
		SKIP(return, "the exec fault split nothing (no THP?)");
}

/* Run trace-cmd with @argv (NULL-terminated), quietly; its exit status. */
static int tr_trace_cmd(const char *const argv[])
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		/* Not the console: trace-cmd has nothing to read there. */
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execv(TRACE_CMD, (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 0x100 | status;
}

/*
 * The same faults recorded with trace-cmd and read back with "trace-cmd
 * report": exactly the n requests again.  "trace-cmd start" has the
 * event on and tracing on when it returns, and "trace-cmd extract" takes
 * what the ring buffer then holds, so no record is lost to a recorder
 * that had not begun reading yet (as with "trace-cmd record" in the
 * background, whose readers start after it turns tracing on).
 */
TEST_F(trace, trace_cmd)
{
	static const char * const start[] = {
		"trace-cmd", "start", "-e", "s2mmu:s2mmu_spte_requested", NULL
	};
	static const char * const extract[] = {
		"trace-cmd", "extract", "-o", TRACE_DAT, NULL
	};
	char cmd[256], *text;
	size_t len = 0;
	int i, ret, nr;
	FILE *f;

	if (access(TRACE_CMD, X_OK))
		SKIP(return, "no %s in the initramfs (stock x86_64 kernels only)",
		     TRACE_CMD);
	/* The events do not depend on the format: one VM type is enough. */
	if (variant->type != S2MMU_VM_X86_TDP)
		SKIP(return, "trace-cmd runs on the x86_tdp variant only");
	unlink(TRACE_DAT);
	ASSERT_EQ(0, tr_record_cmd_off());
	/* The teardown turns record-cmd back on (tr_enable()). */
	self->events = "s2mmu_spte_requested";
	ASSERT_EQ(0, tr_clear());
	ret = tr_trace_cmd(start);
	ASSERT_EQ(0, ret) TH_LOG("trace-cmd start: status %#x", ret);
	ASSERT_EQ(0, s2mmu_read_long(TRACEFS "/options/record-cmd"))
		TH_LOG("trace-cmd start turned record-cmd on");
	/*
	 * The teardown undoes only what "start" did (the event, tracing
	 * on): "trace-cmd reset" would rewrite every tracing setting and
	 * instance, far more than this case touched.
	 */
	tr_fault_pages(_metadata, self);
	ret = tr_trace_cmd(extract);
	EXPECT_EQ(0, ret) TH_LOG("trace-cmd extract: status %#x", ret);

	snprintf(cmd, sizeof(cmd), TRACE_CMD " report -i " TRACE_DAT
		 " </dev/null 2>/dev/null");
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	text = malloc(1 << 20);
	ASSERT_NE(NULL, text);
	while (len < (1 << 20) - 1 &&
	       (i = fread(text + len, 1, (1 << 20) - 1 - len, f)) > 0)
		len += i;
	text[len] = 0;
	EXPECT_EQ(0, pclose(f));
	nr = tr_check_requested(_metadata, text, self->gfns, TR_FAULTS);
	EXPECT_EQ(TR_FAULTS, nr) TH_LOG("trace-cmd report: %.400s", text);
	free(text);
	unlink(TRACE_DAT);
}

TEST_HARNESS_MAIN
