// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu bad input: what memslot_test and vcpu_test do not already cover.
 *
 * - Every ioctl with a wrong _IOC size or direction, or on the wrong fd:
 *   -ENOTTY.
 * - NULL, small, kernel, unmapped, PROT_NONE, page-straddling and
 *   read-only structure pointers: -EFAULT; unaligned valid ones work.
 * - Unaligned guest addresses and addresses at the top of the guest
 *   space; vCPU and slot ids with any single high bit set.
 * - Padding: rejected on input where the ABI says so, zero on output.
 * - Slots over host memory a guest cannot use: PROT_NONE, VM_IO/PFNMAP
 *   (/dev/mem), another vCPU's run page, an address only another process
 *   maps: accepted, and accesses exit with a memory fault (or, for the
 *   run page, see its data), never crash.
 * - Huge access lengths, and accesses that cross slot boundaries.
 *
 * Each case checks its specific errno or exit, and that the VM still
 * works afterwards.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define NPAGES		16
#define GPA_BASE	0x40000000ULL
#define GPA_FAR		0x80000000ULL
#define KERNEL_PTR	0xffff888000000000UL

FIXTURE(bad) {
	int dev, vm, vcpu;
	struct s2mmu_run *run;
	char *mem;
	__u64 max_gpa;
	int cases;
};

FIXTURE_VARIANT(bad) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(bad, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(bad, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(bad)
{
	struct s2mmu_vm_info info;

	self->vm = -1;
	self->vcpu = -1;
	self->run = NULL;
	self->cases = 0;
	self->mem = s2mmu_mmap_filled(_metadata, NPAGES);
	self->dev = s2mmu_open();
	ASSERT_LE(0, self->dev);
	self->vm = ioctl(self->dev, S2MMU_CREATE_VM, variant->type);
	ASSERT_LE(0, self->vm);
	ASSERT_EQ(0, s2mmu_vm_info(self->vm, &info));
	self->max_gpa = info.max_gpa;
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, NPAGES * PG,
				      (unsigned long)self->mem));
	self->vcpu = s2mmu_create_vcpu(self->vm, 0);
	ASSERT_LE(0, self->vcpu);
	self->run = s2mmu_map_run(self->vcpu);
	ASSERT_NE(NULL, self->run);
}

FIXTURE_TEARDOWN(bad)
{
	if (self->cases)
		TH_LOG("%d bad-input cases", self->cases);
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, NPAGES * PG);
	close(self->dev);
}

/* The VM still works: a guest read and write of slot 0. */
static bool usable(int vm, int vcpu, struct s2mmu_run *run, char *mem)
{
	struct s2mmu_invariants inv;
	char buf[PG];

	if (s2mmu_guest_read(vcpu, run, GPA_BASE + 3 * PG, buf, PG) !=
	    S2MMU_EXIT_DONE || !s2mmu_check_page(buf, 3))
		return false;
	s2mmu_fill_page(buf, 1003);
	if (s2mmu_guest_write(vcpu, run, GPA_BASE + 4 * PG, buf, PG) !=
	    S2MMU_EXIT_DONE || !s2mmu_check_page(mem + 4 * PG, 1003))
		return false;
	s2mmu_fill_page(mem + 4 * PG, 4);
	return s2mmu_check_invariants(vm, &inv) == 0;
}

#define USABLE() usable(self->vm, self->vcpu, self->run, self->mem)

/* ioctl() that must fail with @err; counts the case. */
#define EXPECT_ERRNO(err, fd, cmd, arg) do {				\
	unsigned long __cmd = (cmd);					\
	int __ret;							\
									\
	errno = 0;							\
	__ret = ioctl(fd, __cmd, arg);					\
	EXPECT_EQ(-1, __ret) TH_LOG("%s(%#lx) succeeded", #cmd, __cmd);	\
	EXPECT_EQ(err, errno) TH_LOG("%s(%#lx): %s", #cmd, __cmd,	\
				     strerror(errno));			\
	self->cases++;							\
} while (0)

/* Change the size field of @cmd to @size. */
static unsigned int resize(unsigned int cmd, unsigned int size)
{
	return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
}

