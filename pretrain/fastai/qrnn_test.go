package fastai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// qrnnConfig is the tests' small AWD_QRNN: emb 8, hidden 12, 3 layers, on
// the vocab of the v2 fixture.
func qrnnConfig(vocab *artifacts.Vocab, tied bool) nn.LMConfig {
	cfg := nn.DefaultLMConfig()
	cfg.Arch = nn.ArchQRNN
	cfg.VocabSize = vocab.Len()
	cfg.EmbSize, cfg.HiddenSize, cfg.Layers = 8, 12, 3
	pad, _ := vocab.ID("xxpad")
	cfg.PadID = pad
	cfg.TieWeights = tied
	return cfg
}

// tinyQRNNLM builds a QRNN lm artifact (nn's own LM, so the names are the
// ones pretrain writes) with random weights, larger than nn's init so that
// the gates and the logits are not all near zero.
func tinyQRNNLM(t *testing.T, tied bool, seed uint64) *artifacts.Model {
	t.Helper()
	vocab := importFixture(t, "v2.pth", "itos_v2.pkl").Model.Vocab
	cfg := qrnnConfig(vocab, tied)
	lm, err := nn.NewLM(cfg, nn.Reference())
	if err != nil {
		t.Fatal(err)
	}
	rng := nn.NewRNG(seed)
	for _, p := range lm.Params() {
		k := float32(1)
		if len(p.Shape) == 2 && strings.HasPrefix(p.Name, "rnns.") {
			k = 2 / float32(math.Sqrt(float64(p.Shape[1])))
		} else if len(p.Shape) == 1 {
			k = 0.3
		}
		rng.Uniform(p.Data, -k, k)
	}
	cj, _ := json.Marshal(cfg)
	return &artifacts.Model{
		Lineage:   artifacts.Lineage{Kind: artifacts.KindLM, Producer: "test"},
		Config:    cj,
		Vocab:     vocab,
		Direction: "fwd",
		Tensors:   train.Tensors(lm.Params()),
	}
}

// qrnnKeys is the state dict fastai's AWD_QRNN has, in its order: an LM's,
// or (pre "0.module.") a classifier encoder's.
func qrnnKeys(pre string, layout ExportLayout, layers int) []string {
	keys := []string{pre + "encoder.weight", pre + "encoder_dp.emb.weight"}
	for l := 0; l < layers; l++ {
		q := fmt.Sprintf("%srnns.%d.layers.0.linear.", pre, l)
		keys = append(keys, q+"weight_raw")
		if layout == ExportV1 {
			keys = append(keys, q+"module.weight")
		}
		keys = append(keys, q+"module.bias")
	}
	if pre == "0." {
		keys = append(keys, "1.decoder.weight", "1.decoder.bias")
	}
	return keys
}

// qrnnName maps fastai AWD_QRNN encoder keys to nn's names.
func qrnnName(pre string) func(string) string {
	return func(k string) string {
		k, ok := strings.CutPrefix(k, pre)
		if !ok {
			return ""
		}
		switch {
		case k == "encoder.weight":
			return k
		case strings.HasPrefix(k, "rnns."):
			return strings.NewReplacer("weight_raw", "weight", "module.", "").Replace(k)
		}
		return ""
	}
}

// TestQRNNExportImportRoundTrip: a QRNN lm exported in fastai's AWD_QRNN
// layout (v2 and v1) and imported back gives the same tensors bit for bit,
// the same vocab and the same config (arch qrnn).
func TestQRNNExportImportRoundTrip(t *testing.T) {
	for _, tied := range []bool{true, false} {
		m := tinyQRNNLM(t, tied, 11)
		for _, layout := range []ExportLayout{ExportV2, ExportV1} {
			t.Run(fmt.Sprintf("%s/tied=%v", layout, tied), func(t *testing.T) {
				ex, err := Export(m, layout, "rt")
				if err != nil {
					t.Fatal(err)
				}
				want := qrnnKeys("0.", layout, 3)
				if !slices.Equal(ex.Keys, want) {
					t.Errorf("keys\n%v\nwant\n%v", ex.Keys, want)
				}
				if len(ex.Notes) == 0 || !strings.Contains(ex.Notes[0], "AWD_QRNN") {
					t.Errorf("notes %q: want one naming AWD_QRNN", ex.Notes)
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
				if !back.Config.IsQRNN() || back.Shape.Arch != nn.ArchQRNN || back.Tied != tied {
					t.Errorf("config %+v, shape %v, tied %v", back.Config, back.Shape, back.Tied)
				}
				if !bytes.Equal(back.Model.Config, m.Config) {
					t.Errorf("config %s, want %s", back.Model.Config, m.Config)
				}
				if !slices.Equal(back.Model.Vocab.Tokens, m.Vocab.Tokens) {
					t.Errorf("vocab changed")
				}
				sameTensors(t, m.Tensors, back.Model.Tensors)
				ex2, err := Export(m, layout, "rt")
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ex.Pth, ex2.Pth) {
					t.Errorf("export is not deterministic")
				}
			})
		}
	}
}

