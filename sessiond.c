/* See LICENSE file for copyright and license details. */
/*
 * sessiond: knows what each coding-agent session on this machine is doing
 * and tells every interested program at once.
 *
 * One process, one thread, one poll() loop that owns all state: an actor
 * whose mailbox is its sockets. This file owns the loop: the socket, the
 * client slots, reading lines, flushing output, signals, timers and the
 * usage child. Each complete line goes to proto_line() and is handled to
 * completion before the next. Replies go into the client's output ring and
 * are written before poll() sleeps again; a client waits (is not read)
 * while its ring lacks room for a reply, and a subscriber whose ring
 * cannot take a notification is dropped, so nobody waits for anybody.
 * Clients are closed in one place, after a pass, from their dead flag.
 */
#ifdef __linux__
#define _GNU_SOURCE
#endif
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "sessiond.h"

#define INBUFSIZE     (LINEMAX + 2)  /* a line, its \r and one more byte */

struct client {
	int fd;               /* -1: slot free */
	int sub;              /* subscribed: only notifications go out */
	int eof;              /* the peer sent all it will */
	int dead;             /* close after this pass */
	int skip;             /* discarding the rest of an over-long line */
	size_t need;          /* not read until its ring has this much room */
	size_t inlen;
	struct ring *out;     /* its own ring, or a lent big one */
	long long lastout;    /* monotonic ms: its last write, or lending */
	long long lentat;     /* monotonic ms: a big ring was lent to it */
	long long lastin;     /* monotonic ms: its last request, or connect */
};

static void accepting(void);
static void fdroom(void);
static struct client *quietest(void);
static long long moved(const struct client *c);
static int evictquiet(void);
static void broadcast(const char *p, size_t n);
static void cleanup(void);
static int lockstate(void);
static void stoplistening(void);
static int lockfile(const char *lp, int *fd);
static void compact(int wait);
static void endsync(int wait);
static int flushjournal(void);
static void envnow(struct proto_env *env);
static void tick(void);
static long long idleat(void);
static void load(void);
static void closeclient(struct client *c);
static void die(const char *fmt, ...);
static void flush(struct client *c);
static int handle(struct client *c, struct proto_env *env, const char *line,
                  size_t len, int toolong);
static long memkb(void);
static long long monotonic(void);
static void onsignal(int sig);
static int bigavail(void);
static int lendbig(struct client *c);
static int peerok(int fd);
static void persist(void);
static void persistfailed(const char *what);
static void giveback(struct client *c);
static int progress(struct client *c);
static void pass(void);
static void readclient(struct client *c);
static void readlines(struct client *c);
static void readsignals(void);
static void readusage(void);
static void reapusage(void);
static void run(void);
static void setup(void);
static int setfdflags(int fd);
static int sockpath(const char *opt);
static int absolute(char *out, size_t size, const char *p, int len,
                    const char *suffix);
static void startusage(void);
static void statepath(const char *opt, int defsock);
static void usage(void);
static void usagedone(void);
static void vwarn(const char *fmt, va_list ap);
static void warn(const char *fmt, ...);
static void warnall(const char *msg);
static int writeall(int fd, const char *p, size_t n);

static struct client clients[MAXCLIENTS];
static struct ring rings[MAXCLIENTS];
static char ringbuf[MAXCLIENTS][RINGSIZE];
static char inbuf[MAXCLIENTS][INBUFSIZE];
static struct ring bigrings[BIGRINGS];
static char bigbuf[BIGRINGS][BIGRINGSIZE];
static int bigused[BIGRINGS];
static int live[MAXCLIENTS];         /* indices of slots in use */
static int nlive;
static int subs[MAXCLIENTS];         /* indices of subscribed slots */
static int nsubs;
/* what polls beside the clients: pclient's values other than a slot */
enum { PSIGNAL = -1, PLISTEN = -2, PUSAGE = -3, NPOLLOTHERS = 3 };
static struct pollfd pfds[MAXCLIENTS + NPOLLOTHERS];
static int pclient[MAXCLIENTS + NPOLLOTHERS]; /* pfds index -> slot */

static const char version[] = "sessiond-" VERSION "\n";
/* a file name past its buffer (shown cut short), or relative without a
 * current directory to put before it */
static const char toolong[] = "%s: name too long";
static const char nocwd[] = "%s: name too long, or no current directory";

static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int listenfd = -1;
static int lockfd = -1;
static char lockpath[sizeof(path) + 8]; /* the socket's, PATH.lock */
static struct stat sockid, lockid;   /* what path and lockpath were */
static int statelockfd = -1;
static int sigpipe[2] = { -1, -1 };
static volatile sig_atomic_t gotsignal;
static int stopping;                 /* shut down once replies are out */
static long long started;            /* monotonic ms */
static long long lastbusy;           /* last time a subscriber listened */
static long long sessbusy;           /* proto_busyuntil(), kept */
static long long loopms;             /* monotonic ms, read each loop pass */
static long long loopwallms;         /* wall-clock ms, read with loopms */
static long long loopwall;           /* and in seconds */
static int busystale = 1;            /* sessbusy may be too late: scan */
static long long acceptpause;        /* listener rests until then */
static long long acceptwarned;       /* when EMFILE was last said */
static long idlesecs = IDLESECS;     /* -t; 0: never stop */
static int waitbig;                  /* some client waits for a big ring */
static int bigfreed;                 /* a big ring was given back */

static char statefile[PATH_MAX];     /* "": no state file */
static char statetmp[PATH_MAX + 8];  /* its snapshot before it is FILE */
static char loadbuf[RECMAX + 2];     /* a state file line, or a chunk */
static int persisting;               /* the state file is ours to write */
static long long persistretry;       /* monotonic ms */
static int journalfd = -1;
static size_t journalsize;           /* bytes in the state file */
static pid_t syncpid = -1;           /* a child syncing FILE.tmp */
static int syncfd = -1;              /* FILE.tmp, the snapshot and after */
static size_t syncsize;              /* bytes in FILE.tmp */
static size_t syncfrom;              /* from this offset of the old file */
static int compactdue;               /* another snapshot once it is in */
static int compactretry;             /* a write failed: retry a snapshot */

static const char usagedef[] = USAGECMD;
static const char *usagecmd = usagedef;
static char usagebeside[PATH_MAX];   /* USAGECMD beside sessiond */
static long usageinterval = USAGEINTERVAL;
static pid_t usagepid = -1;
static int usagefd = -1;
static char usageout[USAGEMAX + 1];
static size_t usagelen;
static int usageover;                /* output exceeded USAGEMAX */
static int usagestatus;              /* its wait status, once reaped */
static int usagekilled;
static long long usagekill;          /* monotonic ms: kill it then */
static long long usagenext;          /* monotonic ms: next fetch due */
static int usagefails;               /* fetches failed in a row */
static int usageretried;             /* ... a hook's retry since a success */

/* "sessiond: " and the message; one ending in ':' gets errno's text. */
static void
vwarn(const char *fmt, va_list ap)
{
	int saved = errno;

	fputs("sessiond: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputs("\n", stderr);
	errno = saved;
}

static void
warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(1);
}

