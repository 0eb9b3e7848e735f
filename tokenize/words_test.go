package tokenize

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/words.out from the tokenizer (then review the diff!)")

// TestWordsGolden tokenizes each line of testdata/golden/words.in with the default
// settings and compares with words.out (one line of space-separated tokens per input
// line; comments and blank lines are kept as they are).
func TestWordsGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/golden/words.in")
	if err != nil {
		t.Fatal(err)
	}
	tk, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(in), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			fmt.Fprintln(&got, line)
			continue
		}
		fmt.Fprintln(&got, strings.Join(tk.Tokenize(line), " "))
	}
	if *update {
		if err := os.WriteFile("testdata/golden/words.out", []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("testdata/golden/words.out")
	if err != nil {
		t.Fatal(err)
	}
	gl := strings.Split(got.String(), "\n")
	wl := strings.Split(string(want), "\n")
	if len(gl) != len(wl) {
		t.Fatalf("%d output lines, golden has %d (run go test -update and review)", len(gl), len(wl))
	}
	for i := range gl {
		if gl[i] != wl[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
		}
	}
}
