/*
 * Readings from /proc (see agbench_proc.h).
 */
#include "tools/agbench_proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Reads the utime and stime fields (14, 15) of /proc/pid/stat. */
static int
read_cpu(pid_t pid, double *cpu)
{
	char path[64], buf[1024];
	unsigned long ut, st;
	const char *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold blanks and parentheses: skip past the
	 * last ')' */
	p = strrchr(buf, ')');
	if (p == NULL
	    || sscanf(p + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
	           &st)
	        != 2) {
		return -1;
	}
	*cpu = (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
	return 0;
}

/* Reads the "key: number" lines of path named in keys[0..n) into vals
 * (in the same order); returns how many of them it found, or -1 when the
 * file cannot be read. */
static int
read_keyed(const char *path, const char *const *keys, long long *vals, int n)
{
	char line[256];
	int found = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		return -1;
	}
	while (found < n && fgets(line, sizeof(line), f) != NULL) {
		for (int k = 0; k < n; k++) {
			size_t kl = strlen(keys[k]);

			if (strncmp(line, keys[k], kl) == 0
			    && line[kl] == ':') {
				vals[k] = strtoll(line + kl + 1, NULL, 10);
				found++;
				break;
			}
		}
	}
	fclose(f);
	return found;
}

/* Reads VmRSS and RssAnon (kB) of /proc/pid/status. */
static int
read_rss(pid_t pid, long *rss, long *anon)
{
	static const char *const keys[] = { "VmRSS", "RssAnon" };
	char path[64];
	long long v[2];

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	if (read_keyed(path, keys, v, 2) != 2) {
		return -1;
	}
	*rss = (long) v[0];
	*anon = (long) v[1];
	return 0;
}

/* Adds syscr and syscw of /proc/pid/io: how many reads and writes the
 * server made, so that a run shows how well they were batched. Left as
 * they are where the file cannot be read (another user's process). */
static void
read_io(pid_t pid, struct agbench_proc_sample *s)
{
	static const char *const keys[] = { "syscr", "syscw" };
	char path[64];
	long long v[2];

	snprintf(path, sizeof(path), "/proc/%d/io", (int) pid);
	if (read_keyed(path, keys, v, 2) == 2) {
		s->syscr += (unsigned long long) v[0];
		s->syscw += (unsigned long long) v[1];
	}
}

static long
read_tcp_mem(void)
{
	char line[256];
	long mem = -1;
	FILE *f = fopen("/proc/net/sockstat", "r");

	if (f == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *m = strstr(line, " mem ");
		if (strncmp(line, "TCP:", 4) == 0 && m != NULL) {
			mem = strtol(m + 5, NULL, 10);
		}
	}
	fclose(f);
	return mem;
}

/* Reads the machine's busy and stolen time from the "cpu" line of
 * /proc/stat (user nice system idle iowait irq softirq steal ...). */
static void
read_machine(struct agbench_proc_sample *s)
{
	unsigned long long v[8] = { 0 };
	double tck = (double) sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");

	if (f == NULL) {
		return;
	}
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	        &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7])
	    == 8) {
		s->busy_s = (double) (v[0] + v[1] + v[2] + v[5] + v[6]) / tck;
		s->steal_s = (double) v[7] / tck;
	}
	fclose(f);
}

/* Reads "Slab:" of /proc/meminfo (kB), or -1. */
static long
read_slab(void)
{
	static const char *const keys[] = { "Slab" };
	long long kb;

	return read_keyed("/proc/meminfo", keys, &kb, 1) == 1 ? (long) kb : -1;
}

void
agbench_proc_read(const pid_t *pids, size_t n, struct agbench_proc_sample *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		double cpu;
		long rss, anon;
		if (read_cpu(pids[i], &cpu) != 0
		    || read_rss(pids[i], &rss, &anon) != 0) {
			s->missing++;
			continue;
		}
		s->cpu_s += cpu;
		s->rss_kb += rss;
		s->rss_anon_kb += anon;
		read_io(pids[i], s);
	}
	s->tcp_mem_pages = read_tcp_mem();
	read_machine(s);
	s->slab_kb = read_slab();
}

double
agbench_proc_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
	    + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

unsigned long
agbench_proc_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return 0;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (unsigned long) rl.rlim_cur;
}
