package sentencepiece

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// TrainOptions configures Train. Zero values mean the defaults noted, which are
// spm_train's.
type TrainOptions struct {
	// VocabSize is the number of pieces in the model, the meta pieces (<unk>, the
	// user-defined symbols and the byte pieces) included, as spm_train's vocab_size.
	// Required.
	VocabSize int
	// CharacterCoverage is the share of the characters of the training words (counted
	// with their frequencies) that the most frequent characters kept as pieces must
	// cover; the rest are unknown (<unk>, or bytes with ByteFallback). Default 0.9995;
	// fastai passes 0.99999 for European languages and 0.9998 otherwise. In (0, 1].
	CharacterCoverage float64
	// UserDefinedSymbols are always one piece each, with the ids right after <unk>
	// (e.g. "▁xxbos"). Their occurrences in the training words are cut out of them.
	UserDefinedSymbols []string
	// ByteFallback adds the 256 pieces <0x00>..<0xFF> after the user-defined symbols,
	// so that characters left out by the coverage are segmented as their UTF-8 bytes.
	ByteFallback bool
	// MaxPieceLength is the longest piece, in characters. Default 16.
	MaxPieceLength int
	// SeedSize is the number of seed pieces (frequent substrings) EM starts from, the
	// single characters not counted. Default 1,000,000.
	SeedSize int
	// ShrinkingFactor is the share of the pieces each pruning round keeps. Default
	// 0.75; in (0, 1).
	ShrinkingFactor float64
	// NumSubIterations is the number of EM iterations before each pruning round.
	// Default 2.
	NumSubIterations int
	// NoSplitByUnicodeScript lets a piece mix Unicode scripts (spm's
	// --split_by_unicode_script=false); by default a piece is of one script, with
	// Hiragana and Katakana counted as Han.
	NoSplitByUnicodeScript bool
	// NoSplitByNumber lets digits join letters in a piece (spm's
	// --split_by_number=false); by default a digit is of the Common script like
	// punctuation, so "a1" is not a piece but "1," may be.
	NoSplitByNumber bool
	// Threads is the number of goroutines for the seed extraction, the E-steps and
	// the pruning. Default 2. The model does not depend on it.
	Threads int
	// Progress, when set, is called after each EM iteration and each pruning round.
	Progress func(TrainProgress)
}

// TrainStage says which step of Train a TrainProgress reports.
type TrainStage int

// The stages of Train, in the order they happen.
const (
	TrainSeeded TrainStage = iota // the seed pieces are ready
	TrainEM                       // one EM iteration (E-step and M-step) is done
	TrainPruned                   // one pruning round is done
	TrainDone                     // the final vocabulary is chosen
)

// String names the stage.
func (s TrainStage) String() string {
	switch s {
	case TrainSeeded:
		return "seeded"
	case TrainEM:
		return "em"
	case TrainPruned:
		return "pruned"
	case TrainDone:
		return "done"
	}
	return fmt.Sprintf("TrainStage(%d)", int(s))
}

// TrainProgress is what Train reports to TrainOptions.Progress.
type TrainProgress struct {
	Stage     TrainStage
	Round     int // the pruning round (from 0) the step belongs to
	Iteration int // the EM iteration within the round (TrainEM)
	// Pieces is the number of candidate pieces after the step (meta pieces not counted).
	Pieces int
	// Objective is the E-step's negative log-likelihood per word (TrainEM), spm's obj.
	Objective float64
	// Tokens is the number of pieces of the Viterbi segmentation of all words, with
	// their counts (TrainPruned: before the pruning).
	Tokens int64
	// Words is the number of words, with their counts.
	Words int64
}

// trainMaxWordBytes is spm_train's max_sentence_length default: longer words are left
// out, as spm_train leaves out longer sentences.
const trainMaxWordBytes = 4192

// trainUnknown marks an unknown character (one not kept by the coverage, or a cut-out
// meta piece) in the internal word strings; no piece contains it.
const trainUnknown = "\x00"

// trainOptions are TrainOptions with the defaults filled in.
type trainOptions struct {
	TrainOptions
	meta []Piece // <unk>, user-defined symbols, byte pieces, in id order
}

