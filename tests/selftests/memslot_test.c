// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: memory slots (S2MMU_SET_MEMORY_REGION).
 *
 * Validation as KVM_SET_USER_MEMORY_REGION (alignment, flags, range,
 * overlap, immutable size/address/read-only flag), create, move and
 * delete as a guest sees them, aliasing slots, and the slot limit.  After
 * every refused request the VM must be exactly as it was.
 */
#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define NPAGES		16
#define GPA_BASE	0x40000000ULL	/* 1 GiB: slot 0, 4 pages of mem */
#define GPA_FAR		0x80000000ULL	/* 2 GiB: nothing unless a test puts it */
#define SLOT0_PAGES	4

FIXTURE(memslot) {
	int vm;
	int vcpu;
	struct s2mmu_run *run;
	struct s2mmu_vm_info info;
	char *mem;
};

FIXTURE_VARIANT(memslot) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(memslot, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(memslot, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(memslot)
{
	self->mem = s2mmu_mmap_filled(_metadata, NPAGES);
	s2mmu_setup_guest(_metadata, variant->type, self->mem, GPA_BASE,
			  SLOT0_PAGES * PG, &self->vm, &self->vcpu, &self->run);
	ASSERT_EQ(0, s2mmu_vm_info(self->vm, &self->info));
}

FIXTURE_TEARDOWN(memslot)
{
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, NPAGES * PG);
}

/*
 * The VM is as setup left it: slot 0 maps mem's first pages at GPA_BASE,
 * nothing is at GPA_FAR, and a slot can still be added and removed.
 */
static bool vm_usable(int vm, int vcpu, struct s2mmu_run *run, char *mem)
{
	char buf[PG];
	int i;

	for (i = 0; i < SLOT0_PAGES; i++) {
		if (s2mmu_guest_read(vcpu, run, GPA_BASE + i * PG, buf, PG) !=
		    S2MMU_EXIT_DONE || !s2mmu_check_page(buf, i))
			return false;
	}
	if (s2mmu_guest_read(vcpu, run, GPA_FAR, buf, 8) != S2MMU_EXIT_MMIO)
		return false;
	if (s2mmu_set_region(vm, 7, 0, GPA_FAR, PG, (unsigned long)mem + 5 * PG))
		return false;
	if (s2mmu_guest_read(vcpu, run, GPA_FAR, buf, PG) != S2MMU_EXIT_DONE ||
	    !s2mmu_check_page(buf, 5))
		return false;
	return s2mmu_delete_region(vm, 7) == 0;
}

/* The guest reads every page of slot 0, so that stage 2 maps them all. */
static int map_slot0(int vcpu, struct s2mmu_run *run)
{
	char buf[PG];
	int i, ret;

	for (i = 0; i < SLOT0_PAGES; i++) {
		ret = s2mmu_guest_read(vcpu, run, GPA_BASE + i * PG, buf, PG);
		if (ret != S2MMU_EXIT_DONE)
			return ret;
	}
	return S2MMU_EXIT_DONE;
}

TEST_F(memslot, bad_alignment)
{
	unsigned long hva = (unsigned long)self->mem + 8 * PG;
	static const __u64 gpa_off[] = { 1, 8, 0x800, PG - 1 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gpa_off); i++) {
		EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0,
						    GPA_FAR + gpa_off[i], PG, hva));
		EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, GPA_FAR,
						    PG + gpa_off[i], hva));
		EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, GPA_FAR,
						    gpa_off[i], hva));
		EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, PG,
						    hva + gpa_off[i]));
	}
	/* The same on an existing slot: it is neither moved nor deleted. */
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 0, 0, GPA_BASE + 1,
					    SLOT0_PAGES * PG,
					    (unsigned long)self->mem));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, 100,
					    (unsigned long)self->mem));
	EXPECT_TRUE(vm_usable(self->vm, self->vcpu, self->run, self->mem));
}

