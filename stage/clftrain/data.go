package clftrain

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// Target describes the model a tokens artifact is prepared for.
type Target struct {
	Vocab *artifacts.Vocab // the model's vocabulary (ids are mapped onto it)
	// LabelNames are the model's classes; nil takes the artifact's own.
	LabelNames []string
	Backward   bool // reverse every document (backward models)
	// RequireLabels rejects documents without a label (training and
	// validation data).
	RequireLabels bool
	// MaxRemapUnk, when > 0, rejects the data if more than this fraction of
	// its tokens become xxunk in the remap to the model's vocabulary: the
	// data and the model were almost surely tokenized differently.
	MaxRemapUnk float64
}

// VocabReport says how a tokens artifact's ids were mapped onto a model's
// vocabulary: reused as they are when the vocabularies are the same (same
// hash), else remapped by token string, with tokens the model does not know
// becoming xxunk.
type VocabReport struct {
	Same         bool     `json:"same"`          // identical vocabularies: ids reused
	Types        int      `json:"types"`         // artifact vocabulary size
	MissingTypes int      `json:"missing_types"` // of those, unknown to the model
	Tokens       int64    `json:"tokens"`        // token occurrences in the documents
	UnkTokens    int64    `json:"unk_tokens"`    // occurrences mapped to xxunk because of the remap
	Examples     []string `json:"examples,omitempty"`
}

// String is a one-line summary.
func (r *VocabReport) String() string {
	if r.Same {
		return "same vocabulary as the model"
	}
	s := fmt.Sprintf("vocabulary remapped by token string: %d of %d types unknown to the model, %d of %d tokens (%.2f%%) became xxunk",
		r.MissingTypes, r.Types, r.UnkTokens, r.Tokens, 100*float64(r.UnkTokens)/float64(max(r.Tokens, 1)))
	if len(r.Examples) > 0 {
		s += fmt.Sprintf(", e.g. %q", r.Examples)
	}
	return s
}

// Data is a tokens artifact prepared for a classifier.
type Data struct {
	Path       string
	Header     *artifacts.TokensHeader
	IDs        []int64   // document ids, artifact order
	Examples   []Example // token ids in the model's vocabulary and direction
	LabelNames []string  // the classes the labels index
	MultiLabel bool
	Vocab      VocabReport
	Labeled    int // documents with a label
}

