#include "rbuf.h"

#include <string.h>

#include "mem.h"

struct rbuf *
rbuf_new(size_t len)
{
	struct rbuf *b = mem_alloc(sizeof(*b) + len);

	b->refs = 1;
	b->len = (uint32_t) len;
	return b;
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
	if (b != NULL && --b->refs == 0) {
		mem_free(b);
	}
}
