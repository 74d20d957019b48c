/*
 * Refcounted byte buffers. An outgoing frame is encoded once into an rbuf
 * and the same bytes are queued on every recipient's output; each queue
 * entry holds one reference. A buffer is immutable while shared; its only
 * holder may append to it up to its capacity (a socket's output gathers
 * the frames meant for it alone into one block). Single-threaded: no
 * atomics, and small buffers and blocks are recycled through bounded free
 * lists.
 */
#ifndef AG_RBUF_H
#define AG_RBUF_H

#include <stddef.h>
#include <stdint.h>

/* Under AddressSanitizer every buffer goes back to malloc, so that a use
 * after the last unref is still caught: RBUF_POOLED is 0. */
#if defined(__SANITIZE_ADDRESS__)
#define RBUF_POOLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RBUF_POOLED 0
#endif
#endif
#ifndef RBUF_POOLED
#define RBUF_POOLED 1
#endif

/* The size of a block (rbuf_block), header included. */
#define RBUF_BLOCK 4096

struct rbuf {
	uint32_t refs;
	uint32_t len;
	uint32_t cap;  /* bytes data holds: len plus the room after it */
	uint32_t kind; /* where it goes when freed (rbuf.c) */
	uint8_t data[];
};

/* Returns an owned buffer of len bytes (contents uninitialised), refs = 1. */
struct rbuf *rbuf_new(size_t len);
/* The room of a block. */
#define RBUF_BLOCK_ROOM (RBUF_BLOCK - sizeof(struct rbuf))

/* Returns an owned, empty buffer (len 0) with room for at least need
 * bytes: a block of RBUF_BLOCK bytes when need fits in one, else exactly
 * need. */
struct rbuf *rbuf_block(size_t need);
/* The same, but a small buffer when need fits in one. */
struct rbuf *rbuf_empty(size_t need);
/* The bytes that can still be appended after b's len. */
static inline size_t
rbuf_room(const struct rbuf *b)
{
	return b->cap - b->len;
}
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
/* Frees the buffers and blocks kept for reuse (at exit). */
void rbuf_pool_fini(void);
/* Frees what the free lists held all along since the previous call: a
 * worker calls it every second, so that a busy moment's buffers do not
 * stay once it is over. */
void rbuf_pool_trim(void);
/* How many buffers and blocks the free lists hold (always 0 in the
 * sanitizer build, which keeps none). */
size_t rbuf_pool_held(void);
/* 1 when so many small buffers are alive that the next ones would come
 * from malloc rather than the free list: a holder that can release some
 * (a worker writing what it queued) should do so now. The same in every
 * build, though the sanitizer build keeps no free list. */
int rbuf_pool_pressed(void);

#endif
