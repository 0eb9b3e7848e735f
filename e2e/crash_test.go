package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// trainer is a training stage as the crash tests drive it: args (with OUT), the path of
// its checkpoint for an output, and how to ask it to resume from that checkpoint. The
// checkpoints come every N steps (--checkpoint-steps), not on a timer, so that which
// states a kill can leave behind does not depend on the machine's speed.
type trainer struct {
	bin    string
	args   []string
	ckpt   func(out string) string
	resume func(ckpt string) []string
}

var trainers = []trainer{
	{
		bin: "pretrain",
		args: []string{"-q", "--preset", "tiny", "--threads", "1", "--seed", "7", "--epochs", "8",
			"--checkpoint-steps", "16", "-o", "OUT", fTrain},
		ckpt:   func(out string) string { return strings.TrimSuffix(out, ".arrow") + ".ckpt.arrow" },
		resume: func(c string) []string { return []string{"--resume=" + c} },
	},
	{
		bin: "lmtune",
		args: []string{"-q", "--preset", "tiny", "--threads", "1", "--seed", "7", "--epochs", "8",
			"--checkpoint-steps", "16", "--from", fLM, "-o", "OUT", fTrain},
		ckpt:   func(out string) string { return strings.TrimSuffix(out, ".arrow") + ".ckpt.arrow" },
		resume: func(c string) []string { return []string{"--resume=" + c} },
	},
	{
		bin: "clftune",
		args: []string{"-q", "--threads", "1", "--seed", "7", "--epochs", "8", "--bs", "16",
			"--checkpoint-steps", "8", "--from", fFT, "--data", fTrain, "-o", "OUT"},
		ckpt:   func(out string) string { return strings.TrimSuffix(out, ".arrow") + ".ckpt.arrow" },
		resume: func(c string) []string { return []string{"--resume", c} },
	},
}

// TestCrashResume kills each training stage with SIGKILL at seeded random moments,
// resumes it from whatever checkpoint is there (or starts it again when there is none),
// and checks that the artifact it finally writes has the same bytes as an uninterrupted
// run. While the runs go on, a watcher reads the output and the checkpoint whenever they
// exist: an artifact under its final name must always be complete.
func TestCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for i, tr := range trainers {
		t.Run(tr.bin, func(t *testing.T) {
			ref := caseDir(t, fixtureSet...)
			start := time.Now()
			wantOK(t, run(t, ref, tr.bin, withOut(tr.args, "o.arrow")...))
			full := time.Since(start)
			want := fileBytes(t, filepath.Join(ref, "o.arrow"))
			if _, err := os.Stat(filepath.Join(ref, tr.ckpt("o.arrow"))); err == nil {
				t.Errorf("checkpoint %s left after a finished run", tr.ckpt("o.arrow"))
			}

			rounds := 1
			if n, err := strconv.Atoi(os.Getenv("E2E_CRASH_ROUNDS")); err == nil && n > 1 {
				rounds = n
			}
			for round := 0; round < rounds; round++ {
				crashRound(t, tr, uint64(42+i+100*round), full, filepath.Join(ref, "o.arrow"), want)
			}
		})
	}
}

