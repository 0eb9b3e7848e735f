package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ulmfit-go/ulmfit/nn"
)

var ref = nn.Reference()

// kernelBackends returns one backend per supported instruction set and
// thread count 1 and 2.
func kernelBackends(t testing.TB) []*Backend {
	t.Helper()
	var out []*Backend
	for _, isa := range []string{"generic", "avx2", "avx512"} {
		lvl := map[string]int{"generic": isaGeneric, "avx2": isaAVX2, "avx512": isaAVX512}[isa]
		if lvl > bestISA() {
			continue
		}
		for _, th := range []int{1, 2} {
			b, err := NewWithOptions(Options{Threads: th, ISA: isa})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			out = append(out, b)
			if !kernelsCompiled {
				break
			}
		}
		if !kernelsCompiled {
			// one ISA only; still test both thread counts
			b, err := NewWithOptions(Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			out = append(out, b)
			break
		}
	}
	return out
}

func rnd(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func randn(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

// assertClose fails if any |got-want| > atol + rtol*|want|.
func assertClose(t *testing.T, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) != math.IsNaN(g) || math.Abs(g-w) > atol+rtol*math.Abs(w) {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %.3g)", what, i, g, w, math.Abs(g-w))
		}
	}
}

func TestLSTMCell(t *testing.T) {
	for _, b := range kernelBackends(t) {
		for _, sz := range [][2]int{{1, 1}, {3, 29}, {37, 17}, {64, 133}} {
			t.Run(fmt.Sprintf("%s/b%dh%d", b.Name(), sz[0], sz[1]), func(t *testing.T) {
				r := rnd(uint64(sz[0]*1000 + sz[1]))
				rows, h := sz[0], sz[1]
				gates := randn(r, rows*4*h, 4)
				if len(gates) > 8 { // extremes
					gates[0], gates[1], gates[2], gates[len(gates)-1] = 90, -90, 1e-7, -30
				}
				cPrev := randn(r, rows*h, 2)
				g1, g2 := slices.Clone(gates), slices.Clone(gates)
				c1, t1, h1 := make([]float32, rows*h), make([]float32, rows*h), make([]float32, rows*h)
				c2, t2, h2 := make([]float32, rows*h), make([]float32, rows*h), make([]float32, rows*h)
				b.LSTMCellForward(rows, h, g1, cPrev, c1, t1, h1)
				ref.LSTMCellForward(rows, h, g2, cPrev, c2, t2, h2)
				assertClose(t, "gates", g1, g2, 1e-7, 1e-6)
				assertClose(t, "c", c1, c2, 1e-6, 1e-6)
				// c = f*cPrev + i*g can cancel: its error is relative to
				// the terms, so tanh(c) and h get an absolute tolerance.
				assertClose(t, "tanhC", t1, t2, 1e-6, 1e-6)
				assertClose(t, "h", h1, h2, 1e-6, 1e-6)

				dh, dc := randn(r, rows*h, 1), randn(r, rows*h, 1)
				dg1, dg2 := make([]float32, rows*4*h), make([]float32, rows*4*h)
				dcp1, dcp2 := make([]float32, rows*h), make([]float32, rows*h)
				b.LSTMCellBackward(rows, h, g2, cPrev, t2, dh, dc, dg1, dcp1)
				ref.LSTMCellBackward(rows, h, g2, cPrev, t2, dh, dc, dg2, dcp2)
				assertClose(t, "dGates", dg1, dg2, 1e-6, 1e-5)
				assertClose(t, "dcPrev", dcp1, dcp2, 1e-6, 1e-5)
				// dcPrev may alias dc
				dcA := slices.Clone(dc)
				b.LSTMCellBackward(rows, h, g2, cPrev, t2, dh, dcA, dg1, dcA)
				assertClose(t, "dcPrev aliased", dcA, dcp2, 1e-6, 1e-5)
			})
		}
	}
}

