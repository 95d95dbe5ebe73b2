/* See LICENSE file for copyright and license details. */
/*
 * The session table. Sessions live in a fixed pool of SESSMAX entries;
 * an open-addressing index of MAXSESS slots (at least twice the pool, so
 * probe chains stay short) maps a session_id to its pool entry. Linear
 * probing with backward-shift deletion keeps every chain unbroken without
 * tombstones. A list through the pool keeps the sessions in the order
 * they were created, which is the order LIST shows and the state file
 * keeps; another keeps the closed ones in the order they closed, so the
 * oldest is at hand for eviction; free entries are on a stack. Nothing
 * here grows with the table but LIST-like walks, allocates or does I/O.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "sessiond.h"

struct list {                        /* through the pool, by index */
	int head, tail;              /* -1: none */
	size_t off;                  /* of its struct link in a session */
};

static int findslot(const char *id, unsigned h);
static void histpush(struct session *s, int status, long long wall);
static struct link *links(const struct list *l, int p);
static void linkafter(struct list *l, int p, int at);
static void unlink1(struct list *l, int p);
static void closing(struct session *s);
static void unclose(struct session *s);

static struct session pool[SESSMAX];
static short slots[MAXSESS];         /* pool index + 1; 0 is empty */
static int nsess, nclosed;
static struct list byage = { -1, -1, offsetof(struct session, byage) };
static struct list byclose = { -1, -1, offsetof(struct session, byclose) };
static short freed[SESSMAX];         /* free pool indexes, a stack */
static int nfree = -1;               /* -1: not filled yet */
static unsigned long long closeseq;  /* closings so far */

/* FNV-1a, of ids and of subagents' ids (proto.c) */
unsigned
store_hash(const char *s, size_t n)
{
	unsigned h = 2166136261u;

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* The slot holding id, or the empty slot that ends its chain. */
static int
findslot(const char *id, unsigned h)
{
	int i;

	for (i = h & (MAXSESS - 1); slots[i];
	     i = (i + 1) & (MAXSESS - 1)) {
		if (pool[slots[i] - 1].hash == h &&
		    !strcmp(pool[slots[i] - 1].id, id))
			break;
	}
	return i;
}

static void
histpush(struct session *s, int status, long long wall)
{
	if (s->nhist == HISTMAX)
		memmove(s->hist, s->hist + 1, (HISTMAX - 1) * sizeof(s->hist[0]));
	else
		s->nhist++;
	s->hist[s->nhist - 1].status = status;
	s->hist[s->nhist - 1].at = wall;
	if (s->histnew < HISTMAX) /* more is no different: all are new */
		s->histnew++;
	if (s->jnew < HISTMAX)
		s->jnew++;
}

void
store_init(void)
{
	static int again;

	/* the first time, static storage is zero already: touching the
	 * whole pool would make every page of it resident */
	if (again) {
		memset(slots, 0, sizeof(slots));
		memset(pool, 0, sizeof(pool));
	}
	again = 1;
	nsess = nclosed = 0;
	byage.head = byage.tail = byclose.head = byclose.tail = -1;
	/* the lowest on top: pages of the pool are touched in order */
	for (nfree = 0; nfree < SESSMAX; nfree++)
		freed[nfree] = (short)(SESSMAX - 1 - nfree);
	closeseq = 0;
}

/* The links of pool entry p in list l. */
static struct link *
links(const struct list *l, int p)
{
	return (struct link *)((char *)&pool[p] + l->off);
}

/* Puts pool entry p into l after entry at, or first when at is -1. */
static void
linkafter(struct list *l, int p, int at)
{
	struct link *k = links(l, p);

	k->prev = (short)at;
	k->next = (short)(at >= 0 ? links(l, at)->next : l->head);
	if (k->next >= 0)
		links(l, k->next)->prev = (short)p;
	else
		l->tail = p;
	if (at >= 0)
		links(l, at)->next = (short)p;
	else
		l->head = p;
}

static void
unlink1(struct list *l, int p)
{
	struct link *k = links(l, p);

	if (k->prev >= 0)
		links(l, k->prev)->next = k->next;
	else
		l->head = k->next;
	if (k->next >= 0)
		links(l, k->next)->prev = k->prev;
	else
		l->tail = k->prev;
}

/* s becomes closed: last in the order of closing. */
static void
closing(struct session *s)
{
	s->closeseq = ++closeseq;
	linkafter(&byclose, (int)(s - pool), byclose.tail);
	nclosed++;
}

/* s is closed no more, or goes. */
static void
unclose(struct session *s)
{
	unlink1(&byclose, (int)(s - pool));
	nclosed--;
}

struct session *
store_find(const char *id)
{
	int i = findslot(id, store_hash(id, strlen(id)));

	return slots[i] ? &pool[slots[i] - 1] : NULL;
}

/* A new session; NULL when the pool is full. id must not be present. */
struct session *
store_insert(const char *id, int status, long long mono, long long wall)
{
	struct session *s;
	unsigned h;
	int i, p;

	if (nsess == SESSMAX)
		return NULL;
	if (nfree < 0)
		store_init();
	p = freed[--nfree];
	h = store_hash(id, strlen(id));
	i = findslot(id, h);
	s = &pool[p];
	memset(s, 0, offsetof(struct session, id));
	s->used = 1;
	s->hash = h;
	s->status = status;
	s->since = s->active = mono;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->idlen = strlen(s->id);
	s->idplain = json_plain(s->id, s->idlen); /* an id never changes */
	s->agent[0] = s->msg[0] = s->dir[0] = '\0';
	histpush(s, status, wall);
	if (status == ST_CLOSED)
		closing(s);
	slots[i] = (short)(p + 1);
	linkafter(&byage, p, byage.tail);
	nsess++;
	return s;
}

void
store_delete(struct session *s)
{
	int i, j, home;

	i = findslot(s->id, s->hash);
	for (j = i; ; ) {
		j = (j + 1) & (MAXSESS - 1);
		if (!slots[j])
			break;
		home = pool[slots[j] - 1].hash & (MAXSESS - 1);
		/* move j back into the hole unless its home lies in (i, j] */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			slots[i] = slots[j];
			i = j;
		}
	}
	slots[i] = 0;
	unlink1(&byage, (int)(s - pool));
	if (s->status == ST_CLOSED)
		unclose(s);
	nsess--;
	s->used = 0;
	freed[nfree++] = (short)(s - pool);
}

