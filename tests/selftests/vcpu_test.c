// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: vCPUs, S2MMU_RUN and its exits, S2MMU_PRE_FAULT_MEMORY
 * and S2MMU_TRANSLATE.
 *
 * What a VMM's run loop relies on: vCPU ids and fds, the mmapped run page
 * and the run-by-pointer form, strict validation of the access list, an
 * exit for every access that cannot complete (MMIO, memory fault,
 * signal) naming the access and the address, and translations that tell
 * what the stage-2 tables hold.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22	/* Linux 5.14 */
#endif

#define PG		S2MMU_PAGE_SIZE
#define NPAGES		16
#define GPA_BASE	0x40000000ULL	/* slot 0: NPAGES of mem */
#define GPA_RO		0x60000000ULL	/* read-only slot, when a test adds it */
#define GPA_NONE	0x80000000ULL	/* never in a slot */

FIXTURE(vcpu) {
	int vm;
	int vcpu;
	struct s2mmu_run *run;
	char *mem;
};

FIXTURE_VARIANT(vcpu) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(vcpu, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(vcpu, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(vcpu)
{
	int i;

	self->mem = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	/* Exact translations are checked: keep khugepaged away. */
	ASSERT_EQ(0, madvise(self->mem, NPAGES * PG, MADV_NOHUGEPAGE));
	for (i = 0; i < NPAGES; i++)
		s2mmu_fill_page(self->mem + i * PG, i);
	s2mmu_setup_guest(_metadata, variant->type, self->mem, GPA_BASE,
			  NPAGES * PG, &self->vm, &self->vcpu, &self->run);
}

FIXTURE_TEARDOWN(vcpu)
{
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, NPAGES * PG);
}

/* A guest read of page @i of slot 0 returns what the host put there. */
static bool read_ok(int vcpu, struct s2mmu_run *run, int i)
{
	char buf[PG];

	return s2mmu_guest_read(vcpu, run, GPA_BASE + i * PG, buf, PG) ==
	       S2MMU_EXIT_DONE && s2mmu_check_page(buf, i);
}

TEST_F(vcpu, create_ids)
{
	int fds[S2MMU_MAX_VCPUS];
	unsigned long id;

	fds[0] = self->vcpu;
	for (id = 1; id < S2MMU_MAX_VCPUS; id++) {
		fds[id] = s2mmu_create_vcpu(self->vm, id);
		ASSERT_LE(0, fds[id]) TH_LOG("vCPU %lu: %s", id, strerror(-fds[id]));
		EXPECT_EQ(FD_CLOEXEC, fcntl(fds[id], F_GETFD) & FD_CLOEXEC);
	}
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->vcpu, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-EINVAL, s2mmu_create_vcpu(self->vm, S2MMU_MAX_VCPUS));
	EXPECT_EQ(-EINVAL, s2mmu_create_vcpu(self->vm, 1000));
	EXPECT_EQ(-EINVAL, s2mmu_create_vcpu(self->vm, 1UL << 32));
	EXPECT_EQ(-EINVAL, s2mmu_create_vcpu(self->vm, -1UL));
	EXPECT_EQ(-EEXIST, s2mmu_create_vcpu(self->vm, 0));
	EXPECT_EQ(-EEXIST, s2mmu_create_vcpu(self->vm, 5));
	EXPECT_EQ(-EEXIST, s2mmu_create_vcpu(self->vm, S2MMU_MAX_VCPUS - 1));

	/* A closed vCPU's id stays taken: vCPUs live as long as the VM. */
	close(fds[5]);
	EXPECT_EQ(-EEXIST, s2mmu_create_vcpu(self->vm, 5));

	/* Every vCPU runs, and sees the same memory. */
	for (id = 1; id < S2MMU_MAX_VCPUS; id++) {
		struct s2mmu_access a = {
			.gpa = GPA_BASE + (id % NPAGES) * PG,
			.len = PG,
			.op = S2MMU_OP_TOUCH,
		};
		struct s2mmu_run r = {
			.accesses = (unsigned long)&a,
			.nr_accesses = 1,
		};

		if (id == 5)
			continue;
		EXPECT_EQ(0, ioctl(fds[id], S2MMU_RUN, &r));
		EXPECT_EQ(S2MMU_EXIT_DONE, r.exit_reason);
		EXPECT_EQ(1, r.done);
		close(fds[id]);
	}
}

/* vCPU fds keep the VM alive: closing the VM fd first changes nothing. */
TEST_F(vcpu, outlives_vm_fd)
{
	close(self->vm);
	self->vm = -1;
	EXPECT_TRUE(read_ok(self->vcpu, self->run, 3));
	s2mmu_fill_page(self->mem + 3 * PG, 333);
	EXPECT_FALSE(read_ok(self->vcpu, self->run, 3));
	s2mmu_fill_page(self->mem + 3 * PG, 3);
	EXPECT_TRUE(read_ok(self->vcpu, self->run, 3));
}

