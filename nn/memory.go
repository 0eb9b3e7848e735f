package nn

import "fmt"

// MemoryEstimate is the memory (Go heap bytes) that training a model needs,
// counted from what the layers of this package actually allocate: the
// parameters, their gradients, Adam's two moments, the per-window caches
// and gradient buffers of the encoder (one BPTT window for the LM, the BPT3C
// kept region for the classifier), and the decoder/softmax and head
// workspace. It leaves out the training data, the backend's own workspace
// (e.g. OpenBLAS buffers) and the Go runtime's overhead.
type MemoryEstimate struct {
	Params      int64 // parameter values (and BatchNorm buffers)
	Grads       int64 // parameter gradients
	Adam        int64 // Adam's first and second moments
	Activations int64 // encoder caches and activation gradients for one window
	Workspace   int64 // decoder/softmax row chunk, decoder grads, dropout masks, weight-drop copies, head buffers

	// What was estimated, so that a caller (e.g. stage/memcheck) can
	// re-estimate at another batch size or preset.
	Kind       string           // "lm" or "classifier"
	LM         LMConfig         // Kind "lm"
	Classifier ClassifierConfig // Kind "classifier"
	BatchSize  int
	SeqLen     int // BPTT window (lm) or longest document (classifier)
	EvalBS     int // classifier: evaluation batch size counted by WithEval (0: none)
}

// Total is the sum of all parts.
func (m MemoryEstimate) Total() int64 {
	return m.Params + m.Grads + m.Adam + m.Activations + m.Workspace
}

// Reestimate returns the estimate of the same model kind and configuration
// at batch size bs and encoder cfg (cfg keeps the original's vocabulary when
// its VocabSize is 0).
func (m MemoryEstimate) Reestimate(enc LMConfig, bs int) MemoryEstimate {
	switch m.Kind {
	case "classifier":
		c := m.Classifier
		if enc.VocabSize == 0 {
			enc.VocabSize = c.Encoder.VocabSize
		}
		c.Encoder = enc
		e := EstimateClassifierMemory(c, bs, m.SeqLen)
		if m.EvalBS > 0 {
			e = e.WithEval(max(1, bs*m.EvalBS/max(m.BatchSize, 1)))
		}
		return e
	default:
		if enc.VocabSize == 0 {
			enc.VocabSize = m.LM.VocabSize
		}
		return EstimateLMMemory(enc, bs, m.SeqLen)
	}
}

// Encoder returns the encoder configuration the estimate was made for.
func (m MemoryEstimate) Encoder() LMConfig {
	if m.Kind == "classifier" {
		return m.Classifier.Encoder
	}
	return m.LM
}

// FormatBytes formats n bytes for people: "9.1 GiB", "350 MiB", "64 KiB",
// "100 B" (one decimal below 10 of a unit).
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u == 0 || v >= 10 {
		return fmt.Sprintf("%.0f %s", v, units[u])
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}

// Breakdown is the parts, e.g. "params 150 MiB, grads 150 MiB, Adam 300
// MiB, activations 1.3 GiB, workspace 200 MiB".
func (m MemoryEstimate) Breakdown() string {
	return fmt.Sprintf("params %s, grads %s, Adam %s, activations %s, workspace %s",
		FormatBytes(m.Params), FormatBytes(m.Grads), FormatBytes(m.Adam), FormatBytes(m.Activations), FormatBytes(m.Workspace))
}

// String is a one-line summary: "about 1.7 GiB (params 150 MiB, ...)".
func (m MemoryEstimate) String() string {
	return fmt.Sprintf("about %s (%s)", FormatBytes(m.Total()), m.Breakdown())
}

// lmParamCount is the number of trainable parameter elements of an LM
// (or, without the decoder, of the encoder).
func lmParamCount(cfg LMConfig, decoder bool) int64 {
	v, e := int64(cfg.VocabSize), int64(cfg.EmbSize)
	n := v * e
	for l := 0; l < cfg.Layers; l++ {
		in, h := cfg.LayerSizes(l)
		if cfg.IsQRNN() {
			n += 3*int64(h)*int64(qrnnWindow(l)*in) + 3*int64(h)
			continue
		}
		n += 4*int64(h)*int64(in) + 4*int64(h)*int64(h) + 8*int64(h)
	}
	if decoder {
		if !cfg.TieWeights {
			n += v * e
		}
		if cfg.DecoderBias {
			n += v
		}
	}
	return n
}

