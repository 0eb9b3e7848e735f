package tokenize

import (
	"html"
	"strconv"
	"strings"
	"unicode/utf8"
)

// fixHTMLReplacements are fastai v2's fix_html replacements, applied one after the other
// to the whole text (as Python's chained str.replace), then HTML entities are unescaped.
var fixHTMLReplacements = [...]struct{ old, new string }{
	{"#39;", "'"},
	{"amp;", "&"},
	{"#146;", "'"},
	{"nbsp;", " "},
	{"#36;", "$"},
	{`\n`, "\n"},
	{"quot;", "'"},
	{"<br />", "\n"},
	{`\"`, `"`},
	{"<unk>", UNK},
	{" @.@ ", "."},
	{" @-@ ", "-"},
	{"...", " …"},
}

// FixHTML applies fastai's fix_html: a fixed list of replacements for messy HTML left in
// documents (" #39;" -> "'", "<br />" -> newline, a literal backslash-n -> newline, "..."
// -> " …", ...), then HTML entity unescaping (Go's html.UnescapeString, HTML5 entities).
func FixHTML(s string) string {
	hasSemi := strings.IndexByte(s, ';') >= 0
	hasBack := strings.IndexByte(s, '\\') >= 0
	hasLt := strings.IndexByte(s, '<') >= 0
	hasAt := strings.IndexByte(s, '@') >= 0
	for _, r := range fixHTMLReplacements {
		var maybe bool
		switch r.old[len(r.old)-1] {
		case ';':
			maybe = hasSemi
		case '>':
			maybe = hasLt
		case ' ':
			maybe = hasAt
		case '.':
			maybe = true
		default: // `\n`, `\"`
			maybe = hasBack
		}
		if maybe && strings.Contains(s, r.old) {
			s = strings.ReplaceAll(s, r.old, r.new)
			if r.new == "&" || r.new == "\n" {
				hasLt = hasLt || strings.IndexByte(s, '<') >= 0
			}
		}
	}
	if strings.IndexByte(s, '&') >= 0 {
		s = html.UnescapeString(s)
	}
	return s
}

// fixHTML is FixHTML as the Tokenizer applies it: well-formed entities ("&#39;",
// "&quot;", "&amp;") are decoded first, because fastai's replacements, made for data whose
// "&" had been stripped (" #39;", " quot;"), turn "&#39;" into "&'".
func fixHTML(s string) string {
	if strings.IndexByte(s, '&') >= 0 {
		s = html.UnescapeString(s)
	}
	return FixHTML(s)
}

// ReplaceRep applies fastai's replace_rep: a character repeated 3 or more times (not
// whitespace) becomes " xxrep N c ", e.g. "!!!!" -> " xxrep 4 ! ".
func ReplaceRep(s string) string {
	var b []byte
	return string(appendReplaceRep(b, s, false, true, false))
}

// chunkAround returns the bounds of the whitespace-free chunk of s around byte i.
func chunkAround(s string, i int) (int, int) {
	a := i
	for a > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:a])
		if isSpace(r) {
			break
		}
		a -= n
	}
	b := i
	for b < len(s) {
		r, n := decodeStr(s, b)
		if isSpace(r) {
			break
		}
		b += n
	}
	return a, b
}

// appendReplaceRep appends replace_rep(s) to dst. If lazy, it returns nil when s has no
// repetition (the caller keeps s). Unless repDigits, repeated digits are left alone (numbers
// stay whole); with keepURLs, repetitions inside URLs and e-mail addresses are left alone.
func appendReplaceRep(dst []byte, s string, lazy, repDigits, keepURLs bool) []byte {
	started := !lazy
	last := 0 // s[last:] not yet copied
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf && (i+1 >= len(s) || s[i+1] != c) {
			i++ // fast path: an ASCII byte not followed by itself
			continue
		}
		r, n := decodeStr(s, i)
		j := i + n
		cnt := 1
		for j < len(s) && j+n <= len(s) && s[j:j+n] == s[i:i+n] {
			j += n
			cnt++
		}
		if cnt >= 3 && !isSpace(r) && !(r == utf8.RuneError && n == 1) && (repDigits || !isDigit(r)) {
			if keepURLs {
				if a, b := chunkAround(s, i); b > a {
					if _, _, _, ok := splitURL(s[a:b]); ok {
						i = b
						continue
					}
				}
			}
			if !started {
				started = true
			}
			dst = append(dst, s[last:i]...)
			dst = append(dst, ' ')
			dst = append(dst, TKRep...)
			dst = append(dst, ' ')
			dst = strconv.AppendInt(dst, int64(cnt), 10)
			dst = append(dst, ' ')
			dst = append(dst, s[i:i+n]...)
			dst = append(dst, ' ')
			last = j
		}
		i = j
	}
	if !started {
		return nil
	}
	return append(dst, s[last:]...)
}

