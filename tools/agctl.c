/*
 * agctl: the operator's command-line tool.
 *
 *   agctl token sign CLAIMS [--expires-in=SECONDS] [FLAG...]
 *   agctl token verify TOKEN [FLAG...]
 *
 * The operand comes right after the subcommand ("-" reads it from stdin);
 * every FLAG after it is a configuration flag of the other programs
 * (--config=PATH, --auth-key=..., docs/configuration.md), read together
 * with the AG_* environment and the config file, so agctl signs and
 * verifies exactly as the cluster does. See docs/agctl.md.
 *
 * Exit status: 0 done, 1 the token was refused or could not be signed,
 * 2 bad usage or configuration.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/agconf.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "common/token.h"
#include "common/tokenconf.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
/* parse_command's "go on and run it" */
#define RUN (-1)
/* --expires-in: a hundred years either way; negative makes expired tokens
 * for tests. */
#define MAX_EXPIRES_IN 3153600000LL

static const char usage_text[]
    = "Usage: agctl token sign CLAIMS [--expires-in=SECONDS] [FLAG...]\n"
      "       agctl token verify TOKEN [FLAG...]\n"
      "CLAIMS is a JSON object; TOKEN a signed token; \"-\" reads either "
      "from stdin.\n"
      "FLAGs are the configuration flags of every agcluster program "
      "(agctl token sign x --help lists them).\n"
      "sign prints the token; verify prints the payload, or \"name: "
      "message\" on stderr and exits 1.\n";

/* What the command line asks for. */
struct command {
	int sign;            /* else verify */
	const char *operand; /* borrowed from argv */
	long long expires_in;
	int has_expires_in;
	int argc;    /* the configuration's argv: "agctl" and the flags */
	char **argv; /* owned array of borrowed strings */
};

static int
usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse_expires_in(struct command *cmd, const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < -MAX_EXPIRES_IN
	    || v > MAX_EXPIRES_IN) {
		fprintf(stderr,
		    "agctl: bad value \"%s\" for --expires-in: an integer "
		    "number of seconds, at most %lld either way\n",
		    s, MAX_EXPIRES_IN);
		return -1;
	}
	cmd->expires_in = v;
	cmd->has_expires_in = 1;
	return 0;
}

/* Moves the flags after the operand into cmd->argv, taking out
 * --expires-in, which is agctl's own. */
static int
split_flags(struct command *cmd, int argc, char **argv)
{
	cmd->argv = mem_calloc((size_t) argc + 1, sizeof(char *));
	cmd->argv[cmd->argc++] = "agctl";
	for (int i = 4; i < argc; i++) {
		if (cmd->sign && strncmp(argv[i], "--expires-in=", 13) == 0) {
			if (parse_expires_in(cmd, argv[i] + 13) != 0) {
				return -1;
			}
		} else if (cmd->sign && strcmp(argv[i], "--expires-in") == 0) {
			if (i + 1 == argc) {
				fputs("agctl: --expires-in needs a value\n",
				    stderr);
				return -1;
			}
			if (parse_expires_in(cmd, argv[++i]) != 0) {
				return -1;
			}
		} else {
			cmd->argv[cmd->argc++] = argv[i];
		}
	}
	return 0;
}

static int
parse_command(struct command *cmd, int argc, char **argv)
{
	memset(cmd, 0, sizeof(*cmd));
	if (argc < 2 || strcmp(argv[1], "--help") == 0
	    || strcmp(argv[1], "help") == 0) {
		return usage(
		    argc < 2 ? stderr : stdout, argc < 2 ? EXIT_USAGE : 0);
	}
	if (strcmp(argv[1], "token") != 0 || argc < 3
	    || (strcmp(argv[2], "sign") != 0
	        && strcmp(argv[2], "verify") != 0)) {
		fprintf(stderr, "agctl: unknown command\n");
		return usage(stderr, EXIT_USAGE);
	}
	cmd->sign = strcmp(argv[2], "sign") == 0;
	if (argc < 4 || strncmp(argv[3], "--", 2) == 0) {
		fprintf(stderr, "agctl: token %s: the %s comes first\n",
		    argv[2], cmd->sign ? "CLAIMS object" : "TOKEN");
		return usage(stderr, EXIT_USAGE);
	}
	cmd->operand = argv[3];
	return split_flags(cmd, argc, argv) == 0 ? RUN : EXIT_USAGE;
}

