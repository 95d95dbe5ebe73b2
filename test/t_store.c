/* See LICENSE file for copyright and license details. */
/*
 * Unit tests of store.c: insert, find, delete, status changes, history
 * capped at HISTMAX oldest first, closed counts and eviction order,
 * iteration; backward-shift deletion in every order over ids crafted to
 * share home slots (wrapping past the last slot), and seeded random
 * operations against an array model. store_check() after every step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sessiond.h"
#include "check.h"
#include "rnd.h"

#define NPOOL (2 * SESSMAX + 16)

struct msess {
	char id[IDMAX + 1];
	int present;
	int status;
	unsigned long long closeorder;
	int nhist;
	int hist[HISTMAX];
	long long histat[HISTMAX];
};

static struct msess model[NPOOL];
static int npool;

/* store.c's hash (FNV-1a); tests check s->hash agrees */
static unsigned
fnv(const char *id)
{
	unsigned h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

static int
home(const char *id)
{
	return (int)(fnv(id) & (MAXSESS - 1));
}

/* The n-th id (after *seq) whose home slot is slot. */
static void
craft(char *id, size_t size, int slot, unsigned *seq)
{
	do
		snprintf(id, size, "k%u", (*seq)++);
	while (home(id) != slot);
}

static void
basics(void)
{
	struct session *s, *t, *u;
	int pos, n, i;

	store_init();
	CHECK(store_count() == 0 && store_nclosed() == 0 && store_check() == 0);
	CHECK(store_find("a") == NULL && store_oldestclosed() == NULL);
	pos = 0;
	CHECK(store_next(&pos) == NULL);

	s = store_insert("a", ST_WORKING, 1000, 50);
	CHECK(s && s->used && s->status == ST_WORKING && !strcmp(s->id, "a"));
	CHECK(s->since == 1000 && s->active == 1000 && s->priority == 0);
	CHECK(s->nhist == 1 && s->hist[0].status == ST_WORKING &&
	      s->hist[0].at == 50);
	CHECK(!s->hasdir && !s->hasmsg && !s->dir[0] && !s->msg[0]);
	CHECK(s->hash == fnv("a"));
	CHECK(store_find("a") == s && store_find("b") == NULL);
	CHECK(store_find("") == NULL && store_find("aa") == NULL);
	CHECK(store_count() == 1 && store_nclosed() == 0 && store_check() == 0);

	/* the same status only restarts its clock; a new one ends a message */
	s->hasmsg = 1;
	s->jmeta = 0;
	store_setstatus(s, ST_WORKING, 2000, 51);
	CHECK(s->since == 2000 && s->active == 2000 && s->nhist == 1);
	CHECK(s->hasmsg && !s->jmeta);
	store_setstatus(s, ST_QUESTION, 3000, 52);
	CHECK(s->status == ST_QUESTION && s->since == 3000 && s->nhist == 2 &&
	      s->hist[1].status == ST_QUESTION && s->hist[1].at == 52);
	CHECK(!s->hasmsg && s->jmeta);

	/* history: the last HISTMAX changes, oldest first */
	for (i = 0; i < HISTMAX + 5; i++)
		store_setstatus(s, i % 2 ? ST_WORKING : ST_ATTENTION,
		                4000 + i, 100 + i);
	CHECK(s->nhist == HISTMAX);
	for (i = 0; i < HISTMAX; i++) {
		CHECK(s->hist[i].at == 100 + 5 + i);
		CHECK(s->hist[i].status == ((5 + i) % 2 ? ST_WORKING :
		      ST_ATTENTION));
	}
	CHECK(store_check() == 0);

	/* closed: counted, ordered by closing, reopened */
	t = store_insert("b", ST_CLOSED, 5000, 60);
	CHECK(t && store_nclosed() == 1 && store_count() == 2);
	CHECK(store_oldestclosed() == t);
	store_setstatus(s, ST_CLOSED, 6000, 61);
	CHECK(store_nclosed() == 2 && store_oldestclosed() == t);
	CHECK(s->closeseq > t->closeseq);
	store_setstatus(t, ST_ATTENTION, 7000, 62);
	CHECK(store_nclosed() == 1 && store_oldestclosed() == s);
	store_setstatus(t, ST_CLOSED, 8000, 63);
	CHECK(store_nclosed() == 2 && store_oldestclosed() == s);
	store_setstatus(s, ST_CLOSED, 9000, 64); /* again: keeps its place */
	CHECK(store_nclosed() == 2 && store_oldestclosed() == s);
	CHECK(store_check() == 0);

	u = store_insert("c", ST_ATTENTION, 10000, 70);
	pos = 0;
	n = 0;
	while ((t = store_next(&pos)))
		n += t == s || t == u || t == store_find("b");
	CHECK(n == 3);

	store_delete(s);
	CHECK(store_find("a") == NULL && store_count() == 2 &&
	      store_nclosed() == 1 && store_check() == 0);
	CHECK(store_oldestclosed() == store_find("b"));
	store_delete(store_find("b"));
	CHECK(store_nclosed() == 0 && store_oldestclosed() == NULL);
	store_delete(u);
	CHECK(store_count() == 0 && store_check() == 0);

	/* a slot freed is reused, and its old contents are gone */
	s = store_insert("d", ST_WORKING, 1, 1);
	CHECK(s && !s->hasdir && !s->hasmsg && s->priority == 0 &&
	      s->closeseq == 0 && s->nhist == 1);
	store_delete(s);

	/* ids up to IDMAX bytes */
	{
		char id[IDMAX + 1];

		memset(id, 'x', IDMAX);
		id[IDMAX] = '\0';
		s = store_insert(id, ST_WORKING, 1, 1);
		CHECK(s && strlen(s->id) == IDMAX && store_find(id) == s);
		id[IDMAX - 1] = '\0';
		CHECK(store_find(id) == NULL);
		store_delete(s);
	}
	CHECK(store_count() == 0 && store_check() == 0);
}

/* SESSMAX sessions fill the pool; one more is refused, nothing changes. */
static void
full(void)
{
	char id[32];
	struct session *s;
	int i, pos = 0, n = 0;

	store_init();
	for (i = 0; i < SESSMAX; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		CHECK(store_insert(id, i % 3 ? ST_WORKING : ST_CLOSED, i, i));
	}
	CHECK(store_count() == SESSMAX && store_check() == 0);
	CHECK(store_nclosed() == (SESSMAX + 2) / 3);
	CHECK(store_insert("one more", ST_WORKING, 0, 0) == NULL);
	CHECK(store_count() == SESSMAX && store_find("one more") == NULL);
	CHECK(store_check() == 0);
	while ((s = store_next(&pos)))
		n++;
	CHECK(n == SESSMAX);
	/* closed ones evicted oldest first */
	CHECK(!strcmp(store_oldestclosed()->id, "s0"));
	store_delete(store_oldestclosed());
	CHECK(!strcmp(store_oldestclosed()->id, "s3"));
	CHECK(store_insert("one more", ST_WORKING, 0, 0) != NULL);
	for (i = 0; i < SESSMAX; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		if ((s = store_find(id)))
			store_delete(s);
		CHECK(store_check() == 0);
	}
	CHECK(store_count() == 1 && store_nclosed() == 0);
}

/*
 * Ids whose home slots collide and wrap around the end of the table,
 * inserted and then deleted in every order: each deletion shifts the
 * chain back and every remaining id is still found.
 */
#define NCHAIN 6

static int
chainok(char ids[][16], const int *gone)
{
	int i, bad = 0;

	for (i = 0; i < NCHAIN; i++)
		bad += (store_find(ids[i]) == NULL) != gone[i];
	return !bad && store_check() == 0;
}

static void
permute(char ids[][16], int *order, int k, int *ins, int *bad)
{
	struct session *s;
	int gone[NCHAIN], i, t;

	if (k < NCHAIN) {
		for (i = k; i < NCHAIN; i++) {
			t = order[k], order[k] = order[i], order[i] = t;
			permute(ids, order, k + 1, ins, bad);
			t = order[k], order[k] = order[i], order[i] = t;
		}
		return;
	}
	for (i = 0; i < NCHAIN; i++) {
		gone[i] = 0;
		store_insert(ids[ins[i]], ST_WORKING, 0, 0);
	}
	*bad += !chainok(ids, gone);
	for (i = 0; i < NCHAIN; i++) {
		if ((s = store_find(ids[order[i]])))
			store_delete(s);
		else
			(*bad)++;
		gone[order[i]] = 1;
		*bad += !chainok(ids, gone);
	}
	*bad += store_count() != 0;
}

static void
chains(void)
{
	static const int homes[NCHAIN] = {
		MAXSESS - 1, MAXSESS - 1, 0, MAXSESS - 1, 1, MAXSESS - 2,
	};
	char ids[NCHAIN][16];
	unsigned seq = 0;
	int order[NCHAIN], ins[NCHAIN], i, j, t, round, bad = 0;
	struct session *s;

	store_init();
	for (i = 0; i < NCHAIN; i++) {
		craft(ids[i], sizeof(ids[i]), homes[i], &seq);
		s = store_insert(ids[i], ST_WORKING, 0, 0);
		CHECK(s && (s->hash & (MAXSESS - 1)) == (unsigned)homes[i]);
	}
	CHECK(store_check() == 0);
	for (i = 0; i < NCHAIN; i++)
		if ((s = store_find(ids[i])))
			store_delete(s);
	CHECK(store_count() == 0);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < NCHAIN; i++)
			ins[i] = order[i] = i;
		for (i = NCHAIN - 1; round && i > 0; i--) {
			j = (int)(rnd() % (unsigned)(i + 1));
			t = ins[i], ins[i] = ins[j], ins[j] = t;
		}
		permute(ids, order, 0, ins, &bad);
	}
	CHECK(bad == 0);
	CHECK(store_count() == 0);
}

