#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "common/mem.h"
#include "tools/agbench_wire.h"
#include "worker/http.h"
#include "worker/ws.h"

/* The accept value for agbench's fixed key (RFC 6455 section 1.3). */
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define MAX_PAYLOAD   (1u << 20)

/* The length classes of a frame header: 7-bit, 16-bit and 64-bit lengths,
 * each at and around its boundaries. */
static const size_t lengths[] = { 0, 1, 125, 126, 127, 65535, 65536 };

#define NLENGTHS (sizeof(lengths) / sizeof(lengths[0]))

/* ck_assert records its location on every pass, which costs a write; in
 * loops of many thousands of steps this one costs only when it fails. */
#define FAST_ASSERT(expr, ...)                                                \
	do {                                                                  \
		if (!(expr)) {                                                \
			ck_assert_msg(expr, __VA_ARGS__);                     \
		}                                                             \
	} while (0)

/* Returns an exact-size heap copy, so ASan catches any read past the end. */
static void *
dup_bytes(const void *p, size_t n)
{
	/* mem_alloc(0) may return NULL; one byte keeps a real allocation,
	 * and the callers never pass more than n to the code under test. */
	uint8_t *q = mem_alloc(n > 0 ? n : 1);

	if (n > 0) {
		memcpy(q, p, n);
	}
	return q;
}

static void
fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		p[i] = (uint8_t) (i * 131u + seed + (i >> 8));
	}
}

/* The mask key as the four bytes agbench puts on the wire, read as the
 * big-endian number ws_encode_masked() takes. */
static uint32_t
mask_be(uint32_t mask)
{
	uint8_t k[4];

	memcpy(k, &mask, 4);
	return (uint32_t) k[0] << 24 | (uint32_t) k[1] << 16
	    | (uint32_t) k[2] << 8 | k[3];
}

static size_t
expect_header_len(size_t n)
{
	return n < 126 ? 6 : n <= 0xffff ? 8 : 14;
}

/* ---- the upgrade ---- */

START_TEST(test_upgrade_request_text)
{
	char out[512];
	static const char want[] = "GET /socketcluster/ HTTP/1.1\r\n"
	                           "Host: 127.0.0.1:8000\r\n"
	                           "Upgrade: websocket\r\n"
	                           "Connection: Upgrade\r\n"
	                           "Sec-WebSocket-Key: "
	                           "dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                           "Sec-WebSocket-Version: 13\r\n"
	                           "\r\n";
	size_t n = agbench_wire_upgrade_request(
	    out, sizeof(out), "127.0.0.1", 8000, "/socketcluster/");

	ck_assert_uint_eq(n, sizeof(want) - 1);
	ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(test_upgrade_request_cap)
{
	char out[512];
	char small[512];
	size_t n = agbench_wire_upgrade_request(
	    out, sizeof(out), "example.org", 443, "/ws");

	ck_assert_uint_gt(n, 0);
	/* Room for the text and its NUL: it fits. */
	memset(small, '#', sizeof(small));
	ck_assert_uint_eq(agbench_wire_upgrade_request(
	                      small, n + 1, "example.org", 443, "/ws"),
	    n);
	ck_assert_str_eq(small, out);
	ck_assert_int_eq(small[n + 1], '#');
	/* One byte short, or none at all: it does not, and writes nothing
	 * past cap. */
	memset(small, '#', sizeof(small));
	ck_assert_uint_eq(
	    agbench_wire_upgrade_request(small, n, "example.org", 443, "/ws"),
	    0);
	ck_assert_int_eq(small[n], '#');
	memset(small, '#', sizeof(small));
	ck_assert_uint_eq(
	    agbench_wire_upgrade_request(small, 0, "example.org", 443, "/ws"),
	    0);
	ck_assert_int_eq(small[0], '#');
}
END_TEST

/* The server's own parser and handshake decision accept agbench's request. */
START_TEST(test_upgrade_request_server_accepts)
{
	char out[512];
	struct http_req req;
	struct http_decision d;
	struct http_policy pol = { .ws_path = "/socketcluster/",
		.health_path = "/health-check",
		.origins = "*:*",
		.ready_path = NULL };
	size_t n = agbench_wire_upgrade_request(
	    out, sizeof(out), "10.0.0.7", 8000, "/socketcluster/");
	char *copy = dup_bytes(out, n);
	size_t used = 0;
	int status = 0;

	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(http_parse(copy, n, &req, &used, &status), HTTP_DONE);
	ck_assert_uint_eq(used, n);
	ck_assert_uint_eq(req.path.n, strlen("/socketcluster/"));
	ck_assert(memcmp(req.path.p, "/socketcluster/", req.path.n) == 0);
	ck_assert_uint_eq(req.host.n, strlen("10.0.0.7:8000"));
	ck_assert(memcmp(req.host.p, "10.0.0.7:8000", req.host.n) == 0);
	http_decide(&req, &pol, &d);
	ck_assert_int_eq(d.verdict, HTTP_UPGRADE);
	ck_assert_int_eq(d.status, 101);
	ck_assert_str_eq(d.accept, SAMPLE_ACCEPT);
	mem_free(copy);
}
END_TEST

/* The 101 the server writes, as conn.c writes it, followed by a frame. */
START_TEST(test_upgrade_response_101)
{
	static const char head[]
	    = "HTTP/1.1 101 Switching Protocols\r\n"
	      "Upgrade: websocket\r\n"
	      "Connection: Upgrade\r\n"
	      "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n";
	char buf[256];
	char *copy;
	size_t hlen = sizeof(head) - 1;
	size_t used = 0;
	size_t n;

	memcpy(buf, head, hlen);
	n = hlen + ws_header((uint8_t *) buf + hlen, WS_OP_TEXT, 2);
	memcpy(buf + n, "{}", 2);
	n += 2;
	copy = dup_bytes(buf, n);
	ck_assert_int_eq(
	    agbench_wire_upgrade_response(copy, n, &used), AGBENCH_WIRE_OK);
	ck_assert_uint_eq(used, hlen);
	mem_free(copy);

	/* Exactly the head, too. */
	used = 0;
	copy = dup_bytes(head, hlen);
	ck_assert_int_eq(
	    agbench_wire_upgrade_response(copy, hlen, &used), AGBENCH_WIRE_OK);
	ck_assert_uint_eq(used, hlen);
	mem_free(copy);
}
END_TEST

/* The server's http_response() 101, cut at every byte: MORE until the blank
 * line is complete. */
START_TEST(test_upgrade_response_prefixes)
{
	char extra[256];
	char out[512];
	size_t n, k, used;

	snprintf(extra, sizeof(extra),
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n",
	    SAMPLE_ACCEPT);
	n = http_response(out, sizeof(out), 101, extra, NULL);
	ck_assert_uint_gt(n, 4);
	for (k = 0; k <= n; k++) {
		char *copy = dup_bytes(out, k);
		int r;
		used = 12345;
		r = agbench_wire_upgrade_response(copy, k, &used);
		if (k < n) {
			ck_assert_msg(r == AGBENCH_WIRE_MORE,
			    "prefix %zu of %zu: %d", k, n, r);
			ck_assert_uint_eq(used, 12345);
		} else {
			ck_assert_int_eq(r, AGBENCH_WIRE_OK);
			ck_assert_uint_eq(used, n);
		}
		mem_free(copy);
	}
}
END_TEST

/* Any other status fails, as soon as the status line says so; no prefix of
 * such a response is ever taken for a 101. */
START_TEST(test_upgrade_response_other_status)
{
	static const int statuses[] = { 200, 400, 401, 403, 405, 501 };
	static const char *const raw[] = {
		"HTTP/1.0 101 Switching Protocols\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n",
		"http/1.1 101 Switching Protocols\r\n\r\n",
		"SSH-2.0-OpenSSH_9.2p1\r\n\r\n",
	};
	char out[1024];
	size_t i, k, n, used;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0])
	         + sizeof(raw) / sizeof(raw[0]);
	     i++) {
		if (i < sizeof(statuses) / sizeof(statuses[0])) {
			n = http_response(out, sizeof(out), statuses[i], NULL,
			    "Bad Request");
		} else {
			n = strlen(
			    raw[i - sizeof(statuses) / sizeof(statuses[0])]);
			memcpy(out,
			    raw[i - sizeof(statuses) / sizeof(statuses[0])],
			    n);
		}
		ck_assert_uint_gt(n, 12);
		for (k = 0; k <= n; k++) {
			char *copy = dup_bytes(out, k);
			int r = agbench_wire_upgrade_response(copy, k, &used);
			ck_assert_msg(r != AGBENCH_WIRE_OK,
			    "response %zu prefix %zu taken for a 101", i, k);
			if (k >= 12) {
				ck_assert_msg(r == AGBENCH_WIRE_FAIL,
				    "response %zu prefix %zu: %d", i, k, r);
			}
			mem_free(copy);
		}
	}
}
END_TEST

