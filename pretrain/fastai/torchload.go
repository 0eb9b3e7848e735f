package fastai

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/big"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// dtype is the element type of a PyTorch storage.
type dtype string

// Storage element types this reader understands.
const (
	dtFloat32  dtype = "float32"
	dtFloat64  dtype = "float64"
	dtFloat16  dtype = "float16"
	dtBFloat16 dtype = "bfloat16"
	dtInt64    dtype = "int64"
	dtInt32    dtype = "int32"
	dtInt16    dtype = "int16"
	dtInt8     dtype = "int8"
	dtUint8    dtype = "uint8"
	dtBool     dtype = "bool"
)

// size returns the element size in bytes.
func (d dtype) size() int {
	switch d {
	case dtFloat64, dtInt64:
		return 8
	case dtFloat32, dtInt32:
		return 4
	case dtFloat16, dtBFloat16, dtInt16:
		return 2
	default:
		return 1
	}
}

// storageClasses maps the pickled storage class name (torch.FloatStorage,
// torch.cuda.FloatStorage, ...) to its element type.
var storageClasses = map[string]dtype{
	"FloatStorage": dtFloat32, "DoubleStorage": dtFloat64, "HalfStorage": dtFloat16,
	"BFloat16Storage": dtBFloat16, "LongStorage": dtInt64, "IntStorage": dtInt32,
	"ShortStorage": dtInt16, "CharStorage": dtInt8, "ByteStorage": dtUint8, "BoolStorage": dtBool,
}

// storageClass is the unpickled value of a torch.*Storage class reference.
type storageClass struct{ dtype dtype }

// storage is one PyTorch storage: raw little-endian bytes of one dtype.
type storage struct {
	key   string
	dtype dtype
	numel int
	data  []byte // filled when the storage bytes are read
}

// torchTensor is a tensor read from a PyTorch checkpoint: a strided view
// into a storage.
type torchTensor struct {
	Shape  []int
	Stride []int
	Offset int
	st     *storage
}

// sameStorage reports whether two tensors view the same storage with the
// same geometry (tied weights).
func (t *torchTensor) sameStorage(u *torchTensor) bool {
	return t.st == u.st && t.Offset == u.Offset && equalInts(t.Shape, u.Shape) && equalInts(t.Stride, u.Stride)
}

// Float32s returns the tensor's values in row-major order, converted to float32.
func (t *torchTensor) Float32s() ([]float32, error) {
	if t.st.data == nil {
		return nil, fmt.Errorf("storage %s was never read", t.st.key)
	}
	es := t.st.dtype.size()
	have := len(t.st.data) / es // elements in the storage
	// The view must lie inside the storage and hold no more elements than
	// it (expanded views are not parameters): so the output is bounded by
	// the file's size, whatever the file claims.
	bad := func() error {
		return fmt.Errorf("tensor view (offset %d, shape %s, stride %s) does not fit its storage of %d %s elements",
			t.Offset, short(t.Shape), short(t.Stride), have, t.st.dtype)
	}
	n := 1
	for _, s := range t.Shape {
		if s < 0 || (s > 0 && n > have/s) {
			return nil, bad()
		}
		n *= s
	}
	if n > have || t.Offset < 0 || t.Offset > have {
		return nil, bad()
	}
	out := make([]float32, n)
	if n == 0 {
		return out, nil
	}
	// Bounds: the largest element index touched must lie inside the storage.
	maxIdx := t.Offset
	for i, s := range t.Shape {
		if t.Stride[i] < 0 {
			return nil, fmt.Errorf("negative stride %s", short(t.Stride))
		}
		if s > 1 && t.Stride[i] > (have-1-maxIdx)/(s-1) {
			return nil, bad()
		}
		maxIdx += (s - 1) * t.Stride[i]
	}
	if maxIdx >= have {
		return nil, bad()
	}
	conv, err := converter(t.st.dtype)
	if err != nil {
		return nil, err
	}
	if t.contiguous() {
		b := t.st.data[t.Offset*es:]
		if t.st.dtype == dtFloat32 {
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			return out, nil
		}
		for i := range out {
			out[i] = conv(b[i*es:])
		}
		return out, nil
	}
	idx := make([]int, len(t.Shape))
	for i := 0; i < n; i++ {
		off := t.Offset
		for d, v := range idx {
			off += v * t.Stride[d]
		}
		out[i] = conv(t.st.data[off*es:])
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < t.Shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// contiguous reports whether the view is row-major without gaps.
func (t *torchTensor) contiguous() bool {
	n := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] != 1 && t.Stride[i] != n {
			return false
		}
		n *= t.Shape[i]
	}
	return true
}

