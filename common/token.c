#include "token.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/strbuf.h"
#include "common/tjson.h"

static const char *const status_names[] = {
	[TOKEN_OK] = "",
	[TOKEN_EXPIRED] = "AuthTokenExpiredError",
	[TOKEN_NOT_BEFORE] = "AuthTokenNotBeforeError",
	[TOKEN_INVALID] = "AuthTokenInvalidError",
	[TOKEN_ERROR] = "AuthTokenError",
};

struct token_verifier {
	struct jws_key **keys; /* owned, each owned */
	size_t nkeys;
	unsigned allowed; /* JWS_ALG_BIT set by token_verifier_allow */
};

struct token_signer {
	struct jws_key *key; /* owned */
	enum jws_alg alg;
};

/* A token being verified: its three parts, then what they decode to. */
struct parsed {
	const char *tok;
	size_t hlen, plen, slen;
	struct strbuf header, payload;
	struct tjson h, p;
	int p_valid; /* payload is JSON */
	enum jws_alg alg;
};

static int fail(struct token_error *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct token_error *e, int status, const char *fmt, ...)
{
	va_list ap;

	memset(e, 0, sizeof(*e));
	e->name = status_names[status];
	e->is_bad_token = status != TOKEN_NOT_BEFORE;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return status;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Howard Hinnant's civil_from_days: the proleptic Gregorian date of a day
 * number (0 = 1970-01-01). */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * Writes JSON.stringify(new Date(seconds * 1000)) without its quotes:
 * ISO-8601 with milliseconds, years outside 0-9999 as a sign and six
 * digits, and "" where JavaScript has an invalid date (beyond 8.64e15 ms
 * from the epoch), which JSON shows as null.
 */
static void
iso_date(double seconds, char out[32])
{
	double ms = seconds * 1000;
	int64_t t, days, rem, y;
	int m, d;

	out[0] = '\0';
	if (!(ms >= -8.64e15 && ms <= 8.64e15)) {
		return;
	}
	t = (int64_t) ms;
	days = floor_div(t, 86400000);
	rem = t - days * 86400000;
	civil_from_days(days, &y, &m, &d);
	if (y >= 0 && y <= 9999) {
		snprintf(out, 32, "%04d", (int) y);
	} else {
		snprintf(out, 32, "%c%06lld", y < 0 ? '-' : '+',
		    (long long) (y < 0 ? -y : y));
	}
	snprintf(out + strlen(out), 32 - strlen(out),
	    "-%02d-%02dT%02d:%02d:%02d.%03dZ", m, d, (int) (rem / 3600000),
	    (int) (rem / 60000 % 60), (int) (rem / 1000 % 60),
	    (int) (rem % 1000));
}

struct token_verifier *
token_verifier_new(void)
{
	return mem_calloc(1, sizeof(struct token_verifier));
}

void
token_verifier_add_key(struct token_verifier *v, struct jws_key *k)
{
	v->keys = mem_realloc(v->keys, (v->nkeys + 1) * sizeof(*v->keys));
	v->keys[v->nkeys++] = k;
}

void
token_verifier_allow(struct token_verifier *v, enum jws_alg alg)
{
	v->allowed |= JWS_ALG_BIT(alg);
}

int
token_verifier_allows(const struct token_verifier *v, enum jws_alg alg)
{
	unsigned allowed = v->allowed;

	/* jsonwebtoken picks from its one key; with previous keys, each
	 * key's algorithms are accepted. */
	for (size_t i = 0; v->allowed == 0 && i < v->nkeys; i++) {
		allowed |= jws_default_algs(jws_key_type(v->keys[i]));
	}
	return (allowed & JWS_ALG_BIT(alg)) != 0;
}

int
token_verifier_fits(const struct token_verifier *v, enum jws_alg alg)
{
	char why[128];

	for (size_t i = 0; i < v->nkeys; i++) {
		if (jws_fits(alg, v->keys[i], 0, why, sizeof(why)) == 0) {
			return 1;
		}
	}
	return 0;
}

void
token_verifier_free(struct token_verifier *v)
{
	if (v == NULL) {
		return;
	}
	for (size_t i = 0; i < v->nkeys; i++) {
		jws_key_free(v->keys[i]);
	}
	mem_free(v->keys);
	mem_free(v);
}

/* Splits tok into its three parts: jsonwebtoken's parts.length === 3. */
static int
split(struct parsed *p, const char *tok, size_t len)
{
	const char *dot1 = memchr(tok, '.', len), *dot2;

	if (dot1 == NULL) {
		return -1;
	}
	dot2 = memchr(dot1 + 1, '.', len - (size_t) (dot1 + 1 - tok));
	if (dot2 == NULL
	    || memchr(dot2 + 1, '.', len - (size_t) (dot2 + 1 - tok))
	        != NULL) {
		return -1;
	}
	p->tok = tok;
	p->hlen = (size_t) (dot1 - tok);
	p->plen = (size_t) (dot2 - dot1 - 1);
	p->slen = len - p->hlen - p->plen - 2;
	return 0;
}

/* Returns 1 if the header, an object, has a member name whose value is the
 * string want. */
static int
header_is(const struct parsed *p, const char *name, const char *want)
{
	int i = tjson_member(&p->h, name);

	return i >= 0 && tjson_str_eq(&p->h, i, want);
}

/* The payload as Buffer's toString('utf8') gives it to JSON.parse. */
static void
decode_payload(struct parsed *p, const char *pl)
{
	struct strbuf raw;

	sb_init(&raw);
	jws_b64url_decode(&raw, pl, p->plen);
	tjson_utf8(&p->payload, raw.data, raw.len);
	sb_fini(&raw);
}

/*
 * jws.decode: each part base64url, header and payload not empty, the
 * header JSON (read as Latin-1, so any byte is a character) and truthy;
 * the payload is parsed only when the header says typ "JWT", and then a
 * syntax error is thrown past jsonwebtoken, which the reference reports as
 * an AuthTokenError (with V8's message, not reproduced here).
 */
static int
decode(struct parsed *p, struct token_error *e)
{
	const char *pl = p->tok + p->hlen + 1;

	if (p->hlen == 0 || p->plen == 0
	    || !jws_b64url_alphabet(p->tok, p->hlen)
	    || !jws_b64url_alphabet(pl, p->plen)
	    || !jws_b64url_alphabet(pl + p->plen + 1, p->slen)) {
		return fail(e, TOKEN_INVALID, "invalid token");
	}
	jws_b64url_decode(&p->header, p->tok, p->hlen);
	if (tjson_parse(&p->h, p->header.data, p->header.len) != 0
	    || tjson_falsy(&p->h)) {
		return fail(e, TOKEN_INVALID, "invalid token");
	}
	decode_payload(p, pl);
	p->p_valid = tjson_parse(&p->p, p->payload.data, p->payload.len) == 0;
	if (!p->p_valid && header_is(p, "typ", "JWT")) {
		return fail(e, TOKEN_ERROR, "invalid token");
	}
	return TOKEN_OK;
}

/* options.algorithms.indexOf(header.alg): a missing or non-string alg,
 * and "none", are never in the list. */
static int
pick_alg(
    const struct token_verifier *v, struct parsed *p, struct token_error *e)
{
	int i = tjson_member(&p->h, "alg");

	for (int a = 0; i >= 0 && a < JWS_NALGS; a++) {
		if (token_verifier_allows(v, (enum jws_alg) a)
		    && tjson_str_eq(
		        &p->h, i, jws_alg_name((enum jws_alg) a))) {
			p->alg = (enum jws_alg) a;
			return TOKEN_OK;
		}
	}
	return fail(e, TOKEN_INVALID, "invalid algorithm");
}

/* Maps what jws reports to the reference's error classes. */
static int
status_of(int r)
{
	return r == JWS_EKIND || r == JWS_EBAD ? TOKEN_INVALID : TOKEN_ERROR;
}

/* Checks the signature with key k, whose kind fits p->alg. */
static int
check_signature(
    const struct jws_key *k, const struct parsed *p, struct token_error *e)
{
	char why[sizeof(e->message)];
	size_t n = p->hlen + 1 + p->plen;
	int r = jws_verify(
	    k, p->alg, p->tok, n, p->tok + n + 1, p->slen, why, sizeof(why));

	if (r == JWS_EBAD) {
		return fail(e, TOKEN_INVALID, "invalid signature");
	}
	return r == 0 ? TOKEN_OK : fail(e, status_of(r), "%s", why);
}

/*
 * Tries every key. The first that verifies wins. Otherwise the error is
 * that of the first key the algorithm fits (a bad signature), or if it fits
 * none, that of the current key (the key-kind message jsonwebtoken gives).
 */
static int
check_keys(const struct token_verifier *v, const struct parsed *p,
    struct token_error *e)
{
	struct token_error mine;
	int have_fit = 0, rc = TOKEN_INVALID;

	for (size_t i = 0; i < v->nkeys; i++) {
		char why[sizeof(mine.message)];
		int r = jws_fits(p->alg, v->keys[i], 0, why, sizeof(why));

		if (r != 0) {
			if (i == 0) {
				rc = fail(e, status_of(r), "%s", why);
			}
			continue;
		}
		r = check_signature(v->keys[i], p, &mine);
		if (r == TOKEN_OK) {
			return TOKEN_OK;
		}
		if (!have_fit) {
			have_fit = 1;
			*e = mine;
			rc = r;
		}
	}
	return rc;
}

/* A time claim: nbf or exp. Returns 1 with its value if present, 0 if
 * absent, -1 if it is not a number (JSON null included). */
static int
time_claim(const struct parsed *p, const char *name, double *v)
{
	int i = tjson_member(&p->p, name);

	if (i < 0) {
		return 0;
	}
	return tjson_number(&p->p, i, v) == 0 ? 1 : -1;
}

/* After the signature: the payload must be an object (the reference would
 * accept a signed array or string; a server cannot use one), then nbf and
 * exp as verify.js checks them against floor(now / 1000). */
static int
check_claims(const struct parsed *p, int64_t now_ms, struct token_error *e,
    struct token_claims *c)
{
	double clock = (double) floor_div(now_ms, 1000), v;
	int r;

	if (!p->p_valid || !tjson_is_object(&p->p)) {
		return fail(e, TOKEN_INVALID, "invalid token");
	}
	if ((r = time_claim(p, "nbf", &v)) < 0) {
		return fail(e, TOKEN_INVALID, "invalid nbf value");
	}
	if (r > 0 && v > clock) {
		fail(e, TOKEN_NOT_BEFORE, "jwt not active");
		e->date_field = "date";
		iso_date(v, e->date);
		return TOKEN_NOT_BEFORE;
	}
	if ((r = time_claim(p, "exp", &v)) < 0) {
		return fail(e, TOKEN_INVALID, "invalid exp value");
	}
	if (r > 0 && clock >= v) {
		fail(e, TOKEN_EXPIRED, "jwt expired");
		e->date_field = "expiry";
		iso_date(v, e->date);
		return TOKEN_EXPIRED;
	}
	c->has_exp = r > 0;
	c->exp = r > 0 ? v : 0;
	return TOKEN_OK;
}

static int
verify_parts(const struct token_verifier *v, struct parsed *p, int64_t now_ms,
    struct token_claims *c, struct token_error *e)
{
	int rc;

	if ((rc = decode(p, e)) != TOKEN_OK) {
		return rc;
	}
	/* A key is always configured, so an empty signature is this, never
	 * jsonwebtoken's "please specify none". */
	if (p->slen == 0) {
		return fail(e, TOKEN_INVALID, "jwt signature is required");
	}
	if (v->nkeys == 0) {
		return fail(
		    e, TOKEN_INVALID, "secret or public key must be provided");
	}
	if ((rc = pick_alg(v, p, e)) != TOKEN_OK
	    || (rc = check_keys(v, p, e)) != TOKEN_OK) {
		return rc;
	}
	return check_claims(p, now_ms, e, c);
}

/* Drops the blanks around the payload object, which JSON allows. */
static void
trim(struct strbuf *sb)
{
	size_t lead = 0;

	while (sb->len > 0 && memchr(" \t\r\n", sb->data[sb->len - 1], 4)) {
		sb->data[--sb->len] = '\0';
	}
	while (lead < sb->len && memchr(" \t\r\n", sb->data[lead], 4)) {
		lead++;
	}
	memmove(sb->data, sb->data + lead, sb->len - lead + 1);
	sb->len -= lead;
}

int
token_verify(const struct token_verifier *v, const char *token, size_t len,
    int64_t now_ms, struct token_claims *out, struct token_error *err)
{
	struct parsed p;
	struct token_claims c = { 0 };
	struct token_error e;
	int rc;

	memset(&p, 0, sizeof(p));
	sb_init(&p.header);
	sb_init(&p.payload);
	if (len == 0) {
		rc = fail(&e, TOKEN_INVALID, "jwt must be provided");
	} else if (len > TOKEN_MAX_LEN || split(&p, token, len) != 0) {
		rc = fail(&e, TOKEN_INVALID, "jwt malformed");
	} else {
		rc = verify_parts(v, &p, now_ms, &c, &e);
	}
	if (rc == TOKEN_OK) {
		trim(&p.payload);
		c.payload = sb_steal(&p.payload, &c.len);
		*out = c;
	} else {
		*err = e;
	}
	tjson_fini(&p.h);
	tjson_fini(&p.p);
	sb_fini(&p.header);
	sb_fini(&p.payload);
	return rc;
}

void
token_claims_fini(struct token_claims *c)
{
	mem_free(c->payload);
	memset(c, 0, sizeof(*c));
}

int
token_expired(const struct token_claims *c, int64_t now_ms)
{
	return c->has_exp && (double) now_ms > c->exp * 1000;
}

struct token_signer *
token_signer_new(struct jws_key *k, enum jws_alg alg, char *err, size_t errlen)
{
	struct token_signer *s;

	if (jws_fits(alg, k, 1, err, errlen) != 0) {
		return NULL;
	}
	s = mem_calloc(1, sizeof(*s));
	s->key = k;
	s->alg = alg;
	return s;
}

enum jws_alg
token_signer_alg(const struct token_signer *s)
{
	return s->alg;
}

void
token_signer_free(struct token_signer *s)
{
	if (s == NULL) {
		return;
	}
	jws_key_free(s->key);
	mem_free(s);
}

/* Appends v as a JSON number that reads back as v. */
static void
add_number(struct strbuf *sb, double v)
{
	char buf[40];

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v) {
			break;
		}
	}
	sb_adds(sb, buf);
}

