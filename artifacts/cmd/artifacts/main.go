// Command artifacts inspects ulmfit-go artifact files.
//
//	artifacts show FILE          kind, lineage, schema, metadata and a few decoded rows
//	artifacts verify FILE...     read end to end; check the recorded inputs' hashes
//	artifacts lineage FILE       the tree of inputs, back to the raw files
//	artifacts compact IN OUT     a smaller lm/classifier for shipping (--bf16, --drop-opt, --drop-train-state)
//	artifacts check-labels TRAIN [TEST]  can these tokens train (and score) a classifier?
//	artifacts diff A B           what differs between two artifacts: data, metadata
//
// Exit status: 0 on success, 1 when a recorded input has changed (diff: the
// artifacts differ), 2 for bad
// usage or an unreadable, damaged or foreign file.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
)

const usage = `Usage: artifacts COMMAND [flags] FILE...

Inspect ulmfit-go artifacts (Arrow IPC files with ulmfit metadata).

Commands:
  show FILE          kind, format, producer, rows, schema, metadata, lineage
                     and a few decoded rows
  verify FILE...     read each file end to end (schema, checksums, values) and
                     check that the recorded inputs still have the same hashes
  lineage FILE       the tree of inputs back to the raw files, recursing into
                     inputs that are artifacts
  compact IN OUT     write a smaller lm or classifier for shipping: --drop-opt,
                     --drop-train-state, --bf16 (weights rounded to bfloat16)
  check-labels TRAIN [TEST]
                     check the labels of tokens artifacts before training: at
                     least 2 classes, --min-per-class documents each (20), no
                     TEST label that TRAIN lacks
  diff A B           what differs between two artifacts: the data column by
                     column, the metadata and lineage entry by entry

Run 'artifacts COMMAND --help' for a command's flags, 'artifacts --version' for the build.
Exit status: 0 ok, 1 an input changed (diff: they differ), 2 bad usage or a bad file.
`

func main() {
	cli.Main("artifacts", func(ctx context.Context, args []string) error {
		return run(ctx, args, os.Stdout)
	})
}

// run dispatches to a command, writing its report to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return cli.Usage("missing command: want show, verify, lineage, compact, check-labels or diff")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "show":
		return runShow(ctx, rest, stdout)
	case "verify":
		return runVerify(ctx, rest, stdout)
	case "lineage":
		return runLineage(ctx, rest, stdout)
	case "compact":
		return runCompact(ctx, rest, stdout)
	case "check-labels":
		return runCheckLabels(ctx, rest, stdout)
	case "diff":
		return runDiff(ctx, rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return pflag.ErrHelp
	case "version", "--version":
		fmt.Fprintln(stdout, cli.Version("artifacts"))
		return pflag.ErrHelp
	}
	if strings.HasPrefix(cmd, "-") {
		return cli.Usage("flag %s before the command: want artifacts COMMAND [flags] FILE", cmd)
	}
	return cli.Usage("unknown command %q: want show, verify, lineage, compact, check-labels or diff", cmd)
}
