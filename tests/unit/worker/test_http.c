#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "worker/http.h"

#define SAMPLE_KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define ORIGIN_ERR    "Failed to authorize socket handshake - Invalid origin: "

/* The official client's request, spec §1.2, in its header order. */
static const char official[] = "GET /socketcluster/ HTTP/1.1\r\n"
                               "Sec-WebSocket-Version: 13\r\n"
                               "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
                               "Connection: Upgrade\r\n"
                               "Upgrade: websocket\r\n"
                               "Sec-WebSocket-Extensions: permessage-deflate; "
                               "client_max_window_bits\r\n"
                               "Host: 127.0.0.1:8147\r\n"
                               "\r\n";

static struct http_req req;
static struct http_decision dec;

static int
span_is(struct http_span s, const char *str)
{
	return s.p != NULL && s.n == strlen(str) && memcmp(s.p, str, s.n) == 0;
}

static struct http_span
span_of(const char *s)
{
	struct http_span sp = { s, s != NULL ? strlen(s) : 0 };

	return sp;
}

/* Parses a complete head of n bytes, failing the test unless HTTP_DONE. */
static void
parse_n(const char *s, size_t n)
{
	size_t used = 0;
	int status = 0;

	ck_assert_int_eq(http_parse(s, n, &req, &used, &status), HTTP_DONE);
	ck_assert_uint_eq(used, n);
}

static void
parse_ok(const char *s)
{
	parse_n(s, strlen(s));
}

/* Parses s and returns the status http_parse() reports for HTTP_BAD. */
static int
parse_bad_n(const char *s, size_t n)
{
	size_t used = 0;
	int status = 0;

	ck_assert_int_eq(http_parse(s, n, &req, &used, &status), HTTP_BAD);
	return status;
}

static int
parse_bad(const char *s)
{
	return parse_bad_n(s, strlen(s));
}

static void
decide(const char *s, const char *origins)
{
	struct http_policy pol = { .ws_path = "/socketcluster/",
		.health_path = "/health-check",
		.origins = origins,
		.ready_path = "/ready" };

	parse_ok(s);
	ck_assert_int_eq(http_decide(&req, &pol, &dec), 0);
}

/* Builds an upgrade request into out; a NULL header value leaves the
 * header out. */
static const char *
make_req(char *out, size_t cap, const char *method, const char *target,
    const char *upgrade, const char *connection, const char *key,
    const char *version, const char *origin)
{
	const char *names[] = { "Upgrade", "Connection", "Sec-WebSocket-Key",
		"Sec-WebSocket-Version", "Origin" };
	const char *values[] = { upgrade, connection, key, version, origin };
	size_t n, i;

	n = (size_t) snprintf(
	    out, cap, "%s %s HTTP/1.1\r\nHost: x\r\n", method, target);
	for (i = 0; i < 5; i++) {
		if (values[i] != NULL) {
			n += (size_t) snprintf(out + n, cap - n, "%s: %s\r\n",
			    names[i], values[i]);
		}
	}
	snprintf(out + n, cap - n, "\r\n");
	return out;
}

/* Decides a GET /socketcluster/ upgrade that differs from a valid one by
 * the given header values. */
static void
decide_ws(const char *upgrade, const char *connection, const char *key,
    const char *version, const char *origin, const char *origins)
{
	char buf[1024];

	decide(make_req(buf, sizeof(buf), "GET", "/socketcluster/", upgrade,
	           connection, key, version, origin),
	    origins);
}

static void
assert_reject(int status, const char *reason)
{
	ck_assert_int_eq(dec.verdict, HTTP_REJECT);
	ck_assert_int_eq(dec.status, status);
	ck_assert_str_eq(dec.reason, reason);
}

static void
assert_upgrade(void)
{
	ck_assert_int_eq(dec.verdict, HTTP_UPGRADE);
	ck_assert_int_eq(dec.status, 101);
	ck_assert_str_eq(dec.accept, SAMPLE_ACCEPT);
}

/* The full response a rejection decision produces. */
static const char *
reject_response(void)
{
	static char out[16384];

	ck_assert_uint_gt(http_response(out, sizeof(out), dec.status,
	                      dec.extra_headers, dec.reason),
	    0);
	return out;
}

