#include "http.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/mem.h"

#define WS_GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define ORIGIN_PREFIX "Failed to authorize socket handshake - Invalid origin: "
/* A DNS name is at most 253 bytes; anything longer is not an origin. */
#define ORIGIN_MAX_HOST 255

/* Result of checking one line, or the prefix of one that is still
 * arriving: LINE_MORE means the text ended where more was required. */
enum line_result { LINE_BAD, LINE_MORE, LINE_OK };

static int
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
	    || (c >= 'A' && c <= 'Z')) {
		return 1;
	}
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field content per RFC 9110: visible ASCII, blanks and obs-text. */
static int
is_value_char(unsigned char c)
{
	return c == '\t' || (c >= ' ' && c != 0x7f);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char
lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

static size_t
token_len(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar((unsigned char) p[i])) {
		i++;
	}
	return i;
}

static int
span_eq(struct http_span s, const char *str)
{
	size_t n = strlen(str);

	return s.p != NULL && s.n == n && memcmp(s.p, str, n) == 0;
}

static int
span_ieq(struct http_span s, const char *str, size_t n)
{
	size_t i;

	if (s.p == NULL || s.n != n) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (lower(s.p[i]) != lower(str[i])) {
			return 0;
		}
	}
	return 1;
}

static struct http_span
span_trim(const char *p, size_t n)
{
	struct http_span s;

	while (n > 0 && is_blank(p[0])) {
		p++;
		n--;
	}
	while (n > 0 && is_blank(p[n - 1])) {
		n--;
	}
	s.p = p;
	s.n = n;
	return s;
}

/* Checks the "HTTP/1.x" at the end of the request line. */
static enum line_result
parse_version(const char *p, size_t n, int *minor)
{
	static const char lit[] = "HTTP/1.";
	size_t i;

	for (i = 0; i < sizeof(lit) - 1; i++) {
		if (i == n) {
			return LINE_MORE;
		}
		if (p[i] != lit[i]) {
			return LINE_BAD;
		}
	}
	if (i == n) {
		return LINE_MORE;
	}
	if (p[i] < '0' || p[i] > '9' || i + 1 != n) {
		return LINE_BAD;
	}
	*minor = p[i] - '0';
	return LINE_OK;
}

/* METHOD SP origin-form SP HTTP/1.x, without the line ending. */
static enum line_result
parse_request_line(const char *p, size_t n, struct http_req *req)
{
	size_t i = token_len(p, n);
	size_t t0;

	if (i == n) {
		return LINE_MORE;
	}
	if (i == 0 || p[i] != ' ') {
		return LINE_BAD;
	}
	req->method.p = p;
	req->method.n = i++;
	if (i == n) {
		return LINE_MORE;
	}
	if (p[i] != '/') {
		return LINE_BAD;
	}
	t0 = i;
	while (i < n && p[i] > ' ' && p[i] < 0x7f) {
		i++;
	}
	if (i == n) {
		return LINE_MORE;
	}
	if (p[i] != ' ') {
		return LINE_BAD;
	}
	req->target.p = p + t0;
	req->target.n = i - t0;
	return parse_version(p + i + 1, n - i - 1, &req->version_minor);
}

/* name ":" OWS value OWS, without the line ending. A leading blank is an
 * obs-fold continuation, which RFC 9112 lets a server reject. */
static enum line_result
parse_header_line(const char *p, size_t n, struct http_header *h)
{
	size_t i = token_len(p, n);
	size_t j;

	if (i == n) {
		return LINE_MORE;
	}
	if (i == 0 || p[i] != ':') {
		return LINE_BAD;
	}
	for (j = i + 1; j < n; j++) {
		if (!is_value_char((unsigned char) p[j])) {
			return LINE_BAD;
		}
	}
	h->name.p = p;
	h->name.n = i;
	h->value = span_trim(p + i + 1, n - i - 1);
	return LINE_OK;
}

/* Checks line number lineno (0 is the request line) of n bytes. */
static enum line_result
parse_line(const char *p, size_t n, size_t lineno, struct http_req *req)
{
	if (lineno == 0) {
		return parse_request_line(p, n, req);
	}
	if (req->nheaders == HTTP_MAX_HEADERS) {
		return LINE_BAD;
	}
	return parse_header_line(p, n, &req->headers[req->nheaders]);
}

