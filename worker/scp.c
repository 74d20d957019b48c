#include "scp.h"

#include <stdint.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
/* Parent links make closing a container O(1); without them jsmn walks back
 * over every token, quadratic in the nesting depth a client chooses. */
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "common/mem.h"
#include "common/tjson.h"

struct scp_tok {
	jsmntok_t t;
};

/* An open container while validating the token stream. */
struct scp_frame {
	int remaining;
	int is_obj;
	int expect_key;
};

void
scp_decoder_init(struct scp_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void
scp_decoder_trim(struct scp_decoder *d)
{
	if (d->cap > 4096) {
		scp_decoder_fini(d);
	}
}

void
scp_decoder_fini(struct scp_decoder *d)
{
	mem_free(d->toks);
	mem_free(d->stack);
	memset(d, 0, sizeof(*d));
}

static const jsmntok_t *
tok(const struct scp_decoder *d, int t)
{
	return &d->toks[t].t;
}

/* Index of the token after t's whole subtree. Keys have size 1, so one
 * counter covers objects and arrays alike. */
static int
skip(const struct scp_decoder *d, int t)
{
	int end = t + 1;
	int pending = tok(d, t)->size;

	while (pending > 0) {
		pending += tok(d, end)->size - 1;
		end++;
	}
	return end;
}

/* jsmn is lax about primitives and control characters; JSON.parse is not. */
static int
valid_leaf(const char *js, const jsmntok_t *t)
{
	const char *p = js + t->start;
	size_t n = (size_t) (t->end - t->start);

	if (t->type == JSMN_STRING) {
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char) p[i] < 0x20) {
				return 0;
			}
		}
		return t->size <= 1;
	}
	return t->size == 0 && tjson_primitive_valid(p, n);
}

/* Checks the shape jsmn produced: keys are strings followed by exactly one
 * value, and there is exactly one top-level container. */
static int
valid_structure(struct scp_decoder *d, struct scp_frame *stack)
{
	int sp = 0;

	for (int i = 0; i < d->ntoks; i++) {
		const jsmntok_t *t = tok(d, i);

		if (sp == 0 && i > 0) {
			return 0;
		}
		if (sp > 0 && stack[sp - 1].expect_key) {
			if (t->type != JSMN_STRING || t->size != 1
			    || !valid_leaf(d->js, t)) {
				return 0;
			}
			stack[sp - 1].expect_key = 0;
			continue;
		}
		if (sp > 0) {
			stack[sp - 1].remaining--;
			stack[sp - 1].expect_key = stack[sp - 1].is_obj;
		}
		if (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) {
			if (t->size > 0) {
				stack[sp].remaining = t->size;
				stack[sp].is_obj = t->type == JSMN_OBJECT;
				stack[sp].expect_key = stack[sp].is_obj;
				sp++;
			}
		} else if (i == 0 || t->size != 0 || !valid_leaf(d->js, t)) {
			return 0;
		}
		while (sp > 0 && stack[sp - 1].remaining == 0) {
			sp--;
		}
	}
	return sp == 0;
}

/* Returns 1 if the text nests no deeper than SCP_MAX_DEPTH. jsmn closes a
 * container by walking up from the last token, which costs the depth at
 * each close: bounding the depth keeps a hostile message linear. */
static int
depth_ok(const char *p, size_t n)
{
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		switch (p[i]) {
		case '"':
			for (i++; i < n && p[i] != '"'; i++) {
				i += p[i] == '\\';
			}
			break;
		case '[':
		case '{':
			if (++depth > SCP_MAX_DEPTH) {
				return 0;
			}
			break;
		case ']':
		case '}':
			depth--;
			break;
		default:
			break;
		}
	}
	return 1;
}

static int
tokenize(struct scp_decoder *d)
{
	jsmn_parser p;
	int r;

	for (;;) {
		jsmn_init(&p);
		r = jsmn_parse(
		    &p, d->js, d->len, (jsmntok_t *) d->toks, d->cap);
		if (r != JSMN_ERROR_NOMEM || d->cap >= SCP_MAX_TOKENS) {
			return r;
		}
		d->cap = d->cap ? d->cap * 2 : 64;
		d->toks = mem_realloc(d->toks, d->cap * sizeof(*d->toks));
	}
}

static int
only_blanks(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n'
		    && p[i] != '\r') {
			return 0;
		}
	}
	return 1;
}

