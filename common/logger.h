/*
 * Logging to stderr, one line per event: time, level, program[pid], message.
 * Per-message events are counters, not log lines.
 */
#ifndef AG_LOGGER_H
#define AG_LOGGER_H

enum logger_level {
	LOGGER_DEBUG = 0,
	LOGGER_INFO = 1,
	LOGGER_WARN = 2,
	LOGGER_ERROR = 3,
};

/* Sets the program name shown on every line (borrowed; must outlive use). */
void logger_set_name(const char *name);
void logger_set_level(enum logger_level level);
/* Parses "debug", "info", "warn" or "error"; returns 0 or -1. */
int logger_parse_level(const char *s, enum logger_level *out);
void logger_write(enum logger_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define logger_debug(...) logger_write(LOGGER_DEBUG, __VA_ARGS__)
#define logger_info(...)  logger_write(LOGGER_INFO, __VA_ARGS__)
#define logger_warn(...)  logger_write(LOGGER_WARN, __VA_ARGS__)
#define logger_error(...) logger_write(LOGGER_ERROR, __VA_ARGS__)

#endif
