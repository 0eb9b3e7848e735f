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

// TestPrecision: --precision fp32 is the run without the flag, to the byte
// (the default is not recorded, so earlier artifacts stay current); bf16 runs
// on the VDPBF16PS GEMM where the CPU has it, is recorded in the params and
// trains to a finite loss; where the CPU lacks it (or ULMFIT_ISA caps the
// kernels), one line says so and the run is the fp32 run, to the byte.
func TestPrecision(t *testing.T) {
	c := corpus(t)
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	plain, _ := pretrainOwnBackend(t, path("plain.arrow"), c.TrainPath)
	fp32, _ := pretrainOwnBackend(t, path("fp32.arrow"), "--precision", "fp32", c.TrainPath)
	if !bytes.Equal(plain, fp32) {
		t.Error("--precision fp32 wrote other bytes than no flag")
	}
	fellBack := func(name string, env map[string]string) {
		t.Run(name, func(t *testing.T) {
			for k, v := range env {
				t.Setenv(k, v)
			}
			want, _ := pretrainOwnBackend(t, path(name+"-fp32.arrow"), c.TrainPath)
			got, stderr := pretrainOwnBackend(t, path(name+"-bf16.arrow"), "--precision", "bf16", c.TrainPath)
			if n := strings.Count(stderr, "--precision bf16"); n != 1 || !strings.Contains(stderr, "running in fp32") {
				t.Errorf("stderr: want one line saying the run falls back to fp32, got %q", stderr)
			}
			if !bytes.Equal(got, want) {
				t.Error("--precision bf16 that fell back to fp32 wrote other bytes than the fp32 run")
			}
		})
	}
	if !cpu.HasBF16() {
		fellBack("no-avx512-bf16", nil)
		return
	}
	fellBack("isa-avx2", map[string]string{"ULMFIT_ISA": "avx2"})
	got, stderr := pretrainOwnBackend(t, path("bf16.arrow"), "--precision", "bf16", c.TrainPath)
	if !strings.Contains(stderr, "avx512_bf16 gemm") {
		t.Errorf("stderr does not name the bf16 GEMM: %q", stderr)
	}
	if bytes.Equal(got, plain) {
		t.Error("--precision bf16 wrote the fp32 run's bytes")
	}
	m, err := artifacts.ReadModel(path("bf16.arrow"), artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Lineage.Params["precision"]; p != "bf16" {
		t.Errorf("lineage params precision = %v, want bf16", p)
	}
	// The same seed, inputs and binary give the same bytes in bf16 too.
	again, _ := pretrainOwnBackend(t, path("bf16-again.arrow"), "--precision", "bf16", c.TrainPath)
	if !bytes.Equal(got, again) {
		t.Error("two --precision bf16 runs wrote different bytes")
	}
}
