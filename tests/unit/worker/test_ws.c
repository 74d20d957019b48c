#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "common/mem.h"
#include "worker/ws.h"

/* The mask key of the RFC 6455 section 5.7 examples. */
#define RFC_KEY 0x37fa213dU
#define BIG     (1u << 20)

/* Frames built by the tests, concatenated as a client would send them. */
struct stream {
	uint8_t b[8192];
	size_t n;
};

/* Messages (and the final failure) seen by a reader, serialised so that two
 * runs over the same bytes can be compared. */
struct events {
	uint8_t log[1 << 17];
	size_t len;
	int nmsg;
	int fail;
	uint16_t code;
};

/* Returns an exact-size heap copy, so ASan catches any read past the end. */
static uint8_t *
dup_bytes(const void *p, size_t n)
{
	uint8_t *q = mem_alloc(n);

	if (n > 0) {
		memcpy(q, p, n);
	}
	return q;
}

/* Appends a masked client frame; fin == 0 makes it a non-final fragment. */
static void
add(struct stream *s, int fin, uint8_t op, const void *p, size_t n)
{
	size_t start = s->n;

	ck_assert_uint_le(s->n + ws_frame_size(n) + 4, sizeof(s->b));
	/* Vary the key so no two frames share a mask. */
	s->n += ws_encode_masked(s->b + start, (enum ws_opcode) op, p, n,
	    RFC_KEY + (uint32_t) start * 0x01010101U);
	if (!fin) {
		s->b[start] &= 0x7F;
	}
}

static void
add_str(struct stream *s, int fin, uint8_t op, const char *str)
{
	add(s, fin, op, str, strlen(str));
}

static void
add_raw(struct stream *s, const void *p, size_t n)
{
	ck_assert_uint_le(s->n + n, sizeof(s->b));
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void
ev_add(struct events *ev, const struct ws_msg *m)
{
	ck_assert_uint_le(ev->len + 5 + m->len, sizeof(ev->log));
	ev->log[ev->len++] = (uint8_t) m->opcode;
	memcpy(ev->log + ev->len, &m->len, 4);
	ev->len += 4;
	memcpy(ev->log + ev->len, m->data, m->len);
	ev->len += m->len;
	ev->nmsg++;
}

/* Reads everything pending, as a server does, dropping consumed bytes and
 * keeping the rest in an exact-size buffer. */
static void
drain(struct ws_reader *r, uint8_t **pend, size_t *plen, struct events *ev)
{
	struct ws_msg msg;
	enum ws_result res;
	uint16_t code;
	size_t used;

	for (;;) {
		res = ws_read(r, *pend, *plen, &used, &msg, &code);
		ck_assert_uint_le(used, *plen);
		if (res == WS_MSG) {
			ev_add(ev, &msg);
		}
		memmove(*pend, *pend + used, *plen - used);
		*plen -= used;
		*pend = mem_realloc(*pend, *plen);
		if (res == WS_FAIL) {
			ev->fail = 1;
			ev->code = code;
		}
		if (res != WS_MSG) {
			return;
		}
	}
}

/* Feeds s to a fresh reader: `first` bytes, then `step` bytes at a time. */
static void
feed(const uint8_t *s, size_t n, size_t first, size_t step, uint64_t max,
    struct events *ev)
{
	struct ws_reader r;
	uint8_t *pend = mem_alloc(0);
	size_t plen = 0, off = 0, chunk;

	memset(ev, 0, sizeof(*ev));
	ws_reader_init(&r, max);
	while (off < n && !ev->fail) {
		chunk = off == 0 ? first : step;
		chunk = chunk > n - off ? n - off : chunk;
		pend = mem_realloc(pend, plen + chunk);
		memcpy(pend + plen, s + off, chunk);
		plen += chunk;
		off += chunk;
		drain(&r, &pend, &plen, ev);
	}
	ws_reader_fini(&r);
	mem_free(pend);
}

/* Runs bytes through a fresh reader and expects it to fail with want. */
static void
expect_close(uint64_t max, const void *bytes, size_t n, uint16_t want)
{
	struct events ev;

	feed(bytes, n, n, n, max, &ev);
	ck_assert_int_eq(ev.fail, 1);
	ck_assert_uint_eq(ev.code, want);
}

/* Runs bytes through a fresh reader; expects exactly one message equal to
 * (op, p, n) and nothing else. */
static void
expect_msg(uint64_t max, const void *bytes, size_t blen, uint8_t op,
    const void *p, size_t n)
{
	struct events ev;

	feed(bytes, blen, blen, blen, max, &ev);
	ck_assert_int_eq(ev.fail, 0);
	ck_assert_int_eq(ev.nmsg, 1);
	ck_assert_uint_eq(ev.len, 5 + n);
	ck_assert_uint_eq(ev.log[0], op);
	if (n > 0) {
		ck_assert_mem_eq(ev.log + 5, p, n);
	}
}

static int
utf8(const void *p, size_t n)
{
	uint8_t *q = dup_bytes(p, n);
	int ok = ws_utf8_valid(q, n);

	mem_free(q);
	return ok;
}

START_TEST(test_header_sizes)
{
	static const struct {
		uint64_t len;
		size_t hlen;
		uint8_t hdr[10];
	} v[] = {
		{ 0, 2, { 0x82, 0x00 } },
		{ 125, 2, { 0x82, 0x7D } },
		{ 126, 4, { 0x82, 0x7E, 0x00, 0x7E } },
		{ 65535, 4, { 0x82, 0x7E, 0xFF, 0xFF } },
		{ 65536, 10, { 0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0 } },
		{ 0x0102030405060708ULL, 10,
		    { 0x82, 0x7F, 1, 2, 3, 4, 5, 6, 7, 8 } },
	};
	uint8_t out[WS_MAX_HEADER + 1];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(out, 0xAA, sizeof(out));
		ck_assert_uint_eq(
		    ws_header(out, WS_OP_BINARY, v[i].len), v[i].hlen);
		ck_assert_mem_eq(out, v[i].hdr, v[i].hlen);
		ck_assert_uint_eq(out[v[i].hlen], 0xAA);
	}
	ck_assert_uint_eq(ws_frame_size(0), 2);
	ck_assert_uint_eq(ws_frame_size(125), 127);
	ck_assert_uint_eq(ws_frame_size(126), 130);
	ck_assert_uint_eq(ws_frame_size(65535), 65539);
	ck_assert_uint_eq(ws_frame_size(65536), 65546);
}
END_TEST

