// SPDX-License-Identifier: GPL-2.0
/*
 * source.c: the migration source.
 *
 * Boots the guest (guest.c) in a VM of its own, listens for the
 * destination, lets the guest fill its working set and run part of a
 * sweep, and migrates it:
 *   1. with --precopy N (hybrid), up to N precopy rounds while the guest
 *      runs: every page, then the pages KVM_GET_DIRTY_LOG (and the VMM's
 *      own device writes) say changed since, until that set stops
 *      shrinking; the guest's memory is ordinary anonymous memory here,
 *      because 7.3 cannot dirty-log a guest_memfd memslot (kvm.h);
 *   2. pause every vCPU; in the downtime: the pages dirty since the last
 *      round (DIRTY: the destination takes them back), and the vCPUs'
 *      state (with --precopy-all, every page first: the stop-and-copy
 *      baseline);
 *   3. then, with the destination already running, every page not sent
 *      or dirty: a stream in gpa order on the main connection, while
 *      demand requests are answered on the urgent connection.
 * The guest here never runs again after the pause (unless the destination
 * never acknowledged its state), so a page sent after it is final; the
 * stream sends it once, demand once more if the destination asked for it
 * before the stream got there, and again after a reconnect or a bad
 * checksum if the destination still misses it.
 *
 * --delay-us sleeps before answering each demand request (a network round
 * trip, the cost postcopy pays per fault); --rate caps the stream.
 * --fault makes this side misbehave mid-stream, for the destination to catch.
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
#include "wire.h"
#include "vmm.h"

#define BITS_PER_LONG	(8 * sizeof(unsigned long))

/* The guest program, linked in by build-vmm.sh (ld -r -b binary). */
extern const uint8_t _binary_guest_bin_start[], _binary_guest_bin_end[];

struct source;

/* One vCPU on this side: its thread runs the guest until the pause. */
struct svcpu {
	struct source *s;
	struct vcpu *v;
	struct guest_ports ports;
	pthread_t thread;
	uint64_t t_last;		/* its last KVM_RUN return */
	uint64_t t_warm_ns;		/* from the end of its fill to the pause */
	int error;
	bool done;			/* (resumed here) the guest's final report is in */
};

#define DEMAND_WORKERS	4

struct source {
	const struct options *o;
	struct vm vm;
	int nvcpus;
	struct svcpu cpus[MAX_VCPUS];
	bool pause;			/* every vCPU stops */
	bool pause_at_cmd;		/* every vCPU stops at its next question */
	bool finish;			/* (resumed here) tell the guest to verify and stop */
	bool warm;			/* vCPU 0 has done its warm-up: migrate */
	unsigned long *vmm_dirty;	/* pages the VMM itself wrote (the device) */
	unsigned long *dirty;		/* pages to send again (KVM's log | vmm_dirty) */
	unsigned long *log;		/* one KVM_GET_DIRTY_LOG */
	struct pc_precopy pre;
	int ready;			/* vCPUs past their fill and first probe */
	struct pc_chan main, urgent;
	uint64_t npages;		/* guest memory, in pages */
	uint64_t data_pages;		/* the working set, in pages */
	uint8_t *sent;			/* per page: already on its way */
	uint64_t stream_pages, stream_zero, precopy_pages;
	uint64_t demand_pages;
	int demand_error;		/* set by the demand threads when they fail */
	int lfd;			/* still listening: the destination may reconnect */
	bool fault_done;		/* --fault injected already */
	uint64_t lost_idx;		/* --fault=lose-page: the page never sent */
	bool stalled;			/* --fault=stall: send nothing more */
	unsigned int reconnects;

	/* Demand requests, received by one thread, served by DEMAND_WORKERS. */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	uint64_t *queue;		/* ring of gpas, npages long */
	uint64_t qhead, qtail;
	bool qdone;
};

