// Command ensemble averages the class probabilities of two or more
// predictions artifacts of the same documents (typically a forward and a
// backward classifier) and writes the result as a predictions artifact plus
// a metrics JSON file.
//
// Usage:
//
//	ensemble [flags] PRED.arrow PRED.arrow [PRED.arrow ...] --out ENS.arrow
//
// The command itself is ensemble/internal/enscmd.
package main

import (
	"context"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/ensemble/internal/enscmd"
)

const synopsis = "[flags] PRED.arrow PRED.arrow [PRED.arrow ...] --out ENS.arrow"

const help = `Averages the class probabilities of two or more predictions artifacts of the
same documents (e.g. the forward and backward classifiers' predictions of
one test set, each written by 'evaluate --model ... --data ... --out ...').
The inputs must agree on label names and, row by row, on document ids and
true labels. Writes a predictions artifact (--out) and a metrics JSON file
(--metrics) with the scores of every input and of the ensemble.

Example:
  ensemble clf_fwd.test.preds.arrow clf_bwd.test.preds.arrow --out ens.test.preds.arrow`

func main() { cli.Main("ensemble", run) }

func run(ctx context.Context, args []string) error {
	return enscmd.Run(ctx, synopsis, help, args, enscmd.Options{})
}
