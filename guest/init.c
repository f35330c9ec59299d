// SPDX-License-Identifier: GPL-2.0
/*
 * init: the guest's PID 1.  Runs a plan of tests, one per line, each with a
 * timeout, and reports TAP on the console; then checks the kernel log for
 * splats (WARNING, BUG, lockdep, KASAN, UBSAN, ...) and reboots, which QEMU
 * (-no-reboot) turns into an exit.
 *
 * Plan line:  TIMEOUT_SECONDS COMMAND [ARGS...]   ('#': comment)
 * Every test runs once: a failure is reported, never retried.
 * "TIMEOUT_SECONDS kunit SUITE" runs nothing: the kernel's built-in KUnit
 * suites ran at boot, before init, and left KTAP in the kernel log; each case
 * of SUITE is reported as a test ("kunit SUITE: CASE"), and a suite that is
 * not in the log, or did not finish, fails.
 * The plan is /plan unless the kernel command line says plan=PATH;
 * timeout_scale=N multiplies every timeout (slow debug kernels).
 * Unless the command line says idle_vm=0, init holds one empty KVM VM for the
 * whole plan (see hold_idle_vm()).
 * A test passes on exit 0, is skipped on exit 4 (KSFT_SKIP), fails otherwise.
 * Test output is echoed as TAP comments ("# ...").
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/kvm.h>

#define KSFT_SKIP	4
#define MAX_ARGS	64
#define MAX_TESTS	256
#define MAX_KUNIT_CASES	256

/*
 * Kernel log lines echoed for the record: KVM's (which MMU, which arm64 mode)
 * and those of the debug kernel's checkers announcing themselves.
 */
static const char * const echo_markers[] = {
	"kvm", "KernelAddressSanitizer", "kfence: initialized", "Lock dependency validator",
};

/* Kernel log markers that fail a run even when every test passed. */
static const char * const splat_markers[] = {
	"WARNING:", "BUG:", "Oops", "KASAN:", "UBSAN:", "KFENCE:",
	"kernel BUG", "Kernel panic", "INFO: task", "general protection fault",
	"DEBUG_LOCKS_WARN_ON", "list_add corruption", "list_del corruption",
};

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static void setup_console(void)
{
	int fd = open("/dev/console", O_RDWR);

	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static void mount_filesystems(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	mkdir("/dev/shm", 01777);
	mount("tmpfs", "/dev/shm", "tmpfs", 0, NULL);
}

/*
 * Bring up the loopback interface: the postcopy VMM's source and
 * destination talk TCP over 127.0.0.1.  A kernel without networking has no
 * "lo"; then there is nothing to do and the tests that need it fail.
 */
static void loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			say("# init: cannot bring up lo: %s\n", strerror(errno));
	}
	close(fd);
}

/* Value of KEY=... on the kernel command line (a copy), or NULL. */
static char *cmdline_value(const char *key)
{
	static char buf[4096];
	size_t klen = strlen(key);
	char *tok, *save, *val = NULL;
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f)
		return NULL;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	/* The last one wins, as for the kernel's own parameters. */
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strncmp(tok, key, klen) && tok[klen] == '=')
			val = tok + klen + 1;
	return val ? strdup(val) : NULL;
}

/*
 * Create one VM with no vCPUs and keep it until init reboots, so that the
 * kernel's count of live VMs never drops to zero between tests.  Each 0 <-> 1
 * change of that count patches kernel text: KVM toggles the static key that
 * gates the scheduler's preempt notifiers (preempt_notifier_inc() and _dec()).
 * Under QEMU 7.2's multi-threaded TCG, the other CPU can keep running the
 * branch as it was before such a patch, skip the notifiers of a vCPU thread
 * it switches to, and enter a guest with another vCPU's state or none
 * (README.md, "Known flakes", "kernel text run as it was before a static-key
 * patch").  A host that runs VMs keeps the key enabled the same way;
 * idle_vm=0 on the kernel command line turns this off, to reproduce the
 * defect.  KVM makes the VM's fd close-on-exec: the tests don't inherit it.
 */
