/* See LICENSE file for copyright and license details. */
/*
 * echo: the physical limit of sessiond's design on this machine. One
 * thread, one poll() loop, a Unix socket, line framing, per-client output
 * buffers: everything sessiond does except understanding the lines.
 *
 * Every request line is answered with a fixed reply of -r bytes (the size
 * of a SET reply), a line holding "cmd":"LIST" with one of -l bytes (the
 * size of a LIST of the full table; -r when not given). A line holding
 * "cmd":"SUB" gets the "subscribed" line and makes its connection a
 * subscriber; from then on every request line from any client also sends a
 * fixed update line of -u bytes to every subscriber. Like sessiond, a raw
 * hook event (no "cmd", has "hook_event_name") gets no reply, a subscriber
 * whose buffer cannot take an update is dropped, and a client whose buffer
 * cannot take its reply is not read until it drains. Lines are matched as
 * bytes, exactly as bench/load.c writes them; nothing is parsed.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define INSIZE     65536   /* bytes of a client's input, sessiond's LINEMAX */
#define MINOUT     65536   /* least output buffer, = sessiond's RINGSIZE */
#define REPLYMAXSZ 8388608 /* largest -r, -l or -u */
#define CONNMAX    4096    /* largest -c */

struct client {
	int fd;               /* -1: slot free */
	int sub;
	int dead;
	int skip;             /* discarding the rest of an overlong line */
	size_t inlen;
	size_t outoff, outlen;
};

static void die(const char *fmt, ...);
static void drop(struct client *c);
static int find(const char *s, size_t n, const char *pat);
static void handle(struct client *c, const char *line, size_t n);
static int nonblock(int fd);
static void onsignal(int sig);
static int push(struct client *c, const char *s, size_t n);
static int process(struct client *c);
static void readclient(struct client *c);
static void writeclient(struct client *c);

static struct client *clients;
static char **inbuf, **outbuf;  /* per slot, allocated once */
static size_t outsize;          /* bytes of each output buffer */
static int maxconn = 512;
static int nconn;
static int hiwater;             /* slots from here on are free */
static int *subs, nsubs;        /* slots of the subscribers */
static char *reply, *listreply, *update;
static size_t replylen = 420, listlen, updatelen = 440, maxreply;
static const char subscribed[] = "{\"version\":1,\"ok\":true,"
                                 "\"data\":\"subscribed\"}\n";
static int sigpipe[2] = { -1, -1 };  /* self-pipe: SIGINT, SIGTERM */

