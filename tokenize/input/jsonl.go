package input

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

type jsonl struct {
	*file
	o      Options
	text   []string
	label  string
	line   int
	multi  bool
	peeked *Record
}

func newJSONL(path string, f *file, o Options) (*jsonl, error) {
	j := &jsonl{file: f, o: o, text: o.TextCols, label: o.LabelCol, multi: o.LabelSep != ""}
	if len(j.text) == 0 {
		j.text = []string{"text"}
	}
	// Read the first record now: it settles whether labels are lists, and an empty file
	// is an error.
	r, err := j.read(true)
	if err == io.EOF {
		return nil, errf(path, 0, "empty file (no JSON lines)")
	}
	if err != nil {
		return nil, err
	}
	j.peeked = &r
	return j, nil
}

func (j *jsonl) MultiLabel() bool { return j.multi }

func (j *jsonl) Progress() (int64, int64) { return j.progress() }

func (j *jsonl) Next() (Record, error) {
	if j.peeked != nil {
		r := *j.peeked
		j.peeked = nil
		return r, nil
	}
	return j.read(false)
}

func (j *jsonl) read(first bool) (Record, error) {
	var s string
	for {
		var err error
		s, err = j.readLine()
		if err == io.EOF {
			return Record{}, io.EOF
		}
		if err != nil {
			return Record{}, j.readErr(j.line+1, err)
		}
		j.line++
		if strings.TrimSpace(s) != "" {
			break
		}
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	err := dec.Decode(&obj)
	if err == nil && dec.More() {
		err = fmt.Errorf("more than one JSON value on the line")
	}
	if err != nil || obj == nil {
		msg := "not a JSON object"
		if err != nil {
			msg = "invalid JSON: " + err.Error()
		}
		return Record{}, errf(j.path, j.line, "%s; each line must be one JSON object", msg)
	}
	r := Record{File: j.path, Line: j.line, Fields: make([]string, len(j.text))}
	for i, name := range j.text {
		raw, ok := obj[name]
		if !ok {
			return Record{}, errf(j.path, j.line, "no field %q (--text-field); this line has: %s", name, keys(obj))
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				v = ""
			} else {
				return Record{}, errf(j.path, j.line, "field %q is not a string", name)
			}
		}
		r.Fields[i] = v
	}
	if j.o.NoLabels {
		return r, nil
	}
	name := j.label
	raw, ok := obj[name]
	if name == "" {
		raw, ok = obj["label"]
		name = "label"
		if !ok {
			if first {
				j.label = "-"
			}
			return r, nil
		}
		if first {
			j.label = "label"
		}
	} else if name == "-" {
		return r, nil
	} else if !ok {
		return Record{}, errf(j.path, j.line, "no field %q (--label-field); this line has: %s", name, keys(obj))
	}
	labels, isList, err := jsonLabels(raw)
	if err != nil {
		return Record{}, errf(j.path, j.line, "field %q: %v", name, err)
	}
	if first && isList {
		j.multi = true
	}
	switch {
	case j.multi && isList:
		r.Labels = labels
	case j.multi:
		var ls []string
		for _, l := range labels {
			if j.o.LabelSep != "" {
				ls = append(ls, splitLabels(l, j.o.LabelSep)...)
			} else if l != "" {
				ls = append(ls, l)
			}
		}
		if ls == nil {
			ls = []string{}
		}
		r.Labels = ls
	case isList:
		return Record{}, errf(j.path, j.line, "field %q is a list, but the first line's label was not (multi-label files need lists on every line)", name)
	case len(labels) == 1:
		r.Label = labels[0]
	}
	return r, nil
}

// jsonLabels reads a label value: a string, a number, null, or a list of them.
func jsonLabels(raw json.RawMessage) ([]string, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, false, err
		}
		out := []string{}
		for _, e := range list {
			v, err := scalar(e)
			if err != nil {
				return nil, false, err
			}
			if v != "" {
				out = append(out, v)
			}
		}
		return out, true, nil
	}
	v, err := scalar(raw)
	if err != nil {
		return nil, false, err
	}
	if v == "" {
		return nil, false, nil
	}
	return []string{v}, false, nil
}

func scalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", nil
	case raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return strings.TrimSpace(s), err
	case raw[0] == 't' || raw[0] == 'f':
		return string(raw), nil
	}
	if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
		return "", fmt.Errorf("want a string, a number or a list of them, got %.40s", raw)
	}
	return string(raw), nil
}

func keys(m map[string]json.RawMessage) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return nameList(ks)
}
