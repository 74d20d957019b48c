#include "rpc.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/mem.h"
#include "common/strbuf.h"
#include "worker/conn.h"
#include "worker/plugin.h"
#include "worker/server.h"
#include "worker/session.h"

#define RPC_DEFAULT_TIMEOUT_MS 10000

struct rpc_call {
	struct rpc_call *next; /* host's list of calls */
	struct rpc_call *prev;
	struct agplugin_host *h;
	struct conn *c;
	unsigned long cid;
	char *event;
	struct event *timer;
	agplugin_response_fn fn;
	void *arg;
};

static void
unlink_call(struct rpc_call *k)
{
	if (k->prev != NULL) {
		k->prev->next = k->next;
	} else {
		k->h->calls = k->next;
	}
	if (k->next != NULL) {
		k->next->prev = k->prev;
	}
	k->c->ncalls--;
}

/* Ends the call: unlinked first, so fn may start new calls. */
static void
end_call(struct rpc_call *k, struct agplugin_socket *s, const char *error,
    const char *data)
{
	unlink_call(k);
	event_free(k->timer);
	k->fn(s, error, data, k->arg);
	mem_free(k->event);
	mem_free(k);
}

/* {"message":"<head><event><tail>","name":"<name>"} */
static char *
error_json(
    const char *name, const char *head, const char *event, const char *tail)
{
	struct strbuf sb, msg;
	char *out;

	sb_init(&msg);
	sb_adds(&msg, head);
	sb_adds(&msg, event);
	sb_adds(&msg, tail);
	sb_init(&sb);
	sb_adds(&sb, "{\"message\":");
	sb_add_json_str(&sb, msg.data, msg.len);
	sb_addf(&sb, ",\"name\":\"%s\"}", name);
	sb_fini(&msg);
	out = sb_steal(&sb, NULL);
	return out;
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_call *k = arg;
	char *err = error_json("TimeoutError", "Event response for ", k->event,
	    " event timed out");

	end_call(k, (struct agplugin_socket *) k->c, err, NULL);
	mem_free(err);
}

int
rpc_invoke(struct conn *c, const char *event, const char *data,
    long timeout_ms, agplugin_response_fn fn, void *arg)
{
	struct agplugin_host *h = &c->srv->plugins;
	struct rpc_call *k;
	struct timeval tv;
	struct strbuf sb;

	if (c->state != CONN_WS || !c->handshaken) {
		return -1;
	}
	timeout_ms = timeout_ms > 0 ? timeout_ms : RPC_DEFAULT_TIMEOUT_MS;
	k = mem_calloc(1, sizeof(*k));
	k->h = h;
	k->c = c;
	k->cid = ++c->last_cid;
	k->event = mem_strdup(event);
	k->fn = fn;
	k->arg = arg;
	k->timer = evtimer_new(c->srv->base, on_timeout, k);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(k->timer, &tv);
	k->next = h->calls;
	if (k->next != NULL) {
		k->next->prev = k;
	}
	h->calls = k;
	c->ncalls++;
	sb_init(&sb);
	sb_adds(&sb, "{\"event\":");
	sb_add_json_str(&sb, event, strlen(event));
	sb_addf(&sb, ",\"cid\":%lu", k->cid);
	if (data != NULL) {
		sb_adds(&sb, ",\"data\":");
		sb_adds(&sb, data);
	}
	sb_addc(&sb, '}');
	sess_send(c, sb.data, sb.len);
	sb_fini(&sb);
	return 0;
}

static struct rpc_call *
find_call(struct conn *c, unsigned long cid)
{
	struct rpc_call *k = c->srv->plugins.calls;

	for (; k != NULL; k = k->next) {
		if (k->c == c && k->cid == cid) {
			return k;
		}
	}
	return NULL;
}

void
rpc_response(struct conn *c, struct scp_span rid, struct scp_span error,
    struct scp_span data)
{
	char num[32];
	char *end, *err, *dat;
	unsigned long cid;
	struct rpc_call *k;