func (o TrainOptions) resolve() (trainOptions, error) {
	r := trainOptions{TrainOptions: o}
	r.UserDefinedSymbols = slices.Clone(o.UserDefinedSymbols)
	if o.VocabSize <= 0 {
		return r, fmt.Errorf("sentencepiece: train: VocabSize must be positive (got %d)", o.VocabSize)
	}
	if r.CharacterCoverage == 0 {
		r.CharacterCoverage = 0.9995
	}
	if !(r.CharacterCoverage > 0 && r.CharacterCoverage <= 1) {
		return r, fmt.Errorf("sentencepiece: train: CharacterCoverage must be in (0, 1] (got %g)", o.CharacterCoverage)
	}
	if r.MaxPieceLength == 0 {
		r.MaxPieceLength = 16
	}
	if r.MaxPieceLength < 1 || r.MaxPieceLength > 512 {
		return r, fmt.Errorf("sentencepiece: train: MaxPieceLength must be in [1, 512] (got %d)", o.MaxPieceLength)
	}
	if r.SeedSize == 0 {
		r.SeedSize = 1000000
	}
	if r.SeedSize < 0 {
		return r, fmt.Errorf("sentencepiece: train: SeedSize must not be negative (got %d)", o.SeedSize)
	}
	if r.ShrinkingFactor == 0 {
		r.ShrinkingFactor = 0.75
	}
	if !(r.ShrinkingFactor > 0 && r.ShrinkingFactor < 1) {
		return r, fmt.Errorf("sentencepiece: train: ShrinkingFactor must be in (0, 1) (got %g)", o.ShrinkingFactor)
	}
	if r.NumSubIterations == 0 {
		r.NumSubIterations = 2
	}
	if r.NumSubIterations < 0 {
		return r, fmt.Errorf("sentencepiece: train: NumSubIterations must not be negative (got %d)", o.NumSubIterations)
	}
	if r.Threads == 0 {
		r.Threads = 2
	}
	if r.Threads < 0 {
		return r, fmt.Errorf("sentencepiece: train: Threads must not be negative (got %d)", o.Threads)
	}

	const unk = "<unk>"
	seen := map[string]bool{unk: true}
	r.meta = append(r.meta, Piece{Piece: unk, Type: Unknown})
	for _, s := range r.UserDefinedSymbols {
		switch {
		case s == "":
			return r, errors.New("sentencepiece: train: empty user-defined symbol")
		case !utf8.ValidString(s):
			return r, fmt.Errorf("sentencepiece: train: user-defined symbol %q is not UTF-8", s)
		case strings.ContainsAny(s, " \x00"):
			return r, fmt.Errorf("sentencepiece: train: user-defined symbol %q holds a space or NUL (write spaces as %q)", s, Space)
		case s == unk:
			return r, fmt.Errorf("sentencepiece: train: user-defined symbol %q is the unknown piece", s)
		case seen[s]:
			return r, fmt.Errorf("sentencepiece: train: user-defined symbol %q is given twice", s)
		}
		seen[s] = true
		r.meta = append(r.meta, Piece{Piece: s, Type: UserDefined})
	}
	if r.ByteFallback {
		for b := 0; b < 256; b++ {
			s := fmt.Sprintf("<0x%02X>", b)
			if seen[s] {
				return r, fmt.Errorf("sentencepiece: train: user-defined symbol %q is a byte piece (ByteFallback)", s)
			}
			seen[s] = true
			r.meta = append(r.meta, Piece{Piece: s, Type: Byte})
		}
	}
	if len(r.meta) > r.VocabSize {
		return r, fmt.Errorf("sentencepiece: train: VocabSize %d is smaller than the %d meta pieces (<unk>, user-defined symbols, byte pieces)", r.VocabSize, len(r.meta))
	}
	return r, nil
}

