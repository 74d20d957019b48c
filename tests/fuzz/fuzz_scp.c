/*
 * libFuzzer target for the SocketCluster packet codec: decode, walk every
 * packet, read every field the session reads, and unescape every string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scp_decoder d;
	struct scp_packet p;
	char *text = malloc(size ? size : 1);

	memcpy(text, data, size);
	scp_decoder_init(&d);
	if (scp_decode(&d, text, size) == SCP_PACKETS) {
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
	scp_decoder_fini(&d);
	free(text);
	return 0;
}
