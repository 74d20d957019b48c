#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

const struct envelope_limits envelope_limits_default = {
	.max_channel = ENVELOPE_MAX_CHANNEL,
	.max_payload = ENVELOPE_MAX_PAYLOAD,
	.max_envelopes = ENVELOPE_MAX_ENVELOPES,
};

/* Reasons for MALFORMED. Static, so callers may count them by pointer. */
static const char E_TRUNCATED[] = "truncated";
static const char E_NOT_ARRAY[] = "expected a msgpack array";
static const char E_NOT_UINT[] = "expected a msgpack uint";
static const char E_NOT_STR[] = "expected a msgpack str";
static const char E_NOT_BYTES[] = "expected a msgpack bin or str";
static const char E_RANGE[] = "integer out of range";
static const char E_HEADER[] = "header has the wrong number of fields";
static const char E_VERSION[] = "unknown version";
static const char E_TOO_MANY[] = "too many envelopes";
static const char E_EMPTY[] = "empty envelope";
static const char E_TYPE[] = "unknown envelope type";
static const char E_FIELDS[] = "envelope has the wrong number of fields";
static const char E_CHANNEL_LONG[] = "channel too long";
static const char E_PAYLOAD_LONG[] = "payload too long";
static const char E_TRAILING[] = "bytes after the last envelope";

/* The smallest envelope, [7], takes two bytes; a header declaring more
 * envelopes than half the bytes left cannot be honest. */
#define MIN_ENVELOPE_BYTES 2

/* ---- Reading: a strict msgpack subset, bounded by the input ---- */

static int
fail(struct envelope_batch *b, const char *why)
{
	b->error = why;
	return -1;
}

static size_t
left(const struct envelope_batch *b)
{
	return (size_t) (b->end - b->pos);
}

/* Consumes a tag byte followed by an n-byte big-endian number. */
static int
take_be(struct envelope_batch *b, unsigned n, uint64_t *v)
{
	uint64_t x = 0;

	if (left(b) < 1 + (size_t) n) {
		return fail(b, E_TRUNCATED);
	}
	for (unsigned i = 1; i <= n; i++) {
		x = (x << 8) | b->pos[i];
	}
	b->pos += 1 + n;
	*v = x;
	return 0;
}

/* Signed formats are refused even for non-negative values: we are the only
 * writer, and we write uints. */
static int
rd_uint(struct envelope_batch *b, uint64_t max, uint64_t *v)
{
	uint64_t x;
	uint8_t t;

	if (b->pos == b->end) {
		return fail(b, E_TRUNCATED);
	}
	t = *b->pos;
	if (t <= 0x7f) {
		x = t;
		b->pos++;
	} else if (t >= 0xcc && t <= 0xcf) {
		if (take_be(b, 1u << (t - 0xcc), &x) != 0) {
			return -1;
		}
	} else {
		return fail(b, E_NOT_UINT);
	}
	if (x > max) {
		return fail(b, E_RANGE);
	}
	*v = x;
	return 0;
}

static int
rd_array(struct envelope_batch *b, uint64_t *n)
{
	uint8_t t;

	if (b->pos == b->end) {
		return fail(b, E_TRUNCATED);
	}
	t = *b->pos;
	if (t >= 0x90 && t <= 0x9f) {
		*n = t & 0x0f;
		b->pos++;
		return 0;
	}
	if (t == 0xdc || t == 0xdd) {
		return take_be(b, t == 0xdc ? 2 : 4, n);
	}
	return fail(b, E_NOT_ARRAY);
}

/*
 * Reads a str (or, when bin_ok, a bin) of at most max bytes as a span into
 * the input. The declared length is checked against max first, then against
 * the bytes present, so no declared size is ever trusted.
 */
static int
rd_span(struct envelope_batch *b, int bin_ok, size_t max, const char *too_long,
    struct envelope_span *out)
{
	uint64_t n;
	uint8_t t;

