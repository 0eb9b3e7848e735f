package input

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// readAll opens path and returns all its records.
func readAll(t *testing.T, path string, o Options) ([]Record, Source) {
	t.Helper()
	s, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer s.Close()
	var out []Record
	for {
		r, err := s.Next()
		if err == io.EOF {
			return out, s
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, r)
	}
}

// openErr returns the error of opening and reading path to the end.
func openErr(path string, o Options) error {
	s, err := Open(path, o)
	if err != nil {
		return err
	}
	defer s.Close()
	for {
		if _, err := s.Next(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCSVHeader(t *testing.T) {
	recs, _ := readAll(t, "testdata/small.csv", Options{})
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	if recs[1].Fields[0] != `He said "no" twice.` || recs[1].Label != "neg" || recs[1].Line != 3 {
		t.Errorf("record 2: %+v", recs[1])
	}
	if recs[2].Fields[0] != "line one\nline two" || recs[2].Line != 4 {
		t.Errorf("record 3: %+v", recs[2])
	}
	recs, _ = readAll(t, "testdata/small.csv", Options{TextCols: []string{"title", "text"}, NoLabels: true})
	if !reflect.DeepEqual(recs[0].Fields, []string{"Good", "A fine film, truly."}) || recs[0].Label != "" {
		t.Errorf("two columns: %+v", recs[0])
	}
}

func TestCSVHeaderless(t *testing.T) {
	recs, _ := readAll(t, "testdata/agnews.csv", Options{NoHeader: true, LabelCol: "1", TextCols: []string{"2", "3"}})
	if len(recs) != 2 || recs[1].Label != "2" || !reflect.DeepEqual(recs[1].Fields, []string{"Title two", "Desc, two"}) {
		t.Errorf("%+v", recs)
	}
}

func TestCSVMultiLabel(t *testing.T) {
	recs, s := readAll(t, "testdata/reuters.csv", Options{TextCols: []string{"title", "text"}, LabelSep: ";"})
	if !s.MultiLabel() {
		t.Error("not multi-label")
	}
	if !reflect.DeepEqual(recs[0].Labels, []string{"grain", "wheat"}) || len(recs[1].Labels) != 0 || recs[1].Labels == nil {
		t.Errorf("labels %q %q", recs[0].Labels, recs[1].Labels)
	}
}

func TestTSV(t *testing.T) {
	recs, _ := readAll(t, "testdata/small.tsv", Options{})
	if len(recs) != 2 || recs[1].Fields[0] != `bad "stuff` || recs[1].Label != "neg" {
		t.Errorf("%+v", recs)
	}
}

func TestJSONL(t *testing.T) {
	recs, s := readAll(t, "testdata/small.jsonl", Options{})
	if s.MultiLabel() || len(recs) != 3 {
		t.Fatalf("%+v", recs)
	}
	if recs[1].Label != "3" || recs[1].Line != 3 || recs[2].Label != "" {
		t.Errorf("%+v", recs)
	}
	recs, s = readAll(t, "testdata/multi.jsonl", Options{TextCols: []string{"body"}, LabelCol: "topics"})
	if !s.MultiLabel() || !reflect.DeepEqual(recs[0].Labels, []string{"grain", "wheat"}) || len(recs[1].Labels) != 0 {
		t.Errorf("%+v", recs)
	}
}

func TestLines(t *testing.T) {
	recs, _ := readAll(t, "testdata/lines.txt", Options{})
	if len(recs) != 3 || recs[2].Fields[0] != "third line" || recs[2].Line != 3 {
		t.Errorf("%+v", recs)
	}
}

func TestFolder(t *testing.T) {
	recs, _ := readAll(t, "testdata/aclimdb", Options{})
	if len(recs) != 3 {
		t.Fatalf("%d records (unsup and top-level files must be skipped)", len(recs))
	}
	if recs[0].Label != "neg" || recs[1].Label != "pos" || recs[2].Fields[0] != "Loved it.<br /><br />Really." {
		t.Errorf("%+v", recs)
	}
	recs, _ = readAll(t, "testdata/aclimdb", Options{Unsup: true})
	if len(recs) != 4 || recs[3].Label != "" || recs[3].Fields[0] != "Unlabelled text." {
		t.Errorf("with unsup: %+v", recs)
	}
}

// TestCompressed reads the same CSV plain, gzip- and zstd-compressed.
func TestCompressed(t *testing.T) {
	raw, err := os.ReadFile("testdata/small.csv")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gzPath := filepath.Join(dir, "small.csv.gz")
	zstPath := filepath.Join(dir, "small.csv.zst")
	f, _ := os.Create(gzPath)
	gw := gzip.NewWriter(f)
	gw.Write(raw)
	gw.Close()
	f.Close()
	f, _ = os.Create(zstPath)
	zw, _ := zstd.NewWriter(f)
	zw.Write(raw)
	zw.Close()
	f.Close()
	want, _ := readAll(t, "testdata/small.csv", Options{})
	for _, p := range []string{gzPath, zstPath} {
		got, s := readAll(t, p, Options{})
		for i := range got {
			got[i].File = want[i].File
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v", p, got)
		}
		if done, total := s.Progress(); done != total || total == 0 {
			t.Errorf("%s: progress %d/%d at the end", p, done, total)
		}
	}
}

func TestRealTREC(t *testing.T) {
	recs, _ := readAll(t, "../../data/trec/train_5500.label.zst", Options{})
	if len(recs) != 5452 {
		t.Fatalf("%d records", len(recs))
	}
	counts := map[string]int{}
	for _, r := range recs {
		counts[r.Label]++
	}
	want := map[string]int{"ABBR": 86, "DESC": 1162, "ENTY": 1250, "HUM": 1223, "LOC": 835, "NUM": 896}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("coarse counts %v, want %v", counts, want)
	}
	if !strings.Contains(recs[65].Fields[0], "sisterðcity") {
		t.Errorf("line 66 not decoded from ISO-8859-1: %q", recs[65].Fields[0])
	}
	fine, _ := readAll(t, "../../data/trec/TREC_10.label.zst", Options{Fine: true})
	labels := map[string]bool{}
	for _, r := range fine {
		labels[r.Label] = true
	}
	if len(fine) != 500 || !labels["DESC:manner"] {
		t.Errorf("fine: %d records, labels %d", len(fine), len(labels))
	}
	// the CSV copy agrees with the original file
	csvRecs, _ := readAll(t, "../../data/trec/train.csv.zst", Options{})
	if len(csvRecs) != len(recs) || csvRecs[65].Fields[0] != recs[65].Fields[0] || csvRecs[65].Label != recs[65].Label {
		t.Errorf("train.csv row 66 %+v vs label file %+v", csvRecs[65], recs[65])
	}
}

func TestRealWikiText(t *testing.T) {
	recs, _ := readAll(t, "../../data/wikitext103/valid.tokens.zst", Options{})
	if len(recs) != 60 { // 60 lines " = Title = " in wiki.valid.tokens
		t.Fatalf("%d articles, want 60", len(recs))
	}
	first := recs[0].Fields[0]
	if !strings.HasPrefix(first, "= Homarus gammarus =\n") || recs[0].Line != 2 {
		t.Errorf("first article starts %q at line %d", first[:40], recs[0].Line)
	}
	words := 0
	for _, r := range recs {
		words += len(strings.Fields(r.Fields[0]))
		if !IsWikiTitle(strings.SplitN(r.Fields[0], "\n", 2)[0]) {
			t.Errorf("article at line %d does not start with a title", r.Line)
		}
	}
	if words != 213886 { // the published word count of the valid split
		t.Errorf("%d words, want 213886", words)
	}
}

func TestBadInputs(t *testing.T) {
	tests := []struct {
		name, file, content string
		o                   Options
		want                []string // substrings of the error
	}{
		{"empty csv", "e.csv", "", Options{}, []string{"e.csv", "empty"}},
		{"empty txt", "e.txt", "", Options{}, []string{"empty"}},
		{"empty jsonl", "e.jsonl", "\n\n", Options{}, []string{"empty"}},
		{"missing column", "m.csv", "label,body\na,b\n", Options{}, []string{`no column "text"`, `the header has: "label", "body"`}},
		{"missing label column", "m.csv", "text\nb\n", Options{LabelCol: "y"}, []string{`no column "y"`}},
		{"ragged row", "r.csv", "label,text\na,b\nc,d,e\n", Options{}, []string{"r.csv:3", "3 fields", "header has 2"}},
		{"unbalanced quote", "q.csv", "label,text\na,\"open\nb,c\n", Options{}, []string{"q.csv:2", "malformed CSV"}},
		{"bare quote", "q.csv", "label,text\na,b\"c\n", Options{}, []string{"q.csv:2", "quote"}},
		{"headerless by name", "h.csv", "1,a\n", Options{NoHeader: true, TextCols: []string{"text"}}, []string{"numbers from 1 to 2"}},
		{"headerless no cols", "h.csv", "1,a\n", Options{NoHeader: true}, []string{"--text-col"}},
		{"tsv ragged", "r.tsv", "label\ttext\na\tb\tc\n", Options{}, []string{"r.tsv:2", "3 fields"}},
		{"bad json", "b.jsonl", "{\"text\":\"a\"}\n{oops\n", Options{}, []string{"b.jsonl:2", "invalid JSON"}},
		{"json not object", "b.jsonl", "[1,2]\n", Options{}, []string{"b.jsonl:1"}},
		{"json trailing value", "b.jsonl", "{\"text\":\"a\"} {\"text\":\"b\"}\n", Options{}, []string{"b.jsonl:1", "more than one"}},
		{"json missing field", "b.jsonl", "{\"body\":\"a\"}\n", Options{}, []string{`no field "text"`, `this line has: "body"`}},
		{"huge header", "h.csv", "label,\"" + strings.Repeat("x", 1<<20) + "\"\npos,good\n", Options{}, []string{`no column "text"`, `the header has: "label", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"... (1048576 bytes)`}},
		{"line break in header", "h.csv", "label,\"a\nb\"\npos,good\n", Options{}, []string{`the header has: "label", "a\nb"`}},
		{"many columns", "h.csv", "c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12\n1,2,3,4,5,6,7,8,9,10,11,12\n", Options{}, []string{`"c9", "c10", ... (2 more)`}},
		{"json key with line break", "b.jsonl", "{\"t\\nx\":\"a\", \"\\u00e9\":1}\n", Options{}, []string{`this line has: "t\nx", "é"`}},
		{"json label list midway", "b.jsonl", "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\"label\":[\"x\"]}\n", Options{}, []string{"b.jsonl:2", "list"}},
		{"trec bad line", "t.label", "DESC:def what is it\nnolabel\n", Options{}, []string{"t.label:2", "COARSE:fine"}},
		{"unknown extension", "x.foo", "a", Options{}, []string{"--format"}},
		{"bad zstd", "x.csv.zst", "not zstd at all", Options{}, []string{"x.csv.zst"}},
		{"bad gzip", "x.csv.gz", "not gzip at all", Options{}, []string{"x.csv.gz", "gzip"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, tc.file, tc.content)
			err := openErr(p, tc.o)
			if err == nil {
				t.Fatal("no error")
			}
			var ie *Error
			if !errors.As(err, &ie) {
				t.Errorf("error %v is not an *input.Error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || len(msg) > 600 {
				t.Errorf("error is not one short line (%d bytes): %.300q", len(msg), msg)
			}
		})
	}
}

func TestDetectFormat(t *testing.T) {
	cases := map[string]string{"a.csv": CSV, "a.CSV.zst": CSV, "b.tsv.gz": TSV, "c.jsonl": JSONL,
		"d.txt": Lines, "wiki.valid.tokens": Wiki, "TREC_10.label.zst": TREC}
	dir := t.TempDir()
	for name, want := range cases {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("x"), 0o644)
		got, err := DetectFormat(p)
		if err != nil || got != want {
			t.Errorf("DetectFormat(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if got, _ := DetectFormat(dir); got != Folder {
		t.Errorf("folder detected as %q", got)
	}
}

func TestByteOrderMark(t *testing.T) {
	for _, c := range []struct{ name, content, want string }{
		{"b.csv", "\ufefftext,label\nhello,a\n", "hello"},
		{"b.txt", "\ufeffhello\n", "hello"},
		{"b.jsonl", "\ufeff{\"text\":\"hello\"}\n", "hello"},
	} {
		recs, _ := readAll(t, write(t, c.name, c.content), Options{})
		if len(recs) != 1 || recs[0].Fields[0] != c.want {
			t.Errorf("%s: %+v", c.name, recs)
		}
	}
}

func TestFolderCompressed(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a"), 0o755)
	f, _ := os.Create(filepath.Join(dir, "a", "1.txt.gz"))
	gw := gzip.NewWriter(f)
	gw.Write([]byte("zipped text"))
	gw.Close()
	f.Close()
	os.WriteFile(filepath.Join(dir, "a", "2.txt"), []byte("plain text"), 0o644)
	os.WriteFile(filepath.Join(dir, "a", "3.dat"), []byte("not text"), 0o644)
	recs, _ := readAll(t, dir, Options{})
	if len(recs) != 2 || recs[0].Fields[0] != "zipped text" || recs[1].Fields[0] != "plain text" || recs[0].Label != "a" {
		t.Errorf("%+v", recs)
	}
}
