package input

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fuzz targets for the input readers. Each writes the fuzzed bytes to a file and reads it
// to the end the way the tokenize stage does. Whatever the bytes, a reader must not panic,
// must not loop forever, and must fail only with an *Error that names the file (so the
// stage can print one line and exit 2). Records must name their file and carry increasing
// 1-based line numbers. The seed corpora are in testdata/fuzz/<target>; plain `go test`
// runs them as regression tests. Run a target with e.g.
//
//	go test -run '^$' -fuzz '^FuzzCSV$' -fuzztime 10s -parallel 1 ./input

// fuzzFlags turns a fuzzed byte into reader options.
func fuzzFlags(flags uint8) Options {
	o := Options{}
	if flags&1 != 0 {
		o.NoLabels = true
	}
	if flags&2 != 0 {
		o.LabelSep = ";"
	}
	if flags&4 != 0 {
		o.Latin1 = true
	}
	if flags&8 != 0 {
		o.Fine = true
	}
	return o
}

// readFuzz writes data to a file called name, opens it with o and reads every record.
// It fails the test on a broken invariant and returns the records and the final error
// (nil at a clean end of file). dir is the fuzz target's f.TempDir(), reused by every
// input of one worker (a new folder per input would dominate the run time).
func readFuzz(t *testing.T, dir, name string, data []byte, o Options) ([]Record, error) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, o)
	if err != nil {
		checkInputErr(t, path, err)
		return nil, err
	}
	defer s.Close()
	var recs []Record
	// No reader may yield more records than the file has bytes (plus one for a last
	// record without a line end): anything else is a loop that does not advance.
	limit := len(data) + 1
	last := 0
	for {
		r, err := s.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			checkInputErr(t, path, err)
			return recs, err
		}
		if r.File != path {
			t.Fatalf("record names file %q, want %q", r.File, path)
		}
		if r.Line < 1 || r.Line <= last {
			t.Fatalf("record %d: line %d after line %d (want increasing 1-based lines)", len(recs)+1, r.Line, last)
		}
		last = r.Line
		if s.MultiLabel() && r.Label != "" {
			t.Fatalf("multi-label source gave a single label %q", r.Label)
		}
		if !s.MultiLabel() && r.Labels != nil {
			t.Fatalf("single-label source gave labels %q", r.Labels)
		}
		if o.NoLabels && (r.Label != "" || r.Labels != nil) {
			t.Fatalf("labels %q/%q read with NoLabels", r.Label, r.Labels)
		}
		recs = append(recs, r)
		if len(recs) > limit {
			t.Fatalf("more than %d records from %d bytes", limit, len(data))
		}
	}
}

// checkInputErr checks that a reader error is an *Error naming the file on one line.
func checkInputErr(t *testing.T, path string, err error) {
	t.Helper()
	var ie *Error
	if !errors.As(err, &ie) {
		t.Fatalf("error is %T, not *input.Error: %v", err, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, path) {
		t.Fatalf("error does not start with the file name: %q", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Fatalf("error message has a line break: %q", msg)
	}
	if len(msg) > 1000 {
		t.Fatalf("error message of %d bytes: %.200q", len(msg), msg)
	}
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("label,text\npos,good\nneg,bad\n"), uint8(0))
	f.Add([]byte("\ufefflabel,text\r\npos,\"a, \"\"quoted\"\" one\"\r\n"), uint8(2))
	f.Add([]byte("label,text\npos,\"unbalanced\nneg,x\n"), uint8(0))
	f.Add([]byte("label,text\npos\nneg,a,b\n"), uint8(0))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		o := fuzzFlags(flags)
		if flags&16 != 0 {
			o.NoHeader = true
			o.TextCols = []string{"2"}
			o.LabelCol = "1"
		}
		recs, err := readFuzz(t, dir, "f.csv", data, o)
		if err == nil {
			for _, r := range recs {
				if len(r.Fields) != 1 {
					t.Fatalf("%d fields, want 1 (--text-col)", len(r.Fields))
				}
			}
		}
	})
}

func FuzzTSV(f *testing.F) {
	f.Add([]byte("label\ttext\npos\tgood\n\nneg\tbad \"x\n"), uint8(0))
	f.Add([]byte("text\n\t\n"), uint8(1))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		readFuzz(t, dir, "f.tsv", data, fuzzFlags(flags))
	})
}

func FuzzJSONL(f *testing.F) {
	f.Add([]byte(`{"text": "a", "label": "x"}`+"\n\n"+`{"text": "b", "label": 3}`), uint8(0))
	f.Add([]byte(`{"text": "a", "label": ["x", "y"]}`+"\n"+`{"text": null, "label": []}`), uint8(0))
	f.Add([]byte(`{"text": "a", "label": "x;y"}`), uint8(2))
	f.Add([]byte(`{"text": 1}`+"\n"+`[1,2]`), uint8(0))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		readFuzz(t, dir, "f.jsonl", data, fuzzFlags(flags))
	})
}

