// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: coherence of guest memory with the host mm.
 *
 * The guest must see exactly what the host process sees at the slot's
 * host addresses, whatever the host mm does to them: writes from either
 * side, munmap, mmap over, MADV_DONTNEED, mprotect, fork and COW, THP
 * split and collapse, migration, reclaim, KSM merging, mremap, truncation
 * and hole punching of shared memory, and memory failure.  Each test
 * first makes the guest map the pages, so that a stale stage-2 entry or
 * software TLB entry would show as wrong data or a missing fault.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define GPA_BASE	0x40000000ULL	/* 1 GiB: aligned for any leaf size */

FIXTURE(mem) {
	int vm;
	int vcpu;
	struct s2mmu_run *run;
	char *mem;		/* munmapped by the teardown */
	size_t size;
};

FIXTURE_VARIANT(mem) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(mem, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(mem, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(mem)
{
	self->mem = NULL;
	self->size = 0;
	s2mmu_setup_guest(_metadata, variant->type, NULL, 0, 0, &self->vm,
			  &self->vcpu, &self->run);
}

FIXTURE_TEARDOWN(mem)
{
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, self->size);
}

/* Anonymous private memory for slot 0 at GPA_BASE, kept in self. */
static char *anon_slot(int vm, char **mem, size_t *size, size_t npages,
		       size_t align)
{
	char *p = s2mmu_alloc_aligned(npages * PG, align);

	if (!p)
		return NULL;
	/*
	 * khugepaged (THP "always") may collapse this memory at any time, a
	 * legitimate invalidation that would race the exact translations
	 * these tests check; the THP tests use memory of their own.
	 */
	madvise(p, npages * PG, MADV_NOHUGEPAGE);
	*mem = p;
	*size = npages * PG;
	if (s2mmu_set_region(vm, 0, 0, GPA_BASE, npages * PG, (unsigned long)p))
		return NULL;
	return p;
}

#define ANON_SLOT(npages) \
	anon_slot(self->vm, &self->mem, &self->size, (npages), PG)

static void fill_pages(char *p, size_t npages, __u64 seed)
{
	size_t i;

	for (i = 0; i < npages; i++)
		s2mmu_fill_page(p + i * PG, seed + i);
}

/* The guest reads page @i of slot 0 and finds pattern @seed in it. */
static bool guest_sees(int vcpu, struct s2mmu_run *run, size_t i, __u64 seed)
{
	char buf[PG];

	if (s2mmu_guest_read(vcpu, run, GPA_BASE + i * PG, buf, PG) !=
	    S2MMU_EXIT_DONE)
		return false;
	return s2mmu_check_page(buf, seed);
}

/* The guest reads page @i and finds exactly what the host has there. */
static bool guest_matches(int vcpu, struct s2mmu_run *run, size_t i,
			  const char *host)
{
	char buf[PG];

	if (s2mmu_guest_read(vcpu, run, GPA_BASE + i * PG, buf, PG) !=
	    S2MMU_EXIT_DONE)
		return false;
	return !memcmp(buf, host + i * PG, PG);
}

static bool guest_zero(int vcpu, struct s2mmu_run *run, size_t i)
{
	static const char zero[PG];
	char buf[PG];

	if (s2mmu_guest_read(vcpu, run, GPA_BASE + i * PG, buf, PG) !=
	    S2MMU_EXIT_DONE)
		return false;
	return !memcmp(buf, zero, PG);
}

/* The stage-2 entry of page @i, or -1 on error; 1 when present. */
static int s2_present(int vcpu, size_t i)
{
	struct s2mmu_translation t;

	if (s2mmu_translate(vcpu, GPA_BASE + i * PG, &t))
		return -1;
	return t.present;
}

/* Make the guest map every page of the slot (read faults). */
static int guest_map_all(int vcpu, struct s2mmu_run *run, size_t npages)
{
	return s2mmu_guest_touch(vcpu, run, GPA_BASE, npages * PG, false, 0, 0);
}

/* Guest writes are seen by the host, host writes by the guest. */
TEST_F(mem, host_guest_coherence)
{
	const size_t n = 16;
	char *p = ANON_SLOT(n);
	char buf[3 * PG], before[PG + 600];
	size_t i;

	ASSERT_NE(NULL, p);
	/* Never-touched anonymous memory reads as zeros (the zero page). */
	for (i = 0; i < n; i++)
		EXPECT_TRUE(guest_zero(self->vcpu, self->run, i));
	/* The host's first write replaces the zero page: the guest follows. */
	fill_pages(p, n, 0);
	for (i = 0; i < n; i++)
		EXPECT_TRUE(guest_sees(self->vcpu, self->run, i, i));

	/* Guest writes, whole pages. */
	for (i = 0; i < n; i++) {
		s2mmu_fill_page(buf, 100 + i);
		ASSERT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_write(self->vcpu, self->run,
					    GPA_BASE + i * PG, buf, PG));
	}
	for (i = 0; i < n; i++)
		EXPECT_TRUE(s2mmu_check_page(p + i * PG, 100 + i));

	/* An unaligned write across pages changes exactly its bytes. */
	memcpy(before, p + 5 * PG - 300, sizeof(before));
	memset(buf, 0xab, PG);
	ASSERT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_write(self->vcpu, self->run,
				    GPA_BASE + 5 * PG - 100, buf, PG + 200));
	EXPECT_EQ(0, memcmp(p + 5 * PG - 300, before, 200));
	EXPECT_EQ(0, memcmp(p + 5 * PG - 100, buf, PG + 200));
	EXPECT_EQ(0, memcmp(p + 6 * PG + 100, before + PG + 400, 200));
	/* ... and an unaligned read across three pages returns them. */
	ASSERT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + 3 * PG + 7,
				   buf, 2 * PG + 100));
	EXPECT_EQ(0, memcmp(buf, p + 3 * PG + 7, 2 * PG + 100));

	/* Host writes again: the guest reads them through its warm TLB. */
	fill_pages(p, n, 200);
	for (i = 0; i < n; i++)
		EXPECT_TRUE(guest_sees(self->vcpu, self->run, i, 200 + i));

	/* A write TOUCH stores back what it loaded: nothing changes. */
	ASSERT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE, n * PG, true,
				    64, 3));
	for (i = 0; i < n; i++)
		EXPECT_TRUE(s2mmu_check_page(p + i * PG, 200 + i));
}

