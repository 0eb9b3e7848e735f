// Vectorised float32 kernels of the cpu backend, written once with GCC vector
// extensions and instantiated per instruction set by kernels.h, which
// includes this file several times with VW (lanes per vector) and SFX (a
// name suffix) defined and the matching `#pragma GCC target` in force.
//
// Every kernel processes the full vector part of its range and then the tail
// (fewer than VW elements) through the same vector code on a zero-padded
// copy, so tails get exactly the same arithmetic as the body.
//
// Transcendentals: exp by range reduction x = n*ln2 + r (|r| <= ln2/2, ln2
// split in two parts) and a degree-7 Taylor polynomial of e^r (truncation
// error < 6e-9 relative), scaled by 2^n through the exponent bits; sigmoid
// from e = exp(-|x|) as 1/(1+e) or e/(1+e) (no cancellation on either side);
// tanh as (1-e)/(1+e) with e = exp(-2|x|) for |x| >= 0.55 and its odd Taylor
// series to x^15 below (no cancellation near 0). All are within a few float32
// ulps of the correctly rounded values; NaN inputs give NaN.

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(name) CAT(name, SFX)

typedef float F(vf) __attribute__((vector_size(VW * 4)));
typedef int F(vi) __attribute__((vector_size(VW * 4)));
typedef double F(vd) __attribute__((vector_size(VW * 8)));
#define VF F(vf)
#define VI F(vi)
#define VD F(vd)

// rounded(v) returns v, stopping GCC from fusing the product that made it into
// an FMA with what follows. Contraction (-ffp-contract=fast, GCC's default) is
// decided after inlining, so without this a product in a branch can be fused
// in one build (or one inlined copy, body or tail) and not in another: Adam's
// weight decay was, in the AVX2 build only, so the ISAs' bits differed.
static inline VF F(rounded)(VF v) {
#if defined(__x86_64__)
	__asm__("" : "+v"(v));
#elif defined(__aarch64__)
	__asm__("" : "+w"(v));
#endif
	return v;
}

static inline VF F(ld)(const float *p) {
	VF v;
	__builtin_memcpy(&v, p, sizeof v);
	return v;
}
static inline void F(st)(float *p, VF v) { __builtin_memcpy(p, &v, sizeof v); }
// ldn loads n <= VW elements, zero-filling the rest; stn stores n elements.
static inline VF F(ldn)(const float *p, long n) {
	if (n == VW) return F(ld)(p);
	float t[VW] = {0};
	for (long i = 0; i < n; i++) t[i] = p[i];
	return F(ld)(t);
}
static inline void F(stn)(float *p, VF v, long n) {
	if (n == VW) {
		F(st)(p, v);
		return;
	}
	float t[VW];
	F(st)(t, v);
	for (long i = 0; i < n; i++) p[i] = t[i];
}
static inline VF F(splat)(float x) { return (VF){0} + x; }
// sel returns a where m is set (all ones), else b.
static inline VF F(sel)(VI m, VF a, VF b) { return (VF)(((VI)a & m) | ((VI)b & ~m)); }
static inline VF F(vabs)(VF x) { return (VF)((VI)x & 0x7fffffff); }
static inline VF F(vmax)(VF a, VF b) { return F(sel)(a > b, a, b); }
static inline float F(hmax)(VF v) {
	float t[VW], m;
	F(st)(t, v);
	m = t[0];
	for (int i = 1; i < VW; i++) m = t[i] > m ? t[i] : m;
	return m;
}
static inline VF F(vexp)(VF x) {
	VI lo = x < -87.3365f, hi = x > 88.3762f;
	x = F(sel)(lo, F(splat)(-87.3365f), x);
	x = F(sel)(hi, F(splat)(88.3762f), x);
	VF n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; // round to nearest
	VF r = x - n * 0.693359375f;
	r = r - n * -2.12194440e-4f;
	VF p = F(splat)(1.0f / 5040);
	p = p * r + 1.0f / 720;
	p = p * r + 1.0f / 120;
	p = p * r + 1.0f / 24;
	p = p * r + 1.0f / 6;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	VI e = (__builtin_convertvector(n, VI) + 127) << 23;
	return p * (VF)e;
}

