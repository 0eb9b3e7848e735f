// Command lmbench times AWD-LSTM (and QRNN) language-model training and
// inference steps on the nn CPU backend and, optionally, the PyTorch
// reference in the same run: ../shared/bench/run-reference (torch_awdlstm.py)
// for the AWD-LSTM configs, bench/run-torch-qrnn (bench/torch_qrnn.py, fastai
// v2's AWD_QRNN with its CPU forget-mult) for the QRNN ones (Q, Q_inf, MF).
//
// One training step is what a real LM epoch does per batch: forward with all
// AWD-LSTM dropouts on, cross-entropy over the full vocabulary plus AR/TAR,
// backward, global-norm gradient clipping and an AdamW update. One inference
// step is an eval-mode forward with the loss. Throughput is tokens per second
// (batch*bptt per step), the median over timed windows after warm-up.
// GFLOP/s counts the GEMM FLOPs only, with the same model as the PyTorch
// reference (../shared/bench/torch_awdlstm.py): per token, forward
// sum_l 2*4*h_l*(in_l+h_l) + 2*emb*vocab, and training = 3 x forward; for a
// QRNN layer 2*3*h_l*(window_l*in_l), as bench/torch_qrnn.py counts it.
//
// Usage (from the repository root; `make bench` does this):
//
//	lmbench [--configs A,A_inf,B,B_inf] [--threads 1,2] [--ref ../shared/bench/run-reference]
//	        [--ref-qrnn bench/run-torch-qrnn] [--out bench-results.json]
//
// Each window records the fraction of the machine's CPU that other processes
// used ("load"), read from /proc/stat; on a shared machine compare ratios
// measured in the same run, not absolute numbers across runs.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
)

// benchConfig is one benchmark configuration; the names match the PyTorch
// reference's configs.
type benchConfig struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // "lm_train" or "lm_infer"
	Vocab  int    `json:"vocab"`
	Emb    int    `json:"emb"`
	Hidden int    `json:"hidden"`
	Layers int    `json:"layers"`
	Arch   string `json:"arch,omitempty"` // "" (LSTM) or "qrnn"
	Batch  int    `json:"batch"`
	BPTT   int    `json:"bptt"`
	// Timing defaults: a window runs whole steps until MinTime has passed
	// (at least one step).
	Warmup  int     `json:"warmup"`
	Windows int     `json:"windows"`
	MinTime float64 `json:"min_time_s"`
	// NoTorch marks configs the PyTorch references do not have.
	NoTorch bool `json:"-"`
}

// train reports whether the config times training steps.
func (c benchConfig) train() bool { return c.Kind == "lm_train" }

// tokensPerStep is batch*bptt.
func (c benchConfig) tokensPerStep() int { return c.Batch * c.BPTT }

// flopsPerToken returns the forward GEMM FLOPs per token and the FLOPs per
// token of one timed step (3x forward for training).
func (c benchConfig) flopsPerToken() (fwd, step float64) {
	for l := 0; l < c.Layers; l++ {
		in, h := c.Hidden, c.Hidden
		if l == 0 {
			in = c.Emb
		}
		if l == c.Layers-1 {
			h = c.Emb
		}
		if c.Arch == nn.ArchQRNN {
			window := 1
			if l == 0 {
				window = 2
			}
			fwd += 2 * 3 * float64(h) * float64(window*in)
			continue
		}
		fwd += 2 * 4 * float64(h) * float64(in+h)
	}
	fwd += 2 * float64(c.Emb) * float64(c.Vocab)
	if c.train() {
		return fwd, 3 * fwd
	}
	return fwd, fwd
}

