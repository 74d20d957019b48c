/*
 * Auth tokens: common/token.c with common/jws.c and common/tjson.c, and the
 * configuration side in common/tokenconf.c. Tokens under attack are built
 * here with OpenSSL directly, not with the code under test, and the
 * expected errors are jsonwebtoken 9's (spec §3.3, §7.3, transcripts 02-07,
 * 32-34).
 */
#include "tests/unit/unit.h"
#include "common/agconf.h"
#include "common/jws.h"
#include "common/token.h"
#include "common/tokenconf.h"

#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* The time of transcripts 02-05: their tokens are valid then. */
#define T02_MS 1795701992000LL

/* Keys made once in main, before Check forks the tests. */
static EVP_PKEY *rsa, *rsa1024, *p256, *p384, *p521, *ed25519, *ed448;

/* Counts the calls of CRYPTO_memcmp, which this definition interposes:
 * the HMAC must be compared with it, in constant time. */
static int memcmp_calls;
static size_t memcmp_last_len;

int
CRYPTO_memcmp(const void *a, const void *b, size_t len)
{
	static int (*real)(const void *, const void *, size_t);

	if (real == NULL) {
		real = (int (*)(const void *, const void *, size_t)) dlsym(
		    RTLD_NEXT, "CRYPTO_memcmp");
	}
	memcmp_calls++;
	memcmp_last_len = len;
	return real(a, b, len);
}

/* ---- helpers ---- */

/* Returns base64url of n bytes, without padding, in a static ring. */
static const char *
b64(const void *p, size_t n)
{
	static char ring[4][16384];
	static int next;
	char *out = ring[next++ % 4];
	int len = EVP_EncodeBlock((unsigned char *) out, p, (int) n);

	while (len > 0 && out[len - 1] == '=') {
		len--;
	}
	out[len] = '\0';
	for (char *c = out; *c != '\0'; c++) {
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	}
	return out;
}

/* Returns (static) header.payload.signature with an HMAC by secret under
 * md, or an empty signature when md is NULL. Header and payload are taken
 * as they are, valid JSON or not. */
static const char *
craft_n(const char *header, const void *payload, size_t plen,
    const char *secret, const EVP_MD *md)
{
	static char tok[20000];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mlen = 0;

	snprintf(tok, sizeof(tok), "%s.", b64(header, strlen(header)));
	strcat(tok, b64(payload, plen));
	if (md != NULL) {
		HMAC(md, secret, (int) strlen(secret), (unsigned char *) tok,
		    strlen(tok), mac, &mlen);
	}
	strcat(tok, ".");
	strcat(tok, b64(mac, mlen));
	return tok;
}

static const char *
craft(const char *header, const char *payload, const char *secret)
{
	return craft_n(header, payload, strlen(payload), secret, EVP_sha256());
}

#define HS256_JWT "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define HS256     "{\"alg\":\"HS256\"}"