static void
split_target(struct http_req *req)
{
	const char *q = memchr(req->target.p, '?', req->target.n);

	req->path = req->target;
	req->query.p = NULL;
	req->query.n = 0;
	if (q != NULL) {
		req->path.n = (size_t) (q - req->target.p);
		req->query.p = q + 1;
		req->query.n = req->target.n - req->path.n - 1;
	}
}

static void
index_headers(struct http_req *req)
{
	req->host = http_header(req, "Host");
	req->upgrade = http_header(req, "Upgrade");
	req->connection = http_header(req, "Connection");
	req->ws_key = http_header(req, "Sec-WebSocket-Key");
	req->ws_version = http_header(req, "Sec-WebSocket-Version");
	req->origin = http_header(req, "Origin");
}

/* Measures the line at p (up to n bytes): *len is its length without the
 * "\r\n" or "\n". Returns the bytes it takes with its line ending, or 0
 * while the ending has not arrived. */
static size_t
next_line(const char *p, size_t n, size_t *len)
{
	const char *e = memchr(p, '\n', n);
	size_t l = e != NULL ? (size_t) (e - p) : n;

	/* A trailing CR of a partial line may be the start of its CRLF. */
	if (l > 0 && p[l - 1] == '\r') {
		l--;
	}
	*len = l;
	return e != NULL ? (size_t) (e - p) + 1 : 0;
}

/*
 * Walks the lines in buf[0..limit), re-checking from the start on every
 * call so that no state is kept between reads. Returns HTTP_DONE with *used
 * set past the blank line, HTTP_BAD on a malformed line (even one still
 * arriving), else HTTP_NEED_MORE.
 */
static enum http_result
parse_lines(const char *buf, size_t limit, struct http_req *req, size_t *used)
{
	size_t pos = 0;
	size_t lineno = 0;

	while (pos < limit) {
		size_t n;
		size_t step = next_line(buf + pos, limit - pos, &n);
		enum line_result r;

		if (step > 0 && n == 0) {
			*used = pos + step;
			return lineno == 0 ? HTTP_BAD : HTTP_DONE;
		}
		r = parse_line(buf + pos, n, lineno, req);
		if (r == LINE_BAD || (step > 0 && r == LINE_MORE)) {
			return HTTP_BAD;
		}
		if (step == 0) {
			return HTTP_NEED_MORE;
		}
		req->nheaders += lineno > 0;
		lineno++;
		pos += step;
	}
	return HTTP_NEED_MORE;
}

enum http_result
http_parse(const char *buf, size_t len, struct http_req *req, size_t *used,
    int *status)
{
	struct http_req r;
	size_t limit = len < HTTP_MAX_REQUEST ? len : HTTP_MAX_REQUEST;
	size_t u = 0;
	enum http_result res;

	memset(&r, 0, sizeof(r));
	res = parse_lines(buf, limit, &r, &u);
	if (res == HTTP_BAD) {
		*status = 400;
		return HTTP_BAD;
	}
	if (res == HTTP_NEED_MORE) {
		if (len > HTTP_MAX_REQUEST) {
			*status = 431;
			return HTTP_BAD;
		}
		return HTTP_NEED_MORE;
	}
	split_target(&r);
	index_headers(&r);
	*req = r;
	*used = u;
	return HTTP_DONE;
}

struct http_span
http_header(const struct http_req *req, const char *name)
{
	struct http_span none = { NULL, 0 };
	size_t n = strlen(name);
	size_t i;

	for (i = 0; i < req->nheaders; i++) {
		if (span_ieq(req->headers[i].name, name, n)) {
			return req->headers[i].value;
		}
	}
	return none;
}

