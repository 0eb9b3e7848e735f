package sentencepiece

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func smallModel() *Model {
	m := &Model{
		Pieces: []Piece{
			{Piece: "<unk>", Type: Unknown},
			{Piece: "<s>", Type: Control},
			{Piece: "</s>", Type: Control},
			{Piece: Space, Score: -1.5},
			{Piece: "a", Score: -2},
			{Piece: Space + "a", Score: -2.5},
		},
		Trainer:    DefaultTrainerSpec(),
		Normalizer: DefaultNormalizerSpec(),
	}
	m.Trainer.VocabSize = 6
	m.Trainer.Input = []string{"x.txt"}
	return m
}

func TestMarshalParseRoundTrip(t *testing.T) {
	m := smallModel()
	b := m.Marshal()
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Pieces, m.Pieces) {
		t.Errorf("pieces: got %+v want %+v", got.Pieces, m.Pieces)
	}
	if got.Trainer.VocabSize != 6 || got.Trainer.PadID != -1 || got.Trainer.CharacterCoverage != 0.9995 || !got.Normalizer.AddDummyPrefix || got.Normalizer.Name != "identity" {
		t.Errorf("specs: %+v %+v", got.Trainer, got.Normalizer)
	}
	if b2 := got.Marshal(); !bytes.Equal(b, b2) {
		t.Errorf("Marshal(Parse(Marshal(m))) differs from Marshal(m)")
	}
}

func TestParseDefaults(t *testing.T) {
	// A model with one piece and nothing else: every spec field reads as its default.
	m, err := Parse([]byte("\x0a\x07\x0a\x05<unk>"))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultTrainerSpec()
	want.present = 0
	if !reflect.DeepEqual(m.Trainer, want) {
		t.Errorf("trainer defaults: got %+v\nwant %+v", m.Trainer, want)
	}
	n := m.Normalizer
	if n.Name != "" || !n.AddDummyPrefix || !n.RemoveExtraWhitespaces || !n.EscapeWhitespaces || m.Denormalizer != nil {
		t.Errorf("normalizer defaults: %+v", n)
	}
	if m.Pieces[0].Type != Normal || m.Pieces[0].Score != 0 {
		t.Errorf("piece defaults: %+v", m.Pieces[0])
	}
	if b := m.Marshal(); string(b) != "\x0a\x07\x0a\x05<unk>" {
		t.Errorf("Marshal wrote %q", b)
	}
}

func TestUnknownFieldsKept(t *testing.T) {
	m := smallModel()
	// trainer_spec field 12 (deprecated mining_sentence_size) = 5 and field 60 = "x";
	// a top-level self_test_data (4).
	m.Trainer.Unknown = []byte{12 << 3, 5, 0xE2, 0x03, 1, 'x'}
	m.Unknown = []byte{4<<3 | 2, 0}
	b := m.Marshal()
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Trainer.Unknown, m.Trainer.Unknown) || !bytes.Equal(got.Unknown, m.Unknown) {
		t.Errorf("unknown: %x %x", got.Trainer.Unknown, got.Unknown)
	}
	if !bytes.Equal(got.Marshal(), b) {
		t.Errorf("not byte-identical")
	}
}

func TestParseErrors(t *testing.T) {
	b := smallModel().Marshal()
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{b[:len(b)-1], "sentencepiece: model: field 3: truncated"},
		{nil, "no pieces"},
		{[]byte("hello, this is not a model\n"), "not a SentencePiece model"},
		{[]byte{0x12, 0x03, 0x20, 0x80, 0x80}, "field 2 (trainer_spec): field 4: truncated"},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidModel) {
			t.Errorf("Parse(%q): %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.model")
	m := smallModel()
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), m.Marshal()) {
		t.Error("Load(Save(m)) differs")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("Save left %d files", len(ents))
	}
	if _, err := Load(filepath.Join(dir, "missing.model")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing): %v", err)
	}
	if err := m.Save(filepath.Join(dir, "no", "such", "dir.model")); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}

// FuzzParse: Parse never panics; what it accepts marshals to bytes that parse to the
// same model, and NewProcessor and Encode never panic on it.
func FuzzParse(f *testing.F) {
	f.Add(smallModel().Marshal())
	if b, err := os.ReadFile(filepath.Join(fixtureDir, "en_user.model")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		out := m.Marshal()
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(m)): %v", err)
		}
		if !bytes.Equal(m2.Marshal(), out) {
			t.Fatal("Marshal(Parse(Marshal(m))) != Marshal(m)")
		}
		if p, err := NewProcessor(m); err == nil {
			p.Decode(p.Encode(nil, "Hello wörld, 東京 \xff test"))
		}
	})
}
