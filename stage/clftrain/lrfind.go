package clftrain

import (
	"context"
	"fmt"

	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// LRFind runs fastai's learning-rate range test (train.Sweep) on the
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
	var batches [][]int
	epoch, pos := 0, 0
	sw := &train.Sweep{Finder: f, Model: t.Model, Opt: t.Opt, Clip: cfg.Clip, Progress: t.Progress, Metrics: t.Metrics, LogGroupLRs: true,
		LRs: func(lr float64) []float64 {
			for g := range lrs {
				lrs[g] = lr * ratio[g]
			}
			return lrs
		},
		Forward: func(i int) (float64, float64, error) {
			if pos == len(batches) {
				batches, pos = t.order(epoch), 0
				epoch++
			}
			b := bt.Make(batches[pos])
			pos++
			loss, err := t.Model.Forward(b.Tokens, b.B, b.T, &nn.ClassTargets{Labels: b.Labels, Multi: b.Targets}, true,
				train.NewRNG(cfg.Seed, train.StreamLRFind, uint64(i)))
			return loss, loss, err
		}}
	if err := sw.Run(ctx); err != nil {
		return nil, err
	}
	return f, nil
}
