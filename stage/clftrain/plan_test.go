package clftrain

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestScheduleMult(t *testing.T) {
	s := DefaultSchedule()
	const n = 1000 // cut = 100
	for _, c := range []struct {
		kind     Sched
		t        int
		want, b1 float64
	}{
		{SchedSTLR, 0, 1.0 / 32, 0.7},
		{SchedSTLR, 50, (1 + 0.5*31) / 32, 0.7},
		{SchedSTLR, 100, 1, 0.7},
		{SchedSTLR, 550, (1 + 0.5*31) / 32, 0.7},
		{SchedSTLR, 999, (1 + (1-899.0/900)*31) / 32, 0.7},
		{SchedCos, 0, 1, 0.7},
		{SchedCos, 500, 0.5, 0.7},
		{SchedConst, 700, 1, 0.7},
		{SchedOneCycle, 0, 1.0 / 25, 0.95},
		{SchedOneCycle, 250, 1, 0.85},
		{SchedOneCycle, 625, (1 + 1e-5) / 2, 0.9},
		{SchedOneCycle, 1000, 1e-5, 0.95},
	} {
		got, b1 := s.Mult(c.kind, c.t, n, 0.7)
		if math.Abs(got-c.want) > 1e-9 || math.Abs(b1-c.b1) > 1e-9 {
			t.Errorf("%s t=%d: mult %.6f beta1 %.4f, want %.6f %.4f", c.kind, c.t, got, b1, c.want, c.b1)
		}
	}
	// STLR of a 5-step phase still rises for one step then falls.
	a, _ := s.Mult(SchedSTLR, 0, 5, 0.7)
	b, _ := s.Mult(SchedSTLR, 1, 5, 0.7)
	c, _ := s.Mult(SchedSTLR, 4, 5, 0.7)
	if !(a < b && c < b && c > 0) {
		t.Errorf("short STLR: %g %g %g", a, b, c)
	}
}

func TestModePlans(t *testing.T) {
	train := func(ph Phase) string {
		var b strings.Builder
		for _, x := range ph.Train {
			if x {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		return b.String()
	}
	cases := []struct {
		mode   string
		trains []string
		epochs []int
		sched  Sched
		lastLR []float64 // LRs of the last phase
	}{
		{"ulmfit", []string{"00001", "00011", "00111", "01111", "11111"}, []int{1, 1, 1, 1, 11}, SchedSTLR,
			[]float64{0.01 / math.Pow(2.6, 4), 0.01 / math.Pow(2.6, 3), 0.01 / math.Pow(2.6, 2), 0.01 / 2.6, 0.01}},
		{"full", []string{"11111"}, []int{15}, SchedConst, []float64{0.001, 0.001, 0.001, 0.001, 0.001}},
		{"scratch", []string{"11111"}, []int{15}, SchedConst, []float64{0.001, 0.001, 0.001, 0.001, 0.001}},
		{"full-discr", []string{"11111"}, []int{15}, SchedConst, discrLRs(5, 0.01, 2.6)},
		{"last", []string{"00001"}, []int{15}, SchedConst, flatLRs(5, 0.001)},
		{"chain-thaw", []string{"00001", "10000", "01000", "00100", "00010", "11111"}, []int{1, 1, 1, 1, 1, 10}, SchedConst,
			[]float64{0.0001, 0.0001, 0.0001, 0.0001, 0.001}},
		{"freez", []string{"00001", "00011", "00111", "01111", "11111"}, []int{1, 1, 1, 1, 11}, SchedConst, flatLRs(5, 0.001)},
		{"freez-discr", []string{"00001", "00011", "00111", "01111", "11111"}, []int{1, 1, 1, 1, 11}, SchedConst, discrLRs(5, 0.01, 2.6)},
		{"freez-stlr", []string{"00001", "00011", "00111", "01111", "11111"}, []int{1, 1, 1, 1, 11}, SchedSTLR, flatLRs(5, 0.001)},
		{"freez-cos", []string{"00001", "00011", "00111", "01111", "11111"}, []int{1, 1, 1, 1, 11}, SchedCos, flatLRs(5, 0.001)},
		{"onecycle", []string{"00001", "00011", "00111", "11111"}, []int{1, 1, 1, 12}, SchedOneCycle,
			[]float64{1e-3 / math.Pow(2.6, 4), 1e-3 / math.Pow(2.6, 3), 1e-3 / math.Pow(2.6, 2), 1e-3 / 2.6, 1e-3}},
	}
	for _, c := range cases {
		m, err := ModeByName(c.mode)
		if err != nil {
			t.Fatal(err)
		}
		ph, err := m.Plan(PlanConfig{Groups: 5, Epochs: 15})
		if err != nil {
			t.Fatal(err)
		}
		var trains []string
		var epochs []int
		for _, p := range ph {
			trains = append(trains, train(p))
			epochs = append(epochs, p.Epochs)
			if p.Sched != c.sched {
				t.Errorf("%s %s: schedule %s, want %s", c.mode, p.Name, p.Sched, c.sched)
			}
		}
		if !slices.Equal(trains, c.trains) || !slices.Equal(epochs, c.epochs) {
			t.Errorf("%s: trainable %v epochs %v, want %v %v", c.mode, trains, epochs, c.trains, c.epochs)
		}
		got := ph[len(ph)-1].LR
		for g := range got {
			if math.Abs(got[g]-c.lastLR[g]) > 1e-12 {
				t.Errorf("%s: last phase LRs %v, want %v", c.mode, got, c.lastLR)
				break
			}
		}
	}
	if _, err := ModeByName("nope"); err == nil || !strings.Contains(err.Error(), "ulmfit") {
		t.Errorf("unknown mode error %v", err)
	}
	m, _ := ModeByName("ulmfit")
	// A budget smaller than the warm-up still runs every phase once.
	ph, _ := m.Plan(PlanConfig{Groups: 4, Epochs: 1})
	if len(ph) != 4 || ph[3].Epochs != 1 {
		t.Errorf("small budget: %d phases", len(ph))
	}
	// --lr overrides the mode's default.
	ph, _ = m.Plan(PlanConfig{Groups: 3, Epochs: 3, LR: 0.05})
	if ph[0].LR[2] != 0.05 {
		t.Errorf("--lr not applied: %v", ph[0].LR)
	}
	if _, err := m.Plan(PlanConfig{Groups: 3, Epochs: 0}); err == nil {
		t.Error("zero epochs accepted")
	}
	if !strings.Contains(ModeTable(), "Freez + discr + stlr") {
		t.Error("mode table lacks the paper's row names")
	}
}
