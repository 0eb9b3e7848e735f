package artifacts

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A bounds-checking verifier for the flatbuffers inside Arrow IPC files
// (footer, schema and record batch messages). arrow-go trusts these
// buffers: a damaged vector length makes it allocate gigabytes (a fatal
// out-of-memory, not a recoverable panic) and a cyclic child offset recurses
// without end. Readers run this before handing any metadata to arrow-go.
// The table layouts follow format/File.fbs, Schema.fbs and Message.fbs.

var errFB = errors.New("invalid flatbuffer")

// errDictionaries marks a footer with dictionary batches: a valid Arrow
// file, but not one ulmfit-go writes or reads.
var errDictionaries = errors.New("the file has dictionary-encoded columns, which ulmfit-go artifacts never use")

type fbVerifier struct {
	b      []byte
	tables int // budget: tables visited
}

type fbTable struct {
	v      *fbVerifier
	pos    uint64
	vt     uint64 // vtable position
	nslots uint64
	size   uint64 // table size in bytes
}

func fbErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errFB, fmt.Sprintf(format, a...))
}

func (v *fbVerifier) u32(pos uint64) (uint32, error) {
	if pos+4 > uint64(len(v.b)) {
		return 0, fbErr("read of 4 bytes at %d past the end (%d)", pos, len(v.b))
	}
	return binary.LittleEndian.Uint32(v.b[pos:]), nil
}

func (v *fbVerifier) u16(pos uint64) (uint16, error) {
	if pos+2 > uint64(len(v.b)) {
		return 0, fbErr("read of 2 bytes at %d past the end (%d)", pos, len(v.b))
	}
	return binary.LittleEndian.Uint16(v.b[pos:]), nil
}

// root returns the root table.
func (v *fbVerifier) root() (fbTable, error) {
	off, err := v.u32(0)
	if err != nil {
		return fbTable{}, err
	}
	return v.table(uint64(off))
}

