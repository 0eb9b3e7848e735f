// A single-precision GEMM for AVX-512 and AVX2 CPUs, included by kernels.h
// once per instruction set inside its target region, with the vector macros
// below defined (SG_V vector type, SG_VW lanes, SG_MR tile rows, SG_SFX name
// suffix, ...). Row-major C = alpha*op(A)*op(B) + beta*C.
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
// The micro-kernel holds an MR x NR tile of C, NR two vectors wide, in
// 2*MR registers: 12 x 32 in 24 zmm with AVX-512, 6 x 16 in 12 ymm with
// AVX2; each k step loads two vectors of Q and issues 2*MR FMAs.

#define SG_NR (2 * SG_VW)
#ifndef SG_KC
// Blocking: Q is packed KC x NC at a time (a 32 KB micro-panel per tile,
// L1-sized). When k <= SG_KC_WHOLE the whole of k goes into one block
// (micro-panels then come from L2), with NC cut so the block still fits
// SG_QBLOCK floats: each tile of C is then written once instead of once per
// KC block, which matters when C is large and k small (the decoder's weight
// gradient of one chunk: 10k x 200 += [832 rows]). Measured: such shapes
// (k = 400-832) ran 1.2x faster in a C harness, none slower; 512 KB blocks
// beat 1 MB ones in lmbench by 2-5%.
#define SG_KC 256
#define SG_NC 512
#define SG_KC_WHOLE 1024
#define SG_QBLOCK (1 << 17)
// SG_PBUF: room for one bf16-rounded micro-panel of P (SG_BF16 below), MR
// rows of up to SG_KC_WHOLE floats, with MR the largest of the ISAs' (12).
#define SG_PBUF (12 * SG_KC_WHOLE)
// SG_WORK is the workspace (floats) one call needs, with slack for alignment.
#define SG_WORK (SG_QBLOCK + SG_PBUF + 16)
#endif
// SG_BF16 (0 or 1): round both operands to bfloat16 (round to nearest even,
// as VCVTNEPS2BF16) before they are multiplied, accumulating in fp32: the
// numerics of a bf16-input GEMM (AVX512_BF16's VDPBF16PS), emulated on any
// CPU, at a cost, to study them where the instruction is missing. Q's panels
// are rounded after packing; P's MR x kc micro-panel is copied, rounded, into
// the workspace once per tile and block, and every NR-wide panel of Q then
// reads the copy (rounding each element as it was broadcast instead cost
// nc/NR roundings per element and made the emulation 2.1x slower than fp32).
#ifndef SG_BF16
#define SG_BF16 0
#endif
#define SG_CAT2(a, b) a##b
#define SG_CAT(a, b) SG_CAT2(a, b)
#define SG(name) SG_CAT(name, SG_SFX)

#if SG_BF16
// sg_bf16_round_n rounds x[0..n) to bf16 in place with the ISA's SG_BF16V
// (written with intrinsics: a GCC vector-extension version ran the emulated
// training step 20% slower); x aligned, n a multiple of SG_VW.
static void SG(sg_bf16_round_n)(float *x, long n) {
	for (long i = 0; i < n; i += SG_VW) SG_STORE(x + i, SG_BF16V(SG_LOAD(x + i)));
}

// sg_bf16_panel writes P's MR x kc micro-panel P(r,kk) = prow[r][kk*pcs],
// rounded to bf16, to dst as rows ld floats apart (ld a multiple of VW, dst
// aligned), for sg_ukr_rows to read in place of P.
static void SG(sg_bf16_panel)(long kc, const float *const *prow, long pcs, float *dst, long ld) {
	for (int r = 0; r < SG_MR; r++) {
		const float *s = prow[r];
		float *d = dst + r * ld;
		if (pcs == 1) {
			// Masked loads never touch the lanes past kc; those are zeros.
			for (long kk = 0; kk < kc; kk += SG_VW) SG_STORE(d + kk, SG_BF16V(SG_MASKLOAD(SG_MASKN(kc - kk), s + kk)));
			continue;
		}
		for (long kk = 0; kk < kc; kk++) d[kk] = s[kk * pcs];
		for (long kk = kc; kk < ld; kk++) d[kk] = 0;
		SG(sg_bf16_round_n)(d, ld);
	}
}
#endif

