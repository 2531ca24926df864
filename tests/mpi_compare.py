#!/usr/bin/env python3
"""Compares two `nnfit sweep` results (stdout text, --out CSV, --json, --plot folder) with the
timing columns left out: CSV `seconds` and `ttt_seconds`, JSON `seconds`, `ttt_seconds`,
`trials_per_second` and the seconds quartiles of the time to target, the summary's trials/s column.  Usage: mpi_compare.py DIR_A DIR_B  (each holding out.txt out.csv out.json plot/).
Exit 0 when equal, 1 with the first difference printed."""
import csv, json, os, sys

def text(path):
    rows = []
    for line in open(path):
        line = line.rstrip("\n")
        if "]%" in line:  # a summary row: its last column is trials/s
            line = line.rsplit(None, 1)[0]
        rows.append(line.rstrip())
    return rows

def table(path):
    r = list(csv.reader(open(path)))
    drop = {r[0].index(c) for c in ("seconds", "ttt_seconds") if c in r[0]}
    return [[v for i, v in enumerate(row) if i not in drop] for row in r]

def js(path):
    d = json.load(open(path))
    for t in d["trials"]:
        t.pop("seconds", None)
        t.pop("ttt_seconds", None)
    for s in d["settings"]:
        s.pop("trials_per_second", None)
        s.get("time_to_target", {}).pop("seconds", None)
    return d

def main(a, b):
    for name, read in [("out.txt", text), ("out.csv", table), ("out.json", js)]:
        x, y = read(os.path.join(a, name)), read(os.path.join(b, name))
        if x != y:
            print(f"{name} differs between {a} and {b}")
            if isinstance(x, list):
                for i, (u, v) in enumerate(zip(x, y)):
                    if u != v:
                        print(f"  line {i + 1}:\n  {u}\n  {v}")
                        break
            return 1
    pa, pb = os.path.join(a, "plot"), os.path.join(b, "plot")
    if os.path.isdir(pa) and os.path.isdir(pb):  # --plot given to both
        fa = sorted(f for f in os.listdir(pa) if f.endswith(".dat"))
        fb = sorted(f for f in os.listdir(pb) if f.endswith(".dat"))
        if fa != fb or not fa:
            print(f"plot folders hold other data files (.dat): {fa} vs {fb}")
            return 1
        for f in fa:
            if open(os.path.join(pa, f), "rb").read() != open(os.path.join(pb, f), "rb").read():
                print(f"plot/{f} differs")
                return 1
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
