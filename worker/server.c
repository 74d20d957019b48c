#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/listener.h>

#include "common/logger.h"
#include "common/mem.h"
#include "common/rbuf.h"
#include "worker/conn.h"
#include "worker/http.h"
#include "worker/mw.h"
#include "worker/session.h"

#define SERVER_TICK_MS         25
#define SERVER_WHEEL_SLOTS     2048
#define SERVER_SCRATCH         (64 * 1024)
#define SERVER_ACCEPT_PAUSE_MS 100
#define SERVER_TRIM_BYTES      (256 * 1024)
#define SERVER_POOL_TRIM_MS    1000

uint64_t
server_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

const char *
server_unready(struct server *s)
{
	static char why[400];
	const char *broker;

	if (s->stopping) {
		return "Not ready: draining";
	}
	broker = cluster_unreachable(&s->cluster);
	if (broker != NULL) {
		snprintf(why, sizeof(why), "Not ready: broker %s unreachable",
		    broker);
		return why;
	}
	return NULL;
}

void
server_mark_dirty(struct server *s, struct conn *c)
{
	if (c->dirty || c->state == CONN_DEAD) {
		return;
	}
	c->dirty = 1;
	c->next_dirty = s->dirty;
	s->dirty = c;
	event_active(s->flush, 0, 0);
}

void
server_mark_dead(struct server *s, struct conn *c)
{
	if (c->state == CONN_DEAD) {
		return;
	}
	c->state = CONN_DEAD;
	event_del(&c->ev);
	twheel_cancel(&s->wheel, &c->timer);
	c->next_dead = s->dead;
	s->dead = c;
	event_active(s->flush, 0, 0);
}

void
server_wake(struct server *s)
{
	event_active(s->flush, 0, 0);
}

void
server_mark_resume(struct server *s, struct conn *c)
{
	if (c->resuming || c->state == CONN_DEAD) {
		return;
	}
	c->resuming = 1;
	c->next_resume = s->resume;
	s->resume = c;
	event_active(s->flush, 0, 0);
}

/* Takes c off the resume list before it is freed. */
static void
unlist_resume(struct server *s, struct conn *c)
{
	struct conn **pp = &s->resume;

	while (*pp != NULL && *pp != c) {
		pp = &(*pp)->next_resume;
	}
	if (*pp != NULL) {
		*pp = c->next_resume;
	}
	c->resuming = 0;
}

/* Goes on with the input of connections whose pending action settled:
 * here, not inside the plugin call that settled it. */
static void
resume_all(struct server *s)
{
	while (s->resume != NULL) {
		struct conn *c = s->resume;

		s->resume = c->next_resume;
		c->resuming = 0;
		if (c->state == CONN_WS) {
			sess_resume(c);
		} else if (c->state == CONN_HTTP) {
			conn_resume(c);
		}
	}
}

static void
unlink_conn(struct server *s, struct conn *c)
{
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		s->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	s->nconns--;
}

static void
reap(struct server *s)
{
	while (s->dead != NULL) {
		struct conn *c = s->dead;

		s->dead = c->next_dead;
		sess_on_close(c);
		if (c->resuming) {
			unlist_resume(s, c);
		}
		unlink_conn(s, c);
		s->stats.closed++;
		conn_free(c);
	}
}

static void
trim_sb(struct strbuf *sb)
{
	if (sb->cap > SERVER_TRIM_BYTES) {
		sb_fini(sb);
	}
}

/* Shared buffers grow to the largest message seen; give the memory back
 * after it instead of keeping the peak for the process's life. */
static void
trim(struct server *s)
{
	scp_decoder_trim(&s->dec);
	trim_sb(&s->out);
	trim_sb(&s->err);
	if (s->name_cap > SERVER_TRIM_BYTES) {
		mem_free(s->name);
		s->name = NULL;
		s->name_cap = 0;
	}
}

/* Writes the output queued on every socket since the last flush. */
static void
flush_dirty(struct server *s)
{
	while (s->dirty != NULL) {
		struct conn *c = s->dirty;

		s->dirty = c->next_dirty;
		c->dirty = 0;
		if (c->state != CONN_DEAD) {
			conn_flush(c);
		}
	}
}

void
server_relieve(struct server *s)
{
	if (rbuf_pool_pressed()) {
		flush_dirty(s);
	}
}

/* Runs once per loop turn after the I/O callbacks (queued behind them):
 * writes the output they queued, coalesced, then frees closed sockets. */
static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	s->now = server_now();
	do {
		resume_all(s);
	} while (mw_run_ready(&s->plugins) || s->resume != NULL);
	flush_dirty(s);
	reap(s);
	trim(s);
	if (s->stopping && s->nconns == 0) {
		event_base_loopexit(s->base, NULL);
	}
}

