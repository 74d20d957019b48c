#include "cfg.h"

#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Sources, lowest precedence first. Each source is read in full, even for
 * options a higher source has set, so a bad value is never hidden; it is
 * stored only if no higher source has set the option. That lets the flags be
 * read first, which is where the config file's path comes from.
 */
enum cfg_rank { RANK_DEFAULT, RANK_FILE, RANK_ENV, RANK_FLAG };

enum cfg_action { ACT_RUN, ACT_CHECK, ACT_HELP, ACT_VERSION };

/* Room for the reason a value is refused, and for a derived name. */
#define CFG_WHY  192
#define CFG_NAME 128

static const char *const cfg_true[] = { "true", "yes", "on", "1", NULL };
static const char *const cfg_false[] = { "false", "no", "off", "0", NULL };

/* Indexed by enum cfg_type, for --help. */
static const char *const cfg_placeholder[] = { "=<integer>", "", "=<string>",
	"=<milliseconds>", "=<size>", "=<string>" };
static const char *const cfg_type_name[] = { "integer", "boolean", "string",
	"milliseconds", "bytes (suffix k, m or g)", "string, repeatable" };

static const char *const cfg_usage_text[] = {
	"Every option can be set in the config file (name = value), in the",
	"environment (AG_NAME) or as a flag (--name=value or --name value;",
	"booleans --name, --no-name or --name=value). Flags win over the",
	"environment, the environment over the file, the file over defaults.",
	"",
	"  --config=<path>   read this config file (env AG_CONFIG)",
	"  --check-config    validate, print the values and exit",
	"  --help            print this help and exit",
	"  --version         print the version and exit",
	"",
	"Options:",
	NULL,
};

/* The flag being read by cfg_parse_args. */
struct cfg_args {
	int argc;
	char **argv;
	int i;             /* index of the flag in argv */
	const char *name;  /* after "--" */
	size_t len;        /* of the name, up to '=' */
	const char *value; /* after '=', or NULL */
	char source[CFG_NAME + 8];
};

static void *
cfg_field(const struct cfg *cfg, const struct cfg_opt *o)
{
	return (char *) cfg->conf + o->offset;
}

/* Compares the n bytes at s to name, taking '-' for '_' as flags may. */
static int
cfg_name_eq(const char *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (name[i] != (s[i] == '-' ? '_' : s[i])) {
			return 0;
		}
	}
	return name[n] == '\0';
}

static int
cfg_find(const struct cfg *cfg, const char *s, size_t n)
{
	for (size_t i = 0; i < cfg->spec->nopts; i++) {
		if (cfg_name_eq(s, n, cfg->spec->opts[i].name)) {
			return (int) i;
		}
	}
	return -1;
}

static void
cfg_env_name(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "AG_%s", name);
	for (size_t i = 3; buf[i] != '\0'; i++) {
		buf[i] = (char) toupper((unsigned char) buf[i]);
	}
}

