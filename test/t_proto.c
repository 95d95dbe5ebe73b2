/* See LICENSE file for copyright and license details. */
/*
 * Unit tests of proto.c: request sequences through proto_line() with a
 * fake clock, whole reply and notification lines compared; every command
 * and its errors, hook events through the rule table, status line
 * payloads, FORMAT, eviction and a full table, PROTO_AGAIN changing
 * nothing, proto_toolong() on the prefix of a huge hook payload, and the
 * journal: a record per change, loaded back by proto_restore().
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "sessiond.h"
#include "check.h"

#define W0            1790000000LL   /* wall-clock start, seconds */
#define OK            "{\"version\":1,\"ok\":true,\"data\":"
#define ERR           "{\"version\":1,\"ok\":false,\"error\":"
#define UPDATE        "{\"version\":1,\"type\":\"update\",\"session\":"
#define INACT(idle)   ((idle) > INACTIVESECS)

static struct proto_env env;
static struct proto_out o;
static char reply[REPLYMAX + 1], note[4 * NOTEMAX + USAGELINEMAX + 1];
static char want[4][2 * SNAPMAX];    /* expected lines */
static int nexp;

static long
memkb(void)
{
	return 2048;
}

static void
tick(long long secs)
{
	env.mono += secs * 1000;
	env.wall += secs;
}

static void
start(void)
{
	CHECKM(proto_init(1) == NULL, "config.h's rules fit RULEMATCHMAX");
	memset(&env, 0, sizeof(env));
	env.started = 1000000;
	env.mono = env.started;
	env.wall = W0;
	env.connections = 3;
	env.subscribers = 1;
	env.sockpath = "/tmp/s.sock";
	env.memkb = memkb;
}

static void
copyout(void)
{
	memcpy(reply, o.reply ? o.reply : "", o.replylen);
	reply[o.replylen] = '\0';
	memcpy(note, o.note ? o.note : "", o.notelen);
	note[o.notelen] = '\0';
}

/* runs one line with room to spare; reply and note hold the output */
static int
run(const char *line)
{
	int r;

	memset(&o, 0, sizeof(o));
	o.room = REPLYMAX;
	r = proto_line(&env, &o, line, strlen(line));
	copyout();
	return r;
}

static int
runroom(const char *line, size_t room)
{
	int r;

	memset(&o, 0, sizeof(o));
	o.room = room;
	r = proto_line(&env, &o, line, strlen(line));
	copyout();
	return r;
}

/*
 * Like run(), but a reply about one session may go to the caller's
 * buffer (inplace) as sessiond.c offers its ring: it must, and be the
 * same reply.
 */
static int
runinplace(const char *line, char *inplace, size_t cap)
{
	int r;

	memset(&o, 0, sizeof(o));
	o.room = REPLYMAX;
	o.buf = inplace;
	o.bufcap = cap;
	r = proto_line(&env, &o, line, strlen(line));
	copyout();
	return r;
}

/* a formatted line into the next expected buffer */
static const char *
fmt(const char *f, ...)
{
	va_list ap;
	char *b = want[nexp++ % 4];

	va_start(ap, f);
	vsnprintf(b, sizeof(want[0]), f, ap);
	va_end(ap);
	return b;
}

/* history entries: status, at_secs pairs ended by NULL */
static const char *
hist(const char *status, ...)
{
	static char b[4][HISTMAX * 48 + 8];
	static int n;
	char *p = b[n++ % 4];
	size_t len = 0;
	va_list ap;
	long long at;

	va_start(ap, status);
	for (; status; status = va_arg(ap, const char *)) {
		at = va_arg(ap, long long);
		len += (size_t)snprintf(p + len, sizeof(b[0]) - len,
		                        "%s{\"status\":\"%s\",\"at_secs\":%lld}",
		                        len ? "," : "", status, at);
	}
	va_end(ap);
	return p;
}

/* a snapshot as proto.c writes it; dir and msg are JSON text or NULL */
static const char *
snap(const char *id, const char *agent, const char *status, const char *dir,
     long long elapsed, long long idle, const char *h, int closed,
     unsigned long long prio, int inactive, const char *msg)
{
	static char b[4][2 * SNAPMAX];
	static int n;
	char *p = b[n++ % 4];

	snprintf(p, sizeof(b[0]), "{\"session_id\":\"%s\",\"agent_type\":\"%s\","
	         "\"status\":\"%s\",\"working_dir\":%s,\"elapsed_seconds\":%lld,"
	         "\"idle_seconds\":%lld,\"history\":[%s],\"closed\":%s,"
	         "\"priority\":%llu,\"inactive\":%s%s%s}", id, agent, status,
	         dir ? dir : "null", elapsed, idle, h, closed ? "true" : "false",
	         prio, inactive ? "true" : "false", msg ? ",\"message\":" : "",
	         msg ? msg : "");
	return p;
}

static int
is(const char *got, const char *want)
{
	if (got && !strcmp(got, want))
		return 1;
	fprintf(stderr, "got:  %s\nwant: %s\n", got ? got : "(null)", want);
	return 0;
}

static const char *
ok(const char *data)
{
	return fmt(OK "%s}\n", data);
}

static const char *
err(const char *msg)
{
	return fmt(ERR "\"%s\"}\n", msg);
}

static const char *
upd(const char *s)
{
	return fmt(UPDATE "%s}\n", s);
}

/* got starts with want and ends with end */
static int
between(const char *got, const char *want, const char *end)
{
	size_t n = strlen(got), e = strlen(end);

	if (!strncmp(got, want, strlen(want)) && n >= e &&
	    !strcmp(got + n - e, end))
		return 1;
	fprintf(stderr, "got:  %s\nwant: %s...%s\n", got, want, end);
	return 0;
}

static int
lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
commands(void)
{
	const char *a1, *h;
	long long t2, t3;

	start();
	CHECK(run("{\"version\":1,\"cmd\":\"SET\",\"session_id\":\"a\","
	      "\"status\":\"working\",\"working_dir\":\"/tmp\",\"priority\":3}") ==
	      PROTO_DONE);
	a1 = snap("a", "claudecode", "working", "\"/tmp\"", 0, 0,
	          hist("working", W0, NULL), 0, 3, 0, NULL);
	CHECK(is(reply, ok(a1)));
	CHECK(is(note, upd(a1)));
	CHECK(!o.subscribe && !o.stop);
	CHECK(store_count() == 1);

	/* the same status and priority: no notification, clock restarted */
	tick(5);
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\","
	    "\"working_dir\":\"/var\",\"priority\":3}");
	CHECK(is(reply, ok(snap("a", "claudecode", "working", "\"/var\"", 0, 0,
	      hist("working", W0, NULL), 0, 3, 0, NULL))));
	CHECK(o.notelen == 0);
	tick(65);
	run("{\"cmd\":\"GET\",\"session_id\":\"a\"}");
	CHECK(is(reply, ok(snap("a", "claudecode", "working", "\"/var\"", 65,
	      65, hist("working", W0, NULL), 0, 3, INACT(65), NULL))));
	CHECK(o.notelen == 0);

	/* SET without priority sets 0; a new status is history */
	t2 = env.wall;
	run("{\"cmd\":\"set\",\"session_id\":\"a\",\"status\":\"question\"}");
	h = hist("working", W0, "question", t2, NULL);
	CHECK(is(reply, ok(snap("a", "claudecode", "question", "\"/var\"", 0, 0,
	      h, 0, 0, 0, NULL))));
	CHECK(is(note, upd(snap("a", "claudecode", "question", "\"/var\"", 0,
	      0, h, 0, 0, 0, NULL))));
	CHECK(run("{\"cmd\":\"GET\",\"session_id\":\"nope\"}") == PROTO_DONE);
	CHECK(is(reply, err("session not found: nope")));
	CHECK(o.notelen == 0);

	tick(1);
	run("{\"cmd\":\"Set\",\"session_id\":\"b\",\"status\":\"attention\","
	    "\"agent_type\":\"codex\",\"priority\":18446744073709551615}");
	CHECK(is(reply, ok(snap("b", "codex", "attention", NULL, 0, 0,
	      hist("attention", env.wall, NULL), 0, ULLONG_MAX, 0, NULL))));
	tick(2);
	run("{\"cmd\":\"LIST\"}");
	CHECK(is(reply, fmt(OK "[%s,%s]}\n", snap("a", "claudecode",
	      "question", "\"/var\"", 3, 3, h, 0, 0, INACT(3), NULL),
	      snap("b", "codex", "attention", NULL, 2, 2, hist("attention",
	      env.wall - 2, NULL), 0, ULLONG_MAX, INACT(2), NULL))));

	/* RM closes and keeps; again changes nothing */
	t3 = env.wall;
	run("{\"cmd\":\"RM\",\"session_id\":\"a\"}");
	h = hist("working", W0, "question", t2, "closed", t3, NULL);
	if (HISTMAX < 3)
		h = hist("question", t2, "closed", t3, NULL);
	CHECK(is(reply, ok(snap("a", "claudecode", "closed", "\"/var\"", 0, 0,
	      h, 1, 0, 0, NULL))));
	CHECK(is(note, upd(snap("a", "claudecode", "closed", "\"/var\"", 0, 0,
	      h, 1, 0, 0, NULL))));
	CHECK(store_nclosed() == 1);
	tick(1);
	run("{\"cmd\":\"RM\",\"session_id\":\"a\"}");
	CHECK(strstr(reply, "\"status\":\"closed\"") && o.notelen == 0);

	/* REOPEN: only a closed session whose directory exists */
	run("{\"cmd\":\"REOPEN\",\"session_id\":\"a\"}");
	CHECK(!strncmp(reply, OK "{\"session_id\":\"a\"", strlen(OK) + 17));
	CHECK(strstr(reply, "\"status\":\"attention\"") &&
	      strstr(reply, "\"closed\":false"));
	CHECK(!strncmp(note, UPDATE, strlen(UPDATE)) && lines(note) == 1);
	CHECK(store_nclosed() == 0);
	run("{\"cmd\":\"REOPEN\",\"session_id\":\"a\"}");
	CHECK(is(reply, err("session is not closed: a")));
	run("{\"cmd\":\"REOPEN\",\"session_id\":\"zz\"}");
	CHECK(is(reply, err("SESSION_NOT_FOUND No closed session with ID: zz")));
	run("{\"cmd\":\"SET\",\"session_id\":\"c\",\"status\":\"closed\"}");
	run("{\"cmd\":\"REOPEN\",\"session_id\":\"c\"}");
	CHECK(is(reply, err("NOT_RESUMABLE No working directory recorded for "
	      "session c")));
	run("{\"cmd\":\"SET\",\"session_id\":\"d\",\"status\":\"closed\","
	    "\"working_dir\":\"/nonexistent/sessiond-test\"}");
	run("{\"cmd\":\"REOPEN\",\"session_id\":\"d\"}");
	CHECK(is(reply, err("WORKING_DIR_MISSING Working directory no longer "
	      "exists: /nonexistent/sessiond-test")));

	/* DELETE: the last snapshot, then removed */
	run("{\"cmd\":\"DELETE\",\"session_id\":\"b\"}");
	CHECK(!strncmp(reply, OK "{\"session_id\":\"b\"", strlen(OK) + 17));
	CHECK(is(note, "{\"version\":1,\"type\":\"removed\",\"session_id\":"
	      "\"b\"}\n"));
	run("{\"cmd\":\"DELETE\",\"session_id\":\"b\"}");
	CHECK(is(reply, err("session not found: b")) && o.notelen == 0);
	CHECK(store_count() == 3 && store_nclosed() == 2);

	/* STATUS, DUMP, USAGE */
	run("{\"cmd\":\"STATUS\"}");
	CHECK(is(reply, ok(fmt("{\"uptime_seconds\":%lld,\"sessions\":"
	      "{\"active\":1,\"closed\":2},\"connections\":3,\"memory_mb\":2.0,"
	      "\"socket_path\":\"/tmp/s.sock\"}",
	      (env.mono - env.started) / 1000))));
	run("{\"cmd\":\"DUMP\"}");
	CHECK(!strncmp(reply, fmt(OK "{\"uptime_seconds\":%lld,\"socket_path\":"
	      "\"/tmp/s.sock\",\"sessions\":[{\"session_id\":\"a\",\"status\":"
	      "\"attention\",\"working_dir\":\"/var\",\"elapsed_seconds\":",
	      (env.mono - env.started) / 1000), strlen(want[(nexp - 1) % 4])));
	CHECK(strstr(reply, "],\"session_counts\":{\"active\":1,\"closed\":2},"
	      "\"connections\":3}}\n") != NULL);
	run("{\"cmd\":\"USAGE\"}");
	CHECK(is(reply, ok("{\"state\":\"never\",\"fetched_at\":null,"
	      "\"usage\":null}")));

	/* SUB: subscribed, then with snapshot an update per session */
	run("{\"cmd\":\"SUB\"}");
	CHECK(is(reply, ok("\"subscribed\"")) && o.subscribe);
	run("{\"cmd\":\"SUB\",\"snapshot\":true}");
	CHECK(!strncmp(reply, ok("\"subscribed\""), strlen(OK) + 14));
	CHECK(lines(reply) == 1 + store_count() && o.subscribe);
	CHECK(strstr(reply, "\n" UPDATE "{\"session_id\":\"a\"") != NULL);
	run("{\"cmd\":\"SUB\",\"snapshot\":1}");
	CHECK(is(reply, err("field snapshot must be a boolean")) &&
	      !o.subscribe);

	/* STOP: confirmation while active sessions are not idle */
	run("{\"cmd\":\"STOP\"}");
	CHECK(is(reply, ok("{\"stop_status\":\"confirm_required\","
	      "\"active_count\":1}")) && !o.stop);
	run("{\"cmd\":\"STOP\",\"confirmed\":\"yes\"}");
	CHECK(is(reply, err("field confirmed must be a boolean")) && !o.stop);
	run("{\"cmd\":\"STOP\",\"confirmed\":true}");
	CHECK(is(reply, ok("{\"stop_status\":\"ok\"}")) && o.stop);
	/* an idle session does not hold a STOP back */
	tick(INACTIVESECS + 1);
	run("{\"cmd\":\"GET\",\"session_id\":\"a\"}");
	CHECK(strstr(reply, "\"inactive\":true") != NULL);
	run("{\"cmd\":\"STOP\"}");
	CHECK(is(reply, ok("{\"stop_status\":\"ok\"}")) && o.stop);
	CHECK(store_check() == 0 && proto_check() == 0);
}

