package nn

import "math"

// dropMask is the shared state of the dropout layers: a mask drawn by
// DrawMask and applied by Forward/Backward until the next draw. When the
// layer is inactive (eval mode or p == 0) both are the identity.
type dropMask struct {
	mask   []float32
	active bool
}

func (d *dropMask) draw(be Backend, rng *RNG, p float32, n int, train bool) {
	d.active = train && p > 0
	if d.active {
		d.mask = grow(d.mask, n)
		be.DropoutMask(rng, p, d.mask)
	}
}

func (d *dropMask) apply(be Backend, dst, x []float32) {
	if d.active {
		be.MulBroadcast(dst, x, d.mask)
	} else if &dst[0] != &x[0] {
		copy(dst, x)
	}
}

// weight returns w with the mask applied (weight drop), in *buf, or w
// itself when the mask is inactive.
func (d *dropMask) weight(be Backend, w []float32, buf *[]float32) []float32 {
	if !d.active {
		return w
	}
	*buf = grow(*buf, len(w))
	be.Mul(*buf, w, d.mask)
	return *buf
}

// Mask returns the current mask (nil when inactive); for tests and parity.
func (d *dropMask) Mask() []float32 {
	if !d.active {
		return nil
	}
	return d.mask
}

// Dropout is standard dropout: every element gets its own mask value,
// 0 with probability P, else 1/(1-P).
type Dropout struct {
	P float32
	dropMask
}

// DrawMask draws a fresh mask for n elements (identity when !train or P==0).
func (d *Dropout) DrawMask(be Backend, rng *RNG, n int, train bool) {
	d.draw(be, rng, d.P, n, train)
}

// Forward writes dst = x*mask (dst may alias x; len(x) == n).
func (d *Dropout) Forward(be Backend, dst, x []float32) { d.apply(be, dst, x) }

// Backward writes dx = dy*mask (dx may alias dy).
func (d *Dropout) Backward(be Backend, dx, dy []float32) { d.apply(be, dx, dy) }

// LockedDropout (fastai's RNNDropout, variational dropout) draws one mask
// per sequence and feature, shared across time: x is [T,B,F] time-major and
// the mask is [B,F].
type LockedDropout struct {
	P float32
	dropMask
}

// DrawMask draws a fresh [b,f] mask (identity when !train or P==0).
func (d *LockedDropout) DrawMask(be Backend, rng *RNG, b, f int, train bool) {
	d.draw(be, rng, d.P, b*f, train)
}

// Forward writes dst = x*mask broadcast over time (dst may alias x).
func (d *LockedDropout) Forward(be Backend, dst, x []float32) { d.apply(be, dst, x) }

// Backward writes dx = dy*mask broadcast over time (dx may alias dy).
func (d *LockedDropout) Backward(be Backend, dx, dy []float32) { d.apply(be, dx, dy) }

// Embedding is a lookup table W [V,E] with embedding dropout (fastai's
// EmbeddingDropout): whole rows of the table are dropped with probability
// EmbedDrop and the kept rows scaled by 1/(1-EmbedDrop), one mask per
// forward. PadID rows receive no gradient through the lookup, as PyTorch's
// padding_idx (a tied decoder may still update that row).
type Embedding struct {
	W         *Param
	PadID     int32 // -1: none
	EmbedDrop float32
	rows      dropMask
	out       []float32
}

// DrawMask draws the row mask for the next Forward.
func (e *Embedding) DrawMask(be Backend, rng *RNG, train bool) {
	e.rows.draw(be, rng, e.EmbedDrop, e.W.Shape[0], train)
}

// Forward gathers the rows of ids (any layout, N ids) into out [N,E], which
// the layer owns and which is valid until the next Forward.
func (e *Embedding) Forward(be Backend, ids []int32) []float32 {
	dim := e.W.Shape[1]
	e.out = grow(e.out, len(ids)*dim)
	be.EmbeddingForward(dim, e.W.Data, ids, e.rows.Mask(), e.out)
	return e.out
}

