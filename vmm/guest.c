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
 * Every `every` visits the guest reports progress (OUT) and asks the VMM
 * whether to finish (IN).  On CMD_FINISH it reads every page once more,
 * reports the mismatch counts and halts.
 */
#include "layout.h"

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;

/* Entry: the VMM sets rsp (16-byte aligned) and rdi, rsi, rdx, rcx. */
asm(".section .text.entry, \"ax\"\n"
    ".globl _start\n"
    "_start:\n"
    "	call gmain\n"
    "1:	hlt\n"
    "	jmp 1b\n"
    ".previous\n");

static u64 seed, npages, perm_mask, perm_shift, data_base;

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

static u64 mix(u64 z)
{
	z += 0x9e3779b97f4a7c15UL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

static u64 page_seed(u64 i, u64 gen)
{
	u64 s = mix(seed ^ mix(i << 32 | (gen & 0xffffffff)));

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

static u64 *page(u64 i)
{
	return (u64 *)(data_base + i * GUEST_PAGE_SIZE);
}

/*
 * A bijection of [0, npages): a bijection f of [0, 2^m) (odd multipliers and
 * an xor-shift are each invertible mod 2^m), applied again while the result
 * lands outside [0, npages) ("cycle walking").  Scattered enough that the
 * guest's accesses don't follow the order the source streams pages in.
 */
static u64 perm(u64 k)
{
	u64 x = k;

	do {
		x = (x * 0x5851f42d4c957f2dUL + 0x14057b7ef767814fUL) & perm_mask;
		x ^= x >> perm_shift;
		x = (x * 0x2545f4914f6cdd1dUL) & perm_mask;
	} while (x >= npages);
	return x;
}

static u32 reports;

static void report(u64 i, u64 want, u64 found)
{
	if (reports >= MISMATCH_REPORTS)
		return;
	reports++;
	outl(PORT_MISMATCH_PAGE, i);
	outl(PORT_MISMATCH_EXPECT, want);
	outl(PORT_MISMATCH_GEN, found >> 32);
	outl(PORT_MISMATCH_INDEX, found & 0xffffffff);
}

static void fill(u64 i, u64 gen)
{
	u64 *p = page(i), x = page_seed(i, gen);
	int j;

	p[0] = header(i, gen);
	for (j = 1; j < GUEST_PAGE_SIZE / 8; j++)
		p[j] = next(&x);
}

/* Check that page i holds generation gen; 1 if it doesn't. */
static int check(u64 i, u64 gen)
{
	const volatile u64 *p = page(i);
	u64 x = page_seed(i, gen), bad = p[0] ^ header(i, gen);
	int j;

	for (j = 1; j < GUEST_PAGE_SIZE / 8; j++)
		bad |= p[j] ^ next(&x);
	if (bad)
		report(i, gen, p[0]);
	return bad != 0;
}

/* Check that page i holds gen and rewrite it with gen + 1, in one pass. */
static int visit(u64 i, u64 gen)
{
	volatile u64 *p = page(i);
	u64 old = page_seed(i, gen), new = page_seed(i, gen + 1);
	u64 found = p[0], bad = found ^ header(i, gen);
	int j;

	p[0] = header(i, gen + 1);
	for (j = 1; j < GUEST_PAGE_SIZE / 8; j++) {
		bad |= p[j] ^ next(&old);
		p[j] = next(&new);
	}
	if (bad)
		report(i, gen, found);
	return bad != 0;
}

void gmain(u64 base, u64 n, u64 s, u64 every);

void gmain(u64 base, u64 n, u64 s, u64 every)
{
	u64 sweep = 0, k = 0, visits = 0, i, j;
	u32 run_bad = 0, final_bad = 0;
	int m = 0;

	data_base = base;
	npages = n;
	seed = s;
	while ((1UL << m) < n)
		m++;
	perm_mask = (1UL << m) - 1;
	perm_shift = m / 2 + 1;

	for (i = 0; i < n; i++)
		fill(i, 0);
	outl(PORT_INIT_DONE, n);

	for (;;) {
		run_bad += visit(perm(k), sweep);
		visits++;
		if (++k == n) {
			k = 0;
			sweep++;
			outl(PORT_SWEEP, sweep);
		}
		if (visits % every == 0) {
			outl(PORT_PROGRESS, visits);
			if (inl(PORT_CMD) == CMD_FINISH)
				break;
		}
	}

	/* Final pass: read every page back, change nothing. */
	reports = 0;
	for (j = 0; j < n; j++)
		final_bad += check(perm(j), j < k ? sweep + 1 : sweep);
	outl(PORT_RESULT_RUN, run_bad);
	outl(PORT_RESULT_FINAL, final_bad);
	outl(PORT_DONE, 0);
}
