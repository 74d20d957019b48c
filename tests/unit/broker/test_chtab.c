#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "broker/chtab.h"
#include "common/hash.h"

START_TEST(test_add_remove)
{
	struct chtab t;
	const struct chtab_chan *c;

	chtab_init(&t, 3);
	ck_assert_int_eq(chtab_add(&t, "room", 4, 0), 1);
	ck_assert_int_eq(chtab_add(&t, "room", 4, 0), 0);
	ck_assert_int_eq(chtab_add(&t, "room", 4, 2), 1);
	ck_assert_int_eq(chtab_add(&t, "room", 4, 3), -1);
	c = chtab_find(&t, "room", 4);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->count, 2);
	ck_assert(chtab_has(&t, c, 0));
	ck_assert(!chtab_has(&t, c, 1));
	ck_assert(chtab_has(&t, c, 2));
	ck_assert(!chtab_has(&t, c, 99));
	ck_assert_int_eq(chtab_remove(&t, "room", 4, 1), 0);
	ck_assert_int_eq(chtab_remove(&t, "room", 4, 0), 1);
	ck_assert_int_eq(chtab_remove(&t, "room", 4, 2), 1);
	/* The last worker gone, the channel is gone. */
	ck_assert_ptr_null(chtab_find(&t, "room", 4));
	ck_assert_uint_eq(t.nchans, 0);
	chtab_fini(&t);
}
END_TEST

START_TEST(test_many_workers_and_remove_worker)
{
	struct chtab t;
	char name[32];

	chtab_init(&t, 200);
	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t) snprintf(name, sizeof(name), "c%d", i);

		ck_assert_int_eq(chtab_add(&t, name, n, 130), 1);
		if (i % 2 == 0) {
			ck_assert_int_eq(chtab_add(&t, name, n, 7), 1);
		}
	}
	ck_assert_uint_eq(t.nchans, 3000);
	/* Worker 130 says HELLO again: it leaves every channel; those only
	 * it wanted disappear. */
	ck_assert_uint_eq(chtab_remove_worker(&t, 130), 3000);
	ck_assert_uint_eq(t.nchans, 1500);
	ck_assert_ptr_null(chtab_find(&t, "c1", 2));
	ck_assert(chtab_has(&t, chtab_find(&t, "c0", 2), 7));
	ck_assert(!chtab_has(&t, chtab_find(&t, "c0", 2), 130));
	ck_assert_uint_eq(chtab_remove_worker(&t, 130), 0);
	ck_assert_uint_eq(chtab_remove_worker(&t, 7), 1500);
	ck_assert_uint_eq(t.nchans, 0);
	chtab_fini(&t);
}
END_TEST

START_TEST(test_binary_names)
{
	struct chtab t;

	chtab_init(&t, 1);
	ck_assert_int_eq(chtab_add(&t, "a\0b", 3, 0), 1);
	ck_assert_int_eq(chtab_add(&t, "a\0c", 3, 0), 1);
	ck_assert_int_eq(chtab_add(&t, "", 0, 0), 1);
	ck_assert_uint_eq(t.nchans, 3);
	ck_assert_ptr_nonnull(chtab_find(&t, "", 0));
	ck_assert_ptr_null(chtab_find(&t, "a", 1));
	chtab_fini(&t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("chtab");
	TCase *tc = tcase_create("core");

	hash_seed_random();
	tcase_add_test(tc, test_add_remove);
	tcase_add_test(tc, test_many_workers_and_remove_worker);
	tcase_add_test(tc, test_binary_names);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
