#include <arpa/inet.h>
#include <check.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include "tests/unit/unit.h"
#include "common/link.h"
#include "common/logger.h"

/* One end of a link under test, and what its callbacks saw. Counters are
 * uint64_t so that one predicate (at_least) can wait for any of them. */
struct side {
	struct link *l;
	uint64_t ups;
	uint64_t downs;
	uint64_t pubs;        /* PUB envelopes received */
	uint64_t last_tag;    /* highest tag received so far */
	uint64_t disorder;    /* tags not above the previous: reorder or dup */
	uint64_t missing;     /* tags skipped */
	uint64_t bad_payload; /* payload not the one its tag was sent with */
	uint64_t mark;        /* tags above it are counted in after_mark */
	uint64_t after_mark;
	char chan[64];
	size_t chan_n;
	char payload[64];
	size_t payload_n;
};

static struct event_base *base;
static struct event *pacer;
static struct side A, B; /* A listens, B dials */
static char url[64];
static uint64_t turns; /* loop turns taken by run_until */

/* ---- Harness ---- */

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
on_pace(evutil_socket_t fd, short what, void *arg)
{
}

/* Runs the loop until pred holds or timeout_ms passes; returns pred. The
 * pacer timer bounds each turn, so the deadline is honoured. */
static int
run_until(int (*pred)(const void *), const void *arg, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t) timeout_ms;

	while (!pred(arg)) {
		if (mono_ms() >= deadline) {
			return 0;
		}
		event_base_loop(base, EVLOOP_ONCE);
		turns++;
	}
	return 1;
}

struct cond {
	const uint64_t *v;
	uint64_t min;
};

static int
at_least(const void *arg)
{
	const struct cond *c = arg;

	return *c->v >= c->min;
}

static int
never(const void *arg)
{
	return 0;
}

static int
wait_for(const uint64_t *v, uint64_t min, int timeout_ms)
{
	struct cond c = { v, min };

	return run_until(at_least, &c, timeout_ms);
}

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &n), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void
format_payload(char *buf, size_t size, uint64_t tag)
{
	snprintf(buf, size, "{\"n\":%" PRIu64 "}", tag);
}

static void
check_tag(struct side *s, const struct envelope *e)
{
	char want[64];

	if (e->tag <= s->last_tag) {
		s->disorder++;
		return;
	}
	s->missing += e->tag - s->last_tag - 1;
	s->last_tag = e->tag;
	if (e->tag > s->mark) {
		s->after_mark++;
	}
	format_payload(want, sizeof(want), e->tag);
	if (e->payload.n < strlen(want)
	    || memcmp(e->payload.p, want, strlen(want)) != 0) {
		s->bad_payload++;
	}
}

static void
on_envelope(struct link *l, const struct envelope *e, void *arg)
{
	struct side *s = arg;

	ck_assert_int_eq(e->type, ENVELOPE_PUB);
	s->pubs++;
	s->chan_n = e->channel.n < 64 ? e->channel.n : 64;
	memcpy(s->chan, e->channel.p, s->chan_n);
	s->payload_n = e->payload.n < 64 ? e->payload.n : 64;
	memcpy(s->payload, e->payload.p, s->payload_n);
	if (e->has_tag) {
		check_tag(s, e);
	}
}

static void
on_up(struct link *l, void *arg)
{
	((struct side *) arg)->ups++;
}

static void
on_down(struct link *l, void *arg)
{
	((struct side *) arg)->downs++;
}

static const struct link_callbacks callbacks = { on_envelope, on_up, on_down };

static struct link *
open_side(struct side *s, int listen, uint32_t id)
{
	s->l = link_open(base, url, listen, id, &callbacks, s);
	ck_assert_ptr_nonnull(s->l);
	return s->l;
}

static void
close_side(struct side *s)
{
	link_close(s->l);
	s->l = NULL;
}

/* Puts PUB envelopes tagged first..last; the payload is made from the tag,
 * then padded with pad spaces. */
