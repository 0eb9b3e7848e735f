package clftrain

import (
	"context"
	"fmt"
	"math"

	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// LRFind runs fastai's learning-rate range test (nn/train.LRFinder) on the
// training data with the first phase's trainable groups (fastai runs
// lr_find on the frozen classifier): one optimizer step per batch, the last
// group's LR growing exponentially from fc.Start to fc.End and the other
// groups keeping the phase's ratios to it, until fc.Iters steps or
// divergence. It changes the weights and the optimizer state: train a fresh
// model afterwards.
func (t *Trainer) LRFind(ctx context.Context, fc train.LRFindConfig) (*train.LRFinder, error) {
	cfg := &t.Cfg
	if len(cfg.Phases) == 0 || cfg.BS < 2 || len(t.Train) < 2 {
		return nil, fmt.Errorf("lr find needs a phase, a batch size >= 2 and two training documents")
	}
	ph := cfg.Phases[0]
	groups := t.Model.NumGroups()
	if len(ph.LR) != groups || len(ph.Train) != groups {
		return nil, fmt.Errorf("phase %q has %d group entries, the model has %d groups", ph.Name, len(ph.LR), groups)
	}
	t.applyFreeze(ph)
	defer nn.FreezeTo(t.Model.Params(), 0, groups)
	ratio := make([]float64, groups)
	for g := range ratio {
		ratio[g] = ph.LR[g] / ph.LR[groups-1]
	}
	f := train.NewLRFinder(fc)
	bt := &Batcher{Data: t.Train, PadID: t.Model.Cfg.Encoder.PadID, NClasses: t.Model.Cfg.NClasses, MultiLabel: t.Model.Cfg.MultiLabel}
	lrs := make([]float64, groups)
	t.Progress.Start("lr find")
	defer t.Progress.Done()
	var batches [][]int
	epoch, pos := 0, 0
	for i := 0; ; i++ {
		if pos == len(batches) {
			batches, pos = t.order(epoch), 0
			epoch++
		}
		b := bt.Make(batches[pos])
		pos++
		lr := f.LR(i)
		for g := range lrs {
			lrs[g] = lr * ratio[g]
		}
		t.Model.ZeroGrad()
		loss, err := t.Model.Forward(b.Tokens, b.B, b.T, &nn.ClassTargets{Labels: b.Labels, Multi: b.Targets}, true,
			train.NewRNG(cfg.Seed, train.StreamLRFind, uint64(i)))
		if err != nil {
			return nil, err
		}
		stop := f.Record(lr, loss)
		sm := f.Losses[len(f.Losses)-1]
		t.Metrics.Write(train.Record{Type: "lr_find", Step: int64(i + 1), Loss: train.Ptr(loss), LR: train.Floats(lrs),
			Extra: map[string]any{"smoothed_loss": train.Float(sm)}})
		t.Progress.Update(train.Stat{Done: int64(i + 1), Total: int64(f.Cfg.Iters), Loss: sm, LR: lr})
		if stop || math.IsNaN(loss) || math.IsInf(loss, 0) {
			break
		}
		if err := t.Model.Backward(); err != nil {
			return nil, err
		}
		if cfg.Clip > 0 {
			nn.ClipGradNorm(t.Model.Backend(), t.Model.Params(), cfg.Clip)
		}
		// The range test raises the LR until training diverges, on purpose,
		// on a model and optimizer that are thrown away; its curve ends at
		// the loss, as it always did, so a non-finite state is no error here.
		if err := t.Opt.Step(lrs); err != nil && !train.IsNonFinite(err) {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return f, nil
}
