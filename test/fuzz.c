/* See LICENSE file for copyright and license details. */
/*
 * Fuzz targets for libFuzzer (clang -fsanitize=fuzzer), one per build:
 * -DFUZZ_JSON feeds the bytes to the JSON scanner, string decoder and
 * writer; -DFUZZ_PROTO splits them into lines as sessiond.c does and runs
 * each through proto_line() or proto_toolong() with a fake clock;
 * -DFUZZ_RESTORE loads them as a state file through proto_restore().
 * After every step the invariants below are checked and a violation
 * aborts, so libFuzzer keeps the input. Built with -DFUZZ_REPLAY instead,
 * a plain main replays files (test/t_corpus.c builds it that way): every
 * target runs on every file, so each crash kept in test/corpus stays
 * fixed.
 *
 * Invariants of the request path: every reply and notification line is
 * one valid JSON object, except the text replies of FORMAT with raw and
 * of status line payloads, which are one UTF-8 line whose only control
 * characters are the template's own; a hook event gets no reply; a
 * reply never exceeds the caller's room, and with room for the largest
 * reply nothing waits; the session table stays sound (store_check)
 * within SESSMAX sessions and MAXCLOSED closed ones. The journal the
 * lines left, replayed into a fresh table, rebuilds the same sessions,
 * and so does a snapshot.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef FUZZ_REPLAY
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <unistd.h>
#endif

#include "config.h"
#include "sessiond.h"
#include "utf8ok.h"

#define FAIL(what) fail(what, __LINE__)

#define STALE         (LLONG_MAX / 1000) /* seconds: nothing is ever stale */

enum { K_JSON, K_TEXT, K_HOOK };

struct buf {
	char *p;
	size_t len, cap;
};

static void fail(const char *what, int line);
#if defined(FUZZ_JSON) || defined(FUZZ_REPLAY)
static void fuzzjson(const unsigned char *d, size_t n);
static void prefixes(const char *s, size_t n, const struct jfield *full,
                     int nfull);
static void strings(const char *s, size_t n, const struct jfield *f);
#endif
#if defined(FUZZ_PROTO) || defined(FUZZ_RESTORE) || defined(FUZZ_REPLAY)
static void append(struct buf *b, const char *p, size_t n);
static int byline(const void *a, const void *b);
static void checkout(const char *line, size_t len, int part, int ret,
                     const struct proto_out *o);
static void checkstore(void);
static void envinit(struct proto_env *env);
static int kind(const char *line, size_t len, int part);
static void jsonlines(const char *p, size_t n, const char *what);
static long memkb(void);
static void restoreall(const struct proto_env *env, const char *p,
                       size_t n, int strict);
static void sameset(struct buf *a, struct buf *b, const char *what);
static void snapshot(const struct proto_env *env, struct buf *b);
static void textline(const char *p, size_t n);
#endif
#if defined(FUZZ_PROTO) || defined(FUZZ_REPLAY)
/* Writes what the journal holds to b as sessiond.c does. */
static void
persistall(const struct proto_env *env, struct buf *b)
{
	const char *p;
	size_t k;

	while ((k = proto_journal(env, &p)) > 0) {
		append(b, p, k);
		if (proto_journalclear() < 0) {
			proto_journaldrop();
			snapshot(env, b);
		}
	}
}

static void fuzzproto(const unsigned char *d, size_t n);
#endif
#if defined(FUZZ_RESTORE) || defined(FUZZ_REPLAY)
static void fuzzrestore(const unsigned char *d, size_t n);
#endif

static const char *input;            /* the current input, for reports */
static size_t inputlen;
#if defined(FUZZ_PROTO) || defined(FUZZ_RESTORE) || defined(FUZZ_REPLAY)
static char tmpl[FORMATMAX + sizeof(STATUSFMT)]; /* of a text reply */
#endif

static void
fail(const char *what, int line)
{
	/* stdout: fuzz.sh closes the target's stderr, proto.c logs there */
	printf("fuzz.c:%d: invariant violated: %s\n", line, what);
	fwrite(input, 1, inputlen < 512 ? inputlen : 512, stdout);
	printf("\n");
	fflush(stdout);
	abort();
}

#if defined(FUZZ_JSON) || defined(FUZZ_REPLAY)
/*
 * A string field: decoding never overflows a buffer of its encoded size,
 * gives UTF-8, cuts at character boundaries into a prefix of the whole,
 * and survives the writer and the scanner again unchanged.
 */
