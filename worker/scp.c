#include "scp.h"

#include <stdint.h>
#include <string.h>

#include "common/mem.h"

/* The JSON token types; a key is a string of size 1 (it owns its value),
 * an object's size counts its keys, an array's its elements. */
enum {
	TOK_OBJECT = 1,
	TOK_ARRAY,
	TOK_STRING,
	TOK_PRIMITIVE,
};

struct scp_tok {
	int type;
	int start; /* strings: after the opening quote */
	int end;   /* strings: at the closing quote; others: past the end */
	int size;
	int esc; /* strings: has escapes; containers: opaque (not recorded) */
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
	memset(d, 0, sizeof(*d));
}

static const struct scp_tok *
tok(const struct scp_decoder *d, int t)
{
	return &d->toks[t];
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

/*
 * The tokenizer: one pass that validates exactly what JSON.parse accepts
 * (no control characters in strings, only JSON's escapes, JSON's number
 * grammar, the three literals) and records the tokens the accessors read.
 * Recursive descent, bounded by SCP_MAX_DEPTH; SCP_MAX_TOKENS bounds the
 * table. Values that are only checked (a publish's payload, anything
 * nested deeper than the worker reads) go to tz_skip instead, which does
 * without tokens and recursion. Every function returns -1 on invalid
 * input.
 */
struct tz {
	struct scp_decoder *d;
	const unsigned char *p;
	size_t n;
	size_t i;
	int depth;
	int opaque_from; /* containers this deep are checked, not recorded */
	int quiet;       /* values are only checked (tz_skip), no tokens */
};

static int
tz_new(struct tz *z, int type, size_t start, size_t end)
{
	struct scp_decoder *d = z->d;
	struct scp_tok *t;

	if ((unsigned) d->ntoks == d->cap) {
		if (d->cap >= SCP_MAX_TOKENS) {
			return -1;
		}
		d->cap *= 2;
		d->toks = mem_realloc(d->toks, d->cap * sizeof(*d->toks));
	}
	t = &d->toks[d->ntoks];
	t->type = type;
	t->start = (int) start;
	t->end = (int) end;
	t->size = 0;
	t->esc = 0;
	return d->ntoks++;
}

static size_t
blanks_end(const struct tz *z, size_t i)
{
	/* most JSON is compact: one compare says a byte is no blank */
	while (i < z->n && z->p[i] <= ' '
	    && (z->p[i] == ' ' || z->p[i] == '\n' || z->p[i] == '\r'
	        || z->p[i] == '\t')) {
		i++;
	}
	return i;
}

static void
tz_blanks(struct tz *z)
{
	z->i = blanks_end(z, z->i);
}

static int
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
	    || (c >= 'A' && c <= 'F');
}

/* The escape at p[i] (the '\\'); returns its length or -1. */
static int
tz_escape(const struct tz *z, size_t i)
{
	if (i + 1 >= z->n) {
		return -1;
	}
	switch (z->p[i + 1]) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return 2;
	case 'u':
		if (i + 5 < z->n && is_hex(z->p[i + 2]) && is_hex(z->p[i + 3])
		    && is_hex(z->p[i + 4]) && is_hex(z->p[i + 5])) {
			return 6;
		}
		return -1;
	default:
		return -1;
	}
}

/* 1 for the bytes a string holds as they are: not a control character,
 * not '"' (0x22), not '\\' (0x5c). */
static const unsigned char tz_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x70 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x80 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x90 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xa0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xb0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xc0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xd0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xe0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xf0 */
};

/* Kept out of line: inlined, the word loop's constants and registers are
 * set up on every call of its caller, which costs a one-letter key more
 * than its scan (callgrind: 59 instructions per key). */
#if defined(__GNUC__)
#define SCP_COLD_PATH __attribute__((noinline))
#else
#define SCP_COLD_PATH
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SCP_SWAR 1
#define SCP_HIGH UINT64_C(0xF0F0F0F0F0F0F0F0)
#define SCP_3S   UINT64_C(0x3030303030303030)
#define SCP_6S   UINT64_C(0x0606060606060606)

