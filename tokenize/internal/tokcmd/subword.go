package tokcmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/tokenize"
	"github.com/ulmfit-go/ulmfit/tokenize/corpus"
	"github.com/ulmfit-go/ulmfit/tokenize/sentencepiece"
)

// subwordFlags shape only a subword run; they stay out of the lineage otherwise.
var subwordFlags = []string{"vocab-size", "character-coverage", "byte-fallback"}

// subwordSettings applies --subword and --model to the settings, and lets a --vocab
// artifact made with a SentencePiece model bring that model along (its pieces mean
// nothing without it).
func subwordSettings(fs *pflag.FlagSet, o *options, s tokenize.Settings) (tokenize.Settings, error) {
	switch o.subword {
	case "", "unigram":
	default:
		return s, cli.Usage("--subword %q: want unigram (a SentencePiece BPE model can be used with --model)", o.subword)
	}
	if o.subword == "" {
		for _, f := range append(subwordFlags, "model-out") {
			if fs.Changed(f) {
				return s, cli.Usage("--%s needs --subword unigram", f)
			}
		}
	}
	if o.subword != "" || o.spModel != "" {
		if s.Tokenizer == tokenize.TokWhitespace {
			return s, cli.Usage("subword pieces need raw text, not --pretokenized text")
		}
		for _, f := range []string{"max-vocab", "min-freq"} {
			if fs.Changed(f) {
				return s, cli.Usage("--%s does not apply to subword pieces (the model's --vocab-size does)", f)
			}
		}
	}
	switch {
	case o.subword != "" && o.spModel != "":
		return s, cli.Usage("--subword trains a model and --model uses one: give one of them")
	case o.subword != "" && o.vocab != "":
		return s, cli.Usage("--subword trains a new model, so its vocabulary cannot come from --vocab")
	case o.subword != "":
		if o.vocabSize < 1 {
			return s, cli.Usage("--vocab-size must be positive")
		}
		if o.coverage <= 0 || o.coverage > 1 {
			return s, cli.Usage("--character-coverage %g: want a share in (0, 1]", o.coverage)
		}
	case o.spModel != "":
		b, err := os.ReadFile(o.spModel)
		if err != nil {
			return s, err
		}
		m, err := sentencepiece.Parse(b)
		if err == nil {
			_, err = sentencepiece.NewProcessor(m)
		}
		if err != nil {
			return s, cli.BadInput(fmt.Errorf("%s: %w (want a SentencePiece .model file)", o.spModel, err))
		}
		s = s.WithSPModel(b)
	case o.vocab != "" && o.settingsIn == "":
		if vs, err := settingsOf(o.vocab); err == nil && vs.Tokenizer == tokenize.TokSentencePiece {
			s = vs
		}
	}
	return s, nil
}

// trainSubword trains the unigram model on the words of the inputs (a first pass over
// them) and returns cfg set to tokenize with it.
func trainSubword(ctx context.Context, cfg corpus.Config, o *options, stderr io.Writer, start time.Time) (corpus.Config, *sentencepiece.Model, error) {
	wcfg := cfg
	wcfg.Words, wcfg.MaxVocab, wcfg.MinFreq, wcfg.Vocab = true, 0, 1, nil
	prog := newProgress(stderr, o.common.Quiet, start)
	wcfg.Progress = prog.update
	res, err := corpus.Build(ctx, wcfg)
	prog.finish()
	if err != nil {
		if corpus.IsInputError(err) {
			return cfg, nil, cli.BadInput(err)
		}
		return cfg, nil, err
	}
	s := cfg.Settings
	special := map[string]bool{s.Newline: true}
	user := []string{}
	for _, t := range s.Specials {
		special[t] = true
		user = append(user, sentencepiece.Space+t)
	}
	if s.Newline != "" {
		user = append(user, sentencepiece.Space+s.Newline)
	}
	words := make(map[string]int64, res.Vocab.Len())
	for i, t := range res.Vocab.Tokens {
		if !special[t] && res.Vocab.Counts[i] > 0 {
			words[t] = res.Vocab.Counts[i]
		}
	}
	if !o.common.Quiet {
		fmt.Fprintf(stderr, "tokenize: training a %d-piece unigram model on %d distinct words (%d in all)\n", o.vocabSize, len(words), res.Stats.Tokens)
	}
	t0 := time.Now()
	obj := 0.0
	m, err := sentencepiece.Train(ctx, words, sentencepiece.TrainOptions{
		VocabSize:          o.vocabSize,
		CharacterCoverage:  o.coverage,
		UserDefinedSymbols: user,
		ByteFallback:       o.byteFall,
		Threads:            cfg.Threads,
		Progress: func(p sentencepiece.TrainProgress) {
			switch {
			case o.common.Quiet:
			case p.Stage == sentencepiece.TrainEM:
				obj = p.Objective
			case p.Stage == sentencepiece.TrainPruned || p.Stage == sentencepiece.TrainDone:
				fmt.Fprintf(stderr, "tokenize: unigram %s round %d: %d pieces, EM objective %.4f (%s)\n", p.Stage, p.Round, p.Pieces, obj, time.Since(t0).Round(time.Second))
			}
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return cfg, nil, err
		}
		// the trainer's option names are this command's flags
		msg := strings.NewReplacer("VocabSize", "--vocab-size", "CharacterCoverage", "--character-coverage", "(ByteFallback)", "(--byte-fallback)").Replace(err.Error())
		return cfg, nil, cli.Usage("--subword: %s", msg)
	}
	cfg.Settings = s.WithSPModel(m.Marshal())
	if cfg.Vocab, err = corpus.PieceVocab(cfg.Settings); err != nil {
		return cfg, nil, err
	}
	return cfg, m, nil
}
