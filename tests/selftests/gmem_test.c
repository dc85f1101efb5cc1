// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: guest-private memory.
 *
 * The guest_memfd file's rules (a port of KVM's guest_memfd_test), the
 * binding rules of S2MMU_SET_MEMORY_REGION2, memory attributes, and the
 * private fault flow: a private frame is read from the guest_memfd, a
 * shared one from the host, a conversion keeps each side's contents, a
 * punched hole reads zeros, a closed guest_memfd exits as a private
 * memory fault.  Then the races, each held open by a test flavour knob
 * (fault_races_*, huge_fault_races_conversion), the port of KVM's
 * private_mem_conversions_test (conv) and a storm with an oracle
 * (gstorm).  Every case runs on both stage-2 formats.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG	4096UL
#define GPA	0x100000UL

/* Short names for the libs2mmu helpers, in the tests' own order. */
#define create_gmem	s2mmu_create_guest_memfd
#define set_attrs	s2mmu_set_memory_attributes

static int set_region2(int vm, __u32 slot, __u32 flags, __u64 gpa, __u64 size,
		       void *uaddr, int gmem, __u64 off)
{
	return s2mmu_set_region2(vm, slot, flags, gpa, size,
				 (unsigned long)uaddr, gmem, off);
}

FIXTURE(gmem) {
	int vm, vcpu, gmem;
	struct s2mmu_run *run;
	char *host;
};

/* Every case on both stage-2 formats. */
FIXTURE_VARIANT(gmem) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(gmem, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(gmem, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(gmem)
{
	self->vm = s2mmu_create_vm(variant->type);
	ASSERT_LE(0, self->vm);
	self->gmem = create_gmem(self->vm, 16 * PG, 0);
	ASSERT_LE(0, self->gmem);
	self->host = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->host);
	self->vcpu = s2mmu_create_vcpu(self->vm, 0);
	ASSERT_LE(0, self->vcpu);
	self->run = s2mmu_map_run(self->vcpu);
	ASSERT_NE(NULL, self->run);
}

FIXTURE_TEARDOWN(gmem)
{
	s2mmu_unmap_run(self->run);
	close(self->vcpu);
	if (self->gmem >= 0)
		close(self->gmem);
	close(self->vm);
}

TEST_F(gmem, file_ops)
{
	struct stat st1, st2;
	char buf[PG];
	int other;

	EXPECT_GT(0, read(self->gmem, buf, PG));
	EXPECT_GT(0, write(self->gmem, buf, PG));
	EXPECT_GT(0, pread(self->gmem, buf, PG, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PG, PROT_READ, MAP_SHARED,
				   self->gmem, 0));
	ASSERT_EQ(0, fstat(self->gmem, &st1));
	EXPECT_EQ(16 * PG, st1.st_size);
	EXPECT_EQ(PG, st1.st_blksize);
	EXPECT_GT(0, ftruncate(self->gmem, PG));
	other = create_gmem(self->vm, 2 * PG, 0);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, fstat(other, &st2));
	EXPECT_NE(st1.st_ino, st2.st_ino);
	EXPECT_EQ(2 * PG, st2.st_size);
	close(other);
	/* Bad creation requests. */
	EXPECT_EQ(-EINVAL, create_gmem(self->vm, 0, 0));
	EXPECT_EQ(-EINVAL, create_gmem(self->vm, PG - 1, 0));
	EXPECT_EQ(-EINVAL, create_gmem(self->vm, PG, 1));
}

TEST_F(gmem, fallocate)
{
	int fd = self->gmem;
	long total = 16 * PG;

	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, total));
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, PG - 1, PG));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, total, PG));
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, total + PG, PG));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       total, PG));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       total + PG, PG));
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
				PG, PG - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       PG, PG));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, PG, PG));
	EXPECT_EQ(-1, fallocate(fd, 0, 0, PG));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE,
				0, PG));
	EXPECT_EQ(EOPNOTSUPP, errno);
}

TEST_F(gmem, binding_rules)
{
	int other_vm, other_gmem;

	/* Not through the first version. */
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 0, S2MMU_MEM_GUEST_MEMFD,
					    GPA, 4 * PG,
					    (unsigned long)self->host));
	/* Bad fds, offsets, flags. */
	EXPECT_EQ(-EBADF, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				      4 * PG, self->host, 1000, 0));
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				       4 * PG, self->host, self->vcpu, 0));
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				       4 * PG, self->host, self->gmem, 1));
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				       4 * PG, self->host, self->gmem, 13 * PG));
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD |
				       S2MMU_MEM_READONLY, GPA, 4 * PG,
				       self->host, self->gmem, 0));
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD |
				       S2MMU_MEM_LOG_DIRTY_PAGES, GPA, 4 * PG,
				       self->host, self->gmem, 0));
	other_vm = s2mmu_create_vm(variant->type);
	ASSERT_LE(0, other_vm);
	other_gmem = create_gmem(other_vm, 16 * PG, 0);
	ASSERT_LE(0, other_gmem);
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				       4 * PG, self->host, other_gmem, 0));
	close(other_gmem);
	close(other_vm);
	/* One binding per range. */
	ASSERT_EQ(0, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				 4 * PG, self->host, self->gmem, 0));
	/* Over slot 0's frames: the binding's errors first (KVM's order). */
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 1, S2MMU_MEM_GUEST_MEMFD, GPA,
				       4 * PG, self->host, self->gmem, 1));
	EXPECT_EQ(-EEXIST, set_region2(self->vm, 1, S2MMU_MEM_GUEST_MEMFD, GPA,
				       4 * PG, self->host, self->gmem, 8 * PG));
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 1, S2MMU_MEM_GUEST_MEMFD,
				       GPA + 8 * PG, 4 * PG, self->host,
				       self->gmem, 3 * PG));
	EXPECT_EQ(0, set_region2(self->vm, 1, S2MMU_MEM_GUEST_MEMFD,
				 GPA + 8 * PG, 4 * PG, self->host, self->gmem,
				 4 * PG));
	/* Immutable but deletable; the range is free again. */
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 1, S2MMU_MEM_GUEST_MEMFD,
				       GPA + 16 * PG, 4 * PG, self->host,
				       self->gmem, 4 * PG));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));
	EXPECT_EQ(0, set_region2(self->vm, 1, S2MMU_MEM_GUEST_MEMFD,
				 GPA + 8 * PG, 4 * PG, self->host, self->gmem,
				 8 * PG));
	/* Deleting through the second version. */
	EXPECT_EQ(0, set_region2(self->vm, 1, S2MMU_MEM_GUEST_MEMFD,
				 GPA + 8 * PG, 0, self->host, self->gmem,
				 8 * PG));
}

