#!/usr/bin/env python3
"""Generate the PyTorch parity fixture of the QRNN language model (parity_qrnn_test.go).

Run from anywhere:  /usr/bin/python3 nn/testdata/parity/gen_qrnn.py
Writes qrnn.json (config, token ids, losses, and an index of tensors) and qrnn.bin (every
tensor as little-endian float32), in the format of gen.py's fixture. Deterministic.

The model is fastai v2's AWD_QRNN (fastai/text/models/awdlstm.py and qrnn.py) with all
dropouts 0, written out here in plain PyTorch because fastai is not installed:
  - nn.Embedding(V, E, padding_idx=pad) -> QRNN(E->H) -> QRNN(H->H) -> QRNN(H->E), each
    fastai's QRNN(n_in, n_out, 1, save_prev_x=True, zoneout=0, window=2 if l == 0 else 1,
    output_gate=True), i.e. one QRNNLayer per layer;
  - QRNNLayer: y = Linear(window*n_in, 3*n_out)(source), source = cat([x_t, x_{t-1}]) for
    window 2 (x_{-1}: the saved last input of the previous window, zeros after a reset) or
    x_t; z, f, o = y.chunk(3); z = tanh, f = sigmoid; c = forget_mult(z, f, hidden), i.e.
    c_t = f_t*z_t + (1-f_t)*c_{t-1} (fastai's Python loop, forget_mult_CPU); h = sigmoid(o)*c;
    the new hidden state is c at the last step, and prevX = x at the last step, detached;
  - AWD_LSTM.forward keeps the new hidden states detached across windows (to_detach);
  - decoder tied to the embedding, with bias; loss: mean cross-entropy over batch*bptt.
Expected values are computed in float64 from float32 inputs.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)
DT = torch.float64


class Writer:
    def __init__(self):
        self.index, self.chunks, self.off = {}, [], 0

    def add(self, name, t):
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
        if name in self.index:
            raise KeyError(name)
        self.index[name] = {"shape": list(a.shape), "offset": self.off}
        self.chunks.append(a.reshape(-1))
        self.off += a.size


def f32(t):
    return t.to(torch.float32).to(DT)


def dims(E, H, L):
    return [(E if l == 0 else H, H if l != L - 1 else E) for l in range(L)]


def forget_mult(z, f, hidden):
    """fastai's forget_mult_CPU, batch_first: [B,T,H]."""
    out = torch.empty_like(z)
    prev = hidden
    for i in range(z.shape[1]):
        prev = z[:, i] * f[:, i] if prev is None else z[:, i] * f[:, i] + (1 - f[:, i]) * prev
        out[:, i] = prev
    return out


class QRNNLayer(nn.Module):
    def __init__(self, n_in, n_out, window):
        super().__init__()
        self.window, self.n_out = window, n_out
        self.linear = nn.Linear(window * n_in, 3 * n_out).to(DT)
        self.prevX = None

    def reset(self):
        self.prevX = None

    def forward(self, x, hid):
        src = x
        if self.window == 2:
            prev = torch.zeros_like(x[:, :1]) if self.prevX is None else self.prevX
            src = torch.cat([x, torch.cat([prev, x[:, :-1]], 1)], 2)
        y = self.linear(src)
        z, f, o = y.chunk(3, dim=2)
        c = forget_mult(z.tanh(), f.sigmoid(), hid)
        if self.window == 2:
            self.prevX = x[:, -1:].detach()
        return torch.sigmoid(o) * c, c[:, -1]


