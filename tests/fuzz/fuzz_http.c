/*
 * libFuzzer target for the HTTP request parser and the upgrade decision.
 * The input is copied to a buffer of exactly its size so that any read past
 * len is caught by ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_policy policy = {
	.ws_path = "/socketcluster/",
	.health_path = "/health-check",
	.origins = "allowed.example.com:*,*:8443,[::1]:80",
	.ready_path = "/ready",
};

/* Checks the decision against the contract; a broken one aborts so that
 * libFuzzer keeps the input. */
static void
check_decision(const struct http_decision *d)
{
	char out[HTTP_MAX_REQUEST + 512];

	if (d->verdict == HTTP_UPGRADE) {
		if (d->status != 101 || strlen(d->accept) != 28) {
			abort();
		}
		return;
	}
	if (d->reason == NULL
	    || http_response(
	           out, sizeof(out), d->status, d->extra_headers, d->reason)
	        == 0) {
		abort();
	}
}

static void
fuzz_parse(const char *buf, size_t len)
{
	struct http_req req;
	struct http_decision d;
	size_t used = 0;
	int status = 0;
	enum http_result r = http_parse(buf, len, &req, &used, &status);

	if (r == HTTP_BAD && status != 400 && status != 431) {
		abort();
	}
	if (r != HTTP_DONE) {
		return;
	}
	if (used == 0 || used > len || used > HTTP_MAX_REQUEST
	    || req.nheaders > HTTP_MAX_HEADERS) {
		abort();
	}
	http_decide(&req, &policy, &d);
	check_decision(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct http_span origin;

	if (buf == NULL) {
		return 0;
	}
	memcpy(buf, data, size);
	fuzz_parse(buf, size);
	origin.p = buf;
	origin.n = size;
	http_origin_allowed(policy.origins, origin);
	free(buf);
	return 0;
}
