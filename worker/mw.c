#include "mw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/logger.h"
#include "common/mem.h"
#include "common/rbuf.h"
#include "common/strbuf.h"
#include "common/tjson.h"
#include "worker/conn.h"
#include "worker/plugin.h"
#include "worker/scp.h"
#include "worker/server.h"
#include "worker/session.h"

struct mw_entry {
	struct mw_entry *next;
	agplugin_middleware_fn fn;
	void *arg;
};

/* A socket's publishes waiting behind a pending PUBLISH_OUT. */
struct mw_outq_node {
	struct mw_outq_node *next;
	struct mw_pub *pub;
};

struct mw_outq {
	struct mw_outq_node *head;
	struct mw_outq_node *tail;
};

/* The reference's names, for SilentMiddlewareBlockedError. */
static const char *const type_names[]
    = { "handshakeWS", "handshakeSC", "message", "transmit", "invoke",
	      "subscribe", "publishIn", "publishOut", "authenticate" };
static const char *const mw_names[]
    = { "handshake", "inboundRaw", "inbound", "outbound" };
static const uint8_t mw_of_type[] = { AGPLUGIN_MIDDLEWARE_HANDSHAKE,
	AGPLUGIN_MIDDLEWARE_HANDSHAKE, AGPLUGIN_MIDDLEWARE_INBOUND_RAW,
	AGPLUGIN_MIDDLEWARE_INBOUND, AGPLUGIN_MIDDLEWARE_INBOUND,
	AGPLUGIN_MIDDLEWARE_INBOUND, AGPLUGIN_MIDDLEWARE_INBOUND,
	AGPLUGIN_MIDDLEWARE_OUTBOUND, AGPLUGIN_MIDDLEWARE_INBOUND };

int
agplugin_middleware(struct agplugin_host *h,
    enum agplugin_middleware_type type, agplugin_middleware_fn fn, void *arg)
{
	struct mw_entry *e;

	if ((unsigned) type >= MW_NTYPES || fn == NULL) {
		return -1;
	}
	e = mem_calloc(1, sizeof(*e));
	e->fn = fn;
	e->arg = arg;
	if (h->mw[type].tail != NULL) {
		h->mw[type].tail->next = e;
	} else {
		h->mw[type].head = e;
	}
	h->mw[type].tail = e;
	return 0;
}

void
mw_add_first(struct agplugin_host *h, enum agplugin_middleware_type t,
    agplugin_middleware_fn fn, void *arg)
{
	struct mw_entry *e = mem_calloc(1, sizeof(*e));

	e->fn = fn;
	e->arg = arg;
	e->next = h->mw[t].head;
	h->mw[t].head = e;
	if (h->mw[t].tail == NULL) {
		h->mw[t].tail = e;
	}
}

struct agplugin_action *
mw_new(struct conn *c, enum agplugin_action_type type)
{
	struct agplugin_host *h = &c->srv->plugins;
	struct agplugin_action *a = mem_calloc(1, sizeof(*a));

	a->h = h;
	a->c = c;
	a->type = (uint8_t) type;
	a->mw = mw_of_type[type];
	a->at = h->mw[a->mw].head;
	c->nactions++;
	a->next = h->actions;
	if (a->next != NULL) {
		a->next->prev = a;
	}
	h->actions = a;
	return a;
}

static char *
copy(const char *p, size_t n)
{
	return p != NULL ? mem_strndup(p, n) : NULL;
}

void
mw_set_name(struct agplugin_action *a, const char *p, size_t n)
{
	mem_free(a->name);
	a->name = copy(p, n);
	a->name_len = n;
}

void
mw_set_data(struct agplugin_action *a, const char *p, size_t n)
{
	mem_free(a->data);
	a->data = copy(p, n);
	a->len = p != NULL ? n : 0;
}

void
mw_set_rid(struct agplugin_action *a, const char *p, size_t n)
{
	mem_free(a->rid);
	a->rid = copy(p, n);
	a->rid_len = n;
}

static void
action_free(struct agplugin_action *a)
{
	if (a->c != NULL) {
		a->c->nactions--;
	}
	if (a->prev != NULL) {
		a->prev->next = a->next;
	} else {
		a->h->actions = a->next;
	}
	if (a->next != NULL) {
		a->next->prev = a->prev;
	}
	if (a->ctx_free != NULL) {
		a->ctx_free(a->ctx);
	}
	if (a->pub != NULL) {
		mw_pub_unref(a->pub);
	}
	mem_free(a->name);
	mem_free(a->data);
	mem_free(a->rid);
	mem_free(a->error);
	mem_free(a->message);
	mem_free(a);
}

