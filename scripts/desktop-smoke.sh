#!/usr/bin/env bash
# Desktop smoke test: the real switchyard-desktop binary on a virtual X display (Xvfb) with a private
# D-Bus session, its real tray menu read and clicked over D-Bus by shared/tools/tray_probe.py (a stand-in
# for a desktop panel), and the proxy it runs in-process answering HTTP.
#
#   cargo build -p switchyard-desktop && scripts/desktop-smoke.sh
#
# Needs: xvfb-run, dbus-run-session, xclip, xwininfo, curl, python3 (dbus-next is pip-installed if missing) and the
# WebKitGTK/appindicator runtime libraries. Environment:
#   SWITCHYARD_SHARED_DIR   where shared/ is (default: ../shared beside the repo, as CI clones it)
#   SWITCHYARD_DESKTOP_BIN  the binary to test (default: target/debug/switchyard-desktop)
#   SWITCHYARD_MOCK_BIN     the mock providers for the tray logins (default: target/debug/switchyard-mock)
# Prints one line per check and ends with `desktop-smoke: N passed, M failed`; exits non-zero on failure.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [[ "${SWITCHYARD_SMOKE_INNER:-}" != 1 ]]; then
    # ---- Outer half: preflight, then re-run this script inside Xvfb + a session bus. ----
    BIN=${SWITCHYARD_DESKTOP_BIN:-$ROOT/target/debug/switchyard-desktop}
    MOCK=${SWITCHYARD_MOCK_BIN:-$ROOT/target/debug/switchyard-mock}
    SHARED=${SWITCHYARD_SHARED_DIR:-$ROOT/../shared}
    PROBE=$SHARED/tools/tray_probe.py
    die() { echo "desktop-smoke: $*" >&2; echo "desktop-smoke: 0 passed, 1 failed"; exit 1; }
    [[ -x "$BIN" ]] || die "no binary at $BIN (build it: cargo build -p switchyard-desktop)"
    [[ -x "$MOCK" ]] || die "no mock at $MOCK (build it: cargo build --bin switchyard-mock)"
    [[ -f "$PROBE" ]] || die "no tray probe at $PROBE (set SWITCHYARD_SHARED_DIR)"
    for tool in xvfb-run dbus-run-session dbus-send xclip xwininfo curl python3 timeout; do
        command -v "$tool" >/dev/null || die "missing $tool (install the desktop apt dependencies)"
    done
    if ! python3 -c 'import dbus_next' 2>/dev/null; then
        echo "installing dbus-next for the tray probe"
        python3 -m pip install --quiet dbus-next || die "cannot pip install dbus-next"
    fi

    WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-smoke.XXXXXX")
    # An isolated user, set before the session bus starts so that the services it activates (keyring,
    # portals) see it too: nothing may touch the real home, keychain or config.
    export HOME=$WORK/home
    export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share XDG_CACHE_HOME=$HOME/.cache
    export XDG_RUNTIME_DIR=$WORK/run # tray-icon also writes the icon file here for appindicator
    export NO_AT_BRIDGE=1            # no accessibility bus: nothing here reads it
    mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
    chmod 700 "$XDG_RUNTIME_DIR"
    # xvfb-run outside dbus-run-session, so the bus (and what it activates) shares the DISPLAY of the app,
    # the probe and xclip. The bus daemon and its services print to the stdout/stderr they inherit; both
    # go to a log (shown on failure) while the report itself goes out on fd 3.
    SWITCHYARD_SMOKE_INNER=1 SMOKE_WORK=$WORK SMOKE_BIN=$BIN SMOKE_PROBE=$PROBE SMOKE_MOCK=$MOCK \
        xvfb-run -a dbus-run-session -- bash "${BASH_SOURCE[0]}" 3>&1 >"$WORK/session.log" 2>&1
    rc=$?
    if [[ $rc -ne 0 ]]; then
        echo "--- session log (last 40 lines) ---"
        tail -n 40 "$WORK/session.log"
    fi
    rm -rf "$WORK"
    exit "$rc"
fi

