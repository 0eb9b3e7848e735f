package lmeval

import (
	"context"
	"errors"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/clftest"
	"github.com/ulmfit-go/ulmfit/stage/train"
	"github.com/ulmfit-go/ulmfit/tokenize"
)

// pretrainRun trains a tiny LM for one epoch as 'pretrain' does (the
// shared LM stage) with validation on valid, and returns the validation
// loss it reported. With stopAt > 0 it is interrupted after that many steps
// and leaves its checkpoint (train.CheckpointPath(out)).
func pretrainRun(t *testing.T, out, trainPath, valid string, bs, bptt int, backward bool, stopAt int64) float64 {
	t.Helper()
	cfg, err := nn.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &train.LMStage{Name: "pretrain", Producer: "lmeval-test", TrainPaths: []string{trainPath}, ValidPath: valid,
		Model: cfg, Train: train.LMTrainConfig{Stage: "pretrain", Epochs: 1, BS: bs, BPTT: bptt, LR: 3e-3, Discr: 1, Seed: 3, Backward: backward},
		Beta1: 0.7, Beta2: 0.99, Eps: 1e-5, Backend: cpu.New(2), Out: out, MaxMemory: -1, Quiet: true, Stderr: io.Discard}
	if stopAt > 0 {
		s.OnStep = func(st *train.TrainState) {
			if st.Step >= stopAt {
				cancel()
			}
		}
	}
	res, err := train.RunLMStage(ctx, s)
	if stopAt > 0 {
		if err == nil {
			t.Fatal("the run was not interrupted")
		}
		return math.NaN()
	}
	if err != nil {
		t.Fatal(err)
	}
	return res.ValidLoss
}

// TestMatchesValidation: evaluate lm on the validation data of a training
// run, with its bs and bptt, gives the validation loss that run reported,
// to the last bit, forward and backward, and a checkpoint loads.
func TestMatchesValidation(t *testing.T) {
	dir := t.TempDir()
	trainPath, valid := clftest.TREC(t, dir, 400, 150)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		backward bool
		bs, bptt int
	}{{"fwd", false, 8, 20}, {"bwd", true, 4, 13}} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".lm.arrow")
			want := pretrainRun(t, out, trainPath, valid, tc.bs, tc.bptt, tc.backward, 0)
			res, err := Evaluate(ctx, out, valid, cpu.New(1), Options{BS: tc.bs, BPTT: tc.bptt})
			if err != nil {
				t.Fatal(err)
			}
			// Bit for bit where the GEMM gives the same bits for any thread
			// count and shape (the training run used another thread count);
			// with OpenBLAS to float64 rounding of float32 sums.
			tol := 0.0
			if be := cpu.New(1).(*cpu.Backend); !be.ShapeInvariant() {
				tol = 1e-9 * math.Abs(want)
			}
			if math.Abs(res.Loss-want) > tol || math.IsNaN(want) {
				t.Errorf("loss %v, the training run's validation loss %v", res.Loss, want)
			}
			if math.Abs(res.PPL-math.Exp(want)) > tol*res.PPL*2 || !res.SameVocab || res.Direction != map[bool]string{false: "fwd", true: "bwd"}[tc.backward] {
				t.Errorf("result %+v", res)
			}
			if res.BS != tc.bs || res.Scored != int64(tc.bs)*(res.Tokens/int64(tc.bs)-1) || res.Tokens == 0 {
				t.Errorf("counts %+v", res)
			}
			// Another bs cuts the stream differently: another number.
			other, err := Evaluate(ctx, out, valid, cpu.New(1), Options{BS: tc.bs * 2, BPTT: tc.bptt})
			if err != nil {
				t.Fatal(err)
			}
			if other.Loss == want {
				t.Errorf("bs %d gives the same loss as bs %d: the options are not used", tc.bs*2, tc.bs)
			}
		})
	}
	t.Run("checkpoint", func(t *testing.T) {
		out := filepath.Join(dir, "ck.lm.arrow")
		pretrainRun(t, out, trainPath, valid, 8, 20, false, 3)
		res, err := Evaluate(ctx, train.CheckpointPath(out), valid, cpu.New(1), Options{BS: 8, BPTT: 20})
		if err != nil {
			t.Fatal(err)
		}
		if !res.TrainState || math.IsNaN(res.Loss) || res.Loss <= 0 {
			t.Errorf("checkpoint: %+v", res)
		}
	})
}

