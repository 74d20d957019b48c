#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "common/envelope.h"

static struct envelope_writer w;

static void
setup(void)
{
	envelope_writer_init(&w);
}

static void
teardown(void)
{
	envelope_writer_fini(&w);
}

static struct envelope_span
span(const char *s)
{
	struct envelope_span sp = { s, strlen(s) };

	return sp;
}

static struct envelope_span
span_n(const void *p, size_t n)
{
	struct envelope_span sp = { p, n };

	return sp;
}

/* Returns an exact-size heap copy, so that ASan catches any read past the
 * end of the batch. */
static uint8_t *
dup_bytes(const void *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);

	if (n > 0) {
		memcpy(q, p, n);
	}
	return q;
}

/*
 * Decodes a whole batch into out[0..max). Returns the number of envelopes
 * when the batch ends cleanly, or -1 when it is malformed (*why is the
 * reason). The spans in out point into an exact-size copy of the bytes: with
 * keep, the copy is handed to the caller to free; without, it is freed and
 * only the spans' lengths may be used.
 */
static int
decode(const void *bytes, size_t len, const struct envelope_limits *lim,
    struct envelope *out, int max, const char **why, uint8_t **keep)
{
	struct envelope_batch b;
	struct envelope e;
	uint8_t *copy = dup_bytes(bytes, len);
	int n = 0;
	enum envelope_result r;

	*why = NULL;
	if (envelope_batch_open(copy, len, lim, &b) != ENVELOPE_OK) {
		ck_assert_ptr_nonnull(b.error);
		*why = b.error;
		free(copy);
		return -1;
	}
	while ((r = envelope_batch_next(&b, &e)) == ENVELOPE_NEXT) {
		ck_assert_int_lt(n, max);
		out[n++] = e;
	}
	if (keep != NULL) {
		*keep = copy;
	} else {
		free(copy);
	}
	if (r == ENVELOPE_MALFORMED) {
		ck_assert_ptr_nonnull(b.error);
		*why = b.error;
		return -1;
	}
	ck_assert_int_eq(r, ENVELOPE_END);
	ck_assert_ptr_null(b.error);
	return n;
}

static void
assert_span(struct envelope_span got, const void *p, size_t n)
{
	ck_assert_uint_eq(got.n, n);
	if (n > 0) {
		ck_assert(memcmp(got.p, p, n) == 0);
	}
}

/* One of each type, PUB both with and without a tag. */
static const struct envelope samples[] = {
	{ .type = ENVELOPE_HELLO,
	    .epoch = UINT64_C(0x0123456789abcdef),
	    .pid = 4242 },
	{ .type = ENVELOPE_SUB, .channel = { "room:lobby", 10 } },
	{ .type = ENVELOPE_UNSUB, .channel = { "room:lobby", 10 } },
	{ .type = ENVELOPE_PUB,
	    .channel = { "news", 4 },
	    .payload = { "{\"a\":1}", 7 },
	    .has_tag = 1,
	    .tag = UINT64_MAX },
	{ .type = ENVELOPE_PUB,
	    .channel = { "news", 4 },
	    .payload = { "[1,2,3]", 7 } },
	{ .type = ENVELOPE_DELIVER,
	    .channel = { "user/42", 7 },
	    .payload = { "\"hi\"", 4 } },
	{ .type = ENVELOPE_HEARTBEAT, .time_ms = UINT64_C(1700000000123) },
	{ .type = ENVELOPE_RESYNC_DONE },
	{ .type = ENVELOPE_SUBSCRIBED, .channel = { "room", 4 } },
};
#define NSAMPLES (int) (sizeof(samples) / sizeof(samples[0]))

static void
assert_same(const struct envelope *got, const struct envelope *want)
{
	ck_assert_int_eq(got->type, want->type);
	assert_span(got->channel, want->channel.p, want->channel.n);
	assert_span(got->payload, want->payload.p, want->payload.n);
	ck_assert_int_eq(got->has_tag, want->has_tag != 0);
	ck_assert_uint_eq(got->tag, want->has_tag ? want->tag : 0);
	ck_assert_uint_eq(got->epoch, want->epoch);
	ck_assert_uint_eq(got->pid, want->pid);
	ck_assert_uint_eq(got->time_ms, want->time_ms);
}

