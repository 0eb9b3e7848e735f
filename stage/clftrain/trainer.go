package clftrain

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/metrics"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// Config holds the hyperparameters of classifier fine-tuning.
type Config struct {
	Phases   []Phase  // from Mode.Plan
	Schedule Schedule // STLR / one-cycle constants
	BS       int      // training batch size (paper 64)
	ValidBS  int      // validation batch size (0: BS)
	// Beta1 is Adam's beta1 (paper 0.7); one-cycle phases cycle it through
	// Schedule.Moms when the optimizer supports SetBeta1.
	Beta1 float64
	Clip  float64 // global gradient-norm clip; 0: none
	Seed  uint64
	// EarlyStop ends training after this many epochs of the last phase
	// without a better validation error (0: never).
	EarlyStop int
	// LogEvery writes a "step" record every this many steps (default 20).
	LogEvery int
	// CheckpointEvery writes a checkpoint this often (0: epoch ends only).
	CheckpointEvery time.Duration
	// CheckpointSteps also writes one after every global step that is a
	// multiple of it (0: off): the same checkpoints on every run.
	CheckpointSteps int
}

// EpochResult summarizes one finished epoch.
type EpochResult struct {
	Epoch      int       `json:"epoch"` // 1-based
	Phase      string    `json:"phase"`
	LR         []float64 `json:"lr"` // peak LR per group in this phase
	TrainLoss  float64   `json:"train_loss"`
	TrainError float64   `json:"train_error"` // on the training batches, with dropout
	// Validation (absent without a validation set). For multi-label data
	// ValidError is 1 - micro-F1.
	ValidLoss  *float64 `json:"valid_loss,omitempty"`
	ValidError *float64 `json:"valid_error,omitempty"`
	Tokens     int64    `json:"tokens"`
	// Seconds is wall time; it is left out of JSON so that artifacts are
	// byte-identical for the same seed and inputs (the JSONL log has it).
	Seconds float64 `json:"-"`
}

// Result is what Run returns.
type Result struct {
	Epochs         []EpochResult `json:"epochs"`
	BestEpoch      int           `json:"best_epoch"` // 1-based; the last epoch without validation
	BestValidError *float64      `json:"best_valid_error,omitempty"`
	Steps          int64         `json:"steps"`
	StoppedEarly   bool          `json:"stopped_early"`
	// Timing, left out of JSON (see EpochResult.Seconds).
	Seconds      float64 `json:"-"`
	TokensPerSec float64 `json:"-"`
}

// Trainer runs classifier fine-tuning through the phases of a mode: per
// batch forward (BPT3C in the model), backward, clipping and an optimizer
// step with the phase's scheduled per-group LRs; validation after every
// epoch; the best epoch's weights are kept; checkpoints at epoch ends,
// periodically and on cancellation, with byte-identical resume.
type Trainer struct {
	Cfg   Config
	Model *nn.Classifier
	Opt   train.Optimizer
	Train []Example
	Valid []Example // empty: no validation, the last epoch is kept
	State train.TrainState
	// Progress and Metrics may be nil.
	Progress *train.Progress
	Metrics  *train.MetricsWriter
	// Template is the artifact written at checkpoints: its Lineage, Config,
	// Vocab, Tokenizer, LabelNames and Direction are kept; Tensors,
	// OptState, TrainState and Metrics are filled in.
	Template       artifacts.Model
	CheckpointPath string // "" disables checkpoints
	// OnStep, if set, is called after every optimizer step.
	OnStep func(st *train.TrainState)

	ckpt    *train.Checkpointer
	best    [][]float32 // params then buffers of the best epoch
	history []EpochResult
	acc     epochAcc
}

// epochAcc accumulates the training statistics of the epoch in progress
// (saved in checkpoints so a resumed epoch reports the same numbers).
type epochAcc struct {
	LossSum float64 `json:"loss_sum"`
	N       int     `json:"n"`     // batches
	Wrong   float64 `json:"wrong"` // misclassified documents (multi-label: wrong labels / classes)
	Docs    int     `json:"docs"`
	Tokens  int64   `json:"tokens"`
	Seconds float64 `json:"seconds"`
}

