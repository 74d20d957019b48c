/*
 * What every agcluster program does at start and at exit, in one place.
 */
#ifndef AG_PROG_H
#define AG_PROG_H

#include "common/agconf.h"

/*
 * Names the log after prog, loads the configuration into *conf from every
 * source, sets the log level, ignores SIGPIPE and seeds the process's hash
 * key. Returns 0 to go on (release with prog_end), or 1 when the program
 * must exit with *code (--help, --version, --check-config, a bad value
 * reported naming its source); *conf is then already released.
 */
int prog_start(
    const char *prog, struct agconf *conf, int argc, char **argv, int *code);

/* Releases *conf and the libraries' global state (libevent, nng), so leak
 * checkers see only what is ours. */
void prog_end(struct agconf *conf);

#endif
