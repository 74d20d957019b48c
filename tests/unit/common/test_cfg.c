#include "tests/unit/unit.h"
#include "common/cfg.h"

#include <check.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tconf {
	long long num;
	int flag;
	char *name;
	long long wait_time;
	long long buf_size;
	long long big;
	struct cfg_list plugin;
	char *level;
	char *dir;
	char *unset;
};

#define T(field) offsetof(struct tconf, field)

static const char *const levels[] = { "low", "high", NULL };

static const char *
check_dir(const char *s)
{
	return s[0] == '/' ? NULL : "must start with '/'";
}

static const struct cfg_opt opts[] = {
	{ .name = "num",
	    .type = CFG_INT,
	    .def = "10",
	    .min = -100,
	    .max = 1000,
	    .offset = T(num),
	    .help = "a number" },
	{ .name = "flag",
	    .type = CFG_BOOL,
	    .def = "false",
	    .offset = T(flag),
	    .help = "a switch" },
	{ .name = "name",
	    .type = CFG_STR,
	    .def = "x",
	    .offset = T(name),
	    .help = "a name" },
	{ .name = "wait_time",
	    .type = CFG_MS,
	    .def = "500",
	    .min = 1,
	    .max = 60000,
	    .offset = T(wait_time),
	    .help = "a delay" },
	{ .name = "buf_size",
	    .type = CFG_SIZE,
	    .def = "2k",
	    .min = 0,
	    .max = 1LL << 40,
	    .offset = T(buf_size),
	    .help = "a size" },
	{ .name = "big",
	    .type = CFG_INT,
	    .def = "0",
	    .min = LLONG_MIN,
	    .max = LLONG_MAX,
	    .offset = T(big),
	    .help = "any" },
	{ .name = "plugin",
	    .type = CFG_LIST,
	    .offset = T(plugin),
	    .help = "a plugin to load" },
	{ .name = "level",
	    .type = CFG_STR,
	    .def = "low",
	    .offset = T(level),
	    .choices = levels,
	    .help = "a level" },
	{ .name = "dir",
	    .type = CFG_STR,
	    .def = "/",
	    .offset = T(dir),
	    .check = check_dir,
	    .help = "a directory" },
	{ .name = "unset",
	    .type = CFG_STR,
	    .offset = T(unset),
	    .help = "nothing by default" },
};

static const struct cfg_spec spec = {
	.prog = "tprog",
	.version = "9.9",
	.summary = "A test program.",
	.opts = opts,
	.nopts = sizeof(opts) / sizeof(opts[0]),
};

static struct tconf tc;
static struct cfg cfg;
static char *out_text, *err_text;
static size_t out_len, err_len;

static void
setup(void)
{
	cfg_init(&cfg, &spec, &tc);
	cfg.out = open_memstream(&out_text, &out_len);
	cfg.err = open_memstream(&err_text, &err_len);
}

static void
teardown(void)
{
	fclose(cfg.out);
	fclose(cfg.err);
	free(out_text);
	free(err_text);
	cfg_free_values(&spec, &tc);
	cfg_fini(&cfg);
}

/* Starts again from the defaults, keeping the captured streams. */
static void
reset(void)
{
	FILE *out = cfg.out, *err = cfg.err;

	cfg_free_values(&spec, &tc);
	cfg_fini(&cfg);
	cfg_init(&cfg, &spec, &tc);
	cfg.out = out;
	cfg.err = err;
}

/* Runs cfg_load with argv (NULL-terminated, without argv[0]) and envp. */
static int
load(char **args, char **envp)
{
	char *argv[32] = { "tprog" };
	int argc = 1;

	while (args != NULL && args[argc - 1] != NULL) {
		argv[argc] = args[argc - 1];
		argc++;
	}
	return cfg_load(&cfg, argc, argv, envp);
}

#define ARGS(...) ((char *[]) { __VA_ARGS__, NULL })
#define ENV(...)  ((char *[]) { __VA_ARGS__, NULL })