/* munmap of part of the backing: those pages fault, the rest is intact. */
TEST_F(mem, munmap_part)
{
	const size_t n = 8;
	char *p = ANON_SLOT(n);
	char buf[PG];

	ASSERT_NE(NULL, p);
	fill_pages(p, n, 0);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_map_all(self->vcpu, self->run, n));
	ASSERT_EQ(1, s2_present(self->vcpu, 2));

	ASSERT_EQ(0, munmap(p + 2 * PG, 2 * PG));
	/* The invalidation removed the entries before munmap returned. */
	EXPECT_EQ(0, s2_present(self->vcpu, 2));
	EXPECT_EQ(0, s2_present(self->vcpu, 3));

	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + 2 * PG + 8,
				   buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_NOT_MAPPED, self->run->memory_fault.flags);
	EXPECT_EQ(GPA_BASE + 2 * PG, self->run->memory_fault.gpa);
	EXPECT_EQ(PG, self->run->memory_fault.size);
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_BASE + 3 * PG,
				    buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_WRITE | S2MMU_MEMORY_FAULT_NOT_MAPPED,
		  self->run->memory_fault.flags);
	EXPECT_EQ(GPA_BASE + 3 * PG, self->run->memory_fault.gpa);
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE, n * PG,
				    false, 0, 0));
	EXPECT_EQ(GPA_BASE + 2 * PG, self->run->memory_fault.gpa);

	/* A read spanning the hole stops at its first byte. */
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + PG + 100,
				   buf, PG));
	EXPECT_EQ(GPA_BASE + 2 * PG, self->run->memory_fault.gpa);

	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 1, 1));
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 4, 4));
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 7, 7));
}

/*
 * /dev/kmsg opened at its end, to read what the kernel logs from now on;
 * -1 when it cannot be read.
 */
static int kmsg_open_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Whether a kernel log record since kmsg_open_end() contains @what. */
static bool kmsg_logged(int fd, const char *what)
{
	char rec[8192];
	bool found = false;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, what))
			found = true;
	}
	return found;
}

/* The start of the /proc/self/maps line that covers @addr, or 0. */
static unsigned long maps_start(const void *addr)
{
	unsigned long start, end, ret = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    (uintptr_t)addr >= start && (uintptr_t)addr < end) {
			ret = start;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * A slot whose memory was unmapped, directly below a MAP_GROWSDOWN
 * (stack-like) mapping: guest accesses are NOT_MAPPED memory faults.
 * The fault path must not ask GUP to fault in an address no VMA covers:
 * just below a VM_GROWSDOWN VMA, GUP refuses it with a warning and a
 * stack dump ("GUP no longer grows the stack"), and older kernels grew
 * the stack down over the slot.
 */
TEST_F(mem, unmapped_below_growsdown)
{
	const size_t n = 4, nstack = 4;
	struct s2mmu_pre_fault_memory pf;
	char *p, *stack, buf[PG];
	int kmsg;

	p = mmap(NULL, (n + nstack) * PG, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	self->mem = p;
	self->size = (n + nstack) * PG;
	stack = mmap(p + n * PG, nstack * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED,
		     -1, 0);
	ASSERT_EQ(p + n * PG, stack);
	stack[0] = 1;
	ASSERT_EQ(0, munmap(p, n * PG));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, n * PG,
				      (unsigned long)p));

	kmsg = kmsg_open_end();
	if (kmsg < 0)
		TH_LOG("/dev/kmsg: %s; not checking the kernel log",
		       strerror(errno));

	/* The last page of the slot: one page below the stack. */
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run,
				   GPA_BASE + (n - 1) * PG, buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_NOT_MAPPED, self->run->memory_fault.flags);
	EXPECT_EQ(GPA_BASE + (n - 1) * PG, self->run->memory_fault.gpa);
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_write(self->vcpu, self->run,
				    GPA_BASE + (n - 1) * PG, buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_WRITE | S2MMU_MEMORY_FAULT_NOT_MAPPED,
		  self->run->memory_fault.flags);
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE, n * PG,
				    false, 0, 0));
	EXPECT_EQ(GPA_BASE, self->run->memory_fault.gpa);
	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_BASE;
	pf.size = n * PG;
	EXPECT_EQ(-EFAULT, s2mmu_pre_fault(self->vcpu, &pf));

	/* The stack did not grow over the slot. */
	EXPECT_EQ((unsigned long)stack, maps_start(stack));
	EXPECT_EQ(0, maps_start(p + (n - 1) * PG));
	if (kmsg >= 0) {
		EXPECT_FALSE(kmsg_logged(kmsg, "GUP no longer grows the stack"));
		close(kmsg);
	}
}

