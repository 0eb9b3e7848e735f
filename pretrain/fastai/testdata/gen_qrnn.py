#!/usr/bin/env python3
"""Builds the fastai AWD_QRNN checkpoint the Go tests import (qrnn_test.go).

Run from anywhere: /usr/bin/python3 gen_qrnn.py   (python3-torch 1.13)

The model is check_export.py's stand-in for fastai v2's AWD_QRNN language model
(fastai is not installed here): module names as fastai's, i.e. encoder,
encoder_dp.emb, rnns[l] = QRNN(n_in, n_out, 1, window=2 if l == 0 else 1,
output_gate=True) whose layers[0].linear is WeightDropout(nn.Linear,
layer_names='weight') (v2: weight_raw + module.bias), and a LinearDecoder tied to
the embedding, with a bias. Vocab: itos_v2.pkl's (40 entries, xxfake included);
emb 8, hidden 12, 3 layers; seeded random weights, larger than torch's init so
that the gates saturate somewhat.

Writes
  qrnn_v2.pth      model.state_dict(), torch.save's default zip format
  refs_qrnn.json   {"qrnn_v2": {itos, ids, logits, shape}} as refs.json's entries: the
                   eval-mode logits [B, T, V] (zero initial state) on seeded token ids
Deterministic: the same bytes on every run.
"""
import json
import os
import pickle
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from check_export import AWDQRNN, LinearDecoder  # noqa: E402

EMB, HID, LAYERS = 8, 12, 3
B, T = 2, 9


def main():
    torch.manual_seed(0)
    with open(os.path.join(HERE, "itos_v2.pkl"), "rb") as f:
        itos = pickle.load(f)
    vocab = len(itos)
    enc = AWDQRNN(vocab, EMB, HID, LAYERS, v1=False)
    model = nn.Sequential(enc, LinearDecoder(vocab, EMB, enc.encoder))
    gen = torch.Generator().manual_seed(20190828)
    with torch.no_grad():
        enc.encoder.weight.copy_(torch.randn(vocab, EMB, generator=gen) * 0.5)
        for r in enc.rnns:
            lin = r.layers[0].linear
            k = 2.0 / lin.weight_raw.shape[1] ** 0.5
            lin.weight_raw.copy_((torch.rand(lin.weight_raw.shape, generator=gen) * 2 - 1) * k)
            lin.module.bias.copy_((torch.rand(lin.module.bias.shape, generator=gen) * 2 - 1) * k)
        model[1].decoder.bias.copy_(torch.randn(vocab, generator=gen) * 0.1)
    sd = model.state_dict()
    keys = list(sd.keys())
    assert "0.rnns.0.layers.0.linear.weight_raw" in keys and "0.rnns.0.layers.0.linear.module.weight" not in keys, keys
    torch.save(sd, os.path.join(HERE, "qrnn_v2.pth"))

    # token ids: anything but xxfake (fastai's padding entries, dropped on import)
    ok = [i for i, t in enumerate(itos) if t != "xxfake"]
    pick = torch.randint(len(ok), (B, T), generator=gen)
    ids = [[ok[int(j)] for j in row] for row in pick]
    back = torch.load(os.path.join(HERE, "qrnn_v2.pth"), map_location="cpu")
    fresh = AWDQRNN(vocab, EMB, HID, LAYERS, v1=False)  # what a fastai user would load it into
    check = nn.Sequential(fresh, LinearDecoder(vocab, EMB, fresh.encoder))
    check.load_state_dict(back, strict=True)
    check.eval()
    with torch.no_grad():
        logits = check[1].decoder(check[0](torch.tensor(ids)))
    refs = {"qrnn_v2": {"itos": itos, "ids": ids,
                        "logits": [round(float(x), 7) for x in logits.flatten().tolist()],
                        "shape": list(logits.shape)}}
    with open(os.path.join(HERE, "refs_qrnn.json"), "w") as f:
        json.dump(refs, f, separators=(",", ":"))
    print(f"ok: {len(keys)} keys, logits {list(logits.shape)}, |logit| max {float(logits.abs().max()):.3f}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
