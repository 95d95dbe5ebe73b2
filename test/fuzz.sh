#!/bin/sh
# See LICENSE file for copyright and license details.
#
# fuzz.sh [SECONDS]: builds the libFuzzer targets of test/fuzz.c (JSON
# scanner; request path; state file loading) with clang from copies of
# the sources and the default configuration, then runs each for SECONDS
# (default 60) on a scratch copy of test/corpus with test/fuzz.dict.
# Prints executions and coverage; a crash or invariant violation is kept
# in test/build/fuzz/ and makes the exit status non-zero. FUZZCONFIG=file
# uses another config.h, FUZZCC another compiler (default clang),
# FUZZTARGETS a subset (default "json proto restore").
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
CC=${FUZZCC:-clang}
config=${FUZZCONFIG:-$top/config.def.h}
out=$top/test/build/fuzz
T=$(mktemp -d "${TMPDIR:-/tmp}/sessiond-fuzz.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
targets=${FUZZTARGETS:-json proto restore}
fail=0

for f in proto.c store.c ring.c json.c sessiond.h; do
	cp "$top/$f" "$T/" || exit 1
done
cp "$config" "$T/config.h" || exit 1
mkdir -p "$out"

for t in $targets; do
	M=$(echo "$t" | tr a-z A-Z)
	(cd "$T" && $CC -std=c99 -g -O1 -fno-omit-frame-pointer \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -D_POSIX_C_SOURCE=200809L -DVERSION=\"fuzz\" -DFUZZ_$M -DCHECKS -I. \
	    -o "fuzz-$t" "$top/test/fuzz.c" proto.c store.c ring.c json.c) ||
	{
		echo "fuzz-$t: build failed (clang with libFuzzer needed)"
		exit 1
	}
done

for t in $targets; do
	mkdir -p "$T/corpus-$t"
	cp "$top"/test/corpus/* "$T/corpus-$t/"
	# stderr closed (-close_fd_mask=2): proto.c logs every odd line
	"$T/fuzz-$t" -max_total_time="$secs" -timeout=10 \
	    -dict="$top/test/fuzz.dict" -close_fd_mask=2 \
	    -artifact_prefix="$out/$t-" -print_final_stats=1 \
	    "$T/corpus-$t" >"$T/log-$t" 2>&1
	rc=$?
	done=$(grep 'DONE' "$T/log-$t" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$T/log-$t")
	cov=$(echo "$done" |
	    sed -n 's/.*\(cov: [0-9]*\).*\(ft: [0-9]*\).*/\1 \2/p')
	if [ "$rc" -eq 0 ]; then
		echo "fuzz-$t: ${runs:-?} runs in ${secs}s, ${cov:-no stats}"
	else
		fail=1
		echo "fuzz-$t: FAILED (exit $rc) after ${runs:-?} runs;" \
		    "reproducer:"
		sed -n 's/.*Test unit written to \(.*\)/    \1/p' "$T/log-$t"
		grep -A 14 'invariant violated\|ERROR: Address\|runtime error' \
		    "$T/log-$t" | grep -v 'fuzzer::\|libc\|deadly signal' |
		    head -n 16
	fi
done
exit $fail