static unsigned int redir(unsigned int cmd, unsigned int dir)
{
	return _IOC(dir, _IOC_TYPE(cmd), _IOC_NR(cmd), _IOC_SIZE(cmd));
}

TEST_F(bad, wrong_ioctl_size_or_fd)
{
	static const unsigned int vm_cmds[] = {
		S2MMU_GET_VM_INFO, S2MMU_SET_MEMORY_REGION, S2MMU_CREATE_VCPU,
		S2MMU_CHECK_INVARIANTS,
	};
	static const unsigned int vcpu_cmds[] = {
		S2MMU_RUN, S2MMU_PRE_FAULT_MEMORY, S2MMU_TRANSLATE,
	};
	static const unsigned int sys_cmds[] = {
		S2MMU_GET_API_VERSION, S2MMU_CREATE_VM,
	};
	static const unsigned int sizes[] = { 0, 1, 4, 8, 24, 32, 40, 64, 128, 4096 };
	char buf[PG] = { 0 };
	unsigned int i, j, d, cmd;

	for (i = 0; i < ARRAY_SIZE(vm_cmds) + ARRAY_SIZE(vcpu_cmds) +
			ARRAY_SIZE(sys_cmds); i++) {
		bool is_vm = i < ARRAY_SIZE(vm_cmds);
		bool is_vcpu = !is_vm && i < ARRAY_SIZE(vm_cmds) +
					      ARRAY_SIZE(vcpu_cmds);
		int fd = is_vm ? self->vm : is_vcpu ? self->vcpu : self->dev;

		cmd = is_vm ? vm_cmds[i] : is_vcpu ?
		      vcpu_cmds[i - ARRAY_SIZE(vm_cmds)] :
		      sys_cmds[i - ARRAY_SIZE(vm_cmds) - ARRAY_SIZE(vcpu_cmds)];
		for (j = 0; j < ARRAY_SIZE(sizes); j++)
			if (sizes[j] != _IOC_SIZE(cmd))
				EXPECT_ERRNO(ENOTTY, fd, resize(cmd, sizes[j]), buf);
		for (d = 0; d < 4; d++)
			if (d != _IOC_DIR(cmd))
				EXPECT_ERRNO(ENOTTY, fd, redir(cmd, d), buf);
		/* The right number on the wrong kind of fd. */
		if (!is_vm)
			EXPECT_ERRNO(ENOTTY, self->vm, cmd, buf);
		if (!is_vcpu)
			EXPECT_ERRNO(ENOTTY, self->vcpu, cmd, buf);
		if (is_vm || is_vcpu)
			EXPECT_ERRNO(ENOTTY, self->dev, cmd, buf);
	}
	EXPECT_TRUE(USABLE());
}

/* Pointers a structure cannot be read from / written to. */
struct bad_ptrs {
	/* page 0 RW, page 1 unmapped, page 2 PROT_NONE, page 3 read-only */
	char *area;
	void *p[6];
};

static void bad_ptrs_init(struct bad_ptrs *b)
{
	b->area = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->area == MAP_FAILED)
		return;
	munmap(b->area + PG, PG);
	mprotect(b->area + 2 * PG, PG, PROT_NONE);
	mprotect(b->area + 3 * PG, PG, PROT_READ);
	b->p[0] = NULL;
	b->p[1] = (void *)16UL;
	b->p[2] = (void *)KERNEL_PTR;
	b->p[3] = b->area + PG;			/* unmapped */
	b->p[4] = b->area + 2 * PG;		/* PROT_NONE */
	b->p[5] = b->area + PG - 8;		/* runs into the hole */
}

