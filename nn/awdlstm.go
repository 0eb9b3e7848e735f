package nn

import (
	"errors"
	"fmt"
)

// LMConfig describes an AWD-LSTM (Merity et al. 2017) as used by ULMFiT:
// embedding EmbSize -> LSTM HiddenSize x (Layers-1) -> LSTM EmbSize (the last
// layer's output size is always EmbSize, as fastai's AWD_LSTM), decoder tied
// to the embedding. With Arch "qrnn" the recurrent layers are QRNNs
// (fastai's AWD_QRNN, qrnn.go) in the same places, with the same dropouts.
// Dropout defaults are the ULMFiT paper's (fastai's awd_lstm_lm_config uses
// 0.1/0.15/0.25/0.02/0.2).
type LMConfig struct {
	// Arch is the recurrent layer: "lstm" (also when empty, as in every
	// artifact written before the QRNN) or "qrnn".
	Arch       string `json:"arch,omitempty"`
	VocabSize  int    `json:"vocab_size"`
	EmbSize    int    `json:"emb_size"`
	HiddenSize int    `json:"hidden_size"`
	Layers     int    `json:"layers"`
	PadID      int32  `json:"pad_id"` // token id of xxpad; -1: none

	OutputDropout float32 `json:"output_dropout"` // on the last LSTM output (fastai output_p)
	HiddenDropout float32 `json:"hidden_dropout"` // between LSTM layers (hidden_p)
	InputDropout  float32 `json:"input_dropout"`  // on the embedding output (input_p)
	EmbedDropout  float32 `json:"embed_dropout"`  // whole embedding rows (embed_p)
	WeightDropout float32 `json:"weight_dropout"` // DropConnect on W_hh (weight_p)

	TieWeights  bool    `json:"tie_weights"`
	DecoderBias bool    `json:"decoder_bias"`
	ARAlpha     float32 `json:"ar_alpha"` // activation regularization on the dropped last output
	TARBeta     float32 `json:"tar_beta"` // temporal AR on the raw last output
}

// DefaultLMConfig returns the paper preset without a vocabulary size.
func DefaultLMConfig() LMConfig {
	return LMConfig{
		EmbSize: 400, HiddenSize: 1150, Layers: 3, PadID: 1,
		OutputDropout: 0.4, HiddenDropout: 0.3, InputDropout: 0.4, EmbedDropout: 0.05, WeightDropout: 0.5,
		TieWeights: true, DecoderBias: true, ARAlpha: 2, TARBeta: 1,
	}
}

// The recurrent layers an LMConfig can have.
const (
	ArchLSTM = "lstm"
	ArchQRNN = "qrnn"
)

// ArchNames lists the values LMConfig.Arch accepts.
func ArchNames() []string { return []string{ArchLSTM, ArchQRNN} }

// IsQRNN reports whether the recurrent layers are QRNNs.
func (c LMConfig) IsQRNN() bool { return c.Arch == ArchQRNN }

// ArchName is Arch with the empty value spelled "lstm".
func (c LMConfig) ArchName() string {
	if c.Arch == "" {
		return ArchLSTM
	}
	return c.Arch
}

// PresetNames lists the names Preset accepts.
func PresetNames() []string { return []string{"paper", "small", "tiny", "multifit"} }

// Preset returns the LM configuration of a named preset: "paper" (emb 400,
// hidden 1150, 3 LSTM layers), "small" (200/512/3, CPU-friendly), "tiny"
// (16/24/2, for tests) or "multifit" (MultiFiT's 4-layer QRNN, emb 400,
// hidden 1550; Eisenschlos et al. 2019). The LSTM presets take a QRNN with
// Arch set to "qrnn". VocabSize is left 0 (it comes from the data) and
// PadID is 1 (fastai's xxpad); callers set both from the vocabulary.
func Preset(name string) (LMConfig, error) {
	c := DefaultLMConfig()
	switch name {
	case "paper":
	case "small":
		c.EmbSize, c.HiddenSize, c.Layers = 200, 512, 3
	case "tiny":
		c.EmbSize, c.HiddenSize, c.Layers = 16, 24, 2
	case "multifit":
		c.Arch, c.EmbSize, c.HiddenSize, c.Layers = ArchQRNN, 400, 1550, 4
	default:
		return LMConfig{}, fmt.Errorf("nn: unknown preset %q (want one of paper, small, tiny, multifit)", name)
	}
	return c, nil
}

