#!/bin/sh
# aids_preview.sh — quick preview of the training aids on the 2→3→1 abs net:
# SEEDS seeds per setting of `nnfit train --task abs --epochs 300 --batch 64`, counting
# final_loss < 1.5e-3 (the hexagonal-pyramid fit; stuck runs end near 4e-3 or above).
# Usage: bench/aids_preview.sh [NNFIT] [SEEDS]   (not the 1000-restart study: see nnfit sweep)
NNFIT=${1:-build/src/cli/nnfit}
SEEDS=${2:-50}
run() {
    label=$1
    shift
    ok=0
    total=0
    sum=0
    s=0
    while [ "$s" -lt "$SEEDS" ]; do
        line=$("$NNFIT" train --quiet --threads 1 --task abs --epochs 300 --batch 64 --seed "$s" "$@" |
            awk '/^final_loss:/ {print $2} /^seconds:/ {print $2}' | tr '\n' ' ')
        loss=${line%% *}
        secs=${line#* }
        ok=$(awk -v l="$loss" -v o="$ok" 'BEGIN {print (l < 1.5e-3) ? o + 1 : o}')
        sum=$(awk -v a="$sum" -v b="$secs" 'BEGIN {print a + b}')
        total=$((total + 1))
        s=$((s + 1))
    done
    printf '%-58s %3d/%-3d  %.3f s/run\n' "$label" "$ok" "$total" "$(awk -v a="$sum" -v n="$total" 'BEGIN {print a / n}')"
}
run "baseline (adam 1e-3, glorot_uniform, zero bias)"
run "--init orthogonal" --init orthogonal
run "--init rai" --init rai
run "--bias-init 0.1" --bias-init 0.1
run "--init data_kink" --init data_kink
run "--revive-every 20" --revive-every 20
run "--revive-every 20 --init data_kink" --revive-every 20 --init data_kink
run "--repel 0.01" --repel 0.01
run "--repel 0.1 --repel-anneal" --repel 0.1 --repel-anneal
run "--dropout 0.1" --dropout 0.1
run "--decoupled-weight-decay 1e-4" --decoupled-weight-decay 1e-4
run "--clip-norm 1" --clip-norm 1
run "--schedule cosine" --schedule cosine
run "--warmup 10" --warmup 10
run "--schedule plateau" --schedule plateau
run "--lr 0.01 (reference)" --lr 0.01
