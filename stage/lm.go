// Package stage is the stage layer: the command line of the training
// stages, whose binaries are thin mains over it. RunLM is the LM stages,
// `pretrain` (an AWD-LSTM LM from scratch) and `lmtune` (target-task LM
// fine-tuning): it maps flags and presets to a train.LMStage, runs it and
// prints the summary. RunClassifier (clf.go) is its twin for `clftune`.
// Both use one name per setting, the same Options and one lineage
// (lineage.go); the training itself lives in stage/train and
// stage/clftrain.
package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/memcheck"
	"github.com/ulmfit-go/ulmfit/stage/precision"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// Stage names.
const (
	Pretrain = "pretrain"
	LMTune   = "lmtune"
)

// Version is recorded in the artifacts' producer field.
const Version = "v0.1.0"

// defaults are the training hyperparameters of one stage and preset.
type defaults struct {
	bs, bptt, epochs int
	lr, discr        float64
	schedule         string
}

// presetDefaults returns the preset's training defaults for a stage. The
// model sizes and dropouts come from nn.Preset.
func presetDefaults(stage, preset string) defaults {
	d := defaults{bs: 64, bptt: 70, epochs: 10}
	switch preset {
	case "small":
		d.bs, d.epochs = 32, 5
	case "tiny":
		d.bs, d.bptt, d.epochs = 8, 16, 2
	}
	if stage == LMTune && preset == "small" {
		// On TREC-6, 5 epochs of LM fine-tuning gave no better classifier
		// than 2 (docs/results.md, "Classifier recipe").
		d.epochs = 2
	}
	if stage == Pretrain {
		d.lr, d.discr, d.schedule = 5e-3, 1, "one-cycle"
		if preset == "tiny" {
			d.lr = 3e-2
		}
	} else {
		d.lr, d.discr, d.schedule = 4e-3, 2.6, "stlr"
		if preset == "tiny" {
			d.lr = 1e-2
		}
	}
	return d
}

// Flags are the command-line settings of an LM stage.
type Flags struct {
	cli.Common
	stage string

	Emb, Hidden, Layers int
	BS, BPTT, Epochs    int
	FreezeEpochs        int
	LR, FreezeLR        float64
	Discr               float64
	NoDiscr             bool
	Schedule            string
	CutFrac, Ratio      float64
	PctStart, DivFactor float64
	FinalDiv            float64
	Moms                []float64
	NoVarBPTT           bool
	NoScaleLR           bool

	DropMult float64
	// --output-dropout, --hidden-dropout, --input-dropout, --embed-dropout,
	// --weight-dropout (-1: the preset's)
	OutputDropout, HiddenDropout, InputDropout, EmbedDropout, WeightDropout float64
	ARAlpha, TARBeta                                                        float64

	WD, Clip, Eps float64
	Betas         []float64

	From       string
	Valid      string
	ValidFrac  float64
	ValidEvery int
	Patience   int
	LogEvery   int

	Checkpoints checkpointFlags // --checkpoint-every, --checkpoint-steps, --checkpoint, --resume

	MaxMemory memcheck.Size // --max-memory: 0 = MemAvailable, < 0 = off

	LRFind      bool
	LRFindStart float64
	LRFindEnd   float64
	LRFindIters int
}