#ifdef VSQRT
static inline VF F(vsqrt)(VF x) { return VSQRT(x); }
#else
static inline VF F(vsqrt)(VF x) {
	float t[VW];
	F(st)(t, x);
	for (int i = 0; i < VW; i++) t[i] = __builtin_sqrtf(t[i]);
	return F(ld)(t);
}
#endif

static inline VF F(vsigmoid)(VF x) {
	VF e = F(vexp)(-F(vabs)(x));
	VF s = 1.0f / (1.0f + e);
	return F(sel)(x >= 0.0f, s, e * s);
}

static inline VF F(vtanh)(VF x) {
	VF a = F(vabs)(x);
	VF e = F(vexp)(-2.0f * a);
	VF big = (1.0f - e) / (1.0f + e);
	big = (VF)((VI)big | ((VI)x & (int)0x80000000)); // sign of x
	VF x2 = x * x;
	VF p = F(splat)(-929569.0f / 638512875);
	p = p * x2 + 21844.0f / 6081075;
	p = p * x2 + -1382.0f / 155925;
	p = p * x2 + 62.0f / 2835;
	p = p * x2 + -17.0f / 315;
	p = p * x2 + 2.0f / 15;
	p = p * x2 + -1.0f / 3;
	VF small = x + x * x2 * p;
	return F(sel)(a < 0.55f, small, big);
}

// ---- LSTM cell ----

static inline void F(lstm_fwd_vec)(float *g, const float *cp, float *c, float *tc, float *ho, long h, long j, long n) {
	VF gi = F(ldn)(g + j, n), gf = F(ldn)(g + h + j, n), gg = F(ldn)(g + 2 * h + j, n), go = F(ldn)(g + 3 * h + j, n);
	gi = F(vsigmoid)(gi);
	gf = F(vsigmoid)(gf);
	gg = F(vtanh)(gg);
	go = F(vsigmoid)(go);
	VF cv = gf * F(ldn)(cp + j, n) + gi * gg;
	VF t = F(vtanh)(cv);
	F(stn)(g + j, gi, n);
	F(stn)(g + h + j, gf, n);
	F(stn)(g + 2 * h + j, gg, n);
	F(stn)(g + 3 * h + j, go, n);
	F(stn)(c + j, cv, n);
	F(stn)(tc + j, t, n);
	F(stn)(ho + j, go * t, n);
}

static void F(lstm_fwd)(long rows, long h, float *gates, const float *cprev, float *c, float *tanhc, float *hout) {
	for (long r = 0; r < rows; r++) {
		float *g = gates + r * 4 * h;
		const float *cp = cprev + r * h;
		float *cr = c + r * h, *tr = tanhc + r * h, *hr = hout + r * h;
		long j = 0;
		for (; j + VW <= h; j += VW) {
			VF gi = F(ld)(g + j), gf = F(ld)(g + h + j), gg = F(ld)(g + 2 * h + j), go = F(ld)(g + 3 * h + j);
			gi = F(vsigmoid)(gi);
			gf = F(vsigmoid)(gf);
			gg = F(vtanh)(gg);
			go = F(vsigmoid)(go);
			VF cv = gf * F(ld)(cp + j) + gi * gg;
			VF t = F(vtanh)(cv);
			F(st)(g + j, gi);
			F(st)(g + h + j, gf);
			F(st)(g + 2 * h + j, gg);
			F(st)(g + 3 * h + j, go);
			F(st)(cr + j, cv);
			F(st)(tr + j, t);
			F(st)(hr + j, go * t);
		}
		if (j < h) F(lstm_fwd_vec)(g, cp, cr, tr, hr, h, j, h - j);
	}
}