// table checks the table at pos and its vtable.
func (v *fbVerifier) table(pos uint64) (fbTable, error) {
	v.tables++
	if v.tables > len(v.b)/4+16 {
		return fbTable{}, fbErr("too many tables (cyclic offsets?)")
	}
	so, err := v.u32(pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := int64(pos) - int64(int32(so))
	if vt < 0 || vt+4 > int64(len(v.b)) {
		return fbTable{}, fbErr("vtable at %d out of bounds", vt)
	}
	vtLen, _ := v.u16(uint64(vt))
	tblLen, _ := v.u16(uint64(vt) + 2)
	if vtLen < 4 || vtLen%2 != 0 || uint64(vt)+uint64(vtLen) > uint64(len(v.b)) {
		return fbTable{}, fbErr("vtable at %d has bad length %d", vt, vtLen)
	}
	if tblLen < 4 || pos+uint64(tblLen) > uint64(len(v.b)) {
		return fbTable{}, fbErr("table at %d has bad length %d", pos, tblLen)
	}
	return fbTable{v: v, pos: pos, vt: uint64(vt), nslots: uint64(vtLen-4) / 2, size: uint64(tblLen)}, nil
}

// field returns the position of field slot i and whether it is present,
// checking that size bytes fit inside the table.
func (t fbTable) field(i int, size uint64) (uint64, bool, error) {
	if uint64(i) >= t.nslots {
		return 0, false, nil
	}
	off, _ := t.v.u16(t.vt + 4 + 2*uint64(i))
	if off == 0 {
		return 0, false, nil
	}
	if uint64(off) < 4 || uint64(off)+size > t.size {
		return 0, false, fbErr("field %d of table at %d lies outside it", i, t.pos)
	}
	return t.pos + uint64(off), true, nil
}

// scalars checks that the listed scalar slots (slot, size) fit in the table.
func (t fbTable) scalars(slots ...[2]int) error {
	for _, s := range slots {
		if _, _, err := t.field(s[0], uint64(s[1])); err != nil {
			return err
		}
	}
	return nil
}

// u8 reads a present ubyte slot (0 when absent).
func (t fbTable) u8(i int) (byte, error) {
	p, ok, err := t.field(i, 1)
	if err != nil || !ok {
		return 0, err
	}
	return t.v.b[p], nil
}

// ref follows the offset in slot i; ok is false when the slot is absent.
func (t fbTable) ref(i int) (uint64, bool, error) {
	p, ok, err := t.field(i, 4)
	if err != nil || !ok {
		return 0, false, err
	}
	off, _ := t.v.u32(p)
	target := p + uint64(off)
	if target+4 > uint64(len(t.v.b)) {
		return 0, false, fbErr("offset in field %d of table at %d points past the end", i, t.pos)
	}
	return target, true, nil
}

// subtable follows slot i to a table.
func (t fbTable) subtable(i int) (fbTable, bool, error) {
	target, ok, err := t.ref(i)
	if err != nil || !ok {
		return fbTable{}, false, err
	}
	st, err := t.v.table(target)
	return st, err == nil, err
}

// vector follows slot i to a vector of n elements of elem bytes each and
// returns n and the position of the first element.
func (t fbTable) vector(i int, elem uint64) (n, start uint64, err error) {
	target, ok, err := t.ref(i)
	if err != nil || !ok {
		return 0, 0, err
	}
	return t.v.vectorAt(target, elem)
}

func (v *fbVerifier) vectorAt(target, elem uint64) (n, start uint64, err error) {
	l, err := v.u32(target)
	if err != nil {
		return 0, 0, err
	}
	n, start = uint64(l), target+4
	if start+n*elem > uint64(len(v.b)) {
		return 0, 0, fbErr("vector at %d of %d elements runs past the end", target, n)
	}
	return n, start, nil
}

// str checks the string in slot i.
func (t fbTable) str(i int) error {
	target, ok, err := t.ref(i)
	if err != nil || !ok {
		return err
	}
	return t.v.strAt(target)
}

func (v *fbVerifier) strAt(target uint64) error {
	n, start, err := v.vectorAt(target, 1)
	if err != nil {
		return err
	}
	if start+n >= uint64(len(v.b)) {
		return fbErr("string at %d has no terminator", target)
	}
	return nil
}

// tables checks a vector of tables in slot i with check.
func (t fbTable) tables(i int, check func(fbTable) error) error {
	n, start, err := t.vector(i, 4)
	if err != nil {
		return err
	}
	for k := uint64(0); k < n; k++ {
		p := start + 4*k
		off, _ := t.v.u32(p)
		st, err := t.v.table(p + uint64(off))
		if err != nil {
			return err
		}
		if err := check(st); err != nil {
			return err
		}
	}
	return nil
}

// keyValues checks a [KeyValue] vector in slot i (KeyValue: key, value).
func (t fbTable) keyValues(i int) error {
	return t.tables(i, func(kv fbTable) error {
		if err := kv.str(0); err != nil {
			return err
		}
		return kv.str(1)
	})
}

// verifyFooter checks an Arrow file footer (File.fbs: version, schema,
// dictionaries, recordBatches, custom_metadata) and returns the record
// batch blocks.
func verifyFooter(b []byte) ([]fbBlock, error) {
	v := &fbVerifier{b: b}
	f, err := v.root()
	if err != nil {
		return nil, err
	}
	if err := f.scalars([2]int{0, 2}); err != nil {
		return nil, err
	}
	s, ok, err := f.subtable(1)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fbErr("footer has no schema")
	}
	if err := verifySchema(s); err != nil {
		return nil, err
	}
	if n, _, err := f.vector(2, 24); err != nil {
		return nil, err
	} else if n != 0 {
		return nil, errDictionaries
	}
	n, start, err := f.vector(3, 24)
	if err != nil {
		return nil, err
	}
	if err := f.keyValues(4); err != nil {
		return nil, err
	}
	blocks := make([]fbBlock, n)
	for k := range blocks {
		p := start + 24*uint64(k)
		blocks[k] = fbBlock{
			offset: int64(binary.LittleEndian.Uint64(b[p:])),
			meta:   int32(binary.LittleEndian.Uint32(b[p+8:])),
			body:   int64(binary.LittleEndian.Uint64(b[p+16:])),
		}
	}
	return blocks, nil
}

// fbBlock is a footer Block: where a message lives in the file.
type fbBlock struct {
	offset int64
	meta   int32
	body   int64
}

// verifySchema checks Schema: endianness, fields, custom_metadata, features.
func verifySchema(s fbTable) error {
	if err := s.scalars([2]int{0, 2}); err != nil {
		return err
	}
	if err := s.tables(1, func(f fbTable) error { return verifyField(f, 0) }); err != nil {
		return err
	}
	if err := s.keyValues(2); err != nil {
		return err
	}
	_, _, err := s.vector(3, 8)
	return err
}