/* the model's oldest closed session, or -1 */
static int
moldest(void)
{
	int i, old = -1;

	for (i = 0; i < npool; i++)
		if (model[i].present && model[i].status == ST_CLOSED &&
		    (old < 0 || model[i].closeorder < model[old].closeorder))
			old = i;
	return old;
}

static void
msetstatus(struct msess *m, int status, long long wall,
           unsigned long long *closes)
{
	if (m->status == status)
		return;
	if (status == ST_CLOSED)
		m->closeorder = ++*closes;
	m->status = status;
	if (m->nhist == HISTMAX) {
		memmove(m->hist, m->hist + 1,
		        (HISTMAX - 1) * sizeof(m->hist[0]));
		memmove(m->histat, m->histat + 1,
		        (HISTMAX - 1) * sizeof(m->histat[0]));
		m->nhist--;
	}
	m->hist[m->nhist] = status;
	m->histat[m->nhist++] = wall;
}

/* 0 when the store holds exactly the model */
static int
agrees(void)
{
	struct session *s;
	int i, k, n = 0, c = 0, pos = 0, bad = 0;

	if (store_check() != 0)
		return 1;
	for (i = 0; i < npool; i++) {
		s = store_find(model[i].id);
		if (!model[i].present) {
			bad += s != NULL;
			continue;
		}
		n++;
		c += model[i].status == ST_CLOSED;
		if (!s || strcmp(s->id, model[i].id) ||
		    s->status != model[i].status ||
		    s->nhist != model[i].nhist) {
			bad++;
			continue;
		}
		for (k = 0; k < s->nhist; k++)
			bad += s->hist[k].status != model[i].hist[k] ||
			       s->hist[k].at != model[i].histat[k];
	}
	bad += store_count() != n || store_nclosed() != c;
	for (k = 0; (s = store_next(&pos)); k++)
		;
	bad += k != n;
	i = moldest();
	s = store_oldestclosed();
	bad += i < 0 ? s != NULL : s != store_find(model[i].id);
	return bad;
}

