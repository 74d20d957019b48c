#include "ws.h"

#include <string.h>

#include "common/mem.h"

/* First allocation for a fragmented message; it then doubles. */
#define WS_FRAG_MIN 256
/* A control frame's payload fits in the 7-bit length (RFC 6455 5.5). */
#define WS_CONTROL_MAX 125

/* One client frame header, as parsed from the wire. */
struct ws_frame {
	int fin;
	uint8_t opcode;
	uint8_t key[4];
	size_t hdr_len; /* including the mask key */
	size_t len;     /* payload length, known to fit in the buffer */
};

static int
ws_is_control(uint8_t opcode)
{
	return (opcode & 0x08) != 0;
}

/*
 * Checks what the first two bytes alone decide, so that a bad frame fails
 * before the rest of its header (or payload) arrives. Returns 0 or the
 * close code.
 */
static uint16_t
ws_check_start(const struct ws_reader *r, uint8_t b0, uint8_t b1)
{
	uint8_t op = b0 & 0x0F;

	/* We negotiate no extension, so no RSV bit has a meaning. */
	if ((b0 & 0x70) != 0 || (b1 & 0x80) == 0) {
		return WS_CLOSE_PROTOCOL;
	}
	if (ws_is_control(op)) {
		if (op > WS_OP_PONG || (b0 & 0x80) == 0
		    || (b1 & 0x7F) > WS_CONTROL_MAX) {
			return WS_CLOSE_PROTOCOL;
		}
		return 0;
	}
	if (op > WS_OP_BINARY) {
		return WS_CLOSE_PROTOCOL;
	}
	/* A continuation needs a message to continue; a new one must not
	 * start while another is unfinished. */
	if ((op == WS_OP_CONT) != (r->frag_opcode != 0)) {
		return WS_CLOSE_PROTOCOL;
	}
	return 0;
}

static uint64_t
ws_read_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

/* The message limit, clamped to SIZE_MAX so the fragment buffer's size
 * arithmetic cannot wrap where size_t is narrower than 64 bits. */
static size_t
ws_limit(const struct ws_reader *r)
{
	return r->max_payload > SIZE_MAX ? SIZE_MAX : (size_t) r->max_payload;
}

/* Bytes a data frame of this opcode may still add to the current message. */
static uint64_t
ws_room(const struct ws_reader *r, uint8_t opcode)
{
	return ws_limit(r) - (opcode == WS_OP_CONT ? r->frag_len : 0);
}

/*
 * Parses the frame at p[0..avail). Returns 1 when the whole frame (header
 * and payload) is there, 0 when more bytes are needed, -1 with *code set
 * when the header is invalid.
 */
static int
ws_frame_parse(const struct ws_reader *r, const uint8_t *p, size_t avail,
    struct ws_frame *f, uint16_t *code)
{
	uint16_t bad;
	uint64_t n;
	size_t ext;

	if (avail < 2) {
		return 0;
	}
	bad = ws_check_start(r, p[0], p[1]);
	if (bad != 0) {
		*code = bad;
		return -1;
	}
	n = p[1] & 0x7F;
	ext = n == 126 ? 2 : n == 127 ? 8 : 0;
	if (avail < 2 + ext) {
		return 0;
	}
	if (ext != 0) {
		n = ws_read_be(p + 2, ext);
	}
	if (n >> 63 != 0) {
		*code = WS_CLOSE_PROTOCOL;
		return -1;
	}
	f->opcode = p[0] & 0x0F;
	if (!ws_is_control(f->opcode) && n > ws_room(r, f->opcode)) {
		*code = WS_CLOSE_TOO_BIG;
		return -1;
	}
	f->hdr_len = 2 + ext + 4;
	/* Compared against what is left, so a huge n cannot overflow. */
	if (avail < f->hdr_len || n > avail - f->hdr_len) {
		return 0;
	}
	f->fin = (p[0] & 0x80) != 0;
	memcpy(f->key, p + 2 + ext, 4);
	f->len = (size_t) n;
	return 1;
}

/* XORs p with the repeating 4-byte key, sixteen bytes per step where the
 * compiler has vector types (one SSE2 register on x86-64), else eight.
 * Masking and unmasking are the same operation. Returns 1 when every byte
 * it leaves is ASCII, which spares a text frame the UTF-8 check. */