static void
errors(void)
{
	static const struct { const char *line, *error; } cases[] = {
		{ "{\"cmd\":\"NOPE\"}", "unknown command: NOPE" },
		{ "{\"cmd\":7}", "field cmd must be a string" },
		{ "{\"cmd\":\"LIST\",\"version\":2}", "unsupported version" },
		{ "{\"cmd\":\"LIST\",\"version\":1.0}", "unsupported version" },
		{ "{\"cmd\":\"LIST\",\"version\":\"1\"}",
		  "field version must be a number" },
		{ "{\"version\":1}", "missing field: cmd" },
		{ "{}", "missing field: cmd" },
		{ "{\"cmd\":", "invalid JSON" },
		{ "{\"cmd\":\"LIST\"} x", "invalid JSON" },
		{ "[1]", "invalid JSON: request is not an object" },
		{ "{\"cmd\":\"\xff\"}", "invalid JSON: invalid UTF-8" },
		{ "{\"cmd\":\"SET\"}", "SET requires session_id" },
		{ "{\"cmd\":\"GET\"}", "GET requires session_id" },
		{ "{\"cmd\":\"SET\",\"session_id\":\"\"}",
		  "field session_id is empty" },
		{ "{\"cmd\":\"SET\",\"session_id\":7}",
		  "field session_id must be a string" },
		{ "{\"cmd\":\"SET\",\"session_id\":\"a\\u0000\"}",
		  "field session_id must not contain NUL" },
		{ "{\"cmd\":\"SET\",\"session_id\":\"a\"}", "SET requires status" },
		{ "{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"sleeping\"}",
		  "invalid status: sleeping (expected: working, attention, "
		  "question, closed)" },
		{ "{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\","
		  "\"priority\":-1}",
		  "field priority must be a non-negative integer" },
		{ "{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\","
		  "\"priority\":1.5}",
		  "field priority must be a non-negative integer" },
		{ "{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\","
		  "\"priority\":\"1\"}", "field priority must be a number" },
		{ "{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\","
		  "\"priority\":18446744073709551616}",
		  "field priority is out of range" },
		{ "{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\","
		  "\"agent_type\":\"\"}", "field agent_type is empty" },
		{ "{\"cmd\":\"FORMAT\"}", "missing field: format" },
		{ "{\"cmd\":\"FORMAT\",\"format\":7}",
		  "field format must be a string" },
		{ "{\"cmd\":\"FORMAT\",\"format\":\"x\",\"raw\":1}",
		  "field raw must be a boolean" },
	};
	char line[DIRMAX + IDMAX + 256], big[DIRMAX + 2], msg[128];
	size_t i;

	start();
	for (i = 0; i < LEN(cases); i++) {
		CHECKM(run(cases[i].line) == PROTO_DONE, cases[i].line);
		CHECKM(!strcmp(reply, err(cases[i].error)), cases[i].line);
		CHECKM(o.notelen == 0, cases[i].line);
	}
	CHECK(store_count() == 0);

	/* ids of IDMAX bytes, never cut; dirs of DIRMAX bytes */
	memset(big, 'i', IDMAX + 1);
	big[IDMAX + 1] = '\0';
	snprintf(line, sizeof(line), "{\"cmd\":\"SET\",\"session_id\":\"%s\","
	         "\"status\":\"working\"}", big);
	run(line);
	snprintf(msg, sizeof(msg), "field session_id is longer than %d bytes",
	         IDMAX);
	CHECK(is(reply, err(msg)) && store_count() == 0);
	big[IDMAX] = '\0';
	snprintf(line, sizeof(line), "{\"cmd\":\"SET\",\"session_id\":\"%s\","
	         "\"status\":\"working\"}", big);
	run(line);
	CHECK(!strncmp(reply, OK, strlen(OK)) && store_find(big));
	/* the same id, its last character written as an escape */
	snprintf(line, sizeof(line), "{\"cmd\":\"GET\",\"session_id\":"
	         "\"%.*s\\u0069\"}", IDMAX - 1, big);
	run(line);
	CHECK(!strncmp(reply, OK, strlen(OK)));

	big[0] = '/';
	memset(big + 1, 'd', DIRMAX);
	big[DIRMAX + 1] = '\0';
	snprintf(line, sizeof(line), "{\"cmd\":\"SET\",\"session_id\":\"d\","
	         "\"status\":\"working\",\"working_dir\":\"%s\"}", big);
	run(line);
	snprintf(msg, sizeof(msg), "field working_dir is longer than %d bytes",
	         DIRMAX);
	CHECK(is(reply, err(msg)) && !store_find("d"));
	big[DIRMAX] = '\0';
	snprintf(line, sizeof(line), "{\"cmd\":\"SET\",\"session_id\":\"d\","
	         "\"status\":\"working\",\"working_dir\":\"%s\"}", big);
	run(line);
	CHECK(store_find("d") && store_find("d")->hasdir &&
	      strlen(store_find("d")->dir) == DIRMAX);
	/* an empty working_dir is no working_dir */
	run("{\"cmd\":\"SET\",\"session_id\":\"e\",\"status\":\"working\","
	    "\"working_dir\":\"\"}");
	CHECK(strstr(reply, "\"working_dir\":null") != NULL);
	/* unknown fields are ignored */
	run("{\"cmd\":\"GET\",\"session_id\":\"e\",\"x\":[1,{\"y\":null}]}");
	CHECK(!strncmp(reply, OK, strlen(OK)));
	CHECK(store_check() == 0 && proto_check() == 0);
}

