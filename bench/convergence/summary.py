#!/usr/bin/python3
"""Summary of a seeds.sh CSV: runs, success (final loss <= THRESHOLD, or 'val': no success
column, the validation loss is the figure), Wilson 95 % interval, median / min / max of the
final and validation losses, mean CPU seconds per run.

    /usr/bin/python3 bench/convergence/summary.py RUNS.csv THRESHOLD|val [COMMAND]
"""
import csv
import math
import statistics
import sys


def wilson(k, n, z=1.959963984540054):
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z / d * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (0.0 if k == 0 else c - h), (1.0 if k == n else c + h)


rows = list(csv.DictReader(open(sys.argv[1])))
thr = sys.argv[2]
final = [float(r["final_loss"]) if r["final_loss"] else math.inf for r in rows]
val = [float(r["final_val_loss"]) for r in rows if r["final_val_loss"]]
cpu = [float(r["cpu_seconds"]) for r in rows if r["cpu_seconds"]]
print("# runs: %d seeds 0..%d; %s" % (len(rows), len(rows) - 1, sys.argv[3] if len(sys.argv) > 3 else ""))
line = "n %d" % len(rows)
if thr != "val":
    k = sum(f <= float(thr) for f in final)
    lo, hi = wilson(k, len(rows))
    line += "  success %d/%d = %.1f%%  Wilson [%.1f, %.1f]%%" % (k, len(rows), 100 * k / len(rows), 100 * lo, 100 * hi)
line += "  final median %.4g [%.4g, %.4g]" % (statistics.median(final), min(final), max(final))
if val:
    line += "  val median %.4g [%.4g, %.4g]" % (statistics.median(val), min(val), max(val))
if cpu:
    line += "  cpu %.3f s/run" % statistics.mean(cpu)
print(line)
print("# per seed: " + " ".join("%s:%s%s" % (r["seed"], r["final_loss"], "/" + r["final_val_loss"] if r["final_val_loss"] else "") for r in rows))
