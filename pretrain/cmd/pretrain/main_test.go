package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage"
	"github.com/ulmfit-go/ulmfit/stage/lmtest"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// runCmd runs the command in-process and returns its exit code and output.
func runCmd(t *testing.T, ctx context.Context, o stage.Options, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	o.Stdout, o.Stderr = &stdout, &stderr
	if o.Backend == nil {
		o.Backend = cpu.New(1) // same results as nn.Reference(), 40x faster
	}
	code := cli.Run(ctx, "pretrain", args, &stderr, func(ctx context.Context, args []string) error {
		return runWith(ctx, args, o)
	})
	return code, stdout.String(), stderr.String()
}

// corpus is shared by the tests: ~24k WikiText words, vocab of words seen 4+ times.
func corpus(t *testing.T) *lmtest.Corpus {
	t.Helper()
	c := lmtest.WikiCorpus(t, t.TempDir(), 24000, 6000, 4)
	t.Log(c)
	return c
}

var tinyFlags = []string{"--preset", "tiny", "--bs", "8", "--bptt", "16", "--lr", "3e-2", "--drop-mult", "0.3", "--seed", "3", "--quiet"}

func readLog(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestPretrainLearnsWikiText(t *testing.T) {
	c := corpus(t)
	dir := t.TempDir()
	out, log := filepath.Join(dir, "lm.arrow"), filepath.Join(dir, "log.jsonl")
	args := append([]string{"--epochs", "6", "--valid", c.ValidPath, "--log", log, "--log-every", "20", "-o", out, c.TrainPath}, tinyFlags...)
	args = args[:len(args)-1] // not quiet: the summary line is checked
	code, stdout, stderr := runCmd(t, context.Background(), stage.Options{}, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "pretrain: wrote "+out) || !strings.Contains(stdout, "valid loss") || !strings.Contains(stdout, "backend cpu") {
		t.Errorf("summary line: %q", stdout)
	}
	m, err := artifacts.ReadModel(out, artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	if m.Direction != "fwd" || m.Vocab.Len() != len(c.Vocab) || string(m.Tokenizer) != `{"rules":"whitespace (test)"}` {
		t.Errorf("artifact: direction %q, vocab %d, tokenizer %s", m.Direction, m.Vocab.Len(), m.Tokenizer)
	}
	if len(m.OptState) != 0 {
		t.Errorf("the final artifact carries optimizer state")
	}
	var metrics struct {
		ValidLoss float64 `json:"valid_loss"`
		Epochs    []struct {
			TrainLoss float64 `json:"train_loss"`
		} `json:"epochs"`
	}
	if err := json.Unmarshal(m.Metrics, &metrics); err != nil {
		t.Fatal(err)
	}
	unigram := lmtest.UnigramLoss(c.Train, c.Valid, len(c.Vocab))
	t.Logf("valid loss %.3f (ppl %.1f), unigram %.3f (ppl %.1f); epoch train losses %+v", metrics.ValidLoss, math.Exp(metrics.ValidLoss), unigram, math.Exp(unigram), metrics.Epochs)
	if !(metrics.ValidLoss < unigram) {
		t.Errorf("valid loss %.3f does not beat the unigram baseline %.3f", metrics.ValidLoss, unigram)
	}
	recs := readLog(t, log)
	var steps []float64
	for _, r := range recs {
		if r["type"] == "step" {
			steps = append(steps, r["loss"].(float64))
		}
	}
	if len(steps) < 4 || !(steps[len(steps)-1] < steps[0]-1) {
		t.Errorf("training loss did not fall: %v", steps)
	}
	if last := recs[len(recs)-1]; last["type"] != "summary" || last["tokens_per_sec"] == nil {
		t.Errorf("last log record %v, want the summary", last)
	}
	if _, err := os.Stat(ckptOf(out)); !os.IsNotExist(err) {
		t.Errorf("checkpoint left behind after a finished run")
	}
}

func TestPretrainResumeAfterInterruptIsExact(t *testing.T) {
	c := lmtest.WikiCorpus(t, t.TempDir(), 6000, 1500, 3)
	dir := t.TempDir()
	base := append([]string{"--epochs", "2", "--valid", c.ValidPath, c.TrainPath}, tinyFlags...)
	full := filepath.Join(dir, "full.arrow")
	if code, _, stderr := runCmd(t, context.Background(), stage.Options{}, append(base, "-o", full)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, stderr)
	}
	want, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	// The same run again gives the same bytes.
	again := filepath.Join(dir, "again.arrow")
	if code, _, stderr := runCmd(t, context.Background(), stage.Options{}, append(base, "-o", again)...); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, want) {
		t.Fatalf("two identical runs wrote different bytes")
	}

	out := filepath.Join(dir, "resumed.arrow")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopAt := int64(30) // inside the first epoch (47 rows x 16 tokens)
	code, _, stderr := runCmd(t, ctx, stage.Options{OnStep: func(st *train.TrainState) {
		if st.Step == stopAt {
			cancel() // as SIGINT does
		}
	}}, append(base, "-o", out)...)
	if code != 1 || !strings.Contains(stderr, "interrupted") {
		t.Fatalf("interrupted run: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("an interrupted run wrote the final artifact")
	}
	ck, err := artifacts.ReadModel(ckptOf(out), artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	st, err := train.ParseTrainState(ck.TrainState)
	if err != nil || st.Step != stopAt || len(ck.OptState) == 0 {
		t.Fatalf("checkpoint state %+v (err %v), %d opt tensors", st, err, len(ck.OptState))
	}
	// Resuming with other settings is refused (exit 2, naming the flag).
	code, _, stderr = runCmd(t, context.Background(), stage.Options{}, append(base, "-o", out, "--resume", "--lr", "0.02")...)
	if code != 2 || !strings.Contains(stderr, "lr (checkpoint 0.03, now 0.02)") {
		t.Errorf("resume with another --lr: exit %d, stderr %q", code, stderr)
	}
	// So is resuming on other training data (the flags are the same; the
	// input hashes are not), and the checkpoint is left as it was.
	ckBytes, err := os.ReadFile(ckptOf(out))
	if err != nil {
		t.Fatal(err)
	}
	other := append([]string{"--epochs", "2", "--valid", c.ValidPath, c.ValidPath}, tinyFlags...)
	code, _, stderr = runCmd(t, context.Background(), stage.Options{}, append(other, "-o", out, "--resume")...)
	if want := ckptOf(out) + ": a checkpoint of another run: input 1: " + c.TrainPath + " (sha256 "; code != 2 ||
		!strings.Contains(stderr, want) || !strings.Contains(stderr, "was given as "+c.ValidPath) ||
		!strings.Contains(stderr, "rerun without --resume") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("resume on other data: exit %d, stderr %q, want %q...", code, stderr, want)
	}
	if b, _ := os.ReadFile(ckptOf(out)); !bytes.Equal(b, ckBytes) {
		t.Errorf("a refused resume changed the checkpoint")
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused resume wrote %s", out)
	}
	code, _, stderr = runCmd(t, context.Background(), stage.Options{}, append(base, "-o", out, "--resume")...)
	if code != 0 {
		t.Fatalf("resumed run: exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the resumed run's artifact differs from the uninterrupted run's")
	}
	if _, err := os.Stat(ckptOf(out)); err == nil {
		t.Errorf("checkpoint left after the resumed run finished")
	}

	// A kill between the final rename and the checkpoint's removal leaves
	// both: the rerun finds the output up to date and removes the
	// checkpoint of its own run, saying so.
	if err := os.WriteFile(ckptOf(out), ckBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	loud := append(base[:len(base):len(base)], "--quiet=false", "-o", out)
	code, _, stderr = runCmd(t, context.Background(), stage.Options{}, append(loud, "--resume")...)
	if msg := "pretrain: " + out + " is complete; removed the stale checkpoint " + ckptOf(out) + "\n"; code != 0 || !strings.HasSuffix(stderr, msg) {
		t.Errorf("rerun over a stale checkpoint: exit %d, stderr %q, want it to end with %q", code, stderr, msg)
	}
	if _, err := os.Stat(ckptOf(out)); err == nil {
		t.Errorf("the stale checkpoint was not removed")
	}

	// Another run's checkpoint (--seed 4), or an artifact that is no
	// checkpoint, next to an up-to-date output is left alone.
	seed4 := filepath.Join(dir, "seed4.arrow")
	ctx4, cancel4 := context.WithCancel(context.Background())
	defer cancel4()
	code, _, stderr = runCmd(t, ctx4, stage.Options{OnStep: func(st *train.TrainState) {
		if st.Step == 2 {
			cancel4()
		}
	}}, append(base, "--seed", "4", "-o", seed4)...)
	if code != 1 {
		t.Fatalf("interrupted seed-4 run: exit %d, stderr %q", code, stderr)
	}
	for _, foreign := range []string{ckptOf(seed4), full} {
		b, err := os.ReadFile(foreign)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ckptOf(out), b, 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr = runCmd(t, context.Background(), stage.Options{}, loud...)
		if code != 0 || strings.Contains(stderr, "removed") || !strings.Contains(stderr, "up to date") {
			t.Errorf("%s next to an up-to-date output: exit %d, stderr %q", foreign, code, stderr)
		}
		if got, _ := os.ReadFile(ckptOf(out)); !bytes.Equal(got, b) {
			t.Errorf("%s next to an up-to-date output was changed or removed", foreign)
		}
	}
}

func TestPretrainBackwardAndLRFind(t *testing.T) {
	c := lmtest.WikiCorpus(t, t.TempDir(), 6000, 1500, 3)
	dir := t.TempDir()
	out := filepath.Join(dir, "bwd.arrow")
	if code, _, stderr := runCmd(t, context.Background(), stage.Options{}, append([]string{"--epochs", "1", "--backward", "-o", out, c.TrainPath}, tinyFlags...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m, err := artifacts.ReadModel(out, artifacts.KindLM)
	if err != nil || m.Direction != "bwd" {
		t.Fatalf("backward artifact: direction %q, err %v", m.Direction, err)
	}

	lf := filepath.Join(dir, "find.arrow")
	code, stdout, stderr := runCmd(t, context.Background(), stage.Options{},
		"--preset", "tiny", "--bs", "8", "--bptt", "16", "--lr-find", "--lr-find-iters", "60", "--lr-find-start", "1e-5", "-o", lf, c.TrainPath)
	if code != 0 {
		t.Fatalf("lr find: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "suggested lr") || !strings.Contains(stdout, "valley") {
		t.Errorf("lr find output %q", stdout)
	}
	for _, ext := range []string{".lrfind.png", ".lrfind.csv"} {
		if _, err := os.Stat(filepath.Join(dir, "find"+ext)); err != nil {
			t.Errorf("lr find did not write %s: %v", ext, err)
		}
	}
	if _, err := os.Stat(lf); !os.IsNotExist(err) {
		t.Errorf("lr find wrote a model")
	}
}

func TestPretrainBadInputs(t *testing.T) {
	c := lmtest.WikiCorpus(t, t.TempDir(), 3000, 800, 3)
	dir := t.TempDir()
	lm := filepath.Join(dir, "lm.arrow")
	if code, _, stderr := runCmd(t, context.Background(), stage.Options{}, append([]string{"--epochs", "1", "-o", lm, c.TrainPath}, tinyFlags...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	empty := filepath.Join(dir, "empty.arrow")
	lmtest.WriteTokens(t, empty, c.Vocab, [][]int32{{}, {}})
	other := filepath.Join(dir, "other.arrow")
	lmtest.WriteTokens(t, other, append(append([]string(nil), c.Vocab...), "zzz-extra"), c.Valid)
	out := filepath.Join(dir, "out.arrow")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong kind", []string{"-o", out, lm}, "lm"},
		{"empty corpus", []string{"-o", out, empty}, "no tokens"},
		{"vocab mismatch", []string{"-o", out, "--valid", other, c.TrainPath}, "vocab"},
		{"two vocabs", []string{"-o", out, c.TrainPath, other}, "vocab"},
		{"missing file", []string{"-o", out, filepath.Join(dir, "nope.arrow")}, "nope.arrow"},
		{"no out", []string{c.TrainPath}, "--out"},
		{"bad preset", []string{"-o", out, "--preset", "huge", c.TrainPath}, "preset"},
		{"bad schedule", []string{"-o", out, "--schedule", "linear", c.TrainPath}, "schedule"},
		{"bad dropout", []string{"-o", out, "--weight-dropout", "1.5", c.TrainPath}, "--weight-dropout 1.5"},
		{"bad dropout, old spelling", []string{"-o", out, "--weight-p", "1.5", c.TrainPath}, "--weight-dropout 1.5"},
		{"bad stlr, old spelling", []string{"-o", out, "--schedule", "stlr", "--cut-frac", "2", c.TrainPath}, "--stlr-cut-frac 2 must be in (0,1)"},
		{"batch too big", []string{"-o", out, "--bs", "100000", c.TrainPath}, "too small"},
		{"no checkpoint", []string{"-o", out, "--resume", c.TrainPath}, "checkpoint"},
		{"over --max-memory", []string{"-o", out, "--bs", "32", "--max-memory", "64K", c.TrainPath}, "at --bs 32 with windows of up to 41 tokens needs about"},
		{"bad --max-memory", []string{"-o", out, "--max-memory", "lots", c.TrainPath}, "memory size"},
		{"bad precision", []string{"-o", out, "--precision", "fp16", c.TrainPath}, `--precision "fp16": want auto, fp32 or bf16`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--preset", "tiny", "--quiet"}, tc.args...)
			if tc.name == "bad preset" {
				args = tc.args
			}
			code, _, stderr := runCmd(t, context.Background(), stage.Options{}, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", code, stderr)
			}
			t.Log(stderr)
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q: want one line mentioning %q", stderr, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("an output was written")
			}
		})
	}
}

// ckptOf is the default checkpoint of the output out.
func ckptOf(out string) string { return strings.TrimSuffix(out, ".arrow") + ".ckpt.arrow" }
