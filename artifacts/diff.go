package artifacts

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Difference is one way in which two artifacts differ.
type Difference struct {
	Where string // "column weights, batch 3, row 17", "metadata ulmfit.producer", "param lr", ...
	A, B  string // the two values, shortened; "" where one side has none
}

// Differences are what Diff found, split into the data (the record batches:
// tensors, tokens, vocabularies, predictions) and the metadata (kind,
// producer, params, inputs and the other schema metadata).
type Differences struct {
	Data, Meta []Difference
}

// Same reports whether nothing differs.
func (d *Differences) Same() bool { return len(d.Data) == 0 && len(d.Meta) == 0 }

// Diff compares the artifacts at a and b: every record batch column by
// column, value for value, and the schema metadata key by key, with the
// params and inputs of the lineage compared one by one. Each column reports
// its first differing row only. Both files are checked as they are read
// (checksums, structure); an unreadable one is an *Error.
func Diff(a, b string) (*Differences, error) {
	fa, err := openArtifact(a, nil, nil)
	if err != nil {
		return nil, err
	}
	defer fa.close()
	fb, err := openArtifact(b, nil, nil)
	if err != nil {
		return nil, err
	}
	defer fb.close()
	d := &Differences{}
	d.Meta = diffMeta(fa.meta, fb.meta)
	if fa.schema.NumFields() != fb.schema.NumFields() || !slices.EqualFunc(fa.schema.Fields(), fb.schema.Fields(), func(x, y arrow.Field) bool {
		return x.Name == y.Name && arrow.TypeEqual(x.Type, y.Type)
	}) {
		d.Data = append(d.Data, Difference{Where: "schema", A: fieldList(fa.schema), B: fieldList(fb.schema)})
		return d, nil
	}
	if na, nb := fa.numBatches(), fb.numBatches(); na != nb {
		d.Data = append(d.Data, Difference{Where: "record batches", A: fmt.Sprint(na), B: fmt.Sprint(nb)})
		return d, nil
	}
	for i := range fa.numBatches() {
		ra, err := fa.batch(i)
		if err != nil {
			return nil, err
		}
		rb, err := fb.batch(i)
		if err != nil {
			ra.Release()
			return nil, err
		}
		d.Data = append(d.Data, diffBatch(i, ra, rb)...)
		ra.Release()
		rb.Release()
	}
	return d, nil
}

// diffBatch compares two record batches of the same schema.
func diffBatch(i int, ra, rb arrow.RecordBatch) []Difference {
	if ra.NumRows() != rb.NumRows() {
		return []Difference{{Where: fmt.Sprintf("batch %d rows", i), A: fmt.Sprint(ra.NumRows()), B: fmt.Sprint(rb.NumRows())}}
	}
	var out []Difference
	for c := range int(ra.NumCols()) {
		ca, cb := ra.Column(c), rb.Column(c)
		if array.Equal(ca, cb) {
			continue
		}
		row := 0
		for row < ca.Len() && array.SliceEqual(ca, int64(row), int64(row+1), cb, int64(row), int64(row+1)) {
			row++
		}
		out = append(out, Difference{
			Where: fmt.Sprintf("column %s, batch %d, row %d", ra.ColumnName(c), i, row),
			A:     short(ca.ValueStr(row)), B: short(cb.ValueStr(row)),
		})
	}
	return out
}

// diffMeta compares schema metadata; the lineage's params and inputs are
// compared entry by entry so that a renamed flag shows as one param.
func diffMeta(a, b map[string]string) []Difference {
	var out []Difference
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		if oka && okb && va == vb {
			continue
		}
		if oka && okb && (k == MetaParams || k == MetaInputs) {
			if sub, ok := diffJSON(k, va, vb); ok {
				out = append(out, sub...)
				continue
			}
		}
		out = append(out, Difference{Where: "metadata " + k, A: short(va), B: short(vb)})
	}
	return out
}

// diffJSON compares params (an object) or inputs (a list of {path, sha256})
// entry by entry; ok is false if either does not decode.
func diffJSON(key, a, b string) ([]Difference, bool) {
	entries := func(s string) (map[string]string, bool) {
		m := map[string]string{}
		if key == MetaParams {
			var v map[string]json.RawMessage
			if json.Unmarshal([]byte(s), &v) != nil {
				return nil, false
			}
			for k, x := range v {
				m["param "+k] = string(x)
			}
			return m, true
		}
		var v []Input
		if json.Unmarshal([]byte(s), &v) != nil {
			return nil, false
		}
		for i, in := range v {
			m[fmt.Sprintf("input %d", i)] = in.Path + " " + in.SHA256
		}
		return m, true
	}
	ma, ok1 := entries(a)
	mb, ok2 := entries(b)
	if !ok1 || !ok2 {
		return nil, false
	}
	var out []Difference
	all := maps.Clone(ma)
	maps.Copy(all, mb)
	for _, k := range slices.Sorted(maps.Keys(all)) {
		if ma[k] != mb[k] {
			out = append(out, Difference{Where: k, A: short(ma[k]), B: short(mb[k])})
		}
	}
	return out, true
}

// short keeps a value printable on one line.
func short(s string) string {
	const max = 120
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
