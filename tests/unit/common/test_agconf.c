#include "tests/unit/unit.h"
#include "common/agconf.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct agconf c;
static char output[32768];

static void
setup(void)
{
	memset(&c, 0, sizeof(c));
	output[0] = '\0';
}

static void
teardown(void)
{
	agconf_fini(&c);
}

/*
 * Runs agconf_load_from with args (NULL-terminated, without argv[0]) and
 * envp, keeping what it printed on stdout and stderr in output.
 */
static int
load(char **args, char **envp, int *code)
{
	char *argv[32] = { "ag-worker" };
	int argc = 1, out = dup(1), err = dup(2), rc;
	FILE *tmp = tmpfile();
	size_t n;

	while (args != NULL && args[argc - 1] != NULL) {
		argv[argc] = args[argc - 1];
		argc++;
	}
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(tmp), 1);
	dup2(fileno(tmp), 2);
	rc = agconf_load_from(&c, argc, argv, envp, code);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	rewind(tmp);
	n = fread(output, 1, sizeof(output) - 1, tmp);
	output[n] = '\0';
	fclose(tmp);
	return rc;
}

#define ARGS(...) ((char *[]) { __VA_ARGS__, NULL })
#define ENV(...)  ((char *[]) { __VA_ARGS__, NULL })

/* Loads, expecting a refusal whose message contains want. */
static void
assert_refused(char **args, char **envp, const char *want)
{
	int code = -1;

	ck_assert_int_eq(load(args, envp, &code), 1);
	ck_assert_int_eq(code, 2);
	ck_assert_msg(strstr(output, want) != NULL, "\"%s\" not in \"%s\"",
	    want, output);
	ck_assert_ptr_null(c.host);
}

START_TEST(test_defaults)
{
	int code = -1;

	ck_assert_int_eq(load(NULL, NULL, &code), 0);
	ck_assert_int_eq(code, -1);
	ck_assert_str_eq(c.host, "");
	ck_assert_int_eq(c.port, 8000);
	ck_assert_str_eq(c.path, "/socketcluster/");
	ck_assert_int_eq(c.ping_interval, 8000);
	ck_assert_int_eq(c.ping_timeout, 30000);
	ck_assert_int_eq(c.ping_timeout_disabled, 0);
	ck_assert_int_eq(c.handshake_timeout, 10000);
	ck_assert_int_eq(c.protocol_version, 2);
	ck_assert_int_eq(c.allow_client_publish, 1);
	ck_assert_int_eq(c.socket_channel_limit, 1000);
	ck_assert_int_eq(c.max_payload, 104857600);
	ck_assert_str_eq(c.origins, "*:*");
	ck_assert_int_eq(c.max_connections, 0);
	ck_assert_int_eq(c.socket_output_limit, 4194304);
	ck_assert_int_eq(c.backlog, 1024);
	ck_assert_str_eq(c.log_level, "info");
	ck_assert_str_eq(output, "");
}
END_TEST

START_TEST(test_env_overrides)
{
	int code;

	ck_assert_int_eq(load(NULL,
	                     ENV("AG_PORT=9000", "AG_MAX_PAYLOAD=1m",
	                         "AG_ALLOW_CLIENT_PUBLISH=no",
	                         "AG_LOG_LEVEL=debug", "AG_HOST=127.0.0.1"),
	                     &code),
	    0);
	ck_assert_int_eq(c.port, 9000);
	ck_assert_int_eq(c.max_payload, 1048576);
	ck_assert_int_eq(c.allow_client_publish, 0);
	ck_assert_str_eq(c.log_level, "debug");
	ck_assert_str_eq(c.host, "127.0.0.1");
}
END_TEST

START_TEST(test_flag_overrides_env)
{
	int code;

	ck_assert_int_eq(
	    load(ARGS("--port=9001", "--ping-interval", "1000",
	             "--no-allow-client-publish", "--socket_output_limit=64K"),
	        ENV("AG_PORT=9000", "AG_PING_INTERVAL=2000"), &code),
	    0);
	ck_assert_int_eq(c.port, 9001);
	ck_assert_int_eq(c.ping_interval, 1000);
	ck_assert_int_eq(c.allow_client_publish, 0);
	ck_assert_int_eq(c.socket_output_limit, 65536);
}
END_TEST

