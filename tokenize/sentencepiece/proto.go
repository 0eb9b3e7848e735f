package sentencepiece

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrInvalidModel is wrapped by every error Parse and Load return for bytes that are not
// a well-formed ModelProto.
var ErrInvalidModel = errors.New("sentencepiece: invalid model")

// modelError is a Parse error: the path of fields down to the bad one and what is wrong.
type modelError struct {
	path string
	msg  string
}

func (e *modelError) Error() string { return "sentencepiece: model: " + e.path + e.msg }

func (e *modelError) Unwrap() error { return ErrInvalidModel }

// wireField is one field read from the wire: its number, wire type, the value bytes
// (after the tag) and the whole record (tag included).
type wireField struct {
	num    protowire.Number
	typ    protowire.Type
	value  []byte
	record []byte
}

func (f wireField) varint() (uint64, bool) {
	if f.typ != protowire.VarintType {
		return 0, false
	}
	v, _ := protowire.ConsumeVarint(f.value)
	return v, true
}

func (f wireField) fixed32() (uint32, bool) {
	if f.typ != protowire.Fixed32Type {
		return 0, false
	}
	v, _ := protowire.ConsumeFixed32(f.value)
	return v, true
}

func (f wireField) bytes() ([]byte, bool) {
	if f.typ != protowire.BytesType {
		return nil, false
	}
	v, _ := protowire.ConsumeBytes(f.value)
	return v, true
}

// eachField calls fn for every field of the message b, in wire order. path names the
// message in errors ("field 3 (normalizer_spec): ").
func eachField(b []byte, path string, fn func(f wireField) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return &modelError{path, fmt.Sprintf("bad field tag: %v", wireErr(n))}
		}
		if num < 1 {
			return &modelError{path, "bad field tag: field number 0 (not a SentencePiece model?)"}
		}
		if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
			return &modelError{path, fmt.Sprintf("field %d: group wire type (not a SentencePiece model?)", num)}
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return &modelError{path, fmt.Sprintf("field %d: %v", num, wireErr(m))}
		}
		f := wireField{num: num, typ: typ, value: b[n : n+m], record: b[:n+m]}
		if err := fn(f); err != nil {
			return err
		}
		b = b[n+m:]
	}
	return nil
}

func wireErr(n int) string {
	err := protowire.ParseError(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated"
	}
	return err.Error()
}

// fieldCodec reads and writes one field of a spec message M.
type fieldCodec[M any] struct {
	num int
	// decode stores f in m; false when f's wire type does not fit (the field is then
	// kept as an unknown field, as protobuf does).
	decode func(m *M, f wireField) bool
	// isDefault reports whether the value equals the proto2 default (or, for repeated
	// fields, is empty).
	isDefault  func(m *M) bool
	setDefault func(m *M)
	encode     func(m *M, b []byte) []byte
	repeated   bool
}

func int32Field[M any, E ~int32](num int, acc func(*M) *E, def E) fieldCodec[M] {
	return fieldCodec[M]{
		num: num,
		decode: func(m *M, f wireField) bool {
			v, ok := f.varint()
			if ok {
				*acc(m) = E(int32(v))
			}
			return ok
		},
		isDefault:  func(m *M) bool { return *acc(m) == def },
		setDefault: func(m *M) { *acc(m) = def },
		encode: func(m *M, b []byte) []byte {
			b = protowire.AppendTag(b, protowire.Number(num), protowire.VarintType)
			return protowire.AppendVarint(b, uint64(int64(*acc(m))))
		},
	}
}

func uint64Field[M any](num int, acc func(*M) *uint64, def uint64) fieldCodec[M] {
	return fieldCodec[M]{
		num: num,
		decode: func(m *M, f wireField) bool {
			v, ok := f.varint()
			if ok {
				*acc(m) = v
			}
			return ok
		},
		isDefault:  func(m *M) bool { return *acc(m) == def },
		setDefault: func(m *M) { *acc(m) = def },
		encode: func(m *M, b []byte) []byte {
			b = protowire.AppendTag(b, protowire.Number(num), protowire.VarintType)
			return protowire.AppendVarint(b, *acc(m))
		},
	}
}

