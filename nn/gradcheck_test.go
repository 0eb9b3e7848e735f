package nn

import (
	"fmt"
	"math"
	"testing"
)

// Finite-difference gradient checks. Models compute in float32 with float64
// loss accumulation, so central differences use eps ~1e-2 and a tolerance
// of |analytic - numeric| <= atol + rtol*max(|analytic|, |numeric|).

type fdTarget struct {
	name string
	data []float32 // perturbed in place
	grad []float32 // analytic gradient of f w.r.t. data
}

type fdOpts struct {
	eps        float64
	rtol, atol float64
	samples    int // entries checked per target (all if <= 0 or more than len)
}

var defaultFD = fdOpts{eps: 1e-2, rtol: 3e-2, atol: 2e-4, samples: 24}

// fdCheck compares the analytic gradients in targets with central
// differences of f; f must be a pure function of the targets' data.
func fdCheck(t *testing.T, f func() float64, targets []fdTarget, o fdOpts) {
	t.Helper()
	rng := NewRNG(12345)
	for _, tg := range targets {
		n := len(tg.data)
		idx := make([]int, 0, n)
		if o.samples <= 0 || o.samples >= n {
			for i := 0; i < n; i++ {
				idx = append(idx, i)
			}
		} else {
			for _, i := range rng.Perm(n)[:o.samples] {
				idx = append(idx, i)
			}
		}
		bad, worst, worstMsg := 0, 0.0, ""
		for _, i := range idx {
			orig := tg.data[i]
			tg.data[i] = orig + float32(o.eps)
			fp := f()
			tg.data[i] = orig - float32(o.eps)
			fm := f()
			tg.data[i] = orig
			// Use the actually representable step.
			h := float64(orig+float32(o.eps)) - float64(orig-float32(o.eps))
			num := (fp - fm) / h
			ana := float64(tg.grad[i])
			d := math.Abs(num - ana)
			tol := o.atol + o.rtol*math.Max(math.Abs(num), math.Abs(ana))
			if !(d <= tol) {
				bad++
			}
			if r := d / tol; r > worst || math.IsNaN(r) {
				worst = r
				worstMsg = fmt.Sprintf("[%d] analytic %.6g numeric %.6g", i, ana, num)
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d entries off; worst %s", tg.name, bad, len(idx), worstMsg)
		}
	}
}

func randSlice(rng *RNG, n int, scale float32) []float32 {
	x := make([]float32, n)
	rng.Uniform(x, -scale, scale)
	return x
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// TestOpGradients checks the backward ops of the reference backend against
// finite differences of their forward ops.
func TestOpGradients(t *testing.T) {
	be := Reference()
	tests := []struct {
		name string
		run  func(t *testing.T, rng *RNG)
	}{
		{"LSTMCell", func(t *testing.T, rng *RNG) {
			b, h := 3, 4
			pre := randSlice(rng, b*4*h, 1.5)
			cPrev := randSlice(rng, b*h, 1)
			rh, rc := randSlice(rng, b*h, 1), randSlice(rng, b*h, 1)
			g := make([]float32, b*4*h)
			c, tc, ho := make([]float32, b*h), make([]float32, b*h), make([]float32, b*h)
			f := func() float64 {
				copy(g, pre)
				be.LSTMCellForward(b, h, g, cPrev, c, tc, ho)
				return dot64(rh, ho) + dot64(rc, c)
			}
			f()
			dg, dcp := make([]float32, b*4*h), make([]float32, b*h)
			dc := append([]float32(nil), rc...)
			be.LSTMCellBackward(b, h, g, cPrev, tc, rh, dc, dg, dcp)
			fdCheck(t, f, []fdTarget{{"preact", pre, dg}, {"cPrev", cPrev, dcp}}, fdOpts{eps: 1e-2, rtol: 1e-2, atol: 1e-4})
		}},
		{"BatchNormTrain", func(t *testing.T, rng *RNG) { testBN(t, be, rng, true) }},
		{"BatchNormEval", func(t *testing.T, rng *RNG) { testBN(t, be, rng, false) }},
		{"ConcatPool", func(t *testing.T, rng *RNG) {
			tt, b, e := 5, 3, 4
			x := randSlice(rng, tt*b*e, 1)
			start := []int32{0, 2, 4}
			r := randSlice(rng, b*3*e, 1)
			out, am := make([]float32, b*3*e), make([]int32, b*e)
			f := func() float64 { be.ConcatPoolForward(tt, b, e, x, start, out, am); return dot64(r, out) }
			f()
			dx := make([]float32, len(x))
			be.ConcatPoolBackward(tt, b, e, start, am, r, dx)
			// Pad positions must get no gradient.
			for s := 0; s < tt; s++ {
				for j := 0; j < b; j++ {
					for k := 0; k < e; k++ {
						if s < int(start[j]) && dx[(s*b+j)*e+k] != 0 {
							t.Fatalf("gradient at pad position t=%d row %d", s, j)
						}
					}
				}
			}
			fdCheck(t, f, []fdTarget{{"x", x, dx}}, fdOpts{eps: 1e-3, rtol: 1e-2, atol: 1e-4})
		}},
		{"SoftmaxCrossEntropy", func(t *testing.T, rng *RNG) {
			n, v := 5, 7
			x := randSlice(rng, n*v, 2)
			tg := []int32{1, 6, -1, 0, 3}
			w := randSlice(rng, v, 0.5)
			for i := range w {
				w[i] += 1
			}
			f := func() float64 { l, ws := be.SoftmaxCrossEntropy(n, v, x, tg, -1, w, 0, nil); return l / ws }
			_, ws := be.SoftmaxCrossEntropy(n, v, x, tg, -1, w, 0, nil)
			d := make([]float32, n*v)
			be.SoftmaxCrossEntropy(n, v, x, tg, -1, w, float32(1/ws), d)
			fdCheck(t, f, []fdTarget{{"logits", x, d}}, fdOpts{eps: 1e-2, rtol: 1e-2, atol: 1e-4})
		}},
		{"SigmoidBCE", func(t *testing.T, rng *RNG) {
			n, c := 4, 3
			x := randSlice(rng, n*c, 3)
			y := []float32{1, 0, 1, 0, 0, 1, 1, 1, 0, 0.5, 0, 1}
			w := []float32{1, 2, 0.5}
			f := func() float64 { return be.SigmoidBCE(n, c, x, y, w, 0, nil) / float64(n*c) }
			d := make([]float32, n*c)
			be.SigmoidBCE(n, c, x, y, w, float32(1.0/float64(n*c)), d)
			fdCheck(t, f, []fdTarget{{"logits", x, d}}, fdOpts{eps: 1e-2, rtol: 1e-2, atol: 1e-4})
		}},
		{"EmbeddingRowScale", func(t *testing.T, rng *RNG) {
			v, e := 6, 3
			w := randSlice(rng, v*e, 1)
			ids := []int32{0, 3, 3, 5, 1}
			scale := []float32{2, 0, 1, 2, 1, 0.5}
			r := randSlice(rng, len(ids)*e, 1)
			out := make([]float32, len(ids)*e)
			f := func() float64 { be.EmbeddingForward(e, w, ids, scale, out); return dot64(r, out) }
			dw := make([]float32, v*e)
			be.EmbeddingBackward(e, ids, scale, r, dw)
			fdCheck(t, f, []fdTarget{{"w", w, dw}}, fdOpts{eps: 1e-2, rtol: 1e-3, atol: 1e-5})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, NewRNG(7)) })
	}
}

func testBN(t *testing.T, be Backend, rng *RNG, train bool) {
	n, c := 6, 4
	x := randSlice(rng, n*c, 2)
	gamma, beta := randSlice(rng, c, 1), randSlice(rng, c, 1)
	rm, rv := randSlice(rng, c, 0.5), make([]float32, c)
	for i := range rv {
		rv[i] = 0.5 + rng.Float32()
	}
	r := randSlice(rng, n*c, 1)
	y, xh, is := make([]float32, n*c), make([]float32, n*c), make([]float32, c)
	f := func() float64 {
		m, v := append([]float32(nil), rm...), append([]float32(nil), rv...)
		be.BatchNormForward(n, c, x, gamma, beta, m, v, 0.1, 1e-5, train, y, xh, is)
		return dot64(r, y)
	}
	f()
	dx, dg, db := make([]float32, n*c), make([]float32, c), make([]float32, c)
	be.BatchNormBackward(n, c, xh, is, gamma, r, train, dx, dg, db)
	fdCheck(t, f, []fdTarget{{"x", x, dx}, {"gamma", gamma, dg}, {"beta", beta, db}}, fdOpts{eps: 1e-2, rtol: 2e-2, atol: 1e-4})
}

// TestBatchNormRunningStats checks PyTorch's running-stat update (unbiased
// variance, momentum 0.1).
func TestBatchNormRunningStats(t *testing.T) {
	be := Reference()
	x := []float32{1, 2, 3, 6} // n=4, c=1: mean 3, biased var 3.5, unbiased 14/3
	rm, rv := []float32{1}, []float32{2}
	y, xh, is := make([]float32, 4), make([]float32, 4), make([]float32, 1)
	be.BatchNormForward(4, 1, x, []float32{1}, []float32{0}, rm, rv, 0.1, 1e-5, true, y, xh, is)
	if math.Abs(float64(rm[0])-(0.9*1+0.1*3)) > 1e-6 || math.Abs(float64(rv[0])-(0.9*2+0.1*14.0/3)) > 1e-6 {
		t.Errorf("running stats %v %v", rm, rv)
	}
	if math.Abs(float64(is[0])-1/math.Sqrt(3.5+1e-5)) > 1e-6 {
		t.Errorf("invStd %v", is[0])
	}
}

// TestLSTMLayerGradients checks one LSTM layer with weight drop active and a
// nonzero carried state.
func TestLSTMLayerGradients(t *testing.T) {
	be := Reference()
	rng := NewRNG(3)
	in, h, b, tt := 3, 4, 2, 4
	l := NewLSTM("rnn.", in, h, 0, 0.5)
	for _, p := range l.Params() {
		rng.Uniform(p.Data, -0.5, 0.5)
	}
	l.DrawMask(be, NewRNG(9), true)
	if l.wmask.Mask() == nil {
		t.Fatal("weight drop inactive")
	}
	x := randSlice(rng, tt*b*in, 1)
	h0, c0 := randSlice(rng, b*h, 0.5), randSlice(rng, b*h, 0.5)
	r := randSlice(rng, tt*b*h, 1)
	f := func() float64 {
		l.ResetState(be, b)
		copy(l.h0, h0)
		copy(l.c0, c0)
		return dot64(r, l.Forward(be, x, tt, b))
	}
	f()
	dx := make([]float32, len(x))
	l.Backward(be, r, dx)
	targets := []fdTarget{{"x", x, dx}}
	for _, p := range l.Params() {
		targets = append(targets, fdTarget{p.Name, p.Data, p.Grad})
	}
	fdCheck(t, f, targets, fdOpts{eps: 1e-2, rtol: 2e-2, atol: 1e-4, samples: 30})
}

// TestQRNNLayerGradients checks a QRNN layer, window 1 and 2, with weight
// drop and a carried state (cell state and, for window 2, the last input of
// the previous window), against finite differences.
func TestQRNNLayerGradients(t *testing.T) {
	for _, window := range []int{1, 2} {
		t.Run(fmt.Sprintf("window%d", window), func(t *testing.T) {
			be := Reference()
			rng := NewRNG(3)
			in, h, b, tt := 3, 4, 2, 4
			l := NewQRNN("rnn.", in, h, window, 0, 0.5)
			for _, p := range l.Params() {
				rng.Uniform(p.Data, -0.8, 0.8)
			}
			l.DrawMask(be, NewRNG(9), true)
			if l.wmask.Mask() == nil {
				t.Fatal("weight drop inactive")
			}
			x := randSlice(rng, tt*b*in, 1)
			c0, x0 := randSlice(rng, b*h, 0.5), randSlice(rng, b*in, 1)
			r := randSlice(rng, tt*b*h, 1)
			f := func() float64 {
				l.ResetState(be, b)
				copy(l.c0, c0)
				if window > 1 {
					copy(l.prevX, x0)
				}
				return dot64(r, l.Forward(be, x, tt, b))
			}
			f()
			dx := make([]float32, len(x))
			l.Backward(be, r, dx)
			targets := []fdTarget{{"x", x, dx}}
			for _, p := range l.Params() {
				targets = append(targets, fdTarget{p.Name, p.Data, p.Grad})
			}
			fdCheck(t, f, targets, fdOpts{eps: 1e-2, rtol: 2e-2, atol: 1e-4, samples: 30})
		})
	}
}

// TestLinearGradients checks Linear with and without bias.
func TestLinearGradients(t *testing.T) {
	be := Reference()
	for _, bias := range []bool{true, false} {
		rng := NewRNG(5)
		l := NewLinear("lin.", 4, 3, 0, bias)
		l.Init(rng)
		x := randSlice(rng, 5*4, 1)
		r := randSlice(rng, 5*3, 1)
		f := func() float64 { return dot64(r, l.Forward(be, x, 5)) }
		f()
		dx := make([]float32, len(x))
		l.Backward(be, r, dx)
		targets := []fdTarget{{"x", x, dx}}
		for _, p := range l.Params() {
			targets = append(targets, fdTarget{p.Name, p.Data, p.Grad})
		}
		fdCheck(t, f, targets, fdOpts{eps: 1e-2, rtol: 1e-3, atol: 1e-5})
	}
}

func tinyLMConfig(v int) LMConfig {
	c, _ := Preset("tiny")
	c.VocabSize = v
	c.EmbSize, c.HiddenSize, c.Layers = 5, 6, 3
	return c
}

func randTokens(rng *RNG, n, v int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(rng.IntN(v))
	}
	return ids
}

