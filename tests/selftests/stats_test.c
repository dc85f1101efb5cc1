// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: the binary stats fds (S2MMU_GET_STATS_FD).  A port of
 * the checks of KVM's kvm_binary_stats_test (header, id, descriptors,
 * offsets, bulk and per-statistic pread, dup'd and multiple fds), plus
 * what s2mmu promises beyond it: read() with the file position, reads
 * after the VM and vCPU fds are closed, bad input, and statistics that
 * agree with what the rest of the uAPI sees: the per-level leaf counts
 * against S2MMU_TRANSLATE and S2MMU_CHECK_INVARIANTS (4 KiB, THP and
 * hugetlb memory, before and after a zap), and the fault and TLB flush
 * counts of a known workload.
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define HPAGE		S2MMU_PMD_SIZE
#define GPA_BASE	0x40000000ULL
#define NAME_SIZE	S2MMU_STATS_NAME_SIZE
#define DESC_SIZE	(sizeof(struct s2mmu_stats_desc) + NAME_SIZE)
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

/* What a stats fd holds, read and checked by stats_check(). */
struct stats {
	struct s2mmu_stats_header h;
	char id[NAME_SIZE];
	char *descs;		/* num_desc descriptors of DESC_SIZE bytes */
	__u64 *data;		/* data_size bytes of values */
	size_t data_size;
};

static struct s2mmu_stats_desc *stats_desc(const struct stats *s,
					   unsigned int i)
{
	return (struct s2mmu_stats_desc *)(s->descs + i * DESC_SIZE);
}

static void stats_free(struct stats *s)
{
	free(s->descs);
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* The index of statistic @name, or -1. */
static int stats_find(const struct stats *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < s->h.num_desc; i++)
		if (!strcmp(stats_desc(s, i)->name, name))
			return i;
	return -1;
}

/*
 * kvm_binary_stats_test's checks of one stats fd, which must carry id
 * @want_id; @s is filled with what it read.
 */
