// SPDX-License-Identifier: GPL-2.0
/*
 * postcopy.c: the driver.  Checks that the kernel has what the migration
 * needs (else exit 4, "skip"), connects two processes - the source and the
 * destination - with two UNIX socket pairs, forks them, relays the
 * destination's messages and judges the outcome.
 *
 * With --fault=KIND the source misbehaves mid-migration; add --expect-fault
 * and the driver exits 0 exactly when the destination failed the way it
 * must: the exit code for KIND and its "dest: error: TAG:" line.
 * --no-userfault is the negative control: the destination runs the guest
 * without KVM_MEM_USERFAULT, so the guest reads pages before they arrive and
 * its verification must fail ("dest: error: guest:", exit 1); with
 * --expect-fault that failure is the pass condition.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kvm.h"
#include "layout.h"
#include "vmm.h"

static const struct {
	const char *name;
	enum fault fault;
	int exit_code;		/* what the destination must exit with */
	const char *line;	/* and the error line it must print */
} faults[] = {
	{ "source-dies", FAULT_SOURCE_DIES, EXIT_SOURCE_LOST, "dest: error: source-lost: " },
	{ "truncate", FAULT_TRUNCATE, EXIT_BAD_PAGE, "dest: error: bad-page: " },
	{ "bad-gpa", FAULT_BAD_GPA, EXIT_BAD_GPA, "dest: error: bad-gpa: " },
};
#define NFAULTS (sizeof(faults) / sizeof(faults[0]))

void vsay(const char *who, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = snprintf(line, sizeof(line), "%s: ", who);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: the processes share the terminal. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void say(const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(who, fmt, ap);
	va_end(ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: postcopy [options]\n"
		"Postcopy live migration of a small x86_64 guest between two processes,\n"
		"with KVM Userfault on a guest_memfd memslot at the destination.\n"
		"  --mib N           working set in MiB (default 64, at most %llu)\n"
		"  --delay-us US     source: sleep US before answering each demand request\n"
		"  --rate MIB        source: stream at most MIB MiB/s (default: no limit)\n"
		"  --warmup PCT      source: migrate after PCT %% of a sweep past the fill (default 150)\n"
		"  --post-sweeps N   dest: sweeps the guest must complete on the destination before\n"
		"                    its final check (default 0: as soon as every page is in)\n"
		"  --every N         guest: report progress every N page visits (default 128)\n"
		"  --timeout S       dest: give up on a demand request after S seconds (default 20)\n"
		"  --min-faults N    dest: fail unless the guest took at least N userfault exits\n"
		"                    (for tests: proves the demand path ran)\n"
		"  --seed N          seed of the guest's page contents\n"
		"  --precopy-all     stop-and-copy: send every page before resuming (baseline)\n"
		"  --no-userfault    negative control: no KVM_MEM_USERFAULT at the destination\n"
		"  --fault KIND      source: misbehave mid-migration: source-dies, truncate, bad-gpa\n"
		"  --expect-fault    with --fault or --no-userfault: exit 0 iff the destination\n"
		"                    failed exactly as it must (exit code and error line)\n"
		"Exit: 0 ok, 1 the guest found bad pages, 2 internal error, 4 skip (no KVM Userfault),\n"
		"10 source lost, 11 bad page, 12 bad gpa, 13 protocol error, 14 destination lost.\n",
		(unsigned long long)MAX_DATA_MIB);
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

static void parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "delay-us", required_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "post-sweeps", required_argument, NULL, 'p' },
		{ "every", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ "min-faults", required_argument, NULL, 'F' },
		{ "seed", required_argument, NULL, 's' },
		{ "precopy-all", no_argument, NULL, 'P' },
		{ "no-userfault", no_argument, NULL, 'N' },
		{ "fault", required_argument, NULL, 'f' },
		{ "expect-fault", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	size_t i;
	int c;

	*o = (struct options){
		.mib = 64, .warmup_pct = 150, .every = 128, .demand_timeout_s = 20,
		.seed = 0x243f6a8885a308d3ULL,
	};
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->mib = number("mib", optarg, MAX_DATA_MIB); break;
		case 'd': o->delay_us = number("delay-us", optarg, 10000000); break;
		case 'r': o->rate_mib = number("rate", optarg, 1000000); break;
		case 'w': o->warmup_pct = number("warmup", optarg, 100000); break;
		case 'p': o->post_sweeps = number("post-sweeps", optarg, 1000); break;
		case 'e': o->every = number("every", optarg, 1U << 30); break;
		case 't': o->demand_timeout_s = number("timeout", optarg, 3600); break;
		case 'F': o->min_faults = number("min-faults", optarg, 1U << 30); break;
		case 's': o->seed = number("seed", optarg, ULONG_MAX); break;
		case 'f':
			for (i = 0; i < NFAULTS; i++)
				if (!strcmp(optarg, faults[i].name))
					o->fault = faults[i].fault;
			if (o->fault == FAULT_NONE) {
				fprintf(stderr, "postcopy: unknown fault '%s'\n", optarg);
				exit(EXIT_INTERNAL);
			}
			break;
		case 'P': o->precopy_all = true; break;
		case 'N': o->no_userfault = true; break;
		case 'x': o->expect_fault = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(EXIT_INTERNAL);
		}
	}
	if (optind < argc || !o->mib || !o->every || !o->demand_timeout_s ||
	    (o->expect_fault && o->fault == FAULT_NONE && !o->no_userfault)) {
		usage(stderr);
		exit(EXIT_INTERNAL);
	}
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static const char *describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	return buf;
}