/* The index of the first byte flagged in f (bit 7 or any bit of its byte
 * set) of the eight loaded little-endian from p[i]. */
static size_t
first_flagged(size_t i, uint64_t f)
{
	return i + (size_t) __builtin_ctzll(f) / 8;
}
#endif

#define SCP_1S  UINT64_C(0x0101010101010101)
#define SCP_80S UINT64_C(0x8080808080808080)

#ifdef SCP_SWAR
/* The eight bytes of w that end a run of plain bytes ('"', '\\', below
 * 0x20) have bit 7 set in the result. A borrow only reaches later bytes,
 * so the first flagged byte is exact. */
static inline uint64_t
plain_flags(uint64_t w)
{
	uint64_t q = w ^ (SCP_1S * '"'), b = w ^ (SCP_1S * '\\');

	return (((q - SCP_1S) & ~q) | ((b - SCP_1S) & ~b)
	           | ((w - SCP_1S * 0x20) & ~w))
	    & SCP_80S;
}
#endif

/* plain_end past the first eight bytes of a run, eight a time where the
 * host allows (long strings: chat messages, padding). */
static SCP_COLD_PATH size_t
plain_end_long(const unsigned char *p, size_t n, size_t i)
{
#ifdef SCP_SWAR
	uint64_t w, f;

	for (; n - i >= 8; i += 8) {
		memcpy(&w, p + i, 8);
		if ((f = plain_flags(w)) != 0) {
			return first_flagged(i, f);
		}
	}
#endif
	while (i < n && tz_plain[p[i]]) {
		i++;
	}
	return i;
}

/* Where the run of bytes a string holds as they are (tz_plain) starting at
 * p[i] ends. Most strings (keys, names) are short: their end is found
 * bytewise, inline. */
static inline size_t
plain_end(const unsigned char *p, size_t n, size_t i)
{
	size_t stop = n - i > 8 ? i + 8 : n;

	while (i < stop && tz_plain[p[i]]) {
		i++;
	}
	return i < stop ? i : plain_end_long(p, n, i);
}

/* scan_string past a run of plain bytes: escapes, long strings and
 * errors. */
static SCP_COLD_PATH size_t
scan_string_rest(const struct tz *z, size_t i, int *esc)
{
	int t;

	*esc = 0;
	for (;;) {
		i = plain_end(z->p, z->n, i);
		if (i >= z->n || z->p[i] < 0x20) {
			return SIZE_MAX;
		}
		if (z->p[i] == '"') {
			return i;
		}
		t = tz_escape(z, i);
		if (t < 0) {
			return SIZE_MAX;
		}
		i += (size_t) t;
		*esc = 1;
	}
}

/* Where the string whose first byte is p[i] (after its opening quote)
 * closes, or SIZE_MAX if it is not valid; *esc: it has escapes. A short
 * plain string (a key, a name) is found inline. */
static inline size_t
scan_string(const struct tz *z, size_t i, int *esc)
{
	i = plain_end(z->p, z->n, i);
	if (i < z->n && z->p[i] == '"') {
		*esc = 0;
		return i;
	}
	return scan_string_rest(z, i, esc);
}

static int
tz_string(struct tz *z)
{
	int t, esc;
	size_t i = scan_string(z, z->i + 1, &esc);

	if (i == SIZE_MAX) {
		return -1;
	}
	t = tz_new(z, TOK_STRING, z->i + 1, i);
	if (t >= 0) {
		z->d->toks[t].esc = esc;
	}
	z->i = i + 1;
	return t;
}

/* Where the run of digits at p[i] ends. Eight bytes a time on
 * little-endian hosts: a byte is a digit when its high nibble is 3 and
 * adding 6 leaves it 3 (the timestamps and sequence numbers of a typical
 * payload are most of its bytes). */
