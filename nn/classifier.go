package nn

import (
	"errors"
	"fmt"
)

// ClassifierConfig describes the ULMFiT classifier: the AWD-LSTM encoder of
// an LM plus fastai's PoolingLinearClassifier head. The head is, for each
// block i, BatchNorm1d -> Dropout(HeadDropouts[i]) -> Linear, with ReLU
// after every block but the last; its input is the concat pooling
// [last, max, mean] of the encoder output (3*EmbSize).
type ClassifierConfig struct {
	Encoder      LMConfig  `json:"encoder"`
	NClasses     int       `json:"n_classes"`
	Hidden       []int     `json:"hidden"`        // sizes of the hidden head layers (fastai lin_ftrs, paper [50])
	HeadDropouts []float32 `json:"head_dropouts"` // one per block (fastai: [output_p, 0.1])
	HeadBias     bool      `json:"head_bias"`     // Linear bias in the head (fastai v1 true; fastai v2 LinBnDrop false)
	MultiLabel   bool      `json:"multi_label"`   // sigmoid + BCE instead of softmax + CE
	BPTT         int       `json:"bptt"`          // BPT3C chunk length
	MaxLen       int       `json:"max_len"`       // pool over (and backprop into) the chunks covering the last MaxLen tokens; <= 0: all
	// BackpropAcrossChunks lets the gradient flow through the whole kept
	// region; false (default) detaches the hidden state between BPT3C
	// chunks, so each chunk's gradient stays in that chunk, as fastai.
	BackpropAcrossChunks bool `json:"backprop_across_chunks"`
}

// DefaultClassifierConfig returns the ULMFiT classifier on top of enc:
// hidden [50], head dropouts [enc.OutputDropout, 0.1], head bias, BPTT 70,
// MaxLen 1400 (20 chunks).
func DefaultClassifierConfig(enc LMConfig, nClasses int) ClassifierConfig {
	return ClassifierConfig{
		Encoder: enc, NClasses: nClasses, Hidden: []int{50},
		HeadDropouts: []float32{enc.OutputDropout, 0.1}, HeadBias: true,
		BPTT: 70, MaxLen: 1400,
	}
}

// Validate checks that the configuration is usable.
func (c ClassifierConfig) Validate() error {
	if err := c.Encoder.Validate(); err != nil {
		return err
	}
	var errs []error
	if c.NClasses < 1 || (!c.MultiLabel && c.NClasses < 2) {
		errs = append(errs, fmt.Errorf("n_classes %d must be >= 2 (>= 1 for multi-label)", c.NClasses))
	}
	for _, h := range c.Hidden {
		if h < 1 {
			errs = append(errs, fmt.Errorf("hidden size %d must be >= 1", h))
		}
	}
	if len(c.HeadDropouts) != len(c.Hidden)+1 {
		errs = append(errs, fmt.Errorf("head_dropouts has %d values, want %d (one per head block)", len(c.HeadDropouts), len(c.Hidden)+1))
	}
	for _, p := range c.HeadDropouts {
		if !(p >= 0 && p < 1) {
			errs = append(errs, fmt.Errorf("head dropout %g must be in [0, 1)", p))
		}
	}
	if c.BPTT < 1 {
		errs = append(errs, fmt.Errorf("bptt %d must be >= 1", c.BPTT))
	}
	if len(errs) > 0 {
		return fmt.Errorf("nn: invalid classifier config: %w", errors.Join(errs...))
	}
	return nil
}

// ClassTargets are the labels of a classifier batch: Labels [B] for
// single-label (class index, -1 = ignore), or Multi [B,NClasses] with 0/1
// (or soft) targets for multi-label.
type ClassTargets struct {
	Labels []int32
	Multi  []float32
}

