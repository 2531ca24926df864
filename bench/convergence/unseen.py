#!/usr/bin/python3
"""Small regression problems with an exact ReLU construction that the method was not tuned on
(a generality check).  Writes OUT_DIR/NAME.npy (float32 rows: inputs then targets) and prints
NAME, inputs, the construction's layer sizes and the target variance, one line each.

    /usr/bin/python3 bench/convergence/unseen.py OUT_DIR [ROWS] [SEED] [SET]   # 4096, 7, dev

SET dev: the four problems looked at while the method was built (the hat exposed the greedy
pruning's ties and the dead units of the wide phase); SET heldout: five problems written down
before any of them was run, measured once with the final method.

dev:

max2      max(x0, x1) on U[-1, 1]^2 = relu(x0 - x1) + relu(x1) - relu(-x1)          2 -> 3 -> 1
l1norm    |x0| + |x1| on U[-1, 1]^2 = sum of relu(+-x_i)                           2 -> 4 -> 1
hat       relu(x + 1) - 2 relu(x) + relu(x - 1) on U[-2, 2]                        1 -> 3 -> 1
random5   a random 4 -> 5 -> 1 ReLU teacher: W, v ~ N(0, 1), b ~ U(-0.5, 0.5),
          x ~ N(0, I_4) (units not orthogonal, signed output weights)            4 -> 5 -> 1
heldout:
edge      relu(x - 0.8) - relu(-x - 0.5) on U[-1, 1]: kinks near the rim (active on
          10 % and 25 % of the rows)                                         1 -> 2 -> 1
absdiff3  |x0 - x1| + |x1 - x2| on U[-1, 1]^3                                   3 -> 4 -> 1
random8x2 a random 6 -> 8 -> 2 ReLU teacher (two outputs), as random5         6 -> 8 -> 2
max4      max(x0, x1, x2, x3) on U[-1, 1]^4 through two hidden layers: three units per
          max of two (relu(a - b) + relu(b) - relu(-b)), twice, then once  4 -> 6 -> 3 -> 1
saw5      sum_i c_i relu(x - t_i), t = -0.8 -0.4 0 0.4 0.8, c = 1 -2 2 -2 1, U[-1, 1]   1 -> 5 -> 1
"""
import os
import sys

import numpy as np


def relu(z):
    return np.maximum(z, 0.0)


def problems(rows, seed, which="dev"):
    if which == "heldout":
        yield from heldout(rows, seed)
        return
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


def max2(a, b):
    return relu(a - b) + relu(b) - relu(-b)


def heldout(rows, seed):
    rng = np.random.default_rng(seed + 1000)
    x = rng.uniform(-1, 1, size=(rows, 1))
    yield "edge", [1, 2, 1], x, relu(x[:, 0] - 0.8) - relu(-x[:, 0] - 0.5)
    x = rng.uniform(-1, 1, size=(rows, 3))
    yield "absdiff3", [3, 4, 1], x, np.abs(x[:, 0] - x[:, 1]) + np.abs(x[:, 1] - x[:, 2])
    W = rng.standard_normal((8, 6))
    b = rng.uniform(-0.5, 0.5, size=8)
    V = rng.standard_normal((2, 8))
    x = rng.standard_normal((rows, 6))
    yield "random8x2", [6, 8, 2], x, relu(x @ W.T + b) @ V.T
    x = rng.uniform(-1, 1, size=(rows, 4))
    yield "max4", [4, 6, 3, 1], x, max2(max2(x[:, 0], x[:, 1]), max2(x[:, 2], x[:, 3]))
    x = rng.uniform(-1, 1, size=(rows, 1))
    t = np.array([-0.8, -0.4, 0.0, 0.4, 0.8])
    c = np.array([1.0, -2.0, 2.0, -2.0, 1.0])
    yield "saw5", [1, 5, 1], x, relu(x - t) @ c


if __name__ == "__main__":
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    which = sys.argv[4] if len(sys.argv) > 4 else "dev"
    os.makedirs(out, exist_ok=True)
    for name, layers, x, y in problems(rows, seed, which):
        if not isinstance(layers, list):  # dev problems give the hidden width
            layers = [x.shape[1], layers, 1]
        y = y.astype(np.float32).reshape(len(y), -1)
        x = x.astype(np.float32)
        np.save(os.path.join(out, name + ".npy"), np.hstack([x, y]))
        print(name, x.shape[1], ",".join(map(str, layers)), "%.6g" % float(np.var(y, axis=0).mean()))