TEST_F(bad, bad_struct_pointers)
{
	static const unsigned int cmds[] = {
		S2MMU_GET_VM_INFO, S2MMU_SET_MEMORY_REGION,
		S2MMU_CHECK_INVARIANTS, S2MMU_RUN, S2MMU_PRE_FAULT_MEMORY,
		S2MMU_TRANSLATE,
	};
	struct s2mmu_translation *t;
	struct s2mmu_pre_fault_memory *pf;
	struct s2mmu_access a = {
		.gpa = GPA_BASE, .len = 8, .op = S2MMU_OP_TOUCH,
	};
	struct s2mmu_run *r;
	struct bad_ptrs b;
	char *ro, *odd;
	unsigned int i, j;
	int fd;

	bad_ptrs_init(&b);
	ASSERT_NE(MAP_FAILED, b.area);
	a.uaddr = 0;
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		fd = _IOC_TYPE(cmds[i]) == S2MMUIO && _IOC_NR(cmds[i]) >= 0x20 ?
		     self->vcpu : self->vm;
		for (j = 0; j < ARRAY_SIZE(b.p); j++) {
			/* RUN's argument 0 is the run page, not NULL. */
			if (cmds[i] == S2MMU_RUN && !b.p[j])
				continue;
			EXPECT_ERRNO(EFAULT, fd, cmds[i], b.p[j]);
		}
	}

	/*
	 * Valid input in a read-only page: output ioctls fail with -EFAULT
	 * when writing back.  Prepare each structure, then write-protect.
	 */
	ro = b.area + 3 * PG;
	ASSERT_EQ(0, mprotect(ro, PG, PROT_READ | PROT_WRITE));
	memset(ro, 0, PG);
	t = (void *)ro;
	t->gpa = GPA_BASE;
	pf = (void *)(ro + 256);
	pf->gpa = GPA_BASE + PG;
	pf->size = PG;
	r = (void *)(ro + 512);
	r->accesses = (unsigned long)&a;
	r->nr_accesses = 1;
	ASSERT_EQ(0, mprotect(ro, PG, PROT_READ));
	EXPECT_ERRNO(EFAULT, self->vcpu, S2MMU_TRANSLATE, t);
	EXPECT_ERRNO(EFAULT, self->vcpu, S2MMU_PRE_FAULT_MEMORY, pf);
	EXPECT_ERRNO(EFAULT, self->vcpu, S2MMU_RUN, r);
	EXPECT_ERRNO(EFAULT, self->vm, S2MMU_GET_VM_INFO, ro);
	EXPECT_ERRNO(EFAULT, self->vm, S2MMU_CHECK_INVARIANTS, ro);

	/* Valid, unaligned pointers are fine. */
	ASSERT_EQ(0, mprotect(ro, PG, PROT_READ | PROT_WRITE));
	odd = b.area + 1;
	memset(odd, 0, 256);
	EXPECT_EQ(0, ioctl(self->vm, S2MMU_GET_VM_INFO, odd));
	EXPECT_EQ(variant->type, ((struct s2mmu_vm_info *)odd)->type);
	EXPECT_EQ(0, ioctl(self->vm, S2MMU_CHECK_INVARIANTS, odd));
	memset(odd, 0, 256);
	((struct s2mmu_translation *)odd)->gpa = GPA_BASE;
	EXPECT_EQ(0, ioctl(self->vcpu, S2MMU_TRANSLATE, odd));
	memset(odd, 0, 256);
	((struct s2mmu_run *)odd)->accesses = (unsigned long)&a;
	((struct s2mmu_run *)odd)->nr_accesses = 1;
	EXPECT_EQ(0, ioctl(self->vcpu, S2MMU_RUN, odd));
	EXPECT_EQ(S2MMU_EXIT_DONE, ((struct s2mmu_run *)odd)->exit_reason);
	memset(odd, 0, 256);
	((struct s2mmu_memory_region *)odd)->slot = 7;
	((struct s2mmu_memory_region *)odd)->guest_phys_addr = GPA_FAR;
	((struct s2mmu_memory_region *)odd)->memory_size = PG;
	((struct s2mmu_memory_region *)odd)->userspace_addr =
		(unsigned long)self->mem;
	EXPECT_EQ(0, ioctl(self->vm, S2MMU_SET_MEMORY_REGION, odd));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 7));
	self->cases += 6;

	/* Access lists at kernel or PROT_NONE addresses; data buffers too. */
	EXPECT_EQ(-EFAULT, s2mmu_vcpu_run(self->vcpu, self->run,
					  (void *)KERNEL_PTR, 1));
	EXPECT_EQ(-EFAULT, s2mmu_vcpu_run(self->vcpu, self->run,
					  (void *)(b.area + 2 * PG), 1));
	EXPECT_EQ(-EFAULT, s2mmu_guest_read(self->vcpu, self->run, GPA_BASE,
					    (void *)KERNEL_PTR, 8));
	EXPECT_EQ(-EFAULT, s2mmu_guest_read(self->vcpu, self->run, GPA_BASE,
					    b.area + 2 * PG, 8));
	EXPECT_EQ(-EFAULT, s2mmu_guest_write(self->vcpu, self->run, GPA_BASE,
					     b.area + 2 * PG, 8));
	/* A buffer running into the hole: the copy fails part way. */
	EXPECT_EQ(-EFAULT, s2mmu_guest_read(self->vcpu, self->run, GPA_BASE,
					    b.area + PG - 100, 200));
	EXPECT_EQ(0, self->run->done);
	self->cases += 6;
	munmap(b.area, 4 * PG);
	EXPECT_TRUE(USABLE());
}

