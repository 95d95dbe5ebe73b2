#!/bin/sh
# See LICENSE file for copyright and license details.
#
# test/setup.sh: sessiond-setup against settings files in a scratch
# directory (HOME points there too, so ~/.claude is never touched). The
# main fixture is laid out as Claude Code writes settings.json
# (JSON.stringify(settings, null, 2)); install then uninstall must give it
# back byte for byte. Says SKIP when python3 is missing. KEEP=1 keeps the
# scratch directory.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
setup=$top/sessiond-setup
T=$(mktemp -d "${TMPDIR:-/tmp}/sessiond-setup-test.XXXXXX") || exit 1
pass=0
fail=0
skip=0

cleanup() {
	[ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok()   { pass=$((pass + 1)); echo "PASS $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; shift; for l; do echo "     $l"; done; }
skp()  { skip=$((skip + 1)); echo "SKIP $1: $2"; }

HOME=$T/home
export HOME
unset CLAUDE_CONFIG_DIR
mkdir -p "$HOME"

# install asks `claude --version`: a stub answers, as a current one would
# unless CLAUDE_STUB says otherwise (a version, or "fail")
mkdir -p "$T/bin"
printf '%s\n' '#!/bin/sh' \
    'case ${CLAUDE_STUB:-2.1.233} in' \
    "fail) echo 'claude: cannot start' >&2; exit 1 ;;" \
    '*) echo "${CLAUDE_STUB:-2.1.233} (Claude Code)" ;;' \
    'esac' > "$T/bin/claude"
chmod +x "$T/bin/claude"
PATH=$T/bin:$PATH
export PATH

# A settings file as Claude Code writes it: other keys, other hooks on two
# of our events, an empty event array that must stay, escapes, numbers in
# forms a re-encoder would change.
cat > "$T/claude.json" <<'EOF'
{
  "$schema": "https://json.schemastore.org/claude-code-settings.json",
  "model": "opus",
  "env": {
    "GREETING": "grüß \"dich\" \\ \u0001 \ud800 😀",
    "SMALL": 1e-7,
    "BIG": 1e+21
  },
  "permissions": {
    "allow": [
      "Bash(ls:*)",
      "Read"
    ],
    "deny": []
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/guard.sh",
            "timeout": 30
          }
        ]
      }
    ],
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "notify-send done"
          }
        ]
      }
    ],
    "PreCompact": []
  },
  "feedbackSurveyState": {
    "lastShownTime": 1754000000000.5
  },
  "includeCoAuthoredBy": false,
  "cleanupPeriodDays": null
}
EOF

# Prints what a settings file holds of ours: one line per hook entry
# (event, matcher, command, timeout, async) and the statusLine, sorted.
ours() {
	python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
out = []
for ev, groups in d.get("hooks", {}).items():
	for g in groups:
		for h in g.get("hooks", []):
			if "sessiond-hook" in h.get("command", ""):
				out.append("%s %s %s %s %s" % (ev, g.get("matcher", "-"),
				    h["command"], h.get("timeout"), h.get("async", "sync")))
sl = d.get("statusLine")
if sl:
	out.append("statusLine %s %s %s" % (sl.get("command"), sl.get("padding"),
	    sl.get("refreshInterval")))
print("\n".join(sorted(out)))
EOF
}

h=$top/sessiond-hook
expected="Notification permission_prompt|idle_prompt|elicitation_dialog $h 5 sync
PermissionRequest - $h 5 sync
PostToolUse - $h 5 sync
PostToolUseFailure - $h 5 sync
PreToolUse AskUserQuestion|ExitPlanMode $h 5 sync
SessionEnd - $h 5 sync
SessionStart - $h 5 sync
Stop - $h 5 sync
StopFailure - $h 5 sync
SubagentStop - $h 5 sync
UserPromptSubmit - $h 5 sync
statusLine $h --status 0 5"

valid() {
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" \
	    2>/dev/null
}

t_roundtrip() {
	n=roundtrip
	f=$T/rt.json
	cp "$T/claude.json" "$f"
	chmod 640 "$f"
	if ! "$setup" install "$f" 2>"$T/err"; then
		bad $n "install failed: $(cat "$T/err")"; return
	fi
	if ! valid "$f"; then
		bad $n "not valid JSON after install"; return
	fi
	got=$(ours "$f")
	if [ "$got" != "$expected" ]; then
		bad $n "entries after install:" "$got"; return
	fi
	if [ "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(d["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
      d["hooks"]["Stop"][0]["hooks"][0]["command"], d["model"])' "$f")" != \
	    "/usr/local/bin/guard.sh notify-send done opus" ]; then
		bad $n "other hooks or keys changed by install"; return
	fi
	if ! "$setup" uninstall "$f" 2>"$T/err"; then
		bad $n "uninstall failed: $(cat "$T/err")"; return
	fi
	if ! cmp -s "$T/claude.json" "$f"; then
		bad $n "not byte-identical after install+uninstall" \
		    "$(diff "$T/claude.json" "$f" | head -20)"; return
	fi
	# shellcheck disable=SC2012 # the mode column, of a name we chose
	if [ "$(ls -l "$f" | cut -c1-10)" != "-rw-r-----" ]; then
		bad $n "mode not kept: $(ls -l "$f")"; return
	fi
	ok $n
}

