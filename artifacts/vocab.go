package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Vocab is a vocabulary in id order (special tokens first). Counts, when
// present, has one entry per token.
type Vocab struct {
	Tokens []string
	Counts []int64

	once sync.Once
	ids  map[string]int32
}

// Len is the number of tokens.
func (v *Vocab) Len() int { return len(v.Tokens) }

// ID returns the id of tok. The lookup map is built on first use; ID is safe
// for concurrent use as long as Tokens is not modified after the first call.
func (v *Vocab) ID(tok string) (int32, bool) {
	v.once.Do(func() {
		v.ids = make(map[string]int32, len(v.Tokens))
		for i, t := range v.Tokens {
			if _, dup := v.ids[t]; !dup {
				v.ids[t] = int32(i)
			}
		}
	})
	id, ok := v.ids[tok]
	return id, ok
}

// Hash is the hex SHA-256 of the tokens joined by "\n": two vocabularies with
// the same Hash map ids to the same tokens.
func (v *Vocab) Hash() string {
	h := sha256.New()
	for i, t := range v.Tokens {
		if i > 0 {
			h.Write([]byte{'\n'})
		}
		h.Write([]byte(t))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// validate checks what a writer needs: unique tokens without newlines (the
// hash joins by "\n") and matching counts.
func (v *Vocab) validate() error {
	if v.Counts != nil && len(v.Counts) != len(v.Tokens) {
		return fmt.Errorf("artifacts: vocab has %d tokens but %d counts", len(v.Tokens), len(v.Counts))
	}
	seen := make(map[string]int, len(v.Tokens))
	for i, t := range v.Tokens {
		if j, dup := seen[t]; dup {
			return fmt.Errorf("artifacts: vocab token %q appears twice (ids %d and %d)", t, j, i)
		}
		if strings.ContainsRune(t, '\n') {
			return fmt.Errorf("artifacts: vocab token %d (%q) contains a newline", i, t)
		}
		seen[t] = i
	}
	return nil
}

// putVocab embeds v in metadata (tokens, counts if any, hash).
func putVocab(meta map[string]string, v *Vocab) error {
	if v == nil {
		return nil
	}
	if err := v.validate(); err != nil {
		return err
	}
	toks := v.Tokens
	if toks == nil {
		toks = []string{}
	}
	if err := putValue(meta, MetaVocab, toks); err != nil {
		return err
	}
	if v.Counts != nil {
		if err := putValue(meta, MetaVocabCounts, v.Counts); err != nil {
			return err
		}
	}
	meta[MetaVocabHash] = v.Hash()
	return nil
}

// embeddedVocab decodes the vocab carried in the metadata, or nil if none.
func (af *arrowFile) embeddedVocab() (*Vocab, error) {
	if _, ok := af.meta[MetaVocab]; !ok {
		return nil, nil
	}
	v := &Vocab{}
	if err := af.metaJSON(MetaVocab, &v.Tokens); err != nil {
		return nil, err
	}
	if err := af.metaJSON(MetaVocabCounts, &v.Counts); err != nil {
		return nil, err
	}
	if v.Counts != nil && len(v.Counts) != len(v.Tokens) {
		return nil, errorf(af.path, MetaVocabCounts, ErrCorrupt, "%d counts for %d tokens", len(v.Counts), len(v.Tokens))
	}
	if want, ok := af.meta[MetaVocabHash]; ok && want != v.Hash() {
		return nil, errorf(af.path, MetaVocabHash, ErrCorrupt, "embedded vocab hashes to %s, want %s", v.Hash(), want)
	}
	return v, nil
}

var vocabCols = []colSpec{
	{"token", arrow.BinaryTypes.String},
	{"count", arrow.PrimitiveTypes.Int64},
}

// vocabBatchRows is the number of tokens per record batch of a vocab file.
const vocabBatchRows = 1 << 16

// WriteVocab writes v as a vocab artifact: one row per token (token utf8,
// count int64) in id order. Missing counts are written as 0.
func WriteVocab(path string, lin Lineage, v *Vocab) error {
	if v == nil {
		return fmt.Errorf("artifacts: WriteVocab %s: nil vocab", path)
	}
	if err := v.validate(); err != nil {
		return err
	}
	meta, err := lineageMeta(KindVocab, lin)
	if err != nil {
		return err
	}
	meta[MetaVocabHash] = v.Hash()
	w, err := newArrowWriter(path, []arrow.Field{
		{Name: "token", Type: arrow.BinaryTypes.String},
		{Name: "count", Type: arrow.PrimitiveTypes.Int64},
	}, meta)
	if err != nil {
		return err
	}
	for beg := 0; beg < len(v.Tokens); beg += vocabBatchRows {
		end := min(beg+vocabBatchRows, len(v.Tokens))
		sb := array.NewStringBuilder(w.mem)
		sb.AppendValues(v.Tokens[beg:end], nil)
		cb := array.NewInt64Builder(w.mem)
		if v.Counts != nil {
			cb.AppendValues(v.Counts[beg:end], nil)
		} else {
			cb.AppendValues(make([]int64, end-beg), nil)
		}
		cols := []arrow.Array{sb.NewArray(), cb.NewArray()}
		sb.Release()
		cb.Release()
		if err := w.write(cols); err != nil {
			w.abort()
			return err
		}
	}
	return w.close()
}

// ReadVocab reads a vocab artifact.
func ReadVocab(path string) (*Vocab, Lineage, error) {
	af, err := openArtifact(path, []Kind{KindVocab}, vocabCols)
	if err != nil {
		return nil, Lineage{}, err
	}
	defer af.close()
	v := &Vocab{Tokens: []string{}, Counts: []int64{}}
	for b := 0; b < af.numBatches(); b++ {
		rec, err := af.batch(b)
		if err != nil {
			return nil, Lineage{}, err
		}
		toks := af.column(rec, "token").(*array.String)
		cnts := af.column(rec, "count").(*array.Int64)
		if err := af.noNulls(toks, "token", b); err != nil {
			rec.Release()
			return nil, Lineage{}, err
		}
		for i := 0; i < toks.Len(); i++ {
			v.Tokens = append(v.Tokens, strings.Clone(toks.Value(i)))
		}
		v.Counts = append(v.Counts, cnts.Int64Values()...)
		rec.Release()
	}
	if want, ok := af.meta[MetaVocabHash]; ok && want != v.Hash() {
		return nil, Lineage{}, errorf(path, MetaVocabHash, ErrCorrupt, "tokens hash to %s, want %s", v.Hash(), want)
	}
	return v, af.lin, nil
}

// LoadVocab returns the vocabulary of any artifact that carries one: a vocab
// artifact, or the vocab embedded in a tokens, lm or classifier artifact.
func LoadVocab(path string) (*Vocab, error) {
	af, err := openArtifact(path, nil, nil)
	if err != nil {
		return nil, err
	}
	if af.lin.Kind == KindVocab {
		af.close()
		v, _, err := ReadVocab(path)
		return v, err
	}
	defer af.close()
	// Verify the header checksum before trusting the embedded vocab.
	if af.numBatches() > 0 {
		rec, err := af.batch(0)
		if err != nil {
			return nil, err
		}
		rec.Release()
	}
	v, err := af.embeddedVocab()
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, errorf(path, MetaVocab, ErrWrongKind, "this %s artifact carries no vocab; want a vocab, tokens, lm or classifier artifact", af.lin.Kind)
	}
	return v, nil
}