/* Decodes the finished batch and checks it against want[0..n). */
static void
assert_batch(const uint8_t *bytes, size_t len, uint64_t seq, uint32_t sender,
    const struct envelope *want, int n)
{
	struct envelope_batch b;
	struct envelope e;
	uint8_t *copy = dup_bytes(bytes, len);

	ck_assert_int_eq(
	    envelope_batch_open(copy, len, NULL, &b), ENVELOPE_OK);
	ck_assert_uint_eq(b.seq, seq);
	ck_assert_uint_eq(b.sender, sender);
	ck_assert_uint_eq(b.count, (uint32_t) n);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(envelope_batch_next(&b, &e), ENVELOPE_NEXT);
		assert_same(&e, &want[i]);
	}
	ck_assert_int_eq(envelope_batch_next(&b, &e), ENVELOPE_END);
	ck_assert_int_eq(envelope_batch_next(&b, &e), ENVELOPE_END);
	free(copy);
}

START_TEST(test_roundtrip_each_type_alone)
{
	const uint8_t *bytes;
	size_t len;

	envelope_begin(&w, 7, 3);
	envelope_put(&w, &samples[_i]);
	bytes = envelope_finish(&w, &len);
	ck_assert_uint_eq(len, envelope_writer_size(&w));
	ck_assert_uint_eq(envelope_writer_count(&w), 1);
	assert_batch(bytes, len, 7, 3, &samples[_i], 1);
}
END_TEST

START_TEST(test_roundtrip_shorthands)
{
	const uint8_t *bytes;
	size_t len;

	envelope_begin(&w, UINT64_MAX, UINT32_MAX);
	envelope_put_hello(&w, samples[0].epoch, samples[0].pid);
	envelope_put_sub(&w, span("room:lobby"));
	envelope_put_unsub(&w, span("room:lobby"));
	envelope_put_pub(&w, span("news"), span("{\"a\":1}"), 1, UINT64_MAX);
	envelope_put_pub(&w, span("news"), span("[1,2,3]"), 0, 99);
	envelope_put_deliver(&w, span("user/42"), span("\"hi\""));
	envelope_put_heartbeat(&w, samples[6].time_ms);
	envelope_put_resync_done(&w);
	envelope_put_subscribed(&w, span("room"));
	bytes = envelope_finish(&w, &len);
	assert_batch(bytes, len, UINT64_MAX, UINT32_MAX, samples, NSAMPLES);
}
END_TEST

START_TEST(test_batch_of_1000)
{
	static struct envelope want[1000];
	static char chans[1000][16];
	static char payloads[1000][32];
	const uint8_t *bytes;
	size_t len, size = 0;

	envelope_begin(&w, 1, 2);
	for (int i = 0; i < 1000; i++) {
		int cn = snprintf(chans[i], sizeof(chans[i]), "ch%d", i);
		int pn = snprintf(payloads[i], sizeof(payloads[i]),
		    "{\"n\":%d,\"s\":\"%0*d\"}", i, i % 10, 0);

		want[i] = (struct envelope) { .type = ENVELOPE_PUB,
			.channel = span_n(chans[i], (size_t) cn),
			.payload = span_n(payloads[i], (size_t) pn),
			.has_tag = i % 2,
			.tag = (uint64_t) i * 1000003 };
		envelope_put(&w, &want[i]);
		ck_assert_uint_gt(envelope_writer_size(&w), size);
		size = envelope_writer_size(&w);
		ck_assert_uint_eq(envelope_writer_count(&w), (uint32_t) i + 1);
	}
	bytes = envelope_finish(&w, &len);
	ck_assert_uint_eq(len, size);
	assert_batch(bytes, len, 1, 2, want, 1000);
}
END_TEST

