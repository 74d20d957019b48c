#include "hash.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/rand.h>

/* Zero until hash_seed_random, as the header promises. */
static uint8_t hash_key[16];

struct sip {
	uint64_t v0, v1, v2, v3;
};

static uint64_t
rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* Byte by byte so that input of any alignment and any host byte order gives
 * the little-endian word the algorithm is defined on. */
static uint64_t
load_le64(const uint8_t *p)
{
	uint64_t x = 0;

	for (int i = 7; i >= 0; i--) {
		x = (x << 8) | p[i];
	}
	return x;
}

static void
sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

/* The "2" of SipHash-2-4: two rounds per message word. */
static void
sip_compress(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

uint64_t
hash_sip(const uint8_t k[16], const void *p, size_t n)
{
	const uint8_t *in = p;
	uint64_t k0 = load_le64(k);
	uint64_t k1 = load_le64(k + 8);
	struct sip s = {
		k0 ^ UINT64_C(0x736f6d6570736575),
		k1 ^ UINT64_C(0x646f72616e646f6d),
		k0 ^ UINT64_C(0x6c7967656e657261),
		k1 ^ UINT64_C(0x7465646279746573),
	};
	size_t whole = n & ~(size_t) 7;
	/* The last word carries the length mod 256 in its top byte, under the
	 * 0..7 trailing bytes. */
	uint64_t last = (uint64_t) n << 56;

	for (size_t i = 0; i < whole; i += 8) {
		sip_compress(&s, load_le64(in + i));
	}
	for (size_t i = 0; i < n - whole; i++) {
		last |= (uint64_t) in[whole + i] << (8 * i);
	}
	sip_compress(&s, last);
	s.v2 ^= 0xff;
	for (int i = 0; i < 4; i++) {
		sip_round(&s);
	}
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

void
hash_seed_random(void)
{
	/* A predictable key would let peers choose colliding channel names,
	 * which is what the keyed hash exists to prevent: refuse to run. */
	if (RAND_bytes(hash_key, sizeof(hash_key)) != 1) {
		fprintf(
		    stderr, "agcluster: RAND_bytes failed seeding hash key\n");
		abort();
	}
}

uint64_t
hash_bytes(const void *p, size_t n)
{
	return hash_sip(hash_key, p, n);
}