START_TEST(test_header_opcodes)
{
	uint8_t out[WS_MAX_HEADER];

	ws_header(out, WS_OP_TEXT, 5);
	ck_assert_uint_eq(out[0], 0x81);
	ws_header(out, WS_OP_CLOSE, 2);
	ck_assert_uint_eq(out[0], 0x88);
	ws_header(out, WS_OP_PONG, 0);
	ck_assert_uint_eq(out[0], 0x8A);
}
END_TEST

START_TEST(test_encode_masked_rfc)
{
	static const uint8_t want[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
		0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	uint8_t out[32];

	ck_assert_uint_eq(ws_encode_masked(out, WS_OP_TEXT,
	                      (const uint8_t *) "Hello", 5, RFC_KEY),
	    sizeof(want));
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

/* Masks the way RFC 6455 5.3 words it, one byte at a time, as a reference
 * for the codec's word-at-a-time masking. */
static size_t
reference_frame(uint8_t *out, const uint8_t *p, size_t n, const uint8_t k[4])
{
	size_t hdr = ws_header(out, WS_OP_BINARY, n), i;

	out[1] |= 0x80;
	memcpy(out + hdr, k, 4);
	for (i = 0; i < n; i++) {
		out[hdr + 4 + i] = p[i] ^ k[i % 4];
	}
	return hdr + 4 + n;
}

START_TEST(test_mask_reference)
{
	static const uint8_t k[4] = { 0x9C, 0x01, 0xE7, 0x5A };
	uint8_t p[1030], want[1050], got[1050];
	size_t n, len;

	for (n = 0; n < sizeof(p); n++) {
		p[n] = (uint8_t) (n * 37 + 11);
	}
	for (n = 0; n < sizeof(p); n += n < 40 ? 1 : 331) {
		len = reference_frame(want, p, n, k);
		ck_assert_uint_eq(
		    ws_encode_masked(got, WS_OP_BINARY, p, n, 0x9C01E75AU),
		    len);
		ck_assert_mem_eq(got, want, len);
		expect_msg(BIG, want, len, WS_OP_BINARY, p, n);
	}
}
END_TEST

START_TEST(test_rfc_masked_hello)
{
	static const uint8_t f[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
		0x9f, 0x4d, 0x51, 0x58 };
	struct ws_reader r;
	struct ws_msg msg;
	uint8_t *buf = dup_bytes(f, sizeof(f));
	size_t used;
	uint16_t code;

	ws_reader_init(&r, BIG);
	ck_assert_int_eq(
	    ws_read(&r, buf, sizeof(f), &used, &msg, &code), WS_MSG);
	ck_assert_uint_eq(used, sizeof(f));
	ck_assert_int_eq(msg.opcode, WS_OP_TEXT);
	ck_assert_uint_eq(msg.len, 5);
	/* Unmasked in place: no copy for a whole frame. */
	ck_assert_ptr_eq(msg.data, buf + 6);
	ck_assert_mem_eq(msg.data, "Hello", 5);
	ck_assert_ptr_null(r.frag);
	ws_reader_fini(&r);
	mem_free(buf);
}
END_TEST

START_TEST(test_rfc_masked_pong_and_fragments)
{
	static const uint8_t pong[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
		0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	static const uint8_t frags[]
	    = { 0x01, 0x83, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x80,
		      0x82, 0x37, 0xfa, 0x21, 0x3d, 0x5b, 0x95 };

	expect_msg(BIG, pong, sizeof(pong), WS_OP_PONG, "Hello", 5);
	expect_msg(BIG, frags, sizeof(frags), WS_OP_TEXT, "Hello", 5);
}
END_TEST

/* 256 and 65536 bytes with hand-written 16- and 64-bit length headers and a
 * zero mask key (legal: the mask bit is what matters). */
START_TEST(test_hand_written_long_headers)
{
	static const uint8_t h16[] = { 0x82, 0xFE, 0x01, 0x00, 0, 0, 0, 0 };
	static const uint8_t h64[]
	    = { 0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t n16 = sizeof(h16) + 256, n64 = sizeof(h64) + 65536;
	uint8_t *f16 = mem_alloc(n16), *f64 = mem_alloc(n64);

	memcpy(f16, h16, sizeof(h16));
	memset(f16 + sizeof(h16), 'x', 256);
	memcpy(f64, h64, sizeof(h64));
	memset(f64 + sizeof(h64), 'y', 65536);
	expect_msg(BIG, f16, n16, WS_OP_BINARY, f16 + sizeof(h16), 256);
	expect_msg(BIG, f64, n64, WS_OP_BINARY, f64 + sizeof(h64), 65536);
	mem_free(f16);
	mem_free(f64);
}
END_TEST

static const size_t lengths[]
    = { 0, 1, 7, 8, 9, 17, 125, 126, 127, 1000, 65535, 65536, 70001 };
static const uint32_t keys[] = { RFC_KEY, 0, 0xFFFFFFFFU, 0x01020304U };

/* Every length class, masked with several keys, comes back intact and in
 * place, consuming exactly one frame. */
START_TEST(test_masked_lengths)
{
	size_t n = lengths[_i], fsize = ws_frame_size(n) + 4, i, k;
	uint8_t *payload = mem_alloc(n), *f = mem_alloc(fsize);
	struct ws_reader r;
	struct ws_msg msg;
	size_t used;
	uint16_t code;

	for (i = 0; i < n; i++) {
		payload[i] = (uint8_t) ('a' + (i * 7) % 26);
	}
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		ck_assert_uint_eq(
		    ws_encode_masked(f, WS_OP_TEXT, payload, n, keys[k]),
		    fsize);
		ck_assert_uint_eq(f[1] & 0x80, 0x80);
		ws_reader_init(&r, BIG);
		ck_assert_int_eq(
		    ws_read(&r, f, fsize, &used, &msg, &code), WS_MSG);
		ck_assert_uint_eq(used, fsize);
		ck_assert_int_eq(msg.opcode, WS_OP_TEXT);
		ck_assert_uint_eq(msg.len, n);
		ck_assert_ptr_eq(msg.data, f + fsize - n);
		if (n > 0) {
			ck_assert_mem_eq(msg.data, payload, n);
		}
		ws_reader_fini(&r);
	}
	mem_free(payload);
	mem_free(f);
}
END_TEST

/* Clients must mask: an unmasked frame of any length class is refused, and
 * the two first bytes are enough to tell. */
START_TEST(test_unmasked_rejected)
{
	static const uint8_t small[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };
	static const uint8_t mid[] = { 0x82, 0x7E, 0x01, 0x00 };
	static const uint8_t big[] = { 0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0 };
	static const uint8_t start[] = { 0x81, 0x05 };

	expect_close(BIG, small, sizeof(small), WS_CLOSE_PROTOCOL);
	expect_close(BIG, mid, sizeof(mid), WS_CLOSE_PROTOCOL);
	expect_close(BIG, big, sizeof(big), WS_CLOSE_PROTOCOL);
	expect_close(BIG, start, sizeof(start), WS_CLOSE_PROTOCOL);
}
END_TEST

static void
build_mixed(struct stream *s)
{
	uint8_t bin[300];
	size_t i;

	for (i = 0; i < sizeof(bin); i++) {
		bin[i] = (uint8_t) (i * 13);
	}
	memset(s, 0, sizeof(*s));
	add_str(s, 1, WS_OP_TEXT, "Hello");
	add(s, 1, WS_OP_BINARY, bin, sizeof(bin));
	add_str(s, 0, WS_OP_TEXT, "H\xC3\xA9");
	add_str(s, 1, WS_OP_PING, "x");
	add_str(s, 0, WS_OP_CONT, "llo ");
	add_str(s, 1, WS_OP_CONT, "w\xE2\x82\xAC");
	add_str(s, 1, WS_OP_TEXT, "");
	add_raw(s,
	    "\x88\x85\0\0\0\0\x03\xE8"
	    "bye",
	    11);
}

/* Feeding the same bytes in any two pieces, or one byte at a time, yields
 * the same messages as feeding them all at once. */
START_TEST(test_split_points)
{
	struct events all, part;
	struct stream s;
	size_t k;

	build_mixed(&s);
	feed(s.b, s.n, s.n, s.n, BIG, &all);
	ck_assert_int_eq(all.fail, 0);
	ck_assert_int_eq(all.nmsg, 6);
	for (k = 1; k < s.n; k++) {
		feed(s.b, s.n, k, s.n, BIG, &part);
		ck_assert_int_eq(part.fail, 0);
		ck_assert_uint_eq(part.len, all.len);
		ck_assert_mem_eq(part.log, all.log, all.len);
	}
	feed(s.b, s.n, 1, 1, BIG, &part);
	ck_assert_uint_eq(part.len, all.len);
	ck_assert_mem_eq(part.log, all.log, all.len);
}
END_TEST

/* The reference run of test_split_points, checked message by message. */
START_TEST(test_mixed_stream_contents)
{
	struct events got, want;
	struct stream s;
	uint8_t bin[300];
	struct ws_msg m;
	size_t i;

	for (i = 0; i < sizeof(bin); i++) {
		bin[i] = (uint8_t) (i * 13);
	}
	build_mixed(&s);
	feed(s.b, s.n, 7, 3, BIG, &got);
	memset(&want, 0, sizeof(want));
	m = (struct ws_msg) { WS_OP_TEXT, (const uint8_t *) "Hello", 5 };
	ev_add(&want, &m);
	m = (struct ws_msg) { WS_OP_BINARY, bin, sizeof(bin) };
	ev_add(&want, &m);
	m = (struct ws_msg) { WS_OP_PING, (const uint8_t *) "x", 1 };
	ev_add(&want, &m);
	m = (struct ws_msg) { WS_OP_TEXT,
		(const uint8_t *) "H\xC3\xA9llo w\xE2\x82\xAC", 11 };
	ev_add(&want, &m);
	m = (struct ws_msg) { WS_OP_TEXT, (const uint8_t *) "", 0 };
	ev_add(&want, &m);
	m = (struct ws_msg) { WS_OP_CLOSE,
		(const uint8_t *) "\x03\xE8"
		                  "bye",
		5 };
	ev_add(&want, &m);
	ck_assert_int_eq(got.fail, 0);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert_mem_eq(got.log, want.log, want.len);
}
END_TEST

/* A 64-bit length frame survives being split inside its header, key and
 * payload. */
START_TEST(test_split_64bit)
{
	size_t n = 70000, fsize = ws_frame_size(n) + 4, k;
	uint8_t *payload = mem_alloc(n), *f = mem_alloc(fsize);
	struct events ev;

	memset(payload, 0x5A, n);
	ws_encode_masked(f, WS_OP_BINARY, payload, n, 0xA1B2C3D4U);
	for (k = 1; k < 20; k++) {
		feed(f, fsize, k, 4099, BIG, &ev);
		ck_assert_int_eq(ev.nmsg, 1);
		ck_assert_uint_eq(ev.len, 5 + n);
		ck_assert_mem_eq(ev.log + 5, payload, n);
	}
	mem_free(payload);
	mem_free(f);
}
END_TEST

/* Several frames in one buffer come out one message per call, each call
 * consuming exactly its frame. */
START_TEST(test_several_frames_one_buffer)
{
	static const uint8_t ops[] = { WS_OP_TEXT, WS_OP_BINARY, WS_OP_PING,
		WS_OP_PONG, WS_OP_CLOSE };
	static const char *data[] = { "a", "bc", "", "d", "\x03\xE8" };
	struct ws_reader r;
	struct ws_msg msg;
	struct stream s;
	size_t off = 0, used, i;
	uint16_t code;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < 5; i++) {
		add_str(&s, 1, ops[i], data[i]);
	}
	ws_reader_init(&r, BIG);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(
		    ws_read(&r, s.b + off, s.n - off, &used, &msg, &code),
		    WS_MSG);
		ck_assert_uint_eq(used, ws_frame_size(strlen(data[i])) + 4);
		ck_assert_int_eq(msg.opcode, ops[i]);
		ck_assert_uint_eq(msg.len, strlen(data[i]));
		ck_assert_mem_eq(msg.data, data[i], msg.len);
		off += used;
	}
	ck_assert_uint_eq(off, s.n);
	ck_assert_int_eq(
	    ws_read(&r, s.b + off, 0, &used, &msg, &code), WS_NEED_MORE);
	ck_assert_uint_eq(used, 0);
	ws_reader_fini(&r);
}
END_TEST

/* A ping between fragments is answered on its own, before the text
 * completes; the fragment buffer is gone once the connection is idle. */
START_TEST(test_fragments_with_ping)
{
	struct ws_reader r;
	struct ws_msg msg;
	struct stream s;
	size_t used, first;
	uint16_t code;

	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_TEXT, "Hello");
	add_str(&s, 0, WS_OP_CONT, ", ");
	add_str(&s, 1, WS_OP_PING, "p");
	first = s.n;
	add_str(&s, 1, WS_OP_CONT, "world");
	ws_reader_init(&r, BIG);
	ck_assert_int_eq(ws_read(&r, s.b, s.n, &used, &msg, &code), WS_MSG);
	ck_assert_uint_eq(used, first);
	ck_assert_int_eq(msg.opcode, WS_OP_PING);
	ck_assert_uint_eq(msg.len, 1);
	ck_assert_mem_eq(msg.data, "p", 1);
	ck_assert_uint_eq(r.frag_opcode, WS_OP_TEXT);
	ck_assert_int_eq(
	    ws_read(&r, s.b + first, s.n - first, &used, &msg, &code), WS_MSG);
	ck_assert_uint_eq(used, s.n - first);
	ck_assert_int_eq(msg.opcode, WS_OP_TEXT);
	ck_assert_uint_eq(msg.len, 12);
	ck_assert_mem_eq(msg.data, "Hello, world", 12);
	ck_assert_int_eq(
	    ws_read(&r, s.b, 0, &used, &msg, &code), WS_NEED_MORE);
	ck_assert_ptr_null(r.frag);
	ws_reader_fini(&r);
}
END_TEST