// register defines the flags on fs.
func (f *Flags) register(fs *pflag.FlagSet) {
	if f.stage == Pretrain {
		f.Common.Register(fs, "out", "preset", "arch", "seed", "threads", "precision", "backward", "log", "quiet", "force")
	} else {
		// lmtune's architecture is --from's.
		f.Common.Register(fs, "out", "preset", "seed", "threads", "precision", "backward", "log", "quiet", "force")
	}
	fs.Lookup("out").Usage = "output lm artifact `path` (required)"
	if f.stage == LMTune {
		fs.Lookup("preset").Usage = "training defaults (--bs, --epochs, --lr, dropouts): paper, small, tiny (tests), multifit; default: the preset of --from's sizes (small for models/lm-small-*.arrow), else paper"
		fs.Lookup("preset").DefValue = ""
		fs.StringVar(&f.From, "from", "", "the pretrained lm `artifact` to fine-tune (required; from pretrain or pretrain import)")
	}
	fs.StringVar(&f.Valid, "valid", "", "held-out tokens `artifact` for validation loss and perplexity (same vocab)")
	fs.Float64Var(&f.ValidFrac, "valid-frac", 0, "hold out this fraction of the training documents for validation (when --valid is not given)")
	if f.stage == Pretrain {
		fs.IntVar(&f.Emb, "emb", 0, "embedding size (preset: paper 400, small 200, tiny 16, multifit 400)")
		fs.IntVar(&f.Hidden, "hidden", 0, "hidden size of the recurrent layers (preset: paper 1150, small 512, tiny 24, multifit 1550)")
		fs.IntVar(&f.Layers, "layers", 0, "recurrent layers (preset: paper 3, small 3, tiny 2, multifit 4)")
	}
	fs.IntVar(&f.BS, "bs", 0, "batch size: rows of the token stream (preset: paper 64, small 32, tiny 8)")
	fs.Var(&f.MaxMemory, "max-memory", memcheck.FlagUsage)
	fs.IntVar(&f.BPTT, "bptt", 0, "BPTT window length in tokens (preset: 70, tiny 16)")
	fs.BoolVar(&f.NoVarBPTT, "no-var-bptt", false, "fixed windows of --bptt (fastai v2) instead of AWD-LSTM's variable lengths (bptt w.p. 0.95 else bptt/2, then N(., 5))")
	fs.BoolVar(&f.NoScaleLR, "no-scale-lr", false, "do not scale each step's LR by seq_len/bptt (AWD-LSTM scales)")
	epochsOf := func(preset string) int { return presetDefaults(f.stage, preset).epochs }
	fs.IntVar(&f.Epochs, "epochs", 0, fmt.Sprintf("epochs (preset: paper %d, small %d, tiny %d)", epochsOf("paper"), epochsOf("small"), epochsOf("tiny")))
	if f.stage == LMTune {
		fs.IntVar(&f.FreezeEpochs, "freeze-epochs", 0, "first train only the last layer group (embeddings+decoder) for this many epochs, with their own schedule (fastai's fine_tune; the paper fine-tunes all layers)")
		fs.Float64Var(&f.FreezeLR, "freeze-lr", 0, "peak LR of the --freeze-epochs phase (0: --lr; fastai uses 2e-2 with 2e-3 after)")
	}
	lrHelp := "peak learning rate of the last layer group (preset: 5e-3; tiny 3e-2)"
	if f.stage == LMTune {
		lrHelp = "peak learning rate of the last layer group (paper: eta_max 0.004; tiny 1e-2)"
	}
	fs.Float64Var(&f.LR, "lr", 0, lrHelp)
	if f.stage == LMTune {
		fs.Float64Var(&f.Discr, "discr", 0, "discriminative fine-tuning: each lower layer group gets the LR of the one above divided by `FACTOR` (paper: 2.6)")
		fs.BoolVar(&f.NoDiscr, "no-discr", false, "the same LR for every layer group")
	} else {
		fs.Float64Var(&f.Discr, "discr", 0, "divide the LR by `FACTOR` per lower layer group (default 1: one LR; pretraining has no reason to differ)")
	}
	schedDefault := "one-cycle"
	if f.stage == LMTune {
		schedDefault = "stlr"
	}
	fs.StringVar(&f.Schedule, "schedule", "", "LR schedule: stlr (paper: slanted triangular), one-cycle (fastai fit_one_cycle), cosine, constant (default "+schedDefault+")")
	fs.Float64Var(&f.CutFrac, "stlr-cut-frac", 0.1, "STLR: fraction of the iterations spent increasing the LR (paper 0.1)")
	fs.Float64Var(&f.Ratio, "stlr-ratio", 32, "STLR: how much smaller the lowest LR is than the peak (paper 32)")
	fs.Float64Var(&f.PctStart, "pct-start", 0.25, "one-cycle: warm-up fraction (fastai 0.25)")
	fs.Float64Var(&f.DivFactor, "div", 25, "one-cycle: start LR = peak/div (fastai 25)")
	fs.Float64Var(&f.FinalDiv, "div-final", 1e5, "one-cycle: final LR = peak/div-final (fastai 1e5)")
	fs.Float64SliceVar(&f.Moms, "moms", nil, "one-cycle: cycle Adam's beta1 from `HI,LO` down and back, as fastai's moms (its text learners: 0.8,0.7); default: constant beta1")

	fs.Float64Var(&f.DropMult, "drop-mult", 1, "multiply all five dropouts (fastai's drop_mult; its LM fine-tuning tutorial uses 0.3)")
	fs.Float64Var(&f.OutputDropout, "output-dropout", -1, "dropout on the last recurrent layer's output (paper 0.4; fastai awd_lstm_lm_config 0.1; -1: preset)")
	fs.Float64Var(&f.HiddenDropout, "hidden-dropout", -1, "dropout between the recurrent layers (paper 0.3; fastai 0.15; -1: preset)")
	fs.Float64Var(&f.InputDropout, "input-dropout", -1, "dropout on the embedding output (paper 0.4; fastai 0.25; -1: preset)")
	fs.Float64Var(&f.EmbedDropout, "embed-dropout", -1, "embedding dropout, whole rows (paper 0.05; fastai 0.02; -1: preset)")
	fs.Float64Var(&f.WeightDropout, "weight-dropout", -1, "weight drop (DropConnect) on the LSTM's hidden-to-hidden matrices or the whole QRNN weight (paper 0.5; fastai 0.2; -1: preset)")
	fs.Float64Var(&f.ARAlpha, "ar-alpha", 2, "activation regularization (AR) weight (paper and fastai 2)")
	fs.Float64Var(&f.TARBeta, "tar-beta", 1, "temporal AR weight (paper and fastai 1)")

	fs.Float64Var(&f.WD, "wd", 0.01, "decoupled weight decay (fastai's default)")
	fs.Float64Var(&f.Clip, "clip", 0.25, "clip the global gradient norm at this value (AWD-LSTM's; 0: off)")
	fs.Float64SliceVar(&f.Betas, "betas", []float64{0.7, 0.99}, "Adam `BETA1,BETA2` (paper 0.7,0.99; fastai's released scripts 0.8,0.99)")
	fs.Float64Var(&f.Eps, "eps", 1e-5, "Adam epsilon (fastai 1e-5)")
	fs.IntVar(&f.ValidEvery, "valid-every", 0, "also validate every N steps within an epoch (long epochs; 0: epoch ends only)")
	fs.IntVar(&f.Patience, "patience", 0, "stop after N epochs without a better validation loss (0: off)")
	fs.IntVar(&f.LogEvery, "log-every", 50, "write a step record to --log every N steps")
	f.Checkpoints.register(fs, 30*time.Minute)
	fs.BoolVar(&f.LRFind, "lr-find", false, "only run fastai's LR range test (exponential from 1e-7 to 10 over 100 steps, stop at 4x the min smoothed loss); print the suggestion and write OUT.lrfind.csv/.png (--out without .arrow)")
	fs.Float64Var(&f.LRFindStart, "lr-find-start", 1e-7, "LR range test start")
	fs.Float64Var(&f.LRFindEnd, "lr-find-end", 10, "LR range test end")
	fs.IntVar(&f.LRFindIters, "lr-find-iters", 100, "LR range test steps")

	// Old spellings, for one release (docs/flags.md).
	for _, a := range [][2]string{{"output-p", "output-dropout"}, {"hidden-p", "hidden-dropout"}, {"input-p", "input-dropout"},
		{"embed-p", "embed-dropout"}, {"weight-p", "weight-dropout"}, {"cut-frac", "stlr-cut-frac"}, {"ratio", "stlr-ratio"}} {
		cli.Alias(fs, a[0], a[1])
	}
}