func converter(d dtype) (func(b []byte) float32, error) {
	le := binary.LittleEndian
	switch d {
	case dtFloat32:
		return func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) }, nil
	case dtFloat64:
		return func(b []byte) float32 { return float32(math.Float64frombits(le.Uint64(b))) }, nil
	case dtFloat16:
		return func(b []byte) float32 { return halfToFloat(le.Uint16(b)) }, nil
	case dtBFloat16:
		return func(b []byte) float32 { return math.Float32frombits(uint32(le.Uint16(b)) << 16) }, nil
	case dtInt64:
		return func(b []byte) float32 { return float32(int64(le.Uint64(b))) }, nil
	case dtInt32:
		return func(b []byte) float32 { return float32(int32(le.Uint32(b))) }, nil
	case dtInt16:
		return func(b []byte) float32 { return float32(int16(le.Uint16(b))) }, nil
	case dtInt8:
		return func(b []byte) float32 { return float32(int8(b[0])) }, nil
	case dtUint8, dtBool:
		return func(b []byte) float32 { return float32(b[0]) }, nil
	}
	return nil, fmt.Errorf("unsupported storage type %q", d)
}

// halfToFloat converts an IEEE 754 binary16 value to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(frac) / 1024 / 16384
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// loadTorch decodes a torch.save file held in memory: the zip format
// (torch >= 1.6: <prefix>/data.pkl plus <prefix>/data/<key> storage records)
// or the legacy format (magic number, protocol, sys info, the object pickle,
// the storage key list, then each storage as int64 numel + raw bytes).
// Tensors come back as *torchTensor; dicts as *types.Dict or
// *types.OrderedDict; unknown Python classes as opaque objects.
func loadTorch(data []byte) (any, error) {
	if len(data) >= 4 && string(data[:4]) == "PK\x03\x04" {
		return loadTorchZip(data)
	}
	return loadTorchLegacy(data)
}

func loadTorchZip(data []byte) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch checkpoint: unreadable zip archive (truncated or corrupt file?): %w", err)
	}
	records := map[string]*zip.File{}
	var pkl *zip.File
	for _, f := range zr.File {
		records[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") == 1 {
			pkl = f
		}
		if path.Base(f.Name) == "constants.pkl" {
			return nil, errors.New("this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint")
		}
	}
	if pkl == nil {
		return nil, errors.New("zip archive has no <name>/data.pkl record: not a torch.save checkpoint")
	}
	prefix := path.Dir(pkl.Name)
	if f, ok := records[prefix+"/byteorder"]; ok {
		b, err := readZipRecord(f, len(data))
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("checkpoint byte order is %.20q; only little-endian checkpoints are supported", s)
		}
	}
	storages := map[string]*storage{}
	pb, err := readZipRecord(pkl, len(data))
	if err != nil {
		return nil, err
	}
	persistentLoad := func(pid any) (any, error) {
		st, err := parseStoragePID(pid, 5)
		if err != nil {
			return nil, err
		}
		if have, ok := storages[st.key]; ok {
			return have, nil
		}
		f, ok := records[prefix+"/data/"+st.key]
		if !ok {
			return nil, fmt.Errorf("storage record %s/data/%s is missing from the archive", prefix, st.key)
		}
		b, err := zipRecordBytes(data, f)
		if err != nil {
			return nil, err
		}
		if st.numel > len(b)/st.dtype.size() {
			return nil, fmt.Errorf("storage %s holds %d bytes, too few for %d %s elements", st.key, len(b), st.numel, st.dtype)
		}
		st.data = b
		storages[st.key] = st
		return st, nil
	}
	obj, _, err := unpickle(pb, 0, func(u *pickle.Unpickler) {
		u.FindClass = findClass
		u.PersistentLoad = persistentLoad
	})
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch checkpoint: %s: %w", pkl.Name, err)
	}
	return obj, nil
}

// zipRecordBytes returns a record's bytes: a slice of data for a stored
// (uncompressed) record, as torch writes them, else a decompressed copy.
func zipRecordBytes(data []byte, f *zip.File) ([]byte, error) {
	if f.Method == zip.Store && f.UncompressedSize64 == f.CompressedSize64 {
		off, err := f.DataOffset()
		if err == nil && off >= 0 && uint64(off)+f.UncompressedSize64 <= uint64(len(data)) {
			b := data[off : uint64(off)+f.UncompressedSize64]
			if crc32.ChecksumIEEE(b) != f.CRC32 {
				return nil, fmt.Errorf("zip record %s: checksum mismatch (corrupt file)", f.Name)
			}
			return b, nil
		}
	}
	return readZipRecord(f, len(data))
}