// TestLMGradients checks the whole LM (all five dropouts active with fixed
// masks, AR and TAR on) against finite differences, tied and untied, and with
// frozen groups.
func TestLMGradients(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*LMConfig)
		freeze int // FreezeTo(n); 0 = none
	}{
		{"tied", func(*LMConfig) {}, 0},
		{"untied-nobias", func(c *LMConfig) { c.TieWeights, c.DecoderBias = false, false }, 0},
		{"no-dropout", func(c *LMConfig) { *c = c.WithoutDropout() }, 0},
		{"frozen-to-last", func(*LMConfig) {}, -1},
		{"frozen-rnn0", func(*LMConfig) {}, 1},
		{"qrnn", func(c *LMConfig) { c.Arch = ArchQRNN }, 0},
		{"qrnn-untied-nodropout", func(c *LMConfig) { *c = c.WithoutDropout(); c.Arch, c.TieWeights = ArchQRNN, false }, 0},
		{"qrnn-frozen-rnn0", func(c *LMConfig) { c.Arch = ArchQRNN }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := Reference()
			v, b, tt := 11, 2, 4
			cfg := tinyLMConfig(v)
			cfg.WeightDropout, cfg.EmbedDropout = 0.3, 0.2
			tc.mod(&cfg)
			m, err := NewLM(cfg, be)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(1)
			// Larger weights than the init make the gradients less tiny.
			for _, p := range m.Params() {
				for i := range p.Data {
					p.Data[i] *= 3
				}
			}
			if tc.freeze != 0 {
				FreezeTo(m.Params(), tc.freeze, m.NumGroups())
			}
			rng := NewRNG(2)
			x, y := randTokens(rng, b*tt, v), randTokens(rng, b*tt, v)
			x[1] = cfg.PadID // a pad token in the input
			f := func() float64 {
				m.Reset()
				l, err := m.Forward(x, y, b, tt, true, NewRNG(77))
				if err != nil {
					t.Fatal(err)
				}
				return l.Total()
			}
			m.ZeroGrad()
			loss := f()
			if math.IsNaN(loss) || loss <= 0 {
				t.Fatalf("loss %v", loss)
			}
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			var targets []fdTarget
			for _, p := range m.Params() {
				if p.Frozen {
					for _, g := range p.Grad {
						if g != 0 {
							t.Fatalf("frozen %s got a gradient", p.Name)
						}
					}
					continue
				}
				if p == m.Enc.Emb.W {
					// The pad row gets no gradient through the lookup by
					// design (padding_idx), which finite differences see;
					// TestLMPadRowGradient covers it.
					e, pad := cfg.EmbSize, int(cfg.PadID)
					targets = append(targets, fdTarget{p.Name + "[:pad]", p.Data[:pad*e], p.Grad[:pad*e]},
						fdTarget{p.Name + "[pad+1:]", p.Data[(pad+1)*e:], p.Grad[(pad+1)*e:]})
					continue
				}
				targets = append(targets, fdTarget{p.Name, p.Data, p.Grad})
			}
			// A small step: ReLU and max-pooling kinks are close by.
			fdCheck(t, f, targets, fdOpts{eps: 2e-3, rtol: 3e-2, atol: 3e-4, samples: 24})
		})
	}
}

