package main

import (
	"github.com/ulmfit-go/ulmfit/artifacts/cli/clitest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpToDate: a second identical run prints "up to date" and does no
// work; changing a training flag, or --force, redoes it.
func TestUpToDate(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "clf.arrow")
	args := []string{"--from-scratch", "--preset", "tiny", "--epochs", "1", "--bs", "32", "--seed", "3", "--data", f.small, "--out", out}
	if code, msg := runCmd(append(args, "-q")...); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	before := clitest.AgeFile(t, out)
	log := filepath.Join(dir, "second.jsonl")
	var code int
	var msg string
	stderr := clitest.CaptureStderr(t, func() { code, msg = runCmd(append(args, "--log", log, "--checkpoint-every", "1m")...) })
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, msg)
	}
	if want := "clftune: " + out + " is up to date (same inputs, same params); nothing to do (--force to redo)\n"; stderr != want {
		t.Errorf("second run said %q, want %q", stderr, want)
	}
	clitest.CheckSkipped(t, out, before)
	if _, err := os.Stat(log); err == nil {
		t.Error("the up-to-date run wrote a metrics log")
	}

	// One training flag changed: trains again and says why.
	before = clitest.AgeFile(t, out)
	stderr = clitest.CaptureStderr(t, func() { code, msg = runCmd(append(args, "--seed", "4", "-q")...) })
	if code != 0 {
		t.Fatalf("changed seed: exit %d: %s", code, msg)
	}
	if strings.Contains(stderr, "up to date") {
		t.Errorf("changed seed: %q", stderr)
	}
	st, _ := os.Stat(out)
	if os.SameFile(before, st) {
		t.Error("changed seed: output not rewritten")
	}
	// --force redoes an up-to-date output.
	before = clitest.AgeFile(t, out)
	if code, msg := runCmd(append(args, "--seed", "4", "-q", "--force")...); code != 0 {
		t.Fatalf("--force: exit %d: %s", code, msg)
	}
	if st, _ := os.Stat(out); os.SameFile(before, st) {
		t.Error("--force: output not rewritten")
	}
	// Not quiet: a changed flag is named.
	stderr = clitest.CaptureStderr(t, func() { code, msg = runCmd(append(args, "--epochs", "2", "--seed", "4")...) })
	if code != 0 || !strings.Contains(stderr, `out of date (params differ: epochs "1" -> "2")`) {
		t.Errorf("changed epochs: exit %d %s, stderr %q", code, msg, stderr)
	}
}
