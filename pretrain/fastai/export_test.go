package fastai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// importFixture imports a testdata fixture as an artifact model.
func importFixture(t *testing.T, weights, itos string) *Imported {
	t.Helper()
	imp, err := Import(readTestdata(t, weights), readTestdata(t, itos), ImportOptions{WeightsName: weights, ItosName: itos})
	if err != nil {
		t.Fatal(err)
	}
	imp.Model.Producer = "test"
	return imp
}

func sameTensors(t *testing.T, a, b []artifacts.Tensor) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d tensors vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || !slices.Equal(a[i].Shape, b[i].Shape) {
			t.Fatalf("tensor %d: %s %v vs %s %v", i, a[i].Name, a[i].Shape, b[i].Name, b[i].Shape)
		}
		for j := range a[i].Data {
			if math.Float32bits(a[i].Data[j]) != math.Float32bits(b[i].Data[j]) {
				t.Fatalf("%s[%d]: %v vs %v", a[i].Name, j, a[i].Data[j], b[i].Data[j])
			}
		}
	}
}

// TestExportImportRoundTrip: export then import gives back the same
// tensors, vocab and config, bit for bit, for both layouts.
func TestExportImportRoundTrip(t *testing.T) {
	for _, f := range fixtures {
		for _, layout := range []ExportLayout{ExportV2, ExportV1} {
			t.Run(f.name+"/"+string(layout), func(t *testing.T) {
				imp := importFixture(t, f.weights, f.itos)
				ex, err := Export(imp.Model, layout, "rt")
				if err != nil {
					t.Fatal(err)
				}
				back, err := Import(ex.Pth, ex.Itos, ImportOptions{})
				if err != nil {
					t.Fatal(err)
				}
				wantLayout := LayoutV2
				if layout == ExportV1 {
					wantLayout = LayoutV1
				}
				if back.Layout != wantLayout {
					t.Errorf("re-imported layout %s, want %s", back.Layout, wantLayout)
				}
				if !slices.Equal(back.Model.Vocab.Tokens, imp.Model.Vocab.Tokens) {
					t.Errorf("vocab changed")
				}
				if !bytes.Equal(back.Model.Config, imp.Model.Config) && f.bias {
					t.Errorf("config %s, want %s", back.Model.Config, imp.Model.Config)
				}
				sameTensors(t, imp.Model.Tensors, back.Model.Tensors)
				// Same inputs, same bytes.
				ex2, err := Export(imp.Model, layout, "rt")
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ex.Pth, ex2.Pth) || !bytes.Equal(ex.Itos, ex2.Itos) {
					t.Errorf("export is not deterministic")
				}
			})
		}
	}
}

var pythonTorch = sync.OnceValue(func() bool {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		return false
	}
	return exec.Command("/usr/bin/python3", "-c", "import torch").Run() == nil
})

// havePythonTorch reports whether /usr/bin/python3 can import torch (and
// the test is not -short).
func havePythonTorch(t *testing.T) bool {
	t.Helper()
	return !testing.Short() && pythonTorch()
}

type torchCheck struct {
	Keys      []string             `json:"keys"`
	ModelKeys []string             `json:"model_keys"` // the fastai-named module tree's state_dict keys, in its order
	Itos      []string             `json:"itos"`
	Values    map[string][]float64 `json:"values"`
	Shared    bool                 `json:"shared"`
	Logits    []float64            `json:"logits"`
	NClasses  int                  `json:"n_classes"`
}

// runChecks runs testdata/check_export.py once over all jobs ([kind,
// layout, prefix, extra]) and returns one result per job.
func runChecks(t *testing.T, jobs [][]any) []torchCheck {
	t.Helper()
	jj, _ := json.Marshal(jobs)
	cmd := exec.Command("/usr/bin/python3", filepath.Join("testdata", "check_export.py"), string(jj))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check_export.py: %v\n%s", err, stderr.String())
	}
	var cs []torchCheck
	if err := json.Unmarshal(out, &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs) != len(jobs) {
		t.Fatalf("%d results for %d jobs", len(cs), len(jobs))
	}
	return cs
}