/* ---- frames agbench writes ---- */

START_TEST(test_header_lengths)
{
	size_t n = lengths[_i];
	uint8_t h[AGBENCH_WIRE_MAX_HEADER + 2];
	uint32_t mask = 0xa1b2c3d4u;
	size_t hl = agbench_wire_header_len(n);
	size_t i;

	ck_assert_uint_eq(hl, expect_header_len(n));
	ck_assert_uint_le(hl, AGBENCH_WIRE_MAX_HEADER);
	/* The server's header for the same length, plus the mask key. */
	ck_assert_uint_eq(hl, ws_frame_size(n) - n + 4);
	memset(h, 0xee, sizeof(h));
	ck_assert_uint_eq(
	    agbench_wire_header_encode(h, WS_OP_BINARY, n, mask), hl);
	ck_assert_uint_eq(h[0], 0x80 | WS_OP_BINARY);
	ck_assert_uint_eq(h[1] & 0x80, 0x80);
	if (n < 126) {
		ck_assert_uint_eq(h[1] & 0x7f, n);
	} else if (n <= 0xffff) {
		ck_assert_uint_eq(h[1] & 0x7f, 126);
		ck_assert_uint_eq((size_t) h[2] << 8 | h[3], n);
	} else {
		uint64_t v = 0;
		ck_assert_uint_eq(h[1] & 0x7f, 127);
		for (i = 0; i < 8; i++) {
			v = v << 8 | h[2 + i];
		}
		ck_assert_uint_eq(v, n);
	}
	ck_assert(memcmp(h + hl - 4, &mask, 4) == 0);
	/* Nothing written past the header. */
	ck_assert_uint_eq(h[hl], 0xee);
}
END_TEST

/* agbench's frame is byte for byte the server codec's client frame with the
 * same key bytes. */
START_TEST(test_encode_matches_server_masked)
{
	size_t n = lengths[_i];
	uint32_t mask = 0x5ec0de42u + (uint32_t) n;
	uint8_t *p = mem_alloc(n + 1);
	uint8_t *a = mem_alloc(n + AGBENCH_WIRE_MAX_HEADER);
	uint8_t *b = mem_alloc(ws_frame_size(n) + 4);
	size_t alen, blen;

	fill(p, n, 7);
	alen = agbench_wire_frame_encode(a, WS_OP_BINARY, p, n, mask);
	blen = ws_encode_masked(b, WS_OP_BINARY, p, n, mask_be(mask));
	ck_assert_uint_eq(alen, agbench_wire_header_len(n) + n);
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(a, b, alen) == 0);
	mem_free(p);
	mem_free(a);
	mem_free(b);
}
END_TEST

/* The server's reader takes agbench's frame (an exact-size copy) as the
 * same message, for binary and text. */
START_TEST(test_encode_server_reads)
{
	static const int ops[] = { WS_OP_BINARY, WS_OP_TEXT };
	size_t n = lengths[_i];
	uint8_t *p = mem_alloc(n + 1);
	uint8_t *f = mem_alloc(n + AGBENCH_WIRE_MAX_HEADER);
	size_t j, i;

	for (j = 0; j < 2; j++) {
		struct ws_reader r;
		struct ws_msg m;
		uint16_t code = 0;
		size_t used = 0, flen;
		uint8_t *copy;

		if (ops[j] == WS_OP_TEXT) {
			for (i = 0; i < n; i++) {
				p[i] = (uint8_t) ('a' + i % 26);
			}
		} else {
			fill(p, n, 3);
		}
		flen = agbench_wire_frame_encode(
		    f, ops[j], p, n, 0x01020304u * (uint32_t) (j + 1));
		copy = dup_bytes(f, flen);
		ws_reader_init(&r, MAX_PAYLOAD);
		ck_assert_int_eq(
		    ws_read(&r, copy, flen, &used, &m, &code), WS_MSG);
		ck_assert_uint_eq(used, flen);
		ck_assert_int_eq(m.opcode, ops[j]);
		ck_assert_uint_eq(m.len, n);
		ck_assert(n == 0 || memcmp(m.data, p, n) == 0);
		ws_reader_fini(&r);
		mem_free(copy);
	}
	mem_free(p);
	mem_free(f);
}
END_TEST

/* Several frames of every opcode agbench sends, back to back in one buffer:
 * the server reads each in order. */
START_TEST(test_encode_stream_server_reads)
{
	static const struct {
		int op;
		const char *text;
	} frames[] = {
		{ WS_OP_TEXT, "{\"event\":\"#handshake\",\"cid\":1}" },
		{ WS_OP_TEXT, "" },
		{ WS_OP_PING, "" },
		{ WS_OP_PONG, "pong body" },
		{ WS_OP_BINARY, "\x00\xff\x80 binary" },
		{ WS_OP_TEXT, "#2" },
		{ WS_OP_CLOSE, NULL },
	};
	uint8_t buf[1024];
	uint8_t close_body[125];
	uint8_t *copy;
	size_t nframes = sizeof(frames) / sizeof(frames[0]);
	size_t n = 0, off = 0, i, close_len;
	struct ws_reader r;

	close_len = ws_close_body(close_body, WS_CLOSE_NORMAL, "bye");
	for (i = 0; i < nframes; i++) {
		const void *p = frames[i].text ? frames[i].text
		                               : (const char *) close_body;
		size_t len
		    = frames[i].text ? strlen(frames[i].text) : close_len;
		if (frames[i].op == WS_OP_BINARY) {
			len = 10;
		}
		n += agbench_wire_frame_encode(buf + n, frames[i].op, p, len,
		    0x9e3779b9u * (uint32_t) (i + 1));
	}
	copy = dup_bytes(buf, n);
	ws_reader_init(&r, MAX_PAYLOAD);
	for (i = 0; i < nframes; i++) {
		struct ws_msg m;
		uint16_t code = 0;
		size_t used = 0;
		const void *p = frames[i].text ? frames[i].text
		                               : (const char *) close_body;
		size_t len
		    = frames[i].text ? strlen(frames[i].text) : close_len;
		if (frames[i].op == WS_OP_BINARY) {
			len = 10;
		}
		ck_assert_int_eq(
		    ws_read(&r, copy + off, n - off, &used, &m, &code),
		    WS_MSG);
		ck_assert_int_eq(m.opcode, frames[i].op);
		ck_assert_uint_eq(m.len, len);
		ck_assert(len == 0 || memcmp(m.data, p, len) == 0);
		ck_assert_uint_gt(used, 0);
		off += used;
	}
	ck_assert_uint_eq(off, n);
	ws_reader_fini(&r);
	mem_free(copy);
}
END_TEST

