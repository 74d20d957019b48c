#include "tjson.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
/* Parent links make closing a container cost its depth, not the number of
 * tokens before it. */
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "common/mem.h"

struct tjson_tok {
	jsmntok_t t;
};

static const jsmntok_t *
tok(const struct tjson *d, int i)
{
	return &d->t[i].t;
}

/* Returns the length of the sequence at p if it is valid UTF-8 (*ok set),
 * else the bytes that one U+FFFD replaces (WHATWG: the maximal subpart). */
static size_t
utf8_sequence(const uint8_t *p, size_t n, int *ok)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t need;

	*ok = 0;
	if (c < 0x80) {
		*ok = 1;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		lo = c == 0xe0 ? 0xa0 : lo;
		hi = c == 0xed ? 0x9f : hi;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		lo = c == 0xf0 ? 0x90 : lo;
		hi = c == 0xf4 ? 0x8f : hi;
	} else {
		return 1;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			return i;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	*ok = 1;
	return need + 1;
}

/* Appends p to sb as Node's buf.toString('utf8') reads it: each invalid
 * sequence becomes U+FFFD, so what we keep is always valid UTF-8. */
void
tjson_utf8(struct strbuf *sb, const void *bytes, size_t n)
{
	const uint8_t *p = bytes;
	size_t i = 0;

	while (i < n) {
		int ok;
		size_t k = utf8_sequence(p + i, n - i, &ok);

		if (ok) {
			sb_add(sb, p + i, k);
		} else {
			sb_add(sb, "\xef\xbf\xbd", 3);
		}
		i += k;
	}
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
valid_number(const char *p, size_t n)
{
	size_t i = n > 0 && p[0] == '-';

	if (i < n && p[i] == '0') {
		i++;
	} else if (i < n && p[i] >= '1' && p[i] <= '9') {
		while (i < n && p[i] >= '0' && p[i] <= '9') {
			i++;
		}
	} else {
		return 0;
	}
	if (i < n && p[i] == '.') {
		size_t start = ++i;

		while (i < n && p[i] >= '0' && p[i] <= '9') {
			i++;
		}
		if (i == start) {
			return 0;
		}
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		size_t start;

		i += 1 + (i + 1 < n && (p[i + 1] == '+' || p[i + 1] == '-'));
		start = i;
		while (i < n && p[i] >= '0' && p[i] <= '9') {
			i++;
		}
		if (i == start) {
			return 0;
		}
	}
	return i == n;
}

int
tjson_primitive_valid(const char *p, size_t n)
{
	return (n == 4 && memcmp(p, "true", 4) == 0)
	    || (n == 5 && memcmp(p, "false", 5) == 0)
	    || (n == 4 && memcmp(p, "null", 4) == 0) || valid_number(p, n);
}

/* jsmn checks escapes but lets control characters through. */
static int
valid_string(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char) p[i] < 0x20) {
			return 0;
		}
	}
	return 1;
}

static int
depth_ok(const char *p, size_t n)
{
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"') {
			for (i++; i < n && p[i] != '"'; i++) {
				i += p[i] == '\\';
			}
		} else if (p[i] == '[' || p[i] == '{') {
			if (++depth > TJSON_MAX_DEPTH) {
				return 0;
			}
		} else if (p[i] == ']' || p[i] == '}') {
			depth--;
		}
	}
	return 1;
}

static int
raw_start(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->start - 1 : t->start;
}

static int
raw_end(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->end + 1 : t->end;
}

/* Returns 1 if js[a, b) is blanks around exactly one sep, or only blanks
 * when sep is 0. jsmn does not check commas and colons; this does. */
static int
gap_ok(const char *js, int a, int b, char sep)
{
	int seen = 0;

	for (int i = a; i < b; i++) {
		if (sep != 0 && js[i] == sep && !seen) {
			seen = 1;
		} else if (!is_blank(js[i])) {
			return 0;
		}
	}
	return seen == (sep != 0);
}

