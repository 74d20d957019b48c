#include "plugin.h"

#include <dlfcn.h>
#include <string.h>
#include <strings.h>

#include "common/logger.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "common/token.h"
#include "worker/agplugin.h"
#include "worker/conn.h"
#include "worker/http.h"
#include "worker/rules.h"
#include "worker/server.h"
#include "worker/session.h"

enum plugin_kind {
	PLUGIN_PROCEDURE,
	PLUGIN_RECEIVER,
};

struct plugin_entry {
	struct plugin_entry *next;
	enum plugin_kind kind;
	agplugin_procedure_fn proc;
	agplugin_receiver_fn recv;
	void *arg;
	size_t name_len;
	char name[];
};

/* An invoke a plugin has yet to answer. Every one is on the host's list,
 * so a request never answered is still freed at shutdown. */
struct agplugin_request {
	struct agplugin_request *next;
	struct agplugin_request *prev;
	struct agplugin_host *h;
	struct conn *c; /* NULL once the socket is gone */
	char *rid;
	size_t rid_len;
	char *data; /* NULL when none */
	size_t len;
};

/* Unlinks r from the host's list and frees it. */
static void
request_free(struct agplugin_request *r)
{
	if (r->c != NULL) {
		r->c->nrequests--;
	}
	if (r->prev != NULL) {
		r->prev->next = r->next;
	} else {
		r->h->requests = r->next;
	}
	if (r->next != NULL) {
		r->next->prev = r->prev;
	}
	mem_free(r->rid);
	mem_free(r->data);
	mem_free(r);
}

static struct plugin_entry *
find(const struct agplugin_host *h, enum plugin_kind kind, const char *name,
    size_t n)
{
	for (struct plugin_entry *e = h->entries; e != NULL; e = e->next) {
		if (e->kind == kind && e->name_len == n
		    && memcmp(e->name, name, n) == 0) {
			return e;
		}
	}
	return NULL;
}

static struct plugin_entry *
add(struct agplugin_host *h, enum plugin_kind kind, const char *name)
{
	size_t n = strlen(name);
	struct plugin_entry *e;

	if (find(h, kind, name, n) != NULL) {
		return NULL;
	}
	e = mem_calloc(1, sizeof(*e) + n + 1);
	e->kind = kind;
	e->name_len = n;
	memcpy(e->name, name, n);
	e->next = h->entries;
	h->entries = e;
	return e;
}

int
agplugin_procedure(struct agplugin_host *h, const char *name,
    agplugin_procedure_fn fn, void *arg)
{
	struct plugin_entry *e = add(h, PLUGIN_PROCEDURE, name);

	if (e == NULL) {
		return -1;
	}
	e->proc = fn;
	e->arg = arg;
	return 0;
}

int
agplugin_receiver(struct agplugin_host *h, const char *name,
    agplugin_receiver_fn fn, void *arg)
{
	struct plugin_entry *e = add(h, PLUGIN_RECEIVER, name);

	if (e == NULL) {
		return -1;
	}
	e->recv = fn;
	e->arg = arg;
	return 0;
}

struct event_base *
agplugin_base(struct agplugin_host *h)
{
	return h->srv->base;
}

static int
load_one(struct agplugin_host *h, const char *path)
{
	int (*init)(struct agplugin_host *);
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (handle == NULL) {
		logger_error("plugin %s: %s", path, dlerror());
		return -1;
	}
	h->handles
	    = mem_realloc(h->handles, (h->nhandles + 1) * sizeof(*h->handles));
	h->handles[h->nhandles++] = handle;
	*(void **) &init = dlsym(handle, "agplugin_init");
	if (init == NULL) {
		logger_error("plugin %s: no agplugin_init", path);
		return -1;
	}
	if (init(h) != 0) {
		logger_error("plugin %s: agplugin_init failed", path);
		return -1;
	}
	logger_info("plugin %s loaded", path);
	return 0;
}