// Classifier is the ULMFiT text classifier with BPT3C.
//
// Forward takes a batch of documents padded at the start (fastai pads
// classification batches first). Each document is processed as if it were
// alone, as fastai's SentenceEncoder on its pad_chunk layout: zero state at
// its first token, BPTT-sized chunks aligned with that token, the hidden
// state carried from chunk to chunk (and detached between chunks unless
// BackpropAcrossChunks). Only the chunks that start within the document's last
// MaxLen tokens are kept: concat pooling sees their outputs (and no padding),
// and gradients flow only into them. Results do not depend on how much
// padding a document gets, i.e. on which batch it is in. Dropout masks are
// drawn once per document batch and shared by all its chunks (fastai redraws
// them per chunk), so the whole batch is computed as one window over the
// kept region after a state-only pass over the steps before it.
type Classifier struct {
	Cfg ClassifierConfig
	Enc *Encoder
	// ClassWeights optionally weights the loss per class [NClasses]
	// (PyTorch's weight= of cross_entropy / BCEWithLogits).
	ClassWeights []float32

	Pool  ConcatPool
	BNs   []*BatchNorm1d
	Drops []Dropout
	Lins  []*Linear

	be      Backend
	params  []*Param
	buffers []*Param

	b, tk     int
	train     bool
	grad      bool
	ids       []int32
	start     []int32 // first non-pad step per row
	keep      []int32 // first kept step per row
	poolStart []int32 // keep - k0
	seg       segments
	dropd     [][]float32 // dropout outputs per block
	logits    []float32
	dlog      []float32
	dA, dB    []float32
	dRaw      []float32
}

// NewClassifier allocates a classifier (zero weights; call Init and/or load
// the encoder from an LM).
func NewClassifier(cfg ClassifierConfig, be Backend) (*Classifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if be == nil {
		return nil, errors.New("nn: NewClassifier: nil backend")
	}
	L := cfg.Encoder.Layers
	c := &Classifier{Cfg: cfg, be: be, Enc: newEncoder(cfg.Encoder, 0, 1)}
	c.params = c.Enc.Params()
	dims := append([]int{3 * cfg.Encoder.EmbSize}, cfg.Hidden...)
	dims = append(dims, cfg.NClasses)
	for i := 0; i+1 < len(dims); i++ {
		pre := fmt.Sprintf("head.%d.", i)
		bn := NewBatchNorm1d(pre+"bn.", dims[i], L+1)
		lin := NewLinear(pre+"linear.", dims[i], dims[i+1], L+1, cfg.HeadBias)
		c.BNs = append(c.BNs, bn)
		c.Drops = append(c.Drops, Dropout{P: cfg.HeadDropouts[i]})
		c.Lins = append(c.Lins, lin)
		c.params = append(c.params, bn.Weight, bn.Bias)
		c.params = append(c.params, lin.Params()...)
		c.buffers = append(c.buffers, bn.RunMean, bn.RunVar)
	}
	c.dropd = make([][]float32, len(c.Lins))
	return c, nil
}

// Backend returns the backend the model computes with.
func (c *Classifier) Backend() Backend { return c.be }

// Params returns the trainable parameters: the encoder's (encoder.weight,
// rnns.*) then per head block head.{i}.bn.weight, head.{i}.bn.bias,
// head.{i}.linear.weight, head.{i}.linear.bias.
func (c *Classifier) Params() []*Param { return c.params }

// Buffers returns the non-trainable tensors: head.{i}.bn.running_mean and
// head.{i}.bn.running_var.
func (c *Classifier) Buffers() []*Param { return c.buffers }

// NumGroups is the number of layer groups: [encoder], [rnn_0], ...,
// [rnn_{L-1}], [head].
func (c *Classifier) NumGroups() int { return c.Cfg.Encoder.Layers + 2 }

// ZeroGrad zeroes all gradients.
func (c *Classifier) ZeroGrad() { ZeroGrad(c.be, c.params) }

// Init initializes the encoder as Encoder.Init and the head as PyTorch
// (BatchNorm gamma 1, beta 0; Linear U(-1/sqrt(in), 1/sqrt(in))).
func (c *Classifier) Init(seed uint64) {
	rng := NewRNG(seed)
	c.Enc.Init(rng)
	for i := range c.Lins {
		c.BNs[i].Init()
		c.Lins[i].Init(rng)
	}
}

