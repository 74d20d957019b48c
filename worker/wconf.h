/*
 * ag-worker's configuration: its option table and the loaded values.
 * Sources, lowest to highest precedence: built-in defaults, the config file
 * (--config PATH or AG_CONFIG), AG_* environment variables, command-line
 * flags. See docs/configuration.md.
 */
#ifndef AG_WCONF_H
#define AG_WCONF_H

struct wconf {
	char *host;                     /* listen address; "" or "*" = any */
	long long port;                 /* 8000 */
	char *path;                     /* "/socketcluster/" */
	long long ping_interval;        /* ms, 8000 */
	long long ping_timeout;         /* ms, 30000 */
	int ping_timeout_disabled;      /* false */
	long long handshake_timeout;    /* ms, 10000 */
	long long protocol_version;     /* 2; 1 for legacy clients */
	int allow_client_publish;       /* true */
	long long socket_channel_limit; /* 0 = unlimited */
	long long max_payload;          /* bytes, 100 MiB as the reference */
	char *origins;                  /* "*:*" */
	long long max_connections;      /* 0 = unlimited */
	long long socket_output_limit;  /* bytes queued per socket, 4 MiB */
	long long backlog;              /* listen backlog, 1024 */
	char *log_level;                /* "info" */
	int batch_on_handshake;         /* false */
	long long batch_on_handshake_duration; /* ms, 400 */
	long long batch_interval;              /* ms, 50 */
};

/*
 * Loads the configuration from every source into *c (which the function
 * initialises; release with wconf_fini). argv is borrowed.
 * Returns 0 when the program should go on serving; returns 1 when it should
 * exit with *exit_code: after --help or --version (0), after --check-config
 * (0 if valid), or after a bad value, which has been reported on stderr
 * naming its source (file:line, environment variable or flag) (2).
 */
int wconf_load(struct wconf *c, int argc, char **argv, int *exit_code);

/*
 * As wconf_load, but reading the environment from envp ("NAME=value"
 * strings, NULL-terminated, may be NULL; borrowed) instead of the process's,
 * so tests can load a configuration without touching theirs.
 */
int wconf_load_from(
    struct wconf *c, int argc, char **argv, char **envp, int *exit_code);

/* Frees the strings held by c. */
void wconf_fini(struct wconf *c);

#endif