static char *
pem_of(EVP_PKEY *pk, int private)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	ck_assert(private
	        ? PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL)
	        : PEM_write_bio_PUBKEY(bio, pk));
	n = BIO_get_mem_data(bio, &data);
	out = malloc((size_t) n + 1);
	memcpy(out, data, (size_t) n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

static struct jws_key *
key_of(EVP_PKEY *pk, int private)
{
	char *pem = pem_of(pk, private), err[256];
	struct jws_key *k = jws_key_pem(pem, strlen(pem), private, err, 256);

	ck_assert_msg(k != NULL, "%s", err);
	free(pem);
	return k;
}

static struct jws_key *
secret(const char *s)
{
	return jws_key_secret(s, strlen(s));
}

/* A verifier with the one key k, accepting alg, or the key's default
 * algorithms when alg is -1. */
static struct token_verifier *
verifier(struct jws_key *k, int alg)
{
	struct token_verifier *v = token_verifier_new();

	token_verifier_add_key(v, k);
	if (alg >= 0) {
		token_verifier_allow(v, (enum jws_alg) alg);
	}
	return v;
}

/* The key that signs with alg, private or public half. */
static struct jws_key *
key_for(enum jws_alg alg, int private)
{
	static EVP_PKEY **const by_alg[JWS_NALGS] = {
		[JWS_RS256] = &rsa,
		[JWS_RS384] = &rsa,
		[JWS_RS512] = &rsa,
		[JWS_PS256] = &rsa,
		[JWS_PS384] = &rsa,
		[JWS_PS512] = &rsa,
		[JWS_ES256] = &p256,
		[JWS_ES384] = &p384,
		[JWS_ES512] = &p521,
		[JWS_EDDSA] = &ed25519,
	};

	return by_alg[alg] == NULL ? secret("secret")
	                           : key_of(*by_alg[alg], private);
}

static struct token_signer *
signer(enum jws_alg alg)
{
	char err[256];
	struct token_signer *s
	    = token_signer_new(key_for(alg, 1), alg, err, 256);

	ck_assert_msg(s != NULL, "%s", err);
	return s;
}

/* Signs payload with s at now; returns the owned token. */
static char *
sign(struct token_signer *s, const char *payload, long long now,
    long long expires_in)
{
	char err[256], *tok = NULL;
	size_t len;

	ck_assert_msg(token_sign(s, payload, strlen(payload), now, expires_in,
	                  &tok, &len, err, sizeof(err))
	        == 0,
	    "%s", err);
	ck_assert_uint_eq(len, strlen(tok));
	return tok;
}

/* Verifies tok, expecting success; returns the owned payload. */
static char *
accepted(struct token_verifier *v, const char *tok, long long now)
{
	struct token_claims c;
	struct token_error e;
	int rc = token_verify(v, tok, strlen(tok), now, &c, &e);
	char *p;

	ck_assert_msg(rc == TOKEN_OK, "refused: %s: %s", e.name, e.message);
	ck_assert_uint_eq(c.len, strlen(c.payload));
	p = strdup(c.payload);
	token_claims_fini(&c);
	return p;
}

static void
assert_payload(
    struct token_verifier *v, const char *tok, long long now, const char *want)
{
	char *p = accepted(v, tok, now);

	ck_assert_str_eq(p, want);
	free(p);
}

/* Verifies the len bytes of tok, expecting the error status, name and
 * message; returns the error for more checks. */
static struct token_error
refused_n(struct token_verifier *v, const char *tok, size_t len, long long now,
    int status, const char *message)
{
	static const char *const names[]
	    = { "", "AuthTokenExpiredError", "AuthTokenNotBeforeError",
		      "AuthTokenInvalidError", "AuthTokenError" };
	struct token_claims c;
	struct token_error e;
	int rc = token_verify(v, tok, len, now, &c, &e);

	ck_assert_msg(rc == status, "status %d, want %d (%s)", rc, status,
	    rc == TOKEN_OK ? c.payload : e.message);
	ck_assert_str_eq(e.name, names[status]);
	ck_assert_str_eq(e.message, message);
	ck_assert_int_eq(e.is_bad_token, status != TOKEN_NOT_BEFORE);
	return e;
}

static struct token_error
refused(struct token_verifier *v, const char *tok, long long now, int status,
    const char *message)
{
	return refused_n(v, tok, strlen(tok), now, status, message);
}

/* Changes a character in the middle of the signature of (a copy of) tok:
 * not the last, whose low bits may be unused. */
static char *
tampered(const char *tok)
{
	char *t = strdup(tok);
	char *c = strrchr(t, '.') + (strlen(strrchr(t, '.')) / 2);

	*c = *c == 'A' ? 'B' : 'A';
	return t;
}

/* ---- round trips ---- */

START_TEST(test_roundtrip_every_algorithm)
{
	enum jws_alg alg = (enum jws_alg) _i;
	struct token_signer *s = signer(alg);
	struct token_verifier *v = verifier(key_for(alg, 0), -1);
	char *tok = sign(s, "{\"user\":\"alice\",\"n\":[1,2]}", T02_MS, 60);
	char want[128], *bad;

	snprintf(want, sizeof(want),
	    "{\"user\":\"alice\",\"n\":[1,2],\"iat\":%lld,\"exp\":%lld}",
	    T02_MS / 1000, T02_MS / 1000 + 60);
	assert_payload(v, tok, T02_MS, want);
	ck_assert_int_eq(token_signer_alg(s), alg);
	bad = tampered(tok);
	refused(v, bad, T02_MS, TOKEN_INVALID, "invalid signature");
	free(bad);
	free(tok);
	token_signer_free(s);
	token_verifier_free(v);
}
END_TEST

/* The header is exactly {"alg":"<alg>","typ":"JWT"}. */
START_TEST(test_header_and_claims)
{
	struct token_signer *s = signer(JWS_ES384);
	char *tok = sign(s, " { \"a\" : \"x y\" , \"b\" : { } } ", 1500, 7);
	struct token_verifier *v = verifier(key_for(JWS_ES384, 0), -1);
	const char *hdr = b64("{\"alg\":\"ES384\",\"typ\":\"JWT\"}", 27);

	ck_assert_int_eq(strncmp(tok, hdr, strlen(hdr)), 0);
	ck_assert_int_eq(tok[strlen(hdr)], '.');
	assert_payload(
	    v, tok, 1500, "{\"a\":\"x y\",\"b\":{},\"iat\":1,\"exp\":8}");
	free(tok);
	token_signer_free(s);
	token_verifier_free(v);
}
END_TEST

/* ---- the reference's vectors (transcripts 02-05, 07, 34) ---- */

START_TEST(test_transcript_tokens)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	struct token_error e;

	assert_payload(v,
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJ1c2VybmFtZSI6ImFsaWNlIiwiY2"
	    "hhbm5lbHMiOlsiYWxsb3dlZCJdLCJpYXQiOjE3OTU3MDE5OTIsImV4cCI6MTc5NTc"
	    "w"
	    "NTU5Mn0.jMm3tlGcAhj6_SvA0SxDqtXy8sDtvjDXv_uJIPjKqoA",
	    T02_MS,
	    "{\"username\":\"alice\",\"channels\":[\"allowed\"],\"iat\":"
	    "1795701992,\"exp\":1795705592}");
	e = refused(v,
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJ1c2VybmFtZSI6ImFsaWNlIiwiY2"
	    "hhbm5lbHMiOlsiYWxsb3dlZCJdLCJpYXQiOjE3OTU2OTQ3OTMsImV4cCI6MTc5NTY"
	    "5"
	    "ODM5M30.sCy8FoptQn9wfBePCi1fjg99Ho-kwIcCfudyJNrCei0",
	    T02_MS, TOKEN_EXPIRED, "jwt expired");
	ck_assert_str_eq(e.date_field, "expiry");
	ck_assert_str_eq(e.date, "2026-11-26T13:06:33.000Z");
	refused(v,
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJ1c2VybmFtZSI6ImFsaWNlIiwiY2"
	    "hhbm5lbHMiOlsiYWxsb3dlZCJdLCJpYXQiOjE3OTU3MDE5OTQsImV4cCI6MTc5NTc"
	    "w"
	    "NTU5NH0.tkCOtN8qlbxx5pLEtlQrbXYrMaO8-j_MMDL8We8EBMU",
	    T02_MS, TOKEN_INVALID, "invalid signature");
	refused(v, "garbage-token", T02_MS, TOKEN_INVALID, "jwt malformed");
	refused(v,
	    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
	    "eyJ1c2VybmFtZSI6ImFsaWNlIiwiaW"
	    "F0IjoxNzk1NzAxOTk1fQ.",
	    T02_MS, TOKEN_INVALID, "jwt signature is required");
	e = refused(v,
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJ1c2VybmFtZSI6ImFsaWNlIiwiaW"
	    "F0IjoxNzk1NzAxOTk1LCJuYmYiOjE3OTU3MDI1OTUsImV4cCI6MTc5NTcwNTU5NX0"
	    "."
	    "K1NqTy1yPfga4vq4BDVcoEAP-95vhi47qHY9Kn4JuTs",
	    1795701995000LL, TOKEN_NOT_BEFORE, "jwt not active");
	ck_assert_str_eq(e.date_field, "date");
	ck_assert_str_eq(e.date, "2026-11-26T14:16:35.000Z");
	refused(v, "", T02_MS, TOKEN_INVALID, "jwt must be provided");
	token_verifier_free(v);
}
END_TEST

static const char t05_hs512[]
    = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImFsaWNlIiwiaWF"
      "0IjoxNzk1NzAxOTk1LCJleHAiOjE3OTU3MDU1OTV9.RkQBpE-EFMhEVV3Le0F72L9uKx"
      "PkOLjiiKAB-3XoUGZvch-9YYdF7hR2AqFNCNR3RpgYSzjRYE7Qymna5M_Few";

/* T05: HS512 with the right key is accepted by default; T34: not when
 * the algorithm is restricted to HS256. */
START_TEST(test_hs512_default_and_restricted)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	struct token_verifier *hs256 = verifier(secret("secret"), JWS_HS256);

	assert_payload(v, t05_hs512, 1795701995000LL,
	    "{\"username\":\"alice\",\"iat\":1795701995,\"exp\":1795705595}");
	refused(hs256, t05_hs512, 1795701995000LL, TOKEN_INVALID,
	    "invalid algorithm");
	token_verifier_free(v);
	token_verifier_free(hs256);
}
END_TEST

START_TEST(test_authenticate_expired_t07)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	struct token_error e = refused(v,
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJ1c2VybmFtZSI6ImJvYiIsImlhd"
	    "CI6MTc5NTcwMTg5OSwiZXhwIjoxNzk1NzAxOTQ5fQ.gfdQq8_JIDZ_"
	    "al1h4HnB2t9j_"
	    "yXCTQ2DcWTaZqNv5HM",
	    1795701999000LL, TOKEN_EXPIRED, "jwt expired");

	ck_assert_str_eq(e.date, "2026-11-26T14:05:49.000Z");
	token_verifier_free(v);
}
END_TEST

/* ---- algorithms and keys ---- */

