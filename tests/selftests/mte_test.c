// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: MTE VMs (S2MMU_VM_ARM64_MTE).
 *
 * A guest of an MTE VM sees the allocation tags of every page mapped
 * into it, so the module must give a page clean tags the first time it
 * maps it, without wiping tags someone else (the host's PROT_MTE
 * mapping, another VM, COPY_TAGS) has already initialised.  The guest's
 * view is S2MMU_OP_LOAD_TAGS / S2MMU_OP_STORE_TAGS (what LDG and STG
 * would see through stage 2).
 *
 * Real on arm64 hosts with MTE (QEMU -M virt,mte=on -cpu max); on every
 * other target only the refusals run and the rest skip.
 *
 * stale_tags is not vacuous: with the test flavour's knob
 * test_mte_skip_sanitise set, stale_tags_unsanitised expects (and
 * checks) that the guest does see the previous user's tags.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/wait.h>

#include <linux/falloc.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define GRANULE		S2MMU_MTE_GRANULE_SIZE
#define TAGS_PER_PAGE	(PG / GRANULE)
#define GPA_BASE	0x40000000ULL

#ifndef PROT_MTE
#define PROT_MTE	0x20
#endif
#ifndef HWCAP2_MTE
#define HWCAP2_MTE	0x40000UL	/* bit 18 */
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC	1U
#endif

#define KNOB_SKIP	S2MMU_KNOB("test_mte_skip_sanitise")
#define MTE_VM		(S2MMU_VM_ARM64_S2 | S2MMU_VM_ARM64_MTE)

/* The host can run MTE guests: arm64 with MTE for userspace. */
static bool host_has_mte(void)
{
#ifdef __aarch64__
	return getauxval(AT_HWCAP2) & HWCAP2_MTE;
#else
	return false;
#endif
}

#define NO_MTE	"no MTE on this host (arm64 MTE only)"

/* The host's own tag instructions, on PROT_MTE memory (EL0 STG/LDG). */
#ifdef __aarch64__
static void host_stg(void *p, unsigned int tag)
{
	uintptr_t a = ((uintptr_t)p & ~(0xfUL << 56)) | ((uintptr_t)tag << 56);

	asm volatile(".arch armv8.5-a+memtag\n stg %0, [%0]"
		     : : "r" (a) : "memory");
}

static unsigned int host_ldg(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	asm volatile(".arch armv8.5-a+memtag\n ldg %0, [%0]"
		     : "+r" (a) : : "memory");
	return (a >> 56) & 0xf;
}
#else
static void host_stg(void *p, unsigned int tag)
{
}

static unsigned int host_ldg(const void *p)
{
	return 0;
}
#endif

/*
 * A tag pattern, never 0 (so a cleared granule shows), the same for
 * every granule of a page: QEMU 7.2's MTE (Debian 12's, the arm64
 * target's) keeps one tag per page and granule parity (the page offset
 * is lost in its tag address: fixed upstream by "target/arm: Fix
 * physical address resolution for MTE"), so only page-wide patterns mean
 * the same there and on hardware.  granule_tags checks finer patterns
 * where the emulator keeps them.
 */
static unsigned int pattern(size_t granule, unsigned int seed)
{
	return (granule / TAGS_PER_PAGE * 7 + seed) % 15 + 1;
}

/* A pattern that differs from one granule to the next. */
static unsigned int fine_pattern(size_t granule, unsigned int seed)
{
	return (granule * 7 + seed) % 15 + 1;
}

