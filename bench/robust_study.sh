#!/bin/sh
# The 3-ReLU abs robustness study (bench/robust_study/README.md): baseline, each aid alone, the
# first robust preset (P1 below, spelled out: --preset robust now expands to the grow-and-prune
# method of bench/convergence/), and P1 again on other seeds.  Summaries go to bench/robust_study/.
#   bench/robust_study.sh [NNFIT] [JOBS] [RESTARTS_SINGLE]
set -eu
N=${1:-build/src/cli/nnfit}
J=${2:-2}
R1=${3:-1000}
D=$(dirname "$0")/robust_study
mkdir -p "$D"
BASE="--task abs --epochs 300 --batch 64 --jobs $J --quiet"
run() { # name restarts options...
    name=$1 r=$2
    shift 2
    start=$(date +%s.%N)
    $N sweep $BASE --restarts "$r" "$@" --out "/tmp/robust_$name.csv" > "$D/$name.txt"
    end=$(date +%s.%N)
    echo "# wall: $(echo "$end - $start" | bc) s for $r restarts, --jobs $J; options: $*" >> "$D/$name.txt"
    python3 - "/tmp/robust_$name.csv" >> "$D/$name.txt" <<'PY'
import csv, sys, statistics
rows = list(csv.DictReader(open(sys.argv[1])))
print("# mean seconds per trial: %.4f" % statistics.mean(float(r["seconds"]) for r in rows))
PY
    sed -n 3p "$D/$name.txt"
}
run baseline 1000
run init_orthogonal "$R1" --init orthogonal
run init_rai "$R1" --init rai
run init_data_kink "$R1" --init data_kink
run bias_init_0.1 "$R1" --bias-init 0.1
run revive_every_10 "$R1" --revive-every 10
run repel_0.01 "$R1" --repel 0.01
run dropout_0.1 "$R1" --dropout 0.1
run clip_norm_1 "$R1" --clip-norm 1
run decoupled_wd_1e-4 "$R1" --decoupled-weight-decay 1e-4
run schedule_cosine "$R1" --schedule cosine
run warmup_10 "$R1" --warmup 10
run lr_0.003 "$R1" --lr 0.003
P1="--init data_kink --revive-every 10 --revive-edge 0.1 --lr 0.003"
run preset_robust 1000 $P1
run preset_robust_seed1 1000 $P1 --seed 1
# ablation: the edge rule and the learning rate of P1, 1000 restarts each
$N sweep $BASE --restarts 1000 --init data_kink --revive-every 10 --revive-edge 0,0.1 --lr 0.001,0.003 > "$D/ablation.txt"
