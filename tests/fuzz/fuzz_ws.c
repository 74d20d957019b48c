/*
 * libFuzzer target for the WebSocket reader. The input is a client byte
 * stream; it is read once whole and once in pieces whose sizes derive from
 * the first byte. Both runs must produce the same messages and end the same
 * way, every message must respect the codec's contract and survive a
 * round trip through ws_encode_masked().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "worker/ws.h"

/* Small, so that 1009 is reachable from short inputs. */
#define FUZZ_MAX_PAYLOAD 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A digest of everything one run produced. */
struct fuzz_trace {
	uint64_t hash;
	size_t nmsg;
	enum ws_result result;
	uint16_t code;
};

static void
fuzz_mix(struct fuzz_trace *t, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		t->hash = (t->hash ^ b[i]) * 0x100000001b3ULL;
	}
}

/* Encodes the message as a client would and reads it back unchanged. */
static void
fuzz_roundtrip(const struct ws_msg *m)
{
	size_t n = ws_frame_size(m->len) + 4, used;
	uint8_t *f = mem_alloc(n);
	struct ws_reader r;
	struct ws_msg back;
	uint16_t code;

	if (ws_encode_masked(f, m->opcode, m->data, m->len, 0x5EEDF00DU)
	    != n) {
		abort();
	}
	ws_reader_init(&r, FUZZ_MAX_PAYLOAD);
	if (ws_read(&r, f, n, &used, &back, &code) != WS_MSG || used != n
	    || back.opcode != m->opcode || back.len != m->len
	    || (m->len > 0 && memcmp(back.data, m->data, m->len) != 0)) {
		abort();
	}
	ws_reader_fini(&r);
	mem_free(f);
}

/* Checks the contract of one message, then records it. */
static void
fuzz_msg(const struct ws_msg *m, struct fuzz_trace *t)
{
	const uint8_t *reason;
	size_t rlen;
	uint16_t code;
	uint8_t op = (uint8_t) m->opcode;

	if (op >= WS_OP_CLOSE ? m->len > 125 : m->len > FUZZ_MAX_PAYLOAD) {
		abort();
	}
	if (op == WS_OP_TEXT && !ws_utf8_valid(m->data, m->len)) {
		abort();
	}
	if (op == WS_OP_CLOSE
	    && ws_parse_close(m->data, m->len, &code, &reason, &rlen) == 0
	    && (reason < m->data || reason + rlen > m->data + m->len)) {
		abort();
	}
	fuzz_roundtrip(m);
	fuzz_mix(t, &op, 1);
	fuzz_mix(t, &m->len, sizeof(m->len));
	fuzz_mix(t, m->data, m->len);
	t->nmsg++;
}

/* Reads all pending bytes; returns the result that stopped the reading and
 * leaves the unconsumed bytes in *pend, resized to fit exactly. */
static enum ws_result
fuzz_drain(
    struct ws_reader *r, uint8_t **pend, size_t *plen, struct fuzz_trace *t)
{
	struct ws_msg msg;
	enum ws_result res;
	size_t used;

	do {
		res = ws_read(r, *pend, *plen, &used, &msg, &t->code);
		if (used > *plen) {
			abort();
		}
		if (res == WS_MSG) {
			fuzz_msg(&msg, t);
		}
		memmove(*pend, *pend + used, *plen - used);
		*plen -= used;
		*pend = mem_realloc(*pend, *plen);
	} while (res == WS_MSG);
	return res;
}

/* Feeds the stream in pieces of 1 to (seed + 1) bytes, each appended to an
 * exact-size buffer so that ASan sees any read past the received bytes. */
static void
fuzz_feed(const uint8_t *data, size_t size, uint8_t seed, struct fuzz_trace *t)
{
	uint32_t x = 0x9E3779B9U ^ seed;
	struct ws_reader r;
	uint8_t *pend = mem_alloc(0);
	size_t plen = 0, off = 0, chunk;

	memset(t, 0, sizeof(*t));
	t->result = WS_NEED_MORE;
	ws_reader_init(&r, FUZZ_MAX_PAYLOAD);
	while (off < size && t->result != WS_FAIL) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		chunk = 1 + x % ((size_t) seed + 1);
		chunk = chunk > size - off ? size - off : chunk;
		pend = mem_realloc(pend, plen + chunk);
		memcpy(pend + plen, data + off, chunk);
		plen += chunk;
		off += chunk;
		t->result = fuzz_drain(&r, &pend, &plen, t);
	}
	if (t->result != WS_FAIL) {
		t->code = 0;
	}
	ws_reader_fini(&r);
	mem_free(pend);
}

/* Reads the stream from one heap buffer, advancing past consumed bytes. */
static void
fuzz_whole(const uint8_t *data, size_t size, struct fuzz_trace *t)
{
	uint8_t *buf = mem_alloc(size);
	struct ws_reader r;
	struct ws_msg msg;
	size_t off = 0, used;

	memset(t, 0, sizeof(*t));
	if (size > 0) {
		memcpy(buf, data, size);
	}
	ws_reader_init(&r, FUZZ_MAX_PAYLOAD);
	do {
		t->result = ws_read(
		    &r, buf + off, size - off, &used, &msg, &t->code);
		if (used > size - off) {
			abort();
		}
		off += used;
		if (t->result == WS_MSG) {
			fuzz_msg(&msg, t);
		}
	} while (t->result == WS_MSG);
	if (t->result != WS_FAIL) {
		t->code = 0;
	}
	ws_reader_fini(&r);
	mem_free(buf);
}

/*
 * The first byte only picks the piece sizes; the stream is the rest, so
 * that valid streams also get cut byte by byte (seed 0).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_trace whole, split;

	if (size == 0) {
		return 0;
	}
	fuzz_whole(data + 1, size - 1, &whole);
	fuzz_feed(data + 1, size - 1, data[0], &split);
	if (whole.hash != split.hash || whole.nmsg != split.nmsg
	    || whole.result != split.result || whole.code != split.code) {
		abort();
	}
	return 0;
}
