#!/bin/sh
# The optimizer study (README.md in this folder): every optimizer tuned on the same budget, then
# evaluated on fresh seeds, next to the same optimizers at their default hyperparameters.  Run
# from an empty folder with nnfit installed (or NNFIT=path/to/nnfit); writes abs.csv,
# teacher10.csv, the results (*.json, *_trials.csv), the printed summaries (*.txt) and two
# reports (abs_report/, both_report/).
set -e
NNFIT=${NNFIT:-nnfit}
HERE=$(cd "$(dirname "$0")" && pwd)
OPTS=sgd,adam,rmsprop,adagrad,adadelta,adamw,adamax,nadam,radam,asgd,rprop,lion,adafactor,ftrl,lbfgs,lm
TUNE="--tune lr=1e-4:1:log --tune momentum=0:0.99 --budget 16 --halving 2"

# 1. abs 2->3->1, 300 epochs of batch 64: 16 configurations x 5 tuning seeds per optimizer, then
#    200 fresh restarts; and the defaults on the same 200 seeds
$NNFIT sweep --task abs --epochs 300 --batch 64 --opt $OPTS $TUNE --tune-restarts 5 --ttt-unit seconds \
    --restarts 200 --jobs 2 --quiet --out abs_trials.csv --json abs.json --report abs_report > abs.txt
$NNFIT sweep --task abs --epochs 300 --batch 64 --opt $OPTS --ttt-unit seconds \
    --restarts 200 --jobs 2 --quiet --out abs_default_trials.csv --json abs_default.json > abs_default.txt

# 2. both problems in one sweep (performance profiles across them): abs and teacher-student k=10
#    (x ~ N(0, I_10), y = sum relu(x_i), 8192 rows), 100 epochs of batch 64, 4 tuning seeds
$NNFIT data --task abs --out abs.csv --quiet
/usr/bin/python3 "$HERE/gen_teacher.py" teacher10.csv
BOTH="--data abs.csv,teacher10.csv --inputs 2,10 --layers 2,3,1;10,10,1 --target 2e-3,1e-2 --epochs 100 --batch 64"
$NNFIT sweep $BOTH --opt $OPTS $TUNE --tune-restarts 4 --ttt-unit seconds \
    --restarts 200 --jobs 2 --quiet --out both_trials.csv --json both.json --report both_report > both.txt
$NNFIT sweep $BOTH --opt $OPTS --ttt-unit seconds \
    --restarts 200 --jobs 2 --quiet --out both_default_trials.csv --json both_default.json > both_default.txt
