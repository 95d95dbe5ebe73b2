/* See LICENSE file for copyright and license details. */
/*
 * A strict JSON scanner for one line holding one object, and a writer into
 * a bounded buffer. The scanner validates the whole text (grammar, UTF-8,
 * nesting up to DEPTHMAX) but records only the top-level fields, as offsets
 * into the input: nested values are checked and skipped, so a payload with
 * a huge tool_input costs no memory. When the input ends inside the object
 * it returns JE_PART with the fields completed so far, which is what an
 * over-long line leaves us. Nothing here allocates.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sessiond.h"

struct scan {
	const char *s;
	size_t n, i;
	int err;
};

static long decode(const char *s, size_t n, char *out, size_t outsize,
                   int cut);
static int hexval(int c);
static void skipws(struct scan *sc);
static int str(struct scan *sc);
static int num(struct scan *sc);
static int value(struct scan *sc, int depth);
static int utf8len(const unsigned char *p, size_t n);

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
skipws(struct scan *sc)
{
	while (sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
	       sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
		sc->i++;
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
 * no surrogates, nothing past U+10FFFF), 0 if malformed, -1 if cut short.
 */
static int
utf8len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xBF;
	int len, k;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xE0)
		lo = 0xA0;
	else if (p[0] == 0xED)
		hi = 0x9F;
	else if (p[0] == 0xF0)
		lo = 0x90;
	else if (p[0] == 0xF4)
		hi = 0x8F;
	for (k = 1; k < len; k++) {
		if ((size_t)k >= n)
			return -1;
		if (p[k] < lo || p[k] > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
	}
	return len;
}