// Backward accumulates the gradient of W given dout [N,E] for the same ids.
// It zeroes the rows of dout at PadID positions (dout is modified).
func (e *Embedding) Backward(be Backend, ids []int32, dout []float32) {
	if e.W.Frozen {
		return
	}
	dim := e.W.Shape[1]
	if e.PadID >= 0 {
		for n, id := range ids {
			if id == e.PadID {
				be.Fill(dout[n*dim:(n+1)*dim], 0)
			}
		}
	}
	be.EmbeddingBackward(dim, ids, e.rows.Mask(), dout, e.W.Grad)
}

// LSTM is one unidirectional LSTM layer (PyTorch nn.LSTM layout, gate order
// i,f,g,o) with WeightDrop: DropConnect on W_hh, one mask per DrawMask (one
// per forward window), applied to the raw weight, so the gradient goes to
// the raw weight. The hidden state (h, c) is carried across Forward calls and
// detached (truncated BPTT); ResetState zeroes it.
//
// Forward over a window of T steps does one GEMM for the input projections of
// the whole window and per-step GEMMs only for h_{t-1} W_hh^T, followed by
// the fused cell. All sequence buffers are time-major.
type LSTM struct {
	In, H      int
	Wih, Whh   *Param // [4H,In], [4H,H]
	Bih, Bhh   *Param // [4H]
	WeightDrop float32

	wmask  dropMask
	whhEff []float32 // W_hh * mask when weight drop is active
	bsum   []float32 // b_ih + b_hh

	b, t   int
	h0, c0 []float32 // carried state [B,H]
	x      []float32 // input of the last Forward [T,B,In] (not owned)
	gates  []float32 // [T,B,4H] activations
	hs, cs []float32 // [T+1,B,H], index 0 = initial state
	tanhC  []float32 // [T,B,H]

	// seg, for a classifier's encoder (BPT3C, bpt3c.go), says per row where
	// its document starts (zero state before) and where its gradient is
	// cut; off is the absolute step of the current window. nil for an LM.
	seg *segments
	off int

	dGates []float32 // [T,B,4H]
	dh, dc []float32 // [B,H]
	dhT    []float32 // [B,H]
	dW     []float32 // [4H,H]
}

// NewLSTM allocates an LSTM layer with params named prefix+"weight_ih" etc.
func NewLSTM(prefix string, in, h, group int, weightDrop float32) *LSTM {
	return &LSTM{
		In: in, H: h, WeightDrop: weightDrop,
		Wih: newParam(prefix+"weight_ih", group, 4*h, in),
		Whh: newParam(prefix+"weight_hh", group, 4*h, h),
		Bih: newParam(prefix+"bias_ih", group, 4*h),
		Bhh: newParam(prefix+"bias_hh", group, 4*h),
	}
}

// Params returns W_ih, W_hh, b_ih, b_hh.
func (l *LSTM) Params() []*Param { return []*Param{l.Wih, l.Whh, l.Bih, l.Bhh} }

// ResetState zeroes the carried (h, c) for batch size b.
func (l *LSTM) ResetState(be Backend, b int) {
	l.b = b
	l.h0 = grow(l.h0, b*l.H)
	l.c0 = grow(l.c0, b*l.H)
	be.Fill(l.h0, 0)
	be.Fill(l.c0, 0)
}

// State returns the carried hidden state "h" and cell state "c", each [B,H].
func (l *LSTM) State() []StateBuf {
	return []StateBuf{{Name: "h", Width: l.H, Data: l.h0}, {Name: "c", Width: l.H, Data: l.c0}}
}

// Sizes returns the input and output size.
func (l *LSTM) Sizes() (in, out int) { return l.In, l.H }

// Init draws every weight and bias from U(-1/sqrt(H), 1/sqrt(H)), as
// PyTorch's nn.LSTM.
func (l *LSTM) Init(rng *RNG) {
	k := float32(1 / math.Sqrt(float64(l.H)))
	for _, p := range l.Params() {
		rng.Uniform(p.Data, -k, k)
	}
}

func (l *LSTM) setSegments(seg *segments, off int) { l.seg, l.off = seg, off }

