package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// classifyWords are per-class words for the synthetic data set of the make classify
// tests: each document mixes its class's words with shared ones, so the classes can be
// learnt but the documents differ.
var classifyWords = map[string][]string{
	"sport":   {"team", "match", "goal", "coach", "league", "season", "player"},
	"science": {"atom", "theory", "cell", "physics", "energy", "planet", "molecule"},
	"food":    {"bread", "cheese", "recipe", "soup", "dinner", "spice", "kitchen"},
}

var classifyShared = []string{"the", "a", "new", "old", "big", "good", "today", "report", "about", "story"}

// classifyCSV returns a label,text CSV with n documents of each label in labels.
func classifyCSV(labels []string, n, offset int) string {
	var b strings.Builder
	b.WriteString("label,text\n")
	for i := range n {
		for _, l := range labels {
			w := classifyWords[l]
			k := i + offset
			fmt.Fprintf(&b, "%s,%s %s %s %s %s %s .\n", l,
				classifyShared[k%len(classifyShared)], w[k%len(w)], classifyShared[(k/3)%len(classifyShared)],
				w[(k/2+3)%len(w)], classifyShared[(k*7+1)%len(classifyShared)], w[(k*5+1)%len(w)])
		}
	}
	return b.String()
}

// makeClassify runs `make classify` in the repository with the test's binaries (and
// extra make variables), into outDir.
func makeClassify(t *testing.T, outDir string, vars ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	args := append([]string{"--no-print-directory", "-C", rootDir, "classify", "BIN=" + binDir, "BUILD=no", "OUT_DIR=" + outDir,
		"PRESET=tiny", "THREADS=1", "EPOCHS=3", "LMTUNE_EPOCHS=1"}, vars...)
	cmd := exec.CommandContext(ctx, "make", args...)
	// Run as a user's own make would, also under `make test` (whose level and flags
	// would otherwise reach this make through the environment).
	for _, e := range os.Environ() {
		switch strings.SplitN(e, "=", 2)[0] {
		case "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "GNUMAKEFLAGS":
			continue
		}
		cmd.Env = append(cmd.Env, e)
	}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	err := cmd.Run()
	r := result{args: append([]string{"make"}, args...), stdout: so.String(), stderr: se.String(), dur: time.Since(start), code: exitCode(cmd, err)}
	t.Logf("%s\nstdout:\n%s", r, tail(r.stdout, 3000))
	return r
}

// trainingStarted reports the first stage line of make classify's output that trains
// something ("" if none).
func trainingStarted(stdout string) string {
	for _, l := range strings.Split(stdout, "\n") {
		for _, s := range []string{"== pretrain", "== lmtune", "== clftune", "== evaluate", "== ensemble"} {
			if strings.HasPrefix(l, s) {
				return l
			}
		}
	}
	return ""
}

// writeText writes text to path and returns path.
func writeText(t *testing.T, path, text string) string {
	t.Helper()
	writeFile(t, path, []byte(text))
	return path
}

