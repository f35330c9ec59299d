// SPDX-License-Identifier: GPL-2.0
/*
 * dest.c: the migration destination, where KVM Userfault does its work.
 *
 * Guest memory is a guest_memfd (GUEST_MEMFD_FLAG_MMAP | INIT_SHARED) in a
 * memslot created with KVM_MEM_USERFAULT and every bit of the userfault
 * bitmap set: no page is there yet, not even the guest's code or page
 * tables.  Nothing but the vCPU state travels in the downtime.
 *
 * TWO MECHANISMS, ONE PAGE AT A TIME
 *
 * KVM Userfault intercepts vCPU stage-2 faults only: a vCPU touching a page
 * whose bit is set leaves KVM_RUN with -1/EFAULT, KVM_EXIT_MEMORY_FAULT and
 * KVM_MEMORY_EXIT_FLAG_USERFAULT; the vCPU thread asks the source for the
 * page on the urgent connection, waits for it and re-enters.
 *
 * Every other access to guest memory goes through the memslot's
 * userspace_addr, the guest_memfd mapping: KVM's own (with shadow paging
 * it walks the guest's page tables and sets A/D bits there; the emulator
 * fetches instructions and reads descriptors; kvmclock's gfn-to-pfn cache
 * maps the pvclock page) and the VMM's (the doorbell device reads and
 * writes guest memory).  KVM Userfault never sees those: they would read a
 * page that has not arrived as zeroes.  So the mapping is registered with
 * userfaultfd in MISSING mode (UFFD_FEATURE_MISSING_GUEST_MEMFD): such an
 * access blocks in the kernel, a uffd thread turns its fault into a demand
 * request exactly like a userfault exit, and the access resumes when the
 * page is installed.
 *
 * A page is installed with UFFDIO_COPY (UFFDIO_ZEROPAGE for a zero page),
 * which puts it in the guest_memfd for the mapping and the vCPUs alike and
 * wakes whoever waits on it, and only then is its bit cleared with release
 * ordering (KVM reads it with acquire): a vCPU whose bit is clear and whose
 * page is not in the guest_memfd would get a fresh zero page, after which
 * UFFDIO_COPY fails with EEXIST.  The VMM never writes guest memory with
 * plain stores before a page arrived (it would block on its own fault).
 * Two receiver threads install pages: one for the background stream (main
 * connection), one for demand answers (urgent); the first copy of a page
 * to arrive wins.  When every page is in, a flags-only
 * KVM_SET_USER_MEMORY_REGION2 turns KVM_MEM_USERFAULT off and the guest is
 * told to verify all of its memory.
 *
 * Right after resuming, the guest is told to probe (CMD_PROBE), in answer
 * to the question it asks first (the source paused it at one): it rings
 * the doorbell, whose handler here checksums a buffer that has not arrived
 * and writes the sum into a page that has not arrived, and it turns
 * kvmclock on at a page that has not arrived, which KVM maps and writes.
 * The guest checks both against values it knows.  --no-uffd leaves the
 * registration out (the negative control): then those accesses see zero
 * pages, and the guest's checks (or, when KVM's page-table walk read a
 * zeroed table, a triple fault) must fail the run.
 *
 * Bad input never reaches guest memory: a page is received into a buffer,
 * its checksum, length and gpa are checked, and only then installed.  On
 * any failure the vCPU is stopped (kicked out of KVM_RUN, never re-entered)
 * and the process exits with a code that names the failure (vmm.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "kvm.h"
#include "layout.h"
#include "ports.h"
#include "device.h"
#include "log.h"
#include "net.h"
#include "uffd.h"
#include "wire.h"
#include "vmm.h"

#define BITS_PER_LONG	(8 * sizeof(unsigned long))
#define MAX_MEM_BYTES	(GPA_DATA + (MAX_DATA_MIB << 20))

enum via { VIA_PRECOPY, VIA_DEMAND, VIA_STREAM };

#define NO_PAGE UINT64_MAX

struct dest;

/*
 * One vCPU and its thread.  A vCPU that takes a userfault exit waits on its
 * own condition variable for its own page: an installer wakes exactly the
 * vCPUs whose waiting_idx is the page it installed.
 */
struct dvcpu {
	struct dest *d;
	struct vcpu *v;
	struct guest_ports ports;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;		/* with cond: "your page is in" */
	pthread_cond_t cond;
	uint64_t waiting_idx;		/* the page it sleeps on, or NO_PAGE */

	/* Its thread only. */
	uint64_t uf_exits, uf_raced, demand_reqs;
	uint64_t blocked_ns;		/* time from userfault exits to re-entries */
	uint64_t *lat;			/* per userfault exit: exit -> re-entry, ns */
	size_t nlat, cap_lat;
	bool probe_sent;
	uint32_t probe_result;
	uint64_t visits_at_resume, sweeps_at_resume;
	uint64_t src_warm_visits, src_warm_ns;
	uint64_t t_first_run, t_done;
	bool done;			/* the guest's final report is in */

	/* Shared with the watchdog. */
	uint64_t t_in_run;		/* when it entered KVM_RUN; 0 outside */
	bool stuck;			/* the watchdog gave up on it */
};

struct dest {
	const struct options *o;
	struct vm vm;
	struct pc_chan main, urgent;
	struct pc_hello hello;
	int nvcpus;
	struct dvcpu cpus[MAX_VCPUS];
	uint64_t npages;

	unsigned long *uf;		/* KVM's userfault bitmap: set = not here yet */
	uint8_t *claimed;		/* per page: a receiver is installing it */
	uint8_t *requested;		/* per page: a demand request went out */
	uint64_t *t_requested;		/* per page: when (for the demand timeout) */

	/* Updated atomically by the receiver threads. */
	uint64_t installed, n_precopy, n_demand, n_stream, n_zero, n_dup, n_eexist;
	/* Hybrid: precopy pages received (all rounds), taken back at the switch-over. */
	uint64_t n_precopy_msgs, n_taken_back, take_back_ns;
	struct pc_precopy pre;

	/* userfaultfd on the guest_memfd mapping (-1 with --no-uffd). */
	int uffd;
	pthread_t uffd_thread;
	/* uffd thread only: faults by region, those already installed, requests sent. */
	uint64_t uffd_faults[3], uffd_raced, uffd_reqs;

	/*
	 * 0 while all is well.  Set once, by the first failure, under
	 * abort_lock and only after its error line is out: whoever sees it
	 * set may exit the process without losing that line.
	 */
	int abort_code;
	pthread_mutex_t abort_lock;

	/*
	 * Failure handling.  acked: the source has our STATE_ACK, the guest
	 * runs here; from then on a broken connection pauses postcopy
	 * (reconnecting) instead of ending it.
	 */
	bool acked, reconnecting, stream_ended;
	/*
	 * go: the source has given the guest up (GO, which it also sends
	 * after taking a reconnection): the vCPUs may run.
	 */
	bool go;
	pthread_mutex_t go_lock;
	pthread_cond_t go_cond;
	unsigned int reconnects;
	uint64_t n_bad_sum;		/* pages that failed their checksum, asked again */
	uint64_t paused_ns;		/* time spent reconnecting */
	pthread_t rx_main, rx_urgent, watchdog;

	/* The first vCPU to see every page in turns KVM_MEM_USERFAULT off. */
	pthread_mutex_t off_lock;
	bool uf_off;
	uint64_t visits_at_uf_off;

	/* Timestamps, CLOCK_MONOTONIC ns. */
	uint64_t t_src_last_run, t_all_installed, t_uf_off;
};

