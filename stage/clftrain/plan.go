package clftrain

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ulmfit-go/ulmfit/nn"
)

// Sched names a learning-rate schedule applied within one phase.
type Sched string

// The schedules. Each maps the position within a phase, pos in [0,1), to a
// multiplier of the phase's maximum learning rates.
const (
	SchedConst    Sched = "const"    // constant
	SchedSTLR     Sched = "stlr"     // slanted triangular (paper eq. 3)
	SchedCos      Sched = "cos"      // cosine annealing from max to 0 (Loshchilov & Hutter)
	SchedOneCycle Sched = "onecycle" // fastai v2 fit_one_cycle: cosine warm-up, then cosine decay
)

// Phase is one stretch of training with a fixed set of trainable layer
// groups and one learning-rate schedule.
type Phase struct {
	Name   string
	Train  []bool    // per layer group: trainable in this phase
	Epochs int       // epochs in the phase
	LR     []float64 // per layer group: peak learning rate
	Sched  Sched
}

// Schedule holds the schedule hyperparameters; the schedule functions
// themselves are package nn's.
type Schedule struct {
	CutFrac  float64 // STLR: fraction of steps spent increasing (paper 0.1)
	Ratio    float64 // STLR: max/min learning-rate ratio (paper 32)
	PctStart float64 // one-cycle: warm-up fraction (fastai 0.25)
	Div      float64 // one-cycle: initial lr = max/Div (fastai 25)
	DivFinal float64 // one-cycle: final lr = max/DivFinal (fastai 1e5)
	MomHi    float64 // one-cycle: beta1 at the ends (fastai 0.95)
	MomLo    float64 // one-cycle: beta1 at the peak LR (fastai 0.85)
}

// DefaultSchedule returns the paper's STLR values and fastai v2's one-cycle
// defaults.
func DefaultSchedule() Schedule {
	return Schedule{CutFrac: 0.1, Ratio: 32, PctStart: 0.25, Div: 25, DivFinal: 1e5, MomHi: 0.95, MomLo: 0.85}
}

// Mult returns the learning-rate multiplier at step t of a phase of n steps
// (t in [0,n)), and the Adam beta1 to use (beta1 for every schedule but
// one-cycle, which cycles it from MomHi to MomLo and back).
func (s Schedule) Mult(kind Sched, t, n int, beta1 float64) (mult, b1 float64) {
	if n < 1 {
		n = 1
	}
	pos := float64(t) / float64(n)
	switch kind {
	case SchedSTLR:
		return nn.STLRAt(t, n, s.CutFrac, s.Ratio), beta1
	case SchedCos:
		return nn.Cosine()(pos), beta1
	case SchedOneCycle:
		return nn.OneCycle(s.PctStart, s.Div, s.DivFinal)(pos), nn.OneCycleMomentum(s.PctStart, s.MomHi, s.MomLo)(pos)
	default:
		return 1, beta1
	}
}

// Mode is a named fine-tuning recipe: one of the variants of the paper's
// Table 7, or fastai v2's one-cycle recipe.
type Mode struct {
	Name    string
	Table7  string  // the row name in the paper's Table 7 ("" if not there)
	Doc     string  // one-line description for --help
	LR      float64 // default peak learning rate of the last layer group
	Scratch bool    // the classifier starts from random weights
	plan    func(m Mode, c PlanConfig) []Phase
}

// PlanConfig is what a mode needs to lay out its phases.
type PlanConfig struct {
	Groups int     // layer groups (classifier: encoder, each RNN layer, head)
	Epochs int     // total epoch budget
	LR     float64 // peak learning rate of the last group (0: the mode's default)
	Discr  float64 // discriminative factor (paper 2.6)
}

