/*
 * The ag-worker process: one libevent loop, one listener shared with other
 * workers through SO_REUSEPORT, every connection, the timer wheel that
 * drives pings and timeouts, the channel index, and the end-of-iteration
 * work (flushing coalesced output, reaping closed connections).
 */
#ifndef AG_SERVER_H
#define AG_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/strbuf.h"
#include "common/tokenconf.h"
#include "common/twheel.h"
#include "worker/chidx.h"
#include "worker/cluster.h"
#include "worker/plugin.h"
#include "worker/scp.h"
#include "common/agconf.h"

struct conn;
struct evconnlistener;

/* Counters; per-message events are counted, not logged. */
struct server_stats {
	uint64_t accepted;
	uint64_t rejected_full; /* refused by max_connections */
	uint64_t accept_errors; /* accept() failures (out of descriptors) */
	uint64_t closed;
	uint64_t http_rejected;
	uint64_t ws_errors;      /* closed for a WebSocket protocol error */
	uint64_t slow_consumers; /* cut off at socket_output_limit */
	uint64_t messages_in;
	uint64_t publishes;
	uint64_t deliveries;
};

#define SERVER_ID_POOL 480 /* 40 ids' random bytes */

struct server {
	struct event_base *base;
	const struct agconf *conf; /* borrowed */
	struct evconnlistener *listener;
	struct event *tick;  /* drives the timer wheel */
	struct event *flush; /* end of loop iteration, lowest priority */
	struct event *sigterm;
	struct event *sigint;
	struct event *drain_timer;
	struct event *accept_timer; /* resumes accepting after an error */
	struct twheel wheel;
	struct chidx channels;
	struct cluster cluster;        /* links to the brokers, if any */
	struct tokenconf tokens;       /* JWT verifier and signer */
	struct agplugin_host plugins;  /* loaded plugins */
	struct scp_decoder claims_dec; /* reading a socket's token claims */
	struct conn *conns;            /* every live connection */
	struct conn *dirty;            /* connections with output to write */
	struct conn *dead;   /* connections to free after this turn */
	struct conn *resume; /* connections whose pending action settled */
	size_t nconns;
	int stopping;
	uint8_t *scratch; /* shared read buffer */
	size_t scratch_size;
	struct scp_decoder
	    dec;           /* shared: messages are handled one at a time */
	struct strbuf out; /* shared: building one outgoing packet */
	struct strbuf err; /* shared: building one error object */
	char *name;        /* shared: one unescaped channel name */
	size_t name_cap;
	struct rbuf *ping_frame; /* the ping of the configured protocol */
	uint32_t id_counter;
	/* Random bytes for socket ids, drawn SERVER_ID_POOL at a time: one
	 * RAND_bytes per socket costs a getpid() and a lock pair. */
	uint8_t id_pool[SERVER_ID_POOL];
	uint32_t id_pool_left;
	uint64_t now; /* server_now() at the start of the current callback */
	uint64_t pool_trimmed; /* when rbuf_pool_trim last ran */
	struct server_stats stats;
};

/*
 * Creates the loop and binds the listener. Returns 0, or -1 after logging
 * why (address in use, bad host). conf is borrowed for the server's life.
 */
int server_init(struct server *s, const struct agconf *conf);
/* Runs the loop until SIGTERM or SIGINT has drained every connection. */
int server_run(struct server *s);
void server_fini(struct server *s);

/* Returns NULL when the worker is ready for new clients, else why not
 * (draining, or a broker unreachable); the text is static or lives until
 * the next call. */
const char *server_unready(struct server *s);

/* Current time in ms on a monotonic clock. */
uint64_t server_now(void);

/* Schedules the end-of-iteration flush for c (output queued). */
void server_mark_dirty(struct server *s, struct conn *c);
/* Writes the queued output before the loop turn ends when the frames
 * waiting for it would otherwise outgrow the small-buffer free list
 * (rbuf_pool_pressed): each socket still gets one write for all it was
 * sent in between, and frames stay off malloc. Called after a socket's
 * input was handled. */
void server_relieve(struct server *s);
/* Makes the end-of-turn work run (settled middleware to go on). */
void server_wake(struct server *s);
/* Resumes c's input at the end of this turn (its action settled). */
void server_mark_resume(struct server *s, struct conn *c);
/* Moves c to the reap list; it is freed after this loop turn. */
void server_mark_dead(struct server *s, struct conn *c);

#endif
