# Cases for test.sh, which sources this file and runs every t_* function
# in order with a fresh log. Each case starts and stops its own daemon.

t_commands() {
	start "$DEF" -t 0
	d='"/tmp"'
	expect set "{\"version\":1,\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"working\",\"working_dir\":\"/tmp\"}" \
		"$OK$(snap a working "$d" "$(h working)" false 0)}"
	expect set-lowercase-cmd '{"cmd":"set","session_id":"a","status":"attention","priority":7}' \
		"$OK$(snap a attention "$d" "$(h working),$(h attention)" false 7)}"
	expect set-same-status-no-history '{"cmd":"Set","session_id":"a","status":"attention"}' \
		"$OK$(snap a attention "$d" "$(h working),$(h attention)" false 0)}"
	expect get '{"cmd":"GET","session_id":"a"}' \
		"$OK$(snap a attention "$d" "$(h working),$(h attention)" false 0)}"
	expect set-no-dir '{"cmd":"SET","session_id":"b","status":"question","agent_type":"codex"}' \
		"$OK$(snap b question null "$(h question)" false 0 | sed 's/claudecode/codex/')}"
	expect list '{"cmd":"LIST"}' \
		"$OK[$(snap a attention "$d" "$(h working),$(h attention)" false 0),$(snap b question null "$(h question)" false 0 | sed 's/claudecode/codex/')]}"
	expect rm '{"cmd":"RM","session_id":"b"}' \
		"$OK$(snap b closed null "$(h question),$(h closed)" true 0 | sed 's/claudecode/codex/')}"
	expect reopen-no-dir '{"cmd":"REOPEN","session_id":"b"}' \
		'{"version":1,"ok":false,"error":"NOT_RESUMABLE No working directory recorded for session b"}'
	expect reopen-not-closed '{"cmd":"REOPEN","session_id":"a"}' \
		'{"version":1,"ok":false,"error":"session is not closed: a"}'
	expect reopen-unknown '{"cmd":"REOPEN","session_id":"zz"}' \
		'{"version":1,"ok":false,"error":"SESSION_NOT_FOUND No closed session with ID: zz"}'
	mkdir "$T/gone"
	req "{\"cmd\":\"SET\",\"session_id\":\"c\",\"status\":\"closed\",\"working_dir\":\"$T/gone\"}" >/dev/null
	rmdir "$T/gone"
	expect reopen-dir-missing '{"cmd":"REOPEN","session_id":"c"}' \
		"{\"version\":1,\"ok\":false,\"error\":\"WORKING_DIR_MISSING Working directory no longer exists: $T/gone\"}"
	req '{"cmd":"SET","session_id":"a","status":"attention","priority":5}' >/dev/null
	req '{"cmd":"RM","session_id":"a"}' >/dev/null
	expect reopen '{"cmd":"REOPEN","session_id":"a"}' \
		"$OK$(snap a attention "$d" "$(h working),$(h attention),$(h closed),$(h attention)" false 0)}"
	expect delete '{"cmd":"DELETE","session_id":"c"}' \
		"$OK$(snap c closed "\"$T/gone\"" "$(h closed)" true 0)}"
	expect get-deleted '{"cmd":"GET","session_id":"c"}' \
		'{"version":1,"ok":false,"error":"session not found: c"}'
	got=$(req '{"cmd":"STATUS"}' | sed -e 's/"memory_mb":[0-9]*\.[0-9]/"memory_mb":M/' \
		-e 's/"uptime_seconds":[0-9]*/"uptime_seconds":U/')
	check status "$got" "$OK{\"uptime_seconds\":U,\"sessions\":{\"active\":1,\"closed\":1},\"connections\":1,\"memory_mb\":M,\"socket_path\":\"$SOCK\"}}"
	check dump "$(req '{"cmd":"DUMP"}' | sed -e 's/"uptime_seconds":[0-9]*/"uptime_seconds":U/' \
		-e 's/"elapsed_seconds":[0-9]*/"elapsed_seconds":E/g')" \
		"$OK{\"uptime_seconds\":U,\"socket_path\":\"$SOCK\",\"sessions\":[{\"session_id\":\"a\",\"status\":\"attention\",\"working_dir\":\"/tmp\",\"elapsed_seconds\":E,\"closed\":false},{\"session_id\":\"b\",\"status\":\"closed\",\"working_dir\":null,\"elapsed_seconds\":E,\"closed\":true}],\"session_counts\":{\"active\":1,\"closed\":1},\"connections\":1}}"
	expect usage-never '{"cmd":"USAGE"}' \
		"$OK{\"state\":\"never\",\"fetched_at\":null,\"usage\":null}}"
	expect stop-confirm '{"cmd":"STOP"}' \
		"$OK{\"stop_status\":\"confirm_required\",\"active_count\":1}}"
	expect stop '{"cmd":"STOP","confirmed":true}' "$OK{\"stop_status\":\"ok\"}}"
	if stop && [ ! -e "$SOCK" ]; then ok stop-cleans-up; else bad stop-cleans-up; fi
}

t_errors() {
	start "$DEF" -t 0
	E='{"version":1,"ok":false,"error":'
	expect unknown-cmd '{"cmd":"FROB"}' "$E\"unknown command: FROB\"}"
	expect no-cmd '{"session":"x"}' "$E\"missing field: cmd\"}"
	expect cmd-type '{"cmd":5}' "$E\"field cmd must be a string\"}"
	expect bad-version '{"version":2,"cmd":"LIST"}' "$E\"unsupported version\"}"
	expect version-type '{"version":"1","cmd":"LIST"}' "$E\"field version must be a number\"}"
	expect set-no-id '{"cmd":"SET","status":"working"}' "$E\"SET requires session_id\"}"
	expect get-no-id '{"cmd":"GET"}' "$E\"GET requires session_id\"}"
	expect set-no-status '{"cmd":"SET","session_id":"a"}' "$E\"SET requires status\"}"
	expect bad-status '{"cmd":"SET","session_id":"a","status":"sleeping"}' \
		"$E\"invalid status: sleeping (expected: working, attention, question, closed)\"}"
	for st in Attention WORKING qUESTION; do
		check "status-any-case-$st" "$(req "{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"$st\"}" | grep -o '"status":"[a-z]*","working_dir"')" \
			"\"status\":\"$(echo $st | tr A-Z a-z)\",\"working_dir\""
	done
	for st in Workin workings 'w\u00f6rking' ''; do
		check "bad-status-$st" "$(req "{\"cmd\":\"SET\",\"session_id\":\"a\",\"status\":\"$st\"}" | grep -c 'invalid status')" 1
	done
	expect id-type '{"cmd":"GET","session_id":42}' "$E\"field session_id must be a string\"}"
	expect id-empty '{"cmd":"GET","session_id":""}' "$E\"field session_id is empty\"}"
	long=$(printf '%0256d' 0)
	expect id-too-long "{\"cmd\":\"SET\",\"session_id\":\"$long\",\"status\":\"working\"}" \
		"$E\"field session_id is longer than 255 bytes\"}"
	max=$(printf '%0255d' 0)
	check id-max "$(req "{\"cmd\":\"SET\",\"session_id\":\"$max\",\"status\":\"working\"}" | grep -c "\"session_id\":\"$max\"")" 1
	expect prio-negative '{"cmd":"SET","session_id":"a","status":"working","priority":-1}' \
		"$E\"field priority must be a non-negative integer\"}"
	expect prio-fraction '{"cmd":"SET","session_id":"a","status":"working","priority":1.5}' \
		"$E\"field priority must be a non-negative integer\"}"
	expect prio-string '{"cmd":"SET","session_id":"a","status":"working","priority":"1"}' \
		"$E\"field priority must be a number\"}"
	expect prio-range '{"cmd":"SET","session_id":"a","status":"working","priority":18446744073709551616}' \
		"$E\"field priority is out of range\"}"
	check prio-max "$(req '{"cmd":"SET","session_id":"a","status":"working","priority":18446744073709551615}' | grep -c '"priority":18446744073709551615,')" 1
	expect dir-type '{"cmd":"SET","session_id":"a","status":"working","working_dir":["x"]}' \
		"$E\"field working_dir must be a string\"}"
	expect snapshot-type '{"cmd":"SUB","snapshot":"yes"}' "$E\"field snapshot must be a boolean\"}"
	expect confirmed-type '{"cmd":"STOP","confirmed":1}' "$E\"field confirmed must be a boolean\"}"
	expect not-json 'hello' "$E\"invalid JSON\"}"
	expect not-object '[1,2]' "$E\"invalid JSON: request is not an object\"}"
	expect trailing '{"cmd":"LIST"} x' "$E\"invalid JSON\"}"
	expect truncated '{"cmd":"LIST"' "$E\"invalid JSON\"}"
	expect bad-utf8 "$(printf '{"cmd":"GET","session_id":"\377"}')" "$E\"invalid JSON: invalid UTF-8\"}"
	expect overlong-utf8 "$(printf '{"cmd":"GET","session_id":"\300\257"}')" "$E\"invalid JSON: invalid UTF-8\"}"
	expect utf8-surrogate "$(printf '{"cmd":"GET","session_id":"\355\240\200"}')" "$E\"invalid JSON: invalid UTF-8\"}"
	expect nul-escape '{"cmd":"GET","session_id":"a\u0000b"}' "$E\"field session_id must not contain NUL\"}"
	deep=$(printf '%0100d' 0 | sed 's/0/[/g')
	expect deep "{\"cmd\":\"LIST\",\"x\":$deep" "$E\"invalid JSON: nested too deeply\"}"
	expect unknown-fields-ignored '{"cmd":"GET","session_id":"a","zzz":{"q":[1,2,{"r":null}]},"n":-1.5e3}' \
		"$(req '{"cmd":"GET","session_id":"a"}')"
	expect duplicate-key-last-wins '{"cmd":"GET","cmd":"LIST","session_id":"a"}' "$(req '{"cmd":"LIST"}')"
	expect missing-version-is-1 '{"cmd":"USAGE"}' "$OK{\"state\":\"never\",\"fetched_at\":null,\"usage\":null}}"
	expect null-version-is-1 '{"version":null,"cmd":"USAGE"}' "$OK{\"state\":\"never\",\"fetched_at\":null,\"usage\":null}}"
	stop
}

t_strings() {
	start "$DEF" -t 0
	got=$(req '{"cmd":"SET","session_id":"\u00e9\ud83d\ude00 \"q\" \\ \t\u0001","status":"working","working_dir":"/t\u00e9st"}')
	want=$(printf '"session_id":"\303\251\360\237\230\200 \\"q\\" \\\\ \\t\\u0001"')
	case $got in *"$want"*"\"working_dir\":\"/t$(printf '\303\251')st\""*) ok escapes-roundtrip ;;
		*) bad escapes-roundtrip "$got" ;; esac
	got=$(req '{"cmd":"SET","session_id":"lone\ud800x","status":"working"}')
	case $got in *"\"session_id\":\"lone$(printf '\357\277\275')x\""*) ok lone-surrogate-replaced ;;
		*) bad lone-surrogate-replaced "$got" ;; esac
	got=$(req '{"cmd":"SET","session_id":"del\u007f","status":"working"}')
	case $got in *'"session_id":"del\u007f"'*) ok del-escaped ;; *) bad del-escaped "$got" ;; esac
	dir=/$(printf '%04095d' 0)
	got=$(req "{\"cmd\":\"SET\",\"session_id\":\"p\",\"status\":\"working\",\"working_dir\":\"$dir\"}" | grep -c "\"working_dir\":\"$dir\"")
	check dir-4096 "$got" 1
	expect dir-4097 "{\"cmd\":\"SET\",\"session_id\":\"p\",\"status\":\"working\",\"working_dir\":\"/$dir\"}" \
		'{"version":1,"ok":false,"error":"field working_dir is longer than 4096 bytes"}'
	stop
}

