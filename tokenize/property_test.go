package tokenize

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestTokensKeepText: with no rules that rewrite text, the tokens, joined, are the input
// without its whitespace: the word tokenizer only splits, it never drops, adds or
// reorders a character. Random strings from an alphabet of the tricky characters.
func TestTokensKeepText(t *testing.T) {
	s := Default()
	s.Rules = nil
	s.AddBOS = false
	s.Newline = ""
	tk, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	alphabet := []string{"a", "b", "Z", "é", "ß", "中", "1", "0", " ", "  ", "\n", "\t", "\u00a0",
		".", "..", ",", "'", "’", "\"", "-", "--", "—", "(", ")", "[", "!", "?", ";", ":", "@", "#", "/",
		"\\", "$", "%", "&", "*", "+", "_", "~", "😀", "\u200d", "\ufe0f", "\u0301", "n't", "'s", "'re",
		"don't", "www.", "http://", "x.com/", "u.s.", "mr.", "dont", "gonna", "1,000.5", "e-mail", "xxbos"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		in := b.String()
		toks := tk.Tokenize(in)
		want := strings.Join(strings.FieldsFunc(in, isSpace), "")
		if got := strings.Join(toks, ""); got != want {
			t.Fatalf("case %d: Tokenize(%q) = %q: joined %q, want %q", i, in, toks, got, want)
		}
		for _, tok := range toks {
			if tok == "" || !utf8.ValidString(tok) {
				t.Fatalf("Tokenize(%q) gave token %q", in, tok)
			}
		}
	}
}

// TestDefaultNoPanic runs the default settings over random strings, including invalid
// UTF-8 and long repetitions, and checks the tokens are non-empty, valid UTF-8 and free
// of whitespace.
func TestDefaultNoPanic(t *testing.T) {
	tk, _ := New(Default())
	alphabet := []string{"a", "A", "é", "É", " ", "\n", "!", "!!!", ".", "...", "'", "&amp;", "&#39;", "#39;", "<br />",
		"\\n", " @-@ ", "<unk>", "\xff", "\xc3", "ha ha ha ", "1000", "/", "#", "😀😀😀", "quot;", "http://a.b/c", "x@y.org"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(16) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		in := b.String()
		for _, tok := range tk.Tokenize(in, in) {
			if tok == "" || !utf8.ValidString(tok) || strings.ContainsFunc(tok, isSpace) {
				t.Fatalf("Tokenize(%q) gave token %q", in, tok)
			}
		}
	}
}

// TestScanShortcut: skipping replace_rep/replace_wrep when the first scan sees nothing
// for them gives the same tokens as always applying them.
func TestScanShortcut(t *testing.T) {
	for _, s := range []Settings{Default(), func() Settings { s := Default(); s.RepDigits = true; s.KeepURLs = false; return s }()} {
		fast, _ := New(s)
		slow, _ := New(s)
		slow.always = true
		alphabet := []string{"a", "b", "A", "é", "é", " ", "\n", "\u00a0", "1", "0", "!", ".", "ha ", "ha", "the ", "www.", "x.com/", "aa", "😀"}
		rng := rand.New(rand.NewPCG(5, 6))
		for range 30000 {
			var b strings.Builder
			for range rng.IntN(14) {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			in := b.String()
			f, w := fast.Tokenize(in), slow.Tokenize(in)
			if strings.Join(f, " ") != strings.Join(w, " ") {
				t.Fatalf("Tokenize(%q): shortcut %q, full %q", in, f, w)
			}
		}
	}
}
