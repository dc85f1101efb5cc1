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
 * and the first version of S2MMU_GET_VM_INFO.  The harness unloads the
 * module after the tests, with recovery workers armed until the last VM
 * closed.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define HPAGE		S2MMU_PMD_SIZE
#define NR_HPAGES	3
#define GPA_BASE	0x40000000ULL
#define PERIOD_MS	100

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
	if (self->old_nx == 'Y' || self->old_nx == 'N')
		s2mmu_write_str(NX_PARAM, self->old_nx == 'Y' ? "Y" : "N");
	if (self->old_ratio >= 0)
		s2mmu_set_knob(RATIO_PARAM, self->old_ratio);
	if (self->old_period >= 0)
		s2mmu_set_knob(PERIOD_PARAM, self->old_period);
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
