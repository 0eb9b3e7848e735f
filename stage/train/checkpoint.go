package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
)

// TrainStateVersion is the version of the TrainState JSON layout.
const TrainStateVersion = 1

// TrainState is the resume state stored as JSON in a checkpoint artifact
// (artifacts.Model.TrainState), next to the weights and the optimizer
// moments (Model.OptState). Random numbers are drawn from streams derived
// from (Seed, stream, epoch, step) (see NewRNG), so the generator "state" is
// just Seed, Epoch and StepInEpoch; a resumed run re-derives the same
// streams and, together with the saved weights, moments and hidden state,
// continues bit for bit as if it had never stopped.
type TrainState struct {
	Version int    `json:"version"`
	Stage   string `json:"stage"`  // e.g. "pretrain", "lmtune", "clftune"
	Seed    uint64 `json:"seed"`   // run seed
	RNG     string `json:"rng"`    // how streams are derived (documentation)
	Epochs  int    `json:"epochs"` // planned epochs
	// Epoch is the 0-based epoch in progress (== Epochs when finished).
	Epoch int `json:"epoch"`
	// StepInEpoch counts the optimizer steps taken in Epoch.
	StepInEpoch int `json:"step_in_epoch"`
	// Step is the global optimizer step (Adam's t).
	Step int64 `json:"step"`
	// DataPos is the token position within the rows of the current epoch
	// (language models) or the batch index (classifiers).
	DataPos int `json:"data_pos"`
	// SchedulePos is the position in the LR schedule, in [0,1].
	SchedulePos float64 `json:"schedule_pos"`
	// Tokens trained so far (all epochs).
	Tokens int64 `json:"tokens"`
	// SmoothLoss and SmoothCount are the state of the smoothed training loss.
	SmoothLoss  float64 `json:"smooth_loss"`
	SmoothCount int     `json:"smooth_count"`
	// Best validation metric so far (lower is better for losses) and the
	// epoch it was reached in; BadEpochs counts epochs without improvement
	// (early stopping).
	BestMetric *float64 `json:"best_metric,omitempty"`
	BestEpoch  int      `json:"best_epoch,omitempty"`
	BadEpochs  int      `json:"bad_epochs,omitempty"`
	// EpochLossSum and EpochLossSteps accumulate the training loss of the
	// epoch in progress; History lists the finished epochs.
	EpochLossSum   float64        `json:"epoch_loss_sum"`
	EpochLossSteps int            `json:"epoch_loss_steps"`
	History        []EpochSummary `json:"history,omitempty"`
	// Phase names a stage-specific phase (e.g. gradual unfreezing).
	Phase string `json:"phase,omitempty"`
	// Finished is true in the final artifact of a completed run.
	Finished bool `json:"finished"`
	// Extra holds stage-specific state.
	Extra json.RawMessage `json:"extra,omitempty"`
}

// EpochSummary is the deterministic record of one finished epoch (no
// timings, so that artifacts are reproducible byte for byte).
type EpochSummary struct {
	Epoch     int      `json:"epoch"` // 1-based
	TrainLoss float64  `json:"train_loss"`
	ValidLoss *float64 `json:"valid_loss,omitempty"`
	ValidPPL  *float64 `json:"valid_ppl,omitempty"`
}

// RNGScheme describes the random stream derivation, stored in TrainState.RNG.
const RNGScheme = "pcg(splitmix(seed,stream,epoch,step))"

// Marshal encodes the state as JSON.
func (s *TrainState) Marshal() (json.RawMessage, error) {
	s.Version = TrainStateVersion
	if s.RNG == "" {
		s.RNG = RNGScheme
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("train state: %w", err)
	}
	return b, nil
}

// ParseTrainState decodes a state written by Marshal.
func ParseTrainState(raw json.RawMessage) (*TrainState, error) {
	if len(raw) == 0 {
		return nil, errors.New("no training state (not a checkpoint: it was not written by a training run)")
	}
	var s TrainState
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("training state: %w", err)
	}
	if s.Version != TrainStateVersion {
		return nil, fmt.Errorf("training state version %d, this binary reads version %d", s.Version, TrainStateVersion)
	}
	return &s, nil
}

// Smooth updates the bias-corrected exponential moving average of the loss
// (beta 0.98, as fastai's SmoothLoss) and returns its value.
func (s *TrainState) Smooth(loss float64) float64 {
	const beta = 0.98
	s.SmoothLoss = beta*s.SmoothLoss + (1-beta)*loss
	s.SmoothCount++
	return s.SmoothLoss / (1 - math.Pow(beta, float64(s.SmoothCount)))
}

// ErrNonFinite is wrapped by the error returned when training diverges: the
// loss, a gradient, a weight or an optimizer moment becomes NaN or infinite.
// It is nn.ErrNonFinite; the artifact writers wrap artifacts.ErrNonFinite
// when they refuse such a tensor, and IsNonFinite matches either.
var ErrNonFinite = nn.ErrNonFinite