TEST_F(memslot, bad_slot_id)
{
	unsigned long hva = (unsigned long)self->mem + 8 * PG;
	static const __u32 ids[] = {
		S2MMU_MAX_MEMSLOTS, S2MMU_MAX_MEMSLOTS + 1, 0x10000, 0x7fffffff,
		0xffffffff,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, ids[i], 0,
						    GPA_FAR, PG, hva))
			TH_LOG("slot %u accepted", ids[i]);
		EXPECT_EQ(-EINVAL, s2mmu_delete_region(self->vm, ids[i]));
	}
	/* The last valid id works. */
	EXPECT_EQ(0, s2mmu_set_region(self->vm, S2MMU_MAX_MEMSLOTS - 1, 0,
				      GPA_FAR + PG, PG, hva));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, S2MMU_MAX_MEMSLOTS - 1));
	EXPECT_TRUE(vm_usable(self->vm, self->vcpu, self->run, self->mem));
}

TEST_F(memslot, bad_flags)
{
	unsigned long hva = (unsigned long)self->mem + 8 * PG;
	static const __u32 flags[] = {
		S2MMU_MEM_LOG_DIRTY_PAGES | 1U << 2,
		1U << 2, 1U << 3, 1U << 16, 1U << 31, 0xffffffff,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, flags[i],
						    GPA_FAR, PG, hva))
			TH_LOG("flags %#x accepted", flags[i]);
		/* Nor on an existing slot, where it would be a flag change. */
		EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 0, flags[i],
						    GPA_BASE, SLOT0_PAGES * PG,
						    (unsigned long)self->mem));
	}
	/* A refused create left nothing behind at GPA_FAR. */
	EXPECT_TRUE(vm_usable(self->vm, self->vcpu, self->run, self->mem));
}

/* gpa + size must not wrap and must stay below the VM's max_gpa. */
TEST_F(memslot, bad_gpa_range)
{
	unsigned long hva = (unsigned long)self->mem + 8 * PG;
	__u64 max = self->info.max_gpa;
	char buf[PG];

	ASSERT_NE(0, max);
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, -PG, 2 * PG, hva));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, -PG, PG, hva));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, -2 * PG, 4 * PG, hva));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, max, PG, hva));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, max - PG, 2 * PG, hva));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, 0, max + PG, hva));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, max * 2, PG, hva));

	/* The very last page below max_gpa is fine, and the guest sees it. */
	EXPECT_EQ(0, s2mmu_set_region(self->vm, 1, 0, max - PG, PG, hva));
	EXPECT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    max - PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 8));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));
	/* And so is page 0. */
	EXPECT_EQ(0, s2mmu_set_region(self->vm, 1, 0, 0, PG, hva));
	EXPECT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    0, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 8));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));
	EXPECT_TRUE(vm_usable(self->vm, self->vcpu, self->run, self->mem));
}

/* A host range that is not a user range at all: -EINVAL, as KVM. */
TEST_F(memslot, hva_not_user)
{
	__u64 top = ~0ULL & ~(PG - 1);

	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, PG, top));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, PG,
					    1ULL << 63));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, 16 * PG,
					    top - 8 * PG));
	EXPECT_TRUE(vm_usable(self->vm, self->vcpu, self->run, self->mem));
}

/*
 * A slot over host memory that is not mapped (yet) is accepted, as in
 * KVM; the guest gets a memory fault there until the host maps it.
 */
TEST_F(memslot, unmapped_hva)
{
	char *hole = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[PG];

	ASSERT_NE(MAP_FAILED, hole);
	ASSERT_EQ(0, munmap(hole, 2 * PG));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, 2 * PG,
				      (unsigned long)hole));
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_FAR + PG, buf, 8));
	EXPECT_EQ(S2MMU_MEMORY_FAULT_NOT_MAPPED, self->run->memory_fault.flags);
	EXPECT_EQ(GPA_FAR + PG, self->run->memory_fault.gpa);

	ASSERT_EQ(hole, mmap(hole, 2 * PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	s2mmu_fill_page(hole + PG, 42);
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_FAR + PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 42));
	munmap(hole, 2 * PG);
}

