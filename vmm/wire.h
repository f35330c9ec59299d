/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wire.h: the migration protocol between two VMM processes, over TCP.
 *
 * The destination opens two connections to the source and names each with
 * a CHANNEL message:
 *   main    source -> dest: HELLO, PAGE (precopy rounds)..., SYNC,
 *                           PRECOPY_END, DIRTY..., STATE (one per vCPU),
 *                           PAGE (stream)..., STREAM_END
 *           (source -> dest, after STATE_ACK: GO, then the stream)
 *           dest -> source: READY, SYNC (the echo), STATE_ACK, COMPLETE;
 *                           after a reconnect: RESUME, MISSING..., RESUME_END
 *   urgent  dest -> source: REQ (a demand request for one page)
 *           source -> dest: PAGE (the answer)
 * Demand traffic has its own connection so that an answer never queues
 * behind streamed pages already in flight: that is how a demand request
 * jumps the queue (QEMU's postcopy preempt channel does the same).
 *
 * Every message is a 32-byte header and `len` bytes of payload.  Nothing
 * travels as a C struct: every field is encoded and decoded by the
 * functions below, fixed width and little-endian, so the two ends need not
 * be the same build.  The header:
 *
 *   offset  size  field
 *        0     4  magic     WIRE_MAGIC
 *        4     2  type      enum pc_type
 *        6     2  flags     PC_PAGE_* for PAGE
 *        8     4  len       payload bytes, at most PC_MAX_PAYLOAD
 *       12     4  reserved  0
 *       16     8  arg       gpa for PAGE and REQ, channel for CHANNEL, ...
 *       24     8  sum       hash of bytes 0..23 and of the payload
 *
 * so that a page that lost bytes on the way, or a stream that slipped out
 * of step, fails the check instead of landing in guest memory.  HELLO
 * starts with the protocol version; an end that does not speak it refuses
 * to go on.
 */
#ifndef VMM_WIRE_H
#define VMM_WIRE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm.h"

#define WIRE_MAGIC	0x32435050	/* "PPC2" */
#define WIRE_VERSION	3	/* 3: STATE_ACK, GO, RESUME, MISSING, RESUME_END */
#define WIRE_HDR_SIZE	32
#define PC_MAX_PAYLOAD	8192

enum pc_type {
	PC_CHANNEL = 1,	/* dest -> source, first on each connection: arg = PC_CH_* */
	PC_HELLO,	/* the guest's layout and the protocol version */
	PC_READY,	/* dest is set up and waiting; arg = WIRE_VERSION */
	PC_PAGE,	/* arg = gpa; payload = the page, or none with PC_PAGE_ZERO */
	PC_STATE,	/* arg = vCPU index; payload = its state, and "resume now" */
	PC_STREAM_END,	/* arg = pages sent on the main connection after STATE */
	PC_REQ,		/* arg = gpa the destination is waiting for */
	PC_COMPLETE,	/* every page arrived; the source may go */
	PC_ABORT,	/* payload: a message; the sender gives up */
	PC_PRECOPY_END,	/* payload: struct pc_precopy; the vCPUs are paused */
	PC_DIRTY,	/* arg = first page; payload: bitmap of pages sent but stale */
	PC_SYNC,	/* source -> dest, echoed back: everything before it is in */
	PC_STATE_ACK,	/* dest -> source: every vCPU state is loaded, the guest is ours */
	PC_RESUME,	/* dest -> source after a reconnect: arg = pages still missing */
	PC_MISSING,	/* dest -> source: arg = first page; payload: bitmap of missing pages */
	PC_RESUME_END,	/* dest -> source: the missing list is complete; stream it again */
	PC_GO,		/* source -> dest, after STATE_ACK: the source gave the guest up, run it */
};

#define PC_MAX_ROUNDS	16

/* PRECOPY_END: what the precopy rounds did, for the report. */
struct pc_precopy {
	uint32_t rounds;
	uint64_t pages[PC_MAX_ROUNDS];	/* sent per round */
	uint64_t dirty_at_pause;	/* pages dirty when the vCPUs stopped */
	uint64_t ns;			/* from the first round to the pause */
};

/* CHANNEL: arg = PC_CH_* | PC_CH_RECONNECT after a dropped connection. */
enum { PC_CH_MAIN, PC_CH_URGENT };
#define PC_CH_RECONNECT	0x100

/* PC_PAGE flags. */
#define PC_PAGE_ZERO	(1 << 0)	/* all zeroes, no payload */
#define PC_PAGE_PRECOPY	(1 << 1)	/* sent before resume */
#define PC_PAGE_DEMAND	(1 << 2)	/* answers a REQ */

/* A decoded header. */
struct pc_hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint64_t arg;
	uint64_t sum;
};

/* HELLO: what the destination must build. */
struct pc_hello {
	uint32_t version;
	uint32_t page_size;
	uint64_t mem_size;	/* guest memory: one slot, [0, mem_size) */
	uint64_t data_gpa;	/* the guest's working set */
	uint64_t data_pages;
	uint64_t dev_gpa;	/* the device region (layout.h) */
	uint64_t seed;		/* for the report */
	uint32_t every;		/* the guest's progress interval, in visits */
	uint32_t nvcpus;
	uint32_t precopy_all;	/* every page comes before STATE */
	uint32_t precopy_rounds; /* at most this many rounds before STATE (0: none) */
	uint32_t delay_us;	/* the source's settings, for the report: */
	uint32_t rate_mib;	/* demand delay and stream rate (0: unlimited) */
};

