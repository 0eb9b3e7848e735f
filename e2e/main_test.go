// Package e2e runs the stage binaries as a user would and checks how they behave on bad
// input, crashes, interrupts, numerical faults and resource limits, and that they are
// deterministic. TestMain builds every binary once into a temporary folder and makes a
// small fixture pipeline (TREC subset -> tokens -> tiny LM -> tuned LM -> classifier ->
// predictions) that the tests share read-only; each test works in its own folder.
//
// What is tried and what was found is written up in docs/reliability.md.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// stages are the binaries under test, with the package that builds each.
var stages = map[string]string{
	"tokenize":  "./tokenize/cmd/tokenize",
	"pretrain":  "./pretrain/cmd/pretrain",
	"lmtune":    "./lmtune/cmd/lmtune",
	"clftune":   "./clftune/cmd/clftune",
	"evaluate":  "./evaluate/cmd/evaluate",
	"ensemble":  "./ensemble/cmd/ensemble",
	"artifacts": "./artifacts/cmd/artifacts",
}

var (
	binDir  string // built binaries
	fixDir  string // shared fixtures (read-only by convention)
	rootDir string
	keep    = flag.Bool("keep", false, "keep the temporary folder (binaries, fixtures) for inspection")
)

// Fixture file names under fixDir.
const (
	fTrainCSV = "train.csv"       // 600 TREC-6 training questions
	fTestCSV  = "test.csv"        // 100 TREC-6 test questions
	fTrain    = "train.tok.arrow" // tokens, its own vocab and label order
	fTest     = "test.tok.arrow"  // tokens, train's vocab and labels
	fOwn      = "test.own.arrow"  // test tokenized with its own vocab (mismatch cases)
	fLM       = "lm.arrow"        // tiny pretrained LM
	fFT       = "ft.arrow"        // tiny fine-tuned LM
	fCLF      = "clf.arrow"       // tiny classifier
	fPreds    = "preds.arrow"     // its test predictions
	fVocab    = "vocab.arrow"     // train's vocab as a vocab artifact
	fTrainMF1 = "train.mf1.arrow" // train with --min-freq 1 (a larger vocabulary: other GEMM shapes)
)

func TestMain(m *testing.M) {
	flag.Parse()
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	wd, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	rootDir = filepath.Dir(wd)
	tmp, err := os.MkdirTemp("", "ulmfit-e2e-")
	if err != nil {
		return 0, err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "e2e: keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	binDir = filepath.Join(tmp, "bin")
	fixDir = filepath.Join(tmp, "fix")
	if err := os.MkdirAll(fixDir, 0o755); err != nil {
		return 0, err
	}
	args := []string{"build", "-o", binDir + string(filepath.Separator)}
	for _, pkg := range stages {
		args = append(args, pkg)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = rootDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build: %v\n%s", err, out)
	}
	if err := makeFixtures(); err != nil {
		return 0, err
	}
	code := m.Run()
	if testing.Verbose() && len(faultLog.lines) > 0 {
		fmt.Println("faults injected:")
		for _, l := range faultLog.lines {
			fmt.Println("  " + l)
		}
	}
	if testing.Verbose() && len(threadLog.lines) > 0 {
		fmt.Println("thread-count determinism:")
		for _, l := range threadLog.lines {
			fmt.Println("  " + l)
		}
	}
	if testing.Verbose() && len(memNotes.lines) > 0 {
		for _, l := range memNotes.lines {
			fmt.Println(l)
		}
	}
	if testing.Verbose() && len(rssLog) > 0 {
		fmt.Println("peak RSS (VmHWM of the child process, polled):")
		for _, l := range rssLog {
			fmt.Println("  " + l)
		}
	}
	return code, nil
}

var (
	rssMu  sync.Mutex
	rssLog []string
)

// recordRSS notes a peak-RSS figure for the summary printed after the tests (-v).
func recordRSS(what string, mib float64) {
	rssMu.Lock()
	defer rssMu.Unlock()
	rssLog = append(rssLog, fmt.Sprintf("%-60s %6.0f MiB", what, mib))
}

// makeFixtures writes the small shared pipeline into fixDir.
func makeFixtures() error {
	if err := csvHead(filepath.Join(rootDir, "data/trec/train.csv.zst"), filepath.Join(fixDir, fTrainCSV), 600); err != nil {
		return err
	}
	if err := csvHead(filepath.Join(rootDir, "data/trec/test.csv.zst"), filepath.Join(fixDir, fTestCSV), 100); err != nil {
		return err
	}
	steps := [][]string{
		{"tokenize", "-q", fTrainCSV, "-o", fTrain, "--vocab-out", fVocab},
		{"tokenize", "-q", fTestCSV, "-o", fTest, "--vocab", fTrain, "--labels-from", fTrain},
		{"tokenize", "-q", fTestCSV, "-o", fOwn},
		{"tokenize", "-q", "--min-freq", "1", fTrainCSV, "-o", fTrainMF1},
		{"pretrain", "-q", "--preset", "tiny", "--seed", "1", "--threads", "1", "--epochs", "1", "-o", fLM, fTrain},
		{"lmtune", "-q", "--preset", "tiny", "--seed", "1", "--threads", "1", "--epochs", "1", "--from", fLM, "-o", fFT, fTrain},
		{"clftune", "-q", "--seed", "1", "--threads", "1", "--epochs", "2", "--bs", "16", "--from", fFT, "--data", fTrain, "-o", fCLF},
		{"evaluate", "-q", "--threads", "1", "--model", fCLF, "--data", fTest, "-o", fPreds},
	}
	for _, s := range steps {
		r := runIn(context.Background(), fixDir, nil, s[0], s[1:]...)
		if r.code != 0 {
			return fmt.Errorf("fixture %s: exit %d: %s", strings.Join(s, " "), r.code, r.stderr)
		}
	}
	return nil
}

// csvHead decompresses a zstd CSV and keeps its header and the first n rows (TREC rows
// are one line each).
func csvHead(src, dst string, n int) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		return err
	}
	defer zr.Close()
	var b bytes.Buffer
	sc := bufio.NewScanner(zr)
	for i := 0; i <= n && sc.Scan(); i++ {
		b.Write(sc.Bytes())
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return os.WriteFile(dst, b.Bytes(), 0o644)
}