// TestLMPadRowGradient checks that the pad row of the embedding gets no
// gradient through the lookup (only from a tied decoder).
func TestLMPadRowGradient(t *testing.T) {
	be := Reference()
	cfg := tinyLMConfig(9).WithoutDropout()
	cfg.TieWeights = false
	m, _ := NewLM(cfg, be)
	m.Init(4)
	x := []int32{1, 1, 2, 3, 1, 4}
	y := []int32{2, 3, 4, 5, 6, 7}
	m.ZeroGrad()
	if _, err := m.Forward(x, y, 2, 3, true, NewRNG(1)); err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(); err != nil {
		t.Fatal(err)
	}
	e := cfg.EmbSize
	for _, g := range m.Enc.Emb.W.Grad[e : 2*e] {
		if g != 0 {
			t.Fatalf("pad row gradient %v", m.Enc.Emb.W.Grad[e:2*e])
		}
	}
	if SumSq(m.Enc.Emb.W.Grad[2*e:3*e]) == 0 {
		t.Fatal("no gradient for a real token row")
	}
}

// SumSq is a test helper.
func SumSq(x []float32) float64 { return Reference().SumSquares(x) }

func tinyClassifier(t *testing.T, mod func(*ClassifierConfig)) *Classifier {
	t.Helper()
	enc := tinyLMConfig(13)
	enc.EmbSize, enc.HiddenSize = 4, 5
	cfg := DefaultClassifierConfig(enc, 3)
	cfg.Hidden = []int{6}
	cfg.BPTT = 3
	cfg.MaxLen = 0
	mod(&cfg)
	c, err := NewClassifier(cfg, Reference())
	if err != nil {
		t.Fatal(err)
	}
	c.Init(11)
	for _, p := range c.Enc.Params() {
		for i := range p.Data {
			p.Data[i] *= 3
		}
	}
	return c
}