static inline size_t
digits(const unsigned char *p, size_t n, size_t i)
{
#ifdef SCP_SWAR
	uint64_t w, f;

	for (; n - i >= 8; i += 8) {
		memcpy(&w, p + i, 8);
		/* A carry out of a non-digit only reaches later bytes. */
		f = ((w & SCP_HIGH) ^ SCP_3S)
		    | (((w + SCP_6S) & SCP_HIGH) ^ SCP_3S);
		if (f != 0) {
			return first_flagged(i, f);
		}
	}
#endif
	while (i < n && p[i] >= '0' && p[i] <= '9') {
		i++;
	}
	return i;
}

/* A number's fraction and exponent, from p[i] ('.', 'e' or 'E'); where
 * the number ends, or SIZE_MAX. */
static SCP_COLD_PATH size_t
number_rest(const unsigned char *p, size_t n, size_t i)
{
	size_t at;

	if (p[i] == '.') {
		at = ++i;
		if ((i = digits(p, n, i)) == at) {
			return SIZE_MAX;
		}
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i += i + 1 < n && (p[i + 1] == '+' || p[i + 1] == '-');
		at = ++i;
		if ((i = digits(p, n, i)) == at) {
			return SIZE_MAX;
		}
	}
	return i;
}

/* Where the number whose first digit should be p[i] ends, or SIZE_MAX
 * (also when p[i] is no digit). An integer, the common case, is found
 * inline. */
static inline size_t
scan_unsigned(const unsigned char *p, size_t n, size_t i)
{
	if (p[i] == '0') {
		i++;
	} else if ((unsigned) (p[i] - '1') < 9) {
		i = digits(p, n, i + 1);
	} else {
		return SIZE_MAX;
	}
	if (i < n && (p[i] == '.' || (p[i] | 0x20) == 'e')) {
		return number_rest(p, n, i);
	}
	return i;
}

/* Where the number at p[i] (i < n) ends, or SIZE_MAX. */
static inline size_t
scan_number(const unsigned char *p, size_t n, size_t i)
{
	i += p[i] == '-';
	return i < n ? scan_unsigned(p, n, i) : SIZE_MAX;
}

static int
tz_number(struct tz *z)
{
	size_t at = z->i, i = scan_number(z->p, z->n, z->i);

	if (i == SIZE_MAX) {
		return -1;
	}
	z->i = i;
	return tz_new(z, TOK_PRIMITIVE, at, i);
}

/* memcmp(p, lit, n) == 0, a word at a time and inlined for fixed
 * literals (the library's memcmp was 4 % of a worker's CPU in the echo
 * benchmark). */
static inline int
lit_eq(const unsigned char *p, const char *lit, size_t n)
{
	uint64_t a, b, diff = 0;
	uint32_t x, y;
	size_t i = 0;

	if (n >= 8) {
		for (; i + 8 <= n; i += 8) {
			memcpy(&a, p + i, 8);
			memcpy(&b, lit + i, 8);
			diff |= a ^ b;
		}
		if (i < n) { /* the last eight, overlapping */
			memcpy(&a, p + n - 8, 8);
			memcpy(&b, lit + n - 8, 8);
			diff |= a ^ b;
		}
		return diff == 0;
	}
	if (n >= 4) { /* the first four and the last four */
		memcpy(&x, p, 4);
		memcpy(&y, lit, 4);
		diff = x ^ y;
		memcpy(&x, p + n - 4, 4);
		memcpy(&y, lit + n - 4, 4);
		return (diff | (x ^ y)) == 0;
	}
	for (; i < n; i++) {
		diff |= (uint64_t) (p[i] ^ (unsigned char) lit[i]);
	}
	return diff == 0;
}

static size_t
skip_word(const struct tz *z, size_t i, const char *word, size_t n)
{
	return z->n - i >= n && lit_eq(z->p + i, word, n) ? i + n : SIZE_MAX;
}

static int
tz_literal(struct tz *z, const char *word, size_t n)
{
	size_t at = z->i, end = skip_word(z, at, word, n);

	if (end == SIZE_MAX) {
		return -1;
	}
	z->i = end;
	return tz_new(z, TOK_PRIMITIVE, at, end);
}

