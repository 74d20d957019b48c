/*
 * RFC 6455 WebSocket codec, server side. Pure: bytes in, messages and close
 * codes out; no I/O, no libevent.
 *
 * Reading: ws_read() consumes whole frames from a byte stream and yields whole
 * messages. An unfragmented data frame is unmasked in place and returned as a
 * pointer into the caller's buffer (no copy); fragments are collected in the
 * reader's own buffer, which exists only while a fragmented message is in
 * progress. Control frames may arrive between fragments and are returned as
 * messages of their own.
 *
 * Writing: server frames are never masked, so a whole frame (header and
 * payload) is identical for every recipient and can be encoded once.
 */
#ifndef AG_WS_H
#define AG_WS_H

#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

/* Close codes used by the codec (RFC 6455 section 7.4.1). */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_NO_STATUS = 1005,
	WS_CLOSE_ABNORMAL = 1006,
	WS_CLOSE_BAD_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

/* The three outcomes of ws_read(). */
enum ws_result {
	WS_FAIL = -1,     /* protocol violation: close with *close_code */
	WS_NEED_MORE = 0, /* no complete message yet; keep unconsumed bytes */
	WS_MSG = 1,       /* *msg holds one complete message */
};

/* Largest header a server writes: 2 + 8 bytes. */
#define WS_MAX_HEADER 10

struct ws_reader {
	uint64_t max_payload; /* largest message accepted; larger: 1009 */
	uint8_t frag_opcode;  /* opcode of the fragmented message, 0 if none */
	uint8_t *frag;        /* collected fragments (owned), NULL if none */
	size_t frag_len;
	size_t frag_cap;
};

struct ws_msg {
	enum ws_opcode opcode; /* TEXT, BINARY, CLOSE, PING or PONG */
	const uint8_t *data;   /* borrowed: into buf or into the reader */
	size_t len;
};

/* Initialises a reader that accepts messages up to max_payload bytes. */
void ws_reader_init(struct ws_reader *r, uint64_t max_payload);
/* Frees the fragment buffer; the reader can be reused after ws_reader_init. */
void ws_reader_fini(struct ws_reader *r);

/*
 * Consumes frames from buf[0..len) until one message is complete or the
 * bytes run out. Always sets *used to the number of bytes consumed (the
 * caller drops them; they may be > 0 even on WS_NEED_MORE, when whole
 * fragments were collected). buf is modified: payloads are unmasked in place.
 *
 * WS_MSG: *msg is valid until the next call on this reader or until the
 * caller changes buf. Text messages have been checked for valid UTF-8;
 * a CLOSE message's payload is the raw close body (use ws_parse_close).
 * WS_NEED_MORE: call again when more bytes arrive.
 * WS_FAIL: *close_code is the code to close with: 1002 for protocol
 * violations (unmasked frame, reserved bits or opcodes, bad continuation,
 * fragmented or oversized control frame), 1009 for a message or frame longer
 * than max_payload (checked from the header, before the payload arrives),
 * 1007 for a text message that is not valid UTF-8.
 */
enum ws_result ws_read(struct ws_reader *r, uint8_t *buf, size_t len,
    size_t *used, struct ws_msg *msg, uint16_t *close_code);

/*
 * Writes the header of a final, unmasked frame of the given opcode and
 * payload length into out (at least WS_MAX_HEADER bytes); returns its length.
 */
size_t ws_header(uint8_t *out, enum ws_opcode opcode, uint64_t len);

/* Returns the size of a whole unmasked frame carrying len payload bytes. */
size_t ws_frame_size(uint64_t len);

/*
 * Parses a close frame body. Returns 0 and sets *code (1005 when the body is
 * empty) and the reason span; returns -1 when the body is invalid (length 1,
 * a code that may not appear on the wire, or a reason that is not UTF-8).
 */
int ws_parse_close(const uint8_t *body, size_t len, uint16_t *code,
    const uint8_t **reason, size_t *reason_len);

/*
 * Writes a close frame body (code, then reason truncated to fit a control
 * frame) into out (at least 125 bytes); returns its length.
 */
size_t ws_close_body(uint8_t *out, uint16_t code, const char *reason);

/* Returns 1 if the n bytes at p are valid UTF-8 (no surrogates, no
 * overlongs, nothing above U+10FFFF), else 0. */
int ws_utf8_valid(const uint8_t *p, size_t n);

/*
 * Client side, for test tools and agbench: writes a final masked frame
 * (header, 4-byte mask key, masked payload) into out, which must hold
 * ws_frame_size(len) + 4 bytes; returns the frame's length.
 */
size_t ws_encode_masked(uint8_t *out, enum ws_opcode opcode,
    const uint8_t *payload, size_t len, uint32_t mask_key);

#endif
