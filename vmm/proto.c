// SPDX-License-Identifier: GPL-2.0
/*
 * proto.c: framing, checksums and the read/write loops of the migration
 * protocol (see proto.h for the messages).  Nothing here knows about KVM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "proto.h"

static inline uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static uint64_t fmix(uint64_t z)
{
	z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
	z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	return z ^ (z >> 33);
}

/*
 * A 64-bit multiply-rotate hash, a word at a time: cheap enough for every
 * page under TCG, and any shift or loss of bytes changes it.  It guards
 * against accidents, not against an adversary.
 */
uint64_t pc_sum(const struct pc_hdr *h, const void *payload, uint32_t len)
{
	const uint8_t *p = payload;
	uint64_t s, w;
	uint32_t i;

	s = fmix(0x6a09e667f3bcc909ULL ^ h->magic ^ (uint64_t)h->type << 32 ^
		 (uint64_t)h->flags << 48);
	s = fmix(s ^ h->len ^ (uint64_t)h->reserved << 32);
	s = fmix(s ^ h->arg);
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		s = rotl(s ^ w, 29) * 0x9e3779b97f4a7c15ULL;
	}
	for (; i < len; i++)
		s = rotl(s ^ p[i], 29) * 0x9e3779b97f4a7c15ULL;
	return fmix(s ^ len);
}

void pc_make_hdr(struct pc_hdr *h, uint16_t type, uint16_t flags, uint64_t arg,
		 const void *payload, uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->magic = PC_MAGIC;
	h->type = type;
	h->flags = flags;
	h->len = len;
	h->arg = arg;
	h->sum = pc_sum(h, payload, len);
}

int pc_write_all(struct pc_chan *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
		c->bytes_out += n;
	}
	return 0;
}

int pc_send(struct pc_chan *c, uint16_t type, uint16_t flags, uint64_t arg,
	    const void *payload, uint32_t len)
{
	struct pc_hdr h;
	struct iovec iov[2];
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	size_t total = sizeof(h) + len;
	ssize_t n;

	pc_make_hdr(&h, type, flags, arg, payload, len);
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;

	/* One sendmsg for header and payload; finish by hand if it was short. */
	do {
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	c->bytes_out += n;
	if ((size_t)n == total)
		return 0;
	if ((size_t)n < sizeof(h)) {
		if (pc_write_all(c, (uint8_t *)&h + n, sizeof(h) - n))
			return -1;
		n = sizeof(h);
	}
	return pc_write_all(c, (const uint8_t *)payload + (n - sizeof(h)), total - n);
}

/* Read exactly len bytes: 0, or -PC_E_EOF/-PC_E_IO with *got bytes read. */
static int read_all(struct pc_chan *c, void *buf, size_t len, size_t *got)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = recv(c->fd, p + done, len - done, MSG_WAITALL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*got = done;
			return -PC_E_IO;
		}
		if (n == 0) {
			*got = done;
			return -PC_E_EOF;
		}
		done += n;
		c->bytes_in += n;
	}
	*got = done;
	return 0;
}

int pc_recv(struct pc_chan *c, struct pc_hdr *h, void *buf, uint32_t bufsize, uint32_t *got)
{
	size_t n;
	int r;

	*got = 0;
	r = read_all(c, h, sizeof(*h), &n);
	if (r) {
		/* A partial header means nothing: don't let callers read it. */
		memset(h, 0, sizeof(*h));
		return r == -PC_E_EOF && n ? -PC_E_TRUNC : r;
	}
	if (h->magic != PC_MAGIC)
		return -PC_E_MAGIC;
	if (h->len > PC_MAX_PAYLOAD || h->len > bufsize)
		return -PC_E_LEN;
	r = read_all(c, buf, h->len, &n);
	*got = n;
	if (r == -PC_E_EOF)
		return -PC_E_TRUNC;
	if (r)
		return r;
	if (pc_sum(h, buf, h->len) != h->sum)
		return -PC_E_SUM;
	return 0;
}

const char *pc_type_name(unsigned int type)
{
	static const char * const names[] = {
		[PC_HELLO] = "HELLO", [PC_READY] = "READY", [PC_PAGE] = "PAGE",
		[PC_STATE] = "STATE", [PC_STREAM_END] = "STREAM_END", [PC_REQ] = "REQ",
		[PC_COMPLETE] = "COMPLETE", [PC_ABORT] = "ABORT",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}

const char *pc_err_name(int err)
{
	switch (err < 0 ? -err : err) {
	case PC_E_EOF: return "connection closed";
	case PC_E_TRUNC: return "connection closed inside a message";
	case PC_E_IO: return "read error";
	case PC_E_MAGIC: return "not a message header (stream out of step)";
	case PC_E_LEN: return "payload too large";
	case PC_E_SUM: return "checksum mismatch";
	default: return "unknown error";
	}
}
