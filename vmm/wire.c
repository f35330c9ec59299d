// SPDX-License-Identifier: GPL-2.0
/*
 * wire.c: encoding, checksums and the read/write loops of the migration
 * protocol (see wire.h for the messages and the header layout).  Nothing
 * here knows about the migration itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "wire.h"

/* ---- little-endian fields ---- */

static uint8_t *w_room(struct wbuf *b, size_t n)
{
	uint8_t *p;

	if (b->overflow || b->cap - b->len < n) {
		b->overflow = true;
		return NULL;
	}
	p = b->p + b->len;
	b->len += n;
	return p;
}

void w_u8(struct wbuf *b, uint8_t v)
{
	uint8_t *p = w_room(b, 1);

	if (p)
		p[0] = v;
}

void w_u16(struct wbuf *b, uint16_t v)
{
	uint8_t *p = w_room(b, 2);

	if (p) {
		p[0] = v;
		p[1] = v >> 8;
	}
}

/* An n-byte little-endian field; nothing if it doesn't fit, as w_room() records. */
static void w_le(struct wbuf *b, uint64_t v, size_t n)
{
	uint8_t *p = w_room(b, n);
	size_t i;

	if (p)
		for (i = 0; i < n; i++)
			p[i] = v >> (8 * i);
}

void w_u32(struct wbuf *b, uint32_t v)
{
	w_le(b, v, 4);
}

void w_u64(struct wbuf *b, uint64_t v)
{
	w_le(b, v, 8);
}

void w_bytes(struct wbuf *b, const void *src, size_t n)
{
	uint8_t *p = w_room(b, n);

	if (p)
		memcpy(p, src, n);
}

static const uint8_t *r_take(struct rbuf *b, size_t n)
{
	const uint8_t *p;

	if (b->short_read || b->len - b->off < n) {
		b->short_read = true;
		return NULL;
	}
	p = b->p + b->off;
	b->off += n;
	return p;
}

uint8_t r_u8(struct rbuf *b)
{
	const uint8_t *p = r_take(b, 1);

	return p ? p[0] : 0;
}

