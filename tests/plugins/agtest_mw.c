/*
 * The middleware the reference server ran when the spec's transcripts were
 * captured (spec/transcripts/README.md), written against worker/agplugin.h
 * for tests/integration/middleware.test.mjs. A socket whose URL has
 * "async=1" gets every decision 30 ms later, from a timer, so the same
 * vectors also check the asynchronous path.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "worker/agplugin.h"

int agplugin_init(struct agplugin_host *host);

static struct agplugin_host *host;

/* What a middleware decided, applied now or later. */
struct verdict {
	struct agplugin_action *a;
	enum { ALLOW, ALLOW_DATA, BLOCK, BLOCK_JSON } kind;
	char *name;
	char *text; /* message, data or error JSON */
};

static void
apply(struct verdict *v)
{
	switch (v->kind) {
	case ALLOW:
		agplugin_action_allow(v->a);
		break;
	case ALLOW_DATA:
		agplugin_action_allow_data(v->a, v->text);
		break;
	case BLOCK:
		agplugin_action_block(v->a, v->name, v->text);
		break;
	case BLOCK_JSON:
		agplugin_action_block_json(v->a, v->text);
		break;
	}
	free(v->name);
	free(v->text);
	free(v);
}

static void
later(evutil_socket_t fd, short what, void *arg)
{
	apply(arg);
}

static int
url_has(struct agplugin_action *a, const char *what)
{
	struct agplugin_socket *s = agplugin_action_socket(a);
	const char *url = s != NULL ? agplugin_socket_url(s, NULL) : NULL;

	return url != NULL && strstr(url, what) != NULL;
}

static void
decide(struct agplugin_action *a, int kind, const char *name, const char *text)
{
	struct verdict *v = calloc(1, sizeof(*v));
	struct timeval tv = { 0, 30000 };

	v->a = a;
	v->kind = kind;
	v->name = name ? strdup(name) : NULL;
	v->text = text ? strdup(text) : NULL;
	if (!url_has(a, "async=1")) {
		apply(v);
		return;
	}
	event_base_once(agplugin_base(host), -1, EV_TIMEOUT, later, v, &tv);
}

/* Whether the action's name starts with s (whole: is s). */
static int
name_has(struct agplugin_action *a, const char *s, int whole)
{
	size_t n, len = strlen(s);
	const char *name = agplugin_action_name(a, &n);

	return name != NULL && (whole ? n == len : n >= len)
	    && memcmp(name, s, len) == 0;
}

static int
name_is(struct agplugin_action *a, const char *s)
{
	return name_has(a, s, 1);
}

static int
data_has(struct agplugin_action *a, const char *s)
{
	size_t n;
	const char *d = agplugin_action_data(a, &n);

	return d != NULL && memmem(d, n, s, strlen(s)) != NULL;
}

static void
handshake_mw(struct agplugin_action *a, void *arg)
{
	int ws = agplugin_action_type(a) == AGPLUGIN_HANDSHAKE_WS;

	if (ws && url_has(a, "rejectws=1")) {
		decide(a, BLOCK, "HandshakeRejectedError",
		    "Blocked by HANDSHAKE_WS middleware");
	} else if (!ws && url_has(a, "rejectsc=1")) {
		decide(a, BLOCK, "HandshakeRejectedError",
		    "Blocked by HANDSHAKE_SC middleware");
	} else if (!ws && url_has(a, "rejectsc=2")) {
		decide(a, BLOCK_JSON, NULL,
		    "{\"message\":\"Blocked with custom status\","
		    "\"name\":\"HandshakeRejectedError\",\"statusCode\":"
		    "4501}");
	} else if (!ws && url_has(a, "rejectsc=3")) {
		decide(a, BLOCK, NULL, NULL);
	} else if (!ws && url_has(a, "rejectsc=4") && data_has(a, "mallory")) {
		decide(a, BLOCK, "HandshakeRejectedError", "no mallory");
	} else {
		decide(a, ALLOW, NULL, NULL);
	}
}

static void
raw_mw(struct agplugin_action *a, void *arg)
{
	size_t n;
	const char *d = agplugin_action_data(a, &n);

	if (n == 6 && memcmp(d, "dropme", 6) == 0) {
		decide(a, BLOCK, NULL, NULL);
	} else if (data_has(a, "\"dropme\"")) {
		decide(a, BLOCK_JSON, "x", "{\"silent\":true}");
	} else if (n == 9 && memcmp(d, "rewriteme", 9) == 0) {
		decide(a, ALLOW_DATA, NULL,
		    "{\"event\":\"echo\",\"data\":\"rewritten\",\"cid\":77}");
	} else {
		decide(a, ALLOW, NULL, NULL);
	}
}

/* transformProc's new data: {"transformed":true,"original":<data>}. */
static char *
transformed(struct agplugin_action *a)
{
	size_t n;
	const char *d = agplugin_action_data(a, &n);
	char *out = malloc(n + 64);

	snprintf(out, n + 64, "{\"transformed\":true,\"original\":%.*s}",
	    (int) n, d != NULL ? d : "null");
	return out;
}