static int
cfg_word(const char *const *words, const char *s)
{
	for (; *words != NULL; words++) {
		if (strcasecmp(*words, s) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Writes v, as a multiple of the largest unit dividing it for sizes. */
static void
cfg_fmt_num(const struct cfg_opt *o, long long v, char *buf, size_t n)
{
	static const char units[] = "GMK";

	for (int i = 0; o->type == CFG_SIZE && v != 0 && i < 3; i++) {
		long long unit = 1LL << (10 * (3 - i));

		if (v % unit == 0) {
			snprintf(buf, n, "%lld%c", v / unit, units[i]);
			return;
		}
	}
	snprintf(buf, n, "%lld", v);
}

/* Returns the multiplier of a size suffix, or 0 if c is none. */
static long long
cfg_unit(char c)
{
	static const char units[] = "kmg";
	const char *u = strchr(units, tolower((unsigned char) c));

	return c != '\0' && u != NULL ? 1LL << (10 * (u - units + 1)) : 0;
}

static int
cfg_range(const struct cfg_opt *o, char *why)
{
	char lo[32], hi[32];

	cfg_fmt_num(o, o->min, lo, sizeof(lo));
	cfg_fmt_num(o, o->max, hi, sizeof(hi));
	snprintf(why, CFG_WHY, "must be between %s and %s", lo, hi);
	return -1;
}

/* Parses s as a number for o into *out, or writes why not. */
static int
cfg_parse_num(
    const struct cfg_opt *o, const char *s, long long *out, char *why)
{
	const char *digit = (*s == '-' || *s == '+') ? s + 1 : s;
	long long v, unit = 1;
	char *end;
	int overflow;

	if (!isdigit((unsigned char) *digit)) {
		goto syntax;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	overflow = errno == ERANGE;
	if (o->type == CFG_SIZE && *end != '\0' && end[1] == '\0') {
		unit = cfg_unit(*end++);
	}
	if (unit == 0 || *end != '\0') {
		goto syntax;
	}
	/* An overflow is out of range too, and the range is what helps. */
	if (overflow || v > LLONG_MAX / unit || v < LLONG_MIN / unit
	    || v * unit < o->min || v * unit > o->max) {
		return cfg_range(o, why);
	}
	*out = v * unit;
	return 0;
syntax:
	snprintf(why, CFG_WHY, "not %s",
	    o->type == CFG_SIZE     ? "a size (integer, optional k, m or g)"
	        : o->type == CFG_MS ? "an integer number of milliseconds"
	                            : "an integer");
	return -1;
}

/* Checks a string against the choices and the check of o. */
static int
cfg_check_str(const struct cfg_opt *o, const char *s, char *why)
{
	const char *bad;
	size_t n;

	if (o->check != NULL && (bad = o->check(s)) != NULL) {
		snprintf(why, CFG_WHY, "%s", bad);
		return -1;
	}
	if (o->choices == NULL) {
		return 0;
	}
	n = (size_t) snprintf(why, CFG_WHY, "must be one of");
	for (const char *const *c = o->choices; *c != NULL; c++) {
		if (strcmp(*c, s) == 0) {
			return 0;
		}
		if (n < CFG_WHY) {
			n += (size_t) snprintf(why + n, CFG_WHY - n, "%s %s",
			    c == o->choices ? "" : ",", *c);
		}
	}
	return -1;
}

/* Parses s for o: a number or boolean into *out, a string is checked. */
static int
cfg_parse(const struct cfg_opt *o, const char *s, long long *out, char *why)
{
	switch (o->type) {
	case CFG_BOOL:
		if (cfg_word(cfg_true, s) || cfg_word(cfg_false, s)) {
			*out = cfg_word(cfg_true, s);
			return 0;
		}
		snprintf(why, CFG_WHY,
		    "not a boolean (true/false, yes/no, on/off, 1/0)");
		return -1;
	case CFG_STR:
	case CFG_LIST:
		return cfg_check_str(o, s, why);
	default:
		return cfg_parse_num(o, s, out, why);
	}
}

static void
cfg_list_add(struct cfg_list *l, const char *s, int replace)
{
	if (replace) {
		for (size_t i = 0; i < l->count; i++) {
			mem_free(l->items[i]);
		}
		l->count = 0;
	}
	l->items = mem_realloc(l->items, (l->count + 2) * sizeof(char *));
	l->items[l->count++] = mem_strdup(s);
	l->items[l->count] = NULL;
}

static void
cfg_store(struct cfg *cfg, const struct cfg_opt *o, const char *s, long long n,
    int replace)
{
	void *p = cfg_field(cfg, o);

	switch (o->type) {
	case CFG_BOOL:
		*(int *) p = (int) n;
		break;
	case CFG_STR:
		mem_free(*(char **) p);
		*(char **) p = mem_strdup(s);
		break;
	case CFG_LIST:
		cfg_list_add(p, s, replace);
		break;
	default:
		*(long long *) p = n;
		break;
	}
}

/*
 * Parses s for option i from source (a name for messages) of the given rank,
 * and stores it unless a higher source has set the option.
 */
static int
cfg_set(struct cfg *cfg, size_t i, const char *s, int rank, const char *source)
{
	const struct cfg_opt *o = &cfg->spec->opts[i];
	char why[CFG_WHY];
	long long n = 0;

	if (cfg_parse(o, s, &n, why) != 0) {
		cfg_fail(cfg, "%s: bad value \"%s\" for %s: %s", source, s,
		    o->name, why);
		return -1;
	}
	if (rank < cfg->rank[i]) {
		return 0;
	}
	cfg_store(cfg, o, s, n, rank > cfg->rank[i]);
	cfg->rank[i] = (unsigned char) rank;
	mem_free(cfg->origin[i]);
	cfg->origin[i] = mem_strdup(source);
	return 0;
}

/* Makes the field of o empty without freeing what it held. */
static void
cfg_clear(struct cfg *cfg, const struct cfg_opt *o)
{
	void *p = cfg_field(cfg, o);

	if (o->type == CFG_STR) {
		*(char **) p = NULL;
	} else if (o->type == CFG_LIST) {
		((struct cfg_list *) p)->items = mem_calloc(1, sizeof(char *));
		((struct cfg_list *) p)->count = 0;
	}
}

void
cfg_init(struct cfg *cfg, const struct cfg_spec *spec, void *conf)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->spec = spec;
	cfg->conf = conf;
	cfg->out = stdout;
	cfg->err = stderr;
	cfg->rank = mem_calloc(spec->nopts, 1);
	cfg->origin = mem_calloc(spec->nopts, sizeof(char *));
	for (size_t i = 0; i < spec->nopts; i++) {
		const char *def = spec->opts[i].def;

		cfg_clear(cfg, &spec->opts[i]);
		cfg->origin[i] = mem_strdup("default");
		/* A default the engine refuses is a bug in the table. */
		if (def != NULL
		    && cfg_set(cfg, i, def, RANK_DEFAULT, "default") != 0) {
			abort();
		}
	}
}

void
cfg_fini(struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->spec->nopts; i++) {
		mem_free(cfg->origin[i]);
	}
	mem_free(cfg->origin);
	mem_free(cfg->rank);
	mem_free(cfg->config_path);
	cfg->origin = NULL;
	cfg->rank = NULL;
	cfg->config_path = NULL;
}

void
cfg_free_values(const struct cfg_spec *spec, void *conf)
{
	for (size_t i = 0; i < spec->nopts; i++) {
		void *p = (char *) conf + spec->opts[i].offset;

		if (spec->opts[i].type == CFG_STR) {
			mem_free(*(char **) p);
			*(char **) p = NULL;
		} else if (spec->opts[i].type == CFG_LIST) {
			struct cfg_list *l = p;

			for (size_t k = 0; k < l->count; k++) {
				mem_free(l->items[k]);
			}
			mem_free(l->items);
			l->items = NULL;
			l->count = 0;
		}
	}
}

void
cfg_fail(struct cfg *cfg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
	va_end(ap);
	if (cfg->err != NULL) {
		fprintf(cfg->err, "%s: %s\n", cfg->spec->prog, cfg->error);
	}
}

const char *
cfg_origin(const struct cfg *cfg, const char *name)
{
	int k = cfg_find(cfg, name, strlen(name));

	return k < 0 ? NULL : cfg->origin[k];
}

/* Takes the argument after the current flag as its value. */
static const char *
cfg_next_value(struct cfg *cfg, struct cfg_args *a)
{
	if (a->i + 1 >= a->argc) {
		cfg_fail(cfg, "%s: missing value", a->source);
		return NULL;
	}
	return a->argv[++a->i];
}

/*
 * Handles --config, --check-config, --help and --version. Returns 1 if the
 * flag is none of them, else 0 or -1.
 */
static int
cfg_builtin(struct cfg *cfg, struct cfg_args *a)
{
	static const char *const names[]
	    = { "check_config", "help", "version" };
	static const int actions[] = { ACT_CHECK, ACT_HELP, ACT_VERSION };
	const char *v = a->value;

	if (cfg_name_eq(a->name, a->len, "config")) {
		if (v == NULL && (v = cfg_next_value(cfg, a)) == NULL) {
			return -1;
		}
		mem_free(cfg->config_path);
		cfg->config_path = mem_strdup(v);
		return 0;
	}
	for (int k = 0; k < 3; k++) {
		if (!cfg_name_eq(a->name, a->len, names[k])) {
			continue;
		}
		if (v != NULL) {
			cfg_fail(cfg, "%s takes no value", a->source);
			return -1;
		}
		cfg->action = actions[k];
		return 0;
	}
	return 1;
}

/* Finds the boolean option that a --no-name flag negates, or -1. */
static int
cfg_find_negated(const struct cfg *cfg, const struct cfg_args *a)
{
	int k;

	if (a->len <= 3 || strncmp(a->name, "no", 2) != 0
	    || (a->name[2] != '-' && a->name[2] != '_')) {
		return -1;
	}
	k = cfg_find(cfg, a->name + 3, a->len - 3);
	if (k < 0 || cfg->spec->opts[k].type != CFG_BOOL) {
		return -1;
	}
	return k;
}

static int
cfg_parse_flag(struct cfg *cfg, struct cfg_args *a)
{
	const char *v = a->value;
	int k, rc;

	if ((rc = cfg_builtin(cfg, a)) != 1) {
		return rc;
	}
	if ((k = cfg_find(cfg, a->name, a->len)) < 0) {
		if ((k = cfg_find_negated(cfg, a)) < 0) {
			cfg_fail(cfg, "unknown flag --%.*s (see --help)",
			    (int) a->len, a->name);
			return -1;
		}
		if (v != NULL) {
			cfg_fail(cfg, "%s takes no value", a->source);
			return -1;
		}
		v = "false";
	}
	if (v == NULL && cfg->spec->opts[k].type == CFG_BOOL) {
		v = "true";
	}
	if (v == NULL && (v = cfg_next_value(cfg, a)) == NULL) {
		return -1;
	}
	return cfg_set(cfg, (size_t) k, v, RANK_FLAG, a->source);
}

int
cfg_parse_args(struct cfg *cfg, int argc, char **argv)
{
	struct cfg_args a = { .argc = argc, .argv = argv };
	const char *eq;

	for (a.i = 1; a.i < argc; a.i++) {
		if (strncmp(argv[a.i], "--", 2) != 0 || argv[a.i][2] == '\0') {
			cfg_fail(cfg,
			    "unexpected argument \"%s\" (see --help)",
			    argv[a.i]);
			return -1;
		}
		a.name = argv[a.i] + 2;
		eq = strchr(a.name, '=');
		a.len = eq != NULL ? (size_t) (eq - a.name) : strlen(a.name);
		a.value = eq != NULL ? eq + 1 : NULL;
		snprintf(a.source, sizeof(a.source), "flag --%.*s",
		    (int) a.len, a.name);
		if (cfg_parse_flag(cfg, &a) != 0) {
			return -1;
		}
		/* Help and version ignore what follows, as they print. */
		if (cfg->action == ACT_HELP || cfg->action == ACT_VERSION) {
			return 0;
		}
	}
	return 0;
}

static const char *
cfg_getenv(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') {
			return *envp + n + 1;
		}
	}
	return NULL;
}

