// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu_stat: print the statistics of s2mmu VMs and vCPUs from their
 * binary stats fds (S2MMU_GET_STATS_FD), once or refreshed like kvm_stat.
 *
 * Only the VM's owner can get a stats fd, so the reader is handed one:
 * the VMM runs it with the fds inherited (--fd N, as many as wanted),
 * or passes them over a unix socket (SCM_RIGHTS) to a process that does.
 * A stats fd reads the same in any process, and keeps working after the
 * VMM closed its VM and vCPU fds.
 *
 *   s2mmu_stat --fd N [--fd M ...] [--once] [-i SECONDS] [-n COUNT]
 *
 * Refreshed output shows each statistic's value and its change since
 * the last refresh; a histogram prints its total and its non-empty
 * buckets.  Only the standard C library is needed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/s2mmu.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define DESC_SIZE(h)	(sizeof(struct s2mmu_stats_desc) + (h)->name_size)

struct source {
	int fd;
	struct s2mmu_stats_header h;
	char *id;
	char *descs;
	size_t data_size;
	__u64 *data, *prev;
};

static struct s2mmu_stats_desc *desc(struct source *s, unsigned int i)
{
	return (void *)(s->descs + i * DESC_SIZE(&s->h));
}

static int read_all(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

/* Read the constant part of a stats fd: header, id, descriptors. */
static int source_open(struct source *s, int fd)
{
	unsigned int i;
	size_t end;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	if (read_all(fd, &s->h, sizeof(s->h), 0))
		return -1;
	if (s->h.flags || !s->h.name_size || s->h.name_size > 4096) {
		errno = EINVAL;
		return -1;
	}
	s->id = calloc(1, s->h.name_size + 1);
	s->descs = calloc(s->h.num_desc, DESC_SIZE(&s->h));
	if (!s->id || !s->descs)
		return -1;
	if (read_all(fd, s->id, s->h.name_size, s->h.id_offset) ||
	    read_all(fd, s->descs, s->h.num_desc * DESC_SIZE(&s->h),
		     s->h.desc_offset))
		return -1;
	for (i = 0; i < s->h.num_desc; i++) {
		struct s2mmu_stats_desc *d = desc(s, i);

		d->name[s->h.name_size - 1] = 0;
		end = d->offset + d->size * sizeof(__u64);
		if (end > s->data_size)
			s->data_size = end;
	}
	s->data = calloc(1, s->data_size + 8);
	s->prev = calloc(1, s->data_size + 8);
	if (!s->data || !s->prev)
		return -1;
	return 0;
}

/* All values in one pread(); the previous ones kept for the deltas. */
static int source_sample(struct source *s)
{
	memcpy(s->prev, s->data, s->data_size);
	return read_all(s->fd, s->data, s->data_size, s->h.data_offset);
}

static const char *unit_name(__u32 flags, __s16 exponent)
{
	switch (flags & S2MMU_STATS_UNIT_MASK) {
	case S2MMU_STATS_UNIT_BYTES:
		return "bytes";
	case S2MMU_STATS_UNIT_CYCLES:
		return "cycles";
	case S2MMU_STATS_UNIT_BOOLEAN:
		return "bool";
	case S2MMU_STATS_UNIT_SECONDS:
		if ((flags & S2MMU_STATS_BASE_MASK) == S2MMU_STATS_BASE_POW10) {
			switch (exponent) {
			case 0: return "s";
			case -3: return "ms";
			case -6: return "us";
			case -9: return "ns";
			}
		}
		return "s*base^exp";
	}
	return "";
}

/* The lower bound of log histogram bucket @i, in the statistic's unit. */
static unsigned long long log_bucket_low(unsigned int i)
{
	return i ? 1ULL << (i - 1) : 0;
}

static void print_hist(struct source *s, struct s2mmu_stats_desc *d,
		       const char *unit)
{
	const __u64 *v = s->data + d->offset / 8;
	unsigned long long total = 0;
	unsigned int i;

	for (i = 0; i < d->size; i++)
		total += v[i];
	printf("  %-28s %14llu  (histogram, %s)\n", d->name, total, unit);
	for (i = 0; i < d->size; i++) {
		if (!v[i])
			continue;
		if ((d->flags & S2MMU_STATS_TYPE_MASK) == S2MMU_STATS_TYPE_LOG_HIST) {
			if (i == d->size - 1U)
				printf("    >= %-12llu %s %14llu\n",
				       log_bucket_low(i), unit,
				       (unsigned long long)v[i]);
			else
				printf("    %6llu-%-8llu %s %14llu\n",
				       log_bucket_low(i),
				       (1ULL << i) - 1, unit,
				       (unsigned long long)v[i]);
		} else {
			printf("    [%u] %14llu\n", i, (unsigned long long)v[i]);
		}
	}
}

static void print_source(struct source *s, int deltas)
{
	unsigned int i;

	printf("%s\n", s->id);
	for (i = 0; i < s->h.num_desc; i++) {
		struct s2mmu_stats_desc *d = desc(s, i);
		__u32 type = d->flags & S2MMU_STATS_TYPE_MASK;
		const char *unit = unit_name(d->flags, d->exponent);
		__u64 v = s->data[d->offset / 8];

		if (type == S2MMU_STATS_TYPE_LOG_HIST ||
		    type == S2MMU_STATS_TYPE_LINEAR_HIST) {
			print_hist(s, d, unit);
			continue;
		}
		printf("  %-28s %14llu", d->name, (unsigned long long)v);
		if (deltas && type == S2MMU_STATS_TYPE_CUMULATIVE)
			printf(" %+12lld", (long long)(v - s->prev[d->offset / 8]));
		if (*unit)
			printf(" %s", unit);
		printf("%s\n", type == S2MMU_STATS_TYPE_INSTANT ? "  (now)" :
			       type == S2MMU_STATS_TYPE_PEAK ? "  (peak)" : "");
	}
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: s2mmu_stat --fd N [--fd M ...] [--once] [-i SECONDS] [-n COUNT]\n"
		"  --fd N       a stats fd (S2MMU_GET_STATS_FD) inherited from the VMM\n"
		"  --once       print the values once and exit (the default when\n"
		"               stdout is not a terminal and no -n is given)\n"
		"  -i SECONDS   refresh interval (default 1)\n"
		"  -n COUNT     refresh COUNT times, then exit\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct source src[16];
	unsigned int nr = 0, i;
	long count = -1, round;
	double interval = 1;
	int once = -1;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--fd") && a + 1 < argc) {
			if (nr == ARRAY_SIZE(src))
				print_usage();
			if (source_open(&src[nr], atoi(argv[++a]))) {
				fprintf(stderr, "s2mmu_stat: fd %s: %s\n",
					argv[a], strerror(errno));
				return 1;
			}
			nr++;
		} else if (!strcmp(argv[a], "--once") || !strcmp(argv[a], "-1")) {
			once = 1;
		} else if (!strcmp(argv[a], "-i") && a + 1 < argc) {
			interval = atof(argv[++a]);
			if (interval <= 0)
				print_usage();
		} else if (!strcmp(argv[a], "-n") && a + 1 < argc) {
			count = atol(argv[++a]);
			once = 0;
		} else {
			print_usage();
		}
	}
	if (!nr)
		print_usage();
	if (once < 0)
		once = !isatty(STDOUT_FILENO);
	if (once)
		count = 1;

	for (round = 0; count < 0 || round < count; round++) {
		struct timespec ts = {
			.tv_sec = (time_t)interval,
			.tv_nsec = (long)((interval - (time_t)interval) * 1e9),
		};

		if (round)
			nanosleep(&ts, NULL);
		if (!once && isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		for (i = 0; i < nr; i++) {
			if (source_sample(&src[i])) {
				fprintf(stderr, "s2mmu_stat: %s: %s\n",
					src[i].id, strerror(errno));
				return 1;
			}
			print_source(&src[i], round > 0);
		}
		fflush(stdout);
	}
	return 0;
}
