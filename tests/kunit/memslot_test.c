// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for memory slots (mmu/memslot.c): request validation, the
 * gfn -> slot lookup, the hva -> gfn ranges the notifier walks, the three
 * indexes kept consistent over create, move and delete, and memslot
 * updates waiting for notifier readers.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/srcu.h>
#include <linux/wait.h>

#include "s2mmu_kunit.h"

#define P	PAGE_SIZE
#define H	S2MMU_KUNIT_HVA
#define X86_48	S2MMU_VM_X86_TDP
#define M40	BIT_ULL(40)

struct memslot_check_case {
	const char *name;
	u32 slot;
	u32 flags;
	u64 gpa;
	u64 size;
	u64 hva;
	u64 max_gpa;
	int ret;
};

static const struct memslot_check_case memslot_check_cases[] = {
	{ "one page",		0, 0, 0, P, H, M40, 0 },
	{ "last slot id",	S2MMU_MAX_MEMSLOTS - 1, 0, 0, P, H, M40, 0 },
	{ "slot id at max",	S2MMU_MAX_MEMSLOTS, 0, 0, P, H, M40, -EINVAL },
	{ "slot id U32_MAX",	U32_MAX, 0, 0, P, H, M40, -EINVAL },
	{ "read-only",		0, S2MMU_MEM_READONLY, 0, P, H, M40, 0 },
	{ "log dirty",		0, S2MMU_MEM_LOG_DIRTY_PAGES, 0, P, H, M40, 0 },
	{ "log dirty, read-only", 0,
		S2MMU_MEM_LOG_DIRTY_PAGES | S2MMU_MEM_READONLY, 0, P, H, M40, 0 },
	{ "guest_memfd",	0, S2MMU_MEM_GUEST_MEMFD, 0, P, H, M40, 0 },
	{ "guest_memfd, log dirty", 0,
		S2MMU_MEM_GUEST_MEMFD | S2MMU_MEM_LOG_DIRTY_PAGES, 0, P, H,
		M40, -EINVAL },
	{ "guest_memfd, read-only", 0,
		S2MMU_MEM_GUEST_MEMFD | S2MMU_MEM_READONLY, 0, P, H, M40,
		-EINVAL },
	{ "log dirty, bit 3",	0, S2MMU_MEM_LOG_DIRTY_PAGES | BIT(3), 0, P, H,
				M40, -EINVAL },
	{ "flag bit 3",		0, BIT(3), 0, P, H, M40, -EINVAL },
	{ "flag bit 31",	0, BIT(31), 0, P, H, M40, -EINVAL },
	{ "size 1",		0, 0, 0, 1, H, M40, -EINVAL },
	{ "size page + 1",	0, 0, 0, P + 1, H, M40, -EINVAL },
	{ "gpa unaligned",	0, 0, P / 2, P, H, M40, -EINVAL },
	{ "hva unaligned",	0, 0, 0, P, H + 8, M40, -EINVAL },
	{ "delete",		0, 0, M40 + P, 0, 0, M40, 0 },
	{ "delete, slot id at max", S2MMU_MAX_MEMSLOTS, 0, 0, 0, 0, M40,
				-EINVAL },
	{ "delete, gpa unaligned", 0, 0, 1, 0, 0, M40, -EINVAL },
	{ "delete, hva unaligned", 0, 0, 0, 0, 1, M40, -EINVAL },
	{ "delete, bad flag",	0, BIT(3), 0, 0, 0, M40, -EINVAL },
	{ "ends at max gpa",	0, 0, M40 - P, P, H, M40, 0 },
	{ "whole space",	0, 0, 0, BIT_ULL(32), H, BIT_ULL(32), 0 },
	{ "crosses max gpa",	0, 0, M40 - P, 2 * P, H, M40, -EINVAL },
	{ "starts at max gpa",	0, 0, M40, P, H, M40, -EINVAL },
	{ "beyond max gpa",	0, 0, 2 * M40, P, H, M40, -EINVAL },
	{ "gpa below the top",	0, 0, U64_MAX - 2 * P + 1, P, H, U64_MAX, 0 },
	{ "gpa wraps",		0, 0, U64_MAX - P + 1, 2 * P, H, U64_MAX,
				-EINVAL },
	{ "hva wraps",		0, 0, 0, 2 * P, ULONG_MAX - P + 1, M40,
				-EINVAL },
	{ "hva size wraps",	0, 0, 0, U64_MAX - P + 1, H, U64_MAX,
				-EINVAL },
};

