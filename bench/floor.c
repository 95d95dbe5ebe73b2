/* See LICENSE file for copyright and license details. */
/*
 * floor: a program that only waits in poll(), linked like sessiond. Its
 * resident memory is what the C library and the kernel charge any such
 * process on this machine before it does anything: the floor under
 * sessiond's own idle RSS.
 */
#include <poll.h>
#include <stddef.h>

int
main(void)
{
	for (;;)
		poll(NULL, 0, -1);
}
