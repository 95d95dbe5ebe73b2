# Abuse cases for test.sh, which sources this file like cases.sh and runs
# every t_* function in order with a fresh log. Each case starts its own
# daemon, seeds one session ("keep": working then attention, priority 7,
# working_dir /tmp), attacks, then checks with ab_intact that a plain
# client is answered at once, "keep" is exactly as it was (status,
# history, priority, dir), and every connection and descriptor the attack
# used is gone. Needs $HOLD (test/hold.c) besides $SDC. POSIX sh; helper
# names start with ab_ so they cannot clash with test.sh or cases.sh.

ab_E='{"version":1,"ok":false,"error":'

# times and idle flags blanked: they move while a case runs
ab_norm() { norm | ab_blank; }
ab_blank() {
	sed -e 's/"elapsed_seconds":[0-9]*/"elapsed_seconds":E/g' \
	    -e 's/"idle_seconds":[0-9]*/"idle_seconds":I/g' \
	    -e 's/"inactive":[a-z]*/"inactive":X/g'
}
ab_get() { # GET keep, answered within 2 s or not at all
	printf '{"cmd":"GET","session_id":"keep"}\n' |
		"$SDC" -w 2000 "$SOCK" | ab_norm
}
ab_nfds() { ls "/proc/$dpid/fd" 2>/dev/null | wc -l | tr -d ' '; }
ab_fdsback() { [ "$(ab_nfds)" = "$ab_fds" ]; }
ab_cpu() { awk '{ print $14 + $15 }' "/proc/$dpid/stat"; } # clock ticks

ab_seed() {
	req '{"cmd":"SET","session_id":"keep","status":"working","working_dir":"/tmp","priority":7}' \
	    '{"cmd":"SET","session_id":"keep","status":"attention","priority":7}' \
	    >/dev/null
	ab_want=$(printf '%s\n' "$OK$(snap keep attention '"/tmp"' \
		"$(h working),$(h attention)" false 7)}" | ab_blank)
	ab_fds=$(ab_nfds)
}

# ab_intact NAME: the daemon survived the attack with its state whole
ab_intact() {
	if ! waitfor accepts; then # gone, or a zombie nobody reaped yet
		bad "$1-intact" "the daemon does not answer" "$(tail -n 5 "$LOG")"
		return
	fi
	ab_why=""
	waitfor conns 1 || ab_why="connections left open: $(printf \
		'{"cmd":"STATUS"}\n' | "$SDC" -w 2000 "$SOCK")"
	got=$(ab_get)
	[ "$got" = "$ab_want" ] || ab_why="$ab_why${ab_why:+; }keep: $got"
	if [ -n "$ab_fds" ] && ! waitfor ab_fdsback; then
		ab_why="$ab_why${ab_why:+; }descriptors: $ab_fds before, $(ab_nfds) after"
	fi
	if [ -z "$ab_why" ]; then ok "$1-intact"; else bad "$1-intact" "$ab_why"; fi
}

# ab_send NAME PRINTF-FORMAT WANT: raw bytes (NULs too) in, whole reply out
ab_send() {
	# shellcheck disable=SC2059
	check "$1" "$(printf "$2" | "$SDC" -w 2000 "$SOCK")" "$3"
}

ab_limited() { # ULIMIT-FLAG VALUE: $T/limited runs $DEF under that limit
	printf '#!/bin/sh\nulimit %s %s || exit 1\nexec "%s" "$@"\n' \
		"$1" "$2" "$DEF" > "$T/limited"
	chmod +x "$T/limited"
}

ab_needhold() { # test.sh builds test/hold.c into $HOLD
	[ -x "${HOLD:-}" ] && return 0
	skp "$1" "no \$HOLD (test/hold.c)"
	return 1
}

ab_until() { # FILE: runs until FILE exists (at most 60 s); feeds hold -i
	ab_u=0
	while [ ! -e "$1" ] && [ $ab_u -lt 3000 ]; do
		sleep 0.02
		ab_u=$((ab_u + 1))
	done
}

ab_bigtable() { # fills the table: 127 sessions b0..b126 with 4 KiB dirs
	ab_dir=/$(ab_repeat 4095 d)
	ab_b=0
	while [ $ab_b -lt 127 ]; do # 16 per client (see stuck_subscriber)
		: > "$T/bigfill"
		ab_e=$((ab_b + 16))
		while [ $ab_b -lt $ab_e ] && [ $ab_b -lt 127 ]; do
			echo "{\"cmd\":\"SET\",\"session_id\":\"b$ab_b\",\"status\":\"working\",\"working_dir\":\"$ab_dir\"}"
			ab_b=$((ab_b + 1))
		done >> "$T/bigfill"
		"$SDC" -w 20000 "$SOCK" < "$T/bigfill" > /dev/null
	done
}

ab_refused() { # NAME: a newcomer now gets "too many clients"
	check "$1" "$(printf '{"cmd":"STATUS"}\n' | "$SDC" -w 1000 "$SOCK")" \
		"$ab_E\"too many clients\"}"
}

