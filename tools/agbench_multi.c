/*
 * agbench in several processes (see agbench_multi.h).
 */
#include "tools/agbench_multi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "tools/agbench_conn.h"

struct multi {
	pid_t *kids;
	int *ready; /* read ends: each child's struct agbench_ready */
	int *hold;  /* write ends: closed to release the children */
	unsigned n;
};

static void
multi_sleep(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t) s;
	ts.tv_nsec = (long) ((s - (double) ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

void
agbench_multi_share(
    const struct agbench_opts *o, unsigned k, struct agbench_opts *co)
{
	*co = *o;
	co->connections = o->connections / o->procs
	    + (k < o->connections % o->procs ? 1 : 0);
	co->npids = 0;
	co->procs = 1;
	co->source_first = o->source_first + k * o->sources;
}

/* In the child: runs its share and exits. */
static void
multi_child(
    const struct agbench_opts *o, unsigned k, int ready_fd, int hold_fd)
{
	static struct agbench_opts co;
	static struct agbench_result cr;

	agbench_multi_share(o, k, &co);
	co.ready_fd = ready_fd;
	co.hold_fd = hold_fd;
	_exit(agbench_run(&co, &cr) == 0 ? 0 : 1);
}

static int
multi_spawn(struct multi *m, const struct agbench_opts *o)
{
	for (unsigned k = 0; k < m->n; k++) {
		int rp[2], hp[2];
		if (pipe(rp) != 0 || pipe(hp) != 0) {
			perror("agbench: pipe");
			return -1;
		}
		m->kids[k] = fork();
		if (m->kids[k] < 0) {
			perror("agbench: fork");
			return -1;
		}
		if (m->kids[k] == 0) {
			for (unsigned j = 0; j < k; j++) {
				close(m->ready[j]);
				close(m->hold[j]);
			}
			close(rp[0]);
			close(hp[1]);
			multi_child(o, k, rp[1], hp[0]);
		}
		close(rp[1]);
		close(hp[0]);
		m->ready[k] = rp[0];
		m->hold[k] = hp[1];
	}
	return 0;
}

static int
read_all(int fd, void *p, size_t len)
{
	char *b = p;

	while (len > 0) {
		ssize_t n = read(fd, b, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return -1;
		}
		b += n;
		len -= (size_t) n;
	}
	return 0;
}

static void
counts_add(struct agbench_counts *to, const struct agbench_counts *c)
{
	uint64_t *t = (uint64_t *) to;
	const uint64_t *f = (const uint64_t *) c;

	/* every member is a uint64_t counter; last_close_code is kept */
	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t) - 1; i++) {
		t[i] += f[i];
	}
	if (c->last_close_code != 0) {
		to->last_close_code = c->last_close_code;
	}
}

/* Waits for every child's report of its setup. */
static int
multi_gather(struct multi *m, struct agbench_result *res)
{
	static struct agbench_ready msg;

	for (unsigned k = 0; k < m->n; k++) {
		if (read_all(m->ready[k], &msg, sizeof(msg)) != 0) {
			fprintf(stderr, "agbench: child %u failed\n", k);
			return -1;
		}
		res->ready += msg.ready;
		if (msg.setup_s > res->setup_s) {
			res->setup_s = msg.setup_s;
		}
		counts_add(&res->setup, &msg.counts);
		agbench_hist_merge(&res->handshake, &msg.handshake);
	}
	return 0;
}

static void
multi_release(struct multi *m)
{
	for (unsigned k = 0; k < m->n; k++) {
		if (m->hold[k] >= 0) {
			close(m->hold[k]);
		}
		if (m->ready[k] >= 0) {
			close(m->ready[k]);
		}
	}
	for (unsigned k = 0; k < m->n; k++) {
		if (m->kids[k] > 0) {
			waitpid(m->kids[k], NULL, 0);
		}
	}
}

/* The measurement: the children hold their connections meanwhile. */
static void
multi_measure(
    struct multi *m, const struct agbench_opts *o, struct agbench_result *res)
{
	struct agbench_proc_sample k0, k1;
	int64_t t0;

	multi_sleep(o->warmup);
	agbench_proc_read(m->kids, m->n, &k0);
	agbench_proc_read(o->pids, o->npids, &res->p0);
	t0 = agbench_conn_now();
	multi_sleep(o->duration);
	agbench_proc_read(o->pids, o->npids, &res->p1);
	agbench_proc_read(m->kids, m->n, &k1);
	res->measured_s = (double) (agbench_conn_now() - t0) / 1e9;
	res->client_cpu_s = k1.cpu_s - k0.cpu_s;
	res->start = res->end = res->final = res->setup;
}

int
agbench_multi_run(const struct agbench_opts *o, struct agbench_result *res)
{
	struct multi m;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	m.n = o->procs;
	m.kids = mem_calloc(m.n, sizeof(pid_t));
	m.ready = mem_calloc(m.n, sizeof(int));
	m.hold = mem_calloc(m.n, sizeof(int));
	memset(m.ready, -1, m.n * sizeof(int));
	memset(m.hold, -1, m.n * sizeof(int));
	agbench_proc_read(o->pids, o->npids, &res->before);
	fflush(NULL);
	if (multi_spawn(&m, o) == 0 && multi_gather(&m, res) == 0) {
		multi_measure(&m, o, res);
		rc = 0;
	}
	multi_release(&m);
	mem_free(m.kids);
	mem_free(m.ready);
	mem_free(m.hold);
	return rc;
}
