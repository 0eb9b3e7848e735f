package fastai

import (
	"os"
	"path/filepath"
	"testing"
)

// Fuzz targets for the torch.save / pickle readers behind `pretrain import`: the
// checkpoint and itos files come from the internet, so whatever their bytes, the readers
// must return an error, never panic or allocate without bound. Seeds: the files in
// testdata (plain `go test` runs them and testdata/fuzz/<target> as regression tests).
// Run with e.g. go test -run '^$' -fuzz '^FuzzReadStateDict$' -fuzztime 10s -parallel 1 .

func addFile(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzReadStateDict(f *testing.F) {
	f.Add(addFile(f, "clas_v2.pth"))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("\x80\x02}q\x00."))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := ReadStateDict(data)
		if err != nil {
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
		Import(weights, itos, ImportOptions{})
	})
}