int
plugin_init(struct agplugin_host *h, struct server *s)
{
	const struct cfg_list *paths = &s->conf->plugin;

	memset(h, 0, sizeof(*h));
	h->srv = s;
	rules_init(h, s->conf);
	for (size_t i = 0; i < paths->count; i++) {
		if (load_one(h, paths->items[i]) != 0) {
			return -1;
		}
	}
	return 0;
}

void
plugin_fini(struct agplugin_host *h)
{
	while (h->requests != NULL) {
		request_free(h->requests);
	}
	mw_fini(h);
	while (h->entries != NULL) {
		struct plugin_entry *e = h->entries;

		h->entries = e->next;
		mem_free(e);
	}
	for (size_t i = 0; i < h->nhandles; i++) {
		void (*fini)(void);

		*(void **) &fini = dlsym(h->handles[i], "agplugin_fini");
		if (fini != NULL) {
			fini();
		}
		dlclose(h->handles[i]);
	}
	mem_free(h->handles);
	h->handles = NULL;
	h->nhandles = 0;
}

int
plugin_invoke(struct conn *c, const char *name, size_t n, struct scp_span rid,
    struct scp_span data)
{
	struct plugin_entry *e
	    = find(&c->srv->plugins, PLUGIN_PROCEDURE, name, n);
	struct agplugin_request *r;

	if (e == NULL) {
		return 0;
	}
	r = mem_calloc(1, sizeof(*r));
	r->h = &c->srv->plugins;
	r->c = c;
	c->nrequests++;
	r->rid = mem_strndup(rid.p, rid.n);
	r->rid_len = rid.n;
	if (data.p != NULL) {
		r->data = mem_strndup(data.p, data.n);
		r->len = data.n;
	}
	r->next = r->h->requests;
	if (r->next != NULL) {
		r->next->prev = r;
	}
	r->h->requests = r;
	e->proc(r, e->arg);
	return 1;
}

int
plugin_transmit(
    struct conn *c, const char *name, size_t n, struct scp_span data)
{
	struct plugin_entry *e
	    = find(&c->srv->plugins, PLUGIN_RECEIVER, name, n);

	if (e == NULL) {
		return 0;
	}
	e->recv((struct agplugin_socket *) c, data.p, data.n, e->arg);
	return 1;
}

void
plugin_socket_gone(struct conn *c)
{
	struct agplugin_request *r = c->srv->plugins.requests;

	for (; r != NULL && c->nrequests > 0; r = r->next) {
		if (r->c == c) {
			r->c = NULL;
			c->nrequests--;
		}
	}
}

const char *
agplugin_request_data(struct agplugin_request *r, size_t *len)
{
	if (len != NULL) {
		*len = r->len;
	}
	return r->data;
}

struct agplugin_socket *
agplugin_request_socket(struct agplugin_request *r)
{
	return (struct agplugin_socket *) r->c;
}

/* Sends the answer built in sb when the socket is still open. */
static void
request_answer(struct agplugin_request *r, struct strbuf *sb)
{
	if (r->c != NULL && r->c->state == CONN_WS) {
		conn_send_text(r->c, sb->data, sb->len);
	}
	request_free(r);
}

void
agplugin_request_end(struct agplugin_request *r, const char *data_json)
{
	struct strbuf sb;
	struct scp_span rid = { r->rid, r->rid_len };
	struct scp_span data
	    = { data_json, data_json ? strlen(data_json) : 0 };

	sb_init(&sb);
	scp_put_response(&sb, rid, data);
	request_answer(r, &sb);
	sb_fini(&sb);
}

void
agplugin_request_error(
    struct agplugin_request *r, const char *name, const char *message)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "{\"rid\":");
	sb_add(&sb, r->rid, r->rid_len);
	sb_adds(&sb, ",\"error\":{\"message\":");
	sb_add_json_str(&sb, message, strlen(message));
	if (name != NULL) {
		sb_adds(&sb, ",\"name\":");
		sb_add_json_str(&sb, name, strlen(name));
	}
	sb_adds(&sb, "}}");
	request_answer(r, &sb);
	sb_fini(&sb);
}