/* Whole fragments are consumed even when the message is not complete. */
START_TEST(test_fragments_consumed_early)
{
	struct ws_reader r;
	struct ws_msg msg;
	struct stream s;
	size_t used, first;
	uint16_t code;

	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_BINARY, "ab");
	first = s.n;
	add_str(&s, 1, WS_OP_CONT, "cd");
	ws_reader_init(&r, BIG);
	ck_assert_int_eq(
	    ws_read(&r, s.b, s.n - 1, &used, &msg, &code), WS_NEED_MORE);
	ck_assert_uint_eq(used, first);
	ck_assert_int_eq(
	    ws_read(&r, s.b + first, s.n - first, &used, &msg, &code), WS_MSG);
	ck_assert_int_eq(msg.opcode, WS_OP_BINARY);
	ck_assert_uint_eq(msg.len, 4);
	ck_assert_mem_eq(msg.data, "abcd", 4);
	ws_reader_fini(&r);
}
END_TEST

static uint8_t *
build_fragments(size_t nfrag, size_t fl, const uint8_t *payload)
{
	size_t fsize = ws_frame_size(fl) + 4, i;
	uint8_t *s = mem_alloc(nfrag * fsize);

	for (i = 0; i < nfrag; i++) {
		ws_encode_masked(s + i * fsize, i ? WS_OP_CONT : WS_OP_BINARY,
		    payload + i * fl, fl, (uint32_t) i * 2654435761U);
		if (i + 1 < nfrag) {
			s[i * fsize] &= 0x7F;
		}
	}
	return s;
}