TEST_F(gmem, attributes_bad_input)
{
	struct s2mmu_memory_attributes a = {
		.address = GPA, .size = PG,
		.attributes = S2MMU_MEMORY_ATTRIBUTE_PRIVATE, .flags = 1,
	};

	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_SET_MEMORY_ATTRIBUTES, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, set_attrs(self->vm, GPA, 0, 0));
	EXPECT_EQ(-EINVAL, set_attrs(self->vm, GPA + 1, PG, 0));
	EXPECT_EQ(-EINVAL, set_attrs(self->vm, GPA, PG, 1));
	EXPECT_EQ(-EINVAL, set_attrs(self->vm, -PG, 2 * PG, 0));
	EXPECT_EQ(S2MMU_MEMORY_ATTRIBUTE_PRIVATE,
		  s2mmu_check_extension(self->vm, S2MMU_CAP_MEMORY_ATTRIBUTES));
	EXPECT_EQ(1, s2mmu_check_extension(self->vm, S2MMU_CAP_GUEST_MEMFD));
}

TEST_F(gmem, private_flow)
{
	struct s2mmu_access conv = {
		.gpa = GPA, .len = 4 * PG, .op = S2MMU_OP_MAP_GPA_RANGE,
		.flags = S2MMU_ACCESS_F_PRIVATE,
	};
	struct s2mmu_invariants inv;
	char buf[PG], pat[PG];

	memset(self->host, 0x11, 4 * PG);
	ASSERT_EQ(0, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				 4 * PG, self->host, self->gmem, 0));
	/* Shared: the host's memory. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run, GPA,
						    buf, PG));
	EXPECT_EQ(0x11, buf[0]);
	/* The guest asks to convert. */
	ASSERT_EQ(S2MMU_EXIT_HYPERCALL, s2mmu_vcpu_run(self->vcpu, self->run,
						       &conv, 1));
	EXPECT_EQ(S2MMU_HC_MAP_GPA_RANGE, self->run->hypercall.nr);
	EXPECT_EQ(GPA, self->run->hypercall.args[0]);
	EXPECT_EQ(4, self->run->hypercall.args[1]);
	EXPECT_EQ(S2MMU_MAP_GPA_RANGE_ENCRYPTED, self->run->hypercall.args[2]);
	EXPECT_EQ(0, self->run->done);
	ASSERT_EQ(0, set_attrs(self->vm, GPA, 4 * PG,
			       S2MMU_MEMORY_ATTRIBUTE_PRIVATE));
	/* Private: zeros at first, then what the guest writes. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run, GPA,
						    buf, PG));
	EXPECT_EQ(0, buf[0]);
	memset(pat, 0x22, PG);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     GPA, pat, PG));
	EXPECT_EQ(0x11, self->host[0]);		/* the host never sees it */
	ASSERT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(0, inv.bad_private);
	/* Back to shared: the host's contents; then private again: kept. */
	ASSERT_EQ(0, set_attrs(self->vm, GPA, PG, 0));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run, GPA,
						    buf, PG));
	EXPECT_EQ(0x11, buf[0]);
	ASSERT_EQ(0, set_attrs(self->vm, GPA, PG,
			       S2MMU_MEMORY_ATTRIBUTE_PRIVATE));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run, GPA,
						    buf, PG));
	EXPECT_EQ(0x22, buf[0]);
	/* A punched hole reads zeros. */
	ASSERT_EQ(0, fallocate(self->gmem, FALLOC_FL_KEEP_SIZE |
			       FALLOC_FL_PUNCH_HOLE, 0, PG));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run, GPA,
						    buf, PG));
	EXPECT_EQ(0, buf[0]);
	ASSERT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	/* The guest_memfd closed: a private memory fault. */
	close(self->gmem);
	self->gmem = -1;
	ASSERT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run, GPA, buf, PG));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_PRIVATE, self->run->memory_fault.flags);
	EXPECT_EQ(GPA, self->run->memory_fault.gpa);
	/* Converted back, the shared side still works. */
	ASSERT_EQ(0, set_attrs(self->vm, GPA, 4 * PG, 0));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run, GPA,
						    buf, PG));
	EXPECT_EQ(0x11, buf[0]);
}