// PresetOf names the preset whose encoder sizes (embedding, hidden, layers)
// c has, or "paper" when none has them: the preset of a loaded LM, whose
// training recipe a later stage applies.
func PresetOf(c LMConfig) string {
	for _, name := range PresetNames() {
		p, _ := Preset(name)
		if p.EmbSize == c.EmbSize && p.HiddenSize == c.HiddenSize && p.Layers == c.Layers {
			return name
		}
	}
	return "paper"
}

// WithDropoutMult returns c with all five dropouts multiplied by m (fastai's
// drop_mult).
func (c LMConfig) WithDropoutMult(m float32) LMConfig {
	c.OutputDropout *= m
	c.HiddenDropout *= m
	c.InputDropout *= m
	c.EmbedDropout *= m
	c.WeightDropout *= m
	return c
}

// WithoutDropout returns c with all dropouts and AR/TAR off (for checks).
func (c LMConfig) WithoutDropout() LMConfig {
	c = c.WithDropoutMult(0)
	c.ARAlpha, c.TARBeta = 0, 0
	return c
}

// Validate checks that the configuration is usable.
func (c LMConfig) Validate() error {
	var errs []error
	if c.Arch != "" && c.Arch != ArchLSTM && c.Arch != ArchQRNN {
		errs = append(errs, fmt.Errorf("arch %q must be %q or %q", c.Arch, ArchLSTM, ArchQRNN))
	}
	if c.VocabSize < 1 {
		errs = append(errs, fmt.Errorf("vocab_size %d must be >= 1", c.VocabSize))
	}
	if c.EmbSize < 1 || c.HiddenSize < 1 {
		errs = append(errs, fmt.Errorf("emb_size %d and hidden_size %d must be >= 1", c.EmbSize, c.HiddenSize))
	}
	if c.Layers < 1 {
		errs = append(errs, fmt.Errorf("layers %d must be >= 1", c.Layers))
	}
	if c.PadID < -1 || (c.VocabSize > 0 && int(c.PadID) >= c.VocabSize) {
		errs = append(errs, fmt.Errorf("pad_id %d out of range [-1, %d)", c.PadID, c.VocabSize))
	}
	for _, d := range []struct {
		name string
		p    float32
	}{{"output_dropout", c.OutputDropout}, {"hidden_dropout", c.HiddenDropout}, {"input_dropout", c.InputDropout}, {"embed_dropout", c.EmbedDropout}, {"weight_dropout", c.WeightDropout}} {
		if !(d.p >= 0 && d.p < 1) {
			errs = append(errs, fmt.Errorf("%s %g must be in [0, 1)", d.name, d.p))
		}
	}
	if c.ARAlpha < 0 || c.TARBeta < 0 {
		errs = append(errs, fmt.Errorf("ar_alpha %g and tar_beta %g must be >= 0", c.ARAlpha, c.TARBeta))
	}
	if len(errs) > 0 {
		return fmt.Errorf("nn: invalid LM config: %w", errors.Join(errs...))
	}
	return nil
}

// LayerSizes returns the input and output size of recurrent layer l.
func (c LMConfig) LayerSizes(l int) (in, out int) {
	in, out = c.HiddenSize, c.HiddenSize
	if l == 0 {
		in = c.EmbSize
	}
	if l == c.Layers-1 {
		out = c.EmbSize
	}
	return in, out
}

// qrnnWindow is the convolution window of QRNN layer l: 2 in the first
// layer only, as fastai's AWD_QRNN.
func qrnnWindow(l int) int {
	if l == 0 {
		return 2
	}
	return 1
}

// RNN is one recurrent layer of the encoder: an *LSTM or a *QRNN.
type RNN interface {
	// Params returns the layer's params in their fixed order.
	Params() []*Param
	// Sizes returns the input and output size.
	Sizes() (in, out int)
	// Init draws the weights as PyTorch initializes the layer.
	Init(rng *RNG)
	// ResetState zeroes the carried state for batch size b.
	ResetState(be Backend, b int)
	// State returns the carried state buffers (not copies).
	State() []StateBuf
	// DrawMask draws the weight-drop mask of the following Forward calls.
	DrawMask(be Backend, rng *RNG, train bool)
	// Forward runs t steps over x [T,B,In] from the carried state and
	// returns the output [T,B,Out], owned by the layer.
	Forward(be Backend, x []float32, t, b int) []float32
	// Backward backpropagates dout [T,B,Out], accumulates the param
	// gradients and, if dx is non-nil, writes the input gradient.
	Backward(be Backend, dout, dx []float32)
	// setSegments gives a classifier's BPT3C rows (bpt3c.go) and the
	// absolute step of the next window; seg is nil for an LM.
	setSegments(seg *segments, off int)
}

