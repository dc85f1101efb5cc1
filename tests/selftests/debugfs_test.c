// SPDX-License-Identifier: GPL-2.0
/*
 * The per-VM debugfs directory /sys/kernel/debug/s2mmu/<pid>-<fd>/
 * (mmu/debugfs.c, Documentation/trace.rst): the counters move with a
 * known workload, the "tables" dump agrees with S2MMU_TRANSLATE leaf by
 * leaf at 4 KiB and 2 MiB, the files are root's only, a file open when
 * the VM goes reads an error and never the freed VM, and a name already
 * taken leaves the new VM working without a directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define DF_ROOT		"/sys/kernel/debug/s2mmu"
#define DF_PAGES	32
#define DF_GPA		0x100000000ULL

struct df_leaf {
	unsigned long long start, end;
	unsigned int level;
	char size[8], prot[4], ad[4];
};

static void df_dir(char *buf, size_t len, int vm)
{
	snprintf(buf, len, DF_ROOT "/%d-%d", getpid(), vm);
}

/* A counter of @vm's directory, or -1. */
static long df_counter(int vm, const char *name)
{
	char path[256];

	df_dir(path, sizeof(path), vm);
	strncat(path, "/", sizeof(path) - strlen(path) - 1);
	strncat(path, name, sizeof(path) - strlen(path) - 1);
	return s2mmu_read_long(path);
}

/* Parse @vm's "tables" into @l (at most @max lines); the count or -1. */
static int df_tables(int vm, struct df_leaf *l, int max)
{
	char path[256], line[256];
	int n = 0;
	FILE *f;

	df_dir(path, sizeof(path), vm);
	strncat(path, "/tables", sizeof(path) - strlen(path) - 1);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (n == max ||
		    sscanf(line, "%llx-%llx %u %7s %3s %3s", &l[n].start,
			   &l[n].end, &l[n].level, l[n].size, l[n].prot,
			   l[n].ad) != 6) {
			n = -1;
			break;
		}
		n++;
	}
	fclose(f);
	return n;
}

/* Does the dump line @l say what TRANSLATE says about its first page? */
static void df_check_leaf(struct __test_metadata *_metadata, int vcpu,
			  const struct df_leaf *l)
{
	static const char * const sizes[] = { "4K", "2M", "1G" };
	struct s2mmu_translation t;

	ASSERT_EQ(0, s2mmu_translate(vcpu, l->start, &t));
	ASSERT_TRUE(t.present) TH_LOG("%llx dumped, not present", l->start);
	EXPECT_EQ(t.level, l->level);
	ASSERT_GT(3, l->level);
	EXPECT_STREQ(sizes[l->level], l->size);
	EXPECT_EQ(l->end - l->start, 4096ULL << (9 * l->level));
	EXPECT_EQ(0, l->start & (l->end - l->start - 1));
	EXPECT_EQ('r', l->prot[0]);
	EXPECT_EQ(t.writable ? 'w' : '-', l->prot[1]);
	EXPECT_EQ(t.executable ? 'x' : '-', l->prot[2]);
	EXPECT_EQ(t.accessed ? 'A' : '-', l->ad[0]);
	EXPECT_EQ(t.dirty ? 'D' : '-', l->ad[1]);
}

FIXTURE(debugfs) {
	int vm, vcpu;
	struct s2mmu_run *run;
	char *mem;
};

FIXTURE_VARIANT(debugfs) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(debugfs, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(debugfs, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(debugfs)
{
	char dir[128];

	self->vm = -1;
	self->vcpu = -1;
	self->run = NULL;
	self->mem = NULL;
	if (access(DF_ROOT, X_OK))
		SKIP(return, "no %s (debugfs not mounted?)", DF_ROOT);
	self->mem = s2mmu_mmap_filled(_metadata, DF_PAGES);
	ASSERT_EQ(0, madvise(self->mem, DF_PAGES * S2MMU_PAGE_SIZE,
			     MADV_NOHUGEPAGE));
	s2mmu_setup_guest(_metadata, variant->type, self->mem, DF_GPA,
			  DF_PAGES * S2MMU_PAGE_SIZE, &self->vm, &self->vcpu,
			  &self->run);
	df_dir(dir, sizeof(dir), self->vm);
	ASSERT_EQ(0, access(dir, X_OK)) TH_LOG("%s: %s", dir, strerror(errno));
}

FIXTURE_TEARDOWN(debugfs)
{
	if (self->vm < 0 && self->vcpu < 0) {
		if (self->mem)
			munmap(self->mem, DF_PAGES * S2MMU_PAGE_SIZE);
		return;
	}
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, DF_PAGES * S2MMU_PAGE_SIZE);
}

/* Root's only: every file 0400. */
TEST_F(debugfs, modes)
{
	static const char * const files[] = {
		"tables", "pf_fixed", "pages_4k", "invalidations",
		"remote_tlb_flush_requests", "table_pages", "age_calls",
	};
	char path[256];
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		df_dir(path, sizeof(path), self->vm);
		strncat(path, "/", sizeof(path) - strlen(path) - 1);
		strncat(path, files[i], sizeof(path) - strlen(path) - 1);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s", path);
		EXPECT_EQ(0400, st.st_mode & 07777) TH_LOG("%s", path);
		EXPECT_EQ(0, st.st_uid);
	}
}

