/*
 * One client connection: the socket, the HTTP upgrade, WebSocket framing,
 * the output queue and the close handshake. The SocketCluster protocol on
 * top of it lives in session.c; both share this struct.
 *
 * Memory while idle is kept small: input bytes live in the server's shared
 * scratch buffer unless a frame is incomplete, and the output queue is a
 * small ring (kept once allocated) that grows only while a backlog waits.
 */
#ifndef AG_CONN_H
#define AG_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "common/rbuf.h"
#include "common/strbuf.h"
#include "common/twheel.h"
#include "worker/chidx.h"
#include "worker/ws.h"

struct server;
struct token_claims;
struct agplugin_request;
struct mw_outq;
struct sess_rest;

enum conn_state {
	CONN_HTTP,    /* reading the upgrade request */
	CONN_WS,      /* WebSocket open */
	CONN_CLOSING, /* close frame sent or received; waiting to finish */
	CONN_DEAD,    /* on the reap list */
};

/* One queued outgoing buffer (a frame, or a socket's own frames): a
 * reference, how much is already written, and what it still counts
 * toward socket_output_limit (its room and an overhead, less what is
 * written: the memory it holds, however full). */
struct conn_out {
	struct rbuf *buf;
	uint32_t off;
	uint32_t weight;
};

/* A #subscribe whose reply waits until the channel's broker has it. */
struct conn_pending {
	struct chidx_chan *chan;
	char *rid; /* owned: the cid's JSON text */
	size_t rid_len;
};

struct conn {
	struct server *srv;
	struct conn *prev; /* server's list of live connections */
	struct conn *next;
	struct conn *next_dirty; /* server's flush list */
	struct conn *next_dead;  /* server's reap list */
	int fd;
	uint8_t state;       /* enum conn_state */
	uint8_t dirty;       /* on the flush list */
	uint8_t want_write;  /* waiting for EV_WRITE */
	uint8_t handshaken;  /* SocketCluster handshake done */
	uint8_t peer_closed; /* the peer's close frame arrived */
	uint8_t shut_wr;     /* our side is shut down after close */
	uint8_t paused;      /* input stopped: an action is pending */
	uint8_t waiting;     /* an inbound action of this socket is pending */
	uint8_t resuming;    /* on the server's resume list */
	short ev_what;       /* the events c->ev is registered for */
	struct event ev;
	struct twheel_node timer;
	uint64_t handshake_deadline;
	uint64_t pong_reset; /* last time the pong timer was reset, ms */
	uint64_t next_ping;
	uint64_t close_deadline;
	uint8_t *in; /* pending input, NULL when none */
	uint32_t in_len;
	uint32_t in_cap;
	struct ws_reader wsr;
	struct conn_out *q; /* ring of queued frames, NULL when none */
	uint32_t q_head;
	uint32_t q_len;
	uint32_t q_cap; /* a power of two: indices wrap by mask */
	size_t q_bytes;
	struct chidx_list chans;
	struct chidx_hint pub_hint; /* the channel published to last */
	struct token_claims *auth;  /* the verified token, NULL if none */
	uint32_t nrequests;         /* invokes plugins have yet to answer */
	uint32_t nactions;          /* middleware actions not settled */
	uint32_t ncalls;            /* invokes of the client not answered */
	uint32_t last_cid;      /* the cid of the last invoke of the client */
	struct mw_outq *outq;   /* publishes behind a pending PUBLISH_OUT */
	struct sess_rest *rest; /* the packets after a paused one */
	struct conn *next_resume; /* server's resume list */
	char *req_head;           /* the HTTP request head, kept for plugins */
	uint32_t req_len;
	struct conn_pending *pending; /* subscribes waiting for a broker */
	uint32_t npending;
	uint64_t batch_until;    /* batching after the handshake; 0: not */
	uint64_t batch_flush_at; /* when the pending batch is sent */
	struct strbuf *batch;    /* "[p1,p2": pending packets, or NULL */
	char id[24];
	char peer[48]; /* "ip:port" for logs */
};

/* Takes ownership of the accepted, non-blocking fd and starts reading the
 * upgrade request. The connection is linked into the server. */
struct conn *conn_open(struct server *s, int fd, const char *peer);
/* Frees everything c holds and closes the fd; c must be unlinked. */
void conn_free(struct conn *c);

/* Queues a frame (takes a new reference to buf; the caller keeps its own).
 * Returns 0, or -1 when the connection is closing or was just cut off for
 * exceeding socket_output_limit. */
int conn_send(struct conn *c, struct rbuf *buf);
/* Returns where to write the next n bytes of c's output, which must be
 * filled before anything else is queued on c: the room left in the block
 * at the end of its queue, or a new block. Frames meant for c alone are
 * gathered this way, with no buffer or queue entry of their own. NULL
 * when the connection is closing or was just cut off for exceeding
 * socket_output_limit. */
uint8_t *conn_reserve(struct conn *c, size_t n);
/* Writes a text frame of the n bytes at p into c's output (conn_reserve).
 * Returns as conn_send. */
int conn_send_text(struct conn *c, const char *p, size_t n);
/* Writes as much queued output as the socket takes. Returns -1 if the
 * connection died (it is then on the reap list). */
int conn_flush(struct conn *c);

/* Stops reading c's input until conn_resume (a middleware action is
 * pending: a socket's packets are handled strictly in order). */
void conn_pause(struct conn *c);
/* Reads again, first handling the input that arrived meanwhile. */
void conn_resume(struct conn *c);

/* Starts the close handshake with code and reason (reason may be NULL). */
void conn_close(struct conn *c, uint16_t code, const char *reason);
/* Drops the connection without a close frame (errors, slow consumers). */
void conn_abort(struct conn *c, const char *why);
/* Recomputes the connection's next deadline on the timer wheel. */
void conn_rearm(struct conn *c);
/* Called by the timer wheel when the connection's deadline passed. */
void conn_on_timer(struct conn *c, uint64_t now);

/* Returns an owned rbuf holding a whole text frame with the n bytes at p. */
struct rbuf *conn_text_frame(const char *p, size_t n);

#endif
