#include "session.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/logger.h"
#include "common/envelope.h"
#include "common/mem.h"
#include "common/token.h"
#include "worker/cluster.h"
#include "worker/conn.h"
#include "worker/mw.h"
#include "worker/plugin.h"
#include "worker/rpc.h"
#include "worker/scp.h"
#include "worker/server.h"
#include "worker/ws.h"

/* Close codes of spec §9. */
enum {
	SESS_PONG_TIMEOUT = 4001,
	SESS_HANDSHAKE_TIMEOUT = 4005,
	SESS_HANDSHAKE_REJECTED = 4008,
	SESS_NOT_HANDSHAKEN = 4009,
};

/* Channel names travel between processes with a bounded length. */
#define LONG_NAME "Channel name is longer than 1024 bytes"

/* The largest message accepted before the handshake. */
#define SESS_MAX_BEFORE_HANDSHAKE (64 * 1024)

/* The session's bits in a channel's mark (struct chidx_chan). */
#define CHAN_CONFIRMED 1u /* its owner broker has it (cluster) */
#define CHAN_PLAIN     2u /* its name needs no escaping (scp_name_plain) */

static const struct agconf *
conf(const struct conn *c)
{
	return c->srv->conf;
}

/* Socket ids as the reference makes them: 15 bytes (12 random, 3 from a
 * counter) in URL-safe base64, 20 characters. */
static void
make_id(struct conn *c)
{
	static const char b64[]
	    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	      "vwxyz0123456789-_";
	struct server *s = c->srv;
	uint8_t raw[15];
	uint32_t n = s->id_counter++;

	if (s->id_pool_left < 12) {
		/* Workers never fork once started, so no two processes
		 * draw from the same pool. */
		if (RAND_bytes(s->id_pool, sizeof(s->id_pool)) != 1) {
			memset(s->id_pool, 0, sizeof(s->id_pool));
		}
		s->id_pool_left = sizeof(s->id_pool);
	}
	s->id_pool_left -= 12;
	memcpy(raw, s->id_pool + s->id_pool_left, 12);
	/* used bytes are not kept */
	memset(s->id_pool + s->id_pool_left, 0, 12);
	raw[12] = (uint8_t) (n >> 16);
	raw[13] = (uint8_t) (n >> 8);
	raw[14] = (uint8_t) n;
	for (int i = 0, o = 0; i < 15; i += 3) {
		uint32_t v
		    = (uint32_t) raw[i] << 16 | raw[i + 1] << 8 | raw[i + 2];

		c->id[o++] = b64[v >> 18];
		c->id[o++] = b64[(v >> 12) & 63];
		c->id[o++] = b64[(v >> 6) & 63];
		c->id[o++] = b64[v & 63];
	}
	c->id[20] = '\0';
}

/* Adds one packet to the batch of a socket that is batching after its
 * handshake (batch_on_handshake); the batch leaves as one JSON array. */
static void
batch_add(struct conn *c, const char *json, size_t n)
{
	if (c->state != CONN_WS) {
		return;
	}
	if (c->batch == NULL) {
		c->batch = mem_alloc(sizeof(*c->batch));
		sb_init(c->batch);
		sb_addc(c->batch, '[');
		c->batch_flush_at
		    = server_now() + (uint64_t) conf(c)->batch_interval;
		conn_rearm(c);
	} else {
		sb_addc(c->batch, ',');
	}
	sb_add(c->batch, json, n);
	if (c->batch->len > (size_t) conf(c)->socket_output_limit) {
		c->srv->stats.slow_consumers++;
		conn_abort(c, "batch over socket_output_limit");
	}
}

static void
batch_flush(struct conn *c)
{
	if (c->batch == NULL) {
		return;
	}
	sb_addc(c->batch, ']');
	conn_send_text(c, c->batch->data, c->batch->len);
	sb_fini(c->batch);
	mem_free(c->batch);
	c->batch = NULL;
}

void
sess_on_open(struct conn *c, uint64_t now)
{
	/* Before the handshake only a #handshake is legal: a client that has
	 * proven nothing may not make the worker hold a 100 MiB message. */
	if (c->wsr.max_payload > SESS_MAX_BEFORE_HANDSHAKE) {
		c->wsr.max_payload = SESS_MAX_BEFORE_HANDSHAKE;
	}
	make_id(c);
	c->handshake_deadline = now + (uint64_t) conf(c)->handshake_timeout;
	c->pong_reset = now;
	c->next_ping = UINT64_MAX;
	conn_rearm(c);
}

static int
pings_on(const struct conn *c)
{
	return !conf(c)->ping_timeout_disabled;
}

uint64_t
sess_next_deadline(const struct conn *c)
{
	uint64_t at = UINT64_MAX;
	uint64_t pong = c->pong_reset + (uint64_t) conf(c)->ping_timeout;

	if (!c->handshaken) {
		at = c->handshake_deadline;
	}
	if (pings_on(c)) {
		at = pong < at ? pong : at;
		at = c->next_ping < at ? c->next_ping : at;
	}
	if (c->batch_until != 0 && c->batch_until < at) {
		at = c->batch_until;
	}
	if (c->batch != NULL && c->batch_flush_at < at) {
		at = c->batch_flush_at;
	}
	return at;
}

void
sess_on_timer(struct conn *c, uint64_t now)
{
	if (c->batch != NULL && now >= c->batch_flush_at) {
		batch_flush(c);
	}
	if (c->batch_until != 0 && now >= c->batch_until) {
		batch_flush(c);
		c->batch_until = 0;
	}
	if (!c->handshaken && now >= c->handshake_deadline) {
		conn_close(c, SESS_HANDSHAKE_TIMEOUT, NULL);
		return;
	}
	if (!pings_on(c)) {
		return;
	}
	if (now >= c->pong_reset + (uint64_t) conf(c)->ping_timeout) {
		conn_close(c, SESS_PONG_TIMEOUT, NULL);
		return;
	}
	if (now >= c->next_ping) {
		conn_send(c, c->srv->ping_frame);
		c->next_ping = now + (uint64_t) conf(c)->ping_interval;
	}
}

