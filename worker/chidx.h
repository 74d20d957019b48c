/*
 * The worker's channel index: channel name -> the local sockets subscribed
 * to it, and for each socket the channels it holds. Both sides keep the
 * other's position, so subscribe, unsubscribe and "unsubscribe everything"
 * are O(1) per membership and a publish walks a plain array.
 *
 * The index knows nothing of sockets: a subscriber is an opaque pointer plus
 * a struct chidx_list embedded in it. Channels with no subscribers are freed
 * at once. The hooks tell the owner when a channel gets its first local
 * subscriber and loses its last one (what a broker needs to know).
 */
#ifndef AG_CHIDX_H
#define AG_CHIDX_H

#include <stddef.h>
#include <stdint.h>

struct chidx_chan;

/* One membership as seen from the subscriber. */
struct chidx_held {
	struct chidx_chan *chan;
	uint32_t pos; /* index in chan->subs */
};

/* Embedded in each subscriber: the channels it holds. */
struct chidx_list {
	struct chidx_held *v;
	uint32_t n;
	uint32_t cap;
};

/* One membership as seen from the channel. */
struct chidx_sub {
	void *owner;
	struct chidx_list *list;
	uint32_t pos; /* index in list->v */
};

struct chidx_chan {
	struct chidx_chan *next; /* hash chain */
	uint64_t hash;
	struct chidx_sub *subs;
	uint32_t nsubs;
	uint32_t cap;
	uint32_t mark;   /* the owner's: 0 when created */
	uint64_t serial; /* no other channel of this index had it (from 1) */
	size_t name_len;
	char name[]; /* NUL-terminated */
};

struct chidx {
	struct chidx_chan **buckets;
	size_t nbuckets; /* power of two */
	size_t nchans;
	uint64_t serials;  /* the last serial given */
	uint64_t removals; /* channels destroyed so far */
	void (*on_first)(void *arg, const struct chidx_chan *ch);
	void (*on_last)(void *arg, const struct chidx_chan *ch);
	void *hook_arg;
};

void chidx_init(struct chidx *x);
/* Frees every channel; the lists embedded in subscribers are not touched and
 * must be released with chidx_list_fini. */
void chidx_fini(struct chidx *x);
void chidx_list_init(struct chidx_list *l);
void chidx_list_fini(struct chidx_list *l);

/* Returns the channel or NULL. */
struct chidx_chan *chidx_find(
    const struct chidx *x, const char *name, size_t n);
/* A one-entry cache of chidx_find for a caller that looks up the same name
 * again and again (a socket publishing to its channel): the channel found
 * last and the index's removals then. */
struct chidx_hint {
	struct chidx_chan *chan;
	uint64_t removals;
};
/* chidx_find through *hint: the cached channel is used, without hashing,
 * while no channel has been destroyed since and its name is name; else
 * the name is looked up and the answer cached. */
struct chidx_chan *chidx_find_hinted(const struct chidx *x, const char *name,
    size_t n, struct chidx_hint *hint);
/* Returns 1 if the subscriber owning list holds the channel named. */
int chidx_holds(const struct chidx *x, const struct chidx_list *list,
    const char *name, size_t n);

/* Subscribes owner (with its embedded list) to the channel named; returns 0
 * when added, 1 when it already held it. */
int chidx_subscribe(struct chidx *x, void *owner, struct chidx_list *list,
    const char *name, size_t n);
/* Returns 0 when removed, -1 when the subscriber did not hold it. */
int chidx_unsubscribe(
    struct chidx *x, struct chidx_list *list, const char *name, size_t n);
/* Calls fn for every channel; fn must not change the index. */
void chidx_foreach(const struct chidx *x,
    void (*fn)(void *arg, const struct chidx_chan *ch), void *arg);
/* Removes every membership of list. */
void chidx_unsubscribe_all(struct chidx *x, struct chidx_list *list);

#endif
