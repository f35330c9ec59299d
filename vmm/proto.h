/* SPDX-License-Identifier: GPL-2.0 */
/*
 * proto.h: the migration wire protocol.
 *
 * Two stream sockets connect source and destination:
 *   main    source -> dest: HELLO, PAGE (pre-copy), STATE, PAGE (stream)...,
 *                           STREAM_END
 *           dest -> source: READY, COMPLETE
 *   urgent  dest -> source: REQ (a demand request for one page)
 *           source -> dest: PAGE (the answer)
 * Demand traffic has its own socket so that an answer never queues behind
 * streamed pages already in flight: that is how a demand request "jumps
 * the queue" (QEMU's postcopy preempt channel does the same).
 *
 * Every message is a 32-byte header and `len` bytes of payload.  `sum`
 * covers the rest of the header and the payload, so a page that lost
 * bytes on the way - or a stream that slipped out of step - fails the check
 * instead of landing in guest memory.  All fields are little-endian (both
 * ends are x86_64).
 */
#ifndef VMM_PROTO_H
#define VMM_PROTO_H

#include <stdint.h>
#include "kvm.h"

#define PC_MAGIC	0x31435050	/* "PPC1" */
#define PC_VERSION	1
#define PC_MAX_PAYLOAD	8192

enum pc_type {
	PC_HELLO = 1,	/* payload struct pc_hello */
	PC_READY,	/* dest is set up and waiting; arg = PC_VERSION */
	PC_PAGE,	/* arg = gpa; payload = the page, or none with PC_PAGE_ZERO */
	PC_STATE,	/* payload struct pc_state: the vCPU, and "resume now" */
	PC_STREAM_END,	/* arg = pages sent on the main socket after STATE */
	PC_REQ,		/* arg = gpa the destination's vCPU is waiting for */
	PC_COMPLETE,	/* every page arrived; the source may go */
	PC_ABORT,	/* payload: a message; the sender gives up */
};

/* PC_PAGE flags. */
#define PC_PAGE_ZERO	(1 << 0)	/* all zeroes, no payload */
#define PC_PAGE_PRECOPY	(1 << 1)	/* sent before resume */
#define PC_PAGE_DEMAND	(1 << 2)	/* answers a REQ */

struct pc_hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint32_t reserved;
	uint64_t arg;
	uint64_t sum;
};

struct pc_hello {
	uint32_t version;
	uint32_t page_size;
	uint64_t mem_size;	/* guest memory: one slot, [0, mem_size) */
	uint64_t precopy_end;	/* [0, precopy_end) arrives before STATE */
	uint64_t data_gpa;	/* the guest's working set, for the report */
	uint64_t data_pages;
	uint64_t seed;
	uint32_t state_size;	/* sizeof(struct pc_state): same build both ends */
	uint32_t every;		/* the guest's progress interval, in visits */
};

struct pc_state {
	struct vcpu_state vcpu;
	uint64_t t_last_run_ns;	/* when the source's last KVM_RUN returned */
	uint64_t visits;	/* guest page visits before the pause */
	uint64_t sweeps;
	uint64_t warm_visits;	/* visits between the fill and the pause, */
	uint64_t warm_ns;	/* and how long they took: the guest's speed */
};

/* One end of a socket, with byte counts for the report. */
struct pc_chan {
	int fd;
	const char *name;
	uint64_t bytes_in, bytes_out;
};

/* Receive errors (pc_recv returns 0 or one of these, negated). */
enum pc_err {
	PC_E_EOF = 1,	/* the peer closed at a message boundary */
	PC_E_TRUNC,	/* the peer closed inside a message */
	PC_E_IO,	/* read error (errno) */
	PC_E_MAGIC,	/* not a message header: the stream is out of step */
	PC_E_LEN,	/* payload larger than PC_MAX_PAYLOAD or the buffer */
	PC_E_SUM,	/* checksum mismatch */
};

uint64_t pc_sum(const struct pc_hdr *h, const void *payload, uint32_t len);
void pc_make_hdr(struct pc_hdr *h, uint16_t type, uint16_t flags, uint64_t arg,
		 const void *payload, uint32_t len);

/* Write all of buf (MSG_NOSIGNAL: a dead peer is EPIPE, not a signal). */
int pc_write_all(struct pc_chan *c, const void *buf, size_t len);

/* Send one message.  0, or -1 with errno. */
int pc_send(struct pc_chan *c, uint16_t type, uint16_t flags, uint64_t arg,
	    const void *payload, uint32_t len);

/*
 * Receive one message into *h and buf (at most bufsize bytes of payload).
 * When the header arrived whole, *h is valid even on error (PC_E_TRUNC:
 * *got says how much of the payload came); otherwise *h is zeroed.
 */
int pc_recv(struct pc_chan *c, struct pc_hdr *h, void *buf, uint32_t bufsize, uint32_t *got);

const char *pc_type_name(unsigned int type);
const char *pc_err_name(int err);

#endif