START_TEST(test_config_file)
{
	char path[] = "/tmp/test_agconf_XXXXXX", arg[64];
	const char *text = "# worker\nport = 7000\npath = \"/sc/\"\n"
	                   "protocol_version = 1\n";
	int fd = mkstemp(path), code;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int) strlen(text));
	close(fd);
	snprintf(arg, sizeof(arg), "--config=%s", path);
	ck_assert_int_eq(load(ARGS(arg), ENV("AG_PORT=7001"), &code), 0);
	unlink(path);
	ck_assert_int_eq(c.port, 7001);
	ck_assert_str_eq(c.path, "/sc/");
	ck_assert_int_eq(c.protocol_version, 1);
}
END_TEST

START_TEST(test_protocol_version_3)
{
	assert_refused(ARGS("--protocol-version=3"), NULL,
	    "ag-worker: flag --protocol-version: bad value \"3\" for "
	    "protocol_version: must be between 1 and 2\n");
	assert_refused(NULL, ENV("AG_PROTOCOL_VERSION=3"),
	    "ag-worker: environment variable AG_PROTOCOL_VERSION: bad value "
	    "\"3\" for protocol_version: must be between 1 and 2\n");
}
END_TEST

START_TEST(test_ping_interval_not_below_timeout)
{
	assert_refused(ARGS("--ping-interval=30000"), NULL,
	    "ag-worker: ping_interval (30000, flag --ping-interval) must be "
	    "less than ping_timeout (30000, default) unless "
	    "ping_timeout_disabled is true\n");
	agconf_fini(&c);
	assert_refused(NULL, ENV("AG_PING_TIMEOUT=5000"),
	    "ping_interval (8000, default) must be less than ping_timeout "
	    "(5000, environment variable AG_PING_TIMEOUT)");
}
END_TEST

START_TEST(test_ping_timeout_disabled)
{
	int code;

	ck_assert_int_eq(load(ARGS("--ping-timeout-disabled"),
	                     ENV("AG_PING_INTERVAL=60000"), &code),
	    0);
	ck_assert_int_eq(c.ping_timeout_disabled, 1);
	ck_assert_int_eq(c.ping_interval, 60000);
}
END_TEST

static const struct {
	char *arg;
	const char *why;
} bad[] = {
	{ "--port=70000", "must be between 0 and 65535" },
	{ "--port=abc", "not an integer" },
	{ "--path=socketcluster/", "must start with '/'" },
	{ "--log-level=verbose",
	    "must be one of debug, info, warn, "
	    "error" },
	{ "--max-payload=127", "must be between 128 and 1G" },
	{ "--max-payload=1025M", "must be between 128 and 1G" },
	{ "--socket-output-limit=63k", "must be between 64K and 1G" },
	{ "--socket-channel-limit=-1", "must be between 0 and 1000000" },
	{ "--ping-interval=0", "must be between 1 and 3600000" },
	{ "--handshake-timeout=3600001", "must be between 1 and 3600000" },
	{ "--backlog=0", "must be between 1 and 65535" },
	{ "--max-connections=-1", "must be between 0 and 10000000" },
};

START_TEST(test_bad_values)
{
	assert_refused(ARGS(bad[_i].arg), NULL, bad[_i].why);
}
END_TEST

START_TEST(test_limits_accepted)
{
	int code;

	ck_assert_int_eq(load(ARGS("--max-payload=1G", "--port=0",
	                          "--socket-output-limit=64k", "--host=*"),
	                     NULL, &code),
	    0);
	ck_assert_int_eq(c.max_payload, 1LL << 30);
	ck_assert_int_eq(c.port, 0);
	ck_assert_int_eq(c.socket_output_limit, 65536);
	ck_assert_str_eq(c.host, "");
}
END_TEST

START_TEST(test_unknown_flag)
{
	assert_refused(ARGS("--prot=80"), NULL,
	    "ag-worker: unknown flag --prot (see --help)\n");
}
END_TEST

START_TEST(test_check_config)
{
	int code = -1;

	ck_assert_int_eq(
	    load(ARGS("--check-config", "--port=8080"), NULL, &code), 1);
	ck_assert_int_eq(code, 0);
	ck_assert_ptr_nonnull(strstr(output, "configuration OK\n"));
	ck_assert_ptr_nonnull(
	    strstr(output, "\nport = 8080\t# flag --port\n"));
	ck_assert_ptr_nonnull(
	    strstr(output, "\nmax_payload = 100M\t# default\n"));
	ck_assert_ptr_nonnull(
	    strstr(output, "\npath = \"/socketcluster/\"\t# default\n"));
	ck_assert_ptr_null(c.path);
}
END_TEST

