#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "common/mem.h"
#include "common/rbuf.h"
#include "common/strbuf.h"

static const char *
json_of(struct strbuf *sb, const char *s, size_t n)
{
	sb_reset(sb);
	sb_add_json_str(sb, s, n);
	return sb->data;
}

START_TEST(test_append_and_grow)
{
	struct strbuf sb;

	sb_init(&sb);
	for (int i = 0; i < 1000; i++) {
		sb_addc(&sb, (char) ('a' + i % 26));
	}
	ck_assert_uint_eq(sb.len, 1000);
	ck_assert_int_eq(sb.data[1000], '\0');
	ck_assert_int_eq(sb.data[27], 'b');
	sb_reset(&sb);
	ck_assert_uint_eq(sb.len, 0);
	sb_addf(&sb, "%d-%s", 42, "x");
	ck_assert_str_eq(sb.data, "42-x");
	sb_fini(&sb);
}
END_TEST

START_TEST(test_json_escape)
{
	struct strbuf sb;

	sb_init(&sb);
	ck_assert_str_eq(json_of(&sb, "plain", 5), "\"plain\"");
	ck_assert_str_eq(json_of(&sb, "a\"b\\c", 5), "\"a\\\"b\\\\c\"");
	ck_assert_str_eq(json_of(&sb, "\n\r\t", 3), "\"\\n\\r\\t\"");
	ck_assert_str_eq(json_of(&sb, "\x01\x1f", 2), "\"\\u0001\\u001f\"");
	ck_assert_str_eq(json_of(&sb, "\0x", 2), "\"\\u0000x\"");
	/* UTF-8 passes through untouched. */
	ck_assert_str_eq(json_of(&sb, "\xc3\xa9", 2), "\"\xc3\xa9\"");
	ck_assert_str_eq(json_of(&sb, "", 0), "\"\"");
	sb_fini(&sb);
}
END_TEST

START_TEST(test_steal)
{
	struct strbuf sb;
	size_t n = 0;
	char *p;

	sb_init(&sb);
	p = sb_steal(&sb, &n);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(n, 0);
	mem_free(p);
	sb_adds(&sb, "hello");
	p = sb_steal(&sb, &n);
	ck_assert_str_eq(p, "hello");
	ck_assert_uint_eq(n, 5);
	ck_assert_ptr_null(sb.data);
	mem_free(p);
}
END_TEST

START_TEST(test_rbuf_refs)
{
	struct rbuf *b = rbuf_copy("abc", 3);

	ck_assert_uint_eq(b->refs, 1);
	ck_assert_uint_eq(b->len, 3);
	ck_assert_ptr_eq(rbuf_ref(b), b);
	ck_assert_uint_eq(b->refs, 2);
	rbuf_unref(b);
	ck_assert_uint_eq(b->refs, 1);
	ck_assert_int_eq(memcmp(b->data, "abc", 3), 0);
	rbuf_unref(b);
	rbuf_unref(NULL);
}
END_TEST

/* Pressure is the count of small buffers alive, whatever the free list
 * holds, and ends as they are released; large buffers do not count. */
START_TEST(test_rbuf_pool_pressure)
{
	enum { N = 1024 };
	struct rbuf **v = mem_alloc(N * sizeof(*v));
	struct rbuf *big = rbuf_new(4096);
	int i, first = -1;

	ck_assert(!rbuf_pool_pressed());
	for (i = 0; i < N; i++) {
		v[i] = rbuf_new(100);
		if (first < 0 && rbuf_pool_pressed()) {
			first = i;
		}
	}
	ck_assert_int_gt(first, N / 2);
	ck_assert_int_lt(first, N);
	for (i = N - 1; i >= first; i--) {
		rbuf_unref(v[i]);
	}
	ck_assert(!rbuf_pool_pressed());
	v[first] = rbuf_new(100);
	ck_assert(rbuf_pool_pressed());
	for (i = 0; i <= first; i++) {
		rbuf_unref(v[i]);
	}
	ck_assert(!rbuf_pool_pressed());
	rbuf_unref(big);
	mem_free(v);
	rbuf_pool_fini();
}
END_TEST

/* The free lists keep what a busy moment released, and a trim frees
 * only what stayed unused since the previous one: what was taken back in
 * between stays. The sanitizer build keeps nothing. */