static inline void F(lstm_bwd_vec)(const float *g, const float *cp, const float *tc, const float *dh, const float *dc,
                                   float *dg, float *dcp, long h, long j, long n) {
	VF gi = F(ldn)(g + j, n), gf = F(ldn)(g + h + j, n), gg = F(ldn)(g + 2 * h + j, n), go = F(ldn)(g + 3 * h + j, n);
	VF t = F(ldn)(tc + j, n), dhv = F(ldn)(dh + j, n);
	VF dcv = F(ldn)(dc + j, n) + dhv * go * (1.0f - t * t);
	F(stn)(dg + j, dcv * gg * gi * (1.0f - gi), n);
	F(stn)(dg + h + j, dcv * F(ldn)(cp + j, n) * gf * (1.0f - gf), n);
	F(stn)(dg + 2 * h + j, dcv * gi * (1.0f - gg * gg), n);
	F(stn)(dg + 3 * h + j, dhv * t * go * (1.0f - go), n);
	F(stn)(dcp + j, dcv * gf, n);
}

static void F(lstm_bwd)(long rows, long h, const float *gates, const float *cprev, const float *tanhc, const float *dh,
                        const float *dc, float *dgates, float *dcprev) {
	for (long r = 0; r < rows; r++) {
		const float *g = gates + r * 4 * h;
		float *dg = dgates + r * 4 * h;
		long o = r * h, j = 0;
		for (; j + VW <= h; j += VW) F(lstm_bwd_vec)(g, cprev + o, tanhc + o, dh + o, dc + o, dg, dcprev + o, h, j, VW);
		if (j < h) F(lstm_bwd_vec)(g, cprev + o, tanhc + o, dh + o, dc + o, dg, dcprev + o, h, j, h - j);
	}
}

// ---- QRNN recurrence (fastai's forget_mult with the output gate) ----
//
// Rows r in [0, rows) of a [t, b, *] time-major batch, each from its base
// pointer (the caller offsets them to its first row). For each block of VW
// hidden units the cell state stays in a register across the t steps, so
// the only memory traffic is one pass over the gates and outputs.

static inline void F(qrnn_fwd_blk)(long t, long b, long h, long r, long j, long n, float *gates, const float *c0,
                                   const float *keep, float *cs, float *ho) {
	VF c = F(ldn)(c0 + r * h + j, n);
	for (long s = 0; s < t; s++) {
		long row = s * b + r;
		float *g = gates + row * 3 * h;
		VF z = F(vtanh)(F(ldn)(g + j, n));
		VF f = F(vsigmoid)(F(ldn)(g + h + j, n));
		VF o = F(vsigmoid)(F(ldn)(g + 2 * h + j, n));
		c = f * z + (1.0f - f) * c;
		if (keep) c = c * keep[row];
		F(stn)(g + j, z, n);
		F(stn)(g + h + j, f, n);
		F(stn)(g + 2 * h + j, o, n);
		F(stn)(cs + row * h + j, c, n);
		F(stn)(ho + row * h + j, o * c, n);
	}
}

static void F(qrnn_fwd)(long t, long b, long h, long rows, float *gates, const float *c0, const float *keep, float *cs,
                        float *ho) {
	for (long r = 0; r < rows; r++)
		for (long j = 0; j < h; j += VW) F(qrnn_fwd_blk)(t, b, h, r, j, h - j < VW ? h - j : VW, gates, c0, keep, cs, ho);
}

static inline void F(qrnn_bwd_blk)(long t, long b, long h, long r, long j, long n, const float *gates, const float *c0,
                                   const float *cs, const float *keep, const float *cut, const float *dh, float *dg) {
	VF dc = F(splat)(0.0f);
	for (long s = t - 1; s >= 0; s--) {
		long row = s * b + r;
		const float *g = gates + row * 3 * h;
		float *d = dg + row * 3 * h;
		VF z = F(ldn)(g + j, n), f = F(ldn)(g + h + j, n), o = F(ldn)(g + 2 * h + j, n);
		VF c = F(ldn)(cs + row * h + j, n);
		VF cp = s > 0 ? F(ldn)(cs + (row - b) * h + j, n) : F(ldn)(c0 + r * h + j, n);
		VF dhv = F(ldn)(dh + row * h + j, n);
		VF gc = dhv * o + dc;
		if (keep) gc = gc * keep[row];
		F(stn)(d + j, gc * f * (1.0f - z * z), n);
		F(stn)(d + h + j, gc * (z - cp) * f * (1.0f - f), n);
		F(stn)(d + 2 * h + j, dhv * c * o * (1.0f - o), n);
		dc = gc * (1.0f - f);
		if (cut) dc = dc * cut[row];
	}
}