// knownConfigs are the paper (A) and small (B) sizes, training and inference.
// The paper config gets few, one-step windows so a default run stays short.
var knownConfigs = []benchConfig{
	{Name: "A", Kind: "lm_train", Vocab: 30000, Emb: 400, Hidden: 1150, Layers: 3, Batch: 64, BPTT: 70, Warmup: 1, Windows: 3, MinTime: 0},
	{Name: "A_inf", Kind: "lm_infer", Vocab: 30000, Emb: 400, Hidden: 1150, Layers: 3, Batch: 64, BPTT: 70, Warmup: 1, Windows: 3, MinTime: 2},
	{Name: "B", Kind: "lm_train", Vocab: 10000, Emb: 200, Hidden: 512, Layers: 3, Batch: 32, BPTT: 70, Warmup: 2, Windows: 5, MinTime: 4},
	{Name: "B_inf", Kind: "lm_infer", Vocab: 10000, Emb: 200, Hidden: 512, Layers: 3, Batch: 32, BPTT: 70, Warmup: 2, Windows: 5, MinTime: 3},
	// Q: the small QRNN, B's sizes (the same vocab, emb, batch and bptt);
	// MF: MultiFiT's 4-layer QRNN at A's vocabulary and batch. Their PyTorch
	// reference is bench/torch_qrnn.py (--ref-qrnn), same names and sizes.
	{Name: "Q", Kind: "lm_train", Arch: nn.ArchQRNN, Vocab: 10000, Emb: 200, Hidden: 512, Layers: 3, Batch: 32, BPTT: 70, Warmup: 2, Windows: 5, MinTime: 4},
	{Name: "Q_inf", Kind: "lm_infer", Arch: nn.ArchQRNN, Vocab: 10000, Emb: 200, Hidden: 512, Layers: 3, Batch: 32, BPTT: 70, Warmup: 2, Windows: 5, MinTime: 3},
	{Name: "MF", Kind: "lm_train", Arch: nn.ArchQRNN, Vocab: 30000, Emb: 400, Hidden: 1550, Layers: 4, Batch: 64, BPTT: 70, Warmup: 1, Windows: 3, MinTime: 0},
	// tiny: a seconds-long smoke test of the harness (no PyTorch counterpart).
	{Name: "tiny", Kind: "lm_train", Vocab: 1000, Emb: 16, Hidden: 24, Layers: 2, Batch: 8, BPTT: 20, Warmup: 1, Windows: 3, MinTime: 0.2, NoTorch: true},
}

// configNames lists the known configs' names, for messages.
func configNames() string {
	var v []string
	for _, c := range knownConfigs {
		v = append(v, c.Name)
	}
	return strings.Join(v, ", ")
}

func findConfig(name string) (benchConfig, bool) {
	for _, c := range knownConfigs {
		if c.Name == name {
			return c, true
		}
	}
	return benchConfig{}, false
}

// window is one timed window.
type window struct {
	Steps      int     `json:"steps"`
	Seconds    float64 `json:"seconds"`
	TokensPerS float64 `json:"tokens_per_s"`
	// Foreign is the fraction of all CPUs used by other processes (and
	// stolen by the hypervisor) during the window; NaN-free, -1 if unknown.
	Foreign float64 `json:"foreign_frac"`
	// OwnCPU is the CPU time the benchmark itself used per wall second
	// (in cores, e.g. 1.7 of 2); -1 if unknown.
	OwnCPU float64 `json:"own_cpu_cores"`
}

// side is one implementation's result for a config and thread count.
type side struct {
	TokensPerS float64  `json:"tokens_per_s"`
	GFLOPs     float64  `json:"gflops"`
	Windows    []window `json:"windows,omitempty"`
	MaxForeign float64  `json:"max_foreign_frac"`
	// TokensPerCPUSec is the median over windows of tokens per second of
	// CPU time the implementation itself used: less sensitive than
	// TokensPerS to the CPU share other processes take on a shared machine
	// (it does charge spinning threads). 0 if unknown.
	TokensPerCPUSec float64 `json:"tokens_per_cpu_s"`
	// PhaseSeconds is seconds per step by phase (forward, backward, step).
	PhaseSeconds map[string]float64 `json:"phase_seconds_per_step,omitempty"`
	Loss         float64            `json:"last_loss,omitempty"`
	Error        string             `json:"error,omitempty"`
	// Partial marks a torch result cut short by --torch-timeout: the
	// windows finished by then.
	Partial bool `json:"partial,omitempty"`
}

