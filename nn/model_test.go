package nn

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
)

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestDropoutMasksDeterministic checks that masks depend only on the seed,
// have the right values and roughly the right drop rate.
func TestDropoutMasksDeterministic(t *testing.T) {
	be := Reference()
	for _, p := range []float32{0, 0.1, 0.5} {
		a, b, c := make([]float32, 4000), make([]float32, 4000), make([]float32, 4000)
		be.DropoutMask(NewRNG(42), p, a)
		be.DropoutMask(NewRNG(42), p, b)
		be.DropoutMask(NewRNG(43), p, c)
		if !slices.Equal(a, b) {
			t.Fatalf("p=%g: same seed, different masks", p)
		}
		if p > 0 && slices.Equal(a, c) {
			t.Fatalf("p=%g: different seeds, same masks", p)
		}
		zeros := 0
		for _, v := range a {
			switch v {
			case 0:
				zeros++
			case 1 / (1 - p):
			default:
				t.Fatalf("p=%g: mask value %g", p, v)
			}
		}
		if rate := float64(zeros) / float64(len(a)); math.Abs(rate-float64(p)) > 0.03 {
			t.Errorf("p=%g: drop rate %.3f", p, rate)
		}
	}
	// The whole LM: same seed -> same loss, other seed -> other loss.
	cfg := tinyLMConfig(17)
	m, _ := NewLM(cfg, be)
	m.Init(3)
	rng := NewRNG(1)
	x, y := randTokens(rng, 12, 17), randTokens(rng, 12, 17)
	run := func(seed uint64) float64 {
		m.Reset()
		l, err := m.Forward(x, y, 3, 4, true, NewRNG(seed))
		if err != nil {
			t.Fatal(err)
		}
		return l.Total()
	}
	if a, b, c := run(5), run(5), run(6); a != b || a == c {
		t.Errorf("LM losses with seeds 5,5,6: %v %v %v", a, b, c)
	}
}

// TestLMStateCarry checks that two consecutive windows with the state
// carried equal one window over their concatenation (dropout off).
func TestLMStateCarry(t *testing.T) {
	for _, arch := range ArchNames() {
		t.Run(arch, func(t *testing.T) { testLMStateCarry(t, arch) })
	}
}