// Modes lists every recipe, in --help order.
func Modes() []Mode {
	return []Mode{
		{Name: "ulmfit", Table7: "Freez + discr + stlr", LR: 0.01, plan: freez(true, SchedSTLR),
			Doc: "gradual unfreezing (last group 1 epoch, +1 group per epoch, then all), discriminative LRs (/2.6), STLR per phase (the paper's method)"},
		{Name: "scratch", Table7: "From scratch", LR: 0.001, Scratch: true, plan: full(false, SchedConst),
			Doc: "random initialization, no LM; all layers, constant LR"},
		{Name: "full", Table7: "Full", LR: 0.001, plan: full(false, SchedConst),
			Doc: "all layers from the start, one LR, constant"},
		{Name: "full-discr", Table7: "Full + discr", LR: 0.01, plan: full(true, SchedConst),
			Doc: "all layers from the start, discriminative LRs, constant"},
		{Name: "last", Table7: "Last", LR: 0.001, plan: last,
			Doc: "only the classifier head is trained, constant LR"},
		{Name: "chain-thaw", Table7: "Chain-thaw", LR: 0.001, plan: chainThaw,
			Doc: "Felbo et al. 2017: head 1 epoch, then each group alone 1 epoch from the first, then all; LR 0.001 head, 0.0001 others"},
		{Name: "freez", Table7: "Freez", LR: 0.001, plan: freez(false, SchedConst),
			Doc: "gradual unfreezing, one LR, constant"},
		{Name: "freez-discr", Table7: "Freez + discr", LR: 0.01, plan: freez(true, SchedConst),
			Doc: "gradual unfreezing, discriminative LRs, constant"},
		{Name: "freez-stlr", Table7: "Freez + stlr", LR: 0.001, plan: freez(false, SchedSTLR),
			Doc: "gradual unfreezing, one LR, STLR per phase"},
		{Name: "freez-cos", Table7: "Freez + cos", LR: 0.001, plan: freez(false, SchedCos),
			Doc: "gradual unfreezing, one LR, cosine annealing per phase"},
		{Name: "onecycle", LR: 0.02, plan: oneCycle,
			Doc: "fastai v2: fit_one_cycle(1, 2e-2); freeze_to(-2) 1 epoch slice(1e-2/2.6^4, 1e-2); freeze_to(-3) 1 epoch slice(5e-3/2.6^4, 5e-3); unfreeze, rest slice(1e-3/2.6^4, 1e-3)"},
	}
}

// ModeByName returns the named mode.
func ModeByName(name string) (Mode, error) {
	var names []string
	for _, m := range Modes() {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return Mode{}, fmt.Errorf("unknown mode %q (want one of %s)", name, strings.Join(names, ", "))
}

// ModeTable is the --help table of the modes.
func ModeTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-12s %-22s %-8s %s\n", "mode", "paper Table 7", "lr", "recipe")
	for _, m := range Modes() {
		t7 := m.Table7
		if t7 == "" {
			t7 = "-"
		}
		fmt.Fprintf(&b, "  %-12s %-22s %-8g %s\n", m.Name, t7, m.LR, m.Doc)
	}
	return b.String()
}

// Plan lays out the phases of the mode for the config. Every phase has at
// least one epoch; the epoch budget is honoured when it allows the mode's
// warm-up phases, else they still run once each and the last phase gets
// one epoch.
func (m Mode) Plan(c PlanConfig) ([]Phase, error) {
	if c.Groups < 1 {
		return nil, fmt.Errorf("model has %d layer groups", c.Groups)
	}
	if c.Epochs < 1 {
		return nil, fmt.Errorf("--epochs %d: want >= 1", c.Epochs)
	}
	if c.LR == 0 {
		c.LR = m.LR
	}
	if c.LR < 0 || math.IsNaN(c.LR) || math.IsInf(c.LR, 0) {
		return nil, fmt.Errorf("--lr %g: want a positive number", c.LR)
	}
	if c.Discr == 0 {
		c.Discr = 2.6
	}
	return m.plan(m, c), nil
}

// discrLRs gives group g the rate lr/discr^(last-g).
func discrLRs(n int, lr, discr float64) []float64 { return nn.GroupLRs(lr, discr, n) }

func flatLRs(n int, lr float64) []float64 { return nn.GroupLRs(lr, 1, n) }

// evenMults is fastai's even_mults: n values from lo to hi, evenly spaced
// on a log scale (what lr=slice(lo, hi) gives the layer groups).
func evenMults(lo, hi float64, n int) []float64 {
	if n == 1 {
		return []float64{hi}
	}
	out := make([]float64, n)
	step := math.Pow(hi/lo, 1/float64(n-1))
	for i := range out {
		out[i] = lo * math.Pow(step, float64(i))
	}
	return out
}

