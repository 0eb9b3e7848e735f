package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/memcheck"
)

// LMStage describes one run of a language-model stage: pretraining from
// scratch (From == "") or fine-tuning an lm artifact (From set), or, with
// LRFind, only the learning-rate range test.
type LMStage struct {
	Name     string // "pretrain" or "lmtune"
	Producer string // e.g. "pretrain v0.1.0"
	// PrecisionNote, if set, is printed once the inputs are checked: why
	// an asked-for bf16 runs in fp32 (stage/precision.Resolve).
	PrecisionNote string

	TrainPaths []string // tokens artifacts to train on (one vocab)
	ValidPath  string   // held-out tokens artifact ("" = none)
	ValidFrac  float64  // or: hold out this fraction of the documents
	From       string   // lm artifact to start from ("" = from scratch)

	// Model is the architecture for training from scratch (VocabSize and
	// PadID are taken from the corpus vocab) and, when fine-tuning, the
	// source of the dropouts and AR/TAR (sizes come from From).
	Model nn.LMConfig
	Train LMTrainConfig
	// ScheduleName is recorded for resume checks ("stlr", "one-cycle", ...),
	// MomsName likewise for the momentum schedule ("" = none).
	ScheduleName, MomsName string
	Beta1, Beta2, Eps, WD  float64

	Backend nn.Backend
	Out     string
	// Checkpoint is where checkpoints go (default CheckpointPath(Out));
	// it is removed after the final artifact is written.
	Checkpoint string
	// Resume continues the run saved in this checkpoint ("" = fresh run).
	Resume string

	// MaxMemory is the memory limit in bytes checked (stage/memcheck) once
	// the model configuration is known and before the model is allocated:
	// 0 checks against MemAvailable (no check when unknown), < 0 not at
	// all. A run that would not fit fails with a BadInputError that
	// matches memcheck.ErrTooBig and suggests a smaller --bs or preset.
	MaxMemory int64

	LRFind    bool         // run the LR range test instead of training
	LRFindCfg LRFindConfig // zero fields: fastai defaults

	Log      string    // JSONL metrics file ("" = none)
	Quiet    bool      // no progress output
	Stderr   io.Writer // progress and messages (default os.Stderr)
	Progress ProgressOptions
	Params   map[string]any // the stage's flags, recorded in the artifact
	// LineageIgnore lists the params left out when a checkpoint's lineage
	// is compared with this run's (--resume, stale checkpoints): the flags
	// that name input files (the inputs are compared by their hashes, so
	// the same bytes under another name match) and run-only flags.
	LineageIgnore []string
	// OnStep is passed to the trainer (tests).
	OnStep func(*TrainState)
	// UpToDate, if set and not in LRFind mode, is called with the lineage
	// of the artifact the run would write (see Lineage) before any data or
	// model is loaded; when it returns true (Out already is that artifact:
	// cli.Common.SkipIfCurrent) RunLMStage does nothing and returns a result
	// with Skipped set.
	UpToDate func(artifacts.Lineage) bool
}

// LMStageResult is what RunLMStage returns.
type LMStageResult struct {
	*LMResult
	Corpus      *Corpus
	ValidTokens int64
	Transfer    *VocabRemap // vocab transfer when fine-tuning (nil: same vocab)
	Config      nn.LMConfig
	Params      int // trainable parameter count
	Resumed     bool
	// LR finder results (LRFind mode).
	Finder        *LRFinder
	Valley, Steep Suggestion
	LRFindFiles   []string
	// Skipped: UpToDate said Out is up to date; nothing was done.
	Skipped bool
}

// Lineage returns the lineage of the lm artifact the stage writes: its
// producer and params, and its inputs with their hashes, in this order: the
// training files, the validation file, the --from model (also when
// resuming, so that a resumed run records what an uninterrupted one does).
func (s *LMStage) Lineage() (artifacts.Lineage, error) {
	lin := artifacts.Lineage{Kind: artifacts.KindLM, Producer: s.Producer, Params: s.Params}
	var err error
	lin.Inputs, err = cli.Inputs(slices.Concat(s.TrainPaths, []string{s.ValidPath, s.From})...)
	return lin, err
}

