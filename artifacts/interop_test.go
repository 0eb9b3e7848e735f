package artifacts

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// pyarrowScript reads each artifact named on the command line with pyarrow
// and prints, per file, its kind, row count and first row as JSON.
const pyarrowScript = `
import json, sys
import pyarrow.ipc as ipc
out = []
for path in sys.argv[1:]:
    t = ipc.open_file(path).read_all()
    md = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    rows = t.to_pylist()
    out.append({"kind": md["ulmfit.kind"], "rows": t.num_rows, "first": rows[0] if rows else None,
                "columns": t.column_names})
print(json.dumps(out))
`

// TestPyarrowReads checks that pyarrow, with no ulmfit code, reads every
// kind of artifact. It is skipped when pyarrow is not installed.
func TestPyarrowReads(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import pyarrow").Run(); err != nil {
		t.Skip("pyarrow is not installed for /usr/bin/python3")
	}
	dir := t.TempDir()
	tp, vp, mp, pp := filepath.Join(dir, "t.arrow"), filepath.Join(dir, "v.arrow"), filepath.Join(dir, "m.arrow"), filepath.Join(dir, "p.arrow")
	writeTestTokens(t, tp, testDocs(10))
	if err := WriteVocab(vp, Lineage{}, testVocab()); err != nil {
		t.Fatal(err)
	}
	if err := WriteModel(mp, testModel()); err != nil {
		t.Fatal(err)
	}
	if err := WritePredictions(pp, testPredictions(3)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "-c", pyarrowScript, tp, vp, mp, pp).CombinedOutput()
	if err != nil {
		t.Fatalf("pyarrow: %v\n%s", err, out)
	}
	var got []struct {
		Kind    string         `json:"kind"`
		Rows    int            `json:"rows"`
		First   map[string]any `json:"first"`
		Columns []string       `json:"columns"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := []struct {
		kind string
		rows int
		cols []string
	}{
		{"tokens", 10, []string{"id", "label", "labels", "tokens"}},
		{"vocab", 10, []string{"token", "count"}},
		{"classifier", 5, []string{"name", "section", "shape", "data"}},
		{"predictions", 3, []string{"id", "label", "labels", "probs", "pred"}},
	}
	for i, w := range want {
		if got[i].Kind != w.kind || got[i].Rows != w.rows || !reflect.DeepEqual(got[i].Columns, w.cols) {
			t.Errorf("file %d: got %+v, want %+v", i, got[i], w)
		}
	}
	if tok := got[1].First["token"]; tok != "xxunk" {
		t.Errorf("vocab row 0: %v", got[1].First)
	}
	if name := got[2].First["name"]; name != "encoder.weight" {
		t.Errorf("model row 0: %v", got[2].First)
	}
	if probs, _ := got[3].First["probs"].([]any); len(probs) != 3 {
		t.Errorf("predictions row 0: %v", got[3].First)
	}
}

// polarsScript reads each artifact with nodejs-polars (Rust Arrow, an
// implementation independent of arrow-go) and prints shape, columns and the
// first row of each as JSON.
const polarsScript = `
const pl = require("nodejs-polars");
const fs = require("fs");
const out = [];
for (const path of process.argv.slice(1)) {
  const df = pl.readIPC(fs.readFileSync(path));
  out.push({rows: df.height, columns: df.columns, first: df.height ? df.head(1).toRecords()[0] : null});
}
console.log(JSON.stringify(out));
`

// TestPolarsReads checks that polars reads every kind of artifact. It runs
// when node can require nodejs-polars (e.g. NODE_PATH=DIR/node_modules after
// 'npm i -E nodejs-polars@0.25.2 nodejs-polars-linux-x64-gnu@0.25.2' in DIR)
// and is skipped otherwise.
func TestPolarsReads(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if err := exec.Command("node", "-e", `require("nodejs-polars")`).Run(); err != nil {
		t.Skip("node with nodejs-polars is not available (set NODE_PATH)")
	}
	dir := t.TempDir()
	tp, vp, mp, pp := filepath.Join(dir, "t.arrow"), filepath.Join(dir, "v.arrow"), filepath.Join(dir, "m.arrow"), filepath.Join(dir, "p.arrow")
	docs := testDocs(9000) // several record batches
	writeTestTokens(t, tp, docs)
	if err := WriteVocab(vp, Lineage{}, testVocab()); err != nil {
		t.Fatal(err)
	}
	if err := WriteModel(mp, testModel()); err != nil {
		t.Fatal(err)
	}
	if err := WritePredictions(pp, testPredictions(3)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("node", "-e", polarsScript, tp, vp, mp, pp).CombinedOutput()
	if err != nil {
		t.Fatalf("polars: %v\n%s", err, out)
	}
	var got []struct {
		Rows    int            `json:"rows"`
		Columns []string       `json:"columns"`
		First   map[string]any `json:"first"`
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got) != 4 {
		t.Fatalf("%v: %s", err, out)
	}
	wantRows := []int{9000, 10, 5, 3}
	wantCols := [][]string{{"id", "label", "labels", "tokens"}, {"token", "count"}, {"name", "section", "shape", "data"}, {"id", "label", "labels", "probs", "pred"}}
	for i := range got {
		if got[i].Rows != wantRows[i] || !reflect.DeepEqual(got[i].Columns, wantCols[i]) {
			t.Errorf("file %d: %d rows %v, want %d %v", i, got[i].Rows, got[i].Columns, wantRows[i], wantCols[i])
		}
	}
	if got[1].First["token"] != "xxunk" || got[2].First["name"] != "encoder.weight" {
		t.Errorf("first rows: %v / %v", got[1].First, got[2].First)
	}
	if probs, _ := got[3].First["probs"].([]any); len(probs) != 3 || probs[2] != 0.5 {
		t.Errorf("predictions row 0: %v", got[3].First)
	}
}
