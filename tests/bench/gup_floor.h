/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gup_floor: the ioctl ABI of the benchmarks' GUP floor module
 * (tests/bench/gup_floor.c), shared with tests/bench/s2mmu_bench.c.
 */
#ifndef _GUP_FLOOR_H
#define _GUP_FLOOR_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define GUP_FLOOR_DEV		"/dev/gup_floor"

#define GUP_FLOOR_F_WRITE	0x1	/* FOLL_WRITE */

/*
 * GUP_FLOOR_RUN: for each @stride-th byte of [@addr, @addr + @len) of the
 * caller's address space, get_user_pages (fast, then slow, as a
 * secondary MMU's fault does) one page and put it again.  @pages (out)
 * counts the pages taken; on an error the ioctl fails and @pages says
 * how far it got.
 */
struct gup_floor_run {
	__u64 addr;
	__u64 len;
	__u64 stride;	/* 0 means 4096 */
	__u32 flags;	/* GUP_FLOOR_F_* */
	__u32 pad;	/* must be 0 */
	__u64 pages;
};

#define GUP_FLOOR_RUN		_IOWR(0xB9, 0x00, struct gup_floor_run)

#endif /* _GUP_FLOOR_H */