/* Many fragments grow the buffer up to exactly max_payload; one byte more
 * is refused. */
START_TEST(test_many_fragments)
{
	size_t nfrag = 100, fl = 1000, total = nfrag * (ws_frame_size(fl) + 4);
	uint8_t *want = mem_alloc(nfrag * fl), *s;
	struct ws_reader r;
	struct ws_msg msg;
	size_t used, i;
	uint16_t code;

	for (i = 0; i < nfrag * fl; i++) {
		want[i] = (uint8_t) (i % 251);
	}
	s = build_fragments(nfrag, fl, want);
	ws_reader_init(&r, nfrag * fl);
	ck_assert_int_eq(ws_read(&r, s, total, &used, &msg, &code), WS_MSG);
	ck_assert_uint_eq(used, total);
	ck_assert_int_eq(msg.opcode, WS_OP_BINARY);
	ck_assert_uint_eq(msg.len, nfrag * fl);
	ck_assert_mem_eq(msg.data, want, nfrag * fl);
	ck_assert_uint_le(r.frag_cap, nfrag * fl);
	ws_reader_fini(&r);
	mem_free(s);
	s = build_fragments(nfrag, fl, want);
	expect_close(nfrag * fl - 1, s, total, WS_CLOSE_TOO_BIG);
	mem_free(s);
	mem_free(want);
}
END_TEST

/* A small limit bounds the fragment buffer, not just the message. */
START_TEST(test_frag_buffer_bounded)
{
	struct ws_reader r;
	struct ws_msg msg;
	struct stream s;
	size_t used;
	uint16_t code;

	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_TEXT, "abc");
	ws_reader_init(&r, 10);
	ck_assert_int_eq(
	    ws_read(&r, s.b, s.n, &used, &msg, &code), WS_NEED_MORE);
	ck_assert_uint_eq(used, s.n);
	ck_assert_uint_eq(r.frag_len, 3);
	ck_assert_uint_le(r.frag_cap, 10);
	ck_assert_uint_ge(r.frag_cap, 3);
	ws_reader_fini(&r);
}
END_TEST