/* agbench builds a frame where its payload lies: the header, then the
 * payload masked in place, gives the same bytes as frame_encode. */
START_TEST(test_header_then_mask_in_place)
{
	size_t n = lengths[_i];
	uint32_t mask = 0xdeadbeefu ^ (uint32_t) n;
	uint8_t *p = mem_alloc(n + 1);
	uint8_t *a = mem_alloc(n + AGBENCH_WIRE_MAX_HEADER);
	uint8_t *b = mem_alloc(n + AGBENCH_WIRE_MAX_HEADER);
	size_t h;

	fill(p, n, 11);
	ck_assert_uint_eq(agbench_wire_frame_encode(a, WS_OP_TEXT, p, n, mask),
	    agbench_wire_header_len(n) + n);
	h = agbench_wire_header_encode(b, WS_OP_TEXT, n, mask);
	ck_assert_uint_eq(h, agbench_wire_header_len(n));
	if (n > 0) {
		memcpy(b + h, p, n);
	}
	agbench_wire_mask(b + h, n, mask);
	ck_assert(memcmp(a, b, h + n) == 0);
	/* The payload really is masked (the key has no zero byte). */
	ck_assert(n == 0 || memcmp(a + h, p, n) != 0);
	mem_free(p);
	mem_free(a);
	mem_free(b);
}
END_TEST

/* The mask against a byte-at-a-time reference, at every length around the
 * eight-byte steps and at unaligned addresses; masking twice undoes it. */
START_TEST(test_mask_reference)
{
	static const uint32_t masks[]
	    = { 0x37fa213du, 0x01020304u, 0xffffffffu, 0x80000001u };
	uint8_t buf[64 + 8], ref[64], orig[64];
	uint8_t k[4];
	size_t m, off, len, i;

	for (m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
		memcpy(k, &masks[m], 4);
		for (off = 0; off < 8; off++) {
			for (len = 0; len <= 64; len++) {
				fill(orig, len, (unsigned) (m + off + len));
				for (i = 0; i < len; i++) {
					ref[i] = orig[i] ^ k[i & 3];
				}
				memset(buf, 0x5a, sizeof(buf));
				memcpy(buf + off, orig, len);
				agbench_wire_mask(buf + off, len, masks[m]);
				FAST_ASSERT(memcmp(buf + off, ref, len) == 0,
				    "mask %zu at %zu, %zu bytes", m, off, len);
				/* Nothing around it touched. */
				for (i = 0; i < sizeof(buf); i++) {
					FAST_ASSERT((i >= off && i < off + len)
					        || buf[i] == 0x5a,
					    "byte %zu touched", i);
				}
				agbench_wire_mask(buf + off, len, masks[m]);
				FAST_ASSERT(memcmp(buf + off, orig, len) == 0,
				    "mask %zu twice at %zu, %zu bytes", m, off,
				    len);
			}
		}
	}
}
END_TEST

/* ---- frames the server writes ---- */

/* Builds a server frame (ws_header + payload) of n bytes into a new exact
 * heap buffer; *flen is its length. */
static uint8_t *
server_frame(enum ws_opcode op, const uint8_t *p, size_t n, size_t *flen)
{
	uint8_t h[WS_MAX_HEADER];
	size_t hl = ws_header(h, op, n);
	uint8_t *f = mem_alloc(hl + n);

	memcpy(f, h, hl);
	if (n > 0) {
		memcpy(f + hl, p, n);
	}
	*flen = hl + n;
	ck_assert_uint_eq(*flen, ws_frame_size(n));
	return f;
}

START_TEST(test_decode_server_frames)
{
	size_t n = lengths[_i];
	uint8_t *p = mem_alloc(n + 1);
	struct agbench_wire_frame fr;
	size_t flen;
	uint8_t *f;

	fill(p, n, 5);
	f = server_frame(WS_OP_BINARY, p, n, &flen);
	/* max == n: a frame exactly at the limit is taken. */
	memset(&fr, 0, sizeof(fr));
	ck_assert_int_eq(
	    agbench_wire_frame_decode(f, flen, n, &fr), AGBENCH_WIRE_OK);
	ck_assert_int_eq(fr.opcode, WS_OP_BINARY);
	ck_assert_int_eq(fr.fin, 1);
	ck_assert_uint_eq(fr.len, n);
	ck_assert_uint_eq(fr.total, flen);
	ck_assert_ptr_eq(fr.payload, f + flen - n);
	ck_assert(n == 0 || memcmp(fr.payload, p, n) == 0);
	mem_free(f);
	mem_free(p);
}
END_TEST

/* Every opcode the server sends, a non-final frame, and a close frame with
 * the server's body. */
START_TEST(test_decode_opcodes)
{
	static const enum ws_opcode ops[] = { WS_OP_TEXT, WS_OP_BINARY,
		WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG, WS_OP_CONT };
	uint8_t body[125];
	size_t blen = ws_close_body(body, WS_CLOSE_GOING_AWAY, "shutdown");
	struct agbench_wire_frame fr;
	size_t i, flen;
	uint8_t *f;
	uint16_t code = 0;
	const uint8_t *reason;
	size_t rlen;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		f = server_frame(ops[i], body, blen, &flen);
		ck_assert_int_eq(agbench_wire_frame_decode(f, flen, 125, &fr),
		    AGBENCH_WIRE_OK);
		ck_assert_int_eq(fr.opcode, ops[i]);
		ck_assert_int_eq(fr.fin, 1);
		ck_assert_uint_eq(fr.len, blen);
		mem_free(f);
	}
	/* The close body comes back intact. */
	f = server_frame(WS_OP_CLOSE, body, blen, &flen);
	ck_assert_int_eq(
	    agbench_wire_frame_decode(f, flen, 125, &fr), AGBENCH_WIRE_OK);
	ck_assert_int_eq(
	    ws_parse_close(fr.payload, (size_t) fr.len, &code, &reason, &rlen),
	    0);
	ck_assert_uint_eq(code, WS_CLOSE_GOING_AWAY);
	ck_assert_uint_eq(rlen, strlen("shutdown"));
	ck_assert(memcmp(reason, "shutdown", rlen) == 0);
	/* FIN clear: a fragment. */
	f[0] = WS_OP_TEXT;
	ck_assert_int_eq(
	    agbench_wire_frame_decode(f, flen, 125, &fr), AGBENCH_WIRE_OK);
	ck_assert_int_eq(fr.fin, 0);
	ck_assert_int_eq(fr.opcode, WS_OP_TEXT);
	mem_free(f);
}
END_TEST

