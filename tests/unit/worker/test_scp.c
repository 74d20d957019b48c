#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "common/mem.h"
#include "worker/scp.h"

static struct scp_decoder d;

static void
setup(void)
{
	scp_decoder_init(&d);
}

static void
teardown(void)
{
	scp_decoder_fini(&d);
}

static enum scp_result
decode(const char *s)
{
	return scp_decode(&d, s, strlen(s));
}

/* Decodes s, which must hold exactly one packet, into *p. */
static void
one(const char *s, struct scp_packet *p)
{
	ck_assert_int_eq(decode(s), SCP_PACKETS);
	ck_assert_int_eq(scp_next(&d, p), 1);
}

static int
span_is(struct scp_span sp, const char *want)
{
	return sp.n == strlen(want) && memcmp(sp.p, want, sp.n) == 0;
}

START_TEST(test_handshake_packet)
{
	struct scp_packet p;

	one("{\"event\":\"#handshake\",\"data\":{\"authToken\":null},\"cid\":"
	    "1}",
	    &p);
	ck_assert_int_eq(p.kind, SCP_EVENT);
	ck_assert(scp_str_eq(&d, p.event, "#handshake"));
	ck_assert(span_is(scp_raw(&d, p.cid), "1"));
	ck_assert(scp_is_object(&d, p.data));
	ck_assert(scp_is_null(&d, scp_field(&d, p.data, "authToken")));
	ck_assert_int_eq(p.rid, SCP_NONE);
	ck_assert_int_eq(scp_next(&d, &p), 0);
}
END_TEST

START_TEST(test_raw_messages)
{
	/* sc-formatter: anything not starting with { or [ is a raw string;
	 * invalid JSON too. */
	ck_assert_int_eq(decode("hello raw"), SCP_RAW);
	ck_assert_int_eq(decode(""), SCP_RAW);
	ck_assert_int_eq(decode("   "), SCP_RAW);
	ck_assert_int_eq(decode("{broken"), SCP_RAW);
	ck_assert_int_eq(decode("\"str\""), SCP_RAW);
	ck_assert_int_eq(decode("42"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":1} x"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":1}{\"b\":2}"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":tru}"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":01}"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":1.}"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":-}"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":1e}"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\" \"b\"}"), SCP_RAW);
	ck_assert_int_eq(decode("{1:2}"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":\"x\ny\"}"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":\"\\x\"}"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":\"\\u12\"}"), SCP_RAW);
	ck_assert_int_eq(decode("[1,"), SCP_RAW);
	ck_assert_int_eq(decode("{\"a\":[1,2}"), SCP_RAW);
	/* Valid JSON that is not a packet is still JSON. */
	ck_assert_int_eq(decode("  {\"foo\":1}\n"), SCP_PACKETS);
	ck_assert_int_eq(
	    decode("{\"a\":-1.5e+3,\"b\":[true,false,null]}"), SCP_PACKETS);
}
END_TEST

START_TEST(test_kinds)
{
	struct scp_packet p;

	one("{\"foo\":1}", &p);
	ck_assert_int_eq(p.kind, SCP_OTHER);
	one("{\"rid\":999,\"data\":1}", &p);
	ck_assert_int_eq(p.kind, SCP_RESPONSE);
	ck_assert(span_is(scp_raw(&d, p.rid), "999"));
	/* A string cid is not a cid: the packet is a transmit. */
	one("{\"event\":\"echo\",\"data\":1,\"cid\":\"x\"}", &p);
	ck_assert_int_eq(p.kind, SCP_EVENT);
	ck_assert_int_eq(p.cid, SCP_NONE);
	/* A non-string event is no event. */
	one("{\"event\":5,\"cid\":1}", &p);
	ck_assert_int_eq(p.kind, SCP_OTHER);
	/* data null counts as absent. */
	one("{\"event\":\"x\",\"data\":null}", &p);
	ck_assert_int_eq(p.data, SCP_NONE);
	one("{\"event\":\"x\",\"cid\":-3.5}", &p);
	ck_assert(span_is(scp_raw(&d, p.cid), "-3.5"));
}
END_TEST

