#include "link.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <nng/protocol/pair1/pair.h>

#include "logger.h"
#include "mem.h"

/* nng's default queues of 0 cost a thread hand-off per message (~20 k
 * msgs/s); 1024 lets a loop turn hand over a whole burst. */
#define SOCKET_QUEUE     1024
#define RECONNECT_MIN_MS 20
#define RECONNECT_MAX_MS 1000
/* Messages taken per wakeup; RECVFD is level-triggered, so the rest wait
 * for the next turn instead of starving the other events. */
#define RECV_BUDGET 256
/* Fine enough that a heartbeat leaves within 1.5 * LINK_HEARTBEAT_MS. */
#define TICK_MS             (LINK_HEARTBEAT_MS / 2)
#define MALFORMED_LOG_EVERY 1000
/* Upper bounds of the msgpack framing around an envelope's spans and of a
 * batch header, so that one envelope never makes a batch over
 * LINK_RECV_MAX (the receiver would drop the connection). */
#define ENVELOPE_FRAMING 48
#define BATCH_HEADER     32

/* Batches handed to the link but not yet accepted by nng: a ring. */
struct outbox {
	nng_msg **q;
	size_t cap;
	size_t head;
	size_t n;
	size_t bytes;
};

struct link {
	struct event_base *base;
	char *url;
	const char *role; /* "listen" or "dial", for the logs */
	uint32_t self_id;
	const struct link_callbacks *cb;
	void *arg;

	nng_socket sock;
	int sock_open;
	int efd;                /* pipe callbacks -> loop */
	struct event *recv_ev;  /* RECVFD, always watched */
	struct event *send_ev;  /* SENDFD, watched only while sends wait */
	struct event *flush_ev; /* end of the turn: lowest priority */
	struct event *pipe_ev;  /* efd */
	struct event *tick_ev;  /* heartbeats and silence */
	int send_armed;

	/* Written by pipe callbacks on nng's threads; see link_on_pipe. */
	_Atomic uint32_t pipe_cur;  /* the accepted pipe's id, or 0 */
	_Atomic uint32_t pipe_gone; /* the last pipe removed */
	_Atomic uint64_t pipe_adds; /* pipes accepted so far */

	/* The loop's view. */
	uint64_t seen_adds;
	int piped;  /* a pipe is connected */
	int silent; /* piped, but nothing heard for LINK_DEAD_MS */
	int up;     /* as last reported through on_up / on_down */
	uint64_t last_rx_ms;
	uint64_t last_tx_ms;

	struct envelope_writer w;
	uint64_t tx_seq;
	uint64_t rx_expected;
	uint32_t peer_id;
	struct outbox out;
	int dropping;     /* link_put is refusing; logged once */
	int send_failing; /* nng refused a send; logged once */
	struct link_stats st;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* ---- Outbox ---- */

static void
outbox_push(struct outbox *o, nng_msg *m)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 16;
		nng_msg **q = mem_alloc(cap * sizeof(*q));

		for (size_t i = 0; i < o->n; i++) {
			q[i] = o->q[(o->head + i) % o->cap];
		}
		mem_free(o->q);
		o->q = q;
		o->cap = cap;
		o->head = 0;
	}
	o->q[(o->head + o->n) % o->cap] = m;
	o->n++;
	o->bytes += nng_msg_len(m);
}

/* len is the head's length, read before nng took the message. */
static void
outbox_pop(struct outbox *o, size_t len)
{
	o->head = (o->head + 1) % o->cap;
	o->n--;
	o->bytes -= len;
}

static void
outbox_fini(struct outbox *o)
{
	while (o->n > 0) {
		nng_msg *m = o->q[o->head];

		outbox_pop(o, nng_msg_len(m));
		nng_msg_free(m);
	}
	mem_free(o->q);
}

/* ---- Handing batches to nng ---- */

static void
link_arm_send(struct link *l, int on)
{
	if (on && !l->send_armed) {
		event_add(l->send_ev, NULL);
	} else if (!on && l->send_armed) {
		event_del(l->send_ev);
	}
	l->send_armed = on;
}

static void
link_send_failed(struct link *l, int rv)
{
	if (!l->send_failing) {
		logger_warn("link %s: batch dropped, send failed: %s", l->url,
		    nng_strerror(rv));
		l->send_failing = 1;
	}
}