START_TEST(test_alg_none)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	const char *p = "{\"u\":1}";

	refused(v, craft_n("{\"alg\":\"none\"}", p, 7, "", NULL), 0,
	    TOKEN_INVALID, "jwt signature is required");
	/* With a signature, none is simply not an accepted algorithm. */
	refused(v, craft("{\"alg\":\"none\"}", p, "secret"), 0, TOKEN_INVALID,
	    "invalid algorithm");
	refused(v, craft("{\"alg\":\"None\"}", p, "secret"), 0, TOKEN_INVALID,
	    "invalid algorithm");
	refused(v, craft("{\"typ\":\"JWT\"}", p, "secret"), 0, TOKEN_INVALID,
	    "invalid algorithm");
	refused(v, craft("{\"alg\":[\"HS256\"]}", p, "secret"), 0,
	    TOKEN_INVALID, "invalid algorithm");
	refused(v, craft("{\"alg\":256}", p, "secret"), 0, TOKEN_INVALID,
	    "invalid algorithm");
	ck_assert_int_eq(jws_alg_parse("none", 4), -1);
	token_verifier_free(v);
}
END_TEST

/* An HS256 token "signed" with the RSA public key as an HMAC secret must
 * never be checked as an HMAC: the RSA key does not take HS256. */
START_TEST(test_algorithm_confusion)
{
	char *pub = pem_of(rsa, 0);
	struct token_verifier *v = verifier(key_for(JWS_RS256, 0), -1);
	struct token_verifier *both
	    = verifier(key_for(JWS_RS256, 0), JWS_HS256);
	const char *tok = craft(HS256_JWT, "{\"u\":1}", pub);

	refused(v, tok, 0, TOKEN_INVALID, "invalid algorithm");
	/* Even when HS256 is configured, as jsonwebtoken does. */
	token_verifier_allow(both, JWS_RS256);
	refused(both, tok, 0, TOKEN_INVALID,
	    "secretOrPublicKey must be a symmetric key when using HS256");
	free(pub);
	token_verifier_free(v);
	token_verifier_free(both);
}
END_TEST

START_TEST(test_wrong_key_type)
{
	struct token_signer *es256 = signer(JWS_ES256),
	                    *es384 = signer(JWS_ES384);
	struct token_signer *rs = signer(JWS_RS256), *ed = signer(JWS_EDDSA);
	char *t256 = sign(es256, "{}", 0, 60),
	     *t384 = sign(es384, "{}", 0, 60);
	char *trs = sign(rs, "{}", 0, 60), *ted = sign(ed, "{}", 0, 60);
	struct token_verifier *vrsa
	    = verifier(key_for(JWS_RS256, 0), JWS_ES256);
	struct token_verifier *vp256 = verifier(key_for(JWS_ES256, 0), -1);
	struct token_verifier *vsec = verifier(secret("s"), JWS_RS256);

	token_verifier_allow(vrsa, JWS_EDDSA);
	refused(vrsa, t256, 0, TOKEN_ERROR,
	    "\"alg\" parameter for \"rsa\" key type must be one of: RS256, "
	    "PS256, RS384, PS384, RS512, PS512.");
	refused(vrsa, ted, 0, TOKEN_ERROR,
	    "\"alg\" parameter for \"rsa\" key type must be one of: RS256, "
	    "PS256, RS384, PS384, RS512, PS512.");
	/* jsonwebtoken accepts ES* for any EC key, then checks the curve. */
	refused(vp256, t384, 0, TOKEN_ERROR,
	    "\"alg\" parameter \"ES384\" requires curve \"secp384r1\".");
	refused(vp256, trs, 0, TOKEN_INVALID, "invalid algorithm");
	refused(vsec, trs, 0, TOKEN_INVALID,
	    "secretOrPublicKey must be an asymmetric key when using RS256");
	free(t256);
	free(t384);
	free(trs);
	free(ted);
	token_signer_free(es256);
	token_signer_free(es384);
	token_signer_free(rs);
	token_signer_free(ed);
	token_verifier_free(vrsa);
	token_verifier_free(vp256);
	token_verifier_free(vsec);
}
END_TEST

START_TEST(test_default_algorithms)
{
	struct token_verifier *vs = verifier(secret("s"), -1);
	struct token_verifier *vr = verifier(key_for(JWS_RS256, 0), -1);
	struct token_verifier *ve = verifier(key_for(JWS_ES512, 0), -1);
	struct token_verifier *vd = verifier(key_for(JWS_EDDSA, 0), -1);
	struct token_verifier *none = token_verifier_new();

	for (int a = 0; a < JWS_NALGS; a++) {
		const char *n = jws_alg_name((enum jws_alg) a);

		ck_assert_int_eq(
		    token_verifier_allows(vs, (enum jws_alg) a), n[0] == 'H');
		ck_assert_int_eq(token_verifier_allows(vr, (enum jws_alg) a),
		    n[0] == 'R' || n[0] == 'P');
		ck_assert_int_eq(token_verifier_allows(ve, (enum jws_alg) a),
		    n[0] == 'E' && n[1] == 'S');
		ck_assert_int_eq(token_verifier_allows(vd, (enum jws_alg) a),
		    a == JWS_EDDSA);
		ck_assert_int_eq(
		    token_verifier_allows(none, (enum jws_alg) a), 0);
		ck_assert_int_eq(jws_alg_parse(n, strlen(n)), a);
	}
	token_verifier_allow(none, JWS_HS256);
	refused(none, craft(HS256, "{}", "s"), 0, TOKEN_INVALID,
	    "secret or public key must be provided");
	token_verifier_free(vs);
	token_verifier_free(vr);
	token_verifier_free(ve);
	token_verifier_free(vd);
	token_verifier_free(none);
}
END_TEST

/* A short ECDSA signature is jwa's TypeError, an AuthTokenError. */
START_TEST(test_ecdsa_signature_length)
{
	struct token_signer *s = signer(JWS_ES256);
	struct token_verifier *v = verifier(key_for(JWS_ES256, 0), -1);
	char *tok = sign(s, "{}", 0, 60);

	tok[strlen(tok) - 2] = '\0';
	refused(v, tok, 0, TOKEN_ERROR,
	    "\"ES256\" signatures must be \"64\" bytes, saw \"63\"");
	free(tok);
	token_signer_free(s);
	token_verifier_free(v);
}
END_TEST

/* An RSA-PSS signature with a salt longer than the digest is refused, as
 * jwa verifies with RSA_PSS_SALTLEN_DIGEST. */
START_TEST(test_pss_salt_length)
{
	struct token_verifier *v = verifier(key_for(JWS_PS256, 0), -1);
	char input[256], tok[2048];
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx;

	snprintf(input, sizeof(input), "%s.%s", b64("{\"alg\":\"PS256\"}", 15),
	    b64("{\"u\":1}", 7));
	ck_assert(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, rsa));
	EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 64);
	ck_assert(EVP_DigestSign(
	    ctx, sig, &siglen, (unsigned char *) input, strlen(input)));
	EVP_MD_CTX_free(ctx);
	snprintf(tok, sizeof(tok), "%s.%s", input, b64(sig, siglen));
	refused(v, tok, 0, TOKEN_INVALID, "invalid signature");
	token_verifier_free(v);
}
END_TEST