// crashRound is one kill-and-resume sequence until the stage finishes.
func crashRound(t *testing.T, tr trainer, seed uint64, full time.Duration, refOut string, want []byte) {
	dir := caseDir(t, fixtureSet...)
	out := filepath.Join(dir, "o.arrow")
	ckpt := filepath.Join(dir, tr.ckpt("o.arrow"))
	w := startWatcher(t, out, ckpt)
	rng := rand.New(rand.NewPCG(seed, 1))
	kills, resumes := 0, 0
	stale := 0 // kills after the final rename, before the checkpoint was removed
	for attempt := 0; attempt < 20; attempt++ {
		args := withOut(tr.args, "o.arrow")
		_, ckErr := os.Stat(ckpt)
		_, outErr := os.Stat(out)
		if outErr == nil && ckErr != nil {
			break // finished (possibly killed between the rename and the exit)
		}
		if ckErr == nil {
			args = append(args, tr.resume(tr.ckpt("o.arrow"))...)
			resumes++
		}
		var after time.Duration
		if kills < 6 {
			after = time.Duration(rng.Int64N(int64(full)/2)) + 20*time.Millisecond
		}
		r := runKill(t, dir, tr.bin, args, after, syscall.SIGKILL)
		t.Logf("attempt %d (kill after %v): %s", attempt, after.Round(time.Millisecond), r)
		if r.signal == syscall.SIGKILL {
			kills++
			continue
		}
		wantOK(t, r)
		if outErr == nil && ckErr == nil {
			// Killed after the final rename, before the checkpoint was
			// removed: this rerun found the output up to date and must
			// have removed the checkpoint of its own run.
			stale++
			if _, err := os.Stat(ckpt); err == nil {
				t.Errorf("a rerun over an up-to-date output left the stale checkpoint: %s", r)
				break
			}
		}
	}
	w.stop()
	tmp := tempFiles(t, dir)
	t.Logf("%s: %d SIGKILLs, %d resumes (%d over an up-to-date output and its stale checkpoint), watcher read the output %d and the checkpoint %d times; %d temporary files left by killed writers %v",
		tr.bin, kills, resumes, stale, w.outReads.Load(), w.ckptReads.Load(), len(tmp), tmp)
	faultLog.add("SIGKILL "+tr.bin, kills, resumes, int(w.outReads.Load()+w.ckptReads.Load()), len(tmp))
	got := fileBytes(t, out)
	_, ckErr := os.Stat(ckpt)
	if ckErr == nil {
		t.Errorf("checkpoint left after the finished run")
	}
	wantOK(t, run(t, dir, "artifacts", "verify", "-q", "o.arrow"))
	if !bytes.Equal(got, want) && tr.bin == "lmtune" && onlyInputsDiffer(t, refOut, out) {
		knownBug(t, "lmtune --resume drops the --from model from the artifact's lineage inputs (weights are equal)")
	}
	if !bytes.Equal(got, want) {
		t.Errorf("after %d kills and %d resumes the artifact differs from an uninterrupted run (%d vs %d bytes): %s",
			kills, resumes, len(got), len(want), modelDiff(t, refOut, out))
	}
}

// TestInterrupt sends SIGINT (Ctrl-C) and SIGTERM (kill, make, a scheduler) to each
// training stage mid-run: it must stop with
// exit 1 and "interrupted", after writing a checkpoint it names; resuming from it ends
// with the bytes of an uninterrupted run.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for _, tr := range trainers {
		ref := caseDir(t, fixtureSet...)
		wantOK(t, run(t, ref, tr.bin, withOut(tr.args, "o.arrow")...))
		want := fileBytes(t, filepath.Join(ref, "o.arrow"))
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(tr.bin+"/"+sig.String(), func(t *testing.T) {

				dir := caseDir(t, fixtureSet...)
				args := withOut(tr.args, "o.arrow")
				for i, a := range args {
					if a == "-q" {
						args[i] = "--quiet=false" // the checkpoint message is not an error
					}
				}
				r := runSignalOn(t, dir, tr.bin, args, "epoch 2/", sig)
				t.Logf("%s", r)
				if r.code == 0 {
					t.Skip("the run finished before the interrupt; nothing to check")
				}
				if r.code != 1 || !strings.Contains(r.stderr, tr.bin+": interrupted") {
					t.Errorf("SIGINT: exit %d, stderr %q: want exit 1 and %q", r.code, tail(r.stderr, 400), tr.bin+": interrupted")
				}
				if stackRe.MatchString(r.stderr) {
					t.Errorf("stack trace after SIGINT: %s", r.stderr)
				}
				ck := tr.ckpt("o.arrow")
				if !strings.Contains(r.stderr, ck) || !strings.Contains(r.stderr, "resume") {
					if tr.bin == "clftune" {
						// checked below; the rest of the test still runs
						defer knownBug(t, "clftune interrupted at an epoch's end exits without writing a checkpoint or naming the last one: %q", tail(r.stderr, 200))
					} else {
						t.Errorf("SIGINT: stderr does not name the checkpoint %s and how to resume: %q", ck, tail(r.stderr, 400))
					}
				}
				if _, err := os.Stat(filepath.Join(dir, "o.arrow")); err == nil {
					t.Errorf("an interrupted run wrote its final artifact")
				}
				if _, err := os.Stat(filepath.Join(dir, ck)); err != nil {
					t.Fatalf("no checkpoint after SIGINT: %v", err)
				}
				wantOK(t, run(t, dir, tr.bin, append(withOut(tr.args, "o.arrow"), tr.resume(ck)...)...))
				got := fileBytes(t, filepath.Join(dir, "o.arrow"))
				if !bytes.Equal(got, want) && tr.bin == "lmtune" && onlyInputsDiffer(t, filepath.Join(ref, "o.arrow"), filepath.Join(dir, "o.arrow")) {
					knownBug(t, "lmtune --resume drops the --from model from the artifact's lineage inputs (weights are equal)")
				}
				if !bytes.Equal(got, want) {
					t.Errorf("interrupted + resumed artifact differs from an uninterrupted run: %s", modelDiff(t, filepath.Join(ref, "o.arrow"), filepath.Join(dir, "o.arrow")))
				}
				wantOK(t, run(t, dir, "artifacts", "verify", "-q", "o.arrow"))
				faultLog.add(sig.String()+" "+tr.bin, 1, 1, 0, 0)
			})
		}
	}
}

