#!/bin/sh
# See LICENSE file for copyright and license details.
#
# Tests for sessiond-usage against test/fakehttp, a local server answering
# a fixed status and body. Each case runs the script with fake credentials
# and checks its exit status, stdout, stderr (one line on failure, never
# the token) and the headers the server received. SKIPs when curl is
# absent. TESTSH picks the shell running the script (default sh).

top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
usage=$top/sessiond-usage
testsh=$(command -v "${TESTSH:-sh}") || exit 1
tok=sk-ant-oat01-TEST_t0ken-abc.123
fails=0
srv=

if ! command -v curl >/dev/null 2>&1; then
	echo "SKIP usage.sh: curl not installed"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/usage-test.XXXXXX") || exit 1
cleanup()
{
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# a clean environment: no proxy, no user config, no real credentials
unset CLAUDE_CONFIG_DIR http_proxy HTTP_PROXY https_proxy HTTPS_PROXY \
    all_proxy ALL_PROXY SESSIOND_USAGE_URL SESSIOND_CREDENTIALS
no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
HOME=$tmp/home
export no_proxy NO_PROXY HOME
mkdir "$HOME" || exit 1
echo verbose >"$HOME/.curlrc"	# must be ignored: it would print the token

${CC:-cc} -std=c99 -Wall -Wextra -pedantic -D_POSIX_C_SOURCE=200809L \
    -o "$tmp/fakehttp" "$top/test/fakehttp.c" || {
	echo "FAIL build test/fakehttp.c"
	exit 1
}

body='{"five_hour":{"utilization":12.0,"resets_at":"2026-11-24T20:00:00+00:00"},"seven_day":{"utilization":40.0,"resets_at":"2026-11-28T10:00:00+00:00"},"seven_day_sonnet":null,"extra_usage":{"is_enabled":false}}'
printf '%s\n' "$body" >"$tmp/body.json"
printf '%s\n' '{"type":"error","error":{"type":"x","message":"no"}}' \
    >"$tmp/error.json"
printf '<html>captive portal</html>\n' >"$tmp/html"

# multi-line, token not first, other objects holding an accessToken too
cat >"$tmp/multi.json" <<EOF
{
  "otherOauth" : { "accessToken" : "wrong-other-token" },
  "mcpOAuth" : {
    "srv|1" : { "accessToken" : "wrong-mcp-token", "expiresAt" : 0 }
  },
  "claudeAiOauth" :
  {
    "refreshToken" : "sk-ant-ort01-refresh",
    "scopes" : [ "user:inference", "user:profile" ],
    "nested" : { "accessToken" : "wrong-nested-token" },
    "expiresAt" : 1900000000000,
    "accessToken"
      :
      "$tok",
    "subscriptionType" : "max"
  }
}
EOF
printf '{"claudeAiOauth":{"accessToken":"%s","refreshToken":"r","expiresAt":1,"scopes":["user:profile"]}}' \
    "$tok" >"$tmp/single.json"
printf '{"claudeAiOauth":{"refreshToken":"r"},"accessToken":"%s"}\n' \
    "$tok" >"$tmp/notoken.json"
printf '{"claudeAiOauth":{"accessToken":"%s\\" -o \\"/tmp/x"}}\n' \
    "$tok" >"$tmp/badtoken.json"
chmod 600 "$tmp"/*.json
mkdir -p "$tmp/empty" "$tmp/cfg" "$HOME/.claude" || exit 1
cp "$tmp/multi.json" "$HOME/.claude/.credentials.json" || exit 1
cp "$tmp/single.json" "$tmp/cfg/.credentials.json" || exit 1

fail()
{
	echo "FAIL $name: $*"
	ok=0
}

# start STATUS BODYFILE: run fakehttp in the background, set $port
start()
{
	rm -f "$tmp/port" "$tmp/headers"
	"$tmp/fakehttp" "$tmp/port" "$1" "$2" "$tmp/headers" &
	srv=$!
	i=0
	while [ ! -s "$tmp/port" ]; do
		i=$((i + 1))
		if [ "$i" -gt 100 ] || ! kill -0 "$srv" 2>/dev/null; then
			echo "FAIL fakehttp did not start"
			exit 1
		fi
		sleep 0.1 2>/dev/null || sleep 1
	done
	port=$(cat "$tmp/port")
	url=http://127.0.0.1:$port/api/oauth/usage
}

stop()
{
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	srv=
}

# run [VAR=VALUE...]: run the script, set $rc, leave out and err
run()
{
	env SESSIOND_USAGE_URL="$url" "$@" \
	    "$testsh" "$usage" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# expect CODE: check exit status and the output that goes with it
expect()
{
	[ "$rc" -eq "$1" ] || fail "exit $rc, want $1 ($(cat "$tmp/err"))"
	if grep -F -e "$tok" "$tmp/out" "$tmp/err" >/dev/null; then
		fail "token printed"
	fi
	if [ "$1" -eq 0 ]; then
		cmp -s "$tmp/out" "$tmp/body.json" || fail "stdout is not the body"
		[ -s "$tmp/err" ] && fail "stderr: $(cat "$tmp/err")"
	else
		[ -s "$tmp/out" ] && fail "stdout not empty on failure"
		[ "$(wc -l <"$tmp/err")" -eq 1 ] ||
		    fail "stderr is not one line: $(cat "$tmp/err")"
	fi
}

# sent: the server saw our headers, exactly
sent()
{
	[ -s "$tmp/headers" ] || { fail "no request received"; return; }
	for h in "Authorization: Bearer $tok" \
	    "anthropic-beta: oauth-2025-04-20" "Accept: application/json"; do
		tr -d '\r' <"$tmp/headers" | grep -x -F -e "$h" >/dev/null ||
		    fail "header not sent: ${h%%:*}"
	done
	grep -i '^GET /api/oauth/usage HTTP/1' "$tmp/headers" >/dev/null ||
	    fail "request line: $(head -n 1 "$tmp/headers")"
}

report()
{
	if [ "$ok" -eq 1 ]; then
		echo "PASS $name"
	else
		fails=$((fails + 1))
	fi
}

# http NAME STATUS BODYFILE CREDENTIALS CODE: one request, one answer
http()
{
	name=$1 ok=1
	start "$2" "$3"
	run SESSIOND_CREDENTIALS="$4"
	expect "$5"
	sent
	stop
	report
}

retryafter()
{
	name=retry-after-reported ok=1
	start 429 "$tmp/error.json"
	run SESSIOND_CREDENTIALS="$tmp/single.json"
	expect 6
	grep 'retry-after: 300' "$tmp/err" >/dev/null ||
	    fail "stderr: $(cat "$tmp/err")"
	stop
	report
}

# the server is killed: its port is (almost surely) closed now
closedport()
{
	name=closed-port ok=1
	start 200 "$tmp/body.json"
	stop
	run SESSIOND_CREDENTIALS="$tmp/single.json"
	expect 8
	report
}

# nocreds NAME FILE: no request may be made, the server must see nothing
nocreds()
{
	name=creds-$1 ok=1
	start 200 "$tmp/body.json"
	run SESSIOND_CREDENTIALS="$2"
	expect 3
	[ -s "$tmp/headers" ] && fail "request made"
	stop
	report
}

nocurl()
{
	name=no-curl ok=1
	start 200 "$tmp/body.json"
	run SESSIOND_CREDENTIALS="$tmp/single.json" PATH="$tmp/empty"
	expect 9
	stop
	report
}

# default NAME CODE [VAR=VALUE...]: credentials from the default places
default()
{
	name=$1 ok=1
	want=$2
	shift 2
	start 200 "$tmp/body.json"
	run "$@"
	expect "$want"
	[ "$want" -eq 0 ] && sent
	stop
	report
}

http ok-multiline     200 "$tmp/body.json"  "$tmp/multi.json"  0
http ok-singleline    200 "$tmp/body.json"  "$tmp/single.json" 0
http unauthorized     401 "$tmp/error.json" "$tmp/single.json" 4
http forbidden        403 "$tmp/error.json" "$tmp/single.json" 5
http ratelimited      429 "$tmp/error.json" "$tmp/single.json" 6
http servererror      500 "$tmp/error.json" "$tmp/single.json" 7
http notfound         404 "$tmp/error.json" "$tmp/single.json" 7
http ok-but-not-json  200 "$tmp/html"       "$tmp/single.json" 7
http no-answer        0   "$tmp/body.json"  "$tmp/single.json" 8
retryafter
closedport
nocreds missing  "$tmp/nonexistent.json"
nocreds notoken  "$tmp/notoken.json"
nocreds badtoken "$tmp/badtoken.json"
nocreds empty    /dev/null
nocurl
# on macOS the real keychain comes first: leave it alone
if [ "$(uname -s)" != Darwin ]; then
	default creds-home 0
	default creds-configdir 0 CLAUDE_CONFIG_DIR="$tmp/cfg"
	# $CLAUDE_CONFIG_DIR replaces ~/.claude: the latter is not read
	default creds-configdir-empty 3 CLAUDE_CONFIG_DIR="$tmp/empty"
fi

if [ "$fails" -ne 0 ]; then
	echo "usage.sh: $fails failed"
	exit 1
fi
