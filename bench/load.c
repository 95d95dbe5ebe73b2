/* See LICENSE file for copyright and license details. */
/*
 * load: load generator for sessiond (and bench/echo.c) over its Unix
 * socket. All connections live in one process and one poll() loop, so
 * every time is read from the same CLOCK_MONOTONIC.
 *
 * Request mode (default): -c clients each keep -d requests in flight,
 * drawn from the -m mix, for -t seconds or -n requests, after SETting the
 * keyspace s0..s(k-1) (fewer if the table fills first). Latency is each
 * request's round trip. A raw hook event gets no reply, so a "hook" is the
 * event followed by a GET of its session, timed by the GET's reply; both
 * lines count as requests.
 * Fan-out mode (-f M): M subscribers and one publisher sending -r SETs a
 * second that alternate a session's status between working and attention,
 * so each makes exactly one update. The k-th update a subscriber reads
 * answers the k-th SET: latency runs from that SET's write to the read.
 * Every subscriber must receive every update, in order.
 * -w: wait for the socket to accept. -P: print the sizes of a SET reply, an
 * update and a LIST reply. -M PID: print PID's VmRSS idle, with a full
 * table and with -C clients connected.
 *
 * A run prints one key=value line on stdout. Any protocol error, lost
 * update or timeout prints a message on stderr and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define INSIZE     65536   /* bytes read at once from one connection */
#define HEADSIZE   512     /* first bytes of a reply line kept for checks */
#define REQMAX     1024    /* bytes of one request line */
#define DEPTHMAX   1024    /* requests in flight per client */
#define CLIENTMAX  4096    /* connections */
#define KEYMAX     100000  /* session ids in the keyspace */
#define PUBMAX     10000000 /* SETs one fan-out run may publish */
#define FORMATMAX  256     /* bytes of the FORMAT template */
#define WAITSECS   10      /* for replies and updates after the run */
#define SUBBITS    6       /* histogram: 64 buckets per power of 2, 1.6% */
#define NSUB       (1 << SUBBITS)
#define NBUCKET    ((64 - SUBBITS + 1) * NSUB)
#define NS         1000000000LL
#define LEN(a)     (sizeof(a) / sizeof((a)[0]))
#define LONGMAX    0x7fffffffL
#define OPTIONS    "C:F:M:Pc:d:f:k:l:m:n:r:s:t:w:"

/* requests: SET takes id, status, id; GET takes id */
#define SETFMT "{\"version\":1,\"cmd\":\"SET\",\"session_id\":\"s%d\"," \
               "\"status\":\"%s\",\"working_dir\":\"/tmp/bench/s%d\"}\n"
#define GETFMT "{\"version\":1,\"cmd\":\"GET\",\"session_id\":\"s%d\"}\n"

enum { OP_SET, OP_GET, OP_LIST, OP_HOOK, OP_FORMAT, NOP };
enum { ROLE_REQ, ROLE_PUB, ROLE_SUB };

struct conn {
	int fd;
	int role;             /* ROLE_* */
	char *in;             /* INSIZE bytes */
	size_t inoff, inlen;
	int inpart;           /* a line is partly in head */
	char head[HEADSIZE];  /* first bytes of a line longer than in */
	size_t headlen, partlen;
	char *out;
	size_t outoff, outlen, outcap;
	long long *pt;        /* send times of requests in flight, a FIFO */
	unsigned char *pop;   /* their ops */
	unsigned ph, pn;      /* FIFO head and length, capacity depth */
	unsigned long long rng;
	unsigned long nupd;   /* updates received (subscriber) */
	unsigned hookseq;     /* next event of hooks[] */
};

static void die(const char *fmt, ...);
static int find(const char *s, size_t n, const char *pat);
static int fill(struct conn *c);
static void flush(struct conn *c);
static int nextline(struct conn *c, const char **p, size_t *plen,
                    size_t *len);