static void
put_padded(struct side *s, uint64_t first, uint64_t last, size_t pad)
{
	static const struct envelope_span chan = { "news", 4 };
	static char buf[64 + 16384];
	size_t n;

	ck_assert_uint_le(pad, 16384);
	for (uint64_t t = first; t <= last; t++) {
		struct envelope e = { .type = ENVELOPE_PUB,
			.channel = chan,
			.has_tag = 1,
			.tag = t };

		format_payload(buf, 64, t);
		n = strlen(buf);
		memset(buf + n, ' ', pad);
		e.payload.p = buf;
		e.payload.n = n + pad;
		ck_assert_int_eq(link_put(s->l, &e), 0);
	}
}

static void
put_tags(struct side *s, uint64_t first, uint64_t last)
{
	put_padded(s, first, last, 0);
}

/* Opens A (listening) and B (dialling) and waits until both are up. */
static void
open_pair(void)
{
	open_side(&A, 1, 1);
	open_side(&B, 0, 2);
	ck_assert(wait_for(&A.ups, 1, 5000));
	ck_assert(wait_for(&B.ups, 1, 5000));
	ck_assert(link_is_up(A.l));
	ck_assert(link_is_up(B.l));
}

static void
setup_common(void)
{
	struct timeval ten_ms = { 0, 10000 };

	memset(&A, 0, sizeof(A));
	memset(&B, 0, sizeof(B));
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", free_port());
	/* A test here once hung until its 60 s timeout (nng's close, we
	 * think): if one does again, the log shows where. */
	unit_watchdog(50);
	pacer = event_new(base, -1, EV_PERSIST, on_pace, NULL);
	event_add(pacer, &ten_ms);
}

/* A base whose lowest priority is below the I/O's: the link's flush takes
 * it. The programs run one priority (server.c, broker.c: a lower one
 * waits for a pass with no input), which the other case checks. */
static void
setup_two_priorities(void)
{
	base = event_base_new();
	ck_assert_int_eq(event_base_priority_init(base, 2), 0);
	setup_common();
}

static void
setup_one_priority(void)
{
	base = event_base_new();
	setup_common();
}

static void
teardown(void)
{
	close_side(&A);
	close_side(&B);
	event_free(pacer);
	event_base_free(base);
	nng_fini();
}

/* ---- Raw pair1 peer ---- */

static nng_socket
raw_dial(void)
{
	nng_socket s;

	ck_assert_int_eq(nng_pair1_open(&s), 0);
	ck_assert_int_eq(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000), 0);
	ck_assert_int_eq(nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000), 0);
	ck_assert_int_eq(nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 10), 0);
	ck_assert_int_eq(nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK), 0);
	return s;
}

static void
raw_send(nng_socket s, const void *p, size_t n)
{
	ck_assert_int_eq(nng_send(s, (void *) p, n, 0), 0);
}

/* Sends one batch holding one tagged PUB; with truncate, the last byte
 * is cut off. */
static void
raw_batch(
    nng_socket s, uint64_t seq, uint32_t sender, uint64_t tag, int truncate)
{
	struct envelope_writer w;
	char buf[64];
	const uint8_t *p;
	size_t n;

	format_payload(buf, sizeof(buf), tag);
	envelope_writer_init(&w);
	envelope_begin(&w, seq, sender);
	envelope_put_pub(&w, (struct envelope_span) { "raw", 3 },
	    (struct envelope_span) { buf, strlen(buf) }, 1, tag);
	p = envelope_finish(&w, &n);
	raw_send(s, p, truncate ? n - 1 : n);
	envelope_writer_fini(&w);
}

/* Receives batches until one holds a PUB; returns its tag, or 0. Checks
 * that every batch comes from A (id 1). */
static uint64_t
raw_recv_pub(nng_socket s)
{
	struct envelope_batch b;
	struct envelope e;
	uint64_t tag = 0;
	nng_msg *m;

	for (int i = 0; i < 10 && tag == 0; i++) {
		ck_assert_int_eq(nng_recvmsg(s, &m, 0), 0);
		ck_assert_int_eq(envelope_batch_open(nng_msg_body(m),
		                     nng_msg_len(m), NULL, &b),
		    ENVELOPE_OK);
		ck_assert_uint_eq(b.sender, 1);
		while (envelope_batch_next(&b, &e) == ENVELOPE_NEXT) {
			if (e.type == ENVELOPE_PUB) {
				tag = e.tag;
			}
		}
		nng_msg_free(m);
	}
	return tag;
}

