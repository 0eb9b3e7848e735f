package nn

import (
	"math"
)

// Reference returns the plain-Go reference Backend: single-threaded,
// straightforward loops, sums accumulated in float64. It is the definition
// the fast backends are tested against, not a fast path.
func Reference() Backend { return refBackend{} }

type refBackend struct{}

func (refBackend) Name() string { return "reference" }
func (refBackend) Threads() int { return 1 }

func (refBackend) ParallelFor(n int, fn func(lo, hi int)) {
	if n > 0 {
		fn(0, n)
	}
}

func (refBackend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := alpha * float32(s)
			if beta != 0 {
				v += beta * c[i*ldc+j]
			}
			c[i*ldc+j] = v
		}
	}
}

func sigmoid32(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
func tanh32(x float32) float32    { return float32(math.Tanh(float64(x))) }

func (refBackend) LSTMCellForward(b, h int, gates, cPrev, c, tanhC, hOut []float32) {
	for r := 0; r < b; r++ {
		g := gates[r*4*h : (r+1)*4*h]
		for j := 0; j < h; j++ {
			ig := sigmoid32(g[j])
			fg := sigmoid32(g[h+j])
			gg := tanh32(g[2*h+j])
			og := sigmoid32(g[3*h+j])
			g[j], g[h+j], g[2*h+j], g[3*h+j] = ig, fg, gg, og
			cv := fg*cPrev[r*h+j] + ig*gg
			tc := tanh32(cv)
			c[r*h+j] = cv
			tanhC[r*h+j] = tc
			hOut[r*h+j] = og * tc
		}
	}
}

func (refBackend) LSTMCellBackward(b, h int, gates, cPrev, tanhC, dh, dc, dGates, dcPrev []float32) {
	for r := 0; r < b; r++ {
		g := gates[r*4*h : (r+1)*4*h]
		dg := dGates[r*4*h : (r+1)*4*h]
		for j := 0; j < h; j++ {
			k := r*h + j
			ig, fg, gg, og := g[j], g[h+j], g[2*h+j], g[3*h+j]
			tc := tanhC[k]
			dhv := dh[k]
			dcv := dc[k] + dhv*og*(1-tc*tc)
			dg[j] = dcv * gg * ig * (1 - ig)
			dg[h+j] = dcv * cPrev[k] * fg * (1 - fg)
			dg[2*h+j] = dcv * ig * (1 - gg*gg)
			dg[3*h+j] = dhv * tc * og * (1 - og)
			dcPrev[k] = dcv * fg
		}
	}
}

func (refBackend) QRNNForward(t, b, h int, gates, c0, keep, cs, hOut []float32) {
	for s := 0; s < t; s++ {
		for r := 0; r < b; r++ {
			row := s*b + r
			g := gates[row*3*h : (row+1)*3*h]
			k := float32(1)
			if keep != nil {
				k = keep[row]
			}
			for j := 0; j < h; j++ {
				prev := c0[r*h+j]
				if s > 0 {
					prev = cs[(row-b)*h+j]
				}
				z, f, o := tanh32(g[j]), sigmoid32(g[h+j]), sigmoid32(g[2*h+j])
				g[j], g[h+j], g[2*h+j] = z, f, o
				c := (f*z + (1-f)*prev) * k
				cs[row*h+j] = c
				hOut[row*h+j] = o * c
			}
		}
	}
}

func (refBackend) QRNNBackward(t, b, h int, gates, c0, cs, keep, cut, dh, dGates []float32) {
	for r := 0; r < b; r++ {
		for j := 0; j < h; j++ {
			var dc float32 // gradient w.r.t. c_s arriving from step s+1
			for s := t - 1; s >= 0; s-- {
				row := s*b + r
				g, d := gates[row*3*h:(row+1)*3*h], dGates[row*3*h:(row+1)*3*h]
				prev := c0[r*h+j]
				if s > 0 {
					prev = cs[(row-b)*h+j]
				}
				z, f, o := g[j], g[h+j], g[2*h+j]
				dhv := dh[row*h+j]
				// d loss / d (f*z + (1-f)*prev), through h = o*c and c_{s+1}
				du := dhv*o + dc
				if keep != nil {
					du *= keep[row]
				}
				d[j] = du * f * (1 - z*z)
				d[h+j] = du * (z - prev) * f * (1 - f)
				d[2*h+j] = dhv * cs[row*h+j] * o * (1 - o)
				dc = du * (1 - f)
				if cut != nil {
					dc *= cut[row]
				}
			}
		}
	}
}

func (refBackend) DropoutMask(rng *RNG, p float32, mask []float32) {
	if p <= 0 {
		for i := range mask {
			mask[i] = 1
		}
		return
	}
	scale := 1 / (1 - p)
	for i := range mask {
		if rng.Float32() >= p {
			mask[i] = scale
		} else {
			mask[i] = 0
		}
	}
}

func (refBackend) MulBroadcast(dst, x, m []float32) {
	if len(m) == 0 || len(x)%len(m) != 0 {
		panic("nn: MulBroadcast: len(x) not a multiple of len(m)")
	}
	for i := range x {
		dst[i] = x[i] * m[i%len(m)]
	}
}

func (refBackend) EmbeddingForward(e int, w []float32, ids []int32, rowScale []float32, out []float32) {
	for n, id := range ids {
		s := float32(1)
		if rowScale != nil {
			s = rowScale[id]
		}
		row := w[int(id)*e : int(id+1)*e]
		o := out[n*e : (n+1)*e]
		for j := range o {
			o[j] = row[j] * s
		}
	}
}

func (refBackend) EmbeddingBackward(e int, ids []int32, rowScale []float32, dout []float32, dw []float32) {
	for n, id := range ids {
		s := float32(1)
		if rowScale != nil {
			s = rowScale[id]
		}
		row := dw[int(id)*e : int(id+1)*e]
		d := dout[n*e : (n+1)*e]
		for j := range row {
			row[j] += d[j] * s
		}
	}
}

func (refBackend) SoftmaxCrossEntropy(n, v int, logits []float32, targets []int32, ignore int32, classWeights []float32, gradScale float32, dlogits []float32) (lossSum, weightSum float64) {
	for r := 0; r < n; r++ {
		x := logits[r*v : (r+1)*v]
		t := targets[r]
		if t == ignore {
			if dlogits != nil {
				d := dlogits[r*v : (r+1)*v]
				for j := range d {
					d[j] = 0
				}
			}
			continue
		}
		w := 1.0
		if classWeights != nil {
			w = float64(classWeights[t])
		}
		mx := math.Inf(-1)
		for _, xv := range x {
			mx = math.Max(mx, float64(xv))
		}
		var z float64
		for _, xv := range x {
			z += math.Exp(float64(xv) - mx)
		}
		lse := mx + math.Log(z)
		lossSum += w * (lse - float64(x[t]))
		weightSum += w
		if dlogits != nil {
			d := dlogits[r*v : (r+1)*v]
			for j := range x {
				p := math.Exp(float64(x[j]) - lse)
				if int32(j) == t {
					p--
				}
				d[j] = gradScale * float32(w*p)
			}
		}
	}
	return lossSum, weightSum
}

func (refBackend) SigmoidBCE(n, c int, logits, targets, classWeights []float32, gradScale float32, dlogits []float32) (lossSum float64) {
	for i := 0; i < n*c; i++ {
		x := float64(logits[i])
		y := float64(targets[i])
		w := 1.0
		if classWeights != nil {
			w = float64(classWeights[i%c])
		}
		// -(y log s + (1-y) log(1-s)) = max(x,0) - x*y + log(1+exp(-|x|))
		lossSum += w * (math.Max(x, 0) - x*y + math.Log1p(math.Exp(-math.Abs(x))))
		if dlogits != nil {
			s := 1 / (1 + math.Exp(-x))
			dlogits[i] = gradScale * float32(w*(s-y))
		}
	}
	return lossSum
}

func (refBackend) Softmax(n, v int, x, y []float32) {
	for r := 0; r < n; r++ {
		xr := x[r*v : (r+1)*v]
		yr := y[r*v : (r+1)*v]
		mx := math.Inf(-1)
		for _, xv := range xr {
			mx = math.Max(mx, float64(xv))
		}
		var z float64
		for _, xv := range xr {
			z += math.Exp(float64(xv) - mx)
		}
		for j := range xr {
			yr[j] = float32(math.Exp(float64(xr[j])-mx) / z)
		}
	}
}

func (refBackend) Sigmoid(x, y []float32) {
	for i := range x {
		y[i] = sigmoid32(x[i])
	}
}

func (refBackend) AddBias(rows, cols int, x, bias []float32) {
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			x[i*cols+j] += bias[j]
		}
	}
}

