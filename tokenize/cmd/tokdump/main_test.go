package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/tokenize"
)

func TestDump(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.arrow")
	v := &artifacts.Vocab{Tokens: append(tokenize.DefaultSpecials(), "hello", "world")}
	w, err := artifacts.NewTokensWriter(p, &artifacts.TokensHeader{Vocab: v, LabelNames: []string{"a", "b"}, Tokenizer: tokenize.Default().JSON()})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(artifacts.Doc{ID: 0, Label: 1, Tokens: []int32{2, 9, 10}})
	w.Write(artifacts.Doc{ID: 1, Label: -1, Tokens: []int32{2, 10}})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"-n", "1", "--skip", "1", p}, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "[1] : xxbos world" {
		t.Errorf("got %q", got)
	}
	out.Reset()
	run([]string{p}, &out)
	if !strings.HasPrefix(out.String(), "[0] b: xxbos hello world\n") {
		t.Errorf("got %q", out.String())
	}
}
