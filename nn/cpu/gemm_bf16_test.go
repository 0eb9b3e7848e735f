package cpu

import (
	"fmt"
	"math"
	"testing"
)

// bf16Round is the reference rounding to bfloat16: to nearest, ties to even.
func bf16Round(x float32) float32 {
	if math.IsNaN(float64(x)) {
		return x
	}
	u := math.Float32bits(x)
	u += 0x7fff + (u>>16)&1
	return math.Float32frombits(u & 0xffff0000)
}

func TestBF16Round(t *testing.T) {
	for _, c := range []struct{ in, want float32 }{
		{1, 1},
		{1 + 1.0/1024, 1},                      // below half an ulp (2^-7)
		{1 + 1.0/256, 1},                       // the tie, to even (1)
		{1 + 3.0/256, 1 + 1.0/64},              // the tie, to even (up)
		{1 + 1.0/256 + 1.0/65536, 1 + 1.0/128}, // just above the tie
		{-3.14159265, -3.140625},
		{math.MaxFloat32, float32(math.Inf(1))}, // rounds past the largest bf16
		{float32(math.Inf(-1)), float32(math.Inf(-1))},
	} {
		if got := bf16Round(c.in); got != c.want {
			t.Errorf("bf16Round(%g) = %g, want %g", c.in, got, c.want)
		}
	}
	if !math.IsNaN(float64(bf16Round(float32(math.NaN())))) {
		t.Error("NaN did not stay NaN")
	}
}

// TestGemmEmulatedBF16 checks the bf16-input GEMM against a float64 product
// of the operands rounded by bf16Round, on shapes that cross the native
// GEMM's tile and block edges, in both orientations of its operands. The
// tolerance is that of an fp32 accumulation; an unrounded operand would be off
// by about 2^-9 relative, far outside it.
func TestGemmEmulatedBF16(t *testing.T) {
	if !kernelsCompiled || bestISA() < isaAVX2 {
		if _, err := NewWithOptions(Options{EmulateBF16: true}); err == nil {
			t.Fatal("EmulateBF16 without the native GEMM: want an error")
		}
		t.Skip("no AVX2 here: the native GEMM is missing, and with it the emulation")
	}
	isas := []string{"avx2"}
	if bestISA() == isaAVX512 {
		isas = append(isas, "avx512")
	}
	for _, isa := range isas {
		// BLAS openblas: EmulateBF16 takes the native GEMM whatever BLAS says,
		// and so must work where OpenBLAS is not installed.
		b, err := NewWithOptions(Options{Threads: 2, ISA: isa, BLAS: "openblas", EmulateBF16: true})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if b.gemm.mode != gemmNative || b.gemm.bf16 != bf16Emulate {
			t.Fatalf("%s: mode %v bf16 %v, want the native GEMM with bf16", b.Name(), b.gemm.mode, b.gemm.bf16)
		}
		checkBF16Gemm(t, isa, b)
	}
}