uint16_t r_u16(struct rbuf *b)
{
	const uint8_t *p = r_take(b, 2);

	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

/* An n-byte little-endian field; 0 past the end, as r_take() records. */
static uint64_t r_le(struct rbuf *b, size_t n)
{
	const uint8_t *p = r_take(b, n);
	uint64_t v = 0;
	size_t i;

	if (p)
		for (i = 0; i < n; i++)
			v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint32_t r_u32(struct rbuf *b)
{
	return (uint32_t)r_le(b, 4);
}

uint64_t r_u64(struct rbuf *b)
{
	return r_le(b, 8);
}

void r_bytes(struct rbuf *b, void *dst, size_t n)
{
	const uint8_t *p = r_take(b, n);

	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

/* ---- header and checksum ---- */

void hdr_encode(uint8_t out[WIRE_HDR_SIZE], const struct pc_hdr *h)
{
	struct wbuf b = { .p = out, .cap = WIRE_HDR_SIZE };

	w_u32(&b, h->magic);
	w_u16(&b, h->type);
	w_u16(&b, h->flags);
	w_u32(&b, h->len);
	w_u32(&b, 0);
	w_u64(&b, h->arg);
	w_u64(&b, h->sum);
}

void hdr_decode(struct pc_hdr *h, const uint8_t in[WIRE_HDR_SIZE])
{
	struct rbuf b = { .p = in, .len = WIRE_HDR_SIZE };

	h->magic = r_u32(&b);
	h->type = r_u16(&b);
	h->flags = r_u16(&b);
	h->len = r_u32(&b);
	r_u32(&b);
	h->arg = r_u64(&b);
	h->sum = r_u64(&b);
}

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

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/*
 * A 64-bit multiply-rotate hash, a word at a time: cheap enough for every
 * page under TCG, and any shift or loss of bytes changes it.  It guards
 * against accidents, not against an adversary.  Defined on bytes, so both
 * ends compute the same value whatever their build.
 */
uint64_t pc_sum(const uint8_t hdr[WIRE_HDR_SIZE], const void *payload, uint32_t len)
{
	const uint8_t *p = payload;
	uint64_t s = 0x6a09e667f3bcc909ULL;
	uint32_t i;

	for (i = 0; i < 24; i += 8)	/* the header up to its sum field */
		s = fmix(s ^ le64(hdr + i));
	for (i = 0; i + 8 <= len; i += 8)
		s = rotl(s ^ le64(p + i), 29) * 0x9e3779b97f4a7c15ULL;
	for (; i < len; i++)
		s = rotl(s ^ p[i], 29) * 0x9e3779b97f4a7c15ULL;
	return fmix(s ^ len);
}

/* Encode a header for this payload, sum included. */
static void make_hdr(uint8_t out[WIRE_HDR_SIZE], uint16_t type, uint16_t flags, uint64_t arg,
		     const void *payload, uint32_t len)
{
	struct pc_hdr h = {
		.magic = WIRE_MAGIC, .type = type, .flags = flags, .len = len, .arg = arg,
	};

	hdr_encode(out, &h);
	h.sum = pc_sum(out, payload, len);
	hdr_encode(out, &h);
}

/* ---- HELLO and STATE ---- */

int hello_encode(const struct pc_hello *h, uint8_t *buf, size_t cap)
{
	struct wbuf b = { .p = buf, .cap = cap };

	w_u32(&b, h->version);	/* first, whatever the version */
	w_u32(&b, h->page_size);
	w_u64(&b, h->mem_size);
	w_u64(&b, h->data_gpa);
	w_u64(&b, h->data_pages);
	w_u64(&b, h->dev_gpa);
	w_u64(&b, h->seed);
	w_u32(&b, h->every);
	w_u32(&b, h->nvcpus);
	w_u32(&b, h->precopy_all);
	w_u32(&b, h->precopy_rounds);
	w_u32(&b, h->delay_us);
	w_u32(&b, h->rate_mib);
	return b.overflow ? -1 : (int)b.len;
}

int hello_decode(struct pc_hello *h, const uint8_t *buf, size_t len, char *why, size_t wlen)
{
	struct rbuf b = { .p = buf, .len = len };

	memset(h, 0, sizeof(*h));
	h->version = r_u32(&b);
	if (b.short_read || h->version != WIRE_VERSION) {
		snprintf(why, wlen, "the peer speaks protocol version %u, this end %u",
			 h->version, WIRE_VERSION);
		return -1;
	}
	h->page_size = r_u32(&b);
	h->mem_size = r_u64(&b);
	h->data_gpa = r_u64(&b);
	h->data_pages = r_u64(&b);
	h->dev_gpa = r_u64(&b);
	h->seed = r_u64(&b);
	h->every = r_u32(&b);
	h->nvcpus = r_u32(&b);
	h->precopy_all = r_u32(&b);
	h->precopy_rounds = r_u32(&b);
	h->delay_us = r_u32(&b);
	h->rate_mib = r_u32(&b);
	if (b.short_read || b.off != len) {
		snprintf(why, wlen, "HELLO of %zu bytes, version %u has %zu", len, WIRE_VERSION,
			 b.off);
		return -1;
	}
	return 0;
}

static void w_segment(struct wbuf *b, const struct kvm_segment *s)
{
	w_u64(b, s->base);
	w_u32(b, s->limit);
	w_u16(b, s->selector);
	w_u8(b, s->type);
	w_u8(b, s->present);
	w_u8(b, s->dpl);
	w_u8(b, s->db);
	w_u8(b, s->s);
	w_u8(b, s->l);
	w_u8(b, s->g);
	w_u8(b, s->avl);
	w_u8(b, s->unusable);
}

static void r_segment(struct rbuf *b, struct kvm_segment *s)
{
	s->base = r_u64(b);
	s->limit = r_u32(b);
	s->selector = r_u16(b);
	s->type = r_u8(b);
	s->present = r_u8(b);
	s->dpl = r_u8(b);
	s->db = r_u8(b);
	s->s = r_u8(b);
	s->l = r_u8(b);
	s->g = r_u8(b);
	s->avl = r_u8(b);
	s->unusable = r_u8(b);
}

static void w_dtable(struct wbuf *b, const struct kvm_dtable *d)
{
	w_u64(b, d->base);
	w_u16(b, d->limit);
}

static void r_dtable(struct rbuf *b, struct kvm_dtable *d)
{
	d->base = r_u64(b);
	d->limit = r_u16(b);
}

/* The 18 general registers in kvm_regs order: rax ... r15, rip, rflags. */
static __u64 *reg_slot(struct kvm_regs *r, int i)
{
	__u64 *regs[] = {
		&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rsp, &r->rbp,
		&r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
		&r->rip, &r->rflags,
	};

	return regs[i];
}
#define NREGS 18

int state_encode(const struct pc_state *st, uint8_t *buf, size_t cap)
{
	const struct vcpu_state *v = &st->vcpu;
	struct kvm_regs regs = v->regs;
	const struct kvm_sregs *s = &v->sregs;
	const struct kvm_fpu *f = &v->fpu;
	const struct kvm_vcpu_events *e = &v->events;
	struct wbuf b = { .p = buf, .cap = cap };
	size_t i;

	for (i = 0; i < NREGS; i++)
		w_u64(&b, *reg_slot(&regs, i));

	w_segment(&b, &s->cs);
	w_segment(&b, &s->ds);
	w_segment(&b, &s->es);
	w_segment(&b, &s->fs);
	w_segment(&b, &s->gs);
	w_segment(&b, &s->ss);
	w_segment(&b, &s->tr);
	w_segment(&b, &s->ldt);
	w_dtable(&b, &s->gdt);
	w_dtable(&b, &s->idt);
	w_u64(&b, s->cr0);
	w_u64(&b, s->cr2);
	w_u64(&b, s->cr3);
	w_u64(&b, s->cr4);
	w_u64(&b, s->cr8);
	w_u64(&b, s->efer);
	w_u64(&b, s->apic_base);
	for (i = 0; i < sizeof(s->interrupt_bitmap) / sizeof(s->interrupt_bitmap[0]); i++)
		w_u64(&b, s->interrupt_bitmap[i]);

	w_bytes(&b, f->fpr, sizeof(f->fpr));
	w_u16(&b, f->fcw);
	w_u16(&b, f->fsw);
	w_u8(&b, f->ftwx);
	w_u16(&b, f->last_opcode);
	w_u64(&b, f->last_ip);
	w_u64(&b, f->last_dp);
	w_bytes(&b, f->xmm, sizeof(f->xmm));
	w_u32(&b, f->mxcsr);

	w_u8(&b, e->exception.injected);
	w_u8(&b, e->exception.nr);
	w_u8(&b, e->exception.has_error_code);
	w_u8(&b, e->exception.pending);
	w_u32(&b, e->exception.error_code);
	w_u8(&b, e->interrupt.injected);
	w_u8(&b, e->interrupt.nr);
	w_u8(&b, e->interrupt.soft);
	w_u8(&b, e->interrupt.shadow);
	w_u8(&b, e->nmi.injected);
	w_u8(&b, e->nmi.pending);
	w_u8(&b, e->nmi.masked);
	w_u32(&b, e->sipi_vector);
	w_u32(&b, e->flags);
	w_u8(&b, e->smi.smm);
	w_u8(&b, e->smi.pending);
	w_u8(&b, e->smi.smm_inside_nmi);
	w_u8(&b, e->smi.latched_init);
	w_u8(&b, e->triple_fault.pending);
	w_u8(&b, e->exception_has_payload);
	w_u64(&b, e->exception_payload);

	w_u32(&b, VCPU_STATE_MSRS);
	for (i = 0; i < VCPU_STATE_MSRS; i++) {
		w_u32(&b, v->msrs[i].index);
		w_u64(&b, v->msrs[i].data);
	}

	w_u64(&b, st->t_last_run_ns);
	w_u64(&b, st->visits);
	w_u64(&b, st->sweeps);
	w_u64(&b, st->warm_visits);
	w_u64(&b, st->warm_ns);
	return b.overflow ? -1 : (int)b.len;
}

int state_decode(struct pc_state *st, const uint8_t *buf, size_t len)
{
	struct vcpu_state *v = &st->vcpu;
	struct kvm_sregs *s = &v->sregs;
	struct kvm_fpu *f = &v->fpu;
	struct kvm_vcpu_events *e = &v->events;
	struct rbuf b = { .p = buf, .len = len };
	size_t i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < NREGS; i++)
		*reg_slot(&v->regs, i) = r_u64(&b);

	r_segment(&b, &s->cs);
	r_segment(&b, &s->ds);
	r_segment(&b, &s->es);
	r_segment(&b, &s->fs);
	r_segment(&b, &s->gs);
	r_segment(&b, &s->ss);
	r_segment(&b, &s->tr);
	r_segment(&b, &s->ldt);
	r_dtable(&b, &s->gdt);
	r_dtable(&b, &s->idt);
	s->cr0 = r_u64(&b);
	s->cr2 = r_u64(&b);
	s->cr3 = r_u64(&b);
	s->cr4 = r_u64(&b);
	s->cr8 = r_u64(&b);
	s->efer = r_u64(&b);
	s->apic_base = r_u64(&b);
	for (i = 0; i < sizeof(s->interrupt_bitmap) / sizeof(s->interrupt_bitmap[0]); i++)
		s->interrupt_bitmap[i] = r_u64(&b);

	r_bytes(&b, f->fpr, sizeof(f->fpr));
	f->fcw = r_u16(&b);
	f->fsw = r_u16(&b);
	f->ftwx = r_u8(&b);
	f->last_opcode = r_u16(&b);
	f->last_ip = r_u64(&b);
	f->last_dp = r_u64(&b);
	r_bytes(&b, f->xmm, sizeof(f->xmm));
	f->mxcsr = r_u32(&b);

	e->exception.injected = r_u8(&b);
	e->exception.nr = r_u8(&b);
	e->exception.has_error_code = r_u8(&b);
	e->exception.pending = r_u8(&b);
	e->exception.error_code = r_u32(&b);
	e->interrupt.injected = r_u8(&b);
	e->interrupt.nr = r_u8(&b);
	e->interrupt.soft = r_u8(&b);
	e->interrupt.shadow = r_u8(&b);
	e->nmi.injected = r_u8(&b);
	e->nmi.pending = r_u8(&b);
	e->nmi.masked = r_u8(&b);
	e->sipi_vector = r_u32(&b);
	e->flags = r_u32(&b);
	e->smi.smm = r_u8(&b);
	e->smi.pending = r_u8(&b);
	e->smi.smm_inside_nmi = r_u8(&b);
	e->smi.latched_init = r_u8(&b);
	e->triple_fault.pending = r_u8(&b);
	e->exception_has_payload = r_u8(&b);
	e->exception_payload = r_u64(&b);

	if (r_u32(&b) != VCPU_STATE_MSRS)
		return -1;
	for (i = 0; i < VCPU_STATE_MSRS; i++) {
		v->msrs[i].index = r_u32(&b);
		v->msrs[i].data = r_u64(&b);
	}

	st->t_last_run_ns = r_u64(&b);
	st->visits = r_u64(&b);
	st->sweeps = r_u64(&b);
	st->warm_visits = r_u64(&b);
	st->warm_ns = r_u64(&b);
	return b.short_read || b.off != len ? -1 : 0;
}

int precopy_encode(const struct pc_precopy *p, uint8_t *buf, size_t cap)
{
	struct wbuf b = { .p = buf, .cap = cap };
	uint32_t i;

	if (p->rounds > PC_MAX_ROUNDS)
		return -1;
	w_u32(&b, p->rounds);
	for (i = 0; i < p->rounds; i++)
		w_u64(&b, p->pages[i]);
	w_u64(&b, p->dirty_at_pause);
	w_u64(&b, p->ns);
	return b.overflow ? -1 : (int)b.len;
}

int precopy_decode(struct pc_precopy *p, const uint8_t *buf, size_t len)
{
	struct rbuf b = { .p = buf, .len = len };
	uint32_t i;

	memset(p, 0, sizeof(*p));
	p->rounds = r_u32(&b);
	if (p->rounds > PC_MAX_ROUNDS)
		return -1;
	for (i = 0; i < p->rounds; i++)
		p->pages[i] = r_u64(&b);
	p->dirty_at_pause = r_u64(&b);
	p->ns = r_u64(&b);
	return b.short_read || b.off != len ? -1 : 0;
}

/* ---- sending and receiving ---- */

void chan_init(struct pc_chan *c, int fd, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->name = name;
	pthread_mutex_init(&c->send_lock, NULL);
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
		__atomic_fetch_add(&c->bytes_out, n, __ATOMIC_RELAXED);
	}
	return 0;
}

static int send_locked(struct pc_chan *c, const uint8_t hdr[WIRE_HDR_SIZE],
		       const void *payload, uint32_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = WIRE_HDR_SIZE },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	size_t total = WIRE_HDR_SIZE + len;
	ssize_t n;

	/* One sendmsg for header and payload; finish by hand if it was short. */
	do {
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	__atomic_fetch_add(&c->bytes_out, n, __ATOMIC_RELAXED);
	if ((size_t)n == total)
		return 0;
	if ((size_t)n < WIRE_HDR_SIZE) {
		if (pc_write_all(c, hdr + n, WIRE_HDR_SIZE - n))
			return -1;
		n = WIRE_HDR_SIZE;
	}
	return pc_write_all(c, (const uint8_t *)payload + (n - WIRE_HDR_SIZE), total - n);
}

/* One whole message, under the send lock. */
static int send_one(struct pc_chan *c, const uint8_t hdr[WIRE_HDR_SIZE],
		    const void *payload, uint32_t len)
{
	int r;

	pthread_mutex_lock(&c->send_lock);
	r = send_locked(c, hdr, payload, len);
	pthread_mutex_unlock(&c->send_lock);
	return r;
}

int pc_send(struct pc_chan *c, uint16_t type, uint16_t flags, uint64_t arg,
	    const void *payload, uint32_t len)
{
	uint8_t hdr[WIRE_HDR_SIZE];

	make_hdr(hdr, type, flags, arg, payload, len);
	return send_one(c, hdr, payload, len);
}

int pc_send_short(struct pc_chan *c, uint16_t type, uint16_t flags, uint64_t arg,
		  const void *payload, uint32_t hdr_len, uint32_t len)
{
	uint8_t hdr[WIRE_HDR_SIZE];

	make_hdr(hdr, type, flags, arg, payload, hdr_len);
	return send_one(c, hdr, payload, len);
}

int pc_send_corrupt(struct pc_chan *c, uint16_t type, uint16_t flags, uint64_t arg,
		    const void *payload, uint32_t len)
{
	uint8_t hdr[WIRE_HDR_SIZE], bad[PC_MAX_PAYLOAD];

	if (!len || len > sizeof(bad))
		return -1;
	make_hdr(hdr, type, flags, arg, payload, len);
	memcpy(bad, payload, len);
	bad[len / 2] ^= 0x40;
	return send_one(c, hdr, bad, len);
}

/* Swap the connection under the send lock; with a header, send it first. */
static int swap_fd(struct pc_chan *c, int fd, const uint8_t *hdr)
{
	int r = 0;

	pthread_mutex_lock(&c->send_lock);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = fd;
	if (hdr)
		r = send_locked(c, hdr, NULL, 0);
	pthread_mutex_unlock(&c->send_lock);
	return r;
}

void chan_replace(struct pc_chan *c, int fd)
{
	swap_fd(c, fd, NULL);
}

int chan_reconnect(struct pc_chan *c, int fd, uint64_t channel)
{
	uint8_t hdr[WIRE_HDR_SIZE];

	make_hdr(hdr, PC_CHANNEL, 0, channel, NULL, 0);
	return swap_fd(c, fd, hdr);
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
		__atomic_fetch_add(&c->bytes_in, n, __ATOMIC_RELAXED);
	}
	*got = done;
	return 0;
}

