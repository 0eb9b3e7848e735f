//go:build !cgo

package cpu

import "math"

// kernelsCompiled says whether the vectorised C kernels are built in; without
// cgo the kernels are these plain Go loops (still parallel, not vectorised).
const kernelsCompiled = false

func bestISA() int { return isaGeneric }

// kern runs the kernels; isa is ignored in this build.
type kern struct{ isa int }

func newKern(isa int) kern { return kern{isa: isa} }

func sigm(x float32) float32 {
	if x >= 0 {
		return float32(1 / (1 + math.Exp(-float64(x))))
	}
	e := math.Exp(float64(x))
	return float32(e / (1 + e))
}

func tanh32(x float32) float32 { return float32(math.Tanh(float64(x))) }

func (kern) lstmFwd(rows, h int, gates, cPrev, c, tanhC, hOut []float32) {
	for r := 0; r < rows; r++ {
		g := gates[r*4*h : (r+1)*4*h]
		cp, cr, tr, hr := cPrev[r*h:(r+1)*h], c[r*h:(r+1)*h], tanhC[r*h:(r+1)*h], hOut[r*h:(r+1)*h]
		for j := 0; j < h; j++ {
			ig, fg, gg, og := sigm(g[j]), sigm(g[h+j]), tanh32(g[2*h+j]), sigm(g[3*h+j])
			g[j], g[h+j], g[2*h+j], g[3*h+j] = ig, fg, gg, og
			cv := fg*cp[j] + ig*gg
			t := tanh32(cv)
			cr[j], tr[j], hr[j] = cv, t, og*t
		}
	}
}

func (kern) lstmBwd(rows, h int, gates, cPrev, tanhC, dh, dc, dGates, dcPrev []float32) {
	for r := 0; r < rows; r++ {
		g := gates[r*4*h : (r+1)*4*h]
		dg := dGates[r*4*h : (r+1)*4*h]
		o := r * h
		for j := 0; j < h; j++ {
			ig, fg, gg, og := g[j], g[h+j], g[2*h+j], g[3*h+j]
			t, dhv := tanhC[o+j], dh[o+j]
			dcv := dc[o+j] + dhv*og*(1-t*t)
			dg[j] = dcv * gg * ig * (1 - ig)
			dg[h+j] = dcv * cPrev[o+j] * fg * (1 - fg)
			dg[2*h+j] = dcv * ig * (1 - gg*gg)
			dg[3*h+j] = dhv * t * og * (1 - og)
			dcPrev[o+j] = dcv * fg
		}
	}
}

// qrnnFwd and qrnnBwd handle rows [0, rows) of a [t, b, *] batch from the
// slices' starts (the caller offsets them to its first row).
func (kern) qrnnFwd(t, b, h, rows int, gates, c0, keep, cs, hOut []float32) {
	for r := 0; r < rows; r++ {
		for s := 0; s < t; s++ {
			row := s*b + r
			g := gates[row*3*h : (row+1)*3*h]
			k := float32(1)
			if keep != nil {
				k = keep[row]
			}
			for j := 0; j < h; j++ {
				cp := c0[r*h+j]
				if s > 0 {
					cp = cs[(row-b)*h+j]
				}
				z, f, o := tanh32(g[j]), sigm(g[h+j]), sigm(g[2*h+j])
				g[j], g[h+j], g[2*h+j] = z, f, o
				c := (f*z + (1-f)*cp) * k
				cs[row*h+j], hOut[row*h+j] = c, o*c
			}
		}
	}
}

func (kern) qrnnBwd(t, b, h, rows int, gates, c0, cs, keep, cut, dh, dGates []float32) {
	for r := 0; r < rows; r++ {
		for j := 0; j < h; j++ {
			var dc float32
			for s := t - 1; s >= 0; s-- {
				row := s*b + r
				g, d := gates[row*3*h:], dGates[row*3*h:]
				z, f, o := g[j], g[h+j], g[2*h+j]
				cp := c0[r*h+j]
				if s > 0 {
					cp = cs[(row-b)*h+j]
				}
				dhv := dh[row*h+j]
				gc := dhv*o + dc
				if keep != nil {
					gc *= keep[row]
				}
				d[j] = gc * f * (1 - z*z)
				d[h+j] = gc * (z - cp) * f * (1 - f)
				d[2*h+j] = dhv * cs[row*h+j] * o * (1 - o)
				dc = gc * (1 - f)
				if cut != nil {
					dc *= cut[row]
				}
			}
		}
	}
}

