// Command servebench is the load benchmark of 'evaluate serve' (see
// serve.BenchCommand and bench/README.md): concurrent clients on 127.0.0.1
// against the batch prediction of the same texts.
package main

import (
	"context"
	"os"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/evaluate/serve"
)

func main() {
	cli.Main("servebench", func(ctx context.Context, args []string) error {
		return serve.BenchCommand(ctx, args, os.Stdout)
	})
}
