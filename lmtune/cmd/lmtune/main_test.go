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

func runStage(t *testing.T, name string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	o := stage.Options{Stdout: &stdout, Stderr: &stderr, Backend: cpu.New(1)}
	code := cli.Run(context.Background(), name, args, &stderr, func(ctx context.Context, args []string) error {
		if name == "lmtune" {
			return runWith(ctx, args, o)
		}
		return stage.RunLM(ctx, stage.Pretrain, "", "", args, o)
	})
	return code, stdout.String(), stderr.String()
}

var tiny = []string{"--preset", "tiny", "--bs", "8", "--bptt", "16", "--drop-mult", "0.3", "--seed", "5"}

// setup pretrains a tiny LM on early WikiText paragraphs (vocab A) and
// writes a target corpus of later paragraphs with its own vocab B.
type fixture struct {
	dir, lm   string
	srcVocab  []string
	target    *lmtest.Corpus
	unlabeled string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	src := lmtest.WikiCorpus(t, filepath.Join(dir), 16000, 2000, 3)
	f := &fixture{dir: dir, lm: filepath.Join(dir, "wt.arrow"), srcVocab: src.Vocab}
	if code, _, stderr := runStage(t, "pretrain", append([]string{"--epochs", "3", "--lr", "3e-2", "-o", f.lm, src.TrainPath}, tiny...)...); code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, stderr)
	}
	// Target: TREC questions (a domain far from Wikipedia) with their own
	// vocab: train, unlabeled extra text and valid.
	qs := lmtest.TREC(t, 3000)
	vocab, _ := lmtest.Vocab(qs[:2500], 2)
	tdir := filepath.Join(dir, "target")
	if err := os.Mkdir(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	f.target = &lmtest.Corpus{Vocab: vocab, Train: lmtest.IDs(qs[:2000], vocab), Valid: lmtest.IDs(qs[2500:], vocab),
		TrainPath: filepath.Join(tdir, "train.arrow"), ValidPath: filepath.Join(tdir, "valid.arrow")}
	lmtest.WriteTokens(t, f.target.TrainPath, vocab, f.target.Train)
	lmtest.WriteTokens(t, f.target.ValidPath, vocab, f.target.Valid)
	f.unlabeled = filepath.Join(tdir, "unlabeled.arrow")
	lmtest.WriteTokens(t, f.unlabeled, vocab, lmtest.IDs(qs[2000:2500], vocab))
	return f
}

