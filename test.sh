#!/bin/sh
# See LICENSE file for copyright and license details.
#
# test.sh: builds sessiond twice from copies of the sources (the default
# configuration and a shrunken one whose limits are hit in milliseconds),
# runs the unit tests, then drives the real daemon over its socket, one
# function per case, comparing whole reply lines. Needs only sh, make's
# C compiler and the tiny client test/sdc.c; cases that replay hooks
# through socat say SKIP when socat is absent.
#
# SANITIZE=0 builds without AddressSanitizer/UBSan (default: on when the
# compiler has them). VALGRIND=1 runs every daemon under valgrind's
# memcheck instead (no sanitizers), failing on any error or leak.
# KEEP=1 keeps the scratch directory; ONLY=t_name runs matching cases.
set -u

top=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}
T=$(mktemp -d "${TMPDIR:-/tmp}/sessiond-test.XXXXXX")
pass=0
fail=0
skip=0
pids=""

cleanup() {
	for p in $pids; do
		kill -9 "$p" 2>/dev/null
	done
	# detached daemons (-d) are nobody's child here: those a failed
	# case left running are found by their binary or socket under $T
	if command -v pkill >/dev/null 2>&1; then
		pkill -9 -f "sessiond -d -s $T/" 2>/dev/null
		pkill -9 -f "^$T/.*sessiond -d" 2>/dev/null
	fi
	[ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok()   { pass=$((pass + 1)); echo "PASS $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; shift; for l; do printf '     %s\n' "$l"; done; }
skp()  { skip=$((skip + 1)); echo "SKIP $1: $2"; }

# --- build ------------------------------------------------------------

SANFLAGS=""
VG=""
if [ "${VALGRIND:-0}" = 1 ]; then
	SANITIZE=0
	VG="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$T/vg.%p"
fi
if [ "${SANITIZE:-1}" = 1 ] &&
   echo 'int main(void){return 0;}' > "$T/probe.c" &&
   $CC -fsanitize=address,undefined -o "$T/probe" "$T/probe.c" 2>/dev/null &&
   "$T/probe"; then
	SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all"
fi
# nothing a test starts may touch the user's state or sockets
export XDG_STATE_HOME="$T/state-home"
export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
CFLAGS="-std=c99 -pedantic -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer $SANFLAGS"
CPPFLAGS="-D_POSIX_C_SOURCE=200809L -DVERSION=\"test\""
SRCS="sessiond.c proto.c store.c ring.c json.c"

build() { # dir configfile
	mkdir -p "$1"
	for f in $SRCS sessiond.h; do cp "$top/$f" "$1/"; done
	cp "$2" "$1/config.h"
	(cd "$1" && $CC $CFLAGS $CPPFLAGS -o sessiond $SRCS) || exit 1
}

# limits shrunk so each is reached at once; a quiet client is never closed
# to make room, however long filling the table takes on a loaded machine
sed -e 's/^#define MAXCLIENTS .*/#define MAXCLIENTS 8/' \
    -e 's/^#define LINEMAX .*/#define LINEMAX 2048/' \
    -e 's/^#define RINGSIZE .*/#define RINGSIZE 8192/' \
    -e 's/^#define BIGRINGS .*/#define BIGRINGS 1/' \
    -e 's/^#define BIGRINGSIZE .*/#define BIGRINGSIZE 32768/' \
    -e 's/^#define MAXSESS .*/#define MAXSESS 16/' \
    -e 's/^#define MAXCLOSED .*/#define MAXCLOSED 3/' \
    -e 's/^#define HISTMAX .*/#define HISTMAX 3/' \
    -e 's/^#define IDMAX .*/#define IDMAX 64/' \
    -e 's/^#define DIRMAX .*/#define DIRMAX 256/' \
    -e 's/^#define AGENTMAX .*/#define AGENTMAX 16/' \
    -e 's/^#define MSGMAX .*/#define MSGMAX 64/' \
    -e 's/^#define INACTIVESECS .*/#define INACTIVESECS 2/' \
    -e 's/^#define DEPTHMAX .*/#define DEPTHMAX 16/' \
    -e 's/^#define USAGETIMEOUT .*/#define USAGETIMEOUT 2/' \
    -e 's/^#define USAGEMAX .*/#define USAGEMAX 1024/' \
    -e 's/^#define JOURNALMAX .*/#define JOURNALMAX 8192/' \
    -e 's/^#define RETRYSECS .*/#define RETRYSECS 1/' \
    -e 's/^#define BIGSTALLMS .*/#define BIGSTALLMS 1000/' \
    -e 's/^#define IDLECLIENTMS .*/#define IDLECLIENTMS 3600000/' \
    "$top/config.def.h" > "$T/small.h"

echo "building (sanitizers: ${SANFLAGS:-off})"
build "$T/def" "$top/config.def.h"
build "$T/small" "$T/small.h"
# a rule that could never match: the daemon refuses to start
sed 's/^#define RULEMATCHMAX .*/#define RULEMATCHMAX 16/' "$top/config.def.h" \
	> "$T/badrule.h"
build "$T/badrule" "$T/badrule.h"
$CC -std=c99 -Wall -Wextra -pedantic -D_POSIX_C_SOURCE=200809L -o "$T/sdc" \
	"$top/test/sdc.c" || exit 1
$CC -std=c99 -Wall -Wextra -pedantic -D_POSIX_C_SOURCE=200809L -o "$T/holder" \
	"$top/test/hold.c" || exit 1
HOLD=$T/holder
# a slow disk for the daemon, where a shared object can be preloaded
$CC -std=c99 -Wall -Wextra -pedantic -D_POSIX_C_SOURCE=200809L -fPIC -shared \
	-o "$T/slowsync.so" "$top/test/slowsync.c" 2>/dev/null
DENV=                 # env(1) and settings the next start() runs under
DEF=$T/def/sessiond
SMALL=$T/small/sessiond
SDC=$T/sdc

# unit tests, linked with the real objects
for u in "$top"/test/t_*.c; do
	[ -f "$u" ] || continue
	n=$(basename "$u" .c)
	for cfg in def small; do
		if ! (cd "$T/$cfg" && $CC $CFLAGS $CPPFLAGS -I. -I"$top/test" \
		      -DCHECKS -o "$n" "$u" proto.c store.c ring.c json.c); then
			bad "$n ($cfg) build"
			continue
		fi
		if out=$(TOP="$top" "$T/$cfg/$n" 2>&1); then
			ok "$n ($cfg)"
		else
			bad "$n ($cfg)" "$out"
		fi
	done
done

# --- helpers ----------------------------------------------------------

SOCK=$T/sock
LOG=$T/log

# waits up to 5 s for a command to succeed
waitfor() {
	_wf=0
	while ! "$@" 2>/dev/null; do
		_wf=$((_wf + 1))
		[ $_wf -ge 250 ] && return 1
		sleep 0.02
	done
}
accepts() { printf '' | "$SDC" -w 1000 "$SOCK" >/dev/null 2>&1; }
gone() { ! kill -0 "$1" 2>/dev/null; }
conns() { # the daemon counts N connections, this one included
	test "$(printf '{"cmd":"STATUS"}\n' | "$SDC" "$SOCK" |
		sed -n 's/.*"connections":\([0-9]*\).*/\1/p')" = "$1"
}

start() { # binary [flags...]
	bin=$1
	shift
	if [ -n "${dpid:-}" ] && kill -0 "$dpid" 2>/dev/null; then
		kill -9 "$dpid"	# a failed case left it running
		wait "$dpid" 2>/dev/null
	fi
	$DENV $VG "$bin" -s "$SOCK" -U '' -S '' "$@" 2>>"$LOG" &
	dpid=$!
	pids="$pids $dpid"
	waitfor accepts || { echo "daemon did not start"; cat "$LOG"; exit 1; }
}
stop() {
	kill "$dpid" 2>/dev/null
	waitfor gone "$dpid"
	wait "$dpid" 2>/dev/null
	rc=$?
	if grep -q 'ERROR: \|runtime error' "$LOG" 2>/dev/null; then
		bad "sanitizer" "$(cat "$LOG")"
		: > "$LOG"
	fi
	if [ -n "$VG" ] && [ -s "$T/vg.$dpid" ]; then
		bad "valgrind" "$(cat "$T/vg.$dpid")"
		rm -f "$T/vg.$dpid"
	fi
	return $rc
}

# replies to the lines given as arguments, times blanked
norm() {
	sed -e 's/"at_secs":[0-9]*/"at_secs":T/g' \
	    -e 's/"fetched_at":[0-9][0-9]*/"fetched_at":T/g'
}
req() { printf '%s\n' "$@" | "$SDC" "$SOCK" | norm; }

# check NAME GOT WANT
check() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		bad "$1" "got:  $2" "want: $3"
	fi
}

# expect NAME REQUEST WANT: one request, one whole reply line
expect() { check "$1" "$(req "$2")" "$3"; }

snap() { # id status dir history... (closed/priority/inactive defaults)
	printf '{"session_id":"%s","agent_type":"claudecode","status":"%s","working_dir":%s,"elapsed_seconds":0,"idle_seconds":0,"history":[%s],"closed":%s,"priority":%s,"inactive":false}' \
		"$1" "$2" "$3" "$4" "$5" "$6"
}
h() { printf '{"status":"%s","at_secs":T}' "$1"; }
OK='{"version":1,"ok":true,"data":'

CASES="$top/test/cases.sh $top/test/abuse.sh"
for f in $CASES; do
	[ -f "$f" ] && . "$f"
done

# --- run --------------------------------------------------------------

# ONLY=pattern runs the matching cases alone
for t in $(sed -n 's/^\(t_[a-z0-9_]*\)() *{.*/\1/p' $CASES 2>/dev/null); do
	case $t in ${ONLY:-*}) ;; *) continue ;; esac
	: > "$LOG"
	$t
done
[ -n "${ONLY:-}" ] && { echo "$pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit; }

for s in "$top"/test/hook.sh "$top"/test/setup.sh "$top"/test/usage.sh; do
	[ -f "$s" ] || continue
	if out=$(SDC="$SDC" sh "$s" "$DEF" 2>&1); then
		printf '%s\n' "$out"
		pass=$((pass + $(printf '%s\n' "$out" | grep -c '^PASS')))
		skip=$((skip + $(printf '%s\n' "$out" | grep -c '^SKIP')))
	else
		printf '%s\n' "$out"
		pass=$((pass + $(printf '%s\n' "$out" | grep -c '^PASS')))
		n=$(printf '%s\n' "$out" | grep -c '^FAIL')
		fail=$((fail + (n > 0 ? n : 1)))
	fi
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
