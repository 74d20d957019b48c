#include "tokenconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/jws.h"
#include "common/mem.h"
#include "common/strbuf.h"

/* The reference's random authKey: crypto.randomBytes(32).toString('hex'),
 * used as the text of an HMAC secret. */
#define RANDOM_KEY_BYTES 32

/* Finds the next item of a comma-separated list at *s: its start in *item
 * and length in *n, blanks around it trimmed. Returns 0 at the end. */
static int
next_item(const char **s, const char **item, size_t *n)
{
	const char *p = *s, *end;

	if (p == NULL || *p == '\0') {
		return 0;
	}
	end = strchr(p, ',');
	*s = end != NULL ? end + 1 : NULL;
	end = end != NULL ? end : p + strlen(p);
	while (p < end && (*p == ' ' || *p == '\t')) {
		p++;
	}
	while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
		end--;
	}
	*item = p;
	*n = (size_t) (end - p);
	return 1;
}

static const char unknown_alg[]
    = "unknown algorithm (HS256, HS384, HS512, RS256, RS384, RS512, PS256, "
      "PS384, PS512, ES256, ES384, ES512 or EdDSA)";

const char *
tokenconf_check_algorithm(const char *name)
{
	if (name[0] == '\0' || jws_alg_parse(name, strlen(name)) >= 0) {
		return NULL;
	}
	return unknown_alg;
}

const char *
tokenconf_check_algorithms(const char *list)
{
	const char *item;
	size_t n;

	while (next_item(&list, &item, &n)) {
		if (jws_alg_parse(item, n) < 0) {
			return unknown_alg;
		}
	}
	return NULL;
}

