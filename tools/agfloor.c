/*
 * agfloor: what this host's kernel charges for the system calls of
 * agbench's scenarios, with no server code in the way (docs/benchmarks.md,
 * "The kernel's floor"). This process plays the server and a forked child
 * the clients, over loopback, each pinned to its CPU as compare.mjs pins
 * ag-worker and agbench:
 *
 *   send   the server sends one --size message to each of --pairs sockets
 *          in turn, --rounds times (a fan-out at window 1); the child reads
 *   batch  the same with --batch messages in each send (window 16)
 *   echo   each client socket sends --batch messages at a time and waits
 *          for them to come back; the server reads and writes back (the
 *          many-channels echo)
 *   storm  the client connects, sends a request, reads the answer, sends
 *          a message, reads its answer and resets, --inflight at a time;
 *          the server accepts, answers twice and closes: the system calls
 *          of a handshake in agbench's storm
 *
 * It prints this process's CPU per unit and the best figure a server could
 * reach on this host if its own code cost nothing, as one JSON line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "tools/agbench_proc.h"

#define FLOOR_EVENTS 1024
#define FLOOR_BUF    (1 << 20)
/* The most bytes of one batch (--size x --batch). */
#define FLOOR_BATCH_MAX (64 * 1024)
/* The storm's messages: about the sizes of agbench's upgrade request,
 * the 101, a #handshake with a JWT and its answer. */
#define STORM_REQ  200
#define STORM_ANS1 130
#define STORM_MSG  300
#define STORM_ANS2 150
/* Socket states are kept by descriptor, below this. */
#define FLOOR_MAX_FD (1 << 16)
/* The epoll tags of the listener and of the control socket. */
#define TAG_LISTENER UINT64_MAX
#define TAG_CTL      (UINT64_MAX - 1)

struct floor_opts {
	int pairs, size, batch, rounds, storm, inflight;
	int server_cpu, client_cpu;
};

struct floor_result {
	double send_us, batch_us, echo_us, echo_bytes, storm_us;
};

/* Everything both processes share, set up before the fork. */
struct floor {
	struct floor_opts o;
	struct sockaddr_in addr;
	int lfd, ctl, ep;
	int *srv, *cli;
	char *buf;
};

static const char usage_text[]
    = "Usage: agfloor [--name=value]...\n"
      "  --pairs=N        connected sockets (1000)\n"
      "  --size=B         bytes of one message (120)\n"
      "  --batch=K        messages in a batched send and an echo (16)\n"
      "  --rounds=R       sends to each socket, echoes of each (20)\n"
      "  --storm=C        connections of the storm (20000)\n"
      "  --inflight=P     storm connections at a time (100)\n"
      "  --server-cpu=N   CPU of this process, -1: any (0)\n"
      "  --client-cpu=N   CPU of the clients' process, -1: any (1)\n";

static void
die(const char *what)
{
	fprintf(stderr, "agfloor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static void
pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0) {
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		die("sched_setaffinity");
	}
}

/* A descriptor for the arrays kept by descriptor. */
static int
checked_fd(int fd, const char *what)
{
	if (fd < 0) {
		die(what);
	}
	if (fd >= FLOOR_MAX_FD) {
		fprintf(stderr, "agfloor: %s: descriptor %d past %d\n", what,
		    fd, FLOOR_MAX_FD);
		exit(1);
	}
	return fd;
}

static void
set_nonblock(int fd)
{
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		die("fcntl");
	}
}

/* Sends all n bytes of p, waiting for room on a non-blocking socket. */
static void
send_all(int fd, const char *p, size_t n)
{
	struct pollfd pf = { .fd = fd, .events = POLLOUT };

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			n -= (size_t) w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			poll(&pf, 1, -1);
		} else {
			die("send");
		}
	}
}

static int
ep_new(void)
{
	int ep = epoll_create1(0);

	if (ep < 0) {
		die("epoll_create1");
	}
	return ep;
}

/* A client socket's read: what came (0 when nothing yet); the server
 * closing one is the server gone. */
static size_t
client_read(struct floor *f, int fd)
{
	ssize_t r = read(fd, f->buf, FLOOR_BUF);

	if (r == 0) {
		fprintf(stderr, "agfloor: the server closed a socket\n");
		exit(1);
	}
	if (r < 0 && errno != EAGAIN && errno != EINTR) {
		die("read");
	}
	return r > 0 ? (size_t) r : 0;
}

