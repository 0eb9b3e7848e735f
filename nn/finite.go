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

// nonFinite names the first NaN or ±Inf of data, the tensor called name,
// in an error wrapping ErrNonFinite: "NAME is not finite (NAME[i] = v)".
// It returns nil when every value is finite.
func nonFinite(name string, data []float32) error {
	for i, v := range data {
		// All exponent bits set is what makes a float32 Inf or NaN.
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("%s is %w (%s[%d] = %v)", name, ErrNonFinite, name, i, v)
		}
	}
	return nil
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
