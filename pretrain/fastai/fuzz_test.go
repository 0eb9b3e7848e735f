package fastai

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// Fuzz targets for the torch.save / pickle readers behind `pretrain import`: the
// checkpoint and itos files come from the internet, so whatever their bytes, the readers
// must return an error, never panic or allocate without bound. Seeds: the files in
// testdata (plain `go test` runs them and testdata/fuzz/<target> as regression tests).
// Seeds under testdata/fuzz are former crashers: 10 bytes declaring a 322 GB BYTEARRAY8
// (gopickle allocated it before reading: fatal out of memory), a 1-byte file 0xff (gopickle
// panicked), BINBYTES/FRAME lengths beyond the data. Run with e.g. go test -run '^$' -fuzz '^FuzzReadStateDict$' -fuzztime 60s -fuzzminimizetime 10x -parallel 1 .
// (without -fuzzminimizetime the engine may spend the whole -fuzztime minimizing a
// large seed and report 0 execs/s).

func addFile(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// checkErr fails unless err is nil or one short line (the CLI prints it after the file name).
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") || len(msg) > 400 {
		t.Fatalf("error is not one short line (%d bytes): %.600q", len(msg), msg)
	}
}

// allocGuard fails the test if fn allocates more than the input of n bytes can justify
// (a few float32 copies of it), e.g. because a reader trusted a declared length.
func allocGuard(t *testing.T, n int, fn func()) {
	t.Helper()
	// A hang is a failure too: crash with every goroutine's stack, so that the fuzzer
	// saves the input.
	dog := time.AfterFunc(20*time.Second, func() {
		buf := make([]byte, 1<<20)
		panic(fmt.Sprintf("reading %d bytes took more than 20 s:\n%s", n, buf[:runtime.Stack(buf, true)]))
	})
	defer dog.Stop()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(32*n+8<<20); got > limit {
		t.Fatalf("reading %d bytes allocated %d bytes (limit %d)", n, got, limit)
	}
}

func FuzzReadStateDict(f *testing.F) {
	f.Add(addFile(f, "clas_v2.pth"))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("\x80\x02}q\x00."))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ts []artifacts.Tensor
		var err error
		allocGuard(t, len(data), func() { ts, err = ReadStateDict(data) })
		if err != nil {
			checkErr(t, err)
			return
		}
		for _, x := range ts {
			n := 1
			for _, d := range x.Shape {
				if d < 0 {
					t.Fatalf("%s: negative dimension in %v", x.Name, x.Shape)
				}
				n *= d
			}
			if n != len(x.Data) {
				t.Fatalf("%s: shape %v holds %d values, data has %d", x.Name, x.Shape, n, len(x.Data))
			}
		}
	})
}

func FuzzImport(f *testing.F) {
	pth := addFile(f, "clas_v2.pth")
	for _, itos := range []string{"itos_v07.pkl", "itos_v1.pkl", "itos_v2.pkl"} {
		f.Add(pth, addFile(f, itos))
	}
	// LMs that import, so that mutations reach the layout, vocab and tensor code.
	for _, pair := range [][2]string{{"v2.pth", "itos_v2.pkl"}, {"v1_legacy.pth", "itos_v1.pkl"}, {"v07_fwd.h5", "itos_v07.pkl"}, {"qrnn_v2.pth", "itos_v2.pkl"}} {
		f.Add(addFile(f, pair[0]), addFile(f, pair[1]))
	}
	f.Add([]byte{}, []byte("\x80\x02]q\x00(X\x05\x00\x00\x00xxunkq\x01e."))
	f.Fuzz(func(t *testing.T, weights, itos []byte) {
		var err error
		allocGuard(t, len(weights)+len(itos), func() { _, err = Import(weights, itos, ImportOptions{}) })
		checkErr(t, err)
	})
}

// FuzzArchive: a model-zoo archive (.tgz or .tar) from the internet, read and imported.
func FuzzArchive(f *testing.F) {
	tgz := addFile(f, "wt103-fwd.tgz")
	f.Add(tgz)
	if zr, err := gzip.NewReader(bytes.NewReader(tgz)); err == nil {
		if tar, err := io.ReadAll(zr); err == nil {
			f.Add(tar)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "m.tgz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		allocGuard(t, maxDeflateRatio*len(data), func() {
			var src *source
			if src, err = openSource([]string{p}); err == nil {
				_, err = Import(src.weights, src.itos, ImportOptions{})
			}
		})
		checkErr(t, err)
	})
}
