// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu-demo: a small VMM showing what s2mmu does.
 *
 * For each stage-2 format: create a VM, back 64 MiB of guest physical
 * memory with the demo's own anonymous memory, run guest accesses through
 * a vCPU, then change the host mapping under the guest (munmap, then a new
 * mmap at the same address) and show that the guest sees exactly what the
 * host maps, with the fault, flush and retry counts of each step.  At
 * the end of each VM, tools/s2mmu_stat prints the VM's and the vCPU's
 * binary stats fds, which the demo hands it as inherited fds.  Last,
 * guest-private memory: a guest_memfd slot, a conversion the guest asks
 * for, a punched page.
 */
#define _GNU_SOURCE	/* environ */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/limits.h>

#include "libs2mmu.h"

#define GUEST_BASE	0x40000000ULL		/* 1 GiB */
#define MIB		(1024ULL * 1024)
#define GUEST_SIZE	(64 * MIB)
#define HOLE_OFF	(8 * MIB)
#define HOLE_SIZE	MIB

struct demo {
	int vm, vcpu;
	struct s2mmu_run *run;
	unsigned char *mem;
	struct s2mmu_run last;
};

/* Run one guest access; returns the exit reason. */
static unsigned int guest(struct demo *d, __u32 op, __u64 gpa, __u64 len,
			  void *buf, __u64 stride, __u64 repeat, __u32 flags)
{
	struct s2mmu_access a = {
		.gpa = gpa, .len = len, .uaddr = (uintptr_t)buf, .op = op,
		.flags = flags, .stride = stride, .repeat = repeat,
	};
	int exit = s2mmu_vcpu_run(d->vcpu, d->run, &a, 1);

	if (exit < 0)
		s2mmu_die("S2MMU_RUN");
	return exit;
}

/* Print what the vCPU counted since the last call. */
static void counts(struct demo *d, const char *step)
{
	struct s2mmu_run *r = d->run;

	printf("    [%s: %llu faults, %llu retries, %llu TLB flushes, %llu TLB misses]\n",
	       step,
	       (unsigned long long)(r->stat_faults - d->last.stat_faults),
	       (unsigned long long)(r->stat_fault_retries - d->last.stat_fault_retries),
	       (unsigned long long)(r->stat_tlb_flushes - d->last.stat_tlb_flushes),
	       (unsigned long long)(r->stat_tlb_misses - d->last.stat_tlb_misses));
	d->last = *r;
}

static void translate(struct demo *d, __u64 gpa)
{
	struct s2mmu_translation t;

	if (s2mmu_translate(d->vcpu, gpa, &t))
		s2mmu_die("S2MMU_TRANSLATE");
	if (!t.present) {
		printf("    gpa %#llx: not mapped\n", (unsigned long long)gpa);
		return;
	}
	printf("    gpa %#llx: %s leaf, %s%s%s, accessed %u, dirty %u\n",
	       (unsigned long long)gpa,
	       t.level == 2 ? "1 GiB" : t.level == 1 ? "2 MiB" : "4 KiB",
	       "r", t.writable ? "w" : "-", t.executable ? "x" : "-",
	       t.accessed, t.dirty);
}

/*
 * Run s2mmu_stat (beside this program) once over the VM's and the vCPU's
 * stats fds, inherited: only the VM's owner can get them.  posix_spawn(),
 * not fork(): a fork write-protects the demo's memory, which the VM
 * would see as an invalidation.  Returns 1 if it failed.
 */
