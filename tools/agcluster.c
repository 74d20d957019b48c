/*
 * agcluster: the one-command launcher of a cluster on one host. Starts K
 * ag-broker and N ag-worker processes with agcluster's own arguments,
 * restarts a child that dies, rolls the workers over on SIGHUP, and on
 * SIGTERM or SIGINT stops the workers first and the brokers last.
 * See docs/operations.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/agconf.h"
#include "common/logger.h"
#include "common/prog.h"
#include "common/mem.h"
#include "common/strbuf.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* A child that lived this long was not crash-looping: its backoff resets. */
#define STABLE_MS 10000
/* Beyond drain_timeout, for a worker to flush and exit once it gave up. */
#define WORKER_GRACE_MS 2000
#define BROKER_STOP_MS  5000
/* How long a SIGKILLed child may take to be reaped before we give up. */
#define KILL_WAIT_MS 1000
#define MAX_PORT     65535

enum phase {
	PHASE_RUN,     /* supervising and restarting */
	PHASE_WORKERS, /* draining: waiting for the workers */
	PHASE_BROKERS, /* draining: waiting for the brokers */
	PHASE_KILL,    /* a second stop signal: everything got SIGKILL */
	PHASE_DONE,
};

struct cluster;

struct child {
	struct cluster *cl;    /* borrowed back pointer, for the timer */
	int is_worker;         /* else a broker */
	size_t id;             /* --worker-id or --broker-id */
	pid_t pid;             /* 0 while not running */
	long long started_ms;  /* monotonic */
	long long next_delay;  /* ms before the next restart after a crash */
	int reloading;         /* stopped by a SIGHUP rollover */
	struct event *restart; /* owned timer */
};

struct cluster {
	struct agconf conf;
	int argc;
	char **argv;     /* borrowed: agcluster's own arguments */
	char *bin[2];    /* owned: the broker and worker programs */
	char *addresses; /* owned: broker_addresses for every child */
	size_t nbrokers;
	size_t nworkers;
	struct child *children;   /* owned: the brokers, then the workers */
	struct event_base *base;  /* owned */
	struct event *signals[4]; /* owned */
	struct event *phase_timer;
	enum phase phase;
	int killed;         /* the current phase's stragglers got SIGKILL */
	int failed;         /* exit 1 */
	size_t reload_next; /* next worker of a SIGHUP rollover */
	int reload_active;
};

/* The signals agcluster handles, in the order of cluster.signals. */
static const int handled_signals[4] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

static void enter_phase(struct cluster *cl, enum phase p);

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval
ms_timeval(long long ms)
{
	struct timeval tv
	    = { (time_t) (ms / 1000), (suseconds_t) (ms % 1000 * 1000) };

	return tv;
}

/* Returns the owned flag "--name=value". */
static char *
flag(const char *name, const char *value)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_addf(&sb, "--%s=%s", name, value);
	return sb_steal(&sb, NULL);
}

static char *
flag_num(const char *name, size_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%zu", value);
	return flag(name, buf);
}

static const char *
kind(const struct child *c)
{
	return c->is_worker ? "worker" : "broker";
}

/* Returns the owned path of dir/prog if it is executable, else NULL. */
static char *
try_program(const char *dir, const char *prog)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, prog);
	return access(path, X_OK) == 0 ? mem_strdup(path) : NULL;
}

/*
 * Returns the owned path (or bare name, for a PATH search) of prog: from the
 * variable var, next to agcluster, in the build tree's subdir (agcluster is
 * built in tools/), or on PATH.
 */
static char *
find_program(const char *var, const char *prog, const char *subdir)
{
	const char *env = getenv(var);
	char self[PATH_MAX], dir[PATH_MAX + 32];
	char *slash, *found;
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		return mem_strdup(env);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		return mem_strdup(prog);
	}
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL) {
		*slash = '\0';
	}
	if ((found = try_program(self, prog)) != NULL) {
		return found;
	}
	snprintf(dir, sizeof(dir), "%s/../%s", self, subdir);
	if ((found = try_program(dir, prog)) != NULL) {
		return found;
	}
	return mem_strdup(prog);
}

/*
 * Settles the broker list: the given broker_addresses, or one broker per
 * --brokers on 127.0.0.1 from link_port, each owning N consecutive ports.
 * Returns 0, or -1 after reporting a list the ports cannot hold.
 */
