package nn

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// TestAdam checks AdamW against the formula in float64, per-group learning
// rates, frozen params, and the State/SetState round trip.
func TestAdam(t *testing.T) {
	be := Reference()
	a := &Param{Name: "a", Shape: []int{2}, Data: []float32{0.5, -1}, Grad: make([]float32, 2), Group: 0}
	b := &Param{Name: "b", Shape: []int{1}, Data: []float32{2}, Grad: make([]float32, 1), Group: 1}
	buf := &Param{Name: "buf", Shape: []int{1}, Data: []float32{7}}
	opt := NewAdam(be, []*Param{a, buf, b}, 0.7, 0.99, 1e-5, 0.01)
	lrs := []float64{0.01 / 2.6, 0.01}
	// float64 shadow of param a[0]
	p, m, v := 0.5, 0.0, 0.0
	grads := []float32{0.3, -2, 0.05}
	for s, g := range grads {
		a.Grad[0], a.Grad[1], b.Grad[0] = g, g, g
		if s == 1 {
			b.Frozen = true
		}
		if err := opt.Step(lrs); err != nil {
			t.Fatal(err)
		}
		b.Frozen = false
		lr := lrs[0]
		p -= lr * 0.01 * p
		m = 0.7*m + 0.3*float64(g)
		v = 0.99*v + 0.01*float64(g)*float64(g)
		n := float64(s + 1)
		p -= lr * (m / (1 - math.Pow(0.7, n))) / (math.Sqrt(v/(1-math.Pow(0.99, n))) + 1e-5)
		if math.Abs(float64(a.Data[0])-p) > 1e-6 {
			t.Fatalf("step %d: a[0] = %v, want %v", s, a.Data[0], p)
		}
	}
	if buf.Data[0] != 7 {
		t.Error("buffer updated")
	}
	st := opt.State()
	if st[len(st)-1].Name != "adam.steps" || !slices.Equal(st[len(st)-1].Data, []float32{3, 2}) {
		t.Errorf("per-param steps %v", st[len(st)-1])
	}
	// Resume: a fresh optimizer with the restored state continues
	// identically.
	a2 := &Param{Name: "a", Shape: []int{2}, Data: slices.Clone(a.Data), Grad: []float32{0.1, 0.1}, Group: 0}
	b2 := &Param{Name: "b", Shape: []int{1}, Data: slices.Clone(b.Data), Grad: []float32{0.1}, Group: 1}
	opt2 := NewAdam(be, []*Param{a2, b2}, 0.7, 0.99, 1e-5, 0.01)
	if err := opt2.SetState(st, opt.Steps()); err != nil {
		t.Fatal(err)
	}
	a.Grad[0], a.Grad[1], b.Grad[0] = 0.1, 0.1, 0.1
	_ = opt.Step(lrs)
	_ = opt2.Step(lrs)
	if !slices.Equal(a.Data, a2.Data) || !slices.Equal(b.Data, b2.Data) || opt2.Steps() != 4 {
		t.Errorf("resumed optimizer diverges: %v %v vs %v %v", a.Data, b.Data, a2.Data, b2.Data)
	}
	if err := opt2.SetState(st[:2], 1); err == nil {
		t.Error("incomplete state accepted")
	}
	if err := opt.Step([]float64{0.1}); err == nil {
		t.Error("missing group LR accepted")
	}
}

// TestGroupLRs checks discriminative learning rates.
func TestGroupLRs(t *testing.T) {
	got := GroupLRs(0.01, 2.6, 3)
	want := []float64{0.01 / 2.6 / 2.6, 0.01 / 2.6, 0.01}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("GroupLRs = %v, want %v", got, want)
		}
	}
}

