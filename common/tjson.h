/*
 * Token JSON: reads the header and payload of an auth token exactly as
 * strictly as JavaScript's JSON.parse does, since what the reference server
 * accepts decides which tokens are valid. jsmn tokenizes; this module adds
 * what jsmn leaves out (commas, colons, literals, numbers, control
 * characters, a single top-level value). Pure and allocation-bounded: the
 * tokens are counted before they are allocated.
 *
 * Only what common/token.c needs: the top-level object's members by name
 * (the last of duplicates wins, as in JSON.parse), strings compared after
 * unescaping, numbers as doubles, and members copied without blanks.
 */
#ifndef AG_TJSON_H
#define AG_TJSON_H

#include <stddef.h>

#include "common/strbuf.h"

/* Containers nested deeper than this are refused as invalid JSON: jsmn's
 * cost to close a container grows with its depth. */
#define TJSON_MAX_DEPTH 64

struct tjson_tok;

/* A parsed text. Token indexes are jsmn's: 0 is the top-level value, a
 * member's key is followed by its value. */
struct tjson {
	const char *js;      /* borrowed: the text */
	struct tjson_tok *t; /* owned; NULL for a lone primitive */
	int n;
	size_t start, end; /* a lone primitive's span in js */
};

/*
 * Parses the len bytes at js, which d borrows. Returns 0 if JSON.parse
 * would accept them, else -1. Release d with tjson_fini either way.
 */
/* Returns 1 if the n bytes at p are a JSON literal (true, false, null) or a
 * number as JSON.parse accepts it, else 0: what jsmn does not check. */
int tjson_primitive_valid(const char *p, size_t n);

int tjson_parse(struct tjson *d, const char *js, size_t len);
void tjson_fini(struct tjson *d);

/* Returns 1 if the text is an object. */
int tjson_is_object(const struct tjson *d);
/* Returns 1 if the text is a value JavaScript finds falsy: false, null, a
 * zero number or "". */
int tjson_falsy(const struct tjson *d);
/* Returns the token of the value of the top-level object's last member
 * called name, or -1 (also when the text is not an object). */
int tjson_member(const struct tjson *d, const char *name);
/* Returns 1 if token i is a string that unescapes to the ASCII text s. */
int tjson_str_eq(const struct tjson *d, int i, const char *s);
/* Returns 0 with token i's value in *v if it is a number, else -1. A
 * number too large for a double is an infinity, as in JavaScript. */
int tjson_number(const struct tjson *d, int i, double *v);

/* Returns the key token of the top-level member after token i (pass 0 for
 * the first), or -1 when there is none or the text is not an object. */
int tjson_next_key(const struct tjson *d, int i);
/* Appends the member whose key is token key, "key":value, without the
 * blanks outside its strings, to sb. */
void tjson_add_member(const struct tjson *d, int key, struct strbuf *sb);

/*
 * Appends the n bytes at p to sb as Node's buffer.toString('utf8') reads
 * them: each invalid sequence becomes U+FFFD (the WHATWG rule), so the
 * result is always valid UTF-8.
 */
void tjson_utf8(struct strbuf *sb, const void *p, size_t n);

#endif
