#!/usr/bin/python3
"""Regenerates data/fir/lowpass31.txt and data/fir/bandpass51.txt (windowed-sinc, Hamming).

Run from the repository root with Debian's /usr/bin/python3 (numpy).  The low-pass taps are
also compiled into the library (src/task_taps.h); test_task checks that both agree.
"""
import numpy as np


def design(numtaps, bands):
    n = np.arange(numtaps) - (numtaps - 1) / 2
    h = np.zeros(numtaps)
    for lo, hi in bands:  # band edges in cycles/sample
        h += 2 * hi * np.sinc(2 * hi * n) - (2 * lo * np.sinc(2 * lo * n) if lo > 0 else 0)
    return h * np.hamming(numtaps)


lp = design(31, [(0, 0.1)])
lp /= lp.sum()
bp = design(51, [(0.1, 0.2)])
bp /= abs(np.sum(bp * np.exp(-2j * np.pi * 0.15 * np.arange(51))))
for name, taps, head in (("lowpass31", lp, open("data/fir/lowpass31.txt").read().split("\n")[:4]),
                         ("bandpass51", bp, open("data/fir/bandpass51.txt").read().split("\n")[:4])):
    with open("data/fir/%s.txt" % name, "w") as f:
        f.write("\n".join(head) + "\n")
        f.write("".join("%.9g\n" % v for v in taps.astype(np.float32)))
