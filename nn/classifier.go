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
	BPTT         int       `json:"bptt"`          // BPT3C chunk length (bpt3c.go)
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

// Classifier is the ULMFiT text classifier: the AWD-LSTM encoder run over
// each document by BPT3C (bpt3c.go: chunks of BPTT tokens, the state
// carried across them, only the chunks covering the last MaxLen tokens kept
// for backprop and pooled), concat pooling [last, max, mean] of the kept
// outputs, and the head.
//
// Forward takes a batch of documents padded at the start (fastai pads
// classification batches first); each document is processed as if it were
// alone, so results do not depend on how much padding it gets. Dropout
// masks are drawn once per document batch and shared by all its chunks
// (fastai redraws them per chunk).
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

	b      int
	train  bool
	grad   bool
	bpt    bpt3c       // the encoder's pass over the last batch
	dropd  [][]float32 // dropout outputs per block
	logits []float32
	dlog   []float32
	dA, dB []float32
	dRaw   []float32
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

// Forward classifies a batch of b documents, tokens batch-major [B,T] with
// padding (Encoder.PadID) at the start of each row. If y is non-nil the loss
// (mean weighted cross-entropy, or mean BCE for multi-label) is returned;
// with train, dropout masks are drawn from rng (non-nil), BatchNorm uses
// batch statistics (b must be >= 2), and Backward may follow.
func (c *Classifier) Forward(tokens []int32, b, t int, y *ClassTargets, train bool, rng *RNG) (float64, error) {
	if err := c.checkBatch(tokens, b, t, y, train, rng); err != nil {
		return 0, err
	}
	be := c.be
	c.b, c.train = b, train
	c.grad = train && y != nil

	// The encoder by BPT3C, then concat pooling over each kept region.
	c.bpt.layout(c.Cfg, tokens, b, t)
	raw := c.bpt.forward(be, c.Enc, rng, train)
	x := c.Pool.Forward(be, raw, c.bpt.tk, b, c.Cfg.Encoder.EmbSize, c.bpt.poolStart)

	c.logits = c.headForward(x, rng, train)
	if y == nil {
		return 0, nil
	}
	return c.loss(y), nil
}

// checkBatch validates the arguments of Forward.
func (c *Classifier) checkBatch(tokens []int32, b, t int, y *ClassTargets, train bool, rng *RNG) error {
	cfg := c.Cfg
	if b < 1 || t < 1 || len(tokens) != b*t {
		return fmt.Errorf("nn: Classifier.Forward: want %d*%d tokens, got %d", b, t, len(tokens))
	}
	if train && rng == nil {
		return errors.New("nn: Classifier.Forward: training needs an RNG")
	}
	if train && b < 2 {
		return fmt.Errorf("nn: Classifier.Forward: BatchNorm needs a training batch of >= 2 documents, got %d", b)
	}
	if err := checkTokens("tokens", tokens, cfg.Encoder.VocabSize); err != nil {
		return err
	}
	nc := cfg.NClasses
	if y != nil {
		if cfg.MultiLabel {
			if len(y.Multi) != b*nc {
				return fmt.Errorf("nn: Classifier.Forward: want %d*%d multi-label targets, got %d", b, nc, len(y.Multi))
			}
		} else {
			if len(y.Labels) != b {
				return fmt.Errorf("nn: Classifier.Forward: want %d labels, got %d", b, len(y.Labels))
			}
			for i, l := range y.Labels {
				if l < -1 || int(l) >= nc {
					return fmt.Errorf("nn: Classifier.Forward: label[%d] = %d outside [0, %d)", i, l, nc)
				}
			}
		}
	}
	if c.ClassWeights != nil && len(c.ClassWeights) != nc {
		return fmt.Errorf("nn: Classifier: %d class weights for %d classes", len(c.ClassWeights), nc)
	}
	return nil
}

// headForward runs the head blocks (BatchNorm -> Dropout -> Linear, ReLU
// between blocks) on the pooled x [B,3E] and returns the logits
// [B,NClasses] (owned by the last Linear).
func (c *Classifier) headForward(x []float32, rng *RNG, train bool) []float32 {
	be, b := c.be, c.b
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
	return x
}

// loss returns the loss of the last logits against y and, for a training
// Forward, writes its gradient w.r.t. the logits into dlog.
func (c *Classifier) loss(y *ClassTargets) float64 {
	be, b, nc := c.be, c.b, c.Cfg.NClasses
	var dl []float32
	if c.grad {
		c.dlog = grow(c.dlog, b*nc)
		dl = c.dlog
	}
	if c.Cfg.MultiLabel {
		cnt := float64(b * nc)
		ls := be.SigmoidBCE(b, nc, c.logits, y.Multi, c.ClassWeights, float32(1/cnt), dl)
		return ls / cnt
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
	ls, _ := be.SoftmaxCrossEntropy(b, nc, c.logits, y.Labels, -1, c.ClassWeights, scale, dl)
	if ws == 0 {
		return 0
	}
	return ls / ws
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
	d := c.headBackward()
	enc := c.Enc
	if enc.Emb.W.Frozen && allFrozenRNNs(enc) {
		return nil
	}
	// Concat pooling, then the encoder's kept window by BPT3C.
	c.dRaw = grow(c.dRaw, c.bpt.tk*b*c.Cfg.Encoder.EmbSize)
	be.Fill(c.dRaw, 0)
	c.Pool.Backward(be, d, c.dRaw)
	c.bpt.backward(be, enc, c.dRaw)
	return nil
}

// headBackward backpropagates dlog through the head blocks and returns the
// gradient w.r.t. the pooled input [B,3E].
func (c *Classifier) headBackward() []float32 {
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
	return d
}

func allFrozenRNNs(e *Encoder) bool {
	for _, r := range e.RNNs {
		if !allFrozen(r.Params()...) {
			return false
		}
	}
	return true
}