// ReplaceWrep applies fastai's replace_wrep: a word repeated 3 or more times becomes
// " xxwrep N word ", with the regular expression's exact semantics
// (?:\s|^)(\w+)\s+((?:\1\s+)+)\1(\s|\W|$) -> " xxwrep N \1 \3".
func ReplaceWrep(s string) string {
	var b []byte
	return string(appendReplaceWrep(b, s, false))
}

// wordChunkEnd returns the end of the maximal run of \w runes starting at i.
func wordChunkEnd(s string, i int) int {
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if asciiClass[c]&cWord == 0 {
				break
			}
			i++
			continue
		}
		r, n := decodeStr(s, i)
		if !isWord(r) {
			break
		}
		i += n
	}
	return i
}

// spaceEnd returns the end of the run of whitespace starting at i.
func spaceEnd(s string, i int) int {
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if asciiClass[c]&cSpace == 0 {
				break
			}
			i++
			continue
		}
		r, n := decodeStr(s, i)
		if !isSpace(r) {
			break
		}
		i += n
	}
	return i
}

// matchWrep tries the replace_wrep pattern with the word starting at w0. It returns the
// word end, the repetition count, the end of the final repetition and the end of the
// trailing character e (== final end when e is $).
func matchWrep(s string, w0 int) (wEnd, count, finalEnd, eEnd int, ok bool) {
	wEnd = wordChunkEnd(s, w0)
	if wEnd == w0 {
		return
	}
	w := s[w0:wEnd]
	sp := spaceEnd(s, wEnd)
	if sp == wEnd {
		return
	}
	// exact repetitions: w followed by whitespace
	pos := sp
	n := 0        // exact repetitions "w\s+" seen
	lastEnd := -1 // end of the last exact repetition's word
	for strings.HasPrefix(s[pos:], w) {
		e := pos + len(w)
		se := spaceEnd(s, e)
		if se == e {
			break
		}
		n++
		lastEnd = e
		pos = se
	}
	// try a final \1 at pos (after n exact reps), followed by \s, \W or $
	if n >= 1 && strings.HasPrefix(s[pos:], w) {
		e := pos + len(w)
		if e == len(s) {
			return wEnd, n + 2, e, e, true
		}
		r, sz := decodeStr(s, e)
		if !isWord(r) {
			return wEnd, n + 2, e, e + sz, true
		}
	}
	// backtrack: the last exact repetition is the final \1, followed by whitespace
	if n >= 2 {
		_, sz := decodeStr(s, lastEnd)
		return wEnd, n + 1, lastEnd, lastEnd + sz, true
	}
	return
}

// wrepCandidate is a quick test for matchWrep: the word at w0 must be followed by
// whitespace and then by its own first byte.
func wrepCandidate(s string, w0 int) bool {
	if w0 >= len(s) {
		return false
	}
	first := s[w0]
	i := w0
	for i < len(s) && s[i] < utf8.RuneSelf && asciiClass[s[i]]&cWord != 0 {
		i++
	}
	if i >= len(s) {
		return false
	}
	if s[i] < utf8.RuneSelf {
		if asciiClass[s[i]]&cSpace == 0 {
			return false // ASCII non-word, non-space after the word: no match
		}
		for i < len(s) && s[i] < utf8.RuneSelf && asciiClass[s[i]]&cSpace != 0 {
			i++
		}
		return i < len(s) && (s[i] == first || s[i] >= utf8.RuneSelf)
	}
	return true // non-ASCII: let matchWrep decide
}

