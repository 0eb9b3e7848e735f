package e2e

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// TestEvaluateLM: 'evaluate lm' on a pretrain run's validation data, with its
// --bs and --bptt, prints the validation loss the run stored, exactly,
// forward and backward; data tokenized with its own vocabulary is mapped by
// string and its xxunk tokens counted. Both run at the default precision
// (auto: bf16 on an AVX512_BF16 CPU, fp32 elsewhere), so the products are the
// same; evaluate at another precision is only close (TestEvaluateLMBF16).
func TestEvaluateLM(t *testing.T) {
	dir := caseDir(t, fTrain, fTest, fOwn)
	for _, tc := range []struct {
		name string
		args []string
	}{{"fwd", nil}, {"bwd", []string{"--backward"}}} {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.name + ".lm.arrow"
			args := append([]string{"-q", "--preset", "tiny", "--seed", "2", "--threads", "1", "--epochs", "1",
				"--bs", "8", "--bptt", "24", "--valid", fTest, "-o", out, fTrain}, tc.args...)
			wantOK(t, run(t, dir, "pretrain", args...))
			storedLoss := storedValidLoss(t, filepath.Join(dir, out))
			r := run(t, dir, "evaluate", "lm", "--json", "--threads", "1", "--model", out, "--data", fTest, "--bs", "8", "--bptt", "24")
			wantOK(t, r)
			var got struct {
				Loss      float64 `json:"loss"`
				PPL       float64 `json:"perplexity"`
				Direction string  `json:"direction"`
				Unk       int64   `json:"unk"`
				UnkModel  int64   `json:"unk_not_in_model"`
				Tokens    int64   `json:"tokens"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("--json output %q: %v", r.stdout, err)
			}
			if got.Loss != storedLoss || got.Direction != tc.name || got.UnkModel != 0 {
				t.Errorf("evaluate lm %+v; pretrain's validation loss %v", got, storedLoss)
			}
			// The one-line summary, and the data with its own vocabulary.
			r = run(t, dir, "evaluate", "lm", "--threads", "1", "--model", out, "--data", fOwn, "--bs", "8", "--bptt", "24")
			wantOK(t, r)
			if !strings.Contains(r.stderr, "ppl ") || !strings.Contains(r.stderr, "vocab mapped by string") || !strings.Contains(r.stderr, "not in the model's vocab") {
				t.Errorf("summary line: %q", r.stderr)
			}
		})
	}
	wantError(t, run(t, dir, "evaluate", "lm", "-q", "--model", fTest, "--data", fTest), exit2, fTest)
	wantError(t, run(t, dir, "evaluate", "lm", "-q", "--data", fTest), exit2, "--model")
}

// TestEvaluateLMBF16: where the CPU has AVX512_BF16, evaluate lm --precision
// fp32 scores a bf16 run's validation data within bf16 rounding of the loss
// the run stored (measured: 2e-5 relative on this tiny model; the bound, 1e-3, is
// what bf16-rounded operands can move a loss, not what another model gives).
func TestEvaluateLMBF16(t *testing.T) {
	dir := caseDir(t, fTrain, fTest)
	r := run(t, dir, "pretrain", "--version")
	wantOK(t, r)
	if !strings.Contains(r.stdout, "bf16 products: available") {
		t.Skip("no bf16 products here (no AVX512_BF16, or ULMFIT_ISA caps the kernels): every run is fp32")
	}
	wantOK(t, run(t, dir, "pretrain", "-q", "--preset", "tiny", "--seed", "2", "--threads", "1", "--epochs", "1", "--precision", "bf16",
		"--bs", "8", "--bptt", "24", "--valid", fTest, "-o", "lm.arrow", fTrain))
	stored := storedValidLoss(t, filepath.Join(dir, "lm.arrow"))
	r = run(t, dir, "evaluate", "lm", "--json", "--threads", "1", "--precision", "fp32", "--model", "lm.arrow", "--data", fTest, "--bs", "8", "--bptt", "24")
	wantOK(t, r)
	var got struct {
		Loss float64 `json:"loss"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("--json output %q: %v", r.stdout, err)
	}
	if d := math.Abs(got.Loss-stored) / stored; d > 1e-3 || d == 0 {
		t.Errorf("evaluate lm loss %v, the bf16 run's validation loss %v: %.2g relative, want within 1e-3 (and not 0: fp32 products)", got.Loss, stored, d)
	} else {
		t.Logf("evaluate lm loss %v, the bf16 run's validation loss %v: %.2g relative", got.Loss, stored, d)
	}
}

// storedValidLoss is the validation loss a pretrain run stored in its LM
// artifact's metrics.
func storedValidLoss(t *testing.T, path string) float64 {
	t.Helper()
	m, err := artifacts.ReadModel(path, artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	var stored struct {
		ValidLoss float64 `json:"valid_loss"`
	}
	if err := json.Unmarshal(m.Metrics, &stored); err != nil || stored.ValidLoss == 0 {
		t.Fatalf("pretrain metrics %s: %v", m.Metrics, err)
	}
	return stored.ValidLoss
}
