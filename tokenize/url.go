package tokenize

import (
	"strings"
	"unicode/utf8"
)

const (
	urlOpen  = "(\"'<[{«“‘"
	urlClose = ")\"'.,;:!?>]}»”’"
)

// splitURL reports whether chunk c is a URL or an e-mail address, possibly wrapped in
// brackets, quotes or followed by punctuation, and splits off that wrapping.
func splitURL(c string) (pre, core, suf string, ok bool) {
	if len(c) < 4 {
		return
	}
	dot := strings.IndexByte(c, '.')
	if dot < 0 && strings.IndexByte(c, ':') < 0 {
		return
	}
	// cheap necessary conditions: "://", "www.", an "@", or a "/" somewhere after a "."
	if strings.IndexByte(c, '@') < 0 && !strings.Contains(c, "://") && !containsFold(c, "www.") &&
		(dot < 0 || strings.IndexByte(c[dot:], '/') < 0) {
		return
	}
	core = trimLeftAny(c, urlOpen)
	pre = c[:len(c)-len(core)]
	trimmed := trimRightAny(core, urlClose)
	// keep a closing bracket that belongs to the URL, e.g. wiki/Foo_(bar)
	for len(trimmed) < len(core) {
		next := core[len(trimmed)]
		if next == ')' && strings.Count(trimmed, "(") > strings.Count(trimmed, ")") {
			trimmed = core[:len(trimmed)+1]
			continue
		}
		break
	}
	suf = core[len(trimmed):]
	core = trimmed
	if isURL(core) || isEmail(core) {
		return pre, core, suf, true
	}
	return "", "", "", false
}

func trimLeftAny(s, set string) string {
	for len(s) > 0 {
		r, n := decodeStr(s, 0)
		if !strings.ContainsRune(set, r) {
			break
		}
		s = s[n:]
	}
	return s
}

func trimRightAny(s, set string) string {
	for len(s) > 0 {
		r, n := utf8.DecodeLastRuneInString(s)
		if !strings.ContainsRune(set, r) {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}

func containsFold(s, p string) bool {
	for i := 0; i+len(p) <= len(s); i++ {
		if hasPrefixFold(s[i:], p) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// isURL: scheme://host..., www.host..., or host.tld/path.
func isURL(s string) bool {
	for _, p := range [...]string{"http://", "https://", "ftp://", "www."} {
		if hasPrefixFold(s, p) {
			rest := s[len(p):]
			return len(rest) > 0 && isHostByte(rest[0])
		}
	}
	if i := strings.Index(s, "://"); i > 0 {
		for j := 0; j < i; j++ {
			if !isASCIILetter(s[j]) {
				return false
			}
		}
		return len(s) > i+3 && isHostByte(s[i+3])
	}
	// host.tld/path
	slash := strings.IndexByte(s, '/')
	if slash <= 0 {
		return false
	}
	return isDomain(s[:slash])
}

// isDomain: labels of letters, digits and hyphens separated by dots, with at least one
// dot, and a last label of 2 to 6 letters.
func isDomain(h string) bool {
	dot := strings.LastIndexByte(h, '.')
	if dot <= 0 {
		return false
	}
	tld := h[dot+1:]
	if len(tld) < 2 || len(tld) > 6 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if !isASCIILetter(tld[i]) {
			return false
		}
	}
	prevDot := true
	for i := 0; i < dot; i++ {
		c := h[i]
		if c == '.' {
			if prevDot {
				return false
			}
			prevDot = true
			continue
		}
		if !isHostByte(c) {
			return false
		}
		prevDot = false
	}
	return !prevDot
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isHostByte(c byte) bool {
	return isASCIILetter(c) || (c >= '0' && c <= '9') || c == '-' || c >= 0x80
}

// isEmail: local@domain with a plausible local part and domain.
func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	for i := 0; i < at; i++ {
		c := s[i]
		if !(isHostByte(c) || c == '.' || c == '_' || c == '+' || c == '%') {
			return false
		}
	}
	return isDomain(s[at+1:])
}
