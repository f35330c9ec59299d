// SPDX-License-Identifier: GPL-2.0
/* log.c: see log.h. */
#include <stdio.h>
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
