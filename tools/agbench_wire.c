/*
 * agbench's client side of the wire (see agbench_wire.h).
 */
#include "tools/agbench_wire.h"

#include <stdio.h>
#include <string.h>

/* The RFC 6455 sample key: the server's answer is not checked, so any
 * well-formed key serves. */
#define UPGRADE_KEY  "dGhlIHNhbXBsZSBub25jZQ=="
#define PUBLISH_HEAD "{\"event\":\"#publish\",\"data\":"

size_t
agbench_wire_upgrade_request(
    char *out, size_t cap, const char *host, int port, const char *path)
{
	int n = snprintf(out, cap,
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s:%d\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " UPGRADE_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n",
	    path, host, port);
	if (n < 0 || (size_t) n >= cap) {
		return 0;
	}
	return (size_t) n;
}

int
agbench_wire_upgrade_response(const char *buf, size_t len, size_t *used)
{
	static const char status[] = "HTTP/1.1 101";
	const char *end = memmem(buf, len, "\r\n\r\n", 4);

	size_t have = len < sizeof(status) - 1 ? len : sizeof(status) - 1;

	/* Whatever has arrived must agree with the status line, and a head
	 * that ends before the status line is complete is not a 101. */
	if (memcmp(buf, status, have) != 0
	    || (end != NULL && (size_t) (end - buf) < sizeof(status) - 1)) {
		return AGBENCH_WIRE_FAIL;
	}
	if (end == NULL) {
		return AGBENCH_WIRE_MORE;
	}
	*used = (size_t) (end - buf) + 4;
	return AGBENCH_WIRE_OK;
}

void
agbench_wire_mask(uint8_t *p, size_t len, uint32_t mask)
{
	uint8_t k[4];
	uint64_t k8;
	size_t i = 0;

	memcpy(k, &mask, 4);
	memcpy(&k8, k, 4);
	memcpy((uint8_t *) &k8 + 4, k, 4);
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		w ^= k8;
		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++) {
		p[i] ^= k[i & 3];
	}
}

size_t
agbench_wire_header_len(size_t len)
{
	if (len < 126) {
		return 2 + 4;
	}
	if (len <= 0xffff) {
		return 4 + 4;
	}
	return 10 + 4;
}

size_t
agbench_wire_header_encode(uint8_t *out, int opcode, size_t len, uint32_t mask)
{
	size_t h = 2;

	out[0] = (uint8_t) (0x80 | (opcode & 0x0f));
	if (len < 126) {
		out[1] = (uint8_t) (0x80 | len);
	} else if (len <= 0xffff) {
		out[1] = 0x80 | 126;
		out[2] = (uint8_t) (len >> 8);
		out[3] = (uint8_t) len;
		h = 4;
	} else {
		out[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++) {
			out[2 + i]
			    = (uint8_t) ((uint64_t) len >> (56 - 8 * i));
		}
		h = 10;
	}
	memcpy(out + h, &mask, 4);
	return h + 4;
}

size_t
agbench_wire_frame_encode(
    uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask)
{
	size_t h = agbench_wire_header_encode(out, opcode, len, mask);

	if (len > 0) {
		memcpy(out + h, payload, len);
		agbench_wire_mask(out + h, len, mask);
	}
	return h + len;
}

int
agbench_wire_frame_decode(
    const uint8_t *buf, size_t len, uint64_t max, struct agbench_wire_frame *f)
{
	uint64_t plen;
	size_t h = 2;

	if (len < 2) {
		return AGBENCH_WIRE_MORE;
	}
	if ((buf[1] & 0x80) || (buf[0] & 0x70)) {
		return AGBENCH_WIRE_FAIL;
	}
	plen = buf[1] & 0x7f;
	if (plen == 126) {
		if (len < 4) {
			return AGBENCH_WIRE_MORE;
		}
		plen = ((uint64_t) buf[2] << 8) | buf[3];
		h = 4;
	} else if (plen == 127) {
		if (len < 10) {
			return AGBENCH_WIRE_MORE;
		}
		plen = 0;
		for (int i = 0; i < 8; i++) {
			plen = (plen << 8) | buf[2 + i];
		}
		h = 10;
	}
	if (plen > max) {
		return AGBENCH_WIRE_FAIL;
	}
	if (len - h < plen) {
		return AGBENCH_WIRE_MORE;
	}
	f->opcode = buf[0] & 0x0f;
	f->fin = (buf[0] & 0x80) != 0;
	f->payload = buf + h;
	f->len = plen;
	f->total = h + (size_t) plen;
	return AGBENCH_WIRE_OK;
}