TEST_F(gmem, private_without_gmem)
{
	char buf[16];

	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA, 4 * PG,
				      (unsigned long)self->host));
	ASSERT_EQ(0, set_attrs(self->vm, GPA, PG,
			       S2MMU_MEMORY_ATTRIBUTE_PRIVATE));
	ASSERT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_write(self->vcpu, self->run, GPA, buf, 16));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_PRIVATE | S2MMU_MEMORY_FAULT_WRITE,
		  self->run->memory_fault.flags);
	/* A read-only slot: private before read-only, as KVM. */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, S2MMU_MEM_READONLY,
				      GPA + 8 * PG, 4 * PG,
				      (unsigned long)self->host));
	ASSERT_EQ(0, set_attrs(self->vm, GPA + 8 * PG, PG,
			       S2MMU_MEMORY_ATTRIBUTE_PRIVATE));
	ASSERT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_write(self->vcpu, self->run, GPA + 8 * PG, buf,
				    16));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_PRIVATE | S2MMU_MEMORY_FAULT_WRITE,
		  self->run->memory_fault.flags);
	/* Its shared frames are read-only as before. */
	ASSERT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_write(self->vcpu, self->run, GPA + 9 * PG, buf,
				    16));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_READONLY | S2MMU_MEMORY_FAULT_WRITE,
		  self->run->memory_fault.flags);
}

/* Bad input to the new ioctls changes nothing. */
TEST_F(gmem, bad_input_changes_nothing)
{
	struct s2mmu_create_guest_memfd cg = { .size = PG };
	struct s2mmu_memory_region2 r = {
		.slot = 0, .flags = S2MMU_MEM_GUEST_MEMFD,
		.guest_phys_addr = GPA, .memory_size = 4 * PG,
		.userspace_addr = (unsigned long)self->host,
		.guest_memfd = self->gmem,
	};
	char buf[16];

	cg.reserved[5] = 1;
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_CREATE_GUEST_MEMFD, &cg));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, create_gmem(self->vm, 1ULL << 63, 0));
	EXPECT_EQ(-EINVAL, create_gmem(self->vm, -PG, 0));

	r.pad1 = 1;
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_SET_MEMORY_REGION2, &r));
	EXPECT_EQ(EINVAL, errno);
	r.pad1 = 0;
	r.pad2[13] = 1;
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_SET_MEMORY_REGION2, &r));
	EXPECT_EQ(EINVAL, errno);
	r.pad2[13] = 0;
	r.guest_memfd_offset = -PG;
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_SET_MEMORY_REGION2, &r));
	EXPECT_EQ(EINVAL, errno);
	r.guest_memfd_offset = 0;
	r.guest_memfd = self->vm;
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_SET_MEMORY_REGION2, &r));
	EXPECT_EQ(EINVAL, errno);
	/* The request's errors come before the fd's (KVM's order). */
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD,
				       GPA + 1, 4 * PG, self->host, 1000, 0));
	EXPECT_EQ(-EINVAL, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD |
				       S2MMU_MEM_READONLY, GPA, 4 * PG,
				       self->host, 1000, 0));
	/* No slot came of it. */
	EXPECT_EQ(S2MMU_EXIT_MMIO, s2mmu_guest_read(self->vcpu, self->run, GPA,
						    buf, sizeof(buf)));

	/* A shared slot: bad attribute changes leave it shared. */
	memset(self->host, 0x66, PG);
	ASSERT_EQ(0, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				 4 * PG, self->host, self->gmem, 0));
	EXPECT_EQ(-EINVAL, set_attrs(self->vm, GPA, PG,
				     S2MMU_MEMORY_ATTRIBUTE_PRIVATE | 1));
	EXPECT_EQ(-EINVAL, set_attrs(self->vm, GPA, -GPA, 0));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run, GPA,
						    buf, sizeof(buf)));
	EXPECT_EQ(0x66, buf[0]);

	/* fallocate's own checks, before the guest_memfd's. */
	EXPECT_EQ(-1, fallocate(self->gmem, FALLOC_FL_KEEP_SIZE, -PG, PG));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, fallocate(self->gmem, FALLOC_FL_KEEP_SIZE, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, fallocate(self->gmem, FALLOC_FL_KEEP_SIZE |
				FALLOC_FL_PUNCH_HOLE, PG, LLONG_MAX));
	EXPECT_EQ(EFBIG, errno);
}

#define GMEM_DELAY	S2MMU_KNOB("test_gmem_fault_delay_ms")

struct reader {
	int vcpu;
	struct s2mmu_run *run;
	char buf[PG];
	int ret;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;

	r->ret = s2mmu_guest_read(r->vcpu, r->run, GPA, r->buf, PG);
	return NULL;
}

/*
 * Bind 4 pages at GPA, make them private and (for @val >= 0) write @val
 * to the first and unmap it again (a change zaps, the page is kept);
 * then start @r reading it, held by the test flavour before mmu_lock for
 * 300 ms, and return 100 ms into the hold.  0, or -1.
 */
static int start_held_read(int vm, int vcpu, struct s2mmu_run *run,
			   int gmem, char *host, int val, struct reader *r,
			   pthread_t *t)
{
	const __u64 priv = S2MMU_MEMORY_ATTRIBUTE_PRIVATE;
	char pat[PG];

	if (set_region2(vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA, 4 * PG, host, gmem,
			0) || set_attrs(vm, GPA, 4 * PG, priv))
		return -1;
	if (val >= 0) {
		memset(pat, val, PG);
		if (s2mmu_guest_write(vcpu, run, GPA, pat, PG) !=
		    S2MMU_EXIT_DONE || set_attrs(vm, GPA, 4 * PG, priv))
			return -1;
	}
	r->vcpu = vcpu;
	r->run = run;
	if (s2mmu_write_str(GMEM_DELAY, "300") ||
	    pthread_create(t, NULL, reader_fn, r))
		return -1;
	usleep(100 * 1000);
	return 0;
}

static void finish_held_read(pthread_t t)
{
	pthread_join(t, NULL);
	s2mmu_write_str(GMEM_DELAY, "0");
}

