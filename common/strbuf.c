#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

void
sb_init(struct strbuf *sb)
{
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;
}

void
sb_fini(struct strbuf *sb)
{
	mem_free(sb->data);
	sb_init(sb);
}

void
sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->data != NULL) {
		sb->data[0] = '\0';
	}
}

void
sb_reserve(struct strbuf *sb, size_t n)
{
	size_t want = sb->len + n + 1;
	size_t cap = sb->cap ? sb->cap : 64;

	if (want <= sb->cap) {
		return;
	}
	while (cap < want) {
		cap *= 2;
	}
	sb->data = mem_realloc(sb->data, cap);
	sb->cap = cap;
}

void
sb_add(struct strbuf *sb, const void *p, size_t n)
{
	sb_reserve(sb, n);
	memcpy(sb->data + sb->len, p, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
sb_adds(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void
sb_addc(struct strbuf *sb, char c)
{
	sb_add(sb, &c, 1);
}

void
sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	if ((size_t) n < sizeof(tmp)) {
		sb_add(sb, tmp, (size_t) n);
		return;
	}
	sb_reserve(sb, (size_t) n);
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t) n;
}

void
sb_add_json_str(struct strbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	sb_reserve(sb, n + 2);
	sb_addc(sb, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];
		char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

		if (c >= 0x20 && c != '"' && c != '\\') {
			continue;
		}
		sb_add(sb, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			sb_add(sb, "\\\"", 2);
			break;
		case '\\':
			sb_add(sb, "\\\\", 2);
			break;
		case '\n':
			sb_add(sb, "\\n", 2);
			break;
		case '\r':
			sb_add(sb, "\\r", 2);
			break;
		case '\t':
			sb_add(sb, "\\t", 2);
			break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			sb_add(sb, esc, 6);
		}
	}
	sb_add(sb, s + run, n - run);
	sb_addc(sb, '"');
}

char *
sb_steal(struct strbuf *sb, size_t *len)
{
	char *p = sb->data;

	if (len != NULL) {
		*len = sb->len;
	}
	if (p == NULL) {
		p = mem_strdup("");
	}
	sb_init(sb);
	return p;
}