static void F(qrnn_bwd)(long t, long b, long h, long rows, const float *gates, const float *c0, const float *cs,
                        const float *keep, const float *cut, const float *dh, float *dg) {
	for (long r = 0; r < rows; r++)
		for (long j = 0; j < h; j += VW)
			F(qrnn_bwd_blk)(t, b, h, r, j, h - j < VW ? h - j : VW, gates, c0, cs, keep, cut, dh, dg);
}

// ---- softmax / cross-entropy ----

static float F(rowmax)(const float *x, long v) {
	VF m = F(splat)(-__builtin_inff());
	long j = 0;
	for (; j + VW <= v; j += VW) m = F(vmax)(m, F(ld)(x + j));
	float mx = F(hmax)(m);
	for (; j < v; j++) mx = x[j] > mx ? x[j] : mx;
	return mx; // NaN lanes are skipped here but poison the exp sum
}

// Row reductions (rowexp's sum, sumsq) keep their partial sums in RED_LANES
// lanes whatever the vector width, in the order AVX-512's pair of 16-lane
// accumulators gives: element j of the body goes to lane j % 32, the tail
// goes in 16-element chunks to lanes 0-15, and the lanes are summed in order
// in double, lanes 0-15 and 16-31 apart, then the two added. So every ISA
// with FMA gives the same bits, and the native path's results do not depend
// on the CPU (kernel_order_test.go holds each build to that order).
#define RED_LANES 32
#define RED_NV (RED_LANES / VW)

// hacc adds v's lanes in order to s, in double.
static inline double F(hacc)(double s, VF v) {
	float t[VW];
	F(st)(t, v);
	for (int i = 0; i < VW; i++) s += t[i];
	return s;
}
static inline double F(haccd)(double s, const VD *v) {
	double t[VW];
	__builtin_memcpy(t, v, sizeof t);
	for (int i = 0; i < VW; i++) s += t[i];
	return s;
}

// rowexp writes y[j] = exp(x[j]-mx) (y may be x) and returns their sum. With y
// NULL it only sums.
static double F(rowexp)(const float *x, float *y, long v, float mx) {
	VF s[RED_NV];
	for (int u = 0; u < RED_NV; u++) s[u] = F(splat)(0);
	long j = 0;
	for (; j + RED_LANES <= v; j += RED_LANES)
		for (int u = 0; u < RED_NV; u++) {
			VF e = F(vexp)(F(ld)(x + j + u * VW) - mx);
			if (y) F(st)(y + j + u * VW, e);
			s[u] += e;
		}
	for (; j < v; j += RED_LANES / 2)
		for (int u = 0; u < RED_NV / 2 && j + u * VW < v; u++) {
			long o = j + u * VW, n = v - o < VW ? v - o : VW;
			VF e = F(vexp)(F(ldn)(x + o, n) - mx);
			// zero the padding lanes before summing
			float t[VW];
			F(st)(t, e);
			for (long i = n; i < VW; i++) t[i] = 0;
			e = F(ld)(t);
			if (y) F(stn)(y + o, e, n);
			s[u] += e;
		}
	double lo = 0, hi = 0;
	for (int u = 0; u < RED_NV / 2; u++) lo = F(hacc)(lo, s[u]);
	for (int u = RED_NV / 2; u < RED_NV; u++) hi = F(hacc)(hi, s[u]);
	return lo + hi;
}

static void F(scalev)(float *x, long n, float a) {
	long j = 0;
	for (; j + VW <= n; j += VW) F(st)(x + j, F(ld)(x + j) * a);
	for (; j < n; j++) x[j] *= a;
}

// sce_rows: softmax cross-entropy over rows; writes per-row loss (w*nll) and
// weight into loss[r], wsum[r]. dl may be NULL or alias x.
static void F(sce_rows)(long rows, long v, const float *x, const int *tg, int ignore, const float *cw, float gscale,
                        float *dl, double *loss, double *wsum) {
	for (long r = 0; r < rows; r++) {
		const float *xr = x + r * v;
		float *dr = dl ? dl + r * v : 0;
		int t = tg[r];
		if (t == ignore) {
			if (dr) __builtin_memset(dr, 0, v * sizeof(float));
			loss[r] = 0;
			wsum[r] = 0;
			continue;
		}
		double w = cw ? cw[t] : 1.0;
		float xt = xr[t];
		float mx = F(rowmax)(xr, v);
		double z = F(rowexp)(xr, dr, v, mx);
		double lse = (double)mx + __builtin_log(z);
		loss[r] = w * (lse - (double)xt);
		wsum[r] = w;
		if (dr) {
			F(scalev)(dr, v, (float)((double)gscale * w / z));
			dr[t] -= (float)((double)gscale * w);
		}
	}
}

