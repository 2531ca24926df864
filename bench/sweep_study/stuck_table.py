#!/usr/bin/env python3
"""What the stuck runs of an abs sweep are: groups the trials of a `nnfit sweep --out` CSV by
final loss (the clusters of the 3-unit abs net) and counts the neuron-diagnostic states of each
group.  usage: stuck_table.py results.csv[.gz] [ACT,ACT...] [OPT,OPT...]"""
import csv
import gzip
import sys
from collections import Counter, defaultdict

path = sys.argv[1]
acts = set(sys.argv[2].split(",")) if len(sys.argv) > 2 and sys.argv[2] else None
opts = set(sys.argv[3].split(",")) if len(sys.argv) > 3 and sys.argv[3] else None
bins = [(0, 2e-3, "< 2e-3 (success)"), (2e-3, 1e-2, "2e-3 - 1e-2"), (1e-2, 4.6e-2, "1e-2 - 4.6e-2"),
        (4.6e-2, 6e-2, "4.6e-2 - 6e-2"), (6e-2, 7.5e-2, "6e-2 - 7.5e-2"), (7.5e-2, 1e9, ">= 7.5e-2")]
groups = defaultdict(list)
diverged = Counter()
n = 0
for r in csv.DictReader(gzip.open(path, "rt") if path.endswith(".gz") else open(path)):
    if acts and r["act"] not in acts or opts and r["opt"] not in opts or r["done"] != "1":
        continue
    n += 1
    if int(r["diverged_epoch"]):
        diverged[r["opt"]] += 1
        continue
    f = float(r["final_loss"])
    for lo, hi, name in bins:
        if lo <= f < hi:
            groups[name].append(r)
            break
print(f"{n} trials ({'all' if not acts else ','.join(sorted(acts))}; {'all' if not opts else ','.join(sorted(opts))}); diverged: {dict(diverged) or 0}")
print("| final loss | trials | min | max | >=1 dead | 2+ dead | no dead: duplicate | no dead: parallel | no dead/dup/par: always-on | none of these |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
fail_dead = fail_dup = fail_par = fail_on = fail_none = fails = 0
for lo, hi, name in bins:
    g = groups.get(name, [])
    if not g:
        continue
    fl = [float(r["final_loss"]) for r in g]
    d1 = sum(int(r["dead"]) >= 1 for r in g)
    d2 = sum(int(r["dead"]) >= 2 for r in g)
    nd = [r for r in g if int(r["dead"]) == 0]
    dup = sum(int(r["duplicate"]) > 0 for r in nd)
    par = sum(int(r["duplicate"]) == 0 and int(r["parallel"]) > 0 for r in nd)
    on = sum(int(r["duplicate"]) == 0 and int(r["parallel"]) == 0 and int(r["always_on"]) > 0 for r in nd)
    rest = len(nd) - dup - par - on
    print(f"| {name} | {len(g)} | {min(fl):.3g} | {max(fl):.3g} | {d1} | {d2} | {dup} | {par} | {on} | {rest} |")
    if lo >= 2e-3:
        fails += len(g); fail_dead += d1; fail_dup += dup; fail_par += par; fail_on += on; fail_none += rest
if fails:
    print(f"failures {fails}: >=1 dead {fail_dead} ({100*fail_dead/fails:.0f}%), duplicate {fail_dup} ({100*fail_dup/fails:.0f}%), "
          f"parallel {fail_par} ({100*fail_par/fails:.0f}%), always-on {fail_on} ({100*fail_on/fails:.0f}%), none {fail_none} ({100*fail_none/fails:.0f}%)")