	if (c->ncalls == 0 || rid.n == 0 || rid.n >= sizeof(num)) {
		return;
	}
	memcpy(num, rid.p, rid.n);
	num[rid.n] = '\0';
	cid = strtoul(num, &end, 10);
	if (*end != '\0' || (k = find_call(c, cid)) == NULL) {
		return;
	}
	/* A null or false error is no error, as in the reference. */
	if (error.p != NULL
	    && ((error.n == 4 && memcmp(error.p, "null", 4) == 0)
	        || (error.n == 5 && memcmp(error.p, "false", 5) == 0))) {
		error.p = NULL;
	}
	err = error.p != NULL ? mem_strndup(error.p, error.n) : NULL;
	dat = err == NULL && data.p != NULL ? mem_strndup(data.p, data.n)
	                                    : NULL;
	end_call(k, (struct agplugin_socket *) c, err, dat);
	mem_free(err);
	mem_free(dat);
}

void
rpc_socket_gone(struct conn *c)
{
	while (c->ncalls > 0) {
		struct rpc_call *k = c->srv->plugins.calls;
		char *err;

		while (k->c != c) {
			k = k->next;
		}
		err = error_json("BadConnectionError", "Event ", k->event,
		    " was aborted due to a bad connection");
		end_call(k, NULL, err, NULL);
		mem_free(err);
	}
}

int
agplugin_invoke(struct agplugin_socket *s, const char *event,
    const char *data_json, long timeout_ms, agplugin_response_fn fn, void *arg)
{
	return rpc_invoke(
	    (struct conn *) s, event, data_json, timeout_ms, fn, arg);
}

/* What agplugin_set_auth_token_confirmed's caller asked to be told. */
struct confirm {
	agplugin_response_fn fn;
	void *arg;
};

/* The reference's AuthError for a token the client did not confirm. */
static char *
delivery_error(const char *error)
{
	struct scp_decoder d;
	char *msg = NULL, *out;
	int t;

	scp_decoder_init(&d);
	if (scp_decode(&d, error, strlen(error)) == SCP_PACKETS
	    && scp_is_object(&d, 0)
	    && (t = scp_field(&d, 0, "message")) != SCP_NONE
	    && scp_is_string(&d, t)) {
		msg = scp_str_dup(&d, t);
	}
	scp_decoder_fini(&d);
	if (msg == NULL) {
		return error_json("AuthError",
		    "Failed to confirm delivery of auth token to client due "
		    "to "
		    "malformatted error response",
		    "", "");
	}
	out = error_json(
	    "AuthError", "Failed to deliver auth token to client - ", msg, "");
	mem_free(msg);
	return out;
}

static void
confirmed(
    struct agplugin_socket *s, const char *error, const char *data, void *arg)
{
	struct confirm k = *(struct confirm *) arg;
	char *err;

	mem_free(arg);
	if (error == NULL) {
		k.fn(s, NULL, data, k.arg);
		return;
	}
	err = delivery_error(error);
	k.fn(s, err, NULL, k.arg);
	mem_free(err);
}

int
agplugin_set_auth_token_confirmed(struct agplugin_socket *s,
    const char *claims_json, long long expires_in, agplugin_response_fn fn,
    void *arg)
{
	struct conn *c = (struct conn *) s;
	struct confirm *k;
	struct strbuf data;
	size_t n = 0;
	char *tok = sess_take_token(
	    c, claims_json, strlen(claims_json), expires_in, &n);
	int rv;

	if (tok == NULL) {
		return -1;
	}
	sb_init(&data);
	sb_adds(&data, "{\"token\":");
	sb_add_json_str(&data, tok, n);
	sb_addc(&data, '}');
	k = mem_alloc(sizeof(*k));
	k->fn = fn;
	k->arg = arg;
	rv = rpc_invoke(c, "#setAuthToken", data.data, 0, confirmed, k);
	if (rv != 0) {
		mem_free(k);
	}
	sb_fini(&data);
	mem_free(tok);
	return rv;
}
