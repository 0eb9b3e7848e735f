//go:build unix

package artifacts

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStaleTempsRemoved: a writer killed with SIGKILL leaves its temporary
// file; the next write of the same target removes it, and only it.
func TestStaleTempsRemoved(t *testing.T) {
	if dir := os.Getenv("ARTIFACTS_HANG_WRITER"); dir != "" {
		// The child: start writing dir/o.arrow and hang until killed.
		WriteFileAtomic(filepath.Join(dir, "o.arrow"), func(w io.Writer) error {
			w.Write([]byte("partial"))
			w.(*atomicFile).bw.Flush()
			os.WriteFile(filepath.Join(dir, "started"), nil, 0o644)
			select {}
		})
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStaleTempsRemoved$")
	cmd.Env = append(os.Environ(), "ARTIFACTS_HANG_WRITER="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			break
		}
		if i == 1000 {
			cmd.Process.Kill()
			t.Fatal("the child writer did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killed := hiddenTemps(t, dir)
	if len(killed) != 1 || !strings.HasPrefix(killed[0], ".o.arrow.tmp-"+strconv.Itoa(cmd.Process.Pid)+"-") {
		t.Fatalf("after SIGKILL: temporary files %q, want one named for pid %d", killed, cmd.Process.Pid)
	}

	// Files that must stay: a live writer's (our parent's pid stands in for
	// one), another target's, names of other tools.
	keep := []string{
		".o.arrow.tmp-" + strconv.Itoa(os.Getppid()) + "-123",
		".p.arrow.tmp-" + strconv.Itoa(cmd.Process.Pid) + "-123",
		".o.arrow.tmp123",
		".o.arrow.tmp-x-1",
	}
	for _, name := range keep {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteFileAtomic(filepath.Join(dir, "o.arrow"), func(w io.Writer) error {
		_, err := w.Write([]byte("whole"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := hiddenTemps(t, dir)
	want := slices.Clone(keep)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after the next write: %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "o.arrow")); string(b) != "whole" {
		t.Fatalf("o.arrow = %q", b)
	}
}

func hiddenTemps(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

func TestCheckOutput(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "folder.arrow"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "old.arrow"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "new.arrow"), ""},
		{filepath.Join(dir, "old.arrow"), ""},
		{filepath.Join(dir, "folder.arrow"), "is a folder"},
		{filepath.Join(dir, "nodir", "o.arrow"), "does the folder exist"},
		{dir + "/", "is a folder"},
	} {
		err := CheckOutput(c.path)
		var ae *Error
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.path, err)
		case c.want != "" && (!errors.As(err, &ae) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want an *Error with %q", c.path, err, c.want)
		}
	}
	if got := hiddenTemps(t, dir); len(got) != 0 {
		t.Errorf("left %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "old.arrow")); string(b) != "x" {
		t.Error("CheckOutput changed an existing file")
	}
}