// result is one row of bench-results.json.
type result struct {
	Config  string `json:"config"`
	Threads int    `json:"threads"`
	// Precision of the matrix products: "fp32", or "bf16" (VDPBF16PS).
	Precision string `json:"precision"`
	// Backend names the GEMM this row ran on.
	Backend string `json:"backend,omitempty"`
	// RatioFP32 is a bf16 row's tokens/s over the fp32 row's (same
	// config and threads, this run).
	RatioFP32 float64     `json:"ratio_bf16_over_fp32,omitempty"`
	Cfg       benchConfig `json:"cfg"`
	FLOPsTok  float64     `json:"flops_per_token"`
	Ours      side        `json:"ours"`
	Torch     *side       `json:"torch,omitempty"`
	Ratio     float64     `json:"ratio_ours_over_torch,omitempty"`
	RatioCPU  float64     `json:"ratio_per_cpu_s_ours_over_torch,omitempty"`
	TorchNote string      `json:"torch_note,omitempty"`
}

type report struct {
	Tool      string    `json:"tool"`
	Started   string    `json:"started"`
	GoVersion string    `json:"go_version"`
	NumCPU    int       `json:"num_cpu"`
	Backend   string    `json:"backend"`
	Reference string    `json:"reference,omitempty"`
	RefQRNN   string    `json:"reference_qrnn,omitempty"`
	Results   []result  `json:"results"`
	Tokenize  *tokBench `json:"tokenize,omitempty"`
}

