package nn

import (
	"runtime"
	"strings"
	"testing"
)

// liveHeap returns the live Go heap after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// memTolerance is how far the estimate may be from the measured live heap
// growth of a model after one training step.
const memTolerance = 0.10

func checkEstimate(t *testing.T, name string, est MemoryEstimate, measured int64) {
	t.Helper()
	r := float64(est.Total()) / float64(measured)
	t.Logf("%s: estimate %d B (%s), measured %d B, ratio %.3f", name, est.Total(), est.Breakdown(), measured, r)
	if r < 1-memTolerance || r > 1+memTolerance {
		t.Errorf("%s: estimate %d B is %.1f%% of the measured %d B (tolerance ±%.0f%%)", name, est.Total(), 100*r, measured, 100*memTolerance)
	}
}

// TestLMMemoryEstimate builds LMs at two sizes, runs one training step
// (forward, backward, Adam) and compares the estimate with the growth of the
// live Go heap.
func TestLMMemoryEstimate(t *testing.T) {
	tests := []struct {
		name            string
		v, e, h, layers int
		bs, bptt        int
		tied            bool
		arch            string
	}{
		{"v2000 e32 h64 x3 bs8 bptt20", 2000, 32, 64, 3, 8, 20, true, ""},
		{"v1000 e24 h80 x2 bs12 bptt15 untied", 1000, 24, 80, 2, 12, 15, false, ""},
		{"v40000 e16 h24 x2 bs8 bptt10 (chunked decoder)", 40000, 16, 24, 2, 8, 10, true, ""},
		{"qrnn v2000 e32 h64 x3 bs8 bptt20", 2000, 32, 64, 3, 8, 20, true, ArchQRNN},
		{"qrnn v1000 e24 h160 x4 bs12 bptt30 untied", 1000, 24, 160, 4, 12, 30, false, ArchQRNN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := Preset("paper")
			cfg.VocabSize, cfg.EmbSize, cfg.HiddenSize, cfg.Layers, cfg.TieWeights = tc.v, tc.e, tc.h, tc.layers, tc.tied
			cfg.Arch = tc.arch
			be := Reference()
			rng := NewRNG(1)
			x := randTokens(rng, tc.bs*tc.bptt, tc.v)
			y := randTokens(rng, tc.bs*tc.bptt, tc.v)
			before := liveHeap()
			m, err := NewLM(cfg, be)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(1)
			opt := NewAdam(be, m.Params(), 0.7, 0.99, 1e-5, 0.01)
			m.ZeroGrad()
			if _, err := m.Forward(x, y, tc.bs, tc.bptt, true, rng); err != nil {
				t.Fatal(err)
			}
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			if err := opt.Step(GroupLRs(1e-3, 1, m.NumGroups())); err != nil {
				t.Fatal(err)
			}
			measured := liveHeap() - before
			runtime.KeepAlive(m)
			runtime.KeepAlive(opt)
			checkEstimate(t, tc.name, EstimateLMMemory(cfg, tc.bs, tc.bptt), measured)
		})
	}
}