/* The operand, or for "-" stdin without its last newline, into sb. */
static int
read_operand(const char *operand, struct strbuf *sb)
{
	char buf[4096];
	size_t n;

	if (strcmp(operand, "-") != 0) {
		sb_adds(sb, operand);
		return 0;
	}
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		if (sb->len + n > 4 * TOKEN_MAX_LEN) {
			fprintf(stderr, "agctl: stdin is too long\n");
			return -1;
		}
		sb_add(sb, buf, n);
	}
	while (sb->len > 0
	    && (sb->data[sb->len - 1] == '\n'
	        || sb->data[sb->len - 1] == '\r')) {
		sb->data[--sb->len] = '\0';
	}
	return 0;
}

static int
sign(const struct command *cmd, const struct tokenconf *tc,
    const struct strbuf *claims)
{
	long long expires_in
	    = cmd->has_expires_in ? cmd->expires_in : tc->default_expiry;
	char err[256], *tok;
	size_t len;

	if (tc->random_key) {
		fprintf(stderr,
		    "agctl: warning: auth_key is not set: this token is "
		    "signed "
		    "with a random key that no other process has\n");
	}
	if (token_sign(tc->signer, claims->data != NULL ? claims->data : "",
	        claims->len, now_ms(), expires_in, &tok, &len, err,
	        sizeof(err))
	    != 0) {
		fprintf(stderr, "agctl: cannot sign: %s\n", err);
		return EXIT_REFUSED;
	}
	printf("%s\n", tok);
	mem_free(tok);
	return 0;
}

static int
verify(const struct tokenconf *tc, const struct strbuf *token)
{
	struct token_claims claims;
	struct token_error err;

	if (token_verify(
	        tc->verifier, token->data, token->len, now_ms(), &claims, &err)
	    != TOKEN_OK) {
		fprintf(stderr, "%s: %s\n", err.name, err.message);
		if (err.date_field != NULL) {
			fprintf(stderr, "%s: %s\n", err.date_field,
			    err.date[0] != '\0' ? err.date : "null");
		}
		return EXIT_REFUSED;
	}
	printf("%s\n", claims.payload);
	token_claims_fini(&claims);
	return 0;
}

/* Loads the configuration and runs cmd. */
static int
run(const struct command *cmd)
{
	struct agconf conf;
	struct tokenconf tc;
	struct strbuf operand;
	const char *option = "";
	char err[384];
	int code = 0;

	if (agconf_load_as(&conf, "agctl", cmd->argc, cmd->argv, &code) != 0) {
		return code;
	}
	if (tokenconf_init(&tc, &conf, err, sizeof(err), &option) != 0) {
		fprintf(stderr, "agctl: %s: %s\n", option, err);
		agconf_fini(&conf);
		return EXIT_USAGE;
	}
	sb_init(&operand);
	if (read_operand(cmd->operand, &operand) != 0) {
		code = EXIT_USAGE;
	} else {
		code = cmd->sign ? sign(cmd, &tc, &operand)
		                 : verify(&tc, &operand);
	}
	sb_fini(&operand);
	tokenconf_fini(&tc);
	agconf_fini(&conf);
	return code;
}

int
main(int argc, char **argv)
{
	struct command cmd;
	int code = parse_command(&cmd, argc, argv);

	if (code == RUN) {
		code = run(&cmd);
	}
	mem_free(cmd.argv);
	return code;
}