static int
ws_xor_mask(uint8_t *p, size_t n, const uint8_t key[4])
{
	uint8_t key8[8];
	uint64_t m, w, seen = 0;
	size_t i = 0;

	memcpy(key8, key, 4);
	memcpy(key8 + 4, key, 4);
	memcpy(&m, key8, 8);
#if defined(__GNUC__)
	typedef uint64_t ws_v2 __attribute__((vector_size(16)));
	ws_v2 m2 = { m, m }, v, seen2 = { 0, 0 };

	for (; i + 16 <= n; i += 16) {
		memcpy(&v, p + i, 16);
		v ^= m2;
		seen2 |= v;
		memcpy(p + i, &v, 16);
	}
	seen = seen2[0] | seen2[1];
#endif
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		w ^= m;
		seen |= w;
		memcpy(p + i, &w, 8);
	}
	for (; i < n; i++) {
		p[i] ^= key[i & 3];
		seen |= p[i];
	}
	return (seen & UINT64_C(0x8080808080808080)) == 0;
}

/* Appends to the fragment buffer, growing it geometrically up to the
 * message limit (the caller has checked the total against it). */
static void
ws_frag_append(struct ws_reader *r, const uint8_t *p, size_t n)
{
	size_t need = r->frag_len + n;
	size_t limit = ws_limit(r);
	size_t cap;

	if (need > r->frag_cap) {
		if (r->frag_cap == 0) {
			cap = WS_FRAG_MIN;
		} else {
			cap = r->frag_cap > limit / 2 ? limit
			                              : r->frag_cap * 2;
		}
		if (cap > limit) {
			cap = limit;
		}
		if (cap < need) {
			cap = need;
		}
		r->frag = mem_realloc(r->frag, cap);
		r->frag_cap = cap;
	}
	if (n > 0) {
		memcpy(r->frag + r->frag_len, p, n);
		r->frag_len = need;
	}
}

/* Frees the buffer of a fragmented message delivered by the previous call,
 * so that an idle connection holds no buffer. */
static void
ws_frag_release(struct ws_reader *r)
{
	if (r->frag_opcode == 0 && r->frag != NULL) {
		mem_free(r->frag);
		r->frag = NULL;
		r->frag_len = 0;
		r->frag_cap = 0;
	}
}

/* ascii: every byte of data is known to be ASCII. */
static enum ws_result
ws_deliver(uint8_t opcode, const uint8_t *data, size_t len, int ascii,
    struct ws_msg *msg, uint16_t *close_code)
{
	if (opcode == WS_OP_TEXT && !ascii && !ws_utf8_valid(data, len)) {
		*close_code = WS_CLOSE_BAD_DATA;
		return WS_FAIL;
	}
	msg->opcode = (enum ws_opcode) opcode;
	msg->data = data;
	msg->len = len;
	return WS_MSG;
}

/* Acts on one complete, unmasked frame whose header was validated (ascii:
 * its payload is all ASCII). */
static enum ws_result
ws_frame_take(struct ws_reader *r, const struct ws_frame *f,
    const uint8_t *payload, int ascii, struct ws_msg *msg,
    uint16_t *close_code)
{
	uint8_t opcode;

	if (ws_is_control(f->opcode) || (f->opcode != WS_OP_CONT && f->fin)) {
		return ws_deliver(
		    f->opcode, payload, f->len, ascii, msg, close_code);
	}
	if (f->opcode != WS_OP_CONT) {
		r->frag_opcode = f->opcode;
	}
	ws_frag_append(r, payload, f->len);
	if (!f->fin) {
		return WS_NEED_MORE;
	}
	/* The buffer stays until the next call, which frees it. */
	opcode = r->frag_opcode;
	r->frag_opcode = 0;
	if (r->frag == NULL) {
		/* Only empty fragments: any valid pointer will do. */
		return ws_deliver(opcode, payload, 0, 1, msg, close_code);
	}
	return ws_deliver(opcode, r->frag, r->frag_len, 0, msg, close_code);
}

void
ws_reader_init(struct ws_reader *r, uint64_t max_payload)
{
	memset(r, 0, sizeof(*r));
	r->max_payload = max_payload;
}

void
ws_reader_fini(struct ws_reader *r)
{
	mem_free(r->frag);
	r->frag = NULL;
	r->frag_len = 0;
	r->frag_cap = 0;
	r->frag_opcode = 0;
}

enum ws_result
ws_read(struct ws_reader *r, uint8_t *buf, size_t len, size_t *used,
    struct ws_msg *msg, uint16_t *close_code)
{
	struct ws_frame f;
	enum ws_result res;
	uint8_t *payload;
	size_t off = 0;
	int rc, ascii;

	ws_frag_release(r);
	for (;;) {
		rc = ws_frame_parse(r, buf + off, len - off, &f, close_code);
		if (rc <= 0) {
			*used = off;
			return rc < 0 ? WS_FAIL : WS_NEED_MORE;
		}
		payload = buf + off + f.hdr_len;
		ascii = ws_xor_mask(payload, f.len, f.key);
		off += f.hdr_len + f.len;
		res = ws_frame_take(r, &f, payload, ascii, msg, close_code);
		if (res != WS_NEED_MORE) {
			*used = off;
			return res;
		}
	}
}

