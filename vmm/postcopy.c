// SPDX-License-Identifier: GPL-2.0
/*
 * postcopy.c: the program's entry, and the driver.
 *
 *   postcopy source --listen HOST:PORT [options]   the source VMM (source.c)
 *   postcopy dest --connect HOST:PORT [options]    the destination VMM (dest.c)
 *   postcopy [options]                             the driver: both, over loopback TCP
 *
 * The driver checks that the kernel has what the migration needs (else exit
 * 4, "skip"), starts the source on 127.0.0.1 port 0 (the kernel picks a free
 * port; the source prints it), then the destination connecting there, each
 * a fresh exec of this binary with its share of the options.  It relays
 * their stderr and judges the outcome from their exit codes.
 *
 * With --fault=KIND the source misbehaves mid-migration; add --expect-fault
 * and the driver exits 0 exactly when the destination failed the way it
 * must: the exit code for KIND and its "dest: error: TAG:" line.
 * --no-userfault and --no-uffd are the negative controls: the destination
 * leaves out KVM_MEM_USERFAULT, or the userfaultfd registration, so that
 * the guest, KVM or the VMM reads pages before they arrive and the guest's
 * checks must fail ("dest: error: guest:", exit 1); with --expect-fault
 * that failure is the pass condition.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kvm.h"
#include "log.h"
#include "uffd.h"
#include "vmm.h"

/*
 * What each injected fault must lead to, with --expect-fault: the side
 * that must notice, its exit code, and a line it must print.  The
 * recoverable ones must end in a migration that succeeds (exit 0 on both
 * sides) after the recovery was seen.
 */
static const struct {
	enum fault fault;
	enum role side;		/* whose exit code and line are judged */
	int exit_code;
	const char *line;
} faults[] = {
	{ FAULT_SOURCE_DIES, ROLE_DEST, EXIT_SOURCE_LOST, "dest: error: source-lost: " },
	{ FAULT_TRUNCATE, ROLE_DEST, EXIT_OK, "dest: postcopy resumed" },
	{ FAULT_BAD_GPA, ROLE_DEST, EXIT_BAD_GPA, "dest: error: bad-gpa: " },
	{ FAULT_CORRUPT, ROLE_DEST, EXIT_OK, "dest: the page for gpa " },
	{ FAULT_NET_DROP, ROLE_DEST, EXIT_OK, "dest: postcopy resumed" },
	{ FAULT_STALL, ROLE_DEST, EXIT_TIMEOUT, "dest: error: demand-timeout: " },
	{ FAULT_LOSE_PAGE, ROLE_DEST, EXIT_PAGE_LOST, "dest: error: page-lost: " },
	{ FAULT_DEST_DIES, ROLE_SOURCE, EXIT_DEST_LOST,
	  "source: error: dest-lost: the destination went away after it took over the guest" },
	{ FAULT_DEST_DIES_EARLY, ROLE_SOURCE, EXIT_DEST_LOST,
	  "source: the guest resumed here and verified its memory" },
	{ FAULT_ACK_LATE, ROLE_DEST, EXIT_SOURCE_LOST,
	  "dest: the source did not hand the guest over (no GO)" },
	{ FAULT_GUEST_HANG, ROLE_DEST, EXIT_GUEST, "dest: error: guest: the guest stopped reporting: " },
};
#define NFAULTS (sizeof(faults) / sizeof(faults[0]))

#define LISTENING	"source: listening on "

/* One child's stderr, passed on line by line. */
struct relay {
	int fd;
	char buf[4096];
	size_t len;
	const char *want;	/* a line prefix to look out for */
	bool seen;
	char addr[64];		/* the source's "listening on" address */
};

static void pass_line(struct relay *r, char *line)
{
	size_t n = strlen(line);

	if (r->want && !strncmp(line, r->want, strlen(r->want)))
		r->seen = true;
	if (!strncmp(line, LISTENING, strlen(LISTENING)) && !r->addr[0])
		snprintf(r->addr, sizeof(r->addr), "%s", line + strlen(LISTENING));
	line[n] = '\n';		/* one write per line, as log.c does */
	if (write(STDERR_FILENO, line, n + 1) < 0)
		return;
}

/* Read what is there; false at EOF (the rest of the buffer is passed on). */
static bool relay_read(struct relay *r)
{
	ssize_t n = read(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
	char *start = r->buf, *nl;

	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0) {
		if (r->len) {
			r->buf[r->len] = 0;
			pass_line(r, r->buf);
			r->len = 0;
		}
		return false;
	}
	r->len += n;
	while ((nl = memchr(start, '\n', r->len - (start - r->buf)))) {
		*nl = 0;
		pass_line(r, start);
		start = nl + 1;
	}
	r->len -= start - r->buf;
	memmove(r->buf, start, r->len);
	if (r->len == sizeof(r->buf) - 1) {	/* an overlong line: pass it on */
		r->buf[r->len] = 0;
		pass_line(r, r->buf);
		r->len = 0;
	}
	return true;
}

