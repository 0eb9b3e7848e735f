package sentencepiece

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// trainWord is one distinct "▁"-prefixed word of the training text with its count;
// its uncovered characters are trainUnknown.
type trainWord struct {
	s     string
	count int64
}

// trainer holds the state of one Train call.
type trainer struct {
	opt           trainOptions
	ctx           context.Context
	words         []trainWord
	totalCount    int64
	required      map[rune]int64 // the covered characters with their counts
	requiredOrder []rune         // by descending count, then code point
	script        map[rune]int
	scriptDense   []int16 // script of the covered characters below U+10000

	// The current pieces: text, score (a log probability, rounded to float32 as spm
	// keeps it) and length in characters.
	pieces []string
	scores []float64
	plen   []int32

	blocks []*trainBlock
	final  []Piece
}

// trainBlock is a fixed range of words with the occurrences of the current pieces in
// them (the lattice nodes), by start then length. The E-step sums the blocks in
// order, so the result does not depend on how many goroutines run them.
type trainBlock struct {
	w0, w1 int
	nchars []uint16 // characters of each word
	mstart []int32  // per word, its first match; one more at the end
	id     []int32
	pos    []uint16
	ln     []uint16
}

// trainBlocks is the number of blocks the words are cut into.
const trainBlocks = 16

// trainUnkPenalty is spm's kUnkPenalty: an unknown character scores the lowest piece
// score minus this.
const trainUnkPenalty = 10

// run is spm's unigram Trainer::Train after LoadSentences.
func (t *trainer) run() error {
	pieces, scores := t.seeds()
	t.buildBlocks(pieces, scores)
	t.report(TrainProgress{Stage: TrainSeeded, Pieces: len(t.pieces), Words: t.totalCount})
	desired := int(float64(t.opt.VocabSize) * 1.1)
	for round := 0; ; round++ {
		for it := 0; it < t.opt.NumSubIterations; it++ {
			if err := t.ctx.Err(); err != nil {
				return err
			}
			expected, obj := t.eStep()
			if err := t.mStep(expected); err != nil {
				return err
			}
			t.report(TrainProgress{Stage: TrainEM, Round: round, Iteration: it, Pieces: len(t.pieces), Objective: obj, Words: t.totalCount})
		}
		if len(t.pieces) <= desired {
			break
		}
		if err := t.ctx.Err(); err != nil {
			return err
		}
		before := len(t.pieces)
		tokens := t.prune(desired)
		t.report(TrainProgress{Stage: TrainPruned, Round: round, Pieces: len(t.pieces), Tokens: tokens, Words: t.totalCount})
		if len(t.pieces) >= before {
			break // nothing left to prune
		}
	}
	if err := t.finalize(); err != nil {
		return err
	}
	t.report(TrainProgress{Stage: TrainDone, Pieces: len(t.final), Words: t.totalCount})
	return nil
}

func (t *trainer) report(p TrainProgress) {
	if t.opt.Progress != nil {
		t.opt.Progress(p)
	}
}

// setPieces installs new pieces and their lengths.
func (t *trainer) setPieces(pieces []string, scores []float64) {
	t.pieces, t.scores = pieces, scores
	t.plen = make([]int32, len(pieces))
	for i, p := range pieces {
		t.plen[i] = int32(utf8.RuneCountInString(p))
	}
}

// pieceIndex maps each piece to its id and each proper prefix of a piece that is not a
// piece to -1, so that a lookup can stop at the first substring that no piece starts
// with.
func (t *trainer) pieceIndex() map[string]int32 {
	m := make(map[string]int32, 2*len(t.pieces))
	for i, p := range t.pieces {
		m[p] = int32(i)
	}
	for _, p := range t.pieces {
		for k := 1; k < len(p); k++ {
			if utf8.RuneStart(p[k]) {
				if _, ok := m[p[:k]]; !ok {
					m[p[:k]] = -1
				}
			}
		}
	}
	return m
}

// runParallel calls fn(i) for i in [0, n) on opt.Threads goroutines.
func (t *trainer) runParallel(n int, fn func(worker, i int)) {
	threads := min(t.opt.Threads, n)
	if threads <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(w, i)
			}
		}(w)
	}
	wg.Wait()
}

