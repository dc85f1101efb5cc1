// SPDX-License-Identifier: GPL-2.0
/*
 * MTE for arm64 stage-2 VMs (S2MMU_VM_ARM64_MTE): allocation tags.
 *
 * A page mapped into stage 2 as Normal Cacheable shows its allocation
 * tags to the guest, so they must be initialised before the first
 * mapping: whatever a previous user of the frame left in its tag storage
 * must not reach the guest.  As KVM's sanitise_mte_tags(): under
 * mmu_lock (read), after the fault's invalidation retry check and only
 * for a page not mapped yet (not for a permission fault), every page of
 * the leaf whose PG_mte_tagged is clear gets its tags cleared and
 * PG_mte_tagged set.  try_page_mte_tagging() (PG_mte_lock) makes the
 * test-and-clear atomic against every other first tagger of the page
 * (another VM or vCPU mapping it, the host's set_pte_at() of a PROT_MTE
 * mapping, S2MMU_ARM64_MTE_COPY_TAGS): exactly one of them initialises
 * the tags, the others wait for PG_mte_tagged and keep what it wrote.
 * Documentation/locking.rst, "MTE tags".
 *
 * The kernel's tag helpers (mte_clear_page_tags() and the copies) are not
 * exported: the tag accesses below are this file's own STGM, LDG and STG.
 * Tags are stored through the kernel's linear map, which the kernel maps
 * Normal Tagged on MTE hosts; the data is never touched.
 *
 * Real only on arm64 kernels with CONFIG_ARM64_MTE and PG_mte_lock
 * (try_page_mte_tagging(), 6.2+; Kbuild probes for it).  Elsewhere (x86,
 * 6.1, UML) no MTE VM can be created and the accessors are never called.
 */
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "s2mmu.h"
#include "s2mmu_trace.h"

#if defined(CONFIG_ARM64) && defined(CONFIG_ARM64_MTE) && \
	defined(S2MMU_HAVE_TRY_PAGE_MTE_TAGGING)
#include <asm/cpufeature.h>
#include <asm/mte.h>

#ifdef S2MMU_PROVE_MMU
/*
 * Test flavour only: while set, prepare_page leaves tags as they are,
 * so mte_test can show that without sanitising a guest sees the tags a
 * frame's previous user left (the test would pass vacuously otherwise).
 */
static bool test_mte_skip_sanitise;
module_param(test_mte_skip_sanitise, bool, 0600);
MODULE_PARM_DESC(test_mte_skip_sanitise,
		 "TEST ONLY: MTE VMs map pages without clearing their tags");
#else
static const bool test_mte_skip_sanitise;
#endif

/* armv8.5-a: what the kernel itself assembles MTE instructions as. */
#define S2MMU_MTE_ASM		".arch armv8.5-a\n.arch_extension memtag\n"
#define S2MMU_MTE_TAG_SHIFT	56
#define S2MMU_MTE_GRANULE	16

/* Bytes STGM stores tags for: GMID_EL1.BS is log2 of that in words. */
static unsigned long s2mmu_mte_block_size(void)
{
	u64 gmid;

	asm volatile("mrs %0, s3_1_c0_c0_4" : "=r" (gmid));	/* GMID_EL1 */
	return 4UL << (gmid & 0xf);
}

/* Set every tag of the page at @va to 0 with STGM (EL1): data untouched. */
static void s2mmu_mte_clear_page(void *va)
{
	unsigned long step = s2mmu_mte_block_size();
	unsigned long p = (unsigned long)va;
	unsigned long end = p + PAGE_SIZE;

	for (; p < end; p += step)
		asm volatile(S2MMU_MTE_ASM "stgm xzr, [%0]"
			     : : "r" (p) : "memory");
}

/**
 * s2mmu_arm64_mte_load_tags() - read allocation tags, as LDG does.
 * @va: kernel address of the first granule (16-byte aligned).
 * @tags: out: one tag (0-15) per granule.
 * @n: number of granules, within one page.
 */