static void
strings(const char *s, size_t n, const struct jfield *f)
{
	static const size_t cuts[] = { 1, 2, 3, 4, 5, 6, 7, 9, 13, 32 };
	struct jfield g[4];
	struct jw w;
	char *full, *cut, *back, *wbuf;
	long r, c;
	size_t k, m, wcap;
	int ng;

	(void)n;
	if (s[f->off - 1] != '"' || s[f->off + f->len] != '"')
		FAIL("string field not between quotes");
	if (!(full = malloc(f->len + 1)))
		abort();
	r = json_str(s + f->off, f->len, full, f->len + 1);
	if (r == -1 || r < -2 || (r >= 0 && (size_t)r > f->len))
		FAIL("json_str overflowed the encoded size");
	if (r == -2) {
		free(full);
		return;
	}
	if (strlen(full) != (size_t)r)
		FAIL("json_str length differs from the NUL");
	if (!utf8ok((unsigned char *)full, (size_t)r))
		FAIL("json_str gave invalid UTF-8");
	for (k = 0; k < LEN(cuts); k++) {
		m = cuts[k] < f->len + 1 ? cuts[k] : f->len + 1;
		if (!(cut = malloc(m)))
			abort();
		c = json_strcut(s + f->off, f->len, cut, m);
		if (c < 0 || (size_t)c >= m || cut[c] != '\0')
			FAIL("json_strcut result out of bounds");
		if (memcmp(cut, full, (size_t)c))
			FAIL("json_strcut not a prefix of json_str");
		if (!utf8ok((unsigned char *)cut, (size_t)c))
			FAIL("json_strcut cut inside a character");
		/* an escape is only written with 5 bytes to spare */
		if (c != r && (size_t)c + 5 < m)
			FAIL("json_strcut left too much room");
		free(cut);
	}
	/* writer and scanner round trip */
	wcap = 6 * (size_t)r + 16;
	if (!(wbuf = malloc(wcap)) || !(back = malloc((size_t)r + 1)))
		abort();
	jw_init(&w, wbuf, wcap);
	jw_raw(&w, "{\"k\":");
	jw_str(&w, full, (size_t)r);
	jw_raw(&w, "}");
	if (w.full)
		FAIL("jw_str needed more than 6 bytes a byte");
	if (json_scan(wbuf, w.len, g, LEN(g), &ng) != JE_OK || ng != 1 ||
	    g[0].type != J_STRING)
		FAIL("jw_str output does not scan");
	if (json_str(wbuf + g[0].off, g[0].len, back, (size_t)r + 1) != r ||
	    memcmp(back, full, (size_t)r))
		FAIL("jw_str/json_str round trip changed the string");
	free(wbuf);
	free(back);
	free(full);
}

/*
 * The prefixes of a valid object are incomplete (or complete past its
 * end), and their fields are the full object's fields so far: what
 * proto_toolong() relies on.
 */
static void
prefixes(const char *s, size_t n, const struct jfield *full, int nfull)
{
	struct jfield f[FIELDMAX];
	size_t cut, step, close;
	int err, nf, k;
	char *p;

	for (close = n; close > 0 && s[close - 1] != '}'; close--)
		;
	step = n <= 512 ? 1 : n / 97;
	for (cut = 0; cut < n; cut += step) {
		if (!(p = malloc(cut ? cut : 1)))
			abort();
		memcpy(p, s, cut);
		err = json_scan(p, cut, f, FIELDMAX, &nf);
		if (err == JE_OK && cut < close)
			FAIL("a prefix scans as complete");
		if (err != JE_OK && err != JE_PART)
			FAIL("a prefix of a valid object is an error");
		if (nf > nfull)
			FAIL("a prefix has more fields than the whole");
		for (k = 0; k < nf; k++) {
			if (strcmp(f[k].key, full[k].key))
				FAIL("a prefix has other keys");
			/* a repeated key's last value may lie past the cut */
			if (full[k].off + full[k].len < cut &&
			    (f[k].type != full[k].type ||
			    f[k].off != full[k].off || f[k].len != full[k].len))
				FAIL("a prefix has other values");
		}
		free(p);
	}
}

