package cli

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts"
)

// Presets are the values --preset accepts (nn.PresetNames).
var presets = []string{"paper", "small", "tiny", "multifit"}

// The values --precision accepts.
const (
	PrecisionAuto = "auto"
	PrecisionFP32 = "fp32"
	PrecisionBF16 = "bf16"
)

// archs are the values --arch accepts (nn.ArchNames).
var archs = []string{"lstm", "qrnn"}

// Common holds the flags that every stage shares. Values set before
// Register become the flags' defaults.
type Common struct {
	Out     string // --out: output path
	Preset  string // --preset: paper | small | tiny | multifit
	Arch    string // --arch: lstm | qrnn; "" = the preset's
	Seed    uint64 // --seed
	Threads int    // --threads: 0 = all cores
	// --precision: "auto" (bf16 where the CPU has AVX512_BF16, else fp32),
	// "fp32", or "bf16" (matrix products on bf16 inputs with fp32
	// accumulation; where the CPU lacks AVX512_BF16 the stage layer says so
	// and runs fp32). The stage layer resolves auto. "" before Register
	// means auto.
	Precision string
	Backward  bool   // --backward: the right-to-left model
	Log       string // --log: metrics as JSON lines
	Quiet     bool   // --quiet: errors only
	Force     bool   // --force: redo even if the output is up to date (see SkipIfCurrent)

	// Stderr is where SkipIfCurrent reports; nil means os.Stderr. Not a flag.
	Stderr io.Writer
}

// CommonFlags lists the flag names Register knows, in order.
func CommonFlags() []string {
	return []string{"out", "preset", "arch", "seed", "threads", "precision", "backward", "log", "quiet", "force"}
}

// Register adds the named common flags to fs (all of them if which is
// empty). It panics on an unknown name, which is a programming error.
// Change a flag's help afterwards with fs.Lookup(name).Usage = "...".
func (c *Common) Register(fs *pflag.FlagSet, which ...string) {
	if len(which) == 0 {
		which = CommonFlags()
	}
	if c.Preset == "" {
		c.Preset = "paper"
	}
	if c.Precision == "" {
		c.Precision = PrecisionAuto
	}
	for _, name := range which {
		switch name {
		case "out":
			fs.StringVarP(&c.Out, "out", "o", c.Out, "output `path`")
		case "preset":
			fs.StringVar(&c.Preset, "preset", c.Preset, "hyperparameter preset: paper (the paper's sizes), small (CPU-friendly), tiny (tests), multifit (MultiFiT's 4-layer QRNN)")
		case "arch":
			fs.StringVar(&c.Arch, "arch", c.Arch, "recurrent layers: lstm (AWD-LSTM) or qrnn (fastai's AWD_QRNN, as MultiFiT); default: the preset's (multifit: qrnn, the others lstm)")
		case "seed":
			fs.Uint64Var(&c.Seed, "seed", c.Seed, "random seed; the same seed and inputs give the same output bytes")
		case "threads":
			fs.IntVar(&c.Threads, "threads", c.Threads, "compute threads (0 = all cores)")
		case "precision":
			fs.StringVar(&c.Precision, "precision", c.Precision, "matrix products: auto (bf16 where the CPU has AVX512_BF16, else fp32), fp32, or bf16 (bf16 inputs, fp32 accumulation, fp32 weights, gradients and optimizer: AVX512_BF16's VDPBF16PS; where the CPU lacks it, one line says so and the run is fp32)")
		case "backward":
			fs.BoolVar(&c.Backward, "backward", c.Backward, "the backward (right-to-left) model")
		case "log":
			fs.StringVar(&c.Log, "log", c.Log, "write metrics as JSON lines to this `file`")
		case "quiet":
			fs.BoolVarP(&c.Quiet, "quiet", "q", c.Quiet, "print errors only (no progress, no summary)")
		case "force":
			fs.BoolVar(&c.Force, "force", c.Force, "redo even if the output is up to date (same inputs, same params)")
		default:
			panic(fmt.Sprintf("cli: unknown common flag %q", name))
		}
	}
}

// Validate checks the values of the common flags (after Parse).
func (c *Common) Validate() error {
	if c.Preset != "" && !slices.Contains(presets, c.Preset) {
		return Usage("--preset %q: want one of paper, small, tiny, multifit", c.Preset)
	}
	if c.Arch != "" && !slices.Contains(archs, c.Arch) {
		return Usage("--arch %q: want lstm or qrnn", c.Arch)
	}
	if c.Precision != "" && c.Precision != PrecisionAuto && c.Precision != PrecisionFP32 && c.Precision != PrecisionBF16 {
		return Usage("--precision %q: want auto, fp32 or bf16", c.Precision)
	}
	if c.Threads < 0 {
		return Usage("--threads %d: want 0 (all cores) or more", c.Threads)
	}
	return nil
}

// Direction is "bwd" with --backward, else "fwd".
func (c *Common) Direction() string {
	if c.Backward {
		return artifacts.DirBackward
	}
	return artifacts.DirForward
}