/* Two server frames in one buffer: the first's total leads to the second. */
START_TEST(test_decode_back_to_back)
{
	size_t n = lengths[_i];
	size_t m = lengths[(_i + 3) % NLENGTHS];
	uint8_t *p = mem_alloc(n + m + 1);
	uint8_t h[WS_MAX_HEADER];
	uint8_t *buf = mem_alloc(2 * WS_MAX_HEADER + n + m);
	struct agbench_wire_frame fr;
	size_t off, len = 0;

	fill(p, n + m, 9);
	len += ws_header(h, WS_OP_TEXT, n);
	memcpy(buf, h, len);
	memcpy(buf + len, p, n);
	len += n;
	off = len;
	len += ws_header(buf + len, WS_OP_BINARY, m);
	memcpy(buf + len, p + n, m);
	len += m;

	ck_assert_int_eq(agbench_wire_frame_decode(buf, len, MAX_PAYLOAD, &fr),
	    AGBENCH_WIRE_OK);
	ck_assert_int_eq(fr.opcode, WS_OP_TEXT);
	ck_assert_uint_eq(fr.len, n);
	ck_assert_uint_eq(fr.total, off);
	ck_assert_int_eq(
	    agbench_wire_frame_decode(buf + off, len - off, MAX_PAYLOAD, &fr),
	    AGBENCH_WIRE_OK);
	ck_assert_int_eq(fr.opcode, WS_OP_BINARY);
	ck_assert_uint_eq(fr.len, m);
	ck_assert_uint_eq(fr.total, len - off);
	ck_assert(m == 0 || memcmp(fr.payload, p + n, m) == 0);
	mem_free(p);
	mem_free(buf);
}
END_TEST

/*
 * A server frame cut at every byte: MORE, and *f untouched. Each prefix ends
 * exactly where its heap buffer ends, so ASan catches a read past it. The
 * payload is one repeated byte, which lets every prefix be laid out at the
 * end of one buffer in O(1) steps (a copy per prefix of a 64 KiB frame is
 * too slow under ASan): the header moves one byte left each step, and the
 * byte it leaves behind becomes payload again.
 */
START_TEST(test_decode_truncated)
{
	size_t n = lengths[_i];
	uint8_t *p = mem_alloc(n + 1);
	struct agbench_wire_frame fr, poison;
	size_t flen, hl, k, at;
	uint8_t *f, *b;

	memset(p, 'q', n);
	f = server_frame(WS_OP_TEXT, p, n, &flen);
	hl = flen - n;
	b = mem_alloc(flen);
	memset(b, 'q', flen);
	memset(&poison, 0xa5, sizeof(poison));
	for (k = 0; k < flen; k++) {
		int r;
		at = flen - k;
		memcpy(b + at, f, k < hl ? k : hl);
		if (k > hl) {
			b[at + hl] = 'q';
		}
		/* The layout is right: checked in full near both ends and
		 * now and then in between. */
		if (k < 300 || flen - k < 300 || k % 4096 == 0) {
			FAST_ASSERT(
			    memcmp(b + at, f, k) == 0, "layout at %zu", k);
		}
		memcpy(&fr, &poison, sizeof(fr));
		r = agbench_wire_frame_decode(b + at, k, MAX_PAYLOAD, &fr);
		FAST_ASSERT(r == AGBENCH_WIRE_MORE,
		    "length %zu cut at %zu: %d", n, k, r);
		FAST_ASSERT(memcmp(&fr, &poison, sizeof(fr)) == 0,
		    "length %zu cut at %zu: *f written", n, k);
	}
	ck_assert_int_eq(agbench_wire_frame_decode(f, flen, MAX_PAYLOAD, &fr),
	    AGBENCH_WIRE_OK);
	ck_assert_uint_eq(fr.total, flen);
	mem_free(b);
	mem_free(f);
	mem_free(p);
}
END_TEST

/* Decodes the len bytes at hdr (an exact copy); returns the result. */
static int
decode_copy(const uint8_t *hdr, size_t len, uint64_t max)
{
	struct agbench_wire_frame fr;
	uint8_t *copy = dup_bytes(hdr, len);
	int r = agbench_wire_frame_decode(copy, len, max, &fr);

	mem_free(copy);
	return r;
}

/* A masked frame (agbench's own, as a server would never send it) fails,
 * from its first two bytes on. */
START_TEST(test_decode_masked_fails)
{
	size_t n = lengths[_i];
	uint8_t *p = mem_alloc(n + 1);
	uint8_t *f = mem_alloc(n + AGBENCH_WIRE_MAX_HEADER);
	size_t flen, k;

	fill(p, n, 2);
	flen = agbench_wire_frame_encode(f, WS_OP_TEXT, p, n, 0x11223344u);
	for (k = 2; k <= agbench_wire_header_len(n) + 1 && k <= flen; k++) {
		ck_assert_int_eq(
		    decode_copy(f, k, MAX_PAYLOAD), AGBENCH_WIRE_FAIL);
	}
	ck_assert_int_eq(decode_copy(f, flen, MAX_PAYLOAD), AGBENCH_WIRE_FAIL);
	mem_free(p);
	mem_free(f);
}
END_TEST

START_TEST(test_decode_reserved_bits_fail)
{
	static const uint8_t rsv[] = { 0x40, 0x20, 0x10, 0x70 };
	uint8_t f[2 + 3];
	size_t i;

	for (i = 0; i < sizeof(rsv); i++) {
		ws_header(f, WS_OP_TEXT, 3);
		memcpy(f + 2, "abc", 3);
		ck_assert_int_eq(
		    decode_copy(f, sizeof(f), 125), AGBENCH_WIRE_OK);
		f[0] |= rsv[i];
		ck_assert_int_eq(decode_copy(f, 2, 125), AGBENCH_WIRE_FAIL);
		ck_assert_int_eq(
		    decode_copy(f, sizeof(f), 125), AGBENCH_WIRE_FAIL);
	}
}
END_TEST

/* A length above max fails from the header alone, in every length class,
 * before the payload arrives; one byte less is taken. */
START_TEST(test_decode_too_long_fails)
{
	static const uint64_t lens[] = { 1, 125, 126, 65535, 65536,
		(uint64_t) 1 << 32, (uint64_t) 1 << 63, UINT64_MAX };
	uint8_t h[WS_MAX_HEADER];
	size_t i, hl;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		hl = ws_header(h, WS_OP_BINARY, lens[i]);
		ck_assert_msg(
		    decode_copy(h, hl, lens[i] - 1) == AGBENCH_WIRE_FAIL,
		    "length %llu", (unsigned long long) lens[i]);
		/* At the limit: the header is fine, the payload is missing. */
		ck_assert_int_eq(
		    decode_copy(h, hl, lens[i]), AGBENCH_WIRE_MORE);
	}
	/* No limit at all: a 2^63 length is just a long wait. */
	hl = ws_header(h, WS_OP_BINARY, (uint64_t) 1 << 63);
	ck_assert_int_eq(decode_copy(h, hl, UINT64_MAX), AGBENCH_WIRE_MORE);
}
END_TEST

/* ---- the JSON scanner ---- */

/* Copies the NUL-terminated s without its NUL. */
static char *
dup_str(const char *s)
{
	return dup_bytes(s, strlen(s));
}

/* Checks that [p, p + n) lies within [s, s + len). */
static void
assert_span(const char *s, size_t len, const char *p, size_t n)
{
	FAST_ASSERT(p != NULL, "NULL span");
	FAST_ASSERT(p >= s && p <= s + len, "span starts outside");
	FAST_ASSERT(n <= (size_t) (s + len - p), "span ends outside");
}

