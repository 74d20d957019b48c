#include "broker.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/link.h"
#include "common/logger.h"
#include "common/mem.h"

/* Forwards a publish to every worker with a subscriber, and to no other:
 * the broker's whole reason to exist. */
static void
on_pub(struct broker *b, const struct envelope *env)
{
	const struct chtab_chan *c;
	struct envelope out = *env;

	b->stats.publishes++;
	c = chtab_find(&b->tab, env->channel.p, env->channel.n);
	if (c == NULL) {
		b->stats.unwanted++;
		return;
	}
	out.type = ENVELOPE_DELIVER;
	out.has_tag = 0;
	for (uint32_t w = 0; w < b->nworkers; w++) {
		struct link *l = b->slots[w].link;

		if (!chtab_has(&b->tab, c, w)) {
			continue;
		}
		/* A worker that is down resubscribes when it is back; queuing
		 * for it meanwhile would only fill memory. */
		if (!link_is_up(l)) {
			b->stats.skipped++;
			continue;
		}
		if (link_put(l, &out) == 0) {
			b->stats.deliveries++;
		}
	}
}

static void
on_envelope(struct link *l, const struct envelope *env, void *arg)
{
	struct broker_slot *slot = arg;
	struct broker *b = slot->b;
	struct envelope confirmed;

	memset(&confirmed, 0, sizeof(confirmed));
	switch (env->type) {
	case ENVELOPE_HELLO:
		/* A worker (re)starting its resync: forget what it had. */
		b->stats.hellos++;
		chtab_remove_worker(&b->tab, slot->worker);
		logger_info("worker %u: resync (epoch %llu, pid %u)",
		    slot->worker, (unsigned long long) env->epoch, env->pid);
		break;
	case ENVELOPE_SUB:
		chtab_add(
		    &b->tab, env->channel.p, env->channel.n, slot->worker);
		/* Publishes reaching the broker from now on reach the worker:
		 * it may answer its clients' subscribes. */
		confirmed.type = ENVELOPE_SUBSCRIBED;
		confirmed.channel = env->channel;
		link_put_control(l, &confirmed);
		break;
	case ENVELOPE_UNSUB:
		chtab_remove(
		    &b->tab, env->channel.p, env->channel.n, slot->worker);
		break;
	case ENVELOPE_PUB:
		on_pub(b, env);
		break;
	default:
		break;
	}
}

static void
on_up(struct link *l, void *arg)
{
	struct broker_slot *slot = arg;

	logger_info("worker %u: connected on %s", slot->worker, link_url(l));
}

static void
on_down(struct link *l, void *arg)
{
	struct broker_slot *slot = arg;

	logger_info("worker %u: gone from %s", slot->worker, link_url(l));
}

static const struct link_callbacks broker_link_cb = {
	.on_envelope = on_envelope,
	.on_up = on_up,
	.on_down = on_down,
};

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct broker *b = arg;

	logger_info("received signal %d: stopping", (int) sig);
	event_base_loopexit(b->base, NULL);
}

static int
find_self(struct broker *b)
{
	static struct agconf_addr addrs[AGCONF_MAX_BROKERS];
	int n = agconf_parse_addresses(
	    b->conf->broker_addresses, addrs, AGCONF_MAX_BROKERS);

	if (n <= 0) {
		logger_error(
		    "broker_addresses is empty: nothing to listen on");
		return -1;
	}
	if (b->conf->broker_id >= n) {
		logger_error("broker_id %lld is outside broker_addresses (%d "
		             "entries)",
		    b->conf->broker_id, n);
		return -1;
	}
	b->self = addrs[b->conf->broker_id];
	if (b->self.port + b->nworkers - 1 > 65535) {
		logger_error("ports %d..%u do not fit", b->self.port,
		    b->self.port + b->nworkers - 1);
		return -1;
	}
	return 0;
}

static int
open_links(struct broker *b)
{
	char url[320];

	b->slots = mem_calloc(b->nworkers, sizeof(*b->slots));
	for (uint32_t w = 0; w < b->nworkers; w++) {
		struct broker_slot *slot = &b->slots[w];

		slot->b = b;
		slot->worker = w;
		snprintf(url, sizeof(url), "tcp://%.255s:%u", b->self.host,
		    (unsigned) b->self.port + w);
		slot->link
		    = link_open(b->base, url, 1, b->id, &broker_link_cb, slot);
		if (slot->link == NULL) {
			return -1;
		}
	}
	return 0;
}

int
broker_init(struct broker *b, const struct agconf *conf)
{
	memset(b, 0, sizeof(*b));
	b->conf = conf;
	b->id = (uint32_t) conf->broker_id;
	b->nworkers = (uint32_t) conf->workers;
	b->base = event_base_new();
	/* One priority, as in the worker (server.c): the links' end-of-turn
	 * flushes must not wait for a pass with no input. */
	event_base_priority_init(b->base, 1);
	chtab_init(&b->tab, b->nworkers);
	b->sigterm = evsignal_new(b->base, SIGTERM, on_signal, b);
	b->sigint = evsignal_new(b->base, SIGINT, on_signal, b);
	event_add(b->sigterm, NULL);
	event_add(b->sigint, NULL);
	if (find_self(b) != 0 || open_links(b) != 0) {
		return -1;
	}
	return 0;
}

int
broker_run(struct broker *b)
{
	logger_info("broker %u listening on %s:%d..%u for %u workers", b->id,
	    b->self.host, b->self.port, b->self.port + b->nworkers - 1,
	    b->nworkers);
	event_base_dispatch(b->base);
	logger_info("stopped: publishes %llu, deliveries %llu, to nobody "
	            "%llu, skipped (worker down) %llu, resyncs %llu",
	    (unsigned long long) b->stats.publishes,
	    (unsigned long long) b->stats.deliveries,
	    (unsigned long long) b->stats.unwanted,
	    (unsigned long long) b->stats.skipped,
	    (unsigned long long) b->stats.hellos);
	return 0;
}

void
broker_fini(struct broker *b)
{
	if (b->slots != NULL) {
		for (uint32_t w = 0; w < b->nworkers; w++) {
			link_close(b->slots[w].link);
		}
		mem_free(b->slots);
	}
	chtab_fini(&b->tab);
	event_free(b->sigterm);
	event_free(b->sigint);
	if (b->base != NULL) {
		event_base_free(b->base);
	}
}
