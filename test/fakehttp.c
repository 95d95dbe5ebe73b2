/* See LICENSE file for copyright and license details. */
/*
 * fakehttp: a one-answer HTTP/1.1 server for testing sessiond-usage.
 *
 *	fakehttp PORTFILE STATUS BODYFILE [HEADERLOG]
 *
 * Listens on 127.0.0.1 at a port the kernel picks, writes that port to
 * PORTFILE (atomically, by rename, so a reader never sees half of it) and
 * answers every connection, one at a time, with STATUS and the contents of
 * BODYFILE as application/json, then closes it. STATUS 0 closes without
 * answering. The request head is appended to HEADERLOG if given. Runs
 * until killed; a failed connection is skipped, never fatal.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODYMAX  65536  /* bytes of BODYFILE: plenty for a usage object */
#define HEADMAX  16384  /* bytes of a request head, as curl sends ~200 */
#define RESPMAX  (BODYMAX + 512) /* body plus our few header lines */

static void die(const char *, ...);
static const char *reason(int);
static int readhead(int, char *, size_t);
static void serve(int);
static int writeall(int, const char *, size_t);

static char body[BODYMAX];
static size_t bodylen;
static const char *headerlog;  /* NULL: do not log request heads */
static int status;             /* 0: close without answering */

static void
die(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	fputs("fakehttp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
	exit(1);
}

static const char *
reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default:  return "Status";
	}
}

/* Read up to the blank line ending the head; return its length or -1. */
static int
readhead(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t r;

	while (len < size - 1) {
		r = read(fd, buf + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		len += r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return len;
	}
	return -1;
}

static int
writeall(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= w;
	}
	return 0;
}

static void
serve(int fd)
{
	static char head[HEADMAX], resp[RESPMAX];
	int n, log;

	if ((n = readhead(fd, head, sizeof(head))) < 0)
		return;
	if (headerlog) {
		log = open(headerlog, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (log < 0 || writeall(log, head, n) < 0)
			die("%s:", headerlog);
		close(log);
	}
	if (status == 0)
		return;
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %lu\r\n"
	    "Connection: close\r\n"
	    "%s\r\n", status, reason(status), (unsigned long)bodylen,
	    status == 429 ? "Retry-After: 300\r\n" : "");
	if (n < 0 || (size_t)n + bodylen > sizeof(resp))
		die("response too long");
	memcpy(resp + n, body, bodylen);
	/* the client may be gone already: nothing to do about it */
	(void)writeall(fd, resp, n + bodylen);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sa;
	socklen_t salen;
	char tmp[4096];
	FILE *f;
	ssize_t r;
	int fd, lfd, n;

	if (argc < 4 || argc > 5) {
		fputs("usage: fakehttp PORTFILE STATUS BODYFILE [HEADERLOG]\n",
		    stderr);
		return 2;
	}
	status = atoi(argv[2]);
	if (status != 0 && (status < 100 || status > 999))
		die("bad status %s", argv[2]);
	if (argc == 5)
		headerlog = argv[4];

	if ((fd = open(argv[3], O_RDONLY)) < 0)
		die("%s:", argv[3]);
	while ((r = read(fd, body + bodylen, sizeof(body) - bodylen)) > 0)
		bodylen += r;
	if (r < 0)
		die("%s:", argv[3]);
	if (bodylen == sizeof(body))
		die("%s: longer than %d bytes", argv[3], BODYMAX - 1);
	close(fd);

	signal(SIGPIPE, SIG_IGN);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket:");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind:");
	if (listen(lfd, 16) < 0)
		die("listen:");
	salen = sizeof(sa);
	if (getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0)
		die("getsockname:");

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		die("%s: path too long", argv[1]);
	if (!(f = fopen(tmp, "w")))
		die("%s:", tmp);
	fprintf(f, "%u\n", (unsigned)ntohs(sa.sin_port));
	if (fclose(f) == EOF)
		die("%s:", tmp);
	if (rename(tmp, argv[1]) < 0)
		die("rename %s:", tmp);

	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept:");
		}
		serve(fd);
		close(fd);
	}
}