// DrawMask draws the weight-drop mask used by the following Forward calls.
func (l *LSTM) DrawMask(be Backend, rng *RNG, train bool) {
	l.wmask.draw(be, rng, l.WeightDrop, 4*l.H*l.H, train)
}

func (l *LSTM) effWhh(be Backend) []float32 { return l.wmask.weight(be, l.Whh.Data, &l.whhEff) }

// Forward runs T steps over x [T,B,In] from the carried state, keeps the
// caches for Backward, updates the carried state, and returns the output
// [T,B,H] (owned by the layer, valid until the next Forward). x must stay
// unchanged until Backward. If b differs from the carried batch size the
// state is reset to zeros.
func (l *LSTM) Forward(be Backend, x []float32, t, b int) []float32 {
	h := l.H
	if b != l.b || len(l.h0) != b*h {
		l.ResetState(be, b)
	}
	l.t, l.x = t, x
	bh := b * h
	l.gates = grow(l.gates, t*b*4*h)
	l.hs = grow(l.hs, (t+1)*bh)
	l.cs = grow(l.cs, (t+1)*bh)
	l.tanhC = grow(l.tanhC, t*bh)
	copy(l.hs[:bh], l.h0)
	copy(l.cs[:bh], l.c0)
	l.bsum = grow(l.bsum, 4*h)
	be.Add(l.bsum, l.Bih.Data, l.Bhh.Data)
	whh := l.effWhh(be)
	// Input projections of the whole window in one GEMM.
	be.Gemm(false, true, t*b, 4*h, l.In, 1, x, l.In, l.Wih.Data, l.In, 0, l.gates, 4*h)
	be.AddBias(t*b, 4*h, l.gates, l.bsum)
	for s := 0; s < t; s++ {
		g := l.gates[s*b*4*h : (s+1)*b*4*h]
		be.Gemm(false, true, b, 4*h, h, 1, l.hs[s*bh:(s+1)*bh], h, whh, h, 1, g, 4*h)
		be.LSTMCellForward(b, h, g, l.cs[s*bh:(s+1)*bh], l.cs[(s+1)*bh:(s+2)*bh], l.tanhC[s*bh:(s+1)*bh], l.hs[(s+1)*bh:(s+2)*bh])
		if l.seg != nil { // BPT3C (bpt3c.go)
			l.seg.zeroUnstarted(be, l.off+s, l.hs[(s+1)*bh:(s+2)*bh], l.cs[(s+1)*bh:(s+2)*bh], h)
		}
	}
	copy(l.h0, l.hs[t*bh:(t+1)*bh])
	copy(l.c0, l.cs[t*bh:(t+1)*bh])
	return l.hs[bh : (t+1)*bh]
}

