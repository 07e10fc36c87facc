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

for tool in valgrind wrk; do
    command -v "$tool" >/dev/null || apt-get install -y "$tool" >/dev/null
done
cargo build --release -p switchyard -p switchyard-mock --bins
# Off, on, off, on: the machine drifts, so each setting is measured twice and interleaved.
for round in 1 2; do
    for usage in off on; do
        python3 bench/run.py --usage "$usage" --only-switchyard --no-litellm --no-criterion --no-doc \
            --startup-runs 5 --command bench/usage.sh --results "$out/$usage-$round.json" "$@"
    done
done

for scenario in json stream; do
    for usage in off on; do
        USAGE=$usage bench/profile.sh "$scenario" | tee -a "$out/callgrind.txt"
    done
done

python3 bench/usage_compare.py "$out" \
    | tee "$ROOT/docs/usage-overhead.md"
