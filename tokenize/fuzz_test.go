package tokenize

import (
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for the tokenizer (rules + word splitter), complementing the random-string
// property tests with coverage-guided inputs. Seeds in testdata/fuzz/<target>; run with
//
//	go test -run '^$' -fuzz '^FuzzTokenize$' -fuzztime 10s -parallel 1 .

// fuzzSettings derives settings from fuzzed bits: each bit turns a rule or option off/on
// (bit 15, in FuzzTokenize: SentencePiece pieces).
func fuzzSettings(bits uint16) Settings {
	s := Default()
	var rules []string
	for i, r := range AllRules() {
		if bits&(1<<i) == 0 {
			rules = append(rules, r)
		}
	}
	s.Rules = rules
	s.KeepURLs = bits&(1<<9) == 0
	s.RepDigits = bits&(1<<10) != 0
	s.SplitHyphens = bits&(1<<11) != 0
	s.AddEOS = bits&(1<<12) != 0
	if bits&(1<<13) != 0 {
		s.Newline = ""
	}
	if bits&(1<<14) != 0 {
		s.Tokenizer = "whitespace"
		s.UnkAlias = "<unk>"
	}
	return s
}

// FuzzTokenize: any text, any settings: no panic, the same tokens every time, tokens
// non-empty, valid UTF-8 and free of whitespace, Encode agrees with Tokenize, and with no
// rules and no markers the tokens joined are the text without whitespace (for valid UTF-8).
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"Hello World! This is GREAT!!! <br /> &amp; &#39;quoted&#39;",
		"don't won't can't y'all gonna u.s. mr. smith e-mail www.x.com/a#b x@y.org",
		"ha ha ha ha 1000000 $1,000.50 :-) 😀😀😀 👩‍👩‍👧 é É ß 中文",
		"line one\n\nline two\r\n\ttab \u00a0nbsp \u2028sep",
		"\xff\xfe invalid \xc3 utf8 \xed\xa0\x80 surrogate",
		"= = heading = = <unk> @-@ @,@ 1 @.@ 5",
		"xxbos xxmaj xxup xxrep 3 a xxwrep 2 b xxfld 1",
		"",
	} {
		f.Add(s, "", uint16(0))
		f.Add(s, "second field", uint16(0x3ff))
	}
	spm, err := os.ReadFile("sentencepiece/testdata/spm/mixed_bytefb.model")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Zürich 東京 🙂 ok", "", uint16(1<<15))
	f.Fuzz(func(t *testing.T, a, b string, bits uint16) {
		s := fuzzSettings(bits)
		if bits&(1<<15) != 0 {
			s = s.WithSPModel(spm) // the sentencepiece tokenizer
		}
		tk, err := New(s)
		if err != nil {
			t.Fatalf("settings %+v: %v", s, err)
		}
		fields := []string{a}
		if b != "" {
			fields = append(fields, b)
		}
		toks := tk.Tokenize(fields...)
		if again := tk.Tokenize(fields...); !slices.Equal(toks, again) {
			t.Fatalf("Tokenize(%q) not deterministic: %q then %q", fields, toks, again)
		}
		for _, tok := range toks {
			if tok == "" || !utf8.ValidString(tok) || strings.ContainsFunc(tok, isSpace) {
				t.Fatalf("Tokenize(%q) gave token %q", fields, tok)
			}
		}
		ids := map[string]int32{}
		v := mapIDs(ids)
		for i, sp := range s.Specials {
			ids[sp] = int32(i)
		}
		enc, unk := tk.Encode(nil, v, fields...)
		if len(enc) != len(toks) {
			t.Fatalf("Encode gave %d ids, Tokenize %d tokens", len(enc), len(toks))
		}
		known := 0
		for _, tok := range toks {
			if _, ok := ids[tok]; ok {
				known++
			}
		}
		if unk != len(toks)-known {
			t.Fatalf("Encode counted %d unknown, want %d", unk, len(toks)-known)
		}
		if len(s.Rules) == 0 && s.Tokenizer == "words" && s.Newline == "" && !s.AddEOS && b == "" && utf8.ValidString(a) {
			got := strings.Join(toks, "")
			want := strings.Join(strings.FieldsFunc(a, isSpace), "")
			if s.AddBOS {
				want = BOS + want
			}
			if got != want {
				t.Fatalf("no rules: Tokenize(%q) = %q: joined %q, want %q", a, toks, got, want)
			}
		}
	})
}

type mapIDs map[string]int32

func (m mapIDs) ID(tok string) (int32, bool) {
	id, ok := m[tok]
	return id, ok
}