// Train trains a unigram model from word counts, as spm_train --model_type=unigram
// does from the text those words come from. Each key of words is a word as it occurs in
// the text, between spaces; Train adds the "▁" in front of it as spm's
// add_dummy_prefix and whitespace escaping do (a key that holds spaces is split at
// them). Words of more than 4192 bytes are left out, as spm_train leaves out longer
// sentences. The model follows spm_train's unigram trainer: the characters that cover
// CharacterCoverage of the text, seed pieces from the frequent substrings of the words
// (scored by frequency times length), EM with the Bayesian (digamma) M-step, pruning
// rounds that drop the pieces whose loss costs the least likelihood, and a final cut to
// VocabSize that keeps every covered character. The model has the pieces in spm's order
// (<unk>, the user-defined symbols, the byte pieces, then the pieces by descending
// score), no <s>, </s> or <pad> (bos_id, eos_id and pad_id -1), and the identity
// normalizer; it loads in spm_encode. Train is deterministic: the same words and
// options give a byte-identical model, whatever Threads is. On the 40M words of the
// Gutenberg training text (1.1M distinct) a 15k model takes about 20 s on 2 cores and
// 0.65 GB beside the map (spm_train: 7 min, 5.2 GB).
func Train(ctx context.Context, words map[string]int64, opt TrainOptions) (*Model, error) {
	o, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	t := &trainer{opt: o, ctx: ctx}
	if err := t.loadWords(words); err != nil {
		return nil, err
	}
	if err := t.run(); err != nil {
		return nil, err
	}
	return t.model(), nil
}

// loadWords turns the word counts into spm's whitespace-split sentences: "▁"-prefixed
// words with the meta pieces cut out, the characters counted for the coverage, the
// uncovered ones replaced by trainUnknown, equal words merged, sorted by descending
// count then by text.
func (t *trainer) loadWords(words map[string]int64) error {
	matcher := newTrainMetaMatcher(t.opt.meta)
	frags := make(map[string]int64, len(words))
	add := func(f string, c int64) error {
		v := frags[f] + c
		if v < c {
			return errors.New("sentencepiece: train: word counts overflow int64")
		}
		frags[f] = v
		return nil
	}
	for w, c := range words {
		if c < 0 {
			return fmt.Errorf("sentencepiece: train: word %q has a negative count %d", w, c)
		}
		if c == 0 {
			continue
		}
		for part := range strings.SplitSeq(w, " ") {
			if part == "" || len(part)+len(Space) > trainMaxWordBytes {
				continue
			}
			s := Space + part
			if !matcher.any(s) && !strings.Contains(part, Space) {
				if err := add(s, c); err != nil {
					return err
				}
				continue
			}
			s = matcher.replace(s)
			// A "▁" inside starts a new word, as spm's SplitIntoWords does.
			for len(s) > 0 {
				n := strings.Index(s[1:], Space)
				var f string
				if n < 0 {
					f, s = s, ""
				} else {
					f, s = s[:n+1], s[n+1:]
				}
				if err := add(f, c); err != nil {
					return err
				}
			}
		}
	}
	if len(frags) == 0 {
		return errors.New("sentencepiece: train: no words to train on")
	}

	// Character counts, as spm's LoadSentences: NUL and invalid UTF-8 are not counted;
	// the tab (what a cut-out meta piece became) is counted but never kept.
	var dense [0x10000]int64
	sparse := map[rune]int64{}
	var all int64
	for f, c := range frags {
		for _, r := range f {
			switch {
			case r == 0 || r == utf8.RuneError:
				continue
			case r < 0x10000:
				dense[r] += c
			default:
				sparse[r] += c
			}
			all += c
		}
	}
	type rc struct {
		r rune
		c int64
	}
	var sorted []rc
	for r, c := range dense {
		if c > 0 {
			sorted = append(sorted, rc{rune(r), c})
		}
	}
	for r, c := range sparse {
		sorted = append(sorted, rc{r, c})
	}
	slices.SortFunc(sorted, func(a, b rc) int {
		if a.c != b.c {
			if a.c > b.c {
				return -1
			}
			return 1
		}
		return int(a.r - b.r)
	})
	var acc int64
	t.required = map[rune]int64{}
	for _, x := range sorted {
		// spm compares in float32.
		if float32(float64(acc)/float64(all)) >= float32(t.opt.CharacterCoverage) {
			break
		}
		acc += x.c
		if x.r == '\t' {
			continue
		}
		t.required[x.r] = x.c
		t.requiredOrder = append(t.requiredOrder, x.r)
	}
	if need := len(t.required) + len(t.opt.meta); need > t.opt.VocabSize {
		return fmt.Errorf("sentencepiece: train: VocabSize %d is smaller than required: the %d characters that cover %g of the text plus %d meta pieces need at least %d; increase VocabSize or lower CharacterCoverage",
			t.opt.VocabSize, len(t.required), t.opt.CharacterCoverage, len(t.opt.meta), need)
	}

	// Replace the uncovered characters and merge the words that became equal (they
	// hold trainUnknown, the others do not, so the two kinds never meet).
	known := make([]bool, 0x10000)
	for r := range t.required {
		if r < 0x10000 {
			known[r] = true
		}
	}
	isKnown := func(r rune) bool {
		if r < 0x10000 {
			return known[r]
		}
		_, ok := t.required[r]
		return ok
	}
	t.words = make([]trainWord, 0, len(frags))
	merged := map[string]int64{}
	var sb strings.Builder
	for f, c := range frags {
		t.totalCount += c
		clean := true
		for _, r := range f {
			if !isKnown(r) {
				clean = false
				break
			}
		}
		if clean {
			t.words = append(t.words, trainWord{s: f, count: c})
			continue
		}
		sb.Reset()
		for _, r := range f {
			if isKnown(r) {
				sb.WriteRune(r)
			} else {
				sb.WriteString(trainUnknown)
			}
		}
		merged[sb.String()] += c
	}
	for f, c := range merged {
		t.words = append(t.words, trainWord{s: f, count: c})
	}
	slices.SortFunc(t.words, func(a, b trainWord) int {
		if a.count != b.count {
			if a.count > b.count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.s, b.s)
	})
	return nil
}

