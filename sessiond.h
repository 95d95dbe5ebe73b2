/* See LICENSE file for copyright and license details. */
/*
 * Shared types, prototypes and the compile-time checks that tie the
 * limits of config.h together. No variables are defined here.
 */

#define LEN(a)        (sizeof(a) / sizeof((a)[0]))
#define ISPOW2(x)     ((x) > 0 && ((x) & ((x) - 1)) == 0)
#define BUILDCHECK(name, cond) typedef char check_##name[(cond) ? 1 : -1]

enum { ST_WORKING, ST_ATTENTION, ST_QUESTION, ST_CLOSED, RULE_ACTIVITY };
#define WAITS(st)     ((st) == ST_ATTENTION || (st) == ST_QUESTION)
enum { SUB_NO, SUB_YES, SUB_UNSAID, SUB_ONLY }; /* struct rule's sub */

struct rule {
	const char *event;
	const char *field;    /* NULL: any payload matches */
	const char *value;
	int status;           /* ST_* or RULE_ACTIVITY */
	const char *msgfield; /* payload field copied to the message, or NULL */
	int sub;              /* SUB_*: whether a subagent's event counts */
};

/* ring.c */
struct ring {
	char *buf;
	size_t size;          /* power of 2 */
	size_t head, tail;    /* free-running; len = head - tail */
};

void ring_init(struct ring *r, char *buf, size_t size);
size_t ring_len(const struct ring *r);
size_t ring_free(const struct ring *r);
int ring_push(struct ring *r, const char *p, size_t n);
size_t ring_space(const struct ring *r, char **p);
void ring_commit(struct ring *r, size_t n);
size_t ring_peek(const struct ring *r, const char **p);
void ring_consume(struct ring *r, size_t n);

/* json.c */
enum { J_NONE, J_OBJECT, J_ARRAY, J_STRING, J_NUMBER, J_TRUE, J_FALSE,
       J_NULL };
enum { JE_OK, JE_SYNTAX, JE_UTF8, JE_DEPTH, JE_FIELDS, JE_NOTOBJ, JE_PART };

struct jfield {
	char key[KEYMAX + 1]; /* decoded; "" when longer than KEYMAX */
	size_t klen;          /* its length */
	int esc;              /* a string value holding escapes */
	int type;             /* J_* */
	size_t off, len;      /* value in the input; strings without quotes */
};

struct jw {
	char *buf;
	size_t len, cap;
	int full;             /* a write did not fit: the output is invalid */
};

int json_scan(const char *s, size_t n, struct jfield *f, int fmax, int *nf);
int json_blank(const char *s, size_t n);
const char *json_strerror(int err);
long json_str(const char *s, size_t n, char *out, size_t outsize);
long json_strcut(const char *s, size_t n, char *out, size_t outsize);
int json_u64(const char *s, size_t n, unsigned long long *v);
int json_num(const char *s, size_t n, double *v);
void copyn(char *d, const char *s, size_t n);
int json_plain(const char *s, size_t n);
void jw_init(struct jw *w, char *buf, size_t cap);
void jw_mem(struct jw *w, const char *s, size_t n);
void jw_raw(struct jw *w, const char *s);
/*
 * A string literal: its length is a constant, so the copy is a few moves
 * in place rather than a call; most of what a reply holds is literals.
 * Those moves take more code than a call: rare replies use jw_raw().
 */
#define jw_lit(w, lit) do { \
	struct jw *jw_ = (w); \
	if (!jw_->full && sizeof(lit) - 1 <= jw_->cap - jw_->len) { \
		memcpy(jw_->buf + jw_->len, "" lit, sizeof(lit) - 1); \
		jw_->len += sizeof(lit) - 1; \
	} else { \
		jw_->full = 1; \
	} \
} while (0)
void jw_str(struct jw *w, const char *s, size_t n);
void jw_esc(struct jw *w, const char *s, size_t n);
void jw_compact(struct jw *w, const char *s, size_t n);
void jw_u64(struct jw *w, unsigned long long v);
void jw_i64(struct jw *w, long long v);

/* store.c */
#define HISTITEMMAX   56    /* bytes of {"status":"attention","at_secs":N}, */

struct hist {
	long long at;         /* wall-clock seconds */
	int status;
};

struct session {
	int used;
	unsigned hash;
	int status;
	unsigned long long priority;
	long long since;      /* monotonic ms: entered the current status */
	long long active;     /* monotonic ms: last event */
	unsigned long long closeseq; /* order of closing, for eviction */
	int nhist;
	struct hist hist[HISTMAX];   /* oldest first */
	size_t histlen;       /* bytes in histjson */
	int histn;            /* items histjson holds; 0: render it again */
	int histnew;          /* statuses pushed since it was rendered */
	char histjson[HISTMAX * HISTITEMMAX];  /* hist as JSON, for reuse */
	int hasdir, hasmsg;
	size_t idlen, agentlen, dirlen; /* strlen() of id, agent and dir */
	int idplain, agentplain, dirplain; /* they need no escaping */
	int dirty;            /* its journal record is due */
	int jsaved;           /* a record of it is in the state file */
	int jnew;             /* statuses pushed since that record */
	int jmeta;            /* agent, dir, message or priority changed
	                         since that record */
	unsigned waiters[SUBWAITMAX]; /* agent_id hashes of the subagents
	                         it waits for (not kept across restarts) */
	int nwaiters;
	struct link {         /* neighbours' pool indexes, -1: none */
		short prev, next;
	} byage, byclose;     /* in creation order; closed, as they closed */
	char id[IDMAX + 1];   /* from here on not zeroed by store_insert() */
	char agent[AGENTMAX + 1];
	char msg[MSGMAX + 1];
	char dir[DIRMAX + 1];
};

