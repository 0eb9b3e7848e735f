package evalcmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/evaluate/report"
	"github.com/ulmfit-go/ulmfit/stage/metrics"
)

const reportDescription = `Scores a predictions artifact (from 'evaluate' or 'ensemble') and writes,
into --out-dir: metrics.json; report.md (summary, per-class precision/recall/F1,
confusion matrix); confusion.png (single-label); loss.png, error.png and
lr.png from the JSONL training logs given with --log (clftune/lmtune --log).
Multi-label predictions get micro/macro F1, Hamming loss and per-class scores
at --threshold.

Example:
  evaluate report trec.test.preds.arrow --log trec.clf.jsonl --out-dir reports/trec`

// runReport is "evaluate report": a predictions artifact scored into metrics.json,
// report.md and plots.
func runReport(ctx context.Context, args []string, o Options) error {
	fs := cli.NewFlags("evaluate report", "PREDS.arrow [--log TRAIN.jsonl ...] --out-dir DIR", reportDescription)
	fs.SetOutput(o.Stdout)
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
		fmt.Fprintf(o.Stderr, "%s -> %s/{%s}\n", line, *outDir, strings.Join(names, ","))
	}
	return nil
}
