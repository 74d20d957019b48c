/*
 * The auth token setup that the auth_* options of a configuration describe
 * (docs/auth.md): reads the PEM files, draws the per-process random key
 * when no key is configured, and checks that the algorithms fit the keys.
 * agconf's check runs it once to refuse a bad configuration at startup;
 * programs that sign or verify tokens run it again to keep the result.
 */
#ifndef AG_TOKENCONF_H
#define AG_TOKENCONF_H

#include "common/agconf.h"
#include "common/token.h"

/* The largest PEM file read: far above any RSA, EC or Ed25519 key. */
#define TOKENCONF_MAX_PEM (64 * 1024)

struct tokenconf {
	struct token_verifier *verifier; /* owned */
	struct token_signer *signer;     /* owned */
	long long default_expiry;        /* seconds: auth_default_expiry */
	/* auth_key was empty and there is no key pair: this process drew a
	 * random key, so its tokens verify nowhere else */
	int random_key;
};

/*
 * Builds tc (embedded) from the auth options of c (borrowed). Returns 0;
 * or -1 with the reason in err and the name of the option at fault in
 * *option (static), leaving tc empty.
 */
int tokenconf_init(struct tokenconf *tc, const struct agconf *c, char *err,
    size_t errlen, const char **option);
/* Frees what tc holds; accepts an empty tc. */
void tokenconf_fini(struct tokenconf *tc);

/*
 * Checks the syntax of an algorithm list option: empty, or algorithm names
 * separated by commas (blanks around them ignored). Returns NULL if it is
 * good, else why not (static). For agconf's option table.
 */
const char *tokenconf_check_algorithms(const char *list);
/* The same for a single algorithm name, or empty. */
const char *tokenconf_check_algorithm(const char *name);

#endif