type extraState struct {
	Acc     epochAcc      `json:"acc"`
	History []EpochResult `json:"history"`
}

// beta1Setter is implemented by optimizers whose beta1 can change between
// steps (one-cycle momentum).
type beta1Setter interface{ SetBeta1(b float64) }

func (t *Trainer) totalEpochs() int {
	n := 0
	for _, p := range t.Cfg.Phases {
		n += p.Epochs
	}
	return n
}

// phaseOf returns the phase of a global epoch and the epoch's index in it.
func (t *Trainer) phaseOf(epoch int) (int, int) {
	for i, p := range t.Cfg.Phases {
		if epoch < p.Epochs {
			return i, epoch
		}
		epoch -= p.Epochs
	}
	return len(t.Cfg.Phases) - 1, epoch
}

// order returns the training batches of a global epoch: SortishOrder with
// the epoch's shuffle stream, without batches of fewer than two documents
// (BatchNorm needs two).
func (t *Trainer) order(epoch int) [][]int {
	bs := SortishOrder(Lens(t.Train), t.Cfg.BS, train.NewRNG(t.Cfg.Seed, train.StreamShuffle, uint64(epoch)))
	return slices.DeleteFunc(bs, func(b []int) bool { return len(b) < 2 })
}

func (t *Trainer) applyFreeze(ph Phase) {
	for _, p := range t.Model.Params() {
		if p.Group < len(ph.Train) {
			p.Frozen = !ph.Train[p.Group]
		}
	}
}

// ResumeFrom prepares the trainer to continue the checkpoint m (read from
// path). The model and optimizer must be built with its config.
func (t *Trainer) ResumeFrom(m *artifacts.Model, path string) error {
	st, err := train.ResumeState(m, path, "")
	if err != nil {
		return err
	}
	if st.Stage != "clftune" {
		return &artifacts.Error{Path: path, Field: artifacts.MetaTrainState, Err: artifacts.ErrWrongKind,
			Msg: fmt.Sprintf("a %q checkpoint, not a classifier one", st.Stage)}
	}
	all := t.allTensors()
	best, err := train.ResumeWeights(m, path, all, t.Opt, st.Step, isBestTensor)
	if err != nil {
		return err
	}
	if len(best) > 0 {
		t.best = make([][]float32, len(all))
		byName := map[string][]float32{}
		for _, b := range best {
			byName[strings.TrimPrefix(b.Name, bestPrefix)] = b.Data
		}
		for i, p := range all {
			d, ok := byName[p.Name]
			if !ok || len(d) != len(p.Data) {
				return &artifacts.Error{Path: path, Field: "opt tensor best/" + p.Name, Err: artifacts.ErrCorrupt, Msg: "missing or wrong size"}
			}
			t.best[i] = slices.Clone(d)
		}
	}
	var ex extraState
	if len(st.Extra) > 0 {
		if err := json.Unmarshal(st.Extra, &ex); err != nil {
			return &artifacts.Error{Path: path, Field: artifacts.MetaTrainState, Err: artifacts.ErrCorrupt, Msg: "extra: " + err.Error()}
		}
	}
	t.acc, t.history = ex.Acc, ex.History
	t.State = *st
	return nil
}