/*
 * Hands the outbox to nng from its head until nng pushes back. Only while
 * a pipe is up: until pair1 lets go of a closed pipe, nng 1.5.2 hands a
 * new message to it and leaks and loses it (upstream #1713).
 */
static void
link_drain(struct link *l)
{
	if (!l->piped) {
		link_arm_send(l, 0);
		return;
	}
	while (l->out.n > 0) {
		nng_msg *m = l->out.q[l->out.head];
		size_t len = nng_msg_len(m);
		int rv = nng_sendmsg(l->sock, m, NNG_FLAG_NONBLOCK);

		if (rv == NNG_EAGAIN) {
			link_arm_send(l, 1);
			return;
		}
		outbox_pop(&l->out, len);
		if (rv != 0) {
			/* A failed send leaves the message with us. */
			link_send_failed(l, rv);
			nng_msg_free(m);
		} else {
			l->send_failing = 0;
		}
	}
	link_arm_send(l, 0);
}

/* ---- State reported to the application ---- */

static void
link_report(struct link *l, int up, const char *why)
{
	if (l->up == up) {
		return;
	}
	l->up = up;
	if (up) {
		l->st.ups++;
		logger_info("link %s (%s): up (%s)", l->url, l->role, why);
		if (l->cb->on_up != NULL) {
			l->cb->on_up(l, l->arg);
		}
	} else {
		l->st.downs++;
		logger_warn("link %s (%s): down (%s)", l->url, l->role, why);
		if (l->cb->on_down != NULL) {
			l->cb->on_down(l, l->arg);
		}
	}
}

static void
link_set_piped(struct link *l, int piped)
{
	l->piped = piped;
	l->silent = 0;
	if (piped) {
		l->last_rx_ms = now_ms();
		/* What waited goes before anything on_up puts. */
		link_drain(l);
	}
	link_report(l, piped, piped ? "peer connected" : "peer gone");
}

/*
 * Derives pipe transitions from what the callbacks published. cur is read
 * before adds, the reverse of the order they are written in, so seeing a
 * new pipe implies seeing its count. A count that moved while a pipe was
 * known means that pipe was replaced between two looks: the peer may have
 * restarted, so it is reported as down, then up.
 */
static void
link_sync_pipes(struct link *l)
{
	uint32_t cur = atomic_load(&l->pipe_cur);
	uint64_t adds = atomic_load(&l->pipe_adds);

	if (adds != l->seen_adds && l->piped) {
		link_set_piped(l, 0);
	}
	l->seen_adds = adds;
	if ((cur != 0) != l->piped) {
		link_set_piped(l, cur != 0);
	}
}

/*
 * Runs on nng's threads: atomics and the eventfd only. pair1 keeps one pipe,
 * but a rejected second peer is removed without having been added, and a
 * pipe that dies at once can be removed (by the reaper) before its ADD_POST
 * has run. Hence the current id rather than a count: a removal clears it
 * only if it names that pipe, and pipe_gone catches the reversed order
 * (each side stores, then checks the other's store; seq_cst makes at least
 * one of them see it).
 */
static void
link_on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct link *l = arg;
	uint32_t id = (uint32_t) nng_pipe_id(p);
	uint32_t expect = id;

	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&l->pipe_adds, 1);
		atomic_store(&l->pipe_cur, id);
		if (atomic_load(&l->pipe_gone) == id) {
			atomic_compare_exchange_strong(
			    &l->pipe_cur, &expect, 0);
		}
	} else {
		atomic_store(&l->pipe_gone, id);
		atomic_compare_exchange_strong(&l->pipe_cur, &expect, 0);
	}
	eventfd_write(l->efd, 1);
}

static void
link_on_pipe_event(evutil_socket_t fd, short what, void *arg)
{
	eventfd_t v;

	eventfd_read(fd, &v);
	link_sync_pipes(arg);
}

/* ---- Receiving ---- */

uint64_t
link_seq_check(uint64_t *expected, uint64_t seq)
{
	uint64_t gaps = 0;

	if (*expected != 0 && seq > *expected) {
		gaps = seq - *expected;
	}
	*expected = seq + 1;
	return gaps;
}

static void
link_malformed(struct link *l, const char *why)
{
	l->st.malformed++;
	if (l->st.malformed % MALFORMED_LOG_EVERY == 1) {
		logger_warn("link %s: malformed batch dropped (%s), %" PRIu64
		            " so far",
		    l->url, why, l->st.malformed);
	}
}