t_nonewline() {
	n=no-final-newline
	f=$T/nonl.json
	printf '%s' "$(cat "$T/claude.json")" > "$f"
	cp "$f" "$T/nonl.orig"
	if "$setup" install "$f" 2>"$T/err" && valid "$f" &&
	    "$setup" uninstall "$f" 2>"$T/err" && cmp -s "$T/nonl.orig" "$f"
	then
		ok $n
	else
		bad $n "$(cat "$T/err")"
	fi
}

t_idempotent() {
	n=install-twice
	f=$T/twice.json
	cp "$T/claude.json" "$f"
	"$setup" install "$f" 2>/dev/null
	cp "$f" "$T/once.json"
	if ! "$setup" install "$f" 2>"$T/err"; then
		bad $n "second install failed: $(cat "$T/err")"; return
	fi
	if ! cmp -s "$T/once.json" "$f"; then
		bad $n "second install changed the file" \
		    "$(diff "$T/once.json" "$f" | head -20)"; return
	fi
	if [ "$(ours "$f")" != "$expected" ]; then
		bad $n "entries:" "$(ours "$f")"; return
	fi
	ok $n
}

t_missing() {
	n=missing-file
	CLAUDE_CONFIG_DIR=$T/new/dir
	export CLAUDE_CONFIG_DIR
	"$setup" install 2>"$T/err"
	r=$?
	unset CLAUDE_CONFIG_DIR
	f=$T/new/dir/settings.json
	if [ $r -ne 0 ] || [ ! -f "$f" ]; then
		bad $n "exit $r, $(cat "$T/err")"; return
	fi
	if ! valid "$f" || [ "$(ours "$f")" != "$expected" ]; then
		bad $n "created file:" "$(cat "$f")"; return
	fi
	# the default path without CLAUDE_CONFIG_DIR is under HOME
	"$setup" install 2>/dev/null
	if [ "$(ours "$HOME/.claude/settings.json" 2>/dev/null)" != "$expected" ]
	then
		bad $n "$HOME/.claude/settings.json not created"; return
	fi
	ok $n
}

t_invalid() {
	n=invalid-json-refused
	f=$T/bad.json
	printf '{\n  "model": "opus",\n}\n' > "$f"
	cp "$f" "$T/bad.orig"
	"$setup" install "$f" 2>"$T/err"
	r=$?
	if [ $r -ne 1 ] || ! cmp -s "$T/bad.orig" "$f" ||
	    ! grep -q 'not valid JSON' "$T/err"; then
		bad $n "exit $r, stderr: $(cat "$T/err")"; return
	fi
	printf '[1, 2]\n' > "$f"
	"$setup" install "$f" 2>"$T/err"
	r=$?
	if [ $r -ne 1 ] || [ "$(cat "$f")" != "[1, 2]" ]; then
		bad $n "array: exit $r, $(cat "$f")"; return
	fi
	ok $n
}

t_statusline() {
	n=statusline-kept
	f=$T/sl.json
	awk '$0 == "  \"cleanupPeriodDays\": null" {
		print $0 ","
		print "  \"statusLine\": {"
		print "    \"type\": \"command\","
		print "    \"command\": \"~/bin/mine\","
		print "    \"padding\": 1"
		print "  }"
		next
	}
	{ print }' "$T/claude.json" > "$f"
	cp "$f" "$T/sl.orig"
	"$setup" install "$f" 2>"$T/err" || { bad $n "install failed"; return; }
	if ! grep -q 'statusLine is already set' "$T/err"; then
		bad $n "no note on stderr: $(cat "$T/err")"; return
	fi
	if [ "$(python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["statusLine"])' "$f")" != \
	    "{'type': 'command', 'command': '~/bin/mine', 'padding': 1}" ]; then
		bad $n "statusLine changed"; return
	fi
	if [ "$(ours "$f" | grep -c sessiond-hook)" -ne 11 ]; then
		bad $n "hooks not installed"; return
	fi
	"$setup" uninstall "$f" 2>/dev/null
	if ! cmp -s "$T/sl.orig" "$f"; then
		bad $n "not byte-identical after uninstall"; return
	fi
	ok $n
}