/* munmap + mmap of new memory at the same hva: never the old contents. */
TEST_F(mem, remap_new_contents)
{
	const size_t n = 4;
	char *p = ANON_SLOT(n);
	int iter, memfd;
	size_t i;

	ASSERT_NE(NULL, p);
	memfd = memfd_create("s2mmu-remap", MFD_CLOEXEC);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, n * PG));

	fill_pages(p, n, 0);
	for (iter = 1; iter <= 12; iter++) {
		char *q;

		ASSERT_EQ(S2MMU_EXIT_DONE, guest_map_all(self->vcpu, self->run, n));
		ASSERT_EQ(1, s2_present(self->vcpu, 0));
		if (iter % 3 == 2) {
			/* Explicit munmap, then a fresh mapping. */
			ASSERT_EQ(0, munmap(p, n * PG));
			EXPECT_EQ(0, s2_present(self->vcpu, 0));
			q = mmap(p, n * PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		} else if (iter % 3 == 1) {
			/* MAP_FIXED over it, anonymous. */
			q = mmap(p, n * PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		} else {
			/* MAP_FIXED over it, shared memory. */
			q = mmap(p, n * PG, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, memfd, 0);
		}
		ASSERT_EQ(p, q);
		for (i = 0; i < n; i++)
			EXPECT_EQ(0, s2_present(self->vcpu, i));
		/* Fresh memory: zeros, except the memfd's previous contents. */
		if (iter % 3)
			EXPECT_TRUE(guest_zero(self->vcpu, self->run, 1));
		fill_pages(p, n, iter * 10);
		for (i = 0; i < n; i++)
			EXPECT_TRUE(guest_sees(self->vcpu, self->run, i,
					       iter * 10 + i))
				TH_LOG("iteration %d page %zu", iter, i);
	}
	close(memfd);
}

/* MADV_DONTNEED drops the pages: the guest reads zeros. */
TEST_F(mem, madv_dontneed)
{
	const size_t n = 8;
	char *p = ANON_SLOT(n);
	size_t i;

	ASSERT_NE(NULL, p);
	fill_pages(p, n, 0);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_map_all(self->vcpu, self->run, n));
	ASSERT_EQ(0, madvise(p + 2 * PG, 4 * PG, MADV_DONTNEED));
	for (i = 2; i < 6; i++)
		EXPECT_EQ(0, s2_present(self->vcpu, i));
	for (i = 0; i < n; i++)
		EXPECT_TRUE(i >= 2 && i < 6 ? guest_zero(self->vcpu, self->run, i) :
			    guest_sees(self->vcpu, self->run, i, i))
			TH_LOG("page %zu", i);
	/* New host data there is seen too. */
	fill_pages(p + 2 * PG, 4, 50);
	for (i = 2; i < 6; i++)
		EXPECT_TRUE(guest_sees(self->vcpu, self->run, i, 50 + i - 2));
}

/* mprotect(PROT_READ): guest writes fault, reads work; and back. */
TEST_F(mem, mprotect)
{
	const size_t n = 4;
	char *p = ANON_SLOT(n);
	struct s2mmu_translation t;
	char buf[PG];

	ASSERT_NE(NULL, p);
	fill_pages(p, n, 0);
	memset(buf, 0x11, 8);
	/* Map it writable first. */
	ASSERT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_BASE + PG, buf, 8));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + PG, &t));
	ASSERT_EQ(1, t.writable);

	ASSERT_EQ(0, mprotect(p, n * PG, PROT_READ));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + PG, &t));
	EXPECT_FALSE(t.present && t.writable);

	memset(buf, 0x22, 8);
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_BASE + PG, buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_WRITE | S2MMU_MEMORY_FAULT_NOT_MAPPED,
		  self->run->memory_fault.flags);
	EXPECT_EQ(GPA_BASE + PG, self->run->memory_fault.gpa);
	EXPECT_EQ(0, memcmp(p + PG, "\x11\x11\x11\x11\x11\x11\x11\x11", 8));

	/* Reads work, and map read-only. */
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + PG, buf, PG));
	EXPECT_EQ(0, memcmp(buf, p + PG, PG));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + PG, &t));
	EXPECT_EQ(1, t.present);
	EXPECT_EQ(0, t.writable);
	/* A write after that read-only mapping still faults. */
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE, n * PG,
				    true, 0, 0));
	EXPECT_EQ(GPA_BASE, self->run->memory_fault.gpa);
	EXPECT_EQ(S2MMU_MEMORY_FAULT_WRITE | S2MMU_MEMORY_FAULT_NOT_MAPPED,
		  self->run->memory_fault.flags);

	/* PROT_NONE: reads fault too. */
	ASSERT_EQ(0, mprotect(p, n * PG, PROT_NONE));
	EXPECT_EQ(0, s2_present(self->vcpu, 1));
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + 2 * PG,
				   buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_NOT_MAPPED, self->run->memory_fault.flags);

	/* Writable again: guest writes reach the host. */
	ASSERT_EQ(0, mprotect(p, n * PG, PROT_READ | PROT_WRITE));
	memset(buf, 0x22, 8);
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_BASE + PG, buf, 8));
	EXPECT_EQ(0, memcmp(p + PG, "\x22\x22\x22\x22\x22\x22\x22\x22", 8));
}