/* At the opening quote; leaves i after the closing one. */
static int
str(struct scan *sc)
{
	const unsigned char *p = (const unsigned char *)sc->s;
	int k, len;

	for (sc->i++; sc->i < sc->n; ) {
		/* the common bytes first */
		while (sc->i < sc->n && p[sc->i] >= 0x20 && p[sc->i] < 0x80 &&
		       p[sc->i] != '"' && p[sc->i] != '\\')
			sc->i++;
		if (sc->i >= sc->n)
			break;
		if (p[sc->i] == '"') {
			sc->i++;
			return 0;
		}
		if (p[sc->i] < 0x20)
			return sc->err = JE_SYNTAX, -1;
		if (p[sc->i] == '\\') {
			if (sc->i + 1 >= sc->n)
				break;
			switch (p[sc->i + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				sc->i += 2;
				continue;
			case 'u':
				for (k = 2; k < 6; k++) {
					if (sc->i + k >= sc->n)
						goto part;
					if (hexval(p[sc->i + k]) < 0)
						return sc->err = JE_SYNTAX, -1;
				}
				sc->i += 6;
				continue;
			default:
				return sc->err = JE_SYNTAX, -1;
			}
		}
		len = utf8len(p + sc->i, sc->n - sc->i);
		if (len < 0)
			break;
		if (len == 0)
			return sc->err = JE_UTF8, -1;
		sc->i += len;
	}
part:
	sc->err = JE_PART;
	return -1;
}

static int
num(struct scan *sc)
{
	const char *s = sc->s;
	size_t i = sc->i;

	if (i < sc->n && s[i] == '-')
		i++;
	if (i < sc->n && s[i] == '0')
		i++;
	else if (i < sc->n && s[i] >= '1' && s[i] <= '9')
		while (i < sc->n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		goto bad;
	if (i < sc->n && s[i] == '.') {
		if (++i >= sc->n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < sc->n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < sc->n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < sc->n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= sc->n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < sc->n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i >= sc->n)
		goto bad; /* a number may go on: only a delimiter ends it */
	sc->i = i;
	return 0;
bad:
	sc->err = i >= sc->n ? JE_PART : JE_SYNTAX;
	return -1;
}

/* Validates one value of any type; returns its J_* type or -1. */
static int
value(struct scan *sc, int depth)
{
	static const struct { const char *lit; int type; } lits[] = {
		{ "true", J_TRUE }, { "false", J_FALSE }, { "null", J_NULL },
	};
	size_t k, len;
	int first;
	char close;

	skipws(sc);
	if (sc->i >= sc->n)
		return sc->err = JE_PART, -1;
	switch (sc->s[sc->i]) {
	case '"':
		return str(sc) < 0 ? -1 : J_STRING;
	case '{':
	case '[':
		if (depth >= DEPTHMAX)
			return sc->err = JE_DEPTH, -1;
		close = sc->s[sc->i] == '{' ? '}' : ']';
		for (sc->i++, first = 1; ; first = 0) {
			skipws(sc);
			if (sc->i >= sc->n)
				return sc->err = JE_PART, -1;
			if (sc->s[sc->i] == close && first) {
				sc->i++;
				break;
			}
			if (close == '}') {
				if (sc->s[sc->i] != '"')
					return sc->err = JE_SYNTAX, -1;
				if (str(sc) < 0)
					return -1;
				skipws(sc);
				if (sc->i >= sc->n)
					return sc->err = JE_PART, -1;
				if (sc->s[sc->i++] != ':')
					return sc->err = JE_SYNTAX, -1;
			}
			if (value(sc, depth + 1) < 0)
				return -1;
			skipws(sc);
			if (sc->i >= sc->n)
				return sc->err = JE_PART, -1;
			if (sc->s[sc->i] == close) {
				sc->i++;
				break;
			}
			if (sc->s[sc->i++] != ',')
				return sc->err = JE_SYNTAX, -1;
		}
		return close == '}' ? J_OBJECT : J_ARRAY;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return num(sc) < 0 ? -1 : J_NUMBER;
	}
	for (k = 0; k < LEN(lits); k++) {
		len = strlen(lits[k].lit);
		if (sc->n - sc->i < len) {
			if (!memcmp(sc->s + sc->i, lits[k].lit, sc->n - sc->i))
				return sc->err = JE_PART, -1;
		} else if (!memcmp(sc->s + sc->i, lits[k].lit, len)) {
			sc->i += len;
			return lits[k].type;
		}
	}
	return sc->err = JE_SYNTAX, -1;
}

/*
 * Scans s[0..n) as one JSON object followed only by white space and
 * records up to fmax top-level fields in f. A key repeated replaces the
 * earlier field, as JavaScript's JSON.parse does.
 */
int
json_scan(const char *s, size_t n, struct jfield *f, int fmax, int *nf)
{
	struct scan sc;
	size_t koff, klen, j;
	long dl;
	int type, k, first;
	char key[KEYMAX + 1];

	sc.s = s;
	sc.n = n;
	sc.i = 0;
	sc.err = JE_OK;
	*nf = 0;
	skipws(&sc);
	if (sc.i >= n)
		return JE_PART;
	if (s[sc.i] != '{')
		return (s[sc.i] == '[' || s[sc.i] == '"' || s[sc.i] == '-' ||
		        (s[sc.i] >= '0' && s[sc.i] <= '9') ||
		        !strncmp(s + sc.i, "true", n - sc.i < 4 ? n - sc.i : 4) ||
		        !strncmp(s + sc.i, "false", n - sc.i < 5 ? n - sc.i : 5) ||
		        !strncmp(s + sc.i, "null", n - sc.i < 4 ? n - sc.i : 4)) ?
		       JE_NOTOBJ : JE_SYNTAX;
	for (sc.i++, first = 1; ; first = 0) {
		skipws(&sc);
		if (sc.i >= n)
			return JE_PART;
		if (s[sc.i] == '}' && first) {
			sc.i++;
			break;
		}
		if (s[sc.i] != '"')
			return JE_SYNTAX;
		koff = sc.i + 1;
		if (str(&sc) < 0)
			return sc.err;
		klen = sc.i - 1 - koff;
		skipws(&sc);
		if (sc.i >= n)
			return JE_PART;
		if (s[sc.i++] != ':')
			return JE_SYNTAX;
		skipws(&sc);
		j = sc.i;
		if ((type = value(&sc, 1)) < 0)
			return sc.err;
		dl = json_str(s + koff, klen, key, sizeof(key));
		if (dl < 0)
			key[0] = '\0';
		for (k = 0; k < *nf; k++)
			if (key[0] && !strcmp(f[k].key, key))
				break;
		if (k == *nf) {
			if (*nf >= fmax)
				return JE_FIELDS;
			(*nf)++;
		}
		memcpy(f[k].key, key, sizeof(key));
		f[k].type = type;
		f[k].off = type == J_STRING ? j + 1 : j;
		f[k].len = sc.i - j - (type == J_STRING ? 2 : 0);
		skipws(&sc);
		if (sc.i >= n)
			return JE_PART;
		if (s[sc.i] == '}') {
			sc.i++;
			break;
		}
		if (s[sc.i++] != ',')
			return JE_SYNTAX;
	}
	skipws(&sc);
	return sc.i == n ? JE_OK : JE_SYNTAX;
}

const char *
json_strerror(int err)
{
	switch (err) {
	case JE_OK:     return "no error";
	case JE_UTF8:   return "invalid JSON: invalid UTF-8";
	case JE_DEPTH:  return "invalid JSON: nested too deeply";
	case JE_FIELDS: return "invalid JSON: too many fields";
	case JE_NOTOBJ: return "invalid JSON: request is not an object";
	case JE_PART:   return "invalid JSON: incomplete";
	}
	return "invalid JSON";
}

/*
 * Decodes the body of a scanned string into out (NUL-terminated). Returns
 * the decoded length, -1 when it does not fit, -2 when it holds a NUL.
 * A \u escape of a lone surrogate becomes U+FFFD: JSON's grammar allows
 * it, UTF-8 cannot carry it.
 */
static long
decode(const char *s, size_t n, char *out, size_t outsize, int cut)
{
	size_t i, o = 0;
	unsigned long cp, lo;
	int k;
	char c;

	if (n < outsize && !memchr(s, '\\', n)) { /* nothing to decode */
		memcpy(out, s, n);
		out[n] = '\0';
		return (long)n;
	}
	for (i = 0; i < n; ) {
		if (s[i] != '\\') {
			if (o + 1 >= outsize)
				goto full;
			out[o++] = s[i++];
			continue;
		}
		c = s[i + 1];
		i += 2;
		if (c != 'u') {
			switch (c) {
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			}
			if (o + 1 >= outsize)
				goto full;
			out[o++] = c;
			continue;
		}
		for (cp = 0, k = 0; k < 4; k++)
			cp = cp << 4 | (unsigned long)hexval(s[i + k]);
		i += 4;
		if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n &&
		    s[i] == '\\' && s[i + 1] == 'u') {
			for (lo = 0, k = 2; k < 6; k++)
				lo = lo << 4 | (unsigned long)hexval(s[i + k]);
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 6;
			}
		}
		if (cp >= 0xD800 && cp <= 0xDFFF)
			cp = 0xFFFD;
		if (cp == 0)
			return -2;
		if (o + (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4) >=
		    outsize)
			goto full;
		if (cp < 0x80) {
			out[o++] = (char)cp;
		} else if (cp < 0x800) {
			out[o++] = (char)(0xC0 | cp >> 6);
			out[o++] = (char)(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			out[o++] = (char)(0xE0 | cp >> 12);
			out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		} else {
			out[o++] = (char)(0xF0 | cp >> 18);
			out[o++] = (char)(0x80 | (cp >> 12 & 0x3F));
			out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		}
	}
	if (o >= outsize)
		return -1;
	out[o] = '\0';
	return (long)o;
full:
	if (!cut || outsize == 0)
		return -1;
	/* drop a character cut in two */
	for (i = o; i > 0 && ((unsigned char)out[i - 1] & 0xC0) == 0x80; i--)
		;
	if (i > 0 && (unsigned char)out[i - 1] >= 0xC0 &&
	    o - (i - 1) < (size_t)((unsigned char)out[i - 1] >= 0xF0 ? 4 :
	    (unsigned char)out[i - 1] >= 0xE0 ? 3 : 2))
		o = i - 1;
	out[o] = '\0';
	return (long)o;
}

long
json_str(const char *s, size_t n, char *out, size_t outsize)
{
	return decode(s, n, out, outsize, 0);
}

/* As json_str, but what does not fit is cut off at a character boundary. */
long
json_strcut(const char *s, size_t n, char *out, size_t outsize)
{
	return decode(s, n, out, outsize, 1);
}

/* A scanned number that is a non-negative integer: 0, -1 not one, -2 range. */
int
json_u64(const char *s, size_t n, unsigned long long *v)
{
	unsigned long long x = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	for (i = 0; i < n; i++) {
		if (x > (~0ULL - (unsigned)(s[i] - '0')) / 10)
			return -2;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	*v = x;
	return 0;
}

/* Any scanned number as a double: 0, or -1 when it does not fit. */
int
json_num(const char *s, size_t n, double *v)
{
	char buf[64];
	char *end;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*v = strtod(buf, &end);
	return *end ? -1 : 0;
}

void
jw_init(struct jw *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
	w->full = 0;
}

void
jw_mem(struct jw *w, const char *s, size_t n)
{
	if (w->full || n > w->cap - w->len) {
		w->full = 1;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

void
jw_raw(struct jw *w, const char *s)
{
	jw_mem(w, s, strlen(s));
}

/* The bytes of s escaped for a JSON string, without quotes. */
void
jw_esc(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	char e[6];
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F)
			continue;
		jw_mem(w, run, (size_t)(s + i - run));
		run = s + i + 1;
		e[0] = '\\';
		switch (c) {
		case '"':  e[1] = '"';  jw_mem(w, e, 2); continue;
		case '\\': e[1] = '\\'; jw_mem(w, e, 2); continue;
		case '\n': e[1] = 'n';  jw_mem(w, e, 2); continue;
		case '\r': e[1] = 'r';  jw_mem(w, e, 2); continue;
		case '\t': e[1] = 't';  jw_mem(w, e, 2); continue;
		}
		e[1] = 'u';
		e[2] = '0';
		e[3] = '0';
		e[4] = hex[c >> 4];
		e[5] = hex[c & 15];
		jw_mem(w, e, 6);
	}
	jw_mem(w, run, (size_t)(s + n - run));
}

void
jw_str(struct jw *w, const char *s, size_t n)
{
	jw_mem(w, "\"", 1);
	jw_esc(w, s, n);
	jw_mem(w, "\"", 1);
}

/* Two digits a step: numbers are most of a snapshot's bytes. */
void
jw_u64(struct jw *w, unsigned long long v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324"
		"25262728293031323334353637383940414243444546474849"
		"50515253545556575859606162636465666768697071727374"
		"75767778798081828384858687888990919293949596979899";
	char buf[24];
	int i = sizeof(buf);
	unsigned k;

	while (v >= 100) {
		k = (unsigned)(v % 100) * 2;
		v /= 100;
		buf[--i] = pairs[k + 1];
		buf[--i] = pairs[k];
	}
	if (v >= 10) {
		buf[--i] = pairs[v * 2 + 1];
		buf[--i] = pairs[v * 2];
	} else {
		buf[--i] = (char)('0' + v);
	}
	jw_mem(w, buf + i, sizeof(buf) - (size_t)i);
}

void
jw_i64(struct jw *w, long long v)
{
	if (v < 0) {
		jw_mem(w, "-", 1);
		jw_u64(w, 0ULL - (unsigned long long)v);
	} else {
		jw_u64(w, (unsigned long long)v);
	}
}
