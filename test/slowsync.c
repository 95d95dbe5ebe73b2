/* See LICENSE file for copyright and license details. */
/*
 * slowsync: preloaded into a daemon under test, an fsync() that returns
 * only once the file $SYNCGATE exists: a disk that takes its time, for as
 * long as the test wants; and fails with EIO while $SYNCFAIL exists.
 * Built by test.sh as a shared object.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int fsync(int fd);

int
fsync(int fd)
{
	const char *gate = getenv("SYNCGATE"), *fail = getenv("SYNCFAIL");
	struct timespec pause = { 0, 10000000 };
	struct stat sb;

	(void)fd;
	while (gate && stat(gate, &sb) < 0)
		nanosleep(&pause, NULL);
	if (fail && stat(fail, &sb) == 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}
