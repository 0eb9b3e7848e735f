package tokenize

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ulmfit-go/ulmfit/tokenize/sentencepiece"
)

// Tokenizer applies Settings to raw text. It reuses internal buffers, so it is not safe
// for concurrent use: make one per goroutine (New is cheap).
type Tokenizer struct {
	s                                   Settings
	fixHTML, rep, wrep, spec, caps, maj bool
	lower, words                        bool
	specials                            map[string]bool
	low                                 []byte   // lowercased chunk
	sufs                                [][]byte // suffix stack of the word being split
	fold                                [32]byte // ASCII-lowered copy for table lookups
	bld                                 strings.Builder
	always                              bool // tests: always apply replace_rep/wrep first
	// pieces: the sentencepiece tokenizer. Words (after the rules) go to sp, or, with
	// sp nil (NewWords), are emitted whole for a subword model to be trained on.
	pieces    bool
	sp        *sentencepiece.Processor
	spSpecial map[string]string // "▁xxbos" -> "xxbos", for the model's user-defined specials
	spHas     map[string]bool   // the special tokens in spSpecial
	words0    Tokens            // a document's words, before encodePieces
	line      []byte
	ids       []int32
}

// New returns a Tokenizer for the settings.
func New(s Settings) (*Tokenizer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	t := newTokenizer(s)
	if t.pieces {
		m, err := sentencepiece.Parse(s.SPModel)
		if err != nil {
			return nil, fmt.Errorf("tokenizer settings: %w", err)
		}
		if t.sp, err = sentencepiece.NewProcessor(m); err != nil {
			return nil, fmt.Errorf("tokenizer settings: %w", err)
		}
		t.spSpecial, t.spHas = map[string]string{}, map[string]bool{}
		for _, sp := range append(s.Specials, s.Newline) {
			if id, ok := t.sp.PieceID(sentencepiece.Space + sp); ok && sp != "" && m.Pieces[id].Type == sentencepiece.UserDefined {
				t.spSpecial[sentencepiece.Space+sp] = sp
				t.spHas[sp] = true
			}
		}
	}
	return t, nil
}

// NewWords returns a Tokenizer that stops where the SentencePiece model of the
// "sentencepiece" tokenizer would start: it applies the rules of s and emits the words
// and special tokens whole. Its output is what a subword model for s is trained on. s
// needs no model (its Tokenizer is taken to be "sentencepiece").
func NewWords(s Settings) (*Tokenizer, error) {
	s.Tokenizer, s.SPModel, s.SPModelSHA256 = TokWords, nil, ""
	if err := s.Validate(); err != nil {
		return nil, err
	}
	t := newTokenizer(s)
	t.pieces = true
	return t, nil
}

func newTokenizer(s Settings) *Tokenizer {
	t := &Tokenizer{
		s:        s,
		fixHTML:  s.Has(RuleFixHTML),
		rep:      s.Has(RuleReplaceRep),
		wrep:     s.Has(RuleReplaceWrep),
		spec:     s.Has(RuleSpecAddSpaces),
		caps:     s.Has(RuleReplaceAllCaps),
		maj:      s.Has(RuleReplaceMaj),
		lower:    s.Has(RuleLowercase),
		words:    s.Tokenizer == TokWords || s.Tokenizer == TokSentencePiece,
		pieces:   s.Tokenizer == TokSentencePiece,
		specials: map[string]bool{},
	}
	for _, sp := range s.Specials {
		t.specials[sp] = true
	}
	return t
}

// Settings returns the tokenizer's settings.
func (t *Tokenizer) Settings() Settings { return t.s }

// Tokenize returns the tokens of one document made of the given text fields.
func (t *Tokenizer) Tokenize(fields ...string) []string {
	var dst Tokens
	t.Append(&dst, fields...)
	return dst.Strings(0)
}

// JoinFields joins text fields the way fastai does: "xxfld 1 a xxfld 2 b" when mark is
// set and there are several fields, else with single spaces.
func JoinFields(fields []string, mark bool) string {
	var b strings.Builder
	joinFields(&b, fields, mark)
	return b.String()
}