t_framing() {
	start "$SMALL" -t 0
	got=$(printf '{"cmd":"SET","session_id":"a","status":"working"}\n{"cmd":"GET","session_id":"a"}\n{"cmd":"GET","session_id":"x"}\n' | "$SDC" "$SOCK" | norm | cut -c1-40)
	check pipelined "$got" "$(printf '%s\n' '{"version":1,"ok":true,"data":{"session_' '{"version":1,"ok":true,"data":{"session_' '{"version":1,"ok":false,"error":"session')"
	got=$(printf '{"cmd":"GET","session_id":"x"}' | "$SDC" "$SOCK")
	check half-close-no-newline "$got" '{"version":1,"ok":false,"error":"session not found: x"}'
	got=$(printf '\n\r\n{"cmd":"GET","session_id":"x"}\r\n\n' | "$SDC" "$SOCK")
	check crlf-and-empty-lines "$got" '{"version":1,"ok":false,"error":"session not found: x"}'
	got=$(printf '   \n\t\n \r\n{"cmd":"GET","session_id":"x"}\n \t \n' | "$SDC" "$SOCK")
	check blank-lines-ignored "$got" '{"version":1,"ok":false,"error":"session not found: x"}'
	over=$(printf '%02049d' 0)
	got=$(printf '{"cmd":"GET","session_id":"%s"}\n{"cmd":"GET","session_id":"x"}\n' "$over" | "$SDC" "$SOCK")
	check line-too-long "$got" "$(printf '%s\n' '{"version":1,"ok":false,"error":"line too long"}' '{"version":1,"ok":false,"error":"session not found: x"}')"
	# exactly LINEMAX bytes (2048) is still a line
	pad=$(printf '%02011d' 0)
	line="{\"cmd\":\"GET\",\"session_id\":\"x\",\"p\":\"$pad\"}"
	check linemax-length "${#line}" 2048
	got=$(printf '%s\r\n' "$line" | "$SDC" "$SOCK")
	check linemax-ok "$got" '{"version":1,"ok":false,"error":"session not found: x"}'
	got=$( (head -c 1048576 /dev/zero | tr '\0' 'x'; printf '\n{"cmd":"GET","session_id":"x"}\n') | "$SDC" "$SOCK")
	check megabyte-line "$got" "$(printf '%s\n' '{"version":1,"ok":false,"error":"line too long"}' '{"version":1,"ok":false,"error":"session not found: x"}')"
	got=$( (head -c 1048576 /dev/zero | tr '\0' 'x') | "$SDC" "$SOCK")
	check megabyte-no-newline "$got" '{"version":1,"ok":false,"error":"line too long"}'
	got=$(head -c 3000 /dev/urandom | "$SDC" "$SOCK" | grep -vc '^{"version":1,"ok":false,"error":"[a-zA-Z :-]*"}$')
	check random-bytes-only-errors "$got" 0
	check alive-after-abuse "$(req '{"cmd":"GET","session_id":"a"}' | cut -c1-56)" \
		'{"version":1,"ok":true,"data":{"session_id":"a","agent_t'
	stop
}

t_subscribe() {
	start "$DEF" -t 0
	req '{"cmd":"SET","session_id":"a","status":"working"}' >/dev/null
	printf '{"cmd":"SUB","snapshot":true}\n' | "$SDC" -k -n 7 -w 5000 "$SOCK" | norm > "$T/sub1" &
	sp=$!
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 5 -w 5000 "$SOCK" | norm > "$T/sub2" &
	sp2=$!
	waitfor conns 3
	req '{"cmd":"SET","session_id":"a","status":"working","working_dir":"/tmp"}' \
	    '{"cmd":"SET","session_id":"b","status":"question"}' \
	    '{"cmd":"SET","session_id":"a","status":"attention","working_dir":"/tmp"}' \
	    '{"cmd":"SET","session_id":"a","status":"attention","priority":3}' \
	    '{"cmd":"DELETE","session_id":"b"}' >/dev/null
	wait $sp $sp2
	U='{"version":1,"type":"update","session":'
	check sub-snapshot "$(cat "$T/sub1")" "$(printf '%s\n' "$OK\"subscribed\"}" \
		"$U$(snap a working null "$(h working)" false 0)}" \
		"$U$(snap b question null "$(h question)" false 0)}" \
		"$U$(snap a attention '"/tmp"' "$(h working),$(h attention)" false 0)}" \
		"$U$(snap a attention '"/tmp"' "$(h working),$(h attention)" false 3)}" \
		'{"version":1,"type":"removed","session_id":"b"}')"
	check sub-plain "$(cat "$T/sub2")" "$(printf '%s\n' "$OK\"subscribed\"}" \
		"$U$(snap b question null "$(h question)" false 0)}" \
		"$U$(snap a attention '"/tmp"' "$(h working),$(h attention)" false 0)}" \
		"$U$(snap a attention '"/tmp"' "$(h working),$(h attention)" false 3)}" \
		'{"version":1,"type":"removed","session_id":"b"}')"
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 5000 "$SOCK" > "$T/sub3" &
	sp=$!
	waitfor conns 2
	req '{"cmd":"DELETE","session_id":"a"}' >/dev/null
	wait $sp
	check sub-removed "$(tail -n 1 "$T/sub3")" '{"version":1,"type":"removed","session_id":"a"}'
	stop
}

# A subscriber only listens: what it sends after SUB, even in the same
# write, is not run.
t_subscriber_only_listens() {
	start "$DEF" -t 0
	got=$(printf '%s\n' '{"cmd":"SUB"}' '{"cmd":"SET","session_id":"x","status":"working"}' |
		"$SDC" -k -n 2 -w 1000 "$SOCK")
	check sub-then-set-reply "$got" '{"version":1,"ok":true,"data":"subscribed"}'
	expect sub-then-set-not-run '{"cmd":"LIST"}' "$OK[]}"
	stop
}

t_slow_subscriber() {
	start "$DEF" -t 0
	# one subscriber never reads, another reads everything
	mkfifo "$T/never"
	(printf '{"cmd":"SUB"}\n'; cat "$T/never") | "$SDC" -k -w 60000 "$SOCK" >/dev/null &
	lazy=$!
	n=3000
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n $((n + 1)) -w 60000 "$SOCK" > "$T/fast" &
	fast=$!
	waitfor conns 3
	kill -STOP $lazy
	i=0
	while [ $i -lt $n ]; do
		if [ $((i % 2)) = 0 ]; then s=working; else s=attention; fi
		printf '{"cmd":"SET","session_id":"s%d","status":"%s"}\n' $((i % 5)) $s
		i=$((i + 1))
	done > "$T/pub"
	"$SDC" -w 60000 "$SOCK" < "$T/pub" > "$T/pubout"
	wait $fast
	check fast-subscriber-got-all "$(grep -c '"type":"update"' "$T/fast")" $n
	check publisher-replies "$(grep -c '"ok":true' "$T/pubout")" $n
	kill -CONT $lazy
	kill $lazy 2>/dev/null
	exec 3>"$T/never"; exec 3>&-
	stop
	# with no room left anywhere (one big ring, kept for replies) the
	# stuck one is dropped
	start "$SMALL" -t 0
	(printf '{"cmd":"SUB"}\n'; cat "$T/never") | "$SDC" -k -w 60000 "$SOCK" >/dev/null &
	lazy=$!
	waitfor conns 2
	kill -STOP $lazy
	for r in 1 2 3 4 5 6; do # more than the kernel buffers too
		"$SDC" -w 60000 "$SOCK" < "$T/pub" > /dev/null
		grep -q 'subscriber too slow' "$LOG" && break
	done
	if grep -q 'subscriber too slow' "$LOG"; then ok slow-subscriber-dropped
	else bad slow-subscriber-dropped "$(cat "$LOG")"; fi
	check dropped-not-counted "$(req '{"cmd":"STATUS"}' | grep -o '"connections":[0-9]*')" '"connections":1'
	kill -CONT $lazy
	kill $lazy 2>/dev/null
	exec 3>"$T/never"; exec 3>&-
	stop
}

t_waiting_client() {
	# a client that sends many requests and reads nothing at first
	start "$SMALL" -t 0
	i=0
	while [ $i -lt 2000 ]; do
		echo '{"cmd":"LIST"}'
		i=$((i + 1))
	done > "$T/many"
	req '{"cmd":"SET","session_id":"a","status":"working"}' >/dev/null
	check pipelined-2000-lists "$("$SDC" -w 30000 "$SOCK" < "$T/many" | grep -c '"session_id":"a"')" 2000
	stop
}

refused() {
	test "$(printf '{"cmd":"STATUS"}\n' | "$SDC" "$SOCK")" = \
		'{"version":1,"ok":false,"error":"too many clients"}'
}

t_maxclients() {
	start "$SMALL" -t 0
	mkfifo "$T/hold"
	exec 4<>"$T/hold"
	hp=""
	i=0
	# holders until the daemon is full; one refused in a race is replaced
	while [ $i -lt 20 ] && ! refused; do
		"$SDC" -k -w 30000 "$SOCK" < "$T/hold" > /dev/null &
		hp="$hp $!"
		i=$((i + 1))
		waitfor conns $((i + 1)) || true
	done
	check one-too-many "$(printf '{"cmd":"STATUS"}\n' | "$SDC" "$SOCK")" \
		'{"version":1,"ok":false,"error":"too many clients"}'
	exec 4>&-
	for p in $hp; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	waitfor accepts
	check served-after "$(req '{"cmd":"GET","session_id":"x"}')" \
		'{"version":1,"ok":false,"error":"session not found: x"}'
	stop
}

t_full_table() {
	start "$SMALL" -t 0
	i=0
	while [ $i -lt 8 ]; do
		echo "{\"cmd\":\"SET\",\"session_id\":\"s$i\",\"status\":\"working\"}"
		i=$((i + 1))
	done > "$T/fill"
	"$SDC" "$SOCK" < "$T/fill" > /dev/null
	expect table-full '{"cmd":"SET","session_id":"new","status":"working"}' \
		'{"version":1,"ok":false,"error":"session table full"}'
	check table-unchanged "$(req '{"cmd":"LIST"}' | grep -o '"session_id"' | wc -l | tr -d ' ')" 8
	# closed sessions make room; at most MAXCLOSED (3) are kept
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 9 -w 5000 "$SOCK" > "$T/subf" &
	sp=$!
	waitfor conns 2
	req '{"cmd":"RM","session_id":"s0"}' '{"cmd":"RM","session_id":"s1"}' \
	    '{"cmd":"RM","session_id":"s2"}' '{"cmd":"RM","session_id":"s3"}' >/dev/null
	check closed-evicted "$(req '{"cmd":"GET","session_id":"s0"}')" \
		'{"version":1,"ok":false,"error":"session not found: s0"}'
	check closed-kept "$(req '{"cmd":"GET","session_id":"s1"}' | grep -c '"closed":true')" 1
	req '{"cmd":"SET","session_id":"new","status":"working"}' >/dev/null
	got=$(req '{"cmd":"SET","session_id":"new2","status":"working"}' | grep -c '"session_id":"new2"')
	check full-evicts-oldest-closed "$got" 1
	check evicted-s1 "$(req '{"cmd":"GET","session_id":"s1"}')" \
		'{"version":1,"ok":false,"error":"session not found: s1"}'
	wait $sp
	check removed-notes "$(grep -o '"type":"removed","session_id":"s[0-9]"' "$T/subf" | tr '\n' ' ')" \
		'"type":"removed","session_id":"s0" "type":"removed","session_id":"s1" '
	stop
}

