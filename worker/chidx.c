#include "chidx.h"

#include <string.h>

#include "common/hash.h"
#include "common/mem.h"

void
chidx_init(struct chidx *x)
{
	memset(x, 0, sizeof(*x));
	x->nbuckets = 64;
	x->buckets = mem_calloc(x->nbuckets, sizeof(*x->buckets));
}

void
chidx_fini(struct chidx *x)
{
	for (size_t i = 0; i < x->nbuckets; i++) {
		struct chidx_chan *c = x->buckets[i];

		while (c != NULL) {
			struct chidx_chan *next = c->next;

			mem_free(c->subs);
			mem_free(c);
			c = next;
		}
	}
	mem_free(x->buckets);
	memset(x, 0, sizeof(*x));
}

void
chidx_list_init(struct chidx_list *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

void
chidx_list_fini(struct chidx_list *l)
{
	mem_free(l->v);
	chidx_list_init(l);
}

static struct chidx_chan **
slot(const struct chidx *x, uint64_t h)
{
	return &x->buckets[h & (x->nbuckets - 1)];
}

static struct chidx_chan *
lookup(const struct chidx *x, const char *name, size_t n, uint64_t h)
{
	for (struct chidx_chan *c = *slot(x, h); c != NULL; c = c->next) {
		if (c->hash == h && c->name_len == n
		    && memcmp(c->name, name, n) == 0) {
			return c;
		}
	}
	return NULL;
}

struct chidx_chan *
chidx_find(const struct chidx *x, const char *name, size_t n)
{
	return lookup(x, name, n, hash_bytes(name, n));
}

struct chidx_chan *
chidx_find_hinted(
    const struct chidx *x, const char *name, size_t n, struct chidx_hint *hint)
{
	struct chidx_chan *c = hint->chan;

	/* A destroyed channel's memory may hold another by now: any removal
	 * since the hint was taken makes it stale. */
	if (c != NULL && hint->removals == x->removals && c->name_len == n
	    && memcmp(c->name, name, n) == 0) {
		return c;
	}
	c = chidx_find(x, name, n);
	hint->chan = c;
	hint->removals = x->removals;
	return c;
}

static void
grow(struct chidx *x)
{
	size_t old = x->nbuckets;
	struct chidx_chan **b = x->buckets;

	x->nbuckets = old * 2;
	x->buckets = mem_calloc(x->nbuckets, sizeof(*x->buckets));
	for (size_t i = 0; i < old; i++) {
		while (b[i] != NULL) {
			struct chidx_chan *c = b[i];

			b[i] = c->next;
			c->next = *slot(x, c->hash);
			*slot(x, c->hash) = c;
		}
	}
	mem_free(b);
}

static struct chidx_chan *
create(struct chidx *x, const char *name, size_t n, uint64_t h)
{
	struct chidx_chan *c = mem_calloc(1, sizeof(*c) + n + 1);

	memcpy(c->name, name, n);
	c->name_len = n;
	c->hash = h;
	c->serial = ++x->serials;
	if (x->nchans >= x->nbuckets) {
		grow(x);
	}
	c->next = *slot(x, h);
	*slot(x, h) = c;
	x->nchans++;
	return c;
}

static void
destroy(struct chidx *x, struct chidx_chan *c)
{
	struct chidx_chan **pp = slot(x, c->hash);

	while (*pp != c) {
		pp = &(*pp)->next;
	}
	*pp = c->next;
	x->nchans--;
	x->removals++;
	mem_free(c->subs);
	mem_free(c);
}

static int
find_held(const struct chidx_list *list, const struct chidx_chan *c)
{
	for (uint32_t i = 0; i < list->n; i++) {
		if (list->v[i].chan == c) {
			return (int) i;
		}
	}
	return -1;
}

int
chidx_holds(const struct chidx *x, const struct chidx_list *list,
    const char *name, size_t n)
{
	struct chidx_chan *c = chidx_find(x, name, n);

	return c != NULL && find_held(list, c) >= 0;
}

int
chidx_subscribe(struct chidx *x, void *owner, struct chidx_list *list,
    const char *name, size_t n)
{
	uint64_t h = hash_bytes(name, n);
	struct chidx_chan *c = lookup(x, name, n, h);

	if (c != NULL && find_held(list, c) >= 0) {
		return 1;
	}
	if (c == NULL) {
		c = create(x, name, n, h);
	}
	if (c->nsubs == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4;
		c->subs = mem_realloc(c->subs, c->cap * sizeof(*c->subs));
	}
	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 4;
		list->v = mem_realloc(list->v, list->cap * sizeof(*list->v));
	}
	c->subs[c->nsubs] = (struct chidx_sub) { owner, list, list->n };
	list->v[list->n] = (struct chidx_held) { c, c->nsubs };
	c->nsubs++;
	list->n++;
	if (c->nsubs == 1 && x->on_first != NULL) {
		x->on_first(x->hook_arg, c);
	}
	return 0;
}

/* Removes membership i of list, moving the last entries of both arrays into
 * the holes and fixing their back-pointers. */
static void
remove_held(struct chidx *x, struct chidx_list *list, uint32_t i)
{
	struct chidx_chan *c = list->v[i].chan;
	uint32_t pos = list->v[i].pos;

	c->nsubs--;
	if (pos != c->nsubs) {
		c->subs[pos] = c->subs[c->nsubs];
		c->subs[pos].list->v[c->subs[pos].pos].pos = pos;
	}
	list->n--;
	if (i != list->n) {
		list->v[i] = list->v[list->n];
		list->v[i].chan->subs[list->v[i].pos].pos = i;
	}
	if (c->nsubs == 0) {
		if (x->on_last != NULL) {
			x->on_last(x->hook_arg, c);
		}
		destroy(x, c);
	}
}

int
chidx_unsubscribe(
    struct chidx *x, struct chidx_list *list, const char *name, size_t n)
{
	struct chidx_chan *c = chidx_find(x, name, n);
	int i = c != NULL ? find_held(list, c) : -1;

	if (i < 0) {
		return -1;
	}
	remove_held(x, list, (uint32_t) i);
	if (list->n == 0) {
		chidx_list_fini(list);
	}
	return 0;
}

void
chidx_foreach(const struct chidx *x,
    void (*fn)(void *arg, const struct chidx_chan *ch), void *arg)
{
	for (size_t i = 0; i < x->nbuckets; i++) {
		for (struct chidx_chan *c = x->buckets[i]; c != NULL;
		     c = c->next) {
			fn(arg, c);
		}
	}
}

void
chidx_unsubscribe_all(struct chidx *x, struct chidx_list *list)
{
	while (list->n > 0) {
		remove_held(x, list, list->n - 1);
	}
	chidx_list_fini(list);
}