/* MAXCLOSED closed sessions kept; a full table refuses new ones. */
static void
limits(void)
{
	char line[128], id[48];
	int i, k;

	start();
	for (i = 0; i < MAXCLOSED; i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"SET\",\"session_id\":"
		         "\"c%d\",\"status\":\"closed\"}", i);
		run(line);
		tick(1);
	}
	CHECK(store_nclosed() == MAXCLOSED && o.notelen && lines(note) == 1);
	run("{\"cmd\":\"SET\",\"session_id\":\"last\",\"status\":\"working\"}");
	run("{\"cmd\":\"RM\",\"session_id\":\"last\"}");
	CHECK(store_nclosed() == MAXCLOSED && !store_find("c0"));
	CHECK(lines(note) == 2 && !strncmp(note, UPDATE, strlen(UPDATE)) &&
	      strstr(note, "}\n{\"version\":1,\"type\":\"removed\","
	      "\"session_id\":\"c0\"}\n"));

	/* fill the table: active sessions push closed ones out */
	for (i = 0; store_count() < SESSMAX || store_nclosed() > 0; i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"SET\",\"session_id\":"
		         "\"w%d\",\"status\":\"working\"}", i);
		run(line);
		if (store_count() == SESSMAX && store_nclosed() < MAXCLOSED)
			CHECK(strstr(note, "\"type\":\"removed\"") != NULL);
		if (i > 2 * SESSMAX)
			break;
	}
	CHECK(store_count() == SESSMAX && store_nclosed() == 0);
	run("{\"cmd\":\"SET\",\"session_id\":\"one more\",\"status\":"
	    "\"working\"}");
	CHECK(is(reply, err("session table full")) && o.notelen == 0);
	CHECK(store_count() == SESSMAX && !store_find("one more"));
	/* a hook event for a new session is dropped too, silently */
	run("{\"session_id\":\"hooked\",\"hook_event_name\":\"SessionStart\"}");
	CHECK(o.replylen == 0 && !store_find("hooked"));
	/* an update of a known one still works */
	run("{\"cmd\":\"SET\",\"session_id\":\"w0\",\"status\":\"closed\"}");
	CHECK(!strncmp(reply, OK, strlen(OK)));
	run("{\"cmd\":\"SET\",\"session_id\":\"one more\",\"status\":"
	    "\"working\"}");
	CHECK(!strncmp(reply, OK, strlen(OK)) && !store_find("w0"));
	CHECK(strstr(note, "{\"version\":1,\"type\":\"removed\","
	      "\"session_id\":\"w0\"}\n") != NULL);
	/* LIST of a full table fits the largest reply */
	CHECK(run("{\"cmd\":\"LIST\"}") == PROTO_DONE &&
	      !strncmp(reply, OK "[", strlen(OK) + 1));
	CHECK(run("{\"cmd\":\"SUB\",\"snapshot\":true}") == PROTO_DONE &&
	      lines(reply) == 1 + SESSMAX);

	/* history: the last HISTMAX changes */
	start();
	for (i = 0; i < HISTMAX + 4; i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"SET\",\"session_id\":"
		         "\"h\",\"status\":\"%s\"}", i % 2 ? "working" : "question");
		run(line);
		tick(1);
	}
	snprintf(id, sizeof(id), "\"at_secs\":%lld}]", env.wall - 1);
	CHECK(strstr(reply, id) != NULL);
	for (i = 0; strstr(reply, "\"at_secs\":"); i++)
		*strstr(reply, "\"at_secs\":") = 'X';
	CHECK(i == HISTMAX);
	CHECK(store_check() == 0 && proto_check() == 0);

	/*
	 * The kept rendering stays right however many changes come between
	 * two renderings: hook events with nobody listening and no journal
	 * render nothing, a GET then does.
	 */
	proto_init(0);
	env.subscribers = 0;
	for (k = 1; k <= 2 * HISTMAX + 3; k++) {
		for (i = 0; i < k; i++) {
			snprintf(line, sizeof(line), "{\"session_id\":\"r\","
			         "\"hook_event_name\":\"%s\"}", i % 2 ?
			         "UserPromptSubmit" : "Stop");
			run(line);
			tick(1);
		}
		CHECK(store_find("r")->histnew > 0);
		run("{\"cmd\":\"GET\",\"session_id\":\"r\"}");
		CHECK(store_find("r")->histnew == 0 && proto_check() == 0);
		CHECK(!strncmp(reply, OK, strlen(OK)) &&
		      strstr(reply, "\"history\":[{\"status\":\"") &&
		      strstr(reply, "}],\"closed\":false"));
	}
	env.subscribers = 1;
}

static void
hooks(void)
{
	static const char *id = "\"session_id\":\"6f1c2a7e\","
	    "\"transcript_path\":\"/home/u/.claude/projects/x/6f1c2a7e.jsonl\","
	    "\"cwd\":\"/home/u/src/app\",\"permission_mode\":\"default\"";
	char line[MSGMAX * 3 + 512], text[MSGMAX * 2 + 1];
	struct session *s;
	int i;

	start();
	CHECK(run(fmt("{%s,\"hook_event_name\":\"SessionStart\","
	      "\"source\":\"startup\",\"model\":\"claude-sonnet-4-5\"}", id)) ==
	      PROTO_DONE);
	CHECK(o.replylen == 0 && !o.reply);
	CHECK(is(note, upd(snap("6f1c2a7e", "claudecode", "attention",
	      "\"/home/u/src/app\"", 0, 0, hist("attention", W0, NULL), 0, 0,
	      0, NULL))));
	CHECK(o.usagewanted);
	s = store_find("6f1c2a7e");
	CHECK(s && s->status == ST_ATTENTION);

	tick(3);
	run(fmt("{%s,\"hook_event_name\":\"UserPromptSubmit\","
	    "\"prompt\":\"fix it\"}", id));
	CHECK(o.replylen == 0 && s->status == ST_WORKING && lines(note) == 1);
	/* an unmapped tool: activity only */
	tick(3);
	run(fmt("{%s,\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
	    "\"tool_input\":{\"command\":\"make\"}}", id));
	CHECK(o.replylen == 0 && o.notelen == 0 && s->status == ST_WORKING);
	CHECK(s->active == env.mono && s->since == env.mono - 3000);
	run(fmt("{%s,\"hook_event_name\":\"PreToolUse\","
	    "\"tool_name\":\"AskUserQuestion\",\"tool_input\":{\"questions\":"
	    "[{\"question\":\"Which?\"}]}}", id));
	CHECK(s->status == ST_QUESTION && lines(note) == 1);
	run(fmt("{%s,\"hook_event_name\":\"PostToolUse\","
	    "\"tool_name\":\"AskUserQuestion\"}", id));
	CHECK(s->status == ST_WORKING);
	run(fmt("{%s,\"hook_event_name\":\"PreToolUse\","
	    "\"tool_name\":\"ExitPlanMode\"}", id));
	CHECK(s->status == ST_QUESTION);
	run(fmt("{%s,\"hook_event_name\":\"PermissionRequest\","
	    "\"tool_name\":\"Bash\"}", id));
	CHECK(s->status == ST_ATTENTION);
	run(fmt("{%s,\"hook_event_name\":\"PostToolUseFailure\","
	    "\"tool_name\":\"Bash\",\"is_interrupt\":false}", id));
	CHECK(s->status == ST_WORKING);

	/* notifications carry the message; a working status drops it */
	run(fmt("{%s,\"hook_event_name\":\"Notification\",\"message\":"
	    "\"Claude needs your permission to use Bash\","
	    "\"notification_type\":\"permission_prompt\"}", id));
	CHECK(s->status == ST_ATTENTION && s->hasmsg &&
	      !strcmp(s->msg, "Claude needs your permission to use Bash"));
	CHECK(strstr(note, ",\"message\":\"Claude needs your permission to use "
	      "Bash\"}}\n") != NULL);
	run(fmt("{%s,\"hook_event_name\":\"Notification\",\"message\":\"hi\","
	    "\"notification_type\":\"auth_success\"}", id));
	CHECK(s->status == ST_ATTENTION && o.notelen == 0 &&
	      strcmp(s->msg, "hi"));
	run(fmt("{%s,\"hook_event_name\":\"Notification\",\"message\":\"MCP\","
	    "\"notification_type\":\"elicitation_dialog\"}", id));
	CHECK(s->status == ST_QUESTION && !strcmp(s->msg, "MCP"));
	run(fmt("{%s,\"hook_event_name\":\"UserPromptSubmit\"}", id));
	CHECK(s->status == ST_WORKING && !s->hasmsg);
	CHECK(strstr(note, "\"message\"") == NULL);
	run(fmt("{%s,\"hook_event_name\":\"StopFailure\","
	    "\"error\":\"rate_limit\"}", id));
	CHECK(s->status == ST_ATTENTION && !strcmp(s->msg, "rate_limit"));
	run(fmt("{%s,\"hook_event_name\":\"Notification\",\"message\":"
	    "\"Claude is waiting for your input\","
	    "\"notification_type\":\"idle_prompt\"}", id));
	CHECK(s->status == ST_ATTENTION && o.notelen == 0 &&
	      !strcmp(s->msg, "Claude is waiting for your input"));

	/* compaction and a subagent's other events only refresh activity */
	run(fmt("{%s,\"hook_event_name\":\"UserPromptSubmit\"}", id));
	tick(7);
	run(fmt("{%s,\"hook_event_name\":\"SessionStart\","
	    "\"source\":\"compact\"}", id));
	CHECK(s->status == ST_WORKING && o.notelen == 0 &&
	      s->active == env.mono);
	tick(7);
	run(fmt("{%s,\"hook_event_name\":\"UserPromptSubmit\",\"agent_id\":"
	    "\"ag-1\",\"agent_type\":\"Explore\",\"prompt\":\"look\"}", id));
	CHECK(s->status == ST_WORKING && o.notelen == 0 && o.replylen == 0 &&
	      s->active == env.mono);
	run(fmt("{%s,\"hook_event_name\":\"PermissionRequest\",\"agent_id\":"
	    "\"ag-1\",\"tool_name\":\"Bash\"}", id));
	CHECK(s->status == ST_ATTENTION && s->nwaiters == 1 && lines(note) == 1);
	run(fmt("{%s,\"hook_event_name\":\"PostToolUse\",\"agent_id\":\"ag-1\","
	    "\"tool_name\":\"Bash\"}", id));
	CHECK(s->status == ST_WORKING && !s->nwaiters && lines(note) == 1);
	run(fmt("{%s,\"hook_event_name\":\"Stop\",\"agent_id\":\"ag-1\"}", id));
	CHECK(s->status == ST_WORKING && o.notelen == 0);
	run(fmt("{%s,\"hook_event_name\":\"Stop\",\"stop_hook_active\":false,"
	    "\"version\":\"2.0.31\",\"last_assistant_message\":\"Done.\"}", id));
	CHECK(s->status == ST_ATTENTION && lines(note) == 1);
	run(fmt("{%s,\"hook_event_name\":\"Stop\"}", id));
	CHECK(s->status == ST_ATTENTION && o.notelen == 0);
	/* hook events keep the priority SET gave */
	run("{\"cmd\":\"SET\",\"session_id\":\"6f1c2a7e\",\"status\":"
	    "\"attention\",\"priority\":9}");
	run(fmt("{%s,\"hook_event_name\":\"UserPromptSubmit\"}", id));
	CHECK(s->priority == 9);

	run(fmt("{%s,\"hook_event_name\":\"SessionEnd\","
	    "\"reason\":\"prompt_input_exit\"}", id));
	CHECK(s->status == ST_CLOSED && store_nclosed() == 1 && lines(note) == 1);
	/* an ending session never seen is not created */
	run("{\"session_id\":\"ghost\",\"hook_event_name\":\"SessionEnd\"}");
	CHECK(!store_find("ghost") && o.replylen == 0 && o.notelen == 0);
	/* events without a usable session_id are dropped without a reply */
	run("{\"hook_event_name\":\"Stop\"}");
	CHECK(o.replylen == 0);
	run("{\"hook_event_name\":\"Stop\",\"session_id\":\"\"}");
	CHECK(o.replylen == 0 && store_count() == 1);
	run("{\"hook_event_name\":\"Stop\",\"session_id\":7}");
	CHECK(o.replylen == 0 && store_count() == 1);
	run("{\"hook_event_name\":7,\"session_id\":\"x\"}");
	CHECK(o.replylen == 0 && store_count() == 1);

	/* messages are cut to MSGMAX bytes at a character boundary */
	for (i = 0; i < MSGMAX; i++)
		memcpy(text + 2 * i, "\xc3\xa9", 2);
	text[2 * MSGMAX] = '\0';
	snprintf(line, sizeof(line), "{\"session_id\":\"m\",\"hook_event_name\":"
	         "\"Notification\",\"notification_type\":\"permission_prompt\","
	         "\"message\":\"x%s\"}", text);
	run(line);
	s = store_find("m");
	CHECK(s && s->hasmsg && strlen(s->msg) <= MSGMAX &&
	      strlen(s->msg) >= MSGMAX - 1 && s->msg[0] == 'x' &&
	      (strlen(s->msg) - 1) % 2 == 0);
	CHECK(store_check() == 0 && proto_check() == 0);
}