static void
fuzzjson(const unsigned char *d, size_t n)
{
	static char wbuf[64 + 8];
	static struct jfield f[FIELDMAX], g[FIELDMAX];
	struct jw w;
	const char *s = (const char *)d;
	unsigned long long u, u2;
	double x;
	size_t k, cap;
	char num[32], *end;
	int err, nf, ni, i, e;

	input = s;
	inputlen = n;
	nf = -1;
	err = json_scan(s, n, f, FIELDMAX, &nf);
	if (err < JE_OK || err > JE_PART || nf < 0 || nf > FIELDMAX)
		FAIL("json_scan result out of range");
	for (i = 0; i < nf; i++) {
		if (f[i].type < J_OBJECT || f[i].type > J_NULL ||
		    f[i].off > n || f[i].len > n - f[i].off ||
		    strlen(f[i].key) > KEYMAX)
			FAIL("json_scan field out of range");
		if (f[i].type == J_STRING)
			strings(s, n, &f[i]);
		if (f[i].type == J_NUMBER) {
			(void)json_num(s + f[i].off, f[i].len, &x);
			if (json_u64(s + f[i].off, f[i].len, &u) == 0 &&
			    f[i].len < sizeof(num)) {
				memcpy(num, s + f[i].off, f[i].len);
				num[f[i].len] = '\0';
				errno = 0;
				u2 = strtoull(num, &end, 10);
				if (u2 != u || *end || errno)
					FAIL("json_u64 against strtoull");
			}
		}
		if (err == JE_OK && f[i].type == J_OBJECT) {
			e = json_scan(s + f[i].off, f[i].len, g, FIELDMAX, &ni);
			if (e != JE_OK && e != JE_FIELDS)
				FAIL("a nested object does not scan");
		}
	}
	if (err == JE_OK)
		prefixes(s, n, f, nf);

	/* writer: bounded, all or nothing, never past cap */
	cap = n ? d[0] % 64 : 0;
	memset(wbuf, 0x55, sizeof(wbuf));
	jw_init(&w, wbuf, cap);
	jw_str(&w, s, n);
	for (k = cap; k < sizeof(wbuf); k++)
		if ((unsigned char)wbuf[k] != 0x55)
			FAIL("jw_str wrote past cap");
	if (w.len > cap)
		FAIL("jw length past cap");
	for (k = 0; k < w.len; k++)
		if ((unsigned char)wbuf[k] < 0x20 || wbuf[k] == 0x7F)
			FAIL("jw_str left a control character");
}
#endif

#if defined(FUZZ_PROTO) || defined(FUZZ_RESTORE) || defined(FUZZ_REPLAY)
static long
memkb(void)
{
	return 1234;
}

/* What a line's reply must be: JSON lines, a text line, or nothing. */
static int
kind(const char *line, size_t len, int part)
{
	struct jfield f[FIELDMAX];
	const struct jfield *cmd = NULL, *ev = NULL, *id = NULL, *raw = NULL;
	const struct jfield *fmt = NULL;
	char name[16];
	int nf, i, err;

	err = json_scan(line, len, f, FIELDMAX, &nf);
	if (err != (part ? JE_PART : JE_OK))
		return K_JSON;
	for (i = 0; i < nf; i++) {
		if (!strcmp(f[i].key, "cmd"))
			cmd = &f[i];
		else if (!strcmp(f[i].key, "hook_event_name"))
			ev = &f[i];
		else if (!strcmp(f[i].key, "session_id"))
			id = &f[i];
		else if (!strcmp(f[i].key, "raw"))
			raw = &f[i];
		else if (!strcmp(f[i].key, "format"))
			fmt = &f[i];
	}
	tmpl[0] = '\0';
	if (cmd) {
		if (!part && cmd->type == J_STRING && raw &&
		    raw->type == J_TRUE &&
		    json_str(line + cmd->off, cmd->len, name,
		    sizeof(name)) > 0 &&
		    !strcasecmp(name, "FORMAT")) {
			if (fmt && fmt->type == J_STRING &&
			    json_str(line + fmt->off, fmt->len, tmpl,
			    sizeof(tmpl)) < 0)
				tmpl[0] = '\0';
			return K_TEXT;
		}
		return K_JSON;
	}
	if (!id || (part && !ev)) /* a prefix must name its event */
		return K_JSON;
	if (ev && !(ev->type == J_STRING && ev->len == 6 &&
	    !memcmp(line + ev->off, "Status", 6)))
		return K_HOOK;
	snprintf(tmpl, sizeof(tmpl), "%s", STATUSFMT);
	return K_TEXT;
}

