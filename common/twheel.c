#include "twheel.h"

#include "mem.h"

/*
 * Invariant: a scheduled node whose expiry is after w->now sits in the slot
 * of its expiry's tick; one whose expiry is at or before w->now sits in the
 * slot of w->now's tick. An advance visits every tick from w->now's to the new
 * time's (each slot once at most), so it finds every due node, and a node
 * several revolutions away simply stays put until a visit finds it due.
 *
 * Due nodes are first moved to a private list and only then fired. Callbacks
 * therefore never run while a slot is being walked, a node cancelled or
 * rescheduled by a callback leaves that list before its turn, and a node
 * (re)scheduled during an advance waits in the wheel for a later advance,
 * even if it is already due, so a callback that reschedules its node to
 * "now" cannot keep an advance running forever.
 */

static void
list_init(struct twheel_node *head)
{
	head->next = head;
	head->prev = head;
}

static void
list_append(struct twheel_node *head, struct twheel_node *n)
{
	n->next = head;
	n->prev = head->prev;
	head->prev->next = n;
	head->prev = n;
}

static void
list_unlink(struct twheel_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}

static size_t
round_pow2(size_t n)
{
	size_t p = 1;

	while (p < n) {
		p <<= 1;
	}
	return p;
}

void
twheel_init(struct twheel *w, size_t nslots, uint64_t tick_ms, uint64_t now_ms)
{
	w->nslots = round_pow2(nslots);
	w->slots = mem_alloc(w->nslots * sizeof(*w->slots));
	for (size_t i = 0; i < w->nslots; i++) {
		list_init(&w->slots[i]);
	}
	/* A zero tick would divide by zero; 1 ms is the finest resolution. */
	w->tick_ms = tick_ms > 0 ? tick_ms : 1;
	w->now = now_ms;
	w->count = 0;
}

void
twheel_fini(struct twheel *w)
{
	mem_free(w->slots);
	w->slots = NULL;
	w->nslots = 0;
	w->count = 0;
}

void
twheel_node_init(struct twheel_node *n)
{
	n->next = NULL;
	n->prev = NULL;
	n->expiry = 0;
}

int
twheel_scheduled(const struct twheel_node *n)
{
	return n->prev != NULL;
}

static struct twheel_node *
slot_of(struct twheel *w, uint64_t t)
{
	return &w->slots[(t / w->tick_ms) & (w->nslots - 1)];
}

void
twheel_schedule(struct twheel *w, struct twheel_node *n, uint64_t expiry_ms)
{
	if (twheel_scheduled(n)) {
		list_unlink(n);
	} else {
		w->count++;
	}
	n->expiry = expiry_ms;
	list_append(slot_of(w, expiry_ms > w->now ? expiry_ms : w->now), n);
}

void
twheel_cancel(struct twheel *w, struct twheel_node *n)
{
	if (!twheel_scheduled(n)) {
		return;
	}
	list_unlink(n);
	n->next = NULL;
	n->prev = NULL;
	w->count--;
}

/* Moves the nodes of slot that are due at now_ms to the end of due. */
static void
collect_slot(
    struct twheel_node *slot, struct twheel_node *due, uint64_t now_ms)
{
	struct twheel_node *n = slot->next;

	while (n != slot) {
		struct twheel_node *next = n->next;

		if (n->expiry <= now_ms) {
			list_unlink(n);
			list_append(due, n);
		}
		n = next;
	}
}

/* Moves every due node to due and sets w->now to the later of the two
 * times, so that a clock stepping back never moves the wheel back. */
static void
collect_due(struct twheel *w, uint64_t now_ms, struct twheel_node *due)
{
	uint64_t to = now_ms > w->now ? now_ms : w->now;
	uint64_t from_tick = w->now / w->tick_ms;
	uint64_t span = to / w->tick_ms - from_tick;
	/* A jump of a revolution or more visits each slot once, not once per
	 * elapsed tick. */
	size_t nvisit = span < w->nslots ? (size_t) span + 1 : w->nslots;
	size_t mask = w->nslots - 1;

	for (size_t i = 0; i < nvisit; i++) {
		collect_slot(&w->slots[(from_tick + i) & mask], due, now_ms);
	}
	w->now = to;
}

size_t
twheel_advance(struct twheel *w, uint64_t now_ms,
    void (*fire)(struct twheel_node *node, void *arg), void *arg)
{
	struct twheel_node due;
	size_t fired = 0;

	list_init(&due);
	collect_due(w, now_ms, &due);
	while (due.next != &due) {
		struct twheel_node *n = due.next;

		twheel_cancel(w, n);
		fired++;
		/* n may be freed or rescheduled here, and other nodes on due
		 * cancelled; nothing of n is touched afterwards. */
		fire(n, arg);
	}
	return fired;
}