// TestMakeClassify runs the whole recipe on a small 3-class CSV as a user would, then
// again (nothing to do), then with another seed (only the classifiers and what
// follows them are redone).
func TestMakeClassify(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	labels := []string{"sport", "science", "food"}
	train := writeText(t, filepath.Join(dir, "news.csv"), classifyCSV(labels, 100, 0))
	test := writeText(t, filepath.Join(dir, "news-test.csv"), classifyCSV(labels, 20, 1000))

	r := makeClassify(t, out, "TRAIN="+train, "TEST="+test)
	if r.code != 0 {
		t.Fatalf("make classify: exit %d", r.code)
	}
	// NAME defaults to TRAIN's base name.
	if !strings.Contains(r.stdout, "everything goes to "+out+"/news/") {
		t.Errorf("the output folder is not %s/news/", out)
	}
	if !strings.Contains(r.stdout, `3 classes, 300 labelled documents`) {
		t.Errorf("no label check summary for 3 classes, 300 documents")
	}
	if !regexp.MustCompile(`(?m)^ +ensemble \(fwd\+bwd\) +[0-9.]+%`).MatchString(r.stdout) {
		t.Errorf("no ensemble test error in the summary")
	}
	m := regexp.MustCompile(`(?m)^== serve it: +(\S+) serve --model (\S+) --model (\S+) --addr 127\.0\.0\.1:8080$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no serve command with two models in the output")
	}
	if m[1] != filepath.Join(binDir, "evaluate") {
		t.Errorf("serve command runs %s, want %s", m[1], filepath.Join(binDir, "evaluate"))
	}
	models := m[2:]
	stat := map[string]time.Time{}
	for i, path := range models {
		if !strings.HasSuffix(path, []string{"/model/fwd.arrow", "/model/bwd.arrow"}[i]) {
			t.Errorf("model %d is %s, want .../model/{fwd,bwd}.arrow", i, path)
		}
		mod, err := artifacts.ReadModel(path, artifacts.KindClassifier)
		if err != nil {
			t.Fatalf("the printed model: %v", err)
		}
		if len(mod.LabelNames) != 3 || len(mod.OptState) != 0 {
			t.Errorf("%s: labels %v, %d optimizer tensors; want 3 labels and no optimizer state", path, mod.LabelNames, len(mod.OptState))
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		stat[path] = st.ModTime()
	}
	if !strings.Contains(r.stdout, "report.md") {
		t.Errorf("no report in the summary")
	}

	// A second run does nothing.
	r = makeClassify(t, out, "TRAIN="+train, "TEST="+test)
	if r.code != 0 {
		t.Fatalf("second make classify: exit %d", r.code)
	}
	if l := trainingStarted(r.stdout); l != "" || strings.Contains(r.stdout, "== tokenize") {
		t.Errorf("the second run did work: %q", l)
	}
	for path, mt := range stat {
		if st, err := os.Stat(path); err != nil || !st.ModTime().Equal(mt) {
			t.Errorf("%s was rewritten by the second run", path)
		}
	}

	// Without TEST the same classifiers (same TRAIN, same seed: already built) are
	// reported with their validation error on the held-out share of TRAIN.
	r = makeClassify(t, out, "TRAIN="+train)
	if r.code != 0 {
		t.Fatalf("make classify without TEST: exit %d", r.code)
	}
	if l := trainingStarted(r.stdout); l != "" {
		t.Errorf("without TEST, the classifiers built with TEST were not reused: %q", l)
	}
	for _, re := range []string{`(?m)^== no TEST: each classifier holds out 10% of TRAIN \(stratified by label, seed 1\)`,
		`(?m)^   forward +[0-9.]+%  \(\S+/fwd/\S+\.arrow\)$`, `(?m)^   backward +[0-9.]+%  \(\S+/bwd/\S+\.arrow\)$`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("without TEST: no line matching %s", re)
		}
	}
	if strings.Contains(r.stdout, "ensemble") || strings.Contains(r.stdout, "report.md") {
		t.Errorf("without TEST: an ensemble or report was printed")
	}

	// Another classifier seed redoes the classifiers and what follows, nothing before.
	r = makeClassify(t, out, "TRAIN="+train, "TEST="+test, "SEED=2")
	if r.code != 0 {
		t.Fatalf("make classify SEED=2: exit %d", r.code)
	}
	for _, s := range []string{"== tokenize", "== pretrain", "== lmtune"} {
		if strings.Contains(r.stdout, s) {
			t.Errorf("SEED=2 redid a stage before the classifier: %s", s)
		}
	}
	for _, s := range []string{"== clftune fwd", "== clftune bwd", "== ensemble", "== deployable fwd"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("SEED=2 did not redo %q", s)
		}
	}
}

// makeError matches make's own "Error 2" line.
var makeError = regexp.MustCompile(`^make(\[[0-9]+\])?: \*\*\* `)

// TestMakeClassifyBadInput: bad data stops make classify before any training, with
// the stage's one line (and make's own) on stderr and exit status 2.
func TestMakeClassifyBadInput(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	abc := []string{"sport", "science", "food"}
	good := writeText(t, filepath.Join(dir, "good.csv"), classifyCSV(abc, 30, 0))
	for _, tc := range []struct {
		name  string
		train string
		test  string // "" = none
		vars  []string
		want  string // "…" stands for any text
	}{
		{"one class", classifyCSV([]string{"sport"}, 60, 0), "", nil, `one_class.csv (` + out + `/one_class/tok/train.arrow): every labelled document has the label "sport": a classifier needs at least 2 classes`},
		{"label only in test", "", classifyCSV([]string{"sport", "science", "food"}, 5, 0) + "music,the band played a new song .\n", nil, `label "music" is not among the 3 labels of … (food, science, sport): a classifier trained on those cannot predict it; add documents with it to the training data, or remove this row`},
		{"malformed row", classifyCSV(abc, 30, 0) + "food,\"an open quote\" here\n", "", nil, "malformed CSV"},
		{"few per class", classifyCSV(abc, 30, 0) + strings.Repeat("extra,a lone extra class .\n", 4), "", nil, `the class "extra" has only 4 document(s): with fewer than 20`},
		{"few per class, a higher minimum", "", "", []string{"MIN_PER_CLASS=31"}, `has only 30 document(s)`},
		{"no such label column", "", "", []string{"LABEL_COL=topic"}, `no column "topic" (--label-col)`},
		{"no label", strings.Replace(classifyCSV(abc, 30, 0), "label,text", "category,text", 1), classifyCSV(abc, 5, 0), nil, `no_label.csv (` + out + `/no_label/tok/train.arrow): none of its 90 documents has a label: name the label column`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "_")
			name = strings.ReplaceAll(name, ",", "")
			train := good
			if tc.train != "" {
				train = writeText(t, filepath.Join(dir, name+".csv"), tc.train)
			}
			vars := append([]string{"NAME=" + name, "TRAIN=" + train}, tc.vars...)
			if tc.test != "" {
				vars = append(vars, "TEST="+writeText(t, filepath.Join(dir, name+"-test.csv"), tc.test))
			}
			r := makeClassify(t, out, vars...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2", r.code)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				if !makeError.MatchString(l) {
					lines = append(lines, l)
				}
			}
			parts := strings.Split(tc.want, "…")
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			if len(lines) != 1 || !regexp.MustCompile(strings.Join(parts, ".*")).MatchString(lines[0]) {
				t.Fatalf("stderr (without make's own line) %q: want one line with %q", lines, tc.want)
			}
			if l := trainingStarted(r.stdout); l != "" {
				t.Fatalf("training started before the error: %q", l)
			}
		})
	}
	// Nothing was pretrained either (the LM corpus is not even tokenized).
	if _, err := os.Stat(filepath.Join(out, "lm")); err == nil {
		t.Errorf("%s/lm exists: the bad runs started on the pretrained LM", out)
	}
}
