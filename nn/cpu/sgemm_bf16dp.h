// The bf16-input, fp32-accumulate GEMM for AVX512_BF16 CPUs (VDPBF16PS),
// included by kernels.h inside its AVX512_BF16 target region after the
// AVX-512 instantiation of sgemm_impl.h, whose packing (sg_pack_avx512) and
// tile store (sg_store_avx512) it reuses. Row-major C = alpha*op(A)*op(B) +
// beta*C with both operands rounded to bfloat16 (VCVTNEPS2BF16: to nearest
// even) and every product summed in fp32.
//
// VDPBF16PS multiplies pairs: each fp32 lane i adds a[2i]*b[2i] +
// a[2i+1]*b[2i+1], so k is consumed two at a time and both operands are
// stored as 32-bit words holding the bf16 values of k = 2p (low half) and
// 2p+1 (high half). The scheme is sgemm_impl.h's (P broadcast, Q packed into
// NR-wide panels, the same orientation choice and the same k blocks, which
// depend on k alone, so every split of a product sums in the same order),
// with two differences:
//   - Q is packed to fp32 panels as before, then each panel is rewritten as
//     kp = ceil(kc/2) rows of NR words (an odd kc pads its last pair with a
//     zero);
//   - P's MR x kc micro-panel, whatever its layout, is converted once per
//     tile and k block into kp rows of MR words, so that the micro-kernel
//     broadcasts word r of row p at a fixed offset. Rewriting P is the price
//     of the halved FLOP count; the micro-panel is reused by every NR-wide
//     panel of the block.
// Every element goes through the same vector conversion on every path (full
// and partial tiles, either layout), so a row's result does not depend on
// which tile it falls into, that is on the thread split.

#define BD_MR 12
// BD_MASKN(n): the first n of 16 lanes (none for n <= 0).
#define BD_MASKN(n) ((n) >= 16 ? (__mmask16)0xFFFF : (n) <= 0 ? (__mmask16)0 : (__mmask16)((1u << (n)) - 1))
#define BD_NR 32
// Workspace (floats): Q's fp32 block, its pair-packed copy (ceil(kc/2) rows
// of NR words per panel: never more words than the fp32 block has floats)
// and P's micro-panel (kp x MR words), with slack for alignment.
#define BD_WORK (2 * SG_QBLOCK + BD_MR * (SG_KC_WHOLE / 2 + 1) + 32)

// bd_pair returns the 16 words bf16(lo[i]) | bf16(hi[i]) << 16.
static inline __attribute__((always_inline)) __m512i bd_pair(__m512 lo, __m512 hi) {
	// VCVTNE2PS2BF16 puts the second operand's lanes in the low half.
	__m512i v = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
	const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
	                                     5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
	return _mm512_permutexvar_epi16(idx, v);
}

// bd_pack_q rewrites the fp32 panels at f (sg_pack's layout: panel j holds kc
// rows of NR floats) as pair rows at d (kp rows of NR words per panel).
static void bd_pack_q(long kc, long nc, const float *f, uint32_t *d) {
	long kp = (kc + 1) / 2;
	for (long j0 = 0; j0 < nc; j0 += BD_NR) {
		const float *s = f + j0 * kc;
		uint32_t *o = d + j0 * kp;
		for (long p = 0; p < kp; p++) {
			const float *r0 = s + 2 * p * BD_NR;
			__m512 a0 = _mm512_load_ps(r0), a1 = _mm512_load_ps(r0 + 16);
			__m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
			if (2 * p + 1 < kc) b0 = _mm512_load_ps(r0 + BD_NR), b1 = _mm512_load_ps(r0 + BD_NR + 16);
			_mm512_store_si512(o + p * BD_NR, bd_pair(a0, b0));
			_mm512_store_si512(o + p * BD_NR + 16, bd_pair(a1, b1));
		}
	}
}

