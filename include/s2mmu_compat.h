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

#endif /* _S2MMU_COMPAT_H */
