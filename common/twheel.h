/*
 * A hashed timer wheel for per-connection deadlines (ping, pong timeout,
 * handshake timeout, close linger). One intrusive node per connection, O(1)
 * insert and remove, one libevent-free tick function: the owner calls
 * twheel_advance from a periodic timer with the current time.
 *
 * Resolution is `tick_ms`; a timer fires at the first advance whose time is
 * >= its expiry, so it fires late by at most one tick plus the timer's own
 * lateness, never early. Pure: the clock is passed in.
 */
#ifndef AG_TWHEEL_H
#define AG_TWHEEL_H

#include <stddef.h>
#include <stdint.h>

struct twheel_node {
	struct twheel_node *next;
	struct twheel_node *prev; /* NULL when not scheduled */
	uint64_t expiry;          /* absolute ms */
};

struct twheel {
	struct twheel_node *slots; /* nslots list heads (sentinels) */
	size_t nslots;             /* power of two */
	uint64_t tick_ms;
	uint64_t now; /* time of the last advance, in ms */
	size_t count; /* scheduled nodes */
};

/* Initialises a wheel of nslots (rounded up to a power of two) slots of
 * tick_ms each, starting at time now_ms. */
void twheel_init(
    struct twheel *w, size_t nslots, uint64_t tick_ms, uint64_t now_ms);
/* Frees the slot array; nodes still scheduled are simply forgotten. */
void twheel_fini(struct twheel *w);

/* Initialises a node as not scheduled. */
void twheel_node_init(struct twheel_node *n);
/* Returns 1 if the node is scheduled. */
int twheel_scheduled(const struct twheel_node *n);
/* Schedules (or reschedules) n to fire at absolute time expiry_ms. A time in
 * the past fires at the next advance. Borrows n until it fires or is
 * cancelled. */
void twheel_schedule(
    struct twheel *w, struct twheel_node *n, uint64_t expiry_ms);
/* Unschedules n if scheduled. */
void twheel_cancel(struct twheel *w, struct twheel_node *n);

/*
 * Advances the wheel to now_ms and calls fire(node, arg) for every node whose
 * expiry is <= now_ms, each once, after unscheduling it. fire may schedule or
 * cancel any node, including the one it was given (which may be rescheduled
 * or freed). Returns the number of nodes fired.
 */
size_t twheel_advance(struct twheel *w, uint64_t now_ms,
    void (*fire)(struct twheel_node *node, void *arg), void *arg);

#endif
