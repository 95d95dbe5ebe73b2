/* See LICENSE file for copyright and license details. */
/*
 * Unit tests of ring.c: push, peek and consume across the wrap of the
 * buffer and of the free-running size_t indices, all-or-nothing pushes,
 * and seeded random operations checked against a flat buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "sessiond.h"
#include "check.h"
#include "rnd.h"

static char buf[RINGSIZE + 16];      /* 16 guard bytes after the ring */

/* the queued bytes, in order, into out: their count */
static size_t
contents(const struct ring *r, char *out)
{
	const char *p;
	size_t first, len = ring_len(r);

	first = ring_peek(r, &p);
	memcpy(out, p, first);
	memcpy(out + first, r->buf, len - first);
	return len;
}

static int
guards(void)
{
	size_t i;

	for (i = RINGSIZE; i < sizeof(buf); i++)
		if (buf[i] != 'G')
			return 0;
	return 1;
}

static void
basics(void)
{
	static char all[RINGSIZE];
	struct ring r;
	const char *p;
	char out[32];

	memset(buf, 'G', sizeof(buf));
	ring_init(&r, buf, 8);
	CHECK(ring_len(&r) == 0 && ring_free(&r) == 8);
	CHECK(ring_peek(&r, &p) == 0);
	CHECK(ring_push(&r, "", 0) == 0 && ring_len(&r) == 0);
	CHECK(ring_push(&r, "abcde", 5) == 0);
	CHECK(ring_len(&r) == 5 && ring_free(&r) == 3);
	CHECK(ring_peek(&r, &p) == 5 && !memcmp(p, "abcde", 5));
	/* all or nothing */
	CHECK(ring_push(&r, "wxyz", 4) == -1);
	CHECK(ring_len(&r) == 5 && contents(&r, out) == 5 &&
	      !memcmp(out, "abcde", 5));
	ring_consume(&r, 3);
	CHECK(ring_len(&r) == 2 && ring_free(&r) == 6);
	CHECK(ring_peek(&r, &p) == 2 && !memcmp(p, "de", 2));
	/* wraps: 3 bytes at the end, 3 at the start */
	CHECK(ring_push(&r, "fghijk", 6) == 0 && ring_free(&r) == 0);
	CHECK(ring_peek(&r, &p) == 5 && !memcmp(p, "defgh", 5));
	CHECK(contents(&r, out) == 8 && !memcmp(out, "defghijk", 8));
	CHECK(!memcmp(buf, "ijk", 3));
	CHECK(ring_push(&r, "x", 1) == -1);
	CHECK(ring_push(&r, "", 0) == 0);
	ring_consume(&r, 5);
	CHECK(ring_peek(&r, &p) == 3 && !memcmp(p, "ijk", 3) && p == buf);
	ring_consume(&r, 3);
	/* emptied: indices start over, the next span is the whole ring */
	CHECK(ring_len(&r) == 0 && r.head == 0 && r.tail == 0);
	CHECK(ring_push(&r, "12345678", 8) == 0);
	CHECK(ring_peek(&r, &p) == 8 && !memcmp(p, "12345678", 8));
	CHECK(ring_push(&r, "9", 1) == -1);
	ring_consume(&r, 8);
	CHECK(ring_push(&r, "123456789", 9) == -1 && ring_len(&r) == 0);
	CHECK(guards());

	/* written in place: the free span up to the end, then committed */
	{
		char *w;

		ring_init(&r, buf, 8);
		CHECK(ring_space(&r, &w) == 8 && w == buf);
		CHECK(ring_push(&r, "abcdef", 6) == 0);
		ring_consume(&r, 4);
		CHECK(ring_space(&r, &w) == 2 && w == buf + 6);
		memcpy(w, "gh", 2);
		ring_commit(&r, 2);
		CHECK(ring_space(&r, &w) == 4 && w == buf); /* past the end */
		memcpy(w, "ij", 2);
		ring_commit(&r, 2);
		CHECK(ring_len(&r) == 6 && contents(&r, out) == 6 &&
		      !memcmp(out, "efghij", 6));
		CHECK(ring_space(&r, &w) == 2 && w == buf + 2);
		CHECK(guards());
	}

	/* a full ring of RINGSIZE, refilled across the wrap */
	ring_init(&r, buf, RINGSIZE);
	memset(all, 'a', RINGSIZE);
	CHECK(ring_push(&r, all, RINGSIZE) == 0 && ring_free(&r) == 0);
	CHECK(ring_push(&r, "b", 1) == -1);
	ring_consume(&r, RINGSIZE - 1);
	CHECK(ring_len(&r) == 1 && ring_push(&r, "bc", 2) == 0);
	CHECK(ring_peek(&r, &p) == 1 && *p == 'a');
	ring_consume(&r, 1);
	CHECK(ring_peek(&r, &p) == 2 && !memcmp(p, "bc", 2) && p == buf);
	CHECK(guards());
}

