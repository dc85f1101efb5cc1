// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: dirty logging (S2MMU_MEM_LOG_DIRTY_PAGES,
 * S2MMU_GET_DIRTY_LOG, S2MMU_CLEAR_DIRTY_LOG) and the capability ioctls.
 *
 * - caps: S2MMU_CHECK_EXTENSION answers and S2MMU_ENABLE_CAP's rules,
 *   S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES included.
 * - bad_input: KVM's errnos for GET and CLEAR.
 * - log (per mode, with and without manual protect and initially-set):
 *   exactly the pages written are reported; a second write after a
 *   harvest is reported again (in Dirty-bit mode only if the harvest's
 *   clear of Dirty flushed the vCPU's TLB).
 * - slot_ops: toggling on a live slot, huge leaves split and back, a move
 *   keeping the bitmap, delete, host writes not logged.
 * - stress (KVM's dirty_log_test idea): a vCPU thread writes random pages
 *   (a new value each time) while the VMM collects, clears and copies the
 *   reported pages into a shadow, zaps ranges (MADV_DONTNEED) and
 *   collapses THP; at the end the shadow equals guest memory, so no write
 *   was lost.  $S2MMU_DIRTY_LOG_ITERS harvests (default 24, about 0.2 s).
 * - race_harvest (test flavour): a harvest inside the window between a
 *   write fault's mark and its install still lets the write show up.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define HPAGE		S2MMU_PMD_SIZE
#define GPA_BASE	0x40000000ULL
#define NPAGES		1024			/* 4 MiB: two 2 MiB regions */
#define SIZE		(NPAGES * PG)
#define WORDS(n)	(((n) + 63) / 64)
#define DELAY_KNOB	S2MMU_KNOB("test_dirty_mark_delay_ms")

static int enable_cap(int vm, __u32 cap, __u64 arg0)
{
	struct s2mmu_enable_cap c = { .cap = cap, .args = { arg0 } };

	return ioctl(vm, S2MMU_ENABLE_CAP, &c) ? -errno : 0;
}

static int get_log(int vm, __u32 slot, __u64 *bitmap)
{
	struct s2mmu_dirty_log l = { .slot = slot, .dirty_bitmap = bitmap };

	return ioctl(vm, S2MMU_GET_DIRTY_LOG, &l) ? -errno : 0;
}

static int clear_log(int vm, __u32 slot, __u64 first, __u32 num,
		     __u64 *bitmap)
{
	struct s2mmu_clear_dirty_log l = {
		.slot = slot, .first_page = first, .num_pages = num,
		.dirty_bitmap = bitmap,
	};

	return ioctl(vm, S2MMU_CLEAR_DIRTY_LOG, &l) ? -errno : 0;
}

static bool test_bit64(const __u64 *b, unsigned long i)
{
	return b[i / 64] & (1ULL << (i % 64));
}

static void set_bit64(__u64 *b, unsigned long i)
{
	b[i / 64] |= 1ULL << (i % 64);
}

/* 2 MiB-aligned memory, THP-backed when the host has THP. */
static char *thp_mem(size_t size)
{
	char *mem = s2mmu_alloc_aligned(size, HPAGE);

	if (mem) {
		madvise(mem, size, MADV_HUGEPAGE);
		memset(mem, 0, size);
	}
	return mem;
}

/* Write @val at offset 0 of guest page @i. */
static int guest_put(int vcpu, struct s2mmu_run *run, unsigned long i,
		     __u64 val)
{
	return s2mmu_guest_write(vcpu, run, GPA_BASE + i * PG, &val,
				 sizeof(val));
}

TEST(caps)
{
	int dev = s2mmu_open(), vm, arm, vcpu;
	struct s2mmu_vm_info info;
	struct s2mmu_enable_cap c;

	ASSERT_LE(0, dev);
	EXPECT_EQ(3, ioctl(dev, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2));
	EXPECT_EQ(1, ioctl(dev, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES));
	EXPECT_EQ(3, ioctl(dev, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_DIRTY_LOG_MODE));
	EXPECT_EQ(1, ioctl(dev, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_DIRTY_LOG_EAGER_SPLIT));
	EXPECT_EQ(1, ioctl(dev, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_BINARY_STATS_FD));
	/* Guest-private memory, KVM's numbers and answers. */
	EXPECT_EQ(1, ioctl(dev, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_GUEST_MEMFD));
	EXPECT_EQ(1, ioctl(dev, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_USER_MEMORY2));
	EXPECT_EQ(S2MMU_MEMORY_ATTRIBUTE_PRIVATE,
		  ioctl(dev, S2MMU_CHECK_EXTENSION,
			S2MMU_CAP_MEMORY_ATTRIBUTES));
	EXPECT_EQ(0, ioctl(dev, S2MMU_CHECK_EXTENSION, 0));
	EXPECT_EQ(0, ioctl(dev, S2MMU_CHECK_EXTENSION, 999999));
	close(dev);

	vm = s2mmu_create_vm(S2MMU_VM_X86_TDP);
	arm = s2mmu_create_vm(S2MMU_VM_ARM64_S2);
	ASSERT_LE(0, vm);
	ASSERT_LE(0, arm);
	EXPECT_EQ(3, ioctl(vm, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2));
	EXPECT_EQ(3, ioctl(arm, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2));
	/* NX huge pages: the x86 format's only. */
	EXPECT_EQ(1, ioctl(vm, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES));
	EXPECT_EQ(0, ioctl(arm, S2MMU_CHECK_EXTENSION,
			   S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES));

	/* ENABLE_CAP: flags, pad, unknown caps, bad args. */
	memset(&c, 0, sizeof(c));
	c.cap = S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2;
	c.args[0] = S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
	c.flags = 1;
	EXPECT_EQ(-1, ioctl(vm, S2MMU_ENABLE_CAP, &c));
	EXPECT_EQ(EINVAL, errno);
	c.flags = 0;
	c.pad[63] = 1;
	EXPECT_EQ(-1, ioctl(vm, S2MMU_ENABLE_CAP, &c));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, enable_cap(vm, 999999, 0));
	EXPECT_EQ(-EINVAL, enable_cap(vm, S2MMU_CAP_BINARY_STATS_FD, 0));
	EXPECT_EQ(-EINVAL, enable_cap(vm, S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2,
				      S2MMU_DIRTY_LOG_INITIALLY_SET));
	EXPECT_EQ(-EINVAL, enable_cap(vm, S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2, 4));
	EXPECT_EQ(0, enable_cap(vm, S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2, 3));
	EXPECT_EQ(0, enable_cap(vm, S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0));
	EXPECT_EQ(-EINVAL, enable_cap(vm, S2MMU_CAP_DIRTY_LOG_MODE, 0));
	EXPECT_EQ(-EINVAL, enable_cap(vm, S2MMU_CAP_DIRTY_LOG_MODE, 3));
	EXPECT_EQ(-EINVAL, enable_cap(vm, S2MMU_CAP_DIRTY_LOG_EAGER_SPLIT, 2));
	EXPECT_EQ(0, enable_cap(vm, S2MMU_CAP_DIRTY_LOG_EAGER_SPLIT, 0));

	/* NX opt-out: args zero, x86 only, before the first vCPU. */
	EXPECT_EQ(-EINVAL, enable_cap(vm, S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES, 1));
	EXPECT_EQ(-EINVAL, enable_cap(arm, S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES, 0));
	EXPECT_EQ(0, enable_cap(vm, S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES, 0));
	vcpu = s2mmu_create_vcpu(vm, 0);
	ASSERT_LE(0, vcpu);
	EXPECT_EQ(-EINVAL, enable_cap(vm, S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES, 0));
	ASSERT_EQ(0, s2mmu_vm_info(vm, &info));
	EXPECT_FALSE(info.flags & S2MMU_VM_INFO_NX_HUGE_PAGES);
	close(vcpu);
	close(vm);
	close(arm);

	/* Without CAP_SYS_BOOT: -EPERM, as KVM. */
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		int v = s2mmu_create_vm(S2MMU_VM_X86_TDP);

		if (v < 0 || s2mmu_drop_cap(CAP_SYS_BOOT))
			_exit(2);
		_exit(enable_cap(v, S2MMU_CAP_VM_DISABLE_NX_HUGE_PAGES, 0) ==
		      -EPERM ? 0 : 1);
	}
	int status;

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

FIXTURE(dirty) {
	int vm, vcpu;
	struct s2mmu_run *run;
	char *mem;
	__u64 bm[WORDS(NPAGES)];
};

FIXTURE_VARIANT(dirty) {
	unsigned long type;
	__u32 mode;
	__u32 manual;
	bool no_eager_split;
};

FIXTURE_VARIANT_ADD(dirty, wp) {
	.type = S2MMU_VM_X86_TDP, .mode = S2MMU_DIRTY_LOG_MODE_WRPROT,
};

FIXTURE_VARIANT_ADD(dirty, wp_manual) {
	.type = S2MMU_VM_X86_TDP, .mode = S2MMU_DIRTY_LOG_MODE_WRPROT,
	.manual = S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
};

FIXTURE_VARIANT_ADD(dirty, wp_initset) {
	.type = S2MMU_VM_X86_TDP, .mode = S2MMU_DIRTY_LOG_MODE_WRPROT,
	.manual = S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
		  S2MMU_DIRTY_LOG_INITIALLY_SET,
};

FIXTURE_VARIANT_ADD(dirty, wp_lazy_split) {
	.type = S2MMU_VM_X86_TDP, .mode = S2MMU_DIRTY_LOG_MODE_WRPROT,
	.no_eager_split = true,
};

FIXTURE_VARIANT_ADD(dirty, dbit) {
	.type = S2MMU_VM_X86_TDP, .mode = S2MMU_DIRTY_LOG_MODE_DBIT,
};

FIXTURE_VARIANT_ADD(dirty, dbit_manual) {
	.type = S2MMU_VM_X86_TDP, .mode = S2MMU_DIRTY_LOG_MODE_DBIT,
	.manual = S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
};

FIXTURE_VARIANT_ADD(dirty, arm64_dbit_initset) {
	.type = S2MMU_VM_ARM64_S2, .mode = S2MMU_DIRTY_LOG_MODE_DBIT,
	.manual = S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
		  S2MMU_DIRTY_LOG_INITIALLY_SET,
};

FIXTURE_VARIANT_ADD(dirty, arm64_wp_manual) {
	.type = S2MMU_VM_ARM64_S2, .mode = S2MMU_DIRTY_LOG_MODE_WRPROT,
	.manual = S2MMU_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
};

FIXTURE_SETUP(dirty)
{
	self->mem = thp_mem(SIZE);
	ASSERT_NE(NULL, self->mem);
	s2mmu_setup_guest(_metadata, variant->type, NULL, 0, 0, &self->vm,
			  &self->vcpu, &self->run);
	ASSERT_EQ(0, enable_cap(self->vm, S2MMU_CAP_DIRTY_LOG_MODE,
				variant->mode));
	ASSERT_EQ(0, enable_cap(self->vm, S2MMU_CAP_MANUAL_DIRTY_LOG_PROTECT2,
				variant->manual));
	ASSERT_EQ(0, enable_cap(self->vm, S2MMU_CAP_DIRTY_LOG_EAGER_SPLIT,
				!variant->no_eager_split));
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, SIZE,
				      (unsigned long)self->mem));
}

