// Command clftune fine-tunes a ULMFiT text classifier on a labeled tokens
// artifact: the AWD-LSTM encoder of a (fine-tuned) language model plus a
// concat-pooling head, trained with gradual unfreezing, discriminative
// learning rates and slanted triangular learning rates (or any variant of the
// paper's Table 7, or fastai v2's one-cycle recipe), BPT3C for long
// documents. It writes a self-contained classifier artifact.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/clftrain"
	"github.com/ulmfit-go/ulmfit/stage/memcheck"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

const description = `Fine-tunes a text classifier (ULMFiT step 3) on a labeled tokens artifact,
starting from the encoder of an lm artifact (--lm), or from random weights
(--from-scratch, sizes from --preset). Writes a classifier artifact holding
the weights, config, vocabulary, tokenizer settings, label names, direction
and training metrics, so that 'evaluate' needs nothing else.

Token ids must agree with the LM's vocabulary: when the tokens artifact has
the same vocabulary (same hash) its ids are used as they are; otherwise they
are remapped by token string, tokens the LM does not know become xxunk, and
the remap is reported.

Validation: --valid FILE, or a stratified, seeded holdout of --valid-frac of
the training data (the paper holds out 10%). The epoch with the lowest
validation error is kept. --test FILE reports the test error at the end.

Modes (--mode; --lr overrides the peak LR of the last layer group; layer
groups are [embedding] [rnn 0] ... [rnn L-1] [head], discriminative LRs
divide by --discr per group going down):
{{MODES}}
Paper defaults: Adam beta1 0.7, beta2 0.99, batch 64, BPTT 70, STLR cut_frac
0.1 ratio 32, classifier eta_max 0.01, head hidden 50, dropouts 0.4 (output)
0.3 (hidden) 0.4 (input) 0.05 (embedding) 0.5 (weight), head dropouts
[0.4, 0.1]. fastai differs: its ULMFiT notebooks use --drop-mult 0.5,
Adam beta1 0.9 (0.95..0.85 in one-cycle), weight decay 0.01, and
max_len 72*20 = 1440 with bptt 72.

Examples:
  clftune --lm trec.lm.arrow --data trec.train.tokens.arrow --test trec.test.tokens.arrow --out trec.clf.arrow
  clftune --lm trec.bwd.lm.arrow --backward --data trec.train.tokens.arrow --out trec.bwd.clf.arrow
  clftune --from-scratch --preset small --data trec.train.tokens.arrow --out trec.scratch.clf.arrow`

type options struct {
	com         cli.Common
	data        string
	valid       string
	test        string
	lm          string
	fromScratch bool
	validFrac   float64
	mode        string
	epochs      int
	lr          float64
	discr       float64
	bs          int
	bptt        int
	maxLen      int
	maxMemory   memcheck.Size
	beta1       float64
	beta2       float64
	eps         float64
	wd          float64
	clip        float64
	earlyStop   int
	classW      string
	hidden      []int
	headDrop    []float32
	dropMult    float32
	drops       [5]float32
	cutFrac     float64
	ratio       float64
	checkpoint  string
	ckpt        cli.Checkpointing
	resume      string
	acrossChunk bool
	maxUnk      float64
	lrFind      bool
	lrFindIters int
}

func main() { cli.Main("clftune", run) }

