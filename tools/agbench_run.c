/*
 * One agbench run (see agbench_run.h): the connections' setup, the
 * SocketCluster packets they exchange, and the phases.
 */
#include "tools/agbench_run.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/strbuf.h"
#include "common/token.h"
#include "tools/agbench_conn.h"
#include "tools/agbench_topo.h"
#include "tools/agbench_wire.h"

#define CID_HANDSHAKE 1
#define CID_SUBSCRIBE 2
/* The rate ticker's period, and the most one tick may catch up. */
#define TICK_US        1000
#define TICK_CATCHUP_S 0.05
#define DRAIN_POLL_US  20000

enum peer_phase {
	PH_IDLE,
	PH_CONNECTING, /* TCP and the upgrade */
	PH_HANDSHAKE,
	PH_SUBSCRIBE,
	PH_READY,
	PH_DEAD,
};

enum run_phase {
	RUN_SETUP,
	RUN_WARMUP,
	RUN_MEASURE,
	RUN_DRAIN,
	RUN_DONE,
};

struct run {
	const struct agbench_opts *o;
	struct agbench_result *res;
	struct event_base *base;
	struct agbench_topo t;
	uint32_t rr;
	struct in_addr dst;
	struct agbench_counts c;
	enum run_phase phase;
	unsigned window;
	uint32_t next_open;
	uint32_t setting_up;
	uint32_t setup_done;
	uint64_t opens;
	int64_t t_base;  /* payload timestamps count from here */
	int64_t t_phase; /* start of the current phase */
	int64_t t_rate;  /* start of publishing at a rate */
	uint64_t rate_issued;
	int publishing;
	uint32_t *pumpq; /* channels to publish on (saturating) */
	uint32_t npump;
	uint32_t *reopenq; /* storm: connections to open again */
	uint32_t nreopen;
	struct event *pump_ev;
	struct event *phase_ev;
	struct event *tick_ev;
	struct event *hold_ev;
	struct strbuf sb;
	double cpu0;
};

static void run_begin_warmup(struct run *r);
static void run_begin_measure(struct run *r);
static void run_end_measure(struct run *r);
static void run_drain_check(struct run *r);
static void peer_open(struct run *r, uint32_t i);

/* Whether channel ch may take one more message now. */
static int
chan_can_publish(const struct run *r, const struct agbench_chan *ch)
{
	return ch->nsubs > 0
	    && ch->pending + ch->nsubs <= (int64_t) r->window * ch->nsubs;
}

static void
chan_wake(struct run *r, uint32_t k)
{
	struct agbench_chan *ch = &r->t.chans[k];

	if (!r->publishing || r->o->rate > 0 || ch->queued
	    || !chan_can_publish(r, ch)) {
		return;
	}
	ch->queued = 1;
	r->pumpq[r->npump++] = k;
	event_active(r->pump_ev, EV_TIMEOUT, 0);
}

static void
reopen_later(struct run *r, uint32_t i)
{
	r->reopenq[r->nreopen++] = i;
	event_active(r->pump_ev, EV_TIMEOUT, 0);
}

/* A connection finished its setup (ready or failed): open the next. */
static void
setup_end(struct run *r)
{
	r->setting_up--;
	r->setup_done++;
}

static void
setup_step(struct run *r)
{
	while (r->phase == RUN_SETUP && r->setting_up < r->o->concurrency
	    && r->next_open < r->t.nconns) {
		r->setting_up++;
		peer_open(r, r->next_open++);
	}
	if (r->phase == RUN_SETUP && r->setup_done == r->t.nconns) {
		run_begin_warmup(r);
	}
}

static void
peer_open(struct run *r, uint32_t i)
{
	struct sockaddr_in dst = { 0 };
	struct agbench_peer *p = &r->t.peers[i];

	dst.sin_family = AF_INET;
	dst.sin_addr = r->dst;
	dst.sin_port = htons(agbench_topo_port(&r->t, r->o, i));
	p->t0 = agbench_conn_now();
	p->phase = PH_CONNECTING;
	if (agbench_conn_open(
	        &r->t.conns[i], &r->t.srcs[r->opens++ % r->t.nsrcs], &dst)
	    == 0) {
		return;
	}
	/* a failure at once (no address or port left, no file descriptor)
	 * is not retried: it would fail again at once */
	r->c.err_end[AGBENCH_END_CONNECT]++;
	p->phase = PH_DEAD;
	if (r->o->scenario != AGBENCH_STORM) {
		setup_end(r);
	}
}