// resumeKey holds the settings a resumed run must share with the original.
type resumeKey struct {
	Stage        string  `json:"stage"`
	Epochs       int     `json:"epochs"`
	FreezeEpochs int     `json:"freeze_epochs"`
	BS           int     `json:"bs"`
	BPTT         int     `json:"bptt"`
	VarBPTT      bool    `json:"var_bptt"`
	ScaleLR      bool    `json:"scale_lr"`
	LR           float64 `json:"lr"`
	FreezeLR     float64 `json:"freeze_lr"`
	Discr        float64 `json:"discr"`
	Schedule     string  `json:"schedule"`
	Moms         string  `json:"moms,omitempty"`
	Clip         float64 `json:"clip"`
	Seed         uint64  `json:"seed"`
	Backward     bool    `json:"backward"`
	Beta1        float64 `json:"beta1"`
	Beta2        float64 `json:"beta2"`
	Eps          float64 `json:"eps"`
	WD           float64 `json:"wd"`
}

func (s *LMStage) key() resumeKey {
	c := s.Train
	return resumeKey{Stage: s.Name, Epochs: c.Epochs, FreezeEpochs: c.FreezeEpochs, BS: c.BS, BPTT: c.BPTT, VarBPTT: c.VarBPTT,
		ScaleLR: c.ScaleLR, LR: c.LR, FreezeLR: c.FreezeLR, Discr: c.Discr, Schedule: s.ScheduleName, Moms: s.MomsName, Clip: c.Clip, Seed: c.Seed,
		Backward: c.Backward, Beta1: s.Beta1, Beta2: s.Beta2, Eps: s.Eps, WD: s.WD}
}

// diffKeys lists the fields that differ between two keys, as "name (checkpoint X, now Y)".
func diffKeys(a, b resumeKey) []string {
	var ma, mb map[string]any
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	_ = json.Unmarshal(ja, &ma)
	_ = json.Unmarshal(jb, &mb)
	var out []string
	for _, k := range []string{"stage", "epochs", "freeze_epochs", "bs", "bptt", "var_bptt", "scale_lr", "lr", "freeze_lr", "discr", "schedule", "moms", "clip", "seed", "backward", "beta1", "beta2", "eps", "wd"} {
		if fmt.Sprint(ma[k]) != fmt.Sprint(mb[k]) {
			out = append(out, fmt.Sprintf("%s (checkpoint %v, now %v)", k, ma[k], mb[k]))
		}
	}
	return out
}

// BadInputError marks an error in the user's input that is not an
// *artifacts.Error (stages map it to exit code 2).
type BadInputError struct{ Err error }

// Error returns the wrapped error's message.
func (e *BadInputError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *BadInputError) Unwrap() error { return e.Err }

func badInput(format string, a ...any) error { return &BadInputError{Err: fmt.Errorf(format, a...)} }

// checkMemory estimates the training memory of cfg at the stage's batch
// size and longest window and checks it against MaxMemory.
func (s *LMStage) checkMemory(cfg nn.LMConfig) error {
	t := s.Train.BPTT
	if s.Train.VarBPTT {
		t += MaxExtraSeq
	}
	if err := memcheck.Check(nn.EstimateLMMemory(cfg, s.Train.BS, t), s.MaxMemory); err != nil {
		return &BadInputError{Err: err}
	}
	return nil
}

// CheckpointPath returns the checkpoint path of the stage: Checkpoint, or
// by default CheckpointPath(Out).
func (s *LMStage) CheckpointPath() string {
	if s.Checkpoint != "" {
		return s.Checkpoint
	}
	return CheckpointPath(s.Out)
}