type options struct {
	configs []benchConfig
	threads []int
	ref     string
	// refQRNN is the reference runner for the QRNN configs.
	refQRNN string
	// compare: run the references (--ref given, or --ref-qrnn set
	// explicitly).
	compare bool
	// torchTimeout bounds one reference run (config, thread count).
	torchTimeout time.Duration
	out          string
	// precisions: "fp32" and/or "bf16", each config run in each.
	precisions []string
	seed       uint64
	windows    int
	minTime    float64
	warmup     int
	tokDir     string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lmbench:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("lmbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configs := fs.String("configs", "A,A_inf,B,B_inf", "comma-separated configs: A (paper LM training: vocab 30k, emb 400, hidden 1150, 3 layers, batch 64, bptt 70), A_inf (its inference), B (small: vocab 10k, emb 200, hidden 512, batch 32), B_inf, Q and Q_inf (the small QRNN, B's sizes), MF (MultiFiT's QRNN: emb 400, hidden 1550, 4 layers, A's vocab and batch), tiny (a smoke test)")
	threads := fs.String("threads", "1,2", "comma-separated thread counts")
	precision := fs.String("precision", "fp32", "comma-separated precisions of the matrix products: fp32, bf16 (bf16 inputs, fp32 accumulation: AVX512_BF16's VDPBF16PS; rows report their speed-up over fp32 when both run). The PyTorch reference runs once, beside fp32")
	ref := fs.String("ref", "", "path of the PyTorch reference runner (../shared/bench/run-reference), for the AWD-LSTM configs; empty = ours only (no torch comparison at all)")
	refQRNN := fs.String("ref-qrnn", "bench/run-torch-qrnn", "with --ref (or set explicitly): the PyTorch reference runner for the QRNN configs (Q, Q_inf, MF): bench/torch_qrnn.py, fastai v2's AWD_QRNN with its CPU forget-mult, in run-reference's environment; empty = no torch comparison for them")
	out := fs.String("out", "bench-results.json", "results JSON (written atomically)")
	torchTimeout := fs.Duration("torch-timeout", 3*time.Minute, "limit for one reference run (config, thread count); on a busy machine PyTorch's OpenMP threads can slow down 20x: the windows finished by then are reported as partial")
	seed := fs.Uint64("seed", 1, "seed for weights, tokens and dropout masks")
	windows := fs.Int("windows", 0, "timed windows per config (0 = the config's default: A 3, B 5)")
	minTime := fs.Float64("min-time", -1, "seconds per timed window, whole steps, at least one (-1 = the config's default: A 0/2, B 4/3)")
	warmup := fs.Int("warmup", -1, "untimed warm-up steps (-1 = the config's default: A 1, B 2)")
	tokDir := fs.String("tokenize-dir", "tokenize", "the tokenize module; its Go benchmarks (func Benchmark...) run too when it has any; empty = skip")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lmbench [flags]\n\nTimes AWD-LSTM (and QRNN) LM training steps (forward with all dropouts, CE + AR/TAR,\nbackward, clip 0.1, AdamW) and inference; tokens/s = median window; GFLOP/s = GEMM FLOPs only.\nWith --ref, runs the PyTorch reference for the same configs and thread counts, interleaved,\nand prints ours/torch ratios: --ref for the AWD-LSTM configs (A, A_inf, B, B_inf), --ref-qrnn\nfor the QRNN ones (Q, Q_inf, MF). tiny has no reference.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q (flags only; see --help)", fs.Arg(0))}
	}
	o := &options{ref: *ref, refQRNN: *refQRNN, compare: *ref != "", out: *out, torchTimeout: *torchTimeout, seed: *seed, windows: *windows, minTime: *minTime, warmup: *warmup, tokDir: *tokDir}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "ref-qrnn" && f.Value.String() != "" {
			o.compare = true
		}
	})
	for _, name := range strings.Split(*configs, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		c, ok := findConfig(name)
		if !ok {
			return nil, usageError{fmt.Errorf("--configs: unknown config %q (want some of %s)", name, configNames())}
		}
		o.configs = append(o.configs, c)
	}
	if len(o.configs) == 0 {
		return nil, usageError{fmt.Errorf("--configs: no config given (want some of %s)", configNames())}
	}
	for _, s := range strings.Split(*threads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 256 {
			return nil, usageError{fmt.Errorf("--threads: %q is not a thread count between 1 and 256", s)}
		}
		o.threads = append(o.threads, n)
	}
	if o.windows < 0 {
		return nil, usageError{fmt.Errorf("--windows: %d is negative", o.windows)}
	}
	for _, p := range strings.Split(*precision, ",") {
		switch p = strings.TrimSpace(p); p {
		case "fp32", "bf16":
			o.precisions = append(o.precisions, p)
		case "":
		default:
			return nil, usageError{fmt.Errorf("--precision: %q is not fp32 or bf16", p)}
		}
	}
	if len(o.precisions) == 0 {
		return nil, usageError{fmt.Errorf("--precision: no precision given (want fp32, bf16 or both)")}
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	rep := &report{Tool: "stage/cmd/lmbench", Started: time.Now().UTC().Format(time.RFC3339),
		GoVersion: runtime.Version(), NumCPU: runtime.NumCPU()}
	// usable: the reference runners the configs need that exist.
	usable := map[string]bool{}
	if o.compare {
		for _, c := range o.configs {
			path, flagName := o.refFor(c)
			if _, seen := usable[path]; seen || path == "" {
				continue
			}
			st, err := os.Stat(path)
			usable[path] = err == nil && !st.IsDir()
			if !usable[path] {
				fmt.Fprintf(stderr, "lmbench: PyTorch reference %s (%s) not found: no torch comparison for the configs it runs\n", path, flagName)
				continue
			}
			if c.Arch == nn.ArchQRNN {
				rep.RefQRNN = path
			} else {
				rep.Reference = path
			}
		}
	}
	tmp, err := os.MkdirTemp("", "lmbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	for _, th := range o.threads {
		for _, c := range o.configs {
			if err := ctx.Err(); err != nil {
				return err
			}
			c = o.apply(c)
			_, fl := c.flopsPerToken()
			// One row per precision; the reference (run once) goes on the
			// fp32 row, or on the first where fp32 is not asked for.
			rows := make([]result, 0, len(o.precisions))
			refRow, fp32TokS := 0, 0.0
			for _, prec := range o.precisions {
				r := result{Config: c.Name, Threads: th, Precision: prec, Cfg: c, FLOPsTok: fl}
				fmt.Fprintf(stderr, "== %s (%s), %d thread(s), %s: ours\n", c.Name, c.Kind, th, prec)
				ours, backend, err := benchOurs(ctx, c, th, o.seed, prec == "bf16", stderr)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					ours.Error = err.Error()
					fmt.Fprintf(stderr, "   ours failed: %v\n", err)
				}
				r.Backend, r.Ours = backend, ours
				if prec == "fp32" {
					refRow, fp32TokS = len(rows), ours.TokensPerS
					if backend != "" {
						rep.Backend = backend
					}
				}
				rows = append(rows, r)
			}
			for i := range rows {
				if rows[i].Precision == "bf16" && fp32TokS > 0 && rows[i].Ours.TokensPerS > 0 {
					rows[i].RatioFP32 = rows[i].Ours.TokensPerS / fp32TokS
				}
			}
			r := &rows[refRow]
			ours := r.Ours
			ref, flagName := o.refFor(c)
			if o.compare && c.NoTorch {
				r.TorchNote = "no PyTorch counterpart for config " + c.Name
			} else if o.compare && !usable[ref] {
				r.TorchNote = fmt.Sprintf("no PyTorch reference runner for config %s (%s %q)", c.Name, flagName, ref)
			} else if o.compare {
				fmt.Fprintf(stderr, "== %s (%s), %d thread(s): torch (%s)\n", c.Name, c.Kind, th, filepath.Base(ref))
				ts, err := benchTorch(ctx, ref, c, th, tmp, o.torchTimeout, stderr)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					r.TorchNote = err.Error()
					fmt.Fprintf(stderr, "   torch failed: %v\n", err)
				} else {
					r.Torch = ts
					if ts.TokensPerS > 0 && ours.TokensPerS > 0 {
						r.Ratio = ours.TokensPerS / ts.TokensPerS
					}
					if ts.TokensPerCPUSec > 0 && ours.TokensPerCPUSec > 0 {
						r.RatioCPU = ours.TokensPerCPUSec / ts.TokensPerCPUSec
					}
				}
			}
			rep.Results = append(rep.Results, rows...)
			if err := writeJSONAtomic(o.out, rep); err != nil {
				return err
			}
		}
	}
	if o.tokDir != "" {
		rep.Tokenize = benchTokenize(ctx, o.tokDir, stderr)
	}
	printTable(stdout, rep)
	if err := writeJSONAtomic(o.out, rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", o.out)
	return nil
}

