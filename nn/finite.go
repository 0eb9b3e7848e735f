package nn

import (
	"errors"
	"fmt"
	"math"
)

// ErrNonFinite is wrapped by every error about a NaN or ±Inf where training
// needs finite values: a gradient, a weight or an optimizer moment. (The
// artifact writers have their own, artifacts.ErrNonFinite, for what they
// refuse to write; nn stays free of file formats.)
var ErrNonFinite = errors.New("not finite")

// NonFiniteError names the first NaN or ±Inf of a tensor. It matches
// ErrNonFinite under errors.Is.
type NonFiniteError struct {
	Tensor string  // tensor name, e.g. "adam.v/encoder.weight"
	Index  int     // flat index of the first non-finite value
	Value  float32 // that value
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("%s is %v (%s[%d] = %v)", e.Tensor, ErrNonFinite, e.Tensor, e.Index, e.Value)
}

// Unwrap returns ErrNonFinite.
func (e *NonFiniteError) Unwrap() error { return ErrNonFinite }

// firstNonFinite returns the index of the first NaN or ±Inf in data, or -1.
func firstNonFinite(data []float32) int {
	for i, v := range data {
		// The exponent bits all set is what makes a float32 Inf or NaN.
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// Tensor is a named, shaped copy of values: what the optimizer's state is
// saved and restored as (the stages store it in checkpoints).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// StateError reports optimizer state that does not fit the model's params.
type StateError struct {
	Tensor string // the state tensor at fault, e.g. "adam.steps"
	Msg    string
}

func (e *StateError) Error() string { return "optimizer tensor " + e.Tensor + ": " + e.Msg }