t_full_list() {
	# every field at its maximum, the whole table: LIST comes back whole
	start "$DEF" -t 0
	dir=/$(printf '%04095d' 0 | tr 0 d)
	msg=$(printf '%0256d' 0 | tr 0 m)
	i=0
	while [ $i -lt 128 ]; do
		id=$(printf '%0255d' $i)
		echo "{\"cmd\":\"SET\",\"session_id\":\"$id\",\"status\":\"working\",\"working_dir\":\"$dir\",\"agent_type\":\"$(printf '%064d' 0)\",\"priority\":18446744073709551615}"
		i=$((i + 1))
	done > "$T/fullset"
	check full-set "$("$SDC" -w 20000 "$SOCK" < "$T/fullset" | grep -c '"ok":true')" 128
	expect full-129th '{"cmd":"SET","session_id":"x","status":"working"}' \
		'{"version":1,"ok":false,"error":"session table full"}'
	printf '{"cmd":"LIST"}\n{"cmd":"LIST"}\n' | "$SDC" -w 20000 "$SOCK" > "$T/list"
	check full-list-lines "$(wc -l < "$T/list" | tr -d ' ')" 2
	check full-list-sessions "$(head -n 1 "$T/list" | grep -o "\"working_dir\":\"$dir\"" | wc -l | tr -d ' ')" 128
	printf '{"cmd":"SUB","snapshot":true}\n' | "$SDC" -k -n 129 -w 20000 "$SOCK" > "$T/subsnap"
	check full-sub-snapshot "$(grep -c '"type":"update"' "$T/subsnap")" 128
	stop
}

t_lifecycle() {
	: > "$LOG"
	start "$DEF" -t 0
	"$DEF" -s "$SOCK" -S '' -t 0 2> "$T/second"
	rc=$?
	check second-daemon "$rc $(cat "$T/second")" "1 sessiond: already running on $SOCK"
	kill -9 "$dpid"
	waitfor gone "$dpid"
	if [ -S "$SOCK" ]; then ok stale-left; else bad stale-left; fi
	start "$DEF" -t 0
	check stale-recovered "$(req '{"cmd":"GET","session_id":"x"}')" \
		'{"version":1,"ok":false,"error":"session not found: x"}'
	mode=$(ls -l "$SOCK" | cut -c1-10)
	check socket-mode "$mode" "srw-------"
	kill -HUP "$dpid"
	check survives-hup "$(req '{"cmd":"GET","session_id":"x"}')" \
		'{"version":1,"ok":false,"error":"session not found: x"}'
	stop
	rc=$?
	if [ $rc = 0 ] && [ ! -e "$SOCK" ]; then ok sigterm-cleanup; else bad sigterm-cleanup "rc=$rc"; fi
	start "$DEF" -t 0
	kill -INT "$dpid"
	waitfor gone "$dpid"
	if [ ! -e "$SOCK" ]; then ok sigint-cleanup; else bad sigint-cleanup; fi
	touch "$SOCK"
	"$DEF" -s "$SOCK" -S '' 2> "$T/notsock"
	check not-a-socket "$? $(cat "$T/notsock")" "1 sessiond: $SOCK exists and is not a socket"
	rm -f "$SOCK"
	check version "$("$DEF" -v)" "sessiond-test"
	"$DEF" -x 2> "$T/usage"
	check bad-flag "$? $(grep -c '^usage: sessiond ' "$T/usage")" "1 1"
	"$DEF" -t abc 2> /dev/null
	check bad-idle "$?" 1
	max=$(sed -n 's/^#define SECSMAX *\([0-9]*\).*/\1/p' "$top/config.def.h")
	for arg in "-t $((max + 1))" "-t -1" "-u 0" "-u $((max + 1))" "-u 5x"; do
		# shellcheck disable=SC2086
		timeout 10 "$DEF" -s "$SOCK" -S '' $arg 2> /dev/null
		check "bad-seconds$(echo $arg | tr -d ' ')" "$?" 1
	done
	start "$DEF" -t "$max" -u "$max"
	check max-seconds "$(req '{"cmd":"GET","session_id":"x"}')" \
		'{"version":1,"ok":false,"error":"session not found: x"}'
	stop
	"$T/badrule/sessiond" -f -s "$SOCK" -S '' -t 1 2> "$T/badrule.err"
	check rule-too-long "$? $(cat "$T/badrule.err")" "1 sessiond: config.h: rule 6 (PermissionRequest): event longer than RULEMATCHMAX, it could never match"
	if [ ! -e "$SOCK" ]; then ok rule-too-long-no-socket; else bad rule-too-long-no-socket; fi
}

# The default socket outside XDG_RUNTIME_DIR (unset or empty) is in a
# directory of its own under $TMPDIR: made 0700, and refused when another
# user could have made it or can write in it.
t_private_dir() {
	pd=$T/tmpdir/sessiond-$(id -u)
	for xdg in unset empty; do
		rm -rf "$T/tmpdir"
		mkdir -p "$pd"
		chmod 777 "$pd"
		(unset SESSIOND_SOCKET XDG_RUNTIME_DIR
		[ $xdg = empty ] && XDG_RUNTIME_DIR= && export XDG_RUNTIME_DIR
		TMPDIR=$T/tmpdir "$DEF" -f -S '' -U '' -t 1 2> "$T/pd.err")
		check "private-dir-refused-xdg-$xdg" "$? $(cat "$T/pd.err")" \
			"1 sessiond: $pd must be a directory of ours with mode 0700"
	done
	rm -rf "$T/tmpdir"
	mkdir -p "$T/tmpdir"
	(unset SESSIOND_SOCKET
	XDG_RUNTIME_DIR= TMPDIR=$T/tmpdir "$DEF" -d -S '' -U '' -t 0 2>>"$LOG")
	check private-dir-made "$? $(ls -ld "$pd" | cut -c1-10)" "0 drwx------"
	printf '{"cmd":"STOP","confirmed":true}\n' |
	    "$SDC" "$pd/sessiond.sock" >/dev/null 2>&1
	waitfor test ! -e "$pd/sessiond.sock"
	rm -rf "$T/tmpdir"
}

t_detach() {
	"$DEF" -d -s "$SOCK" -S '' -t 0 2>>"$LOG"
	rc=$?
	check detach-exit "$rc" 0
	check detach-accepts-at-once "$(req '{"cmd":"GET","session_id":"x"}')" \
		'{"version":1,"ok":false,"error":"session not found: x"}'
	"$DEF" -d -s "$SOCK" -S '' -t 0 2> "$T/second"
	check detach-second "$? $(cat "$T/second")" "1 sessiond: already running on $SOCK"
	req '{"cmd":"STOP","confirmed":true}' >/dev/null
	waitfor test ! -e "$SOCK"
	if [ ! -e "$SOCK" ]; then ok detach-stopped; else bad detach-stopped; fi
}

t_idle_stop() {
	# it waits -t seconds first (3 s here: looked at after 1)
	start "$SMALL" -t 3
	sleep 1
	if accepts; then ok idle-waits; else bad idle-waits; fi
	stop
	# a subscriber holds it
	start "$SMALL" -t 2
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 6000 "$SOCK" > /dev/null &
	sp=$!
	waitfor conns 2
	sleep 3
	if accepts; then ok idle-held-by-subscriber; else bad idle-held-by-subscriber; fi
	kill $sp 2>/dev/null
	wait $sp 2>/dev/null
	stop
	start "$SMALL" -t 1
	waitfor gone "$dpid"
	if gone "$dpid" && [ ! -e "$SOCK" ]; then ok idle-stop-empty; else bad idle-stop-empty; fi
	wait "$dpid"
	check idle-exit-status "$?" 0
	# an active session holds it until inactive (INACTIVESECS 2 here) + 1 s
	start "$SMALL" -t 1
	req '{"cmd":"SET","session_id":"a","status":"working"}' >/dev/null
	sleep 1.5
	if kill -0 "$dpid" 2>/dev/null; then ok idle-held-by-session; else bad idle-held-by-session; fi
	waitfor gone "$dpid"
	if gone "$dpid"; then ok idle-stop-after-inactive; else bad idle-stop-after-inactive; fi
	# an event puts the stop off (here to 2.5 + 2 + 2 s), though the
	# daemon does not look at its sessions again before the stop it had
	# planned (at 2 + 2 s)
	start "$SMALL" -t 2
	req '{"cmd":"SET","session_id":"a","status":"working"}' >/dev/null
	sleep 2.5
	printf '{"session_id":"a","hook_event_name":"PostToolUse"}\n' | "$SDC" "$SOCK" >/dev/null
	sleep 2.5
	if kill -0 "$dpid" 2>/dev/null; then ok idle-put-off; else bad idle-put-off; fi
	waitfor gone "$dpid"
	if gone "$dpid"; then ok idle-put-off-stops; else bad idle-put-off-stops; fi
	# the idle time runs from the moment the last open session closed or
	# went, not from the start: started 2.2 s ago, it stays 2 s more.
	# Active for an hour (INACTIVESECS), not 2 s: it has planned its stop
	# that far off when the session closes
	for how in RM DELETE SessionEnd; do
		start "$DEF" -t 2
		req '{"cmd":"SET","session_id":"a","status":"working"}' >/dev/null
		sleep 2.2
		if [ $how = SessionEnd ]; then
			printf '{"session_id":"a","hook_event_name":"SessionEnd"}\n' | "$SDC" "$SOCK" >/dev/null
		else
			req "{\"cmd\":\"$how\",\"session_id\":\"a\"}" >/dev/null
		fi
		sleep 0.5
		if kill -0 "$dpid" 2>/dev/null; then ok "idle-from-$how"; else bad "idle-from-$how"; fi
		waitfor gone "$dpid"
		if gone "$dpid"; then ok "idle-from-$how-stops"; else bad "idle-from-$how-stops"; fi
	done
	# a closed session deleted still held it from its close
	start "$DEF" -t 2
	req '{"cmd":"SET","session_id":"a","status":"working"}' >/dev/null
	sleep 2.2
	req '{"cmd":"RM","session_id":"a"}' >/dev/null
	req '{"cmd":"DELETE","session_id":"a"}' >/dev/null
	sleep 0.5
	if kill -0 "$dpid" 2>/dev/null; then ok idle-from-closed-deleted; else bad idle-from-closed-deleted; fi
	waitfor gone "$dpid"
	if gone "$dpid"; then ok idle-from-closed-deleted-stops; else bad idle-from-closed-deleted-stops; fi
	# -t 0 never stops
	start "$SMALL" -t 0
	sleep 1.2
	if kill -0 "$dpid" 2>/dev/null; then ok no-idle-stop; else bad no-idle-stop; fi
	stop
}

# a clean stop hears out the clients already in, the backlog too: a hook
# that got in has sent its event and gone; the state written holds it
t_stop_hears_out() {
	ST=$T/hearout
	rm -f "$ST"
	start "$DEF" -t 0 -S "$ST"
	kill -STOP "$dpid"
	late=""
	for i in 1 2 3 4 5; do
		printf '{"session_id":"late%d","hook_event_name":"UserPromptSubmit","cwd":"/w"}\n' $i |
			"$SDC" "$SOCK" >/dev/null &
		late="$late $!"
	done
	sleep 0.3 # all in the backlog, the daemon asleep
	kill -TERM "$dpid"
	kill -CONT "$dpid"
	waitfor gone "$dpid"
	wait $late 2>/dev/null
	start "$DEF" -t 0 -S "$ST"
	check stop-hears-out "$(req '{"cmd":"LIST"}' | grep -o '"session_id":"late[0-9]"' | wc -l | tr -d ' ')" 5
	# a hook connected, its event not yet written when STOP comes in
	(sleep 0.3; printf '{"session_id":"slow","hook_event_name":"Stop"}\n') |
		"$SDC" "$SOCK" >/dev/null &
	slow=$!
	waitfor conns 2
	req '{"cmd":"STOP","confirmed":true}' >/dev/null
	waitfor gone "$dpid"
	wait $slow 2>/dev/null
	start "$DEF" -t 0 -S "$ST"
	check stop-waits-for-connected "$(req '{"cmd":"GET","session_id":"slow"}' | grep -c '"status":"attention"')" 1
	stop
}

# holdlock WORD...: a stand-in daemon holds $SOCK.lock saying the WORDs
# (a line each) for 1 s, then says so ($SOCK.lock.released) and unlinks
# it ($holder); saying only running, it listens on $SOCK meanwhile
holdlock() {
	python3 - "$SOCK" "$@" <<'EOF' &
import fcntl, os, socket, sys, time
sock, lock, words = sys.argv[1], sys.argv[1] + ".lock", sys.argv[2:]
fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
fcntl.lockf(fd, fcntl.LOCK_EX)
if words == ["running"]:
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock)
    s.listen()
