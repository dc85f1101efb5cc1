// SPDX-License-Identifier: GPL-2.0
/*
 * s2mmu object lifetime races, many iterations each, while another
 * thread keeps trying to unload the module (delete_module with
 * O_NONBLOCK, which must fail with EWOULDBLOCK or EBUSY as long as
 * anything is open, and never crash):
 *
 * - The VM fd is closed while a vCPU runs: the VM stays alive (the vCPU
 *   fd holds it), RUN goes on and can be interrupted, or completes.
 * - The vCPU fd (and its run page mapping) is closed during RUN: close()
 *   returns at once, the file lives until RUN returns, then the VM goes.
 * - A memslot is deleted and re-created over and over under two running
 *   vCPUs (race_test does it with one vCPU a few times): only MMIO exits
 *   inside the slot, reads return the slot's data.
 * - A process exits (exit_group from the main thread, from another
 *   thread, or after closing the VM fd) while its vCPU threads are
 *   inside RUN.
 *
 * Each test ends with the module's VM count back at its baseline.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "s2mmu_util.h"

#define PG		S2MMU_PAGE_SIZE
#define NPAGES		64
#define GPA_BASE	0x40000000ULL
#define POISON		0xdead

/* The unloader: delete_module() in a loop until told to stop. */
struct unloader {
	pthread_t th;
	int stop;
	long attempts, ewouldblock, ebusy, other, unloaded;
	int other_errno;
};

static void *unload_loop(void *arg)
{
	struct unloader *u = arg;

	while (!__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE)) {
		u->attempts++;
		if (s2mmu_delete_module() == 0) {
			/* Unloaded with files open: put it back at once. */
			u->unloaded++;
			s2mmu_load_module();
		} else if (errno == EWOULDBLOCK) {
			u->ewouldblock++;
		} else if (errno == EBUSY) {
			u->ebusy++;
		} else {
			u->other++;
			u->other_errno = errno;
		}
		usleep(300);
	}
	return NULL;
}

FIXTURE(life) {
	int dev;
	long vms_before;
	char *mem;
	struct unloader u;
	bool unloading;
};

FIXTURE_VARIANT(life) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(life, x86_tdp) {
	.type = S2MMU_VM_X86_TDP,
};

FIXTURE_VARIANT_ADD(life, arm64_s2) {
	.type = S2MMU_VM_ARM64_S2,
};

FIXTURE_SETUP(life)
{
	/* Held open throughout: the module can never be unloaded under us. */
	self->dev = s2mmu_open();
	ASSERT_LE(0, self->dev);
	self->vms_before = s2mmu_nr_vms();
	self->mem = s2mmu_mmap_filled(_metadata, NPAGES);
	memset(&self->u, 0, sizeof(self->u));
	self->unloading = geteuid() == 0 &&
			  !pthread_create(&self->u.th, NULL, unload_loop,
					  &self->u);
}

FIXTURE_TEARDOWN(life)
{
	struct unloader *u = &self->u;

	if (self->unloading) {
		__atomic_store_n(&u->stop, 1, __ATOMIC_RELEASE);
		pthread_join(u->th, NULL);
		TH_LOG("unload attempts %ld: EWOULDBLOCK %ld, EBUSY %ld, other %ld, unloaded %ld",
		       u->attempts, u->ewouldblock, u->ebusy, u->other,
		       u->unloaded);
		EXPECT_EQ(0, u->unloaded);
		EXPECT_EQ(0, u->other) TH_LOG("delete_module: %s",
					      strerror(u->other_errno));
		EXPECT_LT(0, u->attempts);
	}
	munmap(self->mem, NPAGES * PG);
	close(self->dev);
	if (self->vms_before >= 0)
		EXPECT_EQ(self->vms_before,
			  s2mmu_wait_nr_vms(self->vms_before, 10000));
}

static void on_sigusr1(int sig)
{
}

