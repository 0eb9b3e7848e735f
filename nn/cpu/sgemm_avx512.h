// A single-precision GEMM for AVX-512 CPUs, included by kernels.h inside its
// AVX-512 target region. Row-major C = alpha*op(A)*op(B) + beta*C.
//
// Why our own: on the LSTM's shapes OpenBLAS (with the AVX2 kernels it uses
// where OPENBLAS_CORETYPE=Haswell, as on our machines) reaches about half of
// an AVX-512 core's FMA peak, and it packs both operands on every call, which
// for a per-time-step product (64 rows against a 21 MB weight matrix) means
// copying the whole weight matrix 70 times per window.
//
// Scheme: the product is computed as P*Q, where P is the larger operand
// (in practice the weight matrix) read in place, and Q is the smaller one,
// packed per KC x NC block into NR-wide panels. P's elements are broadcast
// one at a time, so P can have any layout: rows contiguous in k ("rows") or
// MR consecutive rows adjacent at each k ("cols"). When the operands are
// swapped (C^T = op(B)^T op(A)^T), the tile is stored transposed into C.
// The orientation is the one whose packing copies fewer elements, a
// transposing copy counting three times a straight one.
//
// The micro-kernel holds an MR x NR = 12 x 32 tile of C in 24 zmm registers:
// each k step loads two vectors of Q and issues 24 FMAs.

#define SG_MR 12
#define SG_NR 32
#define SG_KC 256
#define SG_NC 512
// SG_WORK is the workspace (floats) one call needs, with slack for alignment.
#define SG_WORK (SG_KC * SG_NC + 16)

static inline __attribute__((always_inline)) void sg_zero(__m512 *c0, __m512 *c1) {
	for (int r = 0; r < SG_MR; r++) {
		c0[r] = _mm512_setzero_ps();
		c1[r] = _mm512_setzero_ps();
	}
}

static inline __attribute__((always_inline)) void sg_save(const __m512 *c0, const __m512 *c1, float *tile) {
	for (int r = 0; r < SG_MR; r++) {
		_mm512_store_ps(tile + r * SG_NR, c0[r]);
		_mm512_store_ps(tile + r * SG_NR + 16, c1[r]);
	}
}

// P(r,k) = p[r][k]: each of the MR rows contiguous in k. pnext: the next
// tile's rows, fetched into L1 a cache line per row every 16 steps: the
// hardware prefetcher does not follow 12 short streams well, and a per-step
// product reads its whole weight matrix from memory once.
static void sg_ukr_rows(long kc, const float *const *prow, const float *const *pnext, const float *q, float *tile) {
	__m512 c0[SG_MR], c1[SG_MR];
	sg_zero(c0, c1);
	const float *p[SG_MR];
	for (int r = 0; r < SG_MR; r++) p[r] = prow[r];
	for (long k = 0; k < kc; k++) {
		if ((k & 15) == 0)
			for (int r = 0; r < SG_MR; r++) _mm_prefetch((const char *)(pnext[r] + k), _MM_HINT_T0);
		__m512 b0 = _mm512_load_ps(q), b1 = _mm512_load_ps(q + 16);
		q += SG_NR;
		for (int r = 0; r < SG_MR; r++) {
			__m512 a = _mm512_set1_ps(p[r][k]);
			c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
			c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
		}
	}
	sg_save(c0, c1, tile);
}

// P(r,k) = p[k*pcs + r]: the MR rows adjacent at each k. Successive tiles
// walk kc rows of P side by side, 48 bytes a row at a time, more streams
// than the hardware prefetcher follows: each step fetches the same row's
// bytes 48 floats (four tiles) ahead.
static void sg_ukr_cols(long kc, const float *p, long pcs, const float *q, float *tile) {
	__m512 c0[SG_MR], c1[SG_MR];
	sg_zero(c0, c1);
	for (long k = 0; k < kc; k++) {
		_mm_prefetch((const char *)(p + 4 * SG_MR), _MM_HINT_T0);
		__m512 b0 = _mm512_load_ps(q), b1 = _mm512_load_ps(q + 16);
		q += SG_NR;
		for (int r = 0; r < SG_MR; r++) {
			__m512 a = _mm512_set1_ps(p[r]);
			c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
			c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
		}
		p += pcs;
	}
	sg_save(c0, c1, tile);
}