START_TEST(test_official_request)
{
	char out[512];
	char extra[256];

	decide(official, "*:*");
	ck_assert(span_is(req.method, "GET"));
	ck_assert(span_is(req.target, "/socketcluster/"));
	ck_assert(span_is(req.path, "/socketcluster/"));
	ck_assert_ptr_null(req.query.p);
	ck_assert_int_eq(req.version_minor, 1);
	ck_assert_uint_eq(req.nheaders, 6);
	ck_assert(span_is(req.host, "127.0.0.1:8147"));
	ck_assert(span_is(req.upgrade, "websocket"));
	ck_assert(span_is(req.connection, "Upgrade"));
	ck_assert(span_is(req.ws_key, SAMPLE_KEY));
	ck_assert(span_is(req.ws_version, "13"));
	ck_assert_ptr_null(req.origin.p);
	ck_assert(span_is(req.headers[4].value,
	    "permessage-deflate; client_max_window_bits"));
	assert_upgrade();
	ck_assert_ptr_null(dec.extra_headers);
	snprintf(extra, sizeof(extra),
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n",
	    dec.accept);
	ck_assert_uint_gt(
	    http_response(out, sizeof(out), 101, extra, NULL), 0);
	ck_assert_str_eq(out,
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n");
}
END_TEST

START_TEST(test_ws_accept)
{
	char out[29];
	/* A key longer than any stack buffer still hashes key + GUID. */
	char long_key[300];

	http_ws_accept(SAMPLE_KEY, strlen(SAMPLE_KEY), out);
	ck_assert_str_eq(out, SAMPLE_ACCEPT);
	memset(long_key, 'A', sizeof(long_key));
	http_ws_accept(long_key, sizeof(long_key), out);
	ck_assert_uint_eq(strlen(out), 28);
	ck_assert_str_ne(out, SAMPLE_ACCEPT);
}
END_TEST

/* Every strict prefix of a head is incomplete, and bytes after the blank
 * line (a body) are not part of it. */
static void
check_splits(const char *head)
{
	char buf[1024];
	size_t n = strlen(head);
	size_t i, used = 0;
	int status = 0;

	for (i = 0; i < n; i++) {
		ck_assert_msg(http_parse(head, i, &req, &used, &status)
		        == HTTP_NEED_MORE,
		    "prefix of %zu bytes", i);
	}
	snprintf(buf, sizeof(buf), "%sBODY", head);
	ck_assert_int_eq(
	    http_parse(buf, n + 4, &req, &used, &status), HTTP_DONE);
	ck_assert_uint_eq(used, n);
}

START_TEST(test_every_split)
{
	check_splits(official);
	check_splits("GET /socketcluster/?a=b HTTP/1.1\nHost: x\n"
	             "Upgrade: websocket\n\n");
	check_splits("GET / HTTP/1.0\r\n\r\n");
}
END_TEST

START_TEST(test_bare_lf)
{
	parse_ok("GET /socketcluster/ HTTP/1.1\nUpgrade: websocket\n"
	         "Connection: Upgrade\r\nSec-WebSocket-Key: " SAMPLE_KEY
	         "\nSec-WebSocket-Version: 8\n\n");
	ck_assert(span_is(req.upgrade, "websocket"));
	ck_assert(span_is(req.connection, "Upgrade"));
	ck_assert(span_is(req.ws_version, "8"));
	ck_assert_uint_eq(req.nheaders, 4);
}
END_TEST

START_TEST(test_body_not_read)
{
	static const char s[] = "POST /x HTTP/1.1\r\nContent-Length: 5\r\n"
	                        "\r\nhello";
	size_t used = 0;
	int status = 0;

	ck_assert_int_eq(
	    http_parse(s, strlen(s), &req, &used, &status), HTTP_DONE);
	ck_assert_uint_eq(used, strlen(s) - 5);
	ck_assert(span_is(req.method, "POST"));
}
END_TEST

START_TEST(test_query_split)
{
	char buf[1024];

	decide(make_req(buf, sizeof(buf), "GET", "/socketcluster/?x=1&y=2",
	           "websocket", "Upgrade", SAMPLE_KEY, "13", NULL),
	    "*:*");
	ck_assert(span_is(req.target, "/socketcluster/?x=1&y=2"));
	ck_assert(span_is(req.path, "/socketcluster/"));
	ck_assert(span_is(req.query, "x=1&y=2"));
	assert_upgrade();
	parse_ok("GET /a? HTTP/1.1\r\n\r\n");
	ck_assert(span_is(req.path, "/a"));
	ck_assert_ptr_nonnull(req.query.p);
	ck_assert_uint_eq(req.query.n, 0);
	parse_ok("GET /a?b?c HTTP/1.1\r\n\r\n");
	ck_assert(span_is(req.path, "/a"));
	ck_assert(span_is(req.query, "b?c"));
}
END_TEST

START_TEST(test_case_insensitive)
{
	decide("GET /socketcluster/ HTTP/1.1\r\n"
	       "sec-websocket-version: 13\r\n"
	       "sec-websocket-key: " SAMPLE_KEY "\r\n"
	       "CONNECTION: keep-alive, Upgrade\r\n"
	       "upgrade: WebSocket\r\n"
	       "origin: http://allowed.example.com\r\n"
	       "host: 127.0.0.1:8147\r\n\r\n",
	    "allowed.example.com:*");
	ck_assert(span_is(req.host, "127.0.0.1:8147"));
	assert_upgrade();
	ck_assert(span_is(
	    http_header(&req, "ORIGIN"), "http://allowed.example.com"));
	ck_assert_ptr_null(http_header(&req, "Cookie").p);
}
END_TEST

START_TEST(test_has_token)
{
	ck_assert(http_has_token(span_of("keep-alive, Upgrade"), "upgrade"));
	ck_assert(http_has_token(span_of(" UPGRADE\t"), "upgrade"));
	ck_assert(http_has_token(span_of(",,upgrade,,"), "upgrade"));
	ck_assert(http_has_token(span_of("Upgrade,keep-alive"), "upgrade"));
	ck_assert(!http_has_token(span_of("upgrades"), "upgrade"));
	ck_assert(!http_has_token(span_of("keep-alive"), "upgrade"));
	ck_assert(!http_has_token(span_of("up grade"), "upgrade"));
	ck_assert(!http_has_token(span_of(""), "upgrade"));
	ck_assert(!http_has_token(span_of(NULL), "upgrade"));
}
END_TEST

START_TEST(test_header_values)
{
	parse_ok("GET / HTTP/1.1\r\nX-A:   padded \t \r\nX-B:\r\n"
	         "X-A: second\r\nX-C: caf\xc3\xa9\r\n\r\n");
	ck_assert(span_is(http_header(&req, "x-a"), "padded"));
	ck_assert_ptr_nonnull(http_header(&req, "X-B").p);
	ck_assert_uint_eq(http_header(&req, "X-B").n, 0);
	ck_assert(span_is(http_header(&req, "X-C"), "caf\xc3\xa9"));
	ck_assert_uint_eq(req.nheaders, 4);
	parse_ok("GET / HTTP/1.1\r\nOrigin: http://a\r\nOrigin: http://b\r\n"
	         "\r\n");
	ck_assert(span_is(req.origin, "http://a"));
}
END_TEST

START_TEST(test_reject_method)
{
	char buf[1024];

	decide(make_req(buf, sizeof(buf), "POST", "/socketcluster/",
	           "websocket", "Upgrade", SAMPLE_KEY, "13", NULL),
	    "*:*");
	assert_reject(405, "Invalid HTTP method");
	ck_assert_str_eq(reject_response(),
	    "HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n"
	    "Content-Type: text/html\r\nContent-Length: 19\r\n\r\n"
	    "Invalid HTTP method");
	/* `ws` compares the method case-sensitively. */
	decide(make_req(buf, sizeof(buf), "get", "/socketcluster/",
	           "websocket", "Upgrade", SAMPLE_KEY, "13", NULL),
	    "*:*");
	assert_reject(405, "Invalid HTTP method");
}
END_TEST

START_TEST(test_reject_upgrade)
{
	decide_ws(NULL, "Upgrade", SAMPLE_KEY, "13", NULL, "*:*");
	assert_reject(400, "Invalid Upgrade header");
	decide_ws("h2c", "Upgrade", SAMPLE_KEY, "13", NULL, "*:*");
	assert_reject(400, "Invalid Upgrade header");
	decide_ws("websocket, foo", "Upgrade", SAMPLE_KEY, "13", NULL, "*:*");
	assert_reject(400, "Invalid Upgrade header");
	decide_ws("websocket", NULL, SAMPLE_KEY, "13", NULL, "*:*");
	assert_reject(400, "Invalid Connection header");
	decide_ws("websocket", "keep-alive", SAMPLE_KEY, "13", NULL, "*:*");
	assert_reject(400, "Invalid Connection header");
}
END_TEST

START_TEST(test_reject_key)
{
	static const char *bad[] = {
		NULL,                           /* missing */
		"",                             /* empty */
		"!!!!!!!!!!!!!!!!!!!!!!==",     /* not base64 */
		"dGhlIHNhbXBsZSBub25jZQ",       /* no padding */
		"dGhlIHNhbXBsZSBub25jZQ=",      /* short padding */
		"AAAAAAAAAAAAAAAAAAAAAAA=",     /* 17 bytes */
		"AAAAAAAAAAAAAAAAAAAA",         /* 15 bytes */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 21 bytes */
		"AAAAAAAAAA=AAAAAAAAAAA==",     /* '=' inside */
		"AAAAAAAAAA AAAAAAAAAAA==",     /* blank inside */
		"dGhlIHNhbXBsZSBub25jZQ==AAAA", /* 19 bytes */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		decide_ws("websocket", "Upgrade", bad[i], "13", NULL, "*:*");
		ck_assert_msg(dec.status == 400, "key %zu", i);
		assert_reject(
		    400, "Missing or invalid Sec-WebSocket-Key header");
	}
	decide_ws("websocket", "Upgrade", "AAAAAAAAAAAAAAAAAAAAAA==", "13",
	    NULL, "*:*");
	ck_assert_int_eq(dec.verdict, HTTP_UPGRADE);
}
END_TEST

START_TEST(test_reject_version)
{
	static const char *bad[] = { NULL, "12", "", "13, 8", "7", "013" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		decide_ws(
		    "websocket", "Upgrade", SAMPLE_KEY, bad[i], NULL, "*:*");
		assert_reject(
		    400, "Missing or invalid Sec-WebSocket-Version header");
		ck_assert_str_eq(
		    dec.extra_headers, "Sec-WebSocket-Version: 13, 8\r\n");
	}
	ck_assert_str_eq(reject_response(),
	    "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
	    "Content-Type: text/html\r\nContent-Length: 47\r\n"
	    "Sec-WebSocket-Version: 13, 8\r\n\r\n"
	    "Missing or invalid Sec-WebSocket-Version header");
	decide_ws("websocket", "Upgrade", SAMPLE_KEY, "8", NULL, "*:*");
	assert_upgrade();
}
END_TEST

START_TEST(test_reject_path)
{
	char buf[1024];

	decide(make_req(buf, sizeof(buf), "GET", "/socketcluster", "websocket",
	           "Upgrade", SAMPLE_KEY, "13", "http://allowed.example.com"),
	    "allowed.example.com:*");
	assert_reject(400, "Bad Request");
	ck_assert_ptr_null(dec.extra_headers);
	ck_assert_str_eq(reject_response(),
	    "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
	    "Content-Type: text/html\r\nContent-Length: 11\r\n\r\n"
	    "Bad Request");
	decide(make_req(buf, sizeof(buf), "GET", "/socketcluster/x",
	           "websocket", "Upgrade", SAMPLE_KEY, "13", NULL),
	    "*:*");
	assert_reject(400, "Bad Request");
}
END_TEST

START_TEST(test_origin_decision)
{
	decide_ws("websocket", "Upgrade", SAMPLE_KEY, "13",
	    "http://allowed.example.com", "allowed.example.com:*");
	assert_upgrade();
	decide_ws("websocket", "Upgrade", SAMPLE_KEY, "13",
	    "http://evil.example.com", "allowed.example.com:*");
	assert_reject(403, ORIGIN_ERR "http://evil.example.com");
	ck_assert_str_eq(reject_response(),
	    "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n"
	    "Content-Type: text/html\r\nContent-Length: 78\r\n\r\n" ORIGIN_ERR
	    "http://evil.example.com");
	/* Spec §1.4: a missing Origin is "*" and fails a restricted list. */
	decide_ws("websocket", "Upgrade", SAMPLE_KEY, "13", NULL,
	    "allowed.example.com:*");
	assert_reject(403, ORIGIN_ERR "*");
	ck_assert(strstr(reject_response(), "Content-Length: 56\r\n") != NULL);
	decide_ws("websocket", "Upgrade", SAMPLE_KEY, "13", "null",
	    "allowed.example.com:*");
	assert_reject(403, ORIGIN_ERR "*");
	decide_ws("websocket", "Upgrade", SAMPLE_KEY, "13", NULL, "*:*");
	assert_upgrade();
}
END_TEST

static int
allowed(const char *origins, const char *origin)
{
	return http_origin_allowed(origins, span_of(origin));
}

START_TEST(test_origin_rules)
{
	ck_assert(allowed("*:*", "http://anything.example:1"));
	ck_assert(allowed("a.com:80,*:*", NULL));
	ck_assert(allowed(NULL, "http://x"));
	ck_assert(allowed(
	    "allowed.example.com:*", "http://allowed.example.com:1234"));
	ck_assert(
	    allowed("allowed.example.com:*", "https://ALLOWED.Example.com"));
	ck_assert(
	    !allowed("allowed.example.com:*", "http://evil.example.com"));
	ck_assert(allowed("*:8443", "https://a.example:8443"));
	ck_assert(allowed("*:8443", "http://b.example:8443/path"));
	ck_assert(!allowed("*:8443", "https://a.example"));
	ck_assert(allowed("s.example:443", "https://s.example"));
	ck_assert(allowed("s.example:443", "wss://s.example"));
	ck_assert(!allowed("s.example:443", "http://s.example"));
	ck_assert(allowed("s.example:80", "http://s.example:"));
	ck_assert(!allowed("s.example:443", "http://s.example:"));
	ck_assert(allowed("::1:8080", "http://[::1]:8080"));
	ck_assert(!allowed("*:80", NULL));
	ck_assert(!allowed("*:80", "null"));
}
END_TEST

START_TEST(test_origin_unparsable)
{
	static const char *bad[] = {
		"allowed.example.com",
		"http://",
		"http://:80",
		"http://allowed.example.com:123456",
		"http://allowed.example.com:80x",
		"http://[::1",
		"://allowed.example.com",
		"http://allowed.example.com@evil",
		"*",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!allowed("allowed.example.com:*,*:80", bad[i]),
		    "%s", bad[i]);
	}
}
END_TEST