static int show_stats(struct demo *d)
{
	char path[PATH_MAX], vm_fd[16], vcpu_fd[16], *slash;
	char once[] = "--once", fd_opt[] = "--fd", name[] = "s2mmu_stat";
	char *argv[7];
	int vfd, cfd, status;
	ssize_t n;
	pid_t pid;

	n = readlink("/proc/self/exe", path, sizeof(path) - sizeof("s2mmu_stat"));
	if (n < 0)
		s2mmu_die("readlink /proc/self/exe");
	path[n] = 0;
	slash = strrchr(path, '/');
	slash = slash ? slash + 1 : path;
	snprintf(slash, sizeof(path) - (slash - path), "s2mmu_stat");

	vfd = ioctl(d->vm, S2MMU_GET_STATS_FD, 0);
	cfd = ioctl(d->vcpu, S2MMU_GET_STATS_FD, 0);
	if (vfd < 0 || cfd < 0)
		s2mmu_die("S2MMU_GET_STATS_FD");
	snprintf(vm_fd, sizeof(vm_fd), "%d", vfd);
	snprintf(vcpu_fd, sizeof(vcpu_fd), "%d", cfd);
	printf("s2mmu_stat --once --fd %d --fd %d (the VM's and vCPU 0's stats fds):\n",
	       vfd, cfd);
	argv[0] = name;
	argv[1] = once;
	argv[2] = fd_opt;
	argv[3] = vm_fd;
	argv[4] = fd_opt;
	argv[5] = vcpu_fd;
	argv[6] = NULL;
	/* The stats fds are O_CLOEXEC: let these two through. */
	fcntl(vfd, F_SETFD, 0);
	fcntl(cfd, F_SETFD, 0);
	errno = posix_spawn(&pid, path, NULL, NULL, argv, environ);
	if (errno)
		s2mmu_die(path);
	if (waitpid(pid, &status, 0) != pid)
		s2mmu_die("waitpid");
	close(vfd);
	close(cfd);
	return !WIFEXITED(status) || WEXITSTATUS(status);
}

/*
 * Guest-private memory, as a VMM drives KVM's guest_memfd: slot 1 is
 * backed by host memory (its shared frames) and a guest_memfd (its
 * private ones).  The guest asks for a conversion (the MAP_GPA_RANGE
 * hypercall exits to us), we convert, and what the guest writes then
 * never reaches the host's memory; a punched page reads zeros.
 */
#define PRIV_BASE	(GUEST_BASE + 1024 * MIB)
#define PRIV_SIZE	(2 * MIB)