enum scp_result
scp_decode(struct scp_decoder *d, const char *text, size_t len)
{
	size_t i = 0;

	d->js = text;
	d->len = len;
	d->ntoks = 0;
	d->nelems = 0;
	d->visited = 0;
	while (i < len && only_blanks(text + i, 1)) {
		i++;
	}
	if (i == len || (text[i] != '{' && text[i] != '[')) {
		return SCP_RAW;
	}
	if (!depth_ok(text + i, len - i)) {
		return SCP_RAW;
	}
	if (d->cap == 0) {
		d->cap = 64;
		d->toks = mem_alloc(d->cap * sizeof(*d->toks));
	}
	d->ntoks = tokenize(d);
	if (d->ntoks < 1) {
		return SCP_RAW;
	}
	if (!only_blanks(
	        text + tok(d, 0)->end, len - (size_t) tok(d, 0)->end)) {
		return SCP_RAW;
	}
	if (d->stack_cap < (unsigned) d->ntoks) {
		d->stack_cap = d->cap;
		mem_free(d->stack);
		d->stack = mem_alloc(d->stack_cap * sizeof(struct scp_frame));
	}
	if (!valid_structure(d, d->stack)) {
		return SCP_RAW;
	}
	d->is_array = tok(d, 0)->type == JSMN_ARRAY;
	d->nelems = d->is_array ? tok(d, 0)->size : 1;
	d->cursor = d->is_array ? 1 : 0;
	return SCP_PACKETS;
}

static int
is_number(const struct scp_decoder *d, int t)
{
	const jsmntok_t *k = tok(d, t);
	char c = d->js[k->start];

	return k->type == JSMN_PRIMITIVE
	    && (c == '-' || (c >= '0' && c <= '9'));
}

static void
classify(const struct scp_decoder *d, int obj, struct scp_packet *pkt)
{
	int v;

	pkt->event = pkt->cid = pkt->rid = pkt->data = pkt->error = SCP_NONE;
	pkt->kind = SCP_OTHER;
	if (tok(d, obj)->type != JSMN_OBJECT) {
		return;
	}
	v = scp_field(d, obj, "event");
	if (v != SCP_NONE && scp_is_string(d, v)) {
		pkt->event = v;
	}
	v = scp_field(d, obj, "cid");
	if (v != SCP_NONE && is_number(d, v)) {
		pkt->cid = v;
	}
	v = scp_field(d, obj, "rid");
	if (v != SCP_NONE && is_number(d, v)) {
		pkt->rid = v;
	}
	v = scp_field(d, obj, "data");
	if (v != SCP_NONE && !scp_is_null(d, v)) {
		pkt->data = v;
	}
	pkt->error = scp_field(d, obj, "error");
	if (pkt->event != SCP_NONE) {
		pkt->kind = SCP_EVENT;
	} else if (pkt->rid != SCP_NONE) {
		pkt->kind = SCP_RESPONSE;
	}
}

int
scp_next(struct scp_decoder *d, struct scp_packet *pkt)
{
	int t;

	if (d->visited >= d->nelems) {
		return 0;
	}
	t = d->cursor;
	classify(d, t, pkt);
	d->cursor = skip(d, t);
	d->visited++;
	return 1;
}

struct scp_span
scp_raw(const struct scp_decoder *d, int t)
{
	const jsmntok_t *k = tok(d, t);
	struct scp_span s;

	s.p = d->js + k->start;
	s.n = (size_t) (k->end - k->start);
	if (k->type == JSMN_STRING) {
		s.p--;
		s.n += 2;
	}
	return s;
}

struct scp_span
scp_str_raw(const struct scp_decoder *d, int t)
{
	const jsmntok_t *k = tok(d, t);
	struct scp_span s = { d->js + k->start, (size_t) (k->end - k->start) };

	return s;
}

int
scp_is_string(const struct scp_decoder *d, int t)
{
	return tok(d, t)->type == JSMN_STRING;
}

int
scp_is_object(const struct scp_decoder *d, int t)
{
	return tok(d, t)->type == JSMN_OBJECT;
}

int
scp_is_null(const struct scp_decoder *d, int t)
{
	const jsmntok_t *k = tok(d, t);

	return k->type == JSMN_PRIMITIVE && d->js[k->start] == 'n';
}

int
scp_array_has(const struct scp_decoder *d, int arr, const char *s, size_t n)
{
	char buf[1024];
	int k = arr + 1;

	if (tok(d, arr)->type != JSMN_ARRAY) {
		return 0;
	}
	for (int i = 0; i < tok(d, arr)->size; i++, k = skip(d, k)) {
		struct scp_span raw;
		long got;

		if (tok(d, k)->type != JSMN_STRING) {
			continue;
		}
		raw = scp_str_raw(d, k);
		if (memchr(raw.p, '\\', raw.n) == NULL) {
			if (raw.n == n && memcmp(raw.p, s, n) == 0) {
				return 1;
			}
			continue;
		}
		got = scp_str_get(d, k, buf, sizeof(buf));
		if (got == (long) n && memcmp(buf, s, n) == 0) {
			return 1;
		}
	}
	return 0;
}

int
scp_field(const struct scp_decoder *d, int obj, const char *key)
{
	int k = obj + 1;
	int n;

	if (tok(d, obj)->type != JSMN_OBJECT) {
		return SCP_NONE;
	}
	n = tok(d, obj)->size;
	for (int i = 0; i < n; i++) {
		if (scp_str_eq(d, k, key)) {
			return k + 1;
		}
		k = skip(d, k + 1);
	}
	return SCP_NONE;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return c - 'A' + 10;
}

