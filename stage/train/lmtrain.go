package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
)

// Optimizer is the update rule the training loops drive (*nn.Adam). Step
// updates every non-frozen param with lrs[g] for layer group g and
// increments the step count; State/SetState save and restore its moments
// for checkpoints.
type Optimizer interface {
	Step(lrs []float64) error
	Steps() int64
	State() []nn.Tensor
	SetState(ts []nn.Tensor, steps int64) error
}

// LMTrainConfig holds the hyperparameters of language-model training.
type LMTrainConfig struct {
	Stage  string // "pretrain" or "lmtune", recorded in the state
	Epochs int    // epochs with all groups trainable
	// FreezeEpochs first trains only the last layer group for this many
	// epochs, with its own schedule (fastai's gradual approach for LM
	// fine-tuning); 0 disables.
	FreezeEpochs int
	BS, BPTT     int
	// VarBPTT draws AWD-LSTM variable sequence lengths (SeqLen); otherwise
	// every window is BPTT long. ScaleLR multiplies the step's LR by
	// seqLen/BPTT (AWD-LSTM).
	VarBPTT, ScaleLR bool
	// LR is the peak learning rate of the last layer group; group g gets
	// LR / Discr^(last-g) (Discr 1: the same LR everywhere).
	LR, Discr float64
	// FreezeLR is the peak LR of the frozen phase (0: LR).
	FreezeLR float64
	Schedule nn.Schedule // LR multiplier over each phase; nil: constant
	// Momentum, if set, gives Adam's beta1 over each phase (fastai's
	// one-cycle momentum, e.g. nn.OneCycleMomentum(0.25, 0.8, 0.7)); the
	// optimizer must then have SetBeta1.
	Momentum nn.Schedule
	Clip     float64 // global gradient-norm clip; 0: none
	Seed     uint64
	Backward bool
	// ValidEvery runs validation every this many steps within an epoch in
	// addition to each epoch end (0: epoch ends only).
	ValidEvery int
	// LogEvery writes a "step" record every this many steps (default 50).
	LogEvery int
	// Patience stops training after this many epochs without a better
	// validation loss (0: never stop early).
	Patience int
	// CheckpointEvery writes a checkpoint this often (0: epoch ends only).
	CheckpointEvery time.Duration
	// CheckpointSteps also writes one after every global step that is a
	// multiple of it (0: off): the same checkpoints on every run.
	CheckpointSteps int
}

// LMTrainer runs language-model training: per window forward, backward,
// clipping and an optimizer step with scheduled discriminative LRs; the
// hidden state carries across windows and is reset each epoch; validation
// loss and perplexity each epoch; checkpoints at epoch ends, periodically
// and on cancellation; byte-identical resume.
type LMTrainer struct {
	Cfg      LMTrainConfig
	Model    *nn.LM
	Opt      Optimizer
	Train    *LMData
	Valid    *LMData // nil: no validation
	State    TrainState
	Progress *Progress
	Metrics  *MetricsWriter
	// Template is the artifact written at checkpoints and at the end: its
	// Lineage, Config, Vocab, Tokenizer and Direction are kept; Tensors,
	// OptState, TrainState and Metrics are filled in.
	Template artifacts.Model
	// CheckpointPath receives checkpoints ("" disables them).
	CheckpointPath string
	// OnStep, if set, is called after every optimizer step (tests use it to
	// cancel the context at a given step).
	OnStep func(st *TrainState)

	hiddenResume []artifacts.Tensor
	ckpt         *Checkpointer
}

// EpochResult summarizes one finished epoch.
type EpochResult struct {
	Epoch     int     `json:"epoch"` // 1-based
	TrainLoss float64 `json:"train_loss"`
	ValidLoss float64 `json:"valid_loss,omitempty"`
	ValidPPL  float64 `json:"valid_ppl,omitempty"`
	Seconds   float64 `json:"seconds"`
	Tokens    int64   `json:"tokens"`
}

// LMResult is what Run returns.
type LMResult struct {
	Epochs       []EpochResult `json:"epochs"`
	Steps        int64         `json:"steps"`
	Tokens       int64         `json:"tokens"`         // tokens trained in this process
	Seconds      float64       `json:"seconds"`        // wall time of this process's training
	TokensPerSec float64       `json:"tokens_per_sec"` // training throughput (validation excluded)
	ValidLoss    float64       `json:"valid_loss"`     // last validation, NaN if none
	ValidPPL     float64       `json:"valid_ppl"`
	BestValid    float64       `json:"best_valid_loss"`
	StoppedEarly bool          `json:"stopped_early"`
}