// bd_pack_p writes P's micro-panel, P(r,kk) = prow[r][kk*pcs] for r < MR and
// kk < kc, as kp rows of MR words at d.
static void bd_pack_p(long kc, const float *const *prow, long pcs, uint32_t *d) {
	long kp = (kc + 1) / 2;
	const __mmask16 m12 = (__mmask16)0x0FFF;
	if (pcs == 1) {
		// Rows contiguous in k: 32 values of a row make 16 consecutive pair
		// words (VCVTNE2PS2BF16 keeps k order), and a 16 x 16 transpose of
		// the MR rows' words (rows MR.. zero) gives 16 pair rows. Masked
		// loads never touch the lanes past kc; those are zeros. (Scattering
		// each row's words MR apart instead ran the per-step products 25%
		// slower than fp32: VPSCATTERDD is slow.)
		uint32_t w[16 * 16] __attribute__((aligned(64)));
		uint32_t tw[16 * 16] __attribute__((aligned(64)));
		memset(w + BD_MR * 16, 0, sizeof(uint32_t) * (16 - BD_MR) * 16);
		for (long kk = 0; kk < kc; kk += 32) {
			for (int r = 0; r < BD_MR; r++) {
				const float *s = prow[r] + kk;
				__m512 lo = _mm512_maskz_loadu_ps(BD_MASKN(kc - kk), s);
				__m512 hi = _mm512_maskz_loadu_ps(BD_MASKN(kc - kk - 16), s + 16);
				_mm512_store_si512(w + r * 16, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
			}
			sg_transpose_avx512((const float *)w, 16, (float *)tw, 16);
			long p0 = kk / 2, np = kp - p0 < 16 ? kp - p0 : 16;
			for (long i = 0; i < np; i++)
				_mm512_mask_storeu_epi32(d + (p0 + i) * BD_MR, m12, _mm512_load_si512(tw + i * 16));
		}
		return;
	}
	if (prow[BD_MR - 1] == prow[0] + (BD_MR - 1)) {
		// MR adjacent rows at each k (P(r,kk) = p[kk*pcs + r]).
		const float *s = prow[0];
		for (long p = 0; p < kp; p++) {
			__m512 lo = _mm512_maskz_loadu_ps(m12, s + 2 * p * pcs);
			__m512 hi = _mm512_setzero_ps();
			if (2 * p + 1 < kc) hi = _mm512_maskz_loadu_ps(m12, s + (2 * p + 1) * pcs);
			_mm512_mask_storeu_epi32(d + p * BD_MR, m12, bd_pair(lo, hi));
		}
		return;
	}
	// Any other layout (the last, partial row tile, whose missing rows
	// repeat the last real row): gathered element by element, converted as
	// a vector like the rest.
	float t[32] __attribute__((aligned(64)));
	memset(t, 0, sizeof t);
	for (long p = 0; p < kp; p++) {
		for (int r = 0; r < BD_MR; r++) {
			t[r] = prow[r][2 * p * pcs];
			t[16 + r] = 2 * p + 1 < kc ? prow[r][(2 * p + 1) * pcs] : 0;
		}
		_mm512_mask_storeu_epi32(d + p * BD_MR, m12, bd_pair(_mm512_load_ps(t), _mm512_load_ps(t + 16)));
	}
}

// bd_ukr computes the MR x NR tile P*Q over kp pair rows: p holds MR words
// per row, q NR words per row.
static void bd_ukr(long kp, const uint32_t *p, const uint32_t *q, float *tile) {
	__m512 c0[BD_MR], c1[BD_MR];
	for (int r = 0; r < BD_MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
	for (long k = 0; k < kp; k++) {
		__m512bh b0 = (__m512bh)_mm512_load_si512(q), b1 = (__m512bh)_mm512_load_si512(q + 16);
		q += BD_NR;
		for (int r = 0; r < BD_MR; r++) {
			__m512bh a = (__m512bh)_mm512_set1_epi32((int)p[r]);
			c0[r] = _mm512_dpbf16_ps(c0[r], a, b0);
			c1[r] = _mm512_dpbf16_ps(c1[r], a, b1);
		}
		p += BD_MR;
	}
	for (int r = 0; r < BD_MR; r++) {
		_mm512_store_ps(tile + r * BD_NR, c0[r]);
		_mm512_store_ps(tile + r * BD_NR + 16, c1[r]);
	}
}

// sg_sgemm_bf16dp computes C = alpha*op(A)*op(B) + beta*C (row-major; op(A)
// m x k, op(B) k x n) with m, n, k > 0 from bf16-rounded operands. work holds
// BD_WORK floats.
static void sg_sgemm_bf16dp(int tA, int tB, long m, long n, long k, float alpha, const float *A, long lda, const float *B,
                            long ldb, float beta, float *C, long ldc, float *work) {
	float *wk = (float *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
	uint32_t *qb = (uint32_t *)(wk + SG_QBLOCK);
	uint32_t *pb = qb + SG_QBLOCK;
	// The orientation and operand roles of sg_sgemm (sgemm_impl.h).
	sg_roles ro = sg_roles_of(tA, tB, m, n, k, A, lda, B, ldb);
	int swap = ro.swap;
	long prows = ro.prows, qcols = ro.qcols, prs = ro.prs, pcs = ro.pcs, qrs = ro.qrs, qcs = ro.qcs;
	const float *P0 = ro.P0, *Q0 = ro.Q0;
	float tile[16 * BD_NR] __attribute__((aligned(64)));
	memset(tile + BD_MR * BD_NR, 0, sizeof(float) * (16 - BD_MR) * BD_NR);
	long kcb, ncb;
	sg_blocks(k, BD_NR, &kcb, &ncb);
	for (long jc = 0; jc < qcols; jc += ncb) {
		long nc = qcols - jc < ncb ? qcols - jc : ncb;
		for (long pc = 0; pc < k; pc += kcb) {
			long kc = k - pc < kcb ? k - pc : kcb;
			long kp = (kc + 1) / 2;
			sg_pack_avx512(kc, nc, Q0 + pc * qrs + jc * qcs, qrs, qcs, wk);
			bd_pack_q(kc, nc, wk, qb);
			int first = pc == 0;
			for (long ir = 0; ir < prows; ir += BD_MR) {
				long mr = prows - ir < BD_MR ? prows - ir : BD_MR;
				const float *prow[BD_MR];
				for (int r = 0; r < BD_MR; r++) prow[r] = P0 + (ir + (r < mr ? r : mr - 1)) * prs + pc * pcs;
				bd_pack_p(kc, prow, pcs, pb);
				for (long jr = 0; jr < nc; jr += BD_NR) {
					long nr = nc - jr < BD_NR ? nc - jr : BD_NR;
					bd_ukr(kp, pb, qb + jr * kp, tile);
					if (!swap) sg_store_avx512(tile, mr, nr, C + ir * ldc + jc + jr, ldc, 0, alpha, beta, first);
					else sg_store_avx512(tile, mr, nr, C + (jc + jr) * ldc + ir, ldc, 1, alpha, beta, first);
				}
			}
		}
	}
}
