#!/usr/bin/env python3
"""PyTorch-on-CPU throughput reference for a QRNN language model (fastai v2 AWD_QRNN).

The QRNN counterpart of ../../shared/bench/torch_awdlstm.py, measured the same way. The model
is fastai v2's AWD_QRNN language model (fastai/text/models/awdlstm.py + qrnn.py) as fastai runs
it on a CPU, re-written in plain PyTorch (fastai is not installed):

  - embedding (padding_idx 1) wrapped in EmbeddingDropout, then RNNDropout(input_p);
  - per layer l: QRNN(n_in, n_out, 1, save_prev_x=True, zoneout=0, window=2 if l == 0 else 1,
    output_gate=True), i.e. one QRNNLayer whose `linear` = Linear(window*n_in, 3*n_out) is
    wrapped in WeightDropout(layer_names='weight', weight_p). QRNNLayer.forward:
    source = cat([x, x shifted right by one step, x_{-1} = the saved previous input (zeros
    after a reset)]) for window 2, x for window 1; y = linear(source); z, f, o = y.chunk(3);
    z = tanh(z), f = sigmoid(f); c = forget_mult(z, f, hidden); h = sigmoid(o) * c;
    new hidden = c[:, -1]; prevX = x[:, -1:].detach();
  - forget_mult is fastai's CPU path, `forget_mult_CPU`: a Python loop over the time steps,
    prev = z[:, i]*f[:, i] + (1 - f[:, i])*prev (fastai splits z and f along time and cats the
    results), so autograd records ~3 small element-wise ops per time step and layer; on a
    GPU fastai would use its CUDA kernel instead;
  - RNNDropout(hidden_p) between layers; the hidden states are carried across batches,
    detached (fastai's to_detach);
  - LinearDecoder tied to the embedding, with bias, RNNDropout(output_p) on its input.

Dropouts: the same LM values as torch_awdlstm.py (its LM_DROPS, which are also fastai's
awd_qrnn_lm_config): embed 0.02, input 0.25, weight 0.2, hidden 0.15, output 0.1.
`--drops paper` uses the ULMFiT paper / classifier values instead (embed 0.05, input 0.4,
weight 0.5, hidden 0.3, output 0.4), as ulmfit-go's lmbench does. Dropout rates do not change
the FLOP count (masks are drawn either way).

Training step (as fastai's LMLearner): cross-entropy over the full vocabulary + AR (alpha 2,
on the dropped-out last output) + TAR (beta 1, on the raw last output), backward,
clip_grad_norm_ 0.1, Adam with decoupled weight decay (torch AdamW: betas (0.7, 0.99),
eps 1e-5, wd 0.01). Inference step: eval mode, no grad, forward + the same cross-entropy.
Inputs are random token ids (throughput does not depend on the data).

Configs:
  Q      training, vocab 10000, emb 200, hidden 512, 3 layers, batch 32, bptt 70
  Q_inf  inference, Q's sizes
  MF     training, vocab 30000, emb 400, hidden 1550, 4 layers, batch 64, bptt 70 (MultiFiT)
  tiny   training, vocab 1000, emb 16, hidden 24, 2 layers, batch 8, bptt 20 (smoke test)
  tiny_inf  inference, tiny's sizes (smoke test)
(the last layer's output size is emb, for the tied decoder)

Usage:
    python3 torch_qrnn.py [--configs Q,Q_inf] [--threads 1,2] [--min-time 20] [--repeats 3]
                          [--warmup 2] [--drops lm|paper] [--out torch_qrnn.json]
Run it under ../../shared/bench/run-reference's environment (Debian torch + OpenMP OpenBLAS)
for numbers comparable with torch_awdlstm.py: bench/run-torch-qrnn [args] does that, and is
what `lmbench --ref-qrnn` (`make bench REF=1`) runs for the configs Q, Q_inf and MF, with
lmbench's warm-up, window count and window length; by hand:
    LD_LIBRARY_PATH=<openblas-openmp dir> /usr/bin/python3 bench/torch_qrnn.py ...

Each (config, thread count) runs in its own subprocess (torch.set_num_threads(n), and the
OMP/BLAS thread variables set to n). Timing as in torch_awdlstm.py: --warmup steps, then timed
windows, each running whole steps until >= --min-time seconds; a window's throughput is
tokens (batch*bptt per step) / window time, the reported tok/s is the median window. Windows in
which other processes used more than --max-foreign of the machine's CPUs (from /proc/stat) are
re-run, up to --max-windows windows in all. The per-phase split (forward incl. loss /
backward / clip+step) is seconds per step over the timed windows.

FLOP model (GEMM FLOPs only, per token):
  QRNN layer l forward: 2 * 3*h_l * (window_l * in_l)
  decoder forward:      2 * emb * vocab
  training = 3 x forward (backward ~= 2 x forward)
(Q: 7.42 MFLOP forward, 22.2 MFLOP per training token.)

Output: a table on stdout, and --out (JSON, merged with an existing file: a rerun replaces the
same (config, threads) entries) with, per config and thread count: the config sizes,
tokens_per_s_median, every window (steps, seconds, tokens_per_s, foreign/steal/own CPU
fractions), phase_seconds_per_step, the FLOP model, achieved_gflops, and the torch version.
The format (and the stderr progress lines) follow torch_awdlstm.py's.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------------
# Measurement helpers: torch_awdlstm.py's when importable (same contention accounting and
# dropout values), else equivalent local copies.
# ---------------------------------------------------------------------------------
_REF_DIRS = [os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench")), "/work/shared/bench"]
HELPERS_FROM = "local"
try:
    for _d in _REF_DIRS:
        if os.path.isfile(os.path.join(_d, "torch_awdlstm.py")) and _d not in sys.path:
            sys.path.insert(0, _d)
    from torch_awdlstm import cpu_snapshot, contention, load_peak, LM_DROPS  # noqa: E402
    LM_DROPS = dict(LM_DROPS)
    HELPERS_FROM = sys.modules["torch_awdlstm"].__file__
except Exception:  # noqa: BLE001 - any failure: use the local copies
    def cpu_snapshot():
        """(total, idle+iowait, steal jiffies of the machine; own CPU seconds; wall time)."""
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:]]
        v += [0] * (8 - len(v))
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return (sum(v[:8]), v[3] + v[4], v[7], own, time.perf_counter())

    def contention(a, b):
        """Shares of the machine's CPUs used by other processes (foreign), stolen by the
        hypervisor (steal) and used by this process (own) between snapshots a and b."""
        hz = float(os.sysconf("SC_CLK_TCK"))
        cap = max(1e-9, b[4] - a[4]) * (os.cpu_count() or 1)
        busy = ((b[0] - a[0]) - (b[1] - a[1])) / hz
        steal = (b[2] - a[2]) / hz
        own = b[3] - a[3]
        return {"foreign_frac": max(0.0, (busy - steal - own) / cap),
                "steal_frac": steal / cap, "own_cpu_frac": own / cap}

    def load_peak(path):
        """Summary of peak_sgemm.py's JSON, {} if absent."""
        try:
            with open(path) as fh:
                rep = json.load(fh)
        except (OSError, ValueError):
            return {}
        out = dict(rep.get("summary", {}))
        th = rep.get("theoretical", {})
        out.update(theoretical_all_cores=th.get("peak_gflops_all_cores"),
                   theoretical_per_core=th.get("peak_gflops_per_core"), tag=rep.get("tag"))
        return out

    # fastai awd_lstm_lm_config / awd_qrnn_lm_config, as torch_awdlstm.py's LM_DROPS
    LM_DROPS = dict(output_p=0.1, hidden_p=0.15, input_p=0.25, embed_p=0.02, weight_p=0.2)

