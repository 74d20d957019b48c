/*
 * One client WebSocket of agbench: a non-blocking TCP connection from a
 * chosen source address, the HTTP upgrade, reads batched through one buffer
 * shared by the process, the v2 ping answered, and whole text messages
 * handed to the scenario. Connections live in an array the caller owns;
 * a closed one can be opened again.
 *
 * The callbacks run inside the connection's own event: one that closes the
 * connection must not open it again there (do it later, from another event).
 */
#ifndef AG_AGBENCH_CONN_H
#define AG_AGBENCH_CONN_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

enum agbench_conn_state {
	AGBENCH_CONN_FREE = 0,
	AGBENCH_CONN_CONNECTING,
	AGBENCH_CONN_UPGRADING,
	AGBENCH_CONN_OPEN,
};

/* Why a connection ended, other than agbench_conn_close. */
enum agbench_conn_end {
	AGBENCH_END_CONNECT,  /* socket, bind or connect failed */
	AGBENCH_END_UPGRADE,  /* the server answered something else than 101 */
	AGBENCH_END_EOF,      /* the server closed the TCP connection */
	AGBENCH_END_RESET,    /* a read or write failed */
	AGBENCH_END_CLOSE,    /* the server sent a close frame */
	AGBENCH_END_PROTOCOL, /* a frame agbench cannot read */
	AGBENCH_END_COUNT,
};

struct agbench_conn {
	struct event ev;
	int fd;
	uint32_t id;    /* the caller's index */
	uint32_t gen;   /* bumped at every close */
	uint8_t state;  /* enum agbench_conn_state */
	uint8_t events; /* what ev waits for: EV_READ, EV_WRITE */
	uint16_t port;
	uint32_t in_len; /* unconsumed bytes of a partial frame */
	uint32_t out_len;
	uint32_t out_off;
	uint8_t *in;  /* owned, NULL when in_len is 0 */
	uint8_t *out; /* owned, NULL when nothing waits */
};

struct agbench_conn_ops {
	/* The upgrade succeeded. */
	void (*open)(void *arg, struct agbench_conn *c, int64_t now);
	/* A non-empty text message (borrowed, until the callback returns),
	 * read at now (ns, agbench_conn_now). */
	void (*message)(void *arg, struct agbench_conn *c, const char *msg,
	    size_t len, int64_t now);
	/* The connection ended by itself; close_code is the server's close
	 * code for AGBENCH_END_CLOSE, else 0. c is already closed. */
	void (*ended)(void *arg, struct agbench_conn *c,
	    enum agbench_conn_end why, int close_code);
};

/* Counters of the whole process. */
struct agbench_conn_stats {
	uint64_t reads;
	uint64_t writes;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t pings; /* v2 pings answered */
};

extern struct agbench_conn_stats agbench_conn_stats;

/*
 * Sets up the module: events go on base (borrowed), callbacks to ops
 * (borrowed) with arg; the upgrade asks for path (borrowed) on host
 * (borrowed, for the Host header). Returns 0.
 */
int agbench_conn_setup(struct event_base *base,
    const struct agbench_conn_ops *ops, void *arg, const char *host,
    const char *path);
/* Frees the shared buffer. */
void agbench_conn_teardown(void);

/* Returns the monotonic clock in nanoseconds. */
int64_t agbench_conn_now(void);

/*
 * Opens c (FREE) from src to dst, both borrowed. Returns 0 while it
 * connects, or -1 when it failed at once (c stays FREE; nothing is
 * called back).
 */
int agbench_conn_open(struct agbench_conn *c, const struct sockaddr_in *src,
    const struct sockaddr_in *dst);
/*
 * Sends the len bytes at p (borrowed, copied if the socket is full) on an
 * OPEN c. Returns 0, or -1 if the connection ended (ended was called).
 */
int agbench_conn_send(struct agbench_conn *c, const void *p, size_t len);
/* Appends a masked text frame of the len bytes at p to sb. */
void agbench_conn_frame(struct strbuf *sb, const void *p, size_t len);
/* Sends one text message (framed, masked). As agbench_conn_send. */
int agbench_conn_send_text(struct agbench_conn *c, const void *p, size_t len);
/*
 * Closes c (no callback); abortive closes with a reset, so the client side
 * keeps no TIME_WAIT. Accepts a FREE c.
 */
void agbench_conn_close(struct agbench_conn *c, int abortive);

#endif