t_dryrun() {
	n=dry-run
	f=$T/dry.json
	cp "$T/claude.json" "$f"
	"$setup" --dry-run install "$f" > "$T/dry.out" 2>/dev/null
	if ! cmp -s "$T/claude.json" "$f"; then
		bad $n "file written"; return
	fi
	if ! valid "$T/dry.out" || [ "$(ours "$T/dry.out")" != "$expected" ]
	then
		bad $n "printed result:" "$(head -5 "$T/dry.out")"; return
	fi
	ok $n
}

t_moved() {
	n=moved-install
	f=$T/moved.json
	mkdir -p "$T/a" "$T/b"
	cp "$setup" "$top/sessiond-hook" "$T/a/"
	cp "$setup" "$top/sessiond-hook" "$T/b/"
	cp "$T/claude.json" "$f"
	"$T/a/sessiond-setup" install "$f" 2>/dev/null
	"$T/b/sessiond-setup" install "$f" 2>/dev/null
	if [ "$(grep -c "$T/a/" "$f")" -ne 0 ] ||
	    [ "$(grep -c "$T/b/sessiond-hook" "$f")" -ne 12 ]; then
		bad $n "old entries kept or new ones doubled"; return
	fi
	"$T/a/sessiond-setup" uninstall "$f" 2>/dev/null
	if ! cmp -s "$T/claude.json" "$f"; then
		bad $n "not byte-identical after uninstall"; return
	fi
	ok $n
}

# Claude Code before 2.1.101 skips a file naming an event it does not
# know: only the events of the version found are added
events() {
	ours "$1" | awk '$1 != "statusLine" { printf "%s ", $1 }'
}

t_oldclaude() {
	n=old-claude-events
	f=$T/old.json
	for v in 2.0.50 1.0.90 2.1.100 fail; do
		rm -f "$f"
		CLAUDE_STUB=$v "$setup" install "$f" 2>"$T/err"
		case $v in
		2.0.50) want="Notification PermissionRequest PostToolUse PreToolUse SessionEnd SessionStart Stop SubagentStop UserPromptSubmit " ;;
		1.0.90) want="Notification PostToolUse PreToolUse SessionEnd SessionStart Stop SubagentStop UserPromptSubmit " ;;
		2.1.100) want="Notification PermissionRequest PostToolUse PostToolUseFailure PreToolUse SessionEnd SessionStart Stop StopFailure SubagentStop UserPromptSubmit " ;;
		fail) want=$(echo "$expected" | awk '$1 != "statusLine" { printf "%s ", $1 }') ;;
		esac
		if [ "$(events "$f")" != "$want" ]; then
			bad $n "claude $v: $(events "$f")"; return
		fi
	done
	rm -f "$f"
	CLAUDE_STUB=2.0.50 "$setup" install "$f" 2>"$T/err"
	if ! grep -q 'Claude Code 2.0.50 .*left out PostToolUseFailure, StopFailure (run install again' "$T/err"; then
		bad $n "no note: $(cat "$T/err")"; return
	fi
	# an install for a newer version, then for an older one: its unknown
	# events go, and only ours
	cp "$T/claude.json" "$f"
	"$setup" install "$f" 2>/dev/null
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
d["hooks"]["StopFailure"].insert(0, {"hooks": [{"type": "command", "command": "mine"}]})
open(sys.argv[1], "w").write(json.dumps(d, indent=2) + "\n")' "$f"
	CLAUDE_STUB=2.0.50 "$setup" install "$f" 2>"$T/err"
	if [ "$(events "$f")" != "Notification PermissionRequest PostToolUse PreToolUse SessionEnd SessionStart Stop SubagentStop UserPromptSubmit " ] ||
	    ! grep -q 'taken out of .*: PostToolUseFailure, StopFailure' "$T/err" ||
	    [ "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))["hooks"]
print("PostToolUseFailure" in d, d["StopFailure"])' "$f")" != \
	    "False [{'hooks': [{'type': 'command', 'command': 'mine'}]}]" ]; then
		bad $n "older after newer: $(events "$f") / $(cat "$T/err")"; return
	fi
	ok $n
}

# a status line of ours from before refreshInterval gets it
t_refresh() {
	n=statusline-refresh-added
	f=$T/refresh.json
	printf '{\n  "statusLine": {\n    "type": "command",\n    "command": "%s --status",\n    "padding": 0\n  }\n}\n' "$top/sessiond-hook" > "$f"
	"$setup" install "$f" 2>/dev/null
	if [ "$(python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["statusLine"].get("refreshInterval"))' "$f")" != 5 ]; then
		bad $n "$(cat "$f")"; return
	fi
	ok $n
}

if ! command -v python3 >/dev/null 2>&1; then
	skp setup "python3 not found"
else
	t_roundtrip
	t_nonewline
	t_idempotent
	t_missing
	t_invalid
	t_statusline
	t_dryrun
	t_moved
	t_oldclaude
	t_refresh
fi

echo "setup: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
