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

static const union { unsigned short u; unsigned char c[2]; } one = { 1 };
#define littleendian (one.c[0] == 1)

struct scan {
	const unsigned char *s;
	size_t n;
	int err;              /* JE_* of the first error */
	int esc;              /* the last string scanned held an escape */
};

static long decode(const char *s, size_t n, char *out, size_t outsize,
                   int cut);
static int hexval(int c);
static size_t skipws(const struct scan *sc, size_t i);
static size_t str(struct scan *sc, size_t i);
static size_t num(struct scan *sc, size_t i);
static size_t value(struct scan *sc, size_t i, int depth, int *type);
static int utf8len(const unsigned char *p, size_t n);

/* A string byte that stands for itself: printable ASCII, not " or \. */
#define PLAIN(c) ((unsigned)(c) - 0x20u < 0x60u && (c) != '"' && (c) != '\\')

/*
 * Eight bytes at a time: SCAN8 is nonzero when a byte of x is a control
 * character, '"', '\\' or not ASCII, what the scanner must look at; ESC8
 * adds del, which the writer escapes. (v - 1) & ~v has a byte's high bit
 * set when that byte is 0; a borrow can only mark bytes above a real hit,
 * so "any" is exact.
 */
#define ONES  0x0101010101010101ULL
#define DEBRUIJN 0x03f79d71b4cb0a89ULL
#define HIGHS 0x8080808080808080ULL
#define ZEROBYTE(v) (((v) - ONES) & ~(v))
#define SCAN8(x) (((((x) - ONES * 0x20) & ~(x)) | \
                  ZEROBYTE((x) ^ ONES * '"') | \
                  ZEROBYTE((x) ^ ONES * '\\') | (x)) & HIGHS)
#define ESC8(x) (SCAN8(x) | (ZEROBYTE((x) ^ ONES * 0x7F) & HIGHS))

/*
 * Index of the lowest set bit of m (m != 0): one instruction where the
 * compiler has one, de Bruijn style elsewhere. It sits on the scanner's
 * path from a word to its first special byte.
 */
#if defined(__GNUC__) || defined(__clang__)
#define lowbit(m) __builtin_ctzll(m)
#else
static int
lowbit(unsigned long long m)
{
	static const unsigned char pos[64] = {
		0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4,
		62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
		63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
		46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6,
	};

	return pos[((m & (0 - m)) * DEBRUIJN) >> 58];
}
#endif

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

static size_t
skipws(const struct scan *sc, size_t i)
{
	while (i < sc->n && (sc->s[i] == ' ' || sc->s[i] == '\t' ||
	       sc->s[i] == '\n' || sc->s[i] == '\r'))
		i++;
	return i;
}

/* Most JSON has no space between tokens: no call for that. */
#define SKIPWS(sc, i) ((i) < (sc)->n && (sc)->s[i] > ' ' ? (i) : skipws(sc, i))

/*
 * The string at i (its opening quote) in place, for the plain ones that
 * end before the last word of the line: a name, an id, a status. It sets
 * i past the closing quote, or calls str() for the rest (escapes, other
 * bytes, the line's end), which scans it again from the start. In the
 * scanner's loop, not a call: most of a request is such strings.
 */
#define STRING(sc, i) do { \
	size_t j_ = (i) + 1; \
	unsigned long long x_, m_; \
	if (!littleendian) { \
		(i) = str(sc, i); \
		break; \
	} \
	for (;;) { \
		if (j_ + 8 > (sc)->n) { \
			j_ = 0; \
			break; \
		} \
		memcpy(&x_, (sc)->s + j_, 8); \
		if ((m_ = SCAN8(x_))) { \
			j_ += (size_t)(lowbit(m_) >> 3); \
			j_ = (sc)->s[j_] == '"' ? j_ + 1 : 0; \
			break; \
		} \
		j_ += 8; \
	} \
	if (j_) { \
		(sc)->esc = 0; \
		(i) = j_; \
	} else { \
		(i) = str(sc, i); \
	} \
} while (0)

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

/*
 * The string at i (its opening quote): the index after the closing one,
 * or 0 with sc->err set.
 */
