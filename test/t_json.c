/* See LICENSE file for copyright and license details. */
/*
 * Unit tests of json.c: the scanner's verdict on a table of lines (every
 * error class, UTF-8 edge cases, numbers, nesting at DEPTHMAX, prefixes),
 * the fields it records, string decoding into exact and short buffers,
 * json_u64, the writer's escaping and bounds, and a seeded random round
 * trip through writer, scanner and decoder.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sessiond.h"
#include "check.h"
#include "rnd.h"
#include "utf8ok.h"

struct scase {
	const char *s;
	size_t n;             /* 0: strlen(s) */
	int err;
};

static struct jfield f[FIELDMAX + 8];
static int nf;

static int
scann(const char *s, size_t n)
{
	return json_scan(s, n, f, FIELDMAX, &nf);
}

static int
scan(const char *s)
{
	return scann(s, strlen(s));
}

/* the field named key's value as a string of its raw bytes */
static const char *
val(const char *s, const char *key)
{
	static char buf[256];
	int i;

	for (i = 0; i < nf; i++) {
		if (strcmp(f[i].key, key))
			continue;
		if (f[i].len >= sizeof(buf))
			return "(too long)";
		memcpy(buf, s + f[i].off, f[i].len);
		buf[f[i].len] = '\0';
		return buf;
	}
	return NULL;
}

