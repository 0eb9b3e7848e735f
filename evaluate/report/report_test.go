package report

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/stage/metrics"
)

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "train.jsonl")
	lines := `{"type":"step","step":1,"loss":2.0,"lr":[0.0001,0.001]}
{"event":"step","step":2,"loss":1.5,"lr":[0.0002,0.002],"tokens_per_sec":500}
{"event":"epoch","step":2,"epoch":1,"train_loss":1.7,"valid_loss":1.6,"valid_error":0.4}
{"event":"step","step":3,"loss":1.1,"lr":0.001}
{"event":"epoch","step":3,"epoch":2,"train_loss":1.2,"valid_loss":1.3,"extra":{"valid_error":0.3}}
`
	if err := os.WriteFile(log, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	curves, err := ReadCurves([]string{log})
	if err != nil {
		t.Fatal(err)
	}
	if len(curves.Loss) != 3 || len(curves.Score) != 1 || len(curves.LR) != 1 {
		t.Fatalf("curves: %d loss, %d score, %d lr", len(curves.Loss), len(curves.Score), len(curves.LR))
	}
	if s := curves.Score[0]; s.Name != "epoch.valid_error" || len(s.X) != 2 || s.X[1] != 3 || s.Y[1] != 0.3 {
		t.Fatalf("score series %+v", s)
	}
	m, err := metrics.Compute(metrics.Input{
		LabelNames: []string{"DESC", "ENTY", "a|b"},
		Labels:     []int32{0, 1, 2, 2},
		Probs:      [][]float32{{.8, .1, .1}, {.1, .8, .1}, {.1, .1, .8}, {.6, .2, .2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Predictions: "p.arrow", Logs: []string{log}}
	files, err := Build(src, m, curves)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for _, f := range files {
		got[f.Name] = f.Data
	}
	for _, name := range []string{"metrics.json", "report.md", "confusion.png", "loss.png", "error.png", "lr.png"} {
		if len(got[name]) == 0 {
			t.Fatalf("%s missing", name)
		}
		if strings.HasSuffix(name, ".png") {
			if _, err := png.Decode(bytes.NewReader(got[name])); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	md := string(got["report.md"])
	for _, want := range []string{"| error rate | 25.00% |", `| a\|b |`, "![confusion matrix](confusion.png)", "![loss](loss.png)"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	again, err := Build(src, m, curves)
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if !bytes.Equal(files[i].Data, again[i].Data) {
			t.Errorf("%s differs between two builds", files[i].Name)
		}
	}
}

func TestReadCurvesBadLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(p, []byte("{\"step\":1}\nnot json\n"), 0o644)
	_, err := ReadCurves([]string{p})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
}