static void stats_check(struct __test_metadata *_metadata, int fd,
			const char *want_id, struct stats *s)
{
	struct s2mmu_stats_header *h = &s->h;
	size_t size_desc, size_data = 0;
	unsigned int i, j;
	__u64 *one;

	memset(s, 0, sizeof(*s));
	ASSERT_EQ(sizeof(*h), pread(fd, h, sizeof(*h), 0));
	EXPECT_EQ(0, h->flags);
	ASSERT_EQ(NAME_SIZE, h->name_size);
	ASSERT_LT(0, h->num_desc);
	/* Header, id, descriptors and data, in this order, no overlap. */
	EXPECT_LE(sizeof(*h), h->id_offset);
	EXPECT_LE(h->id_offset + h->name_size, h->desc_offset);
	size_desc = h->num_desc * DESC_SIZE;
	EXPECT_LE(h->desc_offset + size_desc, h->data_offset);

	ASSERT_EQ(NAME_SIZE, pread(fd, s->id, NAME_SIZE, h->id_offset));
	ASSERT_GT(NAME_SIZE, strnlen(s->id, NAME_SIZE));
	EXPECT_STREQ(want_id, s->id);

	s->descs = calloc(h->num_desc, DESC_SIZE);
	ASSERT_NE(NULL, s->descs);
	ASSERT_EQ(size_desc, pread(fd, s->descs, size_desc, h->desc_offset));
	for (i = 0; i < h->num_desc; i++) {
		struct s2mmu_stats_desc *d = stats_desc(s, i);
		__u32 type = d->flags & S2MMU_STATS_TYPE_MASK;
		__u32 unit = d->flags & S2MMU_STATS_UNIT_MASK;
		__u32 base = d->flags & S2MMU_STATS_BASE_MASK;

		/* A NUL-terminated, non-empty, unique name. */
		ASSERT_GT(NAME_SIZE, strnlen(d->name, NAME_SIZE));
		EXPECT_LT(0, strlen(d->name));
		for (j = 0; j < i; j++)
			EXPECT_STRNE(stats_desc(s, j)->name, d->name);
		/* Type, unit and base in range, no other flag bit. */
		EXPECT_LE(type, S2MMU_STATS_TYPE_MAX) TH_LOG("%s", d->name);
		EXPECT_LE(unit, S2MMU_STATS_UNIT_MAX) TH_LOG("%s", d->name);
		EXPECT_LE(base, S2MMU_STATS_BASE_MAX) TH_LOG("%s", d->name);
		EXPECT_EQ(0, d->flags & ~(S2MMU_STATS_TYPE_MASK |
					  S2MMU_STATS_UNIT_MASK |
					  S2MMU_STATS_BASE_MASK));
		/* Exponents as KVM's (plain counts: none at all). */
		switch (unit) {
		case S2MMU_STATS_UNIT_NONE:
		case S2MMU_STATS_UNIT_BOOLEAN:
			EXPECT_EQ(0, d->exponent) TH_LOG("%s", d->name);
			break;
		case S2MMU_STATS_UNIT_BYTES:
		case S2MMU_STATS_UNIT_CYCLES:
			EXPECT_LE(0, d->exponent) TH_LOG("%s", d->name);
			break;
		case S2MMU_STATS_UNIT_SECONDS:
			EXPECT_GE(0, d->exponent) TH_LOG("%s", d->name);
			break;
		}
		EXPECT_LT(0, d->size) TH_LOG("%s", d->name);
		/* A bucket size for linear histograms only. */
		EXPECT_EQ(type == S2MMU_STATS_TYPE_LINEAR_HIST, !!d->bucket_size)
			TH_LOG("%s", d->name);
		/* Only histograms hold more than one value. */
		if (type != S2MMU_STATS_TYPE_LINEAR_HIST &&
		    type != S2MMU_STATS_TYPE_LOG_HIST)
			EXPECT_EQ(1, d->size) TH_LOG("%s", d->name);
		EXPECT_EQ(0, d->offset % sizeof(__u64));
		/* No two statistics share a value. */
		for (j = 0; j < i; j++) {
			struct s2mmu_stats_desc *o = stats_desc(s, j);

			EXPECT_TRUE(d->offset >= o->offset + o->size * 8 ||
				    o->offset >= d->offset + d->size * 8)
				TH_LOG("%s overlaps %s", d->name, o->name);
		}
		if (d->offset + d->size * sizeof(__u64) > size_data)
			size_data = d->offset + d->size * sizeof(__u64);
	}
	ASSERT_LE(h->num_desc * sizeof(__u64), size_data);
	s->data_size = size_data;

	/* All values in one pread, then each on its own: the same. */
	s->data = malloc(size_data);
	ASSERT_NE(NULL, s->data);
	ASSERT_EQ(size_data, pread(fd, s->data, size_data, h->data_offset));
	one = malloc(size_data);
	ASSERT_NE(NULL, one);
	for (i = 0; i < h->num_desc; i++) {
		struct s2mmu_stats_desc *d = stats_desc(s, i);
		size_t len = d->size * sizeof(__u64);

		ASSERT_EQ(len, pread(fd, one, len, h->data_offset + d->offset));
		EXPECT_EQ(0, memcmp(one, (char *)s->data + d->offset, len))
			TH_LOG("%s changed between the reads", d->name);
		if ((d->flags & S2MMU_STATS_UNIT_MASK) == S2MMU_STATS_UNIT_BOOLEAN)
			EXPECT_GE(1, one[0]);
	}
	free(one);

	/* Past the end: nothing; across it: what is there. */
	EXPECT_EQ(0, pread(fd, s->id, 8, h->data_offset + size_data));
	EXPECT_EQ(0, pread(fd, s->id, 8, h->data_offset + size_data + 4096));
	EXPECT_EQ(8, pread(fd, s->id, 16, h->data_offset + size_data - 8));
	ASSERT_EQ(NAME_SIZE, pread(fd, s->id, NAME_SIZE, h->id_offset));
}

/* Value @idx of statistic @name of the stats fd @fd, or ~0 if none. */
static __u64 stat_get(int fd, const char *name, unsigned int idx)
{
	struct s2mmu_stats_header h;
	char desc[DESC_SIZE];
	struct s2mmu_stats_desc *d = (void *)desc;
	unsigned int i;
	__u64 v;

	if (pread(fd, &h, sizeof(h), 0) != sizeof(h))
		return ~0ULL;
	for (i = 0; i < h.num_desc; i++) {
		if (pread(fd, desc, DESC_SIZE, h.desc_offset + i * DESC_SIZE) !=
		    DESC_SIZE)
			return ~0ULL;
		if (strcmp(d->name, name) || idx >= d->size)
			continue;
		if (pread(fd, &v, 8, h.data_offset + d->offset + idx * 8) != 8)
			return ~0ULL;
		return v;
	}
	return ~0ULL;
}