func boolField[M any](num int, acc func(*M) *bool, def bool) fieldCodec[M] {
	return fieldCodec[M]{
		num: num,
		decode: func(m *M, f wireField) bool {
			v, ok := f.varint()
			if ok {
				*acc(m) = v != 0
			}
			return ok
		},
		isDefault:  func(m *M) bool { return *acc(m) == def },
		setDefault: func(m *M) { *acc(m) = def },
		encode: func(m *M, b []byte) []byte {
			b = protowire.AppendTag(b, protowire.Number(num), protowire.VarintType)
			return protowire.AppendVarint(b, protowire.EncodeBool(*acc(m)))
		},
	}
}

func float32Field[M any](num int, acc func(*M) *float32, def float32) fieldCodec[M] {
	return fieldCodec[M]{
		num: num,
		decode: func(m *M, f wireField) bool {
			v, ok := f.fixed32()
			if ok {
				*acc(m) = math.Float32frombits(v)
			}
			return ok
		},
		isDefault:  func(m *M) bool { return math.Float32bits(*acc(m)) == math.Float32bits(def) },
		setDefault: func(m *M) { *acc(m) = def },
		encode: func(m *M, b []byte) []byte {
			b = protowire.AppendTag(b, protowire.Number(num), protowire.Fixed32Type)
			return protowire.AppendFixed32(b, math.Float32bits(*acc(m)))
		},
	}
}

func stringField[M any](num int, acc func(*M) *string, def string) fieldCodec[M] {
	return fieldCodec[M]{
		num: num,
		decode: func(m *M, f wireField) bool {
			v, ok := f.bytes()
			if ok {
				*acc(m) = string(v)
			}
			return ok
		},
		isDefault:  func(m *M) bool { return *acc(m) == def },
		setDefault: func(m *M) { *acc(m) = def },
		encode: func(m *M, b []byte) []byte {
			b = protowire.AppendTag(b, protowire.Number(num), protowire.BytesType)
			return protowire.AppendString(b, *acc(m))
		},
	}
}

func bytesField[M any](num int, acc func(*M) *[]byte) fieldCodec[M] {
	return fieldCodec[M]{
		num: num,
		decode: func(m *M, f wireField) bool {
			v, ok := f.bytes()
			if ok {
				*acc(m) = append([]byte(nil), v...)
			}
			return ok
		},
		isDefault:  func(m *M) bool { return len(*acc(m)) == 0 },
		setDefault: func(m *M) { *acc(m) = nil },
		encode: func(m *M, b []byte) []byte {
			b = protowire.AppendTag(b, protowire.Number(num), protowire.BytesType)
			return protowire.AppendBytes(b, *acc(m))
		},
	}
}

func stringsField[M any](num int, acc func(*M) *[]string) fieldCodec[M] {
	return fieldCodec[M]{
		num:      num,
		repeated: true,
		decode: func(m *M, f wireField) bool {
			v, ok := f.bytes()
			if ok {
				*acc(m) = append(*acc(m), string(v))
			}
			return ok
		},
		isDefault:  func(m *M) bool { return len(*acc(m)) == 0 },
		setDefault: func(m *M) { *acc(m) = nil },
		encode: func(m *M, b []byte) []byte {
			for _, s := range *acc(m) {
				b = protowire.AppendTag(b, protowire.Number(num), protowire.BytesType)
				b = protowire.AppendString(b, s)
			}
			return b
		},
	}
}