/* Checks token i against its parent: keys are strings with one value, and
 * the separators between members are right. last[c] is the end of the last
 * member of container c. */
static int
member_ok(const struct tjson *d, int i, int *last)
{
	const jsmntok_t *t = tok(d, i), *up = tok(d, t->parent);
	int first;

	if (up->type == JSMN_STRING) {
		if (tok(d, up->parent)->type != JSMN_OBJECT
		    || !gap_ok(d->js, raw_end(up), raw_start(t), ':')) {
			return 0;
		}
		last[up->parent] = raw_end(t);
		return 1;
	}
	if (up->type == JSMN_PRIMITIVE
	    || (up->type == JSMN_OBJECT
	        && (t->type != JSMN_STRING || t->size != 1))) {
		return 0;
	}
	first = last[t->parent] == up->start + 1;
	if (!gap_ok(d->js, last[t->parent], raw_start(t), first ? 0 : ',')) {
		return 0;
	}
	last[t->parent] = raw_end(t);
	return 1;
}

static int
leaf_ok(const struct tjson *d, const jsmntok_t *t)
{
	const char *p = d->js + t->start;
	size_t n = (size_t) (t->end - t->start);

	if (t->type == JSMN_STRING) {
		return valid_string(p, n);
	}
	return t->type != JSMN_PRIMITIVE
	    || (t->size == 0 && tjson_primitive_valid(p, n));
}

static int
structure_ok(const struct tjson *d, size_t len)
{
	int *last = mem_alloc((size_t) d->n * sizeof(int));
	int ok = gap_ok(d->js, raw_end(tok(d, 0)), (int) len, 0);

	for (int i = 0; ok && i < d->n; i++) {
		const jsmntok_t *t = tok(d, i);

		if (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) {
			last[i] = t->start + 1;
		}
		ok = leaf_ok(d, t)
		    && (i == 0 ? t->parent == -1
		               : t->parent >= 0 && member_ok(d, i, last));
	}
	for (int i = 0; ok && i < d->n; i++) {
		const jsmntok_t *t = tok(d, i);

		if (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) {
			ok = gap_ok(d->js, last[i], t->end - 1, 0);
		}
	}
	mem_free(last);
	return ok;
}

static int
tokenize(struct tjson *d, const char *js, size_t len)
{
	jsmn_parser p;
	int n;

	if (!depth_ok(js, len)) {
		return -1;
	}
	jsmn_init(&p);
	n = jsmn_parse(&p, js, len, NULL, 0);
	if (n <= 0) {
		return -1;
	}
	d->t = mem_alloc((size_t) n * sizeof(*d->t));
	jsmn_init(&p);
	d->n = jsmn_parse(&p, js, len, &d->t[0].t, (unsigned) n);
	return d->n > 0 ? 0 : -1;
}

int
tjson_parse(struct tjson *d, const char *js, size_t len)
{
	size_t i = 0;

	memset(d, 0, sizeof(*d));
	d->js = js;
	while (i < len && is_blank(js[i])) {
		i++;
	}
	if (i == len || len > INT32_MAX) {
		return -1;
	}
	if (js[i] != '{' && js[i] != '[' && js[i] != '"') {
		d->start = i;
		d->end = len;
		while (d->end > i && is_blank(js[d->end - 1])) {
			d->end--;
		}
		return tjson_primitive_valid(js + i, d->end - i) ? 0 : -1;
	}
	if (tokenize(d, js, len) != 0 || !structure_ok(d, len)) {
		/* Half-built tokens must not pass for a parsed text. */
		tjson_fini(d);
		d->n = 0;
		return -1;
	}
	return 0;
}

void
tjson_fini(struct tjson *d)
{
	mem_free(d->t);
	d->t = NULL;
}

int
tjson_is_object(const struct tjson *d)
{
	return d->t != NULL && tok(d, 0)->type == JSMN_OBJECT;
}

