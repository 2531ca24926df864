#!/usr/bin/python3
"""torch_train.py — the bench_train workloads in PyTorch (the peer of bench/bench_train.c).

Same layer sizes, activations (ReLU hidden, linear output), batch, loss (MSE, mean), optimizer
(torch.optim defaults) and thread counts as bench_train.  Every step is a full training step
over the whole batch: zero_grad, forward, loss, backward, optimizer step.  Timing follows
bench_train: a warm-up, then timed blocks alternating between thread counts, median steps/s.

Subnormals are flushed (torch.set_flush_denormal(True)) unless --ieee-denormals, matching
bench_train, whose library flushes them by default.

Threads: torch.set_num_threads(N) sets PyTorch's own pool; Debian's PyTorch runs its GEMMs
in the system BLAS (OpenBLAS), whose pool is set through openblas_set_num_threads found in
the already loaded library.  Run it with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import ctypes
import ctypes.util
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

WORKLOADS = [
    ("abs", "abs 2→3→1 relu", [2, 3, 1]),
    ("fir", "fir 64→64 linear", [64, 64]),
    ("dft64", "dft 64→66 linear", [64, 66]),
    ("spectrum", "spectrum 64→256→33 relu", [64, 256, 33]),
    ("dft1024", "dft 1024→2048 linear", [1024, 2048]),
    ("mlp", "mlp 256→512→512→256 relu", [256, 512, 512, 256]),
]


def find_openblas_setter():
    """openblas_set_num_threads of the OpenBLAS copies loaded into this process."""
    setters = []
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line and line.strip().endswith(".so") or ".so." in line and "blas" in line}
    except OSError:
        libs = set()
    for lib in sorted(libs):
        try:
            h = ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
            fn = h.openblas_set_num_threads
            fn.argtypes = [ctypes.c_int]
            setters.append(fn)
        except (OSError, AttributeError):
            pass
    return setters


def set_threads(n, setters):
    torch.set_num_threads(n)
    for fn in setters:
        fn(n)


def dft_matrix(n, full):
    k = n if full else n // 2 + 1
    nn = np.arange(n)
    kk = np.arange(k)[:, None]
    ang = -2.0 * np.pi * kk * nn / n
    return np.concatenate([np.cos(ang), np.sin(ang)]).astype(np.float32)  # [2k, n]


def make_data(name, sizes, batch, gen):
    n_in, n_out = sizes[0], sizes[-1]
    if name == "abs":
        X = torch.rand(batch, 2, generator=gen) * 2 - 1
        Y = X.norm(dim=1, keepdim=True)
        return X, Y
    X = torch.randn(batch, n_in, generator=gen)
    if name == "fir":
        taps = np.hanning(33)[1:-1]
        taps = taps / taps.sum()
        W = np.zeros((n_out, n_in), np.float32)
        for i in range(n_out):
            for j in range(i + 1):
                if i - j < len(taps):
                    W[i, j] = taps[i - j]
        return X, X @ torch.from_numpy(W).T
    if name in ("dft64", "dft1024"):
        W = torch.from_numpy(dft_matrix(n_in, name == "dft1024"))
        return X, X @ W.T
    if name == "spectrum":
        W = torch.from_numpy(dft_matrix(n_in, False))
        Z = X @ W.T
        k = n_in // 2 + 1
        return X, torch.sqrt(Z[:, :k] ** 2 + Z[:, k:] ** 2)
    return X, torch.randn(batch, n_out, generator=gen)


def build(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def setup(name, sizes, args):
    gen = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    X, Y = make_data(name, sizes, args.batch, gen)
    X, Y = X.contiguous(), Y.contiguous()
    model = build(sizes)
    if args.opt == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def steps(k):
        for _ in range(k):
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(X), Y)
            loss.backward()
            opt.step()
        return loss
    return steps


def serve(name, sizes, args, setters):
    """Block server for bench/compare (same protocol as bench_train --serve)."""
    steps = setup(name, sizes, args)
    steps(2)
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 2 and parts[0] == "threads":
            set_threads(int(parts[1]), setters)
            steps(1)
            print("ok", flush=True)
        elif len(parts) == 2 and parts[0] == "run":
            t0 = time.perf_counter()
            steps(int(parts[1]))
            print(f"{time.perf_counter() - t0:.9f}", flush=True)
        elif parts[:1] == ["quit"]:
            break
        else:
            print("error: expected 'threads N', 'run K' or 'quit'", flush=True)


def run(name, what, sizes, args, setters):
    steps = setup(name, sizes, args)
    cfgs = [args.threads] if args.threads else ([1, os.cpu_count()] if os.cpu_count() > 1 else [1])
    est = []
    for t in cfgs:
        set_threads(t, setters)
        t0 = time.perf_counter()
        n = 0
        while n < 2 or time.perf_counter() - t0 < 0.15:
            steps(1)
            n += 1
        t1 = time.perf_counter()
        steps(1)
        est.append(time.perf_counter() - t1)
    per_cfg = args.seconds / len(cfgs)
    blocks = 7
    while blocks > 3 and blocks * max(est) > per_cfg:
        blocks -= 1
    spb = [max(1, int(per_cfg / blocks / e)) for e in est]
    rates = {t: [] for t in cfgs}
    for _ in range(blocks):
        for c, t in enumerate(cfgs):
            set_threads(t, setters)
            t0 = time.perf_counter()
            loss = steps(spb[c])
            rates[t].append(spb[c] / (time.perf_counter() - t0))
    med = {t: statistics.median(v) for t, v in rates.items()}
    best = max(med, key=med.get)
    sum_io = sum(sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1))
    return {
        "name": name, "what": what, "threads": best, "steps_per_s": med[best],
        "samples_per_s": med[best] * args.batch,
        "gflops": 6.0 * args.batch * sum_io * med[best] * 1e-9,
        "steps_per_s_by_threads": {str(t): v for t, v in med.items()},
        "blocks": blocks, "final_loss": float(loss),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--task", choices=[w[0] for w in WORKLOADS])
    ap.add_argument("--opt", choices=["adam", "sgd"], default="adam")
    ap.add_argument("--threads", type=int, default=0, help="0 = time 1 and all cores, keep the faster")
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve", action="store_true", help="block server for bench/compare (needs --task)")
    ap.add_argument("--ieee-denormals", action="store_true",
                    help="keep subnormals (PyTorch's default); by default FTZ/DAZ are set with "
                         "torch.set_flush_denormal(True), as nnfit does")
    args = ap.parse_args()
    if args.batch < 1 or args.seconds <= 0 or args.threads < 0:
        ap.error("--batch, --seconds must be positive and --threads >= 0")
    torch.zeros(4, 4) @ torch.zeros(4, 4)  # load the BLAS
    # Same arithmetic as nnfit, which flushes subnormals by default (nf_set_flush_denormals):
    # without it Adam drives the DFT task's zero-valued weights subnormal and sgemm runs up to
    # 10x slower for hundreds of steps.  Sets FTZ/DAZ in this (the computing) thread.
    if not args.ieee_denormals and not torch.set_flush_denormal(True):
        print("torch_train: warning: this CPU cannot flush denormals", file=sys.stderr)
    setters = find_openblas_setter()
    if args.serve:
        if not args.task:
            ap.error("--serve needs --task")
        w = next(w for w in WORKLOADS if w[0] == args.task)
        serve(w[0], w[2], args, setters)
        return
    res = []
    for name, what, sizes in WORKLOADS:
        if args.task and name != args.task:
            continue
        if not args.json:
            print(f"torch_train: {what} ...", file=sys.stderr)
        res.append(run(name, what, sizes, args, setters))
    out = {"program": "torch_train", "version": torch.__version__, "batch": args.batch,
           "optimizer": args.opt, "openblas_setters": len(setters),
           "coretype": os.environ.get("OPENBLAS_CORETYPE", ""), "workloads": res}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"PyTorch {torch.__version__} batch {args.batch} optimizer {args.opt}")
    print(f"{'workload':26s} {'thr':>3s} {'steps/s':>10s} {'samples/s':>12s} {'GFLOP/s':>8s}  by threads")
    for r in res:
        by = " ".join(f"{k}:{v:.1f}" for k, v in r["steps_per_s_by_threads"].items())
        print(f"{r['what']:26s} {r['threads']:3d} {r['steps_per_s']:10.1f} {r['samples_per_s']:12.4g} {r['gflops']:8.1f}  {by}")


if __name__ == "__main__":
    main()
