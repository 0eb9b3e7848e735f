package artifacts

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// arrowMagic opens and closes every Arrow IPC file.
const arrowMagic = "ARROW1"

// maxBuffer caps any single buffer a reader will allocate, so a corrupt
// length field fails cleanly instead of exhausting memory.
const maxBuffer = 1 << 32

// ---------------------------------------------------------------- writing

// arrowWriter writes one artifact: schema + metadata, then record batches,
// each tagged with CRC-32C checksums, into an atomicFile.
type arrowWriter struct {
	path    string
	af      *atomicFile
	w       *ipc.FileWriter
	schema  *arrow.Schema
	mem     memory.Allocator
	metaCRC string
	batches int
}

func newArrowWriter(path string, fields []arrow.Field, meta map[string]string) (*arrowWriter, error) {
	if _, ok := meta[MetaChecksums]; !ok && meta[MetaKind] != "" {
		meta[MetaChecksums] = "crc32c"
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = meta[k]
	}
	md := arrow.NewMetadata(keys, vals)
	schema := arrow.NewSchema(fields, &md)
	af, err := createAtomic(path)
	if err != nil {
		return nil, err
	}
	mem := memory.NewGoAllocator()
	w, err := ipc.NewFileWriter(af, ipc.WithSchema(schema), ipc.WithZstd(), ipc.WithAllocator(mem))
	if err != nil {
		af.abort()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &arrowWriter{path: path, af: af, w: w, schema: schema, mem: mem, metaCRC: schemaDigest(schema)}, nil
}

// write writes one record batch made of cols and releases cols.
func (w *arrowWriter) write(cols []arrow.Array) error {
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	for _, c := range cols {
		digestArray(h, c)
	}
	md := arrow.NewMetadata([]string{batchCRC, schemaCRC}, []string{hex.EncodeToString(h.Sum(nil)), w.metaCRC})
	nrows := int64(0)
	if len(cols) > 0 {
		nrows = int64(cols[0].Len())
	}
	rec := array.NewRecordBatchWithMetadata(w.schema, cols, nrows, md)
	defer rec.Release()
	if err := w.w.Write(rec); err != nil {
		return &Error{Path: w.path, Msg: "cannot write record batch: " + err.Error(), Err: err}
	}
	w.batches++
	return nil
}

// close writes the footer and moves the file into place. A file always
// holds at least one (possibly empty) batch, which carries the checksum of
// the schema metadata.
func (w *arrowWriter) close() error {
	if w.batches == 0 {
		cols := make([]arrow.Array, len(w.schema.Fields()))
		for i, f := range w.schema.Fields() {
			b := array.NewBuilder(w.mem, f.Type)
			cols[i] = b.NewArray()
			b.Release()
		}
		if err := w.write(cols); err != nil {
			w.abort()
			return err
		}
	}
	if err := w.w.Close(); err != nil {
		w.af.abort()
		return &Error{Path: w.path, Msg: "cannot finish Arrow file: " + err.Error(), Err: err}
	}
	return w.af.commit()
}

func (w *arrowWriter) abort() {
	w.w.Close()
	w.af.abort()
}

// lineageMeta returns the common metadata for an artifact of kind k.
func lineageMeta(k Kind, lin Lineage) (map[string]string, error) {
	if lin.Kind != "" && lin.Kind != k {
		return nil, fmt.Errorf("artifacts: lineage kind %q does not match the %q being written", lin.Kind, k)
	}
	params := lin.Params
	if params == nil {
		params = map[string]any{}
	}
	pj, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("artifacts: encoding params: %w", err)
	}
	inputs := lin.Inputs
	if inputs == nil {
		inputs = []Input{}
	}
	ij, err := json.Marshal(inputs)
	if err != nil {
		return nil, fmt.Errorf("artifacts: encoding inputs: %w", err)
	}
	producer := lin.Producer
	if producer == "" {
		producer = "ulmfit-go"
	}
	return map[string]string{
		MetaKind:     string(k),
		MetaFormat:   strconv.Itoa(k.Format()),
		MetaProducer: producer,
		MetaParams:   string(pj),
		MetaInputs:   string(ij),
	}, nil
}