static pid_t spawn(const struct options *o, enum role role, const char *addr, int *err_fd)
{
	char *args[64];
	int p[2];
	pid_t pid;

	if (options_child_argv(o, role, addr, args, 64) < 0 || pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		execv("/proc/self/exe", args);
		say("postcopy", "exec /proc/self/exe: %s", strerror(errno));
		_exit(EXIT_INTERNAL);
	}
	close(p[1]);
	*err_fd = p[0];
	return pid;
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

static int driver(const struct options *o)
{
	struct relay src_r = { .fd = -1 }, dst_r = { .fd = -1 };
	int src_status = 0, dst_status = 0, first_bad = 0, status, want_code = 0, r;
	enum role want_side = ROLE_DEST;
	struct relay *judged;
	bool src_open, dst_open;
	const char *want = NULL;
	pid_t src, dst = -1, pid;
	char why[256], a[64], b[64], c[64], mode[64];
	size_t i;

	for (i = 0; i < NFAULTS; i++) {
		if (o->fault == faults[i].fault) {
			want = faults[i].line;
			want_code = faults[i].exit_code;
			want_side = faults[i].side;
		}
	}
	if ((o->no_userfault || o->no_uffd) && !want) {
		want = "dest: error: guest: ";
		want_code = EXIT_GUEST;
	}

	r = kvm_probe(!o->no_userfault, why, sizeof(why));
	if (!r && !o->no_uffd)
		r = uffd_probe(why, sizeof(why));
	if (r) {
		say("postcopy", "%s: %s", r == EXIT_SKIP ? "SKIP" : "error", why);
		return r;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(mode, sizeof(mode), o->precopy_all ? "stop-and-copy" :
		 o->precopy_rounds ? "hybrid: up to %u precopy rounds, then postcopy" : "postcopy",
		 o->precopy_rounds);
	say("postcopy", "migrating a %u MiB working set over loopback TCP (%s%s%s); demand delay %u us%s%s",
	    o->mib, mode,
	    o->no_userfault ? ", WITHOUT KVM Userfault" : "",
	    o->no_uffd ? ", WITHOUT userfaultfd" : "", o->delay_us,
	    fault_name(o->fault) ? "; fault to inject: " : "",
	    fault_name(o->fault) ? fault_name(o->fault) : "");

	judged = want_side == ROLE_SOURCE ? &src_r : &dst_r;
	judged->want = want;
	src = spawn(o, ROLE_SOURCE, "127.0.0.1:0", &src_r.fd);
	if (src < 0) {
		say("postcopy", "cannot start the source: %s", strerror(errno));
		return EXIT_INTERNAL;
	}
	/* Until the source says where it listens, relay it alone. */
	src_open = true;
	while (src_open && !src_r.addr[0])
		src_open = relay_read(&src_r);
	if (src_r.addr[0]) {
		dst = spawn(o, ROLE_DEST, src_r.addr, &dst_r.fd);
		if (dst < 0)
			say("postcopy", "cannot start the destination: %s", strerror(errno));
	}
	dst_open = dst > 0;
	while (src_open || dst_open) {
		struct pollfd p[2] = {
			{ .fd = src_open ? src_r.fd : -1, .events = POLLIN },
			{ .fd = dst_open ? dst_r.fd : -1, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			src_open = relay_read(&src_r);
		if (p[1].revents)
			dst_open = relay_read(&dst_r);
	}

	/* Whichever side failed first is the one to blame. */
	while ((pid = wait(&status)) > 0) {
		if (pid == src)
			src_status = status;
		else if (pid == dst)
			dst_status = status;
		if (!first_bad && exit_code(status))
			first_bad = exit_code(status);
	}
	if (dst < 0) {
		say("postcopy", "FAILED: the source never listened (%s)",
		    describe(src_status, a, sizeof(a)));
		return exit_code(src_status) ? exit_code(src_status) : EXIT_INTERNAL;
	}

	if (o->expect_fault) {
		int st = want_side == ROLE_SOURCE ? src_status : dst_status;
		const char *side = want_side == ROLE_SOURCE ? "source" : "destination";
		bool ok = exit_code(st) == want_code && judged->seen;

		/* A recovery must also leave the other side content. */
		if (!want_code)
			ok = ok && !exit_code(src_status) && !exit_code(dst_status);
		if (ok) {
			if (want_code)
				say("postcopy", "PASS: the %s failed as it must (exit %d, \"%s...\")",
				    side, want_code, want);
			else
				say("postcopy", "PASS: the migration recovered (\"%s...\") and completed",
				    want);
			return EXIT_OK;
		}
		say("postcopy", "FAIL: expected the %s to exit %d with \"%s...\"; it %s%s "
		    "(source %s, destination %s)", side, want_code, want,
		    describe(st, c, sizeof(c)), judged->seen ? "" : " and never printed that line",
		    describe(src_status, a, sizeof(a)), describe(dst_status, b, sizeof(b)));
		return exit_code(st) ? exit_code(st) : EXIT_INTERNAL;
	}
	if (!first_bad) {
		say("postcopy", "migration complete, guest verified its memory");
		return EXIT_OK;
	}
	say("postcopy", "FAILED: source %s, destination %s", describe(src_status, a, sizeof(a)),
	    describe(dst_status, b, sizeof(b)));
	return first_bad;
}

int main(int argc, char **argv)
{
	struct options o;

	if (argc > 1 && !strcmp(argv[1], "source")) {
		options_parse(ROLE_SOURCE, argc - 1, argv + 1, &o);
		return source_main(&o);
	}
	if (argc > 1 && !strcmp(argv[1], "dest")) {
		options_parse(ROLE_DEST, argc - 1, argv + 1, &o);
		return dest_main(&o);
	}
	options_parse(ROLE_DRIVER, argc, argv, &o);
	return driver(&o);
}
