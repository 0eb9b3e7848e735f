// Package metrics computes classification metrics from predicted class
// probabilities: error rate, accuracy, macro-F1, per-class precision,
// recall and F1, the confusion matrix and log-loss for single-label
// problems; micro/macro F1, Hamming loss, subset accuracy and per-class
// scores for multi-label problems (a label is predicted when its
// probability is at least the threshold, 0.5 by default).
package metrics

import (
	"fmt"
	"math"
)

// Input is what the metrics are computed from. Probs has one row of
// len(LabelNames) probabilities per document. For single-label problems
// Labels holds the true class of each row (-1 = unlabeled, skipped); for
// multi-label problems LabelSets holds each row's positive classes (nil =
// unlabeled, skipped).
type Input struct {
	LabelNames []string
	MultiLabel bool
	Probs      [][]float32
	Labels     []int32
	LabelSets  [][]int32
	// Threshold is the multi-label decision threshold (0 means 0.5).
	Threshold float64
}

// Class holds the per-class scores.
type Class struct {
	Name      string  `json:"name"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`   // true documents of the class
	Predicted int     `json:"predicted"` // documents predicted as the class
}

// Report is the full set of metrics. Single-label fields and multi-label
// fields are both present in the struct; the ones that do not apply are
// omitted from JSON.
type Report struct {
	MultiLabel bool    `json:"multi_label"`
	N          int     `json:"n"`         // labeled rows scored
	Unlabeled  int     `json:"unlabeled"` // rows skipped for having no label
	Accuracy   float64 `json:"accuracy"`  // single-label; subset accuracy for multi-label
	ErrorRate  float64 `json:"error_rate"`
	MacroF1    float64 `json:"macro_f1"`
	LogLoss    float64 `json:"log_loss"` // mean NLL (single) or mean per-label BCE (multi)
	// Single-label: Confusion[i][j] counts rows of true class i predicted j.
	Confusion [][]int `json:"confusion,omitempty"`
	// Majority-class baseline error on the same rows (single-label).
	MajorityError float64 `json:"majority_error"`
	// Multi-label only.
	MicroPrecision float64 `json:"micro_precision,omitempty"`
	MicroRecall    float64 `json:"micro_recall,omitempty"`
	MicroF1        float64 `json:"micro_f1,omitempty"`
	HammingLoss    float64 `json:"hamming_loss,omitempty"`
	Threshold      float64 `json:"threshold,omitempty"`
	Classes        []Class `json:"classes"`
}

// probFloor clips probabilities before taking logs, as scikit-learn does.
const probFloor = 1e-15

// Argmax returns the index of the largest value (the first on ties).
func Argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// Compute scores the input. It fails when the shapes disagree or a label is
// out of range.
func Compute(in Input) (*Report, error) {
	c := len(in.LabelNames)
	if c == 0 {
		return nil, fmt.Errorf("no label names")
	}
	for i, p := range in.Probs {
		if len(p) != c {
			return nil, fmt.Errorf("row %d: %d probabilities, want %d (one per label name)", i, len(p), c)
		}
	}
	if in.MultiLabel {
		return multi(in, c)
	}
	return single(in, c)
}

func single(in Input, c int) (*Report, error) {
	if len(in.Labels) != len(in.Probs) {
		return nil, fmt.Errorf("%d labels for %d probability rows", len(in.Labels), len(in.Probs))
	}
	r := &Report{Confusion: make([][]int, c)}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, c)
	}
	var nll float64
	for i, y := range in.Labels {
		if y < 0 {
			r.Unlabeled++
			continue
		}
		if int(y) >= c {
			return nil, fmt.Errorf("row %d: label %d out of range [0,%d)", i, y, c)
		}
		p := in.Probs[i]
		r.Confusion[y][Argmax(p)]++
		nll -= math.Log(max(float64(p[y]), probFloor))
		r.N++
	}
	correct, maxSupport := 0, 0
	r.Classes = make([]Class, c)
	var f1sum float64
	for k := 0; k < c; k++ {
		tp := r.Confusion[k][k]
		support, predicted := 0, 0
		for j := 0; j < c; j++ {
			support += r.Confusion[k][j]
			predicted += r.Confusion[j][k]
		}
		correct += tp
		maxSupport = max(maxSupport, support)
		r.Classes[k] = score(in.LabelNames[k], tp, predicted, support)
		f1sum += r.Classes[k].F1
	}
	if r.N > 0 {
		r.Accuracy = float64(correct) / float64(r.N)
		r.ErrorRate = 1 - r.Accuracy
		r.LogLoss = nll / float64(r.N)
		r.MacroF1 = f1sum / float64(c)
		r.MajorityError = 1 - float64(maxSupport)/float64(r.N)
	}
	return r, nil
}

func multi(in Input, c int) (*Report, error) {
	if len(in.LabelSets) != len(in.Probs) {
		return nil, fmt.Errorf("%d label sets for %d probability rows", len(in.LabelSets), len(in.Probs))
	}
	th := in.Threshold
	if th == 0 {
		th = 0.5
	}
	r := &Report{MultiLabel: true, Threshold: th}
	tp := make([]int, c)
	support := make([]int, c)
	predicted := make([]int, c)
	var bce float64
	wrong, exact := 0, 0
	truth := make([]bool, c)
	for i, set := range in.LabelSets {
		if set == nil {
			r.Unlabeled++
			continue
		}
		clear(truth)
		for _, y := range set {
			if y < 0 || int(y) >= c {
				return nil, fmt.Errorf("row %d: label %d out of range [0,%d)", i, y, c)
			}
			truth[y] = true
		}
		allRight := true
		for k, pk := range in.Probs[i] {
			p := float64(pk)
			pred := p >= th
			if truth[k] {
				support[k]++
				bce -= math.Log(max(p, probFloor))
			} else {
				bce -= math.Log(max(1-p, probFloor))
			}
			if pred {
				predicted[k]++
			}
			if pred && truth[k] {
				tp[k]++
			}
			if pred != truth[k] {
				wrong++
				allRight = false
			}
		}
		if allRight {
			exact++
		}
		r.N++
	}
	r.Classes = make([]Class, c)
	var f1sum float64
	sumTP, sumPred, sumSup := 0, 0, 0
	for k := 0; k < c; k++ {
		r.Classes[k] = score(in.LabelNames[k], tp[k], predicted[k], support[k])
		f1sum += r.Classes[k].F1
		sumTP += tp[k]
		sumPred += predicted[k]
		sumSup += support[k]
	}
	s := score("", sumTP, sumPred, sumSup)
	r.MicroPrecision, r.MicroRecall, r.MicroF1 = s.Precision, s.Recall, s.F1
	if r.N > 0 {
		r.Accuracy = float64(exact) / float64(r.N)
		r.ErrorRate = 1 - r.Accuracy
		r.HammingLoss = float64(wrong) / float64(r.N*c)
		r.LogLoss = bce / float64(r.N*c)
		r.MacroF1 = f1sum / float64(c)
	}
	return r, nil
}

// score computes precision, recall and F1 from counts; a ratio with a zero
// denominator is 0 (scikit-learn's zero_division=0).
func score(name string, tp, predicted, support int) Class {
	cl := Class{Name: name, Support: support, Predicted: predicted}
	if predicted > 0 {
		cl.Precision = float64(tp) / float64(predicted)
	}
	if support > 0 {
		cl.Recall = float64(tp) / float64(support)
	}
	if cl.Precision+cl.Recall > 0 {
		cl.F1 = 2 * cl.Precision * cl.Recall / (cl.Precision + cl.Recall)
	}
	return cl
}