TEST_F(memslot, overlap)
{
	unsigned long hva = (unsigned long)self->mem + 8 * PG;
	const __u64 end = GPA_BASE + SLOT0_PAGES * PG;

	/* Same range, inside, straddling either end, and covering it. */
	EXPECT_EQ(-EEXIST, s2mmu_set_region(self->vm, 1, 0, GPA_BASE,
					    SLOT0_PAGES * PG, hva));
	EXPECT_EQ(-EEXIST, s2mmu_set_region(self->vm, 1, 0, GPA_BASE + PG,
					    PG, hva));
	EXPECT_EQ(-EEXIST, s2mmu_set_region(self->vm, 1, 0, GPA_BASE - PG,
					    2 * PG, hva));
	EXPECT_EQ(-EEXIST, s2mmu_set_region(self->vm, 1, 0, end - PG,
					    2 * PG, hva));
	EXPECT_EQ(-EEXIST, s2mmu_set_region(self->vm, 1, 0, GPA_BASE - PG,
					    (SLOT0_PAGES + 2) * PG, hva));
	/* A read-only slot overlaps just the same. */
	EXPECT_EQ(-EEXIST, s2mmu_set_region(self->vm, 1, S2MMU_MEM_READONLY,
					    GPA_BASE, PG, hva));

	/* Adjacent on both sides is fine. */
	EXPECT_EQ(0, s2mmu_set_region(self->vm, 1, 0, end, PG, hva));
	EXPECT_EQ(0, s2mmu_set_region(self->vm, 2, 0, GPA_BASE - PG, PG, hva));
	/* Re-setting a slot exactly as it is changes nothing. */
	EXPECT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE,
				      SLOT0_PAGES * PG, (unsigned long)self->mem));
	/* Now slot 1 is taken too: a new slot overlapping it fails. */
	EXPECT_EQ(-EEXIST, s2mmu_set_region(self->vm, 3, 0, end, PG, hva));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 2));
	EXPECT_TRUE(vm_usable(self->vm, self->vcpu, self->run, self->mem));
}

TEST_F(memslot, delete_nonexistent)
{
	EXPECT_EQ(-EINVAL, s2mmu_delete_region(self->vm, 1));
	EXPECT_EQ(-EINVAL, s2mmu_delete_region(self->vm, S2MMU_MAX_MEMSLOTS - 1));
	/* Deleting twice: the second is refused. */
	EXPECT_EQ(0, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, PG,
				      (unsigned long)self->mem));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));
	EXPECT_EQ(-EINVAL, s2mmu_delete_region(self->vm, 1));
	EXPECT_TRUE(vm_usable(self->vm, self->vcpu, self->run, self->mem));
}

/* Size, host address and the read-only flag of a slot are immutable. */
TEST_F(memslot, change_existing)
{
	unsigned long hva = (unsigned long)self->mem;
	char buf[PG];

	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 0, 0, GPA_BASE,
					    (SLOT0_PAGES + 1) * PG, hva));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 0, 0, GPA_BASE,
					    (SLOT0_PAGES - 1) * PG, hva));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 0, 0, GPA_BASE,
					    SLOT0_PAGES * PG, hva + PG));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 0, S2MMU_MEM_READONLY,
					    GPA_BASE, SLOT0_PAGES * PG, hva));
	/* Not even combined with a move. */
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 0, S2MMU_MEM_READONLY,
					    GPA_FAR, SLOT0_PAGES * PG, hva));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 0, 0, GPA_FAR,
					    SLOT0_PAGES * PG, hva + PG));

	/* The other way round: a read-only slot cannot become writable. */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, S2MMU_MEM_READONLY, GPA_FAR,
				      PG, hva + 8 * PG));
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, PG,
					    hva + 8 * PG));
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_FAR, buf, 8));
	EXPECT_TRUE(self->run->memory_fault.flags & S2MMU_MEMORY_FAULT_READONLY);
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));

	/* Slot 0 is still writable. */
	memset(buf, 0x5a, 8);
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_BASE + 3 * PG + 16,
				    buf, 8));
	EXPECT_EQ(0, memcmp(self->mem + 3 * PG + 16, buf, 8));
	s2mmu_fill_page(self->mem + 3 * PG, 3);
	EXPECT_TRUE(vm_usable(self->vm, self->vcpu, self->run, self->mem));
}