// result is what a finished command left.
type result struct {
	args   []string
	code   int // exit status; -1 if killed by a signal
	signal syscall.Signal
	stdout string
	stderr string
	dur    time.Duration
	rss    float64 // peak RSS in MiB (VmHWM, polled: see watchHWM)
	// rssSamples is how many times VmHWM was read: a short run read a few
	// times may have grown after the last reading, so rss is a lower bound.
	rssSamples int
}

func (r result) String() string {
	return fmt.Sprintf("%s: exit %d in %v\nstderr: %s", strings.Join(r.args, " "), r.code, r.dur.Round(time.Millisecond), tail(r.stderr, 2000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// runIn runs binary name with args in dir (extra environment env) and waits for it.
func runIn(ctx context.Context, dir string, env []string, name string, args ...string) result {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, name), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	var err error
	var hwm float64
	var samples int
	if err = cmd.Start(); err == nil {
		stop := watchHWM(cmd.Process.Pid)
		err = cmd.Wait()
		hwm, samples = stop()
	}
	r := result{args: append([]string{name}, args...), stdout: so.String(), stderr: se.String(), dur: time.Since(start)}
	r.code = exitCode(cmd, err)
	r.rss, r.rssSamples = hwm, samples
	if r.code < 0 {
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signal = ws.Signal()
		}
	}
	return r
}

func exitCode(cmd *exec.Cmd, err error) int {
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return -2
	}
	return cmd.ProcessState.ExitCode()
}

// run runs a binary in dir and logs what it did.
func run(t *testing.T, dir, name string, args ...string) result {
	t.Helper()
	r := runIn(context.Background(), dir, nil, name, args...)
	t.Logf("%s", r)
	return r
}

var (
	stackRe = regexp.MustCompile(`(?m)^(panic: |fatal error: |goroutine \d+ \[|runtime error|\s+/.*\.go:\d+)`)
)

// wantOK fails unless the command exited 0 without a panic.
func wantOK(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 || stackRe.MatchString(r.stderr) {
		t.Fatalf("want success, got %s", r)
	}
}

