package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/ulmfit-go/ulmfit/nn"
)

// ErrCorpusTooSmall is returned when a corpus has too few tokens to fill one
// batch of rows with at least two tokens each.
var ErrCorpusTooSmall = errors.New("corpus too small")

// LMData lays out a corpus for language-model training the way fastai and
// AWD-LSTM do: the documents (each beginning with xxbos) are put in a random
// order each epoch, concatenated into one stream, and the stream is cut into
// BS contiguous rows; a batch is a window of the rows, so row b of one batch
// continues row b of the previous batch and the hidden state carries over.
//
// Backward models read every document back to front, as fastai v2 does
// (reverse_text flips each numericalized document, so xxbos ends each
// reversed document), while the documents' order is shuffled as usual.
type LMData struct {
	Docs     [][]int32
	BS       int
	Backward bool
	// Shuffle puts the documents in a fresh random order each epoch,
	// derived from (Seed, epoch); without it the order is the corpus order.
	Shuffle bool
	Seed    uint64
}

// NTokens returns the total number of tokens in the corpus.
func (d *LMData) NTokens() int64 {
	var n int64
	for _, doc := range d.Docs {
		n += int64(len(doc))
	}
	return n
}

// RowLen returns the length of each of the BS rows (the stream length
// divided by BS, the remainder dropped).
func (d *LMData) RowLen() int {
	if d.BS <= 0 {
		return 0
	}
	return int(d.NTokens() / int64(d.BS))
}

// Check returns an error wrapping ErrCorpusTooSmall if there are fewer than
// two tokens per row.
func (d *LMData) Check() error {
	if d.BS <= 0 {
		return fmt.Errorf("batch size %d: must be positive", d.BS)
	}
	if n := d.NTokens(); n < 2*int64(d.BS) {
		return fmt.Errorf("%w: %d tokens in %d documents, need at least 2 per row for batch size %d (use more text or a smaller --bs)",
			ErrCorpusTooSmall, n, len(d.Docs), d.BS)
	}
	return nil
}

// Order returns the document order of an epoch (0-based).
func (d *LMData) Order(epoch int) []int {
	if d.Shuffle {
		return NewRNG(d.Seed, StreamShuffle, uint64(epoch)).Perm(len(d.Docs))
	}
	idx := make([]int, len(d.Docs))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// Epoch builds the token rows of an epoch (0-based). buf is reused if it is
// large enough.
func (d *LMData) Epoch(epoch int, buf []int32) (*LMRows, error) {
	if err := d.Check(); err != nil {
		return nil, err
	}
	n := d.NTokens()
	if int64(cap(buf)) < n {
		buf = make([]int32, n)
	}
	stream := buf[:n]
	off := 0
	for _, i := range d.Order(epoch) {
		doc := d.Docs[i]
		Orient(stream[off:off+len(doc)], doc, d.Backward)
		off += len(doc)
	}
	L := int(n / int64(d.BS))
	return &LMRows{Stream: stream, BS: d.BS, L: L}, nil
}

// LMRows is one epoch's stream cut into BS rows of length L: row b is
// Stream[b*L : (b+1)*L].
type LMRows struct {
	Stream []int32
	BS, L  int
}

// Window fills x and y (each at least BS*n long) with the inputs and targets
// of the window starting at position pos of every row, batch-major: element
// (b, t) is at b*n+t, and y is x shifted by one token. The window is
// shortened to fit the rows; it returns the actual length n (0 when pos has
// reached the end, L-1).
func (r *LMRows) Window(pos, seqLen int, x, y []int32) int {
	n := min(seqLen, r.L-1-pos)
	if n <= 0 {
		return 0
	}
	for b := 0; b < r.BS; b++ {
		row := r.Stream[b*r.L : (b+1)*r.L]
		copy(x[b*n:(b+1)*n], row[pos:pos+n])
		copy(y[b*n:(b+1)*n], row[pos+1:pos+n+1])
	}
	return n
}

// Steps returns the nominal number of windows of length bptt in an epoch,
// ceil((L-1)/bptt); with variable-length BPTT the actual count varies a little.
func (r *LMRows) Steps(bptt int) int {
	return (r.L - 1 + bptt - 1) / bptt
}

// MaxExtraSeq is how far a variable sequence length may exceed bptt (fastai
// v1's max_len): lengths are capped at bptt+MaxExtraSeq so buffers can be
// sized once.
const MaxExtraSeq = 25

// SeqLen draws the length of the next BPTT window as AWD-LSTM does: the base
// is bptt with probability 0.95 and bptt/2 otherwise; the length is then
// drawn from N(base, 5), truncated to an integer, at least 5 and at most
// bptt+MaxExtraSeq. The learning rate of that step should be scaled by
// seqLen/bptt.
func SeqLen(r *nn.RNG, bptt int) int {
	base := float64(bptt)
	if r.Float64() >= 0.95 {
		base /= 2
	}
	sl := int(math.Trunc(base + 5*r.Normal()))
	return max(5, min(sl, bptt+MaxExtraSeq))
}
