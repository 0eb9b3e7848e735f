package main

import (
	"context"
	"github.com/ulmfit-go/ulmfit/artifacts/cli/clitest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/stage"
)

// TestUpToDate: a second identical run prints "up to date" and does no
// work; a changed training flag or --force trains again.
func TestUpToDate(t *testing.T) {
	c := corpus(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "lm.arrow")
	args := append([]string{"--epochs", "1", "-o", out, c.TrainPath}, tinyFlags...)
	ctx := context.Background()
	if code, _, stderr := runCmd(t, ctx, stage.Options{}, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	before := clitest.AgeFile(t, out)
	log := filepath.Join(dir, "second.jsonl")
	again := append(args[:len(args)-1:len(args)-1], "--log", log, "--threads", "2", "--checkpoint-every", "1") // not quiet
	code, stdout, stderr := runCmd(t, ctx, stage.Options{}, again...)
	if want := "pretrain: " + out + " is up to date (same inputs, same params); nothing to do (--force to redo)\n"; code != 0 || stderr != want || stdout != "" {
		t.Errorf("second run: exit %d, stdout %q, stderr %q, want %q", code, stdout, stderr, want)
	}
	clitest.CheckSkipped(t, out, before)
	if _, err := os.Stat(log); err == nil {
		t.Error("the up-to-date run wrote a metrics log")
	}

	// One training flag changed: trains again and says why.
	before = clitest.AgeFile(t, out)
	code, stdout, stderr = runCmd(t, ctx, stage.Options{}, append(again, "--seed", "4")...)
	if code != 0 || !strings.Contains(stderr, `out of date (params differ: seed "3" -> "4")`) || !strings.Contains(stdout, "pretrain: wrote "+out) {
		t.Errorf("changed seed: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if st, _ := os.Stat(out); os.SameFile(before, st) {
		t.Error("changed seed: output not rewritten")
	}
	// --force trains again.
	before = clitest.AgeFile(t, out)
	if code, _, stderr := runCmd(t, ctx, stage.Options{}, append(args, "--seed", "4", "--force")...); code != 0 || stderr != "" {
		t.Errorf("--force: exit %d, stderr %q", code, stderr)
	}
	if st, _ := os.Stat(out); os.SameFile(before, st) {
		t.Error("--force: output not rewritten")
	}
}
