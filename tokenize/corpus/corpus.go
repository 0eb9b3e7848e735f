// Package corpus runs the tokenize stage: it reads inputs, tokenizes documents in
// parallel (ordered output), builds or applies a vocabulary and a label set, and writes a
// tokens artifact. Token ids are kept compactly (varints), never the raw text.
package corpus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/tokenize"
	"github.com/ulmfit-go/ulmfit/tokenize/input"
)

// Config says what to read and how to tokenize it.
type Config struct {
	Settings tokenize.Settings
	Inputs   []string
	Input    input.Options
	// MaxVocab caps the vocabulary size, special tokens included (0 = no cap); MinFreq is
	// the least count of a kept token. Both are ignored with Vocab.
	MaxVocab, MinFreq int
	// Vocab, when set, is used as is (out-of-vocabulary tokens become xxunk).
	Vocab *artifacts.Vocab
	// Labels, when set, is the label order to use; a label not in it is an error that
	// names LabelsFrom.
	Labels     []string
	LabelsFrom string
	// Rename maps label values to names (e.g. AG News class numbers to classes.txt
	// lines); a value not in it is an error naming RenameFrom. nil: labels as read.
	Rename     map[string]string
	RenameFrom string
	// Unlabeled is a label value that means "no label" (e.g. "unsup"); "" always does.
	Unlabeled string
	KeepEmpty bool // keep documents without text (else skip and count them)
	Strict    bool // invalid UTF-8 is an error (else replaced by U+FFFD and counted)
	Threads   int  // tokenizer goroutines (0 = 2)
	// Words tokenizes into the words a SentencePiece model is trained on
	// (tokenize.NewWords), not into tokens: the result's vocabulary (with MaxVocab 0 and
	// MinFreq 1) is then the word counts for sentencepiece.Train.
	Words bool
	// Progress, if set, is called from Build's goroutine after each batch.
	Progress func(Progress)
}

// Progress is how far Build has got.
type Progress struct {
	Done, Total int64 // stored bytes of the inputs read so far / in all
	Docs        int64
	TextBytes   int64 // bytes of text tokenized
}

// Stats are the counts reported in the summary and stored in the artifact.
type Stats struct {
	Docs, Tokens, Unk, SkippedEmpty, KeptEmpty, InvalidUTF8, Unlabeled, TextBytes int64
}

// Map returns the stats as the artifact's Stats map.
func (s Stats) Map() map[string]int64 {
	return map[string]int64{"docs": s.Docs, "tokens": s.Tokens, "unk": s.Unk,
		"skipped_empty": s.SkippedEmpty, "kept_empty": s.KeptEmpty, "invalid_utf8": s.InvalidUTF8,
		"unlabeled": s.Unlabeled, "text_bytes": s.TextBytes}
}

// Result is a tokenized corpus held compactly in memory.
type Result struct {
	Vocab      *artifacts.Vocab
	LabelNames []string
	MultiLabel bool
	Stats      Stats

	docs   []docMeta
	chunks [][]byte  // varint token ids (worker-local, see remaps)
	labels []int32   // provisional label ids, docMeta.lab* index here
	remaps [][]int32 // per worker: local token id -> final id (nil: ids are final)
	labMap []int32   // provisional label id -> final index
}

type docMeta struct {
	id           int64
	chunk        int32
	off          int32
	ntok         int32
	labOff, nlab int32
	worker       int32
}

// dict is one tokenizer goroutine's dictionary: local ids in order of first sight (the
// special tokens first), with counts. Dictionaries are merged once at the end, so the
// hot path needs no lock.
type dict struct {
	ids    map[string]int32
	toks   []string
	counts []int64
	cache  [cacheSize]cacheEntry // direct-mapped cache in front of ids (frequent tokens)
}

type cacheEntry struct {
	key uint64 // first 8 bytes (fewer for short tokens), compared before tok
	n   int32
	id  int32
	tok string
}

const cacheBits = 16
const cacheSize = 1 << cacheBits