TEST_F(vcpu, mmap_run)
{
	struct s2mmu_run *run2;
	char buf[16];
	void *p;

	/* One page at offset 0 only. */
	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, self->vcpu, 0);
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, self->vcpu, PG);
	EXPECT_EQ(MAP_FAILED, p);

	/* Two mappings are the same page. */
	run2 = s2mmu_map_run(self->vcpu);
	ASSERT_NE(NULL, run2);
	self->run->done = 0x1234;
	EXPECT_EQ(0x1234, run2->done);

	EXPECT_TRUE(read_ok(self->vcpu, self->run, 1));
	EXPECT_EQ(S2MMU_EXIT_DONE, run2->exit_reason);
	EXPECT_EQ(1, run2->done);
	EXPECT_LE(1, run2->stat_faults);
	EXPECT_LE(1, run2->stat_tlb_misses);

	/* An exit written by RUN shows in both. */
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_NONE, buf, 16));
	EXPECT_EQ(S2MMU_EXIT_MMIO, run2->exit_reason);
	EXPECT_EQ(GPA_NONE, run2->mmio.gpa);
	munmap(run2, PG);
}

/*
 * The offset field of the /proc/self/maps line of the mapping starting
 * at @addr, or -1 when there is none.
 */
static long long maps_offset(const void *addr)
{
	unsigned long long start, end, off;
	long long ret = -1;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx %*s %llx", &start, &end, &off) != 3)
			continue;
		if (start == (uintptr_t)addr) {
			ret = off;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * The run page is a PFN mapping of a kernel page.  A private
 * (copy-on-write) one would record the page frame number as the
 * mapping's offset, shown in /proc/self/maps to anyone: refused.  The
 * shared one shows offset 0.
 */
TEST_F(vcpu, mmap_run_private)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE };
	unsigned int i;
	void *p;

	for (i = 0; i < ARRAY_SIZE(prots); i++) {
		errno = 0;
		p = mmap(NULL, PG, prots[i], MAP_PRIVATE, self->vcpu, 0);
		EXPECT_EQ(MAP_FAILED, p)
			TH_LOG("prot %d: MAP_PRIVATE mapped, maps offset %#llx",
			       prots[i], maps_offset(p));
		EXPECT_EQ(EINVAL, errno);
		if (p != MAP_FAILED)
			munmap(p, PG);
	}

	/* The fixture's MAP_SHARED run page. */
	EXPECT_EQ(0, maps_offset(self->run));
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, self->vcpu, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, maps_offset(p));
	munmap(p, PG);
}

/* RUN with a pointer to a struct s2mmu_run: copied in and out. */
TEST_F(vcpu, run_by_pointer)
{
	char buf[2][PG];
	struct s2mmu_access a[3] = {
		{ .gpa = GPA_BASE + 2 * PG, .len = PG,
		  .uaddr = (unsigned long)buf[0], .op = S2MMU_OP_READ },
		{ .gpa = GPA_BASE + 7 * PG, .len = PG,
		  .uaddr = (unsigned long)buf[1], .op = S2MMU_OP_EXEC },
		{ .gpa = GPA_NONE + 0x10, .len = 4,
		  .uaddr = (unsigned long)buf[0], .op = S2MMU_OP_WRITE },
	};
	struct s2mmu_run r;

	memset(&r, 0, sizeof(r));
	r.accesses = (unsigned long)a;
	r.nr_accesses = 2;
	r.exit_reason = 0xdead;
	ASSERT_EQ(0, ioctl(self->vcpu, S2MMU_RUN, &r));
	EXPECT_EQ(S2MMU_EXIT_DONE, r.exit_reason);
	EXPECT_EQ(2, r.done);
	EXPECT_TRUE(s2mmu_check_page(buf[0], 2));
	EXPECT_TRUE(s2mmu_check_page(buf[1], 7));
	EXPECT_LE(1, r.stat_faults);

	r.nr_accesses = 3;
	ASSERT_EQ(0, ioctl(self->vcpu, S2MMU_RUN, &r));
	EXPECT_EQ(S2MMU_EXIT_MMIO, r.exit_reason);
	EXPECT_EQ(2, r.done);
	EXPECT_EQ(GPA_NONE + 0x10, r.mmio.gpa);
	EXPECT_EQ(1, r.mmio.is_write);
	EXPECT_EQ(4, r.mmio.len);

	/* A bad pointer for the run structure itself. */
	EXPECT_EQ(-1, ioctl(self->vcpu, S2MMU_RUN, 8UL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->vcpu, S2MMU_RUN, ~0UL & ~(PG - 1)));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_TRUE(read_ok(self->vcpu, self->run, 0));
}

/* Exactly S2MMU_MAX_ACCESSES accesses run; an empty list is DONE at once. */
TEST_F(vcpu, run_max_accesses)
{
	struct s2mmu_access *a = calloc(S2MMU_MAX_ACCESSES, sizeof(*a));
	__u64 *out = calloc(S2MMU_MAX_ACCESSES, sizeof(*out));
	unsigned int i;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, out);
	for (i = 0; i < S2MMU_MAX_ACCESSES; i++) {
		a[i].gpa = GPA_BASE + (i % NPAGES) * PG + (i / NPAGES) * 8;
		a[i].len = 8;
		a[i].uaddr = (unsigned long)&out[i];
		a[i].op = S2MMU_OP_READ;
	}
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_vcpu_run(self->vcpu, self->run, a, S2MMU_MAX_ACCESSES));
	EXPECT_EQ(S2MMU_MAX_ACCESSES, self->run->done);
	for (i = 0; i < S2MMU_MAX_ACCESSES; i++)
		if (memcmp(&out[i], self->mem + (i % NPAGES) * PG + (i / NPAGES) * 8, 8))
			break;
	EXPECT_EQ(S2MMU_MAX_ACCESSES, i);

	EXPECT_EQ(-EINVAL, s2mmu_vcpu_run(self->vcpu, self->run, a,
					  S2MMU_MAX_ACCESSES + 1));
	EXPECT_EQ(-EINVAL, s2mmu_vcpu_run(self->vcpu, self->run, a, ~0U));

	EXPECT_EQ(S2MMU_EXIT_DONE, s2mmu_vcpu_run(self->vcpu, self->run, NULL, 0));
	EXPECT_EQ(0, self->run->done);
	free(a);
	free(out);
}

