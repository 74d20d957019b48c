#include "agconf.h"

#include "common/cfg.h"
#include "common/mem.h"
#include "common/tokenconf.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AG_VERSION
#define AG_VERSION "0.1.0"
#endif

#define W(field) offsetof(struct agconf, field)

static const char *const agconf_levels[]
    = { "debug", "info", "warn", "error", NULL };

static const char *
agconf_check_path(const char *s)
{
	return s[0] == '/' ? NULL : "must start with '/'";
}

static const struct cfg_opt agconf_opts[] = {
	{ .name = "host",
	    .type = CFG_STR,
	    .def = "",
	    .offset = W(host),
	    .help = "address to listen on; \"\" or \"*\" for any" },
	{ .name = "port",
	    .type = CFG_INT,
	    .def = "8000",
	    .min = 0,
	    .max = 65535,
	    .offset = W(port),
	    .help = "TCP port to listen on" },
	{ .name = "path",
	    .type = CFG_STR,
	    .def = "/socketcluster/",
	    .offset = W(path),
	    .check = agconf_check_path,
	    .help = "URL path of the WebSocket endpoint" },
	{ .name = "ping_interval",
	    .type = CFG_MS,
	    .def = "8000",
	    .min = 1,
	    .max = 3600000,
	    .offset = W(ping_interval),
	    .help = "time between the server's pings to a client" },
	{ .name = "ping_timeout",
	    .type = CFG_MS,
	    .def = "30000",
	    .min = 1,
	    .max = 3600000,
	    .offset = W(ping_timeout),
	    .help = "a client silent this long is disconnected" },
	{ .name = "ping_timeout_disabled",
	    .type = CFG_BOOL,
	    .def = "false",
	    .offset = W(ping_timeout_disabled),
	    .help = "never disconnect silent clients" },
	{ .name = "handshake_timeout",
	    .type = CFG_MS,
	    .def = "10000",
	    .min = 1,
	    .max = 3600000,
	    .offset = W(handshake_timeout),
	    .help = "time a client has to complete the #handshake" },
	{ .name = "protocol_version",
	    .type = CFG_INT,
	    .def = "2",
	    .min = 1,
	    .max = 2,
	    .offset = W(protocol_version),
	    .help = "SocketCluster protocol: 2, or 1 for legacy clients" },
	{ .name = "allow_client_publish",
	    .type = CFG_BOOL,
	    .def = "true",
	    .offset = W(allow_client_publish),
	    .help = "let clients #publish to channels" },
	{ .name = "socket_channel_limit",
	    .type = CFG_INT,
	    .def = "1000",
	    .min = 0,
	    .max = 1000000,
	    .offset = W(socket_channel_limit),
	    .help = "channels one socket may subscribe to; 0 = unlimited" },
	{ .name = "max_payload",
	    .type = CFG_SIZE,
	    .def = "100M",
	    .min = 128,
	    .max = 1LL << 30,
	    .offset = W(max_payload),
	    .help = "largest WebSocket message accepted from a client" },
	{ .name = "origins",
	    .type = CFG_STR,
	    .def = "*:*",
	    .offset = W(origins),
	    .help = "allowed Origin headers, as host:port patterns" },
	{ .name = "max_connections",
	    .type = CFG_INT,
	    .def = "0",
	    .min = 0,
	    .max = 10000000,
	    .offset = W(max_connections),
	    .help = "open sockets accepted at once; 0 = unlimited" },
	{ .name = "socket_output_limit",
	    .type = CFG_SIZE,
	    .def = "4M",
	    .min = 64LL << 10,
	    .max = 1LL << 30,
	    .offset = W(socket_output_limit),
	    .help = "bytes queued for a slow socket before it is dropped" },
	{ .name = "backlog",
	    .type = CFG_INT,
	    .def = "1024",
	    .min = 1,
	    .max = 65535,
	    .offset = W(backlog),
	    .help = "listen backlog of the server socket" },
	{ .name = "batch_on_handshake",
	    .type = CFG_BOOL,
	    .def = "false",
	    .offset = W(batch_on_handshake),
	    .help = "batch the packets sent to a client right after its "
	            "handshake into JSON arrays" },
	{ .name = "batch_on_handshake_duration",
	    .type = CFG_MS,
	    .def = "400",
	    .min = 1,
	    .max = 3600000,
	    .offset = W(batch_on_handshake_duration),
	    .help = "how long after the handshake packets are batched" },
	{ .name = "batch_interval",
	    .type = CFG_MS,
	    .def = "50",
	    .min = 1,
	    .max = 3600000,
	    .offset = W(batch_interval),
	    .help = "how often a batch is sent while batching" },
	{ .name = "workers",
	    .type = CFG_INT,
	    .def = "0",
	    .min = 0,
	    .max = 1024,
	    .offset = W(workers),
	    .help = "workers per host (agcluster starts them, each broker "
	            "listens for them); 0 = one per core" },
	{ .name = "brokers",
	    .type = CFG_INT,
	    .def = "1",
	    .min = 1,
	    .max = 256,
	    .offset = W(brokers),
	    .help = "brokers agcluster starts" },
	{ .name = "worker_id",
	    .type = CFG_INT,
	    .def = "0",
	    .min = 0,
	    .max = 1023,
	    .offset = W(worker_id),
	    .help = "this worker's index, 0 to workers-1 (ag-worker)" },
	{ .name = "broker_id",
	    .type = CFG_INT,
	    .def = "0",
	    .min = 0,
	    .max = 255,
	    .offset = W(broker_id),
	    .help = "this broker's index in broker_addresses (ag-broker)" },
	{ .name = "broker_addresses",
	    .type = CFG_STR,
	    .def = "",
	    .offset = W(broker_addresses),
	    .help = "every broker's host:port, comma-separated; broker i "
	            "listens for worker w on its port + w. Empty: the worker "
	            "runs alone with local pub/sub" },
	{ .name = "link_port",
	    .type = CFG_INT,
	    .def = "9100",
	    .min = 1,
	    .max = 65535,
	    .offset = W(link_port),
	    .help = "agcluster: first port of the worker-broker links on "
	            "127.0.0.1" },
	{ .name = "drain_timeout",
	    .type = CFG_MS,
	    .def = "10000",
	    .min = 1,
	    .max = 3600000,
	    .offset = W(drain_timeout),
	    .help = "on SIGTERM, how long to wait for clients to leave and "
	            "output to flush" },
	{ .name = "auth_key",
	    .type = CFG_STR,
	    .def = "",
	    .offset = W(auth_key),
	    .help = "HMAC secret that signs and verifies auth tokens; empty: "
	            "a random key per process" },
	{ .name = "auth_private_key",
	    .type = CFG_STR,
	    .def = "",
	    .offset = W(auth_private_key),
	    .help = "PEM file of the private key that signs auth tokens "
	            "(with auth_public_key, instead of auth_key)" },
	{ .name = "auth_public_key",
	    .type = CFG_STR,
	    .def = "",
	    .offset = W(auth_public_key),
	    .help = "PEM file of the public key that verifies auth tokens" },
	{ .name = "auth_algorithm",
	    .type = CFG_STR,
	    .def = "",
	    .offset = W(auth_algorithm),
	    .check = tokenconf_check_algorithm,
	    .help = "algorithm that signs auth tokens, and the only one "
	            "verified; empty: HS256, verification by key type" },
	{ .name = "auth_verify_algorithms",
	    .type = CFG_STR,
	    .def = "",
	    .offset = W(auth_verify_algorithms),
	    .check = tokenconf_check_algorithms,
	    .help = "comma-separated algorithms accepted when verifying; "
	            "overrides auth_algorithm's restriction" },
	{ .name = "auth_default_expiry",
	    .type = CFG_INT,
	    .def = "86400",
	    .min = 1,
	    .max = 3153600000LL,
	    .offset = W(auth_default_expiry),
	    .help = "seconds until a signed auth token expires, unless its "
	            "payload has exp" },
	{ .name = "auth_previous_keys",
	    .type = CFG_STR,
	    .def = "",
	    .offset = W(auth_previous_keys),
	    .help = "comma-separated keys still accepted when verifying: "
	            "HMAC secrets, or public key PEM files with a key pair" },
	{ .name = "plugin",
	    .type = CFG_LIST,
	    .def = NULL,
	    .offset = W(plugin),
	    .help = "a plugin (shared object) for ag-worker to load; "
	            "repeatable (docs/plugins.md)" },
	{ .name = "publish_channels_claim",
	    .type = CFG_STR,
	    .def = "",
	    .offset = W(publish_channels_claim),
	    .help = "rule: a client may publish to a channel only if its "
	            "token's claim of this name (an array) lists it; \"\" = "
	            "no rule" },
	{ .name = "subscribe_channels_claim",
	    .type = CFG_STR,
	    .def = "",
	    .offset = W(subscribe_channels_claim),
	    .help = "rule: a client may subscribe to a channel only if its "
	            "token's claim of this name (an array) lists it; \"\" = "
	            "no rule" },
	{ .name = "log_level",
	    .type = CFG_STR,
	    .def = "info",
	    .offset = W(log_level),
	    .choices = agconf_levels,
	    .help = "least severe level logged" },
};

