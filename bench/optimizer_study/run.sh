#!/bin/sh
# The optimizer study (README.md in this folder): every optimizer tuned on the same budget, then
# evaluated on fresh seeds.  Run from an empty folder with nnfit installed (or NNFIT=path/to/nnfit);
# writes abs.csv, teacher10.csv, the results (*.json, *_trials.csv), the printed summaries (*.txt)
# and two reports (abs_report/, both_report/).
set -e
NNFIT=${NNFIT:-nnfit}
HERE=$(cd "$(dirname "$0")" && pwd)
OPTS=sgd,adam,rmsprop,adagrad,adadelta,adamw,adamax,nadam,radam,asgd,rprop,lion,adafactor,ftrl,lbfgs,lm
TUNE="--tune lr=1e-4:1:log --tune momentum=0:0.99 --budget 8 --halving 2 --ttt-unit seconds"

# 1. abs 2->3->1: 8 configurations x 3 tuning seeds per optimizer, then 200 fresh restarts
$NNFIT sweep --task abs --epochs 300 --batch 64 --opt $OPTS $TUNE --tune-restarts 3 \
    --restarts 200 --jobs 2 --quiet --out abs_trials.csv --json abs.json --report abs_report > abs.txt

# 2. both problems in one sweep (performance profiles across them): abs and teacher-student k=10
#    (x ~ N(0, I_10), y = sum relu(x_i), 8192 rows) at 100 epochs, 2 tuning seeds, 30 restarts
$NNFIT data --task abs --out abs.csv --quiet
/usr/bin/python3 "$HERE/gen_teacher.py" teacher10.csv
$NNFIT sweep --data abs.csv,teacher10.csv --inputs 2,10 --layers '2,3,1;10,10,1' --target 2e-3,1e-2 \
    --epochs 100 --batch 64 --opt $OPTS $TUNE --tune-restarts 2 \
    --restarts 30 --jobs 2 --quiet --out both_trials.csv --json both.json --report both_report > both.txt