/* Takes a dead subscriber's share out of its channel's window. */
static void
peer_leave(struct run *r, struct agbench_peer *p)
{
	struct agbench_chan *ch = &r->t.chans[p->chan];

	ch->nsubs--;
	if (ch->sent > p->rcvd) {
		ch->pending -= (int64_t) (ch->sent - p->rcvd);
	}
	if (ch->pending < 0) {
		ch->pending = 0;
	}
}

/* The peer is gone (its connection is already closed). */
static void
peer_dead(struct run *r, uint32_t i)
{
	struct agbench_peer *p = &r->t.peers[i];
	uint8_t was = p->phase;

	p->phase = PH_DEAD;
	if (r->o->scenario == AGBENCH_STORM) {
		if (r->phase < RUN_DRAIN) {
			reopen_later(r, i);
		}
		return;
	}
	if (was == PH_READY && (p->role & AGBENCH_ROLE_SUB)) {
		peer_leave(r, p);
		chan_wake(r, p->chan);
	} else if (was > PH_IDLE && was < PH_READY) {
		setup_end(r);
		setup_step(r);
	}
}

static void
peer_ready(struct run *r, uint32_t i)
{
	struct agbench_peer *p = &r->t.peers[i];

	p->phase = PH_READY;
	if (p->role & AGBENCH_ROLE_SUB) {
		r->t.chans[p->chan].nsubs++;
	}
	setup_end(r);
	setup_step(r);
}

static void
on_open(void *arg, struct agbench_conn *c, int64_t now)
{
	struct run *r = arg;
	struct agbench_peer *p = &r->t.peers[c->id];
	char buf[TOKEN_MAX_LEN + 128];
	int n;

	r->c.opened++;
	p->phase = PH_HANDSHAKE;
	if (r->t.ntokens > 0) {
		n = snprintf(buf, sizeof(buf),
		    "{\"event\":\"#handshake\",\"data\":{\"authToken\":\"%s\"}"
		    ","
		    "\"cid\":%d}",
		    r->t.tokens[(r->opens + c->id) % r->t.ntokens],
		    CID_HANDSHAKE);
	} else {
		n = snprintf(buf, sizeof(buf),
		    "{\"event\":\"#handshake\",\"data\":{\"authToken\":null},"
		    "\"cid\":%d}",
		    CID_HANDSHAKE);
	}
	agbench_conn_send_text(c, buf, (size_t) n);
}

static void
on_ended(
    void *arg, struct agbench_conn *c, enum agbench_conn_end why, int code)
{
	struct run *r = arg;

	r->c.err_end[why]++;
	if (why == AGBENCH_END_CLOSE) {
		r->c.last_close_code = (uint64_t) code;
	}
	peer_dead(r, c->id);
}

/* Whether the handshake answer's data says "isAuthenticated":true. */
static int
hs_authenticated(const struct agbench_wire_packet *pkt)
{
	struct agbench_wire_iter it;
	const char *k, *v;
	size_t kl, vl;

	if (pkt->data == NULL
	    || agbench_wire_iter_init(&it, pkt->data, pkt->data_len, '{')
	        != 0) {
		return 0;
	}
	while (agbench_wire_obj_next(&it, &k, &kl, &v, &vl) == 1) {
		if (agbench_wire_key_is(k, kl, "isAuthenticated")) {
			return vl == 4 && memcmp(v, "true", 4) == 0;
		}
	}
	return 0;
}

static void
subscribe(struct run *r, uint32_t i)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf),
	    "{\"event\":\"#subscribe\",\"data\":{\"channel\":\"%s\"},"
	    "\"cid\":%d}",
	    r->t.chans[r->t.peers[i].chan].name, CID_SUBSCRIBE);

	r->t.peers[i].phase = PH_SUBSCRIBE;
	agbench_conn_send_text(&r->t.conns[i], buf, (size_t) n);
}