// verifyField checks Field: name, nullable, type_type, type, dictionary,
// children, custom_metadata.
func verifyField(f fbTable, depth int) error {
	if depth > 32 {
		return fbErr("fields nested deeper than 32")
	}
	if err := f.str(0); err != nil {
		return err
	}
	if err := f.scalars([2]int{1, 1}); err != nil {
		return err
	}
	typ, err := f.u8(2)
	if err != nil {
		return err
	}
	tt, ok, err := f.subtable(3)
	if err != nil {
		return err
	}
	if ok {
		if err := verifyType(typ, tt); err != nil {
			return err
		}
	}
	if d, ok, err := f.subtable(4); err != nil {
		return err
	} else if ok {
		// DictionaryEncoding: id, indexType (Int), isOrdered, dictionaryKind.
		if err := d.scalars([2]int{0, 8}, [2]int{2, 1}, [2]int{3, 2}); err != nil {
			return err
		}
		if it, ok, err := d.subtable(1); err != nil {
			return err
		} else if ok {
			if err := verifyType(2, it); err != nil {
				return err
			}
		}
	}
	if err := f.tables(5, func(c fbTable) error { return verifyField(c, depth+1) }); err != nil {
		return err
	}
	return f.keyValues(6)
}

// verifyType checks the table of a Type union member.
func verifyType(typ byte, t fbTable) error {
	switch typ {
	case 10: // Timestamp: unit, timezone
		if err := t.scalars([2]int{0, 2}); err != nil {
			return err
		}
		return t.str(1)
	case 14: // Union: mode, typeIds
		if err := t.scalars([2]int{0, 2}); err != nil {
			return err
		}
		_, _, err := t.vector(1, 4)
		return err
	}
	// Every other member holds at most three scalars of up to 4 bytes.
	for i := 0; i < 3; i++ {
		if _, _, err := t.field(i, 1); err != nil {
			return err
		}
	}
	return nil
}

// verifyMessage checks a record batch Message (version, header_type,
// header, bodyLength, custom_metadata) and its RecordBatch header (length,
// nodes, buffers, compression, variadicBufferCounts).
// It returns the batch's row count.
func verifyMessage(b []byte) (rows int64, err error) {
	bi, err := verifyBatchMessage(b)
	return bi.rows, err
}

// batchInfo is what readers need from a record batch message before
// letting arrow-go decode it.
type batchInfo struct {
	rows       int64
	compressed bool
	buffers    [][2]int64 // offset, length within the body
}

func verifyBatchMessage(b []byte) (bi batchInfo, err error) {
	v := &fbVerifier{b: b}
	m, err := v.root()
	if err != nil {
		return bi, err
	}
	if err := m.scalars([2]int{0, 2}, [2]int{3, 8}); err != nil {
		return bi, err
	}
	ht, err := m.u8(1)
	if err != nil {
		return bi, err
	}
	if ht != 3 {
		return bi, fbErr("message header type %d, want a record batch (3)", ht)
	}
	rb, ok, err := m.subtable(2)
	if err != nil {
		return bi, err
	}
	if !ok {
		return bi, fbErr("record batch message without a header")
	}
	if err := m.keyValues(4); err != nil {
		return bi, err
	}
	if p, ok, err := rb.field(0, 8); err != nil {
		return bi, err
	} else if ok {
		bi.rows = int64(binary.LittleEndian.Uint64(b[p:]))
	}
	if _, _, err := rb.vector(1, 16); err != nil {
		return bi, err
	}
	n, start, err := rb.vector(2, 16)
	if err != nil {
		return bi, err
	}
	bi.buffers = make([][2]int64, n)
	for k := range bi.buffers {
		p := start + 16*uint64(k)
		bi.buffers[k] = [2]int64{int64(binary.LittleEndian.Uint64(b[p:])), int64(binary.LittleEndian.Uint64(b[p+8:]))}
	}
	if c, ok, err := rb.subtable(3); err != nil {
		return bi, err
	} else if ok {
		if err := c.scalars([2]int{0, 1}, [2]int{1, 1}); err != nil {
			return bi, err
		}
		bi.compressed = true
	}
	_, _, err = rb.vector(4, 8)
	return bi, err
}