START_TEST(test_arbitrary_bytes)
{
	char payload[256];
	const char chan[] = { 'a', '\0', 'b', (char) 0xff };
	struct envelope want[2];
	const uint8_t *bytes;
	size_t len;

	for (int i = 0; i < 256; i++) {
		payload[i] = (char) i;
	}
	want[0] = (struct envelope) { .type = ENVELOPE_DELIVER,
		.channel = span_n(chan, sizeof(chan)),
		.payload = span_n(payload, sizeof(payload)) };
	/* Large enough for the 16- and 32-bit length forms. */
	want[1] = want[0];
	want[1].payload = span_n(malloc(70000), 70000);
	memset((char *) want[1].payload.p, 0, 70000);
	envelope_begin(&w, 0, 0);
	envelope_put(&w, &want[0]);
	envelope_put(&w, &want[1]);
	bytes = envelope_finish(&w, &len);
	assert_batch(bytes, len, 0, 0, want, 2);
	free((char *) want[1].payload.p);
}
END_TEST

START_TEST(test_zero_length)
{
	struct envelope want[3] = {
		{ .type = ENVELOPE_SUB },
		{ .type = ENVELOPE_PUB,
		    .channel = { "", 0 },
		    .payload = { "", 0 } },
		{ .type = ENVELOPE_DELIVER, .channel = { "c", 1 } },
	};
	const uint8_t *bytes;
	size_t len;

	envelope_begin(&w, 0, 0);
	for (int i = 0; i < 3; i++) {
		envelope_put(&w, &want[i]);
	}
	bytes = envelope_finish(&w, &len);
	assert_batch(bytes, len, 0, 0, want, 3);
}
END_TEST

START_TEST(test_empty_batch)
{
	const uint8_t *bytes;
	size_t len;

	envelope_begin(&w, 5, 6);
	bytes = envelope_finish(&w, &len);
	ck_assert_uint_eq(envelope_writer_count(&w), 0);
	assert_batch(bytes, len, 5, 6, NULL, 0);
}
END_TEST

START_TEST(test_writer_reuse)
{
	const uint8_t *bytes;
	size_t len;

	envelope_begin(&w, 1, 1);
	envelope_put(&w, &samples[3]);
	envelope_put(&w, &samples[5]);
	envelope_writer_reset(&w);
	ck_assert_uint_eq(envelope_writer_size(&w), 0);
	ck_assert_uint_eq(envelope_writer_count(&w), 0);
	envelope_begin(&w, 2, 1);
	envelope_put(&w, &samples[1]);
	bytes = envelope_finish(&w, &len);
	assert_batch(bytes, len, 2, 1, &samples[1], 1);
	/* begin after finish starts over. */
	envelope_begin(&w, 3, 1);
	envelope_put(&w, &samples[6]);
	bytes = envelope_finish(&w, &len);
	assert_batch(bytes, len, 3, 1, &samples[6], 1);
}
END_TEST

START_TEST(test_broker_forwards_pub_as_deliver)
{
	struct envelope got[1], out;
	const char *why;
	uint8_t *keep;
	const uint8_t *bytes;
	size_t len;

	envelope_begin(&w, 1, 1);
	envelope_put(&w, &samples[3]);
	bytes = envelope_finish(&w, &len);
	ck_assert_int_eq(decode(bytes, len, NULL, got, 1, &why, &keep), 1);
	/* The payload goes out again without being parsed or copied first. */
	out = got[0];
	out.type = ENVELOPE_DELIVER;
	out.has_tag = 0;
	out.tag = 0;
	envelope_begin(&w, 9, 9);
	envelope_put(&w, &out);
	bytes = envelope_finish(&w, &len);
	free(keep);
	out.channel = samples[3].channel;
	out.payload = samples[3].payload;
	assert_batch(bytes, len, 9, 9, &out, 1);
}
END_TEST

/* Every proper prefix of a valid batch is malformed, never a shorter valid
 * batch, and never read past its end. */