// Run trains through all phases (or until early stopping), then loads the
// best epoch's weights into the model. A non-finite loss returns an error
// wrapping train.ErrNonFinite; cancellation writes a checkpoint and returns
// an error wrapping ctx.Err().
func (t *Trainer) Run(ctx context.Context) (*Result, error) {
	cfg := &t.Cfg
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 20
	}
	if cfg.BS < 2 {
		return nil, fmt.Errorf("batch size %d: want >= 2 (BatchNorm)", cfg.BS)
	}
	if len(cfg.Phases) == 0 {
		return nil, fmt.Errorf("no training phases")
	}
	if len(t.Train) < 2 {
		return nil, fmt.Errorf("%d training documents: want at least 2", len(t.Train))
	}
	st := &t.State
	st.Stage, st.Seed, st.Epochs = "clftune", cfg.Seed, t.totalEpochs()
	t.ckpt = &train.Checkpointer{Path: t.CheckpointPath, Artifact: t.Artifact, State: st, Progress: t.Progress, Metrics: t.Metrics,
		Ticker: train.NewTicker(cfg.CheckpointEvery), Steps: cfg.CheckpointSteps}
	nc := t.Model.Cfg.NClasses
	multi := t.Model.Cfg.MultiLabel
	bt := &Batcher{Data: t.Train, PadID: t.Model.Cfg.Encoder.PadID, NClasses: nc, MultiLabel: multi}
	groups := t.Model.NumGroups()
	lrs := make([]float64, groups)
	setB1, canB1 := t.Opt.(beta1Setter)
	all := t.allTensors()
	res := &Result{}
	start := time.Now()
	var trainDur time.Duration
	var tokensTrained int64

	for st.Epoch < t.totalEpochs() {
		epoch := st.Epoch
		pi, pe := t.phaseOf(epoch)
		ph := cfg.Phases[pi]
		if len(ph.Train) != groups || len(ph.LR) != groups {
			return nil, fmt.Errorf("phase %q has %d/%d group entries, the model has %d groups", ph.Name, len(ph.Train), len(ph.LR), groups)
		}
		t.applyFreeze(ph)
		st.Phase = ph.Name
		batches := t.order(epoch)
		// Schedule length: the phase's epochs have about the same number of
		// batches; count them exactly so the schedule ends where it should.
		phaseSteps, before := 0, 0
		for e := epoch - pe; e < epoch-pe+ph.Epochs; e++ {
			n := len(t.order(e))
			if e < epoch {
				before += n
			}
			phaseSteps += n
		}
		label := fmt.Sprintf("epoch %d/%d [%s]", epoch+1, t.totalEpochs(), ph.Name)
		t.Progress.Start(label)
		resumedBatches := int64(st.DataPos)
		var epochTokens int64 // this process's, for tokens/s (t.acc carries a resumed epoch's)
		epochStart := time.Now()
		logTime, logTokens := time.Now(), int64(0)
		probs := make([]float32, 0)
		for st.DataPos < len(batches) {
			idx := batches[st.DataPos]
			mult, b1 := cfg.Schedule.Mult(ph.Sched, before+st.DataPos, phaseSteps, cfg.Beta1)
			st.SchedulePos = float64(before+st.DataPos) / float64(phaseSteps)
			for g := range lrs {
				lrs[g] = ph.LR[g] * mult
			}
			if canB1 {
				setB1.SetBeta1(b1)
			}
			b := bt.Make(idx)
			y := &nn.ClassTargets{Labels: b.Labels, Multi: b.Targets}
			stepStart := time.Now()
			t.Model.ZeroGrad()
			loss, err := t.Model.Forward(b.Tokens, b.B, b.T, y, true,
				train.NewRNG(cfg.Seed, train.StreamDropout, uint64(epoch), uint64(st.StepInEpoch)))
			if err != nil {
				return nil, err
			}
			if err := train.CheckFinite(loss, epoch, st.Step+1); err != nil {
				return nil, t.ckpt.Diverged(err)
			}
			probs = slices.Grow(probs[:0], b.B*nc)[:b.B*nc]
			t.Model.Probs(probs)
			if err := train.Step(t.Model, t.Opt, cfg.Clip, lrs, epoch, st.Step+1); err != nil {
				if train.IsNonFinite(err) {
					return nil, t.ckpt.Diverged(err)
				}
				return nil, err
			}
			// The loss can stay finite while a weight or a BatchNorm running
			// statistic is not (a huge LR sends running_var to +Inf): such a
			// model must be neither checkpointed nor written. Checked every
			// step, so that the step reported is the same on every run and
			// on resume.
			if err := t.ckpt.CheckFinite(train.Tensors(all), nil, epoch, st.Step+1); err != nil {
				return nil, err
			}
			dur := time.Since(stepStart)
			trainDur += dur
			var toks int64
			for _, l := range b.Lens {
				toks += int64(l)
			}
			tokensTrained += toks
			epochTokens += toks
			logTokens += toks
			st.Tokens += toks
			st.Step++
			st.StepInEpoch++
			st.DataPos++
			t.acc.LossSum += loss
			t.acc.N++
			t.acc.Wrong += wrongCount(probs, b, nc, multi)
			t.acc.Docs += b.B
			t.acc.Tokens += toks
			t.acc.Seconds += dur.Seconds()
			sm := st.Smooth(loss)
			t.Progress.Update(train.Stat{Done: int64(st.DataPos), Total: int64(len(batches)), Resumed: resumedBatches,
				Loss: sm, LR: lrs[groups-1], Tokens: epochTokens,
				Extra: []train.Metric{{Name: "err", Value: t.acc.Wrong / float64(t.acc.Docs)}}})
			if st.StepInEpoch%cfg.LogEvery == 0 {
				el := time.Since(logTime).Seconds()
				t.Metrics.Write(train.Record{Type: "step", Step: st.Step, Epoch: epoch + 1, Loss: train.Ptr(sm),
					LR: train.Floats(lrs), TokensPerSec: train.Float(float64(logTokens) / el), Tokens: st.Tokens})
				logTime, logTokens = time.Now(), 0
			}
			if t.OnStep != nil {
				t.OnStep(st)
			}
			if err := t.ckpt.AfterStep(ctx); err != nil {
				return nil, err
			}
		}
		t.Progress.Done()

		er := EpochResult{Epoch: epoch + 1, Phase: ph.Name, LR: slices.Clone(ph.LR), TrainLoss: math.NaN(), TrainError: math.NaN(),
			Seconds: time.Since(epochStart).Seconds(), Tokens: t.acc.Tokens}
		if t.acc.N > 0 {
			er.TrainLoss = t.acc.LossSum / float64(t.acc.N)
			er.TrainError = t.acc.Wrong / float64(t.acc.Docs)
		}
		stop := false
		if len(t.Valid) > 0 {
			// Validation is not interrupted: the epoch is finished first and a
			// cancellation is handled below, with a checkpoint.
			ev, err := Evaluate(context.WithoutCancel(ctx), t.Model, t.Valid, t.validBS())
			if err != nil {
				return nil, err
			}
			er.ValidLoss, er.ValidError = &ev.Loss, &ev.Error
			better := st.BestMetric == nil || ev.Error < *st.BestMetric
			if better {
				v := ev.Error
				st.BestMetric, st.BestEpoch, st.BadEpochs = &v, epoch+1, 0
				t.snapshot()
			} else if pi == len(cfg.Phases)-1 {
				st.BadEpochs++
				stop = cfg.EarlyStop > 0 && st.BadEpochs >= cfg.EarlyStop
			}
		}
		t.history = append(t.history, er)
		rec := train.Record{Type: "epoch", Step: st.Step, Epoch: epoch + 1, Loss: train.Ptr(er.TrainLoss), Tokens: st.Tokens,
			LR: train.Floats(ph.LR), TokensPerSec: train.Float(float64(t.acc.Tokens) / max(t.acc.Seconds, 1e-9)),
			Extra: map[string]any{"train_error": er.TrainError, "phase": ph.Name}}
		msg := fmt.Sprintf("epoch %d/%d [%s]: train loss %.4f error %.2f%%", epoch+1, t.totalEpochs(), ph.Name, er.TrainLoss, 100*er.TrainError)
		if er.ValidLoss != nil {
			rec.ValidLoss = train.Ptr(*er.ValidLoss)
			rec.Accuracy = train.Ptr(1 - *er.ValidError)
			rec.Extra["valid_error"] = *er.ValidError
			msg += fmt.Sprintf(", valid loss %.4f error %.2f%%", *er.ValidLoss, 100**er.ValidError)
			if st.BestEpoch == epoch+1 {
				msg += " (best)"
			}
		}
		t.Metrics.Write(rec)
		t.Progress.Printf("%s, %s", msg, train.FormatDuration(time.Duration(er.Seconds*float64(time.Second))))

		st.Epoch++
		st.StepInEpoch, st.DataPos = 0, 0
		t.acc = epochAcc{}
		if stop {
			res.StoppedEarly = true
			t.Progress.Printf("early stopping: no better validation error for %d epochs (best %.2f%% at epoch %d)", st.BadEpochs, 100**st.BestMetric, st.BestEpoch)
			break
		}
		if err := t.ckpt.AfterEpoch(ctx); err != nil {
			return nil, err
		}
	}
	nn.FreezeTo(t.Model.Params(), 0, groups)
	if t.best != nil {
		t.restoreBest()
	}
	if err := t.ckpt.CheckFinite(train.Tensors(all), nil, st.Epoch-1, st.Step); err != nil {
		return nil, err
	}
	st.Finished = true
	res.Epochs = t.history
	res.BestEpoch = st.BestEpoch
	if st.BestMetric == nil {
		res.BestEpoch = len(t.history)
	} else {
		v := *st.BestMetric
		res.BestValidError = &v
	}
	res.Steps = st.Step
	res.Seconds = time.Since(start).Seconds()
	if trainDur > 0 {
		res.TokensPerSec = float64(tokensTrained) / trainDur.Seconds()
	}
	return res, nil
}