func direction(backward bool) string {
	if backward {
		return artifacts.DirBackward
	}
	return artifacts.DirForward
}

// RunLMStage loads the data, builds (or loads, or resumes) the model, trains
// it and writes the lm artifact to Out; with LRFind it runs the range test
// and writes its curve instead. Input problems are returned as
// *artifacts.Error or *BadInputError.
func RunLMStage(ctx context.Context, s *LMStage) (*LMStageResult, error) {
	if s.Stderr == nil {
		s.Stderr = os.Stderr
	}
	if s.Backend == nil {
		s.Backend = nn.Reference()
	}
	opt := s.Progress
	opt.Quiet = opt.Quiet || s.Quiet
	prog := NewProgress(s.Stderr, opt)
	res := &LMStageResult{}

	// The lineage first, so that an up-to-date Out costs only the hashing.
	// A file that cannot be hashed is reported where it is read.
	lineage, linErr := s.Lineage()
	if linErr == nil && !s.LRFind && s.UpToDate != nil && s.UpToDate(lineage) {
		s.checkpointOwner(lineage).RemoveStaleCheckpoints(s.Stderr, s.Quiet, s.Out, s.CheckpointPath(), s.Resume)
		res.Skipped = true
		return res, nil
	}

	corpus, err := LoadCorpus(s.TrainPaths...)
	if err != nil {
		return nil, err
	}
	res.Corpus = corpus
	vocab := corpus.Header.Vocab
	trainDocs, validDocs := corpus.Docs, [][]int32(nil)
	switch {
	case s.ValidPath != "":
		vc, err := LoadCorpus(s.ValidPath)
		if err != nil {
			return nil, err
		}
		if vc.Header.Vocab.Hash() != vocab.Hash() {
			return nil, &artifacts.Error{Path: s.ValidPath, Field: artifacts.MetaVocab, Err: ErrVocabMismatch,
				Msg: fmt.Sprintf("vocabulary differs from the training data %s: tokenize both with the same vocab", s.TrainPaths[0])}
		}
		validDocs = vc.Docs
	case s.ValidFrac > 0:
		if trainDocs, validDocs, err = SplitValid(corpus.Docs, s.ValidFrac, s.Train.Seed); err != nil {
			return nil, &BadInputError{Err: err}
		}
	}
	for _, d := range validDocs {
		res.ValidTokens += int64(len(d))
	}
	train := &LMData{Docs: trainDocs, BS: s.Train.BS}
	if err := train.Check(); err != nil {
		return nil, &BadInputError{Err: fmt.Errorf("%s: %w", s.TrainPaths[0], err)}
	}

	// The model: resumed, fine-tuned from an lm artifact, or new.
	var lm *nn.LM
	var ckpt *artifacts.Model
	tokenizer := corpus.Header.Tokenizer
	be := s.Backend
	switch {
	case s.Resume != "":
		ckpt, err = artifacts.ReadModel(s.Resume, artifacts.KindLM)
		if err != nil {
			return nil, err
		}
		// First what makes it another run's checkpoint (settings, then
		// params and inputs), then whether it fits this data and memory.
		st, err := ParseTrainState(ckpt.TrainState)
		if err != nil {
			return nil, &artifacts.Error{Path: s.Resume, Field: artifacts.MetaTrainState, Err: artifacts.ErrCorrupt, Msg: err.Error()}
		}
		var was resumeKey
		if err := json.Unmarshal(st.Extra, &was); err != nil || was.Stage == "" {
			return nil, &artifacts.Error{Path: s.Resume, Field: artifacts.MetaTrainState, Err: artifacts.ErrCorrupt,
				Msg: "no run settings in the training state: not a checkpoint of " + s.Name}
		}
		if st.Finished {
			return nil, &artifacts.Error{Path: s.Resume, Field: artifacts.MetaTrainState, Err: artifacts.ErrWrongKind,
				Msg: "the model of a finished run, not a checkpoint: rerun without --resume (lmtune --from fine-tunes a finished model)"}
		}
		if d := diffKeys(was, s.key()); len(d) > 0 {
			return nil, badInput("%s: a checkpoint of another run: %s differ; pass the flags of the interrupted run, or rerun without --resume to start afresh",
				s.Resume, strings.Join(d, ", "))
		}
		if linErr == nil {
			if d := artifacts.LineageMismatch(ckpt.Lineage, lineage, s.LineageIgnore...); d != "" {
				return nil, badInput("%s: a checkpoint of another run: %s; pass the flags and data of the interrupted run, or rerun without --resume to start afresh",
					s.Resume, d)
			}
		}
		cfg, err := LMConfigOf(ckpt, s.Resume)
		if err != nil {
			return nil, err
		}
		if err := corpus.CheckVocab(s.TrainPaths[0], ckpt.Vocab, s.Resume); err != nil {
			return nil, err
		}
		if err := s.checkMemory(cfg); err != nil {
			return nil, err
		}
		if lm, err = nn.NewLM(cfg, be); err != nil {
			return nil, err
		}
		res.Resumed = true
	case s.From != "":
		src, am, err := LoadLM(s.From, be)
		if err != nil {
			return nil, err
		}
		if am.Direction != direction(s.Train.Backward) {
			hint := "pass --backward"
			if am.Direction == artifacts.DirForward {
				hint = "drop --backward"
			}
			return nil, &artifacts.Error{Path: s.From, Field: artifacts.MetaDirection, Err: artifacts.ErrWrongKind,
				Msg: fmt.Sprintf("the model is %s but this run is %s: %s", am.Direction, direction(s.Train.Backward), hint)}
		}
		if err := CheckTokenizer(s.TrainPaths[0], corpus.Header.Tokenizer, s.From, am.Tokenizer); err != nil {
			return nil, err
		}
		cfg := s.Model
		mc := src.Cfg
		mc.VocabSize = vocab.Len()
		if err := s.checkMemory(mc); err != nil {
			return nil, err
		}
		if lm, res.Transfer, err = TransferLM(src, cfg, am.Vocab, vocab); err != nil {
			return nil, err
		}
		if len(am.Tokenizer) > 0 && len(tokenizer) == 0 {
			tokenizer = am.Tokenizer
		}
	default:
		cfg := s.Model
		cfg.VocabSize = vocab.Len()
		cfg.PadID = padID(vocab)
		if err := cfg.Validate(); err != nil {
			return nil, &BadInputError{Err: err}
		}
		if err := s.checkMemory(cfg); err != nil {
			return nil, err
		}
		if lm, err = nn.NewLM(cfg, be); err != nil {
			return nil, err
		}
		lm.Init(Mix(s.Train.Seed, uint64(StreamInit)))
	}
	if linErr != nil {
		return nil, linErr
	}
	res.Config = lm.Cfg
	res.Params = nn.NumParams(lm.Params())
	cfgJSON, err := json.Marshal(lm.Cfg)
	if err != nil {
		return nil, err
	}

	metrics, err := OpenMetrics(s.Log, res.Resumed)
	if err != nil {
		return nil, &BadInputError{Err: err}
	}
	defer metrics.Close()

	keyJSON, _ := json.Marshal(s.key())
	tr := &LMTrainer{
		Cfg:      s.Train,
		Model:    lm,
		Opt:      nn.NewAdam(be, lm.Params(), s.Beta1, s.Beta2, s.Eps, s.WD),
		Train:    train,
		State:    TrainState{Stage: s.Name, Extra: keyJSON},
		Progress: prog,
		Metrics:  metrics,
		Template: artifacts.Model{
			Lineage:   lineage,
			Config:    cfgJSON,
			Vocab:     vocab,
			Tokenizer: tokenizer,
			Direction: direction(s.Train.Backward),
		},
		CheckpointPath: s.CheckpointPath(),
		OnStep:         s.OnStep,
	}
	if len(validDocs) > 0 {
		tr.Valid = &LMData{Docs: validDocs}
	}
	if ckpt != nil {
		if err := tr.ResumeFrom(ckpt, s.Resume); err != nil {
			return nil, err
		}
		tr.State.Extra = keyJSON
		prog.Printf("resuming %s at epoch %d, step %d", s.Resume, tr.State.Epoch+1, tr.State.Step)
	}
	// After the inputs and the checkpoint are checked, so that bad input
	// still gets its one line; the backend says which GEMM (and whether its
	// inputs are rounded to bf16: ULMFIT_GEMM_BF16) the run gets.
	if s.PrecisionNote != "" {
		prog.Printf("%s: %s", s.Name, s.PrecisionNote)
	}
	prog.Printf("%s: %s LM, %s, %d train / %d valid documents, %d parameters, backend %s",
		s.Name, lm.Cfg.ArchName(), direction(s.Train.Backward), len(trainDocs), len(validDocs), res.Params, be.Name())

	if s.LRFind {
		f, err := tr.LRFind(ctx, s.LRFindCfg)
		if err != nil {
			return nil, err
		}
		res.Finder = f
		var ok bool
		if res.Valley, ok = f.Valley(); !ok {
			return nil, fmt.Errorf("lr find: only %d steps before the loss diverged: lower the start LR", len(f.LRs))
		}
		res.Steep, _ = f.Steep()
		base, files := LRFindPaths(s.Out)
		title := fmt.Sprintf("%s lr find (%s)", s.Name, direction(s.Train.Backward))
		if err := f.WriteFiles(base, title, res.Valley, res.Steep); err != nil {
			return nil, err
		}
		res.LRFindFiles = files
		metrics.WriteAny(map[string]any{"type": "summary", "mode": "lr_find", "valley": res.Valley, "steep": res.Steep, "steps": len(f.LRs)})
		return res, nil
	}

	out, err := tr.Run(ctx)
	if err != nil {
		return nil, err
	}
	res.LMResult = out
	// The artifact's metrics are deterministic (no timings): the same run
	// gives the same bytes; timings go to the log and the summary line.
	summary := map[string]any{
		"tokens_trained": tr.State.Tokens, "steps": tr.State.Step, "epochs": tr.State.History,
		"train_tokens": train.NTokens(), "valid_tokens": res.ValidTokens, "params": res.Params,
	}
	if tr.Valid != nil {
		summary["valid_loss"], summary["valid_ppl"] = Float(out.ValidLoss), Float(out.ValidPPL)
		summary["best_valid_loss"], summary["best_epoch"] = Float(out.BestValid), tr.State.BestEpoch
	}
	if res.Transfer != nil {
		summary["vocab_copied"], summary["vocab_new"] = res.Transfer.Copied, res.Transfer.Added
	}
	mj, err := json.Marshal(summary)
	if err != nil {
		return nil, err
	}
	final, err := tr.Artifact(false, mj)
	if err != nil {
		return nil, err
	}
	if err := artifacts.WriteModel(s.Out, final); err != nil {
		return nil, fmt.Errorf("writing %s: %w", s.Out, err)
	}
	summary["type"] = "summary"
	summary["tokens_per_sec"], summary["seconds"], summary["backend"] = Float(out.TokensPerSec), Float(out.Seconds), be.Name()
	metrics.WriteAny(summary)
	if err := os.Remove(s.CheckpointPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		prog.Printf("note: could not remove the checkpoint %s: %v", s.CheckpointPath(), err)
	}
	return res, nil
}

