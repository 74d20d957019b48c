/*
 * SocketCluster packet codec (JSON, sc-formatter semantics). Pure: no I/O.
 *
 * Decoding mirrors the reference server: a text that does not start with '{'
 * or '[' after blanks, or that is not valid JSON, is a "raw" message. A valid
 * JSON object is one packet; an array is a batch whose elements are handled
 * one by one. Nothing is copied: packets are described by token indices into
 * the decoder, whose spans point into the caller's text. The payload `data`
 * stays the raw bytes of its JSON text, which is what the publish hot path
 * forwards. Containers below the fields of a packet's data (a publish's
 * payload: level 3 of a lone packet, 4 of a batch; for a text decoded as
 * one object, its members' members) are validated but opaque: scp_raw
 * gives their text, and scp_field and scp_array_has see them as empty.
 */
#ifndef AG_SCP_H
#define AG_SCP_H

#include <stddef.h>

#include "common/strbuf.h"

/* Messages nested deeper than this, or made of more JSON tokens (values and
 * keys), are treated as raw (ignored): they bound what one message costs. */
#define SCP_MAX_DEPTH  64
#define SCP_MAX_TOKENS (1u << 20)

/* Outcome of scp_decode. */
enum scp_result {
	SCP_RAW = 0, /* not JSON, or not an object or array: a raw message */
	SCP_PACKETS = 1 /* one object, or an array of elements */
};

struct scp_tok; /* opaque token */

struct scp_decoder {
	struct scp_tok *toks; /* owned, grown on demand */
	unsigned cap;
	int ntoks;
	const char *js; /* borrowed text being decoded */
	size_t len;
	int is_array;
	int nelems;  /* elements (1 for an object) */
	int cursor;  /* next element token for scp_next */
	int visited; /* elements returned so far */
};

/* A borrowed span of the decoded text. */
struct scp_span {
	const char *p;
	size_t n;
};

/* What one packet (one element) is. */
enum scp_kind {
	SCP_EVENT,    /* string "event": transmit, or invoke when has_cid */
	SCP_RESPONSE, /* no string event, numeric rid */
	SCP_OTHER,    /* an object that is neither (or not an object): raw */
};

/* Token index meaning "absent". */
#define SCP_NONE (-1)

struct scp_packet {
	enum scp_kind kind;
	int event; /* string token of "event", or SCP_NONE */
	int cid;   /* number token of "cid" (only if numeric), or SCP_NONE */
	int rid;   /* number token of "rid" (only if numeric), or SCP_NONE */
	int data;  /* value token of "data" (SCP_NONE if absent or null) */
	int error; /* value token of "error", or SCP_NONE */
};

void scp_decoder_init(struct scp_decoder *d);
/* Frees the token table if it grew past a few thousand tokens, so one huge
 * message does not pin its memory for the process's life. */
void scp_decoder_trim(struct scp_decoder *d);
void scp_decoder_fini(struct scp_decoder *d);

/*
 * Decodes one WebSocket text message. The text is borrowed until the next
 * scp_decode. Returns SCP_PACKETS or SCP_RAW; never fails otherwise.
 */
enum scp_result scp_decode(
    struct scp_decoder *d, const char *text, size_t len);

/* A #publish read by scp_match_publish. */
struct scp_publish {
	struct scp_span channel; /* the name: no escapes in it */
	struct scp_span data;    /* the payload's JSON text */
	struct scp_span cid;     /* its digits; p NULL when there is none */
};

/*
 * The publish hot path: returns 1 and fills *out when text is exactly
 * {"event":"#publish","data":{"channel":"NAME","data":VALUE}} or the same
 * with ,"cid":DIGITS before the last brace (what the official clients
 * send), NAME has no escapes, and VALUE is valid JSON (checked as
 * scp_decode checks it, without tokens). Returns 0 for anything else,
 * which scp_decode then reads in full: for every text it matches,
 * scp_decode would give one packet with the same event, channel, data and
 * cid. Touches no token of d.
 */
int scp_match_publish(struct scp_decoder *d, const char *text, size_t len,
    struct scp_publish *out);

/* Returns 1 and fills *pkt with the next element of the batch (or the single
 * object), or 0 when all have been returned. */
int scp_next(struct scp_decoder *d, struct scp_packet *pkt);

/* The raw JSON text of token t (strings include their quotes). */
struct scp_span scp_raw(const struct scp_decoder *d, int t);
/* The inner text of string token t, still escaped (no quotes). */
struct scp_span scp_str_raw(const struct scp_decoder *d, int t);
/* Returns 1 if t is a JSON string / object / null. */
int scp_is_string(const struct scp_decoder *d, int t);
int scp_is_object(const struct scp_decoder *d, int t);
int scp_is_null(const struct scp_decoder *d, int t);
/* Returns 1 if string token t equals s (compared unescaped). */
int scp_str_eq(const struct scp_decoder *d, int t, const char *s);
/* The same with s's length given; SCP_STR_EQ for a literal. */
int scp_str_eqn(const struct scp_decoder *d, int t, const char *s, size_t n);
#define SCP_STR_EQ(d, t, lit) scp_str_eqn((d), (t), (lit), sizeof(lit) - 1)
/* Returns 1 if array token arr has a string element equal (unescaped) to the
 * n bytes at s; 0 otherwise, also when arr is not an array. */
int scp_array_has(
    const struct scp_decoder *d, int arr, const char *s, size_t n);
/* Finds key in object token obj; returns the value token or SCP_NONE.
 * With duplicate keys the last counts, as in JSON.parse. */
int scp_field(const struct scp_decoder *d, int obj, const char *key);
/*
 * Unescapes string token t into out (cap bytes) as UTF-8; returns the
 * length, or -1 if it does not fit. Unpaired surrogate escapes become
 * U+FFFD, as JavaScript's JSON.parse followed by UTF-8 encoding would do.
 */
long scp_str_get(const struct scp_decoder *d, int t, char *out, size_t cap);

/* The unescaped string token t as an owned, NUL-terminated string (free
 * with mem_free); an unfit escape leaves it empty. */
char *scp_str_dup(const struct scp_decoder *d, int t);

/* Outgoing packets, appended as JSON text to sb. `cid` is the raw number
 * text to echo as rid; data/error spans are raw JSON (p NULL = omitted). */
void scp_put_response(
    struct strbuf *sb, struct scp_span rid, struct scp_span data);
void scp_put_error(struct strbuf *sb, struct scp_span rid, const char *name,
    const char *message, size_t message_len);
/* {"rid":<rid>,"error":<error>} with error raw JSON. */
void scp_put_error_raw(
    struct strbuf *sb, struct scp_span rid, const char *error, size_t n);
/* {"event":"#publish","data":{"channel":<chan>,"data":<data>}}; chan is the
 * unescaped channel name. */
void scp_put_publish(struct strbuf *sb, const char *chan, size_t chan_len,
    struct scp_span data);
/* Whether chan needs no escaping (no control character, '"' or '\\'), so
 * that its #publish can be written straight into its frame. */
int scp_name_plain(const char *chan, size_t chan_len);
/* The length of what scp_put_publish writes for a plain name. */
size_t scp_publish_len(size_t chan_len, struct scp_span data);
/* Writes exactly that (scp_publish_len bytes) to out. */
void scp_write_publish(
    char *out, const char *chan, size_t chan_len, struct scp_span data);
/* {"event":<event>[,"data":<data>]} with data raw JSON (p NULL = none). */
void scp_put_event(struct strbuf *sb, const char *event, struct scp_span data);

#endif
