#!/usr/bin/env bash
# Scaling of nnfit under mpirun on one machine: a sweep's strong scaling 1 -> 2 ranks (and the
# same sweep on one process's 2 worker threads), and data-parallel training at 2 ranks against
# one process (1 thread, and the 2-thread row split).  REPS (default 3) repetitions; each runs
# every configuration back to back, so a repetition's ratios compare runs under about the same
# load, and the medians of those ratios are the result.  Each run also reports its CPU time
# (user + sys of the process tree): on a shared machine wall time says how much CPU the run got,
# the CPU time how much work it needed.
# Usage: bench/mpi_scaling.sh [NNFIT]  (default build/src/cli/nnfit)
set -euo pipefail
NNFIT=${1:-build/src/cli/nnfit}
NNFIT=$(readlink -f "$NNFIT")
REPS=${REPS:-3}
MPIRUN="mpirun --oversubscribe --allow-run-as-root --mca btl tcp,self --bind-to none"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# $(date -u +%FT%TZ)  $(nproc) cores  load: $(load)"

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
med() { tr ' ' '\n' <<< "$1" | grep . | median; }
# "REAL CPU" of a run (stdout kept in last.out, stderr dropped)
timed() {
    local TIMEFORMAT='%R %U %S' t
    t=$( { time "$@" > last.out 2> /dev/null; } 2>&1 )
    awk '{printf "%.3f %.3f\n", $1, $2 + $3}' <<< "$t"
}
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

# ---- sweep: 24 trials of 0.2-1 s (adam and lbfgs on abs, unequal on purpose), one worker
# thread per rank; jobs2 is the same sweep on one process's two worker threads
SWEEP=(sweep --opt adam,lbfgs --restarts 12 --epochs 1500 --quiet)
declare -A W C
R12=""; RJ=""; CPU12=""
for r in $(seq "$REPS"); do
    read -r w1 c1 < <(timed $MPIRUN -np 1 "$NNFIT" "${SWEEP[@]}" --jobs 1)
    read -r w2 c2 < <(timed $MPIRUN -np 2 "$NNFIT" "${SWEEP[@]}" --jobs 1)
    read -r wj cj < <(timed "$NNFIT" "${SWEEP[@]}" --jobs 2)
    W[np1]+="$w1 "; W[np2]+="$w2 "; W[jobs2]+="$wj "
    C[np1]+="$c1 "; C[np2]+="$c2 "; C[jobs2]+="$cj "
    R12+="$(div "$w1" "$w2") "; RJ+="$(div "$wj" "$w2") "; CPU12+="$(div "$c2" "$c1") "
    echo "# sweep repetition $r done, load $(load)"
done
for k in np1 np2 jobs2; do
    printf "sweep %-6s wall %s median %.2f s | cpu %s median %.2f s\n" "$k" "${W[$k]}" "$(med "${W[$k]}")" \
        "${C[$k]}" "$(med "${C[$k]}")"
done
printf "sweep speedup 1 -> 2 ranks (wall np1 / np2), per repetition: %s median %.2fx\n" "$R12" "$(med "$R12")"
printf "sweep one process 2 threads / 2 ranks (wall), per repetition: %s median %.2f\n" "$RJ" "$(med "$RJ")"
printf "sweep cpu 2 ranks / 1 rank, per repetition: %s median %.3f\n" "$CPU12" "$(med "$CPU12")"

# ---- data-parallel train: samples/s of the training loop (nnfit train prints it)
/usr/bin/python3 -c "
import numpy as np
r = np.random.default_rng(1)
np.save('mlp.npy', r.standard_normal((8192, 512), dtype=np.float32))"
sps() { timed "$@" > /dev/null; awk '/^samples_per_second:/ {printf "%.0f", $2}' last.out; }
declare -A S
DFT=(train --task dft --frame 1024 --dft-full --n 4096 --batch 4096 --epochs 4 --opt adam --seed 1)
MLP=(train --data mlp.npy --inputs 256 --layers 256,512,512,256 --batch 4096 --epochs 3 --opt adam --seed 1)
for r in $(seq "$REPS"); do
    for w in DFT MLP; do
        declare -n A=$w
        x=$(sps "$NNFIT" "${A[@]}" --threads 1); y=$(sps "$NNFIT" "${A[@]}" --threads 2)
        z=$(sps $MPIRUN -np 2 "$NNFIT" "${A[@]}" --threads 1)
        S[$w-t1]+="$x "; S[$w-t2]+="$y "; S[$w-np2]+="$z "
        S[$w-eff]+="$(div "$z" "$((2 * x))") "; S[$w-vs]+="$(div "$z" "$y") "
    done
    echo "# train repetition $r done, load $(load)"
done
for w in DFT MLP; do
    for k in t1 t2 np2; do
        printf "%s %-4s samples/s %s median %.0f\n" "$w" "$k" "${S[$w-$k]}" "$(med "${S[$w-$k]}")"
    done
    printf "%s 2-rank efficiency (np2 / 2 x t1), per repetition: %s median %.2f\n" "$w" "${S[$w-eff]}" \
        "$(med "${S[$w-eff]}")"
    printf "%s 2 ranks / one process 2-thread row split, per repetition: %s median %.2f\n" "$w" "${S[$w-vs]}" \
        "$(med "${S[$w-vs]}")"
done
echo "# load at the end: $(load)"
