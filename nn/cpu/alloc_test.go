package cpu

import "testing"

// TestNoAllocs checks the hot ops allocate nothing in the steady state, on
// sizes large enough to run on the worker pool.
func TestNoAllocs(t *testing.T) {
	for _, b := range append(kernelBackends(t), gemmBackends(t)...) {
		if b.threads == 1 {
			continue
		}
		r := rnd(9)
		const rows, h, v, e, vocab = 64, 300, 2000, 200, 500
		gates, cPrev := randn(r, rows*4*h, 1), randn(r, rows*h, 1)
		c, tc, ho := make([]float32, rows*h), make([]float32, rows*h), make([]float32, rows*h)
		dg, dcp := make([]float32, rows*4*h), make([]float32, rows*h)
		logits, dl := randn(r, rows*v, 1), make([]float32, rows*v)
		targets := make([]int32, rows)
		for i := range targets {
			targets[i] = int32(r.IntN(v))
		}
		x, y := randn(r, rows*v, 1), randn(r, rows*v, 1)
		m := randn(r, v, 1)
		w, emb := randn(r, vocab*e, 1), make([]float32, rows*e)
		dw := make([]float32, vocab*e)
		ga, gb, gc := randn(r, 64*400, 1), randn(r, 400*500, 1), make([]float32, 64*500)
		fn := func(lo, hi int) {}
		ops := map[string]func(){
			"Gemm":                func() { b.Gemm(false, true, 64, 500, 400, 1, ga, 400, gb, 400, 0, gc, 500) }, // gonum's Sgemm allocates: skipped below
			"LSTMCellForward":     func() { b.LSTMCellForward(rows, h, gates, cPrev, c, tc, ho) },
			"LSTMCellBackward":    func() { b.LSTMCellBackward(rows, h, gates, cPrev, tc, ho, c, dg, dcp) },
			"SoftmaxCrossEntropy": func() { b.SoftmaxCrossEntropy(rows, v, logits, targets, -1, nil, 1, dl) },
			"Softmax":             func() { b.Softmax(rows, v, logits, dl) },
			"Sigmoid":             func() { b.Sigmoid(x, y) },
			"Add":                 func() { b.Add(y, x, y) },
			"Axpy":                func() { b.Axpy(0.5, x, y) },
			"Scale":               func() { b.Scale(y, 0.5) },
			"Fill":                func() { b.Fill(y, 0) },
			"MulBroadcast":        func() { b.MulBroadcast(y, x, m) },
			"AddBias":             func() { b.AddBias(rows, v, x, m) },
			"ColSum":              func() { b.ColSum(rows, v, x, m) },
			"SumSquares":          func() { b.SumSquares(x) },
			"AdamStep":            func() { b.AdamStep(x, y, dl, logits, 1e-3, 0.9, 0.99, 1e-8, 0.01, 0.5, 0.5) },
			"EmbeddingForward":    func() { b.EmbeddingForward(e, w, targets[:rows], nil, emb) },
			"EmbeddingBackward":   func() { b.EmbeddingBackward(e, targets[:rows], nil, emb, dw) },
			"ParallelFor":         func() { b.ParallelFor(100, fn) },
		}
		for i := range targets {
			targets[i] %= vocab
		}
		if b.gemm.mode == gemmGonum || !kernelsCompiled {
			// gonum's Sgemm starts goroutines per call; without cgo,
			// purego.SyscallN allocates its variadic arguments.
			delete(ops, "Gemm")
		}
		for name, op := range ops {
			if n := testing.AllocsPerRun(20, op); n != 0 {
				t.Errorf("%s: %s allocates %.1f times per call", b.Name(), name, n)
			}
		}
	}
}