func joinFields(b *strings.Builder, fields []string, mark bool) {
	mark = mark && len(fields) > 1
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		if mark {
			b.WriteString(FLD)
			b.WriteByte(' ')
			b.WriteString(itoa(i + 1))
			b.WriteByte(' ')
		}
		b.WriteString(f)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// Append tokenizes one document made of the given text fields and appends its tokens to
// dst. It returns the number of tokens appended. Invalid UTF-8 becomes U+FFFD, so tokens
// are always valid UTF-8.
func (t *Tokenizer) Append(dst *Tokens, fields ...string) int {
	n0 := dst.Len()
	var text string
	switch len(fields) {
	case 0:
	case 1:
		text = fields[0]
	default:
		t.bld.Reset()
		joinFields(&t.bld, fields, t.s.MarkFields)
		text = t.bld.String()
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	if t.s.AddBOS {
		dst.addString(BOS)
	}
	if t.words && t.fixHTML {
		text = fixHTML(text)
	}
	// Scan once, watching for what replace_rep / replace_wrep would change; only when
	// there is something (rare) apply them and scan again.
	base, baseBuf := dst.Len(), len(dst.Buf)
	if t.always || !t.scan(dst, text, t.words && (t.rep || t.wrep)) {
		dst.Ends, dst.Buf = dst.Ends[:base], dst.Buf[:baseBuf]
		if t.rep {
			if out := appendReplaceRep(nil, text, true, t.s.RepDigits, t.s.KeepURLs); out != nil {
				text = string(out)
			}
		}
		if t.wrep && hasRepeatedChunk(text) {
			if out := appendReplaceWrep(nil, text, true); out != nil {
				text = string(out)
			}
		}
		t.scan(dst, text, false)
	}
	if t.s.AddEOS {
		dst.addString(EOS)
	}
	if t.sp != nil {
		t.encodePieces(dst, n0)
	}
	return dst.Len() - n0
}

// scan splits text into whitespace-separated chunks and tokenizes each. Runs of
// whitespace with line breaks become newline tokens between chunks. With check, it stops
// and returns false at the first thing replace_rep (a rune 3 times in a row) or
// replace_wrep (two equal chunks in a row) could change.
func (t *Tokenizer) scan(dst *Tokens, text string, check bool) bool {
	checkRep := check && t.rep
	checkWrep := check && t.wrep
	ps, pe := 0, -1 // previous chunk
	newlines := 0
	any := false
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if asciiClass[c]&cSpace != 0 {
				if c == '\n' {
					newlines++
				}
				i++
				continue
			}
		} else if r, n := utf8.DecodeRuneInString(text[i:]); isSpace(r) {
			if r == '\u2028' || r == '\u2029' || r == '\u0085' {
				newlines++
			}
			i += n
			continue
		}
		// a chunk starts at i
		j := i
		prev, run := rune(-1), 0
		for j < len(text) {
			c := text[j]
			r, n := rune(c), 1
			if c < utf8.RuneSelf {
				if asciiClass[c]&cSpace != 0 {
					break
				}
			} else if r, n = utf8.DecodeRuneInString(text[j:]); isSpace(r) {
				break
			}
			if checkRep {
				if r == prev {
					if run++; run >= 3 && (t.s.RepDigits || !isDigit(r)) {
						return false
					}
				} else {
					prev, run = r, 1
				}
			}
			j += n
		}
		if checkWrep && j-i == pe-ps && text[i:j] == text[ps:pe] {
			return false
		}
		ps, pe = i, j
		if newlines > 0 && any && t.s.Newline != "" {
			dst.addString(t.s.Newline)
		}
		newlines = 0
		any = true
		if t.words {
			t.chunk(dst, text[i:j])
		} else {
			t.pretok(dst, text[i:j])
		}
		i = j
	}
	return true
}

// pretok handles one token of already tokenized text.
func (t *Tokenizer) pretok(dst *Tokens, tok string) {
	if t.s.UnkAlias != "" && tok == t.s.UnkAlias {
		dst.addString(UNK)
		return
	}
	dst.add(t.caseRules(dst, tok))
}

