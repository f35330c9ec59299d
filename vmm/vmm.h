/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm.h: what the driver, the source and the destination share: options,
 * exit codes, fault kinds and the clock.
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/*
 * Exit codes.  The failure ones are distinct so that a test can tell "the
 * destination noticed the source died" from "it noticed a bad page".
 */
enum {
	EXIT_OK = 0,
	EXIT_GUEST = 1,		/* the guest found lost/stale pages, or crashed */
	EXIT_INTERNAL = 2,	/* usage error, a KVM call failed, ... */
	EXIT_SKIP = 4,		/* no KVM, or no KVM Userfault: kselftest skip */
	EXIT_SOURCE_LOST = 10,	/* the source went away mid-migration */
	EXIT_BAD_PAGE = 11,	/* a truncated or corrupted page arrived */
	EXIT_BAD_GPA = 12,	/* the peer named a gpa outside guest memory */
	EXIT_PROTOCOL = 13,	/* anything else the peer got wrong */
	EXIT_DEST_LOST = 14,	/* (source side) the destination went away */
	EXIT_TIMEOUT = 15,	/* a demand request had no answer in time */
	EXIT_PAGE_LOST = 16,	/* the stream ended without a page, and asking for it failed */
};

/*
 * Faults either side can inject, to prove the other (or itself) copes.
 * Each side acts on its own kinds and ignores the others'.
 */
enum fault {
	FAULT_NONE,
	FAULT_SOURCE_DIES,	/* source: SIGKILL itself mid-stream */
	FAULT_TRUNCATE,		/* source: send half a page, carry on with the stream */
	FAULT_BAD_GPA,		/* source: send a page beyond the end of guest memory */
	FAULT_CORRUPT,		/* source: flip a byte of a page after checksumming it */
	FAULT_NET_DROP,		/* source: drop both connections mid-stream, keep the guest's memory */
	FAULT_STALL,		/* source: stop sending and answering, keep the connections */
	FAULT_LOSE_PAGE,	/* source: never send one page, ignore requests for it */
	FAULT_DEST_DIES,	/* dest: SIGKILL itself mid-postcopy */
	FAULT_DEST_DIES_EARLY,	/* dest: SIGKILL itself on STATE, before acknowledging it */
	FAULT_ACK_LATE,		/* dest: acknowledge the state only after the source gave up */
	FAULT_GUEST_HANG,	/* dest: tell the guest to spin without an exit after the probe */
};

/* Which program a process is: the driver starts the other two. */
enum role { ROLE_DRIVER, ROLE_SOURCE, ROLE_DEST };

struct options {
	enum role role;
	const char *listen;		/* source: HOST:PORT to listen on */
	const char *connect;		/* dest: HOST:PORT of the source */
	unsigned int mib;		/* working set, MiB */
	unsigned int vcpus;		/* source: vCPUs (0: one per online CPU) */
	unsigned int delay_us;		/* source: delay before serving a demand request */
	unsigned int rate_mib;		/* source: stream at most this many MiB/s (0: no limit) */
	unsigned int warmup_pct;	/* source: migrate after this % of a sweep past the fill */
	unsigned int post_sweeps;	/* dest: sweeps to complete after resuming before finishing */
	unsigned int every;		/* guest: report progress every this many page visits */
	unsigned int demand_timeout_s;	/* dest: give up on a demand request after this long */
	unsigned int min_faults;	/* dest: fail unless at least this many userfault exits */
	unsigned int min_uffd_faults;	/* dest: ... and this many userfaultfd faults */
	unsigned int precopy_rounds;	/* source: hybrid: at most this many precopy rounds */
	bool precopy_all;		/* stop-and-copy: every page before resume */
	bool no_userfault;		/* negative control: dest without KVM_MEM_USERFAULT */
	bool no_uffd;			/* negative control: dest without userfaultfd */
	enum fault fault;
	bool expect_fault;
	uint64_t seed;
	const char *given[32];		/* per option (options.c): its value as given, or NULL */
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC is machine-wide: comparable across the two processes. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Parse argv (after the sub-command) for a role; exits on a usage error.
 * Options that belong to another role are refused.
 */
void options_parse(enum role role, int argc, char **argv, struct options *o);
/*
 * The argv (NULL-terminated, in args[0..max)) that starts `role` with the
 * options the driver was given that belong to it, and addr as its
 * --listen/--connect.
 */
int options_child_argv(const struct options *o, enum role role, const char *addr,
		       char **args, int max);
const char *fault_name(enum fault f);

int source_main(const struct options *o);
int dest_main(const struct options *o);

#endif
