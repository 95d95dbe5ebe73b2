#!/bin/sh
# See LICENSE file for copyright and license details.
#
# Benchmark: builds bench/load.c, bench/echo.c and bench/floor.c, starts
# sessiond (path in $1) and the echo server on private sockets, runs the
# standard matrix against both and prints a table with the ratio
# sessiond/echo per row, then sessiond's memory (beside the floor: a
# program that does nothing) and binary size. Numbers only, nothing passes
# or fails on speed; any protocol error or lost update ends it with
# status 1.
#
# usage: sh bench/run.sh ./sessiond
# BENCHSECS (default 2): seconds per run; BENCHRATE (default 2000): SETs a
# second published in the fan-out runs.

set -u

daemon=${1:-}
if [ -z "$daemon" ]; then
	echo "usage: sh bench/run.sh path/to/sessiond" >&2
	exit 1
fi
secs=${BENCHSECS:-2}
rate=${BENCHRATE:-2000}
here=$(dirname "$0")
root=$here/..
# the floor is built like sessiond (CC, as make passes it); the load
# generator and echo with the machine's cc, so that a sessiond linked
# against another libc meets the same limit
CC=${CC:-cc}
HOSTCC=${HOSTCC:-cc}
FLAGS='-std=c99 -O2 -Wall -Wextra -pedantic -D_POSIX_C_SOURCE=200809L'

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sessiond-bench.XXXXXX") || exit 1
spid=
epid=
npid=
fpid=
cleanup() {
	for pid in $spid $epid $npid $fpid; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
	if [ -s "$tmp/results" ]; then
		echo "bench: the runs so far:" >&2
		table >&2
	fi
	echo "bench: $*" >&2
	if [ -s "$tmp/sessiond.log" ]; then
		echo "bench: sessiond's stderr:" >&2
		tail -n 20 "$tmp/sessiond.log" >&2
	fi
	exit 1
}

# value KEY LINE: the value of KEY=... in a key=value line
value() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# limit NAME: a #define of config.h, or of config.def.h without config.h
limit() {
	cfg=$root/config.h
	[ -f "$cfg" ] || cfg=$root/config.def.h
	grep "^#define[[:space:]]*$1[[:space:]]" "$cfg" | awk '{ print $3 }'
}

# table: the results so far, a row per label; a label run several times
# shows the median of each column
table() {
	awk '
	function median(k,    i, j, t, n, a) {
		n = cnt[k]
		for (i = 1; i <= n; i++)
			a[i] = val[k, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return n ? (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) : 0
	}
	function put(k, v) {
		val[k, ++cnt[k]] = v
	}
	function row(l) {
		printf "%-16s %9.0f %9.0f %6.2f  %7.1f %7.1f %7.1f  " \
		    "%7.1f %7.1f %7.1f %6.2f\n", l, r["sessiond", l], r["echo", l],
		    r["echo", l] ? r["sessiond", l] / r["echo", l] : 0,
		    p50["sessiond", l], p99["sessiond", l], p999["sessiond", l],
		    p50["echo", l], p99["echo", l], p999["echo", l],
		    p99["echo", l] ? p99["sessiond", l] / p99["echo", l] : 0
	}
	{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			v[kv[1]] = substr($i, length(kv[1]) + 2)
		}
		s = v["server"]; l = v["label"]
		if (!(l in seen)) { seen[l] = 1; order[n++] = l }
		put("r" SUBSEP s SUBSEP l, v["mode"] == "fanout" ? v["ups"] : v["rps"])
		put("p50" SUBSEP s SUBSEP l, v["p50_us"])
		put("p99" SUBSEP s SUBSEP l, v["p99_us"])
		put("p999" SUBSEP s SUBSEP l, v["p999_us"])
		for (x in v)
			delete v[x]
	}
	END {
		for (k in cnt) {
			split(k, part, SUBSEP)
			m = median(k)
			if (part[1] == "r") r[part[2], part[3]] = m
			else if (part[1] == "p50") p50[part[2], part[3]] = m
			else if (part[1] == "p99") p99[part[2], part[3]] = m
			else p999[part[2], part[3]] = m
		}
		printf "%-16s %9s %9s %6s  %23s  %23s %6s\n", "", "sessiond", "echo",
		    "ratio", "sessiond latency us", "echo latency us", "p99"
		printf "%-16s %9s %9s %6s  %7s %7s %7s  %7s %7s %7s %6s\n", "run",
		    "req/s", "req/s", "s/e", "p50", "p99", "p99.9", "p50", "p99",
		    "p99.9", "s/e"
		for (i = 0; i < n; i++)
			row(order[i])
	}' "$tmp/results"
}

[ -x "$daemon" ] || fail "$daemon: no such executable"
# shellcheck disable=SC2086
$HOSTCC $FLAGS -o "$tmp/load" "$here/load.c" || fail "cannot build bench/load.c"
# shellcheck disable=SC2086
$HOSTCC $FLAGS -o "$tmp/echo" "$here/echo.c" || fail "cannot build bench/echo.c"
# shellcheck disable=SC2086
$CC $FLAGS -o "$tmp/floor" "$here/floor.c" || fail "cannot build bench/floor.c"
maxclients=$(limit MAXCLIENTS)
maxsess=$(limit MAXSESS)
if [ -z "$maxclients" ] || [ -z "$maxsess" ]; then
	fail "MAXCLIENTS or MAXSESS not found in config.h or config.def.h"
fi