/* Each line of p[0..n) is one JSON object with a version. */
static void
jsonlines(const char *p, size_t n, const char *what)
{
	struct jfield f[FIELDMAX];
	const char *nl;
	size_t len;
	int nf, i;

	if (n == 0)
		return;
	if (p[n - 1] != '\n')
		FAIL(what);
	for (; n > 0; p += len + 1, n -= len + 1) {
		nl = memchr(p, '\n', n);
		len = (size_t)(nl - p);
		if (json_scan(p, len, f, FIELDMAX, &nf) != JE_OK)
			FAIL(what);
		for (i = 0; i < nf && strcmp(f[i].key, "version"); i++)
			;
		if (i == nf || f[i].len != 1 || p[f[i].off] != '1')
			FAIL(what);
	}
}

/*
 * One line of UTF-8 text. Control characters come only from the
 * template (colours the user wrote), never from a session's data.
 */
static void
textline(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || p[n - 1] != '\n')
		FAIL("text reply without its newline");
	for (i = 0; i + 1 < n; i++)
		if (p[i] == '\n' || p[i] == '\r' || p[i] == '\0' ||
		    (((unsigned char)p[i] < 0x20 || p[i] == 0x7F) &&
		    !strchr(tmpl, p[i])))
			FAIL("text reply holds a control character");
	if (!utf8ok((const unsigned char *)p, n))
		FAIL("text reply is not UTF-8");
}

static void
checkout(const char *line, size_t len, int part, int ret,
         const struct proto_out *o)
{
	int k;

	if (ret != PROTO_DONE)
		FAIL("PROTO_AGAIN with room for the largest reply");
	if (o->replylen > o->room || (o->replylen && !o->reply) ||
	    (o->notelen && !o->note))
		FAIL("reply larger than the room or missing");
	k = kind(line, len, part);
	if (k == K_HOOK && o->replylen)
		FAIL("a hook event got a reply");
	if (k == K_TEXT)
		textline(o->reply, o->replylen);
	else
		jsonlines(o->reply, o->replylen, "reply not JSON lines");
	jsonlines(o->note, o->notelen, "notification not JSON lines");
	checkstore();
	if (store_nclosed() > MAXCLOSED)
		FAIL("more closed sessions than MAXCLOSED");
}

static void
checkstore(void)
{
	if (store_check() != 0)
		FAIL("store_check");
	if (proto_check() != 0)
		FAIL("proto_check");
	if (store_count() > SESSMAX || store_count() < 0)
		FAIL("more sessions than SESSMAX");
	if (store_nclosed() < 0 || store_nclosed() > store_count())
		FAIL("closed count out of range");
}