// encoderTraining counts, in float32 elements, what the encoder allocates
// for training windows of t steps and batch b (all layers trainable):
// activations (caches for Backward and activation gradients) and workspace
// (masks, carried state, weight-drop copies). maxT is the longest window
// any Forward gets (buffers keep their largest size).
func encoderTraining(cfg LMConfig, b, t int) (act, work int64) {
	B, T := int64(b), int64(t)
	n := B * T
	e := int64(cfg.EmbSize)
	act += n * e // embedding output
	if cfg.EmbedDropout > 0 {
		work += int64(cfg.VocabSize) // row mask
	}
	if cfg.InputDropout > 0 {
		work += B * e
	}
	var dbuf [2]int64
	for l := 0; l < cfg.Layers; l++ {
		in, hh := cfg.LayerSizes(l)
		h, i := int64(hh), int64(in)
		if cfg.IsQRNN() {
			k := int64(qrnnWindow(l)) * i
			act += n*3*h + // gates
				2*n*h + // cs, hs
				n*3*h // dGates
			work += 2*B*h + 2*n // c0, cInit; BPT3C keep, cut
			if k > i {
				act += 2 * n * k // window source and its gradient
				work += B * i    // carried last input
			}
			if cfg.WeightDropout > 0 {
				work += 3 * 3 * h * k // mask, W*mask, masked dW
			}
			if l < cfg.Layers-1 {
				act += n * h
				if cfg.HiddenDropout > 0 {
					work += B * h
				}
			}
			dbuf[l%2] = max(dbuf[l%2], n*i)
			continue
		}
		act += n*4*h + // gates
			2*(T+1)*B*h + // hs, cs
			n*h + // tanh(c)
			n*4*h // dGates
		work += 4*h + 2*B*h + 3*B*h // bsum, h0/c0, dh/dc/dhT
		if cfg.WeightDropout > 0 {
			work += 3 * 4 * h * h // mask, W_hh*mask, masked dW
		}
		if l < cfg.Layers-1 {
			act += n * h // dropped output
			if cfg.HiddenDropout > 0 {
				work += B * h
			}
		}
		dbuf[l%2] = max(dbuf[l%2], n*i) // dx of layer l
	}
	act += dbuf[0] + dbuf[1]
	return act, work
}

// EstimateLMMemory estimates the memory of training an LM with Adam on
// windows of bs rows by bptt steps (pass the longest window: with variable
// BPTT, bptt + 25). The decoder and softmax are fused in row chunks of at
// most 8Mi logits (decoderChunk), so the full [bptt*bs, V] logits are not
// counted.
func EstimateLMMemory(cfg LMConfig, bs, bptt int) MemoryEstimate {
	bs, bptt = max(bs, 1), max(bptt, 1)
	p := lmParamCount(cfg, true)
	act, work := encoderTraining(cfg, bs, bptt)
	n := int64(bs) * int64(bptt)
	e, v := int64(cfg.EmbSize), int64(cfg.VocabSize)
	act += 2 * n * e // dropped output, its gradient dx
	if bptt > 1 {
		act += (n - int64(bs)) * e // TAR differences
	}
	chunk := int64(decoderChunk(int(n), int(v)))
	work += chunk * v // logits / softmax gradient of one row chunk
	work += v * e     // decoder weight gradient of one window
	if cfg.DecoderBias {
		work += v
	}
	if cfg.OutputDropout > 0 {
		work += int64(bs) * e
	}
	const f = 4 // bytes per float32 (ids are int32: 4 bytes too)
	return MemoryEstimate{
		Params: f * p, Grads: f * p, Adam: 2 * f * p,
		Activations: f * act,
		Workspace:   f * (work + 2*n), // + ids, targets
		Kind:        "lm", LM: cfg, BatchSize: bs, SeqLen: bptt,
	}
}

