package lmeval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/precision"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

const description = `The loss (mean cross-entropy per token, nats) and perplexity of a language
model on a tokens artifact: fastai's learn.validate() for an LM, and the same
pass as the validation of pretrain and lmtune (eval mode, no dropout; the
documents in file order concatenated into one stream cut into --bs rows;
windows of --bptt tokens; the hidden state carried from window to window).
A backward model reads every document back to front, as its training did.
The model may be any lm artifact: pretrain, pretrain import, lmtune, or a
checkpoint (OUT.ckpt.arrow, for an OUT.arrow) of an unfinished run.

When the data was tokenized with another vocabulary, its tokens are mapped
onto the model's by string; those the model lacks become xxunk. The count of
xxunk tokens is reported: those already unknown in the data's vocabulary and
those absent from the model's. To reproduce a training run's validation
perplexity, pass its --bs and --bptt.

Prints one line on stderr, or with --json one JSON object on stdout.

Example:
  evaluate lm --model wt103-fwd.arrow --data wt103.valid.tokens.arrow --bs 64 --bptt 70`

// Command runs 'evaluate lm' with args (flags after the subcommand).
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("evaluate lm", "--model LM.arrow --data TOKENS.arrow [--bs 64] [--bptt 70] [--json]", description)
	var com cli.Common
	com.Register(fs, "threads", "precision", "quiet")
	model := fs.String("model", "", "lm `artifact` (or a training checkpoint of one)")
	data := fs.String("data", "", "tokens `artifact` to measure on")
	bs := fs.Int("bs", 64, "rows the stream is cut into (halved for a tiny corpus, as in validation)")
	bptt := fs.Int("bptt", 70, "window length in tokens")
	asJSON := fs.Bool("json", false, "print the result as one JSON object on stdout")
	if err := cli.Parse(fs, args, cli.WithVersionInfo(cpu.Info)); err != nil {
		return err
	}
	if err := com.Validate(); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return cli.UsageOf(fs, "unexpected arguments %q", fs.Args())
	case *model == "" || *data == "":
		return cli.UsageOf(fs, "--model and --data are required")
	case *bs < 1:
		return cli.UsageOf(fs, "--bs %d: want >= 1", *bs)
	case *bptt < 1:
		return cli.UsageOf(fs, "--bptt %d: want >= 1", *bptt)
	}
	note := precision.Resolve(fs, &com)
	be, err := precision.Backend(com.Threads, com.Precision)
	if err != nil {
		return err
	}
	prog := train.NewProgress(stderr, train.ProgressOptions{Quiet: com.Quiet || *asJSON})
	res, err := Evaluate(ctx, *model, *data, be, Options{BS: *bs, BPTT: *bptt, Progress: prog})
	if err != nil {
		return err
	}
	if note != "" && !com.Quiet {
		fmt.Fprintf(stderr, "evaluate lm: %s\n", note)
	}
	if *asJSON {
		js, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = stdout.Write(append(js, '\n'))
		return err
	}
	if !com.Quiet {
		fmt.Fprintln(stderr, res.SummaryLine())
	}
	return nil
}

// SummaryLine is the one-line report of 'evaluate lm'.
func (r *Result) SummaryLine() string {
	line := fmt.Sprintf("evaluate lm: %s (%s) on %s: loss %.4f ppl %s over %d tokens (%d docs; bs %d, bptt %d), xxunk %d (%.2f%%: %d unknown in the data, %d not in the model's vocab)",
		r.Model, r.Direction, r.Data, r.Loss, train.FormatPPL(r.Loss), r.Scored, r.Docs, r.BS, r.BPTT, r.Unk, r.UnkPct, r.UnkData, r.UnkModel)
	if !r.SameVocab {
		line += ", vocab mapped by string"
	}
	return line
}
