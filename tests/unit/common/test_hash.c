#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tests/unit/unit.h"
#include "common/hash.h"

/* The published SipHash-2-4 vectors: key 00 01 .. 0f, message 00 01 .. n-1
 * for n = 0 .. 63, as 64-bit values. */
static const uint64_t vectors[64] = {
	UINT64_C(0x726fdb47dd0e0e31),
	UINT64_C(0x74f839c593dc67fd),
	UINT64_C(0x0d6c8009d9a94f5a),
	UINT64_C(0x85676696d7fb7e2d),
	UINT64_C(0xcf2794e0277187b7),
	UINT64_C(0x18765564cd99a68d),
	UINT64_C(0xcbc9466e58fee3ce),
	UINT64_C(0xab0200f58b01d137),
	UINT64_C(0x93f5f5799a932462),
	UINT64_C(0x9e0082df0ba9e4b0),
	UINT64_C(0x7a5dbbc594ddb9f3),
	UINT64_C(0xf4b32f46226bada7),
	UINT64_C(0x751e8fbc860ee5fb),
	UINT64_C(0x14ea5627c0843d90),
	UINT64_C(0xf723ca908e7af2ee),
	UINT64_C(0xa129ca6149be45e5),
	UINT64_C(0x3f2acc7f57c29bdb),
	UINT64_C(0x699ae9f52cbe4794),
	UINT64_C(0x4bc1b3f0968dd39c),
	UINT64_C(0xbb6dc91da77961bd),
	UINT64_C(0xbed65cf21aa2ee98),
	UINT64_C(0xd0f2cbb02e3b67c7),
	UINT64_C(0x93536795e3a33e88),
	UINT64_C(0xa80c038ccd5ccec8),
	UINT64_C(0xb8ad50c6f649af94),
	UINT64_C(0xbce192de8a85b8ea),
	UINT64_C(0x17d835b85bbb15f3),
	UINT64_C(0x2f2e6163076bcfad),
	UINT64_C(0xde4daaaca71dc9a5),
	UINT64_C(0xa6a2506687956571),
	UINT64_C(0xad87a3535c49ef28),
	UINT64_C(0x32d892fad841c342),
	UINT64_C(0x7127512f72f27cce),
	UINT64_C(0xa7f32346f95978e3),
	UINT64_C(0x12e0b01abb051238),
	UINT64_C(0x15e034d40fa197ae),
	UINT64_C(0x314dffbe0815a3b4),
	UINT64_C(0x027990f029623981),
	UINT64_C(0xcadcd4e59ef40c4d),
	UINT64_C(0x9abfd8766a33735c),
	UINT64_C(0x0e3ea96b5304a7d0),
	UINT64_C(0xad0c42d6fc585992),
	UINT64_C(0x187306c89bc215a9),
	UINT64_C(0xd4a60abcf3792b95),
	UINT64_C(0xf935451de4f21df2),
	UINT64_C(0xa9538f0419755787),
	UINT64_C(0xdb9acddff56ca510),
	UINT64_C(0xd06c98cd5c0975eb),
	UINT64_C(0xe612a3cb9ecba951),
	UINT64_C(0xc766e62cfcadaf96),
	UINT64_C(0xee64435a9752fe72),
	UINT64_C(0xa192d576b245165a),
	UINT64_C(0x0a8787bf8ecb74b2),
	UINT64_C(0x81b3e73d20b49b6f),
	UINT64_C(0x7fa8220ba3b2ecea),
	UINT64_C(0x245731c13ca42499),
	UINT64_C(0xb78dbfaf3a8d83bd),
	UINT64_C(0xea1ad565322a1a0b),
	UINT64_C(0x60e61c23a3795013),
	UINT64_C(0x6606d7e446282b93),
	UINT64_C(0x6ca4ecb15c5f91e1),
	UINT64_C(0x9f626da15c9625f3),
	UINT64_C(0xe51b38608ef25f57),
	UINT64_C(0x958a324ceb064572),
};

static uint8_t key[16];
static uint8_t msg[64];

static void
setup(void)
{
	for (int i = 0; i < 16; i++) {
		key[i] = (uint8_t) i;
	}
	for (int i = 0; i < 64; i++) {
		msg[i] = (uint8_t) i;
	}
}