static void
statusline(void)
{
	static const char *payload = "{\"session_id\":\"sl\","
	    "\"transcript_path\":\"/t.jsonl\",\"cwd\":\"/home/u/app\","
	    "\"model\":{\"id\":\"claude-opus-4-1\",\"display_name\":\"Opus\"},"
	    "\"workspace\":{\"current_dir\":\"/home/u/app\"},\"version\":\"2.1.3\","
	    "\"cost\":{\"total_cost_usd\":0.01},\"context_window\":"
	    "{\"used_percentage\":41.5},\"rate_limits\":{\"five_hour\":"
	    "{\"used_percentage\":41.2,\"resets_at\":1790003600},\"seven_day\":"
	    "{\"used_percentage\":71,\"resets_at\":1790500000}}}";
	char line[2 * sizeof(STATUSFMT) * 6 + 128], fmtjson[sizeof(STATUSFMT) * 6];
	char first[TEXTMAX + 2];
	struct jw w;

	start();
	run("{\"session_id\":\"sl\",\"hook_event_name\":\"UserPromptSubmit\","
	    "\"cwd\":\"/home/u/app\"}");
	run("{\"cmd\":\"SET\",\"session_id\":\"other\",\"status\":\"attention\","
	    "\"working_dir\":\"/home/u/other\"}");
	CHECK(run(payload) == PROTO_DONE);
	/* text, one line, and rate_limits became usage data */
	CHECK(o.replylen > 0 && reply[o.replylen - 1] == '\n' &&
	      lines(reply) == 1 && reply[0] != '{');
	memset(first, 0, sizeof(first));
	memcpy(first, reply, o.replylen < sizeof(first) ? o.replylen :
	       sizeof(first) - 1);
	CHECK(between(note, "{\"version\":1,\"type\":\"usage\",\"usage\":"
	      "{\"five_hour\":{\"utilization\":41.20,\"resets_at\":"
	      "\"2026-09-21T15:13:20Z\"},\"seven_day\":{\"utilization\":71.00,"
	      "\"resets_at\":\"2026-09-27T09:06:40Z\"},\"source\":"
	      "\"statusline\"", "}}\n") && lines(note) == 1);
	CHECK(store_count() == 2);
	/* the same data again tells nobody */
	run(payload);
	CHECK(o.notelen == 0);
	run("{\"cmd\":\"USAGE\"}");
	CHECK(!strncmp(reply, OK "{\"state\":\"ok\",\"fetched_at\":",
	      strlen(OK) + 27));
	run("{\"cmd\":\"FORMAT\",\"format\":\"{usage.5h}/{usage.7d} "
	    "{usage.5h.reset}\",\"raw\":true}");
	CHECK(is(reply, "41/71 1h00m\n"));

	/* the reply is STATUSFMT rendered for the payload's session */
	jw_init(&w, fmtjson, sizeof(fmtjson));
	jw_esc(&w, STATUSFMT, strlen(STATUSFMT));
	fmtjson[w.len] = '\0';
	snprintf(line, sizeof(line), "{\"cmd\":\"FORMAT\",\"format\":\"%s\","
	         "\"session_id\":\"sl\",\"raw\":true}", fmtjson);
	run(line);
	CHECK(is(reply, first));
	/* old Claude Code: hook_event_name "Status"; an unknown session */
	run("{\"session_id\":\"sl\",\"hook_event_name\":\"Status\"}");
	CHECK(is(reply, first));
	run("{\"session_id\":\"nobody\"}");
	CHECK(o.replylen > 0 && reply[0] != '{' && store_count() == 2);
}

static void
format(void)
{
	char line[FORMATMAX + 256], msg[64];
	size_t n;

	start();
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"attention\","
	    "\"working_dir\":\"/home/u/src/app/\"}");
	tick(90);
	run("{\"cmd\":\"SET\",\"session_id\":\"b\",\"status\":\"working\","
	    "\"working_dir\":\"/\"}");
	run("{\"cmd\":\"SET\",\"session_id\":\"c\",\"status\":\"closed\"}");
	run("{\"cmd\":\"FORMAT\",\"format\":\"{attention}/{question}/{working}/"
	    "{closed} {active} {inactive} {sessions}\",\"raw\":true}");
	CHECK(is(reply, fmt("1/0/1/1 2 %d 3\n", INACT(90))));
	run("{\"cmd\":\"FORMAT\",\"format\":\"{attention}/{question}\"}");
	CHECK(is(reply, ok("\"1/0\"")));
	run("{\"cmd\":\"FORMAT\",\"format\":\"{?A:{attention}}{?Q:{question}}"
	    "[{?{nothing}x}]\",\"raw\":true}");
	CHECK(is(reply, "A:1[]\n"));
	run("{\"cmd\":\"FORMAT\",\"format\":\"{{x}} {top.dir} {top.id} "
	    "{top.elapsed} {unknown} {top.path|json}\",\"raw\":true}");
	CHECK(is(reply, "{x} app a 1m  /home/u/src/app/\n"));
	run("{\"cmd\":\"FORMAT\",\"format\":\"{self.status} {self.dir} "
	    "{self.agent}\",\"session_id\":\"b\",\"raw\":true}");
	CHECK(is(reply, "working / claudecode\n"));
	run("{\"cmd\":\"FORMAT\",\"format\":\"[{self.status}]\","
	    "\"session_id\":\"nobody\",\"raw\":true}");
	CHECK(is(reply, "[]\n"));
	run("{\"cmd\":\"FORMAT\",\"format\":\"a\\nb {unterminated\","
	    "\"raw\":true}");
	CHECK(is(reply, "a b {unterminated\n"));
	run("{\"cmd\":\"FORMAT\",\"format\":\"q\\\"{top.dir}\\\\\"}");
	CHECK(is(reply, ok("\"q\\\"app\\\\\"")));
	run("{\"cmd\":\"FORMAT\",\"format\":\"{usage.5h}%{usage.5h.reset}\","
	    "\"raw\":true}");
	CHECK(is(reply, "%\n"));
	/* a session's text cannot drive the terminal; the template can */
	run("{\"cmd\":\"SET\",\"session_id\":\"t\",\"status\":\"question\","
	    "\"working_dir\":\"/x/\\u001b]0;t\\u0007\\t\\u007f\"}");
	run("{\"cmd\":\"FORMAT\",\"format\":\"\\u001b[1m{self.dir}\\t|\","
	    "\"session_id\":\"t\",\"raw\":true}");
	CHECK(is(reply, "\x1b[1m?]0;t???\t|\n"));
	run("{\"cmd\":\"FORMAT\",\"format\":\"{self.dir|json}\","
	    "\"session_id\":\"t\",\"raw\":true}");
	CHECK(is(reply, "\\u001b]0;t\\u0007\\t\\u007f\n"));
	run("{\"cmd\":\"DELETE\",\"session_id\":\"t\"}");

	/* a template of FORMATMAX bytes, one more is refused */
	n = (size_t)snprintf(line, sizeof(line),
	                     "{\"cmd\":\"FORMAT\",\"raw\":true,\"format\":\"");
	memset(line + n, 'f', FORMATMAX + 1);
	snprintf(line + n + FORMATMAX + 1, sizeof(line) - n - FORMATMAX - 1,
	         "\"}");
	run(line);
	snprintf(msg, sizeof(msg), "field format is longer than %d bytes",
	         FORMATMAX);
	CHECK(is(reply, err(msg)));
	snprintf(line + n + FORMATMAX, sizeof(line) - n - FORMATMAX, "\"}");
	run(line);
	CHECK(o.replylen == FORMATMAX + 1);
	/* rendered past TEXTMAX: an error, not a cut line */
	n = (size_t)snprintf(line, sizeof(line),
	                     "{\"cmd\":\"FORMAT\",\"raw\":true,\"format\":\"");
	while (n + 16 < sizeof(line) && n < FORMATMAX)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "{top.path}");
	snprintf(line + n, sizeof(line) - n, "\"}");
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"attention\","
	    "\"working_dir\":\"/home/u/a-long-directory-name/"
	    "and-another-long-one/and-a-third\"}");
	if ((FORMATMAX / 10) * 50 > TEXTMAX) {
		run(line);
		CHECK(is(reply, err("rendered text too long")));
	}
	CHECK(store_check() == 0 && proto_check() == 0);
}

/* The counts FORMAT gives, and proto_check() that they are the table's. */
static void
counts(const char *want)
{
	run("{\"cmd\":\"FORMAT\",\"raw\":true,\"format\":\"{attention}/"
	    "{working}/{closed} {inactive} {top.id}\"}");
	CHECK(is(reply, want));
	CHECK(proto_check() == 0);
}

/*
 * FORMAT keeps its counts while the table and the clock stand still:
 * every kind of change must show in the next one all the same.
 */
static void
formatkept(void)
{
	start();
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"attention\","
	    "\"working_dir\":\"/\"}");
	counts("1/0/0 0 a\n");
	counts("1/0/0 0 a\n"); /* asked again, nothing changed */
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\"}");
	counts("0/1/0 0 a\n");
	run("{\"session_id\":\"b\",\"hook_event_name\":\"Stop\"}");
	counts("1/1/0 0 b\n");
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"attention\","
	    "\"priority\":5}");
	counts("2/0/0 0 a\n");
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"closed\"}");
	counts("1/0/1 0 b\n");
	run("{\"cmd\":\"DELETE\",\"session_id\":\"b\"}");
	counts("0/0/1 0 \n");
	run("{\"cmd\":\"REOPEN\",\"session_id\":\"a\"}");
	counts("1/0/0 0 a\n");
	run("{\"cmd\":\"RM\",\"session_id\":\"a\"}");
	counts("0/0/1 0 \n");
	run("{\"cmd\":\"REOPEN\",\"session_id\":\"a\"}");
	tick(INACTIVESECS + 1); /* only the clock moves */
	counts("1/0/0 1 a\n");
	proto_loaded(&env, INACTIVESECS); /* idle longer: dropped at load */
	counts("0/0/0 0 \n");
	run("{\"session_id\":\"m\",\"hook_event_name\":\"Notification\","
	    "\"notification_type\":\"permission_prompt\","
	    "\"message\":\"Which one?\"}");
	run("{\"cmd\":\"FORMAT\",\"raw\":true,\"format\":\"} {top.message}"
	    " {self.message}}}\",\"session_id\":\"m\"}");
	CHECK(is(reply, "} Which one? Which one?}\n"));
	CHECK(proto_restore(&env, "{\"deleted\":\"m\"}", 15) == 0);
	counts("0/0/0 0 \n");
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\"}");
	counts("0/1/0 0 a\n");
	start();
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\"}");
	counts("0/1/0 0 a\n");
	start(); /* a new table at the same clock */
	counts("0/0/0 0 \n");
}

