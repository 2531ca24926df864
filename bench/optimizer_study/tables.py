#!/usr/bin/python3
"""The tables of README.md from the study's JSON results (run.sh writes them).

usage: tables.py [DIR]   (DIR holds abs.json, abs_default.json, both.json, both_default.json, or
                          their .json.gz; default: this folder, which keeps the study's)

Per problem: every optimizer tuned (the values chosen, success rate with its 95% Wilson
interval, the sweep's Holm-adjusted paired tests against the problem's best: exact McNemar on
success, Wilcoxon signed-rank on final loss and on time to target; median final loss; time to
target in epochs and seconds) and at its defaults (success, Wilson interval), with an exact
McNemar test of tuned against defaults on the common evaluation seeds (Holm over the 16);
how many of the 120 optimizer pairs differ in success (exact McNemar, Holm over the 120); the
performance profiles across problems (the sweep's, in seconds, and one in passes over the
data); the tuning cost.  Standard library only.
"""
import gzip
import json
import math
import os
import sys

D = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
INF = float("inf")


def load(name):
    """NAME from DIR, or NAME.gz (the copies kept in this folder)."""
    path = os.path.join(D, name)
    if os.path.exists(path):
        return json.load(open(path))
    if os.path.exists(path + ".gz"):
        return json.load(gzip.open(path + ".gz", "rt"))
    return None


def num(v):
    return INF if v == "inf" else (float("nan") if v is None else float(v))


def fnum(v, fmt="{:.3g}"):
    if v is None:
        return "-"
    v = num(v)
    if v == INF:
        return "∞"
    return fmt.format(v)


def tuned_values(s):
    o = s["options"]
    return " ".join(f"{k}={o[k]}" for k in ("lr", "momentum") if k in o) or "(none applies)"


def mcnemar(x, y):
    """Exact two-sided McNemar p of paired 0/1 lists (binomial on the discordant pairs)."""
    b = sum(1 for u, v in zip(x, y) if u and not v)
    c = sum(1 for u, v in zip(x, y) if v and not u)
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0, b, c
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n), b, c


def holm(ps):
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adj, run = [0.0] * len(ps), 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (len(ps) - rank) * ps[i]))
        adj[i] = run
    return adj


def median(v):
    v = sorted(v)
    n = len(v)
    if n == 0:
        return float("nan")
    h = (n - 1) * 0.5
    lo, hi = math.floor(h), math.ceil(h)
    if v[lo] == INF or v[hi] == INF:
        return v[hi]
    return v[lo] + (h - lo) * (v[hi] - v[lo])


def trials_of(d, problem):
    """{optimizer: [trial of restart r]} of one problem."""
    by_setting = {s["setting"]: s for s in d["settings"] if s["problem"] == problem}
    out = {s["opt"]: [None] * d["restarts"] for s in by_setting.values()}
    for t in d["trials"]:
        s = by_setting.get(t["setting"])
        if s:
            out[s["opt"]][t["restart"]] = t
    return out


def successes(d, problem, n=None):
    return {o: [1 if t["success"] else 0 for t in ts[:n]] for o, ts in trials_of(d, problem).items()}


def pairs_differing(d, problem):
    sx = successes(d, problem)
    names = sorted(sx)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    adj = holm([mcnemar(sx[a], sx[b])[0] for a, b in pairs])
    return sum(1 for p in adj if p <= 0.05), len(pairs)


def pcell(test):
    p = test["p_holm"]
    txt = f"{p:.0e}" if p < 1e-3 else f"{p:.3f}"
    return f"**{txt}**\\*" if test["significant"] else txt


def p_cells(s):
    c = s["comparison"]
    if not c["tested"]:
        return "best | best | best"
    return " | ".join(pcell(c[k]) for k in ("success_mcnemar", "final_loss_wilcoxon", "time_to_target_wilcoxon"))


def pct(x):
    return f"{100 * x:.1f}"


