#!/usr/bin/python3
"""PyTorch peer of `nnfit sweep` on the abs task: T independent 2->3->1 ReLU nets trained
full-batch with Adam, batched over restarts with torch.bmm (one weight tensor [T, ...] per
layer, one Adam over all of them: Adam is elementwise, so this is T independent runs).

usage: /usr/bin/python3 bench/peers/torch_sweep.py [--trials 1000] [--steps 3000] [--n 4096]
          [--lr 0.01] [--threads N] [--target 2e-3]
Prints trials, steps, seconds, trials_per_second and the success count."""
import argparse
import math
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--hidden", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--target", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(a.seed)
    T, n, h = a.trials, a.n, a.hidden
    x = torch.rand(n, 2, generator=g) * 2 - 1
    y = x.norm(dim=1, keepdim=True)
    X = x.expand(T, n, 2).contiguous()
    Y = y.expand(T, n, 1).contiguous()
    # Glorot uniform weights, zero biases (Keras defaults, as nnfit's default init)
    l1 = math.sqrt(6.0 / (2 + h))
    l2 = math.sqrt(6.0 / (h + 1))
    W1 = ((torch.rand(T, 2, h, generator=g) * 2 - 1) * l1).requires_grad_()
    b1 = torch.zeros(T, 1, h, requires_grad=True)
    W2 = ((torch.rand(T, h, 1, generator=g) * 2 - 1) * l2).requires_grad_()
    b2 = torch.zeros(T, 1, 1, requires_grad=True)
    opt = torch.optim.Adam([W1, b1, W2, b2], lr=a.lr)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        opt.zero_grad(set_to_none=True)
        H = torch.relu(torch.bmm(X, W1) + b1)
        P = torch.bmm(H, W2) + b2
        # sum of per-trial means: each trial's gradient is that of its own MSE
        loss = ((P - Y) ** 2).mean(dim=(1, 2)).sum()
        loss.backward()
        opt.step()
    with torch.no_grad():
        H = torch.relu(torch.bmm(X, W1) + b1)
        final = ((torch.bmm(H, W2) + b2 - Y) ** 2).mean(dim=(1, 2))
    sec = time.perf_counter() - t0
    ok = int((final <= a.target).sum())
    print(f"trials: {T}\nsteps: {a.steps}\nsamples: {n}\nthreads: {torch.get_num_threads()}\n"
          f"seconds: {sec:.3f}\ntrials_per_second: {T / sec:.4g}\n"
          f"success: {ok}/{T} (final MSE <= {a.target:g})\n"
          f"median_final: {final.median().item():.4e}")


if __name__ == "__main__":
    main()
