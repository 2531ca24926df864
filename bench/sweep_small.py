#!/usr/bin/python3
"""sweep_small.py — trial-steps per second of `nnfit sweep` against the PyTorch bmm peer
(bench/peers/sweep_bmm.py) on small nets, in one run, on the same data and the same cores.

Workloads (nnfit's data files, written once with `nnfit data`):
  teacher10  teacher task k = 10, 10→10→1 ReLU, batch 64 (8192 rows: 128 steps an epoch)
  teacher20  teacher task k = 20, 20→20→1 ReLU, batch 64
  abs        abs task, 2→3→1 ReLU, full batch of 4096 rows
nnfit: `nnfit sweep --restarts R --jobs J` (one trial per worker thread, every trial its own
shuffle), timed whole (start-up, data loading, diagnostics and reports included); R is set so
that a run lasts about 2 s on a 2-core machine, where the ~0.05 s of start-up weighs little.
The peer times its training loop only (not Python, the torch import or the data load), and
shares one shuffle among its batched restarts.  Peer: R' restarts trained at
once with bmm, at 1 and at J intra-op threads; its best is the reference.  Both with Adam, lr
0.01, and the same OPENBLAS_CORETYPE (the one given, else the one OpenBLAS picks for nnfit).
Each round runs nnfit, peer at 1 thread, peer at J threads, in an order that rotates over
rounds; the ratio is formed per round, and min / median / max over the rounds are printed,
with the median ratio of trial-steps per CPU-second (user + system time of the processes),
which a machine shared with other work disturbs less than wall time.

usage: bench/sweep_small.py [--rounds 3] [--jobs 2] [--task NAME ...] [--nnfit PATH]
                            [--python /usr/bin/python3] [--quick]
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# name: (data args, inputs, layers, batch, nnfit restarts, nnfit epochs, peer trials, peer steps)
WORKLOADS = {
    "teacher10": (["--task", "teacher", "--k", "10"], 10, "10,10,1", 64, 768, 20, 1024, 40),
    "teacher20": (["--task", "teacher", "--k", "20"], 20, "20,20,1", 64, 288, 20, 1024, 30),
    "abs": (["--task", "abs", "--n", "4096"], 2, "2,3,1", 0, 576, 500, 1000, 30),
}
TARGETS = {"teacher10": 20.0, "teacher20": 20.0, "abs": 60.0}


def rows_of(path):
    import struct
    with open(path, "rb") as f:
        head = f.read(256).decode("latin1")
    return int(re.search(r"'shape': \((\d+),", head).group(1))


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_nnfit(a, data, inputs, layers, batch, restarts, epochs, env):
    cmd = [a.nnfit, "sweep", "--data", data, "--inputs", str(inputs), "--layers", layers,
           "--batch", str(batch), "--epochs", str(epochs), "--opt", "adam", "--lr", "0.01",
           "--restarts", str(restarts), "--jobs", str(a.jobs), "--target", "1e-3", "--quiet"]
    n = rows_of(data)
    steps = epochs * (1 if batch == 0 else -(-n // batch))
    c0 = child_cpu()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    sec = time.perf_counter() - t0
    return restarts * steps / sec, restarts * steps / (child_cpu() - c0)


def run_peer(a, data, inputs, layers, batch, trials, steps, threads, env):
    e = dict(env, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    n = rows_of(data)
    per_epoch = 1 if batch == 0 else n // batch
    epochs = -(-steps // per_epoch)
    cmd = [a.python, os.path.join(HERE, "peers", "sweep_bmm.py"), "--data", data, "--inputs", str(inputs),
           "--layers", layers, "--batch", str(batch), "--trials", str(trials), "--epochs", str(epochs),
           "--max-steps", str(steps), "--lr", "0.01", "--threads", str(threads)]
    c0 = child_cpu()
    out = subprocess.run(cmd, check=True, env=e, capture_output=True, text=True).stdout
    cpu = child_cpu() - c0
    done = trials * int(re.search(r"steps: (\d+)", out).group(1))
    return float(re.search(r"trial_steps_per_second: (\S+)", out).group(1)), done / cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--task", action="append", choices=sorted(WORKLOADS))
    ap.add_argument("--nnfit", default=os.path.join(ROOT, "build", "src", "cli", "nnfit"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--quick", action="store_true", help="a quarter of the work per run")
    a = ap.parse_args()
    env = dict(os.environ)
    if "OPENBLAS_CORETYPE" not in env:
        print("note: OPENBLAS_CORETYPE not set; both sides run with whatever OpenBLAS picks", file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="sweep_small.")
    rows = []
    for name in a.task or list(WORKLOADS):
        dargs, inputs, layers, batch, R, E, T, S = WORKLOADS[name]
        if a.quick:
            R, E, S = max(a.jobs, R // 4), max(1, E // 2), max(5, S // 4)
        data = os.path.join(tmp, name + ".npy")
        subprocess.run([a.nnfit, "data", *dargs, "--out", data], check=True, stdout=subprocess.DEVNULL)
        ratios, cratios, nn, p1, pj = [], [], [], [], []
        for r in range(a.rounds):
            order = ["nnfit", "peer1", "peerj"]
            order = order[r % 3:] + order[:r % 3]
            got = {}
            for who in order:
                if who == "nnfit":
                    got[who] = run_nnfit(a, data, inputs, layers, batch, R, E, env)
                else:
                    th = 1 if who == "peer1" else a.jobs
                    got[who] = run_peer(a, data, inputs, layers, batch, T, S, th, env)
            nn.append(got["nnfit"][0])
            p1.append(got["peer1"][0])
            pj.append(got["peerj"][0])
            ratios.append(got["nnfit"][0] / max(got["peer1"][0], got["peerj"][0]))
            cratios.append(got["nnfit"][1] / max(got["peer1"][1], got["peerj"][1]))
            print(f"{name} round {r + 1}: nnfit {got['nnfit'][0]:.4g}  peer 1 thr {got['peer1'][0]:.4g}  "
                  f"peer {a.jobs} thr {got['peerj'][0]:.4g} trial-steps/s  ratio {ratios[-1]:.1f}x; "
                  f"per CPU-second {got['nnfit'][1]:.4g} / {got['peer1'][1]:.4g} / {got['peerj'][1]:.4g}  "
                  f"ratio {cratios[-1]:.1f}x", flush=True)
        rows.append((name, layers, batch, statistics.median(nn), statistics.median(p1), statistics.median(pj),
                     min(ratios), statistics.median(ratios), max(ratios), statistics.median(cratios)))
    print(f"\n{'workload':10} {'layers':9} {'batch':>5} {'nnfit':>10} {'peer 1thr':>10} {'peer ' + str(a.jobs) + 'thr':>10}"
          f" {'ratio min/med/max':>20} {'cpu ratio':>9} {'target':>7}")
    for name, layers, batch, n_, q1, qj, lo, med, hi, cmed in rows:
        t = TARGETS[name]
        print(f"{name:10} {layers:9} {batch or 'full':>5} {n_:10.4g} {q1:10.4g} {qj:10.4g} "
              f"{lo:6.1f} {med:6.1f} {hi:6.1f} {cmed:9.1f} {'>= %g' % t:>7} {'ok' if med >= t else 'NOT MET'}")
    print("(trial-steps per second of wall time, medians over rounds; nnfit with --jobs %d; cpu ratio:\n"
          " the same ratio of trial-steps per CPU-second, user + system, of each side's processes)" % a.jobs)


if __name__ == "__main__":
    main()
