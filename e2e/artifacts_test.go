package e2e

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// rewriteMeta copies an Arrow IPC file with one schema metadata value changed (the
// checksums are left as they were: a reader must check kind and format first, and say
// so, rather than report a damaged file).
func rewriteMeta(t *testing.T, src, dst, key, value string) {
	t.Helper()
	f, err := os.Open(src)
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
	keys, vals := append([]string(nil), md.Keys()...), append([]string(nil), md.Values()...)
	found := false
	for i, k := range keys {
		if k == key {
			vals[i], found = value, true
		}
	}
	if !found {
		t.Fatalf("%s has no metadata key %s", src, key)
	}
	meta := arrow.NewMetadata(keys, vals)
	schema := arrow.NewSchema(r.Schema().Fields(), &meta)
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w, err := ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator), ipc.WithZstd())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatchAt(i)
		if err != nil {
			t.Fatal(err)
		}
		var bmd arrow.Metadata
		if rm, ok := rec.(arrow.RecordBatchWithMetadata); ok {
			bmd = rm.Metadata()
		}
		nr := array.NewRecordBatchWithMetadata(schema, rec.Columns(), rec.NumRows(), bmd)
		err = w.Write(nr)
		nr.Release()
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestArtifactFaults damages artifacts the way disks, copies and version skew do and
// hands them to the stages that read them.
func TestArtifactFaults(t *testing.T) {
	type reader struct {
		bin  string
		args func(bad string) []string
	}
	tokensReaders := []reader{
		{"pretrain", func(b string) []string {
			return []string{"-q", "--preset", "tiny", "--threads", "1", "--epochs", "1", "-o", "o.arrow", b}
		}},
		{"evaluate", func(b string) []string { return []string{"-q", "--model", fCLF, "--data", b, "-o", "o.arrow"} }},
	}
	modelReaders := []reader{
		{"evaluate", func(b string) []string { return []string{"-q", "--model", b, "--data", fTest, "-o", "o.arrow"} }},
	}
	lmReaders := []reader{
		{"lmtune", func(b string) []string {
			return []string{"-q", "--preset", "tiny", "--threads", "1", "--epochs", "1", "--from", b, "-o", "o.arrow", fTrain}
		}},
		{"clftune", func(b string) []string {
			return []string{"-q", "--threads", "1", "--epochs", "1", "--from", b, "--data", fTrain, "-o", "o.arrow"}
		}},
	}
	predReaders := []reader{
		{"ensemble", func(b string) []string { return []string{"-q", fPreds, b, "-o", "o.arrow"} }},
		{"evaluate", func(b string) []string { return []string{"report", "-q", b, "--out-dir", "rep"} }},
	}
	targets := []struct {
		file    string
		readers []reader
	}{
		{fTrain, tokensReaders},
		{fCLF, modelReaders},
		{fFT, lmReaders},
		{fPreds, predReaders},
	}
	all := []string{fTrain, fTest, fFT, fCLF, fPreds}
	rng := rand.New(rand.NewPCG(8, 8))
	for _, tg := range targets {
		orig := fileBytes(t, filepath.Join(fixDir, tg.file))
		faults := []struct {
			name string
			make func(dir, path string)
			subs []string
		}{
			{"newer format", func(dir, p string) { rewriteMeta(t, filepath.Join(fixDir, tg.file), p, "ulmfit.format", "99") }, []string{"format", "upgrade"}},
			{"unknown kind", func(dir, p string) { rewriteMeta(t, filepath.Join(fixDir, tg.file), p, "ulmfit.kind", "tokenz") }, []string{"tokenz"}},
			{"empty file", func(dir, p string) { writeFile(t, p, nil) }, nil},
			{"truncated to half", func(dir, p string) { writeFile(t, p, orig[:len(orig)/2]) }, nil},
			{"truncated by 1 byte", func(dir, p string) { writeFile(t, p, orig[:len(orig)-1]) }, nil},
			{"zeroed 4 KiB block", func(dir, p string) {
				b := bytes.Clone(orig)
				off := len(b) / 3
				clear(b[off:min(off+4096, len(b)-64)])
				writeFile(t, p, b)
			}, nil},
		}
		for i := 0; i < 6; i++ {
			pos := 8 + rng.IntN(len(orig)-16)
			bit := byte(1) << rng.IntN(8)
			faults = append(faults, struct {
				name string
				make func(dir, path string)
				subs []string
			}{"bit flip " + itoa(pos), func(dir, p string) {
				b := bytes.Clone(orig)
				b[pos] ^= bit
				writeFile(t, p, b)
			}, nil})
		}
		for _, fl := range faults {
			for _, rd := range tg.readers {
				t.Run(tg.file+"/"+fl.name+"/"+rd.bin, func(t *testing.T) {
					dir := caseDir(t, all...)
					bad := "bad.arrow"
					fl.make(dir, filepath.Join(dir, bad))
					before := listDir(t, dir)
					r := run(t, dir, rd.bin, rd.args(bad)...)
					if r.code == 0 && sameContent(t, filepath.Join(fixDir, tg.file), filepath.Join(dir, bad)) {
						// The flip hit bytes that carry nothing (alignment padding, an
						// unused flatbuffer field): the reader decodes exactly the
						// original content, so accepting the file loses nothing.
						t.Logf("harmless: %s decodes to the same content as %s", fl.name, tg.file)
						harmless.Add(1)
						return
					}
					wantError(t, r, exit2, append([]string{bad}, fl.subs...)...)
					wantNothingNew(t, dir, before)
				})
			}
		}
	}
}

var harmless atomic.Int64

// sameContent reports whether the artifact at bad decodes, through the artifacts
// package, to exactly the content of the one at good.
func sameContent(t *testing.T, good, bad string) bool {
	t.Helper()
	read := func(p string) (any, error) {
		kind, err := artifactKind(p)
		if err != nil {
			return nil, err
		}
		switch kind {
		case artifacts.KindTokens:
			h, d, err := artifacts.ReadTokens(p)
			if h != nil {
				h.Inputs, h.Params = nil, nil
			}
			return []any{h, d}, err
		case artifacts.KindPredictions:
			return artifacts.ReadPredictions(p)
		default:
			return artifacts.ReadModel(p, "")
		}
	}
	g, err := read(good)
	if err != nil {
		t.Fatalf("the original %s does not read: %v", good, err)
	}
	b, err := read(bad)
	if err != nil {
		t.Errorf("the stage accepted %s but the artifacts package rejects it: %v", bad, err)
		return false
	}
	return reflect.DeepEqual(g, b)
}

func artifactKind(p string) (artifacts.Kind, error) {
	in, err := artifacts.InputOf(p)
	return in.Kind, err
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}