// cacheKey returns a token's first 8 bytes (zero-padded) and its cache slot, a hash of
// its length and first and last 8 bytes.
func cacheKey(b []byte) (uint64, uint32) {
	var x, key uint64
	n := len(b)
	if n >= 8 {
		key = binary.LittleEndian.Uint64(b)
		x = key ^ binary.LittleEndian.Uint64(b[n-8:])*0x9E3779B97F4A7C15
	} else {
		for i, c := range b {
			key |= uint64(c) << (8 * i)
		}
		x = key
	}
	x = (x ^ uint64(n)) * 0xff51afd7ed558ccd
	return key, uint32(x >> (64 - cacheBits))
}

func newDict(specials []string) *dict {
	d := &dict{ids: make(map[string]int32, 1<<16)}
	for _, t := range specials {
		d.id(t)
	}
	return d
}

func (d *dict) id(tok string) int32 {
	id := int32(len(d.toks))
	d.ids[tok] = id
	d.toks = append(d.toks, tok)
	d.counts = append(d.counts, 0)
	return id
}

// job is one batch of records on its way through the pipeline.
type job struct {
	recs    []input.Record
	toks    tokenize.Tokens
	ends    []int32 // per record: end index in toks
	empty   []bool
	invalid []int32 // per record: fields with invalid UTF-8
	enc     []byte  // varint token ids of the kept records, back to back
	encEnds []int32 // per record: end in enc
	ntoks   []int32 // per record: tokens
	worker  int32
	read    int64 // stored bytes of all inputs read when the batch was sent
	err     error
	done    chan struct{}
	multi   bool
}

const (
	batchBytes = 1 << 20
	batchRecs  = 1024
	chunkSize  = 16 << 20
)

func (cfg *Config) tokenizer() (*tokenize.Tokenizer, error) {
	if cfg.Words {
		return tokenize.NewWords(cfg.Settings)
	}
	return tokenize.New(cfg.Settings)
}