FIXTURE_TEARDOWN(dirty)
{
	s2mmu_teardown_guest(_metadata, self->vm, self->vcpu, self->run,
			     self->mem, SIZE);
}

/* Start logging slot 0 (a flag change on the live slot). */
static void log_on(struct __test_metadata *_metadata, int vm, char *mem)
{
	ASSERT_EQ(0, s2mmu_set_region(vm, 0, S2MMU_MEM_LOG_DIRTY_PAGES,
				      GPA_BASE, SIZE, (unsigned long)mem));
}

/*
 * One collection: GET, and with manual protect CLEAR of what GET
 * reported (before the caller copies the pages, as KVM requires).
 */
static void collect(struct __test_metadata *_metadata, int vm, bool manual,
		    __u64 *bm)
{
	ASSERT_EQ(0, get_log(vm, 0, bm));
	if (manual)
		ASSERT_EQ(0, clear_log(vm, 0, 0, NPAGES, bm));
}

static unsigned long count_bits(const __u64 *bm)
{
	unsigned long i, n = 0;

	for (i = 0; i < WORDS(NPAGES); i++)
		n += __builtin_popcountll(bm[i]);
	return n;
}

TEST_F(dirty, log)
{
	bool manual = variant->manual;
	static const unsigned long pages[] = { 0, 1, 63, 64, 511, 512, 1000,
					       1023 };
	__u64 want[WORDS(NPAGES)] = { 0 };
	struct s2mmu_translation t;
	unsigned long i, round;
	__u64 v = 0;

	/* Map every page (reads), some of it huge, before logging starts. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_touch(self->vcpu, self->run,
						     GPA_BASE, SIZE, false,
						     PG, 1));
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_put(self->vcpu, self->run, 5, 1));
	log_on(_metadata, self->vm, self->mem);

	/* Reads are not writes. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_touch(self->vcpu, self->run,
						     GPA_BASE, SIZE, false,
						     PG, 1));
	/* Logged: 4 KiB leaves only (eagerly split, or mapped 4 KiB). */
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 3 * PG, &t));
	EXPECT_TRUE(t.present);
	if (!variant->no_eager_split)
		EXPECT_EQ(0, t.level);

	if (variant->manual & S2MMU_DIRTY_LOG_INITIALLY_SET) {
		ASSERT_EQ(0, get_log(self->vm, 0, self->bm));
		EXPECT_EQ(NPAGES, count_bits(self->bm));
		ASSERT_EQ(0, clear_log(self->vm, 0, 0, NPAGES, self->bm));
	}
	ASSERT_EQ(0, get_log(self->vm, 0, self->bm));
	EXPECT_EQ(0, count_bits(self->bm));

	for (i = 0; i < ARRAY_SIZE(pages); i++)
		set_bit64(want, pages[i]);
	for (round = 0; round < 3; round++) {
		/* The same pages each round: through the TLB from round 1. */
		for (i = 0; i < ARRAY_SIZE(pages); i++)
			ASSERT_EQ(S2MMU_EXIT_DONE,
				  guest_put(self->vcpu, self->run, pages[i],
					    ++v));
		ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + PG, &t));
		EXPECT_EQ(0, t.level);
		collect(_metadata, self->vm, manual, self->bm);
		for (i = 0; i < WORDS(NPAGES); i++) {
			EXPECT_EQ(want[i], self->bm[i])
				TH_LOG("round %lu word %lu: %#llx, want %#llx",
				       round, i, (unsigned long long)self->bm[i],
				       (unsigned long long)want[i]);
		}
		/* Clean now: nothing until the next write. */
		ASSERT_EQ(0, get_log(self->vm, 0, self->bm));
		EXPECT_EQ(0, count_bits(self->bm)) TH_LOG("round %lu", round);
	}

	/* A GET of a manual-protect VM does not clean. */
	if (manual) {
		ASSERT_EQ(S2MMU_EXIT_DONE, guest_put(self->vcpu, self->run, 7,
						     ++v));
		ASSERT_EQ(0, get_log(self->vm, 0, self->bm));
		ASSERT_EQ(0, get_log(self->vm, 0, self->bm));
		EXPECT_TRUE(test_bit64(self->bm, 7));
		/* A partial clear: pages 64-127 only. */
		ASSERT_EQ(S2MMU_EXIT_DONE, guest_put(self->vcpu, self->run, 70,
						     ++v));
		memset(self->bm, 0xff, sizeof(self->bm));
		ASSERT_EQ(0, clear_log(self->vm, 0, 64, 64, self->bm));
		ASSERT_EQ(0, get_log(self->vm, 0, self->bm));
		EXPECT_TRUE(test_bit64(self->bm, 7));
		EXPECT_FALSE(test_bit64(self->bm, 70));
	}
}

