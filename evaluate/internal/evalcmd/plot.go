package evalcmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/evaluate/report"
)

const plotDescription = `Draws a line chart as a PNG from a tab-separated file with the header
  series<TAB>x<TAB>y            or   series<TAB>x<TAB>y<TAB>lo<TAB>hi
and one point per line: one line per series (in order of first appearance,
points sorted by x), with error bars from lo to hi where given (e.g. the
minimum and maximum over seeds; "-" or an empty field: no bar at that
point). Blank lines and lines starting with # are skipped.

Example (the paper's Figure 3, low-shot learning):
  evaluate plot --logx --title "TREC-6 low-shot" --xlabel "labeled examples" \
      --ylabel "test error (%)" -o lowshot.png lowshot.curve.tsv`

// runPlot is "evaluate plot": a line chart from a TSV.
func runPlot(ctx context.Context, args []string, o Options) error {
	fs := cli.NewFlags("evaluate plot", "-o OUT.png [--title T] [--xlabel X] [--ylabel Y] [--logx] FILE.tsv", plotDescription)
	fs.SetOutput(o.Stdout)
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
		fmt.Fprintf(o.Stderr, "evaluate plot: %d series, %d points -> %s\n", len(series), points, com.Out)
	}
	return nil
}
