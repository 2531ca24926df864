#!/usr/bin/python3
"""Teacher-student data for the optimizer study: x ~ N(0, I_k), y = sum_i relu(x_i).

Writes OUT (default teacher10.csv): 8192 rows of k inputs then the target, float32 values
printed exactly (9 significant digits), from numpy's default_rng(SEED).
usage: gen_teacher.py [OUT] [--k K] [--rows N] [--seed S]
"""
import argparse

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("out", nargs="?", default="teacher10.csv")
p.add_argument("--k", type=int, default=10)
p.add_argument("--rows", type=int, default=8192)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
x = np.random.default_rng(a.seed).standard_normal((a.rows, a.k)).astype(np.float32)
y = np.maximum(x, 0).astype(np.float64).sum(axis=1).astype(np.float32)
np.savetxt(a.out, np.column_stack([x, y]), fmt="%.9g", delimiter=",")
