#include "hrw.h"

#include <string.h>

#include "hash.h"
#include "mem.h"

/* Part of the cluster's wire contract (see hrw.h): 16 ASCII bytes each. */
static const uint8_t nid_key[16] = { 'a', 'g', 'c', 'l', 'u', 's', 't', 'e',
	'r', '-', 'n', 'i', 'd', '-', 'v', '1' };
static const uint8_t hrw_key[16] = { 'a', 'g', 'c', 'l', 'u', 's', 't', 'e',
	'r', '-', 'h', 'r', 'w', '-', 'v', '1' };

/* Channels up to this long are hashed from the stack. */
#define STACK_CHANNEL 248

uint64_t
hrw_node_id(const void *name, size_t len)
{
	return hash_sip(nid_key, name, len);
}

/* Writes id little-endian, so the weight is the same on every host. */
static void
put_id(uint8_t *p, uint64_t id)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t) (id >> (8 * i));
	}
}

/* buf holds 8 spare bytes followed by the channel. */
static uint64_t
weight_in(uint8_t *buf, size_t len, uint64_t id)
{
	put_id(buf, id);
	return hash_sip(hrw_key, buf, 8 + len);
}

/* Returns a buffer of 8 + len bytes holding the channel after 8 spare bytes:
 * stack when it fits, else owned heap memory the caller frees. */
static uint8_t *
key_buf(uint8_t *stack, const void *chan, size_t len)
{
	uint8_t *buf = stack;

	if (len > STACK_CHANNEL) {
		buf = mem_alloc(8 + len);
	}
	if (len > 0) {
		memcpy(buf + 8, chan, len);
	}
	return buf;
}

uint64_t
hrw_weight(uint64_t id, const void *chan, size_t len)
{
	uint8_t stack[8 + STACK_CHANNEL];
	uint8_t *buf = key_buf(stack, chan, len);
	uint64_t w = weight_in(buf, len, id);

	if (buf != stack) {
		mem_free(buf);
	}
	return w;
}

int
hrw_owner(
    const uint64_t *ids, size_t n, const void *chan, size_t len, size_t *owner)
{
	uint8_t stack[8 + STACK_CHANNEL];
	uint8_t *buf;
	uint64_t best_w = 0;
	size_t best = 0;

	if (n == 0) {
		return HRW_EMPTY;
	}
	buf = key_buf(stack, chan, len);
	for (size_t i = 0; i < n; i++) {
		uint64_t w = weight_in(buf, len, ids[i]);

		if (i == 0 || w > best_w
		    || (w == best_w && ids[i] > ids[best])) {
			best_w = w;
			best = i;
		}
	}
	if (buf != stack) {
		mem_free(buf);
	}
	*owner = best;
	return 0;
}