func FuzzLines(f *testing.F) {
	f.Add([]byte("one\r\ntwo\n\nthree"), uint8(0))
	f.Add([]byte("\xff\xfe latin \xe9\n"), uint8(4))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		recs, err := readFuzz(t, dir, "f.txt", data, fuzzFlags(flags))
		if len(data) == 0 {
			if err == nil {
				t.Fatal("an empty file must be an error")
			}
			return
		}
		if err != nil {
			t.Fatalf("a plain text file cannot be malformed, got %v", err)
		}
		if want := bytes.Count(data, []byte("\n")); len(recs) != want && len(recs) != want+1 {
			t.Fatalf("%d records from %d line ends", len(recs), want)
		}
	})
}

func FuzzWiki(f *testing.F) {
	f.Add([]byte(" = Title = \n\n text one \n = = Sub = = \n more \n = Next = \n two\n"), uint8(0))
	f.Add([]byte("no title\n = = = \n"), uint8(0))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		recs, err := readFuzz(t, dir, "f.tokens", data, fuzzFlags(flags))
		for _, r := range recs {
			if r.Fields[0] == "" {
				t.Fatalf("empty article at line %d", r.Line)
			}
		}
		_ = err
	})
}

func FuzzTREC(f *testing.F) {
	f.Add([]byte("DESC:manner How did serfdom develop ?\nENTY:cremat What films \xe9 ?\n"), uint8(0))
	f.Add([]byte("NUM:date When ?\n\nbad line\n"), uint8(8))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		o := fuzzFlags(flags)
		recs, _ := readFuzz(t, dir, "f.label", data, o)
		for _, r := range recs {
			if !o.NoLabels && r.Label == "" {
				t.Fatalf("TREC record without a label at line %d", r.Line)
			}
		}
	})
}

// FuzzCompressed feeds arbitrary bytes to the zstd and gzip paths: corrupt compressed
// input must be a clear error, never a panic or a runaway allocation.
func FuzzCompressed(f *testing.F) {
	f.Add([]byte("\x28\xb5\x2f\xfd\x04\x58\x19\x00\x00text\npos\n"), false)
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"), true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		name := "f.txt.zst"
		if gz {
			name = "f.txt.gz"
		}
		readFuzz(t, dir, name, data, Options{})
	})
}

// FuzzCSVRoundTrip writes a two-column CSV with encoding/csv and checks that the reader
// gives back exactly what was written (labels are trimmed, as documented).
func FuzzCSVRoundTrip(f *testing.F) {
	f.Add("pos", "a \"quoted\", comma\nand a newline", true)
	f.Add(" neg ", "", false)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, label, text string, bom bool) {
		if strings.ContainsRune(label+text, '\r') {
			t.Skip("encoding/csv turns \\r\\n inside quoted fields into \\n")
		}
		var b bytes.Buffer
		if bom {
			b.WriteString("\ufeff")
		}
		w := csv.NewWriter(&b)
		w.Write([]string{"label", "text"})
		w.Write([]string{label, text})
		w.Flush()
		recs, err := readFuzz(t, dir, "rt.csv", b.Bytes(), Options{})
		if err != nil {
			// encoding/csv writes fields it cannot round-trip itself (a lone `"` at
			// the start of an unquoted field, for instance); the reader's error is
			// checked by readFuzz, which is all that can be asked.
			return
		}
		if len(recs) != 1 {
			t.Fatalf("%d records, want 1", len(recs))
		}
		if recs[0].Fields[0] != text {
			t.Fatalf("text %q, want %q", recs[0].Fields[0], text)
		}
		if recs[0].Label != strings.TrimSpace(label) {
			t.Fatalf("label %q, want %q", recs[0].Label, strings.TrimSpace(label))
		}
	})
}

// FuzzJSONLRoundTrip marshals a record with encoding/json and checks it reads back.
func FuzzJSONLRoundTrip(f *testing.F) {
	f.Add("pos", "text with \"quotes\" and \u2028 separators\n")
	f.Add("", "\xff invalid")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, label, text string) {
		line, err := json.Marshal(map[string]string{"text": text, "label": label})
		if err != nil {
			t.Skip()
		}
		var want map[string]string
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		recs, err := readFuzz(t, dir, "rt.jsonl", append(line, '\n'), Options{})
		if err != nil {
			t.Fatalf("valid JSON line rejected: %v", err)
		}
		if len(recs) != 1 {
			t.Fatalf("%d records, want 1", len(recs))
		}
		if recs[0].Fields[0] != want["text"] {
			t.Fatalf("text %q, want %q", recs[0].Fields[0], want["text"])
		}
		if recs[0].Label != strings.TrimSpace(want["label"]) {
			t.Fatalf("label %q, want %q", recs[0].Label, strings.TrimSpace(want["label"]))
		}
	})
}