/* A member's key and its colon at p[i..] (blanks allowed around); returns
 * where its value may start, or SIZE_MAX. */
static size_t
skip_key(const struct tz *z, size_t i)
{
	int esc;

	i = blanks_end(z, i);
	if (i >= z->n || z->p[i] != '"') {
		return SIZE_MAX;
	}
	i = scan_string(z, i + 1, &esc);
	if (i == SIZE_MAX) {
		return SIZE_MAX;
	}
	i = blanks_end(z, i + 1);
	return i < z->n && z->p[i] == ':' ? i + 1 : SIZE_MAX;
}

/* skip_key for the common compact key (a quoted name of up to eight
 * plain bytes, then a colon), inline; any other goes to skip_key. Byte by
 * byte on purpose: the loop's branches are predicted, so the next loads
 * need not wait for this one. An eight-byte load with a bit trick (as
 * plain_end_long does) puts its latency on the path to every later byte:
 * it took a loop over agbench's payload from 38 to 58 ns, in fewer
 * instructions. */
static inline size_t
skip_key_fast(const struct tz *z, size_t i)
{
	size_t j = i + 1, stop = z->n - i > 10 ? i + 10 : 0;

	if (stop != 0 && z->p[i] == '"') {
		while (j < stop && tz_plain[z->p[j]]) {
			j++;
		}
		if (j < stop && z->p[j] == '"' && z->p[j + 1] == ':') {
			return j + 2;
		}
	}
	return skip_key(z, i);
}

/* A scalar at p[i] (not a container, i < n); returns where it ends, or
 * SIZE_MAX. Numbers first: most of a typical payload's values. */
static inline size_t
skip_scalar(const struct tz *z, size_t i)
{
	unsigned char c = z->p[i];
	int esc;

	if ((unsigned) (c - '0') < 10 || c == '-') {
		return scan_number(z->p, z->n, i);
	}
	switch (c) {
	case '"':
		i = scan_string(z, i + 1, &esc);
		return i == SIZE_MAX ? i : i + 1;
	case 't':
		return skip_word(z, i, "true", 4);
	case 'f':
		return skip_word(z, i, "false", 5);
	case 'n':
		return skip_word(z, i, "null", 4);
	default:
		return SIZE_MAX;
	}
}

/* The nesting of tz_skip is a bit per level in a 64-bit word. */
_Static_assert(SCP_MAX_DEPTH <= 64, "tz_skip keeps a bit per level");

/*
 * Checks the value at z->i as the tokenizer would, for a value that is
 * only checked (z->quiet): no tokens and no recursion. The nesting is a
 * bit per level (1: an object), at most SCP_MAX_DEPTH in all. A publish's
 * payload is such a value: this is the many-channels echo's inner loop.
 */

static int
tz_skip(struct tz *z)
{
	const unsigned char *p = z->p;
	const size_t n = z->n;
	size_t i = z->i, j;
	uint64_t objs = 0;
	int depth = 0, room = SCP_MAX_DEPTH - z->depth;
	unsigned char c;

	for (;;) {
		/* a value: numbers first (most of a typical payload's values);
		 * blanks are rare, so one compare rules them out */
		if (i >= n) {
			return -1;
		}
		c = p[i];
		if ((unsigned) (c - '0') < 10) {
			i = scan_unsigned(p, n, i);
		} else if (c == '{' || c == '[') {
			if (depth >= room) {
				return -1;
			}
			objs = objs << 1 | (c == '{');
			depth++;
			i = blanks_end(z, i + 1);
			if (i >= n || p[i] != (objs & 1 ? '}' : ']')) {
				if ((objs & 1)
				    && (i = skip_key_fast(z, i)) == SIZE_MAX) {
					return -1;
				}
				continue;
			}
			objs >>= 1;
			depth--;
			i++;
		} else if (c <= ' ') {
			if ((j = blanks_end(z, i)) == i) {
				return -1;
			}
			i = j;
			continue;
		} else {
			i = skip_scalar(z, i);
		}
		if (i == SIZE_MAX) {
			return -1;
		}
		/* after a value: a comma (most), the containers it closes */
		for (;;) {
			if (depth == 0) {
				z->i = i;
				return 0;
			}
			if (i >= n) {
				return -1;
			}
			c = p[i];
			if (c == ',') {
				i++;
				if ((objs & 1)
				    && (i = skip_key_fast(z, i)) == SIZE_MAX) {
					return -1;
				}
				break;
			}
			if (c == (objs & 1 ? '}' : ']')) {
				objs >>= 1;
				depth--;
				i++;
			} else if (c > ' ' || (j = blanks_end(z, i)) == i) {
				return -1;
			} else {
				i = j;
			}
		}
	}
}

