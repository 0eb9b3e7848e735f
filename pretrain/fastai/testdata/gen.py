#!/usr/bin/env python3
"""Builds the tiny fake fastai AWD-LSTM checkpoints the Go tests import.

Run from this folder: /usr/bin/python3 gen.py   (python3-torch 1.13, numpy)

Every fixture holds random weights at tiny sizes (vocab ~40, emb 8, hidden 12,
3 layers) in one of fastai's on-disk layouts, plus the reference logits of a
plain PyTorch AWD-LSTM in eval mode on a fixed token sequence (refs.json):

  v2.pth           fastai v2 keys, torch zip format, decoder bias, v2 special order (+ xxfake)
  v1_legacy.pth    fastai v1 keys (module.weight_hh_l0 next to *_raw), legacy torch format
  wrapped.pth      {'model': v2 state dict, 'opt': optimizer state}, as learn.save writes it
  v07_fwd.h5       fastai 0.7 keys (encoder_with_dropout, module.*_raw), no decoder bias,
                   hidden 10, _unk_/_pad_/xbos specials, legacy format with _rebuild_tensor
                   and torch.cuda.FloatStorage, as the 2018 release was saved
  wt103-fwd.tgz    wt103-fwd/lstm_fwd.pth + wt103-fwd/itos_wt103.pkl, as fastai's model zoo
  clas_v2.pth      a fastai v2 text classifier (must be refused by the LM import)
  tensors*.pth     strided views and fp16/bf16/f64/int64/bool tensors (zip and legacy)
  itos_*.pkl       pickled token lists

The outputs are byte-for-byte reproducible except the legacy-format files,
whose storage keys are memory addresses (their values are reproducible).
"""
import gzip
import io
import json
import os
import pickle
import struct
import sys
import tarfile
from collections import OrderedDict

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
WORDS = ["the", ",", ".", "of", "and", "in", "to", "a", "was", "'s", "is", "for",
         "on", "as", "with", "by", "he", "at", "that", "from", "his", "it", "an",
         "were", "are", "which", "this", "be", "(", ")"]  # 30 words
V1_SPECIALS = ["xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxmaj", "xxup", "xxrep", "xxwrep"]
V2_SPECIALS = ["xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj"]
V07_SPECIALS = ["_unk_", "_pad_", "xbos", "xfld", "t_up", "tk_rep", "tk_wrep"]
EMB, HID, LAYERS = 8, 12, 3
SEQ = [["xxbos", "xxmaj", "the", "cat", "was", "in", "the", "hat", "."],
       ["xxbos", "he", "is", "xxup", "a", "wiki", ",", "and", "it"]]
SEQ07 = {"xxbos": "xbos", "xxmaj": "t_up", "xxup": "t_up"}


def lm_weights(gen, vocab, emb, hid, layers, bias=True):
    """Random AWD-LSTM LM weights: dict of plain tensors (our names)."""
    w = OrderedDict()
    w["encoder.weight"] = torch.randn(vocab, emb, generator=gen) * 0.5
    for l in range(layers):
        n_in = emb if l == 0 else hid
        n_out = emb if l == layers - 1 else hid
        k = 1.0 / n_out ** 0.5
        w[f"rnns.{l}.weight_ih"] = (torch.rand(4 * n_out, n_in, generator=gen) * 2 - 1) * k
        w[f"rnns.{l}.weight_hh"] = (torch.rand(4 * n_out, n_out, generator=gen) * 2 - 1) * k
        w[f"rnns.{l}.bias_ih"] = (torch.rand(4 * n_out, generator=gen) * 2 - 1) * k
        w[f"rnns.{l}.bias_hh"] = (torch.rand(4 * n_out, generator=gen) * 2 - 1) * k
    if bias:
        w["decoder.bias"] = torch.randn(vocab, generator=gen) * 0.1
    return w


def ref_logits(w, ids, layers):
    """Eval-mode AWD-LSTM forward (no dropout), zero initial state, tied decoder."""
    enc = w["encoder.weight"]
    x = enc[torch.tensor(ids)]  # [B, T, E]
    for l in range(layers):
        hh = w[f"rnns.{l}.weight_hh"]
        ih = w[f"rnns.{l}.weight_ih"]
        lstm = nn.LSTM(ih.shape[1], hh.shape[1], batch_first=True)
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(ih)
            lstm.weight_hh_l0.copy_(hh)
            lstm.bias_ih_l0.copy_(w[f"rnns.{l}.bias_ih"])
            lstm.bias_hh_l0.copy_(w[f"rnns.{l}.bias_hh"])
            x, _ = lstm(x)
    with torch.no_grad():
        out = x @ enc.t()
        if "decoder.bias" in w:
            out = out + w["decoder.bias"]
    return out


