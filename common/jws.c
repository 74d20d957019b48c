#include "jws.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/mem.h"

enum alg_family { FAM_HS, FAM_RS, FAM_PS, FAM_ES, FAM_ED };

static const struct alg_info {
	const char *name;
	enum alg_family fam;
	int bits;          /* SHA-2 digest size; 0 for EdDSA */
	const char *curve; /* ES: the curve, as Node names it */
	size_t pbytes;     /* ES: bytes of r and of s */
} algs[JWS_NALGS] = {
	{ "HS256", FAM_HS, 256, NULL, 0 },
	{ "HS384", FAM_HS, 384, NULL, 0 },
	{ "HS512", FAM_HS, 512, NULL, 0 },
	{ "RS256", FAM_RS, 256, NULL, 0 },
	{ "RS384", FAM_RS, 384, NULL, 0 },
	{ "RS512", FAM_RS, 512, NULL, 0 },
	{ "PS256", FAM_PS, 256, NULL, 0 },
	{ "PS384", FAM_PS, 384, NULL, 0 },
	{ "PS512", FAM_PS, 512, NULL, 0 },
	{ "ES256", FAM_ES, 256, "prime256v1", 32 },
	{ "ES384", FAM_ES, 384, "secp384r1", 48 },
	{ "ES512", FAM_ES, 512, "secp521r1", 66 },
	{ "EdDSA", FAM_ED, 0, NULL, 0 },
};

#define HS_ALGS                                                               \
	(JWS_ALG_BIT(JWS_HS256) | JWS_ALG_BIT(JWS_HS384)                      \
	    | JWS_ALG_BIT(JWS_HS512))
#define RSA_ALGS                                                              \
	(JWS_ALG_BIT(JWS_RS256) | JWS_ALG_BIT(JWS_RS384)                      \
	    | JWS_ALG_BIT(JWS_RS512) | JWS_ALG_BIT(JWS_PS256)                 \
	    | JWS_ALG_BIT(JWS_PS384) | JWS_ALG_BIT(JWS_PS512))
#define EC_ALGS                                                               \
	(JWS_ALG_BIT(JWS_ES256) | JWS_ALG_BIT(JWS_ES384)                      \
	    | JWS_ALG_BIT(JWS_ES512))
#define ED_ALGS JWS_ALG_BIT(JWS_EDDSA)

/* Per key type: jsonwebtoken's default algorithms, its name in Node, and
 * the list its "alg" parameter message gives (validateAsymmetricKey.js). */
static const struct key_info {
	unsigned algs;
	const char *node_name;
	const char *allowed;
} key_infos[] = {
	[JWS_KEY_SECRET] = { HS_ALGS, "secret", "HS256, HS384, HS512" },
	[JWS_KEY_RSA]
	= { RSA_ALGS, "rsa", "RS256, PS256, RS384, PS384, RS512, PS512" },
	[JWS_KEY_EC] = { EC_ALGS, "ec", "ES256, ES384, ES512" },
	[JWS_KEY_ED25519] = { ED_ALGS, "ed25519", "EdDSA" },
};

struct jws_key {
	enum jws_key_type type;
	uint8_t *secret; /* owned, JWS_KEY_SECRET */
	size_t len;
	EVP_PKEY *pkey; /* owned, the other types */
	/* JWS_KEY_SECRET: HMAC-SHA256/384/512 contexts keyed once; NULL when
	 * OpenSSL refused (the one-shot HMAC() is used then). */
	EVP_MAC_CTX *mac[3];
	int has_private;
	int bits;
	char curve[32]; /* EC: OpenSSL's short name of the group */
};

static void *
need(void *p)
{
	if (p == NULL) {
		fprintf(stderr, "jws: OpenSSL allocation failed\n");
		abort();
	}
	return p;
}