static void memslot_check_case_desc(const struct memslot_check_case *c,
				    char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(memslot_check, memslot_check_cases, memslot_check_case_desc);

static void memslot_check_test(struct kunit *test)
{
	const struct memslot_check_case *c = test->param_value;
	struct s2mmu_memory_region mem = {
		.slot			= c->slot,
		.flags			= c->flags,
		.guest_phys_addr	= c->gpa,
		.memory_size		= c->size,
		.userspace_addr		= c->hva,
	};

	KUNIT_EXPECT_EQ(test, s2mmu_memslot_check(&mem, c->max_gpa), c->ret);
}

/* The host range must be a user range: it ends at TASK_SIZE at most. */
static void memslot_check_task_size_test(struct kunit *test)
{
	unsigned long top = ALIGN_DOWN(TASK_SIZE, P);
	struct s2mmu_memory_region mem = {
		.memory_size		= P,
		.userspace_addr		= top - P,
	};

	KUNIT_EXPECT_EQ(test, s2mmu_memslot_check(&mem, M40), 0);
	mem.memory_size = 2 * P;
	KUNIT_EXPECT_EQ(test, s2mmu_memslot_check(&mem, M40), -EINVAL);
	mem.userspace_addr = top;
	mem.memory_size = P;
	KUNIT_EXPECT_EQ(test, s2mmu_memslot_check(&mem, M40), -EINVAL);
}

/* The VM's own width bounds its slots, through S2MMU_SET_MEMORY_REGION. */
static void memslot_vm_width_test(struct kunit *test)
{
	struct s2mmu_vm *vm;
	u64 top;

	vm = s2mmu_kunit_vm_create(test, S2MMU_VM_ARM64_S2 |
				   S2MMU_VM_GPA_BITS(32));
	top = BIT_ULL(32) >> PAGE_SHIFT;
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 0, 0, top, 1, H),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 0, 0, top - 1, 2, H),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 0, 0, top - 1, 1, H),
			0);
	KUNIT_EXPECT_EQ(test, vm->nr_slots, 1);

	vm = s2mmu_kunit_vm_create(test, S2MMU_VM_X86_TDP |
				   S2MMU_VM_GPA_BITS(57));
	top = BIT_ULL(57) >> PAGE_SHIFT;
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 0, 0, top, 1, H),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 0, 0, top - 1, 1, H),
			0);
}

/*
 * The largest leaf a slot allows: the block must lie in the slot and the
 * guest frame and host address must be aligned alike within it.
 */
static void memslot_max_level_test(struct kunit *test)
{
	struct s2mmu_memslot slot = {
		.base_gfn	= 0x40000,	/* 1 GiB aligned */
		.npages		= 1 << 18,	/* 1 GiB */
		.userspace_addr	= 0x40000000,	/* 1 GiB aligned */
	};
	unsigned long hva = slot.userspace_addr + 0x205 * P;

	KUNIT_EXPECT_EQ(test, s2mmu_memslot_max_level(&slot, 0x40205, hva, 2),
			2);
	KUNIT_EXPECT_EQ(test, s2mmu_memslot_max_level(&slot, 0x40205, hva, 1),
			1);
	KUNIT_EXPECT_EQ(test, s2mmu_memslot_max_level(&slot, 0x40205, hva, 0),
			0);
	/* Host address 2 MiB- but not 1 GiB-aligned like the gfn. */
	slot.userspace_addr += 0x200 * P;
	hva = slot.userspace_addr + 0x205 * P;
	KUNIT_EXPECT_EQ(test, s2mmu_memslot_max_level(&slot, 0x40205, hva, 2),
			1);
	/* Only 4 KiB-aligned alike. */
	slot.userspace_addr += P;
	hva = slot.userspace_addr + 0x205 * P;
	KUNIT_EXPECT_EQ(test, s2mmu_memslot_max_level(&slot, 0x40205, hva, 2),
			0);
	/* Aligned, but the block would run past the slot's end. */
	slot.userspace_addr = 0x40000000;
	slot.npages = (1 << 18) - 1;
	hva = slot.userspace_addr + 0x205 * P;
	KUNIT_EXPECT_EQ(test, s2mmu_memslot_max_level(&slot, 0x40205, hva, 2),
			1);
	KUNIT_EXPECT_EQ(test, s2mmu_memslot_max_level(&slot, 0x7fe05,
						      hva + (0x3fc00ULL * P),
						      2), 0);
	/* ... or start before the slot. */
	slot.base_gfn = 0x40001;
	slot.npages = 1 << 18;
	slot.userspace_addr = 0x40000000 + P;
	hva = slot.userspace_addr + 4 * P;
	KUNIT_EXPECT_EQ(test, s2mmu_memslot_max_level(&slot, 0x40005, hva, 1),
			0);
	KUNIT_EXPECT_EQ(test, s2mmu_memslot_max_level(&slot, 0x40205,
						      hva + 0x200 * P, 1), 1);
}

static struct s2mmu_memslot *lookup(struct s2mmu_vm *vm, u64 gfn)
{
	struct s2mmu_memslot *slot;
	int idx;

	/* The slot is only compared, never used, after the section. */
	idx = srcu_read_lock(&vm->srcu);
	slot = s2mmu_gfn_to_memslot(vm, gfn);
	srcu_read_unlock(&vm->srcu, idx);
	return slot;
}

