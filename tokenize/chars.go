package tokenize

import (
	"unicode"
	"unicode/utf8"
)

// asciiClass bits for bytes < 0x80.
const (
	cSpace = 1 << iota // Python's \s: \t \n \v \f \r space and \x1c-\x1f
	cWord              // Python's \w: letters, digits, underscore
	cUpper             // A-Z
	cLower             // a-z
	cDigit             // 0-9
	cPunct             // ASCII punctuation or symbol
)

var asciiClass = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		switch {
		case c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f):
			t[c] |= cSpace
		case c >= 'A' && c <= 'Z':
			t[c] |= cWord | cUpper
		case c >= 'a' && c <= 'z':
			t[c] |= cWord | cLower
		case c >= '0' && c <= '9':
			t[c] |= cWord | cDigit
		case c == '_':
			t[c] |= cWord | cPunct
		case c > ' ' && c < 0x7f:
			t[c] |= cPunct
		}
	}
	return t
}()

// isSpace is Python's \s for str patterns (str.isspace).
func isSpace(r rune) bool {
	if uint32(r) < utf8.RuneSelf {
		return asciiClass[r]&cSpace != 0
	}
	return unicode.IsSpace(r)
}

// isWord is Python's \w for str patterns: alphanumeric or underscore.
func isWord(r rune) bool {
	if uint32(r) < utf8.RuneSelf {
		return asciiClass[r]&cWord != 0
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// isAlnum: a letter (any script), a digit or a combining mark.
func isAlnum(r rune) bool {
	if uint32(r) < utf8.RuneSelf {
		return asciiClass[r]&(cUpper|cLower|cDigit) != 0
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.M, r)
}

func isLetter(r rune) bool {
	if uint32(r) < utf8.RuneSelf {
		return asciiClass[r]&(cUpper|cLower) != 0
	}
	return unicode.IsLetter(r)
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isPunct: punctuation or symbol (not a letter, digit, mark or space).
func isPunct(r rune) bool {
	if uint32(r) < utf8.RuneSelf {
		return asciiClass[r]&cPunct != 0
	}
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}

func isApos(r rune) bool { return r == '\'' || r == '’' }

// decode returns the rune at b[0] and its size (RuneError, 1 for bad bytes).
func decode(b []byte) (rune, int) {
	if len(b) > 0 && b[0] < utf8.RuneSelf {
		return rune(b[0]), 1
	}
	return utf8.DecodeRune(b)
}

func decodeLast(b []byte) (rune, int) {
	if n := len(b); n > 0 && b[n-1] < utf8.RuneSelf {
		return rune(b[n-1]), 1
	}
	return utf8.DecodeLastRune(b)
}

func decodeStr(s string, i int) (rune, int) {
	if i < len(s) && s[i] < utf8.RuneSelf {
		return rune(s[i]), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}
