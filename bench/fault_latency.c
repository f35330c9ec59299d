// SPDX-License-Identifier: GPL-2.0
/*
 * fault_latency: the round trip of one demand fault, per mechanism, as a
 * latency distribution.  Part of `make bench` (see README.md, "Benchmark").
 *
 * A single-vCPU guest walks a region of NR_PAGES pages and, for each page,
 * reads its counter (x86: TSC, arm64: CNTVCT_EL0), writes the page, reads the
 * counter again and keeps the difference: the guest-observed cost of its
 * first touch of that page, whatever the host had to do to make it present.
 * The host converts ticks to ns with KVM_GET_TSC_KHZ (x86) or CNTFRQ_EL0
 * (arm64) and prints p50/p99/mean/max per mechanism:
 *
 *   none          no userfault: KVM faults the anonymous page in (the floor)
 *   none-populated
 *                 the same on host pages allocated beforehand: what KVM's
 *                 resolution of a kvm-userfault-populated page on re-entry
 *                 compares with
 *   exit          no page fault at all: the guest's touch is replaced by a
 *                 null exit to userspace (GUEST_SYNC), the cost of one trip
 *                 out of KVM_RUN and back
 *   kvm-userfault KVM Userfault: every bit set; the vCPU thread gets the
 *                 exit, copies the page in (memcpy), clears the bit with
 *                 release semantics and re-enters KVM_RUN
 *   kvm-userfault-populated
 *                 the same, with the host pages allocated beforehand, so
 *                 that installing is the copy alone and not also the host
 *                 kernel's page fault on fresh anonymous memory
 *   kvm-userfault-refault
 *                 kvm-userfault-populated, plus a vCPU ioctl that changes
 *                 nothing (a register read) before re-entering: it cancels
 *                 the resolution of the access on re-entry, so the guest
 *                 faults on the page a second time, as it did before KVM
 *                 resolved it (the "before" of that change, in the same run)
 *   uffd-missing  userfaultfd MISSING on anonymous memory: a handler thread
 *                 reads the fault and resolves it with UFFDIO_COPY (+ wake)
 *   uffd-minor    userfaultfd MINOR on shmem whose page cache was filled
 *                 through an alias: the handler resolves with UFFDIO_CONTINUE
 *   kvm-run       no guest walk: KVM_RUN called NR_PAGES times with
 *                 immediate_exit set, timed on the host (step "immediate-exit"):
 *                 into KVM_RUN and out again without entering the guest, i.e.
 *                 the syscall, vcpu_load() and vcpu_put().  Every exit to
 *                 userspace pays it on top of the guest's exit and entry,
 *                 whatever its cause; none of it is KVM Userfault's.
 *
 * For kvm-userfault the vCPU thread also times its own steps, with the same
 * counter, per page: KVM_RUN return -> page installed -> bit cleared -> next
 * KVM_RUN entry.  What the guest saw minus that userspace time is what KVM
 * and the levels below spent: the fault, the exit to userspace and the
 * re-entry.  For the userfaultfd modes the handler times its UFFDIO_COPY or
 * UFFDIO_CONTINUE ioctl (which includes the wake-up of the faulting thread).
 *
 * It also prints the vCPU's and VM's KVM statistics that moved during the
 * walk, per page, to count the exits and faults behind each round trip.
 *
 * Output lines (parsed by scripts/bench-report.py):
 *   uname: <sysname release version machine>
 *   counter: <name> <kHz> kHz (check: <kHz> kHz from CLOCK_MONOTONIC)
 *   latency mech=M step=S n=N p50_ns=.. p99_ns=.. mean_ns=.. max_ns=..
 *   stats mech=M per-page: name=value ...
 *
 * Usage: fault_latency [-p NR_PAGES] [-m MECH[,MECH...]]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <linux/userfaultfd.h>

#include "kvm_util.h"
#include "test_util.h"
#include "ucall_common.h"
#include "userfaultfd_util.h"
#include "processor.h"
#ifdef __aarch64__
#include "arch_timer.h"
#endif

#define TEST_SLOT	1
#define TEST_GPA	(1ULL << 30)
#define MAX_PAGES	16384

enum mech {
	NONE, NONE_POPULATED, EXIT, KVM_USERFAULT, KVM_USERFAULT_POPULATED,
	KVM_USERFAULT_REFAULT, UFFD_MISSING, UFFD_MINOR, KVM_RUN_EMPTY, NR_MECHS
};

static const char * const mech_names[NR_MECHS] = {
	"none", "none-populated", "exit", "kvm-userfault", "kvm-userfault-populated",
	"kvm-userfault-refault", "uffd-missing", "uffd-minor", "kvm-run",
};

/* Per-page counter deltas, written by the guest, read back by the host. */
static u64 guest_ticks[MAX_PAGES];