START_TEST(test_previous_keys)
{
	struct token_verifier *v = verifier(secret("new"), -1);
	struct token_verifier *pair = verifier(key_for(JWS_RS256, 0), -1);
	struct token_signer *es = signer(JWS_ES256);
	char *tes = sign(es, "{}", 0, 60);

	token_verifier_add_key(v, secret("old"));
	assert_payload(v, craft(HS256, "{\"k\":1}", "new"), 0, "{\"k\":1}");
	assert_payload(v, craft(HS256, "{\"k\":2}", "old"), 0, "{\"k\":2}");
	refused(v, craft(HS256, "{\"k\":3}", "other"), 0, TOKEN_INVALID,
	    "invalid signature");
	/* Rotating key types: the current RSA key does not take ES256, the
	 * previous EC key verifies it. */
	refused(pair, tes, 0, TOKEN_INVALID, "invalid algorithm");
	token_verifier_add_key(pair, key_for(JWS_ES256, 0));
	free(accepted(pair, tes, 0));
	free(tes);
	token_signer_free(es);
	token_verifier_free(v);
	token_verifier_free(pair);
}
END_TEST

START_TEST(test_hmac_compared_in_constant_time)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	const char *tok = craft(HS256, "{}", "secret");
	char *bad = tampered(tok);

	memcmp_calls = 0;
	free(accepted(v, tok, 0));
	ck_assert_int_eq(memcmp_calls, 1);
	ck_assert_uint_eq(memcmp_last_len, 43);
	memcmp_calls = 0;
	refused(v, bad, 0, TOKEN_INVALID, "invalid signature");
	ck_assert_int_eq(memcmp_calls, 1);
	ck_assert_uint_eq(memcmp_last_len, 43);
	free(bad);
	token_verifier_free(v);
}
END_TEST

/* jwa compares base64url text: stray low bits in the last character of an
 * HMAC make it a different signature. */
START_TEST(test_hmac_noncanonical_base64)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
	                          "rstuvwxyz0123456789-_";
	char tok[256];
	size_t n = strlen(strcpy(tok, craft(HS256, "{}", "secret")));
	char last = tok[n - 1];
	struct strbuf before, after;

	/* 43 characters carry 258 bits for 256: the last two are unused, so
	 * the bytes stay the same while the text changes. */
	sb_init(&before);
	sb_init(&after);
	jws_b64url_decode(&before, tok + n - 43, 43);
	tok[n - 1] = abc[(strchr(abc, last) - abc) ^ 1];
	jws_b64url_decode(&after, tok + n - 43, 43);
	ck_assert_uint_eq(after.len, 32);
	ck_assert_mem_eq(before.data, after.data, 32);
	sb_fini(&before);
	sb_fini(&after);
	refused(v, tok, 0, TOKEN_INVALID, "invalid signature");
	tok[n - 1] = last;
	strcat(tok, "A");
	refused(v, tok, 0, TOKEN_INVALID, "invalid signature");
	token_verifier_free(v);
}
END_TEST

/* ---- hostile and odd tokens ---- */

START_TEST(test_malformed)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	char big[TOKEN_MAX_LEN + 2];

	refused(v, "a.b", 0, TOKEN_INVALID, "jwt malformed");
	refused(v, "a.b.c.d", 0, TOKEN_INVALID, "jwt malformed");
	refused(v, "....", 0, TOKEN_INVALID, "jwt malformed");
	refused(v, "a..c", 0, TOKEN_INVALID, "invalid token");
	refused(v, ".b.c", 0, TOKEN_INVALID, "invalid token");
	refused(v, "eyJ9.e30.c=", 0, TOKEN_INVALID, "invalid token");
	refused(v, "eyJ+.e30.c", 0, TOKEN_INVALID, "invalid token");
	refused(v, "eyJ9.e3 0.c", 0, TOKEN_INVALID, "invalid token");
	refused_n(v, "e30.e30.\0c", 9, 0, TOKEN_INVALID, "invalid token");
	memset(big, 'a', sizeof(big));
	refused_n(
	    v, big, TOKEN_MAX_LEN + 1, 0, TOKEN_INVALID, "jwt malformed");
	refused_n(v, big, 0, 0, TOKEN_INVALID, "jwt must be provided");
	token_verifier_free(v);
}
END_TEST

/* The header must be JSON that JavaScript finds truthy. */
START_TEST(test_bad_headers)
{
	static const char *const invalid[]
	    = { "{", "{\"alg\":\"HS256\"} x", "0", "-0.0", "null", "false",
		      "\"\"", "{\"alg\":\"HS256\",}", "{\"alg\" \"HS256\"}",
		      "{\"alg\":'HS256'}", "\xef\xbb\xbf{}", "" };
	static const char *const no_alg[]
	    = { "1", "true", "[]", "\"x\"", "{}", "[{\"alg\":\"HS256\"}]" };
	struct token_verifier *v = verifier(secret("secret"), -1);

	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		refused(v, craft(invalid[i], "{}", "secret"), 0, TOKEN_INVALID,
		    "invalid token");
	}
	for (size_t i = 0; i < sizeof(no_alg) / sizeof(no_alg[0]); i++) {
		refused(v, craft(no_alg[i], "{}", "secret"), 0, TOKEN_INVALID,
		    "invalid algorithm");
	}
	/* The last of duplicate keys wins, and escapes count. */
	free(accepted(v,
	    craft("{\"alg\":\"none\",\"alg\":\"HS\\u0032\\u00356\"}", "{}",
	        "secret"),
	    0));
	token_verifier_free(v);
}
END_TEST

/* With typ "JWT", jws.decode parses the payload before the signature is
 * checked and the SyntaxError escapes jsonwebtoken: an AuthTokenError.
 * Without it, the payload must still be an object once the signature
 * verified. */
START_TEST(test_bad_payloads)
{
	static const char *const bad[] = { "{\"a\":1,}", "[1 2]", "{\"a\" 1}",
		"{\"a\":tru}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\\x\"}", "{} {}", "{\"a\":1}}", "{\"a\":[1,]}",
		"{\"a\":\"\\u00zz\"}", "{,\"a\":1}", "{\"a\":1 \"b\":2}",
		"{\"a\":1:2}", "[\"a\":1]", "{\"a\":{\"b\"}}", "{\"a\":-}" };
	static const char *const not_object[]
	    = { "[1]", "\"s\"", "1", "null", "true" };
	struct token_verifier *v = verifier(secret("secret"), -1);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		refused(v, craft(HS256_JWT, bad[i], "secret"), 0, TOKEN_ERROR,
		    "invalid token");
		refused(v, craft(HS256, bad[i], "secret"), 0, TOKEN_INVALID,
		    "invalid token");
		refused(v, craft(HS256, bad[i], "wrong"), 0, TOKEN_INVALID,
		    "invalid signature");
	}
	for (size_t i = 0; i < sizeof(not_object) / sizeof(not_object[0]);
	     i++) {
		refused(v, craft(HS256_JWT, not_object[i], "secret"), 0,
		    TOKEN_INVALID, "invalid token");
	}
	refused_n(v, craft_n(HS256_JWT, "{}\0", 3, "secret", EVP_sha256()),
	    strlen(craft_n(HS256_JWT, "{}\0", 3, "secret", EVP_sha256())), 0,
	    TOKEN_ERROR, "invalid token");
	token_verifier_free(v);
}
END_TEST

