#!/usr/bin/env bash
# Fuzz smoke: builds every cargo-fuzz target in fuzz/ and runs each for FUZZ_SECONDS (default 20), one at a
# time. Prints per target the executions and `ok`, or the crash with its artifact path; ends with
# `fuzz-smoke: N passed, M failed` and exits non-zero when anything failed.
#
#   scripts/fuzz-smoke.sh                       # every target, 20 s each
#   FUZZ_SECONDS=600 scripts/fuzz-smoke.sh      # the long campaign (see fuzz/README.md)
#   scripts/fuzz-smoke.sh stream_gemini config  # only these targets
#
# Only stable Rust is needed: RUSTC_BOOTSTRAP=1 unlocks the nightly flags cargo-fuzz passes (sanitizer,
# coverage instrumentation). New inputs libFuzzer finds go to fuzz/work/<target>/, not into the committed
# seeds in fuzz/corpus/<target>/; crashes go to fuzz/artifacts/<target>/.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/fuzz"

SECONDS_EACH=${FUZZ_SECONDS:-20}
export RUSTC_BOOTSTRAP=1
# -a: debug assertions, so integer overflow and other debug checks fail loudly instead of wrapping.
FLAGS=(-a)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 1
fi

if (($#)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "==> cargo fuzz build ${FLAGS[*]} (${#targets[@]} targets)"
start=$(date +%s)
if ! cargo fuzz build "${FLAGS[@]}"; then
    echo "fuzz-smoke: build failed"
    echo "fuzz-smoke: 0 passed, ${#targets[@]} failed"
    exit 1
fi
echo "    built in $(($(date +%s) - start)) s"

echo "==> running each target for ${SECONDS_EACH} s"
passed=0
failed=0
for t in "${targets[@]}"; do
    mkdir -p "work/$t" "corpus/$t"
    log="work/$t.log"
    # -timeout: an input that takes 10 s is a hang (a denial of service), reported like a crash.
    cargo fuzz run "${FLAGS[@]}" "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    rate=""
    [[ -n $execs && -n $secs && $secs -gt 0 ]] && rate=" ($((execs / secs))/s)"
    if ((rc == 0)) && [[ -n $execs ]]; then
        printf '%-28s %10s execs%s  ok\n' "$t" "$execs" "$rate"
        passed=$((passed + 1))
    else
        printf '%-28s %10s execs%s  FAILED (exit %s, log fuzz/%s)\n' "$t" "${execs:-?}" "$rate" "$rc" "$log"
        grep -E "^SUMMARY|ERROR: AddressSanitizer|ERROR: libFuzzer: timeout" "$log" | head -3 | sed 's/^/    /'
        grep -A1 -E "^thread .* panicked at" "$log" | head -2 | sed 's/^/    /'
        # The deepest frame in our own code, when the panic happened inside std or a dependency.
        grep -m1 -E "at $ROOT/src/" "$log" | sed 's/^ */    in switchyard: /'
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        [[ -n $artifact ]] && echo "    artifact: $artifact" &&
            echo "    reproduce: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -a $t $artifact)"
        failed=$((failed + 1))
    fi
done
echo "    total $(($(date +%s) - start)) s"
echo "fuzz-smoke: $passed passed, $failed failed"
((failed == 0))