# ULMFiT paper / fastai awd_qrnn_clas_config
PAPER_DROPS = dict(output_p=0.4, hidden_p=0.3, input_p=0.4, embed_p=0.05, weight_p=0.5)
DROPS = {"lm": LM_DROPS, "paper": PAPER_DROPS}

CONFIGS = {
    "Q": dict(kind="lm_train", vocab=10000, emb=200, hid=512, layers=3, bs=32, bptt=70),
    "Q_inf": dict(kind="lm_infer", vocab=10000, emb=200, hid=512, layers=3, bs=32, bptt=70),
    "MF": dict(kind="lm_train", vocab=30000, emb=400, hid=1550, layers=4, bs=64, bptt=70),
    "tiny": dict(kind="lm_train", vocab=1000, emb=16, hid=24, layers=2, bs=8, bptt=20),
    "tiny_inf": dict(kind="lm_infer", vocab=1000, emb=16, hid=24, layers=2, bs=8, bptt=20),
}


def layer_dims(cfg):
    """(n_in, n_out, window) per QRNN layer."""
    L = cfg["layers"]
    return [(cfg["emb"] if l == 0 else cfg["hid"], cfg["hid"] if l != L - 1 else cfg["emb"], 2 if l == 0 else 1)
            for l in range(L)]