static const char *opname[NOP] = { "set", "get", "list", "hook", "format" };
static const char *statuses[] = { "working", "attention", "question" };
static const char *hooks[] = {
	"\"hook_event_name\":\"UserPromptSubmit\","
	"\"prompt\":\"run the tests\"",
	"\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
	"\"tool_input\":{\"command\":\"make test\"}",
	"\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\","
	"\"tool_input\":{\"command\":\"make test\"},"
	"\"tool_response\":{\"stdout\":\"ok\",\"stderr\":\"\"}",
	"\"hook_event_name\":\"Notification\",\"notification_type\":"
	"\"idle_prompt\",\"message\":\"Claude is waiting for your input\"",
	"\"hook_event_name\":\"Stop\",\"stop_hook_active\":false",
};
static const char okprefix[] = "{\"version\":1,\"ok\":true,\"data\":";
static const char errprefix[] = "{\"version\":1,\"ok\":false";
static const char updprefix[] = "{\"version\":1,\"type\":\"update\"";
static const char subreply[] = "{\"version\":1,\"ok\":true,"
                               "\"data\":\"subscribed\"}";

static const char *sockpath;
static struct conn *conns;
static int nconns;
static int depth = 1;
static int keyspace = 128;
static int tablefull;           /* prefill met "session table full" */
static int weight[NOP];
static char mixspec[128];
static char format[2 * FORMATMAX + 1] =  /* JSON-escaped */
	"{active} active{? | {attention} waiting: {top.dir}}"
	"{? | {question} asking}{? | 5h {usage.5h}%}";
static unsigned long long hist[NBUCKET], nsamples;

static void
die(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	fputs("load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
	exit(1);
}

static long long
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * NS + ts.tv_nsec;
}

static int
msb(unsigned long long v)
{
	int n = 0;

	if (v >> 32) { v >>= 32; n += 32; }
	if (v >> 16) { v >>= 16; n += 16; }
	if (v >> 8) { v >>= 8; n += 8; }
	if (v >> 4) { v >>= 4; n += 4; }
	if (v >> 2) { v >>= 2; n += 2; }
	if (v >> 1) n += 1;
	return n;
}

static void
record(long long ns)
{
	unsigned long long v = ns < 0 ? 0 : (unsigned long long)ns;
	int s;

	if (v < NSUB) {
		hist[v]++;
	} else {
		s = msb(v) - SUBBITS;
		hist[(s + 1) * NSUB + (int)((v >> s) - NSUB)]++;
	}
	nsamples++;
}

/* The p-quantile of the recorded latencies, in microseconds. */
static double
quantile(double p)
{
	unsigned long long want, sum = 0, lo, width;
	int i, s;

	if (nsamples == 0)
		return 0;
	want = (unsigned long long)(p * (double)nsamples);
	if (want < 1)
		want = 1;
	for (i = 0; i < NBUCKET; i++) {
		sum += hist[i];
		if (sum >= want)
			break;
	}
	if (i < NSUB)
		return i / 1000.0;
	s = i / NSUB - 1;
	lo = (unsigned long long)(NSUB + i % NSUB) << s;
	width = 1ULL << s;
	return ((double)lo + (double)width / 2) / 1000.0;
}

static int
find(const char *s, size_t n, const char *pat)
{
	size_t m = strlen(pat), i;

	for (i = 0; i + m <= n; i++)
		if (s[i] == pat[0] && memcmp(s + i, pat, m) == 0)
			return (int)i;
	return -1;
}

static int
startswith(const char *s, size_t n, const char *pre)
{
	size_t m = strlen(pre);

	return n >= m && memcmp(s, pre, m) == 0;
}

/* Die showing the line that broke the protocol. */
static void
badline(const char *what, const char *p, size_t plen, size_t len)
{
	die("%s: got %zu-byte line: %.*s%s", what, len, (int)plen, p,
	    plen < len ? "..." : "");
}

static void
connect1(struct conn *c, int role)
{
	struct sockaddr_un sa;
	int fl;

	memset(c, 0, sizeof(*c));
	c->role = role;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sockpath);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		die("socket:");
	/* blocking: a full backlog waits for the daemon to accept */
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect %s:", sockpath);
	if ((fl = fcntl(c->fd, F_GETFL)) < 0 ||
	    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl:");
	c->outcap = (size_t)(depth + 2) * 2 * REQMAX;
	if (!(c->in = malloc(INSIZE)) || !(c->out = malloc(c->outcap)) ||
	    !(c->pt = malloc((size_t)depth * sizeof(*c->pt))) ||
	    !(c->pop = malloc((size_t)depth)))
		die("malloc:");
	c->rng = 0x9e3779b97f4a7c15ULL * (unsigned long long)(c - conns + 1);
}