int
cfg_parse_env(struct cfg *cfg, char **envp)
{
	char var[CFG_NAME], source[CFG_NAME + 32];
	const char *v = cfg_getenv(envp, "AG_CONFIG");

	if (cfg->config_path == NULL && v != NULL && *v != '\0') {
		cfg->config_path = mem_strdup(v);
	}
	for (size_t i = 0; i < cfg->spec->nopts; i++) {
		cfg_env_name(cfg->spec->opts[i].name, var, sizeof(var));
		if ((v = cfg_getenv(envp, var)) == NULL) {
			continue;
		}
		snprintf(
		    source, sizeof(source), "environment variable %s", var);
		if (cfg_set(cfg, i, v, RANK_ENV, source) != 0) {
			return -1;
		}
	}
	return 0;
}

static char *
cfg_skip_space(char *s)
{
	while (isspace((unsigned char) *s)) {
		s++;
	}
	return s;
}

/* Returns s without its leading blanks, cutting its trailing ones. */
static char *
cfg_trim(char *s)
{
	size_t n;

	s = cfg_skip_space(s);
	n = strlen(s);
	while (n > 0 && isspace((unsigned char) s[n - 1])) {
		s[--n] = '\0';
	}
	return s;
}

/* Unquotes the value at v (starting with '"') in place, or says why not. */
static char *
cfg_unquote(char *v, const char **why)
{
	char *r = v + 1, *w = v;

	for (; *r != '"'; r++) {
		if (*r == '\0') {
			*why = "unterminated quoted value";
			return NULL;
		}
		if (*r == '\\' && r[1] != '"' && r[1] != '\\') {
			*why = "bad escape in quoted value (only \\\" and "
			       "\\\\)";
			return NULL;
		}
		r += *r == '\\';
		*w++ = *r;
	}
	*w = '\0';
	r = cfg_skip_space(r + 1);
	if (*r != '\0' && *r != '#') {
		*why = "unexpected text after quoted value";
		return NULL;
	}
	return v;
}