// TestImportLSTMIgnoresQRNNBase: the architecture comes from the
// checkpoint, not from the base config.
func TestImportLSTMIgnoresQRNNBase(t *testing.T) {
	base, err := nn.Preset("multifit")
	if err != nil {
		t.Fatal(err)
	}
	imp, err := Import(readTestdata(t, "v2.pth"), readTestdata(t, "itos_v2.pkl"), ImportOptions{Base: &base})
	if err != nil {
		t.Fatal(err)
	}
	if imp.Config.IsQRNN() || imp.Shape.Arch != "" {
		t.Errorf("an LSTM checkpoint imported with arch %q (shape %v)", imp.Config.Arch, imp.Shape)
	}
}

// TestQRNNExportLoadsInTorch: exported QRNN LMs and classifiers load with
// strict=True into module trees with fastai's AWD_QRNN names
// (testdata/check_export.py) whose state_dict has the file's keys in the
// file's order; the torch eval logits of the LM match nn's.
func TestQRNNExportLoadsInTorch(t *testing.T) {
	if !havePythonTorch(t) {
		t.Skip("/usr/bin/python3 with torch not available")
	}
	m := tinyQRNNLM(t, true, 5)
	ids := [][]int{{2, 9, 10, 11, 1, 12, 13, 30}, {2, 14, 15, 16, 17, 5, 18, 37}} // batch-major, our vocab
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
	var lmCfg nn.LMConfig
	if err := json.Unmarshal(m.Config, &lmCfg); err != nil {
		t.Fatal(err)
	}
	layouts := []ExportLayout{ExportV2, ExportV1}
	drops := []float32{0.4, 0.1}
	var clas []*artifacts.Model
	var jobs [][]any
	for _, layout := range layouts {
		jobs = append(jobs, []any{"lm", layout, export(m, "qlm"+string(layout), layout), ids})
	}
	for i, layout := range layouts {
		c := tinyClassifierOf(t, lmCfg, m.Vocab, layout == ExportV1, drops)
		clas = append(clas, c)
		jobs = append(jobs, []any{"clas", layout, export(c, fmt.Sprintf("qclas%d", i), layout), drops})
	}
	res := runChecks(t, jobs)
	for i, layout := range layouts {
		c := res[i]
		t.Run("lm/"+string(layout), func(t *testing.T) {
			want := qrnnKeys("0.", layout, 3)
			if !slices.Equal(c.Keys, want) {
				t.Errorf("keys\n%v\nwant\n%v", c.Keys, want)
			}
			if !slices.Equal(c.ModelKeys, c.Keys) {
				t.Errorf("the fastai module tree's state_dict keys\n%v\ndiffer from the file's\n%v", c.ModelKeys, c.Keys)
			}
			if !c.Shared {
				t.Errorf("encoder, encoder_dp and tied decoder do not share storage")
			}
			if !slices.Equal(c.Itos, m.Vocab.Tokens) {
				t.Errorf("itos %v", c.Itos)
			}
			checkValues(t, c, m, qrnnName("0."))
			// nn's eval logits on the same ids, compared with torch's.
			v := len(c.Itos)
			r := ref{Itos: c.Itos, IDs: ids, Shape: []int{len(ids), len(ids[0]), v}}
			if len(c.Logits) != len(ids)*len(ids[0])*v {
				t.Fatalf("%d logits, want %d", len(c.Logits), len(ids)*len(ids[0])*v)
			}
			for _, x := range c.Logits {
				r.Logits = append(r.Logits, float32(x))
			}
			checkLogits(t, &Imported{Model: m}, r)
		})
	}
	for i, layout := range layouts {
		c := res[len(layouts)+i]
		t.Run("clas/"+string(layout), func(t *testing.T) {
			if c.NClasses != 3 || !c.Shared {
				t.Errorf("n_classes %d shared %v", c.NClasses, c.Shared)
			}
			if want := qrnnKeys("0.module.", layout, 3); !slices.Equal(c.Keys[:len(want)], want) {
				t.Errorf("encoder keys\n%v\nwant\n%v", c.Keys[:len(want)], want)
			}
			if !slices.Equal(c.ModelKeys, c.Keys) {
				t.Errorf("the fastai module tree's state_dict keys\n%v\ndiffer from the file's\n%v", c.ModelKeys, c.Keys)
			}
			checkValues(t, c, clas[i], qrnnName("0.module."))
			checkValues(t, c, clas[i], headName(layout, drops))
		})
	}
}

