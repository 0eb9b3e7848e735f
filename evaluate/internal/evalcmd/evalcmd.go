// Package evalcmd is the evaluate command: evaluate itself (a classifier
// over a tokens artifact, into a predictions artifact) and its subcommands,
// report, plot and predict here, serve and lm in evaluate/serve and
// evaluate/lmeval. cmd/evaluate's main is its help and one call to Run. The
// package is internal: no other module may import a stage's command.
package evalcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/evaluate/lmeval"
	"github.com/ulmfit-go/ulmfit/evaluate/predict"
	"github.com/ulmfit-go/ulmfit/evaluate/serve"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/metrics"
	"github.com/ulmfit-go/ulmfit/stage/precision"
)

// Options are the streams of a run; nil means the process's own. Tests
// replace them.
type Options struct {
	Stdin          io.Reader // evaluate predict's documents
	Stdout, Stderr io.Writer
}

// Run runs evaluate with args: the subcommand args[0] names (report,
// predict, plot, serve, lm), else evaluate itself, whose --help prints
// "Usage: evaluate synopsis" and help.
func Run(ctx context.Context, synopsis, help string, args []string, o Options) error {
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	o.Stdout, o.Stderr = cli.StdStreams(o.Stdout, o.Stderr)
	if len(args) > 0 {
		switch args[0] {
		case "report":
			return runReport(ctx, args[1:], o)
		case "predict":
			return runPredict(ctx, args[1:], o)
		case "plot":
			return runPlot(ctx, args[1:], o)
		case "serve":
			return serve.Command(ctx, args[1:], o.Stderr)
		case "lm":
			return lmeval.Command(ctx, args[1:], o.Stdout, o.Stderr)
		}
	}
	return runEvaluate(ctx, synopsis, help, args, o)
}

// runEvaluate is the command without a subcommand: a tokens artifact in, a
// predictions artifact out.
func runEvaluate(ctx context.Context, synopsis, help string, args []string, o Options) error {
	fs := cli.NewFlags("evaluate", synopsis, help)
	fs.SetOutput(o.Stdout)
	var com cli.Common
	com.Register(fs, "out", "threads", "precision", "quiet", "force")
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
	note := precision.Resolve(fs, &com)
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
	cli.PrecisionParam(lineage.Params, com.Precision)
	com.Stderr = o.Stderr
	chk := cli.SkipCheck{Out: com.Out, Lineage: lineage}
	if *metricsOut != "" {
		chk.Also = []string{*metricsOut}
	}
	if inputsErr == nil && com.SkipIf("evaluate", chk) {
		return nil
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
		if note != "" {
			fmt.Fprintf(o.Stderr, "evaluate: %s\n", note)
		}
		fmt.Fprintf(o.Stderr, "%s, peak RSS %d MiB -> %s\n", line, cli.PeakRSS()>>20, com.Out)
	}
	return nil
}