static void
ep_add(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		die("epoll_ctl");
	}
}

static int
open_client(const struct floor *f)
{
	int fd = checked_fd(socket(AF_INET, SOCK_STREAM, 0), "socket"),
	    one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *) &f->addr, sizeof(f->addr))
	    != 0) {
		die("connect");
	}
	return fd;
}

static void
ctl_put(int fd, char c)
{
	if (write(fd, &c, 1) != 1) {
		die("control write");
	}
}

static char
ctl_get(int fd)
{
	char c;
	ssize_t r = read(fd, &c, 1);

	if (r == 0) {
		fprintf(stderr, "agfloor: the other process ended\n");
		exit(1);
	}
	if (r != 1) {
		die("control read");
	}
	return c;
}

/* The client's side of send and batch: reads until `total` bytes came. */
static void
client_drain(struct floor *f, size_t total)
{
	struct epoll_event evs[FLOOR_EVENTS];

	while (total > 0) {
		int n = epoll_wait(f->ep, evs, FLOOR_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			total -= client_read(f, f->cli[evs[i].data.u64]);
		}
	}
}

/* The client's side of echo: a batch out on every socket, the next when
 * it came back, `rounds` times. */
static void
client_echo(struct floor *f)
{
	struct epoll_event evs[FLOOR_EVENTS];
	size_t unit = (size_t) f->o.size * f->o.batch;
	size_t *got = mem_calloc((size_t) f->o.pairs, sizeof(size_t));
	int *left = mem_calloc((size_t) f->o.pairs, sizeof(int));
	int open = f->o.pairs;

	for (int i = 0; i < f->o.pairs; i++) {
		left[i] = f->o.rounds - 1;
		send_all(f->cli[i], f->buf, unit);
	}
	while (open > 0) {
		int n = epoll_wait(f->ep, evs, FLOOR_EVENTS, -1);

		for (int k = 0; k < n; k++) {
			int i = (int) evs[k].data.u64;

			got[i] += client_read(f, f->cli[i]);
			if (got[i] < unit) {
				continue;
			}
			got[i] -= unit;
			if (left[i]-- > 0) {
				send_all(f->cli[i], f->buf, unit);
			} else {
				open--;
			}
		}
	}
	mem_free(got);
	mem_free(left);
}

/* One storm connection of the client: connected, request sent. */
static void
storm_open(struct floor *f, int ep, int *state)
{
	int fd = open_client(f);
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	set_nonblock(fd);
	state[fd] = 0;
	send_all(fd, f->buf, STORM_REQ);
	ep_add(ep, fd, (uint64_t) fd);
}

static void
client_storm(struct floor *f)
{
	struct epoll_event evs[FLOOR_EVENTS];
	int ep = ep_new(), started = 0, done = 0;
	int *state = mem_calloc(FLOOR_MAX_FD, sizeof(int));
	int *got = mem_calloc(FLOOR_MAX_FD, sizeof(int));

	for (; started < f->o.inflight && started < f->o.storm; started++) {
		storm_open(f, ep, state);
	}
	while (done < f->o.storm) {
		int n = epoll_wait(ep, evs, FLOOR_EVENTS, -1);

		for (int k = 0; k < n; k++) {
			int fd = (int) evs[k].data.u64;
			ssize_t r = read(fd, f->buf, FLOOR_BUF);

			got[fd] += r > 0 ? (int) r : 0;
			if (state[fd] == 0 && got[fd] >= STORM_ANS1) {
				state[fd] = 1;
				got[fd] = 0;
				send_all(fd, f->buf, STORM_MSG);
			} else if (state[fd] == 1 && got[fd] >= STORM_ANS2) {
				got[fd] = 0;
				close(fd); /* a reset: SO_LINGER 0 */
				done++;
				if (started < f->o.storm) {
					storm_open(f, ep, state);
					started++;
				}
			}
		}
	}
	close(ep);
	mem_free(state);
	mem_free(got);
}