START_TEST(test_nesting_depth)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	char p[256];
	size_t n = 0;

	p[n++] = '{';
	p[n++] = '"';
	p[n++] = 'a';
	p[n++] = '"';
	p[n++] = ':';
	for (int i = 0; i < 63; i++) {
		p[n++] = '[';
	}
	for (int i = 0; i < 63; i++) {
		p[n++] = ']';
	}
	p[n++] = '}';
	p[n] = '\0';
	free(accepted(v, craft(HS256_JWT, p, "secret"), 0));
	memmove(p + 6, p + 5, n - 4);
	p[5] = '[';
	memmove(p + n + 1, p + n, 2);
	p[n] = ']';
	refused(
	    v, craft(HS256_JWT, p, "secret"), 0, TOKEN_ERROR, "invalid token");
	token_verifier_free(v);
}
END_TEST

/* Invalid UTF-8 in the payload becomes U+FFFD, as Node decodes it. */
START_TEST(test_payload_utf8)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	const char p[] = "{\"n\":\"\xe0\x80\x41\xc3\xa9\xf0\x90\"}";

	assert_payload(v, craft(HS256_JWT, p, "secret"), 0,
	    "{\"n\":\"\xef\xbf\xbd\xef\xbf\xbd"
	    "A\xc3\xa9\xef\xbf\xbd\"}");
	token_verifier_free(v);
}
END_TEST

START_TEST(test_oversized)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	struct token_signer *s = signer(JWS_HS256);
	char payload[TOKEN_MAX_LEN], err[128], *tok;
	size_t len;
	int fill = 0;

	/* Find the largest payload whose token fits, then one more byte. */
	for (fill = 6000; fill < 6200; fill++) {
		snprintf(
		    payload, sizeof(payload), "{\"x\":\"%0*d\"}", fill, 0);
		if (token_sign(s, payload, strlen(payload), 0, 60, &tok, &len,
		        err, sizeof(err))
		    != 0) {
			break;
		}
		ck_assert_uint_le(len, TOKEN_MAX_LEN);
		free(accepted(v, tok, 0));
		free(tok);
	}
	ck_assert_int_lt(fill, 6200);
	ck_assert_str_eq(err, "the token would be longer than 8192 bytes");
	token_signer_free(s);
	token_verifier_free(v);
}
END_TEST

/* ---- claims ---- */

START_TEST(test_claim_types)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	struct token_error e;

	refused(v, craft(HS256, "{\"exp\":\"9999999999\"}", "secret"), 0,
	    TOKEN_INVALID, "invalid exp value");
	refused(v, craft(HS256, "{\"exp\":null}", "secret"), 0, TOKEN_INVALID,
	    "invalid exp value");
	refused(v, craft(HS256, "{\"nbf\":\"0\"}", "secret"), 0, TOKEN_INVALID,
	    "invalid nbf value");
	refused(v, craft(HS256, "{\"nbf\":[0],\"exp\":\"x\"}", "secret"), 0,
	    TOKEN_INVALID, "invalid nbf value");
	/* nbf is checked before exp. */
	refused(v, craft(HS256, "{\"nbf\":100,\"exp\":1}", "secret"), 0,
	    TOKEN_NOT_BEFORE, "jwt not active");
	/* Huge numbers: 1e400 is Infinity in JavaScript, never expired. */
	assert_payload(v, craft(HS256, "{\"exp\":1e400}", "secret"), T02_MS,
	    "{\"exp\":1e400}");
	e = refused(v, craft(HS256, "{\"exp\":-1e400}", "secret"), T02_MS,
	    TOKEN_EXPIRED, "jwt expired");
	ck_assert_str_eq(e.date, "");
	e = refused(v, craft(HS256, "{\"nbf\":1e300}", "secret"), T02_MS,
	    TOKEN_NOT_BEFORE, "jwt not active");
	ck_assert_str_eq(e.date, "");
	e = refused(v, craft(HS256, "{\"exp\":1795698393.5}", "secret"),
	    T02_MS, TOKEN_EXPIRED, "jwt expired");
	ck_assert_str_eq(e.date, "2026-11-26T13:06:33.500Z");
	e = refused(v, craft(HS256, "{\"exp\":-62198755200}", "secret"),
	    T02_MS, TOKEN_EXPIRED, "jwt expired");
	ck_assert_str_eq(e.date, "-000001-01-01T00:00:00.000Z");
	e = refused(v, craft(HS256, "{\"nbf\":1e12}", "secret"), T02_MS,
	    TOKEN_NOT_BEFORE, "jwt not active");
	ck_assert_str_eq(e.date, "+033658-09-27T01:46:40.000Z");
	/* JSON.parse keeps the last of duplicate keys; escapes count. */
	assert_payload(v,
	    craft(HS256, "{\"exp\":1,\"exp\":9999999999}", "secret"), T02_MS,
	    "{\"exp\":1,\"exp\":9999999999}");
	refused(v, craft(HS256, "{\"\\u0065xp\":1}", "secret"), T02_MS,
	    TOKEN_EXPIRED, "jwt expired");
	token_verifier_free(v);
}
END_TEST

/* verify.js: clock = floor(now / 1000); expired when clock >= exp; not
 * active when nbf > clock. The server re-checks a held token with
 * Date.now() > exp * 1000. */
START_TEST(test_time_boundaries)
{
	struct token_verifier *v = verifier(secret("secret"), -1);
	char *tok = strdup(craft(HS256, "{\"exp\":1000}", "secret"));
	char *nbf = strdup(craft(HS256, "{\"nbf\":1000}", "secret"));
	struct token_claims c;
	struct token_error e;

	ck_assert_int_eq(
	    token_verify(v, tok, strlen(tok), 999999, &c, &e), TOKEN_OK);
	ck_assert_int_eq(c.has_exp, 1);
	ck_assert(c.exp == 1000);
	ck_assert_int_eq(token_expired(&c, 1000000), 0);
	ck_assert_int_eq(token_expired(&c, 1000001), 1);
	token_claims_fini(&c);
	refused(v, tok, 1000000, TOKEN_EXPIRED, "jwt expired");
	free(accepted(v, tok, -1));
	refused(v, nbf, 999999, TOKEN_NOT_BEFORE, "jwt not active");
	free(accepted(v, nbf, 1000000));
	ck_assert_int_eq(
	    token_verify(v, nbf, strlen(nbf), 1000000, &c, &e), TOKEN_OK);
	ck_assert_int_eq(c.has_exp, 0);
	ck_assert_int_eq(token_expired(&c, 1LL << 50), 0);
	token_claims_fini(&c);
	free(tok);
	free(nbf);
	token_verifier_free(v);
}
END_TEST

/* ---- signing ---- */