/* The rest of a message whose packet paused the socket: its text (owned),
 * and how many of its packets were handled. */
struct sess_rest {
	char *msg;
	size_t len;
	int done;
};

static void
rest_free(struct sess_rest *r)
{
	if (r != NULL) {
		mem_free(r->msg);
		mem_free(r);
	}
}

void
sess_before_close(struct conn *c)
{
	batch_flush(c);
}

void
sess_on_close(struct conn *c)
{
	rest_free(c->rest);
	c->rest = NULL;
	chidx_unsubscribe_all(&c->srv->channels, &c->chans);
}

/* Sends what was built in the server's shared output buffer. */
static void
send_out(struct conn *c)
{
	sess_send(c, c->srv->out.data, c->srv->out.len);
}

static struct scp_span
span(const char *p, size_t n)
{
	struct scp_span s = { p, n };

	return s;
}

static const struct scp_span no_data = { NULL, 0 };

static void
reply_ok(struct conn *c, struct scp_span rid)
{
	sb_reset(&c->srv->out);
	scp_put_response(&c->srv->out, rid, no_data);
	send_out(c);
}

static void
reply_error_n(struct conn *c, struct scp_span rid, const char *name,
    const char *message, size_t n)
{
	sb_reset(&c->srv->out);
	scp_put_error(&c->srv->out, rid, name, message, n);
	send_out(c);
}

static void
reply_error(
    struct conn *c, struct scp_span rid, const char *name, const char *message)
{
	reply_error_n(c, rid, name, message, strlen(message));
}

/* Unescapes string token t into the server's name buffer; returns its
 * length (an unescaped string is never longer than its escaped form). */
static size_t
get_name(struct conn *c, int t)
{
	struct server *s = c->srv;
	size_t raw = scp_str_raw(&s->dec, t).n;

	if (s->name_cap < raw + 1) {
		s->name_cap = raw + 1;
		s->name = mem_realloc(s->name, s->name_cap);
	}
	return (size_t) scp_str_get(&s->dec, t, s->name, s->name_cap);
}

/* The channel name of a #publish or #subscribe, or SCP_NONE. */
static int
channel_of(const struct scp_decoder *d, int data)
{
	int t = data == SCP_NONE ? SCP_NONE : scp_field(d, data, "channel");

	return t != SCP_NONE && scp_is_string(d, t) ? t : SCP_NONE;
}

#define AUTH_OK "{\"isAuthenticated\":true,\"authError\":null}"

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
send_remove_token(struct conn *c)
{
	sb_reset(&c->srv->out);
	scp_put_event(&c->srv->out, "#removeAuthToken", no_data);
	send_out(c);
}

/* Forgets the socket's token (server side only). */
static void
drop_auth(struct conn *c)
{
	if (c->auth != NULL) {
		token_claims_fini(c->auth);
		mem_free(c->auth);
		c->auth = NULL;
	}
}

/* The error object of spec §7.3 for a refused token. */
static void
put_token_error(struct strbuf *sb, const struct token_error *e)
{
	sb_adds(sb, "{\"message\":");
	sb_add_json_str(sb, e->message, strlen(e->message));
	sb_adds(sb, ",\"name\":");
	sb_add_json_str(sb, e->name, strlen(e->name));
	if (e->date_field != NULL) {
		sb_addf(sb, ",\"%s\":", e->date_field);
		if (e->date[0] != '\0') {
			sb_add_json_str(sb, e->date, strlen(e->date));
		} else {
			sb_adds(sb, "null");
		}
	}
	sb_adds(sb,
	    e->is_bad_token ? ",\"isBadToken\":true}"
	                    : ",\"isBadToken\":false}");
}

/*
 * Verifies the token at token t (any JSON value; SCP_NONE or null when
 * absent) as ag-auth does. Returns 1 and makes it the socket's token, or
 * returns 0 with *e saying why.
 */
static int
authenticate(
    struct conn *c, const struct scp_decoder *d, int t, struct token_error *e)
{
	struct token_claims claims;
	struct scp_span raw;
	char *tok;
	int rv;

	memset(e, 0, sizeof(*e));
	e->is_bad_token = 1;
	if (t != SCP_NONE && !scp_is_null(d, t) && !scp_is_string(d, t)) {
		e->name = "AuthTokenError";
		snprintf(e->message, sizeof(e->message),
		    "Invalid token format - Token must be a string");
		return 0;
	}
	raw = t == SCP_NONE || scp_is_null(d, t) ? no_data : scp_str_raw(d, t);
	/* Tokens are base64url and dots: an escape in one only makes it
	 * malformed, so the raw text is what is verified. */
	tok = mem_strndup(raw.p != NULL ? raw.p : "", raw.n);
	rv = token_verify(
	    c->srv->tokens.verifier, tok, raw.n, wall_ms(), &claims, e);
	mem_free(tok);
	if (rv != TOKEN_OK) {
		return 0;
	}
	drop_auth(c);
	c->auth = mem_alloc(sizeof(*c->auth));
	*c->auth = claims;
	return 1;
}

/*
 * The reference re-checks a held token lazily (spec §8.6): on a pong and on
 * every inbound event but #handshake, #authenticate and #removeAuthToken.
 */
static void
check_expiry(struct conn *c)
{
	if (c->auth != NULL && token_expired(c->auth, wall_ms())) {
		drop_auth(c);
		send_remove_token(c);
	}
}

/* What the handshake found out about its token, carried through the
 * HANDSHAKE_SC and AUTHENTICATE middleware. */