static void outq_next(struct conn *c);

/* The action is settled by every middleware (or blocked): its
 * continuation runs, unless its socket is gone, then what it held is
 * released and the socket goes on. */
static void
finish(struct agplugin_action *a)
{
	struct conn *c = a->c;
	int outbound = a->mw == AGPLUGIN_MIDDLEWARE_OUTBOUND;
	int async = a->async;

	if (async && c != NULL && !outbound) {
		c->waiting = 0;
	}
	if (c != NULL) {
		a->done(a);
	}
	action_free(a);
	if (!async || c == NULL) {
		return;
	}
	if (outbound) {
		outq_next(c);
	} else if (!c->waiting) {
		server_mark_resume(c->srv, c);
	}
}

/* The first time a middleware keeps the action: an inbound one stops its
 * socket's input until it is settled. */
static void
hold(struct agplugin_action *a)
{
	a->async = 1;
	if (a->c != NULL && a->mw != AGPLUGIN_MIDDLEWARE_OUTBOUND) {
		a->c->waiting = 1;
		conn_pause(a->c);
	}
}

/* Runs the middleware left, until one keeps the action (returns 0) or
 * none is left (returns 1: a is finished and freed). */
static int
step(struct agplugin_action *a)
{
	a->running = 1;
	while (a->outcome == MW_PENDING && a->at != NULL) {
		struct mw_entry *e = a->at;

		a->at = e->next;
		a->waiting = 1;
		e->fn(a, e->arg);
		if (a->waiting) {
			a->running = 0;
			if (!a->async) {
				hold(a);
			}
			return 0;
		}
	}
	a->running = 0;
	if (a->outcome == MW_PENDING) {
		a->outcome = MW_ALLOWED;
	}
	finish(a);
	return 1;
}

int
mw_run(struct agplugin_action *a, mw_done_fn done)
{
	a->done = done;
	return step(a);
}

/* A middleware's answer: the loop in step() goes on, or, when the answer
 * comes later, the action waits on the ready list for the end of the loop
 * turn. */
static void
settle(struct agplugin_action *a)
{
	struct agplugin_host *h = a->h;

	if (!a->waiting) {
		logger_warn("plugin: a %s action was settled twice",
		    type_names[a->type]);
		return;
	}
	a->waiting = 0;
	if (a->running) {
		return;
	}
	a->next_ready = NULL;
	if (h->ready_tail != NULL) {
		h->ready_tail->next_ready = a;
	} else {
		h->ready = a;
	}
	h->ready_tail = a;
	server_wake(h->srv);
}

int
mw_run_ready(struct agplugin_host *h)
{
	int any = h->ready != NULL;

	while (h->ready != NULL) {
		struct agplugin_action *a = h->ready;

		h->ready = a->next_ready;
		if (h->ready == NULL) {
			h->ready_tail = NULL;
		}
		if (a->c == NULL) {
			finish(a);
		} else {
			step(a);
		}
	}
	return any;
}

void
mw_socket_gone(struct conn *c)
{
	struct agplugin_action *a = c->srv->plugins.actions;

	for (; a != NULL && c->nactions > 0; a = a->next) {
		if (a->c == c) {
			a->c = NULL;
			c->nactions--;
		}
	}
	mw_outq_free(c);
}

void
mw_fini(struct agplugin_host *h)
{
	h->ready = h->ready_tail = NULL;
	while (h->actions != NULL) {
		struct agplugin_action *a = h->actions;

		a->c = NULL;
		action_free(a);
	}
	for (int t = 0; t < MW_NTYPES; t++) {
		while (h->mw[t].head != NULL) {
			struct mw_entry *e = h->mw[t].head;

			h->mw[t].head = e->next;
			mem_free(e);
		}
		h->mw[t].tail = NULL;
	}
}

enum agplugin_action_type
agplugin_action_type(struct agplugin_action *a)
{
	return (enum agplugin_action_type) a->type;
}

struct agplugin_socket *
agplugin_action_socket(struct agplugin_action *a)
{
	return (struct agplugin_socket *) a->c;
}