// keptOffset returns, for a document of n tokens, the offset from its first
// token of the region BPT3C keeps: the start of the first BPTT chunk
// (aligned with the document start) within its last MaxLen tokens.
func (c *Classifier) keptOffset(n int) int {
	ml, bptt := c.Cfg.MaxLen, c.Cfg.BPTT
	if ml <= 0 || n <= ml {
		return 0
	}
	return (n - ml + bptt - 1) / bptt * bptt
}

// Forward classifies a batch of b documents, tokens batch-major [B,T] with
// padding (Encoder.PadID) at the start of each row. If y is non-nil the loss
// (mean weighted cross-entropy, or mean BCE for multi-label) is returned;
// with train, dropout masks are drawn from rng (non-nil), BatchNorm uses
// batch statistics (b must be >= 2), and Backward may follow.
func (c *Classifier) Forward(tokens []int32, b, t int, y *ClassTargets, train bool, rng *RNG) (float64, error) {
	be, cfg := c.be, c.Cfg
	ec := cfg.Encoder
	if b < 1 || t < 1 || len(tokens) != b*t {
		return 0, fmt.Errorf("nn: Classifier.Forward: want %d*%d tokens, got %d", b, t, len(tokens))
	}
	if train && rng == nil {
		return 0, errors.New("nn: Classifier.Forward: training needs an RNG")
	}
	if train && b < 2 {
		return 0, fmt.Errorf("nn: Classifier.Forward: BatchNorm needs a training batch of >= 2 documents, got %d", b)
	}
	if err := checkTokens("tokens", tokens, ec.VocabSize); err != nil {
		return 0, err
	}
	nc := cfg.NClasses
	if y != nil {
		if cfg.MultiLabel {
			if len(y.Multi) != b*nc {
				return 0, fmt.Errorf("nn: Classifier.Forward: want %d*%d multi-label targets, got %d", b, nc, len(y.Multi))
			}
		} else {
			if len(y.Labels) != b {
				return 0, fmt.Errorf("nn: Classifier.Forward: want %d labels, got %d", b, len(y.Labels))
			}
			for i, l := range y.Labels {
				if l < -1 || int(l) >= nc {
					return 0, fmt.Errorf("nn: Classifier.Forward: label[%d] = %d outside [0, %d)", i, l, nc)
				}
			}
		}
	}
	if c.ClassWeights != nil && len(c.ClassWeights) != nc {
		return 0, fmt.Errorf("nn: Classifier: %d class weights for %d classes", len(c.ClassWeights), nc)
	}
	c.b, c.train = b, train
	c.grad = train && y != nil

	// Time-major ids and the first non-pad position of each document.
	c.ids = growInt32(c.ids, b*t)
	c.start = growInt32(c.start, b)
	for j := 0; j < b; j++ {
		st := int32(-1)
		for s := 0; s < t; s++ {
			id := tokens[j*t+s]
			c.ids[s*b+j] = id
			if st < 0 && id != ec.PadID {
				st = int32(s)
			}
		}
		if st < 0 {
			st = int32(t - 1)
		}
		c.start[j] = st
	}

	// BPT3C, per document as if it were alone: chunks of BPTT steps aligned
	// with its first token; the kept region starts at the first chunk
	// within its last MaxLen tokens. Steps before the earliest kept region
	// of the batch (k0) are run for their state only.
	c.keep = growInt32(c.keep, b)
	k0 := t
	for j, st := range c.start {
		kp := st + int32(c.keptOffset(t-int(st)))
		c.keep[j] = kp
		k0 = min(k0, int(kp))
	}
	c.seg.start, c.seg.keep, c.seg.period = c.start, c.keep, 0
	if !cfg.BackpropAcrossChunks {
		c.seg.period = cfg.BPTT
	}
	enc := c.Enc
	enc.seg = &c.seg
	enc.ResetState(be, b)
	enc.DrawMasks(be, rng, b, train)
	for i := 0; i < k0; i += cfg.BPTT {
		n := min(cfg.BPTT, k0-i)
		enc.Forward(be, c.ids[i*b:(i+n)*b], n, b)
	}
	tk := t - k0
	c.tk = tk
	raw := enc.Forward(be, c.ids[k0*b:], tk, b)
	c.poolStart = growInt32(c.poolStart, b)
	for j, kp := range c.keep {
		c.poolStart[j] = kp - int32(k0)
	}
	x := c.Pool.Forward(be, raw, tk, b, ec.EmbSize, c.poolStart)

	// Head.
	for i, lin := range c.Lins {
		h := c.BNs[i].Forward(be, x, b, train)
		c.Drops[i].DrawMask(be, rng, len(h), train)
		c.dropd[i] = grow(c.dropd[i], len(h))
		c.Drops[i].Forward(be, c.dropd[i], h)
		x = lin.Forward(be, c.dropd[i], b)
		if i < len(c.Lins)-1 {
			be.ReLU(x, x)
		}
	}
	c.logits = x
	if y == nil {
		return 0, nil
	}

	// Loss and its gradient w.r.t. the logits.
	var dl []float32
	if c.grad {
		c.dlog = grow(c.dlog, b*nc)
		dl = c.dlog
	}
	if cfg.MultiLabel {
		cnt := float64(b * nc)
		ls := be.SigmoidBCE(b, nc, x, y.Multi, c.ClassWeights, float32(1/cnt), dl)
		return ls / cnt, nil
	}
	var ws float64
	for _, l := range y.Labels {
		if l >= 0 {
			if c.ClassWeights != nil {
				ws += float64(c.ClassWeights[l])
			} else {
				ws++
			}
		}
	}
	scale := float32(0)
	if ws > 0 {
		scale = float32(1 / ws)
	}
	ls, _ := be.SoftmaxCrossEntropy(b, nc, x, y.Labels, -1, c.ClassWeights, scale, dl)
	if ws == 0 {
		return 0, nil
	}
	return ls / ws, nil
}

