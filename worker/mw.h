/*
 * The middleware engine behind worker/agplugin.h: the chains of middleware
 * per type, the actions that pass through them, and their settling, now or
 * later. The session builds an action, gives it a continuation, and runs
 * it; the continuation sees the outcome (allowed, possibly with new data,
 * or blocked with an error object) once the last middleware settled it.
 *
 * An action that goes pending holds its socket: an inbound one pauses the
 * socket's input (conn_pause) until it settles; an outbound one queues the
 * socket's later publishes behind it. Actions are on the host's list, so a
 * socket that closes orphans them and shutdown frees them.
 */
#ifndef AG_MW_H
#define AG_MW_H

#include <stddef.h>
#include <stdint.h>

#include "worker/agplugin.h"

struct conn;
struct agplugin_host;
struct mw_entry;
struct rbuf;

#define MW_NTYPES 4

struct mw_chain {
	struct mw_entry *head;
	struct mw_entry *tail;
};

enum mw_outcome {
	MW_PENDING,
	MW_ALLOWED,
	MW_BLOCKED,
};

/* A publish shared by every recipient's PUBLISH_OUT action. */
struct mw_pub {
	uint32_t refs;
	char *chan;
	size_t chan_len;
	char *data; /* raw JSON, NULL when none */
	size_t len;
	struct rbuf *frame; /* the #publish frame, built once */
	int plain;          /* the name needs no escaping (scp_name_plain) */
};

typedef void (*mw_done_fn)(struct agplugin_action *a);

struct agplugin_action {
	struct agplugin_action *next; /* host's list of live actions */
	struct agplugin_action *prev;
	struct agplugin_action *next_ready; /* settled later, to go on */
	struct agplugin_host *h;
	struct conn *c; /* NULL once the socket is gone */
	mw_done_fn done;
	struct mw_entry *at; /* next middleware to run */
	uint8_t type;        /* enum agplugin_action_type */
	uint8_t mw;          /* enum agplugin_middleware_type */
	uint8_t outcome;     /* enum mw_outcome */
	uint8_t running;     /* inside mw_run's loop */
	uint8_t waiting;     /* a middleware has it */
	uint8_t async;       /* went pending once */
	uint8_t replaced;    /* data was replaced by allow_data */
	uint8_t bad_token;   /* the block's error says isBadToken */
	uint8_t binary;      /* MESSAGE: a binary frame */
	int status;          /* the block's statusCode, 0 when none */
	char *name;          /* owned, NUL-terminated; NULL when none */
	size_t name_len;
	char *data; /* owned raw JSON (or message); NULL when none */
	size_t len;
	char *rid; /* owned cid text; NULL when the packet had none */
	size_t rid_len;
	char *error; /* the block's error object JSON, owned */
	size_t error_len;
	char *message;      /* the block's message, owned (HTTP 401 body) */
	struct mw_pub *pub; /* PUBLISH_OUT: the shared publish */
	void *ctx;          /* the continuation's own state */
	void (*ctx_free)(void *ctx);
};

/* Adds fn in front of every plugin's middleware of type (the worker's own
 * rules run first). */
void mw_add_first(struct agplugin_host *h, enum agplugin_middleware_type t,
    agplugin_middleware_fn fn, void *arg);

/* A new action of type for c, linked on the host's list. The setters copy
 * (a NULL p leaves the field absent). */
struct agplugin_action *mw_new(struct conn *c, enum agplugin_action_type type);
void mw_set_name(struct agplugin_action *a, const char *p, size_t n);
void mw_set_data(struct agplugin_action *a, const char *p, size_t n);
void mw_set_rid(struct agplugin_action *a, const char *p, size_t n);

/*
 * Runs a through its chain with done as continuation. Returns 1 when it
 * settled now (done has run and a is freed), 0 when a middleware still has
 * it: an inbound or handshake action has then paused its socket's input,
 * which resumes after done.
 */
int mw_run(struct agplugin_action *a, mw_done_fn done);

/* Goes on with the actions settled since the last call (run at the end
 * of a loop turn, so no continuation runs inside a plugin's call). Returns
 * 1 when it ran any. */
int mw_run_ready(struct agplugin_host *h);

/* The socket is being freed: its actions become orphans. */
void mw_socket_gone(struct conn *c);
/* Frees every action left (shutdown) and the chains. */
void mw_fini(struct agplugin_host *h);

/* Shared publishes. mw_pub_new copies the channel and data. */
struct mw_pub *mw_pub_new(
    const char *chan, size_t chan_len, const char *data, size_t len);
void mw_pub_unref(struct mw_pub *p);

/* Delivers p to c through the outbound middleware, after any publish of
 * c's still pending there. */
void mw_publish_out(struct conn *c, struct mw_pub *p);
/* Frees c's queue of publishes waiting for the outbound middleware. */
void mw_outq_free(struct conn *c);

#endif
