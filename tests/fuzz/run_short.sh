#!/bin/sh
# run_short.sh — builds the libFuzzer targets with clang + ASan/UBSan and runs each for a short
# time (default 30 s; first argument overrides) from the committed seed corpus.  The corpus is
# copied to a scratch folder so the committed one stays small.  Exit non-zero on a finding.
# usage: tests/fuzz/run_short.sh [seconds] [build-dir]
set -eu
secs=${1:-30}
bdir=${2:-build-fuzz}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if [ ! -d "$bdir" ]; then
    CC=clang meson setup "$bdir" -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
        -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$bdir" tests/fuzz/fuzz_csv tests/fuzz/fuzz_npy tests/fuzz/fuzz_safetensors tests/fuzz/fuzz_taps \
    tests/fuzz/fuzz_results >/dev/null
scratch=$(mktemp -d /tmp/nnfit-fuzz-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
for t in csv npy safetensors taps results; do
    mkdir -p "$scratch/$t"
    "$bdir/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="$scratch/" "$scratch/$t" "tests/fuzz/corpus/$t" >"$scratch/$t.log" 2>&1 || {
        echo "fuzz_$t: FINDING" >&2
        tail -40 "$scratch/$t.log" >&2
        ls "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* 2>/dev/null | while read -r f; do
            cp "$f" "$root/" && echo "reproducer saved as $root/$(basename "$f")" >&2
        done
        exit 1
    }
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$t.log" | grep -o '[0-9]*$')
    echo "fuzz_$t: ${secs}s, ${runs:-?} executions, no finding"
done
