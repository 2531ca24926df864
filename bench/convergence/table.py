#!/usr/bin/python3
"""Markdown tables of the study's rows: for every results/NAME.txt written by run.sh, each
setting's restarts, success, Wilson 95 % interval, median final loss, wall time per trial and
its ratio to the problem's baseline row (NAME_baseline, the same run.sh invocation); with the
trials' CSV (NAME.csv.gz) also the median seconds of one trial and the failed trials' modes:
how many failures had a dead, always-on, duplicate or parallel unit (the sweep's diagnostics
columns) and how many none of these.  For teacher-student rows, "missed" is the failures'
median final loss in units of Var(|x|/2) = (1 - 2/pi)/4 ~ 0.0908, the cost of one teacher
unit left uncovered.

    /usr/bin/python3 bench/convergence/table.py [RESULTS_DIR] [PATTERN...]

PATTERN: row names, shell-style wildcards allowed (teacher*_method); the rows come in the
order of the patterns, each pattern's matches in natural order (teacher6 before teacher10).
Without patterns: every row.
"""
import csv
import fnmatch
import gzip
import math
import os
import re
import statistics
import sys

D = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results")
patterns = sys.argv[2:] or ["*"]
ROW = re.compile(r"^\s*(\d+)\s+(.*?)\s+(\d+)\s+([\d.]+)%\s+\[\s*([\d.]+),\s*([\d.]+)\]%\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)"
                 r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")
WALL = re.compile(r"^# wall: (\d+) s, --jobs (\d+)")
UNIT = (1 - 2 / math.pi) / 4


def rows_of(name):
    out, wall, jobs = [], None, None
    for line in open(os.path.join(D, name + ".txt")):
        m = WALL.match(line)
        if m:
            wall, jobs = int(m.group(1)), int(m.group(2))
            continue
        m = ROW.match(line)
        if m and not line.lstrip().startswith("#"):
            out.append(dict(idx=m.group(1), setting=m.group(2), n=int(m.group(3)), succ=float(m.group(4)),
                            lo=float(m.group(5)), hi=float(m.group(6)), median=float(m.group(7)),
                            dead=float(m.group(11)), alw=float(m.group(12)), dup=float(m.group(13)),
                            par=float(m.group(14))))
    trials = {}
    p = os.path.join(D, name + ".csv.gz")
    if os.path.exists(p):
        for t in csv.DictReader(gzip.open(p, "rt")):
            trials.setdefault(t["setting"], []).append(t)
    total = sum(r["n"] for r in out)
    for r in out:
        r["wall_per_trial"] = wall * jobs / total if wall and total else None
        r["trials"] = trials.get(r["idx"], [])
    return out


def short(setting):
    """The setting without what every row shares; the preset's options as "robust"."""
    s = re.sub(r"\s*batch=64 epochs=300|glorot_uniform\s*", "", setting)
    if "grow=2" in s and "revive-every=10" in s and "schedule=cosine" in s and "adam(lr=0.01)" in s:
        s = "robust " + re.sub(r"\s*(revive-every=10|grow=2|schedule=cosine)", "", s.replace("adam(lr=0.01)", "adam"))
    return re.sub(r"\s+", " ", s).strip()


def modes(r, teacher):
    trials = r["trials"]
    if not trials:
        if r["succ"] == 100.0:
            return "-"
        return "(no trial file) mean per trial: dead %.2f, alw %.2f, dup %.2f, par %.2f" % (
            r["dead"], r["alw"], r["dup"], r["par"])
    f = [t for t in trials if t["success"] != "1"]
    if not f:
        return "-"
    c = lambda k: sum(int(t[k]) > 0 for t in f)
    none = sum(all(int(t[k]) == 0 for k in ("dead", "always_on", "duplicate", "parallel")) for t in f)
    s = "%d failed: dead %d, alw %d, dup %d, par %d, none %d" % (len(f), c("dead"), c("always_on"), c("duplicate"),
                                                                c("parallel"), none)
    if teacher:
        loss = [float(t["final_loss"]) for t in f if t["final_loss"] not in ("", "nan", "inf")]
        if loss:
            s += "; missed ~%.1f" % (statistics.median(loss) / UNIT)
    return s


natural = lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)]
every = sorted((f[:-4] for f in os.listdir(D) if f.endswith(".txt")), key=natural)
names = []
for pat in patterns:
    names += [n for n in every if fnmatch.fnmatchcase(n, pat) and n not in names]
print("| row | setting | restarts | success | Wilson 95 % | median loss | s/trial | wall × baseline | failure modes |")
print("|---|---|---|---|---|---|---|---|---|")
for name in names:
    try:
        rows = rows_of(name)
    except (OSError, ValueError):
        continue
    base_name = re.sub(r"_(method.*|p1|baseline|no_grow|grow_only|dropout.*|tanh.*|sigmoid|elu.*|softplus|prelu|widths)$", "",
                       name) + "_baseline"
    base = rows_of(base_name) if os.path.exists(os.path.join(D, base_name + ".txt")) else []
    for r in rows:
        ratio = ""
        if base and r["wall_per_trial"] and base[0]["wall_per_trial"]:
            ratio = "%.2f" % (r["wall_per_trial"] / base[0]["wall_per_trial"])
        sec = statistics.median(float(t["seconds"]) for t in r["trials"]) if r["trials"] else r["wall_per_trial"]
        print("| %s | %s | %d | %.1f %% | [%.1f, %.1f] | %.4g | %s | %s | %s |" % (
            name, short(r["setting"]), r["n"], r["succ"], r["lo"], r["hi"], r["median"],
            "%.3f" % sec if sec else "", ratio, modes(r, name.startswith("teacher"))))
