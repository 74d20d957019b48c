/*
 * Refcounted immutable byte buffers. An outgoing frame is encoded once into
 * an rbuf and the same bytes are queued on every recipient's output; each
 * queue entry holds one reference. Single-threaded: no atomics, and small
 * buffers are recycled through a bounded free list.
 */
#ifndef AG_RBUF_H
#define AG_RBUF_H

#include <stddef.h>
#include <stdint.h>

struct rbuf {
	uint32_t refs;
	uint32_t len;
	uint8_t data[];
};

/* Returns an owned buffer of len bytes (contents uninitialised), refs = 1. */
struct rbuf *rbuf_new(size_t len);
/* Returns an owned buffer holding a copy of the len bytes at p. */
struct rbuf *rbuf_copy(const void *p, size_t len);
/* Adds a reference; returns b. */
static inline struct rbuf *
rbuf_ref(struct rbuf *b)
{
	b->refs++;
	return b;
}
/* Drops a reference, freeing the buffer on the last; accepts NULL. */
void rbuf_unref(struct rbuf *b);
/* Frees the small buffers kept for reuse (at exit). */
void rbuf_pool_fini(void);
/* 1 when so many small buffers are alive that the next ones would come
 * from malloc rather than the free list: a holder that can release some
 * (a worker writing what it queued) should do so now. The same in every
 * build, though the sanitizer build keeps no free list. */
int rbuf_pool_pressed(void);

#endif