static void hold_idle_vm(void)
{
	const char *arg = cmdline_value("idle_vm");
	int kvm, vm;

	if (arg && !strcmp(arg, "0")) {
		say("# init: idle_vm=0: no idle VM held\n");
		return;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		say("# init: no idle VM: /dev/kvm: %s\n", strerror(errno));
		return;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		say("# init: no idle VM: KVM_CREATE_VM: %s\n", strerror(errno));
	else
		say("# init: holding an idle VM for the whole plan (idle_vm=0: none)\n");
	/* The VM holds its own reference to KVM: the /dev/kvm fd can go. */
	close(kvm);
}

/*
 * keep_cpu0=1 on the command line: run every test on the other CPUs, so that
 * no vCPU of a test enters a guest from CPU 0.  QEMU 7.2's TCG clears a bit
 * of the first CPU's hflags2 from whichever vCPU thread restores an x87
 * state (cpu_clear_ignne(): an unlocked read-modify-write of another
 * thread's state), so under multi-threaded TCG it can write back CPU 0's
 * SVM bits as they were before its last VMRUN or #VMEXIT: interrupts
 * delivered with IF clear, nested paging turned off or on under the CPU's
 * feet (README.md, "Known flakes").  Without VMRUN on CPU 0 those bits
 * never change, and the stale write-back changes nothing.  A test may still
 * move a thread to CPU 0 itself (sched_setaffinity()).
 */
static void keep_cpu0(void)
{
	const char *arg = cmdline_value("keep_cpu0");
	long i, n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (!arg || strcmp(arg, "1"))
		return;
	if (n < 3) {
		say("# init: keep_cpu0=1 needs 3 CPUs, not %ld: tests may run on CPU 0\n", n);
		return;
	}
	CPU_ZERO(&set);
	for (i = 1; i < n; i++)
		CPU_SET(i, &set);
	/* init's children inherit its affinity. */
	if (sched_setaffinity(0, sizeof(set), &set))
		say("# init: keep_cpu0: %s\n", strerror(errno));
	else
		say("# init: tests run on CPUs 1-%ld, CPU 0 is kept free of vCPUs\n", n - 1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Echo the child's output line by line as TAP comments. */
static void echo_lines(char *buf, size_t *len, int flush)
{
	char *start = buf, *nl;

	while ((nl = memchr(start, '\n', *len - (start - buf)))) {
		*nl = '\0';
		say("# %s\n", start);
		start = nl + 1;
	}
	*len -= start - buf;
	memmove(buf, start, *len);
	if (flush && *len) {
		buf[*len] = '\0';
		say("# %s\n", buf);
		*len = 0;
	}
}

enum result { PASS, FAIL, SKIP, TIMEOUT, STUCK };

/* How long a killed test may take to die before init calls it stuck. */
#define KILL_GRACE_S	30

/* The first line of a /proc file, without its newline, or "?". */
static void read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, size, f))
		snprintf(buf, size, "?");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* The session of process PID (from /proc/PID/stat), or -1. */
static pid_t session_of(const char *pid)
{
	char path[300], buf[512], *p;
	int session;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	read_line(path, buf, sizeof(buf));
	/* "pid (comm) state ppid pgrp session ...": comm may hold spaces. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %d", &session) != 1)
		return -1;
	return session;
}

/*
 * Every thread of process PID: its state, the system call it is in (number
 * and arguments; an ioctl's request is the second), where it sleeps, and its
 * kernel stack if the kernel can show one (CONFIG_STACKTRACE).
 */
static void describe_threads(const char *pid)
{
	char path[600], stat[512], sys[256], wchan[128], line[256];
	struct dirent *t;
	DIR *tasks;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	tasks = opendir(path);
	if (!tasks)
		return;
	while ((t = readdir(tasks))) {
		if (t->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%s/stat", pid, t->d_name);
		read_line(path, stat, sizeof(stat));
		snprintf(path, sizeof(path), "/proc/%s/task/%s/syscall", pid, t->d_name);
		read_line(path, sys, sizeof(sys));
		snprintf(path, sizeof(path), "/proc/%s/task/%s/wchan", pid, t->d_name);
		read_line(path, wchan, sizeof(wchan));
		/* stat: "tid (comm) state ..." */
		say("# stuck: %.*s, syscall %s, wchan %s\n",
		    (int)(strcspn(stat, ")") + 3), stat, sys, wchan);
		snprintf(path, sizeof(path), "/proc/%s/task/%s/stack", pid, t->d_name);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			say("#   %s", line);
		if (f)
			fclose(f);
	}
	closedir(tasks);
}

/*
 * A test that outlives SIGKILL is stuck in the kernel (a task that sleeps
 * uninterruptibly, e.g. on a lock that is never released): say where each
 * of its threads is, so that the hang can be read from the console log.
 */
static void describe_stuck(pid_t sid)
{
	struct dirent *d;
	DIR *proc = opendir("/proc");

	while (proc && (d = readdir(proc)))
		if (d->d_name[0] >= '1' && d->d_name[0] <= '9' &&
		    session_of(d->d_name) == sid)
			describe_threads(d->d_name);
	if (proc)
		closedir(proc);
}

/* Reap PID within SECONDS; 0 if it is still there. */
static int reap_within(pid_t pid, double seconds, int *status)
{
	double deadline = now() + seconds;

	do {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		usleep(10 * 1000);
	} while (now() < deadline);
	return 0;
}

/*
 * Reap every child of init (what a test forked is init's once the test is
 * gone), keeping the exit status of PID, within SECONDS; 0 if one is still
 * there.
 */
static int reap_all_within(double seconds, pid_t pid, int *status)
{
	double deadline = now() + seconds;
	int st;
	pid_t r;

	for (;;) {
		r = waitpid(-1, &st, WNOHANG);
		if (r < 0)		/* ECHILD: none left */
			return 1;
		if (r == pid)
			*status = st;
		if (r > 0)
			continue;
		if (now() >= deadline)
			return 0;
		usleep(10 * 1000);
	}
}

static enum result run_test(char **argv, int timeout_s, int *status_out)
{
	char buf[8192];
	size_t len = 0;
	double deadline = now() + timeout_s;
	int pipefd[2], status = 0, timed_out = 0;
	pid_t pid;

	if (pipe(pipefd))
		return FAIL;
	pid = fork();
	if (pid < 0)
		return FAIL;
	if (!pid) {
		setsid();
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);

	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		double left = deadline - now();
		ssize_t n;

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		echo_lines(buf, &len, len == sizeof(buf) - 1);
	}
	echo_lines(buf, &len, 1);
	close(pipefd[0]);
	/*
	 * Its output closed: the test is exiting, but it may still hang on its
	 * way out (tearing down its VMs), so its timeout still holds.
	 */
	if (!timed_out && !reap_within(pid, deadline - now(), &status))
		timed_out = 1;
	if (timed_out)
		say("# init: timeout after %ds: killing the test\n", timeout_s);
	/*
	 * The test goes, and what it forked and left behind too (e.g. the
	 * postcopy VMM's source and destination), before the next test.
	 */
	kill(-pid, SIGKILL);
	if (!reap_all_within(KILL_GRACE_S, pid, &status)) {
		say("# init: a process of the test is still there %ds after SIGKILL\n",
		    KILL_GRACE_S);
		describe_stuck(pid);
		return STUCK;
	}

	*status_out = status;
	if (timed_out)
		return TIMEOUT;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return PASS;
	if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_SKIP)
		return SKIP;
	return FAIL;
}

/* A case of a KUnit suite, from its KTAP result line. */
struct kunit_case {
	char *name;
	enum result result;
	char *directive;	/* "SKIP reason", or NULL */
};

struct test {
	int timeout;
	char *line;		/* the command line as written, for the TAP name */
	char *argv[MAX_ARGS];
	/* A "kunit SUITE" line: the suite's cases, and its KTAP if one failed. */
	struct kunit_case *cases;
	int ncases;
	const char *problem;	/* with the suite as a whole */
	double seconds;		/* its run time at boot, from printk.time stamps, or -1 */
	char *ktap;
};

static int read_plan(const char *path, struct test *tests)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		say("Bail out! cannot open plan %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (n < MAX_TESTS && fgets(line, sizeof(line), f)) {
		struct test *t = &tests[n];
		char *p = line, *tok, *save;
		int argc = 0;

		line[strcspn(line, "#\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		t->timeout = strtol(p, &p, 10);
		if (*p != ' ' && *p != '\t')	/* e.g. an old "120x2" */
			t->timeout = 0;		/* a bad line, below */
		while (*p == ' ' || *p == '\t')
			p++;
		if (t->timeout <= 0 || !*p) {
			say("Bail out! bad plan line: %s\n", line);
			fclose(f);
			return -1;
		}
		t->line = strdup(p);
		for (tok = strtok_r(p, " \t", &save); tok && argc < MAX_ARGS - 1;
		     tok = strtok_r(NULL, " \t", &save))
			t->argv[argc++] = strdup(tok);
		t->argv[argc] = NULL;
		n++;
	}
	fclose(f);
	return n;
}

/* The whole kernel log, NUL-terminated, to be freed; NULL if it can't be read. */
static char *read_kernel_log(void)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), n;
	char *log;

	if (size <= 0)
		return NULL;
	log = malloc(size + 1);
	if (!log)
		return NULL;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, size);
	log[n > 0 ? n : 0] = '\0';
	return log;
}

