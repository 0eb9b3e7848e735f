package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// skipFixture writes a vocab artifact made with lin and returns its path
// with its modification time set an hour back.
func skipFixture(t *testing.T, lin artifacts.Lineage) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "v.arrow")
	if err := artifacts.WriteVocab(out, lin, &artifacts.Vocab{Tokens: []string{"xxunk", "xxpad", "a"}}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(out, old, old); err != nil {
		t.Fatal(err)
	}
	return out
}

func mtime(t *testing.T, path string) time.Time {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.ModTime()
}

func TestSkipIfCurrent(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "train.csv")
	if err := os.WriteFile(in, []byte("label,text\n1,hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	input, err := artifacts.InputOf(in)
	if err != nil {
		t.Fatal(err)
	}
	base := func() artifacts.Lineage {
		return artifacts.Lineage{Kind: artifacts.KindVocab, Producer: "tokenize",
			Params: map[string]any{"epochs": "2", "lower": "true"}, Inputs: []artifacts.Input{input}}
	}
	made := base()
	// Run-only flags recorded by an older stage are not compared either.
	made.Params["threads"], made.Params["checkpoint-every"] = "4", "10m0s"

	tests := []struct {
		name   string
		force  bool
		quiet  bool
		change func(l *artifacts.Lineage)
		ignore []string
		skip   bool
		msg    string // substring of stderr ("" = empty)
	}{
		{name: "same params and inputs", skip: true, msg: "tokenize: OUT is up to date (same inputs, same params); nothing to do (--force to redo)\n"},
		{name: "quiet", quiet: true, skip: true},
		{name: "run-only flags differ", skip: true, change: func(l *artifacts.Lineage) {
			for _, k := range []string{"threads", "quiet", "log", "checkpoint", "checkpoint-every", "resume", "force", "out"} {
				l.Params[k] = "x"
			}
		}, msg: "up to date"},
		{name: "extra ignored key", skip: true, ignore: []string{"lower"}, change: func(l *artifacts.Lineage) { l.Params["lower"] = "false" }, msg: "up to date"},
		{name: "changed param", change: func(l *artifacts.Lineage) { l.Params["epochs"] = "3" },
			msg: `tokenize: OUT is out of date (params differ: epochs "2" -> "3"); redoing it` + "\n"},
		{name: "changed param quiet", quiet: true, change: func(l *artifacts.Lineage) { l.Params["epochs"] = "3" }},
		{name: "changed input", change: func(l *artifacts.Lineage) { l.Inputs[0].SHA256 = strings.Repeat("0", 64) },
			msg: "out of date (input 1 changed (train.csv))"},
		{name: "force", force: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := skipFixture(t, made)
			before := mtime(t, out)
			want := base()
			if tt.change != nil {
				tt.change(&want)
			}
			var stderr bytes.Buffer
			c := Common{Force: tt.force, Quiet: tt.quiet, Stderr: &stderr}
			got := c.SkipIfCurrent("tokenize", out, want, tt.ignore...)
			if got != tt.skip {
				t.Errorf("SkipIfCurrent = %v, want %v (stderr %q)", got, tt.skip, stderr.String())
			}
			msg := strings.ReplaceAll(stderr.String(), out, "OUT")
			if tt.msg == "" && msg != "" || !strings.Contains(msg, tt.msg) {
				t.Errorf("stderr %q, want %q", msg, tt.msg)
			}
			touched := mtime(t, out).After(before.Add(30 * time.Minute))
			if touched != tt.skip {
				t.Errorf("mtime moved to now: %v, want %v", touched, tt.skip)
			}
		})
	}
}

func TestSkipIfMissing(t *testing.T) {
	var stderr bytes.Buffer
	c := Common{Stderr: &stderr}
	missing := filepath.Join(t.TempDir(), "nope.arrow")
	if c.SkipIfCurrent("tokenize", missing, artifacts.Lineage{Kind: artifacts.KindVocab}) {
		t.Error("skipped a missing output")
	}
	if stderr.Len() != 0 {
		t.Errorf("a first run says %q, want nothing", stderr.String())
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("SkipIfCurrent created the output")
	}
	// A damaged output is redone.
	if err := os.WriteFile(missing, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c.SkipIfCurrent("tokenize", missing, artifacts.Lineage{Kind: artifacts.KindVocab}) || !strings.Contains(stderr.String(), "out of date (unreadable: ") {
		t.Errorf("damaged output: stderr %q", stderr.String())
	}
}

func TestSkipIfAlso(t *testing.T) {
	lin := artifacts.Lineage{Kind: artifacts.KindVocab, Producer: "evaluate", Params: map[string]any{"bs": "64"}}
	out := skipFixture(t, lin)
	metrics := strings.TrimSuffix(out, ".arrow") + ".metrics.json"
	var stderr bytes.Buffer
	c := Common{Stderr: &stderr}
	chk := SkipCheck{Out: out, Lineage: lin, Also: []string{metrics}}
	if c.SkipIf("evaluate", chk) {
		t.Fatal("skipped with the metrics JSON missing")
	}
	if want := "evaluate: " + metrics + " is missing; redoing " + out + "\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if err := os.WriteFile(metrics, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(metrics, old, old); err != nil {
		t.Fatal(err)
	}
	if !c.SkipIf("evaluate", chk) {
		t.Fatalf("not skipped with every output present: %q", stderr.String())
	}
	for _, p := range []string{out, metrics} {
		if time.Since(mtime(t, p)) > time.Minute {
			t.Errorf("%s not touched", p)
		}
	}
}

func TestForceFlag(t *testing.T) {
	fs := NewFlags("x", "", "")
	var c Common
	c.Register(fs, "out", "force")
	if err := Parse(fs, []string{"--force", "-o", "a"}); err != nil {
		t.Fatal(err)
	}
	if !c.Force || c.Out != "a" {
		t.Errorf("Force %v, Out %q", c.Force, c.Out)
	}
	fs = NewFlags("y", "", "")
	c.Register(fs, "out")
	if fs.Lookup("force") != nil {
		t.Error("--force registered without being asked for")
	}
}