// StateBuf is one buffer of a layer's carried state: Data is [B,Width].
// Name says which: "h" and "c" for an LSTM, "c" and "x" (the last input,
// window 2) for a QRNN.
type StateBuf struct {
	Name  string
	Width int
	Data  []float32
}

// Encoder is the AWD-LSTM body shared by the LM and the classifier:
// Embedding (embedding dropout) -> LockedDropout(input) -> RNN_0 ->
// LockedDropout(hidden) -> ... -> RNN_{L-1}, the RNNs being LSTMs or QRNNs
// (LMConfig.Arch); it returns the raw (undropped) output of the last layer,
// time-major [T,B,E]. Dropout masks are drawn by DrawMasks and reused by
// every Forward until the next draw; the hidden state is carried across
// Forward calls (ResetState zeroes it).
type Encoder struct {
	Cfg         LMConfig
	Emb         *Embedding
	InputDrop   LockedDropout
	RNNs        []RNN
	HiddenDrops []LockedDropout // after RNNs[l], l < Layers-1

	ids   []int32 // time-major ids of the last Forward (not owned)
	t, b  int
	pos   int         // absolute position of the next window since ResetState
	seg   *segments   // BPT3C row segments (classifier only, bpt3c.go)
	drops [][]float32 // dropped outputs of layers 0..L-2
	dbuf  [2][]float32
}

// newEncoder allocates the encoder; embGroup is the layer group of the
// embedding, and LSTM l gets group rnnGroup0+l.
func newEncoder(cfg LMConfig, embGroup, rnnGroup0 int) *Encoder {
	e := &Encoder{
		Cfg:       cfg,
		Emb:       &Embedding{W: newParam("encoder.weight", embGroup, cfg.VocabSize, cfg.EmbSize), PadID: cfg.PadID, EmbedDrop: cfg.EmbedDropout},
		InputDrop: LockedDropout{P: cfg.InputDropout},
		drops:     make([][]float32, cfg.Layers),
	}
	for l := 0; l < cfg.Layers; l++ {
		in, out := cfg.LayerSizes(l)
		if cfg.IsQRNN() {
			e.RNNs = append(e.RNNs, NewQRNN(fmt.Sprintf("rnns.%d.layers.0.linear.", l), in, out, qrnnWindow(l), rnnGroup0+l, cfg.WeightDropout))
		} else {
			e.RNNs = append(e.RNNs, NewLSTM(fmt.Sprintf("rnns.%d.", l), in, out, rnnGroup0+l, cfg.WeightDropout))
		}
		if l < cfg.Layers-1 {
			e.HiddenDrops = append(e.HiddenDrops, LockedDropout{P: cfg.HiddenDropout})
		}
	}
	return e
}

// Params returns encoder.weight then, for each layer, rnns.{l}.weight_ih,
// weight_hh, bias_ih, bias_hh (LSTM) or rnns.{l}.layers.0.linear.weight,
// bias (QRNN).
func (e *Encoder) Params() []*Param {
	ps := []*Param{e.Emb.W}
	for _, r := range e.RNNs {
		ps = append(ps, r.Params()...)
	}
	return ps
}

// Init initializes as fastai: embedding U(-0.1, 0.1) with the pad row zero,
// the recurrent layers as PyTorch does (LSTM.Init, QRNN.Init).
func (e *Encoder) Init(rng *RNG) {
	w := e.Emb.W
	rng.Uniform(w.Data, -0.1, 0.1)
	if p := e.Cfg.PadID; p >= 0 {
		dim := w.Shape[1]
		clear(w.Data[int(p)*dim : int(p+1)*dim])
	}
	for _, r := range e.RNNs {
		r.Init(rng)
	}
}

// ResetState zeroes the carried hidden state of every layer for batch b.
func (e *Encoder) ResetState(be Backend, b int) {
	e.pos = 0
	for _, r := range e.RNNs {
		r.ResetState(be, b)
	}
}

