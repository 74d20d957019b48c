/*
 * A latency histogram in nanoseconds: log-linear buckets (64 per power of
 * two, under 1.6 % error), exact below 128 ns, up to 2^42 ns (about 73
 * minutes); larger values count in the last bucket. Embedded, fixed size,
 * no allocation.
 */
#ifndef AG_AGBENCH_HIST_H
#define AG_AGBENCH_HIST_H

#include <stdint.h>

#define AGBENCH_HIST_BUCKETS (35 * 64 + 128)

struct agbench_hist {
	uint64_t count;
	uint64_t max;
	uint64_t bucket[AGBENCH_HIST_BUCKETS];
};

void agbench_hist_init(struct agbench_hist *h);
void agbench_hist_add(struct agbench_hist *h, uint64_t ns);
/* Adds every value of from (borrowed) to h. */
void agbench_hist_merge(
    struct agbench_hist *h, const struct agbench_hist *from);
/* Returns the value at quantile q (0..1): the highest value of its bucket,
 * never above the maximum seen; 0 for an empty histogram. */
uint64_t agbench_hist_quantile(const struct agbench_hist *h, double q);

#endif