def problem_table(tuned, default, problem, title):
    td = {s["opt"]: s for s in tuned["settings"] if s["problem"] == problem}
    dd = {s["opt"]: s for s in default["settings"] if s["problem"] == problem} if default else {}
    order = sorted(td, key=lambda o: (-td[o]["success_rate"], td[o]["median_final_loss"]))
    n_common = min(tuned["restarts"], default["restarts"]) if default else 0
    vs = {}
    if default:
        st, sd = successes(tuned, problem, n_common), successes(default, problem, n_common)
        raw = {o: mcnemar(st[o], sd[o]) for o in order}
        adj = dict(zip(order, holm([raw[o][0] for o in order])))
        vs = {o: (adj[o], raw[o][1], raw[o][2]) for o in order}
    print(f"\n#### {title}\n")
    print("| optimizer | tuned to | success | 95% Wilson | p success | median final loss | p loss "
          "| epochs to target (q1 / median / q3) | seconds to target (median) | p time "
          "| defaults: success | 95% Wilson | tuned vs defaults: only tuned / only defaults, p |")
    print("|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|---|---|")
    for o in order:
        t = td[o]
        e = t["time_to_target"]["epochs"]
        sec = t["time_to_target"]["seconds"]
        row = (f"| {o} | {tuned_values(t)} | {pct(t['success_rate'])}% | [{pct(t['wilson95_lo'])}, {pct(t['wilson95_hi'])}]% "
               f"| {p_cells(t).split(' | ')[0]} | {t['median_final_loss']:.3e} | {p_cells(t).split(' | ')[1]} "
               f"| {fnum(e['q1'], '{:.0f}')} / {fnum(e['median'], '{:.0f}')} / {fnum(e['q3'], '{:.0f}')} "
               f"| {fnum(sec['median'], '{:.3g}')} | {p_cells(t).split(' | ')[2]} ")
        if o in dd:
            u = dd[o]
            p, b, c = vs[o]
            ptxt = f"{p:.0e}" if p < 1e-3 else f"{p:.3f}"
            if p <= 0.05:
                ptxt = f"**{ptxt}**\\*"
            row += (f"| {pct(u['success_rate'])}% | [{pct(u['wilson95_lo'])}, {pct(u['wilson95_hi'])}]% "
                    f"| {b} / {c}, {ptxt} |")
        else:
            row += "| - | - | - |"
        print(row)
    rates_t = [100 * td[o]["success_rate"] for o in td]
    same_t = sorted(o for o in td if td[o]["comparison"]["tested"]
                    and not td[o]["comparison"]["success_mcnemar"]["significant"])
    best = [o for o in td if not td[o]["comparison"]["tested"]]
    kt, nt = pairs_differing(tuned, problem)
    line = (f"\nTuned: success from {min(rates_t):.1f}% to {max(rates_t):.1f}%; best {', '.join(best)}; "
            f"not significantly below it in success: {', '.join(same_t) or 'none'} ({len(same_t)}); "
            f"optimizer pairs whose success differs (exact McNemar, Holm over {nt} pairs, 5%): {kt}.")
    if dd:
        rates_d = [100 * dd[o]["success_rate"] for o in dd]
        same_d = sum(1 for o in dd if dd[o]["comparison"]["tested"]
                     and not dd[o]["comparison"]["success_mcnemar"]["significant"])
        kd, nd = pairs_differing(default, problem)
        up = sorted(o for o in order if vs[o][0] <= 0.05 and vs[o][1] > vs[o][2])
        down = sorted(o for o in order if vs[o][0] <= 0.05 and vs[o][1] < vs[o][2])
        line += (f" Defaults: {min(rates_d):.1f}% to {max(rates_d):.1f}%; not significantly below the best: {same_d}; "
                 f"pairs differing: {kd} of {nd}. Tuning changed success significantly (first {n_common} seeds, "
                 f"Holm over 16) for: {', '.join(up) or 'none'} up; {', '.join(down) or 'none'} down.")
    print(line)


