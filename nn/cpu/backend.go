// Package cpu is the fast CPU implementation of nn.Backend: GEMM through
// its own AVX-512 kernels where the CPU has them, else OpenBLAS (loaded at
// run time with purego, so the binary builds with CGO_ENABLED=0 and runs
// where OpenBLAS is missing) or gonum's pure-Go Sgemm, and vectorised (AVX-512 / AVX2+FMA / baseline, chosen at run time)
// C kernels for the elementwise work: the fused LSTM cell, softmax
// cross-entropy, Adam, embedding gather/scatter, bias and reductions. Work is
// spread over a small persistent pool of goroutines without allocating in
// the steady state. Ops without a fast version fall back to nn.Reference().
//
// Selection, at New:
//   - GEMM: the native GEMM (sgemm_impl.h) when the kernels' ISA is
//     AVX-512; otherwise, or with ULMFIT_BLAS=openblas, OpenBLAS
//     (ULMFIT_OPENBLAS=/path/libopenblas.so.0 picks a specific library);
//     where OpenBLAS cannot be loaded, the native GEMM's AVX2 build, else
//     gonum (ULMFIT_BLAS=native|gonum forces one). The native GEMM reads the
//     weight matrix in place and packs only the smaller operand; on AVX-512
//     it runs 1.5-2.6x OpenBLAS's AVX2 kernels on the LSTM's shapes
//     (README.md).
//     OpenBLAS runs single-threaded; the backend splits each product into
//     one block per thread itself, which beats OpenBLAS's own threading on
//     the LSTM's small-M products and keeps OpenBLAS threads from spinning
//     on the cores while Go kernels run.
//   - Kernels: the widest ISA the CPU has, unless ULMFIT_ISA=avx2|generic
//     asks for less. Built with CGO_ENABLED=0 they are plain Go loops.
package cpu

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/ulmfit-go/ulmfit/nn"
)

// Instruction sets of the kernels.
const (
	isaGeneric = 0
	isaAVX2    = 1
	isaAVX512  = 2
)

func isaName(isa int) string {
	switch {
	case !kernelsCompiled:
		return "go"
	case isa == isaAVX512:
		return "avx512"
	case isa == isaAVX2:
		return "avx2"
	default:
		return "generic"
	}
}

// Options configure NewWithOptions. The zero value means: all cores'
// worth of threads (runtime.NumCPU), OpenBLAS if loadable, the best ISA.
type Options struct {
	// Threads is the number of goroutines (and GEMM blocks) used; <= 0
	// means runtime.NumCPU().
	Threads int
	// BLAS is "native", "openblas", "gonum" or "" (environment
	// ULMFIT_BLAS, else native on AVX-512, else openblas with native (AVX2)
	// or gonum as the fallback). "openblas-threads" hands whole products to OpenBLAS's own
	// thread pool instead of splitting them.
	BLAS string
	// ISA caps the kernels' instruction set: "avx512", "avx2", "generic" or
	// "" (environment ULMFIT_ISA, else the best the CPU has).
	ISA string
	// EmulateBF16 rounds both operands of every matrix product to bfloat16
	// (round to nearest even) before multiplying, accumulating in fp32: the
	// numerics of a bf16-input GEMM such as AVX512_BF16's VDPBF16PS, on any
	// CPU with AVX2 or AVX-512, to study them where that instruction is
	// missing. It runs on the native GEMM (chosen for it) and is slower than
	// fp32, never faster. Also set by the environment ULMFIT_GEMM_BF16=emulate
	// when BLAS is empty and ULMFIT_BLAS is unset or native. Tests hold fp32
	// tolerances: run them without it.
	EmulateBF16 bool
	// BF16 runs every matrix product on bf16 inputs with fp32 accumulation
	// through AVX512_BF16's VDPBF16PS (twice the multiply-adds of an fp32
	// FMA per instruction): the numerics of EmulateBF16, at the speed of the
	// instruction. It needs a CPU with AVX512_BF16 (HasBF16) and kernels not
	// capped below AVX-512, and selects the native GEMM. Also set by the
	// environment ULMFIT_GEMM_BF16=native, with EmulateBF16's conditions
	// (where the CPU lacks the instruction, the environment is ignored).
	BF16 bool
}

// HasBF16 says whether this CPU and build have what the bf16 GEMM
// (Options.BF16) needs: AVX512_BF16, AVX-512, and the C kernels (cgo). It
// does not look at ULMFIT_ISA or Options.ISA, which can still cap the
// kernels below AVX-512; CheckBF16 does.
func HasBF16() bool { return kernelsCompiled && hasBF16() }