// groups returns the number of layer groups of the model.
func (t *LMTrainer) groups() int { return t.Model.NumGroups() }

// totalEpochs is FreezeEpochs + Epochs.
func (t *LMTrainer) totalEpochs() int { return t.Cfg.FreezeEpochs + t.Cfg.Epochs }

// phase returns, for a global epoch, whether it is frozen, the epoch's index
// within its phase and the phase length.
func (t *LMTrainer) phase(epoch int) (frozen bool, idx, n int) {
	if epoch < t.Cfg.FreezeEpochs {
		return true, epoch, t.Cfg.FreezeEpochs
	}
	return false, epoch - t.Cfg.FreezeEpochs, t.Cfg.Epochs
}

// ResumeFrom prepares the trainer to continue the checkpoint m (read from
// path): weights, optimizer moments, hidden state and training state. The
// model and optimizer must already be built with the checkpoint's config.
func (t *LMTrainer) ResumeFrom(m *artifacts.Model, path string) error {
	st, err := ResumeState(m, path, "raise --epochs and train a new run from it instead")
	if err != nil {
		return err
	}
	hidden, err := ResumeWeights(m, path, t.Model.Params(), t.Opt, st.Step, isHiddenTensor)
	if err != nil {
		return err
	}
	t.State = *st
	t.hiddenResume = hidden
	return nil
}

// applyFreeze freezes all groups but the last in a frozen epoch.
func (t *LMTrainer) applyFreeze(frozen bool) {
	n := 0
	if frozen {
		n = -1
	}
	nn.FreezeTo(t.Model.Params(), n, t.groups())
}

