package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
)

// pipeline writes raw.csv -> vocab -> tokens -> lm -> predictions in dir
// and returns the paths.
func pipeline(t *testing.T, dir string) map[string]string {
	t.Helper()
	p := map[string]string{
		"raw": filepath.Join(dir, "raw.csv"), "vocab": filepath.Join(dir, "vocab.arrow"),
		"tokens": filepath.Join(dir, "tokens.arrow"), "lm": filepath.Join(dir, "lm.arrow"), "preds": filepath.Join(dir, "preds.arrow"),
	}
	if err := os.WriteFile(p["raw"], []byte("label,text\npos,a good movie\nneg,a bad movie\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := func(path string) artifacts.Input {
		i, err := artifacts.InputOf(path)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	v := &artifacts.Vocab{Tokens: []string{"xxunk", "xxpad", "xxbos", "a", "good", "bad", "movie"}, Counts: []int64{0, 0, 2, 2, 1, 1, 2}}
	if err := artifacts.WriteVocab(p["vocab"], artifacts.Lineage{Producer: "tokenize test", Inputs: []artifacts.Input{in(p["raw"])}}, v); err != nil {
		t.Fatal(err)
	}
	w, err := artifacts.NewTokensWriter(p["tokens"], &artifacts.TokensHeader{
		Lineage:    artifacts.Lineage{Producer: "tokenize test", Params: map[string]any{"min_freq": 1}, Inputs: []artifacts.Input{in(p["raw"]), in(p["vocab"])}},
		Vocab:      v,
		LabelNames: []string{"neg", "pos"},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(artifacts.Doc{ID: 0, Label: 1, Tokens: []int32{2, 3, 4, 6}})
	w.Write(artifacts.Doc{ID: 1, Label: 0, Tokens: []int32{2, 3, 5, 6}})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m := &artifacts.Model{
		Lineage: artifacts.Lineage{Kind: artifacts.KindLM, Producer: "pretrain test", Inputs: []artifacts.Input{in(p["tokens"])}},
		Config:  json.RawMessage(`{"emb":2}`), Vocab: v,
		Tensors:  []artifacts.Tensor{{Name: "encoder.weight", Shape: []int{7, 2}, Data: make([]float32, 14)}, {Name: "decoder.bias", Shape: []int{7}, Data: []float32{1, 2, 3, 4, 5, 6, 7}}},
		OptState: []artifacts.Tensor{{Name: "adam.m/decoder.bias", Shape: []int{7}, Data: make([]float32, 7)}},
	}
	if err := artifacts.WriteModel(p["lm"], m); err != nil {
		t.Fatal(err)
	}
	pr := &artifacts.Predictions{
		Lineage:    artifacts.Lineage{Producer: "evaluate test", Inputs: []artifacts.Input{in(p["lm"]), in(p["tokens"])}},
		LabelNames: []string{"neg", "pos"},
		Rows:       []artifacts.Prediction{{ID: 0, Label: 1, Probs: []float32{0.1, 0.9}, Pred: 1}, {ID: 1, Label: 0, Probs: []float32{0.7, 0.3}, Pred: 0}},
	}
	if err := artifacts.WritePredictions(p["preds"], pr); err != nil {
		t.Fatal(err)
	}
	return p
}

// exec runs the command in-process and returns exit code, stdout, stderr.
func exec(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), "artifacts", args, &errb, func(ctx context.Context, a []string) error {
		return run(ctx, a, &out)
	})
	return code, out.String(), errb.String()
}

func TestShow(t *testing.T) {
	p := pipeline(t, t.TempDir())
	tests := []struct {
		file string
		want []string
	}{
		{"tokens", []string{"kind:      tokens (format 1)", "producer:  tokenize test", "2 rows", "tokens list<item: int32", "ulmfit.labels = [\"neg\",\"pos\"]", "raw.csv  [raw]", "vocab.arrow  [vocab]", "id 0  label pos  4 tokens: xxbos a good movie", "id 1  label neg  4 tokens: xxbos a bad movie"}},
		{"vocab", []string{"kind:      vocab", "7 rows", `3  "a"  count 2`}},
		{"lm", []string{"kind:      lm", "ulmfit.config = {\"emb\":2}", "21 parameters in 2 tensors, direction fwd, vocab 7, 1 optimizer-state tensors", "decoder.bias", "[7]", "[1 2 3 4 5 …]", "[opt] adam.m/decoder.bias"}},
		{"preds", []string{"kind:      predictions", "id 0  label pos  pred pos  probs {neg 0.100, pos 0.900}"}},
	}
	for _, tt := range tests {
		code, out, errs := exec("show", p[tt.file])
		if code != 0 {
			t.Fatalf("show %s: exit %d: %s", tt.file, code, errs)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("show %s lacks %q:\n%s", tt.file, w, out)
			}
		}
	}
	code, out, _ := exec("show", "-n", "1", "--width", "40", p["tokens"])
	if code != 0 || strings.Contains(out, "id 1") || !strings.Contains(out, "… (") {
		t.Errorf("show -n 1 --width 40:\n%s", out)
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	p := pipeline(t, dir)
	code, out, errs := exec("verify", p["tokens"], p["lm"], p["preds"], p["vocab"])
	if code != 0 || strings.Count(out, "ok   ") != 4 || !strings.Contains(out, "input "+p["raw"]+": ok") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}
	// A changed raw input: exit 1 and a STALE report.
	os.WriteFile(p["raw"], []byte("label,text\npos,changed\n"), 0o644)
	code, out, errs = exec("verify", p["tokens"])
	if code != 1 || !strings.Contains(out, "STALE") || !strings.Contains(out, "CHANGED") || !strings.Contains(errs, "changed since") {
		t.Fatalf("changed input: exit %d\n%s%s", code, out, errs)
	}
	// A missing input is reported, not an error.
	os.Remove(p["raw"])
	code, out, _ = exec("verify", p["vocab"])
	if code != 0 || !strings.Contains(out, "missing") {
		t.Fatalf("missing input: exit %d\n%s", code, out)
	}
	// A damaged file: exit 2, one line naming the file.
	data, _ := os.ReadFile(p["lm"])
	data[len(data)/2] ^= 0xff
	bad := filepath.Join(dir, "bad.arrow")
	os.WriteFile(bad, data, 0o644)
	code, _, errs = exec("verify", bad)
	if code != 2 || !strings.HasPrefix(errs, "artifacts: "+bad) || strings.Count(errs, "\n") != 1 {
		t.Fatalf("damaged: exit %d, stderr %q", code, errs)
	}
	code, out, errs = exec("verify", bad, p["preds"])
	if code != 2 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "ok   "+p["preds"]) {
		t.Fatalf("damaged + good: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = exec("verify", p["raw"]+".nope")
	if code != 2 || !strings.Contains(errs, "cannot open") {
		t.Fatalf("missing file: exit %d %q", code, errs)
	}
}

func TestLineage(t *testing.T) {
	dir := t.TempDir()
	p := pipeline(t, dir)
	code, out, errs := exec("lineage", "--params", p["preds"])
	if code != 0 {
		t.Fatalf("lineage: exit %d %s", code, errs)
	}
	for _, w := range []string{
		"preds.arrow  [predictions, evaluate test]",
		"├── " + p["lm"] + "  [lm, pretrain test]  ok",
		"│   └── " + p["tokens"] + "  [tokens, tokenize test]  ok",
		"│       ├── " + p["raw"] + "  [raw]  ok",
		"│       └── " + p["vocab"] + "  [vocab, tokenize test]  ok",
		"└── " + p["tokens"] + "  [tokens, tokenize test]  ok",
		"(inputs shown above)",
		`params: {"min_freq":1}`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("lineage lacks %q:\n%s", w, out)
		}
	}
	os.Remove(p["raw"])
	_, out, _ = exec("lineage", "--depth", "1", p["tokens"])
	if !strings.Contains(out, p["raw"]+"  [raw]  missing") {
		t.Errorf("missing raw:\n%s", out)
	}
	// Inputs recorded relative to the artifact's folder are found there too.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(t.TempDir())
	rel := filepath.Join(dir, "rel.arrow")
	v := &artifacts.Vocab{Tokens: []string{"x"}}
	in, _ := artifacts.InputOf(p["vocab"])
	in.Path = "vocab.arrow"
	if err := artifacts.WriteVocab(rel, artifacts.Lineage{Inputs: []artifacts.Input{in}}, v); err != nil {
		t.Fatal(err)
	}
	_, out, _ = exec("lineage", rel)
	if !strings.Contains(out, "vocab.arrow  [vocab, tokenize test]  ok (at "+p["vocab"]+")") {
		t.Errorf("relative input:\n%s", out)
	}
}

func TestUsageAndHelp(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
		err  string
	}{
		{nil, 2, "", "missing command"},
		{[]string{"bogus"}, 2, "", `unknown command "bogus"`},
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"help"}, 0, "Commands:", ""},
		{[]string{"show"}, 2, "", "show wants one FILE, got 0 (see 'artifacts show --help')"},
		{[]string{"show", "--help"}, 0, "--rows int", ""},
		{[]string{"show", "--rows", "x", "f"}, 2, "", "invalid argument"},
		{[]string{"verify", "-h"}, 0, "Exit status", ""},
		{[]string{"verify"}, 2, "", "at least one FILE"},
		{[]string{"lineage", "--help"}, 0, "(default 32)", ""},
		{[]string{"lineage", "a", "b"}, 2, "", "one FILE, got 2"},
	}
	for _, tt := range tests {
		code, out, errs := exec(tt.args...)
		if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errs, tt.err) {
			t.Errorf("%v: exit %d (want %d)\nstdout %q\nstderr %q", tt.args, code, tt.code, out, errs)
		}
	}
	code, _, errs := exec("show", "main.go")
	if code != 2 || !strings.Contains(errs, "main.go: not an Arrow IPC file") {
		t.Errorf("show main.go: %d %q", code, errs)
	}
}