ab_def() { # NAME: the number config.def.h defines NAME as
	sed -n "s/^#define $1 *\([0-9]*\).*/\1/p" "$top/config.def.h"
}

# ab_quietcrowd N: a daemon holding N subscribers ($ab_sp, their report
# in $T/crowdsubs) for IDLECLIENTMS and 8 s more; sets ab_max and ab_idle
ab_quietcrowd() {
	start "$DEF" -t 0
	ab_seed
	ab_max=$(ab_def MAXCLIENTS)
	ab_idle=$(ab_def IDLECLIENTMS)
	"$HOLD" -n "$1" -w $((ab_idle + 8000)) -s '{"cmd":"SUB"}' \
		"$SOCK" > "$T/crowdsubs" 2>&1 &
	ab_sp=$!
	waitfor grep -q '^connected' "$T/crowdsubs"
}

ab_repeat() { # N STRING: STRING N times, no newline
	ab_r=0
	while [ $ab_r -lt "$1" ]; do
		printf '%s' "$2"
		ab_r=$((ab_r + 1))
	done
}

t_abuse_crowd() {
	ab_needhold crowd || return
	# 2,000 connections at once, held: MAXCLIENTS (256) get in and are
	# served, the rest get "too many clients" and are closed
	start "$DEF" -t 0
	ab_seed
	"$HOLD" -n 2000 -w 2500 -s '{"cmd":"GET","session_id":"keep"}' \
		"$SOCK" > "$T/crowd" 2>&1 &
	ab_hp=$!
	waitfor grep -q '^connected' "$T/crowd"
	ab_refused crowd-newcomer-refused
	wait $ab_hp
	ab_max=$(ab_def MAXCLIENTS)
	check crowd-held-and-refused "$(tail -n 1 "$T/crowd")" \
		"open $ab_max answered $ab_max refused $((2000 - ab_max)) closed 0"
	ab_intact crowd
	stop
}

t_abuse_quiet_crowd() {
	ab_needhold quiet-crowd || return
	# MAXCLIENTS connections, all subscribers but one that never says a
	# word: a newcomer is refused at first; once IDLECLIENTMS have passed,
	# the quiet one makes room for it, and the subscribers, older and as
	# quiet, stay
	ab_quietcrowd $(($(ab_def MAXCLIENTS) - 1))
	"$HOLD" -n 1 -w $((ab_idle + 8000)) "$SOCK" > "$T/quiet" 2>&1 &
	ab_hp=$!
	waitfor grep -q '^connected' "$T/quiet"
	ab_refused quiet-crowd-refused-first
	sleep $((ab_idle / 1000 + 1))
	check quiet-crowd-makes-room "$(req '{"cmd":"GET","session_id":"keep"}' | cut -c1-30)" \
		'{"version":1,"ok":true,"data":'
	check quiet-crowd-said "$(grep -c 'too many clients: one quiet for' "$LOG")" 1
	wait $ab_hp
	check quiet-crowd-quiet-one-closed "$(tail -n 1 "$T/quiet")" \
		"open 0 answered 0 refused 0 closed 1"
	wait $ab_sp
	check quiet-crowd-subscribers-stay "$(tail -n 1 "$T/crowdsubs")" \
		"open $((ab_max - 1)) answered $((ab_max - 1)) refused 0 closed 0"
	ab_intact quiet-crowd
	stop
}

t_abuse_stuck_crowd() {
	ab_needhold stuck-crowd || return
	if ! command -v python3 >/dev/null 2>&1; then
		skp stuck-crowd "python3 not found"; return
	fi
	# MAXCLIENTS connections: subscribers, one that asks for much and
	# never reads, one that sends a byte a second and never a line. Both
	# are as quiet as a silent one: after IDLECLIENTMS each makes room
	# for a newcomer, the one stuck longest first
	ab_quietcrowd $(($(ab_def MAXCLIENTS) - 2))
	# 3,000 GETs: more replies than the kernel and its ring hold
	"$HOLD" -n 1 -w $((ab_idle + 8000)) \
		-s "$(ab_repeat 3000 '{"cmd":"GET","session_id":"keep"}
')" "$SOCK" > "$T/stuck" 2>&1 &
	ab_hp=$!
	waitfor grep -q '^connected' "$T/stuck"
	python3 - "$SOCK" "$((ab_idle / 1000 + 8))" <<'EOF' > "$T/trickle" &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
print("connected", flush=True)
end = time.time() + float(sys.argv[2])
try:
    while time.time() < end:
        s.send(b" ")
        time.sleep(1)
    s.setblocking(False)
    print("closed" if s.recv(4096) == b"" else "open")
except OSError:
    print("closed")
EOF
	ab_tp=$!
	waitfor grep -q '^connected' "$T/trickle"
	ab_refused stuck-crowd-refused-first
	sleep $((ab_idle / 1000 + 2))
	"$HOLD" -n 2 -w 1000 -s '{"cmd":"GET","session_id":"keep"}' "$SOCK" > "$T/stucknew"
	check stuck-crowd-make-room "$(tail -n 1 "$T/stucknew")" \
		"open 2 answered 2 refused 0 closed 0"
	check stuck-crowd-said "$(grep -c 'too many clients: one quiet for' "$LOG")" 2
	wait $ab_hp
	check stuck-crowd-reader-closed "$(tail -n 1 "$T/stuck")" \
		"open 0 answered 1 refused 0 closed 1"
	wait $ab_tp
	check stuck-crowd-trickler-closed "$(tail -n 1 "$T/trickle")" closed
	wait $ab_sp
	check stuck-crowd-subscribers-stay "$(tail -n 1 "$T/crowdsubs")" \
		"open $((ab_max - 2)) answered $((ab_max - 2)) refused 0 closed 0"
	ab_intact stuck-crowd
	stop
}

