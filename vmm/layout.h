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
 *   0x005000  stacks, one page per vCPU, vCPU v's growing down from
 *            0x10000 - v * GUEST_STACK_SIZE
 *   0x010000  guest image: code, rodata, data, bss (at most 64 KiB)
 *   0x020000  unused up to 2 MiB (zero pages)
 *   0x200000  the working set: DATA_PAGES pages of pseudo-random data,
 *            split into one contiguous part per vCPU
 *   then      the device region, DEV_REGION_SIZE bytes (DEV_* below)
 *
 * Nothing is sent ahead of the vCPU state: every page, the page tables and
 * the code included, may arrive after the guest resumed (dest.c says how).
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
#define GUEST_STACK_SIZE	0x1000
#define GPA_IMAGE		0x10000
#define GUEST_IMAGE_MAX		0x10000
#define GPA_DATA		0x200000

/*
 * The device region, right after the working set (at gpa `dev`); per vCPU v,
 * at dev + v * DEV_VCPU_STRIDE:
 *   + DEV_DESC         the doorbell's descriptor, written by the guest
 *   + DEV_RESULT       the device's answer, written by the VMM
 *   + DEV_PVCLOCK      kvmclock's pvclock_vcpu_time_info, written by KVM
 * and, shared, at dev + DEV_BUF:
 *   DEV_BUF_PAGES of data every vCPU writes (the same bytes) on the source
 *   and the VMM reads on the destination
 * On the destination the guest rings the doorbell and turns kvmclock on
 * right after it resumed, so that the VMM and KVM access pages there that
 * have not arrived yet: userfaultfd must hold those accesses back.
 */
#define DEV_DESC		0x0000
#define DEV_RESULT		0x1000
#define DEV_PVCLOCK		0x2000
#define DEV_VCPU_STRIDE		0x3000
#define DEV_BUF			0x18000		/* MAX_VCPUS (8) strides */
#define DEV_BUF_PAGES		8
#define DEV_REGION_SIZE		0x20000

/* Descriptor (u64 words at dev + DEV_DESC) and result (at dev + DEV_RESULT). */
#define DESC_MAGIC		0x4c4c45422d564544ULL	/* "DEV-BELL" */
#define DESC_W_MAGIC		0
#define DESC_W_SEQ		1	/* the result echoes it */
#define DESC_W_BUF		2	/* gpa of the buffer */
#define DESC_W_PAGES		3	/* its length in pages */
#define DESC_W_RESULT		4	/* gpa where the VMM writes the result */
#define RES_W_SEQ		0
#define RES_W_SUM		1	/* dev_sum() of the buffer, as the VMM read it */
#define DEV_BUF_INDEX		0xdef00000UL	/* page_seed() index of buffer page 0 */

/* The page tables map 1 GiB; the working set has to fit below it. */
#define GUEST_MAPPED_BYTES	0x40000000ULL
#define MAX_DATA_MIB		((GUEST_MAPPED_BYTES - GPA_DATA - DEV_REGION_SIZE) >> 20)

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
#define PORT_DOORBELL		0x51b	/* out: gpa of a descriptor (device region) */
#define PORT_PROBE		0x51c	/* out: PROBE_* bits that failed (0: all passed) */

#define CMD_CONTINUE		0
#define CMD_FINISH		1	/* stop the workload, verify every page */
#define CMD_PROBE		2	/* ring the doorbell and check kvmclock, then go on */
#define CMD_HANG		3	/* spin for ever without an exit (--fault=guest-hang) */
#define CMD_ASK_AGAIN		4	/* ask again at once (the source pauses the guest here) */

/* What the guest's probe found wrong. */
#define PROBE_DEVICE_SEQ	(1 << 0)	/* the device's result is not for this request */
#define PROBE_DEVICE_SUM	(1 << 1)	/* the device read other bytes than were written */
#define PROBE_CLOCK_VERSION	(1 << 2)	/* pvclock version 0 or never even */
#define PROBE_CLOCK_MUL		(1 << 3)	/* pvclock tsc_to_system_mul 0 */
#define PROBE_CLOCK_TIME	(1 << 4)	/* kvmclock time did not advance */
#define PROBE_KVMCLOCK		(1 << 8)	/* (in the PORT_PROBE value) kvmclock was checked too */

/* The guest reports at most this many mismatching pages per pass. */
#define MISMATCH_REPORTS	8

#endif
