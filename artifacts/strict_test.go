package artifacts

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// rawArtifact writes an Arrow file with the given fields and metadata and
// one batch built by build, through the package's own writer (so it has
// valid checksums): the way to make well-formed but wrong artifacts.
func rawArtifact(t *testing.T, path string, fields []arrow.Field, meta map[string]string, build func(mem memory.Allocator) []arrow.Array) {
	t.Helper()
	w, err := newArrowWriter(path, fields, meta)
	if err != nil {
		t.Fatal(err)
	}
	if build != nil {
		if err := w.write(build(w.mem)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
}

func tokensMeta(t *testing.T, format string) map[string]string {
	meta, err := lineageMeta(KindTokens, Lineage{})
	if err != nil {
		t.Fatal(err)
	}
	if err := putVocab(meta, testVocab()); err != nil {
		t.Fatal(err)
	}
	meta[MetaFormat] = format
	return meta
}

// readAny reads path with the reader for want and returns the error.
func readAny(path string, want Kind) (any, error) {
	switch want {
	case KindTokens:
		h, docs, err := ReadTokens(path)
		return struct {
			H    *TokensHeader
			Docs []Doc
		}{h, docs}, err
	case KindVocab:
		v, lin, err := ReadVocab(path)
		return struct {
			V   *Vocab
			Lin Lineage
		}{v, lin}, err
	case KindPredictions:
		return ReadPredictions(path)
	default:
		return ReadModel(path, want)
	}
}

func TestStrictReads(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.arrow")
	writeTestTokens(t, good, testDocs(50))
	goodBytes, _ := os.ReadFile(good)

	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := append([]byte(nil), goodBytes...)
	flipped[len(flipped)/2] ^= 0x10 // lands in a compressed body

	newer := filepath.Join(dir, "newer.arrow")
	rawArtifact(t, newer, tokensFields(), tokensMeta(t, "3"), nil)
	older := filepath.Join(dir, "older.arrow")
	rawArtifact(t, older, tokensFields(), tokensMeta(t, "0"), nil)
	badFormat := filepath.Join(dir, "badformat.arrow")
	rawArtifact(t, badFormat, tokensFields(), tokensMeta(t, "one"), nil)

	missingCol := filepath.Join(dir, "missing.arrow")
	rawArtifact(t, missingCol, tokensFields()[:3], tokensMeta(t, "1"), nil)
	wrongType := filepath.Join(dir, "wrongtype.arrow")
	fields := tokensFields()
	fields[3].Type = arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int64)
	rawArtifact(t, wrongType, fields, tokensMeta(t, "1"), nil)

	noKind := filepath.Join(dir, "nokind.arrow")
	rawArtifact(t, noKind, tokensFields(), map[string]string{"other": "x"}, nil)
	vocabFile := filepath.Join(dir, "vocab.arrow")
	if err := WriteVocab(vocabFile, Lineage{}, testVocab()); err != nil {
		t.Fatal(err)
	}
	badToken := filepath.Join(dir, "badtoken.arrow")
	rawArtifact(t, badToken, tokensFields(), tokensMeta(t, "1"), func(mem memory.Allocator) []arrow.Array {
		ib := array.NewInt64Builder(mem)
		ib.Append(1)
		lb := array.NewInt32Builder(mem)
		lb.Append(-1)
		lsb := listBuilder(mem, arrow.PrimitiveTypes.Int32)
		lsb.AppendNull()
		tb := listBuilder(mem, arrow.PrimitiveTypes.Int32)
		tb.Append(true)
		tb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{1, 99}, nil)
		return []arrow.Array{ib.NewArray(), lb.NewArray(), lsb.NewArray(), tb.NewArray()}
	})

	tests := []struct {
		name    string
		path    string
		want    error
		msgHave []string
	}{
		{"wrong kind", vocabFile, ErrWrongKind, []string{"vocab.arrow", "ulmfit.kind", `"vocab"`, "want tokens"}},
		{"newer format", newer, ErrFormat, []string{"newer.arrow", "written by a newer ulmfit-go, format 3 > 1: upgrade"}},
		{"older format", older, ErrFormat, []string{"format 0 is not supported"}},
		{"non-integer format", badFormat, ErrFormat, []string{`"one" is not an integer`}},
		{"truncated", file("trunc.arrow", goodBytes[:len(goodBytes)-100]), ErrCorrupt, []string{"trunc.arrow", "truncated"}},
		{"truncated to header", file("trunc2.arrow", goodBytes[:8]), ErrCorrupt, []string{"truncated"}},
		{"bit flip", file("flip.arrow", flipped), ErrCorrupt, []string{"flip.arrow", "damaged"}},
		{"not arrow", file("text.csv", []byte("label,text\npos,great movie\n")), ErrNotArtifact, []string{"text.csv", "not an Arrow IPC file"}},
		{"empty file", file("empty.arrow", nil), ErrNotArtifact, []string{"not an Arrow IPC file"}},
		{"arrow stream", file("stream.arrow", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}), ErrNotArtifact, []string{"Arrow IPC stream"}},
		{"folder", dir, ErrNotArtifact, []string{"is a folder"}},
		{"no ulmfit metadata", noKind, ErrNotArtifact, []string{"not an ulmfit-go artifact"}},
		{"missing column", missingCol, ErrCorrupt, []string{"column tokens", "missing", "list<item: int32"}},
		{"wrong column type", wrongType, ErrCorrupt, []string{"column tokens", "has type list<item: int64", "want list<item: int32"}},
		{"token outside vocab", badToken, ErrCorrupt, []string{"row 0", "id 99", "outside the embedded vocab"}},
		{"missing file", filepath.Join(dir, "nope.arrow"), os.ErrNotExist, []string{"nope.arrow", "cannot open"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadTokens(tt.path)
			if err == nil {
				t.Fatal("read succeeded")
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v is not %v", err, tt.want)
			}
			for _, s := range tt.msgHave {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message has a newline: %q", err)
			}
		})
	}
}

