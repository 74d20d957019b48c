/*
 * One agbench run: the scenario's connections and channels, the phases
 * (connect, warm-up, measure, drain), publishing at a rate or saturating
 * within a window, and the counters the report is made of.
 *
 * Phases: every connection is opened (at most `concurrency` at a time),
 * handshaken and subscribed; then traffic runs for `warmup` seconds
 * unmeasured and `duration` seconds measured; then publishing stops and the
 * run waits up to `drain` seconds for what is still in flight, so that lost
 * messages are those that never came.
 */
#ifndef AG_AGBENCH_RUN_H
#define AG_AGBENCH_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tools/agbench_hist.h"
#include "tools/agbench_proc.h"

#define AGBENCH_MAX_PORTS 64
#define AGBENCH_MAX_PIDS  256

enum agbench_scenario {
	AGBENCH_IDLE,     /* connections only */
	AGBENCH_FANOUT,   /* publishers and subscribers on one channel */
	AGBENCH_CHANNELS, /* every client on its own channel, publishing */
	AGBENCH_STORM,    /* connect, handshake, reset, again */
	AGBENCH_CLUSTER,  /* fan-out, publishers on other ports (workers) */
};

struct agbench_opts {
	enum agbench_scenario scenario;
	const char *host; /* the server's IPv4 address */
	const char *path;
	uint16_t ports[AGBENCH_MAX_PORTS]; /* subscribers and clients */
	size_t nports;
	uint16_t pub_ports[AGBENCH_MAX_PORTS]; /* publishers; none: ports */
	size_t npub_ports;
	unsigned connections; /* clients, subscribers, or storm's in flight */
	unsigned publishers;  /* per channel (fan-out, cluster) */
	double rate;          /* publishes per second in all; 0: saturate */
	unsigned window;      /* messages in flight per channel, saturating */
	unsigned size;        /* payload bytes (about) */
	double duration;
	double warmup;
	double drain;
	double setup_timeout;
	unsigned concurrency;  /* connections being set up at once */
	unsigned sources;      /* source addresses 127.0.0.1 ... */
	unsigned source_first; /* ... from 127.0.0.1 + source_first */
	const char *jwt_key;   /* HS256 secret: a token in every handshake */
	pid_t pids[AGBENCH_MAX_PIDS];
	size_t npids;
	unsigned procs; /* idle: processes that share the connections */
	/* A child of agbench_multi: when its connections are set up it writes
	 * a struct agbench_ready to ready_fd, then holds them until hold_fd
	 * reads end-of-file. -1 for a run on its own. */
	int ready_fd;
	int hold_fd;
};

/* What the run counted; the report takes the difference of two. */
struct agbench_counts {
	uint64_t opened;      /* WebSocket upgrades that succeeded */
	uint64_t handshakes;  /* #handshake answered without error */
	uint64_t auth_failed; /* ... but not authenticated with a token */
	uint64_t subscribed;
	uint64_t published;
	uint64_t delivered;
	uint64_t duplicated;
	uint64_t gaps;      /* messages skipped in a sequence */
	uint64_t misrouted; /* a delivery for another channel, or garbled */
	uint64_t throttled; /* publishes not sent: window full at that rate */
	uint64_t err_handshake;
	uint64_t err_subscribe;
	uint64_t err_end[8]; /* by enum agbench_conn_end */
	uint64_t last_close_code;
};

struct agbench_result {
	struct agbench_counts setup; /* at the end of the setup */
	struct agbench_counts start; /* at the start of the measurement */
	struct agbench_counts end;   /* at its end */
	struct agbench_counts final; /* after the drain */
	uint64_t lost;               /* gaps + what never came */
	unsigned ready;              /* connections ready when measuring */
	double setup_s;
	double measured_s;
	double drain_s;
	struct agbench_proc_sample before; /* before connecting */
	struct agbench_proc_sample p0; /* at the start of the measurement */
	struct agbench_proc_sample p1; /* at its end */
	double client_cpu_s;           /* agbench's, while measuring */
	uint64_t pings;
	struct agbench_hist latency;   /* deliveries, measured */
	struct agbench_hist handshake; /* connect to handshake answer */
};

/* What a child of agbench_multi reports once set up. */
struct agbench_ready {
	unsigned ready;
	double setup_s;
	struct agbench_counts counts;
	struct agbench_hist handshake;
};

/*
 * Runs the scenario of o (borrowed) to the end and fills *res. Returns 0,
 * or -1 with a message on stderr when it could not start.
 */
int agbench_run(const struct agbench_opts *o, struct agbench_result *res);

#endif