static void
close1(struct conn *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c->pt);
	free(c->pop);
	c->fd = -1;
}

/* Read what is there; 0 when nothing, -1 at EOF. */
static int
fill(struct conn *c)
{
	ssize_t r;

	if (c->inoff == c->inlen)
		c->inoff = c->inlen = 0;
	for (;;) {
		r = read(c->fd, c->in + c->inlen, INSIZE - c->inlen);
		if (r >= 0)
			break;
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			die("read connection %d:", (int)(c - conns));
	}
	if (r == 0)
		return -1;
	c->inlen += (size_t)r;
	return 1;
}

/*
 * Take the next complete line out of c's input: p and plen are its first
 * bytes (all of it unless it was longer than the input buffer), len its
 * length. 0 when no line is complete; the partial one is then consumed.
 */
static int
nextline(struct conn *c, const char **p, size_t *plen, size_t *len)
{
	char *s = c->in + c->inoff, *nl;
	size_t n = c->inlen - c->inoff, k, cp;

	if (n == 0)
		return 0;
	nl = memchr(s, '\n', n);
	k = nl ? (size_t)(nl - s) : n;
	if (!c->inpart && nl) {
		*p = s;
		*plen = *len = k;
		c->inoff += k + 1;
		return 1;
	}
	cp = k < HEADSIZE - c->headlen ? k : HEADSIZE - c->headlen;
	memcpy(c->head + c->headlen, s, cp);
	c->headlen += cp;
	c->partlen += k;
	c->inpart = 1;
	if (!nl) {
		c->inoff = c->inlen = 0;
		return 0;
	}
	c->inoff += k + 1;
	*p = c->head;
	*plen = c->headlen;
	*len = c->partlen;
	c->inpart = 0;
	c->headlen = c->partlen = 0;
	return 1;
}

static void
flush(struct conn *c)
{
	ssize_t w;

	while (c->outoff < c->outlen) {
		w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (w < 0) {
			if (errno == EAGAIN)
				return;
			if (errno == EINTR)
				continue;
			die("write connection %d:", (int)(c - conns));
		}
		c->outoff += (size_t)w;
	}
	c->outoff = c->outlen = 0;
}

static void
append(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outcap - c->outlen < REQMAX) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outcap - c->outlen < REQMAX)
		die("output buffer of connection %d full", (int)(c - conns));
	va_start(ap, fmt);
	n = vsnprintf(c->out + c->outlen, REQMAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= REQMAX)
		die("request longer than %d bytes", REQMAX);
	c->outlen += (size_t)n;
}

/* Wait up to the deadline (ns) for c's next line. */
static void
waitline(struct conn *c, long long deadline, const char *what,
         const char **p, size_t *plen, size_t *len)
{
	struct pollfd pfd;
	long long left;

	for (;;) {
		if (nextline(c, p, plen, len))
			return;
		pfd.fd = c->fd;
		pfd.events = POLLIN | (c->outoff < c->outlen ? POLLOUT : 0);
		if ((left = deadline - now()) <= 0)
			die("%s: no reply within %d s", what, WAITSECS);
		if (poll(&pfd, 1, (int)(left / 1000000 + 1)) < 0) {
			if (errno == EINTR)
				continue;
			die("poll:");
		}
		if (pfd.revents & POLLOUT)
			flush(c);
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR) && fill(c) < 0)
			die("%s: connection closed by the server", what);
	}
}

/* Send a request on c and wait for its one reply line. */
static void
roundtrip(struct conn *c, const char *what, const char **p, size_t *plen,
          size_t *len, const char *fmt, ...)
{
	va_list ap;
	char req[REQMAX];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(req))
		die("request longer than %d bytes", REQMAX);
	append(c, "%s", req);
	flush(c);
	waitline(c, now() + WAITSECS * NS, what, p, plen, len);
}