static int lookup_id(struct s2mmu_vm *vm, u64 gfn)
{
	struct s2mmu_memslot *slot = lookup(vm, gfn);

	return slot ? slot->id : -1;
}

#define NR_LAYOUT_SLOTS	48

/*
 * Slot i: a size from a cycle crossing the 2 MiB boundary, after a gap
 * of 0 (adjacent to slot i - 1), 1 or 4096 frames.
 */
static void layout(u64 *base, u64 *npages)
{
	static const u64 sizes[] = { 1, 2, 3, 511, 512, 513, 7 };
	static const u64 gaps[] = { 0, 1, 4096 };
	u64 gfn = 0x10;
	int i;

	for (i = 0; i < NR_LAYOUT_SLOTS; i++) {
		base[i] = gfn + (i ? gaps[i % ARRAY_SIZE(gaps)] : 0);
		npages[i] = sizes[i % ARRAY_SIZE(sizes)];
		gfn = base[i] + npages[i];
	}
}

static void memslot_lookup_boundaries_test(struct kunit *test)
{
	u64 base[NR_LAYOUT_SLOTS], npages[NR_LAYOUT_SLOTS];
	u64 top = BIT_ULL(48) >> PAGE_SHIFT;
	struct s2mmu_memslot *slot;
	struct s2mmu_vm *vm;
	int i, j;

	vm = s2mmu_kunit_vm_create(test, X86_48);
	layout(base, npages);
	/* Out of order (7 is coprime with 48), so the tree sees inserts
	 * before, after and between existing ranges.
	 */
	for (j = 0; j < NR_LAYOUT_SLOTS; j++) {
		i = (j * 7) % NR_LAYOUT_SLOTS;
		KUNIT_ASSERT_EQ(test,
				s2mmu_kunit_set_slot(vm, i, 0, base[i],
						     npages[i],
						     H + (base[i] << PAGE_SHIFT)),
				0);
	}
	/* One slot ending at the top of the VM's address space. */
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 100, 0, top - 4, 4, H),
			0);
	KUNIT_EXPECT_EQ(test, vm->nr_slots, NR_LAYOUT_SLOTS + 1);

	for (i = 0; i < NR_LAYOUT_SLOTS; i++) {
		u64 last = base[i] + npages[i] - 1;
		bool adj_prev = i && base[i - 1] + npages[i - 1] == base[i];
		bool adj_next = i + 1 < NR_LAYOUT_SLOTS &&
				base[i + 1] == last + 1;

		slot = lookup(vm, base[i]);
		KUNIT_ASSERT_NOT_NULL_MSG(test, slot, "slot %d first gfn", i);
		KUNIT_EXPECT_EQ(test, slot->id, i);
		KUNIT_EXPECT_EQ(test, slot->base_gfn, base[i]);
		KUNIT_EXPECT_EQ(test, slot->npages, npages[i]);
		KUNIT_EXPECT_EQ(test, slot->userspace_addr,
				H + (base[i] << PAGE_SHIFT));
		KUNIT_EXPECT_PTR_EQ(test, lookup(vm, last), slot);
		KUNIT_EXPECT_PTR_EQ(test, lookup(vm, base[i] + npages[i] / 2),
				    slot);
		KUNIT_EXPECT_EQ_MSG(test, lookup_id(vm, base[i] - 1),
				    adj_prev ? i - 1 : -1, "before slot %d", i);
		KUNIT_EXPECT_EQ_MSG(test, lookup_id(vm, last + 1),
				    adj_next ? i + 1 : -1, "after slot %d", i);
	}
	KUNIT_EXPECT_EQ(test, lookup_id(vm, 0), -1);
	KUNIT_EXPECT_EQ(test, lookup_id(vm, top - 5), -1);
	KUNIT_EXPECT_EQ(test, lookup_id(vm, top - 4), 100);
	KUNIT_EXPECT_EQ(test, lookup_id(vm, top - 1), 100);
	KUNIT_EXPECT_EQ(test, lookup_id(vm, top), -1);
	KUNIT_EXPECT_EQ(test, lookup_id(vm, U64_MAX), -1);
}

#define MAX_HITS	8

struct hva_hit {
	u32 id;
	u64 start;
	u64 end;
};

struct hva_hits {
	int n;
	struct hva_hit hit[MAX_HITS];
};

static int record_hit(struct s2mmu_vm *vm, struct s2mmu_memslot *slot,
		      u64 gfn_start, u64 gfn_end, void *data)
{
	struct hva_hits *hits = data;

	if (hits->n < MAX_HITS)
		hits->hit[hits->n] = (struct hva_hit){ slot->id, gfn_start,
						       gfn_end };
	hits->n++;
	return BIT(slot->id);
}

