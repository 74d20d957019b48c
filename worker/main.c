/*
 * ag-worker: accepts client sockets and speaks the SocketCluster protocol.
 * See docs/configuration.md for the options.
 */
#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>
#include <nng/nng.h>

#include "common/hash.h"
#include "common/logger.h"
#include "worker/server.h"
#include "common/agconf.h"

int
main(int argc, char **argv)
{
	struct agconf conf;
	struct server srv;
	enum logger_level level = LOGGER_INFO;
	int code = 0;

	logger_set_name("ag-worker");
	if (agconf_load(&conf, argc, argv, &code) != 0) {
		agconf_fini(&conf);
		return code;
	}
	logger_parse_level(conf.log_level, &level);
	logger_set_level(level);
	signal(SIGPIPE, SIG_IGN);
	hash_seed_random();
	if (server_init(&srv, &conf) == 0) {
		server_run(&srv);
	} else {
		code = 1;
	}
	server_fini(&srv);
	agconf_fini(&conf);
	libevent_global_shutdown();
	/* Releases nng's threads and global state, so leak checkers see
	 * only what is ours. */
	nng_fini();
	return code;
}