TEST_F(vcpu, run_bad_input)
{
	char buf[PG];
	const struct s2mmu_access good = {
		.gpa = GPA_BASE, .len = 8, .uaddr = (unsigned long)buf,
		.op = S2MMU_OP_READ,
	};
	struct s2mmu_access bad[16], list[2], *last;
	char *tail;
	unsigned int i, n = 0;

	/* run.flags must be zero. */
	self->run->accesses = (unsigned long)&good;
	self->run->nr_accesses = 1;
	self->run->flags = 1;
	EXPECT_EQ(-1, ioctl(self->vcpu, S2MMU_RUN, 0));
	EXPECT_EQ(EINVAL, errno);
	self->run->flags = 1U << 31;
	EXPECT_EQ(-1, ioctl(self->vcpu, S2MMU_RUN, 0));
	EXPECT_EQ(EINVAL, errno);
	self->run->flags = 0;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		bad[i] = good;
	bad[n++].op = S2MMU_OP_TOUCH + 1;
	bad[n++].op = ~0U;
	bad[n].op = S2MMU_OP_TOUCH;
	bad[n].uaddr = 0;
	bad[n++].flags = 1U << 1;
	bad[n].op = S2MMU_OP_TOUCH;
	bad[n].uaddr = 0;
	bad[n++].flags = 1U << 31;
	bad[n].op = S2MMU_OP_TOUCH;		/* TOUCH copies nothing */
	bad[n++].uaddr = (unsigned long)buf;
	bad[n++].flags = S2MMU_ACCESS_F_WRITE;	/* TOUCH-only flag */
	bad[n++].stride = 1;			/* TOUCH-only fields */
	bad[n++].repeat = 1;
	bad[n].op = S2MMU_OP_WRITE;
	bad[n++].repeat = 2;
	bad[n].op = S2MMU_OP_EXEC;
	bad[n++].stride = PG;
	bad[n].gpa = ~0ULL - 3;			/* gpa + len wraps */
	bad[n++].len = 8;
	bad[n].op = S2MMU_OP_TOUCH;
	bad[n].uaddr = 0;
	bad[n].gpa = -PG;
	bad[n++].len = 2 * PG;
	bad[n].uaddr = ~0ULL - 3;		/* uaddr + len wraps */
	bad[n++].len = 8;

	for (i = 0; i < n; i++) {
		EXPECT_EQ(-EINVAL, s2mmu_vcpu_run(self->vcpu, self->run, &bad[i], 1))
			TH_LOG("bad access %u accepted", i);
		/* Also when it is not the first access. */
		list[0] = good;
		list[1] = bad[i];
		EXPECT_EQ(-EINVAL, s2mmu_vcpu_run(self->vcpu, self->run, list, 2))
			TH_LOG("bad access %u accepted second", i);
	}

	/* Unreadable access list. */
	EXPECT_EQ(-EFAULT, s2mmu_vcpu_run(self->vcpu, self->run, NULL, 1));
	EXPECT_EQ(-EFAULT, s2mmu_vcpu_run(self->vcpu, self->run,
					  (void *)8UL, 1));
	EXPECT_EQ(-EFAULT, s2mmu_vcpu_run(self->vcpu, self->run,
					  (void *)(~0UL & ~(PG - 1)), 1));
	/* The list runs off the end of readable memory. */
	tail = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, tail);
	ASSERT_EQ(0, munmap(tail + PG, PG));
	last = (struct s2mmu_access *)(tail + PG) - 1;
	*last = good;
	EXPECT_EQ(S2MMU_EXIT_DONE, s2mmu_vcpu_run(self->vcpu, self->run, last, 1));
	EXPECT_EQ(-EFAULT, s2mmu_vcpu_run(self->vcpu, self->run, last, 2));
	munmap(tail, PG);

	/* The data buffer is not user memory or not mapped. */
	list[0] = good;
	list[0].uaddr = 0;
	EXPECT_EQ(-EFAULT, s2mmu_vcpu_run(self->vcpu, self->run, list, 1));
	list[0].uaddr = ~0UL & ~(PG - 1);
	EXPECT_EQ(-EFAULT, s2mmu_vcpu_run(self->vcpu, self->run, list, 1));
	list[0].op = S2MMU_OP_WRITE;
	list[0].uaddr = 8;
	EXPECT_EQ(-EFAULT, s2mmu_vcpu_run(self->vcpu, self->run, list, 1));

	/* A valid run still works, and the failed WRITE wrote nothing. */
	EXPECT_TRUE(read_ok(self->vcpu, self->run, 0));
}