os.pwrite(fd, "".join(w + "\n" for w in words).encode(), 0)
open(lock + ".held", "w").close()
time.sleep(1.0)
if words == ["running"]:
    os.unlink(sock)
open(lock + ".released", "w").close()
os.unlink(lock)
EOF
	holder=$!
	waitfor test -e "$SOCK.lock.held"
	rm -f "$SOCK.lock.held"
}

# a new daemon waits for one that is stopping (its lock says so) to write
# its state, instead of saying "already running"; one running is not
# waited for
t_start_waits_for_stopper() {
	if ! command -v python3 >/dev/null 2>&1; then
		skp start-waits-for-stopper "python3 not found"; return
	fi
	rm -f "$SOCK.lock.released"
	holdlock running stopping
	start "$DEF" -t 0
	if [ -e "$SOCK.lock.released" ]; then ok start-waits-for-stopper; else bad start-waits-for-stopper "started while the lock was held"; fi
	wait "$holder"
	check start-after-stopper "$(req '{"cmd":"GET","session_id":"x"}')" \
		'{"version":1,"ok":false,"error":"session not found: x"}'
	stop
	# an older sessiond says stopping at the start of its lock
	rm -f "$SOCK.lock.released"
	holdlock stopping
	start "$DEF" -t 0
	if [ -e "$SOCK.lock.released" ]; then ok start-waits-for-old-stopper; else bad start-waits-for-old-stopper "started while the lock was held"; fi
	wait "$holder"
	stop
	rm -f "$SOCK.lock.released"
	holdlock running
	"$DEF" -f -s "$SOCK" -S '' -t 0 2> "$T/held.err"
	check start-running-not-waited "$? $(cat "$T/held.err") $([ -e "$SOCK.lock.released" ] && echo late)" \
		"1 sessiond: already running on $SOCK "
	wait "$holder"
}

# a daemon whose socket file was deleted is unreachable: the next one
# started asks it to stop, waits, and takes over its sessions
t_socket_deleted() {
	ST=$T/orphan
	rm -f "$ST"
	start "$DEF" -t 0 -S "$ST"
	req '{"cmd":"SET","session_id":"kept","status":"question"}' >/dev/null
	orphan=$dpid
	rm -f "$SOCK"
	logged=$(wc -l < "$LOG")
	dpid=
	start "$DEF" -t 0 -S "$ST"
	wait "$orphan"
	check socket-deleted-stops-holder "$?" 0
	check socket-deleted-takeover "$(req '{"cmd":"GET","session_id":"kept"}' | grep -c '"status":"question"')" 1
	if logsays "$SOCK was deleted: stopping pid $orphan"; then ok socket-deleted-says; else bad socket-deleted-says "$(newlog)"; fi
	stop
}

# The socket's directory is removed, lock and all (a cleaner of /tmp):
# the daemon that served it, stopping, leaves the next one's socket and
# lock alone.
t_socket_dir_removed() {
	pd=$T/tmpdir/sessiond-$(id -u)
	rm -rf "$T/tmpdir"
	mkdir -p "$T/tmpdir"
	(unset SESSIOND_SOCKET XDG_RUNTIME_DIR
	TMPDIR=$T/tmpdir exec $VG "$DEF" -f -S '' -U '' -t 0) 2>>"$LOG" &
	orphan=$!
	pids="$pids $orphan"
	waitfor test -S "$pd/sessiond.sock"
	rm -rf "$pd"
	(unset SESSIOND_SOCKET XDG_RUNTIME_DIR
	TMPDIR=$T/tmpdir exec $VG "$DEF" -f -S '' -U '' -t 0) 2>>"$LOG" &
	dpid=$!
	pids="$pids $dpid"
	SOCK=$pd/sessiond.sock
	waitfor accepts
	kill "$orphan"
	(sleep 10; kill -9 "$orphan") 2>/dev/null &	# never waited for forever
	watchdog=$!
	wait "$orphan"
	check dir-removed-old-stops "$?" 0
	kill "$watchdog" 2>/dev/null
	if [ -S "$SOCK" ] && [ -f "$SOCK.lock" ] && accepts; then
		ok dir-removed-newcomer-files-kept
	else
		bad dir-removed-newcomer-files-kept "$(ls -la "$pd")"
	fi
	stop
	SOCK=$T/sock
	rm -rf "$T/tmpdir"
}

# one state file, two daemons on two sockets: the second keeps none
# rather than writing over the first's; -d keeps a relative -S where it
# was given
t_state_shared() {
	ST=$T/shared
	rm -f "$ST"
	start "$DEF" -t 0 -S "$ST"
	req '{"cmd":"SET","session_id":"first","status":"working"}' >/dev/null
	"$DEF" -f -s "$T/sock2" -S "$ST" -U '' -t 0 2> "$T/second.err" &
	second=$!
	pids="$pids $second"
	waitfor test -S "$T/sock2"
	check state-shared-warns "$(cat "$T/second.err")" \
		"sessiond: $ST is kept by another sessiond: sessions are not kept"
	printf '{"cmd":"SET","session_id":"second","status":"working"}\n' | "$SDC" "$T/sock2" >/dev/null
	stop
	kill "$second" # the last to stop
	waitfor gone "$second"
	start "$DEF" -t 0 -S "$ST"
	check state-shared-first-kept "$(req '{"cmd":"LIST"}' | grep -o '"session_id":"[a-z]*"' | tr '\n' ' ')" '"session_id":"first" '
	stop
	rm -f "$T/relstate"
	(cd "$T" && "$DEF" -d -s "$SOCK" -S relstate -U '' -t 0 2>>"$LOG")
	req '{"cmd":"SET","session_id":"rel","status":"working"}' >/dev/null
	waitfor test -s "$T/relstate"
	journal=$(ls -i "$T/relstate")
	req '{"cmd":"STOP","confirmed":true}' >/dev/null
	waitfor test ! -e "$SOCK.lock" # gone once the state is written
	# the last word is a snapshot, renamed over the journal: a new file
	check state-relative-detached "$(grep -c '"rel"' "$T/relstate") $([ "$(ls -i "$T/relstate")" != "$journal" ] && echo rewritten)" "1 rewritten"
}

# the state file: LIST without its clock-dependent numbers
listnorm() {
	req '{"cmd":"LIST"}' | sed -e 's/"elapsed_seconds":[0-9]*/E/g' \
		-e 's/"idle_seconds":[0-9]*/I/g'
}

# restores NAME BINARY: killed (-9) and started again on $ST, the daemon
# lists what it listed ($before, kept for later checks)
restores() {
	before=$(listnorm)
	kill -9 "$dpid"
	waitfor gone "$dpid"
	start "$2" -t 0 -S "$ST"
	check "$1" "$(listnorm)" "$before"
}

t_persist_restart() {
	ST=$T/state.jsonl
	rm -f "$ST"
	start "$DEF" -t 0 -S "$ST"
	i=0
	while [ $i -lt 30 ]; do
		echo "{\"cmd\":\"SET\",\"session_id\":\"p$i\",\"status\":\"working\",\"working_dir\":\"/tmp/p$i\",\"priority\":$i}"
		echo "{\"cmd\":\"SET\",\"session_id\":\"p$i\",\"status\":\"attention\",\"priority\":$i}"
		[ $((i % 3)) = 0 ] && echo "{\"cmd\":\"RM\",\"session_id\":\"p$i\"}"
		[ $i = 29 ] && echo '{"cmd":"DELETE","session_id":"p28"}'
		i=$((i + 1))
	done > "$T/pset"
	printf '%s\n' '{"session_id":"hk","hook_event_name":"Notification","notification_type":"permission_prompt","message":"Claude needs your permission to use Bash","cwd":"/srv/x"}' >> "$T/pset"
	printf '{"cmd":"GET","session_id":"hk"}\n' >> "$T/pset"
	"$SDC" "$SOCK" < "$T/pset" > /dev/null
	restores persist-kill9 "$DEF"
	check persist-closed-kept "$(req '{"cmd":"GET","session_id":"p3"}' | grep -c '"closed":true')" 1
	check persist-deleted-gone "$(req '{"cmd":"GET","session_id":"p28"}')" \
		'{"version":1,"ok":false,"error":"session not found: p28"}'
	check persist-message "$(req '{"cmd":"GET","session_id":"hk"}' | grep -c '"message":"Claude needs your permission to use Bash"')" 1
	stop
	start "$DEF" -t 0 -S "$ST"
	check persist-clean-restart "$(listnorm)" "$before"
	check persist-compacted-lines "$(wc -l < "$ST" | tr -d ' ')" 30
	req '{"cmd":"SET","session_id":"hk","status":"working"}' >/dev/null
	sleep 1.1
	got=$(req '{"cmd":"GET","session_id":"hk"}' | sed -n 's/.*"elapsed_seconds":\([0-9]*\).*/\1/p')
	kill -9 "$dpid"
	waitfor gone "$dpid"
	start "$DEF" -t 0 -S "$ST"
	got2=$(req '{"cmd":"GET","session_id":"hk"}' | sed -n 's/.*"elapsed_seconds":\([0-9]*\).*/\1/p')
	if [ "$got" -ge 1 ] && [ "$got2" -ge "$got" ]; then ok persist-elapsed-continues
	else bad persist-elapsed-continues "$got -> $got2"; fi
	stop
}

t_persist_hammer() {
	# kill -9 at random moments under load: every SET that got a reply survives
	ST=$T/hammer.jsonl
	rm -f "$ST"
	i=0
	while [ $i -lt 3000 ]; do
		echo "{\"cmd\":\"SET\",\"session_id\":\"h$((i % 40))\",\"status\":\"working\",\"priority\":$i}"
		i=$((i + 1))
	done > "$T/hset"
	round=0
	lost=0
	while [ $round -lt 5 ]; do
		start "$DEF" -t 0 -S "$ST"
		"$SDC" -w 20000 "$SOCK" < "$T/hset" > "$T/hout" &
		cp=$!
		sleep "0.0$(od -An -N1 -tu1 /dev/urandom | tr -d ' ' | cut -c1)"
		kill -9 "$dpid"
		wait "$cp"
		waitfor gone "$dpid"
		start "$DEF" -t 0 -S "$ST"
		req '{"cmd":"LIST"}' | grep -o '"session_id":"h[0-9]*"[^]]*][^]]*"priority":[0-9]*' |
			sed 's/"session_id":"\(h[0-9]*\)".*"priority":\([0-9]*\)/\1 \2/' | sort > "$T/hafter"
		sed -n 's/.*"session_id":"\(h[0-9]*\)".*"priority":\([0-9]*\).*/\1 \2/p' "$T/hout" |
			awk '{ last[$1] = $2 } END { for (k in last) print k, last[k] }' | sort > "$T/hacked"
		lost=$((lost + $(join "$T/hacked" "$T/hafter" -a 1 | awk 'NF < 3 || $3 < $2' | wc -l)))
		stop
		round=$((round + 1))
	done
	check persist-hammer-nothing-lost "$lost" 0
}

