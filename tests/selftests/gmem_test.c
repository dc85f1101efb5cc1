// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: guest-private memory.
 *
 * The guest_memfd file's rules (a port of KVM's guest_memfd_test), the
 * binding rules of S2MMU_SET_MEMORY_REGION2, memory attributes, and the
 * private fault flow: a private frame is read from the guest_memfd, a
 * shared one from the host, a conversion keeps each side's contents, a
 * punched hole reads zeros, a closed guest_memfd exits as a private
 * memory fault.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG	4096UL
#define GPA	0x100000UL

static int create_gmem(int vm, __u64 size, __u64 flags)
{
	struct s2mmu_create_guest_memfd g = { .size = size, .flags = flags };
	int fd = ioctl(vm, S2MMU_CREATE_GUEST_MEMFD, &g);

	return fd < 0 ? -errno : fd;
}

static int set_region2(int vm, __u32 slot, __u32 flags, __u64 gpa, __u64 size,
		       void *uaddr, int gmem, __u64 off)
{
	struct s2mmu_memory_region2 r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (unsigned long)uaddr,
		.guest_memfd_offset = off, .guest_memfd = gmem,
	};

	return ioctl(vm, S2MMU_SET_MEMORY_REGION2, &r) ? -errno : 0;
}

static int set_attrs(int vm, __u64 gpa, __u64 size, __u64 attrs)
{
	struct s2mmu_memory_attributes a = {
		.address = gpa, .size = size, .attributes = attrs,
	};

	return ioctl(vm, S2MMU_SET_MEMORY_ATTRIBUTES, &a) ? -errno : 0;
}

FIXTURE(gmem) {
	int vm, vcpu, gmem;
	struct s2mmu_run *run;
	char *host;
};

FIXTURE_SETUP(gmem)
{
	self->vm = s2mmu_create_vm(S2MMU_VM_X86_TDP);
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
	other_vm = s2mmu_create_vm(S2MMU_VM_X86_TDP);
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
 * A private fault that took its page races a punch of that page: the
 * test flavour holds the fault between the page and mmu_lock; the punch
 * frees the page meanwhile.  The fault must retry and map the new (zero)
 * page, never the freed one.
 */
TEST_F(gmem, fault_races_punch)
{
	struct s2mmu_invariants inv;
	struct reader r = { .vcpu = self->vcpu, .run = self->run };
	char pat[PG];
	pthread_t t;

	if (access(GMEM_DELAY, W_OK))
		SKIP(return, "needs the test flavour (test_gmem_fault_delay_ms)");
	ASSERT_EQ(0, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				 4 * PG, self->host, self->gmem, 0));
	ASSERT_EQ(0, set_attrs(self->vm, GPA, 4 * PG,
			       S2MMU_MEMORY_ATTRIBUTE_PRIVATE));
	memset(pat, 0x33, PG);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     GPA, pat, PG));
	/* Unmapped again (a change zaps), the page kept. */
	ASSERT_EQ(0, set_attrs(self->vm, GPA, 4 * PG,
			       S2MMU_MEMORY_ATTRIBUTE_PRIVATE));
	ASSERT_EQ(0, s2mmu_write_str(GMEM_DELAY, "300"));
	ASSERT_EQ(0, pthread_create(&t, NULL, reader_fn, &r));
	usleep(100 * 1000);
	EXPECT_EQ(0, fallocate(self->gmem, FALLOC_FL_KEEP_SIZE |
			       FALLOC_FL_PUNCH_HOLE, 0, PG));
	pthread_join(t, NULL);
	s2mmu_write_str(GMEM_DELAY, "0");
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
	struct reader r = { .vcpu = self->vcpu, .run = self->run };
	pthread_t t;

	if (access(GMEM_DELAY, W_OK))
		SKIP(return, "needs the test flavour (test_gmem_fault_delay_ms)");
	memset(self->host, 0x11, 4 * PG);
	ASSERT_EQ(0, set_region2(self->vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA,
				 4 * PG, self->host, self->gmem, 0));
	ASSERT_EQ(0, set_attrs(self->vm, GPA, 4 * PG,
			       S2MMU_MEMORY_ATTRIBUTE_PRIVATE));
	ASSERT_EQ(0, s2mmu_write_str(GMEM_DELAY, "300"));
	ASSERT_EQ(0, pthread_create(&t, NULL, reader_fn, &r));
	usleep(100 * 1000);
	EXPECT_EQ(0, set_attrs(self->vm, GPA, 4 * PG, 0));
	pthread_join(t, NULL);
	s2mmu_write_str(GMEM_DELAY, "0");
	ASSERT_EQ(S2MMU_EXIT_DONE, r.ret);
	EXPECT_EQ(0x11, r.buf[0]);
	EXPECT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(0, inv.bad_pfn);
}

TEST_HARNESS_MAIN
