// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: the device, VM creation and VM lifetime.
 *
 * What a VMM relies on before any memory is mapped: the device answers,
 * each VM type can be created and reports what it was created with, bad
 * arguments are refused with the documented errno, a VM is usable only
 * from the mm that created it, and closing or exiting in any order tears
 * the VM down and releases the module.
 */
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

TEST(device_node)
{
	struct stat st;
	int fd;

	ASSERT_EQ(0, stat(S2MMU_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0660, st.st_mode & 07777);

	fd = s2mmu_open();
	ASSERT_LE(0, fd);
	close(fd);
}

TEST(api_version)
{
	int fd = s2mmu_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(S2MMU_API_VERSION, ioctl(fd, S2MMU_GET_API_VERSION, 0));
	/* The argument is reserved. */
	EXPECT_EQ(-1, ioctl(fd, S2MMU_GET_API_VERSION, 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

FIXTURE(vm) {
	int vm;
};

FIXTURE_VARIANT(vm) {
	unsigned long arg;
	__u32 type;
	__u32 gpa_bits;
	__u32 levels;
};

FIXTURE_VARIANT_ADD(vm, x86_tdp) {
	.arg = S2MMU_VM_X86_TDP,
	.type = S2MMU_VM_X86_TDP, .gpa_bits = 48, .levels = 4,
};

FIXTURE_VARIANT_ADD(vm, x86_tdp_5level) {
	.arg = S2MMU_VM_X86_TDP | S2MMU_VM_GPA_BITS(57),
	.type = S2MMU_VM_X86_TDP, .gpa_bits = 57, .levels = 5,
};

FIXTURE_VARIANT_ADD(vm, arm64_s2) {
	.arg = S2MMU_VM_ARM64_S2,
	.type = S2MMU_VM_ARM64_S2, .gpa_bits = 40, .levels = 4,
};

FIXTURE_VARIANT_ADD(vm, arm64_s2_ipa32) {
	.arg = S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(32),
	.type = S2MMU_VM_ARM64_S2, .gpa_bits = 32, .levels = 3,
};

FIXTURE_VARIANT_ADD(vm, arm64_s2_ipa39) {
	.arg = S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(39),
	.type = S2MMU_VM_ARM64_S2, .gpa_bits = 39, .levels = 3,
};

FIXTURE_VARIANT_ADD(vm, arm64_s2_ipa48) {
	.arg = S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(48),
	.type = S2MMU_VM_ARM64_S2, .gpa_bits = 48, .levels = 4,
};

FIXTURE_SETUP(vm)
{
	self->vm = s2mmu_create_vm(variant->arg);
	ASSERT_LE(0, self->vm) TH_LOG("CREATE_VM: %s", strerror(-self->vm));
}

FIXTURE_TEARDOWN(vm)
{
	S2MMU_EXPECT_INVARIANTS(self->vm);
	close(self->vm);
}

/* The VM reports what it was created with. */
TEST_F(vm, info)
{
	struct s2mmu_vm_info info;

	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, ioctl(self->vm, S2MMU_GET_VM_INFO, &info));
	EXPECT_EQ(variant->type, info.type);
	EXPECT_EQ(variant->gpa_bits, info.gpa_bits);
	EXPECT_EQ(variant->levels, info.levels);
	EXPECT_EQ(0, info.nr_slots);
	/* The root table exists from creation. */
	EXPECT_EQ(1, info.stat_table_pages);
	EXPECT_EQ(1ULL << variant->gpa_bits, info.max_gpa);
}

/* The VM fd is close-on-exec, as KVM's, so a VMM does not leak it. */
TEST_F(vm, cloexec)
{
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->vm, F_GETFD) & FD_CLOEXEC);
}

TEST_F(vm, bad_ioctls)
{
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_GET_VM_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_GET_VM_INFO, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* System ioctls are not VM ioctls. */
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_CREATE_VM, variant->arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->vm, S2MMU_GET_API_VERSION, 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->vm, _IO(S2MMUIO, 0xff), 0));
	EXPECT_EQ(ENOTTY, errno);
	/* KVM_GET_API_VERSION: another driver's number. */
	EXPECT_EQ(-1, ioctl(self->vm, _IO(0xAE, 0x00), 0));
	EXPECT_EQ(ENOTTY, errno);
	/* Right number, wrong size or direction. */
	EXPECT_EQ(-1, ioctl(self->vm, _IOW(S2MMUIO, 0x10, struct s2mmu_vm_info), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->vm, _IOR(S2MMUIO, 0x10, __u64), 0));
	EXPECT_EQ(ENOTTY, errno);

	/* The VM is still usable afterwards. */
	struct s2mmu_vm_info info;

	EXPECT_EQ(0, ioctl(self->vm, S2MMU_GET_VM_INFO, &info));
}