/* A move: same id, new gpa.  The old range becomes MMIO at once. */
TEST_F(memslot, move)
{
	struct s2mmu_translation t;
	char buf[PG];
	int i;

	/* Map every page of the slot in stage 2 first. */
	ASSERT_EQ(S2MMU_EXIT_DONE, map_slot0(self->vcpu, self->run));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE, &t));
	ASSERT_EQ(1, t.present);

	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_FAR, SLOT0_PAGES * PG,
				      (unsigned long)self->mem));
	for (i = 0; i < SLOT0_PAGES; i++) {
		EXPECT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + i * PG, &t));
		EXPECT_EQ(0, t.present);
		EXPECT_EQ(S2MMU_EXIT_MMIO,
			  s2mmu_guest_read(self->vcpu, self->run,
					   GPA_BASE + i * PG, buf, 8));
		EXPECT_EQ(GPA_BASE + i * PG, self->run->mmio.gpa);
		EXPECT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_read(self->vcpu, self->run,
					   GPA_FAR + i * PG, buf, PG));
		EXPECT_TRUE(s2mmu_check_page(buf, i));
	}

	/* A move onto another slot is refused and leaves the slot in place. */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, GPA_BASE, PG,
				      (unsigned long)self->mem + 8 * PG));
	EXPECT_EQ(-EEXIST, s2mmu_set_region(self->vm, 0, 0, GPA_BASE - PG,
					    SLOT0_PAGES * PG,
					    (unsigned long)self->mem));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_FAR + PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 1));
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE - PG, buf, 8));
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1));

	/* A move overlapping the slot's own old range is fine. */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_FAR + 2 * PG,
				      SLOT0_PAGES * PG, (unsigned long)self->mem));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_FAR + 2 * PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 0));
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_FAR + PG, buf, 8));

	/* And back home. */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, SLOT0_PAGES * PG,
				      (unsigned long)self->mem));
	EXPECT_TRUE(vm_usable(self->vm, self->vcpu, self->run, self->mem));
}

/* Delete, then re-create over other memory: no stale translation. */
TEST_F(memslot, delete_and_recreate)
{
	struct s2mmu_translation t;
	char buf[PG];
	int i;

	ASSERT_EQ(S2MMU_EXIT_DONE, map_slot0(self->vcpu, self->run));
	ASSERT_EQ(0, s2mmu_delete_region(self->vm, 0));
	for (i = 0; i < SLOT0_PAGES; i++) {
		EXPECT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + i * PG, &t));
		EXPECT_EQ(0, t.present);
	}
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + PG, buf, 8));
	EXPECT_EQ(GPA_BASE + PG, self->run->mmio.gpa);
	EXPECT_EQ(0, self->run->mmio.is_write);
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_write(self->vcpu, self->run, GPA_BASE, buf, 8));
	EXPECT_EQ(1, self->run->mmio.is_write);

	/* Same id and gpa, other host memory (a different size is fine too). */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, 2 * PG,
				      (unsigned long)self->mem + 8 * PG));
	EXPECT_EQ(S2MMU_EXIT_DONE,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 9));
	EXPECT_EQ(S2MMU_EXIT_MMIO,
		  s2mmu_guest_read(self->vcpu, self->run, GPA_BASE + 2 * PG,
				   buf, 8));
	ASSERT_EQ(0, s2mmu_delete_region(self->vm, 0));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, SLOT0_PAGES * PG,
				      (unsigned long)self->mem));
	EXPECT_TRUE(vm_usable(self->vm, self->vcpu, self->run, self->mem));
}

/*
 * Two slots over the same host page: a guest write through one is seen
 * through the other, and a host remap of the page reaches both.
 */
TEST_F(memslot, aliases)
{
	char *page = self->mem + 8 * PG;
	char buf[PG], val[8] = "aliased";

	ASSERT_EQ(0, s2mmu_set_region(self->vm, 1, 0, GPA_FAR, PG,
				      (unsigned long)page));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 2, S2MMU_MEM_READONLY,
				      GPA_FAR + 16 * PG, PG, (unsigned long)page));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    GPA_FAR + 16 * PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 8));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_write(self->vcpu, self->run,
						     GPA_FAR + 100, val, 8));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    GPA_FAR + 16 * PG + 100,
						    buf, 8));
	EXPECT_EQ(0, memcmp(buf, val, 8));
	EXPECT_EQ(0, memcmp(page + 100, val, 8));

	/* New memory at the hva: both aliases must drop the old page. */
	ASSERT_EQ(page, mmap(page, PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	s2mmu_fill_page(page, 77);
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    GPA_FAR, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 77));
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    GPA_FAR + 16 * PG, buf, PG));
	EXPECT_TRUE(s2mmu_check_page(buf, 77));
}

