// Instantiates kernels_impl.h once per instruction set and defines the
// dispatching entry points called from Go (kernels_cgo.go). isa: 0 generic
// (the compiler's baseline: SSE2 on amd64, NEON on arm64), 1 AVX2+FMA,
// 2 AVX-512 (F, VL, DQ, BW) + FMA.
#include <string.h>
#include <stdint.h>


#if defined(__x86_64__)
#include <immintrin.h>
#define VSQRT(v) ((VF)_mm_sqrt_ps((__m128)(v)))
#endif
#define VW 4
#define SFX _generic
#include "kernels_impl.h"
#undef VW
#undef SFX
#undef VSQRT

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define VSQRT(v) ((VF)_mm256_sqrt_ps((__m256)(v)))
#define VW 8
#define SFX _avx2
#include "kernels_impl.h"
#undef VW
#undef SFX
#undef VSQRT
#include "sgemm_avx2.h"
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#define VSQRT(v) ((VF)_mm512_sqrt_ps((__m512)(v)))
#define VW 16
#define SFX _avx512
#include "kernels_impl.h"
#undef VW
#undef SFX
#undef VSQRT
#include "sgemm_avx512.h"
#pragma GCC pop_options

// The bf16 GEMM (VDPBF16PS), for CPUs that also have AVX512_BF16.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,avx2,fma")
#include "sgemm_bf16dp.h"
#pragma GCC pop_options

static int ulm_best_isa_x86(void) {
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("fma"))
		return 2;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
	return 0;
}
static int ulm_best_isa(void) { return ulm_best_isa_x86(); }
// ulm_has_bf16 says whether the CPU has AVX512_BF16 (with the AVX-512 the
// bf16 GEMM also needs).
static int ulm_has_bf16(void) {
	__builtin_cpu_init();
	return ulm_best_isa_x86() == 2 && __builtin_cpu_supports("avx512bf16");
}
#define DISPATCH(isa, name, args)          \
	switch (isa) {                       \
	case 2: return name##_avx512 args;   \
	case 1: return name##_avx2 args;     \
	default: return name##_generic args; \
	}
#else
static int ulm_best_isa(void) { return 0; }
static int ulm_has_bf16(void) { return 0; }
#define DISPATCH(isa, name, args) return name##_generic args;
#endif

static void ulm_lstm_fwd(int isa, long rows, long h, float *g, const float *cp, float *c, float *tc, float *ho) {
	DISPATCH(isa, lstm_fwd, (rows, h, g, cp, c, tc, ho))
}
static void ulm_lstm_bwd(int isa, long rows, long h, const float *g, const float *cp, const float *tc, const float *dh,
                         const float *dc, float *dg, float *dcp) {
	DISPATCH(isa, lstm_bwd, (rows, h, g, cp, tc, dh, dc, dg, dcp))
}
static void ulm_qrnn_fwd(int isa, long t, long b, long h, long rows, float *g, const float *c0, const float *keep,
                         float *cs, float *ho) {
	DISPATCH(isa, qrnn_fwd, (t, b, h, rows, g, c0, keep, cs, ho))
}
static void ulm_qrnn_bwd(int isa, long t, long b, long h, long rows, const float *g, const float *c0, const float *cs,
                         const float *keep, const float *cut, const float *dh, float *dg) {
	DISPATCH(isa, qrnn_bwd, (t, b, h, rows, g, c0, cs, keep, cut, dh, dg))
}
static void ulm_sce_rows(int isa, long rows, long v, const float *x, const int *tg, int ignore, const float *cw,
                         float gscale, float *dl, double *loss, double *wsum) {
	DISPATCH(isa, sce_rows, (rows, v, x, tg, ignore, cw, gscale, dl, loss, wsum))
}
static void ulm_softmax_rows(int isa, long rows, long v, const float *x, float *y) {
	DISPATCH(isa, softmax_rows, (rows, v, x, y))
}
static void ulm_sigmoid(int isa, long n, const float *x, float *y) { DISPATCH(isa, sigmoid, (n, x, y)) }
static void ulm_binop(int isa, int op, long n, float *dst, const float *a, const float *b) {
	DISPATCH(isa, binop, (op, n, dst, a, b))
}
static void ulm_axpy(int isa, long n, float alpha, const float *x, float *y) { DISPATCH(isa, axpy, (n, alpha, x, y)) }
static void ulm_scale(int isa, long n, float *x, float a) { DISPATCH(isa, scalev, (x, n, a)) }
static void ulm_fill(int isa, long n, float *x, float v) { DISPATCH(isa, fill, (n, x, v)) }
static void ulm_mulbcast(int isa, long n, long lm, float *dst, const float *x, const float *m) {
	DISPATCH(isa, mulbcast, (n, lm, dst, x, m))
}
static void ulm_addbias(int isa, long rows, long cols, float *x, const float *b) {
	DISPATCH(isa, addbias, (rows, cols, x, b))
}
static void ulm_colsum(int isa, long rows, long cols, long ld, const float *x, float *out) {
	DISPATCH(isa, colsum, (rows, cols, ld, x, out))
}
static double ulm_sumsq(int isa, long n, const float *x) { DISPATCH(isa, sumsq, (n, x)) }
static double ulm_rowexp(int isa, long v, const float *x, float *y, float mx) { DISPATCH(isa, rowexp, (x, y, v, mx)) }
static void ulm_adam(int isa, long n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2,
                     float eps, float wd, float bc1, float bc2) {
	DISPATCH(isa, adam, (n, p, g, m, v, lr, b1, b2, eps, wd, bc1, bc2))
}
static void ulm_emb_fwd(int isa, long rows, long cols, long e, const float *w, const int *ids, const float *rs,
                        float *out) {
	DISPATCH(isa, emb_fwd, (rows, cols, e, w, ids, rs, out))
}
static void ulm_emb_bwd(int isa, long rows, long cols, long e, const int *ids, const float *rs, const float *dout,
                        float *dw) {
	DISPATCH(isa, emb_bwd, (rows, cols, e, ids, rs, dout, dw))
}

// ulm_native_sgemm runs the native GEMM (sgemm_impl.h) for isa and returns 1,
// or returns 0 when isa has none (the caller then uses its BLAS).
// bf16: 0 fp32; 1 round the operands to bfloat16 first (SG_BF16 in
// sgemm_impl.h); 2 the VDPBF16PS GEMM (sgemm_bf16dp.h; the caller has
// checked ulm_has_bf16).
static int ulm_native_sgemm(int isa, int bf16, int tA, int tB, long m, long n, long k, float alpha, const float *a,
                            long lda, const float *b, long ldb, float beta, float *c, long ldc, float *work) {
#if defined(__x86_64__)
	if (isa == 2 && bf16 == 2) {
		sg_sgemm_bf16dp(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
		return 1;
	}
	if (isa == 2) {
		if (bf16) sg_sgemm_avx512_bf16(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
		else sg_sgemm_avx512(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
		return 1;
	}
	if (isa == 1) {
		if (bf16) sg_sgemm_avx2_bf16(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
		else sg_sgemm_avx2(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
		return 1;
	}
#endif
	return 0;
}
#if defined(__x86_64__)
static long ulm_native_sgemm_work(void) { return SG_WORK > BD_WORK ? SG_WORK : BD_WORK; }
#else
static long ulm_native_sgemm_work(void) { return 0; }
#endif
