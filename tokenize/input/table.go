package input

import (
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
)

// table reads CSV or TSV.
type table struct {
	*file
	tsv      bool
	cr       *csv.Reader
	o        Options
	header   []string
	text     []int // column indices
	label    int   // -1 = none
	ncols    int
	line     int // TSV line number
	pending  []string
	pendLine int
	fields   []string
}

func newTable(path string, f *file, o Options, tsv bool) (*table, error) {
	t := &table{file: f, tsv: tsv, o: o, label: -1}
	if !tsv {
		t.cr = csv.NewReader(f.r)
		t.cr.ReuseRecord = false
		t.cr.FieldsPerRecord = 0
	}
	first, line, err := t.row()
	if err == io.EOF {
		return nil, errf(path, 0, "empty file (no rows)")
	}
	if err != nil {
		return nil, err
	}
	t.ncols = len(first)
	if o.NoHeader {
		t.pending, t.pendLine = first, line
		if len(o.TextCols) == 0 {
			return nil, errf(path, 0, "with --no-header, give the text columns by number, e.g. --text-col 2,3 (the first row has %d columns)", len(first))
		}
		for _, c := range o.TextCols {
			i, err := t.colNumber(c)
			if err != nil {
				return nil, err
			}
			t.text = append(t.text, i)
		}
		if o.LabelCol != "" && !o.NoLabels {
			i, err := t.colNumber(o.LabelCol)
			if err != nil {
				return nil, err
			}
			t.label = i
		}
		return t, nil
	}
	t.header = append([]string(nil), first...)
	if len(t.header) > 0 {
		t.header[0] = strings.TrimPrefix(t.header[0], "\ufeff")
	}
	cols := o.TextCols
	if len(cols) == 0 {
		cols = []string{"text"}
	}
	for _, c := range cols {
		i, err := t.colName(c, "--text-col")
		if err != nil {
			return nil, err
		}
		t.text = append(t.text, i)
	}
	if !o.NoLabels {
		switch {
		case o.LabelCol != "":
			i, err := t.colName(o.LabelCol, "--label-col")
			if err != nil {
				return nil, err
			}
			t.label = i
		default:
			for i, h := range t.header {
				if h == "label" {
					t.label = i
				}
			}
		}
	}
	return t, nil
}

func (t *table) colNumber(c string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(c))
	if err != nil || n < 1 || n > t.ncols {
		return 0, errf(t.path, 0, "column %q: with --no-header, columns are numbers from 1 to %d", c, t.ncols)
	}
	return n - 1, nil
}

func (t *table) colName(c, flag string) (int, error) {
	for i, h := range t.header {
		if h == c {
			return i, nil
		}
	}
	return 0, errf(t.path, 1, "no column %q (%s); the header has: %s", c, flag, nameList(t.header))
}

// row reads the next row and the line where it starts.
func (t *table) row() ([]string, int, error) {
	if t.tsv {
		for {
			s, err := t.readLine()
			if err == io.EOF {
				return nil, 0, io.EOF
			}
			if err != nil {
				return nil, 0, t.readErr(t.line+1, err)
			}
			t.line++
			if s == "" {
				continue
			}
			return strings.Split(s, "\t"), t.line, nil
		}
	}
	rec, err := t.cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return nil, 0, errf(t.path, pe.StartLine, "row has %d fields, the %s has %d (a stray comma or an unquoted field?)", len(rec), t.firstName(), t.ncols)
			}
			if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
				return nil, 0, errf(t.path, pe.StartLine, "malformed CSV (line %d, column %d): %v; quote fields that hold quotes and double the quotes inside", pe.Line, pe.Column, pe.Err)
			}
			return nil, 0, errf(t.path, pe.StartLine, "malformed CSV: %v", pe.Err)
		}
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		return nil, 0, t.readErr(0, err)
	}
	line, _ := t.cr.FieldPos(0)
	return rec, line, nil
}

func (t *table) firstName() string {
	if t.header != nil {
		return "header"
	}
	return "first row"
}

// MultiLabel is true when labels are split by LabelSep.
func (t *table) MultiLabel() bool { return t.o.LabelSep != "" && t.label >= 0 }

// Progress reports stored bytes read.
func (t *table) Progress() (int64, int64) { return t.progress() }

// Next returns the next row as a record.
func (t *table) Next() (Record, error) {
	var rec []string
	var line int
	if t.pending != nil {
		rec, line = t.pending, t.pendLine
		t.pending = nil
	} else {
		var err error
		rec, line, err = t.row()
		if err != nil {
			return Record{}, err
		}
	}
	if len(rec) != t.ncols {
		return Record{}, errf(t.path, line, "row has %d fields, the %s has %d", len(rec), t.firstName(), t.ncols)
	}
	r := Record{File: t.path, Line: line, Fields: make([]string, len(t.text))}
	for i, c := range t.text {
		r.Fields[i] = t.decode(rec[c])
	}
	if t.label >= 0 {
		l := strings.TrimSpace(t.decode(rec[t.label]))
		if t.o.LabelSep != "" {
			r.Labels = splitLabels(l, t.o.LabelSep)
		} else {
			r.Label = l
		}
	}
	return r, nil
}

func (t *table) decode(s string) string {
	if t.o.Latin1 {
		return latin1(s)
	}
	return s
}