const char *
agplugin_socket_id(struct agplugin_socket *s)
{
	return ((struct conn *) s)->id;
}

const char *
agplugin_socket_remote(struct agplugin_socket *s)
{
	return ((struct conn *) s)->peer;
}

const char *
agplugin_socket_claims(struct agplugin_socket *s, size_t *len)
{
	return sess_claims((struct conn *) s, len);
}

int
agplugin_socket_claim_lists(struct agplugin_socket *s, const char *claim,
    const char *value, size_t len)
{
	struct conn *c = (struct conn *) s;
	struct scp_decoder *d = &c->srv->claims_dec;
	int arr;

	if (c->auth == NULL
	    || scp_decode(d, c->auth->payload, c->auth->len) != SCP_PACKETS) {
		return 0;
	}
	arr = scp_field(d, 0, claim);
	return arr != SCP_NONE && scp_array_has(d, arr, value, len);
}

int
agplugin_set_auth_token(
    struct agplugin_socket *s, const char *claims_json, long long expires_in)
{
	return sess_set_auth_token(
	    (struct conn *) s, claims_json, strlen(claims_json), expires_in);
}

void
agplugin_deauthenticate(struct agplugin_socket *s)
{
	sess_deauthenticate((struct conn *) s);
}

void
agplugin_kick_out(
    struct agplugin_socket *s, const char *channel, const char *message_json)
{
	sess_kick_out((struct conn *) s, channel,
	    channel ? strlen(channel) : 0, message_json);
}

void
agplugin_disconnect(struct agplugin_socket *s, int code, const char *reason)
{
	conn_close((struct conn *) s, (uint16_t) code, reason);
}

int
agplugin_publish(
    struct agplugin_host *h, const char *channel, const char *data_json)
{
	struct scp_span data
	    = { data_json, data_json ? strlen(data_json) : 0 };

	return sess_server_publish(h->srv, channel, strlen(channel), data);
}

char *
agplugin_sign_token(
    struct agplugin_host *h, const char *claims_json, long long expires_in)
{
	return sess_sign_token(
	    h->srv, claims_json, strlen(claims_json), expires_in, NULL);
}

void
agplugin_free(void *p)
{
	mem_free(p);
}

void
plugin_keep_request(struct conn *c, const struct http_req *req)
{
	struct strbuf sb;
	size_t n;

	if (c->srv->plugins.nhandles == 0) {
		return;
	}
	/* "target\0name\0value\0name\0value\0...": pointers into it stay
	 * valid for the socket's life. */
	sb_init(&sb);
	sb_add(&sb, req->target.p, req->target.n);
	sb_addc(&sb, '\0');
	for (size_t i = 0; i < req->nheaders; i++) {
		sb_add(&sb, req->headers[i].name.p, req->headers[i].name.n);
		sb_addc(&sb, '\0');
		sb_add(&sb, req->headers[i].value.p, req->headers[i].value.n);
		sb_addc(&sb, '\0');
	}
	c->req_head = sb_steal(&sb, &n);
	c->req_len = (uint32_t) n;
}

const char *
agplugin_socket_url(struct agplugin_socket *s, size_t *len)
{
	struct conn *c = (struct conn *) s;

	if (c->req_head == NULL) {
		return NULL;
	}
	if (len != NULL) {
		*len = strlen(c->req_head);
	}
	return c->req_head;
}

const char *
agplugin_socket_header(
    struct agplugin_socket *s, const char *name, size_t *len)
{
	struct conn *c = (struct conn *) s;
	const char *p, *end;

	if (c->req_head == NULL) {
		return NULL;
	}
	p = c->req_head + strlen(c->req_head) + 1;
	end = c->req_head + c->req_len;
	while (p < end) {
		const char *value = p + strlen(p) + 1;

		if (strcasecmp(p, name) == 0) {
			if (len != NULL) {
				*len = strlen(value);
			}
			return value;
		}
		p = value + strlen(value) + 1;
	}
	return NULL;
}