static int tz_value(struct tz *z);

/* After an element: a comma (returns 1), the closing byte (0), else -1. */
static int
tz_next(struct tz *z, unsigned char close)
{
	tz_blanks(z);
	if (z->i < z->n && z->p[z->i] == ',') {
		z->i++;
		return 1;
	}
	if (z->i < z->n && z->p[z->i] == close) {
		z->i++;
		return 0;
	}
	return -1;
}

static int
tz_member(struct tz *z)
{
	int k;

	tz_blanks(z);
	if (z->i >= z->n || z->p[z->i] != '"' || (k = tz_string(z)) < 0) {
		return -1;
	}
	z->d->toks[k].size = 1;
	tz_blanks(z);
	if (z->i >= z->n || z->p[z->i] != ':') {
		return -1;
	}
	z->i++;
	return tz_value(z) < 0 ? -1 : 0;
}

/*
 * An object or an array, at its opening byte. One nested deeper than any
 * field the worker reads (a publish's payload) is only checked: its token
 * has size 0 and esc set, and nothing inside it gets one.
 */
static int
tz_container(struct tz *z)
{
	int obj = z->p[z->i] == '{';
	unsigned char close = obj ? '}' : ']';
	int t = tz_new(z, obj ? TOK_OBJECT : TOK_ARRAY, z->i, 0);
	int more = 1;

	if (t < 0) {
		return -1;
	}
	if (z->depth + 1 >= z->opaque_from) {
		if (tz_skip(z) < 0) {
			return -1;
		}
		z->d->toks[t].end = (int) z->i;
		z->d->toks[t].esc = 1;
		return t;
	}
	if (++z->depth > SCP_MAX_DEPTH) {
		return -1;
	}
	z->i++;
	tz_blanks(z);
	if (z->i < z->n && z->p[z->i] == close) {
		z->i++;
		more = 0;
	}
	while (more) {
		if ((obj ? tz_member(z) : tz_value(z)) < 0) {
			return -1;
		}
		z->d->toks[t].size++;
		if ((more = tz_next(z, close)) < 0) {
			return -1;
		}
	}
	z->d->toks[t].end = (int) z->i;
	z->depth--;
	return t;
}

static int
tz_value(struct tz *z)
{
	if (z->quiet) {
		return tz_skip(z);
	}
	tz_blanks(z);
	if (z->i >= z->n) {
		return -1;
	}
	switch (z->p[z->i]) {
	case '{':
	case '[':
		return tz_container(z);
	case '"':
		return tz_string(z);
	case 't':
		return tz_literal(z, "true", 4);
	case 'f':
		return tz_literal(z, "false", 5);
	case 'n':
		return tz_literal(z, "null", 4);
	default:
		return tz_number(z);
	}
}