/*
 * A private fault that took its page races a punch of that page: the
 * test flavour holds the fault between the page and mmu_lock; the punch
 * frees the page meanwhile.  The fault must retry and map the new (zero)
 * page, never the freed one.
 */
TEST_F(gmem, fault_races_punch)
{
	struct s2mmu_invariants inv;
	struct reader r;
	pthread_t t;

	if (access(GMEM_DELAY, W_OK))
		SKIP(return, "needs the test flavour (test_gmem_fault_delay_ms)");
	ASSERT_EQ(0, start_held_read(self->vm, self->vcpu, self->run,
				     self->gmem, self->host, 0x33, &r, &t));
	EXPECT_EQ(0, fallocate(self->gmem, FALLOC_FL_KEEP_SIZE |
			       FALLOC_FL_PUNCH_HOLE, 0, PG));
	finish_held_read(t);
	ASSERT_EQ(S2MMU_EXIT_DONE, r.ret);
	EXPECT_EQ(0, r.buf[0]);
	EXPECT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(0, inv.bad_private);
}

/*
 * The same race against a conversion to shared: the fault that took the
 * private page must retry and map the host's page instead.
 */
TEST_F(gmem, fault_races_conversion)
{
	struct s2mmu_invariants inv;
	struct reader r;
	pthread_t t;

	if (access(GMEM_DELAY, W_OK))
		SKIP(return, "needs the test flavour (test_gmem_fault_delay_ms)");
	memset(self->host, 0x11, 4 * PG);
	ASSERT_EQ(0, start_held_read(self->vm, self->vcpu, self->run,
				     self->gmem, self->host, -1, &r, &t));
	EXPECT_EQ(0, set_attrs(self->vm, GPA, 4 * PG, 0));
	finish_held_read(t);
	ASSERT_EQ(S2MMU_EXIT_DONE, r.ret);
	EXPECT_EQ(0x11, r.buf[0]);
	EXPECT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(0, inv.bad_pfn);
}

/*
 * The guest_memfd's last close races a private fault that took its page:
 * the release unbinds the slot, zaps and frees the pages while the fault
 * is held before mmu_lock.  The fault must retry and, the slot having
 * no guest_memfd now, exit as a private memory fault, not map the page
 * the release freed.
 */
TEST_F(gmem, fault_races_release)
{
	struct s2mmu_invariants inv;
	struct reader r;
	pthread_t t;

	if (access(GMEM_DELAY, W_OK))
		SKIP(return, "needs the test flavour (test_gmem_fault_delay_ms)");
	ASSERT_EQ(0, start_held_read(self->vm, self->vcpu, self->run,
				     self->gmem, self->host, 0x44, &r, &t));
	close(self->gmem);
	self->gmem = -1;
	finish_held_read(t);
	ASSERT_EQ(S2MMU_EXIT_MEMORY_FAULT, r.ret);
	EXPECT_EQ(S2MMU_MEMORY_FAULT_PRIVATE, self->run->memory_fault.flags);
	EXPECT_EQ(GPA, self->run->memory_fault.gpa);
	EXPECT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(0, inv.bad_private);
	EXPECT_EQ(0, inv.bad_pfn);
}

#define ATTR_DELAY	S2MMU_KNOB("test_attr_change_delay_ms")
#define HUGE_GPA	0x40000000UL

struct converter {
	int vm;
	__u64 gpa;
	int ret;
};

static void *converter_fn(void *arg)
{
	struct converter *c = arg;

	c->ret = set_attrs(c->vm, c->gpa, PG, S2MMU_MEMORY_ATTRIBUTE_PRIVATE);
	return NULL;
}

/*
 * A shared leaf never covers a private frame.  A shared fault on a THP
 * runs inside the conversion of another page of the same 2 MiB (held
 * between its zap and its store by the test flavour): it saw the old
 * attributes, so the page it faulted on is not in the change, but the
 * huge leaf it would install is.  It must retry until the change ends
 * and then map 4 KiB; the private page reads the guest_memfd's zeros.
 */
TEST_F(gmem, huge_fault_races_conversion)
{
	struct converter c = { .vm = self->vm, .gpa = HUGE_GPA };
	struct s2mmu_translation tr;
	struct s2mmu_invariants inv;
	char buf[PG];
	pthread_t t;
	char *huge;
	int gmem2;

	if (access(ATTR_DELAY, W_OK))
		SKIP(return, "needs the test flavour (test_attr_change_delay_ms)");
	if (!s2mmu_thp_available())
		SKIP(return, "no transparent huge pages");
	huge = s2mmu_alloc_aligned(S2MMU_PMD_SIZE, S2MMU_PMD_SIZE);
	ASSERT_NE(NULL, huge);
	ASSERT_EQ(0, madvise(huge, S2MMU_PMD_SIZE, MADV_HUGEPAGE));
	memset(huge, 0x55, S2MMU_PMD_SIZE);
	gmem2 = create_gmem(self->vm, S2MMU_PMD_SIZE, 0);
	ASSERT_LE(0, gmem2);
	ASSERT_EQ(0, set_region2(self->vm, 1, S2MMU_MEM_GUEST_MEMFD, HUGE_GPA,
				 S2MMU_PMD_SIZE, huge, gmem2, 0));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    HUGE_GPA + PG, buf, PG));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, HUGE_GPA + PG, &tr));
	if (tr.level != 1) {
		close(gmem2);
		SKIP(return, "the host did not back the slot with a THP");
	}
	ASSERT_EQ(0, s2mmu_write_str(ATTR_DELAY, "300"));
	ASSERT_EQ(0, pthread_create(&t, NULL, converter_fn, &c));
	usleep(100 * 1000);
	EXPECT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    HUGE_GPA + PG, buf, PG));
	pthread_join(t, NULL);
	s2mmu_write_str(ATTR_DELAY, "0");
	ASSERT_EQ(0, c.ret);
	EXPECT_EQ(0x55, buf[0]);
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, HUGE_GPA + PG, &tr));
	EXPECT_EQ(0, tr.level);
	EXPECT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(0, inv.bad_private);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    HUGE_GPA, buf, PG));
	EXPECT_EQ(0, buf[0]);
	EXPECT_EQ(0x55, huge[0]);
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));
	close(gmem2);
	munmap(huge, S2MMU_PMD_SIZE);
}