// Any layout: P(r,k) = prow[r][k*pcs]. Used for the last, partial row tile,
// whose missing rows repeat the last real row (computed, never stored).
static void sg_ukr_any(long kc, const float *const *prow, long pcs, const float *q, float *tile) {
	__m512 c0[SG_MR], c1[SG_MR];
	sg_zero(c0, c1);
	for (long k = 0; k < kc; k++) {
		__m512 b0 = _mm512_load_ps(q), b1 = _mm512_load_ps(q + 16);
		q += SG_NR;
		for (int r = 0; r < SG_MR; r++) {
			__m512 a = _mm512_set1_ps(prow[r][k * pcs]);
			c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
			c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
		}
	}
	sg_save(c0, c1, tile);
}

static inline __mmask16 sg_mask(long n) {
	return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// sg_tr16 writes the transpose of the 16 x 16 block at src (rows ss floats
// apart) to dst (rows ds floats apart): dst[u*ds + v] = src[v*ss + u].
static inline __attribute__((always_inline)) void sg_tr16(const float *src, long ss, float *dst, long ds) {
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

// sg_pack copies the kc x nc block Q(k,j) = s[k*rs + j*cs] into NR-wide
// panels (panel p holds columns [p*NR, p*NR+NR) as kc rows of NR floats),
// zero-padding the last panel.
static void sg_pack(long kc, long nc, const float *s, long rs, long cs, float *dst) {
	for (long j0 = 0; j0 < nc; j0 += SG_NR) {
		long w = nc - j0 < SG_NR ? nc - j0 : SG_NR;
		float *d = dst + j0 * kc;
		if (cs == 1) {
			// Masked loads never touch (or fault on) the lanes past w.
			__mmask16 m0 = sg_mask(w), m1 = sg_mask(w - 16);
			for (long k = 0; k < kc; k++) {
				const float *sp = s + k * rs + j0;
				_mm512_store_ps(d + k * SG_NR, _mm512_maskz_loadu_ps(m0, sp));
				_mm512_store_ps(d + k * SG_NR + 16, _mm512_maskz_loadu_ps(m1, sp + 16));
			}
			continue;
		}
		if (w < SG_NR) memset(d, 0, sizeof(float) * kc * SG_NR);
		long k = 0;
		if (rs == 1) {
			// Transposing copy: column j of Q is contiguous in s. Whole
			// 16 x 16 blocks go through registers; the rest element-wise.
			for (; k + 16 <= kc; k += 16) {
				long j = 0;
				for (; j + 16 <= w; j += 16) sg_tr16(s + (j0 + j) * cs + k, cs, d + k * SG_NR + j, SG_NR);
				for (; j < w; j++)
					for (int u = 0; u < 16; u++) d[(k + u) * SG_NR + j] = s[(j0 + j) * cs + k + u];
			}
		}
		for (; k < kc; k++)
			for (long j = 0; j < w; j++) d[k * SG_NR + j] = s[k * rs + (j0 + j) * cs];
	}
}

// sg_store adds the mr x nr corner of tile into C at c (row stride ldc), or
// its transpose when trans. first: the first k block, which applies beta
// (beta == 0 never reads C, so NaN there is overwritten); later blocks add.
static void sg_store(const float *tile, long mr, long nr, float *c, long ldc, int trans, float alpha, float beta,
                     int first) {
	int readc = !first || beta != 0;
	float bc = first ? beta : 1;
	if (!trans) {
		__mmask16 m0 = sg_mask(nr), m1 = sg_mask(nr - 16);
		__m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(bc);
		for (long r = 0; r < mr; r++) {
			float *cr = c + r * ldc;
			__m512 t0 = _mm512_mul_ps(va, _mm512_load_ps(tile + r * SG_NR));
			__m512 t1 = _mm512_mul_ps(va, _mm512_load_ps(tile + r * SG_NR + 16));
			if (readc) {
				t0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), t0);
				t1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), t1);
			}
			_mm512_mask_storeu_ps(cr, m0, t0);
			_mm512_mask_storeu_ps(cr + 16, m1, t1);
		}
		return;
	}
	// The same roundings as the vector path above, spelt out so that the
	// compiler's FMA contraction cannot choose another: results must not
	// depend on the orientation (and so on how a product was split).
	for (long j = 0; j < nr; j++) {
		float *cr = c + j * ldc;
		if (readc)
			for (long r = 0; r < mr; r++) cr[r] = __builtin_fmaf(bc, cr[r], alpha * tile[r * SG_NR + j]);
		else
			for (long r = 0; r < mr; r++) cr[r] = alpha * tile[r * SG_NR + j];
	}
}