enum scp_result
scp_decode(struct scp_decoder *d, const char *text, size_t len)
{
	struct tz z = { d, (const unsigned char *) text, len, 0, 0, 0, 0 };

	d->js = text;
	d->len = len;
	d->ntoks = 0;
	d->nelems = 0;
	d->visited = 0;
	tz_blanks(&z);
	if (z.i == len || (text[z.i] != '{' && text[z.i] != '[')) {
		return SCP_RAW;
	}
	if (d->cap == 0) {
		d->cap = 64;
		d->toks = mem_alloc(d->cap * sizeof(*d->toks));
	}
	/* A packet's data's members are the deepest the worker reads: a
	 * container among them (a publish's payload) is on level 3 of a lone
	 * packet, 4 of a batch. */
	z.opaque_from = text[z.i] == '[' ? 4 : 3;
	if (tz_container(&z) < 0) {
		d->ntoks = 0;
		return SCP_RAW;
	}
	tz_blanks(&z);
	if (z.i != len) {
		d->ntoks = 0;
		return SCP_RAW;
	}
	d->is_array = tok(d, 0)->type == TOK_ARRAY;
	d->nelems = d->is_array ? tok(d, 0)->size : 1;
	d->cursor = d->is_array ? 1 : 0;
	return SCP_PACKETS;
}

#define PUB_HEAD "{\"event\":\"#publish\",\"data\":{\"channel\":\""
#define PUB_DATA ",\"data\":"
#define PUB_CID  ",\"cid\":"

/* 1 when p[*i..] starts with the literal lit (of n bytes); moves *i past. */
static inline int
match_lit(
    const unsigned char *p, size_t len, size_t *i, const char *lit, size_t n)
{
	if (len - *i < n || !lit_eq(p + *i, lit, n)) {
		return 0;
	}
	*i += n;
	return 1;
}

/* A cid as JSON.stringify writes a positive integer: 0 or [1-9][0-9]*. */
static size_t
match_digits(const unsigned char *p, size_t len, size_t i)
{
	size_t at = i;

	if (i < len && p[i] == '0') {
		return 1;
	}
	while (i < len && p[i] >= '0' && p[i] <= '9') {
		i++;
	}
	return i - at;
}

int
scp_match_publish(struct scp_decoder *d, const char *text, size_t len,
    struct scp_publish *out)
{
	const unsigned char *p = (const unsigned char *) text;
	/* the payload is a member's value of the data object: depth 2, no
	 * tokens, as scp_decode checks it */
	struct tz z = { d, p, len, 0, 2, 0, 1 };
	size_t i = 0, at, n;

	if (!match_lit(p, len, &i, PUB_HEAD, sizeof(PUB_HEAD) - 1)) {
		return 0;
	}
	at = i;
	i = plain_end(p, len, i);
	/* an escape or a control character in the name: the full decoder */
	if (i == len || p[i] != '"') {
		return 0;
	}
	out->channel = (struct scp_span) { text + at, i - at };
	i++;
	if (!match_lit(p, len, &i, PUB_DATA, sizeof(PUB_DATA) - 1)) {
		return 0;
	}
	z.i = at = i;
	if (i == len || p[i] == ' ' || p[i] == '\t' || p[i] == '\n'
	    || p[i] == '\r' || tz_value(&z) < 0) {
		return 0;
	}
	out->data = (struct scp_span) { text + at, z.i - at };
	i = z.i;
	out->cid = (struct scp_span) { NULL, 0 };
	if (!match_lit(p, len, &i, "}", 1)) {
		return 0;
	}
	if (match_lit(p, len, &i, PUB_CID, sizeof(PUB_CID) - 1)) {
		n = match_digits(p, len, i);
		if (n == 0) {
			return 0;
		}
		out->cid = (struct scp_span) { text + i, n };
		i += n;
	}
	return match_lit(p, len, &i, "}", 1) && i == len;
}

static int
is_number(const struct scp_decoder *d, int t)
{
	const struct scp_tok *k = tok(d, t);
	char c = d->js[k->start];

	return k->type == TOK_PRIMITIVE
	    && (c == '-' || (c >= '0' && c <= '9'));
}