/* Rules that could never match are found at start. */
static void
badrules(void)
{
	char longer[RULEMATCHMAX + 2], key[KEYMAX + 2];
	struct rule r[2] = {
		{ "Stop", NULL, NULL, ST_ATTENTION, NULL, SUB_NO },
		{ "Notification", "notification_type", "idle_prompt",
		  ST_ATTENTION, "message", SUB_NO },
	};

	memset(longer, 'e', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	CHECK(proto_badrule(r, 2) == NULL);
	longer[RULEMATCHMAX] = '\0'; /* as long as can be: fine */
	r[1].event = longer;
	r[1].value = longer;
	CHECK(proto_badrule(r, 2) == NULL);
	longer[RULEMATCHMAX] = 'e';
	CHECK(is(proto_badrule(r, 2), "rule 2 (eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee): "
	         "event longer than RULEMATCHMAX, it could never match"));
	r[1].event = "Notification";
	CHECK(is(proto_badrule(r, 2), "rule 2 (Notification): value longer "
	         "than RULEMATCHMAX, it could never match"));
	r[1].value = "idle_prompt";
	key[KEYMAX] = '\0';
	r[1].field = key;
	r[1].msgfield = key;
	CHECK(proto_badrule(r, 2) == NULL);
	key[KEYMAX] = 'k';
	CHECK(is(proto_badrule(r, 2), "rule 2 (Notification): field name "
	         "longer than KEYMAX, it could never match"));
	r[1].field = "notification_type";
	CHECK(proto_badrule(r, 2) != NULL); /* the message field too */
	r[1].msgfield = NULL;
	r[0].field = key;
	CHECK(is(proto_badrule(r, 2), "rule 1 (Stop): field name longer than "
	         "KEYMAX, it could never match"));
	r[0].field = "source";
	CHECK(is(proto_badrule(r, 2), "rule 1 (Stop): a field without a value, "
	         "it could never match"));
	r[0].value = "startup";
	CHECK(proto_badrule(r, 2) == NULL);
}

/* Replies about one session rendered in the caller's buffer. */
static void
inplace(void)
{
	static char buf[ONEREPLYMAX + 16], same[ONEREPLYMAX + 16];
	size_t n;

	start();
	buf[ONEREPLYMAX] = 'G';
	CHECK(runinplace("{\"cmd\":\"SET\",\"session_id\":\"i\","
	      "\"status\":\"working\"}", buf, ONEREPLYMAX) == PROTO_DONE);
	CHECK(o.reply == buf && o.replylen > 0 && buf[ONEREPLYMAX] == 'G');
	n = o.replylen;
	memcpy(same, buf, n);
	run("{\"cmd\":\"GET\",\"session_id\":\"i\"}");
	CHECK(o.reply != buf && o.replylen == n && !memcmp(reply, same, n));
	CHECK(runinplace("{\"cmd\":\"GET\",\"session_id\":\"i\"}", buf,
	      ONEREPLYMAX) == PROTO_DONE && o.reply == buf &&
	      o.replylen == n && !memcmp(buf, same, n));
	/* not for a reply about all sessions, nor where there is too little */
	CHECK(runinplace("{\"cmd\":\"LIST\"}", buf, ONEREPLYMAX) ==
	      PROTO_DONE && o.reply != buf);
	CHECK(runinplace("{\"cmd\":\"GET\",\"session_id\":\"i\"}", buf,
	      ONEREPLYMAX - 1) == PROTO_DONE && o.reply != buf &&
	      o.replylen == n);
	/* errors come from their own buffer */
	CHECK(runinplace("{\"cmd\":\"GET\",\"session_id\":\"none\"}", buf,
	      ONEREPLYMAX) == PROTO_DONE && o.reply != buf &&
	      strstr(reply, "session not found"));
	CHECK(runinplace("{\"cmd\":\"RM\",\"session_id\":\"i\"}", buf,
	      ONEREPLYMAX) == PROTO_DONE && o.reply == buf &&
	      strstr(reply, "\"closed\":true"));
	CHECK(runinplace("{\"cmd\":\"REOPEN\",\"session_id\":\"i\"}", buf,
	      ONEREPLYMAX) == PROTO_DONE && o.reply != buf); /* no dir */
}

/* PROTO_AGAIN: no room for the largest reply changes nothing. */
static void
again(void)
{
	char line[DIRMAX + 128], dir[DIRMAX + 1];
	const char *jp;
	size_t need;
	int i;

	start();
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\"}");
	proto_journaldrop();
	CHECK(runroom("{\"cmd\":\"SET\",\"session_id\":\"b\",\"status\":"
	      "\"working\"}", ONEREPLYMAX - 1) == PROTO_AGAIN);
	CHECK(o.need >= ONEREPLYMAX && o.replylen == 0 && o.notelen == 0);
	CHECK(!store_find("b") && store_count() == 1);
	CHECK(runroom("{\"cmd\":\"RM\",\"session_id\":\"a\"}", 100) ==
	      PROTO_AGAIN && store_find("a")->status == ST_WORKING);
	CHECK(runroom("{\"cmd\":\"DELETE\",\"session_id\":\"a\"}", 0) ==
	      PROTO_AGAIN && store_find("a"));
	CHECK(runroom("{\"session_id\":\"a\",\"hook_event_name\":\"Stop\"}",
	      10) == PROTO_AGAIN && store_find("a")->status == ST_WORKING);
	CHECK(runroom("{\"cmd\":\"STOP\",\"confirmed\":true}", 10) ==
	      PROTO_AGAIN && !o.stop);
	CHECK(runroom("{\"cmd\":\"SUB\"}", 10) == PROTO_AGAIN && !o.subscribe);
	CHECK(proto_journal(&env, &jp) == 0); /* and nothing to write down */

	/* a LIST larger than the room asks for what it needs */
	dir[0] = '/';
	memset(dir + 1, 'd', DIRMAX - 1);
	dir[DIRMAX] = '\0';
	for (i = 0; i < SESSMAX - 1; i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"SET\",\"session_id\":"
		         "\"l%d\",\"status\":\"question\",\"working_dir\":\"%s\"}",
		         i, dir);
		run(line);
		run("{\"cmd\":\"LIST\"}");
		if (o.replylen > ONEREPLYMAX)
			break;
	}
	need = o.replylen;
	CHECK(need > ONEREPLYMAX);
	CHECK(runroom("{\"cmd\":\"LIST\"}", need - 1) == PROTO_AGAIN &&
	      o.need == need && o.replylen == 0);
	CHECK(runroom("{\"cmd\":\"LIST\"}", need) == PROTO_DONE &&
	      o.replylen == need);
	CHECK(runroom("{\"cmd\":\"SUB\",\"snapshot\":true}", need) ==
	      PROTO_AGAIN && !o.subscribe && o.need > need);
	CHECK(runroom("{\"cmd\":\"SUB\",\"snapshot\":true}", o.need) ==
	      PROTO_DONE && o.subscribe);
	CHECK(store_check() == 0 && proto_check() == 0);
}

/* proto_toolong(): the first LINEMAX bytes of a line too long to keep. */
static void
toolong(void)
{
	static char line[LINEMAX + 64];
	size_t n;

	start();
	/* a hook payload: its fields before the cut are mapped */
	n = (size_t)snprintf(line, sizeof(line), "{\"session_id\":\"big\","
	                     "\"cwd\":\"/w\",\"hook_event_name\":\"PreToolUse\","
	                     "\"tool_name\":\"AskUserQuestion\",\"tool_input\":"
	                     "{\"content\":\"");
	memset(line + n, 'x', sizeof(line) - n);
	memset(&o, 0, sizeof(o));
	o.room = REPLYMAX;
	CHECK(proto_toolong(&env, &o, line, LINEMAX) == PROTO_DONE);
	copyout();
	CHECK(o.replylen == 0 && lines(note) == 1);
	CHECK(store_find("big") && store_find("big")->status == ST_QUESTION);
	CHECK(!strcmp(store_find("big")->dir, "/w"));

	n = (size_t)snprintf(line, sizeof(line), "{\"session_id\":\"big\","
	                     "\"hook_event_name\":\"Stop\",\"last_assistant_"
	                     "message\":\"");
	memset(line + n, 'y', sizeof(line) - n);
	memset(&o, 0, sizeof(o));
	o.room = REPLYMAX;
	CHECK(proto_toolong(&env, &o, line, LINEMAX) == PROTO_DONE);
	CHECK(o.replylen == 0 && store_find("big")->status == ST_ATTENTION);

	/* commands and anything else get the error */
	n = (size_t)snprintf(line, sizeof(line), "{\"cmd\":\"SET\","
	                     "\"session_id\":\"c\",\"status\":\"working\","
	                     "\"working_dir\":\"");
	memset(line + n, 'z', sizeof(line) - n);
	memset(&o, 0, sizeof(o));
	o.room = REPLYMAX;
	CHECK(proto_toolong(&env, &o, line, LINEMAX) == PROTO_DONE);
	copyout();
	CHECK(is(reply, err("line too long")) && !store_find("c"));
	/* the event name after the cut: nothing to map */
	n = (size_t)snprintf(line, sizeof(line), "{\"session_id\":\"late\","
	                     "\"tool_input\":\"");
	memset(line + n, 'z', sizeof(line) - n);
	memcpy(line + LINEMAX + 2, "\",\"hook_event_name\":\"Stop\"}", 27);
	memset(&o, 0, sizeof(o));
	o.room = REPLYMAX;
	proto_toolong(&env, &o, line, LINEMAX);
	copyout();
	CHECK(is(reply, err("line too long")) && !store_find("late"));
	memset(line, ' ', sizeof(line));
	memset(&o, 0, sizeof(o));
	o.room = REPLYMAX;
	proto_toolong(&env, &o, line, LINEMAX);
	copyout();
	CHECK(is(reply, err("line too long")));
	/* and with no room, nothing happens */
	n = (size_t)snprintf(line, sizeof(line), "{\"session_id\":\"nr\","
	                     "\"hook_event_name\":\"Stop\",\"x\":\"");
	memset(line + n, 'x', sizeof(line) - n);
	memset(&o, 0, sizeof(o));
	o.room = 10;
	CHECK(proto_toolong(&env, &o, line, LINEMAX) == PROTO_AGAIN &&
	      !store_find("nr"));
	CHECK(store_check() == 0 && proto_check() == 0);
}