/*
 * fork() write-protects the parent's anonymous pages for COW.  The guest
 * belongs to the parent: it must see the parent's writes (which now go to
 * a new page) and never the child's, and its own writes must not leak
 * into the child.
 */
TEST_F(mem, fork_cow)
{
	const size_t n = 2;
	char *p = ANON_SLOT(n);
	int go[2], done[2], status;
	char c, buf[PG];
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	fill_pages(p, n, 0);
	/* The guest maps both pages writable. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_touch(self->vcpu, self->run,
						     GPA_BASE, n * PG, true, 0, 0));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ret = 0;

		if (read(go[0], &c, 1) != 1)
			_exit(10);
		/* The parent's host and guest writes are not ours. */
		if (!s2mmu_check_page(p, 0))
			ret |= 1;
		if (!s2mmu_check_page(p + PG, 1))
			ret |= 2;
		s2mmu_fill_page(p, 1000);
		s2mmu_fill_page(p + PG, 1001);
		if (write(done[1], "d", 1) != 1)
			ret |= 4;
		_exit(ret);
	}

	/* Parent, host write: COW gives the parent a new page. */
	s2mmu_fill_page(p, 500);
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 0, 500));
	/* Parent, guest write: must not land in the page the child shares. */
	s2mmu_fill_page(buf, 501);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     GPA_BASE + PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(p + PG, 501));

	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(done[0], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("the child saw the parent's writes");

	/* The child's writes are not the parent's, nor the guest's. */
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 0, 500));
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 1, 501));
	EXPECT_TRUE(s2mmu_check_page(p, 500));
	EXPECT_TRUE(s2mmu_check_page(p + PG, 501));
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
}