static int
read_file(const char *path, struct strbuf *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char buf[4096];
	size_t n;

	if (f == NULL) {
		snprintf(
		    err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (out->len + n > TOKENCONF_MAX_PEM) {
			snprintf(err, errlen, "%s is larger than %d bytes",
			    path, TOKENCONF_MAX_PEM);
			fclose(f);
			return -1;
		}
		sb_add(out, buf, n);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (ferror(f)) {
		snprintf(
		    err, errlen, "cannot read %s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* Returns the owned key in the PEM file at path, or NULL with err. */
static struct jws_key *
load_pem(const char *path, int private, char *err, size_t errlen)
{
	struct strbuf pem;
	struct jws_key *k = NULL;
	char why[256];

	sb_init(&pem);
	if (read_file(path, &pem, err, errlen) == 0) {
		k = jws_key_pem(pem.data != NULL ? pem.data : "", pem.len,
		    private, why, sizeof(why));
		if (k == NULL) {
			snprintf(err, errlen, "%s: %s", path, why);
		}
	}
	/* The file may hold a private key: leave no copy behind. */
	if (pem.data != NULL) {
		OPENSSL_cleanse(pem.data, pem.cap);
	}
	sb_fini(&pem);
	return k;
}

/* Lists in out the algorithms that fit k for signing, for a hint. */
static void
fitting_algs(const struct jws_key *k, char *out, size_t outlen)
{
	char why[128];
	size_t len = 0;

	out[0] = '\0';
	for (int a = 0; a < JWS_NALGS && len < outlen; a++) {
		if (jws_fits((enum jws_alg) a, k, 1, why, sizeof(why)) == 0) {
			len += (size_t) snprintf(out + len, outlen - len,
			    "%s%s", len > 0 ? ", " : "",
			    jws_alg_name((enum jws_alg) a));
		}
	}
}

/* Makes tc's signer from key (taken) and auth_algorithm, or HS256 when it
 * is empty and key is a secret. */
static int
make_signer(struct tokenconf *tc, const struct agconf *c, struct jws_key *key,
    char *err, size_t errlen, const char **option)
{
	const char *name = c->auth_algorithm[0] != '\0' ? c->auth_algorithm
	    : jws_key_type(key) == JWS_KEY_SECRET       ? "HS256"
	                                                : NULL;
	char why[256], fits[128];
	int alg = name != NULL ? jws_alg_parse(name, strlen(name)) : -1;

	*option = "auth_algorithm";
	fitting_algs(key, fits, sizeof(fits));
	if (name == NULL) {
		snprintf(err, errlen,
		    "must be set when auth_private_key is (this key takes %s)",
		    fits);
	} else if (alg < 0) {
		snprintf(err, errlen, "%s", unknown_alg);
	} else if ((tc->signer = token_signer_new(
	                key, (enum jws_alg) alg, why, sizeof(why)))
	    == NULL) {
		snprintf(err, errlen,
		    "%s does not fit the %s: %s (it takes %s)", name,
		    jws_key_type(key) == JWS_KEY_SECRET
		        ? "HMAC secret auth_key"
		        : "auth_private_key",
		    why, fits[0] != '\0' ? fits : "no algorithm");
	}
	if (tc->signer == NULL) {
		jws_key_free(key);
		return -1;
	}
	return 0;
}

/* auth_previous_keys: HMAC secrets, or public key PEM files with a pair. */
static int
add_previous(struct tokenconf *tc, const struct agconf *c, int pair, char *err,
    size_t errlen, const char **option)
{
	const char *list = c->auth_previous_keys, *item;
	size_t n;

	*option = "auth_previous_keys";
	while (next_item(&list, &item, &n)) {
		char *s = mem_strndup(item, n);
		struct jws_key *k = n == 0 ? NULL
		    : pair                 ? load_pem(s, 0, err, errlen)
		                           : jws_key_secret(s, n);

		if (n == 0) {
			snprintf(err, errlen, "empty item in the list");
		}
		OPENSSL_cleanse(s, n);
		mem_free(s);
		if (k == NULL) {
			return -1;
		}
		token_verifier_add_key(tc->verifier, k);
	}
	return 0;
}

static int
setup_pair(struct tokenconf *tc, const struct agconf *c, char *err,
    size_t errlen, const char **option)
{
	struct jws_key *priv, *pub;

	if (c->auth_private_key[0] == '\0' || c->auth_public_key[0] == '\0') {
		*option = c->auth_private_key[0] == '\0' ? "auth_public_key"
		                                         : "auth_private_key";
		snprintf(err, errlen,
		    "auth_private_key and auth_public_key must be set "
		    "together");
		return -1;
	}
	*option = "auth_private_key";
	if ((priv = load_pem(c->auth_private_key, 1, err, errlen)) == NULL) {
		return -1;
	}
	*option = "auth_public_key";
	if ((pub = load_pem(c->auth_public_key, 0, err, errlen)) == NULL
	    || !jws_key_match(priv, pub)) {
		if (pub != NULL) {
			snprintf(err, errlen,
			    "%s does not match the private key %s",
			    c->auth_public_key, c->auth_private_key);
		}
		jws_key_free(pub);
		jws_key_free(priv);
		return -1;
	}
	token_verifier_add_key(tc->verifier, pub);
	if (make_signer(tc, c, priv, err, errlen, option) != 0) {
		return -1;
	}
	return add_previous(tc, c, 1, err, errlen, option);
}

static int
setup_secret(struct tokenconf *tc, const struct agconf *c, char *err,
    size_t errlen, const char **option)
{
	char hex[2 * RANDOM_KEY_BYTES + 1];
	const char *secret = c->auth_key;
	int rc;

	if (secret[0] == '\0') {
		unsigned char raw[RANDOM_KEY_BYTES];

		if (RAND_bytes(raw, sizeof(raw)) != 1) {
			*option = "auth_key";
			snprintf(
			    err, errlen, "no randomness for a random key");
			return -1;
		}
		for (size_t i = 0; i < sizeof(raw); i++) {
			snprintf(hex + 2 * i, 3, "%02x", raw[i]);
		}
		OPENSSL_cleanse(raw, sizeof(raw));
		secret = hex;
		tc->random_key = 1;
	}
	token_verifier_add_key(
	    tc->verifier, jws_key_secret(secret, strlen(secret)));
	rc = make_signer(tc, c, jws_key_secret(secret, strlen(secret)), err,
	    errlen, option);
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc == 0 ? add_previous(tc, c, 0, err, errlen, option) : -1;
}

/* auth_verify_algorithms, else [auth_algorithm], else the keys' defaults.
 * Each listed algorithm must fit a key: one that cannot is a mistake. */
static int
setup_verify_algs(struct tokenconf *tc, const struct agconf *c, char *err,
    size_t errlen, const char **option)
{
	const char *list = c->auth_verify_algorithms, *item;
	size_t n;

	*option = "auth_verify_algorithms";
	if (list[0] == '\0') {
		list = c->auth_algorithm;
	}
	while (next_item(&list, &item, &n)) {
		int alg = jws_alg_parse(item, n);

		if (alg < 0) {
			snprintf(err, errlen, "%s", unknown_alg);
			return -1;
		}
		if (!token_verifier_fits(tc->verifier, (enum jws_alg) alg)) {
			snprintf(err, errlen,
			    "%s fits none of the verification keys",
			    jws_alg_name((enum jws_alg) alg));
			return -1;
		}
		token_verifier_allow(tc->verifier, (enum jws_alg) alg);
	}
	return 0;
}

int
tokenconf_init(struct tokenconf *tc, const struct agconf *c, char *err,
    size_t errlen, const char **option)
{
	int pair
	    = c->auth_private_key[0] != '\0' || c->auth_public_key[0] != '\0';
	int rc;

	memset(tc, 0, sizeof(*tc));
	tc->verifier = token_verifier_new();
	tc->default_expiry = c->auth_default_expiry;
	rc = pair ? setup_pair(tc, c, err, errlen, option)
	          : setup_secret(tc, c, err, errlen, option);
	if (rc == 0) {
		rc = setup_verify_algs(tc, c, err, errlen, option);
	}
	if (rc != 0) {
		tokenconf_fini(tc);
	}
	return rc;
}

void
tokenconf_fini(struct tokenconf *tc)
{
	token_verifier_free(tc->verifier);
	token_signer_free(tc->signer);
	memset(tc, 0, sizeof(*tc));
}