/* Returns the value of a trimmed right-hand side, or NULL and why not. */
static char *
cfg_file_value(char *v, const char **why)
{
	if (*v == '"') {
		return cfg_unquote(v, why);
	}
	/* '#' only starts a comment after a blank, so "a#b" is a value. */
	for (char *p = v; *p != '\0'; p++) {
		if (*p == '#' && (p == v || isspace((unsigned char) p[-1]))) {
			*p = '\0';
			break;
		}
	}
	return cfg_trim(v);
}

static int
cfg_parse_line(struct cfg *cfg, char *line, const char *source)
{
	char *name = cfg_trim(line), *eq, *value;
	const char *why = NULL;
	int k;

	if (*name == '\0' || *name == '#') {
		return 0;
	}
	if ((eq = strchr(name, '=')) == NULL || eq == name) {
		cfg_fail(cfg, "%s: expected name = value", source);
		return -1;
	}
	*eq = '\0';
	name = cfg_trim(name);
	if ((k = cfg_find(cfg, name, strlen(name))) < 0) {
		cfg_fail(cfg, "%s: unknown option \"%s\"", source, name);
		return -1;
	}
	if ((value = cfg_file_value(cfg_trim(eq + 1), &why)) == NULL) {
		cfg_fail(cfg, "%s: %s for %s", source, why, name);
		return -1;
	}
	return cfg_set(cfg, (size_t) k, value, RANK_FILE, source);
}

