#include "chtab.h"

#include <string.h>

#include "common/hash.h"
#include "common/mem.h"

void
chtab_init(struct chtab *t, uint32_t nworkers)
{
	memset(t, 0, sizeof(*t));
	t->nworkers = nworkers;
	t->words = (nworkers + 63) / 64;
	t->nbuckets = 64;
	t->buckets = mem_calloc(t->nbuckets, sizeof(*t->buckets));
}

void
chtab_fini(struct chtab *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i] != NULL) {
			struct chtab_chan *c = t->buckets[i];

			t->buckets[i] = c->next;
			mem_free(c);
		}
	}
	mem_free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static struct chtab_chan **
slot(const struct chtab *t, uint64_t h)
{
	return &t->buckets[h & (t->nbuckets - 1)];
}

static struct chtab_chan *
lookup(const struct chtab *t, const char *name, size_t n, uint64_t h)
{
	for (struct chtab_chan *c = *slot(t, h); c != NULL; c = c->next) {
		if (c->hash == h && c->name_len == n
		    && memcmp(c->name, name, n) == 0) {
			return c;
		}
	}
	return NULL;
}

const struct chtab_chan *
chtab_find(const struct chtab *t, const char *name, size_t n)
{
	return lookup(t, name, n, hash_bytes(name, n));
}

int
chtab_has(const struct chtab *t, const struct chtab_chan *c, uint32_t w)
{
	return w < t->nworkers && (c->bits[w / 64] >> (w % 64) & 1);
}

static void
grow(struct chtab *t)
{
	size_t old = t->nbuckets;
	struct chtab_chan **b = t->buckets;

	t->nbuckets = old * 2;
	t->buckets = mem_calloc(t->nbuckets, sizeof(*t->buckets));
	for (size_t i = 0; i < old; i++) {
		while (b[i] != NULL) {
			struct chtab_chan *c = b[i];

			b[i] = c->next;
			c->next = *slot(t, c->hash);
			*slot(t, c->hash) = c;
		}
	}
	mem_free(b);
}

static struct chtab_chan *
create(struct chtab *t, const char *name, size_t n, uint64_t h)
{
	size_t bits = t->words * sizeof(uint64_t);
	struct chtab_chan *c = mem_calloc(1, sizeof(*c) + bits + n + 1);

	c->hash = h;
	c->name_len = (uint32_t) n;
	c->name = (char *) c->bits + bits;
	memcpy(c->name, name, n);
	if (t->nchans >= t->nbuckets) {
		grow(t);
	}
	c->next = *slot(t, h);
	*slot(t, h) = c;
	t->nchans++;
	return c;
}

static void
destroy(struct chtab *t, struct chtab_chan *c)
{
	struct chtab_chan **pp = slot(t, c->hash);

	while (*pp != c) {
		pp = &(*pp)->next;
	}
	*pp = c->next;
	t->nchans--;
	mem_free(c);
}

int
chtab_add(struct chtab *t, const char *name, size_t n, uint32_t w)
{
	uint64_t h = hash_bytes(name, n);
	struct chtab_chan *c;
	uint64_t bit = (uint64_t) 1 << (w % 64);

	if (w >= t->nworkers) {
		return -1;
	}
	c = lookup(t, name, n, h);
	if (c == NULL) {
		c = create(t, name, n, h);
	}
	if (c->bits[w / 64] & bit) {
		return 0;
	}
	c->bits[w / 64] |= bit;
	c->count++;
	return 1;
}

/* Clears worker w's bit; frees the channel when nobody is left. */
static int
clear(struct chtab *t, struct chtab_chan *c, uint32_t w)
{
	uint64_t bit = (uint64_t) 1 << (w % 64);

	if (!(c->bits[w / 64] & bit)) {
		return 0;
	}
	c->bits[w / 64] &= ~bit;
	if (--c->count == 0) {
		destroy(t, c);
	}
	return 1;
}

int
chtab_remove(struct chtab *t, const char *name, size_t n, uint32_t w)
{
	struct chtab_chan *c;

	if (w >= t->nworkers) {
		return 0;
	}
	c = lookup(t, name, n, hash_bytes(name, n));
	return c != NULL ? clear(t, c, w) : 0;
}

size_t
chtab_remove_worker(struct chtab *t, uint32_t w)
{
	size_t left = 0;

	if (w >= t->nworkers) {
		return 0;
	}
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct chtab_chan *c = t->buckets[i];

		while (c != NULL) {
			struct chtab_chan *next = c->next;

			left += (size_t) clear(t, c, w);
			c = next;
		}
	}
	return left;
}