TEST_F(bad, unaligned_and_top_addresses)
{
	struct s2mmu_pre_fault_memory pf;
	struct s2mmu_translation t;
	char buf[3 * PG], *want = self->mem + 5 * PG - 7;

	/* A read, a write and a touch starting mid-page, across pages. */
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run,
				   GPA_BASE + 5 * PG - 7, buf, 2 * PG + 13));
	EXPECT_EQ(0, memcmp(buf, want, 2 * PG + 13));
	memset(buf, 0xa5, 13);
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_BASE + 2 * PG - 5,
				    buf, 13));
	EXPECT_EQ(0, memcmp(self->mem + 2 * PG - 5, buf, 13));
	s2mmu_fill_page(self->mem + PG, 1);
	s2mmu_fill_page(self->mem + 2 * PG, 2);
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE + 3,
				    NPAGES * PG - 3, true, 4095, 2));
	self->cases += 3;

	/* TRANSLATE: an unaligned gpa reports its page; the top of the space. */
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 5 * PG + 123, &t));
	EXPECT_EQ(1, t.present);
	EXPECT_EQ(GPA_BASE + 5 * PG + 123, t.gpa);
	if (t.hpa)
		EXPECT_EQ(123, t.hpa % PG);
	EXPECT_EQ(0, s2mmu_translate(self->vcpu, self->max_gpa - 1, &t));
	EXPECT_EQ(0, t.present);
	EXPECT_EQ(-EINVAL, s2mmu_translate(self->vcpu, self->max_gpa, &t));
	EXPECT_EQ(-EINVAL, s2mmu_translate(self->vcpu, -1ULL, &t));
	EXPECT_EQ(-EINVAL, s2mmu_translate(self->vcpu, 1ULL << 63, &t));
	self->cases += 5;

	/* Accesses at and above max_gpa are MMIO (in no slot). */
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_read(self->vcpu, self->run, self->max_gpa - 4, buf,
				   8));
	EXPECT_EQ(self->max_gpa - 4, self->run->mmio.gpa);
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_read(self->vcpu, self->run, -16ULL, buf, 8));
	EXPECT_EQ(-16ULL, self->run->mmio.gpa);
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_touch(self->vcpu, self->run, 1ULL << 62, 1, false,
				    0, 0));
	self->cases += 3;

	/* PRE_FAULT past max_gpa (no wrap): nothing there, -ENOENT. */
	memset(&pf, 0, sizeof(pf));
	pf.gpa = self->max_gpa - PG;
	pf.size = 2 * PG;
	EXPECT_EQ(-ENOENT, s2mmu_pre_fault(self->vcpu, &pf));
	pf.gpa = -2 * PG;
	pf.size = PG;
	EXPECT_EQ(-ENOENT, s2mmu_pre_fault(self->vcpu, &pf));
	self->cases += 2;
	EXPECT_TRUE(USABLE());
}

