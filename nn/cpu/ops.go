package cpu

import (
	"fmt"

	"github.com/ulmfit-go/ulmfit/nn"
)

// Op codes of opJob.
const (
	opFunc = iota
	opLSTMFwd
	opLSTMBwd
	opQRNNFwd
	opQRNNBwd
	opSCE
	opSoftmax
	opSigmoid
	opBin
	opAxpy
	opScale
	opFill
	opMulB
	opAddBias
	opColSum
	opSumSq
	opAdam
	opEmbFwd
	opEmbBwd
)

// Binary elementwise ops (kern.binop).
const (
	binAdd = 0
	binSub = 1
	binMul = 2
)

// sumSqBlock is the block size of SumSquares' partial sums; fixed so the
// result does not depend on the thread count.
const sumSqBlock = 1 << 14

// opJob holds the arguments of one parallel op; run processes the items
// [lo,hi) (rows, elements, columns or blocks, per op). The backend keeps one
// and refills it per call, so dispatching allocates nothing.
type opJob struct {
	op  int
	k   kern
	fn  func(lo, hi int)
	bin int

	n1, n2, n3 int // h or v or cols or lm or e (or t, b, h), as the op needs
	ignore     int32
	ids        []int32
	s          [7][]float32
	d          [2][]float64
	f          [7]float32
}

func sub(s []float32, lo, hi int) []float32 {
	if s == nil {
		return nil
	}
	return s[lo:hi]
}

func from(s []float32, lo int) []float32 {
	if s == nil {
		return nil
	}
	return s[lo:]
}

func (j *opJob) run(_, lo, hi int) {
	if lo >= hi {
		return
	}
	s, k := &j.s, j.k
	switch j.op {
	case opFunc:
		j.fn(lo, hi)
	case opLSTMFwd: // rows; n1 = h; s = gates, cPrev, c, tanhC, hOut
		h := j.n1
		k.lstmFwd(hi-lo, h, s[0][lo*4*h:], s[1][lo*h:], s[2][lo*h:], s[3][lo*h:], s[4][lo*h:])
	case opLSTMBwd: // rows; n1 = h; s = gates, cPrev, tanhC, dh, dc, dGates, dcPrev
		h := j.n1
		k.lstmBwd(hi-lo, h, s[0][lo*4*h:], s[1][lo*h:], s[2][lo*h:], s[3][lo*h:], s[4][lo*h:], s[5][lo*4*h:], s[6][lo*h:])
	case opQRNNFwd: // rows of the batch; n1 = t, n2 = b, n3 = h; s = gates, c0, keep, cs, hOut
		t, bb, h := j.n1, j.n2, j.n3
		k.qrnnFwd(t, bb, h, hi-lo, s[0][lo*3*h:], s[1][lo*h:], from(s[2], lo), s[3][lo*h:], s[4][lo*h:])
	case opQRNNBwd: // rows of the batch; n1 = t, n2 = b, n3 = h; s = gates, c0, cs, keep, cut, dh, dGates
		t, bb, h := j.n1, j.n2, j.n3
		k.qrnnBwd(t, bb, h, hi-lo, s[0][lo*3*h:], s[1][lo*h:], s[2][lo*h:], from(s[3], lo), from(s[4], lo), s[5][lo*h:], s[6][lo*3*h:])
	case opSCE: // rows; n1 = v; s = logits, classWeights, dlogits; f0 = gradScale; d = loss, wsum
		v := j.n1
		k.sceRows(hi-lo, v, s[0][lo*v:], j.ids[lo:], j.ignore, s[1], j.f[0], from(s[2], lo*v), j.d[0][lo:], j.d[1][lo:])
	case opSoftmax: // rows; n1 = v; s = x, y
		v := j.n1
		k.softmaxRows(hi-lo, v, s[0][lo*v:], s[1][lo*v:])
	case opSigmoid: // elements; s = x, y
		k.sigmoid(s[0][lo:hi], s[1][lo:hi])
	case opBin: // elements; s = dst, a, b
		k.binop(j.bin, s[0][lo:hi], s[1][lo:hi], s[2][lo:hi])
	case opAxpy: // elements; s = x, y; f0 = alpha
		k.axpy(j.f[0], s[0][lo:hi], s[1][lo:hi])
	case opScale: // elements; s = x; f0 = alpha
		k.scale(s[0][lo:hi], j.f[0])
	case opFill: // elements; s = x; f0 = value
		k.fill(s[0][lo:hi], j.f[0])
	case opMulB: // units of n1 = len(m); s = dst, x, m
		lm := j.n1
		k.mulBcast(s[0][lo*lm:hi*lm], s[1][lo*lm:hi*lm], s[2])
	case opAddBias: // rows; n1 = cols; s = x, bias
		c := j.n1
		k.addBias(hi-lo, c, s[0][lo*c:hi*c], s[1])
	case opColSum: // columns; n1 = rows, n2 = cols; s = x, out
		k.colSum(j.n1, hi-lo, j.n2, s[0][lo:], s[1][lo:hi])
	case opSumSq: // blocks of sumSqBlock; s = x; d0 = partial sums
		x := s[0]
		for blk := lo; blk < hi; blk++ {
			j.d[0][blk] = k.sumSq(x[blk*sumSqBlock : min((blk+1)*sumSqBlock, len(x))])
		}
	case opAdam: // elements; s = p, g, m, v; f = lr, b1, b2, eps, wd, bc1, bc2
		f := &j.f
		k.adam(s[0][lo:hi], s[1][lo:hi], s[2][lo:hi], s[3][lo:hi], f[0], f[1], f[2], f[3], f[4], f[5], f[6])
	case opEmbFwd: // rows (ids); n1 = e; s = w, rowScale, out
		e := j.n1
		k.embFwd(hi-lo, e, e, s[0], j.ids[lo:hi], s[1], s[2][lo*e:hi*e])
	case opEmbBwd: // columns of e; n1 = e; s = rowScale, dout, dw
		e := j.n1
		k.embBwd(len(j.ids), hi-lo, e, j.ids, s[0], s[1][lo:], s[2][lo:])
	default:
		panic(fmt.Sprintf("cpu: unknown op %d", j.op))
	}
}

