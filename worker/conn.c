#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/logger.h"
#include "common/mem.h"
#include "common/token.h"
#include "worker/http.h"
#include "worker/mw.h"
#include "worker/plugin.h"
#include "worker/rpc.h"
#include "worker/server.h"
#include "worker/session.h"

/* How long a connection may take to send its request head, and to finish a
 * close handshake, before it is dropped. */
#define CONN_CLOSE_LINGER_MS 3000
#define CONN_READS_PER_EVENT 8
#define CONN_IOV_MAX         64
/* Queued frames of up to CONN_GATHER_FRAME bytes each, CONN_GATHER_MAX in
 * all, leave as one contiguous copy (see gather_output); a larger frame
 * is a segment of its own, as copying it twice would cost more than the
 * segment. */
#define CONN_GATHER_MAX   65536
#define CONN_GATHER_FRAME 2048
/* What a queued buffer costs beyond its room (its rbuf header, its queue
 * slot, the allocator's bookkeeping), so that a flood of tiny frames
 * (pongs) meets socket_output_limit as surely as a few large ones. */
#define CONN_FRAME_OVERHEAD 64
/* An output ring this small (16 buffers, 256 bytes) is kept while the
 * socket lives: a busy socket would allocate it again every loop turn. */
#define CONN_QUEUE_KEEP 16

static void conn_on_event(evutil_socket_t fd, short what, void *arg);

struct conn *
conn_open(struct server *s, int fd, const char *peer)
{
	struct conn *c = mem_calloc(1, sizeof(*c));

	c->srv = s;
	c->fd = fd;
	c->state = CONN_HTTP;
	memcpy(c->peer, peer, strnlen(peer, sizeof(c->peer) - 1));
	twheel_node_init(&c->timer);
	chidx_list_init(&c->chans);
	ws_reader_init(&c->wsr, (uint64_t) s->conf->max_payload);
	event_assign(&c->ev, s->base, fd, EV_READ | EV_PERSIST | EV_ET,
	    conn_on_event, c);
	event_add(&c->ev, NULL);
	c->ev_what = EV_READ;
	c->close_deadline
	    = server_now() + (uint64_t) s->conf->handshake_timeout;
	conn_rearm(c);
	return c;
}

void
conn_free(struct conn *c)
{
	if (c == NULL) {
		return;
	}
	if (event_initialized(&c->ev)) {
		event_del(&c->ev);
	}
	while (c->q_len > 0) {
		rbuf_unref(c->q[c->q_head].buf);
		c->q_head = (c->q_head + 1) & (c->q_cap - 1);
		c->q_len--;
	}
	mem_free(c->q);
	mem_free(c->in);
	if (c->batch != NULL) {
		sb_fini(c->batch);
		mem_free(c->batch);
	}
	ws_reader_fini(&c->wsr);
	for (uint32_t i = 0; i < c->npending; i++) {
		mem_free(c->pending[i].rid);
	}
	mem_free(c->pending);
	if (c->auth != NULL) {
		token_claims_fini(c->auth);
		mem_free(c->auth);
	}
	rpc_socket_gone(c);
	plugin_socket_gone(c);
	mw_socket_gone(c);
	mem_free(c->req_head);
	chidx_list_fini(&c->chans);
	close(c->fd);
	mem_free(c);
}

struct rbuf *
conn_text_frame(const char *p, size_t n)
{
	struct rbuf *b = rbuf_new(ws_frame_size(n));
	size_t h = ws_header(b->data, WS_OP_TEXT, n);

	memcpy(b->data + h, p, n);
	return b;
}

static struct rbuf *
control_frame(enum ws_opcode op, const uint8_t *p, size_t n)
{
	struct rbuf *b = rbuf_new(ws_frame_size(n));
	size_t h = ws_header(b->data, op, n);

	memcpy(b->data + h, p, n);
	return b;
}

/* Registers c->ev for what c waits for: input unless paused, EV_WRITE
 * only while output is blocked (an idle socket is almost always
 * writable). Edge-triggered: epoll reports a socket once per arrival
 * instead of polling it again on the next wait, so whoever stops reading
 * before EAGAIN must come back by itself (conn_on_event), and adding the
 * event again after a pause reports input that is already waiting. */
