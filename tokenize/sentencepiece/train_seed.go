package sentencepiece

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"sort"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Seed pieces, as spm's MakeSeedSentencePieces: every covered character (scored by its
// count) and the most frequent valid substrings of the words (scored by occurrences
// times length) that are internal nodes of the suffix tree of the text: substrings that
// occur at least twice and are not always followed by the same character. spm builds
// an enhanced suffix array over the whole text; here the suffixes of the distinct words
// are sorted (cut after MaxPieceLength+1 characters, which is all that decides whether
// a substring of at most MaxPieceLength characters is a node) and weighted by the word
// counts, which gives the same frequencies. The end of a word counts as one character,
// the "▁" that follows the word in spm's text, so that a substring found only at the
// ends of words is no seed, as in spm, where it is always followed by "▁" (but for
// the few words at the end of a line). On 30 MB of Gutenberg this gives 227k seeds
// (spm: 228k) and a 15k model that shares 14,805 pieces with spm's (14,151 when word
// ends count as all different).

// trainSeedEnd ends each word in the suffix text; trainSeedUnknown stands for an
// unknown character there.
const (
	trainSeedEnd     = 0
	trainSeedUnknown = 0x110000
)

// Script classes for IsValidSentencePiece.
const (
	trainScriptAny = -1
)

type trainSeedCand struct {
	start int32 // position in the suffix text
	n     int32 // length in characters
	score int64
}

