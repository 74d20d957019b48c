/*
 * agbench: a SocketCluster load generator for agcluster and the reference
 * server (docs/benchmarks.md). One process, one libevent loop; it prints a
 * summary on stderr and one JSON line on stdout.
 *
 *   agbench idle|fanout|channels|storm|cluster [--name=value]...
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/agbench_multi.h"
#include "tools/agbench_proc.h"
#include "tools/agbench_report.h"
#include "tools/agbench_run.h"

static const char usage_text[]
    = "Usage: agbench SCENARIO [--name=value]...\n"
      "Scenarios:\n"
      "  idle      N clients connect and handshake, then stay idle\n"
      "  fanout    N subscribers and --publishers on one channel\n"
      "  channels  N clients, each subscribed to its own channel and\n"
      "            publishing to it (echo); with --pub-port the publishers\n"
      "            are N more clients on those ports\n"
      "  storm     --connections at a time connect, handshake, reset, again\n"
      "  cluster   fanout with the publishers on --pub-port (another "
      "worker)\n"
      "Options (default):\n"
      "  --host=ADDR          server IPv4 address (127.0.0.1)\n"
      "  --port=P[,P...]      server ports, clients spread over them (8000)\n"
      "  --pub-port=P[,P...]  ports of the publishers (those of --port)\n"
      "  --path=PATH          WebSocket path (/socketcluster/)\n"
      "  --connections=N      clients, subscribers, or storm's in flight "
      "(1000)\n"
      "  --publishers=N       publishers on the fan-out channel (1)\n"
      "  --rate=R             publishes per second in all; 0: saturate (0)\n"
      "  --window=W           messages in flight per channel (16; 1000 with "
      "--rate)\n"
      "  --size=B             payload bytes, about (0: just the stamp)\n"
      "  --duration=S         measured seconds (10)\n"
      "  --warmup=S           traffic before measuring (2)\n"
      "  --drain=S            longest wait for messages in flight (5)\n"
      "  --setup-timeout=S    longest wait for the connections (120)\n"
      "  --concurrency=N      connections being set up at once (256)\n"
      "  --sources=N          source addresses 127.0.0.1.. (16); with\n"
      "                       --procs, N more for each further process\n"
      "  --jwt-key=SECRET     an HS256 token in every handshake (none)\n"
      "  --pid=PID[,PID...]   server processes to read from /proc\n"
      "  --label=TEXT         copied into the JSON line\n"
      "  --quiet              no summary on stderr\n";

enum opt_id {
	OPT_HOST = 1,
	OPT_PORT,
	OPT_PUB_PORT,
	OPT_PATH,
	OPT_CONNECTIONS,
	OPT_PUBLISHERS,
	OPT_RATE,
	OPT_WINDOW,
	OPT_SIZE,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_DRAIN,
	OPT_SETUP_TIMEOUT,
	OPT_CONCURRENCY,
	OPT_SOURCES,
	OPT_JWT_KEY,
	OPT_PID,
	OPT_PROCS,
	OPT_LABEL,
	OPT_QUIET,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "pub-port", required_argument, NULL, OPT_PUB_PORT },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "publishers", required_argument, NULL, OPT_PUBLISHERS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "setup-timeout", required_argument, NULL, OPT_SETUP_TIMEOUT },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "sources", required_argument, NULL, OPT_SOURCES },
	{ "jwt-key", required_argument, NULL, OPT_JWT_KEY },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "procs", required_argument, NULL, OPT_PROCS },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char *label = "";
static int quiet;

static void
die(const char *what, const char *value)
{
	fprintf(stderr, "agbench: %s: %s\n%s", what, value, usage_text);
	exit(2);
}

static void
usage(int help)
{
	fputs(usage_text, help ? stdout : stderr);
	exit(help ? 0 : 2);
}

static double
num(const char *name, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		die(name, s);
	}
	return v;
}

/* Parses a comma-separated list of numbers into out (at most max). */
static size_t
num_list(const char *name, const char *s, long *out, size_t n, size_t max,
    long lo, long hi)
{
	char buf[4096];
	char *save, *tok;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == max) {
			die(name, "too many values");
		}
		out[n++] = (long) num(name, tok, (double) lo, (double) hi);
	}
	return n;
}

static void
ports(const char *name, const char *s, uint16_t *out, size_t *n)
{
	long v[AGBENCH_MAX_PORTS];
	size_t k = num_list(name, s, v, 0, AGBENCH_MAX_PORTS, 1, 65535);

	for (size_t i = 0; i < k; i++) {
		out[i] = (uint16_t) v[i];
	}
	*n = k;
}

static void
pids(const char *s, struct agbench_opts *o)
{
	long v[AGBENCH_MAX_PIDS];
	size_t k = num_list(
	    "--pid", s, v, 0, AGBENCH_MAX_PIDS - o->npids, 1, 4194304);

	for (size_t i = 0; i < k; i++) {
		o->pids[o->npids++] = (pid_t) v[i];
	}
}

