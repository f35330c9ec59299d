// SPDX-License-Identifier: GPL-2.0
/* log.c: see log.h. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void vsay(const char *who, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = snprintf(line, sizeof(line), "%s: ", who);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
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

/*
 * What every thread of this process is doing: its name, state and the
 * system call it is in (/proc/self/task/TID/{comm,stat,syscall}), for a
 * migration that stopped making progress.
 */
void log_threads(const char *who)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char path[300], comm[32] = "", stat[256] = "", sc[128] = "", *p;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if ((f = fopen(path, "r"))) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		if ((f = fopen(path, "r"))) {
			if (!fgets(stat, sizeof(stat), f))
				stat[0] = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%s/syscall", e->d_name);
		if ((f = fopen(path, "r"))) {
			if (!fgets(sc, sizeof(sc), f))
				sc[0] = 0;
			fclose(f);
		}
		comm[strcspn(comm, "\n")] = 0;
		sc[strcspn(sc, "\n")] = 0;
		p = strrchr(stat, ')');
		say(who, "thread %s (%s): state %c, syscall %s", e->d_name, comm,
			p && p[1] ? p[2] : '?', sc);
	}
	closedir(dir);
}