/* A forked child shares no mm with the VM: every VM ioctl is -EIO. */
TEST_F(vm, foreign_mm_after_fork)
{
	struct s2mmu_vm_info info;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (ioctl(self->vm, S2MMU_GET_VM_INFO, &info) != -1)
			_exit(1);
		if (errno != EIO)
			_exit(2);
		/* Unknown ioctls from a foreign mm are -EIO too. */
		if (ioctl(self->vm, _IO(S2MMUIO, 0xff), 0) != -1 || errno != EIO)
			_exit(3);
		/* Closing the inherited fd in the child is harmless. */
		close(self->vm);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The parent, the owner, still can. */
	EXPECT_EQ(0, ioctl(self->vm, S2MMU_GET_VM_INFO, &info));
	EXPECT_EQ(variant->type, info.type);
}

/* Several VMs per mm are independent objects. */
TEST_F(vm, many_vms)
{
	struct s2mmu_vm_info info;
	int fds[16], i;

	for (i = 0; i < 16; i++) {
		fds[i] = s2mmu_create_vm(variant->arg);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 16; i += 2)
		close(fds[i]);
	for (i = 1; i < 16; i += 2) {
		EXPECT_EQ(0, ioctl(fds[i], S2MMU_GET_VM_INFO, &info));
		close(fds[i]);
	}
	EXPECT_EQ(0, ioctl(self->vm, S2MMU_GET_VM_INFO, &info));
}

TEST(bad_vm_types)
{
	static const unsigned long bad[] = {
		0, 3, 0x7f, 0xff,
		S2MMU_VM_X86_TDP | S2MMU_VM_GPA_BITS(40),
		S2MMU_VM_X86_TDP | S2MMU_VM_GPA_BITS(47),
		S2MMU_VM_X86_TDP | S2MMU_VM_GPA_BITS(58),
		S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(31),
		S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(49),
		S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(0xff),
		S2MMU_VM_X86_TDP | (1UL << 16),
		S2MMU_VM_ARM64_S2 | (1UL << 31),
		S2MMU_VM_X86_TDP | (1UL << (sizeof(long) * 8 - 1)),
		-1UL,
	};
	long before = s2mmu_module_refcnt();
	unsigned int i;
	int dev;

	dev = s2mmu_open();
	ASSERT_LE(0, dev);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, ioctl(dev, S2MMU_CREATE_VM, bad[i]))
			TH_LOG("type %#lx accepted", bad[i]);
		EXPECT_EQ(EINVAL, errno);
	}
	/* The device still works, and no VM was left behind. */
	int vm = ioctl(dev, S2MMU_CREATE_VM, S2MMU_VM_X86_TDP);

	EXPECT_LE(0, vm);
	close(vm);
	close(dev);
	EXPECT_EQ(before, s2mmu_module_refcnt());
}