START_TEST(test_empty_fragments)
{
	struct stream s;

	memset(&s, 0, sizeof(s));
	add(&s, 0, WS_OP_BINARY, "", 0);
	add(&s, 0, WS_OP_CONT, "", 0);
	add(&s, 1, WS_OP_CONT, "", 0);
	expect_msg(BIG, s.b, s.n, WS_OP_BINARY, "", 0);
	memset(&s, 0, sizeof(s));
	add(&s, 0, WS_OP_TEXT, "", 0);
	add_str(&s, 1, WS_OP_CONT, "z");
	expect_msg(BIG, s.b, s.n, WS_OP_TEXT, "z", 1);
}
END_TEST

/* The SocketCluster ping and pong are empty text frames. */
START_TEST(test_empty_text)
{
	static const uint8_t f[] = { 0x81, 0x80, 1, 2, 3, 4 };
	struct ws_reader r;
	struct ws_msg msg;
	uint8_t *buf = dup_bytes(f, sizeof(f));
	size_t used;
	uint16_t code;

	ws_reader_init(&r, BIG);
	ck_assert_int_eq(
	    ws_read(&r, buf, sizeof(f), &used, &msg, &code), WS_MSG);
	ck_assert_uint_eq(used, sizeof(f));
	ck_assert_int_eq(msg.opcode, WS_OP_TEXT);
	ck_assert_uint_eq(msg.len, 0);
	ws_reader_fini(&r);
	mem_free(buf);
}
END_TEST

START_TEST(test_continuation_without_start)
{
	static const uint8_t fin[] = { 0x80, 0x80, 0, 0, 0, 0 };
	static const uint8_t more[] = { 0x00, 0x80, 0, 0, 0, 0 };
	struct stream s;

	expect_close(BIG, fin, sizeof(fin), WS_CLOSE_PROTOCOL);
	expect_close(BIG, more, sizeof(more), WS_CLOSE_PROTOCOL);
	/* The message before it was complete: nothing left to continue. */
	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_TEXT, "a");
	add_str(&s, 1, WS_OP_CONT, "b");
	add_str(&s, 1, WS_OP_CONT, "c");
	expect_close(BIG, s.b, s.n, WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(test_data_frame_during_fragments)
{
	static const uint8_t ops[] = { WS_OP_TEXT, WS_OP_BINARY };
	struct stream s;
	size_t i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++) {
			memset(&s, 0, sizeof(s));
			add_str(&s, 0, ops[i], "a");
			add_str(&s, 1, WS_OP_PING, "");
			add_str(&s, j, ops[j], "b");
			expect_close(BIG, s.b, s.n, WS_CLOSE_PROTOCOL);
		}
	}
}
END_TEST

START_TEST(test_rsv_bits)
{
	static const uint8_t rsv[] = { 0x40, 0x20, 0x10, 0x70 };
	uint8_t f[] = { 0, 0x81, 0, 0, 0, 0, 'a' };
	size_t i;

	for (i = 0; i < sizeof(rsv); i++) {
		f[0] = (uint8_t) (0x81 | rsv[i]);
		expect_close(BIG, f, sizeof(f), WS_CLOSE_PROTOCOL);
	}
	f[0] = 0x81;
	expect_msg(BIG, f, sizeof(f), WS_OP_TEXT, "a", 1);
}
END_TEST

START_TEST(test_reserved_opcodes)
{
	uint8_t f[] = { 0, 0x80, 0, 0, 0, 0 };
	unsigned op;

	for (op = 3; op <= 0xF; op++) {
		if (op >= 8 && op <= 0xA) {
			continue;
		}
		f[0] = (uint8_t) (0x80 | op);
		expect_close(BIG, f, sizeof(f), WS_CLOSE_PROTOCOL);
	}
}
END_TEST

START_TEST(test_control_not_final)
{
	static const uint8_t ops[] = { WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG };
	struct stream s;
	size_t i;

	for (i = 0; i < 3; i++) {
		memset(&s, 0, sizeof(s));
		add(&s, 0, ops[i], "", 0);
		expect_close(BIG, s.b, s.n, WS_CLOSE_PROTOCOL);
	}
}
END_TEST

/* A control payload over 125 bytes is refused from its first two bytes;
 * 125 is fine, and max_payload applies to messages, not control frames. */
START_TEST(test_control_too_long)
{
	static const uint8_t two[] = { 0x89, 0xFE };
	uint8_t p[126];
	struct stream s;

	memset(p, 'p', sizeof(p));
	expect_close(BIG, two, sizeof(two), WS_CLOSE_PROTOCOL);
	memset(&s, 0, sizeof(s));
	add(&s, 1, WS_OP_PING, p, 126);
	expect_close(BIG, s.b, s.n, WS_CLOSE_PROTOCOL);
	memset(&s, 0, sizeof(s));
	add(&s, 1, WS_OP_PONG, p, 125);
	expect_msg(BIG, s.b, s.n, WS_OP_PONG, p, 125);
	expect_msg(10, s.b, s.n, WS_OP_PONG, p, 125);
}
END_TEST