// Build reads and tokenizes all inputs.
func Build(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Threads <= 0 {
		cfg.Threads = 2
	}
	if _, err := cfg.tokenizer(); err != nil {
		return nil, err
	}
	// Open every input once first, so that a bad path or header fails before any work;
	// the reader then opens them one at a time (a decoder's window each).
	var total int64
	for _, p := range cfg.Inputs {
		s, err := input.Open(p, cfg.Input)
		if err != nil {
			return nil, err
		}
		_, t := s.Progress()
		total += t
		s.Close()
	}

	quit := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(quit)
		wg.Wait()
	}()
	nJobs := 2*cfg.Threads + 2
	pool := make(chan *job, nJobs)
	for range nJobs {
		pool <- &job{done: make(chan struct{}, 1)}
	}
	work := make(chan *job, nJobs)
	order := make(chan *job, nJobs)
	var readErr error

	// reader
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		defer close(order)
		var j *job
		get := func() bool {
			select {
			case j = <-pool:
			case <-quit:
				return false
			}
			j.recs, j.err = j.recs[:0], nil
			return true
		}
		var prevBytes int64 // stored bytes of the inputs before the current one
		var cur input.Source
		send := func() bool {
			done, _ := cur.Progress()
			j.read = prevBytes + done
			select {
			case work <- j:
			case <-quit:
				return false
			}
			select {
			case order <- j:
			case <-quit:
				return false
			}
			j = nil
			return true
		}
		// readInput sends the records of one input; false: stop (error or quit).
		readInput := func(path string) bool {
			src, err := input.Open(path, cfg.Input)
			if err != nil {
				readErr = err
				return false
			}
			defer src.Close()
			cur = src
			multi := src.MultiLabel()
			size := 0
			for {
				if ctx.Err() != nil {
					readErr = ctx.Err()
					return false
				}
				rec, err := src.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr = err
					return false
				}
				if j == nil && !get() {
					return false
				}
				j.multi = multi
				j.recs = append(j.recs, rec)
				for _, f := range rec.Fields {
					size += len(f)
				}
				if size >= batchBytes || len(j.recs) >= batchRecs {
					size = 0
					if !send() {
						return false
					}
				}
			}
			// a batch never spans two inputs (MultiLabel is per input)
			if j != nil && len(j.recs) > 0 && !send() {
				return false
			}
			_, t := src.Progress()
			prevBytes += t
			return true
		}
		for _, path := range cfg.Inputs {
			if !readInput(path) {
				return
			}
		}
		if j != nil {
			select {
			case pool <- j:
			default:
			}
		}
	}()

	// tokenizers
	var fixed map[string]int32 // a given vocab: read-only, shared
	unk := int32(0)
	if cfg.Vocab != nil {
		fixed = make(map[string]int32, cfg.Vocab.Len())
		for i, t := range cfg.Vocab.Tokens {
			if _, dup := fixed[t]; !dup {
				fixed[t] = int32(i)
			}
		}
		if id, ok := fixed[tokenize.UNK]; ok {
			unk = id
		}
	}
	dicts := make([]*dict, cfg.Threads)
	for w := range cfg.Threads {
		if fixed != nil {
			dicts[w] = &dict{counts: make([]int64, cfg.Vocab.Len())}
		} else {
			dicts[w] = newDict(cfg.Settings.Specials)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk, _ := cfg.tokenizer()
			for j := range work {
				j.worker = int32(w)
				tokenizeJob(tk, j, cfg.Strict)
				if j.err == nil {
					encodeJob(j, dicts[w], fixed, unk, cfg.KeepEmpty)
				}
				j.done <- struct{}{}
			}
		}()
	}

	// collector
	c := newCollector(cfg)
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if j.err != nil {
			return nil, j.err
		}
		if err := c.add(j); err != nil {
			return nil, err
		}
		read := j.read
		pool <- j
		if cfg.Progress != nil {
			cfg.Progress(Progress{Done: read, Total: total, Docs: c.res.Stats.Docs, TextBytes: c.res.Stats.TextBytes})
		}
	}
	if readErr != nil {
		return nil, readErr
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if c.res.Stats.Docs == 0 {
		what := "no documents"
		if c.res.Stats.SkippedEmpty > 0 {
			what = fmt.Sprintf("no documents: all %d were empty (--keep-empty keeps them)", c.res.Stats.SkippedEmpty)
		}
		return nil, &input.Error{File: strings.Join(cfg.Inputs, ", "), Msg: what}
	}
	wg.Wait() // workers are done (work is closed): their dictionaries are final
	return c.finish(dicts)
}

// tokenizeJob tokenizes the records of a batch.
func tokenizeJob(tk *tokenize.Tokenizer, j *job, strict bool) {
	j.toks.Reset()
	j.ends = j.ends[:0]
	j.empty = j.empty[:0]
	j.invalid = j.invalid[:0]
	for _, r := range j.recs {
		bad := int32(0)
		blank := true
		for i, f := range r.Fields {
			if !utf8.ValidString(f) {
				if strict {
					j.err = &input.Error{File: r.File, Line: r.Line, Msg: fmt.Sprintf("text field %d is not valid UTF-8 (drop --strict to replace bad bytes with U+FFFD, or convert the file)", i+1)}
					return
				}
				r.Fields[i] = strings.ToValidUTF8(f, "\uFFFD")
				bad++
			}
			if blank && strings.TrimSpace(f) != "" {
				blank = false
			}
		}
		n := tk.Append(&j.toks, r.Fields...)
		if !blank {
			ext := 0
			s := tk.Settings()
			if s.AddBOS {
				ext++
			}
			if s.AddEOS {
				ext++
			}
			blank = n <= ext
		}
		j.ends = append(j.ends, int32(j.toks.Len()))
		j.empty = append(j.empty, blank)
		j.invalid = append(j.invalid, bad)
	}
}

