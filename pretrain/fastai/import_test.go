package fastai

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// ref is one fixture's reference from testdata/gen.py.
type ref struct {
	Itos   []string  `json:"itos"`
	IDs    [][]int   `json:"ids"`
	Logits []float32 `json:"logits"`
	Shape  []int     `json:"shape"`
}

func loadRefs(t *testing.T) map[string]ref {
	t.Helper()
	return loadRefsFile(t, "refs.json")
}

// loadRefsFile reads a testdata file of named refs (refs.json, refs_qrnn.json).
func loadRefsFile(t *testing.T, name string) map[string]ref {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]ref
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var fixtures = []struct {
	name, weights, itos, ref string
	layout                   Layout
	hidden                   int
	bias                     bool
}{
	{"v2 zip", "v2.pth", "itos_v2.pkl", "v2", LayoutV2, 12, true},
	{"v1 legacy", "v1_legacy.pth", "itos_v1.pkl", "v1_legacy", LayoutV1, 12, true},
	{"model/opt wrapper", "wrapped.pth", "itos_v1.pkl", "wrapped", LayoutV2, 12, true},
	{"fastai 0.7", "v07_fwd.h5", "itos_v07.pkl", "v07", LayoutV07, 10, false},
}

// canonical maps a fastai token to ours (the fixtures' 0.7 specials).
func canonical(tok string) string {
	if t, ok := v07Specials[tok]; ok {
		return t
	}
	return tok
}

func TestImportLayouts(t *testing.T) {
	refs := loadRefs(t)
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			r := refs[f.ref]
			imp, err := Import(readTestdata(t, f.weights), readTestdata(t, f.itos), ImportOptions{WeightsName: f.weights, ItosName: f.itos})
			if err != nil {
				t.Fatal(err)
			}
			if imp.Layout != f.layout {
				t.Errorf("layout %s, want %s", imp.Layout, f.layout)
			}
			c := imp.Config
			if c.EmbSize != 8 || c.HiddenSize != f.hidden || c.Layers != 3 || !c.TieWeights || c.DecoderBias != f.bias {
				t.Errorf("config %+v", c)
			}
			toks := imp.Model.Vocab.Tokens
			// Specials first, in canonical order (0.7 has no xxeos/xxmaj); xxfake dropped.
			want := Specials
			if f.layout == LayoutV07 {
				want = []string{"xxunk", "xxpad", "xxbos", "xxfld", "xxup", "xxrep", "xxwrep"}
			}
			if got := strings.Join(toks[:len(want)+1], " "); got != strings.Join(want, " ")+" the" {
				t.Errorf("vocab starts %q, want %q then \"the\"", got, want)
			}
			for _, tk := range toks {
				if tk == fakeToken {
					t.Errorf("xxfake kept")
				}
			}
			if int(c.PadID) >= len(toks) || toks[c.PadID] != "xxpad" {
				t.Errorf("pad id %d", c.PadID)
			}
			// Every weight row sits under its token: compare the decoder
			// bias (or the logits below) by token string.
			m := imp.Model
			enc, _ := m.Tensor("encoder.weight")
			if enc.Shape[0] != len(toks) || enc.Shape[1] != 8 {
				t.Fatalf("encoder shape %v", enc.Shape)
			}
			if _, ok := m.Tensor("decoder.bias"); !ok {
				t.Errorf("no decoder.bias")
			}
			if !f.bias {
				b, _ := m.Tensor("decoder.bias")
				for _, x := range b.Data {
					if x != 0 {
						t.Fatalf("decoder.bias not zero for a bias-free checkpoint")
					}
				}
			}
			checkLogits(t, imp, r)
		})
	}
}

// checkLogits runs nn's LM (reference backend, eval mode) on the fixture's
// token sequence and compares the logits, token by token string, with
// PyTorch's.
func checkLogits(t *testing.T, imp *Imported, r ref) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "lm.arrow")
	imp.Model.Producer = "test"
	if err := writeModel(path, imp.Model); err != nil {
		t.Fatal(err)
	}
	be := nn.Reference()
	lm, am, err := train.LoadLM(path, be)
	if err != nil {
		t.Fatal(err)
	}
	b, tt, v := r.Shape[0], r.Shape[1], r.Shape[2]
	ours := make([]int32, 0, b*tt)
	for _, row := range r.IDs {
		for _, id := range row {
			nid, ok := am.Vocab.ID(canonical(r.Itos[id]))
			if !ok {
				t.Fatalf("token %q missing from the imported vocab", r.Itos[id])
			}
			ours = append(ours, nid)
		}
	}
	// time-major ids for the encoder
	tm := make([]int32, b*tt)
	for j := 0; j < b; j++ {
		for s := 0; s < tt; s++ {
			tm[s*b+j] = ours[j*tt+s]
		}
	}
	lm.Reset()
	lm.Enc.DrawMasks(be, nil, b, false)
	raw := lm.Enc.Forward(be, tm, tt, b)
	e := lm.Cfg.EmbSize
	maxDiff := 0.0
	for j := 0; j < b; j++ {
		for s := 0; s < tt; s++ {
			h := raw[(s*b+j)*e : (s*b+j+1)*e]
			for k := 0; k < v; k++ {
				tok := canonical(r.Itos[k])
				nid, ok := am.Vocab.ID(tok)
				if !ok {
					continue // xxfake
				}
				var lg float64
				for q := 0; q < e; q++ {
					lg += float64(h[q]) * float64(lm.DecW.Data[int(nid)*e+q])
				}
				if lm.DecB != nil {
					lg += float64(lm.DecB.Data[nid])
				}
				want := float64(r.Logits[(j*tt+s)*v+k])
				maxDiff = math.Max(maxDiff, math.Abs(lg-want))
			}
		}
	}
	t.Logf("max |logit - torch| = %.3g", maxDiff)
	if maxDiff > 1e-5 {
		t.Errorf("logits differ from PyTorch by up to %g", maxDiff)
	}
}