static void
update_events(struct conn *c)
{
	short what = (short) ((c->paused ? 0 : EV_READ)
	    | (c->want_write ? EV_WRITE : 0));

	if (what == c->ev_what || c->state == CONN_DEAD) {
		return;
	}
	event_del(&c->ev);
	c->ev_what = what;
	if (what == 0) {
		return;
	}
	event_assign(&c->ev, c->srv->base, c->fd, what | EV_PERSIST | EV_ET,
	    conn_on_event, c);
	event_add(&c->ev, NULL);
}

static void
set_write_interest(struct conn *c, int on)
{
	if (c->want_write == on) {
		return;
	}
	c->want_write = (uint8_t) on;
	update_events(c);
}

void
conn_pause(struct conn *c)
{
	c->paused = 1;
	update_events(c);
}

static void
grow_queue(struct conn *c)
{
	uint32_t cap = c->q_cap ? c->q_cap * 2 : 4;
	struct conn_out *q = mem_alloc(cap * sizeof(*q));

	for (uint32_t i = 0; i < c->q_len; i++) {
		q[i] = c->q[(c->q_head + i) & (c->q_cap - 1)];
	}
	mem_free(c->q);
	c->q = q;
	c->q_cap = cap;
	c->q_head = 0;
}

/* Whether n more bytes of output make c a slow consumer; if so it is cut
 * off. A socket is slow when it has a backlog: one large frame to a
 * socket that keeps up is no reason to cut it off. */
static int
over_limit(struct conn *c, size_t n)
{
	size_t limit = (size_t) c->srv->conf->socket_output_limit;

	if (c->q_bytes == 0 || c->q_bytes + n <= limit) {
		return 0;
	}
	c->srv->stats.slow_consumers++;
	logger_info("%s %s: cut off: %zu bytes of output pending "
	            "(socket_output_limit)",
	    c->peer, c->id, c->q_bytes + n);
	conn_abort(c, "slow consumer");
	return 1;
}

/* What a buffer counts toward socket_output_limit while queued. */
static size_t
weight_of(const struct rbuf *b)
{
	return b->cap + CONN_FRAME_OVERHEAD;
}

/* Appends a reference to buf to the output ring and counts it. */
static void
push_output(struct conn *c, struct rbuf *buf)
{
	struct conn_out o = { rbuf_ref(buf), 0, (uint32_t) weight_of(buf) };

	if (c->q_len == c->q_cap) {
		grow_queue(c);
	}
	c->q[(c->q_head + c->q_len) & (c->q_cap - 1)] = o;
	c->q_len++;
	c->q_bytes += o.weight;
}

/* Queues buf whatever the state; the output limit applies. */
static int
enqueue(struct conn *c, struct rbuf *buf)
{
	if (buf->len == 0) {
		return 0;
	}
	if (over_limit(c, weight_of(buf))) {
		return -1;
	}
	push_output(c, buf);
	server_mark_dirty(c->srv, c);
	return 0;
}

int
conn_send(struct conn *c, struct rbuf *buf)
{
	if (c->state != CONN_WS) {
		return -1;
	}
	return enqueue(c, buf);
}

/* The last queue entry when only c's queue holds its buffer (it may
 * grow), else NULL. */
static struct conn_out *
own_tail(struct conn *c)
{
	struct conn_out *o;

	if (c->q_len == 0) {
		return NULL;
	}
	o = &c->q[(c->q_head + c->q_len - 1) & (c->q_cap - 1)];
	return o->buf->refs == 1 ? o : NULL;
}

/* Moves what o's buffer holds (nothing of it written yet) into a block
 * with room for n more bytes, so that a socket's own frames leave as one
 * segment. Returns o, or NULL when that cut c off. */
static struct conn_out *
grow_tail(struct conn *c, struct conn_out *o, size_t n)
{
	struct rbuf *old = o->buf, *b = rbuf_block(old->len + n);
	size_t more = weight_of(b) - o->weight;

	if (over_limit(c, more)) {
		rbuf_unref(b);
		return NULL;
	}
	memcpy(b->data, old->data, old->len);
	b->len = old->len;
	o->buf = b;
	o->weight = (uint32_t) weight_of(b);
	c->q_bytes += more;
	rbuf_unref(old);
	return o;
}

/* A new entry at the end of c's queue with room for n bytes: a small
 * buffer when n fits one and c has no frames of its own before it, else a
 * block. NULL when that cut c off. */
