package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
)

const compactDescription = `Write a smaller copy of an lm or classifier artifact for shipping:
  --drop-opt          drop the optimizer state (Adam moments: as large as the weights)
  --drop-train-state  drop the training state (what --resume needs)
  --bf16              round every float32 value to bfloat16 precision (round to
                      nearest, ties to even; relative error <= 2^-8). The column
                      stays float32, so every reader reads it unchanged, but the
                      low 16 bits are zero and zstd stores the weights in about
                      half the space.
The model's config, vocabulary, tokenizer settings, labels, direction and
metrics are kept. The lineage records producer "artifacts compact", these
options and IN (with its hash) as the one input; IN's own producer, params
and inputs are kept under params.source. OUT may be IN.

Example:
  artifacts compact --bf16 --drop-opt --drop-train-state wt103.lm.arrow wt103.ship.lm.arrow`

func runCompact(ctx context.Context, args []string, stdout io.Writer) error {
	fs := cli.NewFlags("artifacts compact", "[flags] IN OUT", compactDescription)
	fs.SetOutput(stdout)
	var opt artifacts.CompactOptions
	fs.BoolVar(&opt.BF16, "bf16", false, "round every value to bfloat16 precision (kept as float32)")
	fs.BoolVar(&opt.DropOpt, "drop-opt", false, "drop the optimizer state")
	fs.BoolVar(&opt.DropTrainState, "drop-train-state", false, "drop the training (resume) state")
	quiet := fs.BoolP("quiet", "q", false, "print errors only")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return cli.UsageOf(fs, "compact wants IN and OUT, got %d argument(s)", fs.NArg())
	}
	if !opt.BF16 && !opt.DropOpt && !opt.DropTrainState {
		return cli.UsageOf(fs, "nothing to do: give --bf16, --drop-opt and/or --drop-train-state")
	}
	in, out := fs.Arg(0), fs.Arg(1)
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return cli.UsageOf(fs, "OUT %s is a folder: want a file path", out)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	before, err := os.Stat(in)
	if err != nil {
		return cli.BadInput(fmt.Errorf("%s: %w", in, err))
	}
	res, err := artifacts.Compact(in, out, opt)
	if err != nil {
		return err
	}
	if *quiet {
		return nil
	}
	after, err := os.Stat(out)
	if err != nil {
		return err
	}
	var did []string
	if opt.BF16 {
		did = append(did, "values rounded to bfloat16")
	}
	if opt.DropOpt {
		did = append(did, fmt.Sprintf("%d optimizer state tensors dropped", res.OptDropped))
	}
	if opt.DropTrainState {
		if res.TrainStateDropped {
			did = append(did, "training state dropped")
		} else {
			did = append(did, "no training state")
		}
	}
	fmt.Fprintf(stdout, "%s (%s, %s) -> %s (%s, %.2fx smaller): %s\n", in, res.Model.Kind, size(before.Size()),
		out, size(after.Size()), float64(before.Size())/float64(max(after.Size(), 1)), strings.Join(did, ", "))
	return nil
}

// size formats a byte count.
func size(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
