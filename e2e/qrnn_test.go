package e2e

import (
	"strings"
	"testing"
)

// TestQRNNPipeline runs the whole chain with QRNN layers as a user does:
// pretrain --arch qrnn, lmtune and clftune from it (the architecture read
// from the artifact), evaluate, predict on raw text, ensemble; a from-scratch
// QRNN classifier; the fastai export and import; and the usage errors: an --arch that contradicts the LM
// and an unknown --arch.
func TestQRNNPipeline(t *testing.T) {
	dir := caseDir(t, fixtureSet...)
	steps := [][]string{
		{"pretrain", "-q", "--preset", "tiny", "--arch", "qrnn", "--seed", "1", "--threads", "1", "--epochs", "1", "-o", "qlm.arrow", fTrain},
		{"lmtune", "-q", "--preset", "tiny", "--seed", "1", "--threads", "1", "--epochs", "1", "--from", "qlm.arrow", "-o", "qft.arrow", fTrain},
		{"clftune", "-q", "--seed", "1", "--threads", "1", "--epochs", "2", "--bs", "16", "--from", "qft.arrow", "--data", fTrain, "-o", "qclf.arrow"},
		{"evaluate", "-q", "--threads", "1", "--model", "qclf.arrow", "--data", fTest, "-o", "qpreds.arrow"},
		{"clftune", "-q", "--seed", "1", "--threads", "1", "--epochs", "2", "--bs", "16", "--from-scratch", "--preset", "tiny", "--arch", "qrnn", "--data", fTrain, "-o", "qscr.arrow"},
		{"evaluate", "-q", "--threads", "1", "--model", "qscr.arrow", "--data", fTest, "-o", "qspreds.arrow"},
		{"ensemble", "-q", "qpreds.arrow", "qspreds.arrow", "-o", "qens.arrow"},
	}
	for _, s := range steps {
		wantOK(t, run(t, dir, s[0], s[1:]...))
	}
	for _, m := range []string{"qlm.arrow", "qft.arrow", "qclf.arrow", "qscr.arrow"} {
		r := run(t, dir, "artifacts", "show", m)
		wantOK(t, r)
		if !strings.Contains(r.stdout, `"arch":"qrnn"`) {
			t.Errorf("%s: the config does not say arch qrnn: %.400s", m, r.stdout)
		}
	}
	if lines := predictLines(t, dir, "qclf.arrow", []string{"How far is the Moon from the Earth ?"}); !strings.Contains(lines[0], `"label"`) {
		t.Errorf("predict: %s", lines[0])
	}

	// fastai export and import back: the same tensors.
	wantOK(t, run(t, dir, "pretrain", "export", "-q", "-o", "qfa", "qlm.arrow"))
	wantOK(t, run(t, dir, "pretrain", "import", "-q", "-o", "qback.arrow", "qfa.pth", "qfa_itos.pkl"))
	wantOK(t, run(t, dir, "artifacts", "diff", "--data-only", "qlm.arrow", "qback.arrow"))

	wantError(t, run(t, dir, "clftune", "-q", "--arch", "lstm", "--from", "qft.arrow", "--data", fTrain, "-o", "x.arrow"), exit2, "--arch", "qrnn")
	wantError(t, run(t, dir, "pretrain", "-q", "--arch", "gru", "-o", "x.arrow", fTrain), exit2, "--arch", "lstm or qrnn")
}