t_persist_damaged() {
	ST=$T/dmg.jsonl
	now=$(date +%s)000
	rec() { printf '{"session_id":"%s","agent_type":"claudecode","status":"working","working_dir":null,"priority":0,"since_ms":%s,"active_ms":%s,"closeseq":0,"history":[{"status":"working","at_secs":1}]}\n' "$1" "$2" "$2"; }
	{ rec d1 "$now"; echo 'garbage {'; rec d2 "$now"; rec old 1000; printf '{"session_id":"torn","agent'; } > "$ST"
	start "$DEF" -t 0 -S "$ST"
	got=$(req '{"cmd":"LIST"}' | grep -o '"session_id":"[a-z0-9]*"' | tr '\n' ' ')
	check damaged-loaded "$got" '"session_id":"d1" "session_id":"d2" '
	check damaged-warned "$(grep -c "dmg.jsonl:2: bad record skipped" "$LOG")" 1
	check damaged-torn-silent "$(grep -c 'dmg.jsonl:5' "$LOG")" 0
	if [ -f "$ST.bad" ]; then ok damaged-kept-as-bad; else bad damaged-kept-as-bad; fi
	stop
	# the snapshot that replaces a damaged file fails: the file stays
	if [ -f "$T/slowsync.so" ]; then
		{ rec d1 "$now"; echo 'garbage {'; rec d2 "$now"; } > "$ST"
		: > "$T/syncfail"
		DENV="env LD_PRELOAD=$T/slowsync.so SYNCFAIL=$T/syncfail ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0"
		start "$DEF" -t 0 -S "$ST"
		DENV=
		rm -f "$T/syncfail"
		kill -9 "$dpid"
		waitfor gone "$dpid"
		start "$DEF" -t 0 -S "$ST"
		got=$(req '{"cmd":"LIST"}' | grep -o '"session_id":"[a-z0-9]*"' | tr '\n' ' ')
		check damaged-kept-until-replaced "$got" '"session_id":"d1" "session_id":"d2" '
		stop
		# no hard links (vfat): the damaged file is renamed instead
		rm -f "$ST.bad"
		{ rec d1 "$now"; echo 'garbage {'; } > "$ST"
		DENV="env LD_PRELOAD=$T/slowsync.so NOLINK=1 ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0"
		start "$DEF" -t 0 -S "$ST"
		DENV=
		check damaged-kept-without-links "$(grep -c garbage "$ST.bad" 2>&1)" 1
		stop
	fi
	rm -f "$ST.bad"
	{ rec b1 "$now"; printf '  \n\t\r\n'; rec b2 "$now"; } > "$ST"
	logged=$(wc -l < "$LOG")
	start "$DEF" -t 0 -S "$ST"
	got=$(req '{"cmd":"LIST"}' | grep -o '"session_id":"[a-z0-9]*"' | tr '\n' ' ')
	check blank-lines-loaded "$got" '"session_id":"b1" "session_id":"b2" '
	if [ -f "$ST.bad" ] || logsays 'bad record'; then bad blank-lines-not-damage "$(newlog)"
	else ok blank-lines-not-damage; fi
	stop
	: > "$ST"
	start "$DEF" -t 0 -S "$ST"
	check empty-file "$(req '{"cmd":"LIST"}')" "$OK[]}"
	stop
	rm -f "$ST"
	mkdir "$ST"
	start "$DEF" -t 0 -S "$ST"
	check directory-state "$(req '{"cmd":"LIST"}')" "$OK[]}"
	check directory-reported "$(grep -c 'not a regular file' "$LOG")" 1
	req '{"cmd":"SET","session_id":"x","status":"working"}' >/dev/null
	stop
	if [ -d "$ST" ]; then ok directory-untouched; else bad directory-untouched; fi
	rmdir "$ST"
	if [ "$(id -u)" != 0 ]; then
		rec u1 "$now" > "$ST"
		chmod 000 "$ST"
		start "$DEF" -t 0 -S "$ST"
		req '{"cmd":"SET","session_id":"x","status":"working"}' >/dev/null
		stop
		chmod 600 "$ST"
		check unreadable-untouched "$(cat "$ST")" "$(rec u1 "$now")"
	else
		skp unreadable-untouched "root reads any file"
	fi
}

t_persist_write_fails() {
	# a file size limit makes writes fail: the daemon serves and warns
	ST=$T/full.jsonl
	rm -f "$ST"
	start "$SMALL" -t 0 -S "$ST"
	req '{"cmd":"SET","session_id":"keep","status":"question"}' >/dev/null
	stop
	good=$(cat "$ST")
	(ulimit -f 1; exec "$SMALL" -s "$SOCK" -U '' -S "$ST" -t 0) 2>>"$LOG" &
	dpid=$!
	pids="$pids $dpid"
	waitfor accepts
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 5000 "$SOCK" > "$T/warnsub" &
	sp=$!
	waitfor conns 2
	long=$(printf '%0200d' 0)
	i=0
	while [ $i -lt 6 ]; do
		echo "{\"cmd\":\"SET\",\"session_id\":\"w$i\",\"status\":\"working\",\"working_dir\":\"/$long\"}"
		i=$((i + 1))
	done | "$SDC" "$SOCK" > "$T/wout"
	wait $sp
	check write-fail-served "$(grep -c '"ok":true' "$T/wout")" 6
	check write-fail-warned "$(grep -c '"type":"warn","message":"state file' "$T/warnsub")" 1
	check write-fail-still-answers "$(req '{"cmd":"GET","session_id":"keep"}' | grep -c '"status":"question"')" 1
	kill -9 "$dpid"
	waitfor gone "$dpid"
	case $(cat "$ST") in
	*'"session_id":"keep"'*) ok write-fail-old-state-intact ;;
	*) bad write-fail-old-state-intact "$(cat "$ST")" ;;
	esac
}

t_persist_compaction() {
	ST=$T/compact.jsonl
	rm -f "$ST"
	start "$SMALL" -t 0 -S "$ST"
	i=0
	while [ $i -lt 2000 ]; do
		echo "{\"cmd\":\"SET\",\"session_id\":\"c$((i % 5))\",\"status\":\"working\",\"priority\":$i}"
		i=$((i + 1))
	done | "$SDC" -w 20000 "$SOCK" > /dev/null
	# a file grows past the bound while its snapshot syncs; once that is
	# in, the next change starts the compaction due
	waitfor test ! -f "$ST.tmp"
	req '{"cmd":"SET","session_id":"c0","status":"working","priority":1}' > /dev/null
	waitfor test ! -f "$ST.tmp"
	size=$(wc -c < "$ST" | tr -d ' ')
	if [ "$size" -le $((8192 + 8 * 3400)) ]; then ok journal-bounded
	else bad journal-bounded "size $size"; fi
	restores compacted-restores "$SMALL"
	stop
}

# A reopened session is written at once, like any change; a table left
# empty at a clean stop leaves no file.
t_persist_reopen() {
	ST=$T/reopen.jsonl
	rm -f "$ST"
	start "$DEF" -t 0 -S "$ST"
	req '{"cmd":"SET","session_id":"x","status":"attention","working_dir":"/tmp","priority":3}' >/dev/null
	req '{"cmd":"RM","session_id":"x"}' >/dev/null
	req '{"cmd":"REOPEN","session_id":"x"}' >/dev/null
	restores reopen-kept "$DEF"
	req '{"cmd":"DELETE","session_id":"x"}' >/dev/null
	stop
	if [ ! -e "$ST" ]; then ok empty-state-removed; else bad empty-state-removed "$(cat "$ST")"; fi
}

# The state file's directory is removed while the daemon runs: made
# again by the next snapshot, here the one at a clean stop.
t_persist_dir_removed() {
	ST=$T/statedir/state
	rm -rf "$T/statedir"
	mkdir "$T/statedir"
	start "$DEF" -t 0 -S "$ST"
	req '{"cmd":"SET","session_id":"s1","status":"question"}' >/dev/null
	rm -rf "$T/statedir"
	req '{"cmd":"SET","session_id":"s2","status":"working"}' >/dev/null
	before=$(listnorm)
	stop
	start "$DEF" -t 0 -S "$ST"
	check state-dir-remade "$(listnorm)" "$before"
	stop
	rm -rf "$T/statedir"
}

# a compaction's sync waits on a gate: the daemon must serve meanwhile
newlog() { tail -n +$((logged + 1)) "$LOG"; }
logsays() { newlog | grep -q "$1"; }
syncfails() { # a daemon on $ST whose compaction's sync fails, and keeps failing
	rm -f "$ST" "$ST.tmp"
	logged=$(wc -l < "$LOG")
	syncstart "$ST"
	waitfor test -f "$ST.tmp"
	: > "$T/syncfail"
	: > "$GATE"
	waitfor test ! -f "$ST.tmp"
}
syncstart() { # state file
	: > "$GATE"	# open for the compaction at start
	DENV="env LD_PRELOAD=$T/slowsync.so SYNCGATE=$GATE SYNCFAIL=$T/syncfail SYNCCOUNT=$T/synccount ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0"
	start "$SMALL" -t 0 -S "$1"
	DENV=
	rm -f "$GATE"
	# one request a pass, each record ~250 bytes: past JOURNALMAX (8192
	# bytes here) a compaction starts
	long=$(printf '%0200d' 0)
	i=0
	while [ ! -f "$1.tmp" ] && [ $i -lt 60 ]; do
		echo "{\"cmd\":\"SET\",\"session_id\":\"y$((i % 4))\",\"status\":\"working\",\"working_dir\":\"/$i$long\"}" |
			"$SDC" -w 3000 "$SOCK" > /dev/null
		synced=$?	# the last one's: the child forked meanwhile
		i=$((i + 1))
	done
}

t_persist_sync_child() {
	if [ ! -f "$T/slowsync.so" ]; then
		skp sync-child "no shared object could be built to slow fsync"
		return
	fi
	ST=$T/sync.jsonl
	GATE=$T/syncgate
	logged=$(wc -l < "$LOG")
	rm -f "$ST" "$ST.tmp"
	syncstart "$ST"
	if waitfor test -f "$ST.tmp"; then ok sync-child-started
	else bad sync-child-started "no $ST.tmp"; fi
	# that request's connection was open at the fork: the child closed it
	check sync-open-client-closed "$synced" 0
	# served, and closed: the child holds no client's socket
	got=$(printf '%s\n' '{"cmd":"SET","session_id":"during","status":"question"}' |
		"$SDC" -w 3000 "$SOCK")
	check sync-serves-meanwhile "$?:$(echo "$got" | grep -c '"ok":true')" "0:1"
	check sync-hook-closed "$(printf '{"hook_event_name":"Stop","session_id":"h1","cwd":"/h"}' |
		"$SDC" -w 3000 "$SOCK"; echo $?)" 0
	# the file being synced is not written: the old one gets the change
	check sync-old-file-only "$(grep -c '"during"' "$ST") $(grep -c '"during"' "$ST.tmp")" "1 0"
	: > "$GATE"
	if waitfor test ! -f "$ST.tmp"; then ok sync-installed
	else bad sync-installed "$ST.tmp still there"; fi
	check sync-tail-copied "$(grep -c '"during"' "$ST")" 1
	req '{"cmd":"SET","session_id":"after","status":"working"}' > /dev/null
	check sync-journal-after "$(grep -c '"after"' "$ST")" 1
	restores sync-restores "$SMALL"
	stop

	# killed while the child syncs: the old file has every change
	rm -f "$ST" "$ST.tmp"
	syncstart "$ST"
	waitfor test -f "$ST.tmp"
	req '{"cmd":"SET","session_id":"during","status":"attention"}' > /dev/null
	# the orphaned child still syncs: it holds no socket a newcomer finds
	restores sync-killed-old-file-whole "$SMALL"
	: > "$GATE"
	stop
	check sync-no-failure "$(newlog | grep -c failed)" 0

	# the sync fails: told, retried, and the file is written again
	syncfails
	check sync-fail-told "$(newlog | grep -c 'sync failed: Input/output error; retrying')" 1
	# past JOURNALMAX still, but the retry waits for its timer (RETRYSECS,
	# 1 s here): twenty changes, one pass each, start no snapshot each
	: > "$T/synccount"
	i=0
	while [ $i -lt 20 ]; do
		req "{\"cmd\":\"SET\",\"session_id\":\"z\",\"status\":\"working\",\"priority\":$i}" > /dev/null
		i=$((i + 1))
	done
	n=$(wc -c < "$T/synccount" | tr -d ' ')
	if [ "$n" -le 10 ]; then ok sync-fail-waits-for-retry
	else bad sync-fail-waits-for-retry "$n syncs for 20 changes"; fi
	req '{"cmd":"SET","session_id":"meanwhile","status":"question"}' > /dev/null
	rm -f "$T/syncfail"
	if waitfor logsays 'written again'; then ok sync-fail-retried
	else bad sync-fail-retried "$(newlog)"; fi
	restores sync-fail-restores "$SMALL"
	stop

	# it fails at a clean stop too: said so, and the journal keeps all
	syncfails
	before=$(listnorm)
	stop
	if logsays 'sync failed: Input/output error; left as it was'; then ok sync-fail-at-stop-told
	else bad sync-fail-at-stop-told "$(newlog)"; fi
	rm -f "$T/syncfail"
	start "$SMALL" -t 0 -S "$ST"
	check sync-fail-at-stop-kept "$(listnorm)" "$before"
	stop
}

