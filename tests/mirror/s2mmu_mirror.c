// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu_mirror.so: LD_PRELOAD it to make any program's address space an
 * s2mmu VM.
 *
 * A constructor creates a VM and one vCPU, and a background thread that,
 * until the program exits:
 *
 *  - re-reads /proc/self/maps and keeps one memory slot per eligible
 *    mapping (readable anonymous and file mappings; not [vvar], [vdso],
 *    [vsyscall], device or anon-inode mappings), guest physical address =
 *    host virtual address, deleting and re-creating a slot whenever its
 *    mapping's bounds change.  Protection changes, remaps within a mapping,
 *    COW, THP, KSM and migration are left to the module's coherence;
 *  - runs TOUCH reads (never writes: the program's memory must not change)
 *    over a rotating window of every slot, tolerating the MEMORY_FAULT and
 *    MMIO exits of memory unmapped meanwhile;
 *  - checks the VM's invariants (S2MMU_CHECK_INVARIANTS) about once a
 *    second.
 *
 * At exit (a destructor, or the interposed _exit()) the thread is
 * stopped, the invariants checked once more, and the counts reported on
 * stderr and, as one line, appended to the file named by
 * $S2MMU_MIRROR_LOG.  A periodic check that finds violations is reported
 * at once, so a process that leaves another way (exit_group() directly,
 * a fatal signal) still reports them.
 *
 * A VM belongs to the mm that created it: a forked child gets a fresh VM
 * and thread of its own (pthread_atfork), or none with
 * S2MMU_MIRROR_FORK=0.  exec() drops everything (the fds are O_CLOEXEC)
 * and the new program, if dynamic and still preloading, starts over.
 *
 * Environment: S2MMU_MIRROR_LOG (report file), S2MMU_MIRROR_TYPE ("x86" or
 * "arm64"; default: the host's format), S2MMU_MIRROR_FORK (default 1),
 * S2MMU_MIRROR_PAUSE_US (sleep between rounds, default 1000),
 * S2MMU_MIRROR_WINDOW (pages touched per slot and round, default 16),
 * S2MMU_MIRROR_QUIET (no stderr report when set to 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "libs2mmu.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define MIRROR_PAGE_SIZE	4096UL
#define MIRROR_MAX_SLOTS	S2MMU_MAX_MEMSLOTS
#define MIRROR_CHECK_MS		1000

/* One memory slot: guest [start, end) == host [start, end). */
struct mirror_slot {
	unsigned long start;
	unsigned long end;
	unsigned long cursor;	/* next offset of the touch window */
	unsigned int id;
	bool seen;		/* found again by the current resync */
};

/* What a process's mirror did, for the report. */
struct mirror_stats {
	unsigned long long rounds;
	unsigned long long resyncs;	/* resyncs that changed a slot */
	unsigned long long slot_creates;
	unsigned long long slot_deletes;
	unsigned long long slot_errors;
	unsigned long long accesses;	/* TOUCH accesses completed */
	unsigned long long pages;	/* pages they touched */
	unsigned long long faults;	/* MEMORY_FAULT exits */
	unsigned long long mmio;	/* MMIO exits */
	unsigned long long run_errors;
	unsigned long long checks;
	unsigned long long violations;
	unsigned long long leaves;	/* present leaves at the last check */
	long long last_check_ms;
};

/*
 * All state is static and touched only by the mirror thread, the
 * constructor, the destructor and the fork child handler (which run
 * while the thread does not exist or is stopped), so no lock is needed
 * and nothing is allocated with malloc (a fork may happen at any time).
 */
static struct mirror {
	bool active;
	pid_t owner;		/* the process whose mm the VM belongs to */
	int vm;
	int vcpu;
	struct s2mmu_run *run;
	unsigned long max_gpa;
	pthread_t thread;
	bool stop;		/* read with __atomic: set by the destructor */

	struct mirror_slot slots[MIRROR_MAX_SLOTS];
	unsigned int nr_slots;
	unsigned int free_ids[MIRROR_MAX_SLOTS];
	unsigned int nr_free;
	unsigned int next_id;

	char *maps;		/* /proc/self/maps buffer (mmap()ed) */
	size_t maps_size;
	struct s2mmu_access acc[S2MMU_MAX_ACCESSES];

	struct mirror_stats st;
} m = { .vm = -1, .vcpu = -1 };

static unsigned long pause_us = 1000;
static unsigned long window_pages = 16;
static bool mirror_fork = true;
static bool quiet;

static bool mirror_stopping(void)
{
	return __atomic_load_n(&m.stop, __ATOMIC_RELAXED);
}

/* write() whose failure nobody could act on. */
static void mirror_write(int fd, const char *buf, int len, int size)
{
	ssize_t n;

	if (len <= 0)
		return;
	n = write(fd, buf, len < size ? len : size - 1);
	(void)n;
}

/*
 * Report one line; @event is "exit" for the final report.  One write()
 * with O_APPEND, so concurrent processes do not interleave their lines.
 */
static void mirror_report(const char *event, int ret)
{
	const char *path = getenv("S2MMU_MIRROR_LOG");
	char line[512];
	int len, fd;

	len = snprintf(line, sizeof(line),
		       "s2mmu-mirror: event=%s pid=%d rounds=%llu resyncs=%llu slots=%u creates=%llu deletes=%llu slot_errors=%llu accesses=%llu pages=%llu faults=%llu mmio=%llu run_errors=%llu checks=%llu leaves=%llu violations=%llu ret=%d\n",
		       event, (int)getpid(), m.st.rounds, m.st.resyncs, m.nr_slots,
		       m.st.slot_creates, m.st.slot_deletes, m.st.slot_errors,
		       m.st.accesses, m.st.pages, m.st.faults, m.st.mmio, m.st.run_errors,
		       m.st.checks, m.st.leaves, m.st.violations, ret);
	if (!quiet)
		mirror_write(STDERR_FILENO, line, len, sizeof(line));
	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	mirror_write(fd, line, len, sizeof(line));
	close(fd);
}

/* S2MMU_CHECK_INVARIANTS; adds the violations found to the count. */
static int mirror_check(void)
{
	struct s2mmu_invariants inv;
	unsigned long long v;
	int ret;

	ret = s2mmu_check_invariants(m.vm, &inv);
	m.st.checks++;
	m.st.last_check_ms = s2mmu_now_ms();
	if (ret && ret != -EUCLEAN)
		return ret;
	m.st.leaves = inv.leaves;
	v = s2mmu_invariants_violations(&inv);
	if (v || ret) {
		char line[320];
		int len;

		m.st.violations += v ? v : 1;
		len = snprintf(line, sizeof(line),
			       "s2mmu-mirror: pid=%d invariants ret=%d no_slot=%llu host_unmapped=%llu bad_pfn=%llu bad_write=%llu bad_huge=%llu bad_accounting=%llu stale_tlb=%llu\n",
			       (int)getpid(), ret,
			       (unsigned long long)inv.no_slot,
			       (unsigned long long)inv.host_unmapped,
			       (unsigned long long)inv.bad_pfn,
			       (unsigned long long)inv.bad_write,
			       (unsigned long long)inv.bad_huge,
			       (unsigned long long)inv.bad_accounting,
			       (unsigned long long)inv.stale_tlb);
		mirror_write(STDERR_FILENO, line, len, sizeof(line));
	}
	return ret;
}

/* Slot @id: guest physical = host virtual [start, start + size). */
static int mirror_set_region(unsigned int id, unsigned long start,
			     unsigned long size)
{
	return s2mmu_set_region(m.vm, id, 0, start, size, start);
}

static bool mirror_alloc_id(unsigned int *id)
{
	if (m.nr_free) {
		*id = m.free_ids[--m.nr_free];
		return true;
	}
	if (m.next_id >= MIRROR_MAX_SLOTS)
		return false;
	*id = m.next_id++;
	return true;
}

/* Read all of /proc/self/maps into m.maps (NUL terminated); its length. */
static ssize_t mirror_read_maps(void)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		if (len + 4096 + 1 > m.maps_size) {
			size_t size = m.maps_size ? m.maps_size * 2 : 1 << 20;
			char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED) {
				close(fd);
				return -1;
			}
			if (m.maps) {
				memcpy(p, m.maps, len);
				munmap(m.maps, m.maps_size);
			}
			m.maps = p;
			m.maps_size = size;
		}
		n = read(fd, m.maps + len, m.maps_size - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	m.maps[len] = '\0';
	return len;
}

/* Whether a mapping with these permissions and path gets a slot. */
static bool mirror_eligible(const char *perms, const char *path)
{
	static const char * const skip[] = {
		"[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]",
		"[uprobes]", "anon_inode:", "/dev/",
	};
	unsigned int i;

	if (perms[0] != 'r')
		return false;	/* PROT_NONE guards, execute-only text */
	if (!strncmp(path, "/dev/shm/", 9) || !strncmp(path, "/dev/zero", 9))
		return true;
	for (i = 0; i < ARRAY_SIZE(skip); i++)
		if (!strncmp(path, skip[i], strlen(skip[i])))
			return false;
	return true;
}

static struct mirror_slot *mirror_find(unsigned long start, unsigned long end)
{
	unsigned int i;

	/* Slots stay sorted by start: the maps are. */
	for (i = 0; i < m.nr_slots; i++) {
		if (m.slots[i].start == start && m.slots[i].end == end)
			return &m.slots[i];
		if (m.slots[i].start > start)
			break;
	}
	return NULL;
}

/*
 * Bring the slots in line with /proc/self/maps: delete the slots of
 * mappings that are gone or changed bounds (first, as a new mapping may
 * overlap an old slot), then create slots for new mappings.
 */
static void mirror_resync(void)
{
	static struct mirror_slot next[MIRROR_MAX_SLOTS];
	unsigned int nr_next = 0, i;
	bool changed = false;
	char *line, *eol;

	if (mirror_read_maps() < 0)
		return;
	for (i = 0; i < m.nr_slots; i++)
		m.slots[i].seen = false;

	/* Pass 1: which existing slots survive, which mappings are new. */
	for (line = m.maps; *line; line = eol + 1) {
		unsigned long start, end;
		char perms[5] = "";
		struct mirror_slot *s;
		int pos = 0;

		eol = strchr(line, '\n');
		if (!eol)
			break;
		*eol = '\0';
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end,
			   perms, &pos) < 3 || !pos)
			continue;
		if (!mirror_eligible(perms, line + pos))
			continue;
		if (end > m.max_gpa || end <= start)
			continue;
		if (nr_next >= MIRROR_MAX_SLOTS)
			break;
		s = mirror_find(start, end);
		if (s) {
			s->seen = true;
			next[nr_next++] = *s;
		} else {
			next[nr_next].start = start;
			next[nr_next].end = end;
			next[nr_next].cursor = 0;
			next[nr_next].id = UINT32_MAX;	/* new */
			nr_next++;
		}
	}

	/* Pass 2: delete what is gone. */
	for (i = 0; i < m.nr_slots; i++) {
		if (m.slots[i].seen)
			continue;
		if (mirror_set_region(m.slots[i].id, 0, 0))
			m.st.slot_errors++;
		m.free_ids[m.nr_free++] = m.slots[i].id;
		m.st.slot_deletes++;
		changed = true;
	}

	/* Pass 3: create what is new; keep the sorted order. */
	m.nr_slots = 0;
	for (i = 0; i < nr_next; i++) {
		struct mirror_slot *s = &next[i];

		if (s->id == UINT32_MAX) {
			if (!mirror_alloc_id(&s->id))
				continue;
			if (mirror_set_region(s->id, s->start,
					      s->end - s->start)) {
				m.st.slot_errors++;
				m.free_ids[m.nr_free++] = s->id;
				continue;
			}
			m.st.slot_creates++;
			changed = true;
		}
		m.slots[m.nr_slots++] = *s;
	}
	if (changed)
		m.st.resyncs++;
}