START_TEST(test_ready)
{
	decide("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n", "*:*");
	ck_assert_int_eq(dec.verdict, HTTP_READY);
	ck_assert_int_eq(dec.status, 200);
	/* Only a plain GET of the exact path. */
	decide("POST /ready HTTP/1.1\r\n\r\n", "*:*");
	ck_assert_int_eq(dec.verdict, HTTP_REJECT);
	ck_assert_int_eq(dec.status, 501);
	decide("GET /ready/ HTTP/1.1\r\n\r\n", "*:*");
	ck_assert_int_eq(dec.status, 501);
}
END_TEST

START_TEST(test_health)
{
	char out[256];

	decide("GET /health-check HTTP/1.1\r\nHost: x\r\n\r\n", "a:1");
	ck_assert_int_eq(dec.verdict, HTTP_HEALTH);
	ck_assert_int_eq(dec.status, 200);
	ck_assert_str_eq(dec.reason, "OK");
	ck_assert_uint_gt(
	    http_response(out, sizeof(out), 200, NULL, dec.reason), 0);
	ck_assert_str_eq(out,
	    "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Type: text/html\r\nContent-Length: 2\r\n\r\nOK");
	decide("GET /health-check?probe=1 HTTP/1.1\r\n\r\n", "*:*");
	ck_assert_int_eq(dec.verdict, HTTP_HEALTH);
	decide("POST /health-check HTTP/1.1\r\n\r\n", "*:*");
	assert_reject(501, "Not Implemented");
	decide("GET /health-check/ HTTP/1.1\r\n\r\n", "*:*");
	assert_reject(501, "Not Implemented");
}
END_TEST