static int
streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static void
table(void)
{
	static const struct scase cases[] = {
		/* valid */
		{ "{}", 0, JE_OK },
		{ " \t\r\n{ \t\r\n} \t\r\n", 0, JE_OK },
		{ "{\"a\":1}", 0, JE_OK },
		{ "{\"\":1}", 0, JE_OK },
		{ "{\"a\":\"x\",\"b\":[1,2,{\"c\":null}],\"d\":true,"
		  "\"e\":false,\"f\":null,\"g\":-1.5e+10,\"h\":{},\"i\":[]}",
		  0, JE_OK },
		{ "{ \"a\" : [ 1 , { } , [ ] , \"\" ] , \"b\" : 0 }", 0, JE_OK },
		{ "{\"a\":\"\x7f\"}", 0, JE_OK },
		{ "{\"a\":\"/\\/\"}", 0, JE_OK },
		/* not an object */
		{ "[]", 0, JE_NOTOBJ },
		{ "\"x\"", 0, JE_NOTOBJ },
		{ "1", 0, JE_NOTOBJ },
		{ "-1", 0, JE_NOTOBJ },
		{ "true", 0, JE_NOTOBJ },
		{ "false", 0, JE_NOTOBJ },
		{ "null", 0, JE_NOTOBJ },
		{ "nu", 0, JE_NOTOBJ },
		/* syntax */
		{ "x", 0, JE_SYNTAX },
		{ "}", 0, JE_SYNTAX },
		{ "nulx", 0, JE_SYNTAX },
		{ "{\"a\":1,}", 0, JE_SYNTAX },
		{ "{,}", 0, JE_SYNTAX },
		{ "{,\"a\":1}", 0, JE_SYNTAX },
		{ "{\"a\" 1}", 0, JE_SYNTAX },
		{ "{\"a\":}", 0, JE_SYNTAX },
		{ "{\"a\"::1}", 0, JE_SYNTAX },
		{ "{a:1}", 0, JE_SYNTAX },
		{ "{'a':1}", 0, JE_SYNTAX },
		{ "{\"a\":1}}", 0, JE_SYNTAX },
		{ "{\"a\":1} x", 0, JE_SYNTAX },
		{ "{\"a\":1}{}", 0, JE_SYNTAX },
		{ "{\"a\":1 \"b\":2}", 0, JE_SYNTAX },
		{ "{\"a\":[1,]}", 0, JE_SYNTAX },
		{ "{\"a\":[,1]}", 0, JE_SYNTAX },
		{ "{\"a\":[1 2]}", 0, JE_SYNTAX },
		{ "{\"a\":[}", 0, JE_SYNTAX },
		{ "{\"a\":{]}", 0, JE_SYNTAX },
		{ "{\"a\":{\"b\"}}", 0, JE_SYNTAX },
		{ "{\"a\":{1:2}}", 0, JE_SYNTAX },
		{ "{\"a\":tru}", 0, JE_SYNTAX },
		{ "{\"a\":True}", 0, JE_SYNTAX },
		{ "{\"a\":nan}", 0, JE_SYNTAX },
		{ "{\"a\":undefined}", 0, JE_SYNTAX },
		{ "{\"a\":\"x\\q\"}", 0, JE_SYNTAX },
		{ "{\"a\":\"\\u12g4\"}", 0, JE_SYNTAX },
		{ "{\"a\":\"\\U0041\"}", 0, JE_SYNTAX },
		{ "{\"a\":\"\\x41\"}", 0, JE_SYNTAX },
		{ "{\"a\":\"\x01\"}", 0, JE_SYNTAX },
		{ "{\"a\":\"\t\"}", 0, JE_SYNTAX },
		{ "{\"a\":\"\n\"}", 0, JE_SYNTAX },
		{ "{\"a\":\"\x1f\"}", 0, JE_SYNTAX },
		{ "{\"a\":\"\0\"}", 9, JE_SYNTAX },
		{ "{\"a\":1}\0", 8, JE_SYNTAX },
		{ "{\"a\"\0:1}", 8, JE_SYNTAX },
		{ "\0{}", 3, JE_SYNTAX },
		{ "{\xc3\xa9:1}", 0, JE_SYNTAX },
		{ "\xef\xbb\xbf{}", 0, JE_SYNTAX },
		{ "{\"a\":1}\v", 0, JE_SYNTAX },
		{ "{\"a\":1}\f", 0, JE_SYNTAX },
		/* numbers */
		{ "{\"a\":0}", 0, JE_OK },
		{ "{\"a\":-0}", 0, JE_OK },
		{ "{\"a\":1.5e-3}", 0, JE_OK },
		{ "{\"a\":1E5}", 0, JE_OK },
		{ "{\"a\":-0.0e+0}", 0, JE_OK },
		{ "{\"a\":1e99999}", 0, JE_OK },
		{ "{\"a\":123456789012345678901234567890123456789012345678901234"
		  "5678901234567890123456789012345678901234567890}", 0, JE_OK },
		{ "{\"a\":01}", 0, JE_SYNTAX },
		{ "{\"a\":-01}", 0, JE_SYNTAX },
		{ "{\"a\":00}", 0, JE_SYNTAX },
		{ "{\"a\":-}", 0, JE_SYNTAX },
		{ "{\"a\":- 1}", 0, JE_SYNTAX },
		{ "{\"a\":1.}", 0, JE_SYNTAX },
		{ "{\"a\":1.e5}", 0, JE_SYNTAX },
		{ "{\"a\":.5}", 0, JE_SYNTAX },
		{ "{\"a\":+1}", 0, JE_SYNTAX },
		{ "{\"a\":1e}", 0, JE_SYNTAX },
		{ "{\"a\":1e+}", 0, JE_SYNTAX },
		{ "{\"a\":1e+-1}", 0, JE_SYNTAX },
		{ "{\"a\":0x10}", 0, JE_SYNTAX },
		{ "{\"a\":1_000}", 0, JE_SYNTAX },
		{ "{\"a\":Infinity}", 0, JE_SYNTAX },
		/* UTF-8 */
		{ "{\"a\":\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"}", 0, JE_OK },
		{ "{\"\xc3\xa9\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\"}",
		  0, JE_OK },
		{ "{\"a\":\"\xed\x9f\xbf\xee\x80\x80\"}", 0, JE_OK },
		{ "{\"a\":\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}", 0, JE_OK },
		{ "{\"a\":\"\xc0\xaf\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xc1\xbf\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xe0\x80\xaf\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xe0\x9f\xbf\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xf0\x80\x80\xaf\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xf0\x8f\xbf\xbf\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xed\xa0\x80\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xed\xbf\xbf\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xed\xa0\xbd\xed\xb8\x80\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xf4\x90\x80\x80\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xf5\x80\x80\x80\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xf8\x88\x80\x80\x80\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xff\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xfe\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\x80\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xbf\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xc3\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xe4\xb8\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xf0\x9f\x98\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xc3x\"}", 0, JE_UTF8 },
		{ "{\"a\":\"\xc3\xc3\xa9\"}", 0, JE_UTF8 },
		{ "{\"\xff\":1}", 0, JE_UTF8 },
		{ "{\"a\":[\"\xc0\x80\"]}", 0, JE_UTF8 },
		/* incomplete */
		{ "", 0, JE_PART },
		{ " \t\r\n", 0, JE_PART },
		{ "{", 0, JE_PART },
		{ "{\"", 0, JE_PART },
		{ "{\"a", 0, JE_PART },
		{ "{\"a\"", 0, JE_PART },
		{ "{\"a\":", 0, JE_PART },
		{ "{\"a\":1", 0, JE_PART },
		{ "{\"a\":-", 0, JE_PART },
		{ "{\"a\":1.", 0, JE_PART },
		{ "{\"a\":1e", 0, JE_PART },
		{ "{\"a\":1e+", 0, JE_PART },
		{ "{\"a\":t", 0, JE_PART },
		{ "{\"a\":fals", 0, JE_PART },
		{ "{\"a\":nul", 0, JE_PART },
		{ "{\"a\":\"x", 0, JE_PART },
		{ "{\"a\":\"\\", 0, JE_PART },
		{ "{\"a\":\"\\u12", 0, JE_PART },
		{ "{\"a\":\"\xe4\xb8", 0, JE_PART },
		{ "{\"a\":\"\xf0", 0, JE_PART },
		{ "{\"a\":1,", 0, JE_PART },
		{ "{\"a\":[", 0, JE_PART },
		{ "{\"a\":[1,", 0, JE_PART },
		{ "{\"a\":{\"b\":{", 0, JE_PART },
		{ "{\"a\":1 ", 0, JE_PART },
	};
	char buf[64];
	size_t i, n;
	int err;

	for (i = 0; i < LEN(cases); i++) {
		n = cases[i].n ? cases[i].n : strlen(cases[i].s);
		err = scann(cases[i].s, n);
		snprintf(buf, sizeof(buf), "case %u: got %d want %d",
		         (unsigned)i, err, cases[i].err);
		CHECKM(err == cases[i].err, buf);
	}
	for (i = JE_OK; i <= JE_PART; i++)
		CHECK(json_strerror((int)i) && *json_strerror((int)i));
	CHECK(strcmp(json_strerror(JE_SYNTAX), json_strerror(JE_UTF8)));
}