/* Does this CPU (or emulator) keep a tag per granule? */
static bool granule_tags_work(void)
{
	char *m = mmap(NULL, PG, PROT_READ | PROT_WRITE | PROT_MTE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool ok;

	if (m == MAP_FAILED)
		return false;
	memset(m, 0, PG);
	host_stg(m, 1);
	host_stg(m + 2 * GRANULE, 2);
	host_stg(m + PG - GRANULE, 3);
	ok = host_ldg(m) == 1 && host_ldg(m + 2 * GRANULE) == 2 &&
	     host_ldg(m + PG - GRANULE) == 3;
	munmap(m, PG);
	return ok;
}

/* One guest tag access of [gpa, gpa + len), tags at @tags. */
static int guest_tags(int vcpu, struct s2mmu_run *run, __u32 op, __u64 gpa,
		      __u8 *tags, __u64 len)
{
	return s2mmu_vcpu_access(vcpu, run, op, gpa, tags, len);
}

static long copy_tags(int vm, __u64 ipa, __u64 len, void *buf, __u64 flags)
{
	struct s2mmu_arm64_copy_mte_tags ct = {
		.guest_ipa = ipa,
		.length = len,
		.addr = (uintptr_t)buf,
		.flags = flags,
	};
	long ret = ioctl(vm, S2MMU_ARM64_MTE_COPY_TAGS, &ct);

	return ret < 0 ? -errno : ret;
}

/* An MTE VM, slot 0 over @mem at GPA_BASE, vCPU 0. */
struct guest {
	int vm, vcpu;
	struct s2mmu_run *run;
};

/*
 * @by_cap: create the VM without S2MMU_VM_ARM64_MTE and give it MTE by
 * S2MMU_ENABLE_CAP(S2MMU_CAP_ARM64_MTE) instead, as a KVM VMM does.
 */
static int guest_open_how(struct guest *g, void *mem, size_t size,
			  bool by_cap)
{
	int ret;

	g->vcpu = -1;
	g->run = NULL;
	g->vm = s2mmu_create_vm(by_cap ? S2MMU_VM_ARM64_S2 : MTE_VM);
	if (g->vm < 0)
		return g->vm;
	if (by_cap) {
		ret = s2mmu_enable_cap(g->vm, S2MMU_CAP_ARM64_MTE, 0, 0);
		if (ret)
			return ret;
	}
	if (mem && s2mmu_set_region(g->vm, 0, 0, GPA_BASE, size,
				    (uintptr_t)mem))
		return -errno;
	g->vcpu = s2mmu_create_vcpu(g->vm, 0);
	if (g->vcpu < 0)
		return g->vcpu;
	g->run = s2mmu_map_run(g->vcpu);
	return g->run ? 0 : -errno;
}

static int guest_open(struct guest *g, void *mem, size_t size)
{
	return guest_open_how(g, mem, size, false);
}

static void guest_close(struct __test_metadata *_metadata, struct guest *g)
{
	s2mmu_teardown_guest(_metadata, g->vm, g->vcpu, g->run, NULL, 0);
}

/* Run on CPU 0, so pages one process frees are the next one's. */
static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Memory of @size aligned to 2 MiB, THP or not. */
static char *anon(size_t size, bool thp)
{
	char *p = s2mmu_alloc_aligned(size, S2MMU_PMD_SIZE);

	if (p)
		madvise(p, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return p;
}

/*
 * A helper process maps @size bytes PROT_MTE, gives every granule a
 * non-zero tag and exits, freeing the pages with their tags.
 */
static int leave_stale_tags(size_t size, bool thp)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (!pid) {
		char *p = anon(size, thp);
		size_t i;

		if (!p || mprotect(p, size, PROT_READ | PROT_WRITE | PROT_MTE))
			_exit(1);
		memset(p, 0x11, size);
		for (i = 0; i < size / GRANULE; i++)
			host_stg(p + i * GRANULE, pattern(i, 3));
		_exit(host_ldg(p) == pattern(0, 3) ? 0 : 2);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The pages the VM sanitised (debugfs), or -1 when it cannot be read. */
static long sanitised_pages(const struct guest *g)
{
	char path[96];

	snprintf(path, sizeof(path),
		 "/sys/kernel/debug/s2mmu/%d-%d/mte_pages_sanitised",
		 getpid(), g->vm);
	return s2mmu_read_long(path);
}

/*
 * Stale tags: the helper leaves tags in freed pages; fresh anonymous
 * memory (not PROT_MTE, so the host never initialised its tags) mapped
 * into an MTE VM (given MTE by S2MMU_ENABLE_CAP for @by_cap).  Return:
 * granules the guest loads a non-zero tag from, or -1.
 */
static long stale_granules(struct __test_metadata *_metadata, size_t size,
			   bool thp, bool skip_sanitise, bool by_cap)
{
	struct s2mmu_translation t;
	long nonzero = 0, sanitised;
	struct guest g;
	__u8 *tags;
	char *mem;
	size_t i;

	pin_cpu0();
	i = leave_stale_tags(size, thp);
	if (i) {
		TH_LOG("helper process failed: %d", (int)i);
		return -1;
	}
	mem = anon(size, thp);
	if (!mem)
		return -1;
	/* Written by the host first: real pages, not the zero page. */
	memset(mem, 0x5a, size);
	tags = malloc(size / GRANULE);
	if (!tags || guest_open_how(&g, mem, size, by_cap))
		return -1;
	if (skip_sanitise && s2mmu_set_knob(KNOB_SKIP, 1))
		return -1;
	i = guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS, GPA_BASE, tags, size);
	if (skip_sanitise)
		s2mmu_set_knob(KNOB_SKIP, 0);
	EXPECT_EQ(S2MMU_EXIT_DONE, i);
	/* The VM counts the pages it sanitised (debugfs, when mounted). */
	sanitised = sanitised_pages(&g);
	if (sanitised >= 0)
		EXPECT_EQ(!skip_sanitise, sanitised > 0);
	if (thp && s2mmu_thp_available()) {
		EXPECT_EQ(0, s2mmu_translate(g.vcpu, GPA_BASE, &t));
		TH_LOG("first leaf: level %u", t.level);
	}
	for (i = 0; i < size / GRANULE; i++)
		nonzero += tags[i] != 0;
	/* And the data is the host's. */
	EXPECT_EQ(0x5a, mem[size - 1]);
	TH_LOG("%s%s: %ld of %zu granules with a non-zero tag, %ld pages sanitised",
	       thp ? "THP" : "4 KiB", skip_sanitise ? ", not sanitised" : "",
	       nonzero, size / GRANULE, sanitised);
	guest_close(_metadata, &g);
	munmap(mem, size);
	free(tags);
	return nonzero;
}

/*
 * S2MMU_MTE_SKIP_SANITISE=1 (tests/qemu/run.sh --env ...) runs the two
 * tests below with sanitising off: they must fail then.
 */
static bool env_skip_sanitise(void)
{
	return s2mmu_env_ull("S2MMU_MTE_SKIP_SANITISE", 0);
}

TEST(stale_tags)
{
	if (!host_has_mte())
		SKIP(return, NO_MTE);
	EXPECT_EQ(0, stale_granules(_metadata, 4 << 20, false,
				    env_skip_sanitise(), false));
}

TEST(stale_tags_thp)
{
	if (!host_has_mte())
		SKIP(return, NO_MTE);
	if (!s2mmu_thp_available())
		SKIP(return, "no THP");
	EXPECT_EQ(0, stale_granules(_metadata, 4 << 20, true,
				    env_skip_sanitise(), false));
}

/* The negative check: with sanitising off the guest sees stale tags. */
TEST(stale_tags_unsanitised)
{
	if (!host_has_mte())
		SKIP(return, NO_MTE);
	if (!s2mmu_have_knob(KNOB_SKIP))
		SKIP(return, "needs the test flavour (test_mte_skip_sanitise)");
	EXPECT_LT(0, stale_granules(_metadata, 4 << 20, false, true, false));
	if (s2mmu_thp_available())
		EXPECT_LT(0, stale_granules(_metadata, 4 << 20, true, true,
					    false));
	/* And for a VM given MTE by S2MMU_ENABLE_CAP (enable_cap below). */
	EXPECT_LT(0, stale_granules(_metadata, 4 << 20, false, true, true));
}

/*
 * Private pages (a guest_memfd slot) are sanitised as the host's are: the
 * first mapping of each clears its tags, in pages freed with stale tags
 * just before.  The guest's tags on a private page stay with it across a
 * round trip through shared (the host's page has its own), and a punched
 * page comes back with zero tags.
 */
TEST(private_pages)
{
	const __u64 priv = S2MMU_MEMORY_ATTRIBUTE_PRIVATE;
	const size_t n = 8, size = n * PG;
	__u8 tags[8 * TAGS_PER_PAGE];
	size_t i, bad = 0;
	struct guest g;
	long sanitised;
	char *mem;
	int gmem;

	if (!host_has_mte())
		SKIP(return, NO_MTE);
	pin_cpu0();
	ASSERT_EQ(0, leave_stale_tags(size, false));
	mem = anon(size, false);
	ASSERT_NE(NULL, mem);
	memset(mem, 0x5a, size);
	ASSERT_EQ(0, guest_open(&g, NULL, 0));
	gmem = s2mmu_create_guest_memfd(g.vm, size, 0);
	ASSERT_LE(0, gmem);
	ASSERT_EQ(0, s2mmu_set_region2(g.vm, 0, S2MMU_MEM_GUEST_MEMFD, GPA_BASE,
				       size, (uintptr_t)mem, gmem, 0));
	ASSERT_EQ(0, s2mmu_set_memory_attributes(g.vm, GPA_BASE, size, priv));
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, tags, size));
	for (i = 0; i < size / GRANULE; i++)
		bad += tags[i] != 0;
	EXPECT_EQ(0, bad);
	sanitised = sanitised_pages(&g);
	if (sanitised >= 0)
		EXPECT_EQ(n, sanitised);

	for (i = 0; i < TAGS_PER_PAGE; i++)
		tags[i] = pattern(i, 5);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run,
					      S2MMU_OP_STORE_TAGS, GPA_BASE,
					      tags, PG));
	ASSERT_EQ(0, s2mmu_set_memory_attributes(g.vm, GPA_BASE, PG, 0));
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, tags, PG));
	for (bad = 0, i = 0; i < TAGS_PER_PAGE; i++)
		bad += tags[i] != 0;
	EXPECT_EQ(0, bad);
	ASSERT_EQ(0, s2mmu_set_memory_attributes(g.vm, GPA_BASE, PG, priv));
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, tags, PG));
	for (bad = 0, i = 0; i < TAGS_PER_PAGE; i++)
		bad += tags[i] != pattern(i, 5);
	EXPECT_EQ(0, bad);
	ASSERT_EQ(0, fallocate(gmem, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       0, PG));
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, tags, PG));
	for (bad = 0, i = 0; i < TAGS_PER_PAGE; i++)
		bad += tags[i] != 0;
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0x5a, mem[0]);
	guest_close(_metadata, &g);
	close(gmem);
	munmap(mem, size);
}