// Run trains until the planned epochs are done, early stopping triggers,
// the loss becomes non-finite (error wrapping ErrNonFinite, no checkpoint
// written, the last good one is kept) or ctx is cancelled (a checkpoint is
// written and the returned error wraps ctx.Err()).
func (t *LMTrainer) Run(ctx context.Context) (*LMResult, error) {
	cfg := &t.Cfg
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 50
	}
	if cfg.Discr <= 0 {
		cfg.Discr = 1
	}
	if cfg.BS <= 0 || cfg.BPTT <= 0 {
		return nil, fmt.Errorf("batch size %d and bptt %d must be positive", cfg.BS, cfg.BPTT)
	}
	st := &t.State
	if st.Stage == "" {
		st.Stage = cfg.Stage
	}
	st.Seed, st.Epochs = cfg.Seed, t.totalEpochs()
	t.Train.BS, t.Train.Seed, t.Train.Shuffle, t.Train.Backward = cfg.BS, cfg.Seed, true, cfg.Backward
	if err := t.Train.Check(); err != nil {
		return nil, err
	}
	t.ckpt = &Checkpointer{Path: t.CheckpointPath, Artifact: t.Artifact, State: st, Progress: t.Progress, Metrics: t.Metrics,
		Ticker: NewTicker(cfg.CheckpointEvery), Steps: cfg.CheckpointSteps}
	be := t.Model.Backend()
	res := &LMResult{ValidLoss: math.NaN(), ValidPPL: math.NaN(), BestValid: math.NaN()}
	if st.BestMetric != nil {
		res.BestValid = *st.BestMetric
	}
	maxSeq := cfg.BPTT + MaxExtraSeq
	x := make([]int32, cfg.BS*maxSeq)
	y := make([]int32, cfg.BS*maxSeq)
	var buf []int32
	start := time.Now()
	var trainDur time.Duration

	for st.Epoch < t.totalEpochs() {
		epoch := st.Epoch
		frozen, pidx, plen := t.phase(epoch)
		t.applyFreeze(frozen)
		peak := cfg.LR
		if frozen && cfg.FreezeLR > 0 {
			peak = cfg.FreezeLR
		}
		rows, err := t.Train.Epoch(epoch, buf)
		if err != nil {
			return nil, err
		}
		buf = rows.Stream
		if st.DataPos == 0 {
			t.Model.Enc.ResetState(be, cfg.BS)
		} else if err := RestoreHidden(be, t.Model.Enc, cfg.BS, t.hiddenResume, t.CheckpointPath); err != nil {
			return nil, err
		}
		t.hiddenResume = nil
		label := fmt.Sprintf("epoch %d/%d", epoch+1, t.totalEpochs())
		if frozen {
			label += " (last group only)"
		}
		t.Progress.Start(label)
		epochStart := time.Now()
		resumedSteps := int64(st.StepInEpoch)
		var epochTokens int64
		logTokens, logTime := int64(0), time.Now()

		for {
			seq := cfg.BPTT
			if cfg.VarBPTT {
				seq = SeqLen(NewRNG(cfg.Seed, StreamBPTT, uint64(epoch), uint64(st.StepInEpoch)), cfg.BPTT)
			}
			n := rows.Window(st.DataPos, seq, x, y)
			if n == 0 {
				break
			}
			pos := (float64(pidx) + float64(st.DataPos)/float64(rows.L-1)) / float64(plen)
			st.SchedulePos = pos
			mult := 1.0
			if cfg.Schedule != nil {
				mult = cfg.Schedule(pos)
			}
			lr := peak * mult
			if cfg.ScaleLR {
				lr *= float64(n) / float64(cfg.BPTT)
			}
			lrs := nn.GroupLRs(lr, cfg.Discr, t.groups())

			stepStart := time.Now()
			if cfg.Momentum != nil { // beta1 of this step's optimizer update
				if err := t.setBeta1(cfg.Momentum(pos)); err != nil {
					return nil, err
				}
			}
			t.Model.ZeroGrad()
			loss, err := t.Model.Forward(x[:cfg.BS*n], y[:cfg.BS*n], cfg.BS, n, true,
				NewRNG(cfg.Seed, StreamDropout, uint64(epoch), uint64(st.StepInEpoch)))
			if err != nil {
				return nil, err
			}
			if err := CheckFinite(loss.Total(), epoch, st.Step+1); err != nil {
				return nil, t.ckpt.Diverged(err)
			}
			if err := Step(t.Model, t.Opt, cfg.Clip, lrs, epoch, st.Step+1); err != nil {
				if IsNonFinite(err) {
					return nil, t.ckpt.Diverged(err)
				}
				return nil, err
			}
			trainDur += time.Since(stepStart)
			st.Step++
			st.StepInEpoch++
			st.DataPos += n
			toks := int64(cfg.BS * n)
			st.Tokens += toks
			res.Tokens += toks
			epochTokens += toks
			logTokens += toks
			st.EpochLossSum += loss.CE
			st.EpochLossSteps++
			sm := st.Smooth(loss.CE)
			// Steps left, estimated from the mean window length so far.
			left := int64(math.Ceil(float64(rows.L-1-st.DataPos) * float64(st.StepInEpoch) / float64(st.DataPos)))
			t.Progress.Update(Stat{Done: int64(st.StepInEpoch), Total: int64(st.StepInEpoch) + left, Resumed: resumedSteps,
				Loss: sm, PPL: true, LR: lrs[len(lrs)-1], Tokens: epochTokens})
			if st.StepInEpoch%cfg.LogEvery == 0 {
				el := time.Since(logTime).Seconds()
				t.Metrics.Write(Record{Type: "step", Step: st.Step, Epoch: epoch + 1, Loss: Ptr(sm), PPL: Ptr(math.Exp(sm)),
					LR: Floats(lrs), TokensPerSec: Float(float64(logTokens) / el), Tokens: st.Tokens, SeqLen: n})
				logTokens, logTime = 0, time.Now()
			}
			if t.OnStep != nil {
				t.OnStep(st)
			}
			if cfg.ValidEvery > 0 && st.StepInEpoch%cfg.ValidEvery == 0 && t.Valid != nil && st.DataPos < rows.L-1 {
				if _, err := t.validateMidEpoch(ctx, epoch); err != nil {
					return nil, err
				}
			}
			if err := t.ckpt.AfterStep(ctx); err != nil {
				return nil, err
			}
		}
		t.Progress.Done()
		er := EpochResult{Epoch: epoch + 1, Seconds: time.Since(epochStart).Seconds(), Tokens: epochTokens, TrainLoss: math.NaN()}
		if st.EpochLossSteps > 0 {
			er.TrainLoss = st.EpochLossSum / float64(st.EpochLossSteps)
		}
		stop := false
		if t.Valid != nil {
			vl, err := t.Evaluate(context.WithoutCancel(ctx), t.Valid, "valid")
			if err != nil {
				return nil, err
			}
			er.ValidLoss, er.ValidPPL = vl, math.Exp(vl)
			res.ValidLoss, res.ValidPPL = vl, math.Exp(vl)
			if st.BestMetric == nil || vl < *st.BestMetric {
				v := vl
				st.BestMetric, st.BestEpoch, st.BadEpochs = &v, epoch+1, 0
			} else {
				st.BadEpochs++
				stop = cfg.Patience > 0 && st.BadEpochs >= cfg.Patience
			}
			res.BestValid = *st.BestMetric
		}
		es := EpochSummary{Epoch: epoch + 1, TrainLoss: er.TrainLoss}
		if t.Valid != nil {
			vl, vp := er.ValidLoss, er.ValidPPL
			es.ValidLoss, es.ValidPPL = &vl, &vp
		}
		st.History = append(st.History, es)
		res.Epochs = append(res.Epochs, er)
		rec := Record{Type: "epoch", Step: st.Step, Epoch: epoch + 1, Loss: Ptr(er.TrainLoss), Tokens: st.Tokens,
			TokensPerSec: Float(float64(epochTokens) / er.Seconds)}
		if t.Valid != nil {
			rec.ValidLoss, rec.ValidPPL = Ptr(er.ValidLoss), Ptr(er.ValidPPL)
		}
		t.Metrics.Write(rec)
		msg := fmt.Sprintf("epoch %d/%d: train loss %.4f", epoch+1, t.totalEpochs(), er.TrainLoss)
		if t.Valid != nil {
			msg += fmt.Sprintf(", valid loss %.4f ppl %s", er.ValidLoss, FormatPPL(er.ValidLoss))
		}
		msg += fmt.Sprintf(", %.0f tok/s, %s", float64(epochTokens)/er.Seconds, FormatDuration(time.Duration(er.Seconds*float64(time.Second))))
		t.Progress.Printf("%s", msg)

		st.Epoch++
		st.StepInEpoch, st.DataPos = 0, 0
		st.EpochLossSum, st.EpochLossSteps = 0, 0
		if stop {
			res.StoppedEarly = true
			t.Progress.Printf("early stopping: no better validation loss for %d epochs (best %.4f at epoch %d)", st.BadEpochs, *st.BestMetric, st.BestEpoch)
			break
		}
		if err := t.ckpt.AfterEpoch(ctx); err != nil {
			return nil, err
		}
	}
	nn.FreezeTo(t.Model.Params(), 0, t.groups())
	st.Finished = true
	res.Steps = st.Step
	res.Seconds = time.Since(start).Seconds()
	if trainDur > 0 {
		res.TokensPerSec = float64(res.Tokens) / trainDur.Seconds()
	}
	return res, nil
}