/* Whether c ends a number or a literal. */
static int
is_delim(char c)
{
	switch (c) {
	case ',':
	case '}':
	case ']':
	case ':':
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		return 1;
	default:
		return 0;
	}
}

static const char *
skip_blank(const char *p, const char *end)
{
	while (
	    p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
		p++;
	}
	return p;
}

/* p is just past the opening quote; returns a pointer past the closing one. */
static const char *
skip_string(const char *p, const char *end)
{
	while (p < end) {
		const char *q = memchr(p, '"', (size_t) (end - p));
		const char *b;
		if (q == NULL) {
			return NULL;
		}
		/* the quote is escaped if an odd number of backslashes precede
		 * it */
		b = q;
		while (b > p && b[-1] == '\\') {
			b--;
		}
		if (((q - b) & 1) == 0) {
			return q + 1;
		}
		p = q + 1;
	}
	return NULL;
}

static const char *
skip_nested(const char *p, const char *end)
{
	int depth = 0;

	do {
		char c = *p;
		if (c == '"') {
			p = skip_string(p + 1, end);
			if (p == NULL) {
				return NULL;
			}
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
		p++;
	} while (depth > 0 && p < end);
	return depth == 0 ? p : NULL;
}

const char *
agbench_wire_skip(const char *p, const char *end)
{
	const char *start;

	p = skip_blank(p, end);
	if (p >= end) {
		return NULL;
	}
	if (*p == '"') {
		return skip_string(p + 1, end);
	}
	if (*p == '{' || *p == '[') {
		return skip_nested(p, end);
	}
	start = p;
	while (p < end && !is_delim(*p)) {
		p++;
	}
	return p > start ? p : NULL;
}

int
agbench_wire_iter_init(
    struct agbench_wire_iter *it, const char *s, size_t len, char open)
{
	const char *end = s + len;
	const char *p = skip_blank(s, end);

	if (p >= end || *p != open) {
		return -1;
	}
	it->p = p + 1;
	it->end = end;
	it->close = open == '{' ? '}' : ']';
	it->first = 1;
	return 0;
}

/* Moves past the separator before the next member. 1: a member follows; 0:
 * the end; -1: malformed. */
static int
iter_step(struct agbench_wire_iter *it)
{
	it->p = skip_blank(it->p, it->end);
	if (it->p >= it->end) {
		return -1;
	}
	if (*it->p == it->close) {
		it->p++;
		return 0;
	}
	if (!it->first) {
		if (*it->p != ',') {
			return -1;
		}
		it->p = skip_blank(it->p + 1, it->end);
	}
	it->first = 0;
	return it->p < it->end ? 1 : -1;
}

int
agbench_wire_obj_next(struct agbench_wire_iter *it, const char **key,
    size_t *klen, const char **val, size_t *vlen)
{
	const char *k, *q, *v;
	size_t kl;
	int r = iter_step(it);

	if (r <= 0) {
		return r;
	}
	if (*it->p != '"') {
		return -1;
	}
	k = it->p + 1;
	q = skip_string(k, it->end);
	if (q == NULL) {
		return -1;
	}
	kl = (size_t) (q - 1 - k);
	q = skip_blank(q, it->end);
	if (q >= it->end || *q != ':') {
		return -1;
	}
	v = skip_blank(q + 1, it->end);
	it->p = agbench_wire_skip(v, it->end);
	if (it->p == NULL) {
		return -1;
	}
	*key = k;
	*klen = kl;
	*val = v;
	*vlen = (size_t) (it->p - v);
	return 1;
}

int
agbench_wire_arr_next(
    struct agbench_wire_iter *it, const char **val, size_t *vlen)
{
	const char *v;
	int r = iter_step(it);

	if (r <= 0) {
		return r;
	}
	v = it->p;
	it->p = agbench_wire_skip(v, it->end);
	if (it->p == NULL) {
		return -1;
	}
	*val = v;
	*vlen = (size_t) (it->p - v);
	return 1;
}

int
agbench_wire_key_is(const char *key, size_t klen, const char *want)
{
	return strlen(want) == klen && memcmp(key, want, klen) == 0;
}

int
agbench_wire_int(const char *s, size_t len, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	int64_t v = 0;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len || len - i > 18) {
		return -1;
	}
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -1;
		}
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