// Backward backpropagates dout [T,B,H] (the gradient w.r.t. the outputs of
// the last Forward) through the window. No gradient flows into the initial
// state (it is detached). If the params are not frozen their gradients are
// accumulated; if dx is non-nil it receives the gradient w.r.t. x [T,B,In]
// (overwritten).
func (l *LSTM) Backward(be Backend, dout, dx []float32) {
	h, b, t := l.H, l.b, l.t
	bh := b * h
	frozen := l.Wih.Frozen && l.Whh.Frozen && l.Bih.Frozen && l.Bhh.Frozen
	if frozen && dx == nil {
		return
	}
	whh := l.Whh.Data
	if l.wmask.active {
		whh = l.whhEff
	}
	l.dGates = grow(l.dGates, t*b*4*h)
	l.dh = grow(l.dh, bh)
	l.dc = grow(l.dc, bh)
	l.dhT = grow(l.dhT, bh)
	be.Fill(l.dh, 0)
	be.Fill(l.dc, 0)
	for s := t - 1; s >= 0; s-- {
		be.Add(l.dhT, dout[s*bh:(s+1)*bh], l.dh)
		dg := l.dGates[s*b*4*h : (s+1)*b*4*h]
		be.LSTMCellBackward(b, h, l.gates[s*b*4*h:(s+1)*b*4*h], l.cs[s*bh:(s+1)*bh], l.tanhC[s*bh:(s+1)*bh], l.dhT, l.dc, dg, l.dc)
		if s > 0 {
			be.Gemm(false, false, b, h, 4*h, 1, dg, 4*h, whh, h, 0, l.dh, h)
			if l.seg != nil { // BPT3C (bpt3c.go)
				l.seg.cutGrad(be, l.off+s, l.dh, l.dc, h)
			}
		}
	}
	n := t * b
	if !l.Whh.Frozen {
		if l.wmask.active {
			l.dW = grow(l.dW, 4*h*h)
			be.Gemm(true, false, 4*h, h, n, 1, l.dGates, 4*h, l.hs[:n*h], h, 0, l.dW, h)
			be.Mul(l.dW, l.dW, l.wmask.mask)
			be.Axpy(1, l.dW, l.Whh.Grad)
		} else {
			be.Gemm(true, false, 4*h, h, n, 1, l.dGates, 4*h, l.hs[:n*h], h, 1, l.Whh.Grad, h)
		}
	}
	if !l.Wih.Frozen {
		be.Gemm(true, false, 4*h, l.In, n, 1, l.dGates, 4*h, l.x, l.In, 1, l.Wih.Grad, l.In)
	}
	if !l.Bih.Frozen {
		be.ColSum(n, 4*h, l.dGates, l.Bih.Grad)
	}
	if !l.Bhh.Frozen {
		be.ColSum(n, 4*h, l.dGates, l.Bhh.Grad)
	}
	if dx != nil {
		be.Gemm(false, false, n, l.In, 4*h, 1, l.dGates, 4*h, l.Wih.Data, l.In, 0, dx, l.In)
	}
}

// Linear is y = x W^T + b with W [Out,In] and optional bias [Out].
type Linear struct {
	In, Out int
	W, B    *Param // B may be nil
	x       []float32
	n       int
	y       []float32
}

// NewLinear allocates a Linear layer with params prefix+"weight" and, if
// bias, prefix+"bias".
func NewLinear(prefix string, in, out, group int, bias bool) *Linear {
	l := &Linear{In: in, Out: out, W: newParam(prefix+"weight", group, out, in)}
	if bias {
		l.B = newParam(prefix+"bias", group, out)
	}
	return l
}

// Params returns W and, if present, B.
func (l *Linear) Params() []*Param {
	if l.B == nil {
		return []*Param{l.W}
	}
	return []*Param{l.W, l.B}
}

// Init draws W and B from U(-1/sqrt(In), 1/sqrt(In)) (PyTorch's default).
func (l *Linear) Init(rng *RNG) {
	r := float32(1 / math.Sqrt(float64(l.In)))
	rng.Uniform(l.W.Data, -r, r)
	if l.B != nil {
		rng.Uniform(l.B.Data, -r, r)
	}
}

// Forward computes y [n,Out] (owned by the layer) from x [n,In], which must
// stay unchanged until Backward.
func (l *Linear) Forward(be Backend, x []float32, n int) []float32 {
	l.x, l.n = x, n
	l.y = grow(l.y, n*l.Out)
	be.Gemm(false, true, n, l.Out, l.In, 1, x, l.In, l.W.Data, l.In, 0, l.y, l.Out)
	if l.B != nil {
		be.AddBias(n, l.Out, l.y, l.B.Data)
	}
	return l.y
}

// Backward accumulates dW, dB from dy [n,Out] and, if dx is non-nil, writes
// dx [n,In].
func (l *Linear) Backward(be Backend, dy, dx []float32) {
	if !l.W.Frozen {
		be.Gemm(true, false, l.Out, l.In, l.n, 1, dy, l.Out, l.x, l.In, 1, l.W.Grad, l.In)
	}
	if l.B != nil && !l.B.Frozen {
		be.ColSum(l.n, l.Out, dy, l.B.Grad)
	}
	if dx != nil {
		be.Gemm(false, false, l.n, l.In, l.Out, 1, dy, l.Out, l.W.Data, l.In, 0, dx, l.In)
	}
}

