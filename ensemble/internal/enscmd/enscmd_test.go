package enscmd

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/ulmfit-go/ulmfit/artifacts/cli/clitest"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/clftest"
	"github.com/ulmfit-go/ulmfit/stage/clftrain"
	"github.com/ulmfit-go/ulmfit/stage/metrics"
)

func writePreds(t *testing.T, path string, names []string, rows []artifacts.Prediction) {
	t.Helper()
	p := &artifacts.Predictions{
		Lineage:    artifacts.Lineage{Kind: artifacts.KindPredictions, Producer: "test"},
		LabelNames: names,
		Rows:       rows,
	}
	if err := artifacts.WritePredictions(path, p); err != nil {
		t.Fatal(err)
	}
}

func runCmd(args ...string) (int, string) {
	var stderr bytes.Buffer
	code := cli.Run(context.Background(), "ensemble", args, &stderr, func(ctx context.Context, a []string) error {
		return Run(ctx, "", "", a, Options{})
	})
	return code, stderr.String()
}

func TestEnsemble(t *testing.T) {
	dir := t.TempDir()
	names := []string{"neg", "pos"}
	// fwd gets row 1 wrong, bwd gets row 2 wrong; the average gets both right.
	fwd := []artifacts.Prediction{
		{ID: 10, Label: 0, Probs: []float32{0.9, 0.1}, Pred: 0},
		{ID: 11, Label: 1, Probs: []float32{0.6, 0.4}, Pred: 0},
		{ID: 12, Label: 1, Probs: []float32{0.1, 0.9}, Pred: 1},
		{ID: 13, Label: -1, Probs: []float32{0.5, 0.5}, Pred: 0},
	}
	bwd := []artifacts.Prediction{
		{ID: 10, Label: 0, Probs: []float32{0.7, 0.3}, Pred: 0},
		{ID: 11, Label: 1, Probs: []float32{0.2, 0.8}, Pred: 1},
		{ID: 12, Label: 1, Probs: []float32{0.55, 0.45}, Pred: 0},
		{ID: 13, Label: -1, Probs: []float32{0.3, 0.7}, Pred: 1},
	}
	a, b := filepath.Join(dir, "fwd.arrow"), filepath.Join(dir, "bwd.arrow")
	writePreds(t, a, names, fwd)
	writePreds(t, b, names, bwd)
	out := filepath.Join(dir, "ens.arrow")
	code, msg := runCmd(a, b, "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	got, err := artifacts.ReadPredictions(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.Producer != "ensemble" || len(got.Inputs) != 2 {
		t.Errorf("lineage: producer %q, %d inputs", got.Producer, len(got.Inputs))
	}
	for i, r := range got.Rows {
		for j := range r.Probs {
			want := (fwd[i].Probs[j] + bwd[i].Probs[j]) / 2
			if math.Abs(float64(r.Probs[j]-want)) > 1e-6 {
				t.Fatalf("row %d probs %v, want mean of %v and %v", i, r.Probs, fwd[i].Probs, bwd[i].Probs)
			}
		}
		if r.ID != fwd[i].ID || r.Label != fwd[i].Label {
			t.Fatalf("row %d: id %d label %d", i, r.ID, r.Label)
		}
	}
	if got.Rows[1].Pred != 1 || got.Rows[2].Pred != 1 {
		t.Errorf("preds %d %d, want 1 1", got.Rows[1].Pred, got.Rows[2].Pred)
	}
	js, err := os.ReadFile(filepath.Join(dir, "ens.metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Inputs []struct {
			Metrics struct {
				ErrorRate float64 `json:"error_rate"`
			} `json:"metrics"`
		} `json:"inputs"`
		Ensemble struct {
			ErrorRate float64 `json:"error_rate"`
			N         int     `json:"n"`
		} `json:"ensemble"`
	}
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	if m.Ensemble.N != 3 || m.Ensemble.ErrorRate != 0 || math.Abs(m.Inputs[0].Metrics.ErrorRate-1.0/3) > 1e-9 {
		t.Errorf("metrics %s", js)
	}

	// Weights: all weight on fwd reproduces fwd's probabilities.
	code, msg = runCmd(a, b, "--out", out, "--weights", "1,0", "-q")
	if code != 0 {
		t.Fatalf("weights: exit %d: %s", code, msg)
	}
	got, _ = artifacts.ReadPredictions(out)
	if got.Rows[1].Probs[0] != 0.6 {
		t.Errorf("weights 1,0: probs %v", got.Rows[1].Probs)
	}
	// Same inputs, same bytes.
	out2 := filepath.Join(dir, "ens2.arrow")
	runCmd(a, b, "--out", out2, "--weights", "1,0", "-q")
	b1, _ := os.ReadFile(out)
	b2, _ := os.ReadFile(out2)
	if !bytes.Equal(b1, b2) {
		t.Error("two runs gave different bytes")
	}
	// The summary line (without -q) ends with the peak RSS.
	say := clitest.CaptureStderr(t, func() { code, _ = runCmd(a, b, "--out", filepath.Join(dir, "ens3.arrow")) })
	if code != 0 || !regexp.MustCompile(`^ensemble: 2 inputs, 4 rows -> .*ensemble error 0\.00%, peak RSS \d+ MiB\n$`).MatchString(say) {
		t.Errorf("summary: exit %d, %q", code, say)
	}
}