/*
 * A kernel log line's text, after its "<level>" and "[timestamp] "; *ts is
 * the timestamp in seconds (booted with printk.time=1), or -1.
 */
static char *klog_text(char *line, double *ts)
{
	char *end;

	*ts = -1;
	if (*line == '<' && (end = strchr(line, '>')))
		line = end + 1;
	if (*line == '[')
		*ts = strtod(line + 1, NULL);
	if (*line == '[' && (end = strchr(line, ']')))
		line = end + 1 + (end[1] == ' ');
	return line;
}

/* Parse a KTAP result line, "ok N NAME [# DIRECTIVE]" or "not ok ..."; 0 if it isn't one. */
static int parse_ktap_result(const char *p, struct kunit_case *c)
{
	int not_ok = !strncmp(p, "not ok ", 7);
	char *name, *hash, *end;

	if (!not_ok && strncmp(p, "ok ", 3))
		return 0;
	strtol(p + (not_ok ? 7 : 3), &end, 10);
	while (*end == ' ')
		end++;
	if (end[0] == '-' && end[1] == ' ')
		end += 2;
	name = strdup(end);
	hash = strstr(name, " # ");
	c->directive = NULL;
	if (hash) {
		*hash = '\0';
		c->directive = strdup(hash + 3);
	}
	c->name = name;
	if (not_ok)
		c->result = FAIL;
	else if (c->directive && !strncmp(c->directive, "SKIP", 4))
		c->result = SKIP;
	else
		c->result = PASS;
	return 1;
}

