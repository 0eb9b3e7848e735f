package tokenize

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/tokenize/sentencepiece"
)

func spSettings(t *testing.T, model string) (Settings, *sentencepiece.Processor) {
	t.Helper()
	b, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sentencepiece.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sentencepiece.NewProcessor(m)
	if err != nil {
		t.Fatal(err)
	}
	return Default().WithSPModel(b), p
}

// TestSentencePieceTokenizer: the rules run as for words, then each word (not a special
// token) becomes its pieces; and splitting word by word is what spm_encode does to the
// whole rule-processed line, so the artifact holds spm's segmentation of the text.
func TestSentencePieceTokenizer(t *testing.T) {
	for _, model := range []string{"mixed_identity", "mixed_nfkc", "mixed_bytefb", "en_user"} {
		t.Run(model, func(t *testing.T) {
			s, p := spSettings(t, "sentencepiece/testdata/spm/"+model+".model")
			tk, err := New(s)
			if err != nil {
				t.Fatal(err)
			}
			words, err := NewWords(s)
			if err != nil {
				t.Fatal(err)
			}
			text, err := os.ReadFile("sentencepiece/testdata/spm/test.txt")
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(text), "\n") {
				got := tk.Tokenize(line)
				// the reference: runs of words between the special tokens (none of these
				// models has them as pieces), each run encoded as one text
				var want, run []string
				flush := func() {
					if len(run) > 0 {
						for _, id := range p.Encode(nil, strings.Join(run, " ")) {
							want = append(want, p.Piece(id))
						}
					}
					run = run[:0]
				}
				for _, w := range words.Tokenize(line) {
					if tk.specials[w] || w == NL {
						flush()
						want = append(want, w)
						continue
					}
					run = append(run, w)
				}
				flush()
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("line %d %q:\n got  %q\n want %q", i+1, line, got, want)
				}
			}
		})
	}
}

// TestSentencePieceSettings: the model travels in the settings' JSON and is checked.
func TestSentencePieceSettings(t *testing.T) {
	s, _ := spSettings(t, "sentencepiece/testdata/spm/en_user.model")
	back, err := ParseSettings(s.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("settings do not survive JSON")
	}
	bad := s
	bad.SPModel = append([]byte{}, s.SPModel...)
	bad.SPModel[len(bad.SPModel)/2] ^= 1
	if _, err := ParseSettings(bad.JSON()); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("damaged model: %v", err)
	}
	none := Default()
	none.Tokenizer = TokSentencePiece
	if _, err := New(none); err == nil {
		t.Errorf("sentencepiece without a model: no error")
	}
	words := Default()
	words.SPModel = s.SPModel
	if err := words.Validate(); err == nil {
		t.Errorf("a model with the words tokenizer: no error")
	}
}