func TestQRNNRecurrence(t *testing.T) {
	for _, b := range kernelBackends(t) {
		// t, b, h: odd hidden sizes exercise the vector tails; b > 1 the
		// row strides and the split of rows across threads.
		for _, sz := range [][3]int{{1, 1, 1}, {5, 3, 29}, {7, 37, 17}, {3, 64, 133}} {
			for _, masked := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/t%db%dh%d/masked=%v", b.Name(), sz[0], sz[1], sz[2], masked), func(t *testing.T) {
					r := rnd(uint64(sz[0]*100000 + sz[1]*1000 + sz[2]))
					steps, rows, h := sz[0], sz[1], sz[2]
					gates := randn(r, steps*rows*3*h, 3)
					if len(gates) > 8 {
						gates[0], gates[1], gates[2], gates[len(gates)-1] = 90, -90, 1e-7, -30
					}
					c0 := randn(r, rows*h, 1)
					var keep, cut []float32
					if masked {
						keep, cut = make([]float32, steps*rows), make([]float32, steps*rows)
						for i := range keep {
							keep[i], cut[i] = float32(r.IntN(2)), float32(r.IntN(2))
						}
					}
					g1, g2 := slices.Clone(gates), slices.Clone(gates)
					n := steps * rows * h
					c1, h1, c2, h2 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
					b.QRNNForward(steps, rows, h, g1, c0, keep, c1, h1)
					ref.QRNNForward(steps, rows, h, g2, c0, keep, c2, h2)
					assertClose(t, "gates", g1, g2, 1e-7, 1e-6)
					assertClose(t, "c", c1, c2, 1e-6, 1e-5)
					assertClose(t, "h", h1, h2, 1e-6, 1e-5)

					dh := randn(r, n, 1)
					dg1, dg2 := make([]float32, steps*rows*3*h), make([]float32, steps*rows*3*h)
					b.QRNNBackward(steps, rows, h, g2, c0, c2, keep, cut, dh, dg1)
					ref.QRNNBackward(steps, rows, h, g2, c0, c2, keep, cut, dh, dg2)
					assertClose(t, "dGates", dg1, dg2, 1e-6, 1e-5)
				})
			}
		}
	}
}

func TestTranscendentalAccuracy(t *testing.T) {
	// Dense sweep of sigmoid and tanh through the LSTM kernel and Sigmoid.
	const n = 200003
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(-40 + 80*float64(i)/n)
	}
	x[0], x[1], x[2] = 0, 1e-30, -1e-20
	for _, b := range kernelBackends(t) {
		y := make([]float32, n)
		b.Sigmoid(x, y)
		for i, v := range x {
			want := 1 / (1 + math.Exp(-float64(v)))
			if d := math.Abs(float64(y[i]) - want); d > 4e-7*want+1e-30 {
				t.Fatalf("%s: sigmoid(%g) = %g, want %g (rel %.2g)", b.Name(), v, y[i], want, d/want)
			}
		}
		// tanh: g block of a 1-row LSTM cell
		g := make([]float32, 4*n)
		copy(g[2*n:], x)
		c, tc, ho := make([]float32, n), make([]float32, n), make([]float32, n)
		b.LSTMCellForward(1, n, g, make([]float32, n), c, tc, ho)
		for i, v := range x {
			want := math.Tanh(float64(v))
			if d := math.Abs(float64(g[2*n+i]) - want); d > 4e-7*math.Abs(want)+1e-38 {
				t.Fatalf("%s: tanh(%g) = %g, want %g", b.Name(), v, g[2*n+i], want)
			}
		}
	}
}