START_TEST(test_batch)
{
	struct scp_packet p;
	const char *s = "[{\"event\":\"chat\",\"data\":\"in-array\"},"
	                "{\"event\":\"echo\",\"data\":{\"x\":[1,{\"y\":2}]},"
	                "\"cid\":900},5,[1]]";

	ck_assert_int_eq(decode(s), SCP_PACKETS);
	ck_assert_int_eq(scp_next(&d, &p), 1);
	ck_assert(scp_str_eq(&d, p.event, "chat"));
	ck_assert(span_is(scp_raw(&d, p.data), "\"in-array\""));
	ck_assert_int_eq(scp_next(&d, &p), 1);
	ck_assert(scp_str_eq(&d, p.event, "echo"));
	ck_assert(span_is(scp_raw(&d, p.cid), "900"));
	ck_assert(span_is(scp_raw(&d, p.data), "{\"x\":[1,{\"y\":2}]}"));
	ck_assert_int_eq(scp_next(&d, &p), 1);
	ck_assert_int_eq(p.kind, SCP_OTHER);
	ck_assert_int_eq(scp_next(&d, &p), 1);
	ck_assert_int_eq(p.kind, SCP_OTHER);
	ck_assert_int_eq(scp_next(&d, &p), 0);
	ck_assert_int_eq(decode("[]"), SCP_PACKETS);
	ck_assert_int_eq(scp_next(&d, &p), 0);
}
END_TEST

START_TEST(test_fields_skip_nested)
{
	struct scp_packet p;
	const char *s
	    = "{\"data\":{\"a\":{\"channel\":\"deep\"},\"b\":[\"channel\"],"
	      "\"channel\":\"top\",\"data\":{\"k\":[1,2,3]}},"
	      "\"event\":\"#publish\",\"cid\":6}";

	one(s, &p);
	ck_assert(scp_str_eq(&d, scp_field(&d, p.data, "channel"), "top"));
	ck_assert(span_is(
	    scp_raw(&d, scp_field(&d, p.data, "data")), "{\"k\":[1,2,3]}"));
	ck_assert_int_eq(scp_field(&d, p.data, "missing"), SCP_NONE);
	/* scp_field on a non-object finds nothing. */
	ck_assert_int_eq(scp_field(&d, p.cid, "x"), SCP_NONE);
}
END_TEST

START_TEST(test_unescape)
{
	struct scp_packet p;
	char out[64];
	long n;

	one("{\"event\":\"#pub\\u006cish\",\"data\":\"a\\\"b\\\\c\\/d\\n"
	    "\\u00e9\\ud83d\\ude00\\ud800x\"}",
	    &p);
	/* Escaped event names compare by value. */
	ck_assert(scp_str_eq(&d, p.event, "#publish"));
	n = scp_str_get(&d, p.data, out, sizeof(out));
	ck_assert_int_eq(n, 18);
	ck_assert_int_eq(memcmp(out,
	                     "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd"
	                     "x",
	                     (size_t) n),
	    0);
	/* Too small an output is refused, not overrun. */
	ck_assert_int_eq(scp_str_get(&d, p.data, out, 4), -1);
}
END_TEST

START_TEST(test_many_tokens)
{
	/* More tokens than the initial table: the decoder grows it. */
	char *s = mem_alloc(100000);
	size_t o = 0;
	struct scp_packet p;

	o += (size_t) sprintf(s + o, "{\"event\":\"x\",\"data\":[");
	for (int i = 0; i < 10000; i++) {
		o += (size_t) sprintf(s + o, "%s%d", i ? "," : "", i);
	}
	sprintf(s + o, "],\"cid\":77}");
	one(s, &p);
	ck_assert(span_is(scp_raw(&d, p.cid), "77"));
	mem_free(s);
}
END_TEST

/* Builds {"data":[[...]]} with the given number of nested arrays. */
static char *
nested(size_t depth)
{
	static const char head[] = "{\"data\":";
	size_t o = sizeof(head) - 1;
	char *s = mem_alloc(2 * depth + o + 2);

	memcpy(s, head, o);
	for (size_t i = 0; i < depth; i++) {
		s[o + i] = '[';
		s[o + depth + i] = ']';
	}
	o += 2 * depth;
	s[o] = '}';
	s[o + 1] = '\0';
	return s;
}

START_TEST(test_deep_nesting)
{
	char *ok = nested(SCP_MAX_DEPTH - 1);
	char *hostile = nested(2000000);

	ck_assert_int_eq(decode(ok), SCP_PACKETS);
	/* A message nested past the limit is refused up front, in linear
	 * time (the test times out if it is not). */
	ck_assert_int_eq(decode(hostile), SCP_RAW);
	/* Brackets inside strings do not count. */
	ck_assert_int_eq(
	    decode("{\"data\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"}"),
	    SCP_PACKETS);
	mem_free(ok);
	mem_free(hostile);
}
END_TEST