/* Returns the payload of tok (no verification), static. */
static const char *
payload_of(const char *tok)
{
	static char out[8192];
	const char *p = strchr(tok, '.') + 1;
	size_t n = (size_t) (strchr(p, '.') - p);
	char b[8192];
	int len;

	memcpy(b, p, n);
	while (n % 4 != 0) {
		b[n++] = '=';
	}
	b[n] = '\0';
	for (char *c = b; *c != '\0'; c++) {
		*c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
	}
	len = EVP_DecodeBlock(
	    (unsigned char *) out, (unsigned char *) b, (int) n);
	len -= (b[n - 1] == '=') + (b[n - 2] == '=');
	out[len] = '\0';
	return out;
}

START_TEST(test_sign_claims)
{
	struct token_signer *s = signer(JWS_HS256);
	long long now = 1795701992999LL;
	char *tok;

	/* An exp of its own is kept; expires_in is not applied. */
	tok = sign(s, "{\"exp\":5}", now, 60);
	ck_assert_str_eq(payload_of(tok), "{\"exp\":5,\"iat\":1795701992}");
	free(tok);
	/* A non-zero iat is kept and exp counts from it (sign.js). */
	tok = sign(s, "{\"iat\":100,\"u\":\"x\"}", now, 60);
	ck_assert_str_eq(
	    payload_of(tok), "{\"iat\":100,\"u\":\"x\",\"exp\":160}");
	free(tok);
	tok = sign(s, "{\"iat\":0,\"u\":1}", now, 60);
	ck_assert_str_eq(payload_of(tok),
	    "{\"u\":1,\"iat\":1795701992,\"exp\":1795702052}");
	free(tok);
	/* Negative expiry makes an already expired token. */
	tok = sign(s, "{}", now, -10);
	ck_assert_str_eq(
	    payload_of(tok), "{\"iat\":1795701992,\"exp\":1795701982}");
	free(tok);
	tok = sign(s, "{\"iat\":1.5}", now, 1);
	ck_assert_str_eq(payload_of(tok), "{\"iat\":1.5,\"exp\":2.5}");
	free(tok);
	tok = sign(
	    s, "{\"s\":\"\xc3\xa9\\u00e9 \\\" \",\"bad\":\"\xff\"}", now, 1);
	ck_assert_str_eq(payload_of(tok),
	    "{\"s\":\"\xc3\xa9\\u00e9 \\\" \",\"bad\":\"\xef\xbf\xbd\","
	    "\"iat\":1795701992,\"exp\":1795701993}");
	free(tok);
	token_signer_free(s);
}
END_TEST

START_TEST(test_sign_refusals)
{
	static const struct {
		const char *payload, *err;
	} cases[] = {
		{ "[1]", "Expected \"payload\" to be a plain object." },
		{ "\"x\"", "Expected \"payload\" to be a plain object." },
		{ "{\"a\":}", "Expected \"payload\" to be a plain object." },
		{ "", "Expected \"payload\" to be a plain object." },
		{ "{\"iat\":\"1\"}", "\"iat\" should be a number of seconds" },
		{ "{\"exp\":null}", "\"exp\" should be a number of seconds" },
		{ "{\"nbf\":true}", "\"nbf\" should be a number of seconds" },
		{ "{\"iat\":1e400}", "\"iat\" is out of range" },
	};
	struct token_signer *s = signer(JWS_HS256);
	char err[128], *tok = NULL;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(
		    token_sign(s, cases[i].payload, strlen(cases[i].payload),
		        0, 60, &tok, &len, err, sizeof(err)),
		    -1);
		ck_assert_str_eq(err, cases[i].err);
	}
	ck_assert_ptr_null(tok);
	token_signer_free(s);
}
END_TEST

START_TEST(test_signer_fits)
{
	char err[256];
	struct jws_key *k;

	k = key_of(rsa1024, 1);
	ck_assert_ptr_null(token_signer_new(k, JWS_RS256, err, sizeof(err)));
	ck_assert_str_eq(err,
	    "secretOrPrivateKey has a minimum key size of 2048 bits for "
	    "RS256");
	jws_key_free(k);
	k = key_for(JWS_ES256, 1);
	ck_assert_ptr_null(token_signer_new(k, JWS_ES512, err, sizeof(err)));
	ck_assert_str_eq(
	    err, "\"alg\" parameter \"ES512\" requires curve \"secp521r1\".");
	jws_key_free(k);
	/* A public key cannot sign. */
	k = key_for(JWS_RS256, 0);
	ck_assert_ptr_null(token_signer_new(k, JWS_RS256, err, sizeof(err)));
	ck_assert_str_eq(err,
	    "secretOrPrivateKey must be an asymmetric key when using RS256");
	jws_key_free(k);
	k = secret("s");
	ck_assert_ptr_null(token_signer_new(k, JWS_EDDSA, err, sizeof(err)));
	ck_assert_str_eq(err,
	    "secretOrPrivateKey must be an asymmetric key when using EdDSA");
	jws_key_free(k);
	k = key_for(JWS_EDDSA, 1);
	ck_assert_ptr_null(token_signer_new(k, JWS_HS256, err, sizeof(err)));
	ck_assert_str_eq(err,
	    "secretOrPrivateKey must be a symmetric key when using HS256");
	jws_key_free(k);
	ck_assert_ptr_null(jws_key_secret("", 0));
}
END_TEST

/* ---- keys ---- */

static char *
encode(EVP_PKEY *pk, int selection, const char *structure)
{
	OSSL_ENCODER_CTX *ctx = OSSL_ENCODER_CTX_new_for_pkey(
	    pk, selection, "PEM", structure, NULL);
	unsigned char *data = NULL;
	size_t len = 0;
	char *out;

	ck_assert(OSSL_ENCODER_to_data(ctx, &data, &len));
	out = strndup((char *) data, len);
	OPENSSL_free(data);
	OSSL_ENCODER_CTX_free(ctx);
	return out;
}

static char *
certificate(EVP_PKEY *pk)
{
	X509 *x = X509_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (unsigned char *) "agcluster", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	ck_assert(X509_sign(x, pk, EVP_sha256()));
	PEM_write_bio_X509(bio, x);
	n = BIO_get_mem_data(bio, &data);
	out = strndup(data, (size_t) n);
	BIO_free(bio);
	X509_free(x);
	return out;
}

/* Each public form Node's createPublicKey takes verifies the same tokens. */
START_TEST(test_public_key_forms)
{
	struct token_signer *s = signer(JWS_RS256);
	char *tok = sign(s, "{}", 0, 60), err[256];
	char *forms[] = { pem_of(rsa, 0), pem_of(rsa, 1),
		encode(rsa, EVP_PKEY_PUBLIC_KEY, "type-specific"),
		certificate(rsa) };

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct jws_key *k = jws_key_pem(
		    forms[i], strlen(forms[i]), 0, err, sizeof(err));
		struct token_verifier *v;

		ck_assert_msg(k != NULL, "form %zu: %s", i, err);
		ck_assert_int_eq(jws_key_type(k), JWS_KEY_RSA);
		v = verifier(k, -1);
		free(accepted(v, tok, 0));
		token_verifier_free(v);
		free(forms[i]);
	}
	free(tok);
	token_signer_free(s);
}
END_TEST