/* Writes text to a new temporary file; returns its owned path. */
static char *
temp_file(const char *text)
{
	char *path = strdup("/tmp/test_cfg_XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int) strlen(text));
	close(fd);
	return path;
}

static int
text(const char *s)
{
	return cfg_parse_text(&cfg, s, "/etc/t.conf");
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(load(NULL, NULL), CFG_RUN);
	ck_assert_int_eq(tc.num, 10);
	ck_assert_int_eq(tc.flag, 0);
	ck_assert_str_eq(tc.name, "x");
	ck_assert_int_eq(tc.wait_time, 500);
	ck_assert_int_eq(tc.buf_size, 2048);
	ck_assert_int_eq(tc.plugin.count, 0);
	ck_assert_ptr_nonnull(tc.plugin.items);
	ck_assert_ptr_null(tc.plugin.items[0]);
	ck_assert_str_eq(tc.level, "low");
	ck_assert_ptr_null(tc.unset);
	ck_assert_str_eq(cfg_origin(&cfg, "num"), "default");
	ck_assert_ptr_null(cfg_origin(&cfg, "nope"));
}
END_TEST

START_TEST(test_each_source)
{
	ck_assert_int_eq(text("num = 1\n"), 0);
	ck_assert_int_eq(tc.num, 1);
	ck_assert_str_eq(cfg_origin(&cfg, "num"), "/etc/t.conf:1");
	ck_assert_int_eq(cfg_parse_env(&cfg, ENV("AG_WAIT_TIME=7")), 0);
	ck_assert_int_eq(tc.wait_time, 7);
	ck_assert_str_eq(cfg_origin(&cfg, "wait_time"),
	    "environment variable AG_WAIT_TIME");
	ck_assert_int_eq(load(ARGS("--buf-size=3"), NULL), CFG_RUN);
	ck_assert_int_eq(tc.buf_size, 3);
	ck_assert_str_eq(cfg_origin(&cfg, "buf_size"), "flag --buf-size");
}
END_TEST

START_TEST(test_precedence)
{
	char *path = temp_file("num = 1\nwait_time = 1\nbuf_size = 1\n");
	char cfgvar[64];

	snprintf(cfgvar, sizeof(cfgvar), "AG_CONFIG=%s", path);
	ck_assert_int_eq(
	    load(ARGS("--num=3"), ENV(cfgvar, "AG_NUM=2", "AG_WAIT_TIME=2")),
	    CFG_RUN);
	ck_assert_int_eq(tc.num, 3);       /* flag > env > file */
	ck_assert_int_eq(tc.wait_time, 2); /* env > file */
	ck_assert_int_eq(tc.buf_size, 1);  /* file > default */
	ck_assert_int_eq(tc.big, 0);
	ck_assert_str_eq(cfg_origin(&cfg, "num"), "flag --num");
	ck_assert_str_eq(cfg_origin(&cfg, "wait_time"),
	    "environment variable AG_WAIT_TIME");
	ck_assert_str_eq(
	    cfg_origin(&cfg, "buf_size"), strcat(strcpy(cfgvar, path), ":3"));
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_overridden_source_still_checked)
{
	ck_assert_int_eq(load(ARGS("--num=5"), ENV("AG_NUM=abc")), CFG_ERROR);
	ck_assert_str_eq(cfg.error,
	    "environment variable AG_NUM: bad value \"abc\" for num: not an "
	    "integer");
}
END_TEST

START_TEST(test_later_in_same_source_wins)
{
	ck_assert_int_eq(text("num = 1\nnum = 2\n"), 0);
	ck_assert_int_eq(tc.num, 2);
	ck_assert_str_eq(cfg_origin(&cfg, "num"), "/etc/t.conf:2");
	ck_assert_int_eq(load(ARGS("--name", "a", "--name=b"), NULL), CFG_RUN);
	ck_assert_str_eq(tc.name, "b");
}
END_TEST

START_TEST(test_integers)
{
	ck_assert_int_eq(text("num = +1000\nbig = 9223372036854775807\n"), 0);
	ck_assert_int_eq(tc.num, 1000);
	ck_assert_int_eq(tc.big, LLONG_MAX);
	ck_assert_int_eq(
	    load(ARGS("--num=-100", "--big=-9223372036854775808"), NULL),
	    CFG_RUN);
	ck_assert_int_eq(tc.num, -100);
	ck_assert_int_eq(tc.big, LLONG_MIN);
}
END_TEST

static const struct {
	const char *text;
	const char *error;
} bad_numbers[] = {
	{ "num = abc", "bad value \"abc\" for num: not an integer" },
	{ "num = 12abc", "bad value \"12abc\" for num: not an integer" },
	{ "num = 1.5", "bad value \"1.5\" for num: not an integer" },
	{ "num = 1k", "bad value \"1k\" for num: not an integer" },
	{ "num =", "bad value \"\" for num: not an integer" },
	{ "num = -", "bad value \"-\" for num: not an integer" },
	{ "num = 0x10", "bad value \"0x10\" for num: not an integer" },
	{ "num = 1001",
	    "bad value \"1001\" for num: must be between -100 and 1000" },
	{ "num = -101",
	    "bad value \"-101\" for num: must be between -100 and 1000" },
	{ "num = 99999999999999999999",
	    "bad value \"99999999999999999999\" for num: must be between -100 "
	    "and 1000" },
	{ "big = 9223372036854775808",
	    "bad value \"9223372036854775808\" for big: must be between "
	    "-9223372036854775808 and 9223372036854775807" },
	{ "big = -9223372036854775809",
	    "bad value \"-9223372036854775809\" for big: must be between "
	    "-9223372036854775808 and 9223372036854775807" },
	{ "wait_time = 0",
	    "bad value \"0\" for wait_time: must be between 1 and 60000" },
	{ "wait_time = 5s",
	    "bad value \"5s\" for wait_time: not an integer number of "
	    "milliseconds" },
	{ "buf_size = 1kb",
	    "bad value \"1kb\" for buf_size: not a size (integer, optional k, "
	    "m or g)" },
	{ "buf_size = k",
	    "bad value \"k\" for buf_size: not a size (integer, optional k, m "
	    "or g)" },
	{ "buf_size = 1t",
	    "bad value \"1t\" for buf_size: not a size (integer, optional k, "
	    "m "
	    "or g)" },
	{ "buf_size = 1025G",
	    "bad value \"1025G\" for buf_size: must be between 0 and 1024G" },
	{ "buf_size = 9007199254740992G",
	    "bad value \"9007199254740992G\" for buf_size: must be between 0 "
	    "and 1024G" },
	{ "buf_size = -1k",
	    "bad value \"-1k\" for buf_size: must be between 0 and 1024G" },
};

START_TEST(test_bad_numbers)
{
	char want[256];

	snprintf(
	    want, sizeof(want), "/etc/t.conf:1: %s", bad_numbers[_i].error);
	ck_assert_int_eq(text(bad_numbers[_i].text), -1);
	ck_assert_str_eq(cfg.error, want);
}
END_TEST

START_TEST(test_sizes)
{
	static const struct {
		const char *text;
		long long bytes;
	} sizes[] = {
		{ "0", 0 },
		{ "512", 512 },
		{ "1k", 1024 },
		{ "3K", 3072 },
		{ "2m", 2 << 20 },
		{ "5M", 5 << 20 },
		{ "1g", 1LL << 30 },
		{ "1024G", 1LL << 40 },
	};
	char arg[64];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(arg, sizeof(arg), "--buf-size=%s", sizes[i].text);
		ck_assert_int_eq(
		    cfg_parse_args(&cfg, 2, (char *[]) { "t", arg }), 0);
		ck_assert_int_eq(tc.buf_size, sizes[i].bytes);
	}
}
END_TEST