static void F(softmax_rows)(long rows, long v, const float *x, float *y) {
	for (long r = 0; r < rows; r++) {
		const float *xr = x + r * v;
		float *yr = y + r * v;
		float mx = F(rowmax)(xr, v);
		double z = F(rowexp)(xr, yr, v, mx);
		F(scalev)(yr, v, (float)(1.0 / z));
	}
}

// ---- elementwise ----

static void F(sigmoid)(long n, const float *x, float *y) {
	long j = 0;
	for (; j + VW <= n; j += VW) F(st)(y + j, F(vsigmoid)(F(ld)(x + j)));
	if (j < n) F(stn)(y + j, F(vsigmoid)(F(ldn)(x + j, n - j)), n - j);
}

// binop: op 0 add, 1 sub, 2 mul.
static void F(binop)(int op, long n, float *dst, const float *a, const float *b) {
	long j = 0;
	switch (op) {
	case 0:
		for (; j + VW <= n; j += VW) F(st)(dst + j, F(ld)(a + j) + F(ld)(b + j));
		for (; j < n; j++) dst[j] = a[j] + b[j];
		break;
	case 1:
		for (; j + VW <= n; j += VW) F(st)(dst + j, F(ld)(a + j) - F(ld)(b + j));
		for (; j < n; j++) dst[j] = a[j] - b[j];
		break;
	default:
		for (; j + VW <= n; j += VW) F(st)(dst + j, F(ld)(a + j) * F(ld)(b + j));
		for (; j < n; j++) dst[j] = a[j] * b[j];
	}
}

static void F(axpy)(long n, float alpha, const float *x, float *y) {
	long j = 0;
	for (; j + VW <= n; j += VW) F(st)(y + j, F(ld)(y + j) + alpha * F(ld)(x + j));
	for (; j < n; j++) y[j] += alpha * x[j];
}

static void F(fill)(long n, float *x, float v) {
	long j = 0;
	VF vv = F(splat)(v);
	for (; j + VW <= n; j += VW) F(st)(x + j, vv);
	for (; j < n; j++) x[j] = v;
}

// mulbcast: dst[i] = x[i] * m[i % lm] for i in [0,n), with x starting at a
// multiple of lm.
static void F(mulbcast)(long n, long lm, float *dst, const float *x, const float *m) {
	for (long o = 0; o < n; o += lm) F(binop)(2, lm, dst + o, x + o, m);
}

static void F(addbias)(long rows, long cols, float *x, const float *b) {
	for (long r = 0; r < rows; r++) F(binop)(0, cols, x + r * cols, x + r * cols, b);
}

// colsum: out[j] += sum_i x[i*ld + j] for j < cols, accumulated in double.
static void F(colsum)(long rows, long cols, long ld, const float *x, float *out) {
	long j = 0;
	// Four strips at a time: independent accumulators hide the adds'
	// latency, and each row is read 4*VW floats at a time. Every column's
	// sum still runs over the rows in order.
	for (; j + 4 * VW <= cols; j += 4 * VW) {
		VD s0 = (VD){0}, s1 = (VD){0}, s2 = (VD){0}, s3 = (VD){0};
		for (long i = 0; i < rows; i++) {
			const float *xr = x + i * ld + j;
			s0 += __builtin_convertvector(F(ld)(xr), VD);
			s1 += __builtin_convertvector(F(ld)(xr + VW), VD);
			s2 += __builtin_convertvector(F(ld)(xr + 2 * VW), VD);
			s3 += __builtin_convertvector(F(ld)(xr + 3 * VW), VD);
		}
		double t[4 * VW];
		__builtin_memcpy(t, &s0, sizeof s0);
		__builtin_memcpy(t + VW, &s1, sizeof s1);
		__builtin_memcpy(t + 2 * VW, &s2, sizeof s2);
		__builtin_memcpy(t + 3 * VW, &s3, sizeof s3);
		for (int k = 0; k < 4 * VW; k++) out[j + k] += (float)t[k];
	}
	for (; j + VW <= cols; j += VW) {
		VD s = (VD){0};
		for (long i = 0; i < rows; i++) s += __builtin_convertvector(F(ld)(x + i * ld + j), VD);
		double t[VW];
		__builtin_memcpy(t, &s, sizeof t);
		for (int k = 0; k < VW; k++) out[j + k] += (float)t[k];
	}
	for (; j < cols; j++) {
		double s = 0;
		for (long i = 0; i < rows; i++) s += x[i * ld + j];
		out[j] += (float)s;
	}
}

