package nn

import "math"

// This file is the QRNN layer (Bradbury et al. 2016, "Quasi-Recurrent Neural
// Networks"), as fastai's QRNNLayer inside AWD_QRNN (fastai/text/models/
// qrnn.py and awdlstm.py) and MultiFiT use it:
//
//   - one linear map over every time step at once, from the source
//     [x_t, x_{t-1}] (window 2, the encoder's first layer) or x_t (window 1,
//     the layers above), to 3H preactivations split into z, f and o;
//   - z = tanh, f = sigmoid, o = sigmoid; the only sequential part is the
//     element-wise recurrence c_t = f_t*z_t + (1-f_t)*c_{t-1} (forget_mult),
//     and the output h_t = o_t*c_t (output_gate=True);
//   - the carried state is c of the last step and, for window 2, the last
//     input x_{T-1} (save_prev_x=True), both detached, as fastai's AWD_QRNN
//     carries them across the windows of an LM stream;
//   - weight dropout (DropConnect) on the whole linear weight, as fastai
//     wraps the QRNN's linear layer in WeightDropout(layer_names='weight').
//
// Because the big product runs with M = T*B rows instead of the LSTM's
// M = B per step, and the recurrence has no matrix in it, a QRNN layer costs
// far fewer FLOPs per token than an LSTM layer of the same size.

// QRNN is one QRNN layer with input size In, hidden (and output) size H
// and convolution window Window (1 or 2).
type QRNN struct {
	In, H, Window int
	W             *Param // [3H, Window*In]: z, f, o rows; columns x_t then x_{t-1}
	B             *Param // [3H]
	WeightDrop    float32

	wmask dropMask
	wEff  []float32 // W * mask when weight drop is active

	b, t  int
	c0    []float32 // carried cell state [B,H]
	prevX []float32 // carried last input [B,In] (window 2)

	x     []float32 // input of the last Forward [T,B,In] (not owned)
	src   []float32 // window 2: [T,B,2*In] = [x_t, x_{t-1}]
	cInit []float32 // the cell state the last Forward started from [B,H]
	gates []float32 // [T,B,3H] activations
	cs    []float32 // [T,B,H]
	hs    []float32 // [T,B,H] output

	// seg and off as LSTM's (bpt3c.go); keep and cut are their per-step
	// masks [T,B] for QRNNForward/QRNNBackward, nil for an LM.
	seg             *segments
	off             int
	keep, cut       []float32
	keepBuf, cutBuf []float32

	dGates []float32 // [T,B,3H]
	dSrc   []float32 // window 2: [T,B,2*In]
	dW     []float32 // [3H, Window*In] (weight drop)
}

// NewQRNN allocates a QRNN layer with params named prefix+"weight" and
// prefix+"bias".
func NewQRNN(prefix string, in, h, window, group int, weightDrop float32) *QRNN {
	return &QRNN{
		In: in, H: h, Window: window, WeightDrop: weightDrop,
		W: newParam(prefix+"weight", group, 3*h, window*in),
		B: newParam(prefix+"bias", group, 3*h),
	}
}

// Params returns W, B.
func (q *QRNN) Params() []*Param { return []*Param{q.W, q.B} }

// Sizes returns the input and output size.
func (q *QRNN) Sizes() (in, out int) { return q.In, q.H }

// Init draws W and B from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in =
// Window*In, as PyTorch's nn.Linear.
func (q *QRNN) Init(rng *RNG) {
	k := float32(1 / math.Sqrt(float64(q.Window*q.In)))
	rng.Uniform(q.W.Data, -k, k)
	rng.Uniform(q.B.Data, -k, k)
}

// ResetState zeroes the carried state for batch size b.
func (q *QRNN) ResetState(be Backend, b int) {
	q.b = b
	q.c0 = grow(q.c0, b*q.H)
	be.Fill(q.c0, 0)
	if q.Window > 1 {
		q.prevX = grow(q.prevX, b*q.In)
		be.Fill(q.prevX, 0)
	}
}

// State returns the carried state: the cell state "c" [B,H] and, for window
// 2, the last input "x" [B,In].
func (q *QRNN) State() []StateBuf {
	st := []StateBuf{{Name: "c", Width: q.H, Data: q.c0}}
	if q.Window > 1 {
		st = append(st, StateBuf{Name: "x", Width: q.In, Data: q.prevX})
	}
	return st
}

// DrawMask draws the weight-drop mask used by the following Forward calls.
func (q *QRNN) DrawMask(be Backend, rng *RNG, train bool) {
	q.wmask.draw(be, rng, q.WeightDrop, len(q.W.Data), train)
}

func (q *QRNN) setSegments(seg *segments, off int) { q.seg, q.off = seg, off }

func (q *QRNN) weight(be Backend) []float32 { return q.wmask.weight(be, q.W.Data, &q.wEff) }