def profile_table(d, key, what):
    p = d.get(key)
    if not p:
        return
    probs = [q["name"] for q in d["problems"]]
    show = [1, 2, 4, 8, 64]
    print(f"\n#### Performance profile of the {what} ({p['unit']})\n")
    print("| optimizer | " + " | ".join(f"ρ({t})" for t in show) + " | " + " | ".join(probs) + " |")
    print("|---|" + "---:|" * (len(show) + len(probs)))
    rows = []
    for x in p["solvers"]:
        rho = [max([r for tau, r in zip(p["tau"], x["rho"]) if tau <= t] or [0]) for t in show]
        rows.append((x["name"], rho, x["time"]))
    rows.sort(key=lambda r: [-v for v in r[1]])
    for name, rho, times in rows:
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in rho) + " | " +
              " | ".join(fnum(t, "{:.3g} s") for t in times) + " |")


def passes_profile(d):
    """Dolan-More profile of the median passes over the data until the target: mini-batch
    optimizers one per epoch, lbfgs and lm one per whole-set evaluation (ttt_evals)."""
    probs = [q["name"] for q in d["problems"]]
    med = {}
    for pi in range(len(probs)):
        for o, ts in trials_of(d, pi).items():
            key = "ttt_evals" if o in ("lbfgs", "lm") else "ttt_epochs"
            med.setdefault(o, [INF] * len(probs))[pi] = median([num(t[key]) for t in ts if t])
    best = [min(med[o][pi] for o in med) for pi in range(len(probs))]
    show = [1, 2, 4, 8, 64]
    print("\n#### Performance profile of the median passes over the data to the target (epochs; lbfgs, lm: "
          "whole-set evaluations)\n")
    print("| optimizer | " + " | ".join(f"ρ({t})" for t in show) + " | " + " | ".join(probs) + " |")
    print("|---|" + "---:|" * (len(show) + len(probs)))
    rows = []
    for o, m in med.items():
        ratio = [m[pi] / best[pi] if best[pi] < INF and m[pi] < INF else INF for pi in range(len(probs))]
        rho = [sum(1 for r in ratio if r <= t) / len(probs) for t in show]
        rows.append((o, rho, m))
    rows.sort(key=lambda r: ([-v for v in r[1]], sum(min(x, 1e9) for x in r[2])))
    for o, rho, m in rows:
        print(f"| {o} | " + " | ".join(f"{v:.2f}" for v in rho) + " | " + " | ".join(fnum(x, "{:.0f}") for x in m) + " |")


def tuning_cost(d, name):
    t = d["tuning"]
    trials = sum(g["trials"] for g in t["grid_points"])
    secs = sum(g["seconds"] for g in t["grid_points"])
    run = sum(g["epochs_run"] for g in t["grid_points"])
    full = sum(g["epochs_without_halving"] for g in t["grid_points"])
    ev = sum(x["seconds"] for x in d["trials"])
    print(f"- {name}: {trials} tuning trials, {secs:.0f} s of trial time ({ev:.0f} s for the {len(d['trials'])} "
          f"evaluation trials), {run} epochs of the {full} without halving ({100 * (1 - run / full):.0f}% saved)")


absd, absd0 = load("abs.json"), load("abs_default.json")
both, both0 = load("both.json"), load("both_default.json")
if absd:
    problem_table(absd, absd0, 0, f"abs 2→3→1, 300 epochs of batch 64, {absd['restarts']} evaluation restarts")
if both:
    problem_table(both, both0, 0, f"abs 2→3→1, 100 epochs of batch 64 (the two-problem sweep), "
                  f"{both['restarts']} evaluation restarts")
    problem_table(both, both0, 1, f"teacher–student k = 10 (10→10→1), 100 epochs of batch 64, "
                  f"{both['restarts']} evaluation restarts")
    profile_table(both, "performance_profile", "median time to target")
    profile_table(both, "performance_profile_ert", "expected time to a success")
    passes_profile(both)
print("\n#### Tuning cost\n")
if absd:
    tuning_cost(absd, "abs, 300 epochs")
if both:
    tuning_cost(both, "both problems, 100 epochs")
