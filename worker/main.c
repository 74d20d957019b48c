/*
 * ag-worker: accepts client sockets and speaks the SocketCluster protocol.
 * See docs/configuration.md for the options.
 */
#include "common/prog.h"
#include "worker/server.h"

int
main(int argc, char **argv)
{
	struct agconf conf;
	struct server srv;
	int code = 0;

	if (prog_start("ag-worker", &conf, argc, argv, &code) != 0) {
		return code;
	}
	if (server_init(&srv, &conf) == 0) {
		server_run(&srv);
	} else {
		code = 1;
	}
	server_fini(&srv);
	prog_end(&conf);
	return code;
}
