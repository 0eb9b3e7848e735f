package tokcmd

import (
	"github.com/ulmfit-go/ulmfit/artifacts/cli/clitest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpToDate: a second identical run prints "up to date" and does no
// work; a changed flag, a changed input, a missing --vocab-out or --force
// tokenize again.
func TestUpToDate(t *testing.T) {
	dir := t.TempDir()
	in := write(t, dir, "train.csv", "label,text\npos,Great movie!!!\nneg,Awful film.\n")
	out, vocab := filepath.Join(dir, "train.tokens.arrow"), filepath.Join(dir, "vocab.arrow")
	args := []string{in, "--out", out, "--vocab-out", vocab, "--min-freq", "1"}
	if code, _, stderr := tok(t, append(args, "-q")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	before, beforeVocab := clitest.AgeFile(t, out), clitest.AgeFile(t, vocab)
	code, stdout, stderr := tok(t, append(args, "--threads", "1")...)
	if want := "tokenize: " + out + " is up to date (same inputs, same params); nothing to do (--force to redo)\n"; code != 0 || stderr != want || stdout != "" {
		t.Errorf("second run: exit %d, stdout %q, stderr %q, want %q", code, stdout, stderr, want)
	}
	clitest.CheckSkipped(t, out, before)
	clitest.CheckSkipped(t, vocab, beforeVocab)

	redo := func(what, reason string, args ...string) {
		t.Helper()
		before := clitest.AgeFile(t, out)
		code, stdout, stderr := tok(t, args...)
		if code != 0 || !strings.Contains(stderr, reason) || !strings.Contains(stdout, out) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q, want %q", what, code, stdout, stderr, reason)
		}
		if st, _ := os.Stat(out); os.SameFile(before, st) {
			t.Errorf("%s: output not rewritten", what)
		}
	}
	redo("changed flag", `out of date (params differ: add-eos "false" -> "true")`, append(args, "--add-eos")...)
	write(t, dir, "train.csv", "label,text\npos,Great movie!!!\nneg,Awful film!\n")
	redo("changed input", "out of date (input 1 changed (train.csv))", append(args, "--add-eos")...)
	if err := os.Remove(vocab); err != nil {
		t.Fatal(err)
	}
	redo("vocab removed", vocab+" is missing", append(args, "--add-eos")...)
	redo("--force", "", append(args, "--add-eos", "--force")...)
}
