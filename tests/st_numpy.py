#!/usr/bin/python3
"""Evaluates an nnfit/PyTorch safetensors MLP with NumPy alone (Debian 12 has no
python3-safetensors) and compares it with predictions nnfit wrote.

usage: st_numpy.py MODEL.safetensors DATA.csv|.npy PRED.csv|.npy [TOL]

The reader enforces what Python's safetensors checks on load: 8-byte little-endian header
length, a JSON object, tensors whose data_offsets are contiguous from 0 and cover the data
section exactly.  Prints the max abs difference; exit 0 when it is <= TOL (default 1e-5)."""
import json, struct, sys
import numpy as np

DT = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4"}

def load(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw), "header length past the end"
    hdr = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = hdr.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in meta.values()), "metadata values must be strings"
    data = raw[8 + n:]
    end = 0
    tensors = {}
    for name, t in sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = t["data_offsets"]
        assert b == end, "%s: offsets not contiguous (%d != %d)" % (name, b, end)
        arr = np.frombuffer(data[b:e], dtype=DT[t["dtype"]]).reshape(t["shape"])
        tensors[name] = arr
        end = e
    assert end == len(data), "data section has %d bytes, tensors cover %d" % (len(data), end)
    return tensors, meta

def act(name, z, p):
    """p: the metadata parameter, or the per-unit tensor (prelu, elu_learn)."""
    if name in ("linear", "identity", "none"): return z
    if name == "prelu": return np.where(z > 0, z, p * z)
    if name == "elu_learn": return np.where(z > 0, z, p * np.expm1(z))
    if name == "relu": return np.maximum(z, 0)
    if name == "leaky_relu": return np.where(z > 0, z, p * z)
    if name == "elu": return np.where(z > 0, z, p * np.expm1(z))
    if name == "tanh": return np.tanh(z)
    if name == "sigmoid": return 1 / (1 + np.exp(-z))
    if name == "abs": return np.abs(z)
    if name == "softplus": return np.where(z > 20, z, np.log1p(np.exp(np.minimum(z, 20))))
    if name in ("swish", "silu"): return z / (1 + np.exp(-z))
    raise SystemExit("activation %s not implemented in st_numpy.py" % name)

def forward(tensors, meta, X):
    n = 0
    while "layers.%d.weight" % n in tensors: n += 1
    acts = meta.get("activations", ",".join(["relu"] * (n - 1) + ["linear"])).split(",")
    params = [float(v) for v in meta.get("activation_params", ",".join(["0"] * n)).split(",")]
    a = X.astype(np.float64)
    for i in range(n):
        W = tensors["layers.%d.weight" % i].astype(np.float64)
        b = tensors["layers.%d.bias" % i].astype(np.float64)
        p = params[i]
        for pname in ("weight", "alpha"):  # per-unit parameters: layers.{i}.act.weight / .alpha
            if "layers.%d.act.%s" % (i, pname) in tensors:
                p = tensors["layers.%d.act.%s" % (i, pname)].astype(np.float64)
        a = act(acts[i], a @ W.T + b, p)
    return a

def read_table(path):
    if path.endswith(".npy"):
        a = np.load(path)
        return a.reshape(a.shape[0], -1).astype(np.float64)
    rows = []
    for line in open(path):
        line = line.split("#")[0].strip()
        if not line: continue
        try:
            rows.append([float(c) for c in line.replace("\t", ",").split(",")])
        except ValueError:
            continue  # header
    return np.array(rows, dtype=np.float64)

def main():
    model, data, pred = sys.argv[1:4]
    tol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5
    tensors, meta = load(model)
    n_in = tensors["layers.0.weight"].shape[1]
    X = read_table(data)[:, :n_in]
    P = read_table(pred)
    ref = forward(tensors, meta, X)
    diff = float(np.max(np.abs(ref - P))) if ref.size else 0.0
    print("rows %d max_abs_diff %.3e" % (X.shape[0], diff))
    sys.exit(0 if ref.shape == P.shape and diff <= tol else 1)

if __name__ == "__main__":
    main()
