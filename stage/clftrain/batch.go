// Package clftrain batches classification documents and runs the ULMFiT
// classifier fine-tuning loop: gradual unfreezing, discriminative learning
// rates, slanted triangular learning rates and the other schedules of the
// paper's Table 7, plus fastai v2's one-cycle recipe.
//
// Batching follows fastai: training batches come from a SortishSampler
// (chunks of 50*bs documents sorted by length, then the batches shuffled,
// the batch holding the longest document first so that an out-of-memory
// failure happens at once), validation batches are sorted by length, and
// every row is padded at the front with xxpad so that the last real token of
// each document sits in the last column.
package clftrain

import (
	"fmt"
	"sort"
)

// Example is one document as the trainer sees it: token ids (already in
// training direction, i.e. reversed for a backward model) and its label(s).
type Example struct {
	Tokens []int32
	Label  int32   // class index; -1 when unlabeled or multi-label
	Labels []int32 // multi-label: the set of positive classes
}

// Batch is a padded mini-batch. Tokens is row-major [B, T], padded first:
// row b holds T-Lens[b] pad ids followed by the document.
type Batch struct {
	Idx     []int     // dataset indices of the rows
	B, T    int       // rows and columns
	Tokens  []int32   // B*T token ids
	Lens    []int     // real length of each row
	Labels  []int32   // single-label targets (B)
	Targets []float32 // multi-label multi-hot targets (B*NClasses); nil otherwise
}

// Batcher builds padded batches from a dataset.
type Batcher struct {
	Data       []Example
	PadID      int32
	NClasses   int
	MultiLabel bool
}

// Make builds the batch holding the given dataset indices, in that order.
func (bt *Batcher) Make(idx []int) *Batch {
	b := &Batch{Idx: append([]int(nil), idx...), B: len(idx), Lens: make([]int, len(idx))}
	for i, j := range idx {
		n := len(bt.Data[j].Tokens)
		b.Lens[i] = n
		if n > b.T {
			b.T = n
		}
	}
	b.Tokens = make([]int32, b.B*b.T)
	for i, j := range idx {
		row := b.Tokens[i*b.T : (i+1)*b.T]
		pad := b.T - b.Lens[i]
		for k := 0; k < pad; k++ {
			row[k] = bt.PadID
		}
		copy(row[pad:], bt.Data[j].Tokens)
	}
	if bt.MultiLabel {
		b.Targets = make([]float32, b.B*bt.NClasses)
		for i, j := range idx {
			for _, c := range bt.Data[j].Labels {
				b.Targets[i*bt.NClasses+int(c)] = 1
			}
		}
	} else {
		b.Labels = make([]int32, b.B)
		for i, j := range idx {
			b.Labels[i] = bt.Data[j].Label
		}
	}
	return b
}

// Shuffler is the randomness SortishOrder needs; *nn.RNG and
// *math/rand/v2.Rand both satisfy it.
type Shuffler interface {
	Perm(n int) []int
	IntN(n int) int
}

// SortishOrder returns the training order of fastai's SortishSampler: a
// random permutation cut into chunks of 50*bs, each chunk sorted by
// decreasing length, cut into batches of bs; the batch with the longest
// document goes first and the others are shuffled. The result is a list of
// batches of dataset indices.
func SortishOrder(lens []int, bs int, rng Shuffler) [][]int {
	if bs < 1 {
		bs = 1
	}
	n := len(lens)
	perm := rng.Perm(n)
	chunk := 50 * bs
	for s := 0; s < n; s += chunk {
		e := min(s+chunk, n)
		part := perm[s:e]
		sort.SliceStable(part, func(a, b int) bool { return lens[part[a]] > lens[part[b]] })
	}
	batches := cut(perm, bs)
	if len(batches) == 0 {
		return batches
	}
	maxB := 0
	for i, b := range batches {
		if lens[b[0]] > lens[batches[maxB][0]] {
			maxB = i
		}
	}
	batches[0], batches[maxB] = batches[maxB], batches[0]
	rest := batches[1:]
	for i := len(rest) - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		rest[i], rest[j] = rest[j], rest[i]
	}
	return batches
}

// SortedOrder returns batches of dataset indices sorted by decreasing length
// (fastai's SortSampler, used for validation and prediction). Ties keep
// dataset order, so the order is deterministic.
func SortedOrder(lens []int, bs int) [][]int {
	if bs < 1 {
		bs = 1
	}
	idx := make([]int, len(lens))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lens[idx[a]] > lens[idx[b]] })
	return cut(idx, bs)
}

func cut(idx []int, bs int) [][]int {
	var out [][]int
	for s := 0; s < len(idx); s += bs {
		out = append(out, idx[s:min(s+bs, len(idx))])
	}
	return out
}

// Lens returns the token count of each example.
func Lens(data []Example) []int {
	l := make([]int, len(data))
	for i, d := range data {
		l[i] = len(d.Tokens)
	}
	return l
}

// StratifiedSplit splits the dataset indices into train and validation
// parts, holding out round(frac*n_c) documents of each class c (at least one
// when the class has two or more documents and frac > 0). Multi-label
// documents are stratified by their label set. The split depends only on
// the labels, frac and the random stream. Both parts come back in dataset order.
func StratifiedSplit(data []Example, frac float64, rng Shuffler) (train, valid []int, err error) {
	if frac < 0 || frac >= 1 {
		return nil, nil, fmt.Errorf("valid fraction %g: want 0 <= frac < 1", frac)
	}
	groups := map[string][]int{}
	var keys []string
	for i, d := range data {
		k := fmt.Sprint(d.Label)
		if d.Label < 0 {
			k = fmt.Sprint(d.Labels)
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	sort.Strings(keys)
	isValid := make([]bool, len(data))
	for _, k := range keys {
		g := groups[k]
		for i := len(g) - 1; i > 0; i-- {
			j := rng.IntN(i + 1)
			g[i], g[j] = g[j], g[i]
		}
		nv := int(frac*float64(len(g)) + 0.5)
		if nv == 0 && frac > 0 && len(g) >= 2 {
			nv = 1
		}
		if nv >= len(g) && len(g) > 0 {
			nv = len(g) - 1
		}
		for _, i := range g[:nv] {
			isValid[i] = true
		}
	}
	for i, v := range isValid {
		if v {
			valid = append(valid, i)
		} else {
			train = append(train, i)
		}
	}
	return train, valid, nil
}