func rowMax(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

func (kern) sceRows(rows, v int, x []float32, tg []int32, ignore int32, cw []float32, gscale float32, dl []float32, loss, wsum []float64) {
	for r := 0; r < rows; r++ {
		xr := x[r*v : (r+1)*v]
		var dr []float32
		if dl != nil {
			dr = dl[r*v : (r+1)*v]
		}
		t := tg[r]
		if t == ignore {
			clear(dr)
			loss[r], wsum[r] = 0, 0
			continue
		}
		w := 1.0
		if cw != nil {
			w = float64(cw[t])
		}
		xt := xr[t]
		mx := rowMax(xr)
		var z float64
		for j, xv := range xr {
			e := math.Exp(float64(xv - mx))
			z += e
			if dr != nil {
				dr[j] = float32(e)
			}
		}
		loss[r] = w * (float64(mx) + math.Log(z) - float64(xt))
		wsum[r] = w
		if dr != nil {
			s := float32(float64(gscale) * w / z)
			for j := range dr {
				dr[j] *= s
			}
			dr[t] -= float32(float64(gscale) * w)
		}
	}
}

func (kern) softmaxRows(rows, v int, x, y []float32) {
	for r := 0; r < rows; r++ {
		xr, yr := x[r*v:(r+1)*v], y[r*v:(r+1)*v]
		mx := rowMax(xr)
		var z float64
		for j, xv := range xr {
			e := math.Exp(float64(xv - mx))
			z += e
			yr[j] = float32(e)
		}
		s := float32(1 / z)
		for j := range yr {
			yr[j] *= s
		}
	}
}

func (kern) sigmoid(x, y []float32) {
	for i, v := range x {
		y[i] = sigm(v)
	}
}

func (kern) binop(op int, dst, a, b []float32) {
	b = b[:len(a)]
	dst = dst[:len(a)]
	switch op {
	case binAdd:
		for i := range a {
			dst[i] = a[i] + b[i]
		}
	case binSub:
		for i := range a {
			dst[i] = a[i] - b[i]
		}
	default:
		for i := range a {
			dst[i] = a[i] * b[i]
		}
	}
}

func (kern) axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func (kern) scale(x []float32, a float32) {
	for i := range x {
		x[i] *= a
	}
}

func (kern) fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

func (k kern) mulBcast(dst, x, m []float32) {
	for o := 0; o < len(x); o += len(m) {
		k.binop(binMul, dst[o:o+len(m)], x[o:o+len(m)], m)
	}
}

func (k kern) addBias(rows, cols int, x, b []float32) {
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		k.binop(binAdd, row, row, b)
	}
}

func (kern) colSum(rows, cols, ld int, x, out []float32) {
	for j := 0; j < cols; j++ {
		var s float64
		for i := 0; i < rows; i++ {
			s += float64(x[i*ld+j])
		}
		out[j] += float32(s)
	}
}

func (kern) sumSq(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

func (kern) adam(p, g, m, v []float32, lr, b1, b2, eps, wd, bc1, bc2 float32) {
	decay := 1 - lr*wd
	for i := range p {
		gv := g[i]
		mv := b1*m[i] + (1-b1)*gv
		vv := b2*v[i] + (1-b2)*gv*gv
		pv := p[i]
		if wd != 0 {
			pv *= decay
		}
		pv -= lr * (mv / bc1) / (float32(math.Sqrt(float64(vv/bc2))) + eps)
		p[i], m[i], v[i] = pv, mv, vv
	}
}

func (kern) embFwd(rows, cols, e int, w []float32, ids []int32, rs, out []float32) {
	for r := 0; r < rows; r++ {
		id := int(ids[r])
		s := float32(1)
		if rs != nil {
			s = rs[id]
		}
		src, dst := w[id*e:id*e+cols], out[r*e:r*e+cols]
		for j := range dst {
			dst[j] = src[j] * s
		}
	}
}

func (k kern) embBwd(rows, cols, e int, ids []int32, rs, dout, dw []float32) {
	for r := 0; r < rows; r++ {
		id := int(ids[r])
		s := float32(1)
		if rs != nil {
			s = rs[id]
		}
		k.axpy(s, dout[r*e:r*e+cols], dw[id*e:id*e+cols])
	}
}

// hasBF16 is false: the VDPBF16PS GEMM needs the C kernels.
func hasBF16() bool { return false }

// sgemmWork is zero: without cgo there is no native GEMM.
const sgemmWork = 0

// sgemm reports false: the native GEMM needs the C kernels.
func (kern) sgemm(bf16 bf16Mode, tA, tB bool, m, n, kk int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int, work []float32) bool {
	return false
}
