#!/bin/sh
# The first robust preset (P1 below, spelled out: --preset robust now expands to the
# grow-and-prune method of bench/convergence/) on the spectrum task (bench/robust_study/README.md).
#   bench/robust_spectrum.sh [NNFIT] [JOBS]
# Targets: the least-squares affine fit of this data (nnfit data --task spectrum, numpy lstsq)
# has MSE 14.11 (the constant fit 14.33).  Narrow 64->16->33: success = MSE <= 12 (15 % below
# the affine fit: the hidden units are used).  Wide 64->256->33: success = MSE <= 0.1 (1/140 of
# the affine fit; single runs reach ~0.02 in 200 epochs).
set -eu
N=${1:-build/src/cli/nnfit}
J=${2:-1}
D=$(dirname "$0")/robust_study
mkdir -p "$D"
for P in "" "--init data_kink --revive-every 10 --revive-edge 0.1 --lr 0.003"; do
    tag=$( [ -n "$P" ] && echo preset || echo baseline )
    ( time $N sweep --task spectrum --layers 64,16,33 --epochs 200 --batch 64 --restarts 100 --target 12 \
        --jobs "$J" --quiet $P ) > "$D/spectrum_narrow_$tag.txt" 2>> "$D/spectrum_narrow_$tag.txt"
    ( time $N sweep --task spectrum --layers 64,256,33 --epochs 100 --batch 64 --restarts 20 --target 0.1 \
        --jobs "$J" --quiet $P ) > "$D/spectrum_wide_$tag.txt" 2>> "$D/spectrum_wide_$tag.txt"
done
