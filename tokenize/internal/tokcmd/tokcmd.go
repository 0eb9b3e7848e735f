// Package tokcmd is the tokenize command, the first ULMFiT stage: raw text
// in, a tokens artifact (token ids, vocabulary, labels, tokenizer settings)
// out. cmd/tokenize's main is its help and one call to Run. The package is
// internal: no other module may import a stage's command (evaluate uses
// tokenize's library packages only).
package tokcmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/tokenize"
	"github.com/ulmfit-go/ulmfit/tokenize/corpus"
	"github.com/ulmfit-go/ulmfit/tokenize/input"
	"github.com/ulmfit-go/ulmfit/tokenize/sentencepiece"
)

// Version of the stage, recorded as the artifact's producer.
const Version = "tokenize v0.1.0"

// Options are the streams of a run; nil means the process's own. Tests
// replace them.
type Options struct {
	Stdout, Stderr io.Writer
}

// Run runs tokenize with args; its --help prints "Usage: tokenize synopsis"
// and help.
func Run(ctx context.Context, synopsis, help string, args []string, o Options) error {
	o.Stdout, o.Stderr = cli.StdStreams(o.Stdout, o.Stderr)
	return run(ctx, synopsis, help, args, o.Stdout, o.Stderr)
}

type options struct {
	common      cli.Common
	format      string
	textCols    string
	labelCol    string
	noLabel     bool
	noHeader    bool
	labelSep    string
	fine        bool
	unsup       bool
	unlabeled   string
	latin1      bool
	maxVocab    int
	minFreq     int
	vocab       string
	vocabOut    string
	labelsFrom  string
	labelNames  string
	keepEmpty   bool
	strict      bool
	settingsIn  string
	rules       string
	pretok      string
	noBOS       bool
	addEOS      bool
	newline     string
	repDigits   bool
	splitHyph   bool
	noKeepURLs  bool
	noMarkField bool
	subword     string
	vocabSize   int
	coverage    float64
	byteFall    bool
	spModel     string
	spModelOut  string
}

func flags(synopsis, help string, o *options) *pflag.FlagSet {
	fs := cli.NewFlags("tokenize", synopsis, help)
	o.common.Threads = 2
	o.common.Register(fs, "out", "threads", "quiet", "force")
	fs.Lookup("threads").Usage = "tokenizer goroutines"
	fs.StringVar(&o.format, "format", "", "input format: csv, tsv, jsonl, txt, tokens, label, dir (default: from the extension)")
	fs.StringVar(&o.textCols, "text-col", "", "text column(s), comma-separated: names, or 1-based numbers with --no-header; several are joined with xxfld (default text)")
	fs.StringVar(&o.textCols, "text-field", "", "JSON lines: text field(s) (same as --text-col)")
	fs.StringVar(&o.labelCol, "label-col", "", "label column: a name, or a 1-based number with --no-header (default label, when there is one)")
	fs.StringVar(&o.labelCol, "label-field", "", "JSON lines: label field (same as --label-col); its value may be a list (multi-label)")
	fs.BoolVar(&o.noLabel, "no-label", false, "ignore labels (e.g. for language-model text)")
	fs.BoolVar(&o.noHeader, "no-header", false, "CSV/TSV without a header row (AG News)")
	fs.StringVar(&o.labelSep, "label-sep", "", "multi-label: split the label field at this separator, e.g. ';'")
	fs.BoolVar(&o.fine, "fine", false, "TREC: the 50 fine labels (DESC:manner) instead of the 6 coarse ones")
	fs.BoolVar(&o.unsup, "unsup", false, "folder input: also read DIR/unsup (unlabelled)")
	fs.StringVar(&o.unlabeled, "unlabeled", "", "a label value that means no label, e.g. unsup (empty labels always do)")
	fs.BoolVar(&o.latin1, "latin1", false, "inputs are ISO-8859-1, not UTF-8 (TREC .label files always are)")
	fs.IntVar(&o.maxVocab, "max-vocab", 60000, "largest vocabulary, special tokens included (0 = no cap)")
	fs.IntVar(&o.minFreq, "min-freq", 2, "least count of a vocabulary token")
	fs.StringVar(&o.vocab, "vocab", "", "use the vocabulary of this artifact (vocab, tokens, lm or classifier) instead of building one")
	fs.StringVar(&o.vocabOut, "vocab-out", "", "also write the vocabulary as a vocab artifact")
	fs.StringVar(&o.labelsFrom, "labels-from", "", "use the label order of this tokens or classifier artifact")
	fs.StringVar(&o.labelNames, "label-names", "", "a file of class names, one per line: label values 1..N become these names (AG News classes.txt)")
	fs.BoolVar(&o.keepEmpty, "keep-empty", false, "keep documents without text (default: skip and count them)")
	fs.BoolVar(&o.strict, "strict", false, "invalid UTF-8 is an error (default: replace with U+FFFD and count)")
	fs.StringVar(&o.settingsIn, "tokenizer-from", "", "tokenize as the settings stored in this artifact (tokens, lm, classifier) or JSON file say")
	fs.StringVar(&o.rules, "rules", "", "comma-separated rules to apply (default all: "+strings.Join(tokenize.AllRules(), ",")+"); 'none' for none")
	fs.StringVar(&o.pretok, "pretokenized", "auto", "split on whitespace only, no text rules: yes, no, or auto (yes for WikiText .tokens)")
	fs.BoolVar(&o.noBOS, "no-bos", false, "do not start documents with xxbos")
	fs.BoolVar(&o.addEOS, "add-eos", false, "end documents with xxeos")
	fs.StringVar(&o.newline, "newline-token", tokenize.NL, "token for line breaks (empty: line breaks only separate words)")
	fs.BoolVar(&o.repDigits, "rep-digits", false, "let replace_rep rewrite repeated digits (1000 -> 1 xxrep 3 0) as fastai does")
	fs.BoolVar(&o.splitHyph, "split-hyphens", false, "split hyphenated words (well - known)")
	fs.BoolVar(&o.noKeepURLs, "split-urls", false, "split URLs at / and # like fastai (default: keep URLs and e-mails whole)")
	fs.BoolVar(&o.noMarkField, "no-mark-fields", false, "join several text columns with a space instead of xxfld 1 ... xxfld 2 ...")
	fs.StringVar(&o.subword, "subword", "", "split words into subword pieces: unigram trains a SentencePiece unigram model on the inputs (after the rules) and embeds it in the artifact")
	fs.IntVar(&o.vocabSize, "vocab-size", 15000, "--subword: pieces in the model, meta pieces included (MultiFiT: 15000)")
	fs.Float64Var(&o.coverage, "character-coverage", 0.9995, "--subword: share of the characters (by count) that get pieces of their own; the rarest others are unknown (or bytes)")
	fs.BoolVar(&o.byteFall, "byte-fallback", true, "--subword: add the 256 byte pieces, so characters without a piece become bytes instead of xxunk")
	fs.StringVar(&o.spModel, "model", "", "split words with this SentencePiece model (a .model file from spm_train or --model-out); embedded in the artifact")
	fs.StringVar(&o.spModelOut, "model-out", "", "--subword: also write the trained model as a SentencePiece .model file (for spm_encode)")
	return fs
}

