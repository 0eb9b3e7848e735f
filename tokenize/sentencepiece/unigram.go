package sentencepiece

import (
	"sort"
)

// pieceTrie is a double-array trie over piece strings: the child of node s by byte c
// is t = units[s].base + c when units[t].check == s. Each node holds the id of the piece
// that ends there (-1: none) and that piece's score, so that the Viterbi loop reads one
// unit per byte.
type pieceTrie struct {
	units []daUnit
}

type daUnit struct {
	base  int32
	check int32
	id    int32 // piece id, with userDefinedFlag; -1 when no piece ends here
	score float32
}

// userDefinedFlag marks a trie id as a user-defined piece (scored by length).
const userDefinedFlag = 1 << 30

type trieKey struct {
	key   string
	id    int32
	score float32
}

// buildTrie builds the trie of keys (distinct, non-empty).
func buildTrie(keys []trieKey) *pieceTrie {
	keys = append([]trieKey(nil), keys...)
	sort.Slice(keys, func(i, j int) bool { return keys[i].key < keys[j].key })
	b := &trieBuilder{}
	b.grow(256 + 1)
	b.used[0] = true
	b.skip[0] = 1
	b.units[0].check = -1
	b.insert(keys, 0, 0)
	// Trim the tail of free units (keep room so base+255 of any node never needs a bounds
	// test beyond len: lookups do test, so this is only for compactness).
	last := len(b.units) - 1
	for last > 0 && !b.used[last] {
		last--
	}
	return &pieceTrie{units: b.units[:last+1]}
}

type trieBuilder struct {
	units    []daUnit
	used     []bool
	skip     []int32 // for a used unit, a later unit from which to look for a free one
	nextFree int
}

func (b *trieBuilder) grow(n int) {
	for len(b.units) < n {
		b.units = append(b.units, daUnit{check: -1, id: -1})
		b.used = append(b.used, false)
		b.skip = append(b.skip, int32(len(b.skip)+1))
	}
}

// insert places the children of node for keys (which share their first depth bytes).
func (b *trieBuilder) insert(keys []trieKey, depth int, node int32) {
	if len(keys) > 0 && len(keys[0].key) == depth {
		b.units[node].id = keys[0].id
		b.units[node].score = keys[0].score
		keys = keys[1:]
	}
	if len(keys) == 0 {
		return
	}
	// Distinct next bytes (keys are sorted, so groups are contiguous).
	var labels [256]byte
	nl := 0
	for i := 0; i < len(keys); {
		c := keys[i].key[depth]
		labels[nl] = c
		nl++
		for i < len(keys) && keys[i].key[depth] == c {
			i++
		}
	}
	base := b.findBase(labels[:nl])
	b.units[node].base = int32(base)
	for _, c := range labels[:nl] {
		t := base + int(c)
		b.used[t] = true
		b.skip[t] = int32(t + 1)
		b.units[t].check = node
	}
	for b.nextFree < len(b.used) && b.used[b.nextFree] {
		b.nextFree++
	}
	for i := 0; i < len(keys); {
		c := keys[i].key[depth]
		j := i
		for j < len(keys) && keys[j].key[depth] == c {
			j++
		}
		b.insert(keys[i:j], depth+1, int32(base+int(c)))
		i = j
	}
}

// searchWindow bounds how far back from the end findBase looks for free units, so that
// building stays linear; like darts-clone, a few holes are left unused instead.
const searchWindow = 4096

func (b *trieBuilder) findBase(labels []byte) int {
	first := int(labels[0])
	for pos := b.firstFree(max(b.nextFree, len(b.used)-searchWindow)); ; pos = b.firstFree(pos + 1) {
		base := pos - first
		if base < 1 {
			continue
		}
		b.grow(base + 256 + 1)
		ok := true
		for _, c := range labels[1:] {
			if b.used[base+int(c)] {
				ok = false
				break
			}
		}
		if ok {
			return base
		}
	}
}