static void
client_main(struct floor *f)
{
	char phase;

	pin(f->o.client_cpu);
	close(f->lfd);
	f->ep = ep_new();
	for (int i = 0; i < f->o.pairs; i++) {
		set_nonblock(f->cli[i]);
		ep_add(f->ep, f->cli[i], (uint64_t) i);
	}
	while ((phase = ctl_get(f->ctl)) != 'q') {
		size_t n = (size_t) f->o.pairs * f->o.rounds * f->o.size;

		if (phase == 's') {
			client_drain(f, n);
		} else if (phase == 'b') {
			client_drain(f, n * f->o.batch);
		} else if (phase == 'e') {
			client_echo(f);
		} else {
			client_storm(f);
		}
		ctl_put(f->ctl, 'd');
	}
	_exit(0);
}

/* The control socket is readable while the server still waits for its
 * clients: they are done (their answer is read after the loop) or their
 * process ended, which would leave the server waiting for ever. */
static void
check_clients(struct floor *f, int ep)
{
	char c;

	if (recv(f->ctl, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
		fprintf(stderr, "agfloor: the clients' process ended\n");
		exit(1);
	}
	epoll_ctl(ep, EPOLL_CTL_DEL, f->ctl, NULL);
}

/* send and batch: `rounds` sends of `n` bytes to every socket in turn. */
static double
server_send(struct floor *f, char phase, size_t n)
{
	double t;

	ctl_put(f->ctl, phase);
	t = cpu_now();
	for (int r = 0; r < f->o.rounds; r++) {
		for (int i = 0; i < f->o.pairs; i++) {
			send_all(f->srv[i], f->buf, n);
		}
	}
	t = cpu_now() - t;
	ctl_get(f->ctl);
	return t * 1e6 / ((double) f->o.rounds * f->o.pairs);
}

/* What a timed server phase does with an event on one of its sockets
 * (tag: its epoll tag); returns 1 when the phase is over. */
typedef int (*phase_event)(struct floor *f, int ep, uint64_t tag, void *arg);

/* Runs a server phase on ep (closed after it): tells the clients to start
 * it, then hands every event to on_event until the phase is over,
 * watching the control socket for a clients' process that ended. Returns
 * the CPU seconds it took. */
static double
timed_phase(
    struct floor *f, int ep, char phase, phase_event on_event, void *arg)
{
	struct epoll_event evs[FLOOR_EVENTS];
	int over = 0;
	double t;

	ep_add(ep, f->ctl, TAG_CTL);
	ctl_put(f->ctl, phase);
	t = cpu_now();
	while (!over) {
		int n = epoll_wait(ep, evs, FLOOR_EVENTS, -1);

		for (int k = 0; k < n && !over; k++) {
			if (evs[k].data.u64 == TAG_CTL) {
				check_clients(f, ep);
			} else {
				over = on_event(f, ep, evs[k].data.u64, arg);
			}
		}
	}
	t = cpu_now() - t;
	ctl_get(f->ctl);
	close(ep);
	return t;
}

struct echo_count {
	size_t left, reads;
};

/* echo: what a socket sent comes back. */
static int
echo_event(struct floor *f, int ep, uint64_t tag, void *arg)
{
	struct echo_count *e = arg;
	int fd = f->srv[tag];
	ssize_t r = read(fd, f->buf, FLOOR_BUF);

	(void) ep;
	if (r > 0) {
		send_all(fd, f->buf, (size_t) r);
		e->left -= (size_t) r;
		e->reads++;
	} else if (r == 0) {
		fprintf(stderr, "agfloor: a client closed\n");
		exit(1);
	}
	return e->left == 0;
}

/* echo: read what is there, write it back; the CPU per read, and the
 * bytes a read brought (*bytes). */
static double
server_echo(struct floor *f, double *bytes)
{
	size_t total
	    = (size_t) f->o.pairs * f->o.rounds * f->o.size * f->o.batch;
	struct echo_count e = { total, 0 };
	int ep = ep_new();
	double t;

	for (int i = 0; i < f->o.pairs; i++) {
		set_nonblock(f->srv[i]);
		ep_add(ep, f->srv[i], (uint64_t) i);
	}
	t = timed_phase(f, ep, 'e', echo_event, &e);
	*bytes = (double) total / (double) e.reads;
	return t * 1e6 / (double) e.reads;
}

/* A storm connection's turn on the server (state: the bytes it sent so
 * far): the two answers, then the reset. Returns 1 when it closed. */
static int
storm_serve(struct floor *f, int ep, int fd, int *state)
{
	ssize_t r = read(fd, f->buf, FLOOR_BUF);

	int was = state[fd];

	if (r > 0) {
		state[fd] += (int) r;
		if (was < STORM_REQ && state[fd] >= STORM_REQ) {
			send_all(fd, f->buf, STORM_ANS1);
		}
		if (was < STORM_REQ + STORM_MSG
		    && state[fd] >= STORM_REQ + STORM_MSG) {
			send_all(fd, f->buf, STORM_ANS2);
		}
		return 0;
	}
	if (r < 0 && errno == EAGAIN) {
		return 0;
	}
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	return 1;
}

struct storm_count {
	int *state;
	int done;
};

/* storm: new connections on the listener, then each one's turns. */
static int
storm_event(struct floor *f, int ep, uint64_t tag, void *arg)
{
	struct storm_count *c = arg;
	int fd;

	if (tag != TAG_LISTENER) {
		c->done += storm_serve(f, ep, (int) tag, c->state);
		return c->done >= f->o.storm;
	}
	while ((fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		c->state[checked_fd(fd, "accept4")] = 0;
		ep_add(ep, fd, (uint64_t) fd);
	}
	return 0;
}

static double
server_storm(struct floor *f)
{
	struct storm_count c = { mem_calloc(FLOOR_MAX_FD, sizeof(int)), 0 };
	int ep = ep_new();
	double t;

	set_nonblock(f->lfd);
	ep_add(ep, f->lfd, TAG_LISTENER);
	t = timed_phase(f, ep, 't', storm_event, &c);
	mem_free(c.state);
	return t * 1e6 / (double) f->o.storm;
}

static void
setup(struct floor *f)
{
	socklen_t len = sizeof(f->addr);
	int one = 1;

	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	f->addr.sin_family = AF_INET;
	f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (f->lfd < 0
	    || setsockopt(f->lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))
	        != 0
	    || bind(f->lfd, (struct sockaddr *) &f->addr, len) != 0
	    || getsockname(f->lfd, (struct sockaddr *) &f->addr, &len) != 0
	    || listen(f->lfd, 4096) != 0) {
		die("listen");
	}
	f->srv = mem_calloc((size_t) f->o.pairs, sizeof(int));
	f->cli = mem_calloc((size_t) f->o.pairs, sizeof(int));
	for (int i = 0; i < f->o.pairs; i++) {
		f->cli[i] = open_client(f);
		f->srv[i] = checked_fd(accept(f->lfd, NULL, NULL), "accept");
	}
	f->buf = mem_calloc(FLOOR_BUF, 1);
	memset(f->buf, 'x', FLOOR_BUF);
}

/* Returns 0, 1 for --help, or -1 (said on stderr). */
static int
parse_opts(int argc, char **argv, struct floor_opts *o)
{
	static const struct option longs[] = {
		{ "pairs", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "storm", required_argument, NULL, 'c' },
		{ "inflight", required_argument, NULL, 'p' },
		{ "server-cpu", required_argument, NULL, 'S' },
		{ "client-cpu", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int *dst[128] = { 0 }, ch;
	char *end;
	long v;

	dst['n'] = &o->pairs, dst['s'] = &o->size, dst['b'] = &o->batch;
	dst['r'] = &o->rounds, dst['c'] = &o->storm, dst['p'] = &o->inflight;
	dst['S'] = &o->server_cpu, dst['C'] = &o->client_cpu;
	*o = (struct floor_opts) { 1000, 120, 16, 20, 20000, 100, 0, 1 };
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (ch == 'h') {
			return 1;
		}
		if (ch == '?' || ch < 0 || ch >= 128 || dst[ch] == NULL) {
			return -1;
		}
		errno = 0;
		v = strtol(optarg, &end, 10);
		if (errno != 0 || end == optarg || *end != '\0'
		    || v < (ch == 'S' || ch == 'C' ? -1 : 1) || v > 10000000) {
			fprintf(stderr, "agfloor: bad value: %s\n", optarg);
			return -1;
		}
		*dst[ch] = (int) v;
	}
	/* A batch larger than the socket buffers would have both sides
	 * blocked in send in the echo, each waiting for the other to read. */
	if (optind != argc || o->pairs > 15000 || o->inflight > 15000
	    || (size_t) o->size * o->batch > FLOOR_BATCH_MAX) {
		fprintf(stderr,
		    "agfloor: --pairs and --inflight at most 15000, "
		    "--size x --batch at most 64 KiB\n");
		return -1;
	}
	return 0;
}

/* Raises the open-file limit; -1 (said on stderr) when even that is short
 * of both ends of --pairs sockets and of the storm's. */
static int
check_nofile(const struct floor_opts *o)
{
	unsigned long need = 2UL * (unsigned long) o->pairs
	    + 2UL * (unsigned long) o->inflight + 16;
	unsigned long limit = agbench_proc_raise_nofile();

	if (limit < need) {
		fprintf(stderr,
		    "agfloor: %lu open files allowed, %lu needed: lower "
		    "--pairs or --inflight\n",
		    limit, need);
		return -1;
	}
	return 0;
}

static void
report(const struct floor_opts *o, const struct floor_result *r)
{
	double k = r->echo_bytes / o->size;

	/* The figures divide by these: a phase that took no CPU the clock
	 * could see would print inf, which is no JSON. */
	if (!(r->send_us > 0 && r->batch_us > 0 && r->echo_us > 0
	        && r->storm_us > 0)) {
		fprintf(stderr, "agfloor: a phase took no measurable CPU\n");
		exit(1);
	}
	printf(
	    "{\"tool\":\"agfloor\",\"pairs\":%d,\"size\":%d,\"batch\":%d,"
	    "\"send_us\":%.3f,\"batch_send_us\":%.3f,\"echo_event_us\":%.3f,"
	    "\"echo_messages_per_read\":%.2f,\"storm_conn_us\":%.3f,"
	    "\"fanout_spread_ms\":%.3f,\"fanout_floor_per_cpu_s\":%.0f,"
	    "\"echo_floor_per_cpu_s\":%.0f,\"storm_floor_per_cpu_s\":%.0f}\n",
	    o->pairs, o->size, o->batch, r->send_us, r->batch_us, r->echo_us,
	    k, r->storm_us, o->pairs * r->send_us / 1e3,
	    o->batch * 1e6 / r->batch_us, k * 1e6 / r->echo_us,
	    1e6 / r->storm_us);
	fprintf(stderr,
	    "agfloor: one %d-byte send %.2f us, %d in one send %.2f us; echo "
	    "%.2f us per read and write back (%.1f messages); storm %.2f us "
	    "per "
	    "connection\n",
	    o->size, r->send_us, o->batch, r->batch_us, r->echo_us, k,
	    r->storm_us);
}

static void
close_all(const int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		close(fds[i]);
	}
}

int
main(int argc, char **argv)
{
	struct floor f;
	struct floor_result r;
	int sp[2], status;
	pid_t child;

	memset(&f, 0, sizeof(f));
	switch (parse_opts(argc, argv, &f.o)) {
	case 0:
		if (check_nofile(&f.o) != 0) {
			return 2;
		}
		break;
	case 1:
		fputs(usage_text, stdout);
		return 0;
	default:
		fputs(usage_text, stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setup(&f);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0) {
		die("socketpair");
	}
	child = fork();
	if (child < 0) {
		die("fork");
	}
	if (child == 0) {
		/* Each process keeps only its own ends, so that either one
		 * ending is an end of file to the other, and the clients die
		 * with the server. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sp[0]);
		close_all(f.srv, f.o.pairs);
		f.ctl = sp[1];
		client_main(&f);
	}
	close(sp[1]);
	close_all(f.cli, f.o.pairs);
	f.ctl = sp[0];
	pin(f.o.server_cpu);
	r.send_us = server_send(&f, 's', (size_t) f.o.size);
	r.batch_us = server_send(&f, 'b', (size_t) f.o.size * f.o.batch);
	r.echo_us = server_echo(&f, &r.echo_bytes);
	r.storm_us = server_storm(&f);
	ctl_put(f.ctl, 'q');
	if (waitpid(child, &status, 0) != child) {
		die("waitpid");
	}
	report(&f.o, &r);
	close_all(f.srv, f.o.pairs);
	mem_free(f.srv);
	mem_free(f.cli);
	mem_free(f.buf);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