func testLMStateCarry(t *testing.T, arch string) {
	be := Reference()
	cfg := tinyLMConfig(15).WithoutDropout()
	cfg.Arch = arch
	b, t1, t2 := 2, 3, 4
	rng := NewRNG(9)
	x, y := randTokens(rng, b*(t1+t2), 15), randTokens(rng, b*(t1+t2), 15)
	split := func(s []int32, lo, hi int) []int32 {
		var out []int32
		for j := 0; j < b; j++ {
			out = append(out, s[j*(t1+t2)+lo:j*(t1+t2)+hi]...)
		}
		return out
	}
	whole, _ := NewLM(cfg, be)
	whole.Init(2)
	parts, _ := NewLM(cfg, be)
	parts.Init(2)
	lw, err := whole.Forward(x, y, b, t1+t2, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	l1, _ := parts.Forward(split(x, 0, t1), split(y, 0, t1), b, t1, false, nil)
	l2, _ := parts.Forward(split(x, t1, t1+t2), split(y, t1, t1+t2), b, t2, false, nil)
	if got := (l1.CE*float64(t1) + l2.CE*float64(t2)) / float64(t1+t2); math.Abs(got-lw.CE) > 1e-6 {
		t.Errorf("CE over two windows %v, over the concatenation %v", got, lw.CE)
	}
	for l := range whole.Enc.RNNs {
		sw, sp := whole.Enc.RNNs[l].State(), parts.Enc.RNNs[l].State()
		for i := range sw {
			if d := maxAbsDiff(sw[i].Data, sp[i].Data); d > 1e-6 {
				t.Errorf("layer %d: final state %s differs by %g", l, sw[i].Name, d)
			}
		}
	}
	// Reset really resets: the first window again gives the same loss.
	parts.Reset()
	l1b, _ := parts.Forward(split(x, 0, t1), split(y, 0, t1), b, t1, false, nil)
	if l1b.CE != l1.CE {
		t.Errorf("after Reset: %v, first time %v", l1b.CE, l1.CE)
	}
}

// TestClassifierBatchIndependence checks that a document's eval logits do
// not depend on the padding its batch-mates impose, with BPT3C chunks and a
// MaxLen shorter than the longest document.
func TestClassifierBatchIndependence(t *testing.T) {
	for _, arch := range ArchNames() {
		t.Run(arch, func(t *testing.T) { testClassifierBatchIndependence(t, arch) })
	}
}

func testClassifierBatchIndependence(t *testing.T, arch string) {
	c := tinyClassifier(t, func(cc *ClassifierConfig) { cc.MaxLen, cc.Encoder.Arch = 4, arch })
	nc := c.Cfg.NClasses
	tokens, tt := padLeft(testDocs, c.Cfg.Encoder.PadID)
	if _, err := c.Forward(tokens, len(testDocs), tt, nil, false, nil); err != nil {
		t.Fatal(err)
	}
	batch := slices.Clone(c.Logits())
	for j, d := range testDocs {
		if _, err := c.Forward(d, 1, len(d), nil, false, nil); err != nil {
			t.Fatal(err)
		}
		if diff := maxAbsDiff(c.Logits(), batch[j*nc:(j+1)*nc]); diff > 1e-5 {
			t.Errorf("doc %d: logits alone %v, in the batch %v", j, c.Logits(), batch[j*nc:(j+1)*nc])
		}
	}
}

// TestBPT3C checks the kept region: with MaxLen >= every document, chunked
// processing (gradient across chunks) equals one chunk over the whole
// document; with a short MaxLen, tokens before the kept region still change
// the prediction (state carried) but get no gradient.
func TestBPT3C(t *testing.T) {
	for _, arch := range ArchNames() {
		t.Run(arch, func(t *testing.T) { testBPT3C(t, arch) })
	}
}

func testBPT3C(t *testing.T, arch string) {
	tokens, tt := padLeft(testDocs, 1)
	b := len(testDocs)
	y := &ClassTargets{Labels: []int32{0, 2, 1, 1}}
	grads := func(c *Classifier) (float64, [][]float32) {
		c.ZeroGrad()
		l, err := c.Forward(tokens, b, tt, y, true, NewRNG(3))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Backward(); err != nil {
			t.Fatal(err)
		}
		var gs [][]float32
		for _, p := range c.Params() {
			gs = append(gs, slices.Clone(p.Grad))
		}
		return l, gs
	}
	tiny := func(mod func(*ClassifierConfig)) *Classifier {
		return tinyClassifier(t, func(cc *ClassifierConfig) { cc.Encoder.Arch = arch; mod(cc) })
	}
	full := tiny(func(cc *ClassifierConfig) { cc.BPTT, cc.MaxLen = 100, 100 })
	chunked := tiny(func(cc *ClassifierConfig) { cc.BPTT, cc.MaxLen, cc.BackpropAcrossChunks = 3, 8, true })
	lf, gf := grads(full)
	lc, gc := grads(chunked)
	if math.Abs(lf-lc) > 1e-6 {
		t.Errorf("loss full %v chunked %v", lf, lc)
	}
	for i, p := range full.Params() {
		if d := maxAbsDiff(gf[i], gc[i]); d > 1e-5 {
			t.Errorf("%s: chunked gradient differs by %g", p.Name, d)
		}
	}
	// Truncated chunks (fastai) change the encoder gradients but not the loss.
	trunc := tiny(func(cc *ClassifierConfig) { cc.BPTT, cc.MaxLen = 3, 8 })
	lt, gt := grads(trunc)
	if math.Abs(lf-lt) > 1e-6 {
		t.Errorf("loss full %v truncated %v", lf, lt)
	}
	if maxAbsDiff(gf[1], gt[1]) < 1e-6 { // rnns.0.weight_ih or the QRNN's weight
		t.Errorf("truncating chunks did not change the gradient")
	}

	// MaxLen 3 with BPTT 3: doc 0 (8 tokens, chunks at 0,3,6) keeps only
	// its last chunk [6,8); its first token (id 2 at position 0) gets no
	// gradient, and a token only it has (12, at its position 5) neither.
	short := tiny(func(cc *ClassifierConfig) { cc.BPTT, cc.MaxLen = 3, 3 })
	ls, _ := grads(short)
	e := short.Cfg.Encoder.EmbSize
	if g := short.Enc.Emb.W.Grad[12*e : 13*e]; SumSq(g) != 0 {
		t.Errorf("token 12 outside the kept region got gradient %v", g)
	}
	if g := short.Enc.Emb.W.Grad[4*e : 5*e]; SumSq(g) == 0 {
		t.Errorf("token 4 inside the kept region got no gradient")
	}
	tok2 := slices.Clone(tokens)
	tok2[5] = 3 // doc 0, position 5: outside its kept region
	l2, err := short.Forward(tok2, b, tt, y, true, NewRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	if l2 == ls {
		t.Errorf("a token before the kept region does not affect the loss")
	}
}

// TestClassifierFrozenEncoder checks gradual unfreezing: with only the head
// trainable the encoder gets no gradient and the head gradient is unchanged.
func TestClassifierFrozenEncoder(t *testing.T) {
	tokens, tt := padLeft(testDocs, 1)
	b := len(testDocs)
	y := &ClassTargets{Labels: []int32{0, 2, 1, 1}}
	c := tinyClassifier(t, func(*ClassifierConfig) {})
	run := func() {
		c.ZeroGrad()
		if _, err := c.Forward(tokens, b, tt, y, true, NewRNG(3)); err != nil {
			t.Fatal(err)
		}
		if err := c.Backward(); err != nil {
			t.Fatal(err)
		}
	}
	run()
	head := slices.Clone(c.Lins[0].W.Grad)
	FreezeTo(c.Params(), -1, c.NumGroups())
	run()
	for _, p := range c.Params() {
		if p.Group < c.NumGroups()-1 && SumSq(p.Grad) != 0 {
			t.Errorf("frozen %s got a gradient", p.Name)
		}
	}
	if d := maxAbsDiff(head, c.Lins[0].W.Grad); d != 0 {
		t.Errorf("head gradient changed by %g when freezing the encoder", d)
	}
}

// TestParamNamesAndGroups checks the contract's names, shapes and groups.
func TestParamNamesAndGroups(t *testing.T) {
	cfg, _ := Preset("tiny")
	cfg.VocabSize = 10
	m, err := NewLM(cfg, Reference())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"encoder.weight",
		"rnns.0.weight_ih", "rnns.0.weight_hh", "rnns.0.bias_ih", "rnns.0.bias_hh",
		"rnns.1.weight_ih", "rnns.1.weight_hh", "rnns.1.bias_ih", "rnns.1.bias_hh", "decoder.bias"}
	var got []string
	for _, p := range m.Params() {
		got = append(got, p.Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("LM params %v", got)
	}
	if s := m.Params()[5].Shape; !slices.Equal(s, []int{4 * cfg.EmbSize, cfg.HiddenSize}) {
		t.Errorf("rnns.1.weight_ih shape %v", s)
	}
	if m.Params()[0].Group != 2 || m.Params()[1].Group != 0 || m.Params()[5].Group != 1 || m.NumGroups() != 3 {
		t.Errorf("LM groups wrong")
	}
	c, err := NewClassifier(DefaultClassifierConfig(cfg, 4), Reference())
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, p := range c.Params()[9:] {
		got = append(got, p.Name)
	}
	want = []string{"head.0.bn.weight", "head.0.bn.bias", "head.0.linear.weight", "head.0.linear.bias",
		"head.1.bn.weight", "head.1.bn.bias", "head.1.linear.weight", "head.1.linear.bias"}
	if !slices.Equal(got, want) {
		t.Fatalf("head params %v", got)
	}
	if c.Params()[0].Group != 0 || c.Params()[1].Group != 1 || c.Params()[9].Group != 3 || c.NumGroups() != 4 {
		t.Errorf("classifier groups wrong")
	}
	if s := c.Lins[0].W.Shape; !slices.Equal(s, []int{50, 3 * cfg.EmbSize}) {
		t.Errorf("head.0.linear.weight shape %v", s)
	}
}

// TestConfigJSONAndValidation checks the JSON round trip and that bad
// configs and inputs give errors rather than panics.
func TestConfigJSONAndValidation(t *testing.T) {
	cfg, _ := Preset("small")
	cfg.VocabSize = 100
	cc := DefaultClassifierConfig(cfg, 2)
	js, err := json.Marshal(cc)
	if err != nil {
		t.Fatal(err)
	}
	var back ClassifierConfig
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Encoder != cfg || back.MaxLen != cc.MaxLen || !slices.Equal(back.HeadDropouts, cc.HeadDropouts) {
		t.Errorf("round trip: %+v", back)
	}
	if _, err := Preset("huge"); err == nil {
		t.Error("unknown preset accepted")
	}
	bad := cfg
	bad.WeightDropout = 1
	if _, err := NewLM(bad, Reference()); err == nil {
		t.Error("weight dropout 1 accepted")
	}
	m, _ := NewLM(tinyLMConfig(5), Reference())
	if _, err := m.Forward([]int32{0, 5}, []int32{1, 2}, 1, 2, false, nil); err == nil {
		t.Error("token id 5 accepted with vocab 5")
	}
	if _, err := m.Forward([]int32{0, 1}, []int32{1, 2}, 1, 2, true, nil); err == nil {
		t.Error("training without an RNG accepted")
	}
	c := tinyClassifier(t, func(*ClassifierConfig) {})
	if _, err := c.Forward([]int32{2, 3}, 1, 2, &ClassTargets{Labels: []int32{0}}, true, NewRNG(1)); err == nil {
		t.Error("BatchNorm training on one document accepted")
	}
	if _, err := c.Forward([]int32{2, 3}, 2, 1, &ClassTargets{Labels: []int32{0, 3}}, false, nil); err == nil {
		t.Error("label 3 accepted with 3 classes")
	}
}

func TestPresetOf(t *testing.T) {
	for _, name := range PresetNames() {
		c, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		c.VocabSize = 123
		if got := PresetOf(c.WithDropoutMult(0.3)); got != name {
			t.Errorf("PresetOf(%s sizes) = %q, want %q", name, got, name)
		}
	}
	odd, _ := Preset("small")
	odd.HiddenSize = 700
	if got := PresetOf(odd); got != "paper" {
		t.Errorf("PresetOf(200/700/3) = %q, want paper (no preset has these sizes)", got)
	}
}