/*
 * Tags the host set on PROT_MTE memory (PG_mte_tagged already) are kept
 * when the guest maps it; guest stores are what the host then loads.
 */
TEST(host_tags_preserved)
{
	const size_t n = 8, size = n * PG;
	__u8 tags[8 * TAGS_PER_PAGE];
	struct guest g;
	size_t i, bad = 0;
	char *mem;

	if (!host_has_mte())
		SKIP(return, NO_MTE);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE | PROT_MTE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 1, size);
	for (i = 0; i < size / GRANULE; i++)
		host_stg(mem + i * GRANULE, pattern(i, 5));
	ASSERT_EQ(0, guest_open(&g, mem, size));
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, tags, size));
	for (i = 0; i < size / GRANULE; i++)
		bad += tags[i] != pattern(i, 5);
	EXPECT_EQ(0, bad);

	for (i = 0; i < size / GRANULE; i++)
		tags[i] = pattern(i, 9);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run,
					      S2MMU_OP_STORE_TAGS, GPA_BASE,
					      tags, size));
	for (bad = 0, i = 0; i < size / GRANULE; i++)
		bad += host_ldg(mem + i * GRANULE) != pattern(i, 9);
	EXPECT_EQ(0, bad);
	/* Tag stores leave the data alone. */
	EXPECT_EQ(1, mem[size - 1]);
	guest_close(_metadata, &g);
	munmap(mem, size);
}

/*
 * Tags that differ granule by granule, host to guest and back, where the
 * CPU keeps them (not under QEMU 7.2, see pattern()).
 */
TEST(granule_tags)
{
	const size_t size = 2 * PG;
	__u8 tags[2 * TAGS_PER_PAGE];
	struct guest g;
	size_t i, bad = 0;
	char *mem;

	if (!host_has_mte())
		SKIP(return, NO_MTE);
	if (!granule_tags_work())
		SKIP(return, "this CPU keeps no tag per granule (QEMU 7.2 bug)");
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE | PROT_MTE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 1, size);
	for (i = 0; i < size / GRANULE; i++)
		host_stg(mem + i * GRANULE, fine_pattern(i, 5));
	ASSERT_EQ(0, guest_open(&g, mem, size));
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, tags, size));
	for (i = 0; i < size / GRANULE; i++)
		bad += tags[i] != fine_pattern(i, 5);
	EXPECT_EQ(0, bad);
	for (i = 0; i < size / GRANULE; i++)
		tags[i] = fine_pattern(i, 8);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run,
					      S2MMU_OP_STORE_TAGS, GPA_BASE + 16,
					      tags, size - 32));
	for (bad = 0, i = 1; i < size / GRANULE - 1; i++)
		bad += host_ldg(mem + i * GRANULE) != fine_pattern(i - 1, 8);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(fine_pattern(0, 5), host_ldg(mem));
	guest_close(_metadata, &g);
	munmap(mem, size);
}

/*
 * Two mappers of one MAP_SHARED memfd page at once: the first guest maps
 * it and stores tags while the second maps it (a fault of its own, into
 * another VM or through another vCPU).  The second mapping must never
 * clear what the first stored: the tags are initialised once.
 */
struct racer {
	struct guest *g;
	pthread_barrier_t *bar;
	__u64 gpa;
	unsigned int seed;
	bool store;
	int ret;
};

static void *race_thread(void *arg)
{
	struct racer *r = arg;
	__u8 tags[TAGS_PER_PAGE];
	size_t i;

	for (i = 0; i < TAGS_PER_PAGE; i++)
		tags[i] = pattern(i, r->seed);
	pthread_barrier_wait(r->bar);
	r->ret = guest_tags(r->g->vcpu, r->g->run,
			    r->store ? S2MMU_OP_STORE_TAGS : S2MMU_OP_LOAD_TAGS,
			    r->gpa, tags, PG);
	return NULL;
}

