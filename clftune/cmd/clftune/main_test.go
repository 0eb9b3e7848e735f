package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/ulmfit-go/ulmfit/artifacts/cli/clitest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/clftest"
	"github.com/ulmfit-go/ulmfit/stage/clftrain"
)

type fixture struct {
	dir, train, test, lm, bwdLM, small string
}

var (
	fixOnce sync.Once
	fix     fixture
	fixDir  string
)

// TestMain removes the shared fixture folder.
func TestMain(m *testing.M) {
	code := m.Run()
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.Exit(code)
}

// fixtures tokenizes TREC-6 (all 5452 train and 500 test documents), a
// 200-document training subset, and random tiny fwd/bwd LMs over the train
// vocabulary; built once per test binary.
func fixtures(t *testing.T) fixture {
	fixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "clftune-test")
		if err != nil {
			t.Fatal(err)
		}
		fixDir = dir
		f := fixture{dir: dir}
		f.train, f.test = clftest.TREC(t, dir, 0, 0)
		f.small = filepath.Join(dir, "small.tokens.arrow")
		clftest.Subset(t, f.train, f.small, 200)
		h, _, err := artifacts.ReadTokens(f.small)
		if err != nil {
			t.Fatal(err)
		}
		f.lm, f.bwdLM = filepath.Join(dir, "fwd.lm.arrow"), filepath.Join(dir, "bwd.lm.arrow")
		clftest.TinyLM(t, f.lm, h.Vocab, h.Tokenizer, "fwd", 1)
		clftest.TinyLM(t, f.bwdLM, h.Vocab, h.Tokenizer, "bwd", 2)
		fix = f
	})
	if fix.dir == "" {
		t.Fatal("fixtures failed")
	}
	return fix
}

func runCmd(args ...string) (int, string) {
	var stderr bytes.Buffer
	code := cli.Run(context.Background(), "clftune", append(args, "--threads", "1"), &stderr, run)
	return code, stderr.String()
}

type summary struct {
	clftrain.Result
	Test *struct {
		N     int     `json:"n"`
		Error float64 `json:"error"`
	} `json:"test"`
	Vocab map[string]clftrain.VocabReport `json:"vocab"`
}

func readSummary(t *testing.T, path string) (*artifacts.Model, summary) {
	t.Helper()
	m, err := artifacts.ReadModel(path, artifacts.KindClassifier)
	if err != nil {
		t.Fatal(err)
	}
	var s summary
	if err := json.Unmarshal(m.Metrics, &s); err != nil {
		t.Fatalf("metrics %s: %v", m.Metrics, err)
	}
	return m, s
}

