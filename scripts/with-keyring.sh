#!/usr/bin/env bash
# Runs CMD… against a real, private Secret Service: a fresh D-Bus session bus (dbus-run-session) with
# GNOME Keyring unlocked in a throwaway HOME, so tests exercise the OS keychain code path on Linux CI
# without touching the user's own keyring.
#   scripts/with-keyring.sh cargo test --test keychain -- --ignored
set -euo pipefail
(($#)) || { echo "usage: $0 CMD [ARGS…]" >&2; exit 2; }
for tool in dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (apt-get install dbus gnome-keyring)" >&2; exit 1; }
done

if [[ -z "${SWITCHYARD_KEYRING_SESSION:-}" ]]; then
    # Re-enter this script inside a private session bus; the bus (and the keyring daemon on it) goes
    # away when CMD ends.
    export SWITCHYARD_KEYRING_SESSION=1
    exec dbus-run-session -- "$0" "$@"
fi

# The toolchain lives under the real HOME; pin it before HOME moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-keyring.XXXXXX")
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" XDG_CONFIG_HOME="$tmp/home/.config" \
    XDG_CACHE_HOME="$tmp/home/.cache" XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
mkdir -m 0700 "$XDG_RUNTIME_DIR"

# A non-empty password: with an empty one the daemon creates no "login" collection and every write
# fails. The daemon prints the variables clients need (GNOME_KEYRING_CONTROL, …); export them.
while IFS= read -r line; do
    [[ $line == *=* ]] && export "${line?}"
done < <(printf 'switchyard-ci\n' | gnome-keyring-daemon --unlock --components=secrets)

status=0
"$@" || status=$?
rm -rf "$tmp" 2>/dev/null || true
exit "$status"