START_TEST(test_bad_pem)
{
	char err[256], *pem;
	BIO *bio = BIO_new(BIO_s_mem());
	long n;

	ck_assert_ptr_null(jws_key_pem("garbage", 7, 0, err, sizeof(err)));
	ck_assert_str_eq(err, "no public key found in the PEM text");
	pem = pem_of(rsa, 0);
	ck_assert_ptr_null(jws_key_pem(pem, strlen(pem), 1, err, sizeof(err)));
	ck_assert_str_eq(err,
	    "no private key found in the PEM text (it must not be encrypted)");
	free(pem);
	/* An encrypted key fails without asking for a passphrase. */
	ck_assert(PEM_write_bio_PKCS8PrivateKey(
	    bio, p256, EVP_aes_128_cbc(), "pw", 2, NULL, NULL));
	n = BIO_get_mem_data(bio, &pem);
	ck_assert_ptr_null(jws_key_pem(pem, (size_t) n, 1, err, sizeof(err)));
	BIO_free(bio);
	pem = pem_of(ed448, 0);
	ck_assert_ptr_null(jws_key_pem(pem, strlen(pem), 0, err, sizeof(err)));
	ck_assert_str_eq(
	    err, "unsupported key type ED448 (RSA, EC or Ed25519 expected)");
	free(pem);
}
END_TEST

START_TEST(test_key_match)
{
	struct jws_key *a = key_for(JWS_ES256, 1), *b = key_for(JWS_ES256, 0);
	struct jws_key *c = key_for(JWS_ES384, 0), *s1 = secret("x");
	struct jws_key *s2 = secret("x"), *s3 = secret("y");

	ck_assert_int_eq(jws_key_match(a, b), 1);
	ck_assert_int_eq(jws_key_match(a, c), 0);
	ck_assert_int_eq(jws_key_match(s1, s2), 1);
	ck_assert_int_eq(jws_key_match(s1, s3), 0);
	ck_assert_int_eq(jws_key_match(s1, a), 0);
	jws_key_free(a);
	jws_key_free(b);
	jws_key_free(c);
	jws_key_free(s1);
	jws_key_free(s2);
	jws_key_free(s3);
	jws_key_free(NULL);
}
END_TEST

/* ---- the configuration (common/tokenconf.c through agconf) ---- */

static char dir[64];
static char errout[4096];

static void
write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void
write_key(const char *name, EVP_PKEY *pk, int private)
{
	char *pem = pem_of(pk, private);

	write_file(name, pem);
	free(pem);
}

