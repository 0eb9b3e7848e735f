package evalcmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/clftest"
	"github.com/ulmfit-go/ulmfit/tokenize/input"
)

type fixture struct {
	dir, train, test, fwd, bwd, lm string
	texts                          []string // raw test texts, artifact order
}

var (
	fixOnce sync.Once
	fix     fixture
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix.dir != "" {
		os.RemoveAll(fix.dir)
	}
	os.Exit(code)
}

// fixtures: TREC-6 (all 5452 train and 500 test documents) and tiny fwd and bwd
// classifiers trained on it for 3 epochs.
func fixtures(t *testing.T) fixture {
	fixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "evaluate-test")
		if err != nil {
			t.Fatal(err)
		}
		f := fixture{dir: dir}
		fix.dir = dir
		f.train, f.test = clftest.TREC(t, dir, 0, 0)
		f.fwd, f.bwd = filepath.Join(dir, "fwd.clf.arrow"), filepath.Join(dir, "bwd.clf.arrow")
		clftest.Classifier(t, f.fwd, f.train, "fwd", 3, 1)
		clftest.Classifier(t, f.bwd, f.train, "bwd", 3, 2)
		h, _, err := artifacts.ReadTokens(f.train)
		if err != nil {
			t.Fatal(err)
		}
		f.lm = filepath.Join(dir, "fwd.lm.arrow")
		clftest.TinyLM(t, f.lm, h.Vocab, h.Tokenizer, "fwd", 1)
		src, err := input.Open(clftest.TRECCSV(t, "test"), input.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			r, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			f.texts = append(f.texts, strings.Join(r.Fields, " "))
		}
		fix = f
	})
	if fix.fwd == "" {
		t.Fatal("fixtures failed")
	}
	return fix
}