void s2mmu_arm64_mte_load_tags(const void *va, u8 *tags, unsigned int n)
{
	unsigned long p = (unsigned long)va;
	unsigned int i;

	for (i = 0; i < n; i++, p += S2MMU_MTE_GRANULE) {
		u64 t = 0;

		/* LDG inserts the granule's tag into bits 59:56 of @t. */
		asm volatile(S2MMU_MTE_ASM "ldg %0, [%1]"
			     : "+r" (t) : "r" (p) : "memory");
		tags[i] = (t >> S2MMU_MTE_TAG_SHIFT) & 0xf;
	}
}

/**
 * s2mmu_arm64_mte_store_tags() - set allocation tags, as STG does.
 * @va: kernel address of the first granule (16-byte aligned).
 * @tags: one tag per granule (bits 0-3 used).
 * @n: number of granules, within one page.
 */
void s2mmu_arm64_mte_store_tags(void *va, const u8 *tags, unsigned int n)
{
	unsigned long p = (unsigned long)va;
	unsigned int i;

	for (i = 0; i < n; i++, p += S2MMU_MTE_GRANULE) {
		u64 t = (u64)(tags[i] & 0xf) << S2MMU_MTE_TAG_SHIFT;

		/* STG stores the tag in bits 59:56 of @t for the granule. */
		asm volatile(S2MMU_MTE_ASM "stg %0, [%1]"
			     : : "r" (t), "r" (p) : "memory");
	}
}

/**
 * s2mmu_arm64_mte_page_tagged() - does a page hold initialised tags?
 * @page: the page, with a reference.
 *
 * Return: PG_mte_tagged (ordered before a later read of the tags).
 */
bool s2mmu_arm64_mte_page_tagged(struct page *page)
{
	return page_mte_tagged(page);
}

/**
 * s2mmu_arm64_mte_set_page_tags() - set all the tags of a page.
 * @page: the page, with a reference.
 * @tags: MTE_GRANULES_PER_PAGE tags, one per byte.
 *
 * As KVM's KVM_ARM_MTE_COPY_TAGS to the guest: PG_mte_lock only
 * serialises with a concurrent first tagger (which may still clear the
 * tags first); the tags are overwritten either way, then PG_mte_tagged
 * is set, so no later mapping clears them.
 */
void s2mmu_arm64_mte_set_page_tags(struct page *page, const u8 *tags)
{
	try_page_mte_tagging(page);
	s2mmu_arm64_mte_store_tags(page_address(page), tags,
				   MTE_GRANULES_PER_PAGE);
	set_page_mte_tagged(page);
}

/*
 * The huge zero folio: not anonymous, no mapping, large.  Nothing else in
 * a VMA that allows tags looks like that (anonymous THPs are anonymous,
 * shmem ones have their mapping until their unmap has invalidated them),
 * and huge_zero_folio itself is not exported.
 */
static bool s2mmu_mte_huge_zero(struct page *page)
{
	struct folio *folio = page_folio(page);

	return folio_test_large(folio) && !folio_test_anon(folio) &&
	       !READ_ONCE(folio->mapping);
}

/* Initialise the tags of the @nr pages from @pfn the first time. */
static int s2mmu_mte_sanitise(struct s2mmu_vm *vm, u64 gfn, u64 pfn,
			      unsigned long nr)
{
	unsigned long i, cleared = 0;

	/* ZONE_DEVICE and offline memory may have no tag storage. */
	if (!pfn_to_online_page(pfn))
		return -EFAULT;
	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(pfn + i);

		/* The zero pages are shared by all: never theirs to clear. */
		if (is_zero_pfn(pfn + i) || s2mmu_mte_huge_zero(page))
			continue;
		if (try_page_mte_tagging(page)) {
			s2mmu_mte_clear_page(page_address(page));
			set_page_mte_tagged(page);
			cleared++;
		}
	}
	if (cleared) {
		atomic64_add(cleared, &vm->stat.mte_pages_sanitised);
		trace_s2mmu_mte_sanitised(gfn, nr, cleared);
	}
	return 0;
}

/**
 * s2mmu_arm64_mte_supported() - can this host run MTE guests?
 *
 * Return: system_supports_mte().
 */
bool s2mmu_arm64_mte_supported(void)
{
	return system_supports_mte();
}

