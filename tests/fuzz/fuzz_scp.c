/*
 * libFuzzer target for the SocketCluster packet codec: decode, walk every
 * packet, read every field the session reads, and unescape every string.
 * Differential: an object or array is a packet exactly when
 * common/tjson.c, the strict JSON.parse-like reader of tokens, accepts it;
 * and whatever the publish fast path (scp_match_publish) takes, the full
 * decoder reads as one #publish with the same channel, data and cid.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/tjson.h"
#include "worker/scp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
touch(struct scp_decoder *d, int t)
{
	char out[256];
	struct scp_span s;

	if (t == SCP_NONE) {
		return;
	}
	s = scp_raw(d, t);
	if (s.n > 0 && (s.p[0] == '\0' && s.p[s.n - 1] == '\0')) {
		abort();
	}
	if (scp_is_string(d, t)) {
		scp_str_get(d, t, out, sizeof(out));
		scp_str_eq(d, t, "#publish");
	}
}

/* 1 when tjson accepts the text and it is an object or an array. */
static int
tjson_container(const char *text, size_t size)
{
	struct tjson j;
	size_t i = 0;
	int ok;

	while (i < size
	    && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'
	        || text[i] == '\r')) {
		i++;
	}
	if (i == size || (text[i] != '{' && text[i] != '[')) {
		return 0;
	}
	ok = tjson_parse(&j, text, size) == 0;
	tjson_fini(&j);
	return ok;
}

static int
span_eq(struct scp_span a, struct scp_span b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* What scp_match_publish took must be what the full decoder sees. */
static void
check_fast_publish(struct scp_decoder *d, const char *text, size_t size)
{
	struct scp_publish fp;
	struct scp_packet p;
	int ch, payload;

	if (!scp_match_publish(d, text, size, &fp)) {
		return;
	}
	if (scp_decode(d, text, size) != SCP_PACKETS || d->is_array
	    || !scp_next(d, &p) || !scp_str_eq(d, p.event, "#publish")) {
		abort();
	}
	ch = scp_field(d, p.data, "channel");
	payload = scp_field(d, p.data, "data");
	if (ch == SCP_NONE || payload == SCP_NONE || !scp_is_string(d, ch)
	    || !span_eq(scp_str_raw(d, ch), fp.channel)
	    || !span_eq(scp_raw(d, payload), fp.data)) {
		abort();
	}
	if (fp.cid.p == NULL
	        ? p.cid != SCP_NONE
	        : p.cid == SCP_NONE || !span_eq(scp_raw(d, p.cid), fp.cid)) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scp_decoder d;
	struct scp_packet p;
	char *text = malloc(size ? size : 1);

	memcpy(text, data, size);
	scp_decoder_init(&d);
	if ((scp_decode(&d, text, size) == SCP_PACKETS)
	    != tjson_container(text, size)) {
		abort();
	}
	if (d.nelems > 0) {
		while (scp_next(&d, &p)) {
			touch(&d, p.event);
			touch(&d, p.cid);
			touch(&d, p.rid);
			touch(&d, p.data);
			touch(&d, p.error);
			if (p.data != SCP_NONE) {
				touch(&d, scp_field(&d, p.data, "channel"));
				touch(&d, scp_field(&d, p.data, "data"));
				touch(&d, scp_field(&d, p.data, "authToken"));
			}
		}
	}
	check_fast_publish(&d, text, size);
	scp_decoder_fini(&d);
	free(text);
	return 0;
}