// modelDiff says which parts of two model artifacts differ.
func modelDiff(t *testing.T, a, b string) string {
	t.Helper()
	ma, err := artifacts.ReadModel(a, "")
	if err != nil {
		return "cannot read " + a + ": " + err.Error()
	}
	mb, err := artifacts.ReadModel(b, "")
	if err != nil {
		return "cannot read " + b + ": " + err.Error()
	}
	var parts []string
	if !reflect.DeepEqual(ma.Tensors, mb.Tensors) {
		parts = append(parts, "weights")
	}
	if !reflect.DeepEqual(ma.OptState, mb.OptState) {
		parts = append(parts, "optimizer state")
	}
	if !bytes.Equal(ma.Metrics, mb.Metrics) {
		parts = append(parts, "metrics")
	}
	if !bytes.Equal(ma.TrainState, mb.TrainState) {
		parts = append(parts, "train state")
	}
	if !bytes.Equal(ma.Config, mb.Config) {
		parts = append(parts, "config")
	}
	if !reflect.DeepEqual(ma.Params, mb.Params) {
		parts = append(parts, fmt.Sprintf("params (%v vs %v)", ma.Params, mb.Params))
	}
	if !reflect.DeepEqual(ma.Inputs, mb.Inputs) {
		parts = append(parts, fmt.Sprintf("lineage inputs (%d: %v vs %d: %v)", len(ma.Inputs), ma.Inputs, len(mb.Inputs), mb.Inputs))
	}
	if len(parts) == 0 {
		return "decoded content equal; encoding differs"
	}
	return strings.Join(parts, ", ")
}

// onlyInputsDiffer reports whether two model artifacts differ only in their lineage inputs.
func onlyInputsDiffer(t *testing.T, a, b string) bool {
	return strings.HasPrefix(modelDiff(t, a, b), "lineage inputs")
}

// runKill starts a binary and sends sig after the given time (never if after is 0).
func runKill(t *testing.T, dir, name string, args []string, after time.Duration, sig syscall.Signal) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, name), args...)
	cmd.Dir = dir
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var timer *time.Timer
	if after > 0 {
		timer = time.AfterFunc(after, func() { cmd.Process.Signal(sig) })
	}
	err := cmd.Wait()
	if timer != nil {
		timer.Stop()
	}
	r := result{args: append([]string{name}, args...), stdout: so.String(), stderr: se.String(), dur: time.Since(start)}
	r.code = exitCode(cmd, err)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.signal = ws.Signal()
	}
	return r
}

// runSignalOn starts a binary and sends sig as soon as its stderr contains marker.
func runSignalOn(t *testing.T, dir, name string, args []string, marker string, sig syscall.Signal) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, name), args...)
	cmd.Dir = dir
	var so bytes.Buffer
	se := &markerWriter{marker: marker}
	cmd.Stdout, cmd.Stderr = &so, se
	// fire is set before Start: the copying goroutine that calls it starts
	// after cmd.Process is set, and a marker in the first bytes must not
	// find it nil (the signal would never be sent).
	se.fire = func() { cmd.Process.Signal(sig) }
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	r := result{args: append([]string{name}, args...), stdout: so.String(), stderr: se.String(), dur: time.Since(start)}
	r.code = exitCode(cmd, err)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.signal = ws.Signal()
	}
	return r
}