START_TEST(test_truncated_everywhere)
{
	const char *s = "{\"event\":\"#publish\",\"data\":{\"channel\":\"c\","
	                "\"data\":[1,\"x\",{\"a\":null}]},\"cid\":5}";
	size_t n = strlen(s);

	/* Every proper prefix is raw (invalid JSON), never a crash. */
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(scp_decode(&d, s, i), SCP_RAW);
	}
	ck_assert_int_eq(scp_decode(&d, s, n), SCP_PACKETS);
}
END_TEST

/* What the full decoder makes of a text the fast path matched: one
 * #publish packet with the same channel, data and cid. */
static void
check_same_as_full(const char *s, const struct scp_publish *fp)
{
	struct scp_packet p;
	int ch, data;

	one(s, &p);
	ck_assert_int_eq(scp_next(&d, &p) == 0, 1);
	one(s, &p);
	ck_assert(scp_str_eq(&d, p.event, "#publish"));
	ch = scp_field(&d, p.data, "channel");
	data = scp_field(&d, p.data, "data");
	ck_assert(scp_is_string(&d, ch));
	ck_assert(scp_str_raw(&d, ch).n == fp->channel.n
	    && memcmp(scp_str_raw(&d, ch).p, fp->channel.p, fp->channel.n)
	        == 0);
	ck_assert(scp_raw(&d, data).n == fp->data.n
	    && memcmp(scp_raw(&d, data).p, fp->data.p, fp->data.n) == 0);
	if (fp->cid.p == NULL) {
		ck_assert_int_eq(p.cid, SCP_NONE);
	} else {
		ck_assert(scp_raw(&d, p.cid).n == fp->cid.n
		    && memcmp(scp_raw(&d, p.cid).p, fp->cid.p, fp->cid.n)
		        == 0);
	}
}

/* The shapes the official clients send: read without tokens, and exactly
 * as the full decoder reads them. */
START_TEST(test_publish_fast_matches)
{
	static const char *ok[] = {
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":\"hi\"}}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":{\"a\":[1,2,{\"b\":null}]}},\"cid\":12}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"\",\"data\":"
		"0},\"cid\":0}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"r\xc3\xa9\","
		"\"data\":-1.5e3}}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"x\",\"data\":"
		"null}}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"x\",\"data\":"
		"[ 1 , \"\\u00e9\\n\" ]}}",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct scp_publish fp;

		ck_assert_msg(
		    scp_match_publish(&d, ok[i], strlen(ok[i]), &fp) == 1,
		    "%s", ok[i]);
		check_same_as_full(ok[i], &fp);
	}
}
END_TEST

/* Everything else goes to the full decoder: other shapes, escapes in the
 * name, blanks, invalid JSON in the payload, a cid that is not a plain
 * integer, bytes after the end. */
START_TEST(test_publish_fast_declines)
{
	static const char *no[] = {
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"ro\\u006fm\","
		"\"data\":1}}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\"}}",
		"{\"event\":\"#publish\",\"data\":{\"data\":1,\"channel\":"
		"\"room\"}}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\": 1}}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":1 }}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":1}} ",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":[1,]}}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":01}}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":1},\"cid\":-1}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":1},\"cid\":01}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":1},\"cid\":1.5}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":1},\"cid\":}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":1}}x",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":1}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"ro\x01m\","
		"\"data\":1}}",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room",
		"{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":",
		"[{\"event\":\"#publish\",\"data\":{\"channel\":\"room\","
		"\"data\":1}}]",
		"{\"event\":\"#subscribe\",\"data\":{\"channel\":\"room\"},"
		"\"cid\":2}",
		"{\"cid\":1,\"event\":\"#publish\",\"data\":{\"channel\":"
		"\"room\",\"data\":1}}",
	};

	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct scp_publish fp;

		ck_assert_msg(
		    scp_match_publish(&d, no[i], strlen(no[i]), &fp) == 0,
		    "%s", no[i]);
	}
}
END_TEST

/* Payloads valid and not: the fast path and the full decoder check the
 * payload with the scanner (tz_skip), and the same text as a packet's data
 * is checked by the recursive tokenizer; all three must agree. */