static struct conn_out *
push_room(struct conn *c, size_t n, int own)
{
	struct rbuf *b = own ? rbuf_block(n) : rbuf_empty(n);

	if (over_limit(c, weight_of(b))) {
		rbuf_unref(b);
		return NULL;
	}
	push_output(c, b);
	rbuf_unref(b); /* the queue holds it alone */
	return &c->q[(c->q_head + c->q_len - 1) & (c->q_cap - 1)];
}

uint8_t *
conn_reserve(struct conn *c, size_t n)
{
	struct conn_out *o;
	uint8_t *p;

	if (c->state != CONN_WS) {
		return NULL;
	}
	o = own_tail(c);
	if (o != NULL && rbuf_room(o->buf) < n) {
		o = o->off == 0 && o->buf->len + n <= RBUF_BLOCK_ROOM
		    ? grow_tail(c, o, n)
		    : push_room(c, n, 1);
	} else if (o == NULL) {
		o = push_room(c, n, 0);
	}
	if (o == NULL) {
		return NULL;
	}
	p = o->buf->data + o->buf->len;
	o->buf->len += (uint32_t) n;
	server_mark_dirty(c->srv, c);
	return p;
}

int
conn_send_text(struct conn *c, const char *p, size_t n)
{
	uint8_t *w = conn_reserve(c, ws_frame_size(n));

	if (w == NULL) {
		return -1;
	}
	memcpy(w + ws_header(w, WS_OP_TEXT, n), p, n);
	return 0;
}

static void
consume_output(struct conn *c, size_t n)
{
	while (n > 0) {
		struct conn_out *o = &c->q[c->q_head];
		size_t left = o->buf->len - o->off;

		if (n < left) {
			o->off += (uint32_t) n;
			o->weight -= (uint32_t) n;
			c->q_bytes -= n;
			return;
		}
		n -= left;
		c->q_bytes -= o->weight;
		rbuf_unref(o->buf);
		c->q_head = (c->q_head + 1) & (c->q_cap - 1);
		c->q_len--;
	}
}

/* The queue is empty: release it unless it is small (a busy socket would
 * allocate it again at once), and finish a close that waited on it. */
static void
output_drained(struct conn *c)
{
	if (c->q_cap > CONN_QUEUE_KEEP) {
		mem_free(c->q);
		c->q = NULL;
		c->q_cap = 0;
	}
	c->q_head = 0;
	set_write_interest(c, 0);
	if (c->state == CONN_CLOSING && c->peer_closed) {
		server_mark_dead(c->srv, c);
	}
}

/* How many iovecs from iov[s] (of n) are small and fit in CONN_GATHER_MAX
 * bytes together; their bytes in *total. */
static int
small_run(const struct iovec *iov, int n, int s, size_t *total)
{
	int k = s;

	*total = 0;
	while (k < n && iov[k].iov_len <= CONN_GATHER_FRAME
	    && iov[k].iov_len <= CONN_GATHER_MAX - *total) {
		*total += iov[k].iov_len;
		k++;
	}
	return k - s;
}

/* Copies the first run of at least two small iovecs of iov (n of them)
 * that fit in CONN_GATHER_MAX bytes into one buffer, and returns how many
 * iovecs are left (a block of a socket's own frames may come before
 * them). On this VM's kernel a writev copies each segment into the socket
 * at a fixed cost far above copying it here: the echo's 16 frames per
 * writev spent 8.7 % of the worker's CPU in _copy_from_iter as 16
 * segments and 0.5 % as one (docs/benchmarks.md). */
