// Package nn is the numerical core of ulmfit-go: the compute Backend, layers
// with explicit Forward/Backward passes over plain float32 buffers, the
// AWD-LSTM language model, the ULMFiT classifier, optimizers and schedules.
//
// Conventions used by every op and layer:
//   - Buffers are host []float32, row-major and contiguous. A matrix "[m,n]"
//     stores element (i,j) at i*n+j unless a leading dimension is given.
//   - Sequence activations inside layers are time-major: [T,B,F] means the
//     B*F values of time step t are contiguous at t*B*F. Token inputs of the
//     models are batch-major [B,T] (as fastai); the models transpose them.
//   - Gradient buffers accumulate: ops documented as "accumulate" add into
//     their destination (+=); the others overwrite it.
//   - All randomness comes from an explicit *RNG; nothing is global.
package nn

// Backend is the interface through which all math of the models goes, so a
// faster implementation (package nn/cpu, or a CUDA one) can replace the
// reference without touching layers. Implementations must give the same
// results as Reference up to float32 rounding, except DropoutMask, which must
// give bit-identical masks for the same RNG state.
//
// Unless stated otherwise, output buffers may not alias inputs. Lengths are
// the caller's responsibility; ops may panic on short buffers.
type Backend interface {
	// Name identifies the implementation, e.g. "reference" or "cpu/openblas".
	Name() string
	// Threads is the number of worker goroutines the backend uses (>= 1).
	Threads() int
	// ParallelFor splits [0,n) into contiguous chunks and calls fn(lo,hi) on
	// them, possibly concurrently, returning when all calls are done. fn must
	// be safe to call concurrently on disjoint ranges.
	ParallelFor(n int, fn func(lo, hi int))

	// Gemm computes C = alpha*op(A)*op(B) + beta*C with row-major storage,
	// as cblas_sgemm(CblasRowMajor, ...). op(A) is [m,k] and op(B) is [k,n];
	// C is [m,n] with leading dimension ldc. A is stored [m,k] (lda >= k) if
	// !transA, else [k,m] (lda >= m); B is stored [k,n] (ldb >= n) if !transB,
	// else [n,k] (ldb >= k). beta == 0 means C is overwritten (its old
	// contents, even NaN, are ignored).
	Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

	// LSTMCellForward does the fused gate math of one LSTM time step for a
	// batch of b rows with hidden size h. gates is [b,4h]: on entry the
	// preactivations x*W_ih^T + b_ih + h_prev*W_hh^T + b_hh, with the four
	// blocks of each row in PyTorch order i,f,g,o (columns [0,h), [h,2h),
	// [2h,3h), [3h,4h)). On return gates holds the activations
	// i=sigmoid, f=sigmoid, g=tanh, o=sigmoid (kept for backward).
	// cPrev [b,h] is the previous cell state; it writes c = f*cPrev + i*g,
	// tanhC = tanh(c) and hOut = o*tanhC, each [b,h].
	LSTMCellForward(b, h int, gates, cPrev, c, tanhC, hOut []float32)
	// LSTMCellBackward is the backward of LSTMCellForward. gates [b,4h] are
	// the activations stored by forward, cPrev and tanhC [b,h] as in forward.
	// dh [b,h] is the total gradient w.r.t. h_t; dc [b,h] the gradient w.r.t.
	// c_t arriving from step t+1 (zeros at the last step). It writes dGates
	// [b,4h] (gradient w.r.t. the preactivations, same i,f,g,o layout) and
	// dcPrev [b,h] (gradient w.r.t. c_{t-1}); dcPrev may alias dc.
	LSTMCellBackward(b, h int, gates, cPrev, tanhC, dh, dc, dGates, dcPrev []float32)

	// QRNNForward is the recurrence of a QRNN layer (Bradbury et al. 2016;
	// fastai's forget_mult followed by the output gate) over t time steps of
	// b rows with hidden size h. gates is [t,b,3h]: on entry the
	// preactivations of each row in blocks z, f, o (columns [0,h), [h,2h),
	// [2h,3h)); on return their activations z=tanh, f=sigmoid, o=sigmoid
	// (kept for backward). c0 [b,h] is the cell state before step 0. keep is
	// nil or [t,b]: the state of row r after step s is multiplied by
	// keep[s*b+r] (0 holds a row at zero state, BPT3C's leading padding). It
	// writes cs [t,b,h], c_s = keep*(f_s*z_s + (1-f_s)*c_{s-1}), and hOut
	// [t,b,h] = o_s*c_s.
	QRNNForward(t, b, h int, gates, c0, keep, cs, hOut []float32)
	// QRNNBackward is the backward of QRNNForward given the activations in
	// gates, c0, cs and keep as stored by forward, and dh [t,b,h], the
	// gradient w.r.t. hOut. cut is nil or [t,b]: the gradient flowing from
	// step s back to c_{s-1} in row r is multiplied by cut[s*b+r] (0 cuts it).
	// No gradient flows into c0 (the carried state is detached). It writes
	// dGates [t,b,3h], the gradient w.r.t. the preactivations.
	QRNNBackward(t, b, h int, gates, c0, cs, keep, cut, dh, dGates []float32)

	// DropoutMask fills mask with independent draws: for i = 0,1,... in
	// order, u := rng.Float32(); mask[i] = 1/(1-p) if u >= p, else 0. With
	// p <= 0 it fills ones without drawing. p must be < 1. The draw order is
	// part of the contract: every backend gives bit-identical masks.
	DropoutMask(rng *RNG, p float32, mask []float32)
	// MulBroadcast writes dst[i] = x[i] * m[i % len(m)]; len(x) must be a
	// multiple of len(m). dst may alias x. With len(m) == len(x) it is an
	// elementwise product; with x [T,B,F] and m [B,F] it applies one mask per
	// sequence shared across time (locked dropout).
	MulBroadcast(dst, x, m []float32)

	// EmbeddingForward gathers rows: for each n, out[n,:] = w[ids[n],:] *
	// s, where s = rowScale[ids[n]] or 1 if rowScale is nil. w is [V,e], ids
	// has len N, out is [N,e]. rowScale implements embedding dropout (whole
	// rows of the table dropped and the rest scaled).
	EmbeddingForward(e int, w []float32, ids []int32, rowScale []float32, out []float32)
	// EmbeddingBackward scatter-adds (accumulate): dw[ids[n],:] += dout[n,:]
	// * s with s as in EmbeddingForward. dout is [N,e], dw is [V,e].
	EmbeddingBackward(e int, ids []int32, rowScale []float32, dout []float32, dw []float32)

	// SoftmaxCrossEntropy computes, for n rows of logits [n,v] and targets
	// [n], the weighted negative log-likelihood. Rows whose target equals
	// ignore contribute nothing. With w_r = classWeights[targets[r]] (1 if
	// classWeights is nil) it returns lossSum = sum_r w_r * -log softmax(
	// logits_r)[targets_r] and weightSum = sum_r w_r, both accumulated in
	// float64 (the mean loss is lossSum/weightSum, as PyTorch's weighted
	// cross_entropy). If dlogits is non-nil it writes dlogits[r,:] =
	// gradScale * w_r * (softmax(logits_r) - onehot(targets_r)), and zeros
	// for ignored rows; dlogits may alias logits.
	SoftmaxCrossEntropy(n, v int, logits []float32, targets []int32, ignore int32, classWeights []float32, gradScale float32, dlogits []float32) (lossSum, weightSum float64)
	// SigmoidBCE is the multi-label loss: logits and targets are [n,c] with
	// targets in [0,1]. With w_j = classWeights[j] (1 if nil) it returns
	// lossSum = sum_{r,j} w_j * -(y log sigmoid(x) + (1-y) log(1-sigmoid(x)))
	// computed stably, in float64. If dlogits is non-nil it writes
	// dlogits[r,j] = gradScale * w_j * (sigmoid(x) - y); it may alias logits.
	SigmoidBCE(n, c int, logits, targets, classWeights []float32, gradScale float32, dlogits []float32) (lossSum float64)
	// Softmax writes the row-wise softmax of x [n,v] into y [n,v] (y may
	// alias x).
	Softmax(n, v int, x, y []float32)
	// Sigmoid writes y[i] = 1/(1+exp(-x[i])) (y may alias x).
	Sigmoid(x, y []float32)

	// AddBias adds bias [cols] to every row of x [rows,cols] in place.
	AddBias(rows, cols int, x, bias []float32)
	// ColSum accumulates column sums: out[j] += sum_i x[i,j], x [rows,cols].
	// It is the bias gradient of AddBias.
	ColSum(rows, cols int, x, out []float32)

	// Fill sets every x[i] = v.
	Fill(x []float32, v float32)
	// Scale multiplies x in place by alpha.
	Scale(x []float32, alpha float32)
	// Axpy accumulates y[i] += alpha * x[i].
	Axpy(alpha float32, x, y []float32)
	// Add writes dst[i] = a[i] + b[i] (dst may alias a or b).
	Add(dst, a, b []float32)
	// Sub writes dst[i] = a[i] - b[i] (dst may alias a or b).
	Sub(dst, a, b []float32)
	// Mul writes dst[i] = a[i] * b[i] (dst may alias a or b).
	Mul(dst, a, b []float32)
	// SumSquares returns sum_i x[i]^2 accumulated in float64 (global-norm
	// gradient clipping, AR/TAR regularizers).
	SumSquares(x []float32) float64

	// ReLU writes y[i] = max(x[i], 0) (y may alias x).
	ReLU(x, y []float32)
	// ReLUBackward writes dx[i] = dy[i] if y[i] > 0 else 0, where y is the
	// forward output (dx may alias dy).
	ReLUBackward(y, dy, dx []float32)

	// BatchNormForward is BatchNorm1d over x [n,c] (statistics per column).
	// In training mode (train) it normalizes with the batch mean and biased
	// variance, and updates the running statistics as PyTorch:
	// runMean = (1-momentum)*runMean + momentum*mean, runVar likewise with
	// the unbiased variance (times n/(n-1); n must be >= 2). In eval mode
	// it normalizes with runMean/runVar and leaves them unchanged. It writes
	// xhat [n,c] (the normalized input), invStd [c] = 1/sqrt(var+eps) of the
	// variance used, and y = gamma*xhat + beta.
	BatchNormForward(n, c int, x, gamma, beta, runMean, runVar []float32, momentum, eps float32, train bool, y, xhat, invStd []float32)
	// BatchNormBackward is the backward of BatchNormForward given the xhat
	// and invStd it stored and the same train flag. It accumulates dgamma
	// += sum_i dy*xhat and dbeta += sum_i dy (both [c]) and writes dx [n,c]:
	// in training mode dx = invStd/n * (n*g - sum(g) - xhat*sum(g*xhat))
	// with g = dy*gamma (sums over the batch, per column); in eval mode
	// dx = dy*gamma*invStd.
	BatchNormBackward(n, c int, xhat, invStd, gamma, dy []float32, train bool, dx, dgamma, dbeta []float32)

	// ConcatPoolForward is masked concat pooling over time. x is [t,b,e]
	// time-major; sequence j is valid at time steps [start[j], t) (padding
	// is at the start, as fastai pads classification batches first; start[j]
	// must be < t). It writes out [b,3e] with row j = [x[t-1,j,:],
	// max over valid steps, mean over valid steps], and argmax [b,e] (the
	// time index of each maximum, first one on ties) for backward.
	ConcatPoolForward(t, b, e int, x []float32, start []int32, out []float32, argmax []int32)
	// ConcatPoolBackward accumulates into dx [t,b,e] the gradient of
	// ConcatPoolForward given dout [b,3e], start and argmax as in forward:
	// the "last" part to step t-1, the "max" part to the argmax step and the
	// "mean" part spread evenly over the valid steps.
	ConcatPoolBackward(t, b, e int, start []int32, argmax []int32, dout []float32, dx []float32)

	// AdamStep is one AdamW update of a flat parameter group, in place, as
	// PyTorch's AdamW and fastai's Adam with decoupled weight decay:
	//   p -= lr*wd*p
	//   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g*g
	//   p -= lr * (m/bc1) / (sqrt(v/bc2) + eps)
	// where bc1 = 1-beta1^step and bc2 = 1-beta2^step are given by the
	// caller. p, g, m, v have the same length.
	AdamStep(p, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32)
}
