#!/bin/sh
# The convergence study (bench/convergence/README.md): minimal-width nets on abs, teacher-student,
# the spectrum, an own-data spectrum and unseen problems; baseline, the first robust preset (P1),
# the grow-and-prune method (--preset robust) and its ablations, and the remedies people suggest.
#   bench/convergence/run.sh [NNFIT] [JOBS] [SECTION...]
# SECTION: abs teacher spectrum ablations p1 remedies own unseen cost (default: all, in this
# order).  Each row's summary goes to bench/convergence/results/NAME.txt and its trials (the
# sweep's --out CSV, with the diagnostics columns dead, always_on, duplicate, parallel) to
# NAME.csv.gz; a row whose .txt exists is skipped (delete it to rerun).
set -eu
N=${1:-build/src/cli/nnfit}
J=${2:-2}
[ $# -ge 2 ] && shift 2 || shift $#
SECTIONS=${*:-abs teacher spectrum ablations p1 remedies own unseen cost}
HERE=$(dirname "$0")
D=$HERE/results
T=${TMPDIR:-/tmp}/nnfit_convergence
mkdir -p "$D" "$T"
P1="--init data_kink --revive-every 10 --revive-edge 0.1 --lr 0.003"   # the first robust preset
M="--preset robust"                                                     # the method

# sw NAME RESTARTS OPTIONS...: one sweep, its stdout and wall time into results/NAME.txt
sw() {
    name=$1 r=$2
    shift 2
    [ -s "$D/$name.txt" ] && return 0
    start=$(date +%s)
    $N sweep --restarts "$r" --jobs "$J" --quiet "$@" --out "$T/$name.csv" > "$D/$name.tmp"
    echo "# wall: $(($(date +%s) - start)) s, --jobs $J; nnfit sweep --restarts $r $*" >> "$D/$name.tmp"
    gzip -9n < "$T/$name.csv" > "$D/$name.csv.gz"
    mv "$D/$name.tmp" "$D/$name.txt"
    echo "$name:"
    awk '/^ *# +setting/ { f = 1; next } f && /^$/ { exit } f' "$D/$name.txt"
}

# seeds NAME SEEDS THRESHOLD OPTIONS...: nnfit train for seeds 0.., summary into results/NAME.txt
seeds() {
    name=$1 s=$2 thr=$3
    shift 3
    [ -s "$D/$name.txt" ] && return 0
    "$HERE/seeds.sh" "$N" "$s" "$J" "$@" > "$T/$name.csv"
    /usr/bin/python3 "$HERE/summary.py" "$T/$name.csv" "$thr" "nnfit train $* --seed S --threads 1" > "$D/$name.txt"
    cat "$D/$name.txt" | sed -n 2p
}

ABS="--task abs --epochs 300 --batch 64"
SPEC="--task spectrum --layers 64,97,33 --epochs 300 --batch 64 --target 0.108"
teacher_data() { [ -s "$T/teacher$1.npy" ] || $N data --task teacher --k "$1" --out "$T/teacher$1.npy" --quiet; }
TS() { echo "--data $T/teacher$1.npy --inputs $1 --layers $1,$1,1 --epochs 300 --batch 64 --target 1e-3"; }

for sec in $SECTIONS; do
    case $sec in
    abs)
        sw abs_baseline 1000 $ABS
        sw abs_method 1000 $ABS $M
        sw abs_method_seed1 1000 $ABS $M --seed 1
        ;;
    teacher)
        for k in 6 10 15 20; do
            teacher_data $k
            sw teacher${k}_baseline 200 $(TS $k)
            sw teacher${k}_method 200 $(TS $k) $M
        done
        ;;
    spectrum)
        sw spectrum_baseline 50 $SPEC
        sw spectrum_method 50 $SPEC $M
        ;;
    ablations)
        # one part of the method changed at a time, cheapest problem first: the spectrum (10
        # restarts), teacher-student k = 20 (50 restarts), abs (300 restarts, seed 0; the
        # units-only row has 1000)
        sw spectrum_method_units_only 10 $SPEC $M --prune-units-only
        sw spectrum_no_grow 10 $SPEC --revive-every 10 --schedule cosine --lr 0.01
        sw spectrum_method_grow1.5 10 $SPEC $M --grow 1.5
        sw spectrum_method_no_revival 10 $SPEC $M --revive-every 0
        teacher_data 20
        k=20
        sw teacher20_no_grow 50 $(TS $k) --revive-every 10 --schedule cosine --lr 0.01
        sw teacher20_grow_only 50 $(TS $k) --grow 2
        sw teacher20_method_no_revival 50 $(TS $k) $M --revive-every 0
        sw teacher20_method_no_cosine 50 $(TS $k) $M --schedule none
        sw teacher20_method_lr0.001 50 $(TS $k) $M --lr 0.001
        sw teacher20_method_units_only 50 $(TS $k) $M --prune-units-only
        sw teacher20_method_grow1.5 50 $(TS $k) $M --grow 1.5
        sw abs_method_units_only 1000 $ABS $M --prune-units-only
        sw abs_no_grow 300 $ABS --revive-every 10 --schedule cosine --lr 0.01
        sw abs_grow_only 300 $ABS --grow 2
        sw abs_method_no_revival 300 $ABS $M --revive-every 0
        sw abs_method_no_cosine 300 $ABS $M --schedule none
        sw abs_method_lr0.001 300 $ABS $M --lr 0.001
        sw abs_method_grow1.5 300 $ABS $M --grow 1.5
        ;;
    p1)
        # the first robust preset
        sw abs_p1 1000 $ABS $P1
        for k in 6 10 15 20; do
            teacher_data $k
            sw teacher${k}_p1 200 $(TS $k) $P1
        done
        sw spectrum_p1 50 $SPEC $P1
        ;;
    own)
        [ -s "$T/own.npy" ] || /usr/bin/python3 "$HERE/own_spectrum.py" "$T/own.npy"
        OWN="--data $T/own.npy --inputs 16 --layers 16,64,9 --epochs 200 --val-split 0.2"
        seeds own_default 5 val $OWN
        seeds own_p1 5 val $OWN $P1
        seeds own_method 5 val $OWN $M
        seeds own_lr0.01_cosine 5 val $OWN --lr 0.01 --schedule cosine
        ;;
    remedies)
        # the remedies of the question's thread, each added to the baseline at the minimal
        # width, cheapest first: teacher-student k = 10 (50 restarts) and abs (300 restarts);
        # then the method with the learnable activations, then "more units" (plain Adam at
        # larger widths)
        teacher_data 10
        TEN=$(TS 10)
        sw teacher10_dropout0.1 50 $TEN --dropout 0.1
        sw teacher10_tanh_2layers 50 $TEN --layers 10,10,10,1 --act tanh
        sw teacher10_sigmoid 50 $TEN --act sigmoid
        sw teacher10_elu 50 $TEN --act elu
        sw teacher10_softplus 50 $TEN --act softplus
        sw teacher10_prelu 50 $TEN --act prelu
        sw teacher10_elu_learn 50 $TEN --act elu_learn
        sw abs_dropout0.1 300 $ABS --dropout 0.1
        sw abs_tanh_2layers 300 $ABS --layers 2,3,3,1 --act tanh
        sw abs_sigmoid 300 $ABS --act sigmoid
        sw abs_elu 300 $ABS --act elu
        sw abs_softplus 300 $ABS --act softplus
        sw abs_prelu 300 $ABS --act prelu
        sw abs_elu_learn 300 $ABS --act elu_learn
        sw teacher10_method_prelu 50 $TEN $M --act prelu
        sw teacher10_method_elu_learn 50 $TEN $M --act elu_learn
        sw abs_method_prelu 300 $ABS $M --act prelu
        sw abs_method_elu_learn 300 $ABS $M --act elu_learn
        sw abs_widths 200 $ABS --hidden 4,5,6,8,12,16
        sw teacher10_widths 50 $(echo "$TEN" | sed 's/--layers 10,10,1//') --hidden 12,15,20,30,40
        ;;
    unseen)
        for set in dev heldout; do
            /usr/bin/python3 "$HERE/unseen.py" "$T/$set" 4096 7 $set > "$T/$set.txt"
            while read -r name inputs layers var; do
                thr=$(/usr/bin/python3 -c "print('%.6g' % (1e-3 * $var))")
                U="--data $T/$set/$name.npy --inputs $inputs --layers $layers --epochs 300 --batch 64 --target $thr"
                sw unseen_${name}_baseline 50 $U
                sw unseen_${name}_method 50 $U $M
            done < "$T/$set.txt"
        done
        ;;
    cost)
        # CPU seconds per trial, one worker, baseline and method back to back (user + system
        # time of the whole sweep / restarts)
        teacher_data 10
        teacher_data 20
        [ -s "$D/cost.txt" ] && continue
        {
            echo "problem,setting,restarts,cpu_seconds_per_trial"
            for p in "abs|50|$ABS" "teacher10|10|$(TS 10)" "teacher20|10|$(TS 20)" "spectrum|4|$SPEC"; do
                prob=${p%%|*} rest=${p#*|} r=${rest%%|*} opts=${rest#*|}
                for s in baseline method; do
                    extra=""
                    [ $s = method ] && extra=$M
                    t=$( { /usr/bin/time -f "%U %S" $N sweep --restarts "$r" --jobs 1 --quiet $opts $extra > /dev/null; } 2>&1 | tail -1)
                    echo "$prob,$s,$r,$(echo "$t" | awk -v r="$r" '{printf "%.4f", ($1 + $2) / r}')"
                done
            done
        } > "$D/cost.tmp"
        mv "$D/cost.tmp" "$D/cost.txt"
        cat "$D/cost.txt"
        ;;
    *) echo "unknown section $sec" >&2; exit 2 ;;
    esac
done
