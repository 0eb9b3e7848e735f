package evalcmd

import (
	"github.com/ulmfit-go/ulmfit/artifacts/cli/clitest"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	before, beforeMet := clitest.AgeFile(t, out), clitest.AgeFile(t, met)
	code, _, msg := runCmd("", args...)
	if want := "evaluate: " + out + " is up to date (same inputs, same params); nothing to do (--force to redo)\n"; code != 0 || msg != want {
		t.Errorf("second run: exit %d, said %q, want %q", code, msg, want)
	}
	clitest.CheckSkipped(t, out, before)
	clitest.CheckSkipped(t, met, beforeMet)

	// A changed flag: predicts again and says why.
	before = clitest.AgeFile(t, out)
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
	before = clitest.AgeFile(t, out)
	if code, _, msg := runCmd("", append(args, "--force", "-q")...); code != 0 || msg != "" {
		t.Errorf("--force: exit %d, said %q", code, msg)
	}
	if st, _ := os.Stat(out); os.SameFile(before, st) {
		t.Error("--force: output not rewritten")
	}
}