// markerWriter collects output and calls fire once when marker first appears.
type markerWriter struct {
	mu     sync.Mutex
	b      bytes.Buffer
	marker string
	fire   func()
	fired  bool
}

func (m *markerWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.b.Write(p)
	if !m.fired && m.fire != nil && strings.Contains(m.b.String(), m.marker) {
		m.fired = true
		m.fire()
	}
	return len(p), nil
}

func (m *markerWriter) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.String()
}

// watcher reads the output and the checkpoint whenever they exist.
type watcher struct {
	done      chan struct{}
	wg        sync.WaitGroup
	outReads  atomic.Int64
	ckptReads atomic.Int64
	mu        sync.Mutex
	errs      []string
}

func startWatcher(t *testing.T, out, ckpt string) *watcher {
	w := &watcher{done: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			select {
			case <-w.done:
				return
			case <-time.After(3 * time.Millisecond):
			}
			for _, p := range []string{out, ckpt} {
				if _, err := os.Stat(p); err != nil {
					continue
				}
				if _, err := artifacts.ReadModel(p, ""); err != nil {
					if _, serr := os.Stat(p); serr != nil {
						continue // removed while we read it (the finished run drops its checkpoint)
					}
					w.mu.Lock()
					w.errs = append(w.errs, p+": "+err.Error())
					w.mu.Unlock()
				}
				if p == out {
					w.outReads.Add(1)
				} else {
					w.ckptReads.Add(1)
				}
			}
		}
	}()
	t.Cleanup(func() {
		w.stop()
		for _, e := range w.errs {
			t.Errorf("read a partial or damaged artifact under its final name: %s", e)
		}
	})
	return w
}

func (w *watcher) stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
}

// tempFiles lists hidden temporary files (".NAME.tmp-*") in dir.
func tempFiles(t *testing.T, dir string) []string {
	var out []string
	for name := range listDir(t, dir) {
		if strings.Contains(name, ".tmp") {
			out = append(out, name)
		}
	}
	return out
}

// faultLog counts injected faults for the summary printed after the tests (-v).
var faultLog faults

type faults struct {
	mu    sync.Mutex
	lines []string
}

func (f *faults) add(what string, injected, resumes, reads, temps int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, what+": "+itoa(injected)+" injected, "+itoa(resumes)+" resumes, "+itoa(reads)+" watcher reads, "+itoa(temps)+" stale temp files")
}

func (f *faults) note(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, s)
}

