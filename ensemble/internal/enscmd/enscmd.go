// Package enscmd is the ensemble command: it averages the class
// probabilities of two or more predictions artifacts of the same documents
// (typically a forward and a backward classifier's) into a predictions
// artifact plus a metrics JSON file. cmd/ensemble's main is its help and one
// call to Run. The package is internal: no other module may import a
// stage's command.
package enscmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/ensemble"
	"github.com/ulmfit-go/ulmfit/stage/metrics"
)

// Options are the streams of a run; nil means the process's own. Tests
// replace them.
type Options struct {
	Stdout, Stderr io.Writer
}

// Run runs ensemble with args; its --help prints "Usage: ensemble synopsis"
// and help.
func Run(ctx context.Context, synopsis, help string, args []string, o Options) error {
	o.Stdout, o.Stderr = cli.StdStreams(o.Stdout, o.Stderr)
	fs := cli.NewFlags("ensemble", synopsis, help)
	fs.SetOutput(o.Stdout)
	var com cli.Common
	com.Register(fs, "out", "quiet", "force")
	com.Stderr = o.Stderr
	weights := fs.Float64Slice("weights", nil, "comma-separated weight per input, in input order (normalized to sum 1; default equal weights)")
	metricsPath := fs.String("metrics", "", "metrics JSON output (default: --out with .arrow replaced by .metrics.json)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) < 2 {
		return cli.Usage("need two or more predictions artifacts, got %d", len(paths))
	}
	if com.Out == "" {
		return cli.Usage("--out is required")
	}
	if *metricsPath == "" {
		*metricsPath = strings.TrimSuffix(com.Out, ".arrow") + ".metrics.json"
	}
	w, err := ensemble.Weights(*weights, len(paths))
	if err != nil {
		return cli.Usage("--weights: %v", err)
	}

	// The lineage, before any work: up-to-date --out and --metrics are left
	// as they are. A file that cannot be hashed is reported where it is read.
	var inputs []artifacts.Input
	var inputsErr error
	for _, p := range paths {
		ai, err := artifacts.InputOf(p)
		if err != nil {
			inputsErr = err
			break
		}
		inputs = append(inputs, ai)
	}
	lineage := artifacts.Lineage{
		Kind:     artifacts.KindPredictions,
		Producer: "ensemble",
		Params:   map[string]any{"weights": w, "inputs": paths},
		Inputs:   inputs,
	}
	if inputsErr == nil && com.SkipIf("ensemble", cli.SkipCheck{Out: com.Out, Lineage: lineage, Also: []string{*metricsPath}}) {
		return nil
	}

	var in []ensemble.Named
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		pr, err := artifacts.ReadPredictions(p)
		if err != nil {
			return err
		}
		in = append(in, ensemble.Named{Path: p, P: pr})
	}
	if inputsErr != nil {
		return inputsErr
	}
	if err := ensemble.Check(in); err != nil {
		return cli.BadInput(err)
	}
	out := ensemble.Average(in, w)

	type scored struct {
		Path    string          `json:"path"`
		Weight  float64         `json:"weight"`
		Metrics *metrics.Report `json:"metrics,omitempty"`
	}
	summary := struct {
		Inputs   []scored        `json:"inputs"`
		Ensemble *metrics.Report `json:"ensemble,omitempty"`
	}{}
	for i, n := range in {
		r, ok, err := ensemble.Score(n.P)
		if err != nil {
			return cli.BadInput(fmt.Errorf("%s: %w", n.Path, err))
		}
		s := scored{Path: n.Path, Weight: w[i]}
		if ok {
			s.Metrics = r
		}
		summary.Inputs = append(summary.Inputs, s)
	}
	r, labeled, err := ensemble.Score(out)
	if err != nil {
		return err
	}
	if labeled {
		summary.Ensemble = r
	}
	js, err := json.MarshalIndent(summary, "", "  ")
	if err != nil {
		return err
	}
	out.Metrics = js
	out.Lineage = lineage
	if err := artifacts.WritePredictions(com.Out, out); err != nil {
		return err
	}
	if err := artifacts.WriteFileAtomic(*metricsPath, func(wr io.Writer) error {
		_, err := wr.Write(append(js, '\n'))
		return err
	}); err != nil {
		return err
	}
	if !com.Quiet {
		line := fmt.Sprintf("ensemble: %d inputs, %d rows -> %s, %s", len(in), len(out.Rows), com.Out, *metricsPath)
		if labeled {
			line += " |"
			for _, s := range summary.Inputs {
				if s.Metrics != nil {
					line += fmt.Sprintf(" %s error %.2f%%;", s.Path, 100*s.Metrics.ErrorRate)
				}
			}
			line += fmt.Sprintf(" ensemble error %.2f%%", 100*r.ErrorRate)
			if r.MultiLabel {
				line += fmt.Sprintf(", micro-F1 %.4f", r.MicroF1)
			}
		}
		line += fmt.Sprintf(", peak RSS %d MiB", cli.PeakRSS()>>20)
		fmt.Fprintln(o.Stderr, line)
	}
	return nil
}