// sumsq returns sum x^2 in double, in the RED_LANES order above (the
// products are exact in double); the tail past the last whole 32 one by one.
static double F(sumsq)(long n, const float *x) {
	VD s[RED_NV];
	for (int u = 0; u < RED_NV; u++) s[u] = (VD){0};
	long j = 0;
	for (; j + RED_LANES <= n; j += RED_LANES)
		for (int u = 0; u < RED_NV; u++) {
			VD a = __builtin_convertvector(F(ld)(x + j + u * VW), VD);
			s[u] += a * a;
		}
	double lo = 0, hi = 0;
	for (int u = 0; u < RED_NV / 2; u++) lo = F(haccd)(lo, &s[u]);
	for (int u = RED_NV / 2; u < RED_NV; u++) hi = F(haccd)(hi, &s[u]);
	double t = lo + hi;
	for (; j < n; j++) t += (double)x[j] * x[j];
	return t;
}

static inline void F(adam_vec)(float *p, const float *g, float *m, float *v, long n, float lr, float b1, float b2,
                               float eps, float wd, float decay, float ib1, float ib2) {
	VF gv = F(ldn)(g, n), pv = F(ldn)(p, n);
	VF mv = b1 * F(ldn)(m, n) + (1.0f - b1) * gv;
	VF vv = b2 * F(ldn)(v, n) + (1.0f - b2) * gv * gv;
	if (wd != 0) pv = F(rounded)(pv * decay);
	pv = pv - lr * (mv * ib1) / (F(vsqrt)(vv * ib2) + eps);
	F(stn)(p, pv, n);
	F(stn)(m, mv, n);
	F(stn)(v, vv, n);
}

static void F(adam)(long n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                    float wd, float bc1, float bc2) {
	float decay = 1.0f - lr * wd, ib1 = 1.0f / bc1, ib2 = 1.0f / bc2;
	long j = 0;
	for (; j + VW <= n; j += VW) F(adam_vec)(p + j, g + j, m + j, v + j, VW, lr, b1, b2, eps, wd, decay, ib1, ib2);
	if (j < n) F(adam_vec)(p + j, g + j, m + j, v + j, n - j, lr, b1, b2, eps, wd, decay, ib1, ib2);
}

// emb_fwd: out[r,:] = w[ids[r],:] * s for rows r < rows, columns [0,cols)
// of row stride e (pointers already offset to the column block).
static void F(emb_fwd)(long rows, long cols, long e, const float *w, const int *ids, const float *rs, float *out) {
	for (long r = 0; r < rows; r++) {
		long id = ids[r];
		float s = rs ? rs[id] : 1.0f;
		const float *src = w + id * e;
		float *dst = out + r * e;
		long j = 0;
		for (; j + VW <= cols; j += VW) F(st)(dst + j, F(ld)(src + j) * s);
		for (; j < cols; j++) dst[j] = src[j] * s;
	}
}

static void F(emb_bwd)(long rows, long cols, long e, const int *ids, const float *rs, const float *dout, float *dw) {
	for (long r = 0; r < rows; r++) {
		long id = ids[r];
		float s = rs ? rs[id] : 1.0f;
		F(axpy)(cols, s, dout + r * e, dw + id * e);
	}
}

#undef VF
#undef VI
#undef VD