def flops_per_token(cfg):
    qrnn = sum(2 * 3 * h * (w * i) for i, h, w in layer_dims(cfg))
    dec = 2 * cfg["emb"] * cfg["vocab"]
    mult = 3 if cfg["kind"].endswith("train") else 1
    return {"qrnn_fwd": qrnn, "decoder_fwd": dec, "fwd_per_token": qrnn + dec,
            "per_token": mult * (qrnn + dec), "multiplier": mult}


# ---------------------------------------------------------------------------------
# Model: fastai v2 AWD_QRNN (awdlstm.py, qrnn.py), CPU code path, without fastai helpers
# ---------------------------------------------------------------------------------
def build_model(cfg, drops):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def dropout_mask(x, sz, p):
        return x.new_empty(*sz).bernoulli_(1 - p).div_(1 - p)

    class RNNDropout(nn.Module):
        """Dropout with one mask per sequence (shared over the time dimension)."""
        def __init__(self, p):
            super().__init__()
            self.p = p

        def forward(self, x):
            if not self.training or self.p == 0.:
                return x
            return x * dropout_mask(x.data, (x.size(0), 1, *x.shape[2:]), self.p)

    class EmbeddingDropout(nn.Module):
        """Drops whole embedding rows (words)."""
        def __init__(self, emb, embed_p):
            super().__init__()
            self.emb, self.embed_p = emb, embed_p

        def forward(self, words):
            w = self.emb.weight
            if self.training and self.embed_p != 0:
                w = w * dropout_mask(w.data, (w.size(0), 1), self.embed_p)
            pad = -1 if self.emb.padding_idx is None else self.emb.padding_idx
            return F.embedding(words, w, pad, self.emb.max_norm, self.emb.norm_type,
                               self.emb.scale_grad_by_freq, self.emb.sparse)

    class WeightDropout(nn.Module):
        """DropConnect on the named weights of `module` (fastai's WeightDropout): the raw
        weight is the parameter; each forward sets a dropped-out copy on the module."""
        def __init__(self, module, weight_p, layer_names=("weight",)):
            super().__init__()
            self.module, self.weight_p, self.layer_names = module, weight_p, list(layer_names)
            for name in self.layer_names:
                w = getattr(module, name)
                delattr(module, name)
                self.register_parameter(name + "_raw", nn.Parameter(w.data))
                setattr(module, name, w.clone())

        def _setweights(self):
            for name in self.layer_names:
                raw = getattr(self, name + "_raw")
                setattr(self.module, name, F.dropout(raw, p=self.weight_p) if self.training else raw.clone())

        def forward(self, *args):
            self._setweights()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                return self.module(*args)

        def reset(self):
            for name in self.layer_names:
                setattr(self.module, name, getattr(self, name + "_raw").clone())
            if hasattr(self.module, "reset"):
                self.module.reset()

    def forget_mult_CPU(x, f, first_h=None, batch_first=True):
        """fastai's CPU ForgetMult: c_t = f_t*x_t + (1-f_t)*c_{t-1}, a Python loop over time."""
        dim = 1 if batch_first else 0
        forgets, inputs = f.split(1, dim=dim), x.split(1, dim=dim)
        prev = None if first_h is None else first_h.unsqueeze(dim)
        result = []
        for i in range(len(inputs)):
            prev = inputs[i] * forgets[i] if prev is None else inputs[i] * forgets[i] + (1 - forgets[i]) * prev
            result.append(prev)
        return torch.cat(result, dim=dim)

    class QRNNLayer(nn.Module):
        """fastai QRNNLayer, batch_first, forward direction, zoneout 0."""
        def __init__(self, n_in, n_out, save_prev_x=False, window=1, output_gate=True):
            super().__init__()
            assert window in (1, 2)
            self.save_prev_x, self.window, self.output_gate = save_prev_x, window, output_gate
            self.linear = nn.Linear(window * n_in, (3 if output_gate else 2) * n_out)
            self.prevX = None

        def reset(self):
            self.prevX = None

        def _get_source(self, inp):
            if self.window == 1:
                return inp
            prev = torch.zeros_like(inp[:, :1]) if self.prevX is None else self.prevX
            if prev.shape[0] < inp.shape[0]:
                prev = torch.cat([prev, torch.zeros_like(inp[prev.shape[0]:, :1])], dim=0)
            if prev.shape[0] > inp.shape[0]:
                prev = prev[:inp.shape[0]]
            return torch.cat([inp, torch.cat([prev, inp[:, :-1]], 1)], 2)

        def forward(self, inp, hid=None):
            y = self.linear(self._get_source(inp))
            if self.output_gate:
                z, f, o = y.chunk(3, dim=2)
            else:
                z, f = y.chunk(2, dim=2)
            z, f = z.tanh(), f.sigmoid()
            c = forget_mult_CPU(z, f, hid, True)
            out = torch.sigmoid(o) * c if self.output_gate else c
            if self.window > 1 and self.save_prev_x:
                self.prevX = inp[:, -1:].detach()
            return out, c[:, -1]

    class QRNN(nn.Module):
        """fastai QRNN (unidirectional, no inter-layer dropout); hidden: [n_layers, bs, n_out]."""
        def __init__(self, n_in, n_out, n_layers=1, save_prev_x=False, window=None, output_gate=True):
            super().__init__()
            self.layers = nn.ModuleList([
                QRNNLayer(n_in if l == 0 else n_out, n_out, save_prev_x=save_prev_x,
                          window=(2 if l == 0 else 1) if window is None else window, output_gate=output_gate)
                for l in range(n_layers)])

        def reset(self):
            for layer in self.layers:
                layer.reset()

        def forward(self, inp, hid=None):
            new_hid = []
            for i, layer in enumerate(self.layers):
                inp, h = layer(inp, None if hid is None else hid[i])
                new_hid.append(h)
            return inp, torch.stack(new_hid, 0)

    class AWD_QRNN(nn.Module):
        """fastai AWD_LSTM with AWD_QRNN's _one_rnn/_one_hidden (unidirectional)."""
        initrange = 0.1

        def __init__(self, vocab_sz, emb_sz, n_hid, n_layers, pad_token=1, hidden_p=0.2, input_p=0.6,
                     embed_p=0.1, weight_p=0.5):
            super().__init__()
            self.emb_sz, self.n_hid, self.n_layers, self.pad_token = emb_sz, n_hid, n_layers, pad_token
            self.bs = 1
            self.encoder = nn.Embedding(vocab_sz, emb_sz, padding_idx=pad_token)
            self.encoder_dp = EmbeddingDropout(self.encoder, embed_p)
            self.rnns = nn.ModuleList([
                self._one_rnn(emb_sz if l == 0 else n_hid, n_hid if l != n_layers - 1 else emb_sz, weight_p, l)
                for l in range(n_layers)])
            self.encoder.weight.data.uniform_(-self.initrange, self.initrange)
            self.input_dp = RNNDropout(input_p)
            self.hidden_dps = nn.ModuleList([RNNDropout(hidden_p) for _ in range(n_layers)])
            self.reset()

        def _one_rnn(self, n_in, n_out, weight_p, l):
            rnn = QRNN(n_in, n_out, 1, save_prev_x=True, window=2 if l == 0 else 1, output_gate=True)
            rnn.layers[0].linear = WeightDropout(rnn.layers[0].linear, weight_p, layer_names=("weight",))
            return rnn

        def _nh(self, l):
            return self.n_hid if l != self.n_layers - 1 else self.emb_sz

        def _one_hidden(self, l):
            return next(self.parameters()).new_zeros(1, self.bs, self._nh(l))

        def _change_one_hidden(self, l, bs):
            h = self.hidden[l]
            if self.bs < bs:
                return torch.cat([h, h.new_zeros(1, bs - self.bs, self._nh(l))], dim=1)
            if self.bs > bs:
                return h[:, :bs]
            return h

        def reset(self):
            for r in self.rnns:
                r.reset()
            self.hidden = [self._one_hidden(l) for l in range(self.n_layers)]

        def forward(self, inp):
            bs = inp.shape[0]
            if bs != self.bs:
                self.hidden = [self._change_one_hidden(l, bs) for l in range(self.n_layers)]
                self.bs = bs
            output = self.input_dp(self.encoder_dp(inp))
            new_hidden = []
            for l, (rnn, hid_dp) in enumerate(zip(self.rnns, self.hidden_dps)):
                output, new_h = rnn(output, self.hidden[l])
                new_hidden.append(new_h)
                if l != self.n_layers - 1:
                    output = hid_dp(output)
            self.hidden = [h.detach() for h in new_hidden]
            return output

    class LinearDecoder(nn.Module):
        initrange = 0.1

        def __init__(self, n_out, n_hid, output_p=0.1, tie_encoder=None, bias=True):
            super().__init__()
            self.decoder = nn.Linear(n_hid, n_out, bias=bias)
            self.decoder.weight.data.uniform_(-self.initrange, self.initrange)
            self.output_dp = RNNDropout(output_p)
            if bias:
                self.decoder.bias.data.zero_()
            if tie_encoder is not None:
                self.decoder.weight = tie_encoder.weight

        def forward(self, inp):
            dp_inp = self.output_dp(inp)
            return self.decoder(dp_inp), inp, dp_inp

    class SequentialRNN(nn.Sequential):
        def reset(self):
            for c in self.children():
                if hasattr(c, "reset"):
                    c.reset()

    d = drops
    enc = AWD_QRNN(cfg["vocab"], cfg["emb"], cfg["hid"], cfg["layers"], pad_token=1, hidden_p=d["hidden_p"],
                   input_p=d["input_p"], embed_p=d["embed_p"], weight_p=d["weight_p"])
    dec = LinearDecoder(cfg["vocab"], cfg["emb"], output_p=d["output_p"], tie_encoder=enc.encoder, bias=True)
    return SequentialRNN(enc, dec)