#ifndef SG_ROLES
#define SG_ROLES
// sg_roles: which operand of C = op(A)*op(B) is P (read in place, broadcast)
// and which is Q (packed), and their strides: P(r,kk) = P0[r*prs + kk*pcs]
// for r < prows; Q(kk,j) = Q0[kk*qrs + j*qcs] for j < qcols. swap: P is
// op(B)^T and the tile is stored transposed. The orientation is the one
// whose packing copies fewer elements, a transposing copy counting three
// times a straight one. Shared by every instantiation and the bf16 GEMM.
typedef struct {
	int swap;
	long prows, qcols, prs, pcs, qrs, qcs;
	const float *P0, *Q0;
} sg_roles;
static inline sg_roles sg_roles_of(int tA, int tB, long m, long n, long k, const float *A, long lda, const float *B, long ldb) {
	sg_roles r;
	double packPlain = (double)k * n * (tB ? 3 : 1), packSwap = (double)k * m * (tA ? 1 : 3);
	r.swap = packSwap < packPlain;
	if (!r.swap) {
		r.prows = m, r.qcols = n, r.P0 = A, r.Q0 = B;
		if (tA) r.prs = 1, r.pcs = lda;
		else r.prs = lda, r.pcs = 1;
		if (tB) r.qrs = 1, r.qcs = ldb;
		else r.qrs = ldb, r.qcs = 1;
	} else {
		r.prows = n, r.qcols = m, r.P0 = B, r.Q0 = A;
		if (tB) r.prs = ldb, r.pcs = 1;
		else r.prs = 1, r.pcs = ldb;
		if (tA) r.qrs = lda, r.qcs = 1;
		else r.qrs = 1, r.qcs = lda;
	}
	return r;
}

// sg_blocks gives the blocking of a product with inner dimension k and Q
// panels nr wide: kcb rows of k and ncb columns of Q per packed block (see
// SG_KC). It depends on k alone, so every split of a product sums in the same
// order; the bf16 GEMM blocks the same way.
static inline void sg_blocks(long k, long nr, long *kcb, long *ncb) {
	*kcb = SG_KC, *ncb = SG_NC;
	if (k <= SG_KC_WHOLE) {
		*kcb = k;
		*ncb = SG_QBLOCK / k / nr * nr;
	}
}
#endif

static inline __attribute__((always_inline)) void SG(sg_zero)(SG_V *c0, SG_V *c1) {
	for (int r = 0; r < SG_MR; r++) {
		c0[r] = SG_ZERO();
		c1[r] = SG_ZERO();
	}
}

static inline __attribute__((always_inline)) void SG(sg_save)(const SG_V *c0, const SG_V *c1, float *tile) {
	for (int r = 0; r < SG_MR; r++) {
		SG_STORE(tile + r * SG_NR, c0[r]);
		SG_STORE(tile + r * SG_NR + SG_VW, c1[r]);
	}
}

// P(r,k) = p[r][k]: each of the MR rows contiguous in k. pnext: the next
// tile's rows, fetched into L1 a cache line per row every 16 steps: the
// hardware prefetcher does not follow 12 short streams well, and a per-step
// product reads its whole weight matrix from memory once.
static void SG(sg_ukr_rows)(long kc, const float *const *prow, const float *const *pnext, const float *q, float *tile) {
	SG_V c0[SG_MR], c1[SG_MR];
	SG(sg_zero)(c0, c1);
	const float *p[SG_MR];
	for (int r = 0; r < SG_MR; r++) p[r] = prow[r];
	for (long k = 0; k < kc; k++) {
		if ((k & 15) == 0)
			for (int r = 0; r < SG_MR; r++) _mm_prefetch((const char *)(pnext[r] + k), _MM_HINT_T0);
		SG_V b0 = SG_LOAD(q), b1 = SG_LOAD(q + SG_VW);
		q += SG_NR;
		for (int r = 0; r < SG_MR; r++) {
			SG_V a = SG_SET1(p[r][k]);
			c0[r] = SG_FMA(a, b0, c0[r]);
			c1[r] = SG_FMA(a, b1, c1[r]);
		}
	}
	SG(sg_save)(c0, c1, tile);
}

// P(r,k) = p[k*pcs + r]: the MR rows adjacent at each k. Successive tiles
// walk kc rows of P side by side, 48 bytes a row at a time, more streams
// than the hardware prefetcher follows: each step fetches the same row's
// bytes 48 floats (four AVX-512 tiles) ahead.
static void SG(sg_ukr_cols)(long kc, const float *p, long pcs, const float *q, float *tile) {
	SG_V c0[SG_MR], c1[SG_MR];
	SG(sg_zero)(c0, c1);
	for (long k = 0; k < kc; k++) {
		_mm_prefetch((const char *)(p + 48), _MM_HINT_T0);
		SG_V b0 = SG_LOAD(q), b1 = SG_LOAD(q + SG_VW);
		q += SG_NR;
		for (int r = 0; r < SG_MR; r++) {
			SG_V a = SG_SET1(p[r]);
			c0[r] = SG_FMA(a, b0, c0[r]);
			c1[r] = SG_FMA(a, b1, c1[r]);
		}
		p += pcs;
	}
	SG(sg_save)(c0, c1, tile);
}