// trainMetaMatcher replaces the meta pieces in a word with tabs, as spm's trainer does
// (longest match first, left to right), so that they never become part of a piece.
type trainMetaMatcher struct {
	first   [256]bool
	byFirst map[byte][]string // longest first
}

func newTrainMetaMatcher(meta []Piece) *trainMetaMatcher {
	m := &trainMetaMatcher{byFirst: map[byte][]string{}}
	for _, p := range meta {
		m.byFirst[p.Piece[0]] = append(m.byFirst[p.Piece[0]], p.Piece)
		m.first[p.Piece[0]] = true
	}
	for _, l := range m.byFirst {
		slices.SortFunc(l, func(a, b string) int {
			if len(a) != len(b) {
				return len(b) - len(a)
			}
			return strings.Compare(a, b)
		})
	}
	return m
}

// any reports whether s may hold a meta piece (one of their first bytes).
func (m *trainMetaMatcher) any(s string) bool {
	for i := 0; i < len(s); i++ {
		if m.first[s[i]] {
			return true
		}
	}
	return false
}

func (m *trainMetaMatcher) replace(s string) string {
	var out []byte
	for i := 0; i < len(s); {
		matched := 0
		if !m.first[s[i]] {
			if out != nil {
				out = append(out, s[i])
			}
			i++
			continue
		}
		for _, p := range m.byFirst[s[i]] {
			if strings.HasPrefix(s[i:], p) {
				matched = len(p)
				break
			}
		}
		if matched > 0 {
			if out == nil {
				out = append(make([]byte, 0, len(s)), s[:i]...)
			}
			out = append(out, '\t')
			i += matched
			continue
		}
		if out != nil {
			out = append(out, s[i])
		}
		i++
	}
	if out == nil {
		return s
	}
	return string(out)
}

// model assembles the trained pieces into a Model as spm_train writes it.
func (t *trainer) model() *Model {
	o := t.opt
	m := &Model{}
	m.Pieces = make([]Piece, 0, len(o.meta)+len(t.final))
	m.Pieces = append(m.Pieces, o.meta...)
	m.Pieces = append(m.Pieces, t.final...)

	ts := DefaultTrainerSpec()
	ts.ModelType = Unigram
	ts.VocabSize = int32(len(m.Pieces))
	ts.CharacterCoverage = float32(o.CharacterCoverage)
	ts.SeedSentencepieceSize = int32(min(o.SeedSize, math.MaxInt32))
	ts.ShrinkingFactor = float32(o.ShrinkingFactor)
	ts.NumSubIterations = int32(o.NumSubIterations)
	ts.MaxSentencepieceLength = int32(o.MaxPieceLength)
	ts.MaxSentenceLength = trainMaxWordBytes
	ts.SplitByUnicodeScript = !o.NoSplitByUnicodeScript
	ts.SplitByNumber = !o.NoSplitByNumber
	ts.SplitByWhitespace = true
	ts.UserDefinedSymbols = slices.Clone(o.UserDefinedSymbols)
	ts.ByteFallback = o.ByteFallback
	ts.UnkID = 0
	ts.BosID = -1
	ts.EosID = -1
	ts.PadID = -1
	m.Trainer = ts
	m.Normalizer = DefaultNormalizerSpec()
	return m
}