// hasRepeatedChunk reports whether two consecutive whitespace-separated chunks of s are
// equal, which any replace_wrep match needs.
func hasRepeatedChunk(s string) bool {
	ps, pe := 0, -1
	i := 0
	for i < len(s) {
		for i < len(s) {
			if c := s[i]; c < utf8.RuneSelf {
				if asciiClass[c]&cSpace == 0 {
					break
				}
				i++
			} else if r, n := utf8.DecodeRuneInString(s[i:]); isSpace(r) {
				i += n
			} else {
				break
			}
		}
		st := i
		for i < len(s) {
			if c := s[i]; c < utf8.RuneSelf {
				if asciiClass[c]&cSpace != 0 {
					break
				}
				i++
			} else if r, n := utf8.DecodeRuneInString(s[i:]); !isSpace(r) {
				i += n
			} else {
				break
			}
		}
		if i > st && pe-ps == i-st && s[ps:pe] == s[st:i] {
			return true
		}
		ps, pe = st, i
	}
	return false
}

// appendReplaceWrep appends replace_wrep(s) to dst (nil when lazy and nothing matched).
func appendReplaceWrep(dst []byte, s string, lazy bool) []byte {
	started := !lazy
	last := 0
	i := 0
	for i < len(s) {
		var mStart, w0 int
		if i == 0 {
			r, n := decodeStr(s, 0)
			if isSpace(r) {
				mStart, w0 = 0, n // the \s alternative comes first
			} else {
				mStart, w0 = 0, 0 // ^ alternative
			}
		} else {
			r, n := decodeStr(s, i)
			if !isSpace(r) {
				i += n
				continue
			}
			mStart, w0 = i, i+n
		}
		if !wrepCandidate(s, w0) {
			_, n := decodeStr(s, i)
			i += n
			continue
		}
		wEnd, count, finalEnd, eEnd, ok := matchWrep(s, w0)
		if !ok {
			_, n := decodeStr(s, i)
			i += n
			continue
		}
		started = true
		dst = append(dst, s[last:mStart]...)
		dst = append(dst, ' ')
		dst = append(dst, TKWRp...)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(count), 10)
		dst = append(dst, ' ')
		dst = append(dst, s[w0:wEnd]...)
		dst = append(dst, ' ')
		dst = append(dst, s[finalEnd:eEnd]...)
		last = eEnd
		i = eEnd
		if eEnd == mStart { // cannot happen (a match is never empty); guard anyway
			i++
		}
	}
	if !started {
		return nil
	}
	return append(dst, s[last:]...)
}

// SpecAddSpaces applies fastai's spec_add_spaces: spaces around "/", "#" and "\\".
func SpecAddSpaces(s string) string {
	if !strings.ContainsAny(s, "/#\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '/', '#', '\\':
			b.WriteByte(' ')
			b.WriteByte(c)
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// RmUselessSpaces applies fastai's rm_useless_spaces: runs of spaces become one.
func RmUselessSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ReplaceAllCaps applies fastai's replace_all_caps to a string: each whitespace-separated
// chunk in ALL CAPS is lowercased, with "xxup " before it when longer than one character.
// The Tokenizer applies the same test to its chunks.
func ReplaceAllCaps(s string) string { return replaceCase(s, true) }

// ReplaceMaj applies fastai's replace_maj: each Capitalized chunk is lowercased, with
// "xxmaj " before it when longer than one character.
func ReplaceMaj(s string) string { return replaceCase(s, false) }

func replaceCase(s string, caps bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := decodeStr(s, i)
		if isSpace(r) {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		j := i
		for j < len(s) {
			r, n := decodeStr(s, j)
			if isSpace(r) {
				break
			}
			j += n
		}
		c := s[i:j]
		allCaps, maj := caseOf(c)
		if (caps && allCaps) || (!caps && maj) {
			if utf8.RuneCountInString(c) > 1 {
				if caps {
					b.WriteString(TKUp + " ")
				} else {
					b.WriteString(TKMaj + " ")
				}
			}
			c = strings.ToLower(c)
		}
		b.WriteString(c)
		i = j
	}
	return b.String()
}