struct hs_state {
	int token; /* the handshake carried one */
	int ok;    /* and it verified */
	struct token_error e;
};

/* The reference's authInfo, HANDSHAKE_SC's data. */
static void
put_auth_info(struct conn *c, struct strbuf *sb, const struct hs_state *hs,
    struct scp_span raw)
{
	sb_adds(sb, "{\"signedAuthToken\":");
	sb_add(sb, raw.p != NULL ? raw.p : "null", raw.p != NULL ? raw.n : 4);
	sb_adds(sb, ",\"authTokenError\":");
	if (hs->token && !hs->ok) {
		put_token_error(sb, &hs->e);
	} else {
		sb_adds(sb, "null");
	}
	sb_adds(sb, ",\"authToken\":");
	if (hs->ok) {
		sb_add(sb, c->auth->payload, c->auth->len);
	} else {
		sb_adds(sb, "null");
	}
	sb_adds(sb,
	    hs->ok ? ",\"authState\":\"authenticated\"}"
	           : ",\"authState\":\"unauthenticated\"}");
}

/* Answers the handshake: auth_error is the raw authError (NULL: none),
 * bad says it was a bad token (then #removeAuthToken follows). */
static void
hs_reply(struct conn *c, struct scp_span rid, const char *auth_error, size_t n,
    int bad)
{
	struct server *s = c->srv;
	uint64_t now = server_now();
	struct strbuf d;

	sb_init(&d);
	sb_addf(&d, "{\"id\":\"%s\",\"pingTimeout\":%lld", c->id,
	    conf(c)->ping_timeout);
	if (auth_error != NULL) {
		sb_adds(&d, ",\"authError\":");
		sb_add(&d, auth_error, n);
	}
	sb_adds(&d,
	    c->auth != NULL ? ",\"isAuthenticated\":true}"
	                    : ",\"isAuthenticated\":false}");
	sb_reset(&s->out);
	scp_put_response(&s->out, rid, span(d.data, d.len));
	sb_fini(&d);
	send_out(c);
	if (bad) {
		drop_auth(c);
		send_remove_token(c);
	}
	if (!c->handshaken) {
		c->handshaken = 1;
		c->wsr.max_payload = (uint64_t) conf(c)->max_payload;
		c->next_ping = now + (uint64_t) conf(c)->ping_interval;
		if (conf(c)->batch_on_handshake) {
			c->batch_until = now
			    + (uint64_t) conf(c)->batch_on_handshake_duration;
		}
		conn_rearm(c);
	}
}

static struct scp_span
rid_of(const struct agplugin_action *a)
{
	return span(a->rid, a->rid_len);
}

/* AUTHENTICATE after a handshake's token: a block is a soft authError. */
static void
hs_auth_done(struct agplugin_action *a)
{
	if (a->outcome == MW_BLOCKED) {
		drop_auth(a->c);
		hs_reply(
		    a->c, rid_of(a), a->error, a->error_len, a->bad_token);
		return;
	}
	hs_reply(a->c, rid_of(a), NULL, 0, 0);
}

/* Borrows the fields of a packet into an action that never leaves the
 * stack: the path taken when no middleware of its type is installed. */
static void
direct(struct agplugin_action *a, struct conn *c, enum agplugin_action_type t,
    struct scp_span rid)
{
	memset(a, 0, sizeof(*a));
	a->c = c;
	a->type = (uint8_t) t;
	a->outcome = MW_ALLOWED;
	a->rid = (char *) rid.p;
	a->rid_len = rid.n;
}

/* Runs an AUTHENTICATE action for the socket's new token. */
static void
run_authenticate(struct conn *c, struct scp_span rid, mw_done_fn done)
{
	struct agplugin_action local, *a;

	if (!mw_has(&c->srv->plugins, AGPLUGIN_MIDDLEWARE_INBOUND)) {
		direct(&local, c, AGPLUGIN_AUTHENTICATE, rid);
		done(&local);
		return;
	}
	a = mw_new(c, AGPLUGIN_AUTHENTICATE);
	mw_set_rid(a, rid.p, rid.n);
	mw_set_data(a, c->auth->payload, c->auth->len);
	mw_run(a, done);
}

/* HANDSHAKE_SC settled: a block answers the error and closes with its
 * statusCode; otherwise the token (if good) passes AUTHENTICATE. */
static void
hs_sc_done(struct agplugin_action *a)
{
	struct conn *c = a->c;
	const struct hs_state *hs = a->ctx;

	if (a->outcome == MW_BLOCKED) {
		sb_reset(&c->srv->out);
		scp_put_error_raw(
		    &c->srv->out, rid_of(a), a->error, a->error_len);
		send_out(c);
		conn_close(c, (uint16_t) a->status, NULL);
		return;
	}
	if (hs->ok) {
		run_authenticate(c, rid_of(a), hs_auth_done);
		return;
	}
	if (!hs->token) {
		hs_reply(c, rid_of(a), NULL, 0, 0);
		return;
	}
	sb_reset(&c->srv->err);
	put_token_error(&c->srv->err, &hs->e);
	hs_reply(c, rid_of(a), c->srv->err.data, c->srv->err.len,
	    hs->e.is_bad_token);
}