static void catch_sigusr1(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

struct runner {
	int vcpu;
	struct s2mmu_run *run;	/* the mmapped page, or NULL: by pointer */
	__u64 repeat;
	int ret;
	__u32 exit_reason;
};

/* TOUCH the whole slot @repeat times. */
static void *run_touch(void *arg)
{
	struct runner *r = arg;
	struct s2mmu_access a = {
		.gpa = GPA_BASE, .len = NPAGES * PG, .op = S2MMU_OP_TOUCH,
		.flags = S2MMU_ACCESS_F_WRITE, .repeat = r->repeat,
	};
	struct s2mmu_run local = {
		.accesses = (unsigned long)&a, .nr_accesses = 1,
	};

	if (r->run) {
		r->ret = s2mmu_vcpu_run(r->vcpu, r->run, &a, 1);
		return NULL;
	}
	r->ret = ioctl(r->vcpu, S2MMU_RUN, &local) ? -errno : 0;
	r->exit_reason = local.exit_reason;
	return NULL;
}

/* Wait until RUN has started on the run page (it overwrites the poison). */
static bool wait_running(struct s2mmu_run *run)
{
	long long deadline = s2mmu_now_ms() + 10000;

	while (s2mmu_now_ms() < deadline) {
		if (__atomic_load_n(&run->exit_reason, __ATOMIC_SEQ_CST) !=
		    POISON)
			return true;
		usleep(200);
	}
	return false;
}

/* A VM with slot 0 over @mem and vCPU @id; its fds, or false. */
static bool make_vm(unsigned long type, char *mem, int *vm, int *vcpu,
		    struct s2mmu_run **run)
{
	*vm = s2mmu_create_vm(type);
	if (*vm < 0)
		return false;
	if (s2mmu_set_region(*vm, 0, 0, GPA_BASE, NPAGES * PG,
			     (unsigned long)mem))
		return false;
	*vcpu = s2mmu_create_vcpu(*vm, 0);
	if (*vcpu < 0)
		return false;
	*run = s2mmu_map_run(*vcpu);
	return *run;
}

#define ITERATIONS	20

TEST_F_TIMEOUT(life, vm_fd_closed_during_run, 120)
{
	unsigned int seed = 1, i, interrupted = 0, completed = 0;
	long long t0 = s2mmu_now_ms();
	struct s2mmu_run *run;
	struct runner r;
	int vm, vcpu;
	pthread_t th;
	char buf[8];

	catch_sigusr1();
	for (i = 0; i < ITERATIONS; i++) {
		ASSERT_TRUE(make_vm(variant->type, self->mem, &vm, &vcpu, &run));
		memset(&r, 0, sizeof(r));
		r.vcpu = vcpu;
		r.run = run;
		/* Even: runs until interrupted; odd: a few passes, ends. */
		r.repeat = i & 1 ? 20 : 1ULL << 40;
		run->exit_reason = POISON;
		ASSERT_EQ(0, pthread_create(&th, NULL, run_touch, &r));
		ASSERT_TRUE(wait_running(run));
		usleep(rand_r(&seed) % 3000);
		ASSERT_EQ(0, close(vm));
		/* The vCPU's fd keeps the VM alive. */
		if (self->vms_before >= 0)
			EXPECT_EQ(self->vms_before + 1, s2mmu_nr_vms());
		usleep(rand_r(&seed) % 3000);
		if (!(i & 1))
			pthread_kill(th, SIGUSR1);
		pthread_join(th, NULL);
		if (i & 1) {
			EXPECT_EQ(S2MMU_EXIT_DONE, r.ret) TH_LOG("iteration %u", i);
			completed++;
		} else {
			EXPECT_EQ(-EINTR, r.ret) TH_LOG("iteration %u", i);
			EXPECT_EQ(S2MMU_EXIT_INTR, run->exit_reason);
			interrupted++;
		}
		/* And still works, through the vCPU alone. */
		EXPECT_EQ(S2MMU_EXIT_DONE,
			  s2mmu_guest_read(vcpu, run, GPA_BASE + 7 * PG, buf, 8));
		EXPECT_EQ(0, memcmp(buf, self->mem + 7 * PG, 8));
		s2mmu_unmap_run(run);
		close(vcpu);
		if (self->vms_before >= 0)
			ASSERT_EQ(self->vms_before,
				  s2mmu_wait_nr_vms(self->vms_before, 5000))
				TH_LOG("iteration %u: VM not destroyed", i);
	}
	TH_LOG("%u iterations (%u interrupted, %u completed) in %lld ms", i,
	       interrupted, completed, s2mmu_now_ms() - t0);
}

TEST_F_TIMEOUT(life, vcpu_fd_closed_during_run, 120)
{
	unsigned int seed = 2, i;
	long long t0 = s2mmu_now_ms(), tc, slowest = 0;
	struct s2mmu_run *run;
	struct s2mmu_translation t;
	long long deadline;
	struct runner r;
	int vm, vcpu;
	pthread_t th;

	catch_sigusr1();
	for (i = 0; i < ITERATIONS; i++) {
		bool by_pointer = i & 1, close_vm = i & 2;

		ASSERT_TRUE(make_vm(variant->type, self->mem, &vm, &vcpu, &run));
		memset(&r, 0, sizeof(r));
		r.vcpu = vcpu;
		r.repeat = 1ULL << 40;
		r.run = by_pointer ? NULL : run;
		ASSERT_EQ(0, pthread_create(&th, NULL, run_touch, &r));
		/* Inside RUN once the guest has mapped its first page. */
		deadline = s2mmu_now_ms() + 10000;
		do {
			usleep(200);
			ASSERT_EQ(0, s2mmu_translate(vcpu, GPA_BASE, &t));
		} while (!t.present && s2mmu_now_ms() < deadline);
		ASSERT_TRUE(t.present);
		usleep(rand_r(&seed) % 2000);
		/* close() and munmap() return at once; RUN goes on. */
		tc = s2mmu_now_ms();
		ASSERT_EQ(0, close(vcpu));
		s2mmu_unmap_run(run);
		if (close_vm)
			ASSERT_EQ(0, close(vm));
		tc = s2mmu_now_ms() - tc;
		if (tc > slowest)
			slowest = tc;
		EXPECT_GT(1000, tc) TH_LOG("close took %lld ms", tc);
		usleep(rand_r(&seed) % 3000);
		/* The file, so the VM, lives as long as RUN. */
		if (self->vms_before >= 0)
			EXPECT_EQ(self->vms_before + 1, s2mmu_nr_vms());
		pthread_kill(th, SIGUSR1);
		pthread_join(th, NULL);
		EXPECT_EQ(-EINTR, r.ret) TH_LOG("iteration %u", i);
		if (by_pointer)
			EXPECT_EQ(S2MMU_EXIT_INTR, r.exit_reason);
		if (!close_vm) {
			/* The VM fd still works; the vCPU id stays taken. */
			EXPECT_EQ(-EEXIST, s2mmu_create_vcpu(vm, 0));
			close(vm);
		}
		if (self->vms_before >= 0)
			ASSERT_EQ(self->vms_before,
				  s2mmu_wait_nr_vms(self->vms_before, 5000))
				TH_LOG("iteration %u: VM not destroyed", i);
	}
	TH_LOG("%u iterations in %lld ms, slowest close %lld ms", i,
	       s2mmu_now_ms() - t0, slowest);
}

struct slot_runner {
	int vcpu;
	struct s2mmu_run *run;
	char *mem;
	int *stop;
	long done, mmio, reads, bad_data, bad_exit, bad_mmio;
};

/* Touch and read the slot until told to stop; account for each exit. */
static void *slot_loop(void *arg)
{
	struct slot_runner *s = arg;
	__u64 page[PG / sizeof(__u64)];
	unsigned int seed = s->vcpu, i;
	bool read;
	int ret;

	while (!__atomic_load_n(s->stop, __ATOMIC_ACQUIRE)) {
		i = rand_r(&seed) % NPAGES;
		read = rand_r(&seed) & 1;
		if (!read)
			ret = s2mmu_guest_touch(s->vcpu, s->run, GPA_BASE,
						NPAGES * PG, rand_r(&seed) & 1,
						0, 4);
		else
			ret = s2mmu_guest_read(s->vcpu, s->run,
					       GPA_BASE + i * PG, page, PG);
		if (ret == S2MMU_EXIT_MMIO) {
			s->mmio++;
			if (s->run->mmio.gpa < GPA_BASE ||
			    s->run->mmio.gpa >= GPA_BASE + NPAGES * PG)
				s->bad_mmio++;
		} else if (ret == S2MMU_EXIT_DONE) {
			s->done++;
			if (s->run->done != 1)
				s->bad_exit++;
			if (read) {
				s->reads++;
				if (!s2mmu_check_page(page, i))
					s->bad_data++;
			}
		} else {
			s->bad_exit++;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(life, slot_recreate_under_two_vcpus, 120)
{
	const int iters = 300;
	struct slot_runner s[2];
	struct s2mmu_run *run[2];
	int vm, vcpu[2], stop = 0, i, ret, cycles;
	unsigned int seed = 3;
	long long t0, t, slowest = 0;
	pthread_t th[2];

	vm = s2mmu_create_vm(variant->type);
	ASSERT_LE(0, vm);
	ASSERT_EQ(0, s2mmu_set_region(vm, 0, 0, GPA_BASE, NPAGES * PG,
				      (unsigned long)self->mem));
	for (i = 0; i < 2; i++) {
		vcpu[i] = s2mmu_create_vcpu(vm, i);
		ASSERT_LE(0, vcpu[i]);
		run[i] = s2mmu_map_run(vcpu[i]);
		ASSERT_NE(NULL, run[i]);
		memset(&s[i], 0, sizeof(s[i]));
		s[i].vcpu = vcpu[i];
		s[i].run = run[i];
		s[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, slot_loop, &s[i]));
	}
	t0 = s2mmu_now_ms();
	for (i = 0; i < iters && s2mmu_now_ms() - t0 < 15000; i++) {
		usleep(rand_r(&seed) % 1000);
		t = s2mmu_now_ms();
		ret = s2mmu_delete_region(vm, 0);
		ASSERT_EQ(0, ret) TH_LOG("delete %d: %s", i, strerror(-ret));
		t = s2mmu_now_ms() - t;
		if (t > slowest)
			slowest = t;
		usleep(rand_r(&seed) % 500);
		ret = s2mmu_set_region(vm, 0, 0, GPA_BASE, NPAGES * PG,
				       (unsigned long)self->mem);
		ASSERT_EQ(0, ret) TH_LOG("create %d: %s", i, strerror(-ret));
	}
	cycles = i;
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		TH_LOG("vCPU %d: %ld done (%ld reads checked), %ld mmio", i,
		       s[i].done, s[i].reads, s[i].mmio);
		EXPECT_EQ(0, s[i].bad_exit);
		EXPECT_EQ(0, s[i].bad_mmio);
		EXPECT_EQ(0, s[i].bad_data);
		EXPECT_LT(0, s[i].done);
	}
	EXPECT_LT(0, s[0].mmio + s[1].mmio);
	TH_LOG("%d delete/re-create cycles in %lld ms, slowest delete %lld ms",
	       cycles, s2mmu_now_ms() - t0, slowest);
	EXPECT_LT(10, cycles);
	S2MMU_EXPECT_INVARIANTS(vm);
	for (i = 0; i < 2; i++) {
		s2mmu_unmap_run(run[i]);
		close(vcpu[i]);
	}
	close(vm);
}

static void *exit_now(void *arg)
{
	usleep(1000);
	_exit(0);
	return NULL;
}

/*
 * The child of process_exit_during_run: two vCPU threads inside RUN when
 * the process exits: @how 0 from the main thread, 1 from a third thread,
 * 2 from the main thread after closing the VM fd.
 */
static void exit_child(unsigned long type, char *mem, int how, int ready)
{
	struct runner r[2];
	struct s2mmu_run *run;
	pthread_t th[2];
	int vm, vcpu[2], i;

	vm = s2mmu_create_vm(type);
	if (vm < 0 || s2mmu_set_region(vm, 0, 0, GPA_BASE, NPAGES * PG,
				       (unsigned long)mem))
		_exit(10);
	for (i = 0; i < 2; i++) {
		vcpu[i] = s2mmu_create_vcpu(vm, i);
		if (vcpu[i] < 0)
			_exit(11);
		memset(&r[i], 0, sizeof(r[i]));
		r[i].vcpu = vcpu[i];
		r[i].repeat = 1ULL << 40;
	}
	/* vCPU 0 on its run page, vCPU 1 by pointer. */
	run = s2mmu_map_run(vcpu[0]);
	if (!run)
		_exit(12);
	run->exit_reason = POISON;
	r[0].run = run;
	for (i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, run_touch, &r[i]))
			_exit(13);
	if (!wait_running(run))
		_exit(14);
	if (how == 2)
		close(vm);
	if (write(ready, "r", 1) != 1)
		_exit(15);
	if (how == 1) {
		if (pthread_create(&th[0], NULL, exit_now, NULL))
			_exit(16);
		for (;;)
			pause();
	}
	usleep(1000);
	/* exit_group(): the vCPU threads die inside RUN. */
	_exit(0);
}

TEST_F_TIMEOUT(life, process_exit_during_run, 120)
{
	unsigned int i, exited = 0;
	long long t0 = s2mmu_now_ms();
	int ready[2], status;
	pid_t pid;
	char c;

	for (i = 0; i < 30; i++) {
		ASSERT_EQ(0, pipe(ready));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(ready[0]);
			exit_child(variant->type, self->mem, i % 3, ready[1]);
		}
		close(ready[1]);
		ASSERT_EQ(1, read(ready[0], &c, 1)) TH_LOG("child %u failed", i);
		close(ready[0]);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status))
			TH_LOG("iteration %u: status %#x", i, status);
		EXPECT_EQ(0, WEXITSTATUS(status));
		exited++;
	}
	if (self->vms_before >= 0)
		EXPECT_EQ(self->vms_before,
			  s2mmu_wait_nr_vms(self->vms_before, 10000));
	TH_LOG("%u processes exited inside RUN in %lld ms", exited,
	       s2mmu_now_ms() - t0);
}

TEST_HARNESS_MAIN
