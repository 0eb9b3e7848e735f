package fastai

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// Pickle opcodes used by the writer (protocol 2).
const (
	opProto      = 0x80
	opStop       = '.'
	opMark       = '('
	opTuple      = 't'
	opEmptyTuple = ')'
	opEmptyList  = ']'
	opAppends    = 'e'
	opSetItems   = 'u'
	opGlobal     = 'c'
	opReduce     = 'R'
	opBinPersID  = 'Q'
	opBinUnicode = 'X'
	opBinInt     = 'J'
	opBinInt1    = 'K'
	opBinInt2    = 'M'
	opLong1      = 0x8a
	opNewFalse   = 0x89
	opBinPut     = 'q'
	opLongBinPut = 'r'
	opBinGet     = 'h'
	opLongBinGet = 'j'
)

// pickler writes a protocol-2 pickle stream. Globals are memoized so each
// class reference is spelled out once.
type pickler struct {
	b       bytes.Buffer
	globals map[string]int
	memo    int
}

func newPickler() *pickler {
	p := &pickler{globals: map[string]int{}}
	p.b.Write([]byte{opProto, 2})
	return p
}

func (p *pickler) op(c byte) { p.b.WriteByte(c) }

func (p *pickler) put() {
	if p.memo < 256 {
		p.b.Write([]byte{opBinPut, byte(p.memo)})
	} else {
		p.b.WriteByte(opLongBinPut)
		binary.Write(&p.b, binary.LittleEndian, uint32(p.memo))
	}
	p.memo++
}

func (p *pickler) global(module, name string) {
	key := module + "\n" + name
	if i, ok := p.globals[key]; ok {
		if i < 256 {
			p.b.Write([]byte{opBinGet, byte(i)})
		} else {
			p.b.WriteByte(opLongBinGet)
			binary.Write(&p.b, binary.LittleEndian, uint32(i))
		}
		return
	}
	p.b.WriteByte(opGlobal)
	p.b.WriteString(module + "\n" + name + "\n")
	p.globals[key] = p.memo
	p.put()
}

func (p *pickler) str(s string) {
	p.b.WriteByte(opBinUnicode)
	binary.Write(&p.b, binary.LittleEndian, uint32(len(s)))
	p.b.WriteString(s)
}

func (p *pickler) int(n int64) {
	switch {
	case n >= 0 && n < 256:
		p.b.Write([]byte{opBinInt1, byte(n)})
	case n >= 0 && n < 65536:
		p.b.WriteByte(opBinInt2)
		binary.Write(&p.b, binary.LittleEndian, uint16(n))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		p.b.WriteByte(opBinInt)
		binary.Write(&p.b, binary.LittleEndian, int32(n))
	default:
		p.b.Write([]byte{opLong1, 8})
		binary.Write(&p.b, binary.LittleEndian, n)
	}
}

func (p *pickler) intTuple(v []int) {
	if len(v) == 0 {
		p.op(opEmptyTuple)
		return
	}
	p.op(opMark)
	for _, x := range v {
		p.int(int64(x))
	}
	p.op(opTuple)
}

func (p *pickler) bytes() []byte {
	p.op(opStop)
	return p.b.Bytes()
}

// pickleStrings pickles a list of strings (fastai's itos_*.pkl).
func pickleStrings(items []string) []byte {
	p := newPickler()
	p.op(opEmptyList)
	p.put()
	for i := 0; i < len(items); i += 1000 {
		p.op(opMark)
		for _, s := range items[i:min(i+1000, len(items))] {
			p.str(s)
		}
		p.op(opAppends)
	}
	return p.bytes()
}

// outTensor is one entry of a state dict to save.
type outTensor struct {
	name    string
	shape   []int
	storage int // index into the storages
}

// outStorage is one storage: float32 values, or int64 when ints is set.
type outStorage struct {
	f32  []float32
	ints []int64
}

