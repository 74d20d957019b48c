/*
 * One worker<->broker link: an nng pair1 socket joined to a libevent loop,
 * carrying batches of envelopes (common/envelope.h) both ways. See
 * shared/docs/nng-1.5.2-notes.md, section 6, for why it is built this way.
 *
 * - One pair1 socket per link, on its own tcp:// URL; the broker listens,
 *   the worker dials (non-blocking, so start-up order does not matter).
 * - Envelopes put during one loop turn travel in one nng message: the batch
 *   is flushed at the end of the turn (a lowest-priority event), or earlier
 *   when it reaches LINK_BATCH_ENVELOPES or LINK_BATCH_BYTES.
 * - Every batch carries the link's sequence number; the receiver counts
 *   gaps (nng loses in-flight messages silently when a peer dies).
 * - Sends never block: when nng answers EAGAIN the message waits in a
 *   bounded outbox and NNG_OPT_SENDFD is watched until it drains. While no
 *   peer is connected, batches wait in the outbox rather than in nng.
 * - Pipe add/remove (peer connected/gone) is reported on nng's threads; it
 *   is forwarded to the loop through an eventfd and reported there through
 *   on_up/on_down. Nothing of ours runs on nng's threads.
 * - Each side sends a HEARTBEAT when it has sent nothing for
 *   LINK_HEARTBEAT_MS; a link that has received nothing for
 *   LINK_DEAD_MS while up is reported through on_down (and on_up again
 *   when traffic resumes).
 *
 * Single-threaded apart from the pipe callbacks; not reentrant: callbacks
 * may call link_put and link_flush, but not link_close on their own link.
 */
#ifndef AG_LINK_H
#define AG_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <nng/nng.h>

#include "common/envelope.h"

#define LINK_BATCH_ENVELOPES 64
#define LINK_BATCH_BYTES     (16 * 1024)
#define LINK_OUTBOX_BYTES    (64 * 1024 * 1024)
/* What control envelopes (link_put_control) may add beyond it. */
#define LINK_CONTROL_RESERVE (16 * 1024 * 1024)
#define LINK_RECV_MAX        (8 * 1024 * 1024)
#define LINK_HEARTBEAT_MS    1000
#define LINK_DEAD_MS         3500

struct link;

struct link_callbacks {
	/* One received envelope; spans are valid only during the call.
	 * HEARTBEATs are the link's own and are not passed on. */
	void (*on_envelope)(
	    struct link *l, const struct envelope *env, void *arg);
	/* The peer is connected (again). A worker resynchronises here.
	 * on_up and on_down may be NULL. */
	void (*on_up)(struct link *l, void *arg);
	/* The peer is gone (pipe removed, or silent for LINK_DEAD_MS). */
	void (*on_down)(struct link *l, void *arg);
};

struct link_stats {
	uint64_t batches_out;
	uint64_t envelopes_out;
	uint64_t batches_in;
	uint64_t envelopes_in;
	uint64_t gaps;         /* batches missing by sequence number */
	uint64_t malformed;    /* batches dropped as malformed */
	uint64_t outbox_drops; /* envelopes dropped: outbox over its bound */
	uint64_t ups;
	uint64_t downs;
};

/*
 * Opens a link on url ("tcp://127.0.0.1:9100"): listens when listen is
 * non-zero, else dials (retrying in the background). self_id is sent in
 * every batch header. cb and arg are borrowed for the link's life. Returns
 * an owned link, or NULL after logging why (bad URL, address in use).
 */
struct link *link_open(struct event_base *base, const char *url, int listen,
    uint32_t self_id, const struct link_callbacks *cb, void *arg);
/* Flushes what it can without blocking, then closes; accepts NULL. */
void link_close(struct link *l);

/* Returns 1 while the peer is connected and not silent. */
int link_is_up(const struct link *l);
/* Queues one envelope (its spans are copied). Returns 0, or -1 when the
 * outbox is over LINK_OUTBOX_BYTES or the envelope alone would make a batch
 * over LINK_RECV_MAX (the envelope is dropped and counted in outbox_drops). */
int link_put(struct link *l, const struct envelope *env);
/* link_put for the envelopes the other side waits on or must not miss (a
 * SUB and its SUBSCRIBED, UNSUB, HELLO, RESYNC_DONE): they may use
 * LINK_CONTROL_RESERVE beyond a full outbox, so that a flood of
 * publishes cannot leave a subscribe unanswered. Their number follows
 * subscription changes, not traffic. */
int link_put_control(struct link *l, const struct envelope *env);
/* Sends the pending batch now instead of at the end of the turn. */
void link_flush(struct link *l);
/* Pending bytes: the open batch plus the outbox. */
size_t link_pending(const struct link *l);

const struct link_stats *link_stats(const struct link *l);
const char *link_url(const struct link *l);
/* The sender id of the last batch received, or UINT32_MAX if none yet. */
uint32_t link_peer_id(const struct link *l);

/*
 * The receiver's sequence rule, exposed for its unit test. *expected is the
 * next sequence number wanted, 0 before any batch (senders number from 1).
 * Returns how many batches are missing before seq (0 in order, and 0 when
 * seq is lower: the peer restarted), and sets *expected to seq + 1.
 */
uint64_t link_seq_check(uint64_t *expected, uint64_t seq);

#endif