static void
conf_setup(void)
{
	strcpy(dir, "/tmp/test_token.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_key("rsa.key", rsa, 1);
	write_key("rsa.pub", rsa, 0);
	write_key("rsa1024.key", rsa1024, 1);
	write_key("rsa1024.pub", rsa1024, 0);
	write_key("p256.key", p256, 1);
	write_key("p256.pub", p256, 0);
	write_key("ed.pub", ed25519, 0);
	write_file("garbage.pem", "-----BEGIN PRIVATE KEY-----\nxx\n");
	ck_assert_int_eq(chdir(dir), 0);
}

static void
conf_teardown(void)
{
	static const char *const files[]
	    = { "rsa.key", "rsa.pub", "rsa1024.key", "rsa1024.pub", "p256.key",
		      "p256.pub", "ed.pub", "garbage.pem" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		unlink(files[i]);
	}
	ck_assert_int_eq(chdir("/"), 0);
	rmdir(dir);
}

/* Loads a configuration from args (NULL-terminated), keeping stderr in
 * errout; on success builds tc. Returns agconf's result. */
static int
load(struct agconf *c, struct tokenconf *tc, char **args)
{
	char *argv[16] = { "agctl" }, err[384];
	const char *option;
	int argc = 1, code = 0, saved = dup(2), rc;
	FILE *tmp = tmpfile();
	size_t n;

	while (args[argc - 1] != NULL) {
		argv[argc] = args[argc - 1];
		argc++;
	}
	fflush(stderr);
	dup2(fileno(tmp), 2);
	rc = agconf_load_from(c, argc, argv, NULL, &code);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(errout, 1, sizeof(errout) - 1, tmp);
	errout[n] = '\0';
	fclose(tmp);
	if (rc == 0) {
		ck_assert_msg(
		    tokenconf_init(tc, c, err, sizeof(err), &option) == 0,
		    "%s: %s", option, err);
	}
	return rc;
}

#define ARGS(...) ((char *[]) { __VA_ARGS__, NULL })

START_TEST(test_conf_secret_and_previous)
{
	struct agconf c;
	struct tokenconf tc;
	char *tok;

	ck_assert_int_eq(load(&c, &tc,
	                     ARGS("--auth-key=now", "--auth-default-expiry=5",
	                         "--auth-previous-keys= old1 , old2 ")),
	    0);
	ck_assert_int_eq(tc.random_key, 0);
	ck_assert_int_eq(tc.default_expiry, 5);
	ck_assert_int_eq(token_signer_alg(tc.signer), JWS_HS256);
	tok = sign(tc.signer, "{}", 0, tc.default_expiry);
	ck_assert_str_eq(payload_of(tok), "{\"iat\":0,\"exp\":5}");
	free(accepted(tc.verifier, tok, 0));
	free(accepted(tc.verifier, craft(HS256, "{}", "old2"), 0));
	free(accepted(tc.verifier, craft(HS256, "{}", "old1"), 0));
	refused(tc.verifier, craft(HS256, "{}", " old1 "), 0, TOKEN_INVALID,
	    "invalid signature");
	ck_assert(token_verifier_allows(tc.verifier, JWS_HS512));
	free(tok);
	tokenconf_fini(&tc);
	agconf_fini(&c);
}
END_TEST

/* Without auth_key every process draws its own key, as the reference. */
START_TEST(test_conf_random_key)
{
	struct agconf c;
	struct tokenconf a, b;
	char err[128];
	const char *option;
	char *tok;

	ck_assert_int_eq(load(&c, &a, ARGS("--auth-algorithm=HS384")), 0);
	ck_assert_int_eq(tokenconf_init(&b, &c, err, sizeof(err), &option), 0);
	ck_assert_int_eq(a.random_key, 1);
	tok = sign(a.signer, "{}", 0, 60);
	free(accepted(a.verifier, tok, 0));
	refused(b.verifier, tok, 0, TOKEN_INVALID, "invalid signature");
	ck_assert(!token_verifier_allows(a.verifier, JWS_HS256));
	free(tok);
	tokenconf_fini(&a);
	tokenconf_fini(&b);
	agconf_fini(&c);
}
END_TEST

START_TEST(test_conf_key_pair)
{
	struct agconf c;
	struct tokenconf tc;
	struct token_signer *es = signer(JWS_ES256);
	char *tok, *tes = sign(es, "{}", 0, 60);

	ck_assert_int_eq(
	    load(&c, &tc,
	        ARGS("--auth-private-key=rsa.key", "--auth-public-key=rsa.pub",
	            "--auth-key=ignored", "--auth-algorithm=PS384",
	            "--auth-previous-keys=p256.pub",
	            "--auth-verify-algorithms=PS384, ES256")),
	    0);
	ck_assert_int_eq(token_signer_alg(tc.signer), JWS_PS384);
	tok = sign(tc.signer, "{}", 0, 60);
	free(accepted(tc.verifier, tok, 0));
	free(accepted(tc.verifier, tes, 0));
	refused(tc.verifier, craft(HS256, "{}", "ignored"), 0, TOKEN_INVALID,
	    "invalid algorithm");
	free(tok);
	free(tes);
	token_signer_free(es);
	tokenconf_fini(&tc);
	agconf_fini(&c);
}
END_TEST

static const struct {
	const char *args[4];
	const char *err;
} conf_errors[] = {
	{ { "--auth-private-key=rsa.key" },
	    "auth_private_key (flag --auth-private-key): auth_private_key and "
	    "auth_public_key must be set together" },
	{ { "--auth-public-key=rsa.pub" },
	    "auth_public_key (flag --auth-public-key): auth_private_key and "
	    "auth_public_key must be set together" },
	{ { "--auth-private-key=none.key", "--auth-public-key=rsa.pub" },
	    "auth_private_key (flag --auth-private-key): cannot read "
	    "none.key: "
	    "No such file or directory" },
	{ { "--auth-private-key=garbage.pem", "--auth-public-key=rsa.pub" },
	    "auth_private_key (flag --auth-private-key): garbage.pem: no "
	    "private key found in the PEM text (it must not be encrypted)" },
	{ { "--auth-private-key=rsa.key", "--auth-public-key=p256.pub" },
	    "auth_public_key (flag --auth-public-key): p256.pub does not "
	    "match "
	    "the private key rsa.key" },
	{ { "--auth-private-key=rsa.key", "--auth-public-key=rsa.pub" },
	    "auth_algorithm (default): must be set when auth_private_key is "
	    "(this key takes RS256, RS384, RS512, PS256, PS384, PS512)" },
	{ { "--auth-private-key=p256.key", "--auth-public-key=p256.pub",
	      "--auth-algorithm=ES384" },
	    "auth_algorithm (flag --auth-algorithm): ES384 does not fit the "
	    "auth_private_key: \"alg\" parameter \"ES384\" requires curve "
	    "\"secp384r1\". (it takes ES256)" },
	{ { "--auth-private-key=rsa1024.key", "--auth-public-key=rsa1024.pub",
	      "--auth-algorithm=RS256" },
	    "RS256 does not fit the auth_private_key: secretOrPrivateKey has "
	    "a "
	    "minimum key size of 2048 bits for RS256 (it takes no "
	    "algorithm)" },
	{ { "--auth-private-key=p256.key", "--auth-public-key=p256.pub",
	      "--auth-algorithm=ES256", "--auth-previous-keys=none.pub" },
	    "auth_previous_keys (flag --auth-previous-keys): cannot read "
	    "none.pub" },
	{ { "--auth-algorithm=ES256" },
	    "auth_algorithm (flag --auth-algorithm): ES256 does not fit the "
	    "HMAC secret auth_key: secretOrPrivateKey must be an asymmetric "
	    "key when using ES256 (it takes HS256, HS384, HS512)" },
	{ { "--auth-key=k", "--auth-verify-algorithms=HS256,EdDSA" },
	    "auth_verify_algorithms (flag --auth-verify-algorithms): EdDSA "
	    "fits "
	    "none of the verification keys" },
	{ { "--auth-verify-algorithms=HS256,none" },
	    "flag --auth-verify-algorithms: bad value \"HS256,none\" for "
	    "auth_verify_algorithms: unknown algorithm" },
	{ { "--auth-algorithm=none" },
	    "bad value \"none\" for auth_algorithm: unknown algorithm" },
	{ { "--auth-previous-keys=a,,b" },
	    "auth_previous_keys (flag --auth-previous-keys): empty item in "
	    "the "
	    "list" },
	{ { "--auth-default-expiry=0" },
	    "bad value \"0\" for auth_default_expiry: must be between 1 and "
	    "3153600000" },
};

START_TEST(test_conf_errors)
{
	struct agconf c;
	struct tokenconf tc;
	char *args[5] = { NULL };

	for (int i = 0; i < 4 && conf_errors[_i].args[i] != NULL; i++) {
		args[i] = (char *) conf_errors[_i].args[i];
	}
	ck_assert_int_eq(load(&c, &tc, args), 1);
	ck_assert_msg(strstr(errout, conf_errors[_i].err) != NULL,
	    "\"%s\" not in \"%s\"", conf_errors[_i].err, errout);
}
END_TEST

/* ---- the suite ---- */

static Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("verify");
	TCase *sg = tcase_create("sign");
	TCase *cf = tcase_create("conf");

	tcase_add_loop_test(tc, test_roundtrip_every_algorithm, 0, JWS_NALGS);
	tcase_add_test(tc, test_transcript_tokens);
	tcase_add_test(tc, test_hs512_default_and_restricted);
	tcase_add_test(tc, test_authenticate_expired_t07);
	tcase_add_test(tc, test_alg_none);
	tcase_add_test(tc, test_algorithm_confusion);
	tcase_add_test(tc, test_wrong_key_type);
	tcase_add_test(tc, test_default_algorithms);
	tcase_add_test(tc, test_ecdsa_signature_length);
	tcase_add_test(tc, test_pss_salt_length);
	tcase_add_test(tc, test_previous_keys);
	tcase_add_test(tc, test_hmac_compared_in_constant_time);
	tcase_add_test(tc, test_hmac_noncanonical_base64);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_test(tc, test_bad_payloads);
	tcase_add_test(tc, test_nesting_depth);
	tcase_add_test(tc, test_payload_utf8);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_claim_types);
	tcase_add_test(tc, test_time_boundaries);
	suite_add_tcase(s, tc);
	tcase_add_test(sg, test_header_and_claims);
	tcase_add_test(sg, test_sign_claims);
	tcase_add_test(sg, test_sign_refusals);
	tcase_add_test(sg, test_signer_fits);
	tcase_add_test(sg, test_public_key_forms);
	tcase_add_test(sg, test_bad_pem);
	tcase_add_test(sg, test_key_match);
	suite_add_tcase(s, sg);
	tcase_add_checked_fixture(cf, conf_setup, conf_teardown);
	tcase_add_test(cf, test_conf_secret_and_previous);
	tcase_add_test(cf, test_conf_random_key);
	tcase_add_test(cf, test_conf_key_pair);
	tcase_add_loop_test(cf, test_conf_errors, 0,
	    (int) (sizeof(conf_errors) / sizeof(conf_errors[0])));
	suite_add_tcase(s, cf);
	return s;
}

int
main(void)
{
	int rc;

	rsa = EVP_RSA_gen(2048);
	rsa1024 = EVP_RSA_gen(1024);
	p256 = EVP_EC_gen("P-256");
	p384 = EVP_EC_gen("P-384");
	p521 = EVP_EC_gen("P-521");
	ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	rc = unit_run(token_suite());
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(ed25519);
	EVP_PKEY_free(ed448);
	return rc;
}