static int demo_private(struct demo *d)
{
	const char *shared = "shared: the host's memory";
	const char *secret = "private: only the guest sees this";
	struct s2mmu_access conv = {
		.gpa = PRIV_BASE, .len = 4096, .op = S2MMU_OP_MAP_GPA_RANGE,
		.flags = S2MMU_ACCESS_F_PRIVATE,
	};
	char buf[64] = { 0 };
	unsigned int exit;
	int gmem, fails = 0;
	char *host;

	gmem = s2mmu_create_guest_memfd(d->vm, PRIV_SIZE, 0);
	host = mmap(NULL, PRIV_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (gmem < 0 || host == MAP_FAILED)
		s2mmu_die("S2MMU_CREATE_GUEST_MEMFD");
	if (s2mmu_set_region2(d->vm, 1, S2MMU_MEM_GUEST_MEMFD, PRIV_BASE,
			      PRIV_SIZE, (uintptr_t)host, gmem, 0))
		s2mmu_die("S2MMU_SET_MEMORY_REGION2");
	printf("slot 1: guest [%#llx, +2 MiB) -> host %p, private frames from guest_memfd %d\n",
	       PRIV_BASE, (void *)host, gmem);
	snprintf(host, 64, "%s", shared);

	/* The guest converts its first page: MAP_GPA_RANGE exits to us. */
	exit = s2mmu_vcpu_run(d->vcpu, d->run, &conv, 1);
	printf("guest MAP_GPA_RANGE(%#llx, 1 page, encrypted): exit %s nr %llu\n",
	       PRIV_BASE, exit == S2MMU_EXIT_HYPERCALL ? "HYPERCALL" : "?",
	       (unsigned long long)d->run->hypercall.nr);
	fails += exit != S2MMU_EXIT_HYPERCALL;
	if (s2mmu_set_memory_attributes(d->vm, d->run->hypercall.args[0],
					d->run->hypercall.args[1] * 4096,
					S2MMU_MEMORY_ATTRIBUTE_PRIVATE))
		s2mmu_die("S2MMU_SET_MEMORY_ATTRIBUTES");
	exit = guest(d, S2MMU_OP_WRITE, PRIV_BASE, strlen(secret) + 1,
		     (void *)secret, 0, 0, 0);
	exit |= guest(d, S2MMU_OP_READ, PRIV_BASE, sizeof(buf), buf, 0, 0, 0);
	printf("the VMM converts; the guest writes and reads \"%s\";\n", buf);
	printf("the host's page still says \"%s\"\n", host);
	fails += exit || strcmp(buf, secret) || strcmp(host, shared);
	counts(d, "private");

	/* A punched page: the guest reads zeros. */
	if (fallocate(gmem, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0,
		      4096))
		s2mmu_die("fallocate");
	exit = guest(d, S2MMU_OP_READ, PRIV_BASE, sizeof(buf), buf, 0, 0, 0);
	printf("the VMM punches it: the guest reads %s\n",
	       buf[0] ? "data?" : "zeros");
	fails += exit || buf[0];

	/* Back to shared: the host's contents again. */
	if (s2mmu_set_memory_attributes(d->vm, PRIV_BASE, 4096, 0))
		s2mmu_die("S2MMU_SET_MEMORY_ATTRIBUTES");
	exit = guest(d, S2MMU_OP_READ, PRIV_BASE, sizeof(buf), buf, 0, 0, 0);
	printf("converted back to shared: the guest reads \"%s\"\n", buf);
	fails += exit || strcmp(buf, shared);

	if (s2mmu_delete_region(d->vm, 1))
		s2mmu_die("S2MMU_SET_MEMORY_REGION");
	close(gmem);
	munmap(host, PRIV_SIZE);
	return fails;
}

static int demo_format(int dev, unsigned long type, const char *name)
{
	struct s2mmu_vm_info info;
	char msg[64], buf[64];
	struct demo d = { 0 };
	unsigned int exit;
	int fails = 0;

	printf("\n== %s VM ==\n", name);
	d.vm = s2mmu_dev_create_vm(dev, type);
	if (d.vm < 0)
		s2mmu_die("S2MMU_CREATE_VM");
	d.mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d.mem == MAP_FAILED)
		s2mmu_die("mmap");
	if (s2mmu_set_region(d.vm, 0, 0, GUEST_BASE, GUEST_SIZE,
			     (uintptr_t)d.mem))
		s2mmu_die("S2MMU_SET_MEMORY_REGION");
	printf("slot 0: guest [%#llx, %#llx) -> host %p\n",
	       GUEST_BASE, GUEST_BASE + GUEST_SIZE, (void *)d.mem);
	d.vcpu = s2mmu_create_vcpu(d.vm, 0);
	if (d.vcpu < 0)
		s2mmu_die("S2MMU_CREATE_VCPU");
	d.run = s2mmu_map_run(d.vcpu);
	if (!d.run)
		s2mmu_die("mmap vcpu");

	/* Host writes, guest reads. */
	snprintf((char *)d.mem + 0x1000, 64, "written by the host");
	memset(buf, 0, sizeof(buf));
	exit = guest(&d, S2MMU_OP_READ, GUEST_BASE + 0x1000, 32, buf, 0, 0, 0);
	printf("guest reads gpa %#llx: \"%s\" (exit %u)\n",
	       GUEST_BASE + 0x1000, buf, exit);
	fails += strcmp(buf, "written by the host") != 0;
	counts(&d, "read");

	/* Guest writes, host reads. */
	snprintf(msg, sizeof(msg), "written by the guest through %s", name);
	exit = guest(&d, S2MMU_OP_WRITE, GUEST_BASE + 0x2000, strlen(msg) + 1,
		     msg, 0, 0, 0);
	printf("host reads what the guest wrote: \"%s\" (exit %u)\n",
	       (char *)d.mem + 0x2000, exit);
	fails += strcmp((char *)d.mem + 0x2000, msg) != 0;
	counts(&d, "write");
	translate(&d, GUEST_BASE + 0x2000);

	/* A guest workload: write-touch every page, then read it 4 times. */
	exit = guest(&d, S2MMU_OP_TOUCH, GUEST_BASE, GUEST_SIZE, NULL, 4096, 1,
		     S2MMU_ACCESS_F_WRITE);
	printf("guest write-touches all %llu pages (exit %u)\n",
	       GUEST_SIZE >> 12, exit);
	counts(&d, "populate");
	exit = guest(&d, S2MMU_OP_TOUCH, GUEST_BASE, GUEST_SIZE, NULL, 4096, 4, 0);
	printf("guest reads them 4 more times (exit %u)\n", exit);
	counts(&d, "steady state");

	/* The host takes memory away under the guest. */
	if (munmap(d.mem + HOLE_OFF, HOLE_SIZE))
		s2mmu_die("munmap");
	printf("host munmaps [%p, +1 MiB)\n", (void *)(d.mem + HOLE_OFF));
	exit = guest(&d, S2MMU_OP_READ, GUEST_BASE + HOLE_OFF, 16, buf, 0, 0, 0);
	printf("guest reads gpa %#llx: exit %s, gpa %#llx, flags %#llx\n",
	       GUEST_BASE + HOLE_OFF,
	       exit == S2MMU_EXIT_MEMORY_FAULT ? "MEMORY_FAULT" : "?",
	       (unsigned long long)d.run->memory_fault.gpa,
	       (unsigned long long)d.run->memory_fault.flags);
	fails += exit != S2MMU_EXIT_MEMORY_FAULT;
	counts(&d, "after munmap");

	/* ... and maps new memory there. */
	if (mmap(d.mem + HOLE_OFF, HOLE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		s2mmu_die("mmap fixed");
	snprintf((char *)d.mem + HOLE_OFF, 64, "new memory, new contents");
	memset(buf, 0, sizeof(buf));
	exit = guest(&d, S2MMU_OP_READ, GUEST_BASE + HOLE_OFF, 32, buf, 0, 0, 0);
	printf("host maps new memory there; guest reads \"%s\" (exit %u)\n",
	       buf, exit);
	fails += strcmp(buf, "new memory, new contents") != 0;
	counts(&d, "after mmap");

	if (s2mmu_vm_info(d.vm, &info))
		s2mmu_die("S2MMU_GET_VM_INFO");
	printf("VM counts: %llu invalidations, %llu zaps, %llu TLB shootdowns, ",
	       (unsigned long long)info.stat_invalidations,
	       (unsigned long long)info.stat_zaps,
	       (unsigned long long)info.stat_remote_tlb_flushes);
	printf("%llu table pages (%llu KiB)\n",
	       (unsigned long long)info.stat_table_pages,
	       (unsigned long long)info.stat_table_pages * 4);
	fails += show_stats(&d);

	/* A gpa outside every slot is MMIO. */
	exit = guest(&d, S2MMU_OP_READ, 0x1000, 8, buf, 0, 0, 0);
	printf("guest reads gpa 0x1000 (no slot): exit %s at %#llx\n",
	       exit == S2MMU_EXIT_MMIO ? "MMIO" : "?",
	       (unsigned long long)d.run->mmio.gpa);
	fails += exit != S2MMU_EXIT_MMIO;

	fails += demo_private(&d);

	s2mmu_unmap_run(d.run);
	close(d.vcpu);
	close(d.vm);
	munmap(d.mem, GUEST_SIZE);
	return fails;
}

int main(void)
{
	int dev, fails = 0;
	long version;

	setvbuf(stdout, NULL, _IOLBF, 0);
	s2mmu_set_die_prefix("s2mmu-demo: ");
	dev = s2mmu_open();
	if (dev < 0)
		s2mmu_die(S2MMU_DEV);
	version = s2mmu_api_version(dev);
	printf("s2mmu-demo: /dev/s2mmu API version %ld\n", version);

	fails += demo_format(dev, S2MMU_VM_X86_TDP, "x86 TDP (EPT)");
	fails += demo_format(dev, S2MMU_VM_ARM64_S2, "arm64 stage-2");
	close(dev);

	printf("\ns2mmu-demo: %s\n", fails ? "FAILED" : "done");
	return fails ? 1 : 0;
}