static void
assert_span_is(const char *p, size_t n, const char *want)
{
	ck_assert_ptr_nonnull(p);
	ck_assert_msg(n == strlen(want) && memcmp(p, want, n) == 0,
	    "got \"%.*s\", want \"%s\"", (int) n, p, want);
}

START_TEST(test_skip_values)
{
	static const struct {
		const char *in;
		long used; /* -1: NULL */
	} cases[] = {
		{ "\"abc\"", 5 },
		{ "\"abc\",\"d\"", 5 },
		{ "  123,", 5 },
		{ "\t\r\n-1.5e3}", 9 },
		{ "true]", 4 },
		{ "null", 4 },
		{ "\"\"", 2 },
		{ "\"a\\\"b\"", 6 },    /* "a\"b" */
		{ "\"a\\\\\"b\"", 5 },  /* "a\\" then b" */
		{ "\"\\\\\\\"\"", 6 },  /* "\\\"" */
		{ "\"\\\\\\\\\"x", 6 }, /* "\\\\" */
		{ "\"}]\\\"{[\"", 8 },  /* brackets inside a string */
		{ "{\"a\":[1,{\"b\":\"]\"}]} tail", 19 },
		{ "[[],[[]],{}]", 12 },
		{ "{}", 2 },
		{ "[\"]\",\"\\\"]\"]", 11 }, /* ["]","\"]"] */
		{ "", -1 },
		{ "   ", -1 },
		{ "\"abc", -1 },
		{ "\"abc\\\"", -1 },
		{ "{\"a\":1", -1 },
		{ "[[]", -1 },
		{ "{\"a\":\"}\"", -1 },
		{ ",", -1 },
		{ "}", -1 },
		{ "]", -1 },
		{ ":", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		char *s = dup_bytes(cases[i].in, len);
		const char *e = agbench_wire_skip(s, s + len);
		if (cases[i].used < 0) {
			ck_assert_msg(e == NULL, "case %zu (%s): %td", i,
			    cases[i].in, e - s);
		} else {
			ck_assert_msg(
			    e != NULL, "case %zu (%s): NULL", i, cases[i].in);
			ck_assert_msg(e - s == cases[i].used,
			    "case %zu (%s): %td", i, cases[i].in, e - s);
		}
		mem_free(s);
	}
}
END_TEST

START_TEST(test_int)
{
	static const struct {
		const char *in;
		int ok;
		int64_t v;
	} cases[] = {
		{ "0", 1, 0 },
		{ "7", 1, 7 },
		{ "-3", 1, -3 },
		{ "-0", 1, 0 },
		{ "123456789012345678", 1, 123456789012345678LL },
		{ "-123456789012345678", 1, -123456789012345678LL },
		{ "1234567890123456789", 0, 0 },
		{ "", 0, 0 },
		{ "-", 0, 0 },
		{ "+1", 0, 0 },
		{ "1a", 0, 0 },
		{ "1.5", 0, 0 },
		{ " 1", 0, 0 },
		{ "\"1\"", 0, 0 },
		{ "null", 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		char *s = dup_bytes(cases[i].in, len);
		int64_t v = 424242;
		int r = agbench_wire_int(s, len, &v);
		ck_assert_msg(r == (cases[i].ok ? 0 : -1), "case %s: %d",
		    cases[i].in, r);
		ck_assert_msg(v == (cases[i].ok ? cases[i].v : 424242),
		    "case %s: %lld", cases[i].in, (long long) v);
		mem_free(s);
	}
}
END_TEST

START_TEST(test_obj_iter_and_keys)
{
	static const char text[]
	    = " { \"a\" : 1 , \"k\\\"q\":\"v\",\"\":[1, 2] ,\"nested\":"
	      "{\"x\":{\"y\":null}} } ";
	char *s = dup_str(text);
	size_t len = strlen(text);
	struct agbench_wire_iter it;
	const char *k, *v;
	size_t kl, vl;

	ck_assert_int_eq(agbench_wire_iter_init(&it, s, len, '['), -1);
	ck_assert_int_eq(agbench_wire_iter_init(&it, s, len, '{'), 0);
	ck_assert_int_eq(agbench_wire_obj_next(&it, &k, &kl, &v, &vl), 1);
	ck_assert(agbench_wire_key_is(k, kl, "a"));
	ck_assert(!agbench_wire_key_is(k, kl, "ab"));
	ck_assert(!agbench_wire_key_is(k, kl, ""));
	assert_span_is(v, vl, "1");
	ck_assert_int_eq(agbench_wire_obj_next(&it, &k, &kl, &v, &vl), 1);
	assert_span_is(k, kl, "k\\\"q");
	assert_span_is(v, vl, "\"v\"");
	ck_assert_int_eq(agbench_wire_obj_next(&it, &k, &kl, &v, &vl), 1);
	ck_assert(agbench_wire_key_is(k, kl, ""));
	assert_span_is(v, vl, "[1, 2]");
	ck_assert_int_eq(agbench_wire_obj_next(&it, &k, &kl, &v, &vl), 1);
	ck_assert(agbench_wire_key_is(k, kl, "nested"));
	assert_span_is(v, vl, "{\"x\":{\"y\":null}}");
	ck_assert_int_eq(agbench_wire_obj_next(&it, &k, &kl, &v, &vl), 0);
	mem_free(s);

	s = dup_str("{}");
	ck_assert_int_eq(agbench_wire_iter_init(&it, s, 2, '{'), 0);
	ck_assert_int_eq(agbench_wire_obj_next(&it, &k, &kl, &v, &vl), 0);
	mem_free(s);
	s = dup_str("[ ]");
	ck_assert_int_eq(agbench_wire_iter_init(&it, s, 3, '['), 0);
	ck_assert_int_eq(agbench_wire_arr_next(&it, &v, &vl), 0);
	mem_free(s);
	s = dup_str("   ");
	ck_assert_int_eq(agbench_wire_iter_init(&it, s, 3, '{'), -1);
	mem_free(s);
}
END_TEST

START_TEST(test_packet_normal)
{
	static const char *const texts[] = {
		"{\"event\":\"#handshake\",\"data\":{\"authToken\":null},"
		"\"cid\":1}",
		"{\"rid\":1,\"data\":{\"id\":\"abc\",\"pingTimeout\":20000,"
		"\"isAuthenticated\":false}}",
		"{\"rid\":4,\"error\":{\"name\":\"BadX\",\"message\":\"no\"}}",
		"{ \"rid\" : 7 , \"data\" : [ 1 , 2 ] , \"error\" : null }",
		"{\"event\":\"#subscribe\",\"data\":{\"channel\":\"c1\"},"
		"\"cid\":3,\"rid\":\"x\"}",
		"{\"rid\":-3,\"event\":\"\"}",
		"\n{}\n",
	};
	static const struct {
		const char *event, *data, *error;
		int64_t rid;
	} want[] = {
		{ "#handshake", "{\"authToken\":null}", NULL, -1 },
		{ NULL,
		    "{\"id\":\"abc\",\"pingTimeout\":20000,"
		    "\"isAuthenticated\":false}",
		    NULL, 1 },
		{ NULL, NULL, "{\"name\":\"BadX\",\"message\":\"no\"}", 4 },
		{ NULL, "[ 1 , 2 ]", NULL, 7 },
		{ "#subscribe", "{\"channel\":\"c1\"}", NULL, -1 },
		{ "", NULL, NULL, -3 },
		{ NULL, NULL, NULL, -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = strlen(texts[i]);
		char *s = dup_bytes(texts[i], len);
		struct agbench_wire_packet pkt;
		ck_assert_msg(
		    agbench_wire_packet(s, len, &pkt) == 0, "packet %zu", i);
		ck_assert_int_eq(pkt.rid, want[i].rid);
		if (want[i].event) {
			assert_span_is(
			    pkt.event, pkt.event_len, want[i].event);
		} else {
			ck_assert_ptr_null(pkt.event);
		}
		if (want[i].data) {
			assert_span_is(pkt.data, pkt.data_len, want[i].data);
		} else {
			ck_assert_ptr_null(pkt.data);
		}
		if (want[i].error) {
			assert_span_is(
			    pkt.error, pkt.error_len, want[i].error);
		} else {
			ck_assert_ptr_null(pkt.error);
		}
		mem_free(s);
	}
}
END_TEST

/* Strings with escapes: spans are the raw bytes, and an escaped quote does
 * not end the string. */
START_TEST(test_packet_escapes)
{
	static const char text[]
	    = "{\"event\":\"say \\\"hi\\\" \\\\\",\"data\":\"a\\\\\\\"b, "
	      "\\\"rid\\\":9 }\",\"rid\":3,\"error\":\"\\u0022\"}";
	char *s = dup_str(text);
	struct agbench_wire_packet pkt;

	ck_assert_int_eq(agbench_wire_packet(s, strlen(text), &pkt), 0);
	assert_span_is(pkt.event, pkt.event_len, "say \\\"hi\\\" \\\\");
	assert_span_is(
	    pkt.data, pkt.data_len, "\"a\\\\\\\"b, \\\"rid\\\":9 }\"");
	ck_assert_int_eq(pkt.rid, 3);
	assert_span_is(pkt.error, pkt.error_len, "\"\\u0022\"");
	mem_free(s);
}
END_TEST

START_TEST(test_packet_nested)
{
	static const char data[]
	    = "{\"a\":{\"b\":[1,{\"c\":\"}]\\\"[\"}],\"d\":\"\\\\\"},"
	      "\"e\":[[[[{}]]]],\"f\":\"{\"}";
	char text[256];
	char *s;
	struct agbench_wire_packet pkt;
	int n = snprintf(text, sizeof(text),
	    "{\"event\":\"x\",\"data\":%s,\"rid\":9,\"error\":null}", data);

	ck_assert_int_gt(n, 0);
	s = dup_bytes(text, (size_t) n);
	ck_assert_int_eq(agbench_wire_packet(s, (size_t) n, &pkt), 0);
	assert_span_is(pkt.data, pkt.data_len, data);
	ck_assert_int_eq(pkt.rid, 9);
	ck_assert_ptr_null(pkt.error);
	assert_span_is(pkt.event, pkt.event_len, "x");
	mem_free(s);
}
END_TEST

/* A delivery as the servers write it takes the fast path; the same packet
 * spelled differently takes the general one; both give the same data, and
 * the stamp inside reads back. */
START_TEST(test_packet_publish)
{
	static const char data[] = "{\"channel\":\"room-1\",\"data\":{\"c\":5,"
	                           "\"p\":6,\"s\":7,\"t\":123456789}}";
	static const char *const wrap[][2] = {
		{ "{\"event\":\"#publish\",\"data\":", "}" },
		{ "{\"event\": \"#publish\",\"data\":", "}" },
		{ "{\"data\":", ",\"event\":\"#publish\"}" },
		{ " {\"event\":\"#publish\",\"data\":", "} " },
	};
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(wrap) / sizeof(wrap[0]); i++) {
		struct agbench_wire_packet pkt;
		struct agbench_wire_stamp st = { -1, -1, -1, -1 };
		int n = snprintf(text, sizeof(text), "%s%s%s", wrap[i][0],
		    data, wrap[i][1]);
		char *s = dup_bytes(text, (size_t) n);
		ck_assert_int_eq(agbench_wire_packet(s, (size_t) n, &pkt), 0);
		assert_span_is(pkt.event, pkt.event_len, "#publish");
		assert_span_is(pkt.data, pkt.data_len, data);
		ck_assert_int_eq(pkt.rid, -1);
		ck_assert_ptr_null(pkt.error);
		ck_assert_int_eq(
		    agbench_wire_delivery(pkt.data, pkt.data_len, &st), 0);
		ck_assert_int_eq(st.chan, 5);
		ck_assert_int_eq(st.pub, 6);
		ck_assert_int_eq(st.seq, 7);
		ck_assert_int_eq(st.t, 123456789);
		mem_free(s);
	}
}
END_TEST

/* A batch: a JSON array of packets, each read in turn. */
START_TEST(test_packet_batch)
{
	static const char text[]
	    = "[{\"event\":\"a\",\"data\":1} , {\"rid\":2,\"data\":{\"x\":[1,"
	      "{\"y\":\"]}\"}]}},\n{\"event\":\"#publish\",\"data\":"
	      "{\"channel\":\"ch\",\"data\":{\"c\":1,\"p\":2,\"s\":3,"
	      "\"t\":4}}},\"str]\",[]]";
	char *s = dup_str(text);
	size_t len = strlen(text);
	struct agbench_wire_iter it;
	struct agbench_wire_packet pkt;
	struct agbench_wire_stamp st;
	const char *v;
	size_t vl;

	ck_assert_int_eq(agbench_wire_iter_init(&it, s, len, '{'), -1);
	ck_assert_int_eq(agbench_wire_iter_init(&it, s, len, '['), 0);

	ck_assert_int_eq(agbench_wire_arr_next(&it, &v, &vl), 1);
	assert_span_is(v, vl, "{\"event\":\"a\",\"data\":1}");
	ck_assert_int_eq(agbench_wire_packet(v, vl, &pkt), 0);
	assert_span_is(pkt.event, pkt.event_len, "a");
	assert_span_is(pkt.data, pkt.data_len, "1");

	ck_assert_int_eq(agbench_wire_arr_next(&it, &v, &vl), 1);
	ck_assert_int_eq(agbench_wire_packet(v, vl, &pkt), 0);
	ck_assert_int_eq(pkt.rid, 2);
	assert_span_is(pkt.data, pkt.data_len, "{\"x\":[1,{\"y\":\"]}\"}]}");

	ck_assert_int_eq(agbench_wire_arr_next(&it, &v, &vl), 1);
	ck_assert_int_eq(agbench_wire_packet(v, vl, &pkt), 0);
	assert_span_is(pkt.event, pkt.event_len, "#publish");
	ck_assert_int_eq(
	    agbench_wire_delivery(pkt.data, pkt.data_len, &st), 0);
	ck_assert_int_eq(st.t, 4);

	/* Not packets, but elements all the same. */
	ck_assert_int_eq(agbench_wire_arr_next(&it, &v, &vl), 1);
	assert_span_is(v, vl, "\"str]\"");
	ck_assert_int_eq(agbench_wire_packet(v, vl, &pkt), -1);
	ck_assert_int_eq(agbench_wire_arr_next(&it, &v, &vl), 1);
	assert_span_is(v, vl, "[]");
	ck_assert_int_eq(agbench_wire_arr_next(&it, &v, &vl), 0);
	mem_free(s);
}
END_TEST

START_TEST(test_packet_malformed)
{
	static const char *const bad[] = {
		"",
		" ",
		"[]",
		"null",
		"\"{}\"",
		"{",
		"}",
		"{\"a\"}",
		"{\"a\":}",
		"{\"a\":1,}",
		"{,}",
		"{,\"a\":1}",
		"{\"a\":1 \"b\":2}",
		"{\"a\":\"1\"x\"b\":2}",
		"{\"a\":1,,\"b\":2}",
		"{\"a\"1}",
		"{a:1}",
		"{1:1}",
		"{\"a\":\"x}",
		"{\"a\":\"x\\\"}",
		"{\"a\":{\"b\":1}",
		"{\"a\":[1,2}",
		"{\"event\":\"#publish\",\"data\":}",
		"{\"event\":\"#publish\",\"data\":",
		"{\"rid\":1,\"data\":{\"x\":\"}\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);
		char *s = dup_bytes(bad[i], len);
		struct agbench_wire_packet pkt;
		ck_assert_msg(agbench_wire_packet(s, len, &pkt) == -1,
		    "accepted: %s", bad[i]);
		mem_free(s);
	}
}
END_TEST

/* Arrays: a missing or extra comma, or a missing end, is found while
 * iterating; the elements before it come out whole. */
START_TEST(test_array_malformed)
{
	static const struct {
		const char *in;
		int good; /* elements read before the error */
	} cases[] = {
		{ "[1 22]", 1 },
		{ "[\"a\"x\"b\"]", 1 },
		{ "[{}{}]", 1 },
		{ "[1,]", 1 },
		{ "[,1]", 0 },
		{ "[1,,2]", 1 },
		{ "[1", 1 },
		{ "[1,2", 2 },
		{ "[\"a]", 0 },
		{ "[", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		char *s = dup_bytes(cases[i].in, len);
		struct agbench_wire_iter it;
		const char *v;
		size_t vl;
		int r, n = 0;
		ck_assert_int_eq(agbench_wire_iter_init(&it, s, len, '['), 0);
		while ((r = agbench_wire_arr_next(&it, &v, &vl)) == 1) {
			assert_span(s, len, v, vl);
			ck_assert_int_lt(++n, 8);
		}
		ck_assert_msg(r == -1, "accepted: %s", cases[i].in);
		ck_assert_msg(
		    n == cases[i].good, "%s: %d elements", cases[i].in, n);
		mem_free(s);
	}
}
END_TEST

/* Checks the spans of a packet the scanner accepted. */
static void
assert_packet_spans(
    const char *s, size_t len, const struct agbench_wire_packet *pkt)
{
	if (pkt->event) {
		assert_span(s, len, pkt->event, pkt->event_len);
	}
	if (pkt->data) {
		assert_span(s, len, pkt->data, pkt->data_len);
	}
	if (pkt->error) {
		assert_span(s, len, pkt->error, pkt->error_len);
	}
}

/* Every strict prefix of a packet (exact-size copy) is rejected, except
 * where the delivery fast path cannot tell; the whole is accepted. */
START_TEST(test_packet_truncated)
{
	static const char *const texts[] = {
		"{\"event\":\"#handshake\",\"data\":{\"authToken\":null},"
		"\"cid\":1}",
		"{\"rid\":12,\"data\":{\"a\":[1,{\"b\":\"}\\\"]\"}]},"
		"\"error\":null}",
		"{ \"event\" : \"x\\\\\" , \"data\" : [ true , false ] }",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"c\",\"data\":"
		"{\"c\":1,\"p\":2,\"s\":3,\"t\":4}}}",
	};
	size_t i, k;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = strlen(texts[i]);
		int fast
		    = strncmp(texts[i], "{\"event\":\"#publish\"", 19) == 0;
		for (k = 0; k <= len; k++) {
			char *s = dup_bytes(texts[i], k);
			struct agbench_wire_packet pkt;
			int r = agbench_wire_packet(s, k, &pkt);
			if (k == len) {
				ck_assert_int_eq(r, 0);
			} else if (!fast) {
				ck_assert_msg(
				    r == -1, "packet %zu cut at %zu", i, k);
			}
			if (r == 0) {
				assert_packet_spans(s, k, &pkt);
			}
			mem_free(s);
		}
	}
}
END_TEST

/* A delivery cut at every byte: -1 until the stamp's last number and the
 * byte after it are there; no read past the end either way. */
START_TEST(test_delivery_truncated)
{
	static const char *const texts[] = {
		/* the fast path's shape */
		"{\"channel\":\"c\",\"data\":{\"c\":1,\"p\":2,\"s\":3,\"t\":4,"
		"\"x\":\"xxxx\"}}",
		/* the general path's */
		"{\"channel\" : \"c\", \"data\": {\"t\":4,\"s\":3,\"p\":2,"
		"\"c\":1}}",
	};
	size_t i, k, complete;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = strlen(texts[i]);
		/* fast: "t":4 and the delimiter after it; general: the data
		 * object, closed */
		complete = i == 0
		    ? (size_t) (strstr(texts[i], "\"t\":4") + 6 - texts[i])
		    : len - 1;
		for (k = 0; k <= len; k++) {
			char *s = dup_bytes(texts[i], k);
			struct agbench_wire_stamp st = { -1, -1, -1, -1 };
			int r = agbench_wire_delivery(s, k, &st);
			if (k < complete) {
				ck_assert_msg(
				    r == -1, "text %zu cut at %zu", i, k);
			} else {
				ck_assert_msg(
				    r == 0, "text %zu cut at %zu", i, k);
				ck_assert_int_eq(st.chan, 1);
				ck_assert_int_eq(st.pub, 2);
				ck_assert_int_eq(st.seq, 3);
				ck_assert_int_eq(st.t, 4);
			}
			mem_free(s);
		}
	}
}
END_TEST

/* Deterministic junk from JSON's punctuation: whatever the scanner says,
 * it stays inside the exact-size buffer (ASan) and its spans do too. */
START_TEST(test_json_junk)
{
	static const char alphabet[] = "{}[]\":,\\ a1-\"{[\":}";
	uint32_t x = 0x2545f491u;
	char text[48];
	int round;

	for (round = 0; round < 20000; round++) {
		size_t len, j;
		char *s;
		struct agbench_wire_packet pkt;
		struct agbench_wire_stamp st;
		struct agbench_wire_iter it;
		const char *v, *k, *e;
		size_t vl, kl;
		int r, steps;

		x = x * 1664525u + 1013904223u;
		len = (x >> 8) % sizeof(text);
		for (j = 0; j < len; j++) {
			x = x * 1664525u + 1013904223u;
			text[j] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
		}
		/* Sometimes a real prefix, to reach deeper. */
		if (round % 3 == 0 && len > 0) {
			text[0] = '{';
		} else if (round % 3 == 1 && len > 0) {
			text[0] = '[';
		}
		s = dup_bytes(text, len);
		if (agbench_wire_packet(s, len, &pkt) == 0) {
			assert_packet_spans(s, len, &pkt);
		}
		(void) agbench_wire_delivery(s, len, &st);
		e = agbench_wire_skip(s, s + len);
		FAST_ASSERT(e == NULL || (e > s && e <= s + len),
		    "skip outside: %.*s", (int) len, s);
		if (agbench_wire_iter_init(&it, s, len, '[') == 0) {
			steps = 0;
			while (
			    (r = agbench_wire_arr_next(&it, &v, &vl)) == 1) {
				assert_span(s, len, v, vl);
				FAST_ASSERT(++steps < 64, "no progress");
			}
		}
		if (agbench_wire_iter_init(&it, s, len, '{') == 0) {
			steps = 0;
			while (
			    (r = agbench_wire_obj_next(&it, &k, &kl, &v, &vl))
			    == 1) {
				assert_span(s, len, k, kl);
				assert_span(s, len, v, vl);
				FAST_ASSERT(++steps < 64, "no progress");
			}
		}
		mem_free(s);
	}
}
END_TEST

/* agbench's payload round-trips through a delivery, padded or not. */
START_TEST(test_stamp_roundtrip)
{
	static const size_t pads[] = { 0, 20, 64, 200, 4000 };
	struct agbench_wire_stamp in = { 12, 3, 456789, 9876543210123LL };
	char payload[4096], text[4200];
	size_t i, n;

	for (i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
		struct agbench_wire_stamp out = { -1, -1, -1, -1 };
		struct agbench_wire_packet pkt;
		char *s;
		int m;
		n = agbench_wire_stamp_encode(
		    payload, sizeof(payload), &in, pads[i]);
		ck_assert_uint_gt(n, 0);
		if (pads[i] > 64) {
			ck_assert_uint_eq(n, pads[i]);
		}
		m = snprintf(text, sizeof(text),
		    "{\"event\":\"#publish\",\"data\":{\"channel\":\"b\","
		    "\"data\":%.*s}}",
		    (int) n, payload);
		s = dup_bytes(text, (size_t) m);
		ck_assert_int_eq(agbench_wire_packet(s, (size_t) m, &pkt), 0);
		ck_assert_int_eq(
		    agbench_wire_delivery(pkt.data, pkt.data_len, &out), 0);
		ck_assert_int_eq(out.chan, in.chan);
		ck_assert_int_eq(out.pub, in.pub);
		ck_assert_int_eq(out.seq, in.seq);
		ck_assert_int_eq(out.t, in.t);
		mem_free(s);
	}
	/* Too small: 0, never a cut payload. */
	n = agbench_wire_stamp_encode(payload, sizeof(payload), &in, 0);
	ck_assert_uint_eq(agbench_wire_stamp_encode(payload, n, &in, 0), 0);
	ck_assert_uint_eq(
	    agbench_wire_stamp_encode(payload, 199, &in, 200), 0);
	ck_assert_uint_eq(
	    agbench_wire_stamp_encode(payload, 200, &in, 200), 200);
}
END_TEST

START_TEST(test_delivery_not_ours)
{
	static const char *const texts[] = {
		"{\"channel\":\"c\",\"data\":{\"c\":1,\"p\":2,\"s\":3}}",
		"{\"channel\":\"c\",\"data\":{\"c\":1,\"p\":2,\"s\":3,"
		"\"t\":\"4\"}}",
		"{\"channel\":\"c\",\"data\":\"hello\"}",
		"{\"channel\":\"c\"}",
		"{\"channel\":\"c\",\"data\":[1,2,3,4]}",
		"[]",
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = strlen(texts[i]);
		char *s = dup_bytes(texts[i], len);
		struct agbench_wire_stamp st;
		ck_assert_msg(agbench_wire_delivery(s, len, &st) == -1,
		    "accepted: %s", texts[i]);
		mem_free(s);
	}
}
END_TEST

/* ---- regressions: bugs these tests found in agbench_wire.c ---- */

/*
 * A response shorter than "HTTP/1.1 101" that already holds the blank line
 * is complete and is not a 101, so it must fail (the status used to be
 * compared only once 12 bytes were there).
 */
START_TEST(test_bug_upgrade_response_short)
{
	static const char *const texts[]
	    = { "\r\n\r\n", "HTTP/1\r\n\r\n", "X\r\n\r\n" };
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = strlen(texts[i]), used = 0;
		char *s = dup_bytes(texts[i], len);
		ck_assert_msg(agbench_wire_upgrade_response(s, len, &used)
		        == AGBENCH_WIRE_FAIL,
		    "response %zu taken for a 101", i);
		mem_free(s);
	}
}
END_TEST

