// SPDX-License-Identifier: GPL-2.0
/*
 * init: the guest's PID 1.  Runs a plan of tests, one per line, each with a
 * timeout, and reports TAP on the console; then checks the kernel log for
 * splats (WARNING, BUG, lockdep, KASAN, UBSAN, ...) and reboots, which QEMU
 * (-no-reboot) turns into an exit.
 *
 * Plan line:  TIMEOUT_SECONDS COMMAND [ARGS...]   ('#': comment)
 * Every test runs once: a failure is reported, never retried.
 * The plan is /plan unless the kernel command line says plan=PATH;
 * timeout_scale=N multiplies every timeout (slow debug kernels).
 * A test passes on exit 0, is skipped on exit 4 (KSFT_SKIP), fails otherwise.
 * Test output is echoed as TAP comments ("# ...").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#define KSFT_SKIP	4
#define MAX_ARGS	64
#define MAX_TESTS	256

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
	char *tok, *save;
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f)
		return NULL;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strncmp(tok, key, klen) && tok[klen] == '=')
			return strdup(tok + klen + 1);
	return NULL;
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

enum result { PASS, FAIL, SKIP, TIMEOUT };

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
			kill(-pid, SIGKILL);
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
	waitpid(pid, &status, 0);
	/* Reap anything the test left behind in its session. */
	kill(-pid, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;

	*status_out = status;
	if (timed_out)
		return TIMEOUT;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return PASS;
	if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_SKIP)
		return SKIP;
	return FAIL;
}

struct test {
	int timeout;
	char *line;		/* the command line as written, for the TAP name */
	char *argv[MAX_ARGS];
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
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *log, *line, *save;
	int n, hits = 0, context = 0;
	size_t i;

	if (size <= 0)
		return 0;
	log = malloc(size + 1);
	if (!log)
		return 0;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, size);
	if (n < 0)
		n = 0;
	log[n] = '\0';
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
	int i, n, failed = 0, scale = 1;

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
	if (n < 0) {
		failed = 1;
		goto out;
	}
	say("1..%d\n", n + 1);
	for (i = 0; i < n; i++) {
		double t0 = now();
		int status = 0;
		enum result r;

		say("# === %s\n", tests[i].line);
		r = run_test(tests[i].argv, tests[i].timeout, &status);
		say("# --- %.1fs\n", now() - t0);
		switch (r) {
		case PASS:
			say("ok %d - %s\n", i + 1, tests[i].line);
			break;
		case SKIP:
			say("ok %d - %s # SKIP\n", i + 1, tests[i].line);
			break;
		case TIMEOUT:
			say("not ok %d - %s # TIMEOUT after %ds\n", i + 1,
			    tests[i].line, tests[i].timeout);
			failed++;
			break;
		default:
			say("not ok %d - %s # exit status 0x%x\n", i + 1,
			    tests[i].line, status);
			failed++;
		}
	}
	if (scan_kernel_log()) {
		say("not ok %d - kernel log has no splats\n", n + 1);
		failed++;
	} else {
		say("ok %d - kernel log has no splats\n", n + 1);
	}
out:
	say("# plan finished: %d failed\n", failed);
	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