// stageConfig turns the parsed flags into a train.LMStage.
func (f *Flags) stageConfig(fs *pflag.FlagSet, inputs []string) (*train.LMStage, error) {
	if err := f.Common.Validate(); err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		return nil, cli.Usage("no tokens artifact given")
	}
	if f.Out == "" && !f.LRFind {
		return nil, cli.Usage("--out is required")
	}
	if f.stage == LMTune && f.From == "" {
		return nil, cli.Usage("--from (the pretrained lm artifact) is required")
	}
	if f.Valid != "" && fs.Changed("valid-frac") {
		return nil, cli.Usage("give --valid or --valid-frac, not both")
	}
	if f.ValidFrac < 0 || f.ValidFrac >= 1 {
		return nil, cli.Usage("--valid-frac %g: want a fraction in [0,1)", f.ValidFrac)
	}
	if f.stage == LMTune && f.From != "" && !fs.Changed("preset") {
		// The preset of the LM's sizes (small for the shipped LMs), from its
		// metadata alone: the stage reads the tensors later, and reports
		// there an LM that cannot be read.
		if in, err := artifacts.Stat(f.From); err == nil {
			var c nn.LMConfig
			if json.Unmarshal([]byte(in.Metadata[artifacts.MetaConfig]), &c) == nil {
				f.Preset = nn.PresetOf(c)
			}
		}
	}
	d := presetDefaults(f.stage, f.Preset)
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	pickF := func(v, def float64) float64 {
		if v == 0 {
			return def
		}
		return v
	}
	model, err := nn.Preset(f.Preset)
	if err != nil {
		return nil, cli.Usage("%v", err)
	}
	model.EmbSize, model.HiddenSize, model.Layers = pick(f.Emb, model.EmbSize), pick(f.Hidden, model.HiddenSize), pick(f.Layers, model.Layers)
	if f.Arch != "" {
		model.Arch = f.Arch
	}
	if model.Arch == nn.ArchLSTM {
		// An LSTM's config names no arch, as every LM written before the
		// QRNN: the same run gives the same bytes as then.
		model.Arch = ""
	}
	for _, p := range []struct {
		name string
		v    float64
		dst  *float32
	}{{"output-dropout", f.OutputDropout, &model.OutputDropout}, {"hidden-dropout", f.HiddenDropout, &model.HiddenDropout}, {"input-dropout", f.InputDropout, &model.InputDropout},
		{"embed-dropout", f.EmbedDropout, &model.EmbedDropout}, {"weight-dropout", f.WeightDropout, &model.WeightDropout}} {
		if p.v >= 0 {
			if p.v >= 1 {
				return nil, cli.Usage("--%s %g: want a probability in [0,1)", p.name, p.v)
			}
			*p.dst = float32(p.v)
		}
	}
	if f.DropMult < 0 || f.DropMult*float64(max(model.OutputDropout, model.HiddenDropout, model.InputDropout, model.EmbedDropout, model.WeightDropout)) >= 1 {
		return nil, cli.Usage("--drop-mult %g: want >= 0 with every dropout staying below 1", f.DropMult)
	}
	model = model.WithDropoutMult(float32(f.DropMult))
	model.ARAlpha, model.TARBeta = float32(f.ARAlpha), float32(f.TARBeta)
	if model.EmbSize < 1 || model.HiddenSize < 1 || model.Layers < 1 {
		return nil, cli.Usage("--emb, --hidden and --layers must be positive")
	}

	schedName := f.Schedule
	if schedName == "" {
		schedName = d.schedule
	}
	var sched nn.Schedule
	switch schedName {
	case "stlr":
		if !(f.CutFrac > 0 && f.CutFrac < 1) || f.Ratio < 1 {
			return nil, cli.Usage("--stlr-cut-frac %g must be in (0,1) and --stlr-ratio %g >= 1", f.CutFrac, f.Ratio)
		}
		sched = nn.STLR(f.CutFrac, f.Ratio)
	case "one-cycle":
		if !(f.PctStart > 0 && f.PctStart < 1) || f.DivFactor < 1 || f.FinalDiv < 1 {
			return nil, cli.Usage("--pct-start %g must be in (0,1), --div and --div-final >= 1", f.PctStart)
		}
		sched = nn.OneCycle(f.PctStart, f.DivFactor, f.FinalDiv)
	case "cosine":
		sched = nn.Cosine()
	case "constant":
		sched = nn.Constant()
	default:
		return nil, cli.Usage("--schedule %q: want stlr, one-cycle, cosine or constant", schedName)
	}
	var moms nn.Schedule
	momsName := ""
	if len(f.Moms) > 0 {
		if schedName != "one-cycle" || len(f.Moms) != 2 || !(f.Moms[0] > 0 && f.Moms[0] < 1 && f.Moms[1] > 0 && f.Moms[1] < 1) {
			return nil, cli.Usage("--moms %v: want HI,LO in (0,1), with --schedule one-cycle", f.Moms)
		}
		moms = nn.OneCycleMomentum(f.PctStart, f.Moms[0], f.Moms[1])
		momsName = fmt.Sprintf("one-cycle %g,%g", f.Moms[0], f.Moms[1])
	}
	discr := pickF(f.Discr, d.discr)
	if f.NoDiscr {
		discr = 1
	}
	if discr < 1 {
		return nil, cli.Usage("--discr %g: want a factor >= 1", discr)
	}
	wd, clip := f.WD, f.Clip
	if err := checkBetas(f.Betas); err != nil {
		return nil, err
	}
	tc := train.LMTrainConfig{
		Stage: f.stage, Epochs: pick(f.Epochs, d.epochs), FreezeEpochs: f.FreezeEpochs,
		BS: pick(f.BS, d.bs), BPTT: pick(f.BPTT, d.bptt), VarBPTT: !f.NoVarBPTT, ScaleLR: !f.NoScaleLR,
		LR: pickF(f.LR, d.lr), Discr: discr, FreezeLR: f.FreezeLR, Schedule: sched, Momentum: moms, Clip: clip,
		Seed: f.Seed, Backward: f.Backward, ValidEvery: f.ValidEvery, LogEvery: f.LogEvery, Patience: f.Patience,
		CheckpointEvery: f.Checkpoints.Duration(), CheckpointSteps: f.Checkpoints.Steps,
	}
	if err := f.Checkpoints.Validate(); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name string
		bad  bool
	}{{"--bs", tc.BS < 1}, {"--bptt", tc.BPTT < 2}, {"--epochs", tc.Epochs < 1}, {"--freeze-epochs", tc.FreezeEpochs < 0},
		{"--lr", !(tc.LR > 0)}, {"--freeze-lr", f.FreezeLR < 0}, {"--wd", wd < 0}, {"--clip", clip < 0}, {"--eps", !(f.Eps > 0)},
		{"--valid-every", f.ValidEvery < 0}, {"--patience", f.Patience < 0}, {"--log-every", f.LogEvery < 1},
		{"--lr-find-iters", f.LRFindIters < 5},
		{"--lr-find-start/--lr-find-end", !(f.LRFindStart > 0 && f.LRFindEnd > f.LRFindStart)}} {
		if c.bad {
			return nil, cli.Usage("%s: value out of range", c.name)
		}
	}
	// The artifact records the flags that shape the result; run-only ones
	// (resume, logging, threads) are left out so that a resumed run and an
	// uninterrupted one write the same bytes.
	params := cli.Params(fs)
	params["preset"] = f.Preset
	s := &train.LMStage{
		Name: f.stage, Producer: f.stage + " " + Version,
		TrainPaths: inputs, ValidPath: f.Valid, ValidFrac: f.ValidFrac, From: f.From,
		Model: model, Train: tc, ScheduleName: schedName, MomsName: momsName,
		Beta1: f.Betas[0], Beta2: f.Betas[1], Eps: f.Eps, WD: wd,
		Out: f.Out, Checkpoint: f.Checkpoints.Path, Log: f.Log, Quiet: f.Quiet, Params: params,
		Resume: f.Checkpoints.resume(f.Out),
		// Files are compared by their hashes (Lineage's inputs), not names.
		LineageIgnore: lineageIgnore("valid", "from"),
		MaxMemory:     int64(f.MaxMemory),
		LRFind:        f.LRFind,
		LRFindCfg:     train.LRFindConfig{Start: f.LRFindStart, End: f.LRFindEnd, Iters: f.LRFindIters, StopDiv: true},
	}
	if s.Resume != "" && f.LRFind {
		return nil, cli.Usage("--resume and --lr-find do not go together")
	}
	return s, nil
}