int pc_recv(struct pc_chan *c, struct pc_hdr *h, void *buf, uint32_t bufsize, uint32_t *got)
{
	uint8_t raw[WIRE_HDR_SIZE];
	size_t n;
	int r;

	*got = 0;
	r = read_all(c, raw, sizeof(raw), &n);
	if (r) {
		/* A partial header means nothing: don't let callers read it. */
		memset(h, 0, sizeof(*h));
		return r == -PC_E_EOF && n ? -PC_E_TRUNC : r;
	}
	hdr_decode(h, raw);
	if (h->magic != WIRE_MAGIC)
		return -PC_E_MAGIC;
	if (h->len > PC_MAX_PAYLOAD || h->len > bufsize)
		return -PC_E_LEN;
	r = read_all(c, buf, h->len, &n);
	*got = n;
	if (r == -PC_E_EOF)
		return -PC_E_TRUNC;
	if (r)
		return r;
	if (pc_sum(raw, buf, h->len) != h->sum)
		return -PC_E_SUM;
	return 0;
}

const char *pc_type_name(unsigned int type)
{
	static const char * const names[] = {
		[PC_CHANNEL] = "CHANNEL", [PC_HELLO] = "HELLO", [PC_READY] = "READY",
		[PC_PAGE] = "PAGE", [PC_STATE] = "STATE", [PC_STREAM_END] = "STREAM_END",
		[PC_REQ] = "REQ", [PC_COMPLETE] = "COMPLETE", [PC_ABORT] = "ABORT",
		[PC_PRECOPY_END] = "PRECOPY_END", [PC_DIRTY] = "DIRTY", [PC_SYNC] = "SYNC",
		[PC_STATE_ACK] = "STATE_ACK", [PC_RESUME] = "RESUME", [PC_MISSING] = "MISSING",
		[PC_RESUME_END] = "RESUME_END", [PC_GO] = "GO",
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