TEST_F(bad, ids_with_high_bits)
{
	unsigned int k;

	for (k = 6; k < 64; k++) {
		EXPECT_EQ(-EINVAL, s2mmu_create_vcpu(self->vm, 1UL << k))
			TH_LOG("vCPU id 1 << %u", k);
		EXPECT_EQ(-EINVAL, s2mmu_create_vcpu(self->vm, (1UL << k) | 1));
		self->cases += 2;
	}
	for (k = 15; k < 32; k++) {
		EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1U << k, 0, GPA_FAR,
						    PG, (unsigned long)self->mem))
			TH_LOG("slot id 1 << %u", k);
		/* Slot 0 with a high bit is not slot 0. */
		EXPECT_EQ(-EINVAL, s2mmu_delete_region(self->vm, 1U << k));
		self->cases += 2;
	}
	/* The ids just inside still work. */
	EXPECT_LE(0, s2mmu_create_vcpu(self->vm, S2MMU_MAX_VCPUS - 1));
	EXPECT_EQ(0, s2mmu_set_region(self->vm, S2MMU_MAX_MEMSLOTS - 1, 0,
				      GPA_FAR, PG, (unsigned long)self->mem));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, S2MMU_MAX_MEMSLOTS - 1));
	EXPECT_TRUE(USABLE());
}

TEST_F(bad, padding)
{
	struct s2mmu_invariants inv;
	struct s2mmu_translation t;
	unsigned int i;
	int ret;

	/* Output padding of the run page is written as zero. */
	self->run->pad = 0xdeadbeef;
	for (i = 0; i < ARRAY_SIZE(self->run->padding); i++)
		self->run->padding[i] = ~0ULL;
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE, PG, false,
				    0, 0));
	EXPECT_EQ(0, self->run->pad);
	for (i = 0; i < ARRAY_SIZE(self->run->padding); i++)
		EXPECT_EQ(0, self->run->padding[i]) TH_LOG("padding[%u]", i);
	/* An MMIO exit's pad too. */
	self->run->mmio.pad = 0xdead;
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_FAR, PG, false,
				    0, 0));
	EXPECT_EQ(0, self->run->mmio.pad);
	self->cases += 2;

	/* CHECK_INVARIANTS writes its padding as zero. */
	memset(&inv, 0xff, sizeof(inv));
	ASSERT_EQ(0, ioctl(self->vm, S2MMU_CHECK_INVARIANTS, &inv));
	for (i = 0; i < ARRAY_SIZE(inv.padding); i++)
		EXPECT_EQ(0, inv.padding[i]) TH_LOG("invariants padding[%u]", i);
	self->cases++;

	/* TRANSLATE's pad must be zero on input (and is on output). */
	for (i = 0; i < ARRAY_SIZE(t.pad); i++) {
		memset(&t, 0, sizeof(t));
		t.gpa = GPA_BASE;
		t.pad[i] = 0x7f;
		ret = ioctl(self->vcpu, S2MMU_TRANSLATE, &t);
		EXPECT_EQ(-1, ret) TH_LOG("translation pad[%u] accepted", i);
		EXPECT_EQ(EINVAL, errno);
		self->cases++;
	}
	memset(&t, 0xff, sizeof(t));
	t.gpa = GPA_BASE;
	memset(t.pad, 0, sizeof(t.pad));
	ASSERT_EQ(0, ioctl(self->vcpu, S2MMU_TRANSLATE, &t));
	for (i = 0; i < ARRAY_SIZE(t.pad); i++)
		EXPECT_EQ(0, t.pad[i]);
	self->cases++;
	EXPECT_TRUE(USABLE());
}

/* A slot over host memory of @prot: reads and writes fault, not crash. */
static void expect_faults(struct __test_metadata *_metadata, int vcpu,
			  struct s2mmu_run *run, __u64 gpa, bool readable)
{
	struct s2mmu_pre_fault_memory pf = { .gpa = gpa, .size = PG };
	struct s2mmu_translation t;
	char buf[64];

