package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
)

// The FLOP model must match the PyTorch reference's (torch_awdlstm.py
// flops_per_token) so the GFLOP/s columns compare.
func TestFlopsPerToken(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fwd, step float64
	}{
		// A: 2*4*1150*(400+1150) + 2*4*1150*2300 + 2*4*400*1550 + 2*400*30000
		{"A", 64_380_000, 3 * 64_380_000},
		{"A_inf", 64_380_000, 64_380_000},
		// B: 2*4*512*712 + 2*4*512*1024 + 2*4*200*712 + 2*200*10000
		{"B", 12_249_856, 3 * 12_249_856},
		// Q (bench/torch_qrnn.py flops_per_token): 2*3*512*(2*200) + 2*3*512*512
		// + 2*3*200*512 + 2*200*10000
		{"Q", 7_416_064, 3 * 7_416_064},
		{"Q_inf", 7_416_064, 7_416_064},
	} {
		c, ok := findConfig(tc.name)
		if !ok {
			t.Fatalf("no config %s", tc.name)
		}
		fwd, step := c.flopsPerToken()
		if fwd != tc.fwd || step != tc.step {
			t.Errorf("%s: flops per token fwd %.0f step %.0f, want %.0f %.0f", tc.name, fwd, step, tc.fwd, tc.step)
		}
	}
}

func TestMedianTokens(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		var ws []window
		for _, v := range tc.in {
			ws = append(ws, window{TokensPerS: v})
		}
		if got := medianTokens(ws); got != tc.want {
			t.Errorf("median %v = %g, want %g", tc.in, got, tc.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"--configs", "B, A_inf", "--threads", "2,1", "--windows", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.configs) != 2 || o.configs[0].Name != "B" || o.configs[1].Name != "A_inf" || len(o.threads) != 2 || o.threads[0] != 2 {
		t.Errorf("parsed %+v", o)
	}
	if c := o.apply(o.configs[0]); c.Windows != 2 || c.MinTime != 4 {
		t.Errorf("apply: windows %d min-time %g, want 2 and the default 4", c.Windows, c.MinTime)
	}
	if len(o.precisions) != 1 || o.precisions[0] != "fp32" {
		t.Errorf("precisions %q, want the default fp32", o.precisions)
	}
	if o, err := parseFlags([]string{"--precision", "bf16, fp32"}, io.Discard); err != nil || len(o.precisions) != 2 || o.precisions[0] != "bf16" {
		t.Errorf("--precision 'bf16, fp32': %v, %v", o, err)
	}
	for _, bad := range [][]string{{"--configs", "Z"}, {"--threads", "0"}, {"--threads", "x"}, {"--windows", "-1"}, {"extra"},
		{"--precision", "fp16"}, {"--precision", ","}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): no error", bad)
		} else if _, ok := err.(usageError); !ok {
			t.Errorf("parseFlags(%q): %v is not a usage error", bad, err)
		}
	}
}