START_TEST(test_length_msb)
{
	static const uint8_t f[]
	    = { 0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t g[] = { 0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFF, 0xFF, 0xFF, 0, 0, 0, 0 };

	expect_close(UINT64_MAX, f, sizeof(f), WS_CLOSE_PROTOCOL);
	expect_close(UINT64_MAX, g, sizeof(g), WS_CLOSE_PROTOCOL);
}
END_TEST

/* 1009 comes from the header alone: no payload byte is in these buffers. */
START_TEST(test_too_big_from_header)
{
	static const uint8_t h7[] = { 0x81, 0x8B, 0, 0, 0, 0 };
	static const uint8_t h16[] = { 0x81, 0xFE, 0x00, 0x65, 0, 0, 0, 0 };
	static const uint8_t h64[]
	    = { 0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t h63[] = { 0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF,
		0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0 };
	uint8_t p[100];
	struct events ev;
	struct stream s;

	expect_close(10, h7, sizeof(h7), WS_CLOSE_TOO_BIG);
	expect_close(100, h16, sizeof(h16), WS_CLOSE_TOO_BIG);
	expect_close(BIG, h64, sizeof(h64), WS_CLOSE_TOO_BIG);
	expect_close(BIG, h63, sizeof(h63), WS_CLOSE_TOO_BIG);
	/* Allowed, so it waits for 2^63 - 1 bytes: no wrap-around. */
	feed(h63, sizeof(h63), sizeof(h63), 1, UINT64_MAX, &ev);
	ck_assert_int_eq(ev.fail, 0);
	ck_assert_int_eq(ev.nmsg, 0);
	memset(p, 'a', sizeof(p));
	memset(&s, 0, sizeof(s));
	add(&s, 1, WS_OP_TEXT, p, 100);
	expect_msg(100, s.b, s.n, WS_OP_TEXT, p, 100);
	expect_close(99, s.b, s.n, WS_CLOSE_TOO_BIG);
}
END_TEST

START_TEST(test_too_big_fragmented)
{
	static const uint8_t cont5[] = { 0x80, 0x85, 0, 0, 0, 0 };
	struct stream s;

	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_TEXT, "abcdef");
	add_raw(&s, cont5, sizeof(cont5));
	expect_close(10, s.b, s.n, WS_CLOSE_TOO_BIG);
	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_TEXT, "abcdef");
	add_str(&s, 1, WS_OP_CONT, "ghij");
	expect_msg(10, s.b, s.n, WS_OP_TEXT, "abcdefghij", 10);
}
END_TEST

static const char *bad_utf8[] = {
	"\xC0\xAF",         /* overlong '/' */
	"\xE0\x80\xAF",     /* overlong '/' */
	"\xF0\x80\x80\xAF", /* overlong '/' */
	"\xED\xA0\x80",     /* surrogate U+D800 */
	"\xED\xBF\xBF",     /* surrogate U+DFFF */
	"\xF4\x90\x80\x80", /* U+110000 */
	"\xF5\x80\x80\x80", /* beyond any plane */
	"\xE2\x82",         /* truncated euro sign */
	"\xF0\x9F\x98",     /* truncated emoji */
	"\x80",             /* lone continuation */
	"\xFF", "ok\xC3(",  /* bad continuation */
};

START_TEST(test_text_bad_utf8)
{
	const char *v = bad_utf8[_i];
	struct stream s;

	memset(&s, 0, sizeof(s));
	add_str(&s, 1, WS_OP_TEXT, v);
	expect_close(BIG, s.b, s.n, WS_CLOSE_BAD_DATA);
	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_TEXT, "x");
	add_str(&s, 1, WS_OP_CONT, v);
	expect_close(BIG, s.b, s.n, WS_CLOSE_BAD_DATA);
	/* Binary is not text: the same bytes pass. */
	memset(&s, 0, sizeof(s));
	add_str(&s, 1, WS_OP_BINARY, v);
	expect_msg(BIG, s.b, s.n, WS_OP_BINARY, v, strlen(v));
}
END_TEST

/* A character split across fragments is valid once joined; bytes that are
 * invalid only when joined are not. */
START_TEST(test_utf8_across_fragments)
{
	struct stream s;

	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_TEXT, "\xE2");
	add_str(&s, 0, WS_OP_CONT, "\x82");
	add_str(&s, 1, WS_OP_CONT, "\xAC!");
	expect_msg(BIG, s.b, s.n, WS_OP_TEXT, "\xE2\x82\xAC!", 4);
	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_TEXT, "\xE2\x82");
	add_str(&s, 1, WS_OP_CONT, "A");
	expect_close(BIG, s.b, s.n, WS_CLOSE_BAD_DATA);
}
END_TEST

START_TEST(test_utf8_vectors)
{
	static const char *good[] = { "", "a", "plain ascii text!", "\xC2\x80",
		"\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
		"\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
		"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80" };
	static const char *bad[]
	    = { "\xC1\xBF", "\xE0\x9F\xBF", "\xF0\x8F\xBF\xBF", "\xFE", "\xC2",
		      "\xC2\xC2\x80", "\xE2\x28\xA1", "\xF4\x8F\xBF" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(utf8(good[i], strlen(good[i])), "good %zu", i);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!utf8(bad[i], strlen(bad[i])), "bad %zu", i);
	}
	for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		ck_assert_msg(!utf8(bad_utf8[i], strlen(bad_utf8[i])),
		    "bad_utf8 %zu", i);
	}
	/* NUL is a valid character. */
	ck_assert(utf8("a\0b", 3));
}
END_TEST

/* The eight-byte ASCII fast path must not skip a bad byte at any offset,
 * nor a sequence that straddles two words. */
START_TEST(test_utf8_every_offset)
{
	uint8_t b[40];
	size_t i;

	for (i = 0; i < sizeof(b); i++) {
		memset(b, 'a', sizeof(b));
		b[i] = 0x80;
		ck_assert_msg(!utf8(b, sizeof(b)), "lone at %zu", i);
		if (i + 3 <= sizeof(b)) {
			memcpy(b + i, "\xE2\x82\xAC", 3);
			ck_assert_msg(utf8(b, sizeof(b)), "euro at %zu", i);
			memcpy(b + i, "\xED\xA0\x80", 3);
			ck_assert_msg(!utf8(b, sizeof(b)), "surr at %zu", i);
		}
	}
	memset(b, 'a', sizeof(b));
	memcpy(b + sizeof(b) - 2, "\xE2\x82", 2);
	ck_assert(!utf8(b, sizeof(b)));
}
END_TEST

/* Unmasking notes whether a frame is all ASCII so that such a frame skips
 * the UTF-8 check: a non-ASCII byte at any offset, in the eight-byte words
 * or the tail, must still be checked. */
START_TEST(test_text_frame_non_ascii_every_offset)
{
	char b[42];
	struct stream s;

	for (size_t i = 0; i + 3 <= 41; i++) {
		memset(b, 'a', 41);
		b[41] = '\0';
		b[i] = (char) 0x80;
		memset(&s, 0, sizeof(s));
		add_str(&s, 1, WS_OP_TEXT, b);
		expect_close(BIG, s.b, s.n, WS_CLOSE_BAD_DATA);
		memcpy(b + i, "\xE2\x82\xAC", 3);
		memset(&s, 0, sizeof(s));
		add_str(&s, 1, WS_OP_TEXT, b);
		expect_msg(BIG, s.b, s.n, WS_OP_TEXT, b, 41);
	}
}
END_TEST