static void
fields(void)
{
	static const char *hook = "{\"session_id\":\"abc\",\"cwd\":\"/tmp\","
	    "\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
	    "\"tool_input\":{\"command\":\"ls -l\",\"n\":[1,2]},"
	    "\"n\":-2.5,\"t\":true,\"f\":false,\"z\":null}";
	static const char *dup = "{\"a\":1,\"b\":2,\"a\":\"x\",\"b\":[3]}";
	static const char *part = "{\"a\":\"x\",\"b\":12,\"c\":{\"d\":1},"
	    "\"e\":tr";
	char line[FIELDMAX * 16 + 64], key[KEYMAX + 8];
	size_t n;
	int i;

	CHECK(scan(hook) == JE_OK && nf == 9);
	CHECK(!strcmp(f[0].key, "session_id") && f[0].type == J_STRING);
	CHECK(streq(val(hook, "session_id"), "abc"));
	CHECK(hook[f[0].off - 1] == '"' && hook[f[0].off + f[0].len] == '"');
	CHECK(streq(val(hook, "tool_input"), "{\"command\":\"ls -l\","
	      "\"n\":[1,2]}"));
	CHECK(f[4].type == J_OBJECT);
	CHECK(streq(val(hook, "n"), "-2.5") && f[5].type == J_NUMBER);
	CHECK(f[6].type == J_TRUE && streq(val(hook, "t"), "true"));
	CHECK(f[7].type == J_FALSE && f[8].type == J_NULL);
	CHECK(streq(val(hook, "z"), "null"));
	CHECK(scan("{\"a\":[1,{\"b\":[]}]}") == JE_OK && nf == 1 &&
	      f[0].type == J_ARRAY && f[0].len == strlen("[1,{\"b\":[]}]"));
	CHECK(scan("{\"a\":\"\"}") == JE_OK && f[0].type == J_STRING &&
	      f[0].len == 0);

	/* a repeated key: the last value wins, in the first one's place */
	CHECK(scan(dup) == JE_OK && nf == 2);
	CHECK(!strcmp(f[0].key, "a") && f[0].type == J_STRING &&
	      streq(val(dup, "a"), "x"));
	CHECK(!strcmp(f[1].key, "b") && f[1].type == J_ARRAY);
	/* repeats do not count against fmax */
	CHECK(json_scan(dup, strlen(dup), f, 2, &nf) == JE_OK && nf == 2);
	CHECK(json_scan(dup, strlen(dup), f, 1, &nf) == JE_FIELDS);
	/* an escaped key is decoded before it is compared */
	CHECK(scan("{\"\\u0063md\":\"LIST\",\"c\\/d\":1}") == JE_OK &&
	      !strcmp(f[0].key, "cmd") && !strcmp(f[1].key, "c/d"));
	CHECK(scan("{\"cmd\":1,\"\\u0063md\":2}") == JE_OK && nf == 1 &&
	      streq(val("{\"cmd\":1,\"\\u0063md\":2}", "cmd"), "2"));

	/* keys: KEYMAX bytes match, longer ones become "" and never merge */
	memset(key, 'k', KEYMAX);
	key[KEYMAX] = '\0';
	snprintf(line, sizeof(line), "{\"%s\":1,\"%sx\":2,\"%sy\":3}", key, key,
	         key);
	CHECK(scan(line) == JE_OK && nf == 3);
	CHECK(!strcmp(f[0].key, key) && !f[1].key[0] && !f[2].key[0]);
	CHECK(scan("{\"a\\u0000b\":1,\"c\":2}") == JE_OK && nf == 2 &&
	      !f[0].key[0] && !strcmp(f[1].key, "c"));

	/* exactly FIELDMAX fields fit, one more does not */
	n = (size_t)snprintf(line, sizeof(line), "{");
	for (i = 0; i < FIELDMAX; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"f%d\":%d",
		                      i ? "," : "", i, i);
	snprintf(line + n, sizeof(line) - n, "}");
	CHECK(scan(line) == JE_OK && nf == FIELDMAX);
	snprintf(key, sizeof(key), "f%d", FIELDMAX - 1);
	CHECK(!strcmp(f[FIELDMAX - 1].key, key));
	snprintf(line + n, sizeof(line) - n, ",\"one\":1}");
	CHECK(scan(line) == JE_FIELDS);
	snprintf(line + n, sizeof(line) - n, ",\"f0\":\"again\"}");
	CHECK(scan(line) == JE_OK && nf == FIELDMAX && f[0].type == J_STRING);

	/* an incomplete line keeps the fields completed before the cut */
	CHECK(scan(part) == JE_PART && nf == 3);
	CHECK(streq(val(part, "a"), "x") && streq(val(part, "b"), "12") &&
	      streq(val(part, "c"), "{\"d\":1}"));
	CHECK(scann(part, 15) == JE_PART && nf == 1); /* {"a":"x","b":12 */
	CHECK(scann(part, 16) == JE_PART && nf == 2); /* ... ,"b":12, */
	CHECK(scann(part, 7) == JE_PART && nf == 0);  /* {"a":"x */
	CHECK(scann(part, 8) == JE_PART && nf == 1);  /* {"a":"x" */
	CHECK(scan("{\"a\":1,\"b\":\"\xff") == JE_UTF8);
	CHECK(scan("{\"a\":1,\"b\":x") == JE_SYNTAX);
	/* an error inside a value does not leave it behind */
	CHECK(scan("{\"a\":1,\"b\":[1,x]}") == JE_SYNTAX && nf == 1);
}