// DrawMasks draws every dropout mask (embedding rows, input, weight drop and
// hidden, in that order) for batch size b; with !train all are identity.
func (e *Encoder) DrawMasks(be Backend, rng *RNG, b int, train bool) {
	e.Emb.DrawMask(be, rng, train)
	e.InputDrop.DrawMask(be, rng, b, e.Cfg.EmbSize, train)
	for l, r := range e.RNNs {
		r.DrawMask(be, rng, train)
		if l < len(e.HiddenDrops) {
			_, out := r.Sizes()
			e.HiddenDrops[l].DrawMask(be, rng, b, out, train)
		}
	}
}

// Forward runs the encoder over ids, time-major [T,B] (ids must stay
// unchanged until Backward), from the carried state, and returns the raw
// output of the last layer [T,B,E] (owned by the last RNN).
func (e *Encoder) Forward(be Backend, ids []int32, t, b int) []float32 {
	e.ids, e.t, e.b = ids, t, b
	x := e.Emb.Forward(be, ids)
	e.InputDrop.Forward(be, x, x)
	for l, r := range e.RNNs {
		r.setSegments(e.seg, e.pos)
		out := r.Forward(be, x, t, b)
		if l == len(e.RNNs)-1 {
			e.pos += t
		}
		if l == len(e.RNNs)-1 {
			return out
		}
		e.drops[l] = grow(e.drops[l], len(out))
		e.HiddenDrops[l].Forward(be, e.drops[l], out)
		x = e.drops[l]
	}
	panic("unreachable")
}

// Backward backpropagates dout [T,B,E] (the gradient w.r.t. the output of
// the last Forward) and accumulates the gradients of the non-frozen params.
// Work below the lowest non-frozen layer is skipped.
func (e *Encoder) Backward(be Backend, dout []float32) {
	lowest := len(e.RNNs) // nothing to do
	if !e.Emb.W.Frozen {
		lowest = -1
	} else {
		for l, r := range e.RNNs {
			if !allFrozen(r.Params()...) {
				lowest = l
				break
			}
		}
	}
	d := dout
	for l := len(e.RNNs) - 1; l >= 0 && l >= lowest; l-- {
		r := e.RNNs[l]
		var dx []float32
		if l > lowest {
			in, _ := r.Sizes()
			e.dbuf[l%2] = grow(e.dbuf[l%2], e.t*e.b*in)
			dx = e.dbuf[l%2]
		}
		r.Backward(be, d, dx)
		if dx == nil {
			break
		}
		if l > 0 {
			e.HiddenDrops[l-1].Backward(be, dx, dx)
		} else {
			e.InputDrop.Backward(be, dx, dx)
			e.Emb.Backward(be, e.ids, dx)
		}
		d = dx
	}
}

// LMLoss is the result of an LM forward pass. The training objective is
// CE + AR + TAR; AR and TAR are zero in eval mode (as fastai's
// RNNRegularizer). CE is the mean cross-entropy per target token.
type LMLoss struct {
	CE, AR, TAR float64
	Tokens      int
}

// Total is CE + AR + TAR.
func (l LMLoss) Total() float64 { return l.CE + l.AR + l.TAR }

// LM is the AWD-LSTM language model: Encoder -> LockedDropout(output) ->
// linear decoder (tied to the embedding by default, with bias) -> softmax
// cross-entropy over the full vocabulary, plus AR and TAR.
//
// Use: Reset at the start of a stream; per window ZeroGrad, Forward,
// Backward, optimizer step. The decoder and softmax are fused and run in row
// chunks so the [T*B,V] logits are never materialized; their gradient is
// computed during a training Forward and added to the params' Grad by
// Backward.
type LM struct {
	Cfg        LMConfig
	Enc        *Encoder
	OutputDrop LockedDropout
	DecW       *Param // encoder.weight when tied, else decoder.weight [V,E]
	DecB       *Param // decoder.bias [V], nil without DecoderBias

	be     Backend
	params []*Param

	t, b    int
	train   bool
	ids     []int32 // [T,B]
	tgts    []int32 // [T,B]
	raw     []float32
	dropped []float32 // [T,B,E]
	logits  []float32 // one row chunk [rows,V]
	dx      []float32 // d dropped [T,B,E]
	dW, dB  []float32 // decoder grads of the last training Forward
	diff    []float32 // raw[t+1]-raw[t], [T-1,B,E]
}