ssock=$tmp/sessiond.sock
esock=$tmp/echo.sock
# as users run it: state kept (-S), the default idle stop (-t 3600, whose
# bookkeeping is on the hot path), no usage fetching (-U '')
"$daemon" -f -s "$ssock" -S "$tmp/state" -U '' 2>"$tmp/sessiond.log" &
spid=$!
# the same without a state file, for the cost of keeping it
"$daemon" -f -s "$tmp/nostate.sock" -S '' -U '' 2>"$tmp/nostate.log" &
npid=$!
"$tmp/load" -s "$ssock" -w 10 || fail "sessiond does not accept on $ssock"
"$tmp/load" -s "$tmp/nostate.sock" -w 10 || fail "sessiond -S '' does not accept"

# memory first, while the daemon is fresh: idle (and how much of that is
# its own, not pages of libc's files), full table, all clients
anonkb=$(sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\).*/\1/p' \
	"/proc/$spid/status" 2>/dev/null)
mem=$("$tmp/load" -s "$ssock" -M "$spid" -C "$maxclients" -k "$maxsess") ||
	fail "memory measurement failed"
# and the floor: a process that only waits, linked the same way
"$tmp/floor" &
fpid=$!
sleep 0.2
floorkb=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' \
	"/proc/$fpid/status" 2>/dev/null)
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
fpid=
sessions=$(value sessions "$mem")

# the echo server answers with lines as long as sessiond's
sizes=$("$tmp/load" -s "$ssock" -P -k "$sessions") ||
	fail "reply size probe failed"
setbytes=$(value set_bytes "$sizes")
updbytes=$(value update_bytes "$sizes")
listbytes=$(value list_bytes "$sizes")
"$tmp/echo" -s "$esock" -c 1024 -r "$setbytes" -u "$updbytes" \
	-l "$listbytes" 2>"$tmp/echo.log" &
epid=$!
"$tmp/load" -s "$esock" -w 10 || fail "echo does not accept on $esock"

# run LABEL LOADARGS...: one row, against sessiond then echo
# (SERVERS names the first: sessiond, or nostate for the one without -S),
# ROUNDS times in turn (default 1)
run() {
	label=$1
	shift
	round=0
	while [ "$round" -lt "${ROUNDS:-1}" ]; do
		round=$((round + 1))
		for server in ${SERVERS:-sessiond} echo; do
			out=$("$tmp/load" -s "$tmp/$server.sock" -l "$label" \
				-k "$sessions" "$@" 2>"$tmp/load.err") || {
				cat "$tmp/load.err" >&2
				fail "$label against $server failed: load -k $sessions $*"
			}
			[ "$server" = echo ] || server=sessiond
			echo "server=$server $out" >>"$tmp/results"
			printf '.' >&2
		done
	done
}

mix=set:1,get:1,hook:1,format:1
# the rows the targets are read from run five times, in turn with echo:
# the median of five is steadier on a shared machine than one run
rounds=5
printf 'bench: %s s per run, %d runs ' "$secs" $((40 + 6 * 2 * (rounds - 1))) >&2
for c in 1 8 50; do
	for d in 1 16; do
		run "mix/c$c/d$d" -m "$mix" -c "$c" -d "$d" -t "$secs"
	done
done
for op in set get hook format list; do
	run "$op/c8/d16" -m "$op" -c 8 -d 16 -t "$secs"
done
# the targets: SET round trip alone, SET rate with 50 clients
ROUNDS=$rounds
run "set/c1/d1" -m set -c 1 -d 1 -t "$secs"
run "set/c50/d1" -m set -c 50 -d 1 -t "$secs"
run "set/c50/d16" -m set -c 50 -d 16 -t "$secs"
SERVERS=nostate run "set/c1/d1/nostate" -m set -c 1 -d 1 -t "$secs"
SERVERS=nostate run "set/c50/d1/nostate" -m set -c 50 -d 1 -t "$secs"
SERVERS=nostate run "set/c50/d16/nostate" -m set -c 50 -d 16 -t "$secs"
ROUNDS=1
for m in 1 10 50; do
	run "fanout/$m" -f "$m" -r "$rate" -t "$secs"
done
echo >&2
kill -0 "$spid" 2>/dev/null || fail "sessiond died during the benchmark"

echo "sessiond $daemon (built with $CC) vs bench/echo.c, $(uname -sm)," \
	"$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs, $secs s per run"
echo "mix = $mix; hook = raw hook event + GET (2 lines, 1 timed reply);" \
	"list = LIST of $sessions sessions"
echo "fanout/M = M subscribers, 1 publisher at $rate SET/s;" \
	"req/s = updates delivered/s, latency = publish to receive"
echo "echo replies: SET ${setbytes} B, update ${updbytes} B," \
	"LIST ${listbytes} B (sizes taken from sessiond)"
echo "set/* rows: the median of $rounds runs each, taken in turn with echo's"
echo
table

kb() {
	case $1 in
	''|-1) echo "n/a" ;;
	*) echo "$1 KiB" ;;
	esac
}
echo
echo "sessiond RSS: idle $(kb "$(value rss_idle_kb "$mem")")," \
	"full table ($sessions sessions, table full:" \
	"$(value tablefull "$mem")) $(kb "$(value rss_full_kb "$mem")")," \
	"$(value clients "$mem") clients (MAXCLIENTS) connected" \
	"$(kb "$(value rss_clients_kb "$mem")")"
echo "idle, sessiond's own (RssAnon): $(kb "${anonkb:-}"); the rest is" \
	"shared pages of the libc and loader files"
echo "floor: a program that only calls poll(), same libc: $(kb "${floorkb:-}")"
cp "$daemon" "$tmp/stripped"
if strip "$tmp/stripped" 2>/dev/null; then
	echo "sessiond binary: $(wc -c <"$tmp/stripped" | tr -d ' ') bytes" \
		"stripped ($(wc -c <"$daemon" | tr -d ' ') unstripped)"
else
	echo "sessiond binary: $(wc -c <"$daemon" | tr -d ' ') bytes (no strip)"
fi