// checkpointOwner says which checkpoints are this run's (lin is the
// lineage of its output): unfinished training states of this stage with
// its settings (the resume key) and lineage.
func (s *LMStage) checkpointOwner(lin artifacts.Lineage) CheckpointOwner {
	return CheckpointOwner{Stage: s.Name, Lineage: lin, Ignore: s.LineageIgnore, Settings: func(st *TrainState) bool {
		var was resumeKey
		return json.Unmarshal(st.Extra, &was) == nil && len(diffKeys(was, s.key())) == 0
	}}
}

// padID returns the id of xxpad in v, or -1.
func padID(v *artifacts.Vocab) int32 {
	if id, ok := v.ID("xxpad"); ok {
		return id
	}
	return -1
}

// TransferLM returns a new LM for vocabulary to (on src's backend) with
// src's sizes and cfg's dropouts and AR/TAR, holding src's weights: by token
// string for the vocabulary-indexed tensors (rows of new tokens get the mean
// row and the mean decoder bias, as fastai's match_embeds) and as they are
// otherwise. The remap is nil when the vocabularies are equal.
func TransferLM(src *nn.LM, cfg nn.LMConfig, from, to *artifacts.Vocab) (*nn.LM, *VocabRemap, error) {
	c := src.Cfg
	c.OutputDropout, c.HiddenDropout, c.InputDropout, c.EmbedDropout, c.WeightDropout = cfg.OutputDropout, cfg.HiddenDropout, cfg.InputDropout, cfg.EmbedDropout, cfg.WeightDropout
	c.ARAlpha, c.TARBeta = cfg.ARAlpha, cfg.TARBeta
	c.VocabSize = to.Len()
	c.PadID = padID(to)
	lm, err := nn.NewLM(c, src.Backend())
	if err != nil {
		return nil, nil, err
	}
	remap := NewVocabRemap(from.Tokens, to.Tokens) // the identity for equal vocabs
	if err := transferLM(lm, src, remap); err != nil {
		return nil, nil, err
	}
	if from.Hash() == to.Hash() {
		return lm, nil, nil
	}
	return lm, remap, nil
}