// sg_sgemm computes C = alpha*op(A)*op(B) + beta*C (row-major; op(A) m x k,
// op(B) k x n) with m, n, k > 0. work holds SG_WORK floats.
static void sg_sgemm(int tA, int tB, long m, long n, long k, float alpha, const float *A, long lda, const float *B,
                     long ldb, float beta, float *C, long ldc, float *work) {
	float *wk = (float *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
	double packPlain = (double)k * n * (tB ? 3 : 1), packSwap = (double)k * m * (tA ? 1 : 3);
	int swap = packSwap < packPlain;
	// P(r,kk) = P0[r*prs + kk*pcs] for r < prows; Q(kk,j) = Q0[kk*qrs + j*qcs] for j < qcols.
	long prows, qcols, prs, pcs, qrs, qcs;
	const float *P0, *Q0;
	if (!swap) {
		prows = m, qcols = n, P0 = A, Q0 = B;
		if (tA) prs = 1, pcs = lda;
		else prs = lda, pcs = 1;
		if (tB) qrs = 1, qcs = ldb;
		else qrs = ldb, qcs = 1;
	} else {
		prows = n, qcols = m, P0 = B, Q0 = A;
		if (tB) prs = ldb, pcs = 1;
		else prs = 1, pcs = ldb;
		if (tA) qrs = lda, qcs = 1;
		else qrs = 1, qcs = lda;
	}
	float tile[SG_MR * SG_NR] __attribute__((aligned(64)));
	for (long jc = 0; jc < qcols; jc += SG_NC) {
		long nc = qcols - jc < SG_NC ? qcols - jc : SG_NC;
		for (long pc = 0; pc < k; pc += SG_KC) {
			long kc = k - pc < SG_KC ? k - pc : SG_KC;
			sg_pack(kc, nc, Q0 + pc * qrs + jc * qcs, qrs, qcs, wk);
			int first = pc == 0;
			for (long ir = 0; ir < prows; ir += SG_MR) {
				long mr = prows - ir < SG_MR ? prows - ir : SG_MR;
				const float *prow[SG_MR];
				for (int r = 0; r < SG_MR; r++) prow[r] = P0 + (ir + (r < mr ? r : mr - 1)) * prs + pc * pcs;
				const float *pnext[SG_MR];
				long irn = ir + SG_MR < prows ? ir + SG_MR : ir;
				for (int r = 0; r < SG_MR; r++) pnext[r] = P0 + (irn + r < prows ? irn + r : prows - 1) * prs + pc * pcs;
				for (long jr = 0; jr < nc; jr += SG_NR) {
					long nr = nc - jr < SG_NR ? nc - jr : SG_NR;
					const float *q = wk + jr * kc;
					if (mr == SG_MR && pcs == 1) sg_ukr_rows(kc, prow, pnext, q, tile);
					else if (mr == SG_MR && prs == 1) sg_ukr_cols(kc, prow[0], pcs, q, tile);
					else sg_ukr_any(kc, prow, pcs, q, tile);
					if (!swap) sg_store(tile, mr, nr, C + ir * ldc + jc + jr, ldc, 0, alpha, beta, first);
					else sg_store(tile, mr, nr, C + (jc + jr) * ldc + ir, ldc, 1, alpha, beta, first);
				}
			}
		}
	}
}
