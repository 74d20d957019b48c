#include "rbuf.h"

#include <string.h>

#include "mem.h"

/* Small buffers (most frames: a publish, a reply) come from a free list:
 * a busy worker allocates and frees one per message, more per loop turn
 * than malloc's per-thread cache holds. */
#define RBUF_SMALL_BLOCK 256
#define RBUF_SMALL_MAX   (RBUF_SMALL_BLOCK - sizeof(struct rbuf))
/* How many small buffers the free list holds at most, and how many alive
 * count as pressure (a sixteenth short of it). */
#define RBUF_POOL_SIZE  1024
#define RBUF_POOL_PRESS (RBUF_POOL_SIZE - RBUF_POOL_SIZE / 16)
/* Under AddressSanitizer every buffer goes back to malloc, so that a use
 * after the last unref is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define RBUF_POOL_MAX 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RBUF_POOL_MAX 0
#endif
#endif
#ifndef RBUF_POOL_MAX
#define RBUF_POOL_MAX RBUF_POOL_SIZE
#endif

struct rbuf_free {
	struct rbuf_free *next;
};

static struct rbuf_free *pool;
static unsigned pool_n;
static unsigned small_alive;

struct rbuf *
rbuf_new(size_t len)
{
	struct rbuf *b;

	small_alive += len <= RBUF_SMALL_MAX;
	if (len <= RBUF_SMALL_MAX && pool != NULL) {
		b = (struct rbuf *) pool;
		pool = pool->next;
		pool_n--;
	} else {
		b = mem_alloc(len <= RBUF_SMALL_MAX ? RBUF_SMALL_BLOCK
		                                    : sizeof(*b) + len);
	}
	b->refs = 1;
	b->len = (uint32_t) len;
	return b;
}

void
rbuf_pool_fini(void)
{
	while (pool != NULL) {
		struct rbuf_free *f = pool;

		pool = f->next;
		mem_free(f);
	}
	pool_n = 0;
}

struct rbuf *
rbuf_copy(const void *p, size_t len)
{
	struct rbuf *b = rbuf_new(len);

	memcpy(b->data, p, len);
	return b;
}

void
rbuf_unref(struct rbuf *b)
{
	if (b == NULL || --b->refs > 0) {
		return;
	}
	small_alive -= b->len <= RBUF_SMALL_MAX;
	if (b->len <= RBUF_SMALL_MAX && (int) pool_n < RBUF_POOL_MAX) {
		struct rbuf_free *f = (struct rbuf_free *) b;

		f->next = pool;
		pool = f;
		pool_n++;
		return;
	}
	mem_free(b);
}

int
rbuf_pool_pressed(void)
{
	return small_alive >= RBUF_POOL_PRESS;
}