// encoderForward counts, in float32 elements, the buffers a Forward of the
// encoder fills over a window of t steps and batch b (what an evaluation
// batch allocates): embedding output, gates, h, c, tanh(c), dropped outputs.
func encoderForward(cfg LMConfig, b, t int) int64 {
	n := int64(b) * int64(t)
	act := n * int64(cfg.EmbSize)
	for l := 0; l < cfg.Layers; l++ {
		in, hh := cfg.LayerSizes(l)
		h := int64(hh)
		if cfg.IsQRNN() {
			act += n*3*h + 2*n*h // gates, cs, hs
			if w := int64(qrnnWindow(l)); w > 1 {
				act += n * w * int64(in) // window source
			}
			if l < cfg.Layers-1 {
				act += n * h
			}
			continue
		}
		act += n*4*h + 2*(int64(t)+1)*int64(b)*h + n*h
		if l < cfg.Layers-1 {
			act += n * h
		}
	}
	return act
}

// WithEval returns a classifier estimate that also counts evaluating
// batches of evalBS documents on the same model (clftrain validates at
// 2*bs): the encoder's forward buffers grow to the evaluation batch, the
// gradient buffers stay at the training one. It returns m unchanged for an
// LM or when evalBS is not larger than the training batch.
func (m MemoryEstimate) WithEval(evalBS int) MemoryEstimate {
	if m.Kind != "classifier" || evalBS <= m.BatchSize {
		return m
	}
	_, tw := classifierWindow(m.Classifier, m.SeqLen)
	ec := m.Classifier.Encoder
	m.Activations += 4 * (encoderForward(ec, evalBS, tw) - encoderForward(ec, m.BatchSize, tw))
	m.EvalBS = evalBS
	return m
}

// EstimateClassifierMemory estimates the memory of training a classifier
// with Adam (all layers unfrozen, the largest case of gradual unfreezing) on
// batches of bs documents padded to maxDocLen tokens. BPT3C keeps the
// encoder caches only for the kept region (at most MaxLen steps); the steps
// before it run in BPTT chunks that reuse the same buffers. Use WithEval
// when the same model also evaluates larger batches.
func EstimateClassifierMemory(cfg ClassifierConfig, bs, maxDocLen int) MemoryEstimate {
	bs, maxDocLen = max(bs, 1), max(maxDocLen, 1)
	ec := cfg.Encoder
	tk, tw := classifierWindow(cfg, maxDocLen)
	p := lmParamCount(ec, false)
	act, work := encoderTraining(ec, bs, tw)
	B, e := int64(bs), int64(ec.EmbSize)
	act += int64(tk) * B * e // gradient w.r.t. the kept encoder output

	// Head: concat pooling, then BatchNorm -> Dropout -> Linear blocks.
	dims := append([]int{3 * ec.EmbSize}, cfg.Hidden...)
	dims = append(dims, cfg.NClasses)
	var buffers int64
	work += B*3*e + B*e // pooled output, argmax
	var maxIn int64
	for i := 0; i+1 < len(dims); i++ {
		in, out := int64(dims[i]), int64(dims[i+1])
		p += 2*in + in*out // BN gamma/beta, Linear W
		if cfg.HeadBias {
			p += out
		}
		buffers += 2 * in                 // running mean/var
		work += 2*B*in + in + B*in + B*in // BN y, xhat, invStd; dropout mask, output
		work += B * out                   // Linear output
		maxIn = max(maxIn, in)
	}
	work += B*int64(cfg.NClasses) + 2*B*maxIn  // dlogits, dA, dB
	work += 2*int64(bs)*int64(maxDocLen) + 3*B // ids (int32) + start/keep/poolStart
	const f = 4
	return MemoryEstimate{
		Params: f * (p + buffers), Grads: f * p, Adam: 2 * f * p,
		Activations: f * act, Workspace: f * work,
		Kind: "classifier", Classifier: cfg, BatchSize: bs, SeqLen: maxDocLen,
	}
}
