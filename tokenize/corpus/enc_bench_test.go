package corpus

import (
	"encoding/csv"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulmfit-go/ulmfit/tokenize"
	"github.com/ulmfit-go/ulmfit/tokenize/input"
)

// BenchmarkEncode measures the id lookup and counting of tokenized IMDb reviews with a
// warm dictionary (the steady state of a tokenizer goroutine).
func BenchmarkEncode(b *testing.B) {
	f, err := os.Open("/work/shared/data/imdb/train.csv.zst")
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	zr, _ := zstd.NewReader(f, zstd.WithDecoderMaxWindow(1<<31))
	defer zr.Close()
	cr := csv.NewReader(zr)
	cr.Read()
	tk, _ := tokenize.New(tokenize.Default())
	var jobs []*job
	for range 10 {
		j := &job{}
		for range 1000 {
			rec, _ := cr.Read()
			j.recs = append(j.recs, input.Record{Fields: []string{rec[3]}})
		}
		tokenizeJob(tk, j, false)
		jobs = append(jobs, j)
	}
	ntok := 0
	for _, j := range jobs {
		ntok += j.toks.Len()
	}
	d := newDict(tokenize.DefaultSpecials())
	for _, j := range jobs {
		encodeJob(j, d, nil, 0, false)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, j := range jobs {
			encodeJob(j, d, nil, 0, false)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(ntok), "ns/token")
}