/* Head and tail run past SIZE_MAX: lengths and positions stay right. */
static void
indices(void)
{
	struct ring r;
	const char *p;
	char out[16];
	size_t start;

	memset(buf, 'G', sizeof(buf));
	ring_init(&r, buf, 8);
	start = SIZE_MAX - 2;
	r.head = r.tail = start;           /* position 5 of 8 */
	CHECK(ring_len(&r) == 0 && ring_free(&r) == 8);
	CHECK(ring_push(&r, "abcdef", 6) == 0);
	CHECK(r.head == start + 6 && r.head < r.tail);  /* wrapped */
	CHECK(ring_len(&r) == 6 && ring_free(&r) == 2);
	CHECK(ring_peek(&r, &p) == 3 && p == buf + 5 && !memcmp(p, "abc", 3));
	CHECK(contents(&r, out) == 6 && !memcmp(out, "abcdef", 6));
	CHECK(ring_push(&r, "ghi", 3) == -1);
	CHECK(ring_push(&r, "gh", 2) == 0 && ring_free(&r) == 0);
	ring_consume(&r, 3);
	CHECK(ring_len(&r) == 5 && ring_peek(&r, &p) == 5 && p == buf &&
	      !memcmp(p, "defgh", 5));
	ring_consume(&r, 5);
	CHECK(ring_len(&r) == 0 && r.head == 0 && r.tail == 0);
	CHECK(guards());
}

/* Random pushes and consumes against a flat buffer holding the same. */
static void
model(size_t size, int ops)
{
	static char m[RINGSIZE], in[RINGSIZE + 8], out[RINGSIZE];
	struct ring r;
	const char *p;
	size_t mlen = 0, n, span;
	int i, bad = 0, full = 0, wraps = 0;

	memset(buf, 'G', sizeof(buf));
	ring_init(&r, buf, size);
	for (i = 0; i < ops; i++) {
		if (rnd() % 2) {
			n = rnd() % 3 ? rnd() % (size / 4 + 1) :
			    rnd() % (size + 2);
			memset(in, (int)('A' + i % 26), n);
			if (n)
				in[0] = (char)i;
			if (ring_push(&r, in, n) == 0) {
				bad += n > size - mlen;
				memcpy(m + mlen, in, n);
				mlen += n;
			} else {
				bad += n <= size - mlen;
				full++;
			}
		} else if (mlen) {
			span = ring_peek(&r, &p);
			bad += span == 0 || span > mlen || memcmp(p, m, span);
			wraps += span < mlen;
			/* the daemon consumes what write() took of a span */
			n = rnd() % 4 ? 1 + rnd() % span : mlen;
			ring_consume(&r, n);
			memmove(m, m + n, mlen - n);
			mlen -= n;
		}
		bad += ring_len(&r) != mlen || ring_free(&r) != size - mlen;
		bad += contents(&r, out) != mlen || memcmp(out, m, mlen);
		span = ring_peek(&r, &p);
		bad += span != mlen && p + span != buf + size;
	}
	CHECK(bad == 0);
	CHECK(full > 0 && wraps > 0);  /* both edges were reached */
	CHECK(guards());
}

int
main(void)
{
	rng = 777;
	basics();
	indices();
	model(8, 20000);
	model(64, 20000);
	model(RINGSIZE, 20000);
	return REPORT();
}