// Logits returns the [B,NClasses] logits of the last Forward (owned by the
// model, valid until the next Forward).
func (c *Classifier) Logits() []float32 { return c.logits }

// Probs writes the class probabilities of the last Forward into dst
// [B,NClasses]: softmax, or per-class sigmoid for multi-label.
func (c *Classifier) Probs(dst []float32) {
	if c.Cfg.MultiLabel {
		c.be.Sigmoid(c.logits, dst)
	} else {
		c.be.Softmax(c.b, c.Cfg.NClasses, c.logits, dst)
	}
}

// Backward backpropagates the loss of the last training Forward (which must
// have had targets) and accumulates the gradients of the non-frozen params.
func (c *Classifier) Backward() error {
	if !c.grad {
		return errors.New("nn: Classifier.Backward without a training Forward with targets")
	}
	c.grad = false
	be, b := c.be, c.b
	d := c.dlog
	for i := len(c.Lins) - 1; i >= 0; i-- {
		lin := c.Lins[i]
		if i < len(c.Lins)-1 {
			be.ReLUBackward(lin.y, d, d)
		}
		c.dA = grow(c.dA, b*lin.In)
		lin.Backward(be, d, c.dA)
		c.Drops[i].Backward(be, c.dA, c.dA)
		c.dB = grow(c.dB, b*lin.In)
		c.BNs[i].Backward(be, c.dA, c.dB)
		d = c.dB // consumed by the next block's Linear before dB is rewritten
	}
	enc := c.Enc
	if enc.Emb.W.Frozen && allFrozenRNNs(enc) {
		return nil
	}
	e := c.Cfg.Encoder.EmbSize
	c.dRaw = grow(c.dRaw, c.tk*b*e)
	be.Fill(c.dRaw, 0)
	c.Pool.Backward(be, d, c.dRaw)
	enc.Backward(be, c.dRaw)
	return nil
}

func allFrozenRNNs(e *Encoder) bool {
	for _, r := range e.RNNs {
		if !allFrozen(r.Params()...) {
			return false
		}
	}
	return true
}