static void
on_handshake(struct conn *c, const struct scp_packet *p)
{
	struct server *s = c->srv;
	int t = p->data != SCP_NONE ? scp_field(&s->dec, p->data, "authToken")
	                            : SCP_NONE;
	struct hs_state *hs = mem_calloc(1, sizeof(*hs));
	struct scp_span rid = scp_raw(&s->dec, p->cid);
	struct agplugin_action local, *a;

	hs->token = t != SCP_NONE && !scp_is_null(&s->dec, t)
	    && !(scp_is_string(&s->dec, t) && scp_str_raw(&s->dec, t).n == 0);
	hs->ok = hs->token && authenticate(c, &s->dec, t, &hs->e);
	/* As the reference: the handshake timeout stops here. */
	c->handshake_deadline = UINT64_MAX;
	if (!mw_has(&s->plugins, AGPLUGIN_MIDDLEWARE_HANDSHAKE)) {
		direct(&local, c, AGPLUGIN_HANDSHAKE_SC, rid);
		local.ctx = hs;
		hs_sc_done(&local);
		mem_free(hs);
		return;
	}
	a = mw_new(c, AGPLUGIN_HANDSHAKE_SC);
	mw_set_rid(a, rid.p, rid.n);
	sb_reset(&s->err);
	put_auth_info(
	    c, &s->err, hs, hs->token ? scp_raw(&s->dec, t) : no_data);
	mw_set_data(a, s->err.data, s->err.len);
	a->ctx = hs;
	a->ctx_free = mem_free;
	mw_run(a, hs_sc_done);
}

/* AUTHENTICATE after #authenticate: a block with isBadToken is an error
 * reply and deauthenticates; any other block is a soft authError. */
static void
auth_done(struct agplugin_action *a)
{
	struct server *s = a->c->srv;

	sb_reset(&s->out);
	if (a->outcome == MW_ALLOWED) {
		scp_put_response(
		    &s->out, rid_of(a), span(AUTH_OK, strlen(AUTH_OK)));
		send_out(a->c);
		return;
	}
	drop_auth(a->c);
	if (a->bad_token) {
		scp_put_error_raw(&s->out, rid_of(a), a->error, a->error_len);
		send_out(a->c);
		send_remove_token(a->c);
		return;
	}
	sb_reset(&s->err);
	sb_adds(&s->err, "{\"isAuthenticated\":false,\"authError\":");
	sb_add(&s->err, a->error, a->error_len);
	sb_addc(&s->err, '}');
	scp_put_response(&s->out, rid_of(a), span(s->err.data, s->err.len));
	send_out(a->c);
}

/* #authenticate (spec §8.4): a bad token is an error reply and
 * deauthenticates; a token not yet valid is a soft failure in data. */
static void
on_authenticate(struct conn *c, const struct scp_packet *p)
{
	struct server *s = c->srv;
	struct scp_span rid = scp_raw(&s->dec, p->cid);
	struct token_error e;

	if (authenticate(c, &s->dec, p->data, &e)) {
		run_authenticate(c, rid, auth_done);
		return;
	}
	sb_reset(&s->err);
	if (!e.is_bad_token) {
		sb_adds(&s->err, "{\"isAuthenticated\":false,\"authError\":");
		put_token_error(&s->err, &e);
		sb_addc(&s->err, '}');
		sb_reset(&s->out);
		scp_put_response(&s->out, rid, span(s->err.data, s->err.len));
		send_out(c);
		return;
	}
	put_token_error(&s->err, &e);
	sb_reset(&s->out);
	scp_put_error_raw(&s->out, rid, s->err.data, s->err.len);
	send_out(c);
	drop_auth(c);
	send_remove_token(c);
}

/* A channel's message, as its #publish frames are built. */
struct pub_msg {
	const char *name;
	size_t n;
	int plain; /* scp_name_plain: the name needs no escaping */
	struct scp_span data;
};

/* The length of m's #publish text when its name is plain (publish_write
 * writes it); else 0, and the text is in s->out. */
static size_t
publish_text(struct server *s, const struct pub_msg *m)
{
	if (m->plain) {
		return scp_publish_len(m->n, m->data);
	}
	sb_reset(&s->out);
	scp_put_publish(&s->out, m->name, m->n, m->data);
	return 0;
}

/* Writes the whole frame of m's #publish text (len bytes) at w. */
static void
publish_write(uint8_t *w, size_t len, const struct pub_msg *m)
{
	scp_write_publish((char *) w + ws_header(w, WS_OP_TEXT, len), m->name,
	    m->n, m->data);
}

/* The #publish frame of m, to share. */
static struct rbuf *
publish_frame(struct server *s, const struct pub_msg *m)
{
	size_t len = publish_text(s, m);
	struct rbuf *b;

	if (len == 0) {
		return conn_text_frame(s->out.data, s->out.len);
	}
	b = rbuf_new(ws_frame_size(len));
	publish_write(b->data, len, m);
	return b;
}

/* Queues the #publish frame of m for c alone: written straight into its
 * output. Returns as conn_send. */
static int
publish_own(struct conn *c, const struct pub_msg *m)
{
	size_t len = publish_text(c->srv, m);
	uint8_t *w;

	if (len == 0) {
		return conn_send_text(c, c->srv->out.data, c->srv->out.len);
	}
	w = conn_reserve(c, ws_frame_size(len));
	if (w == NULL) {
		return -1;
	}
	publish_write(w, len, m);
	return 0;
}

/* Delivers a publish to c: the shared frame, or (frame NULL) one of its
 * own built from m. */
static void
deliver(struct conn *c, struct rbuf *frame, const struct pub_msg *m)
{
	int rv;

	if (c->state != CONN_WS) {
		return;
	}
	/* A delivery never joins a batch, so the encoded frame stays
	 * shared; flushing first keeps the order. */
	batch_flush(c);
	rv = frame != NULL ? conn_send(c, frame) : publish_own(c, m);
	if (rv == 0) {
		c->srv->stats.deliveries++;
	}
}

void
sess_deliver(struct conn *c, struct mw_pub *p, const char *data, size_t len)
{
	struct pub_msg m = { p->chan, p->chan_len, p->plain, span(data, len) };

	deliver(c, data == NULL ? p->frame : NULL, &m);
}

/* With outbound middleware every recipient's delivery is an action. The
 * subscribers are copied first: a middleware may change the channel. */