/* STATE: one vCPU, and what the report needs from the source. */
struct pc_state {
	struct vcpu_state vcpu;
	uint64_t t_last_run_ns;	/* when the source's last KVM_RUN returned */
	uint64_t visits;	/* guest page visits before the pause */
	uint64_t sweeps;
	uint64_t warm_visits;	/* visits between the fill and the pause, */
	uint64_t warm_ns;	/* and how long they took: the guest's speed */
};

/* Little-endian encoder into a fixed buffer; `overflow` once it is full. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};

/* Decoder; `short_read` once the payload ran out. */
struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool short_read;
};

void w_u8(struct wbuf *b, uint8_t v);
void w_u16(struct wbuf *b, uint16_t v);
void w_u32(struct wbuf *b, uint32_t v);
void w_u64(struct wbuf *b, uint64_t v);
void w_bytes(struct wbuf *b, const void *p, size_t n);
uint8_t r_u8(struct rbuf *b);
uint16_t r_u16(struct rbuf *b);
uint32_t r_u32(struct rbuf *b);
uint64_t r_u64(struct rbuf *b);
void r_bytes(struct rbuf *b, void *p, size_t n);

/* Encoders return the payload length, or -1 if cap is too small. */
int hello_encode(const struct pc_hello *h, uint8_t *buf, size_t cap);
/* 0, or -1 with why filled in (wrong version, short payload). */
int hello_decode(struct pc_hello *h, const uint8_t *buf, size_t len, char *why, size_t wlen);
int state_encode(const struct pc_state *s, uint8_t *buf, size_t cap);
int precopy_encode(const struct pc_precopy *p, uint8_t *buf, size_t cap);
int precopy_decode(struct pc_precopy *p, const uint8_t *buf, size_t len);
int state_decode(struct pc_state *s, const uint8_t *buf, size_t len);

void hdr_encode(uint8_t out[WIRE_HDR_SIZE], const struct pc_hdr *h);
void hdr_decode(struct pc_hdr *h, const uint8_t in[WIRE_HDR_SIZE]);
/* The checksum of an encoded header (its sum field excluded) and payload. */
uint64_t pc_sum(const uint8_t hdr[WIRE_HDR_SIZE], const void *payload, uint32_t len);

/* One end of a connection, with byte counts for the report. */
struct pc_chan {
	int fd;
	const char *name;
	uint64_t bytes_in, bytes_out;
	pthread_mutex_t send_lock;	/* several threads may send */
};

void chan_init(struct pc_chan *c, int fd, const char *name);

/* Receive errors (pc_recv returns 0 or one of these, negated). */
enum pc_err {
	PC_E_EOF = 1,	/* the peer closed at a message boundary */
	PC_E_TRUNC,	/* the peer closed inside a message */
	PC_E_IO,	/* read error (errno) */
	PC_E_MAGIC,	/* not a message header: the stream is out of step */
	PC_E_LEN,	/* payload larger than PC_MAX_PAYLOAD or the buffer */
	PC_E_SUM,	/* checksum mismatch */
};

/* Write all of buf (MSG_NOSIGNAL: a dead peer is EPIPE, not a signal). */
int pc_write_all(struct pc_chan *c, const void *buf, size_t len);

/* Send one message, atomically with respect to other senders.  0, or -1. */
int pc_send(struct pc_chan *c, uint16_t type, uint16_t flags, uint64_t arg,
	    const void *payload, uint32_t len);

/*
 * Send a header that promises hdr_len bytes of payload and only the first
 * len of them: --fault=truncate.
 */
int pc_send_short(struct pc_chan *c, uint16_t type, uint16_t flags, uint64_t arg,
		  const void *payload, uint32_t hdr_len, uint32_t len);
/* Send a message whose payload has one byte flipped after checksumming: --fault=corrupt. */
int pc_send_corrupt(struct pc_chan *c, uint16_t type, uint16_t flags, uint64_t arg,
		    const void *payload, uint32_t len);
/* Replace the connection under the send lock (a reconnect). */
void chan_replace(struct pc_chan *c, int fd);
/*
 * The same, and send CHANNEL (arg channel) on the new connection before
 * releasing the lock, so that no other sender's message goes out ahead of
 * it.  0, or -1 (errno).
 */
int chan_reconnect(struct pc_chan *c, int fd, uint64_t channel);

/*
 * Receive one message into *h and buf (at most bufsize bytes of payload).
 * When the header arrived whole, *h is valid even on error (PC_E_TRUNC:
 * *got says how much of the payload came); otherwise *h is zeroed.
 */
int pc_recv(struct pc_chan *c, struct pc_hdr *h, void *buf, uint32_t bufsize, uint32_t *got);

const char *pc_type_name(unsigned int type);
const char *pc_err_name(int err);

#endif