t_abuse_warning_flood() {
	# 1,000 bad hook events in a row: at most WARNMAX warnings a second
	# reach stderr, then one line says how many were not shown
	start "$DEF" -t 0
	ab_seed
	ab_repeat 1000 '{"hook_event_name":"Stop","cwd":"/w"}
' | "$SDC" -w 5000 "$SOCK" > /dev/null
	ab_n=$(grep -c 'without session_id' "$LOG")
	if [ "$ab_n" -ge 1 ] && [ "$ab_n" -lt 100 ]; then ok warning-flood-held
	else bad warning-flood-held "$ab_n of 1000 warnings shown"; fi
	sleep 1.1
	printf '{"hook_event_name":"Stop"}\n' | "$SDC" "$SOCK" > /dev/null
	if waitfor grep -q 'more such warnings not shown' "$LOG"; then ok warning-flood-counted
	else bad warning-flood-counted "$(tail -n 3 "$LOG")"; fi
	ab_intact warning-flood
	stop
}

t_abuse_huge_line() {
	start "$DEF" -t 0
	ab_seed
	got=$( (head -c 10485760 /dev/zero | tr '\0' x
		printf '\n{"cmd":"GET","session_id":"keep"}\n') |
		"$SDC" -w 20000 "$SOCK" | ab_norm)
	check huge-line "$got" "$(printf '%s\n' "$ab_E\"line too long\"}" "$ab_want")"
	# no newline, then EOF: one error, then the daemon closes its side
	head -c 10485760 /dev/zero | tr '\0' x | "$SDC" -w 3000 "$SOCK" > "$T/huge"
	check huge-line-eof-closed "$? $(cat "$T/huge")" "0 $ab_E\"line too long\"}"
	# a 10 MiB hook event counts by the fields before the cut, no reply
	got=$( (printf '{"hook_event_name":"UserPromptSubmit","session_id":"hk","prompt":"'
		head -c 10485760 /dev/zero | tr '\0' x; printf '"}\n') |
		"$SDC" -w 20000 "$SOCK")
	check huge-hook-no-reply "$got" ""
	check huge-hook-counted "$(req '{"cmd":"GET","session_id":"hk"}' |
		grep -o '"status":"[a-z]*"' | head -n 1)" '"status":"working"'
	ab_intact huge-line
	stop
}

t_abuse_random_bytes() {
	start "$DEF" -t 0
	ab_seed
	got=$( (head -c 300000 /dev/urandom; printf '\n') |
		"$SDC" -w 20000 "$SOCK" |
		grep -vc '^{"version":1,"ok":false,"error":"[a-zA-Z :-]*"}$')
	check random-bytes-only-errors "$got" 0
	ab_send nul-in-string '{"cmd":"GET","session_id":"ke\000ep"}\n' "$ab_E\"invalid JSON\"}"
	ab_send nul-between '{"cmd":"GET",\000"session_id":"keep"}\n' "$ab_E\"invalid JSON\"}"
	ab_send nul-after '{"cmd":"GET","session_id":"keep"}\000\n' "$ab_E\"invalid JSON\"}"
	ab_send nul-first '\000{"cmd":"GET","session_id":"keep"}\n' "$ab_E\"invalid JSON\"}"
	ab_send nul-only '\000\000\000\r\n' "$ab_E\"invalid JSON\"}"
	ab_send nul-in-hook '{"hook_event_name":"Stop","session_id":"keep\000"}\n' \
		"$ab_E\"invalid JSON\"}"
	ab_intact random-bytes
	stop
}

