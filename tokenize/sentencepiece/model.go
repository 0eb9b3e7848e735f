// Package sentencepiece reads, writes, trains and runs SentencePiece models: the
// ModelProto protobuf that Google's spm_train writes (a .model file), its normalizer
// (the precompiled character map, whitespace handling, the "▁" meta symbol), the unigram
// language-model segmentation (Kudo 2018) with byte fallback, and a unigram trainer
// (seed pieces from frequent substrings, EM, pruning). A model trained here segments text
// in spm_encode exactly as it does here, and a model from spm_train segments text here
// exactly as in spm_encode.
package sentencepiece

// Space is the meta symbol that stands for a space in pieces (U+2581).
const Space = "\u2581"

// PieceType is a piece's type (ModelProto.SentencePiece.Type).
type PieceType int32

// Piece types, with their protobuf numbers.
const (
	Normal      PieceType = 1 // an ordinary piece
	Unknown     PieceType = 2 // the unknown piece (exactly one per model)
	Control     PieceType = 3 // <s>, </s>: never produced by segmentation
	UserDefined PieceType = 4 // always segmented as one piece
	Unused      PieceType = 5 // in the vocabulary but never produced
	Byte        PieceType = 6 // byte fallback pieces <0x00>..<0xFF>
)

// ModelType is TrainerSpec.model_type.
type ModelType int32

// Model types, with their protobuf numbers.
const (
	Unigram ModelType = 1
	BPE     ModelType = 2
	Word    ModelType = 3
	Char    ModelType = 4
)

// Piece is one vocabulary entry: its text (with Space for spaces), its score (the log
// probability for unigram models) and its type.
type Piece struct {
	Piece string
	Score float32
	Type  PieceType
}

// NormalizerSpec is ModelProto.normalizer_spec (and denormalizer_spec). Defaults follow
// the proto2 defaults, so an absent field reads as spm_encode reads it.
type NormalizerSpec struct {
	Name                   string // "nmt_nfkc", "identity", ...
	PrecompiledCharsmap    []byte // the compiled normalization rules; empty: identity
	AddDummyPrefix         bool   // default true: "▁" before the text
	RemoveExtraWhitespaces bool   // default true: strip and collapse spaces
	EscapeWhitespaces      bool   // default true: spaces become "▁"
	NormalizationRuleTSV   string
	// Unknown holds fields this package does not interpret, as wire bytes, so that a
	// read model writes back unchanged.
	Unknown []byte

	present fieldSet // see TrainerSpec.present
}

// TrainerSpec is the part of ModelProto.trainer_spec that segmentation and training use.
// Fields not listed are kept as wire bytes in Unknown.
type TrainerSpec struct {
	Input                      []string
	ModelPrefix                string
	ModelType                  ModelType // default Unigram
	VocabSize                  int32     // default 8000
	CharacterCoverage          float32   // default 0.9995
	InputSentenceSize          uint64
	SeedSentencepieceSize      int32   // default 1000000
	ShrinkingFactor            float32 // default 0.75
	MaxSentenceLength          int32   // default 4192
	NumThreads                 int32   // default 16
	NumSubIterations           int32   // default 2
	MaxSentencepieceLength     int32   // default 16
	SplitByUnicodeScript       bool    // default true
	SplitByNumber              bool    // default true
	SplitByWhitespace          bool    // default true
	TreatWhitespaceAsSuffix    bool
	SplitDigits                bool
	ControlSymbols             []string
	UserDefinedSymbols         []string
	RequiredChars              string
	ByteFallback               bool
	VocabularyOutputPieceScore bool // default true
	HardVocabLimit             bool // default true
	UseAllVocab                bool
	UnkID                      int32  // default 0
	BosID                      int32  // default 1
	EosID                      int32  // default 2
	PadID                      int32  // default -1
	UnkPiece                   string // default "<unk>"
	BosPiece                   string // default "<s>"
	EosPiece                   string // default "</s>"
	PadPiece                   string // default "<pad>"
	UnkSurface                 string // default " \u2047 "
	Unknown                    []byte

	// Fields added after the first version of this struct (field numbers 5, 6, 7, 19,
	// 26, 49-52 of TrainerSpec in sentencepiece_model.proto).
	AcceptLanguage                       []string
	SelfTestSampleSize                   int32
	InputFormat                          string
	ShuffleInputSentence                 bool // default true
	AllowWhitespaceOnlyPieces            bool
	TrainExtremelyLargeCorpus            bool
	EnableDifferentialPrivacy            bool
	DifferentialPrivacyNoiseLevel        float32
	DifferentialPrivacyClippingThreshold uint64

	// present records which scalar fields the wire form held (or, from
	// DefaultTrainerSpec, which ones spm_train writes), so that Marshal writes a
	// default-valued field exactly when spm_train did.
	present fieldSet
}

// Model is a SentencePiece ModelProto.
type Model struct {
	Pieces       []Piece
	Trainer      TrainerSpec
	Normalizer   NormalizerSpec
	Denormalizer *NormalizerSpec // nil when absent
	// Unknown holds top-level fields this package does not interpret (self_test_data...).
	Unknown []byte

	present   fieldSet    // trainer_spec (2) / normalizer_spec (3) were on the wire
	pieceWire []pieceWire // per piece wire details, valid when len == len(Pieces)
}

// fieldSet is a set of protobuf field numbers below 64.
type fieldSet uint64

func (s fieldSet) has(n int) bool { return n < 64 && s&(1<<uint(n)) != 0 }

func (s *fieldSet) set(n int) {
	if n < 64 {
		*s |= 1 << uint(n)
	}
}

// pieceWire keeps what Piece cannot say about one ModelProto.SentencePiece on the wire:
// an explicit type NORMAL, an absent score, and fields this package does not interpret.
type pieceWire struct {
	normalTypeSet bool
	noScore       bool
	unknown       []byte
}
