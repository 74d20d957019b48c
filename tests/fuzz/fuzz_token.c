/*
 * libFuzzer target for token_verify with an HS256 ("secret") verifier, the
 * one a client reaches with #handshake and #authenticate.
 *
 * The first byte picks a mode, so that the fuzzer gets past the signature:
 *   even: the rest is a token, verified as it is;
 *   odd:  the rest is "header\npayload" (raw JSON bytes), which is encoded
 *         and signed here with the verifier's key, then verified, so the
 *         JSON and claims code sees every input;
 * and in both, the rest is also signed as a payload by token_sign, whose
 * token must then verify.
 *
 * Invariants: a refusal names its class and says why, a date only comes
 * with expiry and nbf errors, and an accepted payload is a NUL-terminated
 * JSON object of exactly len bytes that re-signs and verifies again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jws.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "common/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The time of the spec's transcripts, so their tokens are live. */
#define NOW_MS 1795701992000LL

static struct jws_key *key; /* the crafter's copy of the secret */
static struct token_verifier *verifier;
static struct token_signer *signer;

static void
setup(void)
{
	char err[128];

	key = jws_key_secret("secret", 6);
	verifier = token_verifier_new();
	token_verifier_add_key(verifier, jws_key_secret("secret", 6));
	signer = token_signer_new(
	    jws_key_secret("secret", 6), JWS_HS256, err, sizeof(err));
	if (signer == NULL) {
		abort();
	}
}

static void
check_error(int rc, const struct token_error *e)
{
	int dated = rc == TOKEN_EXPIRED || rc == TOKEN_NOT_BEFORE;

	if (rc < TOKEN_EXPIRED || rc > TOKEN_ERROR || e->name == NULL
	    || e->message[0] == '\0' || dated != (e->date_field != NULL)
	    || e->is_bad_token != (rc != TOKEN_NOT_BEFORE)) {
		abort();
	}
}

/* Verifies. An accepted payload re-signs; if it had an exp of its own,
 * which signing keeps, the new token must be accepted too. */
static int
verify(const char *tok, size_t len, int resign)
{
	struct token_claims c;
	struct token_error e;
	char err[128], *again;
	size_t n;
	int rc = token_verify(verifier, tok, len, NOW_MS, &c, &e);

	if (rc != TOKEN_OK) {
		check_error(rc, &e);
		return rc;
	}
	if (c.payload[0] != '{' || strlen(c.payload) != c.len) {
		abort();
	}
	if (resign
	    && token_sign(signer, c.payload, c.len, NOW_MS, 60, &again, &n,
	           err, sizeof(err))
	        == 0) {
		if (verify(again, n, 0) != TOKEN_OK && c.has_exp) {
			abort();
		}
		mem_free(again);
	}
	token_claims_fini(&c);
	return rc;
}

/* Encodes header and payload as given and signs them with the key. */
static void
craft(const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t hlen = nl != NULL ? (size_t) (nl - p) : 0;
	struct strbuf tok;
	size_t signed_len;

	sb_init(&tok);
	jws_b64url_encode(&tok, p, hlen);
	sb_addc(&tok, '.');
	jws_b64url_encode(
	    &tok, p + hlen + (nl != NULL), n - hlen - (nl != NULL));
	signed_len = tok.len;
	sb_addc(&tok, '.');
	if (jws_sign(key, JWS_HS256, tok.data, signed_len, &tok) != 0) {
		abort();
	}
	verify(tok.data, tok.len, 1);
	sb_fini(&tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128], *tok;
	size_t n;

	if (verifier == NULL) {
		setup();
	}
	if (size == 0) {
		return 0;
	}
	if (data[0] & 1) {
		craft(data + 1, size - 1);
	} else {
		verify((const char *) data + 1, size - 1, 1);
	}
	if (token_sign(signer, (const char *) data + 1, size - 1, NOW_MS, 60,
	        &tok, &n, err, sizeof(err))
	    == 0) {
		verify(tok, n, 0);
		mem_free(tok);
	}
	return 0;
}