/*
 * A port of KVM's private_mem_conversions_test flow: CONV_VCPUS vCPUs,
 * each on its own slot, the slots bound to consecutive ranges of one
 * guest_memfd.  Each vCPU walks a table of ranges (page and 2 MiB sizes,
 * aligned and at an offset) through its slot and, playing guest and VMM
 * in one thread as KVM's test does with its ucalls:
 *  1. writes a shared pattern over the range and a guard page each side;
 *     the host sees it through the slot's host memory;
 *  2. converts the range to private (MAP_GPA_RANGE, the VMM answers with
 *     SET_MEMORY_ATTRIBUTES); it reads zeros (the guest_memfd is empty
 *     there), the guards still the shared pattern;
 *  3. writes a private pattern and reads it back; the host's memory
 *     keeps the shared pattern; the host then writes its own pattern,
 *     which the private range does not show;
 *  4. the VMM punches the range's first page: it reads zeros, the rest
 *     the private pattern;
 *  5. converts to shared (the host's pattern) and back to private (the
 *     private contents kept, as KVM: a conversion moves no data);
 *  6. punches the whole range (zeros) and converts it back to shared.
 * At the end no byte of the host's memory holds a private pattern, and
 * CHECK_INVARIANTS finds every leaf on the right page.
 */
#define CONV_VCPUS	2
#define CONV_CHUNK	(4UL << 20)
#define CONV_GPA(i)	(0x40000000UL + (unsigned long)(i) * 0x10000000UL)
#define SZ_2M		(2UL << 20)

static const struct {
	unsigned long offset, size;
} conv_ranges[] = {
	{ 0, PG },
	{ PG, PG },
	{ 0, SZ_2M },
	{ PG, SZ_2M },
	{ SZ_2M, PG },
	{ SZ_2M, SZ_2M },
	{ SZ_2M - PG, 2 * PG },
};

/* The patterns of range @k: shared (guest), private (guest), host. */
#define PAT_SHARED(k)	(0x40 + (k))
#define PAT_PRIVATE(k)	(0x80 + (k))
#define PAT_HOST(k)	(0xc0 + (k))
#define IS_PRIVATE_PAT(b)	(((b) & 0xc0) == 0x80)

struct conv_vcpu {
	int vm, vcpu, gmem, id;
	struct s2mmu_run *run;
	char *host;		/* this vCPU's slot's host memory */
	unsigned char *buf;
	char err[160];
};

#define conv_fail(c, ...)					\
	({ snprintf((c)->err, sizeof((c)->err), __VA_ARGS__); -1; })

static int conv_write(struct conv_vcpu *c, __u64 gpa, int val, __u64 len)
{
	memset(c->buf, val, len);
	if (s2mmu_guest_write(c->vcpu, c->run, gpa, c->buf, len) !=
	    S2MMU_EXIT_DONE)
		return conv_fail(c, "write %#llx+%#llx: exit %u", gpa, len,
				 c->run->exit_reason);
	return 0;
}

static int conv_check(struct conv_vcpu *c, __u64 gpa, int val, __u64 len,
		      const char *what)
{
	__u64 i;

	if (!len)
		return 0;
	if (s2mmu_guest_read(c->vcpu, c->run, gpa, c->buf, len) !=
	    S2MMU_EXIT_DONE)
		return conv_fail(c, "%s: read %#llx: exit %u", what, gpa,
				 c->run->exit_reason);
	for (i = 0; i < len; i++)
		if (c->buf[i] != (unsigned char)val)
			return conv_fail(c, "%s: %#llx reads %#x, not %#x",
					 what, gpa + i, c->buf[i], val & 0xff);
	return 0;
}

static int conv_host_check(struct conv_vcpu *c, unsigned long off, int val,
			   unsigned long len, const char *what)
{
	unsigned long i;

	for (i = 0; i < len; i++)
		if ((unsigned char)c->host[off + i] != (unsigned char)val)
			return conv_fail(c, "%s: host +%#lx holds %#x, not %#x",
					 what, off + i,
					 (unsigned char)c->host[off + i],
					 val & 0xff);
	return 0;
}

/* The guest's MAP_GPA_RANGE and the VMM's answer to its exit. */
static int conv_convert(struct conv_vcpu *c, __u64 gpa, __u64 len,
			bool private)
{
	struct s2mmu_access a = {
		.gpa = gpa, .len = len, .op = S2MMU_OP_MAP_GPA_RANGE,
		.flags = private ? S2MMU_ACCESS_F_PRIVATE : 0,
	};
	struct s2mmu_run *run = c->run;

	if (s2mmu_vcpu_run(c->vcpu, run, &a, 1) != S2MMU_EXIT_HYPERCALL ||
	    run->hypercall.nr != S2MMU_HC_MAP_GPA_RANGE ||
	    run->hypercall.args[0] != gpa ||
	    run->hypercall.args[1] != len / PG ||
	    run->hypercall.args[2] != (private ?
				       S2MMU_MAP_GPA_RANGE_ENCRYPTED :
				       S2MMU_MAP_GPA_RANGE_DECRYPTED))
		return conv_fail(c, "MAP_GPA_RANGE %#llx+%#llx: exit %u nr %llu",
				 gpa, len, run->exit_reason,
				 (unsigned long long)run->hypercall.nr);
	if (set_attrs(c->vm, gpa, len,
		      private ? S2MMU_MEMORY_ATTRIBUTE_PRIVATE : 0))
		return conv_fail(c, "SET_MEMORY_ATTRIBUTES: %s", strerror(errno));
	return 0;
}