static void shared_race(struct __test_metadata *_metadata, bool two_vms)
{
	const int loops = 50, n = 4;
	struct guest g[2];
	pthread_barrier_t bar;
	int iter, wiped = 0;

	ASSERT_EQ(0, pthread_barrier_init(&bar, NULL, 2));
	for (iter = 0; iter < loops; iter++) {
		int fd = memfd_create("s2mmu-mte", MFD_CLOEXEC);
		__u8 tags[TAGS_PER_PAGE];
		struct racer r[2];
		pthread_t th[2];
		char *mem;
		int i, j, k;

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ftruncate(fd, n * PG));
		mem = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		ASSERT_NE(MAP_FAILED, mem);
		memset(mem, 7, n * PG);	/* fresh shmem pages, untagged */
		ASSERT_EQ(0, guest_open(&g[0], mem, n * PG));
		if (two_vms) {
			ASSERT_EQ(0, guest_open(&g[1], mem, n * PG));
		} else {
			g[1].vm = -1;
			g[1].vcpu = s2mmu_create_vcpu(g[0].vm, 1);
			ASSERT_LE(0, g[1].vcpu);
			g[1].run = s2mmu_map_run(g[1].vcpu);
			ASSERT_NE(NULL, g[1].run);
		}
		for (k = 0; k < n; k++) {
			for (i = 0; i < 2; i++) {
				r[i] = (struct racer){ .g = &g[i], .bar = &bar,
					.gpa = GPA_BASE + k * PG,
					.seed = iter + k, .store = !i };
				ASSERT_EQ(0, pthread_create(&th[i], NULL,
							    race_thread, &r[i]));
			}
			for (i = 0; i < 2; i++) {
				pthread_join(th[i], NULL);
				EXPECT_EQ(S2MMU_EXIT_DONE, r[i].ret);
			}
			/* Both guests now load the first one's tags. */
			for (i = 0; i < 2; i++) {
				ASSERT_EQ(S2MMU_EXIT_DONE,
					  guest_tags(g[i].vcpu, g[i].run,
						     S2MMU_OP_LOAD_TAGS,
						     GPA_BASE + k * PG, tags,
						     PG));
				for (j = 0; j < (int)TAGS_PER_PAGE; j++)
					if (tags[j] != pattern(j, iter + k)) {
						wiped++;
						break;
					}
			}
		}
		if (!two_vms) {
			s2mmu_unmap_run(g[1].run);
			close(g[1].vcpu);
		} else {
			guest_close(_metadata, &g[1]);
		}
		guest_close(_metadata, &g[0]);
		munmap(mem, n * PG);
		close(fd);
	}
	EXPECT_EQ(0, wiped) TH_LOG("%d of %d pages lost the first guest's tags",
				   wiped, loops * n);
	pthread_barrier_destroy(&bar);
}

TEST(shared_two_vms)
{
	if (!host_has_mte())
		SKIP(return, NO_MTE);
	shared_race(_metadata, true);
}

TEST(shared_two_vcpus)
{
	if (!host_has_mte())
		SKIP(return, NO_MTE);
	shared_race(_metadata, false);
}

/* S2MMU_ARM64_MTE_COPY_TAGS: round trip, partial copies, bad input. */
TEST(copy_tags_ioctl)
{
	const size_t n = 4, size = n * PG;
	__u8 in[4 * TAGS_PER_PAGE], out[4 * TAGS_PER_PAGE];
	struct s2mmu_arm64_copy_mte_tags ct = { 0 };
	struct guest g;
	size_t i, bad;
	char *mem, *ro;

	if (!host_has_mte())
		SKIP(return, NO_MTE);
	mem = anon(size, false);
	ASSERT_NE(NULL, mem);
	memset(mem, 3, size);
	ASSERT_EQ(0, guest_open(&g, mem, size));

	/* An untagged page reads as zeros. */
	memset(out, 0xff, sizeof(out));
	EXPECT_EQ((long)PG, copy_tags(g.vm, GPA_BASE + 3 * PG, PG, out,
				      S2MMU_ARM64_MTE_TAGS_FROM_GUEST));
	for (bad = 0, i = 0; i < TAGS_PER_PAGE; i++)
		bad += out[i] != 0;
	EXPECT_EQ(0, bad);

	/* To the guest, seen by its loads; the guest's stores, copied back. */
	for (i = 0; i < size / GRANULE; i++)
		in[i] = pattern(i, 1);
	ASSERT_EQ((long)size, copy_tags(g.vm, GPA_BASE, size, in,
					S2MMU_ARM64_MTE_TAGS_TO_GUEST));
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, out, size));
	EXPECT_EQ(0, memcmp(in, out, size / GRANULE));
	for (i = 0; i < size / GRANULE; i++)
		in[i] = pattern(i, 2);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run,
					      S2MMU_OP_STORE_TAGS, GPA_BASE,
					      in, size));
	memset(out, 0, sizeof(out));
	ASSERT_EQ((long)size, copy_tags(g.vm, GPA_BASE, size, out,
					S2MMU_ARM64_MTE_TAGS_FROM_GUEST));
	EXPECT_EQ(0, memcmp(in, out, size / GRANULE));
	EXPECT_EQ(3, mem[size - 1]);

	/* Partial: the copy stops at the first page in no slot. */
	EXPECT_EQ((long)(2 * PG), copy_tags(g.vm, GPA_BASE + 2 * PG, 3 * PG,
					    out, S2MMU_ARM64_MTE_TAGS_FROM_GUEST));
	/* ... or at the first page whose buffer cannot be read. */
	ro = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, munmap(ro + PG, PG));
	memset(ro, 1, PG);
	EXPECT_EQ((long)PG, copy_tags(g.vm, GPA_BASE, size,
				      ro + PG - TAGS_PER_PAGE,
				      S2MMU_ARM64_MTE_TAGS_TO_GUEST));
	munmap(ro, PG);
	/* Page 0 took the buffer's tags, page 1 (its buffer unmapped) not. */
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, out, 2 * PG));
	for (bad = 0, i = 0; i < TAGS_PER_PAGE; i++)
		bad += out[i] != 1;
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, memcmp(in + TAGS_PER_PAGE, out + TAGS_PER_PAGE,
			    TAGS_PER_PAGE));

	/* Bad input: KVM's errnos, nothing copied. */
	EXPECT_EQ(-EINVAL, copy_tags(g.vm, GPA_BASE, PG, out, 2));
	EXPECT_EQ(-EINVAL, copy_tags(g.vm, GPA_BASE + 16, PG, out, 0));
	EXPECT_EQ(-EINVAL, copy_tags(g.vm, GPA_BASE, PG - 16, out, 0));
	EXPECT_EQ(-EINVAL, copy_tags(g.vm, GPA_BASE, 1ULL << 31, out, 0));
	EXPECT_EQ(-EFAULT, copy_tags(g.vm, GPA_BASE + size, PG, out, 0));
	EXPECT_EQ(-EFAULT, copy_tags(g.vm, 0, PG, out, 1));
	EXPECT_EQ(-EFAULT, copy_tags(g.vm, GPA_BASE, PG, NULL, 0));
	EXPECT_EQ(-EFAULT, copy_tags(g.vm, GPA_BASE, PG, NULL, 1));
	EXPECT_EQ(0, copy_tags(g.vm, GPA_BASE, 0, out, 1));
	ct.guest_ipa = GPA_BASE;
	ct.length = PG;
	ct.addr = (uintptr_t)out;
	ct.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(g.vm, S2MMU_ARM64_MTE_COPY_TAGS, &ct));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(g.vm, S2MMU_ARM64_MTE_COPY_TAGS, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* Nothing changed the guest's tags. */
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, out, size));
	EXPECT_EQ(0, memcmp(in + TAGS_PER_PAGE, out + TAGS_PER_PAGE,
			    (n - 1) * TAGS_PER_PAGE));

	/* A read-only slot takes no tags from the VMM. */
	ASSERT_EQ(0, s2mmu_set_region(g.vm, 1, S2MMU_MEM_READONLY,
				      GPA_BASE + 16 * PG, PG, (uintptr_t)mem));
	EXPECT_EQ(-EFAULT, copy_tags(g.vm, GPA_BASE + 16 * PG, PG, in,
				     S2MMU_ARM64_MTE_TAGS_TO_GUEST));
	EXPECT_EQ((long)PG, copy_tags(g.vm, GPA_BASE + 16 * PG, PG, out,
				      S2MMU_ARM64_MTE_TAGS_FROM_GUEST));

	/* As KVM: no tags to the guest while any slot logs dirty pages. */
	ASSERT_EQ(0, s2mmu_set_region(g.vm, 2, S2MMU_MEM_LOG_DIRTY_PAGES,
				      GPA_BASE + 32 * PG, PG, (uintptr_t)mem));
	EXPECT_EQ(-EBUSY, copy_tags(g.vm, GPA_BASE, PG, in,
				    S2MMU_ARM64_MTE_TAGS_TO_GUEST));
	EXPECT_EQ((long)PG, copy_tags(g.vm, GPA_BASE, PG, out,
				      S2MMU_ARM64_MTE_TAGS_FROM_GUEST));
	ASSERT_EQ(0, s2mmu_set_region(g.vm, 2, 0, GPA_BASE + 32 * PG, 0,
				      (uintptr_t)mem));
	EXPECT_EQ((long)PG, copy_tags(g.vm, GPA_BASE, PG, in,
				      S2MMU_ARM64_MTE_TAGS_TO_GUEST));
	guest_close(_metadata, &g);
	munmap(mem, size);
}