static void
publish_through_mw(struct server *s, struct chidx_chan *ch, struct mw_pub *p)
{
	uint32_t n = ch->nsubs;
	struct conn **subs = mem_alloc((n ? n : 1) * sizeof(*subs));

	for (uint32_t i = 0; i < n; i++) {
		subs[i] = ch->subs[i].owner;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (subs[i]->state == CONN_WS) {
			mw_publish_out(subs[i], p);
		}
	}
	mem_free(subs);
}

/* Builds the #publish frame of channel ch (NULL: no local subscriber)
 * once and queues the same bytes on every local subscriber; a single
 * subscriber (a socket's own channel) gets it written into its output. */
static void
publish_to(struct server *s, struct chidx_chan *ch, const char *name, size_t n,
    struct scp_span data)
{
	struct pub_msg m = { name, n, 0, data };
	struct rbuf *frame;
	struct mw_pub *p;

	s->stats.publishes++;
	if (ch == NULL) {
		return;
	}
	m.plain = (ch->mark & CHAN_PLAIN) != 0;
	if (mw_has(&s->plugins, AGPLUGIN_MIDDLEWARE_OUTBOUND)) {
		p = mw_pub_new(name, n, data.p, data.n);
		p->frame = publish_frame(s, &m);
		p->plain = m.plain;
		publish_through_mw(s, ch, p);
		mw_pub_unref(p);
		return;
	}
	if (ch->nsubs == 1) {
		deliver(ch->subs[0].owner, NULL, &m);
		return;
	}
	frame = publish_frame(s, &m);
	for (uint32_t i = 0; i < ch->nsubs; i++) {
		deliver(ch->subs[i].owner, frame, &m);
	}
	rbuf_unref(frame);
}

void
sess_publish_local(
    struct server *s, const char *name, size_t n, struct scp_span data)
{
	publish_to(s, chidx_find(&s->channels, name, n), name, n, data);
}

/* Clustered: the owner broker delivers to every worker with subscribers,
 * this one included; the rid means the broker has the message. */
static void
publish_to_broker(struct conn *c, struct scp_span rid, const char *name,
    size_t n, struct scp_span data)
{
	struct server *s = c->srv;

	if (cluster_publish(&s->cluster, name, n, data) == 0) {
		if (rid.p != NULL) {
			reply_ok(c, rid);
		}
		return;
	}
	if (rid.p != NULL) {
		sb_reset(&s->err);
		sb_adds(&s->err, "Failed to publish to the ");
		sb_add(&s->err, name, n);
		sb_adds(&s->err, " channel - its broker is unreachable");
		reply_error_n(c, rid, "BrokerError", s->err.data, s->err.len);
	}
}

/* Sends a block's error to an RPC; a transmit gets nothing. */
static void
reply_blocked(struct agplugin_action *a)
{
	if (a->rid != NULL) {
		sb_reset(&a->c->srv->out);
		scp_put_error_raw(
		    &a->c->srv->out, rid_of(a), a->error, a->error_len);
		send_out(a->c);
	}
}

static struct scp_span
data_of(const struct agplugin_action *a)
{
	return span(a->data, a->len);
}

/* Runs an inbound action of type with the packet's fields (copied when a
 * middleware may keep it), or goes straight to done when none is
 * installed. */
static void
run_inbound(struct conn *c, enum agplugin_action_type type,
    struct scp_span name, struct scp_span data, struct scp_span rid,
    mw_done_fn done)
{
	struct agplugin_action local, *a;

	if (!mw_has(&c->srv->plugins, AGPLUGIN_MIDDLEWARE_INBOUND)) {
		direct(&local, c, type, rid);
		local.name = (char *) name.p;
		local.name_len = name.n;
		local.data = (char *) data.p;
		local.len = data.n;
		done(&local);
		return;
	}
	a = mw_new(c, type);
	mw_set_name(a, name.p, name.n);
	mw_set_data(a, data.p, data.n);
	mw_set_rid(a, rid.p, rid.n);
	mw_run(a, done);
}

/* A publish the inbound middleware allowed, or that met none: to the
 * owner broker when clustered, else to the local subscribers. */
static void
publish_allowed(struct conn *c, struct scp_span rid, const char *name,
    size_t n, struct scp_span data)
{
	if (cluster_enabled(&c->srv->cluster)) {
		publish_to_broker(c, rid, name, n, data);
		return;
	}
	if (rid.p != NULL) {
		reply_ok(c, rid);
	}
	/* A socket mostly publishes to the channel it published to last. */
	publish_to(c->srv,
	    chidx_find_hinted(&c->srv->channels, name, n, &c->pub_hint), name,
	    n, data);
}

static void
publish_in_done(struct agplugin_action *a)
{
	if (a->outcome == MW_BLOCKED) {
		reply_blocked(a);
		return;
	}
	publish_allowed(a->c, rid_of(a), a->name, a->name_len, data_of(a));
}

/* A #publish of the channel name (n bytes). Without inbound middleware no
 * action is built: this is every publish's path. */
static void
publish_named(struct conn *c, struct scp_span rid, const char *name, size_t n,
    struct scp_span data)
{
	if (n > ENVELOPE_MAX_CHANNEL) {
		if (rid.p != NULL) {
			reply_error(c, rid, "InvalidActionError", LONG_NAME);
		}
		return;
	}
	if (!mw_has(&c->srv->plugins, AGPLUGIN_MIDDLEWARE_INBOUND)) {
		publish_allowed(c, rid, name, n, data);
		return;
	}
	run_inbound(
	    c, AGPLUGIN_PUBLISH_IN, span(name, n), data, rid, publish_in_done);
}

