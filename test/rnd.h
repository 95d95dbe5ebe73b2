/* See LICENSE file for copyright and license details. */
/*
 * The unit tests' random numbers: xorshift, the same sequence on every
 * libc for a seed, so a failure can be run again. A test sets rng first.
 */
static unsigned long rng = 1;

static unsigned
rnd(void)
{
	rng ^= rng << 13 & 0xFFFFFFFFUL;
	rng ^= rng >> 17;
	rng ^= rng << 5 & 0xFFFFFFFFUL;
	return (unsigned)(rng & 0xFFFFFFFFUL);
}
