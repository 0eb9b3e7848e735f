package artifacts

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	dir := t.TempDir()
	base := func() *Predictions {
		return &Predictions{
			Lineage:    Lineage{Kind: KindPredictions, Producer: "evaluate v1", Params: map[string]any{"bs": 64, "beta1": 0.7}},
			LabelNames: []string{"a", "b"},
			Rows: []Prediction{
				{ID: 1, Label: 0, Probs: []float32{0.9, 0.1}, Pred: 0},
				{ID: 2, Label: 1, Probs: []float32{0.3, 0.7}, Pred: 1},
				{ID: 3, Label: 1, Probs: []float32{0.4, 0.6}, Pred: 1},
			},
		}
	}
	write := func(name string, edit func(*Predictions)) string {
		p := base()
		edit(p)
		path := filepath.Join(dir, name)
		if err := WritePredictions(path, p); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := write("a.arrow", func(*Predictions) {})
	tests := []struct {
		name       string
		edit       func(*Predictions)
		data, meta []string // the Where of each difference
	}{
		{"same", func(*Predictions) {}, nil, nil},
		{"producer", func(p *Predictions) { p.Producer = "evaluate v2" }, nil, []string{"metadata " + MetaProducer}},
		{"renamed param", func(p *Predictions) { p.Params = map[string]any{"bs": 64, "betas": "0.7,0.99"} }, nil, []string{"param beta1", "param betas"}},
		{"one prob", func(p *Predictions) { p.Rows[2].Probs[1] = 0.61 }, []string{"column probs, batch 0, row 2"}, nil},
		{"rows", func(p *Predictions) { p.Rows = p.Rows[:2] }, []string{"batch 0 rows"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := write(strings.ReplaceAll(tt.name, " ", "-")+".arrow", tt.edit)
			d, err := Diff(a, b)
			if err != nil {
				t.Fatal(err)
			}
			where := func(ds []Difference) []string {
				var w []string
				for _, x := range ds {
					w = append(w, x.Where)
				}
				return w
			}
			if got := where(d.Data); strings.Join(got, ";") != strings.Join(tt.data, ";") {
				t.Errorf("data differences %q, want %q", got, tt.data)
			}
			if got := where(d.Meta); strings.Join(got, ";") != strings.Join(tt.meta, ";") {
				t.Errorf("metadata differences %q, want %q", got, tt.meta)
			}
			if d.Same() != (tt.data == nil && tt.meta == nil) {
				t.Errorf("Same() = %v", d.Same())
			}
		})
	}
	if _, err := Diff(a, filepath.Join(dir, "missing.arrow")); err == nil {
		t.Error("Diff with a missing file: no error")
	}
}