static unsigned long long
rnd(struct conn *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

/*
 * SET s0, s1, ... on c until n sessions exist or the table is full;
 * returns how many do.
 */
static int
prefill(struct conn *c, int n)
{
	const char *p;
	size_t plen, len;
	int i;

	for (i = 0; i < n; i++) {
		roundtrip(c, "prefill SET", &p, &plen, &len, SETFMT, i,
		          statuses[i % 3], i);
		if (startswith(p, plen, okprefix))
			continue;
		if (find(p, plen, "session table full") >= 0) {
			tablefull = 1;
			break;
		}
		badline("prefill SET", p, plen, len);
	}
	if (i == 0)
		die("prefill: not one session could be created");
	return i;
}

/* Queue one request of the mix on c; returns the lines it sent. */
static int
sendop(struct conn *c, int op, long long t)
{
	int id = (int)(rnd(c) % (unsigned)keyspace);
	unsigned slot;
	int lines = 1;

	switch (op) {
	case OP_SET:
		append(c, SETFMT, id, statuses[rnd(c) % 3], id);
		break;
	case OP_GET:
		append(c, GETFMT, id);
		break;
	case OP_LIST:
		append(c, "{\"version\":1,\"cmd\":\"LIST\"}\n");
		break;
	case OP_HOOK:
		append(c, "{\"session_id\":\"s%d\",\"transcript_path\":"
		       "\"/tmp/bench/s%d.jsonl\",\"cwd\":\"/tmp/bench/s%d\","
		       "\"permission_mode\":\"default\",%s}\n", id, id, id,
		       hooks[c->hookseq++ % LEN(hooks)]);
		append(c, GETFMT, id);
		lines = 2;
		break;
	case OP_FORMAT:
		append(c, "{\"version\":1,\"cmd\":\"FORMAT\","
		       "\"format\":\"%s\",\"raw\":true}\n", format);
		break;
	}
	slot = (c->ph + c->pn) % (unsigned)depth;
	c->pt[slot] = t;
	c->pop[slot] = (unsigned char)op;
	c->pn++;
	return lines;
}

static int
pickop(struct conn *c)
{
	int total = 0, i, r;

	for (i = 0; i < NOP; i++)
		total += weight[i];
	r = (int)(rnd(c) % (unsigned)total);
	for (i = 0; r >= weight[i]; i++)
		r -= weight[i];
	return i;
}

static void
parsemix(const char *s)
{
	char buf[sizeof(mixspec)], *tok, *colon, *end;
	long w;
	int i, total = 0;

	if (strlen(s) >= sizeof(buf))
		die("mix too long: %s", s);
	strcpy(buf, s);
	strcpy(mixspec, s);
	memset(weight, 0, sizeof(weight));
	for (tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
		w = 1;
		if ((colon = strchr(tok, ':'))) {
			*colon = '\0';
			w = strtol(colon + 1, &end, 10);
			if (*end || w < 0 || w > 1000)
				die("bad weight in mix: %s", s);
		}
		for (i = 0; i < NOP && strcmp(tok, opname[i]); i++)
			;
		if (i == NOP)
			die("unknown request in mix: %s (want set get list "
			    "hook format)", tok);
		weight[i] = (int)w;
		total += (int)w;
	}
	if (total == 0)
		die("empty mix: %s", s);
}

static void
setformat(const char *s)
{
	size_t i, n = 0;

	if (strlen(s) > FORMATMAX)
		die("FORMAT template longer than %d bytes", FORMATMAX);
	for (i = 0; s[i]; i++) {
		if ((unsigned char)s[i] < 0x20)
			die("control character in FORMAT template");
		if (s[i] == '"' || s[i] == '\\')
			format[n++] = '\\';
		format[n++] = s[i];
	}
	format[n] = '\0';
}

/* Check one reply to a request of the mix. */
static void
checkreply(int op, const char *p, size_t plen, size_t len)
{
	if (op == OP_FORMAT) {
		/* raw: bare text, whatever the state renders to */
		if (startswith(p, plen, errprefix))
			badline("FORMAT", p, plen, len);
		return;
	}
	if (!startswith(p, plen, okprefix))
		badline(op == OP_HOOK ? "GET after hook" : opname[op], p, plen,
		        len);
}

static void
requestmode(const char *label, double secs, unsigned long long nreq)
{
	struct pollfd *pfd;
	struct conn *c;
	long long t0, t, deadline, last = 0, wait;
	unsigned long long sent = 0, lines = 0, replies = 0, inflight = 0;
	const char *p;
	size_t plen, len;
	int i, running = 1, r, op;

	for (i = 0; i < nconns; i++)
		connect1(&conns[i], ROLE_REQ);
	keyspace = prefill(&conns[0], keyspace);
	if (!(pfd = calloc((size_t)nconns, sizeof(*pfd))))
		die("calloc:");

	t0 = now();
	deadline = t0 + (long long)(secs * NS);
	for (i = 0; i < nconns; i++) {
		c = &conns[i];
		while (c->pn < (unsigned)depth && (!nreq || sent < nreq)) {
			lines += (unsigned)sendop(c, pickop(c), t0);
			sent++;
			inflight++;
		}
		flush(c);
	}
	for (;;) {
		for (i = 0; i < nconns; i++) {
			pfd[i].fd = conns[i].fd;
			pfd[i].events = POLLIN;
			if (conns[i].outoff < conns[i].outlen)
				pfd[i].events |= POLLOUT;
		}
		/* wake for the deadline, and now and then to see replies stall */
		wait = running && !nreq ? deadline - now() : NS / 10;
		if (wait < 0 || wait > NS / 10)
			wait = NS / 10;
		if (poll(pfd, (nfds_t)nconns, (int)(wait / 1000000 + 1)) < 0) {
			if (errno == EINTR)
				continue;
			die("poll:");
		}
		for (i = 0; i < nconns; i++) {
			c = &conns[i];
			if (pfd[i].revents & POLLOUT)
				flush(c);
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = fill(c);
			t = now();
			while (nextline(c, &p, &plen, &len)) {
				if (c->pn == 0)
					badline("reply without a request", p, plen,
					        len);
				op = c->pop[c->ph];
				checkreply(op, p, plen, len);
				record(t - c->pt[c->ph]);
				c->ph = (c->ph + 1) % (unsigned)depth;
				c->pn--;
				inflight--;
				replies++;
				last = t;
			}
			if (r < 0)
				die("connection %d closed by the server, %u "
				    "in flight", i, c->pn);
			if (running && t >= deadline && !nreq)
				running = 0;
			while (running && c->pn < (unsigned)depth &&
			       (!nreq || sent < nreq)) {
				lines += (unsigned)sendop(c, pickop(c), t);
				sent++;
				inflight++;
			}
			flush(c);
		}
		t = now();
		if (running && (nreq ? sent >= nreq : t >= deadline))
			running = 0;
		if (!running && inflight == 0)
			break;
		if (inflight && t > (last > t0 ? last : t0) + WAITSECS * NS)
			die("%llu replies missing, none came for %d s",
			    inflight, WAITSECS);
	}
	t = last - t0;
	printf("label=%s mode=request clients=%d depth=%d mix=%s keyspace=%d "
	       "secs=%.3f requests=%llu lines=%llu rps=%.0f p50_us=%.1f "
	       "p99_us=%.1f p999_us=%.1f\n", label, nconns, depth, mixspec,
	       keyspace, (double)t / NS, replies, lines,
	       (double)lines * NS / (double)(t > 0 ? t : 1), quantile(0.50),
	       quantile(0.99), quantile(0.999));
	for (i = 0; i < nconns; i++)
		close1(&conns[i]);
	free(pfd);
}

static void
subscribe(struct conn *subs, int n)
{
	const char *p;
	size_t plen, len;
	long long deadline;
	int i;

	for (i = 0; i < n; i++) {
		connect1(&subs[i], ROLE_SUB);
		append(&subs[i], "{\"version\":1,\"cmd\":\"SUB\"}\n");
		flush(&subs[i]);
	}
	deadline = now() + WAITSECS * NS;
	for (i = 0; i < n; i++) {
		waitline(&subs[i], deadline, "SUB", &p, &plen, &len);
		if (len != plen || plen != sizeof(subreply) - 1 ||
		    memcmp(p, subreply, plen))
			badline("SUB", p, plen, len);
	}
}

/*
 * One notification line to subscriber c at time t: the next update must
 * answer a SET already published, and show its status when visible.
 * Returns 1 for an update, 0 for a line to ignore.
 */
static int
onupdate(struct conn *c, const char *p, size_t plen, size_t len, long long t,
         const long long *pubt, unsigned long published)
{
	int at;
	const char *want;

	if (!startswith(p, plen, updprefix)) {
		/* plan usage and daemon warnings may come any time */
		if (find(p, plen, "\"type\":\"usage\"") >= 0 ||
		    find(p, plen, "\"type\":\"warn\"") >= 0)
			return 0;
		badline("subscriber", p, plen, len);
	}
	if (c->nupd >= published)
		badline("update without a SET", p, plen, len);
	want = statuses[c->nupd % 2];
	if ((at = find(p, plen, "\"status\":\"")) >= 0 &&
	    !startswith(p + at + 10, plen - (size_t)at - 10, want))
		die("subscriber %d: update %lu should say %s: %.*s",
		    (int)(c - conns), c->nupd, want, (int)plen, p);
	record(t - pubt[c->nupd]);
	c->nupd++;
	return 1;
}

static void
fanoutmode(const char *label, double secs, int nsub, int rate)
{
	struct pollfd *pfd;
	struct conn *pub, *c;
	long long *pubt, t0, t, last = 0, wait;
	unsigned long npub, k = 0, acked = 0, lo, hi;
	unsigned long long received = 0;
	const char *p;
	size_t plen, len;
	int i, r, done;

	npub = (unsigned long)(secs * rate);
	if (npub < 1 || npub > PUBMAX)
		die("fan-out: %lu SETs to publish, want 1 to %d", npub,
		    PUBMAX);
	if (!(pubt = malloc(npub * sizeof(*pubt))) ||
	    !(pfd = calloc((size_t)nconns, sizeof(*pfd))))
		die("malloc:");
	depth = 64;
	pub = &conns[0];
	connect1(pub, ROLE_PUB);
	/* a known status first, so that every published SET changes it */
	roundtrip(pub, "fan-out SET", &p, &plen, &len, SETFMT, 0, "attention",
	          0);
	if (!startswith(p, plen, okprefix))
		badline("fan-out SET", p, plen, len);
	subscribe(conns + 1, nsub);

	t0 = now();
	for (;;) {
		t = now();
		while (k < npub && t0 + (long long)(k * 1e9 / rate) <= t) {
			append(pub, SETFMT, 0, statuses[k % 2], 0);
			pubt[k++] = t;
			if (pub->outcap - pub->outlen < 2 * REQMAX)
				break;
		}
		flush(pub);
		for (i = 0; i < nconns; i++) {
			pfd[i].fd = conns[i].fd;
			pfd[i].events = POLLIN;
		}
		if (pub->outoff < pub->outlen)
			pfd[0].events |= POLLOUT;
		if (k < npub)
			wait = t0 + (long long)(k * 1e9 / rate) - t;
		else
			wait = (last > t ? last : t) + WAITSECS * NS - t;
		if (wait < 0)
			wait = 0;
		wait = (wait + 999999) / 1000000;
		if (poll(pfd, (nfds_t)nconns, (int)wait) < 0) {
			if (errno == EINTR)
				continue;
			die("poll:");
		}
		for (i = 0; i < nconns; i++) {
			c = &conns[i];
			if (pfd[i].revents & POLLOUT)
				flush(c);
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = fill(c);
			t = now();
			while (nextline(c, &p, &plen, &len)) {
				if (c->role == ROLE_PUB) {
					if (acked >= k || !startswith(p, plen,
					    okprefix))
						badline("publisher SET", p, plen, len);
					acked++;
				} else {
					if (onupdate(c, p, plen, len, t, pubt, k)) {
						received++;
						last = t;
					}
				}
			}
			if (r < 0)
				die("%s %d closed by the server after "
				    "%lu of %lu updates", i ? "subscriber" :
				    "publisher", i, c->nupd, k);
		}
		if (k < npub)
			continue;
		for (done = acked == npub, i = 1; done && i < nconns; i++)
			done = conns[i].nupd == npub;
		if (done)
			break;
		if (now() > pubt[npub - 1] + WAITSECS * NS) {
			for (i = 1; i < nconns; i++)
				if (conns[i].nupd != npub)
					fprintf(stderr, "load: subscriber %d "
					        "received %lu of %lu updates\n", i,
					        conns[i].nupd, npub);
			die("fan-out: updates missing %d s after the last "
			    "SET (%lu of %lu SETs answered)", WAITSECS, acked,
			    npub);
		}
	}
	lo = hi = conns[1].nupd;
	for (i = 1; i < nconns; i++) {
		lo = conns[i].nupd < lo ? conns[i].nupd : lo;
		hi = conns[i].nupd > hi ? conns[i].nupd : hi;
	}
	t = last - t0;
	printf("label=%s mode=fanout subs=%d rate=%d published=%lu "
	       "received=%llu min=%lu max=%lu secs=%.3f ups=%.0f p50_us=%.1f "
	       "p99_us=%.1f p999_us=%.1f\n", label, nsub, rate, npub, received,
	       lo, hi, (double)t / NS, (double)received * NS /
	       (double)(t > 0 ? t : 1), quantile(0.50), quantile(0.99),
	       quantile(0.999));
	for (i = 0; i < nconns; i++)
		close1(&conns[i]);
	free(pubt);
	free(pfd);
}

/* Wait until the socket accepts a connection. */
static void
waitmode(double secs)
{
	struct sockaddr_un sa;
	struct timespec ts = { 0, 10000000 };
	long long deadline = now() + (long long)(secs * NS);
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sockpath);
	for (;;) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			die("socket:");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return;
		}
		close(fd);
		if (now() > deadline)
			die("%s accepts no connection after %.0f s:", sockpath,
			    secs);
		nanosleep(&ts, NULL);
	}
}

