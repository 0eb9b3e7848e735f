// Command evaluate applies classifier artifacts and reports on their
// predictions:
//
//	evaluate --model CLF.arrow --data TEST.tokens.arrow --out PREDS.arrow
//	evaluate report PREDS.arrow [--log TRAIN.jsonl ...] --out-dir DIR
//	evaluate predict --model CLF.arrow [--text "..." ...] [--input FILE]
//	evaluate plot -o OUT.png [--title T] [--xlabel X] [--ylabel Y] [--logx] FILE.tsv
//	evaluate serve --model CLF.arrow [--model CLF2.arrow] [--addr HOST:PORT]
//	evaluate lm --model LM.arrow --data TOKENS.arrow [--bs 64] [--bptt 70]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/evaluate/lmeval"
	"github.com/ulmfit-go/ulmfit/evaluate/predict"
	"github.com/ulmfit-go/ulmfit/evaluate/report"
	"github.com/ulmfit-go/ulmfit/evaluate/serve"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/metrics"
)

func main() { cli.Main("evaluate", run) }

// stdio is where predict reads and writes; tests replace it.
type stdio struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

func run(ctx context.Context, args []string) error {
	return runIO(ctx, args, stdio{os.Stdin, os.Stdout, os.Stderr})
}

func runIO(ctx context.Context, args []string, sio stdio) error {
	if len(args) > 0 {
		switch args[0] {
		case "report":
			return runReport(ctx, args[1:], sio)
		case "predict":
			return runPredict(ctx, args[1:], sio)
		case "plot":
			return runPlot(ctx, args[1:], sio)
		case "serve":
			return serve.Command(ctx, args[1:], sio.err)
		case "lm":
			return lmeval.Command(ctx, args[1:], sio.out, sio.err)
		}
	}
	return runEvaluate(ctx, args, sio)
}

