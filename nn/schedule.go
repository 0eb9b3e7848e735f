package nn

import (
	"fmt"
	"math"
)

// Schedule maps the position in a training phase, pos in [0,1] (the
// fraction of its iterations done), to a multiplier: of the peak learning
// rate for LR schedules, or the value itself for momentum schedules.
type Schedule func(pos float64) float64

// ScheduleNames lists the names ScheduleByName accepts.
func ScheduleNames() []string { return []string{"stlr", "one-cycle", "cosine", "constant"} }

// ScheduleByName returns a learning-rate schedule with the paper's STLR and
// fastai's one-cycle defaults: "stlr" (cut_frac 0.1, ratio 32), "one-cycle"
// (pct_start 0.25, div 25, div_final 1e5), "cosine" or "constant".
func ScheduleByName(name string) (Schedule, error) {
	switch name {
	case "stlr":
		return STLR(0.1, 32), nil
	case "one-cycle":
		return OneCycle(0.25, 25, 1e5), nil
	case "cosine":
		return Cosine(), nil
	case "constant":
		return Constant(), nil
	}
	return nil, fmt.Errorf("nn: unknown schedule %q (want stlr, one-cycle, cosine or constant)", name)
}

// STLRAt is the slanted triangular learning rate multiplier of Howard &
// Ruder (2018), eq. 3, at iteration t of total iterations T:
//
//	cut = floor(T*cutFrac)
//	p   = t/cut                                 if t < cut
//	      1 - (t-cut)/(cut*(1/cutFrac - 1))     otherwise
//	eta_t / eta_max = (1 + p*(ratio-1)) / ratio
//
// (cut is at least 1, and p is clamped to [0,1]).
func STLRAt(t, total int, cutFrac, ratio float64) float64 {
	cut := math.Max(1, math.Floor(float64(total)*cutFrac))
	var p float64
	if float64(t) < cut {
		p = float64(t) / cut
	} else {
		p = 1 - (float64(t)-cut)/(cut*(1/cutFrac-1))
	}
	p = math.Max(0, math.Min(1, p))
	return (1 + p*(ratio-1)) / ratio
}

// STLR is STLRAt as a function of the phase position pos = t/T: a linear
// rise from 1/ratio to 1 over the first cutFrac of the phase, then a linear
// decay back to 1/ratio.
func STLR(cutFrac, ratio float64) Schedule {
	return func(pos float64) float64 {
		var p float64
		if pos < cutFrac {
			p = pos / cutFrac
		} else {
			p = 1 - (pos-cutFrac)/(1-cutFrac)
		}
		p = math.Max(0, math.Min(1, p))
		return (1 + p*(ratio-1)) / ratio
	}
}

// cosFrom goes from a (pos 0) to b (pos 1) along half a cosine (fastai's
// SchedCos).
func cosFrom(a, b, pos float64) float64 {
	pos = math.Max(0, math.Min(1, pos))
	return a + (b-a)*(1-math.Cos(math.Pi*pos))/2
}

// OneCycle is fastai's fit_one_cycle learning-rate schedule: cosine from
// 1/div up to 1 over the first pctStart of the phase, then cosine down to
// 1/divFinal (fastai: 0.25, 25, 1e5).
func OneCycle(pctStart, div, divFinal float64) Schedule {
	return func(pos float64) float64 {
		if pos < pctStart {
			return cosFrom(1/div, 1, pos/pctStart)
		}
		return cosFrom(1, 1/divFinal, (pos-pctStart)/(1-pctStart))
	}
}

// OneCycleMomentum is fit_one_cycle's momentum (Adam beta1) schedule: cosine
// from hi down to lo over the first pctStart, then back up to hi (fastai:
// moms 0.95, 0.85, 0.95). Apply it with Adam.SetBeta1.
func OneCycleMomentum(pctStart, hi, lo float64) Schedule {
	return func(pos float64) float64 {
		if pos < pctStart {
			return cosFrom(hi, lo, pos/pctStart)
		}
		return cosFrom(lo, hi, (pos-pctStart)/(1-pctStart))
	}
}

// Cosine anneals from 1 to 0 along half a cosine.
func Cosine() Schedule { return func(pos float64) float64 { return cosFrom(1, 0, pos) } }

// Constant is 1 throughout.
func Constant() Schedule { return func(float64) float64 { return 1 } }