// IsNonFinite reports whether err is about a NaN or ±Inf: a diverged step
// (nn.ErrNonFinite) or a tensor an artifact writer refused
// (artifacts.ErrNonFinite).
func IsNonFinite(err error) bool {
	return errors.Is(err, nn.ErrNonFinite) || errors.Is(err, artifacts.ErrNonFinite)
}

// OptState returns the optimizer's state as artifact tensors, for a
// checkpoint.
func OptState(opt Optimizer) []artifacts.Tensor {
	st := opt.State()
	out := make([]artifacts.Tensor, len(st))
	for i, t := range st {
		out[i] = artifacts.Tensor{Name: t.Name, Shape: t.Shape, Data: t.Data}
	}
	return out
}

// RestoreOptState restores the optimizer from the checkpoint tensors ts
// (read from path) at global step steps. State that does not fit the model
// is an *artifacts.Error wrapping artifacts.ErrCorrupt that names the
// tensor.
func RestoreOptState(opt Optimizer, ts []artifacts.Tensor, steps int64, path string) error {
	in := make([]nn.Tensor, len(ts))
	for i, t := range ts {
		in[i] = nn.Tensor{Name: t.Name, Shape: t.Shape, Data: t.Data}
	}
	err := opt.SetState(in, steps)
	if se, ok := err.(*nn.StateError); ok {
		return &artifacts.Error{Path: path, Field: "optimizer tensor " + se.Tensor, Err: artifacts.ErrCorrupt, Msg: se.Msg}
	}
	return err
}

// CheckFinite returns an error naming the epoch (1-based in the message) and
// step if loss is NaN or ±Inf.
func CheckFinite(loss float64, epoch int, step int64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return Diverged(fmt.Errorf("loss is %w (%v)", ErrNonFinite, loss), epoch, step)
	}
	return nil
}

// Diverged adds to err (which names what is not finite) where training
// stopped: epoch (0-based, 1-based in the message) and the global step, and
// what to do.
func Diverged(err error, epoch int, step int64) error {
	return fmt.Errorf("%w at epoch %d, step %d: training diverged (lower --lr or --clip)", err, epoch+1, step)
}

// Ticker says when a periodic checkpoint is due.
type Ticker struct {
	Every time.Duration // 0 disables
	Now   func() time.Time
	last  time.Time
}

// NewTicker returns a ticker that is first due Every after now.
func NewTicker(every time.Duration) *Ticker {
	t := &Ticker{Every: every, Now: time.Now}
	t.last = t.Now()
	return t
}

// Due reports whether Every has passed since the last Reset (or creation).
func (t *Ticker) Due() bool {
	return t != nil && t.Every > 0 && t.Now().Sub(t.last) >= t.Every
}

// Reset restarts the interval (call after writing a checkpoint).
func (t *Ticker) Reset() {
	if t != nil {
		t.last = t.Now()
	}
}

// Checkpointer is the checkpoint path the LM and classifier trainers share:
// when a checkpoint is due, writing one (never a non-finite one: the last
// good checkpoint stays in place), and what a divergence or an interruption
// reports.
type Checkpointer struct {
	Path string // "" disables checkpoints
	// Artifact returns the trainer's artifact of its current state; with
	// withOpt the checkpoint, optimizer state and resume tensors included.
	Artifact func(withOpt bool, metrics []byte) (*artifacts.Model, error)
	// State is the trainer's: its epoch and step name the checkpoints and
	// the errors, Epochs bounds the epoch a divergence names.
	State *TrainState
	// Progress and Metrics may be nil.
	Progress *Progress
	Metrics  *MetricsWriter
	Ticker   *Ticker // periodic checkpoints (nil: none)
	// Steps also asks for one after every global step that is a multiple
	// of it (0: off): the same checkpoints on every run.
	Steps int
}

// Due reports whether a checkpoint is due after the step just taken.
func (c *Checkpointer) Due() bool {
	return c.Ticker.Due() || (c.Steps > 0 && c.State.Step%int64(c.Steps) == 0)
}

// Write writes the checkpoint of the current state to Path (nothing without
// a path), resets the ticker and logs a "checkpoint" record. A non-finite
// value in it is a divergence (CheckFinite): the step checks catch one in
// the weights and moments, this one everything else a checkpoint holds
// (the LM's carried hidden state, the classifier's BatchNorm statistics),
// and the last good checkpoint is kept.
func (c *Checkpointer) Write() error {
	if c.Path == "" {
		return nil
	}
	m, err := c.Artifact(true, nil)
	if err != nil {
		return err
	}
	if err := c.CheckFinite(m.Tensors, m.OptState, c.State.Epoch, c.State.Step); err != nil {
		return err
	}
	if err := artifacts.WriteModel(c.Path, m); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	c.Ticker.Reset()
	c.Metrics.Write(Record{Type: "checkpoint", Step: c.State.Step, Epoch: c.State.Epoch + 1})
	return c.Metrics.Flush()
}