// putJSON stores raw JSON under key after validating and compacting it;
// empty raw is omitted.
func putJSON(meta map[string]string, key string, raw json.RawMessage) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return fmt.Errorf("artifacts: %s is not valid JSON: %w", key, err)
	}
	meta[key] = buf.String()
	return nil
}

// putValue stores v as JSON under key.
func putValue(meta map[string]string, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("artifacts: encoding %s: %w", key, err)
	}
	meta[key] = string(b)
	return nil
}

// ---------------------------------------------------------------- checksums

// schemaDigest is the hex CRC-32C of the fields and the metadata.
func schemaDigest(s *arrow.Schema) string {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	for _, f := range s.Fields() {
		fmt.Fprintf(h, "%s\x00%s\x00%t\x00", f.Name, f.Type, f.Nullable)
	}
	md := s.Metadata()
	idx := make([]int, md.Len())
	for i := range idx {
		idx[i] = i
	}
	keys, vals := md.Keys(), md.Values()
	sort.Slice(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	for _, i := range idx {
		fmt.Fprintf(h, "%s\x00%s\x00", keys[i], vals[i])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// digestArray feeds arr's logical content (length, nulls, values) to h. It
// handles the types artifacts use; offsets are hashed as lengths, so the
// digest does not depend on how buffers are laid out.
func digestArray(h hash.Hash32, arr arrow.Array) {
	var b8 [8]byte
	n := arr.Len()
	binary.LittleEndian.PutUint64(b8[:], uint64(n))
	h.Write(b8[:])
	if arr.NullN() > 0 {
		nulls := make([]byte, n)
		for i := range nulls {
			if arr.IsNull(i) {
				nulls[i] = 1
			}
		}
		h.Write(nulls)
	}
	lengths := func(off []int32) {
		ls := make([]int32, len(off)-1)
		for i := range ls {
			ls[i] = off[i+1] - off[i]
		}
		h.Write(arrow.Int32Traits.CastToBytes(ls))
	}
	switch a := arr.(type) {
	case *array.Int64:
		h.Write(arrow.Int64Traits.CastToBytes(a.Int64Values()))
	case *array.Int32:
		h.Write(arrow.Int32Traits.CastToBytes(a.Int32Values()))
	case *array.Float32:
		h.Write(arrow.Float32Traits.CastToBytes(a.Float32Values()))
	case *array.String:
		if n > 0 {
			off := a.ValueOffsets()
			lengths(off)
			h.Write(a.ValueBytes())
		}
	case *array.List:
		if n > 0 {
			off := a.Offsets()[:n+1]
			lengths(off)
			child := array.NewSlice(a.ListValues(), int64(off[0]), int64(off[n]))
			digestArray(h, child)
			child.Release()
		}
	case *array.FixedSizeList:
		size := int64(a.DataType().(*arrow.FixedSizeListType).Len())
		beg := int64(a.Data().Offset()) * size
		child := array.NewSlice(a.ListValues(), beg, beg+int64(n)*size)
		digestArray(h, child)
		child.Release()
	default:
		// Unknown types are not written by this package; hash their text.
		fmt.Fprint(h, arr)
	}
}

// ---------------------------------------------------------------- reading

// colSpec is a column that a reader needs.
type colSpec struct {
	name string
	typ  arrow.DataType
}

// arrowFile is an open artifact being read.
type arrowFile struct {
	path    string
	f       *os.File
	r       *ipc.FileReader
	schema  *arrow.Schema
	meta    map[string]string
	lin     Lineage
	metaCRC string
	sums    bool // batches carry checksums (MetaChecksums)
	col     map[string]int
	size    int64
	blocks  []fbBlock
}

// cappedAlloc refuses absurd allocations (from corrupt length fields) with a
// panic that the reader turns into ErrCorrupt.
type cappedAlloc struct{ memory.Allocator }

func (c cappedAlloc) Allocate(n int) []byte {
	if n < 0 || n > maxBuffer {
		panic(fmt.Errorf("buffer of %d bytes is beyond the %d-byte limit", n, maxBuffer))
	}
	return c.Allocator.Allocate(n)
}

func (c cappedAlloc) Reallocate(n int, b []byte) []byte {
	if n < 0 || n > maxBuffer {
		panic(fmt.Errorf("buffer of %d bytes is beyond the %d-byte limit", n, maxBuffer))
	}
	return c.Allocator.Reallocate(n, b)
}

// recovered turns a panic inside arrow-go (corrupt input) into ErrCorrupt.
func recovered(path string, what string, err *error) {
	if p := recover(); p != nil {
		*err = errorf(path, "", ErrCorrupt, "%s: %v (the file is damaged; re-create it)", what, p)
	}
}

// openIPC opens path as an Arrow IPC file without checking ulmfit metadata.
func openIPC(path string) (af *arrowFile, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Path: path, Msg: "cannot open: " + errText(err), Err: err}
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{Path: path, Msg: "cannot stat: " + errText(err), Err: err}
	}
	if st.IsDir() {
		return nil, errorf(path, "", ErrNotArtifact, "is a folder, want an artifact file")
	}
	size := st.Size()
	head := make([]byte, len(arrowMagic))
	if n, _ := f.ReadAt(head, 0); n < len(head) || string(head) != arrowMagic {
		if n >= 4 && bytes.Equal(head[:4], []byte{0xff, 0xff, 0xff, 0xff}) {
			return nil, errorf(path, "", ErrNotArtifact, "is an Arrow IPC stream, want the Arrow IPC file format that ulmfit-go writes")
		}
		return nil, errorf(path, "", ErrNotArtifact, "not an Arrow IPC file (no %q magic at the start): want an ulmfit-go artifact", arrowMagic)
	}
	tail := make([]byte, len(arrowMagic))
	if size < 2*int64(len(arrowMagic))+4 {
		return nil, errorf(path, "", ErrCorrupt, "truncated: only %d bytes, the Arrow footer is missing (re-create the file)", size)
	}
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil || string(tail) != arrowMagic {
		return nil, errorf(path, "", ErrCorrupt, "truncated or damaged: no %q magic at the end, the Arrow footer is missing (re-create the file)", arrowMagic)
	}
	blocks, err := readFooterBlocks(path, f, size)
	if err != nil {
		return nil, err
	}
	var r *ipc.FileReader
	func() {
		defer recovered(path, "reading the Arrow footer", &err)
		r, err = ipc.NewFileReader(f, ipc.WithAllocator(cappedAlloc{memory.NewGoAllocator()}), ipc.WithBodySizeLimit(0))
	}()
	if err != nil {
		if _, ok := err.(*Error); ok {
			return nil, err
		}
		return nil, errorf(path, "", ErrCorrupt, "cannot read the Arrow footer: %v (the file is damaged; re-create it)", err)
	}
	af = &arrowFile{path: path, f: f, r: r, schema: r.Schema(), size: size, meta: map[string]string{}, blocks: blocks}
	md := af.schema.Metadata()
	for i, k := range md.Keys() {
		af.meta[k] = md.Values()[i]
	}
	return af, nil
}

// sniffKind reports the kind of the artifact at path, without verifying it.
func sniffKind(path string) (Kind, bool) {
	af, err := openIPC(path)
	if err != nil {
		return "", false
	}
	defer af.close()
	k := Kind(af.meta[MetaKind])
	return k, k != ""
}

// wantText renders a list of kinds as "lm or classifier".
func wantText(want []Kind) string {
	s := make([]string, len(want))
	for i, k := range want {
		s[i] = string(k)
	}
	return strings.Join(s, " or ")
}

// openArtifact opens path, checks that it is an artifact of one of the want
// kinds (any kind if want is empty) in a format this package reads, parses
// the lineage and resolves the columns in cols.
func openArtifact(path string, want []Kind, cols []colSpec) (*arrowFile, error) {
	af, err := openIPC(path)
	if err != nil {
		return nil, err
	}
	if err := af.check(want, cols); err != nil {
		af.close()
		return nil, err
	}
	return af, nil
}

func (af *arrowFile) check(want []Kind, cols []colSpec) error {
	path := af.path
	ks, ok := af.meta[MetaKind]
	if !ok {
		return errorf(path, MetaKind, ErrNotArtifact, "missing: an Arrow file, but not an ulmfit-go artifact (want %s)", orAny(want))
	}
	k := Kind(ks)
	if len(want) > 0 {
		found := false
		for _, w := range want {
			found = found || w == k
		}
		if !found {
			return errorf(path, MetaKind, ErrWrongKind, "is a %q artifact, want %s", ks, wantText(want))
		}
	}
	if !k.Valid() {
		return errorf(path, MetaKind, ErrWrongKind, "unknown artifact kind %q (written by a newer ulmfit-go? upgrade)", ks)
	}
	fs, ok := af.meta[MetaFormat]
	if !ok {
		return errorf(path, MetaFormat, ErrFormat, "missing: want a %s format version", k)
	}
	format, err := strconv.Atoi(fs)
	if err != nil {
		return errorf(path, MetaFormat, ErrFormat, "%q is not an integer version", fs)
	}
	if format > k.Format() {
		return errorf(path, MetaFormat, ErrFormat, "written by a newer ulmfit-go, format %d > %d: upgrade", format, k.Format())
	}
	if format < 1 {
		return errorf(path, MetaFormat, ErrFormat, "format %d is not supported; this ulmfit-go reads %s format %d", format, k, k.Format())
	}
	af.lin = Lineage{Kind: k, Format: format, Producer: af.meta[MetaProducer]}
	if s, ok := af.meta[MetaParams]; ok {
		if err := json.Unmarshal([]byte(s), &af.lin.Params); err != nil {
			return errorf(path, MetaParams, ErrCorrupt, "not a JSON object: %v", err)
		}
	}
	if s, ok := af.meta[MetaInputs]; ok {
		if err := json.Unmarshal([]byte(s), &af.lin.Inputs); err != nil {
			return errorf(path, MetaInputs, ErrCorrupt, "not a JSON array of {path, sha256, kind}: %v", err)
		}
	}
	af.metaCRC = schemaDigest(af.schema)
	switch cs, ok := af.meta[MetaChecksums]; {
	case !ok:
		// Made by another tool: no checksums to check.
	case cs == "crc32c":
		af.sums = true
	default:
		return errorf(path, MetaChecksums, ErrFormat, "unknown checksum %q, want crc32c (written by a newer ulmfit-go? upgrade)", cs)
	}
	if af.sums && af.r.NumRecords() == 0 {
		return errorf(path, "", ErrCorrupt, "no record batches (ulmfit-go always writes at least one; the file is damaged)")
	}
	af.col = map[string]int{}
	for _, c := range cols {
		idx := af.schema.FieldIndices(c.name)
		if len(idx) == 0 {
			return errorf(path, "column "+c.name, ErrCorrupt, "missing from the schema; want %s (schema is %s)", c.typ, fieldList(af.schema))
		}
		got := af.schema.Field(idx[0]).Type
		if !typeMatches(got, c.typ) {
			return errorf(path, "column "+c.name, ErrCorrupt, "has type %s, want %s", got, c.typ)
		}
		af.col[c.name] = idx[0]
	}
	return nil
}

func orAny(want []Kind) string {
	if len(want) == 0 {
		return "any kind"
	}
	return wantText(want)
}

func fieldList(s *arrow.Schema) string {
	parts := make([]string, len(s.Fields()))
	for i, f := range s.Fields() {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// typeMatches compares types structurally, ignoring child field names and
// nullability (other Arrow writers name list items differently); a
// fixed-size list matches any size (readers check sizes themselves).
func typeMatches(got, want arrow.DataType) bool {
	if got.ID() != want.ID() {
		return false
	}
	switch w := want.(type) {
	case *arrow.ListType:
		return typeMatches(got.(*arrow.ListType).Elem(), w.Elem())
	case *arrow.FixedSizeListType:
		return typeMatches(got.(*arrow.FixedSizeListType).Elem(), w.Elem())
	}
	return true
}

func (af *arrowFile) numBatches() int { return af.r.NumRecords() }

// batch reads, validates and checksums record batch i. The caller releases it.
func (af *arrowFile) batch(i int) (rec arrow.RecordBatch, err error) {
	field := fmt.Sprintf("record batch %d", i)
	defer func() {
		if p := recover(); p != nil {
			if rec != nil {
				rec.Release()
			}
			rec = nil
			err = errorf(af.path, field, ErrCorrupt, "%v (the file is damaged; re-create it)", p)
		}
	}()
	if err := af.verifyBlock(i); err != nil {
		return nil, err
	}
	rec, err = af.r.RecordBatchAt(i)
	if err != nil {
		return nil, errorf(af.path, field, ErrCorrupt, "%v (the file is damaged; re-create it)", err)
	}
	if err := array.ValidateRecordFull(rec); err != nil {
		rec.Release()
		return nil, errorf(af.path, field, ErrCorrupt, "%v (the file is damaged; re-create it)", err)
	}
	for c, col := range rec.Columns() {
		if int64(col.Len()) != rec.NumRows() {
			rec.Release()
			return nil, errorf(af.path, field, ErrCorrupt, "column %d has %d rows, the batch %d (the file is damaged; re-create it)", c, col.Len(), rec.NumRows())
		}
	}
	if !af.sums {
		return rec, nil
	}
	var md arrow.Metadata
	if rm, ok := rec.(arrow.RecordBatchWithMetadata); ok {
		md = rm.Metadata()
	}
	want, ok1 := md.GetValue(batchCRC)
	mwant, ok2 := md.GetValue(schemaCRC)
	if !ok1 || !ok2 {
		rec.Release()
		return nil, errorf(af.path, field, ErrCorrupt, "no %s checksum although %s is set: damaged, or rewritten by another tool (then drop %s from the schema metadata)", batchCRC, MetaChecksums, MetaChecksums)
	}
	if mwant != af.metaCRC {
		rec.Release()
		return nil, errorf(af.path, "schema metadata", ErrCorrupt, "checksum mismatch (%s, want %s): the file is damaged; re-create it", af.metaCRC, mwant)
	}
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	for _, c := range rec.Columns() {
		digestArray(h, c)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		rec.Release()
		return nil, errorf(af.path, field, ErrCorrupt, "checksum mismatch (%s, want %s): the file is damaged; re-create it", got, want)
	}
	return rec, nil
}

func (af *arrowFile) close() {
	if af.r != nil {
		af.r.Close()
	}
	af.f.Close()
}

// column returns the named (resolved) column of rec.
func (af *arrowFile) column(rec arrow.RecordBatch, name string) arrow.Array {
	return rec.Column(af.col[name])
}

// metaJSON decodes the JSON under key into v; absent keys leave v alone.
func (af *arrowFile) metaJSON(key string, v any) error {
	s, ok := af.meta[key]
	if !ok {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return errorf(af.path, key, ErrCorrupt, "invalid JSON: %v", err)
	}
	return nil
}

// metaRaw returns the raw JSON under key, or nil.
func (af *arrowFile) metaRaw(key string) (json.RawMessage, error) {
	s, ok := af.meta[key]
	if !ok {
		return nil, nil
	}
	if !json.Valid([]byte(s)) {
		return nil, errorf(af.path, key, ErrCorrupt, "invalid JSON")
	}
	return json.RawMessage(s), nil
}

// metaBool parses "true"/"false" under key (absent = false).
func (af *arrowFile) metaBool(key string) (bool, error) {
	s, ok := af.meta[key]
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, errorf(af.path, key, ErrCorrupt, "%q is not true or false", s)
	}
	return b, nil
}

// noNulls fails if arr (a non-nullable column) holds nulls.
func (af *arrowFile) noNulls(arr arrow.Array, name string, batch int) error {
	if arr.NullN() == 0 {
		return nil
	}
	for i := 0; i < arr.Len(); i++ {
		if arr.IsNull(i) {
			return errorf(af.path, fmt.Sprintf("record batch %d, row %d, column %s", batch, i, name), ErrCorrupt, "null, want a value")
		}
	}
	return nil
}

var _ io.Writer = (*atomicFile)(nil)

// isErr reports whether err is already an *Error.
func isErr(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// readFooterBlocks verifies the file footer's flatbuffer (so arrow-go never
// parses a damaged one) and returns its record batch blocks.
func readFooterBlocks(path string, f *os.File, size int64) ([]fbBlock, error) {
	damaged := func(format string, a ...any) error {
		return errorf(path, "Arrow footer", ErrCorrupt, format+" (the file is damaged; re-create it)", a...)
	}
	var trailer [4]byte
	if _, err := f.ReadAt(trailer[:], size-10); err != nil {
		return nil, damaged("cannot read its length: %v", err)
	}
	flen := int64(binary.LittleEndian.Uint32(trailer[:]))
	end := size - 10 // where the footer ends
	if flen <= 0 || flen > end-8 {
		return nil, damaged("length %d does not fit in a %d-byte file", flen, size)
	}
	buf := make([]byte, flen)
	if _, err := f.ReadAt(buf, end-flen); err != nil {
		return nil, damaged("cannot read it: %v", err)
	}
	blocks, err := verifyFooter(buf)
	if errors.Is(err, errDictionaries) {
		return nil, errorf(path, "", ErrNotArtifact, "%v: want an ulmfit-go artifact", err)
	}
	if err != nil {
		return nil, damaged("%v", err)
	}
	for i, b := range blocks {
		if b.offset < 8 || b.offset%8 != 0 || b.meta < 8 || b.meta%8 != 0 || b.body < 0 || b.body%8 != 0 ||
			b.offset > end-flen || int64(b.meta) > end-flen-b.offset || b.body > end-flen-b.offset-int64(b.meta) {
			return nil, damaged("record batch %d has an impossible position (offset %d, metadata %d, body %d bytes)", i, b.offset, b.meta, b.body)
		}
	}
	return blocks, nil
}

// verifyBlock checks the flatbuffer metadata of record batch i before
// arrow-go parses it.
func (af *arrowFile) verifyBlock(i int) error {
	_, err := af.blockRows(i)
	return err
}

// blockRows verifies the metadata of record batch i and returns its row
// count, without reading the body.
func (af *arrowFile) blockRows(i int) (int64, error) {
	if i < 0 || i >= len(af.blocks) {
		return 0, errorf(af.path, "", ErrCorrupt, "record batch %d does not exist (%d batches)", i, len(af.blocks))
	}
	b := af.blocks[i]
	buf := make([]byte, b.meta)
	if _, err := af.f.ReadAt(buf, b.offset); err != nil {
		return 0, errorf(af.path, fmt.Sprintf("record batch %d", i), ErrCorrupt, "cannot read its metadata: %v", err)
	}
	prefix := 4
	if binary.LittleEndian.Uint32(buf) == 0xffffffff {
		prefix = 8
	}
	field := fmt.Sprintf("record batch %d", i)
	bi, err := verifyBatchMessage(buf[prefix:])
	if err != nil {
		return 0, errorf(af.path, field, ErrCorrupt, "%v (the file is damaged; re-create it)", err)
	}
	if bi.rows < 0 {
		return 0, errorf(af.path, field, ErrCorrupt, "%d rows (the file is damaged; re-create it)", bi.rows)
	}
	// arrow-go allocates each compressed buffer's claimed uncompressed size
	// up front; check the claim against what the codec could produce.
	var prefix8 [8]byte
	for k, bf := range bi.buffers {
		off, n := bf[0], bf[1]
		if off < 0 || n < 0 || off > b.body || n > b.body-off {
			return 0, errorf(af.path, field, ErrCorrupt, "buffer %d (offset %d, %d bytes) lies outside the %d-byte body (the file is damaged; re-create it)", k, off, n, b.body)
		}
		if !bi.compressed || n == 0 {
			continue
		}
		if n < 8 {
			return 0, errorf(af.path, field, ErrCorrupt, "compressed buffer %d has only %d bytes (the file is damaged; re-create it)", k, n)
		}
		if _, err := af.f.ReadAt(prefix8[:], b.offset+int64(b.meta)+off); err != nil {
			return 0, errorf(af.path, field, ErrCorrupt, "cannot read buffer %d: %v", k, err)
		}
		claim := int64(binary.LittleEndian.Uint64(prefix8[:]))
		if claim == -1 {
			continue // stored uncompressed
		}
		if limit := maxDecompressed(n - 8); claim < 0 || claim > limit {
			return 0, errorf(af.path, field, ErrCorrupt, "buffer %d claims %d bytes from %d compressed bytes, more than the codec can produce (the file is damaged; re-create it)", k, claim, n-8)
		}
	}
	return bi.rows, nil
}

// maxDecompressed bounds what n bytes of a zstd (or LZ4) frame can expand
// to: a zstd block yields at most 128 KiB and takes at least 3 bytes.
func maxDecompressed(n int64) int64 {
	return (n/3 + 1) << 17
}

// listBuilder builds list<elem> with non-nullable items, the list type
// every artifact schema uses.
func listBuilder(mem memory.Allocator, elem arrow.DataType) *array.ListBuilder {
	return array.NewListBuilderWithField(mem, arrow.Field{Name: "item", Type: elem})
}