static int
parse_close(const void *body, size_t n, uint16_t *code, size_t *rlen)
{
	uint8_t *b = dup_bytes(body, n);
	const uint8_t *reason = NULL;
	int rc = ws_parse_close(b, n, code, &reason, rlen);

	if (rc == 0) {
		ck_assert_ptr_eq(reason, b + (n ? 2 : 0));
	}
	mem_free(b);
	return rc;
}

START_TEST(test_parse_close)
{
	static const uint16_t bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016,
		1100, 2000, 2999, 5000, 65535 };
	static const uint16_t good[] = { 1000, 1001, 1002, 1003, 1007, 1009,
		1011, 3000, 3999, 4000, 4999 };
	uint8_t b[2];
	uint16_t code;
	size_t rlen, i;

	ck_assert_int_eq(parse_close("", 0, &code, &rlen), 0);
	ck_assert_uint_eq(code, WS_CLOSE_NO_STATUS);
	ck_assert_uint_eq(rlen, 0);
	code = 7;
	ck_assert_int_eq(parse_close("\x03", 1, &code, &rlen), -1);
	ck_assert_uint_eq(code, 7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b[0] = (uint8_t) (bad[i] >> 8);
		b[1] = (uint8_t) bad[i];
		ck_assert_msg(parse_close(b, 2, &code, &rlen) == -1, "%u",
		    (unsigned) bad[i]);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		b[0] = (uint8_t) (good[i] >> 8);
		b[1] = (uint8_t) good[i];
		ck_assert_int_eq(parse_close(b, 2, &code, &rlen), 0);
		ck_assert_uint_eq(code, good[i]);
		ck_assert_uint_eq(rlen, 0);
	}
}
END_TEST

START_TEST(test_parse_close_reason)
{
	uint16_t code;
	size_t rlen;

	ck_assert_int_eq(parse_close("\x0F\xA0"
	                             "bye",
	                     5, &code, &rlen),
	    0);
	ck_assert_uint_eq(code, 4000);
	ck_assert_uint_eq(rlen, 3);
	ck_assert_int_eq(
	    parse_close("\x03\xE8\xE2\x82\xAC", 5, &code, &rlen), 0);
	ck_assert_int_eq(parse_close("\x03\xE8\xC0\xAF", 4, &code, &rlen), -1);
	ck_assert_int_eq(parse_close("\x03\xE8\xE2\x82", 4, &code, &rlen), -1);
}
END_TEST

START_TEST(test_close_body)
{
	uint8_t out[125 + 8];
	char reason[201];
	uint16_t code;
	size_t n, rlen;

	ck_assert_uint_eq(ws_close_body(out, 1000, "bye"), 5);
	ck_assert_mem_eq(out,
	    "\x03\xE8"
	    "bye",
	    5);
	ck_assert_uint_eq(ws_close_body(out, 4008, ""), 2);
	ck_assert_mem_eq(out, "\x0F\xA8", 2);
	memset(reason, 'a', 200);
	reason[200] = '\0';
	memset(out, 0xAA, sizeof(out));
	ck_assert_uint_eq(ws_close_body(out, 4000, reason), 125);
	ck_assert_uint_eq(out[125], 0xAA);
	ck_assert_mem_eq(out + 2, reason, 123);
	reason[123] = '\0';
	ck_assert_uint_eq(ws_close_body(out, 4000, reason), 125);
	/* A euro sign across the limit is dropped whole. */
	memcpy(reason + 122, "\xE2\x82\xAC", 4);
	n = ws_close_body(out, 4000, reason);
	ck_assert_uint_eq(n, 124);
	ck_assert_int_eq(parse_close(out, n, &code, &rlen), 0);
	ck_assert_uint_eq(code, 4000);
	ck_assert_uint_eq(rlen, 122);
}
END_TEST

/* Codes reserved for local reporting never go on the wire. */
START_TEST(test_close_body_reserved)
{
	uint8_t out[125];

	ck_assert_uint_eq(ws_close_body(out, WS_CLOSE_NO_STATUS, "x"), 0);
	ck_assert_uint_eq(ws_close_body(out, WS_CLOSE_ABNORMAL, "x"), 0);
	ck_assert_uint_eq(ws_close_body(out, 1015, "x"), 0);
}
END_TEST

/* A close frame's body is handed over raw, for ws_parse_close. */
START_TEST(test_close_frame_raw)
{
	struct stream s;

	memset(&s, 0, sizeof(s));
	add(&s, 1, WS_OP_CLOSE, "\x03\xE8\xC0", 3);
	expect_msg(BIG, s.b, s.n, WS_OP_CLOSE, "\x03\xE8\xC0", 3);
}
END_TEST

/* Each prefix of a frame is "need more" without consuming anything (ASan
 * sees any read past the prefix); the whole frame is the message. */
static void
check_prefixes(
    const uint8_t *f, size_t n, size_t limit, const uint8_t *p, size_t plen)
{
	struct ws_reader r;
	struct ws_msg msg;
	uint8_t *buf;
	size_t k, used;
	uint16_t code;

	for (k = 0; k < n; k++) {
		if (k > limit && k != n - 1) {
			continue;
		}
		buf = dup_bytes(f, k);
		ws_reader_init(&r, BIG);
		used = 99;
		ck_assert_int_eq(
		    ws_read(&r, buf, k, &used, &msg, &code), WS_NEED_MORE);
		ck_assert_uint_eq(used, 0);
		ws_reader_fini(&r);
		mem_free(buf);
	}
	expect_msg(BIG, f, n, f[0] & 0x0F, p, plen);
}

