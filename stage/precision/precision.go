// Package precision settles a stage's --precision (auto, fp32, bf16) and
// makes the CPU backend for it: one place for the training stages and
// evaluate alike.
package precision

import (
	"fmt"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
)

// Resolve settles --precision before anything records it: auto becomes
// bf16 where this CPU can run the bf16 GEMM and fp32 elsewhere; bf16
// becomes fp32 where it cannot. The flag is set too, so that the lineage
// records the precision the run has. When an asked-for bf16 falls back, it
// returns the line that says so ("--precision bf16: ...; running in fp32"),
// for the caller to print once its inputs are checked (so that bad input
// still gets its one line); else "".
func Resolve(fs *pflag.FlagSet, c *cli.Common) (note string) {
	want := c.Precision
	if want != cli.PrecisionAuto && want != cli.PrecisionBF16 {
		return ""
	}
	c.Precision = cli.PrecisionBF16
	if err := cpu.CheckBF16(); err != nil {
		if want == cli.PrecisionBF16 {
			note = fmt.Sprintf("--precision bf16: %v; running in fp32", err)
		}
		c.Precision = cli.PrecisionFP32
	}
	if fl := fs.Lookup("precision"); fl != nil {
		_ = fl.Value.Set(c.Precision)
	}
	return note
}

// Backend returns the CPU backend of --threads and --precision (after
// Resolve).
func Backend(threads int, precision string) (nn.Backend, error) {
	if precision != cli.PrecisionBF16 {
		return cpu.New(threads), nil
	}
	be, err := cpu.NewWithOptions(cpu.Options{Threads: threads, BF16: true})
	if err != nil {
		return nil, err
	}
	return be, nil
}