/*
 * Collect the cases of the KUnit suite t->argv[1] from the KTAP that KUnit
 * printed to the kernel log at boot:
 *
 *	    # Subtest: SUITE
 *	    1..N
 *	    ok 1 CASE
 *	    not ok 2 CASE
 *	    ok 3 CASE # SKIP reason
 *	not ok 1 SUITE
 *
 * Deeper lines (a parameterised case's own subtests) are left to the case's
 * summary line.  Other kernel messages may come in between.  Keeps the
 * suite's lines in t->ktap if anything failed, to explain it.
 */
static void kunit_collect(struct test *t)
{
	char *log = read_kernel_log(), *line, *save, hdr[256];
	int indent = -1, planned = -1, finished = 0, suite_failed = 0, failed = 0;
	size_t len = 0, cap = 0;
	double t0 = -1;

	t->seconds = -1;
	t->cases = calloc(MAX_KUNIT_CASES, sizeof(*t->cases));
	if (!log || !t->argv[1]) {
		t->problem = !log ? "cannot read the kernel log" : "no suite named";
		free(log);
		return;
	}
	snprintf(hdr, sizeof(hdr), "# Subtest: %s", t->argv[1]);
	for (line = strtok_r(log, "\n", &save); line && !finished;
	     line = strtok_r(NULL, "\n", &save)) {
		double ts;
		char *text = klog_text(line, &ts), *p = text;
		struct kunit_case c;
		int ind;

		while (*p == ' ')
			p++;
		ind = p - text;
		if (indent < 0) {
			if (!strcmp(p, hdr)) {
				indent = ind;
				t0 = ts;
			}
			continue;
		}
		if (len + strlen(text) + 2 > cap) {
			cap = 2 * cap + strlen(text) + 4096;
			t->ktap = realloc(t->ktap, cap);
			if (!t->ktap)
				break;
		}
		len += sprintf(t->ktap + len, "%s\n", text);
		if (ind < indent) {	/* the suite's own result line ends it */
			if (parse_ktap_result(p, &c)) {
				finished = 1;
				suite_failed = c.result == FAIL;
				if (t0 >= 0 && ts >= 0)
					t->seconds = ts - t0;
			}
		} else if (ind > indent) {
			continue;
		} else if (!strncmp(p, "1..", 3)) {
			planned = atoi(p + 3);
		} else if (t->ncases < MAX_KUNIT_CASES && parse_ktap_result(p, &c)) {
			failed += c.result == FAIL;
			t->cases[t->ncases++] = c;
		}
	}
	free(log);
	if (indent < 0)
		t->problem = "suite not in the kernel log";
	else if (!finished)
		t->problem = "suite did not finish";
	else if (planned != t->ncases)
		t->problem = "suite did not report the cases it planned";
	else if (suite_failed && !failed)
		t->problem = "suite failed";
	if (!failed && !t->problem) {
		free(t->ktap);
		t->ktap = NULL;
	}
}

/* TAP lines a test reports: one, or a "kunit SUITE" line's cases and problem. */
static int tap_lines(const struct test *t)
{
	return t->cases ? t->ncases + !!t->problem : 1;
}