// Any layout: P(r,k) = prow[r][k*pcs]. Used for the last, partial row tile,
// whose missing rows repeat the last real row (computed, never stored).
static void SG(sg_ukr_any)(long kc, const float *const *prow, long pcs, const float *q, float *tile) {
	SG_V c0[SG_MR], c1[SG_MR];
	SG(sg_zero)(c0, c1);
	for (long k = 0; k < kc; k++) {
		SG_V b0 = SG_LOAD(q), b1 = SG_LOAD(q + SG_VW);
		q += SG_NR;
		for (int r = 0; r < SG_MR; r++) {
			SG_V a = SG_SET1(prow[r][k * pcs]);
			c0[r] = SG_FMA(a, b0, c0[r]);
			c1[r] = SG_FMA(a, b1, c1[r]);
		}
	}
	SG(sg_save)(c0, c1, tile);
}

// sg_pack copies the kc x nc block Q(k,j) = s[k*rs + j*cs] into NR-wide
// panels (panel p holds columns [p*NR, p*NR+NR) as kc rows of NR floats),
// zero-padding the last panel.
static void SG(sg_pack)(long kc, long nc, const float *s, long rs, long cs, float *dst) {
	for (long j0 = 0; j0 < nc; j0 += SG_NR) {
		long w = nc - j0 < SG_NR ? nc - j0 : SG_NR;
		float *d = dst + j0 * kc;
		if (cs == 1) {
			// Masked loads never touch (or fault on) the lanes past w.
			SG_MASK m0 = SG_MASKN(w), m1 = SG_MASKN(w - SG_VW);
			for (long k = 0; k < kc; k++) {
				const float *sp = s + k * rs + j0;
				SG_STORE(d + k * SG_NR, SG_MASKLOAD(m0, sp));
				SG_STORE(d + k * SG_NR + SG_VW, SG_MASKLOAD(m1, sp + SG_VW));
			}
			continue;
		}
		if (w < SG_NR) memset(d, 0, sizeof(float) * kc * SG_NR);
		long k = 0;
		if (rs == 1) {
			// Transposing copy: column j of Q is contiguous in s. Whole
			// VW x VW blocks go through registers; the rest element-wise.
			for (; k + SG_VW <= kc; k += SG_VW) {
				long j = 0;
				for (; j + SG_VW <= w; j += SG_VW) SG(sg_transpose)(s + (j0 + j) * cs + k, cs, d + k * SG_NR + j, SG_NR);
				for (; j < w; j++)
					for (int u = 0; u < SG_VW; u++) d[(k + u) * SG_NR + j] = s[(j0 + j) * cs + k + u];
			}
		}
		for (; k < kc; k++)
			for (long j = 0; j < w; j++) d[k * SG_NR + j] = s[k * rs + (j0 + j) * cs];
	}
}

// sg_store adds the mr x nr corner of tile into C at c (row stride ldc), or
// its transpose when trans. first: the first k block, which applies beta
// (beta == 0 never reads C, so NaN there is overwritten); later blocks add.
// noinline: inlined, its hoisted vector constants took the registers the
// micro-kernels need (gcc spilled a Q vector in the inner loop).
__attribute__((noinline)) static void SG(sg_store)(const float *tile, long mr, long nr, float *c, long ldc, int trans, float alpha, float beta,
                     int first) {
	int readc = !first || beta != 0;
	float bc = first ? beta : 1;
	if (!trans) {
		SG_MASK m0 = SG_MASKN(nr), m1 = SG_MASKN(nr - SG_VW);
		SG_V va = SG_SET1(alpha), vb = SG_SET1(bc);
		for (long r = 0; r < mr; r++) {
			float *cr = c + r * ldc;
			SG_V t0 = SG_MUL(va, SG_LOAD(tile + r * SG_NR));
			SG_V t1 = SG_MUL(va, SG_LOAD(tile + r * SG_NR + SG_VW));
			if (readc) {
				t0 = SG_FMA(vb, SG_MASKLOAD(m0, cr), t0);
				t1 = SG_FMA(vb, SG_MASKLOAD(m1, cr + SG_VW), t1);
			}
			SG_MASKSTORE(cr, m0, t0);
			SG_MASKSTORE(cr + SG_VW, m1, t1);
		}
		return;
	}
	// Transposed: VW-column slices of the tile go through a VW x VW register
	// transpose (the tile has VW rows; those past MR are zeros), then each
	// column becomes one masked row segment of C, with the same roundings as
	// above, so results do not depend on the orientation.
	float tt[SG_VW * SG_VW] __attribute__((aligned(64)));
	SG_MASK m = SG_MASKN(mr);
	SG_V va = SG_SET1(alpha), vb = SG_SET1(bc);
	for (long h = 0; h < nr; h += SG_VW) {
		SG(sg_transpose)(tile + h, SG_NR, tt, SG_VW);
		long jn = nr - h < SG_VW ? nr - h : SG_VW;
		for (long j = 0; j < jn; j++) {
			float *cr = c + (h + j) * ldc;
			SG_V t = SG_MUL(va, SG_LOAD(tt + j * SG_VW));
			if (readc) t = SG_FMA(vb, SG_MASKLOAD(m, cr), t);
			SG_MASKSTORE(cr, m, t);
		}
	}
}

