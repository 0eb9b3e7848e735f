//go:build cgo

package cpu

/*
#cgo CFLAGS: -O3 -std=gnu11
#cgo LDFLAGS: -lm
#include "kernels.h"
static int ulm_isa_supported(void) { return ulm_best_isa(); }
static int ulm_bf16_supported(void) { return ulm_has_bf16(); }
*/
import "C"

import "unsafe"

// kernelsCompiled says whether the vectorised C kernels are built in.
const kernelsCompiled = true

// bestISA returns the widest instruction set the kernels can use on this CPU:
// isaAVX512, isaAVX2 or isaGeneric.
func bestISA() int { return int(C.ulm_isa_supported()) }

// hasBF16 says whether the CPU has AVX512_BF16 (and the AVX-512 around it):
// what the VDPBF16PS GEMM needs.
func hasBF16() bool { return C.ulm_bf16_supported() != 0 }

func fp(s []float32) *C.float { return (*C.float)(unsafe.Pointer(unsafe.SliceData(s))) }
func ip(s []int32) *C.int     { return (*C.int)(unsafe.Pointer(unsafe.SliceData(s))) }
func dp(s []float64) *C.double {
	return (*C.double)(unsafe.Pointer(unsafe.SliceData(s)))
}

// kern runs the vectorised kernels for one instruction set. Callers check
// buffer lengths; the kernels trust them.
type kern struct{ isa C.int }

func newKern(isa int) kern { return kern{isa: C.int(isa)} }

func (k kern) lstmFwd(rows, h int, gates, cPrev, c, tanhC, hOut []float32) {
	C.ulm_lstm_fwd(k.isa, C.long(rows), C.long(h), fp(gates), fp(cPrev), fp(c), fp(tanhC), fp(hOut))
}

func (k kern) lstmBwd(rows, h int, gates, cPrev, tanhC, dh, dc, dGates, dcPrev []float32) {
	C.ulm_lstm_bwd(k.isa, C.long(rows), C.long(h), fp(gates), fp(cPrev), fp(tanhC), fp(dh), fp(dc), fp(dGates), fp(dcPrev))
}

func (k kern) qrnnFwd(t, b, h, rows int, gates, c0, keep, cs, hOut []float32) {
	C.ulm_qrnn_fwd(k.isa, C.long(t), C.long(b), C.long(h), C.long(rows), fp(gates), fp(c0), fp(keep), fp(cs), fp(hOut))
}

func (k kern) qrnnBwd(t, b, h, rows int, gates, c0, cs, keep, cut, dh, dGates []float32) {
	C.ulm_qrnn_bwd(k.isa, C.long(t), C.long(b), C.long(h), C.long(rows), fp(gates), fp(c0), fp(cs), fp(keep), fp(cut), fp(dh), fp(dGates))
}

func (k kern) sceRows(rows, v int, x []float32, tg []int32, ignore int32, cw []float32, gscale float32, dl []float32, loss, wsum []float64) {
	C.ulm_sce_rows(k.isa, C.long(rows), C.long(v), fp(x), ip(tg), C.int(ignore), fp(cw), C.float(gscale), fp(dl), dp(loss), dp(wsum))
}

func (k kern) softmaxRows(rows, v int, x, y []float32) {
	C.ulm_softmax_rows(k.isa, C.long(rows), C.long(v), fp(x), fp(y))
}

func (k kern) sigmoid(x, y []float32) { C.ulm_sigmoid(k.isa, C.long(len(x)), fp(x), fp(y)) }

func (k kern) binop(op int, dst, a, b []float32) {
	C.ulm_binop(k.isa, C.int(op), C.long(len(a)), fp(dst), fp(a), fp(b))
}

func (k kern) axpy(alpha float32, x, y []float32) {
	C.ulm_axpy(k.isa, C.long(len(x)), C.float(alpha), fp(x), fp(y))
}

func (k kern) scale(x []float32, a float32) { C.ulm_scale(k.isa, C.long(len(x)), fp(x), C.float(a)) }

func (k kern) fill(x []float32, v float32) { C.ulm_fill(k.isa, C.long(len(x)), fp(x), C.float(v)) }

func (k kern) mulBcast(dst, x, m []float32) {
	C.ulm_mulbcast(k.isa, C.long(len(x)), C.long(len(m)), fp(dst), fp(x), fp(m))
}

func (k kern) addBias(rows, cols int, x, b []float32) {
	C.ulm_addbias(k.isa, C.long(rows), C.long(cols), fp(x), fp(b))
}

func (k kern) colSum(rows, cols, ld int, x, out []float32) {
	C.ulm_colsum(k.isa, C.long(rows), C.long(cols), C.long(ld), fp(x), fp(out))
}

func (k kern) sumSq(x []float32) float64 { return float64(C.ulm_sumsq(k.isa, C.long(len(x)), fp(x))) }

// rowExp writes y[j] = exp(x[j]-mx) and returns their sum: the softmax
// kernels' reduction, exposed for the test of its summation order.
func (k kern) rowExp(x, y []float32, mx float32) float64 {
	return float64(C.ulm_rowexp(k.isa, C.long(len(x)), fp(x), fp(y), C.float(mx)))
}

func (k kern) adam(p, g, m, v []float32, lr, b1, b2, eps, wd, bc1, bc2 float32) {
	C.ulm_adam(k.isa, C.long(len(p)), fp(p), fp(g), fp(m), fp(v), C.float(lr), C.float(b1), C.float(b2),
		C.float(eps), C.float(wd), C.float(bc1), C.float(bc2))
}

func (k kern) embFwd(rows, cols, e int, w []float32, ids []int32, rs, out []float32) {
	C.ulm_emb_fwd(k.isa, C.long(rows), C.long(cols), C.long(e), fp(w), ip(ids), fp(rs), fp(out))
}

func (k kern) embBwd(rows, cols, e int, ids []int32, rs, dout, dw []float32) {
	C.ulm_emb_bwd(k.isa, C.long(rows), C.long(cols), C.long(e), ip(ids), fp(rs), fp(dout), fp(dw))
}

// sgemmWork is the workspace (floats) one sgemm call needs.
var sgemmWork = int(C.ulm_native_sgemm_work())

// sgemm runs the backend's own GEMM (sgemm_impl.h) for isaAVX512 or isaAVX2
// and reports whether it did; m, n, k > 0 and the buffers checked by the caller.
// bf16 rounds the operands to bfloat16 first (fp32 accumulation), by
// emulation or with VDPBF16PS (which needs hasBF16).
func (k kern) sgemm(bf16 bf16Mode, tA, tB bool, m, n, kk int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int, work []float32) bool {
	return C.ulm_native_sgemm(k.isa, C.int(bf16), cbool(tA), cbool(tB), C.long(m), C.long(n), C.long(kk), C.float(alpha), fp(a), C.long(lda),
		fp(b), C.long(ldb), C.float(beta), fp(c), C.long(ldc), fp(work)) != 0
}

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}