// refFor returns the PyTorch reference runner for c and the flag that names
// it: --ref (torch_awdlstm.py) for the AWD-LSTM configs, --ref-qrnn
// (bench/torch_qrnn.py) for the QRNN ones; "" for a config without one.
func (o *options) refFor(c benchConfig) (path, flagName string) {
	switch {
	case c.NoTorch:
		return "", ""
	case c.Arch == nn.ArchQRNN:
		return o.refQRNN, "--ref-qrnn"
	default:
		return o.ref, "--ref"
	}
}

// apply overrides the config's timing defaults with the flags that were set.
func (o *options) apply(c benchConfig) benchConfig {
	if o.windows > 0 {
		c.Windows = o.windows
	}
	if o.minTime >= 0 {
		c.MinTime = o.minTime
	}
	if o.warmup >= 0 {
		c.Warmup = o.warmup
	}
	return c
}

// benchOurs builds the model for c with the CPU backend and times it.
func benchOurs(ctx context.Context, c benchConfig, threads int, seed uint64, bf16 bool, log io.Writer) (side, string, error) {
	var s side
	m, err := newRunner(c, threads, seed, bf16)
	if err != nil {
		return s, "", err
	}
	defer m.Close()
	backend := m.Backend()
	for i := 0; i < c.Warmup; i++ {
		if err := ctx.Err(); err != nil {
			return s, backend, err
		}
		if _, err := m.Step(); err != nil {
			return s, backend, err
		}
	}
	m.ResetPhases()
	total := 0
	for w := 0; w < c.Windows; w++ {
		n := 0
		c0 := readCPU()
		t0 := time.Now()
		var el float64
		for {
			if err := ctx.Err(); err != nil {
				return s, backend, err
			}
			loss, err := m.Step()
			if err != nil {
				return s, backend, err
			}
			s.Loss = loss
			n++
			el = time.Since(t0).Seconds()
			if el >= c.MinTime {
				break
			}
		}
		c1 := readCPU()
		fr, own := foreign(c0, c1), ownCores(c0, c1)
		total += n
		win := window{Steps: n, Seconds: el, TokensPerS: float64(n*c.tokensPerStep()) / el, Foreign: fr, OwnCPU: own}
		s.Windows = append(s.Windows, win)
		fmt.Fprintf(log, "   window %d: %d step(s) in %.2fs -> %.1f tok/s (load %s)\n", w, n, el, win.TokensPerS, pct(fr))
	}
	s.TokensPerS = medianTokens(s.Windows)
	s.TokensPerCPUSec = medianPerCPU(s.Windows)
	_, fl := c.flopsPerToken()
	s.GFLOPs = s.TokensPerS * fl / 1e9
	s.MaxForeign = maxForeign(s.Windows)
	if total > 0 {
		s.PhaseSeconds = map[string]float64{}
		for k, v := range m.Phases() {
			s.PhaseSeconds[k] = v / float64(total)
		}
	}
	return s, backend, nil
}

