#!/bin/sh
# sweep_abs.sh — scale benchmark of `nnfit sweep` against a PyTorch peer on the abs task:
# TRIALS independent 2→3→1 ReLU nets, 3000 full-batch Adam steps (lr 0.01) on 4096 samples.
# nnfit runs the trials on JOBS worker threads (one BLAS thread each); the peer
# (bench/peers/torch_sweep.py) trains all trials at once, batched with torch.bmm, on JOBS
# intra-op threads.  Both get the same cores; the ratio of trials per second is printed.
#
# usage: bench/sweep_abs.sh [TRIALS] [JOBS] [STEPS]      (defaults 1000, 2, 3000)
#        NNFIT=path/to/nnfit  PYTHON=/usr/bin/python3   override the programs
set -eu
TRIALS=${1:-1000}
JOBS=${2:-2}
STEPS=${3:-3000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NNFIT=${NNFIT:-$ROOT/build/src/cli/nnfit}
PYTHON=${PYTHON:-/usr/bin/python3}
now() { date +%s.%N; }

t0=$(now)
"$NNFIT" sweep --task abs --n 4096 --batch 0 --epochs "$STEPS" --opt adam --lr 0.01 --act relu \
  --layers 2,3,1 --restarts "$TRIALS" --jobs "$JOBS" --quiet > /tmp/nnfit_sweep_bench.$$ 
t1=$(now)
nn=$(echo "$t1 - $t0" | bc -l)
nn_ok=$(awk '$2=="adam" {print $8}' /tmp/nnfit_sweep_bench.$$)
rm -f /tmp/nnfit_sweep_bench.$$

out=$(OMP_NUM_THREADS=$JOBS "$PYTHON" "$ROOT/bench/peers/torch_sweep.py" --trials "$TRIALS" --steps "$STEPS" \
  --n 4096 --lr 0.01 --threads "$JOBS")
tt=$(echo "$out" | awk '/^seconds:/ {print $2}')
t_ok=$(echo "$out" | awk '/^success:/ {print $2}')

printf 'trials: %s   steps: %s   samples: 4096   jobs/threads: %s\n' "$TRIALS" "$STEPS" "$JOBS"
printf 'nnfit sweep:   %8.2f s  %8.2f trials/s  success %s\n' "$nn" "$(echo "$TRIALS / $nn" | bc -l)" "$nn_ok"
printf 'torch (bmm):   %8.2f s  %8.2f trials/s  success %s\n' "$tt" "$(echo "$TRIALS / $tt" | bc -l)" "$t_ok"
printf 'ratio (torch time / nnfit time): %.1fx\n' "$(echo "$tt / $nn" | bc -l)"
