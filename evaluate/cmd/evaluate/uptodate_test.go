package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUpToDate: a second identical run prints "up to date" and does no
// work; a changed flag or a missing --metrics file redoes it.
func TestUpToDate(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	out, met := filepath.Join(dir, "preds.arrow"), filepath.Join(dir, "preds.metrics.json")
	args := []string{"--model", f.fwd, "--data", f.test, "--out", out, "--metrics", met, "--bs", "100"}
	if code, _, msg := runCmd("", append(args, "-q")...); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	before, beforeMet := ageFile(t, out), ageFile(t, met)
	code, _, msg := runCmd("", args...)
	if want := "evaluate: " + out + " is up to date (same inputs, same params); nothing to do (--force to redo)\n"; code != 0 || msg != want {
		t.Errorf("second run: exit %d, said %q, want %q", code, msg, want)
	}
	checkSkipped(t, out, before)
	checkSkipped(t, met, beforeMet)

	// A changed flag: predicts again and says why.
	before = ageFile(t, out)
	code, _, msg = runCmd("", append(args, "--bs", "50")...)
	if code != 0 || !strings.Contains(msg, "out of date (params differ: bs 100 -> 50)") || !strings.Contains(msg, "500 documents") {
		t.Errorf("changed --bs: exit %d, said %q", code, msg)
	}
	if st, _ := os.Stat(out); os.SameFile(before, st) {
		t.Error("changed --bs: output not rewritten")
	}
	// The metrics file is an output too.
	if err := os.Remove(met); err != nil {
		t.Fatal(err)
	}
	args[len(args)-1] = "50"
	code, _, msg = runCmd("", args...)
	if code != 0 || !strings.Contains(msg, met+" is missing") {
		t.Errorf("metrics removed: exit %d, said %q", code, msg)
	}
	if _, err := os.Stat(met); err != nil {
		t.Errorf("metrics not rewritten: %v", err)
	}
	// --force redoes it.
	before = ageFile(t, out)
	if code, _, msg := runCmd("", append(args, "--force", "-q")...); code != 0 || msg != "" {
		t.Errorf("--force: exit %d, said %q", code, msg)
	}
	if st, _ := os.Stat(out); os.SameFile(before, st) {
		t.Error("--force: output not rewritten")
	}
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