t_abuse_utf8() {
	start "$DEF" -t 0
	ab_seed
	U="$ab_E\"invalid JSON: invalid UTF-8\"}"
	N="$ab_E\"session not found: "
	g='{"cmd":"GET","session_id":"'
	ab_send utf8-5byte "$g\370\210\200\200\200\"}\n" "$U"
	ab_send utf8-above-10ffff "$g\364\220\200\200\"}\n" "$U"
	ab_send utf8-overlong3 "$g\340\200\257\"}\n" "$U"
	ab_send utf8-overlong2 "$g\301\277\"}\n" "$U"
	ab_send utf8-lone-continuation "$g\200\"}\n" "$U"
	ab_send utf8-cut-before-quote "$g\342\202\"}\n" "$U"
	ab_send utf8-fe-ff "$g\376\377\"}\n" "$U"
	ab_send utf8-in-key '{"\377":1,"cmd":"LIST"}\n' "$U"
	ab_send utf8-nested-surrogate '{"cmd":"LIST","x":[{"y":"\355\277\277"}]}\n' "$U"
	ab_send utf8-hook "{\"hook_event_name\":\"Stop\",\"session_id\":\"keep\",\"cwd\":\"\377\"}\n" "$U"
	ab_send utf8-outside-string '{"cmd":"LIST"}\377\n' "$ab_E\"invalid JSON\"}"
	ab_send utf8-cut-at-eol "$g\342\202\n" "$ab_E\"invalid JSON\"}"
	ab_send utf8-max "$g\364\217\277\277\"}\n" "$N$(printf '\364\217\277\277')\"}"
	ab_send utf8-d7ff "$g\355\237\277\"}\n" "$N$(printf '\355\237\277')\"}"
	ab_send utf8-e000 "$g\356\200\200\"}\n" "$N$(printf '\356\200\200')\"}"
	R=$(printf '\357\277\275') # U+FFFD
	ab_send surrogate-low-alone "$g\\\\udc00\"}\n" "$N$R\"}"
	ab_send surrogate-then-ascii "$g\\\\ud800\\\\u0041\"}\n" "$N${R}A\"}"
	ab_send surrogate-reversed "$g\\\\ude00\\\\ud83d\"}\n" "$N$R$R\"}"
	ab_send surrogate-high-high "$g\\\\udbff\\\\udbff\"}\n" "$N$R$R\"}"
	ab_send surrogate-escaped-backslash "$g\\\\ud800\\\\\\\\udc00\"}\n" "$N$R\\\\udc00\"}"
	ab_send surrogate-pair-upper "$g\\\\uD83D\\\\uDE00\"}\n" "$N$(printf '\360\237\230\200')\"}"
	# an id of 253 bytes is within IDMAX (255) however it is spelled
	a252=$(ab_repeat 252 0)
	ab_send id-escape-at-limit "$g$a252\\\\u0041\"}\n" "$N${a252}A\"}"
	ab_send id-raw-at-limit "$g${a252}A\"}\n" "$N${a252}A\"}"
	ab_intact utf8
	stop
}

t_abuse_numbers() {
	start "$DEF" -t 0
	ab_seed
	d400=$(ab_repeat 40 1234567890)
	s='{"cmd":"SET","session_id":"keep","status":"question","priority":'
	expect prio-400-digits "$s$d400}" "$ab_E\"field priority is out of range\"}"
	expect prio-2-64 "${s}18446744073709551616}" "$ab_E\"field priority is out of range\"}"
	expect prio-20-nines "${s}99999999999999999999}" "$ab_E\"field priority is out of range\"}"
	expect prio-neg-400 "$s-$d400}" "$ab_E\"field priority must be a non-negative integer\"}"
	expect prio-exp-400 "${s}1e$d400}" "$ab_E\"field priority must be a non-negative integer\"}"
	expect prio-one-point-zero "${s}1.0}" "$ab_E\"field priority must be a non-negative integer\"}"
	expect prio-leading-zero "${s}007}" "$ab_E\"invalid JSON\"}"
	expect prio-bool "${s}true}" "$ab_E\"field priority must be a number\"}"
	expect version-400-digits "{\"version\":$d400,\"cmd\":\"LIST\"}" "$ab_E\"unsupported version\"}"
	expect version-exp "{\"version\":1e0,\"cmd\":\"LIST\"}" "$ab_E\"unsupported version\"}"
	got=$(req "{\"cmd\":\"GET\",\"session_id\":\"keep\",\"a\":$d400,\"b\":-$d400.$d400,\"c\":1e$d400,\"d\":[-0.0e-$d400]}" | ab_blank)
	check numbers-ignored "$got" "$ab_want"
	ab_intact numbers
	stop
}

