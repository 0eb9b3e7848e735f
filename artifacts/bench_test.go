package artifacts

import (
	"io"
	"path/filepath"
	"testing"
)

// benchDocs is 2M tokens in 4000 documents.
func benchDocs() []Doc {
	docs := make([]Doc, 4000)
	for i := range docs {
		toks := make([]int32, 500)
		for j := range toks {
			toks[j] = int32((i*31 + j*7) % 10)
		}
		docs[i] = Doc{ID: int64(i), Label: int32(i % 2), Tokens: toks}
	}
	return docs
}

func BenchmarkTokensWrite(b *testing.B) {
	docs := benchDocs()
	path := filepath.Join(b.TempDir(), "t.arrow")
	for b.Loop() {
		writeTestTokens(b, path, docs)
	}
	b.ReportMetric(float64(len(docs)*500)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mtokens/s")
}

func BenchmarkTokensRead(b *testing.B) {
	docs := benchDocs()
	path := filepath.Join(b.TempDir(), "t.arrow")
	writeTestTokens(b, path, docs)
	for b.Loop() {
		r, err := OpenTokens(path)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
	b.ReportMetric(float64(len(docs)*500)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mtokens/s")
}

// benchModel is 16M parameters (64 MB of float32).
func benchModel() *Model {
	m := &Model{Lineage: Lineage{Kind: KindLM}}
	for i := 0; i < 4; i++ {
		d := make([]float32, 4<<20)
		for j := range d {
			d[j] = float32(j%1000) * 1e-3
		}
		m.Tensors = append(m.Tensors, Tensor{Name: "w" + itoa(i), Shape: []int{4 << 20}, Data: d})
	}
	return m
}

func BenchmarkModelWrite(b *testing.B) {
	m := benchModel()
	path := filepath.Join(b.TempDir(), "m.arrow")
	for b.Loop() {
		if err := WriteModel(path, m); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(64 << 20)
}

func BenchmarkModelRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "m.arrow")
	if err := WriteModel(path, benchModel()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ReadModel(path, KindLM); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(64 << 20)
}