/*
 * Sizes of a SET reply and of an update with a full history, and of a LIST
 * once every session of the keyspace has a full history.
 */
static void
probemode(void)
{
	const char *p;
	size_t plen, len, setlen = 0, updlen = 0;
	long long deadline;
	int i, n;

	depth = 1;
	connect1(&conns[0], ROLE_REQ);
	roundtrip(&conns[0], "probe SET", &p, &plen, &len, SETFMT, 0,
	          "question", 0);
	if (!startswith(p, plen, okprefix))
		badline("probe SET", p, plen, len);
	subscribe(&conns[1], 1);
	for (i = 0; i < 12; i++) {
		roundtrip(&conns[0], "probe SET", &p, &plen, &len, SETFMT, 0,
		          statuses[i % 2], 0);
		if (!startswith(p, plen, okprefix))
			badline("probe SET", p, plen, len);
		setlen = len + 1;
	}
	deadline = now() + WAITSECS * NS;
	for (i = 0; i < 12; ) {
		waitline(&conns[1], deadline, "probe update", &p, &plen, &len);
		if (startswith(p, plen, updprefix)) {
			updlen = len + 1;
			i++;
		}
	}
	close1(&conns[1]);
	for (i = 0; i < 12 * keyspace; i++) {
		n = i % keyspace;
		roundtrip(&conns[0], "probe SET", &p, &plen, &len, SETFMT, n,
		          statuses[i / keyspace % 2], n);
		if (!startswith(p, plen, okprefix))
			badline("probe SET", p, plen, len);
	}
	roundtrip(&conns[0], "probe LIST", &p, &plen, &len,
	          "{\"version\":1,\"cmd\":\"LIST\"}\n");
	if (!startswith(p, plen, okprefix))
		badline("probe LIST", p, plen, len);
	printf("set_bytes=%zu update_bytes=%zu list_bytes=%zu\n", setlen,
	       updlen, len + 1);
	close1(&conns[0]);
}

