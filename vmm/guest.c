// SPDX-License-Identifier: GPL-2.0
/*
 * guest.c: the program the VM runs.  Built freestanding for x86_64, linked
 * at GPA_IMAGE (guest.lds) and flattened into a blob that the VMM copies
 * into guest memory; the VMM enters it in 64-bit mode with paging on (it
 * writes the page tables and loads the segment state itself), so there is
 * no boot code here.
 *
 * The workload: the working set is N pages, page i of generation g holds
 *   word 0      = g << 32 | i          (lets a mismatch report say what it found)
 *   words 1-511 = xorshift64 stream seeded from (seed, i, g)
 * The guest fills every page with generation 0, then sweeps forever: each
 * sweep visits all pages in a scrambled order, checks that the page holds
 * the generation it must hold and rewrites it with the next generation.
 *
 * What a page must hold is known without reading memory: after s complete
 * sweeps, with the first k visits of sweep s done, page perm(j) holds
 * generation s + 1 if j < k and s otherwise.  (s, k) live in registers or on
 * the stack, which migrate with the vCPU state, so a page that is lost
 * (zero) or stale (an older generation) in the migrated memory cannot
 * verify by accident.
 *
 * Every vCPU runs this on its own contiguous part of the working set, with
 * its own stack and no shared variables: the program has no writable
 * globals, everything lives in a struct part on the vCPU's stack.
 *
 * Every `every` visits the guest reports progress (OUT) and asks the VMM
 * whether to finish (IN).  On CMD_FINISH it reads every page once more,
 * reports the mismatch counts and halts.
 *
 * The source pauses the guest at such a question, answering CMD_ASK_AGAIN:
 * the guest's first action after the migration is the same question, put to
 * the destination.
 *
 * The probe (layout.h, device region): after the fill, and again when the
 * VMM answers CMD_PROBE (the destination does to that first question), the
 * guest rings a doorbell whose VMM handler checksums a buffer the guest
 * wrote before the migration and writes the sum back into guest memory, and
 * (on CMD_PROBE) turns kvmclock on at a page of its own and reads the time
 * KVM wrote there.  Both expected values are known without reading memory
 * (the buffer's contents follow from the seed), so a VMM or KVM access
 * that saw a page before it arrived cannot pass.
 */
#include "devsum.h"
#include "layout.h"

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;

/* Entry: the VMM sets rsp (16-byte aligned) and rdi, rsi, rdx, rcx, r8, r9. */
asm(".section .text.entry, \"ax\"\n"
    ".globl _start\n"
    "_start:\n"
    "	call gmain\n"
    "1:	hlt\n"
    "	jmp 1b\n"
    ".previous\n");


/* One vCPU's part of the working set, and its device pages. */
struct part {
	u64 seed;
	u64 first, n;		/* global index of the first page, page count */
	u64 perm_mask, perm_shift;
	u64 data_base;		/* gpa of global page 0 */
	u64 dev_base;		/* the device region */
	u64 vdev;		/* this vCPU's descriptor/result/pvclock pages */
	u64 probe_seq;
	u32 reports;
};

