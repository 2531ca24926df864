#!/bin/sh
# Seconds per trial: a tuned sweep (budget 4, halving 2) against the plain sweep of one lr, in
# three alternating rounds; prints the median seconds per evaluation trial and per tuning trial
# that trained to the end, and their ratios to the plain sweep's.  Run from an empty folder.
set -e
N=${NNFIT:-nnfit}
A="--task abs --epochs 300 --batch 64 --opt adam --restarts 60 --jobs 2 --quiet"
for round in 1 2 3; do
  $N sweep $A --lr 0.001 --json plain$round.json > /dev/null
  $N sweep $A --tune lr=1e-3:1.1e-3 --budget 4 --halving 2 --tune-restarts 2 --json tuned$round.json > /dev/null
done
python3 - <<'PY'
import json, statistics as st
for r in (1, 2, 3):
    p = json.load(open(f"plain{r}.json")); t = json.load(open(f"tuned{r}.json"))
    mp = st.median(x["seconds"] for x in p["trials"]); mt = st.median(x["seconds"] for x in t["trials"])
    tt = [x for g in t["tuning"]["grid_points"] for c in g["configs"] for x in c["trials"] if x["epochs_run"] == 300]
    mtt = st.median(x["seconds"] for x in tt) if tt else float("nan")
    print(f"round {r}: plain {mp*1e3:.1f} ms, tuned evaluation {mt*1e3:.1f} ms (ratio {mt/mp:.3f}), "
          f"tuning trials run to the end {mtt*1e3:.1f} ms (ratio {mtt/mp:.3f}, {len(tt)} trials)")
PY