/* VmRSS of pid in KiB, or -1. */
static long
rss(long pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void
memorymode(long pid, int nclients)
{
	const char *p;
	size_t plen, len;
	long idle, full, many;
	long long deadline;
	int i, n;

	idle = rss(pid);
	depth = 1;
	connect1(&conns[0], ROLE_REQ);
	n = prefill(&conns[0], keyspace);
	full = rss(pid);
	/*
	 * conns[0] stays, as a closed one might not be reaped in time. Every
	 * client asks once, so the daemon has accepted and served it.
	 */
	for (i = 0; i < nclients; i++) {
		if (i > 0)
			connect1(&conns[i], ROLE_REQ);
		append(&conns[i], "{\"version\":1,\"cmd\":\"STATUS\"}\n");
		flush(&conns[i]);
	}
	deadline = now() + WAITSECS * NS;
	for (i = 0; i < nclients; i++) {
		waitline(&conns[i], deadline, "STATUS", &p, &plen, &len);
		if (!startswith(p, plen, okprefix))
			badline("STATUS", p, plen, len);
	}
	many = rss(pid);
	printf("rss_idle_kb=%ld sessions=%d tablefull=%s rss_full_kb=%ld "
	       "clients=%d rss_clients_kb=%ld\n", idle, n,
	       tablefull ? "yes" : "no", full, nclients, many);
	for (i = 0; i < nclients; i++)
		close1(&conns[i]);
}

static long
number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		die("bad number %s (%ld to %ld)", s, min, max);
	return v;
}

