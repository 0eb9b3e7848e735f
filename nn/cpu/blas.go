package cpu

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"
)

// openBLAS is a handle on a run-time loaded OpenBLAS library. Only the
// Fortran entry point sgemm_ is used: every argument of it is a pointer, so it
// can be called through purego.SyscallN without reflection and without
// allocating (cblas_sgemm mixes integer and float register arguments, which
// SyscallN cannot pass). Row-major requests are mapped onto the column-major
// Fortran routine by computing C^T = op(B)^T op(A)^T, which is exactly what
// cblas_sgemm does internally for CblasRowMajor.
type openBLAS struct {
	path       string
	config     string // openblas_get_config(), e.g. "OpenBLAS 0.3.21 ... Haswell"
	corename   string // openblas_get_corename(), the kernel set chosen at load
	sgemm      uintptr
	setThreads uintptr
	getThreads uintptr
}

// openBLASCandidates lists the names tried, in order, when loading OpenBLAS.
// ULMFIT_OPENBLAS, when set, is the only one.
func openBLASCandidates() []string {
	if p := os.Getenv("ULMFIT_OPENBLAS"); p != "" {
		return []string{p}
	}
	var c []string
	switch runtime.GOOS {
	case "darwin":
		c = append(c, "libopenblas.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
			"/usr/local/opt/openblas/lib/libopenblas.dylib")
	default:
		c = append(c, "libopenblas.so.0", "libopenblas.so",
			"/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "/usr/lib64/libopenblas.so.0",
			"/usr/lib/aarch64-linux-gnu/libopenblas.so.0")
	}
	return c
}

// loadOpenBLAS dlopens OpenBLAS and resolves the symbols the backend needs.
func loadOpenBLAS() (*openBLAS, error) {
	if runtime.GOOS == "windows" {
		return nil, errors.New("openblas: run-time loading not supported on windows")
	}
	var errs []error
	var missing []string // candidates that are not there at all
	for _, name := range openBLASCandidates() {
		h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			if strings.Contains(err.Error(), "No such file or directory") {
				missing = append(missing, name)
			} else {
				errs = append(errs, err)
			}
			continue
		}
		lib, err := resolveOpenBLAS(h)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		lib.path = name
		return lib, nil
	}
	// One line: it ends up in --version's backend line and in error messages.
	var msgs []string
	if len(missing) > 0 {
		msgs = append(msgs, "no "+strings.Join(missing, ", "))
	}
	for _, e := range errs {
		msgs = append(msgs, strings.ReplaceAll(e.Error(), "\n", " "))
	}
	return nil, fmt.Errorf("openblas not found: %s", strings.Join(msgs, "; "))
}

func resolveOpenBLAS(h uintptr) (*openBLAS, error) {
	lib := &openBLAS{}
	var err error
	if lib.sgemm, err = purego.Dlsym(h, "sgemm_"); err != nil {
		return nil, err
	}
	if lib.setThreads, err = purego.Dlsym(h, "openblas_set_num_threads"); err != nil {
		return nil, err
	}
	if lib.getThreads, err = purego.Dlsym(h, "openblas_get_num_threads"); err != nil {
		return nil, err
	}
	if f, err := purego.Dlsym(h, "openblas_get_config"); err == nil {
		r, _, _ := purego.SyscallN(f)
		lib.config = strings.TrimSpace(goString(r))
	}
	if f, err := purego.Dlsym(h, "openblas_get_corename"); err == nil {
		r, _, _ := purego.SyscallN(f)
		lib.corename = goString(r)
	}
	// The OpenMP build (openblas_get_parallel() == 2; Debian's
	// libopenblas0-openmp) is not safe to call from several threads at
	// once, as the backend's worker pool does: its results then differ from
	// run to run. The pthreads and serial builds are.
	if f, err := purego.Dlsym(h, "openblas_get_parallel"); err == nil {
		if r, _, _ := purego.SyscallN(f); int32(r) == 2 {
			return nil, errors.New("the OpenMP build, which is not safe for concurrent calls (use the pthreads build, e.g. Debian's libopenblas0-pthread)")
		}
	}
	return lib, nil
}

// version returns the "0.3.21" part of the config string, or "".
func (l *openBLAS) version() string {
	f := strings.Fields(l.config)
	if len(f) >= 2 && f[0] == "OpenBLAS" {
		return f[1]
	}
	return ""
}

// setNumThreads sets OpenBLAS's (process-wide) thread count.
func (l *openBLAS) setNumThreads(n int) {
	purego.SyscallN(l.setThreads, uintptr(n))
}

// numThreads returns OpenBLAS's current thread count.
func (l *openBLAS) numThreads() int {
	r, _, _ := purego.SyscallN(l.getThreads)
	return int(int32(r))
}

// goString copies a NUL-terminated C string.
func goString(p uintptr) string {
	if p == 0 {
		return ""
	}
	var b []byte
	for i := uintptr(0); i < 4096; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(nil), p+i)) //nolint:govet // C memory owned by the library
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// sgemmArgs holds the scalar arguments of one sgemm_ call. Fortran takes every
// argument by reference; keeping them in a long-lived struct (one per worker)
// means a call allocates nothing.
type sgemmArgs struct {
	transA, transB byte
	_              [2]byte
	m, n, k        int32
	lda, ldb, ldc  int32
	alpha, beta    float32
}

// call runs C = alpha*op(A)*op(B) + beta*C in row-major terms through the
// column-major sgemm_: op(A) is m x k, op(B) is k x n, C is m x n.
func (l *openBLAS) call(s *sgemmArgs, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	// Column-major view: C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m).
	s.transA, s.transB = 'N', 'N'
	if tB {
		s.transA = 'T'
	}
	if tA {
		s.transB = 'T'
	}
	s.m, s.n, s.k = int32(n), int32(m), int32(k)
	s.lda, s.ldb, s.ldc = int32(ldb), int32(lda), int32(ldc)
	s.alpha, s.beta = alpha, beta
	sgemmCall(l.sgemm, s, a, b, c)
}
