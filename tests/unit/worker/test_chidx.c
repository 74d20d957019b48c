#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "common/hash.h"
#include "worker/chidx.h"

struct sub {
	int id;
	struct chidx_list list;
};

static int firsts, lasts;

static void
on_first(void *arg, const struct chidx_chan *ch)
{
	firsts++;
}

static void
on_last(void *arg, const struct chidx_chan *ch)
{
	lasts++;
}

/* Every membership's back-pointers agree on both sides. */
static void
check_consistent(struct sub *subs, int n)
{
	for (int i = 0; i < n; i++) {
		struct chidx_list *l = &subs[i].list;

		for (uint32_t k = 0; k < l->n; k++) {
			struct chidx_chan *c = l->v[k].chan;
			struct chidx_sub *s = &c->subs[l->v[k].pos];

			ck_assert_ptr_eq(s->owner, &subs[i]);
			ck_assert_ptr_eq(s->list, l);
			ck_assert_uint_eq(s->pos, k);
		}
	}
}

START_TEST(test_subscribe_unsubscribe)
{
	struct chidx x;
	struct sub a = { 1, { 0 } }, b = { 2, { 0 } };
	struct chidx_chan *c;

	chidx_init(&x);
	x.on_first = on_first;
	x.on_last = on_last;
	firsts = lasts = 0;
	ck_assert_int_eq(chidx_subscribe(&x, &a, &a.list, "room", 4), 0);
	ck_assert_int_eq(chidx_subscribe(&x, &a, &a.list, "room", 4), 1);
	ck_assert_int_eq(chidx_subscribe(&x, &b, &b.list, "room", 4), 0);
	ck_assert_int_eq(firsts, 1);
	c = chidx_find(&x, "room", 4);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->nsubs, 2);
	ck_assert(chidx_holds(&x, &a.list, "room", 4));
	ck_assert(!chidx_holds(&x, &a.list, "roo", 3));
	ck_assert_int_eq(chidx_unsubscribe(&x, &a.list, "nope", 4), -1);
	ck_assert_int_eq(chidx_unsubscribe(&x, &a.list, "room", 4), 0);
	ck_assert_int_eq(chidx_unsubscribe(&x, &a.list, "room", 4), -1);
	ck_assert_int_eq(lasts, 0);
	ck_assert_int_eq(chidx_unsubscribe(&x, &b.list, "room", 4), 0);
	ck_assert_int_eq(lasts, 1);
	ck_assert_ptr_null(chidx_find(&x, "room", 4));
	ck_assert_uint_eq(x.nchans, 0);
	chidx_fini(&x);
}
END_TEST

/* A channel made again after its last subscriber left is a new generation:
 * a new serial, and the hash is hash_bytes of the name (what cluster.c
 * matches the broker's answers with). */
START_TEST(test_serial_per_generation)
{
	struct chidx x;
	struct sub a = { 1, { 0 } };
	uint64_t first;

	chidx_init(&x);
	chidx_subscribe(&x, &a, &a.list, "room", 4);
	first = chidx_find(&x, "room", 4)->serial;
	ck_assert_uint_ne(first, 0);
	ck_assert_uint_eq(
	    chidx_find(&x, "room", 4)->hash, hash_bytes("room", 4));
	chidx_unsubscribe(&x, &a.list, "room", 4);
	chidx_subscribe(&x, &a, &a.list, "room", 4);
	ck_assert_uint_ne(chidx_find(&x, "room", 4)->serial, first);
	chidx_subscribe(&x, &a, &a.list, "hall", 4);
	ck_assert_uint_ne(chidx_find(&x, "hall", 4)->serial,
	    chidx_find(&x, "room", 4)->serial);
	chidx_unsubscribe_all(&x, &a.list);
	chidx_list_fini(&a.list);
	chidx_fini(&x);
}
END_TEST

START_TEST(test_binary_names)
{
	struct chidx x;
	struct sub a = { 1, { 0 } };

	chidx_init(&x);
	ck_assert_int_eq(chidx_subscribe(&x, &a, &a.list, "a\0b", 3), 0);
	ck_assert_int_eq(chidx_subscribe(&x, &a, &a.list, "a\0c", 3), 0);
	ck_assert_int_eq(chidx_subscribe(&x, &a, &a.list, "", 0), 0);
	ck_assert_uint_eq(x.nchans, 3);
	ck_assert(chidx_holds(&x, &a.list, "", 0));
	chidx_unsubscribe_all(&x, &a.list);
	ck_assert_uint_eq(x.nchans, 0);
	ck_assert_uint_eq(a.list.n, 0);
	chidx_fini(&x);
}
END_TEST

