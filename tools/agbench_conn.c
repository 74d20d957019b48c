/*
 * agbench's client WebSocket (see agbench_conn.h).
 */
#include "tools/agbench_conn.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "tools/agbench_wire.h"

/* One read takes up to this much: with many messages waiting on a socket,
 * one system call brings them all. */
#define CONN_RBUF (1u << 20)
/* The largest frame agbench accepts; it must fit the read buffer. */
#define CONN_MAX_FRAME (CONN_RBUF / 2)

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

struct agbench_conn_stats agbench_conn_stats;

static struct {
	struct event_base *base;
	const struct agbench_conn_ops *ops;
	void *arg;
	const char *host;
	const char *path;
	uint8_t *rbuf;
	uint32_t rng;
} g;

static void conn_on_connected(evutil_socket_t fd, short what, void *arg);
static void conn_on_io(evutil_socket_t fd, short what, void *arg);

int
agbench_conn_setup(struct event_base *base, const struct agbench_conn_ops *ops,
    void *arg, const char *host, const char *path)
{
	g.base = base;
	g.ops = ops;
	g.arg = arg;
	g.host = host;
	g.path = path;
	g.rbuf = mem_alloc(CONN_RBUF);
	g.rng = (uint32_t) agbench_conn_now() | 1u;
	return 0;
}

void
agbench_conn_teardown(void)
{
	mem_free(g.rbuf);
	g.rbuf = NULL;
}

int64_t
agbench_conn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A masking key: xorshift32, not cryptographic (RFC 6455 wants keys a
 * browser's script cannot predict; a load generator has no such script). */
static uint32_t
conn_mask(void)
{
	g.rng ^= g.rng << 13;
	g.rng ^= g.rng >> 17;
	g.rng ^= g.rng << 5;
	return g.rng;
}

static void
conn_arm(struct agbench_conn *c, short what, event_callback_fn cb)
{
	if (c->events != 0) {
		event_del(&c->ev);
	}
	event_assign(&c->ev, g.base, c->fd, what, cb, c);
	event_priority_set(&c->ev, 0);
	event_add(&c->ev, NULL);
	c->events = (uint8_t) (what & (EV_READ | EV_WRITE));
}

void
agbench_conn_close(struct agbench_conn *c, int abortive)
{
	if (c->state == AGBENCH_CONN_FREE) {
		return;
	}
	if (c->events != 0) {
		event_del(&c->ev);
		c->events = 0;
	}
	if (abortive) {
		struct linger lg = { 1, 0 };
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
	mem_free(c->in);
	mem_free(c->out);
	c->in = NULL;
	c->out = NULL;
	c->in_len = c->out_len = c->out_off = 0;
	c->state = AGBENCH_CONN_FREE;
	c->gen++;
}

/* Ends c on its own and tells the scenario. */
static void
conn_end(struct agbench_conn *c, enum agbench_conn_end why, int code)
{
	agbench_conn_close(c, why == AGBENCH_END_PROTOCOL);
	g.ops->ended(g.arg, c, why, code);
}

static int
conn_socket(const struct sockaddr_in *src)
{
	int one = 1;
	int fd
	    = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		return -1;
	}
	/* choose the port at connect(), from the whole 4-tuple: bind() alone
	 * would give each source address only one port range for every
	 * destination */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *) src, sizeof(*src)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
agbench_conn_open(struct agbench_conn *c, const struct sockaddr_in *src,
    const struct sockaddr_in *dst)
{
	int fd = conn_socket(src);

	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (const struct sockaddr *) dst, sizeof(*dst)) != 0
	    && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->port = ntohs(dst->sin_port);
	c->state = AGBENCH_CONN_CONNECTING;
	c->events = 0;
	conn_arm(c, EV_WRITE, conn_on_connected);
	return 0;
}

static void
conn_on_connected(evutil_socket_t fd, short what, void *arg)
{
	struct agbench_conn *c = arg;
	char req[1024];
	int err = 0;
	socklen_t len = sizeof(err);
	size_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0
	    || err != 0) {
		conn_end(c, AGBENCH_END_CONNECT, 0);
		return;
	}
	c->state = AGBENCH_CONN_UPGRADING;
	conn_arm(c, EV_READ | EV_PERSIST, conn_on_io);
	n = agbench_wire_upgrade_request(
	    req, sizeof(req), g.host, c->port, g.path);
	agbench_conn_send(c, req, n);
}

/* Queues what write() did not take and waits until the socket drains. */
static void
conn_queue(struct agbench_conn *c, const uint8_t *p, size_t len)
{
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	c->out = mem_realloc(c->out, c->out_len + len);
	memcpy(c->out + c->out_len, p, len);
	c->out_len += (uint32_t) len;
	if (!(c->events & EV_WRITE)) {
		conn_arm(c, EV_READ | EV_WRITE | EV_PERSIST, conn_on_io);
	}
}

int
agbench_conn_send(struct agbench_conn *c, const void *p, size_t len)
{
	ssize_t n = 0;

	if (c->out_len == 0) {
		n = write(c->fd, p, len);
		agbench_conn_stats.writes++;
		if (n < 0 && errno != EAGAIN) {
			conn_end(c, AGBENCH_END_RESET, 0);
			return -1;
		}
		if (n < 0) {
			n = 0;
		}
		agbench_conn_stats.bytes_out += (uint64_t) n;
		if ((size_t) n == len) {
			return 0;
		}
	}
	conn_queue(c, (const uint8_t *) p + n, len - (size_t) n);
	return 0;
}