/* The journal: one record per change, read back by proto_restore(). */
static void
journal(void)
{
	static char snap1[8 * RECMAX], snap2[8 * RECMAX];
	const char *p, *nl;
	size_t n, n1, n2;
	int pos;

	start();
	env.wallms = env.wall * 1000 + 250;
	CHECK(proto_journal(&env, &p) == 0 && proto_journalclear() == 0);
	run("{\"cmd\":\"SET\",\"session_id\":\"j\",\"status\":\"working\","
	    "\"working_dir\":\"/tmp\",\"priority\":5}");
	n = proto_journal(&env, &p);
	CHECK(n > 0 && p[n - 1] == '\n' && memchr(p, '\n', n) == p + n - 1);
	CHECK(!strncmp(p, "{\"session_id\":\"j\",", 18));
	CHECK(proto_journalclear() == 0 && proto_journal(&env, &p) == 0);
	/* read-only commands write nothing */
	run("{\"cmd\":\"LIST\"}");
	run("{\"cmd\":\"GET\",\"session_id\":\"j\"}");
	run("{\"cmd\":\"FORMAT\",\"format\":\"{working}\"}");
	CHECK(proto_journal(&env, &p) == 0);
	tick(10);
	env.wallms += 10000;
	run("{\"session_id\":\"j\",\"hook_event_name\":\"Notification\","
	    "\"notification_type\":\"permission_prompt\",\"message\":\"m\"}");
	run("{\"session_id\":\"k\",\"hook_event_name\":\"SessionStart\"}");
	run("{\"cmd\":\"RM\",\"session_id\":\"k\"}");
	run("{\"cmd\":\"SET\",\"session_id\":\"gone\",\"status\":\"working\"}");
	run("{\"cmd\":\"DELETE\",\"session_id\":\"gone\"}");
	/* one record a session however often it changed; deletions first */
	n = proto_journal(&env, &p);
	CHECK(n > 0 && lines(p) == 3);
	CHECK(!strncmp(p, "{\"deleted\":\"gone\"}\n", 17));
	CHECK(strstr(p, "{\"session_id\":\"j\",") &&
	      strstr(p, "{\"session_id\":\"k\",") &&
	      !strstr(p, "{\"session_id\":\"gone\""));
	CHECK(proto_journaldue() == 1 && proto_journalclear() == 0);
	CHECK(proto_journaldue() == 0 && proto_journal(&env, &p) == 0);
	/* the record is rendered when written: it holds the last change */
	run("{\"cmd\":\"SET\",\"session_id\":\"j\",\"status\":\"working\"}");
	run("{\"cmd\":\"SET\",\"session_id\":\"j\",\"status\":\"question\","
	    "\"priority\":9}");
	CHECK(proto_journaldue() == 1);
	n = proto_journal(&env, &p);
	CHECK(n > 0 && n < sizeof(snap1) && memchr(p, '\n', n) == p + n - 1);
	memcpy(snap1, p, n);
	snap1[n] = '\0';
	CHECK(strstr(snap1, "\"status\":\"question\"") &&
	      strstr(snap1, "\"priority\":9"));
	CHECK(proto_journalclear() == 0);
	/* dropped: a snapshot carries it */
	run("{\"cmd\":\"SET\",\"session_id\":\"j\",\"status\":\"working\"}");
	proto_journaldrop();
	CHECK(proto_journaldue() == 0 && proto_journal(&env, &p) == 0);
	run("{\"cmd\":\"SET\",\"session_id\":\"j\",\"status\":\"attention\","
	    "\"priority\":5}");
	CHECK(!store_find("j")->hasmsg); /* it told of an older status */
	run("{\"session_id\":\"j\",\"hook_event_name\":\"Notification\","
	    "\"notification_type\":\"permission_prompt\",\"message\":\"m\"}");
	n = proto_journal(&env, &p);
	CHECK(n > 0 && memchr(p, '\n', n) == p + n - 1);
	CHECK(proto_journalclear() == 0);

	/* a snapshot loads back into the same table */
	pos = 0;
	n1 = proto_snapshot(&env, snap1, sizeof(snap1), &pos);
	CHECK(n1 > 0 && lines(snap1) == 2);
	proto_init(1);
	CHECK(store_count() == 0);
	for (p = snap1; (nl = memchr(p, '\n', n1 - (size_t)(p - snap1)));
	     p = nl + 1)
		CHECK(proto_restore(&env, p, (size_t)(nl - p)) == 0);
	CHECK(store_count() == 2 && store_nclosed() == 1);
	CHECK(store_find("j") && store_find("j")->priority == 5 &&
	      store_find("j")->status == ST_ATTENTION &&
	      !strcmp(store_find("j")->msg, "m"));
	pos = 0;
	n2 = proto_snapshot(&env, snap2, sizeof(snap2), &pos);
	CHECK(n1 == n2);
	run("{\"cmd\":\"GET\",\"session_id\":\"j\"}");
	CHECK(strstr(reply, "\"elapsed_seconds\":0,\"idle_seconds\":0,") &&
	      strstr(reply, "\"message\":\"m\""));
	/* bad records are refused, stale ones left out */
	CHECK(proto_restore(&env, "{\"session_id\":\"x\"}", 17) == -1);
	CHECK(proto_restore(&env, "nonsense", 8) == -1);
	CHECK(proto_restore(&env, "{\"deleted\":\"j\"}", 15) == 0 &&
	      !store_find("j"));
	tick(100);
	env.wallms += 100000;
	nl = memchr(snap1, '\n', n1);        /* the first record is j's */
	CHECK(!strncmp(snap1, "{\"session_id\":\"j\"", 17));
	CHECK(proto_restore(&env, snap1, (size_t)(nl - snap1)) == 0);
	CHECK(store_count() == 2);
	proto_loaded(&env, 150);     /* idle 100 s: kept */
	CHECK(store_count() == 2);
	proto_loaded(&env, 50);      /* idle 100 s > 50 s: dropped */
	CHECK(store_count() == 0);
	CHECK(store_check() == 0 && proto_check() == 0);

	/* without -S nothing is recorded; without subscribers nothing told */
	proto_init(0);
	env.subscribers = 0;
	run("{\"cmd\":\"SET\",\"session_id\":\"q\",\"status\":\"working\"}");
	CHECK(!strncmp(reply, OK, strlen(OK)) && o.notelen == 0);
	run("{\"session_id\":\"q\",\"hook_event_name\":\"Stop\"}");
	CHECK(store_find("q")->status == ST_ATTENTION && o.notelen == 0);
	CHECK(proto_journal(&env, &p) == 0);
	env.subscribers = 1;
	run("{\"cmd\":\"DELETE\",\"session_id\":\"q\"}");
	CHECK(lines(note) == 1 && proto_journal(&env, &p) == 0);
}

/* Appends what the journal holds to b (NUL-terminated) and clears it. */
static void
drain(char *b, size_t size)
{
	const char *p;
	size_t n, have = strlen(b);

	while ((n = proto_journal(&env, &p)) > 0) {
		CHECK(have + n < size);
		if (have + n >= size)
			return;
		memcpy(b + have, p, n);
		b[have += n] = '\0';
		CHECK(proto_journalclear() == 0);
	}
}

/* Runs line and writes the journal on into b: where its records start. */
static size_t
step(char *b, size_t size, const char *line)
{
	size_t at = strlen(b);

	run(line);
	drain(b, size);
	return at;
}

/* Loads journal lines into a fresh table. */
static void
replay(const char *b)
{
	const char *p, *nl;

	proto_init(1);
	for (p = b; (nl = strchr(p, '\n')); p = nl + 1)
		CHECK(proto_restore(&env, p, (size_t)(nl - p)) == 0);
	proto_loaded(&env, 86400);
	CHECK(store_check() == 0 && proto_check() == 0);
}

/* The table as the state file holds it, into b. */
static size_t
table(char *b, size_t size)
{
	size_t n;
	int pos = 0;

	n = proto_snapshot(&env, b, size - 1, &pos);
	CHECK(store_next(&pos) == NULL);
	b[n] = '\0';
	return n;
}

/*
 * A session already written gets only the statuses it gained; loading
 * full records and such deltas gives back the same table.
 */
