/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where s2mmu adapts to kernel API differences between the
 * kernels it supports (Debian's 6.1 and 6.12, and what lies between).
 *
 * Differences are detected by feature probes in Kbuild (a grep of the
 * target kernel's headers), not by version numbers, so a backport that
 * brings an API along is handled too.  Each probe defines an
 * S2MMU_HAVE_* macro for the compiler; this header turns them into
 * helpers the rest of the code uses without #ifdefs.
 */
#ifndef _S2MMU_COMPAT_H
#define _S2MMU_COMPAT_H

#include <linux/mm.h>
#include <linux/pgtable.h>

/*
 * pmdp_get_lockless() (6.2): read a PMD that may change under us.  Before
 * it, 64-bit kernels read PMDs with one load, which is what READ_ONCE()
 * gives (s2mmu is 64-bit only).
 */
#ifndef S2MMU_HAVE_PMDP_GET_LOCKLESS
static inline pmd_t pmdp_get_lockless(pmd_t *pmdp)
{
	return READ_ONCE(*pmdp);
}
#endif

/*
 * get_user_pages_remote() lost its vmas argument in 6.5, when
 * get_user_page_vma_remote() (the probe) was added for the callers that
 * wanted the vma.  s2mmu_get_user_pages_locked(): GUP with the caller
 * holding @mm's mmap_lock for read and *@locked 1; GUP may drop the lock
 * to wait (a fatal signal, userfaultfd), and then sets *@locked to 0.
 *
 * The remote variant is the only one that takes @locked on both kernels;
 * on the caller's own mm it differs from get_user_pages_unlocked() only
 * in FOLL_REMOTE: protection keys are not checked against the caller's
 * and the faults are not counted as the caller's.
 */
static inline long s2mmu_get_user_pages_locked(struct mm_struct *mm,
					       unsigned long start,
					       unsigned long nr_pages,
					       unsigned int gup_flags,
					       struct page **pages,
					       int *locked)
{
#ifdef S2MMU_HAVE_GET_USER_PAGE_VMA_REMOTE
	return get_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				     locked);
#else
	return get_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				     NULL, locked);
#endif
}

/*
 * inode_operations.setattr's first argument: struct mnt_idmap * since
 * 6.3, struct user_namespace * before.
 */
#ifdef S2MMU_HAVE_SETATTR_IDMAP
#define S2MMU_SETATTR_NS_ARG	struct mnt_idmap *idmap
#else
#define S2MMU_SETATTR_NS_ARG	struct user_namespace *ns
#endif

#endif /* _S2MMU_COMPAT_H */
