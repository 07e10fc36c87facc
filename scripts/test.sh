#!/usr/bin/env bash
# The one test command (README "Test"): installs what it needs on Debian/Ubuntu when missing, then runs
# the format check, clippy, every Rust test, the Python SDK + conformance suite against the real binaries,
# the management UI (type check, Vitest, Playwright against the real binary), the real CLI agents (npm)
# through the proxy, a short fuzz run of every decoder, and the desktop app (its tray over D-Bus, its window through tauri-driver). Each runner prints its own summary; the script stops at the first failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }

# Incremental caches only pay off across repeated builds of one checkout; in the one full run they are
# gigabytes of dead weight on the disk.
export CARGO_INCREMENTAL=0
# A full disk shows up far from its cause (the linker dies with SIGBUS), so say up front how much is free.
df -h "$ROOT" | awk 'NR == 2 { print "disk: " $4 " free of " $2 " at " $6 }'

# --- dependencies -------------------------------------------------------------------------------------
APT_PACKAGES=(
    build-essential pkg-config curl
    # Tauri v2 on Linux (WebKitGTK 4.1, tray via appindicator)
    libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev libssl-dev libxdo-dev
    # desktop smoke: virtual display, private session bus, clipboard; WebKitWebDriver for tauri-driver
    xvfb xauth dbus dbus-x11 xclip x11-utils webkit2gtk-driver
    # the management UI's end-to-end tests drive Debian's Chromium (npm's browser downloads fail here)
    chromium
    # OS keychain: libdbus for the keyring crate's Secret Service client; GNOME Keyring to test against
    libdbus-1-dev gnome-keyring
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    step "installing apt packages: ${missing[*]}"
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
step "python test dependencies"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r tests/py/requirements.txt dbus-next
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
command -v tauri-driver >/dev/null || { step "cargo install tauri-driver"; cargo install tauri-driver --locked --version '^2'; }

step "build the UI into ui/dist (the binaries embed it at compile time)"
node scripts/build-ui.mjs

step "UI: type check (svelte-check, strict TypeScript) and unit tests (Vitest)"
npm --prefix ui run check
npm --prefix ui test

# --- checks -------------------------------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace"
cargo test --workspace

step "OS keychain through a real Secret Service (GNOME Keyring on a private D-Bus session)"
scripts/with-keyring.sh cargo test --test keychain -- --ignored

step "build the binaries (switchyard, switchyard-mock, switchyard-desktop)"
cargo build --workspace --bins

step "python: real SDK clients and CLIProxyAPI conformance (pytest)"
python3 -m pytest tests/py -q

step "UI end to end: Playwright (Debian's Chromium) against switchyard serve and the mock upstream"
npm --prefix ui run e2e

step "real CLI agents (Claude Code, Codex CLI, Gemini CLI) through the proxy to every family (pytest)"
# Gemini CLI needs Node 20+, newer than Debian 12's apt nodejs: the machine's own Node is used.
command -v npm >/dev/null || { echo "npm (Node 20+) is required for the CLI agent tests"; exit 1; }
npm ci --prefix tests/agents --no-audit --no-fund --loglevel=error
python3 -m pytest tests/agents -q -rxX

step "fuzz smoke: every wire decoder and stream translator (cargo fuzz, ${FUZZ_SECONDS:-10} s each)"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} scripts/fuzz-smoke.sh

step "desktop: the real tray over D-Bus (xvfb + a StatusNotifierWatcher stand-in)"
scripts/desktop-smoke.sh

step "desktop: the real app through tauri-driver (WebKitWebDriver): the dashboard shows the endpoint"
scripts/desktop-webdriver.sh

du -sh target fuzz/target 2>/dev/null | awk '{ print "build artifacts: " $1 " in " $2 }'
printf '\nall checks passed\n'
