//go:build cgo

package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Order models of the C kernels' two reductions over a row (rowexp's sum of
// exponentials, sumsq), in the order of two w-lane accumulators. Every build
// (generic, AVX2, AVX-512) must follow it with w = 16, AVX-512's vector: then
// the native path's results do not depend on the CPU's vector width. (With w
// = 4 and 8 the models also describe the generic and AVX2 builds before they
// were held to one order; the test failed for them with w = 16 then.)

// rowExpSumModel sums e (the exponentials the kernel wrote) in rowexp's
// order: two w-lane float accumulators over the body in steps of 2w, the tail
// in w-element chunks into the first, each accumulator's lanes summed in
// order in float64, the two totals added.
func rowExpSumModel(e []float32, w int) float64 {
	s0, s1 := make([]float32, w), make([]float32, w)
	j := 0
	for ; j+2*w <= len(e); j += 2 * w {
		for i := range w {
			s0[i] += e[j+i]
			s1[i] += e[j+w+i]
		}
	}
	for ; j < len(e); j += w {
		for i := 0; i < w && j+i < len(e); i++ {
			s0[i] += e[j+i]
		}
	}
	return hsum32(s0) + hsum32(s1)
}

// sumSqModel is sumsq's order: two w-lane float64 accumulators over the body
// in steps of 2w, each summed in lane order, added, then the tail one by one.
func sumSqModel(x []float32, w int) float64 {
	s0, s1 := make([]float64, w), make([]float64, w)
	j := 0
	for ; j+2*w <= len(x); j += 2 * w {
		for i := range w {
			a, b := float64(x[j+i]), float64(x[j+w+i])
			s0[i] += a * a
			s1[i] += b * b
		}
	}
	s := hsum64(s0) + hsum64(s1)
	for ; j < len(x); j++ {
		s += float64(x[j]) * float64(x[j])
	}
	return s
}

func hsum32(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return s
}

func hsum64(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func TestRowReductionOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lens := []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 47, 48, 49, 63, 64, 65, 100, 1000, 10007}
	for isa := isaGeneric; isa <= bestISA(); isa++ {
		k := newKern(isa)
		for _, w := range []int{16} { // RED_LANES/2 in kernels_impl.h
			for _, n := range lens {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(r.NormFloat64() * 3)
				}
				y := make([]float32, n)
				got := k.rowExp(x, y, 1.5)
				if want := rowExpSumModel(y, w); math.Float64bits(got) != math.Float64bits(want) {
					t.Errorf("%s rowexp n=%d: sum %.17g, order model %.17g", isaName(isa), n, got, want)
				}
				if got, want := k.sumSq(x), sumSqModel(x, w); math.Float64bits(got) != math.Float64bits(want) {
					t.Errorf("%s sumsq n=%d: %.17g, order model %.17g", isaName(isa), n, got, want)
				}
			}
		}
	}
}

// TestAdamTailSameAsBody gives every element of a step the same parameter,
// gradient and moments: the body's vectors and the tail (through a padded
// copy) must then write the same bits everywhere, with and without weight
// decay. (The AVX2 build once fused the decay's product into an FMA in the
// body's inlined copy only.)
func TestAdamTailSameAsBody(t *testing.T) {
	for isa := isaGeneric; isa <= bestISA(); isa++ {
		k := newKern(isa)
		for _, wd := range []float32{0, 0.01} {
			const n = 2*16 + 3
			p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range p {
				p[i], g[i], m[i], v[i] = 0.7312, -0.01917, 0.00423, 3.1e-5
			}
			k.adam(p, g, m, v, 3e-3, 0.7, 0.99, 1e-5, wd, 0.51, 0.0199)
			for i := range p {
				if math.Float32bits(p[i]) != math.Float32bits(p[0]) || m[i] != m[0] || v[i] != v[0] {
					t.Errorf("%s wd=%g: element %d is (%v, %v, %v), element 0 (%v, %v, %v)", isaName(isa), wd, i, p[i], m[i], v[i], p[0], m[0], v[0])
					break
				}
			}
		}
	}
}

// TestElementwiseTailSameAsBody: as TestAdamTailSameAsBody for the sigmoid
// and the LSTM cell forward and backward, each given one value everywhere.
func TestElementwiseTailSameAsBody(t *testing.T) {
	const h = 2*16 + 5
	fill := func(n int, x float32) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = x
		}
		return s
	}
	same := func(t *testing.T, what string, x []float32, stride int) {
		t.Helper()
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(x[i-i%stride]) {
				t.Errorf("%s: element %d is %v, element %d %v", what, i, x[i], i-i%stride, x[i-i%stride])
				return
			}
		}
	}
	for isa := isaGeneric; isa <= bestISA(); isa++ {
		k := newKern(isa)
		name := isaName(isa)
		y := make([]float32, h)
		k.sigmoid(fill(h, 0.3717), y)
		same(t, name+" sigmoid", y, h)
		gates := make([]float32, 4*h)
		for q, g := range []float32{0.41, -1.3, 0.77, 2.2} {
			copy(gates[q*h:], fill(h, g))
		}
		c, tc, ho := make([]float32, h), make([]float32, h), make([]float32, h)
		k.lstmFwd(1, h, gates, fill(h, -0.52), c, tc, ho)
		same(t, name+" lstm gates", gates, h)
		same(t, name+" lstm c", c, h)
		same(t, name+" lstm h", ho, h)
		dg, dcp := make([]float32, 4*h), make([]float32, h)
		k.lstmBwd(1, h, gates, fill(h, -0.52), tc, fill(h, 0.093), fill(h, -0.21), dg, dcp)
		same(t, name+" lstm dgates", dg, h)
		same(t, name+" lstm dc", dcp, h)
	}
}