/* The packet fields classify() looks for, by the key's raw text. */
static int *
packet_field(struct scp_packet *pkt, const struct scp_decoder *d, int k)
{
	struct scp_span key = scp_str_raw(d, k);

	if (tok(d, k)->esc) {
		/* Escaped keys are rare: compare them unescaped. */
		return scp_str_eq(d, k, "event") ? &pkt->event
		    : scp_str_eq(d, k, "data")   ? &pkt->data
		    : scp_str_eq(d, k, "cid")    ? &pkt->cid
		    : scp_str_eq(d, k, "rid")    ? &pkt->rid
		    : scp_str_eq(d, k, "error")  ? &pkt->error
		                                 : NULL;
	}
	switch (key.n) {
	case 3:
		return memcmp(key.p, "cid", 3) == 0 ? &pkt->cid
		    : memcmp(key.p, "rid", 3) == 0  ? &pkt->rid
		                                    : NULL;
	case 4:
		return memcmp(key.p, "data", 4) == 0 ? &pkt->data : NULL;
	case 5:
		return memcmp(key.p, "event", 5) == 0 ? &pkt->event
		    : memcmp(key.p, "error", 5) == 0  ? &pkt->error
		                                      : NULL;
	default:
		return NULL;
	}
}

/* Reads a packet's fields in one walk over its keys; as in JSON.parse,
 * the last of duplicate keys counts. */
static void
classify(const struct scp_decoder *d, int obj, struct scp_packet *pkt)
{
	int k = obj + 1;

	pkt->event = pkt->cid = pkt->rid = pkt->data = pkt->error = SCP_NONE;
	pkt->kind = SCP_OTHER;
	if (tok(d, obj)->type != TOK_OBJECT) {
		return;
	}
	for (int i = 0; i < tok(d, obj)->size; i++, k = skip(d, k + 1)) {
		int *f = packet_field(pkt, d, k);

		if (f != NULL) {
			*f = k + 1;
		}
	}
	if (pkt->event != SCP_NONE && !scp_is_string(d, pkt->event)) {
		pkt->event = SCP_NONE;
	}
	if (pkt->cid != SCP_NONE && !is_number(d, pkt->cid)) {
		pkt->cid = SCP_NONE;
	}
	if (pkt->rid != SCP_NONE && !is_number(d, pkt->rid)) {
		pkt->rid = SCP_NONE;
	}
	if (pkt->data != SCP_NONE && scp_is_null(d, pkt->data)) {
		pkt->data = SCP_NONE;
	}
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
	const struct scp_tok *k = tok(d, t);
	struct scp_span s;

	s.p = d->js + k->start;
	s.n = (size_t) (k->end - k->start);
	if (k->type == TOK_STRING) {
		s.p--;
		s.n += 2;
	}
	return s;
}

struct scp_span
scp_str_raw(const struct scp_decoder *d, int t)
{
	const struct scp_tok *k = tok(d, t);
	struct scp_span s = { d->js + k->start, (size_t) (k->end - k->start) };

	return s;
}

int
scp_is_string(const struct scp_decoder *d, int t)
{
	return tok(d, t)->type == TOK_STRING;
}

int
scp_is_object(const struct scp_decoder *d, int t)
{
	return tok(d, t)->type == TOK_OBJECT;
}

int
scp_is_null(const struct scp_decoder *d, int t)
{
	const struct scp_tok *k = tok(d, t);

	return k->type == TOK_PRIMITIVE && d->js[k->start] == 'n';
}

