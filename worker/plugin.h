/*
 * The worker's side of the plugin API (worker/agplugin.h): loading plugins,
 * the registry of procedures and receivers, and the requests plugins answer,
 * possibly later. A request outlives its socket safely: a closing socket
 * orphans its requests, whose answers are then dropped.
 */
#ifndef AG_PLUGIN_H
#define AG_PLUGIN_H

#include <stddef.h>

#include "worker/mw.h"
#include "worker/scp.h"

struct server;
struct conn;
struct plugin_entry;
struct agplugin_request;
struct rpc_call;

struct agplugin_host {
	struct server *srv;
	struct plugin_entry *entries;      /* procedures and receivers */
	struct agplugin_request *requests; /* not answered yet */
	void **handles;                    /* dlopen handles */
	size_t nhandles;
	struct mw_chain mw[MW_NTYPES];   /* middleware per type */
	struct agplugin_action *actions; /* middleware not settled yet */
	struct agplugin_action *ready;   /* settled later: to go on */
	struct agplugin_action *ready_tail;
	struct rpc_call *calls; /* invokes of clients not answered yet */
};

/* Returns 1 when middleware of type is registered (inline: every message
 * asks). */
static inline int
mw_has(const struct agplugin_host *h, enum agplugin_middleware_type t)
{
	return h->mw[t].head != NULL;
}

/* Loads every plugin of conf->plugin and runs its agplugin_init. Returns
 * 0, or -1 after logging which plugin failed and why. */
int plugin_init(struct agplugin_host *h, struct server *s);
/* Unloads the plugins; every socket must be gone. */
void plugin_fini(struct agplugin_host *h);

/* An invoke of the event named: returns 1 when a procedure took it (it
 * answers), 0 when none is registered (the reference then never answers). */
int plugin_invoke(struct conn *c, const char *name, size_t n,
    struct scp_span rid, struct scp_span data);
/* A transmit: returns 1 when a receiver took it. */
int plugin_transmit(
    struct conn *c, const char *name, size_t n, struct scp_span data);
/* Keeps the request's target and headers for agplugin_socket_url and
 * agplugin_socket_header when plugins are loaded. */
struct http_req;
void plugin_keep_request(struct conn *c, const struct http_req *req);
/* The socket is being freed: its pending requests become orphans. */
void plugin_socket_gone(struct conn *c);

#endif