static int
plan_brokers(struct cluster *cl)
{
	static struct agconf_addr addrs[AGCONF_MAX_BROKERS];
	const struct agconf *c = &cl->conf;
	struct strbuf sb;
	int n = agconf_parse_addresses(
	    c->broker_addresses, addrs, AGCONF_MAX_BROKERS);

	if (n > 0) {
		cl->nbrokers = (size_t) n;
		cl->addresses = mem_strdup(c->broker_addresses);
		for (int j = 0; j < n; j++) {
			if (addrs[j].port + c->workers - 1 > MAX_PORT) {
				logger_error("broker_addresses: %s:%d + %lld "
				             "workers passes port %d",
				    addrs[j].host, addrs[j].port, c->workers,
				    MAX_PORT);
				return -1;
			}
		}
		return 0;
	}
	cl->nbrokers = (size_t) c->brokers;
	if (c->link_port + c->brokers * c->workers - 1 > MAX_PORT) {
		logger_error("link_port %lld + %lld brokers x %lld workers "
		             "passes port %d",
		    c->link_port, c->brokers, c->workers, MAX_PORT);
		return -1;
	}
	sb_init(&sb);
	for (long long j = 0; j < c->brokers; j++) {
		sb_addf(&sb, "%s127.0.0.1:%lld", j > 0 ? "," : "",
		    c->link_port + j * c->workers);
	}
	cl->addresses = sb_steal(&sb, NULL);
	return 0;
}

/*
 * Returns the owned, NULL-terminated argument vector of c: the program,
 * agcluster's own arguments, then the cluster's flags. Release with
 * free_args.
 */
static char **
child_args(const struct cluster *cl, const struct child *c)
{
	char **args = mem_calloc((size_t) cl->argc + 4, sizeof(*args));
	int k = 0;

	args[k++] = cl->bin[c->is_worker];
	for (int i = 1; i < cl->argc; i++) {
		args[k++] = cl->argv[i];
	}
	args[k++] = flag_num("workers", cl->nworkers);
	args[k++] = flag("broker-addresses", cl->addresses);
	args[k++] = flag_num(c->is_worker ? "worker-id" : "broker-id", c->id);
	return args;
}

static void
free_args(const struct cluster *cl, char **args)
{
	for (int k = cl->argc; k < cl->argc + 3; k++) {
		mem_free(args[k]);
	}
	mem_free(args);
}

/*
 * The child's side of spawn: never returns. On a failed exec the errno is
 * written to errfd for the parent.
 */
static void
exec_child(char **args, int errfd, pid_t parent, const sigset_t *mask)
{
	ssize_t written;
	int err;

	/* libevent's handlers would report our signals to the parent. */
	for (size_t i = 0; i < 4; i++) {
		signal(handled_signals[i], SIG_DFL);
	}
	/* Out of the terminal's group, so ^C reaches agcluster alone and the
	 * drain keeps its order. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* agcluster may have died before prctl, leaving nobody to tell us. */
	if (getppid() != parent) {
		_exit(1);
	}
	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(args[0], args);
	err = errno;
	written = write(errfd, &err, sizeof(err));
	(void) written;
	_exit(127);
}

