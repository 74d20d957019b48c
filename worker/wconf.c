#include "wconf.h"

#include "common/cfg.h"
#include "common/mem.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

#ifndef AG_VERSION
#define AG_VERSION "0.1.0"
#endif

#define W(field) offsetof(struct wconf, field)

static const char *const wconf_levels[]
    = { "debug", "info", "warn", "error", NULL };

static const char *
wconf_check_path(const char *s)
{
	return s[0] == '/' ? NULL : "must start with '/'";
}

static const struct cfg_opt wconf_opts[] = {
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
	    .check = wconf_check_path,
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
	    .def = "0",
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
	{ .name = "log_level",
	    .type = CFG_STR,
	    .def = "info",
	    .offset = W(log_level),
	    .choices = wconf_levels,
	    .help = "least severe level logged" },
};

static const struct cfg_spec wconf_spec = {
	.prog = "ag-worker",
	.version = AG_VERSION,
	.summary = "A SocketCluster-compatible realtime server worker.",
	.opts = wconf_opts,
	.nopts = sizeof(wconf_opts) / sizeof(wconf_opts[0]),
};

/* Checks what no single option can: how the options fit together. */
static int
wconf_check(struct cfg *cfg, struct wconf *c)
{
	if (!c->ping_timeout_disabled && c->ping_interval >= c->ping_timeout) {
		cfg_fail(cfg,
		    "ping_interval (%lld, %s) must be less than ping_timeout "
		    "(%lld, %s) unless ping_timeout_disabled is true",
		    c->ping_interval, cfg_origin(cfg, "ping_interval"),
		    c->ping_timeout, cfg_origin(cfg, "ping_timeout"));
		return -1;
	}
	/* One spelling of "any address" spares every user a comparison. */
	if (strcmp(c->host, "*") == 0) {
		mem_free(c->host);
		c->host = mem_strdup("");
	}
	return 0;
}

int
wconf_load_from(
    struct wconf *c, int argc, char **argv, char **envp, int *exit_code)
{
	struct cfg cfg;
	int result;

	cfg_init(&cfg, &wconf_spec, c);
	result = cfg_load(&cfg, argc, argv, envp);
	if ((result == CFG_RUN || result == CFG_CHECK)
	    && wconf_check(&cfg, c) != 0) {
		result = CFG_ERROR;
	}
	result = cfg_conclude(&cfg, result, exit_code);
	cfg_fini(&cfg);
	return result;
}

int
wconf_load(struct wconf *c, int argc, char **argv, int *exit_code)
{
	return wconf_load_from(c, argc, argv, environ, exit_code);
}

void
wconf_fini(struct wconf *c)
{
	cfg_free_values(&wconf_spec, c);
}