/* Reads the escape at p[*i] (a backslash), advancing *i past it. */
static unsigned
unescape(const char *p, size_t n, size_t *i)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	char c = *i + 1 < n ? p[*i + 1] : '\0';
	const char *at = c != '\0' ? strchr(from, c) : NULL;
	unsigned v = 0;

	if (c == 'u' && *i + 6 <= n) {
		for (size_t k = *i + 2; k < *i + 6; k++) {
			int h = p[k] <= '9' ? p[k] - '0'
			                    : (p[k] | 0x20) - 'a' + 10;

			v = v << 4 | (unsigned) h;
		}
		*i += 6;
		return v;
	}
	*i += 2;
	return at != NULL ? (unsigned char) to[at - from] : 0xfffd;
}

/* Returns 1 if string token i, unescaped, is the ASCII text name. */
int
tjson_str_eq(const struct tjson *d, int i, const char *name)
{
	const char *p = d->js + tok(d, i)->start;
	size_t n = (size_t) (tok(d, i)->end - tok(d, i)->start), at = 0, k = 0;

	if (tok(d, i)->type != JSMN_STRING) {
		return 0;
	}
	while (at < n) {
		unsigned c = (unsigned char) p[at];

		if (c == '\\') {
			c = unescape(p, n, &at);
		} else {
			at++;
		}
		if (name[k] == '\0' || (unsigned char) name[k] != c) {
			return 0;
		}
		k++;
	}
	return name[k] == '\0';
}

/* Returns the token of the value of the top-level object's member name,
 * the last one as JSON.parse keeps it, or -1. */
int
tjson_member(const struct tjson *d, const char *name)
{
	int found = -1;

	if (!tjson_is_object(d)) {
		return -1;
	}
	for (int i = 1; i < d->n; i++) {
		if (tok(d, i)->parent == 0 && tjson_str_eq(d, i, name)) {
			found = i + 1;
		}
	}
	return found;
}

/* Reads n bytes holding a valid JSON number. strtod needs a terminator. */
static double
parse_double(const char *p, size_t n)
{
	char *s = mem_strndup(p, n);
	double v = strtod(s, NULL);

	mem_free(s);
	return v;
}

/* Returns 0 with the value of token i if it is a number, else -1. Like
 * JSON.parse, too large a number is an infinity. */
int
tjson_number(const struct tjson *d, int i, double *v)
{
	const jsmntok_t *t = tok(d, i);

	if (t->type != JSMN_PRIMITIVE
	    || !valid_number(d->js + t->start, (size_t) (t->end - t->start))) {
		return -1;
	}
	*v = parse_double(d->js + t->start, (size_t) (t->end - t->start));
	return 0;
}

/* JavaScript's falsy JSON values: false, null, 0 and "". */
int
tjson_falsy(const struct tjson *d)
{
	const char *p = d->js + d->start;
	size_t n = d->end - d->start;

	if (d->t != NULL) {
		return tok(d, 0)->type == JSMN_STRING
		    && tok(d, 0)->start == tok(d, 0)->end;
	}
	if (valid_number(p, n)) {
		return parse_double(p, n) == 0;
	}
	return p[0] == 'f' || p[0] == 'n';
}

/* Appends JSON text without the blanks outside its strings. */
static void
add_minified(struct strbuf *sb, const char *p, size_t n)
{
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		if (!in_str && is_blank(p[i])) {
			continue;
		}
		sb_addc(sb, p[i]);
		if (in_str && p[i] == '\\' && i + 1 < n) {
			sb_addc(sb, p[++i]);
		} else if (p[i] == '"') {
			in_str = !in_str;
		}
	}
}

int
tjson_next_key(const struct tjson *d, int i)
{
	if (!tjson_is_object(d)) {
		return -1;
	}
	for (i++; i < d->n; i++) {
		if (tok(d, i)->parent == 0) {
			return i;
		}
	}
	return -1;
}

void
tjson_add_member(const struct tjson *d, int key, struct strbuf *sb)
{
	int start = raw_start(tok(d, key)), end = raw_end(tok(d, key + 1));

	add_minified(sb, d->js + start, (size_t) (end - start));
}
