package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Curves are the training curves read from one or more JSONL metric logs,
// grouped into the three plots of the report.
type Curves struct {
	XLabel string
	Loss   []Series // fields whose name contains "loss"
	Score  []Series // fields containing "error", "acc" or "f1"
	LR     []Series // fields named lr or starting with "lr"
}

// xKeys are the fields used as the x axis, in order of preference; they are
// never plotted as curves themselves.
var xKeys = []string{"step", "iter", "epoch"}

// skipKeys are numeric fields that are not curves.
var skipKeys = map[string]bool{"time": true, "elapsed": true, "elapsed_s": true, "tokens_per_s": true,
	"tok_s": true, "tokens": true, "tokens_per_sec": true, "seq_len": true, "docs_per_s": true, "seconds": true, "group": true, "groups": true, "rss": true, "peak_rss": true, "batch": true}

// ReadCurves parses JSONL logs (one JSON object per line) and collects every
// numeric field as a curve over the first x field present in each record
// (step, iter or epoch; else the line number). Fields of a nested object
// (stage/train's "extra") are read as top-level fields; of an array (the
// per-group "lr"), the last element is plotted. Records that carry a string
// "event", "type", "kind" or "phase" field get it as a series prefix, so
// step-level and epoch-level lines do not mix. With several logs the file
// name (without extension) prefixes the series too.
func ReadCurves(paths []string) (*Curves, error) {
	type key struct{ name, x string }
	all := map[key]*Series{}
	xUsed := map[string]bool{}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		prefix := ""
		if len(paths) > 1 {
			prefix = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + ":"
		}
		err = readJSONL(f, path, func(line int, rec map[string]any) {
			x, xname := float64(line), "line"
			for _, k := range xKeys {
				if v, ok := rec[k].(float64); ok {
					x, xname = v, k
					break
				}
			}
			xUsed[xname] = true
			tag := ""
			for _, k := range []string{"event", "type", "kind", "phase"} {
				if s, ok := rec[k].(string); ok && s != "" {
					tag = s + "."
					break
				}
			}
			flat := map[string]any{}
			for field, v := range rec {
				switch v := v.(type) {
				case map[string]any: // e.g. stage/train's "extra"
					for k, e := range v {
						flat[k] = e
					}
				case []any: // per-group values such as lr: plot the last group's
					if len(v) > 0 {
						flat[field] = v[len(v)-1]
					}
				default:
					flat[field] = v
				}
			}
			for field, v := range flat {
				fv, ok := v.(float64)
				if !ok || skipKeys[field] || slicesContains(xKeys, field) || math.IsNaN(fv) || math.IsInf(fv, 0) {
					continue
				}
				k := key{prefix + tag + field, xname}
				s := all[k]
				if s == nil {
					s = &Series{Name: k.name}
					all[k] = s
				}
				s.X = append(s.X, x)
				s.Y = append(s.Y, fv)
			}
		})
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	c := &Curves{}
	var xs []string
	for x := range xUsed {
		xs = append(xs, x)
	}
	sort.Strings(xs)
	c.XLabel = strings.Join(xs, " / ")
	var keys []key
	for k := range all {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].name != keys[b].name {
			return keys[a].name < keys[b].name
		}
		return keys[a].x < keys[b].x
	})
	for _, k := range keys {
		s := *all[k]
		field := strings.ToLower(s.Name[strings.LastIndex(s.Name, ".")+1:])
		switch {
		case strings.Contains(field, "loss"):
			c.Loss = append(c.Loss, s)
		case strings.Contains(field, "error") || strings.Contains(field, "acc") || strings.Contains(field, "f1"):
			c.Score = append(c.Score, s)
		case field == "lr" || strings.HasPrefix(field, "lr"):
			c.LR = append(c.LR, s)
		}
	}
	return c, nil
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func readJSONL(r io.Reader, path string, fn func(line int, rec map[string]any)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		b := strings.TrimSpace(sc.Text())
		if b == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(b), &rec); err != nil {
			return fmt.Errorf("%s: line %d: not a JSON object: %v", path, line, err)
		}
		fn(line, rec)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
