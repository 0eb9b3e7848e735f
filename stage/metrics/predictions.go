package metrics

import "github.com/ulmfit-go/ulmfit/artifacts"

// FromPredictions converts a predictions artifact to a metrics input. Rows
// with Label -1 (single-label) or nil Labels (multi-label) are unlabeled.
func FromPredictions(p *artifacts.Predictions) Input {
	in := Input{LabelNames: p.LabelNames, MultiLabel: p.MultiLabel, Probs: make([][]float32, len(p.Rows))}
	if p.MultiLabel {
		in.LabelSets = make([][]int32, len(p.Rows))
	} else {
		in.Labels = make([]int32, len(p.Rows))
	}
	for i, r := range p.Rows {
		in.Probs[i] = r.Probs
		if p.MultiLabel {
			in.LabelSets[i] = r.Labels
		} else {
			in.Labels[i] = r.Label
		}
	}
	return in
}
