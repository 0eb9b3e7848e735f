package artifacts

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFirstNonFinite(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	tests := []struct {
		data []float32
		want int
	}{
		{nil, -1},
		{[]float32{0, -0, 1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}, -1},
		{[]float32{1, inf}, 1},
		{[]float32{-inf}, 0},
		{[]float32{2, 3, nan, inf}, 2},
		{[]float32{math.Float32frombits(0x7f800001)}, 0}, // a signalling NaN
	}
	for _, tt := range tests {
		if got := FirstNonFinite(tt.data); got != tt.want {
			t.Errorf("FirstNonFinite(%v) = %d, want %d", tt.data, got, tt.want)
		}
	}
}

// TestWriteModelRefusesNonFinite: a model with a NaN or ±Inf anywhere (a weight,
// an optimizer moment) is not written, and the file already at the path stays.
func TestWriteModelRefusesNonFinite(t *testing.T) {
	tests := []struct {
		name   string
		poison func(m *Model)
		want   string
	}{
		{"weight +Inf", func(m *Model) { m.Tensors[0].Data[3] = float32(math.Inf(1)) }, "encoder.weight[3] = +Inf"},
		{"weight NaN", func(m *Model) { m.Tensors[2].Data[0] = float32(math.NaN()) }, "scalar[0] = NaN"},
		{"moment -Inf", func(m *Model) { m.OptState[0].Data[39] = float32(math.Inf(-1)) }, "adam.m/encoder.weight[39] = -Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.arrow")
			if err := WriteModel(path, testModel()); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m := testModel()
			tt.poison(m)
			err = WriteModel(path, m)
			if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("WriteModel = %v, want an ErrNonFinite naming %q", err, tt.want)
			}
			var nf *NonFiniteError
			if !errors.As(err, &nf) {
				t.Errorf("%v is no *NonFiniteError", err)
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("the file written before changed or went (%v)", err)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("files left: %v", entries)
			}
		})
	}
}

func TestWritePredictionsRefusesNonFinite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.arrow")
	p := &Predictions{Lineage: testLineage(KindPredictions), LabelNames: []string{"a", "b"},
		Rows: []Prediction{{ID: 1, Label: 0, Probs: []float32{0.5, 0.5}, Pred: 0}, {ID: 2, Label: 1, Probs: []float32{float32(math.NaN()), 1}, Pred: 1}}}
	err := WritePredictions(path, p)
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "row 1 (id 2)") {
		t.Fatalf("WritePredictions = %v, want an ErrNonFinite naming row 1 (id 2)", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s was written", path)
	}
}
