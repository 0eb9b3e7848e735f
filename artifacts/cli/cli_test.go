package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts"
)

func TestExitCodes(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.arrow")
	_, statErr := os.Stat(missing)
	_, _, artErr := artifacts.ReadVocab(missing)
	tests := []struct {
		name string
		err  error
		code int
	}{
		{"nil", nil, 0},
		{"help", pflag.ErrHelp, 0},
		{"usage", Usage("need %d args", 2), 2},
		{"wrapped usage", fmt.Errorf("ctx: %w", Usage("bad")), 2},
		{"bad input", BadInput(errors.New("row 3: empty text")), 2},
		{"artifact error", &artifacts.Error{Path: "x", Msg: "bad", Err: artifacts.ErrCorrupt}, 2},
		{"artifact read", artErr, 2},
		{"wrapped artifact", fmt.Errorf("loading: %w", &artifacts.Error{Path: "x", Err: artifacts.ErrWrongKind}), 2},
		{"missing file", statErr, 2},
		{"runtime", errors.New("out of memory"), 1},
		{"disk full", &artifacts.Error{Path: "o.arrow", Msg: "cannot write", Err: &os.PathError{Op: "write", Path: "o.arrow", Err: syscall.ENOSPC}}, 1},
		{"file size limit", fmt.Errorf("saving: %w", &artifacts.Error{Path: "o.arrow", Err: fmt.Errorf("arrow/ipc: %w", syscall.EFBIG)}), 1},
		{"bad input on a full disk", BadInput(fmt.Errorf("x: %w", syscall.EIO)), 1},
		{"read-only file system", &artifacts.Error{Path: "o.arrow", Err: &os.PathError{Op: "open", Path: "o.arrow", Err: syscall.EROFS}}, 2},
		{"no permission", &artifacts.Error{Path: "o.arrow", Err: &os.PathError{Op: "open", Path: "o.arrow", Err: syscall.EACCES}}, 2},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.code {
			t.Errorf("%s: ExitCode(%v) = %d, want %d", tt.name, tt.err, got, tt.code)
		}
	}
	if BadInput(nil) != nil {
		t.Error("BadInput(nil) != nil")
	}
}