static void
on_handshake(struct run *r, uint32_t i, const struct agbench_wire_packet *pkt,
    int64_t now)
{
	struct agbench_peer *p = &r->t.peers[i];
	int storm = r->o->scenario == AGBENCH_STORM;

	if (pkt->error != NULL) {
		r->c.err_handshake++;
		agbench_conn_close(&r->t.conns[i], 0);
		peer_dead(r, i);
		return;
	}
	r->c.handshakes++;
	if (r->t.ntokens > 0 && !hs_authenticated(pkt)) {
		r->c.auth_failed++;
	}
	if (!storm || r->phase == RUN_MEASURE) {
		agbench_hist_add(&r->res->handshake, (uint64_t) (now - p->t0));
	}
	if (storm) {
		agbench_conn_close(&r->t.conns[i], 1);
		peer_dead(r, i);
	} else if (p->role & AGBENCH_ROLE_SUB) {
		subscribe(r, i);
	} else {
		peer_ready(r, i);
	}
}

static void
on_subscribed(struct run *r, uint32_t i, const struct agbench_wire_packet *pkt)
{
	if (pkt->error != NULL) {
		r->c.err_subscribe++;
		agbench_conn_close(&r->t.conns[i], 0);
		peer_dead(r, i);
		return;
	}
	r->c.subscribed++;
	peer_ready(r, i);
}

/* Checks the delivery's sequence; returns 0 to count it, -1 if it is a
 * duplicate. */
static int
delivery_seq(struct run *r, struct agbench_peer *p, struct agbench_chan *ch,
    const struct agbench_wire_stamp *st)
{
	uint64_t *next = ch->npubs == 1 ? &p->next : &p->nexts[st->pub];
	uint64_t seq = (uint64_t) st->seq;

	if (seq < *next) {
		r->c.duplicated++;
		return -1;
	}
	if (seq > *next) {
		uint64_t gap = seq - *next;
		r->c.gaps += gap;
		p->rcvd += gap;
		ch->pending -= (int64_t) gap;
	}
	*next = seq + 1;
	return 0;
}

static void
on_delivery(struct run *r, uint32_t i, const struct agbench_wire_packet *pkt,
    int64_t now)
{
	struct agbench_wire_stamp st;
	struct agbench_peer *p = &r->t.peers[i];
	struct agbench_chan *ch;

	if (pkt->data == NULL
	    || agbench_wire_delivery(pkt->data, pkt->data_len, &st) != 0
	    || !(p->role & AGBENCH_ROLE_SUB) || st.chan != (int64_t) p->chan
	    || st.pub < 0 || st.pub >= (int64_t) r->t.chans[p->chan].npubs
	    || st.seq < 0) {
		r->c.misrouted++;
		return;
	}
	ch = &r->t.chans[p->chan];
	if (delivery_seq(r, p, ch, &st) != 0) {
		return;
	}
	r->c.delivered++;
	p->rcvd++;
	ch->pending = ch->pending > 0 ? ch->pending - 1 : 0;
	if (r->phase == RUN_MEASURE) {
		agbench_hist_add(
		    &r->res->latency, (uint64_t) (now - r->t_base - st.t));
	}
	chan_wake(r, p->chan);
}

static void
on_packet(struct run *r, uint32_t i, const char *s, size_t len, int64_t now)
{
	struct agbench_wire_packet pkt;
	uint8_t phase = r->t.peers[i].phase;

	if (agbench_wire_packet(s, len, &pkt) != 0) {
		r->c.misrouted++;
		return;
	}
	if (pkt.event != NULL) {
		if (agbench_wire_key_is(
		        pkt.event, pkt.event_len, "#publish")) {
			on_delivery(r, i, &pkt, now);
		}
	} else if (pkt.rid == CID_HANDSHAKE && phase == PH_HANDSHAKE) {
		on_handshake(r, i, &pkt, now);
	} else if (pkt.rid == CID_SUBSCRIBE && phase == PH_SUBSCRIBE) {
		on_subscribed(r, i, &pkt);
	}
}