/*
 * The counters follow a known workload: n faults of distinct pages make
 * faults and pages_4k move by n; a munmap of the slot counts one
 * invalidation, a zap and a remote TLB flush, and leaves no leaf.
 */
TEST_F(debugfs, counters)
{
	long faults, inval, zaps, flushes;
	int i;

	EXPECT_EQ(0, df_counter(self->vm, "pages_4k"));
	faults = df_counter(self->vm, "pf_fixed");
	ASSERT_LE(0, faults);
	for (i = 0; i < DF_PAGES; i += 2)
		ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run,
					       DF_GPA + i * S2MMU_PAGE_SIZE,
					       S2MMU_PAGE_SIZE, false, 0, 1));
	EXPECT_EQ(faults + DF_PAGES / 2, df_counter(self->vm, "pf_fixed"));
	EXPECT_EQ(DF_PAGES / 2, df_counter(self->vm, "pages_4k"));
	EXPECT_EQ(0, df_counter(self->vm, "pages_2m"));
	EXPECT_LT(0, df_counter(self->vm, "table_pages"));

	inval = df_counter(self->vm, "invalidations");
	zaps = df_counter(self->vm, "zaps");
	flushes = df_counter(self->vm, "remote_tlb_flush_requests");
	ASSERT_EQ(0, munmap(self->mem, DF_PAGES * S2MMU_PAGE_SIZE));
	self->mem = NULL;
	EXPECT_EQ(inval + 1, df_counter(self->vm, "invalidations"));
	EXPECT_EQ(zaps + 1, df_counter(self->vm, "zaps"));
	EXPECT_LE(flushes + 1, df_counter(self->vm, "remote_tlb_flush_requests"));
	EXPECT_EQ(0, df_counter(self->vm, "pages_4k"));
}

/* The dump at 4 KiB: one line per page faulted, each as TRANSLATE. */
TEST_F(debugfs, tables_4k)
{
	struct df_leaf l[DF_PAGES + 1];
	int i, n;

	ASSERT_EQ(0, df_tables(self->vm, l, DF_PAGES + 1));
	/* Every third page: reads, writes of every other one of them. */
	for (i = 0; i < DF_PAGES; i += 3) {
		__u64 gpa = DF_GPA + i * S2MMU_PAGE_SIZE;
		char buf[8] = "";

		int ret = i % 2 ?
			s2mmu_guest_write(self->vcpu, self->run, gpa, buf,
					  sizeof(buf)) :
			s2mmu_guest_read(self->vcpu, self->run, gpa, buf,
					 sizeof(buf));

		ASSERT_EQ(0, ret);
	}
	n = df_tables(self->vm, l, DF_PAGES + 1);
	ASSERT_EQ((DF_PAGES + 2) / 3, n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(DF_GPA + i * 3 * S2MMU_PAGE_SIZE, l[i].start);
		EXPECT_EQ(0, l[i].level);
		df_check_leaf(_metadata, self->vcpu, &l[i]);
		EXPECT_EQ('A', l[i].ad[0]);
		EXPECT_TRUE((i * 3) % 2 == 0 || l[i].ad[1] == 'D');
	}
}

/* The dump at 2 MiB: a THP-backed slot faulted once is one 2M line. */
TEST_F(debugfs, tables_2m)
{
	size_t size = 2 * S2MMU_PMD_SIZE;
	__u64 gpa = 0x200000000ULL;
	struct df_leaf l[8];
	char *huge;
	int n, i;

	if (!s2mmu_thp_available())
		SKIP(return, "no transparent huge pages");
	huge = s2mmu_alloc_aligned(size, S2MMU_PMD_SIZE);
	ASSERT_NE(NULL, huge);
	ASSERT_EQ(0, madvise(huge, size, MADV_HUGEPAGE));
	memset(huge, 1, size);
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, gpa, size,
				      (unsigned long)huge));
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run,
				       gpa + S2MMU_PMD_SIZE + 5 * S2MMU_PAGE_SIZE,
				       S2MMU_PAGE_SIZE, false, 0, 1));
	n = df_tables(self->vm, l, 8);
	ASSERT_EQ(1, n);
	if (l[0].level == 0) {
		munmap(huge, size);
		SKIP(return, "the host did not back the slot with a THP");
	}
	EXPECT_EQ(gpa + S2MMU_PMD_SIZE, l[0].start);
	EXPECT_EQ(1, l[0].level);
	df_check_leaf(_metadata, self->vcpu, &l[0]);
	EXPECT_EQ(1, df_counter(self->vm, "pages_2m"));
	/* And one 4 KiB leaf of the first slot beside it, in gpa order. */
	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, DF_GPA,
				       S2MMU_PAGE_SIZE, false, 0, 1));
	n = df_tables(self->vm, l, 8);
	ASSERT_EQ(2, n);
	EXPECT_EQ(DF_GPA, l[0].start);
	EXPECT_EQ(gpa + S2MMU_PMD_SIZE, l[1].start);
	for (i = 0; i < n; i++)
		df_check_leaf(_metadata, self->vcpu, &l[i]);
	ASSERT_EQ(0, s2mmu_delete_region(self->vm, 1));
	munmap(huge, size);
}

