// SPDX-License-Identifier: GPL-2.0
/*
 * options.c: the command line of all three programs.  One table says which
 * options each of them takes: the source gets what shapes the guest and
 * the stream, the destination what shapes its own checks, and the driver
 * takes them all and hands each side its share.  Nothing else is shared:
 * the destination learns the guest's layout from HELLO.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm.h"
#include "layout.h"
#include "vmm.h"

#define S (1 << ROLE_SOURCE)
#define D (1 << ROLE_DEST)
#define X (1 << ROLE_DRIVER)

static const struct opt {
	const char *name;
	int has_arg;
	int roles;		/* who takes it; the driver takes every S and D one too */
	const char *help;
} opts[] = {
	{ "listen", 1, S, "HOST:PORT  source: where to wait for the destination" },
	{ "connect", 1, D, "HOST:PORT dest: the source to migrate from" },
	{ "mib", 1, S, "N          working set in MiB (default 64)" },
	{ "delay-us", 1, S, "US    source: sleep US before answering each demand request" },
	{ "rate", 1, S, "MIB       source: stream at most MIB MiB/s (default: no limit)" },
	{ "warmup", 1, S, "PCT     source: migrate after PCT % of a sweep past the fill (150)" },
	{ "vcpus", 1, S, "N        vCPUs, each verifying its own part (default: one per online CPU)" },
	{ "every", 1, S, "N        guest: report progress every N page visits (128)" },
	{ "seed", 1, S, "N         seed of the guest's page contents" },
	{ "precopy", 1, S, "N      source: hybrid: up to N precopy rounds with dirty logging, then postcopy (0)" },
	{ "precopy-all", 0, S, "   stop-and-copy: send every page before resuming (baseline)" },
	{ "fault", 1, S | D, "KIND     misbehave mid-migration: source-dies, truncate, bad-gpa, corrupt,\n"
	  "                    net-drop, stall, lose-page (source); dest-dies, dest-dies-early,\n"
	  "                    ack-late, guest-hang (dest)" },
	{ "post-sweeps", 1, D, "N  dest: sweeps the guest must complete before its final check (0)" },
	{ "timeout", 1, S | D, "S      give up on a demand request, or on reconnecting, after S seconds (20)" },
	{ "min-faults", 1, D, "N   dest: fail unless the guest took at least N userfault exits" },
	{ "min-uffd-faults", 1, D, "N dest: fail unless at least N accesses through the mapping waited" },
	{ "no-userfault", 0, D, "  negative control: no KVM_MEM_USERFAULT at the destination" },
	{ "no-uffd", 0, D, "       negative control: no userfaultfd on the destination's mapping" },
	{ "expect-fault", 0, X, "  driver: exit 0 iff the destination failed exactly as it must" },
	{ "help", 0, S | D | X, "" },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))
#define PC_MAX_ROUNDS_OPT	16	/* wire.h's PC_MAX_ROUNDS */

static const char * const fault_names[] = {
	[FAULT_SOURCE_DIES] = "source-dies",
	[FAULT_TRUNCATE] = "truncate",
	[FAULT_BAD_GPA] = "bad-gpa",
	[FAULT_CORRUPT] = "corrupt",
	[FAULT_NET_DROP] = "net-drop",
	[FAULT_STALL] = "stall",
	[FAULT_LOSE_PAGE] = "lose-page",
	[FAULT_DEST_DIES] = "dest-dies",
	[FAULT_DEST_DIES_EARLY] = "dest-dies-early",
	[FAULT_ACK_LATE] = "ack-late",
	[FAULT_GUEST_HANG] = "guest-hang",
};

const char *fault_name(enum fault f)
{
	return f > FAULT_NONE && f < sizeof(fault_names) / sizeof(fault_names[0]) ?
	       fault_names[f] : NULL;
}

static const char *role_name(enum role r)
{
	return r == ROLE_SOURCE ? "source" : r == ROLE_DEST ? "dest" : "postcopy";
}

static bool takes(enum role role, const struct opt *op)
{
	if (role == ROLE_DRIVER)	/* the driver picks the addresses itself */
		return strcmp(op->name, "listen") && strcmp(op->name, "connect");
	return op->roles & (1 << role);
}

static void usage(enum role role, FILE *f)
{
	size_t i;

	if (role == ROLE_DRIVER)
		fprintf(f, "usage: postcopy [options]             (starts both sides over loopback TCP)\n"
			"       postcopy source --listen HOST:PORT [options]\n"
			"       postcopy dest --connect HOST:PORT [options]\n");
	else
		fprintf(f, "usage: postcopy %s [options]\n", role_name(role));
	fprintf(f, "Postcopy live migration of a small x86_64 guest between two VMM processes,\n"
		"with KVM Userfault and userfaultfd on a guest_memfd memslot at the destination.\n");
	for (i = 0; i < NOPTS; i++)
		if (takes(role, &opts[i]) && *opts[i].help)
			fprintf(f, "  --%s %s\n", opts[i].name, opts[i].help);
	fprintf(f, "Exit: 0 ok, 1 the guest found bad pages, 2 internal error, 4 skip (no KVM Userfault),\n"
		"10 source lost, 11 bad page, 12 bad gpa, 13 protocol error, 14 destination lost.\n");
}

