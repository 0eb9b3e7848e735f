//go:build !cgo

package cpu

import (
	"unsafe"

	"github.com/ebitengine/purego"
)

// sgemmCall calls sgemm_ through purego (one small allocation per call for
// the variadic arguments; the cgo build has none).
func sgemmCall(fn uintptr, s *sgemmArgs, a, b, c []float32) {
	purego.SyscallN(fn,
		uintptr(unsafe.Pointer(&s.transA)), uintptr(unsafe.Pointer(&s.transB)),
		uintptr(unsafe.Pointer(&s.m)), uintptr(unsafe.Pointer(&s.n)), uintptr(unsafe.Pointer(&s.k)),
		uintptr(unsafe.Pointer(&s.alpha)),
		uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(&s.lda)),
		uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(&s.ldb)),
		uintptr(unsafe.Pointer(&s.beta)),
		uintptr(unsafe.Pointer(unsafe.SliceData(c))), uintptr(unsafe.Pointer(&s.ldc)),
		1, 1) // hidden Fortran character lengths of TRANSA and TRANSB
}
