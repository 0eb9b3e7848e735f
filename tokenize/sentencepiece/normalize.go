package sentencepiece

import (
	"strings"
	"unicode/utf8"
)

// replacementChar is U+FFFD, which replaces each byte of malformed UTF-8.
const replacementChar = "\uFFFD"

// normalizer applies a NormalizerSpec as spm 0.1.97's Normalizer::Normalize does at
// encode time. It is read-only after construction.
type normalizer struct {
	charsmap      *charsmap // nil: identity
	addDummy      bool
	removeExtraWS bool
	escapeWS      bool
	wsSuffix      bool       // TrainerSpec.treat_whitespace_as_suffix
	userDefined   *pieceTrie // user-defined symbols, matched on the raw input; nil: none
}

func newNormalizer(spec *NormalizerSpec, wsSuffix bool, userDefined *pieceTrie) (*normalizer, error) {
	cm, err := parseCharsmap(spec.PrecompiledCharsmap)
	if err != nil {
		return nil, err
	}
	return &normalizer{
		charsmap:      cm,
		addDummy:      spec.AddDummyPrefix,
		removeExtraWS: spec.RemoveExtraWhitespaces,
		escapeWS:      spec.EscapeWhitespaces,
		wsSuffix:      wsSuffix,
		userDefined:   userDefined,
	}, nil
}

// prefix normalizes the first unit of s: a user-defined symbol (kept as is), else the
// longest charsmap rule, else one character (U+FFFD for a malformed byte). It returns
// the normalized text and how many bytes of s it consumed.
func (n *normalizer) prefix(s string) (string, int) {
	if n.userDefined != nil {
		if l, _ := trieLongestPrefix(n.userDefined, s); l > 0 {
			return s[:l], l
		}
	}
	if n.charsmap != nil {
		if repl, l := n.charsmap.longestPrefix(s); l > 0 {
			return repl, l
		}
	}
	if s[0] < utf8.RuneSelf {
		return s[:1], 1
	}
	r, l := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && l == 1 {
		return replacementChar, 1
	}
	return s[:l], l
}

// appendSpace appends the whitespace mark: Space when escaping, else " ".
func (n *normalizer) appendSpace(dst []byte) []byte {
	if n.escapeWS {
		return append(dst, Space...)
	}
	return append(dst, ' ')
}

// normalize appends the normalized form of s to dst.
func (n *normalizer) normalize(dst []byte, s string) []byte {
	if s == "" {
		return dst
	}
	if n.removeExtraWS {
		for s != "" {
			p, l := n.prefix(s)
			if p != " " {
				break
			}
			s = s[l:]
		}
		if s == "" {
			return dst
		}
	}
	start := len(dst)
	if !n.wsSuffix && n.addDummy {
		dst = n.appendSpace(dst)
	}
	prevSpace := n.removeExtraWS
	for s != "" {
		p, l := n.prefix(s)
		s = s[l:]
		if prevSpace {
			for p != "" && p[0] == ' ' {
				p = p[1:]
			}
		}
		if p != "" {
			if n.escapeWS {
				for {
					i := strings.IndexByte(p, ' ')
					if i < 0 {
						dst = append(dst, p...)
						break
					}
					dst = append(dst, p[:i]...)
					dst = append(dst, Space...)
					p = p[i+1:]
				}
				// p is what followed the last space: empty when the unit ended with one.
				prevSpace = p == ""
			} else {
				dst = append(dst, p...)
				prevSpace = p[len(p)-1] == ' '
			}
		}
		if !n.removeExtraWS {
			prevSpace = false
		}
	}
	if n.removeExtraWS {
		ws := " "
		if n.escapeWS {
			ws = Space
		}
		for len(dst)-start >= len(ws) && string(dst[len(dst)-len(ws):]) == ws {
			dst = dst[:len(dst)-len(ws)]
		}
	}
	if n.wsSuffix && n.addDummy {
		dst = n.appendSpace(dst)
	}
	return dst
}