func TestLMTuneTransfersAndImproves(t *testing.T) {
	f := setup(t)
	out, log := filepath.Join(f.dir, "tuned.arrow"), filepath.Join(f.dir, "log.jsonl")
	code, stdout, stderr := runStage(t, "lmtune", append([]string{"--from", f.lm, "--valid", f.target.ValidPath, "--epochs", "3",
		"--log", log, "--log-every", "5", "-o", out, f.target.TrainPath, f.unlabeled}, tiny...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	t.Log(strings.TrimSpace(stdout))
	want := train.NewVocabRemap(f.srcVocab, f.target.Vocab)
	if want.Copied == 0 || want.Added == 0 {
		t.Fatalf("fixture: %d copied, %d new; want both > 0", want.Copied, want.Added)
	}
	if !strings.Contains(stdout, "vocab transfer from "+f.lm) || !strings.Contains(stdout,
		" "+itoa(want.Copied)+" tokens copied, "+itoa(want.Added)+" new") {
		t.Errorf("stdout %q lacks the transfer report (%d copied, %d new)", stdout, want.Copied, want.Added)
	}
	m, err := artifacts.ReadModel(out, artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	if m.Vocab.Hash() != (&artifacts.Vocab{Tokens: f.target.Vocab}).Hash() {
		t.Errorf("the tuned model does not carry the target vocab")
	}
	if len(m.Lineage.Inputs) != 4 { // train, unlabeled, valid, the pretrained model
		t.Errorf("inputs %+v", m.Lineage.Inputs)
	}
	var metrics struct {
		ValidLoss float64 `json:"valid_loss"`
		Copied    int     `json:"vocab_copied"`
		New       int     `json:"vocab_new"`
	}
	if err := json.Unmarshal(m.Metrics, &metrics); err != nil {
		t.Fatal(err)
	}
	if metrics.Copied != want.Copied || metrics.New != want.Added {
		t.Errorf("metrics %+v", metrics)
	}

	// Before fine-tuning: the pretrained model, transferred to the target vocab.
	be := cpu.New(1)
	src, _, err := train.LoadLM(f.lm, be)
	if err != nil {
		t.Fatal(err)
	}
	srcArt, err := artifacts.ReadModel(f.lm, artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	moved, _, err := train.TransferLM(src, src.Cfg, srcArt.Vocab, m.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	before, err := train.EvaluateLM(context.Background(), moved, &train.LMData{Docs: f.target.Valid}, 8, 16, false, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	unigram := lmtest.UnigramLoss(f.target.Train, f.target.Valid, len(f.target.Vocab))
	t.Logf("target valid ppl: pretrained %.1f, fine-tuned %.1f, unigram %.1f", math.Exp(before), math.Exp(metrics.ValidLoss), math.Exp(unigram))
	if !(metrics.ValidLoss < before-0.1) || !(metrics.ValidLoss < unigram) {
		t.Errorf("fine-tuning did not help: valid loss %.3f, before %.3f, unigram %.3f", metrics.ValidLoss, before, unigram)
	}

	// Discriminative LRs: each group's LR is the next one's / 2.6.
	lrs := firstLRs(t, log)
	for g := 0; g+1 < len(lrs); g++ {
		if r := lrs[g+1] / lrs[g]; math.Abs(r-2.6) > 1e-9 {
			t.Errorf("lr ratio between groups %d and %d is %g, want 2.6 (%v)", g, g+1, r, lrs)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func firstLRs(t *testing.T, log string) []float64 {
	t.Helper()
	fh, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var r struct {
			Type string    `json:"type"`
			LR   []float64 `json:"lr"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Type == "step" {
			return r.LR
		}
	}
	t.Fatal("no step record in the log")
	return nil
}

func TestLMTuneOptions(t *testing.T) {
	f := setup(t)
	out, log := filepath.Join(f.dir, "nd.arrow"), filepath.Join(f.dir, "nd.jsonl")
	code, _, stderr := runStage(t, "lmtune", append([]string{"--from", f.lm, "--no-discr", "--freeze-epochs", "1", "--epochs", "1",
		"--schedule", "one-cycle", "--valid-frac", "0.1", "--log", log, "--log-every", "5", "-o", out, f.target.TrainPath}, tiny...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lrs := firstLRs(t, log)
	for _, lr := range lrs {
		if lr != lrs[len(lrs)-1] {
			t.Errorf("--no-discr: lrs %v differ", lrs)
		}
	}

	// Without --preset, the preset is the one of the LM's sizes (tiny here).
	inferred := filepath.Join(f.dir, "inferred.arrow")
	if code, _, stderr := runStage(t, "lmtune", append([]string{"--from", f.lm, "--epochs", "1", "-o", inferred, f.target.TrainPath}, tiny[2:]...)...); code != 0 {
		t.Fatalf("lmtune without --preset: exit %d: %s", code, stderr)
	}
	if m, err := artifacts.ReadModel(inferred, artifacts.KindLM); err != nil {
		t.Fatal(err)
	} else if got := m.Lineage.Params["preset"]; got != "tiny" {
		t.Errorf("lmtune without --preset from a tiny LM: preset %v, want tiny", got)
	}

	// A model that would not fit in --max-memory: one line, exit 2, no output.
	big := filepath.Join(f.dir, "big.arrow")
	code, _, stderr = runStage(t, "lmtune", append([]string{"--from", f.lm, "--max-memory", "100KiB", "-o", big, f.target.TrainPath}, tiny...)...)
	if code != 2 || !strings.Contains(stderr, "needs about") || !strings.Contains(stderr, "(or --max-memory to override)") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("--max-memory 100KiB: exit %d, %q; want exit 2 and the one-line hint", code, stderr)
	}
	if _, err := os.Stat(big); !os.IsNotExist(err) {
		t.Errorf("--max-memory 100KiB: an output was written")
	}

	// Backward: the model's direction must match.
	code, _, stderr = runStage(t, "lmtune", append([]string{"--from", f.lm, "--backward", "-o", filepath.Join(f.dir, "b.arrow"), f.target.TrainPath}, tiny...)...)
	if code != 2 || !strings.Contains(stderr, "drop --backward") {
		t.Errorf("backward run from a forward model: exit %d, %q", code, stderr)
	}
}

func TestLMTuneBadInputs(t *testing.T) {
	dir := t.TempDir()
	c := lmtest.WikiCorpus(t, dir, 3000, 800, 3)
	other := filepath.Join(dir, "other.arrow")
	lmtest.WriteTokens(t, other, append(append([]string(nil), c.Vocab...), "zzz"), c.Valid)
	out := filepath.Join(dir, "out.arrow")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no from", []string{"-o", out, c.TrainPath}, "--from"},
		{"from is tokens", []string{"--from", c.ValidPath, "-o", out, c.TrainPath}, "want lm"},
		{"from missing", []string{"--from", filepath.Join(dir, "none.arrow"), "-o", out, c.TrainPath}, "none.arrow"},
		{"vocab mismatch", []string{"--from", c.ValidPath, "-o", out, c.TrainPath, other}, "vocab"},
		{"bad discr", []string{"--from", c.ValidPath, "--discr", "0.5", "-o", out, c.TrainPath}, "discr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runStage(t, "lmtune", append(tc.args, "--preset", "tiny", "--quiet")...)
			t.Log(stderr)
			if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line mentioning %q", code, stderr, tc.want)
			}
		})
	}
}

// TestLMTuneResumeOtherFrom: --resume refuses a checkpoint of a run that
// started from another --from model (exit 2, one line naming the
// checkpoint and the model, the checkpoint left as it was), and accepts the
// same model under another name.
func TestLMTuneResumeOtherFrom(t *testing.T) {
	f := setup(t)
	out := filepath.Join(f.dir, "ft.arrow")
	args := append([]string{"--epochs", "1", "--quiet", "-o", out, f.target.TrainPath}, tiny...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	o := stage.Options{Stdout: &stderr, Stderr: &stderr, Backend: cpu.New(1), OnStep: func(st *train.TrainState) {
		if st.Step == 2 {
			cancel()
		}
	}}
	if code := cli.Run(ctx, "lmtune", append([]string{"--from", f.lm}, args...), &stderr, func(ctx context.Context, a []string) error {
		return runWith(ctx, a, o)
	}); code != 1 {
		t.Fatalf("interrupted run: exit %d: %s", code, stderr.String())
	}
	ck := strings.TrimSuffix(out, ".arrow") + ".ckpt.arrow"
	ckBytes, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}

	// Another model: the same one with one weight changed.
	m, err := artifacts.ReadModel(f.lm, artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	m.Tensors[0].Data[0] += 0.5
	other := filepath.Join(f.dir, "other.arrow")
	if err := artifacts.WriteModel(other, m); err != nil {
		t.Fatal(err)
	}
	code, _, msg := runStage(t, "lmtune", append([]string{"--from", other, "--resume"}, args...)...)
	if code != 2 || !strings.Contains(msg, ck+": a checkpoint of another run: input 2: "+f.lm) || !strings.Contains(msg, "was given as "+other) ||
		strings.Count(strings.TrimSpace(msg), "\n") != 0 {
		t.Errorf("resume from another --from: exit %d, %q; want exit 2 and one line naming %s and %s", code, msg, ck, other)
	}
	if b, _ := os.ReadFile(ck); !bytes.Equal(b, ckBytes) {
		t.Error("a refused resume changed the checkpoint")
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused resume wrote the output")
	}

	// The same model under another name is the same input.
	same := filepath.Join(f.dir, "same.arrow")
	b, err := os.ReadFile(f.lm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(same, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, msg := runStage(t, "lmtune", append([]string{"--from", same, "--resume"}, args...)...); code != 0 {
		t.Errorf("resume with the same --from under another name: exit %d, %q", code, msg)
	}
}