def v2_state(w, layers):
    sd = OrderedDict()
    enc = w["encoder.weight"].clone()
    sd["0.encoder.weight"] = enc
    sd["0.encoder_dp.emb.weight"] = enc  # shared storage, as in fastai
    for l in range(layers):
        sd[f"0.rnns.{l}.weight_hh_l0_raw"] = w[f"rnns.{l}.weight_hh"].clone()
        sd[f"0.rnns.{l}.module.weight_ih_l0"] = w[f"rnns.{l}.weight_ih"].clone()
        sd[f"0.rnns.{l}.module.bias_ih_l0"] = w[f"rnns.{l}.bias_ih"].clone()
        sd[f"0.rnns.{l}.module.bias_hh_l0"] = w[f"rnns.{l}.bias_hh"].clone()
    sd["1.decoder.weight"] = enc  # tied
    sd["1.decoder.bias"] = w["decoder.bias"].clone()
    return sd


def v1_state(w, layers):
    sd = OrderedDict()
    enc = w["encoder.weight"].clone()
    sd["0.encoder.weight"] = enc
    sd["0.encoder_dp.emb.weight"] = enc
    for l in range(layers):
        raw = w[f"rnns.{l}.weight_hh"].clone()
        sd[f"0.rnns.{l}.weight_hh_l0_raw"] = raw
        sd[f"0.rnns.{l}.module.weight_ih_l0"] = w[f"rnns.{l}.weight_ih"].clone()
        # v1 keeps the (dropped-out during training) copy in the state dict too
        sd[f"0.rnns.{l}.module.weight_hh_l0"] = raw * 0.5
        sd[f"0.rnns.{l}.module.bias_ih_l0"] = w[f"rnns.{l}.bias_ih"].clone()
        sd[f"0.rnns.{l}.module.bias_hh_l0"] = w[f"rnns.{l}.bias_hh"].clone()
    sd["1.decoder.weight"] = enc
    sd["1.decoder.bias"] = w["decoder.bias"].clone()
    return sd


def v07_state(w, layers):
    sd = OrderedDict()
    enc = w["encoder.weight"].clone()
    sd["0.encoder.weight"] = enc
    sd["0.encoder_with_dropout.embed.weight"] = enc
    for l in range(layers):
        sd[f"0.rnns.{l}.module.weight_ih_l0"] = w[f"rnns.{l}.weight_ih"].clone()
        sd[f"0.rnns.{l}.module.bias_ih_l0"] = w[f"rnns.{l}.bias_ih"].clone()
        sd[f"0.rnns.{l}.module.bias_hh_l0"] = w[f"rnns.{l}.bias_hh"].clone()
        sd[f"0.rnns.{l}.module.weight_hh_l0_raw"] = w[f"rnns.{l}.weight_hh"].clone()
    sd["1.decoder.weight"] = enc
    return sd


def save_legacy_v1tensors(obj, path):
    """torch 0.3-style legacy file: tensors via _rebuild_tensor, cuda storages."""
    storages = OrderedDict()

    class P(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, StorageRef):
                key = str(o.key)
                storages[key] = o.data
                return ("storage", torch.cuda.FloatStorage, key, "cuda:0", o.data.numel(), None)
            return None

        def reducer_override(self, o):
            if isinstance(o, torch.Tensor):
                t = o.contiguous()
                ref = storage_of(t)
                return (torch._utils._rebuild_tensor, (ref, 0, tuple(t.shape), tuple(t.stride())))
            return NotImplemented

    refs = {}

    def storage_of(t):
        p = t.data_ptr()
        if p not in refs:
            refs[p] = StorageRef(len(refs), t.flatten().clone())
        return refs[p]

    buf = io.BytesIO()
    pickle.dump(0x1950a86a20f9469cfc6c, buf, protocol=2)
    pickle.dump(1001, buf, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, buf, protocol=2)
    P(buf, protocol=2).dump(obj)
    keys = list(storages.keys())
    pickle.dump(keys, buf, protocol=2)
    for k in keys:
        d = storages[k]
        buf.write(struct.pack("<q", d.numel()))
        buf.write(d.numpy().astype("<f4").tobytes())
    with open(path, "wb") as f:
        f.write(buf.getvalue())


class StorageRef:
    def __init__(self, key, data):
        self.key, self.data = key, data


def save_itos(itos, path):
    with open(path, "wb") as f:
        pickle.dump(itos, f, protocol=2)


def seq_ids(itos, mapping=None):
    stoi = {t: i for i, t in enumerate(itos)}
    out = []
    for row in SEQ:
        r = []
        for t in row:
            if mapping:
                t = mapping.get(t, t)
            r.append(stoi.get(t, stoi.get("xxunk", stoi.get("_unk_"))))
        out.append(r)
    return out