static int cmp_hit(const void *a, const void *b)
{
	const struct hva_hit *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

struct hva_case {
	const char *name;
	unsigned long start;
	unsigned long end;
	int n;
	struct hva_hit hit[4];	/* by slot id */
};

/*
 * Slot 1: gfn 0x100, 4 pages at H.  Slot 2: gfn 0x200, 4 pages at H + 2P
 * (overlapping slot 1's last two pages).  Slot 3: gfn 0x300, aliasing
 * slot 1 exactly.  Slot 4: gfn 0x400, 1 page at H + 16P.
 */
static const struct hva_case hva_cases[] = {
	{ "slot 1's range", H, H + 4 * P, 3,
	  { { 1, 0x100, 0x104 }, { 2, 0x200, 0x202 }, { 3, 0x300, 0x304 } } },
	{ "unaligned ends", H + P + 123, H + 2 * P + 1, 3,
	  { { 1, 0x101, 0x103 }, { 2, 0x200, 0x201 }, { 3, 0x301, 0x303 } } },
	{ "last byte of slot 1", H + 4 * P - 1, H + 4 * P, 3,
	  { { 1, 0x103, 0x104 }, { 2, 0x201, 0x202 }, { 3, 0x303, 0x304 } } },
	{ "first byte of slot 1", H, H + 1, 2,
	  { { 1, 0x100, 0x101 }, { 3, 0x300, 0x301 } } },
	{ "slot 2 alone", H + 4 * P, H + 6 * P, 1, { { 2, 0x202, 0x204 } } },
	{ "from slot 2's last byte", H + 6 * P - 1, H + 16 * P, 1,
	  { { 2, 0x203, 0x204 } } },
	{ "between slots 2 and 4", H + 6 * P, H + 16 * P, 0 },
	{ "just below slot 1", H - P, H, 0 },
	{ "slot 4", H + 16 * P, H + 16 * P + 1, 1, { { 4, 0x400, 0x401 } } },
	{ "just above slot 4", H + 17 * P, H + 18 * P, 0 },
	{ "empty", H + 2 * P, H + 2 * P, 0 },
	{ "reversed", H + 5 * P, H + 2 * P, 0 },
	{ "everything", 0, ULONG_MAX, 4,
	  { { 1, 0x100, 0x104 }, { 2, 0x200, 0x204 }, { 3, 0x300, 0x304 },
	    { 4, 0x400, 0x401 } } },
};

static void memslot_hva_ranges_test(struct kunit *test)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, X86_48);
	int i, j;

	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 1, 0, 0x100, 4, H), 0);
	KUNIT_ASSERT_EQ(test,
			s2mmu_kunit_set_slot(vm, 2, 0, 0x200, 4, H + 2 * P), 0);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 3, 0, 0x300, 4, H), 0);
	KUNIT_ASSERT_EQ(test,
			s2mmu_kunit_set_slot(vm, 4, 0, 0x400, 1, H + 16 * P),
			0);

	for (i = 0; i < ARRAY_SIZE(hva_cases); i++) {
		const struct hva_case *c = &hva_cases[i];
		struct hva_hits hits = { };
		int ret, want = 0;

		s2mmu_mn_reader_begin(vm);
		ret = s2mmu_for_each_hva_slot(vm, c->start, c->end, record_hit,
					      &hits);
		s2mmu_mn_reader_end(vm);

		KUNIT_ASSERT_EQ_MSG(test, hits.n, c->n, "%s", c->name);
		sort(hits.hit, hits.n, sizeof(hits.hit[0]), cmp_hit, NULL);
		for (j = 0; j < c->n; j++) {
			KUNIT_EXPECT_EQ_MSG(test, hits.hit[j].id, c->hit[j].id,
					    "%s", c->name);
			KUNIT_EXPECT_EQ_MSG(test, hits.hit[j].start,
					    c->hit[j].start, "%s", c->name);
			KUNIT_EXPECT_EQ_MSG(test, hits.hit[j].end,
					    c->hit[j].end, "%s", c->name);
			want |= BIT(c->hit[j].id);
		}
		/* The callbacks' return values, ORed. */
		KUNIT_EXPECT_EQ_MSG(test, ret, want, "%s", c->name);
	}
}

/* The slots the hva tree holds over [start, end), as a bitmap of ids. */
static int hva_ids(struct s2mmu_vm *vm, unsigned long start,
		   unsigned long end, struct hva_hits *hits)
{
	int ret;

	memset(hits, 0, sizeof(*hits));
	s2mmu_mn_reader_begin(vm);
	ret = s2mmu_for_each_hva_slot(vm, start, end, record_hit, hits);
	s2mmu_mn_reader_end(vm);
	return ret;
}

