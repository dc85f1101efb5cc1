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

#include <linux/mmu_notifier.h>

/*
 * mmu_notifier_ops->change_pte (gone in 6.9): KSM and COW replaced a PTE
 * with set_pte_at_notify() inside an invalidate_range_start/end pair.
 * s2mmu zaps in invalidate_range_start, so the secondary mapping is
 * already gone when ->change_pte would run.
 */
#ifdef S2MMU_HAVE_MN_CHANGE_PTE
#define S2MMU_MN_HAS_CHANGE_PTE	1
#else
#define S2MMU_MN_HAS_CHANGE_PTE	0
#endif

#endif /* _S2MMU_COMPAT_H */
