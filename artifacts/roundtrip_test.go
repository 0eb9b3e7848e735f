package artifacts

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
)

func testVocab() *Vocab {
	return &Vocab{
		Tokens: []string{"xxunk", "xxpad", "xxbos", "xxeos", "the", "a", "movie", "good", "bad", "é€😀"},
		Counts: []int64{0, 0, 5, 0, 100, 50, 20, 10, 9, 1},
	}
}

func testLineage(k Kind) Lineage {
	return Lineage{Kind: k, Producer: "test v0", Params: map[string]any{"seed": 42.0, "preset": "tiny", "nested": map[string]any{"b": 1.0, "a": true}},
		Inputs: []Input{{Path: "data/x.csv", SHA256: "00ff", Kind: ""}}}
}

func testDocs(n int) []Doc {
	docs := make([]Doc, n)
	for i := range docs {
		toks := make([]int32, (i*7)%23)
		for j := range toks {
			toks[j] = int32((i + j) % 10)
		}
		docs[i] = Doc{ID: int64(i * 3), Label: int32(i%3) - 1, Tokens: toks}
		if i%4 == 1 {
			docs[i].Labels = []int32{0, 1}
		} else if i%4 == 2 {
			docs[i].Labels = []int32{}
		}
	}
	return docs
}

func writeTestTokens(t testing.TB, path string, docs []Doc) *TokensHeader {
	t.Helper()
	h := &TokensHeader{Lineage: testLineage(KindTokens), Vocab: testVocab(), LabelNames: []string{"neg", "pos"},
		Tokenizer: json.RawMessage(`{ "lower": true }`), Stats: map[string]int64{"docs": int64(len(docs))}}
	w, err := NewTokensWriter(path, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if err := w.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestTokensRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 10, 9000} { // 9000 docs span several batches
		dir := t.TempDir()
		path := filepath.Join(dir, "t.arrow")
		docs := testDocs(n)
		writeTestTokens(t, path, docs)
		h, got, err := ReadTokens(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("n=%d: read %d docs", n, len(got))
		}
		for i := range docs {
			want := docs[i]
			if want.Tokens == nil {
				want.Tokens = []int32{}
			}
			g := got[i]
			if g.Tokens == nil {
				g.Tokens = []int32{}
			}
			if !reflect.DeepEqual(g, want) {
				t.Fatalf("n=%d doc %d: got %+v want %+v", n, i, g, want)
			}
		}
		if h.Kind != KindTokens || h.Format != 1 || h.Producer != "test v0" || !reflect.DeepEqual(h.LabelNames, []string{"neg", "pos"}) {
			t.Fatalf("header %+v", h)
		}
		if !reflect.DeepEqual(h.Vocab.Tokens, testVocab().Tokens) || !reflect.DeepEqual(h.Vocab.Counts, testVocab().Counts) {
			t.Fatalf("vocab %+v", h.Vocab)
		}
		if string(h.Tokenizer) != `{"lower":true}` || h.Stats["docs"] != int64(n) {
			t.Fatalf("tokenizer %s stats %v", h.Tokenizer, h.Stats)
		}
		if h.Params["preset"] != "tiny" || len(h.Inputs) != 1 || h.Inputs[0].Path != "data/x.csv" {
			t.Fatalf("lineage %+v", h.Lineage)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("temporary files left behind: %v", ents)
		}
	}
}

func TestTokensStreamingBatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.arrow")
	docs := make([]Doc, 40)
	for i := range docs {
		docs[i] = Doc{ID: int64(i), Label: -1, Tokens: make([]int32, 5000)} // 200k tokens: >= 3 batches
	}
	writeTestTokens(t, path, docs)
	r, err := OpenTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.af.numBatches() < 3 {
		t.Fatalf("%d batches, want >= 3", r.af.numBatches())
	}
	for i := 0; ; i++ {
		d, err := r.Next()
		if err == io.EOF {
			if i != len(docs) {
				t.Fatalf("EOF after %d docs", i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != int64(i) || len(d.Tokens) != 5000 {
			t.Fatalf("doc %d: %d %d", i, d.ID, len(d.Tokens))
		}
		if len(r.docs) > TokensBatchTokens/5000+1 {
			t.Fatalf("reader holds %d docs at once", len(r.docs))
		}
	}
}

func TestTokensWriterRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.arrow")
	h := &TokensHeader{Vocab: testVocab(), LabelNames: []string{"a", "b"}}
	w, err := NewTokensWriter(path, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []Doc{{Tokens: []int32{10}}, {Tokens: []int32{-1}}, {Label: 2}, {Label: -2}, {Labels: []int32{5}}} {
		if err := w.Write(d); err == nil {
			t.Errorf("Write(%+v) succeeded", d)
		}
	}
	w.Abort()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("aborted writer left %s", path)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 0 {
		t.Fatalf("abort left %v", ents)
	}
	if _, err := NewTokensWriter(path, &TokensHeader{}); err == nil {
		t.Fatal("header without vocab accepted")
	}
	if _, err := NewTokensWriter(path, &TokensHeader{Vocab: &Vocab{Tokens: []string{"a", "a"}}}); err == nil {
		t.Fatal("duplicate vocab token accepted")
	}
}

func TestDeterministicBytes(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.arrow"), filepath.Join(dir, "b.arrow")
	writeTestTokens(t, a, testDocs(500))
	writeTestTokens(t, b, testDocs(500))
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Fatal("same inputs gave different bytes")
	}
	m := testModel()
	if err := WriteModel(a, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteModel(b, testModel()); err != nil {
		t.Fatal(err)
	}
	ba, _ = os.ReadFile(a)
	bb, _ = os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Fatal("same model gave different bytes")
	}
	// The thread count must not matter (zstd may compress in parallel).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	m = testModel()
	m.Tensors = append(m.Tensors, Tensor{Name: "big", Shape: []int{1 << 19}, Data: make([]float32, 1<<19)})
	for i := range m.Tensors[len(m.Tensors)-1].Data {
		m.Tensors[len(m.Tensors)-1].Data[i] = float32(i%977) * 0.5
	}
	if err := WriteModel(a, m); err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(8)
	if err := WriteModel(b, m); err != nil {
		t.Fatal(err)
	}
	ba, _ = os.ReadFile(a)
	bb, _ = os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Fatal("GOMAXPROCS 1 and 8 gave different bytes")
	}
}

func TestVocabRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v.arrow")
	v := testVocab()
	if err := WriteVocab(path, testLineage(KindVocab), v); err != nil {
		t.Fatal(err)
	}
	got, lin, err := ReadVocab(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Tokens, v.Tokens) || !reflect.DeepEqual(got.Counts, v.Counts) || lin.Kind != KindVocab {
		t.Fatalf("got %+v %+v", got, lin)
	}
	if got.Hash() != v.Hash() {
		t.Fatal("hash differs")
	}
	if id, ok := got.ID("movie"); !ok || id != 6 {
		t.Fatalf("ID(movie) = %d %v", id, ok)
	}
	if _, ok := got.ID("nope"); ok {
		t.Fatal("ID(nope) found")
	}
	// Vocab without counts; big enough for several batches.
	big := &Vocab{}
	for i := 0; i < 70000; i++ {
		big.Tokens = append(big.Tokens, "t"+string(rune('a'+i%26))+itoa(i))
	}
	if err := WriteVocab(path, Lineage{}, big); err != nil {
		t.Fatal(err)
	}
	got, _, err = ReadVocab(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 70000 || got.Hash() != big.Hash() || got.Counts[69999] != 0 {
		t.Fatalf("big vocab: %d", got.Len())
	}
	// LoadVocab works on vocab, tokens and model artifacts.
	tp := filepath.Join(dir, "t.arrow")
	writeTestTokens(t, tp, testDocs(3))
	mp := filepath.Join(dir, "m.arrow")
	if err := WriteModel(mp, testModel()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{tp, mp} {
		lv, err := LoadVocab(p)
		if err != nil {
			t.Fatal(err)
		}
		if lv.Hash() != v.Hash() {
			t.Fatalf("%s: vocab differs", p)
		}
	}
	pp := filepath.Join(dir, "p.arrow")
	if err := WritePredictions(pp, testPredictions(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadVocab(pp); err == nil {
		t.Fatal("LoadVocab(predictions) succeeded")
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func testModel() *Model {
	return &Model{
		Lineage:    testLineage(KindClassifier),
		Config:     json.RawMessage(`{"emb":4,"layers":1}`),
		Vocab:      testVocab(),
		Tokenizer:  json.RawMessage(`{"lower":true}`),
		LabelNames: []string{"neg", "pos"},
		Direction:  "bwd",
		Tensors: []Tensor{
			{Name: "encoder.weight", Shape: []int{10, 4}, Data: seq(40)},
			{Name: "head.0.linear.bias", Shape: []int{2}, Data: []float32{math.MaxFloat32, float32(math.Copysign(0, -1))}},
			{Name: "scalar", Shape: []int{}, Data: []float32{3.5}},
			{Name: "empty", Shape: []int{0, 3}, Data: []float32{}},
		},
		OptState:   []Tensor{{Name: "adam.m/encoder.weight", Shape: []int{10, 4}, Data: seq(40)}},
		TrainState: json.RawMessage(`{"step":7}`),
		Metrics:    json.RawMessage(`{"acc":0.5}`),
	}
}

func seq(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i)*0.25 - 1
	}
	return s
}

func TestModelRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.arrow")
	m := testModel()
	if err := WriteModel(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadModel(path, KindClassifier)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Tensors, m.Tensors) || !reflect.DeepEqual(got.OptState, m.OptState) {
		t.Fatalf("tensors differ:\n%+v\n%+v", got.Tensors, m.Tensors)
	}
	if string(got.Config) != string(m.Config) || string(got.TrainState) != `{"step":7}` || string(got.Metrics) != `{"acc":0.5}` ||
		got.Direction != "bwd" || !reflect.DeepEqual(got.LabelNames, m.LabelNames) || got.Vocab.Hash() != m.Vocab.Hash() {
		t.Fatalf("metadata differs: %+v", got)
	}
	if tt, ok := got.Tensor("scalar"); !ok || tt.Data[0] != 3.5 {
		t.Fatal("Tensor(scalar)")
	}
	if _, err := ReadModel(path, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadModel(path, KindLM); err == nil {
		t.Fatal("ReadModel(lm) of a classifier succeeded")
	}
	bad := testModel()
	bad.Tensors[0].Shape = []int{3}
	if err := WriteModel(path, bad); err == nil {
		t.Fatal("shape mismatch accepted")
	}
}

func TestModelManyBatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.arrow")
	m := &Model{Lineage: Lineage{Kind: KindLM}}
	for i := 0; i < 3; i++ {
		m.Tensors = append(m.Tensors, Tensor{Name: "w" + itoa(i), Shape: []int{modelBatchFloats/2 + 1}, Data: make([]float32, modelBatchFloats/2+1)})
	}
	m.Tensors[2].Data[5] = 7
	if err := WriteModel(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadModel(path, KindLM)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tensors) != 3 || got.Tensors[2].Data[5] != 7 || got.Direction != "fwd" {
		t.Fatalf("got %d tensors", len(got.Tensors))
	}
}

func testPredictions(n int) *Predictions {
	p := &Predictions{Lineage: testLineage(KindPredictions), LabelNames: []string{"neg", "pos", "neutral"}, Metrics: json.RawMessage(`{"error":0.25}`)}
	for i := 0; i < n; i++ {
		r := Prediction{ID: int64(i), Label: int32(i%4) - 1, Probs: []float32{0.2, 0.3, 0.5}, Pred: 2}
		if i%2 == 0 {
			r.Labels = []int32{0, 2}
		}
		p.Rows = append(p.Rows, r)
	}
	return p
}

func TestPredictionsRoundTrip(t *testing.T) {
	for _, n := range []int{0, 5, 70000} {
		path := filepath.Join(t.TempDir(), "p.arrow")
		p := testPredictions(n)
		if err := WritePredictions(path, p); err != nil {
			t.Fatal(err)
		}
		got, err := ReadPredictions(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Rows) != n || !reflect.DeepEqual(got.LabelNames, p.LabelNames) || string(got.Metrics) != `{"error":0.25}` {
			t.Fatalf("n=%d: %d rows, %+v", n, len(got.Rows), got.LabelNames)
		}
		if n > 0 && (!reflect.DeepEqual(got.Rows[:5], p.Rows[:5]) || !reflect.DeepEqual(got.Rows[n-1], p.Rows[n-1])) {
			t.Fatalf("rows differ: %+v vs %+v", got.Rows[:5], p.Rows[:5])
		}
	}
	bad := testPredictions(2)
	bad.Rows[1].Probs = []float32{1}
	if err := WritePredictions(filepath.Join(t.TempDir(), "p.arrow"), bad); err == nil {
		t.Fatal("wrong probs length accepted")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	if err := WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write([]byte("one")); return err }); err != nil {
		t.Fatal(err)
	}
	err := WriteFileAtomic(path, func(w io.Writer) error { w.Write([]byte("partial")); return io.ErrUnexpectedEOF })
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v", err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "one" {
		t.Fatalf("file = %q after failed write", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("leftovers: %v", ents)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), func(io.Writer) error { return nil }); err == nil {
		t.Fatal("write into a missing folder succeeded")
	}
}

func TestInputOf(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "raw.txt")
	os.WriteFile(raw, []byte("abc"), 0o644)
	in, err := InputOf(raw)
	if err != nil {
		t.Fatal(err)
	}
	if in.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || in.Kind != "" {
		t.Fatalf("%+v", in)
	}
	tp := filepath.Join(dir, "t.arrow")
	writeTestTokens(t, tp, testDocs(2))
	in, err = InputOf(tp)
	if err != nil || in.Kind != KindTokens {
		t.Fatalf("%+v %v", in, err)
	}
	if _, err := InputOf(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("missing file hashed")
	}
}
