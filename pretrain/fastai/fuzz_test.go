package fastai

import (
	"fmt"
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
// panicked), BINBYTES/FRAME lengths beyond the data. Run with e.g. go test -run '^$' -fuzz '^FuzzReadStateDict$' -fuzztime 10s -parallel 1 .

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
	f.Add([]byte{}, []byte("\x80\x02]q\x00(X\x05\x00\x00\x00xxunkq\x01e."))
	f.Fuzz(func(t *testing.T, weights, itos []byte) {
		var err error
		allocGuard(t, len(weights)+len(itos), func() { _, err = Import(weights, itos, ImportOptions{}) })
		checkErr(t, err)
	})
}
