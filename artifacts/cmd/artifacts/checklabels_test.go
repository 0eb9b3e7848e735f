package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

func counts(path string, names []string, per []int64, unlabeled int64, multi bool) *artifacts.LabelCounts {
	c := &artifacts.LabelCounts{Path: path, Names: names, PerLabel: per, Unlabeled: unlabeled, MultiLabel: multi, Docs: unlabeled}
	for _, n := range per {
		c.Docs += n
	}
	return c
}

func TestCheckLabels(t *testing.T) {
	abc := []string{"a", "b", "c"}
	train := counts("train.arrow", abc, []int64{30, 25, 40}, 0, false)
	for _, tc := range []struct {
		name  string
		train *artifacts.LabelCounts
		test  *artifacts.LabelCounts
		min   int
		want  string // substring of the error ("" = passes)
		sum   string // substring of the summary when it passes
	}{
		{"ok", train, nil, 20, "", `3 classes, 95 labelled documents (fewest: "b", 25)`},
		{"ok with test", train, counts("test.arrow", abc, []int64{3, 0, 5}, 0, false), 20, "", "test.arrow: 8 labelled documents"},
		{"unlabelled rows are counted", counts("train.arrow", abc, []int64{30, 25, 40}, 7, false), nil, 20, "", "7 without a label"},
		{"the raw files are named", &artifacts.LabelCounts{Path: "out/r/tok/train.arrow", Sources: []string{"reviews.csv", "more.csv"}, Names: abc, PerLabel: []int64{30, 2, 40}, Docs: 72}, nil, 20, `reviews.csv + more.csv (out/r/tok/train.arrow): the class "b" has only 2`, ""},
		{"no labels", counts("train.arrow", nil, nil, 12, false), nil, 20, "train.arrow: none of its 12 documents has a label: name the label column", ""},
		{"one class", counts("train.arrow", []string{"a"}, []int64{300}, 0, false), nil, 20, `train.arrow: every labelled document has the label "a": a classifier needs at least 2 classes`, ""},
		{"one class with others unused", counts("train.arrow", abc, []int64{0, 300, 0}, 0, false), nil, 20, `has the label "b"`, ""},
		{"one multi-label label", counts("train.arrow", []string{"x"}, []int64{300}, 20, true), nil, 0, `has the label "x"`, ""},
		{"few in a class", counts("train.arrow", abc, []int64{30, 5, 40}, 0, false), nil, 20, `train.arrow: the class "b" has only 5 document(s): with fewer than 20`, ""},
		{"few: the fewest is named, the others counted", counts("train.arrow", abc, []int64{12, 5, 40}, 0, false), nil, 20, `"b" has only 5 document(s), and 1 more classes have fewer than 20 ("a" 12)`, ""},
		{"few: the way to go on", counts("train.arrow", abc, []int64{30, 5, 40}, 0, false), nil, 20, "--min-per-class 5 (MIN_PER_CLASS=5 for make classify)", ""},
		{"few: a lower minimum passes", counts("train.arrow", abc, []int64{30, 5, 40}, 0, false), nil, 5, "", "ok"},
		{"few: no minimum passes", counts("train.arrow", abc, []int64{30, 1, 40}, 0, false), nil, 0, "", "ok"},
		{"multi-label per label", counts("train.arrow", abc, []int64{30, 3, 40}, 0, true), nil, 20, `the class "b" has only 3`, ""},
		{"multi-label ok", counts("train.arrow", abc, []int64{30, 30, 40}, 0, true), counts("test.arrow", abc, []int64{1, 1, 1}, 0, true), 20, "", "3 labels (multi-label)"},
		{"label only in test", counts("train.arrow", abc, []int64{30, 25, 0}, 0, false), counts("test.arrow", abc, []int64{3, 2, 4}, 0, false), 20, `test.arrow: the label "c" (4 documents) is on no document of train.arrow`, ""},
		{"label only in test, not in train's names", train, counts("test.arrow", []string{"a", "b", "c", "d"}, []int64{3, 2, 4, 1}, 0, false), 20, `the label "d" (1 documents)`, ""},
		{"test label order", train, counts("test.arrow", []string{"c", "b", "a"}, []int64{3, 2, 4}, 0, false), 20, "tokenize TEST with --labels-from train.arrow", ""},
		{"test without labels", train, counts("test.arrow", abc, []int64{0, 0, 0}, 9, false), 20, "test.arrow: none of its 9 documents has a label, so there is nothing to score", ""},
		{"test multi-label mismatch", train, counts("test.arrow", abc, []int64{1, 1, 1}, 0, true), 20, "test.arrow: multi-label is true but false in train.arrow", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := checkLabels(tc.train, tc.test, tc.min)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want ok, got %v", err)
				}
				if !strings.Contains(sum, tc.sum) || strings.Contains(sum, "\n") {
					t.Fatalf("summary %q: want one line with %q", sum, tc.sum)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error with %q, got ok: %s", tc.want, sum)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: want one line with %q", err, tc.want)
			}
		})
	}
}

