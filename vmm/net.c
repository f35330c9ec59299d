// SPDX-License-Identifier: GPL-2.0
/*
 * net.c: see net.h.  Every connection gets TCP_NODELAY: a demand request
 * is one small message that a vCPU is waiting on, and Nagle's algorithm
 * would hold it back behind the previous one's ACK.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "log.h"
#include "net.h"

static int parse(const char *hostport, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	char *end;
	unsigned long port;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		goto bad;
	memcpy(host, hostport, colon - hostport);
	host[colon - hostport] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || !colon[1] || *end || port > 65535)
		goto bad;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (!*host)
		sa->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		goto bad;
	return 0;
bad:
	say("net", "bad address '%s': want IPV4-ADDRESS:PORT or localhost:PORT", hostport);
	errno = EINVAL;
	return -1;
}

static void tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int net_listen(const char *hostport, char *bound, size_t len)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	char addr[INET_ADDRSTRLEN];
	int fd, one = 1;

	if (parse(hostport, &sa))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof(addr));
	snprintf(bound, len, "%s:%u", addr, ntohs(sa.sin_port));
	return fd;
}

int net_accept(int lfd, unsigned int timeout_s)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int r, fd;

	do {
		r = poll(&p, 1, timeout_s * 1000);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	if (r <= 0)
		return -1;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		tune(fd);
	return fd;
}

int net_connect(const char *hostport, unsigned int timeout_s)
{
	struct sockaddr_in sa;
	struct timespec t0, t;
	int fd, e;

	if (parse(hostport, &sa))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			tune(fd);
			return fd;
		}
		e = errno;
		close(fd);
		clock_gettime(CLOCK_MONOTONIC, &t);
		errno = e;
		if ((e != ECONNREFUSED && e != EINTR) || t.tv_sec - t0.tv_sec >= timeout_s)
			return -1;
		usleep(50000);
	}
}
