package corpus

import (
	"context"
	"os"
	"testing"

	"github.com/ulmfit-go/ulmfit/tokenize"
	"github.com/ulmfit-go/ulmfit/tokenize/input"
)

// BenchmarkTokenizeIMDb tokenizes the 50,000 IMDb unsup reviews and builds the vocabulary
// (set TOKBENCH_FILE to use another file). Run:
//
//	nice go test -bench TokenizeIMDb -run x -benchtime 1x ./corpus
func BenchmarkTokenizeIMDb(b *testing.B) {
	path := os.Getenv("TOKBENCH_FILE")
	if path == "" {
		path = "/work/shared/data/imdb/unsup.csv.zst"
	}
	if _, err := os.Stat(path); err != nil {
		b.Skipf("no %s", path)
	}
	var res *Result
	for b.Loop() {
		var err error
		res, err = Build(context.Background(), Config{
			Settings: tokenize.Default(), Inputs: []string{path},
			Input: input.Options{NoLabels: true}, MaxVocab: 60000, MinFreq: 2, Threads: 2,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(res.Stats.TextBytes)
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(res.Stats.Tokens)/sec, "tokens/s")
	b.ReportMetric(float64(res.Stats.Docs)/sec, "docs/s")
}
