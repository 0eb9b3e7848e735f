package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

func TestParams(t *testing.T) {
	fs := NewFlags("x", "", "")
	var c Common
	c.Register(fs)
	var ck Checkpointing
	ck.Register(fs, time.Minute)
	fs.Int("epochs", 3, "")
	fs.Int("log-every", 50, "")
	fs.String("max-memory", "", "")
	fs.String("resume", "", "")
	fs.Float64("output-dropout", 0.4, "")
	Alias(fs, "output-p", "output-dropout")
	if err := Parse(fs, []string{"--output-p", "0.2", "--threads", "2", "-o", "x.arrow"}); err != nil {
		t.Fatal(err)
	}
	p := Params(fs)
	for _, name := range RunOnlyFlags() {
		if _, ok := p[name]; ok {
			t.Errorf("params hold the run-only flag %q", name)
		}
	}
	// Every other flag, --version included (recorded since the first
	// release: leaving it out would change every artifact's bytes).
	want := map[string]any{"preset": "paper", "seed": "0", "backward": "false", "epochs": "3", "output-dropout": "0.2", "version": "false"}
	if len(p) != len(want) {
		t.Errorf("params %v, want %v", p, want)
	}
	// --arch is recorded when given, and only then.
	fs2 := NewFlags("x", "", "")
	var c2 Common
	c2.Register(fs2, "arch")
	if err := Parse(fs2, []string{"--arch", "qrnn"}); err != nil {
		t.Fatal(err)
	}
	if p2 := Params(fs2); p2["arch"] != "qrnn" {
		t.Errorf("params with --arch qrnn: %v", p2)
	}
	// --precision is recorded when bf16 only (auto is resolved by the
	// stage before this; fp32 is every run before the flag).
	for _, tc := range []struct {
		arg  string
		want any
	}{{"auto", nil}, {"fp32", nil}, {"bf16", "bf16"}} {
		fs3 := NewFlags("x", "", "")
		var c3 Common
		c3.Register(fs3, "precision")
		if err := Parse(fs3, []string{"--precision", tc.arg}); err != nil {
			t.Fatal(err)
		}
		if got := Params(fs3)["precision"]; got != tc.want {
			t.Errorf("params with --precision %s: precision %v, want %v", tc.arg, got, tc.want)
		}
	}
	for name, v := range want {
		if p[name] != v {
			t.Errorf("params[%q] = %v, want %q", name, p[name], v)
		}
	}
}

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths := func(ins []artifacts.Input, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, in := range ins {
			if len(in.SHA256) != 64 {
				t.Errorf("%s: sha256 %q", in.Path, in.SHA256)
			}
			out = append(out, in.Path)
		}
		return out
	}
	if got := paths(Inputs(a, "", b, a)); !slices.Equal(got, []string{a, b, a}) {
		t.Errorf("Inputs: %v, want every path given, in order, without the empty one", got)
	}
	if got := paths(DistinctInputs(a, "", b, a)); !slices.Equal(got, []string{a, b}) {
		t.Errorf("DistinctInputs: %v, want each path once", got)
	}
	if _, err := Inputs(a, filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