static int conv_punch(struct conv_vcpu *c, unsigned long off,
		      unsigned long len)
{
	if (fallocate(c->gmem, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
		      c->id * CONV_CHUNK + off, len))
		return conv_fail(c, "punch +%#lx: %s", off, strerror(errno));
	return 0;
}

static int conv_range(struct conv_vcpu *c, int k)
{
	unsigned long off = conv_ranges[k].offset, len = conv_ranges[k].size;
	unsigned long lo = off ? off - PG : off;
	unsigned long hi = off + len < CONV_CHUNK ? off + len + PG : off + len;
	__u64 base = CONV_GPA(c->id), gpa = base + off;

	/* 1: shared, seen by the host. */
	if (conv_write(c, base + lo, PAT_SHARED(k), hi - lo) ||
	    conv_host_check(c, lo, PAT_SHARED(k), hi - lo, "shared write"))
		return -1;
	/* 2: private, empty; the guards still shared. */
	if (conv_convert(c, gpa, len, true) ||
	    conv_check(c, gpa, 0, len, "new private") ||
	    conv_check(c, base + lo, PAT_SHARED(k), off - lo, "guard below") ||
	    conv_check(c, gpa + len, PAT_SHARED(k), hi - off - len,
		       "guard above"))
		return -1;
	/* 3: private data stays private, host data stays the host's. */
	if (conv_write(c, gpa, PAT_PRIVATE(k), len) ||
	    conv_check(c, gpa, PAT_PRIVATE(k), len, "private") ||
	    conv_host_check(c, off, PAT_SHARED(k), len, "private write"))
		return -1;
	memset(c->host + off, PAT_HOST(k), len);
	if (conv_check(c, gpa, PAT_PRIVATE(k), len, "private, host wrote"))
		return -1;
	/* 4: a page's hole reads zeros, the rest is kept. */
	if (conv_punch(c, off, PG) ||
	    conv_check(c, gpa, 0, PG, "punched page") ||
	    conv_check(c, gpa + PG, PAT_PRIVATE(k), len - PG, "unpunched"))
		return -1;
	/* 5: a round trip through shared moves no data. */
	if (conv_convert(c, gpa, len, false) ||
	    conv_check(c, gpa, PAT_HOST(k), len, "back to shared") ||
	    conv_convert(c, gpa, len, true) ||
	    conv_check(c, gpa, 0, PG, "private again, punched") ||
	    conv_check(c, gpa + PG, PAT_PRIVATE(k), len - PG, "private again"))
		return -1;
	/* 6: the whole range punched, then shared again. */
	if (conv_punch(c, off, len) ||
	    conv_check(c, gpa, 0, len, "punched range") ||
	    conv_convert(c, gpa, len, false) ||
	    conv_check(c, gpa, PAT_HOST(k), len, "shared at the end"))
		return -1;
	return 0;
}

static void *conv_vcpu_fn(void *arg)
{
	struct conv_vcpu *c = arg;
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(conv_ranges); k++)
		if (conv_range(c, k))
			break;
	return NULL;
}

FIXTURE(conv) {
	int vm, gmem;
	char *host;
	struct conv_vcpu c[CONV_VCPUS];
};