TEST_F(dirty, slot_ops)
{
	struct s2mmu_translation t;
	bool huge = s2mmu_thp_available();
	__u64 v = 0;

	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_touch(self->vcpu, self->run,
						     GPA_BASE, SIZE, false,
						     PG, 1));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE, &t));
	huge = huge && t.level == 1;

	/* Not logging: -ENOENT, as KVM. */
	EXPECT_EQ(-ENOENT, get_log(self->vm, 0, self->bm));

	log_on(_metadata, self->vm, self->mem);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_put(self->vcpu, self->run, 3, ++v));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 3 * PG, &t));
	EXPECT_EQ(0, t.level);
	EXPECT_TRUE(t.writable);

	/* A host write is not logged, as in KVM. */
	memset(self->mem + 9 * PG, 0x5a, 8);

	/* A move keeps the bitmap (and logging), as KVM. */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, S2MMU_MEM_LOG_DIRTY_PAGES,
				      GPA_BASE + 64 * HPAGE, SIZE,
				      (unsigned long)self->mem));
	ASSERT_EQ(0, get_log(self->vm, 0, self->bm));
	EXPECT_TRUE(test_bit64(self->bm, 3));
	if (!(variant->manual & S2MMU_DIRTY_LOG_INITIALLY_SET)) {
		EXPECT_FALSE(test_bit64(self->bm, 9));
		EXPECT_EQ(1, count_bits(self->bm));
	}
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, S2MMU_MEM_LOG_DIRTY_PAGES,
				      GPA_BASE, SIZE,
				      (unsigned long)self->mem));

	/* Off: no log; the slot may map huge again. */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 0, 0, GPA_BASE, SIZE,
				      (unsigned long)self->mem));
	EXPECT_EQ(-ENOENT, get_log(self->vm, 0, self->bm));
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_put(self->vcpu, self->run, 3, ++v));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 3 * PG, &t));
	if (huge)
		EXPECT_EQ(1, t.level);

	/* On again: a fresh bitmap (all set with initially-set). */
	log_on(_metadata, self->vm, self->mem);
	ASSERT_EQ(0, get_log(self->vm, 0, self->bm));
	EXPECT_EQ(variant->manual & S2MMU_DIRTY_LOG_INITIALLY_SET ? NPAGES : 0,
		  count_bits(self->bm));
	ASSERT_EQ(0, s2mmu_translate(self->vcpu, GPA_BASE + 3 * PG, &t));
	if (!variant->no_eager_split)
		EXPECT_EQ(0, t.level);
	EXPECT_FALSE(t.writable);
	S2MMU_EXPECT_INVARIANTS(self->vm);

	/* Deleted: -ENOENT. */
	ASSERT_EQ(0, s2mmu_delete_region(self->vm, 0));
	EXPECT_EQ(-ENOENT, get_log(self->vm, 0, self->bm));
}