// TestClipGradNorm checks clipping and that frozen params are ignored.
func TestClipGradNorm(t *testing.T) {
	be := Reference()
	a := &Param{Grad: []float32{3, 4}}
	f := &Param{Grad: []float32{100}, Frozen: true}
	n := ClipGradNorm(be, []*Param{a, f}, 1)
	if math.Abs(n-5) > 1e-9 || math.Abs(float64(a.Grad[0])-0.6) > 1e-6 || f.Grad[0] != 100 {
		t.Errorf("norm %v grads %v %v", n, a.Grad, f.Grad)
	}
}

// TestSchedules checks STLR (paper eq. 3), one-cycle and its momentum.
func TestSchedules(t *testing.T) {
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	// T = 1000, cut_frac 0.1, ratio 32: cut = 100.
	near("STLR t=0", STLRAt(0, 1000, 0.1, 32), 1.0/32)
	near("STLR t=50", STLRAt(50, 1000, 0.1, 32), (1+0.5*31)/32)
	near("STLR t=100", STLRAt(100, 1000, 0.1, 32), 1)
	near("STLR t=550", STLRAt(550, 1000, 0.1, 32), (1+0.5*31)/32)
	near("STLR t=1000", STLRAt(1000, 1000, 0.1, 32), 1.0/32)
	s := STLR(0.1, 32)
	near("STLR pos 0.05", s(0.05), STLRAt(50, 1000, 0.1, 32))
	near("STLR pos 0.55", s(0.55), STLRAt(550, 1000, 0.1, 32))
	oc := OneCycle(0.25, 25, 1e5)
	near("one-cycle start", oc(0), 1.0/25)
	near("one-cycle peak", oc(0.25), 1)
	near("one-cycle end", oc(1), 1e-5)
	near("one-cycle mid-warmup", oc(0.125), (1.0/25+1)/2)
	mom := OneCycleMomentum(0.25, 0.95, 0.85)
	near("mom start", mom(0), 0.95)
	near("mom at peak lr", mom(0.25), 0.85)
	near("mom end", mom(1), 0.95)
	near("cosine mid", Cosine()(0.5), 0.5)
	for _, n := range ScheduleNames() {
		if _, err := ScheduleByName(n); err != nil {
			t.Error(err)
		}
	}
	if _, err := ScheduleByName("linear"); err == nil {
		t.Error("unknown schedule accepted")
	}
}

// TestRNGState checks that a restored RNG continues identically.
func TestRNGState(t *testing.T) {
	r := NewRNG(5)
	r.Uint64()
	st, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{r.Float32(), r.Float32()}
	r2 := NewRNG(0)
	if err := r2.SetState(st); err != nil {
		t.Fatal(err)
	}
	if got := []float32{r2.Float32(), r2.Float32()}; !slices.Equal(got, want) {
		t.Errorf("restored %v, want %v", got, want)
	}
	for i := 0; i < 1000; i++ {
		if v := r.IntN(7); v < 0 || v >= 7 {
			t.Fatalf("IntN(7) = %d", v)
		}
	}
}

// TestAdamNonFinite: a step that makes a moment or a weight non-finite is
// reported, naming the first such tensor, after every param was updated as
// without the check.
func TestAdamNonFinite(t *testing.T) {
	tests := []struct {
		name string
		g    float32 // gradient of param a
		want string
	}{
		{"grad^2 overflows v", 1e21, "adam.v/a is not finite (adam.v/a[0] = +Inf)"},
		{"NaN gradient", float32(math.NaN()), "adam.v/a is not finite (adam.v/a[0] = NaN)"},
		{"finite", 1e10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := Reference()
			a := &Param{Name: "a", Shape: []int{1}, Data: []float32{1}, Grad: []float32{tt.g}}
			b := &Param{Name: "b", Shape: []int{1}, Data: []float32{1}, Grad: []float32{1}}
			opt := NewAdam(be, []*Param{a, b}, 0.7, 0.99, 1e-5, 0)
			err := opt.Step([]float64{0.1})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrNonFinite) || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if b.Data[0] == 1 || opt.Steps() != 1 {
				t.Errorf("the step stopped at the bad param: b = %v, steps %d", b.Data[0], opt.Steps())
			}
		})
	}
}