func runCmd(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	if len(args) == 0 || (args[0] != "report" && args[0] != "plot") {
		args = append(args, "--threads", "1")
	}
	code = cli.Run(context.Background(), "evaluate", args, &errb, func(ctx context.Context, a []string) error {
		return Run(ctx, "", "", a, Options{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	})
	return code, out.String(), errb.String()
}

type jsonPred struct {
	Text  string             `json:"text"`
	Label string             `json:"label"`
	Probs map[string]float64 `json:"probs"`
}

// TestPredictEqualsEvaluate: classifying the raw test text gives the same
// probabilities as evaluating the tokens artifact made from it, for the
// forward and the backward model.
func TestPredictEqualsEvaluate(t *testing.T) {
	f := fixtures(t)
	for _, model := range []string{f.fwd, f.bwd} {
		out := filepath.Join(t.TempDir(), "preds.arrow")
		code, _, msg := runCmd("", "--model", model, "--data", f.test, "--out", out)
		if code != 0 {
			t.Fatalf("evaluate: exit %d: %s", code, msg)
		}
		if !strings.Contains(msg, "500 documents, error ") || !regexp.MustCompile(`, peak RSS \d+ MiB -> .*preds.arrow\n$`).MatchString(msg) {
			t.Errorf("summary %q", msg)
		}
		preds, err := artifacts.ReadPredictions(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(preds.Rows) != len(f.texts) {
			t.Fatalf("%d predictions for %d texts", len(preds.Rows), len(f.texts))
		}
		var m struct {
			ErrorRate     float64 `json:"error_rate"`
			MajorityError float64 `json:"majority_error"`
		}
		if err := json.Unmarshal(preds.Metrics, &m); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: test error %.3f (majority %.3f)", filepath.Base(model), m.ErrorRate, m.MajorityError)
		if m.ErrorRate > m.MajorityError-0.15 {
			t.Errorf("test error %.3f not well under the majority baseline %.3f", m.ErrorRate, m.MajorityError)
		}

		code, stdout, msg := runCmd(strings.Join(f.texts, "\n")+"\n", "predict", "--model", model, "--bs", "50")
		if code != 0 {
			t.Fatalf("predict: exit %d: %s", code, msg)
		}
		sc := bufio.NewScanner(strings.NewReader(stdout))
		i := 0
		for ; sc.Scan(); i++ {
			var jp jsonPred
			if err := json.Unmarshal(sc.Bytes(), &jp); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			row := preds.Rows[i]
			if jp.Text != f.texts[i] || jp.Label != preds.LabelNames[row.Pred] {
				t.Fatalf("row %d: %q -> %s, evaluate says %s", i, jp.Text, jp.Label, preds.LabelNames[row.Pred])
			}
			for c, name := range preds.LabelNames {
				if math.Abs(jp.Probs[name]-float64(row.Probs[c])) > 1e-5 {
					t.Fatalf("row %d %q: P(%s) %.7f by predict, %.7f by evaluate", i, jp.Text, name, jp.Probs[name], row.Probs[c])
				}
			}
		}
		if i != len(f.texts) {
			t.Fatalf("%d output lines for %d texts", i, len(f.texts))
		}
	}
	// --text, repeated, in order.
	code, stdout, msg := runCmd("", "predict", "--model", f.fwd, "--text", "Who wrote Hamlet ?", "--text", "How far is the moon ?")
	if code != 0 || strings.Count(stdout, "\n") != 2 || !strings.Contains(stdout, `"text":"Who wrote Hamlet ?"`) {
		t.Fatalf("--text: exit %d, %q %s", code, stdout, msg)
	}
}

func TestReport(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	preds := filepath.Join(dir, "preds.arrow")
	if code, _, msg := runCmd("", "--model", f.fwd, "--data", f.test, "--out", preds, "-q"); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	log := filepath.Join(dir, "train.jsonl")
	os.WriteFile(log, []byte(`{"type":"step","step":10,"loss":1.5,"lr":[0.001,0.01]}
{"type":"epoch","step":20,"epoch":1,"loss":1.2,"valid_loss":1.1,"accuracy":0.6,"extra":{"valid_error":0.4}}
`), 0o644)
	out := filepath.Join(dir, "report")
	code, _, msg := runCmd("", "report", preds, "--log", log, "--out-dir", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	for _, name := range []string{"metrics.json", "report.md", "confusion.png", "loss.png", "error.png", "lr.png"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty", name)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "| DESC |") || !strings.Contains(string(md), "error rate") {
		t.Errorf("report.md:\n%s", md)
	}
}

// TestPlot: 'evaluate plot' draws the pipeline's low-shot TSV (series x y lo
// hi) as a PNG; bad files and flags exit 2 with one line naming the problem.
func TestPlot(t *testing.T) {
	dir := t.TempDir()
	tsv := filepath.Join(dir, "lowshot.curve.tsv")
	os.WriteFile(tsv, []byte("series\tx\ty\tlo\thi\nsupervised\t100\t66.73\t60.00\t72.40\nsemi\t100\t75.53\t69.40\t87.00\n"+
		"supervised\t5452\t45.20\t42.00\t48.20\nsemi\t5452\t45.20\t-\t-\n"), 0o644)
	out := filepath.Join(dir, "lowshot.png")
	code, _, msg := runCmd("", "plot", "--logx", "--title", "TREC-6 low-shot", "--xlabel", "labeled examples", "--ylabel", "test error (%)", "-o", out, tsv)
	if code != 0 || !strings.Contains(msg, "2 series, 4 points -> "+out) {
		t.Fatalf("exit %d: %q", code, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("%s: %v", out, err)
	}

	bad := filepath.Join(dir, "bad.tsv")
	os.WriteFile(bad, []byte("series\tx\ty\nsemi\t0\t1\nsemi\tmany\t2\n"), 0o644)
	zero := filepath.Join(dir, "zero.tsv")
	os.WriteFile(zero, []byte("series\tx\ty\nsemi\t0\t1\n"), 0o644)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"bad number", []string{"-o", filepath.Join(dir, "b.png"), bad}, "bad.tsv:3: x = \"many\""},
		{"zero on log x", []string{"--logx", "-o", filepath.Join(dir, "z.png"), zero}, "zero.tsv: series semi: x = 0 cannot be drawn on a log scale"},
		{"missing file", []string{"-o", filepath.Join(dir, "m.png"), filepath.Join(dir, "nope.tsv")}, "nope.tsv"},
		{"no -o", []string{tsv}, "-o OUT.png is required"},
		{"out is a folder", []string{"-o", dir, tsv}, "is a folder"},
		{"two files", []string{"-o", out, tsv, tsv}, "exactly one TSV"},
	} {
		code, _, msg := runCmd("", append([]string{"plot"}, c.args...)...)
		if code != 2 || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%s: exit %d, %q: want exit 2 and one line with %q", c.name, code, msg, c.want)
		}
	}
	for _, name := range []string{"b.png", "z.png", "m.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s written despite the error", name)
		}
	}
}

