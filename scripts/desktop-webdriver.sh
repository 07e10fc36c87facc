#!/usr/bin/env bash
# The real desktop app driven by tauri-driver + WebKitWebDriver on a virtual display (Xvfb) with a private
# D-Bus session and a throwaway HOME: the dashboard window opens and its Overview shows the endpoint.
#
#   cargo build -p switchyard-desktop && scripts/desktop-webdriver.sh
#
# Needs: tauri-driver (cargo install tauri-driver --locked), WebKitWebDriver (Debian: webkit2gtk-driver),
# xvfb-run, dbus-run-session, python3. Environment:
#   SWITCHYARD_DESKTOP_BIN  the binary to test (default: target/debug/switchyard-desktop)
#   SCREENSHOT              where to save a PNG of the window (optional)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SWITCHYARD_DESKTOP_BIN:-$ROOT/target/debug/switchyard-desktop}
die() { echo "desktop-webdriver: $*" >&2; echo "desktop-webdriver: 0 passed, 1 failed"; exit 1; }
[[ -x "$BIN" ]] || die "no binary at $BIN (build it: cargo build -p switchyard-desktop)"
for tool in tauri-driver WebKitWebDriver xvfb-run dbus-run-session python3; do
    command -v "$tool" >/dev/null || die "missing $tool"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-webdriver.XXXXXX")
trap '[[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"' EXIT
# Nothing may touch the real home, keychain or config; set before the bus starts so its services see it.
export HOME=$WORK/home
export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share XDG_CACHE_HOME=$HOME/.cache
export XDG_RUNTIME_DIR=$WORK/run NO_AT_BRIDGE=1
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
WORK=$WORK BIN=$BIN xvfb-run -a -s "-screen 0 1280x800x24" \
    dbus-run-session -- timeout 300 python3 "$ROOT/scripts/desktop-webdriver.py"