/* Returns the errno of the child's failed exec, or 0 once exec succeeded. */
static int
exec_error(int fd)
{
	int err = 0;
	ssize_t n;

	do {
		n = read(fd, &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t) sizeof(err) ? err : 0;
}

/* Forks and runs c. Returns 0, or -1 after reporting. */
static int
spawn(struct cluster *cl, struct child *c)
{
	char **args = child_args(cl, c);
	pid_t parent = getpid();
	sigset_t all, old;
	int fds[2], err;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		logger_error("pipe: %s", strerror(errno));
		free_args(cl, args);
		return -1;
	}
	/* No handler may run in the child between fork and exec. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		exec_child(args, fds[1], parent, &old);
	}
	err = pid < 0 ? errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	if (pid > 0 && (err = exec_error(fds[0])) != 0) {
		waitpid(pid, NULL, 0);
	}
	close(fds[0]);
	if (err != 0) {
		logger_error("cannot start %s %zu (%s): %s", kind(c), c->id,
		    args[0], strerror(err));
		free_args(cl, args);
		return -1;
	}
	c->pid = pid;
	c->started_ms = now_ms();
	logger_debug(
	    "started %s %zu (pid %d): %s", kind(c), c->id, (int) pid, args[0]);
	free_args(cl, args);
	return 0;
}

static void
schedule_restart(struct child *c, long long delay)
{
	struct timeval tv = ms_timeval(delay);

	evtimer_add(c->restart, &tv);
}

/* Returns the delay before c's next restart and doubles the one after. */
static long long
next_backoff(struct child *c)
{
	long long delay = c->next_delay;

	c->next_delay
	    = delay * 2 < BACKOFF_MAX_MS ? delay * 2 : BACKOFF_MAX_MS;
	return delay;
}

/* Stops the next running worker of a SIGHUP rollover, or ends it. */
static void
reload_step(struct cluster *cl)
{
	struct child *c;

	for (; cl->reload_next < cl->nworkers; cl->reload_next++) {
		c = &cl->children[cl->nbrokers + cl->reload_next];
		if (c->pid > 0) {
			c->reloading = 1;
			kill(c->pid, SIGTERM);
			cl->reload_next++;
			return;
		}
	}
	cl->reload_active = 0;
	logger_info("rollover done: every worker was restarted");
}

static void
on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	struct cluster *cl = c->cl;

	if (cl->phase != PHASE_RUN) {
		return;
	}
	if (spawn(cl, c) != 0) {
		schedule_restart(c, next_backoff(c));
		return;
	}
	if (c->reloading) {
		c->reloading = 0;
		reload_step(cl);
	}
}

static void
describe_status(int status, char *buf, size_t n)
{
	if (WIFEXITED(status)) {
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, n, "was killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	} else {
		snprintf(buf, n, "changed state (status 0x%x)", status);
	}
}

/* Logs the end of c and, while supervising, schedules its restart. */
static void
child_exited(struct cluster *cl, struct child *c, int status)
{
	long long lived = now_ms() - c->started_ms;
	pid_t pid = c->pid;
	long long delay;
	char how[128];

	describe_status(status, how, sizeof(how));
	c->pid = 0;
	if (cl->phase != PHASE_RUN) {
		logger_info(
		    "%s %zu (pid %d) %s", kind(c), c->id, (int) pid, how);
		/* A child that fails its own shutdown (a sanitizer report, a
		 * crash while draining) makes the whole stop a failure. */
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			cl->failed = 1;
		}
		return;
	}
	if (c->reloading) {
		logger_info("%s %zu (pid %d) %s for the rollover; restarting",
		    kind(c), c->id, (int) pid, how);
		schedule_restart(c, 0);
		return;
	}
	if (lived > STABLE_MS) {
		c->next_delay = BACKOFF_MIN_MS;
	}
	delay = next_backoff(c);
	logger_warn("%s %zu (pid %d) %s after %lld ms; restarting in %lld ms",
	    kind(c), c->id, (int) pid, how, lived, delay);
	schedule_restart(c, delay);
}

static struct child *
find_child(struct cluster *cl, pid_t pid)
{
	for (size_t i = 0; i < cl->nbrokers + cl->nworkers; i++) {
		if (cl->children[i].pid == pid) {
			return &cl->children[i];
		}
	}
	return NULL;
}

/* The children of phase p: [*from, *to) of cl->children. */
static void
phase_range(const struct cluster *cl, enum phase p, size_t *from, size_t *to)
{
	*from = p == PHASE_WORKERS ? cl->nbrokers : 0;
	*to = p == PHASE_BROKERS ? cl->nbrokers : cl->nbrokers + cl->nworkers;
}

/* Sends sig (0: none) to the running children of phase p; returns them. */
static size_t
signal_phase(struct cluster *cl, enum phase p, int sig)
{
	size_t from, to, alive = 0;

	phase_range(cl, p, &from, &to);
	for (size_t i = from; i < to; i++) {
		if (cl->children[i].pid > 0) {
			if (sig != 0) {
				kill(cl->children[i].pid, sig);
			}
			alive++;
		}
	}
	return alive;
}

/* Moves the drain on once the current phase has no child left. */
static void
advance_drain(struct cluster *cl)
{
	if (cl->phase == PHASE_RUN || cl->phase == PHASE_DONE
	    || signal_phase(cl, cl->phase, 0) > 0) {
		return;
	}
	enter_phase(
	    cl, cl->phase == PHASE_WORKERS ? PHASE_BROKERS : PHASE_DONE);
}