/**
 * s2mmu_arm64_mte_prepare_page() - the arm64 VM type's prepare_page.
 * @vm: the VM.
 * @f: the fault, its page looked up and its level chosen.
 *
 * For an MTE VM: fails a fault on host memory that cannot hold tags (the
 * VMA found when the page was looked up lacks VM_MTE_ALLOWED, or is
 * PFNMAP/IO), and initialises the tags of every page of the leaf about
 * to be installed, unless the faulting page is mapped already (a
 * permission fault: it was sanitised when it was first mapped).
 *
 * Context: mmu_lock held for read, after the invalidation retry check.
 * Return: 0, or -EFAULT (memory that cannot be mapped into an MTE VM).
 */
int s2mmu_arm64_mte_prepare_page(struct s2mmu_vm *vm, struct s2mmu_fault *f)
	__must_hold(&vm->mmu_lock)
{
	unsigned long nr = 1UL << (f->level * S2MMU_PT_LEVEL_BITS);
	u64 pa = (f->pfn + (f->gfn & (nr - 1))) << PAGE_SHIFT;
	struct s2mmu_pt_info info;

	if (!vm->cfg.mte)
		return 0;
	if (!(f->vm_flags & VM_MTE_ALLOWED) ||
	    (f->vm_flags & (VM_PFNMAP | VM_IO)))
		return -EFAULT;
	if (!s2mmu_pgtable_lookup(&vm->pgt, f->gfn << PAGE_SHIFT, 0, &info) &&
	    info.pa == pa && info.level >= f->level)
		return 0;
	if (READ_ONCE(test_mte_skip_sanitise))
		return 0;
	return s2mmu_mte_sanitise(vm, f->gfn & ~(u64)(nr - 1), f->pfn, nr);
}

/**
 * s2mmu_arm64_mte_prepare_memory_region() - refuse a slot an MTE VM
 * cannot use.
 * @vm: the VM.
 * @mem: the slot being created, moved or changed.
 *
 * As KVM: every VMA in the slot's host range must allow tags
 * (VM_MTE_ALLOWED: anonymous and shmem/memfd memory, not hugetlb) and not
 * be PFNMAP/IO memory.  Holes are allowed (a fault there fails).  A VMA
 * replaced later is caught by the fault (prepare_page).
 *
 * Return: 0, -EINVAL for such a VMA, -EINTR for a fatal signal.
 */
int s2mmu_arm64_mte_prepare_memory_region(struct s2mmu_vm *vm,
					  const struct s2mmu_memory_region *mem)
{
	unsigned long start = mem->userspace_addr;
	unsigned long end = start + mem->memory_size;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	int ret = 0;

	if (!vm->cfg.mte || !mem->memory_size)
		return 0;
	if (mmap_read_lock_killable(vm->mm))
		return -EINTR;
	vma_iter_init(&vmi, vm->mm, start);
	for_each_vma_range(vmi, vma, end) {
		if (!(vma->vm_flags & VM_MTE_ALLOWED) ||
		    (vma->vm_flags & (VM_PFNMAP | VM_IO))) {
			ret = -EINVAL;
			break;
		}
	}
	mmap_read_unlock(vm->mm);
	return ret;
}

#else /* no MTE VMs on this kernel */

bool s2mmu_arm64_mte_supported(void)
{
	return false;
}

int s2mmu_arm64_mte_prepare_page(struct s2mmu_vm *vm, struct s2mmu_fault *f)
{
	return 0;
}

int s2mmu_arm64_mte_prepare_memory_region(struct s2mmu_vm *vm,
					  const struct s2mmu_memory_region *mem)
{
	return 0;
}

void s2mmu_arm64_mte_load_tags(const void *va, u8 *tags, unsigned int n)
{
	memset(tags, 0, n);
}

void s2mmu_arm64_mte_store_tags(void *va, const u8 *tags, unsigned int n)
{
}

bool s2mmu_arm64_mte_page_tagged(struct page *page)
{
	return false;
}

void s2mmu_arm64_mte_set_page_tags(struct page *page, const u8 *tags)
{
}

#endif
