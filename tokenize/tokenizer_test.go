package tokenize

import (
	"strings"
	"testing"
)

func TestSettingsVariants(t *testing.T) {
	pre := Pretokenized()
	noLower := Default()
	noLower.Rules = []string{RuleFixHTML, RuleReplaceRep, RuleReplaceWrep, RuleSpecAddSpaces, RuleRmUselessSpaces}
	noNL := Default()
	noNL.Newline = ""
	fastaiURLs := Default()
	fastaiURLs.KeepURLs = false
	repDigits := Default()
	repDigits.RepDigits = true
	eos := Default()
	eos.AddBOS, eos.AddEOS = false, true
	hyph := Default()
	hyph.SplitHyphens = true
	noMark := Default()
	noMark.MarkFields = false
	tests := []struct {
		name   string
		s      Settings
		fields []string
		want   string
	}{
		{"default", Default(), []string{"The END of it."}, "xxbos xxmaj the xxup end of it ."},
		{"fields", Default(), []string{"Title here", "Body text"}, "xxbos xxfld 1 xxmaj title here xxfld 2 xxmaj body text"},
		{"fields unmarked", noMark, []string{"Title", "Body"}, "xxbos xxmaj title xxmaj body"},
		{"one field unmarked", Default(), []string{"Only"}, "xxbos xxmaj only"},
		{"pretokenized wikitext", pre, []string{"= Valkyria Chronicles III =\nThe game 's <unk> , 1 @,@ 000 well @-@ known"},
			"xxbos = xxmaj valkyria xxmaj chronicles xxup iii = xxnl xxmaj the game 's xxunk , 1 @,@ 000 well @-@ known"},
		{"no lowercase", noLower, []string{"The Cat's HAT."}, "xxbos The Cat 's HAT ."},
		{"newline token", Default(), []string{"a\n\nb\nc \n d\n"}, "xxbos a xxnl b xxnl c xxnl d"},
		{"newlines off", noNL, []string{"a\n\nb"}, "xxbos a b"},
		{"urls split like fastai", fastaiURLs, []string{"see http://x.com/a"}, "xxbos see http : / / x.com / a"},
		{"urls kept", Default(), []string{"see http://x.com/a."}, "xxbos see http://x.com/a ."},
		{"rep digits like fastai", repDigits, []string{"1000000"}, "xxbos 1 xxrep 6 0"},
		{"digits kept", Default(), []string{"1000000"}, "xxbos 1000000"},
		{"eos no bos", eos, []string{"Hi"}, "xxmaj hi xxeos"},
		{"split hyphens", hyph, []string{"well-known 1-2"}, "xxbos well - known 1 - 2"},
		{"empty", Default(), []string{"   "}, "xxbos"},
		{"invalid utf8 replaced", Default(), []string{"a\xffb"}, "xxbos a \ufffd b"},
		{"nbsp separates", Default(), []string{"a\u00a0b\u2003c"}, "xxbos a b c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := New(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(tk.Tokenize(tc.fields...), " ")
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestSettingsJSONRoundTrip(t *testing.T) {
	for _, s := range []Settings{Default(), Pretokenized()} {
		got, err := ParseSettings(s.JSON())
		if err != nil {
			t.Fatal(err)
		}
		if string(got.JSON()) != string(s.JSON()) {
			t.Errorf("round trip changed settings: %s -> %s", s.JSON(), got.JSON())
		}
	}
	bad := []string{
		`{"version":99,"tokenizer":"words","specials":["xxunk"]}`,
		`{"version":1,"tokenizer":"bpe","specials":["xxunk"]}`,
		`{"version":1,"tokenizer":"words","rules":["nope"],"specials":["xxunk"]}`,
		`{"version":1,"tokenizer":"words","specials":["xxpad"]}`,
		`{"version":1,"tokenizer":"words","specials":["xxunk","xxunk"]}`,
		`{"version":1,"tokenizer":"words","specials":["xxunk"],"newline":"a b"}`,
		`not json`,
	}
	for _, b := range bad {
		if _, err := ParseSettings([]byte(b)); err == nil {
			t.Errorf("ParseSettings(%s) accepted bad settings", b)
		}
	}
}

func TestSpecialsOrder(t *testing.T) {
	want := "xxunk xxpad xxbos xxeos xxfld xxmaj xxup xxrep xxwrep"
	if got := strings.Join(DefaultSpecials(), " "); got != want {
		t.Errorf("specials %q, want %q", got, want)
	}
}

// TestAppendReuse checks that a Tokenizer gives the same tokens when reused, and that
// Append appends.
func TestAppendReuse(t *testing.T) {
	tk, _ := New(Default())
	var dst Tokens
	n1 := tk.Append(&dst, "First doc!!!")
	n2 := tk.Append(&dst, "Second one")
	if n1+n2 != dst.Len() {
		t.Fatalf("appended %d+%d, have %d", n1, n2, dst.Len())
	}
	if got := strings.Join(dst.Strings(n1), " "); got != "xxbos xxmaj second one" {
		t.Errorf("second doc %q", got)
	}
	if got := strings.Join(tk.Tokenize("First doc!!!"), " "); got != strings.Join(dst.Strings(0)[:n1], " ") {
		t.Errorf("reuse changed output: %q", got)
	}
}

// TestNoWhitespaceInTokens: tokens never hold whitespace and are never empty, on a mix
// of odd inputs (vocabularies cannot hold line breaks).
func TestNoWhitespaceInTokens(t *testing.T) {
	inputs := []string{"\u2028a\u2029b\u0085c", "x \t\r\n y", "   ", "a\u00a0\u00a0b", "'''", "---", "....", "@@@", "a''b", "\"\"\"x",
		"<br /> <br />", "\\n\\n", "&nbsp;&nbsp;", "❤️❤️❤️", "👩‍💻!", "e\u0301", "\u0301x", "(\u0301)"}
	tk, _ := New(Default())
	for _, in := range inputs {
		for _, tok := range tk.Tokenize(in) {
			if tok == "" || strings.ContainsFunc(tok, isSpace) {
				t.Errorf("Tokenize(%q) gave token %q", in, tok)
			}
		}
	}
}
