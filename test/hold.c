/* See LICENSE file for copyright and license details. */
/*
 * hold: the abuse tests' crowd. Opens N connections to the socket (each
 * sending -s LINE and a newline if given, never half-closing), prints
 * "connected N", holds them for -w milliseconds or, with -i, until its
 * standard input closes (at most -w ms), then reads what each was sent
 * without waiting and prints one line:
 *
 *     open O answered A refused R closed C
 *
 * open: the daemon still holds it (no EOF); answered: it was sent a line
 * that is not "too many clients"; refused: it was sent "too many
 * clients"; closed: the daemon closed it (EOF or reset) without refusing
 * it. Built by test.sh like sdc; needs nothing beyond POSIX.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char refusal[] =
	"{\"version\":1,\"ok\":false,\"error\":\"too many clients\"}";

static long long
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void
usage(void)
{
	fputs("usage: hold [-i] [-n conns] [-s line] [-w ms] socket\n", stderr);
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sa;
	struct rlimit rl;
	struct pollfd p;
	char buf[65536], first[128];
	const char *line = NULL;
	long nconn = 1, waitms = 1000, i;
	long open = 0, answered = 0, refused = 0, closed = 0;
	long long end;
	int *fds, opt, fromstdin = 0, eof, t;
	size_t flen;
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "in:s:w:")) != -1) {
		switch (opt) {
		case 'i': fromstdin = 1; break;
		case 'n': nconn = atol(optarg); break;
		case 's': line = optarg; break;
		case 'w': waitms = atol(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || nconn < 1)
		usage();
	/* room for the crowd, if the hard limit allows */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < nconn + 16) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		              (long)rl.rlim_max > nconn + 16 ?
		              (rlim_t)(nconn + 16) : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl); /* connect says if short */
	}
	if (!(fds = calloc((size_t)nconn, sizeof(*fds)))) {
		perror("hold: calloc");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[optind]);
	for (i = 0; i < nconn; i++) {
		if ((fds[i] = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
		    connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "hold: connect %ld: %s\n", i,
			        strerror(errno));
			return 1;
		}
		if (line) { /* a refused one may be closed already: ignore */
			(void)!write(fds[i], line, strlen(line));
			(void)!write(fds[i], "\n", 1);
		}
	}
	printf("connected %ld\n", nconn);
	fflush(stdout);

	end = now() + waitms;
	while ((t = (int)(end - now())) > 0) {
		if (!fromstdin) {
			poll(NULL, 0, t);
			continue;
		}
		p.fd = 0;
		p.events = POLLIN;
		if (poll(&p, 1, t) > 0 && read(0, buf, sizeof(buf)) <= 0)
			break;
	}

	for (i = 0; i < nconn; i++) {
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		flen = 0;
		eof = 0;
		for (;;) {
			n = read(fds[i], buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				eof = n == 0 || errno != EAGAIN;
				break;
			}
			if (flen < sizeof(first) - 1) {
				if ((size_t)n > sizeof(first) - 1 - flen)
					n = (ssize_t)(sizeof(first) - 1 - flen);
				memcpy(first + flen, buf, (size_t)n);
				flen += (size_t)n;
			}
		}
		first[flen] = '\0';
		if (!strncmp(first, refusal, sizeof(refusal) - 1))
			refused++;
		else if (eof)
			closed++;
		if (!eof)
			open++;
		if (flen > 0 && strncmp(first, refusal, sizeof(refusal) - 1))
			answered++;
		close(fds[i]);
	}
	printf("open %ld answered %ld refused %ld closed %ld\n", open,
	       answered, refused, closed);
	return 0;
}