static inline u64 ticks(void)
{
#ifdef __x86_64__
	return rdtsc();
#else
	return timer_get_cntct(VIRTUAL);
#endif
}

static void guest_code(u64 gva, u64 nr_pages, u64 page_size, u64 null_exit)
{
	u64 i, t0;

	/* Fault in the sample array now, not between two measurements. */
	for (i = 0; i < nr_pages; i++)
		WRITE_ONCE(guest_ticks[i], 0);
	GUEST_SYNC(0);

	for (i = 0; i < nr_pages; i++) {
		volatile u64 *p = (volatile u64 *)(gva + i * page_size);

		t0 = ticks();
		if (null_exit)
			GUEST_SYNC(1);
		else
			*p = i;
		guest_ticks[i] = ticks() - t0;
	}
	GUEST_DONE();
}

/* Host side of one measurement. */
struct run {
	enum mech mech;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	u64 nr_pages;
	u64 page_size;
	char *src;			/* the page contents "fetched" */
	unsigned long *bitmap;		/* kvm-userfault */
	/* kvm-userfault steps, in ticks, per page */
	u64 *install, *clear, *user;
	/* userfaultfd: the handler's ioctl, in ticks, per page */
	u64 *resolve;
	u64 nr_exits;
};

static struct run *cur;		/* for the uffd handler */
static double ns_per_tick;

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void print_latency(const char *mech, const char *step, const u64 *samples, u64 n)
{
	u64 *s = malloc(n * sizeof(*s));
	double sum = 0;
	u64 i;

	TEST_ASSERT(s && n, "no samples for %s %s", mech, step);
	memcpy(s, samples, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	for (i = 0; i < n; i++)
		sum += s[i];
	printf("latency mech=%s step=%s n=%lu p50_ns=%.0f p99_ns=%.0f mean_ns=%.0f max_ns=%.0f\n",
	       mech, step, n, s[n / 2] * ns_per_tick, s[n * 99 / 100] * ns_per_tick,
	       sum / n * ns_per_tick, s[n - 1] * ns_per_tick);
	free(s);
}

/* Cumulative single-value KVM statistics of one stats fd. */
struct stats {
	struct kvm_binary_stats *bs;
	u64 val[512];
};

static void stats_read(struct kvm_binary_stats *bs, struct stats *st)
{
	struct kvm_stats_desc *d;
	int i;

	if (!bs->desc) {
		read_stats_header(bs->fd, &bs->header);
		bs->desc = read_stats_descriptors(bs->fd, &bs->header);
	}
	st->bs = bs;
	for (i = 0; i < (int)bs->header.num_desc && i < 512; i++) {
		d = get_stats_descriptor(bs->desc, i, &bs->header);
		st->val[i] = 0;
		if ((d->flags & KVM_STATS_TYPE_MASK) == KVM_STATS_TYPE_CUMULATIVE && d->size == 1)
			read_stat_data(bs->fd, &bs->header, d, &st->val[i], 1);
	}
}

static void stats_print_delta(const struct stats *before, u64 nr_pages)
{
	struct kvm_binary_stats *bs = before->bs;
	struct stats after;
	int i;

	stats_read(bs, &after);
	for (i = 0; i < (int)bs->header.num_desc && i < 512; i++) {
		u64 d = after.val[i] - before->val[i];

		if (d)
			printf(" %s=%.2f", get_stats_descriptor(bs->desc, i, &bs->header)->name,
			       (double)d / nr_pages);
	}
}

/* A vCPU ioctl that changes nothing. */
static void read_registers(struct kvm_vcpu *vcpu)
{
#ifdef __x86_64__
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
#else
	vcpu_get_reg(vcpu, ARM64_CORE_REG(regs.pc));
#endif
}

/* kvm-userfault: the vCPU thread's exit handler; returns the page. */
static u64 install_page(struct run *r, u64 exit_tick)
{
	struct kvm_run *run = r->vcpu->run;
	u64 gpa = run->memory_fault.gpa, page, t;

	TEST_ASSERT(errno == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
		    (run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_USERFAULT),
		    "expected a KVM Userfault exit, got errno %d, exit reason %s",
		    errno, exit_reason_str(run->exit_reason));
	TEST_ASSERT(gpa >= TEST_GPA && gpa < TEST_GPA + r->nr_pages * r->page_size,
		    "userfault at gpa 0x%llx, outside the region", (unsigned long long)gpa);
	page = (gpa - TEST_GPA) / r->page_size;
	TEST_ASSERT(userfault_bitmap_test(r->bitmap, page), "userfault on a clear bit");

	memcpy(addr_gpa2hva(r->vm, gpa), r->src, r->page_size);
	t = ticks();
	r->install[page] = t - exit_tick;
	userfault_bitmap_clear(r->bitmap, page);
	r->clear[page] = ticks() - t;
	r->nr_exits++;
	if (r->mech == KVM_USERFAULT_REFAULT)
		read_registers(r->vcpu);
	return page;
}

/* userfaultfd: called by the library's reader thread for each fault. */
static int resolve_fault(int uffd_mode, int uffd, struct uffd_msg *msg)
{
	u64 addr = msg->arg.pagefault.address & ~(cur->page_size - 1);
	u64 hva0 = (u64)addr_gpa2hva(cur->vm, TEST_GPA);
	u64 t = ticks();
	int ret;

	if (uffd_mode == UFFDIO_REGISTER_MODE_MISSING) {
		struct uffdio_copy copy = {
			.src = (u64)cur->src, .dst = addr, .len = cur->page_size,
		};

		ret = ioctl(uffd, UFFDIO_COPY, &copy);
	} else {
		struct uffdio_continue cont = {
			.range = { .start = addr, .len = cur->page_size },
		};

		ret = ioctl(uffd, UFFDIO_CONTINUE, &cont);
	}
	TEST_ASSERT(!ret, "resolving the fault at 0x%lx failed, errno %d", addr, errno);
	cur->resolve[(addr - hva0) / cur->page_size] = ticks() - t;
	cur->nr_exits++;
	return 0;
}

/*
 * Run the vCPU to GUEST_DONE.  The first GUEST_SYNC says the guest is about
 * to start walking: the statistics are sampled there.
 */
static void run_vcpu(struct run *r, struct stats *vcpu_st, struct stats *vm_st)
{
	u64 t_exit = 0, page = 0, t;
	bool started = false;
	struct ucall uc;
	int ret;

	for (;;) {
		/* KVM_RUN return -> next KVM_RUN entry, for the page installed */
		if (t_exit)
			r->user[page] = ticks() - t_exit;
		t_exit = 0;
		ret = __vcpu_run(r->vcpu);
		if (ret) {
			t = ticks();
			if (errno == EINTR)
				continue;
			TEST_ASSERT(r->bitmap, "KVM_RUN failed, errno %d (%s)",
				    errno, strerror(errno));
			page = install_page(r, t);
			t_exit = t;
			continue;
		}
		switch (get_ucall(r->vcpu, &uc)) {
		case UCALL_SYNC:
			if (!started) {
				stats_read(&r->vcpu->stats, vcpu_st);
				stats_read(&r->vm->stats, vm_st);
				started = true;
			} else {
				r->nr_exits++;
			}
			break;
		case UCALL_DONE:
			return;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			TEST_FAIL("unexpected exit %s", exit_reason_str(r->vcpu->run->exit_reason));
		}
	}
}

static void guest_sync_loop(void)
{
	for (;;)
		GUEST_SYNC(0);
}

/* kvm-run: see the top of this file. */
static void measure_kvm_run(u64 nr_pages)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u64 *t, i, t0;
	int ret;

	t = calloc(nr_pages, sizeof(u64));
	TEST_ASSERT(t, "malloc");
	vm = vm_create_with_one_vcpu(&vcpu, guest_sync_loop);
	/* Once into the guest first: KVM_RUN's first-run setup is not timed. */
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_SYNC);

	vcpu->run->immediate_exit = 1;
	for (i = 0; i < nr_pages; i++) {
		t0 = ticks();
		ret = __vcpu_run(vcpu);
		t[i] = ticks() - t0;
		TEST_ASSERT(ret == -1 && errno == EINTR,
			    "KVM_RUN with immediate_exit: ret %d, errno %d", ret, errno);
	}
	print_latency(mech_names[KVM_RUN_EMPTY], "immediate-exit", t, nr_pages);
	fflush(stdout);
	kvm_vm_free(vm);
	free(t);
}