static void
on_message(void *arg, struct agbench_conn *c, const char *msg, size_t len,
    int64_t now)
{
	struct run *r = arg;
	struct agbench_wire_iter it;
	const char *v;
	size_t vl;
	uint32_t gen = c->gen;

	if (len == 0 || msg[0] != '[') {
		on_packet(r, c->id, msg, len, now);
		return;
	}
	if (agbench_wire_iter_init(&it, msg, len, '[') != 0) {
		r->c.misrouted++;
		return;
	}
	while (c->gen == gen && agbench_wire_arr_next(&it, &v, &vl) == 1) {
		on_packet(r, c->id, v, vl, now);
	}
}

static const struct agbench_conn_ops run_ops = {
	.open = on_open,
	.message = on_message,
	.ended = on_ended,
};

/* Appends k publishes of publisher i to r->sb and sends them at once. */
static void
publish_batch(struct run *r, uint32_t i, uint32_t k)
{
	static const char head[] = "{\"event\":\"#publish\",\"data\":{"
	                           "\"channel\":\"";
	static const char tail[] = "\",\"data\":";
	struct agbench_peer *p = &r->t.peers[i];
	struct agbench_chan *ch = &r->t.chans[p->chan];
	size_t name_len = strlen(ch->name);
	size_t at = sizeof(head) - 1 + name_len + sizeof(tail) - 1;
	/* The frames of one batch are built in the same instant: one clock
	 * reading stamps them all. */
	int64_t t = agbench_conn_now() - r->t_base;
	char text[65536];

	/* The channel names are agbench's own: nothing to escape. */
	memcpy(text, head, sizeof(head) - 1);
	memcpy(text + sizeof(head) - 1, ch->name, name_len);
	memcpy(text + sizeof(head) - 1 + name_len, tail, sizeof(tail) - 1);
	sb_reset(&r->sb);
	for (uint32_t m = 0; m < k; m++) {
		struct agbench_wire_stamp st
		    = { p->chan, p->pub, (int64_t) p->sent, t };
		size_t len = at;

		len += agbench_wire_stamp_encode(
		    text + len, sizeof(text) - len - 2, &st, r->o->size);
		memcpy(text + len, "}}", 2);
		agbench_conn_frame(&r->sb, text, len + 2);
		p->sent++;
		ch->sent++;
		ch->pending += ch->nsubs;
		r->c.published++;
	}
	agbench_conn_send(&r->t.conns[i], r->sb.data, r->sb.len);
}

/* Saturating: fills channel k's window, spread over its publishers. */
static void
chan_publish(struct run *r, uint32_t k)
{
	struct agbench_chan *ch = &r->t.chans[k];
	int64_t room;
	uint32_t avail;

	if (!chan_can_publish(r, ch)) {
		return;
	}
	room = (int64_t) r->window * ch->nsubs - ch->pending;
	avail = (uint32_t) (room / ch->nsubs);
	for (uint32_t j = 0; j < ch->npubs && avail > 0; j++) {
		uint32_t pj = (ch->rr + j) % ch->npubs;
		uint32_t n = avail / ch->npubs + (j < avail % ch->npubs);
		uint32_t i = ch->pubs[pj];
		if (n > 0 && r->t.peers[i].phase == PH_READY) {
			publish_batch(r, i, n);
		}
	}
	ch->rr++;
}

static void
run_pump(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	while (r->nreopen > 0) {
		uint32_t i = r->reopenq[--r->nreopen];
		if (r->phase < RUN_DRAIN
		    && r->t.conns[i].state == AGBENCH_CONN_FREE) {
			peer_open(r, i);
		}
	}
	for (uint32_t q = 0; q < r->npump; q++) {
		uint32_t k = r->pumpq[q];
		r->t.chans[k].queued = 0;
		if (r->publishing) {
			chan_publish(r, k);
		}
	}
	r->npump = 0;
}

/* At a rate: sends what is due since publishing started, one message per
 * publisher in turn. */
static void
run_tick(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	double elapsed = (double) (agbench_conn_now() - r->t_rate) / 1e9;
	uint64_t due = (uint64_t) (r->o->rate * elapsed);
	uint64_t most = (uint64_t) (r->o->rate * TICK_CATCHUP_S) + 1;

	if (due - r->rate_issued > most) {
		r->c.throttled += due - r->rate_issued - most;
		r->rate_issued = due - most;
	}
	for (; r->rate_issued < due; r->rate_issued++) {
		uint32_t i = r->t.allpubs[r->rr++ % r->t.nallpubs];
		struct agbench_chan *ch = &r->t.chans[r->t.peers[i].chan];
		if (r->t.peers[i].phase != PH_READY
		    || !chan_can_publish(r, ch)) {
			r->c.throttled++;
			continue;
		}
		publish_batch(r, i, 1);
	}
}