func TestEnsembleBadInput(t *testing.T) {
	dir := t.TempDir()
	names := []string{"neg", "pos"}
	row := func(id int64, label int32) artifacts.Prediction {
		return artifacts.Prediction{ID: id, Label: label, Probs: []float32{0.5, 0.5}, Pred: 0}
	}
	base := filepath.Join(dir, "base.arrow")
	writePreds(t, base, names, []artifacts.Prediction{row(1, 0), row(2, 1), row(3, 0)})
	ids := filepath.Join(dir, "ids.arrow")
	writePreds(t, ids, names, []artifacts.Prediction{row(1, 0), row(7, 1), row(3, 0)})
	labels := filepath.Join(dir, "labels.arrow")
	writePreds(t, labels, names, []artifacts.Prediction{row(1, 0), row(2, 1), row(3, 1)})
	short := filepath.Join(dir, "short.arrow")
	writePreds(t, short, names, []artifacts.Prediction{row(1, 0), row(2, 1)})
	other := filepath.Join(dir, "other.arrow")
	writePreds(t, other, []string{"a", "b"}, []artifacts.Prediction{row(1, 0), row(2, 1), row(3, 0)})
	vocab := filepath.Join(dir, "vocab.arrow")
	if err := artifacts.WriteVocab(vocab, artifacts.Lineage{Kind: artifacts.KindVocab, Producer: "test"},
		&artifacts.Vocab{Tokens: []string{"xxunk", "xxpad"}, Counts: []int64{0, 0}}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.arrow")
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"ids", []string{base, ids}, []string{"base.arrow", "ids.arrow", "row 1", "id 2 vs 7"}},
		{"labels", []string{base, labels}, []string{"labels.arrow", "row 2", "true label 0 vs 1"}},
		{"rows", []string{base, short}, []string{"short.arrow", "3 vs 2 rows"}},
		{"names", []string{base, other}, []string{"other.arrow", "label names differ"}},
		{"kind", []string{base, vocab}, []string{"vocab.arrow"}},
		{"one input", []string{base}, []string{"two or more"}},
		{"weights", []string{base, base, "--weights", "1"}, []string{"1 weights for 2"}},
		{"negative weight", []string{base, base, "--weights", "1,-1"}, []string{">= 0"}},
		{"missing", []string{base, filepath.Join(dir, "nope.arrow")}, []string{"nope.arrow"}},
	} {
		code, msg := runCmd(append(c.args, "--out", out)...)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2 (%s)", c.name, code, msg)
		}
		if strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Errorf("%s: error is not one line: %q", c.name, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q lacks %q", c.name, msg, w)
			}
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output was written despite the errors")
	}
}

