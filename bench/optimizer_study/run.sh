#!/bin/sh
# The optimizer study (README.md in this folder): every optimizer tuned on the same budget, then
# evaluated on fresh seeds, next to the same optimizers at their default hyperparameters.  Run
# from an empty folder with nnfit installed (or NNFIT=path/to/nnfit); writes abs.csv,
# teacher10.csv, the results (*.json, *_trials.csv), the printed summaries (*.txt), a journal
# per sweep (*.journal: kill the script and run it again, only the missing trials run) and two
# reports (abs_report/, both_report/).  Then `tables.py .` prints the README's tables.
#
# The sizes are environment variables; the defaults are the ones the README reports:
#   R_ABS=200 R_BOTH=200 R_BOTH_DEFAULT=100 BUDGET=16 ETA=2 JOBS=2
set -e
NNFIT=${NNFIT:-nnfit}
HERE=$(cd "$(dirname "$0")" && pwd)
R_ABS=${R_ABS:-200}
R_BOTH=${R_BOTH:-200}
R_BOTH_DEFAULT=${R_BOTH_DEFAULT:-100}
BUDGET=${BUDGET:-16}
ETA=${ETA:-2}
JOBS=${JOBS:-2}
OPTS=sgd,adam,rmsprop,adagrad,adadelta,adamw,adamax,nadam,radam,asgd,rprop,lion,adafactor,ftrl,lbfgs,lm
TUNE="--tune lr=1e-4:1:log --tune momentum=0:0.99 --budget $BUDGET --halving $ETA"
COMMON="--opt $OPTS --ttt-unit seconds --jobs $JOBS --quiet"

# 1. abs 2->3->1, 300 epochs of batch 64: BUDGET configurations x 5 tuning seeds per optimizer,
#    then R_ABS fresh restarts
ABS="--task abs --epochs 300 --batch 64"
$NNFIT sweep $ABS $COMMON $TUNE --tune-restarts 5 --restarts $R_ABS --journal abs.journal \
    --out abs_trials.csv --json abs.json --report abs_report > abs.txt

# 2. both problems in one sweep (performance profiles across them): abs and teacher-student k=10
#    (x ~ N(0, I_10), y = sum relu(x_i), 8192 rows), 100 epochs of batch 64, 4 tuning seeds
$NNFIT data --task abs --out abs.csv --quiet
/usr/bin/python3 "$HERE/gen_teacher.py" teacher10.csv
BOTH="--data abs.csv,teacher10.csv --inputs 2,10 --layers 2,3,1;10,10,1 --target 2e-3,1e-2 --epochs 100 --batch 64"
$NNFIT sweep $BOTH $COMMON $TUNE --tune-restarts 4 --restarts $R_BOTH --journal both.journal \
    --out both_trials.csv --json both.json --report both_report > both.txt

# 3. the same optimizers at their defaults, on the evaluation seeds of 1 and 2
$NNFIT sweep $ABS $COMMON --restarts $R_ABS --journal abs_default.journal \
    --out abs_default_trials.csv --json abs_default.json > abs_default.txt
$NNFIT sweep $BOTH $COMMON --restarts $R_BOTH_DEFAULT --journal both_default.journal \
    --out both_default_trials.csv --json both_default.json > both_default.txt