void
agbench_conn_frame(struct strbuf *sb, const void *p, size_t len)
{
	uint32_t mask = conn_mask();
	size_t h;

	sb_reserve(sb, len + AGBENCH_WIRE_MAX_HEADER);
	h = agbench_wire_header_encode(
	    (uint8_t *) sb->data + sb->len, 1, len, mask);
	memcpy(sb->data + sb->len + h, p, len);
	agbench_wire_mask((uint8_t *) sb->data + sb->len + h, len, mask);
	sb->len += h + len;
	sb->data[sb->len] = '\0';
}

int
agbench_conn_send_text(struct agbench_conn *c, const void *p, size_t len)
{
	uint8_t small[256 + AGBENCH_WIRE_MAX_HEADER];
	struct strbuf sb;
	int r;

	if (len <= 256) {
		size_t n
		    = agbench_wire_frame_encode(small, 1, p, len, conn_mask());
		return agbench_conn_send(c, small, n);
	}
	sb_init(&sb);
	agbench_conn_frame(&sb, p, len);
	r = agbench_conn_send(c, sb.data, sb.len);
	sb_fini(&sb);
	return r;
}

static void
conn_flush(struct agbench_conn *c)
{
	ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

	agbench_conn_stats.writes++;
	if (n < 0) {
		if (errno != EAGAIN) {
			conn_end(c, AGBENCH_END_RESET, 0);
		}
		return;
	}
	agbench_conn_stats.bytes_out += (uint64_t) n;
	c->out_off += (uint32_t) n;
	if (c->out_off == c->out_len) {
		mem_free(c->out);
		c->out = NULL;
		c->out_len = c->out_off = 0;
		conn_arm(c, EV_READ | EV_PERSIST, conn_on_io);
	}
}

/* Answers a control ping with a pong of the same payload. */
static void
conn_control(struct agbench_conn *c, const struct agbench_wire_frame *f)
{
	uint8_t out[125 + AGBENCH_WIRE_MAX_HEADER];
	size_t n;

	if (f->opcode == 9 && f->len <= 125) {
		n = agbench_wire_frame_encode(
		    out, 10, f->payload, (size_t) f->len, conn_mask());
		agbench_conn_send(c, out, n);
	}
}

/* Handles one frame. Returns 0, or -1 if c ended or was closed. */
static int
conn_frame(
    struct agbench_conn *c, const struct agbench_wire_frame *f, int64_t now)
{
	uint32_t gen = c->gen;

	if (f->opcode == 8) {
		int code
		    = f->len >= 2 ? (f->payload[0] << 8) | f->payload[1] : 0;
		conn_end(c, AGBENCH_END_CLOSE, code);
		return -1;
	}
	if (!f->fin || f->opcode == 0) {
		/* neither server fragments its messages */
		conn_end(c, AGBENCH_END_PROTOCOL, 0);
		return -1;
	}
	if (f->opcode == 1 && f->len == 0) {
		agbench_conn_stats.pings++;
		agbench_conn_send_text(c, "", 0);
	} else if (f->opcode == 1) {
		g.ops->message(
		    g.arg, c, (const char *) f->payload, (size_t) f->len, now);
	} else {
		conn_control(c, f);
	}
	return c->gen == gen ? 0 : -1;
}

/* Consumes the upgrade response and frames in buf. Returns the bytes
 * consumed, or -1 if c ended or was closed. */
static long
conn_consume(struct agbench_conn *c, uint8_t *buf, size_t len, int64_t now)
{
	struct agbench_wire_frame f;
	size_t off = 0;
	uint32_t gen = c->gen;
	int r;

	if (c->state == AGBENCH_CONN_UPGRADING) {
		r = agbench_wire_upgrade_response((char *) buf, len, &off);
		if (r == AGBENCH_WIRE_MORE) {
			return 0;
		}
		if (r == AGBENCH_WIRE_FAIL) {
			conn_end(c, AGBENCH_END_UPGRADE, 0);
			return -1;
		}
		c->state = AGBENCH_CONN_OPEN;
		g.ops->open(g.arg, c, now);
		if (c->gen != gen) {
			return -1;
		}
	}
	while ((r = agbench_wire_frame_decode(
	            buf + off, len - off, CONN_MAX_FRAME, &f))
	    == AGBENCH_WIRE_OK) {
		if (conn_frame(c, &f, now) != 0) {
			return -1;
		}
		off += f.total;
	}
	if (r == AGBENCH_WIRE_FAIL) {
		conn_end(c, AGBENCH_END_PROTOCOL, 0);
		return -1;
	}
	return (long) off;
}

/* Keeps the unconsumed tail of a read for the next one. */
static void
conn_keep(struct agbench_conn *c, const uint8_t *p, size_t n)
{
	mem_free(c->in);
	c->in = NULL;
	c->in_len = (uint32_t) n;
	if (n > 0) {
		c->in = mem_alloc(n);
		memcpy(c->in, p, n);
	}
}

static void
conn_read(struct agbench_conn *c)
{
	size_t have = c->in_len;
	ssize_t n;
	long used;

	if (have > 0) {
		memcpy(g.rbuf, c->in, have);
	}
	n = read(c->fd, g.rbuf + have, CONN_RBUF - have);
	agbench_conn_stats.reads++;
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN) {
			return;
		}
		conn_end(c, n == 0 ? AGBENCH_END_EOF : AGBENCH_END_RESET, 0);
		return;
	}
	agbench_conn_stats.bytes_in += (uint64_t) n;
	used = conn_consume(c, g.rbuf, have + (size_t) n, agbench_conn_now());
	if (used >= 0) {
		conn_keep(c, g.rbuf + used, have + (size_t) n - (size_t) used);
	}
}

static void
conn_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct agbench_conn *c = arg;
	uint32_t gen = c->gen;

	if (what & EV_WRITE) {
		conn_flush(c);
		if (c->gen != gen) {
			return;
		}
	}
	if (what & EV_READ) {
		conn_read(c);
	}
}
