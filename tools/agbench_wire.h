/*
 * agbench's client side of the wire: the HTTP upgrade, RFC 6455 frames as a
 * client writes (masked) and reads (unmasked) them, and a JSON scanner that
 * walks SocketCluster packets without building anything. Pure: bytes in,
 * spans and numbers out; no I/O, no libevent.
 *
 * Spans point into the caller's message and are valid as long as it is.
 * Keys are compared as raw bytes: agbench only looks for plain ASCII keys.
 */
#ifndef AG_AGBENCH_WIRE_H
#define AG_AGBENCH_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Largest client frame header: 2 + 8 + 4 (mask) bytes. */
#define AGBENCH_WIRE_MAX_HEADER 14

enum agbench_wire_result {
	AGBENCH_WIRE_FAIL = -1, /* malformed */
	AGBENCH_WIRE_MORE = 0,  /* incomplete: keep the bytes, read more */
	AGBENCH_WIRE_OK = 1,    /* one item complete */
};

/* One frame from the server. */
struct agbench_wire_frame {
	int opcode; /* 1 text, 2 binary, 8 close, 9 ping, 10 pong, 0 cont */
	int fin;
	const uint8_t *payload; /* borrowed: into the caller's buffer */
	uint64_t len;
	size_t total; /* header + payload bytes to consume */
};

/*
 * Writes the upgrade request for path on host:port to out (cap bytes).
 * Returns its length, or 0 if it does not fit.
 */
size_t agbench_wire_upgrade_request(
    char *out, size_t cap, const char *host, int port, const char *path);
/*
 * Looks for the end of the server's upgrade response in the len bytes at
 * buf. AGBENCH_WIRE_OK with *used = the header length when it is complete
 * and says 101; MORE when incomplete; FAIL for any other status.
 */
int agbench_wire_upgrade_response(const char *buf, size_t len, size_t *used);

/*
 * Writes a masked client frame (FIN set) of opcode holding the len bytes at
 * payload (borrowed) with the masking key mask to out, which has room for
 * len + AGBENCH_WIRE_MAX_HEADER bytes. Returns the frame's length.
 */
size_t agbench_wire_frame_encode(
    uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask);
/*
 * Masks the len bytes at p in place with mask, as the frame's payload
 * starting at offset 0 (used to build a frame's payload where it lies).
 */
void agbench_wire_mask(uint8_t *p, size_t len, uint32_t mask);
/* Returns the header length of a client frame of len payload bytes. */
size_t agbench_wire_header_len(size_t len);
/* Writes a masked client frame header for len bytes (FIN, opcode) to out;
 * returns its length (agbench_wire_header_len(len)). */
size_t agbench_wire_header_encode(
    uint8_t *out, int opcode, size_t len, uint32_t mask);

/*
 * Reads one server frame from the len bytes at buf. OK with *f filled,
 * MORE, or FAIL (a masked frame, reserved bits, a length above max).
 */
int agbench_wire_frame_decode(const uint8_t *buf, size_t len, uint64_t max,
    struct agbench_wire_frame *f);

/* An iterator over the members of a JSON object or array. */
struct agbench_wire_iter {
	const char *p;
	const char *end;
	char close; /* '}' or ']' */
	int first;
};

/* Returns a pointer past the JSON value that starts at p (after blanks),
 * or NULL if it is malformed or runs past end. */
const char *agbench_wire_skip(const char *p, const char *end);
/*
 * Starts iterating over the JSON object ('{') or array ('[') of len bytes
 * at s. Returns 0, or -1 if s is not one.
 */
int agbench_wire_iter_init(
    struct agbench_wire_iter *it, const char *s, size_t len, char open);
/*
 * The next member of an object: its key (the raw bytes between the quotes)
 * and its value's span. Returns 1, 0 at the end, -1 if malformed.
 */
int agbench_wire_obj_next(struct agbench_wire_iter *it, const char **key,
    size_t *klen, const char **val, size_t *vlen);
/* The next element of an array. Returns 1, 0 at the end, -1 if malformed. */
int agbench_wire_arr_next(
    struct agbench_wire_iter *it, const char **val, size_t *vlen);
/* Returns 1 if the key of klen bytes at key is the NUL-terminated want. */
int agbench_wire_key_is(const char *key, size_t klen, const char *want);
/* Parses the JSON integer of len bytes at s into *out. Returns 0 or -1. */
int agbench_wire_int(const char *s, size_t len, int64_t *out);

/* One SocketCluster packet: the members agbench looks at. */
struct agbench_wire_packet {
	const char *event; /* the string's raw bytes, or NULL */
	size_t event_len;
	int64_t rid;      /* -1 if none */
	const char *data; /* the value's span, or NULL */
	size_t data_len;
	const char *error; /* the value's span, or NULL (also for null) */
	size_t error_len;
};

/*
 * Reads the packet object of len bytes at s. Returns 0, or -1 if it is not
 * a JSON object.
 */
int agbench_wire_packet(
    const char *s, size_t len, struct agbench_wire_packet *pkt);

/* The timestamp agbench puts in every payload it publishes. */
struct agbench_wire_stamp {
	int64_t chan; /* channel index */
	int64_t pub;  /* publisher index within the channel */
	int64_t seq;  /* that publisher's sequence number, from 0 */
	int64_t t;    /* send time, ns of agbench's monotonic clock */
};

/*
 * Writes the JSON payload for st, padded with a string member "x" to about
 * pad bytes in all, to out (cap bytes). Returns its length, or 0 if it does
 * not fit.
 */
size_t agbench_wire_stamp_encode(
    char *out, size_t cap, const struct agbench_wire_stamp *st, size_t pad);
/*
 * Reads a delivery's data ({"channel":..,"data":<stamp>}) of len bytes at
 * s into *st. Returns 0, or -1 if it is not one of agbench's.
 */
int agbench_wire_delivery(
    const char *s, size_t len, struct agbench_wire_stamp *st);

#endif