// LoadData reads a tokens artifact and prepares it for the target model:
// ids mapped onto the model's vocabulary, labels onto the model's label
// names (by name), documents reversed for backward models. Errors name the
// file and, for bad rows, the row and document id.
func LoadData(path string, tg Target) (*Data, error) {
	h, docs, err := artifacts.ReadTokens(path)
	if err != nil {
		return nil, err
	}
	bad := func(field, format string, a ...any) error {
		return &artifacts.Error{Path: path, Field: field, Err: artifacts.ErrFormat, Msg: fmt.Sprintf(format, a...)}
	}
	d := &Data{Path: path, Header: h, MultiLabel: h.MultiLabel}

	// Labels.
	labelMap := make([]int32, len(h.LabelNames))
	d.LabelNames = h.LabelNames
	if tg.LabelNames != nil {
		d.LabelNames = tg.LabelNames
		for i, n := range h.LabelNames {
			labelMap[i] = int32(slices.Index(tg.LabelNames, n))
		}
	} else {
		for i := range labelMap {
			labelMap[i] = int32(i)
		}
	}
	mapLabel := func(row int, doc *artifacts.Doc, l int32) (int32, error) {
		if l < 0 || int(l) >= len(labelMap) {
			return 0, bad(fmt.Sprintf("row %d (id %d)", row, doc.ID), "label %d outside the artifact's %d label names", l, len(labelMap))
		}
		m := labelMap[l]
		if m < 0 {
			return 0, bad(fmt.Sprintf("row %d (id %d)", row, doc.ID), "unknown label %q: the model knows %q", h.LabelNames[l], tg.LabelNames)
		}
		return m, nil
	}

	// Vocabulary.
	var idMap []int32  // nil: ids reused
	var missing []bool // artifact ids the model lacks
	if tg.Vocab == nil {
		return nil, fmt.Errorf("LoadData: no target vocabulary")
	}
	d.Vocab.Types = h.Vocab.Len()
	if h.Vocab.Hash() == tg.Vocab.Hash() {
		d.Vocab.Same = true
	} else {
		unk, ok := tg.Vocab.ID("xxunk")
		if !ok {
			return nil, fmt.Errorf("%s: the model's vocabulary has no xxunk token, so unknown tokens cannot be mapped", path)
		}
		rm := train.NewVocabRemap(tg.Vocab.Tokens, h.Vocab.Tokens)
		idMap = make([]int32, len(rm.Index))
		missing = make([]bool, len(rm.Index))
		for i, j := range rm.Index {
			if j < 0 {
				idMap[i] = unk
				missing[i] = true
				d.Vocab.MissingTypes++
				if len(d.Vocab.Examples) < 5 {
					d.Vocab.Examples = append(d.Vocab.Examples, h.Vocab.Tokens[i])
				}
			} else {
				idMap[i] = int32(j)
			}
		}
	}

	d.IDs = make([]int64, len(docs))
	d.Examples = make([]Example, len(docs))
	for row := range docs {
		doc := &docs[row]
		d.IDs[row] = doc.ID
		ex := Example{Tokens: doc.Tokens, Label: -1}
		if idMap != nil {
			for k, id := range ex.Tokens {
				if id < 0 || int(id) >= len(idMap) {
					return nil, bad(fmt.Sprintf("row %d (id %d)", row, doc.ID), "token id %d outside the vocabulary (%d tokens)", id, len(idMap))
				}
				if missing[id] {
					d.Vocab.UnkTokens++
				}
				ex.Tokens[k] = idMap[id]
			}
		}
		d.Vocab.Tokens += int64(len(ex.Tokens))
		train.Orient(ex.Tokens, ex.Tokens, tg.Backward)
		if h.MultiLabel {
			if doc.Labels != nil {
				ex.Labels = make([]int32, len(doc.Labels))
				for k, l := range doc.Labels {
					if ex.Labels[k], err = mapLabel(row, doc, l); err != nil {
						return nil, err
					}
				}
				d.Labeled++
			}
		} else if doc.Label >= 0 {
			if ex.Label, err = mapLabel(row, doc, doc.Label); err != nil {
				return nil, err
			}
			d.Labeled++
		}
		if tg.RequireLabels && ex.Label < 0 && ex.Labels == nil {
			return nil, bad(fmt.Sprintf("row %d (id %d)", row, doc.ID), "document has no label: training and validation data must be labeled")
		}
		d.Examples[row] = ex
	}
	if tg.MaxRemapUnk > 0 && d.Vocab.Tokens > 0 && float64(d.Vocab.UnkTokens) > tg.MaxRemapUnk*float64(d.Vocab.Tokens) {
		return nil, &artifacts.Error{Path: path, Field: artifacts.MetaVocab, Err: artifacts.ErrFormat,
			Msg: fmt.Sprintf("vocabulary mismatch: %s (more than %.0f%%): the data and the model were tokenized differently; re-tokenize with --vocab MODEL (or --tokenizer-from MODEL)",
				d.Vocab.String(), 100*tg.MaxRemapUnk)}
	}
	return d, nil
}

// ClassifierConfigOf decodes the nn.ClassifierConfig stored in a
// classifier artifact and checks it against the artifact's vocabulary and
// label names.
func ClassifierConfigOf(m *artifacts.Model, path string) (nn.ClassifierConfig, error) {
	var cfg nn.ClassifierConfig
	bad := func(msg string) error {
		return &artifacts.Error{Path: path, Field: artifacts.MetaConfig, Err: artifacts.ErrCorrupt, Msg: msg}
	}
	if len(m.Config) == 0 {
		return cfg, bad("missing model config")
	}
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		return cfg, bad("bad classifier config: " + err.Error())
	}
	if err := cfg.Validate(); err != nil {
		return cfg, bad(err.Error())
	}
	if m.Vocab == nil || m.Vocab.Len() != cfg.Encoder.VocabSize {
		return cfg, bad(fmt.Sprintf("vocab_size %d does not match the embedded vocabulary", cfg.Encoder.VocabSize))
	}
	if len(m.LabelNames) != cfg.NClasses {
		return cfg, bad(fmt.Sprintf("n_classes %d but %d label names", cfg.NClasses, len(m.LabelNames)))
	}
	return cfg, nil
}

// LoadClassifier reads a classifier artifact into a new nn.Classifier on
// backend be, returning the artifact too (vocabulary, tokenizer settings,
// label names, direction, training state).
func LoadClassifier(path string, be nn.Backend) (*nn.Classifier, *artifacts.Model, error) {
	am, err := artifacts.ReadModel(path, artifacts.KindClassifier)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := ClassifierConfigOf(am, path)
	if err != nil {
		return nil, nil, err
	}
	m, err := nn.NewClassifier(cfg, be)
	if err != nil {
		return nil, nil, &artifacts.Error{Path: path, Field: artifacts.MetaConfig, Err: artifacts.ErrCorrupt, Msg: err.Error()}
	}
	all := append(slices.Clone(m.Params()), m.Buffers()...)
	if err := train.LoadTensors(all, am.Tensors, path, false); err != nil {
		return nil, nil, err
	}
	return m, am, nil
}
