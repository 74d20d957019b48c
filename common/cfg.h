/*
 * A table-driven configuration engine. A program describes its options in
 * one table of struct cfg_opt; the engine fills the program's own struct
 * from, lowest to highest precedence: the table's defaults, a config file
 * (--config PATH or AG_CONFIG), AG_* environment variables and command-line
 * flags. Every value from every source is checked, and the first bad one is
 * reported naming its source (file:line, variable or flag).
 *
 * Nothing here reads the process environment or argv by itself: the caller
 * passes them, so tests can pass their own.
 */
#ifndef AG_CFG_H
#define AG_CFG_H

#include <stddef.h>
#include <stdio.h>

/* The type of an option, and of its value in the program's struct. */
enum cfg_type {
	CFG_INT,  /* long long */
	CFG_BOOL, /* int, 0 or 1; true/false, yes/no, on/off, 1/0 */
	CFG_STR,  /* char *, owned by the program's struct; NULL if unset */
	CFG_MS,   /* long long, a duration in milliseconds */
	CFG_SIZE, /* long long, bytes; suffix k, m or g = 1024, 1024^2, 1024^3
	           */
	CFG_LIST, /* struct cfg_list; each occurrence in a source appends */
};

/*
 * The value of a CFG_LIST option. items is owned, NULL-terminated and never
 * NULL once loaded. A source replaces the items of lower sources.
 */
struct cfg_list {
	char **items;
	size_t count;
};

struct cfg_opt {
	const char *name; /* snake_case: file name, --name, AG_NAME */
	enum cfg_type type;
	const char *def; /* default as text; NULL: unset string, no items */
	long long min;   /* inclusive bounds of a number, always checked */
	long long max;
	size_t offset;    /* offsetof the value in the program's struct */
	const char *help; /* one line for --help */
	/* NULL, or the only values a string may take (NULL-terminated) */
	const char *const *choices;
	/* NULL, or checks a string: returns NULL if good, else why not */
	const char *(*check)(const char *value);
};

/* A program's options; borrowed by the engine, usually static. */
struct cfg_spec {
	const char *prog;    /* prefixes every message: "ag-worker" */
	const char *version; /* printed by --version */
	const char *summary; /* one line under the usage line of --help */
	const struct cfg_opt *opts;
	size_t nopts;
};

/* What the program should do after cfg_load. */
enum cfg_result {
	CFG_RUN = 0, /* go on with the loaded values */
	CFG_CHECK,   /* --check-config: validate, then cfg_conclude reports */
	CFG_EXIT,    /* --help or --version was printed: exit 0 */
	CFG_ERROR,   /* a bad value was reported: exit 2 */
};

struct cfg {
	const struct cfg_spec *spec; /* borrowed */
	void *conf;                  /* borrowed: the program's struct */
	FILE *out;                   /* --help, --version, report: stdout */
	FILE *err;                   /* errors: stderr; NULL for silence */
	char error[512];             /* the last error, without the program */
	char *config_path;           /* owned: from --config or AG_CONFIG */
	/* Private. */
	int action;          /* what the built-in flags asked for */
	unsigned char *rank; /* per option: the source that set its value */
	char **origin;       /* per option, owned: that source's name */
};

/*
 * Prepares cfg (embedded) and writes every option's default into conf, whose
 * option fields are treated as uninitialised. spec and conf are borrowed and
 * must outlive cfg. A default that does not parse is a programming error and
 * aborts.
 */
void cfg_init(struct cfg *cfg, const struct cfg_spec *spec, void *conf);
/* Frees the engine's state; the values in conf stay (cfg_free_values). */
void cfg_fini(struct cfg *cfg);

/*
 * Reads every source: argv (argv[0] is the program and is skipped), then
 * envp ("NAME=value" strings, NULL-terminated, may be NULL; borrowed), then
 * the config file. --help and --version are printed here. Returns an enum
 * cfg_result; on CFG_ERROR the message has been printed and is in
 * cfg->error. Cross-option checks are the program's, after this.
 */
int cfg_load(struct cfg *cfg, int argc, char **argv, char **envp);

/* The sources one at a time, each returning 0 or -1 after reporting. */
int cfg_parse_args(struct cfg *cfg, int argc, char **argv);
int cfg_parse_env(struct cfg *cfg, char **envp);
int cfg_parse_file(struct cfg *cfg, const char *path);
/* Parses text as the content of a config file called name (borrowed). */
int cfg_parse_text(struct cfg *cfg, const char *text, const char *name);

/* Reports a program's own error (a cross-option check) like the engine's. */
void cfg_fail(struct cfg *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Names where the current value of option name came from ("default",
 * "flag --port", ...; borrowed from cfg), or NULL for an unknown name. */
const char *cfg_origin(const struct cfg *cfg, const char *name);

/*
 * Turns the result of cfg_load and the program's checks into agconf_load's
 * contract: prints the report of --check-config for CFG_CHECK; returns 0 for
 * CFG_RUN, otherwise frees the values in conf and returns 1 with
 * *exit_code set to 0, or to 2 for CFG_ERROR.
 */
int cfg_conclude(struct cfg *cfg, int result, int *exit_code);

/* Frees the strings and lists of conf described by spec, leaving NULLs. */
void cfg_free_values(const struct cfg_spec *spec, void *conf);

#endif