static void memslot_create_move_delete_test(struct kunit *test)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, X86_48);
	const unsigned long h6 = H + 0x100000;
	struct s2mmu_memslot *slot, *moved;
	struct hva_hits hits;
	unsigned long gen;
	u64 gfn;

	/* Create. */
	gen = vm->slots_gen;
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 5, 0, 0x1000, 16, H),
			0);
	KUNIT_EXPECT_NE(test, vm->slots_gen, gen);
	KUNIT_EXPECT_EQ(test, vm->nr_slots, 1);
	slot = lookup(vm, 0x1000);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&vm->slot_ids, 5), slot);
	KUNIT_EXPECT_EQ(test, hva_ids(vm, H, H + 16 * P, &hits), BIT(5));
	KUNIT_EXPECT_EQ(test, hits.n, 1);
	KUNIT_EXPECT_EQ(test, hits.hit[0].start, 0x1000);
	KUNIT_EXPECT_EQ(test, hits.hit[0].end, 0x1010);

	/* The same request again changes nothing. */
	gen = vm->slots_gen;
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 5, 0, 0x1000, 16, H),
			0);
	KUNIT_EXPECT_PTR_EQ(test, lookup(vm, 0x1000), slot);
	KUNIT_EXPECT_EQ(test, vm->slots_gen, gen);

	/* Size, host address and read-only cannot change. */
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 5, 0, 0x1000, 8, H),
			-EINVAL);
	KUNIT_EXPECT_EQ(test,
			s2mmu_kunit_set_slot(vm, 5, 0, 0x1000, 16, H + P),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 5, S2MMU_MEM_READONLY,
						   0x1000, 16, H), -EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, lookup(vm, 0x100f), slot);
	KUNIT_EXPECT_EQ(test, vm->slots_gen, gen);

	/* Move onto part of its own old range. */
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 5, 0, 0x1008, 16, H),
			0);
	KUNIT_EXPECT_NE(test, vm->slots_gen, gen);
	KUNIT_EXPECT_EQ(test, vm->nr_slots, 1);
	for (gfn = 0x1000; gfn < 0x1008; gfn++)
		KUNIT_EXPECT_NULL(test, lookup(vm, gfn));
	moved = lookup(vm, 0x1008);
	KUNIT_ASSERT_NOT_NULL(test, moved);
	KUNIT_EXPECT_EQ(test, moved->id, 5);
	KUNIT_EXPECT_EQ(test, moved->base_gfn, 0x1008);
	KUNIT_EXPECT_EQ(test, moved->userspace_addr, H);
	KUNIT_EXPECT_PTR_EQ(test, lookup(vm, 0x1017), moved);
	KUNIT_EXPECT_NULL(test, lookup(vm, 0x1018));
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&vm->slot_ids, 5), moved);
	/* Only the moved slot is left in the hva tree. */
	KUNIT_EXPECT_EQ(test, hva_ids(vm, H, H + 16 * P, &hits), BIT(5));
	KUNIT_ASSERT_EQ(test, hits.n, 1);
	KUNIT_EXPECT_EQ(test, hits.hit[0].start, 0x1008);
	KUNIT_EXPECT_EQ(test, hits.hit[0].end, 0x1018);

	/* Overlaps are refused and leave nothing behind. */
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 6, 0, 0x2000, 4, h6),
			0);
	KUNIT_EXPECT_EQ(test,
			s2mmu_kunit_set_slot(vm, 7, 0, 0x2003, 2, h6 + 16 * P),
			-EEXIST);
	KUNIT_EXPECT_EQ(test,
			s2mmu_kunit_set_slot(vm, 7, 0, 0x1ffe, 2, h6 + 16 * P),
			0);
	KUNIT_EXPECT_EQ(test,
			s2mmu_kunit_set_slot(vm, 8, 0, 0x1fff, 1, h6 + 32 * P),
			-EEXIST);
	KUNIT_EXPECT_NULL(test, xa_load(&vm->slot_ids, 8));
	KUNIT_EXPECT_EQ(test, hva_ids(vm, h6 + 32 * P, h6 + 33 * P, &hits), 0);
	KUNIT_EXPECT_EQ(test, lookup_id(vm, 0x1fff), 7);
	KUNIT_EXPECT_EQ(test, vm->nr_slots, 3);

	/* A move onto another slot is refused; the slot stays. */
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 5, 0, 0x1ff0, 16, H),
			-EEXIST);
	KUNIT_EXPECT_PTR_EQ(test, lookup(vm, 0x1008), moved);
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&vm->slot_ids, 5), moved);

	/* Delete: gone from all three indexes. */
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 5, 0, 0, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, vm->nr_slots, 2);
	KUNIT_EXPECT_NULL(test, lookup(vm, 0x1008));
	KUNIT_EXPECT_NULL(test, lookup(vm, 0x1017));
	KUNIT_EXPECT_NULL(test, xa_load(&vm->slot_ids, 5));
	KUNIT_EXPECT_EQ(test, hva_ids(vm, H, H + 16 * P, &hits), 0);
	KUNIT_EXPECT_EQ(test, hits.n, 0);
	KUNIT_EXPECT_EQ(test, lookup_id(vm, 0x2000), 6);
	KUNIT_EXPECT_EQ(test, lookup_id(vm, 0x1ffe), 7);

	/* Deleting what does not exist is refused. */
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 5, 0, 0, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 9, 0, 0, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, vm->nr_slots, 2);

	/* The id and the range can be used again. */
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 5, S2MMU_MEM_READONLY,
						   0x1000, 8, H), 0);
	slot = lookup(vm, 0x1007);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_EQ(test, slot->id, 5);
	KUNIT_EXPECT_EQ(test, slot->flags, S2MMU_MEM_READONLY);
	KUNIT_EXPECT_EQ(test, vm->nr_slots, 3);
}

