#!/usr/bin/python3
"""Writes the small seed corpus of the fuzz targets into tests/fuzz/corpus/ (run once; output
is committed).  CSV seeds start with one option byte (see fuzz_csv.c); taps and results seeds
are plain files."""
import json, os, struct
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
def put(sub, name, data):
    os.makedirs(os.path.join(here, "corpus", sub), exist_ok=True)
    with open(os.path.join(here, "corpus", sub, name), "wb") as f:
        f.write(data)

csv = {
    "header": b"x,y,target\n0.5,-1,1.118\n1e-3,2.5E+2,3\n",
    "tabs_crlf": b"# comment\r\n1\t2\t3\r\n4\t5\t6\r\n",
    "spaces": b"  1.0   2.0\n\n3 4 # trailing\n",
    "nan": b"a,b\nnan,inf\n-Infinity,1\n",
    "quoted": b"\"a\",\"b\"\n\"1\",2\n",
    "ragged": b"1,2\n3\n",
}
for i, (k, v) in enumerate(csv.items()):
    put("csv", k, bytes([i % 6]) + v)

def npy(arr, fortran=False, version=1):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        arr.dtype.str, fortran, str(arr.shape))
    pre = 10 if version == 1 else 12
    hl = len(d) + 1
    pad = (64 - (pre + hl) % 64) % 64
    h = (d + " " * pad + "\n").encode()
    hdr = b"\x93NUMPY" + bytes([version, 0]) + (struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h)))
    body = (arr.T if fortran else arr).tobytes()
    return hdr + h + body

a = np.arange(6, dtype="<f4").reshape(3, 2) / 7
put("npy", "f4_2d", npy(a))
put("npy", "f8_be_1d", npy(np.linspace(-1, 1, 5).astype(">f8")))
put("npy", "fortran", npy(a.astype("<f8"), fortran=True))
put("npy", "v2", npy(a, version=2))

def st(tensors, meta=None):
    hdr = {}
    if meta is not None:
        hdr["__metadata__"] = meta
    off = 0
    blob = b""
    for name, arr in tensors:
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        hdr[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blob += b
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + blob

rng = np.random.default_rng(0)
w0, b0 = rng.standard_normal((3, 2)), rng.standard_normal(3)
w1, b1 = rng.standard_normal((1, 3)), rng.standard_normal(1)
put("safetensors", "nnfit", st([("layers.0.weight", w0), ("layers.0.bias", b0),
                                 ("layers.1.weight", w1), ("layers.1.bias", b1)],
                                {"format": "nnfit", "layers": "2,3,1", "activations": "relu,linear",
                                 "activation_params": "0,0"}))
put("safetensors", "nometa", st([("layers.0.weight", w0), ("layers.0.bias", b0)]))
put("safetensors", "leaky", st([("layers.0.weight", w0), ("layers.0.bias", b0)],
                               {"activations": "leaky_relu", "activation_params": "0.2"}))

taps = {
    "lines": b"# low-pass\n0.0625\n0.25\n0.375\n0.25\n0.0625\n",
    "one_line": b"0.1, 0.2 0.3\t-4e-3,5E-1 # five\n",
    "cr": b"1\r\r# c\r-0.5\r\n0.25",
    "bad": b"0.5\n1e400\nnan\n0x10\n\x00\n",
}
for k, v in taps.items():
    put("taps", k, v)

HEADER = ("setting,opt,act,init,layers,lr,restart,seed,done,success,final_loss,best_loss,target_epoch,"
          "epochs_run,diverged_epoch,dead,always_on,duplicate,parallel,seconds,target,command")
def results(rows, extra=""):
    lines = [HEADER + extra]
    for s, r, ok, loss in rows:
        lines.append('%d,%s,relu,glorot_uniform,"2,3,1",0.01,%d,%d,1,%d,%.9e,%.9e,12,100,0,%d,0,0,1,0.05,0.002,'
                     '"nnfit train --task abs --seed %d --threads 1"%s' % (s, ["adam", "sgd"][s % 2], r, 1000 + r, ok,
                     loss, loss, r % 3, 1000 + r, ",0.1" if extra else ""))
    return ("\n".join(lines) + "\n").encode()
put("results", "two_settings", results([(0, 0, 1, 1.05e-3), (0, 1, 0, 4.2e-2), (1, 0, 0, 4.1e-2), (1, 1, 1, 1.9e-3)]))
put("results", "aid_column", results([(0, 0, 1, 1.05e-3), (2, 3, 0, float("nan"))], ",dropout"))
put("results", "crlf", results([(0, 0, 1, 1.05e-3), (0, 2, 0, 4.2e-2)]).replace(b"\n", b"\r\n"))