// seeds returns the seed pieces (characters first, by descending count, then the
// substrings by descending score) with their log-probability scores.
func (t *trainer) seeds() ([]string, []float64) {
	maxLen := t.opt.MaxPieceLength
	window := maxLen + 1

	// The suffix text: the words' characters, each word ended by trainSeedEnd.
	total := 0
	for i := range t.words {
		total += utf8.RuneCountInString(t.words[i].s) + 1
	}
	text := make([]int32, 0, total)
	owner := make([]int32, 0, total) // word of each position
	chars := make(map[rune]int64, len(t.required))
	var dense [0x10000]int64
	for wi := range t.words {
		w := &t.words[wi]
		for _, r := range w.s {
			switch {
			case r == 0:
				r = trainSeedUnknown
			case r < 0x10000:
				dense[r] += w.count
			default:
				chars[r] += w.count
			}
			text = append(text, r)
			owner = append(owner, int32(wi))
		}
		text = append(text, trainSeedEnd)
		owner = append(owner, int32(wi))
	}
	for r, c := range dense {
		if c > 0 {
			chars[rune(r)] = c
		}
	}
	t.prepareScripts()

	// The suffixes that start at a character, sorted by their first window characters
	// (the end of a word first), ties by position so that the order is unique.
	sa := make([]int32, 0, total-len(t.words))
	for i, r := range text {
		if r != trainSeedEnd {
			sa = append(sa, int32(i))
		}
	}
	trainSortSuffixes(text, sa, window, chars)

	// lcp[k]: the common prefix of sa[k-1] and sa[k], in characters, at most window,
	// a word's end included but not what comes after it.
	n := len(sa)
	lcp := make([]int32, n+1)
	trainParallelFor(t.opt.Threads, n, func(lo, hi int) {
		for k := max(lo, 1); k < hi; k++ {
			a, b := int(sa[k-1]), int(sa[k])
			h := 0
			for h < window && text[a+h] == text[b+h] {
				h++
				if text[a+h-1] == trainSeedEnd {
					break // the text after a word's end is unknown
				}
			}
			lcp[k] = int32(h)
		}
	})
	weight := make([]int64, n+1) // prefix sums of the suffixes' word counts
	for k, p := range sa {
		weight[k+1] = weight[k] + t.words[owner[p]].count
	}

	var cands []trainSeedCand
	seedSize := t.opt.SeedSize
	cmpCand := func(a, b trainSeedCand) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return slices.Compare(text[a.start:a.start+a.n], text[b.start:b.start+b.n])
	}
	shrink := func() {
		slices.SortFunc(cands, cmpCand)
		if len(cands) > seedSize {
			cands = cands[:seedSize]
		}
	}
	add := func(start int32, length int, freq int64) {
		if length <= 1 || length > maxLen || !t.validSeed(text[start:int(start)+length]) {
			return
		}
		cands = append(cands, trainSeedCand{start: start, n: int32(length), score: freq * int64(length)})
		if len(cands) > 4*seedSize+1024 {
			shrink()
		}
	}

	// The internal nodes: lcp-intervals [lb, rb] of depth d hold the suffixes that
	// start with the same d characters and branch after them.
	type frame struct {
		depth int32
		lb    int
	}
	stack := []frame{{0, 0}}
	for k := 1; k <= n; k++ {
		h := int32(-1)
		if k < n {
			h = lcp[k]
		}
		lb := k - 1
		for h < stack[len(stack)-1].depth {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			add(sa[top.lb], int(top.depth), weight[k]-weight[top.lb])
			lb = top.lb
			if len(stack) == 0 {
				break
			}
		}
		if len(stack) == 0 {
			stack = append(stack, frame{0, 0})
		}
		if h > stack[len(stack)-1].depth {
			stack = append(stack, frame{h, lb})
		}
	}
	shrink()

	// The characters, by descending count then code point, then the substrings.
	type rc struct {
		r rune
		c int64
	}
	cl := make([]rc, 0, len(chars))
	for r, c := range chars {
		cl = append(cl, rc{r, c})
	}
	slices.SortFunc(cl, func(a, b rc) int {
		if a.c != b.c {
			return cmp.Compare(b.c, a.c)
		}
		return cmp.Compare(a.r, b.r)
	})
	pieces := make([]string, 0, len(cl)+len(cands))
	freqs := make([]float64, 0, len(cl)+len(cands))
	for _, x := range cl {
		pieces = append(pieces, string(x.r))
		freqs = append(freqs, float64(x.c))
	}
	buf := make([]byte, 0, 4*maxLen)
	for _, c := range cands {
		buf = buf[:0]
		for _, r := range text[c.start : c.start+c.n] {
			buf = utf8.AppendRune(buf, r)
		}
		pieces = append(pieces, string(buf))
		freqs = append(freqs, float64(c.score))
	}
	var sum float64
	for _, f := range freqs {
		sum += f
	}
	logSum := math.Log(sum)
	for i, f := range freqs {
		freqs[i] = float64(float32(math.Log(f) - logSum))
	}
	return pieces, freqs
}

// prepareScripts assigns each covered character its script class for validSeed.
func (t *trainer) prepareScripts() {
	names := make([]string, 0, len(unicode.Scripts))
	for name := range unicode.Scripts {
		names = append(names, name)
	}
	sort.Strings(names)
	id := map[string]int{}
	for i, name := range names {
		id[name] = i
	}
	t.script = make(map[rune]int, len(t.required))
	for r := range t.required {
		s := id["Common"] // spm: a character of no script is Common
		for _, name := range names {
			if unicode.Is(unicode.Scripts[name], r) {
				s = id[name]
				break
			}
		}
		switch {
		case s == id["Hiragana"] || s == id["Katakana"] || r == 0x30FC:
			s = id["Han"]
		case s == id["Inherited"]:
			s = trainScriptInherited
		}
		if t.opt.NoSplitByNumber && trainIsDecimal(r) {
			s = trainScriptAny
		}
		t.script[r] = s
		if r < 0x10000 {
			if t.scriptDense == nil {
				t.scriptDense = make([]int16, 0x10000)
			}
			t.scriptDense[r] = int16(s)
		}
	}
}

const trainScriptInherited = -2

func trainIsDecimal(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 0xFF10 && r <= 0xFF19)
}