static unsigned long number(const char *opt, const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || !*s || *end || v > max) {
		fprintf(stderr, "postcopy: bad value for --%s: %s\n", opt, s);
		exit(EXIT_INTERNAL);
	}
	return v;
}

static void set(struct options *o, const char *name, const char *arg)
{
	size_t i;

	if (!strcmp(name, "mib")) o->mib = number(name, arg, MAX_DATA_MIB);
	else if (!strcmp(name, "delay-us")) o->delay_us = number(name, arg, 10000000);
	else if (!strcmp(name, "rate")) o->rate_mib = number(name, arg, 1000000);
	else if (!strcmp(name, "warmup")) o->warmup_pct = number(name, arg, 100000);
	else if (!strcmp(name, "vcpus")) o->vcpus = number(name, arg, MAX_VCPUS);
	else if (!strcmp(name, "every")) o->every = number(name, arg, 1U << 30);
	else if (!strcmp(name, "seed")) o->seed = number(name, arg, ULONG_MAX);
	else if (!strcmp(name, "post-sweeps")) o->post_sweeps = number(name, arg, 1000);
	else if (!strcmp(name, "timeout")) o->demand_timeout_s = number(name, arg, 3600);
	else if (!strcmp(name, "min-faults")) o->min_faults = number(name, arg, 1U << 30);
	else if (!strcmp(name, "min-uffd-faults")) o->min_uffd_faults = number(name, arg, 1U << 30);
	else if (!strcmp(name, "precopy")) o->precopy_rounds = number(name, arg, PC_MAX_ROUNDS_OPT);
	else if (!strcmp(name, "precopy-all")) o->precopy_all = true;
	else if (!strcmp(name, "no-userfault")) o->no_userfault = true;
	else if (!strcmp(name, "no-uffd")) o->no_uffd = true;
	else if (!strcmp(name, "expect-fault")) o->expect_fault = true;
	else if (!strcmp(name, "listen")) o->listen = arg;
	else if (!strcmp(name, "connect")) o->connect = arg;
	else if (!strcmp(name, "fault")) {
		o->fault = FAULT_NONE;
		for (i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
			if (fault_names[i] && !strcmp(arg, fault_names[i]))
				o->fault = i;
		if (o->fault == FAULT_NONE) {
			fprintf(stderr, "postcopy: unknown fault '%s'\n", arg);
			exit(EXIT_INTERNAL);
		}
	}
}

void options_parse(enum role role, int argc, char **argv, struct options *o)
{
	struct option longopts[NOPTS + 1];
	int c, idx;
	size_t i;

	*o = (struct options){
		.role = role, .mib = 64, .warmup_pct = 150, .every = 128,
		.demand_timeout_s = 20, .seed = 0x243f6a8885a308d3ULL,
	};
	memset(longopts, 0, sizeof(longopts));
	for (i = 0; i < NOPTS; i++) {
		longopts[i].name = opts[i].name;
		longopts[i].has_arg = opts[i].has_arg ? required_argument : no_argument;
		longopts[i].val = 0x100 + i;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		const struct opt *op;

		if (c < 0x100) {
			usage(role, stderr);
			exit(EXIT_INTERNAL);
		}
		op = &opts[c - 0x100];
		if (!strcmp(op->name, "help")) {
			usage(role, stdout);
			exit(0);
		}
		if (!takes(role, op)) {
			fprintf(stderr, "postcopy %s: --%s is not an option of this side\n",
				role_name(role), op->name);
			exit(EXIT_INTERNAL);
		}
		o->given[c - 0x100] = op->has_arg ? optarg : "";
		set(o, op->name, optarg);
	}
	if (optind < argc || !o->mib || !o->every || !o->demand_timeout_s ||
	    (role == ROLE_SOURCE && !o->listen) || (role == ROLE_DEST && !o->connect) ||
	    (o->precopy_rounds && o->precopy_all) ||
	    (o->expect_fault && o->fault == FAULT_NONE && !o->no_userfault && !o->no_uffd)) {
		usage(role, stderr);
		exit(EXIT_INTERNAL);
	}
}

int options_child_argv(const struct options *o, enum role role, const char *addr,
		       char **args, int max)
{
	static char self[] = "postcopy";
	int n = 0;
	size_t i;

	if (max < 5)
		return -1;
	args[n++] = self;
	args[n++] = (char *)role_name(role);
	args[n++] = role == ROLE_SOURCE ? "--listen" : "--connect";
	args[n++] = (char *)addr;
	for (i = 0; i < NOPTS; i++) {
		if (!o->given[i] || !(opts[i].roles & (1 << role)) ||
		    !strcmp(opts[i].name, "listen") || !strcmp(opts[i].name, "connect"))
			continue;
		if (n + 3 > max)
			return -1;
		if (asprintf(&args[n++], "--%s", opts[i].name) < 0)
			return -1;
		if (opts[i].has_arg)
			args[n++] = (char *)o->given[i];
	}
	args[n] = NULL;
	return n;
}