t_abuse_deep() {
	start "$DEF" -t 0
	ab_seed
	D="$ab_E\"invalid JSON: nested too deeply\"}"
	expect deep-open-10000 "{\"cmd\":\"LIST\",\"x\":$(ab_repeat 10000 '[')" "$D"
	expect deep-balanced-10000 "{\"cmd\":\"LIST\",\"x\":$(ab_repeat 10000 '[')$(ab_repeat 10000 ']')}" "$D"
	expect deep-objects-10000 "{\"cmd\":\"LIST\",\"x\":$(ab_repeat 10000 '{"a":')1$(ab_repeat 10000 '}')}" "$D"
	expect deep-hook-10000 "{\"hook_event_name\":\"Stop\",\"session_id\":\"keep\",\"x\":$(ab_repeat 10000 '[')" "$D"
	expect deep-close-10000 "{\"cmd\":\"LIST\"$(ab_repeat 10000 ']')" "$ab_E\"invalid JSON\"}"
	expect deep-top-array "$(ab_repeat 10000 '[')" "$ab_E\"invalid JSON: request is not an object\"}"
	# DEPTHMAX (64) levels counting the request object pass, one more not
	got=$(req "{\"cmd\":\"GET\",\"session_id\":\"keep\",\"x\":$(ab_repeat 63 '[')$(ab_repeat 63 ']')}" | ab_blank)
	check deep-at-limit "$got" "$ab_want"
	expect deep-over-limit "{\"cmd\":\"GET\",\"session_id\":\"keep\",\"x\":$(ab_repeat 64 '[')$(ab_repeat 64 ']')}" "$D"
	# a FORMAT template nested as deep as FORMATMAX allows: rendered or
	# refused, one reply line either way
	got=$(req "{\"cmd\":\"FORMAT\",\"format\":\"$(ab_repeat 341 '{?')x$(ab_repeat 341 '}')\"}" |
		grep -c '^{"version":1,"ok":[a-z]*,"[a-z]*":"[^"]*"}$')
	check format-deep "$got" 1
	ab_intact deep
	stop
}

t_abuse_format_stack() {
	# one request must not need megabytes of stack: run with 1 MiB
	ab_limited -s 1024
	start "$T/limited" -t 0
	ab_seed
	got=$(req "{\"cmd\":\"FORMAT\",\"format\":\"$(ab_repeat 341 '{?')x$(ab_repeat 341 '}')\"}" |
		grep -c '^{"version":1,"ok":[a-z]*,"[a-z]*":"[^"]*"}$')
	check format-deep-small-stack "$got" 1
	ab_intact format-stack
	stop
}

t_abuse_dupkeys() {
	start "$DEF" -t 0
	ab_seed
	got=$(req '{"cmd":"GET","session_id":"nope","session_id":"keep"}' | ab_blank)
	check dup-last-wins "$got" "$ab_want"
	got=$(req '{"cmd":"SET","session_id":"keep","status":"closed","status":"attention","priority":0,"priority":7,"working_dir":"/x","working_dir":"/tmp"}' | ab_blank)
	check dup-set-last-wins "$got" "$ab_want"
	got=$(req "{\"cmd\":\"GET\",$(ab_repeat 5000 '"x":1,')\"session_id\":\"keep\"}" | ab_blank)
	check dup-5000-same-key "$got" "$ab_want"
	f63=$(ab_n=0; while [ $ab_n -lt 62 ]; do printf '"k%d":%d,' $ab_n $ab_n; ab_n=$((ab_n + 1)); done)
	got=$(req "{\"cmd\":\"GET\",$f63\"session_id\":\"keep\"}" | ab_blank)
	check fields-64 "$got" "$ab_want"
	expect fields-65 "{\"cmd\":\"GET\",$f63\"k62\":0,\"session_id\":\"keep\"}" \
		"$ab_E\"invalid JSON: too many fields\"}"
	got=$(req '{"c\u006dd":"GET","session_\u0069d":"keep"}' | ab_blank)
	check escaped-keys "$got" "$ab_want"
	got=$(req '{"cmd":"LIST","CMD":"STOP","Cmd":"STOP","confirmed":true}' | cut -c1-31)
	check key-case-matters "$got" "${OK}["
	ab_intact dupkeys
	stop
}

t_abuse_slowloris() {
	# five clients each sending a request one piece a second must not
	# delay anybody else; each is answered once its line is complete
	start "$DEF" -t 0
	ab_seed
	ab_sp=""
	for ab_k in 1 2 3 4 5; do
		(for ab_c in '{' '"' 'c' 'm'; do printf '%s' "$ab_c"; sleep 1; done
		 printf 'd":"GET","session_id":"keep"}\n') |
			"$SDC" -w 15000 "$SOCK" > "$T/slow$ab_k" &
		ab_sp="$ab_sp $!"
	done
	waitfor conns 6 || bad slowloris-setup "the slow clients did not connect"
	ab_n=0
	ab_late=0
	while [ $ab_n -lt 100 ] && [ ! -s "$T/slow5" ]; do
		got=$(printf '{"cmd":"GET","session_id":"keep"}\n' |
			"$SDC" -w 500 "$SOCK" | ab_norm)
		[ "$got" = "$ab_want" ] || ab_late=$((ab_late + 1))
		ab_n=$((ab_n + 1))
		sleep 0.05
	done
	for ab_k in $ab_sp; do wait "$ab_k"; done
	if [ $ab_late = 0 ] && [ $ab_n -ge 10 ]; then ok slowloris-others-served
	else bad slowloris-others-served "$ab_late of $ab_n requests late"; fi
	got=$(cat "$T/slow1" "$T/slow2" "$T/slow3" "$T/slow4" "$T/slow5" | ab_norm | sort -u)
	check slowloris-answered "$got" "$ab_want"
	ab_intact slowloris
	stop
}

