package main

import (
	"io"
	"strings"
	"testing"
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
	for _, bad := range [][]string{{"--configs", "Z"}, {"--threads", "0"}, {"--threads", "x"}, {"--windows", "-1"}, {"extra"}} {
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
