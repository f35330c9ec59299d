// SPDX-License-Identifier: GPL-2.0
/* uffd.c: see uffd.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "log.h"
#include "uffd.h"
#include "vmm.h"

static int uffd_open(uint64_t *features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_MISSING_GUEST_MEMFD };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	*features = api.features;
	return fd;
}

int uffd_probe(char *why, size_t len)
{
	uint64_t features = 0;
	int fd = uffd_open(&features);

	if (fd < 0) {
		snprintf(why, len, "userfaultfd with UFFD_FEATURE_MISSING_GUEST_MEMFD: %s",
			 strerror(errno));
		return errno == ENOSYS || errno == EINVAL || errno == EPERM ? EXIT_SKIP
									     : EXIT_INTERNAL;
	}
	close(fd);
	return 0;
}

int uffd_register(void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	uint64_t features;
	int fd = uffd_open(&features);

	if (fd < 0) {
		say("uffd", "UFFDIO_API (MISSING_GUEST_MEMFD): %s", strerror(errno));
		return -1;
	}
	if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		say("uffd", "UFFDIO_REGISTER of the guest_memfd mapping (MISSING): %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (!(reg.ioctls & (1ULL << _UFFDIO_COPY)) || !(reg.ioctls & (1ULL << _UFFDIO_ZEROPAGE))) {
		say("uffd", "the registration offers no UFFDIO_COPY/ZEROPAGE (ioctls %#llx)",
		    (unsigned long long)reg.ioctls);
		close(fd);
		return -1;
	}
	return fd;
}

int uffd_install(int uffd, void *dst, const void *src, size_t len)
{
	unsigned long again = 0;

	for (;;) {
		int r;

		if (src) {
			struct uffdio_copy c = {
				.dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len,
			};

			r = ioctl(uffd, UFFDIO_COPY, &c);
		} else {
			struct uffdio_zeropage z = {
				.range = { .start = (uintptr_t)dst, .len = len },
			};

			r = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
		}
		if (!r)
			return 0;
		/* EAGAIN: the mm changed under the copy; nothing was installed. */
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (++again == 100000)
			say("uffd", "%s at %p: EAGAIN 100000 times in a row, still retrying",
			    src ? "UFFDIO_COPY" : "UFFDIO_ZEROPAGE", dst);
	}
}

int uffd_wake(int uffd, void *addr, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)addr, .len = len };

	return ioctl(uffd, UFFDIO_WAKE, &r);
}

int uffd_read_fault(int uffd, uint64_t *addr)
{
	struct uffd_msg msg;
	ssize_t n = read(uffd, &msg, sizeof(msg));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
		return 0;
	*addr = msg.arg.pagefault.address;
	return 1;
}