TEST_F(dirty, bad_input)
{
	__u64 big[WORDS(NPAGES) + 1] = { 0 };
	struct s2mmu_dirty_log l = { .dirty_bitmap = self->bm };
	bool manual = variant->manual;

	EXPECT_EQ(-ENOENT, get_log(self->vm, 1, self->bm));
	EXPECT_EQ(-EINVAL, get_log(self->vm, S2MMU_MAX_MEMSLOTS, self->bm));
	EXPECT_EQ(-EINVAL, get_log(self->vm, 1U << 16, self->bm));
	EXPECT_EQ(-EINVAL, clear_log(self->vm, 1U << 16, 0, 64, big));
	log_on(_metadata, self->vm, self->mem);
	EXPECT_EQ(0, get_log(self->vm, 0, self->bm));
	EXPECT_EQ(-EFAULT, get_log(self->vm, 0, (__u64 *)8));
	l.padding1 = 1;
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_GET_DIRTY_LOG, &l));
	EXPECT_EQ(EINVAL, errno);

	if (!manual) {
		/* CLEAR needs manual protect. */
		EXPECT_EQ(-EINVAL, clear_log(self->vm, 0, 0, 64, big));
		return;
	}
	EXPECT_EQ(0, clear_log(self->vm, 0, 0, 64, big));
	EXPECT_EQ(0, clear_log(self->vm, 0, 0, NPAGES, big));
	EXPECT_EQ(0, clear_log(self->vm, 0, 64, 0, big));
	EXPECT_EQ(-EINVAL, clear_log(self->vm, 0, 1, 64, big));
	EXPECT_EQ(-EINVAL, clear_log(self->vm, 0, 32, 32, big));
	EXPECT_EQ(-EINVAL, clear_log(self->vm, 0, 0, 65, big));
	EXPECT_EQ(-EINVAL, clear_log(self->vm, 0, 0, NPAGES + 64, big));
	EXPECT_EQ(-EINVAL, clear_log(self->vm, 0, NPAGES + 64, 0, big));
	EXPECT_EQ(-EINVAL, clear_log(self->vm, 0, NPAGES - 64, 128, big));
	EXPECT_EQ(-ENOENT, clear_log(self->vm, 1, 0, 64, big));
	EXPECT_EQ(-EFAULT, clear_log(self->vm, 0, 0, 64, (__u64 *)8));

	/* A slot of 100 pages: a clear may end at its end unaligned. */
	ASSERT_EQ(0, s2mmu_set_region(self->vm, 2, S2MMU_MEM_LOG_DIRTY_PAGES,
				      GPA_BASE + 64 * HPAGE, 100 * PG,
				      (unsigned long)self->mem));
	memset(big, 0xff, sizeof(big));
	EXPECT_EQ(0, clear_log(self->vm, 2, 64, 36, big));
	EXPECT_EQ(0, clear_log(self->vm, 2, 0, 100, big));
	EXPECT_EQ(-EINVAL, clear_log(self->vm, 2, 64, 35, big));
	EXPECT_EQ(-EINVAL, clear_log(self->vm, 2, 64, 37, big));
	EXPECT_EQ(-EINVAL, clear_log(self->vm, 2, 128, 0, big));
	EXPECT_EQ(0, get_log(self->vm, 2, big));
	/* Bits past the slot's end are never reported. */
	EXPECT_EQ(0, big[1] >> 36);
	EXPECT_EQ(0, s2mmu_delete_region(self->vm, 2));
}

