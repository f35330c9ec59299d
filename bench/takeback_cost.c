// SPDX-License-Identifier: GPL-2.0
/*
 * takeback_cost: what it costs to take pages back from a running guest, and
 * to give a guest its huge mappings back after postcopy.  Part of `make
 * bench` (see README.md, "Benchmark").
 *
 * A one-vCPU guest has a KVM_MEM_USERFAULT memslot of NR_PAGES pages (backed
 * by transparent huge pages where they are available), every page present;
 * each time the host runs it, it reads the first word of every page and
 * syncs.  The host measures, with CLOCK_MONOTONIC, per round:
 *
 *   unmap    one random page's bit set, then KVM_UNMAP_USERFAULT of that page
 *            (the take-back), then the guest's walk over every page, which
 *            exits once, on that page, and refaults what the take-back
 *            unmapped
 *   toggle   the same page taken back by clearing KVM_MEM_USERFAULT and
 *            setting it again (two flags-only updates: what VMMs had to do
 *            before KVM_UNMAP_USERFAULT, and which lets vCPUs map pages
 *            whose bits are set while the flag is off), then the same walk,
 *            which refaults the whole memslot
 *   clear    KVM_MEM_USERFAULT cleared for good (the end of postcopy), then
 *            the same walk; the flag is set again after the round, and an
 *            untimed walk maps every page again, so that the round measures
 *            the clear alone: on arm64 clearing the flag unmaps the ranges
 *            that can come back as blocks, and the walk pays their refaults
 *   walk     the walk alone, with nothing taken back: the floor
 *
 * Output lines (parsed by scripts/bench-report.py):
 *   takeback backing=B method=M n=N call_p50_ns=.. walk_p50_ns=.. exits=E
 * where call is the ioctl(s) and exits the userfault exits per walk.
 *
 * Usage: takeback_cost [-p NR_PAGES] [-r ROUNDS] [-s]
 * -s backs the memslot with small pages only, so that nothing is mapped huge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "test_util.h"
#include "ucall_common.h"
#include "processor.h"

#define TEST_SLOT	1
#define TEST_GPA	(1ULL << 30)

enum method { UNMAP, TOGGLE, CLEAR, WALK, NR_METHODS };

static const char * const method_names[NR_METHODS] = {
	"unmap", "toggle", "clear", "walk",
};

static void guest_code(u64 gva, u64 nr_pages, u64 page_size)
{
	u64 i, sum;

	for (;;) {
		for (i = 0, sum = 0; i < nr_pages; i++)
			sum += READ_ONCE(*(u64 *)(gva + i * page_size));
		GUEST_SYNC(sum);
	}
}

struct bench {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	unsigned long *bitmap;
	u64 nr_pages;
	u64 page_size;
};

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Run the guest's walk; clear the bit of each page it exits on. */
static u64 walk(struct bench *b, u64 *exits)
{
	struct kvm_run *run = b->vcpu->run;
	struct ucall uc;
	u64 page;

	for (;;) {
		if (!_vcpu_run(b->vcpu))
			break;
		TEST_ASSERT(errno == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
			    (run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_USERFAULT),
			    "Expected a userfault exit, got errno %d, exit reason %s",
			    errno, exit_reason_str(run->exit_reason));
		page = (run->memory_fault.gpa - TEST_GPA) / b->page_size;
		TEST_ASSERT(page < b->nr_pages, "Userfault outside the memslot");
		userfault_bitmap_clear(b->bitmap, page);
		(*exits)++;
	}

	switch (get_ucall(b->vcpu, &uc)) {
	case UCALL_SYNC:
		return uc.args[1];
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("Unexpected exit %s", exit_reason_str(run->exit_reason));
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static u64 median(u64 *v, u64 n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static void measure(struct bench *b, const char *backing, enum method m,
		    u64 rounds, u64 expected_sum)
{
	u64 *call = calloc(rounds, sizeof(u64)), *walk_ns = calloc(rounds, sizeof(u64));
	u64 i, page, t0, t1, exits = 0;

	TEST_ASSERT(call && walk_ns, "Memory allocation failed");
	for (i = 0; i < rounds; i++) {
		page = random() % b->nr_pages;
		t0 = now_ns();
		switch (m) {
		case UNMAP:
			userfault_bitmap_set(b->bitmap, page);
			vm_userfault_unmap(b->vm, TEST_SLOT, page, 1);
			break;
		case TOGGLE:
			userfault_bitmap_set(b->bitmap, page);
			vm_mem_region_disable_userfault(b->vm, TEST_SLOT);
			vm_mem_region_enable_userfault(b->vm, TEST_SLOT, b->bitmap);
			break;
		case CLEAR:
			vm_mem_region_disable_userfault(b->vm, TEST_SLOT);
			break;
		case WALK:
		case NR_METHODS:
			break;
		}
		t1 = now_ns();
		TEST_ASSERT_EQ(walk(b, &exits), expected_sum);
		walk_ns[i] = now_ns() - t1;
		call[i] = t1 - t0;
		if (m == CLEAR) {
			vm_mem_region_enable_userfault(b->vm, TEST_SLOT, b->bitmap);
			TEST_ASSERT_EQ(walk(b, &exits), expected_sum);
		}
	}

	printf("takeback backing=%s method=%s n=%lu call_p50_ns=%lu walk_p50_ns=%lu exits=%.2f\n",
	       backing, method_names[m], rounds, median(call, rounds), median(walk_ns, rounds),
	       (double)exits / rounds);
	free(call);
	free(walk_ns);
}

int main(int argc, char *argv[])
{
	enum vm_mem_backing_src_type src = VM_MEM_SRC_ANONYMOUS;
	u64 rounds = 20, size, i, sum = 0;
	struct bench b = { .nr_pages = 16384, .page_size = getpagesize() };
	bool small = false;
	enum method m;
	int opt;

	while ((opt = getopt(argc, argv, "p:r:s")) != -1) {
		switch (opt) {
		case 'p':
			b.nr_pages = atoi_positive("Pages", optarg);
			break;
		case 'r':
			rounds = atoi_positive("Rounds", optarg);
			break;
		case 's':
			small = true;
			break;
		default:
			printf("usage: %s [-p NR_PAGES] [-r ROUNDS] [-s]\n", argv[0]);
			exit(KSFT_SKIP);
		}
	}
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_USERFAULT));

	size = b.nr_pages * b.page_size;
	if (!small && thp_configured() && !(size % get_trans_hugepagesz()))
		src = VM_MEM_SRC_ANONYMOUS_THP;
	printf("takeback: %lu pages of %lu bytes (%s), %lu rounds\n", b.nr_pages,
	       b.page_size, vm_mem_backing_src_alias(src)->name, rounds);

	b.vm = vm_create_with_one_vcpu(&b.vcpu, guest_code);
	b.bitmap = userfault_bitmap_alloc(b.nr_pages, false);
	__vm_mem_add(b.vm, src, TEST_GPA, TEST_SLOT, size / b.vm->page_size,
		     KVM_MEM_USERFAULT, -1, 0, b.bitmap);
	virt_map(b.vm, TEST_GPA, TEST_GPA, size / b.vm->page_size);
	for (i = 0; i < b.nr_pages; i++) {
		*(u64 *)addr_gpa2hva(b.vm, TEST_GPA + i * b.page_size) = i;
		sum += i;
	}
	vcpu_args_set(b.vcpu, 3, TEST_GPA, b.nr_pages, b.page_size);

	/* Map everything once, and warm up. */
	i = 0;
	TEST_ASSERT_EQ(walk(&b, &i), sum);
	for (m = 0; m < NR_METHODS; m++)
		measure(&b, vm_mem_backing_src_alias(src)->name, m, rounds, sum);

	kvm_vm_free(b.vm);
	userfault_bitmap_free(b.bitmap, b.nr_pages);
	return 0;
}
