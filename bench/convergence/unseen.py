#!/usr/bin/python3
"""Small regression problems with an exact minimal ReLU construction that the method was not
tuned on (a generality check).  Writes OUT_DIR/NAME.npy (float32 rows: inputs then target) and
prints NAME, inputs, minimal width and the target variance, one line each.

    /usr/bin/python3 bench/convergence/unseen.py OUT_DIR [ROWS] [SEED]   # 4096 rows, seed 7

max2      max(x0, x1) on U[-1, 1]^2 = relu(x0 - x1) + relu(x1) - relu(-x1)          2 -> 3 -> 1
l1norm    |x0| + |x1| on U[-1, 1]^2 = sum of relu(+-x_i)                           2 -> 4 -> 1
hat       relu(x + 1) - 2 relu(x) + relu(x - 1) on U[-2, 2]                        1 -> 3 -> 1
random5   a random 4 -> 5 -> 1 ReLU teacher: W, v ~ N(0, 1), b ~ U(-0.5, 0.5),
          x ~ N(0, I_4) (units not orthogonal, signed output weights)            4 -> 5 -> 1
"""
import os
import sys

import numpy as np


def relu(z):
    return np.maximum(z, 0.0)


def problems(rows, seed):
    rng = np.random.default_rng(seed)
    u2 = rng.uniform(-1, 1, size=(rows, 2))
    yield "max2", 3, u2, np.maximum(u2[:, 0], u2[:, 1])
    u2 = rng.uniform(-1, 1, size=(rows, 2))
    yield "l1norm", 4, u2, np.abs(u2).sum(axis=1)
    u1 = rng.uniform(-2, 2, size=(rows, 1))
    x = u1[:, 0]
    yield "hat", 3, u1, relu(x + 1) - 2 * relu(x) + relu(x - 1)
    W = rng.standard_normal((5, 4))
    b = rng.uniform(-0.5, 0.5, size=5)
    v = rng.standard_normal(5)
    x4 = rng.standard_normal((rows, 4))
    yield "random5", 5, x4, relu(x4 @ W.T + b) @ v


if __name__ == "__main__":
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    os.makedirs(out, exist_ok=True)
    for name, width, x, y in problems(rows, seed):
        x = x.astype(np.float32)
        np.save(os.path.join(out, name + ".npy"), np.hstack([x, y.astype(np.float32)[:, None]]))
        print(name, x.shape[1], width, "%.6g" % float(np.var(y.astype(np.float32))))
