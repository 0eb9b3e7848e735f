// The native GEMM (sgemm_impl.h) for AVX2 + FMA: 8 lanes, 6 x 16 tiles (12
// accumulators of the 16 ymm registers). Included by kernels.h inside its
// AVX2 target region.
#define SG_SFX _avx2
#define SG_V __m256
#define SG_VW 8
#define SG_MR 6
#define SG_ZERO() _mm256_setzero_ps()
#define SG_LOAD(p) _mm256_load_ps(p)
#define SG_STORE(p, v) _mm256_store_ps(p, v)
#define SG_SET1(x) _mm256_set1_ps(x)
#define SG_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SG_MUL(a, b) _mm256_mul_ps(a, b)
// vmaskmovps suppresses faults on the lanes outside the mask.
#define SG_MASK __m256i
#define SG_MASKN(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)((n) < 0 ? 0 : (n) > 8 ? 8 : (n))), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define SG_MASKLOAD(m, p) _mm256_maskload_ps(p, m)
#define SG_MASKSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)

// sg_transpose_avx2 writes the transpose of the 8 x 8 block at src (rows ss
// floats apart) to dst (rows ds floats apart): dst[u*ds + v] = src[v*ss + u].
static inline __attribute__((always_inline)) void sg_transpose_avx2(const float *src, long ss, float *dst, long ds) {
	__m256 r[8], t[8];
	for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * ss);
	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 8; i += 4) {
		r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
		r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
		r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
	}
	for (int i = 0; i < 4; i++) {
		t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
		t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
	}
	for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + i * ds, t[i]);
}

// sg_bf16v_avx2 rounds each lane to bfloat16 (to nearest, ties to even, as
// VCVTNEPS2BF16); NaN stays NaN (rounding its payload could carry it into
// infinity).
static inline __attribute__((always_inline)) SG_V sg_bf16v_avx2(SG_V v) {
	__m256i u = _mm256_castps_si256(v);
	__m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
	u = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
	SG_V r = _mm256_castsi256_ps(_mm256_and_si256(u, _mm256_set1_epi32((int)0xffff0000u)));
	return _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}
#define SG_BF16V(v) sg_bf16v_avx2(v)

#include "sgemm_impl.h"
// Again with bf16-rounded operands (SG_BF16): sg_sgemm_avx2_bf16.
#undef SG_SFX
#undef SG_BF16
#define SG_SFX _avx2_bf16
#define SG_BF16 1
#define sg_transpose_avx2_bf16 sg_transpose_avx2
#include "sgemm_impl.h"
#undef sg_transpose_avx2_bf16
#include "sgemm_undef.h"
