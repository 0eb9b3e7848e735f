// Command tokenize is the first ULMFiT stage: raw text in, a tokens artifact (token ids,
// vocabulary, labels, tokenizer settings) out.
//
//	tokenize [flags] INPUT... --out train.tokens.arrow
//
// Inputs are CSV/TSV, JSON lines, one document per line (.txt), WikiText .tokens, TREC
// .label files or DIR/<label>/*.txt folders, optionally .zst or .gz compressed; several
// inputs are concatenated. See tokenize/README.md. The command itself is
// tokenize/internal/tokcmd.
package main

import (
	"context"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/tokenize/internal/tokcmd"
)

const synopsis = "[flags] INPUT... --out OUT.tokens.arrow"

const help = `Tokenize raw text (fastai v2 rules, spaCy-like English words) into a tokens artifact.
INPUT: .csv .tsv .jsonl .txt .tokens (WikiText) .label (TREC) or a DIR/<label>/*.txt
folder, optionally .zst/.gz compressed. Several inputs are concatenated.

Subword pieces (SentencePiece, as MultiFiT): --subword unigram --vocab-size N trains a
unigram model on the words the rules leave and splits them into its pieces; --model
FILE.model uses a model from spm_train; an artifact given to --vocab or --tokenizer-from
brings its model along. The model is stored in the artifact, so every later stage and
evaluate predict/serve split new text the same way.`

func main() { cli.Main("tokenize", run) }

func run(ctx context.Context, args []string) error {
	return tokcmd.Run(ctx, synopsis, help, args, tokcmd.Options{})
}
