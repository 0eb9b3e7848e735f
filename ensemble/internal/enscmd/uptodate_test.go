package enscmd

import (
	"github.com/ulmfit-go/ulmfit/artifacts/cli/clitest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// TestUpToDate: a second identical run prints "up to date" and does no
// work; changed weights, a changed input or a missing metrics file redo it.
func TestUpToDate(t *testing.T) {
	dir := t.TempDir()
	names := []string{"neg", "pos"}
	rows := func(p float32) []artifacts.Prediction {
		return []artifacts.Prediction{{ID: 1, Label: 0, Probs: []float32{p, 1 - p}, Pred: 0}, {ID: 2, Label: 1, Probs: []float32{0.2, 0.8}, Pred: 1}}
	}
	a, b := filepath.Join(dir, "fwd.arrow"), filepath.Join(dir, "bwd.arrow")
	writePreds(t, a, names, rows(0.9))
	writePreds(t, b, names, rows(0.7))
	out, met := filepath.Join(dir, "ens.arrow"), filepath.Join(dir, "ens.metrics.json")
	if code, msg := runCmd(a, b, "--out", out, "-q"); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	before, beforeMet := clitest.AgeFile(t, out), clitest.AgeFile(t, met)
	var code int
	stderr := clitest.CaptureStderr(t, func() { code, _ = runCmd(a, b, "--out", out) })
	if want := "ensemble: " + out + " is up to date (same inputs, same params); nothing to do (--force to redo)\n"; code != 0 || stderr != want {
		t.Errorf("second run: exit %d, said %q, want %q", code, stderr, want)
	}
	clitest.CheckSkipped(t, out, before)
	clitest.CheckSkipped(t, met, beforeMet)

	redo := func(what, reason string, args ...string) {
		t.Helper()
		before := clitest.AgeFile(t, out)
		stderr := clitest.CaptureStderr(t, func() { code, _ = runCmd(append(args, "--out", out)...) })
		if code != 0 || !strings.Contains(stderr, reason) || !strings.Contains(stderr, "ensemble: 2 inputs") {
			t.Errorf("%s: exit %d, said %q, want %q", what, code, stderr, reason)
		}
		if st, _ := os.Stat(out); os.SameFile(before, st) {
			t.Errorf("%s: output not rewritten", what)
		}
	}
	redo("changed weights", "out of date (params differ: weights [0.5,0.5] -> [0.75,0.25])", a, b, "--weights", "3,1")
	redo("same weights again", "out of date (params differ: weights [0.75,0.25] -> [0.5,0.5])", a, b)
	writePreds(t, b, names, rows(0.6))
	redo("changed input", "out of date (input 2 changed (bwd.arrow))", a, b)
	if err := os.Remove(met); err != nil {
		t.Fatal(err)
	}
	redo("metrics removed", met+" is missing", a, b)
	redo("--force", "", a, b, "--force")
}
