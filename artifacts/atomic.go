package artifacts

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// atomicFile is a temporary file in the destination's folder that becomes
// the destination on commit.
type atomicFile struct {
	path string
	tmp  *os.File
	bw   *bufio.Writer
	done bool
}

// tempPrefix is the start of the name of a temporary file that process pid
// writes for the file base: ".BASE.tmp-PID-" (hidden, and recognisably whose).
func tempPrefix(base string, pid int) string {
	return "." + base + ".tmp-" + strconv.Itoa(pid) + "-"
}

// removeStaleTemps removes the temporary files that writers of dir/base left
// behind when they were killed (SIGKILL, a power cut): those named by
// tempPrefix whose process no longer exists. Files of live processes, of
// other targets and names this package does not make are left alone. Best
// effort: errors are ignored, the write goes ahead regardless.
func removeStaleTemps(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base + ".tmp-"
	self := os.Getpid()
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == self || processAlive(pid) {
			continue
		}
		os.Remove(filepath.Join(dir, e.Name()))
	}
}

func createAtomic(path string) (*atomicFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return nil, &Error{Path: path, Msg: "names a folder; want the path of an output file"}
	}
	removeStaleTemps(dir, base)
	tmp, err := os.CreateTemp(dir, tempPrefix(base, os.Getpid())+"*")
	if err != nil {
		return nil, &Error{Path: path, Msg: "cannot create temporary file: " + errText(err) + " (does the folder exist and is it writable?)", Err: err}
	}
	return &atomicFile{path: path, tmp: tmp, bw: bufio.NewWriterSize(tmp, 1<<20)}, nil
}

func (a *atomicFile) Write(p []byte) (int, error) { return a.bw.Write(p) }

// commit flushes, fsyncs and renames the temporary file into place, then
// fsyncs the folder so the rename itself is durable.
func (a *atomicFile) commit() error {
	if a.done {
		return fmt.Errorf("%s: already closed", a.path)
	}
	a.done = true
	fail := func(what string, err error) error {
		a.tmp.Close()
		os.Remove(a.tmp.Name())
		return &Error{Path: a.path, Msg: what + ": " + errText(err), Err: err}
	}
	if err := a.bw.Flush(); err != nil {
		return fail("cannot write", err)
	}
	if err := a.tmp.Chmod(0o644); err != nil {
		return fail("cannot chmod", err)
	}
	if err := a.tmp.Sync(); err != nil {
		return fail("cannot fsync", err)
	}
	if err := a.tmp.Close(); err != nil {
		return fail("cannot close", err)
	}
	if err := os.Rename(a.tmp.Name(), a.path); err != nil {
		os.Remove(a.tmp.Name())
		return &Error{Path: a.path, Msg: "cannot rename temporary file into place: " + errText(err), Err: err}
	}
	if d, err := os.Open(filepath.Dir(a.path)); err == nil {
		d.Sync() // best effort: some file systems refuse to fsync folders
		d.Close()
	}
	return nil
}

// abort removes the temporary file; it is a no-op after commit.
func (a *atomicFile) abort() {
	if a.done {
		return
	}
	a.done = true
	a.tmp.Close()
	os.Remove(a.tmp.Name())
}

// CheckOutput reports early, before a stage spends any time, whether path
// can be written as an output: it is not a folder, its folder exists and a
// temporary file can be created in it (the file is removed at once; stale
// ones of dead writers go too). It returns an *Error naming path.
func CheckOutput(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return &Error{Path: path, Msg: "is a folder; want the path of an output file"}
	}
	a, err := createAtomic(path)
	if err != nil {
		return err
	}
	a.abort()
	return nil
}

// WriteFileAtomic writes a file through write: the bytes go to a temporary
// file in the same folder, which is fsynced and renamed to path only if
// write succeeds. A crash or an error never leaves a partial file at path.
// Use it for every output of a stage (JSON, Markdown, PNG, ...).
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	a, err := createAtomic(path)
	if err != nil {
		return err
	}
	if err := write(a); err != nil {
		a.abort()
		return err
	}
	return a.commit()
}