static inline void outl(u16 port, u32 val)
{
	asm volatile("outl %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

static inline u32 inl(u16 port)
{
	u32 val;

	asm volatile("inl %1, %0" : "=a"(val) : "Nd"(port) : "memory");
	return val;
}

static inline void wrmsr(u32 msr, u64 val)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((u32)val), "d"((u32)(val >> 32)) : "memory");
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

static u64 mix(u64 z)
{
	z += 0x9e3779b97f4a7c15UL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

/* The stream of global page i, generation gen. */
static u64 page_seed(const struct part *g, u64 i, u64 gen)
{
	u64 s = mix(g->seed ^ mix(i << 32 | (gen & 0xffffffff)));

	return s ? s : 1;	/* xorshift must not start at 0 */
}

static inline u64 next(u64 *x)
{
	u64 v = *x;

	v ^= v << 13;
	v ^= v >> 7;
	v ^= v << 17;
	return *x = v;
}

static inline u64 header(u64 i, u64 gen)
{
	return gen << 32 | i;
}

/* Page k of this part (global page first + k). */
static u64 *page(const struct part *g, u64 k)
{
	return (u64 *)(g->data_base + (g->first + k) * GUEST_PAGE_SIZE);
}

/*
 * A bijection of [0, n): a bijection f of [0, 2^m) (odd multipliers and
 * an xor-shift are each invertible mod 2^m), applied again while the result
 * lands outside [0, n) ("cycle walking").  Scattered enough that the
 * guest's accesses don't follow the order the source streams pages in.
 */
static u64 perm(const struct part *g, u64 k)
{
	u64 x = k;

	do {
		x = (x * 0x5851f42d4c957f2dUL + 0x14057b7ef767814fUL) & g->perm_mask;
		x ^= x >> g->perm_shift;
		x = (x * 0x2545f4914f6cdd1dUL) & g->perm_mask;
	} while (x >= g->n);
	return x;
}

static void report(struct part *g, u64 i, u64 want, u64 found)
{
	if (g->reports >= MISMATCH_REPORTS)
		return;
	g->reports++;
	outl(PORT_MISMATCH_PAGE, i);
	outl(PORT_MISMATCH_EXPECT, want);
	outl(PORT_MISMATCH_GEN, found >> 32);
	outl(PORT_MISMATCH_INDEX, found & 0xffffffff);
}

static void fill(const struct part *g, u64 k, u64 gen)
{
	u64 *p = page(g, k), i = g->first + k, x = page_seed(g, i, gen);
	int j;

	p[0] = header(i, gen);
	for (j = 1; j < GUEST_PAGE_SIZE / 8; j++)
		p[j] = next(&x);
}

/* Check that page k holds generation gen; 1 if it doesn't. */
static int check(struct part *g, u64 k, u64 gen)
{
	const volatile u64 *p = page(g, k);
	u64 i = g->first + k, x = page_seed(g, i, gen), bad = p[0] ^ header(i, gen);
	int j;

	for (j = 1; j < GUEST_PAGE_SIZE / 8; j++)
		bad |= p[j] ^ next(&x);
	if (bad)
		report(g, i, gen, p[0]);
	return bad != 0;
}

/* Check that page k holds gen and rewrite it with gen + 1, in one pass. */
static int visit(struct part *g, u64 k, u64 gen)
{
	volatile u64 *p = page(g, k);
	u64 i = g->first + k;
	u64 old = page_seed(g, i, gen), new = page_seed(g, i, gen + 1);
	u64 found = p[0], bad = found ^ header(i, gen);
	int j;

	p[0] = header(i, gen + 1);
	for (j = 1; j < GUEST_PAGE_SIZE / 8; j++) {
		bad |= p[j] ^ next(&old);
		p[j] = next(&new);
	}
	if (bad)
		report(g, i, gen, found);
	return bad != 0;
}

/*
 * The doorbell buffer: page j holds the stream of page_seed(DEV_BUF_INDEX + j,
 * 0).  Every vCPU writes it, the same bytes, so that none depends on another.
 */
static void fill_dev_buffer(const struct part *g)
{
	u64 j, w, x;

	for (j = 0; j < DEV_BUF_PAGES; j++) {
		volatile u64 *p = (u64 *)(g->dev_base + DEV_BUF + j * GUEST_PAGE_SIZE);

		x = page_seed(g, DEV_BUF_INDEX + j, 0);
		for (w = 0; w < GUEST_PAGE_SIZE / 8; w++)
			p[w] = next(&x);
	}
}

/*
 * Keep the device pages live, as a guest that keeps using its device does:
 * rewrite the doorbell buffer (the same bytes) and clear this vCPU's result
 * and pvclock pages (kvmclock is off between probes).  In a hybrid
 * migration they are then dirty at the pause, taken back, and the probe
 * after resuming reaches them before they arrive, like a postcopy does.
 */
static void touch_dev_pages(const struct part *g)
{
	u64 w;

	fill_dev_buffer(g);
	for (w = 0; w < GUEST_PAGE_SIZE / 8; w++) {
		((volatile u64 *)(g->vdev + DEV_RESULT))[w] = 0;
		((volatile u64 *)(g->vdev + DEV_PVCLOCK))[w] = 0;
	}
}

static u64 dev_expected_sum(const struct part *g)
{
	u64 j, w, x, s = DEV_SUM_INIT;

	for (j = 0; j < DEV_BUF_PAGES; j++) {
		x = page_seed(g, DEV_BUF_INDEX + j, 0);
		for (w = 0; w < GUEST_PAGE_SIZE / 8; w++)
			s = dev_sum_step(s, next(&x));
	}
	return s;
}

/* Ring the doorbell: the VMM checksums the buffer and writes the sum back. */
static u32 probe_device(struct part *g)
{
	volatile u64 *desc = (u64 *)(g->vdev + DEV_DESC);
	volatile u64 *res = (u64 *)(g->vdev + DEV_RESULT);
	u32 bad = 0;

	g->probe_seq++;
	desc[DESC_W_MAGIC] = DESC_MAGIC;
	desc[DESC_W_SEQ] = g->probe_seq;
	desc[DESC_W_BUF] = g->dev_base + DEV_BUF;
	desc[DESC_W_PAGES] = DEV_BUF_PAGES;
	desc[DESC_W_RESULT] = g->vdev + DEV_RESULT;
	outl(PORT_DOORBELL, g->vdev + DEV_DESC);
	if (res[RES_W_SEQ] != g->probe_seq)
		bad |= PROBE_DEVICE_SEQ;
	if (res[RES_W_SUM] != dev_expected_sum(g))
		bad |= PROBE_DEVICE_SUM;
	return bad;
}

#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01

/* struct pvclock_vcpu_time_info, as KVM writes it. */
struct pvclock {
	u32 version;
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	signed char tsc_shift;
	unsigned char flags;
	unsigned char pad[2];
};

/* (delta << shift) * mul >> 32, as the pvclock ABI defines it. */
static u64 pvclock_scale(u64 delta, u32 mul, signed char shift)
{
	u64 lo, hi;

	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	asm("mulq %3" : "=a"(lo), "=d"(hi) : "a"(delta), "rm"((u64)mul));
	return lo >> 32 | hi << 32;
}

/* kvmclock time now, or 0 with *bad set if the page does not hold a clock. */
static u64 pvclock_read(volatile struct pvclock *pv, u32 *bad)
{
	u64 ts = 0, sys = 0;
	u32 v = 0, mul = 0;
	signed char shift = 0;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		v = pv->version;
		asm volatile("" ::: "memory");
		ts = pv->tsc_timestamp;
		sys = pv->system_time;
		mul = pv->tsc_to_system_mul;
		shift = pv->tsc_shift;
		asm volatile("" ::: "memory");
		if (!(v & 1) && v == pv->version)
			break;
	}
	if (!v || (v & 1)) {
		*bad |= PROBE_CLOCK_VERSION;
		return 0;
	}
	if (!mul) {
		*bad |= PROBE_CLOCK_MUL;
		return 0;
	}
	return sys + pvclock_scale(rdtsc() - ts, mul, shift);
}

/* Turn kvmclock on at this vCPU's pvclock page; KVM writes the page. */
static u32 probe_kvmclock(const struct part *g)
{
	volatile struct pvclock *pv = (struct pvclock *)(g->vdev + DEV_PVCLOCK);
	u64 t1, t2 = 0, spin;
	u32 bad = 0;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (g->vdev + DEV_PVCLOCK) | 1);
	t1 = pvclock_read(pv, &bad);
	for (spin = 0; !bad && spin < 1000000 && t2 <= t1; spin++)
		t2 = pvclock_read(pv, &bad);
	if (!bad && t2 <= t1)
		bad |= PROBE_CLOCK_TIME;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	return bad;
}