static void
on_publish(struct conn *c, const struct scp_packet *p)
{
	struct server *s = c->srv;
	struct scp_span rid
	    = p->cid != SCP_NONE ? scp_raw(&s->dec, p->cid) : no_data;
	int ch = channel_of(&s->dec, p->data);
	struct scp_span data = no_data;
	size_t n;
	int t;

	if (!conf(c)->allow_client_publish || ch == SCP_NONE) {
		if (rid.p != NULL) {
			reply_error(c, rid, "InvalidActionError",
			    ch == SCP_NONE && conf(c)->allow_client_publish
			        ? "Publish channel name was malformatted"
			        : "Client publish feature is disabled");
		}
		return;
	}
	t = scp_field(&s->dec, p->data, "data");
	if (t != SCP_NONE) {
		data = scp_raw(&s->dec, t);
	}
	n = get_name(c, ch); /* into s->name, which it may move */
	publish_named(c, rid, s->name, n, data);
}

/* A #publish in the shape the official clients send, read without the
 * full decoder (scp_match_publish), as on_event and on_publish would.
 * Returns 0 when the message needs them. */
static int
publish_fast(struct conn *c, const char *msg, size_t len)
{
	struct server *s = c->srv;
	struct scp_publish p;

	if (!c->handshaken || !conf(c)->allow_client_publish
	    || mw_has(&s->plugins, AGPLUGIN_MIDDLEWARE_INBOUND)
	    || !scp_match_publish(&s->dec, msg, len, &p)) {
		return 0;
	}
	check_expiry(c);
	/* The name has no escapes: it is read where it is. */
	publish_named(c, p.cid, p.channel.p, p.channel.n, p.data);
	return 1;
}

static void
pending_add(struct conn *c, struct chidx_chan *ch, struct scp_span rid)
{
	struct conn_pending *p;

	c->pending
	    = mem_realloc(c->pending, (c->npending + 1) * sizeof(*c->pending));
	p = &c->pending[c->npending++];
	p->chan = ch;
	p->rid = mem_strndup(rid.p, rid.n);
	p->rid_len = rid.n;
}

/* Answers (with success) every subscribe of c waiting on ch. */
static void
pending_answer(struct conn *c, const struct chidx_chan *ch)
{
	uint32_t i = 0;

	while (i < c->npending) {
		struct conn_pending *p = &c->pending[i];
		struct scp_span rid = { p->rid, p->rid_len };

		if (p->chan != ch) {
			i++;
			continue;
		}
		reply_ok(c, rid);
		mem_free(p->rid);
		c->pending[i] = c->pending[--c->npending];
	}
	if (c->npending == 0) {
		mem_free(c->pending);
		c->pending = NULL;
	}
}

void
sess_channel_confirmed(struct server *s, struct chidx_chan *ch)
{
	if (ch->mark & CHAN_CONFIRMED) {
		return;
	}
	ch->mark |= CHAN_CONFIRMED;
	for (uint32_t i = 0; i < ch->nsubs; i++) {
		struct conn *sub = ch->subs[i].owner;

		if (sub->npending > 0 && sub->state == CONN_WS) {
			pending_answer(sub, ch);
		}
	}
}

/* SUBSCRIBE settled: the channel limit, then the subscription. */
static void
subscribe_done(struct agplugin_action *a)
{
	struct conn *c = a->c;
	struct server *s = c->srv;
	long long limit = conf(c)->socket_channel_limit;
	struct chidx_chan *ch;

	if (a->outcome == MW_BLOCKED) {
		reply_blocked(a);
		return;
	}
	if (limit > 0 && c->chans.n >= (unsigned long long) limit) {
		sb_reset(&s->err);
		sb_adds(&s->err, "Failed to subscribe socket to the ");
		sb_add(&s->err, a->name, a->name_len);
		sb_addf(&s->err,
		    " channel - InvalidActionError: Socket %s tried to "
		    "exceed the channel subscription limit of %lld",
		    c->id, limit);
		reply_error_n(
		    c, rid_of(a), "BrokerError", s->err.data, s->err.len);
		return;
	}
	chidx_subscribe(&s->channels, c, &c->chans, a->name, a->name_len);
	/* In a cluster the reply waits until the owner broker has the
	 * channel: a publish from another worker after the client saw its
	 * subscribe succeed must reach it, as with the reference. */
	ch = chidx_find(&s->channels, a->name, a->name_len);
	if (scp_name_plain(a->name, a->name_len)) {
		ch->mark |= CHAN_PLAIN;
	}
	if (cluster_enabled(&s->cluster) && !(ch->mark & CHAN_CONFIRMED)) {
		pending_add(c, ch, rid_of(a));
		return;
	}
	reply_ok(c, rid_of(a));
}

static void
on_subscribe(struct conn *c, const struct scp_packet *p)
{
	struct server *s = c->srv;
	int tok = channel_of(&s->dec, p->data);
	struct scp_span rid, data = no_data;
	size_t n;
	int t;

	/* Only the RPC form subscribes (spec §6.1). */
	if (p->cid == SCP_NONE) {
		return;
	}
	rid = scp_raw(&s->dec, p->cid);
	if (tok == SCP_NONE) {
		reply_error(c, rid, "InvalidActionError",
		    "Subscribe channel name was malformatted");
		return;
	}
	n = get_name(c, tok);
	if (n > ENVELOPE_MAX_CHANNEL) {
		reply_error(c, rid, "InvalidActionError", LONG_NAME);
		return;
	}
	t = scp_field(&s->dec, p->data, "data");
	if (t != SCP_NONE) {
		data = scp_raw(&s->dec, t);
	}
	run_inbound(c, AGPLUGIN_SUBSCRIBE, span(s->name, n), data, rid,
	    subscribe_done);
}

