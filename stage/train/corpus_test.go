package train

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// writeTokens writes a tokens artifact with the given vocab and documents.
func writeTokens(t testing.TB, path string, vocab []string, docs [][]int32) {
	t.Helper()
	w, err := artifacts.NewTokensWriter(path, &artifacts.TokensHeader{
		Lineage:   artifacts.Lineage{Producer: "train test"},
		Vocab:     &artifacts.Vocab{Tokens: vocab, Counts: make([]int64, len(vocab))},
		Tokenizer: []byte(`{"rules":"test"}`),
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

func TestLoadCorpus(t *testing.T) {
	dir := t.TempDir()
	vocab := []string{"xxunk", "xxpad", "xxbos", "a", "b"}
	a, b := filepath.Join(dir, "a.arrow"), filepath.Join(dir, "b.arrow")
	writeTokens(t, a, vocab, [][]int32{{2, 3, 4}, {}, {2, 4}})
	writeTokens(t, b, vocab, [][]int32{{2, 3}})
	c, err := LoadCorpus(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 3 || c.Tokens != 7 || len(c.Inputs) != 2 || c.Inputs[0].SHA256 == "" {
		t.Errorf("corpus: %d docs, %d tokens, inputs %+v", len(c.Docs), c.Tokens, c.Inputs)
	}
	if string(c.Header.Tokenizer) != `{"rules":"test"}` {
		t.Errorf("tokenizer settings not kept: %s", c.Header.Tokenizer)
	}

	other := filepath.Join(dir, "other.arrow")
	writeTokens(t, other, []string{"xxunk", "xxpad", "xxbos", "a", "c"}, [][]int32{{2, 3}})
	_, err = LoadCorpus(a, other)
	var ae *artifacts.Error
	if !errors.Is(err, ErrVocabMismatch) || !errors.As(err, &ae) || ae.Path != other {
		t.Errorf("vocab mismatch: err = %v", err)
	}
	if err := c.CheckVocab(a, &artifacts.Vocab{Tokens: vocab}, "m.arrow"); err != nil {
		t.Errorf("same vocab: %v", err)
	}
	if err := c.CheckVocab(a, &artifacts.Vocab{Tokens: vocab[:4]}, "m.arrow"); !errors.Is(err, ErrVocabMismatch) || !strings.Contains(err.Error(), "m.arrow") {
		t.Errorf("CheckVocab mismatch: %v", err)
	}

	empty := filepath.Join(dir, "empty.arrow")
	writeTokens(t, empty, vocab, [][]int32{{}, {}})
	if _, err := LoadCorpus(empty); !errors.Is(err, ErrCorpusTooSmall) || !errors.As(err, &ae) {
		t.Errorf("empty corpus: err = %v", err)
	}
	if _, err := LoadCorpus(filepath.Join(dir, "missing.arrow")); err == nil {
		t.Errorf("missing file: no error")
	}
}

func TestSplitValid(t *testing.T) {
	docs := make([][]int32, 20)
	for i := range docs {
		docs[i] = []int32{int32(i)}
	}
	tr, va, err := SplitValid(docs, 0.1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 18 || len(va) != 2 {
		t.Fatalf("split %d/%d, want 18/2", len(tr), len(va))
	}
	for i := 1; i < len(tr); i++ {
		if tr[i][0] <= tr[i-1][0] {
			t.Errorf("train docs not in original order")
		}
	}
	tr2, va2, _ := SplitValid(docs, 0.1, 3)
	if va2[0][0] != va[0][0] || len(tr2) != len(tr) {
		t.Errorf("split not deterministic")
	}
	if _, _, err := SplitValid(docs[:1], 0.1, 3); err == nil {
		t.Errorf("one document: no error")
	}
	if _, _, err := SplitValid(docs, 1.5, 3); err == nil {
		t.Errorf("frac 1.5: no error")
	}
}