const char *
agplugin_action_name(struct agplugin_action *a, size_t *len)
{
	const char *p = a->pub != NULL ? a->pub->chan : a->name;

	if (len != NULL) {
		*len = a->pub != NULL ? a->pub->chan_len : a->name_len;
	}
	return p;
}

const char *
agplugin_action_data(struct agplugin_action *a, size_t *len)
{
	int shared = a->pub != NULL && !a->replaced;

	if (len != NULL) {
		*len = shared ? a->pub->len : a->len;
	}
	return shared ? a->pub->data : a->data;
}

void
agplugin_action_allow(struct agplugin_action *a)
{
	settle(a);
}

/* The reference's error for a block without one (or a silent one). */
static void
set_silent(struct agplugin_action *a)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_addf(&sb, "The %s AGAction was blocked by %s middleware",
	    type_names[a->type], mw_names[a->mw]);
	mem_free(a->message);
	a->message = mem_strndup(sb.data, sb.len);
	sb_reset(&sb);
	sb_adds(&sb, "{\"message\":");
	sb_add_json_str(&sb, a->message, strlen(a->message));
	sb_addf(&sb,
	    ",\"name\":\"SilentMiddlewareBlockedError\","
	    "\"type\":\"%s\"}",
	    mw_names[a->mw]);
	mem_free(a->error);
	a->error = sb_steal(&sb, &a->error_len);
}

/* Adds "statusCode":code as the last member of the error object. */
static void
add_status(struct agplugin_action *a, int code)
{
	const char *end = memrchr(a->error, '}', a->error_len);
	size_t n = (size_t) (end - a->error);
	int empty = 1;
	struct strbuf sb;

	for (size_t i = 1; i < n; i++) {
		empty &= a->error[i] == ' ' || a->error[i] == '\t'
		    || a->error[i] == '\n' || a->error[i] == '\r';
	}
	a->status = code;
	sb_init(&sb);
	sb_add(&sb, a->error, n);
	sb_addf(&sb, "%s\"statusCode\":%d}", empty ? "" : ",", code);
	mem_free(a->error);
	a->error = sb_steal(&sb, &a->error_len);
}

/* A blocked handshake closes with the error's statusCode, which the
 * reference adds (4008) when the error has none. */
static void
block_settle(struct agplugin_action *a)
{
	if (a->type == AGPLUGIN_HANDSHAKE_SC && a->status == 0) {
		add_status(a, 4008);
	}
	a->outcome = MW_BLOCKED;
	settle(a);
}

void
agplugin_action_allow_data(struct agplugin_action *a, const char *data_json)
{
	struct tjson j;
	size_t n = data_json != NULL ? strlen(data_json) : 0;
	int ok = a->type == AGPLUGIN_MESSAGE
	    || (data_json != NULL && tjson_parse(&j, data_json, n) == 0);

	if (a->type != AGPLUGIN_MESSAGE && data_json != NULL) {
		tjson_fini(&j);
	}
	if (!ok || data_json == NULL) {
		logger_warn("plugin: allow_data with invalid JSON: the %s "
		            "action is blocked",
		    type_names[a->type]);
		set_silent(a);
		block_settle(a);
		return;
	}
	mw_set_data(a, data_json, n);
	a->replaced = 1;
	settle(a);
}

void
agplugin_action_block(
    struct agplugin_action *a, const char *name, const char *message)
{
	struct strbuf sb;

	if (message == NULL) {
		set_silent(a);
		block_settle(a);
		return;
	}
	sb_init(&sb);
	sb_adds(&sb, "{\"message\":");
	sb_add_json_str(&sb, message, strlen(message));
	if (name != NULL) {
		sb_adds(&sb, ",\"name\":");
		sb_add_json_str(&sb, name, strlen(name));
	}
	sb_addc(&sb, '}');
	mem_free(a->error);
	a->error = sb_steal(&sb, &a->error_len);
	mem_free(a->message);
	a->message = mem_strdup(message);
	block_settle(a);
}

/* Reads what the engine acts on from a block's error object; returns 0,
 * or -1 (silent block) when it is not an object or asks to be silent. */