// fastChunk handles the commonest chunks, ASCII letters with maybe one trailing ",;:!?",
// without the general machinery. It reports whether it did.
func (t *Tokenizer) fastChunk(dst *Tokens, c string) bool {
	n := len(c)
	end := n
	switch c[n-1] {
	case ',', ';', ':', '!', '?':
		end = n - 1
		if end == 0 {
			return false
		}
	}
	upper := 0 // upper-case letters after the first byte
	for i := 0; i < end; i++ {
		cl := asciiClass[c[i]&0x7f]
		if c[i] >= utf8.RuneSelf || cl&(cUpper|cLower) == 0 {
			return false
		}
		if i > 0 && cl&cUpper != 0 {
			upper++
		}
	}
	low := t.lower
	if c0 := c[0]; c0 >= 'A' && c0 <= 'Z' && (t.caps || t.maj) {
		allCaps := upper == end-1 // no lower-case letter (the punctuation is not one)
		switch {
		case t.caps && allCaps:
			if n > 1 {
				dst.addString(TKUp)
			}
			low = true
		case t.maj && upper == 0:
			if n > 1 {
				dst.addString(TKMaj)
			}
			low = true
		}
	}
	start := len(dst.Buf)
	if low {
		for i := 0; i < end; i++ {
			b := c[i]
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			dst.Buf = append(dst.Buf, b)
		}
	} else {
		dst.Buf = append(dst.Buf, c[:end]...)
	}
	w := dst.Buf[start:]
	if m := len(w); m >= 4 && m <= 8 && splitEnd(w[m-2], w[m-1]) {
		if k, ok := splitAt[string(t.folded(w))]; ok {
			dst.Ends = append(dst.Ends, int32(start+k))
		}
	}
	dst.Ends = append(dst.Ends, int32(len(dst.Buf)))
	if end < n {
		dst.addString(c[end:])
	}
	return true
}

// chunk tokenizes one whitespace-free chunk of text.
func (t *Tokenizer) chunk(dst *Tokens, c string) {
	if !t.pieces && t.fastChunk(dst, c) {
		return
	}
	if t.s.KeepURLs && !t.pieces {
		if pre, core, suf, ok := splitURL(c); ok {
			for _, r := range pre {
				dst.addString(string(r))
			}
			dst.add(t.caseRules(dst, core))
			for _, r := range suf {
				dst.addString(string(r))
			}
			return
		}
	}
	if t.pieces && t.s.KeepURLs {
		if _, _, _, ok := splitURL(c); ok {
			t.sub(dst, c) // whole: spec_add_spaces does not split it
			return
		}
	}
	if !t.spec {
		t.sub(dst, c)
		return
	}
	start := 0
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case '/', '#', '\\':
			if i > start {
				t.sub(dst, c[start:i])
			}
			dst.addString(c[i : i+1])
			start = i + 1
		}
	}
	if start < len(c) {
		t.sub(dst, c[start:])
	}
}