# plan usage: a fake command whose behaviour a file chooses; it reads the
# file before it counts, so a run that was counted has chosen already
fakeusage() {
	cat > "$T/fake-usage" <<FAKE
#!/bin/sh
m=\$(cat "$T/umode")
n=\$(cat "$T/ucount" 2>/dev/null || echo 0)
echo \$((n + 1)) > "$T/ucount"
case \$m in
ok) printf '{"five_hour":{"utilization":42.0,"resets_at":"2030-01-01T00:00:00+00:00"},"seven_day":{"utilization":7.5,"resets_at":null}}\n' ;;
ok2) printf '{"five_hour":{"utilization":50},"seven_day":{"utilization":8}}' ;;
garbage) echo 'not json' ;;
fail) echo 'partial' ; exit 6 ;;
down) exit 8 ;;
big) head -c 5000 /dev/zero | tr '\\\\0' x ;;
hang) sleep 30.3 ;;
grand) sleep 30.7 & printf '{"five_hour":{"utilization":1}}\n' ;;
esac
FAKE
	chmod +x "$T/fake-usage"
	rm -f "$T/ucount"
	echo "$1" > "$T/umode"
}
ucount() { cat "$T/ucount" 2>/dev/null || echo 0; }
ucountis() { test "$(ucount)" = "$1"; }
U5='"five_hour":{"utilization":42.0,"resets_at":"2030-01-01T00:00:00+00:00"},"seven_day":{"utilization":7.5,"resets_at":null},"source":"command","fetched_at":T'

t_usage_fetch() {
	fakeusage ok
	start "$SMALL" -t 0 -U "$T/fake-usage" -u 1
	sleep 1.2
	check usage-no-subscriber-no-fetch "$(ucount)" 0
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 5000 "$SOCK" | norm > "$T/us1" &
	s1=$!
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 5000 "$SOCK" | norm > "$T/us2" &
	s2=$!
	wait $s1 $s2
	check usage-broadcast-1 "$(tail -n 1 "$T/us1")" "{\"version\":1,\"type\":\"usage\",\"usage\":{$U5}}"
	check usage-broadcast-2 "$(tail -n 1 "$T/us2")" "{\"version\":1,\"type\":\"usage\",\"usage\":{$U5}}"
	check usage-fetched-once "$(ucount)" 1
	expect usage-ok '{"cmd":"USAGE"}' "$OK{\"state\":\"ok\",\"fetched_at\":T,\"usage\":{$U5}}}"
	check usage-on-subscribe "$(printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 3000 "$SOCK" | norm | tail -n 1)" \
		"{\"version\":1,\"type\":\"usage\",\"usage\":{$U5}}"
	expect usage-format '{"cmd":"FORMAT","format":"5h {usage.5h}% 7d {usage.7d}%{? none {usage.9d}}","raw":true}' "5h 42% 7d 8%"
	# failures keep the last good data and warn
	for m in garbage fail big; do
		fakeusage $m
		printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 3 -w 5000 "$SOCK" | norm > "$T/uw" &
		sp=$!
		wait $sp
		check "usage-$m-warns" "$(tail -n 1 "$T/uw" | cut -c1-48)" '{"version":1,"type":"warn","message":"usage comm'
		expect "usage-$m-keeps-data" '{"cmd":"USAGE"}' "$OK{\"state\":\"unavailable\",\"fetched_at\":T,\"usage\":{$U5}}}"
	done
	stop
}

# hookretries MODE: a daemon whose usage command fails as MODE says, with
# a subscriber ($sp) that saw the first fetch, then 20 hook events
hookretries() {
	fakeusage "$1"
	start "$DEF" -t 0 -U "$T/fake-usage" -u 60
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -w 9000 "$SOCK" > /dev/null &
	sp=$!
	waitfor ucountis 1
	i=0
	while [ $i -lt 20 ]; do
		sendhook PostToolUse bk ',"tool_name":"Bash"'
		sleep 0.1
		i=$((i + 1))
	done
}

t_usage_fail_backoff() {
	# a failed fetch is retried early once, on a hook event, not on
	# every one; a rate-limited one (exit 6) not at all: a rate-limited
	# endpoint would only be hit harder
	hookretries down
	check usage-down-retried-early "$(ucount)" 2
	kill $sp 2>/dev/null
	wait $sp 2>/dev/null
	stop
	hookretries fail
	check usage-fail-retried-early "$(ucount)" 1
	kill $sp 2>/dev/null
	wait $sp 2>/dev/null
	waitfor conns 1	# the daemon saw it go: nobody watches
	# the next one to watch, with nobody watching since, is told again
	got=$(printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 5000 "$SOCK" | tail -n 1 | cut -c1-48)
	check usage-fail-resubscribe-warned "$got" '{"version":1,"type":"warn","message":"usage comm'
	stop
}

t_usage_backoff() {
	# each failed fetch in a row doubles the wait (-u 1: 2 s, then 4 s);
	# a good fetch brings the interval back. Slowness only delays the
	# fetches, so the counts below cannot be reached early by a slow run.
	fakeusage down
	start "$DEF" -t 0 -U "$T/fake-usage" -u 1
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -w 30000 "$SOCK" > /dev/null &
	sp=$!
	waitfor ucountis 1
	sleep 1
	check usage-backoff-2s "$(ucount)" 1
	waitfor ucountis 2
	echo ok > "$T/umode"
	sleep 2
	check usage-backoff-4s "$(ucount)" 2
	waitfor ucountis 3
	# 1 s apart again: 5 well within waitfor's 5 s (not 4 + 8 s later)
	if waitfor ucountis 5; then got=yes; else got="no: $(ucount)"; fi
	check usage-backoff-success-resets "$got" yes
	kill $sp 2>/dev/null
	wait $sp 2>/dev/null
	stop
}

t_usage_beside() {
	# without -U, the sessiond-usage beside the daemon runs (here one
	# started as ./sessiond, from a directory -d leaves), else PATH's
	fakeusage ok
	mkdir -p "$T/beside"
	cp "$DEF" "$T/beside/sessiond"
	cp "$T/fake-usage" "$T/beside/sessiond-usage"
	(cd "$T/beside" && PATH=/usr/bin:/bin exec ./sessiond -d -s "$SOCK" -S '' -t 0 2>>"$LOG")
	check usage-beside "$(printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 5000 "$SOCK" | norm | tail -n 1)" \
		"{\"version\":1,\"type\":\"usage\",\"usage\":{$U5}}"
	req '{"cmd":"STOP","confirmed":true}' > /dev/null
	waitfor test ! -S "$SOCK"
	rm -f "$T/beside/sessiond-usage"
	mkdir -p "$T/pathbin"
	printf '#!/bin/sh\necho %s\n' "'{\"five_hour\":{\"utilization\":3}}'" > "$T/pathbin/sessiond-usage"
	chmod +x "$T/pathbin/sessiond-usage"
	(cd "$T/beside" && PATH=$T/pathbin:/usr/bin:/bin exec ./sessiond -d -s "$SOCK" -S '' -t 0 2>>"$LOG")
	check usage-in-path "$(printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 5000 "$SOCK" | norm | tail -n 1)" \
		'{"version":1,"type":"usage","usage":{"five_hour":{"utilization":3},"source":"command","fetched_at":T}}'
	req '{"cmd":"STOP","confirmed":true}' > /dev/null
	waitfor test ! -S "$SOCK"
}

# The usage command gets stdin, stdout and stderr and no other of the
# daemon's descriptors, and the signals the daemon ignores as defaults.
t_usage_child() {
	if [ ! -d /proc/self/fd ]; then
		skp usage-child-fds "no /proc/self/fd"
		return
	fi
	start "$DEF" -t 0 -U "ls /proc/self/fd > $T/ufds;
		sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status > $T/usig;
		echo '{\"five_hour\":{\"utilization\":1}}'"
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 5000 "$SOCK" > /dev/null
	check usage-child-fds "$(tr '\n' ' ' < "$T/ufds")" "0 1 2 3 "
	ign=$((0x$(cat "$T/usig")))
	check usage-child-signals "hup $((ign & 1)) pipe $((ign >> 12 & 1)) xfsz $((ign >> 24 & 1))" \
		"hup 0 pipe 0 xfsz 0"
	stop
}

t_usage_hang() {
	fakeusage hang
	start "$SMALL" -t 0 -U "$T/fake-usage" -u 1
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 8000 "$SOCK" > "$T/uh" &
	sp=$!
	waitfor test "$(ucount)" = 1
	check usage-hang-serves "$(req '{"cmd":"GET","session_id":"x"}')" \
		'{"version":1,"ok":false,"error":"session not found: x"}'
	wait $sp
	check usage-hang-killed "$(tail -n 1 "$T/uh")" '{"version":1,"type":"warn","message":"usage command timed out"}'
	if command -v ps >/dev/null 2>&1; then haveps=1; else haveps=0; fi
	if [ $haveps = 1 ]; then
		check usage-hang-no-sleeper "$(ps -eo args | grep -c '^sleep 30.3$')" 0
	else
		skp usage-hang-no-sleeper "ps (procps) not found"
	fi
	fakeusage grand
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 3000 "$SOCK" | norm > "$T/ug"
	check usage-grandchild "$(tail -n 1 "$T/ug")" \
		'{"version":1,"type":"usage","usage":{"five_hour":{"utilization":1},"source":"command","fetched_at":T}}'
	if [ $haveps = 1 ]; then
		check usage-grandchild-killed "$(ps -eo args | grep -c '^sleep 30.7$')" 0
		check usage-no-child-left "$(ps -o pid= --ppid "$dpid" | wc -l | tr -d ' ')" 0
	else
		skp usage-grandchild-killed "ps (procps) not found"
		skp usage-no-child-left "ps (procps) not found"
	fi
	stop
}