static int stats_fd(int fd)
{
	int ret = ioctl(fd, S2MMU_GET_STATS_FD, 0);

	return ret < 0 ? -errno : ret;
}

/* @npages of small-page memory (no THP: nothing collapses under a test). */
static char *small_mem(size_t npages)
{
	char *p = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, npages * PG, MADV_NOHUGEPAGE);
	memset(p, 0x5a, npages * PG);
	return p;
}

FIXTURE(stats) {
	int vm, vcpu;
	struct s2mmu_run *run;
	char *mem;
	size_t size;
	long pid;
	char vm_id[NAME_SIZE], vcpu_id[NAME_SIZE];
};

FIXTURE_SETUP(stats)
{
	self->vm = -1;
	self->vcpu = -1;
	self->size = 16 * PG;
	self->mem = small_mem(16);
	ASSERT_NE(NULL, self->mem);
	s2mmu_setup_guest(_metadata, S2MMU_VM_X86_TDP, self->mem, GPA_BASE,
			  self->size, &self->vm, &self->vcpu, &self->run);
	/* As KVM: the creating task's pid. */
	self->pid = syscall(SYS_gettid);
	snprintf(self->vm_id, NAME_SIZE, "s2mmu-%ld", self->pid);
	snprintf(self->vcpu_id, NAME_SIZE, "s2mmu-%ld/vcpu-0", self->pid);
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE,
				       self->size, false, PG, 1));
}

FIXTURE_TEARDOWN(stats)
{
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, self->size);
}

static const char *const vm_names[] = {
	"remote_tlb_flush", "remote_tlb_flush_requests", "pages_4k",
	"pages_2m", "pages_1g", "nx_lpage_splits", "nx_lpage_recoveries",
	"invalidations", "zaps", "table_pages", "age_calls", "age_young",
	"age_races",
};

static const char *const vcpu_names[] = {
	"pf_taken", "pf_fixed", "pf_spurious", "fault_retries", "tlb_flush",
	"tlb_misses", "walk_cache_hits", "pf_prefetched", "fault_latency_hist",
};

TEST_F(stats, vm_fd)
{
	struct stats s;
	unsigned int i;
	int fd, flags;

	fd = stats_fd(self->vm);
	ASSERT_LE(0, fd) TH_LOG("GET_STATS_FD: %s", strerror(-fd));
	flags = fcntl(fd, F_GETFD);
	EXPECT_TRUE(flags & FD_CLOEXEC);
	EXPECT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	stats_check(_metadata, fd, self->vm_id, &s);
	for (i = 0; i < ARRAY_SIZE(vm_names); i++)
		EXPECT_LE(0, stats_find(&s, vm_names[i]))
			TH_LOG("no %s", vm_names[i] ? vm_names[i] : "");
	EXPECT_EQ(16, s.data[stats_desc(&s, stats_find(&s, "pages_4k"))->offset / 8]);
	stats_free(&s);
	close(fd);
}

TEST_F(stats, vcpu_fd)
{
	char id[NAME_SIZE];
	struct s2mmu_stats_desc *d;
	struct stats s;
	unsigned int i;
	int fd, vcpu3;

	fd = stats_fd(self->vcpu);
	ASSERT_LE(0, fd) TH_LOG("GET_STATS_FD: %s", strerror(-fd));
	stats_check(_metadata, fd, self->vcpu_id, &s);
	for (i = 0; i < ARRAY_SIZE(vcpu_names); i++)
		EXPECT_LE(0, stats_find(&s, vcpu_names[i]))
			TH_LOG("no %s", vcpu_names[i] ? vcpu_names[i] : "");
	/* The fault latency: a log histogram of ns, KVM's 32 buckets. */
	d = stats_desc(&s, stats_find(&s, "fault_latency_hist"));
	EXPECT_EQ(S2MMU_STATS_TYPE_LOG_HIST | S2MMU_STATS_UNIT_SECONDS |
		  S2MMU_STATS_BASE_POW10, d->flags);
	EXPECT_EQ(-9, d->exponent);
	EXPECT_EQ(32, d->size);
	EXPECT_EQ(16, s.data[stats_desc(&s, stats_find(&s, "pf_fixed"))->offset / 8]);
	stats_free(&s);
	close(fd);

	vcpu3 = s2mmu_create_vcpu(self->vm, 3);
	ASSERT_LE(0, vcpu3);
	fd = stats_fd(vcpu3);
	ASSERT_LE(0, fd);
	snprintf(id, sizeof(id), "s2mmu-%ld/vcpu-3", self->pid);
	stats_check(_metadata, fd, id, &s);
	EXPECT_EQ(0, stat_get(fd, "pf_taken", 0));
	stats_free(&s);
	close(fd);
	close(vcpu3);
}

