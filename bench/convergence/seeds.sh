#!/bin/sh
# Runs `nnfit train OPTIONS --seed S --threads 1` for S = 0 .. SEEDS-1 on JOBS processes and
# prints one CSV row per seed: seed, final_loss, final_val_loss (empty without a validation
# set), user CPU seconds of the process.
#   bench/convergence/seeds.sh NNFIT SEEDS JOBS OPTIONS...
set -eu
N=$1 S=$2 J=$3
shift 3
echo "seed,final_loss,final_val_loss,cpu_seconds"
seq 0 $((S - 1)) | xargs -P "$J" -I{} sh -c '
    out=$( { /usr/bin/time -f "cpu %U" "$0" train "$@" --seed {} --threads 1 --quiet; } 2>&1 ) || true
    fl=$(echo "$out" | sed -n "s/^final_loss: //p")
    vl=$(echo "$out" | sed -n "s/^final_val_loss: //p")
    cpu=$(echo "$out" | sed -n "s/^cpu //p")
    echo "{},$fl,$vl,$cpu"' "$N" "$@" | sort -t, -k1,1n
