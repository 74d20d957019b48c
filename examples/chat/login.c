/*
 * login.c: the chat example's login procedure, an ag-worker plugin.
 *
 * invoke('login', {"username": ..., "password": ...}) checks the password
 * against a store file (env CHAT_USERS, default examples/chat/users.txt),
 * one user a line:
 *
 *     username:iterations:salt_hex:hash_hex:channel1,channel2
 *
 * where hash = PBKDF2-HMAC-SHA256(password, salt, iterations, 32 bytes).
 * On success the socket gets a token {"username":...,"channels":[...]}; the
 * cluster's publish/subscribe_channels_claim rules then use "channels".
 *
 * The store is read once, when the worker loads the plugin. PBKDF2 runs on
 * the worker's thread: with 100000 iterations a login holds the event loop
 * for some tens of milliseconds, acceptable for a demo, not for a busy site.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "agplugin.h"

#define NAME_MAX_LEN 64
#define PASS_MAX_LEN 256
#define SALT_MAX_LEN 64
#define HASH_LEN     32
#define ITER_MAX     10000000UL
#define LINE_MAX_LEN 4096
/* Each channel "c," of the line becomes ,"c": at most twice as long. */
#define CLAIMS_MAX    (2 * LINE_MAX_LEN + 128)
#define DEFAULT_STORE "examples/chat/users.txt"

struct user {
	char name[NAME_MAX_LEN + 1];
	unsigned long iterations;
	unsigned char salt[SALT_MAX_LEN];
	size_t salt_len;
	unsigned char hash[HASH_LEN];
	char *claims; /* owned: {"username":...,"channels":[...]} */
};

struct store {
	struct user *users;
	size_t n;
};

/* The two fields of a login request, unescaped (escapes are refused). */
struct credentials {
	char username[NAME_MAX_LEN + 1];
	char password[PASS_MAX_LEN + 1];
};

/* The users, read at agplugin_init, freed when the worker unloads us. */
static struct store the_store;

int agplugin_init(struct agplugin_host *host);
void agplugin_fini(void);

/* Names and channels are limited to characters that need no JSON escape. */
static int
safe_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':'
	    || c == '@';
}

static int
safe_word(const char *s, size_t n)
{
	size_t i;

	if (n == 0) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!safe_char((unsigned char) s[i])) {
			return 0;
		}
	}
	return 1;
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Decodes hex into out (at most max bytes); returns the length or -1. */
static long
hex_decode(const char *hex, unsigned char *out, size_t max)
{
	size_t len = strlen(hex), i;

	if (len == 0 || len % 2 != 0 || len / 2 > max) {
		return -1;
	}
	for (i = 0; i < len / 2; i++) {
		int hi = hex_value((unsigned char) hex[2 * i]);
		int lo = hex_value((unsigned char) hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			return -1;
		}
		out[i] = (unsigned char) (hi << 4 | lo);
	}
	return (long) (len / 2);
}

/* Builds the token's claims from the user's name and channel list. */
static char *
claims_new(const char *name, const char *channels)
{
	char *out = malloc(CLAIMS_MAX);
	size_t len;
	const char *p = channels;

	if (out == NULL) {
		abort();
	}
	len = (size_t) snprintf(
	    out, CLAIMS_MAX, "{\"username\":\"%s\",\"channels\":[", name);
	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (!safe_word(p, n)) {
			free(out);
			return NULL;
		}
		len += (size_t) snprintf(out + len, CLAIMS_MAX - len,
		    "%s\"%.*s\"", p == channels ? "" : ",", (int) n, p);
		p += n;
		if (*p == ',') {
			p++;
		}
	}
	snprintf(out + len, CLAIMS_MAX - len, "]}");
	return out;
}

/* Splits line (modified in place) into the five fields of a user. */
static int
user_parse(char *line, struct user *u)
{
	char *f[5], *iter_end;
	long salt_len;
	int i;

	f[0] = line;
	for (i = 1; i < 5; i++) {
		char *colon = strchr(f[i - 1], ':');

		if (colon == NULL) {
			return -1;
		}
		*colon = '\0';
		f[i] = colon + 1;
	}
	if (strlen(f[0]) > NAME_MAX_LEN || !safe_word(f[0], strlen(f[0]))) {
		return -1;
	}
	strcpy(u->name, f[0]);
	u->iterations = strtoul(f[1], &iter_end, 10);
	if (*iter_end != '\0' || u->iterations == 0
	    || u->iterations > ITER_MAX) {
		return -1;
	}
	salt_len = hex_decode(f[2], u->salt, sizeof(u->salt));
	if (salt_len < 0 || hex_decode(f[3], u->hash, HASH_LEN) != HASH_LEN) {
		return -1;
	}
	u->salt_len = (size_t) salt_len;
	u->claims = claims_new(f[0], f[4]);
	return u->claims == NULL ? -1 : 0;
}

static void
store_add(struct store *st, const struct user *u)
{
	st->users = realloc(st->users, (st->n + 1) * sizeof(*st->users));
	if (st->users == NULL) {
		abort();
	}
	st->users[st->n++] = *u;
}