static const struct cfg_spec agconf_spec = {
	.prog = "ag-worker",
	.version = AG_VERSION,
	.summary = "A SocketCluster-compatible realtime server worker.",
	.opts = agconf_opts,
	.nopts = sizeof(agconf_opts) / sizeof(agconf_opts[0]),
};

static int
parse_address(const char *p, size_t n, struct agconf_addr *a)
{
	const char *colon = memrchr(p, ':', n);
	char digits[8];
	char *end;
	long port;

	if (colon == NULL || colon == p
	    || (size_t) (colon - p) >= sizeof(a->host)
	    || n - (size_t) (colon - p) - 1 == 0
	    || n - (size_t) (colon - p) - 1 >= sizeof(digits)) {
		return -1;
	}
	memcpy(digits, colon + 1, n - (size_t) (colon - p) - 1);
	digits[n - (size_t) (colon - p) - 1] = '\0';
	port = strtol(digits, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535) {
		return -1;
	}
	memcpy(a->host, p, (size_t) (colon - p));
	a->host[colon - p] = '\0';
	a->port = (int) port;
	return 0;
}

int
agconf_parse_addresses(const char *list, struct agconf_addr *out, size_t max)
{
	size_t n = 0;
	const char *p = list;

	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t) (end - p) : strlen(p);

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
			len--;
		}
		if (n == max || parse_address(p, len, &out[n]) != 0) {
			return -1;
		}
		n++;
		p = end ? end + 1 : p + len;
		if (end == NULL) {
			break;
		}
	}
	return (int) n;
}