int
cfg_parse_text(struct cfg *cfg, const char *text, const char *name)
{
	size_t size = strlen(name) + 24;
	char *source = mem_alloc(size);
	const char *p = text;
	int line = 0, rc = 0;

	while (rc == 0 && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t) (nl - p) : strlen(p);
		char *copy = mem_strndup(p, n);

		snprintf(source, size, "%s:%d", name, ++line);
		rc = cfg_parse_line(cfg, copy, source);
		mem_free(copy);
		p += n + (nl != NULL);
	}
	mem_free(source);
	return rc;
}

/* Reads the whole file into an owned string; -1 with errno on failure. */
static int
cfg_read_file(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 4096, n;
	char *buf;
	int err;

	if (f == NULL) {
		return -1;
	}
	buf = mem_alloc(cap);
	do {
		if (cap - len < 2) {
			buf = mem_realloc(buf, cap *= 2);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (err != 0) {
		mem_free(buf);
		errno = err;
		return -1;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int
cfg_parse_file(struct cfg *cfg, const char *path)
{
	char *text;
	int rc;

	if (cfg_read_file(path, &text) != 0) {
		cfg_fail(cfg, "cannot read config file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	rc = cfg_parse_text(cfg, text, path);
	mem_free(text);
	return rc;
}

/* Prints s in double quotes, escaped as the config file reads it. */
static void
cfg_print_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			fputc('\\', f);
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
cfg_print_value(FILE *f, const struct cfg_opt *o, const void *p)
{
	char num[32];

	if (o->type == CFG_STR) {
		cfg_print_str(f, *(char *const *) p);
	} else if (o->type == CFG_BOOL) {
		fputs(*(const int *) p ? "true" : "false", f);
	} else {
		cfg_fmt_num(o, *(const long long *) p, num, sizeof(num));
		fputs(num, f);
	}
}

/* Prints one option of the --check-config report, as config file lines. */
static void
cfg_report_opt(const struct cfg *cfg, size_t i)
{
	const struct cfg_opt *o = &cfg->spec->opts[i];
	const void *p = cfg_field(cfg, o);
	const struct cfg_list *l = p;
	FILE *f = cfg->out;

	if (o->type == CFG_LIST) {
		if (l->count == 0) {
			fprintf(
			    f, "# %s: none (%s)\n", o->name, cfg->origin[i]);
		}
		for (size_t k = 0; k < l->count; k++) {
			fprintf(f, "%s = ", o->name);
			cfg_print_str(f, l->items[k]);
			fprintf(f, "\t# %s\n", cfg->origin[i]);
		}
	} else if (o->type == CFG_STR && *(char *const *) p == NULL) {
		fprintf(f, "# %s: not set (%s)\n", o->name, cfg->origin[i]);
	} else {
		fprintf(f, "%s = ", o->name);
		cfg_print_value(f, o, p);
		fprintf(f, "\t# %s\n", cfg->origin[i]);
	}
}

/* Prints an option's --help entry: flag, help, then the details. */
static void
cfg_usage_opt(FILE *f, const struct cfg_opt *o)
{
	char env[CFG_NAME], lo[32], hi[32];

	fprintf(f, "  --%s", o->type == CFG_BOOL ? "[no-]" : "");
	for (const char *c = o->name; *c != '\0'; c++) {
		fputc(*c == '_' ? '-' : *c, f);
	}
	fprintf(f, "%s\n      %s\n      %s, default ",
	    cfg_placeholder[o->type], o->help, cfg_type_name[o->type]);
	if (o->def == NULL) {
		fputs("none", f);
	} else if (o->type == CFG_STR || o->type == CFG_LIST) {
		cfg_print_str(f, o->def);
	} else {
		fputs(o->def, f);
	}
	if (o->type != CFG_STR && o->type != CFG_LIST && o->type != CFG_BOOL) {
		cfg_fmt_num(o, o->min, lo, sizeof(lo));
		cfg_fmt_num(o, o->max, hi, sizeof(hi));
		fprintf(f, ", %s to %s", lo, hi);
	}
	for (const char *const *c = o->choices; c != NULL && *c != NULL; c++) {
		fprintf(f, "%s%s", c == o->choices ? ", one of " : "|", *c);
	}
	cfg_env_name(o->name, env, sizeof(env));
	fprintf(f, ", env %s\n", env);
}

static void
cfg_usage(const struct cfg *cfg)
{
	FILE *f = cfg->out;

	fprintf(f,
	    "Usage: %s [--config=PATH] [--check-config] [--NAME=VALUE]...\n",
	    cfg->spec->prog);
	fprintf(f, "%s\n\n", cfg->spec->summary);
	for (size_t i = 0; cfg_usage_text[i] != NULL; i++) {
		fprintf(f, "%s\n", cfg_usage_text[i]);
	}
	for (size_t i = 0; i < cfg->spec->nopts; i++) {
		cfg_usage_opt(f, &cfg->spec->opts[i]);
	}
}

int
cfg_load(struct cfg *cfg, int argc, char **argv, char **envp)
{
	if (cfg_parse_args(cfg, argc, argv) != 0) {
		return CFG_ERROR;
	}
	if (cfg->action == ACT_HELP) {
		cfg_usage(cfg);
		return CFG_EXIT;
	}
	if (cfg->action == ACT_VERSION) {
		fprintf(
		    cfg->out, "%s %s\n", cfg->spec->prog, cfg->spec->version);
		return CFG_EXIT;
	}
	if (cfg_parse_env(cfg, envp) != 0) {
		return CFG_ERROR;
	}
	if (cfg->config_path != NULL
	    && cfg_parse_file(cfg, cfg->config_path) != 0) {
		return CFG_ERROR;
	}
	return cfg->action == ACT_CHECK ? CFG_CHECK : CFG_RUN;
}

int
cfg_conclude(struct cfg *cfg, int result, int *exit_code)
{
	if (result == CFG_RUN) {
		return 0;
	}
	if (result == CFG_CHECK) {
		fprintf(cfg->out, "configuration OK\n");
		for (size_t i = 0; i < cfg->spec->nopts; i++) {
			cfg_report_opt(cfg, i);
		}
	}
	*exit_code = result == CFG_ERROR ? 2 : 0;
	cfg_free_values(cfg->spec, cfg->conf);
	return 1;
}