static void
usage(void)
{
	fputs("usage: load -s socket [-l label] [-c clients] [-d depth] "
	      "[-m mix] [-k keyspace]\n"
	      "            [-F template] [-t secs | -n requests]\n"
	      "       load -s socket -f subscribers [-r rate] [-t secs]\n"
	      "       load -s socket -w secs | -P | -M pid [-C clients]\n"
	      "mix: set,get,list,hook,format with weights, e.g. "
	      "set:4,get:4,hook:2,list:1\n", stderr);
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct sigaction act;
	const char *label = "-";
	double secs = 2, waitsecs = 0;
	char *end;
	unsigned long long nreq = 0;
	long pid = 0;
	int o, nsub = 0, rate = 2000, probe = 0, nclients = 256;

	nconns = 1;
	parsemix("set:1,get:1,hook:1,format:1");
	while ((o = getopt(argc, argv, OPTIONS)) != -1) {
		switch (o) {
		case 'C': nclients = (int)number(optarg, 1, CLIENTMAX); break;
		case 'F': setformat(optarg); break;
		case 'M': pid = number(optarg, 1, LONGMAX); break;
		case 'P': probe = 1; break;
		case 'c': nconns = (int)number(optarg, 1, CLIENTMAX); break;
		case 'd': depth = (int)number(optarg, 1, DEPTHMAX); break;
		case 'f': nsub = (int)number(optarg, 1, CLIENTMAX - 1); break;
		case 'k': keyspace = (int)number(optarg, 1, KEYMAX); break;
		case 'l': label = optarg; break;
		case 'm': parsemix(optarg); break;
		case 'n':
			nreq = (unsigned long long)number(optarg, 1, LONGMAX);
			break;
		case 'r': rate = (int)number(optarg, 1, 10000000); break;
		case 's': sockpath = optarg; break;
		case 't':
		case 'w':
			secs = strtod(optarg, &end);
			if (*end || secs <= 0 || secs > 3600)
				die("bad seconds: %s", optarg);
			if (o == 'w')
				waitsecs = secs;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !sockpath)
		usage();
	if (strlen(sockpath) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		die("socket path too long: %s", sockpath);
	memset(&act, 0, sizeof(act));
	act.sa_handler = SIG_IGN;
	sigemptyset(&act.sa_mask);
	sigaction(SIGPIPE, &act, NULL);

	if (waitsecs > 0) {
		waitmode(waitsecs);
		return 0;
	}
	if (nsub)
		nconns = nsub + 1;
	if (probe)
		nconns = 2;
	if (pid)
		nconns = nclients;
	if (!(conns = calloc((size_t)nconns, sizeof(*conns))))
		die("calloc:");
	if (probe)
		probemode();
	else if (pid)
		memorymode(pid, nclients);
	else if (nsub)
		fanoutmode(label, secs, nsub, rate);
	else
		requestmode(label, secs, nreq);
	return 0;
}