/* Zero-length accesses touch nothing, even where nothing is mapped. */
TEST_F(vcpu, zero_length)
{
	char buf[8];

	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_NONE, buf, 0));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_NONE, buf, 0));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_NONE, 0, false,
				    0, 0));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_NONE, 0, true,
				    0, 5));
}

/* A forked child shares no mm with the vCPU: every vCPU ioctl is -EIO. */
TEST_F(vcpu, foreign_mm_after_fork)
{
	struct s2mmu_pre_fault_memory pf = { .gpa = GPA_BASE, .size = PG };
	struct s2mmu_translation t;
	struct s2mmu_run r;
	char buf[8];
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		memset(&r, 0, sizeof(r));
		if (s2mmu_guest_read(self->vcpu, self->run, GPA_BASE, buf, 8) != -EIO)
			_exit(1);
		if (ioctl(self->vcpu, S2MMU_RUN, &r) != -1 || errno != EIO)
			_exit(2);
		if (s2mmu_translate(self->vcpu, GPA_BASE, &t) != -EIO)
			_exit(3);
		if (s2mmu_pre_fault(self->vcpu, &pf) != -EIO)
			_exit(4);
		if (ioctl(self->vcpu, _IO(S2MMUIO, 0xff), 0) != -1 || errno != EIO)
			_exit(5);
		if (s2mmu_create_vcpu(self->vm, 1) != -EIO)
			_exit(6);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Nothing the child tried had an effect: vCPU 1 is still free. */
	EXPECT_TRUE(read_ok(self->vcpu, self->run, 0));
	EXPECT_LE(0, s2mmu_create_vcpu(self->vm, 1));
}

/* An access to a gpa in no slot exits to userspace as MMIO. */
TEST_F(vcpu, exit_mmio)
{
	char buf[2 * PG];
	struct s2mmu_access a[4] = {
		{ .gpa = GPA_BASE, .len = 8, .uaddr = (unsigned long)buf + PG,
		  .op = S2MMU_OP_READ },
		{ .gpa = GPA_BASE + 8, .len = 8, .uaddr = (unsigned long)buf,
		  .op = S2MMU_OP_WRITE },
		{ .gpa = GPA_NONE + 0x123, .len = 4, .uaddr = (unsigned long)buf,
		  .op = S2MMU_OP_READ },
		{ .gpa = GPA_BASE, .len = 8, .uaddr = (unsigned long)buf,
		  .op = S2MMU_OP_READ },
	};

	memcpy(buf, self->mem + 8, 8);
	EXPECT_EQ(S2MMU_EXIT_MMIO, s2mmu_vcpu_run(self->vcpu, self->run, a, 4));
	EXPECT_EQ(2, self->run->done);
	EXPECT_EQ(0, memcmp(buf + PG, self->mem, 8));
	EXPECT_EQ(GPA_NONE + 0x123, self->run->mmio.gpa);
	EXPECT_EQ(0, self->run->mmio.is_write);
	EXPECT_EQ(4, self->run->mmio.len);

	/* Resuming from accesses[done + 1] is the VMM's job; it works. */
	EXPECT_EQ(S2MMU_EXIT_DONE, s2mmu_vcpu_run(self->vcpu, self->run, &a[3], 1));

	/* Write, exec and touch exits. */
	EXPECT_EQ(S2MMU_EXIT_MMIO, s2mmu_guest_write(self->vcpu, self->run,
						     GPA_NONE + 8, buf, 8));
	EXPECT_EQ(GPA_NONE + 8, self->run->mmio.gpa);
	EXPECT_EQ(1, self->run->mmio.is_write);
	EXPECT_EQ(0, self->run->done);
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_vcpu_access(self->vcpu, self->run, S2MMU_OP_EXEC,
				    GPA_NONE + PG, buf, 8));
	EXPECT_EQ(GPA_NONE + PG, self->run->mmio.gpa);
	EXPECT_EQ(0, self->run->mmio.is_write);
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_NONE + 3 * PG,
				    PG, true, 0, 0));
	EXPECT_EQ(GPA_NONE + 3 * PG, self->run->mmio.gpa);
	EXPECT_EQ(1, self->run->mmio.is_write);

	/* Running off the end of the slot exits at the first byte outside. */
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_read(self->vcpu, self->run,
				   GPA_BASE + (NPAGES - 1) * PG + 100, buf, 2 * PG));
	EXPECT_EQ(GPA_BASE + NPAGES * PG, self->run->mmio.gpa);
	EXPECT_EQ(0, self->run->done);
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_touch(self->vcpu, self->run,
				    GPA_BASE + (NPAGES - 2) * PG, 4 * PG, false,
				    0, 0));
	EXPECT_EQ(GPA_BASE + NPAGES * PG, self->run->mmio.gpa);

	/* Just below the slot. */
	EXPECT_EQ(S2MMU_EXIT_MMIO, s2mmu_guest_read(self->vcpu, self->run,
						    GPA_BASE - 8, buf, 16));
	EXPECT_EQ(GPA_BASE - 8, self->run->mmio.gpa);
	EXPECT_TRUE(read_ok(self->vcpu, self->run, NPAGES - 1));
}