// checkValues compares every exported tensor, as torch read it, with the
// artifact tensor it came from.
func checkValues(t *testing.T, c torchCheck, m *artifacts.Model, rename func(key string) string) {
	t.Helper()
	for _, k := range c.Keys {
		name := rename(k)
		if name == "" {
			continue
		}
		at, ok := m.Tensor(name)
		if !ok {
			t.Fatalf("%s: no tensor %s", k, name)
		}
		got := c.Values[k]
		if len(got) != len(at.Data) {
			t.Fatalf("%s: %d values, want %d", k, len(got), len(at.Data))
		}
		for i, v := range got {
			if float32(v) != at.Data[i] {
				t.Fatalf("%s[%d] = %v, want %v", k, i, v, at.Data[i])
			}
		}
	}
}

func ourName(pre string) func(string) string {
	return func(k string) string {
		k, ok := strings.CutPrefix(k, pre)
		if !ok {
			return ""
		}
		r := strings.NewReplacer("module.", "", "_l0_raw", "", "_l0", "")
		switch {
		case k == "encoder.weight":
			return k
		case strings.HasPrefix(k, "rnns."):
			return r.Replace(k)
		}
		return ""
	}
}

// TestExportLoadsInTorch: exported LMs and classifiers load with
// torch.load and, with strict=True, into module trees with fastai's names
// (testdata/check_export.py, one Python process for all cases); every
// value survives, tied tensors share storage, and the LM's eval logits in
// PyTorch match the fixture's reference.
func TestExportLoadsInTorch(t *testing.T) {
	if !havePythonTorch(t) {
		t.Skip("/usr/bin/python3 with torch not available")
	}
	refs := loadRefs(t)
	r := refs["v2"]
	imp := importFixture(t, "v2.pth", "itos_v2.pkl")
	var ids [][]int32 // the reference sequence in our vocab
	for _, row := range r.IDs {
		var o []int32
		for _, id := range row {
			nid, _ := imp.Model.Vocab.ID(r.Itos[id])
			o = append(o, nid)
		}
		ids = append(ids, o)
	}
	dir := t.TempDir()
	export := func(m *artifacts.Model, name string, layout ExportLayout) string {
		art := filepath.Join(dir, name+".arrow")
		if err := writeModel(art, m); err != nil {
			t.Fatal(err)
		}
		prefix := filepath.Join(dir, name)
		if err := runExport(context.Background(), []string{"--layout", string(layout), "-o", prefix, art}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		return prefix
	}
	type clasCase struct {
		layout ExportLayout
		bias   bool
		drops  []float32
		m      *artifacts.Model
	}
	clas := []clasCase{{ExportV2, false, []float32{0.4, 0.1}, nil}, {ExportV1, true, []float32{0, 0.1}, nil}}
	var jobs [][]any
	for _, layout := range []ExportLayout{ExportV2, ExportV1} {
		jobs = append(jobs, []any{"lm", layout, export(imp.Model, "lm"+string(layout), layout), ids})
	}
	for i := range clas {
		c := &clas[i]
		c.m = tinyClassifier(t, c.bias, c.drops)
		jobs = append(jobs, []any{"clas", c.layout, export(c.m, fmt.Sprintf("clas%d", i), c.layout), c.drops})
	}
	res := runChecks(t, jobs)
	for i, layout := range []ExportLayout{ExportV2, ExportV1} {
		c := res[i]
		t.Run("lm/"+string(layout), func(t *testing.T) {
			if !slices.Equal(c.Itos, imp.Model.Vocab.Tokens) {
				t.Errorf("itos %v", c.Itos)
			}
			if !c.Shared {
				t.Errorf("encoder, encoder_dp and tied decoder do not share storage")
			}
			want := []string{"0.encoder.weight", "0.encoder_dp.emb.weight"}
			for l := 0; l < 3; l++ {
				p := fmt.Sprintf("0.rnns.%d.", l)
				want = append(want, p+"weight_hh_l0_raw", p+"module.weight_ih_l0")
				if layout == ExportV1 {
					want = append(want, p+"module.weight_hh_l0")
				}
				want = append(want, p+"module.bias_ih_l0", p+"module.bias_hh_l0")
			}
			want = append(want, "1.decoder.weight", "1.decoder.bias")
			if !slices.Equal(c.Keys, want) {
				t.Errorf("keys\n%v\nwant\n%v", c.Keys, want)
			}
			checkValues(t, c, imp.Model, ourName("0."))
			maxDiff := 0.0
			v := r.Shape[2]
			for j := range ids {
				for s := range ids[j] {
					for k := 0; k < v; k++ {
						nid, ok := imp.Model.Vocab.ID(r.Itos[k])
						if !ok {
							continue
						}
						got := c.Logits[(j*len(ids[j])+s)*len(c.Itos)+int(nid)]
						maxDiff = math.Max(maxDiff, math.Abs(got-float64(r.Logits[(j*len(ids[j])+s)*v+k])))
					}
				}
			}
			t.Logf("max |torch logit of the export - reference| = %.3g", maxDiff)
			if maxDiff > 1e-5 {
				t.Errorf("torch logits of the exported model differ from the reference by %g", maxDiff)
			}
		})
	}
	for i, cc := range clas {
		c := res[2+i]
		t.Run(fmt.Sprintf("clas/%s/drop%v", cc.layout, cc.drops[0]), func(t *testing.T) {
			if c.NClasses != 3 || !c.Shared {
				t.Errorf("n_classes %d shared %v", c.NClasses, c.Shared)
			}
			checkValues(t, c, cc.m, ourName("0.module."))
			checkValues(t, c, cc.m, headName(cc.layout, cc.drops))
		})
	}
}

// headName maps fastai head keys back to ours for the test's 2-block head.
func headName(layout ExportLayout, drops []float32) func(string) string {
	m := map[string]string{}
	k := 0
	for i := 0; i < 2; i++ {
		var bn, lin string
		if layout == ExportV2 {
			bn = fmt.Sprintf("1.layers.%d.0.", i)
			lin = fmt.Sprintf("1.layers.%d.%d.", i, map[bool]int{true: 2, false: 1}[drops[i] != 0])
		} else {
			bn = fmt.Sprintf("1.layers.%d.", k)
			k++
			if drops[i] != 0 {
				k++
			}
			lin = fmt.Sprintf("1.layers.%d.", k)
			k += 2
		}
		h := fmt.Sprintf("head.%d.", i)
		for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
			m[bn+s] = h + "bn." + s
		}
		m[lin+"weight"] = h + "linear.weight"
		m[lin+"bias"] = h + "linear.bias"
	}
	return func(key string) string { return m[key] }
}