START_TEST(test_truncated)
{
	static const size_t sizes[] = { 0, 5, 125, 126, 300, 65535, 65536 };
	static const uint8_t ops[] = { WS_OP_TEXT, WS_OP_BINARY, WS_OP_PING,
		WS_OP_PONG, WS_OP_CLOSE };
	size_t i, j, n, fsize;
	uint8_t *p, *f;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n = sizes[i];
		fsize = ws_frame_size(n) + 4;
		p = mem_alloc(n);
		memset(p, 'q', n);
		f = mem_alloc(fsize);
		for (j = 0; j < sizeof(ops); j++) {
			if (ops[j] >= WS_OP_CLOSE && n > 125) {
				continue;
			}
			ws_encode_masked(f, ops[j], p, n, RFC_KEY);
			check_prefixes(f, fsize, 300, p, n);
		}
		mem_free(p);
		mem_free(f);
	}
}
END_TEST

/* Cut anywhere in a fragmented message, the whole fragments before the cut
 * are consumed, and the rest completes the message. */
START_TEST(test_truncated_fragments)
{
	struct ws_reader r;
	struct ws_msg msg;
	struct stream s;
	size_t k, used, first;
	uint16_t code;
	uint8_t *buf;

	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_TEXT, "ab");
	first = s.n;
	add_str(&s, 1, WS_OP_CONT, "cd");
	for (k = 0; k < s.n; k++) {
		buf = dup_bytes(s.b, s.n);
		ws_reader_init(&r, BIG);
		ck_assert_int_eq(
		    ws_read(&r, buf, k, &used, &msg, &code), WS_NEED_MORE);
		ck_assert_uint_eq(used, k >= first ? first : 0);
		ck_assert_int_eq(
		    ws_read(&r, buf + used, s.n - used, &used, &msg, &code),
		    WS_MSG);
		ck_assert_uint_eq(msg.len, 4);
		ck_assert_mem_eq(msg.data, "abcd", 4);
		ws_reader_fini(&r);
		mem_free(buf);
	}
}
END_TEST

/* A reader is reusable after fini, with nothing of the old message left. */
START_TEST(test_reader_reuse)
{
	struct ws_reader r;
	struct ws_msg msg;
	struct stream s;
	size_t used;
	uint16_t code;

	memset(&s, 0, sizeof(s));
	add_str(&s, 0, WS_OP_TEXT, "ab");
	ws_reader_init(&r, BIG);
	ck_assert_int_eq(
	    ws_read(&r, s.b, s.n, &used, &msg, &code), WS_NEED_MORE);
	ck_assert_ptr_nonnull(r.frag);
	ws_reader_fini(&r);
	ck_assert_ptr_null(r.frag);
	ws_reader_init(&r, BIG);
	memset(&s, 0, sizeof(s));
	add_str(&s, 1, WS_OP_TEXT, "cd");
	ck_assert_int_eq(ws_read(&r, s.b, s.n, &used, &msg, &code), WS_MSG);
	ck_assert_mem_eq(msg.data, "cd", 2);
	ws_reader_fini(&r);
}
END_TEST

static TCase *
tc_read(void)
{
	TCase *tc = tcase_create("read");

	tcase_add_test(tc, test_mask_reference);
	tcase_add_test(tc, test_rfc_masked_hello);
	tcase_add_test(tc, test_rfc_masked_pong_and_fragments);
	tcase_add_test(tc, test_hand_written_long_headers);
	tcase_add_loop_test(
	    tc, test_masked_lengths, 0, sizeof(lengths) / sizeof(lengths[0]));
	tcase_add_test(tc, test_split_points);
	tcase_add_test(tc, test_mixed_stream_contents);
	tcase_add_test(tc, test_split_64bit);
	tcase_add_test(tc, test_several_frames_one_buffer);
	tcase_add_test(tc, test_fragments_with_ping);
	tcase_add_test(tc, test_fragments_consumed_early);
	tcase_add_test(tc, test_many_fragments);
	tcase_add_test(tc, test_frag_buffer_bounded);
	tcase_add_test(tc, test_empty_fragments);
	tcase_add_test(tc, test_empty_text);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_truncated_fragments);
	tcase_add_test(tc, test_reader_reuse);
	return tc;
}

static TCase *
tc_violations(void)
{
	TCase *tc = tcase_create("violations");

	tcase_add_test(tc, test_unmasked_rejected);
	tcase_add_test(tc, test_continuation_without_start);
	tcase_add_test(tc, test_data_frame_during_fragments);
	tcase_add_test(tc, test_rsv_bits);
	tcase_add_test(tc, test_reserved_opcodes);
	tcase_add_test(tc, test_control_not_final);
	tcase_add_test(tc, test_control_too_long);
	tcase_add_test(tc, test_length_msb);
	tcase_add_test(tc, test_too_big_from_header);
	tcase_add_test(tc, test_too_big_fragmented);
	return tc;
}

static TCase *
tc_text_and_close(void)
{
	TCase *tc = tcase_create("text_and_close");

	tcase_add_loop_test(
	    tc, test_text_bad_utf8, 0, sizeof(bad_utf8) / sizeof(bad_utf8[0]));
	tcase_add_test(tc, test_utf8_across_fragments);
	tcase_add_test(tc, test_utf8_vectors);
	tcase_add_test(tc, test_utf8_every_offset);
	tcase_add_test(tc, test_text_frame_non_ascii_every_offset);
	tcase_add_test(tc, test_parse_close);
	tcase_add_test(tc, test_parse_close_reason);
	tcase_add_test(tc, test_close_body);
	tcase_add_test(tc, test_close_body_reserved);
	tcase_add_test(tc, test_close_frame_raw);
	return tc;
}

static Suite *
ws_suite(void)
{
	Suite *s = suite_create("ws");
	TCase *enc = tcase_create("encode");

	tcase_add_test(enc, test_header_sizes);
	tcase_add_test(enc, test_header_opcodes);
	tcase_add_test(enc, test_encode_masked_rfc);
	suite_add_tcase(s, enc);
	suite_add_tcase(s, tc_read());
	suite_add_tcase(s, tc_violations());
	suite_add_tcase(s, tc_text_and_close());
	return s;
}

int
main(void)
{
	return unit_run(ws_suite());
}
