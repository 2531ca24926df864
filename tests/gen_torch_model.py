#!/usr/bin/python3
"""Makes the PyTorch fixtures of test_model_io: an nn.Sequential of Linear layers, trained a few
steps on |x + jy|, saved in safetensors layout under nnfit's names (layers.{i}.weight/bias),
with the safetensors writer spelled out here because Debian 12 has no python3-safetensors.

  tests/data/torch_relu.safetensors   2→8→4→1, ReLU, ReLU, linear; no __metadata__ (a plain
                                      PyTorch export: nnfit's default rule relu/linear applies)
  tests/data/torch_tanh.safetensors   2→5→1 Tanh, with __metadata__ activations "tanh,linear"
  tests/data/torch_prelu.safetensors  2→6→4→1, PReLU(6), PReLU() (one shared slope), linear; no
                                      __metadata__: each nn.Linear carries its PReLU as `act`, so
                                      the slopes are saved as layers.{i}.act.weight ([6] and [1])
  tests/data/torch_x.csv              16 input rows
  tests/data/torch_relu_y.csv, torch_tanh_y.csv, torch_prelu_y.csv
                                      PyTorch's float32 outputs (%.9g)

Run: /usr/bin/python3 tests/gen_torch_model.py"""
import json, os, struct
import torch
from torch import nn

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

class Layer(nn.Linear):
    """nn.Linear carrying its activation as `act` (state_dict: weight, bias, act.weight)."""
    def __init__(self, n_in, n_out, act=None):
        super().__init__(n_in, n_out)
        self.act = act
    def forward(self, x):
        y = super().forward(x)
        return self.act(y) if self.act is not None else y

def save(path, model, meta=None):
    linears = [m for m in model if isinstance(m, nn.Linear)]
    hdr, blobs, off = {}, [], 0
    if meta is not None:
        hdr["__metadata__"] = meta
    for i, lin in enumerate(linears):
        tensors = [("weight", lin.weight), ("bias", lin.bias)]
        if getattr(lin, "act", None) is not None:
            tensors.append(("act.weight", lin.act.weight))
        for kind, t in tensors:
            b = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
            hdr["layers.%d.%s" % (i, kind)] = {"dtype": "F32", "shape": list(t.shape),
                                               "data_offsets": [off, off + len(b)]}
            blobs.append(b)
            off += len(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def train(model, steps=50):
    g = torch.Generator().manual_seed(1)
    X = torch.rand(256, 2, generator=g) * 2 - 1
    Y = X.norm(dim=1, keepdim=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(X) - Y) ** 2).mean()
        loss.backward()
        opt.step()

def write_csv(path, t):
    with open(path, "w") as f:
        for row in t.tolist():
            f.write(",".join("%.9g" % v for v in row) + "\n")

torch.manual_seed(0)
relu = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 1))
tanh = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 1))
prelu = nn.Sequential(Layer(2, 6, nn.PReLU(6)), Layer(6, 4, nn.PReLU()), Layer(4, 1))
train(relu)
train(tanh)
train(prelu)
X = torch.linspace(-1, 1, 32).reshape(16, 2)
X[::3] *= -0.7
with torch.no_grad():
    write_csv(os.path.join(here, "torch_x.csv"), X)
    write_csv(os.path.join(here, "torch_relu_y.csv"), relu(X))
    write_csv(os.path.join(here, "torch_tanh_y.csv"), tanh(X))
    write_csv(os.path.join(here, "torch_prelu_y.csv"), prelu(X))
save(os.path.join(here, "torch_relu.safetensors"), relu)
save(os.path.join(here, "torch_tanh.safetensors"), tanh,
     {"activations": "tanh,linear", "layers": "2,5,1", "source": "pytorch"})
save(os.path.join(here, "torch_prelu.safetensors"), prelu)