// exec runs j over n items of the given cost on the pool when that pays and
// the pool is free, else serially on the calling goroutine.
func (b *Backend) exec(j *opJob, n, cost, align int) {
	j.k = b.k
	if parts := b.pool.parts(n, cost); parts > 1 && b.pool.acquire() {
		b.job = *j
		b.pool.run(&b.job, n, parts, align)
		b.job = opJob{}
		b.pool.release()
		return
	}
	j.run(0, 0, n)
}

func need(op string, name string, s []float32, n int) {
	if len(s) < n {
		panic(fmt.Sprintf("cpu.%s: %s has %d elements, need %d", op, name, len(s), n))
	}
}

// LSTMCellForward is the fused, vectorised LSTM gate math (see nn.Backend).
func (b *Backend) LSTMCellForward(rows, h int, gates, cPrev, c, tanhC, hOut []float32) {
	const op = "LSTMCellForward"
	need(op, "gates", gates, rows*4*h)
	for _, x := range [][]float32{cPrev, c, tanhC, hOut} {
		need(op, "state", x, rows*h)
	}
	j := opJob{op: opLSTMFwd, n1: h, s: [7][]float32{gates, cPrev, c, tanhC, hOut}}
	b.exec(&j, rows, 80*h, 1)
}

// LSTMCellBackward is the backward of LSTMCellForward (see nn.Backend).
func (b *Backend) LSTMCellBackward(rows, h int, gates, cPrev, tanhC, dh, dc, dGates, dcPrev []float32) {
	const op = "LSTMCellBackward"
	need(op, "gates", gates, rows*4*h)
	need(op, "dGates", dGates, rows*4*h)
	for _, x := range [][]float32{cPrev, tanhC, dh, dc, dcPrev} {
		need(op, "state", x, rows*h)
	}
	j := opJob{op: opLSTMBwd, n1: h, s: [7][]float32{gates, cPrev, tanhC, dh, dc, dGates, dcPrev}}
	b.exec(&j, rows, 12*h, 1)
}

// QRNNForward is the vectorised QRNN recurrence (see nn.Backend), parallel
// over the batch rows.
func (b *Backend) QRNNForward(t, rows, h int, gates, c0, keep, cs, hOut []float32) {
	const op = "QRNNForward"
	need(op, "gates", gates, t*rows*3*h)
	need(op, "c0", c0, rows*h)
	need(op, "cs", cs, t*rows*h)
	need(op, "hOut", hOut, t*rows*h)
	if keep != nil {
		need(op, "keep", keep, t*rows)
	}
	j := opJob{op: opQRNNFwd, n1: t, n2: rows, n3: h, s: [7][]float32{gates, c0, keep, cs, hOut}}
	b.exec(&j, rows, 80*h*t, 1)
}

// QRNNBackward is the backward of QRNNForward (see nn.Backend).
func (b *Backend) QRNNBackward(t, rows, h int, gates, c0, cs, keep, cut, dh, dGates []float32) {
	const op = "QRNNBackward"
	need(op, "gates", gates, t*rows*3*h)
	need(op, "dGates", dGates, t*rows*3*h)
	need(op, "c0", c0, rows*h)
	need(op, "cs", cs, t*rows*h)
	need(op, "dh", dh, t*rows*h)
	for _, m := range [][]float32{keep, cut} {
		if m != nil {
			need(op, "keep/cut", m, t*rows)
		}
	}
	j := opJob{op: opQRNNBwd, n1: t, n2: rows, n3: h, s: [7][]float32{gates, c0, cs, keep, cut, dh, dGates}}
	b.exec(&j, rows, 12*h*t, 1)
}

