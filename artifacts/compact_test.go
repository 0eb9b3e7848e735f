package artifacts

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestRoundBF16(t *testing.T) {
	inf := float32(math.Inf(1))
	tests := []struct {
		in, want float32
	}{
		{0, 0},
		{1, 1},
		{-2.5, -2.5},
		{inf, inf},
		{-inf, -inf},
		{1 + 1.0/256, 1},                       // tie between 1 and 1+2^-7: to even (1)
		{1 + 3.0/256, 1 + 4.0/256},             // tie between 1+2^-7 and 1+2^-6: to even
		{1 + 1.0/256 + 1.0/65536, 1 + 1.0/128}, // above the tie: up
		{math.MaxFloat32, inf},                 // beyond the largest bfloat16: Inf
		{math.Float32frombits(0x3f80ffff), 1 + 1.0/128}, // rounds up into the next mantissa
	}
	for _, tt := range tests {
		if got := RoundBF16(tt.in); got != tt.want {
			t.Errorf("RoundBF16(%g) = %g, want %g", tt.in, got, tt.want)
		}
	}
	for _, bits := range []uint32{0x7fc00000, 0x7f800001, 0xff800100} { // NaNs, one with only low payload bits
		if got := RoundBF16(math.Float32frombits(bits)); !math.IsNaN(float64(got)) {
			t.Errorf("RoundBF16(NaN %#x) = %g, want NaN", bits, got)
		}
	}
	if got := math.Float32bits(RoundBF16(float32(math.Copysign(0, -1)))); got != 0x80000000 {
		t.Errorf("RoundBF16(-0) bits %#x", got)
	}
	// Relative error at most 2^-8, low 16 bits zero, idempotent.
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		x := float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10)))
		y := RoundBF16(x)
		if math.Abs(float64(y-x)) > math.Abs(float64(x))/256 {
			t.Fatalf("RoundBF16(%g) = %g: relative error %g > 2^-8", x, y, math.Abs(float64(y-x)/float64(x)))
		}
		if math.Float32bits(y)&0xffff != 0 || RoundBF16(y) != y {
			t.Fatalf("RoundBF16(%g) = %g (bits %#x) is not a bfloat16", x, y, math.Float32bits(y))
		}
	}
}