func medianTokens(ws []window) float64 {
	v := make([]float64, len(ws))
	for i, w := range ws {
		v[i] = w.TokensPerS
	}
	sort.Float64s(v)
	switch n := len(v); {
	case n == 0:
		return 0
	case n%2 == 1:
		return v[n/2]
	default:
		return (v[n/2-1] + v[n/2]) / 2
	}
}

// medianPerCPU is the median of tokens per own CPU-second over the windows
// that know their CPU time, or 0.
func medianPerCPU(ws []window) float64 {
	var v []window
	for _, w := range ws {
		if w.OwnCPU > 0 {
			v = append(v, window{TokensPerS: w.TokensPerS / w.OwnCPU})
		}
	}
	return medianTokens(v)
}

func maxForeign(ws []window) float64 {
	m := -1.0
	for _, w := range ws {
		m = math.Max(m, w.Foreign)
	}
	return m
}

func pct(f float64) string {
	if f < 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

// benchTorch runs the PyTorch reference for one config and thread count with
// the same warm-up, window count and window length as ours. After timeout
// the reference (its whole process group) is killed and the windows it had
// finished, read from its progress lines, are reported as a partial result.
func benchTorch(ctx context.Context, ref string, c benchConfig, threads int, tmp string, timeout time.Duration, log io.Writer) (*side, error) {
	out := filepath.Join(tmp, fmt.Sprintf("torch-%s-%d.json", c.Name, threads))
	minTime := c.MinTime
	if minTime <= 0 {
		minTime = 1e-3 // torch's loop also runs at least one step per window
	}
	args := []string{"--configs", c.Name, "--threads", strconv.Itoa(threads),
		"--min-time", strconv.FormatFloat(minTime, 'g', -1, 64),
		"--repeats", strconv.Itoa(c.Windows), "--max-windows", strconv.Itoa(c.Windows),
		"--warmup", strconv.Itoa(c.Warmup), "--out", out}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, ref, args...)
	inGroup(cmd)
	var so bytes.Buffer
	prog := &torchLog{w: log, name: c.Name}
	cmd.Stdout = &so
	cmd.Stderr = prog
	if err := cmd.Run(); err != nil {
		if ctx.Err() == nil && tctx.Err() != nil && len(prog.windows) > 0 {
			s := &side{Windows: prog.windows, Partial: true}
			s.TokensPerS = medianTokens(s.Windows)
			_, fl := c.flopsPerToken()
			s.GFLOPs = s.TokensPerS * fl / 1e9
			s.MaxForeign = maxForeign(s.Windows)
			return s, nil
		}
		if tctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("torch reference killed after %s (--torch-timeout) before finishing a window", timeout)
		}
		return nil, fmt.Errorf("%s %s: %w (output: %s)", ref, strings.Join(args, " "), err, strings.TrimSpace(so.String()))
	}
	js, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("torch reference wrote no results: %w (output: %s)", err, strings.TrimSpace(so.String()))
	}
	var tr struct {
		Results []struct {
			Config        string             `json:"config"`
			TokensPerS    float64            `json:"tokens_per_s_median"`
			GFLOPs        float64            `json:"achieved_gflops"`
			Phase         map[string]float64 `json:"phase_seconds_per_step"`
			Windows       []map[string]any   `json:"windows"`
			TorchThreads  int                `json:"torch_num_threads"`
			FlopsPerToken map[string]any     `json:"flops"`
		} `json:"results"`
	}
	if err := json.Unmarshal(js, &tr); err != nil {
		return nil, fmt.Errorf("%s: %w", out, err)
	}
	for _, r := range tr.Results {
		if r.Config != c.Name {
			continue
		}
		s := &side{TokensPerS: r.TokensPerS, GFLOPs: r.GFLOPs, PhaseSeconds: r.Phase}
		for _, w := range r.Windows {
			win := window{Steps: int(num(w["steps"])), Seconds: num(w["seconds"]), TokensPerS: num(w["tokens_per_s"]), Foreign: num(w["foreign_frac"]), OwnCPU: -1}
			if f := num(w["own_cpu_frac"]); f > 0 {
				win.OwnCPU = f * float64(runtime.NumCPU()) // the reference reports a fraction of all CPUs
			}
			s.Windows = append(s.Windows, win)
		}
		s.MaxForeign = maxForeign(s.Windows)
		s.TokensPerCPUSec = medianPerCPU(s.Windows)
		return s, nil
	}
	return nil, fmt.Errorf("%s: no result for config %s (output: %s)", out, c.Name, strings.TrimSpace(so.String()))
}