static void say_src(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say_src(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("source", fmt, ap);
	va_end(ap);
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	int i;

	for (i = 0; i < GUEST_PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/*
 * Send one page.  It is copied first: in a precopy round the guest may be
 * writing it right now, and the checksum and the bytes on the wire must be
 * of the same copy (a torn page would fail the destination's check; the
 * dirty log makes sure a page changed meanwhile is sent again).
 */
static int send_page(struct source *s, struct pc_chan *c, uint64_t gpa, uint16_t flags,
		     bool *zero)
{
	uint64_t copy[GUEST_PAGE_SIZE / 8];

	memcpy(copy, s->vm.mem + gpa, GUEST_PAGE_SIZE);
	*zero = page_is_zero((const uint8_t *)copy);
	if (*zero)
		return pc_send(c, PC_PAGE, flags | PC_PAGE_ZERO, gpa, NULL, 0);
	return pc_send(c, PC_PAGE, flags, gpa, copy, GUEST_PAGE_SIZE);
}

/* Claim page idx for sending; false if someone already sent it. */
static bool claim(struct source *s, uint64_t idx)
{
	return !__atomic_exchange_n(&s->sent[idx], 1, __ATOMIC_ACQ_REL);
}

static int setup_guest(struct source *s)
{
	size_t size = _binary_guest_bin_end - _binary_guest_bin_start;
	int i;

	if (size > GUEST_IMAGE_MAX) {
		say_src("guest image is %zu bytes, more than %u", size, GUEST_IMAGE_MAX);
		return -1;
	}
	memcpy(s->vm.mem + GPA_IMAGE, _binary_guest_bin_start, size);
	if (vm_write_boot_tables(&s->vm))
		return -1;
	for (i = 0; i < s->nvcpus; i++) {
		uint64_t args[6] = {
			GPA_DATA, s->data_pages, s->o->seed, s->o->every, i, s->nvcpus,
		};

		if (vcpu_setup_long_mode(&s->vm.vcpus[i], GPA_IMAGE,
					 GPA_STACK_TOP - i * GUEST_STACK_SIZE, args))
			return -1;
	}
	return 0;
}

static void kick(int sig)
{
	(void)sig;	/* only here to make KVM_RUN return EINTR */
}

/* Stop every vCPU: each completes its last exit and saves nothing more. */
static void pause_all(struct source *s)
{
	int i;

	__atomic_store_n(&s->pause, true, __ATOMIC_SEQ_CST);
	for (i = 0; i < s->nvcpus; i++) {
		/* immediate_exit covers a kick that lands before KVM_RUN. */
		__atomic_store_n(&s->cpus[i].v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (!pthread_equal(pthread_self(), s->cpus[i].thread))
			pthread_kill(s->cpus[i].thread, SIGUSR1);
	}
}

/*
 * A vCPU thread: run the guest until the pause.  vCPU 0 decides when: once
 * every vCPU has filled its part and probed the device, and vCPU 0 has done
 * warmup_pct % of a sweep of its part since its fill.  The guest's
 * progress (sweep, position) lives in its registers and stack, so a vCPU
 * could stop anywhere; for the migration it stops at its next question,
 * answered CMD_ASK_AGAIN, so that the guest's first action on the
 * destination is that question: the destination's probe then runs before
 * any other access, whatever the speed of either side (pause_vcpus).  On a
 * failure it stops at once (pause_all).  Either way the exit being handled
 * is completed first (KVM_RUN with immediate_exit), so the saved rip is
 * past it.  t_last is when the last KVM_RUN that executed guest code
 * returned.
 */
static void *svcpu_run(void *arg)
{
	struct svcpu *c = arg;
	struct source *s = c->s;
	struct kvm_run *run = c->v->run;
	uint64_t part = s->data_pages / s->nvcpus;
	uint64_t target = part * s->o->warmup_pct / 100;
	uint64_t t0 = now_ns(), t, written;
	char why[256];

	if (!target)
		target = 1;
	for (;;) {
		int r;

		if (__atomic_load_n(&s->pause, __ATOMIC_SEQ_CST))
			break;
		r = ioctl(c->v->fd, KVM_RUN, 0);
		t = now_ns();
		if (r < 0 && errno == EINTR)
			continue;
		c->t_last = t;
		if (r < 0) {
			say_src("vcpu %d: KVM_RUN: %s (exit reason %u)", c->v->index, strerror(errno),
				run->exit_reason);
			goto fail;
		}
		if (run->exit_reason != KVM_EXIT_IO) {
			say_src("vcpu %d: guest stopped with exit reason %s (%u) before migration",
				c->v->index, exit_reason_name(run->exit_reason), run->exit_reason);
			vcpu_dump(c->v, "source");
			goto fail;
		}
		switch (ports_handle(&c->ports, run)) {
		case EV_INIT_DONE:
			say_src("vcpu %d: guest filled %u pages in %.0f ms", c->v->index,
				c->ports.init_pages, (t - t0) / 1e6);
			t0 = t;
			break;
		case EV_PROGRESS:
			/* Not before every vCPU is in its sweeps (the fill is not migratable). */
			if (c->v->index == 0 && c->ports.visits >= target &&
			    __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) == s->nvcpus)
				__atomic_store_n(&s->warm, true, __ATOMIC_RELEASE);
			break;
		case EV_CMD:
			if (__atomic_load_n(&s->pause_at_cmd, __ATOMIC_ACQUIRE)) {
				io_in_answer(run, CMD_ASK_AGAIN);
				goto paused;
			}
			io_in_answer(run, __atomic_load_n(&s->finish, __ATOMIC_ACQUIRE) ?
					  CMD_FINISH : CMD_CONTINUE);
			break;
		case EV_DONE:
			c->done = true;
			return NULL;
		case EV_DOORBELL:
			if (device_doorbell(s->vm.mem, s->vm.mem_size, c->ports.doorbell_gpa,
					    &written, why, sizeof(why))) {
				say_src("vcpu %d: guest: doorbell: %s", c->v->index, why);
				goto fail;
			}
			written /= GUEST_PAGE_SIZE;
			__atomic_fetch_or(&s->vmm_dirty[written / BITS_PER_LONG],
					  1UL << (written % BITS_PER_LONG), __ATOMIC_RELEASE);
			break;
		case EV_PROBE:
			if (c->ports.probe_result) {
				say_src("vcpu %d: guest: the device probe failed before the migration: %s",
					c->v->index, probe_failure(c->ports.probe_result, why, sizeof(why)));
				goto fail;
			}
			__atomic_fetch_add(&s->ready, 1, __ATOMIC_RELEASE);
			break;
		case EV_BAD:
			say_src("vcpu %d: unexpected guest I/O: port %#x, %s, size %u", c->v->index,
				run->io.port, run->io.direction ? "out" : "in", run->io.size);
			goto fail;
		default:
			break;
		}
	}
paused:
	/* The last exit is only complete once KVM_RUN is entered again. */
	if (vcpu_complete_pending(c->v))
		c->error = EXIT_INTERNAL;
	c->t_warm_ns = c->t_last - t0;
	return NULL;
fail:
	c->error = EXIT_INTERNAL;
	pause_all(s);
	return NULL;
}

/* Start every vCPU: the guest runs from here on until the pause. */
static int start_vcpus(struct source *s)
{
	struct sigaction sa = { .sa_handler = kick };	/* no SA_RESTART */
	int i;

	sigaction(SIGUSR1, &sa, NULL);
	for (i = 0; i < s->nvcpus; i++) {
		if (!s->cpus[i].s)	/* first start; a resume keeps the counters */
			s->cpus[i] = (struct svcpu){ .s = s, .v = &s->vm.vcpus[i],
						     .ports = { .who = "source" } };
		s->cpus[i].v->run->immediate_exit = 0;
		if (pthread_create(&s->cpus[i].thread, NULL, svcpu_run, &s->cpus[i])) {
			say_src("pthread_create failed");
			s->nvcpus = i;
			pause_all(s);
			return -1;
		}
	}
	return 0;
}

/* Stop every vCPU; 0, or -1 if the guest failed here.  *t_last: see svcpu_run. */
static int stop_vcpus(struct source *s, uint64_t *t_last)
{
	int i, err = 0;

	pause_all(s);
	*t_last = 0;
	for (i = 0; i < s->nvcpus; i++) {
		pthread_join(s->cpus[i].thread, NULL);
		err |= s->cpus[i].error;
		if (s->cpus[i].t_last > *t_last)
			*t_last = s->cpus[i].t_last;
	}
	return err ? -1 : 0;
}

/* After the vCPU threads have ended by themselves (resume_here). */
static void stop_vcpus_joined(struct source *s, uint64_t *t_last)
{
	int i;

	*t_last = 0;
	for (i = 0; i < s->nvcpus; i++)
		if (s->cpus[i].t_last > *t_last)
			*t_last = s->cpus[i].t_last;
}

/*
 * The migration's pause: every vCPU stops at its next question, which comes
 * every o->every visits.  A vCPU that asks none within PAUSE_TIMEOUT_S is
 * stopped where it is, and the guest counts as failed.  0, or -1.
 */
#define PAUSE_TIMEOUT_S	10
static int pause_vcpus(struct source *s, uint64_t *t_last)
{
	struct timespec until;
	int i, j;

	__atomic_store_n(&s->pause_at_cmd, true, __ATOMIC_RELEASE);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PAUSE_TIMEOUT_S;
	for (i = 0; i < s->nvcpus; i++) {
		if (!pthread_timedjoin_np(s->cpus[i].thread, NULL, &until))
			continue;
		say_src("vcpu %d: the guest asked nothing for %d s: stopping it where it is",
			i, PAUSE_TIMEOUT_S);
		pause_all(s);
		for (j = i; j < s->nvcpus; j++)
			pthread_join(s->cpus[j].thread, NULL);
		vcpu_dump(s->cpus[i].v, "source");
		stop_vcpus_joined(s, t_last);
		return -1;
	}
	stop_vcpus_joined(s, t_last);
	for (i = 0; i < s->nvcpus; i++)
		if (s->cpus[i].error)
			return -1;
	return 0;
}

/* Wait until vCPU 0 is warm (0), or the guest failed (-1). */
static int wait_warm(struct source *s)
{
	while (!__atomic_load_n(&s->warm, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&s->pause, __ATOMIC_ACQUIRE))
			return -1;
		usleep(1000);
	}
	return 0;
}

/* KVM's dirty log since the last call, and the VMM's own writes, into s->dirty. */
static int collect_dirty(struct source *s)
{
	size_t i, words = (s->npages + BITS_PER_LONG - 1) / BITS_PER_LONG;

	if (vm_get_dirty_log(&s->vm, s->log))
		return -1;
	for (i = 0; i < words; i++)
		s->dirty[i] |= s->log[i] |
			       __atomic_exchange_n(&s->vmm_dirty[i], 0, __ATOMIC_ACQ_REL);
	return 0;
}

static uint64_t count_dirty(struct source *s)
{
	size_t i, words = (s->npages + BITS_PER_LONG - 1) / BITS_PER_LONG;
	uint64_t n = 0;

	for (i = 0; i < words; i++)
		n += __builtin_popcountl(s->dirty[i]);
	return n;
}

static bool is_dirty(struct source *s, uint64_t idx)
{
	return s->dirty[idx / BITS_PER_LONG] & (1UL << (idx % BITS_PER_LONG));
}

static void throttle(struct source *s, uint64_t t0, uint64_t bytes0);

/* Send every dirty page (all of them in round 1) and forget that they were. */
static int send_round(struct source *s, bool all, uint64_t *sent)
{
	uint64_t idx, t0 = now_ns(), b0 = s->main.bytes_out;
	bool zero;

	*sent = 0;
	for (idx = 0; idx < s->npages; idx++) {
		if (!all && !is_dirty(s, idx))
			continue;
		if (send_page(s, &s->main, idx * GUEST_PAGE_SIZE, PC_PAGE_PRECOPY, &zero))
			return -1;
		++*sent;
		s->precopy_pages++;
		if (!(*sent % 16))
			throttle(s, t0, b0);
	}
	memset(s->dirty, 0, (s->npages + BITS_PER_LONG - 1) / BITS_PER_LONG * sizeof(long));
	return 0;
}

/*
 * The precopy rounds, while the guest runs: every page first, then the
 * pages dirtied meanwhile, as long as there are fewer of them each round
 * and at most --precopy rounds.  What is dirty when it stops stays in
 * s->dirty for the switch-over.  0, -1 (connection), -2 (KVM).
 */
static int precopy_rounds(struct source *s)
{
	uint64_t t0 = now_ns(), prev = UINT64_MAX, n;
	uint8_t buf[64];
	struct pc_hdr h;
	uint32_t got;
	int r;

	if (vm_set_dirty_log(&s->vm, true) || collect_dirty(s))
		return -2;
	memset(s->dirty, 0, (s->npages + BITS_PER_LONG - 1) / BITS_PER_LONG * sizeof(long));
	while (s->pre.rounds < s->o->precopy_rounds) {
		if (s->pre.rounds) {
			if (collect_dirty(s))
				return -2;
			n = count_dirty(s);
			if (n >= prev)
				break;	/* not converging: leave the rest to postcopy */
			prev = n;
		}
		if (send_round(s, !s->pre.rounds, &s->pre.pages[s->pre.rounds]))
			return -1;
		if (!s->pre.rounds)
			prev = s->npages;
		s->pre.rounds++;
		if (__atomic_load_n(&s->pause, __ATOMIC_ACQUIRE))
			return -2;	/* the guest failed meanwhile */
	}
	/*
	 * Pause only once the destination has taken in the last round: the
	 * pages still in flight would otherwise be received in the downtime.
	 */
	if (pc_send(&s->main, PC_SYNC, 0, s->pre.rounds, NULL, 0))
		return -1;
	r = pc_recv(&s->main, &h, buf, sizeof(buf), &got);
	if (r || h.type != PC_SYNC) {
		say_src("waiting for the destination's SYNC: %s",
			r ? pc_err_name(r) : pc_type_name(h.type));
		return -1;
	}
	s->pre.ns = now_ns() - t0;
	return 0;
}

/*
 * In the downtime, after the pause: what changed since the last round goes
 * to the destination as DIRTY (it discards its copies and marks them
 * missing), with the rounds' figures, and only those pages are left for
 * the stream.
 */
static int send_dirty(struct source *s)
{
	uint8_t buf[PC_MAX_PAYLOAD];
	uint64_t first, idx, chunk = 4096 * 8;	/* pages per DIRTY message */
	int len;

	if (collect_dirty(s))
		return -2;
	s->pre.dirty_at_pause = count_dirty(s);
	len = precopy_encode(&s->pre, buf, sizeof(buf));
	if (len < 0 || pc_send(&s->main, PC_PRECOPY_END, 0, s->pre.rounds, buf, len))
		return -1;
	for (first = 0; first < s->npages; first += chunk) {
		uint64_t n = s->npages - first < chunk ? s->npages - first : chunk;
		struct wbuf b = { .p = buf, .cap = sizeof(buf) };
		uint8_t byte = 0;

		for (idx = 0; idx < n; idx++) {
			if (is_dirty(s, first + idx))
				byte |= 1 << (idx % 8);
			if (idx % 8 == 7 || idx == n - 1) {
				w_u8(&b, byte);
				byte = 0;
			}
		}
		if (pc_send(&s->main, PC_DIRTY, 0, first, buf, b.len))
			return -1;
	}
	for (idx = 0; idx < s->npages; idx++)
		s->sent[idx] = !is_dirty(s, idx);
	return 0;
}

static int send_precopy(struct source *s, uint64_t end)
{
	uint64_t gpa;
	bool zero;

	for (gpa = 0; gpa < end; gpa += GUEST_PAGE_SIZE) {
		claim(s, gpa / GUEST_PAGE_SIZE);
		if (send_page(s, &s->main, gpa, PC_PAGE_PRECOPY, &zero))
			return -1;
		s->precopy_pages++;
	}
	return 0;
}

/*
 * Demand requests: one thread receives them and queues them, DEMAND_WORKERS
 * serve them, so that several requests (one per waiting vCPU, and those of
 * the destination's uffd thread) are answered concurrently, each after
 * --delay-us (a network round trip).  Answers share the urgent connection;
 * pc_send() keeps each message whole.
 */
static void *demand_worker(void *arg)
{
	struct source *s = arg;
	uint64_t gpa;
	bool zero;

	pthread_setname_np(pthread_self(), "demand-worker");
	for (;;) {
		pthread_mutex_lock(&s->qlock);
		while (s->qhead == s->qtail && !s->qdone)
			pthread_cond_wait(&s->qcond, &s->qlock);
		if (s->qhead == s->qtail) {
			pthread_mutex_unlock(&s->qlock);
			return NULL;
		}
		gpa = s->queue[s->qhead++ % s->npages];
		pthread_mutex_unlock(&s->qlock);

		if (s->o->delay_us)
			usleep(s->o->delay_us);
		if (gpa / GUEST_PAGE_SIZE == s->lost_idx || __atomic_load_n(&s->stalled, __ATOMIC_ACQUIRE))
			continue;	/* --fault=lose-page, --fault=stall */
		/* Answer even if the stream sent it: it may still be queued. */
		claim(s, gpa / GUEST_PAGE_SIZE);
		if (send_page(s, &s->urgent, gpa, PC_PAGE_DEMAND, &zero))
			continue;	/* lost connection: the main flow reconnects */
		__atomic_fetch_add(&s->demand_pages, 1, __ATOMIC_RELAXED);
	}
}

static void *demand_thread(void *arg)
{
	struct source *s = arg;
	pthread_t workers[DEMAND_WORKERS];
	uint8_t buf[64];
	struct pc_hdr h;
	uint32_t got;
	int i, n = 0;

	pthread_setname_np(pthread_self(), "demand-rx");
	for (i = 0; i < DEMAND_WORKERS; i++)
		if (!pthread_create(&workers[n], NULL, demand_worker, s))
			n++;
	for (;;) {
		int r = pc_recv(&s->urgent, &h, buf, sizeof(buf), &got);

		if (r == -PC_E_EOF || r == -PC_E_IO || r == -PC_E_TRUNC)
			break;		/* done with us, or gone: the main flow decides */
		if (r) {
			/* Out of step: drop both connections, the destination reconnects. */
			say_src("urgent connection: %s; dropping both connections", pc_err_name(r));
			shutdown(s->main.fd, SHUT_RDWR);
			break;
		}
		if (h.type != PC_REQ || h.arg % GUEST_PAGE_SIZE ||
		    h.arg >= s->vm.mem_size) {
			say_src("bad demand request: %s for gpa %#llx", pc_type_name(h.type),
				(unsigned long long)h.arg);
			s->demand_error = EXIT_PROTOCOL;
			break;
		}
		pthread_mutex_lock(&s->qlock);
		/* At most one request per page is ever outstanding: it fits. */
		s->queue[s->qtail++ % s->npages] = h.arg;
		pthread_cond_signal(&s->qcond);
		pthread_mutex_unlock(&s->qlock);
	}
	pthread_mutex_lock(&s->qlock);
	s->qdone = true;
	pthread_cond_broadcast(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	for (i = 0; i < n; i++)
		pthread_join(workers[i], NULL);
	return NULL;
}

/* Misbehave on purpose, at gpa, for --fault. */
static int inject_fault(struct source *s, uint64_t gpa)
{
	const uint8_t *page = s->vm.mem + gpa;
	switch (s->o->fault) {
	case FAULT_SOURCE_DIES:
		say_src("injecting fault: dying (SIGKILL) after streaming %llu pages",
			(unsigned long long)s->stream_pages);
		kill(getpid(), SIGKILL);
		pause();
		return -1;
	case FAULT_TRUNCATE:
		/* The header promises a whole page, half of it follows, then the
		 * stream carries on as if nothing happened. */
		say_src("injecting fault: page at gpa %#llx cut to %d of %d bytes, stream continues",
			(unsigned long long)gpa, GUEST_PAGE_SIZE / 2, GUEST_PAGE_SIZE);
		return pc_send_short(&s->main, PC_PAGE, 0, gpa, page, GUEST_PAGE_SIZE,
				     GUEST_PAGE_SIZE / 2);
	case FAULT_CORRUPT:
		say_src("injecting fault: page at gpa %#llx corrupted on the way (one byte flipped after "
			"its checksum)", (unsigned long long)gpa);
		return pc_send_corrupt(&s->main, PC_PAGE, 0, gpa, page, GUEST_PAGE_SIZE);
	case FAULT_NET_DROP:
		say_src("injecting fault: dropping both connections after streaming %llu pages; "
			"the guest's memory stays here", (unsigned long long)s->stream_pages);
		shutdown(s->main.fd, SHUT_RDWR);
		shutdown(s->urgent.fd, SHUT_RDWR);
		return -1;
	case FAULT_STALL:
		say_src("injecting fault: stalling after %llu pages: nothing more is sent or answered, "
			"the connections stay open", (unsigned long long)s->stream_pages);
		__atomic_store_n(&s->stalled, true, __ATOMIC_RELEASE);
		return 0;
	case FAULT_LOSE_PAGE:
		say_src("injecting fault: gpa %#llx is never sent, requests for it are ignored",
			(unsigned long long)gpa);
		s->lost_idx = gpa / GUEST_PAGE_SIZE;
		return 0;
	case FAULT_BAD_GPA:
		/* A well-formed page for memory the guest does not have. */
		say_src("injecting fault: page for gpa %#llx, beyond guest memory (%#llx bytes)",
			(unsigned long long)(s->vm.mem_size + 16 * GUEST_PAGE_SIZE),
			(unsigned long long)s->vm.mem_size);
		return pc_send(&s->main, PC_PAGE, 0, s->vm.mem_size + 16 * GUEST_PAGE_SIZE,
			       page, GUEST_PAGE_SIZE);
	default:
		return 0;
	}
}

/* Keep what was sent on main since (t0, bytes0) under --rate MiB/s. */
static void throttle(struct source *s, uint64_t t0, uint64_t bytes0)
{
	uint64_t want_ns, spent;

	if (!s->o->rate_mib)
		return;
	want_ns = (s->main.bytes_out - bytes0) * 1000000000ULL / ((uint64_t)s->o->rate_mib << 20);
	spent = now_ns() - t0;
	if (want_ns > spent)
		usleep((want_ns - spent) / 1000);
}

static int stream(struct source *s)
{
	/* Faults hit a quarter into the working set: a real page, mid-stream. */
	uint64_t idx, fault_at = s->o->fault == FAULT_NONE || s->fault_done ? UINT64_MAX :
				 GPA_DATA / GUEST_PAGE_SIZE + s->data_pages / 4;
	uint64_t t0 = now_ns(), b0 = s->main.bytes_out;
	uint8_t buf[64];
	struct pc_hdr h;
	uint32_t got;
	bool zero;

	pthread_setname_np(pthread_self(), "stream");
	for (idx = 0; idx < s->npages; idx++) {
		uint64_t gpa = idx * GUEST_PAGE_SIZE;

		if (idx == s->lost_idx || !claim(s, idx))
			continue;
		if (idx >= fault_at) {
			fault_at = UINT64_MAX;	/* once */
			s->fault_done = true;
			if (inject_fault(s, gpa))
				return -1;
			if (s->o->fault == FAULT_STALL) {
				/* Hold the connections open until the destination gives up. */
				while (!pc_recv(&s->main, &h, buf, sizeof(buf), &got))
					;
				return -2;
			}
			if (s->o->fault == FAULT_TRUNCATE || s->o->fault == FAULT_CORRUPT ||
			    s->o->fault == FAULT_LOSE_PAGE)
				continue;	/* this page was the one damaged, or lost */
		}
		if (send_page(s, &s->main, gpa, 0, &zero))
			return -1;
		s->stream_pages++;
		s->stream_zero += zero;
		if (!(s->stream_pages % 16))
			throttle(s, t0, b0);
	}
	return pc_send(&s->main, PC_STREAM_END, 0, s->stream_pages, NULL, 0) ? -1 : 0;
}

static int dest_gone(const char *when)
{
	say_src("the destination went away %s (%s)", when, strerror(errno));
	return EXIT_DEST_LOST;
}

/*
 * Wait for the destination's two connections; each names itself with a
 * CHANNEL message first, so their order does not matter.  reconnect: they
 * must say PC_CH_RECONNECT (a destination coming back after a drop).
 */
static int accept_dest(struct source *s, unsigned int timeout_s, bool reconnect)
{
	int fds[2] = { -1, -1 }, i;

	for (i = 0; i < 2; i++) {
		uint8_t buf[16];
		struct pc_chan c;
		struct pc_hdr h;
		uint32_t got;
		int fd = net_accept(s->lfd, timeout_s), r, ch;

		if (fd < 0) {
			say_src("no destination connected within %u s: %s", timeout_s, strerror(errno));
			goto fail;
		}
		chan_init(&c, fd, "?");
		r = pc_recv(&c, &h, buf, sizeof(buf), &got);
		ch = (h.arg & ~(uint64_t)PC_CH_RECONNECT) > PC_CH_URGENT ? -1 :
		     (int)(h.arg & ~(uint64_t)PC_CH_RECONNECT);
		if (r || h.type != PC_CHANNEL || ch < 0 || fds[ch] >= 0 ||
		    !(h.arg & PC_CH_RECONNECT) != !reconnect) {
			say_src("a connection did not name a free channel: %s",
				r ? pc_err_name(r) : pc_type_name(h.type));
			close(fd);
			goto fail;
		}
		fds[ch] = fd;
	}
	chan_replace(&s->main, fds[PC_CH_MAIN]);
	chan_replace(&s->urgent, fds[PC_CH_URGENT]);
	return 0;
fail:
	for (i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return -1;
}

/*
 * The destination acknowledges the vCPU state once it has loaded it: from
 * then on the guest runs there.  0 acked, -1 not (the guest is still ours),
 * -2 internal error.
 */
static int wait_ack(struct source *s)
{
	struct pollfd p = { .fd = s->main.fd, .events = POLLIN };
	uint8_t buf[64];
	struct pc_hdr h;
	uint32_t got;
	int r;

	r = poll(&p, 1, s->o->demand_timeout_s * 1000);
	if (r <= 0) {
		say_src("error: dest-lost: no STATE_ACK within %u s", s->o->demand_timeout_s);
		return -1;
	}
	r = pc_recv(&s->main, &h, buf, sizeof(buf), &got);
	if (r || h.type != PC_STATE_ACK) {
		say_src("error: dest-lost: the destination went away before acknowledging the vCPU "
			"state (%s); the guest resumes here", r ? pc_err_name(r) : pc_type_name(h.type));
		return -1;
	}
	return 0;
}

/*
 * The migration failed before the destination took the guest: run it here
 * again, tell it to verify its memory and stop, and report.  Exit
 * EXIT_DEST_LOST (the migration failed) if the guest verified, EXIT_GUEST
 * if not.
 */
static int resume_here(struct source *s)
{
	uint32_t run_bad = 0, final_bad = 0;
	uint64_t t_last;
	int i, done = 0;

	/*
	 * Refuse the destination from now on, so that it never runs the
	 * guest: it waits for GO, and takes a reconnection as GO.
	 */
	close(s->lfd);
	shutdown(s->main.fd, SHUT_RDWR);
	shutdown(s->urgent.fd, SHUT_RDWR);
	__atomic_store_n(&s->finish, true, __ATOMIC_RELEASE);
	__atomic_store_n(&s->pause, false, __ATOMIC_RELEASE);
	__atomic_store_n(&s->pause_at_cmd, false, __ATOMIC_RELEASE);
	if (start_vcpus(s))
		return EXIT_INTERNAL;
	for (i = 0; i < s->nvcpus; i++)
		pthread_join(s->cpus[i].thread, NULL);
	stop_vcpus_joined(s, &t_last);
	for (i = 0; i < s->nvcpus; i++) {
		run_bad += s->cpus[i].ports.result_run;
		final_bad += s->cpus[i].ports.result_final;
		done += s->cpus[i].done;
	}
	if (done != s->nvcpus || run_bad || final_bad) {
		say_src("error: guest: after resuming here, %d of %d vCPUs finished; %u + %u "
			"mismatching pages", done, s->nvcpus, run_bad, final_bad);
		return EXIT_GUEST;
	}
	say_src("the guest resumed here and verified its memory (0 mismatching pages on %d vCPUs)",
		s->nvcpus);
	return EXIT_DEST_LOST;
}

/*
 * The destination went away after the pause and before it acknowledged the
 * vCPU state: the guest is still ours, resume it here.
 */
static int lost_before_ack(struct source *s, const char *when)
{
	say_src("error: dest-lost: the destination went away %s (%s), before acknowledging the "
		"vCPU state; the guest resumes here", when, strerror(errno));
	return resume_here(s);
}

/*
 * While postcopy runs: if nothing was sent for 5 s, say what every thread
 * of this process is doing (once), for a migration that stopped moving.
 */
static void *monitor(void *arg)
{
	struct source *s = arg;
	uint64_t last = UINT64_MAX, n;
	int still = 0;

	while (!__atomic_load_n(&s->finish, __ATOMIC_ACQUIRE)) {
		sleep(1);
		n = __atomic_load_n(&s->stream_pages, __ATOMIC_RELAXED) +
		    __atomic_load_n(&s->demand_pages, __ATOMIC_RELAXED);
		if (n != last) {
			last = n;
			still = 0;
		} else if (++still == 5) {
			say_src("nothing sent for 5 s (%llu pages so far); the threads:",
				(unsigned long long)n);
			log_threads("source");
		}
	}
	return NULL;
}

/*
 * One postcopy attempt on the current connections: stream what is not
 * sent, answer demand requests, wait for COMPLETE.  0 done, -1 the
 * connection broke (reconnect), -2 give up.
 */
static int serve(struct source *s)
{
	uint8_t buf[256];
	pthread_t demand;
	struct pc_hdr h;
	uint32_t got;
	int r;

	s->qhead = s->qtail = 0;
	s->qdone = false;
	if (pthread_create(&demand, NULL, demand_thread, s)) {
		say_src("pthread_create failed");
		return -2;
	}
	r = stream(s);
	if (!r) {
		r = pc_recv(&s->main, &h, buf, sizeof(buf) - 1, &got);
		if (!r && h.type == PC_COMPLETE) {
			r = 0;
		} else {
			say_src("waiting for COMPLETE: %s", r ? pc_err_name(r) : pc_type_name(h.type));
			r = -1;
		}
	}
	/* Whatever happened, the demand thread has nothing more to do. */
	shutdown(s->urgent.fd, SHUT_RDWR);
	pthread_join(demand, NULL);
	return r;
}

/*
 * The connections broke after the destination took the guest.  Keep the
 * memory, wait for the destination to come back (--timeout), and learn
 * which pages it still misses: those are streamed again.  0, or -1.
 */
static int reconnect(struct source *s)
{
	uint8_t buf[PC_MAX_PAYLOAD];
	uint64_t t0 = now_ns(), k, missing = 0;
	struct pc_hdr h;
	uint32_t got;
	int r;

	say_src("postcopy paused: lost the destination; waiting up to %u s for it to reconnect",
		s->o->demand_timeout_s);
	shutdown(s->main.fd, SHUT_RDWR);
	if (accept_dest(s, s->o->demand_timeout_s, true))
		return -1;
	/* Whatever it misses was not sent, or was lost on the way. */
	memset(s->sent, 1, s->npages);
	for (;;) {
		r = pc_recv(&s->main, &h, buf, sizeof(buf), &got);
		if (r) {
			say_src("after reconnecting: %s", pc_err_name(r));
			return -1;
		}
		if (h.type == PC_RESUME_END)
			break;
		if (h.type == PC_RESUME)
			continue;
		if (h.type != PC_MISSING || h.arg % 8 || h.arg >= s->npages ||
		    h.len > (s->npages - h.arg + 7) / 8) {
			say_src("after reconnecting: unexpected %s", pc_type_name(h.type));
			return -1;
		}
		for (k = 0; k < (uint64_t)h.len * 8 && h.arg + k < s->npages; k++) {
			if (buf[k / 8] & (1 << (k % 8))) {
				s->sent[h.arg + k] = 0;
				missing++;
			}
		}
	}
	s->reconnects++;
	/* The guest is the destination's: say so again, GO may have been lost. */
	if (pc_send(&s->main, PC_GO, 0, 0, NULL, 0)) {
		say_src("after reconnecting: sending GO: %s", strerror(errno));
		return -1;
	}
	say_src("postcopy resumes after %.1f ms: the destination misses %llu pages",
		(now_ns() - t0) / 1e6, (unsigned long long)missing);
	return 0;
}

int source_main(const struct options *o)
{
	struct source s = {
		.o = o,
		.qlock = PTHREAD_MUTEX_INITIALIZER,
		.qcond = PTHREAD_COND_INITIALIZER,
	};
	struct pc_hello hello;
	struct pc_state st;
	struct pc_hdr h;
	uint8_t buf[PC_MAX_PAYLOAD];
	char bound[64], why[256];
	uint32_t got;
	uint64_t mem_size, t_last, visits = 0;
	int r, ret, len, lfd, i;
	pthread_t mon;

	chan_init(&s.main, -1, "main");
	chan_init(&s.urgent, -1, "urgent");
	s.lost_idx = UINT64_MAX;
	r = kvm_probe(false, why, sizeof(why));
	if (r) {
		say_src("%s: %s", r == EXIT_SKIP ? "SKIP" : "error", why);
		return r;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = net_listen(o->listen, bound, sizeof(bound));
	if (lfd < 0) {
		say_src("cannot listen on %s: %s", o->listen, strerror(errno));
		return EXIT_INTERNAL;
	}
	/* The driver waits for this line to learn the port. */
	say_src("listening on %s", bound);

	s.data_pages = (uint64_t)o->mib << 20 >> 12;
	mem_size = GPA_DATA + ((uint64_t)o->mib << 20) + DEV_REGION_SIZE;
	s.npages = mem_size / GUEST_PAGE_SIZE;
	s.sent = calloc(s.npages, 1);
	s.queue = calloc(s.npages, sizeof(*s.queue));
	s.vmm_dirty = calloc(s.npages / BITS_PER_LONG + 1, sizeof(long));
	s.dirty = calloc(s.npages / BITS_PER_LONG + 1, sizeof(long));
	s.log = calloc(s.npages / BITS_PER_LONG + 1, sizeof(long));
	if (!s.sent || !s.queue || !s.vmm_dirty || !s.dirty || !s.log)
		return EXIT_INTERNAL;
	/* --vcpus 0: one per online CPU. */
	s.nvcpus = o->vcpus ? (int)o->vcpus : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (s.nvcpus < 1)
		s.nvcpus = 1;
	if (s.nvcpus > MAX_VCPUS)
		s.nvcpus = MAX_VCPUS;
	if (s.data_pages < (uint64_t)s.nvcpus) {
		say_src("%u MiB is too little for %d vCPUs", o->mib, s.nvcpus);
		return EXIT_INTERNAL;
	}
	/* Anonymous memory: precopy needs dirty logging (kvm.h). */
	if (vm_create(&s.vm, mem_size, NULL, s.nvcpus, true) || setup_guest(&s) ||
	    start_vcpus(&s))
		return EXIT_INTERNAL;
	s.lfd = lfd;	/* kept open: the destination may have to reconnect */
	if (accept_dest(&s, 60, false)) {
		stop_vcpus(&s, &t_last);
		return EXIT_DEST_LOST;
	}

	/* Tell the destination what to prepare while the guest warms up here. */
	memset(&hello, 0, sizeof(hello));
	hello.version = WIRE_VERSION;
	hello.page_size = GUEST_PAGE_SIZE;
	hello.mem_size = mem_size;
	/* --precopy-all: plain stop-and-copy, the baseline to compare with. */
	hello.precopy_all = o->precopy_all;
	hello.data_gpa = GPA_DATA;
	hello.data_pages = s.data_pages;
	hello.dev_gpa = GPA_DATA + ((uint64_t)o->mib << 20);
	hello.seed = o->seed;
	hello.every = o->every;
	hello.nvcpus = s.nvcpus;
	hello.precopy_rounds = o->precopy_rounds;
	hello.delay_us = o->delay_us;
	hello.rate_mib = o->rate_mib;
	len = hello_encode(&hello, buf, sizeof(buf));
	if (len < 0 || pc_send(&s.main, PC_HELLO, 0, 0, buf, len)) {
		stop_vcpus(&s, &t_last);
		return dest_gone("before HELLO");
	}
	r = pc_recv(&s.main, &h, buf, sizeof(buf), &got);
	if (r || h.type != PC_READY || h.arg != WIRE_VERSION) {
		say_src("the destination is not ready: %s", r ? pc_err_name(r) : pc_type_name(h.type));
		stop_vcpus(&s, &t_last);
		return EXIT_DEST_LOST;
	}

	/* The guest keeps running here until the pause. */
	if (wait_warm(&s)) {
		stop_vcpus(&s, &t_last);
		return EXIT_INTERNAL;
	}
	r = o->precopy_rounds ? precopy_rounds(&s) : 0;
	if ((r == -2 ? stop_vcpus(&s, &t_last) : pause_vcpus(&s, &t_last)) || r == -2)
		return EXIT_INTERNAL;
	if (r)
		return lost_before_ack(&s, "during the precopy rounds");

	/* Downtime starts at t_last: what changed since the last round, and the vCPUs. */
	if (o->precopy_rounds) {
		r = send_dirty(&s);
		if (r == -2)
			return EXIT_INTERNAL;
		if (r)
			return lost_before_ack(&s, "at the switch-over");
	}
	if (o->precopy_all && send_precopy(&s, mem_size))
		return lost_before_ack(&s, "during pre-copy");
	for (i = 0; i < s.nvcpus; i++) {
		struct svcpu *c = &s.cpus[i];

		memset(&st, 0, sizeof(st));
		if (vcpu_get_state(c->v, &st.vcpu))
			return EXIT_INTERNAL;
		st.t_last_run_ns = t_last;
		st.visits = c->ports.visits;
		st.sweeps = c->ports.sweeps;
		st.warm_visits = c->ports.visits;	/* counted from the end of the fill */
		st.warm_ns = c->t_warm_ns;
		visits += st.visits;
		len = state_encode(&st, buf, sizeof(buf));
		if (len < 0 || pc_send(&s.main, PC_STATE, 0, i, buf, len))
			return lost_before_ack(&s, "before STATE");
	}
	if (o->precopy_rounds)
		say_src("paused the guest (%d vCPUs) after %llu page visits and %u precopy rounds "
			"(%.0f ms); %llu pages dirty since the last round; dirty log, DIRTY and "
			"state sent %.1f ms after the pause", s.nvcpus, (unsigned long long)visits,
			s.pre.rounds, s.pre.ns / 1e6, (unsigned long long)s.pre.dirty_at_pause,
			(now_ns() - t_last) / 1e6);
	else
		say_src("paused the guest (%d vCPUs) after %llu page visits, %.0f ms after the fill; "
			"state%s sent", s.nvcpus, (unsigned long long)visits,
			s.cpus[0].t_warm_ns / 1e6, o->precopy_all ? " and every page" : " (no page)");

	/*
	 * Until the destination acknowledges the state, the guest is still
	 * ours: if it does not, resume the guest here.
	 */
	r = wait_ack(&s);
	if (r)
		return r < 0 ? resume_here(&s) : EXIT_INTERNAL;
	/*
	 * The guest is the destination's from here on: tell it to run.  If
	 * GO is lost with the connection, the destination reconnects, and
	 * reconnect() sends it again.
	 */
	if (pc_send(&s.main, PC_GO, 0, 0, NULL, 0))
		say_src("sending GO: %s; the destination will reconnect", strerror(errno));

	/*
	 * Postcopy: the destination runs the guest; serve it.  A dropped
	 * connection pauses postcopy until the destination reconnects (this
	 * side keeps the guest's memory meanwhile, and keeps listening).
	 */
	pthread_create(&mon, NULL, monitor, &s);
	for (;;) {
		r = serve(&s);
		if (r == 0) {
			ret = EXIT_OK;
			break;
		}
		if (r == -2) {
			ret = s.demand_error ? s.demand_error : EXIT_DEST_LOST;
			say_src("error: dest-lost: postcopy gave up (--fault=stall, or a thread could "
				"not be started)");
			break;
		}
		if (reconnect(&s)) {
			say_src("error: dest-lost: the destination went away after it took over the guest "
				"and did not reconnect within %u s; the guest is lost with it",
				o->demand_timeout_s);
			ret = EXIT_DEST_LOST;
			break;
		}
	}
	if (!ret && s.demand_error)
		ret = s.demand_error;
	__atomic_store_n(&s.finish, true, __ATOMIC_RELEASE);	/* ends the monitor */

	say_src("pre-copied %llu pages (all rounds), streamed %llu (%llu zero), answered %llu demand "
		"requests, %u reconnects; sent %.1f MiB",
		(unsigned long long)s.precopy_pages, (unsigned long long)s.stream_pages,
		(unsigned long long)s.stream_zero, (unsigned long long)s.demand_pages, s.reconnects,
		(s.main.bytes_out + s.urgent.bytes_out) / 1048576.0);
	vm_destroy(&s.vm);
	free(s.sent);
	return ret;
}