// NewLM allocates an LM (zero weights; call Init or load tensors).
func NewLM(cfg LMConfig, be Backend) (*LM, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if be == nil {
		return nil, errors.New("nn: NewLM: nil backend")
	}
	m := &LM{Cfg: cfg, be: be, Enc: newEncoder(cfg, cfg.Layers, 0), OutputDrop: LockedDropout{P: cfg.OutputDropout}}
	if cfg.TieWeights {
		m.DecW = m.Enc.Emb.W
	} else {
		m.DecW = newParam("decoder.weight", cfg.Layers, cfg.VocabSize, cfg.EmbSize)
	}
	if cfg.DecoderBias {
		m.DecB = newParam("decoder.bias", cfg.Layers, cfg.VocabSize)
	}
	m.params = m.Enc.Params()
	if !cfg.TieWeights {
		m.params = append(m.params, m.DecW)
	}
	if m.DecB != nil {
		m.params = append(m.params, m.DecB)
	}
	return m, nil
}

// Backend returns the backend the model computes with.
func (m *LM) Backend() Backend { return m.be }

// Params returns all parameters in a fixed order: encoder.weight,
// rnns.{l}.weight_ih|weight_hh|bias_ih|bias_hh, [decoder.weight],
// decoder.bias. A tied decoder shares encoder.weight.
func (m *LM) Params() []*Param { return m.params }

// NumGroups is the number of layer groups: [rnn_0], ..., [rnn_{L-1}],
// [encoder + decoder].
func (m *LM) NumGroups() int { return m.Cfg.Layers + 1 }

// Init initializes all weights from seed (see Encoder.Init); an untied
// decoder weight gets U(-0.1, 0.1) and the decoder bias zeros.
func (m *LM) Init(seed uint64) {
	rng := NewRNG(seed)
	m.Enc.Init(rng)
	if !m.Cfg.TieWeights {
		rng.Uniform(m.DecW.Data, -0.1, 0.1)
	}
	if m.DecB != nil {
		clear(m.DecB.Data)
	}
}

// ZeroGrad zeroes all gradients.
func (m *LM) ZeroGrad() { ZeroGrad(m.be, m.params) }

// Reset zeroes the carried hidden state (start of a new stream).
func (m *LM) Reset() {
	m.Enc.ResetState(m.be, max(m.b, 1))
}

// checkTokens reports the first id outside [0, v).
func checkTokens(what string, ids []int32, v int) error {
	for i, id := range ids {
		if id < 0 || int(id) >= v {
			return fmt.Errorf("nn: %s[%d] = %d is outside the vocabulary [0, %d)", what, i, id, v)
		}
	}
	return nil
}