	if (b->pos == b->end) {
		return fail(b, E_TRUNCATED);
	}
	t = *b->pos;
	if (t >= 0xa0 && t <= 0xbf) {
		n = t & 0x1f;
		b->pos++;
	} else if (t >= 0xd9 && t <= 0xdb) {
		if (take_be(b, 1u << (t - 0xd9), &n) != 0) {
			return -1;
		}
	} else if (bin_ok && t >= 0xc4 && t <= 0xc6) {
		if (take_be(b, 1u << (t - 0xc4), &n) != 0) {
			return -1;
		}
	} else {
		return fail(b, bin_ok ? E_NOT_BYTES : E_NOT_STR);
	}
	if (n > max) {
		return fail(b, too_long);
	}
	if (n > left(b)) {
		return fail(b, E_TRUNCATED);
	}
	out->p = (const char *) b->pos;
	out->n = (size_t) n;
	b->pos += n;
	return 0;
}

/* ---- Envelope bodies, one reader and one writer per shape ---- */

static int
rd_none(struct envelope_batch *b, struct envelope *e)
{
	return 0;
}

static int
rd_hello(struct envelope_batch *b, struct envelope *e)
{
	uint64_t pid;

	if (rd_uint(b, UINT64_MAX, &e->epoch) != 0
	    || rd_uint(b, UINT32_MAX, &pid) != 0) {
		return -1;
	}
	e->pid = (uint32_t) pid;
	return 0;
}

static int
rd_channel(struct envelope_batch *b, struct envelope *e)
{
	return rd_span(b, 0, b->lim.max_channel, E_CHANNEL_LONG, &e->channel);
}

static int
rd_deliver(struct envelope_batch *b, struct envelope *e)
{
	if (rd_channel(b, e) != 0) {
		return -1;
	}
	return rd_span(b, 1, b->lim.max_payload, E_PAYLOAD_LONG, &e->payload);
}

static int
rd_pub(struct envelope_batch *b, struct envelope *e)
{
	if (rd_deliver(b, e) != 0) {
		return -1;
	}
	if (b->pos != b->end && *b->pos == 0xc0) {
		b->pos++;
		return 0;
	}
	if (rd_uint(b, UINT64_MAX, &e->tag) != 0) {
		return -1;
	}
	e->has_tag = 1;
	return 0;
}

static int
rd_heartbeat(struct envelope_batch *b, struct envelope *e)
{
	return rd_uint(b, UINT64_MAX, &e->time_ms);
}

static void
wr_none(msgpack_packer *pk, const struct envelope *e)
{
}

static void
wr_hello(msgpack_packer *pk, const struct envelope *e)
{
	msgpack_pack_uint64(pk, e->epoch);
	msgpack_pack_uint32(pk, e->pid);
}

static void
wr_channel(msgpack_packer *pk, const struct envelope *e)
{
	msgpack_pack_str_with_body(pk, e->channel.p, e->channel.n);
}

static void
wr_deliver(msgpack_packer *pk, const struct envelope *e)
{
	wr_channel(pk, e);
	msgpack_pack_bin_with_body(pk, e->payload.p, e->payload.n);
}

static void
wr_pub(msgpack_packer *pk, const struct envelope *e)
{
	wr_deliver(pk, e);
	if (e->has_tag) {
		msgpack_pack_uint64(pk, e->tag);
	} else {
		msgpack_pack_nil(pk);
	}
}

static void
wr_heartbeat(msgpack_packer *pk, const struct envelope *e)
{
	msgpack_pack_uint64(pk, e->time_ms);
}

/* Fields after the type, and how to read and write them. */
struct shape {
	uint32_t nfields;
	int (*read)(struct envelope_batch *b, struct envelope *e);
	void (*write)(msgpack_packer *pk, const struct envelope *e);
};

static const struct shape shapes[] = {
	[ENVELOPE_HELLO] = { 2, rd_hello, wr_hello },
	[ENVELOPE_SUB] = { 1, rd_channel, wr_channel },
	[ENVELOPE_UNSUB] = { 1, rd_channel, wr_channel },
	[ENVELOPE_PUB] = { 3, rd_pub, wr_pub },
	[ENVELOPE_DELIVER] = { 2, rd_deliver, wr_deliver },
	[ENVELOPE_HEARTBEAT] = { 1, rd_heartbeat, wr_heartbeat },
	[ENVELOPE_RESYNC_DONE] = { 0, rd_none, wr_none },
	[ENVELOPE_SUBSCRIBED] = { 1, rd_channel, wr_channel },
};

