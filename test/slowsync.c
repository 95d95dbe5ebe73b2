/* See LICENSE file for copyright and license details. */
/*
 * slowsync: preloaded into a daemon under test, an fsync() that returns
 * only once the file $SYNCGATE exists: a disk that takes its time, for as
 * long as the test wants; and fails with EIO while $SYNCFAIL exists.
 * Each call adds a byte to $SYNCCOUNT. With $NOLINK set, link() fails
 * with EPERM, as on a file system without hard links (vfat). Built by
 * test.sh as a shared object.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int fsync(int fd);
int link(const char *from, const char *to);

int
fsync(int fd)
{
	const char *gate = getenv("SYNCGATE"), *fail = getenv("SYNCFAIL");
	const char *count = getenv("SYNCCOUNT");
	struct timespec pause = { 0, 10000000 };
	struct stat sb;
	int c;

	(void)fd;
	if (count && (c = open(count, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
		(void)!write(c, "s", 1);
		close(c);
	}
	while (gate && stat(gate, &sb) < 0)
		nanosleep(&pause, NULL);
	if (fail && stat(fail, &sb) == 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int
link(const char *from, const char *to)
{
	if (getenv("NOLINK")) {
		errno = EPERM;
		return -1;
	}
	return linkat(AT_FDCWD, from, AT_FDCWD, to, 0);
}
