/* SPDX-License-Identifier: GPL-2.0 */
/*
 * layout.h: the contract between the guest program (guest.c) and the VMM:
 * where things live in guest-physical memory, and the I/O ports the guest
 * talks through.  Included by both, so it holds plain #defines only.
 *
 * Guest-physical memory is one memslot starting at gpa 0:
 *
 *   0x000000  page 0, unused
 *   0x001000  GDT (code, data, 64-bit TSS descriptor); the TSS at 0x1800
 *   0x002000  PML4     \
 *   0x003000  PDPT      } identity map of the first 1 GiB with 2 MiB pages
 *   0x004000  PD       /
 *   0x005000  stack, growing down from 0x10000
 *   0x010000  guest image: code, rodata, data, bss (at most 64 KiB)
 *   0x020000  unused up to 2 MiB (zero pages)
 *   0x200000  the working set: DATA_PAGES pages of pseudo-random data
 *
 * [0, GPA_PRECOPY_END) is the "system" region: it travels while the vCPU is
 * paused, before the destination resumes.  See the comment at the top of
 * dest.c for why each piece of it has to.
 */
#ifndef VMM_LAYOUT_H
#define VMM_LAYOUT_H

#define GUEST_PAGE_SIZE		0x1000

#define GPA_GDT			0x1000
#define GPA_TSS			0x1800
#define GPA_PML4		0x2000
#define GPA_PDPT		0x3000
#define GPA_PD			0x4000
#define GPA_STACK_LOW		0x5000
#define GPA_STACK_TOP		0x10000
#define GPA_IMAGE		0x10000
#define GUEST_IMAGE_MAX		0x10000
#define GPA_PRECOPY_END		0x20000
#define GPA_DATA		0x200000

/* The page tables map 1 GiB; the working set has to fit below it. */
#define GUEST_MAPPED_BYTES	0x40000000ULL
#define MAX_DATA_MIB		((GUEST_MAPPED_BYTES - GPA_DATA) >> 20)

/* GDT selectors. */
#define SEL_CODE		0x08
#define SEL_DATA		0x10
#define SEL_TSS			0x18

/*
 * Ports.  Every report is a 32-bit OUT, the one question is a 32-bit IN:
 * both are a single KVM_EXIT_IO and never make KVM touch guest memory
 * (no string I/O).
 */
#define PORT_INIT_DONE		0x510	/* out: pages filled with generation 0 */
#define PORT_PROGRESS		0x511	/* out: page visits so far (low 32 bits) */
#define PORT_SWEEP		0x512	/* out: sweeps completed */
#define PORT_MISMATCH_PAGE	0x513	/* out: index of a page that failed */
#define PORT_MISMATCH_EXPECT	0x514	/* out: the generation it should have had */
#define PORT_MISMATCH_GEN	0x515	/* out: header word found: generation */
#define PORT_MISMATCH_INDEX	0x516	/* out: header word found: page index */
#define PORT_CMD		0x517	/* in:  CMD_* */
#define PORT_RESULT_RUN		0x518	/* out: mismatches seen by the workload */
#define PORT_RESULT_FINAL	0x519	/* out: mismatches seen by the final pass */
#define PORT_DONE		0x51a	/* out: final pass over, guest halts */

#define CMD_CONTINUE		0
#define CMD_FINISH		1	/* stop the workload, verify every page */

/* The guest reports at most this many mismatching pages per pass. */
#define MISMATCH_REPORTS	8

#endif