START_TEST(test_plain_http)
{
	decide("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "*:*");
	assert_reject(501, "Not Implemented");
	ck_assert_str_eq(reject_response(),
	    "HTTP/1.1 501 Not Implemented\r\nConnection: close\r\n"
	    "Content-Type: text/html\r\nContent-Length: 15\r\n\r\n"
	    "Not Implemented");
	decide("GET /socketcluster/ HTTP/1.1\r\nHost: x\r\n\r\n", "*:*");
	assert_reject(501, "Not Implemented");
}
END_TEST

static const char *const malformed[] = {
	"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* TLS hello */
	"\xff\xfe garbage\r\n\r\n",
	"GET/HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.1 \r\n\r\n",
	"GET  / HTTP/1.1\r\n\r\n",
	"GET /  HTTP/1.1\r\n\r\n",
	" GET / HTTP/1.1\r\n\r\n",
	"GET\t/ HTTP/1.1\r\n\r\n",
	"GET / HTTP/2.0\r\n\r\n",
	"GET / HTTP/1.10\r\n\r\n",
	"GET / HTTP/1.x\r\n\r\n",
	"GET / http/1.1\r\n\r\n",
	"GET /\r\n\r\n",
	"GET\r\n\r\n",
	"G(T / HTTP/1.1\r\n\r\n",
	"GET http://x/ HTTP/1.1\r\n\r\n",
	"GET * HTTP/1.1\r\n\r\n",
	"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n",
	"\r\nGET / HTTP/1.1\r\n\r\n",
	"\r\n",
	"GET / HTTP/1.1\r\nHost\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
	"GET / HTTP/1.1\r\n: x\r\n\r\n",
	"GET / HTTP/1.1\r\nX@Y: x\r\n\r\n",
	"GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n",
	"GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n",
	"GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\nX-A: a\x7f\r\n\r\n",
	"GET / HTTP/1.1\r\nX-A: a\x01\r\n\r\n",
	"GET / HTTP/1.1\r\r\n\r\n",
	/* Rejected as soon as the bad line is complete. */
	"GET / HTTP/1.1\r\nHost : x\r\n",
	"GET / HTTP/2.0\r\n",
};

START_TEST(test_malformed)
{
	ck_assert_int_eq(parse_bad(malformed[_i]), 400);
}
END_TEST

START_TEST(test_nul_bytes)
{
	static const char in_value[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	static const char in_target[] = "GET /a\0b HTTP/1.1\r\n\r\n";
	static const char in_name[] = "GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n";
	static const char first[] = "\0GET / HTTP/1.1\r\n\r\n";

	ck_assert_int_eq(parse_bad_n(in_value, sizeof(in_value) - 1), 400);
	ck_assert_int_eq(parse_bad_n(in_target, sizeof(in_target) - 1), 400);
	ck_assert_int_eq(parse_bad_n(in_name, sizeof(in_name) - 1), 400);
	ck_assert_int_eq(parse_bad_n(first, sizeof(first) - 1), 400);
}
END_TEST

START_TEST(test_http10)
{
	parse_ok("OPTIONS /x HTTP/1.0\r\n\r\n");
	ck_assert(span_is(req.method, "OPTIONS"));
	ck_assert_int_eq(req.version_minor, 0);
	ck_assert_uint_eq(req.nheaders, 0);
}
END_TEST

/* A head with nheaders short headers. */
static size_t
many_headers(char *buf, size_t cap, int nheaders)
{
	size_t n = (size_t) snprintf(buf, cap, "GET / HTTP/1.1\r\n");
	int i;

	for (i = 0; i < nheaders; i++) {
		n += (size_t) snprintf(buf + n, cap - n, "X-%d: v\r\n", i);
	}
	n += (size_t) snprintf(buf + n, cap - n, "\r\n");
	return n;
}

START_TEST(test_header_count)
{
	char buf[2048];
	size_t n;

	n = many_headers(buf, sizeof(buf), HTTP_MAX_HEADERS);
	parse_n(buf, n);
	ck_assert_uint_eq(req.nheaders, HTTP_MAX_HEADERS);
	ck_assert(span_is(req.headers[63].name, "X-63"));
	n = many_headers(buf, sizeof(buf), HTTP_MAX_HEADERS + 1);
	ck_assert_int_eq(parse_bad_n(buf, n), 400);
}
END_TEST

/* A head of exactly total bytes: one header padded to fit. */
static char *
sized_head(size_t total, int terminated)
{
	static const char start[] = "GET / HTTP/1.1\r\nX-Pad: ";
	char *buf = malloc(total);
	size_t end = terminated ? 4 : 2;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, start, sizeof(start) - 1);
	memset(
	    buf + sizeof(start) - 1, 'a', total - (sizeof(start) - 1) - end);
	memcpy(buf + total - end, "\r\n\r\n", end);
	return buf;
}

START_TEST(test_too_large)
{
	size_t used = 0;
	int status = 0;
	char *buf;

	buf = sized_head(HTTP_MAX_REQUEST, 1);
	parse_n(buf, HTTP_MAX_REQUEST);
	ck_assert_uint_eq(http_header(&req, "X-Pad").n, HTTP_MAX_REQUEST - 27);
	free(buf);
	buf = sized_head(HTTP_MAX_REQUEST + 1, 1);
	ck_assert_int_eq(parse_bad_n(buf, HTTP_MAX_REQUEST + 1), 431);
	free(buf);
	buf = sized_head(HTTP_MAX_REQUEST, 0);
	ck_assert_int_eq(
	    http_parse(buf, HTTP_MAX_REQUEST, &req, &used, &status),
	    HTTP_NEED_MORE);
	free(buf);
	buf = sized_head(20000, 0);
	ck_assert_int_eq(parse_bad_n(buf, 9000), 431);
	ck_assert_int_eq(parse_bad_n(buf, 20000), 431);
	free(buf);
}
END_TEST

START_TEST(test_response_small_cap)
{
	char out[128];
	size_t n = http_response(out, sizeof(out), 400, NULL, "Bad Request");

	ck_assert_uint_eq(n,
	    strlen("HTTP/1.1 400 Bad Request\r\n"
	           "Connection: close\r\n"
	           "Content-Type: text/html\r\n"
	           "Content-Length: 11\r\n\r\nBad Request"));
	ck_assert_uint_eq(http_response(out, n, 400, NULL, "Bad Request"), 0);
	ck_assert_uint_eq(
	    http_response(out, n + 1, 400, NULL, "Bad Request"), n);
	ck_assert_uint_eq(http_response(NULL, 0, 101, NULL, NULL), 0);
	ck_assert_uint_eq(
	    http_response(out, 10, 101, "Upgrade: x\r\n", NULL), 0);
	ck_assert_uint_gt(http_response(out, sizeof(out), 403, NULL, NULL), 0);
	ck_assert_str_eq(out,
	    "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n"
	    "Content-Length: 0\r\n\r\n");
}
END_TEST

START_TEST(test_status_text)
{
	ck_assert_str_eq(http_status_text(101), "Switching Protocols");
	ck_assert_str_eq(http_status_text(401), "Unauthorized");
	ck_assert_str_eq(http_status_text(405), "Method Not Allowed");
	ck_assert_str_eq(
	    http_status_text(431), "Request Header Fields Too Large");
	ck_assert_str_eq(http_status_text(501), "Not Implemented");
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *parse = tcase_create("parse");
	TCase *decide_tc = tcase_create("decide");
	TCase *resp = tcase_create("response");

	tcase_add_test(parse, test_every_split);
	tcase_add_test(parse, test_bare_lf);
	tcase_add_test(parse, test_body_not_read);
	tcase_add_test(parse, test_header_values);
	tcase_add_test(parse, test_has_token);
	tcase_add_loop_test(parse, test_malformed, 0,
	    (int) (sizeof(malformed) / sizeof(malformed[0])));
	tcase_add_test(parse, test_nul_bytes);
	tcase_add_test(parse, test_http10);
	tcase_add_test(parse, test_header_count);
	tcase_add_test(parse, test_too_large);
	tcase_add_test(decide_tc, test_official_request);
	tcase_add_test(decide_tc, test_ws_accept);
	tcase_add_test(decide_tc, test_query_split);
	tcase_add_test(decide_tc, test_case_insensitive);
	tcase_add_test(decide_tc, test_reject_method);
	tcase_add_test(decide_tc, test_reject_upgrade);
	tcase_add_test(decide_tc, test_reject_key);
	tcase_add_test(decide_tc, test_reject_version);
	tcase_add_test(decide_tc, test_reject_path);
	tcase_add_test(decide_tc, test_origin_decision);
	tcase_add_test(decide_tc, test_origin_rules);
	tcase_add_test(decide_tc, test_origin_unparsable);
	tcase_add_test(decide_tc, test_health);
	tcase_add_test(decide_tc, test_ready);
	tcase_add_test(decide_tc, test_plain_http);
	tcase_add_test(resp, test_response_small_cap);
	tcase_add_test(resp, test_status_text);
	suite_add_tcase(s, parse);
	suite_add_tcase(s, decide_tc);
	suite_add_tcase(s, resp);
	return s;
}

int
main(void)
{
	return unit_run(http_suite());
}
