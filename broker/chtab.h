/*
 * The broker's channel table: for each channel of its shard, the set of
 * workers that have at least one local subscriber (a bitmap over worker
 * indices). A channel no worker wants is freed at once.
 */
#ifndef AG_CHTAB_H
#define AG_CHTAB_H

#include <stddef.h>
#include <stdint.h>

struct chtab_chan {
	struct chtab_chan *next; /* hash chain */
	uint64_t hash;
	uint32_t count; /* workers in the set */
	uint32_t name_len;
	char *name; /* points into the same allocation */
	uint64_t bits[];
};

struct chtab {
	struct chtab_chan **buckets;
	size_t nbuckets; /* power of two */
	size_t nchans;
	uint32_t nworkers;
	uint32_t words; /* 64-bit words per bitmap */
};

/* Initialises a table for workers 0 .. nworkers-1. */
void chtab_init(struct chtab *t, uint32_t nworkers);
void chtab_fini(struct chtab *t);

/* Returns the channel or NULL. */
const struct chtab_chan *chtab_find(
    const struct chtab *t, const char *name, size_t n);
/* Returns 1 if worker w is in the channel's set. */
int chtab_has(const struct chtab *t, const struct chtab_chan *c, uint32_t w);
/* Adds worker w to the channel's set; returns 1 if it was not there, 0 if
 * it was, -1 if w is out of range. */
int chtab_add(struct chtab *t, const char *name, size_t n, uint32_t w);
/* Removes worker w; returns 1 if it was there, else 0. */
int chtab_remove(struct chtab *t, const char *name, size_t n, uint32_t w);
/* Removes worker w from every channel (a worker that said HELLO again);
 * returns the number of channels it left. */
size_t chtab_remove_worker(struct chtab *t, uint32_t w);

#endif