// lastK marks the last k groups trainable.
func lastK(n, k int) []bool {
	t := make([]bool, n)
	for g := max(n-k, 0); g < n; g++ {
		t[g] = true
	}
	return t
}

func full(discr bool, s Sched) func(Mode, PlanConfig) []Phase {
	return func(m Mode, c PlanConfig) []Phase {
		lrs := flatLRs(c.Groups, c.LR)
		if discr {
			lrs = discrLRs(c.Groups, c.LR, c.Discr)
		}
		return []Phase{{Name: "all", Train: lastK(c.Groups, c.Groups), Epochs: c.Epochs, LR: lrs, Sched: s}}
	}
}

func last(m Mode, c PlanConfig) []Phase {
	return []Phase{{Name: "head", Train: lastK(c.Groups, 1), Epochs: c.Epochs, LR: flatLRs(c.Groups, c.LR), Sched: SchedConst}}
}

// freez is gradual unfreezing: the last group for one epoch, then one more
// group per epoch, and the whole model for the remaining epochs.
func freez(discr bool, s Sched) func(Mode, PlanConfig) []Phase {
	return func(m Mode, c PlanConfig) []Phase {
		lrs := flatLRs(c.Groups, c.LR)
		if discr {
			lrs = discrLRs(c.Groups, c.LR, c.Discr)
		}
		var ph []Phase
		for k := 1; k < c.Groups; k++ {
			ph = append(ph, Phase{Name: fmt.Sprintf("last %d", k), Train: lastK(c.Groups, k), Epochs: 1, LR: lrs, Sched: s})
		}
		ph = append(ph, Phase{Name: "all", Train: lastK(c.Groups, c.Groups), Epochs: max(c.Epochs-len(ph), 1), LR: lrs, Sched: s})
		return ph
	}
}

// chainThaw: the head alone, then each group alone from the first, then
// the whole model; the head's LR is lr, the others lr/10 (0.001 / 0.0001
// in the paper).
func chainThaw(m Mode, c PlanConfig) []Phase {
	lrs := flatLRs(c.Groups, c.LR/10)
	lrs[c.Groups-1] = c.LR
	one := func(g int) []bool { t := make([]bool, c.Groups); t[g] = true; return t }
	ph := []Phase{{Name: "head", Train: one(c.Groups - 1), Epochs: 1, LR: lrs, Sched: SchedConst}}
	for g := 0; g < c.Groups-1; g++ {
		ph = append(ph, Phase{Name: fmt.Sprintf("group %d", g), Train: one(g), Epochs: 1, LR: lrs, Sched: SchedConst})
	}
	ph = append(ph, Phase{Name: "all", Train: lastK(c.Groups, c.Groups), Epochs: max(c.Epochs-len(ph), 1), LR: lrs, Sched: SchedConst})
	return ph
}

// oneCycle is fastai v2's ULMFiT classifier recipe. With --lr the four
// peak rates scale with it (2e-2 : 1e-2 : 5e-3 : 1e-3).
func oneCycle(m Mode, c PlanConfig) []Phase {
	s := c.LR / 0.02
	d4 := math.Pow(c.Discr, 4)
	slice := func(hi float64) []float64 { return evenMults(hi*s/d4, hi*s, c.Groups) }
	ph := []Phase{{Name: "freeze_to(-1)", Train: lastK(c.Groups, 1), Epochs: 1, LR: flatLRs(c.Groups, 2e-2*s), Sched: SchedOneCycle}}
	if c.Groups > 2 {
		ph = append(ph, Phase{Name: "freeze_to(-2)", Train: lastK(c.Groups, 2), Epochs: 1, LR: slice(1e-2), Sched: SchedOneCycle})
	}
	if c.Groups > 3 {
		ph = append(ph, Phase{Name: "freeze_to(-3)", Train: lastK(c.Groups, 3), Epochs: 1, LR: slice(5e-3), Sched: SchedOneCycle})
	}
	ph = append(ph, Phase{Name: "unfreeze", Train: lastK(c.Groups, c.Groups), Epochs: max(c.Epochs-len(ph), 1), LR: slice(1e-3), Sched: SchedOneCycle})
	return ph
}
