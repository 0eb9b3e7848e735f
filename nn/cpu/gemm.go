package cpu

import (
	"fmt"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// gemmMode says how a GEMM is parallelised.
type gemmMode int

const (
	// gemmSplit keeps OpenBLAS single-threaded and splits C into one block per
	// pool thread, each computed by its own sgemm_ call. All parallelism is
	// then the backend's own: no OpenBLAS threads spin on the cores while Go
	// code runs elementwise kernels.
	gemmSplit gemmMode = iota
	// gemmLibThreads hands the whole product to OpenBLAS with
	// openblas_set_num_threads(threads).
	gemmLibThreads
	// gemmGonum uses gonum's pure-Go Sgemm (which parallelises itself).
	gemmGonum
	// gemmNative splits C like gemmSplit but computes each block with the
	// backend's own GEMM (sgemm_impl.h, AVX-512 or AVX2) instead of OpenBLAS.
	gemmNative
)

func (m gemmMode) String() string {
	switch m {
	case gemmSplit:
		return "split"
	case gemmLibThreads:
		return "openblas-threads"
	case gemmNative:
		return "native"
	default:
		return "gonum"
	}
}

// bf16Mode says how the native GEMM treats its operands.
type bf16Mode int

const (
	bf16Off     bf16Mode = iota // fp32 products
	bf16Emulate                 // operands rounded to bf16, fp32 FMAs (any AVX2 or AVX-512 CPU)
	bf16Native                  // VDPBF16PS (AVX512_BF16 CPUs)
)

// gemmEngine computes row-major C = alpha*op(A)*op(B) + beta*C.
type gemmEngine struct {
	mode gemmMode
	// bf16 says whether (and how) every product's operands are rounded to
	// bfloat16 (native mode only): Options.BF16 and Options.EmulateBF16.
	bf16 bf16Mode
	lib  *openBLAS
	pool *pool
	args []sgemmArgs // one per pool part
	job  gemmJob

	// The native GEMM's packing workspace, one per pool part, and a spare
	// for products run outside the pool (see gemm).
	k       kern
	work    [][]float32
	spareMu sync.Mutex
	spare   []float32
}

// newGemmEngine returns the engine for mode. lib may be nil for gemmNative
// and gemmGonum; k must be an AVX2 or AVX-512 kern for gemmNative.
func newGemmEngine(lib *openBLAS, p *pool, mode gemmMode, k kern) *gemmEngine {
	if lib == nil && mode != gemmNative {
		mode = gemmGonum
	}
	g := &gemmEngine{mode: mode, lib: lib, pool: p, args: make([]sgemmArgs, p.threads), k: k}
	g.job.g = g
	if mode == gemmNative {
		g.work = make([][]float32, p.threads)
		for i := range g.work {
			g.work[i] = make([]float32, sgemmWork)
		}
		g.spare = make([]float32, sgemmWork)
	}
	switch mode {
	case gemmSplit:
		lib.setNumThreads(1)
	case gemmLibThreads:
		lib.setNumThreads(p.threads)
	}
	return g
}

// gemmJob is the pool job of a split GEMM.
type gemmJob struct {
	g             *gemmEngine
	tA, tB        bool
	m, n, k       int
	alpha, beta   float32
	a, b, c       []float32
	lda, ldb, ldc int
	byRows        bool
}

func (j *gemmJob) run(part, lo, hi int) {
	if lo >= hi {
		return
	}
	a, b, c := j.a, j.b, j.c
	m, n := j.m, j.n
	if j.byRows {
		if j.tA {
			a = a[lo:]
		} else {
			a = a[lo*j.lda:]
		}
		c = c[lo*j.ldc:]
		m = hi - lo
	} else {
		if j.tB {
			b = b[lo*j.ldb:]
		} else {
			b = b[lo:]
		}
		c = c[lo:]
		n = hi - lo
	}
	j.g.block(part, j.tA, j.tB, m, n, j.k, j.alpha, a, j.lda, b, j.ldb, j.beta, c, j.ldc)
}

// block computes one product (or one part of a split one) on the calling
// goroutine with part's private arguments and workspace.
func (g *gemmEngine) block(part int, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if g.mode == gemmNative {
		g.native(g.work[part], tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	g.lib.call(&g.args[part], tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// serial computes a product outside the pool (nested in a parallel section or
// concurrent with another op) with arguments and workspace of its own.
func (g *gemmEngine) serial(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if g.mode != gemmNative {
		g.lib.call(new(sgemmArgs), tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	w := g.spare
	if g.spareMu.TryLock() {
		defer g.spareMu.Unlock()
	} else {
		w = make([]float32, sgemmWork) // a third concurrent caller: rare
	}
	g.native(w, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// native runs the native GEMM with w (sgemmWork floats) as its workspace.
func (g *gemmEngine) native(w []float32, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !g.k.sgemm(g.bf16, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, w) {
		panic("cpu.Gemm: native GEMM selected without AVX2 or AVX-512 kernels")
	}
}

// checkGemm panics with a clear message when the buffers cannot hold the
// matrices described (a programming error, never user input).
func checkGemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	switch {
	case m < 0 || n < 0 || k < 0:
		panic(fmt.Sprintf("cpu.Gemm: negative size m=%d n=%d k=%d", m, n, k))
	case lda < max(ac, 1) || (ar > 0 && len(a) < (ar-1)*lda+ac):
		panic(fmt.Sprintf("cpu.Gemm: A is %dx%d with lda %d but has %d elements", ar, ac, lda, len(a)))
	case ldb < max(bc, 1) || (br > 0 && len(b) < (br-1)*ldb+bc):
		panic(fmt.Sprintf("cpu.Gemm: B is %dx%d with ldb %d but has %d elements", br, bc, ldb, len(b)))
	case ldc < max(n, 1) || (m > 0 && len(c) < (m-1)*ldc+n):
		panic(fmt.Sprintf("cpu.Gemm: C is %dx%d with ldc %d but has %d elements", m, n, ldc, len(c)))
	}
}

// gemm computes C = alpha*op(A)*op(B) + beta*C, all row-major; op(A) is
// m x k (A is stored k x m when tA), op(B) is k x n (stored n x k when tB).
func (g *gemmEngine) gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		// C = beta*C; BLAS implementations agree on this but avoid relying on it.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				for j := range row {
					row[j] *= beta
				}
			}
		}
		return
	}
	switch g.mode {
	case gemmGonum:
		ta, tb := blas.NoTrans, blas.NoTrans
		if tA {
			ta = blas.Trans
		}
		if tB {
			tb = blas.Trans
		}
		gonum.Implementation{}.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	default:
		if !g.pool.acquire() {
			// Nested in a parallel section or concurrent with another
			// op: run single-threaded with private arguments.
			g.serial(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			return
		}
		parts := 1
		byRows := m > n
		size, align := n, 16
		if byRows {
			size, align = m, 8
		}
		if g.mode != gemmLibThreads {
			parts = g.pool.parts(size, 2*m*n*k/size/64)
		}
		if parts <= 1 {
			g.block(0, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		} else {
			// Split the longer side of C; blocks are a multiple of 16
			// columns (64 bytes) or 8 rows so the kernels' panels stay whole.
			j := &g.job
			*j = gemmJob{g: g, tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta,
				a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, byRows: byRows}
			g.pool.run(j, size, parts, align)
			j.a, j.b, j.c = nil, nil, nil
		}
		g.pool.release()
	}
}