// SoftmaxCrossEntropy is the fused log-sum-exp loss and gradient (see
// nn.Backend). Per-row losses are summed in row order, so the result does
// not depend on the thread count.
func (b *Backend) SoftmaxCrossEntropy(n, v int, logits []float32, targets []int32, ignore int32, classWeights []float32, gradScale float32, dlogits []float32) (lossSum, weightSum float64) {
	const op = "SoftmaxCrossEntropy"
	need(op, "logits", logits, n*v)
	if dlogits != nil {
		need(op, "dlogits", dlogits, n*v)
	}
	if len(targets) < n {
		panic(fmt.Sprintf("cpu.%s: targets has %d elements, need %d", op, len(targets), n))
	}
	for _, t := range targets[:n] {
		if t != ignore && (t < 0 || int(t) >= v || (classWeights != nil && int(t) >= len(classWeights))) {
			panic(fmt.Sprintf("cpu.%s: target %d out of range [0,%d)", op, t, v))
		}
	}
	if n == 0 {
		return 0, 0
	}
	var loss, wsum []float64
	if b.pool.acquire() {
		// Own the scratch rows while using them.
		if cap(b.rowLoss) < n {
			b.rowLoss, b.rowW = make([]float64, n), make([]float64, n)
		}
		loss, wsum = b.rowLoss[:n], b.rowW[:n]
		b.job = opJob{op: opSCE, k: b.k, n1: v, ids: targets, ignore: ignore,
			s: [7][]float32{logits, classWeights, dlogits}, f: [7]float32{gradScale}, d: [2][]float64{loss, wsum}}
		b.pool.run(&b.job, n, b.pool.parts(n, 24*v), 1)
		b.job = opJob{}
		lossSum, weightSum = sumRows(loss, wsum)
		b.pool.release()
		return lossSum, weightSum
	}
	loss, wsum = make([]float64, n), make([]float64, n)
	b.k.sceRows(n, v, logits, targets, ignore, classWeights, gradScale, dlogits, loss, wsum)
	return sumRows(loss, wsum)
}

func sumRows(loss, wsum []float64) (l, w float64) {
	for i := range loss {
		l += loss[i]
		w += wsum[i]
	}
	return l, w
}

// Softmax is the row-wise softmax (see nn.Backend).
func (b *Backend) Softmax(n, v int, x, y []float32) {
	need("Softmax", "x", x, n*v)
	need("Softmax", "y", y, n*v)
	j := opJob{op: opSoftmax, n1: v, s: [7][]float32{x, y}}
	b.exec(&j, n, 24*v, 1)
}

// Sigmoid writes y = sigmoid(x) (see nn.Backend).
func (b *Backend) Sigmoid(x, y []float32) {
	need("Sigmoid", "y", y, len(x))
	j := opJob{op: opSigmoid, s: [7][]float32{x, y}}
	b.exec(&j, len(x), 24, 16)
}

func (b *Backend) binary(name string, which int, dst, a, x []float32) {
	need(name, "b", x, len(a))
	need(name, "dst", dst, len(a))
	j := opJob{op: opBin, bin: which, s: [7][]float32{dst, a, x}}
	b.exec(&j, len(a), 1, 16)
}

// Add writes dst = a + b.
func (b *Backend) Add(dst, a, x []float32) { b.binary("Add", binAdd, dst, a, x) }

// Sub writes dst = a - b.
func (b *Backend) Sub(dst, a, x []float32) { b.binary("Sub", binSub, dst, a, x) }

// Mul writes dst = a * b.
func (b *Backend) Mul(dst, a, x []float32) { b.binary("Mul", binMul, dst, a, x) }

// Axpy accumulates y += alpha*x.
func (b *Backend) Axpy(alpha float32, x, y []float32) {
	need("Axpy", "y", y, len(x))
	j := opJob{op: opAxpy, s: [7][]float32{x, y}, f: [7]float32{alpha}}
	b.exec(&j, len(x), 1, 16)
}

// Scale multiplies x by alpha in place.
func (b *Backend) Scale(x []float32, alpha float32) {
	j := opJob{op: opScale, s: [7][]float32{x}, f: [7]float32{alpha}}
	b.exec(&j, len(x), 1, 16)
}