/* read() follows the file position and returns the pread() bytes. */
TEST_F(stats, read_f_pos)
{
	char *a, *b;
	struct stats s;
	size_t total, got = 0;
	ssize_t n;
	int fd;

	fd = stats_fd(self->vm);
	ASSERT_LE(0, fd);
	stats_check(_metadata, fd, self->vm_id, &s);
	total = s.h.data_offset + s.data_size;
	a = malloc(total + 64);
	b = malloc(total + 64);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(total, pread(fd, a, total + 64, 0));
	/* 7 bytes at a time: every boundary falls inside some part. */
	while (got <= total && (n = read(fd, b + got, 7)) > 0)
		got += n;
	EXPECT_EQ(0, n);
	EXPECT_EQ(total, got);
	EXPECT_EQ(0, memcmp(a, b, total));
	free(a);
	free(b);
	stats_free(&s);
	close(fd);
}

TEST_F(stats, dup_and_multiple_fds)
{
	int fd1, fd2, fd3, vfd1, vfd2;
	struct stats s1, s2;

	fd1 = stats_fd(self->vm);
	fd2 = stats_fd(self->vm);
	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	EXPECT_NE(fd1, fd2);
	fd3 = dup(fd1);
	ASSERT_LE(0, fd3);
	vfd1 = stats_fd(self->vcpu);
	vfd2 = stats_fd(self->vcpu);
	ASSERT_LE(0, vfd1);
	ASSERT_LE(0, vfd2);

	stats_check(_metadata, fd1, self->vm_id, &s1);
	close(fd1);
	stats_check(_metadata, fd3, self->vm_id, &s2);
	EXPECT_EQ(0, memcmp(&s1.h, &s2.h, sizeof(s1.h)));
	EXPECT_EQ(0, memcmp(s1.descs, s2.descs, s1.h.num_desc * DESC_SIZE));
	EXPECT_EQ(0, memcmp(s1.data, s2.data, s1.data_size));
	stats_free(&s2);
	stats_check(_metadata, fd2, self->vm_id, &s2);
	EXPECT_EQ(0, memcmp(s1.data, s2.data, s1.data_size));
	stats_free(&s1);
	stats_free(&s2);

	stats_check(_metadata, vfd1, self->vcpu_id, &s1);
	close(vfd1);
	stats_check(_metadata, vfd2, self->vcpu_id, &s2);
	EXPECT_EQ(0, memcmp(s1.data, s2.data, s1.data_size));
	stats_free(&s1);
	stats_free(&s2);
	close(fd2);
	close(fd3);
	close(vfd2);
}