static const char b64_chars[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
jws_b64url_encode(struct strbuf *sb, const void *bytes, size_t n)
{
	const uint8_t *p = bytes;
	char *o;
	size_t i;

	sb_reserve(sb, (n + 2) / 3 * 4 + 1);
	o = sb->data + sb->len;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8
		    | p[i + 2];

		*o++ = b64_chars[v >> 18];
		*o++ = b64_chars[(v >> 12) & 63];
		*o++ = b64_chars[(v >> 6) & 63];
		*o++ = b64_chars[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t) p[i] << 16
		    | (i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0);

		*o++ = b64_chars[v >> 18];
		*o++ = b64_chars[(v >> 12) & 63];
		if (i + 1 < n) {
			*o++ = b64_chars[(v >> 6) & 63];
		}
	}
	sb->len = (size_t) (o - sb->data);
	sb->data[sb->len] = '\0';
}

/* The value of a base64url character, or -1 (no table search: this runs
 * for every character of every token). */
static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

int
jws_b64url_alphabet(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b64url_value((unsigned char) s[i]) < 0) {
			return 0;
		}
	}
	return 1;
}

/* Decodes n base64url characters (checked by the caller) as Node's
 * Buffer.from(s, 'base64') does: a lone last character and the unused low
 * bits of the last one are ignored. Appends the bytes to sb. */
void
jws_b64url_decode(struct strbuf *sb, const char *s, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;

	char *o;

	sb_reserve(sb, n / 4 * 3 + 4);
	o = sb->data + sb->len;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 6)
		    | (uint32_t) b64url_value((unsigned char) s[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (char) ((acc >> bits) & 0xff);
		}
	}
	sb->len = (size_t) (o - sb->data);
	sb->data[sb->len] = '\0';
}

static const EVP_MD *
alg_md(const struct alg_info *a)
{
	switch (a->bits) {
	case 256:
		return EVP_sha256();
	case 384:
		return EVP_sha384();
	case 512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* Appends the base64url HMAC of msg to sb. jwa compares signatures as
 * these strings, so a signature with stray low bits in its last character
 * is refused, as there. */
static void
hmac_b64(const struct jws_key *k, const struct alg_info *a, const char *msg,
    size_t n, struct strbuf *sb)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	EVP_MAC_CTX *ctx = k->mac[a->bits == 256 ? 0 : a->bits == 384 ? 1 : 2];
	size_t got = 0;

	/* A keyed context re-initialised without its key: OpenSSL 3's HMAC()
	 * looks the algorithms up again on every call. */
	if (ctx != NULL && EVP_MAC_init(ctx, NULL, 0, NULL) == 1
	    && EVP_MAC_update(ctx, (const uint8_t *) msg, n) == 1
	    && EVP_MAC_final(ctx, mac, &got, sizeof(mac)) == 1) {
		jws_b64url_encode(sb, mac, got);
		return;
	}
	need(HMAC(alg_md(a), k->secret, (int) k->len, (const uint8_t *) msg, n,
	    mac, &len));
	jws_b64url_encode(sb, mac, len);
}

static int
set_padding(EVP_PKEY_CTX *pctx, const struct alg_info *a)
{
	if (a->fam == FAM_RS) {
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
	}
	/* jwa signs and verifies PS* with the salt as long as the digest
	 * (RSA_PSS_SALTLEN_DIGEST), both ways: a longer salt is refused. */
	if (a->fam == FAM_PS) {
		return EVP_PKEY_CTX_set_rsa_padding(
		           pctx, RSA_PKCS1_PSS_PADDING)
		    == 1
		    && EVP_PKEY_CTX_set_rsa_pss_saltlen(
		           pctx, RSA_PSS_SALTLEN_DIGEST)
		    == 1;
	}
	return 1;
}

/* Returns 1 if sig is a valid signature of msg by k under a. */
static int
pkey_verify(const struct jws_key *k, const struct alg_info *a, const char *msg,
    size_t n, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = need(EVP_MD_CTX_new());
	EVP_PKEY_CTX *pctx = NULL;
	int ok
	    = EVP_DigestVerifyInit(ctx, &pctx, alg_md(a), NULL, k->pkey) == 1
	    && set_padding(pctx, a) == 1
	    && EVP_DigestVerify(ctx, sig, siglen, (const uint8_t *) msg, n)
	        == 1;

	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* JWS carries ECDSA signatures as r || s, each pbytes long; OpenSSL
 * wants DER. */
static int
es_verify(const struct jws_key *k, const struct alg_info *a, const char *msg,
    size_t n, const uint8_t *raw)
{
	ECDSA_SIG *sig = need(ECDSA_SIG_new());
	BIGNUM *r = need(BN_bin2bn(raw, (int) a->pbytes, NULL));
	BIGNUM *s = need(BN_bin2bn(raw + a->pbytes, (int) a->pbytes, NULL));
	uint8_t *der = NULL;
	int len, ok;

	ECDSA_SIG_set0(sig, r, s);
	len = i2d_ECDSA_SIG(sig, &der);
	ok = len > 0 && pkey_verify(k, a, msg, n, der, (size_t) len);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return ok;
}

/* Turns OpenSSL's DER ECDSA signature into r || s in place. */
static int
es_raw(const struct alg_info *a, uint8_t *sig, size_t *len)
{
	const uint8_t *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long) *len);
	const BIGNUM *r, *s;
	int ok;

	if (es == NULL) {
		return -1;
	}
	ECDSA_SIG_get0(es, &r, &s);
	ok = BN_bn2binpad(r, sig, (int) a->pbytes) == (int) a->pbytes
	    && BN_bn2binpad(s, sig + a->pbytes, (int) a->pbytes)
	        == (int) a->pbytes;
	ECDSA_SIG_free(es);
	*len = 2 * a->pbytes;
	return ok ? 0 : -1;
}