START_TEST(test_payload_checked_alike)
{
	static const struct {
		const char *v;
		int ok;
	} cases[] = {
		{ "{}", 1 },
		{ "[]", 1 },
		{ "{ }", 1 },
		{ "[ ]", 1 },
		{ "{\"a\":{}}", 1 },
		{ "{\"a\":[]}", 1 },
		{ "[[],{}]", 1 },
		{ "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}", 1 },
		{ "[ {\"a\" : 1 } , [ 2 ] ]", 1 },
		{ "{\"\\n\":1,\"\\u00e9\":\"\\\"\"}", 1 },
		{ "[-0.5e-3,0,1E+2,-0]", 1 },
		{ "{\"a\":1e5,\"b\":0E1,\"c\":2.5e+3,\"d\":-7.0E-0}", 1 },
		{ "[1e]", 0 },
		{ "[1E+]", 0 },
		{ "[1.e5]", 0 },
		{ "[1.5.5]", 0 },
		{ "[1e5e5]", 0 },
		{ "[-01]", 0 },
		{ "[--1]", 0 },
		{ "[1x]", 0 },
		{ "[+1]", 0 },
		{ "[.5]", 0 },
		{ "{\"a\":1,}", 0 },
		{ "[1,]", 0 },
		{ "{\"a\" 1}", 0 },
		{ "{,}", 0 },
		{ "[,1]", 0 },
		{ "{\"a\":}", 0 },
		{ "[1 2]", 0 },
		{ "{\"a\":1 \"b\":2}", 0 },
		{ "{1:2}", 0 },
		{ "{\"a\":1]", 0 },
		{ "[1}", 0 },
		{ "[tru]", 0 },
		{ "[nul]", 0 },
		{ "[fals]", 0 },
		{ "[\"\x01\"]", 0 },
		{ "[\"\\x\"]", 0 },
		{ "[01]", 0 },
		{ "[1.]", 0 },
		{ "[-]", 0 },
		{ "{\"a\"}", 0 },
		{ "{\"a\":[}", 0 },
		{ "[}", 0 },
		{ "{]", 0 },
		{ "[[[]]", 0 },
		{ "{\"a\":{\"b\":1}", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf pub, data;
		struct scp_publish fp;

		sb_init(&pub);
		sb_adds(&pub,
		    "{\"event\":\"#publish\",\"data\":{\"channel\":\"x\","
		    "\"data\":");
		sb_adds(&pub, cases[i].v);
		sb_adds(&pub, "}}");
		sb_init(&data);
		sb_adds(&data, "{\"event\":\"x\",\"data\":");
		sb_adds(&data, cases[i].v);
		sb_adds(&data, "}");
		ck_assert_msg(scp_match_publish(&d, pub.data, pub.len, &fp)
		        == cases[i].ok,
		    "fast: %s", cases[i].v);
		ck_assert_msg(
		    (scp_decode(&d, pub.data, pub.len) == SCP_PACKETS)
		        == cases[i].ok,
		    "full: %s", cases[i].v);
		ck_assert_msg(
		    (scp_decode(&d, data.data, data.len) == SCP_PACKETS)
		        == cases[i].ok,
		    "tokens: %s", cases[i].v);
		sb_fini(&pub);
		sb_fini(&data);
	}
}
END_TEST

/* 1 when the publish with payload v (n bytes) is taken by the fast path,
 * after checking that the full decoder agrees. */
static int
payload_ok(const char *v, size_t n)
{
	struct strbuf sb;
	struct scp_publish fp;
	int fast, full;

	sb_init(&sb);
	sb_adds(&sb,
	    "{\"event\":\"#publish\",\"data\":{\"channel\":\"x\",\"data\":");
	sb_add(&sb, v, n);
	sb_adds(&sb, "}}");
	fast = scp_match_publish(&d, sb.data, sb.len, &fp);
	full = scp_decode(&d, sb.data, sb.len) == SCP_PACKETS;
	ck_assert_int_eq(fast, full);
	sb_fini(&sb);
	return fast;
}

/* Bytes put inside strings (values and keys) at every offset. */
static const unsigned char spoil[]
    = { 0x01, 0x1f, '"', 0x7f, 0x80, 0xff, '\\', ' ', '/', ':', '0' };

/* Whether a string with spoil byte c inside ("aaa?aaa") is valid: DEL and
 * high bytes are plain; "\a" is no escape, a quote ends it early. */
static int
spoil_keeps_string(unsigned char c)
{
	return c == 0x7f || c >= 0x80 || c == ' ' || c == '/' || c == ':'
	    || c == '0';
}

/* Fills v (size bytes) with 'a' after open and a quote: a string's start
 * inside a payload, "[\"aaa..." or "{\"aaa...". */
static void
open_string(char *v, size_t size, char open)
{
	memset(v, 'a', size);
	v[0] = open;
	v[1] = '"';
}

/* open_string with the spoil byte c at offset k of the string. */
static void
open_spoiled(char *v, size_t size, char open, size_t k, unsigned char c)
{
	open_string(v, size, open);
	v[2 + k] = (char) c;
}

/* Strings and numbers are scanned eight bytes a time: a byte that ends or
 * spoils one must be found at every offset, in a word or in the tail. */
START_TEST(test_scan_every_offset)
{
	char v[48];

	for (size_t len = 1; len < 40; len++) {
		for (size_t k = 0; k < len; k++) {
			for (size_t j = 0; j < sizeof(spoil); j++) {
				unsigned char c = spoil[j];
				int ok = spoil_keeps_string(c);

				open_spoiled(v, sizeof(v), '[', k, c);
				v[2 + len] = '"';
				v[3 + len] = ']';
				ck_assert_msg(payload_ok(v, len + 4) == ok,
				    "string %zu/%zu %02x", k, len, c);
				/* [1999?999]: only a digit keeps it a number,
				 * or a blank at its end. */
				memset(v, '9', sizeof(v));
				v[0] = '[';
				v[1] = '1';
				v[2 + k] = (char) c;
				v[2 + len] = ']';
				ck_assert_msg(payload_ok(v, len + 3)
				        == (c == '0'
				            || (c == ' ' && k == len - 1)),
				    "number %zu/%zu %02x", k, len, c);
			}
		}
	}
}
END_TEST

/* Short keys are read inline when compact ("key":), others by the general
 * path: a byte that ends or spoils a key must be found at every offset of
 * keys on both sides of that limit, and blanks around the colon still
 * pass. */
START_TEST(test_key_every_offset)
{
	static const char *const blanks[]
	    = { "\":1}", "\" :1}", "\": 1}", "\"\t:\n1}", "\":1 }" };
	char v[64];

	for (size_t len = 0; len < 14; len++) {
		for (size_t b = 0; b < sizeof(blanks) / sizeof(blanks[0]);
		     b++) {
			/* {"aaa":1}, with blanks around the colon */
			open_string(v, sizeof(v), '{');
			strcpy(v + 2 + len, blanks[b]);
			ck_assert_msg(payload_ok(v, strlen(v)) == 1,
			    "key %zu %s", len, blanks[b]);
			/* truncated anywhere: never a payload */
			for (size_t cut = 1; cut < strlen(v); cut++) {
				ck_assert_msg(payload_ok(v, cut) == 0,
				    "key %zu cut at %zu", len, cut);
			}
		}
		for (size_t k = 0; k < len; k++) {
			for (size_t j = 0; j < sizeof(spoil); j++) {
				unsigned char c = spoil[j];
				int ok = spoil_keeps_string(c);

				open_spoiled(v, sizeof(v), '{', k, c);
				strcpy(v + 2 + len, "\":1,\"b\":2}");
				ck_assert_msg(payload_ok(v, strlen(v)) == ok,
				    "key %zu/%zu %02x", k, len, c);
			}
		}
	}
}
END_TEST

/* A payload nested as deep as the full decoder allows is taken, one level
 * more is not (by either). */
START_TEST(test_publish_fast_depth)
{
	struct strbuf sb;
	struct scp_publish fp;

	for (int extra = 0; extra < 2; extra++) {
		int levels = SCP_MAX_DEPTH - 2 + extra;

		sb_init(&sb);
		sb_adds(&sb,
		    "{\"event\":\"#publish\",\"data\":{\"channel\":\"x\","
		    "\"data\":");
		for (int i = 0; i < levels; i++) {
			sb_adds(&sb, "[");
		}
		for (int i = 0; i < levels; i++) {
			sb_adds(&sb, "]");
		}
		sb_adds(&sb, "}}");
		ck_assert_int_eq(
		    scp_match_publish(&d, sb.data, sb.len, &fp), !extra);
		ck_assert_int_eq(scp_decode(&d, sb.data, sb.len),
		    extra ? SCP_RAW : SCP_PACKETS);
		sb_fini(&sb);
	}
}
END_TEST

/* A #publish written straight into its frame is what scp_put_publish
 * writes; a name that needs escaping is left to it. */
START_TEST(test_write_publish_same_as_put)
{
	static const char *names[] = { "room", "", "r\xc3\xa9", "a/b:c" };
	struct scp_span datas[]
	    = { { "{\"x\":[1]}", 9 }, { "null", 4 }, { NULL, 0 } };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (size_t k = 0; k < sizeof(datas) / sizeof(datas[0]); k++) {
			struct strbuf sb;
			size_t n = scp_publish_len(strlen(names[i]), datas[k]);
			char *out = mem_alloc(n);

			ck_assert(scp_name_plain(names[i], strlen(names[i])));
			sb_init(&sb);
			scp_put_publish(
			    &sb, names[i], strlen(names[i]), datas[k]);
			ck_assert_uint_eq(n, sb.len);
			scp_write_publish(
			    out, names[i], strlen(names[i]), datas[k]);
			ck_assert(memcmp(out, sb.data, n) == 0);
			mem_free(out);
			sb_fini(&sb);
		}
	}
	ck_assert(!scp_name_plain("a\"b", 3));
	ck_assert(!scp_name_plain("a\\b", 3));
	ck_assert(!scp_name_plain("a\nb", 3));
}
END_TEST

