package train

import (
	"errors"
	"fmt"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// ErrVocabMismatch is wrapped by errors about inputs whose vocabularies differ.
var ErrVocabMismatch = errors.New("vocabulary mismatch")

// Corpus is the text a language model trains on: the documents of one or
// more tokens artifacts that share one vocabulary.
type Corpus struct {
	// Header is the first artifact's header (vocab, tokenizer settings).
	Header *artifacts.TokensHeader
	// Docs are the token ids of every document, in file order.
	Docs [][]int32
	// Inputs describe the files read (path and SHA-256), for lineage.
	Inputs []artifacts.Input
	// Tokens is the total token count.
	Tokens int64
}

// LoadCorpus reads tokens artifacts. All must embed the same vocabulary
// (compared by hash); otherwise the error (an *artifacts.Error naming the
// file, wrapping ErrVocabMismatch) says so. Empty documents are skipped; a
// corpus without any token is an error.
func LoadCorpus(paths ...string) (*Corpus, error) {
	if len(paths) == 0 {
		return nil, errors.New("no tokens artifact given")
	}
	c := &Corpus{}
	for _, p := range paths {
		h, docs, err := artifacts.ReadTokens(p)
		if err != nil {
			return nil, err
		}
		in, err := artifacts.InputOf(p)
		if err != nil {
			return nil, err
		}
		c.Inputs = append(c.Inputs, in)
		if c.Header == nil {
			c.Header = h
		} else if h.Vocab.Hash() != c.Header.Vocab.Hash() {
			return nil, &artifacts.Error{Path: p, Field: artifacts.MetaVocab, Err: ErrVocabMismatch,
				Msg: fmt.Sprintf("vocabulary (%d tokens) differs from that of %s (%d tokens): tokenize every input with the same vocab (tokenize --vocab)",
					h.Vocab.Len(), paths[0], c.Header.Vocab.Len())}
		}
		for _, d := range docs {
			if len(d.Tokens) == 0 {
				continue
			}
			c.Docs = append(c.Docs, d.Tokens)
			c.Tokens += int64(len(d.Tokens))
		}
	}
	if c.Tokens == 0 {
		return nil, &artifacts.Error{Path: paths[0], Err: ErrCorpusTooSmall,
			Msg: "the corpus has no tokens (empty documents only): check the tokenize step's input"}
	}
	return c, nil
}

// CheckVocab returns an *artifacts.Error wrapping ErrVocabMismatch if the
// corpus vocabulary differs from v (the model's), naming path (the corpus
// file) and what to do.
func (c *Corpus) CheckVocab(path string, v *artifacts.Vocab, modelPath string) error {
	if v.Hash() == c.Header.Vocab.Hash() {
		return nil
	}
	return &artifacts.Error{Path: path, Field: artifacts.MetaVocab, Err: ErrVocabMismatch,
		Msg: fmt.Sprintf("vocabulary (%d tokens) differs from the model %s (%d tokens): tokenize with the model's vocab (tokenize --vocab %s)",
			c.Header.Vocab.Len(), modelPath, v.Len(), modelPath)}
}

// SplitValid moves a fraction of the documents (at least one, chosen by a
// seeded permutation) into a validation set; the rest, in their original
// order, train. frac must be in (0,1).
func SplitValid(docs [][]int32, frac float64, seed uint64) (train, valid [][]int32, err error) {
	if frac <= 0 || frac >= 1 {
		return nil, nil, fmt.Errorf("--valid-frac %g: must be in (0,1)", frac)
	}
	if len(docs) < 2 {
		return nil, nil, fmt.Errorf("--valid-frac needs at least 2 documents, the corpus has %d: pass --valid FILE", len(docs))
	}
	n := max(1, int(frac*float64(len(docs))+0.5))
	n = min(n, len(docs)-1)
	isValid := make([]bool, len(docs))
	for _, i := range NewRNG(seed, StreamSplit).Perm(len(docs))[:n] {
		isValid[i] = true
	}
	for i, d := range docs {
		if isValid[i] {
			valid = append(valid, d)
		} else {
			train = append(train, d)
		}
	}
	return train, valid, nil
}