/*
 * Copy the destination's stderr to ours line by line, noting whether the
 * expected error line went by.
 */
static bool relay(int fd, const char *want)
{
	char buf[4096];
	size_t len = 0;
	bool seen = false;

	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *start = buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		while ((nl = memchr(start, '\n', len - (start - buf)))) {
			*nl = 0;
			if (want && !strncmp(start, want, strlen(want)))
				seen = true;
			say("dest", "%s", !strncmp(start, "dest: ", 6) ? start + 6 : start);
			start = nl + 1;
		}
		len -= start - buf;
		memmove(buf, start, len);
		if (len == sizeof(buf) - 1) {	/* an overlong line: pass it on */
			buf[len] = 0;
			say("dest", "%s", buf);
			len = 0;
		}
	}
	if (len) {
		buf[len] = 0;
		say("dest", "%s", buf);
	}
	return seen;
}

int main(int argc, char **argv)
{
	struct options o;
	int main_sp[2], urgent_sp[2], err_pipe[2];
	int src_status = 0, dst_status = 0, first_bad = 0, status, r;
	const char *want = NULL, *fault_name = NULL;
	int want_code = 0;
	pid_t src, dst, pid;
	char why[256], a[64], b[64];
	bool seen;
	size_t i;

	parse(argc, argv, &o);
	for (i = 0; i < NFAULTS; i++) {
		if (o.fault == faults[i].fault) {
			want = faults[i].line;
			want_code = faults[i].exit_code;
			fault_name = faults[i].name;
		}
	}
	if (o.no_userfault && !fault_name) {
		want = "dest: error: guest: ";
		want_code = EXIT_GUEST;
	}

	r = kvm_probe(!o.no_userfault, why, sizeof(why));
	if (r) {
		say("postcopy", "%s: %s", r == EXIT_SKIP ? "SKIP" : "error", why);
		return r;
	}
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, main_sp) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, urgent_sp) ||
	    pipe2(err_pipe, O_CLOEXEC)) {
		say("postcopy", "socketpair/pipe: %s", strerror(errno));
		return EXIT_INTERNAL;
	}
	say("postcopy", "migrating a %u MiB working set (%s%s); demand delay %u us%s%s", o.mib,
	    o.precopy_all ? "stop-and-copy" : "postcopy",
	    o.no_userfault ? ", WITHOUT KVM Userfault" : "", o.delay_us,
	    fault_name ? "; fault to inject: " : "", fault_name ? fault_name : "");
	fflush(stdout);

	dst = fork();
	if (dst == 0) {
		close(main_sp[0]);
		close(urgent_sp[0]);
		close(err_pipe[0]);
		dup2(err_pipe[1], STDERR_FILENO);
		exit(dest_main(&o, main_sp[1], urgent_sp[1]));
	}
	src = fork();
	if (src == 0) {
		close(main_sp[1]);
		close(urgent_sp[1]);
		close(err_pipe[0]);
		close(err_pipe[1]);
		exit(source_main(&o, main_sp[0], urgent_sp[0]));
	}
	if (dst < 0 || src < 0) {
		say("postcopy", "fork: %s", strerror(errno));
		return EXIT_INTERNAL;
	}
	close(main_sp[0]);
	close(main_sp[1]);
	close(urgent_sp[0]);
	close(urgent_sp[1]);
	close(err_pipe[1]);

	seen = relay(err_pipe[0], want);

	/* Whichever side failed first is the one to blame. */
	for (i = 0; i < 2; i++) {
		pid = wait(&status);
		if (pid < 0)
			break;
		if (pid == src)
			src_status = status;
		else if (pid == dst)
			dst_status = status;
		if (!first_bad && exit_code(status))
			first_bad = exit_code(status);
	}

	if (o.expect_fault) {
		if (exit_code(dst_status) == want_code && seen) {
			say("postcopy", "PASS: the destination failed as it must (exit %d, \"%s...\")",
			    want_code, want);
			return EXIT_OK;
		}
		say("postcopy", "FAIL: expected the destination to exit %d with \"%s...\"; "
		    "it %s%s (source %s)", want_code, want, describe(dst_status, a, sizeof(a)),
		    seen ? "" : " and never printed that line", describe(src_status, b, sizeof(b)));
		return exit_code(dst_status) ? exit_code(dst_status) : EXIT_INTERNAL;
	}
	if (!first_bad) {
		say("postcopy", "migration complete, guest verified its memory");
		return EXIT_OK;
	}
	say("postcopy", "FAILED: source %s, destination %s", describe(src_status, a, sizeof(a)),
	    describe(dst_status, b, sizeof(b)));
	return first_bad;
}
