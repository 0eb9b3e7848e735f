package train

import (
	"context"
	"math"

	"github.com/ulmfit-go/ulmfit/nn"
)

// StepModel is what the training loops drive: *nn.LM and *nn.Classifier.
// Their forward passes differ (the loops call them); what follows is
// shared (Step, SweepStep).
type StepModel interface {
	Backend() nn.Backend
	Params() []*nn.Param
	ZeroGrad()
	Backward() error
}

// Step is the update of one training step after its forward pass, the one
// path of the LM and classifier trainers: the backward pass; the global
// gradient norm, checked to be finite before clipping (which would scale an
// infinite gradient to NaN and zeros), so that a diverging step stops
// before it reaches the optimizer state; clipping to clip (0: none); and
// the optimizer step with lrs[g] for layer group g.
//
// A divergence starts in the gradients and the optimizer state, often some
// steps before the loss shows it: both are checked every step, so the step
// reported is the same on every run and on resume, and no checkpoint can
// capture a non-finite state. A NaN or ±Inf in a gradient or in the
// optimizer's state or weights is returned as Diverged(err, epoch, step),
// which wraps ErrNonFinite (IsNonFinite); epoch is 0-based and step is the
// global step being taken. Other errors are returned as they are.
func Step(m StepModel, opt Optimizer, clip float64, lrs []float64, epoch int, step int64) error {
	if err := m.Backward(); err != nil {
		return err
	}
	if err := clipGrads(m, clip, true); err != nil {
		return Diverged(err, epoch, step)
	}
	if err := opt.Step(lrs); err != nil {
		if IsNonFinite(err) {
			return Diverged(err, epoch, step)
		}
		return err
	}
	return nil
}

// SweepStep is Step for the LR range test, which raises the LR until
// training diverges, on purpose, on a model and optimizer that are thrown
// away: the gradient norm is measured only to clip (clip > 0) and not
// checked, and the optimizer step is taken whatever the values; a
// non-finite state is no error (the sweep's curve ends at the loss).
func SweepStep(m StepModel, opt Optimizer, clip float64, lrs []float64) error {
	if err := m.Backward(); err != nil {
		return err
	}
	clipGrads(m, clip, false)
	if err := opt.Step(lrs); err != nil && !IsNonFinite(err) {
		return err
	}
	return nil
}

// clipGrads clips the gradients of m's non-frozen params to the global norm
// clip (<= 0: no clipping). With check it measures the norm whatever clip
// is and returns nn.CheckGradNorm's error, before clipping, when it is not
// finite; without, it measures only to clip.
func clipGrads(m StepModel, clip float64, check bool) error {
	if !check && clip <= 0 {
		return nil
	}
	be, ps := m.Backend(), m.Params()
	norm := nn.GradNorm(be, ps)
	if check {
		if err := nn.CheckGradNorm(ps, norm); err != nil {
			return err
		}
	}
	nn.ClipGradNormTo(be, ps, clip, norm)
	return nil
}

// Sweep is the loop of the LR range test that both trainers run
// (LMTrainer.LRFind and clftrain's Trainer.LRFind). Step i takes the LR
// Finder.LR(i) for the last layer group (LRs gives every group's), zeroes
// the gradients, runs Forward(i), records its loss and, unless the sweep is
// over (Finder.Record, or a non-finite objective), takes a SweepStep.
type Sweep struct {
	Finder *LRFinder
	Model  StepModel
	Opt    Optimizer
	Clip   float64 // global gradient-norm clip; 0: none
	// LRs returns the LRs of every layer group for the last group's lr.
	LRs func(lr float64) []float64
	// Forward runs step i's training forward pass (on the sweep's next
	// batch, dropout from NewRNG(seed, StreamLRFind, i)) and returns the
	// loss to record and the objective whose divergence ends the sweep (an
	// LM's cross-entropy and CE + AR + TAR).
	Forward func(i int) (loss, objective float64, err error)
	// Progress and Metrics may be nil. PPL shows the perplexity (LMs);
	// LogGroupLRs logs every group's LR in the "lr_find" records, not only
	// the last group's.
	Progress         *Progress
	Metrics          *MetricsWriter
	PPL, LogGroupLRs bool
}

// Run sweeps until the finder stops, the objective is not finite, an error,
// or ctx is cancelled (its error is returned).
func (s *Sweep) Run(ctx context.Context) error {
	f := s.Finder
	s.Progress.Start("lr find")
	defer s.Progress.Done()
	for i := 0; ; i++ {
		lr := f.LR(i)
		lrs := s.LRs(lr)
		s.Model.ZeroGrad()
		loss, obj, err := s.Forward(i)
		if err != nil {
			return err
		}
		stop := f.Record(lr, loss)
		sm := f.Losses[len(f.Losses)-1]
		logged := []float64{lr}
		if s.LogGroupLRs {
			logged = lrs
		}
		s.Metrics.Write(Record{Type: "lr_find", Step: int64(i + 1), Loss: Ptr(loss), LR: Floats(logged),
			Extra: map[string]any{"smoothed_loss": Float(sm)}})
		s.Progress.Update(Stat{Done: int64(i + 1), Total: int64(f.Cfg.Iters), Loss: sm, PPL: s.PPL, LR: lr})
		if stop || math.IsNaN(obj) || math.IsInf(obj, 0) {
			return nil
		}
		if err := SweepStep(s.Model, s.Opt, s.Clip, lrs); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
