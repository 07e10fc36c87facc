#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: repeatable whatever else the machine is doing,
# so it shows what a code change costs or saves long before wall-clock benchmarks can.
#
#   bench/profile.sh json      # chat→compat JSON passthrough (the mock answers `text`)
#   bench/profile.sh stream    # chat→Claude translated stream (the mock answers `long`: 40 deltas)
#   USAGE=off bench/profile.sh json   # the same with usage recording off (default on)
#
# Uses the release binaries (cargo build --release -p switchyard -p switchyard-mock --bins). Prints
# requests, total instructions and instructions per request, and leaves the profile in bench/out/ for
# `callgrind_annotate --inclusive=yes bench/out/callgrind.<scenario>.out.1`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SCENARIO=${1:-json}
SECONDS_MEASURED=${PROFILE_SECONDS:-15}
case ${USAGE:-on} in on) usage=true ;; off) usage=false ;; *) echo "USAGE must be on or off" >&2; exit 2 ;; esac
for tool in valgrind callgrind_control callgrind_annotate wrk curl; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (apt-get install valgrind wrk curl)" >&2; exit 1; }
done

case $SCENARIO in
json) kind=text model=compat-gpt-4o stream=false ;;
stream) kind=long model=claude-sonnet-4-5-20250929 stream=true ;;
*) echo "usage: $0 json|stream" >&2; exit 2 ;;
esac

out="$ROOT/bench/out"
work=$(mktemp -d)
mkdir -p "$out"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mock_port=$(free_port)
port=$(free_port)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$TARGET/release/switchyard-mock" --port "$mock_port" >"$work/mock.log" 2>&1 &
pids+=($!)
mock="http://127.0.0.1:$mock_port"
cat >"$work/config.yaml" <<EOF
host: 127.0.0.1
port: $port
api-keys: [sy-profile-key]
usage-statistics-enabled: $usage
usage-database-path: "$work/usage.sqlite"
claude-api-key: [{api-key: sk-claude-1, base-url: "$mock/anthropic"}]
openai-compatibility:
  - name: mockcompat
    base-url: "$mock/compat"
    api-key-entries: [{api-key: sk-compat-1}]
    models: [{name: mock-gpt-4o, alias: compat-gpt-4o}]
EOF
cat >"$work/request.lua" <<EOF
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer sy-profile-key"
wrk.body = '{"model":"$model","messages":[{"role":"user","content":"Hello"}],"max_tokens":64,"stream":$stream}'
EOF
for _ in $(seq 50); do curl -sf "$mock/__control/log" >/dev/null && break; sleep 0.1; done
curl -sf -X POST "$mock/__control/script" -H 'content-type: application/json' \
    -d "{\"steps\":[],\"fallback\":{\"ok\":\"$kind\"}}" >/dev/null

profile="$out/callgrind.$SCENARIO.out"
rm -f "$profile"*
valgrind --tool=callgrind --callgrind-out-file="$profile" \
    "$TARGET/release/switchyard" serve --config "$work/config.yaml" >"$work/switchyard.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

url="http://127.0.0.1:$port/v1/chat/completions"
# Warm up (connection pools, lazy statics), then count only the measured run.
wrk -t1 -c1 -d3s -s "$work/request.lua" "$url" >/dev/null
callgrind_control -z >/dev/null
result=$(wrk -t1 -c1 -d"${SECONDS_MEASURED}s" -s "$work/request.lua" "$url")
callgrind_control -d >/dev/null
requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$result")
total=$(callgrind_annotate "$profile.1" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "$SCENARIO (usage ${USAGE:-on}): $requests requests, $total instructions, $((total / requests)) instructions per request"
echo "profile: $profile.1"