	if (!readable) {
		EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
			  s2mmu_guest_read(vcpu, run, gpa + 8, buf, 8));
		EXPECT_EQ(S2MMU_MEMORY_FAULT_NOT_MAPPED, run->memory_fault.flags);
		EXPECT_EQ(gpa, run->memory_fault.gpa);
		EXPECT_EQ(PG, run->memory_fault.size);
		EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
			  s2mmu_guest_touch(vcpu, run, gpa, PG, false, 0, 0));
		EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
			  s2mmu_vcpu_access(vcpu, run, S2MMU_OP_EXEC, gpa, buf,
					    8));
		EXPECT_EQ(-EFAULT, s2mmu_pre_fault(vcpu, &pf));
	}
	memset(buf, 0x33, sizeof(buf));
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_write(vcpu, run, gpa, buf, sizeof(buf)));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_NOT_MAPPED | S2MMU_MEMORY_FAULT_WRITE,
		  run->memory_fault.flags);
	EXPECT_EQ(gpa, run->memory_fault.gpa);
	ASSERT_EQ(0, s2mmu_translate(vcpu, gpa, &t));
	EXPECT_FALSE(t.present && t.writable);
}

TEST_F(bad, prot_none_hva)
{
	char *p = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	char buf[8];

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, 2 * PG,
				      (unsigned long)p));
	expect_faults(_metadata, self->vcpu, self->run, GPA_FAR + PG, false);
	/* Made accessible, it works; read-only, writes still fault. */
	ASSERT_EQ(0, mprotect(p, 2 * PG, PROT_READ));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_FAR + PG, buf, 8));
	expect_faults(_metadata, self->vcpu, self->run, GPA_FAR + PG, true);
	ASSERT_EQ(0, mprotect(p, 2 * PG, PROT_NONE));
	expect_faults(_metadata, self->vcpu, self->run, GPA_FAR + PG, false);
	self->cases += 3;
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));
	munmap(p, 2 * PG);
	EXPECT_TRUE(USABLE());
}

/* A VM_IO | VM_PFNMAP mapping: /dev/mem.  NULL when none can be made. */
static char *map_pfnmap(off_t *where)
{
	static const off_t fixed[] = { 0, 0xa0000, 0xf0000 };
	unsigned long long start, end;
	char line[256], *p;
	unsigned int i;
	FILE *f;
	int fd;

	fd = open("/dev/mem", O_RDONLY | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(fixed); i++) {
		p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, fixed[i]);
		if (p != MAP_FAILED) {
			*where = fixed[i];
			close(fd);
			return p;
		}
	}
	/* Else any top-level region that is not RAM (a device's). */
	f = fopen("/proc/iomem", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (line[0] == ' ' || strstr(line, "System RAM") ||
		    sscanf(line, "%llx-%llx", &start, &end) != 2 || !start ||
		    start % PG)
			continue;
		p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, start);
		if (p != MAP_FAILED) {
			*where = start;
			fclose(f);
			close(fd);
			return p;
		}
	}
	if (f)
		fclose(f);
	close(fd);
	return NULL;
}

TEST_F(bad, pfnmap_hva)
{
	struct s2mmu_invariants inv;
	off_t where = 0;
	char *p = map_pfnmap(&where);

	if (!p)
		SKIP(return, "no mappable /dev/mem page (no VM_PFNMAP memory)");
	TH_LOG("/dev/mem at %#llx mapped at %p", (unsigned long long)where, p);
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, PG,
				      (unsigned long)p));
	expect_faults(_metadata, self->vcpu, self->run, GPA_FAR, false);
	EXPECT_EQ(0, s2mmu_check_invariants(self->vm, &inv));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));
	self->cases++;
	munmap(p, PG);
	EXPECT_TRUE(USABLE());
}

/*
 * The run page of another vCPU (a shared mapping of the vCPU file, a
 * kernel page, VM_PFNMAP): a slot over it is accepted but the guest cannot
 * map it (memory fault, NOT_MAPPED); vCPU 1 still runs afterwards.
 */
TEST_F(bad, run_page_of_other_vcpu)
{
	struct s2mmu_run *run1;
	__u64 word = 0;
	int vcpu1, ret;

	vcpu1 = s2mmu_create_vcpu(self->vm, 1);
	ASSERT_LE(0, vcpu1);
	run1 = s2mmu_map_run(vcpu1);
	ASSERT_NE(NULL, run1);
	ASSERT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_read(vcpu1, run1, GPA_FAR + PG, &word, 8));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, PG,
				      (unsigned long)run1));
	ret = s2mmu_guest_read(self->vcpu, self->run,
			       GPA_FAR + offsetof(struct s2mmu_run, mmio) +
			       offsetof(typeof(run1->mmio), gpa), &word, 8);
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT, ret);
	EXPECT_TRUE(self->run->memory_fault.flags &
		    S2MMU_MEMORY_FAULT_NOT_MAPPED);
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(vcpu1, run1, GPA_BASE, &word, 8));
	self->cases++;
	s2mmu_unmap_run(run1);
	close(vcpu1);
	EXPECT_TRUE(USABLE());
}