// padLeft builds a [B,T] batch padded at the start.
func padLeft(docs [][]int32, pad int32) ([]int32, int) {
	t := 0
	for _, d := range docs {
		t = max(t, len(d))
	}
	out := make([]int32, 0, len(docs)*t)
	for _, d := range docs {
		for i := len(d); i < t; i++ {
			out = append(out, pad)
		}
		out = append(out, d...)
	}
	return out, t
}

var testDocs = [][]int32{
	{2, 5, 7, 3, 9, 12, 4, 4},
	{6, 2, 8},
	{3, 11, 10, 5, 2},
	{7},
}

// TestClassifierGradients checks the whole classifier (encoder dropouts and
// head dropouts active with fixed masks, BatchNorm in train mode) against
// finite differences: single-label with class weights and an ignored label,
// multi-label, and BPT3C with the gradient flowing across chunks.
func TestClassifierGradients(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*ClassifierConfig)
		multi bool
	}{
		{"single-bptt-ge-T", func(c *ClassifierConfig) { c.BPTT = 8 }, false},
		{"single-across-chunks", func(c *ClassifierConfig) { c.BackpropAcrossChunks = true }, false},
		{"multi-label-nobias", func(c *ClassifierConfig) { c.MultiLabel, c.HeadBias, c.BPTT = true, false, 10 }, true},
		{"two-hidden", func(c *ClassifierConfig) {
			c.Hidden, c.HeadDropouts, c.BackpropAcrossChunks = []int{5, 4}, []float32{0.2, 0.1, 0.1}, true
		}, false},
	}
	for _, tc := range tests {
		for _, arch := range ArchNames() {
			t.Run(arch+"/"+tc.name, func(t *testing.T) { testClassifierGradients(t, arch, tc.mod, tc.multi) })
		}
	}
}

func testClassifierGradients(t *testing.T, arch string, mod func(*ClassifierConfig), multi bool) {
	c := tinyClassifier(t, func(cc *ClassifierConfig) { cc.Encoder.Arch = arch; mod(cc) })
	tokens, tt := padLeft(testDocs, c.Cfg.Encoder.PadID)
	b := len(testDocs)
	y := &ClassTargets{Labels: []int32{0, 2, -1, 1}}
	if multi {
		y = &ClassTargets{Multi: []float32{1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0}}
	} else {
		c.ClassWeights = []float32{1, 2, 0.5}
	}
	f := func() float64 {
		l, err := c.Forward(tokens, b, tt, y, true, NewRNG(5))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	c.ZeroGrad()
	f()
	if err := c.Backward(); err != nil {
		t.Fatal(err)
	}
	var targets []fdTarget
	for _, p := range c.Params() {
		targets = append(targets, fdTarget{p.Name, p.Data, p.Grad})
	}
	// A small step: ReLU and max-pooling kinks are close by.
	fdCheck(t, f, targets, fdOpts{eps: 2e-3, rtol: 3e-2, atol: 3e-4, samples: 24})
}
