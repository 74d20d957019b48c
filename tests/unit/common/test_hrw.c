#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "common/hrw.h"

/*
 * Expected values computed by an independent SipHash-2-4 implementation from
 * the rule in hrw.h. Every process of a cluster must agree on them: if this
 * table breaks, a rolling upgrade would split channel ownership.
 */
static const char *const names[5]
    = { "broker-0", "broker-1", "broker-2", "broker-3", "broker-4" };
static const uint64_t name_ids[5] = {
	UINT64_C(0xf587b77f0d4a4e75),
	UINT64_C(0x069055815f18340e),
	UINT64_C(0xca0de83e6c57ebd3),
	UINT64_C(0x6cd208f090f589b7),
	UINT64_C(0x4476d3a7c81ea770),
};

/* Owner index among the first 3, 4 and 5 of names[]. "a300" stands for 300
 * bytes of 'a', longer than the stack buffer. */
static const struct {
	const char *chan;
	size_t len;
	int owner[3];
} owners[] = {
	{ "", 0, { 2, 2, 2 } },
	{ "room:lobby", 10, { 1, 1, 1 } },
	{ "user/42", 7, { 0, 0, 0 } },
	{ "news", 4, { 0, 3, 3 } },
	{ "chat\0nul", 8, { 1, 3, 3 } },
	{ "orders:eu-west-1", 16, { 1, 1, 4 } },
	{ "ticker:BTC-USD", 14, { 0, 0, 0 } },
	{ "presence:team-7", 15, { 0, 0, 0 } },
	{ "a300", 300, { 1, 3, 3 } },
	{ "x", 1, { 1, 1, 1 } },
	{ "game:1234:moves", 15, { 0, 0, 0 } },
	{ "notifications/alice", 19, { 2, 2, 2 } },
};
#define NOWNERS (sizeof(owners) / sizeof(owners[0]))

#define NCHANNELS 100000

static char long_chan[300];

static const char *
chan_bytes(int i)
{
	return strcmp(owners[i].chan, "a300") == 0 ? long_chan
	                                           : owners[i].chan;
}

static void
setup(void)
{
	memset(long_chan, 'a', sizeof(long_chan));
}

static size_t
owner_of(const uint64_t *ids, size_t n, const void *chan, size_t len)
{
	size_t o = SIZE_MAX;

	ck_assert_int_eq(hrw_owner(ids, n, chan, len, &o), 0);
	ck_assert_uint_lt(o, n);
	return o;
}

static size_t
owner_num(const uint64_t *ids, size_t n, int i)
{
	char chan[32];
	int len = snprintf(chan, sizeof(chan), "channel:%d", i);

	return owner_of(ids, n, chan, (size_t) len);
}

START_TEST(test_node_ids_fixed)
{
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(
		    hrw_node_id(names[i], strlen(names[i])), name_ids[i]);
	}
	ck_assert_uint_eq(hrw_node_id("tcp://10.0.0.1:7000", 19),
	    UINT64_C(0x78abcea1abf05857));
}
END_TEST

START_TEST(test_weights_fixed)
{
	/* Pins the byte layout: id little-endian, then the channel. */
	ck_assert_uint_eq(hrw_weight(name_ids[0], "room:lobby", 10),
	    UINT64_C(0xb9479ae0ee562d41));
	ck_assert_uint_eq(hrw_weight(name_ids[1], long_chan, 300),
	    UINT64_C(0xc060fd66a59c63f1));
	ck_assert_uint_eq(
	    hrw_weight(0, NULL, 0), UINT64_C(0x46c633c19ff346ab));
}
END_TEST

START_TEST(test_owners_fixed)
{
	const char *chan = chan_bytes(_i);

	for (int k = 0; k < 3; k++) {
		size_t n = (size_t) k + 3;

		ck_assert_msg(owner_of(name_ids, n, chan, owners[_i].len)
		        == (size_t) owners[_i].owner[k],
		    "channel %d over %zu nodes", _i, n);
	}
}
END_TEST