func TestLearnsTREC(t *testing.T) {
	f := fixtures(t)
	out := filepath.Join(t.TempDir(), "clf.arrow")
	code, msg := runCmd("--from-scratch", "--preset", "tiny", "--mode", "full", "--lr", "0.01", "--epochs", "6", "--bs", "32",
		"--data", f.train, "--test", f.test, "--out", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	m, s := readSummary(t, out)
	first, last := s.Epochs[0], s.Epochs[len(s.Epochs)-1]
	t.Logf("train error %.3f -> %.3f, best valid error %.3f, test error %.3f (majority baseline 0.724)", first.TrainError, last.TrainError, *s.BestValidError, s.Test.Error)
	if !(last.TrainError < first.TrainError-0.1) {
		t.Errorf("train error did not fall: %.3f -> %.3f", first.TrainError, last.TrainError)
	}
	if s.Test == nil || s.Test.N != 500 || s.Test.Error > 0.35 {
		t.Errorf("test %+v: want 500 documents and an error well under the majority baseline 0.724", s.Test)
	}
	// The artifact is self-contained.
	if m.Direction != "fwd" || len(m.LabelNames) != 6 || m.Vocab == nil || len(m.Tokenizer) == 0 || m.Producer != "clftune" {
		t.Errorf("artifact: direction %q, labels %v, tokenizer %q", m.Direction, m.LabelNames, m.Tokenizer)
	}
	if _, err := os.Stat(strings.TrimSuffix(out, ".arrow") + ".ckpt.arrow"); err == nil {
		t.Error("checkpoint left behind after a finished run")
	}
}

func TestEveryMode(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	for _, md := range clftrain.Modes() {
		out := filepath.Join(dir, md.Name+".arrow")
		args := []string{"--mode", md.Name, "--epochs", "1", "--bs", "32", "--data", f.small, "--out", out, "-q"}
		if !md.Scratch {
			args = append(args, "--from", f.lm)
		} else {
			args = append(args, "--preset", "tiny")
		}
		code, msg := runCmd(args...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", md.Name, code, msg)
			continue
		}
		_, s := readSummary(t, out)
		if len(s.Epochs) == 0 || s.Steps == 0 {
			t.Errorf("%s: no training happened: %+v", md.Name, s.Result)
		}
	}
}

func TestBackwardAndRemap(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	// An LM whose vocabulary lists the tokens in another order and lacks
	// 500 of them: ids are remapped by string and the remap is reported.
	h, _, err := artifacts.ReadTokens(f.train)
	if err != nil {
		t.Fatal(err)
	}
	v := &artifacts.Vocab{Tokens: append([]string(nil), h.Vocab.Tokens[:9]...), Counts: append([]int64(nil), h.Vocab.Counts[:9]...)}
	for i := h.Vocab.Len() - 501; i >= 9; i-- {
		v.Tokens = append(v.Tokens, h.Vocab.Tokens[i])
		v.Counts = append(v.Counts, h.Vocab.Counts[i])
	}
	otherLM := filepath.Join(dir, "other.bwd.lm.arrow")
	clftest.TinyLM(t, otherLM, v, h.Tokenizer, "bwd", 3)
	out := filepath.Join(dir, "bwd.arrow")
	code, msg := runCmd("--from", otherLM, "--backward", "--epochs", "1", "--bs", "32", "--data", f.train, "--out", out, "-q", "--valid-frac", "0.2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	m, s := readSummary(t, out)
	if m.Direction != "bwd" {
		t.Errorf("direction %q", m.Direction)
	}
	vr := s.Vocab[f.train]
	if vr.Same || vr.MissingTypes != 500 || vr.UnkTokens == 0 {
		t.Errorf("vocab report %+v: want a remap with 500 missing types", vr)
	}
	lm, _ := artifacts.ReadModel(otherLM, artifacts.KindLM)
	if m.Vocab.Hash() != lm.Vocab.Hash() {
		t.Error("the classifier's vocabulary is not the LM's")
	}
}

func TestBadInput(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.arrow")
	unknown := filepath.Join(dir, "unknown.tokens.arrow")
	clftest.WriteTokens(t, f.test, unknown, func(d []artifacts.Doc, h *artifacts.TokensHeader) []artifacts.Doc {
		h.LabelNames = append([]string(nil), h.LabelNames...)
		h.LabelNames[3] = "ANIMAL"
		return d
	})
	unlabeled := filepath.Join(dir, "unlabeled.tokens.arrow")
	clftest.WriteTokens(t, f.small, unlabeled, func(d []artifacts.Doc, h *artifacts.TokensHeader) []artifacts.Doc {
		d[7].Label = -1
		return d
	})
	otherVocab := filepath.Join(dir, "other.tokens.arrow")
	clftest.WriteTokens(t, f.small, otherVocab, func(d []artifacts.Doc, h *artifacts.TokensHeader) []artifacts.Doc {
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
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown label", []string{"--from", f.lm, "--data", f.small, "--test", unknown}, []string{"unknown.tokens.arrow", "unknown label \"ANIMAL\""}},
		{"unlabeled", []string{"--from", f.lm, "--data", unlabeled}, []string{"unlabeled.tokens.arrow", "row 7", "no label"}},
		{"vocab", []string{"--from", f.lm, "--data", otherVocab}, []string{"other.tokens.arrow", "vocabulary mismatch"}},
		{"direction", []string{"--from", f.bwdLM, "--data", f.small}, []string{"bwd.lm.arrow", "backward", "--backward"}},
		{"kind", []string{"--from", f.small, "--data", f.small}, []string{"small.tokens.arrow"}},
		{"kind data", []string{"--from", f.lm, "--data", f.lm}, []string{"fwd.lm.arrow"}},
		{"missing", []string{"--from", filepath.Join(dir, "nope.arrow"), "--data", f.small}, []string{"nope.arrow"}},
		{"no lm", []string{"--data", f.small}, []string{"--from"}},
		{"both", []string{"--from", f.lm, "--from-scratch", "--data", f.small}, []string{"exclude"}},
		{"mode", []string{"--from", f.lm, "--data", f.small, "--mode", "nope"}, []string{"unknown mode", "ulmfit"}},
		{"weights", []string{"--from", f.lm, "--data", f.small, "--class-weights", "1,2"}, []string{"2 class weights for 6 classes"}},
		{"max-memory", []string{"--from", f.lm, "--data", f.small, "--bs", "4096", "--max-memory", "2MiB"}, []string{"at --bs 4096 on documents of up to", "only 2.0 MiB allowed by --max-memory", "try --bs ", "(or --max-memory to override)"}},
		{"max-memory size", []string{"--from", f.lm, "--data", f.small, "--max-memory", "2 bananas"}, []string{"memory size"}},
	} {
		code, msg := runCmd(append(c.args, "--out", out, "--epochs", "1")...)
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

// TestUnwritableOut: an --out that is a folder or lies in a missing folder is
// refused before any loading or training (the LM given here does not even
// exist), and nothing is left behind.
func TestUnwritableOut(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	folder := filepath.Join(dir, "o.arrow")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, out, want string }{
		{"folder", folder, "o.arrow: is a folder"},
		{"missing folder", filepath.Join(dir, "nodir", "o.arrow"), "nodir"},
		{"checkpoint in a missing folder", filepath.Join(dir, "c.arrow"), "nodir"},
	} {
		args := []string{"--from", filepath.Join(dir, "nope.lm.arrow"), "--data", f.small, "--out", c.out, "--epochs", "1", "-q"}
		if c.name == "checkpoint in a missing folder" {
			args = append(args, "--checkpoint", filepath.Join(dir, "nodir", "c.ckpt.arrow"))
		}
		code, msg := runCmd(args...)
		if code != 2 || !strings.Contains(msg, c.want) || strings.Contains(msg, "nope.lm.arrow") {
			t.Errorf("%s: exit %d, %q: want exit 2 naming %q before reading the LM", c.name, code, msg, c.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left behind: %v", names)
	}
}

func TestMultiLabel(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	ml := filepath.Join(dir, "ml.tokens.arrow")
	clftest.MultiLabel(t, f.small, ml)
	out := filepath.Join(dir, "ml.clf.arrow")
	code, msg := runCmd("--from", f.lm, "--data", ml, "--epochs", "4", "--bs", "32", "--class-weights", "auto", "--out", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	m, s := readSummary(t, out)
	var cfg struct {
		MultiLabel bool `json:"multi_label"`
	}
	json.Unmarshal(m.Config, &cfg)
	if !cfg.MultiLabel || s.BestValidError == nil {
		t.Errorf("config %s, result %+v", m.Config, s.Result)
	}
}

// TestResume: a run stopped by a checkpoint and resumed gives the same
// classifier bytes as an uninterrupted run.
func TestResume(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	args := []string{"--from", f.lm, "--data", f.small, "--epochs", "4", "--bs", "32", "--seed", "7", "-q"}
	full := filepath.Join(dir, "full.arrow")
	if code, msg := runCmd(append(args, "--out", full)...); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	// Run 2 epochs' worth by making a checkpoint: cancel after the first
	// checkpoint is written (epoch ends write one).
	ck := filepath.Join(dir, "part.ckpt.arrow")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- cli.Run(ctx, "clftune", append(args, "--out", filepath.Join(dir, "part.arrow"), "--threads", "1", "--checkpoint", ck), &stderr, run)
	}()
	for {
		time.Sleep(5 * time.Millisecond)
		if _, err := os.Stat(ck); err == nil {
			cancel()
			break
		}
		select {
		case code := <-done:
			t.Skipf("run finished (exit %d) before a checkpoint could be interrupted", code)
		default:
		}
	}
	if code := <-done; code == 0 {
		t.Skip("run finished before the cancellation was seen")
	}
	resumed := filepath.Join(dir, "resumed.arrow")
	ckBytes, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	// A checkpoint is resumed only by a run with the same flags and inputs.
	swap := func(from, to string) []string {
		a := slices.Clone(args)
		a[slices.Index(a, from)] = to
		return a
	}
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"other seed", swap("7", "8"), []string{"part.ckpt.arrow: resume with the flags and inputs of the interrupted run", `seed "7" -> "8"`}},
		{"other data", swap(f.small, f.test), []string{"input 1: " + f.small + " (sha256 ", "was given as " + f.test}},
	} {
		code, msg := runCmd(append(c.args, "--out", resumed, "--resume", ck, "--checkpoint", ck)...)
		if code != 2 || strings.Count(msg, "\n") != 1 {
			t.Errorf("%s: exit %d, %q: want exit 2, one line", c.name, code, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q lacks %q", c.name, msg, w)
			}
		}
		if b, _ := os.ReadFile(ck); !bytes.Equal(b, ckBytes) {
			t.Fatalf("%s: the checkpoint changed", c.name)
		}
		if _, err := os.Stat(resumed); err == nil {
			t.Fatalf("%s: a refused resume wrote %s", c.name, resumed)
		}
	}
	// --resume alone: the run's checkpoint (here --checkpoint).
	resume := append(args, "--out", resumed, "--checkpoint", ck, "--resume")
	if code, msg := runCmd(resume...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, msg)
	}
	// Killed between writing --out and removing the checkpoint: the next run
	// finds --out up to date and removes the stale checkpoint.
	if err := os.WriteFile(ck, ckBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	quiet := slices.DeleteFunc(slices.Clone(resume), func(a string) bool { return a == "-q" })
	var code int
	msg := clitest.CaptureStderr(t, func() { code, _ = runCmd(quiet...) })
	if code != 0 || !strings.Contains(msg, "removed the stale checkpoint "+ck) {
		t.Fatalf("rerun: exit %d: %q", code, msg)
	}
	if _, err := os.Stat(ck); err == nil {
		t.Fatal("the stale checkpoint is still there")
	}
	// Same flags, same seed: the same bytes.
	again := filepath.Join(dir, "again.arrow")
	if code, msg := runCmd(append(args, "--out", again, "--checkpoint", strings.TrimSuffix(full, ".arrow")+".ckpt.arrow")...); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	b1, _ := os.ReadFile(full)
	b2, _ := os.ReadFile(again)
	if !bytes.Equal(b1, b2) {
		t.Error("two runs with the same seed wrote different bytes")
	}
	a, _ := artifacts.ReadModel(full, artifacts.KindClassifier)
	b, _ := artifacts.ReadModel(resumed, artifacts.KindClassifier)
	for i := range a.Tensors {
		if !slices.Equal(a.Tensors[i].Data, b.Tensors[i].Data) {
			t.Fatalf("tensor %s differs after resume", a.Tensors[i].Name)
		}
	}
}

func TestLRFind(t *testing.T) {
	f := fixtures(t)
	out := filepath.Join(t.TempDir(), "clf.arrow")
	code, msg := runCmd("--from", f.lm, "--data", f.small, "--bs", "32", "--lr-find", "--lr-find-iters", "30", "--out", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	for _, ext := range []string{".lrfind.csv", ".lrfind.png"} {
		if st, err := os.Stat(strings.TrimSuffix(out, ".arrow") + ext); err != nil || st.Size() == 0 {
			t.Errorf("%s missing", ext)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("--lr-find wrote a classifier")
	}
}

// TestEncoderIsTheLMs: the classifier starts from the LM's encoder (same
// vocabulary, remapped vocabulary, backward), and mode last keeps it frozen,
// so the written classifier's encoder.weight and rnns.* equal the LM's
// bit for bit while the head has been trained.
func TestEncoderIsTheLMs(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	h, _, err := artifacts.ReadTokens(f.train)
	if err != nil {
		t.Fatal(err)
	}
	// Another vocabulary order, missing 300 types: the data is remapped to
	// the LM's ids, so the embedding rows stay the LM's.
	v := &artifacts.Vocab{Tokens: slices.Clone(h.Vocab.Tokens[:9]), Counts: slices.Clone(h.Vocab.Counts[:9])}
	for i := h.Vocab.Len() - 301; i >= 9; i-- {
		v.Tokens = append(v.Tokens, h.Vocab.Tokens[i])
		v.Counts = append(v.Counts, h.Vocab.Counts[i])
	}
	remapLM := filepath.Join(dir, "remap.lm.arrow")
	clftest.TinyLM(t, remapLM, v, h.Tokenizer, "fwd", 4)
	for _, c := range []struct {
		name, lm string
		extra    []string
	}{
		{"fwd", f.lm, nil},
		{"bwd", f.bwdLM, []string{"--backward"}},
		{"remap", remapLM, nil},
	} {
		out := filepath.Join(dir, c.name+".clf.arrow")
		args := append([]string{"--from", c.lm, "--mode", "last", "--epochs", "2", "--bs", "32", "--data", f.small, "--out", out, "-q"}, c.extra...)
		if code, msg := runCmd(args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, msg)
		}
		lm, err := artifacts.ReadModel(c.lm, artifacts.KindLM)
		if err != nil {
			t.Fatal(err)
		}
		clf, _ := readSummary(t, out)
		if clf.Vocab.Hash() != lm.Vocab.Hash() {
			t.Errorf("%s: the classifier's vocabulary is not the LM's", c.name)
		}
		enc := 0
		for _, ts := range clf.Tensors {
			if strings.HasPrefix(ts.Name, "head.") {
				continue
			}
			enc++
			want, ok := lm.Tensor(ts.Name)
			if !ok {
				t.Errorf("%s: %s is not in the LM", c.name, ts.Name)
				continue
			}
			if !slices.Equal(ts.Shape, want.Shape) || !slices.Equal(ts.Data, want.Data) {
				t.Errorf("%s: classifier %s differs from the LM's", c.name, ts.Name)
			}
		}
		if enc == 0 {
			t.Errorf("%s: no encoder tensors in the classifier", c.name)
		}
	}
}

// --from-scratch alone means the scratch recipe; an explicit --mode wins.
func TestFromScratchMode(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "scratch"},
		{[]string{"--mode", "full"}, "full"},
	} {
		out := filepath.Join(dir, tc.want+".arrow")
		args := append([]string{"--from-scratch", "--preset", "tiny", "--epochs", "1", "--bs", "32", "--data", f.small, "--out", out, "-q"}, tc.args...)
		if code, msg := runCmd(args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, msg)
		}
		m, _ := readSummary(t, out)
		if got := m.Params["mode"]; got != tc.want {
			t.Errorf("--from-scratch %v: mode %v, want %q", tc.args, got, tc.want)
		}
	}
}

