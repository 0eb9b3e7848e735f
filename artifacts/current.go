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
