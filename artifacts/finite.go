package artifacts

import (
	"errors"
	"fmt"
	"math"
)

// ErrNonFinite is wrapped by every error about a NaN or ±Inf value where only
// finite ones belong: a tensor refused by a writer, a diverged training step.
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

// FirstNonFinite returns the index of the first NaN or ±Inf in data, or -1.
func FirstNonFinite(data []float32) int {
	for i, v := range data {
		// The exponent bits all set is what makes a float32 Inf or NaN.
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// CheckFinite returns a *NonFiniteError for the first tensor of sets that
// holds a NaN or ±Inf, or nil. Every model writer calls it on everything it
// writes (weights, buffers, optimizer moments, hidden state), so that no
// artifact, checkpoint included, can hold a value training cannot continue
// from.
func CheckFinite(sets ...[]Tensor) error {
	for _, ts := range sets {
		for i := range ts {
			if j := FirstNonFinite(ts[i].Data); j >= 0 {
				return &NonFiniteError{Tensor: ts[i].Name, Index: j, Value: ts[i].Data[j]}
			}
		}
	}
	return nil
}