/* jsonwebtoken's registered_claims_schema. */
static int
claim_types_ok(const struct tjson *d, char *err, size_t errlen)
{
	static const char *const names[] = { "iat", "exp", "nbf" };
	double v;

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		int i = tjson_member(d, names[k]);

		if (i >= 0 && tjson_number(d, i, &v) != 0) {
			snprintf(err, errlen,
			    "\"%s\" should be a number of seconds", names[k]);
			return -1;
		}
	}
	return 0;
}

/*
 * As sign.js: timestamp = payload.iat || floor(now / 1000), and exp =
 * timestamp + expiresIn when the payload has none. Appends the claims to
 * add, each after a comma, to extra. Returns 1 if the payload's own iat is
 * kept, 0 if it is replaced, -1 (with err) for a timestamp JSON cannot
 * carry.
 */
static int
time_claims(const struct tjson *d, int64_t now_ms, long long expires_in,
    struct strbuf *extra, char *err, size_t errlen)
{
	int i = tjson_member(d, "iat");
	double t = 0;
	int keep = i >= 0 && tjson_number(d, i, &t) == 0 && t != 0;

	if (!keep) {
		t = (double) floor_div(now_ms, 1000);
		sb_adds(extra, ",\"iat\":");
		add_number(extra, t);
	}
	if (tjson_member(d, "exp") < 0) {
		if (!isfinite(t + (double) expires_in)) {
			snprintf(err, errlen, "\"iat\" is out of range");
			return -1;
		}
		sb_adds(extra, ",\"exp\":");
		add_number(extra, t + (double) expires_in);
	}
	return keep;
}

