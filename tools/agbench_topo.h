/*
 * The shape of an agbench run: its connections, what each one does
 * (subscriber, publisher or both, on which channel), the channels, the
 * source addresses and the pre-signed tokens. Built once from the options;
 * the run changes only the counters in it.
 */
#ifndef AG_AGBENCH_TOPO_H
#define AG_AGBENCH_TOPO_H

#include <netinet/in.h>
#include <stdint.h>

#include "tools/agbench_conn.h"
#include "tools/agbench_run.h"

enum agbench_role {
	AGBENCH_ROLE_SUB = 1,
	AGBENCH_ROLE_PUB = 2,
};

/* The scenario's side of one connection. */
struct agbench_peer {
	uint64_t sent;   /* publisher: messages sent */
	uint64_t rcvd;   /* subscriber: deliveries and gaps accounted */
	uint64_t next;   /* subscriber of one publisher: next sequence */
	uint64_t *nexts; /* ... of several: one per publisher (owned) */
	int64_t t0;      /* when the connection was opened */
	uint32_t chan;
	uint16_t pub; /* publisher index within the channel */
	uint8_t role; /* enum agbench_role bits */
	uint8_t phase;
};

struct agbench_chan {
	char name[32];
	uint32_t nsubs; /* subscribers ready */
	uint32_t npubs;
	uint32_t *pubs;  /* connection index of each publisher (owned) */
	int64_t pending; /* deliveries expected and not yet seen */
	uint64_t sent;
	uint32_t rr; /* the publisher to start with next */
	uint8_t queued;
};

struct agbench_topo {
	struct agbench_conn *conns; /* owned, nconns */
	struct agbench_peer *peers; /* owned, nconns */
	uint32_t nconns;
	struct agbench_chan *chans; /* owned */
	uint32_t nchans;
	uint32_t *allpubs; /* every publisher's connection (owned) */
	uint32_t nallpubs;
	char **tokens; /* owned: signed JWTs, used in turn */
	uint32_t ntokens;
	struct sockaddr_in *srcs; /* owned: 127.0.0.1, 127.0.0.2, ... */
	uint32_t nsrcs;
};

/*
 * Builds t for the scenario of o (borrowed). Returns 0, or -1 with a
 * message on stderr (a token could not be signed), leaving t empty.
 */
int agbench_topo_init(struct agbench_topo *t, const struct agbench_opts *o);
/* Closes every connection and frees t. */
void agbench_topo_fini(struct agbench_topo *t);
/* Returns the server port connection i uses. */
uint16_t agbench_topo_port(
    const struct agbench_topo *t, const struct agbench_opts *o, uint32_t i);

#endif
