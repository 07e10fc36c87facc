#!/usr/bin/env bash
# The one command for the load benchmark: builds release binaries, installs wrk and LiteLLM (bench/.venv),
# then bench/run.py measures everything and writes docs/performance.md. Loopback only; every load run is
# bounded in time. Extra arguments go to run.py (e.g. --seconds 5, --no-litellm, --only chat_compat_json).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v wrk >/dev/null; then
  echo "[bench] installing wrk (Debian package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
command -v taskset >/dev/null || { as_root apt-get update -qq; as_root apt-get install -y -qq util-linux; }

# Release builds only while no other cargo runs (other engineers' builds and fuzzers share this machine).
waited=0
while pgrep -x cargo >/dev/null; do
  if [ "$waited" -ge 3600 ]; then echo "[bench] another cargo has been running for an hour; giving up" >&2; exit 1; fi
  echo "[bench] another cargo is running; waiting (${waited}s)"
  sleep 15; waited=$((waited + 15))
done
cargo build --release -p switchyard -p switchyard-mock --bins
cargo bench --bench translate --no-run   # compile now, so measuring later compiles nothing

if [ ! -x bench/.venv/bin/litellm ]; then
  echo "[bench] installing LiteLLM's proxy into bench/.venv"
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q 'litellm[proxy]'
fi

exec python3 bench/run.py --command "bench/run.sh${*:+ $*}" "$@"