TEST_F(stats, bad_input)
{
	char buf[8] = "";
	int fd, vfd, status;
	pid_t pid;

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_GET_STATS_FD, 1));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vcpu, S2MMU_GET_STATS_FD, 1UL << 40));
	EXPECT_EQ(EINVAL, errno);
	/* Another number with the stats fd's: not ours. */
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vm, _IOR(S2MMUIO, 0x17, __u64), buf));
	EXPECT_EQ(ENOTTY, errno);

	fd = stats_fd(self->vm);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, write(fd, buf, sizeof(buf)));
	EXPECT_EQ(EBADF, errno);
	/* No pwrite at all (KVM's answer too). */
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ESPIPE, errno);
	errno = 0;
	EXPECT_EQ(-1, pread(fd, buf, sizeof(buf), -8));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0));
	/* Nothing a stats fd does not answer changed the VM. */
	EXPECT_EQ(16, stat_get(fd, "pages_4k", 0));

	/*
	 * Only the VM's owner gets one; an fd it holds reads anywhere.  (The
	 * fork write-protects the parent's memory, which zaps its writable
	 * leaves: the child reads a vCPU count the fork leaves alone.)
	 */
	vfd = stats_fd(self->vcpu);
	ASSERT_LE(0, vfd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		__u64 v = 0;

		if (ioctl(self->vm, S2MMU_GET_STATS_FD, 0) != -1 || errno != EIO)
			_exit(1);
		if (ioctl(self->vcpu, S2MMU_GET_STATS_FD, 0) != -1 || errno != EIO)
			_exit(2);
		v = stat_get(vfd, "pf_taken", 0);
		_exit(v == 16 ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(vfd);
	close(fd);
}

/* The fds read the live VM after its VM and vCPU fds are gone. */
TEST_F(stats, outlives_vm_fd)
{
	long vms = s2mmu_nr_vms();
	__u64 taken, inval;
	struct stats s;
	int vfd, cfd;

	vfd = stats_fd(self->vm);
	cfd = stats_fd(self->vcpu);
	ASSERT_LE(0, vfd);
	ASSERT_LE(0, cfd);
	taken = stat_get(cfd, "pf_taken", 0);
	inval = stat_get(vfd, "invalidations", 0);
	EXPECT_EQ(16, taken);

	S2MMU_EXPECT_INVARIANTS(self->vm);
	s2mmu_unmap_run(self->run);
	self->run = NULL;
	close(self->vcpu);
	self->vcpu = -1;
	close(self->vm);
	self->vm = -1;
	EXPECT_EQ(vms, s2mmu_nr_vms());

	stats_check(_metadata, vfd, self->vm_id, &s);
	stats_free(&s);
	stats_check(_metadata, cfd, self->vcpu_id, &s);
	stats_free(&s);
	EXPECT_EQ(taken, stat_get(cfd, "pf_taken", 0));
	EXPECT_EQ(16, stat_get(vfd, "pages_4k", 0));
	/* Still the VM's notifier: an munmap zaps and is counted. */
	ASSERT_EQ(0, munmap(self->mem, self->size));
	self->mem = NULL;
	EXPECT_EQ(0, stat_get(vfd, "pages_4k", 0));
	EXPECT_LT(inval, stat_get(vfd, "invalidations", 0));

	close(vfd);
	EXPECT_EQ(vms, s2mmu_nr_vms());
	close(cfd);
	EXPECT_EQ(vms - 1, s2mmu_wait_nr_vms(vms - 1, 2000));
}

#define FA_GPA	0x80000000ULL

/*
 * Translate @gpa: 0 if not mapped; else 1, plus 1 if Accessed, plus 4 if
 * writable.
 */
static int fa_state(int vcpu, __u64 gpa)
{
	struct s2mmu_translation t;

	if (s2mmu_translate(vcpu, gpa, &t) || !t.present)
		return 0;
	return 1 + !!t.accessed + 4 * !!t.writable;
}

/*
 * S2MMU_CAP_FAULT_AROUND: a read fault maps up to N frames after its own
 * (the host maps all of them here), read-only and without Accessed,
 * counted in pf_prefetched and not as faults; the guest then reads them
 * without a fault, and a write to one takes a fault that maps it
 * writable.  A write fault, and a read with the capability off, map their
 * own frame only; a count above the answer of CHECK_EXTENSION, or flags,
 * are -EINVAL.
 */
TEST_F(stats, fault_around)
{
	const __u32 cap = S2MMU_CAP_FAULT_AROUND;
	char *mem = small_mem(16), buf[8] = { 0 };
	int cfd, dev, max, i;
	__u64 taken;

	ASSERT_NE(NULL, mem);
	cfd = stats_fd(self->vcpu);
	ASSERT_LE(0, cfd);
	max = s2mmu_check_extension(self->vm, cap);
	EXPECT_LE(7, max);
	dev = s2mmu_open();
	ASSERT_LE(0, dev);
	EXPECT_EQ(max, s2mmu_check_extension(dev, cap));
	close(dev);
	EXPECT_EQ(-EINVAL, s2mmu_enable_cap(self->vm, cap, 0, max + 1));
	EXPECT_EQ(-EINVAL, s2mmu_enable_cap(self->vm, cap, 1, 4));
	EXPECT_EQ(0, s2mmu_enable_cap(self->vm, cap, 0, max));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, FA_GPA, 16 * PG,
				      (unsigned long)mem));
	ASSERT_EQ(0, s2mmu_enable_cap(self->vm, cap, 0, 7));

	taken = stat_get(cfd, "pf_taken", 0);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    FA_GPA, buf, 8));
	EXPECT_EQ(taken + 1, stat_get(cfd, "pf_taken", 0));
	EXPECT_EQ(7, stat_get(cfd, "pf_prefetched", 0));
	/* The fault's own frame writable (the host's is), the rest not. */
	for (i = 0; i < 10; i++)
		EXPECT_EQ(i == 0 ? 6 : i < 8 ? 1 : 0,
			  fa_state(self->vcpu, FA_GPA + i * PG))
			TH_LOG("page %d", i);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_touch(self->vcpu, self->run,
						     FA_GPA + PG, 7 * PG,
						     false, PG, 1));
	EXPECT_EQ(taken + 1, stat_get(cfd, "pf_taken", 0));
	EXPECT_EQ(2, fa_state(self->vcpu, FA_GPA + 7 * PG));
	/* A write to a prefetched frame faults once and maps it writable. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     FA_GPA + 5 * PG, buf, 8));
	EXPECT_EQ(taken + 2, stat_get(cfd, "pf_taken", 0));
	EXPECT_EQ(6, fa_state(self->vcpu, FA_GPA + 5 * PG));
	EXPECT_EQ(0, memcmp(mem + 5 * PG, buf, 8));

	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     FA_GPA + 9 * PG, buf, 8));
	EXPECT_EQ(0, fa_state(self->vcpu, FA_GPA + 10 * PG));
	ASSERT_EQ(0, s2mmu_enable_cap(self->vm, cap, 0, 0));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    FA_GPA + 12 * PG, buf, 8));
	EXPECT_EQ(0, fa_state(self->vcpu, FA_GPA + 13 * PG));
	EXPECT_EQ(7, stat_get(cfd, "pf_prefetched", 0));
	EXPECT_EQ(taken + 4, stat_get(cfd, "pf_taken", 0));
	close(cfd);
	EXPECT_EQ(0, munmap(mem, 16 * PG));
}

/*
 * A known workload: pre-faults, a second pre-fault of mapped memory
 * (spurious), accesses through the TLB (no fault), and an munmap while
 * the vCPU is idle (a shootdown that waits for nobody, then one TLB
 * flush on the next entry).
 */