// TestResumeMismatch: --resume must refuse a checkpoint that does not belong to the run
// it is asked to continue (other data, other flags), a damaged checkpoint, and a file that
// is no checkpoint, with one line and exit 2, and leave the checkpoint as it was.
func TestResumeMismatch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for _, tr := range trainers {
		t.Run(tr.bin, func(t *testing.T) {
			dir := caseDir(t, fixtureSet...)
			args := withOut(tr.args, "o.arrow")
			for i, a := range args {
				if a == "-q" {
					args[i] = "--quiet=false"
				}
			}
			r := runSignalOn(t, dir, tr.bin, args, "epoch 2/", syscall.SIGINT)
			ck := tr.ckpt("o.arrow")
			if r.code != 1 {
				t.Fatalf("no interrupted run to resume: %s", r)
			}
			ckBytes := fileBytes(t, filepath.Join(dir, ck))
			base := withOut(tr.args, "o.arrow")
			swap := func(from, to string) []string {
				a := append([]string(nil), base...)
				for i := range a {
					if a[i] == from {
						a[i] = to
					}
				}
				return a
			}
			copyFile(t, filepath.Join(dir, ck), filepath.Join(dir, "trunc.ckpt"))
			writeFile(t, filepath.Join(dir, "trunc.ckpt"), ckBytes[:len(ckBytes)*2/3])
			cases := []struct {
				name string
				args []string
				subs []string
			}{
				{"other seed", append(swap("7", "8"), tr.resume(ck)...), []string{"seed"}},
				{"other training data", append(swap(fTrain, fTest), tr.resume(ck)...), []string{fTest}},
				{"truncated checkpoint", append(base, tr.resume("trunc.ckpt")...), []string{"trunc.ckpt"}},
				{"an LM as checkpoint", append(base, tr.resume(fLM)...), []string{fLM}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := runIn(context.Background(), dir, nil, tr.bin, c.args...)
					t.Logf("%s", r)
					wantError(t, r, exit2, c.subs...)
					if _, err := os.Stat(filepath.Join(dir, "o.arrow")); err == nil {
						t.Errorf("refused resume wrote o.arrow")
						os.Remove(filepath.Join(dir, "o.arrow"))
					}
					if !bytes.Equal(fileBytes(t, filepath.Join(dir, ck)), ckBytes) {
						t.Errorf("the checkpoint changed after a refused resume")
						writeFile(t, filepath.Join(dir, ck), ckBytes)
					}
				})
			}
			// A kill between the final rename and the checkpoint's removal
			// leaves both; the rerun finds the output up to date and removes
			// the checkpoint of its own run, saying so.
			t.Run("stale checkpoint", func(t *testing.T) {
				wantOK(t, runIn(context.Background(), dir, nil, tr.bin, append(args, tr.resume(ck)...)...))
				if _, err := os.Stat(filepath.Join(dir, ck)); err == nil {
					t.Fatalf("checkpoint left after the resumed run finished")
				}
				writeFile(t, filepath.Join(dir, ck), ckBytes)
				r := runIn(context.Background(), dir, nil, tr.bin, append(args, tr.resume(ck)...)...)
				t.Logf("%s", r)
				wantOK(t, r)
				if msg := tr.bin + ": o.arrow is complete; removed the stale checkpoint " + ck; !strings.Contains(r.stderr, msg) {
					t.Errorf("stderr %q, want a line %q", r.stderr, msg)
				}
				if _, err := os.Stat(filepath.Join(dir, ck)); err == nil {
					t.Errorf("the stale checkpoint %s is still there", ck)
				}
			})
		})
	}
}

// TestConcurrentWriters starts the same command twice at once in one folder (two make -j
// jobs, or a user who ran it twice): both must finish, and the output must be one complete
// artifact with the bytes of a single run, which `artifacts verify` accepts.
func TestConcurrentWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	cmds := []struct {
		bin  string
		args []string
	}{
		{"tokenize", []string{"-q", fTrainCSV, "-o", "o.arrow"}},
		{"pretrain", []string{"-q", "--preset", "tiny", "--threads", "1", "--seed", "4", "--epochs", "2", "--checkpoint-steps", "16", "-o", "o.arrow", fTrain}},
		{"clftune", []string{"-q", "--threads", "1", "--seed", "4", "--epochs", "4", "--bs", "16", "--checkpoint-steps", "8", "--from", fFT, "--data", fTrain, "-o", "o.arrow"}},
	}
	for _, c := range cmds {
		t.Run(c.bin, func(t *testing.T) {
			ref := caseDir(t, fixtureSet...)
			wantOK(t, run(t, ref, c.bin, c.args...))
			want := fileBytes(t, filepath.Join(ref, "o.arrow"))
			dir := caseDir(t, fixtureSet...)
			var wg sync.WaitGroup
			res := make([]result, 2)
			for i := range res {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[i] = runIn(context.Background(), dir, nil, c.bin, c.args...)
				}()
			}
			wg.Wait()
			for _, r := range res {
				t.Logf("%s", r)
				wantOK(t, r)
			}
			if got := fileBytes(t, filepath.Join(dir, "o.arrow")); !bytes.Equal(got, want) {
				t.Errorf("two concurrent runs left an o.arrow that differs from a single run's")
			}
			wantOK(t, run(t, dir, "artifacts", "verify", "-q", "o.arrow"))
			for name := range listDir(t, dir) {
				if strings.Contains(name, "ckpt") || strings.Contains(name, ".tmp") {
					t.Errorf("left behind: %s", name)
				}
			}
		})
	}
}