int
http_has_token(struct http_span v, const char *token)
{
	size_t tn = strlen(token);
	size_t i = 0;

	if (v.p == NULL) {
		return 0;
	}
	while (i <= v.n) {
		const char *c = memchr(v.p + i, ',', v.n - i);
		size_t end = c != NULL ? (size_t) (c - v.p) : v.n;

		if (span_ieq(span_trim(v.p + i, end - i), token, tn)) {
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

void
http_ws_accept(const char *key, size_t key_len, char out[29])
{
	unsigned char small[128];
	unsigned char *buf = small;
	unsigned char md[SHA_DIGEST_LENGTH];
	size_t n = key_len + sizeof(WS_GUID) - 1;

	if (n > sizeof(small)) {
		buf = mem_alloc(n);
	}
	memcpy(buf, key, key_len);
	memcpy(buf + key_len, WS_GUID, sizeof(WS_GUID) - 1);
	SHA1(buf, n, md);
	EVP_EncodeBlock((unsigned char *) out, md, sizeof(md));
	if (buf != small) {
		mem_free(buf);
	}
}

/* RFC 6455: the key is 16 bytes in base64, so 22 characters and "==". */
static int
key_valid(struct http_span key)
{
	unsigned char raw[18];

	if (key.p == NULL || key.n != 24 || memchr(key.p, '=', 22) != NULL
	    || memcmp(key.p + 22, "==", 2) != 0) {
		return 0;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	return EVP_DecodeBlock(raw, (const unsigned char *) key.p, 24) == 18;
}

/* An Origin value taken apart as Node's url.parse() would for the check. */
struct origin {
	char host[ORIGIN_MAX_HOST + 1];
	char port[6];
};

static int
is_host_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
	    || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_';
}

static int
is_ipv6_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
	    || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/* Copies the host at p[*i..n) into o->host, lower-cased; an IPv6 literal
 * loses its brackets. Returns 0 if there is no acceptable host. */
static int
origin_host(const char *p, size_t n, size_t *i, struct origin *o)
{
	int v6 = *i < n && p[*i] == '[';
	size_t j = *i + (size_t) v6;
	size_t len = 0;

	while (j < n && (v6 ? is_ipv6_char(p[j]) : is_host_char(p[j]))) {
		if (len == ORIGIN_MAX_HOST) {
			return 0;
		}
		o->host[len++] = lower(p[j++]);
	}
	o->host[len] = '\0';
	if (v6 && (j == n || p[j++] != ']')) {
		return 0;
	}
	*i = j;
	return len > 0;
}

/* Reads an optional ":digits" at p[*i..n); a missing or empty port keeps
 * o->port, the scheme's default. */
static int
origin_port(const char *p, size_t n, size_t *i, struct origin *o)
{
	size_t j = *i;
	size_t len = 0;

	if (j == n || p[j] != ':') {
		return 1;
	}
	for (j++; j < n && p[j] >= '0' && p[j] <= '9'; j++) {
		if (len == sizeof(o->port) - 1) {
			return 0;
		}
		o->port[len++] = p[j];
	}
	if (len > 0) {
		o->port[len] = '\0';
	}
	*i = j;
	return 1;
}

/* Parses "scheme://host[:port][/...]". Returns 0 if o is not usable. */
static int
origin_parse(struct http_span s, struct origin *o)
{
	struct http_span scheme = { s.p, 0 };
	size_t i = 0;

	while (i < s.n && (is_host_char(s.p[i]) || s.p[i] == '+')) {
		i++;
	}
	scheme.n = i;
	if (i == 0 || s.n - i < 3 || memcmp(s.p + i, "://", 3) != 0) {
		return 0;
	}
	i += 3;
	if (span_ieq(scheme, "https", 5) || span_ieq(scheme, "wss", 3)) {
		strcpy(o->port, "443");
	} else {
		strcpy(o->port, "80");
	}
	if (!origin_host(s.p, s.n, &i, o) || !origin_port(s.p, s.n, &i, o)) {
		return 0;
	}
	return i == s.n || s.p[i] == '/';
}

int
http_origin_allowed(const char *origins, struct http_span origin)
{
	struct origin o;
	char needle[ORIGIN_MAX_HOST + sizeof(o.port) + 2];

	if (origins == NULL || strstr(origins, "*:*") != NULL) {
		return 1;
	}
	if (origin.p == NULL || span_eq(origin, "null")
	    || !origin_parse(origin, &o)) {
		return 0;
	}
	snprintf(needle, sizeof(needle), "%s:%s", o.host, o.port);
	if (strstr(origins, needle) != NULL) {
		return 1;
	}
	snprintf(needle, sizeof(needle), "%s:*", o.host);
	if (strstr(origins, needle) != NULL) {
		return 1;
	}
	snprintf(needle, sizeof(needle), "*:%s", o.port);
	return strstr(origins, needle) != NULL;
}

static void
reject(struct http_decision *d, int status, const char *reason)
{
	d->verdict = HTTP_REJECT;
	d->status = status;
	d->reason = reason;
}

/* The reference prints a missing or "null" origin as "*". */
static const char *
origin_reason(struct http_span origin)
{
	static char buf[sizeof(ORIGIN_PREFIX) + HTTP_MAX_REQUEST];

	if (origin.p == NULL || span_eq(origin, "null")) {
		return ORIGIN_PREFIX "*";
	}
	snprintf(buf, sizeof(buf), "%s%.*s", ORIGIN_PREFIX,
	    (int) (origin.n < HTTP_MAX_REQUEST ? origin.n : HTTP_MAX_REQUEST),
	    origin.p);
	return buf;
}

/* The checks `ws` makes before its verifyClient hook, in its order. */
static int
check_ws_request(const struct http_req *req, const struct http_policy *pol,
    struct http_decision *d)
{
	if (!span_eq(req->method, "GET")) {
		reject(d, 405, "Invalid HTTP method");
	} else if (!span_ieq(req->upgrade, "websocket", 9)) {
		reject(d, 400, "Invalid Upgrade header");
	} else if (!http_has_token(req->connection, "upgrade")) {
		reject(d, 400, "Invalid Connection header");
	} else if (!key_valid(req->ws_key)) {
		reject(d, 400, "Missing or invalid Sec-WebSocket-Key header");
	} else if (!span_eq(req->ws_version, "13")
	    && !span_eq(req->ws_version, "8")) {
		reject(
		    d, 400, "Missing or invalid Sec-WebSocket-Version header");
		d->extra_headers = "Sec-WebSocket-Version: 13, 8\r\n";
	} else if (!span_eq(req->path, pol->ws_path)) {
		reject(d, 400, "Bad Request");
	} else {
		return 1;
	}
	return 0;
}

int
http_decide(const struct http_req *req, const struct http_policy *pol,
    struct http_decision *d)
{
	memset(d, 0, sizeof(*d));
	/* Node hands a request to `ws` only when it asks for an upgrade;
	 * a half-formed upgrade is refused here rather than served as
	 * plain HTTP. */
	if (req->upgrade.p == NULL
	    && !http_has_token(req->connection, "upgrade")) {
		if (pol->health_path != NULL && span_eq(req->method, "GET")
		    && span_eq(req->path, pol->health_path)) {
			d->verdict = HTTP_HEALTH;
			d->status = 200;
			d->reason = "OK";
		} else if (pol->ready_path != NULL
		    && span_eq(req->method, "GET")
		    && span_eq(req->path, pol->ready_path)) {
			d->verdict = HTTP_READY;
			d->status = 200;
			d->reason = "OK";
		} else {
			reject(d, 501, "Not Implemented");
		}
		return 0;
	}
	if (!check_ws_request(req, pol, d)) {
		return 0;
	}
	if (!http_origin_allowed(pol->origins, req->origin)) {
		reject(d, 403, origin_reason(req->origin));
		return 0;
	}
	d->verdict = HTTP_UPGRADE;
	d->status = 101;
	http_ws_accept(req->ws_key.p, req->ws_key.n, d->accept);
	return 0;
}

size_t
http_response(
    char *out, size_t cap, int status, const char *extra, const char *body)
{
	int n;

	if (extra == NULL) {
		extra = "";
	}
	if (status == 101) {
		n = snprintf(out, cap, "HTTP/1.1 101 %s\r\n%s\r\n",
		    http_status_text(101), extra);
	} else {
		n = snprintf(out, cap,
		    "HTTP/1.1 %d %s\r\nConnection: close\r\n%s"
		    "Content-Length: %zu\r\n%s\r\n%s",
		    status, http_status_text(status),
		    body != NULL ? "Content-Type: text/html\r\n" : "",
		    body != NULL ? strlen(body) : 0, extra,
		    body != NULL ? body : "");
	}
	if (n < 0 || (size_t) n >= cap) {
		return 0;
	}
	return (size_t) n;
}

const char *
http_status_text(int status)
{
	static const struct {
		int status;
		const char *text;
	} texts[] = {
		{ 101, "Switching Protocols" },
		{ 200, "OK" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
	};
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (texts[i].status == status) {
			return texts[i].text;
		}
	}
	return "Unknown";
}
