package nn

import (
	"fmt"
	"math"
	"slices"
)

// Adam is Adam with decoupled weight decay (AdamW; fastai's Adam with
// decouple_wd=True) over the params of a model, with one learning rate per
// layer group (Param.Group): discriminative fine-tuning passes lrs[g] =
// lr/2.6^(last-g) (see GroupLRs). Frozen params are skipped entirely: no
// update, and their moments and step count stay, as params without
// requires_grad in PyTorch; each param therefore keeps its own step count for
// the bias corrections. The paper uses beta1 0.7, beta2 0.99.
type Adam struct {
	Beta1, Beta2, Eps, WD float64

	be     Backend
	params []*Param
	m, v   [][]float32
	steps  []int64
	total  int64
}

// NewAdam returns an optimizer over the params that have gradients (buffers
// are ignored). Moments are allocated here, once.
func NewAdam(be Backend, params []*Param, beta1, beta2, eps, wd float64) *Adam {
	a := &Adam{Beta1: beta1, Beta2: beta2, Eps: eps, WD: wd, be: be}
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		a.params = append(a.params, p)
		a.m = append(a.m, make([]float32, len(p.Data)))
		a.v = append(a.v, make([]float32, len(p.Data)))
		a.steps = append(a.steps, 0)
	}
	return a
}

// SetBeta1 changes beta1 for the following steps (fastai's one-cycle
// momentum schedule, moms 0.95 -> 0.85 -> 0.95).
func (a *Adam) SetBeta1(b float64) { a.Beta1 = b }

// Step updates every non-frozen param with learning rate lrs[p.Group].
//
// After each param's update its weights and both moments are checked to be
// finite: the second moment overflows (grad^2 -> +Inf in float32) steps
// before the loss shows a divergence, and the weight update m/(sqrt(v)+eps)
// is then 0, so the weights alone look sane. A non-finite value is returned
// as an error wrapping ErrNonFinite that names the first of "adam.v/<param>",
// "adam.m/<param>" or the param, before any checkpoint can hold it. The step is still completed for every
// param, so that a caller that diverges on purpose (the LR range test) gets
// the same numbers as without the check; training stops on the error.
func (a *Adam) Step(lrs []float64) error {
	for _, p := range a.params {
		if p.Frozen {
			continue
		}
		if p.Group < 0 || p.Group >= len(lrs) {
			return fmt.Errorf("nn: Adam: param %s is in layer group %d, but only %d learning rates were given", p.Name, p.Group, len(lrs))
		}
	}
	var bad error
	for i, p := range a.params {
		if p.Frozen {
			continue
		}
		a.steps[i]++
		t := float64(a.steps[i])
		bc1 := 1 - math.Pow(a.Beta1, t)
		bc2 := 1 - math.Pow(a.Beta2, t)
		a.be.AdamStep(p.Data, p.Grad, a.m[i], a.v[i], float32(lrs[p.Group]), float32(a.Beta1), float32(a.Beta2),
			float32(a.Eps), float32(a.WD), float32(bc1), float32(bc2))
		if bad == nil {
			bad = a.checkFinite(i)
		}
	}
	a.total++
	return bad
}

// checkFinite fails if param i, its first or its second moment holds a NaN
// or ±Inf. SumSquares (vectorized, read only) is finite exactly when every
// value is: a float32 squared is below 1.2e77, and no tensor has enough of
// them to overflow a float64 sum.
func (a *Adam) checkFinite(i int) error {
	p := a.params[i]
	bad := func(s float64) bool { return math.IsNaN(s) || math.IsInf(s, 0) }
	// Names are built only on failure: a training step allocates nothing.
	var name string
	var data []float32
	switch {
	case bad(a.be.SumSquares(a.v[i])):
		name, data = "adam.v/"+p.Name, a.v[i]
	case bad(a.be.SumSquares(a.m[i])):
		name, data = "adam.m/"+p.Name, a.m[i]
	case bad(a.be.SumSquares(p.Data)):
		name, data = p.Name, p.Data
	default:
		return nil
	}
	if err := nonFinite(name, data); err != nil {
		return err
	}
	// A sum of squares can overflow on finite values.
	return fmt.Errorf("%s is %w (its sum of squares overflows)", name, ErrNonFinite)
}

// Steps is the number of Step calls (global step count).
func (a *Adam) Steps() int64 { return a.total }

// State returns the optimizer state as named tensors (copies):
// "adam.m/<param>" and "adam.v/<param>" with the param's shape, and
// "adam.steps" [nparams] with each param's own step count.
func (a *Adam) State() []Tensor {
	out := make([]Tensor, 0, 2*len(a.params)+1)
	steps := make([]float32, len(a.params))
	for i, p := range a.params {
		out = append(out,
			Tensor{Name: "adam.m/" + p.Name, Shape: slices.Clone(p.Shape), Data: slices.Clone(a.m[i])},
			Tensor{Name: "adam.v/" + p.Name, Shape: slices.Clone(p.Shape), Data: slices.Clone(a.v[i])})
		steps[i] = float32(a.steps[i])
	}
	return append(out, Tensor{Name: "adam.steps", Shape: []int{len(steps)}, Data: steps})
}

// SetState restores tensors written by State; total is the global step
// count. State that does not fit the params is a *StateError, and nothing is
// changed then.
func (a *Adam) SetState(ts []Tensor, total int64) error {
	byName := make(map[string]*Tensor, len(ts))
	for i := range ts {
		byName[ts[i].Name] = &ts[i]
	}
	bad := func(name, msg string) error {
		return &StateError{Tensor: name, Msg: msg}
	}
	st, ok := byName["adam.steps"]
	if !ok || len(st.Data) != len(a.params) {
		return bad("adam.steps", fmt.Sprintf("missing or not %d values: the optimizer state is not from this model", len(a.params)))
	}
	for i, p := range a.params {
		for _, name := range []string{"adam.m/" + p.Name, "adam.v/" + p.Name} {
			t, ok := byName[name]
			if !ok || len(t.Data) != len(p.Data) {
				return bad(name, fmt.Sprintf("missing or not %d values: the optimizer state is not from this model", len(p.Data)))
			}
		}
		if s := st.Data[i]; s < 0 || s != float32(math.Trunc(float64(s))) {
			return bad("adam.steps", fmt.Sprintf("step count %g of %s is not a non-negative integer", s, p.Name))
		}
	}
	for i, p := range a.params {
		copy(a.m[i], byName["adam.m/"+p.Name].Data)
		copy(a.v[i], byName["adam.v/"+p.Name].Data)
		a.steps[i] = int64(st.Data[i])
	}
	a.total = total
	return nil
}

// GroupLRs returns discriminative learning rates for n layer groups: the
// last group gets lr and each earlier one the next one's divided by discr
// (the paper's 2.6): lrs[g] = lr / discr^(n-1-g). discr <= 1 gives all lr.
func GroupLRs(lr, discr float64, n int) []float64 {
	lrs := make([]float64, n)
	for g := range lrs {
		lrs[g] = lr
		if discr > 1 {
			lrs[g] = lr / math.Pow(discr, float64(n-1-g))
		}
	}
	return lrs
}