static void
packet_member(struct agbench_wire_packet *pkt, const char *k, size_t kl,
    const char *v, size_t vl)
{
	if (agbench_wire_key_is(k, kl, "event")) {
		if (vl >= 2 && v[0] == '"') {
			pkt->event = v + 1;
			pkt->event_len = vl - 2;
		}
	} else if (agbench_wire_key_is(k, kl, "rid")) {
		if (agbench_wire_int(v, vl, &pkt->rid) != 0) {
			pkt->rid = -1;
		}
	} else if (agbench_wire_key_is(k, kl, "data")) {
		pkt->data = v;
		pkt->data_len = vl;
	} else if (agbench_wire_key_is(k, kl, "error")) {
		if (!(vl == 4 && memcmp(v, "null", 4) == 0)) {
			pkt->error = v;
			pkt->error_len = vl;
		}
	}
}

int
agbench_wire_packet(const char *s, size_t len, struct agbench_wire_packet *pkt)
{
	struct agbench_wire_iter it;
	const char *k, *v;
	size_t kl, vl;
	int r;

	memset(pkt, 0, sizeof(*pkt));
	pkt->rid = -1;
	/* a delivery, as both servers write it: no need to scan the data */
	if (len > sizeof(PUBLISH_HEAD) && s[len - 1] == '}'
	    && memcmp(s, PUBLISH_HEAD, sizeof(PUBLISH_HEAD) - 1) == 0) {
		pkt->event = s + 10;
		pkt->event_len = 8;
		pkt->data = s + sizeof(PUBLISH_HEAD) - 1;
		pkt->data_len = len - sizeof(PUBLISH_HEAD);
		return 0;
	}
	if (agbench_wire_iter_init(&it, s, len, '{') != 0) {
		return -1;
	}
	while ((r = agbench_wire_obj_next(&it, &k, &kl, &v, &vl)) == 1) {
		packet_member(pkt, k, kl, v, vl);
	}
	return r == 0 ? 0 : -1;
}

/* Writes key (a quoted name and a colon, after sep) and the decimal v at
 * out; returns the bytes written (at most 2 + 4 + 20). No printf: agbench
 * writes a stamp per message, and snprintf was a quarter of its CPU. */
static size_t
put_member(char *out, char sep, char key, int64_t v)
{
	char digits[20];
	uint64_t u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
	size_t n = 0, len = 0;

	out[len++] = sep;
	out[len++] = '"';
	out[len++] = key;
	out[len++] = '"';
	out[len++] = ':';
	if (v < 0) {
		out[len++] = '-';
	}
	do {
		digits[n++] = (char) ('0' + u % 10);
		u /= 10;
	} while (u != 0);
	while (n > 0) {
		out[len++] = digits[--n];
	}
	return len;
}

size_t
agbench_wire_stamp_encode(
    char *out, size_t cap, const struct agbench_wire_stamp *st, size_t pad)
{
	char head[4 * 26];
	/* Straight into out when the longest stamp fits. */
	char *w = cap >= sizeof(head) + 2 ? out : head;
	size_t len = 0;

	len += put_member(w + len, '{', 'c', st->chan);
	len += put_member(w + len, ',', 'p', st->pub);
	len += put_member(w + len, ',', 's', st->seq);
	len += put_member(w + len, ',', 't', st->t);
	if (len + 2 > cap) {
		return 0;
	}
	if (w == head) {
		memcpy(out, head, len);
	}
	if (pad > len + 8) {
		size_t x = pad - len - 8;
		if (len + x + 8 > cap) {
			return 0;
		}
		memcpy(out + len, ",\"x\":\"", 6);
		memset(out + len + 6, 'x', x);
		len += 6 + x;
		out[len++] = '"';
	}
	out[len++] = '}';
	return len;
}