// Forward runs T steps over x [T,B,In] from the carried state, keeps the
// caches for Backward, updates the carried state and returns the output
// [T,B,H] (owned by the layer, valid until the next Forward). x must stay
// unchanged until Backward. If b differs from the carried batch size the
// state is reset to zeros.
func (q *QRNN) Forward(be Backend, x []float32, t, b int) []float32 {
	h, in := q.H, q.In
	if b != q.b || len(q.c0) != b*h {
		q.ResetState(be, b)
	}
	q.t, q.x = t, x
	n := t * b
	src := x
	if q.Window > 1 {
		// [x_t, x_{t-1}] per row, x_{-1} being the carried last input.
		q.src = grow(q.src, n*2*in)
		src = q.src
		for s := 0; s < t; s++ {
			for j := 0; j < b; j++ {
				row := s*b + j
				copy(src[row*2*in:row*2*in+in], x[row*in:(row+1)*in])
				prev := src[row*2*in+in : (row+1)*2*in]
				switch {
				case q.seg != nil && q.off+s <= int(q.seg.start[j]):
					clear(prev) // the document starts here: nothing before it
				case s == 0:
					copy(prev, q.prevX[j*in:(j+1)*in])
				default:
					copy(prev, x[(row-b)*in:(row-b+1)*in])
				}
			}
		}
		copy(q.prevX, x[(t-1)*b*in:n*in])
	}
	k := q.Window * in
	q.gates = grow(q.gates, n*3*h)
	be.Gemm(false, true, n, 3*h, k, 1, src, k, q.weight(be), k, 0, q.gates, 3*h)
	be.AddBias(n, 3*h, q.gates, q.B.Data)

	q.keep, q.cut = nil, nil
	if q.seg != nil { // BPT3C (bpt3c.go)
		q.keepBuf = grow(q.keepBuf, n)
		q.cutBuf = grow(q.cutBuf, n)
		q.keep, q.cut = q.keepBuf, q.cutBuf
		for s := 0; s < t; s++ {
			for j := range q.seg.start {
				a := q.off + s
				q.keep[s*b+j], q.cut[s*b+j] = 1, 1
				if a < int(q.seg.start[j]) {
					q.keep[s*b+j] = 0
				}
				if q.seg.cut(j, a) {
					q.cut[s*b+j] = 0
				}
			}
		}
	}
	q.cInit = grow(q.cInit, b*h)
	copy(q.cInit, q.c0)
	q.cs = grow(q.cs, n*h)
	q.hs = grow(q.hs, n*h)
	be.QRNNForward(t, b, h, q.gates, q.cInit, q.keep, q.cs, q.hs)
	copy(q.c0, q.cs[(t-1)*b*h:n*h])
	return q.hs[:n*h]
}

// Backward backpropagates dout [T,B,H] (the gradient w.r.t. the outputs of
// the last Forward), accumulates the gradients of the non-frozen params and,
// if dx is non-nil, writes the gradient w.r.t. the input [T,B,In]. No
// gradient flows into the carried state, which is detached.
func (q *QRNN) Backward(be Backend, dout, dx []float32) {
	h, in, b, t := q.H, q.In, q.b, q.t
	if allFrozen(q.W, q.B) && dx == nil {
		return
	}
	n := t * b
	k := q.Window * in
	q.dGates = grow(q.dGates, n*3*h)
	be.QRNNBackward(t, b, h, q.gates, q.cInit, q.cs, q.keep, q.cut, dout[:n*h], q.dGates)
	src := q.x
	if q.Window > 1 {
		src = q.src
	}
	if !q.W.Frozen {
		if q.wmask.active {
			q.dW = grow(q.dW, 3*h*k)
			be.Gemm(true, false, 3*h, k, n, 1, q.dGates, 3*h, src, k, 0, q.dW, k)
			be.Mul(q.dW, q.dW, q.wmask.mask)
			be.Axpy(1, q.dW, q.W.Grad)
		} else {
			be.Gemm(true, false, 3*h, k, n, 1, q.dGates, 3*h, src, k, 1, q.W.Grad, k)
		}
	}
	if !q.B.Frozen {
		be.ColSum(n, 3*h, q.dGates, q.B.Grad)
	}
	if dx == nil {
		return
	}
	w := q.W.Data
	if q.wmask.active {
		w = q.wEff
	}
	if q.Window == 1 {
		be.Gemm(false, false, n, in, 3*h, 1, q.dGates, 3*h, w, in, 0, dx, in)
		return
	}
	q.dSrc = grow(q.dSrc, n*k)
	be.Gemm(false, false, n, k, 3*h, 1, q.dGates, 3*h, w, k, 0, q.dSrc, k)
	// dx_s = d src_s[x_t part] + d src_{s+1}[x_{t-1} part], unless the step
	// s+1 is cut from s (a document, kept region or chunk starts there).
	for s := 0; s < t; s++ {
		for j := 0; j < b; j++ {
			row := s*b + j
			d := dx[row*in : (row+1)*in]
			copy(d, q.dSrc[row*k:row*k+in])
			if s+1 < t && (q.cut == nil || q.cut[row+b] != 0) {
				be.Axpy(1, q.dSrc[(row+b)*k+in:(row+b+1)*k], d)
			}
		}
	}
}
