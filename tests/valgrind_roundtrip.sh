#!/bin/sh
# valgrind_roundtrip.sh — memcheck over a small `nnfit data` + `train --save` + `predict` +
# `inspect` round trip, and over a few malformed inputs.  Exit 1 on any valgrind error.
# usage: tests/valgrind_roundtrip.sh [path/to/nnfit]   (default build/src/cli/nnfit)
set -eu
NNFIT=$(realpath "${1:-build/src/cli/nnfit}")
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 2; }
dir=$(mktemp -d /tmp/nnfit-valgrind-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export OPENBLAS_NUM_THREADS=1
vg() {
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        "$NNFIT" "$@"
}
vg data --task abs --n 512 --out abs.csv >/dev/null
vg train --data abs.csv --inputs 2 --layers 2,3,1 --epochs 3 --val-split 0.2 --quiet --save m.safetensors >/dev/null
vg predict --model m.safetensors --data abs.csv --out p.npy 2>/dev/null
vg train --data abs.csv --inputs 2 --init-model m.safetensors --epochs 1 --quiet --save m2.safetensors >/dev/null
vg predict --model m2.safetensors --data abs.csv >/dev/null 2>&1
vg inspect m2.safetensors >/dev/null
# bad input must fail cleanly (exit 2), not with a valgrind error (exit 1)
printf '1,2\n3\n' > ragged.csv
printf '{"bad json' > bad.safetensors
for args in "train --data ragged.csv --inputs 1 --layers 1,1 --quiet" \
            "predict --model bad.safetensors --data abs.csv" \
            "predict --model m.safetensors --data p.npy"; do
    rc=0
    # shellcheck disable=SC2086
    vg $args >/dev/null 2>&1 || rc=$?
    if [ "$rc" != 2 ]; then echo "valgrind_roundtrip: '$args' exited $rc, expected 2" >&2; exit 1; fi
done
echo "valgrind_roundtrip: clean"