// TestPresetFromLM: without --preset, the LM's sizes name the preset, and
// the artifact records it with the recipe it gave.
func TestPresetFromLM(t *testing.T) {
	f := fixtures(t)
	out := filepath.Join(t.TempDir(), "clf.arrow")
	if code, msg := runCmd("--from", f.lm, "--data", f.small, "--epochs", "1", "--bs", "32", "--out", out, "-q"); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	m, _ := readSummary(t, out)
	for k, want := range map[string]string{"preset": "tiny", "epochs": "1", "drop-mult": "1"} {
		if got := m.Lineage.Params[k]; got != want {
			t.Errorf("params[%q] = %v, want %q", k, got, want)
		}
	}
}

// TestPrecision: clftune resolves --precision like the LM stages (the shared
// stage layer): auto is bf16 in the params where the CPU runs the VDPBF16PS
// GEMM, fp32 (not recorded) elsewhere; an unknown value is bad input.
func TestPrecision(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	base := []string{"--from-scratch", "--preset", "tiny", "--mode", "full", "--epochs", "1", "--bs", "32", "--data", f.small, "-q"}
	params := func(name string, extra ...string) any {
		out := filepath.Join(dir, name)
		if code, msg := runCmd(append(append(append([]string(nil), base...), "--out", out), extra...)...); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, msg)
		}
		m, _ := readSummary(t, out)
		return m.Lineage.Params["precision"]
	}
	if p := params("fp32.arrow", "--precision", "fp32"); p != nil {
		t.Errorf("--precision fp32: params precision %v, want none", p)
	}
	var want any
	if cpu.CheckBF16() == nil {
		want = "bf16"
	}
	if p := params("auto.arrow"); p != want {
		t.Errorf("auto: params precision %v, want %v", p, want)
	}
	code, msg := runCmd(append(append([]string(nil), base...), "--out", filepath.Join(dir, "bad.arrow"), "--precision", "half")...)
	if code != 2 || !strings.Contains(msg, `--precision "half"`) {
		t.Errorf("--precision half: exit %d, %q; want 2 and one line naming it", code, msg)
	}
}
