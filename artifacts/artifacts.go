// Package artifacts reads and writes the files that ulmfit-go stages pass to
// each other: tokenized corpora, vocabularies, language models, classifiers
// and predictions.
//
// Every artifact is one Arrow IPC file (the random-access "file" format, with
// zstd-compressed record batch bodies) whose schema metadata records what the
// file is (ulmfit.kind and ulmfit.format), who made it (ulmfit.producer), how
// (ulmfit.params) and from what (ulmfit.inputs, with content hashes). The
// files are ordinary Arrow files: pyarrow, polars or plain arrow-go read them
// without any ulmfit code.
//
// Writers write to a temporary file in the destination folder, fsync it and
// rename it into place, so a crash never leaves a half-written artifact under
// the real name; the same inputs always produce the same bytes. Readers check
// the kind, the format version, the schema and a per-batch CRC-32C checksum,
// and report any problem as an *Error that names the file.
package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// Kind names what an artifact holds.
type Kind string

// The artifact kinds.
const (
	KindTokens      Kind = "tokens"      // tokenized documents (tokenize)
	KindVocab       Kind = "vocab"       // a vocabulary with counts
	KindLM          Kind = "lm"          // a language model (pretrain, lmtune)
	KindClassifier  Kind = "classifier"  // a classifier (clftune)
	KindPredictions Kind = "predictions" // class probabilities per document (evaluate, ensemble)
)

// Kinds lists every kind in a stable order.
func Kinds() []Kind {
	return []Kind{KindTokens, KindVocab, KindLM, KindClassifier, KindPredictions}
}

// Format returns the current format version that this package writes for
// kind k, or 0 if k is not a known kind.
func (k Kind) Format() int {
	switch k {
	case KindTokens, KindVocab, KindLM, KindClassifier, KindPredictions:
		return 1
	}
	return 0
}

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool { return k.Format() > 0 }

// Schema metadata keys shared by every kind.
const (
	MetaKind     = "ulmfit.kind"     // Kind
	MetaFormat   = "ulmfit.format"   // decimal integer, per kind
	MetaProducer = "ulmfit.producer" // e.g. "tokenize v0.1.0"
	MetaParams   = "ulmfit.params"   // JSON object: the flags/settings used
	MetaInputs   = "ulmfit.inputs"   // JSON array of Input
)

// Kind-specific schema metadata keys.
const (
	MetaVocab       = "ulmfit.vocab"        // JSON array of token strings, id order
	MetaVocabCounts = "ulmfit.vocab_counts" // JSON array of counts (optional)
	MetaVocabHash   = "ulmfit.vocab_sha256" // Vocab.Hash of the embedded vocab
	MetaLabels      = "ulmfit.labels"       // JSON array of class names
	MetaMultiLabel  = "ulmfit.multi_label"  // "true" | "false"
	MetaTokenizer   = "ulmfit.tokenizer"    // JSON: tokenizer settings
	MetaStats       = "ulmfit.stats"        // JSON object of int64 counters
	MetaConfig      = "ulmfit.config"       // JSON: model config
	MetaDirection   = "ulmfit.direction"    // "fwd" | "bwd"
	MetaTrainState  = "ulmfit.train_state"  // JSON: resume state
	MetaMetrics     = "ulmfit.metrics"      // JSON: metrics
)

// MetaChecksums says that every record batch carries checksums ("crc32c").
// Files made by other tools (pyarrow, polars) may omit it; readers then skip
// the checksum checks but still check everything else.
const MetaChecksums = "ulmfit.checksums"

// Record batch metadata keys (integrity checks, written on every batch).
const (
	batchCRC  = "ulmfit.crc32c"      // CRC-32C of the batch's values
	schemaCRC = "ulmfit.meta_crc32c" // CRC-32C of the schema and its metadata
)

// Input is one input of an artifact: a file path as the producer saw it, the
// SHA-256 of its bytes and, when the input is itself an artifact, its kind.
type Input struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Kind   Kind   `json:"kind,omitempty"`
}

// Lineage says what an artifact is and how it was made.
type Lineage struct {
	Kind     Kind
	Format   int            // set by writers to Kind.Format(); the file's version on read
	Producer string         // stage name and version, e.g. "tokenize v0.1.0"
	Params   map[string]any // the settings that produced the artifact
	Inputs   []Input
}

// Errors that an *Error can wrap; test with errors.Is.
var (
	ErrWrongKind   = errors.New("wrong artifact kind")
	ErrFormat      = errors.New("unsupported artifact format")
	ErrCorrupt     = errors.New("corrupt artifact")
	ErrNotArtifact = errors.New("not an ulmfit artifact")
)

// Error is a problem with one artifact file. Its message names the file, the
// field (a metadata key, a column or a row) when known, and what is wrong.
type Error struct {
	Path  string // the file
	Field string // metadata key, column, "row 12", ...; may be empty
	Msg   string // what is wrong, and what was expected
	Err   error  // ErrWrongKind, ErrFormat, ErrCorrupt, ErrNotArtifact or an I/O error
}

// Error implements error: "path: field: msg".
func (e *Error) Error() string {
	s := e.Path
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	} else if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func errorf(path, field string, kind error, format string, a ...any) *Error {
	return &Error{Path: path, Field: field, Msg: fmt.Sprintf(format, a...), Err: kind}
}

// HashFile returns the hex SHA-256 of the file's bytes.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", &Error{Path: path, Msg: "cannot open: " + errText(err), Err: err}
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", &Error{Path: path, Msg: "cannot read: " + errText(err), Err: err}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// InputOf describes the file at path as an input: its SHA-256 and, when it
// is an ulmfit artifact, its kind.
func InputOf(path string) (Input, error) {
	sum, err := HashFile(path)
	if err != nil {
		return Input{}, err
	}
	in := Input{Path: path, SHA256: sum}
	if k, ok := sniffKind(path); ok {
		in.Kind = k
	}
	return in, nil
}

// errText is err's message without the *os.PathError path prefix (our
// messages already name the file).
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