START_TEST(test_rbuf_pool_trim)
{
	enum { N = 10 };
	struct rbuf *v[N], *used[3];
	size_t keep = RBUF_POOLED ? N : 0;
	int i;

	rbuf_pool_fini();
	rbuf_pool_trim();
	for (i = 0; i < N; i++) {
		v[i] = i % 2 ? rbuf_block(200) : rbuf_new(10);
	}
	for (i = 0; i < N; i++) {
		rbuf_unref(v[i]);
	}
	ck_assert_uint_eq(rbuf_pool_held(), keep);
	rbuf_pool_trim(); /* released after the last trim: kept */
	ck_assert_uint_eq(rbuf_pool_held(), keep);
	for (i = 0; i < 3; i++) {
		v[i] = rbuf_block(200); /* three of the five blocks */
		used[i] = v[i];
	}
	for (i = 0; i < 3; i++) {
		rbuf_unref(v[i]);
	}
	rbuf_pool_trim(); /* the seven not taken since go */
	ck_assert_uint_eq(rbuf_pool_held(), RBUF_POOLED ? 3 : 0);
	for (i = 0; i < 3 && RBUF_POOLED; i++) {
		/* the kept blocks are the three used since */
		v[i] = rbuf_block(200);
		ck_assert(
		    v[i] == used[0] || v[i] == used[1] || v[i] == used[2]);
	}
	for (i = 0; i < 3 && RBUF_POOLED; i++) {
		rbuf_unref(v[i]);
	}
	rbuf_pool_trim(); /* taken since: all three stay */
	ck_assert_uint_eq(rbuf_pool_held(), RBUF_POOLED ? 3 : 0);
	rbuf_pool_trim(); /* then go */
	ck_assert_uint_eq(rbuf_pool_held(), 0);
	rbuf_pool_fini();
}
END_TEST

/* A block is empty with room for a socket's frames; one larger than a
 * block is exactly as large as asked; an empty buffer for a few bytes is
 * small. Each goes back to its own free list: a reused buffer has the
 * room of its kind. Blocks, even more than their free list holds, are no
 * pressure (stalled sockets hold theirs). */
START_TEST(test_rbuf_blocks)
{
	enum { N = 200 };
	struct rbuf *v[N];
	struct rbuf *b = rbuf_block(100), *huge = rbuf_block(10000), *s;
	int i;

	ck_assert_uint_eq(b->len, 0);
	ck_assert_uint_eq(rbuf_room(b), RBUF_BLOCK_ROOM);
	memset(b->data, 'x', rbuf_room(b)); /* all of it is usable */
	b->len = 100;
	ck_assert_uint_eq(rbuf_room(b), RBUF_BLOCK_ROOM - 100);
	ck_assert_uint_eq(huge->len, 0);
	ck_assert_uint_eq(rbuf_room(huge), 10000);
	rbuf_unref(b);
	rbuf_unref(huge);
	s = rbuf_new(10);
	ck_assert_uint_lt(s->cap, 256);
	b = rbuf_block(1);
	ck_assert_uint_eq(b->cap, RBUF_BLOCK_ROOM);
	rbuf_unref(s);
	rbuf_unref(b);
	s = rbuf_empty(30);
	ck_assert_uint_eq(s->len, 0);
	ck_assert_uint_lt(s->cap, 256);
	ck_assert_uint_ge(s->cap, 30);
	b = rbuf_empty(300);
	ck_assert_uint_eq(b->cap, RBUF_BLOCK_ROOM);
	rbuf_unref(s);
	rbuf_unref(b);

	for (i = 0; i < N; i++) {
		v[i] = rbuf_block(200);
		ck_assert(!rbuf_pool_pressed());
	}
	for (i = 0; i < N; i++) {
		rbuf_unref(v[i]);
	}
	rbuf_pool_fini();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("strbuf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_and_grow);
	tcase_add_test(tc, test_json_escape);
	tcase_add_test(tc, test_steal);
	tcase_add_test(tc, test_rbuf_refs);
	tcase_add_test(tc, test_rbuf_pool_pressure);
	tcase_add_test(tc, test_rbuf_pool_trim);
	tcase_add_test(tc, test_rbuf_blocks);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