/*
 * One pass of TOUCH reads: a window of window_pages pages of every slot,
 * the window moving on each round.  An access that exits (its memory was
 * unmapped meanwhile, or is not readable) is skipped.
 */
static void mirror_touch(void)
{
	unsigned int first = 0;

	while (first < m.nr_slots && !mirror_stopping()) {
		unsigned int nr = 0, done = 0, i;

		for (i = first; i < m.nr_slots && nr < S2MMU_MAX_ACCESSES;
		     i++) {
			struct mirror_slot *s = &m.slots[i];
			unsigned long size = s->end - s->start;
			unsigned long len = window_pages * MIRROR_PAGE_SIZE;

			if (s->cursor >= size)
				s->cursor = 0;
			if (len > size - s->cursor)
				len = size - s->cursor;
			m.acc[nr] = (struct s2mmu_access) {
				.gpa = s->start + s->cursor,
				.len = len,
				.op = S2MMU_OP_TOUCH,
				.stride = MIRROR_PAGE_SIZE,
				.repeat = 1,
			};
			s->cursor += len;
			nr++;
		}
		first = i;

		while (done < nr && !mirror_stopping()) {
			struct s2mmu_run *run = m.run;
			unsigned long long k;

			if (s2mmu_vcpu_run(m.vcpu, run, &m.acc[done],
					   nr - done) < 0) {
				if (errno == EINTR)
					continue;
				m.st.run_errors++;
				if (errno == EIO) {
					/* Not our mm's VM any more. */
					__atomic_store_n(&m.stop, true,
							 __ATOMIC_RELAXED);
					return;
				}
				break;	/* drop the rest of this batch */
			}
			for (k = 0; k < run->done; k++)
				m.st.pages += (m.acc[done + k].len +
					    MIRROR_PAGE_SIZE - 1) /
					   MIRROR_PAGE_SIZE;
			m.st.accesses += run->done;
			switch (run->exit_reason) {
			case S2MMU_EXIT_DONE:
				done = nr;
				break;
			case S2MMU_EXIT_MEMORY_FAULT:
				m.st.faults++;
				done += run->done + 1;
				break;
			case S2MMU_EXIT_MMIO:
				m.st.mmio++;
				done += run->done + 1;
				break;
			default:	/* S2MMU_EXIT_INTR: run it again */
				done += run->done;
				break;
			}
		}
	}
}

