/*
 * Envelopes: what workers and brokers say to each other over one nng pair1
 * link. Pure: bytes in, spans out; no nng, no libevent, the time is passed in.
 *
 * One nng message carries one batch: a msgpack header array
 * [version, seq, sender, count] followed by `count` envelopes, each a msgpack
 * array [type, fields...]. docs/envelopes.md has the field-by-field table.
 *
 * Writing uses msgpack-c's packer into a strbuf. Reading is a small strict
 * reader of our own, because msgpack-c's unpacker allocates storage for an
 * array from its declared length before the elements arrive (5 bytes could
 * ask for 96 GiB). The reader allocates nothing: every size a peer declares
 * is checked against the limits and against the bytes actually present, and
 * channels and payloads are returned as spans into the caller's bytes.
 *
 * An nng message always arrives whole, so a batch is never "incomplete":
 * truncated input is malformed, and decoding has two outcomes per step, not
 * the usual three.
 */
#ifndef AG_ENVELOPE_H
#define AG_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

/* The only format this code reads and writes. A batch of any other version
 * is malformed: the receiver counts it and drops it. */
#define ENVELOPE_VERSION 1

/*
 * Envelope types: the first element of each envelope array. Numbers are part
 * of the wire format and are never reused. In version 1 an unknown number is
 * malformed (there is no "skip what you do not know" rule yet); a new type
 * that old peers must tolerate needs a new version.
 */
enum envelope_type {
	ENVELOPE_HELLO = 1,       /* epoch, pid: a new peer; resync starts */
	ENVELOPE_SUB = 2,         /* channel: first local subscriber */
	ENVELOPE_UNSUB = 3,       /* channel: last local subscriber gone */
	ENVELOPE_PUB = 4,         /* channel, payload, optional tag */
	ENVELOPE_DELIVER = 5,     /* channel, payload */
	ENVELOPE_HEARTBEAT = 6,   /* time_ms */
	ENVELOPE_RESYNC_DONE = 7, /* the full subscription set has been sent */
	ENVELOPE_SUBSCRIBED = 8, /* channel: the broker has the worker's SUB */
};

/* Outcomes of envelope_batch_open and envelope_batch_next. */
enum envelope_result {
	ENVELOPE_MALFORMED = -1, /* drop the batch; batch->error says why */
	ENVELOPE_OK = 0,         /* open: the header is valid */
	ENVELOPE_END = 1,  /* next: no more envelopes, batch fully valid */
	ENVELOPE_NEXT = 2, /* next: *env holds one envelope */
};

/* What a receiver accepts. Anything larger is malformed, decided from the
 * declared size before anything else is read. */
struct envelope_limits {
	size_t max_channel;     /* bytes of a channel name */
	size_t max_payload;     /* bytes of a PUB or DELIVER payload */
	uint32_t max_envelopes; /* envelopes in one batch */
};

/* Defaults: 1 KiB channel names (workers must refuse longer names from
 * clients, or the broker drops the whole batch), 100 MiB payloads (the
 * worker's max_payload default), 4096 envelopes per batch (senders flush at
 * 64). */
#define ENVELOPE_MAX_CHANNEL   1024
#define ENVELOPE_MAX_PAYLOAD   (100 * 1024 * 1024)
#define ENVELOPE_MAX_ENVELOPES 4096

extern const struct envelope_limits envelope_limits_default;

/* A run of bytes. Decoded spans are borrowed from the batch's input. */
struct envelope_span {
	const char *p;
	size_t n;
};

/*
 * One envelope. Only the fields of its type are meaningful; the others are
 * zero. channel: SUB, UNSUB, PUB, DELIVER. payload: PUB, DELIVER (raw JSON
 * text, never parsed here). has_tag/tag: PUB. epoch/pid: HELLO. time_ms:
 * HEARTBEAT.
 */
struct envelope {
	enum envelope_type type;
	struct envelope_span channel;
	struct envelope_span payload;
	int has_tag;
	uint64_t tag;   /* publisher's tag, echoed by the broker */
	uint64_t epoch; /* changes on every process start */
	uint32_t pid;   /* for logs only */
	uint64_t time_ms;
};