// BatchNorm1d normalizes x [n,C] per column as PyTorch's BatchNorm1d
// (eps 1e-5, momentum 0.1, affine, running statistics tracked).
type BatchNorm1d struct {
	C               int
	Weight, Bias    *Param // gamma, beta [C]
	RunMean, RunVar *Param // buffers [C]
	Momentum, Eps   float32
	train           bool
	n               int
	y, xhat, invStd []float32
	scratch         []float32
}

// NewBatchNorm1d allocates the layer with params prefix+"weight|bias" and
// buffers prefix+"running_mean|running_var", initialized to 1, 0, 0, 1.
func NewBatchNorm1d(prefix string, c, group int) *BatchNorm1d {
	bn := &BatchNorm1d{
		C:        c,
		Weight:   newParam(prefix+"weight", group, c),
		Bias:     newParam(prefix+"bias", group, c),
		RunMean:  newBuffer(prefix+"running_mean", group, c),
		RunVar:   newBuffer(prefix+"running_var", group, c),
		Momentum: 0.1, Eps: 1e-5,
	}
	bn.Init()
	return bn
}

// Init resets gamma=1, beta=0 and the running statistics to mean 0, var 1.
func (bn *BatchNorm1d) Init() {
	for i := 0; i < bn.C; i++ {
		bn.Weight.Data[i], bn.Bias.Data[i] = 1, 0
		bn.RunMean.Data[i], bn.RunVar.Data[i] = 0, 1
	}
}

// Forward normalizes x [n,C] (batch statistics and running-stat update when
// train, running statistics otherwise) into y (owned by the layer).
func (bn *BatchNorm1d) Forward(be Backend, x []float32, n int, train bool) []float32 {
	bn.n, bn.train = n, train
	bn.y = grow(bn.y, n*bn.C)
	bn.xhat = grow(bn.xhat, n*bn.C)
	bn.invStd = grow(bn.invStd, bn.C)
	be.BatchNormForward(n, bn.C, x, bn.Weight.Data, bn.Bias.Data, bn.RunMean.Data, bn.RunVar.Data, bn.Momentum, bn.Eps, train, bn.y, bn.xhat, bn.invStd)
	return bn.y
}

// Backward accumulates dgamma, dbeta and writes dx [n,C] (dx must not alias
// dy).
func (bn *BatchNorm1d) Backward(be Backend, dy, dx []float32) {
	if bn.Weight.Frozen && bn.Bias.Frozen {
		// Still need dx; route the param grads to scratch.
		bn.scratch = grow(bn.scratch, 2*bn.C)
		be.BatchNormBackward(bn.n, bn.C, bn.xhat, bn.invStd, bn.Weight.Data, dy, bn.train, dx, bn.scratch[:bn.C], bn.scratch[bn.C:])
		return
	}
	be.BatchNormBackward(bn.n, bn.C, bn.xhat, bn.invStd, bn.Weight.Data, dy, bn.train, dx, bn.Weight.Grad, bn.Bias.Grad)
}

// ConcatPool is masked concat pooling [last, max, mean] over time of x
// [T,B,E], where sequence j is valid from step start[j] on (padding first).
type ConcatPool struct {
	t, b, e int
	start   []int32
	out     []float32
	argmax  []int32
}

// Forward returns the pooled [B,3E] (owned by the layer). start is kept until
// Backward (not copied).
func (p *ConcatPool) Forward(be Backend, x []float32, t, b, e int, start []int32) []float32 {
	p.t, p.b, p.e, p.start = t, b, e, start
	p.out = grow(p.out, b*3*e)
	p.argmax = growInt32(p.argmax, b*e)
	be.ConcatPoolForward(t, b, e, x, start, p.out, p.argmax)
	return p.out
}

// Backward accumulates into dx [T,B,E] the gradient of dout [B,3E].
func (p *ConcatPool) Backward(be Backend, dout, dx []float32) {
	be.ConcatPoolBackward(p.t, p.b, p.e, p.start, p.argmax, dout, dx)
}
