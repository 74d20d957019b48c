/*
 * ag-broker: owns a shard of the channels and forwards publishes to the
 * workers that want them. See docs/operations.md.
 */
#include "broker/broker.h"
#include "common/prog.h"

int
main(int argc, char **argv)
{
	struct agconf conf;
	struct broker b;
	int code = 0;

	if (prog_start("ag-broker", &conf, argc, argv, &code) != 0) {
		return code;
	}
	if (broker_init(&b, &conf) == 0) {
		broker_run(&b);
	} else {
		code = 1;
	}
	broker_fini(&b);
	prog_end(&conf);
	return code;
}
