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

/* Reads VmRSS and RssAnon (kB) of /proc/pid/status. */
static int
read_rss(pid_t pid, long *rss, long *anon)
{
	char path[64], line[256];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld", rss) == 1) {
			found++;
		} else if (sscanf(line, "RssAnon: %ld", anon) == 1) {
			found++;
		}
	}
	fclose(f);
	return found == 2 ? 0 : -1;
}

/* Adds syscr and syscw of /proc/pid/io: how many reads and writes the
 * server made, so that a run shows how well they were batched. Left as
 * they are where the file cannot be read (another user's process). */
static void
read_io(pid_t pid, struct agbench_proc_sample *s)
{
	char path[64], line[256];
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/io", (int) pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "syscr: %llu", &v) == 1) {
			s->syscr += v;
		} else if (sscanf(line, "syscw: %llu", &v) == 1) {
			s->syscw += v;
		}
	}
	fclose(f);
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
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (f == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Slab: %ld", &kb) == 1) {
			break;
		}
	}
	fclose(f);
	return kb;
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