// caseRules applies replace_all_caps, replace_maj and lowercase to a chunk, appending a
// marker token to dst when one applies, and returns the chunk's (lowercased) bytes in a
// buffer valid until the next call.
func (t *Tokenizer) caseRules(dst *Tokens, c string) []byte {
	if len(c) >= 2 && c[0] == 'x' && c[1] == 'x' && t.specials[c] {
		t.low = append(t.low[:0], c...)
		return t.low
	}
	low := t.lower
	if (t.caps || t.maj) && len(c) > 0 && c[0] >= 'A' && c[0] <= 'Z' {
		allCaps, maj := caseOf(c)
		long := utf8.RuneCountInString(c) > 1
		switch {
		case t.caps && allCaps:
			if long {
				dst.addString(TKUp)
			}
			low = true
		case t.maj && maj:
			if long {
				dst.addString(TKMaj)
			}
			low = true
		}
	}
	t.low = t.low[:0]
	if !low {
		t.low = append(t.low, c...)
		return t.low
	}
	for i := 0; i < len(c); {
		b := c[i]
		if b < utf8.RuneSelf {
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			t.low = append(t.low, b)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(c[i:])
		if r == utf8.RuneError && n == 1 {
			t.low = append(t.low, c[i])
		} else {
			t.low = utf8.AppendRune(t.low, unicode.ToLower(r))
		}
		i += n
	}
	return t.low
}

// caseOf tells whether a whitespace-free chunk matches fastai's replace_all_caps
// ([A-Z]+[^a-z\s]*) and replace_maj ([A-Z][^A-Z\s]*) patterns.
func caseOf(c string) (allCaps, maj bool) {
	if len(c) == 0 || c[0] < 'A' || c[0] > 'Z' {
		return false, false
	}
	hasLower, hasUpperAfter := false, false
	for i := 1; i < len(c); i++ {
		b := c[i]
		if b >= 'a' && b <= 'z' {
			hasLower = true
		} else if b >= 'A' && b <= 'Z' {
			hasUpperAfter = true
		}
	}
	return !hasLower, !hasUpperAfter
}

// sub tokenizes one chunk (after spec_add_spaces) with the case rules and the word
// tokenizer.
func (t *Tokenizer) sub(dst *Tokens, c string) {
	w := t.caseRules(dst, c)
	if t.pieces {
		t.piecesOf(dst, w)
		return
	}
	t.word(dst, w)
}

// piecesOf emits a word whole: in the sentencepiece tokenizer, Append splits the
// document's words into pieces once they are all there (see encodePieces).
func (t *Tokenizer) piecesOf(dst *Tokens, w []byte) {
	dst.add(w)
}

// encodePieces replaces the words dst holds from token n0 on by their pieces. It
// segments them as spm_encode (and fastai's SentencePieceTokenizer) segments the
// rule-processed text, the words joined by spaces, in one piece of text: a special token
// the model has as a user-defined piece ("▁xxbos") is part of that text and comes out as
// itself; one it lacks ends the text there and stays whole. (One text, not word by word:
// pieces with equal scores tie, and spm breaks ties by float sums along the text.)
func (t *Tokenizer) encodePieces(dst *Tokens, n0 int) {
	t.words0.Reset()
	for i := n0; i < dst.Len(); i++ {
		t.words0.add(dst.At(i))
	}
	dst.Ends = dst.Ends[:n0]
	if n0 == 0 {
		dst.Buf = dst.Buf[:0]
	} else {
		dst.Buf = dst.Buf[:dst.Ends[n0-1]]
	}
	t.line = t.line[:0]
	flush := func() {
		if len(t.line) == 0 {
			return
		}
		t.ids = t.sp.Encode(t.ids[:0], string(t.line))
		for _, id := range t.ids {
			p := t.sp.Piece(id)
			if sp, ok := t.spSpecial[p]; ok {
				p = sp
			}
			dst.addString(p)
		}
		t.line = t.line[:0]
	}
	for i := 0; i < t.words0.Len(); i++ {
		w := t.words0.At(i)
		if len(w) >= 2 && w[0] == 'x' && w[1] == 'x' && t.specials[string(w)] || string(w) == t.s.Newline && t.s.Newline != "" {
			if !t.spHas[string(w)] {
				flush()
				dst.add(w)
				continue
			}
		}
		if len(t.line) > 0 {
			t.line = append(t.line, ' ')
		}
		t.line = append(t.line, w...)
	}
	flush()
}

// folded returns an ASCII-lowercased view of b for table lookups.
func (t *Tokenizer) folded(b []byte) []byte {
	if len(b) > len(t.fold) {
		return b
	}
	f := t.fold[:len(b)]
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		f[i] = c
	}
	return f
}

func (t *Tokenizer) isWhole(b []byte) bool {
	if len(b) >= 2 && b[0] == 'x' && b[1] == 'x' && t.specials[string(b)] {
		return true
	}
	// every keepWhole entry has a period or an apostrophe
	for _, c := range b {
		if c == '.' || c == '\'' || c == 0xE2 {
			return keepWhole[string(t.folded(b))] || isInitials(b)
		}
	}
	return false
}

// isInitials reports whether b is like "u.s.", "e.g." or "j.": single letters each
// followed by a period.
func isInitials(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	for i := 0; i < len(b); {
		r, n := decode(b[i:])
		if !isLetter(r) || i+n >= len(b) || b[i+n] != '.' {
			return false
		}
		i += n + 1
	}
	return true
}