/* kB of AnonHugePages in the VMA holding @addr, from /proc/self/smaps. */
static long anon_huge_kb(const void *addr)
{
	unsigned long start, end, a = (unsigned long)addr;
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false;
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = a >= start && a < end;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static int s2_level(int vcpu, size_t i, int *present)
{
	struct s2mmu_translation t;

	if (s2mmu_translate(vcpu, GPA_BASE + i * PG, &t))
		return -1;
	*present = t.present;
	return t.level;
}

/*
 * A PRE_FAULT run of 4 KiB leaves never reaches into the next leaf table:
 * behind a 4 KiB-mapped 2 MiB block, a THP is mapped at level 1, even
 * when the range starts on the block's last page and ends two pages
 * into the THP.
 */
TEST_F_TIMEOUT(mem, pre_fault_run_stops_at_thp, 60)
{
	const size_t n = S2MMU_PMD_SIZE / PG;
	struct s2mmu_pre_fault_memory pf;
	int present, level;
	char *p;
	size_t i;

	if (!s2mmu_thp_available())
		SKIP(return, "THP not available");
	p = s2mmu_alloc_aligned(2 * S2MMU_PMD_SIZE, S2MMU_PMD_SIZE);
	ASSERT_NE(NULL, p);
	self->mem = p;
	self->size = 2 * S2MMU_PMD_SIZE;
	ASSERT_EQ(0, madvise(p, S2MMU_PMD_SIZE, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, madvise(p + S2MMU_PMD_SIZE, S2MMU_PMD_SIZE,
			     MADV_HUGEPAGE));
	fill_pages(p, 2 * n, 0);
	if (anon_huge_kb(p + S2MMU_PMD_SIZE) < 2048)
		SKIP(return, "no THP was allocated (AnonHugePages %ld kB)",
		     anon_huge_kb(p + S2MMU_PMD_SIZE));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, self->size,
				      (unsigned long)p));

	/*
	 * From the last 4 KiB page of the first block: the run after its
	 * fault would start in the THP's leaf table.
	 */
	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_BASE + (n - 1) * PG;
	pf.size = 3 * PG;
	ASSERT_EQ(0, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(0, pf.size);
	level = s2_level(self->vcpu, n - 1, &present);
	EXPECT_EQ(1, present);
	EXPECT_EQ(0, level);
	EXPECT_EQ(0, s2_present(self->vcpu, n - 2));
	for (i = n; i < n + 2; i++) {
		level = s2_level(self->vcpu, i, &present);
		EXPECT_EQ(1, present) TH_LOG("page %zu", i);
		EXPECT_EQ(1, level) TH_LOG("page %zu", i);
	}
	for (i = n - 1; i < n + 2; i++)
		EXPECT_TRUE(guest_sees(self->vcpu, self->run, i, i));
}

/*
 * A 2 MiB-aligned slot over a THP maps at level 1; unmapping one 4 KiB
 * page splits the host mapping: that page faults, its neighbours map at
 * level 0 with the right data.
 */
TEST_F_TIMEOUT(mem, thp_split, 60)
{
	static const size_t probe[] = { 6, 8, 0, 64, 300, -1UL };
	const size_t n = S2MMU_PMD_SIZE / PG;
	struct s2mmu_translation t;
	unsigned long long misses;
	int present, level;
	char buf[PG], *p;
	size_t i, j;
	__u64 pfn;

	if (!s2mmu_thp_available())
		SKIP(return, "THP not available");
	p = s2mmu_alloc_aligned(S2MMU_PMD_SIZE, S2MMU_PMD_SIZE);
	ASSERT_NE(NULL, p);
	self->mem = p;
	self->size = S2MMU_PMD_SIZE;
	ASSERT_EQ(0, madvise(p, S2MMU_PMD_SIZE, MADV_HUGEPAGE));
	fill_pages(p, n, 0);
	if (anon_huge_kb(p) < 2048)
		SKIP(return, "no THP was allocated (AnonHugePages %ld kB)",
		     anon_huge_kb(p));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, S2MMU_PMD_SIZE,
				      (unsigned long)p));

	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 5, 5));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 5 * PG, &t));
	EXPECT_EQ(1, t.present);
	EXPECT_EQ(1, t.level);
	EXPECT_EQ(1, t.writable);
	pfn = s2mmu_pagemap_pfn(p + 5 * PG);
	if (pfn && t.hpa)
		EXPECT_EQ(pfn * PG, t.hpa);
	/* One leaf covers the whole 2 MiB. */
	level = s2_level(self->vcpu, n - 1, &present);
	EXPECT_EQ(1, present);
	EXPECT_EQ(1, level);
	pfn = s2mmu_pagemap_pfn(p + (n - 1) * PG);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + (n - 1) * PG, &t));
	if (pfn && t.hpa)
		EXPECT_EQ(pfn * PG, t.hpa);
	for (i = 0; i < n; i += 37)
		EXPECT_TRUE(guest_sees(self->vcpu, self->run, i, i));
	/*
	 * The vCPU's TLB holds the 2 MiB leaf as one entry, as a hardware
	 * TLB does: two sweeps over it touching every 4 KiB page miss once
	 * (a 4 KiB-only TLB misses 1024 times; a stray flush adds one).
	 */
	misses = self->run->stat_tlb_misses;
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_touch(self->vcpu, self->run,
						     GPA_BASE, S2MMU_PMD_SIZE,
						     false, PG, 2));
	misses = self->run->stat_tlb_misses - misses;
	EXPECT_GT(8, misses) TH_LOG("%llu TLB misses", misses);

	/* Punch one 4 KiB page out of the THP. */
	ASSERT_EQ(0, munmap(p + 7 * PG, PG));
	EXPECT_EQ(0, s2_present(self->vcpu, 7));
	level = s2_level(self->vcpu, 6, &present);
	EXPECT_TRUE(!present || level == 0);

	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + 7 * PG, buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_NOT_MAPPED, self->run->memory_fault.flags);
	EXPECT_EQ(GPA_BASE + 7 * PG, self->run->memory_fault.gpa);
	for (j = 0; j < ARRAY_SIZE(probe); j++) {
		i = probe[j] == -1UL ? n - 1 : probe[j];
		EXPECT_TRUE(guest_sees(self->vcpu, self->run, i, i));
		level = s2_level(self->vcpu, i, &present);
		EXPECT_EQ(1, present);
		EXPECT_EQ(0, level) TH_LOG("page %zu", i);
	}
	/* And the guest still writes the host's (now 4 KiB) pages. */
	memset(buf, 0x77, 16);
	EXPECT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     GPA_BASE + 8 * PG, buf, 16));
	EXPECT_EQ(0, memcmp(p + 8 * PG, buf, 16));
	/* Re-map the hole: the guest sees the new page. */
	ASSERT_EQ(p + 7 * PG, mmap(p + 7 * PG, PG, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	EXPECT_TRUE(guest_zero(self->vcpu, self->run, 7));
}

/* MADV_COLLAPSE replaces 4 KiB pages by a THP: the guest maps it at level 1. */
TEST_F_TIMEOUT(mem, thp_collapse, 60)
{
	const size_t n = S2MMU_PMD_SIZE / PG;
	int present, level, ret = -1, tries;
	char *p, buf[PG];
	size_t i;

	if (!s2mmu_thp_available())
		SKIP(return, "THP not available");
	p = s2mmu_alloc_aligned(S2MMU_PMD_SIZE, S2MMU_PMD_SIZE);
	ASSERT_NE(NULL, p);
	self->mem = p;
	self->size = S2MMU_PMD_SIZE;
	ASSERT_EQ(0, madvise(p, S2MMU_PMD_SIZE, MADV_NOHUGEPAGE));
	fill_pages(p, n, 0);
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, S2MMU_PMD_SIZE,
				      (unsigned long)p));
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_map_all(self->vcpu, self->run, n));
	level = s2_level(self->vcpu, 3, &present);
	ASSERT_EQ(1, present);
	ASSERT_EQ(0, level);

	ASSERT_EQ(0, madvise(p, S2MMU_PMD_SIZE, MADV_HUGEPAGE));
	for (tries = 0; tries < 5; tries++) {
		ret = madvise(p, S2MMU_PMD_SIZE, MADV_COLLAPSE);
		if (!ret || errno == EINVAL)
			break;
		usleep(100000);
	}
	if (ret && errno == EINVAL)
		SKIP(return, "MADV_COLLAPSE not supported");
	if (ret)
		SKIP(return, "MADV_COLLAPSE failed: %s", strerror(errno));
	if (anon_huge_kb(p) < 2048)
		SKIP(return, "no THP after MADV_COLLAPSE");

	/* The 4 KiB pages were copied and freed: their entries are gone. */
	for (i = 0; i < n; i += 51)
		EXPECT_EQ(0, s2_present(self->vcpu, i)) TH_LOG("page %zu", i);
	ret = s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + 3 * PG, buf, PG);
	ASSERT_EQ(S2MMU_EXIT_DONE, ret)
		TH_LOG("memory fault flags %#llx at %#llx",
		       (unsigned long long)self->run->memory_fault.flags,
		       (unsigned long long)self->run->memory_fault.gpa);
	EXPECT_TRUE(s2mmu_check_page(buf, 3));
	level = s2_level(self->vcpu, 3, &present);
	EXPECT_EQ(1, present);
	EXPECT_EQ(1, level);
	for (i = 0; i < n; i += 29)
		EXPECT_TRUE(guest_matches(self->vcpu, self->run, i, p));
	/* Host writes land in the same huge page the guest maps. */
	fill_pages(p + 100 * PG, 2, 9000);
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 100, 9000));
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 101, 9001));
}