/*
 * All S2MMU_MAX_MEMSLOTS slots of one page each, with a gap after each:
 * the guest finds the right one anywhere, gaps are MMIO, deleting one in
 * the middle works, and closing the VM frees them all.  With
 * S2MMU_MANY_SLOTS=n (the debug kernel's run, where each creation costs
 * milliseconds) only ids 0..n-2 and the last id are created.
 */
#define MANY	S2MMU_MAX_MEMSLOTS
#define MANY_GPA(i)	(GPA_FAR + (__u64)(i) * 2 * PG)

/* The @i-th of @n slots created: the first n - 1 ids, then the last. */
static unsigned int many_id(unsigned int i, unsigned int n)
{
	return i < n - 1 ? i : MANY - 1;
}

/* Minutes under KASAN and lockdep on TCG: about 2 for the creation alone. */
TEST_F_TIMEOUT(memslot, many_slots, 600)
{
	static const unsigned int probe[] = { 1, 2, 1000, 16383, 20000, MANY - 1 };
	unsigned int n = s2mmu_env_ull("S2MMU_MANY_SLOTS", MANY);
	char *area = mmap(NULL, MANY * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	long long t0, t1;
	char buf[PG];
	unsigned int i, id;
	int ret;

	if (n < 1002 || n > MANY)
		n = MANY;
	ASSERT_NE(MAP_FAILED, area);
	/* Slot 0 is the fixture's: remove it so ids 0..MANY-1 are all ours. */
	ASSERT_EQ(0, s2mmu_delete_region(self->vm, 0));
	t0 = s2mmu_now_ms();
	for (i = 0; i < n; i++) {
		id = many_id(i, n);
		ret = s2mmu_set_region(self->vm, id, 0, MANY_GPA(id), PG,
				       (unsigned long)area + id * PG);
		ASSERT_EQ(0, ret) TH_LOG("slot %u: %s", id, strerror(-ret));
	}
	t1 = s2mmu_now_ms();
	TH_LOG("%u slots created in %lld ms", n, t1 - t0);

	/* There is no slot id left. */
	EXPECT_EQ(-EINVAL, s2mmu_set_region(self->vm, MANY, 0, MANY_GPA(MANY),
					    PG, (unsigned long)self->mem));

	for (i = 0; i < ARRAY_SIZE(probe); i++) {
		id = probe[i];
		if (id < MANY - 1 && id >= n - 1)
			continue;	/* not created in a short run */
		s2mmu_fill_page(area + id * PG, id);
		EXPECT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_read(self->vcpu, self->run, MANY_GPA(id),
					   buf, PG));
		EXPECT_TRUE(s2mmu_check_page(buf, id)) TH_LOG("slot %u", id);
		memset(buf, id & 0xff, 8);
		EXPECT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_write(self->vcpu, self->run,
					    MANY_GPA(id) + 64, buf, 8));
		EXPECT_EQ(0, memcmp(area + id * PG + 64, buf, 8));
		EXPECT_EQ(S2MMU_EXIT_MMIO,
			  s2mmu_guest_read(self->vcpu, self->run,
					   MANY_GPA(id) + PG, buf, 8));
		EXPECT_EQ(MANY_GPA(id) + PG, self->run->mmio.gpa);
	}

	/* Delete one in the middle; its neighbours stay. */
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 1000));
	EXPECT_EQ(S2MMU_EXIT_MMIO, s2mmu_guest_read(self->vcpu, self->run,
						    MANY_GPA(1000), buf, 8));
	EXPECT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    MANY_GPA(999), buf, 8));
	EXPECT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_read(self->vcpu, self->run,
						    MANY_GPA(1001), buf, 8));
	/* Its id is free again, the others are not. */
	EXPECT_EQ(0, s2mmu_set_region(self->vm, 1000, 0, MANY_GPA(1000), PG,
				      (unsigned long)area));
	EXPECT_EQ(-EEXIST, s2mmu_set_region(self->vm, 1000, 0, MANY_GPA(1001),
					    PG, (unsigned long)area));

	t0 = s2mmu_now_ms();
	close(self->vcpu);
	self->vcpu = -1;
	s2mmu_unmap_run(self->run);
	self->run = NULL;
	close(self->vm);
	t1 = s2mmu_now_ms();
	TH_LOG("VM with %u slots destroyed in %lld ms", n, t1 - t0);
	self->vm = -1;
	munmap(area, MANY * PG);
}

TEST_HARNESS_MAIN