# ---- Inner half: runs on the Xvfb display, inside the private session bus. ----
exec 1>&3 3>&- # the report to the terminal; the bus's own chatter stays in the session log
WORK=$SMOKE_WORK
BIN=$SMOKE_BIN
PROBE=$SMOKE_PROBE
MOCK=$SMOKE_MOCK
MOCK_PID=""
PASSED=0
FAILED=0
APP_PID=""
LAST_APP_LOG=""
LOG_SHOWN=0

pass() { echo "ok   - $1"; PASSED=$((PASSED + 1)); }
fail() {
    echo "FAIL - $1"
    FAILED=$((FAILED + 1))
    # The app's log once per launch, at its first failure: later ones usually share the cause.
    if [[ $LOG_SHOWN == 0 && -n "$LAST_APP_LOG" && -f "$LAST_APP_LOG" ]]; then
        LOG_SHOWN=1
        echo "       app log (last 15 lines):"
        tail -n 15 "$LAST_APP_LOG" | sed 's/^/       | /'
    fi
}

cleanup() {
    # Only what this script started, by pid.
    [[ -n "$APP_PID" ]] && kill "$APP_PID" 2>/dev/null
    [[ -n "$MOCK_PID" ]] && kill "$MOCK_PID" 2>/dev/null
    jobs -p | xargs -r kill 2>/dev/null
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_config() { # $1 file, $2 port
    cat >"$1" <<EOF
host: 127.0.0.1
port: $2
api-keys: [smoke-key]
EOF
}

# The probe plays the panel's StatusNotifierWatcher. Every run is bounded: a wedged bus must not hang CI.
# The first probe of a launch waits up to 30 s for the app to register; later ones get the app's
# re-registration with the new watcher at once, so they wait 10 s.
probe() { timeout 60 python3 "$PROBE" --timeout 30 "$@"; }
reprobe() { timeout 40 python3 "$PROBE" --timeout 10 "$@"; }
app_alive() { [[ -n "$APP_PID" ]] && kill -0 "$APP_PID" 2>/dev/null; }

# Starts a probe in the background (it must own the watcher name before the app looks for it), waits
# until it does, then launches the app. Sets APP_PID, PROBE_PID, LAST_APP_LOG.
launch_with_probe() { # $1 name, $2 config file
    probe >"$WORK/$1-probe.out" 2>&1 &
    PROBE_PID=$!
    for _ in $(seq 1 100); do
        dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.kde.StatusNotifierWatcher 2>/dev/null |
            grep -q 'boolean true' && break
        sleep 0.1
    done
    LAST_APP_LOG=$WORK/$1-app.log
    LOG_SHOWN=0
    "$BIN" --config "$2" >"$LAST_APP_LOG" 2>&1 &
    APP_PID=$!
}

labels_of() { sed -n 's/^LABEL //p' "$1"; }

# Reads the menu until a label contains $1 (the proxy may still be starting when the first
# probe looks). A fresh probe is a fresh watcher, and appindicator re-registers with it.
read_menu_until() { # $1 expected status prefix, $2 first probe output (from launch_with_probe)
    local out=$2
    # The first probe waits for a registration; if the app died there is none to wait for.
    while kill -0 "$PROBE_PID" 2>/dev/null; do
        app_alive || kill "$PROBE_PID" 2>/dev/null
        sleep 0.2
    done
    wait "$PROBE_PID"
    for _ in 1 2 3 4 5; do
        labels_of "$out" | grep -qF -- "$1" && break
        app_alive || break
        sleep 1
        out=$WORK/reprobe.out
        reprobe >"$out" 2>&1
    done
    MENU_LABELS=$(labels_of "$out")
    if [[ -z "$MENU_LABELS" ]]; then
        local said
        said=$(tail -n 3 "$out" | paste -sd ' ' -)
        echo "       probe said: ${said:-nothing (stopped: the app had exited)}"
    fi
    echo "       tray menu: $(echo "$MENU_LABELS" | paste -sd '|' - | sed 's/|/ | /g')"
}

has_label() { grep -qxF -- "$1" <<<"$MENU_LABELS"; }

# Re-reads the menu until it has a line $1 (a click's effect may take a moment to show).
read_menu_after_click() { # $1 expected label
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        reprobe >"$WORK/reprobe.out" 2>&1
        MENU_LABELS=$(labels_of "$WORK/reprobe.out")
        has_label "$1" && return
        sleep 0.5
    done
}

# Clicks Quit and expects the app to exit 0 within 10 s.
quit_and_expect_clean_exit() { # $1 description
    reprobe --click Quit >"$WORK/quit-probe.out" 2>&1
    local rc=""
    for _ in $(seq 1 100); do
        if ! kill -0 "$APP_PID" 2>/dev/null; then
            wait "$APP_PID"
            rc=$?
            break
        fi
        sleep 0.1
    done
    if [[ "$rc" == 0 ]]; then
        pass "$1: Quit from the tray exits 0 within 10 s"
    elif [[ -z "$rc" ]]; then
        fail "$1: app still running 10 s after Quit"
        kill "$APP_PID" 2>/dev/null
        wait "$APP_PID" 2>/dev/null
    else
        fail "$1: app exited $rc after Quit"
    fi
    APP_PID=""
}

# ---- Run 1: a normal start. ----
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
write_config "$WORK/config.yaml" "$PORT"
echo "# run 1: app with config on port $PORT"
launch_with_probe run1 "$WORK/config.yaml"

# 1. The in-process proxy answers.
code=""
for _ in $(seq 1 60); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz")
    [[ "$code" == 200 ]] && break
    kill -0 "$APP_PID" 2>/dev/null || break
    sleep 1
done
if [[ "$code" == 200 ]]; then
    pass "GET $URL/healthz answers 200"
elif ! app_alive; then
    fail "GET $URL/healthz: the app exited before answering"
else
    fail "GET $URL/healthz did not answer 200 within 60 s (last: ${code:-none})"
fi

# 2. The tray menu, read over D-Bus as a panel would.
read_menu_until "Running on" "$WORK/run1-probe.out"
# Every item the tray offers, in order (submenus' children follow their parent in the probe's output).
# Usage history is on by default (its database in the isolated home), and nothing was asked yet today.
EXPECTED_LABELS=(
    "Running on $URL" "Today: 0 tokens · 0 requests" "Copy OpenAI base URL" "Copy Anthropic base URL" "Copy API key"
    "Accounts" "No accounts yet"
    "Log in with Claude…" "Log in with Codex…" "Log in with Codex (device code)…"
    "Open Dashboard" "Stop proxy" "Launch at login" "Quit"
)
for label in "${EXPECTED_LABELS[@]}"; do
    if has_label "$label"; then pass "tray menu has \"$label\""; else fail "tray menu lacks \"$label\""; fi
done
got=$(grep -vxF -e '' <<<"$MENU_LABELS" | paste -sd '|' -)
want=$(printf '%s\n' "${EXPECTED_LABELS[@]}" | paste -sd '|' -)
if [[ "$got" == "$want" ]]; then
    pass "tray menu items are exactly those, in that order"
else
    fail "tray menu order: got \"$got\", want \"$want\""
fi

# 3. The copy items put what they say on the X clipboard.
expect_clipboard_after_click() { # $1 item label, $2 expected clipboard text
    reprobe --click "$1" >"$WORK/copy-probe.out" 2>&1
    local clip=""
    for _ in $(seq 1 50); do
        clip=$(timeout 5 xclip -o -selection clipboard 2>/dev/null)
        [[ "$clip" == "$2" ]] && break
        sleep 0.1
    done
    if [[ "$clip" == "$2" ]]; then
        pass "clicking \"$1\" puts $2 on the clipboard"
    else
        fail "clipboard holds \"$clip\" after clicking \"$1\", not $2"
    fi
}
expect_clipboard_after_click "Copy OpenAI base URL" "$URL/v1"
expect_clipboard_after_click "Copy Anthropic base URL" "$URL"
expect_clipboard_after_click "Copy API key" "smoke-key"

# 4. Stop proxy frees the port and says so; Start proxy brings it back on the same port.
reprobe --click "Stop proxy" >"$WORK/stop-probe.out" 2>&1
read_menu_after_click "Proxy stopped"
if has_label "Proxy stopped" && has_label "Start proxy"; then
    pass "after \"Stop proxy\" the tray shows \"Proxy stopped\" and offers \"Start proxy\""
else
    fail "after \"Stop proxy\" the tray shows: $(paste -sd '|' - <<<"$MENU_LABELS")"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz")
if [[ "$code" == 000 ]]; then pass "the stopped proxy no longer answers"; else fail "stopped proxy answered $code"; fi
reprobe --click "Start proxy" >"$WORK/start-probe.out" 2>&1
read_menu_after_click "Running on $URL"
if has_label "Running on $URL"; then pass "\"Start proxy\" runs it again on $URL"; else fail "not running again after \"Start proxy\""; fi

# 5. Tray only at launch; "Open Dashboard" shows the window.
window_viewable() { xwininfo -name Switchyard 2>/dev/null | grep -q 'Map State: IsViewable'; }
wait_window() { for _ in $(seq 1 60); do window_viewable && return 0; sleep 0.5; done; return 1; }
if window_viewable; then fail "a window is shown at launch (tray only expected)"; else pass "no window at launch: tray only"; fi
reprobe --click "Open Dashboard" >"$WORK/dashboard-probe.out" 2>&1
if wait_window; then pass "\"Open Dashboard\" shows the Switchyard window"; else fail "no Switchyard window after \"Open Dashboard\""; fi

# 5b. A second launch hands over to the first (which shows its window) and exits at once.
timeout 20 "$BIN" --config "$WORK/config.yaml" >"$WORK/second-app.log" 2>&1
second_rc=$?
if [[ $second_rc == 0 ]] && app_alive; then
    pass "a second launch exits 0 and leaves the first running (single instance)"
else
    fail "second launch: exit $second_rc, first still running: $(app_alive && echo yes || echo no)"
fi

# 6. Quit is graceful and the exit code is 0.
quit_and_expect_clean_exit "run 1"

# ---- Run 2: the port is taken, so the proxy cannot start; the tray must say so and still quit. ----
PORT2=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(120)' "$PORT2" &
BLOCKER_PID=$!
write_config "$WORK/config-busy.yaml" "$PORT2"
echo "# run 2: app with port $PORT2 already taken"
launch_with_probe run2 "$WORK/config-busy.yaml"
read_menu_until "Proxy failed to start" "$WORK/run2-probe.out"
status_line=$(head -n 1 <<<"$MENU_LABELS")
if [[ "$status_line" == "Proxy failed to start: "* ]]; then
    pass "tray menu reports the failure: \"$status_line\""
else
    fail "tray status line is \"$status_line\", not \"Proxy failed to start: …\""
fi
quit_and_expect_clean_exit "run 2"
kill "$BLOCKER_PID" 2>/dev/null

# ---- Run 3: no tray host on the bus (GNOME without AppIndicator): the window must show instead. ----
echo "# run 3: no StatusNotifierWatcher on the session bus"
LAST_APP_LOG=$WORK/run3-app.log
LOG_SHOWN=0
"$BIN" --config "$WORK/config.yaml" >"$LAST_APP_LOG" 2>&1 &
APP_PID=$!
if wait_window; then
    pass "without a tray host the app shows its window at launch"
else
    fail "without a tray host no window appeared within 30 s"
fi
kill "$APP_PID" 2>/dev/null
wait "$APP_PID" 2>/dev/null
APP_PID=""

# ---- Run 4: log into Claude and Codex from the tray, against the mock providers. ----
echo "# run 4: logins from the tray"
"$MOCK" >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
MOCK_ADDR=""
for _ in $(seq 1 100); do
    MOCK_ADDR=$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$WORK/mock.log" | head -n 1)
    [[ -n "$MOCK_ADDR" ]] && break
    sleep 0.1
done
PORT4=$(free_port)
URL4=http://127.0.0.1:$PORT4
OAUTH=http://$MOCK_ADDR/oauth
cat >"$WORK/config-login.yaml" <<YAML
host: 127.0.0.1
port: $PORT4
api-keys: [smoke-key]
auth-dir: "$WORK/auth"
secret-store: file
endpoints:
  claude:
    api: http://$MOCK_ADDR/anthropic
    authorize: $OAUTH/claude/authorize
    token: $OAUTH/claude/token
    usage: $OAUTH/claude/usage
    callback-port: 0
  codex:
    api: http://$MOCK_ADDR/codex
    authorize: $OAUTH/codex/authorize
    token: $OAUTH/codex/token
    usage: $OAUTH/codex/usage
    callback-port: 0
YAML
# The person's default browser, registered the freedesktop way (a .desktop file and mimeapps.list in the
# isolated home) so xdg-open picks it: it signs in at the provider's page and follows the redirect back
# to the app's loopback callback.
printf '#!/bin/sh\nexec curl -s -L --max-time 20 -o /dev/null "$1"\n' >"$WORK/browser.sh"
chmod +x "$WORK/browser.sh"
mkdir -p "$XDG_DATA_HOME/applications" "$XDG_CONFIG_HOME"
printf '[Desktop Entry]\nType=Application\nName=Smoke browser\nExec=%s %%u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n' \
    "$WORK/browser.sh" >"$XDG_DATA_HOME/applications/smoke-browser.desktop"
printf '[Default Applications]\nx-scheme-handler/http=smoke-browser.desktop\nx-scheme-handler/https=smoke-browser.desktop\n' \
    >"$XDG_CONFIG_HOME/mimeapps.list"
launch_with_probe run4 "$WORK/config-login.yaml"
read_menu_until "Running on" "$WORK/run4-probe.out"

# Clicks a login item and waits (up to 30 s) for an Accounts entry starting with $2; sets LOGIN_ENTRY.
login_from_tray() { # $1 item, $2 expected entry prefix
    reprobe --click "$1" >"$WORK/login-probe.out" 2>&1
    LOGIN_ENTRY=""
    for _ in $(seq 1 30); do
        reprobe >"$WORK/reprobe.out" 2>&1
        MENU_LABELS=$(labels_of "$WORK/reprobe.out")
        LOGIN_ENTRY=$(grep -F -- "$2" <<<"$MENU_LABELS" | head -n 1)
        [[ -n "$LOGIN_ENTRY" ]] && break
        sleep 1
    done
    if [[ -n "$LOGIN_ENTRY" ]]; then
        pass "\"$1\" logs in: Accounts shows \"$LOGIN_ENTRY\""
    else
        fail "no Accounts entry \"$2…\" within 30 s of \"$1\""
    fi
}
login_from_tray "Log in with Claude…" "claude · claude-user@example.com"
if [[ "$LOGIN_ENTRY" == *%* ]]; then
    pass "the account's entry shows its quota"
else
    fail "the account's entry shows no quota: \"$LOGIN_ENTRY\""
fi
login_from_tray "Log in with Codex…" "codex · codex-user@example.com"
if has_label "No accounts yet"; then fail "\"No accounts yet\" is still shown"; else pass "\"No accounts yet\" is gone"; fi
# The accounts serve requests at once: no restart, no upstream key in the config.
for model in claude-sonnet-4-5-20250929 gpt-5.1-codex; do
    code=$(curl -s -o "$WORK/answer.json" -w '%{http_code}' --max-time 10 \
        -H 'Authorization: Bearer smoke-key' -H 'Content-Type: application/json' \
        -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" \
        "$URL4/v1/chat/completions")
    if [[ "$code" == 200 ]] && grep -q "Hello from mock" "$WORK/answer.json"; then
        pass "$model answers through the account logged in from the tray"
    else
        fail "$model through the tray's account: HTTP $code $(head -c 200 "$WORK/answer.json")"
    fi
done
# The tray's usage line counts both requests (the mock answers 11 input and 7 output tokens each). It
# is read when the tray redraws (and every minute): a restart from the tray redraws it at once, from the
# history on disk.
reprobe --click "Stop proxy" >"$WORK/stop-probe.out" 2>&1
read_menu_after_click "Proxy stopped"
if grep -q '^Today:' <<<"$MENU_LABELS"; then fail "a stopped proxy still shows a usage line"; else pass "a stopped proxy shows no usage line"; fi
reprobe --click "Start proxy" >"$WORK/start-probe.out" 2>&1
TODAY="Today: 36 tokens · 2 requests"
read_menu_after_click "$TODAY"
if has_label "$TODAY"; then
    pass "the tray shows \"$TODAY\" after the requests"
else
    fail "no \"$TODAY\" in the tray: $(grep '^Today' <<<"$MENU_LABELS" || echo 'no usage line')"
fi
quit_and_expect_clean_exit "run 4"
kill "$MOCK_PID" 2>/dev/null
MOCK_PID=""

echo "desktop-smoke: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
