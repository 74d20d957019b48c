/*
 * The worker's side of the cluster: one link to every broker, the
 * rendezvous choice of a channel's owner, and the traffic on the links:
 * SUB/UNSUB when a channel gets its first or loses its last local
 * subscriber, PUB for a client's publish, DELIVER back from the owner, and a
 * full resynchronisation (HELLO, SUB for every channel the broker owns,
 * RESYNC_DONE) each time a link comes up.
 */
#ifndef AG_CLUSTER_H
#define AG_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "worker/scp.h"
#include "worker/subq.h"

struct server;
struct link;

struct cluster_broker {
	struct cluster *cl;
	struct link *link;
	uint64_t node_id; /* rendezvous id from its address */
	char addr[300];   /* "host:port" as configured */
	struct subq sent; /* SUBs not answered yet */
};

struct cluster_stats {
	uint64_t publishes;  /* PUB envelopes sent */
	uint64_t refused;    /* publishes refused: owner unreachable */
	uint64_t deliveries; /* DELIVER envelopes received */
	uint64_t resyncs;    /* full resynchronisations sent */
};

struct cluster {
	struct server *srv;
	size_t n;
	struct cluster_broker *brokers;
	uint64_t *ids; /* node ids, in broker order, for hrw_owner */
	uint64_t epoch;
	struct cluster_stats stats;
};

/*
 * Dials every broker of conf->broker_addresses (broker i on its port +
 * worker_id) and hooks the channel index. Returns 0 (also when the list is
 * empty: the worker then runs alone), or -1 after logging why.
 */
int cluster_init(struct cluster *cl, struct server *s);
void cluster_fini(struct cluster *cl);

/* Returns the address of a broker whose link is down, or NULL when all are
 * up (or there are none). */
const char *cluster_unreachable(const struct cluster *cl);

/* Returns 1 when channels are routed through brokers (inline: every
 * publish asks). */
static inline int
cluster_enabled(const struct cluster *cl)
{
	return cl->n > 0;
}

/*
 * Sends a client's publish to the channel's owner. Returns 0 when it is
 * handed to the link, or -1 when the owner is unreachable (nothing sent).
 */
int cluster_publish(
    struct cluster *cl, const char *name, size_t n, struct scp_span data);

#endif
