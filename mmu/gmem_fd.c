// SPDX-License-Identifier: GPL-2.0
/*
 * The guest_memfd file: a file of the module's own
 * pseudo filesystem, one inode each, so fstat() reports its size and
 * each file has its own inode number; no read, write or mmap (as KVM's
 * guest_memfd without GUEST_MEMFD_FLAG_MMAP); fallocate() as KVM's.
 * The memory behind it is mmu/gmem.c's.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/fs_context.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>

#include "s2mmu.h"
#include "s2mmu_compat.h"

#define S2MMU_GMEM_MAGIC	0x73326d67	/* "s2mg" */

static struct vfsmount *s2mmu_gmem_mnt;

static int s2mmu_gmem_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, S2MMU_GMEM_MAGIC) ? 0 : -ENOMEM;
}

/*
 * No .owner: the module mounts it for its own lifetime, and a reference
 * the mount took on the module would keep it from ever unloading.  An
 * open guest_memfd pins the module through its file operations.
 */
static struct file_system_type s2mmu_gmem_fs = {
	.name			= "s2mmu_gmem",
	.init_fs_context	= s2mmu_gmem_init_fs_context,
	.kill_sb		= kill_anon_super,
};

/*
 * fallocate(2), as KVM's guest_memfd: FALLOC_FL_KEEP_SIZE (allocate,
 * inside the file) or FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE (free
 * and unmap; past the end is allowed and does nothing).
 */
static long s2mmu_gmem_fallocate(struct file *file, int mode, loff_t offset,
				 loff_t len)
{
	struct s2mmu_gmem *gmem = file->private_data;
	loff_t size = i_size_read(file_inode(file));
	pgoff_t start, end;

	if (!(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (!PAGE_ALIGNED(offset) || !PAGE_ALIGNED(len))
		return -EINVAL;
	start = offset >> PAGE_SHIFT;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		if (offset >= size)
			return 0;
		end = min(offset + len, size) >> PAGE_SHIFT;
		return s2mmu_gmem_punch_hole(gmem, start, end);
	}
	if (offset + len > size)
		return -EINVAL;
	return s2mmu_gmem_allocate(gmem, start, (offset + len) >> PAGE_SHIFT);
}

static int s2mmu_gmem_release(struct inode *inode, struct file *file)
{
	struct s2mmu_gmem *gmem = file->private_data;
	struct s2mmu_vm *vm = gmem->vm;

	s2mmu_gmem_destroy(gmem);
	s2mmu_vm_put(vm);
	return 0;
}

static const struct file_operations s2mmu_gmem_fops = {
	.owner		= THIS_MODULE,
	.open		= generic_file_open,
	.release	= s2mmu_gmem_release,
	.fallocate	= s2mmu_gmem_fallocate,
	.llseek		= noop_llseek,
};

/* The size is fixed at creation: ftruncate() and friends are refused. */
static int s2mmu_gmem_setattr(S2MMU_SETATTR_NS_ARG, struct dentry *dentry,
			      struct iattr *attr)
{
	return -EINVAL;
}

static const struct inode_operations s2mmu_gmem_iops = {
	.setattr	= s2mmu_gmem_setattr,
};

/**
 * s2mmu_gmem_create() - S2MMU_CREATE_GUEST_MEMFD.
 * @vm: the VM the file is bound to.
 * @args: the request, copied from userspace.
 *
 * Return: the new fd (O_RDWR | O_CLOEXEC); -EINVAL for non-zero flags or
 * reserved fields, or a size that is zero, not page aligned or too
 * large; -ENOMEM; -EMFILE.
 */
int s2mmu_gmem_create(struct s2mmu_vm *vm,
		      const struct s2mmu_create_guest_memfd *args)
{
	struct s2mmu_gmem *gmem;
	struct inode *inode;
	struct file *file;
	int fd;

	if (args->flags || memchr_inv(args->reserved, 0, sizeof(args->reserved)))
		return -EINVAL;
	if (!args->size || !PAGE_ALIGNED(args->size) ||
	    args->size > MAX_LFS_FILESIZE)
		return -EINVAL;

	gmem = s2mmu_gmem_alloc(vm);
	if (!gmem)
		return -ENOMEM;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		goto free;
	inode = alloc_anon_inode(s2mmu_gmem_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		put_unused_fd(fd);
		fd = PTR_ERR(inode);
		goto free;
	}
	inode->i_mode |= S_IFREG;
	inode->i_op = &s2mmu_gmem_iops;
	i_size_write(inode, args->size);
	/*
	 * alloc_file_pseudo() takes no reference on the module, but the
	 * last fput() drops one (fops_put()): take it here, as anon inodes do.
	 */
	__module_get(THIS_MODULE);
	file = alloc_file_pseudo(inode, s2mmu_gmem_mnt, "[s2mmu-gmem]",
				 O_RDWR, &s2mmu_gmem_fops);
	if (IS_ERR(file)) {
		module_put(THIS_MODULE);
		iput(inode);
		put_unused_fd(fd);
		fd = PTR_ERR(file);
		goto free;
	}
	file->private_data = gmem;
	refcount_inc(&vm->users);
	fd_install(fd, file);
	return fd;
free:
	kfree(gmem);
	return fd;
}

/**
 * s2mmu_gmem_init() - mount the guest_memfd filesystem (module load).
 *
 * Return: 0 or a negative errno.
 */
int s2mmu_gmem_init(void)
{
	s2mmu_gmem_mnt = kern_mount(&s2mmu_gmem_fs);
	return PTR_ERR_OR_ZERO(s2mmu_gmem_mnt);
}

/** s2mmu_gmem_exit() - unmount it (module unload: no file is left). */
void s2mmu_gmem_exit(void)
{
	kern_unmount(s2mmu_gmem_mnt);
}

/**
 * s2mmu_gmem_fget() - the guest_memfd of @vm behind fd @fd.
 * @vm: the VM.
 * @fd: the fd.
 * @size: out: the file's size.
 *
 * Return: the file, with a reference the caller drops with fput();
 * ERR_PTR(-EBADF) for a bad fd, ERR_PTR(-EINVAL) for a file that is not
 * a guest_memfd of @vm.
 */
struct file *s2mmu_gmem_fget(struct s2mmu_vm *vm, unsigned int fd, u64 *size)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (file->f_op != &s2mmu_gmem_fops ||
	    ((struct s2mmu_gmem *)file->private_data)->vm != vm) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	*size = i_size_read(file_inode(file));
	return file;
}