/* An address only a child process maps is unmapped in the VM's mm. */
TEST_F(bad, hva_of_another_process)
{
	char *addr, c = 0, buf[8];
	int go[2], done[2], status;
	pid_t pid;

	addr = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, addr);
	ASSERT_EQ(0, munmap(addr, 4 * PG));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p = mmap(addr, 4 * PG, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			       -1, 0);

		if (p != addr)
			_exit(1);
		memset(p, 0x77, 4 * PG);
		if (write(go[1], "g", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(1, read(go[0], &c, 1));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, 4 * PG,
				      (unsigned long)addr));
	expect_faults(_metadata, self->vcpu, self->run, GPA_FAR + 2 * PG, false);
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_FAR, buf, 8));
	self->cases++;
	ASSERT_EQ(1, write(done[1], "d", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	EXPECT_TRUE(USABLE());
}

TEST_F(bad, huge_lengths)
{
	const __u64 slot_end = GPA_BASE + NPAGES * PG;
	struct s2mmu_pre_fault_memory pf;
	struct s2mmu_access a[2];
	char *buf;
	__u64 len;

	/* Room for the whole slot, and a page more. */
	buf = mmap(NULL, (NPAGES + 1) * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);

	/* A buffer that is not user memory all along: -EFAULT up front. */
	EXPECT_EQ(-EFAULT, s2mmu_guest_read(self->vcpu, self->run, GPA_BASE,
					    buf, 1ULL << 62));
	EXPECT_EQ(-EFAULT, s2mmu_guest_write(self->vcpu, self->run, GPA_BASE,
					     buf, (1ULL << 63) - 1));
	/* One that is (access_ok) but huge: the copy stops at the slot's end. */
	len = ((unsigned long)buf < 1ULL << 47 ? 1ULL << 47 : 1ULL << 48) -
	      (unsigned long)buf - 2 * PG;
	memset(a, 0, sizeof(a));
	a[0].gpa = GPA_BASE;
	a[0].len = 8;
	a[0].uaddr = (unsigned long)buf;
	a[0].op = S2MMU_OP_READ;
	a[1] = a[0];
	a[1].len = len;
	EXPECT_EQ(S2MMU_EXIT_MMIO, s2mmu_vcpu_run(self->vcpu, self->run, a, 2));
	EXPECT_EQ(1, self->run->done);
	EXPECT_EQ(slot_end, self->run->mmio.gpa);
	EXPECT_EQ(PG, self->run->mmio.len);
	EXPECT_EQ(0, memcmp(buf, self->mem, NPAGES * PG));
	a[1].op = S2MMU_OP_WRITE;
	EXPECT_EQ(S2MMU_EXIT_MMIO, s2mmu_vcpu_run(self->vcpu, self->run, a, 2));
	EXPECT_EQ(1, self->run->done);
	EXPECT_EQ(slot_end, self->run->mmio.gpa);
	EXPECT_EQ(1, self->run->mmio.is_write);
	/* TOUCH has no buffer: near 2^63 bytes run to the slot's end. */
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE,
				    (1ULL << 63) - 1, true, 0, 0));
	EXPECT_EQ(slot_end, self->run->mmio.gpa);
	/* A stride that jumps out of the space in one step. */
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE + 8,
				    1ULL << 63, false, 1ULL << 62, 0));
	EXPECT_EQ(GPA_BASE + 8 + (1ULL << 62), self->run->mmio.gpa);
	/* A stride longer than the range: one touch per pass. */
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_BASE, PG, false,
				    1ULL << 63, 1000));
	/* PRE_FAULT of a huge aligned size maps the slot, then -ENOENT. */
	memset(&pf, 0, sizeof(pf));
	pf.gpa = GPA_BASE;
	pf.size = 1ULL << 62;
	EXPECT_EQ(0, s2mmu_pre_fault(self->vcpu, &pf));
	EXPECT_EQ(slot_end, pf.gpa);
	EXPECT_EQ((1ULL << 62) - NPAGES * PG, pf.size);
	EXPECT_EQ(-ENOENT, s2mmu_pre_fault(self->vcpu, &pf));
	self->cases += 8;
	munmap(buf, (NPAGES + 1) * PG);
	for (len = 0; len < NPAGES; len++)
		s2mmu_fill_page(self->mem + len * PG, len);
	EXPECT_TRUE(USABLE());
}