// encodeJob maps the tokens of a tokenized batch to ids (worker-local ones, or those of
// a fixed vocab) and counts them.
func encodeJob(j *job, d *dict, fixed map[string]int32, unk int32, keepEmpty bool) {
	j.enc = j.enc[:0]
	j.encEnds = j.encEnds[:0]
	j.ntoks = j.ntoks[:0]
	start := 0
	for i := range j.recs {
		end := int(j.ends[i])
		if j.empty[i] && !keepEmpty {
			start = end
			j.encEnds = append(j.encEnds, int32(len(j.enc)))
			j.ntoks = append(j.ntoks, 0)
			continue
		}
		for k := start; k < end; k++ {
			tok := j.toks.At(k)
			var id int32
			var ok bool
			if fixed != nil {
				if id, ok = fixed[string(tok)]; !ok {
					id = unk
				}
			} else {
				key, h := cacheKey(tok)
				slot := &d.cache[h]
				if slot.key == key && int(slot.n) == len(tok) && (len(tok) <= 8 || slot.tok == string(tok)) {
					id = slot.id
				} else {
					if id, ok = d.ids[string(tok)]; !ok {
						id = d.id(string(tok))
					}
					*slot = cacheEntry{key: key, n: int32(len(tok)), id: id, tok: d.toks[id]}
				}
			}
			d.counts[id]++
			j.enc = binary.AppendUvarint(j.enc, uint64(id))
		}
		j.encEnds = append(j.encEnds, int32(len(j.enc)))
		j.ntoks = append(j.ntoks, int32(end-start))
		start = end
	}
}

// collector assigns ids in document order.
type collector struct {
	cfg    Config
	res    *Result
	labIDs map[string]int32
	labs   []string
	fixLab map[string]int32
	nextID int64
}

func newCollector(cfg Config) *collector {
	c := &collector{cfg: cfg, res: &Result{}, labIDs: map[string]int32{}}
	if cfg.Labels != nil {
		c.fixLab = map[string]int32{}
		for i, l := range cfg.Labels {
			c.fixLab[l] = int32(i)
		}
	}
	return c
}

func (c *collector) label(r *input.Record, l string) (int32, error) {
	if c.cfg.Rename != nil {
		name, ok := c.cfg.Rename[l]
		if !ok {
			return 0, &input.Error{File: r.File, Line: r.Line, Msg: fmt.Sprintf("label %q has no name in %s (it names %d labels)", l, c.cfg.RenameFrom, len(c.cfg.Rename))}
		}
		l = name
	}
	if c.fixLab != nil {
		id, ok := c.fixLab[l]
		if !ok {
			return 0, &input.Error{File: r.File, Line: r.Line, Msg: fmt.Sprintf("label %q is not among the %d labels of %s (%s): a classifier trained on those cannot predict it; add documents with it to the training data, or remove this row", l, len(c.cfg.Labels), c.cfg.LabelsFrom, strings.Join(c.cfg.Labels, ", "))}
		}
		return id, nil
	}
	id, ok := c.labIDs[l]
	if !ok {
		id = int32(len(c.labs))
		c.labIDs[l] = id
		c.labs = append(c.labs, l)
	}
	return id, nil
}