/* Returns NULL when every envelope of b decodes, else the reason. The
 * batch is checked whole before any of it is delivered, so that a bad one
 * is dropped entirely rather than half-applied. */
static const char *
link_batch_error(const struct envelope_batch *b)
{
	struct envelope_batch probe = *b;
	struct envelope e;
	enum envelope_result r;

	while ((r = envelope_batch_next(&probe, &e)) == ENVELOPE_NEXT) { }
	return r == ENVELOPE_END ? NULL : probe.error;
}

static void
link_take(struct link *l, const void *bytes, size_t len)
{
	struct envelope_batch b;
	struct envelope e;
	const char *why;

	if (envelope_batch_open(bytes, len, NULL, &b) != ENVELOPE_OK) {
		link_malformed(l, b.error);
		return;
	}
	l->st.gaps += link_seq_check(&l->rx_expected, b.seq);
	if ((why = link_batch_error(&b)) != NULL) {
		link_malformed(l, why);
		return;
	}
	l->st.batches_in++;
	l->peer_id = b.sender;
	while (envelope_batch_next(&b, &e) == ENVELOPE_NEXT) {
		l->st.envelopes_in++;
		if (e.type != ENVELOPE_HEARTBEAT) {
			l->cb->on_envelope(l, &e, l->arg);
		}
	}
}

static void
link_heard(struct link *l, uint64_t now)
{
	l->last_rx_ms = now;
	if (l->piped && l->silent) {
		l->silent = 0;
		link_report(l, 1, "peer heard again");
	}
}

static void
link_on_recv(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;
	uint64_t now = now_ms();
	nng_msg *m;
	int rv;

	/* A new pipe's first batch can beat its eventfd wakeup: report the
	 * pipe first, so that on_up comes before its envelopes. */
	link_sync_pipes(l);
	for (int i = 0; i < RECV_BUDGET; i++) {
		rv = nng_recvmsg(l->sock, &m, NNG_FLAG_NONBLOCK);
		if (rv != 0) {
			if (rv != NNG_EAGAIN) {
				logger_warn("link %s: receive: %s", l->url,
				    nng_strerror(rv));
			}
			return;
		}
		link_heard(l, now);
		link_take(l, nng_msg_body(m), nng_msg_len(m));
		nng_msg_free(m);
	}
}

/* ---- Batching ---- */

/* Completes the open batch into the outbox. */
static void
link_seal(struct link *l)
{
	const uint8_t *p;
	size_t len;
	nng_msg *m;
	int rv;

	if (!l->w.open) {
		return;
	}
	l->st.envelopes_out += envelope_writer_count(&l->w);
	p = envelope_finish(&l->w, &len);
	if ((rv = nng_msg_alloc(&m, len)) != 0) {
		logger_error("link %s: nng_msg_alloc(%zu): %s", l->url, len,
		    nng_strerror(rv));
		abort();
	}
	memcpy(nng_msg_body(m), p, len);
	outbox_push(&l->out, m);
	l->tx_seq++;
	l->st.batches_out++;
	l->last_tx_ms = now_ms();
}

void
link_flush(struct link *l)
{
	link_seal(l);
	link_drain(l);
}

static void
link_on_sendable(evutil_socket_t fd, short what, void *arg)
{
	link_drain(arg);
}

static void
link_on_flush(evutil_socket_t fd, short what, void *arg)
{
	link_flush(arg);
}

static size_t
link_open_bytes(const struct link *l)
{
	return l->w.open ? envelope_writer_size(&l->w) : 0;
}

size_t
link_pending(const struct link *l)
{
	return link_open_bytes(l) + l->out.bytes;
}

static int
link_drop(struct link *l, const char *why)
{
	l->st.outbox_drops++;
	if (!l->dropping) {
		logger_warn("link %s: dropping envelopes (%s)", l->url, why);
		l->dropping = 1;
	}
	return -1;
}

