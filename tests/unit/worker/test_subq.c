#include <check.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "worker/subq.h"

/* Answers in order take the entries in order. */
START_TEST(test_in_order)
{
	struct subq q;

	subq_init(&q);
	subq_push(&q, 10, 1);
	subq_push(&q, 20, 2);
	ck_assert_uint_eq(subq_take(&q, 10), 1);
	ck_assert_uint_eq(subq_take(&q, 20), 2);
	ck_assert_uint_eq(subq_take(&q, 20), 0);
	subq_fini(&q);
}
END_TEST

/* The race this exists for: SUB (serial 1), UNSUB, SUB (serial 2) of one
 * channel. The first answer is the first SUB's, not the second's. */
START_TEST(test_unsub_sub_same_channel)
{
	struct subq q;

	subq_init(&q);
	subq_push(&q, 10, 1);
	subq_push(&q, 10, 2);
	ck_assert_uint_eq(subq_take(&q, 10), 1);
	ck_assert_uint_eq(subq_take(&q, 10), 2);
	ck_assert_uint_eq(q.len, 0);
	subq_fini(&q);
}
END_TEST

/* An answer the broker could not send leaves its entry; later answers
 * still find theirs. */
START_TEST(test_lost_answer)
{
	struct subq q;

	subq_init(&q);
	subq_push(&q, 10, 1);
	subq_push(&q, 20, 2);
	subq_push(&q, 30, 3);
	ck_assert_uint_eq(subq_take(&q, 20), 2);
	ck_assert_uint_eq(subq_take(&q, 30), 3);
	ck_assert_uint_eq(q.len - q.head, 1);
	subq_clear(&q);
	ck_assert_uint_eq(subq_take(&q, 10), 0);
	subq_fini(&q);
}
END_TEST

/* Many SUBs (a resync), answered while more are sent: nothing is lost
 * when the array is compacted or grows, and a large empty array is
 * released. */
START_TEST(test_many)
{
	struct subq q;
	uint64_t next = 1;

	subq_init(&q);
	for (uint64_t i = 1; i <= 5000; i++) {
		subq_push(&q, i * 7, i);
		if (i % 3 == 0) {
			ck_assert_uint_eq(subq_take(&q, next * 7), next);
			next++;
		}
	}
	while (next <= 5000) {
		ck_assert_uint_eq(subq_take(&q, next * 7), next);
		next++;
	}
	ck_assert_uint_eq(q.len, 0);
	ck_assert_ptr_null(q.v);
	subq_fini(&q);
}
END_TEST

static Suite *
subq_suite(void)
{
	Suite *s = suite_create("subq");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_in_order);
	tcase_add_test(tc, test_unsub_sub_same_channel);
	tcase_add_test(tc, test_lost_answer);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(subq_suite());
}