FIXTURE_VARIANT(conv) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(conv, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(conv, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(conv)
{
	int i;

	self->vm = s2mmu_create_vm(variant->type);
	ASSERT_LE(0, self->vm);
	self->gmem = create_gmem(self->vm, CONV_VCPUS * CONV_CHUNK, 0);
	ASSERT_LE(0, self->gmem);
	self->host = mmap(NULL, CONV_VCPUS * CONV_CHUNK,
			  PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->host);
	for (i = 0; i < CONV_VCPUS; i++) {
		struct conv_vcpu *c = &self->c[i];

		c->vm = self->vm;
		c->gmem = self->gmem;
		c->id = i;
		c->host = self->host + i * CONV_CHUNK;
		c->buf = malloc(CONV_CHUNK);
		ASSERT_NE(NULL, c->buf);
		ASSERT_EQ(0, set_region2(self->vm, i, S2MMU_MEM_GUEST_MEMFD,
					 CONV_GPA(i), CONV_CHUNK, c->host,
					 self->gmem, i * CONV_CHUNK));
		c->vcpu = s2mmu_create_vcpu(self->vm, i);
		ASSERT_LE(0, c->vcpu);
		c->run = s2mmu_map_run(c->vcpu);
		ASSERT_NE(NULL, c->run);
	}
}

FIXTURE_TEARDOWN(conv)
{
	int i;

	for (i = 0; i < CONV_VCPUS; i++) {
		if (self->c[i].run)
			s2mmu_unmap_run(self->c[i].run);
		if (self->c[i].vcpu > 0)
			close(self->c[i].vcpu);
		free(self->c[i].buf);
	}
	close(self->gmem);
	close(self->vm);
	munmap(self->host, CONV_VCPUS * CONV_CHUNK);
}

TEST_F(conv, private_mem_conversions)
{
	struct s2mmu_invariants inv;
	pthread_t t[CONV_VCPUS];
	unsigned long i;

	for (i = 0; i < CONV_VCPUS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, conv_vcpu_fn,
					    &self->c[i]));
	for (i = 0; i < CONV_VCPUS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_STREQ("", self->c[i].err);
	}
	for (i = 0; i < CONV_VCPUS * CONV_CHUNK; i++)
		if (IS_PRIVATE_PAT(self->host[i]))
			break;
	EXPECT_EQ(CONV_VCPUS * CONV_CHUNK, i);
	EXPECT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(0, inv.bad_private);
	EXPECT_LT(0, inv.leaves);
}

/*
 * The storm: two reader vCPUs fault random pages of a guest_memfd slot
 * while the VMM thread converts pages both ways, writes a marker into a
 * page it made private (through its own vCPU) and punches pages, then
 * closes the guest_memfd under them.  Each page has a seqcount the VMM
 * bumps around every change.  The oracle:
 *  - every word a reader sees is the page's shared word, 0, or the page's
 *    private marker, never another page's (a leaf on the wrong page);
 *  - a read the seqcount shows no change around is exactly what the
 *    page's state says (a stale translation or a missed zap);
 *  - the host's memory always holds the shared words only.
 * make gmem-storm runs it for longer ($S2MMU_GMEM_STORM_SECONDS).
 */
#define ST_PAGES	64
#define ST_READERS	2
#define ST_WORDS	(PG / 8)
#define ST_SHARED(p)	(0x5348415245440000ULL | (p))	/* "SHARED" */
#define ST_MARK(p)	(0x5052495641540000ULL | (p))	/* "PRIVAT" */

enum { ST_IS_SHARED, ST_IS_MARKED, ST_IS_ZERO };

struct gstorm {
	int vm, gmem;
	__u64 *host;
	unsigned int seq[ST_PAGES];
	int state[ST_PAGES];
	int stop, released;
};

struct gstorm_reader {
	struct gstorm *s;
	int vcpu;
	struct s2mmu_run *run;
	__u64 rng, reads, strict, bad, stale, faults, other_exit;
	__u64 buf[ST_WORDS];
};

static void *gstorm_reader_fn(void *arg)
{
	struct gstorm_reader *r = arg;
	struct gstorm *s = r->s;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		unsigned int p = s2mmu_rand_below(&r->rng, ST_PAGES);
		unsigned int s1, s2, i, n[3] = { 0 };
		int st, ret;

		s1 = __atomic_load_n(&s->seq[p], __ATOMIC_ACQUIRE);
		st = __atomic_load_n(&s->state[p], __ATOMIC_RELAXED);
		ret = s2mmu_guest_read(r->vcpu, r->run, GPA + p * PG, r->buf,
				       PG);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&s->seq[p], __ATOMIC_RELAXED);
		if (ret == S2MMU_EXIT_MEMORY_FAULT &&
		    __atomic_load_n(&s->released, __ATOMIC_ACQUIRE) &&
		    r->run->memory_fault.flags == S2MMU_MEMORY_FAULT_PRIVATE) {
			r->faults++;
			continue;
		}
		if (ret != S2MMU_EXIT_DONE) {
			r->other_exit++;
			continue;
		}
		r->reads++;
		for (i = 0; i < ST_WORDS; i++) {
			if (r->buf[i] == ST_SHARED(p))
				n[ST_IS_SHARED]++;
			else if (r->buf[i] == ST_MARK(p))
				n[ST_IS_MARKED]++;
			else if (!r->buf[i])
				n[ST_IS_ZERO]++;
			else
				r->bad++;
		}
		if (s1 != s2 || (s1 & 1))
			continue;
		r->strict++;
		if (n[st] != ST_WORDS)
			r->stale++;
	}
	return NULL;
}

/* One change of page @p by the VMM, inside the page's seqcount. */
static int gstorm_change(struct gstorm *s, int vcpu, struct s2mmu_run *run,
			 unsigned int p, unsigned int what)
{
	static __u64 mark[ST_WORDS];
	int st = s->state[p], ret = 0;
	unsigned int i;

	__atomic_fetch_add(&s->seq[p], 1, __ATOMIC_SEQ_CST);
	switch (what) {
	case 0:		/* to private, with the marker */
		ret = set_attrs(s->vm, GPA + p * PG, PG,
				S2MMU_MEMORY_ATTRIBUTE_PRIVATE);
		for (i = 0; i < ST_WORDS; i++)
			mark[i] = ST_MARK(p);
		if (!ret && s2mmu_guest_write(vcpu, run, GPA + p * PG, mark,
					      PG) != S2MMU_EXIT_DONE)
			ret = -EIO;
		st = ST_IS_MARKED;
		break;
	case 1:		/* to shared */
		ret = set_attrs(s->vm, GPA + p * PG, PG, 0);
		st = ST_IS_SHARED;
		break;
	default:	/* punch */
		if (fallocate(s->gmem, FALLOC_FL_KEEP_SIZE |
			      FALLOC_FL_PUNCH_HOLE, p * PG, PG))
			ret = -errno;
		if (st == ST_IS_MARKED)
			st = ST_IS_ZERO;
		break;
	}
	__atomic_store_n(&s->state[p], st, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->seq[p], 1, __ATOMIC_SEQ_CST);
	return ret;
}

/* Pages of the host's memory holding anything but their shared word. */
static unsigned int gstorm_host_bad(const struct gstorm *s)
{
	unsigned int p, i, bad = 0;

	for (p = 0; p < ST_PAGES; p++)
		for (i = 0; i < ST_WORDS; i++)
			if (s->host[p * ST_WORDS + i] != ST_SHARED(p)) {
				bad++;
				break;
			}
	return bad;
}