// buildBlocks installs the seed pieces, cuts the words into blocks of about equal
// text and finds the occurrences of the pieces in them.
func (t *trainer) buildBlocks(pieces []string, scores []float64) {
	t.setPieces(pieces, scores)
	nb := min(trainBlocks, len(t.words))
	var total int
	for i := range t.words {
		total += len(t.words[i].s)
	}
	t.blocks = make([]*trainBlock, 0, nb)
	w0, acc := 0, 0
	for i := range t.words {
		acc += len(t.words[i].s)
		if acc*nb >= total*(len(t.blocks)+1) || i == len(t.words)-1 {
			t.blocks = append(t.blocks, &trainBlock{w0: w0, w1: i + 1})
			w0 = i + 1
		}
	}
	index := t.pieceIndex()
	maxLen := t.opt.MaxPieceLength
	t.runParallel(len(t.blocks), func(_, bi int) {
		b := t.blocks[bi]
		nw := b.w1 - b.w0
		b.nchars = make([]uint16, nw)
		b.mstart = make([]int32, nw+1)
		var off []int
		for k := 0; k < nw; k++ {
			s := t.words[b.w0+k].s
			off = off[:0]
			for i := range s {
				off = append(off, i)
			}
			n := len(off)
			off = append(off, len(s))
			b.nchars[k] = uint16(n)
			b.mstart[k] = int32(len(b.id))
			for i := 0; i < n; i++ {
				if s[off[i]] == 0 {
					continue
				}
				for l := 1; l <= maxLen && i+l <= n; l++ {
					v, ok := index[s[off[i]:off[i+l]]]
					if !ok {
						break
					}
					if v >= 0 {
						b.id = append(b.id, v)
						b.pos = append(b.pos, uint16(i))
						b.ln = append(b.ln, uint16(l))
					}
				}
			}
		}
		b.mstart[nw] = int32(len(b.id))
		b.id = slices.Clip(b.id)
		b.pos = slices.Clip(b.pos)
		b.ln = slices.Clip(b.ln)
	})
}

// remap renumbers the pieces (newID[old] is the new id, -1 for a dropped piece) and
// drops the occurrences of the dropped ones.
func (t *trainer) remap(newID []int32) {
	t.runParallel(len(t.blocks), func(_, bi int) {
		b := t.blocks[bi]
		o := int32(0)
		for k := 0; k < b.w1-b.w0; k++ {
			s, e := b.mstart[k], b.mstart[k+1]
			b.mstart[k] = o
			for j := s; j < e; j++ {
				if nid := newID[b.id[j]]; nid >= 0 {
					b.id[o], b.pos[o], b.ln[o] = nid, b.pos[j], b.ln[j]
					o++
				}
			}
		}
		b.mstart[b.w1-b.w0] = o
		if int(o) < cap(b.id)/2 {
			b.id = slices.Clone(b.id[:o])
			b.pos = slices.Clone(b.pos[:o])
			b.ln = slices.Clone(b.ln[:o])
		} else {
			b.id, b.pos, b.ln = b.id[:o], b.pos[:o], b.ln[:o]
		}
	})
}

// minScore is the lowest current piece score (spm's min_score_).
func (t *trainer) minScore() float64 {
	m := math.Inf(1)
	for _, s := range t.scores {
		m = min(m, s)
	}
	return m
}

// trainLinearMax is the longest word (in characters) whose forward-backward runs in
// probabilities rather than log probabilities. The weights are exp(score+trainShift*len),
// which scales every path of a word by the same factor exp(trainShift*n) and keeps the
// products of up to this many characters far from underflow and overflow.
const (
	trainLinearMax = 24
	trainShift     = 10
)

// trainScratch is one goroutine's lattice buffers.
type trainScratch struct {
	alpha, beta []float64
	back        []int32
	backID      []int32
}

func (s *trainScratch) grow(n int) {
	if len(s.alpha) < n+1 {
		s.alpha = make([]float64, 2*n+2)
		s.beta = make([]float64, 2*n+2)
		s.back = make([]int32, 2*n+2)
		s.backID = make([]int32, 2*n+2)
	}
}