size_t
ws_header(uint8_t *out, enum ws_opcode opcode, uint64_t len)
{
	size_t ext, i;

	out[0] = (uint8_t) (0x80 | opcode);
	if (len <= WS_CONTROL_MAX) {
		out[1] = (uint8_t) len;
		return 2;
	}
	ext = len <= 0xFFFF ? 2 : 8;
	out[1] = ext == 2 ? 126 : 127;
	for (i = 0; i < ext; i++) {
		out[1 + ext - i] = (uint8_t) (len >> (8 * i));
	}
	return 2 + ext;
}

size_t
ws_frame_size(uint64_t len)
{
	size_t hdr = len <= WS_CONTROL_MAX ? 2 : len <= 0xFFFF ? 4 : 10;

	return hdr + (size_t) len;
}

/* Codes a peer may send (RFC 6455 7.4 and the IANA registry); 1005, 1006
 * and 1015 are only for reporting locally. Same set as the ws library. */
static int
ws_close_code_valid(uint16_t code)
{
	if (code >= 3000 && code <= 4999) {
		return 1;
	}
	return code >= 1000 && code <= 1014 && code != 1004
	    && code != WS_CLOSE_NO_STATUS && code != WS_CLOSE_ABNORMAL;
}

int
ws_parse_close(const uint8_t *body, size_t len, uint16_t *code,
    const uint8_t **reason, size_t *reason_len)
{
	uint16_t c;

	if (len == 0) {
		*code = WS_CLOSE_NO_STATUS;
		*reason = body;
		*reason_len = 0;
		return 0;
	}
	if (len == 1) {
		return -1;
	}
	c = (uint16_t) (body[0] << 8 | body[1]);
	if (!ws_close_code_valid(c) || !ws_utf8_valid(body + 2, len - 2)) {
		return -1;
	}
	*code = c;
	*reason = body + 2;
	*reason_len = len - 2;
	return 0;
}

size_t
ws_close_body(uint8_t *out, uint16_t code, const char *reason)
{
	size_t max = WS_CONTROL_MAX - 2;
	size_t n = reason ? strlen(reason) : 0;

	/* These codes must not be sent; an empty body says "no status". */
	if (code == WS_CLOSE_NO_STATUS || code == WS_CLOSE_ABNORMAL
	    || code == 1015) {
		return 0;
	}
	if (n > max) {
		/* Cut before a character, not inside one: the peer fails the
		 * connection on a reason that is not UTF-8. */
		n = max;
		while (n > 0 && ((uint8_t) reason[n] & 0xC0) == 0x80) {
			n--;
		}
	}
	out[0] = (uint8_t) (code >> 8);
	out[1] = (uint8_t) code;
	if (n > 0) {
		memcpy(out + 2, reason, n);
	}
	return 2 + n;
}

/* Returns the length of the well-formed multi-byte sequence at p (Unicode
 * table 3-7), or 0 when it is not one. */
static size_t
ws_utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xBF;
	size_t k, i;

	if (c >= 0xC2 && c <= 0xDF) {
		k = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		k = 3;
		lo = c == 0xE0 ? 0xA0 : lo; /* overlong */
		hi = c == 0xED ? 0x9F : hi; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4;
		lo = c == 0xF0 ? 0x90 : lo; /* overlong */
		hi = c == 0xF4 ? 0x8F : hi; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < k || p[1] < lo || p[1] > hi) {
		return 0;
	}
	for (i = 2; i < k; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			return 0;
		}
	}
	return k;
}

int
ws_utf8_valid(const uint8_t *p, size_t n)
{
	uint64_t w;
	size_t i = 0, k;

	while (i < n) {
		/* Messages are mostly ASCII: skip it eight bytes at a time. */
		if (i + 8 <= n) {
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		k = ws_utf8_seq(p + i, n - i);
		if (k == 0) {
			return 0;
		}
		i += k;
	}
	return 1;
}

size_t
ws_encode_masked(uint8_t *out, enum ws_opcode opcode, const uint8_t *payload,
    size_t len, uint32_t mask_key)
{
	uint8_t key[4];
	size_t hdr = ws_header(out, opcode, len);

	key[0] = (uint8_t) (mask_key >> 24);
	key[1] = (uint8_t) (mask_key >> 16);
	key[2] = (uint8_t) (mask_key >> 8);
	key[3] = (uint8_t) mask_key;
	out[1] |= 0x80;
	memcpy(out + hdr, key, 4);
	if (len > 0) {
		memcpy(out + hdr + 4, payload, len);
	}
	ws_xor_mask(out + hdr + 4, len, key);
	return hdr + 4 + len;
}
