package nn_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ulmfit-go/ulmfit/nn"
)

// The PyTorch parity fixture: testdata/parity/fixture.json (configs, token ids,
// scalars, and an index of tensors) and fixture.bin (all tensors as
// little-endian float32). Regenerate with /usr/bin/python3
// nn/testdata/parity/gen.py; its doc comment states the exact semantics.

type fixtureIndex struct {
	Shape  []int `json:"shape"`
	Offset int   `json:"offset"`
}

type lmWindow struct {
	X    [][]int32 `json:"x"`
	Y    [][]int32 `json:"y"`
	Loss float64   `json:"loss"`
}

type fixture struct {
	Format  int                     `json:"format"`
	Tensors map[string]fixtureIndex `json:"tensors"`
	LM      struct {
		Vocab   int        `json:"vocab"`
		Emb     int        `json:"emb"`
		Hidden  int        `json:"hidden"`
		Layers  int        `json:"layers"`
		Pad     int32      `json:"pad"`
		Batch   int        `json:"batch"`
		BPTT    int        `json:"bptt"`
		Windows []lmWindow `json:"windows"`
		Params  []string   `json:"params"`
	} `json:"lm"`
	ARTAR struct {
		Alpha  float64 `json:"alpha"`
		Beta   float64 `json:"beta"`
		Window int     `json:"window"`
		CE     float64 `json:"ce"`
		AR     float64 `json:"ar"`
		TAR    float64 `json:"tar"`
		Loss   float64 `json:"loss"`
	} `json:"lm_artar"`
	Clf struct {
		Vocab      int       `json:"vocab"`
		Emb        int       `json:"emb"`
		Hidden     int       `json:"hidden"`
		Layers     int       `json:"layers"`
		Pad        int32     `json:"pad"`
		BPTT       int       `json:"bptt"`
		NClasses   int       `json:"n_classes"`
		HeadHidden int       `json:"head_hidden"`
		BNMomentum float64   `json:"bn_momentum"`
		BNEps      float64   `json:"bn_eps"`
		Docs       [][]int32 `json:"docs"`
		Lengths    []int     `json:"lengths"`
		Padded     [][]int32 `json:"padded_left"`
		Labels     []int32   `json:"labels"`
		Loss       float64   `json:"loss"`
		Params     []string  `json:"params"`
		Buffers    []string  `json:"buffers"`
	} `json:"clf"`
	Adam struct {
		LR     float64  `json:"lr"`
		Beta1  float64  `json:"beta1"`
		Beta2  float64  `json:"beta2"`
		Eps    float64  `json:"eps"`
		WD     float64  `json:"wd"`
		Steps  int      `json:"steps"`
		Params []string `json:"params"`
	} `json:"adam"`
	Clip struct {
		MaxNorm   float64  `json:"max_norm"`
		TotalNorm float64  `json:"total_norm"`
		Params    []string `json:"params"`
	} `json:"clip"`

	data []float32
}

func loadFixture(t *testing.T) *fixture {
	t.Helper()
	dir := filepath.Join("testdata", "parity")
	js, err := os.ReadFile(filepath.Join(dir, "fixture.json"))
	if err != nil {
		t.Fatalf("parity fixture: %v", err)
	}
	var f fixture
	if err := json.Unmarshal(js, &f); err != nil {
		t.Fatalf("parity fixture: fixture.json: %v", err)
	}
	if f.Format != 1 {
		t.Fatalf("parity fixture: format %d, want 1", f.Format)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "fixture.bin"))
	if err != nil {
		t.Fatalf("parity fixture: %v", err)
	}
	if len(raw)%4 != 0 {
		t.Fatalf("parity fixture: fixture.bin has %d bytes, not a multiple of 4", len(raw))
	}
	f.data = make([]float32, len(raw)/4)
	for i := range f.data {
		f.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	for name, ix := range f.Tensors {
		if end := ix.Offset + numel(ix.Shape); ix.Offset < 0 || end > len(f.data) {
			t.Fatalf("parity fixture: tensor %s [%d,%d) beyond fixture.bin (%d floats)", name, ix.Offset, end, len(f.data))
		}
	}
	return &f
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// tensor returns a copy of the named fixture tensor and its shape.
func (f *fixture) tensor(t *testing.T, name string) ([]float32, []int) {
	t.Helper()
	ix, ok := f.Tensors[name]
	if !ok {
		t.Fatalf("parity fixture: no tensor %q", name)
	}
	out := make([]float32, numel(ix.Shape))
	copy(out, f.data[ix.Offset:])
	return out, ix.Shape
}

// Tolerances: |got-want| <= relTol*|want| + absTol*max|want| + tiny, per
// tensor. Expected values are float64 PyTorch results; ours are float32.
const (
	relTol = 1e-4
	absTol = 1e-5
	tiny   = 1e-7
)

// closeTo compares got with want element by element and reports the worst
// element with its index; it returns false when any element is out of
// tolerance.
func closeTo(t *testing.T, what string, got, want []float32) bool {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return false
	}
	var scale float64
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	worst, worstAt, bad := 0.0, -1, 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		d := math.Abs(g - w)
		tol := relTol*math.Abs(w) + absTol*scale + tiny
		if !(d <= tol) { // NaN fails
			bad++
		}
		if r := d / tol; r > worst || math.IsNaN(d) {
			worst, worstAt = r, i
			if math.IsNaN(d) {
				worst = math.Inf(1)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values out of tolerance; worst [%d] got %.7g want %.7g (max|want| %.3g)",
			what, bad, len(want), worstAt, got[worstAt], want[worstAt], scale)
		return false
	}
	return true
}

// closeScalar compares two losses with relTol (and tiny absolute slack).
func closeScalar(t *testing.T, what string, got, want float64) {
	t.Helper()
	if d := math.Abs(got - want); !(d <= relTol*math.Abs(want)+tiny) {
		t.Errorf("%s: got %.8g want %.8g (diff %.3g)", what, got, want, d)
	}
}

type namedBackend struct {
	name string
	b    nn.Backend
}

// TestParityAdamW checks the AdamW update of every backend against
// torch.optim.AdamW (= fastai Adam with decoupled weight decay) over three
// steps with given gradients, including a large-gradient step.
func TestParityAdamW(t *testing.T) {
	f := loadFixture(t)
	a := f.Adam
	for _, bk := range parityBackends() {
		t.Run(bk.name, func(t *testing.T) {
			for _, name := range a.Params {
				p, _ := f.tensor(t, "adam/p0/"+name)
				m := make([]float32, len(p))
				v := make([]float32, len(p))
				for s := 0; s < a.Steps; s++ {
					g, _ := f.tensor(t, fmt.Sprintf("adam/g%d/%s", s, name))
					step := float64(s + 1)
					bc1 := float32(1 - math.Pow(a.Beta1, step))
					bc2 := float32(1 - math.Pow(a.Beta2, step))
					bk.b.AdamStep(p, g, m, v, float32(a.LR), float32(a.Beta1), float32(a.Beta2), float32(a.Eps), float32(a.WD), bc1, bc2)
					want, _ := f.tensor(t, fmt.Sprintf("adam/p%d/%s", s+1, name))
					closeTo(t, fmt.Sprintf("%s after step %d", name, s+1), p, want)
				}
			}
		})
	}
}

// parityBackends lists the backends the parity tests run on.
func parityBackends() []namedBackend {
	return []namedBackend{{"reference", nn.Reference()}}
}