START_TEST(test_vector)
{
	uint64_t got = hash_sip(key, msg, (size_t) _i);

	ck_assert_msg(got == vectors[_i],
	    "length %d: got %016llx want %016llx", _i,
	    (unsigned long long) got, (unsigned long long) vectors[_i]);
}
END_TEST

START_TEST(test_empty_null)
{
	ck_assert(hash_sip(key, NULL, 0) == vectors[0]);
}
END_TEST

/* Peers' bytes come from arbitrary offsets in a read buffer. */
START_TEST(test_unaligned)
{
	uint8_t buf[64 + 8];
	uint8_t k[16 + 8];

	for (size_t off = 1; off < 8; off++) {
		memcpy(k + off, key, sizeof(key));
		for (size_t n = 0; n < 64; n++) {
			memcpy(buf + off, msg, n);
			ck_assert(
			    hash_sip(k + off, buf + off, n) == vectors[n]);
		}
	}
}
END_TEST

static uint64_t
openssl_siphash(const uint8_t k[16], const uint8_t *p, size_t n)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *ctx;
	size_t size = 8, outlen = 0;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};
	uint8_t out[8];
	uint64_t v = 0;

	ck_assert_ptr_nonnull(mac);
	ctx = EVP_MAC_CTX_new(mac);
	ck_assert_int_eq(EVP_MAC_init(ctx, k, 16, params), 1);
	ck_assert_int_eq(EVP_MAC_update(ctx, p, n), 1);
	ck_assert_int_eq(EVP_MAC_final(ctx, out, &outlen, sizeof(out)), 1);
	ck_assert_uint_eq(outlen, 8);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	for (int i = 7; i >= 0; i--) {
		v = (v << 8) | out[i];
	}
	return v;
}

/* The vectors stop at 63 bytes; the length enters the last word mod 256, so
 * longer inputs are checked against OpenSSL's independent implementation. */
START_TEST(test_long_inputs_match_openssl)
{
	static const size_t lens[]
	    = { 64, 255, 256, 257, 511, 512, 1000, 4099 };
	uint8_t k[16];
	uint8_t *buf = malloc(4099);

	for (size_t i = 0; i < 4099; i++) {
		buf[i] = (uint8_t) (i * 131 + 7);
	}
	for (size_t i = 0; i < 16; i++) {
		k[i] = (uint8_t) (0xa5 ^ (i * 17));
	}
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ck_assert(hash_sip(k, buf, lens[i])
		    == openssl_siphash(k, buf, lens[i]));
	}
	free(buf);
}
END_TEST

START_TEST(test_key_matters)
{
	uint8_t k[16];

	memcpy(k, key, sizeof(k));
	k[15] ^= 0x80;
	ck_assert(hash_sip(k, msg, 15) != vectors[15]);
	k[15] ^= 0x80;
	ck_assert(hash_sip(k, msg, 15) == vectors[15]);
}
END_TEST

/* Runs in its own process (Check forks per test), so the process key starts
 * at zero as the header promises. */
START_TEST(test_hash_bytes_seeding)
{
	static const uint8_t zero[16];
	const char *s = "room:lobby";
	uint64_t unseeded = hash_bytes(s, strlen(s));
	uint64_t first, second;

	ck_assert(unseeded == hash_sip(zero, s, strlen(s)));
	hash_seed_random();
	first = hash_bytes(s, strlen(s));
	ck_assert(first != unseeded);
	/* Same key, same input, same value: tables stay consistent. */
	ck_assert(hash_bytes(s, strlen(s)) == first);
	ck_assert(hash_bytes("room:lobbz", 10) != first);
	hash_seed_random();
	second = hash_bytes(s, strlen(s));
	ck_assert(second != first);
	ck_assert(hash_bytes(s, strlen(s)) == second);
}
END_TEST

static Suite *
hash_suite(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("siphash");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, test_vector, 0, 64);
	tcase_add_test(tc, test_empty_null);
	tcase_add_test(tc, test_unaligned);
	tcase_add_test(tc, test_long_inputs_match_openssl);
	tcase_add_test(tc, test_key_matters);
	tcase_add_test(tc, test_hash_bytes_seeding);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(hash_suite());
}
