// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu-demo: a small VMM showing what s2mmu does.
 *
 * Today: talks to /dev/s2mmu, creates a VM of each stage-2 format and
 * prints what each one is; shows that a VM belongs to the mm that made it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/s2mmu.h>

static const char *type_name(__u32 type)
{
	switch (type) {
	case S2MMU_VM_X86_TDP:
		return "x86 TDP (EPT)";
	case S2MMU_VM_ARM64_S2:
		return "arm64 stage-2";
	default:
		return "?";
	}
}

static int show_vm(int dev, unsigned long arg)
{
	struct s2mmu_vm_info info;
	int vm = ioctl(dev, S2MMU_CREATE_VM, arg);

	if (vm < 0) {
		printf("  CREATE_VM(%#lx): %s\n", arg, strerror(errno));
		return -1;
	}
	if (ioctl(vm, S2MMU_GET_VM_INFO, &info)) {
		printf("  GET_VM_INFO: %s\n", strerror(errno));
		close(vm);
		return -1;
	}
	printf("  VM fd %d: %-14s %u-bit guest physical space, %u-level tables, max gpa %#llx\n",
	       vm, type_name(info.type), info.gpa_bits, info.levels,
	       (unsigned long long)info.max_gpa);
	close(vm);
	return 0;
}

int main(void)
{
	struct s2mmu_vm_info info;
	int dev, vm, status, ret = 0;
	long version;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dev = open("/dev/s2mmu", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		perror("s2mmu-demo: /dev/s2mmu");
		return 1;
	}
	version = ioctl(dev, S2MMU_GET_API_VERSION, 0);
	printf("s2mmu-demo: /dev/s2mmu API version %ld\n", version);
	if (version != S2MMU_API_VERSION) {
		printf("s2mmu-demo: expected API version %d\n", S2MMU_API_VERSION);
		return 1;
	}

	printf("s2mmu-demo: creating one VM of each stage-2 format:\n");
	ret |= show_vm(dev, S2MMU_VM_X86_TDP);
	ret |= show_vm(dev, S2MMU_VM_X86_TDP | S2MMU_VM_GPA_BITS(57));
	ret |= show_vm(dev, S2MMU_VM_ARM64_S2);
	ret |= show_vm(dev, S2MMU_VM_ARM64_S2 | S2MMU_VM_GPA_BITS(48));

	printf("s2mmu-demo: a VM belongs to the mm that created it:\n");
	vm = ioctl(dev, S2MMU_CREATE_VM, S2MMU_VM_X86_TDP);
	if (vm < 0) {
		perror("s2mmu-demo: CREATE_VM");
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		int r = ioctl(vm, S2MMU_GET_VM_INFO, &info);

		printf("  forked child: GET_VM_INFO -> %d (%s)\n", r,
		       r ? strerror(errno) : "ok");
		_exit(r == -1 && errno == EIO ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("  the child was not refused with EIO\n");
		ret = -1;
	}
	printf("  owner:        GET_VM_INFO -> %d\n",
	       ioctl(vm, S2MMU_GET_VM_INFO, &info));
	close(vm);
	close(dev);

	printf("s2mmu-demo: %s\n", ret ? "FAILED" : "done");
	return ret ? 1 : 0;
}
