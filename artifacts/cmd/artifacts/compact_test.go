package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

func TestCompact(t *testing.T) {
	dir := t.TempDir()
	p := pipeline(t, dir)
	out := filepath.Join(dir, "ship.arrow")
	code, stdout, stderr := exec("compact", "--bf16", "--drop-opt", "--drop-train-state", p["lm"], out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{p["lm"] + " (lm, ", "-> " + out, "x smaller): values rounded to bfloat16, 1 optimizer state tensors dropped, no training state"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output %q lacks %q", stdout, w)
		}
	}
	m, err := artifacts.ReadModel(out, artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.OptState) != 0 || m.Producer != artifacts.CompactProducer || len(m.Tensors) != 2 {
		t.Errorf("compacted: %d opt tensors, producer %q, %d tensors", len(m.OptState), m.Producer, len(m.Tensors))
	}
	// The lineage leads back to the original LM and on to the raw text.
	code, stdout, _ = exec("lineage", out)
	if code != 0 || !strings.Contains(stdout, "[lm, artifacts compact]") || !strings.Contains(stdout, "lm.arrow  [lm, pretrain test]") || !strings.Contains(stdout, "raw.csv") {
		t.Errorf("lineage: exit %d\n%s", code, stdout)
	}
	if code, _, _ := exec("verify", "-q", out); code != 0 {
		t.Errorf("verify: exit %d", code)
	}

	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"compact", p["lm"], out}, "nothing to do: give --bf16, --drop-opt and/or --drop-train-state (see 'artifacts compact --help')"},
		{[]string{"compact", "--bf16", p["lm"]}, "compact wants IN and OUT, got 1 argument(s)"},
		{[]string{"compact", "--bf16", p["tokens"], out}, `ulmfit.kind: is a "tokens" artifact, want lm or classifier`},
		{[]string{"compact", "--bf16", filepath.Join(dir, "nope.arrow"), out}, "nope.arrow: no such file or directory"},
		{[]string{"compact", "--bf16", p["lm"], dir}, "is a folder"},
	} {
		code, _, stderr := exec(tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: exit %d, %q; want 2, %q", tt.args, code, stderr, tt.msg)
		}
	}
}
