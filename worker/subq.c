#include "worker/subq.h"

#include <string.h>

#include "common/mem.h"

#define SUBQ_KEEP 64

void
subq_init(struct subq *q)
{
	memset(q, 0, sizeof(*q));
}

void
subq_fini(struct subq *q)
{
	mem_free(q->v);
	memset(q, 0, sizeof(*q));
}

void
subq_push(struct subq *q, uint64_t hash, uint64_t serial)
{
	if (q->len == q->cap && q->head > 0) {
		/* room at the front: move the live entries there */
		memmove(
		    q->v, q->v + q->head, (q->len - q->head) * sizeof(*q->v));
		q->len -= q->head;
		q->head = 0;
	}
	if (q->len == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->v = mem_realloc(q->v, q->cap * sizeof(*q->v));
	}
	q->v[q->len++] = (struct subq_entry) { hash, serial };
}

uint64_t
subq_take(struct subq *q, uint64_t hash)
{
	uint64_t serial;
	uint32_t i = q->head;

	while (i < q->len && q->v[i].hash != hash) {
		i++;
	}
	if (i == q->len) {
		return 0;
	}
	serial = q->v[i].serial;
	if (i == q->head) {
		q->head++;
	} else {
		memmove(
		    q->v + i, q->v + i + 1, (q->len - i - 1) * sizeof(*q->v));
		q->len--;
	}
	if (q->head == q->len) {
		subq_clear(q);
	}
	return serial;
}

void
subq_clear(struct subq *q)
{
	q->head = q->len = 0;
	/* a resync of many channels leaves a large array: not kept idle */
	if (q->cap > SUBQ_KEEP) {
		mem_free(q->v);
		q->v = NULL;
		q->cap = 0;
	}
}