static void
subscribe_mw(struct agplugin_action *a)
{
	size_t n;
	const char *ch = agplugin_action_name(a, &n);
	struct agplugin_socket *s = agplugin_action_socket(a);

	if (name_is(a, "forbidden")) {
		decide(a, BLOCK, "SubscribeError",
		    "You are not allowed to subscribe to forbidden");
	} else if (name_is(a, "silent")) {
		decide(a, BLOCK, NULL, NULL);
	} else if (n > 8 && memcmp(ch, "private/", 8) == 0
	    && !agplugin_socket_claim_lists(s, "channels", ch, n)) {
		decide(a, BLOCK, "SubscribeError", "Not your private channel");
	} else {
		decide(a, ALLOW, NULL, NULL);
	}
}

/* The guide's rule in C: PUBLISH_IN needs the channel in the token's
 * "channels" claim. */
static void
publish_in_mw(struct agplugin_action *a)
{
	size_t n;
	const char *ch = agplugin_action_name(a, &n);
	char msg[1200];

	if (agplugin_socket_claim_lists(
	        agplugin_action_socket(a), "channels", ch, n)) {
		decide(a, ALLOW, NULL, NULL);
		return;
	}
	snprintf(msg, sizeof(msg),
	    "You are not authorized to publish to the %.*s channel",
	    (int) (n > 1024 ? 1024 : n), ch);
	decide(a, BLOCK, "PublishError", msg);
}

static void
inbound_mw(struct agplugin_action *a, void *arg)
{
	char *data;

	switch (agplugin_action_type(a)) {
	case AGPLUGIN_SUBSCRIBE:
		subscribe_mw(a);
		return;
	case AGPLUGIN_PUBLISH_IN:
		publish_in_mw(a);
		return;
	case AGPLUGIN_INVOKE:
		if (name_is(a, "blockedProc")) {
			decide(a, BLOCK, NULL, NULL);
		} else if (name_is(a, "badDataProc")) {
			/* A plugin bug: replaced data that is not JSON. */
			decide(a, ALLOW_DATA, NULL, "{not json");
		} else if (name_is(a, "transformProc")) {
			data = transformed(a);
			decide(a, ALLOW_DATA, NULL, data);
			free(data);
		} else {
			decide(a, ALLOW, NULL, NULL);
		}
		return;
	case AGPLUGIN_TRANSMIT:
		decide(
		    a, name_is(a, "blockedEvent") ? BLOCK : ALLOW, NULL, NULL);
		return;
	case AGPLUGIN_AUTHENTICATE:
		if (data_has(a, "\"username\":\"mallory\"")) {
			decide(
			    a, BLOCK, "AuthBlockedError", "mallory is banned");
		} else if (data_has(a, "\"username\":\"eve\"")) {
			decide(a, BLOCK_JSON, NULL,
			    "{\"message\":\"eve is revoked\",\"name\":"
			    "\"AuthRevokedError\",\"isBadToken\":true}");
		} else {
			decide(a, ALLOW, NULL, NULL);
		}
		return;
	default:
		decide(a, ALLOW, NULL, NULL);
		return;
	}
}

/* PUBLISH_OUT: drops {"censor":true}; upper-cases strings on channels
 * whose name starts with "upper". */
static void
outbound_mw(struct agplugin_action *a, void *arg)
{
	size_t n;
	const char *d = agplugin_action_data(a, &n);
	char *up;

	if (data_has(a, "\"censor\":true")) {
		decide(a, BLOCK, NULL, NULL);
		return;
	}
	if (!name_has(a, "upper", 0) || d == NULL || n < 2 || d[0] != '"') {
		decide(a, ALLOW, NULL, NULL);
		return;
	}
	up = strndup(d, n);
	for (size_t i = 0; i < n; i++) {
		up[i] = (char) toupper((unsigned char) up[i]);
	}
	decide(a, ALLOW_DATA, NULL, up);
	free(up);
}

static void
echo(struct agplugin_request *r, void *arg)
{
	agplugin_request_end(r, agplugin_request_data(r, NULL));
}

/* Answers with what the plugin sees of the socket's HTTP request. */
static void
request_info(struct agplugin_request *r, void *arg)
{
	struct agplugin_socket *s = agplugin_request_socket(r);
	const char *url = agplugin_socket_url(s, NULL);
	const char *h = agplugin_socket_header(s, "x-test-header", NULL);
	char out[1024];

	snprintf(out, sizeof(out), "{\"url\":\"%s\",\"header\":\"%s\"}",
	    url ? url : "", h ? h : "");
	agplugin_request_end(r, out);
}

int
agplugin_init(struct agplugin_host *h)
{
	host = h;
	if (agplugin_middleware(
	        h, (enum agplugin_middleware_type) 9, raw_mw, NULL)
	    != -1) {
		return -1;
	}
	agplugin_middleware(
	    h, AGPLUGIN_MIDDLEWARE_HANDSHAKE, handshake_mw, NULL);
	agplugin_middleware(h, AGPLUGIN_MIDDLEWARE_INBOUND_RAW, raw_mw, NULL);
	agplugin_middleware(h, AGPLUGIN_MIDDLEWARE_INBOUND, inbound_mw, NULL);
	agplugin_middleware(
	    h, AGPLUGIN_MIDDLEWARE_OUTBOUND, outbound_mw, NULL);
	agplugin_procedure(h, "echo", echo, NULL);
	agplugin_procedure(h, "transformProc", echo, NULL);
	agplugin_procedure(h, "blockedProc", echo, NULL);
	agplugin_procedure(h, "badDataProc", echo, NULL);
	agplugin_procedure(h, "requestInfo", request_info, NULL);
	return 0;
}