/* Deleting or moving a slot zaps its old range, and only it. */
static void memslot_delete_zaps_test(struct kunit *test)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, X86_48);
	long flushes;

	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 1, 0, 0x100, 8, H), 0);
	KUNIT_ASSERT_EQ(test,
			s2mmu_kunit_set_slot(vm, 2, 0, 0x108, 8, H + 8 * P), 0);
	s2mmu_kunit_map(test, vm, 0x100);
	s2mmu_kunit_map(test, vm, 0x107);
	s2mmu_kunit_map(test, vm, 0x108);

	flushes = s2mmu_kunit_flushes(vm);
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 1, 0, 0, 0, 0), 0);
	KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, 0x100));
	KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, 0x107));
	KUNIT_EXPECT_TRUE(test, s2mmu_kunit_mapped(vm, 0x108));
	KUNIT_EXPECT_GT(test, s2mmu_kunit_flushes(vm),
			flushes);

	flushes = s2mmu_kunit_flushes(vm);
	KUNIT_EXPECT_EQ(test,
			s2mmu_kunit_set_slot(vm, 2, 0, 0x200, 8, H + 8 * P), 0);
	KUNIT_EXPECT_FALSE(test, s2mmu_kunit_mapped(vm, 0x108));
	KUNIT_EXPECT_GT(test, s2mmu_kunit_flushes(vm),
			flushes);
}

struct slot_writer {
	struct s2mmu_vm *vm;
	u32 id;
	u64 gfn;
	u64 npages;
	struct completion done;
	int ret;
};

static int slot_writer_fn(void *data)
{
	struct slot_writer *w = data;

	w->ret = s2mmu_kunit_set_slot(w->vm, w->id, 0, w->gfn, w->npages, H);
	/* All: the test may wait on it more than once. */
	complete_all(&w->done);
	return 0;
}

/*
 * Start a memslot update in a kthread while the test is a notifier
 * reader, and wait until it blocks on vm->mn_wait (or, wrongly, ends).
 */
static struct slot_writer *start_writer(struct kunit *test,
					struct s2mmu_vm *vm, u32 id, u64 gfn,
					u64 npages)
{
	struct task_struct *t;
	struct slot_writer *w;
	int i;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	*w = (struct slot_writer){ .vm = vm, .id = id, .gfn = gfn,
				   .npages = npages };
	init_completion(&w->done);
	t = kthread_run(slot_writer_fn, w, "s2mmu-kunit-slot");
	if (IS_ERR(t)) {
		kfree(w);
		return NULL;
	}
	/* Polls a condition; 10 s is only the bound on a broken writer. */
	for (i = 0; i < 1000 && !waitqueue_active(&vm->mn_wait); i++)
		if (wait_for_completion_timeout(&w->done,
						msecs_to_jiffies(10)))
			break;
	return w;
}

/* Let the writer finish; false if it does not within 10 s. */
static bool finish_writer(struct kunit *test, struct slot_writer *w)
{
	if (!wait_for_completion_timeout(&w->done, 10 * HZ)) {
		/* Still running: leak it rather than free it under it. */
		KUNIT_FAIL(test, "memslot update still blocked");
		return false;
	}
	return true;
}

/* A new slot is published only once no notifier reader is active. */
static void memslot_create_waits_for_readers_test(struct kunit *test)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, X86_48);
	struct slot_writer *w;
	struct hva_hits hits = { };

	s2mmu_mn_reader_begin(vm);
	s2mmu_mn_reader_begin(vm);
	w = start_writer(test, vm, 3, 0x300, 4);
	if (!w) {
		s2mmu_mn_reader_end(vm);
		s2mmu_mn_reader_end(vm);
		KUNIT_FAIL_AND_ABORT(test, "kthread_run failed");
	}
	/* The writer sleeps on mn_wait until this test wakes it: stable. */
	KUNIT_EXPECT_TRUE(test, waitqueue_active(&vm->mn_wait));
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));
	/* Neither index the notifier or the fault path read has it yet. */
	KUNIT_EXPECT_EQ(test, s2mmu_for_each_hva_slot(vm, H, H + 4 * P,
						      record_hit, &hits), 0);
	KUNIT_EXPECT_NULL(test, lookup(vm, 0x300));

	/* One reader left: still waiting. */
	s2mmu_mn_reader_end(vm);
	KUNIT_EXPECT_EQ(test, wait_for_completion_timeout(&w->done, HZ / 10),
			0);
	KUNIT_EXPECT_NULL(test, lookup(vm, 0x300));

	s2mmu_mn_reader_end(vm);
	if (!finish_writer(test, w))
		return;
	KUNIT_EXPECT_EQ(test, w->ret, 0);
	kfree(w);
	KUNIT_EXPECT_EQ(test, lookup_id(vm, 0x303), 3);
	KUNIT_EXPECT_EQ(test, hva_ids(vm, H, H + 4 * P, &hits), BIT(3));
}