const evalDescription = `Predicts every document of a tokens artifact (labeled or not) with a
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

func runEvaluate(ctx context.Context, args []string, sio stdio) error {
	fs := cli.NewFlags("evaluate", "--model CLF.arrow --data TOKENS.arrow --out PREDS.arrow [flags]", evalDescription)
	var com cli.Common
	com.Register(fs, "out", "threads", "quiet", "force")
	model := fs.String("model", "", "classifier `artifact`")
	data := fs.String("data", "", "tokens `artifact` to predict")
	bs := fs.Int("bs", 64, "documents per batch")
	metricsOut := fs.String("metrics", "", "also write the metrics as JSON to this `file`")
	if err := cli.Parse(fs, args, cli.WithVersionInfo(cpu.Info)); err != nil {
		return err
	}
	if err := com.Validate(); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return cli.Usage("unexpected arguments %q (subcommands: report, predict, plot, serve, lm)", fs.Args())
	case *model == "" || *data == "" || com.Out == "":
		return cli.Usage("--model, --data and --out are required")
	case *bs < 1:
		return cli.Usage("--bs %d: want >= 1", *bs)
	}
	// The lineage, before any work: an up-to-date --out (and --metrics) is
	// left as it is. A file that cannot be hashed is reported where it is read.
	var inputs []artifacts.Input
	var inputsErr error
	for _, path := range []string{*model, *data} {
		in, err := artifacts.InputOf(path)
		if err != nil {
			inputsErr = err
			break
		}
		inputs = append(inputs, in)
	}
	lineage := artifacts.Lineage{Kind: artifacts.KindPredictions, Producer: "evaluate",
		Params: map[string]any{"model": *model, "data": *data, "bs": *bs}, Inputs: inputs}
	com.Stderr = sio.err
	chk := cli.SkipCheck{Out: com.Out, Lineage: lineage}
	if *metricsOut != "" {
		chk.Also = []string{*metricsOut}
	}
	if inputsErr == nil && com.SkipIf("evaluate", chk) {
		return nil
	}
	p, err := predict.Load(*model, cpu.New(com.Threads))
	if err != nil {
		return err
	}
	p.BS = *bs
	preds, d, err := p.Data(ctx, *data)
	if err != nil {
		return err
	}
	if inputsErr != nil {
		return inputsErr
	}
	preds.Lineage = lineage
	var rep *metrics.Report
	if d.Labeled > 0 {
		rep, err = metrics.Compute(metrics.FromPredictions(preds))
		if err != nil {
			return err
		}
		js, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		preds.Metrics = js
		if *metricsOut != "" {
			if err := artifacts.WriteFileAtomic(*metricsOut, func(w io.Writer) error {
				_, err := w.Write(append(js, '\n'))
				return err
			}); err != nil {
				return err
			}
		}
	}
	if err := artifacts.WritePredictions(com.Out, preds); err != nil {
		return err
	}
	if !com.Quiet {
		line := fmt.Sprintf("evaluate: %d documents", len(preds.Rows))
		if !d.Vocab.Same {
			line += " (" + d.Vocab.String() + ")"
		}
		if rep != nil {
			if rep.MultiLabel {
				line += fmt.Sprintf(", micro-F1 %.4f, macro-F1 %.4f, Hamming loss %.4f", rep.MicroF1, rep.MacroF1, rep.HammingLoss)
			} else {
				line += fmt.Sprintf(", error %.2f%% (accuracy %.2f%%, macro-F1 %.4f, log-loss %.4f; majority class %.2f%%)",
					100*rep.ErrorRate, 100*rep.Accuracy, rep.MacroF1, rep.LogLoss, 100*rep.MajorityError)
			}
		}
		fmt.Fprintf(sio.err, "%s, peak RSS %d MiB -> %s\n", line, cli.PeakRSS()>>20, com.Out)
	}
	return nil
}

const reportDescription = `Scores a predictions artifact (from 'evaluate' or 'ensemble') and writes,
into --out-dir: metrics.json; report.md (summary, per-class precision/recall/F1,
confusion matrix); confusion.png (single-label); loss.png, error.png and
lr.png from the JSONL training logs given with --log (clftune/lmtune --log).
Multi-label predictions get micro/macro F1, Hamming loss and per-class scores
at --threshold.

Example:
  evaluate report trec.test.preds.arrow --log trec.clf.jsonl --out-dir reports/trec`

func runReport(ctx context.Context, args []string, sio stdio) error {
	fs := cli.NewFlags("evaluate report", "PREDS.arrow [--log TRAIN.jsonl ...] --out-dir DIR", reportDescription)
	var com cli.Common
	com.Register(fs, "quiet")
	outDir := fs.String("out-dir", "", "output `folder` (created if missing)")
	logs := fs.StringArray("log", nil, "JSONL metrics log of a training run to plot (repeatable)")
	threshold := fs.Float64("threshold", 0.5, "multi-label decision threshold")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return cli.Usage("want exactly one predictions artifact, got %d", fs.NArg())
	case *outDir == "":
		return cli.Usage("--out-dir is required")
	case !(*threshold > 0 && *threshold < 1):
		return cli.Usage("--threshold %g: want 0 < t < 1", *threshold)
	}
	path := fs.Arg(0)
	preds, err := artifacts.ReadPredictions(path)
	if err != nil {
		return err
	}
	in := metrics.FromPredictions(preds)
	in.Threshold = *threshold
	rep, err := metrics.Compute(in)
	if err != nil {
		return cli.BadInput(fmt.Errorf("%s: %w", path, err))
	}
	if rep.N == 0 {
		return cli.BadInput(fmt.Errorf("%s: no labeled rows: a report needs the true labels (predict a labeled tokens artifact)", path))
	}
	var curves *report.Curves
	if len(*logs) > 0 {
		if curves, err = report.ReadCurves(*logs); err != nil {
			return cli.BadInput(err)
		}
	}
	sum, err := artifacts.HashFile(path)
	if err != nil {
		return err
	}
	src := report.Source{Predictions: path, SHA256: sum, Producer: preds.Producer, Logs: *logs, Parameters: preds.Params}
	files, err := report.Build(src, rep, curves)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := artifacts.WriteFileAtomic(filepath.Join(*outDir, f.Name), func(w io.Writer) error {
			_, err := w.Write(f.Data)
			return err
		}); err != nil {
			return err
		}
	}
	if !com.Quiet {
		var names []string
		for _, f := range files {
			names = append(names, f.Name)
		}
		line := fmt.Sprintf("evaluate report: %d documents", rep.N)
		if rep.MultiLabel {
			line += fmt.Sprintf(", micro-F1 %.4f, macro-F1 %.4f", rep.MicroF1, rep.MacroF1)
		} else {
			line += fmt.Sprintf(", error %.2f%%, macro-F1 %.4f", 100*rep.ErrorRate, rep.MacroF1)
		}
		fmt.Fprintf(sio.err, "%s -> %s/{%s}\n", line, *outDir, strings.Join(names, ","))
	}
	return nil
}

const plotDescription = `Draws a line chart as a PNG from a tab-separated file with the header
  series<TAB>x<TAB>y            or   series<TAB>x<TAB>y<TAB>lo<TAB>hi