// sg_sgemm computes C = alpha*op(A)*op(B) + beta*C (row-major; op(A) m x k,
// op(B) k x n) with m, n, k > 0. work holds SG_WORK floats.
static void SG(sg_sgemm)(int tA, int tB, long m, long n, long k, float alpha, const float *A, long lda, const float *B,
                     long ldb, float beta, float *C, long ldc, float *work) {
	float *wk = (float *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
	sg_roles ro = sg_roles_of(tA, tB, m, n, k, A, lda, B, ldb);
	int swap = ro.swap;
	long prows = ro.prows, qcols = ro.qcols, prs = ro.prs, pcs = ro.pcs, qrs = ro.qrs, qcs = ro.qcs;
	const float *P0 = ro.P0, *Q0 = ro.Q0;
	// VW rows (not MR) for the transposed store; rows MR.. stay zero.
	float tile[SG_VW * SG_NR] __attribute__((aligned(64)));
	memset(tile + SG_MR * SG_NR, 0, sizeof(float) * (SG_VW - SG_MR) * SG_NR);
	long kcb, ncb;
	sg_blocks(k, SG_NR, &kcb, &ncb);
	for (long jc = 0; jc < qcols; jc += ncb) {
		long nc = qcols - jc < ncb ? qcols - jc : ncb;
		for (long pc = 0; pc < k; pc += kcb) {
			long kc = k - pc < kcb ? k - pc : kcb;
			SG(sg_pack)(kc, nc, Q0 + pc * qrs + jc * qcs, qrs, qcs, wk);
#if SG_BF16
			SG(sg_bf16_round_n)(wk, kc * ((nc + SG_NR - 1) / SG_NR * SG_NR));
#endif
			int first = pc == 0;
			for (long ir = 0; ir < prows; ir += SG_MR) {
				long mr = prows - ir < SG_MR ? prows - ir : SG_MR;
				const float *prow[SG_MR];
				for (int r = 0; r < SG_MR; r++) prow[r] = P0 + (ir + (r < mr ? r : mr - 1)) * prs + pc * pcs;
				const float *pnext[SG_MR];
				long irn = ir + SG_MR < prows ? ir + SG_MR : ir;
				for (int r = 0; r < SG_MR; r++) pnext[r] = P0 + (irn + r < prows ? irn + r : prows - 1) * prs + pc * pcs;
#if SG_BF16
				// From here on P's tile is its rounded copy, in the rows layout.
				long ld = (kc + SG_VW - 1) / SG_VW * SG_VW;
				SG(sg_bf16_panel)(kc, prow, pcs, wk + SG_QBLOCK, ld);
				for (int r = 0; r < SG_MR; r++) prow[r] = wk + SG_QBLOCK + r * ld;
				long upcs = 1, uprs = ld;
#else
				long upcs = pcs, uprs = prs;
#endif
				for (long jr = 0; jr < nc; jr += SG_NR) {
					long nr = nc - jr < SG_NR ? nc - jr : SG_NR;
					const float *q = wk + jr * kc;
					if (mr == SG_MR && upcs == 1) SG(sg_ukr_rows)(kc, prow, pnext, q, tile);
					else if (mr == SG_MR && uprs == 1) SG(sg_ukr_cols)(kc, prow[0], pcs, q, tile);
					else SG(sg_ukr_any)(kc, prow, upcs, q, tile);
					if (!swap) SG(sg_store)(tile, mr, nr, C + ir * ldc + jc + jr, ldc, 0, alpha, beta, first);
					else SG(sg_store)(tile, mr, nr, C + (jc + jr) * ldc + ir, ldc, 1, alpha, beta, first);
				}
			}
		}
	}
}