t_usage_statusline() {
	fakeusage ok2
	start "$DEF" -t 0 -U "$T/fake-usage" -u 60
	r=$(date +%s)
	r=$((r + 3590))
	got=$(req "{\"session_id\":\"sl\",\"cwd\":\"/tmp\",\"model\":{\"id\":\"m\"},\"version\":\"2.1.90\",\"rate_limits\":{\"five_hour\":{\"used_percentage\":23.5,\"resets_at\":$r},\"seven_day\":{\"used_percentage\":41}}}")
	check statusline-reply-lines "$(printf '%s\n' "$got" | wc -l | tr -d ' ')" 1
	iso=$(date -u -d "@$r" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo X)
	want="{\"five_hour\":{\"utilization\":23.50,\"resets_at\":\"$iso\"},\"seven_day\":{\"utilization\":41.00,\"resets_at\":null},\"source\":\"statusline\",\"fetched_at\":T}"
	expect usage-from-statusline '{"cmd":"USAGE"}' "$OK{\"state\":\"ok\",\"fetched_at\":T,\"usage\":$want}}"
	check usage-fresh-no-fetch "$(printf '{"cmd":"SUB"}\n' | "$SDC" -k -n 2 -w 3000 "$SOCK" | norm | tail -n 1)" \
		"{\"version\":1,\"type\":\"usage\",\"usage\":$want}"
	sleep 0.5
	check usage-fresh-count "$(ucount)" 0
	check usage-reset-format "$(req '{"cmd":"FORMAT","format":"{usage.5h}% {usage.5h.reset}","raw":true}')" "24% 59m"
	# a window the payload leaves out is kept while its period lasts
	r7=$((r + 86400)); iso7=$(date -u -d "@$r7" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo X)
	sl() { req "{\"session_id\":\"sl\",\"rate_limits\":{$1}}" >/dev/null; }
	sl "\"five_hour\":{\"used_percentage\":23.5,\"resets_at\":$r},\"seven_day\":{\"used_percentage\":41,\"resets_at\":$r7}"
	sl "\"five_hour\":{\"used_percentage\":30,\"resets_at\":$r}"
	want="{\"five_hour\":{\"utilization\":30.00,\"resets_at\":\"$iso\"},\"seven_day\":{\"utilization\":41.00,\"resets_at\":\"$iso7\"},\"source\":\"statusline\",\"fetched_at\":T}"
	expect usage-window-kept '{"cmd":"USAGE"}' "$OK{\"state\":\"ok\",\"fetched_at\":T,\"usage\":$want}}"
	sl "\"seven_day\":{\"used_percentage\":42,\"resets_at\":$r7},\"five_hour\":{\"used_percentage\":-1}"
	want="{\"five_hour\":{\"utilization\":30.00,\"resets_at\":\"$iso\"},\"seven_day\":{\"utilization\":42.00,\"resets_at\":\"$iso7\"},\"source\":\"statusline\",\"fetched_at\":T}"
	expect usage-window-kept-first '{"cmd":"USAGE"}' "$OK{\"state\":\"ok\",\"fetched_at\":T,\"usage\":$want}}"
	past=$((r - 7200))
	sl "\"five_hour\":{\"used_percentage\":5,\"resets_at\":$past},\"seven_day\":{\"used_percentage\":43,\"resets_at\":$r7}"
	sl "\"seven_day\":{\"used_percentage\":44,\"resets_at\":$r7}"
	want="{\"seven_day\":{\"utilization\":44.00,\"resets_at\":\"$iso7\"},\"source\":\"statusline\",\"fetched_at\":T}"
	expect usage-window-ended-dropped '{"cmd":"USAGE"}' "$OK{\"state\":\"ok\",\"fetched_at\":T,\"usage\":$want}}"
	sl ""
	expect usage-no-window-no-change '{"cmd":"USAGE"}' "$OK{\"state\":\"ok\",\"fetched_at\":T,\"usage\":$want}}"
	sl "\"five_hour\":{\"used_percentage\":-0.0,\"resets_at\":$r}"
	check usage-minus-zero "$(req '{"cmd":"FORMAT","format":"{usage.5h}% {usage.7d}%","raw":true}')" "0% 44%"
	stop
}

t_usage_kept_window_ages() {
	# a window kept from the fetched usage is as old as that fetch: the
	# status line's other window does not make it look fresh, and the
	# command runs again once the interval has passed
	fakeusage ok
	start "$DEF" -t 0 -U "$T/fake-usage" -u 2
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -w 9000 "$SOCK" > /dev/null &
	sp=$!
	waitfor ucountis 1 || bad kept-window-first-fetch "$(ucount)"
	r=$(($(date +%s) + 3600))
	i=0
	# 6 s of status lines, seven_day only: the fetch timer runs in ms,
	# the age in whole seconds, so a fetch may wait for a second round
	while [ $i -lt 24 ]; do
		req "{\"session_id\":\"kw\",\"rate_limits\":{\"seven_day\":{\"used_percentage\":9,\"resets_at\":$r}}}" > /dev/null
		sleep 0.25
		i=$((i + 1))
	done
	check kept-window-five-hour "$(req '{"cmd":"USAGE"}' | grep -o '"five_hour":{"utilization":42.0,"resets_at":"2030-01-01T00:00:00+00:00"}')" \
		'"five_hour":{"utilization":42.0,"resets_at":"2030-01-01T00:00:00+00:00"}'
	if [ "$(ucount)" -ge 2 ]; then ok kept-window-fetched-again
	else bad kept-window-fetched-again "the command ran $(ucount) time(s) in 6 s, interval 2 s"; fi
	kill $sp 2>/dev/null
	wait $sp 2>/dev/null
	stop
}

t_usage_window_missing() {
	# a status line with one window and none kept is not the whole
	# usage: the command still runs, and its other window is kept,
	# even one whose reset time is not known
	fakeusage ok
	start "$DEF" -t 0 -U "$T/fake-usage" -u 2
	r=$(($(date +%s) + 3600))
	five="{\"session_id\":\"wm\",\"rate_limits\":{\"five_hour\":{\"used_percentage\":5,\"resets_at\":$r}}}"
	req "$five" > /dev/null
	check window-missing-dated "$(printf '{"cmd":"USAGE"}\n' | "$SDC" "$SOCK" | grep -c '"fetched_at":0[,}]')" 0
	printf '{"cmd":"SUB"}\n' | "$SDC" -k -w 9000 "$SOCK" > /dev/null &
	sp=$!
	i=0
	while [ $i -lt 12 ]; do # 3 s of status lines, five_hour only
		req "$five" > /dev/null
		sleep 0.25
		i=$((i + 1))
	done
	if [ "$(ucount)" -ge 1 ]; then ok window-missing-fetched
	else bad window-missing-fetched "the command never ran in 3 s, interval 2 s"; fi
	kill $sp 2>/dev/null # no more fetches: the one in flight lands
	wait $sp 2>/dev/null
	sleep 0.5
	req "$five" > /dev/null
	check window-missing-kept "$(req '{"cmd":"USAGE"}' | grep -o '"five_hour":{"utilization":5.00,[^}]*},"seven_day":{"utilization":7.5,"resets_at":null}')" \
		"\"five_hour\":{\"utilization\":5.00,\"resets_at\":\"$(date -u -d "@$r" +%Y-%m-%dT%H:%M:%SZ)\"},\"seven_day\":{\"utilization\":7.5,\"resets_at\":null}"
	stop
}

# Claude Code hook payloads, shaped as Claude Code sends them
hookline() { # event session extra-json-fields
	printf '{"session_id":"%s","transcript_path":"/home/u/.claude/projects/x/%s.jsonl","cwd":"/home/u/src/api","permission_mode":"default","hook_event_name":"%s"%s}' "$2" "$2" "$1" "$3"
}
status_of() {
	req "{\"cmd\":\"GET\",\"session_id\":\"$1\"}" | sed -n 's/.*"status":"\([a-z]*\)","working_dir".*/\1/p'
}
msg_of() {
	req "{\"cmd\":\"GET\",\"session_id\":\"$1\"}" | sed -n 's/.*"message":"\([^"]*\)".*/\1/p'
}

# send EVENT SESSION EXTRA: through socat -u as a hook would, else sdc;
# the reply must be empty
sendhook() {
	if command -v socat >/dev/null 2>&1; then
		out=$(hookline "$1" "$2" "$3" | socat -u - UNIX-CONNECT:"$SOCK" 2>&1)
		back=$(hookline "$1" "$2" "$3" | socat -t 1 - UNIX-CONNECT:"$SOCK" | wc -c | tr -d ' ')
	else
		out=""
		back=$(hookline "$1" "$2" "$3" | "$SDC" "$SOCK" | wc -c | tr -d ' ')
	fi
	[ -z "$out" ] && [ "$back" = 0 ]
}

t_hooks() {
	start "$DEF" -t 0
	S=h1
	if sendhook SessionStart $S ',"source":"startup","model":"claude-opus-4-5"'; then ok hook-no-reply
	else bad hook-no-reply "$out / $back bytes back"; fi
	check hook-sessionstart "$(status_of $S)" attention
	check hook-cwd "$(req "{\"cmd\":\"GET\",\"session_id\":\"$S\"}" | grep -c '"working_dir":"/home/u/src/api"')" 1
	sendhook UserPromptSubmit $S ',"prompt":"fix the bug"'
	check hook-prompt "$(status_of $S)" working
	big=$(head -c 300000 /dev/zero | tr '\0' a)
	sendhook PreToolUse $S ",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"echo $big\",\"description\":\"x\"},\"tool_use_id\":\"t1\""
	check hook-bash-huge-stays-working "$(status_of $S)" working
	sendhook PreToolUse $S ',"tool_name":"AskUserQuestion","tool_input":{"questions":[{"question":"Which?","options":[{"label":"a"}]}]},"tool_use_id":"t2"'
	check hook-askuserquestion "$(status_of $S)" question
	sendhook PostToolUse $S ",\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":\"/x\",\"content\":\"$big\"},\"tool_response\":{\"success\":true},\"tool_use_id\":\"t3\""
	check hook-posttooluse-huge "$(status_of $S)" working
	sendhook PreToolUse $S ',"tool_name":"Exit\u0050lanMode","tool_input":{"plan":"p"}'
	check hook-exitplanmode-escaped "$(status_of $S)" question
	sendhook PostToolUse $S ',"tool_name":"Bash"'
	sendhook PreToolUse $S ',"tool_name":"ExitPlanModeX"'
	check hook-matcher-whole-value "$(status_of $S)" working
	sendhook PreToolUse $S ',"tool_name":"ExitPlanMode","tool_input":{"plan":"p"}'
	check hook-exitplanmode "$(status_of $S)" question
	sendhook PermissionRequest $S ',"tool_name":"Bash","tool_input":{"command":"rm -rf build"}'
	check hook-permissionrequest "$(status_of $S)" attention
	# Claude Code asks its questions and plan approval through the
	# permission dialog too
	sendhook PermissionRequest $S ',"tool_name":"AskUserQuestion","tool_input":{"questions":[]}'
	check hook-permission-question "$(status_of $S)" question
	sendhook PermissionRequest $S ',"tool_name":"Bash"'
	sendhook PermissionRequest $S ',"tool_name":"ExitPlanMode","tool_input":{"plan":"p"}'
	check hook-permission-plan "$(status_of $S)" question
	sendhook PermissionRequest $S ',"tool_name":"Bash"'
	sendhook PostToolUseFailure $S ',"tool_name":"Bash","tool_input":{},"error":"exit 1","is_interrupt":false'
	check hook-posttoolusefailure "$(status_of $S)" working
	sendhook PostToolUseFailure $S ',"tool_name":"Bash","tool_input":{},"error":"Interrupted","is_interrupt":true'
	check hook-interrupt-waits "$(status_of $S)" attention
	sendhook PostToolUseFailure $S ',"tool_name":"Bash","is_interrupt":1'
	check hook-interrupt-not-true "$(status_of $S)" working
	sendhook Notification $S ',"message":"Claude needs your permission to use Bash","notification_type":"permission_prompt"'
	check hook-notification-permission "$(status_of $S) $(msg_of $S)" "attention Claude needs your permission to use Bash"
	sendhook UserPromptSubmit $S ',"prompt":"go"'
	check hook-working-clears-message "$(msg_of $S)" ""
	sendhook Notification $S ',"message":"Claude is waiting for your input","notification_type":"idle_prompt"'
	check hook-notification-idle "$(status_of $S) $(msg_of $S)" "attention Claude is waiting for your input"
	sendhook Notification $S ',"message":"Answer the form","notification_type":"elicitation_dialog"'
	check hook-notification-elicitation "$(status_of $S)" question
	sendhook Notification $S ',"message":"Logged in","notification_type":"auth_success"'
	check hook-notification-other-unmapped "$(status_of $S)" question
	sendhook SubagentStop $S ',"agent_id":"a1","agent_type":"Explore","stop_hook_active":false'
	check hook-subagent-ignored "$(status_of $S)" question
	sendhook Stop $S ',"agent_id":"a1","agent_type":"Explore","stop_hook_active":false'
	check hook-subagent-stop-ignored "$(status_of $S)" question
	sendhook Stop $S ',"stop_hook_active":false,"last_assistant_message":"Done.\nAll tests pass."'
	check hook-stop "$(status_of $S)" attention
	sendhook StopFailure $S ',"error":"rate_limit"'
	check hook-stopfailure "$(status_of $S) $(msg_of $S)" "attention rate_limit"
	sendhook PermissionRequest $S ',"tool_name":"Bash","message":"May I run make?"'
	check hook-any-message "$(status_of $S) $(msg_of $S)" "attention May I run make?"
	sendhook StopFailure $S ',"error":"rate_limit"'
	sendhook SessionStart $S ',"source":"compact"'
	check hook-compact-activity-only "$(status_of $S)" attention
	req "{\"cmd\":\"SET\",\"session_id\":\"$S\",\"status\":\"attention\",\"priority\":9}" >/dev/null
	check set-same-status-keeps-message "$(msg_of $S)" rate_limit
	req "{\"cmd\":\"SET\",\"session_id\":\"$S\",\"status\":\"question\",\"priority\":9}" >/dev/null
	check set-new-status-clears-message "$(msg_of $S)" ""
	sendhook UserPromptSubmit $S ',"prompt":"x"'
	check hook-keeps-priority "$(req "{\"cmd\":\"GET\",\"session_id\":\"$S\"}" | grep -c '"priority":9,')" 1
	sendhook StopFailure $S ',"error":"rate_limit"'
	sendhook SessionEnd $S ',"reason":"prompt_input_exit"'
	check hook-sessionend "$(status_of $S)" closed
	sendhook SessionStart $S ',"source":"resume"'
	check hook-new-status-clears-message "$(status_of $S) [$(msg_of $S)]" "attention []"
	sendhook SessionEnd $S ',"reason":"prompt_input_exit"'
	sendhook SessionEnd never ',"reason":"clear"'
	check hook-sessionend-unknown-ignored "$(req '{"cmd":"GET","session_id":"never"}')" \
		'{"version":1,"ok":false,"error":"session not found: never"}'
	# a payload over LINEMAX still maps from its leading fields
	huge=$(head -c 200000 /dev/zero | tr '\0' b)
	sendhook PreToolUse h2 ",\"tool_name\":\"AskUserQuestion\",\"tool_input\":{\"questions\":\"$huge\"}"
	check hook-overlong-mapped "$(status_of h2)" question
	# version strings and odd fields never make a hook an error
	printf '{"session_id":"h3","hook_event_name":"UserPromptSubmit","version":"2.1.90","cwd":"/w","prompt":"\\u00e9","x":[1,{"y":null}]}' | "$SDC" "$SOCK" > "$T/h3"
	check hook-odd-fields "$(wc -c < "$T/h3" | tr -d ' ') $(status_of h3)" "0 working"
	printf '{"hook_event_name":"Stop","cwd":"/w"}\n' | "$SDC" "$SOCK" > "$T/h4"
	check hook-no-session-id "$(wc -c < "$T/h4" | tr -d ' ') $(grep -c 'without session_id' "$LOG")" "0 1"
	stop
}