/*
 * A deleted slot leaves the gfn tree at once, and the hva tree (and
 * memory) only once no notifier reader is active.
 */
static void memslot_delete_waits_for_readers_test(struct kunit *test)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, X86_48);
	struct s2mmu_memslot *slot;
	struct slot_writer *w;
	struct hva_hits hits = { };

	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 3, 0, 0x300, 4, H), 0);
	s2mmu_mn_reader_begin(vm);
	w = start_writer(test, vm, 3, 0, 0);
	if (!w) {
		s2mmu_mn_reader_end(vm);
		KUNIT_FAIL_AND_ABORT(test, "kthread_run failed");
	}
	/* The writer sleeps on mn_wait until this test wakes it: stable. */
	KUNIT_EXPECT_TRUE(test, waitqueue_active(&vm->mn_wait));
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));
	/* A fault finds only the stand-in: it waits for the delete. */
	slot = lookup(vm, 0x300);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_TRUE(test, slot->flags & S2MMU_SLOT_INVALID);
	/* This reader still sees it, and may use it. */
	KUNIT_EXPECT_EQ(test, s2mmu_for_each_hva_slot(vm, H, H + 4 * P,
						      record_hit, &hits),
			BIT(3));
	KUNIT_EXPECT_EQ(test, hits.hit[0].start, 0x300);

	s2mmu_mn_reader_end(vm);
	if (!finish_writer(test, w))
		return;
	KUNIT_EXPECT_EQ(test, w->ret, 0);
	kfree(w);
	KUNIT_EXPECT_EQ(test, hva_ids(vm, H, H + 4 * P, &hits), 0);
	KUNIT_EXPECT_EQ(test, vm->nr_slots, 0);
}

/*
 * What a reader inside a withdrawal's grace period can be left holding.
 * The hook runs after the slot left the gfn tree and the generation was
 * bumped, before synchronize_srcu().  It plays a vCPU on a weakly ordered
 * CPU whose slot-cache refill saw the new generation but the old tree:
 * it caches the withdrawn slot under the new generation.  It also
 * records what a fault on @grace_gfn finds at that moment.
 */
static struct s2mmu_slot_cache grace_cache;
static struct s2mmu_memslot grace_found;
static bool grace_found_any;
static u64 grace_gfn;

static void grace_hook(struct s2mmu_vm *vm, struct s2mmu_memslot *slot)
{
	struct s2mmu_memslot *now = s2mmu_gfn_to_memslot(vm, grace_gfn);

	grace_cache.slot = slot;
	grace_cache.gen = READ_ONCE(vm->slots_gen);
	grace_found_any = now;
	if (now)
		grace_found = *now;
}

static void grace_hook_clear(void *data)
{
	WRITE_ONCE(s2mmu_memslot_test_grace_hook, NULL);
}

/*
 * A slot cache filled during a withdrawal's grace period never hands out
 * the withdrawn (freed) slot afterwards: the generation is bumped again
 * once the grace period is over.
 */
static void memslot_cache_generation_test(struct kunit *test)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, X86_48);
	struct s2mmu_slot_cache cache = { };
	struct s2mmu_memslot *slot;
	unsigned long gen;

	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 1, 0, 0x100, 16, H), 0);
	slot = s2mmu_gfn_to_memslot_cached(vm, &cache, 0x105);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_PTR_EQ(test,
			    s2mmu_gfn_to_memslot_cached(vm, &cache, 0x10f),
			    slot);

	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, grace_hook_clear,
							NULL), 0);
	grace_gfn = 0x105;
	WRITE_ONCE(s2mmu_memslot_test_grace_hook, grace_hook);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 1, 0, 0, 0, 0), 0);
	WRITE_ONCE(s2mmu_memslot_test_grace_hook, NULL);
	KUNIT_EXPECT_PTR_EQ(test, grace_cache.slot, slot);
	/* Being deleted: a fault finds the stand-in and waits. */
	KUNIT_EXPECT_TRUE(test, grace_found_any);
	KUNIT_EXPECT_TRUE(test, grace_found.flags & S2MMU_SLOT_INVALID);

	/* The slot is freed: the entry cached in the grace period is dead. */
	gen = READ_ONCE(vm->slots_gen);
	KUNIT_ASSERT_NE_MSG(test, grace_cache.gen, gen,
			    "a slot cached in the grace period outlives the slot");
	KUNIT_EXPECT_NULL(test,
			  s2mmu_gfn_to_memslot_cached(vm, &grace_cache, 0x105));
	KUNIT_EXPECT_NULL(test, s2mmu_gfn_to_memslot_cached(vm, &cache, 0x105));
}

