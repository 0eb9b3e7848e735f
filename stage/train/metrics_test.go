package train

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestMetricsWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	m, err := OpenMetrics(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Write(Record{Type: "step", Step: 3, Epoch: 1, Loss: Ptr(2.5), PPL: Ptr(math.Exp(2.5)), LR: Floats([]float64{1e-3, 2e-3})}); err != nil {
		t.Fatal(err)
	}
	if err := m.Write(Record{Type: "step", Step: 4, Loss: Ptr(math.NaN())}); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// Appending keeps earlier lines.
	m, err = OpenMetrics(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteAny(map[string]any{"type": "summary", "tokens": 10}); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	if recs[0]["loss"] != 2.5 || recs[0]["step"] != 3.0 || len(recs[0]["lr"].([]any)) != 2 {
		t.Errorf("record 0 = %v", recs[0])
	}
	if v, ok := recs[1]["loss"]; !ok || v != nil {
		t.Errorf("NaN loss should be null, got %v (present %v)", v, ok)
	}
	if recs[2]["type"] != "summary" {
		t.Errorf("record 2 = %v", recs[2])
	}

	var nilm *MetricsWriter
	if err := nilm.Write(Record{}); err != nil || nilm.Close() != nil {
		t.Errorf("nil writer should drop writes")
	}
	if w, err := OpenMetrics("", false); w != nil || err != nil {
		t.Errorf("OpenMetrics(\"\") = %v, %v; want nil, nil", w, err)
	}
}