static size_t
str(struct scan *sc, size_t i)
{
	const unsigned char *p = sc->s;
	size_t n = sc->n;
	int k, len;

	unsigned long long x, m;

	sc->esc = 0;
	for (i++; i < n; ) {
		/*
		 * The common bytes first, a word at a time. On a little-endian
		 * machine the lowest hit is the first special byte in memory
		 * (a borrow only marks bytes above a hit): jump straight to it.
		 */
		for (; i + 8 <= n; i += 8) {
			memcpy(&x, p + i, 8);
			if ((m = SCAN8(x))) {
				if (littleendian)
					i += (size_t)(lowbit(m) >> 3);
				break;
			}
		}
		while (i < n && PLAIN(p[i]))
			i++;
		if (i >= n)
			break;
		if (p[i] == '"')
			return i + 1;
		if (p[i] < 0x20)
			return sc->err = JE_SYNTAX, 0;
		if (p[i] == '\\') {
			sc->esc = 1;
			if (i + 1 >= n)
				break;
			switch (p[i + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				i += 2;
				continue;
			case 'u':
				for (k = 2; k < 6; k++) {
					if (i + k >= n)
						goto part;
					if (hexval(p[i + k]) < 0)
						return sc->err = JE_SYNTAX, 0;
				}
				i += 6;
				continue;
			default:
				return sc->err = JE_SYNTAX, 0;
			}
		}
		len = utf8len(p + i, n - i);
		if (len < 0)
			break;
		if (len == 0)
			return sc->err = JE_UTF8, 0;
		i += len;
	}
part:
	sc->err = JE_PART;
	return 0;
}

/* The number at i: the index after it, or 0 with sc->err set. */
static size_t
num(struct scan *sc, size_t i)
{
	const unsigned char *s = sc->s;
	size_t n = sc->n;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		goto bad;
	if (i < n && s[i] == '.') {
		if (++i >= n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i >= n)
		goto bad; /* a number may go on: only a delimiter ends it */
	return i;
bad:
	sc->err = i >= n ? JE_PART : JE_SYNTAX;
	return 0;
}

/*
 * Validates the value at i (white space skipped before it) and sets *type
 * to its J_*: the index after it, or 0 with sc->err set.
 */
static size_t
value(struct scan *sc, size_t i, int depth, int *type)
{
	static const struct { const char *lit; size_t len; int type; } lits[] = {
		{ "true", 4, J_TRUE }, { "false", 5, J_FALSE },
		{ "null", 4, J_NULL },
	};
	const unsigned char *s = sc->s;
	size_t n = sc->n, k;
	int first, t;
	unsigned char close;

	i = SKIPWS(sc, i);
	if (i >= n)
		return sc->err = JE_PART, 0;
	switch (s[i]) {
	case '"':
		*type = J_STRING;
		return str(sc, i);
	case '{':
	case '[':
		if (depth >= DEPTHMAX)
			return sc->err = JE_DEPTH, 0;
		close = s[i] == '{' ? '}' : ']';
		*type = close == '}' ? J_OBJECT : J_ARRAY;
		for (i++, first = 1; ; first = 0) {
			i = SKIPWS(sc, i);
			if (i >= n)
				return sc->err = JE_PART, 0;
			if (s[i] == close && first)
				return i + 1;
			if (close == '}') {
				if (s[i] != '"')
					return sc->err = JE_SYNTAX, 0;
				if (!(i = str(sc, i)))
					return 0;
				i = SKIPWS(sc, i);
				if (i >= n)
					return sc->err = JE_PART, 0;
				if (s[i++] != ':')
					return sc->err = JE_SYNTAX, 0;
			}
			if (!(i = value(sc, i, depth + 1, &t)))
				return 0;
			i = SKIPWS(sc, i);
			if (i >= n)
				return sc->err = JE_PART, 0;
			if (s[i] == close)
				return i + 1;
			if (s[i++] != ',')
				return sc->err = JE_SYNTAX, 0;
		}
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		*type = J_NUMBER;
		return num(sc, i);
	}
	for (k = 0; k < LEN(lits); k++) {
		if (n - i < lits[k].len) {
			if (!memcmp(s + i, lits[k].lit, n - i))
				return sc->err = JE_PART, 0;
		} else if (!memcmp(s + i, lits[k].lit, lits[k].len)) {
			*type = lits[k].type;
			return i + lits[k].len;
		}
	}
	return sc->err = JE_SYNTAX, 0;
}

/*
 * Scans s[0..n) as one JSON object followed only by white space and
 * records up to fmax top-level fields in f. A key repeated replaces the
 * earlier field, as JavaScript's JSON.parse does.
 */
int
json_scan(const char *s, size_t n, struct jfield *f, int fmax, int *nf)
{
	const unsigned char *p = (const unsigned char *)s;
	struct scan sc;
	size_t i, koff, klen, j;
	long dl;
	int type, k, first;
	char key[KEYMAX + 1], *kd;

	sc.s = p;
	sc.n = n;
	sc.err = JE_OK;
	*nf = 0;
	i = SKIPWS(&sc, 0);
	if (i >= n)
		return JE_PART;
	if (p[i] != '{')
		return (p[i] == '[' || p[i] == '"' || p[i] == '-' ||
		        (p[i] >= '0' && p[i] <= '9') ||
		        !strncmp(s + i, "true", n - i < 4 ? n - i : 4) ||
		        !strncmp(s + i, "false", n - i < 5 ? n - i : 5) ||
		        !strncmp(s + i, "null", n - i < 4 ? n - i : 4)) ?
		       JE_NOTOBJ : JE_SYNTAX;
	for (i++, first = 1; ; first = 0) {
		i = SKIPWS(&sc, i);
		if (i >= n)
			return JE_PART;
		if (p[i] == '}' && first) {
			i++;
			break;
		}
		if (p[i] != '"')
			return JE_SYNTAX;
		koff = i + 1;
		STRING(&sc, i);
		if (!i)
			return sc.err;
		klen = i - 1 - koff;
		/* decoded straight into the next field; a repeat stays there */
		kd = *nf < fmax ? f[*nf].key : key;
		if (!sc.esc && klen <= KEYMAX) { /* most keys: as they are */
			copyn(kd, s + koff, klen);
			kd[klen] = '\0';
		} else if ((dl = json_str(s + koff, klen, kd, KEYMAX + 1)) >= 0) {
			klen = (size_t)dl;
		} else {
			kd[0] = '\0';
			klen = 0;
		}
		i = SKIPWS(&sc, i);
		if (i >= n)
			return JE_PART;
		if (p[i++] != ':')
			return JE_SYNTAX;
		j = i = SKIPWS(&sc, i);
		if (i < n && p[i] == '"') { /* most values: no detour */
			type = J_STRING;
			STRING(&sc, i);
		} else {
			i = value(&sc, i, 1, &type);
		}
		if (!i)
			return sc.err;
		for (k = 0; k < *nf; k++) /* the last of a repeated name wins */
			if (klen && f[k].klen == klen && f[k].key[0] == kd[0] &&
			    !memcmp(f[k].key, kd, klen))
				break;
		if (k == *nf) {
			if (*nf >= fmax)
				return JE_FIELDS;
			(*nf)++;
		}
		f[k].klen = klen;
		f[k].esc = type == J_STRING && sc.esc;
		f[k].type = type;
		f[k].off = type == J_STRING ? j + 1 : j;
		f[k].len = i - j - (type == J_STRING ? 2 : 0);
		i = SKIPWS(&sc, i);
		if (i >= n)
			return JE_PART;
		if (p[i] == '}') {
			i++;
			break;
		}
		if (p[i++] != ',')
			return JE_SYNTAX;
	}
	i = SKIPWS(&sc, i);
	return i == n ? JE_OK : JE_SYNTAX;
}

/* Whether s[0..n) is white space only: a blank line, which is no record. */
int
json_blank(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++, n--;
	return n == 0;
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
	for (i = 0; i < n; i++) { /* constant bounds: no division a digit */
		if (x > ~0ULL / 10 ||
		    (x == ~0ULL / 10 && (unsigned)(s[i] - '0') > ~0ULL % 10))
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

/*
 * memcpy() for the short strings of requests and replies: names, ids,
 * statuses, paths. Built for size, the compiler copies a length it does
 * not know with a string instruction that is slow to start; overlapping
 * word copies of a known size are not.
 */
void
copyn(char *d, const char *s, size_t n)
{
	if (n >= 16 && n <= 32) {
		memcpy(d, s, 16);
		memcpy(d + n - 16, s + n - 16, 16);
	} else if (n >= 8 && n < 16) {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(d, s, 4);
		memcpy(d + n - 4, s + n - 4, 4);
	} else if (n < 4) {
		while (n-- > 0)
			*d++ = *s++;
	} else {
		memcpy(d, s, n);
	}
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
	copyn(w->buf + w->len, s, n);
	w->len += n;
}

void
jw_raw(struct jw *w, const char *s)
{
	jw_mem(w, s, strlen(s));
}

/*
 * Whether no byte of s needs a look from jw_esc(): ids, paths and names
 * nearly always. A word at a time; the last word overlaps the one before.
 */
int
json_plain(const char *s, size_t n)
{
	unsigned long long x;
	size_t i;

	if (n < 8) {
		for (i = 0; i < n; i++)
			if (!PLAIN(s[i]) || s[i] == 0x7F)
				return 0;
		return 1;
	}
	for (i = 0; i + 8 < n; i += 8) {
		memcpy(&x, s + i, 8);
		if (ESC8(x))
			return 0;
	}
	memcpy(&x, s + n - 8, 8);
	return !ESC8(x);
}

/* The bytes of s escaped for a JSON string, without quotes. */
void
jw_esc(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	char e[6];
	unsigned long long x, m;
	size_t i;
	unsigned char c;

	if (json_plain(s, n)) {
		jw_mem(w, s, n);
		return;
	}
	for (i = 0; i < n; i++) {
		for (; i + 8 <= n; i += 8) { /* plain runs a word at a time */
			memcpy(&x, s + i, 8);
			if ((m = ESC8(x))) {
				if (littleendian)
					i += (size_t)(lowbit(m) >> 3);
				break;
			}
		}
		if (i >= n)
			break;
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

/*
 * Valid JSON text without the white space between its tokens: a value
 * laid out on several lines goes on one.
 */
void
jw_compact(struct jw *w, const char *s, size_t n)
{
	size_t i, run = 0;
	int instr = 0;

	for (i = 0; i < n; i++) {
		if (instr) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				instr = 0;
		} else if (s[i] == '"') {
			instr = 1;
		} else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		           s[i] == '\r') {
			jw_mem(w, s + run, i - run);
			run = i + 1;
		}
	}
	jw_mem(w, s + run, n - run);
}

void
jw_str(struct jw *w, const char *s, size_t n)
{
	jw_mem(w, "\"", 1);
	jw_esc(w, s, n);
	jw_mem(w, "\"", 1);
}

/* A number's text, kept for the next time it is written. */
struct numtext {
	unsigned long long v;
	int nd;                       /* its digits; 0: none kept */
	char d[20];
};

#define MEMODIGITS 7  /* shorter numbers are as quick to write again */

/* Two digits a step, written in place: numbers are many of a reply's. */
void
jw_u64(struct jw *w, unsigned long long v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324"
		"25262728293031323334353637383940414243444546474849"
		"50515253545556575859606162636465666768697071727374"
		"75767778798081828384858687888990919293949596979899";
	static struct numtext memo[2];
	struct numtext *m;
	unsigned long long t;
	unsigned long v32, q;
	unsigned k;
	char *p, *q0;
	int nd;

	if (v < 10) { /* priorities, counts, idle seconds: most are */
		if (w->full || w->len == w->cap) {
			w->full = 1;
			return;
		}
		w->buf[w->len++] = (char)('0' + v);
		return;
	}
	/*
	 * Timestamps repeat: records and items of one pass share the pass's
	 * clock. The last one of each length class is kept as text.
	 */
	m = memo[0].nd && memo[0].v == v ? &memo[0] :
	    memo[1].nd && memo[1].v == v ? &memo[1] : NULL;
	if (m) {
		jw_mem(w, m->d, (size_t)m->nd);
		return;
	}
	/* no division to count digits: they are slow where -Os uses div */
	for (nd = 2, t = 100; nd < 20 && v >= t; t *= 10)
		nd++;
	if (w->full || (size_t)nd > w->cap - w->len) {
		w->full = 1;
		return;
	}
	p = w->buf + w->len;
	w->len += (size_t)nd;
	m = &memo[nd & 1];
	if (nd >= MEMODIGITS) {
		m->v = v;
		m->nd = nd;
		q0 = p;
	} else {
		q0 = NULL;
	}
	p += nd;
	while (v > 0xFFFFFFFFULL) {
		k = (unsigned)(v % 100) * 2;
		v /= 100;
		*--p = pairs[k + 1];
		*--p = pairs[k];
	}
	/* below 2^32, v / 100 is (v * 1374389535) >> 37 exactly */
	for (v32 = (unsigned long)v; v32 >= 100; v32 = q) {
		q = (unsigned long)(((unsigned long long)v32 * 1374389535ULL) >> 37);
		k = (unsigned)(v32 - q * 100) * 2;
		*--p = pairs[k + 1];
		*--p = pairs[k];
	}
	if (v32 >= 10) {
		*--p = pairs[v32 * 2 + 1];
		*--p = pairs[v32 * 2];
	} else {
		*--p = (char)('0' + v32);
	}
	if (q0)
		memcpy(m->d, q0, (size_t)nd);
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