/* A value is complete in a prefix: a string's quote, a number's end. */
static int
complete(const struct jfield *v, size_t cut)
{
	if (v->type == J_STRING)
		return v->off + v->len + 1 <= cut;
	if (v->type == J_NUMBER)
		return v->off + v->len < cut;
	return v->off + v->len <= cut;
}

/* Every prefix of a valid line is incomplete with the fields so far. */
static void
prefixes(void)
{
	static const char *line = "{\"session_id\":\"s-1\",\"cwd\":\"/w\","
	    "\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"AskUserQuestion\","
	    "\"tool_input\":{\"questions\":[{\"q\":\"\\u00e9?\",\"o\":[1,2.5e3,"
	    "true,false,null]}]},\"n\":-12.5e-1,\"t\":true}  ";
	struct jfield full[FIELDMAX];
	size_t n = strlen(line), cut, close;
	int nfull, k, err, bad = 0;
	char *p;

	close = (size_t)(strrchr(line, '}') - line) + 1;
	CHECK(json_scan(line, n, full, FIELDMAX, &nfull) == JE_OK &&
	      nfull == 7);
	for (cut = 0; cut <= n; cut++) {
		p = malloc(cut + 1);
		memcpy(p, line, cut);
		err = json_scan(p, cut, f, FIELDMAX, &nf);
		if (cut < close && err != JE_PART)
			bad++;
		if (cut >= close && (err != JE_OK || nf != nfull))
			bad++;
		for (k = 0; k < nf; k++)
			if (strcmp(f[k].key, full[k].key) ||
			    f[k].off != full[k].off ||
			    f[k].len != full[k].len ||
			    f[k].type != full[k].type ||
			    !complete(&full[k], cut))
				bad++;
		/* every complete field is there */
		for (k = nf; k < nfull; k++)
			if (complete(&full[k], cut))
				bad++;
		free(p);
	}
	CHECK(bad == 0);
}

static void
depth(void)
{
	char line[8 * DEPTHMAX + 64];
	size_t n;
	int i, d;

	/* the top-level object counts: DEPTHMAX levels in all */
	for (d = DEPTHMAX - 1; d <= DEPTHMAX; d++) {
		n = (size_t)snprintf(line, sizeof(line), "{\"a\":");
		for (i = 0; i < d; i++)
			line[n++] = '[';
		for (i = 0; i < d; i++)
			line[n++] = ']';
		line[n++] = '}';
		CHECK(scann(line, n) == (d < DEPTHMAX ? JE_OK : JE_DEPTH));
		/* too deep is an error even before the line ends */
		CHECK(scann(line, 5 + (size_t)d) ==
		      (d < DEPTHMAX ? JE_PART : JE_DEPTH));
		n = (size_t)snprintf(line, sizeof(line), "{\"a\":");
		for (i = 0; i < d; i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			                      i % 2 ? "[" : "{\"b\":");
		line[n++] = '1';
		for (i = d - 1; i >= 0; i--)
			line[n++] = i % 2 ? ']' : '}';
		line[n++] = '}';
		CHECK(scann(line, n) == (d < DEPTHMAX ? JE_OK : JE_DEPTH));
	}
	/* depth is per path: many siblings at the limit are fine */
	n = (size_t)snprintf(line, sizeof(line), "{\"a\":[");
	for (i = 0; i < 3; i++) {
		for (d = 0; d < DEPTHMAX - 2; d++)
			line[n++] = '[';
		for (d = 0; d < DEPTHMAX - 2; d++)
			line[n++] = ']';
		line[n++] = i < 2 ? ',' : ']';
	}
	line[n++] = '}';
	CHECK(scann(line, n) == JE_OK);
}