t_abuse_stuck_subscriber() {
	ab_needhold stuck-subscriber || return
	# a subscriber that never reads, while another gets 10,000 updates
	start "$SMALL" -t 0
	ab_seed
	rm -f "$T/stuck"
	ab_until "$T/stuck" |
		"$HOLD" -i -w 60000 -s '{"cmd":"SUB"}' "$SOCK" > "$T/stuckout" &
	ab_hp=$!
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 10001 -w 60000 "$SOCK" \
		> "$T/fastsub" &
	ab_fp=$!
	waitfor grep -q subscribed "$T/fastsub"
	waitfor grep -q connected "$T/stuckout"
	# 1,000 per client: sdc writes all before it reads, so more than the
	# socket buffers hold would deadlock it against the daemon
	ab_n=0
	while [ $ab_n -lt 1000 ]; do
		if [ $((ab_n / 5 % 2)) = 0 ]; then s=working; else s=question; fi
		printf '{"cmd":"SET","session_id":"s%d","status":"%s"}\n' $((ab_n % 5)) $s
		ab_n=$((ab_n + 1))
	done > "$T/pub1k"
	: > "$T/pubout"
	for ab_k in 1 2 3 4 5 6 7 8 9 10; do
		"$SDC" -w 20000 "$SOCK" < "$T/pub1k" >> "$T/pubout"
	done
	wait $ab_fp
	touch "$T/stuck"
	wait $ab_hp
	check stuck-reader-got-all "$(grep -c '"type":"update"' "$T/fastsub")" 10000
	check stuck-publisher-answered "$(grep -c '"ok":true' "$T/pubout")" 10000
	check stuck-dropped "$(tail -n 1 "$T/stuckout")" "open 0 answered 1 refused 0 closed 1"
	ab_intact stuck-subscriber
	stop
}

t_abuse_connect_close() {
	ab_needhold connect-close || return
	start "$DEF" -t 0
	ab_seed
	for ab_k in 1 2 3; do # 200 at once, three times: never the limit
		"$HOLD" -n 200 -w 0 "$SOCK" | tail -n 1 | cut -d' ' -f5-
	done > "$T/cc"
	check connect-close-600 "$(sort -u "$T/cc")" "refused 0 closed 0"
	# a request, then gone before its reply
	"$HOLD" -n 100 -w 0 -s '{"cmd":"LIST"}' "$SOCK" > /dev/null
	ab_n=0
	while [ $ab_n -lt 20 ]; do
		printf '' | "$SDC" -w 2000 "$SOCK"
		ab_n=$((ab_n + 1))
	done
	ab_intact connect-close
	stop
}

t_abuse_sigstop() {
	# clients that arrive while the daemon is stopped are served after
	# SIGCONT, and so is the load that was running
	start "$DEF" -t 0
	ab_seed
	ab_n=0
	while [ $ab_n -lt 2000 ]; do
		echo '{"cmd":"GET","session_id":"keep"}'
		ab_n=$((ab_n + 1))
	done > "$T/gets"
	ab_lp=""
	for ab_k in 1 2 3 4; do
		"$SDC" -w 20000 "$SOCK" < "$T/gets" > "$T/load$ab_k" &
		ab_lp="$ab_lp $!"
	done
	kill -STOP "$dpid"
	for ab_k in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		printf '{"cmd":"GET","session_id":"keep"}\n' |
			"$SDC" -w 20000 "$SOCK" > "$T/queued$ab_k" &
		ab_lp="$ab_lp $!"
	done
	sleep 1
	check sigstop-held "$(cat "$T"/queued* | wc -c | tr -d ' ')" 0
	kill -CONT "$dpid"
	for ab_k in $ab_lp; do wait "$ab_k"; done
	check sigstop-load-served "$(cat "$T"/load[1-4] | grep -c '"session_id":"keep"')" 8000
	check sigstop-queued-served "$(cat "$T"/queued* | ab_norm | sort | uniq -c | tr -s ' ')" \
		" 20 $ab_want"
	ab_intact sigstop
	stop
}