// trainerFields are the TrainerSpec fields this package interprets, by ascending field
// number, with their proto2 defaults (sentencepiece_model.proto, 0.1.97).
var trainerFields = []fieldCodec[TrainerSpec]{
	stringsField(1, func(t *TrainerSpec) *[]string { return &t.Input }),
	stringField(2, func(t *TrainerSpec) *string { return &t.ModelPrefix }, ""),
	int32Field(3, func(t *TrainerSpec) *ModelType { return &t.ModelType }, Unigram),
	int32Field(4, func(t *TrainerSpec) *int32 { return &t.VocabSize }, 8000),
	stringsField(5, func(t *TrainerSpec) *[]string { return &t.AcceptLanguage }),
	int32Field(6, func(t *TrainerSpec) *int32 { return &t.SelfTestSampleSize }, 0),
	stringField(7, func(t *TrainerSpec) *string { return &t.InputFormat }, ""),
	float32Field(10, func(t *TrainerSpec) *float32 { return &t.CharacterCoverage }, 0.9995),
	uint64Field(11, func(t *TrainerSpec) *uint64 { return &t.InputSentenceSize }, 0),
	int32Field(14, func(t *TrainerSpec) *int32 { return &t.SeedSentencepieceSize }, 1000000),
	float32Field(15, func(t *TrainerSpec) *float32 { return &t.ShrinkingFactor }, 0.75),
	int32Field(16, func(t *TrainerSpec) *int32 { return &t.NumThreads }, 16),
	int32Field(17, func(t *TrainerSpec) *int32 { return &t.NumSubIterations }, 2),
	int32Field(18, func(t *TrainerSpec) *int32 { return &t.MaxSentenceLength }, 4192),
	boolField(19, func(t *TrainerSpec) *bool { return &t.ShuffleInputSentence }, true),
	int32Field(20, func(t *TrainerSpec) *int32 { return &t.MaxSentencepieceLength }, 16),
	boolField(21, func(t *TrainerSpec) *bool { return &t.SplitByUnicodeScript }, true),
	boolField(22, func(t *TrainerSpec) *bool { return &t.SplitByWhitespace }, true),
	boolField(23, func(t *TrainerSpec) *bool { return &t.SplitByNumber }, true),
	boolField(24, func(t *TrainerSpec) *bool { return &t.TreatWhitespaceAsSuffix }, false),
	boolField(25, func(t *TrainerSpec) *bool { return &t.SplitDigits }, false),
	boolField(26, func(t *TrainerSpec) *bool { return &t.AllowWhitespaceOnlyPieces }, false),
	stringsField(30, func(t *TrainerSpec) *[]string { return &t.ControlSymbols }),
	stringsField(31, func(t *TrainerSpec) *[]string { return &t.UserDefinedSymbols }),
	boolField(32, func(t *TrainerSpec) *bool { return &t.VocabularyOutputPieceScore }, true),
	boolField(33, func(t *TrainerSpec) *bool { return &t.HardVocabLimit }, true),
	boolField(34, func(t *TrainerSpec) *bool { return &t.UseAllVocab }, false),
	boolField(35, func(t *TrainerSpec) *bool { return &t.ByteFallback }, false),
	stringField(36, func(t *TrainerSpec) *string { return &t.RequiredChars }, ""),
	int32Field(40, func(t *TrainerSpec) *int32 { return &t.UnkID }, 0),
	int32Field(41, func(t *TrainerSpec) *int32 { return &t.BosID }, 1),
	int32Field(42, func(t *TrainerSpec) *int32 { return &t.EosID }, 2),
	int32Field(43, func(t *TrainerSpec) *int32 { return &t.PadID }, -1),
	stringField(44, func(t *TrainerSpec) *string { return &t.UnkSurface }, " \u2047 "),
	stringField(45, func(t *TrainerSpec) *string { return &t.UnkPiece }, "<unk>"),
	stringField(46, func(t *TrainerSpec) *string { return &t.BosPiece }, "<s>"),
	stringField(47, func(t *TrainerSpec) *string { return &t.EosPiece }, "</s>"),
	stringField(48, func(t *TrainerSpec) *string { return &t.PadPiece }, "<pad>"),
	boolField(49, func(t *TrainerSpec) *bool { return &t.TrainExtremelyLargeCorpus }, false),
	boolField(50, func(t *TrainerSpec) *bool { return &t.EnableDifferentialPrivacy }, false),
	float32Field(51, func(t *TrainerSpec) *float32 { return &t.DifferentialPrivacyNoiseLevel }, 0),
	uint64Field(52, func(t *TrainerSpec) *uint64 { return &t.DifferentialPrivacyClippingThreshold }, 0),
}