func TestNaNPropagates(t *testing.T) {
	nan := float32(math.NaN())
	for _, b := range kernelBackends(t) {
		y := make([]float32, 19)
		x := make([]float32, 19)
		x[17] = nan
		b.Sigmoid(x, y)
		if !math.IsNaN(float64(y[17])) {
			t.Errorf("%s: sigmoid(NaN) = %g", b.Name(), y[17])
		}
		l, _ := b.SoftmaxCrossEntropy(1, 19, x, []int32{3}, -100, nil, 1, nil)
		if !math.IsNaN(l) {
			t.Errorf("%s: cross-entropy with a NaN logit = %g", b.Name(), l)
		}
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	for _, b := range kernelBackends(t) {
		for _, sz := range [][2]int{{1, 1}, {5, 3}, {23, 1031}, {67, 517}} {
			n, v := sz[0], sz[1]
			t.Run(fmt.Sprintf("%s/n%dv%d", b.Name(), n, v), func(t *testing.T) {
				r := rnd(uint64(n*v + 1))
				logits := randn(r, n*v, 5)
				targets := make([]int32, n)
				for i := range targets {
					targets[i] = int32(r.IntN(v))
				}
				if n > 2 {
					targets[1] = -100
				}
				cw := randn(r, v, 1)
				for i := range cw {
					cw[i] = float32(math.Abs(float64(cw[i])))
				}
				for _, weights := range [][]float32{nil, cw} {
					d1, d2 := make([]float32, n*v), make([]float32, n*v)
					l1, w1 := b.SoftmaxCrossEntropy(n, v, logits, targets, -100, weights, 0.37, d1)
					l2, w2 := ref.SoftmaxCrossEntropy(n, v, logits, targets, -100, weights, 0.37, d2)
					if math.Abs(l1-l2) > 1e-5*math.Abs(l2)+1e-6 || math.Abs(w1-w2) > 1e-6*math.Abs(w2) {
						t.Fatalf("loss %g/%g, want %g/%g", l1, w1, l2, w2)
					}
					assertClose(t, "dlogits", d1, d2, 1e-8, 2e-5)
					// no gradient
					l3, _ := b.SoftmaxCrossEntropy(n, v, logits, targets, -100, weights, 0.37, nil)
					if l3 != l1 {
						t.Fatalf("loss without grad %g, with %g", l3, l1)
					}
					// aliased gradient
					al := slices.Clone(logits)
					l4, _ := b.SoftmaxCrossEntropy(n, v, al, targets, -100, weights, 0.37, al)
					if l4 != l1 {
						t.Fatalf("aliased loss %g, want %g", l4, l1)
					}
					assertClose(t, "dlogits aliased", al, d1, 0, 0)
				}
			})
		}
	}
}

func TestSoftmaxSigmoid(t *testing.T) {
	for _, b := range kernelBackends(t) {
		r := rnd(3)
		for _, sz := range [][2]int{{1, 1}, {3, 17}, {41, 1001}} {
			n, v := sz[0], sz[1]
			x := randn(r, n*v, 6)
			y1, y2 := make([]float32, n*v), make([]float32, n*v)
			b.Softmax(n, v, x, y1)
			ref.Softmax(n, v, x, y2)
			assertClose(t, b.Name()+" softmax", y1, y2, 1e-9, 2e-6)
			b.Sigmoid(x, y1)
			ref.Sigmoid(x, y2)
			assertClose(t, b.Name()+" sigmoid", y1, y2, 1e-30, 1e-6)
			// in place
			xc := slices.Clone(x)
			b.Softmax(n, v, xc, xc)
			ref.Softmax(n, v, x, y2)
			assertClose(t, b.Name()+" softmax in place", xc, y2, 1e-9, 2e-6)
		}
	}
}

func TestElementwise(t *testing.T) {
	for _, b := range kernelBackends(t) {
		for _, n := range []int{0, 1, 7, 33, 1001, 70001} {
			t.Run(fmt.Sprintf("%s/n%d", b.Name(), n), func(t *testing.T) {
				r := rnd(uint64(n))
				a, x := randn(r, n, 1), randn(r, n, 1)
				type binop func(dst, a, b []float32)
				for i, ops := range [][2]binop{{b.Add, ref.Add}, {b.Sub, ref.Sub}, {b.Mul, ref.Mul}} {
					d1, d2 := make([]float32, n), make([]float32, n)
					ops[0](d1, a, x)
					ops[1](d2, a, x)
					assertClose(t, fmt.Sprint("binop ", i), d1, d2, 0, 0)
					// aliasing dst == a
					ac := slices.Clone(a)
					ops[0](ac, ac, x)
					assertClose(t, fmt.Sprint("binop aliased ", i), ac, d2, 0, 0)
				}
				y1, y2 := slices.Clone(x), slices.Clone(x)
				b.Axpy(-0.3, a, y1)
				ref.Axpy(-0.3, a, y2)
				assertClose(t, "axpy", y1, y2, 1e-7, 1e-6)
				b.Scale(y1, 1.7)
				ref.Scale(y2, 1.7)
				assertClose(t, "scale", y1, y2, 1e-7, 1e-6)
				b.Fill(y1, 2.5)
				ref.Fill(y2, 2.5)
				assertClose(t, "fill", y1, y2, 0, 0)
				s1, s2 := b.SumSquares(a), ref.SumSquares(a)
				if math.Abs(s1-s2) > 1e-12*s2 {
					t.Fatalf("SumSquares %g, want %g", s1, s2)
				}
			})
		}
	}
}

func TestMulBroadcastBiasColSum(t *testing.T) {
	for _, b := range kernelBackends(t) {
		r := rnd(5)
		for _, sz := range [][2]int{{1, 1}, {7, 37}, {301, 77}, {1203, 131}} {
			rows, cols := sz[0], sz[1]
			x := randn(r, rows*cols, 1)
			m := randn(r, cols, 1)
			d1, d2 := make([]float32, rows*cols), make([]float32, rows*cols)
			b.MulBroadcast(d1, x, m)
			ref.MulBroadcast(d2, x, m)
			assertClose(t, b.Name()+" MulBroadcast", d1, d2, 0, 0)
			b.MulBroadcast(d1, x, x)
			ref.MulBroadcast(d2, x, x)
			assertClose(t, b.Name()+" MulBroadcast full", d1, d2, 0, 0)
			x1, x2 := slices.Clone(x), slices.Clone(x)
			b.AddBias(rows, cols, x1, m)
			ref.AddBias(rows, cols, x2, m)
			assertClose(t, b.Name()+" AddBias", x1, x2, 0, 0)
			o1, o2 := slices.Clone(m), slices.Clone(m)
			b.ColSum(rows, cols, x, o1)
			ref.ColSum(rows, cols, x, o2)
			assertClose(t, b.Name()+" ColSum", o1, o2, 0, 0)
		}
	}
}

func TestAdamStep(t *testing.T) {
	for _, b := range kernelBackends(t) {
		for _, n := range []int{1, 13, 1001, 50003} {
			r := rnd(uint64(n))
			p, g := randn(r, n, 1), randn(r, n, 0.1)
			m, v := randn(r, n, 0.01), randn(r, n, 0.001)
			for i := range v {
				v[i] *= v[i]
			}
			p1, m1, v1 := slices.Clone(p), slices.Clone(m), slices.Clone(v)
			p2, m2, v2 := slices.Clone(p), slices.Clone(m), slices.Clone(v)
			for _, wd := range []float32{0, 0.01} {
				b.AdamStep(p1, g, m1, v1, 1e-3, 0.7, 0.99, 1e-5, wd, 0.51, 0.0199)
				ref.AdamStep(p2, g, m2, v2, 1e-3, 0.7, 0.99, 1e-5, wd, 0.51, 0.0199)
			}
			assertClose(t, b.Name()+" adam p", p1, p2, 1e-7, 1e-6)
			assertClose(t, b.Name()+" adam m", m1, m2, 1e-9, 1e-6)
			assertClose(t, b.Name()+" adam v", v1, v2, 1e-12, 1e-6)
		}
	}
}

func TestEmbedding(t *testing.T) {
	for _, b := range kernelBackends(t) {
		for _, sz := range [][3]int{{5, 1, 3}, {50, 37, 101}, {300, 400, 700}} {
			vocab, e, n := sz[0], sz[1], sz[2]
			r := rnd(uint64(n))
			w := randn(r, vocab*e, 1)
			ids := make([]int32, n)
			for i := range ids {
				ids[i] = int32(r.IntN(vocab))
			}
			scale := make([]float32, vocab)
			for i := range scale {
				if r.Float32() > 0.3 {
					scale[i] = 1.25
				}
			}
			for _, rs := range [][]float32{nil, scale} {
				o1, o2 := make([]float32, n*e), make([]float32, n*e)
				b.EmbeddingForward(e, w, ids, rs, o1)
				ref.EmbeddingForward(e, w, ids, rs, o2)
				assertClose(t, b.Name()+" EmbeddingForward", o1, o2, 0, 0)
				dout := randn(r, n*e, 1)
				dw1, dw2 := randn(r, vocab*e, 1), make([]float32, vocab*e)
				copy(dw2, dw1)
				b.EmbeddingBackward(e, ids, rs, dout, dw1)
				ref.EmbeddingBackward(e, ids, rs, dout, dw2)
				assertClose(t, b.Name()+" EmbeddingBackward", dw1, dw2, 1e-6, 1e-6)
			}
		}
	}
}

func TestParallelFor(t *testing.T) {
	for _, b := range kernelBackends(t) {
		for _, n := range []int{0, 1, 2, 5, 1000} {
			hits := make([]int, n)
			b.ParallelFor(n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					hits[i]++
				}
				// a nested op runs serially instead of deadlocking
				x := make([]float32, 40000)
				b.Fill(x, 1)
				if b.SumSquares(x) != 40000 {
					t.Error("nested op wrong")
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("%s: item %d of %d visited %d times", b.Name(), i, n, h)
				}
			}
		}
	}
}