// CheckBF16 reports why a backend with Options.BF16 cannot be made here (no
// AVX512_BF16, no cgo, ULMFIT_ISA capping the kernels below avx512), or nil.
func CheckBF16() error {
	b, err := NewWithOptions(Options{Threads: 1, BF16: true})
	if err == nil {
		b.Close()
	}
	return err
}

// Backend is the fast CPU nn.Backend. Create it with New or
// NewWithOptions. Its ops may be called from several goroutines, but only
// one op at a time runs in parallel; the others run single-threaded.
type Backend struct {
	nn.Backend // reference implementation for the ops not overridden

	threads  int
	pool     *pool
	gemm     *gemmEngine
	k        kern
	isa      int
	blasDesc string
	lib      *openBLAS

	job      opJob
	rowLoss  []float64 // per-row losses of SoftmaxCrossEntropy
	rowW     []float64
	partials []float64 // per-block sums of SumSquares
}

// New returns the fast CPU backend with the given number of threads (<= 0:
// runtime.NumCPU()), configured from the environment (see the package doc).
func New(threads int) nn.Backend {
	b, err := NewWithOptions(Options{Threads: threads})
	if err != nil {
		// Only explicit, invalid Options fail; the environment cannot.
		panic(err)
	}
	return b
}

// NewWithOptions returns a backend configured by o. It fails only when o
// asks for something unavailable (openblas that cannot be loaded, an
// unknown BLAS or ISA name); bad environment values fall back with defaults.
func NewWithOptions(o Options) (*Backend, error) {
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	explicitBLAS := o.BLAS != ""
	blasName := o.BLAS
	if blasName == "" {
		blasName = strings.ToLower(os.Getenv("ULMFIT_BLAS"))
	}
	b := &Backend{Backend: nn.Reference(), threads: threads, pool: newPool(threads)}

	isa := bestISA()
	want := o.ISA
	if want == "" {
		want = strings.ToLower(os.Getenv("ULMFIT_ISA"))
	}
	switch want {
	case "":
	case "avx512":
		isa = min(isa, isaAVX512)
	case "avx2":
		isa = min(isa, isaAVX2)
	case "generic":
		isa = isaGeneric
	default:
		if o.ISA != "" {
			return nil, fmt.Errorf("cpu: unknown ISA %q (want avx512, avx2 or generic)", o.ISA)
		}
	}
	b.isa = isa
	b.k = newKern(isa)
	b.job.k = b.k

	// The native GEMM runs on AVX2 and AVX-512 kernels. On AVX-512 it is
	// the default (1.5-2.6x OpenBLAS's AVX2 kernels); on AVX2 OpenBLAS is
	// faster for training and stays the default, and the native GEMM is the
	// fallback where OpenBLAS is missing (about 10x gonum).
	haveNative := kernelsCompiled && isa >= isaAVX2
	mode := gemmSplit
	switch blasName {
	case "gonum":
		mode = gemmGonum
	case "openblas-threads":
		mode = gemmLibThreads
	case "openblas":
	case "native":
		if haveNative {
			mode = gemmNative
		} else if explicitBLAS {
			return nil, fmt.Errorf("cpu: the native GEMM needs AVX2 or AVX-512 and cgo (kernels here: %s)", isaName(isa))
		}
	default:
		if explicitBLAS {
			return nil, fmt.Errorf("cpu: unknown BLAS %q (want native, openblas, openblas-threads or gonum)", o.BLAS)
		}
		// "" or an unknown ULMFIT_BLAS: the default.
		if haveNative && isa == isaAVX512 {
			mode = gemmNative
		}
	}
	// The environment applies where neither Options nor ULMFIT_BLAS name a
	// GEMM other than the native one: a backend asked for OpenBLAS or gonum
	// (as the GEMM tests do) stays plain fp32. Decided before OpenBLAS is
	// loaded: the emulation runs on the native GEMM, so Options.EmulateBF16
	// with any BLAS needs no OpenBLAS installed.
	envOK := !explicitBLAS && (blasName == "" || blasName == "native")
	envBF16 := ""
	if envOK {
		envBF16 = strings.ToLower(os.Getenv("ULMFIT_GEMM_BF16"))
	}
	haveDP := haveNative && isa == isaAVX512 && hasBF16()
	var bf16 bf16Mode
	switch {
	case o.BF16 && o.EmulateBF16:
		return nil, fmt.Errorf("cpu: Options.BF16 and EmulateBF16 both set: want one")
	case o.BF16:
		if !haveDP {
			return nil, fmt.Errorf("cpu: bf16 products need AVX512_BF16 and the AVX-512 kernels (kernels here: %s; AVX512_BF16: %v)", isaName(isa), hasBF16())
		}
		bf16 = bf16Native
	case o.EmulateBF16:
		if !haveNative {
			return nil, fmt.Errorf("cpu: emulated bf16 products need the native GEMM (AVX2 or AVX-512 and cgo; kernels here: %s)", isaName(isa))
		}
		bf16 = bf16Emulate
	case envBF16 == "native" && haveDP:
		bf16 = bf16Native
	case envBF16 == "emulate" && haveNative:
		bf16 = bf16Emulate
	}
	// Otherwise the environment only: fall back to fp32, as for ULMFIT_BLAS.
	if bf16 != bf16Off {
		mode = gemmNative
	}
	if mode == gemmSplit || mode == gemmLibThreads {
		lib, err := loadOpenBLAS()
		switch {
		case err == nil:
			b.lib = lib
		case explicitBLAS:
			return nil, fmt.Errorf("cpu: %w", err)
		case haveNative:
			mode = gemmNative
		default:
			mode = gemmGonum
		}
	}
	b.gemm = newGemmEngine(b.lib, b.pool, mode, b.k)
	b.gemm.bf16 = bf16
	switch mode {
	case gemmGonum:
		b.blasDesc = "gonum"
	case gemmNative:
		b.blasDesc = "native " + isaName(isa) + " gemm"
		switch bf16 {
		case bf16Emulate:
			b.blasDesc += " with bf16-rounded inputs"
		case bf16Native:
			b.blasDesc = "native avx512_bf16 gemm (bf16 inputs, fp32 accumulation)"
		}
	default:
		b.blasDesc = "openblas"
		if v := b.lib.version(); v != "" {
			b.blasDesc += " " + v
		}
		if c := b.lib.corename; c != "" {
			b.blasDesc += " " + strings.ToLower(c)
		}
	}
	// The workers reference only the pool: stop them once the backend is
	// unreachable, in case Close was never called.
	runtime.AddCleanup(b, func(p *pool) { p.close() }, b.pool)
	return b, nil
}