static int
read_error(struct agplugin_action *a, const char *json, size_t n)
{
	struct scp_decoder d;
	int t, rv = -1;

	scp_decoder_init(&d);
	if (scp_decode(&d, json, n) == SCP_PACKETS && scp_is_object(&d, 0)) {
		struct scp_span v;

		rv = 0;
		t = scp_field(&d, 0, "silent");
		if (t != SCP_NONE && scp_raw(&d, t).n == 4
		    && memcmp(scp_raw(&d, t).p, "true", 4) == 0) {
			rv = -1;
		}
		t = scp_field(&d, 0, "isBadToken");
		v = t != SCP_NONE ? scp_raw(&d, t)
		                  : (struct scp_span) { "", 0 };
		a->bad_token = v.n == 4 && memcmp(v.p, "true", 4) == 0;
		t = scp_field(&d, 0, "statusCode");
		if (t != SCP_NONE) {
			a->status = atoi(scp_raw(&d, t).p);
		}
		t = scp_field(&d, 0, "message");
		if (t != SCP_NONE && scp_is_string(&d, t)) {
			a->message = scp_str_dup(&d, t);
		}
	}
	scp_decoder_fini(&d);
	return rv;
}

void
agplugin_action_block_json(struct agplugin_action *a, const char *error_json)
{
	size_t n = error_json != NULL ? strlen(error_json) : 0;

	mem_free(a->message);
	a->message = NULL;
	if (error_json == NULL || read_error(a, error_json, n) != 0) {
		a->status = 0;
		set_silent(a);
	} else {
		mem_free(a->error);
		a->error = mem_strndup(error_json, n);
		a->error_len = n;
		if (a->message == NULL) {
			a->message = mem_strdup("");
		}
	}
	block_settle(a);
}

struct mw_pub *
mw_pub_new(const char *chan, size_t chan_len, const char *data, size_t len)
{
	struct mw_pub *p = mem_calloc(1, sizeof(*p));

	p->refs = 1;
	p->chan = mem_strndup(chan, chan_len);
	p->chan_len = chan_len;
	p->data = copy(data, len);
	p->len = data != NULL ? len : 0;
	return p;
}

void
mw_pub_unref(struct mw_pub *p)
{
	if (--p->refs > 0) {
		return;
	}
	if (p->frame != NULL) {
		rbuf_unref(p->frame);
	}
	mem_free(p->chan);
	mem_free(p->data);
	mem_free(p);
}

static void
deliver_done(struct agplugin_action *a)
{
	if (a->outcome != MW_ALLOWED) {
		return;
	}
	if (a->replaced) {
		sess_deliver(a->c, a->pub, a->data, a->len);
	} else {
		sess_deliver(a->c, a->pub, NULL, 0);
	}
}

/* Returns 1 when p's action settled now, 0 when it is pending. */
static int
run_out(struct conn *c, struct mw_pub *p)
{
	struct agplugin_action *a = mw_new(c, AGPLUGIN_PUBLISH_OUT);

	p->refs++;
	a->pub = p;
	return mw_run(a, deliver_done);
}

void
mw_publish_out(struct conn *c, struct mw_pub *p)
{
	struct mw_outq_node *n;

	if (c->outq == NULL) {
		if (run_out(c, p) == 0) {
			c->outq = mem_calloc(1, sizeof(*c->outq));
		}
		return;
	}
	n = mem_calloc(1, sizeof(*n));
	p->refs++;
	n->pub = p;
	if (c->outq->tail != NULL) {
		c->outq->tail->next = n;
	} else {
		c->outq->head = n;
	}
	c->outq->tail = n;
}

/* The pending publish of c settled: run the ones queued behind it. */
static void
outq_next(struct conn *c)
{
	struct mw_outq *q = c->outq;

	while (q != NULL && q->head != NULL) {
		struct mw_outq_node *n = q->head;
		struct mw_pub *p = n->pub;
		int now;

		q->head = n->next;
		if (q->head == NULL) {
			q->tail = NULL;
		}
		mem_free(n);
		now = c->state == CONN_WS ? run_out(c, p) : 1;
		mw_pub_unref(p);
		if (!now) {
			return;
		}
	}
	mw_outq_free(c);
}

void
mw_outq_free(struct conn *c)
{
	struct mw_outq *q = c->outq;

	if (q == NULL) {
		return;
	}
	while (q->head != NULL) {
		struct mw_outq_node *n = q->head;

		q->head = n->next;
		mw_pub_unref(n->pub);
		mem_free(n);
	}
	mem_free(q);
	c->outq = NULL;
}