START_TEST(test_booleans)
{
	static const char *yes[] = { "true", "TRUE", "Yes", "on", "ON", "1" };
	static const char *no[] = { "false", "False", "no", "NO", "off", "0" };
	char line[64];

	for (size_t i = 0; i < 6; i++) {
		snprintf(line, sizeof(line), "flag = %s", yes[i]);
		ck_assert_int_eq(text(line), 0);
		ck_assert_int_eq(tc.flag, 1);
		snprintf(line, sizeof(line), "flag = %s", no[i]);
		ck_assert_int_eq(text(line), 0);
		ck_assert_int_eq(tc.flag, 0);
	}
	ck_assert_int_eq(text("flag = 2"), -1);
	ck_assert_str_eq(cfg.error,
	    "/etc/t.conf:1: bad value \"2\" for flag: not a boolean "
	    "(true/false, yes/no, on/off, 1/0)");
	ck_assert_int_eq(text("flag = tru"), -1);
	ck_assert_int_eq(text("flag ="), -1);
}
END_TEST

START_TEST(test_boolean_flags)
{
	ck_assert_int_eq(load(ARGS("--flag"), NULL), CFG_RUN);
	ck_assert_int_eq(tc.flag, 1);
	ck_assert_int_eq(cfg_parse_args(&cfg, 2, ARGS("t", "--no-flag")), 0);
	ck_assert_int_eq(tc.flag, 0);
	ck_assert_int_eq(cfg_parse_args(&cfg, 2, ARGS("t", "--flag=yes")), 0);
	ck_assert_int_eq(tc.flag, 1);
	ck_assert_int_eq(cfg_parse_args(&cfg, 2, ARGS("t", "--no_flag")), 0);
	ck_assert_int_eq(tc.flag, 0);
	ck_assert_int_eq(cfg_parse_args(&cfg, 2, ARGS("t", "--flag=off")), 0);
	ck_assert_int_eq(tc.flag, 0);
}
END_TEST