// randomLM is an lm with normally distributed weights (incompressible
// mantissas, as trained weights are) and optimizer and training state.
func randomLM(n int) *Model {
	r := rand.New(rand.NewPCG(3, 4))
	data := func(n int) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(r.NormFloat64() * 0.1)
		}
		return d
	}
	return &Model{
		Lineage:    Lineage{Kind: KindLM, Producer: "pretrain v0", Params: map[string]any{"epochs": "3"}, Inputs: []Input{{Path: "wt.tokens.arrow", SHA256: "ab", Kind: KindTokens}}},
		Config:     json.RawMessage(`{"emb":4}`),
		Vocab:      testVocab(),
		Tokenizer:  json.RawMessage(`{"lower":true}`),
		Direction:  "bwd",
		Tensors:    []Tensor{{Name: "encoder.weight", Shape: []int{n / 4, 4}, Data: data(n)}, {Name: "decoder.bias", Shape: []int{3}, Data: []float32{1, -2, 0.1}}},
		OptState:   []Tensor{{Name: "adam.m/encoder.weight", Shape: []int{n / 4, 4}, Data: data(n)}},
		TrainState: json.RawMessage(`{"step":7}`),
		Metrics:    json.RawMessage(`{"valid_loss":4.5}`),
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestCompact(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "lm.arrow")
	orig := randomLM(1 << 17)
	if err := WriteModel(in, orig); err != nil {
		t.Fatal(err)
	}
	inSum, err := HashFile(in)
	if err != nil {
		t.Fatal(err)
	}

	// Dropping the states only: the weights are bit-identical.
	slim := filepath.Join(dir, "slim.arrow")
	if _, err := Compact(in, slim, CompactOptions{DropOpt: true, DropTrainState: true}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadModel(slim, KindLM)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Tensors, orig.Tensors) || got.OptState != nil || got.TrainState != nil {
		t.Errorf("drop only: tensors equal %v, opt %d tensors, train state %q", reflect.DeepEqual(got.Tensors, orig.Tensors), len(got.OptState), got.TrainState)
	}

	// bf16 + drops: every value within 2^-8, about half the weights' bytes.
	small := filepath.Join(dir, "small.arrow")
	if _, err := Compact(in, small, CompactOptions{BF16: true, DropOpt: true, DropTrainState: true}); err != nil {
		t.Fatal(err)
	}
	got, err = ReadModel(small, KindLM)
	if err != nil {
		t.Fatal(err)
	}
	for i, tn := range got.Tensors {
		want := orig.Tensors[i]
		if tn.Name != want.Name || !reflect.DeepEqual(tn.Shape, want.Shape) {
			t.Fatalf("tensor %d: %s %v, want %s %v", i, tn.Name, tn.Shape, want.Name, want.Shape)
		}
		for j, v := range tn.Data {
			if d := math.Abs(float64(v - want.Data[j])); d > math.Abs(float64(want.Data[j]))/256 {
				t.Fatalf("%s[%d] = %g, was %g: beyond bf16 precision", tn.Name, j, v, want.Data[j])
			}
		}
	}
	sIn, sSlim, sSmall := fileSize(t, in), fileSize(t, slim), fileSize(t, small)
	t.Logf("sizes: %d bytes (with Adam state), %d without states, %d bf16 (%.2fx smaller)", sIn, sSlim, sSmall, float64(sSlim)/float64(sSmall))
	if !(sSlim < sIn*6/10) || !(float64(sSmall) < 0.6*float64(sSlim)) {
		t.Errorf("sizes %d -> %d -> %d: want the states gone and bf16 about half", sIn, sSlim, sSmall)
	}

	// Everything else is kept; the lineage says what was done.
	if string(got.Config) != string(orig.Config) || got.Vocab.Hash() != orig.Vocab.Hash() || string(got.Tokenizer) != string(orig.Tokenizer) ||
		got.Direction != "bwd" || string(got.Metrics) != string(orig.Metrics) {
		t.Errorf("metadata changed: %+v", got)
	}
	if got.Producer != CompactProducer || len(got.Inputs) != 1 || got.Inputs[0].SHA256 != inSum || got.Inputs[0].Kind != KindLM ||
		got.Params["bf16"] != true || got.Params["drop-opt"] != true || got.Params["drop-train-state"] != true {
		t.Errorf("lineage %+v", got.Lineage)
	}
	src, _ := got.Params["source"].(map[string]any)
	if src["producer"] != "pretrain v0" || !reflect.DeepEqual(src["params"], map[string]any{"epochs": "3"}) {
		t.Errorf("source lineage %v", got.Params["source"])
	}
	// Same input, same options: same bytes; and bf16 twice changes nothing.
	again := filepath.Join(dir, "again.arrow")
	if _, err := Compact(in, again, CompactOptions{BF16: true, DropOpt: true, DropTrainState: true}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(small)
	b, _ := os.ReadFile(again)
	if string(a) != string(b) {
		t.Error("two compactions of the same file differ")
	}
	twice := filepath.Join(dir, "twice.arrow")
	if _, err := Compact(small, twice, CompactOptions{BF16: true}); err != nil {
		t.Fatal(err)
	}
	if m2, err := ReadModel(twice, KindLM); err != nil || !reflect.DeepEqual(m2.Tensors, got.Tensors) {
		t.Errorf("bf16 of bf16 changed the values (%v)", err)
	}

	// bf16 alone keeps (and rounds) the optimizer state.
	keep := filepath.Join(dir, "keep.arrow")
	if _, err := Compact(in, keep, CompactOptions{BF16: true}); err != nil {
		t.Fatal(err)
	}
	if m3, err := ReadModel(keep, KindLM); err != nil || len(m3.OptState) != 1 || string(m3.TrainState) != `{"step":7}` ||
		m3.OptState[0].Data[5] != RoundBF16(orig.OptState[0].Data[5]) {
		t.Errorf("bf16 alone: %v", err)
	}
}

func TestCompactRejects(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "t.arrow")
	writeTestTokens(t, tok, testDocs(3))
	if _, err := Compact(tok, filepath.Join(dir, "o.arrow"), CompactOptions{BF16: true}); err == nil {
		t.Error("compacted a tokens artifact")
	}
	if _, err := Compact(filepath.Join(dir, "missing.arrow"), filepath.Join(dir, "o.arrow"), CompactOptions{BF16: true}); err == nil {
		t.Error("compacted a missing file")
	}
	if _, err := os.Stat(filepath.Join(dir, "o.arrow")); err == nil {
		t.Error("a failed compaction left an output")
	}
}