/*
 * Records a status; the same status again only restarts its clock. A new
 * one clears the message, which told of the old.
 */
void
store_setstatus(struct session *s, int status, long long mono,
                long long wall)
{
	s->since = s->active = mono;
	s->nwaiters = 0;
	if (status == s->status)
		return;
	if (s->hasmsg) {
		s->hasmsg = 0;
		s->jmeta = 1;
	}
	store_restatus(s, status);
	histpush(s, status, wall);
}

/* A status without history, for a restored session. */
void
store_restatus(struct session *s, int status)
{
	if (status == s->status)
		return;
	if (s->status == ST_CLOSED)
		unclose(s);
	s->status = status;
	if (status == ST_CLOSED)
		closing(s);
}

/*
 * A restored closed session keeps its place in the order of closing:
 * moved back past those that closed later (at load only).
 */
void
store_setclosed(struct session *s, unsigned long long seq)
{
	int at;

	if (s->status != ST_CLOSED)
		return;
	unlink1(&byclose, (int)(s - pool));
	at = byclose.tail;
	while (at >= 0 && pool[at].closeseq > seq)
		at = pool[at].byclose.prev;
	s->closeseq = seq;
	linkafter(&byclose, (int)(s - pool), at);
	if (seq > closeseq)
		closeseq = seq;
}

struct session *
store_oldestclosed(void)
{
	return byclose.head >= 0 ? &pool[byclose.head] : NULL;
}

/*
 * Iterates the sessions oldest first: *pos starts at 0; NULL at the end.
 * *pos names the next one, so the one returned may be deleted.
 */
struct session *
store_next(int *pos)
{
	int i = *pos == 0 ? byage.head : *pos - 2;

	if (i < 0) {
		*pos = 1;
		return NULL;
	}
	*pos = pool[i].byage.next + 2;
	return &pool[i];
}

int
store_count(void)
{
	return nsess;
}

int
store_nclosed(void)
{
	return nclosed;
}

#ifdef CHECKS /* tests and the fuzzer; not the daemon */
/* Verifies every invariant: 0 when the table is sound. */
int
store_check(void)
{
	int i, p, n = 0, c = 0, seen = 0;

	for (p = 0; p < SESSMAX; p++) {
		if (!pool[p].used)
			continue;
		n++;
		c += pool[p].status == ST_CLOSED;
		if (pool[p].hash !=
		    store_hash(pool[p].id, strlen(pool[p].id)) ||
		    pool[p].nhist < 1 || pool[p].nhist > HISTMAX ||
		    pool[p].histn < 0 || pool[p].histn > pool[p].nhist ||
		    pool[p].histnew < 0 || pool[p].histnew > HISTMAX ||
		    pool[p].status < ST_WORKING || pool[p].status > ST_CLOSED)
			return -1;
		i = findslot(pool[p].id, pool[p].hash);
		if (slots[i] != p + 1)
			return -2;
	}
	for (i = 0; i < MAXSESS; i++)
		seen += slots[i] != 0;
	if (n != nsess || c != nclosed || seen != nsess)
		return -3;
	for (n = 0, i = byage.head, p = -1; i >= 0 && n <= nsess;
	     p = i, i = pool[i].byage.next) {
		if (!pool[i].used || pool[i].byage.prev != p)
			return -4;
		n++;
	}
	if (n != nsess || byage.tail != p)
		return -4;
	for (n = 0, i = byclose.head, p = -1; i >= 0 && n <= nclosed;
	     p = i, i = pool[i].byclose.next) {
		if (!pool[i].used || pool[i].status != ST_CLOSED ||
		    pool[i].byclose.prev != p ||
		    (p >= 0 && pool[p].closeseq > pool[i].closeseq))
			return -5;
		n++;
	}
	if (n != nclosed || byclose.tail != p || nfree != SESSMAX - nsess)
		return -5;
	return 0;
}
#endif