static void
on_wheel(struct twheel_node *node, void *arg)
{
	struct conn *c
	    = (struct conn *) ((char *) node - offsetof(struct conn, timer));

	conn_on_timer(c, *(uint64_t *) arg);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	uint64_t now = server_now();

	twheel_advance(&s->wheel, now, on_wheel, &now);
	if (now - s->pool_trimmed >= SERVER_POOL_TRIM_MS) {
		rbuf_pool_trim();
		s->pool_trimmed = now;
	}
}

/* Writes host ":" port to out (n bytes), or "" if it does not fit; no
 * printf: this runs for every connection. */
static void
put_host_port(char *out, size_t n, const char *host, unsigned port)
{
	size_t len = strlen(host), nd = 0;
	char digits[8];

	do {
		digits[nd++] = (char) ('0' + port % 10);
		port /= 10;
	} while (port > 0);
	if (len + 1 + nd >= n) {
		out[0] = '\0';
		return;
	}
	memcpy(out, host, len);
	out[len++] = ':';
	while (nd > 0) {
		out[len++] = digits[--nd];
	}
	out[len] = '\0';
}

static void
format_peer(const struct sockaddr *sa, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *) sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *) sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	put_host_port(out, n, host, port);
}

/* At max_connections the newcomer gets a 503 it can read, not a reset. */
static void
refuse(struct server *s, int fd)
{
	char out[256];
	size_t n = http_response(
	    out, sizeof(out), 503, NULL, "Too many connections");
	ssize_t w = write(fd, out, n);

	(void) w;
	s->stats.rejected_full++;
	close(fd);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	struct server *s = arg;
	long long max = s->conf->max_connections;
	char peer[64];
	struct conn *c;

	if (s->stopping || (max > 0 && s->nconns >= (size_t) max)) {
		refuse(s, fd);
		return;
	}
	format_peer(sa, peer, sizeof(peer));
	c = conn_open(s, fd, peer);
	c->next = s->conns;
	if (s->conns != NULL) {
		s->conns->prev = c;
	}
	s->conns = c;
	s->nconns++;
	s->stats.accepted++;
}

/* Out of file descriptors: accept() fails at once and the listening socket
 * stays readable, so pause accepting for a moment instead of spinning. */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct server *s = arg;
	struct timeval tv = { 0, SERVER_ACCEPT_PAUSE_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();

	s->stats.accept_errors++;
	logger_warn("accept failed: %s; pausing for %d ms (%zu connections)",
	    evutil_socket_error_to_string(err), SERVER_ACCEPT_PAUSE_MS,
	    s->nconns);
	evconnlistener_disable(l);
	evtimer_add(s->accept_timer, &tv);
}

static void
on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	if (!s->stopping) {
		evconnlistener_enable(s->listener);
	}
}

static void
begin_drain(struct server *s)
{
	struct timeval tv = { s->conf->drain_timeout / 1000,
		(s->conf->drain_timeout % 1000) * 1000 };

	if (s->stopping) {
		return;
	}
	s->stopping = 1;
	logger_info("stopping: closing %zu connections", s->nconns);
	evconnlistener_disable(s->listener);
	for (struct conn *c = s->conns; c != NULL; c = c->next) {
		if (c->state == CONN_WS) {
			conn_close(
			    c, WS_CLOSE_GOING_AWAY, "Server is shutting down");
		} else if (c->state == CONN_HTTP) {
			server_mark_dead(s, c);
		}
	}
	evtimer_add(s->drain_timer, &tv);
	event_active(s->flush, 0, 0);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	logger_info("received signal %d", (int) sig);
	begin_drain(arg);
}

static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	logger_warn("drain timed out with %zu connections left", s->nconns);
	event_base_loopexit(s->base, NULL);
}