// transferLM copies src's weights into dst (same sizes, another vocab):
// vocabulary-indexed tensors (encoder.weight, decoder.weight when untied,
// decoder.bias) through the remap, the rest as they are.
func transferLM(dst, src *nn.LM, r *VocabRemap) error {
	sp := map[string]*nn.Param{}
	for _, p := range src.Params() {
		sp[p.Name] = p
	}
	for _, p := range dst.Params() {
		q, ok := sp[p.Name]
		if !ok {
			return fmt.Errorf("vocab transfer: the source model has no %s", p.Name)
		}
		switch p.Name {
		case "encoder.weight", "decoder.weight", "decoder.bias":
			width := 1
			if len(q.Shape) == 2 {
				width = q.Shape[1]
			}
			copy(p.Data, r.Rows(q.Data, width))
		default:
			copy(p.Data, q.Data)
		}
	}
	// fastai keeps the pad row of the new embedding as transferred (the
	// pad token exists in both vocabularies).
	return nil
}

// SummaryLine formats the one-line summary of a finished training run.
func (r *LMStageResult) SummaryLine(stage, out string, be nn.Backend, peakRSS int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: wrote %s: %s tokens trained in %s (%.0f tok/s)", stage, out, humanCount(float64(r.LMResult.Tokens)),
		FormatDuration(time.Duration(r.Seconds*float64(time.Second))), r.TokensPerSec)
	if !math.IsNaN(r.ValidLoss) {
		fmt.Fprintf(&b, ", valid loss %.4f ppl %s", r.ValidLoss, FormatPPL(r.ValidLoss))
	}
	if r.Transfer != nil {
		fmt.Fprintf(&b, ", vocab %d copied/%d new", r.Transfer.Copied, r.Transfer.Added)
	}
	if peakRSS > 0 {
		fmt.Fprintf(&b, ", peak RSS %d MiB", peakRSS>>20)
	}
	fmt.Fprintf(&b, ", backend %s", be.Name()) // the name says the thread count
	return b.String()
}

func humanCount(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.2fG", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e4:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}