t_abuse_emfile() {
	ab_needhold emfile || return
	if [ -n "${VG:-}" ]; then
		skp emfile "valgrind needs descriptors of its own"
		return
	fi
	# 32 descriptors, 60 connections: accept fails with EMFILE; the loop
	# must rest, not spin, and serve again once descriptors come free
	if [ ! -r /proc/$$/stat ]; then skp emfile "no /proc"; return; fi
	ab_limited -n 32
	start "$T/limited" -t 0
	ab_seed
	"$HOLD" -n 60 -w 4000 "$SOCK" > "$T/emf" &
	ab_hp=$!
	waitfor grep -q '^connected' "$T/emf"
	if waitfor grep -q 'accept: ' "$LOG"; then ok emfile-reached
	else bad emfile-reached "$(cat "$LOG")"; fi
	ab_c0=$(ab_cpu)
	sleep 2
	ab_c1=$(ab_cpu)
	if [ $((ab_c1 - ab_c0)) -le 20 ]; then ok emfile-no-spin
	else bad emfile-no-spin "$((ab_c1 - ab_c0)) ticks of CPU in 2 s"; fi
	wait $ab_hp
	ab_intact emfile
	# every descriptor is back: as many clients as the limit leaves
	ab_room=$((32 - ab_fds - 2))
	"$HOLD" -n $ab_room -w 1500 -s '{"cmd":"GET","session_id":"keep"}' \
		"$SOCK" > "$T/emf2"
	check emfile-recovered "$(tail -n 1 "$T/emf2")" \
		"open $ab_room answered $ab_room refused 0 closed 0"
	stop
}

t_abuse_emfile_quiet() {
	ab_needhold emfile-quiet || return
	if [ -n "${VG:-}" ]; then
		skp emfile-quiet "valgrind needs descriptors of its own"
		return
	fi
	# out of descriptors long before MAXCLIENTS, all of them quiet: once
	# IDLECLIENTMS have passed, the quietest makes room for a newcomer
	ab_idle=$(ab_def IDLECLIENTMS)
	ab_limited -n 32
	start "$T/limited" -t 0
	ab_seed
	"$HOLD" -n 40 -w $((ab_idle + 6000)) "$SOCK" > "$T/emq" &
	ab_hp=$!
	waitfor grep -q '^connected' "$T/emq"
	waitfor grep -q 'accept: ' "$LOG"
	sleep $((ab_idle / 1000 + 1))
	check emfile-quiet-makes-room "$(ab_get)" "$ab_want"
	if grep -q 'too many clients: one quiet for' "$LOG"; then ok emfile-quiet-said
	else bad emfile-quiet-said "$(tail -n 3 "$LOG")"; fi
	wait $ab_hp
	ab_intact emfile-quiet
	stop
}

t_abuse_fd_limit_raised() {
	# a soft descriptor limit below MAXCLIENTS is raised as far as the
	# hard limit allows, so that accept() does not fail first
	if [ ! -r /proc/self/limits ]; then skp fd-limit-raised "no /proc"; return; fi
	if [ -n "${VG:-}" ]; then
		skp fd-limit-raised "valgrind keeps descriptor limits of its own"
		return
	fi
	hard=$(ulimit -H -n)
	ab_max=$(ab_def MAXCLIENTS)
	ab_spare=$(ab_def FDSPARE)
	want=$((ab_max + ab_spare))
	if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then want=$hard; fi
	ab_limited -Sn 64
	start "$T/limited" -t 0
	check fd-limit-raised "$(awk '/^Max open files/ { print $4 }' /proc/$dpid/limits)" "$want"
	stop
}

t_abuse_sub_halfclose() {
	# a subscriber that half-closes (printf | socat) still listens
	start "$DEF" -t 0
	ab_seed
	printf '{"cmd":"SUB"}\n' | "$SDC" -n 2 -w 3000 "$SOCK" > "$T/hsub" &
	ab_sp=$!
	waitfor grep -q subscribed "$T/hsub"
	req '{"cmd":"SET","session_id":"hs","status":"working"}' > /dev/null
	wait $ab_sp
	check sub-halfclose-listens "$(sed -n 2p "$T/hsub" | cut -c1-39)" \
		'{"version":1,"type":"update","session":'
	ab_intact sub-halfclose
	stop
}

t_abuse_bigring_wakeup() {
	ab_needhold bigring-wakeup || return
	# two clients hold both big rings with LIST replies they never read;
	# a third LIST waits. When the two go, the third is served at once,
	# without any other client having to wake the daemon.
	start "$DEF" -t 0
	ab_seed
	ab_bigtable
	rm -f "$T/bigdone"
	ab_until "$T/bigdone" |
		"$HOLD" -n 2 -i -w 20000 -s '{"cmd":"LIST"}' "$SOCK" > /dev/null &
	ab_hp=$!
	waitfor conns 3 || bad bigring-setup "the two holders did not connect"
	printf '{"cmd":"LIST"}\n' | "$SDC" -w 8000 "$SOCK" > "$T/third" &
	ab_tp=$!
	waitfor conns 4 || bad bigring-setup "the third client did not connect"
	touch "$T/bigdone"
	wait $ab_hp
	# nothing may poke the daemon now: watch the file only
	if waitfor grep -q '"ok":true' "$T/third"; then ok bigring-freed-wakes-waiter
	else bad bigring-freed-wakes-waiter "the waiting LIST got no reply in 5 s"; fi
	wait $ab_tp
	check bigring-third-whole "$(grep -o '"session_id":"b[0-9]*"' "$T/third" | wc -l | tr -d ' ')" 127
	ab_intact bigring-wakeup
	stop
}