TEST_F(stats, fault_and_flush_counts)
{
	struct s2mmu_pre_fault_memory r;
	__u64 taken, fixed, spurious, hist = 0;
	__u64 req, kicked, flush, zaps, inval;
	unsigned int i;
	char buf[8];
	int vfd, cfd;

	vfd = stats_fd(self->vm);
	cfd = stats_fd(self->vcpu);
	ASSERT_LE(0, vfd);
	ASSERT_LE(0, cfd);
	/* The setup's read touch faulted each of the 16 pages once. */
	EXPECT_EQ(16, stat_get(cfd, "pf_taken", 0));
	EXPECT_EQ(16, stat_get(cfd, "pf_fixed", 0));
	EXPECT_EQ(0, stat_get(cfd, "pf_spurious", 0));
	EXPECT_EQ(self->run->stat_faults, 16);

	/* Mapped memory: each pre-fault finds its leaf. */
	r = (struct s2mmu_pre_fault_memory){ .gpa = GPA_BASE, .size = self->size };
	ASSERT_EQ(0, s2mmu_pre_fault(self->vcpu, &r));
	EXPECT_EQ(0, r.size);
	taken = stat_get(cfd, "pf_taken", 0);
	fixed = stat_get(cfd, "pf_fixed", 0);
	spurious = stat_get(cfd, "pf_spurious", 0);
	EXPECT_EQ(32, taken);
	EXPECT_EQ(16, fixed);
	EXPECT_EQ(16, spurious);
	/* Every fault taken is in the latency histogram once. */
	for (i = 0; i < 32; i++)
		hist += stat_get(cfd, "fault_latency_hist", i);
	EXPECT_EQ(taken, hist);
	EXPECT_EQ(~0ULL, stat_get(cfd, "fault_latency_hist", 32));

	/* Accesses through the tables take no fault. */
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE,
				       self->size, false, PG, 3));
	EXPECT_EQ(taken, stat_get(cfd, "pf_taken", 0));
	EXPECT_EQ(fixed + spurious, self->run->stat_faults);
	flush = stat_get(cfd, "tlb_flush", 0);
	EXPECT_EQ(self->run->stat_tlb_flushes, flush);
	EXPECT_EQ(self->run->stat_tlb_misses, stat_get(cfd, "tlb_misses", 0));

	/* The host takes a mapped page away while the vCPU is idle. */
	req = stat_get(vfd, "remote_tlb_flush_requests", 0);
	kicked = stat_get(vfd, "remote_tlb_flush", 0);
	zaps = stat_get(vfd, "zaps", 0);
	inval = stat_get(vfd, "invalidations", 0);
	ASSERT_EQ(0, madvise(self->mem + 5 * PG, PG, MADV_DONTNEED));
	EXPECT_EQ(inval + 1, stat_get(vfd, "invalidations", 0));
	EXPECT_EQ(zaps + 1, stat_get(vfd, "zaps", 0));
	EXPECT_LT(req, stat_get(vfd, "remote_tlb_flush_requests", 0));
	EXPECT_EQ(kicked, stat_get(vfd, "remote_tlb_flush", 0));
	EXPECT_EQ(15, stat_get(vfd, "pages_4k", 0));
	EXPECT_EQ(flush, stat_get(cfd, "tlb_flush", 0));
	/* The next entry acknowledges the request: one flush, once. */
	ASSERT_EQ(0, s2mmu_guest_read(self->vcpu, self->run, GPA_BASE, buf, 8));
	EXPECT_EQ(flush + 1, stat_get(cfd, "tlb_flush", 0));
	ASSERT_EQ(0, s2mmu_guest_read(self->vcpu, self->run, GPA_BASE, buf, 8));
	EXPECT_EQ(flush + 1, stat_get(cfd, "tlb_flush", 0));
	EXPECT_EQ(taken, stat_get(cfd, "pf_taken", 0));
	/* The zapped page faults again. */
	ASSERT_EQ(0, s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + 5 * PG,
				      buf, 8));
	EXPECT_EQ(taken + 1, stat_get(cfd, "pf_taken", 0));
	EXPECT_EQ(fixed + 1, stat_get(cfd, "pf_fixed", 0));
	EXPECT_EQ(16, stat_get(vfd, "pages_4k", 0));
	close(vfd);
	close(cfd);
}