// wantError checks a failure as the contract defines it: the exit code is one of codes,
// stderr (the binaries ran with -q) is exactly one line "name: message" that mentions
// every one of subs (case-insensitive), short enough to read, and no stack trace.
func wantError(t *testing.T, r result, codes []int, subs ...string) {
	t.Helper()
	ok := false
	for _, c := range codes {
		ok = ok || r.code == c
	}
	if !ok {
		t.Errorf("exit %d, want one of %v: %s", r.code, codes, r)
	}
	if stackRe.MatchString(r.stderr) {
		t.Errorf("stack trace or panic on stderr: %s", r)
	}
	msg := strings.TrimRight(r.stderr, "\n")
	if strings.Count(msg, "\n") != 0 || msg == "" {
		t.Errorf("want one line on stderr, got %d: %q", strings.Count(msg, "\n")+1, tail(msg, 2000))
	}
	if !strings.HasPrefix(msg, r.args[0]+": ") {
		t.Errorf("stderr does not start with %q: %q", r.args[0]+": ", tail(msg, 300))
	}
	if len(msg) > 600 {
		t.Errorf("error line is %d bytes long (want a short sentence): %.300q...", len(msg), msg)
	}
	low := strings.ToLower(msg)
	for _, s := range subs {
		if !strings.Contains(low, strings.ToLower(s)) {
			t.Errorf("error line does not mention %q: %q", s, msg)
		}
	}
}

var (
	exit2  = []int{2}
	exit1  = []int{1}
	exit12 = []int{1, 2}
)

// caseDir makes a fresh folder for one case and copies the named fixtures into it.
func caseDir(t *testing.T, fixtures ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range fixtures {
		copyFile(t, filepath.Join(fixDir, f), filepath.Join(dir, f))
	}
	return dir
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// listDir returns the names in dir (sorted), recursively with relative paths.
func listDir(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantNothingNew fails if dir holds anything that was not in before (an output or a
// temporary file left behind by a failed run).
func wantNothingNew(t *testing.T, dir string, before map[string]bool) {
	t.Helper()
	for _, name := range leftovers(t, dir, before) {
		t.Errorf("left behind after a failure: %s", name)
	}
}

// leftovers lists what dir holds that was not in before.
func leftovers(t *testing.T, dir string, before map[string]bool) []string {
	t.Helper()
	var out []string
	for name := range listDir(t, dir) {
		if !before[name] {
			out = append(out, name)
		}
	}
	return out
}

// knownBug skips the rest of a subtest that hit a bug reported in
// /work/notes/requests.md and listed in docs/reliability.md; what was checked before
// the call still counts.
func knownBug(t *testing.T, format string, a ...any) {
	t.Helper()
	t.Skipf("known bug: "+format, a...)
}

// fileBytes returns the contents of a file.
func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// peakRSS parses "peak RSS N MB|MiB" from a summary line, in MiB (-1 if absent).
func peakRSS(s string) float64 {
	m := regexp.MustCompile(`peak RSS ([0-9.]+) (MB|MiB|GB|GiB|KB|KiB)`).FindStringSubmatch(s)
	if m == nil {
		return -1
	}
	var v float64
	fmt.Sscanf(m[1], "%g", &v)
	switch m[2] {
	case "GB", "GiB":
		v *= 1024
	case "KB", "KiB":
		v /= 1024
	}
	return v
}

// watchHWM polls /proc/PID/status for VmHWM (the peak RSS of the process's own address
// space) every 5 ms; the returned stop function ends the polling and gives the last value
// seen, in MiB (-1 if none), and how many times it was read. getrusage's ru_maxrss is no use here: Go starts children
// with vfork semantics, so a child's ru_maxrss includes this test process's RSS from
// before the exec.
func watchHWM(pid int) (stop func() (mib float64, samples int)) {
	done := make(chan struct{})
	type hwm struct {
		mib     float64
		samples int
	}
	res := make(chan hwm, 1)
	path := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		best, n := -1.0, 0
		for {
			if b, err := os.ReadFile(path); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						var kb float64
						fmt.Sscanf(strings.TrimSpace(rest), "%g", &kb)
						best = max(best, kb/1024)
						n++
					}
				}
			}
			select {
			case <-done:
				res <- hwm{best, n}
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() (float64, int) {
		close(done)
		h := <-res
		return h.mib, h.samples
	}
}