# a subagent (agent_id) may make a working session wait, and the wait
# ends when every subagent that made it goes on; the parent's own waits
# and its turn are not theirs to end
t_hook_subagent() {
	start "$DEF" -t 0
	S=sa
	A1=',"agent_id":"a1","agent_type":"general-purpose"'
	A2=',"agent_id":"a2","agent_type":"general-purpose"'
	sendhook PermissionRequest $S ",\"tool_name\":\"Bash\"$A1"
	check sub-creates-nothing "$(req "{\"cmd\":\"GET\",\"session_id\":\"$S\"}")" \
		"{\"version\":1,\"ok\":false,\"error\":\"session not found: $S\"}"
	sendhook UserPromptSubmit $S ',"prompt":"review this"'
	sendhook PreToolUse $S ",\"tool_name\":\"Bash\"$A1"
	check sub-pretooluse-working "$(status_of $S)" working
	sendhook PermissionRequest $S ",\"tool_name\":\"Bash\",\"cwd\":\"/elsewhere\"$A1"
	check sub-permission-waits "$(status_of $S)" attention
	check sub-keeps-parent-cwd "$(req "{\"cmd\":\"GET\",\"session_id\":\"$S\"}" | grep -c '"working_dir":"/home/u/src/api"')" 1
	sendhook Notification $S ',"message":"Claude needs your permission to use Bash","notification_type":"permission_prompt"'
	sendhook PostToolUse $S ",\"tool_name\":\"Read\"$A2"
	check sub-other-cannot-end-wait "$(status_of $S)" attention
	sendhook PermissionRequest $S ",\"tool_name\":\"Edit\"$A2"
	sendhook PostToolUse $S ",\"tool_name\":\"Bash\"$A1"
	check sub-waits-for-every-subagent "$(status_of $S)" attention
	sendhook PostToolUse $S ',"tool_name":"Read"'
	check sub-parent-tool-keeps-sub-wait "$(status_of $S)" attention
	sendhook PostToolUse $S ",\"tool_name\":\"Edit\"$A2"
	check sub-last-ends-wait "$(status_of $S)" working
	sendhook PreToolUse $S ",\"tool_name\":\"AskUserQuestion\"$A2"
	check sub-question "$(status_of $S)" question
	sendhook Stop $S ",\"stop_hook_active\":false$A2"
	check sub-stop-ignored "$(status_of $S)" question
	sendhook PostToolUseFailure $S ",\"tool_name\":\"AskUserQuestion\",\"is_interrupt\":false$A2"
	check sub-failure-ends-own-wait "$(status_of $S)" working
	sendhook PermissionRequest $S ",\"tool_name\":\"Bash\"$A1"
	sendhook PermissionRequest $S ',"tool_name":"Write"'
	sendhook PostToolUse $S ",\"tool_name\":\"Bash\"$A1"
	check sub-parent-own-wait-kept "$(status_of $S)" attention
	sendhook PostToolUse $S ',"tool_name":"Write"'
	sendhook Stop $S ',"stop_hook_active":false'
	sendhook PostToolUse $S ",\"tool_name\":\"Bash\"$A1"
	check sub-after-parent-stop "$(status_of $S)" attention
	sendhook PermissionRequest $S ",\"tool_name\":\"Bash\"$A1"
	sendhook PostToolUse $S ",\"tool_name\":\"Bash\"$A1"
	check sub-cannot-take-parent-wait "$(status_of $S)" attention
	sendhook UserPromptSubmit $S ',"prompt":"go on"'
	sendhook PermissionRequest $S ",\"tool_name\":\"Bash\"$A1"
	sendhook Stop $S ',"stop_hook_active":false'
	sendhook PostToolUse $S ",\"tool_name\":\"Bash\"$A1"
	check sub-parent-stop-takes-wait "$(status_of $S)" attention
	sendhook UserPromptSubmit $S ',"prompt":"more"'
	sendhook Stop $S ",\"stop_hook_active\":false$A1"
	sendhook SessionEnd $S ",\"reason\":\"other\"$A1"
	check sub-lifecycle-ignored "$(status_of $S)" working
	# SUBWAITMAX subagents are waited for; one more is not recorded
	max=$(sed -n 's/^#define SUBWAITMAX *\([0-9]*\).*/\1/p' "$top/config.def.h")
	i=0
	while [ $i -le "$max" ]; do
		sendhook PermissionRequest $S ",\"tool_name\":\"Bash\",\"agent_id\":\"m$i\""
		i=$((i + 1))
	done
	i=1
	while [ $i -le "$max" ]; do
		sendhook PostToolUse $S ",\"tool_name\":\"Bash\",\"agent_id\":\"m$i\""
		check "sub-many-waits-$i" "$(status_of $S)" attention
		i=$((i + 1))
	done
	sendhook PostToolUse $S ',"tool_name":"Bash","agent_id":"m0"'
	check sub-many-last-ends "$(status_of $S)" working
	# a subagent that stops (its prompt refused, it gave up) ends its
	# wait; a SubagentStop without agent_id (older Claude Code) is nobody's
	sendhook PermissionRequest $S ",\"tool_name\":\"Bash\"$A1"
	sendhook SubagentStop $S ',"stop_hook_active":false'
	check sub-stop-unsaid-keeps-wait "$(status_of $S)" attention
	sendhook SubagentStop $S ",\"stop_hook_active\":false$A2"
	check sub-stop-other-keeps-wait "$(status_of $S)" attention
	sendhook SubagentStop $S ",\"stop_hook_active\":false$A1"
	check sub-stop-ends-own-wait "$(status_of $S)" working
	sendhook Stop $S ',"stop_hook_active":false'
	sendhook SubagentStop $S ',"stop_hook_active":false'
	check sub-stop-unsaid-keeps-parent-wait "$(status_of $S)" attention
	stop
}

t_statusline() {
	start "$DEF" -t 0
	req '{"cmd":"SET","session_id":"w1","status":"working","working_dir":"/src/web"}' \
	    '{"cmd":"SET","session_id":"a1","status":"attention","working_dir":"/src/api"}' \
	    '{"cmd":"SET","session_id":"a2","status":"attention","working_dir":"/src/cli"}' >/dev/null
	payload='{"session_id":"w1","transcript_path":"/t.jsonl","cwd":"/src/web","model":{"id":"claude-opus-4-5","display_name":"Opus"},"workspace":{"current_dir":"/src/web","project_dir":"/src/web"},"version":"2.1.90","output_style":{"name":"default"},"cost":{"total_cost_usd":0.01},"context_window":{"used_percentage":12}}'
	check statusline-text "$(printf '%s' "$payload" | "$SDC" "$SOCK")" "working | 2 waiting: api"
	old='{"session_id":"a2","hook_event_name":"Status","cwd":"/src/cli","model":{"id":"m"}}'
	check statusline-old-status-event "$(printf '%s\n' "$old" | "$SDC" "$SOCK")" "attention | 2 waiting: api"
	check statusline-no-state-change "$(status_of w1)" working
	pad=$(head -c 70000 /dev/zero | tr '\0' p)
	check statusline-overlong-unknown "$(printf '{"session_id":"w1","cwd":"/src/web","pad":"%s"}\n' "$pad" | "$SDC" "$SOCK")" \
		'{"version":1,"ok":false,"error":"line too long"}'
	check statusline-overlong-status-event "$(printf '{"session_id":"w1","hook_event_name":"Status","pad":"%s"}' "$pad" | "$SDC" "$SOCK")" \
		"working | 2 waiting: api"
	check overlong-no-id "$(printf '{"cwd":"/x","pad":"%s"}\n' "$pad" | "$SDC" "$SOCK")" \
		'{"version":1,"ok":false,"error":"line too long"}'
	check statusline-unknown-session "$(printf '{"session_id":"zz","cwd":"/"}\n' | "$SDC" "$SOCK")" " | 2 waiting: api"
	expect format-counts '{"cmd":"FORMAT","format":"{?A{attention} }{?Q{question} }{?W{working}} of {active}/{sessions}","raw":true}' \
		"A2 W1 of 3/3"
	expect format-json '{"cmd":"FORMAT","format":"{{\"text\":\"{top.dir|json}\",\"class\":\"{top.status}\"}}","raw":true}' \
		'{"text":"api","class":"attention"}'
	expect format-data '{"cmd":"FORMAT","format":"{top.id} {self.status}","session_id":"w1"}' \
		"$OK\"a1 working\"}"
	expect format-missing '{"cmd":"FORMAT","format":"[{nope}{self.dir}{usage.5h}]"}' "$OK\"[]\"}"
	expect format-unterminated '{"cmd":"FORMAT","format":"x {top.dir","raw":true}' "x {top.dir"
	req '{"cmd":"SET","session_id":"a1","status":"attention","working_dir":"/src/x\u001b]0;evil\u0007"}' >/dev/null
	expect format-no-control-chars '{"cmd":"FORMAT","format":"{self.dir}","session_id":"a1","raw":true}' "x?]0;evil?"
	req '{"cmd":"SET","session_id":"a1","status":"attention","working_dir":"/src/\u009b2J\u0085\u00a0"}' >/dev/null
	expect format-no-c1-controls '{"cmd":"FORMAT","format":"{self.dir}","session_id":"a1","raw":true}' "$(printf '?2J?\302\240')"
	# a {?...} part that would not fit in TEXTMAX is left out, alone
	long=/$(head -c 3000 /dev/zero | tr '\0' p)
	req "{\"cmd\":\"SET\",\"session_id\":\"a1\",\"status\":\"attention\",\"working_dir\":\"$long\"}" >/dev/null
	expect format-part-past-textmax '{"cmd":"FORMAT","format":"{self.path}{?{self.path}}","session_id":"a1","raw":true}' "$long"
	req '{"cmd":"SET","session_id":"a1","status":"attention","priority":5}' >/dev/null
	expect format-priority-ranks '{"cmd":"FORMAT","format":"{top.id}","raw":true}' "a1"
	stop
}