func num(v any) float64 {
	if f, ok := v.(float64); ok {
		return f
	}
	return -1
}

// torchLog prefixes the reference's progress lines so they read as part of
// lmbench's log, and collects the windows they report, e.g.
// "  [A] window 0: 1 steps in 9.10s -> 492.3 tok/s (foreign load 3%, steal 0%)".
type torchLog struct {
	w       io.Writer
	name    string
	buf     string
	windows []window
}

var torchWindowRE = regexp.MustCompile(`\[(\w+)\] window \d+: (\d+) steps in ([0-9.]+)s -> ([0-9.]+) tok/s \(foreign load ([0-9.]+)%`)

func (t *torchLog) Write(p []byte) (int, error) {
	t.buf += string(p)
	for {
		line, rest, ok := strings.Cut(t.buf, "\n")
		if !ok {
			break
		}
		t.buf = rest
		if strings.TrimSpace(line) == "" {
			continue
		}
		fmt.Fprintf(t.w, "   torch: %s\n", line)
		if m := torchWindowRE.FindStringSubmatch(line); m != nil && m[1] == t.name {
			steps, _ := strconv.Atoi(m[2])
			sec, _ := strconv.ParseFloat(m[3], 64)
			tps, _ := strconv.ParseFloat(m[4], 64)
			fl, _ := strconv.ParseFloat(m[5], 64)
			t.windows = append(t.windows, window{Steps: steps, Seconds: sec, TokensPerS: tps, Foreign: fl / 100, OwnCPU: -1})
		}
	}
	return len(p), nil
}