// eStep is spm's RunEStep: forward-backward on every word's lattice, the expected
// count of each piece (weighted by the word counts) and the objective, the negative
// log-likelihood per word.
func (t *trainer) eStep() ([]float64, float64) {
	np := len(t.pieces)
	w := make([]float64, np)
	for i := range w {
		w[i] = math.Exp(t.scores[i] + trainShift*float64(t.plen[i]))
	}
	unk := t.minScore() - trainUnkPenalty
	wUnk := math.Exp(unk + trainShift)
	expected := make([][]float64, len(t.blocks))
	objs := make([]float64, len(t.blocks))
	scratch := make([]trainScratch, t.opt.Threads)
	t.runParallel(len(t.blocks), func(worker, bi int) {
		b := t.blocks[bi]
		ex := make([]float64, np)
		sc := &scratch[worker]
		var obj float64
		for k := 0; k < b.w1-b.w0; k++ {
			n := int(b.nchars[k])
			m0, m1 := int(b.mstart[k]), int(b.mstart[k+1])
			count := float64(t.words[b.w0+k].count)
			sc.grow(n)
			logZ, ok := 0.0, false
			if n <= trainLinearMax {
				logZ, ok = b.marginalLinear(sc, n, m0, m1, w, wUnk, count, ex)
			}
			if !ok {
				logZ = b.marginalLog(sc, n, m0, m1, t.scores, unk, count, ex)
			}
			obj -= count * logZ
		}
		expected[bi] = ex
		objs[bi] = obj
	})
	total := expected[0]
	obj := objs[0]
	for bi := 1; bi < len(t.blocks); bi++ {
		for i, v := range expected[bi] {
			total[i] += v
		}
		obj += objs[bi]
	}
	return total, obj / float64(t.totalCount)
}

// marginalLinear adds the word's expected piece counts to ex in probabilities; it
// returns the word's log-likelihood, and false (having added nothing) when the sum
// under- or overflows.
func (b *trainBlock) marginalLinear(sc *trainScratch, n, m0, m1 int, w []float64, wUnk, count float64, ex []float64) (float64, bool) {
	alpha, beta := sc.alpha[:n+1], sc.beta[:n+1]
	clear(alpha)
	alpha[0] = 1
	j := m0
	for p := 0; p < n; p++ {
		a := alpha[p]
		if !(j < m1 && int(b.pos[j]) == p && b.ln[j] == 1) {
			alpha[p+1] += a * wUnk
		}
		for ; j < m1 && int(b.pos[j]) == p; j++ {
			alpha[p+int(b.ln[j])] += a * w[b.id[j]]
		}
	}
	z := alpha[n]
	if !(z > 1e-290 && z < 1e290) {
		return 0, false
	}
	beta[n] = 1
	j = m1 - 1
	for p := n - 1; p >= 0; p-- {
		var s float64
		single := false
		for ; j >= m0 && int(b.pos[j]) == p; j-- {
			if b.ln[j] == 1 {
				single = true
			}
			s += w[b.id[j]] * beta[p+int(b.ln[j])]
		}
		if !single {
			s += wUnk * beta[p+1]
		}
		beta[p] = s
	}
	scale := count / z
	for j := m0; j < m1; j++ {
		p := int(b.pos[j])
		id := b.id[j]
		ex[id] += alpha[p] * w[id] * beta[p+int(b.ln[j])] * scale
	}
	return math.Log(z) - trainShift*float64(n), true
}

