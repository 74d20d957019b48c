/*
 * The ag-broker process: owns a shard of the channel space. It listens on
 * one nng pair1 link per worker, keeps channel -> workers with a local
 * subscriber, and forwards each publish only to those workers.
 */
#ifndef AG_BROKER_H
#define AG_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "broker/chtab.h"
#include "common/agconf.h"

struct link;

struct broker_stats {
	uint64_t publishes;  /* PUB envelopes received */
	uint64_t deliveries; /* DELIVER envelopes queued */
	uint64_t unwanted;   /* publishes to channels no worker wants */
	uint64_t skipped;    /* deliveries not queued: worker link down */
	uint64_t hellos;     /* workers that (re)started a resync */
};

/* One worker slot: the link it dials and what the broker needs to know. */
struct broker_slot {
	struct broker *b;
	struct link *link;
	uint32_t worker;
};

struct broker {
	struct event_base *base;
	const struct agconf *conf; /* borrowed */
	struct agconf_addr self;   /* this broker's base address */
	uint32_t id;
	uint32_t nworkers;
	struct broker_slot *slots; /* nworkers */
	struct chtab tab;
	struct event *sigterm;
	struct event *sigint;
	struct broker_stats stats;
};

/* Opens a listening link for every worker slot. Returns 0, or -1 after
 * logging why. conf is borrowed for the broker's life. */
int broker_init(struct broker *b, const struct agconf *conf);
/* Runs until SIGTERM or SIGINT. */
int broker_run(struct broker *b);
void broker_fini(struct broker *b);

#endif
