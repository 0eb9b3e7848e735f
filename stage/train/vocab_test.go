package train

import (
	"slices"
	"testing"

	"github.com/ulmfit-go/ulmfit/nn"
)

func TestVocabRemap(t *testing.T) {
	old := []string{"xxunk", "xxpad", "the", "cat"}
	emb := []float32{
		1, 2, // xxunk
		0, 0, // xxpad
		3, 4, // the
		4, 6, // cat
	}
	bias := []float32{1, 2, 3, 6}
	r := NewVocabRemap(old, []string{"xxpad", "xxunk", "dog", "cat", "fish"})
	if r.Copied != 3 || r.Added != 2 {
		t.Fatalf("copied %d added %d, want 3 and 2", r.Copied, r.Added)
	}
	got := r.Rows(emb, 2)
	want := []float32{0, 0, 1, 2, 2, 3, 4, 6, 2, 3}
	if !slices.Equal(got, want) {
		t.Errorf("embedding rows %v, want %v", got, want)
	}
	if gb := r.Rows(bias, 1); !slices.Equal(gb, []float32{2, 1, 3, 6, 3}) {
		t.Errorf("bias rows %v", gb)
	}
}

func TestTransferLM(t *testing.T) {
	cfg, err := nn.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	oldTok := []string{"xxunk", "xxpad", "xxbos", "the", "cat", "sat"}
	newTok := []string{"xxunk", "xxpad", "xxbos", "dog", "sat", "the"}
	cfg.VocabSize = len(oldTok)
	src, err := nn.NewLM(cfg, nn.Reference())
	if err != nil {
		t.Fatal(err)
	}
	src.Init(1)
	for i := range src.DecB.Data {
		src.DecB.Data[i] = float32(i)
	}
	cfg.VocabSize = len(newTok)
	dst, err := nn.NewLM(cfg, nn.Reference())
	if err != nil {
		t.Fatal(err)
	}
	r := NewVocabRemap(oldTok, newTok)
	if err := transferLM(dst, src, r); err != nil {
		t.Fatal(err)
	}
	if r.Copied != 5 || r.Added != 1 {
		t.Errorf("copied %d new %d", r.Copied, r.Added)
	}
	e := cfg.EmbSize
	row := func(lm *nn.LM, i int) []float32 { return lm.Enc.Emb.W.Data[i*e : (i+1)*e] }
	for newID, oldID := range map[int]int{0: 0, 1: 1, 2: 2, 4: 5, 5: 3} {
		if !slices.Equal(row(dst, newID), row(src, oldID)) || dst.DecB.Data[newID] != src.DecB.Data[oldID] {
			t.Errorf("token %q: row or bias not copied", newTok[newID])
		}
	}
	for j := 0; j < e; j++ {
		var mean float64
		for i := range oldTok {
			mean += float64(row(src, i)[j])
		}
		mean /= float64(len(oldTok))
		if d := float64(row(dst, 3)[j]) - mean; d > 1e-6 || d < -1e-6 {
			t.Fatalf("new token row[%d] = %g, want the mean %g", j, row(dst, 3)[j], mean)
		}
	}
	if dst.DecB.Data[3] != 2.5 { // mean of 0..5
		t.Errorf("new token bias %g, want 2.5", dst.DecB.Data[3])
	}
	// Non-vocabulary tensors are copied as they are.
	if !slices.Equal(dst.Enc.RNNs[1].(*nn.LSTM).Whh.Data, src.Enc.RNNs[1].(*nn.LSTM).Whh.Data) {
		t.Errorf("LSTM weights not copied")
	}
}