/* link_put with the outbox bounded at limit bytes. */
static int
link_put_within(struct link *l, const struct envelope *env, size_t limit)
{
	size_t need = env->channel.n + env->payload.n + ENVELOPE_FRAMING;

	if (need > LINK_RECV_MAX - BATCH_HEADER) {
		return link_drop(l, "envelope larger than a batch may be");
	}
	if (link_pending(l) + need > limit) {
		return link_drop(l, "outbox full");
	}
	if (l->dropping) {
		logger_info("link %s: accepting envelopes again, %" PRIu64
		            " dropped so far",
		    l->url, l->st.outbox_drops);
		l->dropping = 0;
	}
	/* A large envelope starts a batch of its own, which keeps every
	 * batch under LINK_RECV_MAX. */
	if (link_open_bytes(l) + need > LINK_BATCH_BYTES) {
		link_flush(l);
	}
	if (!l->w.open) {
		envelope_begin(&l->w, l->tx_seq, l->self_id);
		event_active(l->flush_ev, EV_TIMEOUT, 0);
	}
	envelope_put(&l->w, env);
	if (envelope_writer_count(&l->w) >= LINK_BATCH_ENVELOPES
	    || envelope_writer_size(&l->w) >= LINK_BATCH_BYTES) {
		link_flush(l);
	}
	return 0;
}

int
link_put(struct link *l, const struct envelope *env)
{
	return link_put_within(l, env, LINK_OUTBOX_BYTES);
}

int
link_put_control(struct link *l, const struct envelope *env)
{
	return link_put_within(
	    l, env, (size_t) LINK_OUTBOX_BYTES + LINK_CONTROL_RESERVE);
}

/* ---- Heartbeats and silence ---- */

static void
link_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;
	uint64_t now = now_ms();

	if (!l->piped) {
		return;
	}
	if (now - l->last_tx_ms >= LINK_HEARTBEAT_MS) {
		struct envelope hb
		    = { .type = ENVELOPE_HEARTBEAT, .time_ms = now };

		link_put(l, &hb);
		link_flush(l);
	}
	if (!l->silent && now - l->last_rx_ms >= LINK_DEAD_MS) {
		l->silent = 1;
		link_report(l, 0, "silent");
	}
}

/* ---- Opening and closing ---- */

static int
link_fail(struct link *l, const char *what, int rv)
{
	logger_error("link %s: %s: %s", l->url, what, nng_strerror(rv));
	return -1;
}

static int
link_socket(struct link *l)
{
	int rv;

	if ((rv = nng_pair1_open(&l->sock)) != 0) {
		return link_fail(l, "nng_pair1_open", rv);
	}
	l->sock_open = 1;
	if ((rv = nng_socket_set_int(l->sock, NNG_OPT_SENDBUF, SOCKET_QUEUE))
	        != 0
	    || (rv = nng_socket_set_int(
	            l->sock, NNG_OPT_RECVBUF, SOCKET_QUEUE))
	        != 0) {
		return link_fail(l, "queue size", rv);
	}
	if ((rv = nng_pipe_notify(
	         l->sock, NNG_PIPE_EV_ADD_POST, link_on_pipe, l))
	        != 0
	    || (rv = nng_pipe_notify(
	            l->sock, NNG_PIPE_EV_REM_POST, link_on_pipe, l))
	        != 0) {
		return link_fail(l, "nng_pipe_notify", rv);
	}
	return 0;
}

static struct event *
link_event(
    struct link *l, evutil_socket_t fd, short what, event_callback_fn fn)
{
	struct event *ev = event_new(l->base, fd, what, fn, l);

	if (ev == NULL) {
		logger_error("link %s: event_new failed", l->url);
		abort();
	}
	return ev;
}

static int
link_events(struct link *l)
{
	struct timeval tick = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };
	int rfd, sfd, rv;

	if ((rv = nng_socket_get_int(l->sock, NNG_OPT_RECVFD, &rfd)) != 0
	    || (rv = nng_socket_get_int(l->sock, NNG_OPT_SENDFD, &sfd)) != 0) {
		return link_fail(l, "poll descriptors", rv);
	}
	/* Level-triggered: an edge would strand what a budget leaves. */
	l->recv_ev = link_event(l, rfd, EV_READ | EV_PERSIST, link_on_recv);
	/* SENDFD signals "can send" by becoming readable. */
	l->send_ev
	    = link_event(l, sfd, EV_READ | EV_PERSIST, link_on_sendable);
	l->flush_ev = link_event(l, -1, 0, link_on_flush);
	event_priority_set(
	    l->flush_ev, event_base_get_npriorities(l->base) - 1);
	l->pipe_ev
	    = link_event(l, l->efd, EV_READ | EV_PERSIST, link_on_pipe_event);
	l->tick_ev = link_event(l, -1, EV_PERSIST, link_on_tick);
	event_add(l->recv_ev, NULL);
	event_add(l->pipe_ev, NULL);
	event_add(l->tick_ev, &tick);
	return 0;
}

