package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	before, beforeVocab := ageFile(t, out), ageFile(t, vocab)
	code, stdout, stderr := tok(t, append(args, "--threads", "1")...)
	if want := "tokenize: " + out + " is up to date (same inputs, same params); nothing to do (--force to redo)\n"; code != 0 || stderr != want || stdout != "" {
		t.Errorf("second run: exit %d, stdout %q, stderr %q, want %q", code, stdout, stderr, want)
	}
	checkSkipped(t, out, before)
	checkSkipped(t, vocab, beforeVocab)

	redo := func(what, reason string, args ...string) {
		t.Helper()
		before := ageFile(t, out)
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

// ageFile sets path's modification time an hour back and returns its
// FileInfo.
func ageFile(t *testing.T, path string) os.FileInfo {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// checkSkipped fails unless path is the same file (not rewritten) and its
// modification time is now.
func checkSkipped(t *testing.T, path string, before os.FileInfo) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, st) {
		t.Errorf("%s was rewritten by an up-to-date run", path)
	}
	if time.Since(st.ModTime()) > time.Minute {
		t.Errorf("%s: modification time not set to now", path)
	}
}
