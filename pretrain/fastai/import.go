// Package fastai moves AWD-LSTM and AWD_QRNN weights between fastai
// (PyTorch) and ulmfit: it imports fastai's pretrained WikiText-103 language
// models (the fastai v1/v2 model-zoo archives wt103-fwd.tgz / wt103-bwd.tgz
// and the 2018 fastai 0.7 fwd_wt103.h5 / bwd_wt103.h5 files) and fastai
// v1/v2 AWD_QRNN language models as lm artifacts, and exports lm and
// classifier artifacts (LSTM or QRNN) back as fastai-loadable .pth + itos
// .pkl files. PyTorch checkpoints are read and written in Go (the torch zip
// format and the legacy format); no Python is needed at run time.
package fastai

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
)

// ImportOptions controls Import.
type ImportOptions struct {
	// Want is the size the caller requires (zero fields are not checked);
	// a checkpoint of another size is an error.
	Want Require
	// Base is the configuration whose training hyperparameters (dropouts,
	// AR/TAR) the imported model gets; sizes, pad id, tying and decoder bias
	// come from the checkpoint. Zero value: nn.DefaultLMConfig().
	Base *nn.LMConfig
	// Direction is "fwd" or "bwd".
	Direction string
	// WeightsName and ItosName name the inputs in error messages.
	WeightsName, ItosName string
}

// Imported is the result of Import.
type Imported struct {
	Model       *artifacts.Model // Kind lm; Lineage Producer/Params/Inputs left to the caller
	Config      nn.LMConfig
	Layout      Layout
	Shape       Shape
	Tied        bool
	SourceBias  bool     // the checkpoint had a decoder bias (else zeros were written)
	Translated  int      // special tokens renamed from fastai 0.7 names
	Dropped     []string // fastai vocab entries dropped (xxfake padding, tokens with newlines)
	SourceVocab int      // rows in the fastai checkpoint
}

// Import converts a fastai AWD-LSTM or AWD_QRNN language model checkpoint
// (the bytes of a torch.save file) and its itos pickle into an lm artifact
// model. Tensors are renamed to nn's names (encoder.weight, rnns.{l}.
// weight_ih|weight_hh|bias_ih|bias_hh for an LSTM, rnns.{l}.layers.0.linear.
// weight|bias for a QRNN, decoder.bias, decoder.weight when untied), the
// vocab's special tokens are translated and put first in canonical order
// (rows permuted to match), and the nn.LMConfig is inferred from the shapes
// (Arch nn.ArchQRNN for an AWD_QRNN).
func Import(weights, itos []byte, opt ImportOptions) (_ *Imported, err error) {
	defer func() { err = capErr(err) }()
	wn, in := nonEmpty(opt.WeightsName, "weights"), nonEmpty(opt.ItosName, "itos")
	obj, err := loadTorch(weights)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", wn, err)
	}
	sd, err := stateDict(obj, len(weights))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", wn, err)
	}
	ck, err := parseLM(sd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", wn, err)
	}
	shape, _ := ck.shape()
	if err := checkShape(wn, shape, opt.Want, ck.layout); err != nil {
		return nil, err
	}
	for l := 1; l < len(shape.Hidden)-1; l++ {
		if shape.Hidden[l] != shape.Hidden[0] {
			return nil, fmt.Errorf("%s: %s layers have hidden sizes %v; ulmfit's AWD-LSTM needs the same size for all but the last layer", wn, archWord(ck.qrnn), shape.Hidden)
		}
	}
	tokens, err := readItos(itos)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	if len(tokens) != shape.Vocab {
		return nil, fmt.Errorf("%s has %d tokens but %s's embedding has %d rows (%s): the vocab file does not belong to these weights",
			in, len(tokens), wn, shape.Vocab, ck.names[ck.enc])
	}
	vm, err := translateVocab(tokens)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	tied, err := ck.tied()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", wn, err)
	}

	cfg := nn.DefaultLMConfig()
	if opt.Base != nil {
		cfg = *opt.Base
	}
	switch {
	case ck.qrnn:
		cfg.Arch = nn.ArchQRNN
	case cfg.IsQRNN():
		cfg.Arch = "" // an LSTM checkpoint, whatever Base says
	}
	cfg.VocabSize = len(vm.Tokens)
	cfg.EmbSize = shape.Emb
	cfg.Layers = shape.Layers()
	cfg.HiddenSize = shape.Hidden[0]
	if cfg.Layers == 1 {
		cfg.HiddenSize = shape.Emb
	}
	cfg.PadID = int32(vm.id("xxpad"))
	cfg.TieWeights = tied
	cfg.DecoderBias = ck.decB != nil
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", wn, err)
	}
	for l := 0; l < cfg.Layers; l++ {
		if _, out := cfg.LayerSizes(l); out != shape.Hidden[l] {
			return nil, fmt.Errorf("%s: layer %d has hidden size %d, nn.LMConfig implies %d", wn, l, shape.Hidden[l], out)
		}
	}

	var ts []artifacts.Tensor
	add := func(name string, t *torchTensor, rows []int) error {
		v, err := t.Float32s()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", wn, oneLine(ck.names[t], 60), err)
		}
		shp := append([]int(nil), t.Shape...)
		if rows != nil {
			cols := 1
			if len(shp) == 2 {
				cols = shp[1]
			}
			v = gatherRows(v, cols, rows)
			shp[0] = len(rows)
		}
		if err := checkFinite(v); err != nil {
			return fmt.Errorf("%s: %s: %w", wn, oneLine(ck.names[t], 60), err)
		}
		ts = append(ts, artifacts.Tensor{Name: name, Shape: shp, Data: v})
		return nil
	}
	if err := add("encoder.weight", ck.enc, vm.Src); err != nil {
		return nil, err
	}
	type param struct {
		n string
		t *torchTensor
	}
	for l, ly := range ck.layers {
		ps := []param{{"weight_ih", ly.wih}, {"weight_hh", ly.whh}, {"bias_ih", ly.bih}, {"bias_hh", ly.bhh}}
		if ck.qrnn {
			ps = []param{{"layers.0.linear.weight", ly.w}, {"layers.0.linear.bias", ly.b}}
		}
		for _, p := range ps {
			if err := add(fmt.Sprintf("rnns.%d.%s", l, p.n), p.t, nil); err != nil {
				return nil, err
			}
		}
	}
	if !tied {
		if err := add("decoder.weight", ck.decW, vm.Src); err != nil {
			return nil, err
		}
	}
	if ck.decB != nil {
		if err := add("decoder.bias", ck.decB, vm.Src); err != nil {
			return nil, err
		}
	} else {
		ts = append(ts, artifacts.Tensor{Name: "decoder.bias", Shape: []int{cfg.VocabSize}, Data: make([]float32, cfg.VocabSize)})
	}
	cj, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	dir := opt.Direction
	if dir == "" {
		dir = artifacts.DirForward
	}
	m := &artifacts.Model{
		Lineage:   artifacts.Lineage{Kind: artifacts.KindLM},
		Config:    cj,
		Vocab:     &artifacts.Vocab{Tokens: vm.Tokens, Counts: make([]int64, len(vm.Tokens))},
		Direction: dir,
		Tensors:   ts,
	}
	return &Imported{
		Model: m, Config: cfg, Layout: ck.layout, Shape: shape, Tied: tied,
		SourceBias: ck.decB != nil, Translated: vm.Translated, Dropped: vm.Dropped, SourceVocab: shape.Vocab,
	}, nil
}

func checkFinite(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("value %d is %v: the checkpoint holds non-finite weights", i, x)
		}
	}
	return nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