// tinyClassifier builds a classifier artifact with random weights (nn's
// own classifier, so the names are the ones clftune writes).
func tinyClassifier(t *testing.T, bias bool, drops []float32) *artifacts.Model {
	t.Helper()
	imp := importFixture(t, "v2.pth", "itos_v2.pkl")
	return tinyClassifierOf(t, imp.Config, imp.Model.Vocab, bias, drops)
}

// tinyClassifierOf builds a classifier artifact with random weights on an
// encoder of config enc and the given vocab.
func tinyClassifierOf(t *testing.T, enc nn.LMConfig, vocab *artifacts.Vocab, bias bool, drops []float32) *artifacts.Model {
	t.Helper()
	cfg := nn.DefaultClassifierConfig(enc, 3)
	cfg.Hidden = []int{5}
	cfg.HeadBias = bias
	cfg.HeadDropouts = drops
	c, err := nn.NewClassifier(cfg, nn.Reference())
	if err != nil {
		t.Fatal(err)
	}
	c.Init(7)
	for _, p := range c.Buffers() {
		for i := range p.Data {
			p.Data[i] = 0.5 + float32(i)/10
		}
	}
	cj, _ := json.Marshal(cfg)
	return &artifacts.Model{
		Lineage:    artifacts.Lineage{Kind: artifacts.KindClassifier, Producer: "test"},
		Config:     cj,
		Vocab:      vocab,
		LabelNames: []string{"a", "b", "c"},
		Direction:  "fwd",
		Tensors:    train.Tensors(append(c.Params(), c.Buffers()...)),
	}
}