// Forward runs the LM over tokens and targets, both batch-major [B,T] (row j
// is stream j; targets are the next tokens), continuing from the carried
// hidden state (it is reset if B changes). With train, fresh dropout masks
// are drawn from rng (which must then be non-nil), AR/TAR are computed, and
// the decoder gradients are prepared for Backward.
func (m *LM) Forward(tokens, targets []int32, b, t int, train bool, rng *RNG) (LMLoss, error) {
	be, cfg := m.be, m.Cfg
	if b < 1 || t < 1 || len(tokens) != b*t || len(targets) != b*t {
		return LMLoss{}, fmt.Errorf("nn: LM.Forward: want %d*%d tokens and targets, got %d and %d", b, t, len(tokens), len(targets))
	}
	if train && rng == nil {
		return LMLoss{}, errors.New("nn: LM.Forward: training needs an RNG")
	}
	if err := checkTokens("tokens", tokens, cfg.VocabSize); err != nil {
		return LMLoss{}, err
	}
	if err := checkTokens("targets", targets, cfg.VocabSize); err != nil {
		return LMLoss{}, err
	}
	m.t, m.b, m.train = t, b, train
	n, e, v := t*b, cfg.EmbSize, cfg.VocabSize
	m.ids = growInt32(m.ids, n)
	m.tgts = growInt32(m.tgts, n)
	for j := 0; j < b; j++ {
		for s := 0; s < t; s++ {
			m.ids[s*b+j] = tokens[j*t+s]
			m.tgts[s*b+j] = targets[j*t+s]
		}
	}
	m.Enc.DrawMasks(be, rng, b, train)
	m.OutputDrop.DrawMask(be, rng, b, e, train)
	m.raw = m.Enc.Forward(be, m.ids, t, b)
	m.dropped = grow(m.dropped, n*e)
	m.OutputDrop.Forward(be, m.dropped, m.raw)

	// Fused decoder + softmax cross-entropy, in row chunks.
	var res LMLoss
	res.Tokens = n
	x := m.dropped
	w := m.DecW
	needW := train && !w.Frozen
	needB := train && m.DecB != nil && !m.DecB.Frozen
	if train {
		m.dx = grow(m.dx, n*e)
		if needW {
			m.dW = grow(m.dW, v*e)
			be.Fill(m.dW, 0)
		}
		if needB {
			m.dB = grow(m.dB, v)
			be.Fill(m.dB, 0)
		}
	}
	chunk := decoderChunk(n, v)
	m.logits = grow(m.logits, chunk*v)
	var lossSum float64
	for r0 := 0; r0 < n; r0 += chunk {
		rows := min(chunk, n-r0)
		lg := m.logits[:rows*v]
		xr := x[r0*e : (r0+rows)*e]
		be.Gemm(false, true, rows, v, e, 1, xr, e, w.Data, e, 0, lg, v)
		if m.DecB != nil {
			be.AddBias(rows, v, lg, m.DecB.Data)
		}
		var dl []float32
		if train {
			dl = lg
		}
		ls, _ := be.SoftmaxCrossEntropy(rows, v, lg, m.tgts[r0:r0+rows], -1, nil, float32(1/float64(n)), dl)
		lossSum += ls
		if train {
			if needW {
				be.Gemm(true, false, v, e, rows, 1, lg, v, xr, e, 1, m.dW, e)
			}
			if needB {
				be.ColSum(rows, v, lg, m.dB)
			}
			be.Gemm(false, false, rows, e, v, 1, lg, v, w.Data, e, 0, m.dx[r0*e:(r0+rows)*e], e)
		}
	}
	res.CE = lossSum / float64(n)
	if train && cfg.ARAlpha > 0 {
		res.AR = float64(cfg.ARAlpha) * be.SumSquares(m.dropped) / float64(n*e)
	}
	if train && cfg.TARBeta > 0 && t > 1 {
		be2 := b * e
		m.diff = grow(m.diff, (t-1)*be2)
		be.Sub(m.diff, m.raw[be2:], m.raw[:(t-1)*be2])
		res.TAR = float64(cfg.TARBeta) * be.SumSquares(m.diff) / float64((t-1)*be2)
	}
	return res, nil
}

// Backward backpropagates the training objective (CE + AR + TAR) of the last
// training Forward and accumulates the gradients of the non-frozen params.
func (m *LM) Backward() error {
	if !m.train {
		return errors.New("nn: LM.Backward without a training Forward")
	}
	be, cfg := m.be, m.Cfg
	n, e := m.t*m.b, cfg.EmbSize
	if !m.DecW.Frozen {
		be.Axpy(1, m.dW, m.DecW.Grad)
	}
	if m.DecB != nil && !m.DecB.Frozen {
		be.Axpy(1, m.dB, m.DecB.Grad)
	}
	if cfg.ARAlpha > 0 {
		be.Axpy(2*cfg.ARAlpha/float32(n*e), m.dropped, m.dx)
	}
	m.OutputDrop.Backward(be, m.dx, m.dx)
	if cfg.TARBeta > 0 && m.t > 1 {
		be2 := m.b * e
		c := 2 * cfg.TARBeta / float32((m.t-1)*be2)
		be.Axpy(c, m.diff, m.dx[be2:])
		be.Axpy(-c, m.diff, m.dx[:(m.t-1)*be2])
	}
	m.Enc.Backward(be, m.dx)
	m.train = false // one Backward per Forward
	return nil
}

// decoderChunkFloats bounds the fused decoder's logits buffer. Each chunk
// adds its share of the decoder's weight gradient into the whole [V,E]
// gradient, so larger chunks mean fewer passes over that matrix, while a
// chunk that stays in the last-level cache between the GEMM that writes it
// and the softmax that reads it keeps inference fast: 32 MiB (256 rows at
// the paper's 30k vocabulary) was the best of 16, 32 and 64 MiB in lmbench,
// against the 513 MiB of [T*B,V] logits a plain implementation keeps.
const decoderChunkFloats = 1 << 23

// decoderChunk returns the rows per decoder chunk for n rows and vocabulary
// v: whole multiples of 32 rows (the CPU GEMM's tile width) once a chunk
// has more than 32.
func decoderChunk(n, v int) int {
	chunk := decoderChunkFloats / max(v, 1)
	if chunk > 32 {
		chunk -= chunk % 32
	}
	return max(1, min(n, chunk))
}