/*
 * Migration: MADV_SOFT_OFFLINE moves an in-use page to a new frame.  The
 * guest must follow: same data, new frame, later host writes visible.
 */
TEST_F(mem, migrate_soft_offline)
{
	const size_t n = 4;
	char *p = ANON_SLOT(n);
	struct s2mmu_translation t;
	__u64 before, after;
	char buf[PG];

	ASSERT_NE(NULL, p);
	if (geteuid() != 0)
		SKIP(return, "MADV_SOFT_OFFLINE needs CAP_SYS_ADMIN");
	fill_pages(p, n, 0);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_map_all(self->vcpu, self->run, n));
	before = s2mmu_pagemap_pfn(p + PG);
	if (madvise(p + PG, PG, MADV_SOFT_OFFLINE))
		SKIP(return, "MADV_SOFT_OFFLINE: %s", strerror(errno));
	after = s2mmu_pagemap_pfn(p + PG);
	if (before && after)
		EXPECT_NE(before, after);
	EXPECT_EQ(0, s2_present(self->vcpu, 1));

	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 1, 1));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + PG, &t));
	EXPECT_EQ(1, t.present);
	if (after)
		EXPECT_EQ(after * PG, t.hpa);
	s2mmu_fill_page(p + PG, 77);
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 1, 77));
	s2mmu_fill_page(buf, 78);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     GPA_BASE + PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(p + PG, 78));
}

/*
 * Reclaim and compaction: MADV_COLD, MADV_PAGEOUT (no swap, so anonymous
 * pages mostly stay, but the aging notifiers run) and a full compaction
 * (which may migrate any of the pages).  Whatever moved, the guest reads
 * what the host sees, from the frame the host maps.
 */
TEST_F_TIMEOUT(mem, reclaim_and_compact, 90)
{
	const size_t n = 64, nf = 16;
	char *p = ANON_SLOT(n), *f;
	struct s2mmu_translation t;
	int memfd, ret;
	__u64 pfn;
	size_t i;

	ASSERT_NE(NULL, p);
	memfd = memfd_create("s2mmu-reclaim", MFD_CLOEXEC);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, nf * PG));
	f = mmap(NULL, nf * PG, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, f);
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, GPA_BASE + n * PG,
				      nf * PG, (unsigned long)f));
	fill_pages(p, n, 0);
	fill_pages(f, nf, n);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_map_all(self->vcpu, self->run, n + nf));

	EXPECT_EQ(0, madvise(p, n * PG, MADV_COLD));
	EXPECT_EQ(0, madvise(f, nf * PG, MADV_COLD));
	EXPECT_EQ(0, madvise(p, n * PG, MADV_PAGEOUT));
	EXPECT_EQ(0, madvise(f, nf * PG, MADV_PAGEOUT));
	ret = s2mmu_write_str("/proc/sys/vm/compact_memory", "1");
	if (ret)
		TH_LOG("compact_memory: %s (not compacted)", strerror(-ret));

	for (i = 0; i < n + nf; i++) {
		char *host = i < n ? p + i * PG : f + (i - n) * PG;

		EXPECT_TRUE(guest_sees(self->vcpu, self->run, i, i))
			TH_LOG("page %zu", i);
		pfn = s2mmu_pagemap_pfn(host);
		ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + i * PG, &t));
		EXPECT_EQ(1, t.present);
		if (pfn && t.hpa)
			EXPECT_EQ(pfn * PG, t.hpa) TH_LOG("page %zu", i);
	}
	/* Later host writes are seen: no entry points at a stale frame. */
	fill_pages(p, n, 300);
	fill_pages(f, nf, 300 + n);
	for (i = 0; i < n + nf; i++)
		EXPECT_TRUE(guest_sees(self->vcpu, self->run, i, 300 + i))
			TH_LOG("page %zu", i);
	ASSERT_EQ(0, s2mmu_delete_region(self->vm, 1));
	munmap(f, nf * PG);
	close(memfd);
}

