package nn

// This file is all of BPT3C, the classifier's way through a document.
//
// BPT3C is ULMFiT's backpropagation through time for text classification
// (Howard and Ruder 2018, "Universal Language Model Fine-tuning for Text
// Classification", section 3.3; fastai's SentenceEncoder, whose outputs and
// padding mask PoolingLinearClassifier's masked concat pooling reads). A
// document is processed in chunks of BPTT tokens, each chunk starting from
// the hidden state the previous one ended with; only the chunks covering
// the document's last MaxLen tokens (its kept region) keep their
// activations for backpropagation, and only their outputs are pooled. The
// chunks before the kept region run for their state only, in buffers they
// reuse, so memory is bounded by MaxLen whatever the document's length.
//
// Rows: a classification batch holds documents padded at the start
// (fastai's pad_first). Each is processed as if it were alone, as
// SentenceEncoder does on its pad_chunk layout: zero state at its first
// token, chunks aligned with that token, the kept region starting at the
// first chunk within its last MaxLen tokens (keptOffset), the hidden state
// detached between chunks unless BackpropAcrossChunks. Results therefore do
// not depend on how much padding a document gets, i.e. on which batch it is
// in.
//
// One window: the dropout masks are drawn once per batch and shared by all
// its chunks (fastai redraws them per chunk), so the kept chunks of the
// whole batch run as one encoder window from the earliest kept step of the
// batch, k0, after a state-only pass over the steps before it in BPTT
// chunks. What makes one window behave as the per-document chunks is
// segments: the LSTM layers keep the state of a row zero until its
// document starts, and cut its gradient where its document, its kept region
// and (detached) each of its chunks start.

// bpt3c runs a classifier's encoder over a batch by BPT3C (see above):
// layout reads the batch, forward runs the encoder and returns the output
// of the kept window, backward backpropagates into it.
type bpt3c struct {
	bptt int
	b, t int
	ids  []int32 // time-major [T,B] token ids of the batch
	k0   int     // earliest kept step of the batch: steps before it run for their state only
	tk   int     // length of the kept window, T-k0
	// poolStart is, per row, its first kept step relative to k0: where
	// concat pooling starts (ConcatPool's start).
	poolStart []int32
	seg       segments
}

// segments describes, per batch row of a classifier batch, where its
// document starts (left padding before: zero state, no gradient) and where
// its gradient is cut: at the start of its kept region and, with period > 0,
// every period steps from its start (fastai's detach between BPT3C chunks,
// aligned with the document's first token). The LSTM layers of the
// classifier's encoder apply it (LSTM.seg), with steps counted from the
// start of the batch.
type segments struct {
	start  []int32 // [B] absolute first step of each document
	keep   []int32 // [B] absolute first step that receives gradient
	period int
}

// keptOffset returns, for a document of n tokens, the offset from its first
// token of the region BPT3C keeps: the start of the first BPTT chunk
// (aligned with the document start) within its last maxLen tokens (all of
// it when maxLen <= 0).
func keptOffset(n, bptt, maxLen int) int {
	if maxLen <= 0 || n <= maxLen {
		return 0
	}
	return (n - maxLen + bptt - 1) / bptt * bptt
}