/* ---- Tests ---- */

START_TEST(test_seq_check)
{
	uint64_t e = 0;

	/* The first batch sets the sequence, whatever its number. */
	ck_assert_uint_eq(link_seq_check(&e, 5), 0);
	ck_assert_uint_eq(e, 6);
	ck_assert_uint_eq(link_seq_check(&e, 6), 0);
	ck_assert_uint_eq(link_seq_check(&e, 10), 3);
	ck_assert_uint_eq(e, 11);
	/* Lower: the peer restarted; resynchronise without a gap. */
	ck_assert_uint_eq(link_seq_check(&e, 1), 0);
	ck_assert_uint_eq(e, 2);
	ck_assert_uint_eq(link_seq_check(&e, 2), 0);
	ck_assert_uint_eq(link_seq_check(&e, 4), 1);
}
END_TEST

START_TEST(test_open_errors)
{
	ck_assert_ptr_null(link_open(base, "bogus://x", 1, 1, &callbacks, &A));
	open_side(&A, 1, 1);
	/* The address is taken by A. */
	ck_assert_ptr_null(link_open(base, url, 1, 3, &callbacks, &B));
	ck_assert_str_eq(link_url(A.l), url);
	ck_assert_uint_eq(link_peer_id(A.l), UINT32_MAX);
	ck_assert(!link_is_up(A.l));
	link_close(NULL);
}
END_TEST

START_TEST(test_dial_before_listen)
{
	open_side(&B, 0, 2);
	put_tags(&B, 1, 1);
	/* Long enough for several refused dials at a 20 ms retry: a blocking
	 * dial would have given up for good. */
	run_until(never, NULL, 150);
	ck_assert(!link_is_up(B.l));
	ck_assert_uint_eq(B.ups, 0);
	open_side(&A, 1, 1);
	ck_assert(wait_for(&A.ups, 1, 5000));
	ck_assert(wait_for(&B.ups, 1, 5000));
	ck_assert(wait_for(&A.last_tag, 1, 5000));
	ck_assert_uint_eq(A.pubs, 1);
	ck_assert_uint_eq(link_peer_id(A.l), 2);
}
END_TEST

/* 10,000 envelopes one way and 1,000 the other, in bursts of 100 per
 * loop turn. */