#define KSM_DIR	"/sys/kernel/mm/ksm/"

struct ksm_saved {
	long run, sleep, pages;
};

/*
 * KSM merges two identical pages into one write-protected page; a guest
 * write to one must break COW and leave the other unchanged.
 */
TEST_F_TIMEOUT(mem, ksm, 60)
{
	const size_t n = 4;
	char *p = ANON_SLOT(n);
	struct s2mmu_translation t0, t1;
	struct ksm_saved saved;
	char buf[PG], val[32];
	long long deadline;
	bool merged = false;

	ASSERT_NE(NULL, p);
	if (geteuid() != 0 || access(KSM_DIR "run", W_OK))
		SKIP(return, "KSM not available");
	s2mmu_fill_page(p, 7);
	s2mmu_fill_page(p + PG, 7);
	s2mmu_fill_page(p + 2 * PG, 8);
	s2mmu_fill_page(p + 3 * PG, 9);
	if (madvise(p, n * PG, MADV_MERGEABLE))
		SKIP(return, "MADV_MERGEABLE: %s", strerror(errno));
	/* The guest maps both twins writable. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_touch(self->vcpu, self->run,
						     GPA_BASE, n * PG, true, 0, 0));

	saved.run = s2mmu_read_long(KSM_DIR "run");
	saved.sleep = s2mmu_read_long(KSM_DIR "sleep_millisecs");
	saved.pages = s2mmu_read_long(KSM_DIR "pages_to_scan");
	s2mmu_write_str(KSM_DIR "sleep_millisecs", "10");
	s2mmu_write_str(KSM_DIR "pages_to_scan", "1000");
	ASSERT_EQ(0, s2mmu_write_str(KSM_DIR "run", "1"));
	deadline = s2mmu_now_ms() + 10000;
	while (s2mmu_now_ms() < deadline) {
		__u64 a = s2mmu_pagemap_pfn(p), b = s2mmu_pagemap_pfn(p + PG);

		if (a && a == b && s2mmu_read_long(KSM_DIR "pages_shared") > 0) {
			merged = true;
			break;
		}
		usleep(20000);
	}
	snprintf(val, sizeof(val), "%ld", saved.run < 0 ? 0 : saved.run);
	s2mmu_write_str(KSM_DIR "run", val);
	snprintf(val, sizeof(val), "%ld", saved.sleep);
	if (saved.sleep > 0)
		s2mmu_write_str(KSM_DIR "sleep_millisecs", val);
	snprintf(val, sizeof(val), "%ld", saved.pages);
	if (saved.pages > 0)
		s2mmu_write_str(KSM_DIR "pages_to_scan", val);
	if (!merged)
		SKIP(return, "KSM did not merge within 10 s");

	/* The merge write-protected the pages: no writable entry is left. */
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE, &t0));
	EXPECT_FALSE(t0.present && t0.writable);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + PG, &t1));
	EXPECT_FALSE(t1.present && t1.writable);

	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 0, 7));
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 1, 7));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE, &t0));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + PG, &t1));
	EXPECT_EQ(1, t0.present);
	EXPECT_EQ(0, t0.writable);
	EXPECT_EQ(t0.hpa, t1.hpa);

	/* A guest write to the first twin breaks COW. */
	memset(buf, 0x5c, 64);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     GPA_BASE + 128, buf, 64));
	EXPECT_EQ(0, memcmp(p + 128, buf, 64));
	EXPECT_TRUE(s2mmu_check_page(p + PG, 7));
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 1, 7));
	EXPECT_NE(s2mmu_pagemap_pfn(p), s2mmu_pagemap_pfn(p + PG));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    GPA_BASE, buf, PG));
	EXPECT_EQ(0, memcmp(buf, p, PG));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE, &t0));
	EXPECT_EQ(1, t0.writable);
	madvise(p, n * PG, MADV_UNMERGEABLE);
}

/*
 * mremap moves the backing elsewhere: the slot still points at the old
 * hva, where nothing is mapped until the host maps new memory there.
 */
TEST_F(mem, mremap)
{
	const size_t n = 4;
	char *p = ANON_SLOT(n), *q, *dst, buf[8];
	size_t i;

	ASSERT_NE(NULL, p);
	fill_pages(p, n, 0);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_map_all(self->vcpu, self->run, n));

	dst = mmap(NULL, n * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	q = mremap(p, n * PG, n * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, q);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, s2_present(self->vcpu, i));
		EXPECT_TRUE(s2mmu_check_page(q + i * PG, i));
	}
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE + PG, PG,
				    false, 0, 0));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_NOT_MAPPED, self->run->memory_fault.flags);
	EXPECT_EQ(GPA_BASE + PG, self->run->memory_fault.gpa);

	/* Writing the moved pages does not reach the guest. */
	fill_pages(q, n, 40);

	ASSERT_EQ(p, mmap(p, n * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	for (i = 0; i < n; i++)
		EXPECT_TRUE(guest_zero(self->vcpu, self->run, i));
	fill_pages(p, n, 20);
	for (i = 0; i < n; i++)
		EXPECT_TRUE(guest_sees(self->vcpu, self->run, i, 20 + i));

	/* Shrinking in place unmaps the tail. */
	ASSERT_EQ(p, mremap(p, n * PG, 2 * PG, 0));
	EXPECT_EQ(0, s2_present(self->vcpu, 3));
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + 3 * PG,
				   buf, 8));
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 1, 21));
	munmap(q, n * PG);
}