// qrnnEdits are edits of the torch-written AWD_QRNN fixture into the other
// layouts fastai writes.
var qrnnEdits = map[string]func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage){
	// fastai v1's WeightDropout keeps module.weight, a copy of weight_raw.
	"v1": func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage) {
		var out []outTensor
		for _, x := range ts {
			out = append(out, x)
			if k, ok := strings.CutSuffix(x.name, ".weight_raw"); ok {
				dropped := make([]float32, len(sts[x.storage].f32)) // its values do not matter
				sts = append(sts, outStorage{f32: dropped})
				out = append(out, outTensor{name: k + ".module.weight", shape: x.shape, storage: len(sts) - 1})
			}
		}
		return out, sts
	},
	// a QRNN whose linear is not weight-dropped: layers.0.linear.weight|bias.
	"plain": func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage) {
		r := strings.NewReplacer("linear.weight_raw", "linear.weight", "linear.module.bias", "linear.bias")
		for i := range ts {
			ts[i].name = r.Replace(ts[i].name)
		}
		return ts, sts
	},
}

// TestImportQRNNFixture: the AWD_QRNN checkpoint torch wrote
// (testdata/gen_qrnn.py), and its v1 and plain-Linear variants, import as
// QRNN lm artifacts whose eval logits match torch's; Export writes the keys
// torch's state_dict has, in its order.
func TestImportQRNNFixture(t *testing.T) {
	r := loadRefsFile(t, "refs_qrnn.json")["qrnn_v2"]
	for _, tc := range []struct {
		name, weights string
		layout        Layout
	}{
		{"v2", td("qrnn_v2.pth"), LayoutV2},
		{"v1", editCheckpoint(t, "qrnn_v2.pth", qrnnEdits["v1"]), LayoutV1},
		{"plain linear", editCheckpoint(t, "qrnn_v2.pth", qrnnEdits["plain"]), LayoutV2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "q.lm")
			var stdout bytes.Buffer
			if err := runImport(context.Background(), []string{"--out", out, tc.weights, td("itos_v2.pkl")}, &stdout); err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("%s, qrnn, fwd, vocab 38, emb 8, hidden 12, 3 layers, tied, decoder bias", tc.layout); !strings.Contains(stdout.String(), want) {
				t.Errorf("summary %q lacks %q", stdout.String(), want)
			}
			imp, err := Import(readFile(t, tc.weights), readTestdata(t, "itos_v2.pkl"), ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			c := imp.Config
			if imp.Layout != tc.layout || !c.IsQRNN() || c.EmbSize != 8 || c.HiddenSize != 12 || c.Layers != 3 || !c.TieWeights || !c.DecoderBias {
				t.Errorf("layout %s, config %+v", imp.Layout, c)
			}
			for l := 0; l < 3; l++ {
				in, h := c.LayerSizes(l)
				w, ok := imp.Model.Tensor(fmt.Sprintf("rnns.%d.layers.0.linear.weight", l))
				if !ok || !slices.Equal(w.Shape, []int{3 * h, qrnnWindow(l) * in}) {
					t.Errorf("layer %d weight %v", l, w)
				}
			}
			checkLogits(t, imp, r)
			if tc.name == "v2" {
				ex, err := Export(imp.Model, ExportV2, "q")
				if err != nil {
					t.Fatal(err)
				}
				b := readTestdata(t, "qrnn_v2.pth")
				obj, err := loadTorch(b)
				if err != nil {
					t.Fatal(err)
				}
				sd, err := stateDict(obj, len(b))
				if err != nil {
					t.Fatal(err)
				}
				var keys []string
				for _, e := range sd {
					keys = append(keys, e.name)
				}
				if !slices.Equal(ex.Keys, keys) {
					t.Errorf("export keys\n%v\ntorch's\n%v", ex.Keys, keys)
				}
			}
		})
	}
}