static void
die(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	fputs("echo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
	exit(1);
}

static int
find(const char *s, size_t n, const char *pat)
{
	size_t m = strlen(pat), i;

	for (i = 0; i + m <= n; i++)
		if (s[i] == pat[0] && memcmp(s + i, pat, m) == 0)
			return 1;
	return 0;
}

static int
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void
onsignal(int sig)
{
	int saved = errno;

	(void)sig;
	/* the pipe is non-blocking: a full pipe already says "stop" */
	(void)write(sigpipe[1], "x", 1);
	errno = saved;
}

/* Append to c's output; 0 when it did not fit (nothing appended). */
static int
push(struct client *c, const char *s, size_t n)
{
	char *b = outbuf[c - clients];

	if (c->outlen - c->outoff + n > outsize)
		return 0;
	if (c->outlen + n > outsize) {
		memmove(b, b + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	memcpy(b + c->outlen, s, n);
	c->outlen += n;
	return 1;
}

static void
handle(struct client *c, const char *line, size_t n)
{
	int i, hook;

	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n == 0 || c->sub)
		return;
	if (find(line, n, "\"cmd\":\"SUB\"")) {
		if (!push(c, subscribed, sizeof(subscribed) - 1))
			c->dead = 1;
		c->sub = 1;
		subs[nsubs++] = (int)(c - clients);
		return;
	}
	hook = !find(line, n, "\"cmd\"") &&
	       find(line, n, "\"hook_event_name\"");
	if (!hook) {
		if (find(line, n, "\"cmd\":\"LIST\""))
			push(c, listreply, listlen);
		else
			push(c, reply, replylen);
	}
	for (i = 0; i < nsubs; i++)
		if (!clients[subs[i]].dead &&
		    !push(&clients[subs[i]], update, updatelen))
			clients[subs[i]].dead = 1;
}

/*
 * Handle the complete lines in c's input while its output has room for the
 * largest reply; the rest waits for the output to drain. Returns the lines
 * handled.
 */
static int
process(struct client *c)
{
	char *b = inbuf[c - clients], *nl;
	size_t off = 0;
	int partial = 0, lines = 0;

	while (off < c->inlen && !c->dead) {
		if (!c->sub && outsize - (c->outlen - c->outoff) < maxreply)
			break;
		if (!(nl = memchr(b + off, '\n', c->inlen - off))) {
			partial = 1;
			break;
		}
		if (c->skip)
			c->skip = 0;
		else
			handle(c, b + off, (size_t)(nl - b - off));
		off = (size_t)(nl - b) + 1;
		lines++;
	}
	if (partial && off == 0 && c->inlen == INSIZE) {
		/* an overlong line: answered once, dropped to its newline */
		if (!c->skip && !c->sub)
			push(c, reply, replylen);
		c->skip = 1;
		c->inlen = 0;
		return 1;
	}
	memmove(b, b + off, c->inlen - off);
	c->inlen -= off;
	return lines;
}

static void
drop(struct client *c)
{
	int i;

	if (c->sub) {
		for (i = 0; subs[i] != (int)(c - clients); i++)
			;
		subs[i] = subs[--nsubs];
	}
	close(c->fd);
	c->fd = -1;
	nconn--;
}

static void
readclient(struct client *c)
{
	ssize_t r;

	r = read(c->fd, inbuf[c - clients] + c->inlen, INSIZE - c->inlen);
	if (r < 0) {
		if (errno != EAGAIN && errno != EINTR)
			c->dead = 1;
		return;
	}
	if (r == 0) {
		c->dead = 1;
		return;
	}
	c->inlen += (size_t)r;
	process(c);
}

static void
writeclient(struct client *c)
{
	ssize_t w;

	if (c->outlen == c->outoff || c->dead)
		return;
	w = write(c->fd, outbuf[c - clients] + c->outoff,
	          c->outlen - c->outoff);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			c->dead = 1;
		return;
	}
	c->outoff += (size_t)w;
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
}

static char *
fixed(const char *head, size_t n)
{
	size_t hl = strlen(head), i;
	char *s;

	if (n < hl + 4 || n > REPLYMAXSZ)
		die("line size %zu out of range (%zu to %d)", n, hl + 4,
		    REPLYMAXSZ);
	if (!(s = malloc(n)))
		die("malloc:");
	memcpy(s, head, hl);
	for (i = hl; i < n - 4; i++)
		s[i] = 'x';
	memcpy(s + n - 4, "\"}}\n", 4);
	return s;
}

static size_t
size(const char *s, size_t max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || (unsigned long)v > max)
		die("bad number: %s", s);
	return (size_t)v;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sa;
	struct sigaction act;
	struct pollfd *pfd;
	struct client *c;
	int lfd, fd, i, n, o, *slot;
	const char *path = NULL;
	char x[64];

	while ((o = getopt(argc, argv, "c:l:r:s:u:")) != -1) {
		switch (o) {
		case 'c': maxconn = (int)size(optarg, CONNMAX); break;
		case 'l': listlen = size(optarg, REPLYMAXSZ); break;
		case 'r': replylen = size(optarg, REPLYMAXSZ); break;
		case 's': path = optarg; break;
		case 'u': updatelen = size(optarg, REPLYMAXSZ); break;
		default:
			fputs("usage: echo -s socket [-c maxconn] "
			      "[-r replybytes] [-l listbytes] [-u updatebytes]\n",
			      stderr);
			return 1;
		}
	}
	if (!path)
		die("-s socket is required");
	if (!listlen)
		listlen = replylen;
	maxreply = listlen > replylen ? listlen : replylen;
	reply = fixed("{\"version\":1,\"ok\":true,\"data\":"
	              "{\"session_id\":\"echo\",\"pad\":\"", replylen);
	listreply = fixed("{\"version\":1,\"ok\":true,\"data\":"
	                  "{\"session_id\":\"echo\",\"pad\":\"", listlen);
	update = fixed("{\"version\":1,\"type\":\"update\",\"session\":"
	               "{\"session_id\":\"echo\",\"pad\":\"", updatelen);
	for (outsize = MINOUT; outsize < 2 * maxreply ||
	     outsize < 2 * updatelen; outsize *= 2)
		;

	/* allocated once; pages are touched only by slots in use */
	clients = calloc((size_t)maxconn, sizeof(*clients));
	inbuf = calloc((size_t)maxconn, sizeof(*inbuf));
	outbuf = calloc((size_t)maxconn, sizeof(*outbuf));
	pfd = calloc((size_t)maxconn + 2, sizeof(*pfd));
	slot = calloc((size_t)maxconn + 2, sizeof(*slot));
	subs = calloc((size_t)maxconn, sizeof(*subs));
	if (!clients || !inbuf || !outbuf || !pfd || !slot || !subs)
		die("calloc:");
	for (i = 0; i < maxconn; i++) {
		clients[i].fd = -1;
		inbuf[i] = malloc(INSIZE);
		outbuf[i] = malloc(outsize);
		if (!inbuf[i] || !outbuf[i])
			die("malloc:");
	}

	if (pipe(sigpipe) < 0 || nonblock(sigpipe[0]) < 0 ||
	    nonblock(sigpipe[1]) < 0)
		die("pipe:");
	memset(&act, 0, sizeof(act));
	act.sa_handler = onsignal;
	sigemptyset(&act.sa_mask);
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	act.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &act, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		die("socket:");
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind %s:", path);
	if (listen(lfd, 128) < 0 || nonblock(lfd) < 0)
		die("listen %s:", path);

	for (;;) {
		pfd[0].fd = sigpipe[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = nconn < maxconn ? lfd : -1;
		pfd[1].events = POLLIN;
		for (n = 2, i = 0; i < hiwater; i++) {
			c = &clients[i];
			if (c->fd < 0)
				continue;
			pfd[n].fd = c->fd;
			pfd[n].events = c->outlen > c->outoff ? POLLOUT : 0;
			/* read only with room to answer what is buffered */
			if (c->inlen < INSIZE && c->outlen == c->outoff)
				pfd[n].events |= POLLIN;
			slot[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll:");
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLIN) {
			for (i = 0; i < maxconn && clients[i].fd >= 0; i++)
				;
			if ((fd = accept(lfd, NULL, NULL)) >= 0) {
				if (i == maxconn || nonblock(fd) < 0) {
					close(fd);
				} else {
					c = &clients[i];
					memset(c, 0, sizeof(*c));
					c->fd = fd;
					nconn++;
					if (i >= hiwater)
						hiwater = i + 1;
				}
			}
		}
		for (i = 2; i < n; i++) {
			c = &clients[slot[i]];
			if (pfd[i].revents & POLLOUT)
				writeclient(c);
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				readclient(c);
		}
		/*
		 * Flush before sleeping; lines that waited for room are
		 * handled once the output drained. The dead are closed in
		 * one place.
		 */
		for (i = 0; i < hiwater; i++) {
			c = &clients[i];
			if (c->fd < 0)
				continue;
			do
				writeclient(c);
			while (!c->dead && c->outlen == c->outoff &&
			       process(c));
			if (c->dead)
				drop(c);
		}
		while (hiwater > 0 && clients[hiwater - 1].fd < 0)
			hiwater--;
	}
	while (read(sigpipe[0], x, sizeof(x)) > 0)
		;
	unlink(path);
	free(pfd);
	free(slot);
	return 0;
}
