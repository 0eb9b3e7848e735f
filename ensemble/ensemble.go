// Package ensemble averages the class probabilities of several predictions
// artifacts of the same documents, as the paper does with its forward and
// backward classifiers (IMDb: 5.30 -> 4.58 test error).
package ensemble

import (
	"fmt"
	"math"
	"slices"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/stage/metrics"
)

// Named is a predictions artifact and the path it was read from (used in
// error messages).
type Named struct {
	Path string
	P    *artifacts.Predictions
}

// Check verifies that the inputs are predictions of the same documents:
// same label names, same multi-label flag, same number of rows, and row by
// row the same id and the same true label(s). The error names both files
// and the first differing row.
func Check(in []Named) error {
	if len(in) < 2 {
		return fmt.Errorf("need at least two predictions artifacts, got %d", len(in))
	}
	a := in[0]
	for _, b := range in[1:] {
		if !slices.Equal(a.P.LabelNames, b.P.LabelNames) {
			return fmt.Errorf("%s and %s: label names differ (%q vs %q): the classifiers were trained on different label sets", a.Path, b.Path, a.P.LabelNames, b.P.LabelNames)
		}
		if a.P.MultiLabel != b.P.MultiLabel {
			return fmt.Errorf("%s and %s: one is multi-label, the other is not", a.Path, b.Path)
		}
		for i := range min(len(a.P.Rows), len(b.P.Rows)) {
			ra, rb := &a.P.Rows[i], &b.P.Rows[i]
			if ra.ID != rb.ID {
				return fmt.Errorf("%s and %s: row %d: id %d vs %d: predict the same tokens artifact with both classifiers", a.Path, b.Path, i, ra.ID, rb.ID)
			}
			if ra.Label != rb.Label || !slices.Equal(ra.Labels, rb.Labels) {
				return fmt.Errorf("%s and %s: row %d (id %d): true label %s vs %s", a.Path, b.Path, i, ra.ID, labelText(ra), labelText(rb))
			}
			if len(rb.Probs) != len(b.P.LabelNames) {
				return fmt.Errorf("%s: row %d (id %d): %d probabilities for %d labels", b.Path, i, rb.ID, len(rb.Probs), len(b.P.LabelNames))
			}
		}
		if len(a.P.Rows) != len(b.P.Rows) {
			return fmt.Errorf("%s and %s: %d vs %d rows (first %d agree): predict the same tokens artifact with both classifiers", a.Path, b.Path, len(a.P.Rows), len(b.P.Rows), min(len(a.P.Rows), len(b.P.Rows)))
		}
	}
	return nil
}

func labelText(r *artifacts.Prediction) string {
	if r.Labels != nil {
		return fmt.Sprint(r.Labels)
	}
	return fmt.Sprint(r.Label)
}

// Weights normalizes w to sum to one; nil w means equal weights. It fails
// on a wrong count, a negative or non-finite weight, or an all-zero sum.
func Weights(w []float64, n int) ([]float64, error) {
	if w == nil {
		w = make([]float64, n)
		for i := range w {
			w[i] = 1
		}
	}
	if len(w) != n {
		return nil, fmt.Errorf("%d weights for %d predictions artifacts", len(w), n)
	}
	var sum float64
	for i, x := range w {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("weight %d is %g: weights must be finite and >= 0", i+1, x)
		}
		sum += x
	}
	if sum == 0 {
		return nil, fmt.Errorf("weights sum to zero")
	}
	out := make([]float64, n)
	for i, x := range w {
		out[i] = x / sum
	}
	return out, nil
}

// Average returns the weighted mean of the inputs' probabilities (weights
// already normalized), with the first input's ids and labels. Pred is the
// argmax for single-label problems and -1 for multi-label ones (the
// predicted set is the labels whose probability is >= 0.5). Inputs must
// have passed Check.
func Average(in []Named, w []float64) *artifacts.Predictions {
	first := in[0].P
	out := &artifacts.Predictions{
		LabelNames: slices.Clone(first.LabelNames),
		MultiLabel: first.MultiLabel,
		Rows:       make([]artifacts.Prediction, len(first.Rows)),
	}
	c := len(first.LabelNames)
	acc := make([]float64, c)
	for i, r := range first.Rows {
		clear(acc)
		for k, n := range in {
			for j, p := range n.P.Rows[i].Probs {
				acc[j] += w[k] * float64(p)
			}
		}
		probs := make([]float32, c)
		for j, v := range acc {
			probs[j] = float32(v)
		}
		pred := int32(-1)
		if !first.MultiLabel {
			pred = int32(metrics.Argmax(probs))
		}
		out.Rows[i] = artifacts.Prediction{ID: r.ID, Label: r.Label, Labels: slices.Clone(r.Labels), Probs: probs, Pred: pred}
	}
	return out
}

// Score computes the metrics of a predictions artifact; ok is false when
// it has no labeled row.
func Score(p *artifacts.Predictions) (r *metrics.Report, ok bool, err error) {
	r, err = metrics.Compute(metrics.FromPredictions(p))
	if err != nil {
		return nil, false, err
	}
	return r, r.N > 0, nil
}
