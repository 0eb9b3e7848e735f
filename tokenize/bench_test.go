package tokenize

import (
	"encoding/csv"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// BenchmarkTokenizer tokenizes IMDb reviews on one goroutine (the rules and the word
// tokenizer only: no reading, no vocabulary). Run:
//
//	nice go test -bench Tokenizer -run x .
func BenchmarkTokenizer(b *testing.B) {
	f, err := os.Open("/work/shared/data/imdb/train.csv.zst")
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderMaxWindow(1<<31))
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	cr := csv.NewReader(zr)
	var texts []string
	size := 0
	for len(texts) < 5000 {
		rec, err := cr.Read()
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, rec[len(rec)-1])
		size += len(rec[len(rec)-1])
	}
	tk, _ := New(Default())
	var dst Tokens
	b.SetBytes(int64(size))
	b.ResetTimer()
	ntok := 0
	for b.Loop() {
		ntok = 0
		for _, s := range texts {
			dst.Reset()
			ntok += tk.Append(&dst, s)
		}
	}
	b.ReportMetric(float64(ntok)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