/* Appends the base64url signature of msg by k under a to sb. */
static int
pkey_sign(const struct jws_key *k, const struct alg_info *a, const char *msg,
    size_t n, struct strbuf *sb)
{
	EVP_MD_CTX *ctx = need(EVP_MD_CTX_new());
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *sig = NULL;
	size_t len = 0;
	int ok = EVP_DigestSignInit(ctx, &pctx, alg_md(a), NULL, k->pkey) == 1
	    && set_padding(pctx, a) == 1
	    && EVP_DigestSign(ctx, NULL, &len, (const uint8_t *) msg, n) == 1;

	if (ok) {
		/* ECDSA needs room for the DER form, longer than r || s. */
		sig = mem_alloc(len + 2 * a->pbytes);
		ok = EVP_DigestSign(ctx, sig, &len, (const uint8_t *) msg, n)
		        == 1
		    && (a->fam != FAM_ES || es_raw(a, sig, &len) == 0);
	}
	if (ok) {
		jws_b64url_encode(sb, sig, len);
	}
	mem_free(sig);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

int
jws_alg_parse(const char *name, size_t len)
{
	for (int a = 0; a < JWS_NALGS; a++) {
		if (strlen(algs[a].name) == len
		    && memcmp(algs[a].name, name, len) == 0) {
			return a;
		}
	}
	return -1;
}

const char *
jws_alg_name(enum jws_alg alg)
{
	return algs[alg].name;
}

/* jsonwebtoken's own checks of the key kind are JsonWebTokenErrors
 * (JWS_EKIND); validateAsymmetricKey throws plain Errors (JWS_EPARAM). */
int
jws_fits(enum jws_alg alg, const struct jws_key *k, int signing, char *why,
    size_t n)
{
	const struct alg_info *a = &algs[alg];
	const char *who = signing ? "secretOrPrivateKey" : "secretOrPublicKey";

	if ((a->fam == FAM_HS) != (k->type == JWS_KEY_SECRET)
	    || (signing && a->fam != FAM_HS && !k->has_private)) {
		snprintf(why, n, "%s must be %s key when using %s", who,
		    a->fam == FAM_HS ? "a symmetric" : "an asymmetric",
		    a->name);
		return JWS_EKIND;
	}
	if (a->fam != FAM_HS
	    && !(key_infos[k->type].algs & JWS_ALG_BIT(alg))) {
		snprintf(why, n,
		    "\"alg\" parameter for \"%s\" key type must be one of: "
		    "%s.",
		    key_infos[k->type].node_name, key_infos[k->type].allowed);
		return JWS_EPARAM;
	}
	if (a->fam == FAM_ES && strcmp(k->curve, a->curve) != 0) {
		snprintf(why, n,
		    "\"alg\" parameter \"%s\" requires curve \"%s\".", a->name,
		    a->curve);
		return JWS_EPARAM;
	}
	if (signing && (a->fam == FAM_RS || a->fam == FAM_PS)
	    && k->bits < 2048) {
		snprintf(why, n,
		    "secretOrPrivateKey has a minimum key size of 2048 "
		    "bits for %s",
		    a->name);
		return JWS_EPARAM;
	}
	return 0;
}

unsigned
jws_default_algs(enum jws_key_type t)
{
	return key_infos[t].algs;
}

/* Keys an HMAC context per digest once, for hmac_b64. */
static void
key_macs(struct jws_key *k)
{
	static const char *const digests[3] = { "SHA256", "SHA384", "SHA512" };
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	for (int i = 0; i < 3 && hmac != NULL; i++) {
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(
			    OSSL_MAC_PARAM_DIGEST, (char *) digests[i], 0),
			OSSL_PARAM_construct_end(),
		};

		k->mac[i] = EVP_MAC_CTX_new(hmac);
		if (k->mac[i] != NULL
		    && EVP_MAC_init(k->mac[i], k->secret, k->len, params)
		        != 1) {
			EVP_MAC_CTX_free(k->mac[i]);
			k->mac[i] = NULL;
		}
	}
	EVP_MAC_free(hmac);
}