t_abuse_bigring_trickle() {
	ab_needhold bigring-trickle || return
	# two clients hold both big rings with LIST replies they read 2 KiB
	# at a time, never still long enough to stall; a third LIST waits.
	# BIGHOLDMS after lending, a holder is dropped and the third served.
	start "$DEF" -t 0
	ab_seed
	ab_bigtable
	rm -f "$T/trdone"
	ab_until "$T/trdone" |
		"$HOLD" -n 2 -i -t 100 -w 30000 -s '{"cmd":"LIST"}' "$SOCK" > "$T/trhold" &
	ab_hp=$!
	waitfor conns 3 || bad bigring-trickle-setup "the two holders did not connect"
	printf '{"cmd":"LIST"}\n' | "$SDC" -w 20000 "$SOCK" > "$T/third"
	check bigring-trickle-third-served "$(grep -o '"session_id":"b[0-9]*"' "$T/third" | wc -l | tr -d ' ')" 127
	touch "$T/trdone"
	wait $ab_hp
	# one at least: once one ring is free the third is served, and the
	# other holder may keep its ring if it was lent later
	case $(tail -n 1 "$T/trhold") in
	"open 0 answered 2 refused 0 closed 2"|"open 1 answered 2 refused 0 closed 1")
		ok bigring-trickle-holder-dropped ;;
	*)	bad bigring-trickle-holder-dropped "$(tail -n 1 "$T/trhold")" ;;
	esac
	if grep -q 'too slow to take a big reply' "$LOG"; then ok bigring-trickle-said
	else bad bigring-trickle-said "$(cat "$LOG")"; fi
	ab_intact bigring-trickle
	stop
}

t_abuse_state_roundtrip() {
	# whatever SET and hooks accept comes back after a restart unchanged,
	# and the state file is not called damaged: here ids, dirs and
	# messages at their limits ending in DEL, which the file escapes
	rm -f "$T/abstate" "$T/abstate.bad"
	start "$DEF" -t 0 -S "$T/abstate"
	ab_seed
	del=$(printf '\177')
	req "{\"cmd\":\"SET\",\"session_id\":\"$(ab_repeat 254 a)$del\",\"status\":\"question\"}" \
	    "{\"cmd\":\"SET\",\"session_id\":\"dir\",\"status\":\"working\",\"working_dir\":\"/$(ab_repeat 4094 d)$del\"}" \
	    "{\"hook_event_name\":\"Notification\",\"notification_type\":\"idle_prompt\",\"session_id\":\"msg\",\"message\":\"$(ab_repeat 511 m)$del\"}" \
	    > /dev/null
	ab_list=$(req '{"cmd":"LIST"}' | ab_blank)
	got=$(printf '%s\n' "$ab_list" | grep -o '"session_id":"[^"]*"' | wc -l)
	check state-before "$(echo $got)" 4
	stop
	start "$DEF" -t 0 -S "$T/abstate"
	ab_fds=$(ab_nfds)
	check state-roundtrip "$(req '{"cmd":"LIST"}' | ab_blank)" "$ab_list"
	if [ -e "$T/abstate.bad" ]; then bad state-not-damaged "$(cat "$LOG")"
	else ok state-not-damaged; fi
	ab_intact state-roundtrip
	stop
}

t_abuse_stuck_bigrings() {
	# two subscribers stop reading during a burst of big updates: they
	# may be dropped, but they must not keep the shared big rings from a
	# client whose LIST needs one
	ab_needhold stuck-bigrings || return
	start "$DEF" -t 0
	ab_seed
	ab_bigtable
	rm -f "$T/sbdone"
	ab_until "$T/sbdone" |
		"$HOLD" -n 2 -i -w 20000 -s '{"cmd":"SUB"}' "$SOCK" > /dev/null &
	ab_hp=$!
	waitfor conns 3 || bad stuck-bigrings-setup "the two subscribers did not connect"
	ab_n=0
	while [ $ab_n -lt 100 ]; do # 100 updates of 4 KiB each
		if [ $((ab_n % 2)) = 0 ]; then s=question; else s=working; fi
		echo "{\"cmd\":\"SET\",\"session_id\":\"b1\",\"status\":\"$s\"}"
		ab_n=$((ab_n + 1))
	done > "$T/burst"
	"$SDC" -w 10000 "$SOCK" < "$T/burst" > /dev/null
	got=$(printf '{"cmd":"LIST"}\n' | "$SDC" -w 3000 "$SOCK" |
		grep -o '"session_id":"b[0-9]*"' | wc -l | tr -d ' ')
	check stuck-bigrings-list "$got" 127
	touch "$T/sbdone"
	wait $ab_hp
	ab_intact stuck-bigrings
	stop
}
