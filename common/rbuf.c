#include "rbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

/* Small buffers (most frames: a publish, a reply) come from a free list:
 * a busy worker allocates and frees one per message, more per loop turn
 * than malloc's per-thread cache holds. Blocks (a socket's gathered
 * output) have a free list of their own. */
#define RBUF_SMALL_BLOCK 256
#define RBUF_SMALL_MAX   (RBUF_SMALL_BLOCK - sizeof(struct rbuf))
/* How many of each the free lists hold at most. So many small buffers
 * alive that the next ones would come from malloc (a sixteenth short of
 * it) is pressure. Blocks do not count: a socket gathers its own frames
 * into one, and those held by stalled sockets would keep the pressure on
 * for good. A busy worker's turn gathers into a block for about every
 * socket that had more than a small buffer's worth, and frees them all
 * after writing: with fewer kept, malloc gave the rest back to the system
 * and faulted them in again every turn (37,000-45,000 page faults in 5 s
 * of the many-channels echo). What the lists keep beyond a busy moment goes
 * back to malloc on the next rbuf_pool_trim calls. */
#define RBUF_SMALL_KEEP 1024
#define RBUF_BLOCK_KEEP 1024

enum rbuf_kind { RBUF_EXACT, RBUF_SMALL, RBUF_BLOCKS };

struct rbuf_free {
	struct rbuf_free *next;
};

/* The free list of one size (cap bytes of data). */
struct rbuf_pool {
	struct rbuf_free *head;
	unsigned n;
	unsigned keep;
	unsigned alive; /* buffers of this size in use */
	unsigned low;   /* the fewest held since the last rbuf_pool_trim */
	uint32_t cap;
	uint32_t kind;
};

static struct rbuf_pool small
    = { NULL, 0, RBUF_SMALL_KEEP, 0, 0, RBUF_SMALL_MAX, RBUF_SMALL };
static struct rbuf_pool blocks
    = { NULL, 0, RBUF_BLOCK_KEEP, 0, 0, RBUF_BLOCK_ROOM, RBUF_BLOCKS };

static struct rbuf *
pool_take(struct rbuf_pool *p)
{
	struct rbuf *b;

	p->alive++;
	if (p->head != NULL) {
		b = (struct rbuf *) p->head;
		p->head = p->head->next;
		if (--p->n < p->low) {
			p->low = p->n;
		}
	} else {
		b = mem_alloc(sizeof(*b) + p->cap);
	}
	b->cap = p->cap;
	b->kind = p->kind;
	return b;
}

static void
pool_give(struct rbuf_pool *p, struct rbuf *b)
{
	struct rbuf_free *f = (struct rbuf_free *) b;

	p->alive--;
	if (!RBUF_POOLED || p->n >= p->keep) {
		mem_free(b);
		return;
	}
	f->next = p->head;
	p->head = f;
	p->n++;
}

/* What p held all along since the last trim was not needed: free it.
 * Those are the deepest entries of the list (it is a stack), so the ones
 * used since, still warm in the cache, stay. */
static void
pool_trim(struct rbuf_pool *p)
{
	struct rbuf_free **keep = &p->head;
	unsigned drop = p->low;

	for (unsigned i = p->n - drop; i > 0; i--) {
		keep = &(*keep)->next;
	}
	while (drop-- > 0) {
		struct rbuf_free *f = *keep;

		*keep = f->next;
		p->n--;
		mem_free(f);
	}
	p->low = p->n;
}

static void
pool_fini(struct rbuf_pool *p)
{
	p->low = p->n;
	pool_trim(p);
}

/* A buffer of exactly cap bytes, outside the free lists. Lengths are 32
 * bits: no frame comes near (messages are limited to 1 GiB). */
static struct rbuf *
exact(size_t cap)
{
	struct rbuf *b;

	if (cap > UINT32_MAX) {
		fprintf(stderr, "agcluster: a buffer of %zu bytes\n", cap);
		abort();
	}
	b = mem_alloc(sizeof(*b) + cap);

	b->cap = (uint32_t) cap;
	b->kind = RBUF_EXACT;
	return b;
}

/* b, owned by its caller, holding len bytes. */
static struct rbuf *
owned(struct rbuf *b, size_t len)
{
	b->refs = 1;
	b->len = (uint32_t) len;
	return b;
}

struct rbuf *
rbuf_new(size_t len)
{
	return owned(
	    len <= RBUF_SMALL_MAX ? pool_take(&small) : exact(len), len);
}

struct rbuf *
rbuf_block(size_t need)
{
	return owned(
	    need <= RBUF_BLOCK_ROOM ? pool_take(&blocks) : exact(need), 0);
}

struct rbuf *
rbuf_empty(size_t need)
{
	return need > RBUF_SMALL_MAX ? rbuf_block(need)
	                             : owned(pool_take(&small), 0);
}

void
rbuf_pool_fini(void)
{
	pool_fini(&small);
	pool_fini(&blocks);
}

void
rbuf_pool_trim(void)
{
	pool_trim(&small);
	pool_trim(&blocks);
}

size_t
rbuf_pool_held(void)
{
	return small.n + blocks.n;
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
	if (b->kind == RBUF_SMALL) {
		pool_give(&small, b);
	} else if (b->kind == RBUF_BLOCKS) {
		pool_give(&blocks, b);
	} else {
		mem_free(b);
	}
}

int
rbuf_pool_pressed(void)
{
	return small.alive >= small.keep - small.keep / 16;
}
