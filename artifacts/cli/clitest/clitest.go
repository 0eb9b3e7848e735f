// Package clitest holds test helpers shared by the stage binaries' tests:
// capturing what a stage prints to os.Stderr and checking that an
// "up to date" run left its output untouched.
package clitest

import (
	"os"
	"testing"
	"time"
)

// CaptureStderr runs f with os.Stderr sent to a file and returns what was
// written there (stages print progress and the up-to-date line to
// os.Stderr, not to cli.Run's writer).
func CaptureStderr(t testing.TB, f func()) string {
	t.Helper()
	tmp, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	old := os.Stderr
	os.Stderr = tmp
	defer func() { os.Stderr = old }()
	f()
	b, err := os.ReadFile(tmp.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// AgeFile sets path's modification time an hour back and returns its
// FileInfo.
func AgeFile(t testing.TB, path string) os.FileInfo {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// CheckSkipped fails unless path is the same file (not rewritten) and its
// modification time is now.
func CheckSkipped(t testing.TB, path string, before os.FileInfo) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, st) {
		t.Errorf("%s was rewritten by an up-to-date run", path)
	}
	if time.Since(st.ModTime()) > time.Minute {
		t.Errorf("%s: modification time not set to now", path)
	}
}
