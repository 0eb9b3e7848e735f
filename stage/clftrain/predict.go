package clftrain

import (
	"context"
	"fmt"
	"math"

	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/metrics"
)

// Predict runs the classifier in evaluation mode over docs (token ids in
// the model's direction) in batches of bs sorted by length, and returns the
// class probabilities [len(docs), NClasses] in document order (softmax, or
// per-class sigmoid for multi-label models). Empty documents are given one
// pad token.
func Predict(ctx context.Context, m *nn.Classifier, docs [][]int32, bs int) ([]float32, error) {
	nc := m.Cfg.NClasses
	data := make([]Example, len(docs))
	for i, d := range docs {
		data[i] = Example{Tokens: d, Label: -1}
	}
	bt := &Batcher{Data: data, PadID: m.Cfg.Encoder.PadID, NClasses: nc}
	if bt.PadID < 0 {
		bt.PadID = 0
	}
	out := make([]float32, len(docs)*nc)
	buf := make([]float32, 0)
	for _, idx := range SortedOrder(Lens(data), bs) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := bt.Make(idx)
		if b.T == 0 {
			b.T = 1
			b.Tokens = make([]int32, b.B)
			for i := range b.Tokens {
				b.Tokens[i] = bt.PadID
			}
		}
		if _, err := m.Forward(b.Tokens, b.B, b.T, nil, false, nil); err != nil {
			return nil, err
		}
		if cap(buf) < b.B*nc {
			buf = make([]float32, b.B*nc)
		}
		buf = buf[:b.B*nc]
		m.Probs(buf)
		for i, j := range idx {
			copy(out[j*nc:(j+1)*nc], buf[i*nc:(i+1)*nc])
		}
	}
	return out, nil
}

// Eval is the result of Evaluate.
type Eval struct {
	Probs []float32 // [N, NClasses], document order
	Loss  float64   // mean NLL (single-label) or mean per-label BCE (multi-label), from the probabilities
	// Error is the error rate (single-label) or 1 - micro-F1 (multi-label)
	// over the labeled documents.
	Error float64
	N     int // labeled documents scored
}

// Evaluate predicts the labeled examples and scores them. Unlabeled
// examples (Label -1 and no Labels) are predicted but not scored.
func Evaluate(ctx context.Context, m *nn.Classifier, data []Example, bs int) (*Eval, error) {
	docs := make([][]int32, len(data))
	for i, d := range data {
		docs[i] = d.Tokens
	}
	probs, err := Predict(ctx, m, docs, bs)
	if err != nil {
		return nil, err
	}
	nc := m.Cfg.NClasses
	ev := &Eval{Probs: probs}
	const floor = 1e-15
	var loss float64
	if m.Cfg.MultiLabel {
		var tp, fp, fn int
		truth := make([]bool, nc)
		for i, d := range data {
			if d.Labels == nil {
				continue
			}
			clear(truth)
			for _, c := range d.Labels {
				if c < 0 || int(c) >= nc {
					return nil, fmt.Errorf("document %d: label %d outside [0,%d)", i, c, nc)
				}
				truth[c] = true
			}
			for j, pv := range probs[i*nc : (i+1)*nc] {
				p := float64(pv)
				pred := p >= 0.5
				if truth[j] {
					loss -= math.Log(max(p, floor))
				} else {
					loss -= math.Log(max(1-p, floor))
				}
				switch {
				case pred && truth[j]:
					tp++
				case pred:
					fp++
				case truth[j]:
					fn++
				}
			}
			ev.N++
		}
		if ev.N > 0 {
			ev.Loss = loss / float64(ev.N*nc)
			f1 := 0.0
			if tp > 0 {
				f1 = 2 * float64(tp) / float64(2*tp+fp+fn)
			}
			ev.Error = 1 - f1
		}
		return ev, nil
	}
	wrong := 0
	for i, d := range data {
		if d.Label < 0 {
			continue
		}
		if int(d.Label) >= nc {
			return nil, fmt.Errorf("document %d: label %d outside [0,%d)", i, d.Label, nc)
		}
		p := probs[i*nc : (i+1)*nc]
		loss -= math.Log(max(float64(p[d.Label]), floor))
		if metrics.Argmax(p) != int(d.Label) {
			wrong++
		}
		ev.N++
	}
	if ev.N > 0 {
		ev.Loss = loss / float64(ev.N)
		ev.Error = float64(wrong) / float64(ev.N)
	}
	return ev, nil
}

// ClassWeights returns per-class loss weights. "none" or "" gives nil; "auto"
// gives n/(C*n_c) (scikit-learn's "balanced"; classes absent from the data
// get weight 1); otherwise a comma-separated list of C non-negative numbers.
func ClassWeights(spec string, data []Example, nc int, multi bool) ([]float32, error) {
	switch spec {
	case "", "none":
		return nil, nil
	case "auto":
		counts := make([]int, nc)
		n := 0
		for _, d := range data {
			if multi {
				for _, c := range d.Labels {
					counts[c]++
					n++
				}
			} else if d.Label >= 0 {
				counts[d.Label]++
				n++
			}
		}
		w := make([]float32, nc)
		for c, k := range counts {
			w[c] = 1
			if k > 0 {
				w[c] = float32(float64(n) / float64(nc*k))
			}
		}
		return w, nil
	}
	var w []float32
	for i, f := range splitComma(spec) {
		var v float64
		if _, err := fmt.Sscanf(f, "%g", &v); err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("class weight %d %q: want a number >= 0", i+1, f)
		}
		w = append(w, float32(v))
	}
	if len(w) != nc {
		return nil, fmt.Errorf("%d class weights for %d classes (give one per label, in label order, or auto|none)", len(w), nc)
	}
	return w, nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
