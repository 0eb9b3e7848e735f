// Package serve is the HTTP server of 'evaluate serve': it classifies raw
// text with one classifier artifact or a forward+backward ensemble, batching
// the requests that arrive together, and answers exactly what 'evaluate
// predict' (and, for an ensemble, 'ensemble' over their predictions) gives
// for the same texts.
package serve

import (
	"context"
	"fmt"
	"slices"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/evaluate/predict"
	"github.com/ulmfit-go/ulmfit/nn"
)

// Model is one classifier or an equal-weight ensemble of classifiers that
// share their label names. It is not safe for concurrent use: the server
// calls it from one goroutine.
type Model struct {
	Preds []*predict.Predictor
	names []string
	multi bool
}

// LoadModel reads one or more classifier artifacts onto backend be (they
// run one after the other, so they share it) with batches of bs documents.
// Several models must have the same label names, in the same order, and
// the same multi-label flag.
func LoadModel(paths []string, be nn.Backend, bs int) (*Model, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("serve: no model")
	}
	m := &Model{}
	for _, path := range paths {
		p, err := predict.Load(path, be)
		if err != nil {
			return nil, err
		}
		p.BS = bs
		if len(m.Preds) == 0 {
			m.names, m.multi = p.LabelNames(), p.MultiLabel()
		} else if !slices.Equal(p.LabelNames(), m.names) || p.MultiLabel() != m.multi {
			return nil, &artifacts.Error{Path: path, Field: artifacts.MetaLabels, Err: artifacts.ErrFormat,
				Msg: fmt.Sprintf("labels %q (multi-label %v) differ from those of %s (%q, multi-label %v): serve classifiers of the same task together",
					p.LabelNames(), p.MultiLabel(), paths[0], m.names, m.multi)}
		}
		m.Preds = append(m.Preds, p)
	}
	return m, nil
}

// LabelNames are the classes, in the order of the probabilities.
func (m *Model) LabelNames() []string { return m.names }

// MultiLabel reports whether the classes are independent (sigmoid) labels.
func (m *Model) MultiLabel() bool { return m.multi }

// Paths are the artifacts served.
func (m *Model) Paths() []string {
	out := make([]string, len(m.Preds))
	for i, p := range m.Preds {
		out[i] = p.Path
	}
	return out
}

// Predict returns the class probabilities [len(texts), C] of raw texts:
// predict.Predictor.Texts for one model; for several, the mean of their
// probabilities computed as ensemble.Average does with equal weights
// (weights 1/n in float64, a float64 sum in model order, rounded to
// float32 once), so the numbers are those of 'ensemble' over the models'
// predictions.
func (m *Model) Predict(ctx context.Context, texts []string) ([]float32, error) {
	if len(m.Preds) == 1 {
		return m.Preds[0].Texts(ctx, texts)
	}
	all := make([][]float32, len(m.Preds))
	for k, p := range m.Preds {
		probs, err := p.Texts(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Path, err)
		}
		all[k] = probs
	}
	w := 1 / float64(len(m.Preds))
	out := make([]float32, len(all[0]))
	for i := range out {
		var acc float64
		for k := range all {
			acc += w * float64(all[k][i])
		}
		out[i] = float32(acc)
	}
	return out, nil
}