TEST_F(bad, across_slot_boundaries)
{
	char *x = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *y = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const __u64 hole = GPA_FAR + 8 * PG;
	struct s2mmu_access a[3];
	char buf[2 * PG], want[2 * PG];
	int i;

	ASSERT_NE(MAP_FAILED, x);
	ASSERT_NE(MAP_FAILED, y);
	for (i = 0; i < 4; i++) {
		s2mmu_fill_page(x + i * PG, 100 + i);
		s2mmu_fill_page(y + i * PG, 200 + i);
	}
	/* Two adjacent slots over unrelated host memory, then a hole. */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, 4 * PG,
				      (unsigned long)x));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 2, 0, GPA_FAR + 4 * PG, 4 * PG,
				      (unsigned long)y));

	/* One access across the boundary reads both. */
	memcpy(want, x + 3 * PG + 100, PG - 100);
	memcpy(want + PG - 100, y, PG + 100);
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_FAR + 3 * PG + 100,
				   buf, 2 * PG));
	EXPECT_EQ(0, memcmp(buf, want, 2 * PG));
	/* And writes both. */
	memset(buf, 0x42, 2 * PG);
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_FAR + 4 * PG - 8,
				    buf, 16));
	EXPECT_EQ(0, memcmp(x + 4 * PG - 8, buf, 8));
	EXPECT_EQ(0, memcmp(y, buf, 8));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_touch(self->vcpu, self->run, GPA_FAR, 8 * PG, true,
				    100, 0));

	/* Slot, then hole: MMIO at the first byte of the hole, done == 1. */
	memset(a, 0, sizeof(a));
	for (i = 0; i < 3; i++) {
		a[i].op = S2MMU_OP_READ;
		a[i].uaddr = (unsigned long)buf;
		a[i].len = 8;
		a[i].gpa = GPA_FAR;
	}
	a[1].gpa = hole - PG / 2;
	a[1].len = PG;
	EXPECT_EQ(S2MMU_EXIT_MMIO, s2mmu_vcpu_run(self->vcpu, self->run, a, 3));
	EXPECT_EQ(1, self->run->done);
	EXPECT_EQ(hole, self->run->mmio.gpa);
	EXPECT_EQ(PG / 2, self->run->mmio.len);
	EXPECT_EQ(0, self->run->mmio.is_write);
	a[1].op = S2MMU_OP_TOUCH;
	a[1].uaddr = 0;
	a[1].flags = S2MMU_ACCESS_F_WRITE;
	a[1].stride = 1;
	EXPECT_EQ(S2MMU_EXIT_MMIO, s2mmu_vcpu_run(self->vcpu, self->run, a, 3));
	EXPECT_EQ(1, self->run->done);
	EXPECT_EQ(hole, self->run->mmio.gpa);
	EXPECT_EQ(1, self->run->mmio.is_write);
	/* A hole between two slots: the same. */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 3, 0, hole + PG, PG,
				      (unsigned long)x));
	a[1].gpa = hole - 4;
	a[1].len = 2 * PG;
	EXPECT_EQ(S2MMU_EXIT_MMIO, s2mmu_vcpu_run(self->vcpu, self->run, a, 3));
	EXPECT_EQ(hole, self->run->mmio.gpa);
	EXPECT_EQ(1, self->run->done);
	self->cases += 6;

	for (i = 1; i <= 3; i++)
		EXPECT_EQ(0, s2mmu_delete_region(self->vm, i));
	munmap(x, 4 * PG);
	munmap(y, 4 * PG);
	EXPECT_TRUE(USABLE());
}

TEST_HARNESS_MAIN
