#include "cluster.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/agconf.h"
#include "common/envelope.h"
#include "common/hash.h"
#include "common/hrw.h"
#include "common/link.h"
#include "common/logger.h"
#include "common/mem.h"
#include "worker/chidx.h"
#include "worker/server.h"
#include "worker/session.h"

const char *
cluster_unreachable(const struct cluster *cl)
{
	for (size_t i = 0; i < cl->n; i++) {
		if (!link_is_up(cl->brokers[i].link)) {
			return cl->brokers[i].addr;
		}
	}
	return NULL;
}

static struct cluster_broker *
owner(struct cluster *cl, const char *name, size_t n)
{
	size_t i = 0;

	hrw_owner(cl->ids, cl->n, name, n, &i);
	return &cl->brokers[i];
}

static struct envelope_span
espan(const char *p, size_t n)
{
	struct envelope_span s = { p, n };

	return s;
}

static void
put_channel(
    struct link *l, enum envelope_type type, const char *name, size_t n)
{
	struct envelope env;

	memset(&env, 0, sizeof(env));
	env.type = type;
	env.channel = espan(name, n);
	link_put_control(l, &env);
}

/* A SUB for ch, remembered until the broker answers it. */
static void
put_sub(struct cluster_broker *b, const struct chidx_chan *ch)
{
	put_channel(b->link, ENVELOPE_SUB, ch->name, ch->name_len);
	subq_push(&b->sent, ch->hash, ch->serial);
}

/* The channel index's hooks: the owner learns of a channel when this
 * worker gets its first local subscriber and loses its last one. Sent
 * whether the link is up or not: a resync follows every reconnect. */
static void
on_first(void *arg, const struct chidx_chan *ch)
{
	struct cluster *cl = arg;

	put_sub(owner(cl, ch->name, ch->name_len), ch);
}

static void
on_last(void *arg, const struct chidx_chan *ch)
{
	struct cluster *cl = arg;

	put_channel(owner(cl, ch->name, ch->name_len)->link, ENVELOPE_UNSUB,
	    ch->name, ch->name_len);
}

int
cluster_publish(
    struct cluster *cl, const char *name, size_t n, struct scp_span data)
{
	struct cluster_broker *b = owner(cl, name, n);
	struct envelope env;

	if (!link_is_up(b->link)) {
		cl->stats.refused++;
		return -1;
	}
	memset(&env, 0, sizeof(env));
	env.type = ENVELOPE_PUB;
	env.channel = espan(name, n);
	env.payload = espan(data.p, data.n);
	if (link_put(b->link, &env) != 0) {
		cl->stats.refused++;
		return -1;
	}
	cl->stats.publishes++;
	return 0;
}

struct resync {
	struct cluster *cl;
	struct cluster_broker *b;
};

static void
resync_one(void *arg, const struct chidx_chan *ch)
{
	struct resync *r = arg;

	if (owner(r->cl, ch->name, ch->name_len) == r->b) {
		put_sub(r->b, ch);
	}
}

/* The broker may have restarted and forgotten everything, or missed
 * messages lost with a dead pipe: tell it the whole truth again. */
static void
on_up(struct link *l, void *arg)
{
	struct cluster_broker *b = arg;
	struct resync r = { b->cl, b };
	struct envelope env;

	memset(&env, 0, sizeof(env));
	env.type = ENVELOPE_HELLO;
	env.epoch = b->cl->epoch;
	env.pid = (uint32_t) getpid();
	link_put_control(l, &env);
	/* SUBs sent before are answered on the old pipe or never */
	subq_clear(&b->sent);
	chidx_foreach(&b->cl->srv->channels, resync_one, &r);
	env.type = ENVELOPE_RESYNC_DONE;
	link_put_control(l, &env);
	b->cl->stats.resyncs++;
	logger_info(
	    "broker %s: connected; subscriptions resynchronised", b->addr);
}

