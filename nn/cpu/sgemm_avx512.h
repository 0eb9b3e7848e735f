// The native GEMM (sgemm_impl.h) for AVX-512: 16 lanes, 12 x 32 tiles.
// Included by kernels.h inside its AVX-512 target region.
#define SG_SFX _avx512
#define SG_V __m512
#define SG_VW 16
#define SG_MR 12
#define SG_ZERO() _mm512_setzero_ps()
#define SG_LOAD(p) _mm512_load_ps(p)
#define SG_STORE(p, v) _mm512_store_ps(p, v)
#define SG_SET1(x) _mm512_set1_ps(x)
#define SG_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SG_MUL(a, b) _mm512_mul_ps(a, b)
// Masked loads never touch (or fault on) the lanes outside the mask.
#define SG_MASK __mmask16
#define SG_MASKN(n) ((n) >= 16 ? (__mmask16)0xFFFF : (n) <= 0 ? (__mmask16)0 : (__mmask16)((1u << (n)) - 1))
#define SG_MASKLOAD(m, p) _mm512_maskz_loadu_ps(m, p)
#define SG_MASKSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)

// sg_transpose_avx512 writes the transpose of the 16 x 16 block at src (rows
// ss floats apart) to dst (rows ds floats apart): dst[u*ds + v] = src[v*ss + u].
static inline __attribute__((always_inline)) void sg_transpose_avx512(const float *src, long ss, float *dst, long ds) {
	__m512 r[16], t[16];
	for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ss);
	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 16; i += 4) {
		r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
		r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
		r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
	}
	for (int h = 0; h < 16; h += 8)
		for (int i = 0; i < 4; i++) {
			t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
			t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xDD);
		}
	for (int i = 0; i < 8; i++) {
		r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
		r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
	}
	for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * ds, r[i]);
}

// sg_bf16v_avx512 rounds each lane to bfloat16 (to nearest, ties to even, as
// VCVTNEPS2BF16); NaN stays NaN (rounding its payload could carry it into
// infinity).
static inline __attribute__((always_inline)) SG_V sg_bf16v_avx512(SG_V v) {
	__m512i u = _mm512_castps_si512(v);
	__m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
	u = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
	SG_V r = _mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32((int)0xffff0000u)));
	return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
}
#define SG_BF16V(v) sg_bf16v_avx512(v)

#include "sgemm_impl.h"
// Again with bf16-rounded operands (SG_BF16): sg_sgemm_avx512_bf16.
#undef SG_SFX
#undef SG_BF16
#define SG_SFX _avx512_bf16
#define SG_BF16 1
#define sg_transpose_avx512_bf16 sg_transpose_avx512
#include "sgemm_impl.h"
#undef sg_transpose_avx512_bf16
#include "sgemm_undef.h"
