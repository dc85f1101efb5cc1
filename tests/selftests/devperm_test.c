// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu selftests: who may open /dev/s2mmu.
 *
 * packaging/udev/60-s2mmu.rules gives the node to the s2mmu group, mode
 * 0660 (README.md, "Installing").  What that means for a user: with the
 * group, as primary or supplementary group, an unprivileged process
 * opens the device and creates a VM; without it, open() fails with
 * EACCES.  Each case forks a child that drops to uid 1000 with
 * setgroups()/setresgid()/setresuid() before touching the device.
 *
 * When the node is still root:root (no udev in the initramfs: the plain
 * selftest run), the fixture gives it to a test group itself, as the
 * rule would, and puts owner and mode back afterwards.  When something
 * already gave it a group (tests/qemu/run.sh --udev runs the rule with
 * Debian's udevadm first), the tests check that group and mode as they
 * are, and the mode must be the rule's.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define DEVPERM_UID	1000
#define DEVPERM_GID	1000
/* The group the fixture uses when nothing gave the node one. */
#define DEVPERM_TEST_GROUP	4242

FIXTURE(devperm) {
	struct stat orig;
	bool changed;
	gid_t group;
};

FIXTURE_SETUP(devperm)
{
	ASSERT_EQ(0, stat(S2MMU_DEV, &self->orig));
	self->changed = false;
	if (self->orig.st_gid == 0) {
		ASSERT_EQ(0, chown(S2MMU_DEV, 0, DEVPERM_TEST_GROUP));
		ASSERT_EQ(0, chmod(S2MMU_DEV, 0660));
		self->changed = true;
		self->group = DEVPERM_TEST_GROUP;
	} else {
		self->group = self->orig.st_gid;
		TH_LOG("/dev/s2mmu given to gid %u, mode %o",
		       self->group, self->orig.st_mode & 07777);
		ASSERT_EQ(0660, self->orig.st_mode & 07777);
	}
}

FIXTURE_TEARDOWN(devperm)
{
	if (self->changed) {
		EXPECT_EQ(0, chown(S2MMU_DEV, self->orig.st_uid,
				   self->orig.st_gid));
		EXPECT_EQ(0, chmod(S2MMU_DEV, self->orig.st_mode & 07777));
	}
}

/*
 * In a child: become uid 1000 with primary group @gid and @ngroups
 * supplementary groups @groups, then open the device and create a VM.
 * Exits 0 when both succeed, 10 + errno of open() when it fails, 1 on a
 * setup error and 2 when the VM cannot be created.
 */
static int devperm_try(gid_t gid, const gid_t *groups, int ngroups)
{
	pid_t pid = fork();
	int status, dev, vm;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (setgroups(ngroups, groups) ||
		    setresgid(gid, gid, gid) ||
		    setresuid(DEVPERM_UID, DEVPERM_UID, DEVPERM_UID))
			_exit(1);
		/* No way back: the privileges are really gone. */
		if (setresuid(0, 0, 0) == 0)
			_exit(1);
		dev = s2mmu_open();
		if (dev < 0)
			_exit(10 + errno);
		vm = ioctl(dev, S2MMU_CREATE_VM, S2MMU_VM_X86_TDP);
		_exit(vm < 0 ? 2 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST_F(devperm, member_by_primary_group)
{
	EXPECT_EQ(0, devperm_try(self->group, NULL, 0));
}

TEST_F(devperm, member_by_supplementary_group)
{
	gid_t groups[] = { self->group };

	EXPECT_EQ(0, devperm_try(DEVPERM_GID, groups, 1));
}

TEST_F(devperm, outsider_gets_eacces)
{
	gid_t groups[] = { DEVPERM_GID + 1 };

	EXPECT_EQ(10 + EACCES, devperm_try(DEVPERM_GID, NULL, 0));
	EXPECT_EQ(10 + EACCES, devperm_try(DEVPERM_GID, groups, 1));
}

TEST_HARNESS_MAIN