func TestTorchLogWindows(t *testing.T) {
	var sink strings.Builder
	l := &torchLog{w: &sink, name: "A"}
	in := "  [A] window 0: 1 steps in 205.99s -> 21.7 tok/s (foreign load 90%, steal 0%)\n  [A] win" +
		"dow 1: 2 steps in 9.50s -> 943.2 tok/s (foreign load 3%, steal 0%)\n\n  [B] window 0: 1 steps in 1.00s -> 1.0 tok/s (foreign load 0%, steal 0%)\nno newline"
	for _, chunk := range []string{in[:30], in[30:]} {
		if _, err := l.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if len(l.windows) != 2 || l.windows[0].TokensPerS != 21.7 || l.windows[1].Steps != 2 || l.windows[1].Foreign != 0.03 {
		t.Errorf("windows %+v", l.windows)
	}
	if got := strings.Count(sink.String(), "   torch: "); got != 3 {
		t.Errorf("%d lines echoed, want 3 complete non-empty lines:\n%s", got, sink.String())
	}
}

// The QRNN configs go to the QRNN reference (--ref-qrnn), the AWD-LSTM ones
// to --ref, tiny to none; without --ref (or an explicit --ref-qrnn) nothing
// is compared.
func TestRefRouting(t *testing.T) {
	o, err := parseFlags([]string{"--ref", "lstm-ref", "--configs", "A,A_inf,B,B_inf,Q,Q_inf,MF,tiny"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.compare {
		t.Error("--ref given: compare is off")
	}
	want := map[string]string{"A": "lstm-ref", "A_inf": "lstm-ref", "B": "lstm-ref", "B_inf": "lstm-ref",
		"Q": "bench/run-torch-qrnn", "Q_inf": "bench/run-torch-qrnn", "MF": "bench/run-torch-qrnn", "tiny": ""}
	for _, c := range o.configs {
		if got, _ := o.refFor(c); got != want[c.Name] {
			t.Errorf("%s: reference %q, want %q", c.Name, got, want[c.Name])
		}
		if c.NoTorch != (c.Name == "tiny") {
			t.Errorf("%s: NoTorch %v", c.Name, c.NoTorch)
		}
	}
	for _, tc := range []struct {
		args    []string
		compare bool
	}{
		{nil, false},
		{[]string{"--ref-qrnn", "x"}, true},
		{[]string{"--ref-qrnn", ""}, false},
		{[]string{"--ref", "x", "--ref-qrnn", ""}, true},
	} {
		o, err := parseFlags(tc.args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if o.compare != tc.compare {
			t.Errorf("%q: compare %v, want %v", tc.args, o.compare, tc.compare)
		}
	}
}

// repoRoot is the repository root, from this package's directory.
const repoRoot = "../../.."

// refConfigs reads the CONFIGS sizes of a reference script, e.g.
// `"Q": dict(kind="lm_train", vocab=10000, emb=200, hid=512, layers=3, bs=32, bptt=70)`.
func refConfigs(t *testing.T, path string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"(\w+)": dict\(kind="(\w+)", vocab=(\d+), emb=(\d+), hid=(\d+), layers=(\d+), bs=(\d+), bptt=(\d+)`)
	m := map[string]string{}
	for _, x := range re.FindAllStringSubmatch(string(src), -1) {
		m[x[1]] = strings.Join(x[2:], " ")
	}
	return m
}

func sizes(c benchConfig) string {
	return fmt.Sprintf("%s %d %d %d %d %d %d", c.Kind, c.Vocab, c.Emb, c.Hidden, c.Layers, c.Batch, c.BPTT)
}

// Every config with a reference has the same name and sizes there, so the
// tokens/s compare: bench/torch_qrnn.py for the QRNN configs (and tiny's
// sizes, which the runner test below uses), ../shared's torch_awdlstm.py for
// the others when it is there.
func TestReferenceConfigSizes(t *testing.T) {
	q := refConfigs(t, filepath.Join(repoRoot, "bench", "torch_qrnn.py"))
	var lstm map[string]string
	if p := filepath.Join(repoRoot, "..", "shared", "bench", "torch_awdlstm.py"); fileExists(p) {
		lstm = refConfigs(t, p)
	}
	for _, c := range knownConfigs {
		ref := lstm
		if c.Arch == nn.ArchQRNN {
			ref = q
		}
		if c.NoTorch || ref == nil {
			continue
		}
		if got := ref[c.Name]; got != sizes(c) {
			t.Errorf("%s: reference sizes %q, lmbench %q", c.Name, got, sizes(c))
		}
	}
	tiny, _ := findConfig("tiny")
	if got := q["tiny"]; got != sizes(tiny) {
		t.Errorf("tiny: torch_qrnn.py sizes %q, lmbench %q", got, sizes(tiny))
	}
	// The runner lmbench and make bench REF=1 use.
	st, err := os.Stat(filepath.Join(repoRoot, "bench", "run-torch-qrnn"))
	if err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("bench/run-torch-qrnn: not an executable file (%v)", err)
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// A seconds-long run of the QRNN reference through benchTorch (arguments,
// progress lines, result JSON), at tiny's sizes; skipped without python3
// and torch. It calls torch_qrnn.py with python3 directly (Debian's
// /usr/bin/python3, as the runner, else the one on PATH): the runner would
// install packages.
func TestTorchQRNNTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import torch").Run() != nil {
		var err error
		if py, err = exec.LookPath("python3"); err != nil || exec.Command(py, "-c", "import torch").Run() != nil {
			t.Skip("no python3 with torch")
		}
	}
	script, err := filepath.Abs(filepath.Join(repoRoot, "bench", "torch_qrnn.py"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runner := filepath.Join(dir, "run")
	if err := os.WriteFile(runner, []byte("#!/bin/sh\nexec "+strconv.Quote(py)+" "+strconv.Quote(script)+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"lm_train", "lm_infer"} {
		c, _ := findConfig("tiny")
		c.Arch, c.Kind, c.Warmup, c.Windows, c.MinTime = nn.ArchQRNN, kind, 1, 2, 0
		if kind == "lm_infer" {
			c.Name = "tiny_inf"
		}
		var log strings.Builder
		s, err := benchTorch(context.Background(), runner, c, 1, dir, 2*time.Minute, &log)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.Name, err, log.String())
		}
		if s.TokensPerS <= 0 || len(s.Windows) != 2 || s.Windows[0].Steps != 1 || s.Partial {
			t.Errorf("%s: %+v\n%s", c.Name, s, log.String())
		}
		if !strings.Contains(log.String(), "   torch:   ["+c.Name+"] window 1:") {
			t.Errorf("%s: progress lines not echoed:\n%s", c.Name, log.String())
		}
	}
}

// TestPrecisionRows: each precision is a row of its own; a bf16 row carries
// its ratio over the fp32 row of the same run where bf16 products are
// available, and an error (not a silent fp32 run) where they are not.
func TestPrecisionRows(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	if err := run(context.Background(), []string{"--configs", "tiny", "--threads", "1", "--precision", "fp32,bf16", "--windows", "1",
		"--min-time", "0", "--warmup", "0", "--tokenize-dir", "", "--out", out}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 || rep.Results[0].Precision != "fp32" || rep.Results[1].Precision != "bf16" {
		t.Fatalf("rows %+v, want fp32 then bf16", rep.Results)
	}
	fp, bf := rep.Results[0], rep.Results[1]
	if fp.Ours.Error != "" || fp.Ours.TokensPerS <= 0 {
		t.Errorf("fp32 row: %+v", fp.Ours)
	}
	if cpu.CheckBF16() == nil {
		if bf.Ours.Error != "" || bf.RatioFP32 <= 0 || !strings.Contains(bf.Backend, "avx512_bf16") {
			t.Errorf("bf16 row: backend %q, ratio %v, %+v", bf.Backend, bf.RatioFP32, bf.Ours)
		}
	} else if bf.Ours.Error == "" || bf.RatioFP32 != 0 {
		t.Errorf("bf16 row without AVX512_BF16: want an error and no ratio, got %+v", bf)
	}
}
