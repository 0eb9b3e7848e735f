package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stageWrites lists one ordinary successful command per stage, with the output path
// given as OUT (replaced per case), run in a folder holding the fixtures.
var stageWrites = []struct {
	bin  string
	args []string
}{
	{"tokenize", []string{"-q", fTrainCSV, "-o", "OUT"}},
	{"pretrain", []string{"-q", "--preset", "tiny", "--threads", "1", "--epochs", "1", "--seed", "1", "-o", "OUT", fTrain}},
	{"lmtune", []string{"-q", "--preset", "tiny", "--threads", "1", "--epochs", "1", "--seed", "1", "--from", fLM, "-o", "OUT", fTrain}},
	{"clftune", []string{"-q", "--threads", "1", "--epochs", "1", "--bs", "16", "--seed", "1", "--from", fFT, "--data", fTrain, "-o", "OUT"}},
	{"evaluate", []string{"-q", "--threads", "1", "--model", fCLF, "--data", fTest, "-o", "OUT"}},
	{"ensemble", []string{"-q", fPreds, fPreds, "-o", "OUT"}},
}

func withOut(args []string, out string) []string {
	a := append([]string(nil), args...)
	for i := range a {
		if a[i] == "OUT" {
			a[i] = out
		}
	}
	return a
}

var fixtureSet = []string{fTrainCSV, fTestCSV, fTrain, fTest, fLM, fFT, fCLF, fPreds, fTrainMF1}

// TestUnwritableOutputs: an output folder that does not exist, an output path that is a
// folder, a read-only file system, a full disk. Each stage must fail with one line (exit 2
// when the path is the user's mistake, 1 for an I/O failure) and leave nothing behind,
// neither the output nor a temporary file.
func TestUnwritableOutputs(t *testing.T) {
	for _, s := range stageWrites {
		t.Run(s.bin+"/missing folder", func(t *testing.T) {
			dir := caseDir(t, fixtureSet...)
			before := listDir(t, dir)
			r := run(t, dir, s.bin, withOut(s.args, "nodir/sub/o.arrow")...)
			wantError(t, r, exit12, "nodir")
			wantNothingNew(t, dir, before)
		})
		t.Run(s.bin+"/output is a folder", func(t *testing.T) {
			dir := caseDir(t, fixtureSet...)
			if err := os.Mkdir(filepath.Join(dir, "o.arrow"), 0o755); err != nil {
				t.Fatal(err)
			}
			before := listDir(t, dir)
			r := run(t, dir, s.bin, withOut(s.args, "o.arrow")...)
			wantError(t, r, exit12, "o.arrow")
			left := leftovers(t, dir, before)
			if s.bin == "clftune" && len(left) == 1 && left[0] == "o.ckpt.arrow" {
				knownBug(t, "clftune finds out that --out is a folder only after training and leaves o.ckpt.arrow")
			}
			wantNothingNew(t, dir, before)
		})
	}
	full := smallFS(t, "size=4k")
	ro := smallFS(t, "ro,size=64k")
	for _, s := range stageWrites {
		t.Run(s.bin+"/disk full", func(t *testing.T) {
			if full == "" {
				t.Skip("cannot mount a tmpfs (not root?); see TestFileSizeLimit")
			}
			dir := caseDir(t, fixtureSet...)
			before := listDir(t, full)
			r := run(t, dir, s.bin, withOut(s.args, filepath.Join(full, "o.arrow"))...)
			wantError(t, r, exit12, "o.")
			wantNothingNew(t, full, before)
			if r.code == 2 {
				knownBug(t, "a full disk exits 2 (bad input) instead of 1 (runtime failure): cli.ExitCode maps every *artifacts.Error to 2")
			}
		})
		t.Run(s.bin+"/read-only file system", func(t *testing.T) {
			if ro == "" {
				t.Skip("cannot mount a tmpfs (not root?)")
			}
			dir := caseDir(t, fixtureSet...)
			r := run(t, dir, s.bin, withOut(s.args, filepath.Join(ro, "o.arrow"))...)
			wantError(t, r, exit12, "o.")
			wantNothingNew(t, ro, nil)
		})
	}
}