struct writer {
	int vcpu;
	struct s2mmu_run *run;
	__u64 seed;
	bool stop;		/* read and written with __atomic */
	unsigned long writes;
	int err;
};

/* The guest: batches of 64 writes of a new value to random pages. */
static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	struct s2mmu_access a[64];
	__u64 vals[64], gen = 0;
	int i, ret;

	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < 64; i++) {
			__u64 page = s2mmu_rand_below(&w->seed, NPAGES);

			vals[i] = (++gen << 16) | page;
			a[i] = (struct s2mmu_access) {
				.gpa = GPA_BASE + page * PG +
				       (s2mmu_rand_below(&w->seed, 8) * 8),
				.len = 8,
				.uaddr = (unsigned long)&vals[i],
				.op = S2MMU_OP_WRITE,
			};
		}
		ret = s2mmu_vcpu_run(w->vcpu, w->run, a, 64);
		if (ret != S2MMU_EXIT_DONE) {
			w->err = ret;
			break;
		}
		w->writes += 64;
	}
	return NULL;
}

/* Copy the reported pages into the shadow. */
static void copy_reported(const __u64 *bm, const char *mem, char *shadow)
{
	unsigned long i;

	for (i = 0; i < NPAGES; i++)
		if (test_bit64(bm, i))
			memcpy(shadow + i * PG, mem + i * PG, 64);
}