// normalizerFields are the NormalizerSpec fields, by ascending field number.
var normalizerFields = []fieldCodec[NormalizerSpec]{
	stringField(1, func(n *NormalizerSpec) *string { return &n.Name }, ""),
	bytesField(2, func(n *NormalizerSpec) *[]byte { return &n.PrecompiledCharsmap }),
	boolField(3, func(n *NormalizerSpec) *bool { return &n.AddDummyPrefix }, true),
	boolField(4, func(n *NormalizerSpec) *bool { return &n.RemoveExtraWhitespaces }, true),
	boolField(5, func(n *NormalizerSpec) *bool { return &n.EscapeWhitespaces }, true),
	stringField(6, func(n *NormalizerSpec) *string { return &n.NormalizationRuleTSV }, ""),
}

// spmTrainerPresent and spmNormalizerPresent are the scalar fields spm_train 0.1.97
// writes into a model (all of them explicitly, default or not).
var spmTrainerPresent = fields(2, 3, 4, 6, 7, 10, 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
	24, 25, 26, 32, 33, 34, 35, 36, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52)

var spmNormalizerPresent = fields(1, 2, 3, 4, 6)

func fields(nums ...int) fieldSet {
	var s fieldSet
	for _, n := range nums {
		s.set(n)
	}
	return s
}

// DefaultTrainerSpec returns a TrainerSpec holding every proto2 default of
// sentencepiece_model.proto (vocab_size 8000, character_coverage 0.9995, unk_id 0,
// bos_id 1, eos_id 2, pad_id -1, ...). Marshal writes its fields as spm_train 0.1.97 does:
// every scalar field explicitly, defaults included, except the deprecated 12 and 13.
func DefaultTrainerSpec() TrainerSpec {
	var t TrainerSpec
	for _, f := range trainerFields {
		f.setDefault(&t)
	}
	t.present = spmTrainerPresent
	return t
}

// DefaultNormalizerSpec returns the proto2 defaults of NormalizerSpec with Name
// "identity" and no precompiled charsmap: text is not normalized beyond whitespace
// handling (add_dummy_prefix, remove_extra_whitespaces and escape_whitespaces all true),
// as spm_train --normalization_rule_name=identity writes it. The nmt_nfkc rules are a
// charsmap that only spm_train compiles; copy one from a model to use them.
func DefaultNormalizerSpec() NormalizerSpec {
	var n NormalizerSpec
	for _, f := range normalizerFields {
		f.setDefault(&n)
	}
	n.Name = "identity"
	n.present = spmNormalizerPresent
	return n
}

func newNormalizerSpec() NormalizerSpec {
	var n NormalizerSpec
	for _, f := range normalizerFields {
		f.setDefault(&n)
	}
	return n
}

func newTrainerSpec() TrainerSpec {
	var t TrainerSpec
	for _, f := range trainerFields {
		f.setDefault(&t)
	}
	return t
}

// parseSpec reads message b into m (which holds the defaults already).
func parseSpec[M any](b []byte, path string, m *M, codecs []fieldCodec[M], present *fieldSet, unknown *[]byte) error {
	return eachField(b, path, func(f wireField) error {
		for i := range codecs {
			c := &codecs[i]
			if c.num == int(f.num) {
				if c.decode(m, f) {
					if !c.repeated {
						present.set(c.num)
					}
					return nil
				}
				break
			}
		}
		*unknown = append(*unknown, f.record...)
		return nil
	})
}