// checkBetas validates --betas: two values in [0,1).
func checkBetas(b []float64) error {
	if len(b) != 2 || !(b[0] >= 0 && b[0] < 1) || !(b[1] >= 0 && b[1] < 1) {
		return cli.Usage("--betas %v: want two values in [0,1), e.g. 0.7,0.99", b)
	}
	return nil
}

// Options lets tests adjust a run.
type Options struct {
	Stdout, Stderr io.Writer
	Backend        nn.Backend // nil: precision.Backend(--threads, --precision); set, it overrides --precision
	OnStep         func(*train.TrainState)
	Progress       train.ProgressOptions
}

// RunLM implements the pretrain and lmtune training commands.
func RunLM(ctx context.Context, stage, synopsis, help string, args []string, o Options) error {
	o.Stdout, o.Stderr = cli.StdStreams(o.Stdout, o.Stderr)
	fs := cli.NewFlags(stage, synopsis, help)
	fs.SetOutput(o.Stdout)
	f := &Flags{stage: stage}
	f.register(fs)
	if err := cli.Parse(fs, args, cli.WithVersionInfo(cpu.Info)); err != nil {
		return err
	}
	note := precision.Resolve(fs, &f.Common)
	s, err := f.stageConfig(fs, fs.Args())
	if err != nil {
		return err
	}
	s.PrecisionNote = note
	be := o.Backend
	if be == nil {
		if be, err = precision.Backend(f.Threads, f.Precision); err != nil {
			return err
		}
	}
	s.Backend, s.Stderr, s.OnStep, s.Progress = be, o.Stderr, o.OnStep, o.Progress
	f.Common.Stderr = o.Stderr
	s.UpToDate = func(lin artifacts.Lineage) bool { return f.Common.SkipIfCurrent(stage, s.Out, lin) }
	if s.Resume != "" {
		if _, err := os.Stat(s.Resume); err != nil {
			return cli.BadInput(fmt.Errorf("--resume %s: no checkpoint there (%w)", s.Resume, errors.Unwrap(err)))
		}
	}
	res, err := train.RunLMStage(ctx, s)
	if err != nil {
		var bi *train.BadInputError
		if errors.As(err, &bi) || errors.Is(err, train.ErrCorpusTooSmall) || errors.Is(err, train.ErrVocabMismatch) {
			return cli.BadInput(err)
		}
		return err
	}
	if f.Quiet || res.Skipped {
		return nil
	}
	if s.LRFind {
		fmt.Fprintf(o.Stdout, "%s: lr find over %d steps: suggested lr %.2e (fastai's valley, its default; steep: %.2e); curve in %s\n",
			stage, len(res.Finder.LRs), res.Valley.LR, res.Steep.LR, strings.Join(res.LRFindFiles, ", "))
		return nil
	}
	if res.Transfer != nil {
		fmt.Fprintf(o.Stdout, "%s: vocab transfer from %s: %d tokens copied, %d new (mean embedding row and mean decoder bias)\n",
			stage, s.From, res.Transfer.Copied, res.Transfer.Added)
	}
	fmt.Fprintln(o.Stdout, res.SummaryLine(stage, s.Out, be, cli.PeakRSS()))
	return nil
}
