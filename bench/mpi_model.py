#!/usr/bin/env python3
"""Scaling model of nnfit under mpirun at 1-64 nodes (bench/README.md, "Beyond one machine").

Data-parallel training, one step of a global batch B on N nodes:
    compute  B / (N R)                          R: one node's samples/s (all its cores)
    sum      2 (N-1) a + 2 (N-1)/N 4P / bw + t_add
             the fixed-order sum: MPI_Alltoallv then MPI_Allgatherv, N-1 messages each,
             each rank sending (N-1)/N of the 4P-byte gradient in each; t_add: the adds
             and copies of the segments, bounded by the 2-rank loopback sum measured here
    speedup  N compute(N) / (compute(N) + sum(N))  (the sum does not overlap the compute)
Sweep: per trial an 8-byte assignment out and a 112-byte result back (plus MPI and TCP
headers); rank 0 stores each result (and appends it to the journal, one fsync).

Every input is a flag; the defaults are the numbers bench/README.md quotes.
Usage: bench/mpi_model.py [--dft-rate R] [--mlp-rate R] [--batch B] ...
"""
import argparse

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--dft-rate", type=float, default=3687, help="dft 1024->2048, one node's samples/s")
p.add_argument("--mlp-rate", type=float, default=8609, help="MLP 256-512-512-256, one node's samples/s")
p.add_argument("--batch", type=int, nargs="+", default=[4096, 65536], help="global batch sizes")
p.add_argument("--t-add-dft", type=float, default=4.8e-3, help="local part of one DFT gradient sum, s")
p.add_argument("--t-add-mlp", type=float, default=1.2e-3, help="local part of one MLP gradient sum, s")
p.add_argument("--serve", type=float, default=0.25e-3, help="rank 0's time per result with the journal, s")
a = p.parse_args()

NETS = [  # name, link, bandwidth (bytes/s, 90 % of the line rate over TCP), latency per message (s)
    ("10 Gbit/s", 0.9 * 10e9 / 8, 30e-6),
    ("100 Gbit/s", 0.9 * 100e9 / 8, 15e-6),
]
MODELS = [  # name, parameters, node rate, local part of the sum
    ("dft 1024->2048", 1024 * 2048 + 2048, a.dft_rate, a.t_add_dft),
    ("MLP 256-512-512-256", 256 * 512 + 512 + 512 * 512 + 512 + 512 * 256 + 256, a.mlp_rate, a.t_add_mlp),
]
NODES = [1, 2, 8, 16, 32, 64]


def step(P, R, t_add, B, N, bw, lat):
    comp = B / (N * R)
    if N == 1:
        return comp, 0.0
    return comp, 2 * (N - 1) * lat + 2 * (N - 1) / N * 4 * P / bw + t_add


for name, P, R, t_add in MODELS:
    print(f"\n{name}: P = {P} parameters, gradient {4 * P / 1e6:.2f} MB, node rate {R:.0f} samples/s")
    for B in a.batch:
        for net, bw, lat in NETS:
            row = []
            for N in NODES:
                comp, s = step(P, R, t_add, B, N, bw, lat)
                row.append(f"{N:>2}: {N * comp / (comp + s):5.1f}x")
            sent = 2 * 63 / 64 * 4 * P
            _, s64 = step(P, R, t_add, B, 64, bw, lat)
            print(f"  batch {B:>6} {net:>10}: speedup " + "  ".join(row) +
                  f"   | sum at 64 nodes {1e3 * s64:.1f} ms, {sent / 1e6:.1f} MB sent per rank per step")
        # where it stops: the N above which doubling the nodes gains less than 10 %
        for net, bw, lat in NETS:
            best = 1
            for N in range(2, 4097):
                c1, s1 = step(P, R, t_add, B, N, bw, lat)
                c2, s2 = step(P, R, t_add, B, 2 * N, bw, lat)
                if 2 * N * c2 / (c2 + s2) < 1.1 * N * c1 / (c1 + s1):
                    best = N
                    break
            c, s = step(P, R, t_add, B, best, bw, lat)
            print(f"  batch {B:>6} {net:>10}: doubling past {best} nodes gains < 10 % "
                  f"(speedup {best * c / (c + s):.1f}x there, compute {1e3 * c:.2f} ms vs sum {1e3 * s:.2f} ms a step)")

print("\nsweep: bytes on the wire per trial (both directions, no curves): 8 + 112 + ~2 x 80 headers = ~280")
for tau in (0.1, 1.0, 3.0):
    for N in (8, 64):
        W = 2 * N  # 2 worker threads a node
        rate = W / tau
        print(f"  trials of {tau:>4} s on {N:>2} nodes x 2 workers: {rate:7.0f} results/s at rank 0, "
              f"{rate * 280 / 1e3:6.1f} kB/s, rank 0 busy {100 * rate * a.serve:5.1f} % of its main thread")
print(f"  rank 0 saturates at {1 / a.serve:.0f} results/s: {1 / a.serve / 2:.0f} nodes x 2 workers for 1 s trials")
