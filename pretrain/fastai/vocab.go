package fastai

import (
	"fmt"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// Specials are ulmfit's special tokens in their canonical id order (the
// first ids of every vocab this package writes).
var Specials = []string{"xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxmaj", "xxup", "xxrep", "xxwrep"}

// v07Specials maps fastai 0.7's special tokens to ours. 0.7 had no
// end-of-stream or capitalised-word token (it lowercased and marked whole
// capitalised words with t_up).
var v07Specials = map[string]string{
	"_unk_": "xxunk", "_pad_": "xxpad", "xbos": "xxbos", "xfld": "xxfld",
	"t_up": "xxup", "tk_rep": "xxrep", "tk_wrep": "xxwrep",
}

// fakeToken is what fastai pads its vocab with to a multiple of 8.
const fakeToken = "xxfake"

// readItos decodes a pickled token list (fastai's itos_*.pkl).
func readItos(data []byte) ([]string, error) {
	obj, _, err := unpickle(data, 0, func(u *pickle.Unpickler) { u.FindClass = findClass })
	if err != nil {
		return nil, fmt.Errorf("not a pickle: %w", err)
	}
	var items []any
	switch v := obj.(type) {
	case *types.List:
		items = *v
	case *types.Tuple:
		items = *v
	case *opaqueObject: // a list subclass, or fastcore's L (items in an attribute)
		items = v.list
		for _, it := range v.items {
			if l, ok := it.Value.(*types.List); ok && (it.Key == "items" || it.Key == "_items") {
				items = *l
			}
		}
		if items == nil {
			return nil, fmt.Errorf("holds a %s, want a list of token strings", v.class)
		}
	default:
		return nil, fmt.Errorf("holds a %s, want a list of token strings", pyType(obj))
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("item %d is a %s, want a token string", i, pyType(it))
		}
		out[i] = s
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the token list is empty")
	}
	return out, nil
}

// vocabMap is how a fastai itos becomes an ulmfit vocab: Tokens[i] is the
// token of our id i and Src[i] the row of the fastai weights it comes from.
type vocabMap struct {
	Tokens     []string
	Src        []int
	Translated int // special tokens renamed (fastai 0.7)
	Dropped    []string
}

// translateVocab renames fastai 0.7 specials to ours, drops the xxfake
// padding entries and tokens that contain a newline (no tokenizer of ours
// produces them, and vocab artifacts cannot hold them), and moves the
// specials present to the front in canonical order; the other tokens keep
// their relative order. A token left twice is an error.
func translateVocab(itos []string) (*vocabMap, error) {
	old := false
	hasNew := false
	for _, t := range itos {
		if t == "_unk_" {
			old = true
		}
		if t == "xxunk" {
			hasNew = true
		}
	}
	old = old && !hasNew
	m := &vocabMap{}
	type tok struct {
		s   string
		src int
	}
	toks := make([]tok, 0, len(itos))
	for i, t := range itos {
		if old {
			if nt, ok := v07Specials[t]; ok {
				t = nt
				m.Translated++
			}
		}
		if t == fakeToken || strings.ContainsRune(t, '\n') {
			m.Dropped = append(m.Dropped, t)
			continue
		}
		toks = append(toks, tok{t, i})
	}
	seen := make(map[string]int, len(toks))
	for _, t := range toks {
		if j, dup := seen[t.s]; dup {
			return nil, fmt.Errorf("token %.60q appears twice (ids %d and %d)", t.s, j, t.src)
		}
		seen[t.s] = t.src
	}
	isSpecial := map[string]bool{}
	for _, s := range Specials {
		if src, ok := seen[s]; ok {
			m.Tokens = append(m.Tokens, s)
			m.Src = append(m.Src, src)
			isSpecial[s] = true
		}
	}
	for _, t := range toks {
		if !isSpecial[t.s] {
			m.Tokens = append(m.Tokens, t.s)
			m.Src = append(m.Src, t.src)
		}
	}
	if _, ok := seen["xxpad"]; !ok {
		return nil, fmt.Errorf("the vocab has no padding token (xxpad, or _pad_ in fastai 0.7); is this a fastai itos file?")
	}
	if _, ok := seen["xxunk"]; !ok {
		return nil, fmt.Errorf("the vocab has no unknown-word token (xxunk, or _unk_ in fastai 0.7); is this a fastai itos file?")
	}
	return m, nil
}

// id returns the index of tok in m.Tokens, or -1.
func (m *vocabMap) id(tok string) int {
	for i, t := range m.Tokens {
		if t == tok {
			return i
		}
	}
	return -1
}

// gatherRows returns the rows src[0], src[1], ... of a row-major [n, cols]
// matrix (or vector when cols is 1).
func gatherRows(data []float32, cols int, src []int) []float32 {
	out := make([]float32, len(src)*cols)
	for i, r := range src {
		copy(out[i*cols:(i+1)*cols], data[r*cols:(r+1)*cols])
	}
	return out
}