// predictions predicts the single-label tokens artifact data with the
// classifier clf as 'evaluate --model clf --data data' does (ensemble may
// not import evaluate's predictor: no stage imports another).
func predictions(t *testing.T, clf, data string) *artifacts.Predictions {
	t.Helper()
	m, am, err := clftrain.LoadClassifier(clf, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	d, err := clftrain.LoadData(data, clftrain.Target{Vocab: am.Vocab, LabelNames: am.LabelNames, Backward: artifacts.IsBackward(am.Direction)})
	if err != nil {
		t.Fatal(err)
	}
	docs := make([][]int32, len(d.Examples))
	for i, ex := range d.Examples {
		docs[i] = ex.Tokens
	}
	probs, err := clftrain.Predict(context.Background(), m, docs, 64)
	if err != nil {
		t.Fatal(err)
	}
	nc := m.Cfg.NClasses
	out := &artifacts.Predictions{LabelNames: am.LabelNames, Rows: make([]artifacts.Prediction, len(docs))}
	for i, ex := range d.Examples {
		pr := probs[i*nc : (i+1)*nc : (i+1)*nc]
		out.Rows[i] = artifacts.Prediction{ID: d.IDs[i], Label: ex.Label, Probs: pr, Pred: int32(metrics.Argmax(pr))}
	}
	return out
}

// TestFwdBwdTREC ensembles real forward and backward TREC-6 classifiers'
// predictions of the test set.
func TestFwdBwdTREC(t *testing.T) {
	dir := t.TempDir()
	train, test := clftest.TREC(t, dir, 0, 0)
	var paths []string
	var preds []*artifacts.Predictions
	for i, d := range []string{"fwd", "bwd"} {
		clf := filepath.Join(dir, d+".clf.arrow")
		clftest.Classifier(t, clf, train, d, 2, uint64(i+1))
		pr := predictions(t, clf, test)
		pr.Lineage = artifacts.Lineage{Kind: artifacts.KindPredictions, Producer: "test"}
		path := filepath.Join(dir, d+".preds.arrow")
		if err := artifacts.WritePredictions(path, pr); err != nil {
			t.Fatal(err)
		}
		paths, preds = append(paths, path), append(preds, pr)
	}
	out := filepath.Join(dir, "ens.arrow")
	code, msg := runCmd(paths[0], paths[1], "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	t.Log(strings.TrimSpace(msg))
	ens, err := artifacts.ReadPredictions(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range ens.Rows {
		for c := range r.Probs {
			want := (preds[0].Rows[i].Probs[c] + preds[1].Rows[i].Probs[c]) / 2
			if math.Abs(float64(r.Probs[c]-want)) > 1e-6 {
				t.Fatalf("row %d: %v is not the mean of %v and %v", i, r.Probs, preds[0].Rows[i].Probs, preds[1].Rows[i].Probs)
			}
		}
	}
	var m struct {
		Inputs []struct {
			Metrics struct {
				ErrorRate float64 `json:"error_rate"`
			} `json:"metrics"`
		} `json:"inputs"`
		Ensemble struct {
			ErrorRate float64 `json:"error_rate"`
			N         int     `json:"n"`
		} `json:"ensemble"`
	}
	if err := json.Unmarshal(ens.Metrics, &m); err != nil {
		t.Fatal(err)
	}
	// What averaging guarantees (and an accuracy claim would not, whatever
	// the GEMM's rounding): where both inputs predict the same class the
	// ensemble does too, so it is right wherever both are right and wrong
	// wherever both agree on a wrong class. Its error lies between those two
	// rates.
	var bothRight, agreeWrong, wrong int
	for i, r := range ens.Rows {
		a, b := preds[0].Rows[i].Pred, preds[1].Rows[i].Pred
		if a == b && r.Pred != a {
			t.Fatalf("row %d: both inputs predict %d, the ensemble %d (probs %v)", i, a, r.Pred, r.Probs)
		}
		if a == r.Label && b == r.Label {
			bothRight++
		}
		if a == b && a != r.Label {
			agreeWrong++
		}
		if r.Pred != r.Label {
			wrong++
		}
	}
	n := len(ens.Rows)
	lo, hi := float64(agreeWrong)/float64(n), 1-float64(bothRight)/float64(n)
	if m.Ensemble.N != 500 || math.Abs(m.Ensemble.ErrorRate-float64(wrong)/float64(n)) > 1e-9 || m.Ensemble.ErrorRate < lo || m.Ensemble.ErrorRate > hi {
		t.Errorf("ensemble error %.3f (n=%d; %d rows wrong) outside [%.3f, %.3f]: the rows where the inputs agree on a wrong class, and all but those where both are right (inputs %.3f, %.3f)",
			m.Ensemble.ErrorRate, m.Ensemble.N, wrong, lo, hi, m.Inputs[0].Metrics.ErrorRate, m.Inputs[1].Metrics.ErrorRate)
	}
}