/* Guest tag accesses: granule alignment, and a read-only slot. */
TEST(tag_ops_bad_input)
{
	__u8 tags[TAGS_PER_PAGE];
	struct guest g;
	char *mem;

	if (!host_has_mte())
		SKIP(return, NO_MTE);
	mem = anon(PG, false);
	ASSERT_NE(NULL, mem);
	memset(mem, 0, PG);
	ASSERT_EQ(0, guest_open(&g, NULL, 0));
	ASSERT_EQ(0, s2mmu_set_region(g.vm, 0, S2MMU_MEM_READONLY, GPA_BASE,
				      PG, (uintptr_t)mem));
	EXPECT_EQ(-EINVAL, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
				      GPA_BASE + 8, tags, 32));
	EXPECT_EQ(-EINVAL, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
				      GPA_BASE, tags, 24));
	EXPECT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run,
					      S2MMU_OP_LOAD_TAGS, GPA_BASE,
					      tags, PG));
	/* A tag store is a write: a read-only slot exits. */
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  guest_tags(g.vcpu, g.run, S2MMU_OP_STORE_TAGS, GPA_BASE,
			     tags, PG));
	EXPECT_TRUE(g.run->memory_fault.flags & S2MMU_MEMORY_FAULT_READONLY);
	guest_close(_metadata, &g);
	munmap(mem, PG);
}

/*
 * Refusals on every target: MTE for a type or host without it, tag ops
 * and COPY_TAGS on a VM without MTE.
 */
TEST(refusals)
{
	__u8 tags[TAGS_PER_PAGE] = { 0 };
	struct s2mmu_run *run;
	int vm, vcpu, ret;
	char *mem;

	EXPECT_EQ(-EINVAL, s2mmu_create_vm(S2MMU_VM_X86_TDP |
					   S2MMU_VM_ARM64_MTE));
	ret = s2mmu_create_vm(MTE_VM);
	if (host_has_mte()) {
		EXPECT_LE(0, ret) TH_LOG("MTE VM on an MTE host: %s",
					 strerror(-ret));
	} else {
		EXPECT_EQ(-EINVAL, ret);
	}
	if (ret >= 0)
		close(ret);
	/* The flag is no other type's. */
	EXPECT_EQ(-EINVAL, s2mmu_create_vm(MTE_VM |
					   S2MMU_VM_DISABLE_NX_HUGE_PAGES));

	/* A VM without MTE: no tag ops, no COPY_TAGS. */
	mem = anon(PG, false);
	ASSERT_NE(NULL, mem);
	memset(mem, 0, PG);
	vm = s2mmu_create_vm(S2MMU_VM_ARM64_S2);
	ASSERT_LE(0, vm);
	ASSERT_EQ(0, s2mmu_set_region(vm, 0, 0, GPA_BASE, PG, (uintptr_t)mem));
	vcpu = s2mmu_create_vcpu(vm, 0);
	ASSERT_LE(0, vcpu);
	run = s2mmu_map_run(vcpu);
	ASSERT_NE(NULL, run);
	EXPECT_EQ(-EINVAL, guest_tags(vcpu, run, S2MMU_OP_LOAD_TAGS, GPA_BASE,
				      tags, PG));
	EXPECT_EQ(-EINVAL, guest_tags(vcpu, run, S2MMU_OP_STORE_TAGS, GPA_BASE,
				      tags, PG));
	EXPECT_EQ(-EINVAL, copy_tags(vm, GPA_BASE, PG, tags,
				     S2MMU_ARM64_MTE_TAGS_FROM_GUEST));
	/* An op past the last is still refused. */
	EXPECT_EQ(-EINVAL, guest_tags(vcpu, run, S2MMU_OP_STORE_TAGS + 1,
				      GPA_BASE, tags, PG));
	s2mmu_teardown_guest(_metadata, vm, vcpu, run, mem, PG);
}