static void
deltas(void)
{
	static char jb[64 * RECMAX], snap1[8 * RECMAX], snap2[8 * RECMAX];
	char line[256];
	const char *p, *nl;
	size_t n1, n2, at;
	struct session *s;
	int pos, i;

	start();
	env.wallms = env.wall * 1000;
	jb[0] = '\0';
	run("{\"cmd\":\"SET\",\"session_id\":\"d\",\"status\":\"working\"}");
	drain(jb, sizeof(jb));
	CHECK(strstr(jb, "\"history\":[{") && !strstr(jb, "history+"));
	at = strlen(jb);
	tick(1);
	env.wallms += 1000;
	run("{\"cmd\":\"SET\",\"session_id\":\"d\",\"status\":\"attention\"}");
	drain(jb, sizeof(jb));
	CHECK(!strstr(jb + at, "\"history\":") &&
	      strstr(jb + at, "\"history+\":[{\"status\":\"attention\","
	      "\"at_secs\":") && strstr(jb + at, "}]}\n"));
	/* no status gained, the rest the same: only the times */
	at = step(jb, sizeof(jb), "{\"cmd\":\"SET\",\"session_id\":\"d\","
	          "\"status\":\"attention\"}");
	CHECK(jb + at == strstr(jb + at, "{\"session_id\":\"d\",\"since_ms\":") &&
	      strstr(jb + at, ",\"active_ms\":") && !strstr(jb + at, "status") &&
	      !strstr(jb + at, "agent_type") && !strstr(jb + at, "history"));
	/* names that need escaping, in full records and in deltas */
	step(jb, sizeof(jb), "{\"cmd\":\"SET\",\"session_id\":\"q\\\"\\u0001\","
	     "\"status\":\"working\",\"agent_type\":\"a\\\\b\",\"working_dir\":"
	     "\"/\\t\"}");
	at = step(jb, sizeof(jb), "{\"cmd\":\"SET\",\"session_id\":"
	          "\"q\\\"\\u0001\",\"status\":\"question\",\"priority\":1}");
	CHECK(strstr(jb, "{\"session_id\":\"q\\\"\\u0001\",\"agent_type\":"
	      "\"a\\\\b\",\"status\":\"working\",\"working_dir\":\"/\\t\"") &&
	      strstr(jb + at, "{\"session_id\":\"q\\\"\\u0001\",\"agent_type\":"
	      "\"a\\\\b\",\"working_dir\":\"/\\t\",\"priority\":1,"));
	/* a changed priority: agent, dir, message and priority come along */
	at = step(jb, sizeof(jb), "{\"cmd\":\"SET\",\"session_id\":\"d\","
	          "\"status\":\"attention\",\"priority\":3}");
	CHECK(strstr(jb + at, "\"agent_type\":\"claudecode\",\"working_dir\":null,"
	      "\"priority\":3,\"message\":null,") && !strstr(jb + at, "status") &&
	      !strstr(jb + at, "history"));
	/* a hook's new cwd, then the same again, and a message that goes */
	at = step(jb, sizeof(jb), "{\"session_id\":\"d\","
	          "\"hook_event_name\":\"PostToolUse\",\"cwd\":\"/w\"}");
	CHECK(strstr(jb + at, "\"working_dir\":\"/w\"") &&
	      strstr(jb + at, "\"status\":\"working\",\"history+\":[{"));
	at = step(jb, sizeof(jb), "{\"session_id\":\"d\","
	          "\"hook_event_name\":\"PostToolUse\",\"cwd\":\"/w\"}");
	CHECK(!strstr(jb + at, "working_dir") && !strstr(jb + at, "status"));
	at = step(jb, sizeof(jb), "{\"session_id\":\"d\","
	          "\"hook_event_name\":\"Notification\",\"notification_type\":"
	          "\"idle_prompt\",\"message\":\"hi\"}");
	CHECK(strstr(jb + at, "\"message\":\"hi\"") &&
	      strstr(jb + at, "\"working_dir\":\"/w\""));
	at = step(jb, sizeof(jb), "{\"session_id\":\"d\","
	          "\"hook_event_name\":\"UserPromptSubmit\"}");
	CHECK(strstr(jb + at, "\"message\":null"));
	/* more changes than history keeps between two writes: all of it */
	for (i = 0; i < HISTMAX + 2; i++) {
		tick(1);
		env.wallms += 1000;
		snprintf(line, sizeof(line), "{\"cmd\":\"SET\",\"session_id\":"
		         "\"d\",\"status\":\"%s\"}", i % 2 ? "working" : "question");
		run(line);
	}
	at = strlen(jb);
	drain(jb, sizeof(jb));
	CHECK(strstr(jb + at, "\"history\":[{") && !strstr(jb + at, "history+"));
	/* and a few at a time, past HISTMAX in all, for another session */
	run("{\"cmd\":\"SET\",\"session_id\":\"e\",\"status\":\"working\"}");
	for (i = 0; i < 3 * HISTMAX; i++) {
		tick(1);
		env.wallms += 1000;
		snprintf(line, sizeof(line), "{\"session_id\":\"e\","
		         "\"hook_event_name\":\"%s\"}", i % 3 ? "Stop" :
		         "UserPromptSubmit");
		run(line);
		if (i % 4 == 0)
			drain(jb, sizeof(jb));
	}
	drain(jb, sizeof(jb));
	pos = 0;
	n1 = proto_snapshot(&env, snap1, sizeof(snap1), &pos);
	snap1[n1] = '\0';
	replay(jb);
	pos = 0;
	n2 = proto_snapshot(&env, snap2, sizeof(snap2), &pos);
	snap2[n2] = '\0';
	CHECK(n1 > 0 && n1 == n2 && !memcmp(snap1, snap2, n1));

	/*
	 * One pass's records go in the order the sessions first changed. A
	 * closed session reopened while another closes: replayed in that
	 * order, the table holds one closed too many for a moment, and
	 * nothing may be evicted for it.
	 */
	start();
	env.wallms = env.wall * 1000;
	jb[0] = '\0';
	run("{\"session_id\":\"a\",\"hook_event_name\":\"UserPromptSubmit\"}");
	for (i = 0; i < MAXCLOSED; i++) {
		tick(1);
		env.wallms += 1000;
		snprintf(line, sizeof(line), "{\"cmd\":\"SET\",\"session_id\":"
		         "\"c%d\",\"status\":\"working\"}", i);
		run(line);
		snprintf(line, sizeof(line), "{\"cmd\":\"RM\",\"session_id\":"
		         "\"c%d\"}", i);
		run(line);
	}
	drain(jb, sizeof(jb));
	tick(1);
	env.wallms += 1000;
	run("{\"session_id\":\"a\",\"hook_event_name\":\"PostToolUse\"}");
	run("{\"cmd\":\"SET\",\"session_id\":\"c0\",\"status\":\"working\"}");
	run("{\"session_id\":\"a\",\"hook_event_name\":\"SessionEnd\"}");
	CHECK(store_nclosed() == MAXCLOSED && store_find("c0") &&
	      store_find("a")->status == ST_CLOSED);
	drain(jb, sizeof(jb));       /* one pass: a, then c0 */
	n1 = table(snap1, sizeof(snap1));
	replay(jb);
	n2 = table(snap2, sizeof(snap2));
	CHECK(n1 == n2 && !strcmp(snap1, snap2));

	/*
	 * Staleness is judged on a session's last record: a full record
	 * older than the limit is the base of a fresh delta after it.
	 */
	start();
	env.wallms = env.wall * 1000;
	jb[0] = '\0';
	run("{\"cmd\":\"SET\",\"session_id\":\"x\",\"status\":\"working\"}");
	drain(jb, sizeof(jb));
	tick(200);
	env.wallms += 200000;
	run("{\"session_id\":\"x\",\"hook_event_name\":\"Stop\"}");
	drain(jb, sizeof(jb));
	CHECK(strstr(jb, "history+"));
	n1 = table(snap1, sizeof(snap1));
	proto_init(1);
	for (p = jb; (nl = strchr(p, '\n')); p = nl + 1)
		CHECK(proto_restore(&env, p, (size_t)(nl - p)) == 0);
	proto_loaded(&env, 100);
	n2 = table(snap2, sizeof(snap2));
	CHECK(store_find("x") && store_find("x")->nhist == 2 &&
	      n1 == n2 && !strcmp(snap1, snap2));

	/* a delta whose full record is lost still makes a session */
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"agent_type\":\"c\","
	         "\"status\":\"question\",\"working_dir\":null,\"priority\":0,"
	         "\"since_ms\":%lld,\"active_ms\":%lld,\"closeseq\":0,"
	         "\"history+\":[]}\n", env.wallms, env.wallms);
	replay(jb);
	CHECK(store_find("f") && store_find("f")->nhist == 1 &&
	      store_find("f")->hist[0].status == ST_QUESTION &&
	      store_find("f")->hist[0].at == env.wall);
	/* and one that follows it adds to its history */
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"agent_type\":\"c\","
	         "\"status\":\"working\",\"working_dir\":null,\"priority\":0,"
	         "\"since_ms\":%lld,\"active_ms\":%lld,\"closeseq\":0,"
	         "\"history+\":[{\"status\":\"working\",\"at_secs\":5}]}",
	         env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == 0);
	CHECK(store_find("f") && store_find("f")->nhist == 2 &&
	      store_find("f")->hist[1].status == ST_WORKING &&
	      store_find("f")->hist[1].at == 5);
	/* a bad one is refused and changes nothing */
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"agent_type\":\"c\","
	         "\"status\":\"working\",\"working_dir\":null,\"priority\":0,"
	         "\"since_ms\":%lld,\"active_ms\":%lld,\"closeseq\":0,"
	         "\"history+\":{\"status\":\"working\"}}", env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == -1);
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"agent_type\":\"c\","
	         "\"status\":\"working\",\"working_dir\":null,\"priority\":0,"
	         "\"since_ms\":%lld,\"active_ms\":%lld,\"closeseq\":0,"
	         "\"history+\":[{\"status\":\"nope\",\"at_secs\":6}]}",
	         env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == -1);
	CHECK(store_find("f")->nhist == 2);
	/* more statuses than history keeps: the newest, after the others */
	n1 = (size_t)snprintf(jb, sizeof(jb), "{\"session_id\":\"f\","
	    "\"agent_type\":\"c\",\"status\":\"working\",\"working_dir\":"
	    "null,\"priority\":0,\"since_ms\":%lld,\"active_ms\":%lld,"
	    "\"closeseq\":0,\"history+\":[", env.wallms, env.wallms);
	for (i = 0; i < HISTMAX + 5; i++)
		n1 += (size_t)snprintf(jb + n1, sizeof(jb) - n1,
		    "%s{\"status\":\"working\",\"at_secs\":%d}", i ? "," : "",
		    100 + i);
	snprintf(jb + n1, sizeof(jb) - n1, "]}");
	CHECK(proto_restore(&env, jb, strlen(jb)) == 0);
	CHECK(store_find("f")->nhist == HISTMAX &&
	      store_find("f")->hist[0].at == 100 + 5 &&
	      store_find("f")->hist[HISTMAX - 1].at == 100 + HISTMAX + 4);
	/* a short delta keeps what it leaves out, changes what it holds */
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"working_dir\":"
	         "\"/d\",\"message\":\"m\",\"since_ms\":%lld,\"active_ms\":%lld}",
	         env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == 0);
	CHECK((s = store_find("f")) && !strcmp(s->agent, "c") &&
	      s->status == ST_WORKING && s->nhist == HISTMAX &&
	      s->hasdir && !strcmp(s->dir, "/d") && s->hasmsg &&
	      !strcmp(s->msg, "m"));
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"working_dir\":null,"
	         "\"message\":null,\"priority\":7,\"since_ms\":%lld,"
	         "\"active_ms\":%lld}", env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == 0);
	CHECK(!s->hasdir && !s->dir[0] && !s->hasmsg && s->priority == 7 &&
	      !strcmp(s->agent, "c"));
	/* what it leaves out must be there to keep; what it holds, sound */
	snprintf(jb, sizeof(jb), "{\"session_id\":\"g\",\"since_ms\":%lld,"
	         "\"active_ms\":%lld}", env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == -1 && !store_find("g"));
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"status\":null,"
	         "\"since_ms\":%lld,\"active_ms\":%lld}", env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == -1);
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"agent_type\":\"\","
	         "\"since_ms\":%lld,\"active_ms\":%lld}", env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == -1);
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"priority\":-1,"
	         "\"since_ms\":%lld,\"active_ms\":%lld}", env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == -1);
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"since_ms\":%lld}",
	         env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == -1);
	/* a status without the statuses gained; a closing without its number */
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"status\":\"question\","
	         "\"since_ms\":%lld,\"active_ms\":%lld}", env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == -1);
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"status\":\"closed\","
	         "\"since_ms\":%lld,\"active_ms\":%lld,\"history+\":[{\"status\":"
	         "\"closed\",\"at_secs\":9}]}", env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == -1);
	/*
	 * The delta of an older build has every field but a message the
	 * session does not have: agent and message travel together, so the
	 * message is gone.
	 */
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"message\":\"m\","
	         "\"since_ms\":%lld,\"active_ms\":%lld}", env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == 0 && s->hasmsg);
	snprintf(jb, sizeof(jb), "{\"session_id\":\"f\",\"agent_type\":\"c\","
	         "\"status\":\"working\",\"working_dir\":null,\"priority\":7,"
	         "\"since_ms\":%lld,\"active_ms\":%lld,\"closeseq\":0,"
	         "\"history+\":[]}", env.wallms, env.wallms);
	CHECK(proto_restore(&env, jb, strlen(jb)) == 0 && !s->hasmsg &&
	      !s->msg[0]);
	CHECK(s->priority == 7 && !strcmp(s->agent, "c") && s->status == ST_WORKING);
	CHECK(store_check() == 0 && proto_check() == 0);
}