/*
 * Files open when the VM is destroyed: reading them then fails (-EIO)
 * instead of reaching the freed VM (KASAN on the debug kernel), and the
 * directory is gone.
 */
TEST_F(debugfs, open_outlives_vm)
{
	char dir[128], path[256], buf[4096];
	int tables, faults;
	long vms;

	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, DF_GPA,
				       S2MMU_PAGE_SIZE, false, 0, 1));
	df_dir(dir, sizeof(dir), self->vm);
	snprintf(path, sizeof(path), "%s/tables", dir);
	tables = open(path, O_RDONLY);
	ASSERT_LE(0, tables);
	snprintf(path, sizeof(path), "%s/pf_fixed", dir);
	faults = open(path, O_RDONLY);
	ASSERT_LE(0, faults);
	/* A first short read leaves the dump mid-way. */
	ASSERT_LT(0, read(tables, buf, 10));

	vms = s2mmu_nr_vms();
	s2mmu_unmap_run(self->run);
	self->run = NULL;
	close(self->vcpu);
	close(self->vm);
	self->vcpu = -1;
	self->vm = -1;
	ASSERT_EQ(vms - 1, s2mmu_wait_nr_vms(vms - 1, 5000));
	EXPECT_NE(0, access(dir, F_OK));

	EXPECT_EQ(-1, read(tables, buf, sizeof(buf)));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-1, read(faults, buf, sizeof(buf)));
	EXPECT_EQ(EIO, errno);
	close(tables);
	close(faults);
}

/*
 * A name already taken is not fatal: the vCPU fd keeps a VM alive after
 * its VM fd closed, the next VM gets the same fd number, works, and has
 * no directory (the old one stays the old VM's).
 */
TEST_F(debugfs, name_taken)
{
	int old_vm = self->vm, dev, vm2, vcpu2;
	long vms = s2mmu_nr_vms();
	struct s2mmu_run *run2;
	char dir[128];

	ASSERT_EQ(0, s2mmu_guest_touch(self->vcpu, self->run, DF_GPA,
				       S2MMU_PAGE_SIZE, false, 0, 1));
	/* The device fd first, so the VM fd is the lowest free: old_vm's. */
	dev = s2mmu_open();
	ASSERT_LE(0, dev);
	close(self->vm);
	self->vm = -1;
	vm2 = ioctl(dev, S2MMU_CREATE_VM, variant->type);
	close(dev);
	ASSERT_EQ(old_vm, vm2) TH_LOG("the fd number was not reused");
	df_dir(dir, sizeof(dir), vm2);
	/* Still the first VM's: it has its one leaf. */
	EXPECT_EQ(1, df_counter(vm2, "pages_4k"));
	ASSERT_EQ(0, s2mmu_set_region(vm2, 0, 0, DF_GPA,
				      DF_PAGES * S2MMU_PAGE_SIZE,
				      (unsigned long)self->mem));
	vcpu2 = s2mmu_create_vcpu(vm2, 0);
	ASSERT_LE(0, vcpu2);
	run2 = s2mmu_map_run(vcpu2);
	ASSERT_NE(NULL, run2);
	ASSERT_EQ(0, s2mmu_guest_touch(vcpu2, run2, DF_GPA,
				       4 * S2MMU_PAGE_SIZE, false, 0, 1));
	EXPECT_EQ(1, df_counter(vm2, "pages_4k"));
	s2mmu_unmap_run(run2);
	close(vcpu2);
	close(vm2);
	/* The first VM goes with its vCPU fd, and its directory with it. */
	s2mmu_unmap_run(self->run);
	self->run = NULL;
	close(self->vcpu);
	self->vcpu = -1;
	EXPECT_EQ(vms - 1, s2mmu_wait_nr_vms(vms - 1, 5000));
	EXPECT_NE(0, access(dir, F_OK));
}

/* Unprivileged users cannot read a VM's files. */
TEST_F(debugfs, not_for_users)
{
	char path[256];
	int status;
	pid_t pid;

	df_dir(path, sizeof(path), self->vm);
	strncat(path, "/tables", sizeof(path) - strlen(path) - 1);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(1000) || setuid(1000))
			_exit(2);
		_exit(open(path, O_RDONLY) < 0 && errno == EACCES ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("uid 1000 could open %s (status %#x)", path, status);
}

TEST_HARNESS_MAIN
