package e2e

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// nonFinite returns the first tensor (weights or optimizer state) of a model artifact
// that holds NaN or ±Inf, or "".
func nonFinite(t *testing.T, path string) string {
	t.Helper()
	m, err := artifacts.ReadModel(path, "")
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	for _, set := range [][]artifacts.Tensor{m.Tensors, m.OptState} {
		for _, ts := range set {
			for i, v := range ts.Data {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Sprintf("%s[%d] = %v", ts.Name, i, v)
				}
			}
		}
	}
	return ""
}

var divergedRe = regexp.MustCompile(`not finite.*epoch (\d+), step (\d+)`)

// TestNumericFaults makes training diverge with absurd learning rates. The stage must
// notice the divergence where it starts (a gradient, an optimizer moment, a weight, or
// the loss), say at which epoch and step, exit 1, write no output, and keep the
// checkpoint it had, which holds only finite numbers; resuming from it diverges again
// at the same step (the failure is reproducible, not random). Checkpoints come every
// few steps (--checkpoint-steps), so the ones just before the divergence, where Adam's
// second moment overflows before the loss does, are always tried, on every machine.
func TestNumericFaults(t *testing.T) {
	ckEvery := []string{"--checkpoint-steps", "5"}
	cases := []struct {
		name     string
		tr       trainer
		args     []string
		wantCkpt bool // the divergence comes after the first epoch: a checkpoint must be kept
	}{
		{"pretrain lr 1e30", trainers[0], []string{"--lr", "1e30", "--epochs", "2"}, false},
		{"lmtune lr 1e30", trainers[1], []string{"--lr", "1e30", "--epochs", "2"}, false},
		{"clftune lr 1e30", trainers[2], []string{"--lr", "1e30", "--mode", "full", "--epochs", "2"}, false},
		{"pretrain diverges in epoch 2", trainers[0], []string{"--lr", "300", "--schedule", "constant", "--clip", "0", "--epochs", "4"}, true},
		{"lmtune diverges in epoch 2", trainers[1], []string{"--lr", "300", "--schedule", "constant", "--clip", "0", "--no-discr", "--epochs", "4"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := caseDir(t, fixtureSet...)
			args := append(withOut(c.tr.args, "o.arrow"), ckEvery...)
			args = append(args, c.args...) // later flags win
			before := listDir(t, dir)
			r := run(t, dir, c.tr.bin, args...)
			wantError(t, r, exit1, "not finite", "step")
			m := divergedRe.FindStringSubmatch(r.stderr)
			if m == nil {
				t.Fatalf("the error does not say at which epoch and step: %q", r.stderr)
			}
			t.Logf("diverged at epoch %s, step %s", m[1], m[2])
			if _, err := os.Stat(filepath.Join(dir, "o.arrow")); err == nil {
				t.Errorf("a diverged run wrote its final artifact")
			}
			ck := c.tr.ckpt("o.arrow")
			_, err := os.Stat(filepath.Join(dir, ck))
			switch {
			case err != nil && c.wantCkpt && m[1] != "1":
				t.Fatalf("diverged at epoch %s but no checkpoint was kept", m[1])
			case err != nil:
				for _, l := range leftovers(t, dir, before) {
					t.Errorf("left behind: %s", l)
				}
				faultLog.add("NaN/Inf "+c.name, 1, 0, 0, 0)
				return
			}
			if !strings.Contains(r.stderr, ck) {
				defer knownBug(t, "%s keeps the checkpoint %s after a non-finite loss but does not say so: %q", c.tr.bin, ck, strings.TrimSpace(r.stderr))
			}
			if bad := nonFinite(t, filepath.Join(dir, ck)); bad != "" {
				t.Errorf("the kept checkpoint holds a non-finite value: %s", bad)
			}
			// Resume from the kept checkpoint: the same divergence at the same step.
			r2 := run(t, dir, c.tr.bin, append(args, c.tr.resume(ck)...)...)
			wantError(t, r2, exit1, "not finite")
			if m2 := divergedRe.FindStringSubmatch(r2.stderr); m2 == nil || m2[2] != m[2] {
				t.Errorf("resumed run diverged differently: %q, first run %q", r2.stderr, r.stderr)
			}
			// The checkpoint may have been rewritten (periodic checkpoints before the step
			// that diverges), but it must still be there, whole and finite.
			if bad := nonFinite(t, filepath.Join(dir, ck)); bad != "" {
				t.Errorf("after the second divergence the checkpoint holds a non-finite value: %s", bad)
			}
			faultLog.add("NaN/Inf "+c.name+" (+resume)", 2, 1, 0, 0)
		})
	}
}

// TestHugeLRFinite: a classifier run with a learning rate so large that training is
// useless but the loss stays finite must still write only finite weights.
func TestHugeLRFinite(t *testing.T) {
	dir := caseDir(t, fixtureSet...)
	r := run(t, dir, "clftune", "-q", "--threads", "1", "--seed", "1", "--epochs", "2", "--bs", "16", "--mode", "full",
		"--lr", "1e12", "--from", fFT, "--data", fTrain, "-o", "o.arrow")
	if r.code == 1 && divergedRe.MatchString(r.stderr) {
		wantError(t, r, exit1, "not finite")
		return
	}
	wantOK(t, r)
	if bad := nonFinite(t, filepath.Join(dir, "o.arrow")); bad != "" {
		knownBug(t, "clftune wrote a classifier holding %s after a finite loss (only the loss is checked, not weights and BatchNorm buffers)", bad)
		t.Errorf("clftune wrote a classifier with a non-finite value after a finite loss: %s", bad)
	}
}