/*
 * The KVM flow: S2MMU_CHECK_EXTENSION(S2MMU_CAP_ARM64_MTE), then
 * S2MMU_ENABLE_CAP of it on a VM created without S2MMU_VM_ARM64_MTE,
 * before any vCPU or slot.  The VM is then an MTE VM: stale tags never
 * reach its guest (stale_tags_unsanitised checks the same VM does see
 * them with sanitising off), and the tag ops and COPY_TAGS that refusals
 * shows a VM without MTE refuses work.
 */
TEST(enable_cap)
{
	__u8 tags[TAGS_PER_PAGE], back[TAGS_PER_PAGE];
	int dev, vm, i;
	struct guest g;
	char *mem;

	if (!host_has_mte())
		SKIP(return, NO_MTE);
	dev = s2mmu_open();
	ASSERT_LE(0, dev);
	EXPECT_EQ(1, s2mmu_check_extension(dev, S2MMU_CAP_ARM64_MTE));
	close(dev);
	vm = s2mmu_create_vm(S2MMU_VM_ARM64_S2);
	ASSERT_LE(0, vm);
	EXPECT_EQ(1, s2mmu_check_extension(vm, S2MMU_CAP_ARM64_MTE));
	EXPECT_EQ(0, s2mmu_enable_cap(vm, S2MMU_CAP_ARM64_MTE, 0, 0));
	/* As KVM: again before a vCPU is 0, and MTE stays on. */
	EXPECT_EQ(0, s2mmu_enable_cap(vm, S2MMU_CAP_ARM64_MTE, 0, 0));
	EXPECT_EQ(1, s2mmu_check_extension(vm, S2MMU_CAP_ARM64_MTE));
	close(vm);

	EXPECT_EQ(0, stale_granules(_metadata, 4 << 20, false,
				    env_skip_sanitise(), true));

	mem = anon(PG, false);
	ASSERT_NE(NULL, mem);
	memset(mem, 0, PG);
	ASSERT_EQ(0, guest_open_how(&g, mem, PG, true));
	for (i = 0; i < TAGS_PER_PAGE; i++)
		tags[i] = pattern(i, 7);
	EXPECT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run,
					      S2MMU_OP_STORE_TAGS, GPA_BASE,
					      tags, PG));
	memset(back, 0xff, sizeof(back));
	EXPECT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run,
					      S2MMU_OP_LOAD_TAGS, GPA_BASE,
					      back, PG));
	EXPECT_EQ(0, memcmp(tags, back, sizeof(tags)));
	memset(back, 0xff, sizeof(back));
	EXPECT_EQ(PG, copy_tags(g.vm, GPA_BASE, PG, back,
				S2MMU_ARM64_MTE_TAGS_FROM_GUEST));
	EXPECT_EQ(0, memcmp(tags, back, sizeof(tags)));
	guest_close(_metadata, &g);
	munmap(mem, PG);
}

/* S2MMU_ENABLE_CAP(S2MMU_CAP_ARM64_MTE) with @flags, args[@arg] = 1. */
static int enable_mte_bad(int vm, __u32 flags, int arg)
{
	struct s2mmu_enable_cap c = {
		.cap = S2MMU_CAP_ARM64_MTE, .flags = flags,
	};

	if (arg >= 0)
		c.args[arg] = 1;
	return ioctl(vm, S2MMU_ENABLE_CAP, &c) ? -errno : 0;
}

/* Whether @vm is an MTE VM: COPY_TAGS of nothing is 0 there, else -EINVAL. */
static bool vm_has_mte(int vm)
{
	__u8 tags[TAGS_PER_PAGE];

	return !copy_tags(vm, GPA_BASE, 0, tags,
			  S2MMU_ARM64_MTE_TAGS_FROM_GUEST);
}

/*
 * S2MMU_ENABLE_CAP(S2MMU_CAP_ARM64_MTE) refusals, on every target: a VM
 * type or host without MTE (CHECK_EXTENSION 0 there), non-zero flags or
 * args, a vCPU (KVM's rule, on an MTE VM too) or a slot (s2mmu's own:
 * the slot skipped the VM_MTE_ALLOWED check).  Each refused VM stays
 * without MTE, and each refusal is its check's: the same VM without the
 * cause is accepted.
 */
