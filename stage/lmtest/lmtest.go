// Package lmtest builds small real corpora for the tests of the LM stages:
// WikiText-103 articles from the repository's data folder, split on
// whitespace (the text is already tokenized), written as tokens artifacts.
package lmtest

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulmfit-go/ulmfit/artifacts"
)

// Specials are the special tokens, first in every vocab (fastai v2 order).
var Specials = []string{"xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxmaj", "xxup", "xxrep", "xxwrep"}

// RepoFile returns the path of a file relative to the repository root (the
// folder holding go.work), searched upwards from the working directory.
func RepoFile(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return filepath.Join(dir, rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.work above the working directory")
		}
		dir = parent
	}
}

// Articles reads WikiText paragraphs (one document per non-heading line)
// from a .tokens.zst file, as whitespace tokens, until maxTokens.
func Articles(t testing.TB, path string, maxTokens int) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderMaxWindow(1<<31))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var docs [][]string
	total := 0
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "= ") && strings.HasSuffix(line, " =") {
			continue // a heading
		}
		w := strings.Fields(line)
		docs = append(docs, w)
		total += len(w)
		if total >= maxTokens {
			return docs
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}

// Vocab returns the specials then the words seen at least minCount times,
// by count (descending) then string, and the counts.
func Vocab(docs [][]string, minCount int) ([]string, map[string]int) {
	counts := map[string]int{}
	for _, d := range docs {
		for _, w := range d {
			counts[w]++
		}
	}
	var words []string
	for w, c := range counts {
		if c >= minCount && !contains(Specials, w) {
			words = append(words, w)
		}
	}
	sort.Slice(words, func(i, j int) bool {
		if counts[words[i]] != counts[words[j]] {
			return counts[words[i]] > counts[words[j]]
		}
		return words[i] < words[j]
	})
	return append(append([]string(nil), Specials...), words...), counts
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// IDs numericalizes documents: xxbos then each word's id (xxunk if unknown).
func IDs(docs [][]string, vocab []string) [][]int32 {
	pos := map[string]int32{}
	for i, w := range vocab {
		pos[w] = int32(i)
	}
	out := make([][]int32, len(docs))
	for i, d := range docs {
		ids := []int32{2}
		for _, w := range d {
			id, ok := pos[w]
			if !ok {
				id = 0
			}
			ids = append(ids, id)
		}
		out[i] = ids
	}
	return out
}

// WriteTokens writes a tokens artifact.
func WriteTokens(t testing.TB, path string, vocab []string, docs [][]int32) {
	t.Helper()
	w, err := artifacts.NewTokensWriter(path, &artifacts.TokensHeader{
		Lineage:   artifacts.Lineage{Producer: "lmtest"},
		Vocab:     &artifacts.Vocab{Tokens: vocab, Counts: make([]int64, len(vocab))},
		Tokenizer: []byte(`{"rules":"whitespace (test)"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		if err := w.Write(artifacts.Doc{ID: int64(i), Label: -1, Tokens: d}); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// UnigramLoss is the mean negative log-likelihood of the valid documents
// (their targets: every token after the first) under the add-one unigram
// model of the training documents: the baseline an LM must beat.
func UnigramLoss(train, valid [][]int32, vocabSize int) float64 {
	counts := make([]float64, vocabSize)
	var n float64
	for _, d := range train {
		for _, id := range d {
			counts[id]++
			n++
		}
	}
	var nll float64
	var cnt int
	for _, d := range valid {
		for _, id := range d[1:] {
			nll -= math.Log((counts[id] + 1) / (n + float64(vocabSize)))
			cnt++
		}
	}
	return nll / float64(cnt)
}

// Corpus is a small WikiText train/valid pair written as tokens artifacts.
type Corpus struct {
	Vocab                []string
	Train, Valid         [][]int32
	TrainPath, ValidPath string
}

// WikiCorpus writes the first paragraphs of WikiText-103 valid (about
// trainTokens words) as dir/train.arrow and the next ones (about
// validTokens) as dir/valid.arrow, with a vocab of the training words seen
// at least minCount times.
func WikiCorpus(t testing.TB, dir string, trainTokens, validTokens, minCount int) *Corpus {
	t.Helper()
	arts := Articles(t, RepoFile(t, "data/wikitext103/valid.tokens.zst"), trainTokens+validTokens)
	var tr, va [][]string
	n := 0
	for _, a := range arts {
		if n < trainTokens {
			tr = append(tr, a)
		} else {
			va = append(va, a)
		}
		n += len(a)
	}
	if len(va) == 0 {
		t.Fatalf("not enough WikiText paragraphs for %d+%d tokens", trainTokens, validTokens)
	}
	vocab, _ := Vocab(tr, minCount)
	c := &Corpus{Vocab: vocab, Train: IDs(tr, vocab), Valid: IDs(va, vocab),
		TrainPath: filepath.Join(dir, "train.arrow"), ValidPath: filepath.Join(dir, "valid.arrow")}
	WriteTokens(t, c.TrainPath, vocab, c.Train)
	WriteTokens(t, c.ValidPath, vocab, c.Valid)
	return c
}

// String describes the corpus.
func (c *Corpus) String() string {
	count := func(d [][]int32) (n int) {
		for _, x := range d {
			n += len(x)
		}
		return
	}
	return fmt.Sprintf("vocab %d, train %d docs/%d tokens, valid %d docs/%d tokens", len(c.Vocab), len(c.Train), count(c.Train), len(c.Valid), count(c.Valid))
}

// TREC reads up to n questions of the embedded TREC-6 training set as
// whitespace tokens ("?" and "," split off): a target domain far from
// Wikipedia.
func TREC(t testing.TB, n int) [][]string {
	t.Helper()
	f, err := os.Open(RepoFile(t, "data/trec/train.csv.zst"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderMaxWindow(1<<31))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	r := csv.NewReader(zr)
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]string
	for _, row := range rows[1:] { // header: label,fine_label,text
		text := row[len(row)-1]
		text = strings.NewReplacer("?", " ? ", ",", " , ").Replace(text)
		docs = append(docs, strings.Fields(text))
		if len(docs) == n {
			break
		}
	}
	return docs
}