static void
randomops(void)
{
	struct session *s;
	struct msess *m;
	unsigned long long closes = 0;
	unsigned seq = 100000;
	long long t;
	int i, op, st, bad = 0, n, refused = 0, evicted = 0, present = 0;

	store_init();
	memset(model, 0, sizeof(model));
	/* crowded homes: the first slots, the last, and one in between */
	for (npool = 0; npool < NPOOL / 2; npool++)
		craft(model[npool].id, sizeof(model[npool].id),
		      npool % 4 == 0 ? 0 : npool % 4 == 1 ? MAXSESS - 1 :
		      npool % 4 == 2 ? 1 : MAXSESS / 2, &seq);
	for (; npool < NPOOL; npool++)
		snprintf(model[npool].id, sizeof(model[npool].id), "%s-%d-%u",
		         npool % 2 ? "session" : "r", npool, rnd());
	for (i = 0; i < 20000; i++) {
		t = i;
		m = &model[rnd() % (unsigned)npool];
		/* phases: growing to a full table, then shrinking, ... */
		op = (int)(rnd() % 10);
		if ((i / 2500) % 2 == 0 && op >= 4 && op < 6)
			op = 0;
		st = (int)(rnd() % 4);
		if (op < 4 && !m->present) {
			s = store_insert(m->id, st, t * 1000, t);
			if (present == SESSMAX) {
				bad += s != NULL;
				refused++;
			} else if (!s) {
				bad++;
			} else {
				m->present = 1;
				present++;
				m->status = st;
				m->nhist = 1;
				m->hist[0] = st;
				m->histat[0] = t;
				if (st == ST_CLOSED)
					m->closeorder = ++closes;
			}
		} else if (op < 6 && m->present) {
			if (!(s = store_find(m->id)))
				break;
			store_delete(s);
			m->present = 0;
			present--;
		} else if (op < 9 && m->present) {
			if (!(s = store_find(m->id)))
				break;
			store_setstatus(s, st, t * 1000, t);
			msetstatus(m, st, t, &closes);
			bad += s->since != t * 1000;
		} else if (op == 9 && (s = store_oldestclosed())) {
			/* evict as proto.c does */
			n = moldest();
			bad += n < 0 || strcmp(s->id, model[n].id);
			store_delete(s);
			if (n >= 0) {
				model[n].present = 0;
				present--;
			}
			evicted++;
		}
		bad += agrees() != 0;
		if (bad) {
			fprintf(stderr, "t_store: op %d (%d) went wrong\n", i,
			        op);
			break;
		}
	}
	CHECK(bad == 0 && i == 20000);
	CHECK(refused > 0 && evicted > 0); /* full table and eviction seen */
}

