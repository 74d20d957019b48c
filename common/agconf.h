/*
 * The configuration of every agcluster program (ag-worker, ag-broker,
 * agcluster): one option table, so one config file or one set of AG_*
 * variables serves a whole cluster; each program uses the options that
 * concern it. Sources, lowest to highest precedence: built-in defaults, the
 * config file (--config PATH or AG_CONFIG), AG_* environment variables,
 * command-line flags. See docs/configuration.md.
 */
#ifndef AG_AGCONF_H
#define AG_AGCONF_H

#include <stddef.h>

#include "common/cfg.h"

struct agconf {
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
	/* The cluster. */
	long long workers;       /* workers per host; 0 = one per core */
	long long brokers;       /* brokers agcluster starts, 1 */
	long long worker_id;     /* this worker's index, 0.. workers-1 */
	long long broker_id;     /* this broker's index in broker_addresses */
	char *broker_addresses;  /* "host:port,...": "" = no brokers */
	long long link_port;     /* first port of agcluster's links, 9100 */
	long long drain_timeout; /* ms, 10000 */
	/* Auth tokens (docs/auth.md). */
	char *auth_key;         /* HMAC secret; "" = random per process */
	char *auth_private_key; /* PEM file; "" = none (both or none) */
	char *auth_public_key;  /* PEM file; "" = none */
	char *auth_algorithm;   /* signing; "" = HS256 */
	char *auth_verify_algorithms;  /* comma-separated; "" = see docs */
	long long auth_default_expiry; /* seconds, 86400 */
	char *auth_previous_keys; /* comma-separated secrets or PEM files */
	struct cfg_list plugin;   /* plugin .so paths (ag-worker) */
	char *publish_channels_claim;   /* rule: "" = none */
	char *subscribe_channels_claim; /* rule: "" = none */
};

/* One broker address of broker_addresses. */
struct agconf_addr {
	char host[256];
	int port;
};

#define AGCONF_MAX_BROKERS 256

/*
 * Parses a broker_addresses list ("host:port,host:port"; blanks around
 * items ignored) into out (max entries). Returns the number of addresses
 * (0 for an empty list), or -1 when an item is malformed or there are more
 * than max.
 */
int agconf_parse_addresses(
    const char *list, struct agconf_addr *out, size_t max);

/*
 * Loads the configuration from every source into *c (which the function
 * initialises; release with agconf_fini). argv is borrowed.
 * Returns 0 when the program should go on serving; returns 1 when it should
 * exit with *exit_code: after --help or --version (0), after --check-config
 * (0 if valid), or after a bad value, which has been reported on stderr
 * naming its source (file:line, environment variable or flag) (2).
 */
int agconf_load(struct agconf *c, int argc, char **argv, int *exit_code);
/* The same, for the program named prog (used in messages and --help). */
int agconf_load_as(
    struct agconf *c, const char *prog, int argc, char **argv, int *exit_code);

/*
 * As agconf_load, but reading the environment from envp ("NAME=value"
 * strings, NULL-terminated, may be NULL; borrowed) instead of the process's,
 * so tests can load a configuration without touching theirs.
 */
int agconf_load_from(
    struct agconf *c, int argc, char **argv, char **envp, int *exit_code);

/* Frees the strings held by c. */
void agconf_fini(struct agconf *c);

#endif