START_TEST(test_random_against_model)
{
	enum { NSUB = 50, NCH = 40, STEPS = 200000 };
	static struct sub subs[NSUB];
	static char model[NSUB][NCH];
	struct chidx x;
	char name[16];

	hash_seed_random();
	chidx_init(&x);
	memset(model, 0, sizeof(model));
	for (int i = 0; i < NSUB; i++) {
		subs[i].id = i;
		chidx_list_init(&subs[i].list);
	}
	srand(7);
	for (int step = 0; step < STEPS; step++) {
		int s = rand() % NSUB, ch = rand() % NCH, op = rand() % 100;
		size_t n = (size_t) snprintf(name, sizeof(name), "ch%d", ch);

		if (op < 55) {
			ck_assert_int_eq(chidx_subscribe(&x, &subs[s],
			                     &subs[s].list, name, n),
			    model[s][ch]);
			model[s][ch] = 1;
		} else if (op < 98) {
			ck_assert_int_eq(
			    chidx_unsubscribe(&x, &subs[s].list, name, n),
			    model[s][ch] ? 0 : -1);
			model[s][ch] = 0;
		} else {
			chidx_unsubscribe_all(&x, &subs[s].list);
			memset(model[s], 0, NCH);
		}
	}
	check_consistent(subs, NSUB);
	for (int ch = 0; ch < NCH; ch++) {
		size_t n = (size_t) snprintf(name, sizeof(name), "ch%d", ch);
		struct chidx_chan *c = chidx_find(&x, name, n);
		uint32_t want = 0;

		for (int s = 0; s < NSUB; s++) {
			want += (uint32_t) model[s][ch];
		}
		ck_assert_uint_eq(c ? c->nsubs : 0, want);
	}
	for (int i = 0; i < NSUB; i++) {
		chidx_unsubscribe_all(&x, &subs[i].list);
	}
	ck_assert_uint_eq(x.nchans, 0);
	chidx_fini(&x);
}
END_TEST

START_TEST(test_many_channels_grow)
{
	struct chidx x;
	struct sub a = { 1, { 0 } };
	char name[16];

	chidx_init(&x);
	for (int i = 0; i < 5000; i++) {
		size_t n = (size_t) snprintf(name, sizeof(name), "c%d", i);

		ck_assert_int_eq(chidx_subscribe(&x, &a, &a.list, name, n), 0);
	}
	ck_assert_uint_eq(x.nchans, 5000);
	ck_assert(x.nbuckets >= 5000);
	ck_assert(chidx_holds(&x, &a.list, "c4999", 5));
	chidx_unsubscribe_all(&x, &a.list);
	chidx_fini(&x);
}
END_TEST

/* The hint answers as chidx_find does: the same name from the cache, a
 * different name or any destroyed channel since by a lookup (a destroyed
 * channel is never touched: AddressSanitizer would see it). */
START_TEST(test_find_hinted)
{
	struct chidx x;
	struct sub a = { 1, { 0 } }, b = { 2, { 0 } };
	struct chidx_hint hint = { 0 };
	struct chidx_chan *room, *hall;

	chidx_init(&x);
	chidx_subscribe(&x, &a, &a.list, "room", 4);
	chidx_subscribe(&x, &b, &b.list, "hall", 4);
	room = chidx_find(&x, "room", 4);
	hall = chidx_find(&x, "hall", 4);
	ck_assert_ptr_eq(chidx_find_hinted(&x, "room", 4, &hint), room);
	ck_assert_ptr_eq(hint.chan, room);
	ck_assert_ptr_eq(chidx_find_hinted(&x, "room", 4, &hint), room);
	ck_assert_ptr_eq(chidx_find_hinted(&x, "hall", 4, &hint), hall);
	ck_assert_ptr_null(chidx_find_hinted(&x, "roo", 3, &hint));
	ck_assert_ptr_null(chidx_find_hinted(&x, "nope", 4, &hint));
	ck_assert_ptr_eq(chidx_find_hinted(&x, "room", 4, &hint), room);
	/* Another channel destroyed: looked up again, still the same. */
	chidx_unsubscribe(&x, &b.list, "hall", 4);
	ck_assert_ptr_eq(chidx_find_hinted(&x, "room", 4, &hint), room);
	/* The hinted channel destroyed: gone, then a new generation. */
	chidx_unsubscribe(&x, &a.list, "room", 4);
	ck_assert_ptr_null(chidx_find_hinted(&x, "room", 4, &hint));
	ck_assert_ptr_eq(chidx_find_hinted(&x, "room", 4, &hint), NULL);
	chidx_subscribe(&x, &b, &b.list, "room", 4);
	ck_assert_ptr_eq(chidx_find_hinted(&x, "room", 4, &hint),
	    chidx_find(&x, "room", 4));
	chidx_unsubscribe(&x, &b.list, "room", 4);
	chidx_subscribe(&x, &a, &a.list, "hall", 4);
	ck_assert_ptr_null(chidx_find_hinted(&x, "room", 4, &hint));
	chidx_unsubscribe_all(&x, &a.list);
	chidx_list_fini(&a.list);
	chidx_list_fini(&b.list);
	chidx_fini(&x);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("chidx");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_subscribe_unsubscribe);
	tcase_add_test(tc, test_serial_per_generation);
	tcase_add_test(tc, test_binary_names);
	tcase_add_test(tc, test_random_against_model);
	tcase_add_test(tc, test_many_channels_grow);
	tcase_add_test(tc, test_find_hinted);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
