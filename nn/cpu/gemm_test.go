package cpu

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// gemmBackends returns backends for every GEMM path available here (the
// native AVX-512 GEMM, split OpenBLAS, OpenBLAS's own threads, gonum) with 1
// and 2 threads.
func gemmBackends(t testing.TB) []*Backend {
	t.Helper()
	var out []*Backend
	blases := []string{"gonum"}
	var natives []string // ISAs of the native GEMM to test
	if kernelsCompiled && bestISA() >= isaAVX2 {
		natives = append(natives, "avx2")
		if bestISA() == isaAVX512 {
			natives = append(natives, "avx512")
		}
	} else {
		t.Logf("no AVX2 here: the native GEMM is not tested")
	}
	for _, isa := range natives {
		for _, th := range []int{1, 2} {
			b, err := NewWithOptions(Options{Threads: th, BLAS: "native", ISA: isa})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			out = append(out, b)
		}
	}
	if _, err := loadOpenBLAS(); err == nil {
		blases = append(blases, "openblas", "openblas-threads")
	} else {
		t.Logf("openblas not available, testing gonum only: %v", err)
	}
	for _, bl := range blases {
		for _, th := range []int{1, 2} {
			b, err := NewWithOptions(Options{Threads: th, BLAS: bl})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			out = append(out, b)
		}
	}
	return out
}

func TestGemm(t *testing.T) {
	type shape struct {
		m, n, k    int
		nativeOnly bool // slow against the reference: only the native GEMM's blocking needs it
	}
	// The native GEMM packs the whole of k for k <= 1024 (the packed side then
	// in blocks of 2^18/k columns) and blocks k by 256 and the packed side by
	// 512 columns beyond, in tiles of 12 x 32 (AVX2: 6 x 16): the larger
	// shapes cross each of those edges in both of its orientations.
	shapes := []shape{{1, 1, 1, false}, {3, 5, 7, false}, {17, 1, 33, false}, {1, 19, 4, false},
		{67, 301, 129, false}, {301, 67, 129, false}, {5, 4, 0, false}, {13, 33, 257, false},
		{29, 700, 300, false}, {530, 45, 520, false}, {600, 611, 40, false},
		{37, 90, 1100, true}, {90, 37, 1300, true}, {300, 310, 1000, true}}
	nan := float32(math.NaN())
	for _, b := range gemmBackends(t) {
		for _, s := range shapes {
			if s.nativeOnly && b.gemm.mode != gemmNative {
				continue
			}
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				tA, tB := tr[0], tr[1]
				name := fmt.Sprintf("%s/%dx%dx%d/tA=%v,tB=%v", b.Name(), s.m, s.n, s.k, tA, tB)
				t.Run(name, func(t *testing.T) {
					r := rnd(uint64(s.m*10007 + s.n*101 + s.k))
					ar, ac := s.m, s.k
					if tA {
						ar, ac = s.k, s.m
					}
					br, bc := s.k, s.n
					if tB {
						br, bc = s.n, s.k
					}
					lda, ldb, ldc := ac+3, bc+1, s.n+2 // padded leading dimensions
					a := randn(r, max(ar*lda, 1), 1)
					bm := randn(r, max(br*ldb, 1), 1)
					for _, beta := range []float32{0, 0.5} {
						c0 := randn(r, s.m*ldc, 1)
						if beta == 0 {
							for i := range c0 {
								c0[i] = nan // must be ignored
							}
						}
						c1, c2 := slices.Clone(c0), slices.Clone(c0)
						b.Gemm(tA, tB, s.m, s.n, s.k, 0.75, a, lda, bm, ldb, beta, c1, ldc)
						ref.Gemm(tA, tB, s.m, s.n, s.k, 0.75, a, lda, bm, ldb, beta, c2, ldc)
						tol := 2e-6 * math.Sqrt(float64(s.k+1)) * 4
						for i := 0; i < s.m; i++ {
							for j := 0; j < ldc; j++ {
								g, w := c1[i*ldc+j], c2[i*ldc+j]
								if j >= s.n { // padding must be untouched
									if !(g == w || (g != g && w != w)) {
										t.Fatalf("padding C[%d,%d] changed to %g", i, j, g)
									}
									continue
								}
								if math.IsNaN(float64(g)) || math.Abs(float64(g-w)) > tol*(1+math.Abs(float64(w))) {
									t.Fatalf("beta %g: C[%d,%d] = %g, want %g", beta, i, j, g, w)
								}
							}
						}
					}
				})
			}
		}
	}
}