// firstFree returns the first unused unit at or after i (skip links, path-compressed).
func (b *trieBuilder) firstFree(i int) int {
	b.grow(i + 1)
	j := i
	for b.used[j] {
		j = int(b.skip[j])
		b.grow(j + 1)
	}
	for k := i; k != j; {
		next := int(b.skip[k])
		b.skip[k] = int32(j)
		k = next
	}
	return j
}

// longestPrefix returns the length and id of the longest key that is a prefix of s
// (0, -1 when none).
func trieLongestPrefix[T string | []byte](t *pieceTrie, s T) (int, int32) {
	units := t.units
	node := int32(0)
	n, id := 0, int32(-1)
	for i := 0; i < len(s); i++ {
		c := units[node].base + int32(s[i])
		if c <= 0 || int(c) >= len(units) || units[c].check != node {
			break
		}
		node = c
		if units[c].id >= 0 {
			n, id = i+1, units[c].id
		}
	}
	return n, id
}

// oneCharLen is the length of the UTF-8 sequence its first byte announces (1 for a
// continuation byte), as spm's OneCharLen.
func oneCharLen(b byte) int {
	return int("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x02\x02\x03\x04"[b>>4])
}

// unkPenalty is subtracted from the lowest piece score to score an unknown character.
const unkPenalty = 10.0

type bestNode struct {
	score float32
	start int32
	id    int32
}

// span is one piece of a segmentation: bytes [start, end) of the normalized text.
type span struct {
	start, end int32
	id         int32
}

// unigram appends to spans the best segmentation of text as spm 0.1.97's optimized
// Viterbi encoder (unigram_model.cc, EncodeOptimized) finds it: candidates ending at
// the same position are compared in the order spm meets them (by start, then length,
// the unknown last) and only a strictly better one replaces the best so far; scores
// are combined with spm's float/double arithmetic.
func (p *Processor) unigram(text []byte, best []bestNode, spans []span) ([]bestNode, []span) {
	n := len(text)
	if n == 0 {
		return best, spans
	}
	if cap(best) < n+1 {
		best = make([]bestNode, n+1, 2*(n+1))
	}
	best = best[:n+1]
	for i := range best {
		best[i] = bestNode{start: -1}
	}
	units := p.trie.units
	nunits := int32(len(units))
	maxScore := p.maxScore
	unkScore := p.unkScore
	unkID := p.unkID
	for start := 0; start < n; {
		here := best[start].score
		mblen := oneCharLen(text[start])
		if start+mblen > n {
			mblen = n - start
		}
		single := false
		node := int32(0)
		for k := start; k < n; k++ {
			c := units[node].base + int32(text[k])
			if c <= 0 || c >= nunits || units[c].check != node {
				break
			}
			node = c
			u := &units[c]
			if u.id < 0 {
				continue
			}
			end := k + 1
			length := end - start
			var cand float64
			id := u.id
			if id&userDefinedFlag != 0 {
				id &^= userDefinedFlag
				cand = (float64(float32(length)*maxScore) - 0.1) + float64(here)
			} else {
				cand = float64(u.score) + float64(here)
			}
			t := &best[end]
			if t.start == -1 || cand > float64(t.score) {
				t.score = float32(cand)
				t.start = int32(start)
				t.id = id
			}
			if length == mblen {
				single = true
			}
		}
		if !single {
			t := &best[start+mblen]
			cand := float32(unkScore + here)
			if t.start == -1 || cand > t.score {
				t.score = cand
				t.start = int32(start)
				t.id = unkID
			}
		}
		start += mblen
	}
	first := len(spans)
	for end := n; end > 0; {
		b := best[end]
		spans = append(spans, span{start: b.start, end: int32(end), id: b.id})
		end = int(b.start)
	}
	for i, j := first, len(spans)-1; i < j; i, j = i+1, j-1 {
		spans[i], spans[j] = spans[j], spans[i]
	}
	return best, spans
}