func printTable(w io.Writer, rep *report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "config\tthreads\tprecision\tours tok/s\tbf16/fp32\tours GFLOP/s\ttorch tok/s\ttorch GFLOP/s\tours/torch\tours tok/CPU-s\ttorch tok/CPU-s\tours/torch per CPU-s\tload ours\tload torch\t\n")
	for _, r := range rep.Results {
		ot, og := "error", "-"
		if r.Ours.Error == "" {
			ot, og = fmt.Sprintf("%.0f", r.Ours.TokensPerS), fmt.Sprintf("%.1f", r.Ours.GFLOPs)
		}
		oc := "-"
		if r.Ours.TokensPerCPUSec > 0 {
			oc = fmt.Sprintf("%.0f", r.Ours.TokensPerCPUSec)
		}
		tt, tg, ratio, tc, rc, lt := "-", "-", "-", "-", "-", "-"
		if r.Torch != nil {
			tt, tg, lt = fmt.Sprintf("%.0f", r.Torch.TokensPerS), fmt.Sprintf("%.1f", r.Torch.GFLOPs), pct(r.Torch.MaxForeign)
			if r.Ratio > 0 {
				ratio = fmt.Sprintf("%.2f", r.Ratio)
			}
			if r.Torch.Partial {
				tt += "*"
			}
			if r.Torch.TokensPerCPUSec > 0 {
				tc = fmt.Sprintf("%.0f", r.Torch.TokensPerCPUSec)
			}
			if r.RatioCPU > 0 {
				rc = fmt.Sprintf("%.2f", r.RatioCPU)
			}
		}
		bf := "-"
		if r.RatioFP32 > 0 {
			bf = fmt.Sprintf("%.2f", r.RatioFP32)
		}
		prec := r.Precision
		if prec == "" {
			prec = "fp32"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Config, r.Threads, prec, ot, bf, og, tt, tg, ratio, oc, tc, rc, pct(r.Ours.MaxForeign), lt)
	}
	tw.Flush()
	for _, r := range rep.Results {
		if r.Torch != nil && r.Torch.Partial {
			fmt.Fprintf(w, "torch %s/%d*: cut short by --torch-timeout; median of the %d window(s) it finished\n", r.Config, r.Threads, len(r.Torch.Windows))
		}
		if r.TorchNote != "" {
			fmt.Fprintf(w, "torch %s/%d: %s\n", r.Config, r.Threads, r.TorchNote)
		}
		if r.Ours.Error != "" {
			fmt.Fprintf(w, "ours %s/%d/%s: %s\n", r.Config, r.Threads, r.Precision, r.Ours.Error)
		}
	}
	for _, r := range rep.Results {
		if r.Precision == "bf16" && r.Backend != "" {
			fmt.Fprintf(w, "bf16 backend: %s\n", r.Backend)
			break
		}
	}
	if rep.Backend != "" {
		fmt.Fprintf(w, "backend: %s\nload = max share of the machine's CPU used by other processes in a window; tok/CPU-s = tokens per second of the implementation's own CPU time (median)\n", rep.Backend)
	}
	if t := rep.Tokenize; t != nil {
		if t.Error != "" {
			fmt.Fprintf(w, "tokenize: %s\n", t.Error)
		} else {
			fmt.Fprintf(w, "tokenize (%s):\n%s\n", t.Command, strings.TrimSpace(t.Output))
		}
	}
}

// writeJSONAtomic writes v as indented JSON to path, atomically.
func writeJSONAtomic(path string, v any) error {
	js, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return artifacts.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(js, '\n'))
		return err
	})
}