/* A name with a spoil byte at any offset of names up to 24 bytes long
 * needs escaping exactly when that byte would end or spoil a string. */
START_TEST(test_name_plain_every_offset)
{
	char name[24];

	for (size_t n = 1; n <= sizeof(name); n++) {
		for (size_t at = 0; at < n; at++) {
			for (size_t k = 0; k < sizeof(spoil); k++) {
				memset(name, 'a', n);
				name[at] = (char) spoil[k];
				ck_assert_int_eq(scp_name_plain(name, n),
				    spoil_keeps_string(spoil[k]));
			}
		}
	}
}
END_TEST

START_TEST(test_writers)
{
	struct strbuf sb;
	struct scp_span rid = { "7", 1 };
	struct scp_span data = { "{\"a\":1}", 7 };
	struct scp_span none = { NULL, 0 };

	sb_init(&sb);
	scp_put_response(&sb, rid, none);
	ck_assert_str_eq(sb.data, "{\"rid\":7}");
	sb_reset(&sb);
	scp_put_response(&sb, rid, data);
	ck_assert_str_eq(sb.data, "{\"rid\":7,\"data\":{\"a\":1}}");
	sb_reset(&sb);
	scp_put_error(&sb, rid, "InvalidActionError", "x \"y\"", 5);
	ck_assert_str_eq(sb.data,
	    "{\"rid\":7,\"error\":{\"message\":\"x "
	    "\\\"y\\\"\",\"name\":\"InvalidActionError\"}}");
	sb_reset(&sb);
	scp_put_publish(&sb, "ch\"1", 4, data);
	ck_assert_str_eq(sb.data,
	    "{\"event\":\"#publish\",\"data\":{\"channel\":"
	    "\"ch\\\"1\",\"data\":{\"a\":1}}}");
	sb_reset(&sb);
	scp_put_publish(&sb, "c", 1, none);
	ck_assert_str_eq(
	    sb.data, "{\"event\":\"#publish\",\"data\":{\"channel\":\"c\"}}");
	sb_reset(&sb);
	scp_put_event(&sb, "#removeAuthToken", none);
	ck_assert_str_eq(sb.data, "{\"event\":\"#removeAuthToken\"}");
	sb_fini(&sb);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("scp");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_handshake_packet);
	tcase_add_test(tc, test_raw_messages);
	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_fields_skip_nested);
	tcase_add_test(tc, test_unescape);
	tcase_add_test(tc, test_many_tokens);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_truncated_everywhere);
	tcase_add_test(tc, test_writers);
	tcase_add_test(tc, test_write_publish_same_as_put);
	tcase_add_test(tc, test_name_plain_every_offset);
	tcase_add_test(tc, test_publish_fast_matches);
	tcase_add_test(tc, test_publish_fast_declines);
	tcase_add_test(tc, test_publish_fast_depth);
	tcase_add_test(tc, test_payload_checked_alike);
	tcase_add_test(tc, test_key_every_offset);
	tcase_add_test(tc, test_scan_every_offset);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