static void
append(struct buf *b, const char *p, size_t n)
{
	char *np;

	if (b->cap - b->len < n) {
		b->cap = 2 * (b->len + n) + 4096;
		if (!(np = realloc(b->p, b->cap)))
			abort();
		b->p = np;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* The whole table as proto_snapshot() renders it for the state file. */
static void
snapshot(const struct proto_env *env, struct buf *b)
{
	static char chunk[2 * RECMAX];
	size_t n;
	int pos = 0, guard = 0;

	b->len = 0;
	while ((n = proto_snapshot(env, chunk, sizeof(chunk), &pos)) > 0) {
		append(b, chunk, n);
		if (++guard > SESSMAX + 1)
			FAIL("proto_snapshot does not progress");
	}
	if (pos < SESSMAX && store_next(&pos))
		FAIL("proto_snapshot stopped before the end");
}

/*
 * Loads state file lines into a fresh table as sessiond.c does: a line
 * without its newline is torn and left out. strict: every line is a
 * record proto.c wrote itself, so each must load.
 */
static void
restoreall(const struct proto_env *env, const char *p, size_t n, int strict)
{
	const char *nl;
	char *line;
	size_t len;
	int r;

	proto_init(1);
	for (; n > 0 && (nl = memchr(p, '\n', n)); n -= len + 1,
	     p += len + 1) {
		len = (size_t)(nl - p);
		if (len == 0)
			continue;
		if (!(line = malloc(len)))
			abort();
		memcpy(line, p, len);
		r = proto_restore(env, line, len);
		free(line);
		if (strict && r != 0)
			FAIL("a record proto.c wrote does not load");
		checkstore();
	}
	proto_loaded(env, STALE);
	checkstore();
	if (store_nclosed() > MAXCLOSED)
		FAIL("more closed sessions than MAXCLOSED after a load");
}

static int
byline(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The same records in any order. An open session's closeseq is only
 * kept for its next closing, so it is not compared.
 */
static void
sameset(struct buf *a, struct buf *b, const char *what)
{
	struct buf *v[2];
	char **l[2], *p, *q, *nl;
	size_t n[2], i, k, m;

	v[0] = a;
	v[1] = b;
	for (k = 0; k < 2; k++) {
		append(v[k], "", 1);
		v[k]->len--;
		for (n[k] = 0, p = v[k]->p; (nl = strchr(p, '\n')); p = nl + 1)
			n[k]++;
		if (!(l[k] = malloc((n[k] + 1) * sizeof(char *))))
			abort();
		for (i = 0, p = v[k]->p; (nl = strchr(p, '\n')); p = nl + 1) {
			*nl = '\0';
			l[k][i++] = p;
			if (!strstr(p, ",\"status\":\"closed\",") &&
			    (q = strstr(p, ",\"closeseq\":"))) {
				q += 12;
				for (m = 0; q[m] >= '0' && q[m] <= '9'; m++)
					;
				memmove(q, q + m, strlen(q + m) + 1);
			}
		}
		qsort(l[k], n[k], sizeof(char *), byline);
	}
	if (n[0] != n[1])
		FAIL(what);
	for (i = 0; i < n[0]; i++)
		if (strcmp(l[0][i], l[1][i])) {
			printf("live:     %s\n", l[0][i]);
			printf("restored: %s\n", l[1][i]);
			FAIL(what);
		}
	free(l[0]);
	free(l[1]);
}

static void
envinit(struct proto_env *env)
{
	memset(env, 0, sizeof(*env));
	env->started = 5000000;
	env->mono = env->started;
	env->wall = 1790000000;
	env->wallms = env->wall * 1000 + 500;
	env->subscribers = 1;
	env->sockpath = "/run/user/1000/sessiond.sock";
	env->memkb = memkb;
}

#endif

#if defined(FUZZ_PROTO) || defined(FUZZ_REPLAY)
/*
 * Lines as sessiond.c's readlines() cuts them: \n ends a line, a \r
 * before it is dropped, empty lines are skipped, a line over LINEMAX
 * goes to proto_toolong() as its first LINEMAX bytes, the last line
 * needs no \n. Each line is copied to a buffer of its own size so that
 * reading past it is caught.
 */
static void
fuzzproto(const unsigned char *d, size_t n)
{
	static struct buf journal, live, back;
	struct proto_env env;
	struct proto_out o;
	const char *s = (const char *)d, *nl;
	size_t off, len, end;
	char *line;
	int ret, part;

	input = s;
	inputlen = n;
	proto_init(1);
	envinit(&env);
	journal.len = 0;
	for (off = 0; off < n; off = nl ? end + 1 : n) {
		nl = memchr(s + off, '\n', n - off);
		end = nl ? (size_t)(nl - s) : n;
		len = end - off;
		if (len > 0 && s[off + len - 1] == '\r')
			len--;
		if (len == 0)
			continue;
		part = len > LINEMAX;
		if (part)
			len = LINEMAX;
		if (!(line = malloc(len)))
			abort();
		memcpy(line, s + off, len);
		/* a line a while after the last: 37 s, both clocks alike */
		env.mono += 37000;
		env.wall += 37;
		env.wallms += 37000;
		env.connections = 1 + (int)(off % 7);
		env.subscribers = off % 5 != 3; /* sometimes nobody listens */
		memset(&o, 0, sizeof(o));
		o.room = REPLYMAX;
		ret = part ? proto_toolong(&env, &o, line, len) :
		      proto_line(&env, &o, line, len);
		checkout(line, len, part, ret, &o);
		free(line);
		/*
		 * persisted as sessiond.c does, once for a pass of one to
		 * a few lines (the input decides); lost records: a snapshot
		 */
		if (len % 3 == 0 && proto_journaldue() < 2)
			continue;
		persistall(&env, &journal);
	}
	persistall(&env, &journal);
	/* a restart rebuilds the table from the journal or a snapshot */
	snapshot(&env, &live);
	restoreall(&env, journal.p, journal.len, 1);
	snapshot(&env, &back);
	sameset(&live, &back, "the journal does not rebuild the table");
	snapshot(&env, &live);
	restoreall(&env, live.p, live.len, 1);
	snapshot(&env, &back);
	sameset(&live, &back, "a snapshot does not rebuild the table");
}
#endif

#if defined(FUZZ_RESTORE) || defined(FUZZ_REPLAY)
/*
 * A state file, damaged or hand-edited: whatever loads leaves a sound
 * table within its limits that serves requests, and its snapshot loads
 * again unchanged.
 */
static void
fuzzrestore(const unsigned char *d, size_t n)
{
	static const char *reqs[] = {
		"{\"cmd\":\"LIST\"}", "{\"cmd\":\"SUB\",\"snapshot\":true}",
		"{\"cmd\":\"DUMP\"}", "{\"cmd\":\"STATUS\"}",
		("{\"cmd\":\"FORMAT\",\"format\":\"{attention} {top.dir} "
		 "{top.message} {top.elapsed} {inactive}\",\"raw\":true}"),
		"{\"cmd\":\"SET\",\"session_id\":\"new\",\"status\":\"closed\"}",
	};
	static struct buf live, back;
	struct proto_env env;
	struct proto_out o;
	size_t i;
	int ret;

	input = (const char *)d;
	inputlen = n;
	envinit(&env);
	restoreall(&env, (const char *)d, n, 0);
	if (store_nclosed() > MAXCLOSED)
		FAIL("more closed sessions than MAXCLOSED after loading");
	for (i = 0; i < LEN(reqs); i++) {
		env.mono += 1000;
		env.wall += 1;
		env.wallms += 1000;
		memset(&o, 0, sizeof(o));
		o.room = REPLYMAX;
		ret = proto_line(&env, &o, reqs[i], strlen(reqs[i]));
		checkout(reqs[i], strlen(reqs[i]), 0, ret, &o);
	}
	snapshot(&env, &live);
	restoreall(&env, live.p, live.len, 1);
	snapshot(&env, &back);
	sameset(&live, &back, "a loaded table does not load again");
}
#endif

#ifdef FUZZ_REPLAY
static int failed;                   /* files that broke an invariant */

/* Each file in a child of its own: one crash does not hide the next. */
static int
replayfile(const char *path)
{
	struct stat sb;
	unsigned char *d;
	FILE *fp;
	size_t n;
	pid_t pid;
	int status;

	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	fflush(stdout);
	if ((pid = fork()) < 0) {
		perror("fork");
		exit(1);
	}
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			printf("FAIL %s\n", path);
			failed++;
		}
		return 1;
	}
	if (!(fp = fopen(path, "rb"))) {
		perror(path);
		exit(1);
	}
	n = (size_t)sb.st_size;
	if (!(d = malloc(n ? n : 1)) || fread(d, 1, n, fp) != n) {
		perror(path);
		exit(1);
	}
	fclose(fp);
	fuzzjson(d, n);
	fuzzproto(d, n);
	fuzzrestore(d, n);
	free(d);
	exit(0);
}

static int
byname(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir, in name order; the count. */
static int
replaydir(const char *dir)
{
	DIR *dp;
	struct dirent *e;
	char **names = NULL, **nn, path[4096];
	size_t n = 0, i;
	int done = 0;

	if (!(dp = opendir(dir))) {
		perror(dir);
		exit(1);
	}
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.')
			continue;
		if (!(nn = realloc(names, (n + 1) * sizeof(*names))) ||
		    !(nn[n] = malloc(strlen(e->d_name) + 1))) {
			perror("malloc");
			exit(1);
		}
		names = nn;
		strcpy(names[n++], e->d_name);
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(*names), byname);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		done += replayfile(path);
		free(names[i]);
	}
	free(names);
	return done;
}

int
main(int argc, char *argv[])
{
	struct stat sb;
	const char *top;
	char dir[4096];
	int i, n = 0, r;

	if (argc < 2) {
		top = getenv("TOP");
		snprintf(dir, sizeof(dir), "%s/test/corpus", top ? top : ".");
		n = replaydir(dir);
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			n += replaydir(argv[i]);
		else if (!(r = replayfile(argv[i])))
			fprintf(stderr, "%s: not a file\n", argv[i]);
		else
			n += r;
	}
	printf("%d files replayed, %d failed\n", n, failed);
	return n == 0 || failed > 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FUZZ_JSON
	fuzzjson(data, size);
#endif
#ifdef FUZZ_PROTO
	fuzzproto(data, size);
#endif
#ifdef FUZZ_RESTORE
	fuzzrestore(data, size);
#endif
	return 0;
}
#endif
