/* See LICENSE file for copyright and license details. */
/*
 * sdc: the test suite's client. Sends its standard input to the socket,
 * half-closes (unless -k), and copies what comes back to standard output
 * until the daemon closes, -n lines arrived, or -w milliseconds passed.
 * Exit 0 on a clean end, 2 on timeout, 1 on errors. Built by test.sh so
 * the tests need nothing beyond a C compiler.
 */
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

static long long
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sa;
	struct pollfd p[2];
	char buf[65536], out[65536];
	long long end;
	long waitms = 5000, lines = -1, seen = 0;
	int fd, opt, keep = 0, inopen = 1, np, i, t;
	ssize_t n, w, off = 0, pend = 0;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "kn:w:")) != -1) {
		switch (opt) {
		case 'k': keep = 1; break;
		case 'n': lines = atol(optarg); break;
		case 'w': waitms = atol(optarg); break;
		default:
			fprintf(stderr, "usage: sdc [-k] [-n lines] [-w ms] socket\n");
			return 1;
		}
	}
	if (optind != argc - 1)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[optind]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("sdc: connect");
		return 1;
	}
	/* never block on either side: a daemon waiting for us to read its
	 * replies must not find us stuck writing */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	end = now() + waitms;
	while (lines < 0 || seen < lines) {
		np = 0;
		p[np].fd = fd;
		p[np++].events = POLLIN | (pend > 0 ? POLLOUT : 0);
		if (inopen && pend == 0) {
			p[np].fd = 0;
			p[np++].events = POLLIN;
		}
		t = (int)(end - now());
		if (t <= 0 || poll(p, np, t) == 0)
			return 2;
		if (np == 2 && p[1].revents) {
			n = read(0, out, sizeof(out));
			if (n <= 0) {
				inopen = 0;
				if (!keep)
					shutdown(fd, SHUT_WR);
			} else {
				pend = n;
				off = 0;
			}
		}
		if (pend > 0 && p[0].revents & POLLOUT) {
			if ((w = write(fd, out + off, pend)) < 0) {
				if (errno == EPIPE) { /* read its last words */
					pend = 0;
					inopen = 0;
				} else if (errno != EINTR && errno != EAGAIN) {
					perror("sdc: write");
					return 1;
				}
			} else {
				off += w;
				pend -= w;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			if ((n = read(fd, buf, sizeof(buf))) < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				if (errno == ECONNRESET)
					return 0;
				perror("sdc: read");
				return 1;
			}
			if (n == 0)
				return 0;
			for (i = 0; i < n; i++)
				if (buf[i] == '\n')
					seen++;
			fwrite(buf, 1, n, stdout);
			fflush(stdout);
		}
	}
	return 0;
}
