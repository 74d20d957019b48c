/*
 * Auth tokens: JSON Web Tokens (JWS compact form) signed and verified the way
 * socketcluster-server does it with the npm package jsonwebtoken 9, so that a
 * token from one verifies in the other and a rejected token gets the same
 * error name and message on the wire (spec §7.3, §8; docs/auth.md).
 *
 * Pure: no file or network I/O, and the time is passed in (milliseconds since
 * the epoch, as Date.now()). Keys and signatures are common/jws.h's;
 * common/tokenconf.h builds verifier and signer from the configuration.
 *
 * A verifier holds keys, the current one first and previous ones after it
 * (rotation: a token verifies if any key verifies it), and the algorithms it
 * accepts. A signer holds one private key or secret and one algorithm.
 */
#ifndef AG_TOKEN_H
#define AG_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/jws.h"

/* The longest token token_verify looks at, and token_sign produces. A longer
 * one fails with "jwt malformed" before it is decoded: a client chooses the
 * token, and this bounds what it makes us decode, parse and hash. */
#define TOKEN_MAX_LEN 8192

/*
 * Outcomes of token_verify. Each is one error class of the reference server
 * (sc-errors), named in token_error.name.
 */
enum token_status {
	TOKEN_OK = 0,
	TOKEN_EXPIRED = 1,    /* AuthTokenExpiredError, isBadToken true */
	TOKEN_NOT_BEFORE = 2, /* AuthTokenNotBeforeError, isBadToken false */
	TOKEN_INVALID = 3,    /* AuthTokenInvalidError, isBadToken true */
	TOKEN_ERROR = 4,      /* AuthTokenError, isBadToken true */
};

/* Why a token was refused, in the words the reference puts on the wire:
 * {"message":..., "name":..., [date_field: date,] "isBadToken":...}. */
struct token_error {
	const char *name; /* static: "AuthTokenInvalidError", ... */
	char message[128];
	int is_bad_token;
	/* NULL, or "expiry" (TOKEN_EXPIRED) or "date" (TOKEN_NOT_BEFORE) */
	const char *date_field;
	/* ISO-8601 with milliseconds, "2026-11-26T13:01:42.000Z"; "" for a
	 * time JavaScript cannot represent, which the wire shows as null */
	char date[32];
};

/* A verified token's payload. */
struct token_claims {
	char *payload; /* owned: a JSON object, valid UTF-8, NUL-terminated */
	size_t len;
	int has_exp;
	double exp; /* the exp claim, seconds, when has_exp */
};

struct token_verifier;
struct token_signer;

/* Returns an owned verifier with no keys, which accepts nothing. */
struct token_verifier *token_verifier_new(void);
/* Appends k (taking ownership): the first key added is the current one. */
void token_verifier_add_key(struct token_verifier *v, struct jws_key *k);
/*
 * Accepts alg. Until the first call the verifier accepts what jsonwebtoken
 * picks for its keys: HS256/384/512 for a secret, RS* and PS* for RSA,
 * ES256/384/512 for EC, and EdDSA for Ed25519.
 */
void token_verifier_allow(struct token_verifier *v, enum jws_alg alg);
/* Returns 1 if v accepts alg. */
int token_verifier_allows(const struct token_verifier *v, enum jws_alg alg);
/* Returns 1 if alg fits at least one of v's keys for verifying. */
int token_verifier_fits(const struct token_verifier *v, enum jws_alg alg);
void token_verifier_free(struct token_verifier *v);

/*
 * Verifies the len bytes of token (borrowed) at the time now_ms, in
 * jsonwebtoken's order: provided, size, three parts, decodable, signature
 * present, algorithm accepted, key fits, signature, payload an object, nbf,
 * exp. Returns TOKEN_OK with *out filled (release with token_claims_fini),
 * or another enum token_status with *err filled; each writes only its own.
 */
int token_verify(const struct token_verifier *v, const char *token, size_t len,
    int64_t now_ms, struct token_claims *out, struct token_error *err);
void token_claims_fini(struct token_claims *c);
/* Returns 1 if c has expired at now_ms, as the reference re-checks a token
 * it holds: Date.now() > exp * 1000. */
int token_expired(const struct token_claims *c, int64_t now_ms);

/*
 * Returns an owned signer using k (ownership taken on success) with alg, or
 * NULL with the reason in err when alg does not fit k (jws_fits).
 */
struct token_signer *token_signer_new(
    struct jws_key *k, enum jws_alg alg, char *err, size_t errlen);
enum jws_alg token_signer_alg(const struct token_signer *s);
void token_signer_free(struct token_signer *s);

/*
 * Signs the len bytes of payload (borrowed), which must be a JSON object, as
 * jsonwebtoken.sign(payload, key, {algorithm, expiresIn}) does at now_ms:
 * iat, exp and nbf must be numbers when present; iat becomes
 * floor(now_ms / 1000) unless the payload has a non-zero one; exp becomes
 * iat + expires_in_s unless the payload has one. The header is
 * {"alg":"<alg>","typ":"JWT"}. Returns 0 with an owned NUL-terminated token
 * in *out (its length in *out_len), or -1 with the reason in err.
 */
int token_sign(const struct token_signer *s, const char *payload, size_t len,
    int64_t now_ms, long long expires_in_s, char **out, size_t *out_len,
    char *err, size_t errlen);

#endif