TEST(enable_cap_refusals)
{
	int dev, vm, x86, vcpu, i, mte;
	char *mem;

	dev = s2mmu_open();
	ASSERT_LE(0, dev);
	mte = host_has_mte();
	EXPECT_EQ(mte, s2mmu_check_extension(dev, S2MMU_CAP_ARM64_MTE));
	close(dev);

	/* x86 VMs never have MTE, on any host. */
	x86 = s2mmu_create_vm(S2MMU_VM_X86_TDP);
	ASSERT_LE(0, x86);
	EXPECT_EQ(0, s2mmu_check_extension(x86, S2MMU_CAP_ARM64_MTE));
	EXPECT_EQ(-EINVAL, s2mmu_enable_cap(x86, S2MMU_CAP_ARM64_MTE, 0, 0));
	close(x86);

	vm = s2mmu_create_vm(S2MMU_VM_ARM64_S2);
	ASSERT_LE(0, vm);
	EXPECT_EQ(mte, s2mmu_check_extension(vm, S2MMU_CAP_ARM64_MTE));
	if (!host_has_mte()) {
		/* A host without MTE (x86, arm64 without it, 6.1). */
		EXPECT_EQ(-EINVAL, s2mmu_enable_cap(vm, S2MMU_CAP_ARM64_MTE,
						    0, 0));
		EXPECT_FALSE(vm_has_mte(vm));
		close(vm);
		return;
	}

	/* Bad flags or args, then the same VM is accepted. */
	EXPECT_EQ(-EINVAL, enable_mte_bad(vm, 1, -1));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(-EINVAL, enable_mte_bad(vm, 0, i)) TH_LOG("args[%d]", i);
	EXPECT_FALSE(vm_has_mte(vm));
	EXPECT_EQ(0, s2mmu_enable_cap(vm, S2MMU_CAP_ARM64_MTE, 0, 0));
	EXPECT_TRUE(vm_has_mte(vm));
	close(vm);

	/* After a vCPU: refused (KVM's rule). */
	vm = s2mmu_create_vm(S2MMU_VM_ARM64_S2);
	ASSERT_LE(0, vm);
	vcpu = s2mmu_create_vcpu(vm, 0);
	ASSERT_LE(0, vcpu);
	EXPECT_EQ(-EINVAL, s2mmu_enable_cap(vm, S2MMU_CAP_ARM64_MTE, 0, 0));
	EXPECT_FALSE(vm_has_mte(vm));
	close(vcpu);
	close(vm);

	/* On an MTE VM as well: 0 before its first vCPU, -EINVAL after. */
	vm = s2mmu_create_vm(MTE_VM);
	ASSERT_LE(0, vm);
	EXPECT_EQ(0, s2mmu_enable_cap(vm, S2MMU_CAP_ARM64_MTE, 0, 0));
	vcpu = s2mmu_create_vcpu(vm, 0);
	ASSERT_LE(0, vcpu);
	EXPECT_EQ(-EINVAL, s2mmu_enable_cap(vm, S2MMU_CAP_ARM64_MTE, 0, 0));
	EXPECT_TRUE(vm_has_mte(vm));
	close(vcpu);
	close(vm);

	/*
	 * After a slot: refused (stricter than KVM), also for a slot over
	 * memory an MTE VM would take; once it is deleted, accepted.
	 */
	mem = anon(PG, false);
	ASSERT_NE(NULL, mem);
	memset(mem, 0, PG);
	vm = s2mmu_create_vm(S2MMU_VM_ARM64_S2);
	ASSERT_LE(0, vm);
	ASSERT_EQ(0, s2mmu_set_region(vm, 0, 0, GPA_BASE, PG, (uintptr_t)mem));
	EXPECT_EQ(-EINVAL, s2mmu_enable_cap(vm, S2MMU_CAP_ARM64_MTE, 0, 0));
	EXPECT_FALSE(vm_has_mte(vm));
	ASSERT_EQ(0, s2mmu_delete_region(vm, 0));
	EXPECT_EQ(0, s2mmu_enable_cap(vm, S2MMU_CAP_ARM64_MTE, 0, 0));
	EXPECT_TRUE(vm_has_mte(vm));
	close(vm);
	munmap(mem, PG);
}

/* A hugetlb mapping of @size, or NULL (none reserved and none can be). */
static char *map_hugetlb(size_t size)
{
	char *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) {
		s2mmu_write_str("/proc/sys/vm/nr_hugepages", "2");
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	}
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Slots over memory without tags: hugetlb (no VM_MTE_ALLOWED on 6.12)
 * and VM_PFNMAP (another vCPU's run page) are refused for an MTE VM, and
 * a fault that finds such a VMA where a good one was fails.
 */
TEST(refuse_slots)
{
	__u8 tags[TAGS_PER_PAGE];
	struct guest g, other;
	char *huge, *mem;
	int ret;

	if (!host_has_mte())
		SKIP(return, NO_MTE);
	ASSERT_EQ(0, guest_open(&g, NULL, 0));
	ASSERT_EQ(0, guest_open(&other, NULL, 0));

	/* PFNMAP: a vCPU's run page. */
	EXPECT_EQ(-EINVAL, s2mmu_set_region(g.vm, 0, 0, GPA_BASE, PG,
					    (uintptr_t)other.run));

	huge = map_hugetlb(S2MMU_PMD_SIZE);
	if (huge) {
		memset(huge, 1, S2MMU_PMD_SIZE);
		EXPECT_EQ(-EINVAL, s2mmu_set_region(g.vm, 0, 0, GPA_BASE,
						    S2MMU_PMD_SIZE,
						    (uintptr_t)huge));
		/* A VM without MTE takes it. */
		ret = s2mmu_create_vm(S2MMU_VM_ARM64_S2);
		ASSERT_LE(0, ret);
		EXPECT_EQ(0, s2mmu_set_region(ret, 0, 0, GPA_BASE,
					      S2MMU_PMD_SIZE, (uintptr_t)huge));
		close(ret);
		munmap(huge, S2MMU_PMD_SIZE);
	} else {
		TH_LOG("no hugetlb pages: hugetlb slot not checked");
	}

	/*
	 * A good slot whose memory is replaced by hugetlb memory (which GUP
	 * maps, so only the VMA check refuses it): the fault fails.
	 */
	mem = anon(S2MMU_PMD_SIZE, false);
	ASSERT_NE(NULL, mem);
	memset(mem, 0, S2MMU_PMD_SIZE);
	ASSERT_EQ(0, s2mmu_set_region(g.vm, 0, 0, GPA_BASE, S2MMU_PMD_SIZE,
				      (uintptr_t)mem));
	huge = mmap(mem, S2MMU_PMD_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
		    -1, 0);
	if (huge == MAP_FAILED) {
		TH_LOG("no hugetlb page: a PFNMAP page replaces the slot's");
		huge = mmap(mem, PG, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_FIXED, other.vcpu, 0);
	}
	ASSERT_EQ(mem, huge);
	memset(mem, 1, PG);
	EXPECT_EQ(S2MMU_EXIT_MEMORY_FAULT,
		  guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS, GPA_BASE,
			     tags, PG));
	munmap(mem, S2MMU_PMD_SIZE);
	guest_close(_metadata, &other);
	guest_close(_metadata, &g);
}

/*
 * Migration (MADV_SOFT_OFFLINE moves the page to a new frame) keeps the
 * tags the guest stored: the kernel copies them with the data, and the
 * guest's refault of the new frame (tagged already) does not clear them.
 * Swap-out: swap_keeps_tags below.
 */
