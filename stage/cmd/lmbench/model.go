package main

import (
	"fmt"
	"math"
	"time"

	"github.com/ulmfit-go/ulmfit/nn"
)

// Training hyperparameters of a timed step: the paper's (all AWD-LSTM
// dropouts, AR 2, TAR 1, Adam betas 0.7/0.99) with fastai's eps 1e-5, weight
// decay 0.01 (decoupled) and gradient clipping 0.1, as the PyTorch reference.
const (
	lr       = 1e-3
	beta1    = 0.7
	beta2    = 0.99
	adamEps  = 1e-5
	wd       = 0.01
	clipNorm = 0.1
	nPool    = 4 // distinct random token windows cycled through
)

// lmRunner times steps of one LM on one backend.
type lmRunner struct {
	cfg    benchConfig
	be     nn.Backend
	closer func()
	m      *nn.LM
	rng    *nn.RNG
	xs, ys [][]int32
	i      int
	opt    *nn.Adam
	lrs    []float64 // one per layer group
	step   int
	phases map[string]float64
}

// newRunner builds the model of c with random weights and random token
// windows (throughput does not depend on the data); bf16: the products on
// VDPBF16PS.
func newRunner(c benchConfig, threads int, seed uint64, bf16 bool) (*lmRunner, error) {
	be, closer, err := newBackend(threads, bf16)
	if err != nil {
		return nil, err
	}
	cfg := nn.DefaultLMConfig() // paper dropouts, AR/TAR, tied decoder with bias
	cfg.VocabSize, cfg.EmbSize, cfg.HiddenSize, cfg.Layers, cfg.Arch = c.Vocab, c.Emb, c.Hidden, c.Layers, c.Arch
	m, err := nn.NewLM(cfg, be)
	if err != nil {
		closer()
		return nil, err
	}
	m.Init(seed)
	r := &lmRunner{cfg: c, be: be, closer: closer, m: m, rng: nn.NewRNG(seed + 1), phases: map[string]float64{}}
	data := nn.NewRNG(seed + 2)
	n := c.Batch * c.BPTT
	for k := 0; k < nPool; k++ {
		x, y := make([]int32, n), make([]int32, n)
		for i := range x {
			x[i] = int32(2 + data.IntN(c.Vocab-2))
			y[i] = int32(2 + data.IntN(c.Vocab-2))
		}
		r.xs, r.ys = append(r.xs, x), append(r.ys, y)
	}
	if c.train() {
		r.opt = nn.NewAdam(be, m.Params(), beta1, beta2, adamEps, wd)
		r.lrs = make([]float64, m.NumGroups())
		for g := range r.lrs {
			r.lrs[g] = lr / math.Pow(2.6, float64(len(r.lrs)-1-g)) // discriminative LRs
		}
	}
	m.Reset()
	return r, nil
}

// Backend names the backend.
func (r *lmRunner) Backend() string { return r.be.Name() }

// Step runs one training step (ZeroGrad, Forward with dropouts, Backward,
// clip, AdamW) or one inference step (eval Forward with the loss), carrying
// the hidden state, and returns the loss.
func (r *lmRunner) Step() (float64, error) {
	c := r.cfg
	x, y := r.xs[r.i%nPool], r.ys[r.i%nPool]
	r.i++
	t0 := time.Now()
	if !c.train() {
		loss, err := r.m.Forward(x, y, c.Batch, c.BPTT, false, nil)
		r.phases["forward"] += time.Since(t0).Seconds()
		return loss.CE, err
	}
	r.m.ZeroGrad()
	loss, err := r.m.Forward(x, y, c.Batch, c.BPTT, true, r.rng)
	if err != nil {
		return 0, err
	}
	t1 := time.Now()
	if err := r.m.Backward(); err != nil {
		return 0, err
	}
	t2 := time.Now()
	nn.ClipGradNorm(r.be, r.m.Params(), clipNorm)
	r.step++
	if err := r.opt.Step(r.lrs); err != nil {
		return 0, err
	}
	t3 := time.Now()
	r.phases["forward"] += t1.Sub(t0).Seconds()
	r.phases["backward"] += t2.Sub(t1).Seconds()
	r.phases["clip+adam"] += t3.Sub(t2).Seconds()
	total := loss.Total()
	if math.IsNaN(total) || math.IsInf(total, 0) {
		return total, fmt.Errorf("loss is %g at step %d", total, r.step)
	}
	return total, nil
}

// ResetPhases zeroes the per-phase time totals (after warm-up).
func (r *lmRunner) ResetPhases() { clear(r.phases) }

// Phases returns the per-phase seconds since ResetPhases.
func (r *lmRunner) Phases() map[string]float64 { return r.phases }

// Close releases the backend's workers.
func (r *lmRunner) Close() { r.closer() }