TEST_F(dirty, stress)
{
	unsigned long iters = s2mmu_env_ull("S2MMU_DIRTY_LOG_ITERS", 24);
	bool manual = variant->manual;
	struct writer w = {
		.vcpu = self->vcpu, .run = self->run, .seed = s2mmu_seed(1),
	};
	__u64 rnd = s2mmu_seed(7);
	unsigned long it, i, bad = 0;
	pthread_t th;
	char *shadow;

	shadow = calloc(NPAGES, PG);
	ASSERT_NE(NULL, shadow);
	/* Start with every page mapped, most of them huge. */
	ASSERT_EQ(S2MMU_EXIT_DONE, s2mmu_guest_touch(self->vcpu, self->run,
						     GPA_BASE, SIZE, true,
						     PG, 1));
	log_on(_metadata, self->vm, self->mem);
	/* The baseline: all of memory (initially-set reports it all). */
	collect(_metadata, self->vm, manual, self->bm);
	memcpy(shadow, self->mem, SIZE);

	ASSERT_EQ(0, pthread_create(&th, NULL, writer_fn, &w));
	for (it = 0; it < iters; it++) {
		usleep(2000 + s2mmu_rand_below(&rnd, 8000));
		collect(_metadata, self->vm, manual, self->bm);
		copy_reported(self->bm, self->mem, shadow);
		if (it % 8 == 3) {
			/* A host zap: the VMM knows the pages are zero now. */
			unsigned long p = s2mmu_rand_below(&rnd, NPAGES - 16);

			ASSERT_EQ(0, madvise(self->mem + p * PG, 16 * PG,
					     MADV_DONTNEED));
			memset(shadow + p * PG, 0, 16 * PG);
		}
		if (it % 8 == 7) {
			/* THP collapse of one region, when the host can. */
			unsigned long r = s2mmu_rand_below(&rnd, SIZE / HPAGE);

			madvise(self->mem + r * HPAGE, HPAGE, MADV_COLLAPSE);
		}
	}
	__atomic_store_n(&w.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	ASSERT_EQ(0, w.err);
	/* The last collection, with the guest stopped. */
	collect(_metadata, self->vm, manual, self->bm);
	copy_reported(self->bm, self->mem, shadow);

	for (i = 0; i < NPAGES; i++) {
		if (!memcmp(shadow + i * PG, self->mem + i * PG, 64))
			continue;
		if (bad++ < 8)
			TH_LOG("page %lu: shadow %#llx, memory %#llx: a write was not reported",
			       i, *(unsigned long long *)(shadow + i * PG),
			       *(unsigned long long *)(self->mem + i * PG));
	}
	EXPECT_EQ(0, bad) TH_LOG("%lu writes, %lu harvests", w.writes, iters);
	free(shadow);
}

/*
 * A harvest between a write fault's mark and its install (the test
 * flavour holds the fault there, under mmu_lock for read, 600 ms): the
 * harvest waits for the install and protects the page again, so the write
 * is in this harvest's copy or in the next harvest.  If harvests did not
 * exclude the window, this one would take the mark, the VMM would copy the
 * page before the write landed, and the next harvest would miss it.
 */
struct one_write {
	int vcpu;
	struct s2mmu_run *run;
	unsigned long page;
	__u64 val;
	int ret;
};

static void *one_write_fn(void *arg)
{
	struct one_write *o = arg;

	o->ret = guest_put(o->vcpu, o->run, o->page, o->val);
	return NULL;
}

TEST_F(dirty, race_harvest)
{
	struct one_write o = {
		.vcpu = self->vcpu, .run = self->run, .page = 17,
		.val = 0x1234567,
	};
	bool manual = variant->manual;
	__u64 shadow;
	pthread_t th;
	int h;

	if (!s2mmu_have_knob(DELAY_KNOB))
		SKIP(return, "needs the test flavour (%s)", DELAY_KNOB);
	/* The x86 write-protection variants: the window is the format's. */
	if (variant->mode != S2MMU_DIRTY_LOG_MODE_WRPROT ||
	    variant->type != S2MMU_VM_X86_TDP || variant->no_eager_split ||
	    (variant->manual & S2MMU_DIRTY_LOG_INITIALLY_SET))
		SKIP(return, "x86 write-protection variants with clean pages only");
	/* Page 17 mapped read-only, clean; the VMM's copy is current. */
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_put(self->vcpu, self->run, 17, 1));
	log_on(_metadata, self->vm, self->mem);
	collect(_metadata, self->vm, manual, self->bm);
	memcpy(&shadow, self->mem + 17 * PG, 8);
	ASSERT_EQ(1, shadow);

	ASSERT_EQ(0, s2mmu_set_knob(DELAY_KNOB, 600));
	ASSERT_EQ(0, pthread_create(&th, NULL, one_write_fn, &o));
	/* Well inside the fault's 600 ms window: two harvests, then done. */
	usleep(200 * 1000);
	for (h = 0; h < 2; h++) {
		collect(_metadata, self->vm, manual, self->bm);
		if (test_bit64(self->bm, 17))
			memcpy(&shadow, self->mem + 17 * PG, 8);
		if (!h)
			pthread_join(th, NULL);
	}
	s2mmu_set_knob(DELAY_KNOB, 0);
	ASSERT_EQ(S2MMU_EXIT_DONE, o.ret);
	EXPECT_EQ(o.val, shadow)
		TH_LOG("the VMM's copy of the page is stale: the write was lost");
}

TEST_HARNESS_MAIN