static unsigned
hex4(const char *p)
{
	return (unsigned) (hexval(p[0]) << 12 | hexval(p[1]) << 8
	    | hexval(p[2]) << 4 | hexval(p[3]));
}

static size_t
put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char) (0xC0 | cp >> 6);
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char) (0xE0 | cp >> 12);
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | cp >> 18);
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the \u escape at p[0..] (p points at 'u'); jsmn has checked the
 * four hex digits. Sets *adv to the characters consumed after the '\'. */
static unsigned
unicode_escape(const char *p, const char *end, size_t *adv)
{
	unsigned cp = hex4(p + 1);
	unsigned lo;

	*adv = 5;
	if (cp >= 0xDC00 && cp <= 0xDFFF) {
		return 0xFFFD;
	}
	if (cp < 0xD800 || cp > 0xDBFF) {
		return cp;
	}
	if (end - (p + 5) < 6 || p[5] != '\\' || p[6] != 'u') {
		return 0xFFFD;
	}
	lo = hex4(p + 7);
	if (lo < 0xDC00 || lo > 0xDFFF) {
		return 0xFFFD;
	}
	*adv = 11;
	return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
}

static char
simple_escape(char c)
{
	switch (c) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return c; /* '"', '\\' and '/' */
	}
}

long
scp_str_get(const struct scp_decoder *d, int t, char *out, size_t cap)
{
	struct scp_span s = scp_str_raw(d, t);
	const char *p = s.p;
	const char *end = s.p + s.n;
	size_t o = 0;

	while (p < end) {
		char buf[4];
		size_t n = 1;
		size_t adv = 1;

		if (*p != '\\') {
			buf[0] = *p;
		} else if (p[1] == 'u') {
			n = put_utf8(buf, unicode_escape(p + 1, end, &adv));
			adv++;
		} else {
			buf[0] = simple_escape(p[1]);
			adv = 2;
		}
		if (o + n > cap) {
			return -1;
		}
		memcpy(out + o, buf, n);
		o += n;
		p += adv;
	}
	return (long) o;
}

int
scp_str_eq(const struct scp_decoder *d, int t, const char *s)
{
	struct scp_span raw;
	size_t n = strlen(s);
	char buf[256];
	long got;

	if (tok(d, t)->type != JSMN_STRING) {
		return 0;
	}
	raw = scp_str_raw(d, t);
	if (memchr(raw.p, '\\', raw.n) == NULL) {
		return raw.n == n && memcmp(raw.p, s, n) == 0;
	}
	got = scp_str_get(d, t, buf, sizeof(buf));
	return got == (long) n && memcmp(buf, s, n) == 0;
}

void
scp_put_response(struct strbuf *sb, struct scp_span rid, struct scp_span data)
{
	sb_adds(sb, "{\"rid\":");
	sb_add(sb, rid.p, rid.n);
	if (data.p != NULL) {
		sb_adds(sb, ",\"data\":");
		sb_add(sb, data.p, data.n);
	}
	sb_addc(sb, '}');
}

void
scp_put_error(struct strbuf *sb, struct scp_span rid, const char *name,
    const char *message, size_t message_len)
{
	sb_adds(sb, "{\"rid\":");
	sb_add(sb, rid.p, rid.n);
	sb_adds(sb, ",\"error\":{\"message\":");
	sb_add_json_str(sb, message, message_len);
	sb_adds(sb, ",\"name\":");
	sb_add_json_str(sb, name, strlen(name));
	sb_adds(sb, "}}");
}

void
scp_put_error_raw(
    struct strbuf *sb, struct scp_span rid, const char *error, size_t n)
{
	sb_adds(sb, "{\"rid\":");
	sb_add(sb, rid.p, rid.n);
	sb_adds(sb, ",\"error\":");
	sb_add(sb, error, n);
	sb_addc(sb, '}');
}

void
scp_put_publish(
    struct strbuf *sb, const char *chan, size_t chan_len, struct scp_span data)
{
	sb_adds(sb, "{\"event\":\"#publish\",\"data\":{\"channel\":");
	sb_add_json_str(sb, chan, chan_len);
	if (data.p != NULL) {
		sb_adds(sb, ",\"data\":");
		sb_add(sb, data.p, data.n);
	}
	sb_adds(sb, "}}");
}

void
scp_put_event(struct strbuf *sb, const char *event, struct scp_span data)
{
	sb_adds(sb, "{\"event\":");
	sb_add_json_str(sb, event, strlen(event));
	if (data.p != NULL) {
		sb_adds(sb, ",\"data\":");
		sb_add(sb, data.p, data.n);
	}
	sb_addc(sb, '}');
}

char *
scp_str_dup(const struct scp_decoder *d, int t)
{
	size_t cap = scp_str_raw(d, t).n + 1;
	char *out = mem_alloc(cap);
	long n = scp_str_get(d, t, out, cap);

	out[n < 0 ? 0 : n] = '\0';
	return out;
}