void gmain(u64 base, u64 total, u64 s, u64 every, u64 vcpu, u64 nvcpus);

/*
 * base: gpa of the working set, total: its pages, s: the seed, every: the
 * progress interval; this is vCPU `vcpu` of `nvcpus`.
 */
void gmain(u64 base, u64 total, u64 s, u64 every, u64 vcpu, u64 nvcpus)
{
	struct part part, *g = &part;
	u64 sweep = 0, k = 0, visits = 0, i, j;
	u32 run_bad = 0, final_bad = 0, cmd;
	int m = 0;

	g->seed = s;
	g->first = total * vcpu / nvcpus;
	g->n = total * (vcpu + 1) / nvcpus - g->first;
	g->data_base = base;
	g->dev_base = base + total * GUEST_PAGE_SIZE;
	g->vdev = g->dev_base + vcpu * DEV_VCPU_STRIDE;
	g->probe_seq = 0;
	g->reports = 0;
	while ((1UL << m) < g->n)
		m++;
	g->perm_mask = (1UL << m) - 1;
	g->perm_shift = m / 2 + 1;

	for (i = 0; i < g->n; i++)
		fill(g, i, 0);
	fill_dev_buffer(g);
	outl(PORT_INIT_DONE, g->n);
	/* The device works before the migration too. */
	outl(PORT_PROBE, probe_device(g));

	for (;;) {
		run_bad += visit(g, perm(g, k), sweep);
		visits++;
		if (++k == g->n) {
			k = 0;
			sweep++;
			outl(PORT_SWEEP, sweep);
		}
		if (visits % every == 0) {
			outl(PORT_PROGRESS, visits);
			cmd = inl(PORT_CMD);
			/* Paused here by the source: the next VMM answers. */
			while (cmd == CMD_ASK_AGAIN)
				cmd = inl(PORT_CMD);
			if (cmd == CMD_FINISH)
				break;
			if (cmd == CMD_PROBE)
				outl(PORT_PROBE, probe_device(g) | probe_kvmclock(g) | PROBE_KVMCLOCK);
			while (cmd == CMD_HANG)
				asm volatile("" ::: "memory");
			touch_dev_pages(g);
		}
	}

	/* Final pass: read every page back, change nothing. */
	g->reports = 0;
	for (j = 0; j < g->n; j++)
		final_bad += check(g, perm(g, j), j < k ? sweep + 1 : sweep);
	outl(PORT_RESULT_RUN, run_bad);
	outl(PORT_RESULT_FINAL, final_bad);
	outl(PORT_DONE, 0);
}