// Fill sets every element of x to v.
func (b *Backend) Fill(x []float32, v float32) {
	j := opJob{op: opFill, s: [7][]float32{x}, f: [7]float32{v}}
	b.exec(&j, len(x), 1, 16)
}

// MulBroadcast writes dst[i] = x[i] * m[i % len(m)] (see nn.Backend).
func (b *Backend) MulBroadcast(dst, x, m []float32) {
	if len(m) == 0 || len(x)%len(m) != 0 {
		panic("cpu.MulBroadcast: len(x) not a multiple of len(m)")
	}
	need("MulBroadcast", "dst", dst, len(x))
	if len(m) == len(x) {
		b.binary("MulBroadcast", binMul, dst, x, m)
		return
	}
	j := opJob{op: opMulB, n1: len(m), s: [7][]float32{dst, x, m}}
	b.exec(&j, len(x)/len(m), len(m), 1)
}

// AddBias adds bias to every row of x [rows,cols].
func (b *Backend) AddBias(rows, cols int, x, bias []float32) {
	need("AddBias", "x", x, rows*cols)
	need("AddBias", "bias", bias, cols)
	j := opJob{op: opAddBias, n1: cols, s: [7][]float32{x, bias}}
	b.exec(&j, rows, cols, 1)
}

// ColSum accumulates out[j] += sum_i x[i,j] in float64 per column; columns
// are split across threads, so the result does not depend on their number.
func (b *Backend) ColSum(rows, cols int, x, out []float32) {
	need("ColSum", "x", x, rows*cols)
	need("ColSum", "out", out, cols)
	if rows == 0 {
		return
	}
	j := opJob{op: opColSum, n1: rows, n2: cols, s: [7][]float32{x, out}}
	b.exec(&j, cols, rows, 16)
}

// SumSquares returns sum x^2 in float64, from fixed-size block partial sums
// added in order (the same result for any thread count).
func (b *Backend) SumSquares(x []float32) float64 {
	nb := (len(x) + sumSqBlock - 1) / sumSqBlock
	if nb <= 1 {
		return b.k.sumSq(x)
	}
	if !b.pool.acquire() {
		var s float64
		for blk := 0; blk < nb; blk++ {
			s += b.k.sumSq(x[blk*sumSqBlock : min((blk+1)*sumSqBlock, len(x))])
		}
		return s
	}
	if cap(b.partials) < nb {
		b.partials = make([]float64, nb)
	}
	part := b.partials[:nb]
	b.job = opJob{op: opSumSq, k: b.k, s: [7][]float32{x}, d: [2][]float64{part}}
	b.pool.run(&b.job, nb, b.pool.parts(nb, sumSqBlock), 1)
	b.job = opJob{}
	var s float64
	for _, v := range part {
		s += v
	}
	b.pool.release()
	return s
}

// AdamStep is the vectorised AdamW update (see nn.Backend).
func (b *Backend) AdamStep(p, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) {
	for _, s := range [][]float32{g, m, v} {
		need("AdamStep", "g/m/v", s, len(p))
	}
	j := opJob{op: opAdam, s: [7][]float32{p, g, m, v}, f: [7]float32{lr, beta1, beta2, eps, wd, bc1, bc2}}
	b.exec(&j, len(p), 8, 16)
}

func checkIDs(op string, ids []int32, rows int, rowScale []float32) {
	for _, id := range ids {
		if id < 0 || int(id) >= rows || (rowScale != nil && int(id) >= len(rowScale)) {
			panic(fmt.Sprintf("cpu.%s: id %d out of range [0,%d)", op, id, rows))
		}
	}
}

// EmbeddingForward gathers (and scales) rows of w (see nn.Backend).
func (b *Backend) EmbeddingForward(e int, w []float32, ids []int32, rowScale []float32, out []float32) {
	if e <= 0 {
		return
	}
	checkIDs("EmbeddingForward", ids, len(w)/e, rowScale)
	need("EmbeddingForward", "out", out, len(ids)*e)
	j := opJob{op: opEmbFwd, n1: e, ids: ids, s: [7][]float32{w, rowScale, out}}
	b.exec(&j, len(ids), e, 1)
}

// EmbeddingBackward scatter-adds dout into dw (see nn.Backend). Threads
// split the columns, so every element is accumulated in id order.
func (b *Backend) EmbeddingBackward(e int, ids []int32, rowScale []float32, dout []float32, dw []float32) {
	if e <= 0 {
		return
	}
	checkIDs("EmbeddingBackward", ids, len(dw)/e, rowScale)
	need("EmbeddingBackward", "dout", dout, len(ids)*e)
	j := opJob{op: opEmbBwd, n1: e, ids: ids, s: [7][]float32{rowScale, dout, dw}}
	b.exec(&j, e, len(ids), 16)
}

var _ nn.Backend = (*Backend)(nil)