/*
 * The per-level leaf counts against what S2MMU_TRANSLATE finds page by
 * page and S2MMU_CHECK_INVARIANTS' walk counts, on small pages, THP and
 * hugetlb, after faults and after zaps.
 */
FIXTURE(leaves) {
	int vm, vcpu, sfd;
	struct s2mmu_run *run;
	char *mem;
	size_t size;
	long old_nr_hugepages;
	bool hugetlb;
};

FIXTURE_VARIANT(leaves) {
	int kind;		/* 0: 4 KiB, 1: THP, 2: hugetlb */
};

FIXTURE_VARIANT_ADD(leaves, small) { .kind = 0 };
FIXTURE_VARIANT_ADD(leaves, thp) { .kind = 1 };
FIXTURE_VARIANT_ADD(leaves, hugetlb) { .kind = 2 };

#define LEAVES_HPAGES	4

FIXTURE_SETUP(leaves)
{
	self->vm = -1;
	self->vcpu = -1;
	self->sfd = -1;
	self->old_nr_hugepages = -1;
	self->size = LEAVES_HPAGES * HPAGE;
	if (variant->kind == 2) {
		self->old_nr_hugepages = s2mmu_read_long(NR_HUGEPAGES);
		if (self->old_nr_hugepages < LEAVES_HPAGES)
			s2mmu_set_knob(NR_HUGEPAGES, LEAVES_HPAGES);
		self->mem = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
				 -1, 0);
		if (self->mem == MAP_FAILED) {
			self->mem = NULL;
			SKIP(return, "no hugetlb pages");
		}
		self->hugetlb = true;
	} else {
		if (variant->kind == 1 && !s2mmu_thp_available())
			SKIP(return, "THP not available");
		self->mem = s2mmu_alloc_aligned(self->size, HPAGE);
		ASSERT_NE(NULL, self->mem);
		madvise(self->mem, self->size, variant->kind ? MADV_HUGEPAGE :
							       MADV_NOHUGEPAGE);
	}
	memset(self->mem, 0x3c, self->size);
	s2mmu_setup_guest(_metadata, S2MMU_VM_X86_TDP, self->mem, GPA_BASE,
			  self->size, &self->vm, &self->vcpu, &self->run);
	self->sfd = stats_fd(self->vm);
	ASSERT_LE(0, self->sfd);
}