static void measure(enum mech mech, u64 nr_pages)
{
	enum vm_mem_backing_src_type src = mech == UFFD_MINOR ? VM_MEM_SRC_SHMEM :
							       VM_MEM_SRC_ANONYMOUS;
	const char *name = mech_names[mech];
	struct uffd_desc *uffd = NULL;
	struct stats vcpu_st, vm_st;
	struct run r = { .mech = mech, .nr_pages = nr_pages };
	u64 *total, i;
	void *hva;

	if (mech == KVM_RUN_EMPTY) {
		measure_kvm_run(nr_pages);
		return;
	}

	r.page_size = getpagesize();
	r.vm = __vm_create_with_one_vcpu(&r.vcpu, nr_pages / 256 + 64, guest_code);
	TEST_ASSERT(r.vm->page_size == r.page_size, "guest and host page sizes differ");
	vm_userspace_mem_region_add(r.vm, src, TEST_GPA, TEST_SLOT, nr_pages, 0);
	virt_map(r.vm, TEST_GPA, TEST_GPA, nr_pages);
	vcpu_args_set(r.vcpu, 4, TEST_GPA, nr_pages, r.page_size, mech == EXIT);
	hva = addr_gpa2hva(r.vm, TEST_GPA);

	r.src = malloc(r.page_size);
	total = calloc(nr_pages, sizeof(u64));
	r.install = calloc(nr_pages, sizeof(u64));
	r.clear = calloc(nr_pages, sizeof(u64));
	r.user = calloc(nr_pages, sizeof(u64));
	r.resolve = calloc(nr_pages, sizeof(u64));
	TEST_ASSERT(r.src && total && r.install && r.clear && r.user && r.resolve, "malloc");
	memset(r.src, 0xab, r.page_size);
	cur = &r;

	/* Host pages allocated beforehand: installing is then the copy alone. */
	if (mech == NONE_POPULATED || mech == KVM_USERFAULT_POPULATED ||
	    mech == KVM_USERFAULT_REFAULT)
		memset(hva, 0, nr_pages * r.page_size);

	switch (mech) {
	case KVM_USERFAULT_POPULATED:
	case KVM_USERFAULT_REFAULT:
	case KVM_USERFAULT:
		r.bitmap = userfault_bitmap_alloc(nr_pages, true);
		vm_mem_region_enable_userfault(r.vm, TEST_SLOT, r.bitmap);
		break;
	case UFFD_MINOR:
		for (i = 0; i < nr_pages; i++)
			memcpy(addr_gpa2alias(r.vm, TEST_GPA + i * r.page_size), r.src, r.page_size);
		/* fall through */
	case UFFD_MISSING:
		uffd = uffd_setup_demand_paging(mech == UFFD_MINOR ? UFFDIO_REGISTER_MODE_MINOR :
								     UFFDIO_REGISTER_MODE_MISSING,
						0, hva, nr_pages * r.page_size, 1, resolve_fault);
		break;
	default:
		break;
	}

	run_vcpu(&r, &vcpu_st, &vm_st);
	if (uffd)
		uffd_stop_demand_paging(uffd);

	sync_global_from_guest(r.vm, guest_ticks);
	memcpy(total, guest_ticks, nr_pages * sizeof(u64));
	print_latency(name, "total", total, nr_pages);
	switch (mech) {
	case KVM_USERFAULT:
	case KVM_USERFAULT_POPULATED:
	case KVM_USERFAULT_REFAULT:
		TEST_ASSERT(r.nr_exits == nr_pages, "%lu userfault exits for %lu pages",
			    r.nr_exits, nr_pages);
		print_latency(name, "install", r.install, nr_pages);
		print_latency(name, "clear", r.clear, nr_pages);
		print_latency(name, "userspace", r.user, nr_pages);
		/* What KVM and below spent: fault, exit, re-entry. */
		for (i = 0; i < nr_pages; i++)
			r.user[i] = total[i] > r.user[i] ? total[i] - r.user[i] : 0;
		print_latency(name, "kvm", r.user, nr_pages);
		break;
	case UFFD_MISSING:
	case UFFD_MINOR:
		TEST_ASSERT(r.nr_exits == nr_pages, "%lu userfaultfd faults for %lu pages",
			    r.nr_exits, nr_pages);
		print_latency(name, mech == UFFD_MISSING ? "copy" : "continue",
			      r.resolve, nr_pages);
		for (i = 0; i < nr_pages; i++)
			r.resolve[i] = total[i] > r.resolve[i] ? total[i] - r.resolve[i] : 0;
		print_latency(name, "notify+wake", r.resolve, nr_pages);
		break;
	default:
		break;
	}
	printf("stats mech=%s per-page: vcpu:", name);
	stats_print_delta(&vcpu_st, nr_pages);
	printf(" vm:");
	stats_print_delta(&vm_st, nr_pages);
	printf("\n");
	fflush(stdout);

	if (r.bitmap)
		userfault_bitmap_free(r.bitmap, nr_pages);
	kvm_vm_free(r.vm);
	free(r.src);
	free(total);
	free(r.install);
	free(r.clear);
	free(r.user);
	free(r.resolve);
}