static int
bind_listener(struct server *s)
{
	const struct agconf *conf = s->conf;
	const char *host = conf->host;
	unsigned flags = LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT
	    | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
	struct addrinfo hints, *ai = NULL;
	char port[16];
	int rv, one = 1;

	if (host[0] == '\0' || strcmp(host, "*") == 0) {
		host = NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%lld", conf->port);
	rv = getaddrinfo(host, port, &hints, &ai);
	if (rv != 0) {
		logger_error("cannot resolve host \"%s\": %s", conf->host,
		    gai_strerror(rv));
		return -1;
	}
	s->listener = evconnlistener_new_bind(s->base, on_accept, s, flags,
	    (int) conf->backlog, ai->ai_addr, (int) ai->ai_addrlen);
	freeaddrinfo(ai);
	if (s->listener == NULL) {
		logger_error("cannot listen on %s:%lld: %s", host ? host : "*",
		    conf->port, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(s->listener, on_accept_error);
	/* Accepted sockets inherit TCP_NODELAY from the listener (Linux): one
	 * system call less per connection. */
	setsockopt(evconnlistener_get_fd(s->listener), IPPROTO_TCP,
	    TCP_NODELAY, &one, sizeof(one));
	return 0;
}

static int
tokens_init(struct server *s)
{
	const char *option = NULL;
	char err[256];

	if (tokenconf_init(&s->tokens, s->conf, err, sizeof(err), &option)
	    != 0) {
		logger_error("auth: %s%s%s", option ? option : "",
		    option ? ": " : "", err);
		return -1;
	}
	if (s->tokens.random_key) {
		logger_info("auth: no auth_key and no key pair: tokens are "
		            "signed with a random key of this process");
	}
	return 0;
}

int
server_init(struct server *s, const struct agconf *conf)
{
	struct timeval tick = { 0, SERVER_TICK_MS * 1000 };
	const char *ping = conf->protocol_version == 1 ? "#1" : "";

	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->base = event_base_new();
	/* One priority. libevent runs a lower priority only in a pass where
	 * no higher one ran, so a flush at a lower priority than the sockets
	 * waited as long as any socket had input (a sustained load). At the
	 * same priority the flush, activated by the first socket that
	 * queues output, runs after every socket that pass reported. */
	event_base_priority_init(s->base, 1);
	s->scratch_size = SERVER_SCRATCH;
	s->scratch = mem_alloc(s->scratch_size);
	twheel_init(
	    &s->wheel, SERVER_WHEEL_SLOTS, SERVER_TICK_MS, server_now());
	chidx_init(&s->channels);
	scp_decoder_init(&s->dec);
	scp_decoder_init(&s->claims_dec);
	sb_init(&s->out);
	sb_init(&s->err);
	s->ping_frame = conn_text_frame(ping, strlen(ping));
	s->flush = event_new(s->base, -1, 0, on_flush, s);
	s->tick = event_new(s->base, -1, EV_PERSIST, on_tick, s);
	event_add(s->tick, &tick);
	s->sigterm = evsignal_new(s->base, SIGTERM, on_signal, s);
	s->sigint = evsignal_new(s->base, SIGINT, on_signal, s);
	event_add(s->sigterm, NULL);
	event_add(s->sigint, NULL);
	s->drain_timer = evtimer_new(s->base, on_drain_timeout, s);
	s->accept_timer = evtimer_new(s->base, on_accept_resume, s);
	if (tokens_init(s) != 0 || plugin_init(&s->plugins, s) != 0
	    || bind_listener(s) != 0 || cluster_init(&s->cluster, s) != 0) {
		return -1;
	}
	return 0;
}

int
server_run(struct server *s)
{
	logger_info("listening on %s:%lld%s (protocol v%lld)",
	    s->conf->host[0] ? s->conf->host : "*", s->conf->port,
	    s->conf->path, s->conf->protocol_version);
	event_base_dispatch(s->base);
	logger_info("stopped: accepted %llu, publishes %llu, deliveries %llu, "
	            "slow consumers cut off %llu, WebSocket errors %llu",
	    (unsigned long long) s->stats.accepted,
	    (unsigned long long) s->stats.publishes,
	    (unsigned long long) s->stats.deliveries,
	    (unsigned long long) s->stats.slow_consumers,
	    (unsigned long long) s->stats.ws_errors);
	return 0;
}

void
server_fini(struct server *s)
{
	while (s->conns != NULL) {
		struct conn *c = s->conns;

		sess_on_close(c);
		if (c->resuming) {
			unlist_resume(s, c);
		}
		unlink_conn(s, c);
		conn_free(c);
	}
	if (s->listener != NULL) {
		evconnlistener_free(s->listener);
	}
	cluster_fini(&s->cluster);
	plugin_fini(&s->plugins);
	tokenconf_fini(&s->tokens);
	scp_decoder_fini(&s->claims_dec);
	event_free(s->flush);
	event_free(s->tick);
	event_free(s->sigterm);
	event_free(s->sigint);
	event_free(s->drain_timer);
	event_free(s->accept_timer);
	event_base_free(s->base);
	twheel_fini(&s->wheel);
	chidx_fini(&s->channels);
	scp_decoder_fini(&s->dec);
	sb_fini(&s->out);
	sb_fini(&s->err);
	rbuf_unref(s->ping_frame);
	rbuf_pool_fini();
	mem_free(s->name);
	mem_free(s->scratch);
}
