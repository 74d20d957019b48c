/*
 * libFuzzer target for the envelope decoder: open a batch, walk every
 * envelope, touch every byte of every span, and check that a valid batch
 * survives a round trip through the writer unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits as well as the defaults, so the limit checks are reached. */
static const struct envelope_limits small = { 16, 64, 8 };

/* Written to so that reading the spans is not optimised away. */
static volatile unsigned sink;

/* Reads every byte, so ASan sees a span that reaches past the input. */
static void
touch(struct envelope_span s)
{
	for (size_t i = 0; i < s.n; i++) {
		sink += (unsigned char) s.p[i];
	}
}

static int
same_span(struct envelope_span a, struct envelope_span b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static int
same(const struct envelope *a, const struct envelope *b)
{
	return a->type == b->type && same_span(a->channel, b->channel)
	    && same_span(a->payload, b->payload) && a->has_tag == b->has_tag
	    && a->tag == b->tag && a->epoch == b->epoch && a->pid == b->pid
	    && a->time_ms == b->time_ms;
}

/* Decodes the writer's output and compares it with the original batch. */
static void
check_copy(const uint8_t *data, size_t size, const uint8_t *bytes, size_t len,
    const struct envelope_limits *lim)
{
	struct envelope_batch a, b;
	struct envelope ea, eb;
	enum envelope_result ra, rb;

	if (envelope_batch_open(data, size, lim, &a) != ENVELOPE_OK
	    || envelope_batch_open(bytes, len, lim, &b) != ENVELOPE_OK
	    || a.seq != b.seq || a.sender != b.sender || a.count != b.count) {
		abort();
	}
	do {
		ra = envelope_batch_next(&a, &ea);
		rb = envelope_batch_next(&b, &eb);
		if (ra != rb || (ra == ENVELOPE_NEXT && !same(&ea, &eb))) {
			abort();
		}
	} while (ra == ENVELOPE_NEXT);
}

/* Returns 1 if the whole batch is valid under lim, copying it into w. */
static int
walk(const uint8_t *data, size_t size, const struct envelope_limits *lim,
    struct envelope_writer *w)
{
	struct envelope_batch b;
	struct envelope e;
	enum envelope_result r;

	if (envelope_batch_open(data, size, lim, &b) != ENVELOPE_OK) {
		return 0;
	}
	envelope_begin(w, b.seq, b.sender);
	while ((r = envelope_batch_next(&b, &e)) == ENVELOPE_NEXT) {
		touch(e.channel);
		touch(e.payload);
		envelope_put(w, &e);
	}
	/* A failure must say why; success must have used every byte. */
	if ((r == ENVELOPE_MALFORMED) != (b.error != NULL)
	    || (r == ENVELOPE_END && b.pos != b.end)) {
		abort();
	}
	return r == ENVELOPE_END;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct envelope_writer w;
	static int ready;
	const uint8_t *bytes;
	uint8_t *copy;
	size_t len;

	if (!ready) {
		envelope_writer_init(&w);
		ready = 1;
	}
	walk(data, size, &small, &w);
	if (walk(data, size, NULL, &w)) {
		bytes = envelope_finish(&w, &len);
		/* Exact-size copy, so ASan catches reads past the end. */
		copy = malloc(len);
		memcpy(copy, bytes, len);
		check_copy(data, size, copy, len, NULL);
		free(copy);
	}
	envelope_writer_reset(&w);
	return 0;
}