struct jws_key *
jws_key_secret(const void *secret, size_t len)
{
	struct jws_key *k;

	if (len == 0 || len > INT32_MAX) {
		return NULL;
	}
	k = mem_calloc(1, sizeof(*k));
	k->type = JWS_KEY_SECRET;
	k->secret = mem_alloc(len);
	memcpy(k->secret, secret, len);
	k->len = len;
	key_macs(k);
	return k;
}

/* Decodes a key from PEM with OpenSSL's decoders, which never prompt for a
 * passphrase: an encrypted key simply fails. */
static EVP_PKEY *
decode_pem(const char *pem, size_t len, int selection)
{
	EVP_PKEY *pkey = NULL;
	OSSL_DECODER_CTX *dctx = need(OSSL_DECODER_CTX_new_for_pkey(
	    &pkey, "PEM", NULL, NULL, selection, NULL, NULL));
	const unsigned char *p = (const unsigned char *) pem;
	size_t n = len;

	if (OSSL_DECODER_from_data(dctx, &p, &n) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	OSSL_DECODER_CTX_free(dctx);
	ERR_clear_error();
	return pkey;
}

/* Node's createPublicKey also takes a certificate. */
static EVP_PKEY *
decode_certificate(const char *pem, size_t len)
{
	BIO *bio = need(BIO_new_mem_buf(pem, (int) len));
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	EVP_PKEY *pkey = x != NULL ? X509_get_pubkey(x) : NULL;

	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	return pkey;
}

/* Fills k's type and details from its EVP_PKEY; -1 for other key types. */
static int
describe_key(struct jws_key *k, char *err, size_t errlen)
{
	size_t n = 0;

	switch (EVP_PKEY_get_base_id(k->pkey)) {
	case EVP_PKEY_RSA:
		k->type = JWS_KEY_RSA;
		break;
	case EVP_PKEY_EC:
		k->type = JWS_KEY_EC;
		if (EVP_PKEY_get_group_name(
		        k->pkey, k->curve, sizeof(k->curve), &n)
		    != 1) {
			k->curve[0] = '\0';
		}
		break;
	case EVP_PKEY_ED25519:
		k->type = JWS_KEY_ED25519;
		break;
	default:
		snprintf(err, errlen,
		    "unsupported key type %s (RSA, EC or Ed25519 expected)",
		    EVP_PKEY_get0_type_name(k->pkey));
		return -1;
	}
	k->bits = EVP_PKEY_get_bits(k->pkey);
	return 0;
}

struct jws_key *
jws_key_pem(const char *pem, size_t len, int private, char *err, size_t errlen)
{
	struct jws_key *k;
	EVP_PKEY *pkey;

	if (len > INT32_MAX) {
		snprintf(err, errlen, "PEM text too long");
		return NULL;
	}
	pkey = decode_pem(
	    pem, len, private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
	if (pkey == NULL && !private) {
		pkey = decode_certificate(pem, len);
	}
	/* Node derives a public key from a private one. */
	if (pkey == NULL && !private) {
		pkey = decode_pem(pem, len, EVP_PKEY_KEYPAIR);
	}
	if (pkey == NULL) {
		snprintf(err, errlen, "no %s key found in the PEM text%s",
		    private ? "private" : "public",
		    private ? " (it must not be encrypted)" : "");
		return NULL;
	}
	k = mem_calloc(1, sizeof(*k));
	k->pkey = pkey;
	k->has_private = private;
	if (describe_key(k, err, errlen) != 0) {
		jws_key_free(k);
		return NULL;
	}
	return k;
}

enum jws_key_type
jws_key_type(const struct jws_key *k)
{
	return k->type;
}

int
jws_key_match(const struct jws_key *a, const struct jws_key *b)
{
	if (a->type == JWS_KEY_SECRET || b->type == JWS_KEY_SECRET) {
		return a->type == b->type && a->len == b->len
		    && CRYPTO_memcmp(a->secret, b->secret, a->len) == 0;
	}
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

void
jws_key_free(struct jws_key *k)
{
	if (k == NULL) {
		return;
	}
	if (k->secret != NULL) {
		OPENSSL_cleanse(k->secret, k->len);
	}
	mem_free(k->secret);
	for (int i = 0; i < 3; i++) {
		EVP_MAC_CTX_free(k->mac[i]);
	}
	EVP_PKEY_free(k->pkey);
	mem_free(k);
}

int
jws_verify(const struct jws_key *k, enum jws_alg alg, const char *input,
    size_t n, const char *sig, size_t siglen, char *why, size_t whylen)
{
	const struct alg_info *a = &algs[alg];
	struct strbuf b;
	int ok;

	sb_init(&b);
	if (a->fam == FAM_HS) {
		hmac_b64(k, a, input, n, &b);
		ok = b.len == siglen && CRYPTO_memcmp(b.data, sig, b.len) == 0;
	} else {
		jws_b64url_decode(&b, sig, siglen);
		if (a->fam == FAM_ES && b.len != 2 * a->pbytes) {
			snprintf(why, whylen,
			    "\"%s\" signatures must be \"%zu\" bytes, "
			    "saw \"%zu\"",
			    a->name, 2 * a->pbytes, b.len);
			sb_fini(&b);
			return JWS_ELENGTH;
		}
		ok = a->fam == FAM_ES
		    ? es_verify(k, a, input, n, (const uint8_t *) b.data)
		    : pkey_verify(
		        k, a, input, n, (const uint8_t *) b.data, b.len);
	}
	sb_fini(&b);
	return ok ? 0 : JWS_EBAD;
}

int
jws_sign(const struct jws_key *k, enum jws_alg alg, const char *input,
    size_t n, struct strbuf *sig)
{
	const struct alg_info *a = &algs[alg];

	if (a->fam == FAM_HS) {
		hmac_b64(k, a, input, n, sig);
		return 0;
	}
	return pkey_sign(k, a, input, n, sig);
}