/* The counter's frequency as KVM reports it, checked against CLOCK_MONOTONIC. */
static void setup_counter(void)
{
	struct timespec a, b;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u64 t0, t1, khz;
	const char *name;

#ifdef __x86_64__
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	khz = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
	kvm_vm_free(vm);
	name = "TSC (KVM_GET_TSC_KHZ)";
#else
	(void)vcpu;
	(void)vm;
	khz = timer_get_cntfrq() / 1000;
	name = "CNTVCT_EL0 (CNTFRQ_EL0)";
#endif
	TEST_ASSERT(khz > 0, "no counter frequency");
	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = ticks();
	usleep(200000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	t1 = ticks();
	printf("counter: %s %lu kHz (check: %.0f kHz from CLOCK_MONOTONIC)\n", name, khz,
	       (t1 - t0) / ((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3) * 1e3);
	ns_per_tick = 1e6 / khz;
}

int main(int argc, char *argv[])
{
	bool want[NR_MECHS];
	u64 nr_pages = 4096;
	struct utsname u;
	char *tok;
	int opt, m;

	memset(want, 1, sizeof(want));
	while ((opt = getopt(argc, argv, "p:m:")) != -1) {
		switch (opt) {
		case 'p':
			nr_pages = atoi_positive("Number of pages", optarg);
			TEST_ASSERT(nr_pages <= MAX_PAGES, "at most %d pages", MAX_PAGES);
			break;
		case 'm':
			memset(want, 0, sizeof(want));
			for (tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				for (m = 0; m < NR_MECHS && strcmp(tok, mech_names[m]); m++)
					;
				TEST_ASSERT(m < NR_MECHS, "unknown mechanism %s", tok);
				want[m] = true;
			}
			break;
		default:
			printf("usage: %s [-p NR_PAGES] [-m MECH[,MECH...]], MECH one of:", argv[0]);
			for (m = 0; m < NR_MECHS; m++)
				printf(" %s", mech_names[m]);
			printf("\n");
			exit(KSFT_FAIL);
		}
	}
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_USERFAULT) ||
		     !(want[KVM_USERFAULT] || want[KVM_USERFAULT_POPULATED] ||
		       want[KVM_USERFAULT_REFAULT]));

	uname(&u);
	printf("uname: %s %s %s %s\n", u.sysname, u.release, u.version, u.machine);
	setup_counter();
	for (m = 0; m < NR_MECHS; m++)
		if (want[m])
			measure(m, nr_pages);
	return 0;
}
