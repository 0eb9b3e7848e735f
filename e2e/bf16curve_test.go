package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBF16CurveScript runs scripts/bf16-curve.sh, the table and plot of `make exp-bf16`,
// on two pretraining logs as the pretrain stage writes them: validation records, the
// epoch record that ends the run, a step validated twice by a resumed run (the later
// record counts), and training records to skip. Logs that validate at different steps
// (one run unfinished) or not at all get exit 2 and one line.
func TestBF16CurveScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	rec := func(typ string, step int, ppl string) string {
		return `{"type":"` + typ + `","time":1.5,"step":` + itoa(step) + `,"epoch":1,"valid_loss":5.1,"valid_ppl":` + ppl + "}\n"
	}
	train := `{"type":"step","time":1,"step":50,"epoch":1,"loss":8.5,"ppl":4989.4,"tokens":102400}` + "\n"
	fp32 := writeText(t, filepath.Join(dir, "fp32.jsonl"),
		train+rec("valid", 250, "300")+rec("valid", 500, "150.5")+rec("epoch", 612, "100"))
	bf16 := writeText(t, filepath.Join(dir, "bf16.jsonl"),
		train+rec("valid", 250, "303")+rec("valid", 500, "999")+`{"type":"checkpoint","time":2,"step":500}`+"\n"+
			rec("valid", 500, "150.5")+rec("epoch", 612, "99.5"))
	short := writeText(t, filepath.Join(dir, "short.jsonl"), train+rec("valid", 250, "303"))
	none := writeText(t, filepath.Join(dir, "none.jsonl"), train)

	run := func(a, b string) (int, string, string) {
		out := filepath.Join(dir, "curve")
		cmd := exec.Command(filepath.Join(rootDir, "scripts", "bf16-curve.sh"), out, filepath.Join(binDir, "evaluate"), a, b)
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, so.String(), se.String()
	}

	code, stdout, stderr := run(fp32, bf16)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "| step | fp32 | bf16 inputs | difference |\n|---:|---:|---:|---:|\n" +
		"| 250 | 300.00 | 303.00 | +1.00% |\n| 500 | 150.50 | 150.50 | +0.00% |\n| 612 (end) | 100.00 | 99.50 | -0.50% |\n"
	if stdout != want {
		t.Errorf("table:\n%s\nwant:\n%s", stdout, want)
	}
	if md, err := os.ReadFile(filepath.Join(dir, "curve.md")); err != nil || string(md) != want {
		t.Errorf("curve.md: %q, %v", md, err)
	}
	if tsv, err := os.ReadFile(filepath.Join(dir, "curve.tsv")); err != nil || !strings.HasPrefix(string(tsv), "series\tx\ty\nfp32\t250\t300\n") ||
		!strings.Contains(string(tsv), "bf16 inputs\t612\t99.5\n") {
		t.Errorf("curve.tsv: %q, %v", tsv, err)
	}
	if png, err := os.ReadFile(filepath.Join(dir, "curve.png")); err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("curve.png: not a PNG (%v)", err)
	}

	for _, tc := range []struct{ name, a, b, want string }{
		{"unfinished run", fp32, short, "validate at different steps"},
		{"no validation", none, bf16, "no validation records"},
	} {
		code, _, stderr := run(tc.a, tc.b)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line with %q", tc.name, code, stderr, tc.want)
		}
	}
}