static void
traffic_start(struct run *r)
{
	struct timeval tv = { 0, TICK_US };

	if (r->t.nallpubs == 0) {
		return;
	}
	r->publishing = 1;
	if (r->o->rate > 0) {
		r->t_rate = agbench_conn_now();
		r->tick_ev = event_new(r->base, -1, EV_PERSIST, run_tick, r);
		event_add(r->tick_ev, &tv);
		return;
	}
	for (uint32_t k = 0; k < r->t.nchans; k++) {
		chan_wake(r, k);
	}
}

static void
traffic_stop(struct run *r)
{
	r->publishing = 0;
	if (r->tick_ev != NULL) {
		event_free(r->tick_ev);
		r->tick_ev = NULL;
	}
}

static void
phase_in(struct run *r, double seconds)
{
	struct timeval tv;

	tv.tv_sec = (time_t) seconds;
	tv.tv_usec = (suseconds_t) ((seconds - (double) tv.tv_sec) * 1e6);
	evtimer_add(r->phase_ev, &tv);
}

static void
run_on_phase(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	switch (r->phase) {
	case RUN_SETUP:
		fprintf(stderr, "agbench: setup timed out: %u of %u done\n",
		    r->setup_done, r->t.nconns);
		run_begin_warmup(r);
		break;
	case RUN_WARMUP:
		run_begin_measure(r);
		break;
	case RUN_MEASURE:
		run_end_measure(r);
		break;
	case RUN_DRAIN:
		run_drain_check(r);
		break;
	default:
		break;
	}
}

static void
run_on_release(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	event_free(r->hold_ev);
	r->hold_ev = NULL;
	run_end_measure(r);
}

static unsigned count_ready(const struct run *r);

/* A child of agbench_multi: reports its setup, then holds the connections
 * until the parent closes hold_fd. */
static void
run_hold(struct run *r)
{
	static struct agbench_ready msg;
	const char *p = (const char *) &msg;
	size_t left = sizeof(msg);

	msg.ready = count_ready(r);
	msg.setup_s = r->res->setup_s;
	msg.counts = r->c;
	msg.handshake = r->res->handshake;
	while (left > 0) {
		ssize_t n = write(r->o->ready_fd, p, left);
		if (n <= 0) {
			break;
		}
		p += n;
		left -= (size_t) n;
	}
	r->hold_ev
	    = event_new(r->base, r->o->hold_fd, EV_READ, run_on_release, r);
	event_add(r->hold_ev, NULL);
}

static void
run_begin_warmup(struct run *r)
{
	int64_t now = agbench_conn_now();

	r->res->setup = r->c;
	r->res->setup_s = (double) (now - r->t_phase) / 1e9;
	r->phase = RUN_WARMUP;
	r->t_phase = now;
	evtimer_del(r->phase_ev);
	if (r->o->ready_fd >= 0) {
		run_hold(r);
		return;
	}
	traffic_start(r);
	phase_in(r, r->o->warmup);
}

static unsigned
count_ready(const struct run *r)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < r->t.nconns; i++) {
		n += r->t.peers[i].phase == PH_READY;
	}
	return n;
}

static void
run_begin_measure(struct run *r)
{
	agbench_proc_read(r->o->pids, r->o->npids, &r->res->p0);
	r->cpu0 = agbench_proc_self_cpu();
	r->res->start = r->c;
	r->res->ready
	    = r->o->scenario == AGBENCH_STORM ? r->t.nconns : count_ready(r);
	r->phase = RUN_MEASURE;
	r->t_phase = agbench_conn_now();
	phase_in(r, r->o->duration);
}

static void
run_end_measure(struct run *r)
{
	int64_t now = agbench_conn_now();

	agbench_proc_read(r->o->pids, r->o->npids, &r->res->p1);
	r->res->client_cpu_s = agbench_proc_self_cpu() - r->cpu0;
	r->res->end = r->c;
	r->res->measured_s = (double) (now - r->t_phase) / 1e9;
	r->phase = RUN_DRAIN;
	r->t_phase = now;
	traffic_stop(r);
	run_drain_check(r);
}