func TestDiffCommand(t *testing.T) {
	dir := t.TempDir()
	p := pipeline(t, dir)
	code, out, errs := exec("diff", p["lm"], p["lm"])
	if code != 0 || out != "data: identical\nmetadata: identical\n" {
		t.Fatalf("diff of a file with itself: exit %d\n%s%s", code, out, errs)
	}
	m, err := artifacts.ReadModel(p["lm"], artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	m.Producer = "pretrain test 2"
	other := filepath.Join(dir, "other.arrow")
	if err := artifacts.WriteModel(other, m); err != nil {
		t.Fatal(err)
	}
	code, out, _ = exec("diff", p["lm"], other)
	if code != 1 || !strings.Contains(out, "data: identical") || !strings.Contains(out, "metadata ulmfit.producer: pretrain test | pretrain test 2") {
		t.Fatalf("producer changed: exit %d\n%s", code, out)
	}
	if code, _, _ = exec("diff", "--data-only", p["lm"], other); code != 0 {
		t.Fatalf("--data-only with the same data: exit %d", code)
	}
	m.Tensors[1].Data[3] = 9
	if err := artifacts.WriteModel(other, m); err != nil {
		t.Fatal(err)
	}
	code, out, _ = exec("diff", "--data-only", p["lm"], other)
	if code != 1 || !strings.Contains(out, "data: 1 difference(s)") {
		t.Fatalf("a tensor value changed: exit %d\n%s", code, out)
	}
	if code, _, errs = exec("diff", p["lm"]); code != 2 || !strings.Contains(errs, "two artifacts") {
		t.Fatalf("one argument: exit %d %q", code, errs)
	}
}