// writeTokens writes a tokens artifact whose documents have the given labels
// (-1: none); multi gives multi-label documents instead (nil: none).
func writeTokens(t *testing.T, path string, names []string, labels []int32, multi [][]int32) {
	t.Helper()
	v := &artifacts.Vocab{Tokens: []string{"xxunk", "xxpad", "xxbos", "a"}}
	w, err := artifacts.NewTokensWriter(path, &artifacts.TokensHeader{Lineage: artifacts.Lineage{Producer: "test"}, Vocab: v, LabelNames: names, MultiLabel: multi != nil})
	if err != nil {
		t.Fatal(err)
	}
	n := max(len(labels), len(multi))
	for i := range n {
		d := artifacts.Doc{ID: int64(i), Label: -1, Tokens: []int32{2, 3}}
		if multi != nil {
			d.Labels = multi[i]
		} else {
			d.Label = labels[i]
		}
		if err := w.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckLabelsCommand(t *testing.T) {
	dir := t.TempDir()
	rep := func(l int32, n int) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = l
		}
		return s
	}
	train := filepath.Join(dir, "train.arrow")
	writeTokens(t, train, []string{"neg", "pos"}, append(append(rep(0, 25), rep(1, 21)...), -1), nil)
	testOK := filepath.Join(dir, "test.arrow")
	writeTokens(t, testOK, []string{"neg", "pos"}, []int32{0, 1, 1}, nil)
	one := filepath.Join(dir, "one.arrow")
	writeTokens(t, one, []string{"pos"}, rep(0, 40), nil)
	multi := filepath.Join(dir, "multi.arrow")
	var ml [][]int32
	for i := range 30 {
		ml = append(ml, []int32{0, 1})
		if i < 3 {
			ml = append(ml, []int32{2})
		}
	}
	ml = append(ml, []int32{})
	writeTokens(t, multi, []string{"x", "y", "z"}, nil, ml)

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"train and test", []string{train, testOK}, 0, `2 classes, 46 labelled documents (fewest: "pos", 21), 1 without a label`, ""},
		{"quiet", []string{"-q", train}, 0, "", ""},
		{"a higher minimum", []string{"--min-per-class", "22", train}, 2, "", `class "pos" has only 21 document(s)`},
		{"one class", []string{one}, 2, "", `one.arrow: every labelled document has the label "pos"`},
		{"multi-label counts per label", []string{multi}, 2, "", `multi.arrow: the class "z" has only 3 document(s)`},
		{"multi-label with a lower minimum", []string{"--min-per-class", "3", multi}, 0, "3 labels (multi-label), 33 labelled documents", ""},
		{"not tokens", []string{filepath.Join(dir, "missing.arrow")}, 2, "", "missing.arrow"},
		{"too many arguments", []string{train, testOK, one}, 2, "", "check-labels wants TRAIN and optionally TEST, got 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := exec(append([]string{"check-labels"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, stdout, stderr)
			}
			if tc.stdout == "" && tc.code == 0 && stdout != "" {
				t.Fatalf("stdout %q, want nothing", stdout)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Fatalf("stdout %q, want %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("stderr %q, want %q", stderr, tc.stderr)
			}
			if tc.code == 2 && tc.stderr != "" && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("stderr %q: want one line", stderr)
			}
		})
	}
	c, err := artifacts.CountLabels(context.Background(), multi)
	if err != nil {
		t.Fatal(err)
	}
	if c.Docs != 34 || c.Unlabeled != 1 || !c.MultiLabel || fmt.Sprint(c.PerLabel) != "[30 30 3]" {
		t.Fatalf("multi.arrow counts: %+v, want 34 docs, 1 unlabelled, per label [30 30 3]", c)
	}
}