// maxDeflateRatio is the most that deflate can expand its input.
const maxDeflateRatio = 1032

// readZipRecord reads one record of an archive of archiveSize bytes. Its
// declared sizes must fit the archive (what is read is bounded by them).
func readZipRecord(f *zip.File, archiveSize int) ([]byte, error) {
	if f.CompressedSize64 > uint64(archiveSize) {
		return nil, fmt.Errorf("zip record %s declares %d bytes but the whole file has %d (truncated or corrupt file)",
			f.Name, f.CompressedSize64, archiveSize)
	}
	limit := f.CompressedSize64
	if f.Method != zip.Store {
		limit = f.CompressedSize64*maxDeflateRatio + 64
	}
	if f.UncompressedSize64 > limit {
		return nil, fmt.Errorf("zip record %s declares %d bytes from %d compressed ones (corrupt file)",
			f.Name, f.UncompressedSize64, f.CompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("zip record %s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("zip record %s: %w", f.Name, err)
	}
	return b, nil
}

const legacyMagic = "1950a86a20f9469cfc6c"

func loadTorchLegacy(data []byte) (any, error) {
	off := 0
	next := func(setup func(u *pickle.Unpickler)) (any, error) {
		obj, n, err := unpickle(data[off:], off, setup)
		off += n
		return obj, err
	}
	magic, err := next(nil)
	if err != nil {
		if isTar(data) {
			return nil, errors.New("this is a tar archive; if it is a fastai release (.tgz) pass it as the archive, not as the weights file")
		}
		return nil, fmt.Errorf("not a PyTorch checkpoint (neither a zip archive nor a legacy torch.save stream): %w", err)
	}
	if m, ok := magic.(*big.Int); !ok || m.Text(16) != legacyMagic {
		if isTar(data) {
			return nil, errors.New("this is a tar archive; if it is a fastai release (.tgz) pass it as the archive, not as the weights file")
		}
		return nil, errors.New("not a PyTorch checkpoint: no zip header and no legacy magic number")
	}
	proto, err := next(nil)
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch checkpoint: legacy header: %w", err)
	}
	if p, ok := proto.(int); !ok || p != 1001 {
		return nil, fmt.Errorf("unsupported legacy protocol version %s (want 1001)", short(proto))
	}
	sysInfo, err := next(nil)
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch checkpoint: legacy sys info: %w", err)
	}
	if d, ok := sysInfo.(*types.Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le == false {
			return nil, errors.New("checkpoint was written on a big-endian machine; not supported")
		}
	}
	storages := map[string]*storage{}
	persistentLoad := func(pid any) (any, error) {
		if t, ok := pid.(*types.Tuple); ok && t.Len() >= 2 && t.Get(0) == "module" {
			return t.Get(1), nil // a pickled nn.Module class (whole-model saves)
		}
		st, err := parseStoragePID(pid, 6)
		if err != nil {
			return nil, err
		}
		if t := pid.(*types.Tuple); t.Get(5) != nil {
			return nil, errors.New("storage views (legacy view_metadata) are not supported")
		}
		if have, ok := storages[st.key]; ok {
			return have, nil
		}
		storages[st.key] = st
		return st, nil
	}
	obj, err := next(func(u *pickle.Unpickler) {
		u.FindClass = findClass
		u.PersistentLoad = persistentLoad
	})
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch checkpoint: unpickling: %w", err)
	}
	keysObj, err := next(nil)
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch checkpoint: reading the storage key list: %w", err)
	}
	keys, ok := keysObj.(*types.List)
	if !ok {
		return nil, fmt.Errorf("storage key list has type %s, want list", pyType(keysObj))
	}
	for _, k := range *keys {
		ks, _ := k.(string)
		st, ok := storages[ks]
		if !ok {
			return nil, fmt.Errorf("storage key %s is listed but never referenced", short(k))
		}
		if len(data)-off < 8 {
			return nil, fmt.Errorf("storage %s: truncated file", short(ks))
		}
		n := binary.LittleEndian.Uint64(data[off:])
		off += 8
		rest := len(data) - off
		if n > uint64(rest/st.dtype.size()) {
			return nil, fmt.Errorf("storage %s: declares %d elements but only %d bytes remain (truncated file?)", short(ks), n, rest)
		}
		nb := int(n) * st.dtype.size()
		st.data = data[off : off+nb] // no copy: the file is in memory already
		off += nb
	}
	for k, st := range storages {
		if st.data == nil {
			return nil, fmt.Errorf("storage %s is referenced but has no data", short(k))
		}
	}
	return obj, nil
}