static int
all_delivered(const struct run *r)
{
	for (uint32_t k = 0; k < r->t.nchans; k++) {
		if (r->t.chans[k].nsubs > 0 && r->t.chans[k].pending > 0) {
			return 0;
		}
	}
	return 1;
}

/* What never came: for every live subscriber, each publisher's messages
 * past the last one it saw. */
static uint64_t
tail_lost(const struct run *r)
{
	uint64_t lost = 0;

	for (uint32_t i = 0; i < r->t.nconns; i++) {
		const struct agbench_peer *p = &r->t.peers[i];
		const struct agbench_chan *ch = &r->t.chans[p->chan];
		if (!(p->role & AGBENCH_ROLE_SUB) || p->phase != PH_READY) {
			continue;
		}
		for (uint32_t j = 0; j < ch->npubs; j++) {
			uint64_t sent = r->t.peers[ch->pubs[j]].sent;
			uint64_t next = ch->npubs == 1 ? p->next : p->nexts[j];
			lost += sent > next ? sent - next : 0;
		}
	}
	return lost;
}

static void
run_drain_check(struct run *r)
{
	int64_t now = agbench_conn_now();
	double waited = (double) (now - r->t_phase) / 1e9;

	if (!all_delivered(r) && waited < r->o->drain) {
		phase_in(r, DRAIN_POLL_US / 1e6);
		return;
	}
	r->res->drain_s = waited;
	r->res->final = r->c;
	r->res->lost = r->c.gaps + tail_lost(r);
	r->res->pings = agbench_conn_stats.pings;
	r->phase = RUN_DONE;
	event_base_loopbreak(r->base);
}

static void
run_start(struct run *r)
{
	r->t_phase = agbench_conn_now();
	if (r->o->scenario != AGBENCH_STORM) {
		r->phase = RUN_SETUP;
		phase_in(r, r->o->setup_timeout);
		setup_step(r);
		return;
	}
	r->res->setup_s = 0;
	r->phase = RUN_WARMUP;
	phase_in(r, r->o->warmup);
	for (uint32_t i = 0; i < r->t.nconns; i++) {
		peer_open(r, i);
	}
}

static void
run_free(struct run *r)
{
	agbench_topo_fini(&r->t);
	mem_free(r->pumpq);
	mem_free(r->reopenq);
	sb_fini(&r->sb);
}

static int
run_init(
    struct run *r, const struct agbench_opts *o, struct agbench_result *res)
{
	memset(r, 0, sizeof(*r));
	memset(res, 0, sizeof(*res));
	r->o = o;
	r->res = res;
	r->window = o->window;
	if (inet_pton(AF_INET, o->host, &r->dst) != 1) {
		fprintf(stderr, "agbench: --host: not an IPv4 address: %s\n",
		    o->host);
		return -1;
	}
	if (agbench_topo_init(&r->t, o) != 0) {
		return -1;
	}
	sb_init(&r->sb);
	r->pumpq = mem_calloc(r->t.nchans + 1, sizeof(uint32_t));
	r->reopenq = mem_calloc(r->t.nconns + 1, sizeof(uint32_t));
	agbench_hist_init(&res->latency);
	agbench_hist_init(&res->handshake);
	return 0;
}

int
agbench_run(const struct agbench_opts *o, struct agbench_result *res)
{
	struct run r;

	if (run_init(&r, o, res) != 0) {
		return -1;
	}
	r.base = event_base_new();
	agbench_conn_setup(r.base, &run_ops, &r, o->host, o->path);
	r.pump_ev = event_new(r.base, -1, 0, run_pump, &r);
	r.phase_ev = evtimer_new(r.base, run_on_phase, &r);
	agbench_proc_read(o->pids, o->npids, &res->before);
	r.t_base = agbench_conn_now();
	run_start(&r);
	event_base_dispatch(r.base);
	traffic_stop(&r);
	run_free(&r);
	event_free(r.pump_ev);
	event_free(r.phase_ev);
	agbench_conn_teardown();
	event_base_free(r.base);
	return 0;
}