class Encoder(nn.Module):
    def __init__(self, params, V, E, H, L, pad):
        super().__init__()
        self.pad, self.dims = pad, dims(E, H, L)
        self.encoder = nn.Embedding(V, E, padding_idx=pad).to(DT)
        self.rnns = nn.ModuleList([QRNNLayer(i, h, 2 if l == 0 else 1) for l, (i, h) in enumerate(self.dims)])
        with torch.no_grad():
            self.encoder.weight.copy_(params["encoder.weight"])
            for l, r in enumerate(self.rnns):
                r.linear.weight.copy_(params[f"rnns.{l}.layers.0.linear.weight"])
                r.linear.bias.copy_(params[f"rnns.{l}.layers.0.linear.bias"])
        self.hidden = None

    def named(self):
        d = {"encoder.weight": self.encoder.weight}
        for l, r in enumerate(self.rnns):
            d[f"rnns.{l}.layers.0.linear.weight"] = r.linear.weight
            d[f"rnns.{l}.layers.0.linear.bias"] = r.linear.bias
        return d

    def forward(self, x):
        if self.hidden is None:
            self.hidden = [torch.zeros(x.shape[0], h, dtype=DT) for _, h in self.dims]
        out = F.embedding(x, self.encoder.weight, self.pad)
        new = []
        for l, r in enumerate(self.rnns):
            out, c = r(out, self.hidden[l])
            new.append(c)
        self.hidden = [c.detach() for c in new]
        return out


def main():
    w, meta = Writer(), {"format": 1}
    V, E, H, L, pad, B, T = 23, 6, 10, 3, 1, 3, 5
    g = torch.Generator().manual_seed(4321)
    params = {"encoder.weight": (torch.rand(V, E, generator=g) - 0.5) * 2.0}
    params["encoder.weight"][pad] = 0
    for l, (i, h) in enumerate(dims(E, H, L)):
        fan_in = (2 if l == 0 else 1) * i
        k = 2.0 / np.sqrt(fan_in)  # twice torch's init: larger activations
        params[f"rnns.{l}.layers.0.linear.weight"] = (torch.rand(3 * h, fan_in, generator=g) * 2 - 1) * k
        params[f"rnns.{l}.layers.0.linear.bias"] = (torch.rand(3 * h, generator=g) * 2 - 1) * k
    params["decoder.bias"] = (torch.rand(V, generator=g) - 0.5) * 0.2
    params = {k: f32(v) for k, v in params.items()}
    gx = torch.Generator().manual_seed(77)
    xs = [torch.randint(2, V, (B, T), generator=gx) for _ in range(2)]
    ys = [torch.randint(2, V, (B, T), generator=gx) for _ in range(2)]
    xs[1][1, 2] = pad
    for k, v in params.items():
        w.add(f"qrnn/params/{k}", v)

    enc = Encoder(params, V, E, H, L, pad)
    dec_bias = nn.Parameter(params["decoder.bias"].clone())
    named = dict(enc.named(), **{"decoder.bias": dec_bias})
    windows = []
    for i in range(2):
        for p in named.values():
            p.grad = None
        raw = enc(xs[i])
        logits = raw @ enc.encoder.weight.t() + dec_bias
        loss = F.cross_entropy(logits.reshape(-1, V), ys[i].reshape(-1))
        loss.backward()
        w.add(f"qrnn/w{i}/logits", logits)
        for l, c in enumerate(enc.hidden):
            w.add(f"qrnn/w{i}/c.{l}", c)
        w.add(f"qrnn/w{i}/x.0", enc.rnns[0].prevX[:, 0])
        for k, p in named.items():
            w.add(f"qrnn/w{i}/grad/{k}", p.grad)
        windows.append({"x": xs[i].tolist(), "y": ys[i].tolist(), "loss": float(loss)})
        print(f"qrnn window {i}: loss {float(loss):.6f}", file=sys.stderr)
    meta["qrnn"] = {"vocab": V, "emb": E, "hidden": H, "layers": L, "pad": pad, "batch": B, "bptt": T,
                    "windows": windows, "params": list(named.keys())}
    meta["tensors"] = w.index
    with open(os.path.join(HERE, "qrnn.json"), "w") as fh:
        json.dump(meta, fh, indent=1, sort_keys=True)
    np.concatenate(w.chunks).astype("<f4").tofile(os.path.join(HERE, "qrnn.bin"))


if __name__ == "__main__":
    main()