int
scp_array_has(const struct scp_decoder *d, int arr, const char *s, size_t n)
{
	char buf[1024];
	int k = arr + 1;

	if (tok(d, arr)->type != TOK_ARRAY) {
		return 0;
	}
	for (int i = 0; i < tok(d, arr)->size; i++, k = skip(d, k)) {
		struct scp_span raw;
		long got;

		if (tok(d, k)->type != TOK_STRING) {
			continue;
		}
		raw = scp_str_raw(d, k);
		if (!tok(d, k)->esc) {
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
	int k = obj + 1, found = SCP_NONE;
	int n;

	if (tok(d, obj)->type != TOK_OBJECT) {
		return SCP_NONE;
	}
	n = tok(d, obj)->size;
	/* As JSON.parse: the last of duplicate keys counts. */
	for (int i = 0; i < n; i++) {
		if (scp_str_eq(d, k, key)) {
			found = k + 1;
		}
		k = skip(d, k + 1);
	}
	return found;
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

/* Decodes the \u escape at p[0..] (p points at 'u'); the tokenizer has checked
 * the four hex digits. Sets *adv to the characters consumed after the '\'. */
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
scp_str_eqn(const struct scp_decoder *d, int t, const char *s, size_t n)
{
	struct scp_span raw;
	char buf[256];
	long got;

	if (tok(d, t)->type != TOK_STRING) {
		return 0;
	}
	raw = scp_str_raw(d, t);
	if (!tok(d, t)->esc) {
		return raw.n == n && memcmp(raw.p, s, n) == 0;
	}
	got = scp_str_get(d, t, buf, sizeof(buf));
	return got == (long) n && memcmp(buf, s, n) == 0;
}

int
scp_str_eq(const struct scp_decoder *d, int t, const char *s)
{
	return scp_str_eqn(d, t, s, strlen(s));
}

void
scp_put_response(struct strbuf *sb, struct scp_span rid, struct scp_span data)
{
	SB_ADDL(sb, "{\"rid\":");
	sb_add(sb, rid.p, rid.n);
	if (data.p != NULL) {
		SB_ADDL(sb, ",\"data\":");
		sb_add(sb, data.p, data.n);
	}
	sb_addc(sb, '}');
}

void
scp_put_error(struct strbuf *sb, struct scp_span rid, const char *name,
    const char *message, size_t message_len)
{
	SB_ADDL(sb, "{\"rid\":");
	sb_add(sb, rid.p, rid.n);
	SB_ADDL(sb, ",\"error\":{\"message\":");
	sb_add_json_str(sb, message, message_len);
	SB_ADDL(sb, ",\"name\":");
	sb_add_json_str(sb, name, strlen(name));
	SB_ADDL(sb, "}}");
}

void
scp_put_error_raw(
    struct strbuf *sb, struct scp_span rid, const char *error, size_t n)
{
	SB_ADDL(sb, "{\"rid\":");
	sb_add(sb, rid.p, rid.n);
	SB_ADDL(sb, ",\"error\":");
	sb_add(sb, error, n);
	sb_addc(sb, '}');
}

void
scp_put_publish(
    struct strbuf *sb, const char *chan, size_t chan_len, struct scp_span data)
{
	SB_ADDL(sb, "{\"event\":\"#publish\",\"data\":{\"channel\":");
	sb_add_json_str(sb, chan, chan_len);
	if (data.p != NULL) {
		SB_ADDL(sb, ",\"data\":");
		sb_add(sb, data.p, data.n);
	}
	SB_ADDL(sb, "}}");
}

int
scp_name_plain(const char *chan, size_t chan_len)
{
	return plain_end((const unsigned char *) chan, chan_len, 0)
	    == chan_len;
}

size_t
scp_publish_len(size_t chan_len, struct scp_span data)
{
	return sizeof(PUB_HEAD) - 1 + chan_len + 1
	    + (data.p != NULL ? sizeof(PUB_DATA) - 1 + data.n : 0) + 2;
}

void
scp_write_publish(
    char *out, const char *chan, size_t chan_len, struct scp_span data)
{
	memcpy(out, PUB_HEAD, sizeof(PUB_HEAD) - 1);
	out += sizeof(PUB_HEAD) - 1;
	memcpy(out, chan, chan_len);
	out += chan_len;
	*out++ = '"';
	if (data.p != NULL) {
		memcpy(out, PUB_DATA, sizeof(PUB_DATA) - 1);
		out += sizeof(PUB_DATA) - 1;
		memcpy(out, data.p, data.n);
		out += data.n;
	}
	memcpy(out, "}}", 2);
}

void
scp_put_event(struct strbuf *sb, const char *event, struct scp_span data)
{
	SB_ADDL(sb, "{\"event\":");
	sb_add_json_str(sb, event, strlen(event));
	if (data.p != NULL) {
		SB_ADDL(sb, ",\"data\":");
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