/* A read-only slot: reads work, writes exit with a read-only fault. */
TEST_F(vcpu, exit_readonly)
{
	struct s2mmu_translation t;
	char buf[PG];

	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, S2MMU_MEM_READONLY, GPA_RO,
				      4 * PG, (unsigned long)self->mem + 8 * PG));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_RO + PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 9));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_RO, 4 * PG,
				    false, 0, 2));

	memset(buf, 0xee, sizeof(buf));
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_RO + PG + 40,
				    buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_READONLY | S2MMU_MEMORY_FAULT_WRITE,
		  self->run->memory_fault.flags);
	EXPECT_LE(self->run->memory_fault.gpa, GPA_RO + PG + 40);
	EXPECT_GT(self->run->memory_fault.gpa + self->run->memory_fault.size,
		  GPA_RO + PG + 40);
	EXPECT_EQ(0, self->run->done);

	/* Even a page the read mapped already. */
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_RO, 4 * PG,
				    true, 0, 0));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_READONLY | S2MMU_MEMORY_FAULT_WRITE,
		  self->run->memory_fault.flags);
	EXPECT_EQ(GPA_RO, self->run->memory_fault.gpa);

	/* Nothing was written, and the translation stays read-only. */
	EXPECT_TRUE(s2mmu_check_page(self->mem + 9 * PG, 9));
	EXPECT_TRUE(s2mmu_check_page(self->mem + 8 * PG, 8));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_RO + PG, &t));
	EXPECT_EQ(1, t.present);
	EXPECT_EQ(0, t.writable);
	EXPECT_EQ(0, t.dirty);

	/* The writable alias (slot 0) of the same host pages still writes. */
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_BASE + 9 * PG + 40,
				    buf, 8));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_RO + PG, buf, PG));
	EXPECT_EQ(0, memcmp(buf + 40, self->mem + 9 * PG + 40, 8));
	EXPECT_EQ(0, memcmp(buf + 40, "\xee\xee\xee\xee\xee\xee\xee\xee", 8));
}

static int got_signal;

static void on_signal(int sig)
{
	__atomic_store_n(&got_signal, sig, __ATOMIC_SEQ_CST);
}

static void arm_timer(int ms)
{
	struct itimerval it = {
		.it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 },
	};

	setitimer(ITIMER_REAL, &it, NULL);
}

/* A signal stops a long RUN with -EINTR and S2MMU_EXIT_INTR. */
TEST_F(vcpu, exit_intr)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct s2mmu_access a = {
		.gpa = GPA_BASE, .len = NPAGES * PG, .op = S2MMU_OP_TOUCH,
		.repeat = 1ULL << 50,
	};
	struct s2mmu_run r;
	long long t0;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));	/* no SA_RESTART */

	__atomic_store_n(&got_signal, 0, __ATOMIC_SEQ_CST);
	t0 = s2mmu_now_ms();
	arm_timer(200);
	EXPECT_EQ(-EINTR, s2mmu_vcpu_run(self->vcpu, self->run, &a, 1));
	EXPECT_EQ(S2MMU_EXIT_INTR, self->run->exit_reason);
	EXPECT_EQ(0, self->run->done);
	EXPECT_EQ(SIGALRM, __atomic_load_n(&got_signal, __ATOMIC_SEQ_CST));
	EXPECT_GT(10000, s2mmu_now_ms() - t0);

	/* The same through a pointer: the exit is copied out. */
	memset(&r, 0, sizeof(r));
	r.accesses = (unsigned long)&a;
	r.nr_accesses = 1;
	__atomic_store_n(&got_signal, 0, __ATOMIC_SEQ_CST);
	arm_timer(100);
	EXPECT_EQ(-1, ioctl(self->vcpu, S2MMU_RUN, &r));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(S2MMU_EXIT_INTR, r.exit_reason);
	EXPECT_EQ(SIGALRM, __atomic_load_n(&got_signal, __ATOMIC_SEQ_CST));

	/* A write TOUCH is interrupted just the same. */
	a.flags = S2MMU_ACCESS_F_WRITE;
	arm_timer(100);
	EXPECT_EQ(-EINTR, s2mmu_vcpu_run(self->vcpu, self->run, &a, 1));
	EXPECT_EQ(S2MMU_EXIT_INTR, self->run->exit_reason);

	arm_timer(0);
	EXPECT_TRUE(read_ok(self->vcpu, self->run, 5));
	EXPECT_TRUE(s2mmu_check_page(self->mem + 5 * PG, 5));
}

struct busy_ctx {
	int vcpu;
	struct s2mmu_run *run;
	int ret;
	__u32 exit_reason;
	int done;
};

