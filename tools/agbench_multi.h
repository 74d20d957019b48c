/*
 * agbench in several processes, for more idle connections than one
 * process may open files: each child holds its share of the connections
 * (agbench_run with ready_fd and hold_fd), and the parent measures the
 * server while they all hold them.
 */
#ifndef AG_AGBENCH_MULTI_H
#define AG_AGBENCH_MULTI_H

#include "tools/agbench_run.h"

/*
 * Fills *co with child k's options: its share of o's connections (the
 * remainder to the first children) and its own source addresses, from
 * 127.0.0.1 + o->source_first + k * o->sources, so that together the
 * children reach one server port from procs x sources addresses.
 */
void agbench_multi_share(
    const struct agbench_opts *o, unsigned k, struct agbench_opts *co);

/*
 * Runs the idle scenario of o (borrowed) in o->procs children and fills
 * *res as agbench_run would (client_cpu_s is the children's). Returns 0,
 * or -1 with a message on stderr.
 */
int agbench_multi_run(
    const struct agbench_opts *o, struct agbench_result *res);

#endif