START_TEST(test_burst_in_order)
{
	const struct link_stats *bs, *as;

	open_pair();
	for (uint64_t burst = 0; burst < 100; burst++) {
		put_tags(&B, burst * 100 + 1, burst * 100 + 100);
		if (burst < 10) {
			put_tags(&A, burst * 100 + 1, burst * 100 + 100);
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert(wait_for(&A.last_tag, 10000, 20000));
	ck_assert(wait_for(&B.last_tag, 1000, 20000));
	ck_assert_uint_eq(A.pubs, 10000);
	ck_assert_uint_eq(A.disorder + A.missing + A.bad_payload, 0);
	ck_assert_uint_eq(B.pubs, 1000);
	ck_assert_uint_eq(B.disorder + B.missing + B.bad_payload, 0);
	bs = link_stats(B.l);
	as = link_stats(A.l);
	ck_assert_uint_ge(bs->envelopes_out, 10000);
	ck_assert_uint_le(bs->batches_out, bs->envelopes_out / 8);
	ck_assert_uint_eq(as->gaps + as->malformed, 0);
	ck_assert_uint_eq(link_pending(B.l), 0);
}
END_TEST

static uint64_t next_tag;

/* An I/O callback of the program: puts ten envelopes on B, then wakes the
 * next callback of the same turn, if any. */
static void
put_ten(evutil_socket_t fd, short what, void *arg)
{
	struct event *next = arg;

	put_tags(&B, next_tag, next_tag + 9);
	next_tag += 10;
	if (next != NULL) {
		event_active(next, EV_TIMEOUT, 0);
	}
}

/* Two I/O callbacks at priority 0, the second woken by the first. With two
 * priorities the flush, at the lowest, waits for both: one batch. With one,
 * it was queued before the second callback: two batches. */
static void
check_end_of_turn_flush(void)
{
	const struct link_stats *bs = link_stats(B.l);
	struct event *ev2 = event_new(base, -1, 0, put_ten, NULL);
	struct event *ev1 = event_new(base, -1, 0, put_ten, ev2);
	uint64_t b0 = bs->batches_out;
	uint64_t want = event_base_get_npriorities(base) > 1 ? 1 : 2;

	event_priority_set(ev1, 0);
	event_priority_set(ev2, 0);
	event_active(ev1, EV_TIMEOUT, 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(bs->batches_out - b0, want);
	event_free(ev1);
	event_free(ev2);
}

START_TEST(test_batch_limits)
{
	const struct link_stats *bs;
	struct envelope big
	    = { .type = ENVELOPE_PUB, .channel = { "big", 3 } };
	char kib[1000];
	uint64_t b0, e0;

	open_pair();
	bs = link_stats(B.l);
	/* 200 in one turn: three full batches leave at once. */
	b0 = bs->batches_out;
	put_tags(&B, 1, 200);
	ck_assert_uint_eq(bs->batches_out - b0, 3);
	ck_assert(wait_for(&A.last_tag, 200, 5000));
	ck_assert_uint_eq(bs->batches_out - b0, 4);

	/* 20 envelopes of 1000 bytes: the byte limit cuts first. */
	memset(kib, 'x', sizeof(kib));
	big.payload = (struct envelope_span) { kib, sizeof(kib) };
	b0 = bs->batches_out;
	e0 = bs->envelopes_out;
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(link_put(B.l, &big), 0);
	}
	ck_assert_uint_eq(bs->batches_out - b0, 1);
	ck_assert_uint_lt(bs->envelopes_out - e0, 20);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert(wait_for(&A.pubs, 220, 5000));

	next_tag = 201;
	check_end_of_turn_flush();
	ck_assert(wait_for(&A.pubs, 240, 5000));
	ck_assert_uint_eq(A.disorder + A.missing + A.bad_payload, 0);
}
END_TEST

/* More than nng's queues and the kernel's buffers hold: the rest waits
 * in the outbox for SENDFD, and the receiver finds far more queued than
 * one wakeup's budget. */
START_TEST(test_backpressure)
{
	const struct link_stats *bs;
	const uint64_t n = 6000;
	uint64_t e0, t0;

	open_pair();
	bs = link_stats(B.l);
	e0 = bs->envelopes_out;
	for (uint64_t t = 1; t <= n; t++) {
		put_padded(&B, t, t, 8192);
		link_flush(B.l);
	}
	ck_assert_uint_gt(link_pending(B.l), 0);
	ck_assert(wait_for(&A.last_tag, n, 30000));
	/* SENDFD drained the outbox (in about 0.2 s), not the flush of the
	 * next heartbeat, which would have come after 1 s of quiet. */
	ck_assert_uint_eq(bs->envelopes_out - e0, n);
	ck_assert_uint_eq(A.pubs, n);
	ck_assert_uint_eq(A.disorder + A.missing + A.bad_payload, 0);
	ck_assert_uint_eq(link_pending(B.l), 0);
	ck_assert_uint_eq(link_stats(A.l)->gaps, 0);
	/* Drained, SENDFD is no longer watched: were it, the loop would spin
	 * instead of waking every 10 ms for the pacer. */
	t0 = turns;
	run_until(never, NULL, 300);
	ck_assert_uint_lt(turns - t0, 100);
}
END_TEST

START_TEST(test_nul_bytes)
{
	static const char chan[] = "a\0b";
	static const char payload[] = "\0{\"x\":\0}\0";
	struct envelope e = { .type = ENVELOPE_PUB,
		.channel = { chan, sizeof(chan) },
		.payload = { payload, sizeof(payload) } };

	open_pair();
	ck_assert_int_eq(link_put(B.l, &e), 0);
	ck_assert(wait_for(&A.pubs, 1, 5000));
	ck_assert_uint_eq(A.chan_n, sizeof(chan));
	ck_assert_mem_eq(A.chan, chan, sizeof(chan));
	ck_assert_uint_eq(A.payload_n, sizeof(payload));
	ck_assert_mem_eq(A.payload, payload, sizeof(payload));
}
END_TEST

START_TEST(test_reconnect)
{
	A.mark = 600;
	open_pair();
	put_tags(&B, 1, 100);
	ck_assert(wait_for(&A.last_tag, 100, 5000));

	close_side(&A);
	/* From the pipe's removal, well before silence could say so. */
	ck_assert(wait_for(&B.downs, 1, LINK_DEAD_MS / 2));
	ck_assert(!link_is_up(B.l));
	/* Put while down: held in the outbox, none handed to nng. */
	for (uint64_t t = 101; t <= 600; t += 100) {
		put_tags(&B, t, t + 99);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert_uint_gt(link_pending(B.l), 500 * 8);

	open_side(&A, 1, 1);
	ck_assert(wait_for(&B.ups, 2, 5000));
	ck_assert(wait_for(&A.ups, 2, 5000));
	put_tags(&B, 601, 1100);
	ck_assert(wait_for(&A.last_tag, 1100, 10000));
	/* nng may lose what was in flight, but never reorders or repeats. */
	ck_assert_uint_eq(A.disorder + A.bad_payload, 0);
	ck_assert_uint_eq(A.after_mark, 500);
	ck_assert_uint_eq(link_pending(B.l), 0);
	ck_assert_uint_eq(link_stats(B.l)->downs, 1);
	ck_assert_uint_eq(link_stats(B.l)->ups, 2);
}
END_TEST

START_TEST(test_heartbeat_keeps_idle_link_up)
{
	open_pair();
	run_until(never, NULL, LINK_DEAD_MS + 1000);
	ck_assert(link_is_up(A.l));
	ck_assert(link_is_up(B.l));
	ck_assert_uint_eq(A.downs + B.downs, 0);
	/* Only heartbeats crossed, and none reached the application. */
	ck_assert_uint_ge(link_stats(A.l)->envelopes_in, 3);
	ck_assert_uint_ge(link_stats(B.l)->envelopes_in, 3);
	ck_assert_uint_eq(A.pubs + B.pubs, 0);
}
END_TEST

START_TEST(test_silent_peer)
{
	nng_socket raw;

	open_side(&A, 1, 1);
	raw = raw_dial();
	ck_assert(wait_for(&A.ups, 1, 5000));
	/* The raw peer never speaks: A gives up on it... */
	ck_assert(wait_for(&A.downs, 1, LINK_DEAD_MS + 2000));
	ck_assert(!link_is_up(A.l));
	/* ...until it does. */
	raw_batch(raw, 1, 77, 1, 0);
	ck_assert(wait_for(&A.ups, 2, 5000));
	ck_assert(link_is_up(A.l));
	ck_assert(wait_for(&A.pubs, 1, 5000));
	ck_assert_uint_eq(link_peer_id(A.l), 77);
	nng_close(raw);
}
END_TEST

/* pair1 refuses a second peer over and over; each refusal removes a pipe
 * that was never added, which must not look like the first one leaving. */
START_TEST(test_second_peer_refused)
{
	nng_socket raw;

	open_pair();
	raw = raw_dial();
	run_until(never, NULL, 300);
	ck_assert(link_is_up(A.l));
	ck_assert_uint_eq(A.downs, 0);
	put_tags(&B, 1, 10);
	ck_assert(wait_for(&A.last_tag, 10, 5000));
	nng_close(raw);
}
END_TEST

START_TEST(test_malformed_and_gaps)
{
	const struct link_stats *as;
	nng_socket raw;

	open_side(&A, 1, 1);
	as = link_stats(A.l);
	raw = raw_dial();
	ck_assert(wait_for(&A.ups, 1, 5000));
	raw_send(raw, "junk", 4);
	ck_assert(wait_for(&as->malformed, 1, 5000));
	/* A truncated batch is dropped whole: its envelope is not seen. */
	raw_batch(raw, 1, 9, 1, 1);
	ck_assert(wait_for(&as->malformed, 2, 5000));
	ck_assert_uint_eq(A.pubs, 0);

	/* Sequence 2 after 1, then 6 (3, 4, 5 missing), then 1 (a restart). */
	raw_batch(raw, 2, 9, 2, 0);
	raw_batch(raw, 6, 9, 3, 0);
	raw_batch(raw, 1, 9, 4, 0);
	ck_assert(wait_for(&A.pubs, 3, 5000));
	ck_assert_uint_eq(as->gaps, 3);
	ck_assert_uint_eq(as->batches_in, 3);
	ck_assert_uint_eq(A.disorder + A.bad_payload, 0);
	ck_assert(link_is_up(A.l));

	/* And the other way (heartbeats may come first). */
	put_tags(&A, 1, 1);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(raw_recv_pub(raw), 1);
	nng_close(raw);
}
END_TEST

START_TEST(test_outbox_bound)
{
	const struct link_stats *bs;
	char kib[1000];
	struct envelope e = { .type = ENVELOPE_PUB,
		.channel = { "c", 1 },
		.payload = { kib, sizeof(kib) } };
	struct envelope sub
	    = { .type = ENVELOPE_SUB, .channel = { "room", 4 } };
	char *huge = calloc(1, LINK_RECV_MAX);
	int rv = 0;

	/* Nobody listens: nng's queue fills, then the outbox. */
	open_side(&B, 0, 2);
	bs = link_stats(B.l);
	memset(kib, 'y', sizeof(kib));
	for (int i = 0; i < 200000 && rv == 0; i++) {
		rv = link_put(B.l, &e);
	}
	ck_assert_int_eq(rv, -1);
	ck_assert_uint_eq(bs->outbox_drops, 1);
	ck_assert_uint_le(link_pending(B.l), LINK_OUTBOX_BYTES);
	ck_assert_uint_ge(link_pending(B.l), LINK_OUTBOX_BYTES / 2);
	ck_assert_int_eq(link_put(B.l, &e), -1);
	ck_assert_uint_eq(bs->outbox_drops, 2);

	/* Control envelopes pass a full outbox, up to the reserve. */
	ck_assert_int_eq(link_put_control(B.l, &sub), 0);
	ck_assert_uint_eq(bs->outbox_drops, 2);
	rv = 0;
	for (int i = 0; i < 200000 && rv == 0; i++) {
		rv = link_put_control(B.l, &e);
	}
	ck_assert_int_eq(rv, -1);
	ck_assert_uint_eq(bs->outbox_drops, 3);
	ck_assert_uint_le(
	    link_pending(B.l), LINK_OUTBOX_BYTES + LINK_CONTROL_RESERVE);
	ck_assert_uint_gt(
	    link_pending(B.l), LINK_OUTBOX_BYTES + LINK_CONTROL_RESERVE / 2);
	ck_assert_int_eq(link_put(B.l, &e), -1);

	/* An envelope no batch could carry is refused at once. */
	close_side(&B);
	open_side(&B, 0, 2);
	e.payload = (struct envelope_span) { huge, LINK_RECV_MAX };
	ck_assert_int_eq(link_put(B.l, &e), -1);
	ck_assert_uint_eq(link_stats(B.l)->outbox_drops, 1);
	ck_assert_uint_eq(link_pending(B.l), 0);
	free(huge);
}
END_TEST

static Suite *
link_suite(void)
{
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("two priorities");
	TCase *one = tcase_create("one priority");

	tcase_add_checked_fixture(tc, setup_two_priorities, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_seq_check);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_dial_before_listen);
	tcase_add_test(tc, test_burst_in_order);
	tcase_add_test(tc, test_batch_limits);
	tcase_add_test(tc, test_backpressure);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_reconnect);
	tcase_add_test(tc, test_heartbeat_keeps_idle_link_up);
	tcase_add_test(tc, test_silent_peer);
	tcase_add_test(tc, test_second_peer_refused);
	tcase_add_test(tc, test_malformed_and_gaps);
	tcase_add_test(tc, test_outbox_bound);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(one, setup_one_priority, teardown);
	tcase_set_timeout(one, 60);
	tcase_add_test(one, test_burst_in_order);
	tcase_add_test(one, test_batch_limits);
	suite_add_tcase(s, one);
	return s;
}

int
main(void)
{
	int rc;

	logger_set_name("test_link");
	rc = unit_run(link_suite());
	nng_fini();
	return rc;
}
