//go:build cgo

package cpu

/*
#include <stdint.h>
typedef void (*ulm_sgemm_fn)(const char *, const char *, const int *, const int *, const int *, const float *,
                             const float *, const int *, const float *, const int *, const float *, float *,
                             const int *, long, long);
static void ulm_sgemm(uintptr_t fn, char ta, char tb, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc) {
	((ulm_sgemm_fn)fn)(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc, 1, 1);
}
*/
import "C"

// sgemmCall calls the column-major sgemm_ at fn with s's scalars, where
// (in sgemm_'s terms) b is its A and a its B: see openBLAS.call. Going
// through a C trampoline instead of purego.SyscallN avoids the per-call
// allocation of SyscallN's variadic arguments.
func sgemmCall(fn uintptr, s *sgemmArgs, a, b, c []float32) {
	C.ulm_sgemm(C.uintptr_t(fn), C.char(s.transA), C.char(s.transB), C.int(s.m), C.int(s.n), C.int(s.k),
		C.float(s.alpha), fp(b), C.int(s.lda), fp(a), C.int(s.ldb), C.float(s.beta), fp(c), C.int(s.ldc))
}