// TestEveryBitFlip flips one bit in every byte (every 4th byte unless
// ARTIFACTS_EXHAUSTIVE is set, to keep the suite fast) of small artifacts of
// each kind: reading must never panic, and must either fail with an *Error
// or return exactly the original content (the flip hit padding or the copy
// of the schema at the start, which file readers do not use).
func TestEveryBitFlip(t *testing.T) {
	dir := t.TempDir()
	files := map[Kind]string{}
	files[KindTokens] = filepath.Join(dir, "t.arrow")
	writeTestTokens(t, files[KindTokens], testDocs(6))
	files[KindVocab] = filepath.Join(dir, "v.arrow")
	if err := WriteVocab(files[KindVocab], testLineage(KindVocab), testVocab()); err != nil {
		t.Fatal(err)
	}
	files[KindClassifier] = filepath.Join(dir, "m.arrow")
	m := testModel()
	m.Vocab = &Vocab{Tokens: []string{"a", "b"}}
	if err := WriteModel(files[KindClassifier], m); err != nil {
		t.Fatal(err)
	}
	files[KindPredictions] = filepath.Join(dir, "p.arrow")
	if err := WritePredictions(files[KindPredictions], testPredictions(4)); err != nil {
		t.Fatal(err)
	}
	stride := 4
	if os.Getenv("ARTIFACTS_EXHAUSTIVE") != "" {
		stride = 1
	}
	for kind, path := range files {
		orig, err := readAny(path, kind)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		bad := filepath.Join(dir, "bad.arrow")
		var failed, same int
		for i := len(kind) % stride; i < len(data); i += stride {
			mut := append([]byte(nil), data...)
			mut[i] ^= 1 << (i % 8)
			os.WriteFile(bad, mut, 0o644)
			got, err := readAny(bad, kind)
			if err != nil {
				var ae *Error
				if !errors.As(err, &ae) {
					t.Fatalf("%s: flip at byte %d: error %T is not *Error: %v", kind, i, err, err)
				}
				failed++
				continue
			}
			clearPaths(got)
			clearPaths(orig)
			if !reflect.DeepEqual(got, orig) {
				t.Fatalf("%s: flip at byte %d of %d went undetected and changed the content", kind, i, len(data))
			}
			same++
		}
		t.Logf("%s: %d bytes, %d flips detected, %d harmless", kind, len(data), failed, same)
	}
}

// clearPaths resets lazily built state so DeepEqual compares content only.
func clearPaths(v any) {
	switch x := v.(type) {
	case *Model:
		if x.Vocab != nil {
			x.Vocab = &Vocab{Tokens: x.Vocab.Tokens, Counts: x.Vocab.Counts}
		}
	}
}

// TestPlainArrowRead proves artifacts are ordinary Arrow files: plain
// arrow-go code, no ulmfit types, reads the columns and metadata.
func TestPlainArrowRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.arrow")
	docs := testDocs(20)
	writeTestTokens(t, path, docs)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	md := r.Schema().Metadata()
	if k, _ := md.GetValue("ulmfit.kind"); k != "tokens" {
		t.Fatalf("kind %q", k)
	}
	if v, _ := md.GetValue("ulmfit.vocab"); !strings.HasPrefix(v, `["xxunk","xxpad"`) {
		t.Fatalf("vocab %q", v)
	}
	row := 0
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		ids := rec.Column(0).(*array.Int64)
		toks := rec.Column(3).(*array.List)
		vals := toks.ListValues().(*array.Int32)
		for j := 0; j < int(rec.NumRows()); j++ {
			beg, end := toks.ValueOffsets(j)
			if ids.Value(j) != docs[row].ID || int(end-beg) != len(docs[row].Tokens) {
				t.Fatalf("row %d differs", row)
			}
			for k := beg; k < end; k++ {
				if vals.Value(int(k)) != docs[row].Tokens[k-beg] {
					t.Fatalf("row %d token %d differs", row, k-beg)
				}
			}
			row++
		}
	}
	if row != len(docs) {
		t.Fatalf("%d rows", row)
	}
}