static void
on_unsubscribe(struct conn *c, const struct scp_packet *p)
{
	struct server *s = c->srv;
	int has_rid = p->cid != SCP_NONE;
	struct scp_span rid = has_rid ? scp_raw(&s->dec, p->cid) : no_data;
	size_t n;

	if (p->data == SCP_NONE || !scp_is_string(&s->dec, p->data)) {
		if (has_rid) {
			reply_error(c, rid, "InvalidActionError",
			    "Unsubscribe channel name was malformatted");
		}
		return;
	}
	n = get_name(c, p->data);
	if (c->npending > 0) {
		struct chidx_chan *ch = chidx_find(&s->channels, s->name, n);

		if (ch != NULL) {
			pending_answer(c, ch);
		}
	}
	if (chidx_unsubscribe(&s->channels, &c->chans, s->name, n) == 0) {
		if (has_rid) {
			reply_ok(c, rid);
		}
		return;
	}
	if (has_rid) {
		sb_reset(&s->err);
		sb_adds(&s->err, "Failed to unsubscribe socket from the ");
		sb_add(&s->err, s->name, n);
		sb_addf(&s->err,
		    " channel - InvalidActionError: Socket %s tried to "
		    "unsubscribe from a channel which it is not subscribed to",
		    c->id);
		reply_error_n(c, rid, "BrokerError", s->err.data, s->err.len);
	}
}

/* INVOKE or TRANSMIT settled: the plugin's procedure or receiver. */
static void
app_event_done(struct agplugin_action *a)
{
	if (a->outcome == MW_BLOCKED) {
		reply_blocked(a);
		return;
	}
	if (a->type == AGPLUGIN_INVOKE) {
		plugin_invoke(
		    a->c, a->name, a->name_len, rid_of(a), data_of(a));
	} else {
		plugin_transmit(a->c, a->name, a->name_len, data_of(a));
	}
}

/* An application event: a plugin's procedure (with a cid) or receiver
 * (without). With none registered the reference sends nothing, and the
 * client's invoke times out. */
static void
on_app_event(struct conn *c, const struct scp_packet *p)
{
	struct server *s = c->srv;
	struct scp_span data
	    = p->data != SCP_NONE ? scp_raw(&s->dec, p->data) : no_data;
	int invoke = p->cid != SCP_NONE;
	struct scp_span rid = invoke ? scp_raw(&s->dec, p->cid) : no_data;
	size_t n = get_name(c, p->event);

	run_inbound(c, invoke ? AGPLUGIN_INVOKE : AGPLUGIN_TRANSMIT,
	    span(s->name, n), data, rid, app_event_done);
}

/* Events of spec §2.4 once the handshake is done. */
static void
on_event(struct conn *c, const struct scp_packet *p)
{
	const struct scp_decoder *d = &c->srv->dec;

	if (SCP_STR_EQ(d, p->event, "#authenticate")) {
		if (p->cid == SCP_NONE) {
			conn_close(c, SESS_HANDSHAKE_REJECTED, NULL);
		} else {
			on_authenticate(c, p);
		}
		return;
	}
	if (SCP_STR_EQ(d, p->event, "#removeAuthToken")) {
		/* Client-side deauthentication: silent, even with a cid. */
		drop_auth(c);
		return;
	}
	check_expiry(c);
	if (SCP_STR_EQ(d, p->event, "#publish")) {
		on_publish(c, p);
	} else if (SCP_STR_EQ(d, p->event, "#subscribe")) {
		on_subscribe(c, p);
	} else if (SCP_STR_EQ(d, p->event, "#unsubscribe")) {
		on_unsubscribe(c, p);
	} else {
		on_app_event(c, p);
	}
}

static void
on_packet(struct conn *c, const struct scp_packet *p)
{
	const struct scp_decoder *d = &c->srv->dec;

	if (p->kind == SCP_EVENT && SCP_STR_EQ(d, p->event, "#handshake")) {
		if (p->cid == SCP_NONE) {
			conn_close(c, SESS_HANDSHAKE_REJECTED, NULL);
		} else {
			on_handshake(c, p);
		}
		return;
	}
	if (!c->handshaken) {
		conn_close(c, SESS_NOT_HANDSHAKEN, NULL);
		return;
	}
	if (p->kind == SCP_EVENT) {
		on_event(c, p);
	} else if (p->kind == SCP_RESPONSE) {
		rpc_response(c, scp_raw(d, p->rid),
		    p->error != SCP_NONE ? scp_raw(d, p->error) : no_data,
		    p->data != SCP_NONE ? scp_raw(d, p->data) : no_data);
	}
	/* Raw packets are ignored, as the reference does. */
}

static int
is_pong(const struct conn *c, const uint8_t *p, size_t n)
{
	if (conf(c)->protocol_version == 1) {
		return n == 2 && p[0] == '#' && p[1] == '2';
	}
	return n == 0;
}

/* Handles the packets of the message just decoded, from packet skip on.
 * When one leaves an action pending, the message is kept (own, if given,
 * is reused) to go on from the next packet once it settles. */
static void
run_packets(struct conn *c, const char *msg, size_t len, int skip,
    struct sess_rest *own)
{
	struct scp_packet p;
	int i = 0;

	while (c->state == CONN_WS && scp_next(&c->srv->dec, &p)) {
		if (i++ < skip) {
			continue;
		}
		on_packet(c, &p);
		if (c->waiting && c->state == CONN_WS) {
			if (own == NULL) {
				own = mem_calloc(1, sizeof(*own));
				own->msg = mem_strndup(msg, len);
				own->len = len;
			}
			own->done = i;
			c->rest = own;
			return;
		}
	}
	rest_free(own);
}

/* A message past the inbound raw middleware, in order. */
static void
handle_message(struct conn *c, int text, const char *msg, size_t len)
{
	if (text && is_pong(c, (const uint8_t *) msg, len)) {
		if (!c->handshaken) {
			conn_close(c, SESS_NOT_HANDSHAKEN, NULL);
			return;
		}
		check_expiry(c);
		return;
	}
	if (text && publish_fast(c, msg, len)) {
		return;
	}
	if (!text || scp_decode(&c->srv->dec, msg, len) == SCP_RAW) {
		if (!c->handshaken) {
			conn_close(c, SESS_NOT_HANDSHAKEN, NULL);
		}
		return;
	}
	run_packets(c, msg, len, 0, NULL);
}

