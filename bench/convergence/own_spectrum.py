#!/usr/bin/python3
"""Own-data spectrum set: 16-sample frames -> the 9 magnitudes |numpy.fft.rfft(frame)|.

Each frame is a sum of three sinusoids with random frequency (uniform in [0, 8) cycles per
frame, not on the FFT grid, so energy leaks into neighbouring bins), amplitude U(0, 1) and phase
U(0, 2 pi), plus white noise of standard deviation 0.05: audio-like frames with a few tones.
Rows are [x0..x15, y0..y8], float32, written as .npy for `nnfit train --data FILE --inputs 16`.

    /usr/bin/python3 bench/convergence/own_spectrum.py OUT.npy [ROWS] [SEED]   # 8192 rows, seed 1
"""
import sys

import numpy as np


def frames(rows, seed):
    rng = np.random.default_rng(seed)
    n = np.arange(16)
    f = rng.uniform(0.0, 8.0, size=(rows, 3, 1))
    a = rng.uniform(0.0, 1.0, size=(rows, 3, 1))
    p = rng.uniform(0.0, 2 * np.pi, size=(rows, 3, 1))
    x = (a * np.cos(2 * np.pi * f * n / 16 + p)).sum(axis=1)
    x += 0.05 * rng.standard_normal(x.shape)
    y = np.abs(np.fft.rfft(x, axis=1))
    return np.hstack([x, y]).astype(np.float32)


if __name__ == "__main__":
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 8192
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    np.save(out, frames(rows, seed))