TEST(migrate_keeps_tags)
{
	const size_t n = 2, size = n * PG;
	__u8 tags[2 * TAGS_PER_PAGE], out[2 * TAGS_PER_PAGE];
	struct s2mmu_translation t;
	__u64 before, after;
	struct guest g;
	char *mem;
	size_t i;

	if (!host_has_mte())
		SKIP(return, NO_MTE);
	if (geteuid() != 0)
		SKIP(return, "MADV_SOFT_OFFLINE needs CAP_SYS_ADMIN");
	mem = anon(size, false);
	ASSERT_NE(NULL, mem);
	memset(mem, 9, size);
	ASSERT_EQ(0, guest_open(&g, mem, size));
	for (i = 0; i < size / GRANULE; i++)
		tags[i] = pattern(i, 4);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run,
					      S2MMU_OP_STORE_TAGS, GPA_BASE,
					      tags, size));
	before = s2mmu_pagemap_pfn(mem + PG);
	if (madvise(mem + PG, PG, MADV_SOFT_OFFLINE))
		SKIP(return, "MADV_SOFT_OFFLINE: %s", strerror(errno));
	after = s2mmu_pagemap_pfn(mem + PG);
	TH_LOG("pfn %#llx -> %#llx", (unsigned long long)before,
	       (unsigned long long)after);
	if (before && after)
		EXPECT_NE(before, after);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, out, size));
	EXPECT_EQ(0, memcmp(tags, out, size / GRANULE));
	ASSERT_EQ(0, s2mmu_translate(g.vcpu, GPA_BASE + PG, &t));
	if (after)
		EXPECT_EQ(after * PG, t.hpa);
	EXPECT_EQ(9, mem[size - 1]);
	guest_close(_metadata, &g);
	munmap(mem, size);
}

/*
 * Swap-out keeps the tags the guest stored: the kernel saves them when
 * it writes the page out (arch_prepare_to_swap(), arm64's mteswap.c)
 * and restores them into the page the refault reads it back into, which
 * comes back PG_mte_tagged, so the module does not sanitise it.  The
 * swap device is a zram device of the test's own (s2mmu_swap_on()).
 * Not vacuous: the pages must have left memory (swap entries in
 * pagemap, not in the swap cache either, held by zram) and stage 2, or
 * the tags would simply have stayed where the guest stored them.
 */
FIXTURE(swap) {
	struct s2mmu_swap swap;
};

FIXTURE_SETUP(swap)
{
	self->swap = (struct s2mmu_swap){ .zram = -1 };
}

/* In the parent: swap goes off even after a failed assertion or crash. */
FIXTURE_TEARDOWN_PARENT(swap)
{
	EXPECT_EQ(0, s2mmu_swap_off(&self->swap));
}

/* How many of the @n pages at @p are out in swap and not in memory. */
static size_t swapped_out(char *p, size_t n)
{
	unsigned char vec[8];
	size_t i, out = 0;

	if (n > sizeof(vec) || mincore(p, n * PG, vec))
		return 0;
	for (i = 0; i < n; i++)
		out += s2mmu_pagemap_swapped(p + i * PG) && !(vec[i] & 1);
	return out;
}

TEST_F(swap, swap_keeps_tags)
{
	/* Page 0 stays in memory; pages 1-3 go out to swap. */
	const size_t n = 4, size = n * PG, nout = n - 1;
	__u8 tags[4 * TAGS_PER_PAGE], out[4 * TAGS_PER_PAGE];
	struct s2mmu_translation t;
	long stored, before, after;
	size_t i, bad, gone = 0;
	struct guest g;
	char why[128];
	int tries;
	char *mem;

	if (!host_has_mte())
		SKIP(return, NO_MTE);
	if (s2mmu_swap_on(&self->swap, "16M", why, sizeof(why)))
		SKIP(return, "no swap: %s", why);
	/* The faults and MADV_PAGEOUT's LRU drain on one CPU. */
	pin_cpu0();
	mem = anon(size, false);
	ASSERT_NE(NULL, mem);
	for (i = 0; i < n; i++)
		s2mmu_fill_page(mem + i * PG, i + 1);
	ASSERT_EQ(0, guest_open(&g, mem, size));
	for (i = 0; i < size / GRANULE; i++)
		tags[i] = pattern(i, 6);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run,
					      S2MMU_OP_STORE_TAGS, GPA_BASE,
					      tags, size));
	ASSERT_EQ(0, s2mmu_translate(g.vcpu, GPA_BASE + PG, &t));
	ASSERT_TRUE(t.present);

	/* A page still in an LRU batch is not reclaimed: try again. */
	stored = s2mmu_zram_stored(self->swap.zram);
	for (tries = 1; tries <= 5; tries++) {
		ASSERT_EQ(0, madvise(mem + PG, nout * PG, MADV_PAGEOUT));
		gone = swapped_out(mem + PG, nout);
		if (gone == nout)
			break;
	}
	stored = s2mmu_zram_stored(self->swap.zram) - stored;
	TH_LOG("%zu of %zu pages out after %d MADV_PAGEOUT, zram took %ld bytes",
	       gone, nout, tries, stored);
	ASSERT_EQ(nout, gone);
	EXPECT_LE((long)(nout * PG), stored);
	for (i = 1; i < n; i++) {
		ASSERT_EQ(0, s2mmu_translate(g.vcpu, GPA_BASE + i * PG, &t));
		EXPECT_FALSE(t.present) TH_LOG("page %zu still in stage 2", i);
	}

	/* The guest's tag loads refault the pages from swap. */
	before = sanitised_pages(&g);
	ASSERT_EQ(S2MMU_EXIT_DONE, guest_tags(g.vcpu, g.run, S2MMU_OP_LOAD_TAGS,
					      GPA_BASE, out, size));
	after = sanitised_pages(&g);
	for (i = 0; i < n; i++) {
		size_t j;

		for (bad = 0, j = i * TAGS_PER_PAGE;
		     j < (i + 1) * TAGS_PER_PAGE; j++)
			bad += out[j] != tags[j];
		EXPECT_EQ(0, bad)
			TH_LOG("page %zu: %zu granules lost their tags (%u, not %u)",
			       i, bad, out[i * TAGS_PER_PAGE],
			       tags[i * TAGS_PER_PAGE]);
	}
	TH_LOG("refault: the VM had sanitised %ld pages, now %ld", before,
	       after);
	if (before >= 0 && after >= 0)
		EXPECT_EQ(before, after) TH_LOG("the swapped-in pages were sanitised");
	EXPECT_EQ(0, swapped_out(mem + PG, nout));
	for (i = 0; i < n; i++) {
		__u64 pfn = s2mmu_pagemap_pfn(mem + i * PG);

		ASSERT_EQ(0, s2mmu_translate(g.vcpu, GPA_BASE + i * PG, &t));
		EXPECT_TRUE(t.present);
		if (pfn)
			EXPECT_EQ(pfn * PG, t.hpa) TH_LOG("page %zu", i);
		EXPECT_TRUE(s2mmu_check_page(mem + i * PG, i + 1))
			TH_LOG("page %zu: data", i);
	}
	guest_close(_metadata, &g);
	munmap(mem, size);
}

TEST_HARNESS_MAIN
