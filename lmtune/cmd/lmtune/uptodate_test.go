package main

import (
	"github.com/ulmfit-go/ulmfit/artifacts/cli/clitest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/stage/lmtest"
)

// TestUpToDate: a second identical run prints "up to date" and does no
// work; a changed training flag or a changed input trains again.
func TestUpToDate(t *testing.T) {
	f := setup(t)
	out := filepath.Join(f.dir, "tuned.arrow")
	args := append([]string{"--from", f.lm, "--epochs", "1", "-o", out, f.target.TrainPath, f.unlabeled}, tiny...)
	if code, _, stderr := runStage(t, "lmtune", append(args, "-q")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	before := clitest.AgeFile(t, out)
	code, stdout, stderr := runStage(t, "lmtune", append(args, "--threads", "1")...)
	if want := "lmtune: " + out + " is up to date (same inputs, same params); nothing to do (--force to redo)\n"; code != 0 || stderr != want || stdout != "" {
		t.Errorf("second run: exit %d, stdout %q, stderr %q, want %q", code, stdout, stderr, want)
	}
	clitest.CheckSkipped(t, out, before)

	redo := func(what, reason string, args ...string) {
		t.Helper()
		before := clitest.AgeFile(t, out)
		code, stdout, stderr := runStage(t, "lmtune", args...)
		if code != 0 || !strings.Contains(stderr, reason) || !strings.Contains(stdout, "lmtune: wrote "+out) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q, want %q", what, code, stdout, stderr, reason)
		}
		if st, _ := os.Stat(out); os.SameFile(before, st) {
			t.Errorf("%s: output not rewritten", what)
		}
	}
	redo("changed lr", `out of date (params differ: lr "0" -> "0.02")`, append(args, "--lr", "0.02")...)
	qs := lmtest.TREC(t, 2200)
	lmtest.WriteTokens(t, f.unlabeled, f.target.Vocab, lmtest.IDs(qs[2100:], f.target.Vocab))
	redo("changed input", "out of date (input 2 changed (unlabeled.arrow))", append(args, "--lr", "0.02")...)
}