static long long
monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Resident memory, for STATUS; only asked when a client wants it. */
static long
memkb(void)
{
	struct rusage ru;
	char buf[128];
	long pages, rss;
	int fd;
	ssize_t n;

	if ((fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (sscanf(buf, "%ld %ld", &pages, &rss) == 2)
				return rss * (sysconf(_SC_PAGESIZE) / 1024);
		}
	}
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1;
#ifdef __APPLE__
	return ru.ru_maxrss / 1024;
#else
	return ru.ru_maxrss;
#endif
}

static void
onsignal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	gotsignal = 1;
	(void)!write(sigpipe[1], &b, 1); /* a full pipe already wakes us */
	errno = saved;
}

static int
setfdflags(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

/* 1 when the peer runs as our uid. */
static int
peerok(int fd)
{
#ifdef __linux__
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	return cred.uid == geteuid();
#else
	uid_t uid;
	gid_t gid;

	if (getpeereid(fd, &uid, &gid) < 0)
		return 0;
	return uid == geteuid();
#endif
}

/*
 * The first len bytes of p (len < 0: all), made absolute since -d changes
 * directory, then suffix, into out: -1 when too long, or when the current
 * directory cannot be had.
 */
static int
absolute(char *out, size_t size, const char *p, int len, const char *suffix)
{
	char cwd[PATH_MAX];
	int n;

	if (p[0] == '/')
		cwd[0] = '\0';
	else if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	n = snprintf(out, size, "%s%s%.*s%s", cwd, cwd[0] ? "/" : "", len, p,
	             suffix);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* First that is set: -s, $SESSIOND_SOCKET, $XDG_RUNTIME_DIR, $TMPDIR. */
static int
sockpath(const char *opt)
{
	char def[sizeof(path)], dir[sizeof(path)], *slash;
	const char *env, *tmp, *rel = def;
	struct stat sb;
	int n, shared;

	env = getenv("XDG_RUNTIME_DIR");
	/* an empty XDG_RUNTIME_DIR is unset: the default is then in $TMPDIR */
	if (!(shared = !env || !env[0])) {
		n = snprintf(def, sizeof(def), "%s/sessiond.sock", env);
	} else {
		tmp = getenv("TMPDIR");
		n = snprintf(def, sizeof(def), "%s/sessiond-%lu/sessiond.sock",
		             tmp && tmp[0] ? tmp : "/tmp",
		             (unsigned long)geteuid());
	}
	if (n < 0 || (size_t)n >= sizeof(def))
		die(toolong, def);
	if (opt && opt[0])
		rel = opt;
	else if ((env = getenv("SESSIOND_SOCKET")) && env[0])
		rel = env;
	/* absolute, so -d's chdir and STATUS's socket_path agree */
	if (absolute(path, sizeof(path), rel, -1, "") < 0)
		die(nocwd, rel);
	/* a missing last directory is made private; a shared one refused */
	memcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			die("mkdir %s:", dir);
		if (shared && !strcmp(path, def) &&
		    (lstat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode) ||
		     sb.st_uid != geteuid() || (sb.st_mode & 077)))
			die("%s must be a directory of ours with mode 0700", dir);
	}
	return !strcmp(path, def);
}

/*
 * A soft descriptor limit below MAXCLIENTS is raised, as far as the hard
 * one allows: else accept() fails first, and a full daemon never gets to
 * make room for a newcomer.
 */
static void
fdroom(void)
{
	struct rlimit rl;
	rlim_t want = MAXCLIENTS + FDSPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ?
	              rl.rlim_max : want;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * Opens lp (created if missing) into *fd and takes its write lock: 0, or
 * -1 when another process holds it (*fd stays open, for a look inside).
 */
static int
lockfile(const char *lp, int *fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if ((*fd = open(lp, O_RDWR | O_CREAT, 0600)) < 0)
		die("open %s:", lp);
	if (fcntl(*fd, F_SETFD, FD_CLOEXEC) < 0)
		die("fcntl:");
	if (fcntl(*fd, F_SETLK, &fl) == 0)
		return 0;
	if (errno != EAGAIN && errno != EACCES)
		die("lock %s:", lp);
	return -1;
}

/*
 * Asks the daemon holding fd's lock to stop, once (*asked): it served
 * our socket, which was deleted. -1 when there is none to ask.
 */
static int
askstop(int fd, pid_t *asked)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_pid <= 0)
		return -1;
	if (fl.l_pid != *asked) {
		warn("%s was deleted: stopping pid %ld, which served it", path,
		     (long)fl.l_pid);
		kill(fl.l_pid, SIGTERM);
		*asked = fl.l_pid;
	}
	return 0;
}

/* 1 when p still names the file *id was taken of. */
static int
isours(const char *p, const struct stat *id)
{
	struct stat sb;

	return lstat(p, &sb) == 0 && sb.st_dev == id->st_dev &&
	       sb.st_ino == id->st_ino;
}

/*
 * Takes the lock beside the socket (held for life, so two daemons cannot
 * both decide a socket is stale), then binds. A socket file that answers
 * belongs to a running daemon; one that refuses was left by a crash. A
 * daemon that is stopping has let go of its socket but not yet written
 * its state: it is waited for, up to STOPWAITMS. So is one whose socket
 * file was deleted under it, after being asked to stop: nobody can reach
 * it, and it holds the lock and the state.
 */
