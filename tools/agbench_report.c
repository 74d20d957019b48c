/*
 * agbench's report (see agbench_report.h).
 */
#include "tools/agbench_report.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "tools/agbench_conn.h"

static const char *const scenario_names[]
    = { "idle", "fanout", "channels", "storm", "cluster" };

static const char *const end_names[AGBENCH_END_COUNT] = { "err_connect",
	"err_upgrade", "err_eof", "err_reset", "err_close", "err_protocol" };

/* The figures, computed once for both outputs. */
struct figures {
	double secs;
	uint64_t handshakes, publishes, deliveries;
	double server_cpu, client_cpu;
	double others_cpu; /* the machine's, less the server's and agbench's */
	long rss_delta_kb, anon_delta_kb;
	uint64_t errors;
};

static double
per(double n, double d)
{
	return d > 0 ? n / d : 0;
}

static double
us(const struct agbench_hist *h, double q)
{
	return (double) agbench_hist_quantile(h, q) / 1e3;
}

static uint64_t
errors_of(const struct agbench_counts *c)
{
	uint64_t n = c->err_handshake + c->err_subscribe + c->auth_failed
	    + c->misrouted;

	for (int i = 0; i < AGBENCH_END_COUNT; i++) {
		n += c->err_end[i];
	}
	return n;
}

static void
figures_make(const struct agbench_result *res, struct figures *f)
{
	f->secs = res->measured_s;
	f->handshakes = res->end.handshakes - res->start.handshakes;
	f->publishes = res->end.published - res->start.published;
	f->deliveries = res->end.delivered - res->start.delivered;
	f->server_cpu = res->p1.cpu_s - res->p0.cpu_s;
	f->client_cpu = res->client_cpu_s;
	f->others_cpu
	    = res->p1.busy_s - res->p0.busy_s - f->server_cpu - f->client_cpu;
	f->rss_delta_kb = res->p1.rss_kb - res->before.rss_kb;
	f->anon_delta_kb = res->p1.rss_anon_kb - res->before.rss_anon_kb;
	f->errors = errors_of(&res->final);
}

static void
json_counts(struct strbuf *sb, const struct agbench_result *res)
{
	const struct agbench_counts *c = &res->final;

	sb_addf(sb,
	    "\"lost\":%llu,\"duplicated\":%llu,\"misrouted\":%llu,"
	    "\"throttled\":%llu,\"errors\":%llu,\"err_handshake\":%llu,"
	    "\"err_subscribe\":%llu,\"auth_failed\":%llu,",
	    (unsigned long long) res->lost, (unsigned long long) c->duplicated,
	    (unsigned long long) c->misrouted,
	    (unsigned long long) c->throttled,
	    (unsigned long long) errors_of(c),
	    (unsigned long long) c->err_handshake,
	    (unsigned long long) c->err_subscribe,
	    (unsigned long long) c->auth_failed);
	for (int i = 0; i < AGBENCH_END_COUNT; i++) {
		sb_addf(sb, "\"%s\":%llu,", end_names[i],
		    (unsigned long long) c->err_end[i]);
	}
	sb_addf(sb, "\"last_close_code\":%llu,",
	    (unsigned long long) c->last_close_code);
}

static void
json_rates(struct strbuf *sb, const struct agbench_result *res,
    const struct figures *f)
{
	sb_addf(sb,
	    "\"duration_s\":%.3f,\"handshakes\":%llu,\"handshakes_per_s\":%."
	    "1f,"
	    "\"publishes\":%llu,\"publishes_per_s\":%.1f,\"deliveries\":%llu,"
	    "\"deliveries_per_s\":%.1f,",
	    f->secs, (unsigned long long) f->handshakes,
	    per((double) f->handshakes, f->secs),
	    (unsigned long long) f->publishes,
	    per((double) f->publishes, f->secs),
	    (unsigned long long) f->deliveries,
	    per((double) f->deliveries, f->secs));
	sb_addf(sb,
	    "\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"lat_p999_us\":%.1f,"
	    "\"lat_max_us\":%.1f,\"hs_p50_ms\":%.3f,\"hs_p99_ms\":%.3f,"
	    "\"hs_max_ms\":%.3f,",
	    us(&res->latency, 0.5), us(&res->latency, 0.99),
	    us(&res->latency, 0.999), (double) res->latency.max / 1e3,
	    us(&res->handshake, 0.5) / 1e3, us(&res->handshake, 0.99) / 1e3,
	    (double) res->handshake.max / 1e6);
}

