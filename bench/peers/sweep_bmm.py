#!/usr/bin/python3
"""PyTorch peer of `nnfit sweep` for any small MLP: T restarts of the same net trained at once,
batched with torch.bmm (one weight tensor [T, in, out] per layer, one Adam over all of them:
Adam is elementwise, so these are T independent runs), on the data of an .npy file written by
`nnfit data` (rows of inputs then targets).

Mini-batches: every epoch draws one permutation of the rows, shared by all T restarts (one
gather per step for all of them, which favours the peer; nnfit shuffles each trial with its
own seed).  --batch 0 is full batch.  Weights Glorot uniform, biases zero (nnfit's default
initialisation), hidden activation ReLU, linear output, MSE (the mean over each trial's batch
× outputs, summed over trials so that each trial's gradient is its own MSE's).

usage: /usr/bin/python3 bench/peers/sweep_bmm.py --data D.npy --inputs K --layers 10,10,1
          [--trials 256] [--epochs 5] [--batch 64] [--lr 0.01] [--threads N] [--seed 0]
          [--max-steps N]
Prints trials, steps per trial, seconds, trial_steps_per_second and the median final loss."""
import argparse
import math
import time

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--inputs", type=int, required=True)
    ap.add_argument("--layers", required=True)
    ap.add_argument("--trials", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: all epochs)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    sizes = [int(s) for s in a.layers.split(",")]
    d = torch.from_numpy(np.load(a.data).astype(np.float32))
    X, Y = d[:, : a.inputs].contiguous(), d[:, a.inputs:].contiguous()
    assert X.shape[1] == sizes[0] and Y.shape[1] == sizes[-1], "layers do not match the data"
    n, T = X.shape[0], a.trials
    b = n if a.batch == 0 else a.batch
    g = torch.Generator().manual_seed(a.seed)
    params = []
    for fi, fo in zip(sizes[:-1], sizes[1:]):
        lim = math.sqrt(6.0 / (fi + fo))
        params.append(((torch.rand(T, fi, fo, generator=g) * 2 - 1) * lim).requires_grad_())
        params.append(torch.zeros(T, 1, fo, requires_grad=True))
    opt = torch.optim.Adam(params, lr=a.lr)
    nl = len(sizes) - 1

    def forward(xb):
        h = xb.expand(T, *xb.shape)
        for i in range(nl):
            h = torch.baddbmm(params[2 * i + 1], h, params[2 * i])
            if i < nl - 1:
                h = torch.relu(h)
        return h

    steps_per_epoch = n // b
    steps = 0
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        perm = torch.randperm(n, generator=g) if b < n else None
        for s in range(steps_per_epoch):
            if a.max_steps and steps == a.max_steps:
                break
            steps += 1
            if perm is None:
                xb, yb = X, Y
            else:
                idx = perm[s * b:(s + 1) * b]
                xb, yb = X[idx], Y[idx]
            opt.zero_grad(set_to_none=True)
            loss = ((forward(xb) - yb) ** 2).mean(dim=(1, 2)).sum()
            loss.backward()
            opt.step()
    sec = time.perf_counter() - t0
    with torch.no_grad():
        final = ((forward(X) - Y) ** 2).mean(dim=(1, 2))
    print(f"trials: {T}\nsteps: {steps}\nthreads: {torch.get_num_threads()}\nseconds: {sec:.3f}\n"
          f"trial_steps_per_second: {T * steps / sec:.6g}\nmedian_final: {final.median().item():.4e}")


if __name__ == "__main__":
    main()