// validSeed is spm's IsValidSentencePiece for split_by_whitespace: no unknown
// character, "▁" only at the start, and (unless NoSplitByUnicodeScript) one script,
// a combining mark taking the script before it.
func (t *trainer) validSeed(rs []int32) bool {
	prev := trainScriptAny
	for pos, r := range rs {
		if r == trainSeedUnknown || r == trainSeedEnd {
			return false
		}
		if r == 0x2581 {
			if pos > 0 {
				return false
			}
			continue
		}
		var s int
		if r < int32(len(t.scriptDense)) {
			s = int(t.scriptDense[r])
		} else {
			s = t.script[r]
		}
		if s == trainScriptInherited {
			s = prev
		}
		if !t.opt.NoSplitByUnicodeScript && s != trainScriptAny && prev != trainScriptAny && prev != s {
			return false
		}
		prev = s
	}
	return true
}

// trainSortSuffixes sorts the suffixes sa of text by their first window characters
// (a word's end first, nothing after it), ties by position: a radix sort on the first
// characters packed into a uint64 (as dense, order-keeping codes of the characters
// that occur), then a comparison sort of the runs that share them.
func trainSortSuffixes(text []int32, sa []int32, window int, chars map[rune]int64) {
	alphabet := make([]int32, 0, len(chars)+1)
	for r := range chars {
		alphabet = append(alphabet, r)
	}
	alphabet = append(alphabet, trainSeedUnknown)
	slices.Sort(alphabet)
	dense := make([]uint16, 0x10000)
	sparse := map[int32]uint64{}
	for i, r := range alphabet {
		if r < 0x10000 {
			dense[r] = uint16(i + 1)
		} else {
			sparse[r] = uint64(i + 1)
		}
	}
	code := func(r int32) uint64 {
		if r < 0x10000 {
			return uint64(dense[r])
		}
		return sparse[r]
	}
	width := bits.Len(uint(len(alphabet))) // trainSeedEnd is code 0
	k := min(64/width, window)
	keys := make([]uint64, len(sa))
	for i, p := range sa {
		var key uint64
		ended := false
		for j := 0; j < k; j++ {
			var c uint64
			if !ended {
				r := text[int(p)+j]
				if r == trainSeedEnd {
					ended = true
				} else {
					c = code(r)
				}
			}
			key = key<<width | c
		}
		keys[i] = key
	}
	// LSD radix sort, 16 bits a pass; stable, so ties stay by position.
	keyBits := width * k
	tmpKeys := make([]uint64, len(sa))
	tmpSA := make([]int32, len(sa))
	var count [1 << 16]int
	for shift := 0; shift < keyBits; shift += 16 {
		clear(count[:])
		for _, key := range keys {
			count[(key>>shift)&0xFFFF]++
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for i, key := range keys {
			d := (key >> shift) & 0xFFFF
			tmpKeys[count[d]] = key
			tmpSA[count[d]] = sa[i]
			count[d]++
		}
		keys, tmpKeys = tmpKeys, keys
		copy(sa, tmpSA)
	}
	if k >= window {
		return
	}
	// Runs of equal keys whose k characters do not end a word: order by the rest.
	rest := func(a, b int32) int {
		for j := k; j < window; j++ {
			ca, cb := text[int(a)+j], text[int(b)+j]
			if ca != cb {
				return cmp.Compare(ca, cb)
			}
			if ca == trainSeedEnd {
				break
			}
		}
		return cmp.Compare(a, b)
	}
	for lo := 0; lo < len(sa); {
		hi := lo + 1
		for hi < len(sa) && keys[hi] == keys[lo] {
			hi++
		}
		if hi-lo > 1 && keys[lo]&(1<<width-1) != 0 {
			slices.SortFunc(sa[lo:hi], rest)
		}
		lo = hi
	}
}

// trainParallelFor calls fn on up to threads disjoint ranges covering [0, n).
func trainParallelFor(threads, n int, fn func(lo, hi int)) {
	if threads < 2 || n < 1024 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < threads; i++ {
		lo, hi := n*i/threads, n*(i+1)/threads
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