START_TEST(test_every_truncation)
{
	char chan[40], payload[300];
	struct envelope all[NSAMPLES + 1];
	struct envelope out[NSAMPLES + 1];
	const char *why;
	const uint8_t *bytes;
	size_t len;

	memset(chan, 'c', sizeof(chan));
	memset(payload, 'p', sizeof(payload));
	memcpy(all, samples, sizeof(samples));
	/* str8 and bin16 length fields, so cuts fall inside them too. */
	all[NSAMPLES] = (struct envelope) { .type = ENVELOPE_PUB,
		.channel = span_n(chan, sizeof(chan)),
		.payload = span_n(payload, sizeof(payload)),
		.has_tag = 1,
		.tag = 1 << 20 };
	envelope_begin(&w, UINT64_C(1) << 40, 70000);
	for (int i = 0; i <= NSAMPLES; i++) {
		envelope_put(&w, &all[i]);
	}
	bytes = envelope_finish(&w, &len);
	ck_assert_int_eq(
	    decode(bytes, len, NULL, out, NSAMPLES + 1, &why, NULL),
	    NSAMPLES + 1);
	for (size_t cut = 0; cut < len; cut++) {
		int n
		    = decode(bytes, cut, NULL, out, NSAMPLES + 1, &why, NULL);

		ck_assert_msg(n == -1, "prefix of %zu bytes decoded", cut);
		ck_assert_str_eq(why, "truncated");
	}
}
END_TEST

/* A batch with only the given envelope bytes after a valid header whose
 * count is 1. */
#define HDR 0x94, 0x01, 0x00, 0x00, 0x01

struct bad {
	const char *name;
	uint8_t bytes[24];
	size_t len;
	const char *why;
};

#define BAD(name, why, ...)                                                   \
	{                                                                     \
		name, { __VA_ARGS__ }, sizeof((uint8_t[]) { __VA_ARGS__ }),   \
		    why                                                       \
	}

static const char *const ARR = "expected a msgpack array";
static const char *const UINT = "expected a msgpack uint";
static const char *const STR = "expected a msgpack str";
static const char *const BYTES = "expected a msgpack bin or str";
static const char *const RANGE = "integer out of range";
static const char *const HFIELDS = "header has the wrong number of fields";
static const char *const FIELDS = "envelope has the wrong number of fields";

