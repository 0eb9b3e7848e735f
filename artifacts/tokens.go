package artifacts

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Doc is one tokenized document. Label is the class index (-1 = none); Labels
// holds the classes of a multi-label document (nil otherwise).
type Doc struct {
	ID     int64
	Label  int32
	Labels []int32
	Tokens []int32
}

// TokensHeader is the metadata of a tokens artifact.
type TokensHeader struct {
	Lineage
	Vocab      *Vocab           // embedded ("ulmfit.vocab"); required
	LabelNames []string         // class names in index order ("ulmfit.labels")
	MultiLabel bool             // "ulmfit.multi_label"
	Tokenizer  json.RawMessage  // tokenizer settings ("ulmfit.tokenizer")
	Stats      map[string]int64 // docs, tokens, unk, ... ("ulmfit.stats")
}

var tokensCols = []colSpec{
	{"id", arrow.PrimitiveTypes.Int64},
	{"label", arrow.PrimitiveTypes.Int32},
	{"labels", arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int32)},
	{"tokens", arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int32)},
}

func tokensFields() []arrow.Field {
	return []arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "label", Type: arrow.PrimitiveTypes.Int32},
		{Name: "labels", Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int32), Nullable: true},
		{Name: "tokens", Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int32)},
	}
}

// TokensBatchTokens is roughly how many tokens a record batch of a tokens
// artifact holds; it bounds the memory of writers and readers.
const TokensBatchTokens = 1 << 16

// tokensBatchDocs caps the documents per batch (for corpora of tiny docs).
const tokensBatchDocs = 1 << 14

// TokensWriter streams documents into a tokens artifact with bounded memory.
type TokensWriter struct {
	w      *arrowWriter
	h      *TokensHeader
	nlab   int
	ids    []int64
	labs   []int32
	labOff []int32
	labVal []int32
	labOK  []bool
	tokOff []int32
	tokVal []int32
	closed bool
}

// NewTokensWriter creates a tokens artifact at path (through a temporary
// file in the same folder; nothing appears at path until Close).
func NewTokensWriter(path string, h *TokensHeader) (*TokensWriter, error) {
	if h == nil || h.Vocab == nil {
		return nil, fmt.Errorf("artifacts: NewTokensWriter %s: the header needs a vocab", path)
	}
	meta, err := lineageMeta(KindTokens, h.Lineage)
	if err != nil {
		return nil, err
	}
	if err := putVocab(meta, h.Vocab); err != nil {
		return nil, err
	}
	labels := h.LabelNames
	if labels == nil {
		labels = []string{}
	}
	if err := putValue(meta, MetaLabels, labels); err != nil {
		return nil, err
	}
	meta[MetaMultiLabel] = strconv.FormatBool(h.MultiLabel)
	if err := putJSON(meta, MetaTokenizer, h.Tokenizer); err != nil {
		return nil, err
	}
	if h.Stats != nil {
		if err := putValue(meta, MetaStats, h.Stats); err != nil {
			return nil, err
		}
	}
	w, err := newArrowWriter(path, tokensFields(), meta)
	if err != nil {
		return nil, err
	}
	tw := &TokensWriter{w: w, h: h, nlab: len(h.LabelNames)}
	tw.reset()
	return tw, nil
}

func (tw *TokensWriter) reset() {
	tw.ids = tw.ids[:0]
	tw.labs = tw.labs[:0]
	tw.labOff = append(tw.labOff[:0], 0)
	tw.labVal = tw.labVal[:0]
	tw.labOK = tw.labOK[:0]
	tw.tokOff = append(tw.tokOff[:0], 0)
	tw.tokVal = tw.tokVal[:0]
}

