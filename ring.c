/* See LICENSE file for copyright and license details. */
/*
 * Byte rings for client output. The capacity is a power of two and head
 * and tail run freely (wrapping as size_t), so the length is head - tail
 * and an index is a mask away. A push is all or nothing: a reply is either
 * queued whole or not at all. Rings never touch file descriptors.
 */
#include <string.h>

#include "config.h"
#include "sessiond.h"

void
ring_init(struct ring *r, char *buf, size_t size)
{
	r->buf = buf;
	r->size = size;
	r->head = r->tail = 0;
}

size_t
ring_len(const struct ring *r)
{
	return r->head - r->tail;
}

size_t
ring_free(const struct ring *r)
{
	return r->size - (r->head - r->tail);
}

int
ring_push(struct ring *r, const char *p, size_t n)
{
	size_t at, first;

	if (n > ring_free(r))
		return -1;
	at = r->head & (r->size - 1);
	first = r->size - at < n ? r->size - at : n;
	memcpy(r->buf + at, p, first);
	memcpy(r->buf, p + first, n - first);
	r->head += n;
	return 0;
}

/*
 * The longest contiguous free span, where the next push would start: a
 * reply may be rendered there and committed without a copy.
 */
size_t
ring_space(const struct ring *r, char **p)
{
	size_t at = r->head & (r->size - 1), free = ring_free(r);

	*p = r->buf + at;
	return r->size - at < free ? r->size - at : free;
}

/* n bytes written at ring_space() are queued. */
void
ring_commit(struct ring *r, size_t n)
{
	r->head += n;
}

/* The longest contiguous span of queued bytes, starting at the oldest. */
size_t
ring_peek(const struct ring *r, const char **p)
{
	size_t at, len;

	at = r->tail & (r->size - 1);
	len = ring_len(r);
	*p = r->buf + at;
	return r->size - at < len ? r->size - at : len;
}

void
ring_consume(struct ring *r, size_t n)
{
	r->tail += n;
	/* keep offsets small and spans long once the ring is empty */
	if (r->head == r->tail)
		r->head = r->tail = 0;
}