and one point per line: one line per series (in order of first appearance,
points sorted by x), with error bars from lo to hi where given (e.g. the
minimum and maximum over seeds; "-" or an empty field: no bar at that
point). Blank lines and lines starting with # are skipped.

Example (the paper's Figure 3, low-shot learning):
  evaluate plot --logx --title "TREC-6 low-shot" --xlabel "labeled examples" \
      --ylabel "test error (%)" -o lowshot.png lowshot.curve.tsv`

func runPlot(ctx context.Context, args []string, sio stdio) error {
	fs := cli.NewFlags("evaluate plot", "-o OUT.png [--title T] [--xlabel X] [--ylabel Y] [--logx] FILE.tsv", plotDescription)
	var com cli.Common
	com.Register(fs, "out", "quiet")
	title := fs.String("title", "", "chart title (default: the TSV's file name)")
	xlabel := fs.String("xlabel", "x", "x axis label")
	ylabel := fs.String("ylabel", "y", "y axis label")
	logx := fs.Bool("logx", false, "log-scale x axis (every x must be > 0)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return cli.UsageOf(fs, "want exactly one TSV file, got %d", fs.NArg())
	case com.Out == "":
		return cli.UsageOf(fs, "-o OUT.png is required")
	}
	path := fs.Arg(0)
	if err := artifacts.CheckOutput(com.Out); err != nil {
		return err
	}
	series, err := report.ReadSeriesTSV(path)
	if err != nil {
		return cli.BadInput(err)
	}
	if *title == "" {
		*title = filepath.Base(path)
	}
	chart := report.Chart{Title: *title, XLabel: *xlabel, YLabel: *ylabel, LogX: *logx, Series: series}
	var buf bytes.Buffer
	if err := report.ChartPNG(&buf, chart); err != nil {
		return cli.BadInput(fmt.Errorf("%s: %w", path, err))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := artifacts.WriteFileAtomic(com.Out, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	}); err != nil {
		return err
	}
	if !com.Quiet {
		points := 0
		for _, s := range series {
			points += len(s.X)
		}
		fmt.Fprintf(sio.err, "evaluate plot: %d series, %d points -> %s\n", len(series), points, com.Out)
	}
	return nil
}

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

func runPredict(ctx context.Context, args []string, sio stdio) error {
	fs := cli.NewFlags("evaluate predict", "--model CLF.arrow [--text TEXT]... [--input FILE]", predictDescription)
	var com cli.Common
	com.Register(fs, "threads")
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
	p, err := predict.Load(*model, cpu.New(com.Threads))
	if err != nil {
		return err
	}
	p.BS = *bs
	out := bufio.NewWriter(sio.out)
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
	var r = sio.in
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
