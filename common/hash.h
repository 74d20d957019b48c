/*
 * Keyed hashing (SipHash-2-4) for tables whose keys come from peers (channel
 * names), so a client cannot choose colliding keys; also the basis of
 * rendezvous hashing.
 */
#ifndef AG_HASH_H
#define AG_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Returns SipHash-2-4 of the n bytes at p under the 16-byte key k. */
uint64_t hash_sip(const uint8_t k[16], const void *p, size_t n);

/* Sets the process-wide key used by hash_bytes from OpenSSL's RAND_bytes.
 * Call once at start-up; before it the key is all zeroes. */
void hash_seed_random(void);

/* Returns SipHash-2-4 of the n bytes at p under the process-wide key. */
uint64_t hash_bytes(const void *p, size_t n);

#endif