func (c *collector) add(j *job) error {
	res := c.res
	if j.multi {
		res.MultiLabel = true
	}
	encStart := int32(0)
	for i := range j.recs {
		r := &j.recs[i]
		id := c.nextID
		c.nextID++
		res.Stats.InvalidUTF8 += int64(j.invalid[i])
		encEnd := j.encEnds[i]
		if j.empty[i] {
			if !c.cfg.KeepEmpty {
				res.Stats.SkippedEmpty++
				encStart = encEnd
				continue
			}
			res.Stats.KeptEmpty++
		}
		for _, f := range r.Fields {
			res.Stats.TextBytes += int64(len(f))
		}
		// labels
		m := docMeta{id: id, labOff: int32(len(res.labels)), worker: j.worker}
		var ls []string
		if r.Labels != nil {
			ls = r.Labels
		} else if r.Label != "" {
			ls = []string{r.Label}
		}
		for _, l := range ls {
			if l == c.cfg.Unlabeled && !j.multi {
				continue
			}
			lid, err := c.label(r, l)
			if err != nil {
				return err
			}
			if !slices.Contains(res.labels[m.labOff:], lid) {
				res.labels = append(res.labels, lid)
			}
		}
		m.nlab = int32(len(res.labels)) - m.labOff
		if m.nlab == 0 {
			res.Stats.Unlabeled++
		}
		// tokens
		enc := j.enc[encStart:encEnd]
		encStart = encEnd
		m.ntok = j.ntoks[i]
		if len(res.chunks) == 0 || len(res.chunks[len(res.chunks)-1])+len(enc) > cap(res.chunks[len(res.chunks)-1]) {
			res.chunks = append(res.chunks, make([]byte, 0, max(chunkSize, len(enc))))
		}
		ch := len(res.chunks) - 1
		m.chunk, m.off = int32(ch), int32(len(res.chunks[ch]))
		res.chunks[ch] = append(res.chunks[ch], enc...)
		res.docs = append(res.docs, m)
		res.Stats.Docs++
		res.Stats.Tokens += int64(m.ntok)
	}
	return nil
}

// finish builds the vocabulary and the label order.
func (c *collector) finish(dicts []*dict) (*Result, error) {
	res := c.res
	if c.cfg.Vocab != nil {
		counts := make([]int64, c.cfg.Vocab.Len())
		for _, d := range dicts {
			for i, n := range d.counts {
				counts[i] += n
			}
		}
		unk := int32(0)
		if id, ok := c.cfg.Vocab.ID(tokenize.UNK); ok {
			unk = id
		}
		res.Vocab = &artifacts.Vocab{Tokens: slices.Clone(c.cfg.Vocab.Tokens), Counts: counts}
		res.Stats.Unk = counts[unk]
	} else {
		// merge the worker dictionaries (the order of the merged list does not matter:
		// BuildVocab orders by count and string)
		ids := map[string]int32{}
		var toks []string
		var counts []int64
		local := make([][]int32, len(dicts))
		for w, d := range dicts {
			local[w] = make([]int32, len(d.toks))
			for i, t := range d.toks {
				g, ok := ids[t]
				if !ok {
					g = int32(len(toks))
					ids[t] = g
					toks = append(toks, t)
					counts = append(counts, 0)
				}
				counts[g] += d.counts[i]
				local[w][i] = g
			}
		}
		v, remap := BuildVocab(toks, counts, len(c.cfg.Settings.Specials), c.cfg.MaxVocab, c.cfg.MinFreq)
		res.Vocab = v
		res.remaps = make([][]int32, len(dicts))
		for w := range dicts {
			res.remaps[w] = make([]int32, len(local[w]))
			for i, g := range local[w] {
				res.remaps[w][i] = remap[g]
			}
		}
		res.Stats.Unk = v.Counts[0]
	}
	if c.fixLab != nil {
		res.LabelNames = slices.Clone(c.cfg.Labels)
	} else if len(c.labs) > 0 {
		names := SortLabels(c.labs)
		idx := map[string]int32{}
		for i, n := range names {
			idx[n] = int32(i)
		}
		res.labMap = make([]int32, len(c.labs))
		for i, l := range c.labs {
			res.labMap[i] = idx[l]
		}
		res.LabelNames = names
	}
	return res, nil
}