#define SESSMAX       (MAXSESS / 2)

void store_init(void);
unsigned store_hash(const char *s, size_t n);
struct session *store_find(const char *id);
struct session *store_insert(const char *id, int status, long long mono,
                             long long wall);
void store_delete(struct session *s);
void store_setstatus(struct session *s, int status, long long mono,
                     long long wall);
void store_restatus(struct session *s, int status);
void store_setclosed(struct session *s, unsigned long long seq);
struct session *store_oldestclosed(void);
struct session *store_next(int *pos);
int store_count(void);
int store_nclosed(void);
#ifdef CHECKS /* tests and the fuzzer */
int store_check(void);
#endif

/* proto.c */
struct proto_env {
	long long mono;       /* now, monotonic ms */
	long long wall;       /* now, wall-clock seconds */
	long long wallms;     /* now, wall-clock ms */
	long long started;    /* monotonic ms at start-up */
	int connections;
	int subscribers;      /* 0: notifications need not be rendered */
	const char *sockpath;
	long (*memkb)(void);  /* resident memory in KiB, or -1 */
};

struct proto_out {
	size_t room;          /* in: bytes the reply may take */
	char *buf;            /* in: where a reply about one session may be
	                         rendered in place, bufcap >= ONEREPLYMAX */
	size_t bufcap;
	size_t need;          /* out with PROTO_AGAIN: room wanted */
	char *reply;          /* out: reply lines, or NULL */
	size_t replylen;
	char *note;           /* out: notification lines for subscribers */
	size_t notelen;
	int subscribe;        /* out: the connection now only listens */
	int stop;             /* out: shut down after this reply */
	int usagewanted;      /* out: a hook event arrived, usage unknown */
	int calmer;           /* out: an open session closed or left, which
	                         can make proto_busyuntil() earlier */
};

enum { PROTO_DONE, PROTO_AGAIN };

#define CMDNAMEMAX    15    /* bytes of a command name; longer: unknown */
#define VARNAMEMAX    31    /* bytes of a FORMAT variable name; longer: none */

const char *proto_init(int journaling); /* NULL, or what config.h got wrong */
const char *proto_badrule(const struct rule *r, int n);
int proto_line(const struct proto_env *env, struct proto_out *o,
               const char *line, size_t len);
int proto_toolong(const struct proto_env *env, struct proto_out *o,
                  const char *prefix, size_t len);
void proto_usage(const struct proto_env *env, struct proto_out *o,
                 const char *text, size_t len, const char *err);
long long proto_busyuntil(void);
int proto_usagestale(long long wall, long long interval);
size_t proto_journal(const struct proto_env *env, const char **p);
int proto_journaldue(void);
int proto_journalclear(void);
void proto_journaldrop(void);
size_t proto_snapshot(const struct proto_env *env, char *buf, size_t cap,
                      int *pos);
int proto_restore(const struct proto_env *env, const char *line, size_t len);
void proto_loaded(const struct proto_env *env, long long stalesecs);
void proto_warn(struct proto_out *o, const char *msg);
#ifdef CHECKS
int proto_check(void);
#endif

/*
 * Sizes of the largest replies, escaping counted at its worst: six bytes
 * (\u00XX) per stored byte.
 */
#define ESCMAX(n)     (6 * (n) + 2)
#define SNAPMAX       (ESCMAX(IDMAX) + ESCMAX(AGENTMAX) + ESCMAX(DIRMAX) + \
                       ESCMAX(MSGMAX) + HISTMAX * HISTITEMMAX + 320)
#define NOTEMAX       (SNAPMAX + 64)
#define ONEREPLYMAX   (SNAPMAX + 64)
#define LISTMAX       (SESSMAX * (SNAPMAX + 1) + 64)
#define USAGELINEMAX  (USAGEMAX + 256)
#define SUBMAX        (64 + USAGELINEMAX + SESSMAX * NOTEMAX)
#define REPLYMAX      BIGRINGSIZE
#define RECMAX        (SNAPMAX + 128)   /* a state file record */
#define JOURNALBUF    (8 * RECMAX)      /* records gathered between writes */

BUILDCHECK(ringpow2, ISPOW2(RINGSIZE) && ISPOW2(BIGRINGSIZE));
BUILDCHECK(tablepow2, ISPOW2(MAXSESS) && MAXSESS >= 4);
#define AGENTDEFAULT  "claudecode" /* agent_type unless told (PROTOCOL.md) */
BUILDCHECK(agentdefault, AGENTMAX >= sizeof(AGENTDEFAULT) - 1);
BUILDCHECK(ringone, RINGSIZE >= 2 * NOTEMAX && RINGSIZE >= ONEREPLYMAX);
BUILDCHECK(ringlist, BIGRINGSIZE >= LISTMAX && BIGRINGSIZE >= SUBMAX);
BUILDCHECK(bigger, BIGRINGSIZE > RINGSIZE && BIGRINGS >= 1);
BUILDCHECK(closedfit, MAXCLOSED >= 1 && MAXCLOSED < SESSMAX);
BUILDCHECK(slotfit, MAXSESS <= 32768);
BUILDCHECK(clients, MAXCLIENTS >= 1);
BUILDCHECK(line, LINEMAX >= 1024 && ESCMAX(DIRMAX) + ESCMAX(IDMAX) < LINEMAX);
BUILDCHECK(hist, HISTMAX >= 1 && DEPTHMAX >= 2 && FIELDMAX >= 16 &&
           FIELDMAX <= 127);
BUILDCHECK(text, TEXTMAX >= 64 && FORMATMAX >= 64);
/* SECSMAX ms doubled USAGEBACKOFF times fits a long long */
BUILDCHECK(usagebackoff, USAGEBACKOFF >= 0 && USAGEBACKOFF <= 20);
