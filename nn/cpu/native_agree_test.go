package cpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/ulmfit-go/ulmfit/nn"
)

// TestNativeBackendsAgree trains a small LSTM and a small QRNN LM for a few
// steps (every dropout, AR/TAR, the fused decoder and softmax, clipping,
// AdamW) on each native-GEMM backend this CPU has, AVX2 and AVX-512 kernels
// at 1 and 2 threads, and requires the same bits from all: losses, gradient
// norms and every weight. The native GEMM sums each element over k in an
// order that depends on k alone, the element-wise kernels are one source per
// ISA, and the row reductions follow one lane order (TestRowReductionOrder),
// so neither the thread count nor the vector width may change a result. On
// an AVX2-only CPU this checks the thread count; with AVX-512, the width too.
func TestNativeBackendsAgree(t *testing.T) {
	if !kernelsCompiled || bestISA() < isaAVX2 {
		t.Skip("no AVX2 here: the native GEMM is not used")
	}
	var names []string
	var bes []*Backend
	for isa := isaAVX2; isa <= bestISA(); isa++ {
		for _, th := range []int{1, 2} {
			b, err := NewWithOptions(Options{Threads: th, BLAS: "native", ISA: isaName(isa)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			names = append(names, b.Name())
			bes = append(bes, b)
		}
	}
	if bestISA() < isaAVX512 {
		t.Logf("no AVX-512 here: only the thread count is checked")
	}
	for _, arch := range []string{nn.ArchLSTM, nn.ArchQRNN} {
		t.Run(arch, func(t *testing.T) {
			var want []string
			for i, be := range bes {
				got := trainTrace(t, arch, be)
				if i == 0 {
					want = got
					continue
				}
				for j := range want {
					if got[j] != want[j] {
						t.Fatalf("%s differs from %s at %s", names[i], names[0], diffAt(want[j], got[j]))
					}
				}
			}
		})
	}
}

func diffAt(a, b string) string {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	lo := max(0, i-40)
	return fmt.Sprintf("%q: %q vs %q", a[:min(len(a), 30)], a[lo:min(len(a), i+40)], b[lo:min(len(b), i+40)])
}

// trainTrace runs 3 training steps and returns one line per observed value:
// the loss terms and gradient norm of each step, then a hash of every param.
func trainTrace(t *testing.T, arch string, be *Backend) []string {
	t.Helper()
	// Sizes that cross the GEMM's tiles on both ISAs (rows of 6 and 12,
	// panels of 16 and 32) and its whole-k limit (the decoder's dW: k = b*t).
	cfg := nn.DefaultLMConfig()
	cfg.Arch, cfg.VocabSize, cfg.EmbSize, cfg.HiddenSize, cfg.Layers = arch, 523, 37, 75, 3
	m, err := nn.NewLM(cfg, be)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(7)
	opt := nn.NewAdam(be, m.Params(), 0.7, 0.99, 1e-5, 0.01)
	rng := nn.NewRNG(11)
	data := nn.NewRNG(13)
	const b, bptt = 13, 29
	lrs := make([]float64, m.NumGroups())
	for i := range lrs {
		lrs[i] = 3e-3
	}
	var out []string
	m.Reset()
	for step := 0; step < 3; step++ {
		tok, tg := make([]int32, b*bptt), make([]int32, b*bptt)
		for i := range tok {
			tok[i], tg[i] = int32(data.IntN(cfg.VocabSize)), int32(data.IntN(cfg.VocabSize))
		}
		m.ZeroGrad()
		loss, err := m.Forward(tok, tg, b, bptt, true, rng)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
		norm := nn.ClipGradNorm(be, m.Params(), 0.1)
		if err := opt.Step(lrs); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("step %d: ce %x ar %x tar %x norm %x", step,
			math.Float64bits(loss.CE), math.Float64bits(loss.AR), math.Float64bits(loss.TAR), math.Float64bits(norm)))
	}
	for _, p := range m.Params() {
		var h uint64 = 14695981039346656037
		for _, v := range p.Data {
			h = (h ^ uint64(math.Float32bits(v))) * 1099511628211
		}
		out = append(out, fmt.Sprintf("param %s: %016x", p.Name, h))
	}
	return out
}
