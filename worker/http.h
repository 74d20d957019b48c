/*
 * HTTP/1.1 request parsing and the WebSocket upgrade decision. Pure: bytes
 * in, a request struct and a decision out; no I/O, no libevent.
 */
#ifndef AG_HTTP_H
#define AG_HTTP_H

#include <stddef.h>

/* Requests (line and headers) longer than this are refused with 431. */
#define HTTP_MAX_REQUEST 8192
#define HTTP_MAX_HEADERS 64

/* The three outcomes of http_parse(). */
enum http_result {
	HTTP_BAD = -1,      /* malformed: answer 400 (or 431 if too large) */
	HTTP_NEED_MORE = 0, /* the blank line has not arrived yet */
	HTTP_DONE = 1,      /* *req holds a complete request head */
};

/* A borrowed span of the caller's buffer; p is NULL when absent. */
struct http_span {
	const char *p;
	size_t n;
};

struct http_header {
	struct http_span name;
	struct http_span value; /* leading and trailing blanks trimmed */
};

struct http_req {
	struct http_span method;
	struct http_span target; /* request target as sent, with query */
	struct http_span path;   /* target without "?query" */
	struct http_span query;  /* after '?', or absent */
	int version_minor;       /* HTTP/1.x */
	size_t nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];
	/* The headers the upgrade needs, looked up case-insensitively. When a
	 * header is repeated, the first one is kept here. */
	struct http_span host;
	struct http_span upgrade;
	struct http_span connection;
	struct http_span ws_key;
	struct http_span ws_version;
	struct http_span origin;
};

/*
 * Parses a request head from buf[0..len). HTTP_DONE: *req is filled with
 * spans into buf and *used is the length of the head including the blank
 * line. HTTP_NEED_MORE: no blank line yet and len <= HTTP_MAX_REQUEST.
 * HTTP_BAD: malformed request line or header, more than HTTP_MAX_HEADERS
 * headers, or no blank line within HTTP_MAX_REQUEST bytes (*status is set to
 * 400 or 431). A request with a body (Content-Length > 0 or chunked) is
 * parsed; the body is never read.
 */
enum http_result http_parse(const char *buf, size_t len, struct http_req *req,
    size_t *used, int *status);

/* Finds a header by name (case-insensitive); returns its value or a span with
 * p == NULL. */
struct http_span http_header(const struct http_req *req, const char *name);

/* Returns 1 if the comma-separated list in v contains token (case-insensitive,
 * blanks around items ignored), else 0. */
int http_has_token(struct http_span v, const char *token);

struct http_policy {
	const char *ws_path;     /* e.g. "/socketcluster/"; exact match */
	const char *health_path; /* e.g. "/health-check" */
	const char *origins;     /* e.g. "*:*" (spec §1.4 step 3) */
	const char *ready_path;  /* e.g. "/ready"; NULL: none */
};

enum http_verdict {
	HTTP_UPGRADE, /* 101: go on with the WebSocket */
	HTTP_HEALTH,  /* 200: the health check */
	HTTP_READY,   /* the readiness check: the caller decides 200 or 503 */
	HTTP_REJECT,  /* answer status and close */
};

struct http_decision {
	enum http_verdict verdict;
	int status;         /* 101, 200, 400, 403, 405, 501 */
	const char *reason; /* body text for a rejection, borrowed/static */
	/* Header lines the rejection must carry (each ending in "\r\n"),
	 * static; NULL when none. */
	const char *extra_headers;
	char accept[29]; /* Sec-WebSocket-Accept (NUL-terminated) on 101 */
};

/*
 * Decides what to do with a parsed request, in the reference order (spec
 * §1.4). A request with neither an Upgrade header nor "upgrade" in
 * Connection is plain HTTP: a GET of health_path is HTTP_HEALTH (200, reason
 * "OK"), anything else is rejected with 501, as the reference answers plain
 * HTTP. An upgrade attempt is checked for method (405), Upgrade: websocket
 * and Connection: upgrade (400), Sec-WebSocket-Key (400: must decode to 16
 * bytes), Sec-WebSocket-Version (400 "Missing or invalid
 * Sec-WebSocket-Version header" unless 13 or 8, with extra_headers
 * "Sec-WebSocket-Version: 13, 8\r\n"), path (400 "Bad Request"), then
 * origin (403 "Failed to authorize socket handshake - Invalid origin:
 * <origin>"; reason then points into an internal static buffer valid until
 * the next call). On success, d->accept is set. A NULL health_path disables
 * the health check; NULL origins means "*:*". Always returns 0.
 */
int http_decide(const struct http_req *req, const struct http_policy *pol,
    struct http_decision *d);

/*
 * Returns 1 if origin (the Origin header's value; p == NULL when absent) is
 * allowed by origins, the reference's single-string rule: "*:*" anywhere in
 * origins allows all; otherwise the origin is parsed (scheme, host, port,
 * default 80 or 443 for https/wss) and origins must contain "host:port",
 * "host:*" or "*:port" as a substring (host lower-cased, IPv6 without
 * brackets). A missing origin or "null" counts as "*" and fails every
 * restricted list, as does a value that is not scheme://host[:port][/...].
 * NULL origins allows all.
 */
int http_origin_allowed(const char *origins, struct http_span origin);

/* Writes base64(SHA-1(key + RFC 6455 GUID)) and a NUL into out[29]. */
void http_ws_accept(const char *key, size_t key_len, char out[29]);

/*
 * Formats a complete response into out (cap bytes), in the reference's
 * order: status line; for any status other than 101 "Connection: close",
 * Content-Type text/html when body is non-NULL and Content-Length; then the
 * given extra header lines (each ending in "\r\n"; may be NULL), the blank
 * line and the body (never for 101). out is NUL-terminated. Returns the
 * length without the NUL, or 0 if cap is too small.
 */
size_t http_response(
    char *out, size_t cap, int status, const char *extra, const char *body);

/* Returns the reason phrase of a status code ("Bad Request", ...). */
const char *http_status_text(int status);

#endif