func TestBadInput(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.arrow")
	unknown := filepath.Join(dir, "unknown.tokens.arrow")
	clftest.WriteTokens(t, f.test, unknown, func(d []artifacts.Doc, h *artifacts.TokensHeader) []artifacts.Doc {
		h.LabelNames = append([]string(nil), h.LabelNames...)
		h.LabelNames[2] = "ANIMAL"
		return d
	})
	otherVocab := filepath.Join(dir, "other.tokens.arrow")
	clftest.WriteTokens(t, f.test, otherVocab, func(d []artifacts.Doc, h *artifacts.TokensHeader) []artifacts.Doc {
		v := &artifacts.Vocab{}
		for i, tok := range h.Vocab.Tokens {
			if i >= 9 {
				tok = "zz" + tok
			}
			v.Tokens = append(v.Tokens, tok)
			v.Counts = append(v.Counts, h.Vocab.Counts[i])
		}
		h.Vocab = v
		return d
	})
	unlabeled := filepath.Join(dir, "unlabeled.preds.arrow")
	if err := artifacts.WritePredictions(unlabeled, &artifacts.Predictions{
		Lineage: artifacts.Lineage{Kind: artifacts.KindPredictions, Producer: "test"}, LabelNames: []string{"a", "b"},
		Rows: []artifacts.Prediction{{ID: 1, Label: -1, Probs: []float32{0.5, 0.5}, Pred: 0}}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown label", []string{"--model", f.fwd, "--data", unknown, "--out", out}, []string{"unknown.tokens.arrow", `unknown label "ANIMAL"`}},
		{"vocab", []string{"--model", f.fwd, "--data", otherVocab, "--out", out}, []string{"other.tokens.arrow", "vocabulary mismatch"}},
		{"kind tokens", []string{"--model", f.test, "--data", f.test, "--out", out}, []string{"trec.test.tokens.arrow", "classifier"}},
		{"kind lm", []string{"--model", f.lm, "--data", f.test, "--out", out}, []string{"fwd.lm.arrow", "classifier"}},
		{"kind data", []string{"--model", f.fwd, "--data", f.fwd, "--out", out}, []string{"fwd.clf.arrow", "tokens"}},
		{"missing", []string{"--model", filepath.Join(dir, "nope.arrow"), "--data", f.test, "--out", out}, []string{"nope.arrow"}},
		{"args", []string{"--model", f.fwd}, []string{"--data"}},
		{"report unlabeled", []string{"report", unlabeled, "--out-dir", dir}, []string{"no labeled rows"}},
		{"report kind", []string{"report", f.fwd, "--out-dir", dir}, []string{"fwd.clf.arrow"}},
		{"predict kind", []string{"predict", "--model", f.test, "--text", "hi"}, []string{"trec.test.tokens.arrow"}},
	} {
		code, _, msg := runCmd("", c.args...)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2 (%s)", c.name, code, msg)
		}
		if strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Errorf("%s: not one line: %q", c.name, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q lacks %q", c.name, msg, w)
			}
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("output written despite errors")
	}
}