# ---------------------------------------------------------------------------------
# Worker: one (config, thread count) per process
# ---------------------------------------------------------------------------------
def worker(a):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(a.threads_one)
    torch.manual_seed(0)
    name, cfg = a.worker, dict(CONFIGS[a.worker])
    train = cfg["kind"].endswith("train")
    model = build_model(cfg, DROPS[a.drops])
    params = [p for p in model.parameters() if p.requires_grad]
    n_params = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.7, 0.99), eps=1e-5, weight_decay=0.01) if train else None
    alpha, beta = 2.0, 1.0

    g = torch.Generator().manual_seed(1)
    n_pool = 4
    shape = (cfg["bs"], cfg["bptt"])
    xs = [torch.randint(2, cfg["vocab"], shape, generator=g) for _ in range(n_pool)]
    ys = [torch.randint(2, cfg["vocab"], shape, generator=g) for _ in range(n_pool)]
    tokens_per_step = cfg["bs"] * cfg["bptt"]
    phase = {"fwd": 0.0, "bwd": 0.0, "opt": 0.0}

    def step(i):
        x, y = xs[i % n_pool], ys[i % n_pool]
        if train:
            model.train()
            t0 = time.perf_counter()
            logits, raw_out, dp_out = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            loss = loss + alpha * dp_out.float().pow(2).mean()                               # AR
            loss = loss + beta * (raw_out[:, 1:] - raw_out[:, :-1]).float().pow(2).mean()   # TAR
            t1 = time.perf_counter()
            opt.zero_grad()
            loss.backward()
            t2 = time.perf_counter()
            torch.nn.utils.clip_grad_norm_(params, 0.1)
            opt.step()
            t3 = time.perf_counter()
            phase["fwd"] += t1 - t0
            phase["bwd"] += t2 - t1
            phase["opt"] += t3 - t2
        else:
            model.eval()
            with torch.no_grad():
                t0 = time.perf_counter()
                logits = model(x)[0]
                loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
                phase["fwd"] += time.perf_counter() - t0
        return float(loss)

    model.reset()
    t_w = time.perf_counter()
    loss0 = None
    for i in range(a.warmup):
        loss0 = step(i)
    warm_s = time.perf_counter() - t_w
    phase = dict.fromkeys(phase, 0.0)

    ncpu = os.cpu_count() or 1
    windows, it, total_steps = [], a.warmup, 0
    while True:
        n, s0, t0 = 0, cpu_snapshot(), time.perf_counter()
        while True:
            last_loss = step(it)
            it, n = it + 1, n + 1
            el = time.perf_counter() - t0
            if el >= a.min_time or (a.max_steps and n >= a.max_steps):
                break
        c = contention(s0, cpu_snapshot())
        total_steps += n
        own_s = c["own_cpu_frac"] * el * ncpu
        w = {"steps": n, "seconds": el, "tokens_per_s": n * tokens_per_step / el, "steps_per_s": n / el,
             "tokens_per_cpu_s": n * tokens_per_step / own_s if own_s > 0 else None}
        w.update(c)
        windows.append(w)
        print("  [%s] window %d: %d steps in %.2fs -> %.1f tok/s (foreign load %.0f%%, steal %.0f%%)" % (
            name, len(windows) - 1, n, el, w["tokens_per_s"], 100 * c["foreign_frac"], 100 * c["steal_frac"]),
            file=sys.stderr, flush=True)
        n_clean = sum(1 for x in windows if x["foreign_frac"] <= a.max_foreign)
        if n_clean >= a.repeats or len(windows) >= max(a.repeats, a.max_windows):
            break

    clean = [x for x in windows if x["foreign_frac"] <= a.max_foreign]
    used = clean if len(clean) >= a.repeats else windows
    med = statistics.median(x["tokens_per_s"] for x in used)
    per_cpu = [x["tokens_per_cpu_s"] for x in used if x["tokens_per_cpu_s"]]
    fl = flops_per_token(cfg)
    res = {
        "config": name, "cfg": cfg, "layer_dims": [list(t) for t in layer_dims(cfg)],
        "threads": a.threads_one, "torch_num_threads": torch.get_num_threads(),
        "torch_version": torch.__version__, "drops": a.drops, "dropouts": DROPS[a.drops],
        "n_params": n_params, "tokens_per_step": tokens_per_step,
        "warmup_steps": a.warmup, "warmup_seconds": warm_s, "loss_first": loss0, "loss_last": last_loss,
        "windows": windows, "tokens_per_s_median": med, "n_windows_used": len(used),
        "contended": len(clean) < a.repeats,
        "foreign_frac_median": statistics.median(x["foreign_frac"] for x in used),
        "max_foreign_frac_used": max(x["foreign_frac"] for x in used),
        "tokens_per_cpu_s_median": statistics.median(per_cpu) if per_cpu else None,
        "steps_per_s_median": med / tokens_per_step, "seconds_per_step_median": tokens_per_step / med,
        "phase_seconds_per_step": {k: v / total_steps for k, v in phase.items()},
        "flops": fl, "achieved_gflops": med * fl["per_token"] / 1e9,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    print(json.dumps(res))


def int_list(s):
    try:
        v = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("want a comma list of integers, got %r" % s)
    if not v or min(v) < 1:
        raise argparse.ArgumentTypeError("want thread counts >= 1, got %r" % s)
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="Q,Q_inf", help="comma list of: " + ", ".join(CONFIGS))
    ap.add_argument("--threads", type=int_list, default=[1, 2], help="comma list of thread counts (default 1,2)")
    ap.add_argument("--min-time", type=float, default=20.0, help="seconds per timed window (whole steps)")
    ap.add_argument("--repeats", type=int, default=3, help="timed windows wanted (median reported)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    ap.add_argument("--max-steps", type=int, default=0, help="cap steps per window (0 = no cap)")
    ap.add_argument("--max-foreign", type=float, default=0.05,
                    help="windows where other processes used more than this fraction of the CPUs are "
                         "re-run (up to --max-windows windows in all)")
    ap.add_argument("--max-windows", type=int, default=6)
    ap.add_argument("--drops", choices=sorted(DROPS), default="lm",
                    help="dropout set: lm = torch_awdlstm.py's LM values (default), paper = ULMFiT paper")
    ap.add_argument("--sgemm-json", default="peak_sgemm.json",
                    help="output of peak_sgemm.py, for the %% of peak column (optional)")
    ap.add_argument("--out", default="torch_qrnn.json", help="results JSON (merged if it exists)")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.threads_one = args.threads[0]
        worker(args)
        return

    names = [c for c in args.configs.split(",") if c]
    bad = [c for c in names if c not in CONFIGS]
    if bad or not names:
        ap.error("--configs: unknown %s (want some of %s)" % (",".join(bad) or "(none)", ", ".join(CONFIGS)))
    peak = load_peak(args.sgemm_json)
    report = {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count(),
              "threads": args.threads, "min_time": args.min_time, "repeats": args.repeats,
              "warmup": args.warmup, "max_foreign": args.max_foreign, "drops": args.drops,
              "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "helpers_from": HELPERS_FROM,
              "sgemm_peak": peak, "results": []}
    todo = {(c, t) for c in names for t in args.threads}
    if os.path.exists(args.out):
        try:
            with open(args.out) as fh:
                old = json.load(fh)
            report["results"] = [r for r in old.get("results", []) if (r.get("config"), r.get("threads")) not in todo]
        except (OSError, ValueError):
            pass

    rows, failed = [], 0
    for name in names:
        for th in args.threads:
            env = dict(os.environ)
            for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
                env[k] = str(th)
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--threads", str(th),
                   "--min-time", repr(args.min_time), "--repeats", str(args.repeats), "--warmup", str(args.warmup),
                   "--max-steps", str(args.max_steps), "--max-foreign", repr(args.max_foreign),
                   "--max-windows", str(args.max_windows), "--drops", args.drops]
            print("== %s (%s), %d thread(s)" % (name, CONFIGS[name]["kind"], th), file=sys.stderr, flush=True)
            t0 = time.time()
            p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
            if p.returncode != 0 or not p.stdout.strip():
                print("config %s, %d thread(s) failed (rc %d)" % (name, th, p.returncode), file=sys.stderr)
                failed += 1
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r["wall_seconds_incl_startup"] = time.time() - t0
            pk = peak.get("torch_%dthr_max_square" % th)
            if pk:
                r["sgemm_peak_used_gflops"] = pk
                r["pct_of_torch_sgemm_peak"] = 100.0 * r["achieved_gflops"] / pk
            report["results"].append(r)
            rows.append(r)
            with open(args.out, "w") as fh:
                json.dump(report, fh, indent=1)

    print("%-8s %-8s %3s %10s %8s %9s %8s  %-23s %s" % (
        "config", "kind", "thr", "tok/s", "GFLOP/s", "tok/CPU-s", "foreign", "fwd/bwd/opt s/step", "windows"))
    for r in rows:
        ph = r["phase_seconds_per_step"]
        pcs = r["tokens_per_cpu_s_median"]
        print("%-8s %-8s %3d %10.1f %8.2f %9s %7.0f%%  %-23s %d%s" % (
            r["config"], r["cfg"]["kind"], r["threads"], r["tokens_per_s_median"], r["achieved_gflops"],
            "%.1f" % pcs if pcs else "-", 100 * r["max_foreign_frac_used"],
            "/".join("%.4f" % ph[k] for k in ("fwd", "bwd", "opt")), r["n_windows_used"],
            "  [CONTENDED]" if r["contended"] else ""), flush=True)
    if rows:
        print("wrote %s (torch %s)" % (args.out, rows[0]["torch_version"]))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
