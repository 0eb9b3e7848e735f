package cpu

import (
	"fmt"
	"testing"

	"github.com/ulmfit-go/ulmfit/nn"
)

// benchBackends: the reference and the cpu backend with 1 and 2 threads.
func benchBackends(b *testing.B) []nn.Backend {
	out := []nn.Backend{nn.Reference()}
	for _, th := range []int{1, 2} {
		be, err := NewWithOptions(Options{Threads: th})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(be.Close)
		out = append(out, be)
	}
	return out
}

// BenchmarkKernels times the fused kernels at the paper model's sizes
// (batch 64, hidden 1150, vocab 30k; cross-entropy on 448 of the 4480 rows
// of a window). Compare ns/op of reference vs cpu(...).
func BenchmarkKernels(b *testing.B) {
	r := rnd(1)
	const rows, h, v, sceRows, emb = 64, 1150, 30000, 448, 400
	gates := randn(r, rows*4*h, 2)
	g := make([]float32, len(gates))
	cPrev, c, tc, ho := randn(r, rows*h, 1), make([]float32, rows*h), make([]float32, rows*h), make([]float32, rows*h)
	dh, dc, dg := randn(r, rows*h, 1), randn(r, rows*h, 1), make([]float32, rows*4*h)
	logits, dl := randn(r, sceRows*v, 3), make([]float32, sceRows*v)
	targets := make([]int32, 4480)
	for i := range targets {
		targets[i] = int32(r.IntN(v))
	}
	const np = 4 << 20 // 4M parameters, one Adam group
	p, gr, m, vv := randn(r, np, 1), randn(r, np, 0.1), make([]float32, np), make([]float32, np)
	w, dw, eo := randn(r, v*emb, 1), make([]float32, v*emb), make([]float32, 4480*emb)
	x := randn(r, 4480*emb, 1)
	for _, be := range benchBackends(b) {
		run := func(name string, elems int, f func()) {
			b.Run(fmt.Sprintf("%s/%s", name, be.Name()), func(b *testing.B) {
				for b.Loop() {
					f()
				}
				b.ReportMetric(float64(elems)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
			})
		}
		run("LSTMCellForward_64x1150", rows*h, func() {
			copy(g, gates)
			be.LSTMCellForward(rows, h, g, cPrev, c, tc, ho)
		})
		run("LSTMCellBackward_64x1150", rows*h, func() { be.LSTMCellBackward(rows, h, g, cPrev, tc, dh, dc, dg, dc) })
		run("SoftmaxCrossEntropy_448x30000", sceRows*v, func() {
			be.SoftmaxCrossEntropy(sceRows, v, logits, targets[:sceRows], -1, nil, 1, dl)
		})
		run("AdamStep_4M", np, func() { be.AdamStep(p, gr, m, vv, 1e-3, 0.7, 0.99, 1e-5, 0.01, 0.5, 0.5) })
		run("EmbeddingForward_4480x400", 4480*emb, func() { be.EmbeddingForward(emb, w, targets, nil, eo) })
		run("EmbeddingBackward_4480x400", 4480*emb, func() { be.EmbeddingBackward(emb, targets, nil, eo, dw) })
		run("MulBroadcast_70x64x400", 4480*emb, func() { be.MulBroadcast(eo, x, x[:64*emb]) })
		run("Axpy_1.8M", len(x), func() { be.Axpy(0.5, x, eo) })
		run("SumSquares_4M", np, func() { be.SumSquares(p) })
		run("ColSum_4480x400", 4480*emb, func() { be.ColSum(4480, emb, x, dw[:emb]) })
	}
}