// CheckFinite fails when a tensor in ts or opt holds a NaN or ±Inf, with
// the divergence error (Diverged at epoch, 0-based and kept within the
// planned epochs, and step; then Diverged of the Checkpointer).
func (c *Checkpointer) CheckFinite(ts, opt []artifacts.Tensor, epoch int, step int64) error {
	err := artifacts.CheckFinite(ts, opt)
	if err == nil {
		return nil
	}
	epoch = max(0, min(epoch, c.State.Epochs-1))
	return c.Diverged(Diverged(err, epoch, step))
}

// Diverged ends the progress display and adds to a non-finite error what is
// left to continue from: the last good checkpoint (never overwritten by a
// non-finite state), or that there is none.
func (c *Checkpointer) Diverged(err error) error {
	c.Progress.Done()
	if c.Path != "" {
		if _, serr := os.Stat(c.Path); serr == nil {
			return fmt.Errorf("%w; the last good checkpoint, %s, is kept (--resume continues from it)", err, c.Path)
		}
	}
	return fmt.Errorf("%w; no checkpoint had been written yet", err)
}

// Interrupted writes a checkpoint and returns an error wrapping cause that
// says where training stopped and where the checkpoint is.
func (c *Checkpointer) Interrupted(cause error) error {
	st := c.State
	if c.Path == "" {
		return fmt.Errorf("interrupted at epoch %d, step %d (no checkpoint path): %w", st.Epoch+1, st.Step, cause)
	}
	if err := c.Write(); err != nil {
		if IsNonFinite(err) {
			return err
		}
		return fmt.Errorf("interrupted, and writing the checkpoint failed: %v: %w", err, cause)
	}
	c.Progress.Printf("interrupted at epoch %d, step %d: checkpoint written to %s (continue with --resume)", st.Epoch+1, st.Step, c.Path)
	return fmt.Errorf("interrupted at epoch %d, step %d, checkpoint %s: %w", st.Epoch+1, st.Step, c.Path, cause)
}

// AfterStep is what follows every optimizer step: when ctx is cancelled a
// checkpoint and the error of Interrupted, else a checkpoint if one is due.
func (c *Checkpointer) AfterStep(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		c.Progress.Done()
		return c.Interrupted(err)
	}
	if c.Due() {
		return c.Write()
	}
	return nil
}

// AfterEpoch is what follows every epoch but one that stops training early:
// a checkpoint unless it was the last planned epoch (State.Epoch already
// counts it), then, when ctx is cancelled, the error of Interrupted.
func (c *Checkpointer) AfterEpoch(ctx context.Context) error {
	if c.State.Epoch < c.State.Epochs {
		if err := c.Write(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return c.Interrupted(err)
	}
	return nil
}

// NewArtifact returns the artifact of a trainer's state: tmpl (its lineage,
// config, vocabulary, tokenizer, label names and direction) as kind, with
// the tensors of ps (weights and buffers, sharing their data, so write it
// before the next step), the training state st, metrics if non-nil, and no
// optimizer state: a checkpoint sets OptState (the optimizer's, OptState,
// then the trainer's own resume tensors).
func NewArtifact(tmpl artifacts.Model, kind artifacts.Kind, ps []*nn.Param, st *TrainState, metrics []byte) (*artifacts.Model, error) {
	m := tmpl
	m.Kind = kind
	m.Tensors = Tensors(ps)
	m.OptState = nil
	raw, err := st.Marshal()
	if err != nil {
		return nil, err
	}
	m.TrainState = raw
	if metrics != nil {
		m.Metrics = metrics
	}
	return &m, nil
}

// ResumeState decodes the training state of the checkpoint m (read from
// path), the first step of resuming it; a finished run is refused, with
// hint (if not "") saying what to do instead. Errors are *artifacts.Error.
func ResumeState(m *artifacts.Model, path, hint string) (*TrainState, error) {
	st, err := ParseTrainState(m.TrainState)
	if err != nil {
		return nil, &artifacts.Error{Path: path, Field: artifacts.MetaTrainState, Err: artifacts.ErrCorrupt, Msg: err.Error()}
	}
	if st.Finished {
		msg := "this run already finished; nothing to resume"
		if hint != "" {
			msg += " (" + hint + ")"
		}
		return nil, &artifacts.Error{Path: path, Field: artifacts.MetaTrainState, Err: artifacts.ErrCorrupt, Msg: msg}
	}
	return st, nil
}

// ResumeWeights loads the weights of the checkpoint m (read from path) into
// ps and restores opt, at global step step, from its optimizer tensors. The
// optimizer tensors for which own is true are not the optimizer's but the
// trainer's (the LM's carried hidden state, the classifier's best epoch):
// they are returned, in order and names unchanged.
func ResumeWeights(m *artifacts.Model, path string, ps []*nn.Param, opt Optimizer, step int64, own func(name string) bool) ([]artifacts.Tensor, error) {
	if err := LoadTensors(ps, m.Tensors, path, false); err != nil {
		return nil, err
	}
	var optTs, owned []artifacts.Tensor
	for _, ts := range m.OptState {
		if own(ts.Name) {
			owned = append(owned, ts)
		} else {
			optTs = append(optTs, ts)
		}
	}
	if err := RestoreOptState(opt, optTs, step, path); err != nil {
		return nil, err
	}
	return owned, nil
}