func (refBackend) ColSum(rows, cols int, x, out []float32) {
	for j := 0; j < cols; j++ {
		var s float64
		for i := 0; i < rows; i++ {
			s += float64(x[i*cols+j])
		}
		out[j] += float32(s)
	}
}

func (refBackend) Fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

func (refBackend) Scale(x []float32, alpha float32) {
	for i := range x {
		x[i] *= alpha
	}
}

func (refBackend) Axpy(alpha float32, x, y []float32) {
	for i := range x {
		y[i] += alpha * x[i]
	}
}

func (refBackend) Add(dst, a, b []float32) {
	for i := range a {
		dst[i] = a[i] + b[i]
	}
}

func (refBackend) Sub(dst, a, b []float32) {
	for i := range a {
		dst[i] = a[i] - b[i]
	}
}

func (refBackend) Mul(dst, a, b []float32) {
	for i := range a {
		dst[i] = a[i] * b[i]
	}
}

func (refBackend) SumSquares(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

func (refBackend) ReLU(x, y []float32) {
	for i := range x {
		if x[i] > 0 {
			y[i] = x[i]
		} else {
			y[i] = 0
		}
	}
}

func (refBackend) ReLUBackward(y, dy, dx []float32) {
	for i := range y {
		if y[i] > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

func (refBackend) BatchNormForward(n, c int, x, gamma, beta, runMean, runVar []float32, momentum, eps float32, train bool, y, xhat, invStd []float32) {
	for j := 0; j < c; j++ {
		var mean, vr float64
		if train {
			for i := 0; i < n; i++ {
				mean += float64(x[i*c+j])
			}
			mean /= float64(n)
			for i := 0; i < n; i++ {
				d := float64(x[i*c+j]) - mean
				vr += d * d
			}
			vr /= float64(n)
			unbiased := vr
			if n > 1 {
				unbiased = vr * float64(n) / float64(n-1)
			}
			runMean[j] = (1-momentum)*runMean[j] + momentum*float32(mean)
			runVar[j] = (1-momentum)*runVar[j] + momentum*float32(unbiased)
		} else {
			mean = float64(runMean[j])
			vr = float64(runVar[j])
		}
		is := 1 / math.Sqrt(vr+float64(eps))
		invStd[j] = float32(is)
		for i := 0; i < n; i++ {
			xh := float32((float64(x[i*c+j]) - mean) * is)
			xhat[i*c+j] = xh
			y[i*c+j] = gamma[j]*xh + beta[j]
		}
	}
}

func (refBackend) BatchNormBackward(n, c int, xhat, invStd, gamma, dy []float32, train bool, dx, dgamma, dbeta []float32) {
	for j := 0; j < c; j++ {
		var sg, sgx, sdy, sdyx float64
		for i := 0; i < n; i++ {
			d := float64(dy[i*c+j])
			xh := float64(xhat[i*c+j])
			g := d * float64(gamma[j])
			sg += g
			sgx += g * xh
			sdy += d
			sdyx += d * xh
		}
		dgamma[j] += float32(sdyx)
		dbeta[j] += float32(sdy)
		is := float64(invStd[j])
		for i := 0; i < n; i++ {
			g := float64(dy[i*c+j]) * float64(gamma[j])
			if train {
				dx[i*c+j] = float32(is / float64(n) * (float64(n)*g - sg - float64(xhat[i*c+j])*sgx))
			} else {
				dx[i*c+j] = float32(g * is)
			}
		}
	}
}

func (refBackend) ConcatPoolForward(t, b, e int, x []float32, start []int32, out []float32, argmax []int32) {
	for j := 0; j < b; j++ {
		o := out[j*3*e : (j+1)*3*e]
		s := int(start[j])
		for k := 0; k < e; k++ {
			o[k] = x[((t-1)*b+j)*e+k]
			mx := float32(math.Inf(-1))
			am := int32(s)
			var sum float64
			for tt := s; tt < t; tt++ {
				v := x[(tt*b+j)*e+k]
				if v > mx {
					mx, am = v, int32(tt)
				}
				sum += float64(v)
			}
			o[e+k] = mx
			argmax[j*e+k] = am
			o[2*e+k] = float32(sum / float64(t-s))
		}
	}
}

func (refBackend) ConcatPoolBackward(t, b, e int, start []int32, argmax []int32, dout []float32, dx []float32) {
	for j := 0; j < b; j++ {
		d := dout[j*3*e : (j+1)*3*e]
		s := int(start[j])
		inv := 1 / float32(t-s)
		for k := 0; k < e; k++ {
			dx[((t-1)*b+j)*e+k] += d[k]
			dx[(int(argmax[j*e+k])*b+j)*e+k] += d[e+k]
			dm := d[2*e+k] * inv
			for tt := s; tt < t; tt++ {
				dx[(tt*b+j)*e+k] += dm
			}
		}
	}
}

func (refBackend) AdamStep(p, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) {
	for i := range p {
		pv := p[i]
		if wd != 0 {
			pv -= lr * wd * pv
		}
		gv := g[i]
		m[i] = beta1*m[i] + (1-beta1)*gv
		v[i] = beta2*v[i] + (1-beta2)*gv*gv
		mh := float64(m[i]) / float64(bc1)
		vh := float64(v[i]) / float64(bc2)
		pv -= float32(float64(lr) * mh / (math.Sqrt(vh) + float64(eps)))
		p[i] = pv
	}
}
