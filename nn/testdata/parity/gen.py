#!/usr/bin/env python3
"""Generate the PyTorch parity fixtures for package nn (parity_test.go).

Run from anywhere:  /usr/bin/python3 nn/testdata/parity/gen.py
Writes fixture.json (config, token ids, scalars, and an index of tensors) and fixture.bin
(every tensor as little-endian float32, concatenated; the index gives offset and shape, both
in float32 elements). Deterministic: fixed seeds, no threads-dependent ops that matter.

The models follow fastai v2 (fastai/text/models/awdlstm.py, core.py, callback/rnn.py) with
all dropouts 0:
  - AWD-LSTM: nn.Embedding(V, E, padding_idx=pad) -> LSTM(E->H) -> LSTM(H->H) -> LSTM(H->E),
    one torch LSTM per layer (gate order i,f,g,o), zero initial state, state carried across
    LM windows and detached; decoder tied to the encoder weight, with bias.
  - F.embedding with padding_idx: the pad row gets no gradient through the embedding lookup
    (it still gets the tied decoder's gradient).
  - LM loss: mean cross-entropy over batch*bptt. AR/TAR (RNNRegularizer): loss +=
    alpha * mean(dropped_last_output^2) + beta * mean((raw[:,1:]-raw[:,:-1])^2), means over
    every element of the [B,T,E] last-layer output (dropped == raw with dropout 0).
  - Classifier: SentenceEncoder (bptt chunks, state carried and detached between chunks,
    zero state where a document starts) + masked_concat_pool [last, max, mean] over the
    real tokens + LinBnDrop(3E->50, ReLU) + LinBnDrop(50->C); BatchNorm1d in train mode
    (batch statistics, biased variance; running stats updated with momentum 0.1 and the
    unbiased variance). Linear layers carry a bias (our contract; fastai v2 drops it after BN).
    The fixture stores the documents left-padded; the expected values equal fastai's
    SentenceEncoder on its own pad_chunk layout (checked below; padded length a multiple of
    bptt, where fastai's last-token lookup is exact).
  - AdamW as fastai's Adam(decouple_wd=True): betas (0.7, 0.99), eps 1e-5, wd 0.01.
  - clip_grad_norm_(max_norm) over all parameters together.
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
        self.index = {}
        self.chunks = []
        self.off = 0

    def add(self, name, t):
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
        if name in self.index:
            raise KeyError(name)
        self.index[name] = {"shape": list(a.shape), "offset": self.off}
        self.chunks.append(a.reshape(-1))
        self.off += a.size


def f32(t):
    """Round to float32, then compute in float64."""
    return t.to(torch.float32).to(DT)


# ----------------------------------------------------------------------------------------
# AWD-LSTM (dropouts 0) with contract parameter names
# ----------------------------------------------------------------------------------------
def lstm_dims(E, H, L):
    return [(E if l == 0 else H, H if l != L - 1 else E) for l in range(L)]


def make_encoder_params(g, V, E, H, L, pad, zero_pad_row=True):
    p = {}
    w = (torch.rand(V, E, generator=g) - 0.5) * 2.0
    if zero_pad_row:
        w[pad] = 0
    p["encoder.weight"] = w
    for l, (i, h) in enumerate(lstm_dims(E, H, L)):
        k = 2.0 / np.sqrt(h)  # twice torch's init: larger activations, visible TAR
        p[f"rnns.{l}.weight_ih"] = (torch.rand(4 * h, i, generator=g) * 2 - 1) * k
        p[f"rnns.{l}.weight_hh"] = (torch.rand(4 * h, h, generator=g) * 2 - 1) * k
        p[f"rnns.{l}.bias_ih"] = (torch.rand(4 * h, generator=g) * 2 - 1) * k
        p[f"rnns.{l}.bias_hh"] = (torch.rand(4 * h, generator=g) * 2 - 1) * k
    return {k: f32(v) for k, v in p.items()}


class Encoder(nn.Module):
    """fastai AWD_LSTM with dropouts 0."""

    def __init__(self, params, V, E, H, L, pad):
        super().__init__()
        self.V, self.E, self.H, self.L, self.pad = V, E, H, L, pad
        self.encoder = nn.Embedding(V, E, padding_idx=pad).to(DT)
        self.rnns = nn.ModuleList([nn.LSTM(i, h, 1, batch_first=True).to(DT)
                                   for i, h in lstm_dims(E, H, L)])
        with torch.no_grad():
            self.encoder.weight.copy_(params["encoder.weight"])
            for l, r in enumerate(self.rnns):
                r.weight_ih_l0.copy_(params[f"rnns.{l}.weight_ih"])
                r.weight_hh_l0.copy_(params[f"rnns.{l}.weight_hh"])
                r.bias_ih_l0.copy_(params[f"rnns.{l}.bias_ih"])
                r.bias_hh_l0.copy_(params[f"rnns.{l}.bias_hh"])
        self.bs = 1
        self.reset()

    def named(self):
        d = {"encoder.weight": self.encoder.weight}
        for l, r in enumerate(self.rnns):
            d[f"rnns.{l}.weight_ih"] = r.weight_ih_l0
            d[f"rnns.{l}.weight_hh"] = r.weight_hh_l0
            d[f"rnns.{l}.bias_ih"] = r.bias_ih_l0
            d[f"rnns.{l}.bias_hh"] = r.bias_hh_l0
        return d

    def reset(self):
        self.hidden = [(torch.zeros(1, self.bs, h, dtype=DT), torch.zeros(1, self.bs, h, dtype=DT))
                       for _, h in lstm_dims(self.E, self.H, self.L)]

    def _change_hidden(self, bs):
        new = []
        for (h, c), (_, nh) in zip(self.hidden, lstm_dims(self.E, self.H, self.L)):
            if self.bs < bs:
                z = torch.zeros(1, bs - self.bs, nh, dtype=DT)
                new.append((torch.cat([h, z], 1), torch.cat([c, z], 1)))
            else:
                new.append((h[:, :bs].contiguous(), c[:, :bs].contiguous()))
        self.hidden, self.bs = new, bs

    def forward(self, x):
        bs = x.shape[0]
        if bs != self.bs:
            self._change_hidden(bs)
        out = F.embedding(x, self.encoder.weight, self.pad)
        new = []
        for l, r in enumerate(self.rnns):
            out, hc = r(out, self.hidden[l])
            new.append(hc)
        self.hidden = [(h.detach(), c.detach()) for h, c in new]
        return out


def lm_forward(enc, dec_bias, x):
    raw = enc(x)
    logits = raw @ enc.encoder.weight.t() + dec_bias
    return logits, raw


# ----------------------------------------------------------------------------------------
def gen_lm(w, meta):
    V, E, H, L, pad, B, T = 23, 6, 10, 3, 1, 3, 5
    g = torch.Generator().manual_seed(1234)
    params = make_encoder_params(g, V, E, H, L, pad)
    params["decoder.bias"] = f32((torch.rand(V, generator=g) - 0.5) * 0.2)
    gx = torch.Generator().manual_seed(99)
    xs = [torch.randint(2, V, (B, T), generator=gx) for _ in range(2)]
    ys = [torch.randint(2, V, (B, T), generator=gx) for _ in range(2)]
    xs[1][1, 2] = pad  # one pad token: forward reads its (zero) row, no embedding grad to it
    xs[0][0, 0] = 0     # xxunk as an input once
    for k, v in params.items():
        w.add(f"lm/params/{k}", v)

    enc = Encoder(params, V, E, H, L, pad)
    dec_bias = nn.Parameter(params["decoder.bias"].clone())
    named = dict(enc.named(), **{"decoder.bias": dec_bias})
    windows = []
    for i in range(2):
        for p in named.values():
            p.grad = None
        logits, raw = lm_forward(enc, dec_bias, xs[i])
        loss = F.cross_entropy(logits.reshape(-1, V), ys[i].reshape(-1))
        loss.backward()
        w.add(f"lm/w{i}/logits", logits)
        for l, (h, c) in enumerate(enc.hidden):
            w.add(f"lm/w{i}/h.{l}", h[0])
            w.add(f"lm/w{i}/c.{l}", c[0])
        for k, p in named.items():
            w.add(f"lm/w{i}/grad/{k}", p.grad)
        windows.append({"x": xs[i].tolist(), "y": ys[i].tolist(), "loss": float(loss)})
        print(f"lm window {i}: loss {float(loss):.6f}", file=sys.stderr)
    # gradient of the pad row must come only from the tied decoder
    meta["lm"] = {"vocab": V, "emb": E, "hidden": H, "layers": L, "pad": pad, "batch": B, "bptt": T,
                  "tie_weights": True, "decoder_bias": True, "windows": windows,
                  "params": list(named.keys())}

    # AR/TAR case: fresh state, window 0 inputs, alpha 2, beta 1.
    alpha, beta = 2.0, 1.0
    enc2 = Encoder(params, V, E, H, L, pad)
    dec_bias2 = nn.Parameter(params["decoder.bias"].clone())
    named2 = dict(enc2.named(), **{"decoder.bias": dec_bias2})
    logits, raw = lm_forward(enc2, dec_bias2, xs[0])
    ce = F.cross_entropy(logits.reshape(-1, V), ys[0].reshape(-1))
    dropped = raw  # dropout 0
    ar = alpha * dropped.pow(2).mean()
    tar = beta * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    loss = ce + ar + tar
    loss.backward()
    for k, p in named2.items():
        w.add(f"lm_artar/grad/{k}", p.grad)
    meta["lm_artar"] = {"alpha": alpha, "beta": beta, "window": 0, "ce": float(ce), "ar": float(ar),
                        "tar": float(tar), "loss": float(loss)}
    print(f"lm ar/tar: ce {float(ce):.6f} ar {float(ar):.6f} tar {float(tar):.6f}", file=sys.stderr)


# ----------------------------------------------------------------------------------------
def pool_per_doc(enc, docs, bptt):
    """Reference semantics: each document alone, from zero state, bptt chunks with the state
    detached between chunks; concat pool [last, max, mean] over its outputs."""
    feats = []
    for d in docs:
        enc.bs = 1
        enc.reset()
        x = torch.tensor([d])
        outs = [enc(x[:, i:i + bptt]) for i in range(0, len(d), bptt)]
        o = torch.cat(outs, 1)[0]
        feats.append(torch.cat([o[-1], o.max(0)[0], o.mean(0)]))
    return torch.stack(feats)


def pool_fastai(enc, docs, bptt, pad):
    """fastai's SentenceEncoder + masked_concat_pool on fastai's pad_chunk layout (documents
    sorted longest first, leading padding in whole bptt chunks, the remainder at the end)."""
    sl = max(len(d) for d in docs)
    rows = []
    for d in docs:
        l = sl - len(d)
        rows.append([pad] * ((l // bptt) * bptt) + d + [pad] * (l % bptt))
    x = torch.tensor(rows)
    enc.bs = x.shape[0]
    enc.reset()
    mask = x == pad
    outs = []
    for i in range(0, sl, bptt):
        real_bs = int((x[:, i] != pad).long().sum())
        o = enc(x[:real_bs, i:min(i + bptt, sl)])
        if o.shape[0] < x.shape[0]:
            o = torch.cat([o, o.new_zeros(x.shape[0] - o.shape[0], *o.shape[1:])])
        outs.append(o)
    out = torch.cat(outs, 1)
    lens = out.shape[1] - mask.long().sum(1)
    last_lens = mask[:, -bptt:].long().sum(1)
    avg = out.masked_fill(mask[:, :, None], 0).sum(1) / lens.to(DT)[:, None]
    mx = out.masked_fill(mask[:, :, None], -float("inf")).max(1)[0]
    last = out[torch.arange(out.shape[0]), -last_lens - 1]
    return torch.cat([last, mx, avg], 1)


class Head(nn.Module):
    def __init__(self, p, dims):
        super().__init__()
        self.bns = nn.ModuleList([nn.BatchNorm1d(i).to(DT) for i in dims[:-1]])
        self.lins = nn.ModuleList([nn.Linear(i, o).to(DT) for i, o in zip(dims[:-1], dims[1:])])
        with torch.no_grad():
            for i, (bn, lin) in enumerate(zip(self.bns, self.lins)):
                bn.weight.copy_(p[f"head.{i}.bn.weight"])
                bn.bias.copy_(p[f"head.{i}.bn.bias"])
                bn.running_mean.copy_(p[f"head.{i}.bn.running_mean"])
                bn.running_var.copy_(p[f"head.{i}.bn.running_var"])
                lin.weight.copy_(p[f"head.{i}.linear.weight"])
                lin.bias.copy_(p[f"head.{i}.linear.bias"])

    def named(self):
        d = {}
        for i, (bn, lin) in enumerate(zip(self.bns, self.lins)):
            d[f"head.{i}.bn.weight"] = bn.weight
            d[f"head.{i}.bn.bias"] = bn.bias
            d[f"head.{i}.linear.weight"] = lin.weight
            d[f"head.{i}.linear.bias"] = lin.bias
        return d

    def forward(self, x):
        n = len(self.lins)
        for i, (bn, lin) in enumerate(zip(self.bns, self.lins)):
            x = lin(bn(x))
            if i != n - 1:
                x = F.relu(x)
        return x


def gen_clf(w, meta):
    V, E, H, L, pad, bptt, C, hid = 23, 6, 10, 3, 1, 4, 3, 50
    g = torch.Generator().manual_seed(4321)
    params = make_encoder_params(g, V, E, H, L, pad)
    dims = [3 * E, hid, C]
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        params[f"head.{i}.bn.weight"] = f32(1 + (torch.rand(a, generator=g) - 0.5) * 0.4)
        params[f"head.{i}.bn.bias"] = f32((torch.rand(a, generator=g) - 0.5) * 0.2)
        params[f"head.{i}.bn.running_mean"] = f32((torch.rand(a, generator=g) - 0.5) * 0.2)
        params[f"head.{i}.bn.running_var"] = f32(0.5 + torch.rand(a, generator=g))
        k = 1.0 / np.sqrt(a)
        params[f"head.{i}.linear.weight"] = f32((torch.rand(b, a, generator=g) * 2 - 1) * k)
        params[f"head.{i}.linear.bias"] = f32((torch.rand(b, generator=g) * 2 - 1) * k)
    for k, v in params.items():
        w.add(f"clf/params/{k}", v)
    gx = torch.Generator().manual_seed(7)
    # longest first (fastai sorts); the longest is a multiple of bptt: fastai's
    # masked_concat_pool finds the last token via the pads in the last bptt positions, which
    # also counts leading pads there when the padded length is not a multiple of bptt.
    lens = [12, 7, 5, 2]
    docs = [torch.randint(0, V, (n,), generator=gx).tolist() for n in lens]
    docs = [[t if t != pad else 2 for t in d] for d in docs]
    labels = [0, 2, 1, 2]
    sl = max(lens)
    padded = [[pad] * (sl - len(d)) + d for d in docs]

    enc = Encoder(params, V, E, H, L, pad)
    head = Head(params, dims)
    named = dict(enc.named(), **head.named())

    # eval mode first (running stats as given), no grad
    head.eval()
    with torch.no_grad():
        feats = pool_per_doc(enc, docs, bptt)
        w.add("clf/eval/logits", head(feats))
        feats_fa = pool_fastai(enc, docs, bptt, pad)
        assert torch.allclose(feats, feats_fa, atol=1e-12), "per-doc vs fastai layout pooling differ"

    # train mode: batch statistics, gradients of CE mean
    def train_pass(pool):
        h2 = Head(params, dims)
        e2 = Encoder(params, V, E, H, L, pad)
        h2.train()
        f = pool(e2)
        logits = h2(f)
        loss = F.cross_entropy(logits, torch.tensor(labels))
        loss.backward()
        grads = {k: p.grad.clone() for k, p in dict(e2.named(), **h2.named()).items()}
        return f, logits, loss, grads, h2

    f, logits, loss, grads, h2 = train_pass(lambda e: pool_per_doc(e, docs, bptt))
    _, logits_fa, loss_fa, grads_fa, _ = train_pass(lambda e: pool_fastai(e, docs, bptt, pad))
    assert torch.allclose(logits, logits_fa, atol=1e-12)
    for k in grads:
        assert torch.allclose(grads[k], grads_fa[k], atol=1e-12), k
    w.add("clf/train/features", f)
    w.add("clf/train/logits", logits)
    for k, gr in grads.items():
        w.add(f"clf/train/grad/{k}", gr)
    for i, bn in enumerate(h2.bns):
        w.add(f"clf/train/head.{i}.bn.running_mean", bn.running_mean)
        w.add(f"clf/train/head.{i}.bn.running_var", bn.running_var)
    meta["clf"] = {"vocab": V, "emb": E, "hidden": H, "layers": L, "pad": pad, "bptt": bptt,
                   "n_classes": C, "head_hidden": hid, "bn_momentum": 0.1, "bn_eps": 1e-5,
                   "docs": docs, "lengths": lens, "padded_left": padded, "labels": labels,
                   "loss": float(loss), "params": list(named.keys()),
                   "buffers": [k for k in params if "running" in k]}
    print(f"clf: train loss {float(loss):.6f}", file=sys.stderr)


# ----------------------------------------------------------------------------------------
def gen_adam(w, meta):
    g = torch.Generator().manual_seed(5)
    shapes = {"a": (4, 3), "b": (5,)}
    lr, betas, eps, wd, steps = 1e-2, (0.7, 0.99), 1e-5, 0.01, 3
    ps = {k: nn.Parameter(f32(torch.randn(*s, generator=g))) for k, s in shapes.items()}
    opt = torch.optim.AdamW(list(ps.values()), lr=lr, betas=betas, eps=eps, weight_decay=wd)
    for k, p in ps.items():
        w.add(f"adam/p0/{k}", p)
    for s in range(steps):
        for k, p in ps.items():
            gr = f32(torch.randn(*shapes[k], generator=g) * (0.1 if s != 1 else 2.0))
            w.add(f"adam/g{s}/{k}", gr)
            p.grad = gr
        opt.step()
        for k, p in ps.items():
            w.add(f"adam/p{s + 1}/{k}", p)
    meta["adam"] = {"lr": lr, "beta1": betas[0], "beta2": betas[1], "eps": eps, "wd": wd,
                    "steps": steps, "params": list(shapes.keys())}

    # gradient clipping (torch.nn.utils.clip_grad_norm_) over both tensors together
    gs = {k: nn.Parameter(torch.zeros(*s, dtype=DT)) for k, s in shapes.items()}
    for k, p in gs.items():
        p.grad = f32(torch.randn(*shapes[k], generator=g))
        w.add(f"clip/g/{k}", p.grad)
    norm = torch.nn.utils.clip_grad_norm_(list(gs.values()), 0.1)
    for k, p in gs.items():
        w.add(f"clip/clipped/{k}", p.grad)
    meta["clip"] = {"max_norm": 0.1, "total_norm": float(norm), "params": list(shapes.keys())}


def main():
    w = Writer()
    meta = {"format": 1, "generator": "nn/testdata/parity/gen.py", "torch": torch.__version__,
            "note": "tensors: name -> shape and offset in float32 elements of fixture.bin (little-endian)"}
    gen_lm(w, meta)
    gen_clf(w, meta)
    gen_adam(w, meta)
    meta["tensors"] = w.index
    meta["total_floats"] = w.off
    data = np.concatenate(w.chunks).astype("<f4")
    with open(os.path.join(HERE, "fixture.bin.tmp"), "wb") as f:
        f.write(data.tobytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(os.path.join(HERE, "fixture.bin.tmp"), os.path.join(HERE, "fixture.bin"))
    with open(os.path.join(HERE, "fixture.json.tmp"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(os.path.join(HERE, "fixture.json.tmp"), os.path.join(HERE, "fixture.json"))
    print(f"wrote {w.off} floats ({4 * w.off} bytes) in {len(w.index)} tensors", file=sys.stderr)


if __name__ == "__main__":
    main()
