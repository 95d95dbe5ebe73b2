/* See LICENSE file for copyright and license details. */
/*
 * The protocol: one complete line in, at most one reply and any
 * notifications out (PROTOCOL.md). A line is a command (it has "cmd"), a
 * raw Claude Code hook event (hook_event_name and session_id, no reply) or
 * a Claude Code status line payload (session_id only, a text reply).
 * A reply about one session is rendered in place, where the caller asks
 * (its client's ring); others into a static buffer the caller copies out
 * before the next call. Notifications are rendered once for all
 * subscribers.
 * A command that changes state is only run when the caller's room fits
 * its largest reply; a read-only one whose reply does not fit changes
 * nothing and asks to be run again (PROTO_AGAIN). Time is passed in.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "sessiond.h"

enum { USAGE_NEVER, USAGE_OK, USAGE_UNAVAILABLE };

struct req {
	const char *line;
	struct jfield f[FIELDMAX];
	int nf;
	signed char head[32];        /* by a name's first byte: its first field */
	signed char next[FIELDMAX];  /* the next one with that byte; -1: none */
};

struct cmd {
	const char *name;
	int (*fn)(const struct proto_env *, struct proto_out *, struct req *);
	int reads;            /* leaves the table as it is */
};

static int again(struct proto_out *o, size_t need);
static void complain(const struct proto_env *env, const char *fmt, ...);
static const char *basename_of(const char *path, size_t *len);
static int cmd_delete(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_dump(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_format(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_get(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_list(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_reopen(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_rm(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_set(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_status(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_stop(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_sub(const struct proto_env *, struct proto_out *, struct req *);
static int cmd_usage(const struct proto_env *, struct proto_out *, struct req *);
static void closed(struct session *keep);
static long long days(long long y, int m, int d);
static int dispatch(const struct proto_env *env, struct proto_out *o,
                    struct req *r, int part);
static void duration(char *buf, size_t size, long long secs);
static int error(struct proto_out *o, const char *fmt, const char *arg);
static int scanreq(struct req *r, const char *line, size_t len);
static struct jfield *field(struct req *r, const char *key);
static int finish(struct proto_out *o, struct jw *w);
static int getbool(struct req *r, const char *key, int *v);
static int getid(struct req *r, char *id);
static int getstr(struct req *r, const char *key, char *out, size_t size,
                  int *present);
static int hook(const struct proto_env *, struct proto_out *, struct req *);
static long long secs(long long ms);
static int inactive(const struct proto_env *env, const struct session *s);
static int isotime(const char *s, long long *t);
static int makeroom(void);
static void drop(struct session *s);
static int restorefields(const struct proto_env *env, struct req *r,
                         struct session *t, int *delta, const char *id,
                         const struct session *base);
static void record(struct jw *w, const struct proto_env *env,
                   struct session *s, int full);
static void save(struct session *s);
static void forget(struct session *s);
static void note_removed(const char *id);
static void note_update(const struct proto_env *env, struct session *s,
                        const char *snap, size_t len);
static void replysnap(struct jw *w, const struct proto_env *env,
                      struct session *s, size_t *at);
static void okbegin(struct jw *w);
static void identity(struct jw *w, const struct session *s);
static void statusfield(struct jw *w, int status);
static void text(struct jw *w, const char *t, size_t n, int plain);
static void dirfield(struct jw *w, const struct session *s);
static void history(struct jw *w, struct session *s);
static void histitems(struct jw *w, const struct session *s, int from);
static int parsestatus(const char *name);
static int iscmd(const char *name, const char *given);
static void ratelimits(const struct proto_env *env, struct req *r);
static int render(const struct proto_env *env, const struct session *self,
                  const char *t, size_t n, struct jw *w, int depth);
static int serve(const struct proto_env *env, struct proto_out *o,
                 const char *line, size_t len, int part);
static void setmsg(struct session *s, const char *text);
static void setusage(const char *obj, size_t len, long long at);
static void snapshot(struct jw *w, const struct proto_env *env,
                     struct session *s);
static int statusline(const struct proto_env *, struct proto_out *, struct req *);
static const struct tally *tallied(const struct proto_env *env);
static int usagefield(const char *key, char *out, size_t size);
static unsigned waiter(const char *id, size_t n);
static int matches(struct req *r, const struct rule *rule);
static int waitset(const struct rule *rule, const struct session *s,
                   unsigned sub, unsigned *w);
static int keptwindow(const struct proto_env *env, struct jw *w,
                      const char *const *win, int got);
static int variable(const struct proto_env *env, const struct session *self,
                    const char *name, size_t n, char *out, size_t size);
static size_t tame(char *t);
static void usageobj(struct jw *w);
static void writeiso(struct jw *w, long long t);

static const char *statusnames[] = {
	[ST_WORKING] = "working", [ST_ATTENTION] = "attention",
	[ST_QUESTION] = "question", [ST_CLOSED] = "closed",
};

static const struct rule rules[] = RULES;

static const struct cmd cmds[] = {
	{ "SET", cmd_set, 0 }, { "GET", cmd_get, 1 }, { "LIST", cmd_list, 1 },
	{ "RM", cmd_rm, 0 }, { "DELETE", cmd_delete, 0 },
	{ "REOPEN", cmd_reopen, 0 }, { "SUB", cmd_sub, 1 },
	{ "STATUS", cmd_status, 1 }, { "DUMP", cmd_dump, 1 },
	{ "STOP", cmd_stop, 1 }, { "USAGE", cmd_usage, 1 },
	{ "FORMAT", cmd_format, 1 },
};

static char replybuf[REPLYMAX];      /* the reply of the current line */
static char *onebuf = replybuf;      /* or of one session, the caller's */
static size_t onecap = sizeof(replybuf);
static char notebuf[3 * NOTEMAX + USAGELINEMAX];
static struct jw notes;              /* notifications of the current line */
static char jbuf[JOURNALBUF];
static int journaling;               /* records are wanted: -S is set */
static struct session *dirty[SESSMAX]; /* changed since last written,
                                          in the order they first did */
static int ndirty;
static int listening;                /* notifications are wanted */
static long long deletedat = LLONG_MIN; /* last active, of the deleted */
static struct jw jnl;                /* journal records not yet written */
static char errbuf[ESCMAX(DIRMAX) + 256];  /* an error reply */
static char why[IDMAX + 128];        /* what getstr() found wrong */
static char idbuf[IDMAX + 1];
static const char *cmdname = "";     /* the command being run */
static char strbuf[DIRMAX + 1];      /* scratch for decoded strings */

/*
 * Of the table, kept while it does not change: status lines asking again
 * and again within one pass share one walk. Time moves inactive.
 */
static struct tally {
	int valid;
	long long mono;              /* the clock it was taken at */
	int n[ST_CLOSED + 1];        /* sessions by status */
	int sessions, inactive;
	const struct session *top;
} tally;

static int usagestate = USAGE_NEVER;
static char usage[USAGEMAX + 128];   /* last good usage object, JSON */
static size_t usagelen;
static long long usageat;            /* wall-clock seconds it was fetched */
static int usagepart;                /* a window missing: due for a fetch */

/*
 * A warning a hook event causes, at most WARNMAX a second: any local
 * client can send bad events as fast as it likes, and a daemon's stderr
 * may be a file.
 */
static void
complain(const struct proto_env *env, const char *fmt, ...)
{
	static long long sec = -1;
	static int n, lost;
	va_list ap;

	if (env->mono / 1000 != sec) {
		if (lost)
			fprintf(stderr, "sessiond: %d more such warnings not "
			        "shown\n", lost);
		sec = env->mono / 1000;
		n = lost = 0;
	}
	if (++n > WARNMAX) {
		lost++;
		return;
	}
	fputs("sessiond: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
}

static int
again(struct proto_out *o, size_t need)
{
	o->need = need;
	o->reply = NULL;
	o->replylen = 0;
	return PROTO_AGAIN;
}

static const char *
basename_of(const char *path, size_t *len)
{
	size_t n = strlen(path);
	const char *b;

	while (n > 1 && path[n - 1] == '/')
		n--;
	for (b = path + n; b > path && b[-1] != '/'; b--)
		;
	*len = (size_t)(path + n - b);
	if (*len == 0 && n > 0) { /* "/" */
		*len = 1;
		return path;
	}
	return b;
}

static void
duration(char *buf, size_t size, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(buf, size, "%llds", secs);
	else if (secs < 3600)
		snprintf(buf, size, "%lldm", secs / 60);
	else if (secs < 86400)
		snprintf(buf, size, "%lldh%02lldm", secs / 3600, secs % 3600 / 60);
	else
		snprintf(buf, size, "%lldd", secs / 86400);
}

/* A failure reply; fmt has at most one %s, filled with arg escaped. */
static int
error(struct proto_out *o, const char *fmt, const char *arg)
{
	struct jw w;
	const char *pct = strstr(fmt, "%s");

	jw_init(&w, errbuf, sizeof(errbuf));
	jw_lit(&w, "{\"version\":1,\"ok\":false,\"error\":\"");
	if (pct) {
		jw_esc(&w, fmt, (size_t)(pct - fmt));
		jw_esc(&w, arg, strlen(arg));
		jw_esc(&w, pct + 2, strlen(pct + 2));
	} else {
		jw_esc(&w, fmt, strlen(fmt));
	}
	jw_lit(&w, "\"}\n");
	if (w.full) { /* cannot happen with errbuf's size; stay valid */
		jw_init(&w, errbuf, sizeof(errbuf));
		jw_lit(&w, "{\"version\":1,\"ok\":false,\"error\":\"error\"}\n");
	}
	o->reply = errbuf;
	o->replylen = w.len;
	return PROTO_DONE;
}

/*
 * Scans line into r and files its fields by the first byte of their name:
 * a request asks for several fields, most of them by a name no other
 * field there starts like, or not there at all.
 */
static int
scanreq(struct req *r, const char *line, size_t len)
{
	int err, i, b;

	r->line = line;
	err = json_scan(line, len, r->f, FIELDMAX, &r->nf);
	memset(r->head, -1, sizeof(r->head));
	for (i = r->nf - 1; i >= 0; i--) { /* each list in line order */
		b = (unsigned char)r->f[i].key[0] & 31;
		r->next[i] = r->head[b];
		r->head[b] = (signed char)i;
	}
	return err;
}

/*
 * The field named key. Compared in place, byte by byte: the names are
 * short, so no strlen() each time.
 */
static struct jfield *
field(struct req *r, const char *key)
{
	const char *k;
	size_t n, j;
	int i;

	for (i = r->head[(unsigned char)key[0] & 31]; i >= 0; i = r->next[i]) {
		k = r->f[i].key;
		n = r->f[i].klen;
		if (n == 0 || k[0] != key[0])
			continue;
		/* a shorter key stops at its NUL, which k cannot hold */
		for (j = 1; j < n && k[j] == key[j]; j++)
			;
		if (j == n && key[n] == '\0')
			return &r->f[i];
	}
	return NULL;
}

static int
finish(struct proto_out *o, struct jw *w)
{
	if (w->full)
		return error(o, "reply too large", NULL);
	if (w->len > o->room)
		return again(o, w->len);
	o->reply = w->buf;
	o->replylen = w->len;
	return PROTO_DONE;
}

/* 1 and *v set, 0 when absent or null, -1 when not a boolean. */
static int
getbool(struct req *r, const char *key, int *v)
{
	struct jfield *f = field(r, key);

	if (!f || f->type == J_NULL)
		return 0;
	if (f->type != J_TRUE && f->type != J_FALSE)
		return -1;
	*v = f->type == J_TRUE;
	return 1;
}

/*
 * Decodes the string field key into out: 1 when set, 0 when absent or
 * null; -1 with the reason in why (a string is never truncated).
 */
static int
getstr(struct req *r, const char *key, char *out, size_t size, int *present)
{
	struct jfield *f = field(r, key);
	long n;

	*present = 0;
	if (!f || f->type == J_NULL)
		return 0;
	if (f->type != J_STRING) {
		snprintf(why, sizeof(why), "field %s must be a string", key);
		return -1;
	}
	if (f->esc) {
		n = json_str(r->line + f->off, f->len, out, size);
	} else if (f->len < size) { /* nothing to decode */
		copyn(out, r->line + f->off, f->len);
		out[f->len] = '\0';
		n = (long)f->len;
	} else {
		n = -1;
	}
	if (n == -1) {
		snprintf(why, sizeof(why),
		         "field %s is longer than %lu bytes", key,
		         (unsigned long)size - 1);
		return -1;
	}
	if (n == -2) {
		snprintf(why, sizeof(why),
		         "field %s must not contain NUL", key);
		return -1;
	}
	*present = 1;
	return 1;
}

/* session_id into id: 0, or -1 with the reason in why. */
static int
getid(struct req *r, char *id)
{
	int present;

	if (getstr(r, "session_id", id, IDMAX + 1, &present) < 0)
		return -1;
	if (!present) {
		snprintf(why, sizeof(why), "%s requires session_id",
		         cmdname);
		return -1;
	}
	if (!id[0]) {
		snprintf(why, sizeof(why), "field session_id is empty");
		return -1;
	}
	return 0;
}

/*
 * ms / 1000. Below 2^32 ms (49 days) by a multiply: the compiler, told
 * to make the code small, would divide, and snapshots do this twice.
 */
static long long
secs(long long ms)
{
	if (ms >= 0 && ms <= 0xFFFFFFFFLL)
		return (long long)(((unsigned long long)ms * 274877907ULL) >> 38);
	return ms / 1000;
}

static int
inactive(const struct proto_env *env, const struct session *s)
{
	return s->status != ST_CLOSED &&
	       env->mono - s->active > INACTIVESECS * 1000LL;
}

static int
parsestatus(const char *name)
{
	const char *a;
	int i;

	/* the names differ in their first letter */
	switch (name[0] | 0x20) {
	case 'w': i = ST_WORKING; break;
	case 'a': i = ST_ATTENTION; break;
	case 'q': i = ST_QUESTION; break;
	case 'c': i = ST_CLOSED; break;
	default: return -1;
	}
	if (!strcmp(statusnames[i], name)) /* as sent nearly always */
		return i;
	/* in any case, as ACD takes them: its CLI passes "Attention" on */
	for (a = statusnames[i]; *a; a++, name++)
		if ((*name | 0x20) != *a) /* the names are lowercase letters */
			return -1;
	return *name ? -1 : i;
}

/* Whether given is the command name, in any case (names are letters). */
static int
iscmd(const char *name, const char *given)
{
	for (; *name; name++, given++)
		if (*given != *name && *given != *name - 'A' + 'a')
			return 0;
	return *given == '\0';
}

static void
okbegin(struct jw *w)
{
	jw_init(w, replybuf, sizeof(replybuf));
	jw_lit(w, "{\"version\":1,\"ok\":true,\"data\":");
}

/* {"session_id":..,"agent_type":..,"status":..,"working_dir":.. */
static void
identity(struct jw *w, const struct session *s)
{
	jw_lit(w, "{\"session_id\":\"");
	text(w, s->id, s->idlen, s->idplain);
	jw_lit(w, "\",\"agent_type\":\"");
	text(w, s->agent, s->agentlen, s->agentplain);
	jw_lit(w, "\"");
	statusfield(w, s->status);
	dirfield(w, s);
}

/* ,"working_dir":"..." or null */
static void
dirfield(struct jw *w, const struct session *s)
{
	if (s->hasdir) {
		jw_lit(w, ",\"working_dir\":\"");
		text(w, s->dir, s->dirlen, s->dirplain);
		jw_lit(w, "\"");
	} else {
		jw_lit(w, ",\"working_dir\":null");
	}
}

/* ,"status":"..." */
static void
statusfield(struct jw *w, int status)
{
	switch (status) {
	case ST_WORKING:   jw_lit(w, ",\"status\":\"working\""); break;
	case ST_ATTENTION: jw_lit(w, ",\"status\":\"attention\""); break;
	case ST_QUESTION:  jw_lit(w, ",\"status\":\"question\""); break;
	default:           jw_lit(w, ",\"status\":\"closed\""); break;
	}
}

/*
 * The history array's elements, oldest first. They change only with the
 * status, so their rendering is kept in the session: a new status drops
 * the items pushed out at the front and renders one at the end.
 */
static void
history(struct jw *w, struct session *s)
{
	struct jw h;
	const char *end;
	size_t cut = 0;
	int k, drop;

	if (s->histnew > 0 || s->histn == 0) {
		drop = s->histn + s->histnew - s->nhist;
		if (s->histn == 0 || s->histnew >= s->nhist) {
			jw_init(&h, s->histjson, sizeof(s->histjson));
			histitems(&h, s, 0);
		} else {
			for (k = 0; k < drop; k++) { /* an item holds one '}' */
				end = memchr(s->histjson + cut, '}', s->histlen - cut);
				cut = (size_t)(end - s->histjson) + 2;
			}
			memmove(s->histjson, s->histjson + cut, s->histlen - cut);
			jw_init(&h, s->histjson, sizeof(s->histjson));
			h.len = s->histlen - cut;
			jw_lit(&h, ",");
			histitems(&h, s, s->nhist - s->histnew);
		}
		s->histnew = 0;
		s->histn = h.full ? 0 : s->nhist;
		s->histlen = h.full ? 0 : h.len;
		if (h.full) { /* cannot happen: HISTITEMMAX holds an item */
			histitems(w, s, 0);
			return;
		}
	}
	jw_mem(w, s->histjson, s->histlen);
}

/* Items from on, comma-separated. */
static void
histitems(struct jw *w, const struct session *s, int from)
{
	int i;

	for (i = from; i < s->nhist; i++) {
		if (i > from)
			jw_lit(w, ",");
		switch (s->hist[i].status) {
		case ST_WORKING:
			jw_lit(w, "{\"status\":\"working\",\"at_secs\":");
			break;
		case ST_ATTENTION:
			jw_lit(w, "{\"status\":\"attention\",\"at_secs\":");
			break;
		case ST_QUESTION:
			jw_lit(w, "{\"status\":\"question\",\"at_secs\":");
			break;
		default:
			jw_lit(w, "{\"status\":\"closed\",\"at_secs\":");
			break;
		}
		jw_i64(w, s->hist[i].at);
		jw_lit(w, "}");
	}
}

static void
snapshot(struct jw *w, const struct proto_env *env, struct session *s)
{
	identity(w, s);
	jw_lit(w, ",\"elapsed_seconds\":");
	jw_i64(w, secs(env->mono - s->since));
	jw_lit(w, ",\"idle_seconds\":");
	jw_i64(w, secs(env->mono - s->active));
	jw_lit(w, ",\"history\":[");
	history(w, s);
	if (s->status == ST_CLOSED)
		jw_lit(w, "],\"closed\":true,\"priority\":");
	else
		jw_lit(w, "],\"closed\":false,\"priority\":");
	jw_u64(w, s->priority);
	if (inactive(env, s))
		jw_lit(w, ",\"inactive\":true");
	else
		jw_lit(w, ",\"inactive\":false");
	if (s->hasmsg) {
		jw_lit(w, ",\"message\":\"");
		jw_esc(w, s->msg, strlen(s->msg));
		jw_lit(w, "\"}");
	} else {
		jw_lit(w, "}");
	}
}

/* An update; snap, when given, is the session's snapshot rendered already. */
static void
note_update(const struct proto_env *env, struct session *s,
            const char *snap, size_t len)
{
	if (!listening)
		return;
	jw_lit(&notes, "{\"version\":1,\"type\":\"update\",\"session\":");
	if (snap)
		jw_mem(&notes, snap, len);
	else
		snapshot(&notes, env, s);
	jw_lit(&notes, "}\n");
}

/*
 * A reply whose data is the session's snapshot; *at: where that starts.
 * It goes where the caller would copy it, if the caller said where.
 */
static void
replysnap(struct jw *w, const struct proto_env *env, struct session *s,
          size_t *at)
{
	jw_init(w, onebuf, onecap);
	jw_lit(w, "{\"version\":1,\"ok\":true,\"data\":");
	*at = w->len;
	snapshot(w, env, s);
	jw_lit(w, "}\n");
}

static void
note_removed(const char *id)
{
	if (!listening)
		return;
	jw_lit(&notes, "{\"version\":1,\"type\":\"removed\",\"session_id\":");
	jw_str(&notes, id, strlen(id));
	jw_lit(&notes, "}\n");
}

/* A session leaves the table: subscribers and the journal are told. */
static void
drop(struct session *s)
{
	note_removed(s->id);
	if (journaling) {
		jw_lit(&jnl, "{\"deleted\":");
		jw_str(&jnl, s->id, strlen(s->id));
		jw_lit(&jnl, "}\n");
	}
	forget(s);
}

/* Deletes s, and its record if one is due. */
static void
forget(struct session *s)
{
	int i;

	if (s->dirty) {
		for (i = 0; dirty[i] != s; i++)
			;
		memmove(dirty + i, dirty + i + 1,
		        (size_t)(--ndirty - i) * sizeof(dirty[0]));
		s->dirty = 0;
	}
	store_delete(s);
}

/* Evicts closed sessions past MAXCLOSED, never keep. */
static void
closed(struct session *keep)
{
	struct session *old;

	while (store_nclosed() > MAXCLOSED && (old = store_oldestclosed()) &&
	       old != keep)
		drop(old);
}

/* Frees a pool entry for a new session if the table is full: -1 if not. */
static int
makeroom(void)
{
	struct session *old;

	if (store_count() < SESSMAX)
		return 0;
	if (!(old = store_oldestclosed()))
		return -1;
	drop(old);
	return 0;
}

/*
 * The state record of a session: all of it, times as wall-clock ms so a
 * restarted daemon continues them. full: always all of it (a snapshot).
 * In the journal, a session already in the file gets a delta: its times,
 * the statuses it gained since ("history+") with the status they led to,
 * and agent, dir, message and priority only when one of them changed.
 * Most events only mark a session active: their record is short.
 */
static void
record(struct jw *w, const struct proto_env *env, struct session *s,
       int full)
{
	int delta = !full && s->jsaved && s->jnew < s->nhist;

	if (delta) {
		jw_lit(w, "{\"session_id\":\"");
		text(w, s->id, s->idlen, s->idplain);
		jw_lit(w, "\"");
	} else {
		identity(w, s);
	}
	if (!delta || s->jmeta) {
		if (delta) {
			jw_lit(w, ",\"agent_type\":\"");
			text(w, s->agent, s->agentlen, s->agentplain);
			jw_lit(w, "\"");
			dirfield(w, s);
		}
		jw_lit(w, ",\"priority\":");
		jw_u64(w, s->priority);
		if (s->hasmsg) {
			jw_lit(w, ",\"message\":\"");
			jw_esc(w, s->msg, strlen(s->msg));
			jw_lit(w, "\"");
		} else if (delta) {
			jw_lit(w, ",\"message\":null");
		}
	}
	jw_lit(w, ",\"since_ms\":");
	jw_i64(w, env->wallms - (env->mono - s->since));
	jw_lit(w, ",\"active_ms\":");
	jw_i64(w, env->wallms - (env->mono - s->active));
	if (!delta) {
		jw_lit(w, ",\"closeseq\":");
		jw_u64(w, s->closeseq);
		jw_lit(w, ",\"history\":[");
		history(w, s);
		jw_lit(w, "]}\n");
	} else if (s->jnew > 0) {
		statusfield(w, s->status);
		if (s->status == ST_CLOSED) { /* closing numbered it */
			jw_lit(w, ",\"closeseq\":");
			jw_u64(w, s->closeseq);
		}
		jw_lit(w, ",\"history+\":[");
		histitems(w, s, s->nhist - s->jnew);
		jw_lit(w, "]}\n");
	} else {
		jw_lit(w, "}\n");
	}
	s->jnew = 0;
	s->jmeta = 0;
	s->jsaved = 1;
}

/*
 * Its record is due: rendered when the journal is written, so a session
 * changed many times between two writes is written once.
 */
static void
save(struct session *s)
{
	if (journaling && !s->dirty) {
		s->dirty = 1;
		dirty[ndirty++] = s;
	}
}

/*
 * After a session is made or its agent or dir changed: their lengths and
 * whether they need escaping, kept for rendering (store.c keeps the id's).
 */
static void
measure(struct session *s)
{
	s->agentlen = strlen(s->agent);
	s->dirlen = strlen(s->dir);
	s->agentplain = json_plain(s->agent, s->agentlen);
	s->dirplain = json_plain(s->dir, s->dirlen);
}

/*
 * A new session, Claude Code's unless told otherwise (PROTOCOL.md), room
 * made for it: NULL when the table is full of open sessions.
 */
static struct session *
create(const struct proto_env *env, const char *id, int st)
{
	struct session *s;

	if (makeroom() < 0)
		return NULL;
	s = store_insert(id, st, env->mono, env->wall);
	memcpy(s->agent, AGENTDEFAULT, sizeof(AGENTDEFAULT));
	measure(s);
	return s;
}

/* A working directory, copied when it is not the session's already. */
static void
setdir(struct session *s, const char *dir)
{
	if (s->hasdir && !strcmp(s->dir, dir))
		return;
	memcpy(s->dir, dir, strlen(dir) + 1);
	s->hasdir = 1;
	s->jmeta = 1;
	measure(s);
}

/* A kept string: copied as it is when it needs no escaping. */
static void
text(struct jw *w, const char *t, size_t n, int plain)
{
	if (plain)
		jw_mem(w, t, n);
	else
		jw_esc(w, t, n);
}

/* Keeps at most MSGMAX bytes of text, cut at a UTF-8 character boundary. */
static void
setmsg(struct session *s, const char *text)
{
	size_t n = strlen(text);

	if (n > MSGMAX) {
		n = MSGMAX;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(s->msg, text, n);
	s->msg[n] = '\0';
	s->hasmsg = 1;
	s->jmeta = 1;
}

static int
cmd_set(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	struct session *s;
	struct jfield *f;
	unsigned long long prio = 0;
	int st, present, hasdir, hasagent, created = 0, changed;
	char agent[AGENTMAX + 1];
	struct jw w;
	size_t at;

	if (getid(r, idbuf) < 0)
		return error(o, why, NULL);
	if (getstr(r, "status", strbuf, sizeof(strbuf), &present) < 0)
		return error(o, why, NULL);
	if (!present)
		return error(o, "SET requires status", NULL);
	if ((st = parsestatus(strbuf)) < 0)
		return error(o, "invalid status: %s (expected: working, "
		             "attention, question, closed)", strbuf);
	if ((f = field(r, "priority")) && f->type != J_NULL) {
		if (f->type != J_NUMBER)
			return error(o, "field priority must be a number", NULL);
		switch (json_u64(r->line + f->off, f->len, &prio)) {
		case -1:
			return error(o, "field priority must be a non-negative "
			             "integer", NULL);
		case -2:
			return error(o, "field priority is out of range", NULL);
		}
	}
	if (getstr(r, "agent_type", agent, sizeof(agent), &hasagent) < 0)
		return error(o, why, NULL);
	if (hasagent && !agent[0])
		return error(o, "field agent_type is empty", NULL);
	if (getstr(r, "working_dir", strbuf, sizeof(strbuf), &hasdir) < 0)
		return error(o, why, NULL);
	hasdir = hasdir && strbuf[0];

	if (!(s = store_find(idbuf))) {
		if (!(s = create(env, idbuf, st)))
			return error(o, "session table full", NULL);
		created = 1;
	}
	changed = created || s->status != st || s->priority != prio;
	store_setstatus(s, st, env->mono, env->wall);
	/* most SETs repeat agent and dir: copied only when they differ */
	if (s->priority != prio) {
		s->priority = prio;
		s->jmeta = 1;
	}
	if (hasagent && strcmp(s->agent, agent)) {
		memcpy(s->agent, agent, strlen(agent) + 1);
		s->jmeta = 1;
		measure(s);
	}
	if (hasdir)
		setdir(s, strbuf);
	replysnap(&w, env, s, &at);
	if (changed)
		note_update(env, s, w.buf + at, w.len - at - 2);
	save(s);
	if (st == ST_CLOSED)
		closed(s);
	return finish(o, &w);
}

static int
cmd_get(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	struct session *s;
	struct jw w;
	size_t at;

	if (getid(r, idbuf) < 0)
		return error(o, why, NULL);
	if (!(s = store_find(idbuf)))
		return error(o, "session not found: %s", idbuf);
	replysnap(&w, env, s, &at);
	return finish(o, &w);
}

static int
cmd_list(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	struct session *s;
	struct jw w;
	int pos = 0, n = 0;

	(void)r;
	okbegin(&w);
	jw_lit(&w, "[");
	while ((s = store_next(&pos))) {
		if (n++)
			jw_lit(&w, ",");
		snapshot(&w, env, s);
	}
	jw_lit(&w, "]}\n");
	return finish(o, &w);
}

static int
cmd_rm(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	struct session *s;
	struct jw w;
	size_t at;

	if (getid(r, idbuf) < 0)
		return error(o, why, NULL);
	if (!(s = store_find(idbuf)))
		return error(o, "session not found: %s", idbuf);
	if (s->status == ST_CLOSED) {
		replysnap(&w, env, s, &at);
		return finish(o, &w);
	}
	store_setstatus(s, ST_CLOSED, env->mono, env->wall);
	replysnap(&w, env, s, &at);
	note_update(env, s, w.buf + at, w.len - at - 2);
	save(s);
	closed(s);
	return finish(o, &w);
}

static int
cmd_delete(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	struct session *s;
	struct jw w;
	long long t;

	if (getid(r, idbuf) < 0)
		return error(o, why, NULL);
	if (!(s = store_find(idbuf)))
		return error(o, "session not found: %s", idbuf);
	okbegin(&w);
	snapshot(&w, env, s);
	jw_lit(&w, "}\n");
	/* how long it kept the daemon busy outlives it */
	t = s->status == ST_CLOSED ? s->since : env->mono;
	if (t > deletedat)
		deletedat = t;
	drop(s);
	return finish(o, &w);
}

static int
cmd_reopen(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	struct session *s;
	struct stat sb;
	struct jw w;
	size_t at;

	if (getid(r, idbuf) < 0)
		return error(o, why, NULL);
	if (!(s = store_find(idbuf)))
		return error(o, "SESSION_NOT_FOUND No closed session with ID: %s",
		             idbuf);
	if (s->status != ST_CLOSED)
		return error(o, "session is not closed: %s", idbuf);
	if (!s->hasdir)
		return error(o, "NOT_RESUMABLE No working directory recorded "
		             "for session %s", idbuf);
	/* a local stat(); the path is the user's own working directory */
	if (stat(s->dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return error(o, "WORKING_DIR_MISSING Working directory no longer "
		             "exists: %s", s->dir);
	store_setstatus(s, ST_ATTENTION, env->mono, env->wall);
	if (s->priority) { /* reopened, it starts again, as in ACD */
		s->priority = 0;
		s->jmeta = 1;
	}
	save(s);
	replysnap(&w, env, s, &at);
	note_update(env, s, w.buf + at, w.len - at - 2);
	return finish(o, &w);
}

static int
cmd_sub(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	struct session *s;
	struct jw w;
	int snap = 0, pos = 0;

	if (getbool(r, "snapshot", &snap) < 0)
		return error(o, "field snapshot must be a boolean", NULL);
	okbegin(&w);
	jw_raw(&w, "\"subscribed\"}\n");
	if (usagelen) {
		jw_raw(&w, "{\"version\":1,\"type\":\"usage\",\"usage\":");
		usageobj(&w);
		jw_raw(&w, "}\n");
	}
	while (snap && (s = store_next(&pos))) {
		jw_raw(&w, "{\"version\":1,\"type\":\"update\",\"session\":");
		snapshot(&w, env, s);
		jw_raw(&w, "}\n");
	}
	if (finish(o, &w) == PROTO_AGAIN)
		return PROTO_AGAIN;
	o->subscribe = 1;
	return PROTO_DONE;
}

static int
cmd_status(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	struct jw w;
	long kb = env->memkb ? env->memkb() : -1;
	char mb[32];

	(void)r;
	snprintf(mb, sizeof(mb), "%.1f", kb < 0 ? 0.0 : kb / 1024.0);
	okbegin(&w);
	jw_raw(&w, "{\"uptime_seconds\":");
	jw_i64(&w, (env->mono - env->started) / 1000);
	jw_raw(&w, ",\"sessions\":{\"active\":");
	jw_i64(&w, store_count() - store_nclosed());
	jw_raw(&w, ",\"closed\":");
	jw_i64(&w, store_nclosed());
	jw_raw(&w, "},\"connections\":");
	jw_i64(&w, env->connections);
	jw_raw(&w, ",\"memory_mb\":");
	jw_raw(&w, mb);
	jw_raw(&w, ",\"socket_path\":");
	jw_str(&w, env->sockpath, strlen(env->sockpath));
	jw_raw(&w, "}}\n");
	return finish(o, &w);
}

static int
cmd_dump(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	struct session *s;
	struct jw w;
	int pos = 0, n = 0;

	(void)r;
	okbegin(&w);
	jw_raw(&w, "{\"uptime_seconds\":");
	jw_i64(&w, (env->mono - env->started) / 1000);
	jw_raw(&w, ",\"socket_path\":");
	jw_str(&w, env->sockpath, strlen(env->sockpath));
	jw_raw(&w, ",\"sessions\":[");
	while ((s = store_next(&pos))) {
		jw_raw(&w, n++ ? ",{\"session_id\":" : "{\"session_id\":");
		jw_str(&w, s->id, strlen(s->id));
		jw_raw(&w, ",\"status\":\"");
		jw_raw(&w, statusnames[s->status]);
		jw_raw(&w, "\",\"working_dir\":");
		if (s->hasdir)
			jw_str(&w, s->dir, strlen(s->dir));
		else
			jw_raw(&w, "null");
		jw_raw(&w, ",\"elapsed_seconds\":");
		jw_i64(&w, (env->mono - s->since) / 1000);
		jw_raw(&w, ",\"closed\":");
		jw_raw(&w, s->status == ST_CLOSED ? "true}" : "false}");
	}
	jw_raw(&w, "],\"session_counts\":{\"active\":");
	jw_i64(&w, store_count() - store_nclosed());
	jw_raw(&w, ",\"closed\":");
	jw_i64(&w, store_nclosed());
	jw_raw(&w, "},\"connections\":");
	jw_i64(&w, env->connections);
	jw_raw(&w, "}}\n");
	return finish(o, &w);
}

static int
cmd_stop(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	struct session *s;
	struct jw w;
	int confirmed = 0, active = 0, pos = 0;

	while ((s = store_next(&pos)))
		active += s->status != ST_CLOSED && !inactive(env, s);
	if (getbool(r, "confirmed", &confirmed) < 0)
		return error(o, "field confirmed must be a boolean", NULL);
	okbegin(&w);
	if (active > 0 && !confirmed) {
		jw_raw(&w, "{\"stop_status\":\"confirm_required\","
		       "\"active_count\":");
		jw_i64(&w, active);
		jw_raw(&w, "}}\n");
		return finish(o, &w);
	}
	jw_raw(&w, "{\"stop_status\":\"ok\"}}\n");
	o->stop = 1;
	return finish(o, &w);
}

static int
cmd_usage(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	static const char *states[] = {
		[USAGE_NEVER] = "never", [USAGE_OK] = "ok",
		[USAGE_UNAVAILABLE] = "unavailable",
	};
	struct jw w;

	(void)env;
	(void)r;
	okbegin(&w);
	jw_raw(&w, "{\"state\":\"");
	jw_raw(&w, states[usagestate]);
	jw_raw(&w, "\",\"fetched_at\":");
	if (usagelen)
		jw_i64(&w, usageat);
	else
		jw_raw(&w, "null");
	jw_raw(&w, ",\"usage\":");
	if (usagelen)
		usageobj(&w);
	else
		jw_raw(&w, "null");
	jw_raw(&w, "}}\n");
	return finish(o, &w);
}

/*
 * Counts by status and the session most in need of the user (attention,
 * then question, then working; higher priority, then waiting longer),
 * from one walk of the table however many variables a template holds.
 */
static void
count(struct tally *t, long long mono)
{
	static const int rank[] = {
		[ST_WORKING] = 1, [ST_ATTENTION] = 3, [ST_QUESTION] = 2,
		[ST_CLOSED] = 0,
	};
	const struct session *top = NULL;
	struct session *s;
	int pos = 0;

	memset(t, 0, sizeof(*t));
	while ((s = store_next(&pos))) {
		t->sessions++;
		t->n[s->status]++;
		if (s->status == ST_CLOSED)
			continue;
		t->inactive += mono - s->active > INACTIVESECS * 1000LL;
		if (!top || rank[s->status] > rank[top->status] ||
		    (rank[s->status] == rank[top->status] &&
		     (s->priority > top->priority ||
		      (s->priority == top->priority && s->since < top->since))))
			top = s;
	}
	t->top = top;
	t->valid = 1;
	t->mono = mono;
}

static const struct tally *
tallied(const struct proto_env *env)
{
	if (!tally.valid)
		count(&tally, env->mono);
	return &tally;
}

/* Looks up a dotted key in the usage object, e.g. five_hour.utilization. */
static int
usagefield(const char *key, char *out, size_t size)
{
	struct jfield f[FIELDMAX];
	const char *s = usage, *dot;
	size_t n = usagelen, klen;
	int nf, i;

	if (!usagelen)
		return -1;
	for (;;) {
		if (json_scan(s, n, f, FIELDMAX, &nf) != JE_OK)
			return -1;
		dot = strchr(key, '.');
		klen = dot ? (size_t)(dot - key) : strlen(key);
		for (i = 0; i < nf; i++)
			if (strlen(f[i].key) == klen && !strncmp(f[i].key, key, klen))
				break;
		if (i == nf)
			return -1;
		if (!dot) {
			if (f[i].type == J_STRING)
				return json_str(s + f[i].off, f[i].len, out, size) < 0 ?
				       -1 : 0;
			if (f[i].len >= size)
				return -1;
			memcpy(out, s + f[i].off, f[i].len);
			out[f[i].len] = '\0';
			return 0;
		}
		if (f[i].type != J_OBJECT)
			return -1;
		s += f[i].off;
		n = f[i].len;
		key = dot + 1;
	}
}

/* The value of a template variable; "" when unknown. */
static int
variable(const struct proto_env *env, const struct session *self,
         const char *name, size_t n, char *out, size_t size)
{
	static const char *pcts[][4] = {
		{ "usage.5h", "five_hour.utilization",
		  "usage.5h.reset", "five_hour.resets_at" },
		{ "usage.7d", "seven_day.utilization",
		  "usage.7d.reset", "seven_day.resets_at" },
	};
	const struct session *s;
	const struct tally *t;
	const char *b;
	char key[VARNAMEMAX + 1], num[64];
	struct jw nw;
	size_t blen;
	int i, count, st;
	long long reset;
	double pct;

	out[0] = '\0';
	if (n >= sizeof(key))
		return 0;
	memcpy(key, name, n);
	key[n] = '\0';
	if ((st = parsestatus(key)) >= 0 || !strcmp(key, "active") ||
	    !strcmp(key, "inactive") || !strcmp(key, "sessions")) {
		t = tallied(env);
		count = st >= 0 ? t->n[st] :
		        !strcmp(key, "active") ? t->sessions - t->n[ST_CLOSED] :
		        !strcmp(key, "inactive") ? t->inactive : t->sessions;
		jw_init(&nw, out, size - 1);
		jw_u64(&nw, (unsigned long long)count);
		out[nw.len] = '\0';
		return 0;
	}
	for (i = 0; i < (int)LEN(pcts); i++) {
		if (!strcmp(key, pcts[i][0])) {
			if (usagefield(pcts[i][1], num, sizeof(num)) == 0 &&
			    json_num(num, strlen(num), &pct) == 0)
				snprintf(out, size, "%.0f", pct);
			return 0;
		}
		if (!strcmp(key, pcts[i][2])) {
			if (usagefield(pcts[i][3], num, sizeof(num)) == 0 &&
			    isotime(num, &reset) == 0)
				duration(out, size, reset - env->wall);
			return 0;
		}
	}
	if (!strncmp(key, "top.", 4))
		s = tallied(env)->top;
	else if (!strncmp(key, "self.", 5))
		s = self;
	else
		return 0;
	if (!s)
		return 0;
	b = strchr(key, '.') + 1;
	jw_init(&nw, out, size - 1); /* size holds the longest of them */
	if (!strcmp(b, "id")) {
		jw_mem(&nw, s->id, s->idlen);
	} else if (!strcmp(b, "status")) {
		jw_raw(&nw, statusnames[s->status]);
	} else if (!strcmp(b, "dir") && s->hasdir) {
		b = basename_of(s->dir, &blen);
		jw_mem(&nw, b, blen);
	} else if (!strcmp(b, "path") && s->hasdir) {
		jw_mem(&nw, s->dir, s->dirlen);
	} else if (!strcmp(b, "elapsed")) {
		duration(out, size, (env->mono - s->since) / 1000);
		return 0;
	} else if (!strcmp(b, "idle")) {
		duration(out, size, (env->mono - s->active) / 1000);
		return 0;
	} else if (!strcmp(b, "message") && s->hasmsg) {
		jw_raw(&nw, s->msg);
	} else if (!strcmp(b, "agent")) {
		jw_mem(&nw, s->agent, s->agentlen);
	}
	out[nw.len] = '\0';
	return 0;
}

/*
 * A session's text made unable to drive a terminal, in place: C0, DEL and
 * C1 (U+0080..U+009F) controls become '?'. Its new length.
 */
static size_t
tame(char *t)
{
	size_t i, k;
	unsigned c;

	for (i = 0; (c = (unsigned char)t[i]) >= 0x20 && c < 0x7f; i++)
		; /* printable ASCII, nearly always */
	for (k = i; t[i]; i++) {
		c = (unsigned char)t[i];
		if (c == 0xC2 && ((unsigned char)t[i + 1] & 0xE0) == 0x80) {
			c = '?'; /* two bytes */
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			c = '?';
		}
		t[k++] = (char)c;
	}
	return k;
}

/*
 * Renders template t into w: {name} is a variable, {name|json} the same
 * escaped for a JSON string, {?...} a part left out when any variable in
 * it is empty or 0, {{ and }} literal braces. Returns 1 when a variable
 * rendered empty or 0.
 */
#define VALMAX (DIRMAX + MSGMAX + 64)
BUILDCHECK(valmax, IDMAX < VALMAX && AGENTMAX < VALMAX); /* variable() */

static int
render(const struct proto_env *env, const struct session *self,
       const char *t, size_t n, struct jw *w, int depth)
{
	static char val[VALMAX]; /* used between recursions */
	size_t i, j, start, vlen;
	int open, empty = 0, json;
	const char *bar;
	struct jw sub;
	char subbuf[TEXTMAX];

	for (i = 0; i < n; i++) {
		if (t[i] != '{' && t[i] != '}') { /* a run of plain text */
			for (j = i + 1; j < n && t[j] != '{' && t[j] != '}'; j++)
				;
			jw_mem(w, t + i, j - i);
			i = j - 1;
			continue;
		}
		if (t[i] == '}') { /* "}}" or a lone one: one brace */
			jw_mem(w, "}", 1);
			i += i + 1 < n && t[i + 1] == '}';
			continue;
		}
		if (i + 1 < n && t[i + 1] == '{') {
			jw_mem(w, "{", 1);
			i++;
			continue;
		}
		/* find the matching close brace */
		for (j = i + 1, open = 1; j < n; j++) {
			if (t[j] == '{')
				open++;
			else if (t[j] == '}' && --open == 0)
				break;
		}
		if (j >= n) { /* unterminated: literal */
			jw_mem(w, t + i, n - i);
			break;
		}
		start = i + 1;
		if (t[start] == '?' && depth >= FORMATDEPTH) {
			empty = 1; /* nested too deep: left out */
		} else if (t[start] == '?') {
			jw_init(&sub, subbuf, sizeof(subbuf));
			if (!render(env, self, t + start + 1, j - start - 1, &sub,
			    depth + 1) && !sub.full && sub.len <= w->cap - w->len)
				jw_mem(w, sub.buf, sub.len);
		} else {
			vlen = j - start;
			bar = memchr(t + start, '|', vlen);
			json = bar && (size_t)(t + j - bar) == 5 &&
			       !memcmp(bar, "|json", 5);
			if (bar)
				vlen = (size_t)(bar - (t + start));
			variable(env, self, t + start, vlen, val, sizeof(val));
			if (!val[0] || !strcmp(val, "0"))
				empty = 1;
			if (json) {
				jw_esc(w, val, strlen(val));
			} else {
				jw_mem(w, val, tame(val));
			}
		}
		i = j;
	}
	return empty;
}

/* A rendered text as one line: its line breaks become spaces. */
static void
oneline(char *t, size_t n)
{
	for (; n > 0; n--, t++)
		if (*t == '\n' || *t == '\r')
			*t = ' ';
}

static int
cmd_format(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	static char tmpl[FORMATMAX + 1];
	char text[TEXTMAX];
	const struct session *self = NULL;
	struct jw w, tw;
	int present, raw = 0;

	if (getstr(r, "format", tmpl, sizeof(tmpl), &present) < 0)
		return error(o, why, NULL);
	if (!present)
		return error(o, "missing field: format", NULL);
	if (getbool(r, "raw", &raw) < 0)
		return error(o, "field raw must be a boolean", NULL);
	if (getstr(r, "session_id", idbuf, sizeof(idbuf), &present) < 0)
		return error(o, why, NULL);
	if (present)
		self = store_find(idbuf);
	jw_init(&tw, text, sizeof(text));
	render(env, self, tmpl, strlen(tmpl), &tw, 0);
	if (tw.full)
		return error(o, "rendered text too long", NULL);
	jw_init(&w, replybuf, sizeof(replybuf));
	if (raw) {
		oneline(text, tw.len); /* whatever the template held */
		jw_mem(&w, text, tw.len);
		jw_lit(&w, "\n");
	} else {
		okbegin(&w);
		jw_str(&w, text, tw.len);
		jw_lit(&w, "}\n");
	}
	return finish(o, &w);
}

static int
statusline(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	static const char fmt[] = STATUSFMT;
	char text[TEXTMAX];
	struct jw w, tw;

	if (getid(r, idbuf) < 0)
		idbuf[0] = '\0';
	ratelimits(env, r);
	jw_init(&tw, text, sizeof(text));
	render(env, idbuf[0] ? store_find(idbuf) : NULL, fmt, sizeof(fmt) - 1,
	       &tw, 0);
	if (tw.full)
		tw.len = 0;
	oneline(text, tw.len);
	jw_init(&w, replybuf, sizeof(replybuf));
	jw_mem(&w, text, tw.len);
	jw_lit(&w, "\n");
	return finish(o, &w);
}

/* A subagent, by its agent_id as sent: never 0, which means none. */
static unsigned
waiter(const char *id, size_t n)
{
	unsigned h = store_hash(id, n);

	return h ? h : 1;
}

/*
 * Whether the payload's field named by the rule holds its value: a string,
 * decoded, or true, false or a number as written (is_interrupt).
 */
static int
matches(struct req *r, const struct rule *rule)
{
	static char value[RULEMATCHMAX + 1];
	struct jfield *f = field(r, rule->field);
	size_t n = strlen(rule->value);

	if (!f || f->type == J_NULL || f->type == J_OBJECT ||
	    f->type == J_ARRAY)
		return 0;
	if (f->esc) /* a string to decode first */
		return json_str(r->line + f->off, f->len, value,
		                sizeof(value)) == (long)n &&
		       !memcmp(value, rule->value, n);
	return f->len == n && !memcmp(r->line + f->off, rule->value, n);
}

/*
 * The subagents s waits for once this event (from sub, 0: the parent) of
 * rule is in, into w: their number, or -1 when the event only refreshes
 * activity. See RULES in config.def.h.
 */
static int
waitset(const struct rule *rule, const struct session *s, unsigned sub,
        unsigned *w)
{
	int i, n = s ? s->nwaiters : 0;

	if (n > 0)
		memcpy(w, s->waiters, (size_t)n * sizeof(*w));
	if (!sub) { /* the parent's */
		if (rule->sub == SUB_ONLY) /* an older version's, unsaid whose */
			return -1;
		if (rule->sub == SUB_UNSAID) /* whose prompt, it does not say */
			return n;
		if (rule->sub == SUB_YES && !WAITS(rule->status))
			return n ? -1 : 0; /* a subagent still waits */
		return 0; /* its turn, or its own wait */
	}
	if (rule->sub == SUB_NO || !s)
		return -1;
	for (i = 0; i < n && w[i] != sub; i++)
		;
	if (WAITS(rule->status)) { /* not over the parent's own wait */
		if (n == 0 && s->status != ST_WORKING)
			return -1;
		if (i == n && n < SUBWAITMAX)
			w[n++] = sub;
		return n;
	}
	if (i == n) /* it made no wait: not its to end */
		return -1;
	w[i] = w[--n];
	return n;
}

/* A raw Claude Code hook event: maps it through the rules, replies nothing. */
static int
hook(const struct proto_env *env, struct proto_out *o, struct req *r)
{
	static char event[RULEMATCHMAX + 1];
	static char msg[MSGMAX + 8];
	const struct rule *rule = NULL;
	struct session *s;
	struct jfield *agentid, *mf;
	unsigned sub = 0, w[SUBWAITMAX];
	int present, i, nw = -1, created = 0, changed = 0;

	o->reply = NULL;
	o->replylen = 0;
	if (getid(r, idbuf) < 0) {
		complain(env, "hook event ignored: %s", why);
		return PROTO_DONE;
	}
	if (getstr(r, "hook_event_name", event, sizeof(event), &present) < 1)
		return PROTO_DONE;
	s = store_find(idbuf);
	if ((agentid = field(r, "agent_id")) && agentid->type != J_NULL)
		sub = waiter(r->line + agentid->off, agentid->len);
	for (i = 0; i < (int)LEN(rules) && !rule; i++)
		if (rules[i].event[0] == event[0] && /* most differ there */
		    !strcmp(rules[i].event, event) &&
		    (!rules[i].field || matches(r, &rules[i])))
			rule = &rules[i];
	if (rule && rule->status != RULE_ACTIVITY)
		nw = waitset(rule, s, sub, w);
	if (nw > 0 && !WAITS(rule->status)) { /* others still wait */
		memcpy(s->waiters, w, (size_t)nw * sizeof(*w));
		s->nwaiters = nw;
		nw = -1;
	}
	if (nw < 0) { /* only activity */
		if (s) {
			s->active = env->mono;
			save(s);
		}
		return PROTO_DONE;
	}
	if (!s) {
		if (rule->status == ST_CLOSED)
			return PROTO_DONE;
		if (!(s = create(env, idbuf, rule->status))) {
			complain(env, "session table full: hook event for %s "
			         "dropped", idbuf);
			return PROTO_DONE;
		}
		created = 1;
	} else if (s->status != rule->status) {
		store_setstatus(s, rule->status, env->mono, env->wall);
		changed = 1;
	} else {
		s->active = env->mono;
	}
	memcpy(s->waiters, w, (size_t)nw * sizeof(*w));
	s->nwaiters = nw;
	/* the parent's cwd is the session's: a subagent may work elsewhere */
	if (!sub &&
	    getstr(r, "cwd", strbuf, sizeof(strbuf), &present) > 0 && strbuf[0])
		setdir(s, strbuf);
	/* the rule's text, else any event's message (PROTOCOL.md) */
	if ((mf = field(r, rule->msgfield ? rule->msgfield : "message")) &&
	    mf->type == J_STRING &&
	    json_strcut(r->line + mf->off, mf->len, msg, sizeof(msg)) > 0)
		setmsg(s, msg);
	if (created || changed)
		note_update(env, s, NULL, 0);
	save(s);
	if (rule->status == ST_CLOSED)
		closed(s);
	if (usagestate != USAGE_OK)
		o->usagewanted = 1;
	return PROTO_DONE;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
days(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* An RFC 3339 time (2026-11-24T18:00:00.5+01:00) as Unix seconds. */
static int
isotime(const char *s, long long *t)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, n = 0;
	char sign;

	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h,
	           &mi, &sec, &n) != 6 || n == 0 || mo < 1 || mo > 12 ||
	    d < 1 || d > 31)
		return -1;
	s += n;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	sign = *s;
	if ((sign == '+' || sign == '-') &&
	    sscanf(s + 1, "%2d:%2d", &oh, &om) != 2)
		return -1;
	else if (sign != '+' && sign != '-' && sign != 'Z' && sign != 'z')
		return -1;
	*t = days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	if (sign == '+')
		*t -= oh * 3600 + om * 60;
	else if (sign == '-')
		*t += oh * 3600 + om * 60;
	return 0;
}

static void
writeiso(struct jw *w, long long t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		jw_lit(w, "null");
		return;
	}
	jw_str(w, buf, strlen(buf));
}

/* The usage object as clients see it: with the time it was fetched. */
static void
usageobj(struct jw *w)
{
	jw_mem(w, usage, usagelen - 1);
	jw_lit(w, ",\"fetched_at\":");
	jw_i64(w, usageat);
	jw_lit(w, "}");
}

/* Replaces the usage object, as of at, and tells the subscribers. */
static void
setusage(const char *obj, size_t len, long long at)
{
	memcpy(usage, obj, len);
	usagelen = len;
	usageat = at;
	usagestate = USAGE_OK;
	usagepart = 0; /* the status line says otherwise after */
	if (!listening)
		return;
	jw_lit(&notes, "{\"version\":1,\"type\":\"usage\",\"usage\":");
	usageobj(&notes);
	jw_lit(&notes, "}\n");
}

/*
 * Writes the window name of the usage kept, when one is kept and its
 * period has not ended (or its end is unknown): the statusLine payload may
 * leave a window out, and ACD's clients cannot read a usage object without
 * both.
 */
static int
keptwindow(const struct proto_env *env, struct jw *w, const char *const *win,
           int got)
{
	static char obj[USAGEMAX];
	char iso[64];
	long long t;

	if ((usagefield(win[1], iso, sizeof(iso)) == 0 &&
	    isotime(iso, &t) == 0 && t <= env->wall) ||
	    usagefield(win[0], obj, sizeof(obj)) < 0 || obj[0] != '{')
		return 0;
	jw_raw(w, got ? ",\"" : "\"");
	jw_raw(w, win[0]);
	jw_raw(w, "\":");
	jw_raw(w, obj);
	return 1;
}

/*
 * Claude Code's statusLine payload carries rate_limits.five_hour and
 * .seven_day ({used_percentage, resets_at epoch}): usage for free.
 */
static void
ratelimits(const struct proto_env *env, struct req *r)
{
	static const char *const windows[][2] = {
		{ "five_hour", "five_hour.resets_at" },
		{ "seven_day", "seven_day.resets_at" },
	};
	static char obj[USAGEMAX + 128];
	struct jfield *rl, win[FIELDMAX], in[FIELDMAX];
	struct jw w;
	const char *base;
	char num[32];
	double pct;
	unsigned long long reset;
	int nw, ni, i, k, j, got = 0, fresh = 0;
	long long at;

	if (!(rl = field(r, "rate_limits")) || rl->type != J_OBJECT)
		return;
	base = r->line + rl->off;
	if (json_scan(base, rl->len, win, FIELDMAX, &nw) != JE_OK)
		return;
	jw_init(&w, obj, sizeof(obj));
	jw_raw(&w, "{");
	for (i = 0; i < (int)LEN(windows); i++) {
		for (k = 0; k < nw; k++)
			if (!strcmp(win[k].key, windows[i][0]) &&
			    win[k].type == J_OBJECT)
				break;
		if (k == nw || json_scan(base + win[k].off, win[k].len, in,
		    FIELDMAX, &ni) != JE_OK)
			ni = 0; /* not there: its percentage stays unknown */
		pct = -1;
		reset = 0;
		for (j = 0; j < ni; j++) {
			if (!strcmp(in[j].key, "used_percentage") &&
			    in[j].type == J_NUMBER)
				json_num(base + win[k].off + in[j].off, in[j].len,
				         &pct);
			if (!strcmp(in[j].key, "resets_at") &&
			    in[j].type == J_NUMBER)
				json_u64(base + win[k].off + in[j].off, in[j].len,
				         &reset);
		}
		pct = pct == 0 ? 0 : pct; /* -0 printed as 0 */
		if (pct < 0 || pct > 1000) {
			got += keptwindow(env, &w, windows[i], got);
			continue;
		}
		jw_raw(&w, got++ ? ",\"" : "\"");
		fresh++;
		jw_raw(&w, windows[i][0]);
		jw_raw(&w, "\":{\"utilization\":");
		snprintf(num, sizeof(num), "%.2f", pct);
		jw_raw(&w, num);
		jw_raw(&w, ",\"resets_at\":");
		if (reset)
			writeiso(&w, (long long)reset);
		else
			jw_raw(&w, "null");
		jw_raw(&w, "}");
	}
	if (!fresh) /* kept windows alone are no news */
		return;
	jw_raw(&w, ",\"source\":\"statusline\"}");
	if (w.full)
		return;
	/*
	 * Unchanged data only refreshes its age. With a kept window it is
	 * as old as before: due for a fetch, which renews it all; so is
	 * usage with a window missing, whatever its age.
	 */
	at = got > fresh ? usageat : env->wall;
	if (usagestate == USAGE_OK && usagelen == w.len &&
	    !memcmp(usage, obj, w.len))
		usageat = at;
	else
		setusage(obj, w.len, at);
	usagepart = got < (int)LEN(windows);
}

/*
 * The usage command's output: one JSON object. It is kept as printed,
 * with "source" added, so its five_hour and seven_day objects have the
 * shape the statusLine data is given above. err: the fetch failed.
 */
void
proto_usage(const struct proto_env *env, struct proto_out *o,
            const char *text, size_t len, const char *err)
{
	static char obj[USAGEMAX + 128];
	struct jfield f[FIELDMAX];
	struct jw w;
	int nf, i;

	o->reply = NULL;
	o->replylen = 0;
	jw_init(&notes, notebuf, sizeof(notebuf));
	listening = 1;
	if (!err) {
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' ||
		       text[len - 1] == '\r' || text[len - 1] == '\t'))
			len--;
		if (json_scan(text, len, f, FIELDMAX, &nf) != JE_OK)
			err = "usage command did not print a JSON object";
	}
	if (!err) {
		jw_init(&w, obj, sizeof(obj));
		jw_raw(&w, "{");
		for (i = 0; i < nf; i++) {
			if (!f[i].key[0] || !strcmp(f[i].key, "source"))
				continue;
			if (w.len > 1)
				jw_raw(&w, ",");
			jw_str(&w, f[i].key, strlen(f[i].key));
			jw_raw(&w, ":");
			if (f[i].type == J_STRING)
				jw_mem(&w, text + f[i].off - 1, f[i].len + 2);
			else /* it may span lines; a notification may not */
				jw_compact(&w, text + f[i].off, f[i].len);
		}
		jw_raw(&w, w.len > 1 ? ",\"source\":\"command\"}" :
		       "\"source\":\"command\"}");
		if (w.full)
			err = "usage command printed too much";
		else
			setusage(obj, w.len, env->wall);
	}
	if (err) {
		fprintf(stderr, "sessiond: %s\n", err);
		if (usagestate == USAGE_OK || usagestate == USAGE_NEVER)
			usagestate = USAGE_UNAVAILABLE;
		jw_raw(&notes, "{\"version\":1,\"type\":\"warn\",\"message\":");
		jw_str(&notes, err, strlen(err));
		jw_raw(&notes, "}\n");
	}
	o->note = notebuf;
	o->notelen = notes.full ? 0 : notes.len;
}

/* 1 when usage data is missing, failed or older than interval seconds. */
int
proto_usagestale(long long wall, long long interval)
{
	return usagestate != USAGE_OK || usagepart ||
	       wall - usageat >= interval;
}

/*
 * Monotonic ms until which a session was last active (open, not inactive):
 * an open one until it turns inactive, a closed one until it closed, a
 * deleted one until then; LLONG_MIN if none ever was.
 */
long long
proto_busyuntil(void)
{
	struct session *s;
	long long last = deletedat, t;
	int pos = 0;

	while ((s = store_next(&pos))) {
		t = s->status == ST_CLOSED ? s->since :
		    s->active + INACTIVESECS * 1000LL;
		if (t > last)
			last = t;
	}
	return last;
}

/*
 * Journal records waiting: deletions, then the records of the sessions
 * changed since, rendered now as many as fit. The caller writes them,
 * calls proto_journalclear() and asks again until this returns 0.
 */
size_t
proto_journal(const struct proto_env *env, const char **p)
{
	int i;

	/* in the order they first changed: a restart keeps the table's */
	for (i = 0; i < ndirty && jnl.cap - jnl.len >= RECMAX; i++) {
		dirty[i]->dirty = 0;
		record(&jnl, env, dirty[i], 0);
	}
	memmove(dirty, dirty + i, (size_t)(ndirty - i) * sizeof(dirty[0]));
	ndirty -= i;
	*p = jbuf;
	return jnl.len;
}

/* 0: nothing waiting; 1: a write is due; 2: due before the next line. */
int
proto_journaldue(void)
{
	if (jnl.len > JOURNALBUF - 4 * RECMAX)
		return 2;
	return jnl.len > 0 || ndirty > 0;
}

/*
 * The buffer was written. -1 when deletions were lost to a full buffer:
 * write a snapshot instead.
 */
int
proto_journalclear(void)
{
	int lost = jnl.full;

	jw_init(&jnl, jbuf, sizeof(jbuf));
	return lost ? -1 : 0;
}

/* Forgets every record waiting: a snapshot of the table follows. */
void
proto_journaldrop(void)
{
	while (ndirty > 0)
		dirty[--ndirty]->dirty = 0;
	proto_journalclear();
}

/* Renders the records of the sessions from *pos on that fit in buf. */
size_t
proto_snapshot(const struct proto_env *env, char *buf, size_t cap, int *pos)
{
	struct session *s;
	struct jw w;
	size_t len;
	int last;

	jw_init(&w, buf, cap);
	for (;;) {
		last = *pos;
		if (!(s = store_next(pos)))
			break;
		len = w.len;
		record(&w, env, s, 1);
		if (w.full) {
			*pos = last;
			return len;
		}
	}
	return w.len;
}

/*
 * The fields of the record of session id; -1 when one is missing or bad.
 * A record without "history" is a delta: one of a session loaded already
 * (base) keeps what the record leaves out.
 */
static int
restorefields(const struct proto_env *env, struct req *r, struct session *t,
              int *delta, const char *id, const struct session *base)
{
	struct jfield *f, *stf, hf[FIELDMAX], *arr;
	struct hist item;
	const char *p, *end;
	char st[16];
	unsigned long long v;
	long long ms[2];
	int present, i, n, k;
	const char *keys[] = { "since_ms", "active_ms" };

	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	*delta = !field(r, "history");
	if (*delta && base) {
		t->status = base->status;
		memcpy(t->agent, base->agent, sizeof(t->agent));
		memcpy(t->dir, base->dir, sizeof(t->dir));
		memcpy(t->msg, base->msg, sizeof(t->msg));
		t->hasdir = base->hasdir;
		t->hasmsg = base->hasmsg;
		t->priority = base->priority;
		t->closeseq = base->closeseq;
	} else {
		base = NULL; /* all of it is in the record */
	}
	/* each field either is there, well-formed, or is the base's */
	if ((stf = field(r, "status")) ?
	    getstr(r, "status", st, sizeof(st), &present) < 1 ||
	    (t->status = parsestatus(st)) < 0 : !base)
		return -1;
	if ((f = field(r, "agent_type")) ?
	    getstr(r, "agent_type", t->agent, sizeof(t->agent), &present) < 1 :
	    !base)
		return -1;
	if (field(r, "working_dir") || !base) {
		t->dir[0] = '\0';
		if (getstr(r, "working_dir", t->dir, sizeof(t->dir),
		           &t->hasdir) < 0)
			return -1;
	}
	/* agent and message travel together: no message there is none */
	if (field(r, "message") || field(r, "agent_type") || !base) {
		t->msg[0] = '\0';
		if (getstr(r, "message", t->msg, sizeof(t->msg), &t->hasmsg) < 0)
			return -1;
	}
	if ((f = field(r, "priority")) ?
	    f->type != J_NUMBER ||
	    json_u64(r->line + f->off, f->len, &t->priority) < 0 : !base)
		return -1;
	/* bounded so that counting on from it can never wrap */
	if ((f = field(r, "closeseq")) ?
	    f->type != J_NUMBER ||
	    json_u64(r->line + f->off, f->len, &t->closeseq) < 0 ||
	    t->closeseq > 1ULL << 53 : !base)
		return -1;
	/* a delta's status comes with the statuses gained; a closing, numbered */
	if (stf && ((*delta && !field(r, "history+")) ||
	    (t->status == ST_CLOSED && !field(r, "closeseq"))))
		return -1;
	for (i = 0; i < 2; i++) {
		if (!(f = field(r, keys[i])) || f->type != J_NUMBER)
			return -1;
		p = r->line + f->off;
		if ((k = *p == '-') && f->len < 2)
			return -1;
		if (json_u64(p + k, f->len - k, &v) < 0 || v > LLONG_MAX / 2)
			return -1;
		ms[i] = k ? -(long long)v : (long long)v;
	}
	/* a clock that went back must not make times negative */
	t->since = env->mono - (env->wallms > ms[0] ? env->wallms - ms[0] : 0);
	t->active = env->mono - (env->wallms > ms[1] ? env->wallms - ms[1] : 0);
	if (!(arr = field(r, *delta ? "history+" : "history")))
		return *delta && t->agent[0] ? 0 : -1; /* no status gained */
	if (arr->type != J_ARRAY)
		return -1;
	/* each element is a small object: scan them one by one */
	p = r->line + arr->off + 1;
	end = r->line + arr->off + arr->len - 1;
	while (p < end) {
		while (p < end && *p != '{')
			p++;
		if (p >= end)
			break;
		for (i = 0; p + i < end && p[i] != '}'; i++)
			;
		if (json_scan(p, (size_t)i + 1, hf, FIELDMAX, &n) != JE_OK)
			return -1;
		for (k = 0, present = 0; k < n; k++) {
			if (!strcmp(hf[k].key, "status") && hf[k].type == J_STRING &&
			    hf[k].len < sizeof(st)) {
				memcpy(st, p + hf[k].off, hf[k].len);
				st[hf[k].len] = '\0';
				item.status = parsestatus(st);
				present |= item.status >= 0;
			}
			if (!strcmp(hf[k].key, "at_secs") && hf[k].type == J_NUMBER &&
			    json_u64(p + hf[k].off, hf[k].len, &v) == 0 &&
			    v < (unsigned long long)LLONG_MAX) {
				present |= 2;
				item.at = (long long)v;
			}
		}
		if (present != 3)
			return -1;
		if (t->nhist == HISTMAX) { /* keep the newest, oldest first */
			memmove(t->hist, t->hist + 1,
			        (HISTMAX - 1) * sizeof(t->hist[0]));
			t->nhist--;
		}
		t->hist[t->nhist++] = item;
		p += i + 1;
	}
	return (t->nhist > 0 || *delta) && t->agent[0] ? 0 : -1;
}

/*
 * Applies one line of the state file: a session record (updating an
 * earlier one in place) or {"deleted":ID}; proto_loaded() ends a load.
 * 0, or -1 for a bad line, -2 when the table is full.
 */
int
proto_restore(const struct proto_env *env, const char *line, size_t len)
{
	static struct req r;
	static struct session t;
	struct session *s;
	int present, delta, n;

	tally.valid = 0;
	if (scanreq(&r, line, len) != JE_OK)
		return -1;
	cmdname = "record";
	if (field(&r, "deleted")) {
		if (getstr(&r, "deleted", idbuf, sizeof(idbuf), &present) < 1)
			return -1;
		if ((s = store_find(idbuf)))
			forget(s);
		return 0;
	}
	if (getid(&r, idbuf) < 0)
		return -1;
	s = store_find(idbuf);
	if (restorefields(env, &r, &t, &delta, idbuf, s) < 0)
		return -1;
	if (delta && s) { /* the statuses gained go after those it has */
		n = s->nhist + t.nhist > HISTMAX ? s->nhist + t.nhist - HISTMAX :
		    0; /* its oldest, pushed out */
		memmove(t.hist + s->nhist - n, t.hist,
		        (size_t)t.nhist * sizeof(t.hist[0]));
		memcpy(t.hist, s->hist + n,
		       (size_t)(s->nhist - n) * sizeof(t.hist[0]));
		t.nhist += s->nhist - n;
	} else if (delta && t.nhist == 0) { /* its full record was lost */
		t.hist[0].status = t.status;
		t.hist[0].at = env->wall - (env->mono - t.since) / 1000;
		t.nhist = 1;
	}
	if (s) { /* a later record: the session keeps its place */
		store_restatus(s, t.status);
		s->since = t.since;
	} else if (store_count() == SESSMAX) {
		return -2;
	} else {
		s = store_insert(t.id, t.status, t.since, 0);
	}
	memcpy(s->agent, t.agent, sizeof(t.agent));
	memcpy(s->dir, t.dir, sizeof(t.dir));
	memcpy(s->msg, t.msg, sizeof(t.msg));
	measure(s);
	s->hasdir = t.hasdir;
	s->hasmsg = t.hasmsg;
	s->priority = t.priority;
	s->active = t.active;
	s->nhist = t.nhist;
	memcpy(s->hist, t.hist, sizeof(t.hist));
	s->histn = 0; /* rendered again */
	s->jsaved = 0; /* the next record is a full one */
	if (s->status == ST_CLOSED)
		store_setclosed(s, t.closeseq);
	return 0;
}

/*
 * After the last record: sessions idle for longer than stalesecs go, and
 * the oldest closed ones past MAXCLOSED. Not before: a pass's records
 * are in the order the sessions first changed, so a table part-way
 * through them is one the daemon never had.
 */
void
proto_loaded(const struct proto_env *env, long long stalesecs)
{
	struct session *s;
	int pos = 0;

	tally.valid = 0;
	while ((s = store_next(&pos)))
		if (env->mono - s->active > stalesecs * 1000)
			forget(s);
	while (store_nclosed() > MAXCLOSED)
		forget(store_oldestclosed());
}

/*
 * Verifies what proto.c keeps beside the table: each rendered history is
 * what rendering it again gives, the kept lengths and plain flags are
 * the strings', and the sessions whose records are due are listed once
 * each. 0 when sound.
 */
#ifdef CHECKS /* tests and the fuzzer; not the daemon */
int
proto_check(void)
{
	static char fresh[sizeof(((struct session *)0)->histjson)];
	struct session *s;
	struct tally t;
	struct jw w;
	int pos = 0, i, n = 0;

	while ((s = store_next(&pos))) {
		if (s->histn > 0 && s->histnew == 0) {
			jw_init(&w, fresh, sizeof(fresh));
			histitems(&w, s, 0);
			if (s->histn != s->nhist || w.len != s->histlen ||
			    memcmp(fresh, s->histjson, w.len))
				return -1;
		}
		if (s->idlen != strlen(s->id) || s->agentlen != strlen(s->agent) ||
		    s->dirlen != strlen(s->dir) ||
		    s->idplain != json_plain(s->id, s->idlen) ||
		    s->agentplain != json_plain(s->agent, s->agentlen) ||
		    s->dirplain != json_plain(s->dir, s->dirlen))
			return -4;
		if (s->nwaiters < 0 || s->nwaiters > SUBWAITMAX ||
		    (s->nwaiters && !WAITS(s->status))) /* only a wait has some */
			return -5;
		n += s->dirty;
	}
	if (n != ndirty)
		return -2;
	for (i = 0; i < ndirty; i++)
		if (!dirty[i]->used || !dirty[i]->dirty)
			return -3;
	if (tally.valid) { /* kept counts are still the table's */
		count(&t, tally.mono);
		if (memcmp(t.n, tally.n, sizeof(t.n)) || t.top != tally.top ||
		    t.sessions != tally.sessions || t.inactive != tally.inactive)
			return -4;
	}
	return 0;
}
#endif

/* A warn notification for a daemon-side problem. */
void
proto_warn(struct proto_out *o, const char *msg)
{
	jw_init(&notes, notebuf, sizeof(notebuf));
	jw_raw(&notes, "{\"version\":1,\"type\":\"warn\",\"message\":");
	jw_str(&notes, msg, strlen(msg));
	jw_raw(&notes, "}\n");
	o->reply = NULL;
	o->replylen = 0;
	o->note = notebuf;
	o->notelen = notes.full ? 0 : notes.len;
}

/*
 * What makes one of the n rules unable ever to match: an event or value
 * longer than RULEMATCHMAX, a field name longer than KEYMAX (the scanner
 * keeps no such name). NULL when there is nothing.
 */
const char *
proto_badrule(const struct rule *r, int n)
{
	static char msg[128];
	const char *what = NULL;
	int i;

	for (i = 0; i < n && !what; i++) {
		if (strlen(r[i].event) > RULEMATCHMAX)
			what = "event longer than RULEMATCHMAX";
		else if (r[i].value && strlen(r[i].value) > RULEMATCHMAX)
			what = "value longer than RULEMATCHMAX";
		else if ((r[i].field && strlen(r[i].field) > KEYMAX) ||
		         (r[i].msgfield && strlen(r[i].msgfield) > KEYMAX))
			what = "field name longer than KEYMAX";
		else if (r[i].field && !r[i].value)
			what = "a field without a value";
	}
	if (!what)
		return NULL;
	snprintf(msg, sizeof(msg), "rule %d (%.32s): %s, it could never match",
	         i, r[i - 1].event, what);
	return msg;
}

const char *
proto_init(int journal)
{
	const char *bad;

	if ((bad = proto_badrule(rules, (int)LEN(rules))))
		return bad;
	journaling = journal;
	deletedat = LLONG_MIN;
	tally.valid = 0;
	ndirty = 0;
	jw_init(&jnl, jbuf, sizeof(jbuf));
	store_init();
	usagestate = USAGE_NEVER;
	usagelen = 0;
	return NULL;
}

/*
 * Sorts out a scanned line. part: only the line's first LINEMAX bytes
 * were scanned; a command is then refused, a hook event (or an old
 * "Status" one) is still served from the fields found: Claude Code sends
 * session_id and hook_event_name first.
 */
static int
dispatch(const struct proto_env *env, struct proto_out *o, struct req *r,
         int part)
{
	struct jfield *cmd, *ver, *ev;
	unsigned long long v;
	char name[CMDNAMEMAX + 1];
	int i, present;

	if (!(cmd = field(r, "cmd"))) {
		tally.valid = 0; /* hook events and status lines change it */
		ev = field(r, "hook_event_name");
		if (!field(r, "session_id")) {
			if (!ev)
				return error(o, part ? "line too long" :
				             "missing field: cmd", NULL);
			complain(env, "hook event without session_id ignored");
			return PROTO_DONE;
		}
		if (part && !ev) /* what it is may lie past the cut */
			return error(o, "line too long", NULL);
		cmdname = "hook event";
		if (ev && !(ev->type == J_STRING && ev->len == 6 &&
		    !memcmp(r->line + ev->off, "Status", 6)))
			return hook(env, o, r);
		return statusline(env, o, r);
	}
	if (part)
		return error(o, "line too long", NULL);
	if ((ver = field(r, "version")) && ver->type != J_NULL) {
		if (ver->type != J_NUMBER)
			return error(o, "field version must be a number", NULL);
		if (json_u64(r->line + ver->off, ver->len, &v) < 0 || v != 1)
			return error(o, "unsupported version", NULL);
	}
	if (getstr(r, "cmd", name, sizeof(name), &present) < 0 &&
	    cmd->type != J_STRING)
		return error(o, "field cmd must be a string", NULL);
	for (i = 0; present && i < (int)LEN(cmds); i++) {
		if (iscmd(cmds[i].name, name)) {
			cmdname = cmds[i].name;
			if (!cmds[i].reads)
				tally.valid = 0;
			return cmds[i].fn(env, o, r);
		}
	}
	if (cmd->type == J_STRING && json_str(r->line + cmd->off, cmd->len,
	    strbuf, sizeof(strbuf)) >= 0)
		return error(o, "unknown command: %s", strbuf);
	return error(o, "unknown command", NULL);
}

/* One line, or the first LINEMAX bytes of one (part), in; replies out. */
static int
serve(const struct proto_env *env, struct proto_out *o, const char *line,
      size_t len, int part)
{
	static struct req r;
	int err, ret, open = store_count() - store_nclosed();

	o->reply = o->note = NULL;
	o->replylen = o->notelen = 0;
	o->need = 0;
	if (o->room < ONEREPLYMAX)
		return again(o, ONEREPLYMAX);
	jw_init(&notes, notebuf, sizeof(notebuf));
	listening = env->subscribers > 0;
	if (tally.mono != env->mono)
		tally.valid = 0;
	onebuf = o->buf && o->bufcap >= ONEREPLYMAX ? o->buf : replybuf;
	onecap = onebuf == replybuf ? sizeof(replybuf) : o->bufcap;
	err = scanreq(&r, line, len);
	if (part && err != JE_PART)
		return error(o, "line too long", NULL);
	if (!part && err != JE_OK) /* a whole line cut short is bad JSON */
		return error(o, json_strerror(err == JE_PART ? JE_SYNTAX : err),
		             NULL);
	ret = dispatch(env, o, &r, part);
	o->calmer = store_count() - store_nclosed() < open;
	o->note = notebuf;
	o->notelen = notes.full ? 0 : notes.len;
	return ret;
}

int
proto_line(const struct proto_env *env, struct proto_out *o,
           const char *line, size_t len)
{
	return serve(env, o, line, len, 0);
}

/* The first LINEMAX bytes of a line too long to keep. */
int
proto_toolong(const struct proto_env *env, struct proto_out *o,
              const char *prefix, size_t len)
{
	return serve(env, o, prefix, len, 1);
}
