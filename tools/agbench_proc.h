/*
 * The server side's resources, read from /proc: CPU time and resident
 * memory summed over a set of processes, their read and write system
 * calls, and the kernel's TCP memory.
 */
#ifndef AG_AGBENCH_PROC_H
#define AG_AGBENCH_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct agbench_proc_sample {
	double cpu_s;       /* user + system seconds, summed */
	long rss_kb;        /* VmRSS, summed */
	long rss_anon_kb;   /* RssAnon, summed */
	long tcp_mem_pages; /* "TCP: ... mem" of /proc/net/sockstat */
	double busy_s;      /* CPU seconds the whole machine has used */
	double steal_s;     /* ... and that the hypervisor took from it */
	long slab_kb;       /* the kernel's slab memory (sockets among it) */
	unsigned long long
	    syscr; /* read-type system calls, summed (/proc/pid/io) */
	unsigned long long syscw; /* write-type system calls, summed */
	int missing;              /* processes that could not be read */
};

/* Reads the n processes of pids (borrowed) into *s. */
void agbench_proc_read(
    const pid_t *pids, size_t n, struct agbench_proc_sample *s);
/* Returns the CPU seconds (user + system) this process has used. */
double agbench_proc_self_cpu(void);
/* Raises the soft open-file limit to the hard one and returns the limit
 * now in force (agbench and agfloor hold thousands of sockets). */
unsigned long agbench_proc_raise_nofile(void);

#endif