static void
setup(void)
{
	struct sockaddr_un sa;
	struct stat sb;
	char word[9];
	mode_t mask;
	int fd, saved, waited;
	pid_t asked = 0;
	ssize_t n;

	snprintf(lockpath, sizeof(lockpath), "%s.lock", path);
	for (waited = 0; ; waited += 10) {
		if (lockfile(lockpath, &lockfd) == 0) {
			/* a stopper unlinks its lock last: ours must be there */
			if (fstat(lockfd, &lockid) == 0 &&
			    isours(lockpath, &lockid))
				break;
		} else if (waited >= STOPWAITMS || gotsignal) {
			die("already running on %s", path);
		} else if ((n = pread(lockfd, word, 9, 0)) < 1 ||
		           (word[0] != 's' && (n < 9 || word[8] != 's'))) {
			/* not stopping (an older sessiond says so at 0): it
			 * runs, listening, yet is its socket gone? */
			if (n < 1 || word[0] != 'r' ||
			    lstat(path, &sb) == 0 || errno != ENOENT ||
			    askstop(lockfd, &asked) < 0)
				die("already running on %s", path);
		}
		close(lockfd);
		poll(NULL, 0, 10);
	}
	if (ftruncate(lockfd, 0) < 0) /* a killed stopper's word */
		die("truncate %s:", lockpath);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			die("%s exists and is not a socket", path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			die("socket:");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			die("already running on %s", path);
		saved = errno;
		close(fd);
		if (saved != ECONNREFUSED && saved != ENOENT) {
			errno = saved;
			die("connect %s:", path);
		}
		if (unlink(path) < 0 && errno != ENOENT)
			die("unlink %s:", path);
	}

	if ((listenfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		die("socket:");
	mask = umask(0177);
	if (bind(listenfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		saved = errno;
		umask(mask);
		if (saved == EADDRINUSE)
			die("already running on %s", path);
		errno = saved;
		die("bind %s:", path);
	}
	umask(mask);
	if (lstat(path, &sockid) < 0 || chmod(path, 0600) < 0 ||
	    listen(listenfd, SOMAXCONN) < 0 || setfdflags(listenfd) < 0) {
		saved = errno;
		unlink(path);
		errno = saved;
		die("listen %s:", path);
	}
	/* at 0, for newcomers: the socket is there (or was deleted) */
	(void)!write(lockfd, "running\n", 8);
}

/*
 * Locks the state file (FILE.lock): 0 when another daemon, on another
 * socket, keeps it, and this one then keeps none rather than both writing
 * over each other. Held until the state is written for the last time.
 */
static int
lockstate(void)
{
	char lp[sizeof(statefile) + 8];

	if ((size_t)snprintf(lp, sizeof(lp), "%s.lock", statefile) >= sizeof(lp))
		die(toolong, lp);
	if (lockfile(lp, &statelockfd) == 0)
		return 1;
	warn("%s is kept by another sessiond: sessions are not kept",
	     statefile);
	close(statelockfd);
	statelockfd = -1;
	statefile[0] = '\0';
	return 0;
}

/*
 * Closes the socket, after taking in its backlog: a hook that got in has
 * written its event and gone. The lock stays, and says "stopping": a
 * newcomer waits for it (and so for the state file) instead of giving up.
 */
static void
stoplistening(void)
{
	if (listenfd < 0)
		return;
	/* at 8, after "running": a newcomer seeing no socket waits */
	(void)!write(lockfd, "stopping\n", 9);
	/* no connect between the last accept and the close; a socket made
	 * since by another daemon, where ours was deleted, is not ours */
	if (isours(path, &sockid))
		unlink(path);
	accepting();
	close(listenfd);
	listenfd = -1;
}

static void
cleanup(void)
{
	stoplistening();
	if (lockfd >= 0) {
		/* before the lock goes: a newcomer locks a new file, never
		 * this one */
		if (isours(lockpath, &lockid))
			unlink(lockpath);
		close(lockfd);
		lockfd = -1;
	}
	if (usagepid > 0) {
		kill(-usagepid, SIGKILL);
		waitpid(usagepid, NULL, 0);
		usagepid = -1;
	}
}

static void
closeclient(struct client *c)
{
	int i, slot = (int)(c - clients);

	close(c->fd);
	c->fd = -1;
	acceptpause = 0; /* a descriptor came free: EMFILE may be over */
	if (c->out != &rings[slot]) {
		bigused[c->out - bigrings] = 0;
		bigfreed = 1;
	}
	for (i = 0; c->sub && i < nsubs; i++) {
		if (subs[i] == slot) {
			subs[i] = subs[--nsubs];
			break;
		}
	}
	for (i = 0; i < nlive; i++) {
		if (live[i] == slot) {
			live[i] = live[--nlive];
			break;
		}
	}
}

/*
 * Writes what the kernel takes; the rest waits for POLLOUT. The journal
 * is written first: while it works, no reply or update tells of a change
 * that a crash would lose. A failed write warns subscribers, which comes
 * back here, but by then it has dropped what was due.
 */
static void
flush(struct client *c)
{
	const char *p;
	size_t n;
	ssize_t w;

	if (proto_journaldue())
		persist();
	while (!c->dead && (n = ring_peek(c->out, &p)) > 0) {
		if ((w = write(c->fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno != EPIPE && errno != ECONNRESET)
				warn("write:");
			c->dead = 1;
			break;
		}
		ring_consume(c->out, (size_t)w);
		c->lastout = loopms;
	}
}

/* How many big rings are free. */
static int
bigavail(void)
{
	int i, n = 0;

	for (i = 0; i < BIGRINGS; i++)
		n += !bigused[i];
	return n;
}

/* Moves a client's queued output into a free big ring, if there is one. */
static int
lendbig(struct client *c)
{
	const char *p;
	size_t n;
	int i;

	if (c->out != &rings[c - clients])
		return -1;
	for (i = 0; i < BIGRINGS && bigused[i]; i++)
		;
	if (i == BIGRINGS)
		return -1;
	bigused[i] = 1;
	ring_init(&bigrings[i], bigbuf[i], BIGRINGSIZE);
	while ((n = ring_peek(c->out, &p)) > 0) {
		ring_push(&bigrings[i], p, n);
		ring_consume(c->out, n);
	}
	c->out = &bigrings[i];
	c->lastout = c->lentat = loopms;
	return 0;
}

/* Delivers one rendered notification to every subscriber. */
static void
broadcast(const char *p, size_t n)
{
	struct client *c;
	int i;

	for (i = 0; i < nsubs; i++) {
		c = &clients[subs[i]];
		if (c->dead)
			continue;
		if (ring_free(c->out) < n)
			flush(c);
		/* a burst: room to catch up, if a big ring stays for replies */
		if (!c->dead && ring_free(c->out) < n && bigavail() >= 2)
			lendbig(c);
		if (!c->dead && ring_push(c->out, p, n) < 0) {
			warn("subscriber too slow, dropped");
			c->dead = 1;
		}
	}
}

/* When the idle stop is due, by what is known of the sessions. */
static long long
idleat(void)
{
	return (sessbusy > lastbusy ? sessbusy : lastbusy) + idlesecs * 1000LL;
}

/*
 * Reads both clocks. Once per loop pass: every request of a pass has the
 * same time, and a pass of many requests reads them once, not per read.
 */
static void
tick(void)
{
	struct timespec ts;

	loopms = monotonic();
	clock_gettime(CLOCK_REALTIME, &ts);
	loopwallms = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	loopwall = ts.tv_sec;
}

/* The environment of a request: the pass's clocks, the counts of now. */
static void
envnow(struct proto_env *env)
{
	memset(env, 0, sizeof(*env));
	env->mono = loopms;
	env->wallms = loopwallms;
	env->wall = loopwall;
	env->started = started;
	env->connections = nlive;
	env->subscribers = nsubs;
	env->sockpath = path;
	env->memkb = memkb;
}

/*
 * Runs one line; PROTO_AGAIN when the reply must wait for room. The lines
 * of one read share env's clock.
 */
static int
handle(struct client *c, struct proto_env *env, const char *line,
       size_t len, int toolong)
{
	struct proto_out o;
	int r, sndbuf = SUBSNDBUF;

	env->connections = nlive;
	env->subscribers = nsubs;
	memset(&o, 0, sizeof(o));
	o.room = ring_free(c->out);
	if (ring_len(c->out) == 0 && c->out == &rings[c - clients] &&
	    bigavail())
		o.room = BIGRINGSIZE; /* a big reply is rendered only once */
	o.bufcap = ring_space(c->out, &o.buf); /* no copy, when it fits */
	r = toolong ? proto_toolong(env, &o, line, len) :
	    proto_line(env, &o, line, len);
	busystale |= o.calmer;
	c->lastin = loopms;
	if (r == PROTO_AGAIN) {
		c->need = o.need;
		return r;
	}
	if (o.replylen && o.reply == o.buf) {
		ring_commit(c->out, o.replylen);
	} else if (o.replylen) {
		if (o.replylen > ring_free(c->out))
			lendbig(c);
		if (ring_push(c->out, o.reply, o.replylen) < 0)
			c->dead = 1; /* the room was checked: cannot happen */
	}
	if (o.notelen)
		broadcast(o.note, o.notelen);
	if (proto_journaldue() == 2)
		persist();
	if (o.subscribe && !c->sub) {
		c->sub = 1;
		/* more slack in the kernel for bursts; it caps the size */
		(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
		                 sizeof(sndbuf));
		subs[nsubs] = (int)(c - clients);
		if (nsubs++ == 0 && proto_usagestale(env->wall, usageinterval))
			usagenext = env->mono;
	}
	if (o.stop)
		stopping = 1;
	/* one early retry, not one per hook: the endpoint rate-limits */
	if (o.usagewanted && usagefails && !usageretried && nsubs > 0) {
		usageretried = 1;
		usagenext = env->mono;
	}
	return PROTO_DONE;
}

/* Handles every complete line in the input buffer, in order. */
static void
readlines(struct client *c)
{
	struct proto_env env;
	char *buf = inbuf[c - clients], *nl;
	size_t off = 0, len, end;

	envnow(&env);
	while (!c->dead && !c->need && off < c->inlen) {
		if (c->sub) { /* a listener's input is ignored */
			off = c->inlen;
			break;
		}
		nl = memchr(buf + off, '\n', c->inlen - off);
		if (c->skip) {
			if (!nl) {
				off = c->inlen;
				break;
			}
			c->skip = 0;
			off = (size_t)(nl - buf) + 1;
			continue;
		}
		if (!nl && c->inlen - off < INBUFSIZE && !c->eof)
			break; /* wait for the rest */
		end = nl ? (size_t)(nl - buf) : c->inlen;
		len = end - off;
		if (len > 0 && buf[off + len - 1] == '\r')
			len--;
		if (len > LINEMAX) {
			if (handle(c, &env, buf + off, LINEMAX, 1) == PROTO_AGAIN)
				break;
			c->skip = !nl && !c->eof;
		} else if (len > 0 && ((unsigned char)buf[off] > ' ' ||
		           !json_blank(buf + off, len)) && /* blank: ignored */
		           handle(c, &env, buf + off, len, 0) == PROTO_AGAIN) {
			break;
		}
		off = nl ? end + 1 : c->inlen;
	}
	if (off > 0) {
		memmove(buf, buf + off, c->inlen - off);
		c->inlen -= off;
	}
}

static void
readclient(struct client *c)
{
	ssize_t r;

	r = read(c->fd, inbuf[c - clients] + c->inlen, INBUFSIZE - c->inlen);
	if (r < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno != ECONNRESET)
			warn("read:");
		c->dead = 1;
		return;
	}
	if (r == 0) {
		c->eof = 1; /* a subscriber may half-close and listen on */
		if (c->skip) { /* the end of an over-long last line */
			c->skip = 0;
			c->inlen = 0;
		}
	}
	c->inlen += (size_t)r;
	readlines(c);
}

/* A drained big ring goes back to the pool at once, for whoever waits. */
static void
giveback(struct client *c)
{
	int slot = (int)(c - clients);

	if (c->out != &rings[slot] && ring_len(c->out) == 0) {
		bigused[c->out - bigrings] = 0;
		c->out = &rings[slot];
		bigfreed = 1;
	}
}

/*
 * Moves a waiting client on once its ring has room: lends it a big ring
 * when its reply is larger than its own, and marks it dead when it has
 * sent and been sent everything. 1: it read on.
 */
static int
progress(struct client *c)
{
	if (c->dead)
		return 0;
	giveback(c);
	if (c->need && c->need > c->out->size && ring_len(c->out) == 0 &&
	    lendbig(c) < 0) {
		waitbig = 1;
		return 0;
	}
	if (c->need && ring_free(c->out) >= c->need) {
		c->need = 0;
		readlines(c);
		return 1;
	}
	if (c->eof && !c->sub && !c->need && !c->skip && c->inlen == 0 &&
	    ring_len(c->out) == 0)
		c->dead = 1; /* all said both ways; a subscriber listens on */
	return 0;
}

/*
 * Before sleeping: write every ring, and move on each client whose
 * waiting is over, as long as that frees room (its input is bounded).
 * Each write is followed by a look at the waiting: a client that reads
 * on another CPU can empty its ring in a later write, and a client left
 * waiting with an empty ring would be polled for nothing, and stall.
 */
static void
pass(void)
{
	struct client *c;
	int i;

	persist(); /* also what no reply tells: hook events */
	bigfreed = waitbig = 0;
	for (i = 0; i < nlive; i++) {
		c = &clients[live[i]];
		do {
			if (ring_len(c->out) > 0)
				flush(c);
		} while (progress(c) && !c->dead);
		giveback(c);
	}
}

static void
accepting(void)
{
	struct client *c;
	static const char full[] =
		"{\"version\":1,\"ok\":false,\"error\":\"too many clients\"}\n";
	char drain[4096];
	int fd, i, slot, n;

	for (i = 0; i < MAXCLIENTS; i++) {
		if ((fd = accept(listenfd, NULL, NULL)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				if (evictquiet())
					continue; /* its descriptor is free */
				/* once a pause at most, not once a close */
				if (loopms >= acceptwarned + ACCEPTPAUSEMS) {
					warn("accept:");
					acceptwarned = loopms;
				}
				acceptpause = loopms + ACCEPTPAUSEMS;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				warn("accept:");
			}
			return;
		}
		if (setfdflags(fd) < 0 || !peerok(fd)) {
			close(fd);
			continue;
		}
		if (nlive == MAXCLIENTS && !evictquiet()) {
			/* best effort; unread input would reset the reply away */
			(void)!write(fd, full, sizeof(full) - 1);
			shutdown(fd, SHUT_WR);
			for (n = 0; n < 4 && read(fd, drain, sizeof(drain)) > 0; n++)
				;
			close(fd);
			continue;
		}
		for (slot = 0; clients[slot].fd >= 0; slot++)
			;
		c = &clients[slot];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		ring_init(&rings[slot], ringbuf[slot], RINGSIZE);
		c->out = &rings[slot];
		c->lastin = loopms;
		live[nlive++] = slot;
	}
}

/*
 * The client quiet longest, if for IDLECLIENTMS: when the daemon is full
 * (or out of descriptors), a leaked, stuck or hostile connection makes
 * room, so that hooks get in. Quiet: no request made and no output taken,
 * as a client that never reads or sends a byte now and then. Subscribers
 * stay: they are quiet by nature, and those that cannot keep up go.
 */
static struct client *
quietest(void)
{
	struct client *c, *q = NULL;
	long long t, qt = LLONG_MAX;
	int i;

	for (i = 0; i < nlive; i++) {
		c = &clients[live[i]];
		t = moved(c);
		if (!c->sub && !c->dead && loopms - t >= IDLECLIENTMS && t < qt) {
			q = c;
			qt = t;
		}
	}
	return q;
}

/* Its last request, or output it took: a trickle of bytes is neither. */
static long long
moved(const struct client *c)
{
	return c->lastin > c->lastout ? c->lastin : c->lastout;
}

/* Closes the quietest client, if one is quiet enough: 0 if none is. */
static int
evictquiet(void)
{
	struct client *c;

	if (!(c = quietest()))
		return 0;
	warn("too many clients: one quiet for %lld s closed",
	     (loopms - moved(c)) / 1000);
	closeclient(c);
	return 1;
}

static void
readsignals(void)
{
	unsigned char b[64];
	ssize_t n, i;

	while ((n = read(sigpipe[0], b, sizeof(b))) > 0)
		for (i = 0; i < n; i++)
			if (b[i] == SIGTERM || b[i] == SIGINT)
				stopping = 1;
	gotsignal = 0;
	reapusage();
	if (syncpid > 0)
		endsync(0);
}

/* Tells the subscribers about a daemon-side problem. */
static void
warnall(const char *msg)
{
	struct proto_out o;

	memset(&o, 0, sizeof(o));
	proto_warn(&o, msg);
	if (o.notelen)
		broadcast(o.note, o.notelen);
}

/*
 * The state file: -S, else $XDG_STATE_HOME/sessiond/ (~/.local/state):
 * "state" for the default socket, "state-HASH" for another one, so that
 * daemons on other sockets keep apart.
 */
static void
statepath(const char *opt, int defsock)
{
	char dir[PATH_MAX];
	const char *env, *home;
	unsigned long long h = 14695981039346656037ULL;
	const char *p;
	size_t i;
	int n;

	if (opt) {
		if (!opt[0])
			return; /* -S '': no state file */
		if (absolute(statefile, sizeof(statefile), opt, -1, "") < 0)
			die(nocwd, opt);
		return;
	}
	if ((env = getenv("XDG_STATE_HOME")) && env[0] == '/') {
		n = snprintf(dir, sizeof(dir), "%s/sessiond", env);
	} else if ((home = getenv("HOME")) && home[0] == '/') {
		n = snprintf(dir, sizeof(dir), "%s/.local/state/sessiond", home);
	} else {
		warn("no $HOME: sessions are not kept across restarts");
		return;
	}
	if (n < 0 || (size_t)n >= sizeof(dir))
		die(toolong, dir);
	/* create missing parents too; ours is private */
	for (i = 1; dir[i]; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			die("mkdir %s:", dir);
		dir[i] = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		die("mkdir %s:", dir);
	for (p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	if (defsock)
		n = snprintf(statefile, sizeof(statefile), "%s/state", dir);
	else
		n = snprintf(statefile, sizeof(statefile), "%s/state-%016llx",
		             dir, h);
	if (n < 0 || (size_t)n >= sizeof(statefile))
		die(toolong, statefile);
}

/*
 * Reads the state file before the loop. A torn last line (a crash
 * mid-write) is ignored; other bad lines are skipped with a warning and
 * the file is kept as FILE.bad; a file that cannot be read is left alone
 * and nothing is written over it.
 */
static void
load(void)
{
	struct proto_env env;
	struct stat sb;
	char *nl, badfile[sizeof(statefile) + 8];
	size_t len = 0, off;
	ssize_t r;
	long lineno = 0, bad = 0;
	int fd, skipping = 0, res;

	if (!statefile[0])
		return;
	if ((fd = open(statefile, O_RDONLY | O_NONBLOCK)) < 0) {
		if (errno == ENOENT) {
			persisting = 1;
			return;
		}
		warn("%s: not loaded, not written:", statefile);
		return;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		warn("%s: not a regular file: not loaded, not written",
		     statefile);
		close(fd);
		return;
	}
	envnow(&env);
	for (;;) {
		r = read(fd, loadbuf + len, sizeof(loadbuf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			warn("%s: not loaded, not written:", statefile);
			close(fd);
			return;
		}
		if (r == 0)
			break; /* what is left has no newline: torn, ignored */
		len += (size_t)r;
		for (off = 0; (nl = memchr(loadbuf + off, '\n', len - off)); ) {
			lineno++;
			if (!skipping &&
			    !json_blank(loadbuf + off, (size_t)(nl - loadbuf) - off)) {
				res = proto_restore(&env, loadbuf + off,
				                    (size_t)(nl - loadbuf) - off);
				if (res == -1) {
					warn("%s:%ld: bad record skipped", statefile,
					     lineno);
					bad++;
				} else if (res == -2) {
					warn("%s:%ld: session table full", statefile,
					     lineno);
				}
			}
			skipping = 0;
			off = (size_t)(nl - loadbuf) + 1;
		}
		memmove(loadbuf, loadbuf + off, len - off);
		len -= off;
		if (len == sizeof(loadbuf)) { /* longer than any record */
			if (!skipping) {
				warn("%s:%ld: bad record skipped", statefile,
				     lineno + 1);
				bad++;
			}
			skipping = 1;
			len = 0;
		}
	}
	close(fd);
	proto_loaded(&env, STALESECS);
	if (bad) {
		/* a second name: FILE stays until the snapshot replaces it,
		 * or a crash before that would leave no file at all; where
		 * the file system has no links, a new name at least keeps it */
		snprintf(badfile, sizeof(badfile), "%s.bad", statefile);
		unlink(badfile); /* the newest damage is the one kept */
		if (link(statefile, badfile) < 0 &&
		    rename(statefile, badfile) < 0)
			warn("rename %s:", badfile);
		else
			warn("the damaged file was kept as %s", badfile);
	}
	persisting = 1;
}

static int
writeall(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * A write of the state file failed (what, for why): said once until it
 * works again, told to subscribers each time; a snapshot is retried.
 */
static void
retrylater(const char *what, const char *why)
{
	char msg[sizeof(statefile) + 256];

	snprintf(msg, sizeof(msg), "state file %s: %s failed: %s; %s",
	         statefile, what, why,
	         stopping ? "left as it was" : "retrying");
	if (!compactretry || stopping) /* the last word, if stopping */
		warn("%s", msg);
	compactretry = 1;
	persistretry = monotonic() + RETRYSECS * 1000LL;
	warnall(msg);
}

/* The journal failed (errno says why): closed until a snapshot is in. */
static void
persistfailed(const char *what)
{
	retrylater(what, strerror(errno));
	if (journalfd >= 0) {
		close(journalfd);
		journalfd = -1;
	}
}

/* A snapshot that will not be FILE: closed, removed, retried. */
static void
dropsnapshot(int fd, const char *what, const char *why)
{
	close(fd);
	unlink(statetmp);
	retrylater(what, why);
}

/*
 * The synced snapshot becomes FILE, and fd, open on it, the journal:
 * a crash leaves either the old file or the new one.
 */
static void
install(int fd, size_t size)
{
	if (rename(statetmp, statefile) < 0) {
		dropsnapshot(fd, "rename", strerror(errno));
		return;
	}
	if (journalfd >= 0)
		close(journalfd);
	journalfd = fd;
	journalsize = size;
	if (compactretry) {
		warn("state file %s: written again", statefile);
		compactretry = 0;
	}
}

/*
 * fork() with SIGINT, SIGTERM and SIGCHLD held, so that none runs our
 * handler, which writes to the daemon's self-pipe, in the child: the
 * child sets its own handling and then restores *mask itself.
 */
static pid_t
forkheld(sigset_t *mask)
{
	sigset_t hold;
	pid_t pid;
	int err;

	sigemptyset(&hold);
	sigaddset(&hold, SIGINT);
	sigaddset(&hold, SIGTERM);
	sigaddset(&hold, SIGCHLD);
	sigprocmask(SIG_BLOCK, &hold, mask);
	if ((pid = fork()) != 0) {
		err = errno;
		sigprocmask(SIG_SETMASK, mask, NULL);
		errno = err;
	}
	return pid;
}

/*
 * The child that syncs FILE.tmp. It closes every socket first: a client
 * or a newcomer whose socket it kept open would wait on it.
 */
static void
syncchild(int fd, const sigset_t *mask)
{
	int i;

	signal(SIGINT, SIG_IGN); /* a Ctrl-C meant for the daemon */
	signal(SIGTERM, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (listenfd >= 0)
		close(listenfd);
	for (i = 0; i < MAXCLIENTS; i++)
		if (clients[i].fd >= 0)
			close(clients[i].fd);
	if (fsync(fd) < 0)
		_exit(errno > 0 && errno < 256 ? errno : EIO);
	_exit(0);
}

/*
 * Writes the whole table to FILE.tmp, syncs it and renames it over FILE.
 * In the loop (!wait) a child syncs while the daemon serves, and records
 * go on to the old file; once the child is done, what they added is
 * copied after the snapshot, so FILE.tmp is not written while it syncs.
 */
static void
compact(int wait)
{
	struct proto_env env;
	char dir[sizeof(statefile)];
	size_t n, size = 0;
	int fd, pos = 0, remade = 0;
	sigset_t mask;
	pid_t pid;

	if (!persisting)
		return;
	if (syncpid > 0) {
		if (!wait) {
			compactdue = 1; /* once this one is in */
			return;
		}
		endsync(1);
	}
	compactdue = 0;
	/*
	 * The old file stays the one to restore from meanwhile: what is due
	 * goes there first. Without it (a write failed), or with deletions
	 * it cannot take, the snapshot is synced here.
	 */
	if (!wait && (journalfd < 0 || flushjournal() < 0))
		wait = 1;
	proto_journaldrop(); /* the snapshot holds all of it */
	if (wait && journalfd >= 0) {
		close(journalfd);
		journalfd = -1;
	}
	while ((fd = open(statetmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
	                  O_CLOEXEC, 0600)) < 0 && errno == ENOENT && !remade) {
		/* its directory was removed under us: made again, once */
		memcpy(dir, statefile, sizeof(dir));
		*strrchr(dir, '/') = '\0';
		(void)mkdir(dir, 0700); /* if not, open says why */
		remade = 1;
	}
	if (fd < 0) { /* the journal, if any, goes on */
		retrylater("create", strerror(errno));
		return;
	}
	envnow(&env);
	while ((n = proto_snapshot(&env, loadbuf, sizeof(loadbuf), &pos)) > 0) {
		if (writeall(fd, loadbuf, n) < 0) {
			dropsnapshot(fd, "write", strerror(errno));
			return;
		}
		size += n;
	}
	if (wait) { /* at start and stop */
		if (fsync(fd) < 0)
			dropsnapshot(fd, "sync", strerror(errno));
		else
			install(fd, size);
		return;
	}
	if ((pid = forkheld(&mask)) == 0)
		syncchild(fd, &mask);
	if (pid < 0) {
		dropsnapshot(fd, "fork", strerror(errno));
		return;
	}
	syncpid = pid;
	syncfd = fd;
	syncsize = size;
	syncfrom = journalsize;
}

/*
 * Appends what the old file got while the child synced, from syncfrom
 * on, to fd; -1 with errno set when that fails.
 */
static int
copytail(int fd, size_t *size)
{
	size_t off = syncfrom;
	ssize_t r;
	int in, err;

	if (off == journalsize)
		return 0;
	if ((in = open(statefile, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (off < journalsize) {
		r = pread(in, loadbuf, journalsize - off < sizeof(loadbuf) ?
		          journalsize - off : sizeof(loadbuf), (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || writeall(fd, loadbuf, (size_t)r) < 0) {
			err = r == 0 ? EIO : errno; /* shorter than written */
			close(in);
			errno = err;
			return -1;
		}
		off += (size_t)r;
		*size += (size_t)r;
	}
	close(in);
	return 0;
}

/*
 * The sync child is done (waited for if wait): FILE.tmp gets the records
 * written since and becomes FILE, or the failure is told and retried.
 */
static void
endsync(int wait)
{
	const char *what = NULL, *why = NULL;
	size_t size = syncsize;
	int st, fd = syncfd;
	pid_t r;

	while ((r = waitpid(syncpid, &st, wait ? 0 : WNOHANG)) < 0 &&
	       errno == EINTR)
		;
	if (r == 0)
		return; /* still syncing */
	syncpid = -1;
	syncfd = -1;
	if (r < 0) {
		what = "wait";
		why = strerror(errno);
	} else if (!WIFEXITED(st)) {
		what = "sync";
		why = "killed by a signal";
	} else if (WEXITSTATUS(st) != 0) {
		what = "sync";
		why = strerror(WEXITSTATUS(st));
	} else if (journalfd < 0) { /* records since were dropped */
		what = "write";
		why = "the journal failed meanwhile";
	} else if (copytail(fd, &size) < 0) {
		what = "copy";
		why = strerror(errno);
	}
	if (what) {
		compactdue = 0; /* the retry writes all */
		dropsnapshot(fd, what, why);
		return;
	}
	install(fd, size);
	if (compactdue && !wait)
		compact(0);
}

/*
 * Writes the records due: one write for all of them unless they are more
 * than the journal buffer holds. -1: deletions were lost, the next
 * snapshot must carry them.
 */
static int
flushjournal(void)
{
	struct proto_env env;
	const char *p;
	size_t n;

	if (!persisting || journalfd < 0) {
		proto_journaldrop(); /* the next snapshot carries these */
		return 0;
	}
	envnow(&env);
	while ((n = proto_journal(&env, &p)) > 0) {
		if (writeall(journalfd, p, n) < 0) {
			proto_journaldrop();
			persistfailed("write");
			return 0;
		}
		journalsize += n;
		if (proto_journalclear() < 0)
			return -1;
	}
	return 0;
}

/* Appends the records due since the last call; compacts when due. */
static void
persist(void)
{
	if (!proto_journaldue())
		return;
	/* after a failed one the retry timer says when: not every pass */
	if (flushjournal() < 0 || (journalsize > JOURNALMAX && syncpid <= 0 &&
	                           journalfd >= 0 && !compactretry))
		compact(0);
}

static void
startusage(void)
{
	struct rlimit rl;
	sigset_t mask;
	int p[2], fd;
	pid_t pid;

	usagenext = monotonic() + usageinterval * 1000LL;
	if (pipe(p) < 0) {
		warn("pipe:");
		return;
	}
	/* nonblocking, or a read would wait in the loop */
	if (setfdflags(p[0]) < 0 || (pid = forkheld(&mask)) < 0) {
		warn("usage command:");
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		setpgid(0, 0);
		/* what the daemon ignores or catches, the command need not */
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGXFSZ, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &mask, NULL);
		if ((fd = open("/dev/null", O_RDONLY)) >= 0)
			dup2(fd, 0);
		dup2(p[1], 1);
		/* ours close on exec; inherited ones, as far as ours go, are
		 * closed here: a command's child that outlived it would hold
		 * them open. Not up to a limit that may be a billion. */
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0 ||
		    rl.rlim_cur > MAXCLIENTS + FDSPARE)
			rl.rlim_cur = MAXCLIENTS + FDSPARE;
		for (fd = 3; fd < (int)rl.rlim_cur; fd++)
			close(fd);
		if (usagebeside[0]) /* else the one in PATH */
			execl(usagebeside, usagedef, (char *)NULL);
		execl("/bin/sh", "sh", "-c", usagecmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid); /* both sides, so a kill(-pid) never misses */
	close(p[1]);
	usagepid = pid;
	usagefd = p[0];
	usagelen = 0;
	usageover = 0;
	usagekilled = 0;
	usagestatus = -1;
	usagekill = monotonic() + USAGETIMEOUT * 1000LL;
}

static void
readusage(void)
{
	char discard[4096];
	ssize_t n;

	for (;;) {
		if (usagelen < USAGEMAX)
			n = read(usagefd, usageout + usagelen, USAGEMAX - usagelen);
		else
			n = read(usagefd, discard, sizeof(discard));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return; /* EAGAIN: more later */
		if (n == 0) {
			close(usagefd);
			usagefd = -1;
			usagedone();
			return;
		}
		if (usagelen < USAGEMAX)
			usagelen += (size_t)n;
		else
			usageover = 1;
	}
}

static void
reapusage(void)
{
	int st;

	if (usagepid <= 0 || waitpid(usagepid, &st, WNOHANG) != usagepid)
		return;
	usagestatus = st;
	/* what it wrote is in the pipe; a grandchild holding it is cut off */
	if (usagefd >= 0) {
		readusage();
		if (usagefd >= 0) {
			close(usagefd);
			usagefd = -1;
		}
	}
	kill(-usagepid, SIGKILL);
	usagepid = -1;
	usagedone();
}

/* Both the child's exit and its output are in: judge the fetch. */
static void
usagedone(void)
{
	struct proto_env env;
	struct proto_out o;
	const char *err = NULL;
	char msg[128];

	if (usagefd >= 0 || usagestatus == -1)
		return;
	if (usagepid > 0)
		return;
	if (usagekilled)
		err = "usage command timed out";
	else if (usageover)
		err = "usage command printed too much";
	else if (!WIFEXITED(usagestatus) || WEXITSTATUS(usagestatus) != 0) {
		snprintf(msg, sizeof(msg), "usage command failed (exit %d)",
		         WIFEXITED(usagestatus) ? WEXITSTATUS(usagestatus) : -1);
		err = msg;
	}
	envnow(&env);
	memset(&o, 0, sizeof(o));
	proto_usage(&env, &o, usageout, usagelen, err);
	if (o.notelen)
		broadcast(o.note, o.notelen);
	/*
	 * A failing endpoint is asked ever less often; a rate-limited one
	 * is not asked early on a hook event either.
	 */
	if (err) {
		usagefails += usagefails < USAGEBACKOFF;
		usagenext = loopms + (usageinterval * 1000LL << usagefails);
		usageretried |= WIFEXITED(usagestatus) &&
		                WEXITSTATUS(usagestatus) == USAGELIMITED;
	} else {
		usagefails = usageretried = 0;
	}
	usagestatus = -1;
}

static void
usage(void)
{
	fputs("usage: sessiond [-dfv] [-S state-file] [-s socket] "
	      "[-t idle-seconds]\n"
	      "                [-U usage-command] [-u usage-seconds]\n", stderr);
	exit(1);
}

/* A count of seconds given to -t or -u, from min to SECSMAX. */
static long
secsarg(const char *arg, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < min || v > SECSMAX)
		usage();
	return v;
}

/*
 * Fills pfds: signals, the socket while accepting, the usage command, and
 * each client, for what it can do now. The number of entries.
 */
static int
pollset(int listening)
{
	struct client *c;
	int i, n = 0;

	pfds[n].fd = sigpipe[0];
	pfds[n].events = POLLIN;
	pclient[n++] = PSIGNAL;
	if (listening) {
		pfds[n].fd = listenfd;
		pfds[n].events = POLLIN;
		pclient[n++] = PLISTEN;
	}
	if (usagefd >= 0) {
		pfds[n].fd = usagefd;
		pfds[n].events = POLLIN;
		pclient[n++] = PUSAGE;
	}
	for (i = 0; i < nlive; i++) {
		c = &clients[live[i]];
		pfds[n].fd = c->fd;
		pfds[n].events = 0;
		if (!c->eof && !c->need && c->inlen < INBUFSIZE)
			pfds[n].events |= POLLIN;
		if (ring_len(c->out) > 0)
			pfds[n].events |= POLLOUT;
		pclient[n++] = live[i];
	}
	return n;
}

static void
run(void)
{
	struct client *c;
	long long now, deadline, t, flushend = 0;
	int n, i, timeout, flushing = 0, newclients = 0, heard = 0, left = 0;

	lastbusy = started;
	for (;;) {
		tick();
		now = loopms;
		if (stopping && !flushing) {
			/*
			 * No new clients. Those in, the backlog too, are heard
			 * out until they close their side, for up to
			 * FLUSHWAITMS. Then the state is written.
			 */
			flushing = 1;
			stoplistening();
			heard = 1;
			flushend = now + FLUSHWAITMS;
		}
		if (flushing) {
			for (i = 0, left = 0; i < nlive; i++) {
				c = &clients[live[i]];
				left += !c->dead && (ring_len(c->out) > 0 ||
				        c->need || (!c->sub && !c->eof));
			}
			if ((left == 0 && !heard) || now >= flushend) {
				persist();
				if (syncpid > 0)
					endsync(1);
				if (persisting && store_count() == 0)
					unlink(statefile); /* nothing to keep */
				else
					compact(1);
				if (statelockfd >= 0) { /* before the socket's */
					close(statelockfd);
					statelockfd = -1;
				}
				return;
			}
			heard = 0;
		}

		/* timers */
		if (nsubs > 0)
			lastbusy = now;
		deadline = flushing ? flushend : LLONG_MAX;
		if (!flushing && idlesecs > 0) {
			/*
			 * Not a scan of the table per request: events only
			 * put the stop off, so it is looked at again when
			 * it is due, and when an open session closed or left
			 * (busystale), which can bring it nearer.
			 */
			t = idleat();
			if (busystale || now >= t) {
				sessbusy = proto_busyuntil();
				busystale = 0;
				t = idleat();
			}
			if (now >= t) {
				stopping = 1;
				continue;
			}
			deadline = t;
		}
		if (usagepid <= 0 && !flushing && nsubs > 0 && usagecmd[0]) {
			if (now >= usagenext &&
			    proto_usagestale(time(NULL), usageinterval))
				startusage();
			if (now >= usagenext)
				usagenext = now + usageinterval * 1000LL;
			if (usagepid <= 0 && usagenext < deadline)
				deadline = usagenext;
		}
		if (usagepid > 0) {
			if (now >= usagekill && !usagekilled) {
				kill(-usagepid, SIGKILL);
				usagekilled = 1;
			}
			if (!usagekilled && usagekill < deadline)
				deadline = usagekill;
		}
		if (acceptpause > now && acceptpause < deadline)
			deadline = acceptpause;
		if (waitbig) {
			/*
			 * A big ring not drained for BIGSTALLMS is taken
			 * back, and one held for BIGHOLDMS: a reader that
			 * takes a little every second must not keep it.
			 */
			for (i = 0; i < nlive; i++) {
				c = &clients[live[i]];
				if (c->out == &rings[live[i]] || c->dead)
					continue;
				t = c->lastout + BIGSTALLMS;
				if (c->lentat + BIGHOLDMS < t)
					t = c->lentat + BIGHOLDMS;
				if (now >= t) {
					warn("a client too slow to take a big "
					     "reply, dropped");
					c->dead = 1;
					deadline = now;
				} else if (t < deadline) {
					deadline = t;
				}
			}
		}
		if (compactretry && !flushing && syncpid <= 0) {
			if (now >= persistretry)
				compact(0);
			if (compactretry && syncpid <= 0 && persistretry < deadline)
				deadline = persistretry;
		}

		n = pollset(!flushing && acceptpause <= now);
		timeout = -1;
		if (deadline != LLONG_MAX)
			timeout = deadline - now > INT_MAX ? INT_MAX :
			          deadline <= now ? 0 : (int)(deadline - now);
		if (flushing && left == 0)
			timeout = 0; /* only a look for the last lines */
		if (poll(pfds, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			die("poll:");
		}
		tick();

		/* dispatch */
		for (i = 0; i < n; i++) {
			if (!pfds[i].revents)
				continue;
			switch (pclient[i]) {
			case PSIGNAL:
				readsignals();
				break;
			case PLISTEN:
				newclients = 1; /* after closing the gone */
				break;
			case PUSAGE:
				readusage();
				break;
			default:
				c = &clients[pclient[i]];
				if (c->fd < 0 || c->dead)
					break;
				if (pfds[i].revents & POLLOUT)
					flush(c);
				if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR) &&
				    !c->eof && !c->need) {
					readclient(c);
					heard = 1;
				}
				else if (pfds[i].revents & (POLLHUP | POLLERR))
					c->dead = 1; /* gone both ways */
			}
		}
		if (gotsignal)
			readsignals();

		/* write before sleeping; move waiting clients; close */
		pass();
		if (bigfreed && waitbig)
			pass(); /* a big ring came free for someone waiting */
		for (i = 0; i < nlive; ) {
			c = &clients[live[i]];
			if (c->dead)
				closeclient(c);
			else
				i++;
		}
		if (bigfreed && waitbig)
			pass(); /* a closed client's big ring */
		if (newclients) {
			newclients = 0;
			accepting();
		}
	}
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	const char *sockopt = NULL, *stateopt = NULL, *err;
	char *slash, b;
	int opt, detach = 0, ready[2] = { -1, -1 }, fd, i, st;
	pid_t pid;
	ssize_t r;

	while ((opt = getopt(argc, argv, "dfS:s:t:U:u:v")) != -1) {
		switch (opt) {
		case 'd':
			detach = 1;
			break;
		case 'f':
			detach = 0;
			break;
		case 'S':
			stateopt = optarg;
			break;
		case 's':
			sockopt = optarg;
			break;
		case 't':
			idlesecs = secsarg(optarg, 0);
			break;
		case 'U':
			usagecmd = optarg;
			break;
		case 'u':
			usageinterval = secsarg(optarg, 1);
			break;
		case 'v':
			(void)!write(1, version, sizeof(version) - 1);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	statepath(stateopt, sockpath(sockopt));
	/* as the hook runs the sessiond beside it: made from source, or
	 * started by a hook outside PATH, it still has its usage command */
	if (usagecmd == usagedef && (slash = strrchr(argv[0], '/')) &&
	    absolute(usagebeside, sizeof(usagebeside), argv[0],
	             (int)(slash - argv[0]) + 1, usagedef) < 0)
		usagebeside[0] = '\0';
	snprintf(statetmp, sizeof(statetmp), "%s.tmp", statefile);

	if (detach) {
		/* the parent returns once the socket accepts, or with the
		 * child's failure */
		if (pipe(ready) < 0)
			die("pipe:");
		if ((pid = fork()) < 0)
			die("fork:");
		if (pid > 0) {
			close(ready[1]);
			while ((r = read(ready[0], &b, 1)) < 0 && errno == EINTR)
				;
			if (r == 1)
				return 0;
			if (waitpid(pid, &st, 0) < 0)
				die("waitpid:");
			return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
		}
		close(ready[0]);
		if (setsid() < 0)
			die("setsid:");
	}

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGXFSZ, &sa, NULL); /* a write past a file limit fails */
	if (pipe(sigpipe) < 0 || setfdflags(sigpipe[0]) < 0 ||
	    setfdflags(sigpipe[1]) < 0)
		die("pipe:");
	sa.sa_handler = onsignal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);

	if ((err = proto_init(statefile[0] != '\0')))
		die("config.h: %s", err);
	fdroom();
	for (i = 0; i < MAXCLIENTS; i++)
		clients[i].fd = -1;
	setup();
	if (statefile[0] && !lockstate())
		proto_init(0); /* no journal after all */
	tick();
	started = loopms;
	load();
	compact(1);

	if (detach) {
		if (chdir("/") < 0)
			die("chdir /:");
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		(void)!write(ready[1], "r", 1); /* the parent exits 0 */
		close(ready[1]);
	}
	run();
	cleanup();
	return 0;
}