// smallFS mounts a tmpfs with the given options and returns its path, or "" when this
// process may not mount (the callers skip then).
func smallFS(t *testing.T, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return ""
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Logf("mount -t tmpfs -o %s: %v %s", opts, err, out)
		return ""
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// TestFileSizeLimit runs every stage under RLIMIT_FSIZE (prlimit), the other way a write
// fails half-way: the kernel answers EFBIG once the file reaches the limit.
func TestFileSizeLimit(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("no prlimit")
	}
	for _, s := range stageWrites {
		t.Run(s.bin, func(t *testing.T) {
			dir := caseDir(t, fixtureSet...)
			before := listDir(t, dir)
			args := append([]string{"--fsize=3000", filepath.Join(binDir, s.bin)}, withOut(s.args, "o.arrow")...)
			cmd := exec.Command("prlimit", args...)
			cmd.Dir = dir
			var se strings.Builder
			cmd.Stderr = &se
			err := cmd.Run()
			r := result{args: append([]string{s.bin}, s.args...), code: exitCode(cmd, err), stderr: se.String()}
			t.Logf("%s", r)
			wantError(t, r, exit12, "o.")
			wantNothingNew(t, dir, before)
			if r.code == 2 {
				knownBug(t, "a write failing with EFBIG exits 2 (bad input) instead of 1 (runtime failure): cli.ExitCode maps every *artifacts.Error to 2")
			}
		})
	}
}

// TestUnreadableInputs: inputs that exist but cannot be read as files.
func TestUnreadableInputs(t *testing.T) {
	cases := []struct {
		bin  string
		args []string
		bad  string
	}{
		{"tokenize", []string{"-q", "--format", "csv", "BAD", "-o", "o.arrow"}, "BAD"},
		{"pretrain", []string{"-q", "--preset", "tiny", "-o", "o.arrow", "BAD"}, "BAD"},
		{"lmtune", []string{"-q", "--preset", "tiny", "--from", "BAD", "-o", "o.arrow", fTrain}, "BAD"},
		{"clftune", []string{"-q", "--from", fFT, "--data", "BAD", "-o", "o.arrow"}, "BAD"},
		{"evaluate", []string{"-q", "--model", "BAD", "--data", fTest, "-o", "o.arrow"}, "BAD"},
		{"ensemble", []string{"-q", fPreds, "BAD", "-o", "o.arrow"}, "BAD"},
	}
	for _, c := range cases {
		t.Run(c.bin+"/folder", func(t *testing.T) {
			dir := caseDir(t, fixtureSet...)
			if err := os.Mkdir(filepath.Join(dir, "folder.arrow"), 0o755); err != nil {
				t.Fatal(err)
			}
			before := listDir(t, dir)
			r := run(t, dir, c.bin, withBad(c.args, "folder.arrow")...)
			wantError(t, r, exit2, "folder.arrow")
			wantNothingNew(t, dir, before)
		})
		t.Run(c.bin+"/no permission", func(t *testing.T) {
			if os.Geteuid() == 0 {
				t.Skip("root reads files without read permission")
			}
			dir := caseDir(t, fixtureSet...)
			p := filepath.Join(dir, "secret.arrow")
			writeFile(t, p, []byte("x"))
			if err := os.Chmod(p, 0); err != nil {
				t.Fatal(err)
			}
			before := listDir(t, dir)
			r := run(t, dir, c.bin, withBad(c.args, "secret.arrow")...)
			wantError(t, r, exit2, "secret.arrow")
			wantNothingNew(t, dir, before)
		})
	}
}

func withBad(args []string, bad string) []string {
	a := append([]string(nil), args...)
	for i := range a {
		if a[i] == "BAD" {
			a[i] = bad
		}
	}
	return a
}
