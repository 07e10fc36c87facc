#!/usr/bin/env bash
# What recording usage costs per request: the bench/ scenarios through Switchyard with
# `usage-statistics-enabled` off and on (CPU time per request), and callgrind's instructions per request
# for the JSON passthrough and the translated stream, off and on. Writes docs/usage-overhead.md.
#
#   bench/usage.sh                 # everything (about 15 minutes)
#   bench/usage.sh --seconds 5     # shorter load cells (arguments go to run.py)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
out="$ROOT/bench/out/usage-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"

command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null
# run.sh builds the release binaries and installs wrk; no LiteLLM, no criterion, no doc from it.
bench/run.sh --usage off --only-switchyard --no-litellm --no-criterion --no-doc --startup-runs 5 \
    --results "$out/off.json" "$@"
python3 bench/run.py --usage on --only-switchyard --no-litellm --no-criterion --no-doc --startup-runs 5 \
    --results "$out/on.json" "$@"

for scenario in json stream; do
    for usage in off on; do
        USAGE=$usage bench/profile.sh "$scenario" | tee -a "$out/callgrind.txt"
    done
done

python3 bench/usage_compare.py "$out/off.json" "$out/on.json" "$out/callgrind.txt" \
    | tee "$ROOT/docs/usage-overhead.md"