def clas_state(gen, w, layers, n_classes=3):
    sd = OrderedDict()
    for k, v in v2_state(w, layers).items():
        if k.startswith("0."):
            sd["0.module." + k[2:]] = v
    dims = [3 * EMB, 5, n_classes]
    for i in range(2):
        n_in, n_out = dims[i], dims[i + 1]
        p = f"1.layers.{i}."
        sd[p + "0.weight"] = torch.rand(n_in, generator=gen)
        sd[p + "0.bias"] = torch.rand(n_in, generator=gen)
        sd[p + "0.running_mean"] = torch.rand(n_in, generator=gen)
        sd[p + "0.running_var"] = torch.rand(n_in, generator=gen) + 0.5
        sd[p + "0.num_batches_tracked"] = torch.tensor(7)
        sd[p + "2.weight"] = torch.randn(n_out, n_in, generator=gen)
    return sd


def main():
    gen = torch.Generator().manual_seed(20180118)
    refs = {}

    def record(name, itos, w, layers, mapping=None):
        ids = seq_ids(itos, mapping)
        logits = ref_logits(w, ids, layers)
        refs[name] = {"itos": itos, "ids": ids,
                      "logits": [round(float(x), 7) for x in logits.flatten().tolist()],
                      "shape": list(logits.shape)}

    # fastai v2: zip format, v2 special order, padded to a multiple of 8 with xxfake.
    itos2 = V2_SPECIALS + WORDS[:29]
    itos2 += ["xxfake"] * (-len(itos2) % 8)
    w2 = lm_weights(gen, len(itos2), EMB, HID, LAYERS)
    torch.save(v2_state(w2, LAYERS), os.path.join(HERE, "v2.pth"))
    save_itos(itos2, os.path.join(HERE, "itos_v2.pkl"))
    record("v2", itos2, w2, LAYERS)

    # fastai v1: legacy format, v1 special order.
    itos1 = V1_SPECIALS + WORDS
    w1 = lm_weights(gen, len(itos1), EMB, HID, LAYERS)
    torch.save(v1_state(w1, LAYERS), os.path.join(HERE, "v1_legacy.pth"),
               _use_new_zipfile_serialization=False)
    save_itos(itos1, os.path.join(HERE, "itos_v1.pkl"))
    record("v1_legacy", itos1, w1, LAYERS)

    # learn.save(with_opt=True): {'model': ..., 'opt': ...}; reuses the v1 vocab.
    ww = lm_weights(gen, len(itos1), EMB, HID, LAYERS)
    sd = v2_state(ww, LAYERS)
    opt = torch.optim.Adam([nn.Parameter(t.clone()) for t in list(sd.values())[:3]], lr=1e-3)
    torch.save({"model": sd, "opt": opt.state_dict()}, os.path.join(HERE, "wrapped.pth"))
    record("wrapped", itos1, ww, LAYERS)

    # fastai 0.7 (2018 release): hidden 10, no decoder bias, old specials.
    itos07 = V07_SPECIALS + WORDS
    w07 = lm_weights(gen, len(itos07), EMB, 10, LAYERS, bias=False)
    save_legacy_v1tensors(v07_state(w07, LAYERS), os.path.join(HERE, "v07_fwd.h5"))
    save_itos(itos07, os.path.join(HERE, "itos_v07.pkl"))
    record("v07", itos07, w07, LAYERS, SEQ07)
    # make sure torch itself reads what we wrote
    back = torch.load(os.path.join(HERE, "v07_fwd.h5"), map_location="cpu")
    assert torch.equal(back["0.encoder.weight"], w07["encoder.weight"])

    # fastai model zoo archive layout: wt103-fwd/{lstm_fwd.pth, itos_wt103.pkl}; reuses v2.
    tgz = os.path.join(HERE, "wt103-fwd.tgz")
    with open(tgz, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for src, dst in [("v2.pth", "wt103-fwd/lstm_fwd.pth"), ("itos_v2.pkl", "wt103-fwd/itos_wt103.pkl")]:
            ti = tf.gettarinfo(os.path.join(HERE, src), arcname=dst)
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname, ti.mode = 0, 0, 0, "", "", 0o644
            with open(os.path.join(HERE, src), "rb") as f:
                tf.addfile(ti, f)

    # a classifier, which the LM import must refuse
    torch.save(clas_state(gen, w2, LAYERS), os.path.join(HERE, "clas_v2.pth"))

    # strided views and other dtypes, for the reader's unit test
    x = torch.randn(4, 6, generator=gen)
    views = OrderedDict([("transposed", x.t()), ("sliced", x[1:, 2:5]), ("half", x.half()),
                         ("bfloat16", x.bfloat16()), ("double", x.double()),
                         ("long", torch.arange(-3, 3)), ("scalar", torch.tensor(7)),
                         ("bool", x > 0)])
    refs["tensors"] = {k: {"shape": list(v.shape), "values": [float(a) for a in v.float().flatten().tolist()]}
                       for k, v in views.items()}
    torch.save(views, os.path.join(HERE, "tensors.pth"))
    torch.save(views, os.path.join(HERE, "tensors_legacy.pth"), _use_new_zipfile_serialization=False)

    with open(os.path.join(HERE, "refs.json"), "w") as f:
        json.dump(refs, f, separators=(",", ":"))
    print("ok", file=sys.stderr)


if __name__ == "__main__":
    main()
