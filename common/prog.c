#include "prog.h"

#include <signal.h>

#include <event2/event.h>
#include <nng/nng.h>

#include "common/hash.h"
#include "common/logger.h"

int
prog_start(
    const char *prog, struct agconf *conf, int argc, char **argv, int *code)
{
	enum logger_level level = LOGGER_INFO;

	logger_set_name(prog);
	if (agconf_load_as(conf, prog, argc, argv, code) != 0) {
		agconf_fini(conf);
		return 1;
	}
	logger_parse_level(conf->log_level, &level);
	logger_set_level(level);
	/* A peer that vanishes must be an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	hash_seed_random();
	return 0;
}

void
prog_end(struct agconf *conf)
{
	agconf_fini(conf);
	libevent_global_shutdown();
	nng_fini();
}
