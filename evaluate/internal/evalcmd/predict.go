package evalcmd

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/evaluate/predict"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/precision"
)

const predictDescription = `Classifies raw text with a classifier artifact, tokenizing it exactly as
the model's training data was (the tokenizer settings are stored in the
model). Documents come from --text (repeatable), else from --input FILE
(one document per line; "-" is stdin), else from stdin lines; empty lines
are skipped. Prints one JSON object per document, in input order:
  {"text": ..., "label": ..., "probs": {"LABEL": p, ...}}
("labels": [...] instead of "label" for multi-label models, those with
p >= --threshold). Documents are classified in batches of --bs.

Example:
  echo "What is the capital of France ?" | evaluate predict --model trec.clf.arrow`

// runPredict is "evaluate predict": raw text in, JSON lines out.
func runPredict(ctx context.Context, args []string, o Options) (err error) {
	fs := cli.NewFlags("evaluate predict", "--model CLF.arrow [--text TEXT]... [--input FILE]", predictDescription)
	fs.SetOutput(o.Stdout)
	var com cli.Common
	com.Register(fs, "threads", "precision")
	model := fs.String("model", "", "classifier `artifact`")
	texts := fs.StringArray("text", nil, "a document to classify (repeatable)")
	input := fs.String("input", "", "read documents from this `file`, one per line (- for stdin)")
	bs := fs.Int("bs", 64, "documents per batch")
	threshold := fs.Float64("threshold", 0.5, "multi-label decision threshold")
	showTokens := fs.Bool("tokens", false, "include the tokens of each document in the output")
	if err := cli.Parse(fs, args, cli.WithVersionInfo(cpu.Info)); err != nil {
		return err
	}
	if err := com.Validate(); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return cli.Usage("unexpected arguments %q (use --text)", fs.Args())
	case *model == "":
		return cli.Usage("--model is required")
	case len(*texts) > 0 && *input != "":
		return cli.Usage("--text and --input exclude each other")
	case *bs < 1:
		return cli.Usage("--bs %d: want >= 1", *bs)
	}
	// Said after the predictions, so that bad input keeps its one line.
	if note := precision.Resolve(fs, &com); note != "" {
		defer func() {
			if err == nil {
				fmt.Fprintf(o.Stderr, "evaluate predict: %s\n", note)
			}
		}()
	}
	be, err := precision.Backend(com.Threads, com.Precision)
	if err != nil {
		return err
	}
	p, err := predict.Load(*model, be)
	if err != nil {
		return err
	}
	p.BS = *bs
	out := bufio.NewWriter(o.Stdout)
	defer out.Flush()
	emit := func(batch []string) error {
		probs, err := p.Texts(ctx, batch)
		if err != nil {
			return err
		}
		nc := len(p.LabelNames())
		for i, text := range batch {
			line, err := jsonLine(p, text, probs[i*nc:(i+1)*nc], *threshold, *showTokens)
			if err != nil {
				return err
			}
			out.Write(line)
		}
		return out.Flush()
	}
	if len(*texts) > 0 {
		return emit(*texts)
	}
	var r = o.Stdin
	if *input != "" && *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	chunk := 4 * *bs
	var batch []string
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		batch = append(batch, line)
		if len(batch) == chunk {
			if err := emit(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return cli.BadInput(fmt.Errorf("reading %s: %w", firstNonEmpty(*input, "stdin"), err))
	}
	if len(batch) > 0 {
		return emit(batch)
	}
	return nil
}

// jsonLine renders one prediction with probabilities in label order.
func jsonLine(p *predict.Predictor, text string, probs []float32, threshold float64, showTokens bool) ([]byte, error) {
	var toks []string
	if showTokens {
		var err error
		if toks, err = p.Tokens(text); err != nil {
			return nil, err
		}
	}
	return append(predict.AppendJSON(nil, p.LabelNames(), p.MultiLabel(), text, probs, threshold, toks), '\n'), nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