static void
message_done(struct agplugin_action *a)
{
	if (a->outcome == MW_ALLOWED) {
		handle_message(
		    a->c, !a->binary, a->data ? a->data : "", a->len);
	}
}

void
sess_on_message(struct conn *c, const struct ws_msg *m, uint64_t now)
{
	int text = m->opcode == WS_OP_TEXT;
	struct agplugin_action *a;

	/* Any traffic keeps the socket alive (spec §2.2), before the inbound
	 * raw middleware sees it. */
	if ((text && is_pong(c, m->data, m->len))
	    || now - c->pong_reset > (uint64_t) conf(c)->ping_timeout / 4) {
		c->pong_reset = now;
	}
	if (!mw_has(&c->srv->plugins, AGPLUGIN_MIDDLEWARE_INBOUND_RAW)) {
		handle_message(c, text, (const char *) m->data, m->len);
		return;
	}
	a = mw_new(c, AGPLUGIN_MESSAGE);
	mw_set_data(a, (const char *) m->data, m->len);
	a->binary = !text;
	mw_run(a, message_done);
}

void
sess_resume(struct conn *c)
{
	struct sess_rest *r = c->rest;

	c->rest = NULL;
	if (r != NULL) {
		scp_decode(&c->srv->dec, r->msg, r->len);
		run_packets(c, r->msg, r->len, r->done, r);
	}
	if (!c->waiting) {
		conn_resume(c);
	}
}

const char *
sess_claims(struct conn *c, size_t *len)
{
	if (c->auth == NULL) {
		return NULL;
	}
	if (len != NULL) {
		*len = c->auth->len;
	}
	return c->auth->payload;
}

char *
sess_sign_token(struct server *s, const char *claims, size_t len,
    long long expires_in, size_t *out_len)
{
	char err[256];
	char *tok = NULL;
	size_t n = 0;

	if (expires_in <= 0) {
		expires_in = s->tokens.default_expiry;
	}
	if (token_sign(s->tokens.signer, claims, len, wall_ms(), expires_in,
	        &tok, &n, err, sizeof(err))
	    != 0) {
		logger_warn("auth: cannot sign a token: %s", err);
		return NULL;
	}
	if (out_len != NULL) {
		*out_len = n;
	}
	return tok;
}

char *
sess_take_token(struct conn *c, const char *claims, size_t len,
    long long expires_in, size_t *out_len)
{
	struct server *s = c->srv;
	struct token_claims verified;
	struct token_error e;
	char *tok;

	if (c->state != CONN_WS) {
		return NULL;
	}
	tok = sess_sign_token(s, claims, len, expires_in, out_len);
	if (tok == NULL) {
		return NULL;
	}
	/* What the socket now holds is what the client will present: read
	 * it back through the verifier rather than trusting the input. */
	if (token_verify(
	        s->tokens.verifier, tok, *out_len, wall_ms(), &verified, &e)
	    == TOKEN_OK) {
		drop_auth(c);
		c->auth = mem_alloc(sizeof(*c->auth));
		*c->auth = verified;
	}
	return tok;
}

int
sess_set_auth_token(
    struct conn *c, const char *claims, size_t len, long long expires_in)
{
	struct server *s = c->srv;
	size_t n = 0;
	char *tok = sess_take_token(c, claims, len, expires_in, &n);

	if (tok == NULL) {
		return -1;
	}
	sb_reset(&s->out);
	sb_adds(&s->out, "{\"event\":\"#setAuthToken\",\"data\":{\"token\":");
	sb_add_json_str(&s->out, tok, n);
	sb_adds(&s->out, "}}");
	send_out(c);
	mem_free(tok);
	return 0;
}

void
sess_send(struct conn *c, const char *json, size_t n)
{
	if (c->batch_until != 0) {
		batch_add(c, json, n);
	} else {
		conn_send_text(c, json, n);
	}
}

void
sess_deauthenticate(struct conn *c)
{
	drop_auth(c);
	if (c->state == CONN_WS) {
		send_remove_token(c);
	}
}

static void
send_kick_out(struct conn *c, const char *name, size_t n, const char *msg)
{
	struct strbuf *out = &c->srv->out;

	sb_reset(out);
	sb_adds(out, "{\"event\":\"#kickOut\",\"data\":{\"channel\":");
	sb_add_json_str(out, name, n);
	if (msg != NULL) {
		sb_adds(out, ",\"message\":");
		sb_adds(out, msg);
	}
	sb_adds(out, "}}");
	send_out(c);
}

void
sess_kick_out(
    struct conn *c, const char *channel, size_t n, const char *message_json)
{
	struct chidx *x = &c->srv->channels;

	if (c->state != CONN_WS) {
		return;
	}
	if (channel != NULL) {
		if (chidx_unsubscribe(x, &c->chans, channel, n) == 0) {
			send_kick_out(c, channel, n, message_json);
		}
		return;
	}
	/* Unsubscribed first, then told (spec §6.5). */
	while (c->chans.n > 0) {
		struct chidx_chan *ch = c->chans.v[c->chans.n - 1].chan;
		char *name = mem_strndup(ch->name, ch->name_len);
		size_t len = ch->name_len;

		chidx_unsubscribe(x, &c->chans, name, len);
		send_kick_out(c, name, len, message_json);
		mem_free(name);
	}
}

int
sess_server_publish(
    struct server *s, const char *name, size_t n, struct scp_span data)
{
	if (n > ENVELOPE_MAX_CHANNEL) {
		return -1;
	}
	if (cluster_enabled(&s->cluster)) {
		return cluster_publish(&s->cluster, name, n, data);
	}
	sess_publish_local(s, name, n, data);
	return 0;
}