static int
gather_output(struct iovec *iov, int n)
{
	static uint8_t buf[CONN_GATHER_MAX];
	size_t total = 0;
	int s = 0, k = 0;

	while (s < n && (k = small_run(iov, n, s, &total)) < 2) {
		s += k + 1;
	}
	if (s >= n) {
		return n;
	}
	total = 0;
	for (int i = s; i < s + k; i++) {
		memcpy(buf + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	iov[s] = (struct iovec) { buf, total };
	memmove(iov + s + 1, iov + s + k, (size_t) (n - s - k) * sizeof(*iov));
	return n - k + 1;
}

int
conn_flush(struct conn *c)
{
	struct iovec iov[CONN_IOV_MAX];

	while (c->q_len > 0) {
		int n = 0;
		ssize_t w;

		for (uint32_t i = 0; i < c->q_len && n < CONN_IOV_MAX; i++) {
			struct conn_out *o
			    = &c->q[(c->q_head + i) & (c->q_cap - 1)];

			iov[n].iov_base = o->buf->data + o->off;
			iov[n].iov_len = o->buf->len - o->off;
			n++;
		}
		w = writev(c->fd, iov, gather_output(iov, n));
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_write_interest(c, 1);
			return 0;
		}
		if (w < 0) {
			conn_abort(c, strerror(errno));
			return -1;
		}
		consume_output(c, (size_t) w);
	}
	if (c->q != NULL || c->want_write) {
		output_drained(c);
	} else if (c->state == CONN_CLOSING && c->peer_closed) {
		server_mark_dead(c->srv, c);
	}
	return c->state == CONN_DEAD ? -1 : 0;
}

static void
queue_close_frame(struct conn *c, uint16_t code, const char *reason)
{
	uint8_t body[125];
	size_t n = 0;
	struct rbuf *b;

	if (code != WS_CLOSE_NO_STATUS) {
		n = ws_close_body(body, code, reason);
	}
	b = control_frame(WS_OP_CLOSE, body, n);
	enqueue(c, b);
	rbuf_unref(b);
}

static void
enter_closing(struct conn *c)
{
	c->state = CONN_CLOSING;
	c->close_deadline = server_now() + CONN_CLOSE_LINGER_MS;
	/* A closing socket reads only to see the peer's close frame. */
	if (c->paused) {
		c->paused = 0;
		update_events(c);
	}
	sess_on_close(c);
	conn_rearm(c);
}

void
conn_close(struct conn *c, uint16_t code, const char *reason)
{
	if (c->state == CONN_HTTP) {
		server_mark_dead(c->srv, c);
		return;
	}
	if (c->state != CONN_WS) {
		return;
	}
	logger_debug("%s %s: closing with %u", c->peer, c->id, code);
	sess_before_close(c);
	if (c->state != CONN_WS) {
		return; /* flushing its batch cut it off: counted once */
	}
	queue_close_frame(c, code, reason);
	if (c->state == CONN_WS) {
		enter_closing(c);
	}
}

void
conn_abort(struct conn *c, const char *why)
{
	if (c->state == CONN_DEAD) {
		return;
	}
	logger_debug("%s %s: dropped: %s", c->peer, c->id, why);
	/* No sess_on_close here: an abort can happen inside a fan-out that is
	 * walking a channel's subscribers. The reaper leaves the channels. */
	server_mark_dead(c->srv, c);
}

/* The peer's close frame: answer it (RFC 6455 §5.5.1), then finish. */
static void
on_close_frame(struct conn *c, const struct ws_msg *m)
{
	uint16_t code;
	const uint8_t *reason;
	size_t rlen;

	c->peer_closed = 1;
	if (c->state == CONN_CLOSING) {
		if (c->q_len == 0) {
			server_mark_dead(c->srv, c);
		}
		return;
	}
	if (ws_parse_close(m->data, m->len, &code, &reason, &rlen) != 0) {
		/* As Node's ws: a bad reason is bad data, a bad code is a
		 * protocol error. */
		code = m->len > 2 && !ws_utf8_valid(m->data + 2, m->len - 2)
		    ? WS_CLOSE_BAD_DATA
		    : WS_CLOSE_PROTOCOL;
	}
	queue_close_frame(c, code, NULL);
	if (c->state == CONN_WS) {
		enter_closing(c);
	}
	if (c->state == CONN_CLOSING && c->q_len == 0) {
		server_mark_dead(c->srv, c);
	}
}

static void
on_ws_message(struct conn *c, const struct ws_msg *m)
{
	struct rbuf *b;

	switch (m->opcode) {
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (c->state == CONN_WS) {
			c->srv->stats.messages_in++;
			sess_on_message(c, m, c->srv->now);
		}
		break;
	case WS_OP_PING:
		if (c->state == CONN_WS) {
			b = control_frame(WS_OP_PONG, m->data, m->len);
			conn_send(c, b);
			rbuf_unref(b);
		}
		break;
	case WS_OP_CLOSE:
		on_close_frame(c, m);
		break;
	default:
		break;
	}
}

/* Sends a complete HTTP response and closes once it is written. */
static void
http_reply(struct conn *c, int status, const char *extra, const char *body)
{
	/* The 403 body repeats the client's Origin: size the buffer from
	 * the parts, not from a guess. */
	size_t cap
	    = 256 + (extra ? strlen(extra) : 0) + (body ? strlen(body) : 0);
	char *out = mem_alloc(cap);
	size_t n = http_response(out, cap, status, extra, body);
	struct rbuf *b = rbuf_copy(out, n);

	mem_free(out);
	c->state = CONN_CLOSING;
	c->peer_closed = 1;
	c->close_deadline = server_now() + CONN_CLOSE_LINGER_MS;
	enqueue(c, b);
	rbuf_unref(b);
	conn_rearm(c);
}

/* The 101 response, without printf: every connection pays for it. */
static void
upgrade(struct conn *c, const char *accept)
{
	static const char head[] = "HTTP/1.1 101 Switching Protocols\r\n"
	                           "Upgrade: websocket\r\n"
	                           "Connection: Upgrade\r\n"
	                           "Sec-WebSocket-Accept: ";
	size_t alen = strlen(accept);
	struct rbuf *b = rbuf_new(sizeof(head) - 1 + alen + 4);

	memcpy(b->data, head, sizeof(head) - 1);
	memcpy(b->data + sizeof(head) - 1, accept, alen);
	memcpy(b->data + sizeof(head) - 1 + alen, "\r\n\r\n", 4);
	c->state = CONN_WS;
	enqueue(c, b);
	rbuf_unref(b);
	sess_on_open(c, server_now());
}

/* HANDSHAKE_WS settled: 101, or 401 with the error's message. */
static void
handshake_ws_done(struct agplugin_action *a)
{
	if (a->outcome == MW_ALLOWED) {
		upgrade(a->c, a->ctx);
		return;
	}
	a->c->srv->stats.http_rejected++;
	http_reply(a->c, 401, NULL, a->message);
}

/* An upgrade the checks allow still passes the handshake middleware. */
static void
upgrade_through_mw(struct conn *c, const struct http_decision *d)
{
	struct agplugin_action *a;

	if (!mw_has(&c->srv->plugins, AGPLUGIN_MIDDLEWARE_HANDSHAKE)) {
		upgrade(c, d->accept);
		return;
	}
	a = mw_new(c, AGPLUGIN_HANDSHAKE_WS);
	a->ctx = mem_strdup(d->accept);
	a->ctx_free = mem_free;
	mw_run(a, handshake_ws_done);
}

/* Handles the request head; returns the bytes it used. */
static size_t
on_http(struct conn *c, const uint8_t *buf, size_t len)
{
	const struct agconf *conf = c->srv->conf;
	struct http_policy pol = { .ws_path = conf->path,
		.health_path = "/health-check",
		.origins = conf->origins,
		.ready_path = "/ready" };
	struct http_decision d;
	struct http_req req;
	size_t used = 0;
	int status = 400;

	switch (http_parse((const char *) buf, len, &req, &used, &status)) {
	case HTTP_NEED_MORE:
		return 0;
	case HTTP_BAD:
		c->srv->stats.http_rejected++;
		http_reply(c, status, NULL, http_status_text(status));
		return len;
	case HTTP_DONE:
		break;
	}
	http_decide(&req, &pol, &d);
	if (d.verdict == HTTP_UPGRADE) {
		plugin_keep_request(c, &req);
		upgrade_through_mw(c, &d);
		/* Refused (401) at once: the rest is never read. */
		return c->state == CONN_CLOSING ? len : used;
	}
	if (d.verdict == HTTP_HEALTH) {
		http_reply(c, 200, NULL, "OK");
		return len;
	}
	if (d.verdict == HTTP_READY) {
		const char *why = server_unready(c->srv);

		http_reply(c, why ? 503 : 200, NULL, why ? why : "OK");
		return len;
	}
	c->srv->stats.http_rejected++;
	http_reply(c, d.status, d.extra_headers, d.reason);
	return len;
}

/* Feeds bytes to the state machine; returns how many it consumed. */
static size_t
process(struct conn *c, uint8_t *buf, size_t len)
{
	size_t used = 0;

	if (c->state == CONN_HTTP) {
		used = on_http(c, buf, len);
	}
	while (used < len && !c->paused
	    && (c->state == CONN_WS || c->state == CONN_CLOSING)) {
		struct ws_msg m;
		uint16_t code = 0;
		size_t u = 0;
		enum ws_result r;

		r = ws_read(&c->wsr, buf + used, len - used, &u, &m, &code);
		used += u;
		if (r == WS_NEED_MORE) {
			break;
		}
		if (r == WS_FAIL) {
			c->srv->stats.ws_errors++;
			conn_close(c, code, NULL);
			return len;
		}
		on_ws_message(c, &m);
	}
	return c->state == CONN_DEAD ? len : used;
}

/* Makes room in c->in for the next read: at least 4 KiB, growing
 * geometrically for large frames (bounded by max_payload via ws_read). */
static void
reserve_input(struct conn *c)
{
	if (c->in_cap - c->in_len >= 4096) {
		return;
	}
	c->in_cap = c->in_cap ? c->in_cap * 2 : 16384;
	c->in = mem_realloc(c->in, c->in_cap);
}

static void
keep_input(struct conn *c, const uint8_t *from, size_t n)
{
	if (c->in == NULL) {
		c->in_cap = n > 16384 ? (uint32_t) n * 2 : 16384;
		c->in = mem_alloc(c->in_cap);
		memcpy(c->in, from, n);
	} else {
		memmove(c->in, from, n);
	}
	c->in_len = (uint32_t) n;
}

static void
drop_input(struct conn *c)
{
	mem_free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
}

/* One read; returns 1 to read again (the buffer filled, so more may be
 * waiting), 0 when the socket is read dry or c is done. */
static int
read_once(struct conn *c)
{
	struct server *s = c->srv;
	uint8_t *buf = s->scratch;
	size_t off = 0, cap = s->scratch_size, used, total;
	ssize_t n;

	if (c->in != NULL) {
		reserve_input(c);
		buf = c->in;
		off = c->in_len;
		cap = c->in_cap;
	}
	n = read(c->fd, buf + off, cap - off);
	if (n < 0 && errno == EINTR) {
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		return 0;
	}
	if (n <= 0) {
		conn_abort(c, n == 0 ? "peer closed" : strerror(errno));
		return 0;
	}
	total = off + (size_t) n;
	used = process(c, buf, total);
	if (c->state == CONN_DEAD || used == total) {
		drop_input(c);
	} else {
		keep_input(c, buf + used, total - used);
	}
	return (size_t) n == cap - off;
}

static void
conn_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	/* One clock read per event, not per message. */
	c->srv->now = server_now();
	if ((what & EV_WRITE) && conn_flush(c) < 0) {
		return;
	}
	if (!(what & EV_READ)) {
		return;
	}
	for (int i = 0; c->state != CONN_DEAD && !c->paused; i++) {
		if (!read_once(c)) {
			break;
		}
		if (i + 1 == CONN_READS_PER_EVENT && c->state != CONN_DEAD
		    && !c->paused) {
			/* Not read dry, so no new edge will come. Adding the
			 * event again makes epoll report the waiting bytes at
			 * its next wait, after the other sockets and the
			 * timers. (event_active would run it again in this
			 * same pass: a peer that keeps the buffer full would
			 * starve everything else.) */
			event_del(&c->ev);
			event_add(&c->ev, NULL);
			break;
		}
	}
	/* Output queued for this socket (the replies and deliveries its own
	 * input made, and whatever others sent it earlier in the turn)
	 * leaves now, while its state is hot in the caches, the kernel's
	 * included; what others send it later in the turn leaves at the
	 * turn's end, as for any other socket (server.c's flush). */
	if (c->dirty && c->state != CONN_DEAD) {
		conn_flush(c);
	}
	server_relieve(c->srv);
}

void
conn_resume(struct conn *c)
{
	size_t used;

	if (!c->paused || c->state == CONN_DEAD) {
		return;
	}
	c->paused = 0;
	update_events(c);
	if (c->in == NULL || c->in_len == 0) {
		return;
	}
	used = process(c, c->in, c->in_len);
	if (c->state == CONN_DEAD || used == c->in_len) {
		drop_input(c);
	} else {
		keep_input(c, c->in + used, c->in_len - used);
	}
}

void
conn_rearm(struct conn *c)
{
	uint64_t at = c->close_deadline;

	if (c->state == CONN_DEAD) {
		return;
	}
	if (c->state == CONN_WS) {
		at = sess_next_deadline(c);
	}
	if (at == UINT64_MAX) {
		twheel_cancel(&c->srv->wheel, &c->timer);
		return;
	}
	twheel_schedule(&c->srv->wheel, &c->timer, at);
}

void
conn_on_timer(struct conn *c, uint64_t now)
{
	if (c->state == CONN_WS) {
		sess_on_timer(c, now);
	} else if (now >= c->close_deadline) {
		conn_abort(c,
		    c->state == CONN_HTTP ? "request timed out"
		                          : "close timed out");
	}
	conn_rearm(c);
}