func (s *outStorage) numel() int {
	if s.ints != nil {
		return len(s.ints)
	}
	return len(s.f32)
}

func (s *outStorage) raw() []byte {
	if s.ints != nil {
		b := make([]byte, 8*len(s.ints))
		for i, v := range s.ints {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
		return b
	}
	b := make([]byte, 4*len(s.f32))
	for i, v := range s.f32 {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// pickleStateDict pickles an OrderedDict of contiguous tensors the way
// torch.save does: each tensor is torch._utils._rebuild_tensor_v2(storage,
// 0, size, stride, False, OrderedDict()) with the storage as the persistent
// id ('storage', torch.FloatStorage, key, 'cpu', numel).
func pickleStateDict(ts []outTensor, sts []outStorage) []byte {
	p := newPickler()
	p.global("collections", "OrderedDict")
	p.op(opEmptyTuple)
	p.op(opReduce)
	p.put()
	if len(ts) > 0 {
		p.op(opMark)
		for _, t := range ts {
			p.str(t.name)
			p.global("torch._utils", "_rebuild_tensor_v2")
			p.op(opMark)
			// persistent id
			st := &sts[t.storage]
			p.op(opMark)
			p.str("storage")
			if st.ints != nil {
				p.global("torch", "LongStorage")
			} else {
				p.global("torch", "FloatStorage")
			}
			p.str(fmt.Sprint(t.storage))
			p.str("cpu")
			p.int(int64(st.numel()))
			p.op(opTuple)
			p.op(opBinPersID)
			p.int(0)
			p.intTuple(t.shape)
			stride := make([]int, len(t.shape))
			n := 1
			for i := len(t.shape) - 1; i >= 0; i-- {
				stride[i] = n
				n *= t.shape[i]
			}
			p.intTuple(stride)
			p.op(opNewFalse)
			p.global("collections", "OrderedDict")
			p.op(opEmptyTuple)
			p.op(opReduce)
			p.op(opTuple)
			p.op(opReduce)
		}
		p.op(opSetItems)
	}
	return p.bytes()
}

// zipAlign is the data alignment of the records, as torch's writer.
const zipAlign = 64

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// writeTorchZip writes a torch.save zip checkpoint (the format of torch >=
// 1.6): <prefix>/data.pkl, <prefix>/byteorder, <prefix>/data/<key> for each
// storage, <prefix>/version; records stored uncompressed, data aligned to
// 64 bytes as torch writes them. The output depends only on the inputs.
func writeTorchZip(w io.Writer, prefix string, ts []outTensor, sts []outStorage) error {
	cw := &countWriter{w: w}
	zw := zip.NewWriter(cw)
	add := func(name string, data []byte) error {
		if err := zw.Flush(); err != nil {
			return err
		}
		name = prefix + "/" + name
		pad := (zipAlign - int((cw.n+30+int64(len(name))+4)%zipAlign)) % zipAlign
		extra := make([]byte, 4+pad)
		binary.LittleEndian.PutUint16(extra[0:], 0x4246) // "FB", torch's padding field
		binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
		fh := &zip.FileHeader{
			Name:               name,
			Method:             zip.Store,
			CRC32:              crc32.ChecksumIEEE(data),
			CompressedSize64:   uint64(len(data)),
			UncompressedSize64: uint64(len(data)),
			Extra:              extra,
		}
		fw, err := zw.CreateRaw(fh)
		if err != nil {
			return err
		}
		_, err = fw.Write(data)
		return err
	}
	if err := add("data.pkl", pickleStateDict(ts, sts)); err != nil {
		return err
	}
	if err := add("byteorder", []byte("little")); err != nil {
		return err
	}
	for i := range sts {
		if err := add(fmt.Sprintf("data/%d", i), sts[i].raw()); err != nil {
			return err
		}
	}
	if err := add("version", []byte("3\n")); err != nil {
		return err
	}
	return zw.Close()
}
