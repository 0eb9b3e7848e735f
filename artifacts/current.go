package artifacts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Current reports whether the artifact at path already is the result of a
// run with lineage want: the same Kind and Producer, a format no older than
// the one this package writes, the same Params (compared as JSON values; the
// keys listed in ignore are left out on both sides, e.g. "threads", "quiet",
// "log", "checkpoint") and the same Inputs in the same order, compared by
// SHA256 only: the same bytes under another name are the same input.
//
// It reads only path's schema metadata, not the rows. When ok is false,
// reason says why in a few words for the user: "no such file",
// "params differ: epochs 2 -> 3", "input 2 changed (train.arrow)",
// "unreadable: ...". A missing, damaged or foreign file is not an error,
// only not current; err is non-nil only when want's params cannot be
// encoded as JSON (a programming error).
func Current(path string, want Lineage, ignore ...string) (ok bool, reason string, err error) {
	wantParams, err := jsonParams(want.Params)
	if err != nil {
		return false, "", fmt.Errorf("artifacts: Current %s: encoding params: %w", path, err)
	}
	af, err := openArtifact(path, nil, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "no such file", nil
	}
	if err != nil {
		var ae *Error
		msg := err.Error()
		if errors.As(err, &ae) {
			msg = strings.TrimPrefix(strings.TrimPrefix(msg, ae.Path), ": ")
		}
		return false, "unreadable: " + msg, nil
	}
	got := af.lin
	af.close()

	if want.Kind != "" && got.Kind != want.Kind {
		return false, fmt.Sprintf("is a %s artifact, not %s", got.Kind, want.Kind), nil
	}
	if f := got.Kind.Format(); got.Format < f {
		return false, fmt.Sprintf("older format %d (now %d)", got.Format, f), nil
	}
	if got.Producer != want.Producer {
		return false, fmt.Sprintf("made by %q, not %q", got.Producer, want.Producer), nil
	}
	gotParams, err := jsonParams(got.Params)
	if err != nil { // cannot happen: they were decoded from JSON
		return false, "unreadable: " + MetaParams + ": " + err.Error(), nil
	}
	if diff := paramsDiff(gotParams, wantParams, ignore); diff != "" {
		return false, "params differ: " + diff, nil
	}
	if len(got.Inputs) != len(want.Inputs) {
		return false, fmt.Sprintf("inputs differ: %d recorded, %d now", len(got.Inputs), len(want.Inputs)), nil
	}
	for i, in := range want.Inputs {
		if got.Inputs[i].SHA256 != in.SHA256 {
			return false, fmt.Sprintf("input %d changed (%s)", i+1, filepath.Base(in.Path)), nil
		}
	}
	return true, "", nil
}

// LineageMismatch says how the lineage got, recorded in an artifact (a
// checkpoint, typically), differs from want, the lineage of the run that is
// asked to continue it: the kind, the producer, the params (compared as JSON
// values, the keys in ignore left out, e.g. the flags naming input paths) or
// the inputs, compared in order by SHA-256, e.g. "params differ: seed "7" ->
// "8"" or "input 1: train.arrow (sha256 ab12cd34ef56) was given as
// test.arrow (sha256 0f1e2d3c4b5a)". It returns "" when they agree.
func LineageMismatch(got, want Lineage, ignore ...string) string {
	if want.Kind != "" && got.Kind != want.Kind {
		return fmt.Sprintf("is a %s artifact, not %s", got.Kind, want.Kind)
	}
	if got.Producer != want.Producer {
		return fmt.Sprintf("made by %q, not %q", got.Producer, want.Producer)
	}
	gp, err1 := jsonParams(got.Params)
	wp, err2 := jsonParams(want.Params)
	if err := errors.Join(err1, err2); err != nil {
		return "params cannot be compared: " + err.Error()
	}
	if diff := paramsDiff(gp, wp, ignore); diff != "" {
		return "params differ: " + diff
	}
	if len(got.Inputs) != len(want.Inputs) {
		return fmt.Sprintf("%d inputs recorded, %d given", len(got.Inputs), len(want.Inputs))
	}
	for i, in := range want.Inputs {
		g := got.Inputs[i]
		if g.SHA256 == in.SHA256 {
			continue
		}
		if g.Path == in.Path {
			return fmt.Sprintf("input %d: %s has changed (sha256 %.12s, now %.12s)", i+1, in.Path, g.SHA256, in.SHA256)
		}
		return fmt.Sprintf("input %d: %s (sha256 %.12s) was given as %s (sha256 %.12s)", i+1, g.Path, g.SHA256, in.Path, in.SHA256)
	}
	return ""
}

// jsonParams round-trips params through JSON, so that values compare as
// they would be stored (int 3 and float64 3 are the same number).
func jsonParams(p map[string]any) (map[string]any, error) {
	if p == nil {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// paramsDiff describes the keys (outside ignore) whose values differ between
// the recorded params old and the wanted params now, as
// "epochs 2 -> 3, lr (none) -> 0.01"; "" when they agree. At most three keys
// are named.
func paramsDiff(old, now map[string]any, ignore []string) string {
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	var diffs []string
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if slices.Contains(ignore, k) {
			continue
		}
		a, inOld := old[k]
		b, inNow := now[k]
		if inOld == inNow && reflect.DeepEqual(a, b) {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s %s -> %s", k, showValue(a, inOld), showValue(b, inNow)))
	}
	if len(diffs) > 3 {
		diffs = append(diffs[:3], fmt.Sprintf("and %d more", len(diffs)-3))
	}
	return strings.Join(diffs, ", ")
}

// showValue renders a param value as compact JSON, "(none)" when absent.
func showValue(v any, present bool) string {
	if !present {
		return "(none)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}