static void *busy_runner(void *arg)
{
	struct busy_ctx *c = arg;

	c->ret = s2mmu_guest_touch(c->vcpu, c->run, GPA_BASE, NPAGES * PG,
				   false, 0, 1ULL << 50);
	c->exit_reason = c->run->exit_reason;
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A second RUN from another thread, through its own run structure. */
static void *second_runner(void *arg)
{
	struct busy_ctx *c = arg;
	struct s2mmu_access a = {
		.gpa = GPA_BASE, .len = PG, .op = S2MMU_OP_TOUCH,
	};
	struct s2mmu_run r = { .accesses = (unsigned long)&a, .nr_accesses = 1 };

	c->ret = ioctl(c->vcpu, S2MMU_RUN, &r) ? -errno : 0;
	c->exit_reason = r.exit_reason;
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * One task at a time runs a vCPU: a second RUN waits for the first to end
 * (as in KVM); TRANSLATE and other vCPUs never wait for it.
 */
TEST_F(vcpu, busy)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct busy_ctx c = { .vcpu = self->vcpu, .run = self->run };
	struct busy_ctx c2 = { .vcpu = self->vcpu };
	struct s2mmu_translation t;
	long long t0 = s2mmu_now_ms();
	struct s2mmu_run *r1;
	pthread_t th, th2;
	int v1;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	/* RUN writes the exit reason first thing: that tells it started. */
	self->run->exit_reason = 0xdead;
	ASSERT_EQ(0, pthread_create(&th, NULL, busy_runner, &c));
	while (__atomic_load_n(&self->run->exit_reason, __ATOMIC_SEQ_CST) == 0xdead &&
	       s2mmu_now_ms() - t0 < 10000)
		usleep(1000);
	ASSERT_EQ(S2MMU_EXIT_DONE, self->run->exit_reason);
	ASSERT_FALSE(__atomic_load_n(&c.done, __ATOMIC_SEQ_CST));

	/* TRANSLATE answers while the vCPU runs (and sees its faults). */
	do {
		ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE, &t));
	} while (!t.present && s2mmu_now_ms() - t0 < 10000);
	EXPECT_EQ(1, t.present);
	EXPECT_FALSE(__atomic_load_n(&c.done, __ATOMIC_SEQ_CST));

	/* A second RUN waits... */
	ASSERT_EQ(0, pthread_create(&th2, NULL, second_runner, &c2));
	usleep(300000);
	EXPECT_FALSE(__atomic_load_n(&c2.done, __ATOMIC_SEQ_CST));

	/* ...while other vCPUs of the VM are not blocked. */
	v1 = s2mmu_create_vcpu(self->vm, 1);
	ASSERT_LE(0, v1);
	r1 = s2mmu_map_run(v1);
	ASSERT_NE(NULL, r1);
	EXPECT_TRUE(read_ok(v1, r1, 4));
	s2mmu_unmap_run(r1);
	close(v1);

	/* Once the first ends, the second runs. */
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	EXPECT_EQ(-EINTR, c.ret);
	EXPECT_EQ(S2MMU_EXIT_INTR, c.exit_reason);
	pthread_join(th2, NULL);
	EXPECT_EQ(0, c2.ret);
	EXPECT_EQ(S2MMU_EXIT_DONE, c2.exit_reason);
	EXPECT_TRUE(read_ok(self->vcpu, self->run, 4));
}

TEST_F(vcpu, pre_fault)
{
	struct s2mmu_pre_fault_memory pf;
	struct s2mmu_translation t;
	int i;

	for (i = 0; i < NPAGES; i++) {
		ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + i * PG, &t));
		EXPECT_EQ(0, t.present);
	}
	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_BASE + 4 * PG;
	pf.size = 8 * PG;
	ASSERT_EQ(0, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(GPA_BASE + 12 * PG, pf.gpa);
	EXPECT_EQ(0, pf.size);
	for (i = 0; i < NPAGES; i++) {
		ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + i * PG, &t));
		EXPECT_EQ(i >= 4 && i < 12, t.present) TH_LOG("page %d", i);
		if (i >= 4 && i < 12)
			EXPECT_EQ(0, t.level);
	}
	/* What was pre-faulted is the host's memory. */
	for (i = 4; i < 12; i++)
		EXPECT_TRUE(read_ok(self->vcpu, self->run, i));

	/* Size 0 does nothing. */
	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_NONE;
	EXPECT_EQ(0, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(GPA_NONE, pf.gpa);
}

/*
 * A range running past the slot maps up to its end and reports that
 * progress as success (as KVM); the call for the rest gets -ENOENT.
 */
