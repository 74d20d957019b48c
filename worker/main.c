/*
 * ag-worker: accepts client sockets and speaks the SocketCluster protocol.
 * See docs/configuration.md for the options.
 */
#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>

#include "common/hash.h"
#include "common/logger.h"
#include "worker/server.h"
#include "worker/wconf.h"

int
main(int argc, char **argv)
{
	struct wconf conf;
	struct server srv;
	enum logger_level level = LOGGER_INFO;
	int code = 0;

	logger_set_name("ag-worker");
	if (wconf_load(&conf, argc, argv, &code) != 0) {
		wconf_fini(&conf);
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
	wconf_fini(&conf);
	libevent_global_shutdown();
	return code;
}
