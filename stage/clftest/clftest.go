// Package clftest builds the small fixtures that the clftune, evaluate and
// ensemble tests share: TREC-6 tokens artifacts made by the real tokenizer
// from the embedded data (data/trec), and random tiny language models.
package clftest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/clftrain"
	"github.com/ulmfit-go/ulmfit/stage/train"
	"github.com/ulmfit-go/ulmfit/tokenize"
	"github.com/ulmfit-go/ulmfit/tokenize/corpus"
)

// RepoRoot returns the folder holding go.work, searching up from the
// working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("go.work not found above the working directory")
		}
		dir = up
	}
}

// TRECCSV returns the path of the embedded TREC-6 CSV ("train" or "test").
func TRECCSV(t testing.TB, split string) string {
	return filepath.Join(RepoRoot(t), "data", "trec", split+".csv.zst")
}

// TREC tokenizes the embedded TREC-6 train and test sets with the default
// tokenizer settings (train vocabulary, min_freq 2, the test set with the
// train vocabulary and label order) and writes the first nTrain / nTest
// documents (0: all) as tokens artifacts in dir.
func TREC(t testing.TB, dir string, nTrain, nTest int) (trainPath, testPath string) {
	t.Helper()
	ctx := context.Background()
	s := tokenize.Default()
	tr, err := corpus.Build(ctx, corpus.Config{Settings: s, Inputs: []string{TRECCSV(t, "train")}, MaxVocab: 60000, MinFreq: 2, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	te, err := corpus.Build(ctx, corpus.Config{Settings: s, Inputs: []string{TRECCSV(t, "test")}, Vocab: tr.Vocab,
		Labels: tr.LabelNames, LabelsFrom: "train", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	trainPath, testPath = filepath.Join(dir, "trec.train.tokens.arrow"), filepath.Join(dir, "trec.test.tokens.arrow")
	for _, x := range []struct {
		r    *corpus.Result
		path string
		n    int
	}{{tr, trainPath, nTrain}, {te, testPath, nTest}} {
		full := x.path + ".full"
		if err := x.r.Write(full, artifacts.Lineage{Producer: "evaltest"}, s); err != nil {
			t.Fatal(err)
		}
		Subset(t, full, x.path, x.n)
		os.Remove(full)
	}
	return trainPath, testPath
}

// Subset writes the first n documents (0: all) of a tokens artifact to out,
// keeping its header.
func Subset(t testing.TB, in, out string, n int) {
	t.Helper()
	WriteTokens(t, in, out, func(docs []artifacts.Doc, h *artifacts.TokensHeader) []artifacts.Doc {
		if n > 0 && n < len(docs) {
			docs = docs[:n]
		}
		return docs
	})
}

// WriteTokens rewrites a tokens artifact through edit, which may change
// the documents and the header.
func WriteTokens(t testing.TB, in, out string, edit func([]artifacts.Doc, *artifacts.TokensHeader) []artifacts.Doc) {
	t.Helper()
	h, docs, err := artifacts.ReadTokens(in)
	if err != nil {
		t.Fatal(err)
	}
	docs = edit(docs, h)
	w, err := artifacts.NewTokensWriter(out, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if err := w.Write(d); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TinyLM writes a randomly initialized tiny-preset language model artifact
// over vocab (fwd or bwd) with the given tokenizer settings.
func TinyLM(t testing.TB, path string, vocab *artifacts.Vocab, tok json.RawMessage, dir string, seed uint64) {
	t.Helper()
	cfg, err := nn.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	pad, ok := vocab.ID(tokenize.PAD)
	if !ok {
		t.Fatal("vocab without xxpad")
	}
	cfg.VocabSize, cfg.PadID = vocab.Len(), pad
	lm, err := nn.NewLM(cfg, nn.Reference())
	if err != nil {
		t.Fatal(err)
	}
	lm.Init(seed)
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &artifacts.Model{
		Lineage:   artifacts.Lineage{Kind: artifacts.KindLM, Producer: "evaltest"},
		Config:    raw,
		Vocab:     vocab,
		Tokenizer: tok,
		Direction: dir,
		Tensors:   train.Tensors(lm.Params()),
	}
	if err := artifacts.WriteModel(path, m); err != nil {
		t.Fatal(fmt.Errorf("writing %s: %w", path, err))
	}
}

// Classifier trains a tiny-preset classifier from scratch on a tokens
// artifact for a few epochs (mode "full", lr 0.01, no validation) and
// writes it as a self-contained classifier artifact, reversing the
// documents when dir is "bwd".
func Classifier(t testing.TB, path, tokens, dir string, epochs int, seed uint64) {
	t.Helper()
	d, err := clftrain.LoadData(tokens, clftrain.Target{Vocab: mustVocab(t, tokens), Backward: artifacts.IsBackward(dir), RequireLabels: true})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := nn.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	v := d.Header.Vocab
	pad, _ := v.ID(tokenize.PAD)
	enc.VocabSize, enc.PadID = v.Len(), pad
	cfg := nn.DefaultClassifierConfig(enc, len(d.LabelNames))
	cfg.MultiLabel = d.MultiLabel
	m, err := nn.NewClassifier(cfg, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	m.Init(seed)
	mode, _ := clftrain.ModeByName("full")
	ph, err := mode.Plan(clftrain.PlanConfig{Groups: m.NumGroups(), Epochs: epochs, LR: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tn := &clftrain.Trainer{
		Cfg:   clftrain.Config{Phases: ph, Schedule: clftrain.DefaultSchedule(), BS: 32, Beta1: 0.7, Seed: seed},
		Model: m, Opt: nn.NewAdam(m.Backend(), m.Params(), 0.7, 0.99, 1e-5, 0),
		Train: d.Examples,
		Template: artifacts.Model{Lineage: artifacts.Lineage{Kind: artifacts.KindClassifier, Producer: "evaltest"},
			Config: raw, Vocab: v, Tokenizer: d.Header.Tokenizer, LabelNames: d.LabelNames, Direction: dir},
	}
	if _, err := tn.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	art, err := tn.Artifact(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := artifacts.WriteModel(path, art); err != nil {
		t.Fatal(err)
	}
}

func mustVocab(t testing.TB, tokens string) *artifacts.Vocab {
	t.Helper()
	r, err := artifacts.OpenTokens(tokens)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Header().Vocab
}

// MultiLabel rewrites a single-label tokens artifact as a multi-label one:
// each document keeps its class, and every third document also gets the
// next class.
func MultiLabel(t testing.TB, in, out string) {
	t.Helper()
	WriteTokens(t, in, out, func(docs []artifacts.Doc, h *artifacts.TokensHeader) []artifacts.Doc {
		h.MultiLabel = true
		n := int32(len(h.LabelNames))
		for i := range docs {
			l := docs[i].Label
			docs[i].Labels = []int32{l}
			if i%3 == 0 {
				docs[i].Labels = append(docs[i].Labels, (l+1)%n)
			}
			docs[i].Label = -1
		}
		return docs
	})
}