// TestGemmBF16 holds the VDPBF16PS GEMM to the same float64 product of
// rounded operands as the emulation, on the same shapes: odd k (a pair padded
// with zero), partial row tiles (gathered), P in either layout (all four
// transposes), k past one block. VDPBF16PS adds the two products of a pair one
// after the other with fp32 rounding each, like two FMAs, so the tolerance is
// the same. It also requires the result to be bit-identical with 1 and 2
// threads: the thread split moves rows between full and partial tiles.
func TestGemmBF16(t *testing.T) {
	if !HasBF16() {
		if _, err := NewWithOptions(Options{BF16: true}); err == nil {
			t.Fatal("BF16 without AVX512_BF16: want an error")
		}
		t.Skip("this CPU has no AVX512_BF16")
	}
	if _, err := NewWithOptions(Options{BF16: true, ISA: "avx2"}); err == nil {
		t.Error("BF16 with the kernels capped at avx2: want an error")
	}
	if _, err := NewWithOptions(Options{BF16: true, EmulateBF16: true}); err == nil {
		t.Error("BF16 and EmulateBF16: want an error")
	}
	// ISA avx512: the test is about the CPU, whatever ULMFIT_ISA says.
	b, err := NewWithOptions(Options{Threads: 2, ISA: "avx512", BLAS: "openblas", BF16: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.gemm.mode != gemmNative || b.gemm.bf16 != bf16Native {
		t.Fatalf("%s: mode %v bf16 %v, want the native GEMM with VDPBF16PS", b.Name(), b.gemm.mode, b.gemm.bf16)
	}
	checkBF16Gemm(t, "avx512_bf16", b)

	one, err := NewWithOptions(Options{Threads: 1, ISA: "avx512", BF16: true})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	for _, s := range [][3]int{{64, 4608, 1152}, {4608, 1152, 64}, {70, 1000, 301}} {
		m, n, k := s[0], s[1], s[2]
		r := rnd(uint64(m + n + k))
		a, bm := randn(r, m*k, 1), randn(r, k*n, 1)
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			tA, tB := tr[0], tr[1]
			lda, ldb := k, n
			if tA {
				lda = m
			}
			if tB {
				ldb = k
			}
			c1, c2 := make([]float32, m*n), make([]float32, m*n)
			one.Gemm(tA, tB, m, n, k, 1, a, lda, bm, ldb, 0, c1, n)
			b.Gemm(tA, tB, m, n, k, 1, a, lda, bm, ldb, 0, c2, n)
			for i := range c1 {
				if math.Float32bits(c1[i]) != math.Float32bits(c2[i]) {
					t.Fatalf("%dx%dx%d tA=%v tB=%v: C[%d] = %g with 1 thread, %g with 2", m, n, k, tA, tB, i, c1[i], c2[i])
				}
			}
		}
	}
}

// checkBF16Gemm compares b's products with a float64 product of bf16-rounded
// operands.
func checkBF16Gemm(t *testing.T, name string, b *Backend) {
	t.Helper()
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {67, 301, 129}, {301, 67, 129}, {29, 700, 300}, {37, 90, 1100}, {13, 40, 2}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			tA, tB := tr[0], tr[1]
			t.Run(fmt.Sprintf("%s/%dx%dx%d/tA=%v,tB=%v", name, m, n, k, tA, tB), func(t *testing.T) {
				r := rnd(uint64(m*7 + n*13 + k))
				// A is m x k (k x m when tA), B k x n (n x k when tB); dense.
				a, bm := randn(r, m*k, 1), randn(r, k*n, 1)
				at := func(i, l int) float32 {
					if tA {
						return a[l*m+i]
					}
					return a[i*k+l]
				}
				bt := func(l, j int) float32 {
					if tB {
						return bm[j*k+l]
					}
					return bm[l*n+j]
				}
				lda, ldb := k, n
				if tA {
					lda = m
				}
				if tB {
					ldb = k
				}
				// alpha and beta applied once, after the sum.
				c := make([]float32, m*n)
				for i := range c {
					c[i] = float32(i%5) - 2
				}
				c0 := append([]float32(nil), c...)
				b.Gemm(tA, tB, m, n, k, 0.5, a, lda, bm, ldb, 2, c, n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var want, mag float64
						for l := 0; l < k; l++ {
							p := float64(bf16Round(at(i, l))) * float64(bf16Round(bt(l, j)))
							want += p
							mag += math.Abs(p)
						}
						want = 0.5*want + 2*float64(c0[i*n+j])
						got := float64(c[i*n+j])
						if d := math.Abs(got - want); d > 4e-7*math.Sqrt(float64(k))*(mag+1)+1e-6 {
							t.Fatalf("C[%d,%d] = %.8g, want %.8g (|diff| %.3g, sum |products| %.3g)", i, j, got, want, d, mag)
						}
					}
				}
			})
		}
	}
}

// TestEmulateBF16Environment: ULMFIT_GEMM_BF16=emulate applies where the GEMM
// is left to the environment, and a named OpenBLAS or gonum GEMM stays fp32.
func TestEmulateBF16Environment(t *testing.T) {
	if !kernelsCompiled || bestISA() < isaAVX2 {
		t.Skip("no native GEMM here")
	}
	t.Setenv("ULMFIT_GEMM_BF16", "emulate")
	// The CPU's own kernels: the skip above is about them, and ULMFIT_ISA=generic
	// (a test run of the pure-Go path) would leave no native GEMM to choose.
	t.Setenv("ULMFIT_ISA", "")
	for _, c := range []struct {
		envBLAS, optBLAS string
		want             bool
	}{{"", "", true}, {"native", "", true}, {"gonum", "", false}, {"", "gonum", false}, {"", "native", false}} {
		t.Setenv("ULMFIT_BLAS", c.envBLAS)
		b, err := NewWithOptions(Options{Threads: 1, BLAS: c.optBLAS})
		if err != nil {
			t.Fatal(err)
		}
		if got := b.gemm.bf16 == bf16Emulate; got != c.want {
			t.Errorf("ULMFIT_BLAS=%q, Options.BLAS=%q: bf16 %v, want %v (%s)", c.envBLAS, c.optBLAS, got, c.want, b.Name())
		}
		b.Close()
	}
}