/* Iteration is in creation order, whatever pool entry a session took. */
static void
order(void)
{
	static const char *want[] = { "a", "c", "d", "e" };
	struct session *s;
	int pos = 0, k;

	store_init();
	store_insert("a", ST_WORKING, 0, 0);
	store_insert("b", ST_WORKING, 0, 0);
	store_insert("c", ST_WORKING, 0, 0);
	store_delete(store_find("b"));
	store_insert("d", ST_WORKING, 0, 0); /* takes b's pool entry */
	store_insert("e", ST_CLOSED, 0, 0);
	for (k = 0; (s = store_next(&pos)); k++)
		CHECK(k < 4 && !strcmp(s->id, want[k]));
	CHECK(k == 4 && store_next(&pos) == NULL);
	/* the one returned may be deleted while iterating */
	for (pos = 0, k = 0; (s = store_next(&pos)); k++)
		store_delete(s);
	CHECK(k == 4 && store_count() == 0 && store_nclosed() == 0);
	CHECK(store_check() == 0);
	store_insert("f", ST_WORKING, 0, 0);
	store_restatus(store_find("f"), ST_CLOSED);
	CHECK(store_nclosed() == 1 && store_check() == 0);
	store_restatus(store_find("f"), ST_WORKING);
	CHECK(store_nclosed() == 0 && store_check() == 0);

	/* restored closed ones take their place in the order of closing */
	store_init();
	store_insert("x", ST_CLOSED, 0, 0);
	store_insert("y", ST_CLOSED, 0, 0);
	store_insert("z", ST_CLOSED, 0, 0);
	store_insert("w", ST_WORKING, 0, 0);
	store_setclosed(store_find("x"), 50);
	store_setclosed(store_find("y"), 20);
	store_setclosed(store_find("z"), 90);
	store_setclosed(store_find("w"), 10);   /* not closed: no place */
	CHECK(store_nclosed() == 3 && store_check() == 0);
	CHECK(!strcmp(store_oldestclosed()->id, "y"));
	store_delete(store_oldestclosed());
	CHECK(!strcmp(store_oldestclosed()->id, "x"));
	store_setstatus(store_find("w"), ST_CLOSED, 0, 0); /* after 90 */
	store_delete(store_oldestclosed());
	CHECK(!strcmp(store_oldestclosed()->id, "z") &&
	      store_find("w")->closeseq == 91);
	store_delete(store_oldestclosed());
	CHECK(store_oldestclosed() == store_find("w"));
	CHECK(store_check() == 0);
}

int
main(void)
{
	rng = 4242;
	basics();
	order();
	full();
	chains();
	randomops();
	return REPORT();
}
