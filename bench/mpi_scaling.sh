#!/usr/bin/env bash
# Scaling of nnfit under mpirun on one machine: a sweep's strong scaling 1 -> 2 ranks, and
# data-parallel training at 2 ranks against one process (1 thread, and the 2-thread row split).
# Prints one line per run and the medians; REPS (default 3) runs each, alternating configurations
# so load changes hit all alike.  Usage: bench/mpi_scaling.sh [NNFIT]  (default build/src/cli/nnfit)
set -euo pipefail
NNFIT=${1:-build/src/cli/nnfit}
NNFIT=$(readlink -f "$NNFIT")
REPS=${REPS:-3}
MPIRUN="mpirun --oversubscribe --allow-run-as-root --mca btl tcp,self --bind-to none"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "# $(date -u +%FT%TZ)  $(nproc) cores  load: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
wall() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

# ---- sweep: 24 trials of 0.2-1 s (adam and lbfgs on abs, unequal on purpose), one worker
# thread per rank; jobs2 is the same sweep on one process's two worker threads
SWEEP=(sweep --opt adam,lbfgs --restarts 12 --epochs 1500 --quiet)
declare -A T
for r in $(seq "$REPS"); do
    T[np1]+="$(wall $MPIRUN -np 1 "$NNFIT" "${SWEEP[@]}" --jobs 1) "
    T[np2]+="$(wall $MPIRUN -np 2 "$NNFIT" "${SWEEP[@]}" --jobs 1) "
    T[jobs2]+="$(wall "$NNFIT" "${SWEEP[@]}" --jobs 2) "
done
for k in np1 np2 jobs2; do
    printf "sweep %-6s runs %s  median %.2f s\n" "$k" "${T[$k]}" "$(tr ' ' '\n' <<< "${T[$k]}" | grep . | median)"
done
m1=$(tr ' ' '\n' <<< "${T[np1]}" | grep . | median); m2=$(tr ' ' '\n' <<< "${T[np2]}" | grep . | median)
printf "sweep speedup 1 -> 2 ranks: %.2fx\n" "$(echo "$m1 / $m2" | bc -l)"

# ---- data-parallel train: samples/s of the training loop (nnfit train prints it)
/usr/bin/python3 -c "
import numpy as np
r = np.random.default_rng(1)
np.save('mlp.npy', r.standard_normal((8192, 512), dtype=np.float32))"
sps() { "$@" 2>/dev/null | sed -n 's/^samples_per_second: //p'; }
declare -A S
DFT=(train --task dft --frame 1024 --dft-full --n 4096 --batch 4096 --epochs 4 --opt adam --seed 1)
MLP=(train --data mlp.npy --inputs 256 --layers 256,512,512,256 --batch 4096 --epochs 3 --opt adam --seed 1)
for r in $(seq "$REPS"); do
    for w in DFT MLP; do
        declare -n A=$w
        S[$w-t1]+="$(sps "$NNFIT" "${A[@]}" --threads 1) "
        S[$w-t2]+="$(sps "$NNFIT" "${A[@]}" --threads 2) "
        S[$w-np2]+="$(sps $MPIRUN -np 2 "$NNFIT" "${A[@]}" --threads 1) "
    done
done
for w in DFT MLP; do
    for k in t1 t2 np2; do
        printf "%s %-4s samples/s %s median %.0f\n" "$w" "$k" "${S[$w-$k]}" "$(tr ' ' '\n' <<< "${S[$w-$k]}" | grep . | median)"
    done
done
echo "# load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
