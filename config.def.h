/* See LICENSE file for copyright and license details. */
/*
 * sessiond configuration. make copies this file to config.h when config.h
 * is absent; edit config.h and rebuild. Every limit of the daemon is here.
 * Relations between them are checked at compile time in sessiond.h.
 */

/* connections */
#define MAXCLIENTS    256      /* connections at once (protocol: >= 128) */
#define LINEMAX       65536    /* bytes of one request line, newline excluded */
#define RINGSIZE      131072   /* per-client output ring, bytes, power of 2 */
#define BIGRINGS      2        /* shared rings lent for replies > RINGSIZE */
#define BIGRINGSIZE   4194304  /* bytes, power of 2: holds a full LIST */
#define FLUSHWAITMS   1000     /* on shutdown, time to hear out clients */
#define STOPWAITMS    5000     /* a new daemon waits this long for one stopping */
#define ACCEPTPAUSEMS 1000     /* listener rest after EMFILE/ENFILE */
#define IDLECLIENTMS  10000    /* when full, a client quiet this long goes */
#define FDSPARE       32       /* descriptors beside the clients' (files, pipes) */
#define SUBSNDBUF     1048576  /* kernel send buffer asked for a subscriber */
#define WARNMAX       10       /* warnings hook events may cause a second */
#define BIGSTALLMS    2000     /* a lent big ring undrained this long drops */
#define BIGHOLDMS     5000     /* ... or held this long while others wait */

/* sessions */
#define MAXSESS       256      /* table slots, power of 2; MAXSESS/2 sessions */
#define MAXCLOSED     20       /* closed sessions kept, oldest evicted */
#define HISTMAX       10       /* status changes kept per session */
#define IDMAX         255      /* bytes of a session_id */
#define DIRMAX        4096     /* bytes of a working_dir (PATH_MAX) */
#define AGENTMAX      64       /* bytes of an agent_type */
#define MSGMAX        512      /* bytes of a message; longer ones are cut */
#define INACTIVESECS  3600     /* idle longer than this: inactive */
#define IDLESECS      3600     /* default -t: auto-stop after this quiet */
#define SECSMAX       1000000000 /* largest -t and -u (31 years): fits a
                                    32-bit long */

/* state file (-S) */
#define STALESECS     86400    /* sessions idle longer are dropped at load */
#define JOURNALMAX    16777216 /* journal bytes, then compacted (6 ms/MiB) */
#define RETRYSECS     10       /* after a failed write, retry this late */

/* JSON */
#define DEPTHMAX      64       /* nesting of arrays and objects in a line */
#define FIELDMAX      64       /* top-level fields of one line (<= 127) */
#define KEYMAX        31       /* bytes of a field name that can match */

/* status lines (FORMAT template language: see sessiond.1) */
#define FORMATMAX     1024     /* bytes of a FORMAT template */
#define TEXTMAX       4096     /* bytes of a rendered template */
#define FORMATDEPTH   8        /* {?...} parts nested in each other */
#define STATUSFMT     "{self.status}{? | {attention} waiting: {top.dir}}" \
                      "{? | 5h {usage.5h}%}"

/* plan usage */
#define USAGECMD      "sessiond-usage" /* the one beside sessiond, else
                                          sh -c finds it; -U overrides */
#define USAGEINTERVAL 180      /* seconds between fetches; -u overrides */
#define USAGETIMEOUT  20       /* seconds before a fetch is killed */
#define USAGEMAX      16384    /* bytes of a fetch's output */
#define USAGEBACKOFF  4        /* a failed fetch doubles the wait, at most
                                  this often in a row (16 x 180 s: 48 min) */
#define USAGELIMITED  6        /* exit status of a rate-limited usage command
                                  (sessiond-usage's HTTP 429) */

#define RULEMATCHMAX  127      /* bytes of an event or value a rule compares */

/*
 * Claude Code hook events, first matching rule wins. A rule matches when
 * the payload's hook_event_name is event and, if field is set, the
 * payload's top-level field equals value: a string, or true, false or a
 * number as written (is_interrupt is true when Esc stopped a tool, and no
 * Stop follows). status is the new status or RULE_ACTIVITY (only refreshes
 * idle time); msgfield names the payload field that becomes the session's
 * message (NULL: message, if the payload has one).
 *
 * An event with agent_id comes from a subagent, inside its parent's turn.
 * sub says what it may do. SUB_NO: only refresh idle time. SUB_YES: make
 * a working session wait (a subagent's permission prompt blocks the user
 * as much as its parent's), or end the wait it made; a session waits until
 * every subagent that made it wait (up to SUBWAITMAX) goes on. From the
 * parent, a SUB_YES rule takes such a wait over if it waits itself, and
 * leaves it alone if not; a SUB_NO rule (its turn) ends it. SUB_UNSAID is
 * SUB_YES for an event that does not say whose prompt it is: from the
 * parent it neither takes a subagent's wait nor ends it. SUB_ONLY is
 * SUB_YES for a subagent's own event (SubagentStop), which an older Claude
 * Code sends without agent_id: from the parent it only refreshes idle
 * time. proto.c expands RULES into its rule table.
 */
#define SUBWAITMAX    4        /* subagents one session waits for at once */
#define RULES { \
	/* event               field                value                 status          msgfield   sub */ \
	{ "SessionStart",      "source",            "compact",            RULE_ACTIVITY,  NULL,      SUB_NO }, \
	{ "SessionStart",      NULL,                NULL,                 ST_ATTENTION,   NULL,      SUB_NO }, \
	{ "UserPromptSubmit",  NULL,                NULL,                 ST_WORKING,     NULL,      SUB_NO }, \
	{ "PreToolUse",        "tool_name",         "AskUserQuestion",    ST_QUESTION,    NULL,      SUB_YES }, \
	{ "PreToolUse",        "tool_name",         "ExitPlanMode",       ST_QUESTION,    NULL,      SUB_YES }, \
	{ "PermissionRequest", "tool_name",         "AskUserQuestion",    ST_QUESTION,    NULL,      SUB_YES }, \
	{ "PermissionRequest", "tool_name",         "ExitPlanMode",       ST_QUESTION,    NULL,      SUB_YES }, \
	{ "PermissionRequest", NULL,                NULL,                 ST_ATTENTION,   NULL,      SUB_YES }, \
	{ "PostToolUse",       NULL,                NULL,                 ST_WORKING,     NULL,      SUB_YES }, \
	{ "PostToolUseFailure", "is_interrupt",     "true",               ST_ATTENTION,   NULL,      SUB_NO }, \
	{ "PostToolUseFailure", NULL,               NULL,                 ST_WORKING,     NULL,      SUB_YES }, \
	{ "Notification",      "notification_type", "permission_prompt",  ST_ATTENTION,   "message", SUB_UNSAID }, \
	{ "Notification",      "notification_type", "idle_prompt",        ST_ATTENTION,   "message", SUB_NO }, \
	{ "Notification",      "notification_type", "elicitation_dialog", ST_QUESTION,    "message", SUB_UNSAID }, \
	{ "Stop",              NULL,                NULL,                 ST_ATTENTION,   NULL,      SUB_NO }, \
	{ "SubagentStop",      NULL,                NULL,                 ST_WORKING,     NULL,      SUB_ONLY }, \
	{ "StopFailure",       NULL,                NULL,                 ST_ATTENTION,   "error",   SUB_NO }, \
	{ "SessionEnd",        NULL,                NULL,                 ST_CLOSED,      NULL,      SUB_NO }, \
}
