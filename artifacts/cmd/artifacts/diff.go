package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
)

const diffDescription = `Compare two artifacts of any kind: the data (every record batch, column by
column and value for value: tensors, tokens, vocabularies, predictions) and
the metadata (producer, params and inputs entry by entry, the other keys
whole). Each differing column is reported at its first differing row.
Use it to check that a run is reproducible: the same seed, inputs and binary
give identical data and metadata.
Exit status: 0 identical, 1 they differ (with --data-only: the data differs),
2 a file is unreadable or damaged.

Example:
  artifacts diff --data-only run1/clf.arrow run2/clf.arrow`

func runDiff(ctx context.Context, args []string, stdout io.Writer) error {
	fs := cli.NewFlags("artifacts diff", "[flags] A B", diffDescription)
	fs.SetOutput(stdout)
	dataOnly := fs.Bool("data-only", false, "the exit status says whether the data differs; metadata differences are still listed")
	quiet := fs.BoolP("quiet", "q", false, "print nothing; the exit status says")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return cli.UsageOf(fs, "diff wants two artifacts A and B, got %d argument(s)", fs.NArg())
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d, err := artifacts.Diff(fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
	}
	if !*quiet {
		for _, part := range []struct {
			name string
			ds   []artifacts.Difference
		}{{"data", d.Data}, {"metadata", d.Meta}} {
			if len(part.ds) == 0 {
				fmt.Fprintf(stdout, "%s: identical\n", part.name)
				continue
			}
			fmt.Fprintf(stdout, "%s: %d difference(s)\n", part.name, len(part.ds))
			for _, x := range part.ds {
				fmt.Fprintf(stdout, "  %s: %s | %s\n", x.Where, orNone(x.A), orNone(x.B))
			}
		}
	}
	if len(d.Data) > 0 {
		return fmt.Errorf("%s and %s: the data differs", fs.Arg(0), fs.Arg(1))
	}
	if len(d.Meta) > 0 && !*dataOnly {
		return fmt.Errorf("%s and %s: the metadata differs", fs.Arg(0), fs.Arg(1))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