static void
on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *cl = arg;
	struct child *c;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((c = find_child(cl, pid)) != NULL) {
			child_exited(cl, c, status);
		}
	}
	advance_drain(cl);
}

static const char *
noun(enum phase p, size_t n)
{
	if (p == PHASE_WORKERS) {
		return n == 1 ? "worker" : "workers";
	}
	if (p == PHASE_BROKERS) {
		return n == 1 ? "broker" : "brokers";
	}
	return n == 1 ? "process" : "processes";
}

/* Stops the phase's children with sig and arms the phase's deadline. */
static void
stop_phase(struct cluster *cl, enum phase p, int sig, long long ms)
{
	struct timeval tv = ms_timeval(ms);
	size_t n = signal_phase(cl, p, sig);

	if (n == 0) {
		enter_phase(
		    cl, p == PHASE_WORKERS ? PHASE_BROKERS : PHASE_DONE);
		return;
	}
	logger_info("stopping %zu %s with %s, waiting up to %lld ms", n,
	    noun(p, n), sig == SIGKILL ? "SIGKILL" : "SIGTERM", ms);
	evtimer_add(cl->phase_timer, &tv);
}

static void
enter_phase(struct cluster *cl, enum phase p)
{
	cl->phase = p;
	cl->killed = p == PHASE_KILL;
	evtimer_del(cl->phase_timer);
	if (p == PHASE_WORKERS) {
		stop_phase(
		    cl, p, SIGTERM, cl->conf.drain_timeout + WORKER_GRACE_MS);
	} else if (p == PHASE_BROKERS) {
		stop_phase(cl, p, SIGTERM, BROKER_STOP_MS);
	} else if (p == PHASE_KILL) {
		cl->failed = 1;
		stop_phase(cl, p, SIGKILL, KILL_WAIT_MS);
	} else if (p == PHASE_DONE) {
		event_base_loopexit(cl->base, NULL);
	}
}

/*
 * The phase's deadline: SIGKILL whoever is left, then, should even that not
 * be reaped in time, forget them and move on.
 */
static void
on_phase_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *cl = arg;
	struct timeval tv = ms_timeval(KILL_WAIT_MS);
	size_t from, to, n;

	cl->failed = 1;
	if (!cl->killed) {
		n = signal_phase(cl, cl->phase, SIGKILL);
		logger_warn("%zu %s did not stop in time; sent SIGKILL", n,
		    noun(cl->phase, n));
		cl->killed = 1;
		evtimer_add(cl->phase_timer, &tv);
		return;
	}
	phase_range(cl, cl->phase, &from, &to);
	for (size_t i = from; i < to; i++) {
		if (cl->children[i].pid > 0) {
			logger_error("pid %d survives SIGKILL; leaving it",
			    (int) cl->children[i].pid);
			cl->children[i].pid = 0;
		}
	}
	advance_drain(cl);
}

/*
 * The first SIGTERM or SIGINT drains: workers first, so their clients are
 * told to go while the brokers still deliver; the second one gives up on
 * order and kills everything.
 */
static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct cluster *cl = arg;
	const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";

	if (cl->phase == PHASE_WORKERS || cl->phase == PHASE_BROKERS) {
		logger_warn("%s again: killing every process", name);
		enter_phase(cl, PHASE_KILL);
		return;
	}
	if (cl->phase != PHASE_RUN) {
		return;
	}
	logger_info("%s: stopping the workers, then the brokers", name);
	for (size_t i = 0; i < cl->nbrokers + cl->nworkers; i++) {
		evtimer_del(cl->children[i].restart);
	}
	cl->reload_active = 0;
	enter_phase(cl, PHASE_WORKERS);
}

/*
 * SIGHUP rolls the workers over: each is drained and replaced before the
 * next is told, so the others keep serving, and the new ones read the config
 * file again. agcluster's own settings (N, K, the links) stay.
 */
static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct cluster *cl = arg;

	if (cl->phase != PHASE_RUN || cl->reload_active) {
		logger_info("SIGHUP ignored: %s",
		    cl->reload_active ? "a rollover is under way"
		                      : "stopping");
		return;
	}
	logger_info("SIGHUP: restarting the workers one at a time");
	cl->reload_active = 1;
	cl->reload_next = 0;
	reload_step(cl);
}

