package metrics

import (
	"math"
	"slices"
	"testing"
)

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("%s = %.8f, want %.8f", name, got, want)
	}
}

func TestSingleLabel(t *testing.T) {
	row := func(pred int) []float32 {
		p := []float32{0.2, 0.2, 0.2}
		p[pred] = 0.6
		return p
	}
	in := Input{
		LabelNames: []string{"a", "b", "c"},
		Labels:     []int32{0, 0, 1, 2, 2, 2, -1},
		Probs:      [][]float32{row(0), row(1), row(1), row(2), row(2), row(0), row(1)},
	}
	r, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 6 || r.Unlabeled != 1 {
		t.Fatalf("n=%d unlabeled=%d", r.N, r.Unlabeled)
	}
	wantCM := [][]int{{1, 1, 0}, {0, 1, 0}, {1, 0, 2}}
	if !slices.EqualFunc(r.Confusion, wantCM, slices.Equal) {
		t.Fatalf("confusion %v, want %v", r.Confusion, wantCM)
	}
	near(t, "accuracy", r.Accuracy, 4.0/6)
	near(t, "error", r.ErrorRate, 2.0/6)
	near(t, "macro F1", r.MacroF1, (0.5+2.0/3+0.8)/3)
	near(t, "majority error", r.MajorityError, 0.5)
	near(t, "log loss", r.LogLoss, -(4*math.Log(0.6)+2*math.Log(0.2))/6)
	for i, w := range []Class{
		{Name: "a", Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 2, Predicted: 2},
		{Name: "b", Precision: 0.5, Recall: 1, F1: 2.0 / 3, Support: 1, Predicted: 2},
		{Name: "c", Precision: 1, Recall: 2.0 / 3, F1: 0.8, Support: 3, Predicted: 2},
	} {
		g := r.Classes[i]
		if g.Name != w.Name || g.Support != w.Support || g.Predicted != w.Predicted {
			t.Errorf("class %d: %+v, want %+v", i, g, w)
		}
		near(t, w.Name+" precision", g.Precision, w.Precision)
		near(t, w.Name+" recall", g.Recall, w.Recall)
		near(t, w.Name+" f1", g.F1, w.F1)
	}
}

func TestMultiLabel(t *testing.T) {
	in := Input{
		LabelNames: []string{"x", "y", "z"},
		MultiLabel: true,
		LabelSets:  [][]int32{{0, 2}, {1}, nil},
		Probs:      [][]float32{{0.9, 0.6, 0.4}, {0.1, 0.7, 0.2}, {0.5, 0.5, 0.5}},
	}
	r, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 2 || r.Unlabeled != 1 {
		t.Fatalf("n=%d unlabeled=%d", r.N, r.Unlabeled)
	}
	near(t, "micro F1", r.MicroF1, 2.0/3)
	near(t, "micro P", r.MicroPrecision, 2.0/3)
	near(t, "macro F1", r.MacroF1, 5.0/9)
	near(t, "hamming", r.HammingLoss, 2.0/6)
	near(t, "subset accuracy", r.Accuracy, 0.5)
	bce := -(math.Log(0.9) + math.Log(0.4) + math.Log(0.4) + math.Log(0.9) + math.Log(0.7) + math.Log(0.8)) / 6
	near(t, "log loss", r.LogLoss, bce)
	near(t, "y f1", r.Classes[1].F1, 2.0/3)
	near(t, "z recall", r.Classes[2].Recall, 0)
}

func TestBadInput(t *testing.T) {
	for name, in := range map[string]Input{
		"no names":    {Probs: [][]float32{{1}}, Labels: []int32{0}},
		"short row":   {LabelNames: []string{"a", "b"}, Probs: [][]float32{{1}}, Labels: []int32{0}},
		"label range": {LabelNames: []string{"a", "b"}, Probs: [][]float32{{1, 0}}, Labels: []int32{2}},
		"count":       {LabelNames: []string{"a", "b"}, Probs: [][]float32{{1, 0}}},
		"multi range": {LabelNames: []string{"a"}, MultiLabel: true, Probs: [][]float32{{1}}, LabelSets: [][]int32{{3}}},
	} {
		if _, err := Compute(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
