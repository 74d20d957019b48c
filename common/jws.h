/*
 * JSON Web Signature primitives for auth tokens: the algorithms
 * jsonwebtoken 9 knows (plus EdDSA), keys, base64url, and the signature of a
 * token's "header.payload" text, each byte as the npm packages jws/jwa
 * produce and check it. The token rules (what is checked in which order,
 * the claims) are common/token.h's.
 *
 * Pure: keys come from bytes or PEM text, never from files.
 */
#ifndef AG_JWS_H
#define AG_JWS_H

#include <stddef.h>

#include "common/strbuf.h"

enum jws_alg {
	JWS_HS256,
	JWS_HS384,
	JWS_HS512,
	JWS_RS256,
	JWS_RS384,
	JWS_RS512,
	JWS_PS256,
	JWS_PS384,
	JWS_PS512,
	JWS_ES256,
	JWS_ES384,
	JWS_ES512,
	JWS_EDDSA,
	JWS_NALGS,
};

/* A set of algorithms: bit 1 << alg. */
#define JWS_ALG_BIT(a) (1u << (a))

enum jws_key_type {
	JWS_KEY_SECRET,
	JWS_KEY_RSA,
	JWS_KEY_EC,
	JWS_KEY_ED25519,
};

/* Results of jws_fits and jws_verify besides 0 (success). */
enum jws_error {
	JWS_EKIND = 1,   /* the key is of the wrong kind (JsonWebTokenError) */
	JWS_EPARAM = 2,  /* the key does not take this algorithm (Error) */
	JWS_EBAD = 3,    /* the signature does not verify */
	JWS_ELENGTH = 4, /* an ECDSA signature of the wrong size (TypeError) */
};

struct jws_key;

/* Returns the algorithm named by the len bytes at name ("HS256", "EdDSA"),
 * or -1 for any other name, "none" included. */
int jws_alg_parse(const char *name, size_t len);
/* Returns the static name of alg. */
const char *jws_alg_name(enum jws_alg alg);
/* Returns the algorithms jsonwebtoken accepts for a key of type t when
 * none are configured: HS* for a secret, RS* and PS* for RSA, ES* for EC
 * (any curve: a mismatch is refused by jws_fits), EdDSA for Ed25519. */
unsigned jws_default_algs(enum jws_key_type t);

/* Returns an owned key holding a copy of the len bytes of secret (an HMAC
 * key), or NULL when len is 0 or above 2 GiB. */
struct jws_key *jws_key_secret(const void *secret, size_t len);
/*
 * Returns an owned key read from the len bytes of PEM text at pem: a private
 * key when private is set (PKCS#8 or the traditional RSA/EC forms, not
 * encrypted: nothing ever prompts for a passphrase), else a public key
 * (SubjectPublicKeyInfo, PKCS#1 RSA, a certificate, or a private key whose
 * public half is used), as Node's createPrivateKey/createPublicKey take
 * them. RSA, EC and Ed25519 keys only. On failure returns NULL with the
 * reason in err.
 */
struct jws_key *jws_key_pem(
    const char *pem, size_t len, int private, char *err, size_t errlen);
enum jws_key_type jws_key_type(const struct jws_key *k);
/* Returns 1 if a and b hold the same secret, or the same public key. */
int jws_key_match(const struct jws_key *a, const struct jws_key *b);
void jws_key_free(struct jws_key *k);

/*
 * Returns 0 if alg can be used with k, for signing (a secret or a private
 * key; RSA needs 2048 bits, as jsonwebtoken's sign) or for verifying. Else
 * JWS_EKIND or JWS_EPARAM, with jsonwebtoken's message in why.
 */
int jws_fits(enum jws_alg alg, const struct jws_key *k, int signing, char *why,
    size_t whylen);

/*
 * Appends the base64url signature of the n bytes at input (borrowed) by k
 * under alg to sig. k must fit alg for signing. Returns 0, or -1 if
 * OpenSSL fails.
 */
int jws_sign(const struct jws_key *k, enum jws_alg alg, const char *input,
    size_t n, struct strbuf *sig);
/*
 * Checks sig, siglen base64url characters (checked by the caller), as the
 * signature of the n bytes at input by k under alg, which fits k. Returns 0
 * if it verifies, JWS_EBAD if not, or JWS_ELENGTH with jwa's message in why
 * for an ECDSA signature of the wrong size. An HMAC is compared as base64url
 * text in constant time (CRYPTO_memcmp), as jwa compares it.
 */
int jws_verify(const struct jws_key *k, enum jws_alg alg, const char *input,
    size_t n, const char *sig, size_t siglen, char *why, size_t whylen);

/* Appends the n bytes at p to sb in base64url without padding. */
void jws_b64url_encode(struct strbuf *sb, const void *p, size_t n);
/* Returns 1 if the n characters at s are all base64url characters. */
int jws_b64url_alphabet(const char *s, size_t n);
/* Appends the bytes that the n base64url characters at s (checked with
 * jws_b64url_alphabet) encode to sb, as Node's Buffer.from(s, 'base64')
 * does: a lone last character and unused low bits are ignored. */
void jws_b64url_decode(struct strbuf *sb, const char *s, size_t n);

#endif
