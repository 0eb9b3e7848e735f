#!/usr/bin/env python3
"""Loads a `pretrain export` output with PyTorch, as a fastai user would.

usage: check_export.py JOBS_JSON
  JOBS_JSON: a list of [kind (lm|clas), layout (v1|v2), PREFIX, extra] where extra is
  the batch-major token ids (lm) or the head dropouts (clas); one JSON result per job.

torch.load()s PREFIX.pth and unpickles PREFIX_itos.pkl, then loads the state
dict with strict=True into a module tree that has fastai's module names
(a stand-in for fastai, which is not installed here: AWD_LSTM with encoder,
encoder_dp.emb, rnns[i] = WeightDropout(LSTM) holding weight_hh_l0_raw,
LinearDecoder; for classifiers SentenceEncoder.module and the
PoolingLinearClassifier head of LinBnDrop / bn_drop_lin blocks). A state
dict with 0.rnns.0.layers.0.linear.* keys is fastai's AWD_QRNN: rnns[l] =
QRNN(n_in, n_out, 1, save_prev_x=True, zoneout=0, window=2 if l == 0 else 1,
output_gate=True), whose layers[0].linear is WeightDropout(nn.Linear,
layer_names='weight') holding weight_raw (module.weight removed from the
parameters in v2, kept in v1). Prints JSON: the state dict keys in file order,
the module tree's state_dict keys in its order (model_keys), every tensor's
values, whether the tied tensors share storage, the itos, and for an LM the
eval-mode logits on the batch-major token ids given as JSON.
"""
import json
import pickle
import sys

import torch
import torch.nn as nn


class WeightDropout(nn.Module):
    """fastai's WeightDropout: the raw W_hh is a parameter of the wrapper."""

    def __init__(self, module, v1):
        super().__init__()
        self.module = module
        w = module.weight_hh_l0
        self.weight_hh_l0_raw = nn.Parameter(w.data.clone())
        if not v1:  # fastai v2 removes it from the LSTM's parameters
            del module._parameters["weight_hh_l0"]
            module.weight_hh_l0 = w.data.clone()

    def forward(self, x, h):
        m = self.module
        return torch._VF.lstm(x, h, [m.weight_ih_l0, self.weight_hh_l0_raw, m.bias_ih_l0, m.bias_hh_l0],
                              True, 1, 0.0, False, False, True)


class LinearWeightDropout(nn.Module):
    """fastai's WeightDropout(nn.Linear, layer_names='weight') of a QRNNLayer."""

    def __init__(self, module, v1):
        super().__init__()
        self.module = module
        w = module.weight
        self.weight_raw = nn.Parameter(w.data.clone())
        if not v1:  # fastai v2 removes it from the Linear's parameters
            del module._parameters["weight"]
            module.weight = w.data.clone()

    def forward(self, x):
        return torch.nn.functional.linear(x, self.weight_raw, self.module.bias)  # eval: no dropout


def forget_mult(z, f):
    """fastai's forget_mult_CPU with no initial hidden state, batch_first [B,T,H]."""
    out, prev = [], None
    for t in range(z.shape[1]):
        prev = z[:, t] * f[:, t] if prev is None else z[:, t] * f[:, t] + (1 - f[:, t]) * prev
        out.append(prev)
    return torch.stack(out, 1)


class QRNNLayer(nn.Module):
    """fastai's QRNNLayer(save_prev_x=True, zoneout=0, output_gate=True), eval mode, zero state."""

    def __init__(self, n_in, n_out, window, v1):
        super().__init__()
        self.window = window
        self.linear = LinearWeightDropout(nn.Linear(window * n_in, 3 * n_out), v1)

    def forward(self, x):
        src = x
        if self.window == 2:  # [x_t, x_{t-1}], x_{-1} = 0 (no saved input after a reset)
            src = torch.cat([x, torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], 1)], 2)
        z, f, o = self.linear(src).chunk(3, dim=2)
        c = forget_mult(z.tanh(), f.sigmoid())
        return torch.sigmoid(o) * c


class QRNN(nn.Module):
    """fastai's QRNN with one layer: the parameters live in layers[0]."""

    def __init__(self, n_in, n_out, window, v1):
        super().__init__()
        self.layers = nn.ModuleList([QRNNLayer(n_in, n_out, window, v1)])

    def forward(self, x):
        return self.layers[0](x)


class EmbeddingDropout(nn.Module):
    def __init__(self, emb):
        super().__init__()
        self.emb = emb


class AWDLSTM(nn.Module):
    def __init__(self, vocab, emb, hid, layers, v1):
        super().__init__()
        self.encoder = nn.Embedding(vocab, emb)
        self.encoder_dp = EmbeddingDropout(self.encoder)
        self.rnns = nn.ModuleList([
            WeightDropout(nn.LSTM(emb if l == 0 else hid, emb if l == layers - 1 else hid, 1, batch_first=True), v1)
            for l in range(layers)])

    def forward(self, ids):
        x = self.encoder(ids)
        b = ids.shape[0]
        for r in self.rnns:
            n = r.weight_hh_l0_raw.shape[1]
            z = torch.zeros(1, b, n)
            x = r(x, (z, z))[0]
        return x