func TestBadBuffersPanic(t *testing.T) {
	b, err := NewWithOptions(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cases := map[string]func(){
		"lstm short": func() {
			b.LSTMCellForward(2, 3, make([]float32, 23), make([]float32, 6), make([]float32, 6), make([]float32, 6), make([]float32, 6))
		},
		"sce target": func() { b.SoftmaxCrossEntropy(1, 3, make([]float32, 3), []int32{3}, -1, nil, 1, nil) },
		"emb id":     func() { b.EmbeddingForward(2, make([]float32, 4), []int32{2}, nil, make([]float32, 2)) },
		"gemm short": func() {
			b.Gemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"bcast multi": func() { b.MulBroadcast(make([]float32, 5), make([]float32, 5), make([]float32, 2)) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// TestConcurrentUse runs ops on one backend from several goroutines: the
// ones that find the pool busy run serially and must still be right.
func TestConcurrentUse(t *testing.T) {
	b, err := NewWithOptions(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r := rnd(11)
	const n, v, m, k = 67, 301, 64, 129
	logits := randn(r, n*v, 3)
	targets := make([]int32, n)
	for i := range targets {
		targets[i] = int32(r.IntN(v))
	}
	wantLoss, _ := ref.SoftmaxCrossEntropy(n, v, logits, targets, -1, nil, 1, nil)
	a, w := randn(r, m*k, 1), randn(r, v*k, 1)
	wantC := make([]float32, m*v)
	ref.Gemm(false, true, m, v, k, 1, a, k, w, k, 0, wantC, v)
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			c := make([]float32, m*v)
			for it := 0; it < 20; it++ {
				l, _ := b.SoftmaxCrossEntropy(n, v, logits, targets, -1, nil, 1, nil)
				if math.Abs(l-wantLoss) > 1e-5*math.Abs(wantLoss) {
					errs <- fmt.Errorf("loss %g, want %g", l, wantLoss)
					return
				}
				b.Gemm(false, true, m, v, k, 1, a, k, w, k, 0, c, v)
				for i := range c {
					if math.Abs(float64(c[i]-wantC[i])) > 1e-3 {
						errs <- fmt.Errorf("C[%d] = %g, want %g", i, c[i], wantC[i])
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