func register(o *options) *pflag.FlagSet {
	fs := cli.NewFlags("clftune", "--data TRAIN.tokens.arrow (--lm LM.arrow | --from-scratch) --out CLF.arrow [flags]",
		strings.Replace(description, "{{MODES}}", clftrain.ModeTable(), 1))
	o.com.Register(fs, "out", "preset", "seed", "threads", "backward", "log", "quiet", "force")
	fs.Lookup("preset").Usage = "the recipe defaults (" + recipeHelp() + ") and, with --from-scratch, the encoder sizes: paper (400/1150/3), small (200/512/3), tiny (tests); default with --lm: the preset of the LM's sizes (small for models/lm-small-*.arrow), else paper"
	fs.Lookup("backward").Usage = "backward classifier: documents are reversed (use with a backward LM)"
	fs.StringVar(&o.data, "data", "", "training data: a labeled tokens `artifact`")
	fs.StringVar(&o.lm, "lm", "", "the language model `artifact` whose encoder the classifier starts from")
	fs.BoolVar(&o.fromScratch, "from-scratch", false, "start from random weights (no LM): the paper's 'From scratch' baseline (implies --mode scratch unless --mode is given)")
	fs.StringVar(&o.valid, "valid", "", "validation data: a labeled tokens `artifact` (default: hold out --valid-frac of --data)")
	fs.Float64Var(&o.validFrac, "valid-frac", 0.1, "fraction of --data held out for validation when --valid is not given (stratified by label, seeded; 0: no validation, the last epoch is kept)")
	fs.StringVar(&o.test, "test", "", "test data: a labeled tokens `artifact`, scored once at the end")
	fs.StringVar(&o.mode, "mode", "ulmfit", "fine-tuning recipe (see the table above)")
	fs.IntVar(&o.epochs, "epochs", 15, "total epoch budget (gradual unfreezing: one epoch per added layer group, the rest with all groups; default: the preset's)")
	fs.Float64Var(&o.lr, "lr", 0, "peak learning rate of the last layer group (0: the mode's default, see the table; the small preset's ulmfit mode has its own)")
	fs.Float64Var(&o.discr, "discr", 2.6, "discriminative fine-tuning factor: group g gets lr/discr^(last-g)")
	fs.IntVar(&o.bs, "bs", 64, "batch size (documents)")
	fs.IntVar(&o.bptt, "bptt", 70, "BPT3C chunk length (tokens)")
	fs.Var(&o.maxMemory, "max-memory", memcheck.FlagUsage)
	fs.IntVar(&o.maxLen, "max-len", 0, "BPT3C: pool over and backpropagate into the chunks covering each document's last N tokens (0: 20*bptt)")
	fs.BoolVar(&o.acrossChunk, "backprop-across-chunks", false, "let gradients flow across BPT3C chunk boundaries (fastai detaches the state between chunks)")
	fs.Float64Var(&o.beta1, "beta1", 0.7, "Adam beta1 (paper 0.7; fastai 0.9; one-cycle cycles it 0.95-0.85-0.95)")
	fs.Float64Var(&o.beta2, "beta2", 0.99, "Adam beta2")
	fs.Float64Var(&o.eps, "eps", 1e-5, "Adam epsilon (fastai 1e-5)")
	fs.Float64Var(&o.wd, "wd", 0, "decoupled weight decay (paper: none; fastai 0.01)")
	fs.Float64Var(&o.clip, "clip", 0, "clip the global gradient norm to this value (0: no clipping)")
	fs.IntVar(&o.earlyStop, "early-stop", 0, "stop after N epochs of the last phase without a better validation error (0: never)")
	fs.StringVar(&o.classW, "class-weights", "none", "loss weight per class: none, auto (n/(C*n_c)), or w1,w2,... in label order")
	fs.IntSliceVar(&o.hidden, "hidden", []int{50}, "sizes of the hidden head layers (paper 50)")
	fs.Float32SliceVar(&o.headDrop, "head-dropouts", nil, "dropout before each head linear layer (default: output dropout, then 0.1 per hidden layer... as fastai [output_p, 0.1])")
	fs.Float32Var(&o.dropMult, "drop-mult", 1, "multiply all encoder dropouts and the first head dropout (fastai's drop_mult; its notebooks use 0.5; default: the preset's)")
	fs.Float32Var(&o.drops[0], "output-dropout", 0.4, "dropout on the last LSTM output (fastai output_p)")
	fs.Float32Var(&o.drops[1], "hidden-dropout", 0.3, "dropout between LSTM layers (hidden_p)")
	fs.Float32Var(&o.drops[2], "input-dropout", 0.4, "dropout on the embedding output (input_p)")
	fs.Float32Var(&o.drops[3], "embed-dropout", 0.05, "embedding dropout, whole rows (embed_p)")
	fs.Float32Var(&o.drops[4], "weight-dropout", 0.5, "DropConnect on the hidden-to-hidden weights (weight_p)")
	fs.Float64Var(&o.cutFrac, "stlr-cut-frac", 0.1, "STLR: fraction of a phase's steps with increasing LR")
	fs.Float64Var(&o.ratio, "stlr-ratio", 32, "STLR: ratio of the peak to the lowest LR")
	fs.Float64Var(&o.maxUnk, "max-remap-unk", 0.5, "fail if more than this fraction of the data's tokens are unknown to the LM's vocabulary (tokenized differently?); 1 disables")
	fs.BoolVar(&o.lrFind, "lr-find", false, "run fastai's LR range test with the first phase's trainable groups instead of training: writes OUT.lrfind.csv/.png and prints the valley and steep suggestions for --lr")
	fs.IntVar(&o.lrFindIters, "lr-find-iters", 100, "steps of the LR range test (LR from 1e-7 to 10)")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "write resumable checkpoints to this `file` (default: --out with .ckpt.arrow)")
	o.ckpt.Register(fs, 10*time.Minute)
	fs.StringVar(&o.resume, "resume", "", "continue the run of this checkpoint `file` (same flags and data)")
	// These defaults come from the preset (recipe.go), which --help says.
	fs.Lookup("preset").DefValue = ""
	fs.Lookup("epochs").DefValue = "0"
	fs.Lookup("drop-mult").DefValue = "0"
	return fs
}