// setBeta1 sets the optimizer's beta1 (momentum schedules).
func (t *LMTrainer) setBeta1(b float64) error {
	o, ok := t.Opt.(interface{ SetBeta1(float64) })
	if !ok {
		return errors.New("a momentum schedule needs an optimizer with SetBeta1")
	}
	o.SetBeta1(b)
	return nil
}

// validateMidEpoch evaluates without disturbing the training hidden state.
func (t *LMTrainer) validateMidEpoch(ctx context.Context, epoch int) (float64, error) {
	saved := HiddenTensors(t.Model.Enc)
	// Validation is not interrupted: a cancellation is handled (with a
	// checkpoint) at the next step boundary.
	endValid := t.Progress.Interlude("valid")
	vl, err := t.Evaluate(context.WithoutCancel(ctx), t.Valid, "valid")
	endValid()
	if err != nil {
		return 0, err
	}
	if err := RestoreHidden(t.Model.Backend(), t.Model.Enc, t.Cfg.BS, saved, ""); err != nil {
		return 0, err
	}
	t.Metrics.Write(Record{Type: "valid", Step: t.State.Step, Epoch: epoch + 1, ValidLoss: Ptr(vl), ValidPPL: Ptr(math.Exp(vl))})
	t.Progress.Printf("step %d: valid loss %.4f ppl %s", t.State.Step, vl, FormatPPL(vl))
	return vl, nil
}

// Evaluate returns the mean cross-entropy per token of the model over data
// (read in order with fixed BPTT windows, hidden state carried, no
// dropout). The batch size is Cfg.BS, halved as needed for a small corpus.
func (t *LMTrainer) Evaluate(ctx context.Context, data *LMData, label string) (float64, error) {
	return EvaluateLM(ctx, t.Model, data, t.Cfg.BS, t.Cfg.BPTT, t.Cfg.Backward, t.Progress, label)
}

