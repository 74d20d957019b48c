/*
 * ag-broker: owns a shard of the channels and forwards publishes to the
 * workers that want them. See docs/operations.md.
 */
#include <signal.h>

#include <event2/event.h>
#include <nng/nng.h>

#include "broker/broker.h"
#include "common/agconf.h"
#include "common/hash.h"
#include "common/logger.h"

int
main(int argc, char **argv)
{
	struct agconf conf;
	struct broker b;
	enum logger_level level = LOGGER_INFO;
	int code = 0;

	logger_set_name("ag-broker");
	if (agconf_load_as(&conf, "ag-broker", argc, argv, &code) != 0) {
		agconf_fini(&conf);
		return code;
	}
	logger_parse_level(conf.log_level, &level);
	logger_set_level(level);
	signal(SIGPIPE, SIG_IGN);
	hash_seed_random();
	if (broker_init(&b, &conf) == 0) {
		broker_run(&b);
	} else {
		code = 1;
	}
	broker_fini(&b);
	agconf_fini(&conf);
	libevent_global_shutdown();
	/* Releases nng's threads and global state, so leak checkers see
	 * only what is ours. */
	nng_fini();
	return code;
}