static int
stamp_decode(const char *s, size_t len, struct agbench_wire_stamp *st)
{
	struct agbench_wire_iter it;
	const char *k, *v;
	size_t kl, vl;
	int r;
	unsigned seen = 0; /* a bit per field: duplicates count once */

	if (agbench_wire_iter_init(&it, s, len, '{') != 0) {
		return -1;
	}
	while ((r = agbench_wire_obj_next(&it, &k, &kl, &v, &vl)) == 1) {
		int64_t *f = NULL;
		unsigned bit;

		if (kl != 1) {
			continue;
		}
		f = k[0] == 'c'   ? &st->chan
		    : k[0] == 'p' ? &st->pub
		    : k[0] == 's' ? &st->seq
		    : k[0] == 't' ? &st->t
		                  : NULL;
		bit = k[0] == 'c' ? 1 : k[0] == 'p' ? 2 : k[0] == 's' ? 4 : 8;
		if (f != NULL && agbench_wire_int(v, vl, f) == 0) {
			seen |= bit;
		}
	}
	return r == 0 && seen == 15 ? 0 : -1;
}

/* Reads the non-negative integer at *p, which a ',' or '}' must end, and
 * moves past its digits. */
static int
fast_int(const char **p, const char *end, int64_t *out)
{
	const char *q = *p;
	int64_t v = 0;

	while (q < end && *q >= '0' && *q <= '9' && q - *p < 18) {
		v = v * 10 + (*q++ - '0');
	}
	if (q == *p || q >= end || (*q != ',' && *q != '}')) {
		return -1;
	}
	*out = v;
	*p = q;
	return 0;
}

/* Expects the n bytes of lit at *p and moves past them. */
static int
fast_lit(const char **p, const char *end, const char *lit, size_t n)
{
	if ((size_t) (end - *p) < n || memcmp(*p, lit, n) != 0) {
		return -1;
	}
	*p += n;
	return 0;
}

#define FAST_LIT(p, end, lit) fast_lit(p, end, lit, sizeof(lit) - 1)

/*
 * The common case, as both servers write it: {"channel":"<name>","data":
 * {"c":1,"p":2,"s":3,"t":4...}, read without the general scanner (which
 * would also walk the padding).
 */
static int
delivery_fast(const char *s, size_t len, struct agbench_wire_stamp *st)
{
	const char *p = s, *end = s + len;

	if (FAST_LIT(&p, end, "{\"channel\":\"") != 0) {
		return -1;
	}
	p = memchr(p, '"', (size_t) (end - p));
	if (p == NULL || FAST_LIT(&p, end, "\",\"data\":{\"c\":") != 0
	    || fast_int(&p, end, &st->chan) != 0
	    || FAST_LIT(&p, end, ",\"p\":") != 0
	    || fast_int(&p, end, &st->pub) != 0
	    || FAST_LIT(&p, end, ",\"s\":") != 0
	    || fast_int(&p, end, &st->seq) != 0
	    || FAST_LIT(&p, end, ",\"t\":") != 0
	    || fast_int(&p, end, &st->t) != 0) {
		return -1;
	}
	return 0;
}

int
agbench_wire_delivery(const char *s, size_t len, struct agbench_wire_stamp *st)
{
	struct agbench_wire_iter it;
	const char *k, *v;
	size_t kl, vl;
	int r;

	if (delivery_fast(s, len, st) == 0) {
		return 0;
	}
	if (agbench_wire_iter_init(&it, s, len, '{') != 0) {
		return -1;
	}
	while ((r = agbench_wire_obj_next(&it, &k, &kl, &v, &vl)) == 1) {
		if (agbench_wire_key_is(k, kl, "data")) {
			return stamp_decode(v, vl, st);
		}
	}
	return -1;
}