func run(ctx context.Context, args []string) error {
	var o options
	fs := register(&o)
	if err := cli.Parse(fs, args, cli.WithVersionInfo(cpu.Info)); err != nil {
		return err
	}
	if err := o.com.Validate(); err != nil {
		return err
	}
	if err := o.ckpt.Validate(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usage("unexpected arguments %q", fs.Args())
	}
	switch {
	case o.data == "":
		return cli.Usage("--data is required")
	case o.com.Out == "":
		return cli.Usage("--out is required")
	case o.bs < 2:
		return cli.Usage("--bs %d: want >= 2 (BatchNorm needs two documents)", o.bs)
	case o.bptt < 1:
		return cli.Usage("--bptt %d: want >= 1", o.bptt)
	case o.validFrac < 0 || o.validFrac >= 1:
		return cli.Usage("--valid-frac %g: want 0 <= f < 1", o.validFrac)
	case o.maxLen < 0:
		return cli.Usage("--max-len %d: want >= 0", o.maxLen)
	case o.discr <= 0:
		return cli.Usage("--discr %g: want > 0", o.discr)
	}
	// From scratch means the scratch recipe (every layer trained from the
	// first epoch, constant LR) unless --mode asks for another: the default
	// ulmfit mode would first train only the head over a random encoder.
	if o.fromScratch && !fs.Changed("mode") {
		o.mode = "scratch"
	}
	mode, err := clftrain.ModeByName(o.mode)
	if err != nil {
		return cli.Usage("--mode: %v", err)
	}
	if mode.Scratch {
		o.fromScratch = true
	}
	if (o.lm == "") == !o.fromScratch || (o.lm != "" && o.fromScratch) {
		if o.lm != "" && o.fromScratch {
			return cli.Usage("--lm and --from-scratch (or --mode scratch) exclude each other")
		}
		return cli.Usage("give --lm LM.arrow, or --from-scratch for a randomly initialized encoder")
	}
	if o.checkpoint == "" {
		o.checkpoint = strings.TrimSuffix(o.com.Out, ".arrow") + ".ckpt.arrow"
	}
	// Outputs that cannot be written (a folder, a missing folder) are found
	// now, not after training.
	outs := []string{o.com.Out, o.checkpoint}
	if o.lrFind {
		b := lrFindBase(o.com.Out)
		outs = []string{b + ".csv", b + ".png"}
	}
	for _, p := range outs {
		if err := artifacts.CheckOutput(p); err != nil {
			return err
		}
	}
	// The LM comes first: when --preset is not given, its sizes name the
	// preset whose recipe applies (the shipped small LMs get the small one).
	var lmArt *artifacts.Model
	var enc nn.LMConfig
	if o.lm != "" {
		if lmArt, err = artifacts.ReadModel(o.lm, artifacts.KindLM); err != nil {
			return err
		}
		if enc, err = train.LMConfigOf(lmArt, o.lm); err != nil {
			return err
		}
		if !fs.Changed("preset") {
			o.com.Preset = nn.PresetOf(enc)
		}
	}
	if err := applyRecipe(fs, &o, mode); err != nil {
		return err
	}
	if o.maxLen == 0 {
		o.maxLen = 20 * o.bptt
	}
	// The lineage, built before any work so that an up-to-date --out is
	// found at once. Params are the flags that change the result (not where
	// files go or how fast it runs), so that the same settings give the same
	// bytes. A file that cannot be hashed is reported where it is read.
	params := map[string]any{}
	fs.VisitAll(func(f *pflag.Flag) {
		if !slices.Contains(cli.RunOnlyFlags(), f.Name) && f.Name != "max-memory" {
			params[f.Name] = f.Value.String()
		}
	})
	inputs, inputsErr := inputsOf(o.data, o.lm, o.valid, o.test)
	lineage := artifacts.Lineage{Kind: artifacts.KindClassifier, Producer: "clftune", Params: params, Inputs: inputs}
	if inputsErr == nil && !o.lrFind && o.com.SkipIfCurrent("clftune", o.com.Out, lineage) {
		removeStaleCheckpoints(&o, lineage)
		return nil
	}
	start := time.Now()
	be := cpu.New(o.com.Threads)
	prog := train.NewProgress(os.Stderr, train.ProgressOptions{Quiet: o.com.Quiet})

	// The encoder: from the LM, or from scratch.
	var vocab *artifacts.Vocab
	dir := o.com.Direction()
	if lmArt != nil {
		if lmArt.Direction != "" && lmArt.Direction != dir {
			hint := "pass --backward"
			if dir == "bwd" {
				hint = "drop --backward"
			}
			return cli.BadInput(fmt.Errorf("%s is a %s language model but the classifier is %s: %s, or use the other LM", o.lm, dirWord(lmArt.Direction), dirWord(dir), hint))
		}
		vocab = lmArt.Vocab
	}

	// Training data (its vocabulary is the model's when from scratch).
	if o.fromScratch {
		h, err := readHeader(o.data)
		if err != nil {
			return err
		}
		vocab = h.Vocab
		if enc, err = nn.Preset(o.com.Preset); err != nil {
			return cli.Usage("%v", err)
		}
		enc.VocabSize = vocab.Len()
	}
	pad, ok := vocab.ID("xxpad")
	if !ok {
		return cli.BadInput(fmt.Errorf("%s: the vocabulary has no xxpad token", firstNonEmpty(o.lm, o.data)))
	}
	enc.PadID = pad
	enc.OutputDropout, enc.HiddenDropout, enc.InputDropout, enc.EmbedDropout, enc.WeightDropout = o.drops[0], o.drops[1], o.drops[2], o.drops[3], o.drops[4]
	enc = enc.WithDropoutMult(o.dropMult)

	trainData, err := clftrain.LoadData(o.data, clftrain.Target{Vocab: vocab, Backward: o.com.Backward, RequireLabels: true, MaxRemapUnk: o.maxUnk})
	if err != nil {
		return err
	}
	labels := trainData.LabelNames
	if len(labels) < 2 && !trainData.MultiLabel {
		return cli.BadInput(fmt.Errorf("%s: %d label names: a classifier needs at least two classes", o.data, len(labels)))
	}
	if !o.com.Quiet && o.lm != "" {
		prog.Printf("%s: %s", o.data, trainData.Vocab.String())
	}
	tr, va := trainData.Examples, []clftrain.Example(nil)
	var validData *clftrain.Data
	if o.valid != "" {
		validData, err = clftrain.LoadData(o.valid, clftrain.Target{Vocab: vocab, LabelNames: labels, Backward: o.com.Backward, RequireLabels: true, MaxRemapUnk: o.maxUnk})
		if err != nil {
			return err
		}
		if validData.MultiLabel != trainData.MultiLabel {
			return cli.BadInput(fmt.Errorf("%s and %s: one is multi-label, the other is not", o.data, o.valid))
		}
		va = validData.Examples
	} else if o.validFrac > 0 {
		ti, vi, err := clftrain.StratifiedSplit(tr, o.validFrac, train.NewRNG(o.com.Seed, train.StreamSplit))
		if err != nil {
			return cli.Usage("--valid-frac: %v", err)
		}
		all := tr
		tr, va = pick(all, ti), pick(all, vi)
	}
	var testData *clftrain.Data
	if o.test != "" {
		testData, err = clftrain.LoadData(o.test, clftrain.Target{Vocab: vocab, LabelNames: labels, Backward: o.com.Backward, RequireLabels: true, MaxRemapUnk: o.maxUnk})
		if err != nil {
			return err
		}
		if testData.MultiLabel != trainData.MultiLabel {
			return cli.BadInput(fmt.Errorf("%s and %s: one is multi-label, the other is not", o.data, o.test))
		}
	}
	if len(tr) < 2 {
		return cli.BadInput(fmt.Errorf("%s: %d training documents after the validation holdout: need at least 2", o.data, len(tr)))
	}

	// The model.
	cfg := nn.DefaultClassifierConfig(enc, len(labels))
	cfg.MultiLabel = trainData.MultiLabel
	cfg.Hidden = o.hidden
	cfg.BPTT, cfg.MaxLen, cfg.BackpropAcrossChunks = o.bptt, o.maxLen, o.acrossChunk
	if o.headDrop != nil {
		cfg.HeadDropouts = o.headDrop
	} else {
		cfg.HeadDropouts = []float32{enc.OutputDropout}
		for range o.hidden {
			cfg.HeadDropouts = append(cfg.HeadDropouts, 0.1)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cli.Usage("%v", err)
	}
	// Fail early, with a hint, when training (and validation at 2*bs)
	// would not fit in --max-memory (default: the available memory).
	maxDoc := 0
	docSets := [][]clftrain.Example{tr, va}
	if testData != nil {
		docSets = append(docSets, testData.Examples)
	}
	for _, ex := range docSets {
		for _, d := range ex {
			maxDoc = max(maxDoc, len(d.Tokens))
		}
	}
	if err := memcheck.Check(nn.EstimateClassifierMemory(cfg, o.bs, maxDoc).WithEval(2*o.bs), int64(o.maxMemory)); err != nil {
		return cli.BadInput(err)
	}
	model, err := nn.NewClassifier(cfg, be)
	if err != nil {
		return cli.Usage("%v", err)
	}
	model.Init(train.Mix(o.com.Seed, uint64(train.StreamInit)))
	if lmArt != nil {
		if err := train.LoadTensors(model.Enc.Params(), lmArt.Tensors, o.lm, false); err != nil {
			return err
		}
	}
	cw, err := clftrain.ClassWeights(o.classW, tr, len(labels), cfg.MultiLabel)
	if err != nil {
		return cli.Usage("--class-weights: %v", err)
	}
	model.ClassWeights = cw

	phases, err := mode.Plan(clftrain.PlanConfig{Groups: model.NumGroups(), Epochs: o.epochs, LR: o.lr, Discr: o.discr})
	if err != nil {
		return cli.Usage("%v", err)
	}
	sched := clftrain.DefaultSchedule()
	sched.CutFrac, sched.Ratio = o.cutFrac, o.ratio

	// The artifact template.
	if inputsErr != nil {
		return inputsErr
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	tmpl := artifacts.Model{
		Lineage:    lineage,
		Config:     cfgJSON,
		Vocab:      vocab,
		Tokenizer:  trainData.Header.Tokenizer,
		LabelNames: labels,
		Direction:  dir,
	}

	metricsLog, err := train.OpenMetrics(o.com.Log, o.resume != "")
	if err != nil {
		return err
	}
	defer metricsLog.Close()

	tn := &clftrain.Trainer{
		Cfg: clftrain.Config{Phases: phases, Schedule: sched, BS: o.bs, ValidBS: 2 * o.bs, Beta1: o.beta1, Clip: o.clip,
			Seed: o.com.Seed, EarlyStop: o.earlyStop, CheckpointEvery: o.ckpt.Duration(), CheckpointSteps: o.ckpt.Steps},
		Model: model, Opt: nn.NewAdam(be, model.Params(), o.beta1, o.beta2, o.eps, o.wd),
		Train: tr, Valid: va, Progress: prog, Metrics: metricsLog,
		Template: tmpl, CheckpointPath: o.checkpoint,
	}
	if o.lrFind {
		return lrFind(ctx, tn, &o, prog)
	}
	if o.resume != "" {
		ck, err := artifacts.ReadModel(o.resume, artifacts.KindClassifier)
		if err != nil {
			return err
		}
		if d := artifacts.LineageMismatch(ck.Lineage, lineage, pathFlags...); d != "" {
			return cli.BadInput(fmt.Errorf("%s: resume with the flags and inputs of the interrupted run: %s", o.resume, d))
		}
		if err := tn.ResumeFrom(ck, o.resume); err != nil {
			return err
		}
		prog.Printf("resuming %s at epoch %d, step %d", o.resume, tn.State.Epoch+1, tn.State.Step)
	}
	if !o.com.Quiet {
		prog.Printf("clftune: %s, %d train / %d valid documents, %d classes, %d layer groups, %d parameters, backend %s",
			o.mode, len(tr), len(va), len(labels), model.NumGroups(), nn.NumParams(model.Params()), be.Name())
	}
	res, err := tn.Run(ctx)
	if err != nil {
		return err
	}

	// Test.
	type testResult struct {
		Path  string  `json:"path"`
		N     int     `json:"n"`
		Error float64 `json:"error"`
		Loss  float64 `json:"loss"`
	}
	var tres *testResult
	if testData != nil {
		ev, err := clftrain.Evaluate(ctx, model, testData.Examples, 2*o.bs)
		if err != nil {
			return err
		}
		tres = &testResult{Path: o.test, N: ev.N, Error: ev.Error, Loss: ev.Loss}
	}
	vrep := map[string]*clftrain.VocabReport{o.data: &trainData.Vocab}
	if validData != nil {
		vrep[o.valid] = &validData.Vocab
	}
	if testData != nil {
		vrep[o.test] = &testData.Vocab
	}
	metrics, err := json.Marshal(struct {
		*clftrain.Result
		Mode  string                           `json:"mode"`
		Train int                              `json:"train_docs"`
		Valid int                              `json:"valid_docs"`
		Test  *testResult                      `json:"test,omitempty"`
		Vocab map[string]*clftrain.VocabReport `json:"vocab"`
	}{res, o.mode, len(tr), len(va), tres, vrep})
	if err != nil {
		return err
	}
	art, err := tn.Artifact(false, metrics)
	if err != nil {
		return err
	}
	if err := artifacts.WriteModel(o.com.Out, art); err != nil {
		return err
	}
	metricsLog.Write(train.Record{Type: "summary", Step: res.Steps, TokensPerSec: train.Float(res.TokensPerSec),
		Extra: map[string]any{"best_epoch": res.BestEpoch, "peak_rss_bytes": cli.PeakRSS(), "wall_seconds": time.Since(start).Seconds()}})
	os.Remove(o.checkpoint) // the run is complete: its checkpoint is no longer needed

	if !o.com.Quiet {
		line := fmt.Sprintf("clftune: %s %s, %d epochs", o.mode, dir, len(res.Epochs))
		if res.BestValidError != nil {
			line += fmt.Sprintf(", best valid error %.2f%% (epoch %d)", 100**res.BestValidError, res.BestEpoch)
		}
		if tres != nil {
			line += fmt.Sprintf(", test error %.2f%% (n=%d)", 100*tres.Error, tres.N)
		}
		line += fmt.Sprintf(", %s, peak RSS %d MiB -> %s", train.FormatDuration(time.Since(start)), cli.PeakRSS()>>20, o.com.Out)
		fmt.Fprintln(os.Stderr, line)
	}
	return nil
}

// lrFind runs the LR range test and writes its CSV and plot next to --out.
func lrFind(ctx context.Context, tn *clftrain.Trainer, o *options, prog *train.Progress) error {
	f, err := tn.LRFind(ctx, train.LRFindConfig{Start: 1e-7, End: 10, Iters: o.lrFindIters, StopDiv: true})
	if err != nil {
		return err
	}
	valley, ok := f.Valley()
	if !ok {
		return fmt.Errorf("lr find: only %d steps before the loss diverged", len(f.LRs))
	}
	steep, _ := f.Steep()
	base := lrFindBase(o.com.Out)
	title := fmt.Sprintf("clftune lr find (%s, %s)", o.mode, tn.Cfg.Phases[0].Name)
	if err := f.WriteFiles(base, title, valley, steep); err != nil {
		return err
	}
	tn.Metrics.WriteAny(map[string]any{"type": "summary", "mode": "lr_find", "valley": valley, "steep": steep, "steps": len(f.LRs)})
	if !o.com.Quiet {
		fmt.Fprintf(os.Stderr, "clftune lr find: %d steps, valley lr %.3g, steep lr %.3g -> %s.csv, %s.png\n", len(f.LRs), valley.LR, steep.LR, base, base)
	}
	return nil
}

// pathFlags are the params that name input files: a resumed run may find
// them under other names, so they are compared by the inputs' hashes.
var pathFlags = []string{"data", "lm", "valid", "test"}

// removeStaleCheckpoints removes the checkpoint of a run whose output is
// already complete and current (a run killed between writing --out and
// removing its checkpoint leaves both): only a checkpoint of this very run
// (same flags and inputs) is removed, and the user is told.
func removeStaleCheckpoints(o *options, lin artifacts.Lineage) {
	paths := []string{o.checkpoint}
	if o.resume != "" && o.resume != o.checkpoint {
		paths = append(paths, o.resume)
	}
	for _, p := range paths {
		in, err := artifacts.Stat(p)
		if err != nil || in.Metadata[artifacts.MetaTrainState] == "" || artifacts.LineageMismatch(in.Lineage, lin, pathFlags...) != "" {
			continue
		}
		w := o.com.Stderr
		if w == nil {
			w = os.Stderr
		}
		if os.Remove(p) == nil && !o.com.Quiet {
			fmt.Fprintf(w, "clftune: %s is complete; removed the stale checkpoint %s\n", o.com.Out, p)
		}
	}
}

// lrFindBase is the path prefix of --lr-find's outputs: --out without .arrow,
// plus .lrfind.
func lrFindBase(out string) string {
	return strings.TrimSuffix(out, ".arrow") + ".lrfind"
}

func dirWord(d string) string {
	if d == "bwd" {
		return "backward"
	}
	return "forward"
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func pick(all []clftrain.Example, idx []int) []clftrain.Example {
	out := make([]clftrain.Example, len(idx))
	for i, j := range idx {
		out[i] = all[j]
	}
	return out
}

func readHeader(path string) (*artifacts.TokensHeader, error) {
	r, err := artifacts.OpenTokens(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Header(), nil
}

func inputsOf(paths ...string) ([]artifacts.Input, error) {
	var out []artifacts.Input
	for _, p := range paths {
		if p == "" || slices.ContainsFunc(out, func(in artifacts.Input) bool { return in.Path == p }) {
			continue
		}
		in, err := artifacts.InputOf(p)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}