func isTar(b []byte) bool {
	return len(b) > 262 && string(b[257:262]) == "ustar"
}

// parseStoragePID decodes ('storage', StorageClass, key, location, numel[, view]).
func parseStoragePID(pid any, minLen int) (*storage, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() < minLen {
		return nil, fmt.Errorf("unexpected persistent id %s", short(pid))
	}
	if t.Get(0) != "storage" {
		return nil, fmt.Errorf("unexpected persistent id type %s (want 'storage')", short(t.Get(0)))
	}
	cls, ok := t.Get(1).(*storageClass)
	if !ok {
		return nil, fmt.Errorf("unsupported storage class %s", short(t.Get(1)))
	}
	key, ok := t.Get(2).(string)
	if !ok {
		return nil, fmt.Errorf("storage key %s is not a string", short(t.Get(2)))
	}
	numel, ok := t.Get(4).(int)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("storage %s: bad element count %s", short(key), short(t.Get(4)))
	}
	return &storage{key: key, dtype: cls.dtype, numel: numel}, nil
}

// findClass resolves the globals a torch checkpoint refers to. Classes it
// does not know (fastai optimizer bits, functools.partial, ...) load as
// opaque objects, so a checkpoint with extra state still opens.
func findClass(module, name string) (any, error) {
	switch module {
	case "torch", "torch.cuda":
		if dt, ok := storageClasses[name]; ok {
			return &storageClass{dt}, nil
		}
	case "torch._utils":
		switch name {
		case "_rebuild_tensor_v2", "_rebuild_tensor":
			return callFunc(rebuildTensor), nil
		case "_rebuild_parameter", "_rebuild_parameter_with_state":
			return callFunc(func(args ...any) (any, error) {
				if len(args) == 0 {
					return nil, errors.New("_rebuild_parameter: no arguments")
				}
				return args[0], nil
			}), nil
		}
	case "collections":
		if name == "OrderedDict" {
			return &types.OrderedDictClass{}, nil
		}
	}
	return &opaqueClass{module: module, name: name}, nil
}

type callFunc func(args ...any) (any, error)

func (f callFunc) Call(args ...any) (any, error) { return f(args...) }

// rebuildTensor implements torch._utils._rebuild_tensor(_v2)(storage,
// storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]]).
func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: first argument is %T, want a storage", args[0])
	}
	off, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: storage offset %s is not an int", short(args[1]))
	}
	shape, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: size: %w", err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: stride: %w", err)
	}
	if len(shape) != len(stride) {
		return nil, fmt.Errorf("_rebuild_tensor: size %s and stride %s differ in rank", short(shape), short(stride))
	}
	return &torchTensor{Shape: shape, Stride: stride, Offset: off, st: st}, nil
}

func intTuple(v any) ([]int, error) {
	var items []any
	switch t := v.(type) {
	case *types.Tuple:
		items = *t
	case *types.List:
		items = *t
	default:
		return nil, fmt.Errorf("got %T, want a tuple of ints", v)
	}
	out := make([]int, len(items))
	for i, it := range items {
		n, ok := it.(int)
		if !ok {
			return nil, fmt.Errorf("element %d is %T, want int", i, it)
		}
		out[i] = n
	}
	return out, nil
}

// opaqueClass stands for a Python class this reader does not model.
type opaqueClass struct{ module, name string }

func (c *opaqueClass) Call(args ...any) (any, error) {
	return &opaqueObject{class: c, args: args}, nil
}

func (c *opaqueClass) PyNew(args ...any) (any, error) {
	return &opaqueObject{class: c, args: args}, nil
}

func (c *opaqueClass) String() string { return c.module + "." + c.name }

// opaqueObject is an instance of an opaqueClass; it accepts any state.
type opaqueObject struct {
	class *opaqueClass
	args  []any
	state any
	items []types.DictEntry
	list  []any // APPENDed items (list subclasses such as fastcore's L)
}

func (o *opaqueObject) PySetState(state any) error { o.state = state; return nil }
func (o *opaqueObject) PyDictSet(key, value any) error {
	o.items = append(o.items, types.DictEntry{Key: key, Value: value})
	return nil
}
func (o *opaqueObject) Set(key, value any) {
	o.items = append(o.items, types.DictEntry{Key: key, Value: value})
}
func (o *opaqueObject) PySetAttr(key string, v any) error { return o.PyDictSet(key, v) }
func (o *opaqueObject) Append(v any)                      { o.list = append(o.list, v) }

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