START_TEST(test_owner_is_max_weight)
{
	/* hrw_owner and hrw_weight agree, on the stack and the heap path. */
	const char *chan = chan_bytes(_i);
	size_t len = owners[_i].len;
	size_t o = owner_of(name_ids, 5, chan, len);

	for (size_t j = 0; j < 5; j++) {
		ck_assert_uint_le(hrw_weight(name_ids[j], chan, len),
		    hrw_weight(name_ids[o], chan, len));
	}
}
END_TEST

START_TEST(test_order_independent)
{
	uint64_t rev[5];

	for (int j = 0; j < 5; j++) {
		rev[j] = name_ids[4 - j];
	}
	for (int i = 0; i < 2000; i++) {
		size_t a = owner_num(name_ids, 5, i);
		size_t b = owner_num(rev, 5, i);

		ck_assert_uint_eq(name_ids[a], rev[b]);
	}
}
END_TEST

START_TEST(test_empty_set)
{
	size_t o = 77;

	ck_assert_int_eq(hrw_owner(NULL, 0, "x", 1, &o), HRW_EMPTY);
	ck_assert_uint_eq(o, 77);
}
END_TEST

START_TEST(test_duplicate_ids_first_wins)
{
	uint64_t ids[3] = { 5, 5, 5 };

	for (int i = 0; i < 100; i++) {
		ck_assert_uint_eq(owner_num(ids, 3, i), 0);
	}
}
END_TEST

START_TEST(test_balance)
{
	size_t per[4] = { 0 };

	for (int i = 0; i < NCHANNELS; i++) {
		per[owner_num(name_ids, 4, i)]++;
	}
	for (int j = 0; j < 4; j++) {
		ck_assert_msg(per[j] >= 23000 && per[j] <= 27000,
		    "node %d owns %zu of %d", j, per[j], NCHANNELS);
	}
}
END_TEST

START_TEST(test_add_node_moves_only_to_it)
{
	size_t moved = 0;

	for (int i = 0; i < NCHANNELS; i++) {
		size_t before = owner_num(name_ids, 4, i);
		size_t after = owner_num(name_ids, 5, i);

		if (after != before) {
			ck_assert_uint_eq(after, 4);
			moved++;
		}
	}
	ck_assert_msg(moved >= 18000 && moved <= 22000, "%zu of %d moved",
	    moved, NCHANNELS);
}
END_TEST

START_TEST(test_remove_node_moves_only_its_channels)
{
	/* Nodes 0, 1, 3, 4 of the five: node 2 removed. */
	const uint64_t rest[4]
	    = { name_ids[0], name_ids[1], name_ids[3], name_ids[4] };
	size_t moved = 0;

	for (int i = 0; i < NCHANNELS; i++) {
		uint64_t before = name_ids[owner_num(name_ids, 5, i)];
		uint64_t after = rest[owner_num(rest, 4, i)];

		if (before != name_ids[2]) {
			ck_assert_uint_eq(after, before);
		} else {
			moved++;
		}
	}
	ck_assert_msg(
	    moved >= 18000 && moved <= 22000, "node 2 had %zu", moved);
}
END_TEST

static Suite *
hrw_suite(void)
{
	Suite *s = suite_create("hrw");
	TCase *fixed = tcase_create("fixed");
	TCase *props = tcase_create("properties");

	tcase_add_unchecked_fixture(fixed, setup, NULL);
	tcase_add_test(fixed, test_node_ids_fixed);
	tcase_add_test(fixed, test_weights_fixed);
	tcase_add_loop_test(fixed, test_owners_fixed, 0, NOWNERS);
	tcase_add_loop_test(fixed, test_owner_is_max_weight, 0, NOWNERS);
	suite_add_tcase(s, fixed);

	tcase_set_timeout(props, 60);
	tcase_add_test(props, test_order_independent);
	tcase_add_test(props, test_empty_set);
	tcase_add_test(props, test_duplicate_ids_first_wins);
	tcase_add_test(props, test_balance);
	tcase_add_test(props, test_add_node_moves_only_to_it);
	tcase_add_test(props, test_remove_node_moves_only_its_channels);
	suite_add_tcase(s, props);
	return s;
}

int
main(void)
{
	return unit_run(hrw_suite());
}