static void
on_down(struct link *l, void *arg)
{
	struct cluster_broker *b = arg;

	logger_warn("broker %s: unreachable; publishes to its channels are "
	            "refused until it is back",
	    b->addr);
}

/* The broker has the SUB this answers: the channel is confirmed if that
 * SUB was sent for the channel as it is now, not for an earlier one that
 * was unsubscribed since (the answer to the latest SUB is still coming). */
static void
on_subscribed(struct cluster_broker *b, const char *name, size_t n)
{
	struct server *s = b->cl->srv;
	uint64_t serial = subq_take(&b->sent, hash_bytes(name, n));
	struct chidx_chan *ch = chidx_find(&s->channels, name, n);

	if (ch != NULL && serial != 0 && ch->serial == serial) {
		sess_channel_confirmed(s, ch);
	}
}

static void
on_envelope(struct link *l, const struct envelope *env, void *arg)
{
	struct cluster_broker *b = arg;
	struct scp_span data = { env->payload.p, env->payload.n };

	if (env->type == ENVELOPE_SUBSCRIBED) {
		on_subscribed(b, env->channel.p, env->channel.n);
		return;
	}
	if (env->type != ENVELOPE_DELIVER) {
		return;
	}
	b->cl->stats.deliveries++;
	/* A publish without data travels as an empty payload: no JSON value
	 * is empty. */
	if (data.n == 0) {
		data.p = NULL;
	}
	sess_publish_local(b->cl->srv, env->channel.p, env->channel.n, data);
}

static const struct link_callbacks cluster_link_cb = {
	.on_envelope = on_envelope,
	.on_up = on_up,
	.on_down = on_down,
};

static int
open_brokers(struct cluster *cl, const struct agconf_addr *addrs)
{
	const struct agconf *conf = cl->srv->conf;
	char url[320];

	for (size_t i = 0; i < cl->n; i++) {
		struct cluster_broker *b = &cl->brokers[i];

		b->cl = cl;
		snprintf(b->addr, sizeof(b->addr), "%.255s:%d", addrs[i].host,
		    addrs[i].port);
		b->node_id = hrw_node_id(b->addr, strlen(b->addr));
		cl->ids[i] = b->node_id;
		snprintf(url, sizeof(url), "tcp://%.255s:%lld", addrs[i].host,
		    addrs[i].port + conf->worker_id);
		b->link = link_open(cl->srv->base, url, 0,
		    (uint32_t) conf->worker_id, &cluster_link_cb, b);
		if (b->link == NULL) {
			return -1;
		}
	}
	return 0;
}

int
cluster_init(struct cluster *cl, struct server *s)
{
	static struct agconf_addr addrs[AGCONF_MAX_BROKERS];
	const struct agconf *conf = s->conf;
	int n = agconf_parse_addresses(
	    conf->broker_addresses, addrs, AGCONF_MAX_BROKERS);

	memset(cl, 0, sizeof(*cl));
	cl->srv = s;
	if (n <= 0) {
		return 0;
	}
	if (conf->worker_id >= conf->workers) {
		logger_error("worker_id %lld must be below workers (%lld)",
		    conf->worker_id, conf->workers);
		return -1;
	}
	if (RAND_bytes((unsigned char *) &cl->epoch, sizeof(cl->epoch)) != 1) {
		cl->epoch = (uint64_t) getpid();
	}
	cl->n = (size_t) n;
	cl->brokers = mem_calloc(cl->n, sizeof(*cl->brokers));
	cl->ids = mem_calloc(cl->n, sizeof(*cl->ids));
	s->channels.on_first = on_first;
	s->channels.on_last = on_last;
	s->channels.hook_arg = cl;
	return open_brokers(cl, addrs);
}

void
cluster_fini(struct cluster *cl)
{
	for (size_t i = 0; i < cl->n; i++) {
		link_close(cl->brokers[i].link);
		subq_fini(&cl->brokers[i].sent);
	}
	mem_free(cl->brokers);
	mem_free(cl->ids);
	memset(cl, 0, sizeof(*cl));
}
