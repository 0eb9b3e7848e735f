// Package predict applies a classifier artifact to documents: tokens
// artifacts (ids mapped onto the model's vocabulary and direction exactly as
// clftune maps its training data) or raw text, tokenized with the tokenizer
// settings stored in the model, i.e. exactly as its training data was.
package predict

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/clftrain"
	"github.com/ulmfit-go/ulmfit/stage/metrics"
	"github.com/ulmfit-go/ulmfit/stage/train"
	"github.com/ulmfit-go/ulmfit/tokenize"
)

// Predictor is a loaded classifier.
type Predictor struct {
	Path  string
	Model *nn.Classifier
	Art   *artifacts.Model
	BS    int // documents per batch (default 64)
	// MaxRemapUnk rejects tokens artifacts whose tokens mostly are unknown
	// to the model (see clftrain.Target); default 0.5, 0 disables.
	MaxRemapUnk float64
	backward    bool
	tk          *tokenize.Tokenizer
	toks        tokenize.Tokens
	unk         int32
}

// Load reads a classifier artifact for prediction on backend be.
func Load(path string, be nn.Backend) (*Predictor, error) {
	m, am, err := clftrain.LoadClassifier(path, be)
	if err != nil {
		return nil, err
	}
	p := &Predictor{Path: path, Model: m, Art: am, BS: 64, MaxRemapUnk: 0.5, backward: artifacts.IsBackward(am.Direction)}
	return p, nil
}

// LabelNames are the model's classes.
func (p *Predictor) LabelNames() []string { return p.Art.LabelNames }

// MultiLabel reports whether the model is multi-label.
func (p *Predictor) MultiLabel() bool { return p.Model.Cfg.MultiLabel }

func (p *Predictor) tokenizer() (*tokenize.Tokenizer, error) {
	if p.tk != nil {
		return p.tk, nil
	}
	s, err := tokenize.ParseSettings(p.Art.Tokenizer)
	if err != nil {
		return nil, &artifacts.Error{Path: p.Path, Field: artifacts.MetaTokenizer, Err: artifacts.ErrCorrupt, Msg: err.Error()}
	}
	tk, err := tokenize.New(s)
	if err != nil {
		return nil, &artifacts.Error{Path: p.Path, Field: artifacts.MetaTokenizer, Err: artifacts.ErrCorrupt, Msg: err.Error()}
	}
	unk, ok := p.Art.Vocab.ID(tokenize.UNK)
	if !ok {
		return nil, &artifacts.Error{Path: p.Path, Field: artifacts.MetaVocab, Err: artifacts.ErrCorrupt, Msg: "the vocabulary has no xxunk token"}
	}
	p.tk, p.unk = tk, unk
	return tk, nil
}

// IDs tokenizes raw text with the model's tokenizer settings and returns
// the token ids in the model's vocabulary (unknown tokens are xxunk) and
// direction. Invalid UTF-8 is replaced by U+FFFD.
func (p *Predictor) IDs(text string) ([]int32, error) {
	tk, err := p.tokenizer()
	if err != nil {
		return nil, err
	}
	p.toks.Reset()
	tk.Append(&p.toks, strings.ToValidUTF8(text, "\uFFFD"))
	ids := make([]int32, p.toks.Len())
	for i := range ids {
		id, ok := p.Art.Vocab.ID(string(p.toks.At(i)))
		if !ok {
			id = p.unk
		}
		ids[i] = id
	}
	train.Orient(ids, ids, p.backward)
	return ids, nil
}

// Tokens returns the token strings of raw text in reading order (for
// display and debugging).
func (p *Predictor) Tokens(text string) ([]string, error) {
	tk, err := p.tokenizer()
	if err != nil {
		return nil, err
	}
	return tk.Tokenize(strings.ToValidUTF8(text, "\uFFFD")), nil
}

// Texts returns the class probabilities [len(texts), NClasses] of raw
// texts.
func (p *Predictor) Texts(ctx context.Context, texts []string) ([]float32, error) {
	docs := make([][]int32, len(texts))
	for i, t := range texts {
		ids, err := p.IDs(t)
		if err != nil {
			return nil, err
		}
		docs[i] = ids
	}
	return clftrain.Predict(ctx, p.Model, docs, p.BS)
}

// Data predicts every document of a tokens artifact (labeled or not). The
// rows keep the artifact's order; labels are mapped onto the model's label
// names, and a label the model does not know is an error.
func (p *Predictor) Data(ctx context.Context, path string) (*artifacts.Predictions, *clftrain.Data, error) {
	d, err := clftrain.LoadData(path, clftrain.Target{Vocab: p.Art.Vocab, LabelNames: p.Art.LabelNames, Backward: p.backward, MaxRemapUnk: p.MaxRemapUnk})
	if err != nil {
		return nil, nil, err
	}
	if d.MultiLabel != p.MultiLabel() && d.Labeled > 0 {
		return nil, nil, &artifacts.Error{Path: path, Field: artifacts.MetaMultiLabel, Err: artifacts.ErrFormat,
			Msg: fmt.Sprintf("multi-label is %v, but the classifier %s has %v", d.MultiLabel, p.Path, p.MultiLabel())}
	}
	docs := make([][]int32, len(d.Examples))
	for i, ex := range d.Examples {
		docs[i] = ex.Tokens
	}
	probs, err := clftrain.Predict(ctx, p.Model, docs, p.BS)
	if err != nil {
		return nil, nil, err
	}
	nc := p.Model.Cfg.NClasses
	out := &artifacts.Predictions{LabelNames: slices.Clone(p.Art.LabelNames), MultiLabel: p.MultiLabel(),
		Rows: make([]artifacts.Prediction, len(docs))}
	for i, ex := range d.Examples {
		pr := probs[i*nc : (i+1)*nc : (i+1)*nc]
		row := artifacts.Prediction{ID: d.IDs[i], Label: ex.Label, Labels: ex.Labels, Probs: pr, Pred: -1}
		if !p.MultiLabel() {
			row.Pred = int32(metrics.Argmax(pr))
			row.Labels = nil
		} else {
			row.Label = -1
		}
		out.Rows[i] = row
	}
	return out, d, nil
}