// TestImportQRNNErrors: a malformed AWD_QRNN checkpoint gets one line
// naming the tensor and what was expected.
func TestImportQRNNErrors(t *testing.T) {
	// resize replaces the named tensor with zeros of the given shape.
	resize := func(sizes map[string][]int) func([]outTensor, []outStorage) ([]outTensor, []outStorage) {
		return func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage) {
			for i := range ts {
				if shp, ok := sizes[ts[i].name]; ok {
					n := 1
					for _, d := range shp {
						n *= d
					}
					sts = append(sts, outStorage{f32: make([]float32, n)})
					ts[i].shape, ts[i].storage = shp, len(sts)-1
				}
			}
			return ts, sts
		}
	}
	add := func(name string, shape ...int) func([]outTensor, []outStorage) ([]outTensor, []outStorage) {
		return func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage) {
			n := 1
			for _, d := range shape {
				n *= d
			}
			sts = append(sts, outStorage{f32: make([]float32, n)})
			return append(ts, outTensor{name: name, shape: shape, storage: len(sts) - 1}), sts
		}
	}
	drop := func(key string) func([]outTensor, []outStorage) ([]outTensor, []outStorage) {
		return func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage) {
			return slices.DeleteFunc(ts, func(x outTensor) bool { return x.name == key }), sts
		}
	}
	const q0, q1, q2 = "0.rnns.0.layers.0.linear.", "0.rnns.1.layers.0.linear.", "0.rnns.2.layers.0.linear."
	for _, tc := range []struct {
		name    string
		fixture string
		edit    func([]outTensor, []outStorage) ([]outTensor, []outStorage)
		want    Require
		msg     []string
	}{
		{"layer 1 input size", "qrnn_v2.pth", resize(map[string][]int{q1 + "weight_raw": {36, 6}}), Require{},
			[]string{"q.pth: " + q1 + "weight_raw has shape [36 6], expected [36 12] (3*hidden 12, window 1 times input size 12"}},
		{"layer 0 window 1", "qrnn_v2.pth", resize(map[string][]int{q0 + "weight_raw": {36, 8}}), Require{},
			[]string{q0 + "weight_raw has shape [36 8], expected [36 16]", "window 2 in layer 0"}},
		{"rows not 3*hidden", "qrnn_v2.pth", resize(map[string][]int{q1 + "weight_raw": {35, 12}}), Require{},
			[]string{q1 + "weight_raw has shape [35 12], expected [3*hidden, 12] (window 1 times input size 12)"}},
		{"bias", "qrnn_v2.pth", resize(map[string][]int{q2 + "module.bias": {20}}), Require{},
			[]string{q2 + "module.bias has shape [20], expected [24]"}},
		{"last hidden", "qrnn_v2.pth", resize(map[string][]int{q2 + "weight_raw": {36, 12}, q2 + "module.bias": {36}}), Require{},
			[]string{"the last QRNN layer has hidden size 12 but the embedding size is 8; fastai's AWD_QRNN makes them equal"}},
		{"missing bias", "qrnn_v2.pth", drop(q1 + "module.bias"), Require{},
			[]string{"QRNN layer 1: missing " + q1 + "module.bias (found " + q1 + "weight_raw)"}},
		{"extra key", "qrnn_v2.pth", add("0.rnns.0.layers.1.linear.weight", 36, 12), Require{},
			[]string{"unexpected keys for a fastai AWD_QRNN LM: 0.rnns.0.layers.1.linear.weight"}},
		{"mixed layers", "v2.pth", add("0.rnns.1.layers.0.linear.weight", 36, 12), Require{},
			[]string{"0.rnns.1 has QRNN keys but 0.rnns.0 has LSTM keys"}},
		{"required hidden", "qrnn_v2.pth", nil, Require{Hidden: 10},
			[]string{"q.pth (fastai-v2): shape mismatch: expected hidden 10 (found 12 in 0.rnns.0); the checkpoint is a QRNN with vocab 40, emb 8, hidden [12 12 8]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := readTestdata(t, tc.fixture)
			if tc.edit != nil {
				w = readFile(t, editCheckpoint(t, tc.fixture, tc.edit))
			}
			_, err := Import(w, readTestdata(t, "itos_v2.pkl"), ImportOptions{Want: tc.want, WeightsName: "q.pth"})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Log(msg)
			for _, s := range tc.msg {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q\nlacks %q", msg, s)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message spans lines: %q", msg)
			}
		})
	}
}
