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
 * it. With -t MS each connection reads 2 KiB every MS ms while held: a
 * reader slow but never still. Built by test.sh like sdc; needs nothing
 * beyond POSIX.
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

#define FIRSTMAX 128
#define TRICKLE  2048

static const char refusal[] =
	"{\"version\":1,\"ok\":false,\"error\":\"too many clients\"}";

static long long
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Reads up to max bytes of what fd has, without waiting, keeping the first
 * ones in first (flen of them so far): 1 when the daemon closed it.
 */
static int
take(int fd, size_t max, char *first, size_t *flen)
{
	char buf[65536];
	size_t want;
	ssize_t n;

	while (max > 0) {
		want = max < sizeof(buf) ? max : sizeof(buf);
		n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 || errno != EAGAIN;
		max -= (size_t)n;
		if (*flen < FIRSTMAX - 1) {
			if ((size_t)n > FIRSTMAX - 1 - *flen)
				n = (ssize_t)(FIRSTMAX - 1 - *flen);
			memcpy(first + *flen, buf, (size_t)n);
			*flen += (size_t)n;
		}
	}
	return 0;
}

static void
usage(void)
{
	fputs("usage: hold [-i] [-n conns] [-s line] [-t ms] [-w ms] socket\n",
	      stderr);
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sa;
	struct rlimit rl;
	struct pollfd p;
	struct conn {
		int fd, eof;
		size_t flen;
		char first[FIRSTMAX];
	} *cs;
	char buf[512];
	const char *line = NULL;
	long nconn = 1, waitms = 1000, tricklems = 0, i;
	long open = 0, answered = 0, refused = 0, closed = 0;
	long long end, next;
	int opt, fromstdin = 0, t;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "in:s:t:w:")) != -1) {
		switch (opt) {
		case 'i': fromstdin = 1; break;
		case 'n': nconn = atol(optarg); break;
		case 's': line = optarg; break;
		case 't': tricklems = atol(optarg); break;
		case 'w': waitms = atol(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || nconn < 1 || tricklems < 0)
		usage();
	/* room for the crowd, if the hard limit allows */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < nconn + 16) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		              (long)rl.rlim_max > nconn + 16 ?
		              (rlim_t)(nconn + 16) : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl); /* connect says if short */
	}
	if (!(cs = calloc((size_t)nconn, sizeof(*cs)))) {
		perror("hold: calloc");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[optind]);
	for (i = 0; i < nconn; i++) {
		if ((cs[i].fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
		    connect(cs[i].fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "hold: connect %ld: %s\n", i,
			        strerror(errno));
			return 1;
		}
		if (line) { /* a refused one may be closed already: ignore */
			(void)!write(cs[i].fd, line, strlen(line));
			(void)!write(cs[i].fd, "\n", 1);
		}
		fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
	}
	printf("connected %ld\n", nconn);
	fflush(stdout);

	end = now() + waitms;
	next = tricklems ? now() + tricklems : end;
	while ((t = (int)(end - now())) > 0) {
		if (next < end && (int)(next - now()) < t)
			t = next - now() > 0 ? (int)(next - now()) : 0;
		p.fd = 0;
		p.events = POLLIN;
		if (poll(&p, fromstdin, t) > 0 && read(0, buf, sizeof(buf)) <= 0)
			break;
		if (tricklems && now() >= next) {
			for (i = 0; i < nconn; i++)
				if (!cs[i].eof)
					cs[i].eof = take(cs[i].fd, TRICKLE,
					                 cs[i].first, &cs[i].flen);
			next = now() + tricklems;
		}
	}

	for (i = 0; i < nconn; i++) {
		if (!cs[i].eof)
			cs[i].eof = take(cs[i].fd, (size_t)-1, cs[i].first,
			                 &cs[i].flen);
		cs[i].first[cs[i].flen] = '\0';
		if (!strncmp(cs[i].first, refusal, sizeof(refusal) - 1))
			refused++;
		else if (cs[i].eof)
			closed++;
		if (!cs[i].eof)
			open++;
		if (cs[i].flen > 0 &&
		    strncmp(cs[i].first, refusal, sizeof(refusal) - 1))
			answered++;
		close(cs[i].fd);
	}
	printf("open %ld answered %ld refused %ld closed %ld\n", open,
	       answered, refused, closed);
	return 0;
}