func TestRunReportsOneLine(t *testing.T) {
	var stderr bytes.Buffer
	code := Run(context.Background(), "tool", nil, &stderr, func(context.Context, []string) error {
		return BadInput(errors.New("data.csv: row 3: empty\ntext"))
	})
	if code != 2 || stderr.String() != "tool: data.csv: row 3: empty; text\n" {
		t.Fatalf("code %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	code = Run(context.Background(), "tool", nil, &stderr, func(context.Context, []string) error { return Usage("want one FILE") })
	if code != 2 || stderr.String() != "tool: want one FILE (see 'tool --help')\n" {
		t.Fatalf("code %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	sub := NewFlags("tool sub", "", "")
	code = Run(context.Background(), "tool", nil, &stderr, func(context.Context, []string) error { return UsageOf(sub, "want one FILE") })
	if code != 2 || stderr.String() != "tool: want one FILE (see 'tool sub --help')\n" {
		t.Fatalf("UsageOf: code %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code = Run(ctx, "tool", nil, &stderr, func(ctx context.Context, _ []string) error { return fmt.Errorf("training: %w", ctx.Err()) })
	if code != 1 || stderr.String() != "tool: interrupted\n" {
		t.Fatalf("code %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := Run(context.Background(), "tool", nil, &stderr, func(context.Context, []string) error { return nil }); code != 0 || stderr.Len() != 0 {
		t.Fatalf("success: code %d, stderr %q", code, stderr.String())
	}
}

func TestHelpPrintsDefaults(t *testing.T) {
	var out bytes.Buffer
	var stderr bytes.Buffer
	run := func(_ context.Context, args []string) error {
		fs := NewFlags("stage", "[flags] INPUT", "Does a stage.")
		fs.SetOutput(&out)
		c := Common{Preset: "small", Seed: 42}
		c.Register(fs)
		fs.Float64("lr", 0.004, "peak learning rate")
		return Parse(fs, args)
	}
	if code := Run(context.Background(), "stage", []string{"--help"}, &stderr, run); code != 0 {
		t.Fatalf("--help: code %d, stderr %q", code, stderr.String())
	}
	help := out.String()
	for _, want := range []string{"Usage: stage [flags] INPUT", "Does a stage.", "--preset", `(default "small")`, "--seed", "(default 42)", "--lr", "(default 0.004)", "-q, --quiet", "-o, --out path", "-h, --help"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("help wrote to stderr: %q", stderr.String())
	}
	out.Reset()
	if code := Run(context.Background(), "stage", []string{"-h"}, &stderr, run); code != 0 || !strings.Contains(out.String(), "Usage:") {
		t.Fatalf("-h: code %d", code)
	}
	code := Run(context.Background(), "stage", []string{"--bogus"}, &stderr, run)
	if code != 2 || !strings.Contains(stderr.String(), "unknown flag: --bogus") || strings.Count(stderr.String(), "\n") != 1 {
		t.Fatalf("--bogus: code %d stderr %q", code, stderr.String())
	}
}

func TestCommonFlags(t *testing.T) {
	fs := NewFlags("s", "", "")
	var c Common
	c.Register(fs, "preset", "seed", "threads", "backward")
	if fs.Lookup("out") != nil || fs.Lookup("seed") == nil {
		t.Fatal("Register registered the wrong flags")
	}
	if err := Parse(fs, []string{"--preset", "tiny", "--seed=7", "--threads", "2", "--backward", "x.arrow"}); err != nil {
		t.Fatal(err)
	}
	if c.Preset != "tiny" || c.Seed != 7 || c.Threads != 2 || !c.Backward || c.Direction() != "bwd" || fs.Arg(0) != "x.arrow" {
		t.Fatalf("%+v %v", c, fs.Args())
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Preset = "huge"
	if err := c.Validate(); ExitCode(err) != 2 {
		t.Fatalf("Validate(huge) = %v", err)
	}
	fs2 := NewFlags("s", "", "")
	var c2 Common
	c2.Register(fs2)
	if err := Parse(fs2, []string{"--seed", "x"}); ExitCode(err) != 2 {
		t.Fatalf("bad seed: %v", err)
	}
	if c2.Preset != "paper" {
		t.Fatalf("default preset %q", c2.Preset)
	}
}

func TestPeakRSSAndTerminal(t *testing.T) {
	if rss := PeakRSS(); rss < 1<<20 || rss > 1<<40 {
		t.Fatalf("PeakRSS = %d", rss)
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Fatal("a regular file is a terminal")
	}
	if devnull, err := os.Open(os.DevNull); err == nil {
		if IsTerminal(devnull) {
			t.Fatal("/dev/null is a terminal")
		}
		devnull.Close()
	}
}

func TestVersion(t *testing.T) {
	var out, stderr bytes.Buffer
	ran := false
	run := func(_ context.Context, args []string) error {
		fs := NewFlags("stage", "[flags]", "Does a stage.")
		fs.SetOutput(&out)
		if err := Parse(fs, args, WithVersionInfo(func() string { return "backend: test gemm" })); err != nil {
			return err
		}
		ran = true
		return nil
	}
	if code := Run(context.Background(), "stage", []string{"--version"}, &stderr, run); code != 0 || ran {
		t.Fatalf("--version: code %d, ran %v, stderr %q", code, ran, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "stage ulmfit-go ") || !strings.Contains(lines[0], runtime.Version()) ||
		lines[1] != "backend: test gemm" {
		t.Errorf("--version printed %q", out.String())
	}
	out.Reset()
	if code := Run(context.Background(), "stage", []string{"--help"}, &stderr, run); code != 0 ||
		!strings.Contains(out.String(), "--version") || !strings.Contains(out.String(), "compute backend") {
		t.Errorf("--help does not list --version: %q", out.String())
	}
}