TEST(bad_system_ioctls)
{
	int dev = s2mmu_open();

	ASSERT_LE(0, dev);
	EXPECT_EQ(-1, ioctl(dev, _IO(S2MMUIO, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, S2MMU_GET_VM_INFO, NULL));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, _IOW(S2MMUIO, 0x01, __u64), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, _IO(0xAE, 0x01), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(S2MMU_API_VERSION, ioctl(dev, S2MMU_GET_API_VERSION, 0));
	close(dev);
}

/*
 * The module cannot be unloaded while a VM (or the device) is open, and
 * can once everything is closed; it is loaded again for the next tests.
 */
TEST(unload_ordering)
{
	int dev, vm;

	if (getuid() != 0 || access(S2MMU_KO, R_OK))
		SKIP(return, "needs root and " S2MMU_KO);

	dev = s2mmu_open();
	ASSERT_LE(0, dev);
	vm = ioctl(dev, S2MMU_CREATE_VM, S2MMU_VM_ARM64_S2);
	ASSERT_LE(0, vm);
	close(dev);

	/* Only the VM fd pins the module now. */
	EXPECT_EQ(-1, s2mmu_delete_module());
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	EXPECT_EQ(0, access(S2MMU_DEV, F_OK));

	close(vm);
	ASSERT_EQ(0, s2mmu_delete_module()) TH_LOG("rmmod: %s", strerror(errno));
	EXPECT_EQ(-1, s2mmu_module_refcnt());
	ASSERT_EQ(0, s2mmu_load_module()) TH_LOG("reload: %s", strerror(errno));

	/* An open device alone also pins it. */
	dev = s2mmu_open();
	ASSERT_LE(0, dev);
	EXPECT_EQ(-1, s2mmu_delete_module());
	close(dev);
	ASSERT_EQ(0, s2mmu_delete_module());
	ASSERT_EQ(0, s2mmu_load_module());
	EXPECT_EQ(0, s2mmu_module_refcnt());
}

/*
 * The owner exits with its VM fd still open: exit_mmap() runs the
 * notifier's ->release, then the fd's release destroys the VM.  The
 * module's references must come back to where they were.
 */
TEST(owner_exits_with_vm_open)
{
	long before = s2mmu_module_refcnt();
	int status, i;
	pid_t pid;

	ASSERT_LE(0, before);
	for (i = 0; i < 20; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int vm1 = s2mmu_create_vm(S2MMU_VM_X86_TDP);
			int vm2 = s2mmu_create_vm(S2MMU_VM_ARM64_S2);

			_exit(vm1 < 0 || vm2 < 0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	EXPECT_EQ(before, s2mmu_module_refcnt());
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { 0 };
	struct cmsghdr *cmsg;
	char byte = 'v';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };

	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { 0 };
	struct cmsghdr *cmsg;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	int fd;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/*
 * A VM fd passed over SCM_RIGHTS to another process: that process gets
 * -EIO while the owner lives and after the owner has exited (its mm torn
 * down under the VM), and the last close there destroys the VM cleanly.
 */
TEST(scm_rights_after_owner_exit)
{
	long before = s2mmu_module_refcnt();
	int sv[2], go[2], status;
	pid_t owner, holder;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, pipe(go));

	owner = fork();
	ASSERT_LE(0, owner);
	if (owner == 0) {
		int vm = s2mmu_create_vm(S2MMU_VM_X86_TDP);

		if (vm < 0 || send_fd(sv[0], vm))
			_exit(1);
		_exit(0);	/* exits with the VM still open elsewhere */
	}

	holder = fork();
	ASSERT_LE(0, holder);
	if (holder == 0) {
		struct s2mmu_vm_info info;
		char c;
		int vm = recv_fd(sv[1]);

		if (vm < 0)
			_exit(10);
		if (ioctl(vm, S2MMU_GET_VM_INFO, &info) != -1 || errno != EIO)
			_exit(11);
		/* Wait until the parent has reaped the owner. */
		if (read(go[0], &c, 1) != 1)
			_exit(12);
		if (ioctl(vm, S2MMU_GET_VM_INFO, &info) != -1 || errno != EIO)
			_exit(13);
		if (close(vm))
			_exit(14);
		_exit(0);
	}

	ASSERT_EQ(owner, waitpid(owner, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(holder, waitpid(holder, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(before, s2mmu_module_refcnt());
}

TEST_HARNESS_MAIN