static const struct shape *
shape_of(uint64_t type)
{
	if (type >= sizeof(shapes) / sizeof(shapes[0])
	    || shapes[type].read == NULL) {
		return NULL;
	}
	return &shapes[type];
}

/* ---- Decoding a batch ---- */

/* The version comes first and is checked before the header's length, so
 * that a later version may reshape the rest of the header. */
static int
rd_header(struct envelope_batch *b)
{
	uint64_t n, version, sender, count;

	if (rd_array(b, &n) != 0) {
		return -1;
	}
	if (n == 0) {
		return fail(b, E_HEADER);
	}
	if (rd_uint(b, UINT64_MAX, &version) != 0) {
		return -1;
	}
	if (version != ENVELOPE_VERSION) {
		return fail(b, E_VERSION);
	}
	if (n != 4) {
		return fail(b, E_HEADER);
	}
	if (rd_uint(b, UINT64_MAX, &b->seq) != 0
	    || rd_uint(b, UINT32_MAX, &sender) != 0
	    || rd_uint(b, UINT32_MAX, &count) != 0) {
		return -1;
	}
	if (count > b->lim.max_envelopes) {
		return fail(b, E_TOO_MANY);
	}
	if (count > left(b) / MIN_ENVELOPE_BYTES) {
		return fail(b, E_TRUNCATED);
	}
	b->sender = (uint32_t) sender;
	b->count = (uint32_t) count;
	return 0;
}

enum envelope_result
envelope_batch_open(const void *bytes, size_t len,
    const struct envelope_limits *limits, struct envelope_batch *batch)
{
	memset(batch, 0, sizeof(*batch));
	batch->lim = limits != NULL ? *limits : envelope_limits_default;
	/* No arithmetic on a NULL pointer, even with a zero offset. */
	if (len == 0) {
		batch->error = E_TRUNCATED;
		return ENVELOPE_MALFORMED;
	}
	batch->pos = bytes;
	batch->end = batch->pos + len;
	if (rd_header(batch) != 0) {
		return ENVELOPE_MALFORMED;
	}
	return ENVELOPE_OK;
}

static int
rd_envelope(struct envelope_batch *b, struct envelope *e)
{
	const struct shape *s;
	uint64_t n, type;

	if (rd_array(b, &n) != 0) {
		return -1;
	}
	if (n == 0) {
		return fail(b, E_EMPTY);
	}
	if (rd_uint(b, UINT64_MAX, &type) != 0) {
		return -1;
	}
	s = shape_of(type);
	if (s == NULL) {
		return fail(b, E_TYPE);
	}
	if (n != (uint64_t) s->nfields + 1) {
		return fail(b, E_FIELDS);
	}
	e->type = (enum envelope_type) type;
	return s->read(b, e);
}

enum envelope_result
envelope_batch_next(struct envelope_batch *batch, struct envelope *env)
{
	struct envelope e;

	if (batch->error != NULL) {
		return ENVELOPE_MALFORMED;
	}
	if (batch->returned == batch->count) {
		if (batch->pos != batch->end) {
			batch->error = E_TRAILING;
			return ENVELOPE_MALFORMED;
		}
		return ENVELOPE_END;
	}
	memset(&e, 0, sizeof(e));
	if (rd_envelope(batch, &e) != 0) {
		return ENVELOPE_MALFORMED;
	}
	batch->returned++;
	*env = e;
	return ENVELOPE_NEXT;
}

/* ---- Writing ---- */

static void
misuse(const char *what)
{
	fprintf(stderr, "agcluster: envelope writer misuse: %s\n", what);
	abort();
}

/* msgpack-c's write callback; sb_add never fails (it aborts on OOM). */
static int
sb_write(void *data, const char *buf, size_t len)
{
	if (len > 0) {
		sb_add(data, buf, len);
	}
	return 0;
}

void
envelope_writer_init(struct envelope_writer *w)
{
	sb_init(&w->buf);
	w->count_at = 0;
	w->count = 0;
	w->open = 0;
}

void
envelope_writer_fini(struct envelope_writer *w)
{
	sb_fini(&w->buf);
	envelope_writer_init(w);
}

void
envelope_writer_reset(struct envelope_writer *w)
{
	sb_reset(&w->buf);
	w->count_at = 0;
	w->count = 0;
	w->open = 0;
}