// EvaluateLM returns the mean cross-entropy per token of lm over data (see
// LMTrainer.Evaluate). prog may be nil.
func EvaluateLM(ctx context.Context, lm *nn.LM, data *LMData, bs, bptt int, backward bool, prog *Progress, label string) (float64, error) {
	n := data.NTokens()
	for bs > 1 && n/int64(bs) < 2 {
		bs /= 2
	}
	d := &LMData{Docs: data.Docs, BS: bs, Backward: backward}
	rows, err := d.Epoch(0, nil)
	if err != nil {
		return 0, fmt.Errorf("validation data: %w", err)
	}
	be := lm.Backend()
	lm.Enc.ResetState(be, bs)
	x := make([]int32, bs*bptt)
	y := make([]int32, bs*bptt)
	var sum float64
	var cnt int64
	prog.Start(label)
	total := int64(rows.Steps(bptt))
	var step int64
	for pos := 0; ; {
		w := rows.Window(pos, bptt, x, y)
		if w == 0 {
			break
		}
		loss, err := lm.Forward(x[:bs*w], y[:bs*w], bs, w, false, nil)
		if err != nil {
			return 0, err
		}
		sum += loss.CE * float64(loss.Tokens)
		cnt += int64(loss.Tokens)
		pos += w
		step++
		prog.Update(Stat{Done: step, Total: total, Loss: sum / float64(cnt), PPL: true, Tokens: cnt})
		if err := ctx.Err(); err != nil {
			prog.Done()
			return 0, err
		}
	}
	prog.Done()
	if cnt == 0 {
		return 0, errors.New("validation data: no windows")
	}
	return sum / float64(cnt), nil
}

// Artifact returns the model artifact of the current state: the template
// with the weights, the training state and, for checkpoints (withOpt), the
// optimizer moments and the carried hidden state.
func (t *LMTrainer) Artifact(withOpt bool, metrics []byte) (*artifacts.Model, error) {
	m, err := NewArtifact(t.Template, artifacts.KindLM, t.Model.Params(), &t.State, metrics)
	if err != nil {
		return nil, err
	}
	if withOpt {
		m.OptState = append(OptState(t.Opt), HiddenTensors(t.Model.Enc)...)
	}
	return m, nil
}

// LRFind runs fastai's learning-rate range test on the training data: one
// optimizer step per window (fixed BPTT), the last group's LR growing
// exponentially from fc.Start to fc.End (the other groups divided by Discr as
// in training), until fc.Iters steps or divergence. It changes the model's
// weights and the optimizer state: use fresh copies for training.
func (t *LMTrainer) LRFind(ctx context.Context, fc LRFindConfig) (*LRFinder, error) {
	cfg := &t.Cfg
	if cfg.Discr <= 0 {
		cfg.Discr = 1
	}
	t.Train.BS, t.Train.Seed, t.Train.Shuffle, t.Train.Backward = cfg.BS, cfg.Seed, true, cfg.Backward
	f := NewLRFinder(fc)
	be := t.Model.Backend()
	x := make([]int32, cfg.BS*cfg.BPTT)
	y := make([]int32, cfg.BS*cfg.BPTT)
	nn.FreezeTo(t.Model.Params(), 0, t.groups())
	epoch, pos := 0, 0
	rows, err := t.Train.Epoch(epoch, nil)
	if err != nil {
		return nil, err
	}
	t.Model.Enc.ResetState(be, cfg.BS)
	sw := &Sweep{Finder: f, Model: t.Model, Opt: t.Opt, Clip: cfg.Clip, Progress: t.Progress, Metrics: t.Metrics, PPL: true,
		LRs: func(lr float64) []float64 { return nn.GroupLRs(lr, cfg.Discr, t.groups()) },
		Forward: func(i int) (float64, float64, error) {
			n := rows.Window(pos, cfg.BPTT, x, y)
			if n == 0 {
				epoch++
				if rows, err = t.Train.Epoch(epoch, rows.Stream); err != nil {
					return 0, 0, err
				}
				pos = 0
				t.Model.Enc.ResetState(be, cfg.BS)
				n = rows.Window(pos, cfg.BPTT, x, y)
			}
			pos += n
			loss, err := t.Model.Forward(x[:cfg.BS*n], y[:cfg.BS*n], cfg.BS, n, true, NewRNG(cfg.Seed, StreamLRFind, uint64(i)))
			return loss.CE, loss.Total(), err
		}}
	if err := sw.Run(ctx); err != nil {
		return nil, err
	}
	return f, nil
}
