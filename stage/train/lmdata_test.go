package train

import (
	"errors"
	"slices"
	"testing"
)

func TestLMRowsWindows(t *testing.T) {
	docs := [][]int32{{2, 10, 11, 12}, {2, 20, 21}, {2, 30, 31, 32, 33}}
	d := &LMData{Docs: docs, BS: 2}
	r, err := d.Epoch(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// stream: 2 10 11 12 2 20 21 2 30 31 32 33 -> rows of 6
	if r.L != 6 || !slices.Equal(r.Stream, []int32{2, 10, 11, 12, 2, 20, 21, 2, 30, 31, 32, 33}) {
		t.Fatalf("rows L=%d stream=%v", r.L, r.Stream)
	}
	x := make([]int32, 2*10)
	y := make([]int32, 2*10)
	n := r.Window(0, 3, x, y)
	if n != 3 || !slices.Equal(x[:6], []int32{2, 10, 11, 21, 2, 30}) || !slices.Equal(y[:6], []int32{10, 11, 12, 2, 30, 31}) {
		t.Errorf("window 0: n=%d x=%v y=%v", n, x[:6], y[:6])
	}
	n = r.Window(3, 10, x, y) // shortened to L-1-3 = 2
	if n != 2 || !slices.Equal(x[:4], []int32{12, 2, 31, 32}) || !slices.Equal(y[:4], []int32{2, 20, 32, 33}) {
		t.Errorf("window 3: n=%d x=%v y=%v", n, x[:4], y[:4])
	}
	if n := r.Window(5, 3, x, y); n != 0 {
		t.Errorf("window at end: n=%d, want 0", n)
	}
	if got := r.Steps(2); got != 3 {
		t.Errorf("Steps(2) = %d, want 3", got)
	}
}

func TestLMDataBackwardReversesEachDocument(t *testing.T) {
	docs := [][]int32{{2, 10, 11, 12}, {2, 20, 21}}
	d := &LMData{Docs: docs, BS: 1, Backward: true}
	r, err := d.Epoch(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{12, 11, 10, 2, 21, 20, 2}
	if !slices.Equal(r.Stream, want) {
		t.Errorf("backward stream %v, want %v", r.Stream, want)
	}
	if docs[0][0] != 2 {
		t.Errorf("Epoch modified the corpus")
	}
}

func TestOrient(t *testing.T) {
	doc := []int32{2, 10, 11, 12}
	dst := make([]int32, 5)
	Orient(dst, doc, false)
	if !slices.Equal(dst[:4], doc) {
		t.Errorf("forward copy %v", dst)
	}
	Orient(dst, doc, true)
	if want := []int32{12, 11, 10, 2}; !slices.Equal(dst[:4], want) || !slices.Equal(doc, []int32{2, 10, 11, 12}) {
		t.Errorf("backward copy %v (doc %v), want %v", dst, doc, want)
	}
	in := slices.Clone(doc)
	Orient(in, in, false)
	if !slices.Equal(in, doc) {
		t.Errorf("forward in place %v", in)
	}
	Orient(in, in, true)
	if want := []int32{12, 11, 10, 2}; !slices.Equal(in, want) {
		t.Errorf("backward in place %v, want %v", in, want)
	}
	Orient(nil, nil, true) // empty documents are fine
}

func TestLMDataShuffleDeterministic(t *testing.T) {
	docs := make([][]int32, 50)
	for i := range docs {
		docs[i] = []int32{2, int32(i)}
	}
	d := &LMData{Docs: docs, BS: 4, Shuffle: true, Seed: 7}
	o0, o0b, o1 := d.Order(0), d.Order(0), d.Order(1)
	if !slices.Equal(o0, o0b) {
		t.Errorf("same epoch gave different orders")
	}
	if slices.Equal(o0, o1) {
		t.Errorf("epochs 0 and 1 have the same order")
	}
	s := slices.Clone(o0)
	slices.Sort(s)
	for i, v := range s {
		if v != i {
			t.Fatalf("order is not a permutation: %v", o0)
		}
	}
}

func TestLMDataTooSmall(t *testing.T) {
	d := &LMData{Docs: [][]int32{{2, 5, 6}}, BS: 4}
	if _, err := d.Epoch(0, nil); !errors.Is(err, ErrCorpusTooSmall) {
		t.Errorf("err = %v, want ErrCorpusTooSmall", err)
	}
	d = &LMData{BS: 4}
	if err := d.Check(); !errors.Is(err, ErrCorpusTooSmall) {
		t.Errorf("empty corpus: err = %v", err)
	}
}

func TestSeqLen(t *testing.T) {
	r := NewRNG(1, StreamBPTT)
	const bptt, n = 70, 20000
	var sum, half int
	for i := 0; i < n; i++ {
		sl := SeqLen(r, bptt)
		if sl < 5 || sl > bptt+MaxExtraSeq {
			t.Fatalf("seq len %d out of range", sl)
		}
		if sl < 50 {
			half++
		}
		sum += sl
	}
	// 5% draws around 35, 95% around 70 (truncation lowers the mean by ~0.5).
	mean := float64(sum) / n
	if mean < 67 || mean > 68.5 {
		t.Errorf("mean seq len %.2f, want ~67.7", mean)
	}
	if frac := float64(half) / n; frac < 0.04 || frac > 0.06 {
		t.Errorf("fraction of half-length windows %.3f, want ~0.05", frac)
	}
	if SeqLen(NewRNG(1, StreamBPTT), 4) < 5 {
		t.Errorf("seq len below 5")
	}
}

func TestMixStreamsDiffer(t *testing.T) {
	seen := map[uint64]bool{}
	for s := Stream(1); s <= 6; s++ {
		for e := uint64(0); e < 5; e++ {
			v := Mix(42, uint64(s), e)
			if seen[v] {
				t.Fatalf("collision at stream %d epoch %d", s, e)
			}
			seen[v] = true
		}
	}
	if Mix(1, 2, 3) != Mix(1, 2, 3) || Mix(1, 2, 3) == Mix(1, 3, 2) {
		t.Errorf("Mix is not a deterministic, order-sensitive hash")
	}
}
