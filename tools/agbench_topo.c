/*
 * The shape of an agbench run (see agbench_topo.h).
 */
#include "tools/agbench_topo.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/mem.h"
#include "common/token.h"

/* Tokens are signed before the run and used in turn: signing is not what
 * is measured. */
#define TOKEN_POOL 1024

static int
is_publisher_only(const struct agbench_peer *p)
{
	return p->role == AGBENCH_ROLE_PUB;
}

static void
chan_init(struct agbench_chan *ch, const char *name, uint32_t npubs)
{
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	ch->npubs = npubs;
	ch->pubs = mem_calloc(npubs, sizeof(uint32_t));
}

static void
peer_set(struct agbench_topo *t, uint32_t i, uint8_t role, uint32_t chan,
    uint16_t pub)
{
	struct agbench_peer *p = &t->peers[i];

	p->role = role;
	p->chan = chan;
	p->pub = pub;
	if (role & AGBENCH_ROLE_PUB) {
		t->chans[chan].pubs[pub] = i;
		t->allpubs[t->nallpubs++] = i;
	}
	if ((role & AGBENCH_ROLE_SUB) && t->chans[chan].npubs > 1) {
		p->nexts = mem_calloc(t->chans[chan].npubs, sizeof(uint64_t));
	}
}

/* One channel, n subscribers, then its publishers. */
static void
topo_fanout(struct agbench_topo *t, uint32_t n, uint32_t npubs)
{
	t->nchans = 1;
	t->nconns = n + npubs;
	t->chans = mem_calloc(1, sizeof(struct agbench_chan));
	chan_init(&t->chans[0], "bench-fanout", npubs);
	t->peers = mem_calloc(t->nconns, sizeof(struct agbench_peer));
	t->allpubs = mem_calloc(npubs, sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		peer_set(t, i, AGBENCH_ROLE_SUB, 0, 0);
	}
	for (uint32_t j = 0; j < npubs; j++) {
		peer_set(t, n + j, AGBENCH_ROLE_PUB, 0, (uint16_t) j);
	}
}

/* n channels, each with one subscriber and one publisher: the same client
 * (echo), or a second one when publishers have ports of their own. */
static void
topo_channels(struct agbench_topo *t, uint32_t n, int separate)
{
	t->nchans = n;
	t->nconns = separate ? 2 * n : n;
	t->chans = mem_calloc(n, sizeof(struct agbench_chan));
	t->peers = mem_calloc(t->nconns, sizeof(struct agbench_peer));
	t->allpubs = mem_calloc(n, sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "bench-%u", i);
		chan_init(&t->chans[i], name, 1);
		if (separate) {
			peer_set(t, i, AGBENCH_ROLE_SUB, i, 0);
			peer_set(t, n + i, AGBENCH_ROLE_PUB, i, 0);
		} else {
			peer_set(
			    t, i, AGBENCH_ROLE_SUB | AGBENCH_ROLE_PUB, i, 0);
		}
	}
}

static void
topo_build(struct agbench_topo *t, const struct agbench_opts *o)
{
	switch (o->scenario) {
	case AGBENCH_FANOUT:
	case AGBENCH_CLUSTER:
		topo_fanout(t, o->connections, o->publishers);
		break;
	case AGBENCH_CHANNELS:
		topo_channels(t, o->connections, o->npub_ports > 0);
		break;
	default:
		t->nconns = o->connections;
		t->peers = mem_calloc(t->nconns, sizeof(struct agbench_peer));
		break;
	}
	t->conns = mem_calloc(t->nconns, sizeof(struct agbench_conn));
	for (uint32_t i = 0; i < t->nconns; i++) {
		t->conns[i].id = i;
		t->conns[i].fd = -1;
	}
}

static int
tokens_make(struct agbench_topo *t, const char *key)
{
	struct token_signer *s;
	char err[256];
	int64_t now_ms = (int64_t) time(NULL) * 1000;

	s = token_signer_new(
	    jws_key_secret(key, strlen(key)), JWS_HS256, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "agbench: --jwt-key: %s\n", err);
		return -1;
	}
	t->ntokens = t->nconns < TOKEN_POOL ? t->nconns : TOKEN_POOL;
	t->tokens = mem_calloc(t->ntokens, sizeof(char *));
	for (uint32_t i = 0; i < t->ntokens; i++) {
		char payload[64];
		size_t len;
		int n = snprintf(payload, sizeof(payload),
		    "{\"username\":\"bench-%u\"}", i);
		if (token_sign(s, payload, (size_t) n, now_ms, 86400,
		        &t->tokens[i], &len, err, sizeof(err))
		    != 0) {
			fprintf(stderr, "agbench: signing a token: %s\n", err);
			token_signer_free(s);
			return -1;
		}
	}
	token_signer_free(s);
	return 0;
}

static void
sources_make(struct agbench_topo *t, unsigned first, unsigned n)
{
	t->nsrcs = n > 0 ? n : 1;
	t->srcs = mem_calloc(t->nsrcs, sizeof(struct sockaddr_in));
	for (uint32_t k = 0; k < t->nsrcs; k++) {
		t->srcs[k].sin_family = AF_INET;
		t->srcs[k].sin_addr.s_addr = htonl(0x7f000001u + first + k);
	}
}

uint16_t
agbench_topo_port(
    const struct agbench_topo *t, const struct agbench_opts *o, uint32_t i)
{
	const struct agbench_peer *p = &t->peers[i];

	if (is_publisher_only(p) && o->npub_ports > 0) {
		return o->pub_ports[(p->chan + p->pub) % o->npub_ports];
	}
	return o->ports[i % o->nports];
}

void
agbench_topo_fini(struct agbench_topo *t)
{
	for (uint32_t i = 0; i < t->nconns; i++) {
		agbench_conn_close(&t->conns[i], 0);
		mem_free(t->peers[i].nexts);
	}
	for (uint32_t k = 0; k < t->nchans; k++) {
		mem_free(t->chans[k].pubs);
	}
	for (uint32_t k = 0; k < t->ntokens; k++) {
		mem_free(t->tokens[k]);
	}
	mem_free(t->tokens);
	mem_free(t->conns);
	mem_free(t->peers);
	mem_free(t->chans);
	mem_free(t->allpubs);
	mem_free(t->srcs);
	memset(t, 0, sizeof(*t));
}

int
agbench_topo_init(struct agbench_topo *t, const struct agbench_opts *o)
{
	memset(t, 0, sizeof(*t));
	topo_build(t, o);
	sources_make(t, o->source_first, o->sources);
	if (o->jwt_key != NULL && tokens_make(t, o->jwt_key) != 0) {
		agbench_topo_fini(t);
		return -1;
	}
	return 0;
}