// TestVocabRemap: data tokenized with another vocabulary is mapped by
// string: a permuted vocabulary gives the same loss bit for bit; tokens the
// model lacks become xxunk and are counted apart from the data's own.
func TestVocabRemap(t *testing.T) {
	dir := t.TempDir()
	trainPath, valid := clftest.TREC(t, dir, 300, 80)
	h, _, err := artifacts.ReadTokens(trainPath)
	if err != nil {
		t.Fatal(err)
	}
	lm := filepath.Join(dir, "lm.arrow")
	clftest.TinyLM(t, lm, h.Vocab, h.Tokenizer, "fwd", 5)
	ctx := context.Background()
	opt := Options{BS: 4, BPTT: 16}
	base, err := Evaluate(ctx, lm, valid, cpu.New(1), opt)
	if err != nil {
		t.Fatal(err)
	}
	_, vdocs, err := artifacts.ReadTokens(valid)
	if err != nil {
		t.Fatal(err)
	}
	unk, _ := h.Vocab.ID(tokenize.UNK)
	var wantUnk int64
	for _, d := range vdocs {
		for _, id := range d.Tokens {
			if id == unk {
				wantUnk++
			}
		}
	}
	if base.UnkData != wantUnk || base.UnkModel != 0 || !base.SameVocab {
		t.Errorf("same vocab: %+v, want %d unknown in the data", base, wantUnk)
	}

	// The same tokens under a reversed id order.
	n := h.Vocab.Len()
	perm := filepath.Join(dir, "perm.arrow")
	clftest.WriteTokens(t, valid, perm, func(docs []artifacts.Doc, hd *artifacts.TokensHeader) []artifacts.Doc {
		toks := slices.Clone(hd.Vocab.Tokens)
		slices.Reverse(toks)
		hd.Vocab = &artifacts.Vocab{Tokens: toks}
		for i := range docs {
			docs[i].Tokens = slices.Clone(docs[i].Tokens)
			for j, id := range docs[i].Tokens {
				docs[i].Tokens[j] = int32(n-1) - id
			}
		}
		return docs
	})
	got, err := Evaluate(ctx, lm, perm, cpu.New(1), opt)
	if err != nil {
		t.Fatal(err)
	}
	if got.Loss != base.Loss || got.SameVocab || got.UnkData != base.UnkData || got.UnkModel != 0 {
		t.Errorf("permuted vocab: %+v, want loss %v", got, base.Loss)
	}

	// Rename the 30 most frequent non-special tokens to strings the model
	// does not know: they count as "not in the model" and score as xxunk,
	// as the same data with xxunk written in would.
	renamed, asUnk := filepath.Join(dir, "renamed.arrow"), filepath.Join(dir, "asunk.arrow")
	isRenamed := func(id int32) bool { return id >= 20 && id < 50 }
	var wantModel int64
	clftest.WriteTokens(t, valid, renamed, func(docs []artifacts.Doc, hd *artifacts.TokensHeader) []artifacts.Doc {
		toks := slices.Clone(hd.Vocab.Tokens)
		for i := 20; i < 50; i++ {
			toks[i] = "zz-not-in-model-" + toks[i]
		}
		hd.Vocab = &artifacts.Vocab{Tokens: toks}
		for _, d := range docs {
			for _, id := range d.Tokens {
				if isRenamed(id) {
					wantModel++
				}
			}
		}
		return docs
	})
	clftest.WriteTokens(t, valid, asUnk, func(docs []artifacts.Doc, hd *artifacts.TokensHeader) []artifacts.Doc {
		for i := range docs {
			docs[i].Tokens = slices.Clone(docs[i].Tokens)
			for j, id := range docs[i].Tokens {
				if isRenamed(id) {
					docs[i].Tokens[j] = unk
				}
			}
		}
		return docs
	})
	got, err = Evaluate(ctx, lm, renamed, cpu.New(1), opt)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Evaluate(ctx, lm, asUnk, cpu.New(1), opt)
	if err != nil {
		t.Fatal(err)
	}
	if wantModel == 0 || got.UnkModel != wantModel || got.UnkData != wantUnk || got.Loss != ref.Loss || got.Loss == base.Loss {
		t.Errorf("renamed tokens: %+v; want %d not in the model, %d in the data, loss %v", got, wantModel, wantUnk, ref.Loss)
	}
	if want := 100 * float64(wantModel+wantUnk) / float64(got.Tokens); math.Abs(got.UnkPct-want) > 1e-12 {
		t.Errorf("unk %% %v, want %v", got.UnkPct, want)
	}
	if line := got.SummaryLine(); !strings.Contains(line, "vocab mapped by string") || !strings.Contains(line, "not in the model's vocab") {
		t.Errorf("summary %q", line)
	}
}

// TestBadInput: the wrong kind of artifact is an *artifacts.Error (exit 2).
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	trainPath, valid := clftest.TREC(t, dir, 100, 20)
	var ae *artifacts.Error
	if _, err := Evaluate(context.Background(), trainPath, valid, cpu.New(1), Options{BS: 4, BPTT: 8}); !errors.As(err, &ae) {
		t.Errorf("a tokens artifact as the model: %v, want an *artifacts.Error", err)
	}
	if _, err := Evaluate(context.Background(), filepath.Join(dir, "missing.arrow"), valid, cpu.New(1), Options{BS: 4, BPTT: 8}); err == nil {
		t.Error("a missing model: no error")
	}
}