/* json_str of the JSON string body s; the decoded bytes in out */
static long
str(const char *s, char *out, size_t size)
{
	return json_str(s, strlen(s), out, size);
}

static void
strings(void)
{
	char out[64], big[64];
	long r;

	CHECK(str("abc", out, sizeof(out)) == 3 && !strcmp(out, "abc"));
	CHECK(str("", out, sizeof(out)) == 0 && !out[0]);
	CHECK(str("\\\"\\\\\\/\\b\\f\\n\\r\\t", out, sizeof(out)) == 8 &&
	      !memcmp(out, "\"\\/\b\f\n\r\t", 9));
	CHECK(str("\\u0041\\u00e9\\u00E9\\u4e2d", out, sizeof(out)) == 8 &&
	      !strcmp(out, "A\xc3\xa9\xc3\xa9\xe4\xb8\xad"));
	CHECK(str("\\u0001\\u001f\\u007f\\u0080\\u07ff\\u0800\\uffff", out,
	      sizeof(out)) == 13 && !strcmp(out, "\x01\x1f\x7f\xc2\x80\xdf\xbf"
	      "\xe0\xa0\x80\xef\xbf\xbf"));
	/* surrogate pairs, and lone halves as U+FFFD */
	CHECK(str("\\ud83d\\ude00", out, sizeof(out)) == 4 &&
	      !strcmp(out, "\xf0\x9f\x98\x80"));
	CHECK(str("\\uD800\\uDC00\\uDBFF\\uDFFF", out, sizeof(out)) == 8 &&
	      !strcmp(out, "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));
	CHECK(str("\\ud83d", out, sizeof(out)) == 3 &&
	      !strcmp(out, "\xef\xbf\xbd"));
	CHECK(str("\\ude00", out, sizeof(out)) == 3 &&
	      !strcmp(out, "\xef\xbf\xbd"));
	CHECK(str("\\ud83dx", out, sizeof(out)) == 4 &&
	      !strcmp(out, "\xef\xbf\xbdx"));
	CHECK(str("\\ud83d\\u0041", out, sizeof(out)) == 4 &&
	      !strcmp(out, "\xef\xbf\xbd" "A"));
	CHECK(str("\\ud83d\\ud83d\\ude00", out, sizeof(out)) == 7 &&
	      !strcmp(out, "\xef\xbf\xbd\xf0\x9f\x98\x80"));
	CHECK(str("\\ude00\\ud83d", out, sizeof(out)) == 6 &&
	      !strcmp(out, "\xef\xbf\xbd\xef\xbf\xbd"));
	CHECK(str("\\ud83d\\n", out, sizeof(out)) == 4 &&
	      !strcmp(out, "\xef\xbf\xbd\n"));
	/* NUL cannot be carried */
	CHECK(str("\\u0000", out, sizeof(out)) == -2);
	CHECK(str("a\\u0000b", out, sizeof(out)) == -2);
	CHECK(json_strcut("a\\u0000b", 8, out, 2) == -2);
	CHECK(json_strcut("a\\u0000b", 8, out, sizeof(out)) == -2);

	/* exact fit and one short */
	CHECK(str("abc", out, 4) == 3 && !strcmp(out, "abc"));
	CHECK(str("abc", out, 3) == -1);
	CHECK(str("", out, 1) == 0);
	CHECK(str("", out, 0) == -1);
	CHECK(str("\xc3\xa9", out, 3) == 2);
	CHECK(str("\xc3\xa9", out, 2) == -1);
	CHECK(str("\\n", out, 2) == 1 && !strcmp(out, "\n"));
	CHECK(str("\\n", out, 1) == -1);
	/* an escape needs only the room of what it decodes to */
	CHECK(str("\\u0041", out, 2) == 1 && !strcmp(out, "A"));
	CHECK(str("\\u0041", out, 1) == -1);
	CHECK(str("\\u00e9", out, 3) == 2);
	CHECK(str("\\u00e9", out, 2) == -1);
	CHECK(str("\\u4e2d", out, 4) == 3);
	CHECK(str("\\u4e2d", out, 3) == -1);
	CHECK(str("\\ud83d\\ude00", out, 5) == 4);
	CHECK(str("\\ud83d\\ude00", out, 4) == -1);
	CHECK(str("ab\\u0001", out, 4) == 3);

	/* cut: at a character boundary, never past the buffer */
	memset(big, 'Z', sizeof(big));
	CHECK(json_strcut("abcdef", 6, big, 4) == 3 && !strcmp(big, "abc") &&
	      big[4] == 'Z');
	CHECK(json_strcut("abc", 3, out, 4) == 3 && !strcmp(out, "abc"));
	CHECK(json_strcut("abc", 3, out, 1) == 0 && !out[0]);
	CHECK(json_strcut("abc", 3, out, 0) == -1);
	CHECK(json_strcut("a\xc3\xa9", 3, out, 3) == 1 && !strcmp(out, "a"));
	CHECK(json_strcut("a\xc3\xa9", 3, out, 4) == 3);
	CHECK(json_strcut("a\xe4\xb8\xad", 4, out, 3) == 1 &&
	      !strcmp(out, "a"));
	CHECK(json_strcut("a\xe4\xb8\xad", 4, out, 4) == 1);
	CHECK(json_strcut("a\xf0\x9f\x98\x80" "b", 6, out, 5) == 1);
	CHECK(json_strcut("a\xf0\x9f\x98\x80" "b", 6, out, 6) == 5 &&
	      !strcmp(out, "a\xf0\x9f\x98\x80"));
	CHECK(json_strcut("\xc3\xa9\xc3\xa9", 4, out, 4) == 2 &&
	      !strcmp(out, "\xc3\xa9"));
	CHECK(json_strcut("a\\u00e9", 7, out, 3) == 1 && !strcmp(out, "a"));
	CHECK(json_strcut("a\\u00e9", 7, out, 4) == 3);
	CHECK(json_strcut("ab\\u0041", 8, out, 4) == 3 &&
	      !strcmp(out, "abA"));
	CHECK(json_strcut("a\\nb", 4, out, 3) == 2 && !strcmp(out, "a\n"));
	r = json_strcut("\\ud83d\\ude00\\ud83d\\ude00", 24, out, 8);
	CHECK(r == 4 && !strcmp(out, "\xf0\x9f\x98\x80"));
}

static void
numbers(void)
{
	unsigned long long v;
	double d;

	v = 7;
	CHECK(json_u64("0", 1, &v) == 0 && v == 0);
	CHECK(json_u64("42", 2, &v) == 0 && v == 42);
	CHECK(json_u64("18446744073709551615", 20, &v) == 0 &&
	      v == ULLONG_MAX);
	v = 7;
	CHECK(json_u64("18446744073709551616", 20, &v) == -2 && v == 7);
	CHECK(json_u64("18446744073709551620", 20, &v) == -2);
	CHECK(json_u64("99999999999999999999", 20, &v) == -2);
	CHECK(json_u64("100000000000000000000000", 24, &v) == -2);
	CHECK(json_u64("-1", 2, &v) == -1);
	CHECK(json_u64("-0", 2, &v) == -1);
	CHECK(json_u64("1.5", 3, &v) == -1);
	CHECK(json_u64("1.0", 3, &v) == -1);
	CHECK(json_u64("1e3", 3, &v) == -1);
	CHECK(json_u64("", 0, &v) == -1);
	CHECK(json_u64("12", 1, &v) == 0 && v == 1); /* only n bytes */
	CHECK(json_num("1.5", 3, &d) == 0 && d == 1.5);
	CHECK(json_num("-2e3", 4, &d) == 0 && d == -2000.0);
	CHECK(json_num("", 0, &d) == -1);
	CHECK(json_num("1", 200, &d) == -1);
}

/*
 * Every byte at every place of a string value, where the scanner skips
 * plain runs a word at a time: what it makes of the line is what that one
 * byte alone decides.
 */
static void
stringbytes(void)
{
	struct jfield f[4];
	char line[64];
	int c, k, nf, want, got;

	for (c = 0; c < 256; c++) {
		if (c < 0x20)
			want = JE_SYNTAX;
		else if (c == '"')
			want = JE_SYNTAX; /* ends the string: x's follow */
		else if (c == '\\')
			want = JE_SYNTAX; /* \x is no escape */
		else if (c >= 0x80)
			want = JE_UTF8;   /* a lead or trail byte alone */
		else
			want = JE_OK;
		for (k = 0; k < 20; k++) {
			memcpy(line, "{\"k\":\"", 6);
			memset(line + 6, 'x', 20);
			line[6 + k] = (char)c;
			memcpy(line + 26, "\"}", 2);
			got = json_scan(line, 28, f, 4, &nf);
			/* the last x: \" escapes the closing quote */
			CHECKM(got == (c == '\\' && k == 19 ? JE_PART : want),
			       "byte in a string");
			if (want == JE_OK)
				CHECK(nf == 1 && f[0].type == J_STRING &&
				      f[0].off == 6 && f[0].len == 20);
		}
	}
}

/* copyn() of every short length, at every alignment: memcpy's bytes */
static void
copies(void)
{
	char src[128], dst[128], want[128];
	size_t n, a, i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (char)rnd();
	for (n = 0; n <= 80; n++) {
		for (a = 0; a < 8; a++) {
			memset(dst, 'Z', sizeof(dst));
			memset(want, 'Z', sizeof(want));
			memcpy(want + a, src + 7 - a, n);
			copyn(dst + a, src + 7 - a, n);
			CHECK(!memcmp(dst, want, sizeof(dst)));
		}
	}
}

static void
writer(void)
{
	static const char hex[] = "0123456789abcdef";
	char buf[256], want[16], in[1];
	struct jw w;
	int c;

	/* every byte: control characters, ", \ and DEL escaped */
	for (c = 0; c < 256; c++) {
		in[0] = (char)c;
		jw_init(&w, buf, sizeof(buf));
		jw_esc(&w, in, 1);
		if (c == '"' || c == '\\')
			snprintf(want, sizeof(want), "\\%c", c);
		else if (c == '\n')
			snprintf(want, sizeof(want), "\\n");
		else if (c == '\r')
			snprintf(want, sizeof(want), "\\r");
		else if (c == '\t')
			snprintf(want, sizeof(want), "\\t");
		else if (c < 0x20 || c == 0x7f)
			snprintf(want, sizeof(want), "\\u00%c%c", hex[c >> 4],
			         hex[c & 15]);
		else
			snprintf(want, sizeof(want), "%c", c);
		CHECKM(!w.full && w.len == strlen(want) &&
		       !memcmp(buf, want, w.len), want);
	}
	/*
	 * every byte at every place of a longer string, where plain runs
	 * are skipped a word at a time: the same as one byte alone
	 */
	for (c = 0; c < 256; c++) {
		char run[24], got[256], one[16];
		size_t onelen;
		int k;

		in[0] = (char)c;
		jw_init(&w, one, sizeof(one));
		jw_esc(&w, in, 1);
		onelen = w.len;
		for (k = 0; k < 20; k++) {
			memset(run, 'x', 20);
			run[k] = (char)c;
			jw_init(&w, got, sizeof(got));
			jw_esc(&w, run, 20);
			CHECKM(!w.full && w.len == 19 + onelen &&
			       !memcmp(got, run, (size_t)k) &&
			       !memcmp(got + k, one, onelen) &&
			       !memcmp(got + k + onelen, run + k + 1,
			               (size_t)(19 - k)), "byte in a run");
		}
	}
	jw_init(&w, buf, sizeof(buf));
	jw_str(&w, "a\"b\\c/d\x01\xc3\xa9", 10);
	CHECK(!w.full && w.len == 19 &&
	      !memcmp(buf, "\"a\\\"b\\\\c/d\\u0001\xc3\xa9\"", 19));
	jw_init(&w, buf, sizeof(buf));
	jw_str(&w, "", 0);
	CHECK(w.len == 2 && !memcmp(buf, "\"\"", 2));

	/* numbers */
	jw_init(&w, buf, sizeof(buf));
	jw_u64(&w, 0);
	jw_raw(&w, ",");
	jw_u64(&w, ULLONG_MAX);
	jw_raw(&w, ",");
	jw_i64(&w, -1);
	jw_raw(&w, ",");
	jw_i64(&w, LLONG_MIN);
	jw_raw(&w, ",");
	jw_i64(&w, LLONG_MAX);
	CHECK(!w.full && w.len == 66 && !memcmp(buf, "0,18446744073709551615,"
	      "-1,-9223372036854775808,9223372036854775807", 66));

	/* numbers of every length, both sides of 2^32 and of each 10^k */
	for (c = 0; c < 200000; c++) {
		unsigned long long v, p10;
		char want[32];
		int k;

		v = (unsigned long long)rnd() << 32 | rnd();
		v >>= rnd() % 64;
		if (c % 4 == 1)
			v = 0xFFFFFFFFULL - 50 + (unsigned long long)(c % 100);
		if (c % 4 == 2) {
			for (p10 = 1, k = (int)(rnd() % 20); k > 0; k--)
				p10 *= 10;
			v = p10 - 1 + (unsigned long long)(c % 3);
		}
		jw_init(&w, buf, sizeof(buf));
		jw_u64(&w, v);
		snprintf(want, sizeof(want), "%llu", v);
		CHECKM(!w.full && w.len == strlen(want) &&
		       !memcmp(buf, want, w.len), want);
	}

	/* repeated timestamps come from the writer's memory: still exact */
	for (c = 0; c < 20000; c++) {
		static const unsigned long long pool[] = {
			1795554896181ULL, 1795554896182ULL, 1795554896ULL,
			1795554897ULL, 12345678ULL, 99999999999ULL, 42, 7,
		};
		unsigned long long v = pool[rnd() % 8];
		char want[32];

		jw_init(&w, buf, sizeof(buf));
		jw_u64(&w, v);
		snprintf(want, sizeof(want), "%llu", v);
		CHECKM(!w.full && w.len == strlen(want) &&
		       !memcmp(buf, want, w.len), want);
		/* and where it does not fit, nothing */
		memset(buf, 'Z', sizeof(buf));
		jw_init(&w, buf, strlen(want) - 1);
		jw_u64(&w, v);
		CHECK(w.full && w.len == 0 && buf[0] == 'Z');
	}

	/* bounded: what does not fit sets full and writes nothing */
	memset(buf, 'Z', sizeof(buf));
	jw_init(&w, buf, 5);
	jw_raw(&w, "abc");
	jw_raw(&w, "de");
	CHECK(!w.full && w.len == 5 && !memcmp(buf, "abcde", 5));
	jw_raw(&w, "");
	CHECK(!w.full);
	jw_raw(&w, "f");
	CHECK(w.full && w.len == 5 && buf[5] == 'Z');
	jw_raw(&w, "");
	CHECK(w.full && w.len == 5);
	memset(buf, 'Z', sizeof(buf));
	jw_init(&w, buf, 4);
	jw_raw(&w, "abcde");
	CHECK(w.full && w.len == 0 && buf[0] == 'Z');
	jw_raw(&w, "a"); /* full stays full: the output is invalid */
	CHECK(w.full && w.len == 0 && buf[0] == 'Z');
	for (c = 0; c < 14; c++) {
		memset(buf, 'Z', sizeof(buf));
		jw_init(&w, buf, (size_t)c);
		jw_str(&w, "a\nb\x01", 4);
		CHECK(w.len <= (size_t)c && buf[c] == 'Z');
		CHECK(w.full == (c < 12));
		jw_init(&w, buf, (size_t)c);
		jw_u64(&w, 1234567890ULL);
		CHECK(w.full == (c < 10) && buf[c] == 'Z');
		jw_init(&w, buf, (size_t)c);
		jw_i64(&w, -123456789LL);
		CHECK(w.full == (c < 10) && buf[c] == 'Z');
	}
	jw_init(&w, buf, 0);
	jw_mem(&w, "", 0);
	CHECK(!w.full && w.len == 0);
}

/* random bytes: more text than noise, some multibyte characters */
static size_t
randbytes(char *p, size_t max)
{
	static const char *pieces[] = {
		"\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\\", "\"",
		"\n", "\x7f", "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbd",
	};
	size_t n = 0, len = rnd() % (max / 4), k;
	const char *piece;

	while (n < len) {
		switch (rnd() % 8) {
		case 0:
			p[n++] = (char)(rnd() & 0xFF);
			break;
		case 1:
			p[n++] = (char)(rnd() % 0x20);
			break;
		case 2:
		case 3:
			piece = pieces[rnd() % LEN(pieces)];
			k = strlen(piece);
			memcpy(p + n, piece, k);
			n += k;
			break;
		default:
			p[n++] = (char)(0x20 + rnd() % 0x5F);
		}
	}
	return n;
}

static void
roundtrip(void)
{
	char in[256], out[257], line[256 * 6 + 16];
	struct jw w;
	struct jfield g[2];
	size_t n, m;
	long r, c;
	int i, ng, err, bad = 0, valid = 0, firstbad = -1;

	for (i = 0; i < 20000; i++) {
		memset(in, 0, sizeof(in));
		n = randbytes(in, sizeof(in));
		jw_init(&w, line, sizeof(line));
		jw_raw(&w, "{\"k\":");
		jw_str(&w, in, n);
		jw_raw(&w, "}");
		if (w.full) {
			bad++;
			continue;
		}
		err = json_scan(line, w.len, g, 2, &ng);
		if (!utf8ok((unsigned char *)in, n)) {
			bad += err != JE_UTF8;
			continue;
		}
		if (err != JE_OK || ng != 1 || g[0].type != J_STRING) {
			bad++;
			continue;
		}
		r = json_str(line + g[0].off, g[0].len, out, n + 1);
		if (memchr(in, '\0', n)) {
			bad += r != -2;
			continue;
		}
		valid++;
		if (r != (long)n || memcmp(out, in, n) || out[n]) {
			if (firstbad < 0)
				firstbad = i;
			bad++;
			continue;
		}
		/* one byte less never fits; a cut keeps whole characters */
		bad += json_str(line + g[0].off, g[0].len, out, n) != -1;
		m = 1 + rnd() % (n + 1);
		c = json_strcut(line + g[0].off, g[0].len, out, m);
		if (c < 0 || (size_t)c >= m || memcmp(out, in, (size_t)c) ||
		    !utf8ok((unsigned char *)out, (size_t)c))
			bad++;
		/* and the cut is as long as whole characters allow */
		else if ((size_t)c < n && (size_t)c + 4 < m)
			bad++;
	}
	if (firstbad >= 0)
		fprintf(stderr, "t_json: round trip %d lost its string\n",
		        firstbad);
	CHECK(valid > 5000);
	CHECK(bad == 0);
}

int
main(void)
{
	rng = 12345;
	stringbytes();
	table();
	fields();
	prefixes();
	depth();
	strings();
	numbers();
	copies();
	writer();
	roundtrip();
	return REPORT();
}
