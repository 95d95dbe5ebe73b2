/* See LICENSE file for copyright and license details. */
/*
 * The tests' reference for UTF-8, written apart from json.c's so that
 * each checks the other: the unit tests and the fuzzer both use it.
 */
/* 1 when p[0..n) is well-formed UTF-8 (RFC 3629) */
static int
utf8ok(const unsigned char *p, size_t n)
{
	size_t i, len, k;
	unsigned char lo, hi;

	for (i = 0; i < n; i += len) {
		lo = 0x80;
		hi = 0xBF;
		if (p[i] < 0x80)
			len = 1;
		else if (p[i] >= 0xC2 && p[i] <= 0xDF)
			len = 2;
		else if (p[i] >= 0xE0 && p[i] <= 0xEF)
			len = 3;
		else if (p[i] >= 0xF0 && p[i] <= 0xF4)
			len = 4;
		else
			return 0;
		if (p[i] == 0xE0)
			lo = 0xA0;
		else if (p[i] == 0xED)
			hi = 0x9F;
		else if (p[i] == 0xF0)
			lo = 0x90;
		else if (p[i] == 0xF4)
			hi = 0x8F;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if (p[i + k] < lo || p[i + k] > hi)
				return 0;
			lo = 0x80;
			hi = 0xBF;
		}
	}
	return 1;
}
