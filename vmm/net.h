/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net.h: TCP endpoints "HOST:PORT" (an IPv4 address or "localhost"; port 0
 * on --listen picks a free one, and the source says which).
 */
#ifndef VMM_NET_H
#define VMM_NET_H

#include <stddef.h>

/* A listening socket; *bound gets the address it really listens on. */
int net_listen(const char *hostport, char *bound, size_t len);
/* Accept one connection within timeout_s seconds; -1 with errno (ETIMEDOUT). */
int net_accept(int lfd, unsigned int timeout_s);
/* Connect, retrying while nobody listens yet, for up to timeout_s seconds. */
int net_connect(const char *hostport, unsigned int timeout_s);

#endif
