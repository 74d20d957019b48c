/*
 * A growable byte buffer for building outgoing JSON and HTTP text.
 * Embedded: sb_init/sb_fini. The bytes are always NUL-terminated.
 */
#ifndef AG_STRBUF_H
#define AG_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *data;
	size_t len;
	size_t cap;
};

void sb_init(struct strbuf *sb);
void sb_fini(struct strbuf *sb);
/* Empties the buffer, keeping its memory. */
void sb_reset(struct strbuf *sb);
/* Makes room for n more bytes. */
void sb_reserve(struct strbuf *sb, size_t n);
void sb_add(struct strbuf *sb, const void *p, size_t n);
void sb_adds(struct strbuf *sb, const char *s);
/* sb_adds for a string literal, without the strlen. */
#define SB_ADDL(sb, lit) sb_add((sb), (lit), sizeof(lit) - 1)
void sb_addc(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends the n bytes at s (UTF-8) as a quoted JSON string. */
void sb_add_json_str(struct strbuf *sb, const char *s, size_t n);
/* Takes the bytes out (owned by the caller); the strbuf is left empty. */
char *sb_steal(struct strbuf *sb, size_t *len);

#endif