/*
 * A move never leaves a gfn that is in the slot before and after it
 * without a slot: during the move it finds a stand-in flagged invalid (a
 * fault retries), and afterwards the moved slot; gfns only in the old
 * range are free afterwards, with no stand-in left behind.
 */
static void memslot_move_stand_in_test(struct kunit *test)
{
	struct s2mmu_vm *vm = s2mmu_kunit_vm_create(test, X86_48);
	struct s2mmu_slot_cache cache = { };
	struct s2mmu_memslot *slot;
	u64 gfn;

	/* [0x200, 0x210) moves to [0x208, 0x218): 0x20c is in both. */
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 2, 0, 0x200, 16, H), 0);
	slot = s2mmu_gfn_to_memslot_cached(vm, &cache, 0x20c);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, grace_hook_clear,
							NULL), 0);
	grace_gfn = 0x20c;
	WRITE_ONCE(s2mmu_memslot_test_grace_hook, grace_hook);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 2, 0, 0x208, 16, H), 0);
	WRITE_ONCE(s2mmu_memslot_test_grace_hook, NULL);

	KUNIT_ASSERT_TRUE_MSG(test, grace_found_any,
			      "a gfn in both ranges had no slot during the move");
	KUNIT_EXPECT_TRUE(test, grace_found.flags & S2MMU_SLOT_INVALID);
	KUNIT_EXPECT_EQ(test, grace_found.base_gfn, 0x200);
	KUNIT_EXPECT_NE(test, grace_cache.gen, READ_ONCE(vm->slots_gen));

	for (gfn = 0x1f0; gfn < 0x228; gfn++) {
		struct s2mmu_memslot *now = s2mmu_gfn_to_memslot(vm, gfn);

		if (gfn < 0x208 || gfn >= 0x218) {
			KUNIT_EXPECT_NULL_MSG(test, now, "gfn %#llx", gfn);
			continue;
		}
		KUNIT_ASSERT_NOT_NULL_MSG(test, now, "gfn %#llx", gfn);
		KUNIT_EXPECT_EQ(test, now->base_gfn, 0x208);
		KUNIT_EXPECT_FALSE(test, now->flags & S2MMU_SLOT_INVALID);
	}
	slot = s2mmu_gfn_to_memslot_cached(vm, &cache, 0x20c);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_EQ(test, slot->base_gfn, 0x208);

	/* Into the middle of its own range, and away to a disjoint one. */
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 3, 0, 0x1000, 64,
						   H + 64 * P), 0);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 4, 0, 0x1010, 16,
						   H + 256 * P), -EEXIST);
	KUNIT_ASSERT_EQ(test, s2mmu_kunit_set_slot(vm, 3, 0, 0x2000, 64,
						   H + 64 * P), 0);
	for (gfn = 0x1000; gfn < 0x1040; gfn++)
		KUNIT_EXPECT_NULL_MSG(test, s2mmu_gfn_to_memslot(vm, gfn),
				      "gfn %#llx", gfn);
	KUNIT_EXPECT_EQ(test, s2mmu_kunit_set_slot(vm, 4, 0, 0x1010, 16,
						   H + 256 * P), 0);
	KUNIT_EXPECT_EQ(test, vm->nr_slots, 3);
}

static struct kunit_case memslot_cases[] = {
	KUNIT_CASE_PARAM(memslot_check_test, memslot_check_gen_params),
	KUNIT_CASE(memslot_check_task_size_test),
	KUNIT_CASE(memslot_vm_width_test),
	KUNIT_CASE(memslot_max_level_test),
	KUNIT_CASE(memslot_lookup_boundaries_test),
	KUNIT_CASE(memslot_hva_ranges_test),
	KUNIT_CASE(memslot_create_move_delete_test),
	KUNIT_CASE(memslot_delete_zaps_test),
	KUNIT_CASE(memslot_create_waits_for_readers_test),
	KUNIT_CASE(memslot_delete_waits_for_readers_test),
	KUNIT_CASE(memslot_cache_generation_test),
	KUNIT_CASE(memslot_move_stand_in_test),
	{}
};

static struct kunit_suite memslot_suite = {
	.name = "s2mmu_memslot",
	.test_cases = memslot_cases,
};

kunit_test_suites(&memslot_suite);