static void
json_server(struct strbuf *sb, const struct agbench_result *res,
    const struct figures *f)
{
	double conns = res->ready > 0 ? (double) res->ready : 1;

	sb_addf(sb,
	    "\"server_cpu_s\":%.3f,\"server_cpu_pct\":%.1f,"
	    "\"deliveries_per_cpu_s\":%.1f,\"publishes_per_cpu_s\":%.1f,"
	    "\"handshakes_per_cpu_s\":%.1f,\"cpu_us_per_conn_s\":%.3f,",
	    f->server_cpu, per(f->server_cpu * 100, f->secs),
	    per((double) f->deliveries, f->server_cpu),
	    per((double) f->publishes, f->server_cpu),
	    per((double) f->handshakes, f->server_cpu),
	    per(f->server_cpu * 1e6, f->secs * conns));
	sb_addf(sb,
	    "\"server_rss_kb\":%ld,\"server_rss_before_kb\":%ld,"
	    "\"rss_per_conn_b\":%.0f,\"anon_per_conn_b\":%.0f,"
	    "\"tcp_mem_kb\":%ld,\"slab_per_conn_b\":%.0f,\"pids_missing\":%d,",
	    res->p1.rss_kb, res->before.rss_kb,
	    (double) f->rss_delta_kb * 1024 / conns,
	    (double) f->anon_delta_kb * 1024 / conns,
	    res->p1.tcp_mem_pages * (sysconf(_SC_PAGESIZE) / 1024),
	    (double) (res->p1.slab_kb - res->before.slab_kb) * 1024 / conns,
	    res->p1.missing);
	/* deliveries per write and messages in per read: how well the
	 * server batched its system calls in this run */
	sb_addf(sb,
	    "\"server_reads\":%llu,\"server_writes\":%llu,"
	    "\"deliveries_per_write\":%.2f,\"publishes_per_read\":%.2f,",
	    res->p1.syscr - res->p0.syscr, res->p1.syscw - res->p0.syscw,
	    per((double) f->deliveries,
	        (double) (res->p1.syscw - res->p0.syscw)),
	    per((double) f->publishes,
	        (double) (res->p1.syscr - res->p0.syscr)));
	sb_addf(sb,
	    "\"client_cpu_s\":%.3f,\"client_cpu_pct\":%.1f,"
	    "\"others_cpu_pct\":%.1f,\"steal_pct\":%.1f,\"pings\":%llu",
	    f->client_cpu, per(f->client_cpu * 100, f->secs),
	    per(f->others_cpu * 100, f->secs),
	    per((res->p1.steal_s - res->p0.steal_s) * 100, f->secs),
	    (unsigned long long) res->pings);
}

static void
json_line(const struct agbench_opts *o, const struct agbench_result *res,
    const struct figures *f, const char *label)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_addf(&sb,
	    "{\"scenario\":\"%s\",\"label\":", scenario_names[o->scenario]);
	sb_add_json_str(&sb, label, strlen(label));
	sb_addf(&sb,
	    ",\"connections\":%u,\"connections_wanted\":%u,\"rate\":%.1f,"
	    "\"window\":%u,\"size\":%u,\"jwt\":%s,\"setup_s\":%.3f,"
	    "\"setup_handshakes_per_s\":%.1f,",
	    res->ready, o->connections, o->rate, o->window, o->size,
	    o->jwt_key != NULL ? "true" : "false", res->setup_s,
	    per((double) res->setup.handshakes, res->setup_s));
	json_rates(&sb, res, f);
	json_counts(&sb, res);
	json_server(&sb, res, f);
	sb_adds(&sb, "}\n");
	fwrite(sb.data, 1, sb.len, stdout);
	fflush(stdout);
	sb_fini(&sb);
}

static void
summary(const struct agbench_opts *o, const struct agbench_result *res,
    const struct figures *f)
{
	double conns = res->ready > 0 ? (double) res->ready : 1;

	fprintf(stderr,
	    "agbench %s: %u connections ready (setup %.2f s), %.2f s "
	    "measured\n"
	    "  handshakes/s %.0f   publishes/s %.0f   deliveries/s %.0f\n"
	    "  latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n"
	    "  handshake ms: p50 %.2f  p99 %.2f\n",
	    scenario_names[o->scenario], res->ready, res->setup_s, f->secs,
	    per((double) f->handshakes, f->secs),
	    per((double) f->publishes, f->secs),
	    per((double) f->deliveries, f->secs), us(&res->latency, 0.5),
	    us(&res->latency, 0.99), us(&res->latency, 0.999),
	    (double) res->latency.max / 1e3, us(&res->handshake, 0.5) / 1e3,
	    us(&res->handshake, 0.99) / 1e3);
	fprintf(stderr,
	    "  lost %llu  duplicated %llu  errors %llu  throttled %llu\n"
	    "  server: cpu %.2f s (%.0f%%), %.0f deliveries/cpu-s, rss %ld kB "
	    "(+%.0f B/conn)\n"
	    "  agbench: cpu %.2f s (%.0f%%); other processes %.0f%%\n",
	    (unsigned long long) res->lost,
	    (unsigned long long) res->final.duplicated,
	    (unsigned long long) f->errors,
	    (unsigned long long) res->final.throttled, f->server_cpu,
	    per(f->server_cpu * 100, f->secs),
	    per((double) f->deliveries, f->server_cpu), res->p1.rss_kb,
	    (double) f->rss_delta_kb * 1024 / conns, f->client_cpu,
	    per(f->client_cpu * 100, f->secs),
	    per(f->others_cpu * 100, f->secs));
}

void
agbench_report(const struct agbench_opts *o, const struct agbench_result *res,
    const char *label, int quiet)
{
	struct figures f;

	figures_make(res, &f);
	if (!quiet) {
		summary(o, res, &f);
	}
	if (res->p0.missing > 0 || res->p1.missing > 0) {
		fprintf(stderr,
		    "agbench: warning: %d server process(es) could not be "
		    "read "
		    "from /proc: the server figures are wrong\n",
		    res->p0.missing > res->p1.missing ? res->p0.missing
		                                      : res->p1.missing);
	}
	json_line(o, res, &f, label);
}