START_TEST(test_boolean_flag_errors)
{
	ck_assert_int_eq(load(ARGS("--no-flag=true"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error, "flag --no-flag takes no value");
	/* A boolean never takes the next argument: it is a stray one. */
	ck_assert_int_eq(load(ARGS("--flag", "false"), NULL), CFG_ERROR);
	ck_assert_str_eq(
	    cfg.error, "unexpected argument \"false\" (see --help)");
	ck_assert_int_eq(load(ARGS("--no-num"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error, "unknown flag --no-num (see --help)");
	ck_assert_int_eq(load(ARGS("--flag=maybe"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error,
	    "flag --flag: bad value \"maybe\" for flag: not a boolean "
	    "(true/false, yes/no, on/off, 1/0)");
}
END_TEST

START_TEST(test_flag_forms)
{
	ck_assert_int_eq(load(ARGS("--wait-time=5"), NULL), CFG_RUN);
	ck_assert_int_eq(tc.wait_time, 5);
	ck_assert_int_eq(load(ARGS("--wait_time=6"), NULL), CFG_RUN);
	ck_assert_int_eq(tc.wait_time, 6);
	ck_assert_int_eq(load(ARGS("--wait-time", "7"), NULL), CFG_RUN);
	ck_assert_int_eq(tc.wait_time, 7);
	ck_assert_int_eq(load(ARGS("--name="), NULL), CFG_RUN);
	ck_assert_str_eq(tc.name, "");
	ck_assert_int_eq(load(ARGS("--name", "a=b"), NULL), CFG_RUN);
	ck_assert_str_eq(tc.name, "a=b");
}
END_TEST

START_TEST(test_flag_errors)
{
	ck_assert_int_eq(load(ARGS("--wait-time", "-5"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error,
	    "flag --wait-time: bad value \"-5\" for wait_time: must be "
	    "between "
	    "1 and 60000");
	ck_assert_int_eq(load(ARGS("--prot=1"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error, "unknown flag --prot (see --help)");
	/* Neither prefixes nor extensions of a name are that name. */
	ck_assert_int_eq(load(ARGS("--nu=5"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error, "unknown flag --nu (see --help)");
	ck_assert_int_eq(load(ARGS("--numb=5"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error, "unknown flag --numb (see --help)");
	ck_assert_int_eq(load(ARGS("extra"), NULL), CFG_ERROR);
	ck_assert_str_eq(
	    cfg.error, "unexpected argument \"extra\" (see --help)");
	ck_assert_int_eq(load(ARGS("-n"), NULL), CFG_ERROR);
	ck_assert_int_eq(load(ARGS("--"), NULL), CFG_ERROR);
	ck_assert_int_eq(load(ARGS("--num"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error, "flag --num: missing value");
	ck_assert_int_eq(load(ARGS("--check-config=yes"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error, "flag --check-config takes no value");
}
END_TEST

START_TEST(test_first_error_stops)
{
	ck_assert_int_eq(load(ARGS("--num=x", "--num=y"), NULL), CFG_ERROR);
	ck_assert_str_eq(
	    cfg.error, "flag --num: bad value \"x\" for num: not an integer");
	ck_assert_int_eq(text("num = 5\nnum = q\nnum = r\nnum = 6\n"), -1);
	ck_assert_str_eq(cfg.error,
	    "/etc/t.conf:2: bad value \"q\" for num: not an integer");
	ck_assert_int_eq(tc.num, 5);
}
END_TEST

START_TEST(test_error_printed_with_program)
{
	ck_assert_int_eq(load(NULL, ENV("AG_NUM=70000")), CFG_ERROR);
	fflush(cfg.err);
	ck_assert_str_eq(err_text,
	    "tprog: environment variable AG_NUM: bad value \"70000\" for num: "
	    "must be between -100 and 1000\n");
}
END_TEST

START_TEST(test_env)
{
	ck_assert_int_eq(
	    load(NULL,
	        ENV("AG_NUMBER=1", "ag_num=2", "AG_NUM", "AG_FLAG=on",
	            "AG_NAME=", "AG_NUM=3", "AG_NUM=4")),
	    CFG_RUN);
	ck_assert_int_eq(tc.num, 3);
	ck_assert_int_eq(tc.flag, 1);
	ck_assert_str_eq(tc.name, "");
	ck_assert_str_eq(
	    cfg_origin(&cfg, "name"), "environment variable AG_NAME");
	ck_assert_int_eq(load(NULL, ENV("AG_BUF_SIZE=")), CFG_ERROR);
	ck_assert_str_eq(cfg.error,
	    "environment variable AG_BUF_SIZE: bad value \"\" for buf_size: "
	    "not a size (integer, optional k, m or g)");
}
END_TEST

START_TEST(test_file_syntax)
{
	ck_assert_int_eq(text("# a comment\n"
	                      "\n"
	                      "   \t\n"
	                      "  num=  7   # trailing comment\n"
	                      "name = a#b\r\n"
	                      "\t# indented comment\n"
	                      "dir = /x y   \n"
	                      "level=high"),
	    0);
	ck_assert_int_eq(tc.num, 7);
	ck_assert_str_eq(tc.name, "a#b");
	ck_assert_str_eq(tc.dir, "/x y");
	ck_assert_str_eq(tc.level, "high");
	ck_assert_str_eq(cfg_origin(&cfg, "level"), "/etc/t.conf:8");
	ck_assert_int_eq(text("name = # only a comment"), 0);
	ck_assert_str_eq(tc.name, "");
	ck_assert_int_eq(text("wait-time = 9"), 0);
	ck_assert_int_eq(tc.wait_time, 9);
}
END_TEST

START_TEST(test_file_quotes)
{
	ck_assert_int_eq(
	    text("name = \"a b # not a comment\"  # comment\n"), 0);
	ck_assert_str_eq(tc.name, "a b # not a comment");
	ck_assert_int_eq(text("name = \"say \\\"hi\\\" \\\\o/\""), 0);
	ck_assert_str_eq(tc.name, "say \"hi\" \\o/");
	ck_assert_int_eq(text("name = \"  \""), 0);
	ck_assert_str_eq(tc.name, "  ");
	ck_assert_int_eq(text("name = \"\""), 0);
	ck_assert_str_eq(tc.name, "");
	ck_assert_int_eq(text("num = \"12\""), 0);
	ck_assert_int_eq(tc.num, 12);
}
END_TEST

START_TEST(test_file_errors)
{
	ck_assert_int_eq(text("num = 1\n\n# x\n\n\n\nprot = 80\n"), -1);
	ck_assert_str_eq(cfg.error, "/etc/t.conf:7: unknown option \"prot\"");
	ck_assert_int_eq(text("num 5"), -1);
	ck_assert_str_eq(cfg.error, "/etc/t.conf:1: expected name = value");
	ck_assert_int_eq(text("= 5"), -1);
	ck_assert_str_eq(cfg.error, "/etc/t.conf:1: expected name = value");
	ck_assert_int_eq(text("name = \"abc"), -1);
	ck_assert_str_eq(
	    cfg.error, "/etc/t.conf:1: unterminated quoted value for name");
	ck_assert_int_eq(text("name = \"a\\nb\""), -1);
	ck_assert_str_eq(cfg.error,
	    "/etc/t.conf:1: bad escape in quoted value (only \\\" and \\\\) "
	    "for name");
	ck_assert_int_eq(text("name = \"a\" b"), -1);
	ck_assert_str_eq(cfg.error,
	    "/etc/t.conf:1: unexpected text after quoted value for name");
	ck_assert_int_eq(text("check_config = 1"), -1);
	ck_assert_str_eq(
	    cfg.error, "/etc/t.conf:1: unknown option \"check_config\"");
}
END_TEST

START_TEST(test_config_file_flag)
{
	char *path = temp_file("# test\nnum = 42\n");
	char arg[64];

	snprintf(arg, sizeof(arg), "--config=%s", path);
	ck_assert_int_eq(load(ARGS(arg), NULL), CFG_RUN);
	ck_assert_int_eq(tc.num, 42);
	snprintf(arg, sizeof(arg), "%s:2", path);
	ck_assert_str_eq(cfg_origin(&cfg, "num"), arg);
	/* --config wins over AG_CONFIG, which would fail. */
	ck_assert_int_eq(
	    load(ARGS("--config", path), ENV("AG_CONFIG=/nonexistent/x")),
	    CFG_RUN);
	ck_assert_str_eq(cfg.config_path, path);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_missing_file)
{
	ck_assert_int_eq(
	    load(ARGS("--config=/nonexistent/x"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error,
	    "cannot read config file /nonexistent/x: No such file or "
	    "directory");
	reset();
	ck_assert_int_eq(
	    load(NULL, ENV("AG_CONFIG=/nonexistent/y")), CFG_ERROR);
	ck_assert_str_eq(cfg.error,
	    "cannot read config file /nonexistent/y: No such file or "
	    "directory");
	ck_assert_int_eq(cfg_parse_file(&cfg, "/tmp"), -1);
	ck_assert_str_eq(
	    cfg.error, "cannot read config file /tmp: Is a directory");
}
END_TEST

START_TEST(test_empty_config_var_ignored)
{
	ck_assert_int_eq(load(NULL, ENV("AG_CONFIG=")), CFG_RUN);
	ck_assert_ptr_null(cfg.config_path);
}
END_TEST

START_TEST(test_list)
{
	ck_assert_int_eq(text("plugin = a\nplugin = \"b c\"\n"), 0);
	ck_assert_int_eq(tc.plugin.count, 2);
	ck_assert_str_eq(tc.plugin.items[0], "a");
	ck_assert_str_eq(tc.plugin.items[1], "b c");
	ck_assert_ptr_null(tc.plugin.items[2]);
	/* A higher source replaces the list, and repeats append to it. */
	ck_assert_int_eq(
	    load(ARGS("--plugin", "x", "--plugin=y", "--plugin=z"),
	        ENV("AG_PLUGIN=e")),
	    CFG_RUN);
	ck_assert_int_eq(tc.plugin.count, 3);
	ck_assert_str_eq(tc.plugin.items[0], "x");
	ck_assert_str_eq(tc.plugin.items[1], "y");
	ck_assert_str_eq(tc.plugin.items[2], "z");
	ck_assert_ptr_null(tc.plugin.items[3]);
}
END_TEST

START_TEST(test_list_from_env)
{
	ck_assert_int_eq(text("plugin = a\nplugin = b\n"), 0);
	ck_assert_int_eq(cfg_parse_env(&cfg, ENV("AG_PLUGIN=e,f")), 0);
	ck_assert_int_eq(tc.plugin.count, 1);
	ck_assert_str_eq(tc.plugin.items[0], "e,f");
}
END_TEST

START_TEST(test_choices_and_checks)
{
	ck_assert_int_eq(load(ARGS("--level=mid"), NULL), CFG_ERROR);
	ck_assert_str_eq(cfg.error,
	    "flag --level: bad value \"mid\" for level: must be one of low, "
	    "high");
	ck_assert_int_eq(load(NULL, ENV("AG_DIR=rel")), CFG_ERROR);
	ck_assert_str_eq(cfg.error,
	    "environment variable AG_DIR: bad value \"rel\" for dir: must "
	    "start with '/'");
	ck_assert_int_eq(
	    load(ARGS("--level=high", "--dir=/a"), NULL), CFG_RUN);
	ck_assert_str_eq(tc.level, "high");
	ck_assert_str_eq(tc.dir, "/a");
}
END_TEST

START_TEST(test_help)
{
	ck_assert_int_eq(load(ARGS("--help", "--bogus"), NULL), CFG_EXIT);
	fflush(cfg.out);
	ck_assert_ptr_nonnull(strstr(out_text, "Usage: tprog"));
	ck_assert_ptr_nonnull(strstr(out_text,
	    "  --wait-time=<milliseconds>\n      a delay\n      milliseconds, "
	    "default 500, 1 to 60000, env AG_WAIT_TIME\n"));
	ck_assert_ptr_nonnull(strstr(out_text, "  --[no-]flag\n"));
	ck_assert_ptr_nonnull(strstr(out_text, "default \"x\""));
	ck_assert_ptr_nonnull(strstr(out_text, "0 to 1024G"));
	ck_assert_ptr_nonnull(strstr(out_text, "one of low|high"));
	ck_assert_ptr_nonnull(strstr(out_text, "--plugin=<string>"));
	ck_assert_ptr_nonnull(strstr(out_text, "string, repeatable"));
	ck_assert_ptr_nonnull(strstr(out_text, "env AG_UNSET"));
	ck_assert_int_eq(tc.num, 10);
}
END_TEST

START_TEST(test_version)
{
	ck_assert_int_eq(load(ARGS("--version"), ENV("AG_NUM=bad")), CFG_EXIT);
	fflush(cfg.out);
	ck_assert_str_eq(out_text, "tprog 9.9\n");
}
END_TEST

START_TEST(test_check_config_report)
{
	int code = -1;

	ck_assert_int_eq(
	    load(ARGS("--check-config", "--num=42", "--plugin=p\"q"),
	        ENV("AG_NAME=a \"b\"")),
	    CFG_CHECK);
	ck_assert_int_eq(cfg_conclude(&cfg, CFG_CHECK, &code), 1);
	ck_assert_int_eq(code, 0);
	fflush(cfg.out);
	ck_assert_ptr_nonnull(strstr(out_text, "configuration OK\n"));
	ck_assert_ptr_nonnull(strstr(out_text, "\nnum = 42\t# flag --num\n"));
	ck_assert_ptr_nonnull(strstr(out_text,
	    "\nname = \"a \\\"b\\\"\"\t# environment variable AG_NAME\n"));
	ck_assert_ptr_nonnull(
	    strstr(out_text, "\nbuf_size = 2K\t# default\n"));
	ck_assert_ptr_nonnull(strstr(out_text, "\nflag = false\t# default\n"));
	ck_assert_ptr_nonnull(
	    strstr(out_text, "\n# unset: not set (default)\n"));
	ck_assert_ptr_nonnull(
	    strstr(out_text, "\nplugin = \"p\\\"q\"\t# flag --plugin\n"));
	ck_assert_ptr_null(tc.name);
}
END_TEST

/* The report reads back as a config file giving the same values. */
START_TEST(test_check_config_report_reparses)
{
	struct tconf again;
	struct cfg c2;
	int code;

	ck_assert_int_eq(load(ARGS("--check-config", "--num=-3", "--flag",
	                          "--name=#x\\", "--plugin=a", "--plugin=b"),
	                     NULL),
	    CFG_CHECK);
	cfg_init(&c2, &spec, &again);
	c2.err = NULL;
	/* The report is printed from tc, so read it before it is freed. */
	ck_assert_int_eq(cfg_conclude(&cfg, CFG_CHECK, &code), 1);
	fflush(cfg.out);
	ck_assert_int_eq(
	    cfg_parse_text(&c2, strchr(out_text, '\n') + 1, "report"), 0);
	ck_assert_int_eq(again.num, -3);
	ck_assert_int_eq(again.flag, 1);
	ck_assert_str_eq(again.name, "#x\\");
	ck_assert_int_eq(again.plugin.count, 2);
	ck_assert_str_eq(again.plugin.items[1], "b");
	cfg_free_values(&spec, &again);
	cfg_fini(&c2);
}
END_TEST

START_TEST(test_conclude)
{
	int code = -1;

	ck_assert_int_eq(cfg_conclude(&cfg, CFG_RUN, &code), 0);
	ck_assert_int_eq(code, -1);
	ck_assert_str_eq(tc.name, "x");
	ck_assert_int_eq(cfg_conclude(&cfg, CFG_EXIT, &code), 1);
	ck_assert_int_eq(code, 0);
	ck_assert_ptr_null(tc.name);
	ck_assert_ptr_null(tc.plugin.items);
	ck_assert_int_eq(cfg_conclude(&cfg, CFG_ERROR, &code), 1);
	ck_assert_int_eq(code, 2);
}
END_TEST

static Suite *
cfg_suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc_core = tcase_create("core");

	tcase_add_checked_fixture(tc_core, setup, teardown);
	tcase_add_test(tc_core, test_defaults);
	tcase_add_test(tc_core, test_each_source);
	tcase_add_test(tc_core, test_precedence);
	tcase_add_test(tc_core, test_overridden_source_still_checked);
	tcase_add_test(tc_core, test_later_in_same_source_wins);
	tcase_add_test(tc_core, test_integers);
	tcase_add_loop_test(tc_core, test_bad_numbers, 0,
	    sizeof(bad_numbers) / sizeof(bad_numbers[0]));
	tcase_add_test(tc_core, test_sizes);
	tcase_add_test(tc_core, test_booleans);
	tcase_add_test(tc_core, test_boolean_flags);
	tcase_add_test(tc_core, test_boolean_flag_errors);
	tcase_add_test(tc_core, test_flag_forms);
	tcase_add_test(tc_core, test_flag_errors);
	tcase_add_test(tc_core, test_first_error_stops);
	tcase_add_test(tc_core, test_error_printed_with_program);
	tcase_add_test(tc_core, test_env);
	tcase_add_test(tc_core, test_file_syntax);
	tcase_add_test(tc_core, test_file_quotes);
	tcase_add_test(tc_core, test_file_errors);
	tcase_add_test(tc_core, test_config_file_flag);
	tcase_add_test(tc_core, test_missing_file);
	tcase_add_test(tc_core, test_empty_config_var_ignored);
	tcase_add_test(tc_core, test_list);
	tcase_add_test(tc_core, test_list_from_env);
	tcase_add_test(tc_core, test_choices_and_checks);
	tcase_add_test(tc_core, test_help);
	tcase_add_test(tc_core, test_version);
	tcase_add_test(tc_core, test_check_config_report);
	tcase_add_test(tc_core, test_check_config_report_reparses);
	tcase_add_test(tc_core, test_conclude);
	suite_add_tcase(s, tc_core);
	return s;
}

int
main(void)
{
	return unit_run(cfg_suite());
}
