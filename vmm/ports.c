// SPDX-License-Identifier: GPL-2.0
/*
 * ports.c: decode the guest's reports (layout.h).  A mismatch arrives as
 * four OUTs (page, expected generation, header generation, header index);
 * the last one prints a line that says whether the page was lost (zero),
 * stale (an older generation of the right page) or something else.
 */
#include <stdio.h>

#include "kvm.h"
#include "layout.h"
#include "ports.h"
#include "log.h"
#include "vmm.h"

static void print_mismatch(struct guest_ports *g, uint32_t found_index)
{
	const char *what;

	if (!g->mm_gen && !found_index)
		what = "lost: the page reads as zeroes";
	else if (found_index == g->mm_page && g->mm_gen < g->mm_expect)
		what = "stale: an older generation of this page";
	else if (found_index == g->mm_page && g->mm_gen == g->mm_expect)
		what = "right header, wrong contents";
	else
		what = "wrong page or corrupted";
	say(g->who, "guest: page %u: expected generation %u, found header (generation %u, page %u): %s",
	    g->mm_page, g->mm_expect, g->mm_gen, found_index, what);
	g->mismatches_reported++;
}

enum port_event ports_handle(struct guest_ports *g, struct kvm_run *run)
{
	uint32_t val;

	if (run->io.size != 4 || run->io.count != 1)
		return EV_BAD;
	if (run->io.direction == KVM_EXIT_IO_IN)
		return run->io.port == PORT_CMD ? EV_CMD : EV_BAD;

	val = io_out_value(run);
	switch (run->io.port) {
	case PORT_INIT_DONE:
		g->init_pages = val;
		return EV_INIT_DONE;
	case PORT_PROGRESS:
		/* Widen: the guest sends the low 32 bits of its visit count. */
		g->visits += (uint32_t)(val - g->last_progress);
		g->last_progress = val;
		return EV_PROGRESS;
	case PORT_SWEEP:
		g->sweeps = val;
		return EV_SWEEP;
	case PORT_MISMATCH_PAGE:
		g->mm_page = val;
		return EV_OTHER;
	case PORT_MISMATCH_EXPECT:
		g->mm_expect = val;
		return EV_OTHER;
	case PORT_MISMATCH_GEN:
		g->mm_gen = val;
		return EV_OTHER;
	case PORT_MISMATCH_INDEX:
		print_mismatch(g, val);
		return EV_OTHER;
	case PORT_RESULT_RUN:
		g->result_run = val;
		g->have_run = true;
		return EV_OTHER;
	case PORT_RESULT_FINAL:
		g->result_final = val;
		g->have_final = true;
		return EV_OTHER;
	case PORT_DOORBELL:
		g->doorbell_gpa = val;
		return EV_DOORBELL;
	case PORT_PROBE:
		g->probe_result = val;
		g->probes++;
		return EV_PROBE;
	case PORT_DONE:
		return g->have_run && g->have_final ? EV_DONE : EV_BAD;
	default:
		return EV_BAD;
	}
}

const char *probe_failure(uint32_t bits, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *what;
	} names[] = {
		{ PROBE_DEVICE_SEQ, "the device's result is not the answer to this request" },
		{ PROBE_DEVICE_SUM, "the device read other bytes than the guest wrote" },
		{ PROBE_CLOCK_VERSION, "the kvmclock page holds no valid version" },
		{ PROBE_CLOCK_MUL, "the kvmclock page holds no TSC multiplier" },
		{ PROBE_CLOCK_TIME, "kvmclock time does not advance" },
	};
	size_t i, n = 0;

	buf[0] = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & names[i].bit)
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "; " : "",
				      names[i].what);
	return buf;
}