static const struct bad bad[] = {
	BAD("header is a map", ARR, 0x84, 0x01, 0x00, 0x00, 0x00),
	BAD("header is a str", ARR, 0xa1, 'x'),
	BAD("header is nil", ARR, 0xc0),
	BAD("header is empty", HFIELDS, 0x90),
	BAD("version is a str", UINT, 0x94, 0xa1, '1', 0x00, 0x00, 0x00),
	BAD("version is negative", UINT, 0x94, 0xff, 0x00, 0x00, 0x00),
	BAD("version is int8", UINT, 0x94, 0xd0, 0x01, 0x00, 0x00, 0x00),
	BAD("version is float", UINT, 0x94, 0xca, 0x3f, 0x80, 0, 0, 0, 0, 0),
	BAD("version 0", "unknown version", 0x94, 0x00, 0x00, 0x00, 0x00),
	BAD("version 2", "unknown version", 0x94, 0x02, 0x00, 0x00, 0x00),
	/* A later version may reshape the header: its version is reported. */
	BAD("version 2, short header", "unknown version", 0x91, 0x02),
	BAD("version 2, long header", "unknown version", 0x97, 0x02, 0xc0),
	BAD("version 1, 3 fields", HFIELDS, 0x93, 0x01, 0x00, 0x00),
	BAD("version 1, 5 fields", HFIELDS, 0x95, 0x01, 0x00, 0x00, 0x00, 0),
	BAD("seq is nil", UINT, 0x94, 0x01, 0xc0, 0x00, 0x00),
	BAD("seq is true", UINT, 0x94, 0x01, 0xc3, 0x00, 0x00),
	BAD("seq is bin", UINT, 0x94, 0x01, 0xc4, 0x00, 0x00, 0x00),
	BAD("sender is str", UINT, 0x94, 0x01, 0x00, 0xa0, 0x00),
	BAD("sender over 32 bits", RANGE, 0x94, 0x01, 0x00, 0xcf, 0, 0, 0, 1,
	    0, 0, 0, 0, 0x00),
	BAD("count is nil", UINT, 0x94, 0x01, 0x00, 0x00, 0xc0),
	BAD("count is an array", UINT, 0x94, 0x01, 0x00, 0x00, 0x90),
	BAD("count over 32 bits", RANGE, 0x94, 0x01, 0x00, 0x00, 0xcf, 0, 0, 0,
	    1, 0, 0, 0, 0),
	BAD("envelope is a map", ARR, HDR, 0x81, 0x07, 0xc0),
	BAD("envelope is a uint", ARR, HDR, 0x07, 0x07),
	BAD("envelope is empty", "empty envelope", HDR, 0x90, 0xc0),
	BAD("type is a str", UINT, HDR, 0x91, 0xa1, '7'),
	BAD("type is negative", UINT, HDR, 0x91, 0xff),
	BAD("type is nil", UINT, HDR, 0x91, 0xc0),
	BAD("type is the reserved byte", UINT, HDR, 0x91, 0xc1),
	BAD("type 0", "unknown envelope type", HDR, 0x91, 0x00),
	BAD("type 9", "unknown envelope type", HDR, 0x91, 0x09),
	BAD("type 2^64-1", "unknown envelope type", HDR, 0x91, 0xcf, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	BAD("RESYNC_DONE with a field", FIELDS, HDR, 0x92, 0x07, 0xc0),
	BAD("SUB without channel", FIELDS, HDR, 0x91, 0x02),
	BAD("SUB with two channels", FIELDS, HDR, 0x93, 0x02, 0xa0, 0xa0),
	BAD("PUB without tag", FIELDS, HDR, 0x93, 0x04, 0xa0, 0xa0),
	BAD("SUB channel is bin", STR, HDR, 0x92, 0x02, 0xc4, 0x00),
	BAD("SUB channel is a uint", STR, HDR, 0x92, 0x02, 0x05),
	BAD("UNSUB channel is nil", STR, HDR, 0x92, 0x03, 0xc0),
	BAD("SUB channel is ext", STR, HDR, 0x92, 0x02, 0xd4, 0x01, 0x00),
	BAD("PUB channel is an array", STR, HDR, 0x94, 0x04, 0x90, 0xa0, 0xc0),
	BAD("PUB payload is a uint", BYTES, HDR, 0x94, 0x04, 0xa1, 'c', 0x05,
	    0xc0),
	BAD("PUB payload is an array", BYTES, HDR, 0x94, 0x04, 0xa1, 'c', 0x90,
	    0xc0),
	BAD("PUB payload is nil", BYTES, HDR, 0x94, 0x04, 0xa1, 'c', 0xc0,
	    0xc0),
	BAD("PUB tag is a str", UINT, HDR, 0x94, 0x04, 0xa1, 'c', 0xc4, 0x00,
	    0xa1, 't'),
	BAD("PUB tag is false", UINT, HDR, 0x94, 0x04, 0xa1, 'c', 0xc4, 0x00,
	    0xc2),
	BAD("PUB tag is negative", UINT, HDR, 0x94, 0x04, 0xa1, 'c', 0xc4,
	    0x00, 0xff),
	BAD("DELIVER payload is true", BYTES, HDR, 0x93, 0x05, 0xa1, 'c',
	    0xc3),
	BAD("DELIVER payload is a map", BYTES, HDR, 0x93, 0x05, 0xa1, 'c',
	    0x80),
	BAD("HELLO epoch is nil", UINT, HDR, 0x93, 0x01, 0xc0, 0x00),
	BAD("HELLO pid is a str", UINT, HDR, 0x93, 0x01, 0x00, 0xa0),
	BAD("HELLO pid over 32 bits", RANGE, HDR, 0x93, 0x01, 0x00, 0xcf, 0, 0,
	    0, 1, 0, 0, 0, 0),
	BAD("HEARTBEAT time is a double", UINT, HDR, 0x92, 0x06, 0xcb, 0x41, 0,
	    0, 0, 0, 0, 0, 0),
	BAD("HEARTBEAT time is int64", UINT, HDR, 0x92, 0x06, 0xd3, 0, 0, 0, 0,
	    0, 0, 0, 1),
	/* Declared sizes: rejected from the declaration, not the bytes. */
	BAD("channel declares 4 GiB", "channel too long", HDR, 0x92, 0x02,
	    0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'),
	BAD("payload bin declares 4 GiB", "payload too long", HDR, 0x94, 0x04,
	    0xa1, 'c', 0xc6, 0xff, 0xff, 0xff, 0xff, 0xc0),
	BAD("payload str declares 4 GiB", "payload too long", HDR, 0x93, 0x05,
	    0xa1, 'c', 0xdb, 0xff, 0xff, 0xff, 0xff, 0xc0),
	BAD("count declares 2^32-1", "too many envelopes", 0x94, 0x01, 0x00,
	    0x00, 0xce, 0xff, 0xff, 0xff, 0xff, 0x91, 0x07),
	BAD("count over the bytes", "truncated", 0x94, 0x01, 0x00, 0x00, 0xcd,
	    0x0f, 0xff, 0x91, 0x07),
	BAD("envelope declares 2^32-1 fields", FIELDS, HDR, 0xdd, 0xff, 0xff,
	    0xff, 0xff, 0x07),
	BAD("header declares 2^32-1 fields", HFIELDS, 0xdd, 0xff, 0xff, 0xff,
	    0xff, 0x01, 0x00, 0x00, 0x00),
	BAD("str declares more than present", "truncated", HDR, 0x92, 0x02,
	    0xa5, 'a', 'b'),
	BAD("uint64 cut short", "truncated", HDR, 0x92, 0x06, 0xcf, 0, 0),
	BAD("trailing byte", "bytes after the last envelope", HDR, 0x91, 0x07,
	    0xc0),
	BAD("count 0 with an envelope", "bytes after the last envelope", 0x94,
	    0x01, 0x00, 0x00, 0x00, 0x91, 0x07),
	BAD("count 1, no envelope", "truncated", HDR),
};
#define NBAD (int) (sizeof(bad) / sizeof(bad[0]))

START_TEST(test_malformed)
{
	const struct bad *c = &bad[_i];
	struct envelope out[2];
	const char *why;
	int n = decode(c->bytes, c->len, NULL, out, 2, &why, NULL);

	ck_assert_msg(n == -1, "%s: decoded", c->name);
	ck_assert_msg(strcmp(why, c->why) == 0, "%s: \"%s\", want \"%s\"",
	    c->name, why, c->why);
}
END_TEST

START_TEST(test_empty_input)
{
	struct envelope_batch b;
	struct envelope e;

	ck_assert_int_eq(
	    envelope_batch_open(NULL, 0, NULL, &b), ENVELOPE_MALFORMED);
	ck_assert_str_eq(b.error, "truncated");
	ck_assert_int_eq(envelope_batch_next(&b, &e), ENVELOPE_MALFORMED);
}
END_TEST

/* The writer uses minimal widths; other valid msgpack widths are read too. */
START_TEST(test_wide_encodings_accepted)
{
	static const uint8_t bytes[] = {
		0xdc, 0x00, 0x04,                  /* header as array16 */
		0xcf, 0, 0, 0, 0, 0, 0, 0, 0x01,   /* version as uint64 */
		0xcc, 0x05,                        /* seq as uint8 */
		0xcd, 0x00, 0x06,                  /* sender as uint16 */
		0xce, 0x00, 0x00, 0x00, 0x02,      /* count as uint32 */
		0xdd, 0x00, 0x00, 0x00, 0x02,      /* envelope as array32 */
		0xcc, 0x02,                        /* type SUB as uint8 */
		0xdb, 0x00, 0x00, 0x00, 0x01, 'c', /* channel as str32 */
		0x94, 0x04, 0xd9, 0x01, 'c',       /* PUB, channel str8 */
		0xa2, '{', '}',                    /* payload as a str */
		0xc0,                              /* no tag */
	};
	struct envelope out[2];
	const char *why;
	uint8_t *keep;

	ck_assert_int_eq(
	    decode(bytes, sizeof(bytes), NULL, out, 2, &why, &keep), 2);
	ck_assert_int_eq(out[0].type, ENVELOPE_SUB);
	assert_span(out[0].channel, "c", 1);
	ck_assert_int_eq(out[1].type, ENVELOPE_PUB);
	assert_span(out[1].channel, "c", 1);
	assert_span(out[1].payload, "{}", 2);
	ck_assert_int_eq(out[1].has_tag, 0);
	free(keep);
}
END_TEST

/* Builds a one-envelope batch with a channel of clen bytes and a payload
 * of plen bytes, then decodes it under lim. */
static int
decode_sized(size_t clen, size_t plen, const struct envelope_limits *lim,
    const char **why)
{
	char *chan = calloc(clen + 1, 1);
	char *payload = calloc(plen + 1, 1);
	struct envelope out[1];
	const uint8_t *bytes;
	size_t len;
	int n;

	envelope_begin(&w, 0, 0);
	envelope_put_pub(&w, span_n(chan, clen), span_n(payload, plen), 0, 0);
	bytes = envelope_finish(&w, &len);
	n = decode(bytes, len, lim, out, 1, why, NULL);
	free(chan);
	free(payload);
	return n;
}

START_TEST(test_limits)
{
	struct envelope_limits lim = { 8, 16, 3 };
	struct envelope out[4];
	const char *why;
	const uint8_t *bytes;
	size_t len;

	ck_assert_int_eq(decode_sized(8, 16, &lim, &why), 1);
	ck_assert_int_eq(decode_sized(9, 16, &lim, &why), -1);
	ck_assert_str_eq(why, "channel too long");
	ck_assert_int_eq(decode_sized(8, 17, &lim, &why), -1);
	ck_assert_str_eq(why, "payload too long");
	for (int n = 3; n <= 4; n++) {
		envelope_begin(&w, 0, 0);
		for (int i = 0; i < n; i++) {
			envelope_put_resync_done(&w);
		}
		bytes = envelope_finish(&w, &len);
		ck_assert_int_eq(decode(bytes, len, &lim, out, 4, &why, NULL),
		    n == 3 ? 3 : -1);
	}
	ck_assert_str_eq(why, "too many envelopes");
}
END_TEST

START_TEST(test_default_limits)
{
	const char *why;

	ck_assert_uint_eq(envelope_limits_default.max_channel, 1024);
	ck_assert_uint_eq(envelope_limits_default.max_payload, 100 << 20);
	ck_assert_uint_eq(envelope_limits_default.max_envelopes, 4096);
	ck_assert_int_eq(decode_sized(1024, 0, NULL, &why), 1);
	ck_assert_int_eq(decode_sized(1025, 0, NULL, &why), -1);
	ck_assert_str_eq(why, "channel too long");
}
END_TEST

/* The header's count disagrees with the envelopes present. */
START_TEST(test_count_mismatch)
{
	struct envelope out[4];
	const char *why;
	const uint8_t *bytes;
	uint8_t *copy;
	size_t len;

	envelope_begin(&w, 0, 0);
	envelope_put(&w, &samples[1]);
	envelope_put(&w, &samples[2]);
	bytes = envelope_finish(&w, &len);
	copy = dup_bytes(bytes, len);
	/* The writer's count is a uint32 in the header's last 4 bytes. */
	copy[w.count_at + 4] = 3;
	ck_assert_int_eq(decode(copy, len, NULL, out, 4, &why, NULL), -1);
	ck_assert_str_eq(why, "truncated");
	copy[w.count_at + 4] = 1;
	ck_assert_int_eq(decode(copy, len, NULL, out, 4, &why, NULL), -1);
	ck_assert_str_eq(why, "bytes after the last envelope");
	free(copy);
}
END_TEST

/* Envelopes before the bad one are returned; after MALFORMED it sticks. */
START_TEST(test_malformed_is_final)
{
	static const uint8_t bytes[] = { 0x94, 0x01, 0x00, 0x00, 0x03, 0x91,
		0x07, 0x91, 0x63, 0x91, 0x07 };
	struct envelope_batch b;
	struct envelope e;

	ck_assert_int_eq(
	    envelope_batch_open(bytes, sizeof(bytes), NULL, &b), ENVELOPE_OK);
	ck_assert_int_eq(envelope_batch_next(&b, &e), ENVELOPE_NEXT);
	ck_assert_int_eq(e.type, ENVELOPE_RESYNC_DONE);
	ck_assert_int_eq(envelope_batch_next(&b, &e), ENVELOPE_MALFORMED);
	ck_assert_str_eq(b.error, "unknown envelope type");
	ck_assert_int_eq(envelope_batch_next(&b, &e), ENVELOPE_MALFORMED);
	ck_assert_uint_eq(b.returned, 1);
	/* A failed open also makes next fail. */
	ck_assert_int_eq(
	    envelope_batch_open(bytes, 3, NULL, &b), ENVELOPE_MALFORMED);
	ck_assert_int_eq(envelope_batch_next(&b, &e), ENVELOPE_MALFORMED);
}
END_TEST

START_TEST(test_put_before_begin_aborts)
{
	envelope_put(&w, &samples[0]);
}
END_TEST

START_TEST(test_unknown_type_put_aborts)
{
	struct envelope e = { .type = (enum envelope_type) 9 };

	envelope_begin(&w, 0, 0);
	envelope_put(&w, &e);
}
END_TEST

START_TEST(test_finish_twice_aborts)
{
	size_t len;

	envelope_begin(&w, 0, 0);
	envelope_finish(&w, &len);
	envelope_finish(&w, &len);
}
END_TEST

static Suite *
envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *rt = tcase_create("roundtrip");
	TCase *bad_tc = tcase_create("malformed");
	TCase *misuse = tcase_create("misuse");

	tcase_add_checked_fixture(rt, setup, teardown);
	tcase_add_loop_test(rt, test_roundtrip_each_type_alone, 0, NSAMPLES);
	tcase_add_test(rt, test_roundtrip_shorthands);
	tcase_add_test(rt, test_batch_of_1000);
	tcase_add_test(rt, test_arbitrary_bytes);
	tcase_add_test(rt, test_zero_length);
	tcase_add_test(rt, test_empty_batch);
	tcase_add_test(rt, test_writer_reuse);
	tcase_add_test(rt, test_broker_forwards_pub_as_deliver);
	tcase_add_test(rt, test_wide_encodings_accepted);
	suite_add_tcase(s, rt);

	tcase_add_checked_fixture(bad_tc, setup, teardown);
	tcase_add_test(bad_tc, test_every_truncation);
	tcase_add_test(bad_tc, test_empty_input);
	tcase_add_loop_test(bad_tc, test_malformed, 0, NBAD);
	tcase_add_test(bad_tc, test_limits);
	tcase_add_test(bad_tc, test_default_limits);
	tcase_add_test(bad_tc, test_count_mismatch);
	tcase_add_test(bad_tc, test_malformed_is_final);
	suite_add_tcase(s, bad_tc);

	tcase_add_checked_fixture(misuse, setup, teardown);
	tcase_add_test_raise_signal(
	    misuse, test_put_before_begin_aborts, SIGABRT);
	tcase_add_test_raise_signal(
	    misuse, test_unknown_type_put_aborts, SIGABRT);
	tcase_add_test_raise_signal(misuse, test_finish_twice_aborts, SIGABRT);
	suite_add_tcase(s, misuse);
	return s;
}

int
main(void)
{
	return unit_run(envelope_suite());
}
