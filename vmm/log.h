/* SPDX-License-Identifier: GPL-2.0 */
/*
 * log.h: one line per message on stderr, "WHO: message", written with a
 * single write(2) so that lines of the source, the destination and the
 * driver never interleave mid-line.  Every unit logs through here; nothing
 * below the driver knows who reads the lines.
 */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <stdarg.h>

void say(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vsay(const char *who, const char *fmt, va_list ap);
/* One line per thread of this process: name, state, system call. */
void log_threads(const char *who);

#endif
