/*
 * The latency histogram (see agbench_hist.h).
 */
#include "tools/agbench_hist.h"

#include <string.h>

static unsigned
bucket_of(uint64_t v)
{
	unsigned msb, shift;

	if (v < 128) {
		return (unsigned) v;
	}
	msb = 63u - (unsigned) __builtin_clzll(v);
	shift = msb - 6;
	if (shift > 35) {
		return AGBENCH_HIST_BUCKETS - 1;
	}
	return shift * 64 + (unsigned) (v >> shift);
}

/* The highest value that falls into bucket i. */
static uint64_t
bucket_top(unsigned i)
{
	unsigned shift;

	if (i < 128) {
		return i;
	}
	shift = i / 64 - 1;
	return (((uint64_t) (i % 64 + 64) + 1) << shift) - 1;
}

void
agbench_hist_init(struct agbench_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void
agbench_hist_add(struct agbench_hist *h, uint64_t ns)
{
	h->bucket[bucket_of(ns)]++;
	h->count++;
	if (ns > h->max) {
		h->max = ns;
	}
}

void
agbench_hist_merge(struct agbench_hist *h, const struct agbench_hist *from)
{
	for (unsigned i = 0; i < AGBENCH_HIST_BUCKETS; i++) {
		h->bucket[i] += from->bucket[i];
	}
	h->count += from->count;
	if (from->max > h->max) {
		h->max = from->max;
	}
}

uint64_t
agbench_hist_quantile(const struct agbench_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0) {
		return 0;
	}
	rank = (uint64_t) (q * (double) h->count);
	if (rank >= h->count) {
		rank = h->count - 1;
	}
	for (unsigned i = 0; i < AGBENCH_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen > rank) {
			uint64_t top = bucket_top(i);
			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}