// BuildVocab makes a vocabulary from token counts the fastai way: the first nSpecial
// tokens (the specials) first, then tokens seen at least minFreq times by count, most
// frequent first, ties by string; at most maxVocab tokens in all (0 = no cap). It returns
// the vocab (with counts; the count of xxunk includes dropped tokens) and a map from
// the input index to the vocab id (dropped tokens map to 0, xxunk).
func BuildVocab(toks []string, counts []int64, nSpecial, maxVocab, minFreq int) (*artifacts.Vocab, []int32) {
	cand := make([]int32, 0, len(toks))
	for i := nSpecial; i < len(toks); i++ {
		if counts[i] >= int64(max(minFreq, 1)) {
			cand = append(cand, int32(i))
		}
	}
	sort.Slice(cand, func(a, b int) bool {
		ca, cb := counts[cand[a]], counts[cand[b]]
		if ca != cb {
			return ca > cb
		}
		return toks[cand[a]] < toks[cand[b]]
	})
	if maxVocab > 0 && len(cand) > maxVocab-nSpecial {
		cand = cand[:max(0, maxVocab-nSpecial)]
	}
	v := &artifacts.Vocab{Tokens: make([]string, 0, nSpecial+len(cand)), Counts: make([]int64, 0, nSpecial+len(cand))}
	remap := make([]int32, len(toks)) // 0 = xxunk
	for i := 0; i < nSpecial; i++ {
		remap[i] = int32(i)
		v.Tokens = append(v.Tokens, toks[i])
		v.Counts = append(v.Counts, counts[i])
	}
	for _, p := range cand {
		remap[p] = int32(len(v.Tokens))
		v.Tokens = append(v.Tokens, toks[p])
		v.Counts = append(v.Counts, counts[p])
	}
	for i := nSpecial; i < len(toks); i++ {
		if remap[i] == 0 {
			v.Counts[0] += counts[i]
		}
	}
	return v, remap
}

// SortLabels returns label names in a stable order: numerically when all are integers,
// else by string.
func SortLabels(labels []string) []string {
	out := slices.Clone(labels)
	numeric := true
	for _, l := range out {
		if _, err := strconv.ParseInt(l, 10, 64); err != nil {
			numeric = false
			break
		}
	}
	if numeric {
		sort.Slice(out, func(a, b int) bool {
			x, _ := strconv.ParseInt(out[a], 10, 64)
			y, _ := strconv.ParseInt(out[b], 10, 64)
			return x < y
		})
	} else {
		sort.Strings(out)
	}
	return out
}

// Len is the number of documents.
func (r *Result) Len() int { return len(r.docs) }

// Each calls fn for every document, in input order. The Doc's slices are reused between
// calls.
func (r *Result) Each(fn func(artifacts.Doc) error) error {
	var d artifacts.Doc
	for _, m := range r.docs {
		d.ID = m.id
		d.Tokens = d.Tokens[:0]
		b := r.chunks[m.chunk][m.off:]
		for range m.ntok {
			v, n := binary.Uvarint(b)
			b = b[n:]
			id := int32(v)
			if r.remaps != nil {
				id = r.remaps[m.worker][id]
			}
			d.Tokens = append(d.Tokens, id)
		}
		labs := r.labels[m.labOff : m.labOff+m.nlab]
		d.Label, d.Labels = -1, nil
		if r.MultiLabel {
			d.Labels = make([]int32, 0, len(labs))
		}
		for _, l := range labs {
			if r.labMap != nil {
				l = r.labMap[l]
			}
			if r.MultiLabel {
				d.Labels = append(d.Labels, l)
			} else {
				d.Label = l
			}
		}
		if r.MultiLabel {
			slices.Sort(d.Labels)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// Write writes the corpus as a tokens artifact at path (atomically: on error nothing
// is left at path).
func (r *Result) Write(path string, lin artifacts.Lineage, settings tokenize.Settings) error {
	lin.Kind = artifacts.KindTokens
	h := &artifacts.TokensHeader{
		Lineage:    lin,
		Vocab:      r.Vocab,
		LabelNames: r.LabelNames,
		MultiLabel: r.MultiLabel,
		Tokenizer:  settings.JSON(),
		Stats:      r.Stats.Map(),
	}
	w, err := artifacts.NewTokensWriter(path, h)
	if err != nil {
		return err
	}
	if err := r.Each(w.Write); err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
		w.Abort()
		return err
	}
	return nil
}

// IsInputError reports whether err is about the user's input (a file, its rows or
// labels) rather than a failure of the machine.
func IsInputError(err error) bool {
	var ie *input.Error
	return errors.As(err, &ie)
}