static void say_dst(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say_dst(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("dest", fmt, ap);
	va_end(ap);
}

static bool aborted(struct dest *d)
{
	return __atomic_load_n(&d->abort_code, __ATOMIC_ACQUIRE) != 0;
}

static void kick(int sig)
{
	(void)sig;	/* only here to make KVM_RUN return EINTR */
}

/*
 * Stop everything, once: print the error line tests look for ("dest:
 * error: TAG: ..."), record why, and get the vCPU out of KVM_RUN for good.
 * A later failure (usually a consequence of the first) waits for the first
 * to finish and returns: abort_code is set when this returns, either way.
 */
static void dest_abort(struct dest *d, int code, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void dest_abort(struct dest *d, int code, const char *tag, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int i;

	pthread_mutex_lock(&d->abort_lock);
	if (d->abort_code) {
		pthread_mutex_unlock(&d->abort_lock);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say_dst("error: %s: %s; guest stopped", tag, msg);
	__atomic_store_n(&d->abort_code, code, __ATOMIC_RELEASE);

	/*
	 * The vCPU threads check abort_code before every KVM_RUN.  One inside
	 * KVM_RUN is kicked out by the signal; immediate_exit covers a signal
	 * that lands between its check and the ioctl.
	 */
	for (i = 0; i < d->nvcpus; i++) {
		struct dvcpu *c = &d->cpus[i];

		if (c->v && c->v->run)
			__atomic_store_n(&c->v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (c->started && !pthread_equal(pthread_self(), c->thread))
			pthread_kill(c->thread, SIGUSR1);
		pthread_mutex_lock(&c->lock);
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
	/* Wake the receivers; nothing more will be installed. */
	if (d->main.fd >= 0)
		shutdown(d->main.fd, SHUT_RDWR);
	if (d->urgent.fd >= 0)
		shutdown(d->urgent.fd, SHUT_RDWR);
	pthread_mutex_unlock(&d->abort_lock);
}

static int request_page(struct dest *d, uint64_t idx);

static bool page_missing(struct dest *d, uint64_t idx)
{
	/* seq_cst: the vCPU side of the waiting_idx handshake in install(). */
	unsigned long w = __atomic_load_n(&d->uf[idx / BITS_PER_LONG], __ATOMIC_SEQ_CST);

	return w & (1UL << (idx % BITS_PER_LONG));
}

static uint64_t missing_pages(struct dest *d)
{
	return d->npages - __atomic_load_n(&d->installed, __ATOMIC_ACQUIRE);
}

/* Copy a checked page into guest memory, then let the vCPU have it. */
static void install(struct dest *d, uint64_t gpa, bool zero, const uint8_t *data, enum via via)
{
	uint64_t idx = gpa / GUEST_PAGE_SIZE, n;
	int i;

	if (via == VIA_PRECOPY)
		d->n_precopy_msgs++;
	if (__atomic_exchange_n(&d->claimed[idx], 1, __ATOMIC_ACQ_REL)) {
		if (via == VIA_PRECOPY) {
			/*
			 * A later precopy round: the guest changed the page on
			 * the source.  Nothing runs here yet, and the page is
			 * in the guest_memfd, so a plain copy cannot block.
			 */
			if (zero)
				memset(d->vm.mem + gpa, 0, GUEST_PAGE_SIZE);
			else
				memcpy(d->vm.mem + gpa, data, GUEST_PAGE_SIZE);
			return;
		}
		/* Sent twice (stream and demand): the first copy is in. */
		__atomic_fetch_add(&d->n_dup, 1, __ATOMIC_RELAXED);
		return;
	}
	if (d->uffd >= 0) {
		int r = uffd_install(d->uffd, d->vm.mem + gpa, zero ? NULL : data, GUEST_PAGE_SIZE);

		if (r == -EEXIST) {
			/*
			 * Something put the page in the guest_memfd without
			 * us: only a vCPU fault while KVM_MEM_USERFAULT is
			 * off (--no-userfault) can.  The page is mapped, so a
			 * plain copy cannot block; the guest ran on a zero
			 * page already and its checks will say so.
			 */
			__atomic_fetch_add(&d->n_eexist, 1, __ATOMIC_RELAXED);
			r = 0;
			if (zero)
				memset(d->vm.mem + gpa, 0, GUEST_PAGE_SIZE);
			else
				memcpy(d->vm.mem + gpa, data, GUEST_PAGE_SIZE);
			uffd_wake(d->uffd, d->vm.mem + gpa, GUEST_PAGE_SIZE);
		}
		if (r) {
			dest_abort(d, EXIT_INTERNAL, "kvm", "%s of gpa %#llx: %s",
				   zero ? "UFFDIO_ZEROPAGE" : "UFFDIO_COPY",
				   (unsigned long long)gpa, strerror(-r));
			return;
		}
	} else if (zero) {
		memset(d->vm.mem + gpa, 0, GUEST_PAGE_SIZE);
	} else {
		memcpy(d->vm.mem + gpa, data, GUEST_PAGE_SIZE);
	}
	/*
	 * Contents first, then the bit, with release (pairs with KVM's
	 * acquire); seq_cst also orders it before the waiting_idx loads below.
	 */
	__atomic_fetch_and(&d->uf[idx / BITS_PER_LONG], ~(1UL << (idx % BITS_PER_LONG)),
			   __ATOMIC_SEQ_CST);

	__atomic_fetch_add(via == VIA_PRECOPY ? &d->n_precopy :
			   via == VIA_DEMAND ? &d->n_demand : &d->n_stream, 1, __ATOMIC_RELAXED);
	if (zero)
		__atomic_fetch_add(&d->n_zero, 1, __ATOMIC_RELAXED);

	n = __atomic_add_fetch(&d->installed, 1, __ATOMIC_SEQ_CST);
	if (d->o->fault == FAULT_DEST_DIES && d->acked && n >= d->npages / 2) {
		say_dst("injecting fault: dying (SIGKILL) with %llu of %llu pages installed",
			(unsigned long long)n, (unsigned long long)d->npages);
		kill(getpid(), SIGKILL);
	}
	if (n == d->npages && __atomic_load_n(&d->acked, __ATOMIC_ACQUIRE))
		__atomic_store_n(&d->t_all_installed, now_ns(), __ATOMIC_RELEASE);

	/*
	 * Wake the vCPUs waiting for this page, and only them.  A vCPU
	 * publishes waiting_idx and then checks the bit, both under its lock;
	 * we cleared the bit and then read waiting_idx (both seq_cst): either
	 * it sees the bit clear, or we see it waiting and signal under its lock.
	 */
	for (i = 0; i < d->nvcpus; i++) {
		struct dvcpu *c = &d->cpus[i];

		if (__atomic_load_n(&c->waiting_idx, __ATOMIC_SEQ_CST) != idx)
			continue;
		pthread_mutex_lock(&c->lock);
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
}

/* Check a PAGE message from the peer and install it.  0, or -1 (aborted). */
static int take_page(struct dest *d, const struct pc_hdr *h, const uint8_t *buf, enum via via)
{
	uint64_t gpa = h->arg;
	bool zero = h->flags & PC_PAGE_ZERO;

	if (gpa >= d->vm.mem_size) {
		dest_abort(d, EXIT_BAD_GPA, "bad-gpa",
			   "the source sent a page for gpa %#llx, outside guest memory [0, %#llx)",
			   (unsigned long long)gpa, (unsigned long long)d->vm.mem_size);
		return -1;
	}
	if (gpa % GUEST_PAGE_SIZE) {
		dest_abort(d, EXIT_BAD_GPA, "bad-gpa",
			   "the source sent a page for gpa %#llx, which is not page-aligned",
			   (unsigned long long)gpa);
		return -1;
	}
	if (h->len != (zero ? 0 : GUEST_PAGE_SIZE)) {
		dest_abort(d, EXIT_BAD_PAGE, "bad-page",
			   "the page for gpa %#llx carries %u bytes, expected %u",
			   (unsigned long long)gpa, h->len, zero ? 0 : GUEST_PAGE_SIZE);
		return -1;
	}
	if ((via == VIA_DEMAND) != !!(h->flags & PC_PAGE_DEMAND) ||
	    (via == VIA_PRECOPY) != !!(h->flags & PC_PAGE_PRECOPY)) {
		dest_abort(d, EXIT_PROTOCOL, "protocol",
			   "page for gpa %#llx arrived with flags %#x on the %s socket",
			   (unsigned long long)gpa, h->flags, via == VIA_DEMAND ? "urgent" : "main");
		return -1;
	}
	install(d, gpa, zero, buf, via);
	return 0;
}

/* Turn a pc_recv() failure into the right abort. */
static void recv_failed(struct dest *d, struct pc_chan *c, int r, const struct pc_hdr *h,
			uint32_t got)
{
	bool page = h->magic == WIRE_MAGIC && h->type == PC_PAGE;

	switch (-r) {
	case PC_E_EOF:
		dest_abort(d, EXIT_SOURCE_LOST, "source-lost",
			   "the source closed the %s socket with %llu of %llu pages not received",
			   c->name, (unsigned long long)missing_pages(d),
			   (unsigned long long)d->npages);
		break;
	case PC_E_IO:
		dest_abort(d, EXIT_SOURCE_LOST, "source-lost", "%s socket: %s", c->name,
			   strerror(errno));
		break;
	case PC_E_TRUNC:
		/*
		 * The connection ended inside a message: the source is gone,
		 * whatever it was sending.  (A page cut short while the stream
		 * goes on fails its checksum instead, and is asked for again
		 * once the guest is ours; bad-page before.)
		 */
		if (page)
			dest_abort(d, EXIT_SOURCE_LOST, "source-lost",
				   "the source closed the %s socket %u bytes into the %u-byte page "
				   "for gpa %#llx (not installed), %llu pages not received",
				   c->name, got, h->len, (unsigned long long)h->arg,
				   (unsigned long long)missing_pages(d));
		else
			dest_abort(d, EXIT_SOURCE_LOST, "source-lost",
				   "the source closed the %s socket in the middle of a message "
				   "(%llu pages not received)", c->name,
				   (unsigned long long)missing_pages(d));
		break;
	case PC_E_SUM:
		if (page)
			dest_abort(d, EXIT_BAD_PAGE, "bad-page",
				   "the page for gpa %#llx failed its checksum (truncated or "
				   "corrupted on the way); not installed",
				   (unsigned long long)h->arg);
		else
			dest_abort(d, EXIT_PROTOCOL, "protocol", "a %s message on the %s socket "
				   "failed its checksum", pc_type_name(h->type), c->name);
		break;
	case PC_E_LEN:
		dest_abort(d, page ? EXIT_BAD_PAGE : EXIT_PROTOCOL, page ? "bad-page" : "protocol",
			   "a %s message on the %s socket claims %u bytes of payload",
			   pc_type_name(h->type), c->name, h->len);
		break;
	default:
		dest_abort(d, EXIT_PROTOCOL, "protocol", "%s socket: %s", c->name, pc_err_name(r));
	}
}

/*
 * A page that failed its checksum but whose header was whole: the stream
 * is still in step, so drop it and ask for it again.  0 if handled so,
 * -1 if the failure is of another kind.
 */
static int ask_again(struct dest *d, struct pc_chan *c, int r, const struct pc_hdr *h,
		     uint32_t got)
{
	uint64_t idx;

	if (r != -PC_E_SUM || h->type != PC_PAGE || got != h->len || h->arg % GUEST_PAGE_SIZE ||
	    h->arg >= d->vm.mem_size)
		return -1;
	idx = h->arg / GUEST_PAGE_SIZE;
	__atomic_fetch_add(&d->n_bad_sum, 1, __ATOMIC_RELAXED);
	say_dst("the page for gpa %#llx failed its checksum on the %s connection; not installed, "
		"asking for it again", (unsigned long long)h->arg, c->name);
	if (!page_missing(d, idx))
		return 0;
	__atomic_store_n(&d->requested[idx], 0, __ATOMIC_RELEASE);
	return request_page(d, idx) < 0 ? -1 : 0;
}

static void set_go(struct dest *d)
{
	pthread_mutex_lock(&d->go_lock);
	d->go = true;
	pthread_cond_broadcast(&d->go_cond);
	pthread_mutex_unlock(&d->go_lock);
}

/*
 * Can a broken connection be survived?  Once we have acknowledged the
 * state: if the source got the acknowledgement it gave the guest up and
 * takes our reconnection; if not, it resumed the guest and refuses it.
 */
static bool recoverable(struct dest *d)
{
	return __atomic_load_n(&d->acked, __ATOMIC_ACQUIRE) && !aborted(d);
}

static void *urgent_rx(void *arg);

/* Send the pages our userfault bitmap still marks missing: RESUME, MISSING..., RESUME_END. */
static int send_missing(struct dest *d, uint64_t *missing)
{
	uint64_t first, k, chunk = 4096 * 8;
	uint8_t buf[4096];

	*missing = 0;
	for (k = 0; k < d->npages; k++)
		*missing += page_missing(d, k);
	if (pc_send(&d->main, PC_RESUME, 0, *missing, NULL, 0))
		return -1;
	for (first = 0; first < d->npages; first += chunk) {
		uint64_t n = d->npages - first < chunk ? d->npages - first : chunk;

		memset(buf, 0, sizeof(buf));
		for (k = 0; k < n; k++)
			if (page_missing(d, first + k))
				buf[k / 8] |= 1 << (k % 8);
		if (pc_send(&d->main, PC_MISSING, 0, first, buf, (n + 7) / 8))
			return -1;
	}
	return pc_send(&d->main, PC_RESUME_END, 0, 0, NULL, 0);
}

/*
 * A connection broke after the guest became ours: postcopy pauses (the
 * vCPUs that wait for a page keep waiting, the others run on), we
 * reconnect, tell the source what is still missing and ask again for
 * what was asked for.  Called by the main receiver only.  0, or -1
 * (aborted: the source did not come back within --timeout).
 */
static int reconnect(struct dest *d, const char *why)
{
	uint64_t t0 = now_ns(), idx, missing, asked = 0;
	int fds[2], ch;

	__atomic_store_n(&d->reconnecting, true, __ATOMIC_SEQ_CST);
	say_dst("postcopy paused: %s; the vCPUs keep waiting for their pages, reconnecting to %s",
		why, d->o->connect);
	shutdown(d->urgent.fd, SHUT_RDWR);
	pthread_join(d->rx_urgent, NULL);
	for (ch = PC_CH_MAIN; ch <= PC_CH_URGENT; ch++) {
		fds[ch] = net_connect(d->o->connect, d->o->demand_timeout_s);
		if (fds[ch] < 0) {
			if (ch)
				close(fds[0]);
			dest_abort(d, EXIT_SOURCE_LOST, "source-lost",
				   "the connection to the source broke (%s) and reconnecting to %s "
				   "failed within %u s: %s", why, d->o->connect,
				   d->o->demand_timeout_s, strerror(errno));
			return -1;
		}
	}
	/* vCPUs and the uffd thread may send REQ meanwhile: CHANNEL goes first. */
	if (chan_reconnect(&d->main, fds[PC_CH_MAIN], PC_CH_MAIN | PC_CH_RECONNECT) ||
	    chan_reconnect(&d->urgent, fds[PC_CH_URGENT], PC_CH_URGENT | PC_CH_RECONNECT) ||
	    send_missing(d, &missing)) {
		dest_abort(d, EXIT_SOURCE_LOST, "source-lost", "after reconnecting: %s",
			   strerror(errno));
		return -1;
	}
	if (pthread_create(&d->rx_urgent, NULL, urgent_rx, d)) {
		dest_abort(d, EXIT_INTERNAL, "internal", "pthread_create failed");
		return -1;
	}
	/* What was asked for before the drop may be lost: ask again. */
	for (idx = 0; idx < d->npages; idx++) {
		if (!page_missing(d, idx) || !__atomic_load_n(&d->requested[idx], __ATOMIC_ACQUIRE))
			continue;
		__atomic_store_n(&d->t_requested[idx], now_ns(), __ATOMIC_RELEASE);
		pc_send(&d->urgent, PC_REQ, 0, idx * GUEST_PAGE_SIZE, NULL, 0);
		asked++;
	}
	d->stream_ended = false;
	d->reconnects++;
	d->paused_ns += now_ns() - t0;
	__atomic_store_n(&d->reconnecting, false, __ATOMIC_SEQ_CST);
	say_dst("postcopy resumed after %.1f ms: %llu pages still missing, %llu asked for again",
		(now_ns() - t0) / 1e6, (unsigned long long)missing, (unsigned long long)asked);
	return 0;
}

/*
 * The main connection after STATE: the stream.  It is ordered, so at
 * STREAM_END every page the source streamed is in; any page still missing
 * is asked for now (the watchdog says "page-lost" if it never comes).
 */
static void *main_rx(void *arg)
{
	static uint8_t buf[PC_MAX_PAYLOAD];
	struct dest *d = arg;
	struct pc_hdr h;
	char why[160];
	uint32_t got;
	uint64_t idx;

	pthread_setname_np(pthread_self(), "rx-main");
	for (;;) {
		int r = pc_recv(&d->main, &h, buf, sizeof(buf), &got);

		if (aborted(d))
			return NULL;
		if (r && !missing_pages(d))
			return NULL;	/* the source is done with us */
		if (r && !ask_again(d, &d->main, r, &h, got))
			continue;
		if (r && recoverable(d)) {
			snprintf(why, sizeof(why), "the main connection: %s%s%s", pc_err_name(r),
				 r == -PC_E_IO ? ": " : "", r == -PC_E_IO ? strerror(errno) : "");
			if (reconnect(d, why))
				return NULL;
			continue;
		}
		if (r) {
			recv_failed(d, &d->main, r, &h, got);
			return NULL;
		}
		switch (h.type) {
		case PC_PAGE:
			if (take_page(d, &h, buf, VIA_STREAM))
				return NULL;
			break;
		case PC_GO:
			set_go(d);
			break;
		case PC_STREAM_END:
			d->stream_ended = true;
			for (idx = 0; idx < d->npages; idx++)
				if (page_missing(d, idx) && request_page(d, idx) < 0)
					return NULL;
			if (!missing_pages(d))
				return NULL;
			break;
		case PC_ABORT:
			buf[got < sizeof(buf) ? got : sizeof(buf) - 1] = 0;
			dest_abort(d, EXIT_SOURCE_LOST, "source-lost", "the source aborted: %s", buf);
			return NULL;
		default:
			dest_abort(d, EXIT_PROTOCOL, "protocol", "unexpected %s message on the main connection",
				   pc_type_name(h.type));
			return NULL;
		}
	}
}

/* The urgent connection: answers to demand requests. */
static void *urgent_rx(void *arg)
{
	static uint8_t buf[PC_MAX_PAYLOAD];
	struct dest *d = arg;
	struct pc_hdr h;
	uint32_t got;

	pthread_setname_np(pthread_self(), "rx-urgent");
	for (;;) {
		int r = pc_recv(&d->urgent, &h, buf, sizeof(buf), &got);

		if (aborted(d))
			return NULL;
		/*
		 * Shut down for a reconnect: the main receiver takes over.  Only a
		 * failed receive means that: the receiver reconnect() starts gets
		 * its first answer while reconnect() is still asking again, and a
		 * page that arrived is installed whoever waits for it (the source
		 * won't stream a page it answered).
		 */
		if (r && __atomic_load_n(&d->reconnecting, __ATOMIC_ACQUIRE))
			return NULL;
		/* After the last page, the source hanging up is the normal end. */
		if (r && !missing_pages(d))
			return NULL;
		if (r && !ask_again(d, &d->urgent, r, &h, got))
			continue;
		if (r && recoverable(d)) {
			/* The main receiver reconnects both: wake it. */
			shutdown(d->main.fd, SHUT_RDWR);
			return NULL;
		}
		if (r) {
			recv_failed(d, &d->urgent, r, &h, got);
			return NULL;
		}
		if (h.type != PC_PAGE) {
			dest_abort(d, EXIT_PROTOCOL, "protocol",
				   "unexpected %s message on the urgent connection", pc_type_name(h.type));
			return NULL;
		}
		if (take_page(d, &h, buf, VIA_DEMAND))
			return NULL;
	}
}

/*
 * A vCPU that has been inside KVM_RUN this long, with no demand request
 * outstanding, has a guest that stopped reporting: the guest program exits
 * every few hundred page visits, milliseconds even under TCG.  Only a guest
 * that ran on pages that never reached it (--no-userfault: its stack or
 * code overwritten when the page arrived late) gets there; it may spin
 * without an exit for ever, and the run must end with its error.
 */
#define GUEST_STUCK_NS	(10 * 1000000000ULL)

/* The first vCPU stuck in KVM_RUN at time t (and for how long), or NULL. */
static struct dvcpu *stuck_vcpu(struct dest *d, uint64_t t, uint64_t *ns)
{
	int i;

	for (i = 0; i < d->nvcpus; i++) {
		uint64_t te = __atomic_load_n(&d->cpus[i].t_in_run, __ATOMIC_ACQUIRE);

		if (te && te < t && t - te >= GUEST_STUCK_NS) {
			*ns = t - te;
			return &d->cpus[i];
		}
	}
	return NULL;
}

/*
 * Every 100 ms: a demand request (from a vCPU, the uffd thread or the end
 * of the stream) that has had no answer for --timeout seconds ends the
 * migration, "demand-timeout" while the stream runs and "page-lost" once
 * it has ended without the page; not while reconnecting.  With none
 * outstanding, a vCPU stuck in KVM_RUN ends it (GUEST_STUCK_NS).  After an abort,
 * it gives the vCPU threads a moment to stop by themselves, then ends the
 * process: a thread asleep on a page that will never come (the VMM's own
 * access through the mapping) cannot be woken any other way without
 * letting it read a zero page.
 */
static void *watchdog(void *arg)
{
	struct dest *d = arg;
	uint64_t t_abort = 0, idx, t, ns;
	struct dvcpu *c;
	bool pending;

	for (;;) {
		usleep(100000);
		t = now_ns();
		if (aborted(d)) {
			if (!t_abort)
				t_abort = t;
			if (t - t_abort > 2000000000ULL) {
				say_dst("a thread is still blocked on a page that will not arrive; exiting");
				_exit(d->abort_code);
			}
			continue;
		}
		if (__atomic_load_n(&d->reconnecting, __ATOMIC_ACQUIRE))
			continue;
		pending = false;
		for (idx = 0; idx < d->npages; idx++) {
			uint64_t tr;

			if (!__atomic_load_n(&d->requested[idx], __ATOMIC_ACQUIRE) || !page_missing(d, idx))
				continue;
			pending = true;
			/* A request made since t was read is newer than t: not late. */
			tr = __atomic_load_n(&d->t_requested[idx], __ATOMIC_ACQUIRE);
			if (!tr || tr >= t || t - tr < (uint64_t)d->o->demand_timeout_s * 1000000000ULL)
				continue;
			/* Before stopping anything: what is every thread doing? */
			say_dst("demand request for gpa %#llx unanswered for %.1f s (%s by a receiver), "
				"%llu of %llu pages installed, %llu requests from the uffd thread; "
				"the threads:", (unsigned long long)idx * GUEST_PAGE_SIZE,
				(t - tr) / 1e9, d->claimed[idx] ? "claimed" : "not claimed",
				(unsigned long long)d->installed, (unsigned long long)d->npages,
				(unsigned long long)d->uffd_reqs);
			log_threads("dest");
			if (d->stream_ended)
				dest_abort(d, EXIT_PAGE_LOST, "page-lost",
					   "gpa %#llx never arrived: the stream ended without it and the "
					   "demand request for it had no answer within %u s",
					   (unsigned long long)idx * GUEST_PAGE_SIZE, d->o->demand_timeout_s);
			else
				dest_abort(d, EXIT_TIMEOUT, "demand-timeout",
					   "no answer to the demand request for gpa %#llx within %u s",
					   (unsigned long long)idx * GUEST_PAGE_SIZE, d->o->demand_timeout_s);
			break;
		}
		if (pending || aborted(d) || !(c = stuck_vcpu(d, t, &ns)))
			continue;
		/* Its thread prints the registers once kicked out of KVM_RUN. */
		__atomic_store_n(&c->stuck, true, __ATOMIC_RELEASE);
		dest_abort(d, EXIT_GUEST, "guest",
			   "the guest stopped reporting: vCPU %d has run %.1f s without an exit, "
			   "with no page outstanding", c->v->index, ns / 1e9);
	}
	return NULL;
}

static void record_latency(struct dvcpu *c, uint64_t ns)
{
	c->blocked_ns += ns;
	if (c->nlat == c->cap_lat) {
		size_t cap = c->cap_lat ? 2 * c->cap_lat : 1024;
		uint64_t *p = realloc(c->lat, cap * sizeof(*p));

		if (!p)
			return;		/* lose a sample rather than the run */
		c->lat = p;
		c->cap_lat = cap;
	}
	c->lat[c->nlat++] = ns;
}

/*
 * Ask the source for page idx unless someone did already: 1 if this call
 * sent the request, 0 if not, -1 if it could not be sent (aborted).  The
 * vCPU threads and the uffd thread share it.
 */
static int request_page(struct dest *d, uint64_t idx)
{
	uint64_t gpa = idx * GUEST_PAGE_SIZE;

	if (__atomic_exchange_n(&d->requested[idx], 1, __ATOMIC_ACQ_REL))
		return 0;
	__atomic_store_n(&d->t_requested[idx], now_ns(), __ATOMIC_RELEASE);
	if (pc_send(&d->urgent, PC_REQ, 0, gpa, NULL, 0)) {
		if (recoverable(d))
			return 1;	/* the reconnect asks again */
		dest_abort(d, EXIT_SOURCE_LOST, "source-lost",
			   "cannot ask the source for gpa %#llx: %s",
			   (unsigned long long)gpa, strerror(errno));
		return -1;
	}
	return 1;
}

/*
 * A userfault exit at gpa: ask the source for the page unless it is
 * already on its way, and wait until a receiver has installed it.  Only
 * this vCPU waits; the others run on.  0 to re-enter, -1 if the migration
 * failed meanwhile.
 */
static int wait_for_page(struct dvcpu *c, uint64_t gpa)
{
	struct dest *d = c->d;
	uint64_t idx = gpa / GUEST_PAGE_SIZE;
	int r;

	c->uf_exits++;
	if (gpa % GUEST_PAGE_SIZE || gpa >= d->vm.mem_size) {
		dest_abort(d, EXIT_INTERNAL, "kvm", "userfault exit for gpa %#llx, outside the slot",
			   (unsigned long long)gpa);
		return -1;
	}
	if (!page_missing(d, idx)) {
		c->uf_raced++;		/* installed since KVM looked */
		return 0;
	}
	r = request_page(d, idx);
	if (r < 0)
		return -1;
	c->demand_reqs += r;

	/*
	 * The watchdog ends a migration whose page does not come; the 1 s wait
	 * only bounds the cost of a wakeup the handshake should never miss.
	 */
	pthread_mutex_lock(&c->lock);
	__atomic_store_n(&c->waiting_idx, idx, __ATOMIC_SEQ_CST);
	while (page_missing(d, idx) && !aborted(d)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec++;
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	__atomic_store_n(&c->waiting_idx, NO_PAGE, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&c->lock);
	return aborted(d) ? -1 : 0;
}

/* Which region a gpa is in, for the report: 0 system, 1 working set, 2 device. */
static int region(struct dest *d, uint64_t gpa)
{
	return gpa < d->hello.data_gpa ? 0 : gpa < d->hello.dev_gpa ? 1 : 2;
}

#define UFFD_PENDING_MAX	64

/*
 * The uffd thread: a fault through the guest_memfd mapping (KVM's own
 * access, or the VMM's) on a page that has not arrived becomes a demand
 * request, like a userfault exit.  The faulting thread sleeps in the kernel
 * until UFFDIO_COPY installs the page and wakes it, so nothing waits here
 * (the watchdog times requests out).
 */
static void *uffd_rx(void *arg)
{
	struct dest *d = arg;

	pthread_setname_np(pthread_self(), "uffd");
	for (;;) {
		struct pollfd p = { .fd = d->uffd, .events = POLLIN };
		uint64_t addr;
		int r;

		r = poll(&p, 1, 100);
		while (r > 0 && (r = uffd_read_fault(d->uffd, &addr)) > 0) {
			uint64_t gpa = addr - (uintptr_t)d->vm.mem, idx;

			if (addr < (uintptr_t)d->vm.mem || gpa >= d->vm.mem_size)
				continue;
			idx = gpa / GUEST_PAGE_SIZE;
			d->uffd_faults[region(d, gpa)]++;
			if (!page_missing(d, idx)) {
				/* Installed after the fault was queued: make sure it is awake. */
				d->uffd_raced++;
				uffd_wake(d->uffd, d->vm.mem + idx * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
				continue;
			}
			r = request_page(d, idx);
			if (r < 0)
				break;
			d->uffd_reqs += r;
			r = 1;
		}
		if (r < 0 && !aborted(d))
			dest_abort(d, EXIT_INTERNAL, "kvm", "reading the userfaultfd: %s",
				   strerror(errno));
		if (aborted(d))
			return NULL;
	}
}

static uint64_t total_visits(struct dest *d)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < d->nvcpus; i++)
		v += __atomic_load_n(&d->cpus[i].ports.visits, __ATOMIC_RELAXED);
	return v;
}

/*
 * The guest asks "finish?" every few hundred visits.  That is also where a
 * vCPU thread, between two KVM_RUNs, probes first, and the first to see
 * every page in turns userfault off and lets the source go.
 */
static uint32_t guest_command(struct dvcpu *c)
{
	struct dest *d = c->d;

	/* First thing after resuming: device and kvmclock on pages not here yet. */
	if (!c->probe_sent) {
		c->probe_sent = true;
		return CMD_PROBE;
	}
	if (d->o->fault == FAULT_GUEST_HANG) {
		say_dst("injecting fault: vCPU %d told to spin without an exit", c->v->index);
		return CMD_HANG;
	}
	if (!__atomic_load_n(&d->uf_off, __ATOMIC_ACQUIRE) && !missing_pages(d)) {
		pthread_mutex_lock(&d->off_lock);
		if (!d->uf_off) {
			if (!d->o->no_userfault && vm_set_userfault(&d->vm, false)) {
				pthread_mutex_unlock(&d->off_lock);
				dest_abort(d, EXIT_INTERNAL, "kvm", "cannot turn KVM_MEM_USERFAULT off");
				return CMD_CONTINUE;
			}
			d->t_uf_off = now_ns();
			d->visits_at_uf_off = total_visits(d);
			__atomic_store_n(&d->uf_off, true, __ATOMIC_RELEASE);
			/* The source is not needed any more; it may have gone already. */
			if (pc_send(&d->main, PC_COMPLETE, 0, 0, NULL, 0))
				say_dst("could not tell the source we are done: %s", strerror(errno));
		}
		pthread_mutex_unlock(&d->off_lock);
	}
	if (__atomic_load_n(&d->uf_off, __ATOMIC_ACQUIRE) &&
	    c->ports.sweeps >= c->sweeps_at_resume + d->o->post_sweeps)
		return CMD_FINISH;
	return CMD_CONTINUE;
}

static void *vcpu_loop(void *arg)
{
	struct dvcpu *c = arg;
	struct dest *d = c->d;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%d", c->v->index);
	pthread_setname_np(pthread_self(), name);
	struct kvm_run *run = c->v->run;
	uint64_t t, t_fault = 0, written;
	char why[256];

	for (;;) {
		int r;

		if (aborted(d))
			return NULL;
		t = now_ns();
		if (!c->t_first_run)
			c->t_first_run = t;
		if (t_fault) {
			record_latency(c, t - t_fault);
			t_fault = 0;
		}
		__atomic_store_n(&c->t_in_run, t, __ATOMIC_RELEASE);
		r = ioctl(c->v->fd, KVM_RUN, 0);
		__atomic_store_n(&c->t_in_run, 0, __ATOMIC_RELEASE);
		t = now_ns();
		if (r < 0) {
			if (errno == EINTR) {
				/* dest_abort() kicked us: if for being stuck, say where. */
				if (__atomic_load_n(&c->stuck, __ATOMIC_ACQUIRE))
					vcpu_dump(c->v, "dest");
				continue;
			}
			if (errno == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
			    (run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_USERFAULT)) {
				if (wait_for_page(c, run->memory_fault.gpa))
					return NULL;
				t_fault = t;
				continue;
			}
			dest_abort(d, EXIT_INTERNAL, "kvm",
				   "vCPU %d: KVM_RUN: %s (exit reason %u, memory_fault gpa %#llx flags %#llx)",
				   c->v->index, strerror(errno), run->exit_reason,
				   (unsigned long long)run->memory_fault.gpa,
				   (unsigned long long)run->memory_fault.flags);
			return NULL;
		}
		if (run->exit_reason != KVM_EXIT_IO) {
			if (!aborted(d))
				vcpu_dump(c->v, "dest");
			dest_abort(d, EXIT_GUEST, "guest", "vCPU %d stopped with exit reason %s (%u)",
				   c->v->index, exit_reason_name(run->exit_reason), run->exit_reason);
			return NULL;
		}
		switch (ports_handle(&c->ports, run)) {
		case EV_CMD:
			io_in_answer(run, guest_command(c));
			break;
		case EV_DOORBELL:
			/* Reads and writes guest memory: may wait on userfaultfd. */
			if (device_doorbell(d->vm.mem, d->vm.mem_size, c->ports.doorbell_gpa,
					    &written, why, sizeof(why))) {
				dest_abort(d, EXIT_GUEST, "guest", "vCPU %d: doorbell: %s",
					   c->v->index, why);
				return NULL;
			}
			break;
		case EV_PROBE:
			c->probe_result = c->ports.probe_result;
			if (c->probe_result & ~PROBE_KVMCLOCK) {
				dest_abort(d, EXIT_GUEST, "guest",
					   "vCPU %d: the probe after resuming failed: %s", c->v->index,
					   probe_failure(c->probe_result, why, sizeof(why)));
				return NULL;
			}
			break;
		case EV_DONE:
			c->t_done = t;
			c->done = true;
			return NULL;
		case EV_BAD:
		case EV_INIT_DONE:	/* the guest started over?! */
			dest_abort(d, EXIT_GUEST, "guest",
				   "vCPU %d: unexpected guest I/O: port %#x, %s, size %u", c->v->index,
				   run->io.port, run->io.direction ? "out" : "in", run->io.size);
			return NULL;
		default:
			break;
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t uffd_faults(struct dest *d)
{
	return d->uffd_faults[0] + d->uffd_faults[1] + d->uffd_faults[2];
}

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

/* The vCPUs' numbers added up, for the report and the verdict. */
struct totals {
	uint64_t uf_exits, uf_raced, demand_reqs;
	uint64_t *lat;
	size_t nlat;
	uint64_t visits_at_resume, visits, t_first_run, t_done;
	uint64_t src_warm_visits, src_warm_ns;
	uint32_t result_run, result_final;
	int probes_ok, probes_run;
};

static void add_up(struct dest *d, struct totals *t)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < d->nvcpus; i++)
		t->nlat += d->cpus[i].nlat;
	t->lat = calloc(t->nlat + 1, sizeof(*t->lat));
	t->nlat = 0;
	for (i = 0; i < d->nvcpus; i++) {
		struct dvcpu *c = &d->cpus[i];

		t->uf_exits += c->uf_exits;
		t->uf_raced += c->uf_raced;
		t->demand_reqs += c->demand_reqs;
		if (t->lat) {
			memcpy(t->lat + t->nlat, c->lat, c->nlat * sizeof(*c->lat));
			t->nlat += c->nlat;
		}
		t->visits_at_resume += c->visits_at_resume;
		t->visits += c->ports.visits;
		if (c->t_first_run > t->t_first_run)
			t->t_first_run = c->t_first_run;
		if (c->t_done > t->t_done)
			t->t_done = c->t_done;
		t->src_warm_visits += c->src_warm_visits;
		if (c->src_warm_ns > t->src_warm_ns)
			t->src_warm_ns = c->src_warm_ns;
		t->result_run += c->ports.result_run;
		t->result_final += c->ports.result_final;
		t->probes_run += !!(c->probe_result & PROBE_KVMCLOCK);
		t->probes_ok += c->probe_result == PROBE_KVMCLOCK;
	}
}

static void report(struct dest *d, struct totals *t, bool pass)
{
	uint64_t in = d->main.bytes_in + d->urgent.bytes_in;
	uint64_t out = d->main.bytes_out + d->urgent.bytes_out;
	uint64_t t0 = d->t_src_last_run;
	int i;

	printf("==== postcopy migration report ====\n");
	printf("working set      %u MiB (%llu pages) of %llu MiB guest memory (%llu pages), %d vCPUs\n",
	       (unsigned)(d->hello.data_pages >> 8), (unsigned long long)d->hello.data_pages,
	       (unsigned long long)(d->vm.mem_size >> 20), (unsigned long long)d->npages,
	       d->nvcpus);
	printf("downtime         %.3f ms (source's last KVM_RUN return -> every destination vCPU in KVM_RUN)\n",
	       ms(t->t_first_run - t0));
	printf("total migration  %.1f ms (source pause -> last page installed); "
	       "%s at +%.1f ms\n", ms(d->t_all_installed - t0),
	       d->o->no_userfault ? "(no KVM_MEM_USERFAULT in this run) completion seen" :
	       "KVM_MEM_USERFAULT off", ms(d->t_uf_off - t0));
	if (d->hello.precopy_rounds) {
		printf("precopy          %u rounds in %.1f ms while the guest ran, pages per round:",
		       d->pre.rounds, ms(d->pre.ns));
		for (i = 0; i < (int)d->pre.rounds; i++)
			printf(" %llu", (unsigned long long)d->pre.pages[i]);
		printf("; %llu dirty at the pause (%llu taken back in %.1f ms of the downtime: "
		       "hole punched, bit set again)\n", (unsigned long long)d->pre.dirty_at_pause,
		       (unsigned long long)d->n_taken_back, ms(d->take_back_ns));
	}
	printf("pages            %llu = %llu pre-copied + %llu on demand + %llu streamed "
	       "(%llu of them zero); %llu duplicates dropped%s\n",
	       (unsigned long long)d->installed, (unsigned long long)d->n_precopy,
	       (unsigned long long)d->n_demand, (unsigned long long)d->n_stream,
	       (unsigned long long)d->n_zero, (unsigned long long)d->n_dup,
	       d->n_eexist ? "; some were in the guest_memfd before they arrived" : "");
	printf("userfault exits  %llu: %llu demand requests, %llu raced (the page had arrived since KVM looked)\n",
	       (unsigned long long)t->uf_exits, (unsigned long long)t->demand_reqs,
	       (unsigned long long)t->uf_raced);
	if (d->uffd >= 0)
		printf("userfaultfd      %llu faults through the mapping (KVM's and the VMM's own accesses: "
		       "%llu system, %llu working set, %llu device region): %llu demand requests, "
		       "%llu raced\n",
		       (unsigned long long)uffd_faults(d), (unsigned long long)d->uffd_faults[0],
		       (unsigned long long)d->uffd_faults[1], (unsigned long long)d->uffd_faults[2],
		       (unsigned long long)d->uffd_reqs, (unsigned long long)d->uffd_raced);
	else
		printf("userfaultfd      not registered (--no-uffd)\n");
	if (t->nlat && t->lat) {
		qsort(t->lat, t->nlat, sizeof(*t->lat), cmp_u64);
		printf("fault latency    p50 %.1f us, p99 %.1f us, max %.1f us over %zu exits "
		       "(exit -> installed -> bit cleared -> re-entry)\n",
		       t->lat[(t->nlat - 1) * 50 / 100] / 1e3, t->lat[(t->nlat - 1) * 99 / 100] / 1e3,
		       t->lat[t->nlat - 1] / 1e3, t->nlat);
	} else {
		printf("fault latency    no userfault exits\n");
	}
	for (i = 0; i < d->nvcpus; i++) {
		struct dvcpu *c = &d->cpus[i];

		printf("vcpu %d           blocked %.1f ms on %llu userfault exits (%llu raced), "
		       "%llu visits on the destination\n", i, ms(c->blocked_ns),
		       (unsigned long long)c->uf_exits, (unsigned long long)c->uf_raced,
		       (unsigned long long)(c->ports.visits - c->visits_at_resume));
	}
	printf("injected delay   %u us per demand request; stream ", d->hello.delay_us);
	if (d->hello.rate_mib)
		printf("limited to %u MiB/s\n", d->hello.rate_mib);
	else
		printf("not rate-limited\n");
	if (d->reconnects || d->n_bad_sum)
		printf("recovery         %u reconnects (postcopy paused %.1f ms), %llu pages asked for "
		       "again after a bad checksum\n", d->reconnects, ms(d->paused_ns),
		       (unsigned long long)d->n_bad_sum);
	printf("bytes moved      %.2f MiB (source -> destination %.2f MiB, destination -> source %.3f MiB)\n",
	       (in + out) / 1048576.0, in / 1048576.0, out / 1048576.0);
	printf("guest            paused at visit %llu; %llu visits on the destination, "
	       "done at +%.1f ms\n", (unsigned long long)t->visits_at_resume,
	       (unsigned long long)(t->visits - t->visits_at_resume), ms(t->t_done - t0));
	/* The cost of postcopy to the guest: how fast it runs while pages are missing. */
	if (t->src_warm_ns) {
		printf("guest speed      %.0f page visits/s on the source before the pause",
		       t->src_warm_visits / (t->src_warm_ns / 1e9));
		if (d->visits_at_uf_off > t->visits_at_resume && d->t_uf_off > t->t_first_run)
			printf(", %.0f on the destination while pages were missing",
			       (d->visits_at_uf_off - t->visits_at_resume) /
			       ((d->t_uf_off - t->t_first_run) / 1e9));
		printf("\n");
	}
	printf("verification     %u mismatching pages during the run, %u in the final pass over "
	       "all %llu pages; device checksum and kvmclock after resume: %d of %d vCPUs ok\n",
	       t->result_run, t->result_final, (unsigned long long)d->hello.data_pages,
	       t->probes_ok, d->nvcpus);
	printf("result           %s\n", pass ? "PASS" : "FAIL");
	fflush(stdout);
}

/* HELLO: what to build.  Checked: the numbers come from the peer. */
static int receive_hello(struct dest *d)
{
	struct pc_hello *hl = &d->hello;
	uint8_t buf[PC_MAX_PAYLOAD];
	char why[160];
	struct pc_hdr h;
	uint32_t got;
	int r;

	r = pc_recv(&d->main, &h, buf, sizeof(buf), &got);
	if (r) {
		recv_failed(d, &d->main, r, &h, got);
		return -1;
	}
	if (h.type != PC_HELLO) {
		dest_abort(d, EXIT_PROTOCOL, "protocol", "expected HELLO, got %s",
			   pc_type_name(h.type));
		return -1;
	}
	if (hello_decode(hl, buf, h.len, why, sizeof(why))) {
		dest_abort(d, EXIT_PROTOCOL, "protocol", "%s", why);
		return -1;
	}
	if (hl->page_size != GUEST_PAGE_SIZE || !hl->mem_size || hl->mem_size % GUEST_PAGE_SIZE ||
	    hl->mem_size > MAX_MEM_BYTES || hl->data_gpa != GPA_DATA ||
	    hl->dev_gpa != hl->data_gpa + hl->data_pages * GUEST_PAGE_SIZE ||
	    hl->dev_gpa + DEV_REGION_SIZE != hl->mem_size || !hl->every ||
	    !hl->nvcpus || hl->nvcpus > MAX_VCPUS || hl->data_pages < hl->nvcpus) {
		dest_abort(d, EXIT_PROTOCOL, "protocol",
			   "HELLO describes an impossible guest: %#llx bytes in pages of %u, data at %#llx, "
			   "%u vCPUs", (unsigned long long)hl->mem_size, hl->page_size,
			   (unsigned long long)hl->data_gpa, hl->nvcpus);
		return -1;
	}
	return 0;
}

/*
 * The downtime: STATE alone (every page before it with --precopy-all).
 * Returns 0 to resume.
 */
/*
 * DIRTY: pages the source sent in a precopy round and the guest changed
 * since.  Our copy is stale: punch it out of the guest_memfd (so that an
 * access through the mapping faults to userfaultfd again, and a vCPU
 * fault cannot find it) and set its bit again; the stream or a demand
 * request brings the final copy.  No vCPU has run here yet.
 */
static int take_back(struct dest *d, uint64_t first, const uint8_t *bits, uint32_t len)
{
	uint64_t k, idx, run = 0, nrun = 0, t0 = now_ns();

	if (first % 8 || first >= d->npages || len > (d->npages - first + 7) / 8) {
		dest_abort(d, EXIT_PROTOCOL, "protocol", "DIRTY for pages %llu + %u bytes of bitmap, "
			   "the guest has %llu", (unsigned long long)first, len,
			   (unsigned long long)d->npages);
		return -1;
	}
	/* One hole per run of contiguous pages: the switch-over is downtime. */
	for (k = 0; k <= (uint64_t)len * 8; k++) {
		bool take = false;

		idx = first + k;
		if (k < (uint64_t)len * 8 && idx < d->npages && (bits[k / 8] & (1 << (k % 8))) &&
		    d->claimed[idx])
			take = true;	/* a page never sent is still missing anyway */
		if (take && nrun && run + nrun == idx) {
			nrun++;
		} else {
			if (nrun && vm_discard(&d->vm, run * GUEST_PAGE_SIZE, nrun * GUEST_PAGE_SIZE)) {
				dest_abort(d, EXIT_INTERNAL, "kvm", "cannot take back gpa %#llx + %llu pages",
					   (unsigned long long)run * GUEST_PAGE_SIZE,
					   (unsigned long long)nrun);
				return -1;
			}
			run = idx;
			nrun = take;
		}
		if (!take)
			continue;
		__atomic_fetch_or(&d->uf[idx / BITS_PER_LONG], 1UL << (idx % BITS_PER_LONG),
				  __ATOMIC_SEQ_CST);
		d->claimed[idx] = 0;
		d->installed--;
		d->n_precopy--;
		d->n_taken_back++;
	}
	d->take_back_ns += now_ns() - t0;
	return 0;
}

/*
 * The switch-over: precopy pages (and with --precopy, the rounds' figures
 * and the pages taken back), then one STATE per vCPU.  Returns 0 to resume.
 */
static int receive_switchover(struct dest *d, struct pc_state *st)
{
	static uint8_t buf[PC_MAX_PAYLOAD];
	bool have[MAX_VCPUS] = { false };
	bool precopy = d->hello.precopy_all || d->hello.precopy_rounds;
	struct pc_hdr h;
	uint32_t got;
	int r, n = 0;

	while (n < d->nvcpus) {
		r = pc_recv(&d->main, &h, buf, sizeof(buf), &got);
		if (r) {
			recv_failed(d, &d->main, r, &h, got);
			return -1;
		}
		if (h.type == PC_STATE) {
			if (d->o->fault == FAULT_DEST_DIES_EARLY) {
				say_dst("injecting fault: dying (SIGKILL) on the first STATE, before "
					"acknowledging it");
				kill(getpid(), SIGKILL);
			}
			if (h.arg >= (uint64_t)d->nvcpus || have[h.arg] ||
			    state_decode(&st[h.arg], buf, h.len)) {
				dest_abort(d, EXIT_PROTOCOL, "protocol",
					   "STATE for vCPU %llu is unexpected or does not decode (%u bytes)",
					   (unsigned long long)h.arg, h.len);
				return -1;
			}
			have[h.arg] = true;
			n++;
			continue;
		}
		if (h.type == PC_SYNC && d->hello.precopy_rounds && !n) {
			/* Every page before it is in: the source may pause now. */
			if (pc_send(&d->main, PC_SYNC, 0, h.arg, NULL, 0)) {
				dest_abort(d, EXIT_SOURCE_LOST, "source-lost", "cannot answer SYNC: %s",
					   strerror(errno));
				return -1;
			}
			continue;
		}
		if (h.type == PC_PRECOPY_END && d->hello.precopy_rounds && !n) {
			if (precopy_decode(&d->pre, buf, h.len)) {
				dest_abort(d, EXIT_PROTOCOL, "protocol", "PRECOPY_END does not decode");
				return -1;
			}
			continue;
		}
		if (h.type == PC_DIRTY && d->hello.precopy_rounds && !n) {
			if (take_back(d, h.arg, buf, h.len))
				return -1;
			continue;
		}
		if (h.type != PC_PAGE || !(h.flags & PC_PAGE_PRECOPY) || !precopy || n) {
			dest_abort(d, EXIT_PROTOCOL, "protocol", "unexpected %s before STATE",
				   pc_type_name(h.type));
			return -1;
		}
		if (take_page(d, &h, buf, VIA_PRECOPY))
			return -1;
	}
	return 0;
}

/* Connect both channels to the source, naming each. */
static int connect_source(struct dest *d)
{
	int ch;

	for (ch = PC_CH_MAIN; ch <= PC_CH_URGENT; ch++) {
		struct pc_chan *c = ch == PC_CH_MAIN ? &d->main : &d->urgent;
		int fd = net_connect(d->o->connect, 30);

		if (fd < 0) {
			dest_abort(d, EXIT_SOURCE_LOST, "source-lost", "cannot connect to %s: %s",
				   d->o->connect, strerror(errno));
			return -1;
		}
		chan_init(c, fd, ch == PC_CH_MAIN ? "main" : "urgent");
		if (pc_send(c, PC_CHANNEL, 0, ch, NULL, 0)) {
			dest_abort(d, EXIT_SOURCE_LOST, "source-lost", "%s connection: %s",
				   c->name, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int dest_main(const struct options *o)
{
	static struct dest dd;
	struct dest *d = &dd;
	struct sigaction sa = { .sa_handler = kick };	/* no SA_RESTART */
	pthread_condattr_t ca;
	static struct pc_state st[MAX_VCPUS];
	struct timespec ts;
	struct totals t;
	uint64_t idx;
	char why[256];
	bool pass;
	int r, i;

	d->o = o;
	d->main.fd = d->urgent.fd = -1;
	pthread_mutex_init(&d->abort_lock, NULL);
	pthread_mutex_init(&d->off_lock, NULL);
	pthread_mutex_init(&d->go_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->go_cond, &ca);
	for (i = 0; i < MAX_VCPUS; i++) {
		d->cpus[i].d = d;
		d->cpus[i].waiting_idx = NO_PAGE;
		d->cpus[i].ports.who = "dest";
		pthread_mutex_init(&d->cpus[i].lock, NULL);
		pthread_cond_init(&d->cpus[i].cond, &ca);
	}
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = kvm_probe(!o->no_userfault, why, sizeof(why));
	if (r) {
		say_dst("%s: %s", r == EXIT_SKIP ? "SKIP" : "error", why);
		return r;
	}
	if (connect_source(d))
		return d->abort_code;
	if (receive_hello(d))
		return d->abort_code;
	d->npages = d->hello.mem_size / GUEST_PAGE_SIZE;
	d->nvcpus = d->hello.nvcpus;

	/* Every page starts out missing. */
	d->uf = calloc((d->npages + BITS_PER_LONG - 1) / BITS_PER_LONG, sizeof(unsigned long));
	d->claimed = calloc(d->npages, 1);
	d->requested = calloc(d->npages, 1);
	d->t_requested = calloc(d->npages, sizeof(*d->t_requested));
	if (!d->uf || !d->claimed || !d->requested || !d->t_requested)
		return EXIT_INTERNAL;
	for (idx = 0; idx < d->npages; idx++)
		d->uf[idx / BITS_PER_LONG] |= 1UL << (idx % BITS_PER_LONG);
	/* --no-userfault keeps the bitmap for bookkeeping but does not give it KVM. */
	if (vm_create(&d->vm, d->hello.mem_size, o->no_userfault ? NULL : d->uf, d->nvcpus,
		      false))
		return EXIT_INTERNAL;
	for (i = 0; i < d->nvcpus; i++)
		d->cpus[i].v = &d->vm.vcpus[i];
	/*
	 * Register the mapping before anything can touch it, and start the
	 * thread that serves its faults before any KVM call that might.
	 */
	d->uffd = -1;
	if (!o->no_uffd) {
		r = uffd_probe(why, sizeof(why));
		if (r) {
			say_dst("%s: %s", r == EXIT_SKIP ? "SKIP" : "error", why);
			return r;
		}
		d->uffd = uffd_register(d->vm.mem, d->vm.mem_size);
		if (d->uffd < 0)
			return EXIT_INTERNAL;
		if (pthread_create(&d->uffd_thread, NULL, uffd_rx, d)) {
			say_dst("pthread_create failed");
			return EXIT_INTERNAL;
		}
	}
	if (pc_send(&d->main, PC_READY, 0, WIRE_VERSION, NULL, 0)) {
		dest_abort(d, EXIT_SOURCE_LOST, "source-lost", "cannot send READY: %s",
			   strerror(errno));
		return d->abort_code;
	}

	/* Downtime: from here to the first KVM_RUN. */
	if (receive_switchover(d, st))
		return d->abort_code;
	for (i = 0; i < d->nvcpus; i++) {
		struct dvcpu *c = &d->cpus[i];

		if (vcpu_set_state(c->v, &st[i].vcpu)) {
			dest_abort(d, EXIT_INTERNAL, "kvm", "cannot load vCPU %d's state", i);
			return d->abort_code;
		}
		if (st[i].t_last_run_ns > d->t_src_last_run)
			d->t_src_last_run = st[i].t_last_run_ns;
		c->visits_at_resume = c->ports.visits = st[i].visits;
		c->ports.last_progress = (uint32_t)st[i].visits;
		c->sweeps_at_resume = c->ports.sweeps = st[i].sweeps;
		c->src_warm_visits = st[i].warm_visits;
		c->src_warm_ns = st[i].warm_ns;
	}

	/*
	 * Hand-over: STATE_ACK says we have the state; the guest runs here
	 * only once the source says it gave the guest up (GO), so that it
	 * never runs on both sides.  A source that gets no STATE_ACK in time
	 * resumes the guest and closes its connections and its listener.
	 */
	if (d->o->fault == FAULT_ACK_LATE) {
		say_dst("injecting fault: acknowledging the state only after %u s, when the source "
			"has given up waiting", d->o->demand_timeout_s + 1);
		sleep(d->o->demand_timeout_s + 1);
	}
	if (pc_send(&d->main, PC_STATE_ACK, 0, d->nvcpus, NULL, 0)) {
		dest_abort(d, EXIT_SOURCE_LOST, "source-lost", "cannot acknowledge the state: %s",
			   strerror(errno));
		say_dst("the source did not hand the guest over (no GO): it stays there; no vCPU "
			"ran here");
		return d->abort_code;
	}
	__atomic_store_n(&d->acked, true, __ATOMIC_RELEASE);
	if (__atomic_load_n(&d->installed, __ATOMIC_SEQ_CST) == d->npages)
		__atomic_store_n(&d->t_all_installed, now_ns(), __ATOMIC_RELEASE);
	if (pthread_create(&d->rx_main, NULL, main_rx, d) ||
	    pthread_create(&d->rx_urgent, NULL, urgent_rx, d) ||
	    pthread_create(&d->watchdog, NULL, watchdog, d)) {
		dest_abort(d, EXIT_INTERNAL, "internal", "pthread_create failed");
		return d->abort_code;
	}
	pthread_mutex_lock(&d->go_lock);
	while (!d->go && !aborted(d)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d->go_cond, &d->go_lock, &ts);
	}
	pthread_mutex_unlock(&d->go_lock);
	if (!d->go) {
		say_dst("the source did not hand the guest over (no GO): it stays there; no vCPU "
			"ran here");
		return d->abort_code;
	}
	for (i = 0; i < d->nvcpus; i++) {
		if (pthread_create(&d->cpus[i].thread, NULL, vcpu_loop, &d->cpus[i])) {
			dest_abort(d, EXIT_INTERNAL, "internal", "pthread_create failed");
			break;
		}
		d->cpus[i].started = true;
	}
	for (i = 0; i < d->nvcpus; i++)
		if (d->cpus[i].started)
			pthread_join(d->cpus[i].thread, NULL);
	/*
	 * Let the main receiver read the stream to its end, so that the
	 * source, still streaming pages we no longer need, does not see a
	 * reset connection; not forever.
	 */
	if (!aborted(d)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 10;
		pthread_timedjoin_np(d->rx_main, NULL, &ts);
	}
	add_up(d, &t);

	if (aborted(d)) {
		say_dst("stopped with %llu of %llu pages installed, after %llu userfault exits "
			"(%llu demand requests)",
			(unsigned long long)d->installed, (unsigned long long)d->npages,
			(unsigned long long)t.uf_exits, (unsigned long long)t.demand_reqs);
		return d->abort_code;
	}

	pass = !t.result_run && !t.result_final;
	report(d, &t, pass && t.uf_exits >= o->min_faults && uffd_faults(d) >= o->min_uffd_faults &&
	       t.probes_run == d->nvcpus);
	if (t.probes_run != d->nvcpus) {
		say_dst("error: guest: %d of %d vCPUs never reported their probe after resuming",
			d->nvcpus - t.probes_run, d->nvcpus);
		return EXIT_GUEST;
	}
	if (!pass) {
		say_dst("error: guest: the guest found %u stale or lost pages while running and %u "
			"in its final pass", t.result_run, t.result_final);
		return EXIT_GUEST;
	}
	if (t.uf_exits < o->min_faults) {
		say_dst("error: too-few-faults: %llu userfault exits, --min-faults wants %u: "
			"the demand path was not exercised", (unsigned long long)t.uf_exits,
			o->min_faults);
		return EXIT_INTERNAL;
	}
	if (uffd_faults(d) < o->min_uffd_faults) {
		say_dst("error: too-few-faults: %llu userfaultfd faults, --min-uffd-faults wants %u: "
			"no access through the mapping waited for a page",
			(unsigned long long)uffd_faults(d), o->min_uffd_faults);
		return EXIT_INTERNAL;
	}
	return EXIT_OK;
}