void
envelope_begin(struct envelope_writer *w, uint64_t seq, uint32_t sender)
{
	/* The count is known only at finish: a fixed-width uint32 is reserved
	 * so that finish can patch it in place without moving the batch. */
	static const uint8_t count32[5] = { 0xce, 0, 0, 0, 0 };
	msgpack_packer pk;

	envelope_writer_reset(w);
	msgpack_packer_init(&pk, &w->buf, sb_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint32(&pk, ENVELOPE_VERSION);
	msgpack_pack_uint64(&pk, seq);
	msgpack_pack_uint32(&pk, sender);
	w->count_at = w->buf.len;
	sb_add(&w->buf, count32, sizeof(count32));
	w->open = 1;
}

void
envelope_put(struct envelope_writer *w, const struct envelope *env)
{
	const struct shape *s = shape_of((uint64_t) env->type);
	msgpack_packer pk;

	if (!w->open) {
		misuse("put outside begin..finish");
	}
	if (s == NULL) {
		misuse("unknown envelope type");
	}
	if (env->channel.n > UINT32_MAX || env->payload.n > UINT32_MAX) {
		misuse("span of 4 GiB or more");
	}
	if (w->count == UINT32_MAX) {
		misuse("batch of 2^32 envelopes");
	}
	msgpack_packer_init(&pk, &w->buf, sb_write);
	msgpack_pack_array(&pk, s->nfields + 1);
	msgpack_pack_uint32(&pk, (uint32_t) env->type);
	s->write(&pk, env);
	w->count++;
}

void
envelope_put_hello(struct envelope_writer *w, uint64_t epoch, uint32_t pid)
{
	struct envelope e
	    = { .type = ENVELOPE_HELLO, .epoch = epoch, .pid = pid };

	envelope_put(w, &e);
}

void
envelope_put_sub(struct envelope_writer *w, struct envelope_span chan)
{
	struct envelope e = { .type = ENVELOPE_SUB, .channel = chan };

	envelope_put(w, &e);
}

void
envelope_put_unsub(struct envelope_writer *w, struct envelope_span chan)
{
	struct envelope e = { .type = ENVELOPE_UNSUB, .channel = chan };

	envelope_put(w, &e);
}

void
envelope_put_pub(struct envelope_writer *w, struct envelope_span chan,
    struct envelope_span payload, int has_tag, uint64_t tag)
{
	struct envelope e = { .type = ENVELOPE_PUB,
		.channel = chan,
		.payload = payload,
		.has_tag = has_tag,
		.tag = tag };

	envelope_put(w, &e);
}

void
envelope_put_deliver(struct envelope_writer *w, struct envelope_span chan,
    struct envelope_span payload)
{
	struct envelope e = {
		.type = ENVELOPE_DELIVER, .channel = chan, .payload = payload
	};

	envelope_put(w, &e);
}

void
envelope_put_heartbeat(struct envelope_writer *w, uint64_t now_ms)
{
	struct envelope e = { .type = ENVELOPE_HEARTBEAT, .time_ms = now_ms };

	envelope_put(w, &e);
}

void
envelope_put_resync_done(struct envelope_writer *w)
{
	struct envelope e = { .type = ENVELOPE_RESYNC_DONE };

	envelope_put(w, &e);
}

void
envelope_put_subscribed(struct envelope_writer *w, struct envelope_span chan)
{
	struct envelope e = { .type = ENVELOPE_SUBSCRIBED, .channel = chan };

	envelope_put(w, &e);
}

size_t
envelope_writer_size(const struct envelope_writer *w)
{
	return w->buf.len;
}

uint32_t
envelope_writer_count(const struct envelope_writer *w)
{
	return w->count;
}

const uint8_t *
envelope_finish(struct envelope_writer *w, size_t *len)
{
	uint8_t *p;

	if (!w->open) {
		misuse("finish without begin");
	}
	p = (uint8_t *) w->buf.data + w->count_at + 1;
	p[0] = (uint8_t) (w->count >> 24);
	p[1] = (uint8_t) (w->count >> 16);
	p[2] = (uint8_t) (w->count >> 8);
	p[3] = (uint8_t) w->count;
	w->open = 0;
	*len = w->buf.len;
	return (const uint8_t *) w->buf.data;
}