// Write adds one document. Token ids must be in [0, vocab size) and labels in
// [0, number of label names) (or -1 for Label).
func (tw *TokensWriter) Write(d Doc) error {
	if tw.closed {
		return fmt.Errorf("artifacts: write to closed tokens writer %s", tw.w.path)
	}
	v := int32(tw.h.Vocab.Len())
	for i, t := range d.Tokens {
		if t < 0 || t >= v {
			return fmt.Errorf("artifacts: doc %d: token %d has id %d, outside the vocab [0,%d)", d.ID, i, t, v)
		}
	}
	if d.Label < -1 || (d.Label >= 0 && tw.nlab > 0 && int(d.Label) >= tw.nlab) {
		return fmt.Errorf("artifacts: doc %d: label %d is outside [-1,%d)", d.ID, d.Label, tw.nlab)
	}
	for _, l := range d.Labels {
		if l < 0 || (tw.nlab > 0 && int(l) >= tw.nlab) {
			return fmt.Errorf("artifacts: doc %d: label %d is outside [0,%d)", d.ID, l, tw.nlab)
		}
	}
	if len(tw.tokVal)+len(d.Tokens) > 1<<31-1 {
		return fmt.Errorf("artifacts: doc %d has %d tokens, too many for one document", d.ID, len(d.Tokens))
	}
	tw.ids = append(tw.ids, d.ID)
	tw.labs = append(tw.labs, d.Label)
	tw.labOK = append(tw.labOK, d.Labels != nil)
	tw.labVal = append(tw.labVal, d.Labels...)
	tw.labOff = append(tw.labOff, int32(len(tw.labVal)))
	tw.tokVal = append(tw.tokVal, d.Tokens...)
	tw.tokOff = append(tw.tokOff, int32(len(tw.tokVal)))
	if len(tw.tokVal) >= TokensBatchTokens || len(tw.ids) >= tokensBatchDocs {
		return tw.flush()
	}
	return nil
}

func (tw *TokensWriter) flush() error {
	if len(tw.ids) == 0 {
		return nil
	}
	mem := tw.w.mem
	ib := array.NewInt64Builder(mem)
	ib.AppendValues(tw.ids, nil)
	lb := array.NewInt32Builder(mem)
	lb.AppendValues(tw.labs, nil)
	lsb := listBuilder(mem, arrow.PrimitiveTypes.Int32)
	lsb.AppendValues(tw.labOff[:len(tw.ids)], tw.labOK)
	lsb.ValueBuilder().(*array.Int32Builder).AppendValues(tw.labVal, nil)
	tb := listBuilder(mem, arrow.PrimitiveTypes.Int32)
	tb.AppendValues(tw.tokOff[:len(tw.ids)], allTrue(len(tw.ids)))
	tb.ValueBuilder().(*array.Int32Builder).AppendValues(tw.tokVal, nil)
	cols := []arrow.Array{ib.NewArray(), lb.NewArray(), lsb.NewArray(), tb.NewArray()}
	ib.Release()
	lb.Release()
	lsb.Release()
	tb.Release()
	tw.reset()
	return tw.w.write(cols)
}

// Close writes the remaining documents and moves the file into place.
func (tw *TokensWriter) Close() error {
	if tw.closed {
		return nil
	}
	if err := tw.flush(); err != nil {
		tw.Abort()
		return err
	}
	tw.closed = true
	return tw.w.close()
}

// Abort discards the artifact: the temporary file is removed and nothing is
// written at the destination. It is a no-op after Close.
func (tw *TokensWriter) Abort() {
	if tw.closed {
		return
	}
	tw.closed = true
	tw.w.abort()
}

// TokensReader streams the documents of a tokens artifact, one record batch
// (about TokensBatchTokens tokens) in memory at a time.
type TokensReader struct {
	af    *arrowFile
	h     *TokensHeader
	docs  []Doc
	pos   int
	batch int // next batch to load
	err   error
}

// OpenTokens opens a tokens artifact and checks its header (kind, format,
// schema, metadata and the first batch's checksums).
func OpenTokens(path string) (*TokensReader, error) {
	af, err := openArtifact(path, []Kind{KindTokens}, tokensCols)
	if err != nil {
		return nil, err
	}
	tr := &TokensReader{af: af}
	if af.numBatches() > 0 {
		if err := tr.load(); err != nil { // verifies the schema metadata checksum
			af.close()
			return nil, err
		}
	}
	h := &TokensHeader{Lineage: af.lin}
	if h.Vocab, err = af.embeddedVocab(); err == nil && h.Vocab == nil {
		err = errorf(path, MetaVocab, ErrCorrupt, "missing: a tokens artifact must embed its vocab")
	}
	if err == nil {
		err = af.metaJSON(MetaLabels, &h.LabelNames)
	}
	if err == nil {
		h.MultiLabel, err = af.metaBool(MetaMultiLabel)
	}
	if err == nil {
		h.Tokenizer, err = af.metaRaw(MetaTokenizer)
	}
	if err == nil {
		err = af.metaJSON(MetaStats, &h.Stats)
	}
	if err != nil {
		af.close()
		return nil, err
	}
	tr.h = h
	if err := tr.checkDocs(tr.docs, 0); err != nil {
		af.close()
		return nil, err
	}
	return tr, nil
}

// Header returns the artifact's metadata.
func (tr *TokensReader) Header() *TokensHeader { return tr.h }