/* Decoding state of one batch. Fields are read-only to the caller. */
struct envelope_batch {
	const uint8_t *pos; /* borrowed: next unread byte of the input */
	const uint8_t *end;
	struct envelope_limits lim;
	uint64_t seq;      /* the link's sequence number of this batch */
	uint32_t sender;   /* the sender's id */
	uint32_t count;    /* envelopes the header declares */
	uint32_t returned; /* envelopes returned so far */
	const char *error; /* static reason after MALFORMED, else NULL */
};

/*
 * Reads the header of the batch in bytes[0..len). Borrows bytes until the
 * last use of the batch and of the envelopes it returns; borrows nothing
 * else (limits is copied; NULL means envelope_limits_default).
 *
 * ENVELOPE_OK: seq, sender and count are set; call envelope_batch_next.
 * ENVELOPE_MALFORMED: batch->error is a static string naming the reason
 * (unknown version, truncated, a count over the limit, ...).
 */
enum envelope_result envelope_batch_open(const void *bytes, size_t len,
    const struct envelope_limits *limits, struct envelope_batch *batch);

/*
 * Decodes the next envelope into *env (written only on ENVELOPE_NEXT); its
 * spans point into the batch's input.
 *
 * ENVELOPE_NEXT: one valid envelope.
 * ENVELOPE_END: all `count` envelopes were returned and no byte follows them.
 * ENVELOPE_MALFORMED: this envelope is invalid, or the bytes end before
 * `count` envelopes, or bytes follow the last one; batch->error says why.
 * Envelopes returned before were valid, so a caller that has acted on them
 * treats the batch like a gap in the sequence (resync). END and MALFORMED
 * are final: later calls return the same.
 */
enum envelope_result envelope_batch_next(
    struct envelope_batch *batch, struct envelope *env);

/*
 * Builds one batch. Embedded: envelope_writer_init/fini. Usage: begin, put
 * envelopes, finish, send the bytes, then begin the next batch.
 */
struct envelope_writer {
	struct strbuf buf; /* owned */
	size_t count_at;   /* offset of the 4-byte envelope count */
	uint32_t count;
	int open; /* between begin and finish */
};

void envelope_writer_init(struct envelope_writer *w);
void envelope_writer_fini(struct envelope_writer *w);
/* Discards the batch in progress (if any), keeping the memory. */
void envelope_writer_reset(struct envelope_writer *w);

/* Starts a batch with the link's sequence number and the sender's id,
 * discarding anything in progress. */
void envelope_begin(struct envelope_writer *w, uint64_t seq, uint32_t sender);

/*
 * Appends one envelope to the batch in progress. The spans are copied; the
 * caller keeps them. Putting outside begin..finish, a type that is not one
 * of enum envelope_type, or a span of 2^32 bytes or more (msgpack's limit)
 * is a bug in the caller and aborts. The writer does not apply the
 * receiver's limits: callers keep channels and payloads within them.
 */
void envelope_put(struct envelope_writer *w, const struct envelope *env);

/* Shorthands for envelope_put. */
void envelope_put_hello(
    struct envelope_writer *w, uint64_t epoch, uint32_t pid);
void envelope_put_sub(struct envelope_writer *w, struct envelope_span chan);
void envelope_put_unsub(struct envelope_writer *w, struct envelope_span chan);
/* tag is sent only when has_tag is non-zero. */
void envelope_put_pub(struct envelope_writer *w, struct envelope_span chan,
    struct envelope_span payload, int has_tag, uint64_t tag);
void envelope_put_deliver(struct envelope_writer *w, struct envelope_span chan,
    struct envelope_span payload);
void envelope_put_heartbeat(struct envelope_writer *w, uint64_t now_ms);
void envelope_put_resync_done(struct envelope_writer *w);
void envelope_put_subscribed(
    struct envelope_writer *w, struct envelope_span chan);

/* Bytes and envelopes in the batch in progress, so the caller can flush
 * at its thresholds (for example 64 envelopes or 16 KiB). */
size_t envelope_writer_size(const struct envelope_writer *w);
uint32_t envelope_writer_count(const struct envelope_writer *w);

/*
 * Completes the batch and returns its bytes, borrowed from the writer until
 * the next begin, reset or fini; *len is set to their length. A batch may be
 * empty (count 0). Finishing without a batch in progress aborts.
 */
const uint8_t *envelope_finish(struct envelope_writer *w, size_t *len);

#endif