class AWDQRNN(nn.Module):
    """fastai's AWD_QRNN (AWD_LSTM with qrnn=True) in eval mode."""

    def __init__(self, vocab, emb, hid, layers, v1):
        super().__init__()
        self.encoder = nn.Embedding(vocab, emb)
        self.encoder_dp = EmbeddingDropout(self.encoder)
        self.rnns = nn.ModuleList([
            QRNN(emb if l == 0 else hid, emb if l == layers - 1 else hid, 2 if l == 0 else 1, v1)
            for l in range(layers)])

    def forward(self, ids):
        x = self.encoder(ids)
        for r in self.rnns:
            x = r(x)
        return x


class LinearDecoder(nn.Module):
    def __init__(self, vocab, emb, enc):
        super().__init__()
        self.decoder = nn.Linear(emb, vocab)
        self.decoder.weight = enc.weight


class SentenceEncoder(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module


def head_v2(dims, ps, bias):
    layers = []
    for i in range(len(dims) - 1):
        blk = [nn.BatchNorm1d(dims[i])]
        if ps[i] != 0:
            blk.append(nn.Dropout(ps[i]))
        blk.append(nn.Linear(dims[i], dims[i + 1], bias=bias))
        if i < len(dims) - 2:
            blk.append(nn.ReLU())
        layers.append(nn.Sequential(*blk))
    return nn.Sequential(*layers)


def head_v1(dims, ps):
    layers = []
    for i in range(len(dims) - 1):
        layers.append(nn.BatchNorm1d(dims[i]))
        if ps[i] != 0:
            layers.append(nn.Dropout(ps[i]))
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Head(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = layers


def check(kind, layout, prefix, extra):
    sd = torch.load(prefix + ".pth", map_location="cpu")
    with open(prefix + "_itos.pkl", "rb") as f:
        itos = pickle.load(f)
    pre = "0." if kind == "lm" else "0.module."
    vocab, emb = sd[pre + "encoder.weight"].shape
    layers = len({k.split(".")[len(pre.split(".")) ] for k in sd if k.startswith(pre + "rnns.")})
    v1 = layout == "v1"
    if pre + "rnns.0.layers.0.linear.weight_raw" in sd:
        hid = sd[pre + "rnns.0.layers.0.linear.weight_raw"].shape[0] // 3
        enc = AWDQRNN(vocab, emb, hid, layers, v1)
    else:
        hid = sd[pre + "rnns.0.weight_hh_l0_raw"].shape[1]
        enc = AWDLSTM(vocab, emb, hid, layers, v1)
    out = {"keys": list(sd.keys()), "itos": itos,
           "values": {k: [float(x) for x in v.flatten().tolist()] for k, v in sd.items()}}
    if kind == "lm":
        model = nn.Sequential(enc, LinearDecoder(vocab, emb, enc.encoder))
        model.load_state_dict(sd, strict=True)
        out["model_keys"] = list(model.state_dict().keys())
        out["shared"] = (sd["0.encoder.weight"].data_ptr() == sd["1.decoder.weight"].data_ptr() ==
                         sd["0.encoder_dp.emb.weight"].data_ptr())
        if extra is not None:
            ids = torch.tensor(extra)
            model.eval()
            with torch.no_grad():
                logits = model[1].decoder(enc(ids))
            out["logits"] = [float(x) for x in logits.flatten().tolist()]
    else:
        n_cls = [v for k, v in sd.items() if k.startswith("1.layers") and k.endswith("weight") and v.dim() == 2][-1].shape[0]
        dims, ps = [3 * emb], []
        for k, v in sd.items():
            if k.startswith("1.layers") and v.dim() == 2:
                dims.append(v.shape[0])
        ps = extra
        bias = any(k.startswith("1.layers") and k.endswith(".bias") and sd[k].shape[0] in dims[1:] and
                   not k.replace(".bias", ".running_mean") in sd for k in sd)
        head = head_v1(dims, ps) if v1 else head_v2(dims, ps, bias)
        model = nn.Sequential(SentenceEncoder(enc), Head(head))
        model.load_state_dict(sd, strict=True)
        out["model_keys"] = list(model.state_dict().keys())
        out["n_classes"] = n_cls
        out["shared"] = sd["0.module.encoder.weight"].data_ptr() == sd["0.module.encoder_dp.emb.weight"].data_ptr()
    return out


def main():
    json.dump([check(*job) for job in json.loads(sys.argv[1])], sys.stdout)


if __name__ == "__main__":
    main()