// layout reads a batch of b documents, tokens batch-major [B,T] padded at
// the start with cfg.Encoder.PadID: the time-major ids, each row's first
// token and kept region, the batch's k0 and the rows' pooling starts. It
// reads cfg's BPT3C settings (BPTT, MaxLen, BackpropAcrossChunks) at every
// call.
func (p *bpt3c) layout(cfg ClassifierConfig, tokens []int32, b, t int) {
	pad := cfg.Encoder.PadID
	p.bptt, p.b, p.t = cfg.BPTT, b, t
	g := &p.seg
	// Time-major ids and the first non-pad step of each document.
	p.ids = growInt32(p.ids, b*t)
	g.start = growInt32(g.start, b)
	for j := 0; j < b; j++ {
		st := int32(-1)
		for s := 0; s < t; s++ {
			id := tokens[j*t+s]
			p.ids[s*b+j] = id
			if st < 0 && id != pad {
				st = int32(s)
			}
		}
		if st < 0 {
			st = int32(t - 1)
		}
		g.start[j] = st
	}
	// Kept regions, per document as if it were alone, and the earliest.
	g.keep = growInt32(g.keep, b)
	p.k0 = t
	for j, st := range g.start {
		kp := st + int32(keptOffset(t-int(st), cfg.BPTT, cfg.MaxLen))
		g.keep[j] = kp
		p.k0 = min(p.k0, int(kp))
	}
	g.period = 0
	if !cfg.BackpropAcrossChunks {
		g.period = cfg.BPTT
	}
	p.tk = t - p.k0
	p.poolStart = growInt32(p.poolStart, b)
	for j, kp := range g.keep {
		p.poolStart[j] = kp - int32(p.k0)
	}
}

// forward runs enc over the batch of the last layout: fresh state, the
// dropout masks for the batch (drawn from rng when train), the steps before
// k0 in BPTT chunks for their state only, then the kept window [k0,T) in one
// Forward, whose raw output [tk,B,E] (owned by the encoder) it returns.
func (p *bpt3c) forward(be Backend, enc *Encoder, rng *RNG, train bool) []float32 {
	b := p.b
	enc.seg = &p.seg
	enc.ResetState(be, b)
	enc.DrawMasks(be, rng, b, train)
	for i := 0; i < p.k0; i += p.bptt {
		n := min(p.bptt, p.k0-i)
		enc.Forward(be, p.ids[i*b:(i+n)*b], n, b)
	}
	return enc.Forward(be, p.ids[p.k0*b:], p.tk, b)
}

// backward backpropagates dout [tk,B,E], the gradient w.r.t. the output of
// the kept window, into the encoder's params (the gradient stays within the
// kept region, cut as segments says).
func (p *bpt3c) backward(be Backend, enc *Encoder, dout []float32) {
	enc.Backward(be, dout)
}

// zeroUnstarted zeroes the state h, c [B,H] after absolute step a of the
// rows whose document has not started yet (still in its leading padding),
// so that each document starts from zero state at its first token.
func (g *segments) zeroUnstarted(be Backend, a int, h, c []float32, hs int) {
	for j, st := range g.start {
		if int32(a) < st {
			be.Fill(h[j*hs:(j+1)*hs], 0)
			be.Fill(c[j*hs:(j+1)*hs], 0)
		}
	}
}

// cutGrad zeroes the gradients dh, dc [B,H] flowing from absolute step a
// back into step a-1 in the rows where cut says none flows.
func (g *segments) cutGrad(be Backend, a int, dh, dc []float32, hs int) {
	for j := range g.start {
		if g.cut(j, a) {
			be.Fill(dh[j*hs:(j+1)*hs], 0)
			be.Fill(dc[j*hs:(j+1)*hs], 0)
		}
	}
}

// cut reports whether no gradient flows from step a back to step a-1 in
// row j: at or before its document's start, at or before its kept region's
// start, and (period > 0) at each chunk start.
func (g *segments) cut(j, a int) bool {
	st, kp := int(g.start[j]), int(g.keep[j])
	if a <= st || a <= kp {
		return true
	}
	return g.period > 0 && (a-st)%g.period == 0
}

// classifierWindow returns, for memory estimates, the longest kept window
// of a classifier batch padded to maxDocLen and the longest encoder window
// (the kept window or a chunk before it).
func classifierWindow(cfg ClassifierConfig, maxDocLen int) (tk, tw int) {
	tk = maxDocLen
	if cfg.MaxLen > 0 {
		tk = min(tk, cfg.MaxLen)
	}
	tw = tk // longest encoder window: the kept region or a prefix chunk
	if maxDocLen > tk {
		tw = max(tw, min(max(cfg.BPTT, 1), maxDocLen-tk))
	}
	return tk, tw
}