// trainLogAdd returns log(exp(a)+exp(b)).
func trainLogAdd(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// marginalLog is marginalLinear in log probabilities, for long words.
func (b *trainBlock) marginalLog(sc *trainScratch, n, m0, m1 int, scores []float64, unk, count float64, ex []float64) float64 {
	alpha, beta := sc.alpha[:n+1], sc.beta[:n+1]
	ninf := math.Inf(-1)
	for i := range alpha {
		alpha[i], beta[i] = ninf, ninf
	}
	alpha[0] = 0
	j := m0
	for p := 0; p < n; p++ {
		a := alpha[p]
		if !(j < m1 && int(b.pos[j]) == p && b.ln[j] == 1) {
			alpha[p+1] = trainLogAdd(alpha[p+1], a+unk)
		}
		for ; j < m1 && int(b.pos[j]) == p; j++ {
			e := p + int(b.ln[j])
			alpha[e] = trainLogAdd(alpha[e], a+scores[b.id[j]])
		}
	}
	beta[n] = 0
	j = m1 - 1
	for p := n - 1; p >= 0; p-- {
		s := ninf
		single := false
		for ; j >= m0 && int(b.pos[j]) == p; j-- {
			if b.ln[j] == 1 {
				single = true
			}
			s = trainLogAdd(s, scores[b.id[j]]+beta[p+int(b.ln[j])])
		}
		if !single {
			s = trainLogAdd(s, unk+beta[p+1])
		}
		beta[p] = s
	}
	z := alpha[n]
	for j := m0; j < m1; j++ {
		p := int(b.pos[j])
		id := b.id[j]
		ex[id] += count * math.Exp(alpha[p]+scores[id]+beta[p+int(b.ln[j])]-z)
	}
	return z
}

// trainDigamma is the digamma function (recurrence up to 7, then the asymptotic
// series), as spm's M-step uses it.
func trainDigamma(x float64) float64 {
	var r float64
	for ; x < 7; x++ {
		r -= 1 / x
	}
	x -= 0.5
	xx := 1 / x
	xx2 := xx * xx
	xx4 := xx2 * xx2
	r += math.Log(x) + xx2/24 - 7*xx4/960 + 31*xx4*xx2/8064 - 127*xx4*xx4/30720
	return r
}

// mStep is spm's RunMStep: pieces expected less than half a time are dropped, the
// others scored digamma(expected) - digamma(sum of expected), the Bayesian EM that
// acts as a sparse prior.
func (t *trainer) mStep(expected []float64) error {
	const threshold = 0.5
	newID := make([]int32, len(t.pieces))
	var pieces []string
	var freqs []float64
	var sum float64
	for i, f := range expected {
		if float32(f) < threshold {
			newID[i] = -1
			continue
		}
		newID[i] = int32(len(pieces))
		pieces = append(pieces, t.pieces[i])
		freqs = append(freqs, f)
		sum += f
	}
	if len(pieces) == 0 {
		return fmt.Errorf("sentencepiece: train: EM dropped every piece (too little text?)")
	}
	logSum := trainDigamma(sum)
	for i, f := range freqs {
		freqs[i] = float64(float32(trainDigamma(f) - logSum))
	}
	t.setPieces(pieces, freqs)
	t.remap(newID)
	return nil
}

// viterbi finds the best segmentation of word k of block b; it returns the number of
// pieces and calls fn with the id of each (-1 for an unknown character).
func (b *trainBlock) viterbi(sc *trainScratch, k int, scores []float64, unk float64, fn func(id int32)) int {
	n := int(b.nchars[k])
	m0, m1 := int(b.mstart[k]), int(b.mstart[k+1])
	sc.grow(n)
	best, back, backID := sc.alpha[:n+1], sc.back[:n+1], sc.backID[:n+1]
	ninf := math.Inf(-1)
	for i := range best {
		best[i] = ninf
	}
	best[0] = 0
	j := m0
	for p := 0; p < n; p++ {
		a := best[p]
		if !(j < m1 && int(b.pos[j]) == p && b.ln[j] == 1) {
			if s := a + unk; s > best[p+1] {
				best[p+1], back[p+1], backID[p+1] = s, int32(p), -1
			}
		}
		for ; j < m1 && int(b.pos[j]) == p; j++ {
			e := p + int(b.ln[j])
			if s := a + scores[b.id[j]]; s > best[e] {
				best[e], back[e], backID[e] = s, int32(p), b.id[j]
			}
		}
	}
	tokens := 0
	for e := n; e > 0; e = int(back[e]) {
		fn(backID[e])
		tokens++
	}
	return tokens
}

// trainNode is a node of a piece's own lattice (for the second-best segmentation).
type trainNode struct {
	start, end int
	id         int32
	score      float64
}

// trainRanked is one of the two best paths to a position: its score, its last node
// and the rank of the path it extends at that node's start.
type trainRanked struct {
	score float64
	node  int32
	prev  int8
}

// twoBest returns the two best segmentations (piece ids, -1 for an unknown character)
// of piece s under the current pieces; second is nil when s has only one.
func (t *trainer) twoBest(s string, index map[string]int32, unk float64) (first, second []int32) {
	var off [513]int
	n := 0
	for i := range s {
		off[n] = i
		n++
	}
	off[n] = len(s)
	nodes := make([]trainNode, 0, 4*n)
	for i := 0; i < n; i++ {
		single := false
		for l := 1; i+l <= n; l++ {
			v, ok := index[s[off[i]:off[i+l]]]
			if !ok {
				break
			}
			if v >= 0 {
				nodes = append(nodes, trainNode{i, i + l, v, t.scores[v]})
				if l == 1 {
					single = true
				}
			}
		}
		if !single {
			nodes = append(nodes, trainNode{i, i + 1, -1, unk})
		}
	}
	best := make([][2]trainRanked, n+1)
	cnt := make([]int8, n+1)
	best[0][0] = trainRanked{0, -1, -1}
	cnt[0] = 1
	for ni, nd := range nodes {
		for r := int8(0); r < cnt[nd.start]; r++ {
			c := trainRanked{best[nd.start][r].score + nd.score, int32(ni), r}
			e := nd.end
			switch {
			case cnt[e] == 0:
				best[e][0] = c
				cnt[e] = 1
			case cnt[e] == 1:
				if c.score > best[e][0].score {
					best[e][1], best[e][0] = best[e][0], c
				} else {
					best[e][1] = c
				}
				cnt[e] = 2
			case c.score > best[e][1].score:
				if c.score > best[e][0].score {
					best[e][1], best[e][0] = best[e][0], c
				} else {
					best[e][1] = c
				}
			}
		}
	}
	path := func(r int8) []int32 {
		var ids []int32
		for e := n; e > 0; {
			c := best[e][r]
			nd := nodes[c.node]
			ids = append(ids, nd.id)
			e, r = nd.start, c.prev
		}
		slices.Reverse(ids)
		return ids
	}
	first = path(0)
	if cnt[n] > 1 {
		second = path(1)
	}
	return first, second
}

// prune is spm's PruneSentencePieces: each piece's loss is how much the likelihood of
// the Viterbi segmentation drops when its occurrences are replaced by its second-best
// segmentation; the pieces with the least loss go, keeping max(desired,
// ShrinkingFactor of them). It returns the Viterbi token count before the pruning.
func (t *trainer) prune(desired int) int64 {
	np := len(t.pieces)
	index := t.pieceIndex()
	unk := t.minScore() - trainUnkPenalty

	// Which pieces can go, and what replaces the ones that are their own best
	// segmentation.
	alwaysKeep := make([]bool, np)
	alternatives := make([][]int32, np)
	const chunk = 4096
	t.runParallel((np+chunk-1)/chunk, func(_, c int) {
		for i := c * chunk; i < min(np, (c+1)*chunk); i++ {
			first, second := t.twoBest(t.pieces[i], index, unk)
			switch {
			case second == nil:
				alwaysKeep[i] = true
			case len(first) >= 2:
				alwaysKeep[i] = false
			default:
				alwaysKeep[i] = true
				for _, id := range second {
					if id >= 0 {
						alternatives[i] = append(alternatives[i], id)
					}
				}
			}
		}
	})

	// The Viterbi frequency of each piece over the words (integers, so the sum does
	// not depend on the order).
	freqs := make([][]int64, t.opt.Threads)
	tokensBy := make([]int64, t.opt.Threads)
	scratch := make([]trainScratch, t.opt.Threads)
	t.runParallel(len(t.blocks), func(worker, bi int) {
		if freqs[worker] == nil {
			freqs[worker] = make([]int64, np)
		}
		f := freqs[worker]
		b := t.blocks[bi]
		for k := 0; k < b.w1-b.w0; k++ {
			count := t.words[b.w0+k].count
			n := b.viterbi(&scratch[worker], k, t.scores, unk, func(id int32) {
				if id >= 0 {
					f[id] += count
				}
			})
			tokensBy[worker] += int64(n) * count
		}
	})
	freq := make([]float64, np)
	var tokens int64
	for w := range freqs {
		tokens += tokensBy[w]
		if freqs[w] == nil {
			continue
		}
		for i, v := range freqs[w] {
			freq[i] += float64(v)
		}
	}
	var sum float64
	for _, f := range freq {
		sum += f
	}
	logSum := math.Log(sum)
	vsum := float64(t.totalCount)

	type cand struct {
		i    int
		loss float64
	}
	var keep []int
	var cands []cand
	for i := 0; i < np; i++ {
		switch {
		case freq[i] == 0 || !alwaysKeep[i]:
			// not in any Viterbi path, or split there anyway: can go
		case len(alternatives[i]) == 0:
			keep = append(keep, i)
		default:
			f := freq[i] / vsum
			logProb := math.Log(freq[i]) - logSum
			logSumAlt := math.Log(sum + freq[i]*float64(len(alternatives[i])-1))
			var logProbAlt float64
			for _, a := range alternatives[i] {
				logProbAlt += math.Log(freq[a]+freq[i]) - logSumAlt
			}
			cands = append(cands, cand{i, f * (logProb - logProbAlt)})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.loss != b.loss {
			return cmp.Compare(b.loss, a.loss)
		}
		return cmp.Compare(a.i, b.i)
	})
	pruned := max(desired, int(float32(t.opt.ShrinkingFactor)*float32(np)))
	order := keep
	for _, c := range cands {
		if len(order) >= pruned {
			break
		}
		order = append(order, c.i)
	}
	newID := make([]int32, np)
	for i := range newID {
		newID[i] = -1
	}
	pieces := make([]string, len(order))
	scores := make([]float64, len(order))
	for k, i := range order {
		newID[i] = int32(k)
		pieces[k], scores[k] = t.pieces[i], t.scores[i]
	}
	t.setPieces(pieces, scores)
	t.remap(newID)
	return tokens
}

// finalize is spm's FinalizeSentencePieces: every covered character (with a score
// just above the lowest when EM dropped it), then the best-scored pieces up to
// VocabSize, all by descending score (ties by text).
func (t *trainer) finalize() error {
	final := map[string]float32{}
	minScore := float32(t.minScore())
	have := make(map[string]float32, len(t.pieces))
	for i, p := range t.pieces {
		have[p] = float32(t.scores[i])
	}
	meta := map[string]bool{}
	for _, p := range t.opt.meta {
		meta[p.Piece] = true
	}
	var penalty float32
	for _, r := range t.requiredOrder {
		s := string(r)
		if sc, ok := have[s]; ok {
			final[s] = sc
		} else {
			final[s] = minScore + penalty
			penalty += 0.0001
		}
	}
	size := t.opt.VocabSize - len(t.opt.meta)
	order := make([]int, len(t.pieces))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		sa, sb := float32(t.scores[a]), float32(t.scores[b])
		if sa != sb {
			return cmp.Compare(sb, sa)
		}
		return strings.Compare(t.pieces[a], t.pieces[b])
	})
	for _, i := range order {
		if len(final) >= size {
			break
		}
		p := t.pieces[i]
		if _, ok := final[p]; ok || meta[p] {
			continue
		}
		final[p] = float32(t.scores[i])
	}
	if len(final) < size {
		return fmt.Errorf("sentencepiece: train: VocabSize %d is too large for these words: they give at most %d pieces (%d with the meta pieces)",
			t.opt.VocabSize, len(final), len(final)+len(t.opt.meta))
	}
	t.final = make([]Piece, 0, len(final))
	for p, s := range final {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("sentencepiece: train: piece %q has a non-finite score", p)
		}
		t.final = append(t.final, Piece{Piece: p, Score: s, Type: Normal})
	}
	slices.SortFunc(t.final, func(a, b Piece) int {
		if a.Score != b.Score {
			return cmp.Compare(b.Score, a.Score)
		}
		return strings.Compare(a.Piece, b.Piece)
	})
	return nil
}