FIXTURE_TEARDOWN(leaves)
{
	if (self->sfd >= 0)
		close(self->sfd);
	if (self->vm >= 0)
		s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
				     self->mem, self->size);
	else if (self->mem)
		munmap(self->mem, self->size);
	if (self->old_nr_hugepages >= 0)
		s2mmu_set_knob(NR_HUGEPAGES, self->old_nr_hugepages);
}

/* Count the leaves by level with S2MMU_TRANSLATE; compare the stats. */
static void leaves_compare(struct __test_metadata *_metadata,
			   struct _test_data_leaves *self)
{
	static const char *const names[] = { "pages_4k", "pages_2m", "pages_1g" };
	__u64 seen[3] = { 0 }, total = 0, gpa;
	struct s2mmu_translation t;
	struct s2mmu_invariants inv;
	struct s2mmu_vm_info info;
	unsigned int l;

	for (gpa = GPA_BASE; gpa < GPA_BASE + self->size; gpa += PG) {
		ASSERT_EQ(0, s2mmu_translate(self->vcpu, gpa, &t));
		if (!t.present)
			continue;
		ASSERT_GT(3, t.level);
		/* Count each leaf at its first page. */
		if (!(gpa & ((1ULL << (12 + 9 * t.level)) - 1)))
			seen[t.level]++;
	}
	for (l = 0; l < 3; l++) {
		EXPECT_EQ(seen[l], stat_get(self->sfd, names[l], 0))
			TH_LOG("%s", names[l]);
		total += stat_get(self->sfd, names[l], 0);
	}
	ASSERT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(inv.leaves, total);
	EXPECT_EQ(inv.tables, stat_get(self->sfd, "table_pages", 0));
	ASSERT_EQ(0, s2mmu_vm_info(self->vm, &info));
	EXPECT_EQ(info.stat_table_pages, stat_get(self->sfd, "table_pages", 0));
	EXPECT_EQ(info.stat_zaps, stat_get(self->sfd, "zaps", 0));
	EXPECT_EQ(info.stat_invalidations,
		  stat_get(self->sfd, "invalidations", 0));
	EXPECT_EQ(info.stat_remote_tlb_flushes,
		  stat_get(self->sfd, "remote_tlb_flush_requests", 0));
	TH_LOG("leaves: %llu 4k, %llu 2m, %llu 1g",
	       (unsigned long long)seen[0], (unsigned long long)seen[1],
	       (unsigned long long)seen[2]);
}

TEST_F(leaves, match_translate)
{
	struct s2mmu_translation t;
	__u64 zaps, huge;

	leaves_compare(_metadata, self);
	EXPECT_EQ(0, stat_get(self->sfd, "pages_4k", 0) +
		     stat_get(self->sfd, "pages_2m", 0));
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE,
				       self->size, true, PG, 1));
	leaves_compare(_metadata, self);
	huge = stat_get(self->sfd, "pages_2m", 0);
	if (variant->kind == 0) {
		EXPECT_EQ(self->size / PG, stat_get(self->sfd, "pages_4k", 0));
		EXPECT_EQ(0, huge);
	}
	if (variant->kind == 2)
		EXPECT_EQ(LEAVES_HPAGES, huge);
	if (variant->kind == 1 && !huge)
		TH_LOG("no THP backed the slot: 4 KiB leaves only");

	/* Zap 4 KiB of the first 2 MiB (splitting a THP on the host). */
	zaps = stat_get(self->sfd, "zaps", 0);
	if (variant->kind != 2) {
		ASSERT_EQ(0, madvise(self->mem + PG, PG, MADV_DONTNEED));
		EXPECT_LT(zaps, stat_get(self->sfd, "zaps", 0));
		leaves_compare(_metadata, self);
		zaps = stat_get(self->sfd, "zaps", 0);
	}
	/* Zap the last 2 MiB whole (the slot stays, over no memory). */
	ASSERT_EQ(0, munmap(self->mem + self->size - HPAGE, HPAGE));
	EXPECT_LT(zaps, stat_get(self->sfd, "zaps", 0));
	leaves_compare(_metadata, self);
	EXPECT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + self->size - PG,
				     &t));
	EXPECT_FALSE(t.present);
	/* Faults again after the zaps: the counts follow. */
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE,
				       self->size - HPAGE, false, PG, 1));
	leaves_compare(_metadata, self);
	self->size -= HPAGE;
	if (variant->kind == 2)
		EXPECT_EQ(LEAVES_HPAGES - 1, stat_get(self->sfd, "pages_2m", 0));
}

TEST_HARNESS_MAIN
