package nn

import (
	"fmt"
	"math"
)

// Param is one named tensor of a model: a trainable parameter (Grad non-nil)
// or a buffer such as BatchNorm running statistics (Grad nil). Data and Grad
// are row-major with the given Shape. Group is the layer group used for
// discriminative learning rates and gradual unfreezing; Frozen params get no
// update from the optimizers, and the models skip their gradient work where
// cheap (their Grad is then left untouched, not computed).
type Param struct {
	Name   string
	Shape  []int
	Data   []float32
	Grad   []float32
	Group  int
	Frozen bool
}

// Len is the number of elements (product of Shape).
func (p *Param) Len() int { return shapeLen(p.Shape) }

func shapeLen(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func newParam(name string, group int, shape ...int) *Param {
	n := shapeLen(shape)
	return &Param{Name: name, Shape: shape, Data: make([]float32, n), Grad: make([]float32, n), Group: group}
}

func newBuffer(name string, group int, shape ...int) *Param {
	return &Param{Name: name, Shape: shape, Data: make([]float32, shapeLen(shape)), Group: group}
}

// ZeroGrad sets the gradients of all params to zero.
func ZeroGrad(be Backend, params []*Param) {
	for _, p := range params {
		if p.Grad != nil {
			be.Fill(p.Grad, 0)
		}
	}
}

// GradNorm returns the global L2 norm of the gradients of the non-frozen
// params.
func GradNorm(be Backend, params []*Param) float64 {
	var s float64
	for _, p := range params {
		if p.Grad != nil && !p.Frozen {
			s += be.SumSquares(p.Grad)
		}
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales the gradients of the non-frozen params so that their
// global L2 norm is at most maxNorm (as torch.nn.utils.clip_grad_norm_, with
// its 1e-6 guard), and returns the norm before clipping. maxNorm <= 0 only
// measures.
func ClipGradNorm(be Backend, params []*Param, maxNorm float64) float64 {
	norm := GradNorm(be, params)
	ClipGradNormTo(be, params, maxNorm, norm)
	return norm
}

// ClipGradNormTo is ClipGradNorm with the norm already measured (GradNorm),
// so that a caller can check it first without measuring twice.
func ClipGradNormTo(be Backend, params []*Param, maxNorm, norm float64) {
	if maxNorm > 0 && norm > maxNorm {
		s := float32(maxNorm / (norm + 1e-6))
		for _, p := range params {
			if p.Grad != nil && !p.Frozen {
				be.Scale(p.Grad, s)
			}
		}
	}
}

// CheckGradNorm returns nil if norm (GradNorm of params) is finite, and
// otherwise an error wrapping ErrNonFinite that names the first
// non-frozen param whose gradient holds a NaN or ±Inf ("grad/<param>").
// Called after the backward pass and before clipping, which would scale an
// infinite gradient to NaN and zeros, it stops a diverging step before it
// reaches the optimizer state.
func CheckGradNorm(params []*Param, norm float64) error {
	if !math.IsNaN(norm) && !math.IsInf(norm, 0) {
		return nil
	}
	for _, p := range params {
		if p.Grad == nil || p.Frozen {
			continue
		}
		if err := nonFinite("grad/"+p.Name, p.Grad); err != nil {
			return err
		}
	}
	// Only reachable if a float64 sum of squares overflowed (finite values).
	return fmt.Errorf("the gradient norm is %w (%v)", ErrNonFinite, norm)
}

// FreezeTo freezes the params of groups [0, n) and unfreezes the others, as
// fastai's freeze_to(n). A negative n counts from the end: FreezeTo(ps, -1,
// groups) leaves only the last group trainable. numGroups is the model's
// group count.
func FreezeTo(params []*Param, n, numGroups int) {
	if n < 0 {
		n += numGroups
	}
	for _, p := range params {
		if p.Grad != nil {
			p.Frozen = p.Group < n
		}
	}
}

// NumParams counts the elements of the params that have a gradient.
func NumParams(params []*Param) int {
	n := 0
	for _, p := range params {
		if p.Grad != nil {
			n += len(p.Data)
		}
	}
	return n
}

// findParam returns the param with the given name.
func findParam(params []*Param, name string) (*Param, error) {
	for _, p := range params {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("nn: no parameter %q", name)
}

// grow returns buf with length n, reallocating only when its capacity is too
// small (the steady state does not allocate).
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

func growInt32(buf []int32, n int) []int32 {
	if cap(buf) < n {
		return make([]int32, n)
	}
	return buf[:n]
}

func allFrozen(ps ...*Param) bool {
	for _, p := range ps {
		if p != nil && !p.Frozen {
			return false
		}
	}
	return true
}