/* Report a "kunit SUITE" line as TAP lines numbered from n; return the failures. */
static int kunit_report(struct test *t, int n)
{
	char *line, *save;
	int i, failed = 0;

	if (t->ktap)
		for (line = strtok_r(t->ktap, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			say("# ktap: %s\n", line);
	for (i = 0; i < t->ncases; i++) {
		struct kunit_case *c = &t->cases[i];

		if (c->result == FAIL)
			say("not ok %d - %s: %s\n", n++, t->line, c->name);
		else if (c->result == SKIP)
			say("ok %d - %s: %s # %s\n", n++, t->line, c->name, c->directive);
		else
			say("ok %d - %s: %s\n", n++, t->line, c->name);
		failed += c->result == FAIL;
	}
	if (t->seconds >= 0)
		say("# --- %.3fs (at boot, kernel time)\n", t->seconds);
	if (t->problem) {
		say("not ok %d - %s # %s\n", n, t->line, t->problem);
		failed++;
	}
	return failed;
}

/* Kernel log lines echoed after a splat's first line: its registers and call trace. */
#define SPLAT_CONTEXT_LINES 48

/*
 * Echo the kernel log lines that carry an echo marker as comments, and every
 * line that carries a splat marker followed by the lines that explain it
 * (the console runs "quiet", so they reach the host only this way); return
 * how many splats there were.
 */
static int scan_kernel_log(void)
{
	char *log = read_kernel_log(), *line, *save;
	int hits = 0, context = 0;
	size_t i;

	if (!log)
		return 0;
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (context > 0) {
			context--;
			say("# splat+ %s\n", line);
		}
		for (i = 0; i < sizeof(echo_markers) / sizeof(echo_markers[0]); i++) {
			if (strstr(line, echo_markers[i])) {
				say("# kernel: %s\n", line);
				break;
			}
		}
		for (i = 0; i < sizeof(splat_markers) / sizeof(splat_markers[0]); i++) {
			if (strstr(line, splat_markers[i])) {
				say("# splat: %s\n", line);
				context = SPLAT_CONTEXT_LINES;
				hits++;
				break;
			}
		}
	}
	free(log);
	return hits;
}

int main(void)
{
	static struct test tests[MAX_TESTS];
	const char *plan, *scale_arg;
	int i, n, tap = 1, failed = 0, scale = 1;

	setup_console();
	mount_filesystems();
	loopback_up();
	setenv("PATH", "/tests:/bin", 1);
	setenv("HOME", "/tmp", 1);
	if (chdir("/tests"))
		chdir("/");

	plan = cmdline_value("plan");
	if (!plan)
		plan = "/plan";
	scale_arg = cmdline_value("timeout_scale");
	if (scale_arg && atoi(scale_arg) > 0)
		scale = atoi(scale_arg);
	n = read_plan(plan, tests);
	for (i = 0; i < n; i++)
		tests[i].timeout *= scale;
	say("TAP version 13\n");
	hold_idle_vm();
	keep_cpu0();
	if (n < 0) {
		failed = 1;
		goto out;
	}
	/* KUnit suites ran before init: their results are known already. */
	for (i = 0; i < n; i++)
		if (!strcmp(tests[i].argv[0], "kunit"))
			kunit_collect(&tests[i]);
	for (i = 0; i < n; i++)
		tap += tap_lines(&tests[i]);
	say("1..%d\n", tap);
	for (i = 0, tap = 1; i < n; tap += tap_lines(&tests[i]), i++) {
		double t0 = now();
		int status = 0;
		enum result r;

		say("# === %s\n", tests[i].line);
		if (tests[i].cases) {
			failed += kunit_report(&tests[i], tap);
			continue;
		}
		r = run_test(tests[i].argv, tests[i].timeout, &status);
		say("# --- %.1fs\n", now() - t0);
		switch (r) {
		case PASS:
			say("ok %d - %s\n", tap, tests[i].line);
			break;
		case SKIP:
			say("ok %d - %s # SKIP\n", tap, tests[i].line);
			break;
		case TIMEOUT:
			say("not ok %d - %s # TIMEOUT after %ds\n", tap,
			    tests[i].line, tests[i].timeout);
			failed++;
			break;
		case STUCK:
			say("not ok %d - %s # stuck in the kernel: SIGKILL did not end it\n",
			    tap, tests[i].line);
			failed++;
			break;
		default:
			say("not ok %d - %s # exit status 0x%x\n", tap,
			    tests[i].line, status);
			failed++;
		}
		if (r == STUCK) {
			/* The kernel is not fit to run another test. */
			scan_kernel_log();
			say("Bail out! a test is stuck in the kernel\n");
			goto out;
		}
	}
	if (scan_kernel_log()) {
		say("not ok %d - kernel log has no splats\n", tap);
		failed++;
	} else {
		say("ok %d - kernel log has no splats\n", tap);
	}
out:
	say("# plan finished: %d failed\n", failed);
	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
