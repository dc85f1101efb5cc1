// SPDX-License-Identifier: GPL-2.0
/*
 * gup_floor: the floor of any secondary MMU fault, for the benchmarks.
 *
 * A secondary MMU that does not pin long term must, per fault, take a
 * reference on the host page (GUP) and drop it once the entry is in its
 * tables.  This module does only that, for a range of the caller's
 * memory, through one ioctl on /dev/gup_floor: whatever s2mmu's fault
 * costs above it is the stage-2 part (slot lookup, host level walk,
 * invalidation sequence, table install).  The pages are taken the way
 * s2mmu_host_get_page() takes them: get_user_page_fast_only() first, then
 * get_user_pages_unlocked().
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "gup_floor.h"

static long gup_floor_run(struct gup_floor_run *r)
{
	unsigned int flags = (r->flags & GUP_FLOOR_F_WRITE) ? FOLL_WRITE : 0;
	u64 stride = r->stride ?: PAGE_SIZE;
	unsigned long addr;
	struct page *page;
	u64 pos;
	long n;

	r->pages = 0;
	for (pos = 0; pos < r->len; pos += stride) {
		addr = r->addr + pos;
		if (!get_user_page_fast_only(addr, flags, &page)) {
			n = get_user_pages_unlocked(addr, 1, &page, flags);
			if (n != 1)
				return n < 0 ? n : -EFAULT;
		}
		put_page(page);
		r->pages++;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

static long gup_floor_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct gup_floor_run __user *uarg = (void __user *)arg;
	struct gup_floor_run r;
	long ret;

	if (cmd != GUP_FLOOR_RUN)
		return -ENOTTY;
	if (copy_from_user(&r, uarg, sizeof(r)))
		return -EFAULT;
	if ((r.flags & ~GUP_FLOOR_F_WRITE) || r.pad ||
	    r.addr + r.len < r.addr)
		return -EINVAL;
	ret = gup_floor_run(&r);
	if (copy_to_user(uarg, &r, sizeof(r)))
		return -EFAULT;
	return ret;
}

static const struct file_operations gup_floor_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = gup_floor_ioctl,
};

static struct miscdevice gup_floor_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gup_floor",
	.fops = &gup_floor_fops,
	.mode = 0600,
};

module_misc_device(gup_floor_dev);

MODULE_DESCRIPTION("s2mmu benchmarks: get_user_pages/put_page floor of a secondary fault");
MODULE_LICENSE("GPL");
