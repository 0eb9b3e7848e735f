package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// tokBench is the tokenize module's Go benchmark output, when it has one.
type tokBench struct {
	Command string `json:"command"`
	Output  string `json:"output,omitempty"`
	Error   string `json:"error,omitempty"`
}

// benchTokenize runs `go test -run ^$ -bench . -benchtime 1x -benchmem ./...` in dir when
// any of its _test.go files defines a Benchmark function; nil otherwise.
func benchTokenize(ctx context.Context, dir string, log io.Writer) *tokBench {
	if !hasBenchmarks(dir) {
		io.WriteString(log, "== tokenize: no Go benchmarks in "+dir+", skipped\n")
		return nil
	}
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchtime", "1x", "-benchmem", "-count", "1", "./..."}
	t := &tokBench{Command: "cd " + dir + " && go " + strings.Join(args, " ")}
	io.WriteString(log, "== tokenize: "+t.Command+"\n")
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var keep []string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "ok") || strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") {
			keep = append(keep, line)
		}
	}
	t.Output = strings.Join(keep, "\n")
	if err != nil {
		t.Error = "tokenize benchmarks failed: " + err.Error() + ": " + strings.TrimSpace(out.String())
	}
	return t
}

func hasBenchmarks(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || found {
			return nil
		}
		if d.IsDir() && p != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, "_test.go") {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte("\nfunc Benchmark")) {
				found = true
			}
		}
		return nil
	})
	return found
}

// goTool is the go command that built us if it is on PATH, else "go".
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}