/*
 * A stamp must hold c, p, s and t. The general path used to count members
 * it could parse, not distinct keys, so one key four times passed and left
 * the other three fields as they were.
 */
START_TEST(test_bug_delivery_duplicate_keys)
{
	static const char text[]
	    = "{\"channel\":\"a\",\"data\":{\"c\":1,\"c\":2,\"c\":3,\"c\":4}}";
	char *s = dup_str(text);
	struct agbench_wire_stamp st = { -9, -9, -9, -9 };

	ck_assert_int_eq(agbench_wire_delivery(s, strlen(text), &st), -1);
	mem_free(s);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("agbench_wire");
	TCase *up = tcase_create("upgrade");
	TCase *enc = tcase_create("encode");
	TCase *dec = tcase_create("decode");
	TCase *json = tcase_create("json");

	tcase_add_test(up, test_upgrade_request_text);
	tcase_add_test(up, test_upgrade_request_cap);
	tcase_add_test(up, test_upgrade_request_server_accepts);
	tcase_add_test(up, test_upgrade_response_101);
	tcase_add_test(up, test_upgrade_response_prefixes);
	tcase_add_test(up, test_upgrade_response_other_status);
	suite_add_tcase(s, up);

	tcase_add_loop_test(enc, test_header_lengths, 0, NLENGTHS);
	tcase_add_loop_test(
	    enc, test_encode_matches_server_masked, 0, NLENGTHS);
	tcase_add_loop_test(enc, test_encode_server_reads, 0, NLENGTHS);
	tcase_add_test(enc, test_encode_stream_server_reads);
	tcase_add_loop_test(enc, test_header_then_mask_in_place, 0, NLENGTHS);
	tcase_add_test(enc, test_mask_reference);
	suite_add_tcase(s, enc);

	tcase_add_loop_test(dec, test_decode_server_frames, 0, NLENGTHS);
	tcase_add_test(dec, test_decode_opcodes);
	tcase_add_loop_test(dec, test_decode_back_to_back, 0, NLENGTHS);
	tcase_add_loop_test(dec, test_decode_truncated, 0, NLENGTHS);
	tcase_add_loop_test(dec, test_decode_masked_fails, 0, NLENGTHS);
	tcase_add_test(dec, test_decode_reserved_bits_fail);
	tcase_add_test(dec, test_decode_too_long_fails);
	suite_add_tcase(s, dec);

	tcase_add_test(json, test_skip_values);
	tcase_add_test(json, test_int);
	tcase_add_test(json, test_obj_iter_and_keys);
	tcase_add_test(json, test_packet_normal);
	tcase_add_test(json, test_packet_escapes);
	tcase_add_test(json, test_packet_nested);
	tcase_add_test(json, test_packet_publish);
	tcase_add_test(json, test_packet_batch);
	tcase_add_test(json, test_packet_malformed);
	tcase_add_test(json, test_array_malformed);
	tcase_add_test(json, test_packet_truncated);
	tcase_add_test(json, test_delivery_truncated);
	tcase_add_test(json, test_json_junk);
	tcase_add_test(json, test_stamp_roundtrip);
	tcase_add_test(json, test_delivery_not_ours);
	suite_add_tcase(s, json);

	/* Two bugs these tests found, fixed since. */
	{
		TCase *bugs = tcase_create("regressions");
		tcase_add_test(bugs, test_bug_upgrade_response_short);
		tcase_add_test(bugs, test_bug_delivery_duplicate_keys);
		suite_add_tcase(s, bugs);
	}
	return s;
}

int
main(void)
{
	return unit_run(wire_suite());
}
