/*
 * The SUBs a worker has sent on one broker link and not yet seen answered,
 * oldest first. The broker answers each SUB with a SUBSCRIBED, in order, on
 * the same link; matching each answer to the SUB it answers tells the
 * worker which generation of a channel the broker now has. Without it, an
 * UNSUB quickly followed by a SUB of the same channel could be confirmed
 * by the answer to the SUB before them, before the broker had the new one.
 *
 * An entry is a channel's name hash and the serial of the channel index
 * entry the SUB was sent for (struct chidx_chan.serial).
 */
#ifndef AG_SUBQ_H
#define AG_SUBQ_H

#include <stdint.h>

struct subq_entry {
	uint64_t hash;
	uint64_t serial;
};

struct subq {
	struct subq_entry *v;
	uint32_t head; /* the oldest entry */
	uint32_t len;  /* entries in use: v[head .. len) */
	uint32_t cap;
};

void subq_init(struct subq *q);
void subq_fini(struct subq *q);
/* A SUB was sent. */
void subq_push(struct subq *q, uint64_t hash, uint64_t serial);
/*
 * A SUBSCRIBED for the channel of hash arrived: removes the oldest entry
 * for it and returns its serial, or 0 when none is waiting (an answer from
 * before the link was reset). Answers come in order, so it is almost always
 * the oldest entry of all; entries before it stay (an answer the broker
 * could not send leaves one behind until subq_clear).
 */
uint64_t subq_take(struct subq *q, uint64_t hash);
/* The link came up again: no answer to an earlier SUB will come. */
void subq_clear(struct subq *q);

#endif
