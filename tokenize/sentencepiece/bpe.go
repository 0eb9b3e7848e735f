package sentencepiece

// bpeSymbol is one symbol of the BPE merge loop: bytes [start, end) of the normalized
// text, linked to its neighbours; frozen symbols (user-defined pieces) never merge.
type bpeSymbol struct {
	start, end int32
	prev, next int32
	freeze     bool
}

// bpePair is a candidate merge of symbols left and right into a piece of size bytes.
type bpePair struct {
	left, right int32
	size        int32
	score       float32
}

// bpeQueue is a max-heap of pairs: the highest score first, the leftmost on ties.
type bpeQueue []bpePair

func (q bpeQueue) less(i, j int) bool {
	return q[i].score > q[j].score || (q[i].score == q[j].score && q[i].left < q[j].left)
}

func (q *bpeQueue) push(x bpePair) {
	*q = append(*q, x)
	h := *q
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *bpeQueue) pop() bpePair {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

type bpeScratch struct {
	syms  []bpeSymbol
	queue bpeQueue
}

// bpe appends to spans the segmentation of text by spm 0.1.97's BPE encoder
// (bpe_model.cc): split into characters (user-defined pieces whole), merge the best
// scoring adjacent pair that is a piece until none is left, then split merged pieces
// that are UNUSED back into the pairs they were made of.
func (p *Processor) bpe(text []byte, sc *bpeScratch, spans []span) []span {
	if len(text) == 0 {
		return spans
	}
	syms := sc.syms[:0]
	for i := 0; i < len(text); {
		l, frozen := 0, false
		if p.userDefined != nil {
			if n, _ := trieLongestPrefix(p.userDefined, text[i:]); n > 0 {
				l, frozen = n, true
			}
		}
		if l == 0 {
			l = min(oneCharLen(text[i]), len(text)-i)
		}
		idx := int32(len(syms))
		syms = append(syms, bpeSymbol{start: int32(i), end: int32(i + l), prev: idx - 1, next: idx + 1, freeze: frozen})
		i += l
	}
	syms[len(syms)-1].next = -1

	// revMerge remembers, for merged pieces that are UNUSED, the two pieces merged.
	var revMerge map[string][2]string
	q := sc.queue[:0]
	add := func(left, right int32) {
		if left < 0 || right < 0 || syms[left].freeze || syms[right].freeze {
			return
		}
		piece := text[syms[left].start:syms[right].end]
		id, ok := p.normal[string(piece)]
		if !ok {
			return
		}
		q.push(bpePair{left: left, right: right, size: int32(len(piece)), score: p.scores[id]})
		if p.types[id] == Unused {
			if revMerge == nil {
				revMerge = make(map[string][2]string)
			}
			revMerge[string(piece)] = [2]string{
				string(text[syms[left].start:syms[left].end]),
				string(text[syms[right].start:syms[right].end]),
			}
		}
	}
	for i := int32(1); i < int32(len(syms)); i++ {
		add(i-1, i)
	}
	for len(q) > 0 {
		top := q.pop()
		l, r := &syms[top.left], &syms[top.right]
		if l.start == l.end || r.start == r.end || (l.end-l.start)+(r.end-r.start) != top.size {
			continue // stale
		}
		// Merge right into left; the merged symbol spans both (they are adjacent).
		l.end = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = top.left
		}
		r.start, r.end = 0, 0
		add(l.prev, top.left)
		add(top.left, l.next)
	}
	sc.syms, sc.queue = syms, q

	for i := int32(0); i != -1; i = syms[i].next {
		s := syms[i]
		w := text[s.start:s.end]
		id := p.pieceToIDBytes(w)
		if p.types[id] == Unused && revMerge != nil {
			spans = p.bpeResegment(string(w), s.start, revMerge, spans)
			continue
		}
		spans = append(spans, span{start: s.start, end: s.end, id: id})
	}
	return spans
}

// bpeResegment appends piece w (at byte offset start), split back into its parts when
// it is an UNUSED piece.
func (p *Processor) bpeResegment(w string, start int32, revMerge map[string][2]string, spans []span) []span {
	id := p.PieceToID(w)
	if p.types[id] == Unused {
		if parts, ok := revMerge[w]; ok {
			spans = p.bpeResegment(parts[0], start, revMerge, spans)
			return p.bpeResegment(parts[1], start+int32(len(parts[0])), revMerge, spans)
		}
	}
	return append(spans, span{start: start, end: start + int32(len(w)), id: id})
}

// pieceToIDBytes is PieceToID for a byte slice, without allocating.
func (p *Processor) pieceToIDBytes(b []byte) int32 {
	if id, ok := p.reserved[string(b)]; ok {
		return id
	}
	if id, ok := p.normal[string(b)]; ok {
		return id
	}
	return p.unkID
}
