package clftrain

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMakePadsFirst(t *testing.T) {
	bt := &Batcher{Data: []Example{
		{Tokens: []int32{5, 6, 7}, Label: 1},
		{Tokens: []int32{8}, Label: 0},
	}, PadID: 1, NClasses: 2}
	b := bt.Make([]int{0, 1})
	if b.B != 2 || b.T != 3 {
		t.Fatalf("shape %dx%d, want 2x3", b.B, b.T)
	}
	want := []int32{5, 6, 7, 1, 1, 8}
	if !slices.Equal(b.Tokens, want) {
		t.Fatalf("tokens %v, want %v", b.Tokens, want)
	}
	if !slices.Equal(b.Labels, []int32{1, 0}) || !slices.Equal(b.Lens, []int{3, 1}) {
		t.Fatalf("labels %v lens %v", b.Labels, b.Lens)
	}
	bt.MultiLabel = true
	bt.Data[0].Labels = []int32{0, 1}
	bt.Data[1].Labels = []int32{1}
	b = bt.Make([]int{1, 0})
	if !slices.Equal(b.Targets, []float32{0, 1, 1, 1}) {
		t.Fatalf("targets %v", b.Targets)
	}
}

func TestSortishOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lens := make([]int, 1000)
	for i := range lens {
		lens[i] = rng.IntN(500) + 1
	}
	lens[737] = 10000
	bs := 8
	batches := SortishOrder(lens, bs, rand.New(rand.NewPCG(3, 4)))
	seen := make([]bool, len(lens))
	for bi, b := range batches {
		if len(b) > bs || len(b) == 0 {
			t.Fatalf("batch %d size %d", bi, len(b))
		}
		for k, i := range b {
			if seen[i] {
				t.Fatalf("index %d twice", i)
			}
			seen[i] = true
			if k > 0 && lens[i] > lens[b[k-1]] {
				t.Fatalf("batch %d not sorted by decreasing length", bi)
			}
		}
	}
	for i, s := range seen {
		if !s {
			t.Fatalf("index %d missing", i)
		}
	}
	if batches[0][0] != 737 {
		t.Fatalf("longest document not in first batch: %v", batches[0])
	}
	// Different seeds give different orders; same seed the same order.
	again := SortishOrder(lens, bs, rand.New(rand.NewPCG(3, 4)))
	other := SortishOrder(lens, bs, rand.New(rand.NewPCG(5, 6)))
	if !slices.EqualFunc(batches, again, slices.Equal) {
		t.Fatal("same seed, different order")
	}
	if slices.EqualFunc(batches, other, slices.Equal) {
		t.Fatal("different seeds, same order")
	}
	// Within a window of 50 batches lengths are close: mean within-batch
	// spread is far below the spread of a random batch.
	spread := 0
	for _, b := range batches[1:] {
		spread += lens[b[0]] - lens[b[len(b)-1]]
	}
	if avg := spread / (len(batches) - 1); avg > 100 {
		t.Fatalf("mean within-batch length spread %d: batches are not sortish", avg)
	}
}

func TestSortedOrder(t *testing.T) {
	lens := []int{3, 9, 1, 9, 4}
	got := SortedOrder(lens, 2)
	want := [][]int{{1, 3}, {4, 0}, {2}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("got %v want %v", got, want)
	}
}

func TestStratifiedSplit(t *testing.T) {
	var data []Example
	for c := 0; c < 3; c++ {
		for i := 0; i < (c+1)*100; i++ {
			data = append(data, Example{Label: int32(c)})
		}
	}
	data = append(data, Example{Label: 3}) // a singleton class stays in train
	tr, va, err := StratifiedSplit(data, 0.1, rand.New(rand.NewPCG(7, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr)+len(va) != len(data) {
		t.Fatalf("%d+%d != %d", len(tr), len(va), len(data))
	}
	count := map[int32]int{}
	for _, i := range va {
		count[data[i].Label]++
	}
	for c, want := range map[int32]int{0: 10, 1: 20, 2: 30, 3: 0} {
		if count[c] != want {
			t.Errorf("class %d: %d held out, want %d", c, count[c], want)
		}
	}
	tr2, va2, _ := StratifiedSplit(data, 0.1, rand.New(rand.NewPCG(7, 0)))
	if !slices.Equal(tr, tr2) || !slices.Equal(va, va2) {
		t.Fatal("same seed, different split")
	}
	_, va3, _ := StratifiedSplit(data, 0.1, rand.New(rand.NewPCG(8, 0)))
	if slices.Equal(va, va3) {
		t.Fatal("different seed, same split")
	}
	if _, _, err := StratifiedSplit(data, 1, rand.New(rand.NewPCG(1, 0))); err == nil {
		t.Fatal("frac 1 accepted")
	}
}