func (t *Trainer) validBS() int {
	if t.Cfg.ValidBS > 0 {
		return t.Cfg.ValidBS
	}
	return t.Cfg.BS
}

// wrongCount counts misclassified rows of a batch (multi-label: the
// fraction of wrong labels per row, summed over rows).
func wrongCount(probs []float32, b *Batch, nc int, multi bool) float64 {
	var w float64
	for i := 0; i < b.B; i++ {
		p := probs[i*nc : (i+1)*nc]
		if multi {
			bad := 0
			for j, v := range p {
				if (v >= 0.5) != (b.Targets[i*nc+j] >= 0.5) {
					bad++
				}
			}
			w += float64(bad) / float64(nc)
		} else if b.Labels[i] >= 0 && metrics.Argmax(p) != int(b.Labels[i]) {
			w++
		}
	}
	return w
}

func (t *Trainer) allTensors() []*nn.Param {
	return append(slices.Clone(t.Model.Params()), t.Model.Buffers()...)
}

func (t *Trainer) snapshot() {
	all := t.allTensors()
	if t.best == nil {
		t.best = make([][]float32, len(all))
	}
	for i, p := range all {
		t.best[i] = append(t.best[i][:0], p.Data...)
	}
}

func (t *Trainer) restoreBest() {
	for i, p := range t.allTensors() {
		copy(p.Data, t.best[i])
	}
}

// bestPrefix starts the names of the best epoch's weights in a checkpoint's
// optimizer state ("best/<name>").
const bestPrefix = "best/"

func isBestTensor(name string) bool { return strings.HasPrefix(name, bestPrefix) }

// Artifact returns the classifier artifact of the current state: the
// template with the weights (params and BatchNorm buffers), the training
// state and, for checkpoints (withOpt), the optimizer moments and the best
// epoch's weights ("best/<name>").
func (t *Trainer) Artifact(withOpt bool, metrics []byte) (*artifacts.Model, error) {
	ex, err := json.Marshal(extraState{Acc: t.acc, History: t.history})
	if err != nil {
		return nil, err
	}
	t.State.Extra = ex
	m, err := train.NewArtifact(t.Template, artifacts.KindClassifier, t.allTensors(), &t.State, metrics)
	if err != nil {
		return nil, err
	}
	if withOpt {
		m.OptState = train.OptState(t.Opt)
		if t.best != nil {
			for i, p := range t.allTensors() {
				m.OptState = append(m.OptState, artifacts.Tensor{Name: bestPrefix + p.Name, Shape: slices.Clone(p.Shape), Data: t.best[i]})
			}
		}
	}
	return m, nil
}