static int
link_listen(struct link *l)
{
	nng_listener lst;
	int rv;

	if ((rv = nng_listener_create(&lst, l->sock, l->url)) != 0) {
		return link_fail(l, "nng_listener_create", rv);
	}
	if ((rv = nng_listener_set_size(lst, NNG_OPT_RECVMAXSZ, LINK_RECV_MAX))
	    != 0) {
		return link_fail(l, "recv-size-max", rv);
	}
	if ((rv = nng_listener_start(lst, 0)) != 0) {
		return link_fail(l, "listen", rv);
	}
	return 0;
}

static int
link_dial(struct link *l)
{
	nng_dialer d;
	int rv;

	if ((rv = nng_dialer_create(&d, l->sock, l->url)) != 0) {
		return link_fail(l, "nng_dialer_create", rv);
	}
	if ((rv = nng_dialer_set_size(d, NNG_OPT_RECVMAXSZ, LINK_RECV_MAX))
	        != 0
	    || (rv = nng_dialer_set_ms(
	            d, NNG_OPT_RECONNMINT, RECONNECT_MIN_MS))
	        != 0
	    || (rv = nng_dialer_set_ms(
	            d, NNG_OPT_RECONNMAXT, RECONNECT_MAX_MS))
	        != 0) {
		return link_fail(l, "dialer options", rv);
	}
	/* A blocking dial that fails is never retried. */
	if ((rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0) {
		return link_fail(l, "dial", rv);
	}
	return 0;
}

/* Frees a link in any state of construction. The events go first: nng
 * owns their descriptors and closes them with the socket. nng_close
 * returns only after every pipe callback has run, so efd and l are then
 * safe to release. */
static void
link_destroy(struct link *l)
{
	struct event *evs[]
	    = { l->recv_ev, l->send_ev, l->flush_ev, l->pipe_ev, l->tick_ev };

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (evs[i] != NULL) {
			event_free(evs[i]);
		}
	}
	if (l->sock_open) {
		nng_close(l->sock);
	}
	if (l->efd >= 0) {
		close(l->efd);
	}
	outbox_fini(&l->out);
	envelope_writer_fini(&l->w);
	mem_free(l->url);
	mem_free(l);
}

struct link *
link_open(struct event_base *base, const char *url, int listen,
    uint32_t self_id, const struct link_callbacks *cb, void *arg)
{
	struct link *l = mem_calloc(1, sizeof(*l));

	l->base = base;
	l->url = mem_strdup(url);
	l->role = listen ? "listen" : "dial";
	l->self_id = self_id;
	l->cb = cb;
	l->arg = arg;
	l->tx_seq = 1;
	l->peer_id = UINT32_MAX;
	envelope_writer_init(&l->w);
	atomic_init(&l->pipe_cur, 0);
	atomic_init(&l->pipe_gone, 0);
	atomic_init(&l->pipe_adds, 0);
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->efd < 0) {
		logger_error("link %s: eventfd failed", url);
		goto fail;
	}
	if (link_socket(l) != 0 || link_events(l) != 0
	    || (listen ? link_listen(l) : link_dial(l)) != 0) {
		goto fail;
	}
	logger_info("link %s (%s): open", url, l->role);
	return l;
fail:
	link_destroy(l);
	return NULL;
}

void
link_close(struct link *l)
{
	if (l == NULL) {
		return;
	}
	/* nng_close does not linger: what nng holds now may still go, what
	 * the outbox holds is lost. */
	link_flush(l);
	if (l->out.n > 0) {
		logger_warn("link %s: closing with %zu batches unsent", l->url,
		    l->out.n);
	}
	link_destroy(l);
}

int
link_is_up(const struct link *l)
{
	return l->up;
}

const struct link_stats *
link_stats(const struct link *l)
{
	return &l->st;
}

const char *
link_url(const struct link *l)
{
	return l->url;
}

uint32_t
link_peer_id(const struct link *l)
{
	return l->peer_id;
}
