/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ports.h: the VMM side of the guest's port protocol (layout.h): decode a
 * KVM_EXIT_IO into an event and keep the guest's counters, on either side
 * of the migration.
 */
#ifndef VMM_PORTS_H
#define VMM_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

struct guest_ports {
	const char *who;		/* prefix for messages */
	uint64_t visits;		/* PORT_PROGRESS, widened to 64 bits */
	uint32_t last_progress;
	uint64_t sweeps;
	uint32_t init_pages;
	uint32_t mm_page, mm_expect, mm_gen;	/* mismatch report being assembled */
	uint32_t mismatches_reported;
	uint32_t result_run, result_final;
	bool have_run, have_final;
	uint32_t doorbell_gpa;			/* EV_DOORBELL: the descriptor */
	uint32_t probe_result;			/* EV_PROBE: PROBE_* bits */
	uint32_t probes;			/* how many probes the guest reported */
};

enum port_event {
	EV_OTHER,	/* handled, nothing for the caller to do */
	EV_INIT_DONE,
	EV_PROGRESS,
	EV_SWEEP,
	EV_CMD,		/* IN PORT_CMD: the caller must answer with io_in_answer() */
	EV_DONE,	/* the guest's final report is complete */
	EV_DOORBELL,	/* the caller must run the device (device.h) */
	EV_PROBE,	/* the guest reported a probe's result */
	EV_BAD,		/* an access the guest never makes: a bug or a crash */
};

enum port_event ports_handle(struct guest_ports *g, struct kvm_run *run);

/* What a probe result means, for an error line. */
const char *probe_failure(uint32_t bits, char *buf, size_t len);

#endif