func TestGemmFallbackSelection(t *testing.T) {
	t.Setenv("ULMFIT_BLAS", "gonum")
	b := New(2).(*Backend)
	defer b.Close()
	if b.gemm.mode != gemmGonum || !strings.HasPrefix(b.Name(), "cpu(gonum, 2 threads, ") {
		t.Fatalf("ULMFIT_BLAS=gonum gave %s (mode %v)", b.Name(), b.gemm.mode)
	}
	t.Setenv("ULMFIT_BLAS", "openblas")
	t.Setenv("ULMFIT_OPENBLAS", "/nonexistent/libopenblas.so.0")
	t.Setenv("ULMFIT_ISA", "generic") // and no native GEMM either: gonum
	b2 := New(1).(*Backend)
	defer b2.Close()
	if b2.gemm.mode != gemmGonum || !strings.Contains(Info(), "openblas: unavailable") {
		t.Errorf("missing OpenBLAS: backend %s, info %q", b2.Name(), Info())
	}
	x := []float32{1, 2, 3, 4}
	c := make([]float32, 4)
	b2.Gemm(false, false, 2, 2, 2, 1, x, 2, x, 2, 0, c, 2)
	if c[0] != 7 || c[1] != 10 || c[2] != 15 || c[3] != 22 {
		t.Errorf("gonum fallback gemm = %v", c)
	}
	if _, err := NewWithOptions(Options{BLAS: "openblas"}); err == nil {
		t.Error("explicit openblas without a library did not fail")
	}
	if kernelsCompiled && bestISA() >= isaAVX2 {
		// Without OpenBLAS: the native GEMM's AVX2 build rather than gonum.
		t.Setenv("ULMFIT_BLAS", "")
		t.Setenv("ULMFIT_ISA", "avx2")
		b5 := New(1).(*Backend)
		if b5.gemm.mode != gemmNative || b5.Name() != "cpu(native avx2 gemm, 1 threads, avx2)" {
			t.Errorf("AVX2 without OpenBLAS: %s (mode %v)", b5.Name(), b5.gemm.mode)
		}
		b5.Close()
		t.Setenv("ULMFIT_ISA", "")
		if bestISA() == isaAVX512 {
			for _, env := range []string{"", "mkl"} { // an unknown value falls back to the default
				t.Setenv("ULMFIT_BLAS", env)
				b3 := New(1).(*Backend)
				if b3.gemm.mode != gemmNative || b3.Name() != "cpu(native avx512 gemm, 1 threads, avx512)" {
					t.Errorf("default on AVX-512 (ULMFIT_BLAS=%q): %s (mode %v)", env, b3.Name(), b3.gemm.mode)
				}
				b3.Close()
			}
			t.Setenv("ULMFIT_BLAS", "")
		}
		t.Setenv("ULMFIT_ISA", "generic")
		b4 := New(1).(*Backend)
		if b4.gemm.mode == gemmNative {
			t.Errorf("ULMFIT_ISA=generic still chose the native GEMM")
		}
		b4.Close()
		if _, err := NewWithOptions(Options{BLAS: "native", ISA: "generic"}); err == nil {
			t.Error("explicit native GEMM without AVX2 kernels accepted")
		}
	}
	if _, err := NewWithOptions(Options{BLAS: "mkl"}); err == nil {
		t.Error("unknown BLAS accepted")
	}
	if _, err := NewWithOptions(Options{ISA: "sse9"}); err == nil {
		t.Error("unknown ISA accepted")
	}
}

// TestNativeGemmThreadInvariant checks that the native GEMM gives the same
// bits with 1 and 2 threads, including shapes whose halves are computed in
// the other orientation than the whole (1600 x 1150 split into two 800-row
// halves packs the other operand).
func TestNativeGemmThreadInvariant(t *testing.T) {
	if !kernelsCompiled || bestISA() < isaAVX2 {
		t.Skip("no AVX2 here: the native GEMM is not used")
	}
	for isa := isaAVX2; isa <= bestISA(); isa++ {
		t.Run(isaName(isa), func(t *testing.T) { testNativeThreadInvariant(t, isaName(isa)) })
	}
}

func testNativeThreadInvariant(t *testing.T, isa string) {
	var bs [2]*Backend
	for i := range bs {
		b, err := NewWithOptions(Options{Threads: i + 1, BLAS: "native", ISA: isa})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		bs[i] = b
	}
	type shape struct{ m, n, k int }
	for _, s := range []shape{{1600, 1150, 300}, {64, 4600, 290}, {700, 64, 513}, {333, 250, 40}, {64, 300, 1300}} {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			tA, tB := tr[0], tr[1]
			r := rnd(uint64(s.m + s.n + s.k))
			a := randn(r, s.m*s.k, 1)
			bm := randn(r, s.k*s.n, 1)
			lda, ldb := s.k, s.n
			if tA {
				lda = s.m
			}
			if tB {
				ldb = s.k
			}
			c0 := randn(r, s.m*s.n, 1)
			var out [2][]float32
			for i, b := range bs {
				out[i] = slices.Clone(c0)
				b.Gemm(tA, tB, s.m, s.n, s.k, 0.7, a, lda, bm, ldb, 0.3, out[i], s.n)
			}
			for i := range out[0] {
				if math.Float32bits(out[0][i]) != math.Float32bits(out[1][i]) {
					t.Fatalf("%dx%dx%d tA=%v tB=%v: C[%d] = %g with 1 thread, %g with 2", s.m, s.n, s.k, tA, tB, i, out[0][i], out[1][i])
				}
			}
		}
	}
}