// Parse reads a serialized ModelProto (the bytes of a .model file). Fields absent on the
// wire take their proto2 defaults; fields this package does not interpret are kept, so
// that Marshal gives back the same bytes for a model spm_train wrote. The error wraps
// ErrInvalidModel and names the bad field ("sentencepiece: model: field 3
// (normalizer_spec): field 2: truncated").
func Parse(b []byte) (*Model, error) {
	m := &Model{Trainer: newTrainerSpec(), Normalizer: newNormalizerSpec()}
	var wires []pieceWire
	anyWire := false
	err := eachField(b, "", func(f wireField) error {
		switch f.num {
		case 1:
			v, ok := f.bytes()
			if !ok {
				break
			}
			p, w, err := parsePiece(v, fmt.Sprintf("field 1 (piece %d): ", len(m.Pieces)))
			if err != nil {
				return err
			}
			m.Pieces = append(m.Pieces, p)
			wires = append(wires, w)
			if w.unknown != nil || w.normalTypeSet || w.noScore {
				anyWire = true
			}
			return nil
		case 2:
			v, ok := f.bytes()
			if !ok {
				break
			}
			m.present.set(2)
			return parseSpec(v, "field 2 (trainer_spec): ", &m.Trainer, trainerFields, &m.Trainer.present, &m.Trainer.Unknown)
		case 3:
			v, ok := f.bytes()
			if !ok {
				break
			}
			m.present.set(3)
			return parseSpec(v, "field 3 (normalizer_spec): ", &m.Normalizer, normalizerFields, &m.Normalizer.present, &m.Normalizer.Unknown)
		case 5:
			v, ok := f.bytes()
			if !ok {
				break
			}
			if m.Denormalizer == nil {
				d := newNormalizerSpec()
				m.Denormalizer = &d
			}
			return parseSpec(v, "field 5 (denormalizer_spec): ", m.Denormalizer, normalizerFields, &m.Denormalizer.present, &m.Denormalizer.Unknown)
		}
		m.Unknown = append(m.Unknown, f.record...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(m.Pieces) == 0 {
		return nil, &modelError{"", "no pieces (not a SentencePiece model?)"}
	}
	if anyWire {
		m.pieceWire = wires
	}
	return m, nil
}

func parsePiece(b []byte, path string) (Piece, pieceWire, error) {
	p := Piece{Type: Normal}
	w := pieceWire{noScore: true}
	err := eachField(b, path, func(f wireField) error {
		switch f.num {
		case 1:
			if v, ok := f.bytes(); ok {
				p.Piece = string(v)
				return nil
			}
		case 2:
			if v, ok := f.fixed32(); ok {
				p.Score = math.Float32frombits(v)
				w.noScore = false
				return nil
			}
		case 3:
			if v, ok := f.varint(); ok {
				p.Type = PieceType(int32(v))
				if p.Type == Normal {
					w.normalTypeSet = true
				}
				return nil
			}
		}
		w.unknown = append(w.unknown, f.record...)
		return nil
	})
	return p, w, err
}

// Load reads and parses the model file at path.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece: load model: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Save writes the model to path: to a temporary file in the same directory first, then
// renamed over path, so that path never holds a half-written model.
func (m *Model) Save(path string) (err error) {
	b := m.Marshal()
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("sentencepiece: save model: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(b); err != nil {
		return fmt.Errorf("sentencepiece: save model: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sentencepiece: save model: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("sentencepiece: save model: %w", err)
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("sentencepiece: save model: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("sentencepiece: save model: %w", err)
	}
	return nil
}

// unknownRecord is one field of an Unknown byte string.
type unknownRecord struct {
	num    int
	record []byte
}

// splitUnknown cuts unknown wire bytes into records sorted (stably) by field number.
// Bytes that do not parse are kept as one record that goes last.
func splitUnknown(b []byte) []unknownRecord {
	var recs []unknownRecord
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		m := -1
		if n > 0 {
			m = protowire.ConsumeFieldValue(num, typ, b[n:])
		}
		if n < 0 || m < 0 {
			recs = append(recs, unknownRecord{math.MaxInt, b})
			break
		}
		recs = append(recs, unknownRecord{int(num), b[:n+m]})
		b = b[n+m:]
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].num < recs[j].num })
	return recs
}

// merger appends known fields in ascending order and slips the unknown records in
// between by field number, as protobuf's C++ serializer orders them.
type merger struct {
	b   []byte
	unk []unknownRecord
}

func (w *merger) flushBelow(num int) {
	for len(w.unk) > 0 && w.unk[0].num < num {
		w.b = append(w.b, w.unk[0].record...)
		w.unk = w.unk[1:]
	}
}

func (w *merger) finish() []byte {
	w.flushBelow(math.MaxInt)
	for _, r := range w.unk {
		w.b = append(w.b, r.record...)
	}
	return w.b
}

func marshalSpec[M any](b []byte, m *M, codecs []fieldCodec[M], present fieldSet, unknown []byte) []byte {
	w := merger{b: b, unk: splitUnknown(unknown)}
	for i := range codecs {
		c := &codecs[i]
		if c.repeated || present.has(c.num) || !c.isDefault(m) {
			w.flushBelow(c.num)
			w.b = c.encode(m, w.b)
		}
	}
	return w.finish()
}

// Marshal serializes the model as a ModelProto. A field is written when it was on the
// wire of the parsed model (or comes from DefaultTrainerSpec/DefaultNormalizerSpec,
// which mark the fields spm_train writes) or differs from its proto2 default; fields
// are written in field-number order with the Unknown ones slipped in by number, as
// protobuf's C++ serializer does, so a model spm_train wrote marshals back to its own
// bytes.
func (m *Model) Marshal() []byte {
	out := make([]byte, 0, 64+len(m.Normalizer.PrecompiledCharsmap)+len(m.Pieces)*16)
	w := merger{b: out, unk: splitUnknown(m.Unknown)}
	w.flushBelow(1)
	var scratch []byte
	wires := m.pieceWire
	if len(wires) != len(m.Pieces) {
		wires = nil
	}
	for i, p := range m.Pieces {
		var pw pieceWire
		if wires != nil {
			pw = wires[i]
		}
		scratch = scratch[:0]
		scratch = protowire.AppendTag(scratch, 1, protowire.BytesType)
		scratch = protowire.AppendString(scratch, p.Piece)
		if !pw.noScore || p.Score != 0 {
			scratch = protowire.AppendTag(scratch, 2, protowire.Fixed32Type)
			scratch = protowire.AppendFixed32(scratch, math.Float32bits(p.Score))
		}
		if p.Type != Normal || pw.normalTypeSet {
			scratch = protowire.AppendTag(scratch, 3, protowire.VarintType)
			scratch = protowire.AppendVarint(scratch, uint64(int64(p.Type)))
		}
		scratch = append(scratch, pw.unknown...)
		w.b = protowire.AppendTag(w.b, 1, protowire.BytesType)
		w.b = protowire.AppendBytes(w.b, scratch)
	}
	scratch = marshalSpec(scratch[:0], &m.Trainer, trainerFields, m.Trainer.present, m.Trainer.Unknown)
	if len(scratch) > 0 || m.present.has(2) {
		w.flushBelow(2)
		w.b = protowire.AppendTag(w.b, 2, protowire.BytesType)
		w.b = protowire.AppendBytes(w.b, scratch)
	}
	scratch = marshalSpec(scratch[:0], &m.Normalizer, normalizerFields, m.Normalizer.present, m.Normalizer.Unknown)
	if len(scratch) > 0 || m.present.has(3) {
		w.flushBelow(3)
		w.b = protowire.AppendTag(w.b, 3, protowire.BytesType)
		w.b = protowire.AppendBytes(w.b, scratch)
	}
	if d := m.Denormalizer; d != nil {
		scratch = marshalSpec(scratch[:0], d, normalizerFields, d.present, d.Unknown)
		w.flushBelow(5)
		w.b = protowire.AppendTag(w.b, 5, protowire.BytesType)
		w.b = protowire.AppendBytes(w.b, scratch)
	}
	return w.finish()
}