/* The payload's members, minified, without iat unless it is kept, then the
 * added claims. */
static void
build_body(const struct tjson *d, int keep_iat, const struct strbuf *extra,
    struct strbuf *body)
{
	sb_addc(body, '{');
	for (int k = tjson_next_key(d, 0); k >= 0; k = tjson_next_key(d, k)) {
		if (!keep_iat && tjson_str_eq(d, k, "iat")) {
			continue;
		}
		if (body->len > 1) {
			sb_addc(body, ',');
		}
		tjson_add_member(d, k, body);
	}
	if (extra->len > 0) {
		sb_adds(body, extra->data + (body->len == 1));
	}
	sb_addc(body, '}');
}

/* header.payload.signature, all base64url without padding. */
static int
assemble(const struct token_signer *s, const struct strbuf *body,
    struct strbuf *tok, char *err, size_t errlen)
{
	const char *name = jws_alg_name(s->alg);
	char header[48];
	size_t n;

	snprintf(
	    header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", name);
	jws_b64url_encode(tok, header, strlen(header));
	sb_addc(tok, '.');
	jws_b64url_encode(tok, body->data, body->len);
	n = tok->len;
	sb_addc(tok, '.');
	/* jws_sign reads tok's first n bytes before it appends to tok. */
	if (jws_sign(s->key, s->alg, tok->data, n, tok) != 0) {
		snprintf(err, errlen, "signing with %s failed", name);
		return -1;
	}
	if (tok->len > TOKEN_MAX_LEN) {
		snprintf(err, errlen,
		    "the token would be longer than %d bytes", TOKEN_MAX_LEN);
		return -1;
	}
	return 0;
}

static int
sign_object(const struct token_signer *s, const struct tjson *d,
    int64_t now_ms, long long expires_in_s, struct strbuf *tok, char *err,
    size_t errlen)
{
	struct strbuf extra, body;
	int keep, rc = -1;

	sb_init(&extra);
	sb_init(&body);
	if (claim_types_ok(d, err, errlen) == 0
	    && (keep
	           = time_claims(d, now_ms, expires_in_s, &extra, err, errlen))
	        >= 0) {
		build_body(d, keep, &extra, &body);
		rc = assemble(s, &body, tok, err, errlen);
	}
	sb_fini(&extra);
	sb_fini(&body);
	return rc;
}

int
token_sign(const struct token_signer *s, const char *payload, size_t len,
    int64_t now_ms, long long expires_in_s, char **out, size_t *out_len,
    char *err, size_t errlen)
{
	struct strbuf text, tok;
	struct tjson d;
	int rc = -1;

	if (len > TOKEN_MAX_LEN) {
		snprintf(err, errlen, "the payload is longer than %d bytes",
		    TOKEN_MAX_LEN);
		return -1;
	}
	sb_init(&text);
	sb_init(&tok);
	tjson_utf8(&text, payload, len);
	if (tjson_parse(&d, text.data, text.len) != 0
	    || !tjson_is_object(&d)) {
		snprintf(
		    err, errlen, "Expected \"payload\" to be a plain object.");
	} else {
		rc = sign_object(
		    s, &d, now_ms, expires_in_s, &tok, err, errlen);
	}
	if (rc == 0) {
		*out = sb_steal(&tok, out_len);
	}
	tjson_fini(&d);
	sb_fini(&text);
	sb_fini(&tok);
	return rc;
}
