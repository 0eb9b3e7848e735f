package stage

import (
	"context"
	"encoding/json"
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
	"github.com/ulmfit-go/ulmfit/stage/clftrain"
	"github.com/ulmfit-go/ulmfit/stage/memcheck"
	"github.com/ulmfit-go/ulmfit/stage/precision"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// Classifier is the classifier stage's name (its artifacts' producer).
const Classifier = "clftune"

// clfPathFlags are the classifier stage's flags that name input files: a
// resumed run may find them under other names, so they are compared by the
// inputs' hashes.
var clfPathFlags = []string{"data", "from", "valid", "test"}

// clfFlags are the command-line settings of the classifier stage.
type clfFlags struct {
	com         cli.Common
	data        string
	valid       string
	test        string
	from        string
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
	betas       []float64
	eps         float64
	wd          float64
	clip        float64
	patience    int
	classW      string
	headHidden  []int
	headDrop    []float32
	dropMult    float32
	drops       [5]float32
	cutFrac     float64
	ratio       float64
	ckpt        checkpointFlags
	acrossChunk bool
	maxUnk      float64
	lrFind      bool
	lrFindIters int
}

// register defines the classifier stage's flags on a new flag set.
func (o *clfFlags) register(synopsis, help string) *pflag.FlagSet {
	fs := cli.NewFlags(Classifier, synopsis, help)
	o.com.Register(fs, "out", "preset", "arch", "seed", "threads", "precision", "backward", "log", "quiet", "force")
	fs.Lookup("arch").Usage = "with --from-scratch, the encoder's recurrent layers: lstm or qrnn (default: the preset's); with --from, the LM's"
	fs.Lookup("preset").Usage = "the recipe defaults (" + recipeHelp() + ") and, with --from-scratch, the encoder sizes: paper (400/1150/3), small (200/512/3), tiny (tests), multifit (QRNN 400/1550/4); default with --from: the preset of the LM's sizes (small for models/lm-small-*.arrow), else paper"
	fs.Lookup("backward").Usage = "backward classifier: documents are reversed (use with a backward LM)"
	fs.StringVar(&o.data, "data", "", "training data: a labeled tokens `artifact`")
	fs.StringVar(&o.from, "from", "", "the language model `artifact` whose encoder the classifier starts from")
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
	fs.Float64SliceVar(&o.betas, "betas", []float64{0.7, 0.99}, "Adam `BETA1,BETA2` (paper 0.7,0.99; fastai beta1 0.9; one-cycle cycles beta1 0.95-0.85-0.95)")
	fs.Float64Var(&o.eps, "eps", 1e-5, "Adam epsilon (fastai 1e-5)")
	fs.Float64Var(&o.wd, "wd", 0, "decoupled weight decay (paper: none; fastai 0.01)")
	fs.Float64Var(&o.clip, "clip", 0, "clip the global gradient norm to this value (0: no clipping)")
	fs.IntVar(&o.patience, "patience", 0, "stop after N epochs of the last phase without a better validation error (0: never)")
	fs.StringVar(&o.classW, "class-weights", "none", "loss weight per class: none, auto (n/(C*n_c)), or w1,w2,... in label order")
	fs.IntSliceVar(&o.headHidden, "head-hidden", []int{50}, "sizes of the hidden head layers (paper 50)")
	fs.Float32SliceVar(&o.headDrop, "head-dropouts", nil, "dropout before each head linear layer (default: output dropout, then 0.1 per hidden layer... as fastai [output_p, 0.1])")
	fs.Float32Var(&o.dropMult, "drop-mult", 1, "multiply all encoder dropouts and the first head dropout (fastai's drop_mult; its notebooks use 0.5; default: the preset's)")
	fs.Float32Var(&o.drops[0], "output-dropout", 0.4, "dropout on the last recurrent layer's output (fastai output_p)")
	fs.Float32Var(&o.drops[1], "hidden-dropout", 0.3, "dropout between the recurrent layers (hidden_p)")
	fs.Float32Var(&o.drops[2], "input-dropout", 0.4, "dropout on the embedding output (input_p)")
	fs.Float32Var(&o.drops[3], "embed-dropout", 0.05, "embedding dropout, whole rows (embed_p)")
	fs.Float32Var(&o.drops[4], "weight-dropout", 0.5, "DropConnect on the LSTM's hidden-to-hidden weights or the whole QRNN weight (weight_p)")
	fs.Float64Var(&o.cutFrac, "stlr-cut-frac", 0.1, "STLR: fraction of a phase's steps with increasing LR")
	fs.Float64Var(&o.ratio, "stlr-ratio", 32, "STLR: ratio of the peak to the lowest LR")
	fs.Float64Var(&o.maxUnk, "max-remap-unk", 0.5, "fail if more than this fraction of the data's tokens are unknown to the LM's vocabulary (tokenized differently?); 1 disables")
	fs.BoolVar(&o.lrFind, "lr-find", false, "run fastai's LR range test with the first phase's trainable groups instead of training: writes OUT.lrfind.csv/.png (--out without .arrow) and prints the valley and steep suggestions for --lr")
	fs.IntVar(&o.lrFindIters, "lr-find-iters", 100, "steps of the LR range test (LR from 1e-7 to 10)")
	o.ckpt.register(fs, 10*time.Minute)
	// These defaults come from the preset (recipe.go), which --help says.
	fs.Lookup("preset").DefValue = ""
	fs.Lookup("epochs").DefValue = "0"
	fs.Lookup("drop-mult").DefValue = "0"

	// Old spellings, for one release (docs/flags.md).
	cli.Alias(fs, "lm", "from")
	cli.Alias(fs, "early-stop", "patience")
	cli.Alias(fs, "hidden", "head-hidden")
	cli.AliasElement(fs, "beta1", "betas", &o.betas, 0)
	cli.AliasElement(fs, "beta2", "betas", &o.betas, 1)
	return fs
}

// RunClassifier implements the clftune command: it fine-tunes a text
// classifier on a labeled tokens artifact, from the encoder of an lm
// artifact (--from) or from random weights (--from-scratch), and writes a
// classifier artifact. It is RunLM's twin: the same Options, the same
// lineage (params, input hashes, checkpoints, LR finder files). A
// "{{MODES}}" in help becomes the table of the fine-tuning modes.
func RunClassifier(ctx context.Context, synopsis, help string, args []string, o Options) error {
	o.Stdout, o.Stderr = cli.StdStreams(o.Stdout, o.Stderr)
	var f clfFlags
	fs := f.register(synopsis, strings.Replace(help, "{{MODES}}", clftrain.ModeTable(), 1))
	fs.SetOutput(o.Stdout)
	if err := cli.Parse(fs, joinResume(args), cli.WithVersionInfo(cpu.Info)); err != nil {
		return err
	}
	f.com.Stderr = o.Stderr
	if err := f.com.Validate(); err != nil {
		return err
	}
	precisionNote := precision.Resolve(fs, &f.com)
	if err := f.ckpt.Validate(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usage("unexpected arguments %q", fs.Args())
	}
	switch {
	case f.data == "":
		return cli.Usage("--data is required")
	case f.com.Out == "":
		return cli.Usage("--out is required")
	case f.bs < 2:
		return cli.Usage("--bs %d: want >= 2 (BatchNorm needs two documents)", f.bs)
	case f.bptt < 1:
		return cli.Usage("--bptt %d: want >= 1", f.bptt)
	case f.validFrac < 0 || f.validFrac >= 1:
		return cli.Usage("--valid-frac %g: want 0 <= f < 1", f.validFrac)
	case f.maxLen < 0:
		return cli.Usage("--max-len %d: want >= 0", f.maxLen)
	case f.discr <= 0:
		return cli.Usage("--discr %g: want > 0", f.discr)
	}
	if err := checkBetas(f.betas); err != nil {
		return err
	}
	// From scratch means the scratch recipe (every layer trained from the
	// first epoch, constant LR) unless --mode asks for another: the default
	// ulmfit mode would first train only the head over a random encoder.
	if f.fromScratch && !fs.Changed("mode") {
		f.mode = "scratch"
	}
	mode, err := clftrain.ModeByName(f.mode)
	if err != nil {
		return cli.Usage("--mode: %v", err)
	}
	if mode.Scratch {
		f.fromScratch = true
	}
	if (f.from == "") == !f.fromScratch || (f.from != "" && f.fromScratch) {
		if f.from != "" && f.fromScratch {
			return cli.Usage("--from and --from-scratch (or --mode scratch) exclude each other")
		}
		return cli.Usage("give --from LM.arrow, or --from-scratch for a randomly initialized encoder")
	}
	checkpoint, resume := f.ckpt.path(f.com.Out), f.ckpt.resume(f.com.Out)
	// Outputs that cannot be written (a folder, a missing folder) are found
	// now, not after training.
	outs := []string{f.com.Out, checkpoint}
	lrBase, lrFiles := train.LRFindPaths(f.com.Out)
	if f.lrFind {
		outs = lrFiles
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
	if f.from != "" {
		if lmArt, err = artifacts.ReadModel(f.from, artifacts.KindLM); err != nil {
			return err
		}
		if enc, err = train.LMConfigOf(lmArt, f.from); err != nil {
			return err
		}
		if !fs.Changed("preset") {
			f.com.Preset = nn.PresetOf(enc)
		}
		if f.com.Arch != "" && f.com.Arch != enc.ArchName() {
			return cli.Usage("--arch %s: %s is a %s language model; drop --arch (the classifier's encoder is the LM's)", f.com.Arch, f.from, enc.ArchName())
		}
	}
	if err := applyRecipe(fs, &f, mode); err != nil {
		return err
	}
	if f.maxLen == 0 {
		f.maxLen = 20 * f.bptt
	}
	// The lineage, built before any work so that an up-to-date --out is
	// found at once. Params are the flags that change the result (not where
	// files go or how fast it runs), so that the same settings give the same
	// bytes. A file that cannot be hashed is reported where it is read.
	inputs, inputsErr := cli.DistinctInputs(f.data, f.from, f.valid, f.test)
	lineage := artifacts.Lineage{Kind: artifacts.KindClassifier, Producer: Classifier, Params: cli.Params(fs), Inputs: inputs}
	owner := train.CheckpointOwner{Stage: Classifier, Lineage: lineage, Ignore: lineageIgnore(clfPathFlags...)}
	if inputsErr == nil && !f.lrFind && f.com.SkipIfCurrent(Classifier, f.com.Out, lineage) {
		owner.RemoveStaleCheckpoints(o.Stderr, f.com.Quiet, f.com.Out, checkpoint, resume)
		return nil
	}
	start := time.Now()
	be := o.Backend
	if be == nil {
		var err error
		if be, err = precision.Backend(f.com.Threads, f.com.Precision); err != nil {
			return err
		}
	}
	popt := o.Progress
	popt.Quiet = popt.Quiet || f.com.Quiet
	prog := train.NewProgress(o.Stderr, popt)

	// The encoder: from the LM, or from scratch.
	var vocab *artifacts.Vocab
	dir := f.com.Direction()
	if lmArt != nil {
		if lmArt.Direction != "" && lmArt.Direction != dir {
			hint := "pass --backward"
			if artifacts.IsBackward(dir) {
				hint = "drop --backward"
			}
			return cli.BadInput(fmt.Errorf("%s is a %s language model but the classifier is %s: %s, or use the other LM", f.from, dirWord(lmArt.Direction), dirWord(dir), hint))
		}
		vocab = lmArt.Vocab
	}

	// Training data (its vocabulary is the model's when from scratch).
	if f.fromScratch {
		h, err := readHeader(f.data)
		if err != nil {
			return err
		}
		vocab = h.Vocab
		if enc, err = nn.Preset(f.com.Preset); err != nil {
			return cli.Usage("%v", err)
		}
		if f.com.Arch != "" {
			enc.Arch = f.com.Arch
		}
		if enc.Arch == nn.ArchLSTM {
			enc.Arch = "" // as every LSTM config before the QRNN
		}
		enc.VocabSize = vocab.Len()
	}
	pad, ok := vocab.ID("xxpad")
	if !ok {
		return cli.BadInput(fmt.Errorf("%s: the vocabulary has no xxpad token", firstNonEmpty(f.from, f.data)))
	}
	enc.PadID = pad
	enc.OutputDropout, enc.HiddenDropout, enc.InputDropout, enc.EmbedDropout, enc.WeightDropout = f.drops[0], f.drops[1], f.drops[2], f.drops[3], f.drops[4]
	enc = enc.WithDropoutMult(f.dropMult)

	if lmArt != nil {
		h, err := readHeader(f.data)
		if err != nil {
			return err
		}
		if err := train.CheckTokenizer(f.data, h.Tokenizer, f.from, lmArt.Tokenizer); err != nil {
			return cli.BadInput(err)
		}
	}
	trainData, err := clftrain.LoadData(f.data, clftrain.Target{Vocab: vocab, Backward: f.com.Backward, RequireLabels: true, MaxRemapUnk: f.maxUnk})
	if err != nil {
		return err
	}
	labels := trainData.LabelNames
	if len(labels) < 2 && !trainData.MultiLabel {
		return cli.BadInput(fmt.Errorf("%s: %d label names: a classifier needs at least two classes", f.data, len(labels)))
	}
	if !f.com.Quiet && f.from != "" {
		prog.Printf("%s: %s", f.data, trainData.Vocab.String())
	}
	tr, va := trainData.Examples, []clftrain.Example(nil)
	var validData *clftrain.Data
	if f.valid != "" {
		validData, err = clftrain.LoadData(f.valid, clftrain.Target{Vocab: vocab, LabelNames: labels, Backward: f.com.Backward, RequireLabels: true, MaxRemapUnk: f.maxUnk})
		if err != nil {
			return err
		}
		if validData.MultiLabel != trainData.MultiLabel {
			return cli.BadInput(fmt.Errorf("%s and %s: one is multi-label, the other is not", f.data, f.valid))
		}
		va = validData.Examples
	} else if f.validFrac > 0 {
		ti, vi, err := clftrain.StratifiedSplit(tr, f.validFrac, train.NewRNG(f.com.Seed, train.StreamSplit))
		if err != nil {
			return cli.Usage("--valid-frac: %v", err)
		}
		all := tr
		tr, va = subset(all, ti), subset(all, vi)
	}
	var testData *clftrain.Data
	if f.test != "" {
		testData, err = clftrain.LoadData(f.test, clftrain.Target{Vocab: vocab, LabelNames: labels, Backward: f.com.Backward, RequireLabels: true, MaxRemapUnk: f.maxUnk})
		if err != nil {
			return err
		}
		if testData.MultiLabel != trainData.MultiLabel {
			return cli.BadInput(fmt.Errorf("%s and %s: one is multi-label, the other is not", f.data, f.test))
		}
	}
	if len(tr) < 2 {
		return cli.BadInput(fmt.Errorf("%s: %d training documents after the validation holdout: need at least 2", f.data, len(tr)))
	}

	// The model.
	cfg := nn.DefaultClassifierConfig(enc, len(labels))
	cfg.MultiLabel = trainData.MultiLabel
	cfg.Hidden = f.headHidden
	cfg.BPTT, cfg.MaxLen, cfg.BackpropAcrossChunks = f.bptt, f.maxLen, f.acrossChunk
	if f.headDrop != nil {
		cfg.HeadDropouts = f.headDrop
	} else {
		cfg.HeadDropouts = []float32{enc.OutputDropout}
		for range f.headHidden {
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
	if err := memcheck.Check(nn.EstimateClassifierMemory(cfg, f.bs, maxDoc).WithEval(2*f.bs), int64(f.maxMemory)); err != nil {
		return cli.BadInput(err)
	}
	model, err := nn.NewClassifier(cfg, be)
	if err != nil {
		return cli.Usage("%v", err)
	}
	model.Init(train.Mix(f.com.Seed, uint64(train.StreamInit)))
	if lmArt != nil {
		if err := train.LoadTensors(model.Enc.Params(), lmArt.Tensors, f.from, false); err != nil {
			return err
		}
	}
	cw, err := clftrain.ClassWeights(f.classW, tr, len(labels), cfg.MultiLabel)
	if err != nil {
		return cli.Usage("--class-weights: %v", err)
	}
	model.ClassWeights = cw

	phases, err := mode.Plan(clftrain.PlanConfig{Groups: model.NumGroups(), Epochs: f.epochs, LR: f.lr, Discr: f.discr})
	if err != nil {
		return cli.Usage("%v", err)
	}
	sched := clftrain.DefaultSchedule()
	sched.CutFrac, sched.Ratio = f.cutFrac, f.ratio

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

	metricsLog, err := train.OpenMetrics(f.com.Log, resume != "")
	if err != nil {
		return err
	}
	defer metricsLog.Close()

	tn := &clftrain.Trainer{
		Cfg: clftrain.Config{Phases: phases, Schedule: sched, BS: f.bs, ValidBS: 2 * f.bs, Beta1: f.betas[0], Clip: f.clip,
			Seed: f.com.Seed, EarlyStop: f.patience, CheckpointEvery: f.ckpt.Duration(), CheckpointSteps: f.ckpt.Steps},
		Model: model, Opt: nn.NewAdam(be, model.Params(), f.betas[0], f.betas[1], f.eps, f.wd),
		Train: tr, Valid: va, Progress: prog, Metrics: metricsLog,
		Template: tmpl, CheckpointPath: checkpoint, OnStep: o.OnStep,
	}
	if f.lrFind {
		return clfLRFind(ctx, tn, &f, prog, lrBase, o.Stderr)
	}
	if resume != "" {
		ck, err := artifacts.ReadModel(resume, artifacts.KindClassifier)
		if err != nil {
			return err
		}
		if d := artifacts.LineageMismatch(ck.Lineage, lineage, owner.Ignore...); d != "" {
			return cli.BadInput(fmt.Errorf("%s: resume with the flags and inputs of the interrupted run: %s", resume, d))
		}
		if err := tn.ResumeFrom(ck, resume); err != nil {
			return err
		}
		prog.Printf("resuming %s at epoch %d, step %d", resume, tn.State.Epoch+1, tn.State.Step)
	}
	if !f.com.Quiet {
		if precisionNote != "" {
			prog.Printf("%s: %s", Classifier, precisionNote)
		}
		prog.Printf("%s: %s, %d train / %d valid documents, %d classes, %d layer groups, %d parameters, backend %s",
			Classifier, f.mode, len(tr), len(va), len(labels), model.NumGroups(), nn.NumParams(model.Params()), be.Name())
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
		ev, err := clftrain.Evaluate(ctx, model, testData.Examples, 2*f.bs)
		if err != nil {
			return err
		}
		tres = &testResult{Path: f.test, N: ev.N, Error: ev.Error, Loss: ev.Loss}
	}
	vrep := map[string]*clftrain.VocabReport{f.data: &trainData.Vocab}
	if validData != nil {
		vrep[f.valid] = &validData.Vocab
	}
	if testData != nil {
		vrep[f.test] = &testData.Vocab
	}
	metrics, err := json.Marshal(struct {
		*clftrain.Result
		Mode  string                           `json:"mode"`
		Train int                              `json:"train_docs"`
		Valid int                              `json:"valid_docs"`
		Test  *testResult                      `json:"test,omitempty"`
		Vocab map[string]*clftrain.VocabReport `json:"vocab"`
	}{res, f.mode, len(tr), len(va), tres, vrep})
	if err != nil {
		return err
	}
	art, err := tn.Artifact(false, metrics)
	if err != nil {
		return err
	}
	if err := artifacts.WriteModel(f.com.Out, art); err != nil {
		return err
	}
	metricsLog.Write(train.Record{Type: "summary", Step: res.Steps, TokensPerSec: train.Float(res.TokensPerSec),
		Extra: map[string]any{"best_epoch": res.BestEpoch, "peak_rss_bytes": cli.PeakRSS(), "wall_seconds": time.Since(start).Seconds()}})
	os.Remove(checkpoint) // the run is complete: its checkpoint is no longer needed

	if !f.com.Quiet {
		line := fmt.Sprintf("%s: %s %s, %d epochs", Classifier, f.mode, dir, len(res.Epochs))
		if res.BestValidError != nil {
			line += fmt.Sprintf(", best valid error %.2f%% (epoch %d)", 100**res.BestValidError, res.BestEpoch)
		}
		if tres != nil {
			line += fmt.Sprintf(", test error %.2f%% (n=%d)", 100*tres.Error, tres.N)
		}
		line += fmt.Sprintf(", %s, peak RSS %d MiB -> %s", train.FormatDuration(time.Since(start)), cli.PeakRSS()>>20, f.com.Out)
		fmt.Fprintln(o.Stderr, line)
	}
	return nil
}

// clfLRFind runs the LR range test and writes its CSV and plot at base
// (train.LRFindPaths).
func clfLRFind(ctx context.Context, tn *clftrain.Trainer, f *clfFlags, prog *train.Progress, base string, stderr io.Writer) error {
	lf, err := tn.LRFind(ctx, train.LRFindConfig{Start: 1e-7, End: 10, Iters: f.lrFindIters, StopDiv: true})
	if err != nil {
		return err
	}
	valley, ok := lf.Valley()
	if !ok {
		return fmt.Errorf("lr find: only %d steps before the loss diverged", len(lf.LRs))
	}
	steep, _ := lf.Steep()
	title := fmt.Sprintf("%s lr find (%s, %s)", Classifier, f.mode, tn.Cfg.Phases[0].Name)
	if err := lf.WriteFiles(base, title, valley, steep); err != nil {
		return err
	}
	tn.Metrics.WriteAny(map[string]any{"type": "summary", "mode": "lr_find", "valley": valley, "steep": steep, "steps": len(lf.LRs)})
	if !f.com.Quiet {
		fmt.Fprintf(stderr, "%s lr find: %d steps, valley lr %.3g, steep lr %.3g -> %s.csv, %s.png\n", Classifier, len(lf.LRs), valley.LR, steep.LR, base, base)
	}
	return nil
}

func dirWord(d string) string {
	if artifacts.IsBackward(d) {
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

// subset returns the examples of all at the indices idx.
func subset(all []clftrain.Example, idx []int) []clftrain.Example {
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