START_TEST(test_check_config_invalid)
{
	int code = -1;

	ck_assert_int_eq(
	    load(ARGS("--check-config"), ENV("AG_PING_INTERVAL=40000"), &code),
	    1);
	ck_assert_int_eq(code, 2);
	ck_assert_ptr_null(strstr(output, "configuration OK"));
}
END_TEST

START_TEST(test_help)
{
	static const char *const flags[] = { "--host=", "--port=", "--path=",
		"--ping-interval=", "--ping-timeout=",
		"--[no-]ping-timeout-disabled", "--handshake-timeout=",
		"--protocol-version=", "--[no-]allow-client-publish",
		"--socket-channel-limit=", "--max-payload=", "--origins=",
		"--max-connections=", "--socket-output-limit=", "--backlog=",
		"--log-level=", "--check-config", "--config=" };
	int code = -1;

	ck_assert_int_eq(load(ARGS("--help"), NULL, &code), 1);
	ck_assert_int_eq(code, 0);
	ck_assert_ptr_nonnull(strstr(output, "Usage: ag-worker"));
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		ck_assert_msg(
		    strstr(output, flags[i]) != NULL, "no %s", flags[i]);
	}
	ck_assert_ptr_nonnull(strstr(output, "env AG_SOCKET_OUTPUT_LIMIT\n"));
}
END_TEST

START_TEST(test_version)
{
	int code = -1;

	ck_assert_int_eq(load(ARGS("--version"), NULL, &code), 1);
	ck_assert_int_eq(code, 0);
	ck_assert_int_eq(strncmp(output, "ag-worker ", 10), 0);
}
END_TEST

START_TEST(test_parse_addresses)
{
	struct agconf_addr a[3];

	ck_assert_int_eq(agconf_parse_addresses("", a, 3), 0);
	ck_assert_int_eq(
	    agconf_parse_addresses("127.0.0.1:9100, broker-2:9200", a, 3), 2);
	ck_assert_str_eq(a[0].host, "127.0.0.1");
	ck_assert_int_eq(a[0].port, 9100);
	ck_assert_str_eq(a[1].host, "broker-2");
	ck_assert_int_eq(a[1].port, 9200);
	/* IPv6 literals: the port is after the last colon. */
	ck_assert_int_eq(agconf_parse_addresses("::1:9100", a, 3), 1);
	ck_assert_str_eq(a[0].host, "::1");
	ck_assert_int_eq(agconf_parse_addresses("host", a, 3), -1);
	ck_assert_int_eq(agconf_parse_addresses(":9100", a, 3), -1);
	ck_assert_int_eq(agconf_parse_addresses("h:0", a, 3), -1);
	ck_assert_int_eq(agconf_parse_addresses("h:65536", a, 3), -1);
	ck_assert_int_eq(agconf_parse_addresses("h:12x", a, 3), -1);
	ck_assert_int_eq(agconf_parse_addresses("h:1,,h:2", a, 3), -1);
	ck_assert_int_eq(agconf_parse_addresses("a:1,b:2,c:3,d:4", a, 3), -1);
}
END_TEST

START_TEST(test_bad_broker_addresses_rejected)
{
	char *argv[] = { "ag-worker", "--broker-addresses=localhost", NULL };
	char *envp[] = { NULL };
	struct agconf conf;
	int code = -1;

	ck_assert_int_eq(agconf_load_from(&conf, 2, argv, envp, &code), 1);
	ck_assert_int_eq(code, 2);
	agconf_fini(&conf);
}
END_TEST

static Suite *
agconf_suite(void)
{
	Suite *s = suite_create("agconf");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_env_overrides);
	tcase_add_test(tc, test_flag_overrides_env);
	tcase_add_test(tc, test_config_file);
	tcase_add_test(tc, test_protocol_version_3);
	tcase_add_test(tc, test_ping_interval_not_below_timeout);
	tcase_add_test(tc, test_ping_timeout_disabled);
	tcase_add_loop_test(
	    tc, test_bad_values, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_limits_accepted);
	tcase_add_test(tc, test_unknown_flag);
	tcase_add_test(tc, test_check_config);
	tcase_add_test(tc, test_check_config_invalid);
	tcase_add_test(tc, test_help);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_parse_addresses);
	tcase_add_test(tc, test_bad_broker_addresses_rejected);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(agconf_suite());
}