/* Builds the auth token setup once, so that an unreadable PEM file or an
 * algorithm that does not fit its key stops the program at startup. */
static int
agconf_check_auth(struct cfg *cfg, const struct agconf *c)
{
	struct tokenconf tc;
	const char *option = "auth_key";
	char err[384];

	if (tokenconf_init(&tc, c, err, sizeof(err), &option) != 0) {
		cfg_fail(
		    cfg, "%s (%s): %s", option, cfg_origin(cfg, option), err);
		return -1;
	}
	tokenconf_fini(&tc);
	return 0;
}

/* Checks what no single option can: how the options fit together. */
static int
agconf_check(struct cfg *cfg, struct agconf *c)
{
	static struct agconf_addr addrs[AGCONF_MAX_BROKERS];

	if (!c->ping_timeout_disabled && c->ping_interval >= c->ping_timeout) {
		cfg_fail(cfg,
		    "ping_interval (%lld, %s) must be less than ping_timeout "
		    "(%lld, %s) unless ping_timeout_disabled is true",
		    c->ping_interval, cfg_origin(cfg, "ping_interval"),
		    c->ping_timeout, cfg_origin(cfg, "ping_timeout"));
		return -1;
	}
	if (agconf_parse_addresses(
	        c->broker_addresses, addrs, AGCONF_MAX_BROKERS)
	    < 0) {
		cfg_fail(cfg,
		    "broker_addresses (%s): bad value \"%s\": expected "
		    "host:port[,host:port...]",
		    cfg_origin(cfg, "broker_addresses"), c->broker_addresses);
		return -1;
	}
	if (c->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		c->workers = n > 0 ? n : 1;
	}
	if (agconf_check_auth(cfg, c) != 0) {
		return -1;
	}
	/* One spelling of "any address" spares every user a comparison. */
	if (strcmp(c->host, "*") == 0) {
		mem_free(c->host);
		c->host = mem_strdup("");
	}
	return 0;
}

static int
load(const struct cfg_spec *spec, struct agconf *c, int argc, char **argv,
    char **envp, int *exit_code)
{
	struct cfg cfg;
	int result;

	cfg_init(&cfg, spec, c);
	result = cfg_load(&cfg, argc, argv, envp);
	if ((result == CFG_RUN || result == CFG_CHECK)
	    && agconf_check(&cfg, c) != 0) {
		result = CFG_ERROR;
	}
	result = cfg_conclude(&cfg, result, exit_code);
	cfg_fini(&cfg);
	return result;
}

int
agconf_load_from(
    struct agconf *c, int argc, char **argv, char **envp, int *exit_code)
{
	return load(&agconf_spec, c, argc, argv, envp, exit_code);
}

int
agconf_load(struct agconf *c, int argc, char **argv, int *exit_code)
{
	return agconf_load_from(c, argc, argv, environ, exit_code);
}

int
agconf_load_as(
    struct agconf *c, const char *prog, int argc, char **argv, int *exit_code)
{
	struct cfg_spec spec = agconf_spec;

	spec.prog = prog;
	return load(&spec, c, argc, argv, environ, exit_code);
}

void
agconf_fini(struct agconf *c)
{
	cfg_free_values(&agconf_spec, c);
}
