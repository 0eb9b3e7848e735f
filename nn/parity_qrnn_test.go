package nn_test

import (
	"fmt"
	"testing"

	"github.com/ulmfit-go/ulmfit/nn"
)

// TestParityQRNN runs two consecutive training windows of the QRNN LM
// (fastai's AWD_QRNN: window 2 in the first layer, output gate, the last
// input and cell state carried and detached; dropouts off, no AR/TAR) and
// compares the mean cross-entropy, the logits, every parameter gradient and
// the carried state after each window with PyTorch (testdata/parity/
// gen_qrnn.py, which writes fastai's QRNN semantics out in plain PyTorch).
func TestParityQRNN(t *testing.T) {
	f := loadFixtureNamed(t, "qrnn")
	c := f.QRNN
	cfg := nn.LMConfig{Arch: nn.ArchQRNN, VocabSize: c.Vocab, EmbSize: c.Emb, HiddenSize: c.Hidden, Layers: c.Layers,
		PadID: c.Pad, TieWeights: true, DecoderBias: true}
	for _, bk := range parityBackends() {
		t.Run(bk.name, func(t *testing.T) {
			m, err := nn.NewLM(cfg, bk.b)
			if err != nil {
				t.Fatal(err)
			}
			setParams(t, f, "qrnn/params/", m.Params())
			m.Reset()
			rng := nn.NewRNG(1)
			for i, w := range c.Windows {
				m.ZeroGrad()
				loss, err := m.Forward(flatten(w.X), flatten(w.Y), c.Batch, c.BPTT, true, rng)
				if err != nil {
					t.Fatal(err)
				}
				closeScalar(t, fmt.Sprintf("window %d CE", i), loss.CE, w.Loss)
				if err := m.Backward(); err != nil {
					t.Fatal(err)
				}
				checkGrads(t, f, fmt.Sprintf("qrnn/w%d/grad/", i), m.Params(), c.Params)
				for l, r := range m.Enc.RNNs {
					for _, st := range r.State() {
						want, _ := f.tensor(t, fmt.Sprintf("qrnn/w%d/%s.%d", i, st.Name, l))
						closeTo(t, fmt.Sprintf("window %d %s.%d", i, st.Name, l), st.Data, want)
					}
				}
			}
			// The logits of both windows again, in eval mode from a reset,
			// through the public encoder and the tied decoder.
			m.Reset()
			for i, w := range c.Windows {
				ids := make([]int32, c.Batch*c.BPTT) // time-major
				for j, row := range w.X {
					for s, id := range row {
						ids[s*c.Batch+j] = id
					}
				}
				m.Enc.DrawMasks(bk.b, nil, c.Batch, false)
				raw := m.Enc.Forward(bk.b, ids, c.BPTT, c.Batch)
				logits := make([]float32, c.Batch*c.BPTT*c.Vocab) // batch-major, as the fixture
				for j := 0; j < c.Batch; j++ {
					for s := 0; s < c.BPTT; s++ {
						x := raw[(s*c.Batch+j)*c.Emb:][:c.Emb]
						out := logits[(j*c.BPTT+s)*c.Vocab:][:c.Vocab]
						for v := range out {
							acc := m.DecB.Data[v]
							for e, xe := range x {
								acc += xe * m.DecW.Data[v*c.Emb+e]
							}
							out[v] = acc
						}
					}
				}
				want, _ := f.tensor(t, fmt.Sprintf("qrnn/w%d/logits", i))
				closeTo(t, fmt.Sprintf("window %d logits", i), logits, want)
			}
		})
	}
}