static int
scenario(const char *s)
{
	static const char *names[]
	    = { "idle", "fanout", "channels", "storm", "cluster" };

	for (int i = 0; i < 5; i++) {
		if (strcmp(s, names[i]) == 0) {
			return i;
		}
	}
	die("unknown scenario", s);
	return -1;
}

static void
defaults(struct agbench_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->path = "/socketcluster/";
	o->ports[0] = 8000;
	o->nports = 1;
	o->connections = 1000;
	o->publishers = 1;
	o->duration = 10;
	o->warmup = 2;
	o->drain = 5;
	o->setup_timeout = 120;
	o->concurrency = 256;
	o->sources = 16;
	o->procs = 1;
	o->ready_fd = -1;
	o->hold_fd = -1;
}

static void
option(struct agbench_opts *o, int id, const char *v)
{
	switch (id) {
	case OPT_HOST:
		o->host = v;
		break;
	case OPT_PORT:
		ports("--port", v, o->ports, &o->nports);
		break;
	case OPT_PUB_PORT:
		ports("--pub-port", v, o->pub_ports, &o->npub_ports);
		break;
	case OPT_PATH:
		o->path = v;
		break;
	case OPT_CONNECTIONS:
		o->connections = (unsigned) num("--connections", v, 1, 1e7);
		break;
	case OPT_PUBLISHERS:
		o->publishers = (unsigned) num("--publishers", v, 1, 60000);
		break;
	case OPT_RATE:
		o->rate = num("--rate", v, 0, 1e9);
		break;
	case OPT_WINDOW:
		o->window = (unsigned) num("--window", v, 1, 1e6);
		break;
	case OPT_SIZE:
		o->size = (unsigned) num("--size", v, 0, 60000);
		break;
	case OPT_DURATION:
		o->duration = num("--duration", v, 0.1, 86400);
		break;
	case OPT_WARMUP:
		o->warmup = num("--warmup", v, 0, 86400);
		break;
	case OPT_DRAIN:
		o->drain = num("--drain", v, 0, 86400);
		break;
	case OPT_SETUP_TIMEOUT:
		o->setup_timeout = num("--setup-timeout", v, 0.1, 86400);
		break;
	case OPT_CONCURRENCY:
		o->concurrency = (unsigned) num("--concurrency", v, 1, 1e7);
		break;
	case OPT_SOURCES:
		o->sources = (unsigned) num("--sources", v, 1, 65535);
		break;
	case OPT_JWT_KEY:
		o->jwt_key = v;
		break;
	case OPT_PID:
		pids(v, o);
		break;
	case OPT_PROCS:
		o->procs = (unsigned) num("--procs", v, 1, 256);
		break;
	case OPT_LABEL:
		label = v;
		break;
	case OPT_QUIET:
		quiet = 1;
		break;
	default:
		usage(id == OPT_HELP);
	}
}

static void
parse(int argc, char **argv, struct agbench_opts *o)
{
	int id;

	defaults(o);
	if (argc < 2 || argv[1][0] == '-') {
		usage(argc >= 2 && strcmp(argv[1], "--help") == 0);
	}
	o->scenario = (enum agbench_scenario) scenario(argv[1]);
	optind = 2;
	while ((id = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		option(o, id, optarg);
	}
	if (optind < argc) {
		die("unexpected argument", argv[optind]);
	}
	if (o->scenario == AGBENCH_CLUSTER && o->npub_ports == 0) {
		die("cluster", "needs --pub-port (the publishers' worker)");
	}
	if (o->procs > 1 && o->scenario != AGBENCH_IDLE) {
		die("--procs", "only with the idle scenario");
	}
	if ((unsigned long long) o->procs * o->sources > 0xfffffeu) {
		die("--sources",
		    "procs x sources must stay inside 127.0.0.0/8");
	}
	if (o->window == 0) {
		o->window = o->rate > 0 ? 1000 : 16;
	}
}

/* Raises the soft open-file limit to the hard one; warns when even that
 * is short of the connections. */
static void
raise_nofile(const struct agbench_opts *o)
{
	unsigned long limit = agbench_proc_raise_nofile();

	if (limit
	    < (unsigned long) o->connections / o->procs + o->publishers + 64) {
		fprintf(stderr,
		    "agbench: warning: %lu open files allowed, fewer than the "
		    "connections\n",
		    limit);
	}
}

int
main(int argc, char **argv)
{
	struct agbench_opts o;
	static struct agbench_result res;

	parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(&o);
	if ((o.procs > 1 ? agbench_multi_run(&o, &res) : agbench_run(&o, &res))
	    != 0) {
		return 1;
	}
	agbench_report(&o, &res, label, quiet);
	return 0;
}