// load decodes the next record batch into tr.docs.
func (tr *TokensReader) load() error {
	b := tr.batch
	rec, err := tr.af.batch(b)
	if err != nil {
		return err
	}
	defer rec.Release()
	tr.batch++
	ids := tr.af.column(rec, "id").(*array.Int64)
	labs := tr.af.column(rec, "label").(*array.Int32)
	labels := tr.af.column(rec, "labels").(*array.List)
	toks := tr.af.column(rec, "tokens").(*array.List)
	for _, c := range []struct {
		a    arrow.Array
		name string
	}{{ids, "id"}, {labs, "label"}, {toks, "tokens"}, {toks.ListValues(), "tokens item"}, {labels.ListValues(), "labels item"}} {
		if err := tr.af.noNulls(c.a, c.name, b); err != nil {
			return err
		}
	}
	n := int(rec.NumRows())
	docs := make([]Doc, n)
	tokOff := toks.Offsets()
	tokAll := append([]int32(nil), toks.ListValues().(*array.Int32).Int32Values()[tokOff[0]:tokOff[n]]...)
	labOff := labels.Offsets()
	labAll := append([]int32(nil), labels.ListValues().(*array.Int32).Int32Values()[labOff[0]:labOff[n]]...)
	idv, labv := ids.Int64Values(), labs.Int32Values()
	for i := range docs {
		lo, hi := tokOff[i]-tokOff[0], tokOff[i+1]-tokOff[0]
		docs[i] = Doc{ID: idv[i], Label: labv[i], Tokens: tokAll[lo:hi:hi]}
		if labels.IsValid(i) {
			lo, hi := labOff[i]-labOff[0], labOff[i+1]-labOff[0]
			docs[i].Labels = labAll[lo:hi:hi]
		}
	}
	tr.docs, tr.pos = docs, 0
	return nil
}

// checkDocs validates ids against the header (vocab size, label count).
func (tr *TokensReader) checkDocs(docs []Doc, batch int) error {
	v := int32(tr.h.Vocab.Len())
	nlab := int32(len(tr.h.LabelNames))
	for i, d := range docs {
		where := func() string { return fmt.Sprintf("record batch %d, row %d (doc id %d)", batch, i, d.ID) }
		for j, t := range d.Tokens {
			if t < 0 || t >= v {
				return errorf(tr.af.path, where(), ErrCorrupt, "token %d has id %d, outside the embedded vocab [0,%d)", j, t, v)
			}
		}
		if d.Label < -1 || (nlab > 0 && d.Label >= nlab) {
			return errorf(tr.af.path, where(), ErrCorrupt, "label %d is outside [-1,%d)", d.Label, nlab)
		}
		for _, l := range d.Labels {
			if l < 0 || (nlab > 0 && l >= nlab) {
				return errorf(tr.af.path, where(), ErrCorrupt, "label %d is outside [0,%d)", l, nlab)
			}
		}
	}
	return nil
}

// Next returns the next document, or io.EOF after the last one.
func (tr *TokensReader) Next() (Doc, error) {
	if tr.err != nil {
		return Doc{}, tr.err
	}
	for tr.pos >= len(tr.docs) {
		if tr.batch >= tr.af.numBatches() {
			tr.err = io.EOF
			return Doc{}, io.EOF
		}
		if err := tr.load(); err != nil {
			tr.err = err
			return Doc{}, err
		}
		if err := tr.checkDocs(tr.docs, tr.batch-1); err != nil {
			tr.err = err
			return Doc{}, err
		}
	}
	d := tr.docs[tr.pos]
	tr.pos++
	return d, nil
}

// Close releases the file.
func (tr *TokensReader) Close() error {
	if tr.af != nil {
		tr.af.close()
		tr.af = nil
	}
	if tr.err == nil {
		tr.err = fmt.Errorf("artifacts: tokens reader is closed")
	}
	return nil
}

// ReadTokens reads a whole tokens artifact into memory.
func ReadTokens(path string) (*TokensHeader, []Doc, error) {
	tr, err := OpenTokens(path)
	if err != nil {
		return nil, nil, err
	}
	defer tr.Close()
	var docs []Doc
	for {
		d, err := tr.Next()
		if err == io.EOF {
			return tr.Header(), docs, nil
		}
		if err != nil {
			return nil, nil, err
		}
		docs = append(docs, d)
	}
}

// allTrue is a validity slice with n valid entries.
func allTrue(n int) []bool {
	v := make([]bool, n)
	for i := range v {
		v[i] = true
	}
	return v
}
