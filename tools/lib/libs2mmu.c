// SPDX-License-Identifier: GPL-2.0
/*
 * libs2mmu: see libs2mmu.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "libs2mmu.h"

__u64 s2mmu_invariants_violations(const struct s2mmu_invariants *inv)
{
	return inv->no_slot + inv->host_unmapped + inv->bad_pfn +
	       inv->bad_write + inv->bad_huge + inv->bad_accounting +
	       inv->stale_tlb;
}

void *s2mmu_alloc_aligned(size_t size, size_t align)
{
	char *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + size, p + align - a);
	return a;
}

/* The /proc/self/pagemap entry of @addr, 0 when it cannot be read. */
static __u64 pagemap_entry(const void *addr)
{
	__u64 ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t off = (uintptr_t)addr / S2MMU_PAGE_SIZE * sizeof(ent);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), off) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent;
}

__u64 s2mmu_pagemap_pfn(const void *addr)
{
	__u64 ent = pagemap_entry(addr);

	if (!(ent & (1ULL << 63)))
		return 0;
	return ent & ((1ULL << 55) - 1);
}

bool s2mmu_pagemap_swapped(const void *addr)
{
	return pagemap_entry(addr) & (1ULL << 62);
}

bool s2mmu_thp_available(void)
{
	char buf[128] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);

	if (fd < 0)
		return false;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return strstr(buf, "[always]") || strstr(buf, "[madvise]");
}

long long s2mmu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

long s2mmu_read_long(const char *path)
{
	char buf[64] = "";
	long n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		n = strtol(buf, NULL, 10);
	close(fd);
	return n;
}

int s2mmu_write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? n : 0;
}

unsigned long long s2mmu_env_ull(const char *name, unsigned long long def)
{
	const char *s = getenv(name);
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return def;
	return v;
}

static const char *die_prefix = "";

void s2mmu_set_die_prefix(const char *prefix)
{
	die_prefix = prefix;
}

void s2mmu_die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	printf("%s", die_prefix);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (err)
		printf(": %s", strerror(err));
	printf("\n");
	fflush(stdout);
	_exit(1);
}