static void
usage(void)
{
	static const char *text = "{\"five_hour\":{\"utilization\":12.0,"
	    "\"resets_at\":\"2026-09-21T16:00:00.123+00:00\"},\"seven_day\":"
	    "{\"utilization\":55.5,\"resets_at\":null},\"source\":\"x\"}\n";
	static const char *pretty = "{\n  \"five_hour\": {\n    \"utilization\""
	    ": 42,\r\n\t\"resets_at\": \"a \\\" b\\\\\"\n  },\n  \"seven_day\": "
	    "[ 1 , { } ]\n}\n";

	start();
	CHECK(proto_usagestale(W0, 180));
	run("{\"session_id\":\"u\",\"hook_event_name\":\"Stop\"}");
	CHECK(o.usagewanted);
	memset(&o, 0, sizeof(o));
	proto_usage(&env, &o, text, strlen(text), NULL);
	copyout();
	CHECK(o.replylen == 0);
	CHECK(between(note, "{\"version\":1,\"type\":\"usage\",\"usage\":"
	      "{\"five_hour\":{\"utilization\":12.0,\"resets_at\":"
	      "\"2026-09-21T16:00:00.123+00:00\"},\"seven_day\":{\"utilization\":"
	      "55.5,\"resets_at\":null},\"source\":\"command\"", "}}\n") &&
	      lines(note) == 1);
	CHECK(!proto_usagestale(W0 + 179, 180) &&
	      proto_usagestale(W0 + 180, 180));
	run("{\"cmd\":\"FORMAT\",\"format\":\"{usage.5h} {usage.7d} "
	    "{usage.5h.reset}\",\"raw\":true}");
	CHECK(is(reply, "12 56 1h46m\n"));
	run("{\"session_id\":\"u\",\"hook_event_name\":\"Stop\"}");
	CHECK(!o.usagewanted);
	run("{\"cmd\":\"SUB\"}");
	CHECK(lines(reply) == 2 && strstr(reply, "\n{\"version\":1,\"type\":"
	      "\"usage\",\"usage\":{\"five_hour\""));

	/* laid out on lines, it still goes out on one */
	memset(&o, 0, sizeof(o));
	proto_usage(&env, &o, pretty, strlen(pretty), NULL);
	copyout();
	CHECK(between(note, "{\"version\":1,\"type\":\"usage\",\"usage\":"
	      "{\"five_hour\":{\"utilization\":42,\"resets_at\":\"a \\\" b\\\\\"},"
	      "\"seven_day\":[1,{}],\"source\":\"command\"", "}}\n") &&
	      lines(note) == 1);

	memset(&o, 0, sizeof(o));
	proto_usage(&env, &o, "oops", 4, NULL);
	copyout();
	CHECK(is(note, "{\"version\":1,\"type\":\"warn\",\"message\":\"usage "
	      "command did not print a JSON object\"}\n"));
	CHECK(proto_usagestale(W0, 180));
	memset(&o, 0, sizeof(o));
	proto_usage(&env, &o, NULL, 0, "usage command timed out");
	copyout();
	CHECK(strstr(note, "\"type\":\"warn\"") != NULL);
	run("{\"cmd\":\"USAGE\"}");
	CHECK(!strncmp(reply, OK "{\"state\":\"unavailable\"", strlen(OK) + 22));
	CHECK(proto_busyuntil() == env.mono + INACTIVESECS * 1000LL);
	env.mono += 5000;
	run("{\"cmd\":\"RM\",\"session_id\":\"u\"}");
	CHECK(proto_busyuntil() == env.mono); /* closed now */
}

/* a status line payload whose five-hour window resets in secs, at pct % */
static void
window(const char *pct, long long secs)
{
	run(fmt("{\"session_id\":\"sl\",\"rate_limits\":{\"five_hour\":"
	    "{\"used_percentage\":%s,\"resets_at\":%lld}}}", pct,
	    env.wall + secs));
}

/* FORMAT's template, raw, into reply */
static void
render(const char *tmpl)
{
	run(fmt("{\"cmd\":\"FORMAT\",\"format\":\"%s\",\"raw\":true}", tmpl));
}

/*
 * Behaviour each of the other cases leaves loose: a case each, which a
 * one-token change to proto.c or store.c fails.
 */
static void
pinned(void)
{
	static const struct { long long secs; const char *shown; } dur[] = {
		{ 59, "59s\n" }, { 60, "1m\n" }, { 3599, "59m\n" },
		{ 3600, "1h00m\n" }, { 86399, "23h59m\n" }, { 86400, "1d\n" },
	};
	static const struct { long long shift; const char *name; } zone[] = {
		{ 3600, "+01:00" }, { -9000, "-02:30" },
	};
	static const char *hook = "{\"session_id\":\"%s\",\"hook_event_name\":"
	    "\"%s\",\"tool_name\":\"Bash\"%s%s%s}";
	char line[512], iso[64], agent[32], rec[512];
	struct session *s;
	FILE *errs;
	int saved;
	struct tm tm;
	time_t t;
	size_t n, i;
	int depth;

	start();
	/* a command name matches whole; a null one names none */
	run("{\"cmd\":\"LISTX\"}");
	CHECK(is(reply, err("unknown command: LISTX")));
	run("{\"cmd\":null}");
	CHECK(is(reply, err("unknown command")));

	/* attention before question; of two the same, the one waiting longer */
	run("{\"cmd\":\"SET\",\"session_id\":\"q\",\"status\":\"question\"}");
	tick(1);
	run("{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"attention\"}");
	tick(1);
	run("{\"cmd\":\"SET\",\"session_id\":\"b\",\"status\":\"attention\"}");
	render("{top.id}");
	CHECK(is(reply, "a\n"));

	/* idle long: inactive, unless closed */
	run("{\"cmd\":\"SET\",\"session_id\":\"c\",\"status\":\"closed\"}");
	tick(INACTIVESECS + 1);
	run("{\"cmd\":\"GET\",\"session_id\":\"c\"}");
	CHECK(strstr(reply, "\"inactive\":false") != NULL);
	run("{\"cmd\":\"GET\",\"session_id\":\"q\"}");
	CHECK(strstr(reply, "\"inactive\":true") != NULL);

	/* REOPEN wants a directory, not any file */
	run("{\"cmd\":\"SET\",\"session_id\":\"f\",\"status\":\"closed\","
	    "\"working_dir\":\"/dev/null\"}");
	run("{\"cmd\":\"REOPEN\",\"session_id\":\"f\"}");
	CHECK(is(reply, err("WORKING_DIR_MISSING Working directory no longer "
	      "exists: /dev/null")));

	/* {?...} parts nest FORMATDEPTH deep; one deeper is left out */
	for (depth = FORMATDEPTH; depth <= FORMATDEPTH + 1; depth++) {
		n = (size_t)snprintf(line, sizeof(line), "[");
		for (i = 0; i < (size_t)depth; i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "{?");
		n += (size_t)snprintf(line + n, sizeof(line) - n, "{sessions}");
		for (i = 0; i < (size_t)depth; i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "}");
		snprintf(line + n, sizeof(line) - n, "]");
		render(line);
		CHECKM(is(reply, depth == FORMATDEPTH ?
		       fmt("[%d]\n", store_count()) : "[]\n"), line);
	}

	/* durations at each unit's edge */
	for (i = 0; i < LEN(dur); i++) {
		window("10", dur[i].secs);
		render("{usage.5h.reset}");
		CHECKM(is(reply, dur[i].shown), dur[i].shown);
	}
	/* past 100 % is possible, past 1000 % is nonsense: ignored */
	window("5000", 600);
	render("{usage.5h}");
	CHECK(is(reply, "10\n"));
	/* a reset time with an offset from UTC, either way: 2 h from now */
	for (i = 0; i < LEN(zone); i++) {
		t = (time_t)(env.wall + 7200 + zone[i].shift);
		gmtime_r(&t, &tm);
		n = strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
		n = (size_t)snprintf(line, sizeof(line), "{\"five_hour\":"
		                     "{\"utilization\":%d,\"resets_at\":"
		                     "\"%s%s\"}}", 20 + (int)i, iso, zone[i].name);
		memset(&o, 0, sizeof(o));
		proto_usage(&env, &o, line, n, NULL);
		render("{usage.5h} {usage.5h.reset}");
		CHECKM(is(reply, fmt("%d 2h00m\n", 20 + (int)i)), zone[i].name);
	}

	/* an empty message is none */
	run("{\"session_id\":\"n\",\"hook_event_name\":\"Notification\","
	    "\"notification_type\":\"permission_prompt\",\"message\":\"\"}");
	run("{\"cmd\":\"GET\",\"session_id\":\"n\"}");
	CHECK(strstr(reply, "\"status\":\"attention\"") &&
	      !strstr(reply, "\"message\""));

	/* an event that keeps the status still makes the session active */
	run(fmt(hook, "w", "UserPromptSubmit", "", "", ""));
	tick(2);
	run(fmt(hook, "w", "PostToolUse", "", "", ""));
	CHECK((s = store_find("w")) && s->status == ST_WORKING &&
	      s->active == env.mono);

	/* SUBWAITMAX subagents wait at once: the last one still holds it */
	run(fmt(hook, "sw", "UserPromptSubmit", "", "", ""));
	for (i = 0; i < SUBWAITMAX; i++) {
		snprintf(agent, sizeof(agent), "ag-%d", (int)i);
		run(fmt(hook, "sw", "PermissionRequest", ",\"agent_id\":\"",
		    agent, "\""));
	}
	for (i = 0; i + 1 < SUBWAITMAX; i++) {
		snprintf(agent, sizeof(agent), "ag-%d", (int)i);
		run(fmt(hook, "sw", "PostToolUse", ",\"agent_id\":\"", agent,
		    "\""));
	}
	CHECK((s = store_find("sw")) && s->status == ST_ATTENTION &&
	      s->nwaiters == 1);
	/* a status set by a client forgets who waited */
	run("{\"cmd\":\"SET\",\"session_id\":\"sw\",\"status\":\"working\"}");
	CHECK(s->nwaiters == 0);
	run(fmt(hook, "sw", "PermissionRequest", ",\"agent_id\":\"", "ag-9",
	    "\""));
	run(fmt(hook, "sw", "PostToolUse", ",\"agent_id\":\"", "ag-9", "\""));
	CHECK(s->status == ST_WORKING);

	/* bad hook events: WARNMAX warnings a second, then how many more */
	tick(100000);	/* a second no case used: nothing left to report */
	run("{\"hook_event_name\":\"Stop\"}");
	tick(1);
	fflush(stderr);
	if ((errs = tmpfile()) && (saved = dup(2)) >= 0 &&
	    dup2(fileno(errs), 2) >= 0) {
		for (i = 0; i < WARNMAX + 7; i++)
			run("{\"hook_event_name\":\"Stop\"}");
		tick(1);
		run("{\"hook_event_name\":\"Stop\"}");
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		rewind(errs);
		n = 0;
		while (fgets(line, sizeof(line), errs))
			n += strstr(line, "without session_id") != NULL;
		CHECK(n == WARNMAX + 1);
		rewind(errs);
		while (fgets(line, sizeof(line), errs) &&
		       strcmp(line, "sessiond: 7 more such warnings not shown\n"))
			;
		CHECK(!strcmp(line, "sessiond: 7 more such warnings not shown\n"));
	} else {
		CHECKM(0, "no temporary file for stderr");
	}
	if (errs)
		fclose(errs);

	/* a record whose times cannot be told apart from nonsense is bad */
	start();
	for (i = 0; i < 2; i++) {
		n = (size_t)snprintf(rec, sizeof(rec), "{\"session_id\":\"r%d\","
		    "\"agent_type\":\"claudecode\",\"status\":\"working\","
		    "\"working_dir\":null,\"priority\":0,\"since_ms\":%s,"
		    "\"active_ms\":1000,\"closeseq\":0,\"history\":[{\"status\":"
		    "\"working\",\"at_secs\":1}]}", (int)i,
		    i ? "9000000000000000000" : "1000");
		CHECKM(proto_restore(&env, rec, n) == (i ? -1 : 0), rec);
	}
	CHECK(store_check() == 0 && proto_check() == 0);
}

int
main(void)
{
	commands();
	errors();
	limits();
	hooks();
	statusline();
	format();
	formatkept();
	badrules();
	again();
	inplace();
	toolong();
	journal();
	deltas();
	usage();
	pinned();
	return REPORT();
}