static void *mirror_thread(void *arg)
{
	sigset_t all;

	(void)arg;
	/* Signals are the program's business: let its threads take them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!mirror_stopping()) {
		mirror_resync();
		mirror_touch();
		m.st.rounds++;
		if (s2mmu_now_ms() - m.st.last_check_ms >= MIRROR_CHECK_MS) {
			unsigned long long before = m.st.violations;

			mirror_check();
			if (m.st.violations != before)
				mirror_report("violation", -EUCLEAN);
		}
		if (pause_us)
			usleep(pause_us);
	}
	return NULL;
}

static void mirror_close(void)
{
	s2mmu_unmap_run(m.run);
	if (m.vcpu >= 0)
		close(m.vcpu);
	if (m.vm >= 0)
		close(m.vm);
	m.run = NULL;
	m.vcpu = -1;
	m.vm = -1;
	m.active = false;
}

static unsigned long mirror_vm_type(void)
{
	const char *t = getenv("S2MMU_MIRROR_TYPE");

	if (t && !strcmp(t, "arm64"))
		return S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(48);
	if (t && !strcmp(t, "x86"))
		return S2MMU_VM_X86_TDP;
#ifdef __aarch64__
	return S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(48);
#else
	return S2MMU_VM_X86_TDP;
#endif
}

/* Create the VM, the vCPU and the thread for the calling process. */
static void mirror_start(void)
{
	struct s2mmu_vm_info info;
	int err;

	memset(&m.slots, 0, sizeof(m.slots[0]) * m.nr_slots);
	m.nr_slots = 0;
	m.nr_free = 0;
	m.next_id = 0;
	m.stop = false;
	m.owner = getpid();
	memset(&m.st, 0, sizeof(m.st));
	m.st.last_check_ms = s2mmu_now_ms();

	m.vm = s2mmu_create_vm(mirror_vm_type());
	if (m.vm < 0) {
		err = m.vm;
		goto fail;
	}
	fcntl(m.vm, F_SETFD, FD_CLOEXEC);
	err = s2mmu_vm_info(m.vm, &info);
	if (err)
		goto fail;
	m.max_gpa = info.max_gpa;
	m.vcpu = s2mmu_create_vcpu(m.vm, 0);
	if (m.vcpu < 0) {
		err = m.vcpu;
		goto fail;
	}
	m.run = s2mmu_map_run(m.vcpu);
	if (!m.run) {
		err = -errno;
		goto fail;
	}
	err = -pthread_create(&m.thread, NULL, mirror_thread, NULL);
	if (err)
		goto fail;
	m.active = true;
	return;
fail:
	mirror_close();
	mirror_report("nomirror", err);
}

/* After fork(): the parent's VM is not ours and its thread is not here. */
static void mirror_atfork_child(void)
{
	/* The inherited fds and run page belong to the parent's VM. */
	mirror_close();
	if (mirror_fork)
		mirror_start();
}

__attribute__((constructor))
static void mirror_init(void)
{
	pause_us = s2mmu_env_ull("S2MMU_MIRROR_PAUSE_US", 1000);
	window_pages = s2mmu_env_ull("S2MMU_MIRROR_WINDOW", 16);
	if (!window_pages)
		window_pages = 1;
	mirror_fork = s2mmu_env_ull("S2MMU_MIRROR_FORK", 1) != 0;
	quiet = s2mmu_env_ull("S2MMU_MIRROR_QUIET", 0) != 0;
	pthread_atfork(NULL, NULL, mirror_atfork_child);
	mirror_start();
}

/*
 * At exit: stop the thread, check the invariants a last time, report.
 * Not in a raw clone() child or a vfork() child: their VM, if any, is
 * not theirs.
 */
static void mirror_finish(void)
{
	int ret;

	if (!m.active || m.owner != getpid())
		return;
	__atomic_store_n(&m.stop, true, __ATOMIC_RELAXED);
	pthread_join(m.thread, NULL);
	ret = mirror_check();
	mirror_report("exit", ret);
	mirror_close();
}

__attribute__((destructor))
static void mirror_fini(void)
{
	mirror_finish();
}

/*
 * Forked workers (stress-ng's, the kselftest harness's) usually leave
 * with _exit(), which runs no destructor: interpose it so they report
 * too.  Calls from inside libc, and to _Exit(), are not seen.
 */
void _exit(int status)
{
	mirror_finish();
	for (;;)
		syscall(SYS_exit_group, status);
}
