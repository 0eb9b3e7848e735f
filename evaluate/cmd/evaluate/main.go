// Command evaluate applies classifier artifacts and reports on their
// predictions:
//
//	evaluate --model CLF.arrow --data TEST.tokens.arrow --out PREDS.arrow
//	evaluate report PREDS.arrow [--log TRAIN.jsonl ...] --out-dir DIR
//	evaluate predict --model CLF.arrow [--text "..." ...] [--input FILE]
//	evaluate plot -o OUT.png [--title T] [--xlabel X] [--ylabel Y] [--logx] FILE.tsv
//	evaluate serve --model CLF.arrow [--model CLF2.arrow] [--addr HOST:PORT]
//	evaluate lm --model LM.arrow --data TOKENS.arrow [--bs 64] [--bptt 70]
//
// The command itself is evaluate/internal/evalcmd.
package main

import (
	"context"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/evaluate/internal/evalcmd"
)

const synopsis = "--model CLF.arrow --data TOKENS.arrow --out PREDS.arrow [flags]"

const help = `Predicts every document of a tokens artifact (labeled or not) with a
classifier artifact and writes a predictions artifact (id, label, probs,
pred); with labels, prints the error rate and writes metrics into the
artifact (and to --metrics). The tokens artifact's ids are mapped onto the
model's vocabulary by token string when the vocabularies differ, and
documents are reversed for backward models, exactly as clftune does.

Subcommands:
  evaluate report PREDS.arrow [--log TRAIN.jsonl ...] --out-dir DIR
      metrics.json, report.md and PNG plots (confusion matrix, training curves)
  evaluate predict --model CLF.arrow [--text "..."]... [--input FILE]
      classify raw text (stdin lines by default), JSON lines on stdout
  evaluate plot -o OUT.png [--title T] [--xlabel X] [--ylabel Y] [--logx] FILE.tsv
      a line chart (one line per series, optional error bars) from a TSV
  evaluate serve --model CLF.arrow [--model CLF2.arrow] [--addr HOST:PORT]
      an HTTP server (JSON predictions, batching, metrics, a small web page)
  evaluate lm --model LM.arrow --data TOKENS.arrow [--bs 64] [--bptt 70]
      loss and perplexity of a language model on a tokens artifact

Example:
  evaluate --model trec.clf.arrow --data trec.test.tokens.arrow --out trec.test.preds.arrow`

func main() { cli.Main("evaluate", run) }

func run(ctx context.Context, args []string) error {
	return evalcmd.Run(ctx, synopsis, help, args, evalcmd.Options{})
}