/* Reads every user of the file; returns 0, or -1 after saying why. */
static int
store_load(struct store *st, const char *path)
{
	char line[LINE_MAX_LEN];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct user u;
		size_t len = strcspn(line, "\r\n");

		lineno++;
		if (line[len] == '\0' && !feof(f)) {
			fprintf(
			    stderr, "%s:%u: line too long\n", path, lineno);
			goto fail;
		}
		line[len] = '\0';
		if (len == 0 || line[0] == '#') {
			continue;
		}
		memset(&u, 0, sizeof(u));
		if (user_parse(line, &u) != 0) {
			fprintf(stderr, "%s:%u: not a valid user line\n", path,
			    lineno);
			goto fail;
		}
		store_add(st, &u);
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	return -1;
}

static const struct user *
store_find(const struct store *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		if (strcmp(st->users[i].name, name) == 0) {
			return &st->users[i];
		}
	}
	return NULL;
}

/* Returns 1 when password hashes to the user's hash, in constant time. */
static int
password_ok(const struct user *u, const char *password)
{
	unsigned char hash[HASH_LEN];

	if (!PKCS5_PBKDF2_HMAC(password, (int) strlen(password), u->salt,
	        (int) u->salt_len, (int) u->iterations, EVP_sha256(), HASH_LEN,
	        hash)) {
		return 0;
	}
	return CRYPTO_memcmp(hash, u->hash, HASH_LEN) == 0;
}

static const char *
skip_space(const char *p, const char *end)
{
	while (
	    p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
		p++;
	}
	return p;
}

/*
 * Reads a JSON string at p into out (at most max bytes); returns the byte
 * after it, or NULL for anything else, including escapes and control
 * characters (refused rather than half understood).
 */
static const char *
string_read(const char *p, const char *end, char *out, size_t max)
{
	size_t n = 0;

	if (p >= end || *p++ != '"') {
		return NULL;
	}
	while (p < end && *p != '"') {
		if (*p == '\\' || (unsigned char) *p < 0x20 || n == max) {
			return NULL;
		}
		out[n++] = *p++;
	}
	if (p == end) {
		return NULL;
	}
	out[n] = '\0';
	return p + 1;
}

/* Reads one "key":"value" member into c; returns the byte after it. */
static const char *
member_read(const char *p, const char *end, struct credentials *c)
{
	char key[16];

	p = string_read(skip_space(p, end), end, key, sizeof(key) - 1);
	p = p == NULL ? NULL : skip_space(p, end);
	if (p == NULL || p == end || *p != ':') {
		return NULL;
	}
	p = skip_space(p + 1, end);
	if (strcmp(key, "username") == 0 && c->username[0] == '\0') {
		return string_read(p, end, c->username, NAME_MAX_LEN);
	}
	if (strcmp(key, "password") == 0 && c->password[0] == '\0') {
		return string_read(p, end, c->password, PASS_MAX_LEN);
	}
	return NULL;
}

/*
 * Parses {"username":"...","password":"..."} and nothing else (both
 * members, in any order, no other member). Returns 0, or -1.
 */
static int
credentials_parse(const char *data, size_t len, struct credentials *c)
{
	const char *p = data, *end = data + len;
	int members;

	memset(c, 0, sizeof(*c));
	p = skip_space(p, end);
	if (p == end || *p++ != '{') {
		return -1;
	}
	for (members = 0; members < 2; members++) {
		p = member_read(p, end, c);
		p = p == NULL ? NULL : skip_space(p, end);
		if (p == NULL || p == end
		    || *p != (members == 0 ? ',' : '}')) {
			return -1;
		}
		p++;
	}
	return skip_space(p, end) == end && c->username[0] != '\0' ? 0 : -1;
}

static void
login(struct agplugin_request *r, void *arg)
{
	const struct store *st = arg;
	struct agplugin_socket *s = agplugin_request_socket(r);
	struct credentials c;
	const struct user *u = NULL;
	size_t len;
	const char *data = agplugin_request_data(r, &len);

	if (data != NULL && credentials_parse(data, len, &c) == 0) {
		u = store_find(st, c.username);
	}
	if (u == NULL || !password_ok(u, c.password) || s == NULL) {
		OPENSSL_cleanse(&c, sizeof(c));
		agplugin_request_error(
		    r, "LoginError", "Invalid user credentials");
		return;
	}
	OPENSSL_cleanse(&c, sizeof(c));
	agplugin_request_end(r, NULL);
	if (agplugin_set_auth_token(s, u->claims, 0) != 0) {
		fprintf(
		    stderr, "login: cannot sign a token for %s\n", u->name);
	}
}

/* The worker calls this when it stops, before unloading the plugin. */
void
agplugin_fini(void)
{
	for (size_t i = 0; i < the_store.n; i++) {
		free(the_store.users[i].claims);
	}
	free(the_store.users);
	the_store.users = NULL;
	the_store.n = 0;
}

int
agplugin_init(struct agplugin_host *host)
{
	const char *path = getenv("CHAT_USERS");

	if (path == NULL || *path == '\0') {
		path = DEFAULT_STORE;
	}
	if (store_load(&the_store, path) != 0) {
		fprintf(
		    stderr, "login: cannot load the user store %s\n", path);
		return -1;
	}
	return agplugin_procedure(host, "login", login, &the_store);
}