// prefixSplit reports how many leading bytes of b form a prefix token, or 0.
func prefixSplit(b []byte) int {
	r, n := decode(b)
	if n == len(b) {
		return 0
	}
	switch r {
	case '-', '.':
		k := runLen(b, byte(r))
		if k >= 2 {
			return k
		}
		return 0
	case '+':
		if isDigit(rune(b[1])) {
			return 0
		}
		return 1
	case '@':
		return 0
	}
	if isPunct(r) {
		return clusterEnd(b, n)
	}
	return 0
}

// isJoiner: combining marks, variation selectors and the zero-width joiner, which belong
// to the rune before them.
func isJoiner(r rune) bool {
	return r == '\u200d' || (r >= '\ufe00' && r <= '\ufe0f') || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r)
}

// clusterEnd extends a symbol that ends at i over following joiners (and the rune after
// a zero-width joiner), so "❤️" and "👩‍💻" stay one token.
func clusterEnd(b []byte, i int) int {
	for i < len(b) && b[i] >= utf8.RuneSelf {
		r, n := utf8.DecodeRune(b[i:])
		if !isJoiner(r) {
			break
		}
		i += n
		if r == '\u200d' && i < len(b) {
			_, n2 := utf8.DecodeRune(b[i:])
			i += n2
		}
	}
	return i
}

func runLen(b []byte, c byte) int {
	k := 0
	for k < len(b) && b[k] == c {
		k++
	}
	return k
}

func runLenBack(b []byte, c byte) int {
	k := 0
	for k < len(b) && b[len(b)-1-k] == c {
		k++
	}
	return k
}

// contractionSuffixes are the contraction endings split off words, with either
// apostrophe; needLetters: the rest must be all letters ("'s" only needs a letter or digit
// before it).
var contractionSuffixes = func() []string {
	var out []string
	for _, apos := range [...]string{"'", "’"} {
		out = append(out, "n"+apos+"t")
		for _, s := range [...]string{"s", "m", "re", "ve", "ll", "d"} {
			out = append(out, apos+s)
		}
	}
	return out
}()

