package stage

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
)

// resolvePrecision turns --precision bf16 into fp32 where this CPU cannot
// run the bf16 GEMM, with one line on stderr (unless quiet) saying why, and
// sets the flag too, so that the lineage records the precision the run has.
func resolvePrecision(fs *pflag.FlagSet, c *cli.Common, stage string, stderr io.Writer) {
	if c.Precision != cli.PrecisionBF16 {
		return
	}
	err := cpu.CheckBF16()
	if err == nil {
		return
	}
	if !c.Quiet {
		fmt.Fprintf(stderr, "%s: --precision bf16: %v; running in fp32\n", stage, err)
	}
	c.Precision = cli.PrecisionFP32
	if fl := fs.Lookup("precision"); fl != nil {
		_ = fl.Value.Set(cli.PrecisionFP32)
	}
}

// newBackend returns the CPU backend of --threads and --precision (after
// resolvePrecision).
func newBackend(threads int, precision string) (nn.Backend, error) {
	if precision != cli.PrecisionBF16 {
		return cpu.New(threads), nil
	}
	be, err := cpu.NewWithOptions(cpu.Options{Threads: threads, BF16: true})
	if err != nil {
		return nil, err
	}
	return be, nil
}