func TestMultiLabel(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	train, test := filepath.Join(dir, "ml.train.tokens.arrow"), filepath.Join(dir, "ml.test.tokens.arrow")
	clftest.MultiLabel(t, f.train, train)
	clftest.MultiLabel(t, f.test, test)
	clf := filepath.Join(dir, "ml.clf.arrow")
	clftest.Classifier(t, clf, train, "fwd", 2, 1)
	preds := filepath.Join(dir, "ml.preds.arrow")
	code, _, msg := runCmd("", "--model", clf, "--data", test, "--out", preds)
	if code != 0 || !strings.Contains(msg, "micro-F1") {
		t.Fatalf("exit %d: %s", code, msg)
	}
	p, err := artifacts.ReadPredictions(preds)
	if err != nil {
		t.Fatal(err)
	}
	if !p.MultiLabel || p.Rows[0].Pred != -1 || len(p.Rows[0].Labels) != 2 {
		t.Fatalf("multi-label predictions: %+v", p.Rows[0])
	}
	out := filepath.Join(dir, "report")
	if code, _, msg := runCmd("", "report", preds, "--out-dir", out, "-q"); code != 0 {
		t.Fatalf("report: exit %d: %s", code, msg)
	}
	var m struct {
		Metrics struct {
			MultiLabel  bool    `json:"multi_label"`
			MicroF1     float64 `json:"micro_f1"`
			HammingLoss float64 `json:"hamming_loss"`
		} `json:"metrics"`
	}
	js, _ := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	t.Logf("multi-label: micro-F1 %.3f, Hamming loss %.3f", m.Metrics.MicroF1, m.Metrics.HammingLoss)
	if !m.Metrics.MultiLabel || m.Metrics.MicroF1 < 0.4 {
		t.Errorf("metrics %s", js)
	}
	code, stdout, msg := runCmd("", "predict", "--model", clf, "--text", "Who wrote Hamlet ?")
	if code != 0 || !strings.Contains(stdout, `"labels":[`) {
		t.Fatalf("predict: exit %d: %q %s", code, stdout, msg)
	}
	// A single-label model cannot score multi-label data.
	code, _, msg = runCmd("", "--model", f.fwd, "--data", test, "--out", filepath.Join(dir, "x.arrow"))
	if code != 2 || !strings.Contains(msg, "multi-label") {
		t.Errorf("single-label model on multi-label data: exit %d: %s", code, msg)
	}
}

// TestPrecision: evaluate records bf16 in its predictions' params (auto on
// an AVX512_BF16 CPU), nothing for fp32; the two precisions agree on the
// probabilities to bf16 rounding, and predict --precision fp32 gives
// evaluate --precision fp32's probabilities.
func TestPrecision(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	read := func(name string, extra ...string) *artifacts.Predictions {
		out := filepath.Join(dir, name)
		if code, _, msg := runCmd("", append([]string{"--model", f.fwd, "--data", f.test, "--out", out, "-q"}, extra...)...); code != 0 {
			t.Fatalf("evaluate %q: exit %d: %s", extra, code, msg)
		}
		p, err := artifacts.ReadPredictions(out)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	fp32, auto := read("fp32.arrow", "--precision", "fp32"), read("auto.arrow")
	var want any
	if cpu.CheckBF16() == nil {
		want = "bf16"
	}
	if p := fp32.Lineage.Params["precision"]; p != nil {
		t.Errorf("fp32: params precision %v, want none", p)
	}
	if p := auto.Lineage.Params["precision"]; p != want {
		t.Errorf("auto: params precision %v, want %v", p, want)
	}
	worst := 0.0
	for i, r := range fp32.Rows {
		for c := range r.Probs {
			worst = math.Max(worst, math.Abs(float64(r.Probs[c]-auto.Rows[i].Probs[c])))
		}
	}
	t.Logf("largest probability difference, auto against fp32: %.2g", worst)
	if worst > 0.02 {
		t.Errorf("auto and fp32 probabilities differ by %.3g, more than bf16 rounding of a tiny model's products", worst)
	}
	code, stdout, msg := runCmd(f.texts[0]+"\n", "predict", "--model", f.fwd, "--precision", "fp32")
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, msg)
	}
	var jp jsonPred
	if err := json.Unmarshal([]byte(stdout), &jp); err != nil {
		t.Fatal(err)
	}
	for c, name := range fp32.LabelNames {
		if math.Abs(jp.Probs[name]-float64(fp32.Rows[0].Probs[c])) > 1e-5 {
			t.Errorf("P(%s): %.7f by predict --precision fp32, %.7f by evaluate --precision fp32", name, jp.Probs[name], fp32.Rows[0].Probs[c])
		}
	}
}
