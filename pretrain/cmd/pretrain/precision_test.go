package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage"
)

// pretrainOwnBackend runs pretrain in-process on the backend its flags ask
// for (runCmd hands it one), 1 thread, and returns the output's bytes and
// stderr.
func pretrainOwnBackend(t *testing.T, out string, args ...string) ([]byte, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	o := stage.Options{Stdout: &stdout, Stderr: &stderr}
	args = append(append([]string{"--epochs", "1", "--threads", "1", "-o", out}, args...),
		"--preset", "tiny", "--bs", "8", "--bptt", "16", "--lr", "3e-2", "--drop-mult", "0.3", "--seed", "3")
	code := cli.Run(context.Background(), "pretrain", args, &stderr, func(ctx context.Context, args []string) error {
		return runWith(ctx, args, o)
	})
	if code != 0 {
		t.Fatalf("pretrain %q: exit %d: %s", args, code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b, stderr.String()
}

// TestPrecision: --precision auto (the default) is bf16 where the CPU runs
// the VDPBF16PS GEMM and fp32 elsewhere, to the byte; fp32 is not recorded in
// the params (earlier artifacts stay current), bf16 is; a bf16 run is
// reproducible to the byte; where the CPU cannot run bf16 (no AVX512_BF16,
// or ULMFIT_ISA capping the kernels), --precision bf16 says so in one line
// and writes the fp32 run's bytes, and auto says nothing.
func TestPrecision(t *testing.T) {
	c := corpus(t)
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	noBF16 := func(name string, env map[string]string) {
		t.Run(name, func(t *testing.T) {
			for k, v := range env {
				t.Setenv(k, v)
			}
			fp32, _ := pretrainOwnBackend(t, path(name+"-fp32.arrow"), "--precision", "fp32", c.TrainPath)
			auto, stderr := pretrainOwnBackend(t, path(name+"-auto.arrow"), c.TrainPath)
			if strings.Contains(stderr, "--precision") {
				t.Errorf("auto without bf16: want no line about it, got %q", stderr)
			}
			if !bytes.Equal(auto, fp32) {
				t.Error("auto without bf16 wrote other bytes than --precision fp32")
			}
			bf16, stderr := pretrainOwnBackend(t, path(name+"-bf16.arrow"), "--precision", "bf16", c.TrainPath)
			if n := strings.Count(stderr, "--precision bf16"); n != 1 || !strings.Contains(stderr, "running in fp32") {
				t.Errorf("stderr: want one line saying the run falls back to fp32, got %q", stderr)
			}
			if !bytes.Equal(bf16, fp32) {
				t.Error("--precision bf16 that fell back to fp32 wrote other bytes than the fp32 run")
			}
		})
	}
	if cpu.CheckBF16() != nil {
		// No AVX512_BF16, or ULMFIT_ISA caps the kernels already.
		noBF16("no-bf16", nil)
		return
	}
	noBF16("isa-avx2", map[string]string{"ULMFIT_ISA": "avx2"})
	fp32, _ := pretrainOwnBackend(t, path("fp32.arrow"), "--precision", "fp32", c.TrainPath)
	bf16, stderr := pretrainOwnBackend(t, path("bf16.arrow"), "--precision", "bf16", c.TrainPath)
	if !strings.Contains(stderr, "avx512_bf16 gemm") {
		t.Errorf("stderr does not name the bf16 GEMM: %q", stderr)
	}
	if bytes.Equal(bf16, fp32) {
		t.Error("--precision bf16 wrote the fp32 run's bytes")
	}
	for name, want := range map[string]any{"fp32.arrow": nil, "bf16.arrow": "bf16"} {
		m, err := artifacts.ReadModel(path(name), artifacts.KindLM)
		if err != nil {
			t.Fatal(err)
		}
		if p := m.Lineage.Params["precision"]; p != want {
			t.Errorf("%s: lineage params precision = %v, want %v", name, p, want)
		}
	}
	auto, _ := pretrainOwnBackend(t, path("auto.arrow"), c.TrainPath)
	if !bytes.Equal(auto, bf16) {
		t.Error("auto on an AVX512_BF16 CPU wrote other bytes than --precision bf16")
	}
	again, _ := pretrainOwnBackend(t, path("bf16-again.arrow"), "--precision", "bf16", c.TrainPath)
	if !bytes.Equal(bf16, again) {
		t.Error("two --precision bf16 runs wrote different bytes")
	}
}

// TestPrecisionFallbackBadInput: bad input keeps its one line when an
// asked-for bf16 falls back (the fallback is said once the inputs are
// checked, not before).
func TestPrecisionFallbackBadInput(t *testing.T) {
	t.Setenv("ULMFIT_ISA", "avx2") // no bf16 products, whatever the CPU
	dir := t.TempDir()
	code, _, stderr := runCmd(t, context.Background(), stage.Options{}, "--preset", "tiny", "--precision", "bf16",
		"-o", filepath.Join(dir, "out.arrow"), filepath.Join(dir, "missing.arrow"))
	if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "missing.arrow") {
		t.Errorf("exit %d, stderr %q: want 2 and one line naming the missing file", code, stderr)
	}
}