static void
log_started(const struct cluster *cl)
{
	const char *host = cl->conf.host;
	int any = host[0] == '\0' || strcmp(host, "0.0.0.0") == 0
	    || strcmp(host, "::") == 0;
	int v6 = !any && strchr(host, ':') != NULL;

	logger_info("%zu broker%s, %zu worker%s; clients connect to "
	            "ws://%s%s%s:%lld%s%s",
	    cl->nbrokers, cl->nbrokers == 1 ? "" : "s", cl->nworkers,
	    cl->nworkers == 1 ? "" : "s", v6 ? "[" : "",
	    any ? "localhost" : host, v6 ? "]" : "", cl->conf.port,
	    cl->conf.path, any ? " (listening on every address)" : "");
}

/* Starts the brokers, then the workers; on a failure stops them again. */
static void
start_children(struct cluster *cl)
{
	for (size_t i = 0; i < cl->nbrokers + cl->nworkers; i++) {
		if (spawn(cl, &cl->children[i]) != 0) {
			logger_error("giving up: stopping what was started "
			             "(set AG_WORKER_BIN / AG_BROKER_BIN to "
			             "the programs)");
			cl->failed = 1;
			enter_phase(cl, PHASE_WORKERS);
			return;
		}
	}
	log_started(cl);
}

static void
add_signals(struct cluster *cl)
{
	static const event_callback_fn handlers[4]
	    = { on_sigchld, on_stop_signal, on_stop_signal, on_sighup };

	for (size_t i = 0; i < 4; i++) {
		cl->signals[i] = evsignal_new(
		    cl->base, handled_signals[i], handlers[i], cl);
		evsignal_add(cl->signals[i], NULL);
	}
}

/*
 * Prepares cl, whose conf is loaded, to run agcluster with argv (borrowed).
 * Returns 0, or an exit code after reporting.
 */
static int
cluster_init(struct cluster *cl, int argc, char **argv)
{
	cl->argc = argc;
	cl->argv = argv;
	cl->nworkers = (size_t) cl->conf.workers;
	if (plan_brokers(cl) != 0) {
		return 2;
	}
	cl->bin[0] = find_program("AG_BROKER_BIN", "ag-broker", "broker");
	cl->bin[1] = find_program("AG_WORKER_BIN", "ag-worker", "worker");
	cl->base = event_base_new();
	if (cl->base == NULL) {
		logger_error("cannot create the event loop");
		return 1;
	}
	cl->phase_timer = evtimer_new(cl->base, on_phase_timer, cl);
	cl->children
	    = mem_calloc(cl->nbrokers + cl->nworkers, sizeof(*cl->children));
	for (size_t i = 0; i < cl->nbrokers + cl->nworkers; i++) {
		struct child *c = &cl->children[i];

		c->cl = cl;
		c->is_worker = i >= cl->nbrokers;
		c->id = c->is_worker ? i - cl->nbrokers : i;
		c->next_delay = BACKOFF_MIN_MS;
		c->restart = evtimer_new(cl->base, on_restart, c);
	}
	add_signals(cl);
	return 0;
}

/* Frees what cluster_init built; cl may be half-built. */
static void
cluster_fini(struct cluster *cl)
{
	for (size_t i = 0;
	     cl->children != NULL && i < cl->nbrokers + cl->nworkers; i++) {
		event_free(cl->children[i].restart);
	}
	for (size_t i = 0; i < 4; i++) {
		if (cl->signals[i] != NULL) {
			event_free(cl->signals[i]);
		}
	}
	if (cl->phase_timer != NULL) {
		event_free(cl->phase_timer);
	}
	if (cl->base != NULL) {
		event_base_free(cl->base);
	}
	mem_free(cl->children);
	mem_free(cl->bin[0]);
	mem_free(cl->bin[1]);
	mem_free(cl->addresses);
}

int
main(int argc, char **argv)
{
	struct cluster cl;
	int code = 0;

	memset(&cl, 0, sizeof(cl));
	if (prog_start("agcluster", &cl.conf, argc, argv, &code) != 0) {
		return code;
	}
	code = cluster_init(&cl, argc, argv);
	if (code == 0) {
		start_children(&cl);
		if (cl.phase != PHASE_DONE) {
			event_base_dispatch(cl.base);
		}
		code = cl.failed ? 1 : 0;
	}
	cluster_fini(&cl);
	prog_end(&cl.conf);
	return code;
}