TEST_F(vcpu, pre_fault_past_slot)
{
	struct s2mmu_pre_fault_memory pf;
	struct s2mmu_translation t;

	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_BASE + (NPAGES - 2) * PG;
	pf.size = 6 * PG;
	EXPECT_EQ(0, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(GPA_BASE + NPAGES * PG, pf.gpa);
	EXPECT_EQ(4 * PG, pf.size);
	EXPECT_EQ(-ENOENT, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(GPA_BASE + NPAGES * PG, pf.gpa);
	EXPECT_EQ(4 * PG, pf.size);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + (NPAGES - 1) * PG, &t));
	EXPECT_EQ(1, t.present);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + (NPAGES - 3) * PG, &t));
	EXPECT_EQ(0, t.present);

	/* Entirely outside any slot: no progress. */
	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_NONE;
	pf.size = 2 * PG;
	EXPECT_EQ(-ENOENT, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(GPA_NONE, pf.gpa);
	EXPECT_EQ(2 * PG, pf.size);

	/* Host memory that cannot be faulted in: progress, then -EFAULT. */
	ASSERT_EQ(0, munmap(self->mem + 2 * PG, PG));
	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_BASE + PG;
	pf.size = 3 * PG;
	EXPECT_EQ(0, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(GPA_BASE + 2 * PG, pf.gpa);
	EXPECT_EQ(2 * PG, pf.size);
	EXPECT_EQ(-EFAULT, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(GPA_BASE + 2 * PG, pf.gpa);
	EXPECT_EQ(2 * PG, pf.size);
}

/*
 * PRE_FAULT maps a run of 4 KiB pages the host maps in one step, and
 * leaves what the host does not map (or maps read-only) to a fault of
 * its own: pages 6-7 not mapped by the host, 8-9 mapped read-only (the
 * zero page), the rest written.  Every page ends up mapped, writable
 * exactly where the host PTE is, and coherent with the host both ways.
 */
TEST_F(vcpu, pre_fault_run)
{
	struct s2mmu_pre_fault_memory pf;
	struct s2mmu_translation t;
	char buf[PG], pat[PG];
	int i;

	ASSERT_EQ(0, madvise(self->mem + 6 * PG, 4 * PG, MADV_DONTNEED));
	ASSERT_EQ(0, madvise(self->mem + 8 * PG, 2 * PG, MADV_POPULATE_READ));
	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_BASE;
	pf.size = NPAGES * PG;
	ASSERT_EQ(0, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(0, pf.size);
	for (i = 0; i < NPAGES; i++) {
		bool zero = i >= 6 && i < 10;

		ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + i * PG, &t));
		EXPECT_EQ(1, t.present) TH_LOG("page %d", i);
		EXPECT_EQ(0, t.level) TH_LOG("page %d", i);
		EXPECT_EQ(!zero, t.writable) TH_LOG("page %d", i);
		if (!zero) {
			EXPECT_TRUE(read_ok(self->vcpu, self->run, i))
				TH_LOG("page %d", i);
			continue;
		}
		ASSERT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_read(self->vcpu, self->run,
					   GPA_BASE + i * PG, buf, PG));
		memset(pat, 0, PG);
		EXPECT_EQ(0, memcmp(buf, pat, PG)) TH_LOG("page %d", i);
		/* A guest write gets its own page, which the host sees. */
		memset(pat, 0x60 + i, PG);
		ASSERT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_write(self->vcpu, self->run,
					    GPA_BASE + i * PG, pat, PG));
		EXPECT_EQ(0, memcmp(self->mem + i * PG, pat, PG))
			TH_LOG("page %d", i);
	}
	/* A host write to a pre-faulted page is what the guest reads. */
	s2mmu_fill_page(self->mem + 3 * PG, 1003);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    GPA_BASE + 3 * PG, buf,
						    PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 1003));
}

TEST_F(vcpu, pre_fault_bad_input)
{
	struct s2mmu_pre_fault_memory pf;
	struct s2mmu_translation t;
	unsigned int i;

	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_BASE;
	pf.size = PG;
	pf.flags = 1;
	EXPECT_EQ(-EINVAL, s2mmu_pre_fault(self->vcpu, &pf));
	pf.flags = 1ULL << 63;
	EXPECT_EQ(-EINVAL, s2mmu_pre_fault(self->vcpu, &pf));
	pf.flags = 0;
	for (i = 0; i < ARRAY_SIZE(pf.padding); i++) {
		pf.padding[i] = 1;
		EXPECT_EQ(-EINVAL, s2mmu_pre_fault(self->vcpu, &pf))
			TH_LOG("padding[%u]", i);
		pf.padding[i] = 0;
	}
	pf.gpa = GPA_BASE + 1;
	EXPECT_EQ(-EINVAL, s2mmu_pre_fault(self->vcpu, &pf));
	pf.gpa = GPA_BASE + 0x800;
	EXPECT_EQ(-EINVAL, s2mmu_pre_fault(self->vcpu, &pf));
	pf.gpa = GPA_BASE;
	pf.size = PG + 1;
	EXPECT_EQ(-EINVAL, s2mmu_pre_fault(self->vcpu, &pf));
	pf.size = 100;
	EXPECT_EQ(-EINVAL, s2mmu_pre_fault(self->vcpu, &pf));
	pf.gpa = -PG;
	pf.size = 2 * PG;
	EXPECT_EQ(-EINVAL, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(-1, ioctl(self->vcpu, S2MMU_PRE_FAULT_MEMORY, NULL));
	EXPECT_EQ(EFAULT, errno);

	/* None of it mapped anything. */
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE, &t));
	EXPECT_EQ(0, t.present);
}

#define FAIL_TOPUP	"/sys/module/s2mmu/parameters/test_fail_table_topup"

/*
 * An internal error of the fault path is the host's, not a guest exit:
 * with the fault path's table cache top-up failing (fault injection of
 * the module's test flavour), RUN fails with ENOMEM at the access that
 * faulted (in both run forms) and so does PRE_FAULT_MEMORY; everything
 * works again once allocations do.
 */
