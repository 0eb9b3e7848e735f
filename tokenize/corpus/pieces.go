package corpus

import (
	"fmt"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/tokenize"
	"github.com/ulmfit-go/ulmfit/tokenize/sentencepiece"
)

// PieceVocab is the vocabulary of the "sentencepiece" tokenizer of s: the special tokens
// first (ids 0..), then the newline token, then every piece the model can produce, in
// the model's order. The model's unknown piece is xxunk, its control and unused pieces
// are left out, and a piece that is "▁" + a special token (fastai trains its models with
// the special tokens as user-defined symbols) is that special token.
func PieceVocab(s tokenize.Settings) (*artifacts.Vocab, error) {
	if s.Tokenizer != tokenize.TokSentencePiece {
		return nil, fmt.Errorf("corpus: tokenizer %q has no piece vocabulary", s.Tokenizer)
	}
	m, err := sentencepiece.Parse(s.SPModel)
	if err != nil {
		return nil, err
	}
	v := &artifacts.Vocab{}
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			v.Tokens = append(v.Tokens, t)
		}
	}
	for _, t := range s.Specials {
		add(t)
	}
	if s.Newline != "" {
		add(s.Newline)
	}
	for _, p := range m.Pieces {
		switch p.Type {
		case sentencepiece.Unknown, sentencepiece.Control, sentencepiece.Unused:
			continue
		}
		if len(p.Piece) > len(sentencepiece.Space) && p.Piece[:len(sentencepiece.Space)] == sentencepiece.Space && seen[p.Piece[len(sentencepiece.Space):]] && isSpecial(s, p.Piece[len(sentencepiece.Space):]) {
			continue
		}
		add(p.Piece)
	}
	v.Counts = make([]int64, len(v.Tokens))
	return v, nil
}

func isSpecial(s tokenize.Settings, t string) bool {
	if t == s.Newline {
		return true
	}
	for _, sp := range s.Specials {
		if sp == t {
			return true
		}
	}
	return false
}