/*
 * Shared memory (memfd): writes through another mapping are seen, hole
 * punching reads zeros, truncation makes the tail fault.
 */
TEST_F(mem, memfd_shared)
{
	const size_t n = 8;
	char *a, *b, buf[PG];
	int memfd;
	size_t i;

	memfd = memfd_create("s2mmu-shared", MFD_CLOEXEC);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, n * PG));
	a = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, a);
	self->mem = a;
	self->size = n * PG;
	b = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, n * PG,
				      (unsigned long)a));

	/* Written through the other mapping, before the slot's hva maps it. */
	fill_pages(b, n, 0);
	for (i = 0; i < n; i++)
		EXPECT_TRUE(guest_sees(self->vcpu, self->run, i, i));
	s2mmu_fill_page(buf, 60);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     GPA_BASE + 2 * PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(b + 2 * PG, 60));
	s2mmu_fill_page(b + 3 * PG, 61);
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 3, 61));

	ASSERT_EQ(0, fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       4 * PG, PG));
	EXPECT_EQ(0, s2_present(self->vcpu, 4));
	EXPECT_TRUE(guest_zero(self->vcpu, self->run, 4));
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 5, 5));

	ASSERT_EQ(0, ftruncate(memfd, 6 * PG));
	EXPECT_EQ(0, s2_present(self->vcpu, 6));
	EXPECT_EQ(0, s2_present(self->vcpu, 7));
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + 7 * PG,
				   buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_NOT_MAPPED, self->run->memory_fault.flags);
	EXPECT_EQ(GPA_BASE + 7 * PG, self->run->memory_fault.gpa);
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 5, 5));

	ASSERT_EQ(0, ftruncate(memfd, n * PG));
	EXPECT_TRUE(guest_zero(self->vcpu, self->run, 7));
	munmap(b, n * PG);
	close(memfd);
}

static int got_sigbus;

static void on_sigbus(int sig)
{
	__atomic_store_n(&got_sigbus, 1, __ATOMIC_SEQ_CST);
}

/*
 * Memory failure: a poisoned page gives a hwpoison memory fault to
 * reads, writes and TOUCH, its neighbours still work.  This permanently
 * poisons one page of the machine running the test.
 *
 * MADV_HWPOISON unmaps the page from the host, and so from stage 2, so
 * the exit comes from the fault path (GUP's -EHWPOISON).  A machine
 * check taken by the guest-mode copy itself (a mapped page going bad)
 * cannot be injected from userspace or under QEMU TCG.
 */
TEST_F(mem, hwpoison)
{
	const size_t n = 3;
	char *p = ANON_SLOT(n);
	struct sigaction sa = { .sa_handler = on_sigbus };
	struct s2mmu_pre_fault_memory pf;
	char buf[PG];
	int ret;

	ASSERT_NE(NULL, p);
	if (geteuid() != 0)
		SKIP(return, "MADV_HWPOISON needs CAP_SYS_ADMIN");
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
	prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0);
	fill_pages(p, n, 0);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_map_all(self->vcpu, self->run, n));

	/* Newer kernels send SIGBUS (action required) to the caller. */
	if (madvise(p + PG, PG, MADV_HWPOISON))
		SKIP(return, "MADV_HWPOISON: %s", strerror(errno));
	TH_LOG("SIGBUS %sreceived", got_sigbus ? "" : "not ");
	EXPECT_EQ(0, s2_present(self->vcpu, 1));

	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + PG + 8,
				   buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_HWPOISON, self->run->memory_fault.flags);
	EXPECT_EQ(GPA_BASE + PG, self->run->memory_fault.gpa);
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_BASE + PG, buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_HWPOISON | S2MMU_MEMORY_FAULT_WRITE,
		  self->run->memory_fault.flags);
	/* TOUCH, the loads without a copy, exits the same way. */
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE, n * PG,
				    false, 0, 0));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_HWPOISON, self->run->memory_fault.flags);
	EXPECT_EQ(GPA_BASE + PG, self->run->memory_fault.gpa);
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE + PG, PG,
				    true, 0, 0));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_HWPOISON | S2MMU_MEMORY_FAULT_WRITE,
		  self->run->memory_fault.flags);
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 0, 0));
	EXPECT_TRUE(guest_sees(self->vcpu, self->run, 2, 2));

	/* Pre-faulting maps page 0, then stops at the poisoned page. */
	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_BASE;
	pf.size = n * PG;
	EXPECT_EQ(0, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(GPA_BASE + PG, pf.gpa);
	ret = s2mmu_pre_fault(self->vcpu, &pf);
	EXPECT_TRUE(ret == -EHWPOISON || ret == -EFAULT) TH_LOG("%d", ret);
	EXPECT_EQ(GPA_BASE + PG, pf.gpa);
}

TEST_HARNESS_MAIN