TEST_F(vcpu, fault_enomem)
{
	struct s2mmu_pre_fault_memory pf;
	struct s2mmu_access acc[2];
	struct s2mmu_run prun;
	char buf[2][PG];
	int ret;

	if (access(FAIL_TOPUP, F_OK))
		SKIP(return, "%s: not the module's test flavour", FAIL_TOPUP);
	/* Page 0 mapped; page 1 not. */
	ASSERT_TRUE(read_ok(self->vcpu, self->run, 0));
	memset(acc, 0, sizeof(acc));
	acc[0] = (struct s2mmu_access){
		.gpa = GPA_BASE, .len = PG, .uaddr = (uintptr_t)buf[0],
	};
	acc[1] = (struct s2mmu_access){
		.gpa = GPA_BASE + PG, .len = PG, .uaddr = (uintptr_t)buf[1],
	};
	ret = s2mmu_write_str(FAIL_TOPUP, "1");
	if (ret)
		SKIP(return, "%s: %s", FAIL_TOPUP, strerror(-ret));

	/* From here until the knob is cleared: no ASSERT. */
	EXPECT_EQ(-ENOMEM, s2mmu_vcpu_run(self->vcpu, self->run, acc, 2))
		TH_LOG("exit %u flags %#llx", self->run->exit_reason,
		       (unsigned long long)self->run->memory_fault.flags);
	EXPECT_EQ(1, self->run->done);
	EXPECT_NE(S2MMU_EXIT_MEMORY_FAULT, self->run->exit_reason);

	memset(&prun, 0, sizeof(prun));
	prun.accesses = (uintptr_t)acc;
	prun.nr_accesses = 2;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vcpu, S2MMU_RUN, &prun));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(1, prun.done);
	EXPECT_NE(S2MMU_EXIT_MEMORY_FAULT, prun.exit_reason);

	EXPECT_EQ(-ENOMEM, s2mmu_guest_touch(self->vcpu, self->run,
					     GPA_BASE + PG, PG, false, 0, 0));

	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_BASE + PG;
	pf.size = PG;
	EXPECT_EQ(-ENOMEM, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(GPA_BASE + PG, pf.gpa);
	EXPECT_EQ(PG, pf.size);

	ASSERT_EQ(0, s2mmu_write_str(FAIL_TOPUP, "0"));
	EXPECT_EQ(S2MMU_EXIT_DONE, s2mmu_vcpu_run(self->vcpu, self->run, acc, 2));
	EXPECT_EQ(2, self->run->done);
	EXPECT_TRUE(s2mmu_check_page(buf[1], 1));
}

TEST_F(vcpu, translate)
{
	struct s2mmu_translation t;
	__u64 pfn;
	char buf[PG];

	/* Nothing is mapped before the guest touches memory. */
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 3 * PG, &t));
	EXPECT_EQ(0, t.present);
	EXPECT_EQ(0, t.hpa);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_NONE, &t));
	EXPECT_EQ(0, t.present);

	/* A read of a writable, host-written page. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    GPA_BASE + 3 * PG, buf, 8));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 3 * PG, &t));
	EXPECT_EQ(GPA_BASE + 3 * PG, t.gpa);
	EXPECT_EQ(1, t.present);
	EXPECT_EQ(0, t.level);
	EXPECT_EQ(1, t.accessed);
	EXPECT_EQ(0, t.dirty);
	/* The host PTE is writable, so the read fault mapped it writable. */
	EXPECT_EQ(1, t.writable);

	/* A write sets Dirty. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     GPA_BASE + 3 * PG + 8,
						     self->mem + 3 * PG + 8, 8));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 3 * PG, &t));
	EXPECT_EQ(1, t.present);
	EXPECT_EQ(1, t.writable);
	EXPECT_EQ(1, t.accessed);
	EXPECT_EQ(1, t.dirty);

	/* The neighbours are still untouched. */
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 4 * PG, &t));
	EXPECT_EQ(0, t.present);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 2 * PG, &t));
	EXPECT_EQ(0, t.present);

	/* The host frame, to CAP_SYS_ADMIN only. */
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 3 * PG + 0x234, &t));
	if (geteuid() != 0)
		SKIP(return, "hpa needs CAP_SYS_ADMIN");
	EXPECT_NE(0, t.hpa);
	pfn = s2mmu_pagemap_pfn(self->mem + 3 * PG);
	if (pfn)
		EXPECT_EQ(pfn * PG + 0x234, t.hpa);
	ASSERT_EQ(0, s2mmu_drop_cap(CAP_SYS_ADMIN));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 3 * PG, &t));
	EXPECT_EQ(1, t.present);
	EXPECT_EQ(0, t.hpa);
}

TEST_F(vcpu, translate_readonly_slot)
{
	struct s2mmu_translation t;
	char buf[8];

	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, S2MMU_MEM_READONLY, GPA_RO,
				      PG, (unsigned long)self->mem + 5 * PG));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_RO, &t));
	EXPECT_EQ(0, t.present);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    GPA_RO, buf, 8));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_RO, &t));
	EXPECT_EQ(1, t.present);
	EXPECT_EQ(0, t.writable);
	EXPECT_EQ(1, t.accessed);
	EXPECT_EQ(0, t.dirty);
	if (geteuid() == 0)
		EXPECT_NE(0, t.hpa);

	/* Same host page through the writable slot 0: writable there. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    GPA_BASE + 5 * PG, buf, 8));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 5 * PG, &t));
	EXPECT_EQ(1, t.writable);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_RO, &t));
	EXPECT_EQ(0, t.writable);
}

TEST_HARNESS_MAIN
