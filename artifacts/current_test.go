package artifacts

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v.arrow")
	rec := Lineage{Kind: KindVocab, Producer: "tokenize", Params: map[string]any{"epochs": 2, "lr": 0.01, "threads": 4, "name": "x"},
		Inputs: []Input{{Path: "a.csv", SHA256: "aa"}, {Path: "b.csv", SHA256: "bb"}}}
	if err := WriteVocab(path, rec, testVocab()); err != nil {
		t.Fatal(err)
	}
	with := func(f func(l *Lineage)) Lineage {
		l := rec
		l.Params = map[string]any{}
		for k, v := range rec.Params {
			l.Params[k] = v
		}
		l.Inputs = append([]Input(nil), rec.Inputs...)
		f(&l)
		return l
	}
	tests := []struct {
		name   string
		path   string
		want   Lineage
		ignore []string
		ok     bool
		reason string
	}{
		{"same", path, rec, nil, true, ""},
		{"float vs int", path, with(func(l *Lineage) { l.Params["epochs"] = 2.0 }), nil, true, ""},
		{"inputs renamed", path, with(func(l *Lineage) { l.Inputs[0].Path = "elsewhere/a2.csv" }), nil, true, ""},
		{"ignored key differs", path, with(func(l *Lineage) { l.Params["threads"] = 1 }), []string{"threads"}, true, ""},
		{"ignored key only now", path, with(func(l *Lineage) { l.Params["quiet"] = true }), []string{"quiet", "threads"}, true, ""},
		{"ignored key only then", path, with(func(l *Lineage) { delete(l.Params, "threads") }), []string{"threads"}, true, ""},
		{"param changed", path, with(func(l *Lineage) { l.Params["epochs"] = 3 }), nil, false, "params differ: epochs 2 -> 3"},
		{"not ignored", path, with(func(l *Lineage) { l.Params["threads"] = 1 }), []string{"quiet"}, false, "params differ: threads 4 -> 1"},
		{"param added", path, with(func(l *Lineage) { l.Params["wd"] = 0.1 }), nil, false, "params differ: wd (none) -> 0.1"},
		{"param removed", path, with(func(l *Lineage) { delete(l.Params, "name") }), nil, false, `params differ: name "x" -> (none)`},
		{"two params", path, with(func(l *Lineage) { l.Params["epochs"] = 3; l.Params["lr"] = 0.02 }), nil, false, "params differ: epochs 2 -> 3, lr 0.01 -> 0.02"},
		{"input changed", path, with(func(l *Lineage) { l.Inputs[1].SHA256 = "cc" }), nil, false, "input 2 changed (b.csv)"},
		{"input added", path, with(func(l *Lineage) { l.Inputs = append(l.Inputs, Input{Path: "c", SHA256: "cc"}) }), nil, false, "inputs differ: 2 recorded, 3 now"},
		{"inputs swapped", path, with(func(l *Lineage) { l.Inputs[0], l.Inputs[1] = l.Inputs[1], l.Inputs[0] }), nil, false, "input 1 changed (b.csv)"},
		{"producer", path, with(func(l *Lineage) { l.Producer = "other" }), nil, false, `made by "tokenize", not "other"`},
		{"kind", path, with(func(l *Lineage) { l.Kind = KindLM }), nil, false, "is a vocab artifact, not lm"},
		{"missing", filepath.Join(dir, "nope.arrow"), rec, nil, false, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason, err := Current(tt.path, tt.want, tt.ignore...)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("Current = %v, %q; want %v, %q", ok, reason, tt.ok, tt.reason)
			}
		})
	}
}

func TestCurrentUnreadable(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.arrow")
	if err := os.WriteFile(junk, []byte("hello, not arrow"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{junk, dir} {
		ok, reason, err := Current(p, Lineage{Kind: KindVocab})
		if err != nil || ok || !strings.HasPrefix(reason, "unreadable: ") || strings.Contains(reason, p) {
			t.Errorf("Current(%s) = %v, %q, %v; want not ok, unreadable: ... without the path", p, ok, reason, err)
		}
	}
	// Params that cannot be JSON: a programming error.
	if _, _, err := Current(junk, Lineage{Params: map[string]any{"f": func() {}}}); err == nil {
		t.Error("unencodable params: no error")
	}
}

func TestCurrentManyDiffs(t *testing.T) {
	d := paramsDiff(map[string]any{"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "e": 1.0}, map[string]any{"a": 2.0, "b": 2.0, "c": 2.0, "d": 2.0, "e": 2.0}, nil)
	if d != "a 1 -> 2, b 1 -> 2, c 1 -> 2, and 2 more" {
		t.Errorf("paramsDiff = %q", d)
	}
}

func TestLineageMismatch(t *testing.T) {
	base := Lineage{Kind: KindClassifier, Producer: "clftune", Params: map[string]any{"seed": "7", "data": "train.arrow", "epochs": 3},
		Inputs: []Input{{Path: "train.arrow", SHA256: "ab12cd34ef56aa"}, {Path: "lm.arrow", SHA256: "99"}}}
	with := func(f func(l *Lineage)) Lineage {
		l := base
		l.Params = maps.Clone(base.Params)
		l.Inputs = slices.Clone(base.Inputs)
		f(&l)
		return l
	}
	for _, c := range []struct {
		name string
		want Lineage
		msg  string
	}{
		{"same", with(func(l *Lineage) {}), ""},
		{"epochs as float", with(func(l *Lineage) { l.Params["epochs"] = 3.0 }), ""},
		{"renamed input, same bytes", with(func(l *Lineage) { l.Inputs[0].Path = "copy.arrow"; l.Params["data"] = "copy.arrow" }), ""},
		{"seed", with(func(l *Lineage) { l.Params["seed"] = "8" }), `params differ: seed "7" -> "8"`},
		{"other data", with(func(l *Lineage) {
			l.Inputs[0] = Input{Path: "test.arrow", SHA256: "0f1e2d3c4b5a6978"}
			l.Params["data"] = "test.arrow"
		}),
			"input 1: train.arrow (sha256 ab12cd34ef56) was given as test.arrow (sha256 0f1e2d3c4b5a)"},
		{"changed file", with(func(l *Lineage) { l.Inputs[1].SHA256 = "77" }), "input 2: lm.arrow has changed (sha256 99, now 77)"},
		{"fewer inputs", with(func(l *Lineage) { l.Inputs = l.Inputs[:1] }), "2 inputs recorded, 1 given"},
		{"producer", with(func(l *Lineage) { l.Producer = "lmtune" }), `made by "clftune", not "lmtune"`},
		{"kind", with(func(l *Lineage) { l.Kind = KindLM }), "is a classifier artifact, not lm"},
	} {
		if got := LineageMismatch(base, c.want, "data"); got != c.msg {
			t.Errorf("%s: %q, want %q", c.name, got, c.msg)
		}
	}
}
