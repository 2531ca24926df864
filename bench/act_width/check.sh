#!/bin/sh
# Checks that every activation's forward and backward give the same bits whatever vector width
# GCC uses: compiles src/act.c (with the target_clones dispatch disabled) for AVX-512, AVX2 and
# baseline x86-64 and prints a hash of all outputs on 2^20 inputs in [-40, 40].  The three lines
# must show the same hash (the AVX-512 build needs a CPU with AVX-512 to run).
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "-mavx512f -mavx512dq" "-mavx2" "-march=x86-64"; do
    gcc -O3 -std=c11 -fno-math-errno -fno-trapping-math -D__SANITIZE_ADDRESS__ $f -I"$root/include" -I"$root/src" \
        "$root/bench/act_width/act_hash.c" "$root/src/act.c" "$root/src/status.c" -lm -o "$tmp/h"
    echo "$f: $("$tmp/h")"
done