func run(ctx context.Context, synopsis, help string, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	var o options
	fs := flags(synopsis, help, &o)
	fs.SetOutput(stdout)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := o.common.Validate(); err != nil {
		return err
	}
	inputs := fs.Args()
	if len(inputs) == 0 {
		return cli.Usage("no input files")
	}
	if o.common.Out == "" {
		return cli.Usage("--out is required")
	}
	if o.minFreq < 1 || o.maxVocab < 0 {
		return cli.Usage("--min-freq must be >= 1 and --max-vocab >= 0")
	}
	if o.format != "" && !contains(input.Formats(), o.format) {
		return cli.Usage("--format %q: want one of %s", o.format, strings.Join(input.Formats(), ", "))
	}
	cfg := corpus.Config{
		Inputs:    inputs,
		MaxVocab:  o.maxVocab,
		MinFreq:   o.minFreq,
		Unlabeled: o.unlabeled,
		KeepEmpty: o.keepEmpty,
		Strict:    o.strict,
		Threads:   o.common.Threads,
		Input: input.Options{
			Format: o.format, LabelCol: o.labelCol, NoLabels: o.noLabel, NoHeader: o.noHeader,
			LabelSep: o.labelSep, Fine: o.fine, Unsup: o.unsup, Latin1: o.latin1,
		},
	}
	if o.textCols != "" {
		for _, c := range strings.Split(o.textCols, ",") {
			if c = strings.TrimSpace(c); c != "" {
				cfg.Input.TextCols = append(cfg.Input.TextCols, c)
			}
		}
	}
	if cfg.Threads == 0 {
		cfg.Threads = 2
	}
	settings, err := makeSettings(fs, &o, inputs)
	if err != nil {
		return err
	}
	if settings, err = subwordSettings(fs, &o, settings); err != nil {
		return err
	}
	cfg.Settings = settings
	var lin artifacts.Lineage
	lin.Producer = Version
	lin.Params = params(fs)
	if o.vocab != "" {
		v, err := artifacts.LoadVocab(o.vocab)
		if err != nil {
			return err
		}
		for i, sp := range settings.Specials {
			if id, ok := v.ID(sp); !ok || int(id) != i {
				return cli.BadInput(fmt.Errorf("%s: the vocabulary does not have special token %s at id %d (it has %d tokens); was it made by this tokenizer?", o.vocab, sp, i, v.Len()))
			}
		}
		cfg.Vocab = v
	}
	if o.labelsFrom != "" {
		names, err := labelsOf(o.labelsFrom)
		if err != nil {
			return err
		}
		cfg.Labels, cfg.LabelsFrom = names, o.labelsFrom
	}
	if o.labelNames != "" {
		m, err := labelNamesOf(o.labelNames)
		if err != nil {
			return err
		}
		cfg.Rename, cfg.RenameFrom = m, o.labelNames
	}
	// Hash inputs before the (long) run, so a missing file fails at once.
	for _, p := range inputs {
		in, err := inputOf(p)
		if err != nil {
			return err
		}
		lin.Inputs = append(lin.Inputs, in)
	}
	for _, p := range []string{o.vocab, o.labelsFrom, o.settingsIn, o.labelNames, o.spModel} {
		if p != "" {
			in, err := artifacts.InputOf(p)
			if err != nil {
				return err
			}
			lin.Inputs = append(lin.Inputs, in)
		}
	}
	// An up-to-date --out (and --vocab-out) is left as it is.
	want := lin
	want.Kind = artifacts.KindTokens
	o.common.Stderr = stderr
	chk := cli.SkipCheck{Out: o.common.Out, Lineage: want}
	for _, p := range []string{o.vocabOut, o.spModelOut} {
		if p != "" {
			chk.Also = append(chk.Also, p)
		}
	}
	if o.common.SkipIf("tokenize", chk) {
		return nil
	}
	var spm *sentencepiece.Model
	if o.subword != "" {
		if cfg, spm, err = trainSubword(ctx, cfg, &o, stderr, start); err != nil {
			return err
		}
		settings = cfg.Settings
	} else if settings.Tokenizer == tokenize.TokSentencePiece && cfg.Vocab == nil {
		if cfg.Vocab, err = corpus.PieceVocab(settings); err != nil {
			return err
		}
	}
	prog := newProgress(stderr, o.common.Quiet, start)
	cfg.Progress = prog.update
	res, err := corpus.Build(ctx, cfg)
	prog.finish()
	if err != nil {
		if corpus.IsInputError(err) {
			return cli.BadInput(err)
		}
		return err
	}
	if err := res.Write(o.common.Out, lin, settings); err != nil {
		return err
	}
	if spm != nil && o.spModelOut != "" {
		if err := spm.Save(o.spModelOut); err != nil {
			return err
		}
	}
	if o.vocabOut != "" {
		vl := lin
		vl.Kind = artifacts.KindVocab
		if err := artifacts.WriteVocab(o.vocabOut, vl, res.Vocab); err != nil {
			return err
		}
	}
	if !o.common.Quiet {
		fmt.Fprintln(stdout, summary(res, time.Since(start), o.common.Out))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// params records every flag that shapes the output (not --threads, --quiet or the
// output paths, so that the same inputs give the same bytes).
func params(fs *pflag.FlagSet) map[string]any {
	p := map[string]any{}
	fs.VisitAll(func(f *pflag.Flag) {
		switch f.Name {
		case "threads", "quiet", "help", "out", "vocab-out", "model-out", "force":
			return // the output does not depend on them
		}
		if f.Name == "text-field" || f.Name == "label-field" {
			return // aliases of text-col / label-col
		}
		if contains(subwordFlags, f.Name) && !fs.Changed("subword") {
			return
		}
		if (f.Name == "subword" || f.Name == "model") && !f.Changed {
			return // word-level runs keep the lineage they always had
		}
		p[f.Name] = f.Value.String()
	})
	return p
}

// inputOf hashes an input file, or the text files of a folder input (path and hash of each).
func inputOf(path string) (artifacts.Input, error) {
	st, err := os.Stat(path)
	if err != nil {
		return artifacts.Input{}, err
	}
	if !st.IsDir() {
		return artifacts.InputOf(path)
	}
	h := sha256.New()
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !input.IsTextFile(p) {
			return nil
		}
		sum, err := artifacts.HashFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		fmt.Fprintf(h, "%s\t%s\n", filepath.ToSlash(rel), sum)
		return nil
	})
	if err != nil {
		return artifacts.Input{}, err
	}
	return artifacts.Input{Path: path, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func summary(res *corpus.Result, d time.Duration, out string) string {
	st := res.Stats
	unk := 0.0
	if st.Tokens > 0 {
		unk = 100 * float64(st.Unk) / float64(st.Tokens)
	}
	secs := d.Seconds()
	mbs := float64(st.TextBytes) / 1e6 / max(secs, 1e-9)
	labels := ""
	if n := len(res.LabelNames); n > 0 {
		kind := "labels"
		if res.MultiLabel {
			kind = "labels (multi-label)"
		}
		labels = fmt.Sprintf(", %d %s", n, kind)
	}
	return fmt.Sprintf("tokenize: %d docs, %d tokens, vocab %d, unk %.2f%%%s, skipped %d empty, %d invalid UTF-8, %.1f MB in %.1fs (%.1f MB/s), peak RSS %d MB -> %s",
		st.Docs, st.Tokens, res.Vocab.Len(), unk, labels, st.SkippedEmpty, st.InvalidUTF8,
		float64(st.TextBytes)/1e6, secs, mbs, cli.PeakRSS()>>20, out)
}