// TestClassifierMemoryEstimate does the same for the classifier, with
// documents longer than MaxLen (BPT3C keeps only the last chunks).
func TestClassifierMemoryEstimate(t *testing.T) {
	tests := []struct {
		name         string
		maxLen, bptt int
		docLen, bs   int
		arch         string
	}{
		{"docs 175, max-len 70, bptt 35", 70, 35, 175, 8, ""},
		{"docs 60, no max-len, bptt 20", 0, 20, 60, 6, ""},
		{"qrnn docs 175, max-len 70, bptt 35", 70, 35, 175, 8, ArchQRNN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, _ := Preset("paper")
			enc.VocabSize, enc.EmbSize, enc.HiddenSize, enc.Arch = 1000, 24, 48, tc.arch
			cfg := DefaultClassifierConfig(enc, 5)
			cfg.MaxLen, cfg.BPTT = tc.maxLen, tc.bptt
			be := Reference()
			rng := NewRNG(2)
			docs := make([][]int32, tc.bs)
			labels := make([]int32, tc.bs)
			for j := range docs {
				n := tc.docLen
				if j%2 == 1 {
					n = tc.docLen / 3
				}
				docs[j] = randTokens(rng, n, enc.VocabSize)
				for i, id := range docs[j] {
					if id == enc.PadID {
						docs[j][i] = 0
					}
				}
				labels[j] = int32(j % cfg.NClasses)
			}
			tokens, tt := padLeft(docs, enc.PadID)
			before := liveHeap()
			c, err := NewClassifier(cfg, be)
			if err != nil {
				t.Fatal(err)
			}
			c.Init(1)
			opt := NewAdam(be, c.Params(), 0.7, 0.99, 1e-5, 0.01)
			c.ZeroGrad()
			if _, err := c.Forward(tokens, tc.bs, tt, &ClassTargets{Labels: labels}, true, rng); err != nil {
				t.Fatal(err)
			}
			if err := c.Backward(); err != nil {
				t.Fatal(err)
			}
			if err := opt.Step(GroupLRs(1e-3, 2.6, c.NumGroups())); err != nil {
				t.Fatal(err)
			}
			measured := liveHeap() - before
			est := EstimateClassifierMemory(cfg, tc.bs, tt)
			checkEstimate(t, tc.name, est, measured)

			// Then evaluate twice the batch (as clftrain validates).
			etok := append(append([]int32(nil), tokens...), tokens...)
			if _, err := c.Forward(etok, 2*tc.bs, tt, nil, false, nil); err != nil {
				t.Fatal(err)
			}
			measured = liveHeap() - before
			runtime.KeepAlive(c)
			runtime.KeepAlive(opt)
			checkEstimate(t, tc.name+", then eval at 2*bs", est.WithEval(2*tc.bs), measured)
			if r := est.WithEval(2*tc.bs).Reestimate(cfg.Encoder, 2*tc.bs); r.EvalBS != 4*tc.bs {
				t.Errorf("Reestimate keeps the eval/train ratio: EvalBS %d, want %d", r.EvalBS, 4*tc.bs)
			}
		})
	}
}

// TestPresetEstimates logs the estimates of the presets at their default
// batch sizes (60k vocabulary as the paper's WikiText-103 LM) and checks
// their order of magnitude and the summary line.
func TestPresetEstimates(t *testing.T) {
	for _, tc := range []struct {
		preset   string
		bs, bptt int
		lo, hi   float64 // GiB
	}{
		{"paper", 64, 70 + 25, 1, 8},
		{"small", 32, 70 + 25, 0.1, 2},
	} {
		cfg, _ := Preset(tc.preset)
		cfg.VocabSize = 60000
		est := EstimateLMMemory(cfg, tc.bs, tc.bptt)
		g := float64(est.Total()) / (1 << 30)
		t.Logf("LM %s bs %d bptt %d V 60000: %s", tc.preset, tc.bs, tc.bptt, est)
		if g < tc.lo || g > tc.hi {
			t.Errorf("%s: %.2f GiB outside [%g, %g]", tc.preset, g, tc.lo, tc.hi)
		}
		cc := DefaultClassifierConfig(cfg, 6)
		ce := EstimateClassifierMemory(cc, tc.bs, 3000)
		t.Logf("classifier %s bs %d docs 3000 max-len %d: %s", tc.preset, tc.bs, cc.MaxLen, ce)
		if ce.Total() <= est.Params+est.Grads+est.Adam-4*int64(cfg.VocabSize)*4 {
			t.Errorf("%s classifier estimate %d below its parameter state", tc.preset, ce.Total())
		}
		if s := est.String(); !strings.HasPrefix(s, "about ") || !strings.Contains(s, "activations") {
			t.Errorf("String() = %q", s)
		}
	}
	// Twice the batch: activations double, parameters stay.
	cfg, _ := Preset("small")
	cfg.VocabSize = 1000
	a, b := EstimateLMMemory(cfg, 16, 70), EstimateLMMemory(cfg, 32, 70)
	if b.Params != a.Params || b.Activations < 2*a.Activations-int64(cfg.VocabSize)*8 || b.Activations > 2*a.Activations {
		t.Errorf("bs 16 -> 32: params %d -> %d, activations %d -> %d", a.Params, b.Params, a.Activations, b.Activations)
	}
	if r := a.Reestimate(cfg, 32); r.Total() != b.Total() || r.BatchSize != 32 {
		t.Errorf("Reestimate(bs 32) = %+v, want %+v", r, b)
	}
}

func TestFormatBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {100, "100 B"}, {1536, "1.5 KiB"}, {64 << 10, "64 KiB"}, {350 << 20, "350 MiB"}, {91 << 30 / 10, "9.1 GiB"}, {3 << 40, "3.0 TiB"}} {
		if got := FormatBytes(tc.n); got != tc.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