FIXTURE(gstorm) {
	struct gstorm s;
	int vcpu[ST_READERS + 1];
	struct s2mmu_run *run[ST_READERS + 1];
};

FIXTURE_VARIANT(gstorm) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(gstorm, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(gstorm, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(gstorm)
{
	struct gstorm *s = &self->s;
	unsigned int p, i;

	s->vm = s2mmu_create_vm(variant->type);
	ASSERT_LE(0, s->vm);
	s->gmem = create_gmem(s->vm, ST_PAGES * PG, 0);
	ASSERT_LE(0, s->gmem);
	s->host = mmap(NULL, ST_PAGES * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s->host);
	for (p = 0; p < ST_PAGES; p++)
		for (i = 0; i < ST_WORDS; i++)
			s->host[p * ST_WORDS + i] = ST_SHARED(p);
	ASSERT_EQ(0, set_region2(s->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				 ST_PAGES * PG, s->host, s->gmem, 0));
	for (i = 0; i <= ST_READERS; i++) {
		self->vcpu[i] = s2mmu_create_vcpu(s->vm, i);
		ASSERT_LE(0, self->vcpu[i]);
		self->run[i] = s2mmu_map_run(self->vcpu[i]);
		ASSERT_NE(NULL, self->run[i]);
	}
}

FIXTURE_TEARDOWN(gstorm)
{
	unsigned int i;

	for (i = 0; i <= ST_READERS; i++) {
		if (self->run[i])
			s2mmu_unmap_run(self->run[i]);
		if (self->vcpu[i] > 0)
			close(self->vcpu[i]);
	}
	if (self->s.gmem >= 0)
		close(self->s.gmem);
	close(self->s.vm);
	munmap(self->s.host, ST_PAGES * PG);
}

static void gstorm_start(struct gstorm *s, struct gstorm_reader *r,
			 pthread_t *t, int *vcpu, struct s2mmu_run **run,
			 __u64 seed)
{
	unsigned int i;

	__atomic_store_n(&s->stop, 0, __ATOMIC_RELEASE);
	for (i = 0; i < ST_READERS; i++) {
		r[i] = (struct gstorm_reader){
			.s = s, .vcpu = vcpu[i + 1], .run = run[i + 1],
			.rng = seed + i + 1,
		};
		if (pthread_create(&t[i], NULL, gstorm_reader_fn, &r[i]))
			s2mmu_die("pthread_create");
	}
}

static void gstorm_stop(struct gstorm *s, struct gstorm_reader *r,
			pthread_t *t, struct gstorm_reader *sum)
{
	unsigned int i;

	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < ST_READERS; i++) {
		pthread_join(t[i], NULL);
		sum->reads += r[i].reads;
		sum->strict += r[i].strict;
		sum->bad += r[i].bad;
		sum->stale += r[i].stale;
		sum->faults += r[i].faults;
		sum->other_exit += r[i].other_exit;
	}
}

TEST_F_TIMEOUT(gstorm, conversions_punches_release, 3600)
{
	unsigned long long seconds = s2mmu_env_ull("S2MMU_GMEM_STORM_SECONDS",
						   2);
	__u64 seed = s2mmu_seed(0x6d656d67), rng = seed;
	struct gstorm_reader r[ST_READERS], sum;
	struct gstorm *s = &self->s;
	struct s2mmu_invariants inv;
	pthread_t t[ST_READERS];
	unsigned long changes = 0, host_bad = 0;
	long long end;

	if (seconds < 1)
		seconds = 1;
	gstorm_start(s, r, t, self->vcpu, self->run, seed);
	end = s2mmu_now_ms() + seconds * 1000;
	while (s2mmu_now_ms() < end) {
		unsigned int p = s2mmu_rand_below(&rng, ST_PAGES);

		if (gstorm_change(s, self->vcpu[0], self->run[0], p,
				  s2mmu_rand_below(&rng, 3)))
			break;
		if (!(++changes % 64))
			host_bad += gstorm_host_bad(s);
	}
	gstorm_stop(s, r, t, &sum);
	TH_LOG("seed %#llx, %llu s: %lu changes, %llu reads (%llu strict)",
	       (unsigned long long)seed, seconds, changes,
	       (unsigned long long)sum.reads,
	       (unsigned long long)sum.strict);
	EXPECT_LT(0, changes);
	EXPECT_LT(0, sum.strict);
	EXPECT_EQ(0, sum.bad);
	EXPECT_EQ(0, sum.stale);
	EXPECT_EQ(0, sum.other_exit);
	EXPECT_EQ(0, host_bad + gstorm_host_bad(s));
	EXPECT_EQ(0, s2mmu_check_invariants(s->vm, &inv));
	EXPECT_EQ(0, inv.bad_private);

	/* The guest_memfd's last close while both readers fault. */
	__atomic_store_n(&s->released, 1, __ATOMIC_RELEASE);
	gstorm_start(s, r, t, self->vcpu, self->run, seed + 100);
	usleep(50 * 1000);
	EXPECT_EQ(0, close(s->gmem));
	s->gmem = -1;
	usleep(50 * 1000);
	gstorm_stop(s, r, t, &sum);
	TH_LOG("release: %llu reads, %llu private memory faults",
	       (unsigned long long)sum.reads,
	       (unsigned long long)sum.faults);
	EXPECT_EQ(0, sum.bad);
	EXPECT_EQ(0, sum.stale);
	EXPECT_EQ(0, sum.other_exit);
	EXPECT_EQ(0, gstorm_host_bad(s));
	EXPECT_EQ(0, s2mmu_check_invariants(s->vm, &inv));
	EXPECT_EQ(0, inv.bad_private);
}

TEST_HARNESS_MAIN
