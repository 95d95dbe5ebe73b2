#!/bin/sh
# See LICENSE file for copyright and license details.
#
# test/hook.sh [SESSIOND]: sessiond-hook as Claude Code runs it, against
# the daemon binary SESSIOND (default: sessiond at the top of the tree) and
# against fakes. Every case runs the hook with its own socket in a private
# directory and checks that it exits 0 and prints nothing on stdout. Cases
# needing the daemon say SKIP when it is missing, those needing socat (the
# test's own client) when socat is. The hook is copied next to a link to
# the daemon, so it starts that one. A trap stops every daemon it started.
# KEEP=1 keeps the scratch directory.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
daemon=${1:-$top/sessiond}
case $daemon in
/*) ;;
*) daemon=$PWD/$daemon ;;
esac
if ! command -v ps >/dev/null 2>&1; then # daemons are counted and reaped with it
	echo "SKIP hook: ps (procps) not found"
	exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/sessiond-hook-test.XXXXXX") || exit 1
pass=0
fail=0
skip=0
fakes=""

# Our daemons are the processes whose command line starts with our copy's
# path, which holds the unique scratch directory.
ours() {
	ps -eo pid=,args= | while read -r pid args; do
		case $args in
		"$T/bin/sessiond "*) echo "$pid" ;;
		esac
	done
}

# The number of our daemons serving socket $1.
daemons() {
	ps -eo args= | while read -r args; do
		case $args in
		"$T/bin/sessiond -d -s $1") echo ;;
		esac
	done | wc -l
}

# Kills process $1 and its descendants.
killtree() {
	for c in $(ps -eo pid=,ppid= | while read -r pid ppid; do
		[ "$ppid" = "$1" ] && echo "$pid"
	done); do
		killtree "$c"
	done
	kill "$1" 2>/dev/null
}

cleanup() {
	for p in $fakes; do
		killtree "$p"
	done
	for s in "$T"/*.sock; do
		[ -S "$s" ] && printf '{"cmd":"STOP","confirmed":true}\n' |
		    socat -t 1 - "UNIX-CONNECT:$s,connect-timeout=1" \
		    >/dev/null 2>&1
	done
	for p in $(ours); do
		kill "$p" 2>/dev/null
	done
	[ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok()   { pass=$((pass + 1)); echo "PASS $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; shift; for l; do echo "     $l"; done; }
skp()  { skip=$((skip + 1)); echo "SKIP $1: $2"; }

mkdir -p "$T/bin"
cp "$top/sessiond-hook" "$T/bin/"
ln -s "$daemon" "$T/bin/sessiond"
hook=$T/bin/sessiond-hook
havesocat=0
command -v socat >/dev/null 2>&1 && havesocat=1
havedaemon=0
[ -x "$daemon" ] && [ -f "$daemon" ] && havedaemon=1

# waitfor TRIES CMD...: polls CMD every 0.1 s, at most TRIES times.
waitfor() {
	i=0
	tries=$1
	shift
	while [ "$i" -lt "$tries" ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

exited() {
	! kill -0 "$1" 2>/dev/null
}

# runhook NAME SOCK PAYLOADFILE [ARG]: runs the hook, stdout to
# $T/NAME.out, stderr to $T/NAME.err; returns its exit status.
runhook() {
	SESSIOND_SOCKET=$2 "$hook" ${4:+"$4"} < "$3" > "$T/$1.out" \
	    2> "$T/$1.err"
}

# quiet NAME: the hook run NAME printed nothing on stdout.
quiet() {
	[ ! -s "$T/$1.out" ]
}

# A compact Claude Code payload without a final newline.
payload() { # file session event [extra fields]
	printf '{"session_id":"%s","transcript_path":"/tmp/t.jsonl",%s%s}' \
	    "$2" '"cwd":"/tmp","hook_event_name":"'"$3"'"' "${4:-}" > "$1"
}

get() { # sock id
	printf '{"cmd":"GET","session_id":"%s"}\n' "$2" |
	    socat -t 1 - "UNIX-CONNECT:$1" 2>/dev/null
}

hasstatus() { # sock id status
	get "$1" "$2" | grep -q "\"status\":\"$3\""
}

t_start() {
	n=starts-daemon
	s=$T/start.sock
	payload "$T/p1" S1 UserPromptSubmit ',"prompt":"hi"'
	runhook $n "$s" "$T/p1"
	r=$?
	if [ $r -ne 0 ] || ! quiet $n; then
		bad $n "exit $r, stdout: $(cat "$T/$n.out")"; return
	fi
	if ! waitfor 30 hasstatus "$s" S1 working; then
		bad $n "event not recorded: $(get "$s" S1)" \
		    "hook stderr: $(cat "$T/$n.err")"; return
	fi
	if [ "$(daemons "$s")" -ne 1 ]; then
		bad $n "daemons: $(daemons "$s")"; return
	fi
	# a second event goes to the running daemon
	payload "$T/p2" S1 Stop ',"stop_hook_active":false'
	runhook $n "$s" "$T/p2"
	if ! quiet $n || ! waitfor 30 hasstatus "$s" S1 attention; then
		bad $n "second event: $(get "$s" S1)"; return
	fi
	ok $n
}

t_status() {
	n=status-line
	s=$T/start.sock
	printf '{"session_id":"S1","cwd":"/tmp","model":{"id":"m"}}' > "$T/ps"
	runhook $n "$s" "$T/ps" --status
	r=$?
	if [ $r -ne 0 ] || [ "$(wc -l < "$T/$n.out")" -ne 1 ] ||
	    [ "$(wc -c < "$T/$n.out")" -lt 2 ]; then
		bad $n "exit $r, stdout: '$(cat "$T/$n.out")'"; return
	fi
	# daemon down: nothing printed, and none started
	s=$T/nostatus.sock
	runhook $n "$s" "$T/ps" --status
	r=$?
	if [ $r -ne 0 ] || ! quiet $n || [ -e "$s" ]; then
		bad $n "daemon down: exit $r, stdout: '$(cat "$T/$n.out")'"
		return
	fi
	ok $n
}

t_format() {
	n=format
	s=$T/start.sock
	SESSIOND_SOCKET=$s "$hook" --format 'a"b\c {{d}}	e' \
	    > "$T/$n.out" 2> "$T/$n.err" < /dev/null
	r=$?
	if [ $r -ne 0 ] || [ "$(cat "$T/$n.out")" != 'a"b\c {d} e' ]; then
		bad $n "exit $r, stdout: '$(cat "$T/$n.out")'" \
		    "stderr: $(cat "$T/$n.err")"; return
	fi
	# an error reply goes to stderr, not stdout
	long=x
	while [ ${#long} -lt 5000 ]; do
		long=$long$long
	done
	SESSIOND_SOCKET=$s "$hook" --format "$long" > "$T/$n.out" \
	    2> "$T/$n.err" < /dev/null
	r=$?
	if [ $r -ne 0 ] || ! quiet $n || ! grep -q '"ok":false' "$T/$n.err"
	then
		bad $n "error reply: exit $r, stdout: $(head -c 100 "$T/$n.out")" \
		    "stderr: $(cat "$T/$n.err")"; return
	fi
	s=$T/noformat.sock
	SESSIOND_SOCKET=$s "$hook" --format '{working}' > "$T/$n.out" \
	    2> "$T/$n.err" < /dev/null
	r=$?
	if [ $r -ne 0 ] || ! quiet $n || [ -e "$s" ]; then
		bad $n "daemon down: exit $r, stdout: '$(cat "$T/$n.out")'"
		return
	fi
	ok $n
}

t_race() {
	n=race
	round=1
	while [ $round -le 5 ]; do
		s=$T/race$round.sock
		payload "$T/pa" A$round UserPromptSubmit
		payload "$T/pb" B$round UserPromptSubmit
		runhook ${n}a "$s" "$T/pa" & a=$!
		runhook ${n}b "$s" "$T/pb" & b=$!
		wait $a; ra=$?
		wait $b; rb=$?
		if [ $ra -ne 0 ] || [ $rb -ne 0 ] || ! quiet ${n}a ||
		    ! quiet ${n}b; then
			bad $n "round $round: exits $ra $rb"; return
		fi
		if ! waitfor 30 hasstatus "$s" A$round working ||
		    ! waitfor 30 hasstatus "$s" B$round working; then
			bad $n "round $round: lost an event" \
			    "A: $(get "$s" A$round)" "B: $(get "$s" B$round)" \
			    "stderr: $(cat "$T/${n}a.err" "$T/${n}b.err")"
			return
		fi
		c=$(daemons "$s")
		if [ "$c" -ne 1 ]; then
			bad $n "round $round: $c daemons on $s"; return
		fi
		printf '{"cmd":"STOP","confirmed":true}\n' |
		    socat -t 1 - "UNIX-CONNECT:$s" >/dev/null 2>&1
		round=$((round + 1))
	done
	ok $n
}

t_big() {
	n=5mb-payload
	s=$T/start.sock
	# Stop with a 5 MB last_assistant_message, fields in Claude Code's order
	{
		printf '%s' '{"session_id":"BIG","transcript_path":"/t.jsonl",' \
		    '"cwd":"/tmp","hook_event_name":"Stop",' \
		    '"stop_hook_active":false,"last_assistant_message":"'
		dd if=/dev/zero bs=1048576 count=5 2>/dev/null | tr '\0' a
		printf '"}'
	} > "$T/big"
	runhook $n "$s" "$T/big" & p=$!
	if ! waitfor 100 exited $p; then
		bad $n "hook still running after 10 s"; return
	fi
	wait $p
	r=$?
	if [ $r -ne 0 ] || ! quiet $n; then
		bad $n "exit $r, stdout: $(head -c 200 "$T/$n.out")"; return
	fi
	if ! waitfor 30 hasstatus "$s" BIG attention; then
		bad $n "not recorded: $(get "$s" BIG)"; return
	fi
	if ! hasstatus "$s" S1 attention; then
		bad $n "daemon lost S1: $(get "$s" S1)"; return
	fi
	ok $n
}

t_stuck() {
	n="daemon-never-reads"
	s=$T/stuck.sock
	socat "UNIX-LISTEN:$s,fork" EXEC:'sleep 10' 2>/dev/null & fakes="$fakes $!"
	if ! waitfor 30 test -S "$s"; then
		bad $n "fake daemon did not start"; return
	fi
	dd if=/dev/zero bs=1048576 count=5 2>/dev/null | tr '\0' a > "$T/stuck"
	for mode in "" --status; do
		runhook $n "$s" "$T/stuck" $mode & p=$!
		if ! waitfor 20 exited $p; then
			bad $n "hook $mode still running after 2 s"
			kill $p 2>/dev/null
			return
		fi
		wait $p
		r=$?
		if [ $r -ne 0 ] || ! quiet $n; then
			bad $n "hook $mode: exit $r, stdout: $(cat "$T/$n.out")"
			return
		fi
	done
	# a small payload to the status mode: no reply, bounded wait
	payload "$T/small" S9 Status
	runhook $n "$s" "$T/small" --status & p=$!
	if ! waitfor 20 exited $p; then
		bad $n "status: still running after 2 s"; return
	fi
	wait $p
	r=$?
	if [ $r -ne 0 ] || ! quiet $n; then
		bad $n "status: stdout: $(cat "$T/$n.out")"; return
	fi
	ok $n
}

# A socket file left by a crashed daemon: the hook starts a new one.
t_stale() {
	n=stale-socket
	s=$T/stale.sock
	socat "UNIX-LISTEN:$s" /dev/null 2>/dev/null & f=$!
	if ! waitfor 30 test -S "$s"; then
		bad $n "fake did not start"; return
	fi
	kill -9 $f
	wait $f 2>/dev/null
	payload "$T/pst" ST UserPromptSubmit
	runhook $n "$s" "$T/pst"
	r=$?
	if [ $r -ne 0 ] || ! quiet $n || ! waitfor 30 hasstatus "$s" ST working
	then
		bad $n "exit $r, $(get "$s" ST), stderr: $(cat "$T/$n.err")"
		return
	fi
	ok $n
}

# No SESSIOND_SOCKET nor XDG_RUNTIME_DIR: hook and daemon agree on
# ${TMPDIR:-/tmp}/sessiond-UID/sessiond.sock.
t_defaultpath() {
	n=default-socket-path
	mkdir -p "$T/tmpdir"
	s=$T/tmpdir/sessiond-$(id -u)/sessiond.sock
	payload "$T/pdp" DP UserPromptSubmit
	(unset SESSIOND_SOCKET XDG_RUNTIME_DIR
	TMPDIR=$T/tmpdir "$hook" < "$T/pdp" > "$T/$n.out" 2> "$T/$n.err")
	r=$?
	if [ $r -ne 0 ] || ! quiet $n || ! waitfor 30 hasstatus "$s" DP working
	then
		bad $n "exit $r, $(get "$s" DP), stderr: $(cat "$T/$n.err")"
		return
	fi
	printf '{"cmd":"STOP","confirmed":true}\n' |
	    socat -t 1 - "UNIX-CONNECT:$s" >/dev/null 2>&1
	ok $n
}

# A daemon that never accepts, its listen queue full: connect would block.
t_backlog() {
	n=backlog-full
	if ! command -v python3 >/dev/null 2>&1; then
		skp $n "python3 not found"; return
	fi
	s=$T/backlog.sock
	python3 - "$s" <<'EOF' & fakes="$fakes $!"
import socket, sys, time
l = socket.socket(socket.AF_UNIX)
l.bind(sys.argv[1] + ".tmp")
l.listen(0)
held = []
while True:
	c = socket.socket(socket.AF_UNIX)
	c.setblocking(False)
	try:
		c.connect(sys.argv[1] + ".tmp")
	except (BlockingIOError, ConnectionRefusedError):
		break
	held.append(c)
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(10)
EOF
	if ! waitfor 30 test -S "$s"; then
		bad $n "fake did not start"; return
	fi
	payload "$T/pbl" BL UserPromptSubmit
	mkpath
	[ -e "$T/path/nc" ] || ln -s "$(command -v nc)" "$T/path/nc"
	for how in socat nc; do
		for mode in "" --status; do
			if [ $how = socat ]; then
				runhook $n "$s" "$T/pbl" $mode & p=$!
			else
				PATH=$T/path SESSIOND_SOCKET=$s "$T/path/sh" \
				    "$hook" $mode < "$T/pbl" > "$T/$n.out" \
				    2> "$T/$n.err" & p=$!
			fi
			if ! waitfor 30 exited $p; then
				bad $n "$how $mode: still running after 3 s"
				kill $p 2>/dev/null
				return
			fi
			wait $p
			r=$?
			if [ $r -ne 0 ] || ! quiet $n; then
				bad $n "$how $mode: exit $r"; return
			fi
		done
	done
	ok $n
}

# A "daemon" that fails to start, printing on both streams.
t_badstart() {
	n=start-fails-quietly
	if ! command -v socat >/dev/null 2>&1; then
		skp $n "socat not found"; return
	fi
	mkdir -p "$T/bad"
	cp "$top/sessiond-hook" "$T/bad/"
	printf '#!/bin/sh\necho junk\necho "sessiond: cannot bind" >&2\nexit 1\n' \
	    > "$T/bad/sessiond"
	chmod +x "$T/bad/sessiond"
	payload "$T/pbad" X UserPromptSubmit
	SESSIOND_SOCKET=$T/bad.sock "$T/bad/sessiond-hook" < "$T/pbad" \
	    > "$T/$n.out" 2> "$T/$n.err"
	r=$?
	if [ $r -ne 0 ] || ! quiet $n ||
	    ! grep -q 'cannot bind' "$T/$n.err"; then
		bad $n "exit $r, stdout: '$(cat "$T/$n.out")'" \
		    "stderr: $(cat "$T/$n.err")"; return
	fi
	ok $n
}

# A PATH holding only what the hook needs, less socat and nc.
mkpath() {
	[ -d "$T/path" ] && return
	mkdir -p "$T/path"
	for c in sh cat grep id mktemp rm sleep sed; do
		ln -s "$(command -v $c)" "$T/path/$c"
	done
}

t_noclient() {
	n=no-socat-nor-nc
	mkpath
	payload "$T/pn" X UserPromptSubmit
	PATH=$T/path SESSIOND_SOCKET=$T/none.sock "$T/path/sh" "$hook" \
	    < "$T/pn" > "$T/$n.out" 2> "$T/$n.err"
	r=$?
	if [ $r -ne 0 ] || ! quiet $n || [ "$(wc -l < "$T/$n.err")" -ne 1 ] ||
	    ! grep -q 'socat or' "$T/$n.err"; then
		bad $n "exit $r, stderr: $(cat "$T/$n.err")"; return
	fi
	ok $n
}

# The same PATH plus OpenBSD nc: start, record, status line.
t_nc() {
	n=nc-fallback
	if ! command -v nc >/dev/null 2>&1 || ! nc -h 2>&1 | grep -q -e -U
	then
		skp $n "no nc with -U"; return
	fi
	mkpath
	[ -e "$T/path/nc" ] || ln -s "$(command -v nc)" "$T/path/nc"
	s=$T/nc.sock
	payload "$T/pnc" N1 UserPromptSubmit
	PATH=$T/path SESSIOND_SOCKET=$s "$T/path/sh" "$hook" \
	    < "$T/pnc" > "$T/$n.out" 2> "$T/$n.err"
	r=$?
	if [ $r -ne 0 ] || ! quiet $n || ! waitfor 30 hasstatus "$s" N1 working
	then
		bad $n "exit $r, $(get "$s" N1), stderr: $(cat "$T/$n.err")"
		return
	fi
	printf '{"session_id":"N1"}' > "$T/pncs"
	PATH=$T/path SESSIOND_SOCKET=$s "$T/path/sh" "$hook" --status \
	    < "$T/pncs" > "$T/$n.out" 2> "$T/$n.err"
	if [ "$(wc -l < "$T/$n.out")" -ne 1 ]; then
		bad $n "status: '$(cat "$T/$n.out")'"; return
	fi
	ok $n
}

daemoncases="starts-daemon status-line format race 5mb-payload stale-socket
    default-socket-path nc-fallback"

t_noclient
t_badstart
if [ $havesocat = 0 ]; then
	for c in daemon-never-reads backlog-full $daemoncases; do
		skp "$c" "socat not found"
	done
else
	t_stuck
	t_backlog
	if [ $havedaemon = 0 ]; then
		for c in $daemoncases; do
			skp "$c" "no daemon at $daemon"
		done
	else
		t_start
		t_status
		t_format
		t_race
		t_big
		t_stale
		t_defaultpath
		t_nc
	fi
fi

echo "hook: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