// Name describes the configuration, e.g.
// "cpu(openblas 0.3.21, 2 threads, avx512)".
func (b *Backend) Name() string {
	return fmt.Sprintf("cpu(%s, %d threads, %s)", b.blasDesc, b.threads, isaName(b.isa))
}

// Threads returns the number of threads the backend uses.
func (b *Backend) Threads() int { return b.threads }

// Close stops the worker goroutines. The backend stays usable, single-threaded.
func (b *Backend) Close() { b.pool.close() }

// Info describes the CPU backend's environment for --version output: the
// OpenBLAS library (path, build config, kernel set) or why it is absent, and
// the kernels' instruction set.
func Info() string {
	var sb strings.Builder
	b, err := NewWithOptions(Options{Threads: 1})
	if err == nil {
		fmt.Fprintf(&sb, "gemm: %s; ", b.blasDesc)
	}
	lib, lerr := loadOpenBLAS()
	switch {
	case lerr != nil:
		fmt.Fprintf(&sb, "openblas: unavailable (%v)", lerr)
	default:
		fmt.Fprintf(&sb, "openblas: %s (%s; core %s)", lib.path, lib.config, lib.corename)
	}
	if err == nil {
		bf16 := "available"
		if err := CheckBF16(); err != nil {
			bf16 = "unavailable (" + strings.TrimPrefix(err.Error(), "cpu: ") + ")"
		}
		fmt.Fprintf(&sb, "; kernels: %s (cpu supports %s); bf16 products: %s", isaName(b.isa), isaName(bestISA()), bf16)
		b.Close()
	}
	fmt.Fprintf(&sb, "; cpus: %d", runtime.NumCPU())
	return sb.String()
}

// ParallelFor splits [0,n) into Threads() contiguous chunks and runs fn on
// them concurrently (serially when another parallel op is running).
func (b *Backend) ParallelFor(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if b.threads == 1 || n == 1 || !b.pool.acquire() {
		fn(0, n)
		return
	}
	b.job = opJob{op: opFunc, k: b.k, fn: fn}
	b.pool.run(&b.job, n, b.threads, 1)
	b.job = opJob{k: b.k}
	b.pool.release()
}

// Gemm computes C = alpha*op(A)*op(B) + beta*C, row-major (see nn.Backend).
func (b *Backend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bm []float32, ldb int, beta float32, c []float32, ldc int) {
	b.gemm.gemm(transA, transB, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc)
}

// ShapeInvariant reports whether every element of a product gets the same
// bits whatever the number of rows in the call and the number of threads:
// true for the project's own GEMM and gonum, false for OpenBLAS, whose
// kernels and blocking change the order of summation with the shape (so a
// text classified alone and in a batch can differ in the last bit there).
func (b *Backend) ShapeInvariant() bool {
	return b.gemm.mode == gemmNative || b.gemm.mode == gemmGonum
}
