package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// gemmShape is one GEMM an AWD-LSTM training step issues (emb 400, hidden
// 1150, batch 64, bptt 70, vocab 30k); weights are stored [out, in] as in
// PyTorch, so forward products use B transposed.
type gemmShape struct {
	name    string
	tA, tB  bool
	m, n, k int
}

var lstmShapes = []gemmShape{
	{"l1_step_x[64x1550]W^T[1550x4600]", false, true, 64, 4600, 1550},
	{"hh_step_h[64x1150]Whh^T[1150x4600]", false, true, 64, 4600, 1150},
	{"hh_dX_dG[64x4600]W[4600x1150]", false, false, 64, 1150, 4600},
	{"hh_dW_dG^T[4600x64]h[64x1150]", true, false, 4600, 1150, 64},
	{"ih_batched_X[4480x400]W^T[400x4600]", false, true, 4480, 4600, 400},
	{"ih_dW_dG^T[4600x4480]X[4480x1150]", true, false, 4600, 1150, 4480},
	{"dec_step_h[64x400]E^T[400x30000]", false, true, 64, 30000, 400},
	{"dec_batched_H[4480x400]E^T[400x30000]", false, true, 4480, 30000, 400},
	{"dec_dX_dL[4480x30000]E[30000x400]", false, false, 4480, 400, 30000},
	{"dec_dW_dL^T[30000x4480]H[4480x400]", true, false, 30000, 400, 4480},
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// BenchmarkGemm reports GFLOP/s of the LSTM's GEMM shapes for each GEMM
// path ("native" = the backend's own GEMM for the best ISA, "native-avx2" =
// its AVX2 build, "native-bf16" = its VDPBF16PS GEMM where the CPU has
// AVX512_BF16, "openblas" = split over the backend's threads,
// "openblas-threads" = OpenBLAS's own threading, "gonum") with 1 and 2 threads. Select with e.g.
// -bench 'Gemm/openblas/'.
func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, bl := range []string{"native", "native-bf16", "native-avx2", "openblas", "openblas-threads", "gonum"} {
		for _, threads := range []int{1, 2} {
			o := Options{Threads: threads, BLAS: bl}
			switch bl {
			case "native-avx2":
				o = Options{Threads: threads, BLAS: "native", ISA: "avx2"}
			case "native-bf16":
				o = Options{Threads: threads, BLAS: "native", BF16: true}
			}
			be, err := NewWithOptions(o)
			if err != nil {
				b.Logf("%s: %v", bl, err)
				continue
			}
			for _, s := range lstmShapes {
				if bl == "gonum" && s.m*s.n*s.k > 1e9 {
					continue // minutes per call
				}
				a := randSlice(r, s.m*s.k)
				bb := randSlice(r, s.k*s.n)
				c := make([]float32, s.m*s.n)
				lda, ldb := s.k, s.n
				if s.tA {
					lda = s.m
				}
				if s.tB {
					ldb = s.k
				}
				b.Run(fmt.Sprintf("%s/t%d/%s", bl, threads, s.name), func(b *testing.B) {
					for b.Loop() {
						be.Gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
					}
					b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
			be.Close()
		}
	}
}
