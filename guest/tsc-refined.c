// SPDX-License-Identifier: GPL-2.0
/*
 * tsc-refined: wait until the kernel log says the TSC's refined
 * calibration changed its rate, so that the tests after it in a plan
 * create their vCPUs with KVM's default TSC rate (the early calibration's,
 * on a host without a constant TSC) different from the host's.  Exits 0
 * then, 4 (skip) if it did not happen within the given seconds or left the
 * rate unchanged.  Usage: tsc-refined SECONDS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KSFT_SKIP 4

/* The MHz value after @key in @line, as kHz, or 0. */
static long khz_after(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	unsigned int mhz, frac;

	if (!p || sscanf(p + strlen(key), "%u.%3u", &mhz, &frac) != 2)
		return 0;
	return mhz * 1000L + frac;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 30;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	long early = 0, refined = 0;
	char buf[2048];
	int waited = 0;

	if (fd < 0) {
		perror("/dev/kmsg");
		return 1;
	}
	/* One record per read; EAGAIN once the log is read up to its end. */
	while (!refined) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		if (n < 0 && errno == EPIPE)	/* overwritten before we read it */
			continue;
		if (n <= 0) {
			if (waited++ == seconds)
				break;
			sleep(1);
			continue;
		}
		buf[n] = 0;
		early = early ? : khz_after(buf, "tsc: Detected ");
		refined = khz_after(buf, "Refined TSC clocksource calibration: ");
	}
	close(fd);
	printf("# TSC: early calibration %ld kHz, refined %ld kHz (after %d s)\n",
	       early, refined, waited);
	if (!refined || refined == early) {
		printf("# SKIP: the refined calibration did not change the TSC's rate\n");
		return KSFT_SKIP;
	}
	return 0;
}