// contraction returns the length of a contraction suffix of b ("n't", "'s", "'re", ...).
func contraction(b []byte) int {
	n := len(b)
	// every suffix has an apostrophe within its last 5 bytes
	has := false
	for i := max(0, n-5); i < n; i++ {
		if b[i] == '\'' || b[i] == 0xE2 {
			has = true
			break
		}
	}
	if !has {
		return 0
	}
	for _, suf := range contractionSuffixes {
		if n <= len(suf) || !eqFold(b[n-len(suf):], suf) {
			continue
		}
		base := b[:n-len(suf)]
		if suf[len(suf)-1] == 's' && suf[0] != 'n' {
			if r, _ := decodeLast(base); isAlnum(r) {
				return len(suf)
			}
		} else if allLetters(base) {
			return len(suf)
		}
		return 0
	}
	return 0
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func allLetters(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i := 0; i < len(b); {
		r, n := decode(b[i:])
		if !isLetter(r) {
			return false
		}
		i += n
	}
	return true
}

// word splits one lowercased chunk into word tokens: leading punctuation, trailing
// punctuation and contractions, then infix punctuation.
func (t *Tokenizer) word(dst *Tokens, b []byte) {
	// prefixes
	for len(b) > 0 && !t.isWhole(b) {
		k := prefixSplit(b)
		if k == 0 {
			break
		}
		dst.add(b[:k])
		b = b[k:]
	}
	// suffixes, innermost last
	t.sufs = t.sufs[:0]
	for len(b) > 0 && !t.isWhole(b) {
		if k := contraction(b); k > 0 {
			t.sufs = append(t.sufs, b[len(b)-k:])
			b = b[:len(b)-k]
			continue
		}
		r, n := decodeLast(b)
		if n == len(b) {
			break
		}
		k := 0
		if r >= 0x300 && isJoiner(r) {
			// find the cluster's base rune; split it off when it is a symbol
			j := len(b) - n
			for j > 0 {
				r2, n2 := utf8.DecodeLastRune(b[:j])
				j -= n2
				if !isJoiner(r2) {
					if isPunct(r2) && j > 0 {
						k = len(b) - j
					}
					break
				}
			}
			if k == 0 {
				break
			}
			t.sufs = append(t.sufs, b[len(b)-k:])
			b = b[:len(b)-k]
			continue
		}
		switch {
		case r == '.':
			if k = runLenBack(b, '.'); k < 2 {
				k = 1
			}
		case r == '-':
			if k = runLenBack(b, '-'); k < 2 {
				k = 0
			}
		case r == '+' || r == '@':
		case isPunct(r):
			k = n
		}
		if k == 0 || k == len(b) {
			break
		}
		t.sufs = append(t.sufs, b[len(b)-k:])
		b = b[:len(b)-k]
	}
	if len(b) > 0 {
		t.infix(dst, b)
	}
	for i := len(t.sufs) - 1; i >= 0; i-- {
		dst.add(t.sufs[i])
	}
}

// emitWord emits a word, splitting apostrophe-less contractions ("dont" -> "do" "nt").
func (t *Tokenizer) emitWord(dst *Tokens, b []byte) {
	if n := len(b); n >= 4 && n <= 8 && splitEnd(b[n-2], b[n-1]) {
		if k, ok := splitAt[string(t.folded(b))]; ok {
			dst.add(b[:k])
			dst.add(b[k:])
			return
		}
	}
	dst.add(b)
}

// splitEnd: the last two bytes of a splitAt key (nt, na, ta, ot, me), any case.
func splitEnd(a, b byte) bool {
	a, b = a|0x20, b|0x20
	switch b {
	case 't':
		return a == 'n' || a == 'o'
	case 'a':
		return a == 'n' || a == 't'
	case 'e':
		return a == 'm'
	}
	return false
}

// infix splits the middle of a word at punctuation that does not belong to it.
func (t *Tokenizer) infix(dst *Tokens, b []byte) {
	if t.isWhole(b) {
		dst.add(b)
		return
	}
	start := 0
	prev := rune(-1)
	for i := 0; i < len(b); {
		r, n := decode(b[i:])
		if r < utf8.RuneSelf && asciiClass[r]&(cUpper|cLower|cDigit) != 0 {
			prev = r
			i += n
			continue
		}
		var next rune = -1
		if i+n < len(b) {
			next, _ = decode(b[i+n:])
		}
		k := 0 // bytes of the split token at i
		switch {
		case r == '.' || r == '-':
			run := runLen(b[i:], byte(r))
			switch {
			case run >= 2:
				k = run
			case r == '-' && (t.s.SplitHyphens && isLetter(prev) && isLetter(next)):
				k = 1
			case r == '-' && isDigit(prev) && (isDigit(next) || next == '-'):
				k = 1
			case r == '.' && unicode.IsLower(prev) && unicode.IsUpper(next):
				k = 1
			}
		case isApos(r):
			if !(isAlnum(prev) && isAlnum(next)) {
				k = n
			}
		case r == ',' || r == ':':
			if !(isDigit(prev) && isDigit(next)) {
				k = n
			}
		case r == '+' || r == '*' || r == '^':
			if isDigit(prev) && isDigit(next) {
				k = n
			}
		case r == '@' || r == '&' || r == '_' || r == '$' || r == '%':
		case isPunct(r):
			k = n
		}
		if k == 0 {
			prev = r
			i += n
			continue
		}
		if k == n {
			k = clusterEnd(b, i+n) - i // keep a symbol's variation selectors, ZWJ sequences
		}
		if i > start {
			t.emitWord(dst, b[start:i])
		}
		dst.add(b[i : i+k])
		i += k
		start = i
		prev = r
	}
	if start < len(b) {
		t.emitWord(dst, b[start:])
	}
}

// IDs maps tokens to vocabulary ids; *artifacts.Vocab satisfies it.
type IDs interface {
	ID(tok string) (int32, bool)
}

// Encode tokenizes one document and appends its token ids to dst; tokens not in v map to
// xxunk's id. It returns the ids and how many tokens were unknown.
func (t *Tokenizer) Encode(dst []int32, v IDs, fields ...string) ([]int32, int) {
	var toks Tokens
	t.Append(&toks, fields...)
	unkID, _ := v.ID(UNK)
	unk := 0
	for i := 0; i < toks.Len(); i++ {
		id, ok := v.ID(string(toks.At(i)))
		if !ok {
			id = unkID
			unk++
		}
		dst = append(dst, id)
	}
	return dst, unk
}
