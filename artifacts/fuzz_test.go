package artifacts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds arbitrary bytes to every reader: they may fail, but only
// with an *Error, and must never panic or exhaust memory. Seeds live in
// testdata/fuzz/FuzzRead (regenerate with ARTIFACTS_FUZZ_SEEDS=1 go test -run WriteFuzzSeeds).
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "a.arrow")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		check := func(what string, err error) {
			var ae *Error
			if err != nil && !errors.As(err, &ae) {
				t.Fatalf("%s: error %T is not *Error: %v", what, err, err)
			}
		}
		_, err := Verify(path)
		check("Verify", err)
		_, err = LoadVocab(path)
		check("LoadVocab", err)
		_, _, err = ReadTokens(path)
		check("ReadTokens", err)
		_, err = ReadModel(path, "")
		check("ReadModel", err)
		_, err = ReadPredictions(path)
		check("ReadPredictions", err)
		_, _, err = ReadVocab(path)
		check("ReadVocab", err)
		_, err = InputOf(path)
		check("InputOf", err)
	})
}

// TestWriteFuzzSeeds regenerates the committed seed corpus.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("ARTIFACTS_FUZZ_SEEDS") == "" {
		t.Skip("set ARTIFACTS_FUZZ_SEEDS=1 to regenerate testdata/fuzz/FuzzRead")
	}
	dir := t.TempDir()
	small := testModel()
	small.Vocab = &Vocab{Tokens: []string{"a", "b"}}
	small.Tensors = small.Tensors[1:]
	writers := map[string]func(string) error{
		"tokens": func(p string) error { writeTestTokens(t, p, testDocs(4)); return nil },
		"vocab":  func(p string) error { return WriteVocab(p, Lineage{}, testVocab()) },
		"model":  func(p string) error { return WriteModel(p, small) },
		"predictions": func(p string) error {
			return WritePredictions(p, testPredictions(2))
		},
	}
	out := filepath.Join("testdata", "fuzz", "FuzzRead")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	save := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(out, name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, write := range writers {
		p := filepath.Join(dir, name+".arrow")
		if err := write(p); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		save(name, data)
	}
	save("csv", []byte("label,text\npos,good\n"))
	save("empty", nil)
}
